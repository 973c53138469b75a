/* The sync engine: set-up for `serve` (mapping, clients, audit sink), the job handlers and the
 * dispatch of a job to its kind. */
#include "internal.h"
#include "mlc/config.h"
#include "mlc/log.h"
#include "mlc/metrics.h"
#include "mlc/queue.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <unistd.h>

#define LEASE_OWNER_MAX 96

const char *mlc_sync_default_mapping_path(void)
{
    return "deploy/config/mapping.json";
}

/* The shipped file: relative to the working directory, next to the binary's source tree
 * (<exe dir>/../deploy/config), or where packages install it. */
static bool find_default_mapping(char *out, size_t outsz)
{
    if (access(mlc_sync_default_mapping_path(), R_OK) == 0) {
        snprintf(out, outsz, "%s", mlc_sync_default_mapping_path());
        return true;
    }
    char exe[PATH_MAX];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (l > 0) {
        exe[l] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            static const char *const rel[] = {"/../deploy/config/mapping.json",
                                              "/../share/ml-connector/mapping.json"};
            for (size_t i = 0; i < 2; i++) {
                int w = snprintf(out, outsz, "%s%s", exe, rel[i]);
                if (w > 0 && (size_t)w < outsz && access(out, R_OK) == 0)
                    return true;
            }
        }
    }
    snprintf(out, outsz, "/etc/ml-connector/mapping.json");
    return access(out, R_OK) == 0;
}

static bool configured(const struct mlc_config *cfg)
{
    return mlc_config_str(cfg, MLC_CFG_NETSUITE_ACCOUNT_ID) &&
           mlc_config_str(cfg, MLC_CFG_DATAVERSE_URL);
}

enum mlc_rc mlc_sync_new(struct mlc_app *app, struct mlc_sync **out, char *err, size_t errsz)
{
    *out = NULL;
    const struct mlc_config *cfg = &app->cfg;
    if (!configured(cfg) || mlc_config_int(cfg, MLC_CFG_WORKERS) == 0)
        return MLC_OK;
    struct mlc_sync *s = mlc_calloc(1, sizeof *s);
    s->app = app;
    pthread_mutex_init(&s->sink_mu, NULL);
    if (mlc_sync_mapping_load(cfg, &s->mapping, err, errsz) != MLC_OK)
        goto fail;
    const char *file = mlc_config_str(cfg, MLC_CFG_MAPPING_FILE);
    mlc_mapping_install(s->mapping);

    struct mlc_ns_settings ns;
    mlc_ns_settings_from_config(cfg, &ns);
    mlc_netsuite_describe_metrics(app->metrics);
    if (mlc_netsuite_new(&ns, app->queue, app->metrics, &s->ns, err, errsz) != MLC_OK)
        goto fail;
    struct mlc_dv_settings dv;
    mlc_dv_settings_from_config(cfg, &dv);
    mlc_dataverse_describe_metrics(app->metrics);
    if (mlc_dataverse_new(&dv, app->queue, app->metrics, &s->dv, err, errsz) != MLC_OK)
        goto fail;
    mlc_metrics_describe(app->metrics, "mlc_sync_dataverse_events_total", MLC_METRIC_COUNTER,
                         "Dataverse webhooks handled by the workers, by outcome (echo_dropped, "
                         "drift_reverted, crm_edit_kept, unresolved, ...)");
    mlc_metrics_describe(app->metrics, "mlc_sync_records_total", MLC_METRIC_COUNTER,
                         "Records synced, by type and action (created, updated, unchanged, ...)");

    const char *sink = mlc_config_str(cfg, MLC_CFG_AUDIT_SINK);
    if (sink && strcmp(sink, "stdout") == 0) {
        s->sink = stdout;
    } else if (sink && strncmp(sink, "file:", 5) == 0 && sink[5]) {
        s->sink = fopen(sink + 5, "a");
        if (!s->sink) {
            snprintf(err, errsz, "MLC_AUDIT_SINK: cannot open %s for appending: %s", sink + 5,
                     strerror(errno));
            goto fail;
        }
        s->sink_owned = true;
    } else if (sink) {
        snprintf(err, errsz, "MLC_AUDIT_SINK: must be stdout or file:PATH");
        goto fail;
    }
    s->dry_run = mlc_config_bool(cfg, MLC_CFG_DRY_RUN);
    s->audit_max = mlc_config_int(cfg, MLC_CFG_AUDIT_MAX_ENTRIES);
    s->audit_retention_ms = mlc_config_int(cfg, MLC_CFG_AUDIT_RETENTION_DAYS) * 86400000LL;
    s->nworkers = (unsigned)mlc_config_int(cfg, MLC_CFG_WORKERS);
    s->workers = mlc_calloc(s->nworkers + 1, sizeof *s->workers);
    mlc_log_kv(MLC_LOG_INFO, "sync engine ready",
               json_pack("{s:s, s:s}", "mapping", file ? file : "(shipped)", "mappingVersion",
                         mlc_mapping_version(s->mapping)));
    *out = s;
    return MLC_OK;
fail:
    mlc_sync_free(s);
    return MLC_EINVAL;
}

