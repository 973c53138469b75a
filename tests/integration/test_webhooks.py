"""Both webhook endpoints end to end: valid events reach the stream, run and are acked; every
error status answers problem+json and enqueues nothing; dedupe, batches, coalescing, probes,
/metrics families, and no secret or query string in the log."""
import json

from mlctest import (DV_ORG, NS_ACCOUNT, Service, check, check_eq, check_logs_clean,
                     check_problem, dv_context, expect_rejected, guid, ns_event, run,
                     wait_until)

svc = None


def setup():
    """start the test build with secret + webhookkey auth, small body limits"""
    global svc
    svc = Service("webhooks", env={"MLC_NETSUITE_MAX_BODY_BYTES": "32768",
                                   "MLC_DATAVERSE_MAX_BODY_BYTES": "65536"})
    svc.start()
    check(svc.get("/healthz").status == 200, "GET /healthz -> 200")
    wait_until(lambda: svc.get("/readyz").status == 200, "GET /readyz -> 200")
    check(True, "GET /readyz -> 200")
    rc, _, err = svc.cli("healthcheck")
    check(rc == 0, "`ml-connector healthcheck` against the running service exits 0", err)
    r = svc.request("HEAD", "/healthz")
    check(r.status == 200, "HEAD /healthz -> 200", r)


def processed(job_key):
    """The job ran, its effect is recorded, and the stream holds nothing for it any more."""
    return (svc.effects().get(job_key) and svc.stream_stats()[0] == 0 and not svc.pending())


def test_netsuite_valid():
    """NetSuite: valid event -> 202 -> stream entry -> handler ran -> acked"""
    # Hold the handler inside the job so the entry is observable in the stream before the ack.
    svc.set_mode("sleep:3000")
    ev = ns_event(record_type="customer", record_id=4711, event_type="edit")
    _, added0 = svc.stream_stats()
    r = svc.post_ns(ev)
    check(r.status == 202, "POST /v1/webhooks/netsuite valid event -> 202", r)
    check_eq(r.json(), {"accepted": 1, "duplicates": 0, "ignored": 0}, "202 body counts")
    check_eq(svc.stream_stats()[1], added0 + 1, "exactly one entry added to <prefix>q:live")
    entries = svc.redis.cmd("XRANGE", svc.key("q:live"), "-", "+")
    mine = [e for e in entries if ev["eventId"] in json.dumps(e)]
    check(len(mine) == 1, "the entry is in the stream (before the ack)", entries)
    env = json.loads(dict(zip(mine[0][1][0::2], mine[0][1][1::2]))["j"])
    check(env["kind"] == "customer" and env["data"]["recordId"] == "4711"
          and env["data"]["eventId"] == ev["eventId"] and env["data"]["op"] == "change",
          "the stored job names kind, record and event", env)
    wait_until(lambda: svc.executions().get(ev["eventId"]), "the handler to start")
    check(True, "the test handler ran the job")
    svc.set_mode("ok")
    wait_until(lambda: processed(ev["eventId"]), "the job to finish and be acked")
    check(True, "effect recorded, stream empty and nothing pending (acked)")
    check_eq(svc.executions()[ev["eventId"]], 1, "executed exactly once")
    check_eq(svc.hgetall("test:entry").get(mine[0][0]), ev["eventId"],
             "the executed entry is the one the webhook added")

    # A delete event is enqueued as a deletion.
    svc.set_mode("sleep:3000")
    ev = ns_event(record_type="contact", event_type="delete")
    r = svc.post_ns(ev)
    check(r.status == 202, "delete event -> 202", r)
    entries = svc.redis.cmd("XRANGE", svc.key("q:live"), "-", "+")
    mine = [json.loads(e[1][1]) for e in entries if ev["eventId"] in json.dumps(e)]
    check(len(mine) == 1 and mine[0]["data"]["op"] == "delete" and mine[0]["kind"] == "contact",
          "eventType delete is stored as op=delete", mine)
    svc.set_mode("ok")
    wait_until(lambda: processed(ev["eventId"]), "the delete job to finish")
    check(True, "delete job ran and was acked")

    # Record types the connector does not sync are counted as ignored, never enqueued.
    _, added0 = svc.stream_stats()
    r = svc.post_ns(ns_event(record_type="invoice"))
    check(r.status == 202 and r.json() == {"accepted": 0, "duplicates": 0, "ignored": 1},
          "recordType invoice -> 202 ignored", r)
    check_eq(svc.stream_stats()[1], added0, "the ignored event added nothing to the stream")


