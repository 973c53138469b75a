#!/usr/bin/env bash
# Ingest benchmark: NetSuite webhooks -> ml-connector -> Redis Streams, with Redis on
# appendfsync everysec and always, against an nginx `return 204` ceiling. Prints figures only:
# the targets are shown as information and never decide the exit status (STYLE.md, Tests).
#
# Usage: tests/bench/ingest.sh            (as root it installs wrk, nginx, redis-server, curl
#                                          with apt-get when they are missing)
# Environment (all optional):
#   MLC_BENCH_DURATION=10       seconds per wrk run
#   MLC_BENCH_CONNECTIONS=64    wrk connections
#   MLC_BENCH_THREADS=2         wrk threads
#   MLC_BENCH_HTTP_THREADS=     MLC_HTTP_THREADS for the service (empty: the service default)
#   MLC_BENCH_FSYNC="everysec always"   Redis appendfsync rounds, in order
#   MLC_BENCH_NGINX=1           0 skips the nginx ceiling
#   MLC_BENCH_NGINX_WORKERS=auto
#   MLC_BENCH_COUNT_202=1       1: wrk counts 202s exactly with a response() hook (costs wrk a
#                               little CPU); 0: 202s = completed requests - wrk's status errors
#   MLC_BENCH_BIN=              service binary to measure (default: a Release build in
#                               MLC_BENCH_BUILD_DIR, configured and built here when missing,
#                               brought up to date when present)
#   MLC_BENCH_BUILD_DIR=<repo>/build-bench
#   MLC_BENCH_MAX_S=600         wall-clock bound of the whole run (after any build)
#   MLC_BENCH_ACCESS_LOG=off    on measures with the access log the service ships with (lines go
#                               to a file in the temp folder)
#   MLC_BENCH_KEEP=0            1 keeps the temp folder (logs, Redis data, wrk outputs)
#   MLC_BENCH_PERF=0            1 runs `perf record` on the service and on Redis during each
#                               round and prints the top costs; perf slows both, so the figures
#                               of such a run are not the benchmark's. Use a binary with symbols
#                               and frame pointers, e.g. MLC_BENCH_BUILD_DIR=build-bench-prof
#                               configured with -DCMAKE_C_FLAGS="-g -fno-omit-frame-pointer"
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

DURATION=${MLC_BENCH_DURATION:-10}
CONNS=${MLC_BENCH_CONNECTIONS:-64}
WRK_THREADS=${MLC_BENCH_THREADS:-2}
HTTP_THREADS=${MLC_BENCH_HTTP_THREADS:-}
FSYNCS=${MLC_BENCH_FSYNC:-everysec always}
WITH_NGINX=${MLC_BENCH_NGINX:-1}
NGINX_WORKERS=${MLC_BENCH_NGINX_WORKERS:-auto}
COUNT202=${MLC_BENCH_COUNT_202:-1}
BUILD_DIR=${MLC_BENCH_BUILD_DIR:-$repo/build-bench}
BIN=${MLC_BENCH_BIN:-}
MAX_S=${MLC_BENCH_MAX_S:-600}
KEEP=${MLC_BENCH_KEEP:-0}
PERF=${MLC_BENCH_PERF:-0}
ACCESS_LOG=${MLC_BENCH_ACCESS_LOG:-off}

# Targets from issue 2 (Benchmark); information only.
TARGET_EPS=35000
TARGET_P99_US=5000
TARGET_RSS_KB=$((32 * 1024))

PREFIX="mlc:"
SECRET="bench-secret-$RANDOM$RANDOM"
PATH_NS=/v1/webhooks/netsuite

for v in DURATION CONNS WRK_THREADS MAX_S; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "ingest.sh: MLC_BENCH_${v} must be a positive integer" >&2; exit 2; }
done

