/* Day one: `setup dataverse` (our columns, alternate keys and the webhook registration), `link`
 * (matching hand-made CRM rows to NetSuite records before the first load, with a review file) and
 * the commands' shared plumbing. */
#ifndef MLC_DAYONE_H
#define MLC_DAYONE_H

#include "mlc/core.h"
#include <jansson.h>

/* `ml-connector setup dataverse [--dry-run] [--timeout S]` (argv[0] is "setup"); returns the exit
 * status: 0 done (or nothing to do), 1 a failure it explains, 2 bad usage or configuration. */
int mlc_setup_main(int argc, char **argv);

/* `ml-connector link [--out FILE] | --apply FILE [--dry-run]` (argv[0] is "link"); exit status as
 * above. */
int mlc_link_main(int argc, char **argv);

/* `backfill --dry-run`: syncs every record of type t (0 customer, 1 contact, 2 salesorder) changed
 * in [since_ms, until_ms) in this process with the sync engine in dry-run mode (MLC_DRY_RUN): no
 * Dataverse write, no record state, every write audited as would_create / would_update (changes
 * before -> after) and printed. Returns the exit status. */
int mlc_dryrun_backfill(int t, int64_t since_ms, int64_t until_ms);

/* `ml-connector reconcile [--format text|csv|json] [--no-repair]` (argv[0] is "reconcile"); exit
 * status 0 when no difference is left unexplained, 1 otherwise or on a failure, 2 bad usage. */
int mlc_reconcile_main(int argc, char **argv);

/* `serve`: every MLC_RECONCILE_INTERVAL_S (0: never) the replica holding the reconcile lease runs
 * reconcile (repairs on the bulk lane) and sets the mlc_reconcile_* gauges. *out is NULL (MLC_OK)
 * when off or when the sync engine is not configured. Stop joins the thread (a run in progress is
 * finished first). */
struct mlc_app;
struct mlc_metrics;
struct mlc_reconciler;
enum mlc_rc mlc_reconciler_start(struct mlc_app *app, struct mlc_reconciler **out, char *err,
                                 size_t errsz);
void mlc_reconciler_stop(struct mlc_reconciler *r);
/* Declares the mlc_reconcile_* metric families. */
void mlc_reconcile_describe_metrics(struct mlc_metrics *m);

/* Link rules: which rows match by what, in order (the mapping file's "link" section, else these
 * defaults). Pure functions, exposed for the unit tests. */
/* The e-mail domain of an address, lower-case, into out; false when there is none or it is a
 * public mail provider's (a shared domain proves nothing). */
bool mlc_link_email_domain(const char *email, char *out, size_t outsz);
/* Normalised text for exact comparisons: trimmed, inner blanks collapsed, lower-case ASCII. */
void mlc_link_norm(const char *s, char *out, size_t outsz);

#endif
