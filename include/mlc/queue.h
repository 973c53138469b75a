/* Queue: the only user of hiredis. Redis connections, streams, dedupe, retries, DLQ, breaker. */
#ifndef MLC_QUEUE_H
#define MLC_QUEUE_H

#include "mlc/core.h"
#include <jansson.h>

struct mlc_config;
struct mlc_metrics;
struct mlc_redis; /* one connection, owned by one thread at a time */
struct mlc_queue; /* shared queue settings + connection pool for request threads */

#define MLC_SCHEMA_VERSION 1

/* Lanes: live (webhooks) and bulk (poller, backfill, resync, reconcile). */
enum mlc_lane { MLC_LANE_LIVE = 0, MLC_LANE_BULK = 1, MLC_LANE__COUNT };
const char *mlc_lane_name(enum mlc_lane l);
int mlc_lane_parse(const char *s); /* -1 when unknown */

/* --- connections ------------------------------------------------------------------------ */
/* Connects using the queue's URL and timeout. MLC_EUNAVAIL with a reason in err on failure. */
/* A long-lived connection kept in *slot: dropped when broken and made again on demand, at most
 * every 500 ms while Redis is unreachable (*retry_ms, monotonic; the failure is logged naming
 * who). NULL when q is NULL or Redis is unreachable. */
struct mlc_redis *mlc_redis_kept(struct mlc_queue *q, struct mlc_redis **slot, int64_t *retry_ms,
                                 const char *who);
enum mlc_rc mlc_redis_connect(const struct mlc_queue *q, struct mlc_redis **out, char *err,
                              size_t errsz);
void mlc_redis_free(struct mlc_redis *c);
/* True when the last command found the connection dead (the owner reconnects). */
bool mlc_redis_broken(const struct mlc_redis *c);
/* Runs one command given as argv and converts the reply: integer -> integer, bulk/status ->
 * string, array -> array, nil -> null. A server error reply gives MLC_ERR with its text in err;
 * a dead connection MLC_EUNAVAIL. *out (may be NULL) is a new reference. */
enum mlc_rc mlc_redis_exec(struct mlc_redis *c, json_t **out, char *err, size_t errsz, int argc,
                           const char **argv);
