#!/usr/bin/env python3
"""`ml-connector setup dataverse` through the real binary against the sandbox's Dataverse started
with `--schema bare` (none of our columns, keys or webhook registration exist), over HTTPS:
--dry-run prints the plan and changes nothing; the first run creates every column of CONFIG.md's
table (names from the mapping file), the alternate keys (waited for until Active, with progress
lines) and the webhook registration (a WebhookKey service endpoint, Update steps filtered to the
mapped columns and Delete steps on the four tables, Merge on account and contact), which then
delivers a CRM edit to the connector's URL; the second run changes nothing (the metadata dump is
identical). Expectations come from CONFIG.md's table and the mapping file, not from the binary."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mlctest  # noqa: E402
from mlctest import check, check_eq, wait_until, MLC_BIN  # noqa: E402
from test_sync_lib import mapping  # noqa: E402

STATE_COLS = ["mlc_netsuitelastmodified", "mlc_syncstatehash", "mlc_lastsyncedon",
              "mlc_syncexceptions"]
TYPES = {"mlc_netsuitelastmodified": "DateTime", "mlc_syncstatehash": "String",
         "mlc_lastsyncedon": "DateTime", "mlc_syncexceptions": "Memo"}
HOOK_URL = "https://connector.example:8443/v1/webhooks/dataverse"
CTX = {}


def sb():
    if "sb" not in CTX:
        from test_sandbox_dv_lib import DvSandbox
        CTX["sb"] = DvSandbox("--schema", "bare", customers=40, orders=10, items=20)
        mlctest._cleanups.append(CTX["sb"].close)
    return CTX["sb"]


def expected():
    """(table -> {column: AttributeType}, table -> key column) from CONFIG.md's table."""
    m = mapping()
    cols, keys = {}, {}
    for sec in ("account", "contact", "salesorder", "salesorderdetail"):
        t = m[sec]["table"]
        cols[t] = {m[sec]["key"]: "String"}
        cols[t].update(TYPES)
        keys[t] = m[sec]["key"]
    cols["salesorder"][m["salesorder"]["statusColumn"]] = "String"
    cols["salesorder"][m["salesorder"]["totalColumn"]] = "Money"
    item = m["salesorderdetail"]["productColumns"]["item"]
    cols["product"] = {item: "String"}
    keys["product"] = item
    return cols, keys


def env(s):
    e = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    e.update(s.settings)
    e.update({"MLC_ALLOW_PLAINTEXT_SECRETS": "1", "MLC_DATAVERSE_WEBHOOK_URL": HOOK_URL,
              "MLC_LOG_LEVEL": "warn"})
    return e


def setup(s, *args, extra=None):
    e = env(s)
    e.update(extra or {})
    p = subprocess.run([MLC_BIN, "setup", "dataverse", *args], env=e, capture_output=True,
                       timeout=300)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    mlctest.check_no_sanitizer_report(err, "setup dataverse")
    check("\ufffd" not in out + err, "setup's output is clean UTF-8")
    summary = None
    for line in out.splitlines():
        if line.startswith("{"):
            summary = json.loads(line)
    return p.returncode, out, err, summary


def metadata(s):
    """Our part of the organization's metadata: custom attributes, keys, endpoints and steps."""
    cols, _ = expected()
    dump = {}
    for t in cols:
        st, a, _ = s.api("GET", "EntityDefinitions(LogicalName='%s')/Attributes" % t)
        check_eq(st, 200, "attributes of %s readable" % t)
        dump[t + ".attributes"] = sorted((x["LogicalName"], x["AttributeType"])
                                         for x in a["value"] if x["LogicalName"].startswith("mlc_"))
        st, k, _ = s.api("GET", "EntityDefinitions(LogicalName='%s')/Keys" % t)
        check_eq(st, 200, "keys of %s readable" % t)
        dump[t + ".keys"] = sorted((x["LogicalName"], tuple(x["KeyAttributes"]),
                                    x["EntityKeyIndexStatus"]) for x in k["value"])
    dump["serviceendpoints"] = sorted(json.dumps(r, sort_keys=True)
                                      for r in s.rows("serviceendpoints"))
    dump["steps"] = sorted(json.dumps(r, sort_keys=True)
                           for r in s.rows("sdkmessageprocessingsteps"))
    return dump


def names_of(s, table, ids):
    rows = {r[table + "id"]: r for r in s.rows(table + "s")}
    return [rows[i]["name"] for i in ids]


