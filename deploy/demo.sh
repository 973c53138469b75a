#!/usr/bin/env bash
# ml-connector demo: installs what is missing (Debian/Ubuntu), builds, starts a throw-away Redis,
# the sandbox (a local NetSuite and Dataverse + Entra ID over HTTPS) and `ml-connector serve`
# against them, then runs the main job: the first load (backfill of customers with their
# contacts, and sales orders with their lines), a burst of NetSuite changes arriving as signed
# webhooks, a CRM user editing a NetSuite-owned column (reverted), and a summary: records by
# type and action, duplicates in Dataverse (from the sandbox's own dump), mapping exceptions,
# requests per 1,000 records on both sides, end-to-end latency of the webhook-driven changes.
#
#   ./deploy/demo.sh            run the demo, stop everything at the end
#   ./deploy/demo.sh --keep     leave Redis, the sandbox and the connector running (Ctrl-C stops)
#
#   MLC_BUILD_DIR        build folder (default: build-demo)
#   MLC_DEMO_HMAC        1: events signed with X-MLC-Signature (HMAC) instead of the shared secret
#   MLC_DEMO_CUSTOMERS   customers in the sandbox (default 300); MLC_DEMO_ORDERS (default 300).
#                        Dataverse's service protection (6,000 requests per 5 minutes, which the
#                        sandbox enforces) paces larger first loads: 1,000 and 1,000 take ~5 min.
set -euo pipefail
cd "$(dirname "$0")/.."
here=$PWD/deploy
keep=0
[ "${1:-}" = "--keep" ] && keep=1

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# ---- 1. what is missing ----
pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev
      libssl-dev libhiredis-dev libsqlite3-dev libcmocka-dev redis-server python3 curl openssl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- 2. build ----
build=${MLC_BUILD_DIR:-build-demo}
say "building into $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMLC_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target ml-connector >/dev/null
bin="$build/ml-connector"
"$bin" version

# ---- 3. throw-away Redis, the sandbox, the connector ----
work=$(mktemp -d /tmp/mlc-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
redis_port=$(port); ns_port=$(port); dv_port=$(port); mlc_port=$(port)

say "starting a throw-away Redis on 127.0.0.1:$redis_port"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --maxmemory-policy noeviction --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

auth=secret
[ "${MLC_DEMO_HMAC:-0}" = 1 ] && auth=hmac
say "starting the sandbox (NetSuite on https://127.0.0.1:$ns_port, Dataverse + Entra on https://127.0.0.1:$dv_port)"
"$bin" sandbox --netsuite-port "$ns_port" --dataverse-port "$dv_port" \
  --credentials-dir "$work/creds" --customers "${MLC_DEMO_CUSTOMERS:-300}" \
  --orders "${MLC_DEMO_ORDERS:-300}" \
  --events-url "http://127.0.0.1:$mlc_port/v1/webhooks/netsuite" --events-auth "$auth" \
  --dataverse-webhook-url "http://127.0.0.1:$mlc_port/v1/webhooks/dataverse" \
  >"$work/sandbox.out" 2>"$work/sandbox.log" &
pids+=($!)
for _ in $(seq 300); do [ -f "$work/creds/sandbox.env" ] && break; sleep 0.1; done
[ -f "$work/creds/sandbox.env" ] || { cat "$work/sandbox.log"; exit 1; }
echo "settings it printed (secrets shortened):"
sed -E 's/((SECRET|SECRETS|KEYS|CLIENT_ID|CONSUMER_KEY|TOKEN_ID|CERTIFICATE_ID)=.{6}).*/\1.../' \
  "$work/creds/sandbox.env" | sed 's/^/  /'

admin_token="demo-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
say "starting ml-connector serve on 127.0.0.1:$mlc_port against the sandbox"
(
  set -a
  . "$work/creds/sandbox.env"
  set +a
  # Dataverse's webhook key comes from the sandbox's settings (a fallback for older sandboxes).
  export MLC_DATAVERSE_WEBHOOK_KEYS=${MLC_DATAVERSE_WEBHOOK_KEYS:-demo-dataverse-webhook-key}
  export MLC_LISTEN=127.0.0.1:$mlc_port MLC_REDIS_URL=redis://127.0.0.1:$redis_port/0 \
         MLC_LOG_LEVEL=warn MLC_WORKERS=4 MLC_ADMIN_TOKENS="$admin_token"
  exec "$bin" serve
) >"$work/serve.out" 2>"$work/serve.log" &
pids+=($!)
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$mlc_port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$mlc_port/readyz" >/dev/null || { cat "$work/serve.log"; exit 1; }
echo "  ready: $(curl -fsS "http://127.0.0.1:$mlc_port/readyz")"

sbx() { curl -fsS --cacert "$work/creds/ca.pem" "$@"; }
base="https://127.0.0.1:$ns_port"

# ---- 4. the NetSuite side the connector will read ----
say "the sandbox's NetSuite data (SQLite, NetSuite's tables)"
sbx "$base/_sandbox/netsuite/counts" | python3 -m json.tool | sed 's/^/  /'

say "a token (JWT assertion signed with the M2M key) and a SuiteQL page, as the client will do it"
python3 - "$work/creds" <<'EOF'
import base64, json, os, ssl, subprocess, sys, tempfile, time, http.client, urllib.parse
creds = sys.argv[1]
env = dict(l.strip().split("=", 1) for l in open(os.path.join(creds, "sandbox.env"))
           if "=" in l and not l.startswith("#"))
u = urllib.parse.urlsplit(env["MLC_NETSUITE_BASE_URL"])
ctx = ssl.create_default_context(cafile=env["MLC_TLS_CA_FILE"])
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
now = int(time.time())
head = b64(json.dumps({"typ": "JWT", "alg": "ES256", "kid": env["MLC_NETSUITE_CERTIFICATE_ID"]}).encode())
body = b64(json.dumps({"iss": env["MLC_NETSUITE_CLIENT_ID"], "scope": "rest_webservices",
                       "aud": env["MLC_NETSUITE_BASE_URL"] + "/services/rest/auth/oauth2/v1/token",
                       "iat": now, "exp": now + 300}).encode())
with tempfile.NamedTemporaryFile() as f:
    f.write((head + "." + body).encode()); f.flush()
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", env["MLC_NETSUITE_PRIVATE_KEY_FILE"],
                          f.name], capture_output=True, check=True).stdout
