#!/usr/bin/env bash
# Dataverse client benchmark: 50,000 account upserts into the sandbox with 50 ms added latency per
# call, once with bulk on (UpsertMultiple on account) and once with the documented defaults (no
# UpsertMultiple on account: $batch); print rows/s, counted requests per 1,000 rows (the sandbox's
# service-protection count), 429s received and calls made during a Retry-After pause. Prints
# figures; asserts nothing.
# Usage: tests/bench/dataverse_write.sh [rows] [threads]
#   MLC_BUILD_DIR  where ml-connector and dataverse-tool are (default: build-bench, else build)
#   MLC_DATAVERSE_MAX_CONCURRENCY, MLC_DATAVERSE_BULK_CHUNK  as documented (16, 200)
#   LATENCY_MS  latency the sandbox adds per call (default 50)
#   BATCH_RATE_REQUESTS  the sandbox's request limit per 5 minutes for the $batch run (default
#                        100000000: $batch counts every row, so Dataverse's real 6,000 would make
#                        the run last 40 minutes; set 6000 to see the throttling instead)
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-50000}
threads=${2:-32}
dir=${MLC_BUILD_DIR:-}
if [ -z "$dir" ]; then
  for d in build-bench build; do
    [ -x "$d/dataverse-tool" ] && dir=$d && break
  done
fi
[ -x "${dir:-}/dataverse-tool" ] && [ -x "$dir/ml-connector" ] ||
  { echo "dataverse_write.sh: build first (cmake --build build) or set MLC_BUILD_DIR" >&2; exit 2; }
cap=${MLC_DATAVERSE_MAX_CONCURRENCY:-16}
chunk=${MLC_DATAVERSE_BULK_CHUNK:-200}
batch_rate=${BATCH_RATE_REQUESTS:-100000000}
latency=${LATENCY_MS:-50}

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

rport=$(free_port)
redis-server --port "$rport" --save "" --appendonly no --maxmemory-policy noeviction \
  >"$work/redis.log" 2>&1 &
pids+=($!)
MLC_LOG_LEVEL=warn "$dir/ml-connector" sandbox --netsuite-port "$(free_port)" --dataverse-port "$(free_port)" \
  --credentials-dir "$work/creds" --customers 10 --orders 1 --items 10 \
  --threads 64 >"$work/out" 2>"$work/log" &
pids+=($!)
while [ ! -f "$work/creds/sandbox.env" ]; do
  kill -0 "${pids[1]}" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
  sleep 0.2
done
set -a
# shellcheck disable=SC1091
. "$work/creds/sandbox.env"
set +a
export MLC_REDIS_URL=redis://127.0.0.1:$rport/0 MLC_LOG_LEVEL=warn MLC_ALLOW_PLAINTEXT_SECRETS=1
export MLC_DATAVERSE_MAX_CONCURRENCY=$cap MLC_DATAVERSE_BULK_CHUNK=$chunk
admin() { python3 - "$@" <<'EOF'
import json, os, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=os.environ["MLC_TLS_CA_FILE"])
method, path = sys.argv[1], sys.argv[2]
body = sys.argv[3].encode() if len(sys.argv) > 3 else None
req = urllib.request.Request(os.environ["MLC_DATAVERSE_URL"] + "/_sandbox/dataverse/" + path,
                             data=body, method=method, headers={"Content-Type": "application/json"})
r = urllib.request.urlopen(req, context=ctx).read().decode()
print(r if r else "{}")
EOF
}
prot() { python3 -c '
import json, sys
s = json.loads(sys.argv[1]); user = sys.argv[2]
p = [x for x in s["protection"] if x["identity"] == user]
p = p[0] if p else {"windowRequests": 0, "throttled": {}, "callsDuringRetryAfter": 0, "peakConcurrency": 0}
print(json.dumps(p))' "$1" "$MLC_DATAVERSE_APP_USER_ID"; }
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); [v := v[k] for k in sys.argv[2].split(".")]; print(v)' "$1" "$2"; }
calc() { python3 -c "import sys; print('%.1f' % ($1))"; }

echo "$rows account upserts; $latency ms latency per call; cap $cap (Redis semaphore); chunk $chunk; $threads writer threads"
run() {
  local name=$1 tables=$2 rate=$3
  export MLC_REDIS_KEY_PREFIX="bench-$name:"
  admin PATCH settings "{\"latencyMs\": $latency, \"updateMultipleTables\": \"$tables\", \"rateRequests\": $rate}" >/dev/null
  "$dir/dataverse-tool" bulk-supported account >/dev/null   # the per-table check, then cached
  admin POST protection/reset >/dev/null
  out=$( { /usr/bin/time -f "%U %S" -o "$work/cpu" "$dir/dataverse-tool" load --prefix "$name-" --count "$rows" --threads "$threads"; } )
  p=$(prot "$(admin GET stats)")
  counted=$(field "$p" windowRequests)
  t429=$(python3 -c 'import json,sys; print(sum(json.loads(sys.argv[1])["throttled"].values()))' "$p")
  echo "$name:"
  echo "  rows written:               $(field "$out" done) of $rows (failed $(field "$out" failed))"
  echo "  rows/s:                     $(calc "$(field "$out" rowsPerS)")"
  echo "  counted requests per 1,000: $(calc "$counted * 1000.0 / $rows") ($counted counted, limit $rate per 5 min)"
  echo "  bulk / \$batch calls:        $(field "$out" counters.bulkCalls) / $(field "$out" counters.batchCalls)"
  echo "  429s received:              $t429 (client saw $(field "$out" counters.throttled))"
  echo "  calls during Retry-After:   $(field "$p" callsDuringRetryAfter)"
  echo "  peak concurrency:           $(field "$p" peakConcurrency) (cap $cap)"
  echo "  client CPU (user sys, s):   $(cat "$work/cpu")"
  echo "  target rows/s (cap x chunk / latency): $(calc "$cap * $chunk / max($latency, 1) * 1000.0")"
}
run bulk "salesorder,salesorderdetail,account" 6000
run defaults "salesorder,salesorderdetail" "$batch_rate"
