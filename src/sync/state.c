/* Record state in Redis (the hash the poller reads), per-record leases, the stale-write guard and
 * no-op skip, the reverse index, and the audit (stream, per-record history, sink). */
#include "internal.h"
#include "mlc/log.h"
#include "mlc/queue.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define LEASE_MS 120000
#define LEASE_WAIT_MS 3000
#define HISTORY 50

static const char *const action_names[] = {
    "none",         "created",        "updated",       "unchanged", "stale-skipped",
    "filtered",     "deleted",        "missing",       "failed",    "dead-lettered",
    "echo-dropped", "drift-reverted", "drift-reported"};

const char *sync_action_name(enum rec_action a)
{
    return (size_t)a < sizeof action_names / sizeof action_names[0] ? action_names[a] : "none";
}

void sync_job_error(struct sync_job *j, bool retryable, int64_t retry_after_ms, const char *cls,
                    const char *fmt, ...)
{
    if (retryable) {
        j->retry = true;
        if (retry_after_ms > j->retry_after_ms)
            j->retry_after_ms = retry_after_ms;
    } else {
        j->fail = true;
    }
    if (j->reason[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->reason, sizeof j->reason, fmt, ap);
    va_end(ap);
    snprintf(j->cls, sizeof j->cls, "%s", cls && cls[0] ? cls : "sync");
}

void sync_dv_failure(struct sync_job *j, struct rec *r, const struct mlc_dv_err *e)
{
    if (r) {
        r->err = *e;
        r->act = ACT_FAILED;
    }
    sync_job_error(j, e->retryable, e->retry_after_ms, e->cls[0] ? e->cls : "dataverse",
                   "Dataverse: %s", e->msg[0] ? e->msg : "request failed");
}

/* Runs a script over per-record keys; *out owned. */
static enum mlc_rc eval(struct sync_job *j, const char *script, const char **keys, size_t nkeys,
                        const char **args, size_t nargs, json_t **out)
{
    size_t argc = 3 + nkeys + nargs;
    const char **argv = mlc_calloc(argc, sizeof *argv);
    char num[24];
    snprintf(num, sizeof num, "%zu", nkeys);
    argv[0] = "EVAL";
    argv[1] = script;
    argv[2] = num;
    for (size_t i = 0; i < nkeys; i++)
        argv[3 + i] = keys[i];
    for (size_t i = 0; i < nargs; i++)
        argv[3 + nkeys + i] = args[i];
    char err[256];
    enum mlc_rc rc = mlc_redis_exec(j->ctx->redis, out, err, sizeof err, (int)argc, argv);
    if (rc != MLC_OK)
        mlc_log(MLC_LOG_WARN, "sync: Redis script failed: %s", err);
    free(argv);
    return rc;
}

/* Keys "<prefix><what>:<type>:<id>" of records, in one allocation. */
struct keyset {
    char *buf;
    const char **k;
};

static struct keyset record_keys(struct sync_job *j, const char *what, const char *type,
                                 const struct rec *recs, size_t n)
{
    struct keyset ks = {mlc_calloc(n + 1, 160), mlc_calloc(n + 1, sizeof(char *))};
    for (size_t i = 0; i < n; i++) {
        char *k = ks.buf + i * 160;
        mlc_queue_key(j->ctx->app->queue, k, 160, "%s:%s:%lld", what, type, recs[i].id);
        ks.k[i] = k;
    }
    return ks;
}

static void keys_free(struct keyset ks)
{
    free(ks.buf);
    free(ks.k);
}

/* 1: newly taken, 2: already ours, 0: held by another worker */
static const char lease_lua[] =
    "local out = {}\n"
    "for i, k in ipairs(KEYS) do\n"
    "  local cur = redis.call('GET', k)\n"
    "  if not cur then redis.call('SET', k, ARGV[1], 'PX', ARGV[2]); out[i] = 1\n"
    "  elseif cur == ARGV[1] then redis.call('PEXPIRE', k, ARGV[2]); out[i] = 2\n"
    "  else out[i] = 0 end\n"
    "end\n"
    "return out\n";

static const char release_lua[] =
    "for i, k in ipairs(KEYS) do\n"
    "  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end\n"
    "end\n"
    "return 0\n";

/* One attempt at the leases of the records not held yet; *left receives how many are busy. */
static enum mlc_rc lease_once(struct sync_job *j, const char *type, struct rec *recs, size_t n,
                              size_t *left)
{
    struct rec *want = mlc_calloc(n + 1, sizeof *want);
    size_t *idx = mlc_calloc(n + 1, sizeof *idx);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (recs[i].busy) {
            want[k].id = recs[i].id;
            idx[k++] = i;
        }
    *left = 0;
    enum mlc_rc rc = MLC_OK;
    if (k) {
        struct keyset keys = record_keys(j, "lease:rec", type, want, k);
        char ttl[24];
        snprintf(ttl, sizeof ttl, "%d", LEASE_MS);
        const char *args[] = {j->owner, ttl};
        json_t *out = NULL;
        rc = eval(j, lease_lua, keys.k, k, args, 2, &out);
        for (size_t x = 0; rc == MLC_OK && x < k; x++) {
            json_int_t v = json_integer_value(json_array_get(out, x));
            recs[idx[x]].lease = v == 1;
            recs[idx[x]].busy = v == 0;
            *left += v == 0;
        }
        json_decref(out);
        keys_free(keys);
    }
    free(want);
    free(idx);
    return rc;
}

enum mlc_rc sync_lease(struct sync_job *j, const char *type, struct rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        recs[i].busy = true; /* not held yet */
    /* a record another worker holds is usually done within moments (a parent being created):
     * wait up to LEASE_WAIT_MS before leaving it to a retry */
    int64_t until = mlc_mono_ms() + LEASE_WAIT_MS;
    size_t left = 0;
    enum mlc_rc rc;
    while ((rc = lease_once(j, type, recs, n, &left)) == MLC_OK && left && mlc_mono_ms() < until)
        mlc_sleep_ms(50);
    return rc;
}

void sync_release(struct sync_job *j, const char *type, struct rec *recs, size_t n)
{
    size_t k = 0;
    struct rec *mine = mlc_calloc(n + 1, sizeof *mine);
    for (size_t i = 0; i < n; i++)
        if (recs[i].lease)
            mine[k++].id = recs[i].id;
    if (k) {
        struct keyset keys = record_keys(j, "lease:rec", type, mine, k);
        const char *args[] = {j->owner};
        eval(j, release_lua, keys.k, k, args, 1, NULL);
        keys_free(keys);
    }
    for (size_t i = 0; i < n; i++)
        recs[i].lease = false;
    free(mine);
}

static const char load_lua[] = "local out = {}\n"
                               "for i, k in ipairs(KEYS) do out[i] = redis.call('HGETALL', k) end\n"
                               "return out\n";

static json_t *pairs_to_object(json_t *arr)
{
    json_t *o = json_object();
    for (size_t i = 0; i + 1 < json_array_size(arr); i += 2)
        json_object_set(o, json_string_value(json_array_get(arr, i)), json_array_get(arr, i + 1));
    return o;
}

enum mlc_rc sync_load_state(struct sync_job *j, const char *type, struct rec *recs, size_t n)
{
    if (n == 0)
        return MLC_OK;
    struct keyset keys = record_keys(j, "state", type, recs, n);
    json_t *out = NULL;
    enum mlc_rc rc = eval(j, load_lua, keys.k, n, NULL, 0, &out);
    for (size_t i = 0; rc == MLC_OK && i < n; i++) {
        struct rec *r = &recs[i];
        json_decref(r->st);
        r->st = pairs_to_object(json_array_get(out, i));
        r->have_state = json_object_size(r->st) > 0;
        const char *s;
        if ((s = json_string_value(json_object_get(r->st, "nslm"))))
            r->st_nslm = strtoll(s, NULL, 10);
        snprintf(r->st_hash, sizeof r->st_hash, "%s",
                 (s = json_string_value(json_object_get(r->st, "hash"))) ? s : "");
        snprintf(r->st_mv, sizeof r->st_mv, "%s",
                 (s = json_string_value(json_object_get(r->st, "mv"))) ? s : "");
        s = json_string_value(json_object_get(r->st, "dvid"));
        snprintf(r->dvid, sizeof r->dvid, "%s", s && mlc_dv_guid_valid(s) ? s : "");
    }
    json_decref(out);
    keys_free(keys);
    return rc;
}

void sync_decide(struct sync_job *j, struct rec *r)
{
    if (r->act != ACT_NONE || j->force || !r->have_state)
        return;
    if (r->st_nslm > r->nslm) {
        r->act = ACT_STALE;
        return;
    }
    if (r->dvid[0] && strcmp(r->st_hash, r->hash) == 0)
        r->act = ACT_UNCHANGED;
}

/* Columns that changed between the stored payload and the new one: {col: {before, after}}. */
static json_t *changes_of(const struct rec *r)
{
    json_t *ch = json_object();
    const char *ps = json_string_value(json_object_get(r->st, "p"));
    json_t *before = ps ? json_loads(ps, 0, NULL) : NULL;
    if (!before)
        before = json_object();
    json_t *after = r->payload ? r->payload : json_object();
    const char *k;
    json_t *v;
    json_object_foreach(after, k, v)
    {
        json_t *b = json_object_get(before, k);
        if (!b && json_is_null(v))
            continue; /* nothing before, nothing now */
        if (!b || !json_equal(b, v))
            json_object_set_new(ch, k, json_pack("{s:O?, s:O}", "before", b, "after", v));
    }
    json_object_foreach(before, k, v)
    {
        if (!json_object_get(after, k))
            json_object_set_new(ch, k, json_pack("{s:O, s:n}", "before", v, "after"));
    }
    if (after != r->payload)
        json_decref(after);
    json_decref(before);
    return ch;
}

static json_t *audit_entry(struct sync_job *j, const char *type, long long id, const char *dvid,
                           enum rec_action a, json_t *exc, json_t *changes, int dv_calls,
                           int64_t nslm, const char *error)
{
    char ts[40], lm[40] = "";
    mlc_fmt_rfc3339(mlc_now_ms(), ts, sizeof ts);
    if (nslm > 0)
        mlc_fmt_rfc3339(nslm, lm, sizeof lm);
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", id);
    json_t *e =
        json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:s, s:{s:I, s:i}, s:O?, s:O?}", "ts", ts,
                  "action", sync_action_name(a), "type", type, "nsId", ids, "dvId",
                  dvid && dvid[0] ? dvid : NULL, "source", j->source, "jobId",
                  j->job ? j->job->entry_id : "", "calls", "netsuite", (json_int_t)j->ns_calls,
                  "dataverse", dv_calls, "exceptions", exc ? exc : NULL, "changes", changes);
    if (!json_is_array(json_object_get(e, "exceptions")))
        json_object_set_new(e, "exceptions", json_array());
    if (lm[0])
        json_object_set_new(e, "nsLastModified", json_string(lm));
    if (error && error[0])
        json_object_set_new(e, "error", json_string(error));
    return e;
}

