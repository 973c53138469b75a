/* The poller: one leader among replicas (a Redis lease); per type every MLC_POLL_INTERVAL_S it
 * reads what changed since the UTC watermark minus the overlap, enqueues bulk jobs for records
 * newer than their state, deletions as delete jobs, then advances the watermark. */
#include "mlc/poller.h"
#include "internal.h"
#include "mlc/app.h"
#include "mlc/config.h"
#include "mlc/log.h"
#include "mlc/metrics.h"
#include "mlc/queue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct mlc_poller {
    struct mlc_app *app;
    struct mlc_netsuite *ns;
    pthread_t th;
    atomic_bool stop;
    char owner[128];
    int interval_s, overlap_s;
    int64_t first_ms;
    bool types[MLC_NS__TYPES];
    int64_t covered_ms[MLC_NS__TYPES]; /* start of the last cycle that succeeded (wall clock) */
};

/* mlc_poller_lag_seconds{type}: how far behind NetSuite the poller's coverage is on the leader
 * (grows while cycles fail); 0 on the other replicas, so that max() names the leader's. */
static void set_lag(struct mlc_poller *p, int t, bool leader)
{
    char l[48];
    snprintf(l, sizeof l, "type=\"%s\"", mlc_ns_type_name((enum mlc_ns_type)t));
    double lag = leader && p->covered_ms[t] ? (double)(mlc_now_ms() - p->covered_ms[t]) / 1000 : 0;
    mlc_metrics_set(p->app->metrics, "mlc_poller_lag_seconds", l, lag < 0 ? 0 : lag);
}

enum mlc_rc mlc_poll_parse_date(const char *s, int64_t *unix_ms)
{
    if (!s)
        return MLC_EINVAL;
    size_t l = strlen(s);
    if (l == 10) {
        char full[20];
        snprintf(full, sizeof full, "%s 00:00:00", s);
        return mlc_ns_parse_utc(full, unix_ms);
    }
    if (l == 19 && s[10] == ' ')
        return mlc_ns_parse_utc(s, unix_ms);
    return mlc_parse_rfc3339(s, unix_ms);
}

/* States of the records of one page (field nslm of state:<type>:<id>), one round trip. */
static const char states_lua[] =
    "local out = {}\n"
    "for i, k in ipairs(KEYS) do out[i] = redis.call('HGET', k, 'nslm') or '' end\n"
    "return out\n";

static enum mlc_rc load_states(struct mlc_queue *q, struct mlc_redis *c, enum mlc_ns_type t,
                               json_t *rows, json_t **states)
{
    size_t n = json_array_size(rows);
    const char **argv = mlc_calloc(n + 3, sizeof *argv);
    char(*keys)[96] = mlc_calloc(n + 1, sizeof *keys);
    char num[24];
    snprintf(num, sizeof num, "%zu", n);
    argv[0] = "EVAL";
    argv[1] = states_lua;
    argv[2] = num;
    for (size_t i = 0; i < n; i++) {
        mlc_queue_key(
            q, keys[i], sizeof keys[i], "state:%s:%lld", mlc_ns_type_name(t),
            (long long)json_integer_value(json_object_get(json_array_get(rows, i), "id")));
        argv[3 + i] = keys[i];
    }
    char err[256];
    enum mlc_rc rc = mlc_redis_exec(c, states, err, sizeof err, (int)n + 3, argv);
    if (rc == MLC_OK && (!json_is_array(*states) || json_array_size(*states) != n)) {
        json_decref(*states);
        *states = NULL;
        rc = MLC_ERR;
    }
    free(argv);
    free(keys);
    return rc;
}

/* Enqueues n jobs in rounds of at most 100 (the queue's limit per call), waiting while the
 * backlog is full (up to ten minutes). outs[n] receives the outcomes. */