def test_dataverse_valid():
    """Dataverse: valid context -> 202 -> stream entry -> handler ran -> acked"""
    svc.set_mode("sleep:3000")
    ctx = dv_context("Update", "account")
    _, added0 = svc.stream_stats()
    r = svc.post_dv(ctx)
    check(r.status == 202, "POST /v1/webhooks/dataverse?code=<key> Update account -> 202", r)
    check_eq(r.json(), {"accepted": 1, "duplicates": 0, "ignored": 0}, "202 body counts")
    check_eq(svc.stream_stats()[1], added0 + 1, "exactly one entry added")
    entries = svc.redis.cmd("XRANGE", svc.key("q:live"), "-", "+")
    mine = [json.loads(e[1][1]) for e in entries if ctx["OperationId"] in json.dumps(e)]
    check(len(mine) == 1, "the entry is in the stream (before the ack)", entries)
    d = mine[0]["data"]
    check(mine[0]["kind"] == "dataverse" and d["message"] == "Update"
          and d["entity"] == "account" and d["entityId"] == ctx["PrimaryEntityId"]
          and d["operationId"] == ctx["OperationId"] and d["organizationId"] == DV_ORG
          and d["correlationId"] == ctx["CorrelationId"] and d["depth"] == 1
          and d["userId"] == ctx["UserId"] and d["initiatingUserId"] == ctx["InitiatingUserId"],
          "the stored job carries message, entity, ids and depth", d)
    svc.set_mode("ok")
    wait_until(lambda: processed(ctx["OperationId"]), "the Dataverse job to finish")
    check(True, "handler ran, effect recorded, acked (stream empty, nothing pending)")

    # Every relevant message on every synced table is enqueued.
    for msg, ent in (("Create", "contact"), ("Delete", "salesorder"),
                     ("SetStateDynamicEntity", "salesorderdetail"), ("Merge", "account"),
                     ("Assign", "contact"), ("SetState", "account")):
        r = svc.post_dv(dv_context(msg, ent))
        check(r.status == 202 and r.json()["accepted"] == 1, f"{msg} {ent} -> 202 accepted", r)

    # A context Dataverse stripped for size still names the row: enqueued, marked stripped.
    svc.set_mode("sleep:3000")
    big = dv_context("Update", "contact")
    big.pop("InputParameters")
    r = svc.post_dv(big, headers={"x-ms-dynamics-msg-size-exceeded": "true"})
    check(r.status == 202, "stripped context (x-ms-dynamics-msg-size-exceeded) -> 202", r)
    entries = svc.redis.cmd("XRANGE", svc.key("q:live"), "-", "+")
    mine = [json.loads(e[1][1]) for e in entries if big["OperationId"] in json.dumps(e)]
    check(len(mine) == 1 and mine[0]["data"]["stripped"] is True
          and mine[0]["data"]["entityId"] == big["PrimaryEntityId"],
          "the job is marked stripped and names the row", mine)
    svc.set_mode("ok")

    # Irrelevant message or table: 200, ignored, nothing enqueued.
    for msg, ent in (("Retrieve", "account"), ("Update", "lead"), ("Associate", "contact")):
        _, added0 = svc.stream_stats()
        r = svc.post_dv(dv_context(msg, ent))
        check(r.status == 200 and r.json() == {"accepted": 0, "duplicates": 0, "ignored": 1},
              f"{msg} {ent} -> 200 ignored", r)
        check_eq(svc.stream_stats()[1], added0, f"{msg} {ent}: nothing enqueued")
    wait_until(lambda: svc.idle(), "all Dataverse jobs to drain")
    check(True, "all Dataverse jobs drained")


