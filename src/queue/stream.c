/* Streams: enqueue with dedupe and coalescing, delivery with reclaim, ack, retry, DLQ, breaker. */
#include "internal.h"
#include "mlc/crypto.h"
#include "mlc/log.h"
#include "mlc/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_error(const redisReply *r, const char *prefix)
{
    return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, prefix, strlen(prefix)) == 0;
}

static enum mlc_rc create_group(struct mlc_queue *q, struct mlc_redis *c, enum mlc_lane l)
{
    char key[256];
    stream_key(q, l, key, sizeof key);
    /* "0": after a Redis restart the stream holds only entries nobody has processed. */
    const char *argv[] = {"XGROUP", "CREATE", key, GROUP, "0", "MKSTREAM"};
    redisReply *r = qcmd(c, 6, argv, NULL);
    if (!r)
        return MLC_EUNAVAIL;
    enum mlc_rc rc = MLC_OK;
    if (r->type == REDIS_REPLY_ERROR && !is_error(r, "BUSYGROUP")) {
        mlc_log(MLC_LOG_ERROR, "XGROUP CREATE %s failed: %s", key, r->str);
        rc = MLC_ERR;
    }
    freeReplyObject(r);
    return rc;
}

enum mlc_rc mlc_queue_prepare(struct mlc_queue *q, struct mlc_redis *c, char *err, size_t errsz)
{
    const char *cfgget[] = {"CONFIG", "GET", "maxmemory-policy"};
    redisReply *r = qcmd(c, 3, cfgget, NULL);
    if (!r) {
        snprintf(err, errsz, "Redis connection lost during start-up checks");
        return MLC_EUNAVAIL;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        if (strcmp(r->element[1]->str, "noeviction") != 0) {
            snprintf(err, errsz,
                     "Redis maxmemory-policy is '%s'; ml-connector requires 'noeviction' "
                     "(evicted leases, dedupe keys or stream entries lose data): set "
                     "`maxmemory-policy noeviction` in redis.conf",
                     r->element[1]->str);
            freeReplyObject(r);
            return MLC_ERR;
        }
    } else {
        mlc_log(MLC_LOG_WARN, "cannot read Redis maxmemory-policy (CONFIG disabled?); make sure "
                              "it is noeviction");
    }
    freeReplyObject(r);

    char key[256], ver[16];
    mlc_queue_key(q, key, sizeof key, "schema");
    snprintf(ver, sizeof ver, "%d", MLC_SCHEMA_VERSION);
    const char *get[] = {"GET", key};
    r = qcmd(c, 2, get, NULL);
    if (!r) {
        snprintf(err, errsz, "Redis connection lost during start-up checks");
        return MLC_EUNAVAIL;
    }
    if (r->type == REDIS_REPLY_STRING) {
        uint64_t v;
        if (mlc_parse_u64(r->str, &v) != MLC_OK) {
            snprintf(err, errsz, "Redis key %s holds '%.32s', not a schema version", key, r->str);
            freeReplyObject(r);
            return MLC_ERR;
        }
        if (v > MLC_SCHEMA_VERSION) {
            snprintf(err, errsz,
                     "Redis key schema is version %llu but this binary knows up to %d: run the "
                     "newer ml-connector, or use another MLC_REDIS_KEY_PREFIX",
                     (unsigned long long)v, MLC_SCHEMA_VERSION);
            freeReplyObject(r);
            return MLC_ERR;
        }
        if (v < MLC_SCHEMA_VERSION)
            mlc_log(MLC_LOG_INFO, "migrating Redis key schema %llu -> %d", (unsigned long long)v,
                    MLC_SCHEMA_VERSION);
    }
    freeReplyObject(r);
    const char *set[] = {"SET", key, ver};
    r = qcmd(c, 3, set, NULL);
    if (!r) {
        snprintf(err, errsz, "Redis connection lost during start-up checks");
        return MLC_EUNAVAIL;
    }
    freeReplyObject(r);
    for (int l = 0; l < MLC_LANE__COUNT; l++) {
        enum mlc_rc rc = create_group(q, c, (enum mlc_lane)l);
        if (rc != MLC_OK) {
            snprintf(err, errsz, "cannot create the consumer group on Redis");
            return rc;
        }
    }
    return MLC_OK;
}

