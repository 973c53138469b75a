#!/usr/bin/env python3
"""Every switch of the sandbox's Dataverse + Entra changes the behaviour it names.

The switch list is read from the sandbox itself (GET /_sandbox/dataverse/settings) and must equal
the CHECKS table below, so a switch added without a check here fails this test. Each check sets
the switch to a non-default value, observes the effect with hand-built requests (written from
../shared/reference/dataverse.md, never with the connector's clients), sets it back and observes
the default behaviour again. Then every switch is given on the command line at once, and the
settings the sandbox reports must be the ones given.
"""
import http.client
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_sandbox_dv_lib import API, ODATA, DvSandbox, Receiver  # noqa: E402
from test_sandbox_lib import Failures  # noqa: E402

f = Failures()
CRM = "Microsoft.Dynamics.CRM."


def code(body):
    try:
        return body["error"]["code"]
    except (TypeError, KeyError):
        return None


def batch_statuses(sb, parts):
    """One change set of (method, url, body, content-id); the statuses of the answer's parts,
    or [status] of the one failing part, and the raw text."""
    b, cs = "batch_" + uuid.uuid4().hex[:8], "changeset_" + uuid.uuid4().hex[:8]
    out = "--%s\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n" % (b, cs)
    for method, url, body, cid in parts:
        out += ("--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
                "Content-ID: %s\r\n\r\n%s %s HTTP/1.1\r\nContent-Type: application/json\r\n\r\n%s\r\n"
                % (cs, cid, method, url, json.dumps(body)))
    out += "--%s--\r\n--%s--\r\n" % (cs, b)
    h = dict(ODATA, Authorization="Bearer " + sb.dv_token(),
             **{"Content-Type": "multipart/mixed; boundary=" + b})
    st, data, _ = sb.draw("POST", API + "$batch", out.encode(), h)
    text = data.decode()
    return [int(x) for x in re.findall(r"HTTP/1\.1 (\d{3})", text)], text


def filters(sb, message, table):
    flt = "sdkmessageid/name eq '%s' and primaryobjecttypecode eq '%s'" % (message, table)
    st, data, _ = sb.api("GET", "sdkmessagefilters?" + urllib.parse.urlencode(
        {"$select": "sdkmessagefilterid", "$filter": flt}, quote_via=urllib.parse.quote))
    return len(data["value"])


def key_status(sb, table, name):
    st, keys, _ = sb.api("GET", "EntityDefinitions(LogicalName='%s')/Keys" % table)
    return {k["LogicalName"]: k["EntityKeyIndexStatus"] for k in keys["value"]}.get(name)


def wait_key(sb, table, name, want, timeout=15):
    end = time.time() + timeout
    s = None
    while time.time() < end:
        s = key_status(sb, table, name)
        if s == want:
            break
        time.sleep(0.1)
    return s


class Ctx:
    def __init__(self, sb, rx):
        self.sb, self.rx = sb, rx
        st, cur, _ = sb.api("GET", "transactioncurrencies?$select=isocurrencycode")
        self.usd = cur["value"][0]["transactioncurrencyid"]
        st, pls, _ = sb.api("GET", "pricelevels?$select=name")
        self.pl = pls["value"][0]["pricelevelid"]
        sb.api("PATCH", "accounts(mlc_netsuitecustomerid='SWC')", {"name": "Switch customer"})
        self.acc = [r for r in sb.rows("accounts")
                    if r.get("mlc_netsuitecustomerid") == "SWC"][0]["accountid"]

    def order(self, n, bind_key=False):
        return {"@odata.type": CRM + "salesorder",
                "@odata.id": "salesorders(mlc_netsuitesalesorderid='%s')" % n, "name": "SO" + n,
                "customerid_account@odata.bind": ("/accounts(mlc_netsuitecustomerid='SWC')"
                                                  if bind_key else "/accounts(%s)" % self.acc),
                "pricelevelid@odata.bind": "/pricelevels(%s)" % self.pl,
                "transactioncurrencyid@odata.bind": "/transactioncurrencies(%s)" % self.usd}

    def unthrottle(self):
        self.sb.dadmin("POST", "protection/reset")


