/* Jobs: the worker pool and the handler table by job kind. */
#ifndef MLC_JOBS_H
#define MLC_JOBS_H

#include "mlc/queue.h"

struct mlc_app;

enum mlc_job_status { MLC_JOB_DONE = 0, MLC_JOB_RETRY, MLC_JOB_FAIL };

struct mlc_job_result {
    enum mlc_job_status status;
    int64_t retry_after_ms;  /* RETRY: server-given delay, 0 = backoff */
    char reason[256];        /* RETRY/FAIL: human-readable */
    char error_class[128];   /* RETRY/FAIL: what identifies the failure for the fingerprint */
};

struct mlc_job_ctx {
    struct mlc_app *app;
    unsigned worker;         /* 0-based thread index */
    struct mlc_redis *redis; /* the worker's own connection */
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
/* Jobs currently being processed. */
unsigned mlc_jobs_in_flight(const struct mlc_jobs *p);

#endif
