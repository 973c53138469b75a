#!/usr/bin/env python3
"""Onboarding (issue 8's acceptance scenario, smaller): the sandbox's CRM holds hand-made accounts,
contacts and products matching NetSuite's records by account number, e-mail domain, name +
postcode, e-mail and SKU (some ambiguously), none carrying our keys. Through the real binary,
Redis and the sandbox over HTTPS: `setup dataverse` (bare schema) -> `link` (review file) ->
`link --apply` -> `backfill` run by `serve`'s workers -> `reconcile` (nothing unexplained) -> no
account or contact represented twice,
every approved match updated in place (same GUID, NetSuite's values), ambiguous rows untouched and
listed, unmatched CRM rows untouched. Prints each step's wall time.

Expectations come from NetSuite's data (SQL through the sandbox's admin API), the mapping file and
the sandbox's table dumps, never from the connector's output. Sizes: MLC_ONBOARDING_CUSTOMERS
(default 60: the sandbox makes hand-made CRM accounts for its first 60 customers)."""
import csv
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mlctest  # noqa: E402
from mlctest import check, check_eq, say  # noqa: E402
from test_netsuite_lib import sql  # noqa: E402
from test_sync_lib import customers, expected_account, idle, service, synced_kind  # noqa: E402

CTX = {"times": []}
N = int(os.environ.get("MLC_ONBOARDING_CUSTOMERS", "60"))


def step(name, fn):
    t0 = time.monotonic()
    r = fn()
    dt = time.monotonic() - t0
    CTX["times"].append((name, dt))
    say("STEP %-22s %8.2f s" % (name, dt))
    return r


def sb():
    if "sb" not in CTX:
        from test_sandbox_dv_lib import DvSandbox
        CTX["sb"] = DvSandbox("--schema", "bare", customers=N, orders=5, items=24)
        mlctest._cleanups.append(CTX["sb"].close)
    return CTX["sb"]


def rows_by_id(s, entity_set, idcol):
    return {r[idcol]: r for r in s.rows(entity_set)}


def cli(svc, *args):
    rc, out, err = svc.cli(*args, timeout=900)
    check_eq(rc, 0, "`%s` exit status (stderr: %s)" % (" ".join(args), err[-800:]))
    return out, err


