#!/usr/bin/env python3
"""The poller in `serve` against the sandbox (America/Los_Angeles user time zone): changes stamped
one second before local midnight (a different UTC date), line-only order changes, changes made
while it runs and deletions are all enqueued on the bulk stream, and nothing that did not change
since it was last written; a killed leader is replaced; `backfill` resumes after kill -9 without
gaps."""
import datetime
import os
import signal
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mlctest  # noqa: E402
from mlctest import check, check_eq, wait_until, Service, Redis, fixture_redis_port, unique_prefix  # noqa: E402
from test_netsuite_lib import shared_sandbox, ns_env, sql, bulk_jobs  # noqa: E402

TZ = "America/Los_Angeles"
def sandbox():
    return shared_sandbox("--timezone", TZ, customers=3000, orders=60, items=20)


def mutate(sb, method, path, body):
    st, data = sb.admin(method, path, body)
    assert st == 200, (method, path, st, data)
    return data


def utc_ms(sb, table, rid):
    col = "linelastmodifieddate" if table == "transactionline" else "lastmodifieddate"
    key = "uniquekey" if table == "transactionline" else "id"
    # the sandbox stores datetimes as days since 1970 UTC
    r = sql(sb, "SELECT %s AS d FROM \"%s\" WHERE %s = %d" % (col, table, key, rid))[0]
    return int(round(r["d"] * 86400)) * 1000


def poller(name, sb, prefix, start):
    env = dict(sb.settings)
    env.update({"MLC_REDIS_KEY_PREFIX": prefix, "MLC_POLL_INTERVAL_S": "1",
                "MLC_POLL_OVERLAP_S": "60", "MLC_POLL_START": start,
                "MLC_BULK_WORKER_SHARE": "0", "MLC_LOG_LEVEL": "info"})
    return Service(name, env=env)


def jobs_by_record(redis, prefix):
    out = {}
    for kind, rid, op, d in bulk_jobs(redis, prefix):
        out.setdefault((kind, rid, op), []).append(d)
    return out


