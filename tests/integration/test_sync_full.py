#!/usr/bin/env python3
"""A full sync through `backfill` and the bulk lane (the real binary, Redis, the sandbox over
HTTPS): every customer that should sync has exactly one account with the fields computed here
from NetSuite's data and the mapping (leads and prospects none), every contact of a synced
customer one contact row, every order one salesorder row whose state follows its status; no
duplicates by key in the sandbox's dump; the same backfill again costs no Dataverse request."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mlctest  # noqa: E402
from mlctest import check, check_eq  # noqa: E402
from test_netsuite_lib import sql  # noqa: E402
from test_sync_lib import (audit, check_end_state, customers, dv_calls, idle, sandbox,  # noqa: E402
                           service)

CUSTOMERS = int(os.environ.get("MLC_IT_SYNC_CUSTOMERS", "1500"))
ORDERS = int(os.environ.get("MLC_IT_SYNC_ORDERS", "400"))


def test_full_sync():
    """Backfill of every customer, then every order: one row per record, fields as expected."""
    sb = sandbox(customers=CUSTOMERS, orders=ORDERS, items=40)
    # service protection (6,000 requests per 5 minutes, as Dataverse) is not what this test is
    # about: a full load of this size would wait out the window (test_sync_load covers nothing of it yet)
    sb.dsettings(rateRequests=10 ** 7)
    s = service("sync-full", sb, MLC_WORKERS=6, MLC_BULK_WORKER_SHARE=1).start()
    t0 = time.monotonic()
    for t in ("customer", "salesorder"):
        rc, out, err = s.cli("backfill", "--type", t, "--since", "2000-01-01", timeout=600)
        check_eq(rc, 0, "backfill --type %s (%s)" % (t, err.strip()[-300:]))
        idle(s, timeout=900)
    secs = time.monotonic() - t0
    synced, want_k, orders = check_end_state(sb)
    n = len(synced) + len(orders)
    mlctest.say("    %d customers synced, %d contacts, %d orders in %.1f s (%.0f records/s)"
                % (len(synced), len(want_k), len(orders), secs, n / secs))

    # the same backfill again: nothing changed, nothing written
    calls = dv_calls(sb)
    seen = len(audit(s))
    for t in ("customer", "salesorder"):
        s.redis.delete_prefix(s.key("backfill:"))
        rc, out, err = s.cli("backfill", "--type", t, "--since", "2000-01-01", timeout=600)
        check_eq(rc, 0, "second backfill --type %s" % t)
        idle(s, timeout=900)
    again = [(e["type"], e["nsId"], e["action"], sorted(e.get("changes") or {}), e["calls"], e["source"])
             for e in audit(s)[seen:] if e["action"] not in ("unchanged", "filtered")]
    check_eq(again, [], "the unchanged pass: every record unchanged or filtered")
    check_eq(dv_calls(sb) - calls, 0, "the unchanged pass costs zero Dataverse requests")


if __name__ == "__main__":
    mlctest.run(test_full_sync)
