#!/usr/bin/env python3
"""The sandbox's Web API from reference/dataverse.md: GET by id and alternate key, $filter/$select/
$top and nextLink paging, PATCH-by-key upsert (204 twice, one row; 201/200 with representation),
If-Match / If-None-Match, @odata.bind by GUID and by key, metadata (attributes, a key building
Pending -> InProgress -> Active), the salesorder rules and column lengths, error shapes.
"""
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_sandbox_dv_lib import DvSandbox, sample  # noqa: E402
from test_sandbox_lib import Failures, SAMPLES  # noqa: E402

f = Failures()


def q(params):
    return "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def sample_http(name):
    """Status and headers of a .http sample."""
    with open(os.path.join(SAMPLES, name), "rb") as fh:
        text = fh.read().decode()
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    status = int(head[0].split(" ")[1])
    return status, dict(line.split(": ", 1) for line in head[1:])


def code_of(body):
    try:
        return body["error"]["code"]
    except (TypeError, KeyError):
        return None


def is_error(body, code=None):
    ok = isinstance(body, dict) and list(body.keys()) == ["error"] and \
        sorted(body["error"].keys()) == ["code", "message"]
    return ok and (code is None or body["error"]["code"] == code)


with DvSandbox() as sb:
    # ---- reads ----
    st, page, _ = sb.api("GET", "accounts" + q({"$select": "name,accountnumber", "$top": "5"}))
    f.eq(st, 200, "GET accounts")
    f.check(page["@odata.context"].endswith("$metadata#accounts(name,accountnumber)"),
            "collection context")
    f.eq(len(page["value"]), 5, "$top 5")
    first = page["value"][0]
    f.eq(sorted(first.keys()), sorted(["@odata.etag", "name", "accountnumber", "accountid"]),
         "$select gives the columns asked for plus the key")
    st, row, _ = sb.api("GET", "accounts(%s)%s" % (first["accountid"], q({"$select": "name"})))
    f.eq((st, row.get("name")), (200, first["name"]), "GET by id")
    f.check(row["@odata.context"].endswith("/$entity"), "entity context")
    st, err, _ = sb.api("GET", "accounts(00000000-0000-0000-0000-000000000001)")
    f.eq(st, 404, "missing id: 404")
    f.check(is_error(err, "0x80040217"), "404 body shape: %r" % (err,))
    st, err, _ = sb.api("GET", "accounts" + q({"$select": "nosuchcolumn"}))
    f.check(st == 400 and is_error(err), "unknown $select column: 400")

    # none of the hand-made CRM accounts carries our key; some match NetSuite's data
    rows = sb.rows("accounts")
    f.check(all(not r.get("mlc_netsuitecustomerid") for r in rows), "no CRM row carries our key")
    f.check(any((r.get("accountnumber") or "").startswith("CUST") for r in rows),
            "some accounts share NetSuite's account numbers")
    names = [r["name"] for r in rows]
    f.check(any(names.count(n) > 1 for n in names), "some accounts are ambiguous (same name)")

    # matches with NetSuite's data, read through SuiteQL (the NetSuite half of the same sandbox)
    from test_sandbox_lib import Sandbox as NsSandbox
    ns_tok = NsSandbox.token(sb)
    ns_contacts, _ = sb.suiteql_all("SELECT email FROM contact WHERE email IS NOT NULL", ns_tok)
    ns_reps, _ = sb.suiteql_all("SELECT email FROM employee WHERE issalesrep = 'T'", ns_tok)
    ns_items, _ = sb.suiteql_all("SELECT itemid FROM item WHERE itemtype IN "
                                 "('InvtPart','NonInvtPart','Service')", ns_tok)
    ns_cust, _ = sb.suiteql_all("SELECT entityid FROM customer WHERE isperson = 'F'", ns_tok)
    crm_mails = {(r.get("emailaddress1") or "").lower() for r in sb.rows("contacts")}
    f.check(crm_mails & {(x["email"] or "").lower() for x in ns_contacts},
            "some CRM contacts share a NetSuite contact's e-mail")
    users = {(r.get("internalemailaddress") or "").lower() for r in sb.rows("systemusers")}
    reps = {(x["email"] or "").lower() for x in ns_reps}
    f.check(users & reps and reps - users, "some users match sales reps by e-mail, not all")
    skus = {r["productnumber"] for r in sb.rows("products")}
    ns_skus = {x["itemid"] for x in ns_items}
    f.check(skus and skus < ns_skus, "products are NetSuite SKUs, some missing")
    numbers = {x["entityid"].split(" ")[0] for x in ns_cust}
    f.check({r.get("accountnumber") for r in rows} & numbers, "account numbers match NetSuite's")
    f.eq(len(sb.rows("pricelevels")), len(sb.rows("transactioncurrencies")),
         "one price list per currency")
    f.check(sb.rows("teams") and sb.rows("uoms"), "teams and units exist")

    # $filter: eq, ne, and, or, in, and paging
    target = next(r for r in rows if r.get("accountnumber"))
    st, page, _ = sb.api("GET", "accounts" + q({"$select": "name", "$filter": "accountnumber eq '%s'"
                                                % target["accountnumber"].lower()}))
    f.eq([r["accountid"] for r in page["value"]], [target["accountid"]],
         "eq is case-insensitive like Dataverse's collation")
    st, page, _ = sb.api("GET", "accounts" + q({"$select": "name", "$filter":
                                                "customertypecode eq 3 and accountnumber ne null"}))
    want = [r["accountid"] for r in rows if r.get("customertypecode") == 3 and r.get("accountnumber")]
    f.eq(sorted(r["accountid"] for r in page["value"]), sorted(want), "and / ne null")
    two = [rows[0]["accountid"], rows[1]["accountid"]]
    st, page, _ = sb.api("GET", "accounts" + q({"$select": "name", "$filter":
                                                "accountid in (%s,%s) or name eq 'x'" % tuple(two)}))
    f.eq(sorted(r["accountid"] for r in page["value"]), sorted(two), "in / or")
    st, err, _ = sb.api("GET", "accounts" + q({"$filter": "name eqq 'x'"}))
    f.check(st == 400 and is_error(err, "0x80060888"), "bad $filter: 400 %r" % (err,))
    st, err, _ = sb.api("GET", "accounts" + q({"$filter": "nosuch eq 1"}))
    f.check(st == 400 and "nosuch" in err["error"]["message"], "unknown $filter column")
    seen, path, pages = [], "accounts" + q({"$select": "name"}), 0
    while path and pages < 100:
        st, page, r = sb.api("GET", path, headers={"Prefer": "odata.maxpagesize=7"})
        f.eq(st, 200, "page %d" % pages)
        seen += [x["accountid"] for x in page["value"]]
        nl = page.get("@odata.nextLink")
        path = nl.split("/api/data/v9.2/", 1)[1] if nl else None
        pages += 1
        if pages == 1:
            f.eq(r.getheader("Preference-Applied"), "odata.maxpagesize=7", "Preference-Applied")
    f.eq(sorted(seen), sorted(r["accountid"] for r in rows), "nextLink paging reads every row once")
    f.check(pages > 1, "more than one page")
    sb.dsettings(maxPageSize=3)
    st, page, _ = sb.api("GET", "accounts" + q({"$select": "name"}))
    f.eq(len(page["value"]), 3, "maxPageSize switch: pages of 3 without a Prefer header")
    f.check("@odata.nextLink" in page, "and a nextLink")
    sb.dsettings(maxPageSize=5000)

    # ---- upsert by alternate key ----
    want_status, want_headers = sample_http("dataverse-upsert-response.http")
    key = "accounts(mlc_netsuitecustomerid='9001')"
    st, body, r = sb.api("PATCH", key, {"name": "Upsert Co"})
    f.eq(st, want_status, "upsert create: 204 as the sample")
    f.eq(body, None, "204 has no body")
    eid = r.getheader("OData-EntityId")
    f.check(eid and eid.startswith(sb.url + "/api/data/v9.2/accounts(") and eid.endswith(")"),
            "OData-EntityId names the row: %r" % eid)
    f.eq(r.getheader("OData-Version"), want_headers["OData-Version"], "OData-Version")
    st, body, r2 = sb.api("PATCH", key, {"name": "Upsert Co 2"})
    f.eq(st, 204, "upsert update: 204")
    f.eq(r2.getheader("OData-EntityId"), eid, "same row")
    hits = [x for x in sb.rows("accounts") if x.get("mlc_netsuitecustomerid") == "9001"]
    f.eq(len(hits), 1, "two upserts, one row")
    f.eq(hits[0]["name"], "Upsert Co 2", "the update landed")
    st, row, r = sb.api("PATCH", "accounts(mlc_netsuitecustomerid='9002')", {"name": "Rep"},
                        headers={"Prefer": "return=representation"})
    f.eq(st, 201, "create with return=representation: 201")
    f.eq(row.get("mlc_netsuitecustomerid"), "9002", "the key was copied into the row")
    st, row, r = sb.api("PATCH", "accounts(mlc_netsuitecustomerid='9002')" + q({"$select": "name"}),
                        {"name": "Rep 2"}, headers={"Prefer": "return=representation"})
    f.eq((st, row.get("name")), (200, "Rep 2"), "update with return=representation: 200")
    # quotes doubled in the key
    st, _, r = sb.api("PATCH", "accounts(mlc_netsuitecustomerid='O''Brien')", {"name": "Q"})
    f.eq(st, 204, "doubled quote in a key value")
    st, row, _ = sb.api("GET", "accounts(mlc_netsuitecustomerid='O''Brien')" + q({"$select":
                                                                                   "mlc_netsuitecustomerid"}))
    f.eq(row.get("mlc_netsuitecustomerid"), "O'Brien", "GET by alternate key")
    # key values with / < > * % & : \ ? + cannot be used in a key URL; UpsertMultiple takes them
    st, err, _ = sb.api("PATCH", "accounts(mlc_netsuitecustomerid='A%2FB')", {"name": "slash"})
    f.check(st == 400 and is_error(err), "a '/' in a key URL is refused: %r" % (err,))
    st, _, _ = sb.api("POST", "salesorders/Microsoft.Dynamics.CRM.UpsertMultiple", {"Targets": []})
    # If-None-Match: * -> create only; If-Match: * -> update only
    st, err, _ = sb.api("PATCH", key, {"name": "x"}, headers={"If-None-Match": "*"})
    f.eq(st, 412, "If-None-Match on an existing row: 412")
    f.eq(err, sample("dataverse-error-412-key-exists.json"), "412 body as the sample")
    st, _, _ = sb.api("PATCH", "accounts(mlc_netsuitecustomerid='9003')", {"name": "new"},
                      headers={"If-None-Match": "*"})
    f.eq(st, 204, "If-None-Match on a new key creates")
    st, err, _ = sb.api("PATCH", "accounts(mlc_netsuitecustomerid='9404')", {"name": "x"},
                        headers={"If-Match": "*"})
    f.check(st == 404 and is_error(err, "0x80040217"), "If-Match on a missing row: 404")
    f.eq(len([x for x in sb.rows("accounts") if x.get("mlc_netsuitecustomerid") == "9404"]), 0,
         "If-Match created nothing")
    st, row, _ = sb.api("GET", key + q({"$select": "name"}))
    etag = row["@odata.etag"]
    f.eq(sb.api("PATCH", key, {"name": "E1"}, headers={"If-Match": etag})[0], 204,
         "If-Match with the current ETag")
    st, err, _ = sb.api("PATCH", key, {"name": "E2"}, headers={"If-Match": etag})
    f.check(st == 412 and is_error(err, "0x80060882"), "stale ETag: 412")
    # POST of an existing key: duplicate
    st, err, _ = sb.api("POST", "accounts", {"name": "dup", "mlc_netsuitecustomerid": "9001"})
    f.check(st == 412 and is_error(err, "0x80060892"), "POST with an existing key: %r" % (err,))

    # ---- @odata.bind by GUID and by alternate key; lookups read back as _x_value ----
    acc_id = eid.rsplit("(", 1)[1].rstrip(")")
    st, _, r = sb.api("PATCH", "contacts(mlc_netsuitecontactid='C1')",
                      {"lastname": "Bind", "parentcustomerid_account@odata.bind":
                       "/accounts(mlc_netsuitecustomerid='9001')"})
    f.eq(st, 204, "bind by alternate key")
    cid = r.getheader("OData-EntityId").rsplit("(", 1)[1].rstrip(")")
    st, row, _ = sb.api("GET", "contacts(%s)%s" % (cid, q({"$select": "_parentcustomerid_value"})))
    f.eq(row.get("_parentcustomerid_value"), acc_id, "lookup reads back as _x_value")
    st, _, _ = sb.api("PATCH", "accounts(%s)" % acc_id,
                      {"primarycontactid@odata.bind": "/contacts(%s)" % cid})
    f.eq(st, 204, "bind by GUID")
    st, err, _ = sb.api("PATCH", "contacts(mlc_netsuitecontactid='C2')",
                        {"lastname": "x", "parentcustomerid_account@odata.bind":
                         "/accounts(mlc_netsuitecustomerid='nope')"})
    f.check(st == 404 and is_error(err), "bind to a missing key: 404")
    st, err, _ = sb.api("PATCH", "contacts(mlc_netsuitecontactid='C2')",
                        {"lastname": "x", "ParentCustomerId_account@odata.bind":
                         "/accounts(%s)" % acc_id})
    f.check(st == 400 and is_error(err), "navigation names are case-sensitive")
    st, err, _ = sb.api("PATCH", "accounts(%s)" % acc_id, {"_primarycontactid_value": cid})
    f.check(st == 400 and is_error(err), "writing _x_value is refused")
    st, err, _ = sb.api("PATCH", "accounts(%s)" % acc_id, {"name": "x" * 161})
    f.check(st == 400 and is_error(err, "0x80044331") and "'160'" in err["error"]["message"],
            "name longer than 160: Dataverse's length error")
    st, err, _ = sb.api("PATCH", "accounts(%s)" % acc_id, {"creditlimit": "lots"})
    f.check(st == 400 and is_error(err), "wrong type: 400")

    # ---- salesorder rules ----
    st, cur, _ = sb.api("GET", "transactioncurrencies" + q({"$select": "isocurrencycode"}))
    usd = next(c for c in cur["value"] if c["isocurrencycode"] == "USD")["transactioncurrencyid"]
    eur = next(c for c in cur["value"] if c["isocurrencycode"] == "EUR")["transactioncurrencyid"]
    st, pls, _ = sb.api("GET", "pricelevels" + q({"$select": "name"}))
    pl = pls["value"][0]["pricelevelid"]
    order = {"name": "SO1", "customerid_account@odata.bind": "/accounts(%s)" % acc_id,
             "pricelevelid@odata.bind": "/pricelevels(%s)" % pl,
             "transactioncurrencyid@odata.bind": "/transactioncurrencies(%s)" % usd}
    st, err, _ = sb.api("PATCH", "salesorders(mlc_netsuitesalesorderid='5501')",
                        dict(order, statecode=1))
    f.check(st == 400 and is_error(err), "an order is created Active only")
    st, row, _ = sb.api("PATCH", "salesorders(mlc_netsuitesalesorderid='5501')", order,
                        headers={"Prefer": "return=representation"})
    f.eq((st, row.get("statecode"), row.get("statuscode")), (201, 0, 1), "order created Active")
    so = row["salesorderid"]
    st, err, _ = sb.api("PATCH", "salesorders(%s)" % so,
                        {"transactioncurrencyid@odata.bind": "/transactioncurrencies(%s)" % eur})
    f.check(st == 400 and is_error(err), "currency fixed after create")
    st, err, _ = sb.api("PATCH", "salesorders(%s)" % so, {"ordernumber": "OTHER"})
    f.check(st == 400 and is_error(err), "order number fixed after create")
    st, err, _ = sb.api("PATCH", "salesorders(%s)" % so, {"statecode": 2, "statuscode": 4})
    f.check(st == 400 and "CancelSalesOrderRequest" in err["error"]["message"],
            "Canceled by PATCH is refused, naming CancelSalesOrderRequest")
    f.eq(sb.api("PATCH", "salesorders(%s)" % so, {"statecode": 1, "statuscode": 3})[0], 204,
         "Active -> Submitted by PATCH")
    st, err, _ = sb.api("PATCH", "salesorders(%s)" % so, {"name": "edit"})
    f.check(st == 400 and "read only" in err["error"]["message"], "Submitted is read-only")
    f.eq(err["error"]["code"], "0x80043e09", "read-only code (default switch)")
    sb.dsettings(readOnlyCode="0x80040203")
    st, err, _ = sb.api("PATCH", "salesorders(%s)" % so, {"name": "edit"})
    f.eq(err["error"]["code"], "0x80040203", "readOnlyCode switch changes the code")
    f.eq(sb.api("PATCH", "salesorders(%s)" % so, {"statecode": 0, "statuscode": 1})[0], 204,
         "Submitted -> Active by PATCH")
    st, err, _ = sb.api("POST", "FulfillSalesOrder", {"OrderClose": {
        "subject": "done", "salesorderid@odata.bind": "/salesorders(%s)" % so}, "Status": 4})
    f.check(st == 400, "FulfillSalesOrder with a Canceled status is refused")
    f.eq(sb.api("POST", "FulfillSalesOrder", {"OrderClose": {
        "subject": "done", "salesorderid@odata.bind": "/salesorders(%s)" % so},
        "Status": 100001})[0], 204, "FulfillSalesOrder")
    st, row, _ = sb.api("GET", "salesorders(%s)%s" % (so, q({"$select": "statecode,statuscode"})))
    f.eq((row["statecode"], row["statuscode"]), (3, 100001), "order Fulfilled")
    st, err, _ = sb.api("PATCH", "salesorders(%s)" % so, {"statecode": 0})
    f.check(st == 400 and "read only" in err["error"]["message"], "Fulfilled is read-only")
    st, row, _ = sb.api("PATCH", "salesorders(mlc_netsuitesalesorderid='5502')", order,
                        headers={"Prefer": "return=representation"})
    f.eq(sb.api("POST", "CancelSalesOrder", {"OrderClose": {
        "subject": "x", "salesorderid@odata.bind": "/salesorders(%s)" % row["salesorderid"]},
        "Status": 4})[0], 204, "CancelSalesOrder")
    # a write-in line bound to its order by key
    st, _, _ = sb.api("PATCH", "salesorderdetails(mlc_netsuitelinekey='L1')", {
        "salesorderid@odata.bind": "/salesorders(mlc_netsuitesalesorderid='5501')",
        "isproductoverridden": True, "productdescription": "Widget", "quantity": 2,
        "priceperunit": 12.5, "ispriceoverridden": True})
    ro = sb.dadmin("GET", "settings")[1]["readOnlyCode"]
    f.eq((st, code_of(err)), (400, ro), "a line of a fulfilled order is read-only")

    # ---- salesorderdetail rules ----
    st, _, r = sb.api("PATCH", "salesorders(mlc_netsuitesalesorderid='5600')", dict(order, name="L"))
    so2 = r.getheader("OData-EntityId").rsplit("(", 1)[1].rstrip(")")
    item = next(x for x in sb.rows("productpricelevels") if x["_pricelevelid_value"] == pl)
    prod, unit, price = item["_productid_value"], item["_uomid_value"], item["amount"]
    other_unit = next(u["uomid"] for u in sb.rows("uoms") if u["uomid"] != unit)
    bind = {"salesorderid@odata.bind": "/salesorders(%s)" % so2}
    cat = dict(bind, **{"productid@odata.bind": "/products(%s)" % prod,
                        "uomid@odata.bind": "/uoms(%s)" % unit, "quantity": 3})
    for what, body in (
            ("write-in with a product", dict(cat, isproductoverridden=True,
                                             productdescription="w")),
            ("write-in without a description", dict(bind, isproductoverridden=True, quantity=1)),
            ("catalogue line without a unit", {k: v for k, v in cat.items()
                                               if not k.startswith("uomid")}),
            ("a unit not in the price list", dict(cat, **{"uomid@odata.bind":
                                                         "/uoms(%s)" % other_unit})),
            ("no quantity", {k: v for k, v in cat.items() if k != "quantity"})):
        st, err, _ = sb.api("POST", "salesorderdetails", body)
        f.check(st == 400 and is_error(err), "line refused: %s %r" % (what, err))
    st, row, _ = sb.api("POST", "salesorderdetails", cat, headers={"Prefer": "return=representation"})
    f.eq(st, 201, "a catalogue line in the price list")
    f.eq((row.get("priceperunit"), row.get("extendedamount")), (price, price * 3),
         "its price comes from the price list")
    st, row2, _ = sb.api("POST", "salesorderdetails", dict(
        cat, ispriceoverridden=True, priceperunit=2.5, quantity=2,
        **{"uomid@odata.bind": "/uoms(%s)" % other_unit}),
        headers={"Prefer": "return=representation"})
    f.eq((st, row2.get("extendedamount")), (201, 5.0), "ispriceoverridden: priceperunit is used")
    st, o, _ = sb.api("GET", "salesorders(%s)?$select=totalamount,totallineitemamount" % so2)
    f.eq((o["totalamount"], o["totallineitemamount"]), (price * 3 + 5.0, price * 3 + 5.0),
         "the order's totals follow its lines")
    f.eq(sb.api("PATCH", "salesorders(%s)" % so2, {"statecode": 1, "statuscode": 3})[0], 204,
         "order submitted")
    lid = row["salesorderdetailid"]
    st, err, _ = sb.api("PATCH", "salesorderdetails(%s)" % lid, {"quantity": 9})
    f.eq((st, code_of(err)), (400, ro), "a line of a submitted order is read-only")
    st, err, _ = sb.api("DELETE", "salesorderdetails(%s)" % lid)
    f.eq((st, code_of(err)), (400, ro), "and cannot be deleted")

    # ---- metadata ----
    st, keys, _ = sb.api("GET", "EntityDefinitions(LogicalName='account')/Keys")
    f.eq([k["EntityKeyIndexStatus"] for k in keys["value"]], ["Active"],
         "provisioned key is Active")
    st, attrs, _ = sb.api("GET", "EntityDefinitions(LogicalName='account')/Attributes")
    byname = {a["LogicalName"]: a for a in attrs["value"]}
    f.eq(byname["name"]["MaxLength"], 160, "name MaxLength 160")
    f.eq(byname["createdon"]["DateTimeBehavior"]["Value"], "UserLocal", "date behaviour")
    f.check("mlc_netsuitecustomerid" in byname, "our column in provisioned schema")

