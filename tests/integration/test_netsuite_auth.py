#!/usr/bin/env python3
"""NetSuite auth against the sandbox over HTTPS: M2M tokens obtained once and reused, 60-second
tokens refreshed ahead of expiry without a 401, a revoked token -> one forced refresh and the read
succeeds, "mapping wiped" reported by name (log-free: the tool's error and the status in Redis),
TBA reads, a role without permission on contacts -> the named message, garbled answers from a
fake NetSuite -> clear errors, never a crash."""
import http.server
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mlctest  # noqa: E402
from mlctest import check, check_eq, unique_prefix, Redis, fixture_redis_port  # noqa: E402
from test_netsuite_lib import shared_sandbox, ns_env, tool, tool_bg, finish, stats, reset_stats  # noqa: E402

WIPED = "M2M mapping wiped (sandbox refresh?) or certificate revoked"
def sandbox():
    return shared_sandbox(customers=300, orders=50, items=20)


def test_tokens_reused():
    """One token serves many calls; the sandbox issues exactly one."""
    sb = sandbox()
    reset_stats(sb)
    rc, out, err = tool(ns_env(sb, unique_prefix("reuse")), "token", "--repeat", "20")
    check_eq(rc, 0, "20 reads succeed: %s" % (out or err))
    check_eq(out["tokens"], 1, "the process obtained one token")
    check_eq(stats(sb)["tokensIssued"], 1, "the sandbox issued one token")
    check_eq(stats(sb)["outcomes"]["unauthorized"], 0, "no 401")


def test_short_tokens_refreshed():
    """With 60-second tokens, reads over 40 s see two tokens and never a 401."""
    sb = sandbox()
    sb.settings_patch(tokenLifetimeS=60)
    reset_stats(sb)
    try:
        # margin: min(300 s, half of 60 s) = 30 s, so the second token comes after ~30 s
        rc, out, err = tool(ns_env(sb, unique_prefix("short")), "token", "--repeat", "42",
                            "--sleep-ms", "1000")
    finally:
        sb.settings_patch(tokenLifetimeS=3600)
    check_eq(rc, 0, "every read succeeded: %s" % (out or err))
    st = stats(sb)
    check(st["tokensIssued"] >= 2, "the sandbox issued at least two tokens", st["tokensIssued"])
    check_eq(st["outcomes"]["unauthorized"], 0, "the reads saw no 401")
    check_eq(out["unauthorizedRetries"], 0.0, "the client never needed a forced refresh")


def test_revocation_one_refresh():
    """A revoked token: the next read gets 401, refreshes once and succeeds."""
    sb = sandbox()
    reset_stats(sb)
    p = tool_bg(ns_env(sb, unique_prefix("revoke")), "token", "--repeat", "30", "--sleep-ms", "100")
    time.sleep(1.0)
    st, _ = sb.admin("POST", "tokens/revoke")
    check_eq(st, 200, "tokens revoked")
    rc, out, err = finish(p)
    check_eq(rc, 0, "the reads after the revocation succeed: %s" % (out or err))
    check_eq(out["tokens"], 2, "exactly one refresh")
    check_eq(out["unauthorizedRetries"], 1.0, "one forced refresh after one 401")
    check_eq(stats(sb)["outcomes"]["unauthorized"], 1, "the sandbox answered one 401")


def test_mapping_wiped():
    """A key that worked before and now gets invalid_grant is reported by name."""
    sb = sandbox()
    prefix = unique_prefix("wiped")
    env = ns_env(sb, prefix)
    rc, out, _ = tool(env, "token")
    check_eq(rc, 0, "a token first")
    for form in ("oauth", "netsuite"):
        sb.settings_patch(m2mWiped="wiped", tokenErrors=form)
        try:
            rc, out, err = tool(env, "token")
        finally:
            sb.settings_patch(m2mWiped="present", tokenErrors="oauth")
        check_eq(rc, 1, "the read fails (%s error form)" % form)
        check(WIPED in out["error"], "the error names the cause (%s form)" % form, out)
        check_eq(out["class"], "auth:mapping_wiped", "error class")
        rc, out, _ = tool(env, "status")
        check_eq(out["status"]["state"], "mapping_wiped", "the status in Redis says so")
        check(WIPED in out["status"]["message"], "the status message names it")
    # a key that never worked is not "wiped": that is a set-up problem
    sb.settings_patch(m2mWiped="wiped")
    try:
        rc, out, _ = tool(ns_env(sb, unique_prefix("never")), "token")
    finally:
        sb.settings_patch(m2mWiped="present")
    check_eq(rc, 1, "refused")
    check(WIPED not in out["error"] and "refused" in out["error"], "a first refusal is not "
          "reported as wiped", out)
    rc, out, _ = tool(env, "token")
    check_eq(rc, 0, "after the mapping is back, tokens come again")
    rc, out, _ = tool(env, "status")
    check_eq(out["status"]["state"], "ok", "and the status clears")


def test_tba():
    """TBA (OAuth 1.0a HMAC-SHA256) reads, paging included (query parameters signed)."""
    sb = sandbox()
    reset_stats(sb)
    rc, out, err = tool(ns_env(sb, unique_prefix("tba"), MLC_NETSUITE_AUTH="tba"), "count",
                        "SELECT id FROM customer ORDER BY id")
    check_eq(rc, 0, "TBA SuiteQL works: %s" % (out or err))
    n = sb.admin("GET", "counts")[1]["customer"]
    check_eq(out["rows"], n, "every customer read with TBA")
    check_eq(stats(sb)["tokensIssued"], 0, "no OAuth 2.0 token was asked for")
    bad = ns_env(sb, unique_prefix("tba"), MLC_NETSUITE_AUTH="tba",
                 MLC_NETSUITE_TOKEN_SECRET="wrong")
    rc, out, _ = tool(bad, "count", "SELECT id FROM customer")
    check_eq(rc, 1, "a wrong token secret fails")
    check_eq(out["status"], 401, "with NetSuite's 401")


