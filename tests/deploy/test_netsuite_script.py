#!/usr/bin/env python3
"""deploy/netsuite/mlc_change_events_ue.js under Node's test runner (netsuite_script.test.mjs)
against stand-ins for N/https, N/crypto, N/encode, N/runtime and N/log, posting to two real
`ml-connector serve` processes (hmac mode and secret mode): every event the script signs
verifies in the connector (202), every payload validates against openapi/ml-connector.yaml,
the execution-context filter holds, and no secret reaches any log."""
import json
import os

from deploynode import ensure_node_modules, node
from mlctest import (SOURCE_DIR, Service, check, check_eq, check_logs_clean, free_port,
                     rand_secret, run, say, wait_until, work_dir, NS_ACCOUNT)


def accepted(svc):
    m = svc.metrics()
    return int(m.get("mlc_webhook_events_total", source="netsuite", outcome="accepted") or 0)


def test_script():
    """the user-event script's events verify in the connector and match the OpenAPI schema"""
    ensure_node_modules()
    key, secret = rand_secret("ns-hmac-key"), rand_secret("ns-plain-secret")
    hm = Service("ns-hmac", env={"MLC_NETSUITE_WEBHOOK_AUTH": "hmac",
                                 "MLC_NETSUITE_WEBHOOK_SECRETS": key})
    pl = Service("ns-secret", env={"MLC_NETSUITE_WEBHOOK_SECRETS": secret})
    hm.start()
    pl.start()
    result = os.path.join(work_dir(), "result.json")
    if os.path.exists(result):
        os.remove(result)
    env = {
        "MLC_HMAC_URL": f"http://127.0.0.1:{hm.port}/v1/webhooks/netsuite",
        "MLC_HMAC_KEY": key,
        "MLC_SECRET_URL": f"http://127.0.0.1:{pl.port}/v1/webhooks/netsuite",
        "MLC_SECRET": secret,
        # Nothing listens there: the script's retry and error path.
        "MLC_DEAD_URL": f"http://127.0.0.1:{free_port()}/v1/webhooks/netsuite",
        "MLC_ACCOUNT": NS_ACCOUNT,
        "MLC_OPENAPI": os.path.join(SOURCE_DIR, "openapi", "ml-connector.yaml"),
        "MLC_RESULT": result,
    }
    p = node("--test", "netsuite_script.test.mjs", timeout=300, env=env)
    say("\n".join("     " + l for l in (p.stdout + p.stderr).splitlines()
                  if l.startswith(("# ", "ok ", "not ok ")) or "Error" in l or "expected" in l))
    check(p.returncode == 0, "node --test netsuite_script.test.mjs passes",
          p.stdout[-4000:] + p.stderr[-2000:])
    with open(result, encoding="utf-8") as f:
        ids = json.load(f)["accepted"]
    check(len(ids) == 30, f"the script's posts accepted by the connectors: {len(ids)}")
    got = wait_until(lambda: (accepted(hm) + accepted(pl)) == len(ids) and accepted(hm) + accepted(pl),
                     "the connectors to count every accepted event")
    check_eq(got, len(ids), "mlc_webhook_events_total{outcome=accepted} counts each event once")
    wait_until(lambda: all(hm.effects().get(i) or pl.effects().get(i) for i in ids),
               "every accepted event to become a job that ran")
    check(True, "every accepted event became a job that ran")
    for svc, secrets in ((hm, [key, secret]), (pl, [key, secret])):
        check_eq(svc.stop(), 0, f"{svc.name}: SIGTERM -> exit 0")
        check_logs_clean(svc, secrets)


if __name__ == "__main__":
    run(test_script)
