#!/usr/bin/env python3
"""Helpers for the sandbox integration tests (imported by test_sandbox_*.py), and a smoke test
when run directly.

Everything here is written from ../shared/reference/ (NetSuite's documented wire format), with the
Python standard library and the `openssl` command line: never with the connector's own C code, so
a misunderstanding shared by the sandbox and the connector cannot pass both sides.
"""
import base64
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("MLC_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
SAMPLES = os.path.join(SOURCE_DIR, "..", "shared", "reference", "samples")
sys.path.insert(0, HERE)
import mlctest  # noqa: E402 - the suite-wide log capture


def binary():
    b = os.environ.get("MLC_BIN")
    if not b:
        for cand in ("build-sbx", "build"):
            p = os.path.join(SOURCE_DIR, cand, "ml-connector")
            if os.path.exists(p):
                return p
    return b


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sample(name):
    with open(os.path.join(SAMPLES, name)) as f:
        return json.load(f)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(obj):
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def openssl(*args, data=None):
    r = subprocess.run(["openssl", *args], input=data, capture_output=True, check=True)
    return r.stdout


def gen_key(kind, path):
    """kind: rsa3072 | rsa2048 | p256 | p384 | p521. Writes a PKCS#8 private key to path, returns the public PEM."""
    if kind == "rsa3072":
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072", "-out", path)
    elif kind == "rsa2048":
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path)
    elif kind == "p256":
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    elif kind == "p384":
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", path)
    elif kind == "p521":
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521", "-out", path)
    else:
        raise ValueError(kind)
    return openssl("pkey", "-in", path, "-pubout").decode()