def test_netsuite_errors():
    """NetSuite: each error status is problem+json with a code, and nothing is enqueued"""
    ev = ns_event()
    url = "/v1/webhooks/netsuite"
    expect_rejected(svc, "malformed JSON", 400, "invalid_json",
                    lambda: svc.post_ns(None, raw='{"eventId": "x",'))
    expect_rejected(svc, "JSON array body", 400, "invalid_field",
                    lambda: svc.post_ns(None, raw='[1,2]'))
    for field, value in (("recordId", "12ab"), ("recordId", -5), ("eventType", "Edit"),
                         ("eventType", "x" * 33), ("eventId", ""), ("eventId", "e" * 129),
                         ("occurredAt", "yesterday"), ("accountId", "12 34"),
                         ("recordType", 7)):
        bad = dict(ev, **{field: value})
        expect_rejected(svc, f"{field}={json.dumps(value)[:20]}", 400, "invalid_field",
                        lambda: svc.post_ns(bad), field=field)
    missing = {k: v for k, v in ev.items() if k != "occurredAt"}
    expect_rejected(svc, "occurredAt missing", 400, "invalid_field",
                    lambda: svc.post_ns(missing), field="occurredAt")
    expect_rejected(svc, "duplicate JSON keys", 400, "invalid_json",
                    lambda: svc.post_ns(None, raw='{"eventId":"a","eventId":"b"}'))
    expect_rejected(svc, "events: [] (empty batch)", 400, "invalid_field",
                    lambda: svc.post_ns({"events": []}), field="events")
    expect_rejected(svc, "101 events in one batch", 400, "invalid_field",
                    lambda: svc.post_ns({"events": [ns_event() for _ in range(101)]}),
                    field="events")

    expect_rejected(svc, "no X-MLC-Webhook-Secret", 401, "unauthorized",
                    lambda: svc.post_ns(ev, secret=False))
    expect_rejected(svc, "wrong X-MLC-Webhook-Secret", 401, "unauthorized",
                    lambda: svc.post_ns(ev, secret="not-" + svc.ns_secret))
    expect_rejected(svc, "secret prefix only", 401, "unauthorized",
                    lambda: svc.post_ns(ev, secret=svc.ns_secret[:-1]))

    expect_rejected(svc, "accountId of another NetSuite account", 403, "wrong_account",
                    lambda: svc.post_ns(ns_event(account="7654321")), field="accountId")
    expect_rejected(svc, "accountId of the account's sandbox (1234567_SB1)", 403,
                    "wrong_account", lambda: svc.post_ns(ns_event(account=NS_ACCOUNT + "_SB1")))
    # The same account in its host-name spelling is accepted.
    r = svc.post_ns(ns_event(account=NS_ACCOUNT.lower()))
    check(r.status == 202, "accountId in another spelling of the same account -> 202", r)

    for m in ("GET", "PUT", "DELETE"):
        resp, _ = expect_rejected(svc, f"{m} {url}", 405, "method_not_allowed",
                                  lambda: svc.request(m, url, b"", {}))
        check_eq(resp.header("allow"), "POST", f"{m}: Allow header names POST")

    big = json.dumps(dict(ev, pad="x" * 40000))
    expect_rejected(svc, "body over MLC_NETSUITE_MAX_BODY_BYTES (Content-Length)", 413,
                    "payload_too_large", lambda: svc.post_ns(None, raw=big))
    expect_rejected(svc, "body over the limit sent chunked (no Content-Length)", 413,
                    "payload_too_large", lambda: svc.post_ns(None, raw=big, chunked=True))
    for ct in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx", None):
        hdrs = {"X-MLC-Webhook-Secret": svc.ns_secret}
        if ct:
            hdrs["Content-Type"] = ct
        expect_rejected(svc, f"Content-Type {ct}", 415, "unsupported_media_type",
                        lambda: svc.request("POST", url, json.dumps(ev), hdrs))
    r = svc.post_ns(ns_event(), headers={"Content-Type": "application/json; charset=utf-8"})
    check(r.status == 202, "Content-Type application/json; charset=utf-8 -> 202", r)

    resp = svc.get("/v1/nothing-here")
    check_problem(resp, 404, "not_found", "GET unknown path")
    wait_until(lambda: svc.idle(), "the accepted jobs to drain")


