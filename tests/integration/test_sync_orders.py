#!/usr/bin/env python3
"""Sales orders -> salesorders with lines through the real binary, Redis and the sandbox over
HTTPS: every order of the sandbox (every status, several currencies, unknown SKUs, a large order)
synced from webhooks; each order and line compared with an expectation computed here from
NetSuite's data and the mapping (account by key, price list by currency, NetSuite's total and
status, close action for final statuses, products by SKU with write-in lines and exceptions,
special lines); the customer synced first; events repeated write nothing; a changed line is the
only line rewritten; a line gone from NetSuite is removed; a status change to Billed closes the
order; a deletion cancels it."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mlctest  # noqa: E402
from mlctest import check, check_eq, wait_until  # noqa: E402
from test_netsuite_lib import sql  # noqa: E402
from test_sync_lib import (audit, audit_of, customers, dv_calls, idle, mapping, post_event,  # noqa: E402
                           rows, sandbox, service, state, synced_kind)

# NetSuite's sales order status labels (BUILTIN.DF of transaction.status)
LABELS = {"A": "Pending Approval", "B": "Pending Fulfillment", "C": "Cancelled",
          "D": "Partially Fulfilled", "E": "Pending Billing/Partially Fulfilled",
          "F": "Pending Billing", "G": "Billed", "H": "Closed"}
CLOSED = {2: "Canceled", 3: "Fulfilled"}
CTX = {}


def sb():
    return sandbox(customers=60, orders=40, items=24)


def svc():
    if "svc" not in CTX:
        CTX["svc"] = service("sync-orders", sb(), MLC_WORKERS=4).start()
    return CTX["svc"]


def orders():
    return sql(sb(), "SELECT t.id, t.tranid, t.entity, t.status, t.foreigntotal, t.memo, "
                     "t.otherrefnum, cur.symbol AS iso FROM \"transaction\" t LEFT JOIN currency "
                     "cur ON cur.id = t.currency WHERE t.type = 'SalesOrd' ORDER BY t.id")


def lines_of(oid):
    return sql(sb(), "SELECT tl.uniquekey, tl.quantity, tl.rate, i.itemid AS sku FROM "
                     "transactionline tl LEFT JOIN item i ON i.id = tl.item WHERE "
                     "tl.\"transaction\" = %d AND tl.mainline = 'F' AND "
                     "COALESCE(tl.taxline, 'F') = 'F' ORDER BY tl.uniquekey" % oid)


def order_row(oid):
    r = rows(sb(), "salesorders", "mlc_netsuitesalesorderid", str(oid))
    return r


def post_many(s, rtype, ids):
    for at in range(0, len(ids), 100):
        evs = [mlctest.ns_event(record_type=rtype, record_id=i,
                                account=s.env["MLC_NETSUITE_ACCOUNT_ID"]) for i in ids[at:at + 100]]
        r = s.post_ns({"events": evs})
        check_eq(r.status, 202, "a batch of %d events accepted" % len(evs))


def outcome(s, oid):
    return [e for e in audit_of(s, "salesorder", oid) if e["action"] != "unchanged"]


def test_all_orders():
    """Every order: one row, header and lines as NetSuite and the mapping say."""
    s = svc()
    m = mapping()
    os_ = orders()
    check(len({o["status"] for o in os_}) >= 5, "orders in many statuses")
    check(len({o["iso"] for o in os_}) >= 3, "orders in several currencies")
    post_many(s, "salesorder", [o["id"] for o in os_])
    wait_until(lambda: all(outcome(s, o["id"]) for o in os_), "an outcome for every order",
               timeout=300)
    idle(s, timeout=120)
    products = {p["productnumber"]: p["productid"] for p in rows(sb(), "products")}
    pricelists = {}
    curs = {c["transactioncurrencyid"]: c["isocurrencycode"]
            for c in rows(sb(), "transactioncurrencies")}
    for p in rows(sb(), "pricelevels"):
        pricelists[curs.get(p.get("_transactioncurrencyid_value"))] = p["pricelevelid"]
    special = m["salesorderdetail"]["specialLines"]
    leads = {c["id"] for c in customers(sb()) if not synced_kind(c)}
    details = rows(sb(), "salesorderdetails")
    by_order = {}
    for d in details:
        by_order.setdefault(d["_salesorderid_value"], []).append(d)
    n_lines = n_writein = 0
    biggest = 0
    for o in os_:
        what = "order %d" % o["id"]
        got = order_row(o["id"])
        if o["entity"] in leads:
            check_eq(len(got), 0, what + ": no row (its customer is filtered out)")
            check(any("customer_not_synced" in json.dumps(e) for e in outcome(s, o["id"])),
                  what + ": the exception names the customer")
            continue
        check_eq(len(got), 1, what + ": exactly one salesorder row")
        row = got[0]
        acc = rows(sb(), "accounts", "mlc_netsuitecustomerid", str(o["entity"]))
        check_eq(len(acc), 1, what + ": its customer was synced (one account)")
        check_eq(row["_customerid_value"], acc[0]["accountid"], what + ": bound to the account")
        check_eq(row["name"], o["tranid"], what + ": name")
        check_eq(row["ordernumber"], o["tranid"], what + ": ordernumber (on create)")
        check(abs(row["mlc_netsuitetotal"] - float(o["foreigntotal"])) < 0.005,
              what + ": mlc_netsuitetotal")
        check_eq(row["mlc_netsuitestatus"], LABELS[o["status"]], what + ": mlc_netsuitestatus")
        check_eq(row["_pricelevelid_value"], pricelists[o["iso"]], what + ": price list by currency")
        st = m["salesorder"]["statuses"][o["status"]]
        if "close" in st:
            want = (2 if st["close"] == "cancel" else 3, st["closeStatus"])
        else:
            want = (0, st["statuscode"])
        check_eq((row["statecode"], row["statuscode"]), want, what + ": state after the close")
        want_lines = [ln for ln in lines_of(o["id"]) if special.get(ln["sku"]) != "skip"]
        have = {d["mlc_netsuitelinekey"]: d for d in by_order.get(row["salesorderid"], [])}
        check_eq(sorted(have), sorted(str(ln["uniquekey"]) for ln in want_lines),
                 what + ": one line per NetSuite line (keys)")
        # the audit keeps every exception; the column holds them too, or only their codes when
        # they do not fit its 4,000 characters
        exc = outcome(s, o["id"])[-1]["exceptions"]
        unknown = {e["value"] for e in exc if e["code"] == "unknown_product"}
        col = json.loads(row["mlc_syncexceptions"]) if row["mlc_syncexceptions"] else []
        check_eq(sorted(x["code"] if isinstance(x, dict) else x for x in col),
                 sorted(e["code"] for e in exc)[:100], what + ": mlc_syncexceptions")
        biggest = max(biggest, len(want_lines))
        for ln in want_lines:
            d = have[str(ln["uniquekey"])]
            lw = what + " line %d" % ln["uniquekey"]
            n_lines += 1
            check(abs(d["quantity"] - abs(ln["quantity"])) < 1e-6, lw + ": quantity")
            check(abs(d["priceperunit"] - float(ln["rate"])) < 0.005, lw + ": priceperunit")
            if ln["sku"] in products and ln["sku"] not in special:
                check_eq(d.get("_productid_value"), products[ln["sku"]], lw + ": product by SKU")
                check_eq(d.get("isproductoverridden"), False, lw + ": not written in")
            else:
                n_writein += 1
                check_eq(d.get("isproductoverridden"), True, lw + ": written in")
                check_eq(d.get("productdescription"), ln["sku"], lw + ": write-in description")
                if ln["sku"] not in special:
                    check(ln["sku"] in unknown, lw + ": unknown_product exception")
    check(n_writein > 0 and n_lines > n_writein, "lines with products and write-in lines")
    check(biggest >= 1000, "a large order (%d lines) among them" % biggest)
    mlctest.say("    %d orders, %d lines (%d written in), largest %d lines"
                % (len(os_), n_lines, n_writein, biggest))


def test_repeat_and_line_change():
    """Events again: no Dataverse call; a changed line is the only line rewritten; a line gone from
    NetSuite is removed."""
    s = svc()
    open_orders = [o for o in orders() if o["status"] in ("B", "D", "E", "F") and order_row(o["id"])
                   and 2 <= len(lines_of(o["id"])) <= 50]
    o = open_orders[0]
    calls = dv_calls(sb())
    n_un = len(audit_of(s, "salesorder", o["id"], "unchanged"))
    for _ in range(5):
        post_event(s, "salesorder", o["id"])
    wait_until(lambda: len(audit_of(s, "salesorder", o["id"], "unchanged")) > n_un,
               "an unchanged outcome")
    idle(s)
    check_eq(dv_calls(sb()) - calls, 0, "repeated events: no Dataverse call")

    row = order_row(o["id"])[0]
    before = {d["mlc_netsuitelinekey"]: d for d in rows(sb(), "salesorderdetails",
                                                         "_salesorderid_value", row["salesorderid"])}
    # a CRM-side line that NetSuite does not have: the next sync removes it
    st, data = sb().dadmin("POST", "rows/salesorderdetails", {
        "salesorderid@odata.bind": "/salesorders(%s)" % row["salesorderid"], "quantity": 1,
        "isproductoverridden": True, "productdescription": "stray", "mlc_netsuitelinekey": "999999"})
    check(st in (200, 201), "sandbox: a stray line created (%s %s)" % (st, data))
    line = sql(sb(), "SELECT id, uniquekey FROM transactionline WHERE \"transaction\" = %d AND "
                     "mainline = 'F' ORDER BY uniquekey LIMIT 1" % o["id"])[0]
    st, data = sb().admin("PATCH", "salesorders/%d/lines/%d" % (o["id"], line["id"]),
                          {"fields": {"quantity": 77}})
    check_eq(st, 200, "sandbox: change one line's quantity")
    n_up = len(audit_of(s, "salesorder", o["id"], "updated"))
    post_event(s, "salesorder", o["id"])
    wait_until(lambda: len(audit_of(s, "salesorder", o["id"], "updated")) > n_up, "the update")
    after = {d["mlc_netsuitelinekey"]: d for d in rows(sb(), "salesorderdetails",
                                                        "_salesorderid_value", row["salesorderid"])}
    check("999999" not in after, "the line gone from NetSuite was removed")
    key = str(line["uniquekey"])
    check_eq(after[key]["quantity"], 77.0, "the changed line written")
    check(after[key]["versionnumber"] != before[key]["versionnumber"], "the changed line rewritten")
    for k, d in after.items():
        if k != key:
            check_eq(d["versionnumber"], before[k]["versionnumber"], "line %s untouched" % k)


def test_close_and_delete():
    """Billed in NetSuite -> the order is fulfilled (closed) in Dataverse; deleted -> cancelled."""
    s = svc()
    open_orders = [o for o in orders() if o["status"] in ("B", "D", "E", "F") and order_row(o["id"])
                   and len(lines_of(o["id"])) <= 50]
    a, b = open_orders[1], open_orders[2]
    st, data = sb().admin("PATCH", "salesorders/%d" % a["id"], {"fields": {"status": "G"}})
    check_eq(st, 200, "sandbox: order billed")
    n_up = len(audit_of(s, "salesorder", a["id"], "updated"))
    post_event(s, "salesorder", a["id"])
    wait_until(lambda: len(audit_of(s, "salesorder", a["id"], "updated")) > n_up, "the update")
    row = order_row(a["id"])[0]
    check_eq((row["statecode"], row["statuscode"]), (3, 100001), "billed -> Fulfilled/Complete")
    check_eq(row["mlc_netsuitestatus"], "Billed", "the final status written before the close")
    check_eq(state(s, "salesorder", a["id"]).get("closed"), "1", "state marks the order closed")

    post_event(s, "salesorder", b["id"], event_type="delete")
    wait_until(lambda: audit_of(s, "salesorder", b["id"], "deleted"), "the deletion")
    row = order_row(b["id"])[0]
    check_eq((row["statecode"], row["statuscode"]), (2, 4), "deleted -> Canceled")
    check_eq(len([e for e in audit(s) if e["action"] == "failed"]), 0, "no failed outcome")


if __name__ == "__main__":
    mlctest.run(test_all_orders, test_repeat_and_line_change, test_close_and_delete)