/* A dry run's entry: writes named would_create / would_update / would_delete, and dryRun. */
static void mark_dry(json_t *e, enum rec_action a)
{
    if (a == ACT_CREATED || a == ACT_UPDATED || a == ACT_DELETED)
        json_object_set_new(e, "action",
                            json_string(a == ACT_CREATED   ? "would_create"
                                        : a == ACT_UPDATED ? "would_update"
                                                           : "would_delete"));
    json_object_set_new(e, "dryRun", json_true());
}

static void sink_write(struct mlc_sync *s, json_t *e)
{
    if (!s->sink)
        return;
    char *line = json_dumps(e, JSON_COMPACT);
    if (!line)
        return;
    pthread_mutex_lock(&s->sink_mu);
    fputs(line, s->sink);
    fputc('\n', s->sink);
    fflush(s->sink);
    pthread_mutex_unlock(&s->sink_mu);
    free(line);
}

/* Per record: guard (raise nslm only), fields, deleted fields, reverse index, audit + history. */
static const char commit_lua[] =
    "local recs = cjson.decode(ARGV[1])\n"
    "local out = {}\n"
    "for i, r in ipairs(recs) do\n"
    "  local cur = tonumber(redis.call('HGET', r.k, 'nslm') or '0') or 0\n"
    "  if r.g == 1 and cur > r.n then out[i] = 0 else\n"
    "    local args = {}\n"
    "    for f, v in pairs(r.f) do args[#args + 1] = f; args[#args + 1] = v end\n"
    "    if r.n > cur then args[#args + 1] = 'nslm'; args[#args + 1] = string.format('%d', r.n) "
    "end\n"
    "    if #args > 0 then redis.call('HSET', r.k, unpack(args)) end\n"
    "    for _, d in ipairs(r.d) do redis.call('HDEL', r.k, d) end\n"
    "    if r.rk ~= '' then redis.call('SET', r.rk, r.rv) end\n"
    "    out[i] = 1\n"
    "  end\n"
    "  if r.a ~= '' then\n"
    "    local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', r.a)\n"
    "    redis.call('LPUSH', r.h, id .. ' ' .. r.a)\n"
    "    redis.call('LTRIM', r.h, 0, tonumber(ARGV[4]) - 1)\n"
    "    redis.call('PEXPIRE', r.h, ARGV[5])\n"
    "  end\n"
    "end\n"
    "redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[3])\n"
    "return out\n";

