"""Webhook authentication and source checks: NetSuite HMAC signatures (computed here with Python's
hmac), the IP allowlist and X-Forwarded-For from trusted proxies only, Dataverse header and
querystring modes; every refusal is problem+json and enqueues nothing; no secret is logged."""
import json
import time

from mlctest import (Service, check, check_logs_clean, dv_context, expect_rejected,
                     hmac_header, ns_event, rand_secret, run, wait_until)

services = []


def drained(svc, keys):
    wait_until(lambda: all(svc.effects().get(k) for k in keys) and svc.idle(),
               f"{len(keys)} job(s) to run and be acked")
    check(True, f"{svc.name}: accepted job(s) ran and were acked")


def test_hmac():
    """NetSuite hmac mode: valid, rotated, bad, stale, future, missing and malformed signatures"""
    old, new = rand_secret("hmac-old"), rand_secret("hmac-new")
    svc = Service("hmac", env={"MLC_NETSUITE_WEBHOOK_AUTH": "hmac",
                               "MLC_NETSUITE_WEBHOOK_SECRETS": f"{new},{old}",
                               "MLC_NETSUITE_WEBHOOK_TOLERANCE_S": "300"})
    svc.secrets = [old, new]
    services.append(svc)
    svc.start()
    ev = ns_event()
    r = svc.post_ns_hmac(ev, new)
    check(r.status == 202 and r.json()["accepted"] == 1, "signature with the current key -> 202", r)
    ev2 = ns_event()
    r = svc.post_ns_hmac(ev2, old)
    check(r.status == 202, "signature with the previous key (rotation) -> 202", r)
    ev3 = ns_event()
    r = svc.post_ns_hmac(ev3, new, extra_sigs=["0" * 64])
    check(r.status == 202, "two v1= values, one of them right -> 202", r)
    now = int(time.time())
    ev4 = ns_event()
    r = svc.post_ns_hmac(ev4, new, t=now - 200)
    check(r.status == 202, "timestamp 200 s old, within the 300 s tolerance -> 202", r)
    drained(svc, [ev["eventId"], ev2["eventId"], ev3["eventId"], ev4["eventId"]])

    e = ns_event()
    body = json.dumps(e)
    expect_rejected(svc, "signature with an unknown key", 401, "unauthorized",
                    lambda: svc.post_ns_hmac(e, rand_secret("other")), field="X-MLC-Signature")
    expect_rejected(svc, "signature over another body", 401, "unauthorized",
                    lambda: svc.post_ns(None, secret=False, raw=body,
                                        headers={"X-MLC-Signature": hmac_header(new, body + " ")}))
    expect_rejected(svc, "stale timestamp (1000 s old), correct signature", 401, "unauthorized",
                    lambda: svc.post_ns_hmac(e, new, t=now - 1000), field="timestamp")
    expect_rejected(svc, "timestamp 1000 s in the future, correct signature", 401,
                    "unauthorized", lambda: svc.post_ns_hmac(e, new, t=now + 1000),
                    field="timestamp")
    expect_rejected(svc, "X-MLC-Signature missing", 401, "unauthorized",
                    lambda: svc.post_ns(e, secret=False), field="X-MLC-Signature")
    for bad in ("garbage", "t=abc,v1=" + "0" * 64, f"t={now}", f"v1={'0' * 64}",
                f"t={now},v1=xyz", f"t={now},v1={'g' * 64}"):
        expect_rejected(svc, f"malformed X-MLC-Signature {bad[:24]!r}", 401, "unauthorized",
                        lambda: svc.post_ns(e, secret=False, headers={"X-MLC-Signature": bad}))
    expect_rejected(svc, "a valid X-MLC-Webhook-Secret does not replace the signature", 401,
                    "unauthorized", lambda: svc.post_ns(e, secret=new))
    r = svc.post_ns_hmac(e, new)
    check(r.status == 202 and r.json()["accepted"] == 1,
          "the same event correctly signed afterwards -> 202 accepted (refusals left no trace)", r)
    drained(svc, [e["eventId"]])