def check_token_lifetime(c):
    sb = c.sb
    sb.dsettings(tokenLifetimeS=120)
    f.eq(sb.entra_post(sb.secret_fields())[1]["expires_in"], 120, "tokenLifetimeS: expires_in 120")
    sb.dsettings(tokenLifetimeS=3599)
    f.eq(sb.entra_post(sb.secret_fields())[1]["expires_in"], 3599, "tokenLifetimeS: back to 3599")


def check_changeset_upsert(c):
    sb, k = c.sb, uuid.uuid4().hex[:6]
    parts = [("PATCH", API + "accounts(mlc_netsuitecustomerid='cu%s')" % k, {"name": "cu"}, "1")]
    sb.dsettings(changesetUpsert="refuse")
    st, text = batch_statuses(sb, parts)
    f.check(st == [400] and "0x80060891" in text, "changesetUpsert=refuse: 400 %r" % st)
    sb.dsettings(changesetUpsert="accept")
    f.eq(batch_statuses(sb, parts)[0], [204], "changesetUpsert=accept: 204")


def check_changeset_ref_upsert(c):
    sb, k = c.sb, uuid.uuid4().hex[:6]
    parts = [("PATCH", API + "accounts(mlc_netsuitecustomerid='ru%s')" % k, {"name": "ru"}, "1"),
             ("POST", API + "contacts", {"lastname": "ref",
                                         "parentcustomerid_account@odata.bind": "$1"}, "2")]
    sb.dsettings(changesetRefUpsert="refuse")
    st, text = batch_statuses(sb, parts)
    f.check(st == [400] and "Content-ID Reference: '$1' does not exist" in text,
            "changesetRefUpsert=refuse: $1 naming an upsert is unknown %r" % st)
    created = [("POST", API + "accounts", {"name": "made %s" % k}, "1"), parts[1]]
    f.eq(batch_statuses(sb, created)[0], [204, 204],
         "changesetRefUpsert=refuse: $1 naming a created row still works")
    sb.dsettings(changesetRefUpsert="accept")
    f.eq(batch_statuses(sb, parts)[0], [204, 204], "changesetRefUpsert=accept: $1 binds")


def check_bulk_bind_by_key(c):
    sb, path = c.sb, "salesorders/" + CRM + "UpsertMultiple"
    sb.dsettings(bulkBindByKey="refuse")
    st, err, _ = sb.api("POST", path, {"Targets": [c.order("sb1", bind_key=True)]})
    f.eq(st, 400, "bulkBindByKey=refuse: bind by key in Targets refused")
    f.eq(sb.api("POST", path, {"Targets": [c.order("sb1")]})[0], 204,
         "bulkBindByKey=refuse: bind by GUID works")
    sb.dsettings(bulkBindByKey="accept")
    f.eq(sb.api("POST", path, {"Targets": [c.order("sb2", bind_key=True)]})[0], 204,
         "bulkBindByKey=accept: bind by key in Targets")


