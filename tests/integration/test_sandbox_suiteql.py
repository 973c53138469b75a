#!/usr/bin/env python3
"""SuiteQL against the sandbox, compared with reference/netsuite.md and the samples.

Paging over 2,500 customers returns each exactly once (offset and keyset paging), the page shape
matches samples/suiteql-customers-page1.json, unknown columns give samples/netsuite-error-
suiteql-400.json, limits and offsets follow the documented rules, the Oracle-isms translate, and
datetimes render and compare in the user's time zone (SYS_EXTRACT_UTC around the offset). Every
SuiteQL switch is flipped and its effect checked.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_sandbox_lib import Failures, Sandbox, sample  # noqa: E402

f = Failures()


def err_detail(data):
    try:
        return data["o:errorDetails"][0]
    except (TypeError, KeyError, IndexError):
        return {}


with Sandbox(customers=2500, orders=60, items=30) as sb:
    tok = sb.token()
    st, counts = sb.admin("GET", "counts")
    n_customers = counts["customer"]
    f.check(n_customers > 2400, "about 2,500 customers generated (%d)" % n_customers)

    # ---- offset paging: every customer exactly once ----
    rows, last = sb.suiteql_all("SELECT id FROM customer ORDER BY id", tok, limit=1000)
    ids = [int(r["id"]) for r in rows]
    f.eq(len(ids), n_customers, "offset paging returns every customer")
    f.eq(len(set(ids)), len(ids), "offset paging returns each customer once")
    f.eq(last["totalResults"], n_customers, "totalResults")
    f.eq(last["hasMore"], False, "the last page has hasMore false")

    # ---- keyset paging (WHERE id > :last ORDER BY id) ----
    keyset, lastid, pages = [], 0, 0
    while True:
        st, page = sb.suiteql("SELECT id FROM customer WHERE id > %d ORDER BY id" % lastid, tok,
                              limit=1000)
        if not f.eq(st, 200, "keyset page"):
            break
        pages += 1
        keyset += [int(r["id"]) for r in page["items"]]
        if not page["items"]:
            break
        lastid = int(page["items"][-1]["id"])
        if not page["hasMore"] and page["count"] < 1000:
            break
    f.eq(keyset, sorted(ids), "keyset paging returns the same customers in id order")
    f.check(pages >= 3, "keyset paging took several pages")

    # FETCH FIRST inside the query, with paging on top
    st, page = sb.suiteql("SELECT id FROM customer ORDER BY id FETCH FIRST 25 ROWS ONLY", tok, 10, 20)
    f.eq((st, page.get("count"), page.get("totalResults"), page.get("hasMore")), (200, 5, 25, False),
         "FETCH FIRST 25 ROWS ONLY, third page of 10")
    st, page = sb.suiteql("SELECT id FROM customer ORDER BY id OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY",
                          tok)
    f.eq([int(r["id"]) for r in page.get("items", [])], sorted(ids)[10:15], "OFFSET n ROWS FETCH NEXT")

    # ---- the page shape, field by field against the sample ----
    want = sample("suiteql-customers-page1.json")
    q = ("SELECT c.id, c.entityid, c.companyname, c.email, c.phone, c.creditlimit, c.category,"
         " c.entitystatus, c.subsidiary, c.isinactive, ea.addr1, ea.city, ea.state, ea.zip,"
         " ea.country, TO_CHAR(c.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmod"
         " FROM customer c LEFT JOIN entityaddress ea ON ea.nkey = c.defaultbillingaddress"
         " WHERE c.isperson = 'F' ORDER BY c.id")
    st, page = sb.suiteql(q, tok, limit=2, offset=0)
    f.eq(st, 200, "sample-shaped query")
    f.eq(sorted(page.keys()), sorted(want.keys()), "page keys")
    f.eq([l["rel"] for l in page["links"]], [l["rel"] for l in want["links"]], "first page link rels")
    for l in page["links"]:
        f.check(l["href"].startswith(sb.base + "/services/rest/query/v1/suiteql?limit=2&offset="),
                "link href " + l["href"])
    f.eq(page["links"][0]["href"].split("?")[1], "limit=2&offset=2", "next link")
    total = page["totalResults"]
    f.eq(page["links"][1]["href"].split("?")[1], "limit=2&offset=%d" % ((total - 1) // 2 * 2),
         "last link")
    for k in ("count", "offset", "totalResults"):
        f.check(type(page[k]) is int, k + " is a JSON number")
    f.check(type(page["hasMore"]) is bool, "hasMore is a JSON boolean")
    allowed = set(want["items"][0].keys())
    for item in page["items"]:
        f.eq(list(item.keys())[0], "links", "links first in an item")
        f.eq(item["links"], [], "item links empty")
        f.check(set(item.keys()) <= allowed, "item keys %s" % sorted(set(item.keys()) - allowed))
        for k, v in item.items():
            if k != "links":
                f.check(isinstance(v, str), "value of %s is a string (%r)" % (k, v))
        f.check(len(item["lastmod"]) == 19, "TO_CHAR format")
    # NULLs are left out of the item, never null
    st, page = sb.suiteql("SELECT id, email, url FROM customer WHERE email IS NULL AND url IS NULL",
                          tok, limit=3)
    f.check(page["count"] > 0, "some customers have no e-mail")
    for item in page["items"]:
        f.eq(sorted(item.keys()), ["id", "links"], "NULL columns left out")
    # middle pages link back
    st, page = sb.suiteql("SELECT id FROM customer ORDER BY id", tok, limit=100, offset=200)
    f.eq([l["rel"] for l in page["links"]], ["previous", "first", "next", "last", "self"],
         "middle page link rels")
    # column names lower-cased, aliases too; unnamed expressions get exprN
    st, page = sb.suiteql("SELECT ID, CompanyName AS TheName, count(*), upper(entityid) FROM customer"
                          " GROUP BY id, companyname ORDER BY id", tok, limit=1)
    f.eq(sorted(page["items"][0].keys()), sorted(["links", "id", "thename", "expr1", "expr2"]),
         "lower-cased names and exprN")

    # ---- limit and offset rules ----
    for lim, off, param in ((1001, 0, "limit"), (0, 0, "limit"), ("x", 0, "limit"),
                            (10, 5, "offset"), (1000, 100000, "offset"), (10, -1, "offset")):
        st, data = sb.suiteql("SELECT id FROM customer", tok, lim, off)
        f.eq(st, 400, "limit=%s offset=%s refused" % (lim, off))
        f.eq(err_detail(data).get("o:errorCode"), "INVALID_PARAMETER", "code for %s" % param)
        f.eq(err_detail(data).get("o:errorQueryParam"), param, "query param named")
    st, page = sb.suiteql("SELECT id FROM customer", tok)
    f.eq(page.get("count"), 1000, "default limit 1000")
    st, page = sb.suiteql("SELECT id FROM customer ORDER BY id", tok, 1000, 99000)
    f.eq(st, 200, "offset 99000 (last reachable page)")
    sb.settings_patch(offsetRule="any")
    st, page = sb.suiteql("SELECT id FROM customer ORDER BY id", tok, 10, 5)
    f.eq((st, [int(r["id"]) for r in page["items"]][:1]), (200, [sorted(ids)[5]]),
         "offsetRule=any accepts offset 5 with limit 10")
    sb.settings_patch(offsetRule="multiple")

    # ---- unknown columns: NetSuite's 400, as the sample ----
    st, data = sb.suiteql("SELECT id, balance FROM customer", tok)
    f.eq((st, data), (400, sample("netsuite-error-suiteql-400.json")), "unknown column balance")
    st, data = sb.suiteql("SELECT t.id, t.nosuch FROM transaction t", tok)
    f.check("Field 'nosuch' for record 'transaction' was not found" in err_detail(data).get(
        "detail", ""), "unknown column names the record of its alias: %r" % (data,))
    st, data = sb.suiteql("SELECT id FROM nosuchrecord", tok)
    f.check(st == 400 and "Record 'nosuchrecord' was not found" in err_detail(data).get("detail", ""),
            "unknown record")
    for bad in ("SELECT id FROM customer; DELETE FROM customer", "DELETE FROM customer",
                "PRAGMA table_info(customer)", "SELECT [id] FROM customer",
                "SELECT name FROM sqlite_master", "SELECT randomblob(4) FROM dual",
                "SELECT id FROM customer WHERE", "SELECT 'unterminated FROM customer",
                "ATTACH DATABASE '/tmp/x' AS x", "SELECT load_extension('x') FROM dual"):
        st, data = sb.suiteql(bad, tok)
        f.eq((st, err_detail(data).get("o:errorCode")), (400, "INVALID_PARAMETER"), "refused: " + bad)
    st, page = sb.suiteql("SELECT count(*) AS n FROM customer", tok)
    f.eq(page["items"][0]["n"], str(n_customers), "data intact after the refused statements")

    # ---- Oracle-isms ----
    st, page = sb.suiteql(
        "SELECT c.id, BUILTIN.DF(c.category) AS cat, cc.name AS catname,"
        " BUILTIN.DF(c.subsidiary) AS sub, s.name AS subname, NVL(c.email, 'none') AS email"
        " FROM customer c JOIN customercategory cc ON cc.id = c.category"
        " JOIN subsidiary s ON s.id = c.subsidiary ORDER BY c.id FETCH FIRST 50 ROWS ONLY", tok)
    f.eq(st, 200, "BUILTIN.DF query")
    for it in page["items"]:
        f.eq(it["cat"], it["catname"], "BUILTIN.DF(category)")
        f.eq(it["sub"], it["subname"], "BUILTIN.DF(subsidiary)")
        f.check(it["email"], "NVL")
    st, page = sb.suiteql("SELECT t.status, BUILTIN.DF(t.status) AS label, cur.symbol"
                          " FROM transaction t JOIN currency cur ON cur.id = t.currency"
                          " WHERE t.type = 'SalesOrd'", tok)
    labels = {"A": "Pending Approval", "B": "Pending Fulfillment", "C": "Cancelled",
              "D": "Partially Fulfilled", "E": "Pending Billing/Partially Fulfilled",
              "F": "Pending Billing", "G": "Billed", "H": "Closed"}
    for it in page["items"]:
        f.check(len(it["status"]) == 1, "status is one letter through SuiteQL")
        f.eq(it["label"], "Sales Order : " + labels[it["status"]], "BUILTIN.DF(t.status)")
        f.check(it["symbol"] in ("USD", "EUR", "GBP", "CAD"), "currency.symbol is ISO 4217")
    st, page = sb.suiteql("SELECT es.key, BUILTIN.DF(c.entitystatus) AS s FROM customer c"
                          " JOIN entitystatus es ON es.key = c.entitystatus FETCH FIRST 5 ROWS ONLY",
                          tok)
    f.eq(st, 200, "entitystatus joined on key")
    st, page = sb.suiteql("SELECT DECODE(isinactive, 'T', 'inactive', 'active') AS a,"
                          " TO_NUMBER('12.5') + 1 AS n, TRUNC(SYSDATE) - TRUNC(SYSDATE - 3) AS d,"
                          " TO_CHAR(TO_DATE('2026-02-03', 'YYYY-MM-DD'), 'DD.MM.YYYY') AS s"
                          " FROM customer FETCH FIRST 1 ROWS ONLY", tok)
    it = page["items"][0] if st == 200 else {}
    f.eq((it.get("n"), it.get("d"), it.get("s")), ("13.5", "3", "03.02.2026"),
         "DECODE, TO_NUMBER, TRUNC date arithmetic, TO_CHAR/TO_DATE")
    st, page = sb.suiteql("SELECT id FROM customer WHERE lastmodifieddate > SYSDATE - 30000"
                          " MINUS SELECT id FROM customer WHERE isinactive = 'T'", tok, 1)
    f.eq(st, 200, "MINUS and SYSDATE")
    st, page = sb.suiteql("SELECT DISTINCT type FROM DeletedRecord", tok)
    f.check(st == 200 and {"type": "customer", "links": []} in page["items"],
            "DeletedRecord has pre-existing customer deletions: %r" % (page,))

    # ---- dates in the user's time zone (America/Los_Angeles by default) ----
    cid = ids[0]
    st, res = sb.admin("PATCH", "customers/%d" % cid,
                       {"fields": {"phone": "+1 206 555 0199"},
                        "lastModifiedDate": "2026-01-15T07:30:00Z", "emit": False})
    f.eq(st, 200, "set a customer's lastmodifieddate")
    base = "SELECT id FROM customer WHERE id = %d AND " % cid
    st, page = sb.suiteql(
        "SELECT lastmodifieddate AS raw, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS local,"
        " TO_CHAR(SYS_EXTRACT_UTC(lastmodifieddate), 'YYYY-MM-DD HH24:MI:SS') AS utc"
        " FROM customer WHERE id = %d" % cid, tok)
    it = page["items"][0]
    f.eq(it["local"], "2026-01-14 23:30:00", "TO_CHAR renders in the user's zone (PST)")
    f.eq(it["utc"], "2026-01-15 07:30:00", "SYS_EXTRACT_UTC gives UTC")
    f.eq(it["raw"], "1/14/2026", "a raw datetime renders with the date preference, local date")

    def hit(cond):
        st, page = sb.suiteql(base + cond, tok)
        return st == 200 and page["count"] == 1
    f.check(hit("SYS_EXTRACT_UTC(lastmodifieddate) > TO_TIMESTAMP('2026-01-15 07:29:59',"
                " 'YYYY-MM-DD HH24:MI:SS')"), "UTC watermark just before: found")
    f.check(not hit("SYS_EXTRACT_UTC(lastmodifieddate) > TO_TIMESTAMP('2026-01-15 07:30:00',"
                    " 'YYYY-MM-DD HH24:MI:SS')"), "UTC watermark at the change: not found")
    f.check(hit("lastmodifieddate > TO_DATE('2026-01-14 23:29:59', 'YYYY-MM-DD HH24:MI:SS')"),
            "TO_DATE compares in the user's zone")
    f.check(not hit("lastmodifieddate >= TO_DATE('2026-01-15', 'YYYY-MM-DD')"),
            "a date-only filter for 'changed on 15 Jan (UTC)' misses it (the ELT trap)")
    f.check(hit("TO_CHAR(SYS_EXTRACT_UTC(lastmodifieddate), 'YYYY-MM-DD') = '2026-01-15'"),
            "the UTC calendar date is the 15th")

    # Daylight saving time: the offset is -7 in summer, and in the hour after the clocks go back
    # two instants render alike locally; SYS_EXTRACT_UTC tells them apart.
    def renders(when):
        sb.admin("PATCH", "customers/%d" % cid, {"lastModifiedDate": when, "emit": False})
        st, page = sb.suiteql(
            "SELECT TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS local,"
            " TO_CHAR(SYS_EXTRACT_UTC(lastmodifieddate), 'YYYY-MM-DD HH24:MI:SS') AS utc"
            " FROM customer WHERE id = %d" % cid, tok)
        it = page["items"][0]
        return it["local"], it["utc"]
    f.eq(renders("2026-07-15T06:30:00Z"), ("2026-07-14 23:30:00", "2026-07-15 06:30:00"),
         "summer (PDT, -7)")
    f.check(hit("SYS_EXTRACT_UTC(lastmodifieddate) > TO_TIMESTAMP('2026-07-15 06:29:59',"
                " 'YYYY-MM-DD HH24:MI:SS')") and
            not hit("SYS_EXTRACT_UTC(lastmodifieddate) > TO_TIMESTAMP('2026-07-15 06:30:00',"
                    " 'YYYY-MM-DD HH24:MI:SS')"), "summer UTC watermark")
    f.eq(renders("2026-03-08T09:30:00Z"), ("2026-03-08 01:30:00", "2026-03-08 09:30:00"),
         "before the clocks go forward (PST)")
    f.eq(renders("2026-03-08T10:30:00Z"), ("2026-03-08 03:30:00", "2026-03-08 10:30:00"),
         "after the clocks go forward (PDT)")
    f.eq(renders("2026-11-01T08:30:00Z"), ("2026-11-01 01:30:00", "2026-11-01 08:30:00"),
         "01:30 before the clocks go back (PDT)")
    f.check(hit("SYS_EXTRACT_UTC(lastmodifieddate) < TO_TIMESTAMP('2026-11-01 09:00:00',"
                " 'YYYY-MM-DD HH24:MI:SS')"), "first 01:30 is before 09:00 UTC")
    f.eq(renders("2026-11-01T09:30:00Z"), ("2026-11-01 01:30:00", "2026-11-01 09:30:00"),
         "01:30 again after the clocks go back (PST): same local text, other UTC")
    f.check(hit("SYS_EXTRACT_UTC(lastmodifieddate) > TO_TIMESTAMP('2026-11-01 09:00:00',"
                " 'YYYY-MM-DD HH24:MI:SS')"), "second 01:30 is after 09:00 UTC")
    renders("2026-01-15T07:30:00Z")

    # ---- SuiteQL switches ----
    sb.settings_patch(values="native")
    st, page = sb.suiteql("SELECT id, creditlimit, companyname FROM customer WHERE creditlimit"
                          " IS NOT NULL FETCH FIRST 1 ROWS ONLY", tok)
    it = page["items"][0]
    f.check(type(it["id"]) is int and isinstance(it["creditlimit"], (int, float)) and
            isinstance(it.get("companyname", ""), str), "values=native: numbers as numbers %r" % it)
    sb.settings_patch(values="string")
    sb.settings_patch(rawDatetime="datetime")
    st, page = sb.suiteql("SELECT lastmodifieddate AS raw FROM customer WHERE id = %d" % cid, tok)
    f.eq(page["items"][0]["raw"], "1/14/2026 11:30 pm", "rawDatetime=datetime")
    sb.settings_patch(rawDatetime="date", dateFormat="DD.MM.YYYY")
    st, page = sb.suiteql("SELECT lastmodifieddate AS raw FROM customer WHERE id = %d" % cid, tok)
    f.eq(page["items"][0]["raw"], "14.01.2026", "dateFormat=DD.MM.YYYY")
    st, page = sb.suiteql("SELECT id FROM customer WHERE lastmodifieddate > TO_DATE('13.01.2026')"
                          " AND id = %d" % cid, tok)
    f.eq(page.get("count"), 1, "TO_DATE without a format reads the date preference")
    sb.settings_patch(dateFormat="M/D/YYYY")
    st, data = sb.suiteql("SELECT id FROM customer", tok, headers={"Prefer": None})
    f.eq((st, err_detail(data).get("o:errorCode")), (400, "INVALID_PARAMETER"),
         "no Prefer: transient refused")
    sb.settings_patch(preferTransient="optional")
    f.eq(sb.suiteql("SELECT id FROM customer", tok, headers={"Prefer": None})[0], 200,
         "preferTransient=optional")
    sb.settings_patch(preferTransient="required")
    sb.settings_patch(limitClause="accept")
    st, page = sb.suiteql("SELECT id FROM customer ORDER BY id LIMIT 3", tok)
    f.eq((st, page.get("count")), (200, 3), "limitClause=accept")
    sb.settings_patch(limitClause="reject")
    sb.settings_patch(deletedType="label")
    free = [int(r["id"]) for r in sb.suiteql_all(
        "SELECT c.id FROM customer c WHERE NOT EXISTS (SELECT 1 FROM transaction t WHERE"
        " t.entity = c.id) AND NOT EXISTS (SELECT 1 FROM customer k WHERE k.parent = c.id)"
        " ORDER BY c.id", tok)[0]]
    st, _ = sb.admin("DELETE", "customers/%d" % free[0], {"emit": False})
    f.eq(st, 200, "delete a customer")
    st, page = sb.suiteql("SELECT type FROM DeletedRecord WHERE recordid = %d" % free[0], tok)
    f.eq(page["items"][0]["type"] if page.get("items") else None, "Customer",
         "deletedType=label")
    sb.settings_patch(deletedType="id")
    st, _ = sb.admin("DELETE", "customers/%d" % free[1], {"emit": False})
    st, page = sb.suiteql("SELECT type FROM DeletedRecord WHERE recordid = %d" % free[1], tok)
    f.eq(page["items"][0]["type"] if page.get("items") else None, "customer", "deletedType=id")
    st, page = sb.suiteql("SELECT count(*) AS n FROM customer", tok)
    f.eq(page["items"][0]["n"], str(n_customers - 2), "totalResults follows deletes (count cache)")

    # ---- roles ----
    sb.settings_patch(deny="customer")
    st, data = sb.suiteql("SELECT id FROM customer", tok)
    f.eq((st, err_detail(data).get("detail")),
         (400, "Invalid search query. Detailed unprocessed description follows. Search error"
               " occurred: Record 'customer' was not found."), "no customer permission")
    f.eq(sb.suiteql("SELECT id FROM item", tok)[0], 200, "other records still readable")
    sb.settings_patch(deny="rest")
    st, data = sb.suiteql("SELECT id FROM item", tok)
    f.eq((st, err_detail(data).get("o:errorCode"), err_detail(data).get("detail")),
         (400, "USER_ERROR", "Your current role does not have permission to perform this action."),
         "role without REST web services")
    sb.settings_patch(deny="suiteql")
    st, data = sb.suiteql("SELECT id FROM item", tok)
    f.check(st == 400 and "Record 'item' was not found" in err_detail(data).get("detail", ""),
            "role without SuiteAnalytics Workbook")
    sb.settings_patch(deny="")

    # ---- a renamed custom field (fault) ----
    f.eq(sb.suiteql("SELECT custentity_region FROM customer", tok, 1)[0], 200, "custom field")
    st, _ = sb.admin("POST", "faults", {"renameField": {"table": "customer", "from": "custentity_region",
                                                        "to": "custentity_sales_region"}})
    f.eq(st, 200, "rename a custom field")
    st, data = sb.suiteql("SELECT custentity_region FROM customer", tok, 1)
    f.check(st == 400 and "Unknown identifier 'custentity_region'" in err_detail(data).get("detail", ""),
            "the old name is an unknown identifier now")
    f.eq(sb.suiteql("SELECT custentity_sales_region FROM customer", tok, 1)[0], 200, "the new name")

# ---- another user time zone ----
with Sandbox("--timezone", "Europe/Berlin", customers=20, orders=5, items=5) as sb:
    tok = sb.token()
    cid = int(sb.suiteql("SELECT id FROM customer ORDER BY id", tok, 1)[1]["items"][0]["id"])
    sb.admin("PATCH", "customers/%d" % cid, {"lastModifiedDate": "2026-01-15T07:30:00Z",
                                             "emit": False})
    st, page = sb.suiteql("SELECT TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS l,"
                          " TO_CHAR(SYS_EXTRACT_UTC(lastmodifieddate), 'YYYY-MM-DD HH24:MI:SS') AS u"
                          " FROM customer WHERE id = %d" % cid, tok)
    f.eq((page["items"][0]["l"], page["items"][0]["u"]), ("2026-01-15 08:30:00", "2026-01-15 07:30:00"),
         "Europe/Berlin user: local and UTC renderings")

f.done()
