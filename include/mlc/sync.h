/* Sync engine: job handlers that read NetSuite's current state, map it through the mapping file,
 * skip what is unchanged or stale, write Dataverse by alternate key, and record the outcome (per-
 * record state in Redis, mirrored in the mlc_* columns, and the audit). */
#ifndef MLC_SYNC_H
#define MLC_SYNC_H

#include "mlc/jobs.h"
#include <jansson.h>

struct mlc_app;
struct mlc_sync;

/* Redis keys (after MLC_REDIS_KEY_PREFIX):
 *   state:<type>:<id>     record state hash: nslm (NetSuite last-modified, UTC Unix ms, of what
 *                         was last written; the poller reads it), hash (mapped payload + mapping
 *                         version), dvid (Dataverse GUID), at (last sync, ms), mv (mapping
 *                         version), exc (mapping exceptions, JSON), p (the mapped payload, JSON),
 *                         pc (customers: primary contact id), closed (orders: closed in
 *                         Dataverse), del (deleted in NetSuite), filtered (left out by the filter)
 *   rev:<table>:<guid>    reverse index: Dataverse row -> "<type>:<id>"
 *   lease:rec:<type>:<id> per-record lease (one worker at a time)
 *   audit                 audit stream (field "e": the entry as JSON), trimmed by
 *                         MLC_AUDIT_MAX_ENTRIES and MLC_AUDIT_RETENTION_DAYS
 *   hist:<type>:<id>      the record's last 50 audit entries ("<stream id> <json>"), newest first
 * Types: customer, contact, salesorder. */

/* Creates the engine for `serve`: loads and validates the mapping file (MLC_MAPPING_FILE, else the
 * shipped deploy/config/mapping.json), installs it for the readers, creates the NetSuite and
 * Dataverse clients and opens the audit sink. *out is NULL (and MLC_OK) when NetSuite or Dataverse
 * is not configured (ingest only). MLC_EINVAL with one line naming the variable or JSON path. */
enum mlc_rc mlc_sync_new(struct mlc_app *app, struct mlc_sync **out, char *err, size_t errsz);
void mlc_sync_free(struct mlc_sync *s);
/* The job handlers (customer, contact, salesorder), static. */
const struct mlc_job_handler *mlc_sync_handlers(size_t *n);
/* `ml-connector sync ...` and `ml-connector audit ...` (argv[0] is the command); exit status. */
int mlc_sync_cli_main(int argc, char **argv);
int mlc_audit_cli_main(int argc, char **argv);
/* The mapping file used when MLC_MAPPING_FILE is not set. */
const char *mlc_sync_default_mapping_path(void);
/* Loads the mapping `serve` would use (MLC_MAPPING_FILE, else the shipped file found as serve finds
 * it), for the other subcommands. *out owned (mlc_mapping_free). MLC_EINVAL/MLC_ERR with one line
 * naming MLC_MAPPING_FILE and the JSON path. */
struct mlc_config;
struct mlc_mapping;
enum mlc_rc mlc_sync_mapping_load(const struct mlc_config *cfg, struct mlc_mapping **out, char *err,
                                  size_t errsz);

#endif