log() { printf '%s\n' "ingest.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# ---------------------------------------------------------------- tools
find_nginx() {
  if command -v nginx >/dev/null 2>&1; then command -v nginx
  elif [ -x /usr/sbin/nginx ]; then echo /usr/sbin/nginx
  fi
}

apt_install() {
  [ "$(id -u)" -eq 0 ] || die "missing $*; install them (apt-get install $*) or run as root"
  command -v apt-get >/dev/null 2>&1 || die "missing $* and no apt-get here"
  log "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  # RUNLEVEL=1: invoke-rc.d does not start the packaged services (no stray nginx on :80).
  apt-get update -qq >/dev/null
  RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ "$PERF" = 1 ] && ! command -v perf >/dev/null 2>&1; then need+=(linux-perf); fi
if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi
if [ "$WITH_NGINX" = 1 ] && [ -z "$(find_nginx)" ]; then
  if [ "$(id -u)" -eq 0 ] && apt-cache show nginx-light >/dev/null 2>&1; then
    apt_install nginx-light
  else
    apt_install nginx
  fi
fi
NGINX_BIN=$(find_nginx || true)

if [ -z "$BIN" ]; then
  BIN=$BUILD_DIR/ml-connector
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    if ! command -v cmake >/dev/null 2>&1 || ! command -v pkg-config >/dev/null 2>&1; then
      apt_install build-essential cmake pkg-config libmicrohttpd-dev libcurl4-openssl-dev \
        libjansson-dev libssl-dev libhiredis-dev libsqlite3-dev
    fi
    log "configuring a Release build in $BUILD_DIR"
    cfglog=$(mktemp "${TMPDIR:-/tmp}/mlc-bench-cmake.XXXXXX")
    timeout 600 cmake -S "$repo" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DMLC_TESTS=OFF \
      >"$cfglog" 2>&1 || { cat "$cfglog" >&2; rm -f "$cfglog"; die "cmake configure failed"; }
    rm -f "$cfglog"
  fi
  # Incremental: a no-op when up to date, so the figures always belong to the current sources.
  buildlog=$(mktemp "${TMPDIR:-/tmp}/mlc-bench-build.XXXXXX")
  timeout 1200 cmake --build "$BUILD_DIR" -j"$(nproc)" --target ml-connector >"$buildlog" 2>&1 ||
    { tail -n 40 "$buildlog" >&2; rm -f "$buildlog"
      die "build failed (cmake --build $BUILD_DIR --target ml-connector); MLC_BENCH_BIN=path measures a given binary"; }
  rm -f "$buildlog"
fi
[ -x "$BIN" ] || die "no service binary at $BIN"

# ---------------------------------------------------------------- processes and cleanup
work=$(mktemp -d "${TMPDIR:-/tmp}/mlc-bench.XXXXXX")
pids=()        # every process this script started and has not yet stopped
watchdog=""

stop_pid() {   # stop_pid PID: TERM, wait up to 5 s, then KILL; only our own children
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local keep=() p
  for p in "${pids[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  pids=(${keep[@]+"${keep[@]}"})
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local p
  for p in ${pids[@]+"${pids[@]}"}; do stop_pid "$p"; done
  if [ -n "$watchdog" ]; then kill "$watchdog" 2>/dev/null || true; wait "$watchdog" 2>/dev/null || true; fi
  if [ "$KEEP" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "stopped (time limit ${MAX_S}s or SIGTERM)"; exit 124' TERM

# The whole measured part is bounded: the watchdog TERMs this script, whose trap stops the rest.
# Its sleep dies with it, and it holds none of our output pipes open.
(
  trap 'kill "$sp" 2>/dev/null; exit 0' TERM
  sleep "$MAX_S" & sp=$!
  wait "$sp" && kill -TERM $$ 2>/dev/null
) >/dev/null 2>&1 </dev/null &
watchdog=$!

free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  die "no free port found"
}

# machine_ticks: "busy total" clock ticks of all CPUs so far (/proc/stat).
machine_ticks() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }
# busy_pct "BUSY0 TOTAL0" "BUSY1 TOTAL1": share of all CPUs busy between the two readings.
busy_pct() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; printf "%.0f%%", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }'; }

# cpu_ticks PID: user+system clock ticks so far (fields 14 and 15 of /proc/PID/stat).
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK=$(getconf CLK_TCK)

# last_delivered PORT STREAM: the consumer group's last-delivered-id (moves when a worker reads).
last_delivered() {
  redis-cli -p "$1" XINFO GROUPS "$2" | tr -d '\r' | awk 'p { print; exit } $0 == "last-delivered-id" { p = 1 }'
}