void mlc_sync_free(struct mlc_sync *s)
{
    if (!s)
        return;
    for (unsigned i = 0; s->workers && i < s->nworkers; i++) {
        mlc_ns_session_free(s->workers[i].ns);
        mlc_dv_session_free(s->workers[i].dv);
    }
    free(s->workers);
    mlc_netsuite_free(s->ns);
    mlc_dataverse_free(s->dv);
    if (s->sink_owned && s->sink)
        fclose(s->sink);
    if (s->mapping) {
        mlc_mapping_install(NULL);
        mlc_mapping_free(s->mapping);
    }
    pthread_mutex_destroy(&s->sink_mu);
    free(s);
}

static struct sync_worker *worker_sessions(struct mlc_sync *s, unsigned index, char *err,
                                           size_t errsz)
{
    if (index >= s->nworkers) {
        snprintf(err, errsz, "worker index %u out of range", index);
        return NULL;
    }
    struct sync_worker *w = &s->workers[index];
    if (!w->ns && mlc_ns_session_new(s->ns, &w->ns, err, errsz) != MLC_OK)
        return NULL;
    if (!w->dv && mlc_dv_session_new(s->dv, &w->dv, err, errsz) != MLC_OK)
        return NULL;
    return w;
}

/* Record ids of a job: "recordId" (one) or "recordIds" (up to MLC_NS_BATCH). */
static size_t job_ids(json_t *data, long long *ids, size_t max, char *err, size_t errsz)
{
    json_t *one = json_object_get(data, "recordId");
    json_t *many = json_object_get(data, "recordIds");
    size_t n = 0;
    json_t *list = many ? many : json_pack("[O]", one ? one : json_null());
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > max) {
        snprintf(err, errsz, "the job names no record ids (or more than %zu)", max);
        goto out;
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        long long id = 0;
        if (json_is_integer(v)) {
            id = (long long)json_integer_value(v);
        } else if (json_is_string(v)) {
            uint64_t u;
            if (mlc_parse_u64(json_string_value(v), &u) == MLC_OK && u <= (uint64_t)LLONG_MAX)
                id = (long long)u;
        }
        if (id <= 0) {
            snprintf(err, errsz, "record id #%zu is not a positive integer", i);
            n = 0;
            goto out;
        }
        ids[n++] = id;
    }
out:
    if (!many)
        json_decref(list);
    return n;
}

/* A bulk job for one record of a kind may take other waiting bulk jobs of that kind along (one
 * NetSuite read and bulk Dataverse writes for all of them). */
#define GATHER_MAX 200

static bool batchable(const struct mlc_job *job)
{
    const char *op = json_string_value(json_object_get(job->data, "op"));
    return job->lane == MLC_LANE_BULK && mlc_ns_type_parse(job->kind) >= 0 &&
           !(op && strcmp(op, "delete") == 0) && !json_object_get(job->data, "recordIds") &&
           !json_is_true(json_object_get(job->data, "force"));
}

static void run(struct mlc_job_ctx *ctx, const struct mlc_job *job, struct mlc_job_result *res,
                struct mlc_job **extra, size_t nextra, struct mlc_job_result *xres);

/* Records the outcome of a job this handler took itself (the pool records its own). */
static void finish(struct mlc_job_ctx *ctx, struct mlc_job *x, const struct mlc_job_result *r)
{
    struct mlc_queue *q = ctx->app->queue;
    char fp[17], labels[128];
    mlc_fingerprint(x->kind, r->error_class[0] ? r->error_class : r->reason, fp);
    const char *outcome = "done";
    if (r->status == MLC_JOB_DONE) {
        mlc_queue_ack(q, ctx->redis, x);
    } else if (r->status == MLC_JOB_RETRY) {
        bool dead = false;
        mlc_queue_retry(q, ctx->redis, x, r->retry_after_ms, r->reason, fp, &dead);
        outcome = dead ? "dead" : "retry";
    } else {
        mlc_queue_dead(q, ctx->redis, x, r->reason, fp, true);
        outcome = "dead";
    }
    snprintf(labels, sizeof labels, "kind=\"%s\",outcome=\"%s\"", x->kind, outcome);
    mlc_metrics_add(ctx->app->metrics, "mlc_jobs_total", labels, 1);
}

