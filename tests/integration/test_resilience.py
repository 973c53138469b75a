"""Crashes, shutdowns and Redis failures: kill -9 with jobs in flight loses none and re-runs only
what was pending; SIGTERM lets in-flight jobs finish and exits 0; Redis going away gives 503 and
comes back without a restart, also empty (the group is recreated); a Redis with an evicting
maxmemory-policy is refused at start."""
import json

from mlctest import (HttpConn, Redis, RedisServer, Service, check, check_eq, check_logs_clean,
                     check_problem, dv_context, http_request, ns_event, run, say, wait_until)

services = []


def job_keys_of_entries(svc, entry_ids):
    """Maps stream entry ids to job keys: test:entry (written by the handler) or the entry itself
    (delivered, but killed before the handler wrote anything)."""
    mapping = svc.hgetall("test:entry")
    out = {}
    for eid in entry_ids:
        if eid in mapping:
            out[eid] = mapping[eid]
            continue
        rows = svc.redis.cmd("XRANGE", svc.key("q:live"), eid, eid)
        if rows:
            env = json.loads(dict(zip(rows[0][1][0::2], rows[0][1][1::2]))["j"])
            out[eid] = env["data"]["eventId"]
    return out


def test_kill9():
    """kill -9 with jobs in flight, restart -> none lost, re-runs only for pending jobs"""
    n = 24
    svc = Service("kill9", env={"MLC_WORKERS": "4", "MLC_QUEUE_VISIBILITY_TIMEOUT_S": "5"})
    services.append(svc)
    svc.start()
    svc.set_mode("sleep:1000")
    events = [ns_event(record_type="customer", record_id=200000 + i) for i in range(n)]
    keys = [e["eventId"] for e in events]
    r = svc.post_ns({"events": events})
    check(r.status == 202 and r.json()["accepted"] == n, f"{n} events -> 202", r)
    wait_until(lambda: len(svc.effects()) >= 4 and len(svc.pending()) >= 2,
               "some jobs done and some in flight")
    svc.kill9()
    check(True, "service killed with SIGKILL while jobs were in flight")
    pending = [p[0] for p in svc.pending()]
    inflight = job_keys_of_entries(svc, pending)
    check(len(inflight) == len(pending) and pending,
          f"{len(pending)} entries were pending (delivered, unacked) at the kill", pending)
    exec_at_kill = svc.executions()
    effects_at_kill = set(svc.effects())
    say(f"     at the kill: {len(effects_at_kill)} effects, {sum(exec_at_kill.values())} "
        f"executions, in flight {sorted(inflight.values())}")

    svc.start()
    check(True, "service restarted")
    wait_until(lambda: len(svc.effects()) == n and svc.idle(),
               f"all {n} jobs to complete after the restart (reclaim after the visibility timeout)",
               timeout=90)
    ex = svc.executions()
    eff = svc.effects()
    check_eq(sorted(eff), sorted(keys), f"effects == jobs: every one of the {n} jobs exactly once")
    check(all(ex.get(k, 0) >= 1 for k in keys), "executions >= jobs: every job ran")
    rerun = {k for k in keys if ex.get(k, 0) > 1}
    pend_keys = set(inflight.values())
    check(rerun <= pend_keys, f"re-executions only for jobs pending at the kill "
          f"(re-run {sorted(rerun)})", sorted(rerun - pend_keys))
    check(all(ex.get(k, 0) >= exec_at_kill.get(k, 0) + 1 for k in pend_keys),
          "every job pending at the kill ran again after the restart",
          {k: (exec_at_kill.get(k, 0), ex.get(k, 0)) for k in pend_keys})
    check(all(ex[k] == 1 for k in keys if k not in pend_keys),
          "jobs acked before the kill or never started ran exactly once")
    check_eq(svc.redis.cmd("HLEN", svc.key("q:deliv")), 0, "no delivery counters left behind")
    reclaimed = [x for x in svc.log_records() if "reclaimed" in x.get("msg", "")]
    check(reclaimed, "the restarted service logged the reclaim", None)