static enum mlc_rc enqueue_all(struct mlc_queue *q, struct mlc_redis *c,
                               const struct mlc_job_spec *specs, size_t n,
                               enum mlc_enqueue_outcome *outs)
{
    for (size_t off = 0; off < n;) {
        size_t k = n - off > MLC_QUEUE_MAX_BATCH ? MLC_QUEUE_MAX_BATCH : n - off;
        enum mlc_rc rc = MLC_OK;
        for (int tries = 0;; tries++) {
            rc = mlc_queue_enqueue_on(q, c, specs + off, k, outs + off);
            if (rc != MLC_ENOMEM || tries > 600)
                break;
            mlc_sleep_ms(1000); /* the bulk backlog is full: wait for the workers */
        }
        if (rc != MLC_OK)
            return rc;
        off += k;
    }
    return MLC_OK;
}

enum mlc_rc poll_enqueue_rows(struct mlc_queue *q, struct mlc_redis *c, enum mlc_ns_type t,
                              json_t *rows, const bool *want, const char *op, const char *source,
                              size_t *added)
{
    size_t n = json_array_size(rows);
    struct mlc_job_spec *specs = mlc_calloc(n + 1, sizeof *specs);
    char(*recs)[48] = mlc_calloc(n + 1, sizeof *recs);
    char(*dedupe)[96] = mlc_calloc(n + 1, sizeof *dedupe);
    json_t **datas = mlc_calloc(n + 1, sizeof *datas);
    enum mlc_enqueue_outcome *outs = mlc_calloc(n + 1, sizeof *outs);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (want && !want[i])
            continue;
        json_t *r = json_array_get(rows, i);
        long long id = (long long)json_integer_value(json_object_get(r, "id"));
        int64_t lm = (int64_t)json_integer_value(
            json_object_get(r, strcmp(op, "delete") == 0 ? "at" : "lm"));
        char idt[24], iso[40];
        snprintf(idt, sizeof idt, "%lld", id);
        mlc_fmt_rfc3339(lm, iso, sizeof iso);
        snprintf(recs[k], sizeof recs[k], "%s:%lld", mlc_ns_type_name(t), id);
        /* the same change seen again through the overlap window is not enqueued twice */
        snprintf(dedupe[k], sizeof dedupe[k], "poll:%s:%s:%lld:%lld", op, mlc_ns_type_name(t), id,
                 (long long)lm);
        datas[k] = json_pack("{s:s, s:s, s:s, s:s, s:s}", "recordType", mlc_ns_type_name(t),
                             "recordId", idt, "op", op, "source", source, "lastModified", iso);
        specs[k] = (struct mlc_job_spec){
            .lane = MLC_LANE_BULK,
            .kind = mlc_ns_type_name(t),
            .record = recs[k],
            .dedupe = strcmp(source, "netsuite_poller") == 0 ? dedupe[k] : NULL,
            .data = datas[k]};
        k++;
    }
    enum mlc_rc rc = enqueue_all(q, c, specs, k, outs);
    if (rc == MLC_OK && added)
        for (size_t i = 0; i < k; i++)
            *added += outs[i] == MLC_ENQ_ADDED || outs[i] == MLC_ENQ_COALESCED;
    for (size_t i = 0; i < k; i++)
        json_decref(datas[i]);
    free(specs);
    free(recs);
    free(dedupe);
    free(datas);
    free(outs);
    return rc;
}