static void handle(struct mlc_job_ctx *ctx, const struct mlc_job *job, struct mlc_job_result *res)
{
    struct mlc_sync *s = ctx->app->sync;
    if (!s || !batchable(job)) {
        run(ctx, job, res, NULL, 0, NULL);
        return;
    }
    char consumer[96], host[48] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(consumer, sizeof consumer, "%.40s-%d-sync%u", host, (int)getpid(), ctx->worker);
    struct mlc_job **extra = mlc_calloc(GATHER_MAX, sizeof *extra);
    size_t n = 0;
    while (n + 1 < GATHER_MAX && !atomic_load(&ctx->app->stopping)) {
        struct mlc_job *x = NULL;
        if (mlc_queue_next(ctx->app->queue, ctx->redis, consumer, true, 0, &x) != MLC_OK || !x)
            break;
        if (batchable(x) && strcmp(x->kind, job->kind) == 0) {
            extra[n++] = x;
            mlc_jobs_hold(ctx, consumer, x); /* heartbeat it while the batch runs */
            continue;
        }
        /* a live job (or another kind) met on the way: handled now, on its own */
        struct mlc_job_result r;
        memset(&r, 0, sizeof r);
        run(ctx, x, &r, NULL, 0, NULL);
        finish(ctx, x, &r);
        mlc_job_free(x);
    }
    struct mlc_job_result *xres = mlc_calloc(n + 1, sizeof *xres);
    run(ctx, job, res, extra, n, xres);
    for (size_t i = 0; i < n; i++) {
        finish(ctx, extra[i], &xres[i]);
        mlc_job_free(extra[i]);
    }
    mlc_jobs_release(ctx);
    free(xres);
    free(extra);
}

/* The outcome of the job for record type:id of a batch: its own record's failure when it had
 * one, the batch's when the batch failed as a whole, else done. */
static void job_outcome(const struct sync_job *j, const char *type, long long id,
                        struct mlc_job_result *res)
{
    char key[64];
    snprintf(key, sizeof key, "%s:%lld", type, id);
    json_t *b = json_object_get(j->bad, key);
    bool whole = (j->fail || j->retry) && json_object_size(j->bad) == 0;
    memset(res, 0, sizeof *res);
    if (b) {
        res->status = json_is_true(json_object_get(b, "retry")) ? MLC_JOB_RETRY : MLC_JOB_FAIL;
        res->retry_after_ms = (int64_t)json_integer_value(json_object_get(b, "after"));
        snprintf(res->reason, sizeof res->reason, "%s",
                 json_string_value(json_object_get(b, "reason")));
        snprintf(res->error_class, sizeof res->error_class, "%s",
                 json_string_value(json_object_get(b, "cls")));
    } else if (whole) {
        res->status = j->fail ? MLC_JOB_FAIL : MLC_JOB_RETRY;
        res->retry_after_ms = j->retry_after_ms;
        snprintf(res->reason, sizeof res->reason, "%s", j->reason);
        snprintf(res->error_class, sizeof res->error_class, "%s", j->cls);
    } else {
        res->status = MLC_JOB_DONE;
    }
}

