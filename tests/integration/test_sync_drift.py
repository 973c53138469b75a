#!/usr/bin/env python3
"""Dataverse webhooks in the worker, through the real binary and the sandbox (which posts its
webhooks to the service): every webhook caused by our own writes is dropped (the sandbox's count
of deliveries equals the connector's count of echoes); a CRM edit of a NetSuite-owned column is
reverted from NetSuite's current state within one job; a CRM-owned column is kept; a synced row
deleted in the CRM is recreated; all audited as drift."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mlctest  # noqa: E402
from mlctest import check, check_eq, wait_until  # noqa: E402
from test_sync_lib import (audit_of, customers, idle, post_event, rows, sandbox, service,  # noqa: E402
                           synced_kind, wait_audit)

CTX = {}


def setup():
    if "svc" in CTX:
        return CTX["sb"], CTX["svc"]
    sb = sandbox(customers=30, orders=5, items=10)
    s = service("sync-drift", sb, MLC_DATAVERSE_WEBHOOK_KEYS=sb.settings["MLC_DATAVERSE_WEBHOOK_KEYS"])
    s.dv_key = sb.settings["MLC_DATAVERSE_WEBHOOK_KEYS"]
    s.start()
    sb.dsettings(webhookUrl="http://127.0.0.1:%d/v1/webhooks/dataverse" % s.port)
    CTX.update(sb=sb, svc=s)
    return sb, s


def hooks(sb):
    st, data = sb.dadmin("GET", "stats")
    return data["webhooks"]


def events(s, outcome):
    return s.metrics().get("mlc_sync_dataverse_events_total", outcome=outcome) or 0


def settle(sb, s):
    """The sandbox delivered everything it queued and the connector handled it."""
    wait_until(lambda: hooks(sb)["pending"] == 0, "the sandbox's webhooks delivered", timeout=60)
    idle(s)
    time.sleep(0.5)
    wait_until(lambda: hooks(sb)["pending"] == 0, "the sandbox's webhooks delivered", timeout=60)
    idle(s)


def account(sb, cid):
    r = rows(sb, "accounts", "mlc_netsuitecustomerid", str(cid))
    check_eq(len(r), 1, "one account for customer %s" % cid)
    return r[0]


def test_echoes_dropped():
    """The sandbox's webhooks for our own writes: the connector drops exactly as many."""
    sb, s = setup()
    before = hooks(sb)
    cs = [c for c in customers(sb, "c.parent IS NULL AND c.phone IS NOT NULL") if synced_kind(c)]
    check(len(cs) >= 3, "customers to sync")
    for c in cs[:3]:
        post_event(s, "customer", c["id"])
    for c in cs[:3]:
        wait_audit(s, "customer", c["id"], "created")
    settle(sb, s)
    after = hooks(sb)
    sent = after["delivered"] - before["delivered"]
    check(sent > 0, "the sandbox sent webhooks for our writes (%d)" % sent)
    check_eq(after["failed"] - before["failed"], 0, "every webhook was accepted")
    check_eq(events(s, "echo_dropped"), sent, "the connector dropped exactly the echoes")
    check(audit_of(s, "customer", cs[0]["id"], "echo-dropped"), "echoes audited on the record")
    CTX["cust"] = cs[0]


def test_crm_edit_reverted_and_kept():
    """A CRM edit of a NetSuite-owned column is reverted; of a CRM-owned column, kept."""
    sb, s = setup()
    c = CTX["cust"]
    acc = account(sb, c["id"])
    st, _ = sb.dadmin("PATCH", "rows/accounts/" + acc["accountid"], {"telephone1": "CRM 555"})
    check_eq(st, 200, "a CRM user edits the phone (NetSuite-owned)")
    wait_audit(s, "customer", c["id"], "drift-reverted")
    e = audit_of(s, "customer", c["id"], "drift-reverted")[-1]
    check_eq(e["changes"].get("telephone1"), {"before": c["phone"], "after": "CRM 555"},
             "drift audited with our value and the CRM's")
    wait_until(lambda: account(sb, c["id"])["telephone1"] == c["phone"],
               "the phone reverted to NetSuite's")
    settle(sb, s)

    kept = events(s, "crm_edit_kept")
    n_drift = len(audit_of(s, "customer", c["id"], "drift-reverted"))
    st, _ = sb.dadmin("PATCH", "rows/accounts/" + acc["accountid"], {"creditonhold": True})
    check_eq(st, 200, "a CRM user sets credit on hold (CRM-owned)")
    wait_until(lambda: events(s, "crm_edit_kept") > kept, "the CRM edit seen and kept")
    settle(sb, s)
    check_eq(account(sb, c["id"])["creditonhold"], True, "the CRM-owned column kept")
    check_eq(len(audit_of(s, "customer", c["id"], "drift-reverted")), n_drift, "no drift for it")


def test_crm_delete_recreated():
    """A synced row deleted in the CRM is recreated (MLC_CRM_DELETE_POLICY=recreate)."""
    sb, s = setup()
    c = CTX["cust"]
    acc = account(sb, c["id"])
    st, _ = sb.dadmin("DELETE", "rows/accounts/" + acc["accountid"])
    check(st in (200, 204), "a CRM user deletes the account")
    wait_until(lambda: len(rows(sb, "accounts", "mlc_netsuitecustomerid", str(c["id"]))) == 1 and
               account(sb, c["id"])["accountid"] != acc["accountid"], "the account recreated")
    check(any("row" in e["changes"] for e in audit_of(s, "customer", c["id"], "drift-reverted")),
          "the delete audited as drift")
    check_eq(account(sb, c["id"])["telephone1"], c["phone"], "recreated from NetSuite's state")


def test_report_policies():
    """MLC_DRIFT_POLICY=report and MLC_CRM_DELETE_POLICY=report: drift and deletes are audited,
    the CRM's edit and delete stay."""
    sb, s = setup()
    s.stop()
    r = service("sync-drift-report", sb, MLC_DRIFT_POLICY="report", MLC_CRM_DELETE_POLICY="report",
                MLC_DATAVERSE_WEBHOOK_KEYS=sb.settings["MLC_DATAVERSE_WEBHOOK_KEYS"])
    r.start()
    sb.dsettings(webhookUrl="http://127.0.0.1:%d/v1/webhooks/dataverse" % r.port)
    c = [c for c in customers(sb, "c.parent IS NULL AND c.phone IS NOT NULL") if synced_kind(c)][5]
    post_event(r, "customer", c["id"])
    wait_audit(r, "customer", c["id"], "created")
    settle(sb, r)
    acc = account(sb, c["id"])
    sb.dadmin("PATCH", "rows/accounts/" + acc["accountid"], {"telephone1": "CRM 777"})
    wait_audit(r, "customer", c["id"], "drift-reported")
    settle(sb, r)
    check_eq(account(sb, c["id"])["telephone1"], "CRM 777", "report: the CRM's edit stays")
    check_eq(audit_of(r, "customer", c["id"], "drift-reverted"), [], "report: nothing reverted")
    st, _ = sb.dadmin("DELETE", "rows/accounts/" + acc["accountid"])
    check(st in (200, 204), "a CRM user deletes the account")
    wait_until(lambda: len(audit_of(r, "customer", c["id"], "drift-reported")) >= 2,
               "the delete reported")
    settle(sb, r)
    check_eq(rows(sb, "accounts", "mlc_netsuitecustomerid", str(c["id"])), [],
             "report: the deleted row is not recreated")


if __name__ == "__main__":
    mlctest.run(test_echoes_dropped, test_crm_edit_reverted_and_kept, test_crm_delete_recreated,
                test_report_policies)
