#!/usr/bin/env python3
"""Dry runs through the real binary, Redis and the sandbox over HTTPS: `backfill --dry-run` reads
and maps every record but leaves the sandbox's Dataverse byte-for-byte unchanged and the record
state empty, auditing each write as would_create / would_update with its changes; the real
backfill run by `serve` then makes exactly those writes (same records, same actions, same changes).
After a NetSuite edit a second dry run lists only that customer as would_update with the field
before -> after. `serve` with MLC_DRY_RUN=1 audits a webhook's record and sends nothing."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mlctest  # noqa: E402
from mlctest import check, check_eq, wait_until  # noqa: E402
from test_sync_lib import audit, idle, post_event, sandbox, service  # noqa: E402

TABLES = ("accounts", "contacts", "salesorders", "salesorderdetails")
CTX = {}


def dump(sb):
    return {t: sorted(json.dumps(r, sort_keys=True) for r in sb.rows(t)) for t in TABLES}


def writes(entries, dry):
    """Sorted [(type, nsId, action, changes)] of the write entries (dry: would_*, named as the
    real run names them)."""
    out = []
    for e in entries:
        a = e["action"]
        if dry and a.startswith("would_") and e.get("dryRun"):
            a = a[6:] + "d"
        elif dry or a not in ("created", "updated") or e.get("dryRun"):
            continue
        out.append((e["type"], e["nsId"], a, json.dumps(e.get("changes"), sort_keys=True)))
    return sorted(out)


def svc():
    if "svc" not in CTX:
        CTX["svc"] = service("dryrun", sandbox(customers=40, orders=6), MLC_WORKERS="2")
    return CTX["svc"]


def test_backfill_dry_run():
    """backfill --dry-run: Dataverse unchanged, no record state, every write audited and printed."""
    sb, s = sandbox(customers=40, orders=6), svc()
    before = dump(sb)
    calls0 = sb.dadmin("GET", "stats")[1]
    rc, out, err = s.cli("backfill", "--type", "customer", "--since", "2000-01-01", "--dry-run")
    check_eq(rc, 0, "dry-run backfill exit status (%s)" % err[-600:])
    summary = json.loads(out.strip().splitlines()[-1])
    check(summary["dryRun"] and summary["wouldCreate"] > 0, "summary counts would-creates",
          summary)
    check_eq(dump(sb), before, "the sandbox's Dataverse is byte-for-byte unchanged")
    calls1 = sb.dadmin("GET", "stats")[1]
    check_eq(calls1.get("webhooks", {}).get("queued"), calls0.get("webhooks", {}).get("queued"),
             "no write fired a webhook")
    check_eq(s.redis.cmd("KEYS", s.key("state:*")), [], "no record state written")
    check_eq(s.redis.cmd("XLEN", s.key("q:bulk")) or 0, 0, "nothing enqueued")
    entries = audit(s)
    dry = writes(entries, True)
    check_eq(summary["wouldCreate"] + summary["wouldUpdate"], len(dry),
             "the summary agrees with the audit")
    for t, ns, a, _ in dry[:5]:
        check("would %s %s %s" % (a[:-1], t, ns) in out, "printed: would %s %s %s"
              % (a[:-1], t, ns))
    check("    name: null -> " in out, "a change is printed before -> after", out[:800])
    CTX["dry"], CTX["audit_len"] = dry, len(entries)


def test_real_run_makes_exactly_those_writes():
    """The real backfill (serve's workers) writes exactly the records the dry run listed, with
    the same actions and changes."""
    sb, s = sandbox(customers=40, orders=6), svc()
    s.start()
    rc, _, err = s.cli("backfill", "--type", "customer", "--since", "2000-01-01")
    check_eq(rc, 0, "real backfill (%s)" % err[-400:])
    idle(s, timeout=180)
    real_all = writes(audit(s)[CTX["audit_len"]:], False)
    # a parent customer can be written twice at the same moment (by its own job and first by a
    # child's): identical entries; the comparison is of the distinct writes
    real = sorted(set(real_all))
    mlctest.say("real run: %d write entries, %d distinct (dry run: %d)"
                % (len(real_all), len(real), len(CTX["dry"])))
    check(len(real) > 0, "the real run wrote")
    check_eq([w[:3] for w in real], [w[:3] for w in sorted(set(CTX["dry"]))],
             "the same records and actions as the dry run listed")
    diff = [(a, b) for a, b in zip(real, sorted(set(CTX["dry"]))) if a != b]
    check_eq(diff[:2], [], "the same changes for every write")
    rows = {r["mlc_netsuitecustomerid"] for r in sb.rows("accounts")
            if r.get("mlc_netsuitecustomerid")}
    check_eq(rows, {w[1] for w in real if w[0] == "customer" and w[2] == "created"},
             "the accounts now in Dataverse are the would-creates")


def test_dry_run_after_an_edit():
    """After a NetSuite edit, a dry run lists that customer only, would_update with the field's
    before -> after; Dataverse keeps the old value."""
    sb, s = sandbox(customers=40, orders=6), svc()
    cid = int(sorted(w[1] for w in CTX["dry"] if w[0] == "customer")[0])
    st, _ = sb.admin("PATCH", "customers/%d" % cid, {"fields": {"phone": "+1 555 0199 123"}})
    check_eq(st, 200, "NetSuite edit")
    before = dump(sb)
    n0 = len(audit(s))
    rc, out, err = s.cli("backfill", "--type", "customer", "--since", "2000-01-01", "--dry-run")
    check_eq(rc, 0, "second dry run (%s)" % err[-400:])
    dry = writes(audit(s)[n0:], True)
    check_eq([w[:2] for w in dry], [("customer", str(cid))],
             "only the edited customer would be written")
    _, _, action, changes = dry[0]
    check_eq(action, "updated", "as an update")
    ch = json.loads(changes)
    check_eq(ch.get("telephone1", {}).get("after"), "+1 555 0199 123", "the change's new value")
    check(ch["telephone1"].get("before") not in (None, "+1 555 0199 123"), "and its old value")
    check("would update customer %d" % cid in out and "telephone1:" in out, "printed", out[:600])
    check_eq(dump(sb), before, "Dataverse unchanged by the dry run")


def test_serve_with_mlc_dry_run():
    """serve with MLC_DRY_RUN=1: a webhook's record is computed and audited, nothing is sent."""
    sb = sandbox(customers=40, orders=6)
    d = service("dryrun-serve", sb, MLC_WORKERS="2", MLC_DRY_RUN="1").start()
    cid = int(sorted(w[1] for w in CTX["dry"] if w[0] == "customer")[0])
    before = dump(sb)
    post_event(d, "customer", cid)
    wait_until(lambda: any(e["nsId"] == str(cid) and e.get("dryRun") for e in audit(d)),
               "the dry-run audit entry")
    idle(d)
    e = [x for x in audit(d) if x["nsId"] == str(cid) and x["type"] == "customer"][-1]
    # this service's prefix holds no state, so the row is unknown to it: a would-create
    check_eq(e["action"], "would_create", "audited as would_create")
    check(e.get("changes"), "with its changes")
    check_eq(dump(sb), before, "nothing sent to Dataverse")
    check_eq(d.redis.cmd("KEYS", d.key("state:*")), [], "no record state written")
    d.stop()


if __name__ == "__main__":
    mlctest.run(test_backfill_dry_run, test_real_run_makes_exactly_those_writes,
                test_dry_run_after_an_edit, test_serve_with_mlc_dry_run)