static json_t *state_fields(const struct rec *r, const char *mv)
{
    json_t *f = json_object();
    char at[24];
    snprintf(at, sizeof at, "%lld", (long long)mlc_now_ms());
    json_object_set_new(f, "at", json_string(at));
    switch (r->act) {
    case ACT_CREATED:
    case ACT_UPDATED:
    case ACT_FILTERED: {
        json_object_set_new(f, "hash", json_string(r->hash));
        json_object_set_new(f, "mv", json_string(mv));
        char *p =
            json_dumps(r->payload ? r->payload : json_object(), JSON_COMPACT | JSON_SORT_KEYS);
        json_object_set_new(f, "p", json_string(p ? p : "{}"));
        free(p);
        char *e = r->exc && json_array_size(r->exc) ? json_dumps(r->exc, JSON_COMPACT) : NULL;
        json_object_set_new(f, "exc", json_string(e ? e : "[]"));
        free(e);
        if (r->dvid[0])
            json_object_set_new(f, "dvid", json_string(r->dvid));
        break;
    }
    default:
        break;
    }
    if (r->act == ACT_FILTERED)
        json_object_set_new(f, "filtered", json_string("1"));
    if (r->act == ACT_DELETED)
        json_object_set_new(f, "del", json_string("1"));
    const char *k;
    json_t *v;
    json_object_foreach(r->extra, k, v) if (json_is_string(v)) json_object_set(f, k, v);
    return f;
}