def test_poller_and_failover():
    """Every changed record enqueued once, unchanged ones never; a killed leader is replaced."""
    sb = sandbox()
    r = Redis(fixture_redis_port())
    prefix = unique_prefix("poll")
    now = datetime.datetime.now(datetime.timezone.utc)
    start = (now - datetime.timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")
    custs = [x["id"] for x in sql(sb, "SELECT id FROM customer WHERE isperson = 'F' ORDER BY id"
                                      " LIMIT 6")]
    a, b, e, g, h, k = custs
    # A: changed one second before the user's local midnight, yesterday (local); in UTC that is
    # already the next calendar day, which a date-only filter in local time would miss
    local = datetime.datetime.now(ZoneInfo(TZ)).replace(hour=0, minute=0, second=0,
                                                         microsecond=0)
    stamp = local - datetime.timedelta(seconds=1)
    check(stamp.astimezone(datetime.timezone.utc).date() != stamp.date(),
          "the stamp falls on another UTC date than its local date")
    mutate(sb, "PATCH", "customers/%d" % a, {"fields": {"phone": "+1 555 0001"},
                                            "lastModifiedDate": stamp.isoformat(), "emit": False})
    mutate(sb, "PATCH", "customers/%d" % b, {"fields": {"phone": "+1 555 0002"}, "emit": False})
    # E changed too, but its state says that version was already written
    mutate(sb, "PATCH", "customers/%d" % e, {"fields": {"phone": "+1 555 0003"}, "emit": False})
    r.cmd("HSET", prefix + "state:customer:%d" % e, "nslm", utc_ms(sb, "customer", e))
    # B's state is older than its change: enqueued
    r.cmd("HSET", prefix + "state:customer:%d" % b, "nslm", utc_ms(sb, "customer", b) - 5000)
    contact = sql(sb, "SELECT id FROM contact ORDER BY id LIMIT 2")
    mutate(sb, "PATCH", "contacts/%d" % contact[0]["id"], {"fields": {"title": "CFO"},
                                                           "emit": False})
    mutate(sb, "DELETE", "contacts/%d" % contact[1]["id"], {"emit": False})
    order = sql(sb, "SELECT t.id, tl.id AS line, t.lastmodifieddate AS hdr FROM \"transaction\" t"
                    " JOIN transactionline tl ON tl.\"transaction\" = t.id WHERE tl.mainline = 'F'"
                    " AND t.type = 'SalesOrd' ORDER BY t.id LIMIT 1")[0]
    mutate(sb, "PATCH", "salesorders/%d/lines/%d" % (order["id"], order["line"]),
           {"fields": {"quantity": 7}, "emit": False})
    hdr_after = sql(sb, "SELECT lastmodifieddate AS d FROM \"transaction\" WHERE id = %d"
                    % order["id"])[0]["d"]
    check_eq(hdr_after, order["hdr"], "the order's header date did not move (line-only change)")

    sa = poller("poller-a", sb, prefix, start).start()
    want = {("customer", str(a), "change"), ("customer", str(b), "change"),
            ("contact", str(contact[0]["id"]), "change"),
            ("contact", str(contact[1]["id"]), "delete"),
            ("salesorder", str(order["id"]), "change")}
    wait_until(lambda: want <= set(jobs_by_record(r, prefix)), "the first poll's jobs")
    time.sleep(3)  # a few more cycles over the same window (overlap): nothing new may appear
    got = jobs_by_record(r, prefix)
    check_eq(set(got), want, "exactly the changed records were enqueued")
    check(all(len(v) == 1 for v in got.values()), "each once, through repeated cycles",
          {k: len(v) for k, v in got.items()})
    d = got[("customer", str(a), "change")][0]
    check_eq(d["source"], "netsuite_poller", "job source")
    check_eq(d["lastModified"][:19],
             stamp.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
             "the job carries the UTC last-modified")
    m = sa.metrics()
    check(m.has("mlc_net_requests_total", system="netsuite", endpoint="suiteql", status="200"),
          "request metrics per system and endpoint")
    check(m.has("mlc_netsuite_certificate_expiry_seconds"), "certificate expiry exported")
    check_eq(m.get("mlc_netsuite_token_lifetime_seconds"), 3600.0, "token lifetime exported")
    check_eq(m.get("mlc_poller_leader"), 1.0, "this replica leads")
    wm = int(r.cmd("GET", prefix + "poll:wm:customer"))
    check(abs(wm / 1000 - time.time()) < 30, "the watermark advanced to about now")

    # changes while it runs: G now, E again (newer than its state)
    mutate(sb, "PATCH", "customers/%d" % g, {"fields": {"phone": "+1 555 0004"}, "emit": False})
    mutate(sb, "PATCH", "customers/%d" % e, {"fields": {"phone": "+1 555 0005"}, "emit": False})
    wait_until(lambda: {("customer", str(g), "change"), ("customer", str(e), "change")}
               <= set(jobs_by_record(r, prefix)), "changes made during the run enqueued")

    # a second replica; the leader dies; the other takes over within a lease period
    sb2 = poller("poller-b", sb, prefix, start).start()
    time.sleep(2)
    check("this replica is the leader" not in sb2.log_text(), "the second replica waits")
    sa.kill9()
    mutate(sb, "PATCH", "customers/%d" % h, {"fields": {"phone": "+1 555 0006"}, "emit": False})
    t0 = time.monotonic()
    wait_until(lambda: ("customer", str(h), "change") in jobs_by_record(r, prefix),
               "the new leader's poll")
    check("this replica is the leader" in sb2.log_text(), "the second replica took over")
    check(time.monotonic() - t0 < 15, "within a lease period and a cycle")
    check(("customer", str(k), "change") not in jobs_by_record(r, prefix),
          "an untouched customer was never enqueued")
    sb2.stop()


def test_backfill_resume():
    """backfill: kill -9 in the middle, run again: every record, no gaps."""
    sb = sandbox()
    prefix = unique_prefix("bf")
    r = Redis(fixture_redis_port())
    env = ns_env(sb, prefix)
    binary = mlctest.MLC_BIN
    sb.settings_patch(latencyMs=700)
    try:
        p = subprocess.Popen([binary, "backfill", "--type", "customer", "--since", "2000-01-01"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        key = prefix + "backfill:customer:%d:0" % (946684800 * 1000)
        wait_until(lambda: r.cmd("HGET", key, "after"), "the first page's cursor")
        p.send_signal(signal.SIGKILL)
        p.wait()
        check(not r.cmd("HGET", key, "done"), "killed before the end")
        before = int(r.cmd("HGET", key, "enqueued"))
        res = subprocess.run([binary, "backfill", "--type", "customer", "--since", "2000-01-01"],
                             env=env, capture_output=True, timeout=300)
    finally:
        sb.settings_patch(latencyMs=0)
    out = res.stdout.decode()
    mlctest.check_no_sanitizer_report(res.stderr.decode(), "backfill")
    check_eq(res.returncode, 0, "the second run completes: " + res.stderr.decode()[-300:])
    check('"resumed":true' in out, "it resumed", out)
    check("resuming after id" in res.stderr.decode(), "and said where from")
    ids = {str(x["id"]) for x in sql(sb, "SELECT id FROM customer")}
    got = {rid for kind, rid, op, d in bulk_jobs(r, prefix) if kind == "customer"}
    check_eq(len(ids - got), 0, "no customer missing (%d enqueued before the kill)" % before)
    check_eq(len(got - ids), 0, "nothing else")
    res = subprocess.run([binary, "backfill", "--type", "customer", "--since", "2000-01-01"],
                         env=env, capture_output=True, timeout=60)
    check('"complete":true' in res.stdout.decode() and res.returncode == 0,
          "a finished backfill says so")
    res = subprocess.run([binary, "backfill", "--type", "nope", "--since", "2000-01-01"],
                         env=env, capture_output=True, timeout=60)
    check_eq(res.returncode, 2, "bad usage exits 2")


if __name__ == "__main__":
    mlctest.run(test_poller_and_failover, test_backfill_resume)
