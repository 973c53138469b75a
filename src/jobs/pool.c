/* Worker pool: N threads, each with its own Redis connection, plus the retry scheduler thread. */
#include "mlc/jobs.h"
#include "mlc/app.h"
#include "mlc/log.h"
#include "mlc/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct worker {
    struct mlc_jobs *pool;
    unsigned index;
    bool bulk_ok;
    pthread_t th;
    char consumer[96];
    pthread_mutex_t mu; /* guards the current job, read by the scheduler's heartbeat */
    char current[48];   /* entry id of the job in progress, "" when idle */
    enum mlc_lane current_lane;
    struct held { /* entries a handler gathered itself (mlc_jobs_hold), guarded by mu */
        char consumer[96];
        char id[48];
        enum mlc_lane lane;
    } * held;
    size_t nheld, capheld;
};

struct mlc_jobs {
    struct mlc_app *app;
    const struct mlc_job_handler *handlers;
    size_t nhandlers;
    struct worker *workers;
    unsigned nworkers;
    pthread_t scheduler;
    atomic_bool stop;
    atomic_uint in_flight;
    atomic_uint running; /* threads not yet finished */
    pthread_mutex_t mu;
    pthread_cond_t done;
};

static const struct mlc_job_handler *find_handler(const struct mlc_jobs *p, const char *kind)
{
    for (size_t i = 0; i < p->nhandlers; i++)
        if (strcmp(p->handlers[i].kind, kind) == 0)
            return &p->handlers[i];
    return NULL;
}

static struct mlc_redis *connect_retry(struct mlc_jobs *p, const char *who)
{
    int64_t backoff = 100;
    bool logged = false;
    while (!atomic_load(&p->stop)) {
        struct mlc_redis *c = NULL;
        char err[256];
        if (mlc_redis_connect(p->app->queue, &c, err, sizeof err) == MLC_OK) {
            if (logged)
                mlc_log(MLC_LOG_INFO, "%s reconnected to Redis", who);
            return c;
        }
        if (!logged)
            mlc_log(MLC_LOG_WARN, "%s: %s; retrying with backoff", who, err);
        logged = true;
        mlc_sleep_ms(backoff);
        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
    }
    return NULL;
}

/* A pool thread is finishing: wake mlc_jobs_stop. */
static void thread_done(struct mlc_jobs *p)
{
    pthread_mutex_lock(&p->mu);
    atomic_fetch_sub(&p->running, 1);
    pthread_cond_broadcast(&p->done);
    pthread_mutex_unlock(&p->mu);
}

static void record_outcome(struct mlc_jobs *p, const struct mlc_job *job, const char *outcome,
                           double secs)
{
    char labels[128];
    snprintf(labels, sizeof labels, "kind=\"%s\",outcome=\"%s\"", job->kind, outcome);
    mlc_metrics_add(p->app->metrics, "mlc_jobs_total", labels, 1);
    snprintf(labels, sizeof labels, "kind=\"%s\"", job->kind);
    mlc_metrics_observe(p->app->metrics, "mlc_job_duration_seconds", labels, secs);
}

