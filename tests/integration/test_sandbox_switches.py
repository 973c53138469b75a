#!/usr/bin/env python3
"""Every switch of the sandbox's NetSuite changes the behaviour it names.

The switch list is read from the sandbox itself (GET /_sandbox/netsuite/settings) and must equal
the CHECKS table below, so a switch added without a check here fails this test. Each check sets
the switch to a non-default value, observes the effect with hand-built requests (written from
../shared/reference/, never with the connector's clients), sets it back and observes the default
behaviour again. Then every switch is given on the command line at once, and the settings the
sandbox reports must be the ones given.
"""
import hashlib
import hmac
import http.client
import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_sandbox_lib import Failures, Sandbox, binary, free_port, sample  # noqa: E402

f = Failures()
SERVER_TIME = "/services/rest/system/v1/serverTime"
GOVERNANCE = "/services/rest/system/v1/governanceLimits"


def detail(data):
    try:
        return data["o:errorDetails"][0]
    except (TypeError, KeyError, IndexError):
        return {}


class Receiver:
    """A plain-HTTP endpoint that records what the sandbox posts, answering `status`."""

    def __init__(self, status=202):
        self.got = []
        self.status = status
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                outer.got.append((dict(self.headers), self.rfile.read(n)))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/v1/webhooks/netsuite" % self.srv.server_address[1]

    def wait(self, n, timeout=10):
        end = time.time() + timeout
        while len(self.got) < n and time.time() < end:
            time.sleep(0.05)
        return len(self.got) >= n

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class Ctx:
    def __init__(self, sb):
        self.sb = sb
        self.tok = sb.token()
        self.auth = {"Authorization": "Bearer " + self.tok}
        st, page = sb.suiteql("SELECT id FROM customer ORDER BY id", self.tok, 1)
        self.cid = int(page["items"][0]["id"])
        # a customer that can be deleted (no orders, no children)
        st, page = sb.suiteql(
            "SELECT c.id FROM customer c WHERE NOT EXISTS (SELECT 1 FROM transaction t WHERE"
            " t.entity = c.id) AND NOT EXISTS (SELECT 1 FROM customer k WHERE k.parent = c.id)"
            " ORDER BY c.id DESC", self.tok, 1)
        self.free_cid = int(page["items"][0]["id"])
        st, page = sb.suiteql("SELECT id FROM contact ORDER BY id", self.tok, 1)
        self.contact = int(page["items"][0]["id"])
        st, page = sb.suiteql("SELECT id FROM transaction WHERE type = 'SalesOrd' ORDER BY id",
                              self.tok, 1)
        self.order = int(page["items"][0]["id"])

    def set(self, **kw):
        return self.sb.settings_patch(**kw)

    def get(self, path, timeout=60):
        st, data, _, _ = self.sb.request("GET", path, headers=self.auth, timeout=timeout)
        return st, data

    def q(self, sql, limit=None, offset=None, headers=None):
        return self.sb.suiteql(sql, self.tok, limit, offset, headers)

    def burst(self, n=8, rounds=6, want=(429,)):
        """n calls at once, repeated until one is refused with a status in want."""
        def call(_):
            st, data, _, _ = self.sb.request("GET", SERVER_TIME, headers=self.auth)
            return st, data
        results = []
        for _ in range(rounds):
            with ThreadPoolExecutor(n) as ex:
                results = list(ex.map(call, range(n)))
            if any(r[0] in want for r in results):
                break
        return results


# ---- token endpoint ----
def chk_token_lifetime(c):
    c.set(tokenLifetimeS=1)
    st, data, _, _ = c.sb.post_token(c.sb.assertion())
    f.eq(data.get("expires_in"), "1", "tokenLifetimeS=1: expires_in")
    tok = data["access_token"]
    time.sleep(2.2)
    st, data, _, _ = c.sb.request("GET", SERVER_TIME, headers={"Authorization": "Bearer " + tok})
    f.eq((st, data), (401, sample("netsuite-error-401.json")), "tokenLifetimeS=1: expired after 2 s")
    c.set(tokenLifetimeS=3600)
    st, data, _, _ = c.sb.post_token(c.sb.assertion())
    f.eq(data.get("expires_in"), "3600", "tokenLifetimeS=3600")


