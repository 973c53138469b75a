/* `backfill --dry-run`: the backfill's records synced in this process by the sync engine in
 * dry-run mode (MLC_DRY_RUN): NetSuite is read and every record mapped and compared as in a real
 * run, but nothing is written to Dataverse or the record state; each write is audited as
 * would_create / would_update (changes before -> after) and printed. Nothing is enqueued, so a dry
 * run never meets (or coalesces with) the real jobs of a running `serve`. */
#include "mlc/app.h"
#include "mlc/config.h"
#include "mlc/dayone.h"
#include "mlc/log.h"
#include "mlc/metrics.h"
#include "mlc/netsuite.h"
#include "mlc/queue.h"
#include "mlc/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct counts {
    long long records, would_create, would_update, would_delete, unchanged, other, failed;
};

/* The newest audit entry id ("0-0" when none) into out. */
static void audit_tail(struct mlc_queue *q, struct mlc_redis *c, char *out, size_t outsz)
{
    char key[200];
    mlc_queue_key(q, key, sizeof key, "audit");
    const char *argv[] = {"XREVRANGE", key, "+", "-", "COUNT", "1"};
    json_t *r = NULL;
    snprintf(out, outsz, "0-0");
    if (mlc_redis_exec(c, &r, NULL, 0, 6, argv) == MLC_OK) {
        const char *id = json_string_value(json_array_get(json_array_get(r, 0), 0));
        if (id)
            snprintf(out, outsz, "%s", id);
    }
    json_decref(r);
}

static void print_change(const char *k, json_t *ch)
{
    char *b = json_dumps(json_object_get(ch, "before"), JSON_ENCODE_ANY | JSON_COMPACT);
    char *a = json_dumps(json_object_get(ch, "after"), JSON_ENCODE_ANY | JSON_COMPACT);
    printf("    %s: %.200s -> %.200s\n", k, b ? b : "null", a ? a : "null");
    free(b);
    free(a);
}

/* Prints and counts the audit entries written after `after` (the dry run's own). */
static void report(struct mlc_queue *q, struct mlc_redis *c, char *after, size_t aftersz,
                   struct counts *n)
{
    char key[200];
    mlc_queue_key(q, key, sizeof key, "audit");
    for (;;) {
        const char *argv[] = {"XRANGE", key, after, "+", "COUNT", "1000"};
        json_t *r = NULL;
        if (mlc_redis_exec(c, &r, NULL, 0, 6, argv) != MLC_OK || json_array_size(r) == 0) {
            json_decref(r);
            return;
        }
        size_t i, got = 0;
        json_t *ent;
        json_array_foreach(r, i, ent)
        {
            const char *id = json_string_value(json_array_get(ent, 0));
            if (!id || strcmp(id, after) == 0)
                continue;
            got++;
            snprintf(after, aftersz, "%s", id);
            json_t *f = json_array_get(ent, 1);
            json_t *e = NULL;
            for (size_t x = 0; x + 1 < json_array_size(f); x += 2)
                if (json_string_value(json_array_get(f, x)) &&
                    strcmp(json_string_value(json_array_get(f, x)), "e") == 0)
                    e = json_loads(json_string_value(json_array_get(f, x + 1)), 0, NULL);
            const char *action = json_string_value(json_object_get(e, "action"));
            if (!action || !json_is_true(json_object_get(e, "dryRun"))) {
                json_decref(e);
                continue; /* another process's entry */
            }
            n->records++;
            const char *type = json_string_value(json_object_get(e, "type"));
            const char *ns = json_string_value(json_object_get(e, "nsId"));
            const char *dv = json_string_value(json_object_get(e, "dvId"));
            if (strncmp(action, "would_", 6) == 0) {
                if (strcmp(action, "would_create") == 0)
                    n->would_create++;
                else if (strcmp(action, "would_update") == 0)
                    n->would_update++;
                else
                    n->would_delete++;
                printf("would %s %s %s%s%s\n", action + 6, type ? type : "?", ns ? ns : "?",
                       dv ? " -> " : "", dv ? dv : "");
                const char *k;
                json_t *ch;
                json_object_foreach(json_object_get(e, "changes"), k, ch) print_change(k, ch);
            } else if (strcmp(action, "unchanged") == 0) {
                n->unchanged++;
            } else if (strcmp(action, "failed") == 0 || strcmp(action, "dead") == 0) {
                n->failed++;
                const char *why = json_string_value(json_object_get(e, "error"));
                printf("failed %s %s: %.300s\n", type ? type : "?", ns ? ns : "?", why ? why : "");
            } else {
                n->other++;
            }
            json_decref(e);
        }
        json_decref(r);
        if (got == 0)
            return;
    }
}