# ---------------------------------------------------------------- wrk
# run_wrk NAME URL: writes $work/wrk-NAME.txt; sets W_* from the MLCBENCH line.
run_wrk() {
  local name=$1 url=$2 out=$work/wrk-$1.txt
  timeout -k 5 $((DURATION + 30)) wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 5s \
    --latency -s "$here/netsuite.lua" "$url" -- "$PATH_NS" "$SECRET" "$name$RANDOM" "$COUNT202" \
    >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed against $url"; }
  local line
  line=$(grep '^MLCBENCH ' "$out" | tail -n1) || die "no figures from wrk (see $out)"
  W_requests=0 W_duration_us=1 W_n202=0 W_nother=0 W_other_codes=- W_err_status=0
  W_err_connect=0 W_err_read=0 W_err_write=0 W_err_timeout=0 W_p50_us=0 W_p99_us=0
  local kv
  for kv in ${line#MLCBENCH }; do
    [[ $kv =~ ^[a-z0-9_]+=[-0-9.,a-z]+$ ]] && printf -v "W_${kv%%=*}" '%s' "${kv#*=}"
  done
  if [ "$COUNT202" != 1 ]; then W_n202=$((W_requests - W_err_status)); fi
}

show_wrk() {   # the wrk report itself, indented, without our machine-readable line
  grep -v '^MLCBENCH ' "$work/wrk-$1.txt" | sed 's/^/    | /'
}

rate() { awk -v n="$1" -v us="$2" 'BEGIN { printf "%.0f", n / (us / 1e6) }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
verdict() { if [ "$1" = 1 ]; then echo met; else echo MISSED; fi; }

# ---------------------------------------------------------------- nginx ceiling
NGINX_RPS="" NGINX_BUSY=""
run_nginx() {
  local dir=$work/nginx port conf temps="" t
  mkdir -p "$dir"
  port=$(free_port)
  # Temp paths only for modules this nginx has (nginx-light and nginx differ).
  for t in client-body:client_body proxy:proxy fastcgi:fastcgi uwsgi:uwsgi scgi:scgi; do
    if "$NGINX_BIN" -V 2>&1 | grep -q -- "--http-${t%%:*}-temp-path"; then
      temps+="  ${t#*:}_temp_path $dir/${t#*:};"$'\n'
    fi
  done
  conf=$dir/nginx.conf
  cat >"$conf" <<EOF
worker_processes $NGINX_WORKERS;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
$temps  keepalive_requests 100000000;
  keepalive_timeout 65s;
  server {
    listen 127.0.0.1:$port;
    location / { return 204; }
  }
}
EOF
  "$NGINX_BIN" -p "$dir" -c "$conf" -g 'daemon off; master_process on;' 2>"$dir/stderr.log" &
  local npid=$!
  pids+=("$npid")
  local ok=0
  for _ in $(seq 100); do
    if curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/" 2>/dev/null | grep -q 204; then ok=1; break; fi
    kill -0 "$npid" 2>/dev/null || break
    sleep 0.1
  done
  [ $ok = 1 ] || { cat "$dir/stderr.log" "$dir/error.log" >&2 2>/dev/null; die "nginx did not start"; }
  local load
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  local m0
  m0=$(machine_ticks)
  run_wrk nginx "http://127.0.0.1:$port$PATH_NS"
  NGINX_BUSY=$(busy_pct "$m0" "$(machine_ticks)")
  stop_pid "$npid"
  NGINX_RPS=$(rate "$((W_requests - W_err_status))" "$W_duration_us")
  echo
  echo "== nginx 'return 204' ceiling (worker_processes $NGINX_WORKERS; load average before: $load)"
  show_wrk nginx
  echo "  nginx: $NGINX_RPS req/s, p50 $(ms "$W_p50_us") ms, p99 $(ms "$W_p99_us") ms; all CPUs busy $NGINX_BUSY"
}

# ---------------------------------------------------------------- one service round
declare -A R_EPS R_N202 R_XLEN R_P50 R_P99 R_RSS R_SVC_CPU R_REDIS_CPU R_BUSY R_SVC_US R_REDIS_US
run_round() {
  local fsync=$1 dir=$work/$1 rport rpid spid sport
  mkdir -p "$dir/redis"
  rport=$(free_port)
  redis-server --port "$rport" --bind 127.0.0.1 --dir "$dir/redis" --appendonly yes \
    --appendfsync "$fsync" --save '' --maxmemory-policy noeviction --daemonize no \
    --logfile "$dir/redis.log" &
  rpid=$!
  pids+=("$rpid")
  for _ in $(seq 100); do
    [ "$(redis-cli -p "$rport" ping 2>/dev/null)" = PONG ] && break
    kill -0 "$rpid" 2>/dev/null || break
    sleep 0.1
  done
  [ "$(redis-cli -p "$rport" ping 2>/dev/null)" = PONG ] || { cat "$dir/redis.log" >&2; die "redis-server did not start"; }
  # The shipped binary has no job handlers: a worker would dead-letter (XDEL) every job. The
  # paused live lane keeps the single worker idle, so XLEN counts every accepted event.
  redis-cli -p "$rport" SET "${PREFIX}q:paused:live" '{"reason":"bench"}' >/dev/null

  local -a env=(
    MLC_LISTEN=127.0.0.1:0
    "MLC_REDIS_URL=redis://127.0.0.1:$rport/0"
    "MLC_REDIS_KEY_PREFIX=$PREFIX"
    "MLC_NETSUITE_WEBHOOK_SECRETS=$SECRET"
    MLC_NETSUITE_ALLOWED_CIDRS=127.0.0.0/8
    MLC_DATAVERSE_WEBHOOK_KEYS=bench-dataverse-key
    MLC_ALLOW_PLAINTEXT_SECRETS=1
    MLC_WORKERS=0
    MLC_BULK_WORKER_SHARE=0
    "MLC_ACCESS_LOG=$ACCESS_LOG"
    "MLC_LOG_LEVEL=$([ "$ACCESS_LOG" = off ] && echo warn || echo info)"
    MLC_SHUTDOWN_GRACE_S=1
  )
  [ -n "$HTTP_THREADS" ] && env+=("MLC_HTTP_THREADS=$HTTP_THREADS")
  # A clean environment: no MLC_* setting of the caller's shell leaks into the measurement.
  env -i PATH="$PATH" "${env[@]}" "$BIN" serve \
    >"$dir/service.out" 2>"$dir/service.log" &
  spid=$!
  pids+=("$spid")
  # MLC_LOG_LEVEL=warn hides the "listening" line; find the port from /proc instead.
  sport=""
  for _ in $(seq 150); do
    kill -0 "$spid" 2>/dev/null || break
    sport=$(ss -ltnpH 2>/dev/null | awk -v pid="pid=$spid," '$0 ~ pid { n = split($4, a, ":"); print a[n]; exit }')
    [ -n "$sport" ] && break
    sleep 0.1
  done
  [ -n "$sport" ] || { tail -n 50 "$dir/service.log" >&2; die "the service did not start"; }
  # The worker's first blocking read may predate the scheduler's first look at the paused flag;
  # it ends within a second, after which the worker sees the pause and sleeps.
  sleep 1.5
  local url="http://127.0.0.1:$sport$PATH_NS" code
  code=$(curl -s -o "$dir/smoke.json" -w '%{http_code}' -X POST "$url" \
    -H 'Content-Type: application/json' -H "X-MLC-Webhook-Secret: $SECRET" \
    -d '{"eventId":"smoke","eventType":"update","recordType":"customer","recordId":"1","occurredAt":"2024-05-01T12:00:00Z","accountId":"1234567"}')
  [ "$code" = 202 ] || { cat "$dir/smoke.json" >&2; tail -n 50 "$dir/service.log" >&2; die "smoke webhook answered $code, not 202"; }

  local stream="${PREFIX}q:live" base load c0s c0r delivered0
  base=$(redis-cli -p "$rport" XLEN "$stream")
  delivered0=$(last_delivered "$rport" "$stream")
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  c0s=$(cpu_ticks "$spid"); c0r=$(cpu_ticks "$rpid")
  local m0 m1 c1s c1r perfs=() p
  m0=$(machine_ticks)
  if [ "$PERF" = 1 ]; then
    for p in service:$spid redis:$rpid; do
      perf record -q -F 499 --call-graph dwarf,16384 -p "${p#*:}" -o "$dir/perf-${p%%:*}.data" \
        -- sleep $((DURATION > 2 ? DURATION - 1 : 1)) >"$dir/perf-${p%%:*}.log" 2>&1 &
      perfs+=($!)
      pids+=($!)
    done
  fi
  run_wrk "$fsync" "$url"
  m1=$(machine_ticks)
  c1s=$(cpu_ticks "$spid"); c1r=$(cpu_ticks "$rpid")
  for p in ${perfs[@]+"${perfs[@]}"}; do wait "$p" 2>/dev/null || true; stop_pid "$p"; done
  sleep 1 # requests in flight when wrk stopped finish their XADD
  local xlen rss rewrites lagged
  xlen=$(( $(redis-cli -p "$rport" XLEN "$stream") - base ))
  rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$spid/status")
  rewrites=$(redis-cli -p "$rport" INFO persistence | tr -d '\r' | awk -F: '$1 == "aof_rewrites" { print $2 }')
  lagged=$(last_delivered "$rport" "$stream")
  stop_pid "$spid"
  stop_pid "$rpid"
  if [ "$ACCESS_LOG" = off ] && [ -s "$dir/service.log" ]; then
    log "service log ($fsync round):"; head -n 20 "$dir/service.log" >&2
  fi

  local secs
  secs=$(awk -v us="$W_duration_us" 'BEGIN { printf "%.2f", us / 1e6 }')
  R_EPS[$fsync]=$(rate "$W_n202" "$W_duration_us")
  R_N202[$fsync]=$W_n202
  R_XLEN[$fsync]=$xlen
  R_P50[$fsync]=$W_p50_us
  R_P99[$fsync]=$W_p99_us
  R_RSS[$fsync]=$rss
  R_SVC_CPU[$fsync]=$(awk -v t=$((c1s - c0s)) -v hz="$TICK" -v s="$secs" 'BEGIN { printf "%.0f%%", 100 * t / hz / s }')
  R_REDIS_CPU[$fsync]=$(awk -v t=$((c1r - c0r)) -v hz="$TICK" -v s="$secs" 'BEGIN { printf "%.0f%%", 100 * t / hz / s }')
  R_BUSY[$fsync]=$(busy_pct "$m0" "$m1")
  R_SVC_US[$fsync]=$(awk -v t=$((c1s - c0s)) -v hz="$TICK" -v n="$W_n202" 'BEGIN { printf "%.0f", n ? 1e6 * t / hz / n : 0 }')
  R_REDIS_US[$fsync]=$(awk -v t=$((c1r - c0r)) -v hz="$TICK" -v n="$W_n202" 'BEGIN { printf "%.0f", n ? 1e6 * t / hz / n : 0 }')

  echo
  echo "== ml-connector, Redis appendfsync $fsync (load average before: $load)"
  show_wrk "$fsync"
  echo "  202s counted by wrk:      $W_n202$([ "$COUNT202" = 1 ] || echo ' (completed requests minus status errors)')"
  echo "  XLEN growth of $stream: $xlen"
  local d=$((xlen - W_n202))
  if [ "$d" -eq 0 ]; then
    echo "  check: XLEN == 202s"
  elif [ "$d" -gt 0 ] && [ "$d" -le "$CONNS" ]; then
    echo "  check: XLEN - 202s = $d, at most one per connection: requests in flight when wrk stopped (enqueued, answer not counted)"
  else
    echo "  check: XLEN - 202s = $d: NOT explained by in-flight requests (lost or unanswered events?)"
  fi
  [ "$W_nother" -gt 0 ] && echo "  non-202 answers: $W_nother (codes: $W_other_codes)"
  [ $((W_err_connect + W_err_read + W_err_write + W_err_timeout)) -gt 0 ] &&
    echo "  socket errors: connect $W_err_connect, read $W_err_read, write $W_err_write, timeout $W_err_timeout"
  echo "  accepted events/s: ${R_EPS[$fsync]}   p50 $(ms "$W_p50_us") ms   p99 $(ms "$W_p99_us") ms   peak RSS (VmHWM) $(mib "$rss") MiB"
  if [ "$PERF" = 1 ]; then
    for p in service redis; do
      echo "  perf, $p: self cost by symbol (perf slowed this round; its figures are not the benchmark's)"
      perf report -i "$dir/perf-$p.data" --no-children --sort dso,symbol --stdio -g none \
        --percent-limit 1 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 30 |
        sed -e 's/[ -]*$//' -e 's/^/    | /' || true
      echo "  perf, $p: inclusive cost (children) by symbol"
      perf report -i "$dir/perf-$p.data" --children --sort symbol --stdio -g none \
        --percent-limit 4 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 40 |
        sed -e 's/[ -]*$//' -e 's/^/    | /' || true
    done
  fi
  echo "  CPU during the run: service ${R_SVC_CPU[$fsync]} of one core (${R_SVC_US[$fsync]} us per accepted event), redis ${R_REDIS_CPU[$fsync]} (${R_REDIS_US[$fsync]} us/event); all CPUs busy ${R_BUSY[$fsync]} (wrk and anything else running here included)"
  echo "  AOF rewrites: ${rewrites:-?}; worker deliveries during the run: $([ "$lagged" = "$delivered0" ] && echo none || echo "SOME (last-delivered-id $delivered0 -> $lagged)")"
}

# ---------------------------------------------------------------- main
echo "ml-connector ingest benchmark"
echo "  binary:      $BIN ($(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$repo" && git diff --quiet HEAD -- src include 2>/dev/null || echo ', uncommitted changes'))"
echo "  machine:     $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo); load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine makes figures noisy)"
echo "  load:        wrk $(wrk --version 2>&1 | head -n1 | awk '{ print $2 }'), $WRK_THREADS threads, $CONNS connections, ${DURATION} s per run, latency distribution; every request a unique eventId and recordId"
if [ "$ACCESS_LOG" = off ]; then
  echo "  service:     MLC_HTTP_THREADS=${HTTP_THREADS:-default}, MLC_WORKERS=0 (ingest only), MLC_BULK_WORKER_SHARE=0; access log OFF (MLC_ACCESS_LOG=off, MLC_LOG_LEVEL=warn)"
