/* Jobs: the worker pool and the handler table by job kind. */
#ifndef MLC_JOBS_H
#define MLC_JOBS_H

#include "mlc/queue.h"

struct mlc_app;

enum mlc_job_status { MLC_JOB_DONE = 0, MLC_JOB_RETRY, MLC_JOB_FAIL };

struct mlc_job_result {
    enum mlc_job_status status;
    int64_t retry_after_ms; /* RETRY: server-given delay, 0 = backoff */
    char reason[256];       /* RETRY/FAIL: human-readable */
    char error_class[128];  /* RETRY/FAIL: what identifies the failure for the fingerprint */
};

struct mlc_job_ctx {
    struct mlc_app *app;
    unsigned worker;         /* 0-based thread index */
    struct mlc_redis *redis; /* the worker's own connection */
    struct mlc_jobs *pool;   /* for mlc_jobs_hold */
};

typedef void (*mlc_job_fn)(struct mlc_job_ctx *ctx, const struct mlc_job *job,
                           struct mlc_job_result *res);

struct mlc_job_handler {
    const char *kind;
    mlc_job_fn fn;
};

struct mlc_jobs;

/* Starts app->cfg's MLC_WORKERS threads plus the retry scheduler. handlers are borrowed. */
enum mlc_rc mlc_jobs_start(struct mlc_app *app, const struct mlc_job_handler *handlers,
                           size_t nhandlers, struct mlc_jobs **out);
/* Stops taking new jobs, waits up to grace_ms for in-flight ones, joins and frees. */
void mlc_jobs_stop(struct mlc_jobs *p, int64_t grace_ms);
/* Entries a handler took from the queue itself (a batch gathered under consumer) are kept
 * alive by the worker's heartbeat, like the job it runs, until released: without it a batch
 * that outlasts MLC_QUEUE_VISIBILITY_TIMEOUT_S would be reclaimed and run twice. */
void mlc_jobs_hold(struct mlc_job_ctx *ctx, const char *consumer, const struct mlc_job *job);
/* Forgets every held entry of this worker (once their outcomes are recorded). */
void mlc_jobs_release(struct mlc_job_ctx *ctx);
/* Jobs currently being processed. */
unsigned mlc_jobs_in_flight(const struct mlc_jobs *p);

#endif
