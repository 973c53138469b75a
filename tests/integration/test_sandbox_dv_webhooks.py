#!/usr/bin/env python3
"""Webhooks out, from reference/dataverse.md and samples/dataverse-webhook-account-update.json:
a CRM-side edit, delete and merge through the admin API, and Web API writes, each arriving as a
RemoteExecutionContext (fields compared with the sample) with the x-ms-dynamics-* headers and the
WebhookKey as `code`, tagged with the writing user; contexts over the size limit stripped; one
retry only after 502/503/504; service endpoints and steps created through the Web API (bare
schema) deliver too.
"""
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_sandbox_dv_lib import DvSandbox, Receiver, sample  # noqa: E402
from test_sandbox_lib import Failures  # noqa: E402

f = Failures()
want = sample("dataverse-webhook-account-update.json")


def attrs(ctx):
    target = [p["value"] for p in ctx["InputParameters"] if p["key"] == "Target"][0]
    return {a["key"]: a["value"] for a in target["Attributes"]}, target


def for_row(rid, message):
    return lambda p: (json.loads(p["body"]).get("PrimaryEntityId") == rid and
                      json.loads(p["body"]).get("MessageName") == message)


rx = Receiver()
with DvSandbox("--dataverse-webhook-url", rx.url) as sb:
    crm_user = sb.dv["crmUserId"]
    acc = [r for r in sb.rows("accounts") if r.get("_primarycontactid_value") is None][0]
    aid = acc["accountid"]

    # ---- a CRM-side edit ----
    st, row = sb.dadmin("PATCH", "rows/accounts/" + aid, {"creditlimit": 99000.0,
                                                          "customertypecode": 3})
    f.eq(st, 200, "CRM edit through the admin API")
    hits = rx.wait(for_row(aid, "Update"))
    f.eq(len(hits), 1, "one webhook for the CRM edit")
    if hits:
        p = hits[0]
        ctx = json.loads(p["body"])
        f.eq(sorted(ctx.keys()), sorted(want.keys()), "context fields as the sample")
        for k in ("Depth", "IsolationMode", "Mode", "Stage", "SecondaryEntityName",
                  "IsExecutingOffline", "IsOfflinePlayback", "RequestId", "ParentContext"):
            f.eq(ctx[k], want[k], "context %s as the sample" % k)
        f.eq(ctx["PrimaryEntityName"], "account", "PrimaryEntityName")
        f.eq(ctx["UserId"], crm_user, "UserId is the CRM user who edited")
        f.eq(ctx["InitiatingUserId"], crm_user, "InitiatingUserId")
        f.eq(ctx["OrganizationId"], sb.settings["MLC_DATAVERSE_ORGANIZATION_ID"], "OrganizationId")
        for k in ("InputParameters", "OutputParameters", "PreEntityImages", "PostEntityImages",
                  "SharedVariables"):
            f.check(isinstance(ctx[k], list), k + " is an array of key/value pairs")
        a, target = attrs(ctx)
        wa, wt = attrs(want)
        f.eq(sorted(target.keys()), sorted(wt.keys()), "Target entity fields as the sample")
        f.eq(sorted(a.keys()), sorted(wa.keys()), "Target attributes as the sample")
        f.eq(a["creditlimit"], wa["creditlimit"], "money typed as the sample")
        f.eq(a["customertypecode"], wa["customertypecode"], "choice typed as the sample")
        f.eq(sorted(a["modifiedby"].keys()), sorted(wa["modifiedby"].keys()), "EntityReference")
        f.eq(a["modifiedby"]["Id"], crm_user, "modifiedby is the CRM user")
        f.check(a["modifiedon"].startswith("/Date(") and a["modifiedon"].endswith(")/"),
                "dates as /Date(ms)/")
        f.check(b'"\\/Date(' in p["body"], "slashes escaped as in the sample")
        f.check(ctx["OperationCreatedOn"].endswith("+0000)/"), "OperationCreatedOn form")
        h = p["headers"]
        f.eq(h.get("x-ms-dynamics-entity-name"), "account", "x-ms-dynamics-entity-name")
        f.eq(h.get("x-ms-dynamics-request-name"), "Update", "x-ms-dynamics-request-name")
        f.check(h.get("x-ms-dynamics-organization"), "x-ms-dynamics-organization")
        f.check(h.get("x-ms-correlation-request-id"), "x-ms-correlation-request-id")
        f.check("x-ms-dynamics-msg-size-exceeded" not in h, "no size flag on a small context")
        qs = urllib.parse.parse_qs(urllib.parse.urlsplit(p["path"]).query)
        f.eq(qs.get("code"), [sb.settings["MLC_DATAVERSE_WEBHOOK_KEYS"]], "WebhookKey as code")

    # ---- a Web API write, tagged with the application user ----
    st, _, r = sb.api("PATCH", "accounts(mlc_netsuitecustomerid='W1')", {"name": "Web write"})
    nid = r.getheader("OData-EntityId").rsplit("(", 1)[1].rstrip(")")
    hits = rx.wait(for_row(nid, "Create"))
    f.eq(len(hits), 1, "a webhook for the Web API create")
    if hits:
        ctx = json.loads(hits[0]["body"])
        f.eq(ctx["UserId"], sb.app_user, "UserId is the application user (WhoAmI)")
        f.eq(ctx["OutputParameters"], [{"key": "id", "value": nid}], "Create's id in OutputParameters")

    # ---- a rolled-back bulk call sends nothing ----
    before = len(rx.posts)
    CRM = "Microsoft.Dynamics.CRM."
    sb.api("POST", "accounts/" + CRM + "CreateMultiple",
           {"Targets": [{"@odata.type": CRM + "account", "name": "ok"},
                        {"@odata.type": CRM + "account", "name": "z" * 300}]})
    time.sleep(1)
    f.eq(len(rx.posts), before, "no webhook for writes that were rolled back")

    # ---- merge: loser deactivated, children moved, Merge webhook ----
    st, _, r = sb.api("PATCH", "accounts(mlc_netsuitecustomerid='M2')", {"name": "Loser"})
    loser = r.getheader("OData-EntityId").rsplit("(", 1)[1].rstrip(")")
    sb.api("PATCH", "contacts(mlc_netsuitecontactid='MC')", {
        "lastname": "Kid", "parentcustomerid_account@odata.bind": "/accounts(%s)" % loser})
    st, _ = sb.dadmin("POST", "merge/accounts", {"target": nid, "subordinate": loser})
    f.eq(st, 204, "CRM merge")
    st, row, _ = sb.api("GET", "accounts(%s)?$select=statecode,merged,_masterid_value" % loser)
    f.eq((row["statecode"], row["merged"], row["_masterid_value"]), (1, True, nid),
         "the loser is deactivated and points at the survivor")
    kid = [c for c in sb.rows("contacts") if c.get("mlc_netsuitecontactid") == "MC"][0]
    f.eq(kid["_parentcustomerid_value"], nid, "children moved to the survivor")
    hits = rx.wait(for_row(nid, "Merge"))
    f.eq(len(hits), 1, "a Merge webhook")
    if hits:
        ctx = json.loads(hits[0]["body"])
        ip = {x["key"]: x["value"] for x in ctx["InputParameters"]}
        f.eq(ip.get("SubordinateId"), loser, "SubordinateId in InputParameters")
        f.eq(ctx["UserId"], crm_user, "merge by the CRM user")
    f.check(rx.wait(for_row(kid["contactid"], "Update")), "the moved child's Update webhook")

    # ---- delete ----
    f.eq(sb.dadmin("DELETE", "rows/accounts/" + loser)[0], 204, "CRM delete")
    f.eq(len(rx.wait(for_row(loser, "Delete"))), 1, "a Delete webhook")

    # ---- contexts over the limit are stripped ----
    sb.dsettings(webhookMaxBytes=1024)
    sb.api("PATCH", "accounts(%s)" % nid, {"description": "d" * 1500})
    hits = rx.wait(lambda p: p["headers"].get("x-ms-dynamics-msg-size-exceeded"))
    f.eq(len(hits), 1, "oversized context flagged")
    if hits:
        ctx = json.loads(hits[0]["body"])
        f.eq((ctx["InputParameters"], ctx["PreEntityImages"], ctx["PostEntityImages"],
              ctx["ParentContext"]), ([], [], [], None), "and stripped")
    sb.dsettings(webhookMaxBytes=262144)

    # ---- one retry, only after 502/503/504 ----
    for statuses, n, what in (([503, 200], 2, "503 then retried once"),
                              ([504, 504], 2, "504 twice: one retry only"),
                              ([500], 1, "500: no retry")):
        rx.statuses[:] = statuses
        start = len(rx.posts)
        sb.dadmin("PATCH", "rows/accounts/" + nid, {"telephone1": what[:20]})
        time.sleep(1.5)
        f.eq(len(rx.posts) - start, n, what)