def check_line_key(c):
    sb = c.sb
    name = "mlc_netsuitelinekey_key"
    line = {"isproductoverridden": True, "productdescription": "w", "quantity": 1,
            "priceperunit": 1.0, "ispriceoverridden": True}
    sb.api("POST", "salesorders/" + CRM + "UpsertMultiple", {"Targets": [c.order("lk1")]})
    line["salesorderid@odata.bind"] = "/salesorders(mlc_netsuitesalesorderid='lk1')"
    f.eq(key_status(sb, "salesorderdetail", name), "Active", "lineKey=supported: key Active")
    sb.dsettings(lineKey="unsupported", keyBuildMs=100)
    f.eq(key_status(sb, "salesorderdetail", name), "Failed", "lineKey=unsupported: key Failed")
    st, err, _ = sb.api("PATCH", "salesorderdetails(mlc_netsuitelinekey='LK1')", line)
    f.check(st == 400 and code(err) == "0x80060891", "lineKey=unsupported: no upsert by the key")
    f.eq(key_status(sb, "account", "mlc_netsuitecustomerid_key"), "Active",
         "lineKey=unsupported: other tables' keys unaffected")
    sb.dsettings(lineKey="supported")
    f.eq(wait_key(sb, "salesorderdetail", name, "Active"), "Active",
         "lineKey=supported: the key builds again")
    f.eq(sb.api("PATCH", "salesorderdetails(mlc_netsuitelinekey='LK1')", line)[0], 204,
         "lineKey=supported: upsert by the key")
    sb.dsettings(keyBuildMs=2000)


def bulk_support(c, switch, message, call, target, steps):
    """Sets switch to each (tables, filters reported for account, status of call) in steps."""
    path = "accounts/" + CRM + call
    for tables, reported, status, what in steps:
        c.sb.dsettings(**{switch: tables})
        f.eq((filters(c.sb, message, "account"), c.sb.api("POST", path, {"Targets": [target]})[0]),
             (reported, status), "%s %s" % (switch, what))


def check_create_multiple(c):
    bulk_support(c, "createMultipleTables", "CreateMultiple", "CreateMultiple",
                 {"@odata.type": CRM + "account", "name": "cm"},
                 [("salesorder,salesorderdetail", 0, 400, "without account: not reported, refused"),
                  ("salesorder,salesorderdetail,account,contact", 1, 200,
                   "default: reported, works")])


def check_update_multiple(c):
    bulk_support(c, "updateMultipleTables", "UpdateMultiple", "UpsertMultiple",
                 {"@odata.type": CRM + "account", "name": "um",
                  "@odata.id": "accounts(mlc_netsuitecustomerid='UM1')"},
                 [("salesorder,salesorderdetail,account", 1, 204,
                   "with account: reported, UpsertMultiple works"),
                  ("salesorder,salesorderdetail", 0, 400,
                   "default: UpsertMultiple on account refused")])


def together(n, fn):
    """Runs fn() in n threads released together; their results."""
    out = []
    gate = threading.Barrier(n)

    def run():
        try:
            gate.wait(5)
        except threading.BrokenBarrierError:
            pass
        out.append(fn())

    th = [threading.Thread(target=run) for _ in range(n)]
    [t.start() for t in th]
    [t.join() for t in th]
    return out


def race(sb, key, n=4):
    """n concurrent upserts of one new key: (status, error code) of each."""
    def create():
        st, body, _ = sb.api("PATCH", "accounts(mlc_netsuitecustomerid='%s')" % key, {"name": "r"})
        return st, code(body)
    return together(n, create)


def check_upsert_race(c):
    sb = c.sb
    sb.dv_token()
    sb.dsettings(upsertRaceMs=1500)
    got = race(sb, "RACE1")
    f.check((412, "0x80040237") in got, "upsertRaceMs=1500: a concurrent create fails %r" % got)
    sb.dsettings(upsertRaceMs=-1)
    got = race(sb, "RACE2")
    f.eq(sorted(got), [(204, None)] * 4, "upsertRaceMs=-1: serialised, every call succeeds")
    f.eq(len([r for r in sb.rows("accounts") if r.get("mlc_netsuitecustomerid") == "RACE2"]), 1,
         "upsertRaceMs=-1: one row")
    sb.dsettings(upsertRaceMs=0)


def throttled_after(sb, n):
    """Calls WhoAmI up to n times; (statuses, error code, Retry-After) of the first 429."""
    sts = []
    for _ in range(n):
        st, body, r = sb.api("GET", "WhoAmI")
        sts.append(st)
        if st == 429:
            return sts, code(body), int(r.getheader("Retry-After"))
    return sts, None, None


