/* Internal to the poller module: what the poller and backfill share. */
#ifndef MLC_POLLER_INTERNAL_H
#define MLC_POLLER_INTERNAL_H

#include "mlc/netsuite.h"
#include "mlc/queue.h"

/* Enqueues one bulk job per row ({"id", "lm"} for op "change", {"id", "at"} for "delete") whose
 * want[i] is set (want NULL: all), kind = the type's name, data {recordType, recordId, op, source,
 * lastModified}. The poller's jobs carry a dedupe key (type, id, last-modified), so a change seen
 * again through the overlap window is not enqueued twice. *added (may be NULL) counts the jobs
 * added or coalesced. */
enum mlc_rc poll_enqueue_rows(struct mlc_queue *q, struct mlc_redis *c, enum mlc_ns_type t,
                              json_t *rows, const bool *want, const char *op, const char *source,
                              size_t *added);

#endif
