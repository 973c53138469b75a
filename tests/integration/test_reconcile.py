#!/usr/bin/env python3
"""`ml-connector reconcile` through the real binary, Redis and the sandbox over HTTPS (its
webhooks off, so nothing tells the connector about changes made behind its back): after a full
load the report has nothing unexplained; then drift is injected (an account's NetSuite-owned
column edited in the CRM, a contact row deleted, an order's NetSuite total changed in the CRM, a
NetSuite edit whose job never arrived) and reconcile finds each one, repairs it by enqueuing a
forced re-sync, and after the workers ran a second reconcile reports no difference; the rows carry
NetSuite's values again. --format csv and json, and bad usage."""
import csv
import io
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mlctest  # noqa: E402
from mlctest import check, check_eq  # noqa: E402
from test_netsuite_lib import sql  # noqa: E402
from test_sync_lib import idle, service  # noqa: E402

CTX = {}


def sb():
    if "sb" not in CTX:
        from test_sandbox_dv_lib import DvSandbox
        CTX["sb"] = DvSandbox("--dataverse-webhook-url", "", customers=30, orders=12, items=20)
        mlctest._cleanups.append(CTX["sb"].close)
    return CTX["sb"]


def svc():
    if "svc" not in CTX:
        CTX["svc"] = service("reconcile", sb(), MLC_WORKERS="4", MLC_BULK_WORKER_SHARE="1").start()
    return CTX["svc"]


def reconcile(*args, want_rc=None):
    rc, out, err = svc().cli("reconcile", *args, timeout=300)
    if want_rc is not None:
        check_eq(rc, want_rc, "reconcile %s exit status (stderr: %s)" % (" ".join(args), err[-600:]))
    return rc, out, err


def report(*args):
    _, out, _ = reconcile("--format", "json", *args)
    return json.loads(out.strip().splitlines()[-1])


def differences(rep, unexplained_only=False):
    return [d for d in rep["differences"]
            if not unexplained_only or d["resolution"] == "unexplained"]


def test_after_full_load_nothing_unexplained():
    """A full load (customers, then orders): counts agree, totals per currency per day agree,
    nothing unexplained, nothing repaired."""
    s = svc()
    for t in ("customer", "salesorder"):
        rc, _, err = s.cli("backfill", "--type", t, "--since", "2000-01-01")
        check_eq(rc, 0, "backfill %s (%s)" % (t, err[-300:]))
        idle(s, timeout=300)
    rep = report()
    check_eq(rep["unexplained"], 0, "nothing unexplained after a full load: %s"
             % differences(rep, True)[:3])
    check_eq(rep["repaired"], 0, "nothing to repair after a full load: %s"
             % [d for d in rep["differences"] if d["resolution"] == "repaired"][:3])
    n = sql(sb(), "SELECT COUNT(*) AS n FROM \"transaction\" WHERE type = 'SalesOrd'")[0]["n"]
    check_eq(rep["counts"]["salesorder"]["netsuite"], n, "NetSuite order count")
    check(all(t["match"] for t in rep["totals"]), "totals per currency per day agree")
    check(len(rep["totals"]) > 1, "several currency/day buckets")
    stored = json.loads(s.redis.cmd("GET", s.key("reconcile:latest")))
    check_eq(stored["unexplained"], 0, "the report is kept in Redis as reconcile:latest")


