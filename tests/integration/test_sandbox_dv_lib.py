#!/usr/bin/env python3
"""Helpers for the sandbox's Dataverse + Entra tests (imported by test_sandbox_dv_*.py), and, run
directly, the Entra token endpoint and the Web API's 401s.

Requests are built by hand from ../shared/reference/dataverse.md (Python standard library and the
`openssl` command line), never with the connector's own clients, and answers are compared field by
field with ../shared/reference/samples/.
"""
import base64
import hashlib
import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_sandbox_lib import (Failures, Sandbox, b64url, b64url_json, free_port, openssl,  # noqa: E402
                              sample, sign_jwt)

API = "/api/data/v9.2/"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ODATA = {"OData-MaxVersion": "4.0", "OData-Version": "4.0", "Accept": "application/json"}


class DvSandbox(Sandbox):
    """A sandbox with the Dataverse half on its own port."""

    def __init__(self, *args, **kw):
        kw.setdefault("customers", 40)
        kw.setdefault("orders", 10)
        kw.setdefault("items", 20)
        super().__init__(*args, **kw)
        s = self.settings
        self.url = s["MLC_DATAVERSE_URL"]
        u = urllib.parse.urlsplit(self.url)
        self.dhost, self.dport = u.hostname, u.port
        self.tenant = s["MLC_ENTRA_TENANT_ID"]
        self.dv_client_id = s["MLC_ENTRA_CLIENT_ID"]
        self.secret = s["MLC_ENTRA_CLIENT_SECRET"]
        self.app_user = s["MLC_DATAVERSE_APP_USER_ID"]
        with open(os.path.join(self.creds, "dataverse.json")) as f:
            self.dv = json.load(f)
        self._token = None

    def close(self):
        """Stops the sandbox and fails on any sanitizer report in its log (ASan/UBSan builds)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except Exception:
                self.proc.kill()
        self.log.flush()
        with open(self.log.name, errors="replace") as fh:
            text = fh.read()
        super().close()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in text:
                i = text.index(marker)
                raise RuntimeError("sanitizer report in the sandbox log:\n" + text[i:i + 3000])

    def dconn(self, timeout=60):
        ctx = ssl.create_default_context(cafile=self.ca)
        return http.client.HTTPSConnection(self.dhost, self.dport, context=ctx, timeout=timeout)

    def draw(self, method, path, body=None, headers=None, timeout=60):
        """One request on the Dataverse port: (status, raw body bytes, response)."""
        c = self.dconn(timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read(), r
        finally:
            c.close()

    def token_path(self):
        return "/%s/oauth2/v2.0/token" % self.tenant

    def entra_post(self, fields):
        st, data, r = self.draw("POST", self.token_path(), urllib.parse.urlencode(fields),
                                {"Content-Type": "application/x-www-form-urlencoded"})
        return st, json.loads(data) if data else None

    def secret_fields(self, **over):
        f = {"client_id": self.dv_client_id, "grant_type": "client_credentials",
             "scope": self.url + "/.default", "client_secret": self.secret}
        f.update(over)
        return {k: v for k, v in f.items() if v is not None}

    def dv_token(self, fresh=False):
        if self._token and not fresh:
            return self._token
        st, data = self.entra_post(self.secret_fields())
        assert st == 200, (st, data)
        self._token = data["access_token"]
        return self._token

    def api(self, method, path, body=None, headers=None, token=None, raw=False):
        """A Web API call with the documented headers; path is relative to /api/data/v9.2/."""
        h = dict(ODATA)
        h["Authorization"] = "Bearer " + (token or self.dv_token())
        if method == "GET":
            h["If-None-Match"] = "null"
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
            h = {k: v for k, v in h.items() if v is not None}
        st, data, r = self.draw(method, API + path, body, h)
        if raw:
            return st, data, r
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data
        return st, parsed, r

    def dadmin(self, method, path, body=None):
        h = {}
        if body is not None:
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        st, data, _ = self.draw(method, "/_sandbox/dataverse/" + path, body, h)
        return st, json.loads(data) if data else None

    def dsettings(self, **kw):
        st, data = self.dadmin("PATCH", "settings", kw)
        assert st == 200, (st, data)
        return data

    def rows(self, entity_set):
        st, data = self.dadmin("GET", "tables/" + entity_set)
        assert st == 200, (st, data)
        return data["rows"]


def cert_assertion(sb, key, cert, alg="RS256", thumb="x5t#S256", **over):
    """A client assertion as Entra documents it: x5t or x5t#S256 header, iss = sub = client_id,
    aud = the token endpoint, jti, nbf, exp."""
    der = openssl("x509", "-in", cert, "-outform", "DER")
    header = {"alg": alg, "typ": "JWT"}
    if thumb == "x5t#S256":
        header["x5t#S256"] = b64url(hashlib.sha256(der).digest())
    else:
        header["x5t"] = b64url(hashlib.sha1(der).digest())
    now = int(time.time())
    claims = {"aud": sb.url + sb.token_path(), "iss": sb.dv_client_id, "sub": sb.dv_client_id,
              "jti": str(uuid.uuid4()), "nbf": now, "exp": now + 600}
    claims.update(over)
    return sign_jwt(header, claims, key)


class Receiver:
    """A webhook receiver on a free port (plain HTTP) recording every POST."""

    def __init__(self, statuses=None, delay=0):
        self.posts = []
        self.delay = delay
        self.statuses = list(statuses or [])
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                rec.posts.append({"path": self.path, "headers": {k.lower(): v for k, v in
                                                                 self.headers.items()},
                                  "body": body})
                st = rec.statuses.pop(0) if rec.statuses else 202
                if rec.delay:
                    time.sleep(rec.delay)
                self.send_response(st)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.port = free_port()
        self.srv = ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.th = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.th.start()
        self.url = "http://127.0.0.1:%d/v1/webhooks/dataverse" % self.port

    def wait(self, pred, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            hits = [p for p in list(self.posts) if pred(p)]
            if hits:
                return hits
            time.sleep(0.05)
        return []

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def main():
    f = Failures()
    work = tempfile.mkdtemp(prefix="mlc-dv-keys-")
    # a certificate made elsewhere, accepted through --entra-certificate
    ext_key = os.path.join(work, "ext.pem")
    ext_cert = os.path.join(work, "ext.crt")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ext_key, "-out", ext_cert,
            "-days", "2", "-subj", "/CN=elsewhere")
    other_key = os.path.join(work, "other.pem")
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", other_key)
    with DvSandbox("--entra-certificate", ext_cert) as sb:
        for k in ("MLC_DATAVERSE_URL", "MLC_ENTRA_AUTHORITY_URL", "MLC_ENTRA_TENANT_ID",
                  "MLC_ENTRA_CLIENT_ID", "MLC_ENTRA_CLIENT_SECRET", "MLC_DATAVERSE_ORGANIZATION_ID",
                  "MLC_DATAVERSE_APP_USER_ID", "MLC_DATAVERSE_WEBHOOK_AUTH",
                  "MLC_DATAVERSE_WEBHOOK_KEYS"):
            f.check(k in sb.settings, "printed settings include " + k)
        for name in ("entra-certificate.pem", "entra-private-key.pem", "dataverse.json",
                     "entra-federated-token.jwt"):
            f.check(os.path.exists(os.path.join(sb.creds, name)), "credentials folder has " + name)
        f.eq(os.stat(os.path.join(sb.creds, "entra-private-key.pem")).st_mode & 0o777, 0o600,
             "Entra private key mode")

        # client secret: the success body has the sample's fields, in its order
        st, data = sb.entra_post(sb.secret_fields())
        want = sample("entra-token.json")
        f.eq(st, 200, "client secret accepted")
        f.eq(list(data.keys()), list(want.keys()), "token response fields (sample order)")
        f.eq(data["token_type"], "Bearer", "token_type")
        f.eq(data["expires_in"], 3599, "expires_in")
        f.eq(data["ext_expires_in"], 3599, "ext_expires_in")
        f.eq(len(data["access_token"].split(".")), 3, "access token is JWT-shaped")
        claims = json.loads(base64.urlsafe_b64decode(data["access_token"].split(".")[1] + "=="))
        f.eq(claims.get("aud"), sb.url, "token audience is the organization URL")
        f.eq(claims.get("appid"), sb.dv_client_id, "token appid")

        # errors: the sample's fields, AADSTS codes
        st, data = sb.entra_post(sb.secret_fields(client_secret="wrong"))
        want = sample("entra-error-invalid-client.json")
        f.eq(st, 401, "bad secret: 401")
        f.eq(sorted(data.keys()), sorted(want.keys()), "error fields as the sample")
        f.eq(data["error"], "invalid_client", "bad secret: invalid_client")
        f.eq(data["error_codes"], [7000215], "bad secret: AADSTS7000215")
        f.check(data["error_description"].startswith("AADSTS7000215: "), "description code")
        f.check("Trace ID: " + data["trace_id"] in data["error_description"], "trace id in text")
        f.check(sb.secret not in json.dumps(data), "the secret is not echoed")
        cases = [
            (sb.secret_fields(scope="https://other.crm.dynamics.com/.default"), 400,
             "invalid_scope", None),
            (sb.secret_fields(client_id=str(uuid.uuid4())), 400, "unauthorized_client", 700016),
            (sb.secret_fields(grant_type="password"), 400, "unsupported_grant_type", 70003),
            (sb.secret_fields(scope=None), 400, "invalid_request", 900144),
            (sb.secret_fields(client_secret=None), 401, "invalid_client", 7000218),
        ]
        for fields, code, err, aad in cases:
            st, data = sb.entra_post(fields)
            f.eq((st, data.get("error")), (code, err), "token error %s" % err)
            if aad:
                f.eq(data.get("error_codes"), [aad], "AADSTS code for %s" % err)
        st, data, _ = sb.draw("POST", "/%s/oauth2/v2.0/token" % uuid.uuid4(),
                              urllib.parse.urlencode(sb.secret_fields()),
                              {"Content-Type": "application/x-www-form-urlencoded"})
        f.eq((st, json.loads(data)["error_codes"]), (400, [90002]), "unknown tenant")

        # certificate assertions: the generated certificate (PS256 and RS256, x5t#S256 and x5t)
        key = os.path.join(sb.creds, "entra-private-key.pem")
        cert = os.path.join(sb.creds, "entra-certificate.pem")
        form = {"client_id": sb.dv_client_id, "grant_type": "client_credentials",
                "scope": sb.url + "/.default", "client_assertion_type": ASSERTION_TYPE}
        for alg, thumb in (("PS256", "x5t#S256"), ("RS256", "x5t#S256"), ("RS256", "x5t")):
            st, data = sb.entra_post(dict(form, client_assertion=cert_assertion(
                sb, key, cert, alg, thumb)))
            f.eq(st, 200, "certificate assertion %s with %s" % (alg, thumb))
        st, data = sb.entra_post(dict(form, client_assertion=cert_assertion(sb, ext_key, ext_cert)))
        f.eq(st, 200, "assertion for the --entra-certificate certificate")
        bad = [
            (cert_assertion(sb, other_key, cert), 700027, "signed by another key"),
            (cert_assertion(sb, key, cert, exp=int(time.time()) - 3600), 700024, "expired"),
            (cert_assertion(sb, key, cert, iss="someone"), 700021, "wrong issuer"),
            (cert_assertion(sb, key, cert, aud="https://example.invalid/token"), 700016,
             "wrong audience"),
        ]
        for assertion, code, what in bad:
            st, data = sb.entra_post(dict(form, client_assertion=assertion))
            f.eq((st, data.get("error"), data.get("error_codes")), (401, "invalid_client", [code]),
                 "assertion refused: " + what)
        st, data = sb.entra_post(dict(form, client_assertion_type="x", client_assertion="a.b.c"))
        f.eq(st, 400, "wrong client_assertion_type")

        # workload identity: the federated token the sandbox projected into the folder
        with open(os.path.join(sb.creds, "entra-federated-token.jwt")) as fh:
            fed = fh.read().strip()
        st, data = sb.entra_post(dict(form, client_assertion=fed))
        f.eq(st, 200, "federated token accepted")

        # the Web API: 401 without, with a bad and with an expired token
        st, body, r = sb.draw("GET", API + "WhoAmI", headers=ODATA)
        f.eq(st, 401, "no token: 401")
        f.check("authorization_uri=" in (r.getheader("WWW-Authenticate") or ""),
                "401 names the authority")
        st, body, r = sb.draw("GET", API + "WhoAmI", headers=dict(ODATA, Authorization="Bearer x.y.z"))
        f.eq(st, 401, "bad token: 401")
        f.check("invalid_token" in (r.getheader("WWW-Authenticate") or ""), "invalid_token")
        st, who, _ = sb.api("GET", "WhoAmI")
        f.eq(st, 200, "WhoAmI with a token")
        f.eq(who.get("UserId"), sb.app_user, "WhoAmI UserId is the application user")
        f.eq(who.get("OrganizationId"), sb.settings["MLC_DATAVERSE_ORGANIZATION_ID"],
             "WhoAmI OrganizationId")
        sb.dsettings(tokenLifetimeS=1)
        short = sb.dv_token(fresh=True)
        time.sleep(2.2)
        st, _, r = sb.api("GET", "WhoAmI", token=short)
        f.eq(st, 401, "expired token: 401")
        f.check("expired" in (r.getheader("WWW-Authenticate") or ""), "expiry named")
        sb.dsettings(tokenLifetimeS=3599)
        tok = sb.dv_token(fresh=True)
        f.eq(sb.api("GET", "WhoAmI", token=tok)[0], 200, "fresh token works")
        f.eq(sb.dadmin("POST", "tokens/revoke")[0], 204, "revoke tokens")
        f.eq(sb.api("GET", "WhoAmI", token=tok)[0], 401, "revoked token: 401")
    f.done()


if __name__ == "__main__":
    main()