enum mlc_rc sync_commit(struct sync_job *j, const char *type, const char *table, struct rec *recs,
                        size_t n)
{
    struct mlc_sync *s = j->s;
    struct mlc_queue *q = j->ctx->app->queue;
    const char *mv = mlc_mapping_version(s->mapping);
    json_t *arr = json_array();
    json_t **entries = mlc_calloc(n + 1, sizeof *entries);
    for (size_t i = 0; i < n; i++) {
        struct rec *r = &recs[i];
        if (r->act == ACT_NONE)
            continue;
        if (r->busy)
            continue; /* another worker has it; this job is retried */
        char k[160], h[160], rk[200] = "";
        mlc_queue_key(q, k, sizeof k, "state:%s:%lld", type, r->id);
        mlc_queue_key(q, h, sizeof h, "hist:%s:%lld", type, r->id);
        bool wrote = r->act == ACT_CREATED || r->act == ACT_UPDATED;
        /* MLC_DRY_RUN / backfill --dry-run: every outcome is audited (writes as would_create /
         * would_update with their changes), nothing is recorded in the state */
        bool dry = s->dry_run;
        if (wrote && r->dvid[0] && !dry)
            mlc_queue_key(q, rk, sizeof rk, "rev:%s:%s", table, r->dvid);
        char rv[80];
        snprintf(rv, sizeof rv, "%s:%lld", type, r->id);
        json_t *changes = wrote ? changes_of(r) : NULL;
        enum rec_action a = r->act;
        /* a permanent failure of the job's last attempt is dead-lettered by the pool */
        if (a == ACT_FAILED && (!r->err.retryable || j->last_attempt))
            a = ACT_DEAD;
        entries[i] = audit_entry(j, type, r->id, r->dvid, a, r->exc, changes, r->dv_calls, r->nslm,
                                 a == ACT_FAILED || a == ACT_DEAD ? r->err.msg : NULL);
        json_decref(changes);
        if (dry)
            mark_dry(entries[i], a);
        char *a_text = json_dumps(entries[i], JSON_COMPACT);
        bool guard = wrote && !j->force && !dry;
        bool touches =
            !dry && a != ACT_FAILED && a != ACT_DEAD && a != ACT_STALE && a != ACT_MISSING;
        json_t *fields = touches ? state_fields(r, mv) : json_object();
        json_t *del = json_array();
        if (wrote && !dry)
            json_array_append_new(del, json_string("filtered"));
        json_array_append_new(
            arr, json_pack("{s:s, s:i, s:I, s:o, s:o, s:s, s:s, s:s, s:s}", "k", k, "g",
                           guard ? 1 : 0, "n", (json_int_t)(touches ? r->nslm : 0), "f", fields,
                           "d", del, "rk", rk, "rv", rv, "h", h, "a", a_text ? a_text : ""));
        free(a_text);
    }
    enum mlc_rc rc = MLC_OK;
    if (json_array_size(arr)) {
        char akey[160], maxlen[24], minid[32], hist[16], ttl[24];
        mlc_queue_key(q, akey, sizeof akey, "audit");
        snprintf(maxlen, sizeof maxlen, "%lld", (long long)s->audit_max);
        snprintf(minid, sizeof minid, "%lld-0", (long long)(mlc_now_ms() - s->audit_retention_ms));
        snprintf(hist, sizeof hist, "%d", HISTORY);
        snprintf(ttl, sizeof ttl, "%lld", (long long)s->audit_retention_ms);
        char *payload = json_dumps(arr, JSON_COMPACT);
        const char *keys[] = {akey};
        const char *args[] = {payload, maxlen, minid, hist, ttl};
        rc = eval(j, commit_lua, keys, 1, args, 5, NULL);
        free(payload);
        if (rc != MLC_OK)
            sync_job_error(j, true, 0, "redis", "Redis: cannot record the sync outcome");
    }
    for (size_t i = 0; i < n; i++) {
        if (entries[i] && rc == MLC_OK)
            sink_write(s, entries[i]);
        json_decref(entries[i]);
    }
    free(entries);
    json_decref(arr);
    return rc;
}

