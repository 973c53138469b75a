/* Internal to the poller module: what the poller and backfill share. */
#ifndef MLC_POLLER_INTERNAL_H
#define MLC_POLLER_INTERNAL_H

#include "mlc/queue.h"

/* Enqueues n jobs in rounds of at most 100 (the queue's limit per call), waiting while the
 * backlog is full (up to ten minutes). outs[n] receives the outcomes. */
enum mlc_rc poll_enqueue_all(struct mlc_queue *q, struct mlc_redis *c,
                             const struct mlc_job_spec *specs, size_t n,
                             enum mlc_enqueue_outcome *outs);

#endif