def test_drift_found_and_repaired():
    """Drift behind the connector's back: each difference found and repaired; a second reconcile
    after the workers ran reports none, and the rows are NetSuite's again."""
    s, b = svc(), sb()
    accounts = [r for r in b.rows("accounts") if r.get("mlc_netsuitecustomerid")]
    acc = accounts[0]
    st, _ = b.dadmin("PATCH", "rows/accounts/" + acc["accountid"],
                     {"telephone1": "+1 555 0000 999"})
    check(st in (200, 204), "CRM edit of telephone1 (%s)" % st)
    contacts = [r for r in b.rows("contacts") if r.get("mlc_netsuitecontactid")]
    con = contacts[-1]
    st, _ = b.dadmin("DELETE", "rows/contacts/" + con["contactid"])
    check(st in (200, 204), "CRM delete of a contact (%s)" % st)
    orders = [r for r in b.rows("salesorders") if r.get("mlc_netsuitesalesorderid")
              and r.get("statecode") == 0]
    order = orders[0]
    st, _ = b.dadmin("PATCH", "rows/salesorders/" + order["salesorderid"],
                     {"mlc_netsuitetotal": (order.get("mlc_netsuitetotal") or 0) + 100})
    check(st in (200, 204), "CRM edit of an order's NetSuite total (%s)" % st)
    other = accounts[1]
    cid = int(other["mlc_netsuitecustomerid"])
    st, _ = b.admin("PATCH", "customers/%d" % cid, {"fields": {"phone": "+1 555 0101 222"}})
    check_eq(st, 200, "NetSuite edit whose job never arrives")
    rep = report()
    got = {(d["type"], d["nsId"]): d for d in rep["differences"]}
    want = {("customer", acc["mlc_netsuitecustomerid"]): "crm_edit",
            ("contact", con["mlc_netsuitecontactid"]): "deleted_in_crm",
            ("salesorder", order["mlc_netsuitesalesorderid"]): "total_mismatch",
            ("customer", str(cid)): "stale"}
    for k, kind in want.items():
        check(k in got, "difference found for %s %s" % k, rep["differences"])
        check_eq(got[k]["kind"], kind, "%s %s: kind" % k)
        check_eq(got[k]["resolution"], "repaired", "%s %s: repaired" % k)
    check("telephone1" in got[("customer", acc["mlc_netsuitecustomerid"])]["detail"],
          "the drifted column is named")
    check_eq(rep["unexplained"], 0, "nothing unexplained")
    buckets = [t for t in rep["totals"] if not t["match"]]
    check_eq(len(buckets), 1, "one currency/day bucket differs (explained by the order)")
    idle(s, timeout=120)
    rep2 = report()
    check_eq([d for d in rep2["differences"] if d["resolution"] != "explained"], [],
             "a second reconcile finds nothing to repair")
    check_eq(rep2["unexplained"], 0, "and nothing unexplained")
    row = [r for r in b.rows("accounts") if r["accountid"] == acc["accountid"]][0]
    check(row.get("telephone1") != "+1 555 0000 999", "the CRM edit was reverted")
    check_eq(len([r for r in b.rows("contacts")
                  if r.get("mlc_netsuitecontactid") == con["mlc_netsuitecontactid"]]), 1,
             "the deleted contact is back")
    o = [r for r in b.rows("salesorders") if r["salesorderid"] == order["salesorderid"]][0]
    check_eq(o.get("mlc_netsuitetotal"), order.get("mlc_netsuitetotal"), "order total restored")
    row = [r for r in b.rows("accounts") if r["accountid"] == other["accountid"]][0]
    check_eq(row.get("telephone1"), "+1 555 0101 222", "the lost NetSuite change arrived")


def test_formats_and_usage():
    """--format csv is one line per difference with a header; json parses; text summarises;
    --no-repair reports a difference as unexplained (exit 1); bad usage exits 2."""
    s, b = svc(), sb()
    acc = [r for r in b.rows("accounts") if r.get("mlc_netsuitecustomerid")][2]
    b.dadmin("PATCH", "rows/accounts/" + acc["accountid"], {"telephone1": "+1 555 0000 111"})
    rc, out, _ = reconcile("--format", "csv", "--no-repair")
    check_eq(rc, 1, "--no-repair with a difference exits 1")
    rows = list(csv.DictReader(io.StringIO(out)))
    check_eq([(r["nsId"], r["kind"], r["resolution"]) for r in rows],
             [(acc["mlc_netsuitecustomerid"], "crm_edit", "unexplained")],
             "csv: the difference, unexplained without repair")
    check_eq(s.redis.cmd("XLEN", s.key("q:bulk")) or 0, 0, "--no-repair enqueued nothing")
    rc, out, _ = reconcile()
    check_eq(rc, 0, "text format, repaired: exit 0")
    check("differences 1: explained 0, repaired 1, unexplained 0" in out, "text summary", out)
    idle(s)
    reconcile(want_rc=0)
    for bad in (["--format", "xml"], ["--frobnicate"]):
        rc, _, err = s.cli("reconcile", *bad)
        check_eq(rc, 2, "bad usage %s exits 2" % bad)


def test_scheduled_in_serve():
    """serve with MLC_RECONCILE_INTERVAL_S: the leader reconciles on its own, repairs a CRM edit
    made behind its back and exports mlc_reconcile_unexplained = 0."""
    s, b = svc(), sb()
    s.stop()
    s.env["MLC_RECONCILE_INTERVAL_S"] = "2"
    s.start()
    acc = [r for r in b.rows("accounts") if r.get("mlc_netsuitecustomerid")][3]
    b.dadmin("PATCH", "rows/accounts/" + acc["accountid"], {"telephone1": "+1 555 0000 333"})

    def reverted():
        row = [r for r in b.rows("accounts") if r["accountid"] == acc["accountid"]][0]
        return row.get("telephone1") != "+1 555 0000 333"
    mlctest.wait_until(reverted, "the scheduled reconcile reverted the CRM edit", timeout=60)
    m = s.metrics()
    check((m.get("mlc_reconcile_runs_total", outcome="ok") or 0) >= 1, "runs counted")
    check_eq(m.get("mlc_reconcile_unexplained"), 0.0, "mlc_reconcile_unexplained is 0")
    check(m.get("mlc_reconcile_last_run_timestamp_seconds") > 0, "last run time exported")
    stored = json.loads(s.redis.cmd("GET", s.key("reconcile:latest")))
    check_eq(stored["unexplained"], 0, "reconcile:latest written by serve")


if __name__ == "__main__":
    mlctest.run(test_after_full_load_nothing_unexplained, test_drift_found_and_repaired,
                test_formats_and_usage, test_scheduled_in_serve)