def test_ip_allowlist():
    """403 outside MLC_NETSUITE_ALLOWED_CIDRS; X-Forwarded-For only from MLC_TRUSTED_PROXIES"""
    svc = Service("ipallow", env={"MLC_NETSUITE_ALLOWED_CIDRS": "10.0.0.0/8,127.0.0.5/32",
                                  "MLC_TRUSTED_PROXIES": "127.0.0.2/32"})
    svc.secrets = [svc.ns_secret, svc.dv_key]
    services.append(svc)
    svc.start()
    e = ns_event()
    expect_rejected(svc, "peer 127.0.0.1 not in 10.0.0.0/8", 403, "forbidden_ip",
                    lambda: svc.post_ns(e))
    expect_rejected(svc, "peer 127.0.0.1 (untrusted) claiming X-Forwarded-For 10.1.2.3", 403,
                    "forbidden_ip",
                    lambda: svc.post_ns(e, headers={"X-Forwarded-For": "10.1.2.3"}))
    expect_rejected(svc, "peer 127.0.0.3 (untrusted) claiming X-Forwarded-For 10.1.2.3", 403,
                    "forbidden_ip", lambda: svc.post_ns(
                        e, headers={"X-Forwarded-For": "10.1.2.3"}, source="127.0.0.3"))
    expect_rejected(svc, "trusted proxy 127.0.0.2 without X-Forwarded-For", 403, "forbidden_ip",
                    lambda: svc.post_ns(e, source="127.0.0.2"))
    expect_rejected(svc, "trusted proxy forwarding 192.168.1.9", 403, "forbidden_ip",
                    lambda: svc.post_ns(e, source="127.0.0.2",
                                        headers={"X-Forwarded-For": "192.168.1.9"}))
    expect_rejected(svc, "trusted proxy, spoofed chain '10.1.2.3, 192.168.1.9' (rightmost "
                    "untrusted hop wins)", 403, "forbidden_ip",
                    lambda: svc.post_ns(e, source="127.0.0.2",
                                        headers={"X-Forwarded-For": "10.1.2.3, 192.168.1.9"}))
    expect_rejected(svc, "IP check comes before the secret (wrong secret, bad IP)", 403,
                    "forbidden_ip", lambda: svc.post_ns(e, secret="wrong"))

    accepted = []
    r = svc.post_ns(e, source="127.0.0.2", headers={"X-Forwarded-For": "10.1.2.3"})
    check(r.status == 202, "trusted proxy 127.0.0.2 forwarding 10.1.2.3 -> 202", r)
    accepted.append(e["eventId"])
    e2 = ns_event()
    r = svc.post_ns(e2, source="127.0.0.2",
                    headers={"X-Forwarded-For": "192.168.1.9, 10.1.2.3, 127.0.0.2"})
    check(r.status == 202, "chain '192.168.1.9, 10.1.2.3, 127.0.0.2' via the proxy: client "
          "10.1.2.3 -> 202", r)
    accepted.append(e2["eventId"])
    e3 = ns_event()
    r = svc.post_ns(e3, source="127.0.0.5")
    check(r.status == 202, "direct peer 127.0.0.5 (allowed /32) -> 202", r)
    accepted.append(e3["eventId"])
    expect_rejected(svc, "allowed peer with a wrong secret", 401, "unauthorized",
                    lambda: svc.post_ns(ns_event(), source="127.0.0.5", secret="nope"))
    drained(svc, accepted)
    recs = [x for x in svc.log_records() if x.get("msg") == "access" and x.get("status") == 202]
    check(any(x.get("client") == "10.1.2.3" and x.get("peer") == "127.0.0.2" for x in recs),
          "the access log records the forwarded client next to the proxy peer", recs[:2])
    # The Dataverse endpoint is not subject to the NetSuite allowlist.
    r = svc.post_dv(dv_context())
    check(r.status == 202, "Dataverse webhook from 127.0.0.1 is unaffected by the allowlist", r)