def chk_expires_in(c):
    c.set(expiresIn="number")
    f.eq(c.sb.post_token(c.sb.assertion())[1].get("expires_in"), 3600, "expiresIn=number")
    c.set(expiresIn="string")
    f.eq(c.sb.post_token(c.sb.assertion())[1].get("expires_in"), "3600", "expiresIn=string")


def chk_scope_array(c):
    a = lambda: c.sb.assertion(scope=["rest_webservices"])  # noqa: E731
    c.set(scopeArray="accept")
    f.eq(c.sb.post_token(a())[0], 200, "scopeArray=accept")
    c.set(scopeArray="refuse")
    st, data, _, _ = c.sb.post_token(a())
    f.eq((st, data), (400, {"error": "invalid_scope"}), "scopeArray=refuse")


def chk_token_errors(c):
    c.set(tokenErrors="netsuite")
    st, data, _, _ = c.sb.post_token(c.sb.assertion(kid="nope"))
    f.eq((st, data), (401, sample("netsuite-error-401.json")), "tokenErrors=netsuite")
    c.set(tokenErrors="oauth")
    st, data, _, _ = c.sb.post_token(c.sb.assertion(kid="nope"))
    f.eq((st, data), (400, {"error": "invalid_grant"}), "tokenErrors=oauth")


# ---- SuiteQL ----
def chk_values(c):
    sql = "SELECT id, creditlimit FROM customer WHERE creditlimit IS NOT NULL ORDER BY id"
    c.set(values="native")
    it = c.q(sql, 1)[1]["items"][0]
    f.check(type(it["id"]) is int and type(it["creditlimit"]) in (int, float),
            "values=native: %r" % it)
    c.set(values="string")
    it = c.q(sql, 1)[1]["items"][0]
    f.check(type(it["id"]) is str and type(it["creditlimit"]) is str, "values=string: %r" % it)


def stamp(c, cid, when):
    st, _ = c.sb.admin("PATCH", "customers/%d" % cid, {"lastModifiedDate": when, "emit": False})
    f.eq(st, 200, "set lastModifiedDate")


def chk_raw_datetime(c):
    stamp(c, c.cid, "2026-01-15T07:30:00Z")
    sql = "SELECT lastmodifieddate AS raw FROM customer WHERE id = %d" % c.cid
    c.set(rawDatetime="datetime")
    f.eq(c.q(sql)[1]["items"][0]["raw"], "1/14/2026 11:30 pm", "rawDatetime=datetime")
    c.set(rawDatetime="date")
    f.eq(c.q(sql)[1]["items"][0]["raw"], "1/14/2026", "rawDatetime=date")


def chk_date_format(c):
    stamp(c, c.cid, "2026-01-15T07:30:00Z")
    sql = "SELECT lastmodifieddate AS raw FROM customer WHERE id = %d" % c.cid
    for fmt, want in (("DD.MM.YYYY", "14.01.2026"), ("YYYY-MM-DD", "2026-01-14"),
                      ("D/M/YYYY", "14/1/2026"), ("M/D/YYYY", "1/14/2026")):
        c.set(dateFormat=fmt)
        f.eq(c.q(sql)[1]["items"][0]["raw"], want, "dateFormat=" + fmt)
    st, data = c.sb.admin("PATCH", "settings", {"dateFormat": "nonsense"})
    f.eq(st, 400, "dateFormat refuses an unknown preference")


def chk_prefer_transient(c):
    c.set(preferTransient="optional")
    f.eq(c.q("SELECT id FROM item", headers={"Prefer": None})[0], 200, "preferTransient=optional")
    c.set(preferTransient="required")
    st, data = c.q("SELECT id FROM item", headers={"Prefer": None})
    f.eq((st, detail(data).get("o:errorCode")), (400, "INVALID_PARAMETER"),
         "preferTransient=required")


def chk_limit_clause(c):
    c.set(limitClause="accept")
    st, page = c.q("SELECT id FROM customer ORDER BY id LIMIT 3")
    f.eq((st, page.get("count")), (200, 3), "limitClause=accept")
    c.set(limitClause="reject")
    st, data = c.q("SELECT id FROM customer ORDER BY id LIMIT 3")
    f.eq((st, detail(data).get("o:errorCode")), (400, "INVALID_PARAMETER"), "limitClause=reject")