with DvSandbox("--schema", "bare", "--key-build-ms", "700") as sb:
    st, err, _ = sb.api("PATCH", "accounts(mlc_netsuitecustomerid='1')", {"name": "x"})
    f.check(st == 400 and is_error(err), "bare schema: no key, 400")
    st, err, _ = sb.api("POST", "accounts", {"name": "x", "mlc_netsuitecustomerid": "1"})
    f.check(st == 400 and "mlc_netsuitecustomerid" in err["error"]["message"],
            "bare schema: our column does not exist")
    st, _, r = sb.api("POST", "EntityDefinitions(LogicalName='account')/Attributes", {
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "SchemaName": "mlc_NetSuiteCustomerId", "MaxLength": 100})
    f.eq(st, 204, "create an attribute")
    st, _, r = sb.api("POST", "EntityDefinitions(LogicalName='account')/Keys", {
        "SchemaName": "mlc_netsuitecustomerid_key", "KeyAttributes": ["mlc_netsuitecustomerid"]})
    f.eq(st, 204, "create a key")
    seen = []
    end = time.time() + 20
    while time.time() < end:
        st, keys, _ = sb.api("GET", "EntityDefinitions(LogicalName='account')/Keys")
        s = keys["value"][0]["EntityKeyIndexStatus"]
        if not seen or seen[-1] != s:
            seen.append(s)
        if s == "Active":
            break
        if s == "Pending":
            st, err, _ = sb.api("PATCH", "accounts(mlc_netsuitecustomerid='1')", {"name": "x"})
            f.check(st == 400 and is_error(err), "a Pending key cannot address rows")
        time.sleep(0.1)
    f.eq(seen, ["Pending", "InProgress", "Active"], "the key builds asynchronously")
    f.eq(sb.api("PATCH", "accounts(mlc_netsuitecustomerid='1')", {"name": "x"})[0], 204,
         "the Active key upserts")
    # a key over rows that already collide fails to build
    sb.api("POST", "EntityDefinitions(LogicalName='account')/Attributes", {
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "mlc_Dup",
        "MaxLength": 50})
    for i in range(2):
        f.eq(sb.api("POST", "accounts", {"name": "dup %d" % i, "mlc_dup": "same"})[0], 204,
             "rows without a key may share a value")
    sb.api("POST", "EntityDefinitions(LogicalName='account')/Keys",
           {"SchemaName": "mlc_dup_key", "KeyAttributes": ["mlc_dup"]})
    end, status = time.time() + 20, None
    while time.time() < end and status not in ("Active", "Failed"):
        st, keys, _ = sb.api("GET", "EntityDefinitions(LogicalName='account')/Keys")
        status = [k for k in keys["value"] if k["LogicalName"] == "mlc_dup_key"][0][
            "EntityKeyIndexStatus"]
        time.sleep(0.1)
    f.eq(status, "Failed", "a key over duplicate values ends Failed")
    st, dups = sb.dadmin("GET", "duplicates/accounts")
    f.eq([d["value"] for d in dups.get("mlc_dup_key", [])], ["same"],
         "the admin API shows the duplicates by key")
    f.eq(sb.dadmin("POST", "keys/account/mlc_netsuitecustomerid_key")[0], 204,
         "fault: the key goes back to Pending")
    st, keys, _ = sb.api("GET", "EntityDefinitions(LogicalName='account')/Keys")
    f.eq(keys["value"][0]["EntityKeyIndexStatus"], "Pending", "Pending again")
f.done()
