#!/usr/bin/env python3
"""Part of deploy/demo.sh: a CRM user changes telephone1 (a NetSuite-owned column) on a synced
account through the sandbox's CRM-side admin endpoint; Dataverse sends its webhook and the
connector writes NetSuite's value back (MLC_DRIFT_POLICY=revert, the default).
usage: demo_drift.py CREDENTIALS_DIR"""
import http.client
import json
import os
import ssl
import sys
import time
import urllib.parse

creds = sys.argv[1]
env = dict(l.strip().split("=", 1) for l in open(os.path.join(creds, "sandbox.env"))
           if "=" in l and not l.startswith("#"))
u = urllib.parse.urlsplit(env["MLC_DATAVERSE_URL"])
conn = http.client.HTTPSConnection(u.hostname, u.port,
                                   context=ssl.create_default_context(cafile=env["MLC_TLS_CA_FILE"]))


def call(method, path, body=None):
    conn.request(method, path, body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, json.loads(data) if data else None


def account(guid):
    _, t = call("GET", "/_sandbox/dataverse/tables/accounts")
    return next(r for r in t["rows"] if r["accountid"] == guid)


_, t = call("GET", "/_sandbox/dataverse/tables/accounts")
acc = next((r for r in t["rows"] if r.get("mlc_netsuitecustomerid") and r.get("telephone1")
            and r.get("statecode") == 0), None)
if not acc:
    print("  no synced account with a telephone number to edit")
    sys.exit(0)
print("  account %s (NetSuite customer %s): telephone1 %s" % (
    acc["accountid"], acc["mlc_netsuitecustomerid"], acc["telephone1"]))
st, _ = call("PATCH", "/_sandbox/dataverse/rows/accounts/" + acc["accountid"],
             json.dumps({"telephone1": "+1 425 555 0199"}))
print("  the CRM user sets it to +1 425 555 0199 (HTTP %d); Dataverse sends the webhook" % st)
now = acc
for _ in range(150):
    time.sleep(0.2)
    now = account(acc["accountid"])
    if now.get("telephone1") == acc["telephone1"]:
        print("  the connector put NetSuite's value back: telephone1 %s" % now["telephone1"])
        break
else:
    print("  telephone1 is still %s (MLC_DRIFT_POLICY=report keeps CRM edits)" % now.get("telephone1"))