def check_rate_requests(c):
    sb = c.sb
    sb.dv_token()
    c.unthrottle()
    sb.dsettings(rateRequests=3)
    sts, cd, _ = throttled_after(sb, 5)
    f.eq((sts, cd), ([200, 200, 200, 429], "0x80072322"), "rateRequests=3: the 4th call 429")
    sb.dsettings(rateRequests=6000)
    c.unthrottle()
    f.eq(throttled_after(sb, 5)[0], [200] * 5, "rateRequests=6000: no 429")


def check_rate_window(c):
    sb = c.sb
    c.unthrottle()
    sb.dsettings(rateRequests=2)
    ra_default = throttled_after(sb, 4)[2]
    f.check(ra_default is not None and ra_default > 100, "rateWindowS=300: Retry-After %r" %
            ra_default)
    c.unthrottle()
    sb.dsettings(rateWindowS=2)
    ra = throttled_after(sb, 4)[2]
    f.check(ra is not None and ra <= 2, "rateWindowS=2: Retry-After %r" % ra)
    time.sleep(2.5)
    f.eq(sb.api("GET", "WhoAmI")[0], 200, "rateWindowS=2: the window slides")
    sb.dsettings(rateRequests=6000, rateWindowS=300)
    c.unthrottle()


def check_rate_execution(c):
    sb = c.sb
    c.unthrottle()
    sb.dsettings(rateExecutionMs=100, latencyMs=150)
    sts, cd, _ = throttled_after(sb, 3)
    f.eq((sts, cd), ([200, 429], "0x80072321"), "rateExecutionMs=100: then 429 0x80072321")
    sb.dsettings(rateExecutionMs=1200000, latencyMs=0)
    c.unthrottle()
    f.eq(throttled_after(sb, 3)[0], [200] * 3, "rateExecutionMs default: no 429")


def concurrent(sb, n=6):
    """n concurrent WhoAmI calls: (status, error code or None) of each."""
    def call():
        st, body, _ = sb.api("GET", "WhoAmI")
        return st, code(body) if st != 200 else None
    return together(n, call)


def check_rate_concurrency(c):
    sb = c.sb
    c.unthrottle()
    sb.dsettings(rateConcurrency=1, latencyMs=600)
    got = concurrent(sb)
    f.check((429, "0x80072326") in got, "rateConcurrency=1: 429 0x80072326 %r" % got)
    sb.dsettings(rateConcurrency=52)
    c.unthrottle()
    got = concurrent(sb)
    f.eq([s for s, _ in got], [200] * 6, "rateConcurrency=52: all answered")
    sb.dsettings(latencyMs=0)


def timed_call(sb):
    """(status, seconds, response); status "dropped" when the connection closed unanswered."""
    t0 = time.time()
    try:
        st, body, r = sb.api("GET", "WhoAmI")
    except (http.client.HTTPException, ConnectionError):
        st, r = "dropped", None
    return st, time.time() - t0, r


def check_latency(c):
    sb = c.sb
    sb.dsettings(latencyMs=400)
    st, dt, _ = timed_call(sb)
    f.check(st == 200 and dt >= 0.4, "latencyMs=400: %.2fs" % dt)
    sb.dsettings(latencyMs=0)
    st, dt, _ = timed_call(sb)
    f.check(st == 200 and dt < 0.4, "latencyMs=0: %.2fs" % dt)


def check_rate_429(c):
    sb = c.sb
    sb.dsettings(rate429=1.0)
    st, _, r = timed_call(sb)
    f.check(st == 429 and r.getheader("Retry-After"), "rate429=1: 429 with Retry-After")
    sb.dsettings(rate429=0)
    c.unthrottle()
    f.eq(timed_call(sb)[0], 200, "rate429=0: 200")