def chk_offset_rule(c):
    c.set(offsetRule="any")
    f.eq(c.q("SELECT id FROM customer ORDER BY id", 10, 5)[0], 200, "offsetRule=any")
    c.set(offsetRule="multiple")
    st, data = c.q("SELECT id FROM customer ORDER BY id", 10, 5)
    f.eq((st, detail(data).get("o:errorQueryParam")), (400, "offset"), "offsetRule=multiple")


def chk_deleted_type(c):
    st, _ = c.sb.admin("DELETE", "customers/%d" % c.free_cid, {"emit": False})
    f.eq(st, 200, "delete a customer")
    sql = "SELECT type FROM DeletedRecord WHERE recordid = %d" % c.free_cid
    c.set(deletedType="label")
    f.eq([i["type"] for i in c.q(sql)[1]["items"]], ["Customer"], "deletedType=label")
    types = {i["type"] for i in c.q("SELECT DISTINCT type FROM DeletedRecord")[1]["items"]}
    f.check(types <= {"Customer", "Contact", "Sales Order"}, "label applies to every row: %r" % types)
    c.set(deletedType="id")
    f.eq([i["type"] for i in c.q(sql)[1]["items"]], ["customer"], "deletedType=id")
    types = {i["type"] for i in c.q("SELECT DISTINCT type FROM DeletedRecord")[1]["items"]}
    f.check(types <= {"customer", "contact", "salesorder"}, "id applies to every row: %r" % types)


def chk_query_timeout(c):
    heavy = ("WITH r(n) AS (SELECT 1 FROM dual UNION ALL SELECT n + 1 FROM r WHERE n < 1500000)"
             " SELECT count(*) AS n FROM r")
    c.set(queryTimeoutMs=10)
    t0 = time.time()
    st, data = c.q(heavy)
    f.check(st == 400 and "took too long" in detail(data).get("detail", ""),
            "queryTimeoutMs=10: %r %r" % (st, data))
    f.check(time.time() - t0 < 5, "queryTimeoutMs=10 stops the statement early")
    c.set(queryTimeoutMs=30000)
    st, page = c.q(heavy)
    f.eq((st, page.get("items", [{}])[0].get("n")), (200, "1500000"), "queryTimeoutMs=30000")


# ---- role ----
DENY = {
    # permission: (what is refused, what must stay allowed)
    "rest": None,
    "suiteql": None,
    "customer": ("customer", "customer"),
    "contact": ("contact", "contact"),
    "salesorder": ("transaction", "salesOrder"),
    "item": ("item", None),
    "deletedrecord": ("DeletedRecord", None),
    "governance": None,
    "currency": ("currency", None),
    "subsidiary": ("subsidiary", None),
}


def not_found_detail(table):
    return ("Invalid search query. Detailed unprocessed description follows. Search error"
            " occurred: Record '%s' was not found." % table.lower())


def chk_deny(c):
    rec_ids = {"customer": c.cid, "contact": c.contact, "salesOrder": c.order}
    for perm, spec in DENY.items():
        c.set(deny=perm)
        if perm == "rest":
            for path in (SERVER_TIME, "/services/rest/record/v1/customer/%d" % c.cid):
                st, data = c.get(path)
                f.eq((st, detail(data).get("o:errorCode"), detail(data).get("detail")),
                     (400, "USER_ERROR",
                      "Your current role does not have permission to perform this action."),
                     "deny=rest: " + path)
            continue
        if perm == "suiteql":
            st, data = c.q("SELECT id FROM item")
            f.eq((st, detail(data).get("detail")), (400, not_found_detail("item")),
                 "deny=suiteql: SuiteQL refused")
            f.eq(c.get("/services/rest/record/v1/customer/%d" % c.cid)[0], 200,
                 "deny=suiteql: the record API still works")
            continue
        if perm == "governance":
            st, data = c.get(GOVERNANCE)
            f.eq((st, detail(data).get("o:errorCode")), (403, "INSUFFICIENT_PERMISSION"),
                 "deny=governance")
            f.eq(c.get(SERVER_TIME)[0], 200, "deny=governance: serverTime still works")
            continue
        table, rtype = spec
        st, data = c.q("SELECT * FROM %s" % table, 1)
        f.eq((st, detail(data).get("o:errorCode"), detail(data).get("detail")),
             (400, "INVALID_PARAMETER", not_found_detail(table)), "deny=%s: SuiteQL" % perm)
        other = "item" if table != "item" else "customer"
        f.eq(c.q("SELECT id FROM %s" % other, 1)[0], 200, "deny=%s: %s still readable" % (perm, other))
        if rtype:
            st, data = c.get("/services/rest/record/v1/%s/%d" % (rtype, rec_ids[rtype]))
            f.eq((st, detail(data).get("o:errorCode")), (403, "INSUFFICIENT_PERMISSION"),
                 "deny=%s: record API" % perm)
    c.set(deny="customer,contact")
    f.eq(c.q("SELECT id FROM contact", 1)[0], 400, "deny of two permissions (contact)")
    f.eq(c.q("SELECT id FROM customer", 1)[0], 400, "deny of two permissions (customer)")
    st, data = c.sb.admin("PATCH", "settings", {"deny": "nosuchpermission"})
    f.eq(st, 400, "deny refuses an unknown permission")
    c.set(deny="")
    for t in ("customer", "contact", "transaction", "item", "DeletedRecord", "currency", "subsidiary"):
        f.eq(c.q("SELECT * FROM %s" % t, 1)[0], 200, "deny='': %s readable" % t)
    f.eq(c.get(GOVERNANCE)[0], 200, "deny='': governanceLimits")


