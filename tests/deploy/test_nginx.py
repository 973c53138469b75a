#!/usr/bin/env python3
"""deploy/nginx/ml-connector.conf in front of the real service: nginx (Debian) terminates TLS
and passes the client's address in X-Forwarded-For; the connector, trusting only nginx's
address (MLC_TRUSTED_PROXIES), applies MLC_NETSUITE_ALLOWED_CIDRS to the real client; a spoofed
X-Forwarded-For sent straight to the connector from 127.0.0.2 (not a trusted proxy) is ignored;
body limits and the closed probe/metrics routes hold; no query string reaches any log."""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess

from deploynode import HERE  # noqa: F401 - sets up the import path
from mlctest import (SOURCE_DIR, Service, TestFailure, _read_response, check, check_eq,
                     check_logs_clean, dv_context, expect_rejected, free_port, ns_event,
                     run, say, wait_until, work_dir)

CONF = os.path.join(SOURCE_DIR, "deploy", "nginx", "ml-connector.conf")
ALLOWED, OTHER, SPOOFER = "127.0.0.5", "127.0.0.6", "127.0.0.2"


class Nginx:
    def __init__(self, upstream_port):
        self.dir = work_dir("nginx")
        self.port = free_port()
        self.cert = os.path.join(self.dir, "tls.crt")
        key = os.path.join(self.dir, "tls.key")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                            "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", key, "-out", self.cert], capture_output=True, text=True)
        check(r.returncode == 0, "a throw-away TLS certificate for 127.0.0.1", r.stderr)
        with open(CONF, encoding="utf-8") as f:
            text = f.read()
        self.access = os.path.join(self.dir, "access.log")
        self.error = os.path.join(self.dir, "error.log")
        for old, new in (("listen 443 ssl;", f"listen 127.0.0.1:{self.port} ssl;"),
                         ("server 127.0.0.1:8080;", f"server 127.0.0.1:{upstream_port};"),
                         ("/etc/nginx/tls/connector.crt", self.cert),
                         ("/etc/nginx/tls/connector.key", key),
                         ("/var/log/nginx/ml-connector.access.log", self.access),
                         ("/var/log/nginx/ml-connector.error.log", self.error)):
            if text.count(old) != 1:
                raise TestFailure(f"{CONF}: expected '{old}' once (the test replaces it)")
            text = text.replace(old, new)
        site = os.path.join(self.dir, "ml-connector.conf")
        with open(site, "w", encoding="utf-8") as f:
            f.write(text)
        self.main = os.path.join(self.dir, "nginx.conf")
        temp = "\n".join(f"    {t}_temp_path {self.dir}/{t};" for t in
                         ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        with open(self.main, "w", encoding="utf-8") as f:
            f.write(f"daemon off;\nmaster_process off;\npid {self.dir}/nginx.pid;\n"
                    f"error_log {self.dir}/main-error.log notice;\n"
                    "events { worker_connections 64; }\n"
                    f"http {{\n{temp}\n    access_log off;\n    include {site};\n}}\n")
        self.startup = os.path.join(self.dir, "startup.log")
        self.proc = None

    def cmd(self, *extra):
        return ["nginx", "-p", self.dir, "-c", self.main, "-e", self.startup] + list(extra)

    def start(self):
        r = subprocess.run(self.cmd("-t"), capture_output=True, text=True)
        check(r.returncode == 0, "nginx -t accepts deploy/nginx/ml-connector.conf",
              r.stdout + r.stderr)
        self.log = open(os.path.join(self.dir, "stderr.log"), "wb")
        self.proc = subprocess.Popen(self.cmd(), stdout=self.log, stderr=subprocess.STDOUT)

        def up():
            if self.proc.poll() is not None:
                raise TestFailure(f"nginx exited {self.proc.returncode}; see {self.dir}")
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        wait_until(up, "nginx to listen")

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def logs(self):
        out = ""
        for p in (self.access, self.error, self.startup,
                  os.path.join(self.dir, "main-error.log"), os.path.join(self.dir, "stderr.log")):
            if os.path.exists(p):
                with open(p, encoding="utf-8", errors="replace") as f:
                    out += f.read()
        return out

    def request(self, method, path, body=b"", headers=None, source=None):
        """One HTTPS request through nginx, verifying its certificate."""
        if isinstance(body, str):
            body = body.encode()
        hdrs = {"Host": f"127.0.0.1:{self.port}", "Connection": "close"}
        hdrs.update(headers or {})
        if body or method == "POST":
            hdrs["Content-Length"] = str(len(body))
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
        ctx = ssl.create_default_context(cafile=self.cert)
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.settimeout(30)
        if source:
            raw.bind((source, 0))
        raw.connect(("127.0.0.1", self.port))
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            try:
                s.sendall(head.encode("latin-1") + b"\r\n" + body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            f = s.makefile("rb")
            try:
                return _read_response(f)
            finally:
                f.close()


def test_nginx_in_front():
    """the allowlist sees the real client through nginx; spoofing straight to the connector fails"""
    check(shutil.which("nginx") is not None, "nginx is installed (Debian's nginx-light)")
    svc = Service("behind-nginx", env={"MLC_TRUSTED_PROXIES": "127.0.0.1/32",
                                       "MLC_NETSUITE_ALLOWED_CIDRS": f"{ALLOWED}/32"})
    svc.start()
    ngx = Nginx(svc.port)
    import mlctest
    mlctest._processes.append(ngx)
    ngx.start()
    post_ns = {"Content-Type": "application/json", "X-MLC-Webhook-Secret": svc.ns_secret}

    e = ns_event()
    r = ngx.request("POST", "/v1/webhooks/netsuite", json.dumps(e), post_ns, source=ALLOWED)
    check(r.status == 202 and r.json()["accepted"] == 1,
          f"client {ALLOWED} (allowed) through nginx over TLS -> 202", r)
    expect_rejected(svc, f"client {OTHER} (not allowed) through nginx", 403, "forbidden_ip",
                    lambda: ngx.request("POST", "/v1/webhooks/netsuite", json.dumps(ns_event()),
                                        post_ns, source=OTHER))
    expect_rejected(svc, f"client {OTHER} through nginx claiming X-Forwarded-For {ALLOWED} "
                    "(nginx replaces the claim)", 403, "forbidden_ip",
                    lambda: ngx.request("POST", "/v1/webhooks/netsuite", json.dumps(ns_event()),
                                        dict(post_ns, **{"X-Forwarded-For": ALLOWED}),
                                        source=OTHER))
    expect_rejected(svc, f"straight to the connector from {SPOOFER} (not a trusted proxy) "
                    f"with a spoofed X-Forwarded-For {ALLOWED}", 403, "forbidden_ip",
                    lambda: svc.post_ns(ns_event(), headers={"X-Forwarded-For": ALLOWED},
                                        source=SPOOFER))
    r = svc.post_ns(ns_event(), headers={"X-Forwarded-For": ALLOWED}, source="127.0.0.1")
    check_eq(r.status, 202, "control: from nginx's own address (trusted) the same header is "
             "believed -> 202")

    big = json.dumps(dict(ns_event(), pad="x" * 300_000))
    r = ngx.request("POST", "/v1/webhooks/netsuite", big, post_ns, source=ALLOWED)
    check_eq(r.status, 413, "a 300 KB NetSuite event is refused by nginx (client_max_body_size "
             "256k = MLC_NETSUITE_MAX_BODY_BYTES)")
    ctx = dv_context()
    ctx["pad"] = "y" * 600_000
    r = ngx.request("POST", f"/v1/webhooks/dataverse?code={svc.dv_key}", json.dumps(ctx),
                    {"Content-Type": "application/json"}, source=OTHER)
    check(r.status == 202, "a 600 KB Dataverse context with ?code= passes (1m limit) -> 202", r)
    for path in ("/metrics", "/healthz", "/readyz", "/v1/webhooks"):
        check_eq(ngx.request("GET", path, source=ALLOWED).status, 404,
                 f"GET {path} through nginx -> 404 (kept inside)")
    check_eq(ngx.request("GET", "/v1/webhooks/netsuite", source=ALLOWED).status, 403,
             "GET on a webhook through nginx -> 403 (POST only)")

    svc.stop()
    r = ngx.request("POST", f"/v1/webhooks/dataverse?code={svc.dv_key}",
                    json.dumps(dv_context()), {"Content-Type": "application/json"})
    check_eq(r.status, 502, "connector stopped: nginx answers 502")
    ngx.cleanup()
    logs = ngx.logs()
    check(f"{ALLOWED} - [" in logs and "POST /v1/webhooks/dataverse HTTP/1.1\" 202" in logs
          and "\" 502 " in logs, "nginx's access log has the requests (202s and the 502)",
          logs[-2000:])
    check(svc.dv_key not in logs and "code=" not in logs and svc.ns_secret not in logs,
          "no query string, key or secret in nginx's logs", logs[-2000:])
    check_logs_clean(svc, [svc.dv_key, svc.ns_secret])


if __name__ == "__main__":
    run(test_nginx_in_front)
