#!/usr/bin/env python3
"""Lints openapi/ml-connector.yaml with Redocly CLI (pinned), installed into tests/.node."""
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# The pinned linter. 2.77.0 declares node ">=22.12.0 || >=20.19.0 <21.0.0".
REDOCLY_VERSION = "2.77.0"

SRC = os.environ.get("MLC_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = os.path.join(SRC, "openapi", "ml-connector.yaml")
CONFIG = os.path.join(SRC, "openapi", "redocly.yaml")
NODE_DIR = os.path.join(SRC, "tests", ".node")  # git-ignored
PKG_JSON = os.path.join(NODE_DIR, "node_modules", "@redocly", "cli", "package.json")
BIN = os.path.join(NODE_DIR, "node_modules", ".bin", "redocly")

# No usage data leaves the machine, no update banner, no npm notices.
ENV = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true",
           NO_UPDATE_NOTIFIER="1", npm_config_update_notifier="false",
           npm_config_fund="false", npm_config_audit="false")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def installed_version():
    try:
        with open(PKG_JSON, encoding="utf-8") as f:
            return json.load(f).get("version")
    except (OSError, ValueError):
        return None


def ensure_redocly():
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            fail(f"{tool} is not installed; the OpenAPI lint needs Node.js and npm "
                 "(./tests/run.sh installs them with apt-get: apt-get install nodejs npm)")
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, env=ENV)
    print(f"node {node.stdout.strip()}, @redocly/cli {REDOCLY_VERSION}")
    os.makedirs(NODE_DIR, exist_ok=True)
    # Two build trees may run the suite at once; they share tests/.node.
    with open(os.path.join(NODE_DIR, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed_version() == REDOCLY_VERSION and os.path.exists(BIN):
            return
        print(f"installing @redocly/cli@{REDOCLY_VERSION} into {NODE_DIR}")
        try:
            r = subprocess.run(["npm", "install", "--prefix", NODE_DIR, "--no-audit", "--no-fund",
                                f"@redocly/cli@{REDOCLY_VERSION}"],
                               capture_output=True, text=True, env=ENV, timeout=480)
        except subprocess.TimeoutExpired:
            fail("npm install of @redocly/cli timed out (is the npm registry reachable?)")
        if r.returncode != 0:
            fail(f"npm install @redocly/cli@{REDOCLY_VERSION} failed (exit {r.returncode}):\n"
                 + r.stdout + r.stderr)
        if installed_version() != REDOCLY_VERSION or not os.path.exists(BIN):
            fail(f"npm did not install @redocly/cli {REDOCLY_VERSION} "
                 f"(found {installed_version()})")
    v = subprocess.run([BIN, "--version"], capture_output=True, text=True, env=ENV)
    if v.returncode != 0 or REDOCLY_VERSION not in v.stdout:
        fail(f"redocly {REDOCLY_VERSION} does not run with node {node.stdout.strip()} "
             f"(it needs node >=20.19 <21 or >=22.12):\n{v.stdout}{v.stderr}")


def lint(path):
    r = subprocess.run([BIN, "lint", path, "--config", CONFIG, "--format", "stylish"],
                       capture_output=True, text=True, env=ENV, cwd=SRC)
    # Drop the boxed Node.js deprecation banner; keep everything else.
    out = "\n".join(l for l in (r.stdout + r.stderr).splitlines()
                    if not re.match(r"^\s*[╔║╚]", l))
    return r.returncode, out


def main():
    if not os.path.exists(SPEC):
        fail(f"{SPEC} is missing")
    ensure_redocly()

    # The linter must be able to fail: a dangling $ref in a copy of the spec is an error.
    with open(SPEC, encoding="utf-8") as f:
        text = f.read()
    broken = text.replace("#/components/schemas/WebhookAnswer", "#/components/schemas/Missing")
    assert broken != text, "the spec no longer references WebhookAnswer; update this test"
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "broken.yaml")
        with open(bad, "w", encoding="utf-8") as f:
            f.write(broken)
        rc, out = lint(bad)
        if rc == 0:
            fail("redocly lint accepted a spec with an unresolved $ref:\n" + out)

    rc, out = lint(SPEC)
    print(out)
    if rc != 0:
        fail(f"redocly lint found errors in {SPEC} (exit {rc})")
    m = re.search(r"(\d+) warnings?", out)
    print(f"ok: {SPEC} lints clean"
          + (f" with {m.group(1)} warning(s)" if m else ", no warnings"))


if __name__ == "__main__":
    main()
