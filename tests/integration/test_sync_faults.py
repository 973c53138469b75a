#!/usr/bin/env python3
"""A full sync under faults (the real binary, Redis, the sandbox over HTTPS): Dataverse answers
a share of calls 429 with Retry-After and 500/503, NetSuite answers a share 429 and its account
concurrency limit is low, so concurrency errors happen too; the end state in the sandbox's dump
is the same as without faults (one row per record, fields as expected, no duplicates)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mlctest  # noqa: E402
from mlctest import check, check_eq  # noqa: E402
from test_sync_lib import check_end_state, idle, sandbox, service  # noqa: E402


def test_faults():
    """429 storm on Dataverse, 429s and concurrency errors on NetSuite: the same end state."""
    sb = sandbox(customers=300, orders=80, items=30)
    sb.dsettings(rateRequests=10 ** 7, rate429=0.15, rate5xx=0.05)
    st, _ = sb.admin("PATCH", "settings", {"rate429": 0.1, "concurrencyLimit": 2})
    check_eq(st, 200, "sandbox NetSuite faults on")
    s = service("sync-faults", sb, MLC_WORKERS=6, MLC_BULK_WORKER_SHARE=1,
                MLC_NETSUITE_MAX_CONCURRENCY=4, MLC_QUEUE_RETRY_MAX_S=2).start()
    for t in ("customer", "salesorder"):
        rc, out, err = s.cli("backfill", "--type", t, "--since", "2000-01-01", timeout=600)
        check_eq(rc, 0, "backfill --type %s" % t)
        idle(s, timeout=900)
    st, data = sb.dadmin("GET", "stats")
    check(data["outcomes"]["fault429"] > 0 and data["outcomes"]["fault5xx"] > 0,
          "Dataverse faults happened (%s)" % data["outcomes"])
    st, ns = sb.admin("GET", "stats")
    mlctest.say("    NetSuite stats: %s" % {k: v for k, v in ns.items() if k != "calls"})
    dead = [dict(zip(f[::2], f[1::2])).get("reason", "")[:160]
            for _i, f in s.redis.cmd("XRANGE", s.key("q:dlq"), "-", "+") or []]
    check_eq(dead, [], "nothing dead-lettered")
    check_end_state(sb)


if __name__ == "__main__":
    mlctest.run(test_faults)
