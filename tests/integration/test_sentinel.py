"""Redis Sentinel: a primary, a replica and three sentinels (redis-server --sentinel, the
program Debian's redis-sentinel package runs); the connector finds the primary by name, keeps
taking webhooks while the primary is killed, follows the failover, and the test reports how
many acknowledged events the failover lost (asynchronous replication can lose the last ones);
then, with the sync engine behind the sandbox, NetSuite changes made before, during and after a
failover all reach Dataverse (the poller repairs what a failover costs)."""
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mlctest  # noqa: E402
from mlctest import (RedisServer, Redis, Service, check, check_eq, check_logs_clean, free_port,
                     ns_event, run, say, wait_until, work_dir, _processes)

NAME = "mlcprimary"


class Sentinel:
    def __init__(self, i, primary_port):
        self.port = free_port()
        self.dir = work_dir(f"sentinel-{i}")
        self.conf = os.path.join(self.dir, "sentinel.conf")
        with open(self.conf, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
                    f"logfile {self.dir}/sentinel.log\n"
                    f"sentinel monitor {NAME} 127.0.0.1 {primary_port} 2\n"
                    f"sentinel down-after-milliseconds {NAME} 1000\n"
                    f"sentinel failover-timeout {NAME} 10000\n"
                    f"sentinel parallel-syncs {NAME} 1\n")
        self.proc = subprocess.Popen(["redis-server", self.conf, "--sentinel"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _processes.append(self)
        self.r = Redis(self.port, timeout=2)
        wait_until(lambda: self.proc.poll() is None and self.ping(), f"sentinel {i} to answer")

    def ping(self):
        try:
            return self.r.cmd("PING") == "PONG"
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def cmd(self, *a):
        return self.r.cmd(*a)

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def redis_topology(tag):
    primary = RedisServer(f"primary-{tag}")
    primary.start()
    replica = RedisServer(f"replica-{tag}", extra=["--replicaof", "127.0.0.1", str(primary.port)])
    replica.start()
    wait_until(lambda: "master_link_status:up" in Redis(replica.port).cmd("INFO", "replication"),
               "the replica to sync")
    sentinels = [Sentinel(f"{tag}{i}", primary.port) for i in range(3)]
    for s in sentinels:
        wait_until(lambda s=s: len(s.cmd("SENTINEL", "replicas", NAME)) == 1 and
                   len(s.cmd("SENTINEL", "sentinels", NAME)) == 2,
                   "each sentinel to know the replica and the other two sentinels", timeout=60)
    return primary, replica, sentinels


def test_failover_under_load():
    """webhooks keep flowing across a Sentinel failover; acknowledged events lost are counted"""
    primary, replica, sentinels = redis_topology("load")
    check(True, "primary, replica and 3 sentinels up; each sentinel sees the others")

    svc = Service("sentinel", redis_port=primary.port, env={
        # The URL's host is not used with Sentinel (its password and db would be).
        "MLC_REDIS_URL": "redis://ignored.invalid:1/0",
        "MLC_REDIS_SENTINELS": ",".join(f"127.0.0.1:{s.port}" for s in sentinels),
        "MLC_REDIS_MASTER_NAME": NAME,
        "MLC_REDIS_TIMEOUT_MS": "1000"})
    svc.start()
    check(svc.post_ns(ns_event()).status == 202, "serve found the primary through Sentinel")

    acked, refused, stop = [], [], threading.Event()
    lock = threading.Lock()

    def sender():
        while not stop.is_set():
            ev = ns_event(record_type="contact")
            try:
                r = svc.post_ns(ev, timeout=10)
                st = r.status
            except Exception:  # noqa: BLE001 - counted as refused
                st = 0
            with lock:
                (acked if st == 202 else refused).append((time.monotonic(), ev["eventId"], st))

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(2)
    t_kill = time.monotonic()
    primary.kill()
    say(f"     killed the primary (port {primary.port}) under load")
    wait_until(lambda: sentinels[0].cmd("SENTINEL", "get-master-addr-by-name", NAME)[1] ==
               str(replica.port), "Sentinel to promote the replica", timeout=60)
    t_switch = time.monotonic()
    wait_until(lambda: any(t > t_switch for t, _, _ in acked), "a 202 after the switch",
               timeout=60)
    t_back = min(t for t, _, _ in acked if t > t_switch)
    time.sleep(2)
    stop.set()
    for t in threads:
        t.join()
    check(svc.get("/readyz").status == 200, "/readyz 200 on the new primary")
    new = Redis(replica.port)
    stored = set()
    for entry in new.cmd("XRANGE", svc.key("q:live"), "-", "+"):
        stored.add(entry[1][1])
    text = "\n".join(stored)
    found = {k for k in new.cmd("HKEYS", svc.key("test:exec"))} | \
            {k for k in new.cmd("HKEYS", svc.key("test:effects"))}
    lost = [e for t, e, _ in acked if e not in found and e not in text]
    lost_after = [e for t, e, _ in acked if t > t_switch and e not in found and e not in text]
    say(f"     figures: {len(acked)} events acknowledged, {len(refused)} refused (503 or no "
        f"answer) during the failover; webhooks answered 202 again "
        f"{t_back - t_kill:.1f} s after the kill ({t_switch - t_kill:.1f} s until Sentinel "
        f"promoted the replica); acknowledged events lost: {len(lost)}")
    check(len(acked) > 100, f"load ran through the failover ({len(acked)} acknowledged)")
    check(not lost_after, "no event acknowledged after the switch is lost", lost_after[:3])
    check(all(st in (0, 503) for _, _, st in refused),
          "every refusal during the failover is a 503 (or no answer): never a false 202",
          [r for r in refused if r[2] not in (0, 503)][:3])
    log = svc.all_logs()
    check(f"Redis primary '{NAME}' is 127.0.0.1:{replica.port}" in log,
          "the log names the new primary", None)
    wait_until(lambda: all(e in {k for k in new.cmd("HKEYS", svc.key("test:effects"))}
                           for t, e, _ in acked if t > t_switch),
               "the events acknowledged after the switch to run on the new primary")
    check(True, "jobs run on the new primary")
    check(svc.stop() == 0, "SIGTERM -> exit 0")
    check_logs_clean(svc, [svc.ns_secret, svc.dv_key])
    for s in sentinels:
        s.proc.send_signal(signal.SIGTERM)


def test_failover_end_state():
    """NetSuite changes made before, during and after a failover all reach Dataverse (the
    poller repairs whatever the failover cost)"""
    from test_sync_lib import customers, rows, sandbox, service, synced_kind
    primary, replica, sentinels = redis_topology("sync")
    sb = sandbox()
    svc = service("sentinel-sync", sb, MLC_POLL_INTERVAL_S="2", MLC_POLL_OVERLAP_S="5",
                  MLC_REDIS_URL="redis://ignored.invalid:1/0",
                  MLC_REDIS_SENTINELS=",".join(f"127.0.0.1:{s.port}" for s in sentinels),
                  MLC_REDIS_MASTER_NAME=NAME, MLC_REDIS_TIMEOUT_MS="1000")
    svc.redis_port = primary.port
    svc.redis = Redis(primary.port)
    svc.start()
    picks = [c for c in customers(sb, "c.parent IS NULL") if synced_kind(c)][:12]
    check(len(picks) == 12, "12 customers that sync")
    want = {}

    def change(group, tag):
        for c in group:
            phone = f"+1 555 01{tag} {c['id'] % 10000:04d}"
            st, _ = sb.admin("PATCH", "customers/%d" % c["id"], {"fields": {"phone": phone}})
            check_eq(st, 200, f"sandbox: change customer {c['id']}'s phone ({tag})")
            want[c["id"]] = phone

    change(picks[:4], "10")
    time.sleep(3)  # a poll cycle picks them up
    primary.kill()
    say(f"     killed the primary (port {primary.port})")
    change(picks[4:8], "20")
    wait_until(lambda: sentinels[0].cmd("SENTINEL", "get-master-addr-by-name", NAME)[1] ==
               str(replica.port), "Sentinel to promote the replica", timeout=60)
    svc.redis = Redis(replica.port)
    change(picks[8:], "30")

    def phones():
        got = {}
        for c in picks:
            r = rows(sb, "accounts", "mlc_netsuitecustomerid", str(c["id"]))
            got[c["id"]] = r[0].get("telephone1") if len(r) == 1 else f"{len(r)} rows"
        return got
    t0 = time.monotonic()
    wait_until(lambda: phones() == want, "every change to reach Dataverse through the poller",
               timeout=120)
    say(f"     figures: 12 changes (4 before, 4 during, 4 after the failover) in Dataverse "
        f"{time.monotonic() - t0:.1f} s after the switch")
    check(True, "Dataverse holds NetSuite's state for every change, one account each")
    m = mlctest.Metrics(svc.get("/metrics").body.decode())
    lag = m.get("mlc_poller_lag_seconds", type="customer")
    check(lag is not None and 0 <= lag < 30, "mlc_poller_lag_seconds{type=customer} is small "
          "on the leader after the failover", lag)
    check(svc.stop() == 0, "SIGTERM -> exit 0")
    mlctest.check_logs_clean(svc, [svc.ns_secret, svc.dv_key])
    for s in sentinels:
        s.proc.send_signal(signal.SIGTERM)


if __name__ == "__main__":
    run(test_failover_under_load, test_failover_end_state)