def check_rate_5xx(c):
    sb = c.sb
    sb.dsettings(rate5xx=1.0)
    f.check(timed_call(sb)[0] in (500, 503), "rate5xx=1: 5xx")
    sb.dsettings(rate5xx=0)
    f.eq(timed_call(sb)[0], 200, "rate5xx=0: 200")


def check_rate_drop(c):
    sb = c.sb
    sb.dsettings(rateDrop=1.0, dropHoldMs=100)
    f.eq(timed_call(sb)[0], "dropped", "rateDrop=1: the connection closes without an answer")
    sb.dsettings(rateDrop=0, dropHoldMs=130000)
    f.eq(timed_call(sb)[0], 200, "rateDrop=0: 200")


def check_drop_hold(c):
    sb = c.sb
    holds = []
    for ms in (100, 1200):
        sb.dsettings(rateDrop=1.0, dropHoldMs=ms)
        holds.append(timed_call(sb)[1])
    sb.dsettings(rateDrop=0, dropHoldMs=130000)
    f.check(holds[0] < 1.0 <= holds[1], "dropHoldMs: held %.2fs then %.2fs" % tuple(holds))


def check_key_build(c):
    sb = c.sb

    def new_key(ms):
        col = "mlc_kb%s" % uuid.uuid4().hex[:6]
        sb.api("POST", "EntityDefinitions(LogicalName='contact')/Attributes", {
            "@odata.type": CRM + "StringAttributeMetadata", "SchemaName": col, "MaxLength": 50})
        sb.dsettings(keyBuildMs=ms)
        st, _, _ = sb.api("POST", "EntityDefinitions(LogicalName='contact')/Keys",
                          {"SchemaName": col + "_key", "KeyAttributes": [col]})
        time.sleep(0.8)
        return key_status(sb, "contact", col + "_key")

    f.eq(new_key(100), "Active", "keyBuildMs=100: Active within 0.8 s")
    f.eq(new_key(2000), "Pending", "keyBuildMs=2000: still Pending after 0.8 s")


def check_max_page_size(c):
    sb = c.sb
    sb.dsettings(maxPageSize=2)
    st, page, _ = sb.api("GET", "accounts?$select=name")
    f.check(len(page["value"]) == 2 and "@odata.nextLink" in page, "maxPageSize=2: pages of 2")
    sb.dsettings(maxPageSize=5000)
    st, page, _ = sb.api("GET", "accounts?$select=name")
    f.check(len(page["value"]) > 2 and "@odata.nextLink" not in page, "maxPageSize=5000: one page")


def check_read_only_code(c):
    sb = c.sb
    sb.api("POST", "salesorders/" + CRM + "UpsertMultiple", {"Targets": [c.order("ro1")]})
    path = "salesorders(mlc_netsuitesalesorderid='ro1')"
    f.eq(sb.api("PATCH", path, {"statecode": 1, "statuscode": 3}, {"If-Match": "*"})[0], 204,
         "order submitted")
    sb.dsettings(readOnlyCode="0x80040203")
    st, err, _ = sb.api("PATCH", path, {"name": "x"}, {"If-Match": "*"})
    f.eq((st, code(err)), (400, "0x80040203"), "readOnlyCode=0x80040203")
    sb.dsettings(readOnlyCode="0x80043e09")
    st, err, _ = sb.api("PATCH", path, {"name": "x"}, {"If-Match": "*"})
    f.eq((st, code(err)), (400, "0x80043e09"), "readOnlyCode default")


def crm_edit_reaches(c, rx):
    """A CRM edit of the test's account; the webhooks for it that reach rx within 5 s."""
    n0 = len(rx.posts)
    c.sb.dadmin("PATCH", "rows/accounts/" + c.acc, {"telephone1": uuid.uuid4().hex[:10]})
    end = time.time() + 5
    while time.time() < end:
        hits = [p for p in rx.posts[n0:] if json.loads(p["body"]).get("PrimaryEntityId") == c.acc]
        if hits:
            return hits
        time.sleep(0.05)
    return []


