#!/usr/bin/env python3
"""The sandbox's token endpoint and TBA, driven with hand-built requests from reference/netsuite.md.

Assertions are signed with the openssl CLI (never with our C code): PS256 and ES256 accepted;
RS256, a bad signature, a wrong kid/iss/aud, exp - iat >= 3600, an expired assertion and extra
form fields refused; expires_in string or number; token errors in OAuth or NetSuite form; token
lifetime and revocation; the M2M mapping wiped; TBA with HMAC-SHA256 signed query parameters.
"""
import base64
import hashlib
import hmac
import os
import secrets
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_sandbox_lib import (Failures, Sandbox, gen_key, sample, sign_jwt)  # noqa: E402

f = Failures()
work = tempfile.mkdtemp(prefix="mlc-sbx-keys-")
rsa_key = os.path.join(work, "rsa.pem")
rsa_pub = os.path.join(work, "rsa.pub.pem")
with open(rsa_pub, "w") as fh:
    fh.write(gen_key("rsa3072", rsa_key))
other_ec = os.path.join(work, "other.pem")
gen_key("p256", other_ec)

SERVER_TIME = "/services/rest/system/v1/serverTime"


def api(sb, token, path=SERVER_TIME):
    st, data, _, _ = sb.request("GET", path, headers={"Authorization": "Bearer " + token})
    return st, data


def refused(sb, assertion, what, want_error="invalid_grant"):
    st, data, ctype, _ = sb.post_token(assertion)
    f.eq(st, 400, what + ": status")
    f.eq(data, {"error": want_error}, what + ": body")