# ---- governance ----
def chk_concurrency_limit(c):
    c.set(concurrencyLimit=1, latencyMs=700)
    c.sb.admin("POST", "stats/reset")
    res = c.burst(4)
    codes = sorted(r[0] for r in res)
    f.check(codes.count(429) >= 1 and codes.count(200) >= 1, "concurrencyLimit=1: %r" % codes)
    f.eq(c.sb.admin("GET", "stats")[1]["peakConcurrency"], 1, "concurrencyLimit=1: peak admitted")
    c.set(concurrencyLimit=5, latencyMs=300)
    res = c.burst(4, rounds=1)
    f.eq(sorted(r[0] for r in res), [200] * 4, "concurrencyLimit=5: 4 at once admitted")
    c.set(latencyMs=0)


def chk_concurrency_status(c):
    c.set(concurrencyLimit=1, latencyMs=700, concurrencyStatus="401")
    res = c.burst(4, want=(401, 429))
    codes = sorted(r[0] for r in res)
    f.check(codes.count(401) >= 1 and codes.count(429) == 0, "concurrencyStatus=401: %r" % codes)
    f.eq([r[1] for r in res if r[0] == 401][:1], [sample("netsuite-error-401.json")],
         "concurrencyStatus=401 body")
    c.set(concurrencyStatus="429")
    res = c.burst(4)
    codes = sorted(r[0] for r in res)
    f.check(codes.count(429) >= 1 and codes.count(401) == 0, "concurrencyStatus=429: %r" % codes)
    f.eq([r[1] for r in res if r[0] == 429][:1], [sample("netsuite-error-429.json")],
         "concurrencyStatus=429 body")
    c.set(concurrencyLimit=5, latencyMs=0)


def chk_integration_limit(c):
    c.set(integrationConcurrencyLimit=1, latencyMs=700)
    st, gl = c.get(GOVERNANCE)
    f.eq(gl, {"accountConcurrencyLimit": 5, "accountUnallocatedConcurrencyLimit": 4,
              "integrationConcurrencyLimit": 1, "limitType": "integrationSpecific"},
         "integrationConcurrencyLimit=1: governanceLimits")
    codes = sorted(r[0] for r in c.burst(4))
    f.check(codes.count(429) >= 1, "integrationConcurrencyLimit=1 is enforced: %r" % codes)
    c.set(integrationConcurrencyLimit=0, latencyMs=0)
    st, gl = c.get(GOVERNANCE)
    f.eq(gl, {"accountConcurrencyLimit": 5, "accountUnallocatedConcurrencyLimit": 5,
              "limitType": "accountLimit"}, "integrationConcurrencyLimit=0: governanceLimits")


# ---- faults ----
def chk_latency(c):
    c.set(latencyMs=600)
    t0 = time.time()
    f.eq(c.get(SERVER_TIME)[0], 200, "latencyMs=600: answered")
    f.check(time.time() - t0 >= 0.6, "latencyMs=600: took %.3f s" % (time.time() - t0))
    c.set(latencyMs=0)
    t0 = time.time()
    c.get(SERVER_TIME)
    f.check(time.time() - t0 < 0.5, "latencyMs=0: took %.3f s" % (time.time() - t0))