enum mlc_rc mlc_poll_once(struct mlc_ns_session *s, struct mlc_queue *q, struct mlc_redis *c,
                          enum mlc_ns_type t, int64_t now_ms, int64_t first_ms, int overlap_s,
                          mlc_poll_keep_fn keep, void *keep_ud, struct mlc_poll_stats *st,
                          char *err, size_t errsz)
{
    memset(st, 0, sizeof *st);
    char wkey[256];
    mlc_queue_key(q, wkey, sizeof wkey, "poll:wm:%s", mlc_ns_type_name(t));
    const char *get[] = {"GET", wkey};
    json_t *wv = NULL;
    enum mlc_rc rc = mlc_redis_exec(c, &wv, err, errsz, 2, get);
    if (rc != MLC_OK)
        return rc;
    uint64_t wm = 0;
    bool have = json_is_string(wv) && mlc_parse_u64(json_string_value(wv), &wm) == MLC_OK;
    json_decref(wv);
    int64_t since = (have ? (int64_t)wm : first_ms) - (int64_t)overlap_s * 1000;
    if (since < 0)
        since = 0;
    struct mlc_ns_err e;
    long long after = 0;
    for (;;) {
        json_t *rows = NULL, *states = NULL;
        bool more = false;
        if (keep && !keep(keep_ud)) {
            snprintf(err, errsz, "the poll stopped: the lease was lost or the service is stopping");
            return MLC_ERR;
        }
        if (mlc_ns_changes(s, t, since, 0, after, 1000, &rows, &more, NULL, &e) != MLC_OK) {
            snprintf(err, errsz, "%s", e.msg);
            return MLC_ERR;
        }
        st->calls++;
        size_t n = json_array_size(rows);
        if (n && (rc = load_states(q, c, t, rows, &states)) != MLC_OK) {
            json_decref(rows);
            snprintf(err, errsz, "Redis: cannot read record states");
            return rc;
        }
        bool *want = mlc_calloc(n + 1, sizeof *want);
        for (size_t i = 0; i < n; i++) {
            json_t *r = json_array_get(rows, i);
            int64_t lm = (int64_t)json_integer_value(json_object_get(r, "lm"));
            uint64_t written = 0;
            const char *sv = json_string_value(json_array_get(states, i));
            bool known = sv && *sv && mlc_parse_u64(sv, &written) == MLC_OK;
            want[i] = !known || lm > (int64_t)written;
            st->skipped += !want[i];
            after = (long long)json_integer_value(json_object_get(r, "id"));
        }
        st->seen += n;
        size_t added = 0;
        rc = poll_enqueue_rows(q, c, t, rows, want, "change", "netsuite_poller", &added);
        st->enqueued += added;
        free(want);
        json_decref(states);
        json_decref(rows);
        if (rc != MLC_OK) {
            snprintf(err, errsz, "Redis: enqueue failed");
            return rc;
        }
        if (!more || n == 0)
            break;
    }
    json_t *dels = NULL;
    if (keep && !keep(keep_ud)) {
        snprintf(err, errsz, "the poll stopped: the lease was lost or the service is stopping");
        return MLC_ERR;
    }
    if (mlc_ns_deletions(s, t, since, &dels, &e) != MLC_OK) {
        snprintf(err, errsz, "deletions: %s", e.msg);
        return MLC_ERR;
    }
    st->calls++;
    for (size_t off = 0; off < json_array_size(dels); off += 1000) {
        json_t *chunk = json_array();
        for (size_t i = off; i < off + 1000 && i < json_array_size(dels); i++)
            json_array_append(chunk, json_array_get(dels, i));
        size_t added = 0;
        rc = poll_enqueue_rows(q, c, t, chunk, NULL, "delete", "netsuite_poller", &added);
        st->deleted += added;
        json_decref(chunk);
        if (rc != MLC_OK) {
            json_decref(dels);
            snprintf(err, errsz, "Redis: enqueue failed");
            return rc;
        }
    }
    json_decref(dels);
    /* only now, with everything enqueued, does the watermark move (and never backwards) */
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)(have && (int64_t)wm > now_ms ? (int64_t)wm : now_ms));
    const char *set[] = {"SET", wkey, v};
    return mlc_redis_exec(c, NULL, err, errsz, 3, set);
}

/* The lease kept through a cycle: renewed before each page, at most once a second. */
struct keeper {
    struct mlc_poller *p;
    struct mlc_ns_session *s;
    int64_t ttl_ms, renewed;
};

static bool keep_lease(void *ud)
{
    struct keeper *k = ud;
    if (atomic_load(&k->p->stop))
        return false;
    if (mlc_mono_ms() - k->renewed < 1000)
        return true;
    struct mlc_redis *c = mlc_ns_session_redis(k->s);
    bool held = false;
    if (c)
        mlc_lease_acquire(k->p->app->queue, c, "poller", k->p->owner, k->ttl_ms, &held);
    if (held)
        k->renewed = mlc_mono_ms();
    return held;
}

