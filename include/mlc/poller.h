/* Poller (one leader among replicas, UTC watermarks, header-or-line changes, deletions) and
 * backfill (history on the bulk stream, resumable). */
#ifndef MLC_POLLER_H
#define MLC_POLLER_H

#include "mlc/netsuite.h"

struct mlc_app;
struct mlc_queue;
struct mlc_redis;
struct mlc_poller;

/* Redis keys (after MLC_REDIS_KEY_PREFIX):
 *   lease:poller                   the leader's lease (owner id, TTL)
 *   poll:wm:<type>                 UTC watermark, Unix ms
 *   state:<type>:<id>              record state hash; field "nslm" = NetSuite last-modified (UTC
 *                                  Unix ms) of what was last written (the sync engine writes it)
 *   backfill:<type>:<since>:<until>  backfill cursor hash {after, enqueued, total, done}
 * Jobs go to the bulk lane with kind = type name and data {recordType, recordId, op
 * ("change"|"delete"), source ("netsuite_poller"|"netsuite_backfill"), lastModified}. */

/* Starts the poller thread for `serve` when NetSuite is configured (account ID and credentials);
 * *out is NULL (and MLC_OK) when it is not. MLC_EINVAL with detail for a bad NetSuite setting. */
enum mlc_rc mlc_poller_start(struct mlc_app *app, struct mlc_poller **out, char *err, size_t errsz);
/* Stops and joins the thread, gives the lease up (accepts NULL). */
void mlc_poller_stop(struct mlc_poller *p);

struct mlc_poll_stats {
    size_t seen, enqueued, skipped, deleted, calls;
};
/* Called before each NetSuite page of a poll (keeps the leader's lease through a long cycle);
 * false stops the poll (MLC_ERR, watermark unchanged). */
typedef bool (*mlc_poll_keep_fn)(void *ud);
/* One poll of one type: reads what changed since the watermark minus overlap_s, enqueues what
 * is newer than the record state, deletions as delete jobs, then advances the watermark to
 * now_ms. first_ms: the watermark when none is stored. keep may be NULL. */
enum mlc_rc mlc_poll_once(struct mlc_ns_session *s, struct mlc_queue *q, struct mlc_redis *c,
                          enum mlc_ns_type t, int64_t now_ms, int64_t first_ms, int overlap_s,
                          mlc_poll_keep_fn keep, void *keep_ud, struct mlc_poll_stats *st,
                          char *err, size_t errsz);

/* Parses a date for --since/--until and MLC_POLL_START: YYYY-MM-DD, YYYY-MM-DD HH:MM:SS (UTC) or
 * RFC 3339. */
enum mlc_rc mlc_poll_parse_date(const char *s, int64_t *unix_ms);

/* `ml-connector backfill ...` (argv[0] is "backfill"); returns the exit status. */
int mlc_backfill_main(int argc, char **argv);

#endif
