#!/usr/bin/env bash
# Sandbox benchmark: time to generate 100,000 customers and 100,000 orders, and SuiteQL pages/s
# (offset paging, keyset paging, order lines with a join; one client and four). Prints figures;
# asserts nothing. Usage: tests/bench/sandbox.sh [customers] [orders]
#   MLC_BIN   the binary (default: build-bench/ml-connector, else build/ml-connector); a Release
#             build gives the figures that matter.
set -euo pipefail
cd "$(dirname "$0")/../.."
customers=${1:-100000}
orders=${2:-100000}
bin=${MLC_BIN:-}
if [ -z "$bin" ]; then
  for b in build-bench/ml-connector build/ml-connector; do
    [ -x "$b" ] && bin=$b && break
  done
fi
[ -x "${bin:-}" ] || { echo "sandbox.sh: build first (cmake --build build) or set MLC_BIN" >&2; exit 2; }

work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start=$(date +%s.%N)
MLC_LOG_LEVEL=info "$bin" sandbox --netsuite-port "$port" --credentials-dir "$work/creds" \
  --customers "$customers" --orders "$orders" --items 500 >"$work/out" 2>"$work/log" &
pid=$!
while [ ! -f "$work/creds/sandbox.env" ]; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
  sleep 0.1
done
ready=$(date +%s.%N)
gen=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    try: o=json.loads(l)
    except ValueError: continue
    if o.get("msg")=="sandbox data generated": print("%.2f" % o["seconds"])' "$work/log")
echo "binary:            $bin"
echo "data set:          $customers customers, $orders orders (1-20 lines, 3 with 1,000-5,000)"
echo "generate:          ${gen} s (data and indexes)"
echo "ready after:       $(python3 -c "print('%.2f' % ($ready - $start))") s (keys, certificates, data)"

python3 - "$work/creds" <<'EOF'
import json, os, ssl, subprocess, sys, tempfile, time, base64, http.client, urllib.parse, threading
creds = sys.argv[1]
env = dict(l.strip().split("=", 1) for l in open(os.path.join(creds, "sandbox.env"))
           if "=" in l and not l.startswith("#"))
base = urllib.parse.urlsplit(env["MLC_NETSUITE_BASE_URL"])
ctx = ssl.create_default_context(cafile=env["MLC_TLS_CA_FILE"])

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def der_to_raw(der):
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        n = der[i + 1]
        out += der[i + 2:i + 2 + n].lstrip(b"\0").rjust(32, b"\0")
        i += 2 + n
    return out

now = int(time.time())
token_url = env["MLC_NETSUITE_BASE_URL"] + "/services/rest/auth/oauth2/v1/token"
head = b64(json.dumps({"typ": "JWT", "alg": "ES256", "kid": env["MLC_NETSUITE_CERTIFICATE_ID"]}).encode())
body = b64(json.dumps({"iss": env["MLC_NETSUITE_CLIENT_ID"], "scope": "rest_webservices",
                       "aud": token_url, "iat": now, "exp": now + 600}).encode())
with tempfile.NamedTemporaryFile() as fh:
    fh.write((head + "." + body).encode()); fh.flush()
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign",
                          env["MLC_NETSUITE_PRIVATE_KEY_FILE"], fh.name],
                         capture_output=True, check=True).stdout
jwt = head + "." + body + "." + b64(der_to_raw(der))

def conn():
    return http.client.HTTPSConnection(base.hostname, base.port, context=ctx, timeout=300)

c = conn()
c.request("POST", "/services/rest/auth/oauth2/v1/token", urllib.parse.urlencode({
    "grant_type": "client_credentials",
    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    "client_assertion": jwt}), {"Content-Type": "application/x-www-form-urlencoded"})
r = c.getresponse()
tok = json.loads(r.read())["access_token"]
hdrs = {"Authorization": "Bearer " + tok, "Prefer": "transient", "Content-Type": "application/json"}
c.request("GET", "/_sandbox/netsuite/counts")
n = json.loads(c.getresponse().read())
print("rows:              %d customers, %d contacts, %d addresses, %d orders, %d order lines"
      % (n["customer"], n["contact"], n["entityaddress"], n["transaction"], n["transactionline"]))

def page(c, q, limit, offset):
    c.request("POST", "/services/rest/query/v1/suiteql?limit=%d&offset=%d" % (limit, offset),
              json.dumps({"q": q}), hdrs)
    r = c.getresponse()
    data = r.read()
    if r.status != 200:
        raise RuntimeError(data[:300])
    return json.loads(data)

CUST = ("SELECT c.id, c.entityid, c.companyname, c.email, c.phone, c.creditlimit, c.category,"
        " c.entitystatus, c.subsidiary, c.isinactive, ea.country,"
        " TO_CHAR(SYS_EXTRACT_UTC(c.lastmodifieddate), 'YYYY-MM-DD HH24:MI:SS') AS lastmod"
        " FROM customer c LEFT JOIN entityaddress ea ON ea.nkey = c.defaultbillingaddress")

def offset_run(c, pages):
    rows = 0
    t = time.time()
    for i in range(pages):
        rows += page(c, CUST + " ORDER BY c.id", 1000, i * 1000)["count"]
    return pages / (time.time() - t), rows / (time.time() - t)

def keyset_run(c, pages):
    last, rows, t = 0, 0, time.time()
    for _ in range(pages):
        p = page(c, CUST + " WHERE c.id > %d ORDER BY c.id" % last, 1000, 0)
        rows += p["count"]
        if not p["items"]:
            break
        last = int(p["items"][-1]["id"])
    return pages / (time.time() - t), rows / (time.time() - t)

LINES = ("SELECT t.id, t.tranid, tl.uniquekey, tl.item, -tl.quantity AS quantity, tl.rate,"
         " -tl.netamount AS amount FROM transaction t JOIN transactionline tl ON tl.transaction"
         " = t.id WHERE t.type = 'SalesOrd' AND tl.mainline = 'F' AND NVL(tl.taxline, 'F') = 'F'"
         " AND t.id > %d ORDER BY t.id, tl.id")

def lines_run(c, pages):
    last, t, n = 0, time.time(), 0
    for _ in range(pages):
        p = page(c, LINES % last, 1000, 0)
        n += p["count"]
        if not p["items"]:
            break
        last = int(p["items"][-1]["id"]) - 1
    return pages / (time.time() - t), n / (time.time() - t)

npages = 50
print("suiteql offset:    %.1f pages/s, %.0f rows/s (1 client, pages of 1000, customers + address)" % offset_run(c, npages))
print("suiteql keyset:    %.1f pages/s, %.0f rows/s (1 client)" % keyset_run(c, npages))
print("suiteql lines:     %.1f pages/s, %.0f rows/s (1 client, order lines join)" % lines_run(c, 20))
res = []
def worker():
    cc = conn()
    res.append(keyset_run(cc, 25))
ths = [threading.Thread(target=worker) for _ in range(4)]
t = time.time()
[th.start() for th in ths]
[th.join() for th in ths]
el = time.time() - t
print("suiteql keyset:    %.1f pages/s total (4 clients; the database is one connection)" % (100 / el))
# small pages: the per-call overhead (TLS keep-alive, auth, JSON)
t = time.time()
for i in range(200):
    page(c, "SELECT id FROM customer WHERE id = %d" % (1001 + i), 1, 0)
print("suiteql point:     %.0f calls/s (1 row, 1 client)" % (200 / (time.time() - t)))
EOF