static void *run(void *ud)
{
    struct mlc_poller *p = ud;
    struct mlc_app *app = p->app;
    struct mlc_ns_session *s = NULL;
    char err[512];
    if (mlc_ns_session_new(p->ns, &s, err, sizeof err) != MLC_OK) {
        mlc_log(MLC_LOG_ERROR, "poller: %s", err);
        return NULL;
    }
    int renew_s = p->interval_s < 1 ? 1 : p->interval_s > 10 ? 10 : p->interval_s;
    int64_t ttl_ms = (int64_t)renew_s * 3000;
    bool leader = false;
    int64_t next_run = 0;
    while (!atomic_load(&p->stop)) {
        struct mlc_redis *c = mlc_ns_session_redis(s);
        bool held = false;
        if (c)
            mlc_lease_acquire(app->queue, c, "poller", p->owner, ttl_ms, &held);
        if (held != leader) {
            mlc_log(MLC_LOG_INFO, "poller: %s",
                    held ? "this replica is the leader" : "leadership lost");
            leader = held;
            next_run = 0;
        }
        mlc_metrics_set(app->metrics, "mlc_poller_leader", NULL, leader ? 1 : 0);
        for (int t = 0; t < MLC_NS__TYPES && !leader; t++)
            if (p->types[t])
                set_lag(p, t, false);
        if (leader && mlc_mono_ms() >= next_run) {
            next_run = mlc_mono_ms() + (int64_t)p->interval_s * 1000;
            struct mlc_ns_err e;
            if (mlc_ns_token_fresh(s, &e) != MLC_OK)
                mlc_log(MLC_LOG_WARN, "poller: token: %s", e.msg);
            for (int t = 0; t < MLC_NS__TYPES && !atomic_load(&p->stop); t++) {
                if (!p->types[t] || !(c = mlc_ns_session_redis(s)))
                    continue;
                /* keep the lease through a long cycle */
                mlc_lease_acquire(app->queue, c, "poller", p->owner, ttl_ms, &held);
                if (!held)
                    break;
                struct mlc_poll_stats st;
                int64_t t0 = mlc_mono_ms();
                int64_t now = mlc_now_ms();
                struct keeper kp = {p, s, ttl_ms, mlc_mono_ms()};
                enum mlc_rc rc = mlc_poll_once(s, app->queue, c, (enum mlc_ns_type)t, now,
                                               p->first_ms ? p->first_ms : now, p->overlap_s,
                                               keep_lease, &kp, &st, err, sizeof err);
                char l[48];
                snprintf(l, sizeof l, "type=\"%s\"", mlc_ns_type_name((enum mlc_ns_type)t));
                if (!p->covered_ms[t])
                    p->covered_ms[t] = now; /* lag counts from the first attempt */
                if (rc != MLC_OK) {
                    mlc_log_kv(MLC_LOG_WARN, "poll failed",
                               json_pack("{s:s, s:s}", "type",
                                         mlc_ns_type_name((enum mlc_ns_type)t), "error", err));
                    mlc_metrics_add(app->metrics, "mlc_poller_failures_total", l, 1);
                    set_lag(p, t, true);
                    continue;
                }
                p->covered_ms[t] = now;
                set_lag(p, t, true);
                mlc_metrics_add(app->metrics, "mlc_poller_enqueued_total", l,
                                (double)(st.enqueued + st.deleted));
                mlc_log_kv(MLC_LOG_INFO, "polled",
                           json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "type",
                                     mlc_ns_type_name((enum mlc_ns_type)t), "seen",
                                     (json_int_t)st.seen, "enqueued", (json_int_t)st.enqueued,
                                     "unchanged", (json_int_t)st.skipped, "deleted",
                                     (json_int_t)st.deleted, "ms",
                                     (json_int_t)(mlc_mono_ms() - t0)));
            }
        }
        for (int i = 0; i < renew_s * 10 && !atomic_load(&p->stop); i++)
            mlc_sleep_ms(100);
    }
    struct mlc_redis *c = mlc_ns_session_redis(s);
    if (c && leader)
        mlc_lease_release(app->queue, c, "poller", p->owner);
    mlc_ns_session_free(s);
    return NULL;
}

