#!/usr/bin/env python3
"""The API contract: every operation of openapi/ml-connector.yaml is called on the real binary
(sandbox behind it, sync on), for its success answer and each documented error, and every
answer is validated with an npm validator (Ajv, JSON Schema 2020-12) against the spec: status
documented for the operation, content type declared, body matching the schema. A documented
(operation, status) pair no exchange reaches fails the test, except the 500s, which need an
internal fault to happen (listed below on purpose)."""
import json
import os
import sys

from deploynode import HERE, ensure_node_modules, node  # noqa: F401 - sets up the import path
import mlctest  # noqa: E402
from mlctest import (SOURCE_DIR, RedisServer, Redis, check, check_eq, dv_context,  # noqa: E402
                     http_request, ns_event, run, say, wait_until, work_dir)

sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from test_sync_lib import customers, idle, post_event, sandbox, service, synced_kind, \
    wait_audit  # noqa: E402

SPEC = os.path.join(SOURCE_DIR, "openapi", "ml-connector.yaml")
TOKEN = "contract-admin-" + os.urandom(10).hex()
UNREACHABLE = {  # documented, but only an internal fault produces them
    "POST /v1/webhooks/netsuite 500", "POST /v1/webhooks/dataverse 500", "GET /metrics 500"}

exchanges = []
svc = redis = sb = None


def ex(template, method, path, body=b"", headers=None, admin=False, source=None, want=None):
    h = dict(headers or {})
    if admin:
        h["Authorization"] = "Bearer " + TOKEN
    r = http_request(svc.port, method, path, body, h, source=source)
    exchanges.append({"template": template, "method": method, "path": path.split("?")[0],
                      "status": r.status, "contentType": r.headers.get("content-type", ""),
                      "body": r.body.decode("utf-8", "replace")})
    if want is not None:
        check_eq(r.status, want, f"{method} {path.split('?')[0]} -> {want}")
    return r


def setup():
    """serve (shipped binary, sync on, admin API on) with its own Redis, behind the sandbox"""
    global svc, redis, sb
    ensure_node_modules()
    sb = sandbox()
    redis = RedisServer("contract")
    redis.start()
    svc = service("contract", sb, MLC_ADMIN_TOKENS=TOKEN, MLC_NETSUITE_ALLOWED_CIDRS="127.0.0.1/32",
                  MLC_NETSUITE_MAX_BODY_BYTES="4096", MLC_DATAVERSE_MAX_BODY_BYTES="65536")
    svc.env["MLC_REDIS_URL"] = f"redis://127.0.0.1:{redis.port}/0"
    svc.redis_port = redis.port
    svc.redis = Redis(redis.port)
    mlctest.note_secrets([TOKEN])
    svc.start()


def ns(ev=None, **kw):
    return json.dumps(ev or ns_event(account=svc.env["MLC_NETSUITE_ACCOUNT_ID"]))


NSH = None


def test_webhooks():
    """both webhook endpoints: success and every documented error but 500 and 503"""
    T = "/v1/webhooks/netsuite"
    h = {"Content-Type": "application/json", "X-MLC-Webhook-Secret": svc.ns_secret}
    ex(T, "POST", T, ns(), h, want=202)
    ex(T, "POST", T, "{not json", h, want=400)
    ex(T, "POST", T, ns(), dict(h, **{"X-MLC-Webhook-Secret": "wrong-secret-value"}), want=401)
    ex(T, "POST", T, ns(), h, source="127.0.0.2", want=403)
    ex(T, "GET", T, want=405)
    ex(T, "POST", T, json.dumps({"events": [json.loads(ns())] * 40}), h, want=413)
    ex(T, "POST", T, ns(), dict(h, **{"Content-Type": "text/plain"}), want=415)
    T = "/v1/webhooks/dataverse"
    q = "?code=" + svc.dv_key
    jh = {"Content-Type": "application/json"}
    org = svc.env["MLC_DATAVERSE_ORGANIZATION_ID"]
    ex(T, "POST", T + q, json.dumps(dv_context(organization_id=org)), jh, want=202)
    ex(T, "POST", T + q, json.dumps(dv_context(message="Retrieve", organization_id=org)), jh,
       want=200)
    ex(T, "POST", T + q, "[]", jh, want=400)
    ex(T, "POST", T + "?code=wrong-key-value", json.dumps(dv_context(organization_id=org)), jh,
       want=401)
    ex(T, "POST", T + q, json.dumps(dv_context(organization_id="00000000-0000-0000-0000-"
                                               "000000000001")), jh, want=403)
    ex(T, "GET", T + q, want=405)
    ex(T, "POST", T + q, "x" * 70000, jh, want=413)
    ex(T, "POST", T + q, json.dumps(dv_context(organization_id=org)), {"Content-Type": "text/xml"},
       want=415)


def test_probes():
    """probes and metrics"""
    for p in ("/healthz", "/readyz", "/metrics"):
        ex(p, "GET", p, want=200)
        ex(p, "POST", p, want=405)