/* Group commit (see mlc_queue_enqueue): batches in flight at once, and jobs per script call. */
#define GC_INFLIGHT 2
#define GC_MAX_JOBS 512

static char *make_payload(const struct mlc_job_spec *j, int64_t now)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(j->kind));
    json_object_set_new(o, "lane", json_string(mlc_lane_name(j->lane)));
    if (j->record)
        json_object_set_new(o, "rec", json_string(j->record));
    json_object_set_new(o, "data", j->data ? json_incref(j->data) : json_object());
    json_object_set_new(o, "attempts", json_integer(0));
    json_object_set_new(o, "enq", json_integer(now));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

enum mlc_rc mlc_queue_enqueue_on(struct mlc_queue *q, struct mlc_redis *c,
                                 const struct mlc_job_spec *jobs, size_t n,
                                 enum mlc_enqueue_outcome *outcomes)
{
    if (n == 0)
        return MLC_OK;
    if (n > GC_MAX_JOBS)
        return MLC_EINVAL;
    size_t argc = 4 + 4 * n;
    const char **argv = mlc_calloc(argc, sizeof *argv);
    char **payloads = mlc_calloc(n, sizeof *payloads);
    char ttl[24], maxb[24], cnt[16];
    snprintf(ttl, sizeof ttl, "%d", q->s.dedupe_ttl_s);
    snprintf(maxb, sizeof maxb, "%lld", q->s.max_backlog);
    snprintf(cnt, sizeof cnt, "%zu", n);
    argv[0] = q->prefix;
    argv[1] = ttl;
    argv[2] = maxb;
    argv[3] = cnt;
    int64_t now = mlc_now_ms();
    for (size_t i = 0; i < n; i++) {
        payloads[i] = make_payload(&jobs[i], now);
        argv[4 + 4 * i] = mlc_lane_name(jobs[i].lane);
        argv[5 + 4 * i] = jobs[i].record ? jobs[i].record : "";
        argv[6 + 4 * i] = jobs[i].dedupe ? jobs[i].dedupe : "";
        argv[7 + 4 * i] = payloads[i] ? payloads[i] : "{}";
    }
    redisReply *r = qscript(c, SCRIPT_ENQUEUE, (int)argc, argv, NULL);
    enum mlc_rc rc = MLC_OK;
    if (!r) {
        rc = MLC_EUNAVAIL;
    } else if (r->type == REDIS_REPLY_INTEGER && r->integer == -1) {
        rc = MLC_ENOMEM;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == n) {
        for (size_t i = 0; i < n; i++) {
            long long v = r->element[i]->type == REDIS_REPLY_INTEGER ? r->element[i]->integer : 0;
            outcomes[i] = v == 2 ? MLC_ENQ_DUPLICATE : v == 1 ? MLC_ENQ_COALESCED : MLC_ENQ_ADDED;
        }
    } else {
        mlc_log(MLC_LOG_ERROR, "enqueue refused by Redis: %s",
                r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        rc = MLC_EUNAVAIL; /* e.g. OOM under noeviction: the sender must retry */
    }
    if (r)
        freeReplyObject(r);
    for (size_t i = 0; i < n; i++)
        free(payloads[i]);
    free(payloads);
    free(argv);
    return rc;
}

/* One round trip on a pooled connection, with one reconnect: a pooled connection may have died
 * while idle (Redis restarted). */
static enum mlc_rc enqueue_direct(struct mlc_queue *q, const struct mlc_job_spec *jobs, size_t n,
                                  enum mlc_enqueue_outcome *outcomes)
{
    struct mlc_redis *c = pool_get(q);
    if (!c)
        return MLC_EUNAVAIL;
    enum mlc_rc rc = mlc_queue_enqueue_on(q, c, jobs, n, outcomes);
    if (rc == MLC_EUNAVAIL && c->broken) {
        mlc_redis_free(c);
        c = pool_get(q);
        if (!c)
            return MLC_EUNAVAIL;
        rc = mlc_queue_enqueue_on(q, c, jobs, n, outcomes);
    }
    if (rc == MLC_OK)
        atomic_store(&q->healthy, true);
    pool_put(q, c);
    return rc;
}

/* Group commit. Request threads that enqueue at the same time share one script call: a thread
 * queues its request; while fewer than GC_INFLIGHT batches are in flight, whichever thread finds
 * requests waiting takes them all (up to GC_MAX_JOBS jobs), writes them in one EVALSHA and hands
 * each request its own outcomes. Under no load a request is written at once by its own thread,
 * so latency only drops; under load N requests cost one round trip and one fsync instead of N.
 * Every request still returns only once its jobs are in Redis (or failed), so a 2xx keeps
 * meaning "the event is in Redis". */

struct gc_req {
    const struct mlc_job_spec *jobs;
    size_t n;
    enum mlc_enqueue_outcome *outcomes;
    enum mlc_rc rc;
    bool done;
    struct gc_req *next;
};

/* Writes the requests from head (a detached list) in one call and fills in each one's result. */
static void gc_commit(struct mlc_queue *q, struct gc_req *head)
{
    if (!head->next) {
        head->rc = enqueue_direct(q, head->jobs, head->n, head->outcomes);
        return;
    }
    size_t total = 0;
    for (struct gc_req *r = head; r; r = r->next)
        total += r->n;
    struct mlc_job_spec *jobs = mlc_calloc(total, sizeof *jobs);
    enum mlc_enqueue_outcome *outs = mlc_calloc(total, sizeof *outs);
    size_t off = 0;
    for (struct gc_req *r = head; r; r = r->next) {
        memcpy(jobs + off, r->jobs, r->n * sizeof *jobs);
        off += r->n;
    }
    enum mlc_rc rc = enqueue_direct(q, jobs, total, outs);
    off = 0;
    for (struct gc_req *r = head; r; r = r->next) {
        r->rc = rc;
        if (rc == MLC_OK)
            memcpy(r->outcomes, outs + off, r->n * sizeof *outs);
        off += r->n;
    }
    free(jobs);
    free(outs);
}

enum mlc_rc mlc_queue_enqueue(struct mlc_queue *q, const struct mlc_job_spec *jobs, size_t n,
                              enum mlc_enqueue_outcome *outcomes)
{
    if (n == 0)
        return MLC_OK;
    if (n > MLC_QUEUE_MAX_BATCH)
        return MLC_EINVAL;
    struct gc_req me = {.jobs = jobs, .n = n, .outcomes = outcomes, .rc = MLC_ERR};
    pthread_mutex_lock(&q->gc_mu);
    if (q->gc_tail)
        q->gc_tail->next = &me;
    else
        q->gc_head = &me;
    q->gc_tail = &me;
    while (!me.done) {
        if (q->gc_head && q->gc_inflight < GC_INFLIGHT) {
            /* Take whole requests from the front, up to the batch cap (at least one). */
            struct gc_req *head = q->gc_head, *last = head;
            size_t total = head->n;
            while (last->next && total + last->next->n <= GC_MAX_JOBS) {
                last = last->next;
                total += last->n;
            }
            q->gc_head = last->next;
            if (!q->gc_head)
                q->gc_tail = NULL;
            last->next = NULL;
            q->gc_inflight++;
            pthread_mutex_unlock(&q->gc_mu);
            gc_commit(q, head);
            pthread_mutex_lock(&q->gc_mu);
            q->gc_inflight--;
            for (struct gc_req *r = head, *next; r; r = next) {
                next = r->next; /* r lives on its owner's stack: read before it may go */
                r->done = true;
            }
            pthread_cond_broadcast(&q->gc_cv);
        } else {
            pthread_cond_wait(&q->gc_cv, &q->gc_mu);
        }
    }
    pthread_mutex_unlock(&q->gc_mu);
    return me.rc;
}

void mlc_job_free(struct mlc_job *j)
{
    if (!j)
        return;
    json_decref(j->envelope);
    free(j);
}

/* Parses one [id, [field, value, ...]] stream entry into a job; NULL on a malformed entry. */
static struct mlc_job *entry_to_job(const redisReply *e, enum mlc_lane lane, char *bad_id,
                                    size_t bad_idsz)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return NULL;
    snprintf(bad_id, bad_idsz, "%s", e->element[0]->str);
    const redisReply *f = e->element[1];
    if (f->type != REDIS_REPLY_ARRAY)
        return NULL;
    const char *payload = NULL;
    size_t plen = 0;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        if (f->element[i]->type == REDIS_REPLY_STRING && strcmp(f->element[i]->str, "j") == 0 &&
            f->element[i + 1]->type == REDIS_REPLY_STRING) {
            payload = f->element[i + 1]->str;
            plen = f->element[i + 1]->len;
        }
    }
    if (!payload)
        return NULL;
    json_t *env = json_loadb(payload, plen, 0, NULL);
    const char *kind = json_string_value(json_object_get(env, "kind"));
    if (!env || !json_is_object(env) || !kind || strlen(kind) >= 48) {
        json_decref(env);
        return NULL;
    }
    struct mlc_job *j = mlc_calloc(1, sizeof *j);
    snprintf(j->entry_id, sizeof j->entry_id, "%s", e->element[0]->str);
    snprintf(j->kind, sizeof j->kind, "%s", kind);
    j->lane = lane;
    j->envelope = env;
    j->data = json_object_get(env, "data");
    if (!json_is_object(j->data)) {
        json_object_set_new(env, "data", json_object());
        j->data = json_object_get(env, "data");
    }
    j->attempts = (int)json_integer_value(json_object_get(env, "attempts"));
    j->enqueued_ms = json_integer_value(json_object_get(env, "enq"));
    return j;
}

