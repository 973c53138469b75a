#!/usr/bin/env python3
"""$batch from reference/dataverse.md and samples/dataverse-batch-*.http: the sample request as
written (CRLF, a change set of two upserts bound by key, a GET), its multipart answer compared
part by part with the sample response; a failing change set rolls back; continue-on-error;
$n references; the changesetUpsert switch; malformed bodies get Dataverse's error shape.
"""
import json
import os
import re
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_sandbox_dv_lib import API, ODATA, DvSandbox  # noqa: E402
from test_sandbox_lib import SAMPLES, Failures  # noqa: E402

f = Failures()


def read_sample(name):
    with open(os.path.join(SAMPLES, name), "rb") as fh:
        return fh.read().decode()


def parse_multipart(body, ctype):
    """Parts of a multipart/mixed answer: list of dicts with headers, status, http headers,
    body, and nested parts for change sets. Written from RFC 2046 (the CRLF before a delimiter
    belongs to the delimiter), independent of the sandbox."""
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    assert m, ctype
    delim = "--" + m.group(1)
    segs = ("\r\n" + body).split("\r\n" + delim)
    assert segs[0] == "", "no preamble expected: %r" % segs[0][:40]
    assert segs[-1] in ("--", "--\r\n"), "close delimiter: %r" % segs[-1][:40]
    parts = []
    for ch in segs[1:-1]:
        assert ch.startswith("\r\n"), ch[:40]
        ch = ch[2:]
        head, rest = ch.split("\r\n\r\n", 1)
        hdrs = dict(line.split(": ", 1) for line in head.split("\r\n"))
        p = {"headers": hdrs}
        if hdrs["Content-Type"].startswith("multipart/mixed"):
            p["parts"] = parse_multipart(rest, hdrs["Content-Type"])
        else:
            h2, b2 = rest.split("\r\n\r\n", 1)
            lines = h2.split("\r\n")
            p["status"] = int(lines[0].split(" ")[1])
            p["http"] = dict(line.split(": ", 1) for line in lines[1:])
            p["body"] = b2
        parts.append(p)
    return parts


def batch(sb, body, boundary, prefer=None):
    h = dict(ODATA)
    h["Authorization"] = "Bearer " + sb.dv_token()
    h["Content-Type"] = 'multipart/mixed; boundary="%s"' % boundary
    if prefer:
        h["Prefer"] = prefer
    st, data, r = sb.draw("POST", API + "$batch", body.encode(), h)
    return st, data.decode(), r


def part(method, url, body=None, cid=None):
    s = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if cid:
        s += "Content-ID: %s\r\n" % cid
    s += "\r\n%s %s HTTP/1.1\r\n" % (method, url)
    if body is not None:
        s += "Content-Type: application/json\r\n\r\n" + json.dumps(body) + "\r\n"
    else:
        s += "Accept: application/json\r\n\r\n"
    return s


def build(boundary, items):
    """items: strings (parts) or lists of strings (a change set)."""
    out = ""
    for it in items:
        out += "--%s\r\n" % boundary
        if isinstance(it, list):
            cs = "changeset_" + uuid.uuid4().hex[:8]
            out += 'Content-Type: multipart/mixed; boundary="%s"\r\n\r\n' % cs
            for p in it:
                out += "--%s\r\n%s" % (cs, p)
            out += "--%s--\r\n" % cs
        else:
            out += it
    return out + "--%s--\r\n" % boundary


