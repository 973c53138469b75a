#!/usr/bin/env python3
"""The admin API of the real binary: every endpoint answers 401 without (or with a wrong) bearer
token; with one, every answer validates against openapi/ml-connector.yaml (status, records,
audit as JSON and JSON lines, sync, dlq, replay, lanes), and the sync endpoint really syncs; the
CLI twins `audit` and `sync` do the same from the command line."""
import json
import os
import sys

import yaml
from jsonschema import Draft202012Validator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mlctest  # noqa: E402
from mlctest import SOURCE_DIR, check, check_eq, wait_until  # noqa: E402
from test_sync_lib import (audit_of, customers, idle, post_event, rows, sandbox, service,  # noqa: E402
                           synced_kind, wait_audit)

TOKEN = "admin-" + os.urandom(12).hex()
SPEC = yaml.safe_load(open(os.path.join(SOURCE_DIR, "openapi", "ml-connector.yaml")))
try:  # jsonschema >= 4.18
    from referencing import Registry, Resource
    _REGISTRY = Registry().with_resource("urn:spec", Resource.opaque(SPEC))

    def _validator(schema):
        return Draft202012Validator(schema, registry=_REGISTRY)
except ImportError:  # older jsonschema (Debian bookworm's python3-jsonschema 4.10)
    from jsonschema import RefResolver
    _RESOLVER = RefResolver("urn:spec", SPEC)

    def _validator(schema):
        return Draft202012Validator(schema, resolver=_RESOLVER)


def validate(instance, schema, what):
    v = _validator({"$ref": "urn:spec" + schema["$ref"]} if "$ref" in schema else schema)
    errs = sorted(v.iter_errors(instance), key=lambda e: e.path)
    check(not errs, what + " validates against the OpenAPI schema",
          "; ".join(e.message for e in errs[:3]))


def response_schema(path, method, status, ctype="application/json"):
    op = SPEC["paths"][path][method]
    resp = op["responses"][str(status)]
    if "$ref" in resp:
        resp = SPEC["components"]["responses"][resp["$ref"].split("/")[-1]]
    return resp["content"][ctype]["schema"]