static void dead_raw(struct mlc_queue *q, struct mlc_redis *c, enum mlc_lane lane, const char *id,
                     const char *payload, const char *reason, const char *fp, const char *kind)
{
    char cap[24], at[24];
    snprintf(cap, sizeof cap, "%lld", q->s.dlq_max_entries);
    snprintf(at, sizeof at, "%lld", (long long)mlc_now_ms());
    const char *argv[] = {q->prefix, mlc_lane_name(lane), id, cap, payload, reason, fp, kind, at};
    redisReply *r = qscript(c, SCRIPT_DEAD, 9, argv, NULL);
    if (r)
        freeReplyObject(r);
    if (q->metrics) {
        char labels[96];
        snprintf(labels, sizeof labels, "lane=\"%s\"", mlc_lane_name(lane));
        mlc_metrics_add(q->metrics, "mlc_dlq_added_total", labels, 1);
    }
    mlc_log_kv(MLC_LOG_WARN, "job dead-lettered",
               json_pack("{s:s, s:s, s:s, s:s}", "entry", id, "kind", kind, "reason", reason,
                         "fingerprint", fp));
}

/* Turns a delivered entry into a job, counting the delivery; dead-letters what can't run. */
static enum mlc_rc take_entry(struct mlc_queue *q, struct mlc_redis *c, const redisReply *e,
                              enum mlc_lane lane, struct mlc_job **out)
{
    char id[48] = "";
    struct mlc_job *j = entry_to_job(e, lane, id, sizeof id);
    if (!j) {
        if (*id) {
            char fp[17];
            mlc_fingerprint("queue", "unreadable entry", fp);
            dead_raw(q, c, lane, id, "{}", "unreadable queue entry", fp, "unknown");
        }
        return c->broken ? MLC_EUNAVAIL : MLC_OK;
    }
    const char *rec = json_string_value(json_object_get(j->envelope, "rec"));
    const char *argv[] = {q->prefix, mlc_lane_name(lane), j->entry_id, rec ? rec : ""};
    redisReply *r = qscript(c, SCRIPT_START, 4, argv, NULL);
    if (!r) {
        mlc_job_free(j);
        return MLC_EUNAVAIL;
    }
    j->deliveries = r->type == REDIS_REPLY_INTEGER ? (int)r->integer : 1;
    freeReplyObject(r);
    if (j->deliveries > q->s.max_deliveries) {
        char reason[160], fp[17];
        snprintf(reason, sizeof reason,
                 "delivered %d times without an outcome (worker crashed or exceeded the "
                 "visibility timeout)",
                 j->deliveries - 1);
        mlc_fingerprint(j->kind, "max deliveries", fp);
        char *payload = json_dumps(j->envelope, JSON_COMPACT);
        dead_raw(q, c, lane, j->entry_id, payload ? payload : "{}", reason, fp, j->kind);
        free(payload);
        mlc_job_free(j);
        return c->broken ? MLC_EUNAVAIL : MLC_OK;
    }
    *out = j;
    return MLC_OK;
}

