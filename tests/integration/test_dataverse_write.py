#!/usr/bin/env python3
"""Dataverse client writes against the sandbox: the duplicate-key race, UpsertMultiple with bulk
on (one counted request per 1,000 rows) and $batch with the documented defaults (one per row),
the fallbacks (bind by key refused inside Targets, upserts refused inside change sets), a
poisoned row isolated, reference data cached, order state."""
import json
import uuid

from test_dataverse_lib import (dv_env, protection, reset_protection, rows_by, shared_sandbox,
                                tool)
import mlctest
from mlctest import check, check_eq, unique_prefix

KEY = "mlc_netsuitecustomerid"


def sb():
    return shared_sandbox()


def defaults(s):
    s.dsettings(updateMultipleTables="salesorder,salesorderdetail", bulkBindByKey="accept",
                changesetUpsert="accept", upsertRaceMs=0)


def test_duplicate_key_race():
    s = sb()
    defaults(s)
    s.dsettings(upsertRaceMs=1500)  # wide enough for three TLS handshakes on a loaded machine
    try:
        env = dv_env(s, unique_prefix("dvw"))
        k = "R-" + uuid.uuid4().hex[:8]
        code, out, err = tool(env, "race", "--threads", "3", "--key", json.dumps({KEY: k}),
                              "--body", json.dumps({"name": "Race " + k}))
        check_eq(out["ok"], 3, "three concurrent upserts of one key all succeed: %s" % out)
        check_eq(out["errors"], [], "no failed write")
        check(out["counters"]["dupRetries"] >= 1, "the duplicate-key answer was met and retried",
              out["counters"])
        check_eq(len(rows_by(s, "accounts", KEY).get(k, [])), 1, "exactly one row")
    finally:
        s.dsettings(upsertRaceMs=0)


def load(env, prefix, count, *extra):
    code, out, err = tool(env, "load", "--prefix", prefix, "--count", str(count), *extra)
    check(out is not None, "load printed its figures", err[-2000:])
    return code, out


def test_bulk_one_request_per_1000():
    s = sb()
    defaults(s)
    s.dsettings(updateMultipleTables="salesorder,salesorderdetail,account")
    try:
        env = dv_env(s, unique_prefix("dvw"), MLC_DATAVERSE_BULK_CHUNK=1000)
        code, out, err = tool(env, "bulk-supported", "account")
        check_eq(out["bulk"], True, "bulk on: account has UpsertMultiple")
        reset_protection(s)
        p = "B" + uuid.uuid4().hex[:6] + "-"
        code, out = load(env, p, 1000)
        check_eq((out["done"], out["failed"]), (1000, 0), "1,000 accounts written")
        check_eq(out["counters"]["bulkCalls"], 1, "one UpsertMultiple call")
        check_eq(protection(s)["windowRequests"], 1, "exactly one counted request")
        got = rows_by(s, "accounts", KEY)
        check_eq(sum(1 for i in range(1000) if len(got.get(p + str(i), [])) == 1), 1000,
                 "every row once")
        check_eq(got[p + "7"][0]["name"], "Account %s7" % p, "columns written")
    finally:
        defaults(s)


def test_batch_with_documented_defaults():
    s = sb()
    defaults(s)
    env = dv_env(s, unique_prefix("dvw"))
    code, out, err = tool(env, "bulk-supported", "account")
    check_eq(out["bulk"], False, "documented defaults: no UpsertMultiple on account")
    reset_protection(s)
    p = "D" + uuid.uuid4().hex[:6] + "-"
    code, out = load(env, p, 1000)
    check_eq((out["done"], out["failed"]), (1000, 0), "1,000 accounts written through $batch")
    check_eq(out["counters"]["batchCalls"], 5, "five $batch calls of 200 (the default chunk)")
    check_eq(out["counters"]["bulkCalls"], 0, "no bulk call")
    check_eq(protection(s)["windowRequests"], 1000, "one counted request per row")
    got = rows_by(s, "accounts", KEY)
    check_eq(sum(1 for i in range(1000) if len(got.get(p + str(i), [])) == 1), 1000,
             "every row once")