def _der_ecdsa_to_raw(der, size):
    """ECDSA-Sig-Value (DER SEQUENCE of two INTEGERs) -> r || s, each `size` bytes (RFC 7518)."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\x00")
        out += v.rjust(size, b"\x00")
        i += 2 + n
    return out


def sign_jwt(header, claims, key_path, alg=None):
    """A compact JWS signed with the openssl CLI. alg from header['alg']."""
    alg = alg or header["alg"]
    signing_input = (b64url_json(header) + "." + b64url_json(claims)).encode()
    digest = {"256": "-sha256", "384": "-sha384", "512": "-sha512"}[alg[2:]]
    with tempfile.NamedTemporaryFile() as f:
        f.write(signing_input)
        f.flush()
        if alg.startswith("PS"):
            sig = openssl("dgst", digest, "-sign", key_path, "-sigopt", "rsa_padding_mode:pss",
                          "-sigopt", "rsa_pss_saltlen:digest", f.name)
        elif alg.startswith("RS"):
            sig = openssl("dgst", digest, "-sign", key_path, f.name)
        elif alg.startswith("ES"):
            der = openssl("dgst", digest, "-sign", key_path, f.name)
            sig = _der_ecdsa_to_raw(der, {"256": 32, "384": 48, "512": 66}[alg[2:]])
        else:
            raise ValueError(alg)
    return signing_input.decode() + "." + b64url(sig)


class Sandbox:
    """A sandbox process on free ports with its own credentials folder."""

    def __init__(self, *args, customers=60, orders=40, items=20, env=None, creds=None):
        """creds: a credentials folder to use (and keep); by default a new one, removed by close."""
        self.dir = tempfile.mkdtemp(prefix="mlc-sbx-")
        self.creds = creds or os.path.join(self.dir, "creds")
        stale = os.path.join(self.creds, "sandbox.env")
        if os.path.exists(stale):  # written by an earlier run on this folder
            os.remove(stale)
        self.port = free_port()
        cmd = [binary(), "sandbox", "--netsuite-port", str(self.port), "--dataverse-port",
               str(free_port()), "--credentials-dir", self.creds, "--customers", str(customers),
               "--orders", str(orders), "--items", str(items), "--threads", "24", *args]
        e = dict(os.environ)
        e.setdefault("MLC_LOG_LEVEL", "warn")
        if env:
            e.update(env)
        self.log = open(os.path.join(self.dir, "sandbox.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, env=e)
        self.settings = {}
        deadline = time.time() + 120
        env_file = os.path.join(self.creds, "sandbox.env")
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sandbox exited: " + open(self.log.name).read())
            if os.path.exists(env_file):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("sandbox did not start")
        with open(env_file) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    k, v = line.split("=", 1)
                    self.settings[k] = v
        self.base = self.settings["MLC_NETSUITE_BASE_URL"]
        u = urllib.parse.urlsplit(self.base)
        self.host, self.hport, self.scheme = u.hostname, u.port, u.scheme
        self.ca = self.settings.get("MLC_TLS_CA_FILE")
        with open(os.path.join(self.creds, "netsuite.json")) as f:
            self.cred = json.load(f)
        self.key = os.path.join(self.creds, "netsuite-m2m-private-key.pem")
        self.kid = self.settings["MLC_NETSUITE_CERTIFICATE_ID"]
        # Everything the sandbox hands out as a secret goes to the suite-wide log scan.
        mlctest.note_secret_settings(self.settings)
        self.client_id = self.settings["MLC_NETSUITE_CLIENT_ID"]
        self.account = self.settings["MLC_NETSUITE_ACCOUNT_ID"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        mlctest.capture_log(self.log.name, "sandbox")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    # ---- HTTP ----
    def conn(self, timeout=60):
        if self.scheme == "https":
            ctx = ssl.create_default_context(cafile=self.ca)
            return http.client.HTTPSConnection(self.host, self.hport, context=ctx, timeout=timeout)
        return http.client.HTTPConnection(self.host, self.hport, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=60):
        c = self.conn(timeout)
        try:
            h = dict(headers or {})
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                h.setdefault("Content-Type", "application/json")
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            ctype = r.getheader("Content-Type") or ""
            try:
                parsed = json.loads(data) if data else None
            except ValueError:
                parsed = data
            return r.status, parsed, ctype, r
        finally:
            c.close()

    def admin(self, method, path, body=None):
        st, data, _, _ = self.request(method, "/_sandbox/netsuite/" + path, body)
        return st, data

    def settings_patch(self, **kw):
        st, data = self.admin("PATCH", "settings", kw)
        assert st == 200, (st, data)
        return data

    # ---- auth ----
    def token_url(self):
        return self.base + TOKEN_PATH

    def assertion(self, alg="ES256", key=None, kid=None, **over):
        now = int(time.time())
        claims = {"iss": self.client_id, "scope": "rest_webservices", "aud": self.token_url(),
                  "iat": now, "exp": now + 300}
        claims.update(over)
        for k, v in list(claims.items()):
            if v is None:
                del claims[k]
        header = {"typ": "JWT", "alg": alg, "kid": kid or self.kid}
        return sign_jwt(header, claims, key or self.key)

    def post_token(self, assertion, extra=None, fields=None):
        form = fields if fields is not None else [
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion)]
        if extra:
            form = form + extra
        return self.request("POST", TOKEN_PATH, urllib.parse.urlencode(form),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def token(self, **kw):
        st, data, _, _ = self.post_token(self.assertion(**kw))
        assert st == 200, (st, data)
        return data["access_token"]

    def suiteql(self, q, token, limit=None, offset=None, headers=None):
        params = {}
        if limit is not None:
            params["limit"] = limit
        if offset is not None:
            params["offset"] = offset
        path = SUITEQL_PATH + ("?" + urllib.parse.urlencode(params) if params else "")
        h = {"Authorization": "Bearer " + token, "Prefer": "transient",
             "Content-Type": "application/json"}
        if headers is not None:
            h.update(headers)
            h = {k: v for k, v in h.items() if v is not None}
        st, data, ctype, _ = self.request("POST", path, json.dumps({"q": q}), h)
        return st, data

    def suiteql_all(self, q, token, limit=1000):
        """Every row, following hasMore with offset paging."""
        rows, offset = [], 0
        while True:
            st, page = self.suiteql(q, token, limit, offset)
            assert st == 200, (st, page)
            rows += page["items"]
            if not page["hasMore"]:
                return rows, page
            offset += limit


class Failures:
    """Collects check failures so one run reports all of them."""

    def __init__(self):
        self.failed = []

    def check(self, cond, what):
        if not cond:
            self.failed.append(what)
            print("FAIL:", what, flush=True)
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, "%s: got %r, want %r" % (what, got, want))

    def done(self):
        if self.failed:
            print("%d check(s) failed" % len(self.failed))
            sys.exit(1)
        print("ok")
        sys.exit(0)


def main():
    f = Failures()
    with Sandbox() as sb:
        # Without a token: NetSuite's 401 body, field by field as in the sample.
        st, data, ctype, _ = sb.request("GET", "/services/rest/system/v1/serverTime")
        f.eq(st, 401, "serverTime without a token")
        f.eq(data, sample("netsuite-error-401.json"), "401 body")
        f.check("application/vnd.oracle.resource+json" in ctype, "error media type: " + ctype)
        tok = sb.token()
        st, data, _, _ = sb.request("GET", "/services/rest/system/v1/serverTime",
                                    headers={"Authorization": "Bearer " + tok})
        f.eq(st, 200, "serverTime with a token")
        f.check(isinstance(data, dict) and data.get("serverTime", "").endswith("Z"),
                "serverTime is UTC: %r" % (data,))
        # The printed settings name what the connector needs.
        for k in ("MLC_ALLOW_PLAINTEXT_SECRETS", "MLC_TLS_CA_FILE", "MLC_NETSUITE_ACCOUNT_ID",
                  "MLC_NETSUITE_BASE_URL", "MLC_NETSUITE_CLIENT_ID", "MLC_NETSUITE_CERTIFICATE_ID",
                  "MLC_NETSUITE_PRIVATE_KEY_FILE", "MLC_NETSUITE_CONSUMER_KEY",
                  "MLC_NETSUITE_TOKEN_ID", "MLC_NETSUITE_WEBHOOK_SECRETS"):
            f.check(k in sb.settings, "printed settings include " + k)
        f.eq(sb.settings.get("MLC_ALLOW_PLAINTEXT_SECRETS"), "1", "plaintext secrets allowed")
        for name in ("ca.pem", "netsuite-m2m-private-key.pem", "netsuite-m2m-certificate.pem"):
            f.check(os.path.exists(os.path.join(sb.creds, name)), "credentials folder has " + name)
        mode = os.stat(os.path.join(sb.creds, "netsuite-m2m-private-key.pem")).st_mode & 0o777
        f.eq(mode, 0o600, "private key file mode")
    f.done()


if __name__ == "__main__":
    main()
