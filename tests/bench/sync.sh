#!/usr/bin/env bash
# Sync benchmark: a full sync (backfill of every customer, then every order) from the sandbox with
# 50 ms latency per call on both sides and the default caps, then a second pass over the same,
# unchanged data. Prints records/s, NetSuite and Dataverse requests per 1,000 records, the
# latency of single webhook-driven changes made during the load (p50/p99, webhook accepted ->
# Dataverse written and audited), and the service's peak RSS. Asserts nothing.
# Usage: tests/bench/sync.sh [customers] [orders] [latency_ms]   (default 20000 20000 50)
#   MLC_BIN   the binary (default: build-bench/ml-connector, else build/ml-connector)
set -euo pipefail
cd "$(dirname "$0")/../.."
customers=${1:-20000}
orders=${2:-20000}
latency=${3:-50}
bin=${MLC_BIN:-}
if [ -z "$bin" ]; then
  for b in build-bench/ml-connector build/ml-connector; do
    [ -x "$b" ] && bin=$b && break
  done
fi
[ -x "${bin:-}" ] || { echo "sync.sh: build first or set MLC_BIN" >&2; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

rport=$(free_port)
redis-server --port "$rport" --save "" --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
MLC_LOG_LEVEL=warn "$bin" sandbox --netsuite-port "$(free_port)" --dataverse-port "$(free_port)" \
  --credentials-dir "$work/creds" --customers "$customers" --orders "$orders" --items 150 \
  --fault-latency-ms "$latency" --dv-fault-latency-ms "$latency" \
  --dataverse-webhook-url "" >"$work/sandbox.out" 2>"$work/sandbox.log" &
pids+=($!)
while [ ! -f "$work/creds/sandbox.env" ]; do sleep 0.2; done
set -a
# shellcheck disable=SC1091
. "$work/creds/sandbox.env"
set +a
export MLC_REDIS_URL="redis://127.0.0.1:$rport/0" MLC_REDIS_KEY_PREFIX="bench:" MLC_LOG_LEVEL=warn \
  MLC_LISTEN="127.0.0.1:$(free_port)" MLC_POLL_INTERVAL_S=86400 MLC_ACCESS_LOG=off
"$bin" serve >"$work/serve.log" 2>&1 &
serve=$!
pids+=($serve)
export BENCH_BIN="$bin" BENCH_SERVE_PID=$serve BENCH_REDIS_PORT=$rport BENCH_WORK="$work" \
  BENCH_CUSTOMERS=$customers BENCH_ORDERS=$orders BENCH_LATENCY=$latency
python3 - <<'PY'
import http.client, json, os, ssl, subprocess, threading, time, urllib.parse, uuid, socket

def redis(*args):
    s = socket.create_connection(("127.0.0.1", int(os.environ["BENCH_REDIS_PORT"])))
    out = "*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(str(a).encode()), a) for a in args)
    s.sendall(out.encode())
    f = s.makefile("rb")
    def read():
        line = f.readline().rstrip(b"\r\n")
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-"): return rest.decode()
        if t == b":": return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0: return None
            d = f.read(n + 2)[:-2]; return d.decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [read() for _ in range(n)]
    v = read(); s.close(); return v

ca = os.environ["MLC_TLS_CA_FILE"]
def https(base, method, path, body=None):
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=ca), timeout=600)
    c.request(method, path, json.dumps(body) if body is not None else None, {"Content-Type": "application/json"})
    r = c.getresponse(); d = r.read(); c.close()
    return r.status, (json.loads(d) if d else None)

ns, dv = os.environ["MLC_NETSUITE_BASE_URL"], os.environ["MLC_DATAVERSE_URL"]
def ns_calls():
    return sum(v for k, v in https(ns, "GET", "/_sandbox/netsuite/stats")[1]["calls"].items() if k != "admin")
def dv_stats():
    d = https(dv, "GET", "/_sandbox/dataverse/stats")[1]
    prot = d["protection"][0] if d["protection"] else {}
    return d["calls"], prot.get("windowRequests", 0), d["outcomes"]["throttled"]
listen = os.environ["MLC_LISTEN"]
host, port = listen.rsplit(":", 1)
def post_event(rtype, rid):
    body = json.dumps({"eventId": str(uuid.uuid4()), "eventType": "edit", "recordType": rtype,
                       "recordId": str(rid), "occurredAt": "2026-01-01T00:00:00Z",
                       "accountId": os.environ["MLC_NETSUITE_ACCOUNT_ID"]})
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    c.request("POST", "/v1/webhooks/netsuite", body, {"Content-Type": "application/json",
              "X-MLC-Webhook-Secret": os.environ["MLC_NETSUITE_WEBHOOK_SECRETS"].split(",")[0]})
    r = c.getresponse(); r.read(); c.close(); return r.status
