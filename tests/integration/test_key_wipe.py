#!/usr/bin/env python3
"""Material needed once is not kept: once `serve` has started (sync and poller on, behind the
sandbox), the NetSuite M2M private key's PEM and the Entra certificate key's PEM are no longer
anywhere in the process's writable memory (read from /proc/PID/mem), while tokens are still
obtained with the parsed keys."""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import mlctest  # noqa: E402
from mlctest import check, run, say, wait_until  # noqa: E402
from test_sync_lib import (audit_of, customers, post_event, sandbox, service,  # noqa: E402
                           synced_kind)


def pem_chunks(path):
    """Distinctive 48-character pieces of a PEM's base64 body."""
    body = "".join(l.strip() for l in open(path) if l.strip() and not l.startswith("-----"))
    return [body[i:i + 48].encode() for i in range(0, len(body) - 48, 97)]


def in_memory(pid, needles):
    found = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            lo, hi, perms = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
            if "w" not in perms or "r" not in perms or hi - lo > 1 << 30:
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            found |= {n for n in needles if n in data}
    return found


def test_private_keys_wiped():
    """no private-key PEM text left in serve's memory after start; tokens still obtained"""
    sb = sandbox()
    ns_key = sb.settings["MLC_NETSUITE_PRIVATE_KEY_FILE"]
    creds = os.path.dirname(ns_key)
    cert = os.path.join(creds, "entra-certificate.pem")
    key = os.path.join(creds, "entra-private-key.pem")
    env = {}
    if os.path.exists(cert) and os.path.exists(key):
        env = {"MLC_ENTRA_CERTIFICATE_FILE": cert, "MLC_ENTRA_PRIVATE_KEY_FILE": key}
    svc = service("keywipe", sb, **env)
    if env:
        svc.env.pop("MLC_ENTRA_CLIENT_SECRET", None)
    svc.start()
    c = [c for c in customers(sb, "c.parent IS NULL") if synced_kind(c)][0]
    post_event(svc, "customer", c["id"])
    wait_until(lambda: audit_of(svc, "customer", c["id"]), "the customer to sync")
    check(True, "a customer synced: NetSuite and Entra tokens obtained with the parsed keys"
          + (" (Entra through the certificate)" if env else ""))
    needles = pem_chunks(ns_key) + (pem_chunks(key) if env else [])
    check(needles, f"{len(needles)} pieces of the private keys' PEM text to look for")
    # (Checked by hand: with the configuration's copy left unwiped, this test fails.)
    left = in_memory(svc.proc.pid, needles)
    say(f"     figures: {len(left)} of {len(needles)} PEM pieces found in serve's memory")
    check(not left, "no piece of a private key's PEM is in serve's memory", len(left))
    if env:
        import time
        m = mlctest.Metrics(svc.get("/metrics").body.decode())
        exp = m.get("mlc_dataverse_certificate_expiry_seconds")
        check(exp is not None and exp > time.time(),
              "mlc_dataverse_certificate_expiry_seconds is the certificate's notAfter", exp)
    check(svc.stop() == 0, "SIGTERM -> exit 0")


if __name__ == "__main__":
    run(test_private_keys_wiped)