static enum mlc_rc reclaim(struct mlc_queue *q, struct mlc_redis *c, const char *consumer,
                           enum mlc_lane lane, struct mlc_job **out)
{
    char key[256], idle[24];
    stream_key(q, lane, key, sizeof key);
    snprintf(idle, sizeof idle, "%lld", (long long)q->s.visibility_timeout_s * 1000);
    const char *argv[] = {"XAUTOCLAIM", key, GROUP, consumer, idle, "0-0", "COUNT", "1"};
    redisReply *r = qcmd(c, 8, argv, NULL);
    if (!r)
        return MLC_EUNAVAIL;
    enum mlc_rc rc = MLC_OK;
    if (is_error(r, "NOGROUP")) {
        mlc_log(MLC_LOG_WARN, "consumer group missing on %s (Redis restarted?): recreating", key);
        rc = create_group(q, c, lane);
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
               r->element[1]->type == REDIS_REPLY_ARRAY) {
        const redisReply *entries = r->element[1];
        for (size_t i = 0; i < entries->elements && !*out && rc == MLC_OK; i++) {
            if (entries->element[i]->type != REDIS_REPLY_ARRAY)
                continue; /* deleted entry (Redis 6.2 shape) */
            mlc_log(MLC_LOG_INFO, "reclaimed a job idle past the visibility timeout");
            rc = take_entry(q, c, entries->element[i], lane, out);
        }
        /* Redis 7 lists entries deleted while pending: acknowledge them away. */
        if (r->elements >= 3 && r->element[2]->type == REDIS_REPLY_ARRAY) {
            for (size_t i = 0; i < r->element[2]->elements; i++) {
                const redisReply *d = r->element[2]->element[i];
                if (d->type != REDIS_REPLY_STRING)
                    continue;
                const char *ack[] = {"XACK", key, GROUP, d->str};
                redisReply *a = qcmd(c, 4, ack, NULL);
                if (a)
                    freeReplyObject(a);
            }
        }
    }
    freeReplyObject(r);
    return rc;
}