# ---- one sandbox: its own EC key (ES256) and a key made elsewhere (RSA, PS256) ----
with Sandbox("--netsuite-public-key", rsa_pub, "--netsuite-certificate-id", "rsa-cert-1") as sb:
    # ES256 with the generated key; the response as in samples/netsuite-token.json
    st, data, ctype, _ = sb.post_token(sb.assertion("ES256"))
    f.eq(st, 200, "ES256 accepted")
    want = sample("netsuite-token.json")
    f.eq(sorted(data.keys()), sorted(want.keys()), "token response keys")
    f.eq(data.get("token_type"), "Bearer", "token_type")
    f.eq(data.get("expires_in"), "3600", "expires_in is a string by default (as the sample)")
    f.check(ctype.startswith("application/json"), "token media type " + ctype)
    tok = data["access_token"]
    f.eq(api(sb, tok)[0], 200, "the ES256 token works")
    f.eq(len(tok.split(".")), 3, "the access token looks like NetSuite's (a JWT)")

    # PS256/384/512 with the RSA key made elsewhere (--netsuite-public-key)
    for alg in ("PS256", "PS384", "PS512"):
        st, data, _, _ = sb.post_token(sb.assertion(alg, key=rsa_key, kid="rsa-cert-1"))
        f.eq(st, 200, alg + " accepted")

    # RS256 (PKCS#1 v1.5) is refused even with the right key and kid
    refused(sb, sb.assertion("RS256", key=rsa_key, kid="rsa-cert-1"), "RS256")
    # a bad signature: signed by another key under the right kid
    refused(sb, sb.assertion("ES256", key=other_ec), "ES256 signed by another key")
    # flipped signature bytes
    good = sb.assertion("ES256")
    head, body, sig = good.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=="))
    raw[5] ^= 0x01
    refused(sb, head + "." + body + "." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode(),
            "tampered signature")
    # tampered claims
    now = int(time.time())
    claims = {"iss": sb.client_id, "scope": "rest_webservices", "aud": sb.token_url(), "iat": now,
              "exp": now + 300}
    evil = dict(claims, iss="someone-else")
    tampered = head + "." + base64.urlsafe_b64encode(
        __import__("json").dumps(evil).encode()).rstrip(b"=").decode() + "." + sig
    refused(sb, tampered, "tampered claims")
    # alg/key mismatch: ES256 header with the RSA key's kid
    refused(sb, sb.assertion("ES256", kid="rsa-cert-1"), "ES256 under an RSA certificate")
    # unknown kid
    refused(sb, sb.assertion("ES256", kid="no-such-certificate"), "unknown kid")
    # claims
    refused(sb, sb.assertion("ES256", iss="another-client"), "wrong iss")
    refused(sb, sb.assertion("ES256", aud="https://1234567.suitetalk.api.netsuite.com" +
                             "/services/rest/auth/oauth2/v1/token"), "aud of another host")
    refused(sb, sb.assertion("ES256", iat=now, exp=now + 3600), "exp - iat = 3600")
    refused(sb, sb.assertion("ES256", iat=now - 400, exp=now - 100), "expired assertion")
    refused(sb, sb.assertion("ES256", exp=None), "no exp")
    refused(sb, sb.assertion("ES256", scope="restlets"), "scope without rest_webservices",
            "invalid_scope")
    st, _, _, _ = sb.post_token(sb.assertion("ES256", scope="restlets,rest_webservices"))
    f.eq(st, 200, "comma-separated scope string accepted")
    refused(sb, sb.assertion("ES256", scope=["rest_webservices"]), "scope as an array (default)",
            "invalid_scope")
    # aud as the Host the client used (localhost) also names this endpoint
    st, _, _, _ = sb.post_token(sb.assertion(
        "ES256", aud="https://localhost:%d/services/rest/auth/oauth2/v1/token" % sb.hport))
    f.eq(st, 400, "aud naming localhost while the request's Host is 127.0.0.1")
    # the form: exactly three fields
    st, data, _, _ = sb.post_token(sb.assertion("ES256"), extra=[("scope", "rest_webservices")])
    f.eq((st, data), (400, {"error": "invalid_request"}), "a fourth form field")
    st, data, _, _ = sb.post_token(None, fields=[("grant_type", "client_credentials"),
                                                 ("client_assertion", sb.assertion("ES256"))])
    f.eq((st, data), (400, {"error": "invalid_request"}), "client_assertion_type missing")
    st, data, _, _ = sb.post_token(None, fields=[
        ("grant_type", "authorization_code"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_assertion", sb.assertion("ES256"))])
    f.eq((st, data), (400, {"error": "unsupported_grant_type"}), "another grant type")
    st, data, _, _ = sb.request("POST", "/services/rest/auth/oauth2/v1/token",
                                {"grant_type": "client_credentials"})
    f.eq(st, 400, "JSON body refused")

    # bad, missing and unknown tokens: 401 INVALID_LOGIN with NetSuite's body
    for hdr, what in (({}, "no Authorization"), ({"Authorization": "Bearer nope"}, "unknown token"),
                      ({"Authorization": "Basic eDp5"}, "Basic auth")):
        st, data, _, _ = sb.request("GET", SERVER_TIME, headers=hdr)
        f.eq((st, data), (401, sample("netsuite-error-401.json")), what)

    # ---- switches ----
    sb.settings_patch(expiresIn="number")
    st, data, _, _ = sb.post_token(sb.assertion("ES256"))
    f.eq(data.get("expires_in"), 3600, "expiresIn=number gives a JSON number")
    sb.settings_patch(expiresIn="string")

    sb.settings_patch(scopeArray="accept")
    st, _, _, _ = sb.post_token(sb.assertion("ES256", scope=["rest_webservices"]))
    f.eq(st, 200, "scopeArray=accept takes an array scope")
    sb.settings_patch(scopeArray="refuse")

    sb.settings_patch(tokenErrors="netsuite")
    st, data, _, _ = sb.post_token(sb.assertion("ES256", kid="nope"))
    f.eq((st, data), (401, sample("netsuite-error-401.json")),
         "tokenErrors=netsuite: 401 INVALID_LOGIN body")
    sb.settings_patch(tokenErrors="oauth")

    sb.settings_patch(tokenLifetimeS=2)
    st, data, _, _ = sb.post_token(sb.assertion("ES256"))
    f.eq(data.get("expires_in"), "2", "token lifetime switch")
    short = data["access_token"]
    f.eq(api(sb, short)[0], 200, "short token works at first")
    time.sleep(3.2)
    st, data = api(sb, short)
    f.eq((st, data), (401, sample("netsuite-error-401.json")), "expired token: INVALID_LOGIN")
    sb.settings_patch(tokenLifetimeS=3600)

    tok = sb.token()
    st, _ = sb.admin("POST", "faults", {"revokeTokens": True})
    f.eq(st, 200, "revoke tokens")
    f.eq(api(sb, tok)[0], 401, "a revoked token is refused")
    f.eq(api(sb, sb.token())[0], 200, "a new token after revocation works")

    st, _ = sb.admin("POST", "faults", {"m2mWiped": "wiped"})
    refused(sb, sb.assertion("ES256"), "M2M mapping wiped")
    sb.admin("POST", "faults", {"m2mWiped": "present"})
    f.eq(sb.post_token(sb.assertion("ES256"))[0], 200, "mapping restored")

    # ---- TBA: OAuth 1.0a HMAC-SHA256, query parameters signed, realm not signed ----
    cred = sb.cred

    def enc(s):
        return urllib.parse.quote(str(s), safe="-._~")

    def tba_header(method, path, query, method_name="HMAC-SHA256", nonce=None, ts=None,
                   consumer_secret=None, realm=None):
        url = sb.base + path  # the URL without the query
        oauth = {"oauth_consumer_key": cred["consumerKey"], "oauth_token": cred["tokenId"],
                 "oauth_signature_method": method_name,
                 "oauth_timestamp": str(ts or int(time.time())),
                 "oauth_nonce": nonce or secrets.token_hex(8), "oauth_version": "1.0"}
        params = sorted([(enc(k), enc(v)) for k, v in list(oauth.items()) + list(query.items())])
        norm = "&".join("%s=%s" % kv for kv in params)
        base = "&".join([method.upper(), enc(url), enc(norm)])
        key = enc(consumer_secret or cred["consumerSecret"]) + "&" + enc(cred["tokenSecret"])
        digest = hashlib.sha256 if method_name == "HMAC-SHA256" else hashlib.sha1
        sig = base64.b64encode(hmac.new(key.encode(), base.encode(), digest).digest()).decode()
        parts = ['realm="%s"' % (realm or sb.account)]
        parts += ['%s="%s"' % (k, enc(v)) for k, v in oauth.items()]
        parts.append('oauth_signature="%s"' % enc(sig))
        return "OAuth " + ", ".join(parts), oauth["oauth_nonce"], oauth["oauth_timestamp"]

    q = {"limit": "5", "offset": "0"}
    path = "/services/rest/query/v1/suiteql"
    auth, nonce, ts = tba_header("POST", path, q)
    hdrs = {"Authorization": auth, "Prefer": "transient", "Content-Type": "application/json"}
    st, data, _, _ = sb.request("POST", path + "?" + urllib.parse.urlencode(q),
                                '{"q": "SELECT id FROM customer"}', hdrs)
    f.eq(st, 200, "TBA-signed SuiteQL with limit/offset signed")
    f.eq(data and data.get("count"), 5, "TBA SuiteQL page size")
    st, _, _, _ = sb.request("POST", path + "?" + urllib.parse.urlencode(q),
                             '{"q": "SELECT id FROM customer"}', hdrs)
    f.eq(st, 401, "the same nonce and timestamp again (replay)")
    auth, _, _ = tba_header("POST", path, {})
    st, _, _, _ = sb.request("POST", path + "?" + urllib.parse.urlencode(q),
                             '{"q": "SELECT id FROM customer"}',
                             dict(hdrs, Authorization=auth))
    f.eq(st, 401, "query parameters not signed")
    auth, _, _ = tba_header("GET", SERVER_TIME, {}, method_name="HMAC-SHA1")
    f.eq(sb.request("GET", SERVER_TIME, headers={"Authorization": auth})[0], 401, "HMAC-SHA1 refused")
    auth, _, _ = tba_header("GET", SERVER_TIME, {}, consumer_secret="wrong")
    f.eq(sb.request("GET", SERVER_TIME, headers={"Authorization": auth})[0], 401, "wrong secret")
    auth, _, _ = tba_header("GET", SERVER_TIME, {}, ts=int(time.time()) - 3600)
    f.eq(sb.request("GET", SERVER_TIME, headers={"Authorization": auth})[0], 401, "old timestamp")
    auth, _, _ = tba_header("GET", SERVER_TIME, {}, realm=sb.account.lower().replace("_", "-"))
    f.eq(sb.request("GET", SERVER_TIME, headers={"Authorization": auth})[0], 401,
         "realm in host form (1234567-sb1) instead of the account ID")
    auth, _, _ = tba_header("GET", SERVER_TIME, {})
    f.eq(sb.request("GET", SERVER_TIME, headers={"Authorization": auth})[0], 200, "TBA GET")

    st, stats = sb.admin("GET", "stats")
    f.check(stats["calls"]["token"] > 10, "stats count token calls: %r" % stats["calls"])
    f.check(stats["tokensIssued"] >= 8, "stats count issued tokens")

# ---- ES384 and ES512 with keys made elsewhere (--netsuite-public-key is repeatable) ----
p384 = os.path.join(work, "p384.pem")
p521 = os.path.join(work, "p521.pem")
for path, kind in ((p384, "p384"), (p521, "p521")):
    with open(path + ".pub", "w") as fh:
        fh.write(gen_key(kind, path))
with Sandbox("--netsuite-public-key", p384 + ".pub", "--netsuite-certificate-id", "ec384-cert",
             "--netsuite-public-key", p521 + ".pub", "--netsuite-certificate-id", "ec521-cert",
             "--netsuite-public-key", rsa_pub, customers=5, orders=2, items=3) as sb:
    st, data, _, _ = sb.post_token(sb.assertion("ES384", key=p384, kid="ec384-cert"))
    f.eq(st, 200, "ES384 accepted")
    st, data, _, _ = sb.post_token(sb.assertion("ES512", key=p521, kid="ec521-cert"))
    f.eq(st, 200, "ES512 accepted")
    f.eq(sb.post_token(sb.assertion("ES256"))[0], 200, "the generated key still works")
    refused(sb, sb.assertion("ES384", key=p521, kid="ec384-cert"), "ES384 signed by another curve's key")
    refused(sb, sb.assertion("ES384", key=p384, kid="ec521-cert"), "ES384 under the P-521 kid")
    st, cr = sb.admin("GET", "credentials")
    kids = [k["certificateId"] for k in cr["keys"]]
    f.eq(kids[:3], [sb.kid, "ec384-cert", "ec521-cert"], "the certificate IDs in use")
    f.eq(len(kids), 4, "a key without --netsuite-certificate-id gets a generated one")
    st, _, _, _ = sb.post_token(sb.assertion("PS256", key=rsa_key, kid=kids[3]))
    f.eq(st, 200, "PS256 under the generated certificate ID")
    # unsigned and symmetric assertions are refused (alg confusion)
    now = int(time.time())
    claims = {"iss": sb.client_id, "scope": "rest_webservices", "aud": sb.token_url(),
              "iat": now, "exp": now + 300}
    b64 = lambda o: base64.urlsafe_b64encode(  # noqa: E731
        __import__("json").dumps(o).encode()).rstrip(b"=").decode()
    refused(sb, b64({"typ": "JWT", "alg": "none", "kid": sb.kid}) + "." + b64(claims) + ".",
            "alg none")
    with open(p384 + ".pub", "rb") as fh:
        pub = fh.read()
    si = b64({"typ": "JWT", "alg": "HS256", "kid": "ec384-cert"}) + "." + b64(claims)
    mac = hmac.new(pub, si.encode(), hashlib.sha256).digest()
    refused(sb, si + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode(),
            "HS256 keyed with the public key")

# ---- a sandbox whose generated key is RSA: PS256 with the credentials it wrote ----
with Sandbox("--netsuite-key-type", "rsa") as sb:
    st, _, _, _ = sb.post_token(sb.assertion("PS256"))
    f.eq(st, 200, "PS256 with the generated RSA key")
    refused(sb, sb.assertion("RS256"), "RS256 with the generated RSA key")
    # the key it printed is 3072 bits
    out = __import__("subprocess").run(["openssl", "pkey", "-in", sb.key, "-text", "-noout"],
                                       capture_output=True, text=True).stdout
    f.check("3072 bit" in out, "generated RSA key is 3072 bits")

f.done()