json_t *sync_state_get(struct sync_job *j, const char *type, long long id)
{
    struct rec r = {.id = id};
    if (sync_load_state(j, type, &r, 1) != MLC_OK) {
        rec_clear(&r);
        return NULL;
    }
    json_t *st = r.st ? json_incref(r.st) : json_object();
    rec_clear(&r);
    return st;
}

enum mlc_rc sync_state_set(struct sync_job *j, const char *type, long long id, json_t *fields)
{
    char k[160];
    mlc_queue_key(j->ctx->app->queue, k, sizeof k, "state:%s:%lld", type, id);
    size_t n = json_object_size(fields);
    if (n == 0)
        return MLC_OK;
    const char **argv = mlc_calloc(2 + 2 * n, sizeof *argv);
    argv[0] = "HSET";
    argv[1] = k;
    size_t i = 2;
    const char *f;
    json_t *v;
    json_object_foreach(fields, f, v)
    {
        argv[i++] = f;
        argv[i++] = json_string_value(v) ? json_string_value(v) : "";
    }
    char err[256];
    enum mlc_rc rc = mlc_redis_exec(j->ctx->redis, NULL, err, sizeof err, (int)i, argv);
    free(argv);
    return rc;
}

void sync_audit_one(struct sync_job *j, const char *type, long long id, const char *dvid,
                    enum rec_action a, json_t *exc, json_t *changes, int dv_calls)
{
    struct mlc_queue *q = j->ctx->app->queue;
    json_t *e = audit_entry(j, type, id, dvid, a, exc, changes, dv_calls, 0, NULL);
    if (j->s->dry_run)
        mark_dry(e, a);
    char *text = json_dumps(e, JSON_COMPACT);
    char akey[160], h[160], maxlen[24], entry_id[64] = "";
    mlc_queue_key(q, akey, sizeof akey, "audit");
    mlc_queue_key(q, h, sizeof h, "hist:%s:%lld", type, id);
    snprintf(maxlen, sizeof maxlen, "%lld", (long long)j->s->audit_max);
    const char *xadd[] = {"XADD", akey, "MAXLEN", "~", maxlen, "*", "e", text ? text : "{}"};
    json_t *idv = NULL;
    char err[256];
    if (mlc_redis_exec(j->ctx->redis, &idv, err, sizeof err, 8, xadd) == MLC_OK) {
        snprintf(entry_id, sizeof entry_id, "%s",
                 json_string_value(idv) ? json_string_value(idv) : "");
        struct mlc_buf b;
        mlc_buf_init(&b, (size_t)1 << 26);
        mlc_buf_printf(&b, "%s %s", entry_id, text ? text : "{}");
        const char *lpush[] = {"LPUSH", h, b.data};
        mlc_redis_exec(j->ctx->redis, NULL, err, sizeof err, 3, lpush);
        char stop[16];
        snprintf(stop, sizeof stop, "%d", HISTORY - 1);
        const char *ltrim[] = {"LTRIM", h, "0", stop};
        mlc_redis_exec(j->ctx->redis, NULL, err, sizeof err, 4, ltrim);
        mlc_buf_free(&b);
        sink_write(j->s, e);
    }
    json_decref(idv);
    free(text);
    json_decref(e);
}