def test_onboarding():
    """setup -> link -> apply -> backfill: linked rows updated in place, nothing duplicated."""
    s = sb()
    svc = service("onboarding", s, MLC_WORKERS="4", MLC_BULK_WORKER_SHARE="1", MLC_LOG_LEVEL="debug")
    svc.start()
    svc.env["MLC_DATAVERSE_WEBHOOK_URL"] = \
        "http://127.0.0.1:%d/v1/webhooks/dataverse" % svc.port
    step("setup dataverse", lambda: cli(svc, "setup", "dataverse"))
    acc0 = rows_by_id(s, "accounts", "accountid")
    con0 = rows_by_id(s, "contacts", "contactid")
    prod0 = rows_by_id(s, "products", "productid")
    review = os.path.join(mlctest.work_dir(), "onboarding-review.csv")
    out, _ = step("link", lambda: cli(svc, "link", "--out", review))
    summary = json.loads(out.strip().splitlines()[-1])
    with open(review, newline="") as f:
        lines = list(csv.DictReader(f))
    by_status = {}
    for ln in lines:
        by_status.setdefault((ln["table"], ln["status"]), []).append(ln)
    for t in ("account", "contact", "product"):
        for st in ("proposed", "ambiguous", "unmatched"):
            check_eq(len(by_status.get((t, st), [])), summary[t][st],
                     "review file and summary agree on %s %s" % (st, t))
    # every CRM row without a key is in the file, once
    check_eq(sorted(ln["crm_id"] for ln in lines if ln["table"] == "account"), sorted(acc0),
             "every hand-made account is listed once")
    # the proposals are right by the rules (checked here against NetSuite's data)
    ns = {c["id"]: c for c in customers(s)}
    rules_seen = set()
    for ln in by_status.get(("account", "proposed"), []):
        c, a = ns[int(ln["netsuite_id"])], acc0[ln["crm_id"]]
        rules_seen.add(ln["rule"])
        if ln["rule"] == "accountNumber":
            check_eq((a.get("accountnumber") or "").lower(),
                     c["entityid"].split(" ")[0].lower(), "account number rule holds")
        elif ln["rule"] == "emailDomain":
            check_eq(a["emailaddress1"].split("@")[1].lower(), c["email"].split("@")[1].lower(),
                     "e-mail domain rule holds")
        else:
            check_eq((a["name"].lower(), a.get("address1_postalcode")),
                     ((c["companyname"] or "").lower(), c["x_zip"]), "name + postcode rule holds")
    check_eq(rules_seen, {"accountNumber", "emailDomain", "namePostcode"},
             "the sandbox's data exercises every account rule")
    check(summary["account"]["ambiguous"] > 0, "some accounts are ambiguous")
    for ln in by_status.get(("account", "ambiguous"), []):
        check(ln["candidates"] and ln["approve"] == "no" and not ln["netsuite_id"],
              "ambiguous row lists candidates and is not approved")
    nsc = {k["id"]: k for k in sql(s, "SELECT id, email, company FROM contact")}
    for ln in by_status.get(("contact", "proposed"), []):
        check_eq(con0[ln["crm_id"]]["emailaddress1"].lower(),
                 nsc[int(ln["netsuite_id"])]["email"].lower(), "contact e-mail rule holds")
    check(summary["contact"]["proposed"] > 0 and summary["product"]["proposed"] > 0,
          "contacts and products proposed too")
    # the reviewer rejects one proposal: it must stay untouched
    rejected = by_status[("account", "proposed")][0]
    rejected["approve"] = "no"
    with open(review, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(lines[0].keys()), lineterminator="\r\n")
        w.writeheader()
        w.writerows(lines)
    approved = [ln for ln in lines if ln["approve"] == "yes"]
    out, _ = step("link --apply", lambda: cli(svc, "link", "--apply", review))
    res = json.loads(out.strip().splitlines()[-1])
    check_eq((res["stamped"], res["failed"]), (len(approved), 0), "every approved row stamped")
    keycol = {"account": "mlc_netsuitecustomerid", "contact": "mlc_netsuitecontactid",
              "product": "mlc_netsuiteitemid"}
    after_apply = {t: rows_by_id(s, t + "s", t + "id") for t in keycol}
    for ln in approved:
        check_eq(after_apply[ln["table"]][ln["crm_id"]].get(keycol[ln["table"]]),
                 ln["netsuite_id"], "approved %s row carries its key" % ln["table"])
    for ln in lines:
        if ln["approve"] != "yes":
            check(not after_apply[ln["table"]][ln["crm_id"]].get(keycol[ln["table"]]),
                  "a row not approved is not stamped")
    # a second apply changes nothing
    out, _ = cli(svc, "link", "--apply", review)
    res2 = json.loads(out.strip().splitlines()[-1])
    check_eq((res2["stamped"], res2["skipped"]), (0, len(approved)), "second apply stamps nothing")

    def backfill():
        # customers bring their contacts along (a contact backfill at the same time only meets
        # records busy in the customer jobs)
        cli(svc, "backfill", "--type", "customer", "--since", "2000-01-01")
        idle(svc, timeout=max(120, N))
        cli(svc, "backfill", "--type", "salesorder", "--since", "2000-01-01")
        idle(svc, timeout=max(120, N))
    step("backfill (sync)", backfill)
    rc, out, err = step("reconcile", lambda: svc.cli("reconcile", "--format", "json",
                                                     timeout=900))
    rep = json.loads(out.strip().splitlines()[-1])
    check_eq((rc, rep["unexplained"]), (0, 0), "reconcile: no unexplained difference (%s)"
             % [d for d in rep["differences"] if d["resolution"] == "unexplained"][:3])
    check_eq(rep["repaired"], 0, "reconcile: nothing to repair after the load (%s)"
             % [d for d in rep["differences"] if d["resolution"] == "repaired"][:3])

    acc1 = rows_by_id(s, "accounts", "accountid")
    con1 = rows_by_id(s, "contacts", "contactid")
    # no duplicates by key (the sandbox's dump), and each NetSuite customer on at most one row
    for es in ("accounts", "contacts"):
        st, d = s.dadmin("GET", "duplicates/" + es)
        check_eq(st, 200, "duplicates dump of %s" % es)
        check(all(not v for v in d.values()) if isinstance(d, dict) else not d,
              "no duplicate keys in %s" % es, d)
    per_key = {}
    for r in acc1.values():
        if r.get("mlc_netsuitecustomerid"):
            per_key.setdefault(r["mlc_netsuitecustomerid"], []).append(r["accountid"])
    dup_accounts = sum(1 for v in per_key.values() if len(v) > 1)
    # approved accounts: the same row, now carrying NetSuite's values
    linked = {ln["netsuite_id"]: ln["crm_id"] for ln in approved if ln["table"] == "account"}
    updated = 0
    for nsid, crm in linked.items():
        c = ns[int(nsid)]
        check_eq(per_key.get(nsid), [crm], "customer %s is the linked row only" % nsid)
        if not synced_kind(c):
            continue
        want, _ = expected_account(c)
        row = acc1[crm]
        check_eq(row.get("name"), want["name"], "linked account %s updated in place (name)" % nsid)
        check(row.get("mlc_syncstatehash"), "linked account %s carries the sync state" % nsid)
        # create-owned columns and the owner stay the CRM's: the sync knew the row existed
        check_eq((row.get("_ownerid_value"), row.get("description")),
                 (acc0[crm].get("_ownerid_value"), acc0[crm].get("description")),
                 "linked account %s keeps its owner and create-owned description" % nsid)
        st = svc.redis.cmd("HGET", svc.key("state:customer:%s" % nsid), "dvid")
        check_eq(st, crm, "record state of customer %s names the linked row" % nsid)
        updated += 1
    check(updated > 0, "linked accounts were synced")
    # new rows are NetSuite customers nobody linked; every synced customer has exactly one row
    new = [r for i, r in acc1.items() if i not in acc0]
    for r in new:
        check(r.get("mlc_netsuitecustomerid") and r["mlc_netsuitecustomerid"] not in linked,
              "a new account is a customer nobody linked")
    synced = [c for c in ns.values() if synced_kind(c)]
    for c in synced:
        check_eq(len(per_key.get(str(c["id"]), [])), 1, "customer %d has one account" % c["id"])
    # ambiguous, unmatched and rejected rows: untouched, byte for byte
    untouched = [ln for ln in lines if ln["table"] == "account" and ln["approve"] != "yes"]
    for ln in untouched:
        check_eq(acc1[ln["crm_id"]], acc0[ln["crm_id"]],
                 "%s account %s untouched" % (ln["status"], ln["crm_id"]))
    # contacts: approved rows keep their GUID; no NetSuite contact on two rows
    cper = {}
    for r in con1.values():
        if r.get("mlc_netsuitecontactid"):
            cper.setdefault(r["mlc_netsuitecontactid"], []).append(r["contactid"])
    dup_contacts = sum(1 for v in cper.values() if len(v) > 1)
    for ln in approved:
        if ln["table"] == "contact" and ln["netsuite_id"] in cper:
            check_eq(cper[ln["netsuite_id"]], [ln["crm_id"]],
                     "linked contact %s updated in place" % ln["netsuite_id"])
    for ln in lines:
        if ln["table"] == "contact" and ln["approve"] != "yes":
            check_eq(con1[ln["crm_id"]], con0[ln["crm_id"]], "unlinked contact untouched")
    check_eq((dup_accounts, dup_contacts), (0, 0), "no account or contact represented twice")
    ambiguous = [ln["crm_id"] for ln in lines if ln["status"] == "ambiguous"]
    say("ONBOARDING customers=%d hand-made accounts=%d contacts=%d products=%d: proposed %d, "
        "ambiguous %d (listed, untouched), unmatched %d; approved %d; linked accounts updated in "
        "place %d; new accounts %d; duplicate accounts %d, duplicate contacts %d; reconcile: %d "
        "differences, unexplained %d"
        % (N, len(acc0), len(con0), len(prod0), sum(summary[t]["proposed"] for t in keycol),
           len(ambiguous), sum(summary[t]["unmatched"] for t in keycol), len(approved), updated,
           len(new), dup_accounts, dup_contacts, len(rep["differences"]), rep["unexplained"]))
    for name, dt in CTX["times"]:
        say("TIME %-22s %8.2f s" % (name, dt))
    CTX["svc"], CTX["lines"] = svc, lines