rx.close()

# ---- a receiver slower than webhookTimeoutMs: the delivery fails, and is not retried ----
rx = Receiver(delay=1.5)
with DvSandbox("--dataverse-webhook-url", rx.url, "--webhook-timeout-ms", "300") as sb:
    aid = sb.rows("accounts")[0]["accountid"]
    sb.dadmin("PATCH", "rows/accounts/" + aid, {"telephone1": "slow"})
    end = time.time() + 20
    stats = {}
    while time.time() < end:
        st, stats = sb.dadmin("GET", "stats")
        if stats["webhooks"]["failed"]:
            break
        time.sleep(0.2)
    f.eq(stats["webhooks"]["failed"], 1, "a delivery over the timeout fails")
    f.eq(stats["webhooks"]["recent"][-1]["attempts"], 1, "a timeout is not retried")
rx.close()

# ---- bare schema: the connector registers the endpoint and steps through the Web API ----
rx = Receiver()
with DvSandbox("--schema", "bare") as sb:
    f.eq(sb.api("GET", "serviceendpoints")[1]["value"], [], "bare: no endpoint")
    st, _, r = sb.api("POST", "serviceendpoints", {"name": "mlc", "contract": 8, "url": rx.url,
                                                   "authtype": 5, "authvalue":
                                                   '<settings><setting name="x-mlc-key" '
                                                   'value="k1" /></settings>'})
    f.eq(st, 204, "create a service endpoint")
    ep = r.getheader("OData-EntityId").rsplit("(", 1)[1].rstrip(")")
    st, msgs, _ = sb.api("GET", "sdkmessages?$select=name&$filter=" + urllib.parse.quote("name eq 'Update'"))
    mid = msgs["value"][0]["sdkmessageid"]
    st, flt, _ = sb.api("GET", "sdkmessagefilters?$select=sdkmessagefilterid&$filter=" +
                        urllib.parse.quote("sdkmessageid/name eq 'Update' and "
                                           "primaryobjecttypecode eq 'contact'"))
    fid = flt["value"][0]["sdkmessagefilterid"]
    st, _, _ = sb.api("POST", "sdkmessageprocessingsteps", {
        "name": "mlc contact update", "mode": 1, "stage": 40, "rank": 1,
        "filteringattributes": "lastname",
        "eventhandler_serviceendpoint@odata.bind": "/serviceendpoints(%s)" % ep,
        "sdkmessageid@odata.bind": "/sdkmessages(%s)" % mid,
        "sdkmessagefilterid@odata.bind": "/sdkmessagefilters(%s)" % fid})
    f.eq(st, 204, "create a step")
    step = r = None
    st, steps, _ = sb.api("GET", "sdkmessageprocessingsteps?$select=name")
    step = steps["value"][0]["sdkmessageprocessingstepid"]
    st, _, _ = sb.api("POST", "sdkmessageprocessingstepimages", {
        "name": "pre", "entityalias": "pre", "imagetype": 0, "messagepropertyname": "Target",
        "attributes": "lastname,parentcustomerid",
        "sdkmessageprocessingstepid@odata.bind": "/sdkmessageprocessingsteps(%s)" % step})
    f.eq(st, 204, "register a pre-image")
    st, steps, _ = sb.api("GET", "sdkmessageprocessingsteps?$select=name,filteringattributes")
    f.eq([s["name"] for s in steps["value"]], ["mlc contact update"], "read the step back")
    con = sb.rows("contacts")[0]["contactid"]
    before_name = sb.rows("contacts")[0]["lastname"]
    sb.api("PATCH", "contacts(%s)" % con, {"jobtitle": "not filtered"})
    sb.api("PATCH", "contacts(%s)" % con, {"lastname": "Filtered"})
    hits = rx.wait(lambda p: True)
    time.sleep(1)
    f.eq(len(rx.posts), 1, "filtering attributes: only the lastname change is sent")
    if hits:
        f.eq(hits[0]["headers"].get("x-mlc-key"), "k1", "HttpHeader auth sends the header")
        f.eq(hits[0]["headers"].get("x-ms-dynamics-entity-name"), "contact", "entity header")
        ctx = json.loads(hits[0]["body"])
        f.eq([i["key"] for i in ctx["PreEntityImages"]], ["pre"], "the pre-image under its alias")
        f.eq(ctx["PostEntityImages"], [], "no post-image registered")
        if ctx["PreEntityImages"]:
            img = {a["key"]: a["value"] for a in ctx["PreEntityImages"][0]["value"]["Attributes"]}
            f.eq(img.get("lastname"), before_name, "the pre-image holds the old value")
            f.check("emailaddress1" not in img, "only the listed attributes")
rx.close()
f.done()
