#!/usr/bin/env python3
"""Changes, the record API, governance, faults and events out of the sandbox.

A line-only change moves the line's date and not the order's; DeletedRecord after a delete and a
merge (the duplicate's orders move to the survivor); the record API (customer, salesOrder with
expandSubResources, 404 RCRD_DSNT_EXIST, 403 INSUFFICIENT_PERMISSION); 429 past the concurrency
limit (401 by switch), governanceLimits; random 429/5xx faults; and a change event posted to a
receiving endpoint in secret and in HMAC mode, as CONFIG.md describes X-MLC-Signature.
"""
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_sandbox_lib import Failures, Sandbox, free_port, sample  # noqa: E402

f = Failures()


class Receiver:
    """A plain-HTTP endpoint that records what the sandbox posts."""

    def __init__(self, status=202):
        self.got = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                outer.got.append((dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.port = free_port()
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.th = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.th.start()
        self.url = "http://127.0.0.1:%d/v1/webhooks/netsuite" % self.port

    def wait(self, n, timeout=15):
        end = time.time() + timeout
        while len(self.got) < n and time.time() < end:
            time.sleep(0.05)
        return len(self.got) >= n

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def detail(data):
    try:
        return data["o:errorDetails"][0]
    except (TypeError, KeyError, IndexError):
        return {}


rx = Receiver()
with Sandbox("--events-url", rx.url, "--threads", "64", customers=80, orders=60, items=15) as sb:
    tok = sb.token()
    auth = {"Authorization": "Bearer " + tok}

    def q(sql, limit=1000):
        st, page = sb.suiteql(sql, tok, limit)
        assert st == 200, (sql, st, page)
        return page["items"]

    # ---- record API ----
    cust = q("SELECT id FROM customer WHERE isperson = 'F' AND defaultbillingaddress IS NOT NULL"
             " ORDER BY id", 1)[0]["id"]
    st, rec, ctype, _ = sb.request("GET", "/services/rest/record/v1/customer/%s?expandSubResources=true"
                                   % cust, headers=auth)
    f.eq(st, 200, "GET customer")
    f.eq(rec.get("id"), cust, "record id is a string")
    f.check("companyName" in rec and "lastModifiedDate" in rec, "camelCase field ids")
    f.check(rec.get("lastModifiedDate", "").endswith("Z"), "record datetimes are ISO 8601 UTC")
    f.check(set(rec.get("subsidiary", {}).keys()) >= {"id", "refName", "links"},
            "references are {id, refName, links}")
    ab = rec.get("addressBook", {})
    f.check(ab.get("count", 0) >= 1 and "addressBookAddress" in ab["items"][0],
            "expandSubResources expands the address book")
    f.check(len(ab["items"][0]["addressBookAddress"].get("country", {}).get("id", "")) == 2,
            "address country is ISO-2")
    order = q("SELECT t.id FROM transaction t WHERE t.type = 'SalesOrd' AND (SELECT count(*) FROM"
              " transactionline tl WHERE tl.transaction = t.id AND tl.mainline = 'F') BETWEEN 2 AND 30"
              " ORDER BY t.id", 1)[0]["id"]
    st, so, _, _ = sb.request("GET", "/services/rest/record/v1/salesOrder/%s?expandSubResources=true"
                              % order, headers=auth)
    f.eq(st, 200, "GET salesOrder")
    f.check(so.get("tranId", "").startswith("SO") and so.get("orderStatus", {}).get("id") in "ABCDEFGH",
            "salesOrder fields")
    items = so.get("item", {}).get("items", [])
    f.check(len(items) >= 2, "salesOrder lines expanded")
    f.check(all(i.get("quantity", 1) > 0 for i in items), "record API quantities are positive")
    st, so2, _, _ = sb.request("GET", "/services/rest/record/v1/salesOrder/%s" % order, headers=auth)
    f.check("items" not in so2.get("item", {}), "sublists not expanded by default")
    st, data, _, _ = sb.request("GET", "/services/rest/record/v1/customer/999999999", headers=auth)
    f.eq((st, detail(data).get("o:errorCode")), (404, "RCRD_DSNT_EXIST"), "missing record")
    f.eq(data.get("title") if isinstance(data, dict) else None, "Not Found", "404 title")
    st, lst, _, _ = sb.request("GET", "/services/rest/record/v1/customer?limit=5", headers=auth)
    f.eq((st, lst.get("count"), lst.get("hasMore")), (200, 5, True), "record collection paging")
    sb.settings_patch(deny="customer")
    st, data, _, _ = sb.request("GET", "/services/rest/record/v1/customer/%s" % cust, headers=auth)
    f.eq((st, detail(data).get("o:errorCode")), (403, "INSUFFICIENT_PERMISSION"),
         "record API without the permission")
    sb.settings_patch(deny="")

    # ---- a line-only change: the line's date moves, the order's does not ----
    lines = q("SELECT tl.id, tl.uniquekey, TO_CHAR(SYS_EXTRACT_UTC(tl.linelastmodifieddate),"
              " 'YYYY-MM-DD HH24:MI:SS') AS lmd FROM transactionline tl WHERE tl.transaction = %s"
              " AND tl.mainline = 'F' AND NVL(tl.taxline, 'F') = 'F' ORDER BY tl.id" % order)
    hdr_before = q("SELECT TO_CHAR(SYS_EXTRACT_UTC(lastmodifieddate), 'YYYY-MM-DD HH24:MI:SS') AS lmd,"
                   " foreigntotal FROM transaction WHERE id = %s" % order)[0]
    rx.got.clear()
    st, res = sb.admin("PATCH", "salesorders/%s/lines/%s" % (order, lines[0]["id"]),
                       {"fields": {"quantity": 7}, "lastModifiedDate": "2026-11-30T12:00:00Z"})
    f.eq(st, 200, "line-only change")
    after = q("SELECT tl.id, TO_CHAR(SYS_EXTRACT_UTC(tl.linelastmodifieddate), 'YYYY-MM-DD"
              " HH24:MI:SS') AS lmd, tl.quantity FROM transactionline tl WHERE tl.transaction = %s"
              " AND tl.id = %s" % (order, lines[0]["id"]))[0]
    hdr_after = q("SELECT TO_CHAR(SYS_EXTRACT_UTC(lastmodifieddate), 'YYYY-MM-DD HH24:MI:SS') AS lmd,"
                  " foreigntotal FROM transaction WHERE id = %s" % order)[0]
    f.eq(after["lmd"], "2026-11-30 12:00:00", "the line's date moved")
    f.eq(after["quantity"], "-7", "quantity stored with the posting sign")
    f.eq(hdr_after["lmd"], hdr_before["lmd"], "the order's date did not move")
    f.check(hdr_after["foreigntotal"] != hdr_before["foreigntotal"], "the order total follows")
    changed = q("SELECT DISTINCT t.id FROM transaction t JOIN transactionline tl ON tl.transaction"
                " = t.id WHERE SYS_EXTRACT_UTC(t.lastmodifieddate) > TO_TIMESTAMP('2026-11-30"
                " 00:00:00', 'YYYY-MM-DD HH24:MI:SS') OR SYS_EXTRACT_UTC(tl.linelastmodifieddate) >"
                " TO_TIMESTAMP('2026-11-30 00:00:00', 'YYYY-MM-DD HH24:MI:SS')")
    f.check({"links": [], "id": order} in changed, "found by header OR line date")
    time.sleep(0.5)
    f.eq(len(rx.got), 0, "fulfilment-style line change fires no order event")
    st, res = sb.admin("PATCH", "salesorders/%s/lines/%s" % (order, lines[0]["id"]),
                       {"fields": {"quantity": 8}, "touchHeader": True})
    hdr3 = q("SELECT TO_CHAR(SYS_EXTRACT_UTC(lastmodifieddate), 'YYYY-MM-DD HH24:MI:SS') AS lmd"
             " FROM transaction WHERE id = %s" % order)[0]
    f.check(hdr3["lmd"] != hdr_before["lmd"], "an edit of the order itself moves its date")

    # ---- events out (secret mode) ----
    f.check(rx.wait(1), "an event arrived after the order edit")
    if rx.got:
        h, body = rx.got[-1]
        ev = json.loads(body)
        f.eq(sorted(ev.keys()), sorted(["eventId", "eventType", "recordType", "recordId",
                                        "occurredAt", "accountId"]), "event fields (DESIGN.md)")
        f.eq((ev["eventType"], ev["recordType"], ev["recordId"], ev["accountId"]),
             ("edit", "salesorder", order, sb.account), "event content")
        f.eq(h.get("X-MLC-Webhook-Secret"), sb.cred["webhookSecret"], "secret header")
        f.eq(h.get("Content-Type"), "application/json", "event media type")
    rx.got.clear()
    st, res = sb.admin("PATCH", "customers/%s" % cust, {"fields": {"email": "new@example.com"}})
    f.check(rx.wait(1), "an event after a customer edit")

    # ---- events in HMAC mode: X-MLC-Signature: t=<unix>,v1=<hex HMAC(secret, "<t>.<body>")> ----
    sb.settings_patch(eventsAuth="hmac")
    rx.got.clear()
    sb.admin("PATCH", "customers/%s" % cust, {"fields": {"phone": "+1 206 555 0142"}})
    f.check(rx.wait(1), "an event in HMAC mode")
    if rx.got:
        h, body = rx.got[-1]
        sig = h.get("X-MLC-Signature", "")
        parts = dict(p.split("=", 1) for p in sig.split(","))
        want = hmac.new(sb.cred["webhookSecret"].encode(), parts["t"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
        f.eq(parts.get("v1"), want, "HMAC signature verifies")
        f.check(abs(int(parts["t"]) - time.time()) < 60, "signature timestamp is now")
        f.check("X-MLC-Webhook-Secret" not in h, "no plain secret in HMAC mode")
    sb.settings_patch(eventsAuth="secret", eventsBatch=10)
    rx.got.clear()
    st, res = sb.admin("POST", "changes", {"count": 20, "seed": 7})
    emitted = sum(1 for r in res["results"] for c in r.get("changes", []) if c["event"])
    f.check(emitted > 0, "the scripted change stream made changes")
    end = time.time() + 15
    while time.time() < end:
        n = sum(len(json.loads(b)["events"]) for _, b in rx.got)
        if n >= emitted:
            break
        time.sleep(0.1)
    n = sum(len(json.loads(b)["events"]) for _, b in rx.got)
    f.eq(n, emitted, "every emitted change posted, batched as {\"events\": [...]}")
    sb.settings_patch(eventsBatch=1)
    st, ev = sb.admin("GET", "events")
    f.check(ev["sent"] >= emitted + 3 and ev["failed"] == 0, "events stats: %r" % ev)

    # ---- DeletedRecord after a delete and after a merge ----
    pair = q("SELECT c.id FROM customer c WHERE EXISTS (SELECT 1 FROM transaction t WHERE t.entity"
             " = c.id) AND c.isinactive = 'F' ORDER BY c.id", 2)
    dup, survivor = pair[0]["id"], pair[1]["id"]
    dup_orders = [r["id"] for r in q("SELECT id FROM transaction WHERE entity = %s" % dup)]
    st, _ = sb.admin("DELETE", "customers/%s" % dup)
    f.eq(st, 409, "a customer with transactions cannot be deleted")
    rx.got.clear()
    st, res = sb.admin("POST", "customers/%s/merge" % dup, {"into": int(survivor)})
    f.eq(st, 200, "merge")
    moved = [r["id"] for r in q("SELECT id FROM transaction WHERE entity = %s" % survivor)]
    f.check(set(dup_orders) <= set(moved), "the duplicate's orders moved to the survivor")
    f.eq(q("SELECT id FROM customer WHERE id = %s" % dup), [], "the duplicate is gone")
    dr = q("SELECT recordid, type, name, context FROM DeletedRecord WHERE recordid = %s" % dup)
    f.check(len(dr) == 1 and dr[0]["type"] == "customer", "the duplicate in DeletedRecord: %r" % dr)
    f.check(rx.wait(2), "merge events")
    kinds = sorted((json.loads(b)["eventType"], json.loads(b)["recordId"]) for _, b in rx.got)
    f.eq(kinds, sorted([("delete", dup), ("edit", survivor)]), "merge: delete + edit events")
    free = q("SELECT c.id FROM customer c WHERE NOT EXISTS (SELECT 1 FROM transaction t WHERE"
             " t.entity = c.id) AND NOT EXISTS (SELECT 1 FROM customer k WHERE k.parent = c.id)"
             " ORDER BY c.id", 1)[0]["id"]
    st, _ = sb.admin("DELETE", "customers/%s" % free)
    f.eq(st, 200, "delete a customer without orders")
    dr = q("SELECT type, TO_CHAR(SYS_EXTRACT_UTC(deleteddate), 'YYYY-MM-DD HH24:MI:SS') AS d FROM"
           " DeletedRecord WHERE recordid = %s" % free)
    f.check(len(dr) == 1 and dr[0]["d"] >= time.strftime("%Y-%m-%d", time.gmtime()),
            "deleted customer listed with its deletion time: %r" % dr)
    st, _ = sb.admin("DELETE", "salesorders/%s" % order)
    dr = q("SELECT type FROM DeletedRecord WHERE recordid = %s" % order)
    f.eq(dr, [{"links": [], "type": "salesorder"}], "deleted sales order listed")
    st, data, _, _ = sb.request("GET", "/services/rest/record/v1/salesOrder/%s" % order, headers=auth)
    f.eq(st, 404, "deleted order: 404")

    # ---- governance: 429 past the concurrency limit ----
    st, stats = sb.admin("GET", "stats")
    f.check(stats["calls"]["record"] >= 5 and stats["calls"]["suiteql"] >= 10 and
            stats["calls"]["token"] >= 1, "calls of each kind counted: %r" % stats["calls"])
    # Requests are in flight at once when they overlap in time; the HTTP layer serves each
    # connection on one of its threads, so a few may queue behind another on the same thread:
    # send more than enough and check that the limit holds and the rest are refused.
    sb.settings_patch(concurrencyLimit=3, latencyMs=1500)
    sb.admin("POST", "stats/reset")

    def call(_):
        st, data, _, r = sb.request("GET", "/services/rest/system/v1/serverTime", headers=auth)
        return st, data, r.getheader("Retry-After")

    def burst(refusal):
        """12 calls at once, repeated until some overlap past the limit (the HTTP layer may queue
        a few connections behind one thread); returns the results of the last burst."""
        for _ in range(6):
            with ThreadPoolExecutor(12) as ex:
                results = list(ex.map(call, range(12)))
            if any(r[0] == refusal for r in results):
                return results
        return results

    results = burst(429)
    codes = sorted(r[0] for r in results)
    f.check(codes.count(200) >= 3 and codes.count(429) >= 1 and
            codes.count(200) + codes.count(429) == 12, "limit 3: some admitted, others 429: %r" % codes)
    refused = [r for r in results if r[0] == 429]
    if refused:
        f.eq(refused[0][1], sample("netsuite-error-429.json"), "429 body as the sample")
        f.eq(refused[0][2], None, "no Retry-After")
    st, stats = sb.admin("GET", "stats")
    f.eq(stats["peakConcurrency"], 3, "peak concurrency admitted")
    f.check(stats["peakAttempted"] >= 4, "peak concurrency attempted %r" % stats["peakAttempted"])
    f.check(stats["outcomes"]["concurrencyRefused"] >= codes.count(429), "refusals counted")
    sb.settings_patch(concurrencyStatus="401")
    results = burst(401)
    codes = sorted(r[0] for r in results)
    f.check(codes.count(401) >= 1 and codes.count(429) == 0, "concurrencyStatus=401: %r" % codes)
    f.eq([r[1] for r in results if r[0] == 401][:1], [sample("netsuite-error-401.json")],
         "the 401 body")
    sb.settings_patch(concurrencyStatus="429", latencyMs=0, concurrencyLimit=5)

    st, gl, _, _ = sb.request("GET", "/services/rest/system/v1/governanceLimits", headers=auth)
    f.eq(gl, {"accountConcurrencyLimit": 5, "accountUnallocatedConcurrencyLimit": 5,
              "limitType": "accountLimit"}, "governanceLimits")
    sb.settings_patch(integrationConcurrencyLimit=2)
    st, gl, _, _ = sb.request("GET", "/services/rest/system/v1/governanceLimits", headers=auth)
    f.eq(gl.get("integrationConcurrencyLimit"), 2, "integration-specific limit")
    sb.settings_patch(integrationConcurrencyLimit=0, deny="governance")
    st, data, _, _ = sb.request("GET", "/services/rest/system/v1/governanceLimits", headers=auth)
    f.eq((st, detail(data).get("o:errorCode")), (403, "INSUFFICIENT_PERMISSION"),
         "governanceLimits needs an administrator")
    sb.settings_patch(deny="")

    # ---- random faults ----
    sb.settings_patch(rate429=1.0)
    st, data, _, _ = sb.request("GET", "/services/rest/system/v1/serverTime", headers=auth)
    f.eq((st, data), (429, sample("netsuite-error-429.json")), "rate429=1")
    sb.settings_patch(rate429=0, rate5xx=1.0)
    st, data, _, _ = sb.request("GET", "/services/rest/system/v1/serverTime", headers=auth)
    f.check(st in (500, 503) and detail(data).get("o:errorCode"), "rate5xx=1: %r" % st)
    sb.settings_patch(rate5xx=0.5)
    got = [sb.request("GET", "/services/rest/system/v1/serverTime", headers=auth)[0]
           for _ in range(40)]
    f.check(5 <= sum(1 for s in got if s >= 500) <= 35, "rate5xx=0.5 hits about half: %r" % got)
    sb.settings_patch(rate5xx=0, rateDrop=1.0)
    try:
        sb.request("GET", "/services/rest/system/v1/serverTime", headers=auth, timeout=10)
        f.check(False, "rateDrop=1: the connection should close without an answer")
    except Exception as e:  # RemoteDisconnected, a reset or a TLS EOF
        f.check(not isinstance(e, TimeoutError), "rateDrop=1: closed, not timed out: %r" % e)
    sb.settings_patch(rateDrop=1.0, dropHoldMs=3000)
    t0 = time.time()
    try:
        sb.request("GET", "/services/rest/system/v1/serverTime", headers=auth, timeout=1)
        f.check(False, "rateDrop=1, dropHoldMs=3000: the call should not answer in time")
    except Exception:
        f.check(time.time() - t0 < 2.5, "rateDrop=1, dropHoldMs=3000: the client timed out")
    sb.settings_patch(rateDrop=0, dropHoldMs=0)
    time.sleep(2.5)  # let the held call finish
    st, stats = sb.admin("GET", "stats")
    f.check(stats["outcomes"]["fault429"] >= 1 and stats["outcomes"]["fault5xx"] >= 1 and
            stats["outcomes"]["faultDrop"] >= 1, "faults counted: %r" % stats["outcomes"])

    # ---- event delivery failures are recorded ----
    bad = Receiver(status=500)
    sb.settings_patch(eventsUrl=bad.url, eventsRetries=1)
    st, _ = sb.admin("PATCH", "customers/%s" % survivor, {"fields": {"phone": "+1 206 555 0143"}})
    f.eq(st, 200, "edit the survivor")
    bad.wait(2)
    time.sleep(0.5)
    st, ev = sb.admin("GET", "events")
    f.check(ev["failed"] >= 1 and len(bad.got) == 2,
            "a 500 is retried once and then counted failed: %r, %d posts" % (ev, len(bad.got)))
    bad.close()

rx.close()
f.done()