def drained():
    n = (redis("XLEN", "bench:q:live") or 0) + (redis("XLEN", "bench:q:bulk") or 0) + (redis("ZCARD", "bench:q:retry") or 0)
    return n == 0
def wait_drained():
    while not drained(): time.sleep(0.5)
def backfill(t):
    for k in redis("KEYS", "bench:backfill:*") or []: redis("DEL", k)
    subprocess.run([os.environ["BENCH_BIN"], "backfill", "--type", t, "--since", "2000-01-01"],
                   check=True, capture_output=True)
def rss_peak():
    for line in open("/proc/%s/status" % os.environ["BENCH_SERVE_PID"]):
        if line.startswith("VmHWM:"): return int(line.split()[1]) / 1024.0
while True:
    try:
        if http.client.HTTPConnection(host, int(port), timeout=2).request("GET", "/healthz") is None: break
    except OSError: time.sleep(0.2)

custs = [r["id"] for r in https(ns, "POST", "/_sandbox/netsuite/sql", {"sql": "SELECT id FROM customer ORDER BY id"})[1]["rows"]]
lat, stop = [], threading.Event()
def probe():
    """A single change every 2 s during the load: phone edited in NetSuite, its webhook posted,
    time until the audit says the account was updated."""
    i = 0
    while not stop.is_set():
        cid = custs[(i * 7919) % len(custs)]; i += 1
        st = redis("HGET", "bench:state:customer:%d" % cid, "dvid")
        if not st:
            stop.wait(0.5); continue
        https(ns, "PATCH", "/_sandbox/netsuite/customers/%d" % cid, {"fields": {"phone": "+1 555 %07d" % i}})
        n0 = redis("LLEN", "bench:hist:customer:%d" % cid) or 0
        t0 = time.monotonic(); post_event("customer", cid)
        while time.monotonic() - t0 < 120:
            h = redis("LRANGE", "bench:hist:customer:%d" % cid, 0, 0)
            if (redis("LLEN", "bench:hist:customer:%d" % cid) or 0) > n0 and h and '"updated"' in h[0]:
                lat.append(time.monotonic() - t0); break
            time.sleep(0.005)
        stop.wait(2)
th = threading.Thread(target=probe, daemon=True); th.start()

ns0, (dv0, _, thr0) = ns_calls(), dv_stats()
t0 = time.monotonic()
backfill("customer"); wait_drained(); tc = time.monotonic() - t0
ns1, (dv1, _, _) = ns_calls(), dv_stats()
backfill("salesorder"); wait_drained(); tt = time.monotonic() - t0
ns2, (dv2, win, thr2) = ns_calls(), dv_stats()
stop.set(); th.join(10)
def count(pattern):
    return sum(1 for _ in (redis("KEYS", pattern) or []))
synced_c = count("bench:state:customer:*"); synced_k = count("bench:state:contact:*"); synced_o = count("bench:state:salesorder:*")
rec = synced_c + synced_o
lines = https(dv, "GET", "/_sandbox/dataverse/counts")[1].get("salesorderdetails", 0)
# second pass over unchanged data
backfill("customer"); wait_drained(); backfill("salesorder"); wait_drained()
ns3, (dv3, _, _) = ns_calls(), dv_stats()
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")
print("sync benchmark: %s customers, %s orders in the sandbox, %s ms latency per call on both sides"
      % (os.environ["BENCH_CUSTOMERS"], os.environ["BENCH_ORDERS"], os.environ["BENCH_LATENCY"]))
print("  synced: %d customers (+%d contacts), %d orders (%d lines in Dataverse)" % (synced_c, synced_k, synced_o, lines))
print("  full sync: %.1f s (customers %.1f s), %.1f records/s (customers + orders)" % (tt, tc, rec / tt))
print("  NetSuite requests per 1,000 records: customers %.1f, orders %.1f" % ((ns1 - ns0) * 1000.0 / max(synced_c, 1), (ns2 - ns1) * 1000.0 / max(synced_o, 1)))
print("  Dataverse HTTP requests per 1,000 records: customers %.1f, orders %.1f; throttled (429) %d"
      % ((dv1 - dv0) * 1000.0 / max(synced_c, 1), (dv2 - dv1) * 1000.0 / max(synced_o, 1), thr2 - thr0))
print("  Dataverse requests as service protection counts them, last 5-minute window: %d" % win)
print("  unchanged second pass: %d Dataverse requests, %d NetSuite requests" % (dv3 - dv2, ns3 - ns2))
print("  webhook -> Dataverse written during the load: n=%d p50 %.0f ms p99 %.0f ms" % (len(lat), pct(0.5), pct(0.99)))
print("  peak RSS of serve: %.1f MB" % rss_peak())
PY
