/* Day-one module internals: the command context (configuration, mapping, clients) the
 * subcommands share. */
#ifndef MLC_DAYONE_INTERNAL_H
#define MLC_DAYONE_INTERNAL_H

#include "mlc/config.h"
#include "mlc/dataverse.h"
#include "mlc/dayone.h"
#include "mlc/mapping.h"
#include "mlc/netsuite.h"

struct dayone {
    const char *cmd; /* "setup dataverse", "link": prefix of messages */
    struct mlc_config cfg;
    struct mlc_metrics *metrics;
    struct mlc_mapping *mapping;
    struct mlc_dataverse *dv;
    struct mlc_dv_session *dvs;
    struct mlc_netsuite *ns; /* NULL unless asked for */
    struct mlc_ns_session *nss;
    struct mlc_queue *q; /* NULL until dayone_redis() */
    struct mlc_redis *redis;
    bool installed; /* the mapping was installed for the readers (uninstalled at close) */
};

/* Loads the configuration and the mapping, creates the Dataverse client (and NetSuite's when
 * want_ns) and one session of each. Returns the exit status to use on failure (2 configuration, 1
 * otherwise) after printing one line, or 0. dayone_close() in every case. */
int dayone_open(struct dayone *d, const char *cmd, bool want_ns);
/* The same; install_mapping false leaves the installed mapping alone (inside serve). */
int dayone_open_ex(struct dayone *d, const char *cmd, bool want_ns, bool install_mapping);
void dayone_close(struct dayone *d);

/* A Redis connection with the configured key prefix (opened on first use); NULL with err when
 * Redis cannot be reached. */
struct mlc_redis *dayone_redis(struct dayone *d, char *err, size_t errsz);

/* One reconcile over d (its NetSuite session included): repairs enqueued when repair, the report
 * stored in Redis (reconcile:latest) and given in *out (owned; NULL after a failure it printed).
 * Returns 0 when nothing is unexplained, else 1. */
int reconcile_run(struct dayone *d, bool repair, json_t **out);

/* The mapping section of a kind (borrowed) and its string members (NULL when absent). */
const char *dayone_sec_str(const struct dayone *d, enum mlc_map_kind k, const char *member);

#endif