def check_webhook_url(c):
    sb, rx = c.sb, Receiver()
    try:
        sb.dsettings(webhookUrl=rx.url)
        st, eps, _ = sb.api("GET", "serviceendpoints?$select=url")
        f.eq([e["url"] for e in eps["value"]], [rx.url], "webhookUrl: the endpoint's url")
        f.check(crm_edit_reaches(c, rx), "webhookUrl: a CRM edit arrives there")
        sb.dsettings(webhookUrl=c.rx.url)
        f.check(not crm_edit_reaches(c, rx), "webhookUrl changed back: no longer there")
        f.check(crm_edit_reaches(c, c.rx), "webhookUrl changed back: at the first receiver")
    finally:
        rx.close()


def check_webhook_max_bytes(c):
    sb, rx = c.sb, c.rx
    sb.dsettings(webhookMaxBytes=1024)
    hits = crm_edit_reaches(c, rx)
    f.check(hits and hits[0]["headers"].get("x-ms-dynamics-msg-size-exceeded"),
            "webhookMaxBytes=1024: the context is stripped")
    sb.dsettings(webhookMaxBytes=262144)
    hits = crm_edit_reaches(c, rx)
    f.check(hits and "x-ms-dynamics-msg-size-exceeded" not in hits[0]["headers"],
            "webhookMaxBytes default: whole context")


def check_webhook_timeout(c):
    sb, slow = c.sb, Receiver(delay=1.0)
    try:
        sb.dsettings(webhookUrl=slow.url, webhookTimeoutMs=300)
        before = sb.dadmin("GET", "stats")[1]["webhooks"]["failed"]
        crm_edit_reaches(c, slow)
        time.sleep(1.5)
        after = sb.dadmin("GET", "stats")[1]["webhooks"]["failed"]
        f.eq(after - before, 1, "webhookTimeoutMs=300: a 1 s receiver fails")
        sb.dsettings(webhookTimeoutMs=60000)
        crm_edit_reaches(c, slow)
        time.sleep(1.5)
        f.eq(sb.dadmin("GET", "stats")[1]["webhooks"]["failed"], after,
             "webhookTimeoutMs=60000: the 1 s receiver succeeds")
    finally:
        sb.dsettings(webhookUrl=c.rx.url)
        slow.close()


def check_webhook_request_id(c):
    sb, rx = c.sb, c.rx
    sb.dsettings(webhookRequestId="set")
    hits = crm_edit_reaches(c, rx)
    rid = json.loads(hits[0]["body"])["RequestId"] if hits else None
    f.check(isinstance(rid, str) and len(rid) == 36, "webhookRequestId=set: a GUID %r" % rid)
    sb.dsettings(webhookRequestId="null")
    hits = crm_edit_reaches(c, rx)
    f.check(hits and json.loads(hits[0]["body"])["RequestId"] is None,
            "webhookRequestId=null: null as the sample")


CHECKS = {
    "tokenLifetimeS": check_token_lifetime,
    "changesetUpsert": check_changeset_upsert,
    "changesetRefUpsert": check_changeset_ref_upsert,
    "bulkBindByKey": check_bulk_bind_by_key,
    "lineKey": check_line_key,
    "createMultipleTables": check_create_multiple,
    "updateMultipleTables": check_update_multiple,
    "upsertRaceMs": check_upsert_race,
    "rateRequests": check_rate_requests,
    "rateWindowS": check_rate_window,
    "rateExecutionMs": check_rate_execution,
    "rateConcurrency": check_rate_concurrency,
    "latencyMs": check_latency,
    "rate429": check_rate_429,
    "rate5xx": check_rate_5xx,
    "rateDrop": check_rate_drop,
    "dropHoldMs": check_drop_hold,
    "keyBuildMs": check_key_build,
    "maxPageSize": check_max_page_size,
    "readOnlyCode": check_read_only_code,
    "webhookUrl": check_webhook_url,
    "webhookMaxBytes": check_webhook_max_bytes,
    "webhookTimeoutMs": check_webhook_timeout,
    "webhookRequestId": check_webhook_request_id,
}