def chk_rate429(c):
    c.set(rate429=1)
    st, data = c.get(SERVER_TIME)
    f.eq((st, data), (429, sample("netsuite-error-429.json")), "rate429=1")
    c.set(rate429=0)
    f.eq(c.get(SERVER_TIME)[0], 200, "rate429=0")


def chk_rate5xx(c):
    c.set(rate5xx=1)
    got = [c.get(SERVER_TIME) for _ in range(6)]
    f.check(all(st in (500, 503) and detail(d).get("o:errorCode") in
                ("UNEXPECTED_ERROR", "SERVICE_UNAVAILABLE") for st, d in got),
            "rate5xx=1: %r" % [g[0] for g in got])
    c.set(rate5xx=0)
    f.eq(c.get(SERVER_TIME)[0], 200, "rate5xx=0")


def dropped(c, timeout=30):
    """True when the connection closed without an HTTP answer."""
    try:
        c.get(SERVER_TIME, timeout=timeout)
        return False
    except TimeoutError:
        return False
    except (http.client.HTTPException, ssl.SSLError, OSError):
        return True


def chk_rate_drop(c):
    c.set(rateDrop=1)
    t0 = time.time()
    f.check(dropped(c), "rateDrop=1: the connection closes without an answer")
    f.check(time.time() - t0 < 2, "rateDrop=1 with dropHoldMs=0: at once")
    c.set(rateDrop=0)
    f.eq(c.get(SERVER_TIME)[0], 200, "rateDrop=0")


def chk_drop_hold(c):
    c.set(rateDrop=1, dropHoldMs=1500)
    t0 = time.time()
    f.check(dropped(c), "dropHoldMs=1500: dropped")
    f.check(time.time() - t0 >= 1.5, "dropHoldMs=1500: held %.2f s first" % (time.time() - t0))
    try:
        c.get(SERVER_TIME, timeout=0.5)
        f.check(False, "dropHoldMs=1500: a 0.5 s client times out")
    except (TimeoutError, OSError):
        pass
    c.set(dropHoldMs=0)
    t0 = time.time()
    f.check(dropped(c), "dropHoldMs=0: dropped")
    f.check(time.time() - t0 < 1.0, "dropHoldMs=0: at once")
    c.set(rateDrop=0)
    time.sleep(1.6)  # the held call above ends


def chk_m2m(c):
    tok = c.sb.token()
    c.set(m2mWiped="wiped")
    st, data, _, _ = c.sb.post_token(c.sb.assertion())
    f.eq((st, data), (400, {"error": "invalid_grant"}), "m2mWiped=wiped: assertion refused")
    st, _, _, _ = c.sb.request("GET", SERVER_TIME, headers={"Authorization": "Bearer " + tok})
    f.eq(st, 401, "m2mWiped=wiped: tokens issued before stop working")
    c.set(m2mWiped="present")
    f.eq(c.sb.post_token(c.sb.assertion())[0], 200, "m2mWiped=present")
    c.tok = c.sb.token()
    c.auth = {"Authorization": "Bearer " + c.tok}


# ---- events out ----
def edit(c, cid=None):
    st, _ = c.sb.admin("PATCH", "customers/%d" % (cid or c.cid),
                       {"fields": {"phone": "+1 206 555 %04d" % (int(time.time() * 1000) % 10000)}})
    f.eq(st, 200, "customer edit")


def chk_events_url(c):
    rx = Receiver()
    c.set(eventsUrl=rx.url)
    edit(c)
    f.check(rx.wait(1), "eventsUrl set: an event is posted")
    c.set(eventsUrl="")
    n = len(rx.got)
    edit(c)
    time.sleep(0.7)
    f.eq(len(rx.got), n, "eventsUrl empty: nothing posted")
    st, _ = c.sb.admin("PATCH", "settings", {"eventsUrl": "ftp://x"})
    f.eq(st, 400, "eventsUrl must be http(s)")
    rx.close()