def test_dry_run_on_bare():
    """--dry-run on a bare organization: a plan naming every column, key, the endpoint and the
    steps, exit 0, and nothing changed."""
    s = sb()
    before = metadata(s)
    check(all(not v for k, v in before.items() if k.endswith(".keys") or
              k.endswith(".attributes") or k == "steps"), "bare: none of ours exist", before)
    rc, out, err, summary = setup(s, "--dry-run")
    check_eq(rc, 0, "dry run exit status (stderr: %s)" % err[-500:])
    cols, keys = expected()
    for t, cs in cols.items():
        for c in cs:
            check("create   column %s.%s" % (t, c) in out, "plan creates column %s.%s" % (t, c),
                  out)
    for t, c in keys.items():
        check("create   key %s.%s_key (%s)" % (t, c, c) in out, "plan creates key on %s" % t)
    check("create   service endpoint ml-connector -> %s (authtype 4)" % HOOK_URL in out,
          "plan creates the endpoint")
    for t in ("account", "contact", "salesorder", "salesorderdetail"):
        for msg in ("Update", "Delete"):
            check("create   step ml-connector: %s of %s" % (msg, t) in out,
                  "plan: %s step on %s" % (msg, t))
    for t in ("account", "contact"):
        check("create   step ml-connector: Merge of %s" % t in out, "plan: Merge on %s" % t)
    check("Merge of salesorder" not in out, "no Merge step planned on orders")
    check_eq(summary and summary["dryRun"], True, "summary says dry run")
    check_eq(summary["created"], 0, "dry run created nothing")
    check_eq(metadata(s), before, "the organization's metadata is unchanged after --dry-run")


def test_first_run_creates_everything():
    """The first run creates every column and key (Active at the end, with progress lines) and the
    webhook registration; the sandbox's metadata dump shows each."""
    s = sb()
    s.dsettings(keyBuildMs=1500)
    key = s.settings["MLC_DATAVERSE_WEBHOOK_KEYS"].split(",")[0]
    rc, out, err, summary = setup(s)
    check_eq(rc, 0, "first run exit status (stdout: %s stderr: %s)" % (out[-1500:], err[-800:]))
    cols, keys = expected()
    dump = metadata(s)
    for t, cs in cols.items():
        got = dict(dump[t + ".attributes"])
        for c, ty in cs.items():
            check_eq(got.get(c), ty, "column %s.%s exists with its type" % (t, c))
    for t, c in keys.items():
        ks = [k for k in dump[t + ".keys"] if k[1] == (c,)]
        check_eq(len(ks), 1, "one key on %s.%s" % (t, c))
        check_eq(ks[0][2], "Active", "key on %s.%s is Active when setup returns" % (t, c))
    check("setup: keys after" in err and "InProgress" in err, "progress lines while keys build",
          err[-1500:])
    eps = s.rows("serviceendpoints")
    check_eq(len(eps), 1, "one service endpoint")
    ep = eps[0]
    check_eq((ep["name"], ep["contract"], ep["url"], ep["authtype"], ep["authvalue"]),
             ("ml-connector", 8, HOOK_URL, 4, key), "endpoint: webhook contract, url, WebhookKey")
    check(key not in out and key not in err, "the webhook key is not printed")
    steps = [st for st in s.rows("sdkmessageprocessingsteps")
             if st["_eventhandler_value"] == ep["serviceendpointid"]]
    msgs = {r["sdkmessageid"]: r["name"] for r in s.rows("sdkmessages")}
    flts = {r["sdkmessagefilterid"]: r["primaryobjecttypecode"] for r in s.rows("sdkmessagefilters")}
    got = sorted((msgs[st["_sdkmessageid_value"]], flts[st["_sdkmessagefilterid_value"]])
                 for st in steps)
    want = sorted([(m, t) for m in ("Update", "Delete")
                   for t in ("account", "contact", "salesorder", "salesorderdetail")]
                  + [("Merge", "account"), ("Merge", "contact")])
    check_eq(got, want, "steps: Update and Delete on the four tables, Merge on account and contact")
    m = mapping()
    for st in steps:
        msg, t = msgs[st["_sdkmessageid_value"]], flts[st["_sdkmessagefilterid_value"]]
        check_eq((st["mode"], st["stage"]), (1, 40), "step %s/%s asynchronous post-operation"
                 % (msg, t))
        fa = st.get("filteringattributes")
        if msg != "Update":
            check(not fa, "%s step on %s not filtered" % (msg, t))
            continue
        fa = fa.split(",")
        sec = [v for v in m.values() if isinstance(v, dict) and v.get("table") == t][0]
        for c in sec["columns"]:
            if c.get("owner", "netsuite") == "netsuite" and "dv" in c:
                check(c["dv"] in fa, "Update of %s filtered to mapped column %s" % (t, c["dv"]))
            elif "dv" in c:
                check(c["dv"] not in fa, "Update of %s ignores %s-owned %s"
                      % (t, c["owner"], c["dv"]))
        check(sec["key"] in fa, "Update of %s includes our key column" % t)
    CTX["steps"] = {(msgs[st["_sdkmessageid_value"]], flts[st["_sdkmessagefilterid_value"]]): st
                    for st in steps}
    check_eq(summary["problems"], 0, "no problems")
    check(summary["created"] >= len(want) + 1 + sum(len(c) for c in cols.values()) + len(keys),
          "summary counts the creations", summary)