# every switch on the command line at once: flag, value given, value reported
COMMAND_LINE = {
    "tokenLifetimeS": ("--entra-token-lifetime-s", "600", 600),
    "changesetUpsert": ("--changeset-upsert", "refuse", "refuse"),
    "changesetRefUpsert": ("--changeset-ref-upsert", "refuse", "refuse"),
    "bulkBindByKey": ("--bulk-bind-by-key", "refuse", "refuse"),
    "lineKey": ("--line-key", "unsupported", "unsupported"),
    "createMultipleTables": ("--create-multiple-tables", "salesorder", "salesorder"),
    "updateMultipleTables": ("--update-multiple-tables", "salesorder,account",
                             "salesorder,account"),
    "upsertRaceMs": ("--upsert-race-ms", "5", 5),
    "rateRequests": ("--rate-requests", "100", 100),
    "rateWindowS": ("--rate-window-s", "60", 60),
    "rateExecutionMs": ("--rate-execution-ms", "90000", 90000),
    "rateConcurrency": ("--rate-concurrency", "7", 7),
    "latencyMs": ("--dv-fault-latency-ms", "1", 1),
    "rate429": ("--dv-fault-429-rate", "0.01", 0.01),
    "rate5xx": ("--dv-fault-5xx-rate", "0.02", 0.02),
    "rateDrop": ("--dv-fault-drop-rate", "0.03", 0.03),
    "dropHoldMs": ("--dv-fault-drop-hold-ms", "1500", 1500),
    "keyBuildMs": ("--key-build-ms", "50", 50),
    "maxPageSize": ("--max-page-size", "10", 10),
    "readOnlyCode": ("--read-only-code", "0x80040203", "0x80040203"),
    "webhookUrl": ("--dataverse-webhook-url", "http://127.0.0.1:9/hook", "http://127.0.0.1:9/hook"),
    "webhookMaxBytes": ("--webhook-max-bytes", "2048", 2048),
    "webhookTimeoutMs": ("--webhook-timeout-ms", "1000", 1000),
    "webhookRequestId": ("--webhook-request-id", "set", "set"),
}

rx = Receiver()
with DvSandbox("--dataverse-webhook-url", rx.url) as sb:
    st, defaults = sb.dadmin("GET", "settings")
    f.eq(sorted(defaults), sorted(CHECKS), "every switch the sandbox has is checked here")
    f.eq(sorted(COMMAND_LINE), sorted(CHECKS), "every switch is given on the command line below")
    c = Ctx(sb, rx)
    for name in sorted(CHECKS):
        try:
            CHECKS[name](c)
        except Exception as e:  # a check that raises fails, and the others still run
            f.check(False, "%s: %s: %s" % (name, type(e).__name__, e))
        c.unthrottle()
    st, after = sb.dadmin("GET", "settings")
    for k, v in defaults.items():
        f.eq(after.get(k), v, "%s back to its value" % k)
rx.close()

args = [x for flag, given, _ in COMMAND_LINE.values() for x in (flag, given)]
with DvSandbox(*args) as sb:
    st, got = sb.dadmin("GET", "settings")
    for name, (flag, given, want) in COMMAND_LINE.items():
        f.eq(got.get(name), want, "%s %s reported as %r" % (flag, given, want))
    sb.dsettings(rate429=0, rate5xx=0, rateDrop=0)  # no random faults in what follows
    f.eq(key_status(sb, "salesorderdetail", "mlc_netsuitelinekey_key"), "Failed",
         "--line-key unsupported: the provisioned line key is Failed from the start")
    f.eq(sb.entra_post(sb.secret_fields())[1]["expires_in"], 600, "--entra-token-lifetime-s 600")
f.done()
