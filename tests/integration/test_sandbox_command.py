#!/usr/bin/env python3
"""`ml-connector sandbox` as a command, its data set, the inspection API and bad requests.

Usage errors exit 2 and --help exits 0; --plain-http; the TLS certificate chains to the CA it
wrote, for 127.0.0.1 and localhost; the same --seed gives the same data and another seed other
data; --db keeps the data across restarts; the credentials folder is reused (same IDs, CA and
key); what it prints is sandbox.env. The data set has every kind of record the issue lists, in
tables named and shaped like NetSuite's. The record API serves sublists on their own; the admin
API reports counts, rows and statistics. Bad requests anywhere under the NetSuite host get
NetSuite's error shape, never the connector's problem+json, and never a crash.
"""
import hashlib
import json
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_sandbox_lib import Failures, Sandbox, binary, sample  # noqa: E402

f = Failures()
scratch = tempfile.mkdtemp(prefix="mlc-sbx-cmd-")


def run(*args, timeout=30):
    return subprocess.run([binary(), "sandbox", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=scratch)


def detail(data):
    try:
        return data["o:errorDetails"][0]
    except (TypeError, KeyError, IndexError):
        return {}


def netsuite_error(data, status, what):
    """The error shape of NetSuite's REST API (reference/netsuite.md, samples/netsuite-error-*)."""
    ok = (isinstance(data, dict) and set(data) == {"type", "title", "status", "o:errorDetails"} and
          data["status"] == status and isinstance(data["o:errorDetails"], list) and
          len(data["o:errorDetails"]) == 1 and
          isinstance(detail(data).get("detail"), str) and
          isinstance(detail(data).get("o:errorCode"), str) and
          set(detail(data)) <= {"detail", "o:errorCode", "o:errorQueryParam", "o:errorPath"})
    return f.check(ok, "%s: NetSuite's error shape with status %d: %r" % (what, status, data))


# ---- usage ----
r = run("--help")
f.eq(r.returncode, 0, "--help exits 0")
for opt in ("--netsuite-port", "--dataverse-port", "--seed", "--customers", "--orders", "--items",
            "--db", "--credentials-dir", "--plain-http", "--netsuite-public-key", "--timezone"):
    f.check(opt in r.stdout, "--help names " + opt)
for args, what in ((["--customers", "10"], "no --netsuite-port"),
                   (["--netsuite-port", "0", "--bogus", "1"], "an unknown option"),
                   (["--netsuite-port", "70000"], "a port out of range"),
                   (["--netsuite-port", "0", "--customers", "-1"], "negative customers"),
                   (["--netsuite-port", "0", "--timezone", "Mars/Olympus"], "an unknown zone"),
                   (["--netsuite-port", "0", "--account-id", "12/34"], "a bad account ID"),
                   (["--netsuite-port", "0", "--netsuite-certificate-id", "x"],
                    "a certificate ID without a key"),
                   (["--netsuite-port", "0", "--netsuite-public-key", "/nonexistent.pem",
                     "--credentials-dir", os.path.join(scratch, "c0")], "a missing key file"),
                   (["--netsuite-port"], "a flag without its value")):
    r = run(*args)
    f.eq(r.returncode, 2, "usage error exits 2: " + what)
    f.check(r.stderr.startswith("ml-connector sandbox: "), "one explaining line: " + r.stderr[:100])
    f.check(not os.path.exists(os.path.join(scratch, "sandbox-credentials")) or
            what == "a missing key file", "nothing written on a usage error: " + what)

# ---- --plain-http ----
with Sandbox("--plain-http", customers=5, orders=2, items=3) as sb:
    f.check(sb.base.startswith("http://127.0.0.1:"), "--plain-http: an http:// base URL")
    f.check("MLC_TLS_CA_FILE" not in sb.settings, "--plain-http: no CA to trust")
    st, data, _, _ = sb.request("GET", "/services/rest/system/v1/serverTime")
    f.eq((st, data), (401, sample("netsuite-error-401.json")), "--plain-http serves NetSuite")
    f.eq(sb.post_token(sb.assertion())[0], 200, "--plain-http token")

# ---- TLS, the credentials folder and its reuse, the seed, --db ----
creds_dir = os.path.join(scratch, "creds")
db = os.path.join(scratch, "ns.db")


def fingerprint(sb):
    """A hash of the whole data set, through the inspection API."""
    h = hashlib.sha256()
    for table, order in (("customer", "id"), ("contact", "id"), ("entityaddress", "nkey"),
                         ("\"transaction\"", "id"), ("transactionline", "uniquekey"),
                         ("item", "id"), ("DeletedRecord", "recordid")):
        st, data = sb.admin("POST", "sql", {"sql": "SELECT * FROM %s ORDER BY %s" % (table, order)})
        f.eq(st, 200, "read " + table)
        h.update(json.dumps(data["rows"], sort_keys=True).encode())
    return h.hexdigest()


with Sandbox("--seed", "42", "--db", db, customers=40, orders=30, items=10, creds=creds_dir) as sb:
    # The certificate chains to the CA in the folder, for both loopback names.
    for name in ("127.0.0.1", "localhost"):
        ctx = ssl.create_default_context(cafile=sb.ca)
        with socket.create_connection(("127.0.0.1", sb.hport), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as tls:
                f.check(tls.version() in ("TLSv1.2", "TLSv1.3"), "TLS with " + name)
    ctx = ssl.create_default_context()  # the system bundle does not know the sandbox's CA
    try:
        with socket.create_connection(("127.0.0.1", sb.hport), timeout=10) as raw:
            ctx.wrap_socket(raw, server_hostname="127.0.0.1").close()
        f.check(False, "the sandbox's certificate is not trusted without its CA")
    except ssl.SSLError:
        pass
    f.eq(sb.settings["MLC_TLS_CA_FILE"], os.path.join(sb.creds, "ca.pem"), "MLC_TLS_CA_FILE")
    # What it printed is what it wrote.
    with open(os.path.join(sb.creds, "sandbox.env")) as fh:
        env_text = fh.read()
    out = b""
    end = time.time() + 10
    while len(out) < len(env_text.encode()) and time.time() < end:
        out += sb.proc.stdout.read1(65536)
    f.eq(out.decode(), env_text, "stdout is sandbox.env")
    for k in sb.settings:
        f.check(re.fullmatch(r"MLC_[A-Z0-9_]+", k) is not None, "setting name " + k)
    f.eq(sb.settings["MLC_NETSUITE_AUTH"], "m2m", "M2M by default")
    f.eq(sb.settings["MLC_NETSUITE_ACCOUNT_ID"], "1234567_SB1", "account ID")
    for k in ("MLC_NETSUITE_PRIVATE_KEY_FILE", "MLC_NETSUITE_CERTIFICATE_FILE"):
        f.check(os.path.exists(sb.settings[k]), k + " names a file")
    f.eq(sb.cred["clientId"], sb.settings["MLC_NETSUITE_CLIENT_ID"], "netsuite.json clientId")
    f.eq(sb.cred["webhookSecret"], sb.settings["MLC_NETSUITE_WEBHOOK_SECRETS"], "webhook secret")
    for name, mode in (("ca-key.pem", 0o600), ("tls-key.pem", 0o600), ("netsuite.json", 0o600),
                       ("sandbox.env", 0o600), ("ca.pem", 0o644)):
        f.eq(os.stat(os.path.join(sb.creds, name)).st_mode & 0o777, mode, name + " mode")
    first = dict(sb.cred)
    with open(sb.ca) as fh:
        first_ca = fh.read()
    with open(sb.key) as fh:
        first_key = fh.read()
    fp42 = fingerprint(sb)
    tok = sb.token()
    cust = sb.suiteql("SELECT id FROM customer ORDER BY id", tok, 1)[1]["items"][0]["id"]
    st, _ = sb.admin("PATCH", "customers/%s" % cust, {"fields": {"email": "kept@example.com"},
                                                     "emit": False})
    f.eq(st, 200, "a change before the restart")

# a second start on the same folder and database: same credentials, same data, the change kept
with Sandbox("--seed", "42", "--db", db, customers=99, orders=1, items=1, creds=creds_dir) as sb:
    for k in ("clientId", "certificateId", "consumerKey", "consumerSecret", "tokenId",
              "tokenSecret", "webhookSecret"):
        f.eq(sb.cred[k], first[k], "reused on restart: " + k)
    f.eq(sb.cred["baseUrl"], sb.base, "the new base URL")
    with open(sb.ca) as fh:
        f.eq(fh.read(), first_ca, "the CA is reused (a connector keeps trusting it)")
    with open(sb.key) as fh:
        f.eq(fh.read(), first_key, "the M2M key is reused")
    f.check(fingerprint(sb) != fp42, "the change is in the reused database")
    tok = sb.token()
    st, page = sb.suiteql("SELECT email FROM customer WHERE id = %s" % cust, tok)
    f.eq(page["items"][0].get("email"), "kept@example.com", "--db keeps changes across restarts")
    st, counts = sb.admin("GET", "counts")
    f.check(counts["customer"] < 60, "--db reuses the data (--customers 99 ignored): %r" % counts)

with Sandbox("--seed", "42", customers=40, orders=30, items=10) as sb:
    f.eq(fingerprint(sb), fp42, "the same seed gives the same data")
with Sandbox("--seed", "43", customers=40, orders=30, items=10) as sb:
    f.check(fingerprint(sb) != fp42, "another seed gives other data")

# ---- the data set (issue 3, build item 2) and NetSuite's tables ----
with Sandbox("--large-orders", "1", customers=600, orders=400, items=40) as sb:
    tok = sb.token()

    def q(sql, limit=1000):
        st, page = sb.suiteql(sql, tok, limit)
        f.eq(st, 200, sql[:80])
        return page.get("items", []) if isinstance(page, dict) else []

    def one(sql):
        items = q(sql)
        return items[0] if items else {}

    def n(sql):
        return int(one(sql).get("n", "0"))

    # tables named and shaped like NetSuite's
    for table, cols in (
            ("customer", "id, entityid, companyname, email, phone, creditlimit, category,"
                         " entitystatus, subsidiary, terms, isinactive, externalid, datecreated,"
                         " lastmodifieddate, defaultbillingaddress, defaultshippingaddress, parent,"
                         " isperson, salesrep, currency"),
            ("entityaddress", "nkey, addr1, addr2, addr3, city, state, zip, country, addressee,"
                              " attention"),
            ("contact", "id, entityid, firstname, lastname, email, phone, title, company,"
                        " contactrole, lastmodifieddate"),
            ("customercategory", "id, name"), ("entitystatus", "key, name"),
            ("subsidiary", "id, name"), ("currency", "id, name, symbol, displaysymbol"),
            ("employee", "id, entityid, email"), ("item", "id, itemid, displayname, itemtype, isinactive"),
            ("transaction", "id, tranid, trandate, entity, status, currency, foreigntotal, memo,"
                            " externalid, lastmodifieddate, type"),
            ("transactionline", "id, uniquekey, transaction, linesequencenumber, item, quantity,"
                                " rate, netamount, memo, isclosed, mainline, taxline,"
                                " linelastmodifieddate, linecreateddate"),
            ("DeletedRecord", "recordid, type, name, deleteddate, deletedby, context")):
        st, page = sb.suiteql("SELECT %s FROM %s" % (cols, table), tok, 1)
        f.eq(st, 200, "table %s with its columns" % table)

    f.check(n("SELECT count(*) AS n FROM customer WHERE isperson = 'F' AND parent IS NULL AND"
              " searchstage = 'Customer'") > 100, "companies")
    f.check(n("SELECT count(*) AS n FROM customer WHERE isperson = 'T'") > 30, "individuals")
    f.check(n("SELECT count(*) AS n FROM customer c JOIN entitystatus es ON es.key = c.entitystatus"
              " WHERE es.entitytype = 'LEAD'") > 10, "leads")
    f.check(n("SELECT count(*) AS n FROM customer c JOIN entitystatus es ON es.key = c.entitystatus"
              " WHERE es.entitytype = 'PROSPECT'") > 10, "prospects")
    f.check(n("SELECT count(*) AS n FROM customer c JOIN customer p ON p.id = c.parent") > 10,
            "sub-customers with their parents")
    f.check(n("SELECT count(*) AS n FROM customer WHERE isinactive = 'T'") > 3, "inactive customers")
    countries = {r["country"] for r in q("SELECT DISTINCT country FROM entityaddress")}
    f.check(len(countries) >= 5 and all(re.fullmatch(r"[A-Z]{2}", c) for c in countries),
            "addresses with ISO-2 countries: %r" % countries)
    f.check(n("SELECT count(*) AS n FROM customer c JOIN entityaddress ea ON ea.nkey ="
              " c.defaultbillingaddress") > 300, "default billing addresses join entityaddress")
    f.check(n("SELECT count(*) AS n FROM contact WHERE contactrole = -10") > 100,
            "primary contacts (role -10)")
    f.check(n("SELECT count(*) AS n FROM (SELECT company FROM contact WHERE contactrole = -10"
              " GROUP BY company HAVING count(*) > 1)") >= 1,
            "some customers have two primary contacts (ties to break)")
    f.check(n("SELECT count(*) AS n FROM customercategory") >= 4, "categories")
    f.check({"LEAD", "PROSPECT", "CUSTOMER"} <= {r["entitytype"] for r in q(
        "SELECT DISTINCT entitytype FROM entitystatus")}, "entity statuses of every stage")
    f.check(n("SELECT count(DISTINCT subsidiary) AS n FROM customer") >= 3, "subsidiaries in use")
    f.check(n("SELECT count(*) AS n FROM customer c JOIN employee e ON e.id = c.salesrep WHERE"
              " e.email LIKE '%@%'") > 100, "sales reps are employees with e-mail")
    symbols = {r["symbol"] for r in q("SELECT DISTINCT cur.symbol FROM transaction t JOIN currency"
                                      " cur ON cur.id = t.currency")}
    f.check(len(symbols) >= 3 and all(re.fullmatch(r"[A-Z]{3}", s) for s in symbols),
            "several ISO 4217 currencies on orders: %r" % symbols)
    f.check(n("SELECT count(*) AS n FROM item WHERE itemtype = 'InvtPart' AND itemid IS NOT NULL")
            > 10, "items with SKUs")
    for table, col in (("customer", "custentity_region"), ("customer", "custentity_loyalty_tier"),
                       ("transaction", "custbody_channel"), ("transactionline", "custcol_gift_wrap")):
        f.check(n("SELECT count(*) AS n FROM %s WHERE %s IS NOT NULL" % (table, col)) > 0,
                "custom field %s.%s has values" % (table, col))
    f.eq(sorted(r["status"] for r in q("SELECT DISTINCT status FROM transaction WHERE type ="
                                       " 'SalesOrd'")), list("ABCDEFGH"), "orders in every status")
    sizes = [int(r["n"]) for r in q(
        "SELECT t.id, (SELECT count(*) FROM transactionline tl WHERE tl.transaction = t.id AND"
        " tl.mainline = 'F' AND tl.itemtype = 'InvtPart') AS n FROM transaction t ORDER BY t.id")]
    big = [s for s in sizes if s >= 1000]
    f.eq(len(big), 1, "--large-orders 1: one order with 1,000-5,000 lines")
    f.check(all(1000 <= s <= 5000 for s in big), "large order size %r" % big)
    small = [s for s in sizes if s < 1000]
    f.check(min(small) >= 1 and max(small) <= 20 and len(set(small)) > 10,
            "other orders have 1-20 lines")
    for kind, cond in (("discount", "tl.itemtype = 'Discount'"),
                       ("shipping", "tl.itemtype = 'ShipItem'"),
                       ("tax", "tl.taxline = 'T'")):
        f.check(n("SELECT count(*) AS n FROM transactionline tl WHERE %s" % cond) > 10,
                kind + " lines")
    f.check(n("SELECT count(*) AS n FROM transactionline WHERE mainline = 'F' AND quantity > 0 AND"
              " itemtype = 'InvtPart'") == 0, "sales-order line quantities carry the posting sign")
    # uniquekey is unique; the line id only within its transaction
    f.eq(n("SELECT count(*) - count(DISTINCT uniquekey) AS n FROM transactionline"), 0,
         "uniquekey is unique")
    f.check(n("SELECT count(*) - count(DISTINCT id) AS n FROM transactionline") > 0,
            "line ids repeat across transactions")
    # the order total is the sum of its lines
    bad = q("SELECT t.id FROM transaction t WHERE abs(t.foreigntotal + (SELECT sum(tl.netamount)"
            " FROM transactionline tl WHERE tl.transaction = t.id AND tl.mainline = 'F')) > 0.011")
    f.eq(bad, [], "order totals match their lines")
    f.check(n("SELECT count(*) AS n FROM DeletedRecord") > 0, "deletions before the start")

    # ---- record API: sublists on their own, external IDs, contacts ----
    auth = {"Authorization": "Bearer " + tok}
    big_id = one("SELECT t.id FROM transaction t WHERE (SELECT count(*) FROM transactionline tl"
                 " WHERE tl.transaction = t.id) > 1000")["id"]
    st, so, _, _ = sb.request("GET", "/services/rest/record/v1/salesOrder/%s?expandSubResources=true"
                              % big_id, headers=auth)
    lines = n("SELECT count(*) AS n FROM transactionline WHERE transaction = %s AND mainline = 'F'"
              " AND taxline = 'F'" % big_id)
    f.eq((st, so.get("item", {}).get("count")), (200, lines), "a large order, expanded")
    st, sub, _, _ = sb.request("GET", "/services/rest/record/v1/salesOrder/%s/item" % big_id,
                               headers=auth)
    f.eq((st, sub.get("count"), len(sub.get("items", []))), (200, lines, lines),
         "GET salesOrder/{id}/item")
    cust = one("SELECT id FROM customer WHERE defaultbillingaddress IS NOT NULL ORDER BY id")["id"]
    st, ab, _, _ = sb.request("GET", "/services/rest/record/v1/customer/%s/addressBook" % cust,
                              headers=auth)
    f.check(st == 200 and ab.get("count", 0) >= 1 and
            "addressBookAddress" in ab["items"][0], "GET customer/{id}/addressBook: %r" % st)
    st, rec, _, _ = sb.request("GET", "/services/rest/record/v1/customer/%s" % cust, headers=auth)
    f.check(ab.get("links", [{}])[0].get("href") == rec.get("addressBook", {}).get("links", [{}])[0]
            .get("href"), "the record's addressBook link is the sublist's URL")
    st, data, _, _ = sb.request("GET", "/services/rest/record/v1/customer/%s/nosuchlist" % cust,
                                headers=auth)
    netsuite_error(data, 404, "an unknown sublist")
    ext = one("SELECT id, externalid FROM customer WHERE externalid IS NOT NULL ORDER BY id")
    st, rec, _, _ = sb.request("GET", "/services/rest/record/v1/customer/eid:%s" % ext["externalid"],
                               headers=auth)
    f.eq((st, rec.get("id")), (200, ext["id"]), "customer by external ID (eid:)")
    kid = one("SELECT id, company FROM contact WHERE company IS NOT NULL ORDER BY id")
    st, rec, _, _ = sb.request("GET", "/services/rest/record/v1/contact/%s" % kid["id"], headers=auth)
    f.eq((st, rec.get("company", {}).get("id")), (200, kid["company"]), "GET contact")

    # ---- inspection ----
    st, counts = sb.admin("GET", "counts")
    f.eq(counts.get("customer"), n("SELECT count(*) AS n FROM customer"), "counts: customers")
    f.eq(counts.get("transactionline"), n("SELECT count(*) AS n FROM transactionline"),
         "counts: lines")
    st, rows = sb.admin("GET", "data/customer?id=%s" % cust)
    f.eq((st, [str(r["id"]) for r in rows["rows"]]), (200, [cust]), "data/customer?id=")
    st, rows = sb.admin("GET", "data/transactionline?id=%s" % big_id)
    f.eq(len(rows["rows"]), n("SELECT count(*) AS n FROM transactionline WHERE transaction = %s"
                              % big_id), "data/transactionline?id= gives an order's lines")
    st, rows = sb.admin("GET", "data/item?limit=3")
    f.eq(len(rows["rows"]), 3, "data/item?limit=3")
    f.eq(sb.admin("GET", "data/sqlite_master")[0], 404, "only NetSuite's tables")
    st, data = sb.admin("POST", "sql", {"sql": "DELETE FROM customer"})
    f.eq(st, 400, "the sql endpoint is read-only")
    f.eq(sb.admin("GET", "counts")[1]["customer"], counts["customer"], "nothing deleted")
    st, stats = sb.admin("GET", "stats")
    f.check(stats["calls"]["suiteql"] > 30 and stats["calls"]["record"] >= 6 and
            stats["outcomes"]["ok"] > 30 and stats["outcomes"]["notFound"] >= 1,
            "stats: calls and outcomes %r" % stats)
    st, stats = sb.admin("POST", "stats/reset")
    f.eq((stats["calls"]["suiteql"], stats["peakConcurrency"]), (0, 0), "stats/reset")
    st, cr = sb.admin("GET", "credentials")
    f.eq((cr["clientId"], cr["keys"][0]["certificateId"]), (sb.client_id, sb.kid),
         "credentials endpoint")
    f.eq(sb.request("GET", "/_sandbox/healthz")[0], 200, "healthz")

    # ---- bad requests: NetSuite's error shapes, never a crash ----
    for method, path, body, hdrs, status, what in (
            ("GET", "/services/rest/query/v1/suiteql", None, auth, 405, "GET on SuiteQL"),
            ("POST", "/services/rest/record/v1/customer/1", "{}", auth, 405, "POST on a record"),
            ("DELETE", "/services/rest/system/v1/serverTime", None, auth, 405, "DELETE serverTime"),
            ("GET", "/services/rest/auth/oauth2/v1/token", None, {}, 405, "GET on the token URL"),
            ("GET", "/services/rest/nosuch/v1/thing", None, auth, 404, "an unknown path"),
            ("GET", "/", None, {}, 404, "the root"),
            ("GET", "/services/rest/record/v1/nosuchtype/1", None, auth, 404, "an unknown record type"),
            ("GET", "/services/rest/record/v1/customer/abc", None, auth, 404, "a non-numeric id"),
            ("GET", "/services/rest/record/v1/customer/0", None, auth, 404, "id 0"),
            ("GET", "/services/rest/record/v1/customer/99999999999999999999", None, auth, 404,
             "a huge id"),
            ("POST", "/services/rest/query/v1/suiteql", "not json", dict(auth, **{
                "Prefer": "transient", "Content-Type": "application/json"}), 400, "a body that is not JSON"),
            ("POST", "/services/rest/query/v1/suiteql", '{"q": 5}', dict(auth, **{
                "Prefer": "transient", "Content-Type": "application/json"}), 400, "q not a string"),
            ("POST", "/services/rest/query/v1/suiteql", '["q"]', dict(auth, **{
                "Prefer": "transient", "Content-Type": "application/json"}), 400, "an array body"),
            ("POST", "/services/rest/query/v1/suiteql", '{"q": "SELECT id FROM customer"}', dict(auth, **{
                "Prefer": "transient", "Content-Type": "text/plain"}), 415, "text/plain"),
            ("POST", "/services/rest/query/v1/suiteql?limit=abc", '{"q": "SELECT id FROM item"}', dict(auth, **{
                "Prefer": "transient", "Content-Type": "application/json"}), 400, "limit=abc")):
        st, data, ctype, _ = sb.request(method, path, body, hdrs)
        f.eq(st, status, what)
        netsuite_error(data, status, what)
        f.check("problem+json" not in ctype, what + ": not the connector's problem+json")
    # the token endpoint keeps OAuth's shape
    for body in ("", "&&&", "grant_type=%zz", "a=b=c", "grant_type=client_credentials" * 100):
        st, data, _, _ = sb.request("POST", "/services/rest/auth/oauth2/v1/token", body,
                                    {"Content-Type": "application/x-www-form-urlencoded"})
        f.check(st == 400 and isinstance(data, dict) and set(data) == {"error"},
                "token endpoint, body %r: %r %r" % (body[:20], st, data))
    # random SuiteQL: 200 or NetSuite's 400, the sandbox stays up
    sb.settings_patch(queryTimeoutMs=2000)  # a random cross join may be huge
    rnd = random.Random(3)
    words = ["SELECT", "FROM", "WHERE", "customer", "transaction", "tl", "t.id", "(", ")", ",",
             "'x'", "1", "=", "AND", "OR", "NVL(", "TO_DATE(", "BUILTIN.DF(", "FETCH", "FIRST",
             "ROWS", "ONLY", "ORDER BY", "GROUP BY", "*", "id", "'", '"', "--", "/*", "é", "\\",
             "SYS_EXTRACT_UTC(", "lastmodifieddate", "JOIN", "ON", "||", "MINUS", "%", ";", "?"]
    for i in range(200):
        qtext = " ".join(rnd.choice(words) for _ in range(rnd.randint(1, 25)))
        if i % 3 == 0:
            qtext = "SELECT " + qtext
        st, data = sb.suiteql(qtext, tok, 5)
        if st != 200:
            ok = st == 400 and detail(data).get("o:errorCode") == "INVALID_PARAMETER"
            f.check(ok, "random query %r: %r %r" % (qtext, st, data))
            if not ok:
                break
    f.eq(sb.suiteql("SELECT count(*) AS n FROM customer", tok)[0], 200, "still serving")
    f.check(sb.proc.poll() is None, "the sandbox did not crash")

# ---- --admin-token ----
with Sandbox("--admin-token", "s3cret-admin", customers=5, orders=2, items=3) as sb:
    st, data, _, _ = sb.request("GET", "/_sandbox/netsuite/stats")
    f.eq(st, 401, "--admin-token: the admin API needs the token")
    st, data, _, _ = sb.request("GET", "/_sandbox/netsuite/stats",
                                headers={"Authorization": "Bearer s3cret-admin"})
    f.eq(st, 200, "--admin-token: with the token")

shutil.rmtree(scratch, ignore_errors=True)
f.done()
