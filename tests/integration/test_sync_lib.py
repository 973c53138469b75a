#!/usr/bin/env python3
"""Helpers for the sync engine's integration tests (imported by test_sync_*.py): the sandbox with
both halves, `ml-connector serve` (the shipped binary) configured from the settings it prints,
and expectations computed here from NetSuite's data (read with SQL through the sandbox's admin
API) and deploy/config/mapping.json, never from the connector's own output.

Run directly: the service refuses a broken mapping file at start with exit 2 and the JSON path.
"""
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import mlctest  # noqa: E402
from mlctest import check, check_eq, wait_until, Service, MLC_BIN, SOURCE_DIR  # noqa: E402
from test_netsuite_lib import sql  # noqa: E402

MAPPING_PATH = os.path.join(SOURCE_DIR, "deploy", "config", "mapping.json")

_SANDBOXES = {}


def mapping():
    with open(MAPPING_PATH) as f:
        return json.load(f)


def sandbox(**kw):
    """One sandbox (both halves) per test file and argument set."""
    from test_sandbox_dv_lib import DvSandbox
    key = tuple(sorted(kw.items()))
    if key not in _SANDBOXES:
        kw.setdefault("customers", 60)
        kw.setdefault("orders", 30)
        kw.setdefault("items", 24)
        _SANDBOXES[key] = DvSandbox(**kw)
        mlctest._cleanups.append(_SANDBOXES[key].close)
    return _SANDBOXES[key]


def service(name, sb, **env):
    """serve (the shipped binary) pointed at sandbox sb; its own webhook secret and key prefix."""
    e = dict(sb.settings)
    for k in ("MLC_NETSUITE_WEBHOOK_SECRETS", "MLC_DATAVERSE_WEBHOOK_KEYS"):
        e.pop(k, None)
    e.update({"MLC_POLL_INTERVAL_S": "86400", "MLC_LOG_LEVEL": "info",
              "MLC_QUEUE_RETRY_BASE_MS": "200"})
    e.update({k: str(v) for k, v in env.items()})
    return Service(name, binary=MLC_BIN, env=e)


def post_event(svc, rtype, rid, event_type="edit"):
    r = svc.post_ns(mlctest.ns_event(record_type=rtype, record_id=rid, event_type=event_type,
                                     account=svc.env["MLC_NETSUITE_ACCOUNT_ID"]))
    check_eq(r.status, 202, "webhook accepted (%s %s)" % (rtype, rid))


def state(svc, rtype, rid):
    v = svc.redis.cmd("HGETALL", svc.key("state:%s:%s" % (rtype, rid))) or []
    return dict(zip(v[::2], v[1::2]))


def audit(svc):
    """Every audit entry in the stream, oldest first."""
    out = []
    for _id, fields in svc.redis.cmd("XRANGE", svc.key("audit"), "-", "+") or []:
        f = dict(zip(fields[::2], fields[1::2]))
        e = json.loads(f["e"])
        e["_id"] = _id
        out.append(e)
    return out


def audit_of(svc, rtype, rid, action=None):
    return [e for e in audit(svc) if e["type"] == rtype and e["nsId"] == str(rid)
            and (action is None or e["action"] == action)]


def wait_audit(svc, rtype, rid, action, count=1, timeout=60):
    return wait_until(lambda: len(audit_of(svc, rtype, rid, action)) >= count,
                      "%d audit entr%s %s for %s %s" % (count, "y" if count == 1 else "ies", action,
                                                         rtype, rid), timeout=timeout)


def idle(svc, timeout=60):
    """Waits until both streams and the retry set are empty (every job has an outcome)."""
    def empty():
        n = 0
        for k in ("q:live", "q:bulk"):
            n += svc.redis.cmd("XLEN", svc.key(k)) or 0
        n += svc.redis.cmd("ZCARD", svc.key("q:retry")) or 0
        return n == 0
    wait_until(empty, "the queue drained", timeout=timeout)


def rows(sb, entity_set, key=None, value=None):
    r = sb.rows(entity_set)
    if key:
        r = [x for x in r if x.get(key) == value]
    return r


def dv_calls(sb):
    st, data = sb.dadmin("GET", "stats")
    assert st == 200, (st, data)
    return data["calls"]