static enum mlc_rc read_new(struct mlc_queue *q, struct mlc_redis *c, const char *consumer,
                            enum mlc_lane lane, int block_ms, struct mlc_job **out)
{
    char key[256], block[24];
    stream_key(q, lane, key, sizeof key);
    snprintf(block, sizeof block, "%d", block_ms);
    const char *argv[] = {"XREADGROUP", "GROUP", GROUP,     consumer, "COUNT", "1",
                          "BLOCK",      block,   "STREAMS", key,      ">"};
    const char *argv_nb[] = {"XREADGROUP", "GROUP",   GROUP, consumer, "COUNT",
                             "1",          "STREAMS", key,   ">"};
    redisReply *r = block_ms > 0 ? qcmd(c, 11, argv, NULL) : qcmd(c, 9, argv_nb, NULL);
    if (!r)
        return MLC_EUNAVAIL;
    enum mlc_rc rc = MLC_OK;
    if (is_error(r, "NOGROUP")) {
        mlc_log(MLC_LOG_WARN, "consumer group missing on %s (Redis restarted?): recreating", key);
        rc = create_group(q, c, lane);
    } else if (r->type == REDIS_REPLY_ERROR) {
        mlc_log(MLC_LOG_ERROR, "XREADGROUP failed: %s", r->str);
        rc = MLC_ERR;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1) {
        const redisReply *s = r->element[0];
        if (s->type == REDIS_REPLY_ARRAY && s->elements == 2 &&
            s->element[1]->type == REDIS_REPLY_ARRAY && s->element[1]->elements >= 1)
            rc = take_entry(q, c, s->element[1]->element[0], lane, out);
    }
    freeReplyObject(r);
    return rc;
}

