#!/usr/bin/env python3
"""Customers -> accounts through the real binary, Redis and the sandbox over HTTPS: a NetSuite
webhook for a customer gives exactly one account with the mapped fields (computed here from
NetSuite's data and the mapping file), its contacts and primary contact; the same event five
times writes nothing more; parents are synced first, inactive customers deactivated, leads left
out; a NetSuite change updates the row with before/after in the audit and the sink; an older
state never overwrites a newer one; a deletion deactivates the row."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mlctest  # noqa: E402
from mlctest import check, check_eq, wait_until  # noqa: E402
from test_netsuite_lib import sql  # noqa: E402
from test_sync_lib import (audit_of, check_owner, compare, customers, dv_calls, expected_account, idle,  # noqa: E402
                           post_event, rows, sandbox, service, state, synced_kind, wait_audit)

CTX = {}


def svc():
    if "svc" not in CTX:
        sb = sandbox()
        sink = os.path.join(mlctest.work_dir(), "audit-sink.jsonl")
        CTX["sink"] = sink
        CTX["svc"] = service("sync-customers", sb, MLC_AUDIT_SINK="file:" + sink).start()
    return CTX["svc"]


def account_rows(sb, cid):
    return rows(sb, "accounts", "mlc_netsuitecustomerid", str(cid))


def pick(sb, where):
    for c in customers(sb, where):
        if synced_kind(c):
            return c
    raise mlctest.TestFailure("the sandbox has no customer with " + where)


def test_customer_webhook():
    """One webhook -> exactly one account with the mapped fields, contacts bound, primary set."""
    sb = sandbox()
    s = svc()
    c = pick(sb, "c.parent IS NULL AND c.isinactive = 'F' AND c.category IS NOT NULL AND "
                 "EXISTS (SELECT 1 FROM contact k WHERE k.company = c.id AND k.contactrole = -10)")
    cid = c["id"]
    post_event(s, "customer", cid)
    wait_audit(s, "customer", cid, "created")
    idle(s)
    acc = account_rows(sb, cid)
    check_eq(len(acc), 1, "exactly one account for customer %d" % cid)
    want, exc = expected_account(c)
    compare(acc[0], want, "account %d" % cid)
    st = state(s, "customer", cid)
    check_eq(st.get("dvid"), acc[0]["accountid"], "state holds the account's GUID")
    check_eq(acc[0]["mlc_syncstatehash"], st.get("hash"), "mlc_syncstatehash mirrors the state")
    check(acc[0].get("mlc_netsuitelastmodified"), "mlc_netsuitelastmodified written")
    check(acc[0].get("mlc_lastsyncedon"), "mlc_lastsyncedon written")
    check_eq(s.redis.cmd("GET", s.key("rev:account:" + acc[0]["accountid"])), "customer:%d" % cid,
             "reverse index")
    # contacts: one per NetSuite contact, bound to the account; the primary (role -10, lowest id)
    ks = sql(sb, "SELECT id, contactrole, firstname, lastname, email FROM contact WHERE company = "
                 "%d ORDER BY id" % cid)
    for k in ks:
        got = rows(sb, "contacts", "mlc_netsuitecontactid", str(k["id"]))
        check_eq(len(got), 1, "exactly one contact row for contact %d" % k["id"])
        check_eq(got[0].get("_parentcustomerid_value"), acc[0]["accountid"],
                 "contact %d bound to its account" % k["id"])
        check_eq(got[0].get("lastname"), k["lastname"] or None, "contact %d lastname" % k["id"])
    primary = min(k["id"] for k in ks if k["contactrole"] == -10)
    prow = rows(sb, "contacts", "mlc_netsuitecontactid", str(primary))[0]
    acc = account_rows(sb, cid)
    check_eq(acc[0].get("_primarycontactid_value"), prow["contactid"], "primary contact set")
    # the audit entry, in Redis and in the sink
    e = audit_of(s, "customer", cid, "created")[0]
    check_eq(e["dvId"], acc[0]["accountid"], "audit: Dataverse ID")
    check_eq(e["source"], "netsuite_webhook", "audit: source")
    check(e["jobId"], "audit: job id")
    check_eq(e["changes"]["name"], {"before": None, "after": want["name"]},
             "audit: name before/after")
    check(e["calls"]["netsuite"] >= 1 and e["calls"]["dataverse"] >= 1, "audit: calls spent")
    codes = [x["code"] for x in e["exceptions"]]
    owner_codes = check_owner(sb, acc[0], c, codes, "account %d" % cid)
    check_eq(sorted(codes), sorted(exc + list(owner_codes)), "audit: exceptions")
    stored = json.loads(acc[0]["mlc_syncexceptions"]) if acc[0]["mlc_syncexceptions"] else []
    check_eq(sorted(x["code"] for x in stored), sorted(codes), "mlc_syncexceptions column")
    hist = s.redis.cmd("LRANGE", s.key("hist:customer:%d" % cid), 0, -1)
    check(any('"created"' in h for h in hist), "record history holds the entry")
    with open(CTX["sink"]) as f:
        sink = [json.loads(line) for line in f]
    check(any(x["nsId"] == str(cid) and x["action"] == "created" for x in sink),
          "the sink holds the entry as a JSON line")
    CTX["cid"] = cid


def test_same_event_five_times():
    """The same event 5 times -> no more Dataverse writes (no calls at all), audited unchanged."""
    sb = sandbox()
    s = svc()
    cid = CTX["cid"]
    before_rows = account_rows(sb, cid)
    calls = dv_calls(sb)
    n_unchanged = len(audit_of(s, "customer", cid, "unchanged"))
    for _ in range(5):
        post_event(s, "customer", cid)
    wait_audit(s, "customer", cid, "unchanged", n_unchanged + 1)
    idle(s)
    after_rows = account_rows(sb, cid)
    check_eq(len(after_rows), 1, "still one account")
    check_eq(after_rows[0]["versionnumber"], before_rows[0]["versionnumber"],
             "the account was not written again")
    check_eq(after_rows[0]["mlc_lastsyncedon"], before_rows[0]["mlc_lastsyncedon"],
             "mlc_lastsyncedon unchanged (no write)")
    check_eq(dv_calls(sb) - calls, 0, "no Dataverse call for unchanged records")
    check(not audit_of(s, "customer", cid, "updated")
          or all(e["changes"].keys() <= {"primarycontactid"}
                 for e in audit_of(s, "customer", cid, "updated")),
          "no update besides the primary contact of the first sync")


def test_parent_inactive_and_filter():
    """A child syncs its parent first; inactive -> deactivated; a lead is left out (filtered)."""
    sb = sandbox()
    s = svc()
    child = pick(sb, "c.parent IS NOT NULL AND c.parent NOT IN (SELECT id FROM customer p WHERE "
                     "p.parent IS NOT NULL)")
    post_event(s, "customer", child["id"])
    wait_audit(s, "customer", child["id"], "created")
    idle(s)
    parent = account_rows(sb, child["parent"])
    check_eq(len(parent), 1, "the parent customer was synced first")
    acc = account_rows(sb, child["id"])
    check_eq(len(acc), 1, "one account for the child")
    check_eq(acc[0].get("_parentaccountid_value"), parent[0]["accountid"], "parentaccountid")
    compare(acc[0], expected_account(child)[0], "child account")

    inactive = pick(sb, "c.isinactive = 'T'")
    post_event(s, "customer", inactive["id"])
    wait_audit(s, "customer", inactive["id"], "created")
    acc = account_rows(sb, inactive["id"])
    check_eq((acc[0]["statecode"], acc[0]["statuscode"]), (1, 2), "inactive -> deactivated")

    leads = customers(sb, "es.entitytype IN ('LEAD', 'PROSPECT')")
    check(leads, "the sandbox has leads or prospects")
    lead = leads[0]
    post_event(s, "customer", lead["id"])
    wait_audit(s, "customer", lead["id"], "filtered")
    idle(s)
    check_eq(len(account_rows(sb, lead["id"])), 0, "a lead gets no account")
    check_eq(state(s, "customer", lead["id"]).get("filtered"), "1", "state says filtered")


def test_change_stale_and_delete():
    """A NetSuite change updates the row (before/after audited); an older state is never written;
    a deletion deactivates the row."""
    sb = sandbox()
    s = svc()
    cid = CTX["cid"]
    old_phone = customers(sb, "c.id = %d" % cid)[0]["phone"]
    n_updated = len(audit_of(s, "customer", cid, "updated"))
    st, data = sb.admin("PATCH", "customers/%d" % cid, {"fields": {"phone": "+1 555 0100 777"}})
    check_eq(st, 200, "sandbox: change the customer's phone")
    post_event(s, "customer", cid)
    wait_audit(s, "customer", cid, "updated", n_updated + 1)
    e = [x for x in audit_of(s, "customer", cid, "updated") if "telephone1" in x["changes"]]
    check(e, "an update with the phone change")
    check_eq(e[-1]["changes"]["telephone1"], {"before": old_phone, "after": "+1 555 0100 777"},
             "audit: telephone1 before/after")
    check_eq(account_rows(sb, cid)[0]["telephone1"], "+1 555 0100 777", "the new phone written")

    # a state newer than NetSuite's (what a later write would leave): nothing older is written
    key = s.key("state:customer:%d" % cid)
    real = int(s.redis.cmd("HGET", key, "nslm"))
    s.redis.cmd("HSET", key, "nslm", str(real + 3600 * 1000))
    sb.admin("PATCH", "customers/%d" % cid, {"fields": {"phone": "+1 555 0100 888"}})
    # the sandbox stamps the change with its clock: make the stored state newer still
    s.redis.cmd("HSET", key, "nslm", str(10 ** 13))
    version = account_rows(sb, cid)[0]["versionnumber"]
    post_event(s, "customer", cid)
    wait_audit(s, "customer", cid, "stale-skipped")
    idle(s)
    check_eq(account_rows(sb, cid)[0]["versionnumber"], version, "stale state not written")
    check_eq(account_rows(sb, cid)[0]["telephone1"], "+1 555 0100 777", "the row kept the newer")

    post_event(s, "customer", cid, event_type="delete")
    wait_audit(s, "customer", cid, "deleted")
    acc = account_rows(sb, cid)
    check_eq(len(acc), 1, "the row stays")
    check_eq((acc[0]["statecode"], acc[0]["statuscode"]), (1, 2), "deleted -> deactivated")
    check_eq(state(s, "customer", cid).get("del"), "1", "state marks the deletion")


if __name__ == "__main__":
    mlctest.run(test_customer_webhook, test_same_event_five_times, test_parent_inactive_and_filter,
                test_change_stale_and_delete)
