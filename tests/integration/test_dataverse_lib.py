#!/usr/bin/env python3
"""Helpers for the Dataverse client's integration tests (imported by test_dataverse_*.py), and,
run directly, a check that bad Dataverse/Entra settings are refused with a clear message, exit 2.

The client is driven through `dataverse-tool` (tests/integration/test_dataverse_tool.c: the
library configured from MLC_* variables exactly like the service), as separate processes; the
sandbox's Dataverse + Entra half runs over HTTPS with its own CA and is inspected through its
/_sandbox/dataverse/ admin API (rows, stats, protection)."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import mlctest  # noqa: E402
from mlctest import check, check_eq, fixture_redis_port, unique_prefix  # noqa: E402

TOOL = os.path.join(mlctest.BUILD_DIR, "dataverse-tool")

_SANDBOXES = {}


def shared_sandbox(*args, **kw):
    """One Dataverse sandbox per test file (and per argument set), closed at the end of the run."""
    from test_sandbox_dv_lib import DvSandbox
    key = (args, tuple(sorted(kw.items())))
    if key not in _SANDBOXES:
        kw.setdefault("customers", 20)
        kw.setdefault("orders", 5)
        _SANDBOXES[key] = DvSandbox(*args, **kw)
        mlctest._cleanups.append(_SANDBOXES[key].close)
    return _SANDBOXES[key]


def dv_env(sb, prefix, **extra):
    """The environment of a client talking to sandbox sb with its own Redis key prefix. Only the
    Dataverse settings are passed (the NetSuite ones do not concern the Dataverse client)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    for k, v in sb.settings.items():
        if k.startswith("MLC_DATAVERSE_") or k.startswith("MLC_ENTRA_") or k == "MLC_TLS_CA_FILE":
            env[k] = v
    env.update({
        "MLC_REDIS_URL": "redis://127.0.0.1:%d/0" % fixture_redis_port(),
        "MLC_REDIS_KEY_PREFIX": prefix,
        "MLC_LOG_LEVEL": "warn",
        "MLC_ALLOW_PLAINTEXT_SECRETS": "1",
    })
    env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def _last_json(out):
    try:
        return json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    except ValueError:
        return None


def tool(env, *args, timeout=600):
    """Runs dataverse-tool; returns (exit code, the JSON it printed or None, stderr)."""
    p = subprocess.run([TOOL, *args], env=env, capture_output=True, timeout=timeout)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    mlctest.check_no_sanitizer_report(err, "dataverse-tool " + " ".join(args[:1]))
    return p.returncode, _last_json(out), err


def tool_bg(env, *args):
    return subprocess.Popen([TOOL, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def finish(p, timeout=600):
    out, err = p.communicate(timeout=timeout)
    out, err = out.decode(errors="replace"), err.decode(errors="replace")
    mlctest.check_no_sanitizer_report(err, "dataverse-tool")
    return p.returncode, _last_json(out), err


def stats(sb):
    """The sandbox's stats. Read raw: an answer that is not JSON is reported with its bytes."""
    for _ in range(5):
        st, raw, r = sb.draw("GET", "/_sandbox/dataverse/stats")
        try:
            data = json.loads(raw)
        except ValueError:
            mlctest.say("sandbox stats answered %s %r (retrying)" % (st, raw[:300]))
            import time
            time.sleep(0.2)
            continue
        assert st == 200, (st, data)
        return data
    raise AssertionError("the sandbox's stats never answered JSON")


def protection(sb):
    """The sandbox's service-protection record of our application user."""
    for p in stats(sb)["protection"]:
        if p["identity"] == sb.app_user:
            return p
    return {"calls": 0, "windowRequests": 0, "throttled": {"requests": 0, "executionTime": 0,
                                                          "concurrency": 0},
            "callsDuringRetryAfter": 0, "peakConcurrency": 0}


def reset_protection(sb):
    st, _ = sb.dadmin("POST", "protection/reset")
    assert st == 204, st


def rows_by(sb, entity_set, col):
    """{key value: [rows]} of a table, by a column."""
    out = {}
    for r in sb.rows(entity_set):
        out.setdefault(r.get(col), []).append(r)
    return out


def test_bad_settings():
    """Bad Dataverse settings: exit 2 and one line naming the variable, no secret echoed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    base = {"MLC_REDIS_URL": "redis://127.0.0.1:%d/0" % fixture_redis_port(),
            "MLC_REDIS_KEY_PREFIX": unique_prefix("bad"), "MLC_ALLOW_PLAINTEXT_SECRETS": "1",
            "MLC_DATAVERSE_URL": "https://org.crm.dynamics.com", "MLC_ENTRA_TENANT_ID": "t1",
            "MLC_ENTRA_CLIENT_ID": "c1", "MLC_ENTRA_CLIENT_SECRET": "s3cr3t-value"}
    cases = [
        ({"MLC_DATAVERSE_URL": "ftp://x"}, "MLC_DATAVERSE_URL"),
        ({"MLC_DATAVERSE_URL": None}, "MLC_DATAVERSE_URL"),
        ({"MLC_ENTRA_TENANT_ID": "a/b"}, "MLC_ENTRA_TENANT_ID"),
        ({"MLC_ENTRA_CLIENT_ID": None}, "MLC_ENTRA_CLIENT_ID"),
        ({"MLC_ENTRA_CLIENT_SECRET": None}, "MLC_ENTRA_CLIENT_SECRET"),
        ({"MLC_ENTRA_FEDERATED_TOKEN_PATH": "/x"}, "MLC_ENTRA_CLIENT_SECRET"),
        ({"MLC_ENTRA_CLIENT_SECRET": None, "MLC_ENTRA_CERTIFICATE": "not a cert",
          "MLC_ENTRA_PRIVATE_KEY": "not a key"}, "MLC_ENTRA_CERTIFICATE"),
        ({"MLC_DATAVERSE_MAX_CONCURRENCY": "0"}, "MLC_DATAVERSE_MAX_CONCURRENCY"),
        ({"MLC_DATAVERSE_BULK_CHUNK": "1001"}, "MLC_DATAVERSE_BULK_CHUNK"),
    ]
    for extra, name in cases:
        e = dict(env, **base)
        for k, v in extra.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        p = subprocess.run([TOOL, "token"], env=e, capture_output=True, timeout=60)
        err = p.stderr.decode(errors="replace")
        check_eq(p.returncode, 2, "exit 2 for %s" % name)
        check(name in err and "s3cr3t-value" not in err and "not a key" not in err,
              "the message names %s and no secret" % name, err)


if __name__ == "__main__":
    mlctest.run(test_bad_settings)