def test_sigterm():
    """SIGTERM while busy -> readyz 503, in-flight jobs finish, exit 0, the rest stays queued"""
    n = 12
    svc = Service("sigterm", env={"MLC_WORKERS": "4", "MLC_QUEUE_VISIBILITY_TIMEOUT_S": "60",
                                  "MLC_SHUTDOWN_GRACE_S": "30"})
    services.append(svc)
    svc.start()
    svc.set_mode("sleep:4000")
    events = [ns_event(record_type="contact", record_id=300000 + i) for i in range(n)]
    r = svc.post_ns({"events": events})
    check(r.status == 202, f"{n} events -> 202", r)
    wait_until(lambda: len(svc.executions()) >= 4 and len(svc.pending()) >= 4,
               "four jobs in flight")
    # A kept-alive connection (a load balancer's, a probe's) opened before the signal.
    conn = HttpConn(svc.port)
    check(conn.request("GET", "/readyz").status == 200, "GET /readyz on a kept-alive connection "
          "-> 200 before the signal")
    started = set(svc.executions())
    svc.sigterm()
    check(True, f"SIGTERM sent with {len(started)} jobs in flight")
    started |= set(svc.executions())
    # The jobs sleep 4 s, so the service is still draining for the next few requests; the
    # signal itself takes a moment to be picked up.
    wait_until(lambda: conn.request("GET", "/readyz").status == 503, "/readyz to turn 503")
    check_problem(conn.request("GET", "/readyz"), 503, "shutting_down",
                  "GET /readyz on the open connection while draining")
    late = ns_event(record_type="contact", record_id=399999)
    r = conn.request("POST", "/v1/webhooks/netsuite", json.dumps(late),
                     {"Content-Type": "application/json", "X-MLC-Webhook-Secret": svc.ns_secret})
    check(r.status == 202, "a webhook on the open connection is still accepted while draining", r)
    conn.close()
    def refused():
        try:
            http_request(svc.port, "GET", "/healthz", timeout=5)
            return False
        except OSError:
            return (True, svc.alive())
    _, alive = wait_until(refused, "new connections to be refused")
    check(alive, "new connections are refused while the service is still draining")
    rc = svc.wait_exit()
    check_eq(rc, 0, "the service exits 0 after draining")
    eff = svc.effects()
    check(started <= set(eff), "every job in flight at SIGTERM finished and recorded its effect",
          sorted(started - set(eff)))
    check_eq(svc.pending(), [], "nothing left pending (in-flight jobs were acked)")
    left = svc.stream_stats()[0]
    check_eq(len(eff) + left, n + 1, f"the {left} jobs not started yet stay queued; none lost")
    recs = svc.log_records()
    check(any("draining" in x.get("msg", "") for x in recs)
          and any(x.get("msg") == "stopped" for x in recs), "drain and stop are logged")

    svc.set_mode("ok")
    svc.start()
    wait_until(lambda: len(svc.effects()) == n + 1 and svc.idle(),
               "the queued rest to run after a start")
    check(True, f"after a new start all {n + 1} jobs have their effect")
    check(all(v == 1 for v in svc.executions().values()), "no job ran twice")


def post_until(svc, status, what, make):
    """Posts fresh events until one gets `status` (Redis reconnects with backoff)."""
    last = []

    def attempt():
        ev = make()
        r = svc.post_ns(ev)
        last[:] = [ev, r]
        return r.status == status
    wait_until(attempt, what)
    return last


def test_redis_outage():
    """Redis stopped -> 503 and readyz 503; back -> recovers; restarted empty -> group recreated"""
    redis = RedisServer("outage", appendonly=True)
    redis.start()
    svc = Service("outage", redis_port=redis.port, env={"MLC_REDIS_TIMEOUT_MS": "1000"})
    services.append(svc)
    svc.start()
    pid = svc.proc.pid
    ev = ns_event()
    check(svc.post_ns(ev).status == 202, "event with Redis up -> 202")
    wait_until(lambda: svc.effects().get(ev["eventId"]), "the job to run")
    check(True, "the job ran")

    redis.stop()
    check(True, "Redis stopped")
    r = svc.post_ns(ns_event())
    check_problem(r, 503, "queue_unavailable", "NetSuite webhook with Redis down")
    check(r.header("retry-after") is not None, "the 503 carries Retry-After", r.headers)
    r = svc.post_dv(dv_context())
    check_problem(r, 503, "queue_unavailable", "Dataverse webhook with Redis down")
    wait_until(lambda: svc.get("/readyz").status == 503, "/readyz to turn 503")
    check_problem(svc.get("/readyz"), 503, "queue_unavailable", "GET /readyz with Redis down")
    check(svc.get("/healthz").status == 200, "GET /healthz stays 200 (the process is alive)")
    m = svc.metrics()
    check(m.get("mlc_redis_up") == 0, "mlc_redis_up 0", m.get("mlc_redis_up"))
    rc, _, err = svc.cli("dlq", "list")
    check(rc == 1 and "Redis" in err, "`dlq list` with Redis down exits 1 saying why", (rc, err))

    redis.start()
    check(True, "Redis started again (same data)")
    ev, r = post_until(svc, 202, "a webhook to be accepted again", ns_event)
    check(r.status == 202, "webhook -> 202 again without restarting the service")
    wait_until(lambda: svc.get("/readyz").status == 200, "/readyz to turn 200")
    check(True, "/readyz 200 again")
    wait_until(lambda: svc.effects().get(ev["eventId"]), "the new job to run")
    check(True, "workers reconnected: the job accepted after the outage ran")
    check(svc.proc.pid == pid and svc.alive(), "same process throughout (no restart)")

    redis.kill()
    redis.wipe()
    redis.start()
    # The workers may already have recreated the (empty) streams and groups; everything the
    # earlier runs wrote is gone.
    check(not svc.redis.cmd("EXISTS", svc.key("schema"), svc.key("test:effects"),
                            svc.key("test:exec")), "Redis restarted empty (earlier keys gone)")
    ev, r = post_until(svc, 202, "a webhook to be accepted by the empty Redis", ns_event)
    check(r.status == 202, "webhook -> 202 on the empty Redis")
    wait_until(lambda: svc.effects().get(ev["eventId"]), "the job to run on the empty Redis")
    check(True, "the job accepted by the empty Redis ran")
    groups = svc.redis.cmd("XINFO", "GROUPS", svc.key("q:live"))
    check(any(dict(zip(g[0::2], g[1::2]))["name"] == "mlc" for g in groups),
          "the consumer group mlc exists again on q:live", groups)
    wait_until(lambda: svc.idle(), "the queue to drain")
    check(any("consumer group missing" in x.get("msg", "") for x in svc.log_records()),
          "the recreation is logged")
    ev2 = ns_event()
    check(svc.post_ns(ev2).status == 202, "later webhooks -> 202")
    wait_until(lambda: svc.effects().get(ev2["eventId"]), "later jobs to run")
    check(True, "later jobs flow normally")
    check_eq(svc.stop(), 0, "SIGTERM -> exit 0")
    redis.kill()


