/* The scheduled reconcile of `serve`: every MLC_RECONCILE_INTERVAL_S the replica holding the
 * reconcile lease runs the same reconcile as the command (repairs on the bulk lane, report in
 * reconcile:latest) and exports its outcome as gauges, the unexplained count first. */
#include "internal.h"
#include "mlc/app.h"
#include "mlc/log.h"
#include "mlc/metrics.h"
#include "mlc/queue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct mlc_reconciler {
    struct mlc_app *app;
    pthread_t thread;
    atomic_bool stop;
    int64_t interval_ms;
    char owner[96];
};

void mlc_reconcile_describe_metrics(struct mlc_metrics *m)
{
    mlc_metrics_describe(m, "mlc_reconcile_unexplained", MLC_METRIC_GAUGE,
                         "Differences the last reconcile could neither explain nor repair "
                         "(should be 0)");
    mlc_metrics_describe(m, "mlc_reconcile_differences", MLC_METRIC_GAUGE,
                         "Differences found by the last reconcile, by resolution (explained, "
                         "repaired, unexplained)");
    mlc_metrics_describe(m, "mlc_reconcile_last_run_timestamp_seconds", MLC_METRIC_GAUGE,
                         "When the last reconcile of this replica finished (Unix seconds)");
    mlc_metrics_describe(m, "mlc_reconcile_runs_total", MLC_METRIC_COUNTER,
                         "Reconciles run by this replica, by outcome (ok, unexplained, failed)");
}

static void run_once(struct mlc_reconciler *r)
{
    struct mlc_metrics *m = r->app->metrics;
    struct dayone d;
    json_t *rep = NULL;
    /* the mapping serve installed stays installed: the workers' readers use it */
    int rc = dayone_open_ex(&d, "reconcile", true, false);
    if (rc == 0)
        rc = reconcile_run(&d, true, &rep);
    dayone_close(&d);
    if (!rep) {
        mlc_log(MLC_LOG_ERROR, "reconcile: the scheduled run failed (see the lines above)");
        mlc_metrics_add(m, "mlc_reconcile_runs_total", "outcome=\"failed\"", 1);
        return;
    }
    long long u = (long long)json_integer_value(json_object_get(rep, "unexplained"));
    static const char *const res[] = {"explained", "repaired", "unexplained"};
    for (size_t i = 0; i < 3; i++) {
        char labels[48];
        snprintf(labels, sizeof labels, "resolution=\"%s\"", res[i]);
        mlc_metrics_set(m, "mlc_reconcile_differences", labels,
                        (double)json_integer_value(json_object_get(rep, res[i])));
    }
    mlc_metrics_set(m, "mlc_reconcile_unexplained", NULL, (double)u);
    mlc_metrics_set(m, "mlc_reconcile_last_run_timestamp_seconds", NULL,
                    (double)mlc_now_ms() / 1000.0);
    mlc_metrics_add(m, "mlc_reconcile_runs_total", u ? "outcome=\"unexplained\"" : "outcome=\"ok\"",
                    1);
    mlc_log_kv(u ? MLC_LOG_WARN : MLC_LOG_INFO, "reconciled",
               json_pack("{s:I, s:O, s:O, s:O}", "differences",
                         (json_int_t)json_array_size(json_object_get(rep, "differences")),
                         "explained", json_object_get(rep, "explained"), "repaired",
                         json_object_get(rep, "repaired"), "unexplained",
                         json_object_get(rep, "unexplained")));
    json_decref(rep);
}

static void *loop(void *arg)
{
    struct mlc_reconciler *r = arg;
    struct mlc_redis *c = NULL;
    int64_t due = mlc_mono_ms() + r->interval_ms;
    while (!atomic_load(&r->stop) && !atomic_load(&r->app->stopping)) {
        if (mlc_mono_ms() < due) {
            mlc_sleep_ms(200);
            continue;
        }
        due = mlc_mono_ms() + r->interval_ms;
        char err[256];
        if (!c && mlc_redis_connect(r->app->queue, &c, err, sizeof err) != MLC_OK) {
            mlc_log(MLC_LOG_WARN, "reconcile: Redis: %s (next try in one interval)", err);
            c = NULL;
            continue;
        }
        /* one replica reconciles per interval: the lease outlives the run and is not given up,
         * so another replica does not start a second run right after */
        bool held = false;
        if (mlc_lease_acquire(r->app->queue, c, "lease:reconcile", r->owner,
                              r->interval_ms > 5000 ? r->interval_ms - 1000 : r->interval_ms,
                              &held) != MLC_OK) {
            mlc_redis_free(c);
            c = NULL;
            continue;
        }
        if (held)
            run_once(r);
    }
    mlc_redis_free(c);
    return NULL;
}

enum mlc_rc mlc_reconciler_start(struct mlc_app *app, struct mlc_reconciler **out, char *err,
                                 size_t errsz)
{
    *out = NULL;
    long long s = mlc_config_int(&app->cfg, MLC_CFG_RECONCILE_INTERVAL_S);
    if (s <= 0 || !app->sync)
        return MLC_OK;
    struct mlc_reconciler *r = mlc_calloc(1, sizeof *r);
    r->app = app;
    r->interval_ms = s * 1000;
    char host[48] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(r->owner, sizeof r->owner, "%.40s-%d-reconcile", host, (int)getpid());
    if (pthread_create(&r->thread, NULL, loop, r) != 0) {
        snprintf(err, errsz, "reconcile: cannot start its thread");
        free(r);
        return MLC_ERR;
    }
    *out = r;
    return MLC_OK;
}

void mlc_reconciler_stop(struct mlc_reconciler *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    free(r);
}