def test_admin():
    """every admin operation: success, 400, 401 and 404 where documented"""
    c = [c for c in customers(sb, "c.parent IS NULL") if synced_kind(c)][0]
    post_event(svc, "customer", c["id"])
    wait_audit(svc, "customer", c["id"], "created")
    idle(svc)
    ex("/v1/status", "GET", "/v1/status", admin=True, want=200)
    ex("/v1/status", "GET", "/v1/status", want=401)
    R = "/v1/records/{type}/{id}"
    ex(R, "GET", f"/v1/records/customer/{c['id']}", admin=True, want=200)
    ex(R, "GET", "/v1/records/vendor/1", admin=True, want=400)
    ex(R, "GET", f"/v1/records/customer/{c['id']}", want=401)
    ex(R, "GET", "/v1/records/customer/999999999", admin=True, want=404)
    ex("/v1/audit", "GET", "/v1/audit?type=customer", admin=True, want=200)
    ex("/v1/audit", "GET", "/v1/audit?format=jsonl", admin=True, want=200)
    ex("/v1/audit", "GET", "/v1/audit?since=yesterday", admin=True, want=400)
    ex("/v1/audit", "GET", "/v1/audit", want=401)
    S = "/v1/sync/{type}/{id}"
    ex(S, "POST", f"/v1/sync/customer/{c['id']}", admin=True, want=202)
    ex(S, "POST", "/v1/sync/vendor/1", admin=True, want=400)
    ex(S, "POST", f"/v1/sync/customer/{c['id']}", want=401)
    idle(svc)
    # A dead-lettered job to list and replay (written the way the queue writes one).
    job = {"kind": "customer", "lane": "live", "rec": f"customer:{c['id']}",
           "data": {"recordId": str(c["id"]), "op": "change"}, "attempts": 3, "enq": 0}
    eid = svc.redis.cmd("XADD", svc.key("q:dlq"), "*", "j", json.dumps(job), "reason",
                        "contract test", "fp", "0123456789abcdef", "kind", "customer", "lane",
                        "live", "at", "0", "orig", "")
    ex("/v1/dlq", "GET", "/v1/dlq", admin=True, want=200)
    ex("/v1/dlq", "GET", "/v1/dlq", want=401)
    D = "/v1/dlq/{id}/replay"
    ex(D, "POST", f"/v1/dlq/{eid}/replay", admin=True, want=200)
    ex(D, "POST", "/v1/dlq/not-an-id/replay", admin=True, want=400)
    ex(D, "POST", f"/v1/dlq/{eid}/replay", want=401)
    ex(D, "POST", "/v1/dlq/1-1/replay", admin=True, want=404)
    L = "/v1/lanes/{lane}/{action}"
    ex(L, "POST", "/v1/lanes/bulk/pause", admin=True, want=200)
    ex(L, "POST", "/v1/lanes/bulk/resume", admin=True, want=200)
    ex(L, "POST", "/v1/lanes/fast/pause", admin=True, want=400)
    ex(L, "POST", "/v1/lanes/bulk/pause", want=401)
    idle(svc)


def test_redis_down():
    """with Redis stopped: 503 wherever documented"""
    redis.stop()
    wait_until(lambda: http_request(svc.port, "GET", "/readyz").status == 503, "readyz 503")
    ex("/readyz", "GET", "/readyz", want=503)
    h = {"Content-Type": "application/json", "X-MLC-Webhook-Secret": svc.ns_secret}
    ex("/v1/webhooks/netsuite", "POST", "/v1/webhooks/netsuite", ns(), h, want=503)
    ex("/v1/webhooks/dataverse", "POST", "/v1/webhooks/dataverse?code=" + svc.dv_key,
       json.dumps(dv_context(organization_id=svc.env["MLC_DATAVERSE_ORGANIZATION_ID"])),
       {"Content-Type": "application/json"}, want=503)
    for t, m, p in (("/v1/status", "GET", "/v1/status"),
                    ("/v1/records/{type}/{id}", "GET", "/v1/records/customer/1"),
                    ("/v1/audit", "GET", "/v1/audit"),
                    ("/v1/sync/{type}/{id}", "POST", "/v1/sync/customer/1"),
                    ("/v1/dlq", "GET", "/v1/dlq"),
                    ("/v1/dlq/{id}/replay", "POST", "/v1/dlq/1-1/replay"),
                    ("/v1/lanes/{lane}/{action}", "POST", "/v1/lanes/bulk/pause")):
        ex(t, m, p, admin=True, want=503)
    redis.start()
    wait_until(lambda: http_request(svc.port, "GET", "/readyz").status == 200, "readyz 200 again")


def test_validate():
    """Ajv validates every answer against the spec; every documented answer was exercised"""
    path = os.path.join(work_dir(), "exchanges.json")
    with open(path, "w") as f:
        json.dump(exchanges, f)
    r = node(os.path.join(HERE, "contract_validate.mjs"), SPEC, path)
    check(r.returncode == 0, "the validator ran", r.stderr[-2000:])
    rep = json.loads(r.stdout)
    check(not rep["problems"], f"{len(exchanges)} answers valid against the spec",
          rep["problems"][:5])
    missing = [m for m in rep["missing"] if m not in UNREACHABLE]
    check(not missing, "every documented (operation, status) was exercised", missing)
    say(f"     figures: {len(exchanges)} exchanges, {rep['exercised']} of {rep['documented']} "
        f"documented answers exercised ({len(UNREACHABLE)} 500s need an internal fault)")
    check(svc.stop() == 0, "SIGTERM -> exit 0")
    mlctest.check_logs_clean(svc, [svc.ns_secret, svc.dv_key, TOKEN])


if __name__ == "__main__":
    run(setup, test_webhooks, test_probes, test_admin, test_redis_down, test_validate)