json_t *sync_read(struct sync_job *j, enum mlc_ns_type t, const long long *ids, size_t n)
{
    json_t *read = NULL;
    size_t calls = 0;
    struct mlc_ns_err ne;
    enum mlc_rc rc = mlc_ns_read(j->w->ns, t, ids, n, &read, &calls, &ne);
    j->ns_calls += calls;
    if (rc == MLC_OK)
        return read;
    sync_job_error(j, ne.retryable, ne.retry_after_ms, ne.cls[0] ? ne.cls : "netsuite",
                   "NetSuite: %s", ne.msg);
    json_decref(read);
    return NULL;
}

void sync_recs_of(json_t *read, const long long *ids, size_t n, struct rec *recs)
{
    for (size_t i = 0; i < n; i++) {
        char k[24];
        snprintf(k, sizeof k, "%lld", ids[i]);
        recs[i].id = ids[i];
        recs[i].ns = json_object_get(read, k);
    }
}

static void note_bad(struct sync_job *j, const char *type, long long id, bool retry, int64_t after,
                     const char *reason, const char *cls)
{
    if (!j->bad)
        return;
    char key[64];
    snprintf(key, sizeof key, "%s:%lld", type, id);
    json_object_set_new(j->bad, key,
                        json_pack("{s:b, s:I, s:s, s:s}", "retry", retry, "after",
                                  (json_int_t)after, "reason", reason, "cls", cls));
}

void sync_finish(struct sync_job *j, const char *type, struct rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct rec *r = &recs[i];
        if (r->act == ACT_FAILED && !r->busy) {
            char reason[600];
            snprintf(reason, sizeof reason, "Dataverse: %s", r->err.msg);
            note_bad(j, type, r->id, r->err.retryable, r->err.retry_after_ms, reason,
                     r->err.cls[0] ? r->err.cls : "dataverse");
        } else if (r->busy) {
            char cls[80], reason[120];
            snprintf(cls, sizeof cls, "record busy %s:%lld", type, r->id);
            snprintf(reason, sizeof reason, "%s %lld busy in another worker", type, r->id);
            note_bad(j, type, r->id, true, BUSY_RETRY_MS, reason, cls);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (recs[i].busy) {
            /* the class names the record: busy records are no systemic failure and must not
             * trip the circuit breaker together */
            char cls[80];
            snprintf(cls, sizeof cls, "record busy %s:%lld", type, recs[i].id);
            sync_job_error(j, true, BUSY_RETRY_MS, cls, "%s %lld busy in another worker", type,
                           recs[i].id);
        }
    sync_release(j, type, recs, n);
    for (size_t i = 0; i < n; i++)
        rec_clear(&recs[i]);
    free(recs);
}