def chk_events_auth(c):
    rx = Receiver()
    secret = c.sb.cred["webhookSecret"]
    c.set(eventsUrl=rx.url, eventsAuth="hmac")
    edit(c)
    if f.check(rx.wait(1), "eventsAuth=hmac: posted"):
        h, body = rx.got[-1]
        parts = dict(p.split("=", 1) for p in h.get("X-MLC-Signature", "").split(","))
        want = hmac.new(secret.encode(), parts.get("t", "").encode() + b"." + body,
                        hashlib.sha256).hexdigest()
        f.eq(parts.get("v1"), want, "eventsAuth=hmac: X-MLC-Signature verifies")
        f.check("X-MLC-Webhook-Secret" not in h, "eventsAuth=hmac: no plain secret")
    c.set(eventsAuth="secret")
    edit(c)
    if f.check(rx.wait(2), "eventsAuth=secret: posted"):
        h, body = rx.got[-1]
        f.eq(h.get("X-MLC-Webhook-Secret"), secret, "eventsAuth=secret: the secret header")
        f.check("X-MLC-Signature" not in h, "eventsAuth=secret: no signature")
    c.set(eventsUrl="")
    rx.close()


def chk_events_batch(c):
    rx = Receiver()
    c.set(eventsUrl=rx.url, eventsBatch=5)
    edit(c)
    if f.check(rx.wait(1), "eventsBatch=5: posted"):
        body = json.loads(rx.got[-1][1])
        f.check(isinstance(body.get("events"), list) and len(body["events"]) >= 1,
                "eventsBatch=5: {\"events\": [...]}")
    c.set(eventsBatch=1)
    edit(c)
    if f.check(rx.wait(2), "eventsBatch=1: posted"):
        body = json.loads(rx.got[-1][1])
        f.check("events" not in body and body.get("recordType") == "customer",
                "eventsBatch=1: one event object")
    c.set(eventsUrl="")
    rx.close()


def chk_events_retries(c):
    rx = Receiver(status=503)
    c.set(eventsUrl=rx.url, eventsRetries=2)
    edit(c)
    rx.wait(3)
    time.sleep(1.0)
    f.eq(len(rx.got), 3, "eventsRetries=2: three attempts on a 503")
    c.set(eventsRetries=0)
    n = len(rx.got)
    edit(c)
    rx.wait(n + 1)
    time.sleep(0.8)
    f.eq(len(rx.got) - n, 1, "eventsRetries=0: one attempt")
    c.set(eventsUrl="", eventsRetries=2)
    rx.close()


CHECKS = {
    "tokenLifetimeS": chk_token_lifetime,
    "expiresIn": chk_expires_in,
    "scopeArray": chk_scope_array,
    "tokenErrors": chk_token_errors,
    "values": chk_values,
    "rawDatetime": chk_raw_datetime,
    "dateFormat": chk_date_format,
    "preferTransient": chk_prefer_transient,
    "limitClause": chk_limit_clause,
    "offsetRule": chk_offset_rule,
    "deletedType": chk_deleted_type,
    "queryTimeoutMs": chk_query_timeout,
    "deny": chk_deny,
    "concurrencyLimit": chk_concurrency_limit,
    "concurrencyStatus": chk_concurrency_status,
    "integrationConcurrencyLimit": chk_integration_limit,
    "latencyMs": chk_latency,
    "rate429": chk_rate429,
    "rate5xx": chk_rate5xx,
    "rateDrop": chk_rate_drop,
    "dropHoldMs": chk_drop_hold,
    "m2mWiped": chk_m2m,
    "eventsUrl": chk_events_url,
    "eventsAuth": chk_events_auth,
    "eventsBatch": chk_events_batch,
    "eventsRetries": chk_events_retries,
}

DEFAULTS = {
    "tokenLifetimeS": 3600, "expiresIn": "string", "scopeArray": "refuse", "tokenErrors": "oauth",
    "values": "string", "rawDatetime": "date", "dateFormat": "M/D/YYYY",
    "preferTransient": "required", "limitClause": "reject", "offsetRule": "multiple",
    "deletedType": "id", "queryTimeoutMs": 30000, "deny": "", "concurrencyLimit": 5,
    "concurrencyStatus": "429", "integrationConcurrencyLimit": 0, "latencyMs": 0, "rate429": 0.0,
    "rate5xx": 0.0, "rateDrop": 0.0, "dropHoldMs": 0, "m2mWiped": "present", "eventsUrl": "",
    "eventsAuth": "secret", "eventsBatch": 1, "eventsRetries": 2,
}