static void run(struct mlc_job_ctx *ctx, const struct mlc_job *job, struct mlc_job_result *res,
                struct mlc_job **extra, size_t nextra, struct mlc_job_result *xres)
{
    struct mlc_sync *s = ctx->app->sync;
    int t = mlc_ns_type_parse(job->kind);
    bool dv_event = strcmp(job->kind, "dataverse") == 0;
    char err[512];
    if (!s || (t < 0 && !dv_event)) {
        res->status = MLC_JOB_FAIL;
        snprintf(res->reason, sizeof res->reason, "the sync engine is not configured for '%s'",
                 job->kind);
        snprintf(res->error_class, sizeof res->error_class, "sync not configured");
        return;
    }
    long long *ids = mlc_calloc(MLC_NS_BATCH + GATHER_MAX, sizeof *ids);
    size_t n = dv_event ? 1 : job_ids(job->data, ids, MLC_NS_BATCH, err, sizeof err);
    if (n == 0) {
        res->status = MLC_JOB_FAIL;
        snprintf(res->reason, sizeof res->reason, "invalid job: %.200s", err);
        snprintf(res->error_class, sizeof res->error_class, "invalid job");
        free(ids);
        return;
    }
    for (size_t i = 0; i < nextra; i++) {
        long long one = 0;
        if (job_ids(extra[i]->data, &one, 1, err, sizeof err) != 1)
            continue;
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++)
            dup = ids[k] == one;
        if (!dup)
            ids[n++] = one;
    }
    struct sync_worker *w = worker_sessions(s, ctx->worker, err, sizeof err);
    if (!w) {
        res->status = MLC_JOB_RETRY;
        snprintf(res->reason, sizeof res->reason, "sync session: %.200s", err);
        snprintf(res->error_class, sizeof res->error_class, "session");
        free(ids);
        return;
    }
    const char *source = json_string_value(json_object_get(job->data, "source"));
    const char *op = json_string_value(json_object_get(job->data, "op"));
    struct sync_job j = {.s = s,
                         .ctx = ctx,
                         .job = job,
                         .w = w,
                         .bad = json_object(),
                         .source = source ? source : "unknown",
                         .force = json_is_true(json_object_get(job->data, "force"))};
    const struct mlc_queue_settings *qs = mlc_queue_settings_get(ctx->app->queue);
    j.last_attempt = job->attempts + 1 >= qs->max_attempts;
    char host[48] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(j.owner, sizeof j.owner, "%.40s-%d-%u", host, (int)getpid(), ctx->worker);
    if (dv_event) {
        sync_dataverse_event(&j, job->data);
    } else if (op && strcmp(op, "delete") == 0) {
        for (size_t i = 0; i < n; i++)
            sync_delete(&j, (enum mlc_ns_type)t, ids[i]);
    } else if (t == MLC_NS_CUSTOMER) {
        sync_customers(&j, ids, n);
    } else if (t == MLC_NS_CONTACT) {
        sync_contacts(&j, ids, n);
    } else {
        sync_orders(&j, ids, n);
    }
    if ((j.fail || j.retry) && !j.reason[0]) {
        MLC_BUG("a sync failure without a reason");
        snprintf(j.reason, sizeof j.reason, "sync failed (no detail)");
    }
    if (nextra == 0 || dv_event) {
        /* one job: the whole outcome is its own */
        res->status = j.fail ? MLC_JOB_FAIL : j.retry ? MLC_JOB_RETRY : MLC_JOB_DONE;
        res->retry_after_ms = j.retry ? j.retry_after_ms : 0;
        snprintf(res->reason, sizeof res->reason, "%s", j.reason);
        snprintf(res->error_class, sizeof res->error_class, "%s", j.cls);
    } else {
        job_outcome(&j, job->kind, ids[0], res);
        for (size_t i = 0; i < nextra; i++) {
            long long one = 0;
            job_ids(extra[i]->data, &one, 1, err, sizeof err);
            job_outcome(&j, extra[i]->kind, one, &xres[i]);
        }
    }
    json_decref(j.bad);
    free(ids);
}

static const struct mlc_job_handler handlers[] = {
    {"customer", handle},
    {"contact", handle},
    {"salesorder", handle},
    {"dataverse", handle},
};

const struct mlc_job_handler *mlc_sync_handlers(size_t *n)
{
    *n = sizeof handlers / sizeof handlers[0];
    return handlers;
}

void sync_count(struct sync_job *j, const char *type, const struct rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (recs[i].act == ACT_NONE || recs[i].busy)
            continue;
        char labels[96];
        snprintf(labels, sizeof labels, "type=\"%s\",action=\"%s\"", type,
                 sync_action_name(recs[i].act));
        mlc_metrics_add(j->ctx->app->metrics, "mlc_sync_records_total", labels, 1);
    }
}

enum mlc_rc mlc_sync_mapping_load(const struct mlc_config *cfg, struct mlc_mapping **out, char *err,
                                  size_t errsz)
{
    char path[PATH_MAX];
    const char *file = mlc_config_str(cfg, MLC_CFG_MAPPING_FILE);
    *out = NULL;
    if (!file) {
        if (!find_default_mapping(path, sizeof path)) {
            snprintf(err, errsz,
                     "MLC_MAPPING_FILE: not set and the shipped "
                     "deploy/config/mapping.json was not found");
            return MLC_EINVAL;
        }
        file = path;
    }
    enum mlc_rc rc = mlc_mapping_load(file, out, err, errsz);
    if (rc == MLC_EINVAL) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", err);
        snprintf(err, errsz, "MLC_MAPPING_FILE: %s", tmp);
    }
    return rc;
}