with DvSandbox() as sb:
    # the order's customer must exist by key, as in the sample
    st, _, _ = sb.api("PATCH", "accounts(mlc_netsuitecustomerid='1107')", {"name": "Northwind Traders"})
    f.eq(st, 204, "customer 1107 upserted")
    st, cur, _ = sb.api("GET", "transactioncurrencies?$select=isocurrencycode")
    usd = next(c for c in cur["value"] if c["isocurrencycode"] == "USD")["transactioncurrencyid"]
    st, pls, _ = sb.api("GET", "pricelevels?$select=name")
    pl = pls["value"][0]["pricelevelid"]

    # ---- the sample request, with this sandbox's host and ids ----
    req = read_sample("dataverse-batch-request.http")
    head, body = req.split("\r\n\r\n", 1)
    body = body.replace("https://contoso.crm.dynamics.com", sb.url)
    body = body.replace("0c6e1f2a-0000-0000-0000-000000000001", pl)
    body = body.replace("0c6e1f2a-0000-0000-0000-000000000002", usd)
    ctype = re.search(r"Content-Type: (.*)", head).group(1).strip()
    prefer = re.search(r"Prefer: (.*)", head).group(1).strip()
    boundary = re.search(r'boundary="?([^";]+)"?', ctype).group(1)
    st, text, r = batch(sb, body, boundary, prefer)
    f.eq(st, 200, "sample batch: 200")
    got = parse_multipart(text, r.getheader("Content-Type"))
    want_text = read_sample("dataverse-batch-response.http")
    wh, wb = want_text.split("\r\n\r\n", 1)
    want = parse_multipart(wb, re.search(r"Content-Type: (.*)", wh).group(1).strip())
    f.eq(len(got), len(want), "as many top-level parts as the sample")
    f.eq(len(got[0].get("parts", [])), len(want[0]["parts"]), "change set with two answers")
    for i, (g, w) in enumerate(zip(got[0].get("parts", []), want[0]["parts"])):
        f.eq(g["headers"], w["headers"], "change set part %d headers (Content-ID)" % i)
        f.eq(g["status"], w["status"], "change set part %d status" % i)
        f.eq(sorted(g["http"].keys()), sorted(w["http"].keys()), "part %d http headers" % i)
        f.eq(re.sub(r"\(.*\)", "()", g["http"].get("OData-EntityId", "")).replace(sb.url, "U"),
             re.sub(r"\(.*\)", "()", w["http"]["OData-EntityId"]).replace(
                 "https://contoso.crm.dynamics.com", "U"), "part %d OData-EntityId" % i)
    g, w = got[1], want[1]
    f.eq(g["status"], 200, "GET part 200")
    f.eq(g["http"].get("Content-Type"), w["http"]["Content-Type"], "GET part content type")
    gj, wj = json.loads(g["body"]), json.loads(w["body"])
    f.eq(sorted(gj.keys()), sorted(wj.keys()), "GET part fields as the sample")
    f.eq(gj["name"], "Northwind Traders", "GET part row")
    line = [x for x in sb.rows("salesorderdetails") if x.get("mlc_netsuitelinekey") == "88123"]
    order = [x for x in sb.rows("salesorders") if x.get("mlc_netsuitesalesorderid") == "5501"]
    f.check(len(line) == 1 and len(order) == 1 and
            line[0]["_salesorderid_value"] == order[0]["salesorderid"],
            "the line is bound to its order by key inside the change set")
    # the same batch again: upserts update, still one row each
    st, text, r = batch(sb, body, boundary, prefer)
    f.eq(len([x for x in sb.rows("salesorders") if x.get("mlc_netsuitesalesorderid") == "5501"]),
         1, "batch twice, one order")

    # ---- a failing change set rolls back everything in it ----
    b = "batch_" + uuid.uuid4().hex[:8]
    body = build(b, [[part("PATCH", API + "accounts(mlc_netsuitecustomerid='RB1')", {"name": "RB1"},
                           "1"),
                      part("PATCH", API + "accounts(mlc_netsuitecustomerid='RB2')",
                           {"name": "x" * 200}, "2")]])
    st, text, r = batch(sb, body, b)
    got = parse_multipart(text, r.getheader("Content-Type"))
    f.eq(len(got), 1, "one answer for the failed change set")
    f.eq(got[0].get("status"), 400, "the failing request's status")
    f.check("error" in json.loads(got[0]["body"]), "Dataverse error body")
    f.eq([x for x in sb.rows("accounts") if x.get("mlc_netsuitecustomerid") in ("RB1", "RB2")], [],
         "nothing of the failed change set remains")

    # ---- continue-on-error: without it the batch stops, with it the rest runs ----
    b = "batch_" + uuid.uuid4().hex[:8]
    body = build(b, [part("PATCH", API + "accounts(mlc_netsuitecustomerid='CE1')", {"bad": 1}),
                     part("PATCH", API + "accounts(mlc_netsuitecustomerid='CE2')", {"name": "CE2"})])
    st, text, r = batch(sb, body, b)
    got = parse_multipart(text, r.getheader("Content-Type"))
    f.eq([p["status"] for p in got], [400], "stops at the first failure")
    f.eq(len([x for x in sb.rows("accounts") if x.get("mlc_netsuitecustomerid") == "CE2"]), 0,
         "later request not run")
    st, text, r = batch(sb, body, b, "odata.continue-on-error")
    got = parse_multipart(text, r.getheader("Content-Type"))
    f.eq([p["status"] for p in got], [400, 204], "continue-on-error runs the rest")

    # ---- $n: a row created in the change set, referenced by later parts ----
    b = "batch_" + uuid.uuid4().hex[:8]
    body = build(b, [[part("POST", API + "accounts", {"name": "Parent N"}, "1"),
                      part("POST", API + "contacts", {"lastname": "Child N",
                                                     "parentcustomerid_account@odata.bind": "$1"},
                           "2"),
                      part("PATCH", "$1", {"telephone1": "555"}, "3")]])
    st, text, r = batch(sb, body, b)
    got = parse_multipart(text, r.getheader("Content-Type"))
    f.eq([p["status"] for p in got[0].get("parts", [])], [204, 204, 204], "$n parts succeed")
    acc = [x for x in sb.rows("accounts") if x["name"] == "Parent N"]
    kid = [x for x in sb.rows("contacts") if x.get("lastname") == "Child N"]
    f.check(len(acc) == 1 and acc[0].get("telephone1") == "555", "PATCH $1 reached the row")
    f.check(len(kid) == 1 and kid[0]["_parentcustomerid_value"] == acc[0]["accountid"],
            "$1 bound the child")
    body = build(b, [[part("POST", API + "contacts", {"lastname": "Orphan",
                                                      "parentcustomerid_account@odata.bind": "$9"},
                           "1")]])
    st, text, r = batch(sb, body, b)
    got = parse_multipart(text, r.getheader("Content-Type"))
    f.check("Content-ID Reference: '$9' does not exist in the batch context." in got[0]["body"],
            "unknown $n: the documented message")

    # ---- the changesetUpsert switch ----
    sb.dsettings(changesetUpsert="refuse")
    b = "batch_" + uuid.uuid4().hex[:8]
    body = build(b, [[part("PATCH", API + "accounts(mlc_netsuitecustomerid='SW1')", {"name": "SW"},
                           "1")]])
    st, text, r = batch(sb, body, b)
    got = parse_multipart(text, r.getheader("Content-Type"))
    f.eq(got[0].get("status"), 400, "upsert in a change set refused by the switch")
    body2 = build(b, [part("PATCH", API + "accounts(mlc_netsuitecustomerid='SW1')", {"name": "SW"})])
    st, text, r = batch(sb, body2, b)
    got = parse_multipart(text, r.getheader("Content-Type"))
    f.eq(got[0].get("status"), 204, "the same upsert outside a change set works")
    sb.dsettings(changesetUpsert="accept")
    st, text, r = batch(sb, body, b)
    got = parse_multipart(text, r.getheader("Content-Type"))
    f.eq([p["status"] for p in got[0].get("parts", [])], [204], "accepted again")

    # ---- malformed bodies ----
    for what, bad in (("LF line ends", body.replace("\r\n", "\n")),
                      ("no close delimiter", body.rsplit("--" + b + "--", 1)[0]),
                      ("garbage", "hello"),
                      ("bad request line", build(b, ["Content-Type: application/http\r\n\r\n"
                                                      "NOPE\r\n\r\n"]))):
        st, text, r = batch(sb, bad, b)
        if st == 200:
            got = parse_multipart(text, r.getheader("Content-Type"))
            f.eq(got[0].get("status"), 400, what + ": the part fails")
        else:
            f.eq(st, 400, what + ": 400")
            f.check("error" in json.loads(text), what + ": error body")
    st, text, r = batch(sb, "x", b, None)
    h = dict(ODATA, Authorization="Bearer " + sb.dv_token(), **{"Content-Type": "application/json"})
    st, data, _ = sb.draw("POST", API + "$batch", b"{}", h)
    f.eq(st, 400, "$batch without multipart: 400")
f.done()