# Every switch on the command line at once: flag -> (value given, value reported).
FLAGS = {
    "--token-lifetime-s": ("120", ("tokenLifetimeS", 120)),
    "--expires-in": ("number", ("expiresIn", "number")),
    "--scope-array": ("accept", ("scopeArray", "accept")),
    "--token-errors": ("netsuite", ("tokenErrors", "netsuite")),
    "--suiteql-values": ("native", ("values", "native")),
    "--raw-datetime": ("datetime", ("rawDatetime", "datetime")),
    "--date-format": ("DD.MM.YYYY", ("dateFormat", "DD.MM.YYYY")),
    "--prefer-transient": ("optional", ("preferTransient", "optional")),
    "--limit-clause": ("accept", ("limitClause", "accept")),
    "--offset-rule": ("any", ("offsetRule", "any")),
    "--deleted-type": ("label", ("deletedType", "label")),
    "--query-timeout-ms": ("5000", ("queryTimeoutMs", 5000)),
    "--deny": ("item,currency", ("deny", "item,currency")),
    "--concurrency-limit": ("15", ("concurrencyLimit", 15)),
    "--concurrency-status": ("401", ("concurrencyStatus", "401")),
    "--integration-concurrency-limit": ("3", ("integrationConcurrencyLimit", 3)),
    "--fault-latency-ms": ("5", ("latencyMs", 5)),
    "--fault-429-rate": ("0.25", ("rate429", 0.25)),
    "--fault-5xx-rate": ("0.125", ("rate5xx", 0.125)),
    "--fault-drop-rate": ("0.0625", ("rateDrop", 0.0625)),
    "--fault-drop-hold-ms": ("250", ("dropHoldMs", 250)),
    "--m2m-mapping": ("wiped", ("m2mWiped", "wiped")),
    "--events-url": ("http://127.0.0.1:9/x", ("eventsUrl", "http://127.0.0.1:9/x")),
    "--events-auth": ("hmac", ("eventsAuth", "hmac")),
    "--events-batch": ("7", ("eventsBatch", 7)),
    "--events-retries": ("4", ("eventsRetries", 4)),
}


with Sandbox(customers=60, orders=30, items=15) as sb:
    st, settings = sb.admin("GET", "settings")
    f.eq(sorted(settings), sorted(CHECKS), "every switch the sandbox has is checked here")
    f.eq(settings, DEFAULTS, "the defaults")
    c = Ctx(sb)
    only = os.environ.get("MLC_SWITCH")  # run one check while debugging
    for name, check in CHECKS.items():
        if only and name != only:
            continue
        print("--", name, flush=True)
        check(c)
        st, now = sb.admin("GET", "settings")
        f.eq(now, DEFAULTS, "%s: back to the defaults" % name)
    st, data = sb.admin("PATCH", "settings", {"noSuchSwitch": 1})
    f.eq(st, 400, "an unknown switch is refused")
    st, data = sb.admin("PATCH", "settings", {"concurrencyLimit": 0})
    f.eq(st, 400, "a value out of range is refused")
    f.eq(sb.admin("GET", "settings")[1], DEFAULTS, "a refused change applies nothing")

# ---- the command line: every switch as a flag, and --help lists each ----
f.eq(sorted(v[1][0] for v in FLAGS.values()), sorted(CHECKS), "every switch has a flag here")
helptext = subprocess.run([binary(), "sandbox", "--help"], capture_output=True, text=True)
f.eq(helptext.returncode, 0, "--help exits 0")
for flag in FLAGS:
    f.check(flag in helptext.stdout, "--help lists " + flag)
args = []
for flag, (val, _) in FLAGS.items():
    args += [flag, val]
with Sandbox(*args, customers=10, orders=5, items=5) as sb:
    st, settings = sb.admin("GET", "settings")
    want = dict(v[1] for v in FLAGS.values())
    f.eq(settings, want, "every flag sets its switch")
    f.eq(sb.settings.get("MLC_NETSUITE_WEBHOOK_AUTH"), "hmac",
         "--events-auth hmac: the printed settings name hmac")
scratch = tempfile.mkdtemp(prefix="mlc-sbx-flags-")
for flag in FLAGS:
    r = subprocess.run([binary(), "sandbox", "--netsuite-port", "0", flag, "bogus!value"],
                       capture_output=True, text=True, timeout=30, cwd=scratch)
    f.check(r.returncode == 2 and flag.lstrip("-").split("-")[0] in r.stderr,
            "%s with a bad value exits 2 naming it (got %d: %s)"
            % (flag, r.returncode, r.stderr.strip()[:160]))
shutil.rmtree(scratch, ignore_errors=True)

f.done()
