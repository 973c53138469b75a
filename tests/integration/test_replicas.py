#!/usr/bin/env python3
"""Several replicas: two `serve` processes (the shipped binary, sync on) on one Redis and one
key prefix, behind one sandbox. Every change event is delivered to both replicas (as a
retrying sender or a load balancer would), plus a second event for the same record to the
other one: the jobs are shared between the replicas, each record is created once (one account
in Dataverse, one `created` in the audit, no update for an unchanged record), and nothing is
left in the queue."""
import json
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import mlctest  # noqa: E402
from mlctest import check, check_eq, run, say, wait_until  # noqa: E402
from test_sync_lib import (audit, customers, idle, rows, sandbox, service,  # noqa: E402
                           synced_kind)

N = 24


def test_two_replicas():
    """two replicas share the jobs; one write per record"""
    sb = sandbox(customers=80, orders=10)
    a = service("replica-a", sb, MLC_WORKERS="3")
    b = service("replica-b", sb, MLC_WORKERS="3")
    # One deployment: the same Redis prefix and the same webhook secret.
    b.prefix = a.prefix
    b.env["MLC_REDIS_KEY_PREFIX"] = a.prefix
    b.ns_secret = a.ns_secret
    b.env["MLC_NETSUITE_WEBHOOK_SECRETS"] = a.ns_secret
    a.start()
    b.start()
    picks = [c for c in customers(sb, "c.parent IS NULL") if synced_kind(c)][:N]
    check(len(picks) == N, f"{N} customers that sync")
    acct = a.env["MLC_NETSUITE_ACCOUNT_ID"]
    errors = []

    def send(svc, ev):
        r = svc.post_ns(ev)
        if r.status != 202:
            errors.append((svc.name, r.status))

    threads = []
    for i, c in enumerate(picks):
        ev = mlctest.ns_event(record_type="customer", record_id=c["id"], account=acct)
        other = mlctest.ns_event(record_type="customer", record_id=c["id"], account=acct,
                                 event_type="xedit")
        first, second = (a, b) if i % 2 else (b, a)
        for svc, e in ((first, ev), (second, ev), (second, other)):
            t = threading.Thread(target=send, args=(svc, e))
            t.start()
            threads.append(t)
    for t in threads:
        t.join()
    check(not errors, f"{3 * N} deliveries -> 202 from both replicas", errors[:3])
    idle(a, timeout=120)
    wait_until(lambda: all(rows(sb, "accounts", "mlc_netsuitecustomerid", str(c["id"]))
                           for c in picks), "every account to exist", timeout=120)
    dups = [c["id"] for c in picks
            if len(rows(sb, "accounts", "mlc_netsuitecustomerid", str(c["id"]))) != 1]
    check(not dups, "exactly one account per customer in the sandbox's Dataverse", dups[:5])
    ents = [e for e in audit(a) if e["type"] == "customer" and
            int(e["nsId"]) in {c["id"] for c in picks}]
    # A create may be followed, in the same job, by the primary-contact PATCH (an `updated`
    # with the same jobId); a second write of the record by another job would be a duplicate.
    jobs, creates = {}, {}
    for e in ents:
        if e["action"] in ("created", "updated"):
            jobs.setdefault(e["nsId"], set()).add(e["jobId"])
        if e["action"] == "created":
            creates[e["nsId"]] = creates.get(e["nsId"], 0) + 1
    bad = {k: sorted(v) for k, v in jobs.items() if len(v) != 1 or creates.get(k) != 1}
    check(len(jobs) == N and not bad,
          "each record written by one job only, created once (the other events: unchanged)",
          bad)
    done = [mlctest.Metrics(s.get("/metrics").body.decode()).get(
        "mlc_jobs_total", kind="customer", outcome="done") or 0 for s in (a, b)]
    say(f"     figures: customer jobs done by replica a: {done[0]:.0f}, by b: {done[1]:.0f} "
        f"({3 * N} deliveries of {2 * N} events for {N} records)")
    check(done[0] > 0 and done[1] > 0, "both replicas ran jobs", done)
    check(sum(done) <= 2 * N, "no more jobs than distinct events (duplicates dropped)", done)
    for s in (a, b):
        check(s.stop() == 0, f"{s.name}: SIGTERM -> exit 0")
        mlctest.check_logs_clean(s, [a.ns_secret, s.dv_key])


if __name__ == "__main__":
    run(test_two_replicas)