def test_dataverse_errors():
    """Dataverse: 401 (webhookkey), 403 other organization, 400, 405, 413, 415"""
    url = "/v1/webhooks/dataverse"
    ctx = dv_context()
    expect_rejected(svc, "no code query parameter", 401, "unauthorized",
                    lambda: svc.post_dv(ctx, code=False))
    expect_rejected(svc, "wrong code", 401, "unauthorized",
                    lambda: svc.post_dv(ctx, code="x" + svc.dv_key))
    expect_rejected(svc, "empty code", 401, "unauthorized", lambda: svc.post_dv(ctx, code=""))
    expect_rejected(svc, "key sent in a header instead of the query", 401, "unauthorized",
                    lambda: svc.post_dv(ctx, code=False, headers={"x-functions-key": svc.dv_key}))
    expect_rejected(svc, "OrganizationId of another organization", 403, "wrong_organization",
                    lambda: svc.post_dv(dv_context(organization_id=guid())))
    expect_rejected(svc, "malformed JSON", 400, "invalid_json",
                    lambda: svc.post_dv(None, raw="{\"MessageName\":"))
    for field in ("PrimaryEntityId", "OrganizationId", "MessageName", "PrimaryEntityName"):
        bad = {k: v for k, v in ctx.items() if k != field}
        expect_rejected(svc, f"{field} missing", 400, "invalid_field",
                        lambda: svc.post_dv(bad), field=field)
    for field, value in (("OperationId", "not-a-guid"), ("Depth", -1),
                         ("InputParameters", "x")):
        bad = dict(ctx, **{field: value})
        expect_rejected(svc, f"{field}={value!r}", 400, "invalid_field",
                        lambda: svc.post_dv(bad), field=field)
    for m in ("GET", "PATCH"):
        resp, _ = expect_rejected(svc, f"{m} {url}", 405, "method_not_allowed",
                                  lambda: svc.request(m, url + "?code=" + svc.dv_key, b"", {}))
        check_eq(resp.header("allow"), "POST", f"{m}: Allow header names POST")
    big = dict(ctx, Padding="y" * 70000)
    expect_rejected(svc, "body over MLC_DATAVERSE_MAX_BODY_BYTES", 413, "payload_too_large",
                    lambda: svc.post_dv(big))
    expect_rejected(svc, "Content-Type text/plain", 415, "unsupported_media_type",
                    lambda: svc.post_dv(ctx, headers={"Content-Type": "text/plain"}))


