"""Retries, the dead-letter stream and the circuit breaker: a failing handler is retried with
growing delays, dead-lettered with its reason after MLC_QUEUE_MAX_ATTEMPTS, and `ml-connector dlq`
lists, shows and replays it; 50 jobs failing alike pause the lane with exactly one alert and one
`dlq replay --fingerprint` drains them; a job never reaching an outcome is dead-lettered after
MLC_QUEUE_MAX_DELIVERIES; the shipped binary dead-letters jobs it has no handler for."""
import json
import time

from mlctest import (MLC_BIN, Service, check, check_eq, check_logs_clean, ns_event, run,
                     wait_until)

MAX_ATTEMPTS = 5
BASE_MS = 200
services = []


def dlq_list(svc, *extra):
    rc, out, err = svc.cli("dlq", "list", *extra)
    check(rc == 0, f"`ml-connector dlq list {' '.join(extra)}` exits 0", err)
    return json.loads(out)


def test_retry_backoff_dlq():
    """failing handler -> growing delays -> DLQ with reason -> dlq list/show/replay"""
    svc = Service("retry", env={"MLC_QUEUE_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
                                "MLC_QUEUE_RETRY_BASE_MS": str(BASE_MS),
                                "MLC_QUEUE_RETRY_MAX_S": "60",
                                "MLC_BREAKER_THRESHOLD": "0"})
    services.append(svc)
    svc.start()
    svc.set_mode("retry")
    ev = ns_event(record_type="customer")
    k = ev["eventId"]
    r = svc.post_ns(ev)
    check(r.status == 202, "event for a failing handler -> 202", r)
    wait_until(lambda: svc.dlq_len() == 1, "the job to reach the DLQ")
    check(True, "the job is dead-lettered")
    check_eq(svc.executions().get(k), MAX_ATTEMPTS + 1,
             f"the handler ran once plus MLC_QUEUE_MAX_ATTEMPTS={MAX_ATTEMPTS} retries")
    times = [int(x.split(" ")[1]) for x in svc.redis.cmd("LRANGE", svc.key("test:times"), 0, -1)
             if x.split(" ")[0] == k]
    check_eq(len(times), MAX_ATTEMPTS + 1, "one start time recorded per execution")
    delays = [b - a for a, b in zip(times, times[1:])]
    say_delays = ", ".join(f"{d} ms" for d in delays)
    # Equal jitter: attempt n waits between base*2^(n-1)/2 and base*2^(n-1); only the lower
    # bound is asserted (a loaded machine may add any amount on top).
    floors = [BASE_MS * 2 ** i // 2 for i in range(len(delays))]
    check(all(d >= f for d, f in zip(delays, floors)),
          f"delays between executions grow with backoff: {say_delays} (floors {floors})")
    # The floors alone would let a constant long delay pass; the last wait (nominally 4-8 times
    # the first) must be the longer one.
    check(delays[-1] > delays[0], "the last delay is longer than the first", delays)
    check(svc.idle(), "nothing left in the stream, pending or the retry set")
    check(k not in svc.effects(), "no effect recorded for the failing job")

    entries = dlq_list(svc)
    check_eq(len(entries), 1, "dlq list shows one entry")
    e = entries[0]
    check("simulated retryable failure" in e.get("reason", "")
          and str(MAX_ATTEMPTS) in e.get("reason", ""),
          "the DLQ entry gives the reason (last error and attempt count)", e.get("reason"))
    fp = e.get("fingerprint", "")
    check(len(fp) == 16 and all(c in "0123456789abcdef" for c in fp),
          "the DLQ entry has a 16-hex error fingerprint", fp)
    check(e.get("kind") == "customer" and e.get("lane") == "live"
          and e["job"]["data"]["eventId"] == k and e.get("failed_at"),
          "the DLQ entry keeps kind, lane, the job and when it failed", e)
    rc, out, err = svc.cli("dlq", "show", e["id"])
    check(rc == 0 and json.loads(out)["id"] == e["id"]
          and json.loads(out)["reason"] == e["reason"], "`dlq show ID` prints the entry", (rc, err))
    rc, _, err = svc.cli("dlq", "show", "1-1")
    check(rc == 1 and "no such entry" in err, "`dlq show` of a missing id exits 1", (rc, err))
    rc, _, err = svc.cli("dlq", "show", "not-an-id")
    check(rc == 2, "`dlq show` of a malformed id exits 2", (rc, err))
    rc, _, err = svc.cli("dlq")
    check(rc == 2 and "usage" in err, "`dlq` without a subcommand exits 2 with usage", (rc, err))
    m = svc.metrics()
    check(m.get("mlc_dlq_depth") == 1, "mlc_dlq_depth 1", m.get("mlc_dlq_depth"))
    check(m.get("mlc_job_retries_total") == MAX_ATTEMPTS,
          f"mlc_job_retries_total counts the {MAX_ATTEMPTS} reschedules",
          m.get("mlc_job_retries_total"))
    check(m.get("mlc_jobs_total", kind="customer", outcome="retry") == MAX_ATTEMPTS and
          m.get("mlc_jobs_total", kind="customer", outcome="dead") == 1,
          "mlc_jobs_total by outcome: retries and one dead")

    # The fix: the handler succeeds now; replay the entry by id.
    svc.set_mode("ok")
    rc, out, err = svc.cli("dlq", "replay", e["id"])
    check(rc == 0 and json.loads(out) == {"replayed": 1}, "`dlq replay ID` -> replayed 1",
          (rc, out, err))
    wait_until(lambda: svc.effects().get(k), "the replayed job to run")
    check(True, "the replayed job ran and recorded its effect")
    wait_until(lambda: svc.idle(), "the queue to drain")
    check_eq(svc.dlq_len(), 0, "the DLQ is empty after the replay")
    rc, _, err = svc.cli("dlq", "replay", e["id"])
    check(rc == 1, "replaying the same id again exits 1 (no such entry)", (rc, err))

    # A permanent failure goes straight to the DLQ; purge removes it.
    svc.set_mode("fatal")
    ev2 = ns_event()
    check(svc.post_ns(ev2).status == 202, "event for a permanently failing handler -> 202")
    wait_until(lambda: svc.dlq_len() == 1, "the permanent failure to reach the DLQ")
    check_eq(svc.executions().get(ev2["eventId"]), 1, "a permanent failure is not retried")
    e2 = dlq_list(svc, "--limit", "10")[0]
    check("permanent failure" in e2["reason"], "its reason is the handler's", e2["reason"])
    rc, out, _ = svc.cli("dlq", "purge", e2["id"])
    check(rc == 0 and json.loads(out) == {"purged": 1}, "`dlq purge ID` -> purged 1", out)
    check_eq(svc.dlq_len(), 0, "the DLQ is empty after the purge")
    svc.set_mode("ok")

    # Retry-After from the handler wins over the backoff.
    svc.set_mode("retry-after:1500")
    ev3 = ns_event()
    check(svc.post_ns(ev3).status == 202, "event for a throttled handler -> 202")
    wait_until(lambda: svc.executions().get(ev3["eventId"], 0) >= 2, "the throttled job's retry")
    t = [int(x.split(" ")[1]) for x in svc.redis.cmd("LRANGE", svc.key("test:times"), 0, -1)
         if x.split(" ")[0] == ev3["eventId"]]
    check(t[1] - t[0] >= 1500, f"Retry-After 1500 ms is honoured ({t[1] - t[0]} ms)")
    svc.set_mode("ok")
    wait_until(lambda: svc.effects().get(ev3["eventId"]) and svc.idle(),
               "the throttled job to succeed")
    check(True, "the throttled job succeeded once the handler recovered")


def test_breaker():
    """50 jobs failing alike -> lane paused, one alert -> replay --fingerprint drains all 50"""
    svc = Service("breaker", env={"MLC_BREAKER_THRESHOLD": "10",
                                  "MLC_BREAKER_WINDOW_S": "300",
                                  "MLC_QUEUE_MAX_ATTEMPTS": "100",
                                  "MLC_QUEUE_RETRY_BASE_MS": "100",
                                  "MLC_QUEUE_RETRY_MAX_S": "1"})
    services.append(svc)
    svc.start()
    svc.set_mode("retry")
    events = [ns_event(record_type="customer", record_id=100000 + i) for i in range(50)]
    r = svc.post_ns({"events": events})
    check(r.status == 202 and r.json()["accepted"] == 50, "50 events -> 202 accepted 50", r)

    wait_until(lambda: svc.metrics().get("mlc_lane_paused", lane="live") == 1,
               "mlc_lane_paused{lane=\"live\"} 1")
    check(True, "the breaker paused the live lane (mlc_lane_paused{lane=\"live\"} 1)")
    wait_until(lambda: svc.metrics().get("mlc_jobs_in_flight") == 0, "in-flight jobs to settle")
    paused = json.loads(svc.redis.cmd("GET", svc.key("q:paused:live")))
    fp = paused.get("fingerprint")
    check(fp and "circuit breaker" in paused.get("reason", ""),
          "the pause names the fingerprint and the reason", paused)

    # While paused, nothing runs and the rest waits in the stream (or the retry set).
    ex1 = sum(svc.executions().values())
    time.sleep(2.0)
    ex2 = sum(svc.executions().values())
    check_eq(ex2, ex1, "no job runs while the lane is paused")
    waiting = svc.stream_stats()[0] + svc.retry_len()
    dead = svc.dlq_len()
    check(dead >= 1 and waiting + dead == 50 and not svc.effects(),
          f"all 50 jobs are accounted for: {dead} dead-lettered, {waiting} waiting",
          (dead, waiting, svc.effects()))
    m = svc.metrics()
    check_eq(m.get("mlc_breaker_alerts_total"), 1.0,
             "exactly one alert (mlc_breaker_alerts_total 1)")
    trips = [x for x in svc.log_records() if x.get("msg") == "circuit breaker tripped: lane paused"]
    check(len(trips) == 1 and trips[0].get("fingerprint") == fp,
          "one 'circuit breaker tripped' error line naming the fingerprint", trips)
    entries = dlq_list(svc)
    check(all(x["fingerprint"] == fp for x in entries), "every DLQ entry has that fingerprint",
          [x["fingerprint"] for x in entries])

    # The fix, then one command.
    svc.set_mode("ok")
    rc, out, err = svc.cli("dlq", "replay", "--fingerprint", fp)
    check(rc == 0 and json.loads(out)["replayed"] == dead,
          f"`dlq replay --fingerprint {fp}` replays the {dead} dead-lettered job(s)", (out, err))
    wait_until(lambda: len(svc.effects()) == 50, "all 50 jobs to record their effect", timeout=60)
    check(True, "all 50 effects recorded")
    wait_until(lambda: svc.idle(), "the queue to drain")
    check(True, "stream, pending and retry set empty")
    check_eq(svc.dlq_len(), 0, "the DLQ is empty")
    m = svc.metrics()
    check(m.get("mlc_lane_paused", lane="live") == 0, "the lane is resumed (mlc_lane_paused 0)")
    check_eq(m.get("mlc_breaker_alerts_total"), 1.0, "still exactly one alert")
    rc, out, _ = svc.cli("dlq", "replay", "--fingerprint", fp)
    check(rc == 0 and json.loads(out)["replayed"] == 0, "a second replay finds nothing", out)


def test_max_deliveries():
    """a job whose worker keeps crashing is dead-lettered after MLC_QUEUE_MAX_DELIVERIES"""
    svc = Service("poison", env={"MLC_QUEUE_MAX_DELIVERIES": "2",
                                 "MLC_QUEUE_VISIBILITY_TIMEOUT_S": "1"})
    services.append(svc)
    svc.start()
    # Each delivery dies with the process (kill -9) before it reaches an outcome.
    svc.set_mode("sleep:30000")
    ev = ns_event()
    check(svc.post_ns(ev).status == 202, "event -> 202")
    for n in (1, 2):
        wait_until(lambda: svc.executions().get(ev["eventId"]) == n, f"delivery {n} to start")
        svc.kill9()
        check(True, f"process killed during delivery {n}")
        svc.start()
    wait_until(lambda: svc.dlq_len() == 1, "the job to be dead-lettered")
    e = dlq_list(svc)[0]
    check("without an outcome" in e["reason"] and "2 times" in e["reason"],
          "reason: delivered MLC_QUEUE_MAX_DELIVERIES=2 times without an outcome", e["reason"])
    check_eq(svc.executions().get(ev["eventId"]), 2, "the handler saw exactly 2 deliveries")
    svc.set_mode("ok")
    check(svc.idle(), "the stream is empty and nothing is pending afterwards")


def test_long_job_not_reclaimed():
    """a live job running longer than the visibility timeout is not run twice (heartbeat)"""
    svc = Service("longjob", env={"MLC_QUEUE_VISIBILITY_TIMEOUT_S": "1", "MLC_WORKERS": "4"})
    services.append(svc)
    svc.start()
    svc.set_mode("sleep:4000")
    ev = ns_event()
    check(svc.post_ns(ev).status == 202, "event -> 202")
    wait_until(lambda: svc.effects().get(ev["eventId"]) and svc.idle(), "the slow job to finish")
    check_eq(svc.executions().get(ev["eventId"]), 1,
             "a 4 s job with a 1 s visibility timeout ran once: its worker kept it claimed")


def test_no_handler():
    """the shipped binary (no handlers) dead-letters a job with reason 'no handler'"""
    svc = Service("shipped", binary=MLC_BIN)
    services.append(svc)
    svc.start()
    listening = [x for x in svc.log_records() if x.get("msg") == "listening"]
    check(listening and listening[0].get("handlers") == 0, "the shipped binary has no handlers",
          listening)
    ev = ns_event()
    check(svc.post_ns(ev).status == 202, "event -> 202")
    wait_until(lambda: svc.dlq_len() == 1, "the job to be dead-lettered")
    e = dlq_list(svc)[0]
    check("no handler" in e["reason"] and e["job"]["data"]["eventId"] == ev["eventId"],
          "its reason contains 'no handler'", e["reason"])
    wait_until(lambda: svc.idle(), "the stream to be empty")
    check(True, "the entry left the stream (acked with its dead-letter)")
    rc, out, _ = svc.cli("version")
    check(rc == 0 and out.startswith("ml-connector "), "`ml-connector version` prints it", out)


def test_ingest_only_replica():
    """MLC_WORKERS=0: webhooks are accepted into Redis and no job runs; a replica with workers
    on the same prefix runs them"""
    svc = Service("ingestonly", env={"MLC_WORKERS": "0"})
    services.append(svc)
    svc.start()
    check(svc.get("/readyz").status == 200, "an ingest-only replica is ready")
    evs = [ns_event() for _ in range(3)]
    check(svc.post_ns({"events": evs}).status == 202, "3 events -> 202")
    time.sleep(1.5)
    check_eq(svc.stream_stats()[0], 3, "the 3 entries wait in the stream")
    check(not svc.executions() and not svc.pending(), "no job was run or even read")
    check(svc.stop() == 0, "SIGTERM -> exit 0")
    svc.env["MLC_WORKERS"] = "2"
    svc.start()
    wait_until(lambda: all(svc.effects().get(e["eventId"]) for e in evs) and svc.idle(),
               "a replica with workers to run the 3 jobs")
    check(all(svc.executions().get(e["eventId"]) == 1 for e in evs), "each ran exactly once")


def test_logs():
    """clean logs"""
    for svc in services:
        check(svc.stop() == 0, f"{svc.name}: SIGTERM -> exit 0")
        check_logs_clean(svc, [svc.ns_secret, svc.dv_key])


if __name__ == "__main__":
    run(test_retry_backoff_dlq, test_breaker, test_max_deliveries, test_long_job_not_reclaimed,
        test_no_handler, test_ingest_only_replica, test_logs)
