/* The application: one struct built in main and passed down. */
#ifndef MLC_APP_H
#define MLC_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include "mlc/config.h"
#include "mlc/jobs.h"

struct mlc_metrics;
struct mlc_queue;
struct mlc_http_server;
struct mlc_ingest;
struct mlc_sync;

struct mlc_app {
    struct mlc_config cfg;
    struct mlc_metrics *metrics;
    struct mlc_queue *queue;
    struct mlc_ingest *ingest;
    struct mlc_http_server *http;
    struct mlc_jobs *jobs;
    struct mlc_sync *sync; /* the sync engine (NULL: ingest only) */
    atomic_bool stopping;  /* SIGTERM received: /readyz answers 503 */
    /* MLC_ADMIN_TOKENS as the admin API checks them (NULL: the configuration's); SIGHUP swaps
     * in the re-read value under admin_mu */
    pthread_mutex_t admin_mu;
    char *admin_tokens;
    int64_t started_ms;
};

/* Declares every metric family the service exports. */
void mlc_app_describe_metrics(struct mlc_metrics *m);

#endif
