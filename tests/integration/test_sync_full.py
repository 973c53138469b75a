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
from test_sync_lib import (audit, compare, customers, dv_calls, expected_account, idle, mapping, rows,  # noqa: E402
                           sandbox, service, synced_kind)

CUSTOMERS = int(os.environ.get("MLC_IT_SYNC_CUSTOMERS", "1500"))
ORDERS = int(os.environ.get("MLC_IT_SYNC_ORDERS", "400"))


def by_key(rs, key):
    out = {}
    for r in rs:
        if r.get(key) is not None:
            out.setdefault(r[key], []).append(r)
    return out


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
    n = len(synced) + len(orders)
    mlctest.say("    %d customers (%d synced), %d contacts, %d orders in %.1f s (%.0f records/s)"
                % (len(cs), len(synced), len(want_k), len(orders), secs, n / secs))

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
