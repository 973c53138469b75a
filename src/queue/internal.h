/* Internal to src/queue/: connection and queue structs, script helpers. */
#ifndef MLC_QUEUE_INTERNAL_H
#define MLC_QUEUE_INTERNAL_H

#include "mlc/queue.h"
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>

struct mlc_redis {
    redisContext *ctx;
    const struct mlc_queue *q;
    unsigned gen; /* the queue's primary generation when connected (Sentinel) */
    bool broken;
    int64_t last_reclaim_ms;
};

struct mlc_queue {
    struct mlc_queue_settings s;
    char *url, *prefix;
    char host[256];
    int port;
    int db;
    char *password;
    char *username;
    struct mlc_metrics *metrics;
    /* pool of connections for request threads */
    pthread_mutex_t mu;
    struct mlc_redis **pool;
    size_t npool, cappool;
    int64_t down_until_ms;
    int64_t down_backoff_ms;
    atomic_bool healthy;
    atomic_llong health_checked_ms;
    atomic_bool paused[MLC_LANE__COUNT]; /* cache refreshed by the scheduler */
    struct mlc_sentinel *sn;             /* NULL unless MLC_REDIS_SENTINELS is set (sentinel.c) */
    /* group commit: enqueue requests waiting to be written, batches in flight */
    pthread_mutex_t gc_mu;
    pthread_cond_t gc_cv;
    struct gc_req *gc_head, *gc_tail;
    int gc_inflight;
};

enum script_id {
    SCRIPT_ENQUEUE,
    SCRIPT_START,
    SCRIPT_ACK,
    SCRIPT_RETRY,
    SCRIPT_DEAD,
    SCRIPT_DUE,
    SCRIPT_BREAKER,
    SCRIPT_REPLAY,
    SCRIPT__COUNT
};

/* Runs a script by SHA, loading it on NOSCRIPT. argv holds the script's ARGV (no KEYS). */
redisReply *qscript(struct mlc_redis *c, enum script_id id, int argc, const char **argv,
                    const size_t *argvlen);
/* Runs a command; marks the connection broken when the reply is NULL. */
redisReply *qcmd(struct mlc_redis *c, int argc, const char **argv, const size_t *argvlen);
/* Borrow/return a pooled connection (NULL while Redis is considered down). */
struct mlc_redis *pool_get(struct mlc_queue *q);
void pool_put(struct mlc_queue *q, struct mlc_redis *c);
void stream_key(const struct mlc_queue *q, enum mlc_lane l, char *out, size_t outsz);

/* Sentinel (sentinel.c). start: parses the list and starts the +switch-master watcher.
 * addr: the current primary (asks the sentinels when none is known yet or when refresh is
 * set) and its generation. stale: the connection was made to a primary that has since been
 * switched. */
enum mlc_rc sentinel_start(struct mlc_queue *q, const char *list, const char *name, char *err,
                           size_t errsz);
void sentinel_stop(struct mlc_queue *q);
enum mlc_rc sentinel_addr(struct mlc_sentinel *sn, bool refresh, int timeout_ms, char *host,
                          size_t hostsz, int *port, unsigned *gen, char *err, size_t errsz);
bool sentinel_stale(const struct mlc_sentinel *sn, unsigned gen);
/* The connection answers ROLE as a master. */
bool redis_is_primary(struct mlc_redis *c);

#define GROUP "mlc"

#endif