# ---- expectations from NetSuite's data and the mapping --------------------------------------

def customers(sb, where="1=1"):
    return sql(sb, "SELECT c.*, es.entitytype AS x_stage, es.name AS x_status, cc.name AS "
                   "x_category, ea.addr1 AS x_addr1, ea.addr2 AS x_addr2, ea.city AS x_city, "
                   "ea.state AS x_state, ea.zip AS x_zip, ea.country AS x_country "
                   "FROM customer c LEFT JOIN entitystatus es ON es.key = c.entitystatus "
                   "LEFT JOIN customercategory cc ON cc.id = c.category "
                   "LEFT JOIN entityaddress ea ON ea.nkey = c.defaultbillingaddress "
                   "WHERE " + where + " ORDER BY c.id")


def cut(s, n):
    return s if s is None or len(s) <= n else s[:n]


def expected_account(c, m=None):
    """The columns the mapping says an account gets from customer row c (a dict from
    customers()); (columns, exception codes)."""
    m = m or mapping()
    cats = m["valueTables"]["customerCategory"]
    name = c["companyname"] or " ".join(x for x in (c["firstname"], c["lastname"]) if x) \
        or c["entityid"]
    exc = []
    vat = c.get("custentity_vat_number")
    if vat is not None and len(vat) > 20:
        exc.append("truncated")
    cat = None
    if c["x_category"] is not None:
        if c["x_category"] in cats:
            cat = cats[c["x_category"]]
        else:
            exc.append("unknown_value")
    inactive = c["isinactive"] == "T"
    want = {
        "name": cut(name, 160), "address1_line1": c["x_addr1"], "address1_line2": c["x_addr2"],
        "address1_city": c["x_city"], "address1_stateorprovince": c["x_state"],
        "address1_postalcode": c["x_zip"], "address1_country": c["x_country"],
        "telephone1": c["phone"], "emailaddress1": c["email"], "websiteurl": c["url"],
        "creditlimit": float(c["creditlimit"]) if c["creditlimit"] is not None else None,
        "customertypecode": cat, "accountnumber": cut(vat, 20),
        "statecode": 1 if inactive else 0, "statuscode": 2 if inactive else 1,
        "mlc_netsuitecustomerid": str(c["id"]),
    }
    if c.get("custentity_region") is not None:
        want["description"] = c["custentity_region"]  # create-owned: written on create
    return want, exc


def expected_owner(sb, c, m=None):
    """(owner kind, GUID, exception codes) the mapping gives a new account: the sales rep's user
    by e-mail, else the subsidiary's team. kind: "user", "team" or None."""
    m = m or mapping()
    codes = []
    if c["salesrep"] is not None:
        emp = sql(sb, "SELECT email FROM employee WHERE id = %d" % c["salesrep"])
        mail = emp[0]["email"] if emp else None
        if mail:
            users = [u for u in sb.rows("systemusers") if u.get("internalemailaddress") == mail]
            if users:
                return "user", users[0]["systemuserid"], codes
            codes.append("owner_user_not_found")
    sub = sql(sb, "SELECT name FROM subsidiary WHERE id = %d" % c["subsidiary"])[0]["name"]
    team = m["account"]["owner"]["teams"].get(sub)
    teams = [t for t in sb.rows("teams") if t.get("name") == team]
    if not teams:
        codes.append("owner_team_not_found")
        return None, None, codes
    return "team", teams[0]["teamid"], codes


def check_owner(sb, row, c, exc_codes, what):
    """The account's owner as mapped. A Dataverse that refuses a team as owner is accepted when
    the refusal is recorded as the owner_refused exception."""
    kind, guid, codes = expected_owner(sb, c)
    for code in codes:
        check(code in exc_codes, "%s: exception %s" % (what, code))
    if kind == "user":
        check_eq(row.get("_ownerid_value"), guid, "%s: owner is the sales rep's user" % what)
    elif kind == "team":
        check(row.get("_ownerid_value") == guid or "owner_refused" in exc_codes,
              "%s: owner is the subsidiary's team (or the refusal is recorded)" % what)
    return set(codes) | ({"owner_refused"} if "owner_refused" in exc_codes else set())


