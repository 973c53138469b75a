#!/usr/bin/env python3
"""Helpers for the NetSuite client's integration tests (imported by test_netsuite_*.py), and,
run directly, a check that bad NetSuite settings are refused with a clear message and exit 2.

The client is driven through `netsuite-tool` (tests/integration/test_netsuite_tool.c: the
library configured from MLC_* variables exactly like the service) and through the real
`ml-connector serve` / `backfill`; the sandbox runs over HTTPS with its own CA.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import mlctest  # noqa: E402
from mlctest import check, check_eq, fixture_redis_port, unique_prefix  # noqa: E402

TOOL = os.path.join(mlctest.BUILD_DIR, "netsuite-tool")


_SANDBOXES = {}


def shared_sandbox(*args, **kw):
    """One sandbox per test file (and per argument set), closed at the end of the run."""
    from test_sandbox_lib import Sandbox
    key = (args, tuple(sorted(kw.items())))
    if key not in _SANDBOXES:
        _SANDBOXES[key] = Sandbox(*args, **kw)
        mlctest._cleanups.append(_SANDBOXES[key].close)
    return _SANDBOXES[key]


def ns_env(sb, prefix, **extra):
    """The environment of a client talking to sandbox sb, with its own Redis key prefix."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env.update(sb.settings)
    env.update({
        "MLC_REDIS_URL": "redis://127.0.0.1:%d/0" % fixture_redis_port(),
        "MLC_REDIS_KEY_PREFIX": prefix,
        "MLC_LOG_LEVEL": "warn",
        "MLC_ALLOW_PLAINTEXT_SECRETS": "1",
    })
    env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def tool(env, *args, timeout=600):
    """Runs netsuite-tool; returns (exit code, the JSON it printed or None, stderr)."""
    p = subprocess.run([TOOL, *args], env=env, capture_output=True, timeout=timeout)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    mlctest.check_no_sanitizer_report(err, "netsuite-tool " + " ".join(args[:1]))
    try:
        data = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    except ValueError:
        data = None
    return p.returncode, data, err


def tool_bg(env, *args):
    return subprocess.Popen([TOOL, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def finish(p, timeout=600):
    out, err = p.communicate(timeout=timeout)
    out, err = out.decode(errors="replace"), err.decode(errors="replace")
    mlctest.check_no_sanitizer_report(err, "netsuite-tool")
    try:
        data = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    except ValueError:
        data = None
    return p.returncode, data, err


def stats(sb):
    st, data = sb.admin("GET", "stats")
    assert st == 200, (st, data)
    return data


def reset_stats(sb):
    st, data = sb.admin("POST", "stats/reset")
    assert st == 200, (st, data)


def sql(sb, q):
    st, data = sb.admin("POST", "sql", {"sql": q})
    assert st == 200, (st, data)
    return data["rows"]


def bulk_jobs(redis, prefix):
    """Every job on the bulk stream as (kind, recordId, op, data)."""
    out = []
    for _id, fields in redis.cmd("XRANGE", prefix + "q:bulk", "-", "+") or []:
        f = dict(zip(fields[::2], fields[1::2]))
        j = json.loads(f["j"])
        d = j.get("data", {})
        out.append((j["kind"], d.get("recordId"), d.get("op"), d))
    return out


def test_bad_settings():
    """Bad NetSuite settings: exit 2 and one line naming the variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    base = {"MLC_REDIS_URL": "redis://127.0.0.1:%d/0" % fixture_redis_port(),
            "MLC_REDIS_KEY_PREFIX": unique_prefix("bad"), "MLC_ALLOW_PLAINTEXT_SECRETS": "1",
            "MLC_NETSUITE_CLIENT_ID": "c", "MLC_NETSUITE_CERTIFICATE_ID": "k",
            "MLC_NETSUITE_PRIVATE_KEY": "not a key"}
    cases = [
        ({"MLC_NETSUITE_ACCOUNT_ID": "evil.example.com/x"}, "MLC_NETSUITE_ACCOUNT_ID"),
        ({"MLC_NETSUITE_ACCOUNT_ID": "1234567"}, "MLC_NETSUITE_PRIVATE_KEY"),
        ({"MLC_NETSUITE_ACCOUNT_ID": "1234567", "MLC_NETSUITE_AUTH": "tba"},
         "MLC_NETSUITE_CONSUMER_KEY"),
        ({"MLC_NETSUITE_ACCOUNT_ID": "1234567", "MLC_NETSUITE_BASE_URL": "ftp://x"},
         "MLC_NETSUITE_BASE_URL"),
        ({"MLC_NETSUITE_ACCOUNT_ID": "1234567", "MLC_NETSUITE_JWT_ALG": "RS256"},
         "MLC_NETSUITE_JWT_ALG"),
        ({"MLC_NETSUITE_ACCOUNT_ID": "1234567", "MLC_NETSUITE_MAX_CONCURRENCY": "0"},
         "MLC_NETSUITE_MAX_CONCURRENCY"),
    ]
    for extra, name in cases:
        e = dict(env, **base, **extra)
        p = subprocess.run([TOOL, "token"], env=e, capture_output=True, timeout=60)
        err = p.stderr.decode(errors="replace")
        check_eq(p.returncode, 2, "exit 2 for %s" % name)
        check(name in err and "not a key" not in err, "the message names %s and no secret" % name,
              err)


if __name__ == "__main__":
    mlctest.run(test_bad_settings)