def test_dedupe_and_batches():
    """same eventId twice -> one job; a batch with one bad event -> nothing enqueued"""
    # The same NetSuite delivery twice.
    ev = ns_event()
    _, added0 = svc.stream_stats()
    r1 = svc.post_ns(ev)
    r2 = svc.post_ns(ev)
    check(r1.status == 202 and r1.json()["accepted"] == 1, "first delivery -> accepted", r1)
    check(r2.status == 202 and r2.json() == {"accepted": 0, "duplicates": 1, "ignored": 0},
          "second delivery of the same eventId -> 202 duplicate", r2)
    check_eq(svc.stream_stats()[1], added0 + 1, "one stream entry for two deliveries")
    wait_until(lambda: processed(ev["eventId"]), "the job to finish")
    wait_until(lambda: svc.idle(), "the queue to drain")
    check_eq(svc.executions().get(ev["eventId"]), 1, "the handler ran the event once")
    r3 = svc.post_ns(ev)
    check(r3.status == 202 and r3.json()["duplicates"] == 1,
          "a redelivery after processing is still a duplicate (MLC_DEDUPE_TTL_S)", r3)

    # The same eventId inside one batch and across batches.
    a, b = ns_event(), ns_event()
    r = svc.post_ns({"events": [a, b, a]})
    check(r.status == 202 and r.json() == {"accepted": 2, "duplicates": 1, "ignored": 0},
          "batch [a, b, a] -> 2 accepted, 1 duplicate", r)

    # The largest batch.
    batch = [ns_event(record_type="contact") for _ in range(100)]
    r = svc.post_ns({"events": batch})
    check(r.status == 202 and r.json() == {"accepted": 100, "duplicates": 0, "ignored": 0},
          "a batch of 100 events -> 202 accepted 100", r)
    wait_until(lambda: all(svc.effects().get(e["eventId"]) for e in batch),
               "the 100 batch jobs to run")
    check(True, "all 100 batch jobs ran")

    # The same Dataverse operation twice.
    ctx = dv_context()
    _, added0 = svc.stream_stats()
    r1, r2 = svc.post_dv(ctx), svc.post_dv(ctx)
    check(r1.status == 202 and r2.status == 202 and r2.json()["duplicates"] == 1,
          "the same Dataverse OperationId twice -> second is a duplicate", (r1, r2))
    check_eq(svc.stream_stats()[1], added0 + 1, "one stream entry for the Dataverse retry")

    # A batch with one bad event is rejected whole.
    good = [ns_event() for _ in range(5)]
    bad = dict(ns_event(), recordId="abc")
    expect_rejected(svc, "batch of 6 with events[3] broken", 400, "invalid_field",
                    lambda: svc.post_ns({"events": good[:3] + [bad] + good[3:]}),
                    field="events[3].recordId")
    expect_rejected(svc, "batch with an event of another account", 403, "wrong_account",
                    lambda: svc.post_ns({"events": good[:2] + [ns_event(account="999")]}),
                    field="events[2].accountId")
    # Nothing of the rejected batch was remembered: the good events are new deliveries now.
    r = svc.post_ns({"events": good})
    check(r.status == 202 and r.json() == {"accepted": 5, "duplicates": 0, "ignored": 0},
          "the good events of the rejected batch are accepted afterwards (no dedupe key left)", r)
    wait_until(lambda: all(svc.effects().get(e["eventId"]) for e in good + [a, b]),
               "every accepted batch event to run")
    wait_until(lambda: svc.idle(), "the queue to drain")
    ex = svc.executions()
    check(all(ex.get(e["eventId"]) == 1 for e in good + [a, b]),
          "each accepted batch event ran exactly once")

    # Waiting jobs for the same record are coalesced (atomically, within one request).
    svc.set_mode("ok")
    rid = 900000 + (hash(svc.prefix) % 1000)
    c1 = ns_event(record_type="salesorder", record_id=rid)
    c2 = ns_event(record_type="salesorder", record_id=rid, event_type="approve")
    _, added0 = svc.stream_stats()
    r = svc.post_ns({"events": [c1, c2]})
    check(r.status == 202 and r.json() == {"accepted": 2, "duplicates": 0, "ignored": 0},
          "two events for one waiting record -> both accepted", r)
    check_eq(svc.stream_stats()[1], added0 + 1, "coalesced into one waiting job")
    wait_until(lambda: svc.effects().get(c1["eventId"]), "the coalesced job to run")
    wait_until(lambda: svc.idle(), "the queue to drain")
    check(c2["eventId"] not in svc.executions(), "the coalesced event did not run separately")
    # Once the job has started, a later change of the record needs (and gets) a new job.
    c3 = ns_event(record_type="salesorder", record_id=rid)
    r = svc.post_ns(c3)
    check(r.status == 202, "a later event for the record -> 202", r)
    wait_until(lambda: svc.effects().get(c3["eventId"]), "the later event to run as its own job")
    check(True, "a later event for a processed record runs as a new job")
    wait_until(lambda: svc.idle(), "the queue to drain")