def test_permission_named():
    """A role without permission on contacts -> "the role lacks permission for contact"."""
    sb = sandbox()
    sb.settings_patch(deny="contact")
    try:
        env = ns_env(sb, unique_prefix("perm"))
        cid = sb.admin("POST", "sql", {"sql": "SELECT id FROM customer WHERE isperson = 'F' "
                                              "ORDER BY id LIMIT 1"})[1]["rows"][0]["id"]
        rc, out, _ = tool(env, "read", "--type", "customer", "--ids", str(cid))
        check_eq(rc, 1, "the customer read fails (its contacts are part of it)")
        check("the role lacks permission for contact" in out["error"], "named message", out)
        check_eq(out["retryable"], False, "not retried as a query bug or outage")
        rc, out, _ = tool(env, "read", "--type", "contact", "--ids", "1")
        check("the role lacks permission for contact" in out["error"], "contacts too", out)
        sb.settings_patch(deny="rest")
        rc, out, _ = tool(env, "count", "SELECT id FROM item")
        check("the role lacks permission for REST web services" in out["error"],
              "no REST rights named", out)
    finally:
        sb.settings_patch(deny="")


class Fake(http.server.BaseHTTPRequestHandler):
    """A broken NetSuite: mode decides what comes back."""
    mode = "html"
    hits = 0

    def log_message(self, *a):
        pass

    def do_GET(self):
        # governanceLimits for a role that is not an administrator
        body = (b'{"type":"x","title":"Forbidden","status":403,"o:errorDetails":[{"detail":'
                b'"Permission Violation","o:errorCode":"INSUFFICIENT_PERMISSION"}]}')
        self.send_response(403)
        self.send_header("Content-Type", "application/vnd.oracle.resource+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        Fake.hits += 1
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        if self.path.startswith("/services/rest/auth/"):
            bodies = {"token-html": (200, "text/html", b"<html>maintenance</html>"),
                      "token-noexp": (200, "application/json", b'{"access_token":"x"}'),
                      "token-type": (200, "application/json",
                                     b'{"access_token":"x","expires_in":"3600","token_type":"mac"}')}
            code, ct, body = bodies.get(Fake.mode, (200, "application/json",
                                                    b'{"access_token":"t","expires_in":"3600",'
                                                    b'"token_type":"Bearer"}'))
        elif Fake.mode == "retry-after" and Fake.hits <= 2:
            # the first SuiteQL call (hit 2, after the token) is throttled with Retry-After
            self.send_response(429)
            self.send_header("Retry-After", "2")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        else:
            bodies = {"html": (200, "text/html", b"<html><body>Oops</body></html>"),
                      "retry-after": (200, "application/json",
                                      b'{"items":[{"links":[],"id":"1"}],"hasMore":false}'),
                      "truncated": (200, "application/json", b'{"items":[{"id":"1"'),
                      "shape": (200, "application/json", b'{"items":{"id":"1"},"hasMore":false}'),
                      "nested": (200, "application/json",
                                 b'{"items":[{"id":{"a":1}}],"hasMore":false}')}
            code, ct, body = bodies[Fake.mode]
        self.send_response(code)
        self.send_header("Content-Type", ct)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_garbled_answers():
    """Malformed token responses, HTML, truncated bodies, wrong shapes: clear errors, no crash."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        sb = sandbox()
        env = ns_env(sb, unique_prefix("fake"),
                     MLC_NETSUITE_BASE_URL="http://127.0.0.1:%d" % srv.server_port)
        for mode, want in (("token-html", "malformed"), ("token-noexp", "expires_in"),
                           ("token-type", "Bearer"), ("html", "not JSON"),
                           ("truncated", "not JSON"), ("shape", "items"),
                           ("nested", "nested")):
            Fake.mode, Fake.hits = mode, 0
            rc, out, err = tool(env, "count", "SELECT id FROM customer")
            check_eq(rc, 1, "%s: the call fails cleanly" % mode)
            check(out and want in out["error"], "%s: the error says what was wrong" % mode,
                  out or err)
            check(out["retryable"], "%s: retryable (then the DLQ)" % mode)
            if mode in ("token-html", "token-noexp", "token-type", "html", "truncated"):
                check(Fake.hits > 1, "%s: it was retried (%d calls)" % (mode, Fake.hits))
        Fake.mode, Fake.hits = "retry-after", 0
        t0 = time.monotonic()
        rc, out, err = tool(env, "count", "SELECT id FROM customer")
        check_eq((rc, out and out["rows"]), (0, 1), "a 429 with Retry-After is retried: %s" % err)
        check(time.monotonic() - t0 >= 2.0, "after the delay the server asked for")
        check_eq(Fake.hits, 3, "token, the throttled call, the retry")
    finally:
        srv.shutdown()


if __name__ == "__main__":
    mlctest.run(test_tokens_reused, test_revocation_one_refresh, test_mapping_wiped, test_tba,
                test_permission_named, test_garbled_answers, test_short_tokens_refreshed)
