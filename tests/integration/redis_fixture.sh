#!/bin/sh
# CTest fixture: start or stop a throw-away redis-server on a free port; DIR/port holds the port.
set -eu
action=$1
dir=$2
case "$action" in
start)
  rm -rf "$dir"; mkdir -p "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --maxmemory-policy noeviction --dir "$dir" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  for i in $(seq 1 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && { echo "$port" > "$dir/port"; exit 0; }
    sleep 0.05
  done
  echo "redis-server did not start" >&2; cat "$dir/redis.log" >&2; exit 1 ;;
stop)
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  exit 0 ;;
esac