def test_dataverse_header_mode():
    """Dataverse header mode: every configured header must match"""
    v1, v2 = rand_secret("hdr1"), rand_secret("hdr2")
    svc = Service("dvheader",
                  env={"MLC_DATAVERSE_WEBHOOK_AUTH": "header",
                       "MLC_DATAVERSE_WEBHOOK_HEADERS": f"X-Mlc-Key={v1},X-Mlc-Env={v2}"})
    svc.secrets = [v1, v2, svc.ns_secret]
    services.append(svc)
    svc.start()
    good = {"X-Mlc-Key": v1, "X-Mlc-Env": v2}
    ctx = dv_context()
    r = svc.post_dv(ctx, code=False, headers=good)
    check(r.status == 202, "both headers right -> 202", r)
    drained(svc, [ctx["OperationId"]])
    c = dv_context()
    expect_rejected(svc, "no headers", 401, "unauthorized", lambda: svc.post_dv(c, code=False))
    expect_rejected(svc, "one header missing", 401, "unauthorized",
                    lambda: svc.post_dv(c, code=False, headers={"X-Mlc-Key": v1}))
    expect_rejected(svc, "one header wrong", 401, "unauthorized",
                    lambda: svc.post_dv(c, code=False, headers={"X-Mlc-Key": v1,
                                                                "X-Mlc-Env": v2 + "x"}))
    expect_rejected(svc, "values swapped", 401, "unauthorized",
                    lambda: svc.post_dv(c, code=False, headers={"X-Mlc-Key": v2,
                                                                "X-Mlc-Env": v1}))
    expect_rejected(svc, "values in the query instead of headers", 401, "unauthorized",
                    lambda: svc.post_dv(c, query=f"?X-Mlc-Key={v1}&X-Mlc-Env={v2}"))


def test_dataverse_querystring_mode():
    """Dataverse querystring mode: every configured query parameter must match"""
    v1, v2 = rand_secret("q1"), rand_secret("q2")
    svc = Service("dvquery", env={"MLC_DATAVERSE_WEBHOOK_AUTH": "querystring",
                                  "MLC_DATAVERSE_WEBHOOK_QUERY": f"token={v1},tenant={v2}"})
    svc.secrets = [v1, v2, svc.ns_secret]
    services.append(svc)
    svc.start()
    ctx = dv_context()
    r = svc.post_dv(ctx, query=f"?token={v1}&tenant={v2}")
    check(r.status == 202, "both query parameters right -> 202", r)
    drained(svc, [ctx["OperationId"]])
    c = dv_context()
    expect_rejected(svc, "no query", 401, "unauthorized", lambda: svc.post_dv(c, query=""))
    expect_rejected(svc, "one parameter missing", 401, "unauthorized",
                    lambda: svc.post_dv(c, query=f"?token={v1}"))
    expect_rejected(svc, "one parameter wrong", 401, "unauthorized",
                    lambda: svc.post_dv(c, query=f"?token={v1}&tenant=x{v2}"))
    expect_rejected(svc, "webhookkey-style code is not accepted in this mode", 401,
                    "unauthorized", lambda: svc.post_dv(c, query=f"?code={v1}"))
    expect_rejected(svc, "parameters sent as headers", 401, "unauthorized",
                    lambda: svc.post_dv(c, query="", headers={"token": v1, "tenant": v2}))


def test_logs():
    """no secret, signature key or query string in any of these services' logs"""
    for svc in services:
        check(svc.stop() == 0, f"{svc.name}: SIGTERM -> exit 0")
        check_logs_clean(svc, svc.secrets)


if __name__ == "__main__":
    run(test_hmac, test_ip_allowlist, test_dataverse_header_mode,
        test_dataverse_querystring_mode, test_logs)
