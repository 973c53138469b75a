#!/usr/bin/env python3
"""Dataverse throttling across processes: two dataverse-tool processes (one Redis, one identity)
load 10,000 rows with the sandbox's service-protection limits set low: no call made during a
Retry-After pause, the peak concurrency equal to MLC_DATAVERSE_MAX_CONCURRENCY, nothing lost.
Token expiry and revocation mid-load: no failed write. 5xx faults: retried."""
import uuid

from test_dataverse_lib import (dv_env, finish, protection, reset_protection, rows_by,
                                shared_sandbox, stats, tool, tool_bg)
import mlctest
from mlctest import check, check_eq, unique_prefix

KEY = "mlc_netsuitecustomerid"
CAP = 4


def sb():
    return shared_sandbox()


def normal(s):
    s.dsettings(updateMultipleTables="salesorder,salesorderdetail", rateRequests=6000,
                rateWindowS=300, rateConcurrency=52, latencyMs=0, rate5xx=0, rate429=0,
                tokenLifetimeS=3599)


def count_written(s, p, n):
    got = rows_by(s, "accounts", KEY)
    return sum(1 for i in range(n) if len(got.get(p + str(i), [])) == 1)


def test_two_processes_low_limits():
    s = sb()
    normal(s)
    # bulk on, chunks of 25: 400 UpsertMultiple calls for 10,000 rows; 40 requests per 2 s
    # is far below what 8 threads would send, so the sandbox answers 429s many times over
    s.dsettings(updateMultipleTables="salesorder,salesorderdetail,account", rateRequests=40,
                rateWindowS=2, rateConcurrency=CAP + 2, latencyMs=20)
    try:
        prefix = unique_prefix("dvt")
        env = dv_env(s, prefix, MLC_DATAVERSE_MAX_CONCURRENCY=CAP, MLC_DATAVERSE_BULK_CHUNK=25)
        tool(env, "bulk-supported", "account")
        reset_protection(s)
        p = "T" + uuid.uuid4().hex[:6] + "-"
        procs = [tool_bg(env, "load", "--prefix", p, "--count", "5000", "--start", str(i * 5000),
                         "--threads", "4") for i in range(2)]
        outs = [finish(x) for x in procs]
        for code, out, err in outs:
            check(out is not None, "the process printed its figures", err[-2000:])
            check_eq((code, out["done"], out["failed"]), (0, 5000, 0),
                     "every row of the process written")
        prot = protection(s)
        throttled = sum(prot["throttled"].values())
        check(throttled >= 1, "the sandbox did throttle (%d 429s)" % throttled, prot)
        check_eq(sum(o[1]["counters"]["throttled"] for o in outs), throttled,
                 "every 429 was seen by a client")
        check_eq(prot["callsDuringRetryAfter"], 0, "zero calls during a Retry-After pause")
        check_eq(prot["peakConcurrency"], CAP, "the peak concurrency equals the cap")
        check_eq(prot["throttled"]["concurrency"], 0, "never over the concurrency limit")
        check_eq(count_written(s, p, 10000), 10000, "nothing lost: 10,000 rows, once each")
        check(any(o[1]["counters"]["pausedMs"] > 0 for o in outs), "the pause was waited out")
    finally:
        normal(s)


def test_token_expiry_mid_load():
    s = sb()
    normal(s)
    s.dsettings(tokenLifetimeS=3, latencyMs=30)
    try:
        env = dv_env(s, unique_prefix("dvt"), MLC_DATAVERSE_BULK_CHUNK=20,
                     MLC_DATAVERSE_MAX_CONCURRENCY=CAP)
        before = stats(s)["tokensIssued"]
        p = "E" + uuid.uuid4().hex[:6] + "-"
        bg = tool_bg(env, "load", "--prefix", p, "--count", "3000", "--threads", "4")
        mlctest.wait_until(lambda: stats(s)["tokensIssued"] > before, "first token", timeout=30)
        import time
        time.sleep(1.0)
        st, _ = s.dadmin("POST", "tokens/revoke")  # a revoked token: 401, one forced refresh
        code, out, err = finish(bg)
        check_eq((code, out["done"], out["failed"]), (0, 3000, 0), "no failed write: %s" %
                 (out["failures"][:3] if out else err[-1000:]))
        check(out["counters"]["tokens"] >= 2, "at least two tokens obtained (%d)" %
              out["counters"]["tokens"])
        check(stats(s)["tokensIssued"] - before >= 2, "the sandbox issued at least two tokens")
        check_eq(count_written(s, p, 3000), 3000, "every row in the sandbox")
    finally:
        normal(s)


def test_server_errors_retried():
    s = sb()
    normal(s)
    s.dsettings(rate5xx=0.2)
    try:
        env = dv_env(s, unique_prefix("dvt"), MLC_DATAVERSE_BULK_CHUNK=10)
        p = "F" + uuid.uuid4().hex[:6] + "-"
        code, out, err = tool(env, "load", "--prefix", p, "--count", "300", "--threads", "3")
        check_eq((code, out["done"], out["failed"]), (0, 300, 0), "5xx answers retried, no loss")
        check(stats(s)["outcomes"]["fault5xx"] > 0, "the sandbox did answer 5xx")
        check_eq(count_written(s, p, 300), 300, "every row in the sandbox")
    finally:
        normal(s)


if __name__ == "__main__":
    mlctest.run(test_two_processes_low_limits, test_token_expiry_mid_load,
                test_server_errors_retried)