int mlc_dryrun_backfill(int t, int64_t since_ms, int64_t until_ms)
{
    static struct mlc_app app; /* as serve's: the sync engine keeps a pointer to it */
    char err[512];
    int rc = 1;
    struct mlc_netsuite *ns = NULL;
    struct mlc_ns_session *nss = NULL;
    struct mlc_redis *c = NULL;
    if (mlc_config_load(&app.cfg, NULL, NULL, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector: configuration error: %s\n", err);
        return 2;
    }
    mlc_log_set_level(
        (enum mlc_log_level)mlc_log_level_parse(mlc_config_str(&app.cfg, MLC_CFG_LOG_LEVEL)));
    app.cfg.num[MLC_CFG_DRY_RUN] = 1; /* the engine sends nothing and records nothing */
    if (mlc_config_int(&app.cfg, MLC_CFG_WORKERS) < 1)
        app.cfg.num[MLC_CFG_WORKERS] = 1;
    app.metrics = mlc_metrics_new();
    app.started_ms = mlc_now_ms();
    struct mlc_queue_settings qs;
    mlc_queue_settings_from_config(&app.cfg, &qs);
    if (mlc_queue_new(&qs, app.metrics, &app.queue, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector: configuration error: %s\n", err);
        rc = 2;
        goto out;
    }
    if (mlc_redis_connect(app.queue, &c, err, sizeof err) != MLC_OK ||
        mlc_queue_prepare(app.queue, c, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector backfill --dry-run: Redis: %s\n", err);
        goto out;
    }
    enum mlc_rc src = mlc_sync_new(&app, &app.sync, err, sizeof err);
    if (src != MLC_OK || !app.sync) {
        fprintf(stderr, "ml-connector: configuration error: %s\n",
                src != MLC_OK ? err
                              : "NetSuite and Dataverse must both be configured for a dry run");
        rc = 2;
        goto out;
    }
    struct mlc_ns_settings ss;
    mlc_ns_settings_from_config(&app.cfg, &ss);
    if (mlc_netsuite_new(&ss, app.queue, app.metrics, &ns, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector: configuration error: %s\n", err);
        rc = 2;
        goto out;
    }
    if (mlc_ns_session_new(ns, &nss, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector backfill --dry-run: %s\n", err);
        goto out;
    }
    size_t nh = 0;
    const struct mlc_job_handler *hs = mlc_sync_handlers(&nh), *h = NULL;
    const char *kind = mlc_ns_type_name((enum mlc_ns_type)t);
    for (size_t i = 0; i < nh; i++)
        if (strcmp(hs[i].kind, kind) == 0)
            h = &hs[i];
    if (!h) {
        fprintf(stderr, "ml-connector backfill --dry-run: no sync handler for %s\n", kind);
        goto out;
    }
    char tail[64];
    audit_tail(app.queue, c, tail, sizeof tail);
    struct counts n = {0};
    struct mlc_job_ctx ctx = {.app = &app, .worker = 0, .redis = c};
    long long after = 0, total = 0;
    int64_t t0 = mlc_mono_ms();
    for (;;) {
        json_t *rows = NULL;
        bool more = false;
        long long remaining = -1;
        struct mlc_ns_err e;
        if (mlc_ns_changes(nss, (enum mlc_ns_type)t, since_ms, until_ms, after, 1000, &rows, &more,
                           &remaining, &e) != MLC_OK) {
            fprintf(stderr, "ml-connector backfill --dry-run: NetSuite: %s\n", e.msg);
            goto out;
        }
        size_t cnt = json_array_size(rows);
        if (cnt) {
            json_t *ids = json_array();
            size_t i;
            json_t *row;
            json_array_foreach(rows, i, row) json_array_append(ids, json_object_get(row, "id"));
            after =
                (long long)json_integer_value(json_object_get(json_array_get(rows, cnt - 1), "id"));
            struct mlc_job job = {.lane = MLC_LANE_BULK, .enqueued_ms = mlc_now_ms()};
            snprintf(job.entry_id, sizeof job.entry_id, "dry-run");
            snprintf(job.kind, sizeof job.kind, "%s", kind);
            job.data = json_pack("{s:o, s:s, s:s, s:b}", "recordIds", ids, "op", "change", "source",
                                 "netsuite_backfill_dry_run", "dryRun", 1);
            /* busy records (held by a running serve) are tried again a few times */
            for (int attempt = 0; attempt < 5; attempt++) {
                struct mlc_job_result res;
                memset(&res, 0, sizeof res);
                h->fn(&ctx, &job, &res);
                if (res.status != MLC_JOB_RETRY)
                    break;
                fprintf(stderr, "backfill --dry-run: %s; trying again\n", res.reason);
                mlc_sleep_ms(res.retry_after_ms > 0 ? res.retry_after_ms : 1000);
            }
            json_decref(job.data);
            total += (long long)cnt;
        }
        json_decref(rows);
        fprintf(stderr, "backfill --dry-run: %lld records (%.1f s)\n", total,
                (double)(mlc_mono_ms() - t0) / 1000.0);
        if (!more || cnt == 0)
            break;
    }
    report(app.queue, c, tail, sizeof tail, &n);
    printf("{\"type\":\"%s\",\"dryRun\":true,\"records\":%lld,\"wouldCreate\":%lld,"
           "\"wouldUpdate\":%lld,\"wouldDelete\":%lld,\"unchanged\":%lld,\"other\":%lld,"
           "\"failed\":%lld}\n",
           kind, total, n.would_create, n.would_update, n.would_delete, n.unchanged, n.other,
           n.failed);
    rc = n.failed ? 1 : 0;
out:
    mlc_ns_session_free(nss);
    mlc_netsuite_free(ns);
    mlc_sync_free(app.sync);
    mlc_redis_free(c);
    mlc_queue_free(app.queue);
    mlc_metrics_free(app.metrics);
    mlc_config_free(&app.cfg);
    return rc;
}