enum mlc_rc mlc_poller_start(struct mlc_app *app, struct mlc_poller **out, char *err, size_t errsz)
{
    *out = NULL;
    const struct mlc_config *cfg = &app->cfg;
    struct mlc_ns_settings ss;
    mlc_ns_settings_from_config(cfg, &ss);
    bool creds = ss.tba ? ss.consumer_key != NULL : ss.client_id != NULL;
    if (!ss.account_id || !creds) {
        mlc_log(MLC_LOG_INFO, "poller off: NetSuite is not configured (MLC_NETSUITE_ACCOUNT_ID "
                              "and credentials)");
        return MLC_OK;
    }
    struct mlc_poller *p = mlc_calloc(1, sizeof *p);
    p->app = app;
    p->interval_s = (int)mlc_config_int(cfg, MLC_CFG_POLL_INTERVAL_S);
    p->overlap_s = (int)mlc_config_int(cfg, MLC_CFG_POLL_OVERLAP_S);
    const char *start = mlc_config_str(cfg, MLC_CFG_POLL_START);
    if (start && strcmp(start, "now") != 0 && mlc_poll_parse_date(start, &p->first_ms) != MLC_OK) {
        snprintf(err, errsz,
                 "MLC_POLL_START: `now`, YYYY-MM-DD, YYYY-MM-DD HH:MM:SS (UTC) or "
                 "RFC 3339");
        free(p);
        return MLC_EINVAL;
    }
    char **types = NULL;
    size_t nt = mlc_list_split(mlc_config_str(cfg, MLC_CFG_POLL_TYPES), &types);
    for (size_t i = 0; i < nt; i++) {
        int t = mlc_ns_type_parse(types[i]);
        if (t < 0) {
            snprintf(err, errsz,
                     "MLC_POLL_TYPES: unknown type '%.40s' (customer, contact, "
                     "salesorder)",
                     types[i]);
            mlc_strv_free(types, nt);
            free(p);
            return MLC_EINVAL;
        }
        p->types[t] = true;
    }
    mlc_strv_free(types, nt);
    mlc_netsuite_describe_metrics(app->metrics);
    mlc_metrics_describe(app->metrics, "mlc_poller_leader", MLC_METRIC_GAUGE,
                         "1 on the replica whose poller holds the lease");
    mlc_metrics_describe(app->metrics, "mlc_poller_enqueued_total", MLC_METRIC_COUNTER,
                         "Jobs the poller enqueued, by type");
    mlc_metrics_describe(app->metrics, "mlc_poller_lag_seconds", MLC_METRIC_GAUGE,
                         "Seconds since the start of the last poll cycle that succeeded, by type "
                         "(leader; 0 elsewhere)");
    mlc_metrics_describe(app->metrics, "mlc_poller_failures_total", MLC_METRIC_COUNTER,
                         "Poll cycles that failed, by type");
    if (mlc_netsuite_new(&ss, app->queue, app->metrics, &p->ns, err, errsz) != MLC_OK) {
        free(p);
        return MLC_EINVAL;
    }
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(p->owner, sizeof p->owner, "%.40s-%d-%llx", host, (int)getpid(),
             (unsigned long long)(mlc_rand_u64() & 0xffffffffull));
    if (pthread_create(&p->th, NULL, run, p) != 0) {
        snprintf(err, errsz, "cannot start the poller thread");
        mlc_netsuite_free(p->ns);
        free(p);
        return MLC_ERR;
    }
    *out = p;
    return MLC_OK;
}

void mlc_poller_stop(struct mlc_poller *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, true);
    pthread_join(p->th, NULL);
    mlc_netsuite_free(p->ns);
    free(p);
}