enum mlc_rc mlc_queue_next(struct mlc_queue *q, struct mlc_redis *c, const char *consumer,
                           bool bulk_ok, int block_ms, struct mlc_job **out)
{
    *out = NULL;
    enum mlc_rc rc;
    bool live = !atomic_load(&q->paused[MLC_LANE_LIVE]);
    bool bulk = bulk_ok && !atomic_load(&q->paused[MLC_LANE_BULK]);
    int64_t now = mlc_mono_ms();
    int64_t every = (int64_t)q->s.visibility_timeout_s * 1000 / 2;
    if (every > 5000)
        every = 5000;
    if (now - c->last_reclaim_ms >= every) {
        c->last_reclaim_ms = now;
        if (live && (rc = reclaim(q, c, consumer, MLC_LANE_LIVE, out)) != MLC_OK)
            return rc;
        if (!*out && bulk && (rc = reclaim(q, c, consumer, MLC_LANE_BULK, out)) != MLC_OK)
            return rc;
        if (*out)
            return MLC_OK;
    }
    if (live && (rc = read_new(q, c, consumer, MLC_LANE_LIVE, 0, out)) != MLC_OK)
        return rc;
    if (!*out && bulk && (rc = read_new(q, c, consumer, MLC_LANE_BULK, 0, out)) != MLC_OK)
        return rc;
    if (*out)
        return MLC_OK;
    if (!live) {
        mlc_sleep_ms(block_ms);
        return MLC_OK;
    }
    /* Workers that also serve bulk block briefly so bulk work is not left waiting long. */
    return read_new(q, c, consumer, MLC_LANE_LIVE,
                    bulk ? (block_ms < 200 ? block_ms : 200) : block_ms, out);
}

enum mlc_rc mlc_queue_touch(struct mlc_queue *q, struct mlc_redis *c, enum mlc_lane lane,
                            const char *consumer, const char *entry_id)
{
    char key[256];
    stream_key(q, lane, key, sizeof key);
    const char *argv[] = {"XCLAIM", key, GROUP, consumer, "0", entry_id, "JUSTID"};
    redisReply *r = qcmd(c, 7, argv, NULL);
    if (!r)
        return MLC_EUNAVAIL;
    freeReplyObject(r);
    return MLC_OK;
}

enum mlc_rc mlc_queue_ack(struct mlc_queue *q, struct mlc_redis *c, const struct mlc_job *j)
{
    const char *argv[] = {q->prefix, mlc_lane_name(j->lane), j->entry_id};
    redisReply *r = qscript(c, SCRIPT_ACK, 3, argv, NULL);
    if (!r)
        return MLC_EUNAVAIL;
    enum mlc_rc rc = r->type == REDIS_REPLY_ERROR ? MLC_ERR : MLC_OK;
    freeReplyObject(r);
    return rc;
}