static void run_job(struct worker *w, struct mlc_redis *c, struct mlc_job *job)
{
    struct mlc_jobs *p = w->pool;
    struct mlc_queue *q = p->app->queue;
    const struct mlc_job_handler *h = find_handler(p, job->kind);
    uint64_t t0 = mlc_mono_ns();
    if (!h) {
        char fp[17], reason[128];
        snprintf(reason, sizeof reason, "no handler for job kind '%s'", job->kind);
        mlc_fingerprint(job->kind, "no handler", fp);
        mlc_queue_dead(q, c, job, reason, fp, false);
        record_outcome(p, job, "dead", 0);
        return;
    }
    struct mlc_job_ctx ctx = {.app = p->app, .worker = w->index, .redis = c, .pool = p};
    struct mlc_job_result res;
    memset(&res, 0, sizeof res);
    h->fn(&ctx, job, &res);
    double secs = (double)(mlc_mono_ns() - t0) / 1e9;
    if (mlc_redis_broken(
            c)) /* hiredis context died inside the handler: the entry will be reclaimed */
        return;
    char fp[17];
    mlc_fingerprint(job->kind, res.error_class[0] ? res.error_class : res.reason, fp);
    switch (res.status) {
    case MLC_JOB_DONE:
        mlc_queue_ack(q, c, job);
        record_outcome(p, job, "done", secs);
        break;
    case MLC_JOB_RETRY: {
        bool dead = false;
        mlc_queue_retry(q, c, job, res.retry_after_ms, res.reason, fp, &dead);
        record_outcome(p, job, dead ? "dead" : "retry", secs);
        break;
    }
    case MLC_JOB_FAIL:
        mlc_queue_dead(q, c, job, res.reason, fp, true);
        record_outcome(p, job, "dead", secs);
        break;
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct mlc_jobs *p = w->pool;
    struct mlc_redis *c = NULL;
    int block_ms = (int)mlc_config_int(&p->app->cfg, MLC_CFG_REDIS_TIMEOUT_MS) / 2;
    if (block_ms > 1000)
        block_ms = 1000;
    while (!atomic_load(&p->stop)) {
        if (c && mlc_redis_broken(c)) {
            mlc_redis_free(c);
            c = NULL;
        }
        if (!c && !(c = connect_retry(p, w->consumer)))
            break;
        struct mlc_job *job = NULL;
        enum mlc_rc rc = mlc_queue_next(p->app->queue, c, w->consumer, w->bulk_ok, block_ms, &job);
        if (rc != MLC_OK && !job) {
            if (rc != MLC_EUNAVAIL)
                mlc_sleep_ms(200);
            continue;
        }
        if (!job)
            continue;
        atomic_fetch_add(&p->in_flight, 1);
        pthread_mutex_lock(&w->mu);
        snprintf(w->current, sizeof w->current, "%s", job->entry_id);
        w->current_lane = job->lane;
        pthread_mutex_unlock(&w->mu);
        run_job(w, c, job);
        pthread_mutex_lock(&w->mu);
        w->current[0] = '\0';
        pthread_mutex_unlock(&w->mu);
        atomic_fetch_sub(&p->in_flight, 1);
        mlc_job_free(job);
    }
    mlc_redis_free(c);
    thread_done(p);
    return NULL;
}

void mlc_jobs_hold(struct mlc_job_ctx *ctx, const char *consumer, const struct mlc_job *job)
{
    if (!ctx->pool || ctx->worker >= ctx->pool->nworkers)
        return;
    struct worker *w = &ctx->pool->workers[ctx->worker];
    pthread_mutex_lock(&w->mu);
    if (w->nheld == w->capheld) {
        w->capheld = w->capheld ? w->capheld * 2 : 64;
        w->held = mlc_realloc(w->held, w->capheld * sizeof *w->held);
    }
    struct held *h = &w->held[w->nheld++];
    snprintf(h->consumer, sizeof h->consumer, "%s", consumer);
    snprintf(h->id, sizeof h->id, "%s", job->entry_id);
    h->lane = job->lane;
    pthread_mutex_unlock(&w->mu);
}

void mlc_jobs_release(struct mlc_job_ctx *ctx)
{
    if (!ctx->pool || ctx->worker >= ctx->pool->nworkers)
        return;
    struct worker *w = &ctx->pool->workers[ctx->worker];
    pthread_mutex_lock(&w->mu);
    w->nheld = 0;
    pthread_mutex_unlock(&w->mu);
}

/* Resets the idle time of every job in progress (and of the entries handlers hold), so only
 * jobs of a dead process get reclaimed. */
static void heartbeat(struct mlc_jobs *p, struct mlc_redis *c)
{
    for (unsigned i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        char id[48];
        enum mlc_lane lane;
        pthread_mutex_lock(&w->mu);
        snprintf(id, sizeof id, "%s", w->current);
        lane = w->current_lane;
        size_t n = w->nheld;
        struct held *copy = n ? mlc_malloc(n * sizeof *copy) : NULL;
        if (n)
            memcpy(copy, w->held, n * sizeof *copy);
        pthread_mutex_unlock(&w->mu);
        if (id[0])
            mlc_queue_touch(p->app->queue, c, lane, w->consumer, id);
        for (size_t k = 0; k < n; k++)
            mlc_queue_touch(p->app->queue, c, copy[k].lane, copy[k].consumer, copy[k].id);
        free(copy);
    }
}

static void *scheduler_main(void *arg)
{
    struct mlc_jobs *p = arg;
    struct mlc_redis *c = NULL;
    int64_t every = mlc_config_int(&p->app->cfg, MLC_CFG_QUEUE_VISIBILITY_TIMEOUT_S) * 1000 / 3;
    int64_t last_beat = mlc_mono_ms();
    while (!atomic_load(&p->stop)) {
        if (c && mlc_redis_broken(c)) {
            mlc_redis_free(c);
            c = NULL;
        }
        if (!c && !(c = connect_retry(p, "scheduler")))
            break;
        int moved = 0;
        mlc_queue_schedule_due(p->app->queue, c, &moved);
        if (mlc_mono_ms() - last_beat >= every) {
            last_beat = mlc_mono_ms();
            heartbeat(p, c);
        }
        if (moved < 200)
            mlc_sleep_ms(50);
    }
    mlc_redis_free(c);
    thread_done(p);
    return NULL;
}

enum mlc_rc mlc_jobs_start(struct mlc_app *app, const struct mlc_job_handler *handlers,
                           size_t nhandlers, struct mlc_jobs **out)
{
    struct mlc_jobs *p = mlc_calloc(1, sizeof *p);
    p->app = app;
    p->handlers = handlers;
    p->nhandlers = nhandlers;
    p->nworkers = (unsigned)mlc_config_int(&app->cfg, MLC_CFG_WORKERS);
    double share = mlc_config_double(&app->cfg, MLC_CFG_BULK_WORKER_SHARE);
    unsigned nbulk = (unsigned)(share * p->nworkers);
    if (share > 0 && nbulk == 0)
        nbulk = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->done, NULL);
    p->workers = mlc_calloc(p->nworkers, sizeof *p->workers);
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    atomic_store(&p->running, p->nworkers + 1);
    for (unsigned i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        w->pool = p;
        w->index = i;
        /* The last nbulk workers also serve bulk; the first always stay on live. */
        w->bulk_ok = i >= p->nworkers - nbulk;
        snprintf(w->consumer, sizeof w->consumer, "%.40s-%d-%u", host, (int)getpid(), i);
        pthread_mutex_init(&w->mu, NULL);
        pthread_create(&w->th, NULL, worker_main, w);
    }
    pthread_create(&p->scheduler, NULL, scheduler_main, p);
    *out = p;
    return MLC_OK;
}

unsigned mlc_jobs_in_flight(const struct mlc_jobs *p)
{
    return p ? atomic_load(&((struct mlc_jobs *)(uintptr_t)p)->in_flight) : 0;
}

void mlc_jobs_stop(struct mlc_jobs *p, int64_t grace_ms)
{
    if (!p)
        return;
    atomic_store(&p->stop, true);
    int64_t deadline = mlc_mono_ms() + grace_ms + 1500; /* + one blocking read */
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->running) > 0 && mlc_mono_ms() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&p->done, &p->mu, &ts);
    }
    bool all = atomic_load(&p->running) == 0;
    pthread_mutex_unlock(&p->mu);
    if (!all) {
        mlc_log(MLC_LOG_WARN,
                "%u jobs still running after the grace period; they will be "
                "reclaimed after the visibility timeout",
                atomic_load(&p->in_flight));
        return; /* threads are left to die with the process; memory is not freed */
    }
    for (unsigned i = 0; i < p->nworkers; i++) {
        pthread_join(p->workers[i].th, NULL);
        free(p->workers[i].held);
    }
    pthread_join(p->scheduler, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->done);
    free(p->workers);
    free(p);
}