def call(s, method, path, token=TOKEN, headers=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    return s.request(method, path, b"", h)


ENDPOINTS = [("GET", "/v1/status", "/v1/status"),
             ("GET", "/v1/records/customer/1", "/v1/records/{type}/{id}"),
             ("GET", "/v1/audit", "/v1/audit"),
             ("POST", "/v1/sync/customer/1", "/v1/sync/{type}/{id}"),
             ("GET", "/v1/dlq", "/v1/dlq"),
             ("POST", "/v1/dlq/1-0/replay", "/v1/dlq/{id}/replay"),
             ("POST", "/v1/lanes/bulk/pause", "/v1/lanes/{lane}/{action}")]


def test_admin_api():
    """401 without the token on every endpoint; answers validate; sync and lanes work."""
    sb = sandbox(customers=30, orders=5, items=10)
    s = service("sync-admin", sb, MLC_ADMIN_TOKENS="old-token-unused," + TOKEN).start()
    for method, path, spec_path in ENDPOINTS:
        for tok in (None, "wrong-" + TOKEN):
            r = call(s, method, path, token=tok)
            check_eq(r.status, 401, "%s %s with %s token" % (method, path, "a wrong" if tok else "no"))
            check("Bearer" in (r.header("WWW-Authenticate") or ""), "WWW-Authenticate: Bearer")
            validate(r.json(), response_schema(spec_path, method.lower(), 401,
                                               "application/problem+json"), "the 401 body")
            check(TOKEN not in r.body.decode(), "the token is not echoed")

    c = [c for c in customers(sb, "c.parent IS NULL") if synced_kind(c)][0]
    post_event(s, "customer", c["id"])
    wait_audit(s, "customer", c["id"], "created")
    idle(s)

    r = call(s, "GET", "/v1/status")
    check_eq(r.status, 200, "GET /v1/status")
    validate(r.json(), response_schema("/v1/status", "get", 200), "status")
    check(r.json()["auditEntries"] >= 1 and r.json()["syncing"], "status: audit and sync")

    r = call(s, "GET", "/v1/records/customer/%d" % c["id"])
    check_eq(r.status, 200, "GET /v1/records/customer/{id}")
    body = r.json()
    validate(body, response_schema("/v1/records/{type}/{id}", "get", 200), "record")
    check_eq(body["state"]["dvid"],
             rows(sb, "accounts", "mlc_netsuitecustomerid", str(c["id"]))[0]["accountid"],
             "record: the state's GUID is the account's")
    check(any(e["action"] == "created" for e in body["history"]), "record: history")
    r = call(s, "GET", "/v1/records/customer/999999999")
    check_eq(r.status, 404, "unknown record: 404")
    validate(r.json(), response_schema("/v1/records/{type}/{id}", "get", 404,
                                       "application/problem+json"), "404 body")
    r = call(s, "GET", "/v1/records/vendor/1")
    check_eq(r.status, 400, "unknown type: 400")

    r = call(s, "GET", "/v1/audit?type=customer&action=created&record=%d" % c["id"])
    check_eq(r.status, 200, "GET /v1/audit filtered")
    validate(r.json(), response_schema("/v1/audit", "get", 200), "audit page")
    check_eq([e["nsId"] for e in r.json()["entries"]], [str(c["id"])], "audit: the one entry")
    r = call(s, "GET", "/v1/audit?format=jsonl&since=2000-01-01T00:00:00Z")
    check_eq(r.status, 200, "GET /v1/audit as JSON lines")
    check_eq(r.header("Content-Type"), "application/x-ndjson", "JSON lines media type")
    lines = [json.loads(x) for x in r.body.decode().splitlines()]
    check(len(lines) >= 1, "JSON lines hold entries")
    for e in lines:
        validate(e, {"$ref": "#/components/schemas/AuditEntry"}, "a JSON line")
    r = call(s, "GET", "/v1/audit?since=yesterday")
    check_eq(r.status, 400, "a bad since: 400")

    # sync one record: forced, so it writes although nothing changed
    n = len(audit_of(s, "customer", c["id"], "updated"))
    r = call(s, "POST", "/v1/sync/customer/%d" % c["id"])
    check_eq(r.status, 202, "POST /v1/sync")
    validate(r.json(), response_schema("/v1/sync/{type}/{id}", "post", 202), "sync answer")
    wait_until(lambda: len(audit_of(s, "customer", c["id"], "updated")) > n,
               "the forced sync written")
    check_eq(audit_of(s, "customer", c["id"], "updated")[-1]["source"], "admin", "source admin")

    r = call(s, "GET", "/v1/dlq")
    check_eq(r.status, 200, "GET /v1/dlq")
    validate(r.json(), response_schema("/v1/dlq", "get", 200), "dlq list")
    r = call(s, "POST", "/v1/dlq/1-0/replay")
    check_eq(r.status, 404, "replay of an unknown entry: 404")
    r = call(s, "POST", "/v1/lanes/bulk/pause")
    check_eq(r.status, 200, "pause the bulk lane")
    validate(r.json(), response_schema("/v1/lanes/{lane}/{action}", "post", 200), "lane")
    st = call(s, "GET", "/v1/status").json()
    check_eq(st["queues"]["bulk"]["paused"], True, "status shows the lane paused")
    r = call(s, "POST", "/v1/lanes/bulk/resume")
    check_eq(r.json(), {"lane": "bulk", "paused": False}, "resume the bulk lane")
    r = call(s, "POST", "/v1/lanes/fast/pause")
    check_eq(r.status, 400, "unknown lane: 400")
    r = call(s, "GET", "/v1/nothing")
    check_eq(r.status, 404, "unknown admin path: 404")

    # the CLI twins
    rc, out, err = s.cli("audit", "--type", "customer", "--record", str(c["id"]))
    check_eq(rc, 0, "ml-connector audit (%s)" % err.strip()[-200:])
    lines = [json.loads(x) for x in out.splitlines()]
    check(lines and all(e["nsId"] == str(c["id"]) for e in lines), "audit CLI: the record's entries")
    check(any(e["action"] == "created" for e in lines), "audit CLI: the created entry")
    n = len(audit_of(s, "customer", c["id"], "updated"))
    rc, out, err = s.cli("sync", "--type", "customer", "--id", str(c["id"]))
    check_eq(rc, 0, "ml-connector sync")
    check_eq(json.loads(out)["outcome"], "enqueued", "sync CLI: enqueued")
    wait_until(lambda: len(audit_of(s, "customer", c["id"], "updated")) > n, "the CLI's sync")
    check_eq(audit_of(s, "customer", c["id"], "updated")[-1]["source"], "cli", "source cli")
    check_eq(s.cli("sync", "--type", "vendor", "--id", "1")[0], 2, "sync CLI: bad type exits 2")
    check_eq(s.cli("audit", "--since", "yesterday")[0], 2, "audit CLI: bad date exits 2")

    off = service("sync-admin-off", sb).start()
    check_eq(off.request("GET", "/v1/status").status, 404, "no MLC_ADMIN_TOKENS: the API is off")


if __name__ == "__main__":
    mlctest.run(test_admin_api)
