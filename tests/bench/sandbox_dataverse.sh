#!/usr/bin/env bash
# Sandbox Dataverse benchmark: PATCH-by-key upserts/s (1 and 4 clients, kept-alive HTTPS), bulk
# rows/s through UpsertMultiple (500 rows a call) and through $batch change sets (100 upserts a
# batch), and the bulk figure again with a webhook per row. Prints figures; asserts nothing.
# Usage: tests/bench/sandbox_dataverse.sh [seconds]
#   MLC_BIN   the binary (default: build-bench/ml-connector, else build/ml-connector); a Release
#             build gives the figures that matter. The client is Python: on a small machine the
#             figures are a floor set by the client as much as by the sandbox.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-5}
bin=${MLC_BIN:-}
if [ -z "$bin" ]; then
  for b in build-bench/ml-connector build/ml-connector; do
    [ -x "$b" ] && bin=$b && break
  done
fi
[ -x "${bin:-}" ] || { echo "sandbox_dataverse.sh: build first or set MLC_BIN" >&2; exit 2; }

work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MLC_LOG_LEVEL=warn "$bin" sandbox --netsuite-port "$(free_port)" --dataverse-port "$(free_port)" \
  --credentials-dir "$work/creds" --customers 200 --orders 50 --items 100 \
  --rate-requests 100000000 --rate-concurrency 10000 --rate-execution-ms 1000000000000 \
  --dataverse-webhook-url "" >"$work/out" 2>"$work/log" &
pid=$!
while [ ! -f "$work/creds/sandbox.env" ]; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
  sleep 0.1
done
echo "binary:            $bin"

python3 - "$work/creds" "$secs" <<'PY'
import http.client, json, os, ssl, sys, threading, time, urllib.parse, uuid
creds, secs = sys.argv[1], float(sys.argv[2])
env = dict(l.strip().split("=", 1) for l in open(os.path.join(creds, "sandbox.env"))
           if "=" in l and not l.startswith("#"))
url = urllib.parse.urlsplit(env["MLC_DATAVERSE_URL"])
ctx = ssl.create_default_context(cafile=env["MLC_TLS_CA_FILE"])
API = "/api/data/v9.2/"

def conn():
    return http.client.HTTPSConnection(url.hostname, url.port, context=ctx, timeout=120)

c = conn()
form = urllib.parse.urlencode({"client_id": env["MLC_ENTRA_CLIENT_ID"], "grant_type":
                               "client_credentials", "scope": env["MLC_DATAVERSE_URL"] + "/.default",
                               "client_secret": env["MLC_ENTRA_CLIENT_SECRET"]})
c.request("POST", "/%s/oauth2/v2.0/token" % env["MLC_ENTRA_TENANT_ID"], form,
          {"Content-Type": "application/x-www-form-urlencoded"})
tok = json.loads(c.getresponse().read())["access_token"]
H = {"Authorization": "Bearer " + tok, "OData-MaxVersion": "4.0", "OData-Version": "4.0",
     "Accept": "application/json", "Content-Type": "application/json"}

def call(cn, method, path, body):
    cn.request(method, API + path, body, H)
    r = cn.getresponse()
    r.read()
    return r.status

c.request("GET", API + "transactioncurrencies?$select=isocurrencycode", headers=H)
usd = json.loads(c.getresponse().read())["value"][0]["transactioncurrencyid"]
c.request("GET", API + "pricelevels?$select=name", headers=H)
pl = json.loads(c.getresponse().read())["value"][0]["pricelevelid"]
call(c, "PATCH", "accounts(mlc_netsuitecustomerid='BENCH')", json.dumps({"name": "Bench"}))

def upserts(clients):
    done = [0] * clients
    bad = [0] * clients
    end = time.time() + secs
    def run(i):
        cn = conn()
        n = 0
        while time.time() < end:
            st = call(cn, "PATCH", "accounts(mlc_netsuitecustomerid='u%d-%d')" % (i, n % 2000),
                      json.dumps({"name": "Upsert %d" % n, "telephone1": "555"}))
            n += 1
            if st == 204:
                done[i] += 1
            else:
                bad[i] += 1
    th = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    t0 = time.time()
    [t.start() for t in th]
    [t.join() for t in th]
    return sum(done) / (time.time() - t0), sum(bad)

def bulk(rows_per_call, clients):
    done = [0] * clients
    end = time.time() + secs
    def run(i):
        cn = conn()
        k = 0
        while time.time() < end:
            targets = [{"@odata.type": "Microsoft.Dynamics.CRM.salesorder",
                        "@odata.id": "salesorders(mlc_netsuitesalesorderid='b%d-%d')" % (i, k * rows_per_call + j),
                        "name": "SO", "customerid_account@odata.bind": "/accounts(mlc_netsuitecustomerid='BENCH')",
                        "pricelevelid@odata.bind": "/pricelevels(%s)" % pl,
                        "transactioncurrencyid@odata.bind": "/transactioncurrencies(%s)" % usd}
                       for j in range(rows_per_call)]
            st = call(cn, "POST", "salesorders/Microsoft.Dynamics.CRM.UpsertMultiple",
                      json.dumps({"Targets": targets}))
            if st == 204:
                done[i] += rows_per_call
            k = (k + 1) % 20
    th = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    t0 = time.time()
    [t.start() for t in th]
    [t.join() for t in th]
    return sum(done) / (time.time() - t0)

def batches(per_batch):
    cn = conn()
    done, k = 0, 0
    end = time.time() + secs
    t0 = time.time()
    while time.time() < end:
        b, cs = "batch_" + uuid.uuid4().hex[:8], "changeset_" + uuid.uuid4().hex[:8]
        body = "--%s\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n" % (b, cs)
        for j in range(per_batch):
            body += ("--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
                     "Content-ID: %d\r\n\r\nPATCH %saccounts(mlc_netsuitecustomerid='bt%d') HTTP/1.1\r\n"
                     "Content-Type: application/json\r\n\r\n{\"name\":\"B\"}\r\n") % (cs, j + 1, API, k * per_batch + j)
        body += "--%s--\r\n--%s--\r\n" % (cs, b)
        h = dict(H)
        h["Content-Type"] = "multipart/mixed; boundary=" + b
        cn.request("POST", API + "$batch", body.encode(), h)
        r = cn.getresponse()
        r.read()
        if r.status == 200:
            done += per_batch
        k = (k + 1) % 50
    return done / (time.time() - t0)

u1, e1 = upserts(1)
u4, e4 = upserts(4)
print("upserts/s:         %.0f (1 client), %.0f (4 clients)%s" % (
    u1, u4, "" if e1 + e4 == 0 else "  [%d non-204 answers]" % (e1 + e4)))
print("bulk rows/s:       %.0f (UpsertMultiple, 500 rows a call, 1 client), %.0f (2 clients)" % (
    bulk(500, 1), bulk(500, 2)))
print("batch rows/s:      %.0f ($batch change set of 100 upserts, 1 client)" % batches(100))
# the same bulk calls with the provisioned webhook steps firing for every row, at an endpoint
# that refuses connections (as the default url does when no connector listens there)
c.request("PATCH", "/_sandbox/dataverse/settings", json.dumps({"webhookUrl": "http://127.0.0.1:9/hook"}),
          {"Content-Type": "application/json"})
c.getresponse().read()
print("bulk rows/s:       %.0f (UpsertMultiple as above, 1 client, with a webhook per row)" % bulk(500, 1))
PY
