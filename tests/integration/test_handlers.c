/* Test-build job handlers: record every execution and every effect in Redis, fail on command.
 *
 * Control keys (under the configured prefix):
 *   test:mode      "ok" (default) | "retry" | "fatal" | "sleep:<ms>" | "retry-after:<ms>"
 *   test:fail:<k>  when set, jobs whose key is k fail retryably (per-job control)
 * Records:
 *   test:exec      hash jobkey -> executions
 *   test:entry     hash stream entry id -> jobkey (maps pending entries to jobs)
 *   test:effects   hash jobkey -> first entry that completed its effect (HSETNX: once per job)
 *   test:times     list "jobkey ms" per execution start, for backoff checks
 */
#include "mlc/app.h"
#include "mlc/jobs.h"
#include "mlc/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void cmd(struct mlc_job_ctx *ctx, json_t **out, int argc, const char **argv)
{
    char err[256];
    mlc_redis_exec(ctx->redis, out, err, sizeof err, argc, argv);
}

static void jobkey(const struct mlc_job *job, char *out, size_t outsz)
{
    const char *k = json_string_value(json_object_get(job->data, "eventId"));
    if (!k)
        k = json_string_value(json_object_get(job->data, "operationId"));
    if (!k || !*k)
        k = job->entry_id;
    snprintf(out, outsz, "%s", k);
}

static void handle(struct mlc_job_ctx *ctx, const struct mlc_job *job, struct mlc_job_result *res)
{
    struct mlc_queue *q = ctx->app->queue;
    char key[256], jk[160], now[200];
    jobkey(job, jk, sizeof jk);
    snprintf(now, sizeof now, "%s %lld", jk, (long long)mlc_now_ms());

    mlc_queue_key(q, key, sizeof key, "test:exec");
    cmd(ctx, NULL, 4, (const char *[]){"HINCRBY", key, jk, "1"});
    mlc_queue_key(q, key, sizeof key, "test:entry");
    cmd(ctx, NULL, 4, (const char *[]){"HSET", key, job->entry_id, jk});
    mlc_queue_key(q, key, sizeof key, "test:times");
    cmd(ctx, NULL, 3, (const char *[]){"RPUSH", key, now});

    json_t *mode = NULL;
    mlc_queue_key(q, key, sizeof key, "test:mode");
    cmd(ctx, &mode, 2, (const char *[]){"GET", key});
    const char *m = json_is_string(mode) ? json_string_value(mode) : "ok";
    json_t *perjob = NULL;
    mlc_queue_key(q, key, sizeof key, "test:fail:%s", jk);
    cmd(ctx, &perjob, 2, (const char *[]){"EXISTS", key});
    bool fail_this = json_integer_value(perjob) == 1;
    json_decref(perjob);

    if (strncmp(m, "sleep:", 6) == 0)
        mlc_sleep_ms(strtoll(m + 6, NULL, 10));
    if (fail_this || strcmp(m, "retry") == 0) {
        res->status = MLC_JOB_RETRY;
        snprintf(res->reason, sizeof res->reason, "test handler: simulated retryable failure");
        snprintf(res->error_class, sizeof res->error_class, "simulated failure");
    } else if (strncmp(m, "retry-after:", 12) == 0) {
        res->status = MLC_JOB_RETRY;
        res->retry_after_ms = strtoll(m + 12, NULL, 10);
        snprintf(res->reason, sizeof res->reason, "test handler: 429 with Retry-After");
        snprintf(res->error_class, sizeof res->error_class, "throttled");
    } else if (strcmp(m, "fatal") == 0) {
        res->status = MLC_JOB_FAIL;
        snprintf(res->reason, sizeof res->reason, "test handler: simulated permanent failure");
        snprintf(res->error_class, sizeof res->error_class, "permanent failure");
    } else {
        mlc_queue_key(q, key, sizeof key, "test:effects");
        cmd(ctx, NULL, 4, (const char *[]){"HSETNX", key, jk, job->entry_id});
        res->status = MLC_JOB_DONE;
    }
    json_decref(mode);
}

static const struct mlc_job_handler handlers[] = {
    {"customer", handle},
    {"contact", handle},
    {"salesorder", handle},
    {"dataverse", handle},
};

const struct mlc_job_handler *mlc_test_handlers(size_t *n);
const struct mlc_job_handler *mlc_test_handlers(size_t *n)
{
    *n = sizeof handlers / sizeof handlers[0];
    return handlers;
}