int64_t mlc_backoff_ms(int attempt, int base_ms, int max_s, uint64_t rnd)
{
    if (attempt < 1)
        attempt = 1;
    int64_t cap = (int64_t)max_s * 1000;
    int64_t d = base_ms;
    for (int i = 1; i < attempt && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    /* Equal jitter: half fixed, half random, so delays still grow attempt over attempt. */
    int64_t half = d / 2;
    return half + (half > 0 ? (int64_t)(rnd % (uint64_t)(half + 1)) : 0);
}

void mlc_fingerprint(const char *kind, const char *error, char out[17])
{
    struct mlc_buf b;
    mlc_buf_init(&b, 4096);
    mlc_buf_printf(&b, "%s\n%s", kind ? kind : "", error ? error : "");
    uint8_t h[32];
    mlc_sha256(b.data, b.len, h);
    mlc_buf_free(&b);
    mlc_hex(h, 8, out);
}

/* Feeds the breaker; true when the job must go to the DLQ because its lane is paused by it. */
static bool breaker(struct mlc_queue *q, struct mlc_redis *c, const struct mlc_job *j,
                    const char *fp)
{
    if (q->s.breaker_threshold <= 0)
        return false;
    const char *oid = json_string_value(json_object_get(j->envelope, "oid"));
    char now[24], win[24], th[16];
    snprintf(now, sizeof now, "%lld", (long long)mlc_now_ms());
    snprintf(win, sizeof win, "%lld", (long long)q->s.breaker_window_s * 1000);
    snprintf(th, sizeof th, "%d", q->s.breaker_threshold);
    const char *argv[] = {q->prefix, mlc_lane_name(j->lane), fp, now, win,
                          th,        oid ? oid : j->entry_id};
    redisReply *r = qscript(c, SCRIPT_BREAKER, 7, argv, NULL);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    if (r)
        freeReplyObject(r);
    if (v == 1) {
        atomic_store(&q->paused[j->lane], true);
        mlc_log_kv(MLC_LOG_ERROR, "circuit breaker tripped: lane paused",
                   json_pack("{s:s, s:s, s:i}", "lane", mlc_lane_name(j->lane), "fingerprint", fp,
                             "threshold", q->s.breaker_threshold));
    }
    return v == 1 || v == 2;
}

/* Dead-letters a delivered job with its envelope, the last error and its original id. */
static enum mlc_rc dead_job(struct mlc_queue *q, struct mlc_redis *c, const struct mlc_job *j,
                            const char *last_error, const char *reason, const char *fingerprint)
{
    json_t *env = json_deep_copy(j->envelope);
    json_object_set_new(env, "last_error", json_string(last_error));
    if (!json_object_get(env, "oid"))
        json_object_set_new(env, "oid", json_string(j->entry_id));
    char *payload = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    dead_raw(q, c, j->lane, j->entry_id, payload ? payload : "{}", reason, fingerprint, j->kind);
    free(payload);
    return c->broken ? MLC_EUNAVAIL : MLC_OK;
}

enum mlc_rc mlc_queue_dead(struct mlc_queue *q, struct mlc_redis *c, const struct mlc_job *j,
                           const char *reason, const char *fingerprint, bool feed_breaker)
{
    if (feed_breaker)
        breaker(q, c, j, fingerprint);
    return dead_job(q, c, j, reason, reason, fingerprint);
}

enum mlc_rc mlc_queue_retry(struct mlc_queue *q, struct mlc_redis *c, const struct mlc_job *j,
                            int64_t retry_after_ms, const char *reason, const char *fingerprint,
                            bool *dead)
{
    *dead = false;
    int attempts = j->attempts + 1; /* failed runs so far, this one included */
    if (attempts > q->s.max_attempts) {
        /* MLC_QUEUE_MAX_ATTEMPTS counts retries: the job ran max_attempts + 1 times. */
        char why[400];
        snprintf(why, sizeof why, "gave up after %d retries (%d runs): %s", attempts - 1, attempts,
                 reason);
        *dead = true;
        return mlc_queue_dead(q, c, j, why, fingerprint, true);
    }
    if (breaker(q, c, j, fingerprint)) {
        char why[400];
        snprintf(why, sizeof why, "lane paused by the circuit breaker: %s", reason);
        *dead = true;
        return dead_job(q, c, j, reason, why, fingerprint);
    }
    int64_t delay = retry_after_ms > 0 ? retry_after_ms
                                       : mlc_backoff_ms(attempts, q->s.retry_base_ms,
                                                        q->s.retry_max_s, mlc_rand_u64());
    json_t *env = json_deep_copy(j->envelope);
    json_object_set_new(env, "attempts", json_integer(attempts));
    json_object_set_new(env, "last_error", json_string(reason));
    json_object_set_new(env, "retry_ms", json_integer(delay));
    if (!json_object_get(env, "oid"))
        json_object_set_new(env, "oid", json_string(j->entry_id));
    char *payload = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    char due[24];
    snprintf(due, sizeof due, "%lld", (long long)(mlc_now_ms() + delay));
    const char *argv[] = {q->prefix, mlc_lane_name(j->lane), j->entry_id, due,
                          payload ? payload : "{}"};
    redisReply *r = qscript(c, SCRIPT_RETRY, 5, argv, NULL);
    free(payload);
    if (!r)
        return MLC_EUNAVAIL;
    freeReplyObject(r);
    if (q->metrics)
        mlc_metrics_add(q->metrics, "mlc_job_retries_total", NULL, 1);
    return MLC_OK;
}

enum mlc_rc mlc_queue_schedule_due(struct mlc_queue *q, struct mlc_redis *c, int *moved)
{
    *moved = 0;
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)mlc_now_ms());
    const char *argv[] = {q->prefix, now, "200"};
    redisReply *r = qscript(c, SCRIPT_DUE, 3, argv, NULL);
    if (!r)
        return MLC_EUNAVAIL;
    if (r->type == REDIS_REPLY_INTEGER)
        *moved = (int)r->integer;
    freeReplyObject(r);
    /* Refresh the paused-lane cache the workers read. */
    for (int l = 0; l < MLC_LANE__COUNT; l++) {
        bool p = false;
        char why[8];
        if (mlc_queue_lane_paused(q, c, (enum mlc_lane)l, &p, why, sizeof why) != MLC_OK)
            return MLC_EUNAVAIL;
    }
    return MLC_OK;
}