def test_bind_by_key_refused_in_targets():
    s = sb()
    defaults(s)
    s.dsettings(updateMultipleTables="salesorder,salesorderdetail,account",
                bulkBindByKey="refuse")
    try:
        env = dv_env(s, unique_prefix("dvw"), MLC_DATAVERSE_BULK_CHUNK=50)
        parent = "P-" + uuid.uuid4().hex[:8]
        code, out, err = tool(env, "write", "--key", json.dumps({KEY: parent}), "--body",
                              json.dumps({"name": "Parent"}))
        pid = out["id"]
        p = "K" + uuid.uuid4().hex[:6] + "-"
        code, out = load(env, p, 120, "--bind-set", "accounts", "--bind-keycol", KEY,
                         "--bind-value", parent)
        check_eq((out["done"], out["failed"]), (120, 0), "every row written: %s" % out["failures"])
        check(out["counters"]["fallbacks"] >= 1, "the GUID fallback was used")
        got = rows_by(s, "accounts", KEY)
        check_eq(sum(1 for i in range(120) if got[p + str(i)][0].get("_parentaccountid_value") ==
                     pid), 120, "every row bound to the parent by GUID")
    finally:
        defaults(s)


def currency_and_pricelist(s, env):
    code, cur, err = tool(env, "refdata", "currency", "USD", "--repeat", "3")
    check_eq(cur["result"], "ok", "currency USD found: %s" % cur)
    check_eq(cur["counters"]["requests"], 1, "three lookups, one call (cached)")
    code, pl, err = tool(env, "refdata", "pricelist", cur["id"])
    check_eq(pl["result"], "ok", "a price list for USD: %s" % pl)
    code, miss, err = tool(env, "refdata", "currency", "XXX", "--repeat", "2")
    check_eq((miss["result"], miss["counters"]["requests"]), ("not_found", 1),
             "a miss is cached too")
    return cur["id"], pl["id"]