def test_startup_checks():
    """a Redis with maxmemory-policy allkeys-lru -> serve refuses to start; schema, config"""
    redis = RedisServer("lru", appendonly=False, extra=["--maxmemory-policy", "allkeys-lru"])
    redis.start()
    svc = Service("lru", redis_port=redis.port)
    services.append(svc)
    svc.start(expect_exit=True)
    rc = svc.wait_exit(timeout=60)
    text = svc.log_text()
    check_eq(rc, 1, "serve refuses to start: exit 1 (a failure it explains)")
    check("maxmemory-policy" in text and "allkeys-lru" in text and "noeviction" in text,
          "with a clear message naming the policy and what is required",
          text.strip().splitlines()[-1:] if text.strip() else text)
    check_eq(Redis(redis.port).cmd("DBSIZE"), 0, "nothing was written to that Redis")
    redis.kill()

    # CONFIG unreadable (renamed away, as managed Redis services do): start with a warning.
    redis2 = RedisServer("noconfig", appendonly=False, extra=["--rename-command", "CONFIG", ""])
    redis2.start()
    svc2 = Service("noconfig", redis_port=redis2.port)
    services.append(svc2)
    svc2.start()
    check(any("maxmemory-policy" in x.get("msg", "") and x.get("level") == "warn"
              for x in svc2.log_records()),
          "CONFIG not readable -> serve starts and warns about maxmemory-policy")
    check_eq(svc2.stop(), 0, "SIGTERM -> exit 0")
    redis2.kill()

    # A key schema newer than the binary knows stops start-up; an equal one is fine.
    svc3 = Service("schema")
    services.append(svc3)
    svc3.redis.cmd("SET", svc3.key("schema"), "99")
    svc3.start(expect_exit=True)
    rc = svc3.wait_exit(timeout=60)
    text = svc3.log_text()
    check(rc == 1 and "schema" in text and "99" in text,
          "a newer key-schema version (99) -> serve exits 1 naming it", (rc, text[-300:]))
    check_eq(svc3.redis.cmd("GET", svc3.key("schema")), "99", "the newer schema key is untouched")
    svc3.redis.cmd("DEL", svc3.key("schema"))
    svc3.start()
    check_eq(svc3.redis.cmd("GET", svc3.key("schema")), "1", "a fresh prefix gets schema version 1")
    check_eq(svc3.stop(), 0, "SIGTERM -> exit 0")

    # Configuration errors: exit 2 with one line naming the variable.
    svc4 = Service("badconfig")
    services.append(svc4)
    for var, value, why in (("MLC_NETSUITE_WEBHOOK_SECRETS", None, "required"),
                            ("MLC_NETSUITE_ALLOWED_CIDRS", "10.0.0.0/33", None),
                            ("MLC_WORKERS", "257", "out of range"),
                            ("MLC_REDIS_URL", "http://x", "redis://")):
        saved = dict(svc4.env)
        if value is None:
            svc4.env.pop(var)
        else:
            svc4.env[var] = value
        svc4.start(expect_exit=True)
        rc = svc4.wait_exit(timeout=60)
        lines = svc4.log_text().strip().splitlines()
        check(rc == 2 and lines and var in lines[-1] and (why is None or why in lines[-1]),
              f"{var}={value} -> exit 2 with a line naming it", (rc, lines[-2:]))
        svc4.env = saved


def test_logs():
    """clean logs"""
    for svc in services:
        if svc.alive():
            check(svc.stop() == 0, f"{svc.name}: SIGTERM -> exit 0")
        if svc.name not in ("lru", "badconfig"):  # never served: no access lines to look at
            check_logs_clean(svc, [svc.ns_secret, svc.dv_key])


if __name__ == "__main__":
    run(test_kill9, test_sigterm, test_redis_outage, test_startup_checks, test_logs)
