#!/usr/bin/env python3
"""Runs last (a cleanup of the Redis fixture every integration test requires): reads every log
the suite captured (the service's logs, the sandboxes' logs copied before their folders went)
and checks that none holds a secret any test configured or was handed (webhook secrets and
keys, admin tokens, client secrets, TBA tokens: raw, base64, base64url or URL-encoded) or an
issued access token or assertion (a JWT). The capture must not be empty."""
import base64
import os
import re
import sys
import urllib.parse

root = os.path.join(os.environ.get("MLC_BUILD_DIR", "build"), "it-logs")
JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")

secrets = set()
logs = []
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        if f == "secrets.list":
            secrets.update(l.strip() for l in open(p, errors="replace") if l.strip())
        elif f.endswith(".log") and "redis" not in os.path.relpath(p, root):
            logs.append(p)

forms = {}
for s in secrets:
    b = s.encode()
    for name, v in (("raw", b), ("base64", base64.b64encode(b).rstrip(b"=")),
                    ("base64url", base64.urlsafe_b64encode(b).rstrip(b"=")),
                    ("url-encoded", urllib.parse.quote(s, safe="").encode())):
        forms.setdefault(v, (s, name))

total = 0
bad = []
for p in logs:
    data = open(p, "rb").read()
    total += len(data)
    for v, (s, name) in forms.items():
        if v in data:
            bad.append(f"{os.path.relpath(p, root)}: a secret ({s[:6]}..., {name})")
    m = JWT.search(data)
    if m:
        bad.append(f"{os.path.relpath(p, root)}: a JWT ({m.group(0)[:12].decode()}...)")

print(f"log scan: {len(logs)} log files, {total} bytes, {len(secrets)} secrets in "
      f"{len(forms)} forms, and JWTs looked for")
if not logs or total == 0:
    print("FAIL the capture is empty: no log was written where the suite keeps them")
    sys.exit(1)
for b in bad[:20]:
    print("FAIL " + b)
if bad:
    print(f"FAILED: {len(bad)} leaks")
    sys.exit(1)
print("PASSED: no secret, key, token or JWT in any captured log line")
