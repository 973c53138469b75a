#!/usr/bin/env python3
"""Part of deploy/demo.sh: the summary of a run, from the connector's audit (admin API) and the
sandbox's own inspection endpoints (never from the connector's counters alone): records by type
and action, duplicates in Dataverse by alternate key, mapping exceptions, requests per 1,000
records on both sides, and the latency from a NetSuite change to its Dataverse write.
usage: demo_summary.py CREDENTIALS_DIR CONNECTOR_PORT ADMIN_TOKEN"""
import http.client
import json
import os
import ssl
import sys
import urllib.parse
from datetime import datetime

creds, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
env = dict(l.strip().split("=", 1) for l in open(os.path.join(creds, "sandbox.env"))
           if "=" in l and not l.startswith("#"))
ctx = ssl.create_default_context(cafile=env["MLC_TLS_CA_FILE"])


def get(base, path, headers=None):
    u = urllib.parse.urlsplit(base)
    c = (http.client.HTTPSConnection(u.hostname, u.port, context=ctx) if u.scheme == "https"
         else http.client.HTTPConnection(u.hostname, u.port))
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    return r.status, r.read()


st, body = get("http://127.0.0.1:%d" % port, "/v1/audit?format=jsonl&limit=10000",
               {"Authorization": "Bearer " + token})
if st != 200:
    sys.exit("  the admin API answered %d: %s" % (st, body[:200]))
entries = [json.loads(l) for l in body.decode().splitlines() if l.strip()]
by = {}
for e in entries:
    by.setdefault(e["type"], {}).setdefault(e["action"], 0)
    by[e["type"]][e["action"]] += 1
actions = sorted({a for t in by.values() for a in t})
print("  records by type and action (the connector's audit):")
print("    %-11s" % "" + "".join("%15s" % a for a in actions))
for t in sorted(by):
    print("    %-11s" % t + "".join("%15d" % by[t].get(a, 0) for a in actions))

dups = 0
for s in ("accounts", "contacts", "salesorders", "salesorderdetails"):
    st, b = get(env["MLC_DATAVERSE_URL"], "/_sandbox/dataverse/duplicates/" + s)
    if st == 200:
        dups += sum(len(v) for v in json.loads(b).values())
print("  duplicates in Dataverse (the sandbox's dump, every alternate key): %d" % dups)
exc = sum(len(e.get("exceptions") or []) for e in entries)
print("  mapping exceptions: %d, on %d records" % (
    exc, len({(e["type"], e["nsId"]) for e in entries if e.get("exceptions")})))
codes = {}
for e in entries:
    for x in e.get("exceptions") or []:
        c = x.get("code", "?") if isinstance(x, dict) else str(x)
        codes[c] = codes.get(c, 0) + 1
for c, n in sorted(codes.items(), key=lambda kv: -kv[1])[:6]:
    print("    %-40s %d" % (c, n))

recs = max(1, len({(e["type"], e["nsId"]) for e in entries}))
st, b = get(env["MLC_NETSUITE_BASE_URL"], "/_sandbox/netsuite/stats")
ns_calls = sum(v for k, v in json.loads(b)["calls"].items() if k != "admin")
st, b = get(env["MLC_DATAVERSE_URL"], "/_sandbox/dataverse/stats")
dv_calls = json.loads(b)["calls"]
print("  requests per 1,000 records (%d records; as each sandbox counted them): NetSuite %.0f, "
      "Dataverse %.0f" % (recs, 1000 * ns_calls / recs, 1000 * dv_calls / recs))


def ms(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000


lat = sorted(ms(e["ts"]) - ms(e["nsLastModified"]) for e in entries
             if e.get("source") == "netsuite_webhook" and e.get("nsLastModified")
             and e["action"] in ("created", "updated"))
if lat:
    def p(q):
        return lat[min(len(lat) - 1, int(q * len(lat)))]
    print("  NetSuite change -> Dataverse write, webhook-driven (%d writes): p50 %.0f ms, "
          "p99 %.0f ms" % (len(lat), p(0.5), p(0.99)))