i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F); raw = b""
for _ in range(2):
    n = der[i + 1]; raw += der[i + 2:i + 2 + n].lstrip(b"\0").rjust(32, b"\0"); i += 2 + n
c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
c.request("POST", "/services/rest/auth/oauth2/v1/token", urllib.parse.urlencode({
    "grant_type": "client_credentials",
    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    "client_assertion": head + "." + body + "." + b64(raw)}),
    {"Content-Type": "application/x-www-form-urlencoded"})
tok = json.loads(c.getresponse().read())
print("  token: expires_in=%r token_type=%s" % (tok["expires_in"], tok["token_type"]))
q = ("SELECT c.id, c.companyname, BUILTIN.DF(c.entitystatus) AS status, ea.country,"
     " TO_CHAR(SYS_EXTRACT_UTC(c.lastmodifieddate), 'YYYY-MM-DD HH24:MI:SS') AS lastmod_utc"
     " FROM customer c LEFT JOIN entityaddress ea ON ea.nkey = c.defaultbillingaddress"
     " WHERE c.isperson = 'F' ORDER BY c.id")
c.request("POST", "/services/rest/query/v1/suiteql?limit=3&offset=0", json.dumps({"q": q}),
          {"Authorization": "Bearer " + tok["access_token"], "Prefer": "transient",
           "Content-Type": "application/json"})
page = json.loads(c.getresponse().read())
print("  SuiteQL: totalResults=%d hasMore=%s" % (page["totalResults"], page["hasMore"]))
for it in page["items"]:
    print("   ", json.dumps({k: v for k, v in it.items() if k != "links"}, ensure_ascii=False))
EOF

# ---- 5. the first load ----
# The connector's own settings for its CLI commands (backfill), as serve has them.
mlc() { (set -a; . "$work/creds/sandbox.env"; set +a
         MLC_REDIS_URL=redis://127.0.0.1:$redis_port/0 MLC_LOG_LEVEL=warn "$bin" "$@"); }
drained() {  # waits until both streams and the retry set are empty
  for _ in $(seq 1800); do
    n=0
    for k in mlc:q:live mlc:q:bulk; do n=$((n + $(redis-cli -p "$redis_port" XLEN "$k"))); done
    n=$((n + $(redis-cli -p "$redis_port" ZCARD mlc:q:retry)))
    [ "$n" -eq 0 ] && return 0
    sleep 0.5
  done
  echo "  (still busy after 15 minutes)"
}
say "first load: every customer (with its contacts) and every sales order (with its lines)"
t0=$(date +%s)
mlc backfill --type customer --since 2000-01-01 2>/dev/null | sed 's/^/  /'
drained
mlc backfill --type salesorder --since 2000-01-01 2>/dev/null | sed 's/^/  /'
drained
echo "  first load done in $(( $(date +%s) - t0 )) s"

# ---- 6. a burst of NetSuite changes -> signed webhooks -> Dataverse ----
say "a burst of 25 changes in NetSuite; our user-event script posts each one ($auth mode)"
sbx -X POST -H 'Content-Type: application/json' "$base/_sandbox/netsuite/changes" \
  -d '{"count":25,"seed":7}' |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["results"]; print("  ", len(r), "changes:", sorted({str(x.get("op")) for x in r}))'
sleep 2
drained

# ---- 7. a CRM user edits a NetSuite-owned column: the connector puts NetSuite's value back ----
dvbase="https://127.0.0.1:$dv_port"
say "a CRM user changes telephone1 (owned by NetSuite) on a synced account"
python3 "$here/demo_drift.py" "$work/creds"
drained

# ---- 8. the summary ----
say "summary"
python3 "$here/demo_summary.py" "$work/creds" "$mlc_port" "$admin_token"

if [ "$keep" = 1 ]; then
  say "running: NetSuite $base, Dataverse $dvbase, connector http://127.0.0.1:$mlc_port, Redis 127.0.0.1:$redis_port"
  echo "  settings: $work/creds/sandbox.env"
  echo "  admin APIs: $base/_sandbox/netsuite/...  $dvbase/_sandbox/dataverse/..."
  echo "  Ctrl-C stops everything."
  wait
fi
say "done"