/* Key name with the configured prefix into out. */
void mlc_queue_key(const struct mlc_queue *q, char *out, size_t outsz, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* --- the queue -------------------------------------------------------------------------- */
struct mlc_queue_settings {
    const char *url;
    const char *sentinels;   /* "host:port,..." or NULL: with it, the URL's host is ignored and
                                the primary is asked of Sentinel (its password and db still
                                apply) */
    const char *master_name; /* Sentinel's name for the primary */
    const char *prefix;
    int timeout_ms;
    int dedupe_ttl_s;
    int visibility_timeout_s;
    int max_attempts;
    int max_deliveries;
    int retry_base_ms;
    int retry_max_s;
    long long max_backlog;
    int breaker_threshold;
    int breaker_window_s;
    long long dlq_max_entries;
};
void mlc_queue_settings_from_config(const struct mlc_config *cfg, struct mlc_queue_settings *s);
/* Parses the URL (redis://[:password@]host[:port][/db]); MLC_EINVAL with a reason. */
enum mlc_rc mlc_queue_new(const struct mlc_queue_settings *s, struct mlc_metrics *metrics,
                          struct mlc_queue **out, char *err, size_t errsz);
void mlc_queue_free(struct mlc_queue *q);
const struct mlc_queue_settings *mlc_queue_settings_get(const struct mlc_queue *q);

/* Start-up checks for `serve`: maxmemory-policy must be noeviction (warns when CONFIG is not
 * readable), key-schema version (newer refuses, older migrates, none writes ours), consumer
 * groups exist, scripts loaded. MLC_ERR with the reason; MLC_EUNAVAIL when unreachable. */
enum mlc_rc mlc_queue_prepare(struct mlc_queue *q, struct mlc_redis *c, char *err, size_t errsz);

/* A job to enqueue. */
struct mlc_job_spec {
    enum mlc_lane lane;
    const char *kind;   /* handler table key */
    const char *record; /* coalescing key ("customer:123"); NULL: never coalesced */
    const char *dedupe; /* delivery id ("ns:<eventId>"); NULL: no dedupe */
    json_t *data;       /* borrowed JSON object stored with the job */
};
enum mlc_enqueue_outcome { MLC_ENQ_ADDED, MLC_ENQ_COALESCED, MLC_ENQ_DUPLICATE };

/* Jobs one enqueue call may carry (a webhook request's events, a poller chunk). */
#define MLC_QUEUE_MAX_BATCH 100

/* Enqueues n (<= MLC_QUEUE_MAX_BATCH) jobs atomically, on a pooled connection; concurrent
 * callers share round trips (group commit). outcomes[n] receives what happened to each.
 * MLC_EUNAVAIL: Redis unreachable (nothing enqueued); MLC_ENOMEM: the backlog limit is reached
 * (nothing enqueued). */
enum mlc_rc mlc_queue_enqueue(struct mlc_queue *q, const struct mlc_job_spec *jobs, size_t n,
                              enum mlc_enqueue_outcome *outcomes);
/* The same on a caller-owned connection (CLI tools, workers). */
enum mlc_rc mlc_queue_enqueue_on(struct mlc_queue *q, struct mlc_redis *c,
                                 const struct mlc_job_spec *jobs, size_t n,
                                 enum mlc_enqueue_outcome *outcomes);
/* Cheap reachability probe through the pool (cached for 500 ms). */
bool mlc_queue_healthy(struct mlc_queue *q);

/* A delivered job. */
struct mlc_job {
    char entry_id[48];
    enum mlc_lane lane;
    char kind[48];
    json_t *data;   /* the job's JSON object (owned) */
    int attempts;   /* failed attempts so far */
    int deliveries; /* deliveries including this one */
    int64_t enqueued_ms;
    json_t *envelope; /* the stored entry (kind, data, attempts, ...), owned */
};
void mlc_job_free(struct mlc_job *j);

/* Reads the next job for consumer `consumer`: first reclaims entries idle past the visibility
 * timeout, then reads new ones, live before bulk (bulk only when bulk_ok). Skips paused lanes.
 * *out is NULL when nothing arrived within block_ms. Recreates a missing group (NOGROUP). */
enum mlc_rc mlc_queue_next(struct mlc_queue *q, struct mlc_redis *c, const char *consumer,
                           bool bulk_ok, int block_ms, struct mlc_job **out);
/* Keeps a job being processed from looking idle (resets its pending idle time without counting
 * a delivery), so a long job is not reclaimed by another worker while it still runs. */
enum mlc_rc mlc_queue_touch(struct mlc_queue *q, struct mlc_redis *c, enum mlc_lane lane,
                            const char *consumer, const char *entry_id);
/* Outcome recorded: acknowledges and deletes the entry. */
enum mlc_rc mlc_queue_ack(struct mlc_queue *q, struct mlc_redis *c, const struct mlc_job *j);
/* Retryable failure: reschedules with backoff (retry_after_ms > 0 wins) or dead-letters past
 * the attempt limit. Feeds the circuit breaker with fingerprint. *dead tells which happened. */
enum mlc_rc mlc_queue_retry(struct mlc_queue *q, struct mlc_redis *c, const struct mlc_job *j,
                            int64_t retry_after_ms, const char *reason, const char *fingerprint,
                            bool *dead);
/* Non-retryable failure: to the dead-letter stream with reason and fingerprint. feed_breaker:
 * count it towards the circuit breaker (handler failures do; "no handler" does not, since a
 * replay cannot fix it and it must not pause the lane for the kinds that do have handlers). */
enum mlc_rc mlc_queue_dead(struct mlc_queue *q, struct mlc_redis *c, const struct mlc_job *j,
                           const char *reason, const char *fingerprint, bool feed_breaker);
/* Moves due retries back to their streams; returns how many in *moved. */
enum mlc_rc mlc_queue_schedule_due(struct mlc_queue *q, struct mlc_redis *c, int *moved);

/* Backoff delay for a given attempt (1-based): equal jitter over base * 2^(attempt-1), capped. */
int64_t mlc_backoff_ms(int attempt, int base_ms, int max_s, uint64_t rnd);
/* Short stable fingerprint (16 hex) of an error description. */
void mlc_fingerprint(const char *kind, const char *error, char out[17]);

/* Lanes. */
enum mlc_rc mlc_queue_lane_paused(struct mlc_queue *q, struct mlc_redis *c, enum mlc_lane l,
                                  bool *paused, char *why, size_t whysz);
enum mlc_rc mlc_queue_lane_set_paused(struct mlc_queue *q, struct mlc_redis *c, enum mlc_lane l,
                                      bool paused, const char *why);

/* DLQ administration. Entries are JSON objects {id, lane, kind, reason, fingerprint, ...}. */
enum mlc_rc mlc_dlq_list(struct mlc_queue *q, struct mlc_redis *c, size_t limit, json_t **out);
enum mlc_rc mlc_dlq_show(struct mlc_queue *q, struct mlc_redis *c, const char *id, json_t **out);
/* Replays by entry id (id != NULL) or by fingerprint; resumes a lane the fingerprint paused. */
enum mlc_rc mlc_dlq_replay(struct mlc_queue *q, struct mlc_redis *c, const char *id,
                           const char *fingerprint, size_t *replayed);
enum mlc_rc mlc_dlq_purge(struct mlc_queue *q, struct mlc_redis *c, const char *id, size_t *purged);

/* Gauges for /metrics: depth per stream, retry set, DLQ, paused lanes. */
void mlc_queue_collect(struct mlc_queue *q, struct mlc_metrics *m);

/* --- leases and semaphores across replicas (lease.c) ------------------------------------- */
/* Names are suffixed to the key prefix. Times come from the Redis server's clock, so replicas
 * with skewed clocks agree. */
/* Takes or renews the lease `name` for `owner` for ttl_ms. *held: whether owner holds it now. */
enum mlc_rc mlc_lease_acquire(struct mlc_queue *q, struct mlc_redis *c, const char *name,
                              const char *owner, int64_t ttl_ms, bool *held);
/* Gives the lease up when owner holds it (nothing otherwise). */
enum mlc_rc mlc_lease_release(struct mlc_queue *q, struct mlc_redis *c, const char *name,
                              const char *owner);
/* Counting semaphore: at most cap holders of `name`; each slot is a lease of lease_ms, so a
 * crashed holder's slot comes back by itself. holder must be unique per acquisition.
 * *got: a slot was taken. */
enum mlc_rc mlc_sem_try_acquire(struct mlc_queue *q, struct mlc_redis *c, const char *name,
                                long long cap, int64_t lease_ms, const char *holder, bool *got);
enum mlc_rc mlc_sem_release(struct mlc_queue *q, struct mlc_redis *c, const char *name,
                            const char *holder);

#endif