def test_changeset_upserts_refused():
    s = sb()
    defaults(s)
    env = dv_env(s, unique_prefix("dvw"))
    cur, pl = currency_and_pricelist(s, env)
    cust = "C-" + uuid.uuid4().hex[:8]
    tool(env, "write", "--key", json.dumps({KEY: cust}), "--body", json.dumps({"name": "Cust"}))
    results = {}
    for mode in ("accept", "refuse"):
        s.dsettings(changesetUpsert=mode)
        order, line = "O-" + uuid.uuid4().hex[:8], "L-" + uuid.uuid4().hex[:8]
        code, out, err = tool(env, "changeset", "--order", order, "--line", line, "--customer",
                              cust, "--pricelevel", pl, "--currency", cur)
        check_eq(code, 0, "change set with upserts, %s: %s" % (mode, out))
        check_eq([o["status"] // 100 for o in out["ops"]], [2, 2, 2], "every part succeeded (%s)"
                 % mode)
        orders = rows_by(s, "salesorders", "mlc_netsuitesalesorderid").get(order, [])
        lines = rows_by(s, "salesorderdetails", "mlc_netsuitelinekey").get(line, [])
        check_eq((len(orders), len(lines)), (1, 1), "the order and its line exist (%s)" % mode)
        if orders and lines:
            check_eq(lines[0].get("_salesorderid_value"), orders[0]["salesorderid"],
                     "the line is bound to its order (%s)" % mode)
            check_eq(out["ops"][0]["id"], orders[0]["salesorderid"], "the order id is returned")
        check_eq(out["ops"][2]["body"]["name"], "Cust", "the GET outside the change set")
        results[mode] = out
        # a second run updates the same rows (the fallback resolves them to GUIDs now)
        code, out, err = tool(env, "changeset", "--order", order, "--line", line, "--customer",
                              cust, "--pricelevel", pl, "--currency", cur)
        check_eq(code, 0, "the same change set again (%s)" % mode)
        check_eq(len(rows_by(s, "salesorders", "mlc_netsuitesalesorderid").get(order, [])), 1,
                 "still one order (%s)" % mode)
    check(results["refuse"]["counters"]["fallbacks"] >= 1, "the change-set fallback was used")
    defaults(s)


def test_poisoned_row():
    s = sb()
    defaults(s)
    for bulk in (True, False):
        if bulk:
            s.dsettings(updateMultipleTables="salesorder,salesorderdetail,account")
        env = dv_env(s, unique_prefix("dvw"), MLC_DATAVERSE_BULK_CHUNK=200)
        p = "X" + uuid.uuid4().hex[:6] + "-"
        code, out = load(env, p, 200, "--poison", "137")
        what = "bulk" if bulk else "$batch"
        check_eq((out["done"], out["failed"]), (199, 1), "199 written, 1 failed (%s)" % what)
        f = [x for x in out["failures"] if "key" in x]
        check_eq([x["key"][KEY] for x in f], [p + "137"], "the poisoned row is the one (%s)" % what)
        if f:
            check(f[0]["error"]["status"] == 400 and f[0]["error"]["code"].startswith("0x"),
                  "it fails with its Dataverse error (%s)" % what, f[0]["error"])
            check_eq(f[0]["error"]["retryable"], False, "and is not retried (%s)" % what)
        got = rows_by(s, "accounts", KEY)
        check_eq(sum(1 for i in range(200) if p + str(i) in got), 199, "the others are in (%s)"
                 % what)
        if bulk:
            check(out["counters"]["splits"] >= 1, "the chunk was split to isolate it")
        defaults(s)


def test_order_state():
    s = sb()
    defaults(s)
    env = dv_env(s, unique_prefix("dvw"))
    cur, pl = currency_and_pricelist(s, env)
    cust = "S-" + uuid.uuid4().hex[:8]
    tool(env, "write", "--key", json.dumps({KEY: cust}), "--body", json.dumps({"name": "Cust"}))
    ids = []
    for i in range(2):
        order = "OS-" + uuid.uuid4().hex[:8]
        code, out, err = tool(env, "write", "--set", "salesorders", "--table", "salesorder",
                              "--key", json.dumps({"mlc_netsuitesalesorderid": order}), "--body",
                              json.dumps({"name": "SO " + order,
                                          "customerid_account@odata.bind":
                                          "/accounts(%s='%s')" % (KEY, cust),
                                          "pricelevelid@odata.bind": "/pricelevels(%s)" % pl,
                                          "transactioncurrencyid@odata.bind":
                                          "/transactioncurrencies(%s)" % cur}))
        check_eq(out["result"], "ok", "order created: %s" % out)
        ids.append(out["id"])

    def state(i):
        return [(r["statecode"], r["statuscode"]) for r in s.rows("salesorders")
                if r["salesorderid"] == ids[i]][0]

    check_eq(tool(env, "order-state", ids[0], "1", "3")[0], 0, "Active -> Submitted")
    check_eq(state(0), (1, 3), "submitted")
    check_eq(tool(env, "order-state", ids[0], "0", "1")[0], 0, "Submitted -> Active")
    check_eq(state(0), (0, 1), "active again")
    check_eq(tool(env, "order-close", ids[0], "fulfill", "100001")[0], 0, "FulfillSalesOrder")
    check_eq(state(0), (3, 100001), "fulfilled")
    check_eq(tool(env, "order-close", ids[1], "cancel", "4")[0], 0, "CancelSalesOrder")
    check_eq(state(1), (2, 4), "cancelled")
    code, out, err = tool(env, "order-state", ids[1], "0", "1")
    check_eq(code, 1, "a closed order cannot be reopened by PATCH")
    check("read only" in out["error"]["message"], "the read-only error is reported",
          out["error"])


if __name__ == "__main__":
    mlctest.run(test_duplicate_key_race, test_bulk_one_request_per_1000,
                test_batch_with_documented_defaults, test_bind_by_key_refused_in_targets,
                test_changeset_upserts_refused, test_poisoned_row, test_order_state)