def test_apply_refuses_bad_files():
    """A review file with a bad line is refused whole (exit 2, the line named), nothing stamped."""
    svc, lines = CTX["svc"], CTX["lines"]
    s = sb()
    free = [ln for ln in lines if ln["table"] == "account" and ln["status"] == "unmatched"]
    check(len(free) >= 2, "unmatched accounts to play with")
    header = "table,crm_id,crm_name,status,rule,netsuite_type,netsuite_id,netsuite_name," \
             "candidates,approve\r\n"
    good = "account,%s,x,unmatched,,customer,999999,,,yes\r\n" % free[0]["crm_id"]
    cases = [
        ("no header", good, "line 1"),
        ("bad table", header + good + "lead,%s,x,,,,1,,,yes\r\n" % free[1]["crm_id"], "line 3"),
        ("bad GUID", header + good + "account,nope,x,,,,1,,,yes\r\n", "not a GUID"),
        ("no id", header + good + "account,%s,x,,,,,,,yes\r\n" % free[1]["crm_id"],
         "needs netsuite_id"),
        ("twice", header + good + "account,%s,x,,,,999999,,,yes\r\n" % free[1]["crm_id"],
         "approved twice"),
        ("approve", header + good + "account,%s,x,,,,5,,,maybe\r\n" % free[1]["crm_id"],
         "approve must be"),
        ("quotes", header + good + '"account,%s\r\n' % free[1]["crm_id"], "malformed CSV"),
    ]
    before = rows_by_id(s, "accounts", "accountid")
    for name, text, want in cases:
        path = os.path.join(mlctest.work_dir(), "bad-%s.csv" % name.replace(" ", "-"))
        with open(path, "w", newline="") as f:
            f.write(text)
        rc, out, err = svc.cli("link", "--apply", path)
        check_eq(rc, 2, "%s: refused with exit 2" % name)
        check(want in err, "%s: the problem is named (%s)" % (name, want), err)
    check_eq(rows_by_id(s, "accounts", "accountid"), before, "nothing stamped by a refused file")
    rc, _, err = svc.cli("link", "--apply", "/nonexistent/review.csv")
    check_eq(rc, 2, "missing file: exit 2")
    check("cannot read" in err, "missing file named")
    rc, _, err = svc.cli("link", "--dry-run")
    check_eq(rc, 2, "--dry-run without --apply is a usage error")


if __name__ == "__main__":
    mlctest.run(test_onboarding, test_apply_refuses_bad_files)