enum mlc_rc mlc_queue_lane_paused(struct mlc_queue *q, struct mlc_redis *c, enum mlc_lane l,
                                  bool *paused, char *why, size_t whysz)
{
    char key[256];
    mlc_queue_key(q, key, sizeof key, "q:paused:%s", mlc_lane_name(l));
    const char *argv[] = {"GET", key};
    redisReply *r = qcmd(c, 2, argv, NULL);
    if (!r)
        return MLC_EUNAVAIL;
    *paused = r->type == REDIS_REPLY_STRING;
    if (why && whysz)
        snprintf(why, whysz, "%s", *paused ? r->str : "");
    atomic_store(&q->paused[l], *paused);
    freeReplyObject(r);
    return MLC_OK;
}

enum mlc_rc mlc_queue_lane_set_paused(struct mlc_queue *q, struct mlc_redis *c, enum mlc_lane l,
                                      bool paused, const char *why)
{
    char key[256];
    mlc_queue_key(q, key, sizeof key, "q:paused:%s", mlc_lane_name(l));
    redisReply *r;
    if (paused) {
        json_t *o = json_pack("{s:s, s:I}", "reason", why ? why : "paused by an operator", "since",
                              (json_int_t)mlc_now_ms());
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        const char *argv[] = {"SET", key, s};
        r = qcmd(c, 3, argv, NULL);
        free(s);
    } else {
        const char *argv[] = {"DEL", key};
        r = qcmd(c, 2, argv, NULL);
    }
    if (!r)
        return MLC_EUNAVAIL;
    freeReplyObject(r);
    atomic_store(&q->paused[l], paused);
    return MLC_OK;
}

static long long int_cmd(struct mlc_redis *c, int argc, const char **argv)
{
    redisReply *r = qcmd(c, argc, argv, NULL);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r)
        freeReplyObject(r);
    return v;
}

void mlc_queue_collect(struct mlc_queue *q, struct mlc_metrics *m)
{
    struct mlc_redis *c = pool_get(q);
    if (!c) {
        mlc_metrics_set(m, "mlc_redis_up", NULL, 0);
        return;
    }
    char key[256], labels[64];
    for (int l = 0; l < MLC_LANE__COUNT; l++) {
        stream_key(q, (enum mlc_lane)l, key, sizeof key);
        const char *argv[] = {"XLEN", key};
        snprintf(labels, sizeof labels, "stream=\"%s\"", mlc_lane_name((enum mlc_lane)l));
        long long v = int_cmd(c, 2, argv);
        if (v >= 0)
            mlc_metrics_set(m, "mlc_queue_depth", labels, (double)v);
        bool p = false;
        char why[8];
        if (mlc_queue_lane_paused(q, c, (enum mlc_lane)l, &p, why, sizeof why) == MLC_OK) {
            snprintf(labels, sizeof labels, "lane=\"%s\"", mlc_lane_name((enum mlc_lane)l));
            mlc_metrics_set(m, "mlc_lane_paused", labels, p ? 1 : 0);
        }
    }
    mlc_queue_key(q, key, sizeof key, "q:retry");
    const char *zc[] = {"ZCARD", key};
    long long v = int_cmd(c, 2, zc);
    if (v >= 0)
        mlc_metrics_set(m, "mlc_queue_depth", "stream=\"retry\"", (double)v);
    mlc_queue_key(q, key, sizeof key, "q:dlq");
    const char *xl[] = {"XLEN", key};
    v = int_cmd(c, 2, xl);
    if (v >= 0)
        mlc_metrics_set(m, "mlc_dlq_depth", NULL, (double)v);
    mlc_queue_key(q, key, sizeof key, "q:alerts");
    const char *hv[] = {"HVALS", key};
    redisReply *r = qcmd(c, 2, hv, NULL);
    if (r) {
        double total = 0;
        if (r->type == REDIS_REPLY_ARRAY)
            for (size_t i = 0; i < r->elements; i++)
                if (r->element[i]->type == REDIS_REPLY_STRING)
                    total += strtod(r->element[i]->str, NULL);
        mlc_metrics_set(m, "mlc_breaker_alerts_total", NULL, total);
        freeReplyObject(r);
    }
    mlc_metrics_set(m, "mlc_redis_up", NULL, c->broken ? 0 : 1);
    pool_put(q, c);
}