def test_registration_delivers_crm_edits():
    """The registration works: a CRM edit of a mapped account column is posted to the URL with
    the key as code=; an edit of a CRM-owned column is filtered out."""
    s = sb()
    acc = s.rows("accounts")[0]
    st0, stats0 = s.dadmin("GET", "stats")
    n0 = stats0["webhooks"]["queued"]
    st, _ = s.dadmin("PATCH", "rows/accounts/" + acc["accountid"], {"creditonhold": True})
    check(st in (200, 204), "CRM edit of creditonhold accepted (%s)" % st)
    st, _ = s.dadmin("PATCH", "rows/accounts/" + acc["accountid"], {"telephone1": "555-0100"})
    check(st in (200, 204), "CRM edit of telephone1 accepted (%s)" % st)

    def queued():
        return s.dadmin("GET", "stats")[1]["webhooks"]["queued"] - n0
    wait_until(lambda: queued() >= 1, "the telephone1 edit queued for delivery")
    check_eq(queued(), 1, "only the mapped column's edit fires the Update step")
    recent = s.dadmin("GET", "stats")[1]["webhooks"].get("recent") or []
    if recent:
        last = json.dumps(recent[-1])
        check("connector.example" in last, "delivered to MLC_DATAVERSE_WEBHOOK_URL", last[:400])


def test_second_run_changes_nothing():
    """setup dataverse twice: the second run reports every item ok, creates and updates nothing,
    and the metadata dump is byte-for-byte the same."""
    s = sb()
    before = metadata(s)
    rc, out, err, summary = setup(s)
    check_eq(rc, 0, "second run exit status (%s)" % err[-500:])
    check_eq((summary["created"], summary["updated"], summary["problems"]), (0, 0, 0),
             "second run: nothing created or updated")
    check("create " not in out and "update " not in out, "every plan line is ok", out)
    check(out.count("exists, Active") == len(expected()[1]), "every key reported Active", out)
    check_eq(metadata(s), before, "metadata unchanged by the second run")
    rc, out, _, summary = setup(s, "--dry-run")
    check_eq((rc, summary["created"]), (0, 0), "a dry run now plans nothing")
    check("create " not in out and "update " not in out, "dry-run plan: all ok")


def test_changed_mapping_updates_the_filter():
    """A mapping that maps one more column: the Update step's filter is updated (and only it)."""
    s = sb()
    m = mapping()
    m["contact"]["columns"].append({"ns": "entityid", "dv": "address1_city", "maxLength": 80})
    path = os.path.join(mlctest.work_dir(), "mapping-more.json")
    with open(path, "w") as f:
        json.dump(m, f)
    rc, out, err, summary = setup(s, extra={"MLC_MAPPING_FILE": path})
    check_eq(rc, 0, "run with the changed mapping (%s)" % err[-400:])
    check_eq((summary["created"], summary["updated"]), (0, 1), "one item updated")
    check("update   step ml-connector: Update of contact: filteringattributes" in out,
          "the contact Update step's filter is named", out)
    st = [x for x in s.rows("sdkmessageprocessingsteps")
          if x["sdkmessageprocessingstepid"] ==
          CTX["steps"][("Update", "contact")]["sdkmessageprocessingstepid"]][0]
    check("address1_city" in st["filteringattributes"].split(","), "new column in the filter")


def test_bad_usage():
    """Bad usage and missing settings exit 2 with one clear line."""
    s = sb()
    p = subprocess.run([MLC_BIN, "setup", "crm"], env=env(s), capture_output=True)
    check_eq(p.returncode, 2, "unknown target")
    check(b"unknown target 'crm'" in p.stderr, "the target is named")
    p = subprocess.run([MLC_BIN, "setup", "dataverse", "--timeout", "0"], env=env(s),
                       capture_output=True)
    check_eq(p.returncode, 2, "bad --timeout")
    e = env(s)
    del e["MLC_DATAVERSE_WEBHOOK_URL"]
    p = subprocess.run([MLC_BIN, "setup", "dataverse", "--dry-run"], env=e, capture_output=True)
    check_eq(p.returncode, 2, "missing MLC_DATAVERSE_WEBHOOK_URL")
    check(b"MLC_DATAVERSE_WEBHOOK_URL" in p.stderr, "the variable is named")


if __name__ == "__main__":
    mlctest.run(test_dry_run_on_bare, test_first_run_creates_everything,
                test_registration_delivers_crm_edits, test_second_run_changes_nothing,
                test_changed_mapping_updates_the_filter, test_bad_usage)
