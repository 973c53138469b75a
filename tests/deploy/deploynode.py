"""Shared helpers for tests/deploy: the pinned npm packages of tests/deploy/package.json,
installed into tests/deploy/node_modules (git-ignored, no lock file written), and the
integration helpers of tests/integration/mlctest.py."""
import fcntl
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from mlctest import TestFailure, say  # noqa: E402

ENV = dict(os.environ, NO_UPDATE_NOTIFIER="1", npm_config_update_notifier="false",
           npm_config_fund="false", npm_config_audit="false")


def _installed(name):
    try:
        with open(os.path.join(HERE, "node_modules", name, "package.json"),
                  encoding="utf-8") as f:
            return json.load(f).get("version")
    except (OSError, ValueError):
        return None


def ensure_node_modules():
    """Installs the pinned versions once (two build trees may run at once: a lock)."""
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            raise TestFailure(f"{tool} is not installed (./tests/run.sh installs nodejs and npm)")
    with open(os.path.join(HERE, "package.json"), encoding="utf-8") as f:
        wanted = json.load(f)["dependencies"]
    with open(os.path.join(HERE, ".npm-install.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all(_installed(n) == v for n, v in wanted.items()):
            return
        say("installing " + ", ".join(f"{n}@{v}" for n, v in wanted.items())
            + " into tests/deploy/node_modules")
        try:
            r = subprocess.run(["npm", "install", "--no-package-lock", "--no-audit", "--no-fund",
                                "--omit=dev"], cwd=HERE, capture_output=True, text=True,
                               env=ENV, timeout=480)
        except subprocess.TimeoutExpired:
            raise TestFailure("npm install timed out (is the npm registry reachable?)")
        if r.returncode != 0:
            raise TestFailure(f"npm install failed (exit {r.returncode}):\n{r.stdout}{r.stderr}")
        missing = {n: _installed(n) for n, v in wanted.items() if _installed(n) != v}
        if missing:
            raise TestFailure(f"npm did not install the pinned versions: {missing}")


def node(*args, timeout=120, stdin=None, env=None):
    """Runs node with the given arguments in tests/deploy; returns the CompletedProcess."""
    return subprocess.run(["node"] + list(args), cwd=HERE, capture_output=True, text=True,
                          env=dict(ENV, **(env or {})), timeout=timeout, input=stdin)