else
  echo "  service:     MLC_HTTP_THREADS=${HTTP_THREADS:-default}, MLC_WORKERS=0 (ingest only), MLC_BULK_WORKER_SHARE=0; access log ON (MLC_ACCESS_LOG=$ACCESS_LOG, MLC_LOG_LEVEL=info, to a file)"
fi
echo "               live lane paused (SET ${PREFIX}q:paused:live) so the worker stays idle: a pure ingest measurement"
echo "  redis:       $(redis-server --version | awk '{ print $3 }'), appendonly yes, RDB snapshots off, maxmemory-policy noeviction, data in $work ($(stat -f -c %T "$work"))"
echo "  all of wrk, nginx/Redis and the service share this machine's CPUs"

if [ "$WITH_NGINX" = 1 ]; then
  [ -n "$NGINX_BIN" ] || die "nginx not found"
  run_nginx
fi
for f in $FSYNCS; do
  case $f in everysec|always|no) ;; *) die "MLC_BENCH_FSYNC: '$f' is not everysec, always or no" ;; esac
  run_round "$f"
done

echo
echo "== summary (targets from issue 2 are information, not a pass/fail of this script)"
printf '  %-10s %11s %9s %9s %7s %7s %8s %8s %8s %9s %8s\n' fsync "accepted/s" "202s" "XLEN" "p50 ms" "p99 ms" "RSS MiB" "svc CPU" "redis" "all CPUs" "vs nginx"
for f in $FSYNCS; do
  ratio=-
  [ -n "$NGINX_RPS" ] && ratio=$(awk -v a="${R_EPS[$f]}" -v b="$NGINX_RPS" 'BEGIN { printf "%.2f", a / b }')
  printf '  %-10s %11s %9s %9s %7s %7s %8s %8s %8s %9s %8s\n' "$f" "${R_EPS[$f]}" "${R_N202[$f]}" "${R_XLEN[$f]}" \
    "$(ms "${R_P50[$f]}")" "$(ms "${R_P99[$f]}")" "$(mib "${R_RSS[$f]}")" "${R_SVC_CPU[$f]}" "${R_REDIS_CPU[$f]}" "${R_BUSY[$f]}" "$ratio"
done
[ -n "$NGINX_RPS" ] && printf '  %-10s %11s   (requests/s of nginx return 204, same wrk script; all CPUs busy %s)\n' nginx "$NGINX_RPS" "$NGINX_BUSY"
echo
for f in $FSYNCS; do
  eps_ok=$([ "${R_EPS[$f]}" -ge "$TARGET_EPS" ] && echo 1 || echo 0)
  p99_ok=$(awk -v a="${R_P99[$f]}" -v b="$TARGET_P99_US" 'BEGIN { print ((a <= b) ? 1 : 0) }')
  rss_ok=$([ "${R_RSS[$f]}" -le "$TARGET_RSS_KB" ] && echo 1 || echo 0)
  printf '  %-9s accepted/s %s (target >= %s: %s); p99 %s ms (target <= %s ms: %s); RSS %s MiB (target <= 32 MiB: %s)\n' \
    "$f:" "${R_EPS[$f]}" "$TARGET_EPS" "$(verdict "$eps_ok")" "$(ms "${R_P99[$f]}")" "$((TARGET_P99_US / 1000))" \
    "$(verdict "$p99_ok")" "$(mib "${R_RSS[$f]}")" "$(verdict "$rss_ok")"
done
exit 0
