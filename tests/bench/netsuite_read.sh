#!/usr/bin/env bash
# NetSuite client benchmark: read 100,000 customers (with address, classification, contacts) and
# 100,000 orders with their lines from the sandbox with 50 ms added latency per call and our
# concurrency capped at 5 (the Redis semaphore); print records/s, NetSuite calls per 1,000
# records and the sandbox's peak concurrency. Prints figures; asserts nothing.
# Usage: tests/bench/netsuite_read.sh [customers] [orders] [threads]
#   MLC_BUILD_DIR  where ml-connector and netsuite-tool are (default: build-bench, else build)
set -euo pipefail
cd "$(dirname "$0")/../.."
customers=${1:-100000}
orders=${2:-100000}
threads=${3:-10}
dir=${MLC_BUILD_DIR:-}
if [ -z "$dir" ]; then
  for d in build-bench build; do
    [ -x "$d/netsuite-tool" ] && dir=$d && break
  done
fi
[ -x "${dir:-}/netsuite-tool" ] && [ -x "$dir/ml-connector" ] ||
  { echo "netsuite_read.sh: build first (cmake --build build) or set MLC_BUILD_DIR" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

rport=$(free_port)
redis-server --port "$rport" --save "" --appendonly no --maxmemory-policy noeviction \
  >"$work/redis.log" 2>&1 &
pids+=($!)
port=$(free_port)
MLC_LOG_LEVEL=warn "$dir/ml-connector" sandbox --netsuite-port "$port" --dataverse-port "$(free_port)" \
  --credentials-dir "$work/creds" --customers "$customers" --orders "$orders" --items 500 \
  --threads 32 >"$work/out" 2>"$work/log" &
pids+=($!)
while [ ! -f "$work/creds/sandbox.env" ]; do
  kill -0 "${pids[1]}" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
  sleep 0.2
done
set -a
# shellcheck disable=SC1091
. "$work/creds/sandbox.env"
set +a
export MLC_REDIS_URL=redis://127.0.0.1:$rport/0 MLC_REDIS_KEY_PREFIX=bench: MLC_LOG_LEVEL=warn
export MLC_NETSUITE_MAX_CONCURRENCY=5
admin() { python3 - "$@" <<'EOF'
import json, os, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=os.environ["MLC_TLS_CA_FILE"])
method, path = sys.argv[1], sys.argv[2]
body = sys.argv[3].encode() if len(sys.argv) > 3 else None
req = urllib.request.Request(os.environ["MLC_NETSUITE_BASE_URL"] + "/_sandbox/netsuite/" + path,
                             data=body, method=method, headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(req, context=ctx).read().decode())
EOF
}
admin PATCH settings '{"latencyMs": 50, "concurrencyLimit": 10}' >/dev/null
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
fmt() { python3 -c 'import sys; print("%.1f" % float(sys.argv[1]))' "$1"; }

echo "data set:        $customers customers, $orders orders; 50 ms latency per call; cap 5 (Redis semaphore); $threads reader threads"
for type in customer salesorder; do
  admin POST stats/reset >/dev/null
  out=$("$dir/netsuite-tool" readrange --type "$type" --threads "$threads")
  stats=$(admin GET stats)
  peak=$(field "$stats" peakConcurrency)
  echo "$type:"
  echo "  records:              $(field "$out" records) (order lines: $(field "$out" lines))"
  echo "  records/s:            $(fmt "$(field "$out" recordsPerSecond)")"
  echo "  calls per 1,000:      $(fmt "$(field "$out" callsPer1000)") ($(field "$out" calls) SuiteQL calls, tokens not counted)"
  echo "  peak concurrency:     $peak (cap 5)"
  echo "  errors:               $(field "$out" errors)"
done