def test_concurrent_requests():
    """concurrent requests share Redis round trips, yet each gets its own exact outcome"""
    import threading
    svc.set_mode("ok")
    wait_until(lambda: svc.idle(), "the queue to drain")
    # 16 senders, 12 requests each of 5 events; every event is also sent by a second sender at
    # the same time, so duplicates race with their originals across requests.
    shared = [[ns_event(record_type="contact") for _ in range(5)] for _ in range(96)]
    plan = [[] for _ in range(16)]
    for i, batch in enumerate(shared):
        plan[i % 16].append(batch)
        plan[(i + 1) % 16].append(batch)
    results, errors = [], []

    def sender(batches):
        for b in batches:
            try:
                r = svc.post_ns({"events": b})
                results.append((r.status, r.json()))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

    _, added0 = svc.stream_stats()
    threads = [threading.Thread(target=sender, args=(p,)) for p in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "no request failed", errors[:3])
    check(all(st == 202 for st, _ in results) and len(results) == 192,
          "192 concurrent requests -> 202 each", [r for r in results if r[0] != 202][:3])
    check(all(b["accepted"] + b["duplicates"] == 5 for _, b in results),
          "each answer counts its own 5 events", results[:3])
    check_eq(sum(b["accepted"] for _, b in results), 480,
             "each of the 480 events accepted exactly once across all answers")
    check_eq(sum(b["duplicates"] for _, b in results), 480, "each second delivery a duplicate")
    check_eq(svc.stream_stats()[1], added0 + 480, "480 stream entries added")
    events = [e["eventId"] for b in shared for e in b]
    wait_until(lambda: all(svc.effects().get(e) for e in events), "the 480 jobs to run")
    wait_until(lambda: svc.idle(), "the queue to drain")
    ex = svc.executions()
    check(all(ex.get(e) == 1 for e in events), "each event ran exactly once")

    # Full batches at once: several requests of 100 events share one script call of up to
    # 512 jobs.
    big = [[ns_event(record_type="contact") for _ in range(100)] for _ in range(12)]
    results.clear()
    errors.clear()
    threads = [threading.Thread(target=sender, args=([b],)) for b in big]
    _, added0 = svc.stream_stats()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors and sorted(st for st, _ in results) == [202] * 12 and
          all(b == {"accepted": 100, "duplicates": 0, "ignored": 0} for _, b in results),
          "12 concurrent batches of 100 events -> 202, 100 accepted each", (errors, results[:3]))
    check_eq(svc.stream_stats()[1], added0 + 1200, "1,200 stream entries added")
    wait_until(lambda: svc.idle(), "the queue to drain")