def synced_kind(c, m=None):
    m = m or mapping()
    prefixes = m["account"]["filter"]["excludePrefixes"]
    label = "%s-%s" % (c["x_stage"], c["x_status"])
    return not any(label.startswith(p) for p in prefixes)


def compare(row, want, what):
    for k, v in want.items():
        got = row.get(k)
        if isinstance(v, float) and isinstance(got, (int, float)):
            check(abs(got - v) < 0.005, "%s: %s = %r (want %r)" % (what, k, got, v))
        else:
            check_eq(got, v, "%s: %s" % (what, k))


def by_key(rs, key):
    out = {}
    for r in rs:
        if r.get(key) is not None:
            out.setdefault(r[key], []).append(r)
    return out


def check_end_state(sb):
    """The sandbox's dump after a full sync: one account per customer that should sync (fields
    as expected), none for the others, one contact per contact of a synced customer, one order
    per order of a synced customer with its state; no duplicate keys. Returns (synced customers,
    their contacts, orders)."""
    m = mapping()
    cs = customers(sb)
    accounts = by_key(sb.rows("accounts"), "mlc_netsuitecustomerid")
    synced = [c for c in cs if synced_kind(c, m)]
    for c in cs:
        got = accounts.get(str(c["id"]), [])
        if not synced_kind(c, m):
            check_eq(len(got), 0, "customer %d (lead/prospect): no account" % c["id"])
            continue
        check_eq(len(got), 1, "customer %d: exactly one account" % c["id"])
        compare(got[0], expected_account(c, m)[0], "account %d" % c["id"])
    check_eq(sum(len(v) for v in accounts.values()), len(synced), "no other keyed account")
    ks = sql(sb, "SELECT k.id, k.company FROM contact k ORDER BY k.id")
    synced_ids = {c["id"] for c in synced}
    contacts = by_key(sb.rows("contacts"), "mlc_netsuitecontactid")
    want_k = [k for k in ks if k["company"] in synced_ids]
    for k in want_k:
        check_eq(len(contacts.get(str(k["id"]), [])), 1, "contact %d: exactly one row" % k["id"])
    orders = sql(sb, "SELECT id, entity, status FROM \"transaction\" WHERE type = 'SalesOrd'")
    so = by_key(sb.rows("salesorders"), "mlc_netsuitesalesorderid")
    statuses = m["salesorder"]["statuses"]
    for o in orders:
        got = so.get(str(o["id"]), [])
        if o["entity"] not in synced_ids:
            check_eq(len(got), 0, "order %d of a filtered customer: no row" % o["id"])
            continue
        check_eq(len(got), 1, "order %d: exactly one row" % o["id"])
        st = statuses[o["status"]]
        want = (0 if "close" not in st else 2 if st["close"] == "cancel" else 3)
        check_eq(got[0]["statecode"], want, "order %d: statecode" % o["id"])
    st, dups = sb.dadmin("GET", "duplicates/accounts")
    check_eq(st, 200, "sandbox duplicates report")
    check(all(not v for v in dups.values()), "no duplicate account keys (%s)" % dups)
    return synced, want_k, orders


def test_bad_mapping():
    """A broken mapping file stops `serve` at start: exit 2 and the JSON path named."""
    sb = sandbox()
    m = mapping()
    m["account"]["columns"][2]["owner"] = "sometimes"
    d = tempfile.mkdtemp(prefix="mlc-map-")
    path = os.path.join(d, "mapping.json")
    with open(path, "w") as f:
        json.dump(m, f)
    svc = service("badmap", sb, MLC_MAPPING_FILE=path)
    svc.start(expect_exit=True)
    check_eq(svc.wait_exit(), 2, "exit status for a bad mapping")
    text = svc.log_text()
    check("MLC_MAPPING_FILE: mapping.json: $.account.columns[2].owner: must be one of" in text,
          "the error names the variable and the JSON path", text[-2000:])
    svc = service("nomap", sb, MLC_MAPPING_FILE=os.path.join(d, "missing.json"))
    svc.start(expect_exit=True)
    check_eq(svc.wait_exit(), 2, "exit status for a missing mapping file")
    check("cannot read" in svc.log_text(), "a missing file is named")


if __name__ == "__main__":
    mlctest.run(test_bad_mapping)
