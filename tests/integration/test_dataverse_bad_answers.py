#!/usr/bin/env python3
"""Dataverse client against a misbehaving server (a plain-HTTP stand-in for Entra and the Web API):
HTML error pages, truncated JSON, a $batch answer whose multipart has no boundary, a 204 without
OData-EntityId, an Entra HTML page -> a clear, retryable error each time, never a crash (the
tool's stderr is checked for sanitizer reports)."""
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from test_dataverse_lib import tool
import mlctest
from mlctest import check, check_eq, fixture_redis_port, unique_prefix

MODE = {"v": "ok"}
CALLS = {"api": 0}


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        if self.path.endswith("/oauth2/v2.0/token"):
            if MODE["v"] == "entra-html":
                return self.answer(500, b"<html><body>Sign-in is down</body></html>",
                                   {"Content-Type": "text/html"})
            return self.answer(200, json.dumps({"token_type": "Bearer", "expires_in": 3599,
                                                "ext_expires_in": 3599,
                                                "access_token": "a.b.c"}).encode(),
                               {"Content-Type": "application/json"})
        CALLS["api"] += 1
        if self.path.endswith("$batch") and MODE["v"] == "no-boundary":
            return self.answer(200, b"--batchresponse_1\r\nContent-Type: application/http\r\n\r\n"
                               b"HTTP/1.1 204 No Content\r\n\r\n\r\n--batchresponse_1--\r\n",
                               {"Content-Type": "multipart/mixed"})
        return self.answer(404, b"")

    def do_PATCH(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        CALLS["api"] += 1
        if MODE["v"] == "no-entity-id":
            return self.answer(204, b"", {"OData-Version": "4.0"})
        return self.answer(404, b"")

    def do_GET(self):
        CALLS["api"] += 1
        if "sdkmessagefilters" in self.path:
            return self.answer(200, b'{"value":[]}', {"Content-Type": "application/json"})
        if MODE["v"] == "html-200":
            return self.answer(200, b"<html><body>Welcome</body></html>",
                               {"Content-Type": "text/html"})
        if MODE["v"] == "html-502":
            return self.answer(502, b"<!DOCTYPE html><html><body>Bad gateway</body></html>",
                               {"Content-Type": "text/html"})
        if MODE["v"] == "truncated":
            return self.answer(200, b'{"value":[{"accountid":"7f3c9a52-1b2d',
                               {"Content-Type": "application/json"})
        return self.answer(404, b"")

    def log_message(self, *a):
        pass


def main_test():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % srv.server_address[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env.update({"MLC_DATAVERSE_URL": base, "MLC_ENTRA_AUTHORITY_URL": base,
                "MLC_ENTRA_TENANT_ID": "t1", "MLC_ENTRA_CLIENT_ID": "c1",
                "MLC_ENTRA_CLIENT_SECRET": "secret-value", "MLC_ALLOW_PLAINTEXT_SECRETS": "1",
                "MLC_REDIS_URL": "redis://127.0.0.1:%d/0" % fixture_redis_port(),
                "MLC_REDIS_KEY_PREFIX": unique_prefix("dvbad"), "MLC_LOG_LEVEL": "error",
                "MLC_DATAVERSE_TIMEOUT_S": "1", "MLC_DATAVERSE_BULK_CHUNK": "5",
                "ASAN_OPTIONS": "abort_on_error=0:detect_leaks=1"})
    key = json.dumps({"mlc_netsuitecustomerid": "1"})
    cases = [
        ("html-200", ["whoami"], "unreadable JSON"),
        ("html-502", ["whoami"], "HTML page"),
        ("truncated", ["query", "--set", "accounts"], "unreadable JSON"),
        ("no-entity-id", ["write", "--key", key, "--body", "{}"], "OData-EntityId"),
        ("entra-html", ["token"], "HTML page"),
    ]
    try:
        for mode, args, words in cases:
            MODE["v"] = mode
            code, out, err = tool(env, *args, timeout=120)
            check_eq(code, 1, "%s: the call fails" % mode)
            check(out is not None, "%s: the tool answered" % mode, err[-500:])
            if out:
                e = out["error"]
                check(words in e["message"], "%s: the message says %r" % (mode, words), e)
                check_eq(e["retryable"], True, "%s: retryable (retry or DLQ, not lost)" % mode)
                check("secret-value" not in json.dumps(out) + err, "%s: no secret" % mode)
        # a $batch answer without a boundary (the documented defaults send rows through $batch:
        # the stand-in lists no CreateMultiple, so the per-table check says no bulk)
        MODE["v"] = "no-boundary"
        code, out, err = tool(env, "load", "--prefix", "nb", "--count", "3", timeout=120)
        check(out is not None, "no-boundary: the tool answered", err[-500:])
        if out:
            check_eq((out["done"], out["errors"]), (0, 1), "no-boundary: nothing written, an error")
            msgs = json.dumps(out["failures"])
            check("boundary" in msgs and "unreadable $batch answer" in msgs,
                  "no-boundary: the error says why", msgs[:600])
    finally:
        srv.shutdown()
        srv.server_close()


if __name__ == "__main__":
    mlctest.run(main_test)