def test_metrics():
    """/metrics exposes every family"""
    m = svc.metrics()
    want = [
        ("mlc_webhook_events_total", dict(source="netsuite", outcome="accepted")),
        ("mlc_webhook_events_total", dict(source="netsuite", outcome="duplicate")),
        ("mlc_webhook_events_total", dict(source="netsuite", outcome="ignored")),
        ("mlc_webhook_events_total", dict(source="dataverse", outcome="accepted")),
        ("mlc_webhook_events_total", dict(source="dataverse", outcome="ignored")),
        ("mlc_webhook_events_total", dict(source="dataverse", outcome="duplicate")),
        ("mlc_webhook_rejected_total", dict(source="netsuite", code="unauthorized")),
        ("mlc_webhook_rejected_total", dict(source="dataverse", code="wrong_organization")),
        ("mlc_queue_depth", dict(stream="live")),
        ("mlc_queue_depth", dict(stream="bulk")),
        ("mlc_queue_depth", dict(stream="retry")),
        ("mlc_dlq_depth", {}),
        ("mlc_lane_paused", dict(lane="live")),
        ("mlc_lane_paused", dict(lane="bulk")),
        ("mlc_breaker_alerts_total", {}),
        ("mlc_jobs_total", dict(kind="customer", outcome="done")),
        ("mlc_jobs_total", dict(kind="dataverse", outcome="done")),
        ("mlc_job_duration_seconds_bucket", dict(kind="customer", le="+Inf")),
        ("mlc_job_duration_seconds_count", dict(kind="customer")),
        ("mlc_job_duration_seconds_sum", dict(kind="customer")),
        ("mlc_http_request_duration_seconds_bucket", dict(route="webhook_netsuite", le="0.005")),
        ("mlc_http_requests_total", dict(route="webhook_netsuite", status="202")),
        ("mlc_http_requests_total", dict(route="webhook_dataverse", status="401")),
        ("mlc_build_info", {}),
        ("mlc_jobs_in_flight", {}),
        ("mlc_redis_up", {}),
    ]
    for name, labels in want:
        check(m.has(name, **labels), f"/metrics has {name}{labels or ''}")
    check(m.get("mlc_webhook_events_total", source="netsuite", outcome="accepted") >= 10,
          "netsuite accepted counter counts the accepted events",
          m.get("mlc_webhook_events_total", source="netsuite", outcome="accepted"))
    check(m.get("mlc_queue_depth", stream="live") == 0 and m.get("mlc_dlq_depth") == 0
          and m.get("mlc_lane_paused", lane="live") == 0 and m.get("mlc_redis_up") == 1,
          "idle gauges: live depth 0, DLQ 0, lane not paused, redis up")
    bi = [l for n, l, v in m.samples if n == "mlc_build_info"]
    check(bi and bi[0].get("version") and bi[0].get("revision"),
          "mlc_build_info carries version and revision labels", bi)
    for fam, typ in (("mlc_job_duration_seconds", "histogram"),
                     ("mlc_http_request_duration_seconds", "histogram"),
                     ("mlc_job_retries_total", "counter"), ("mlc_jobs_total", "counter"),
                     ("mlc_queue_depth", "gauge")):
        check_eq(m.types.get(fam), typ, f"# TYPE {fam} {typ}")
    r = svc.get("/metrics")
    check((r.header("content-type") or "").startswith("text/plain"),
          "/metrics is Prometheus text", r.header("content-type"))


def test_logs():
    """no secret and no query string in any log line"""
    # One more request each with the secrets in flight, then stop and read the whole log.
    check(svc.post_dv(dv_context()).status == 202, "one more Dataverse webhook with the key")
    check(svc.post_ns(ns_event()).status == 202, "one more NetSuite webhook with the secret")
    wait_until(lambda: svc.idle(), "the queue to drain")
    rc = svc.stop()
    check_eq(rc, 0, "SIGTERM -> exit 0")
    rc, _, err = svc.cli("healthcheck")
    check(rc == 1, "`ml-connector healthcheck` exits 1 once the service is gone", (rc, err))
    check_logs_clean(svc, [svc.ns_secret, svc.dv_key])
    recs = svc.log_records()
    dv = [r for r in recs if r.get("msg") == "access" and r.get("path") == "/v1/webhooks/dataverse"]
    check(any(r.get("status") == 202 for r in dv),
          "the accepted Dataverse requests are in the access log, without their query")
    check(all(r.get("req") for r in recs if r.get("msg") == "access"),
          "every access line carries a request id")
    start = [r for r in recs if r.get("msg") == "starting"]
    check(start and start[0]["config"]["MLC_NETSUITE_WEBHOOK_SECRETS"] == "***"
          and start[0]["config"]["MLC_DATAVERSE_WEBHOOK_KEYS"] == "***",
          "the effective configuration is logged with secrets as ***")


if __name__ == "__main__":
    run(setup, test_netsuite_valid, test_dataverse_valid, test_netsuite_errors,
        test_dataverse_errors, test_dedupe_and_batches, test_concurrent_requests, test_metrics,
        test_logs)
