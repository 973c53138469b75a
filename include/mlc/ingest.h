/* Ingest: webhook endpoints (verify, normalise, enqueue). Parsers are pure, for tests and fuzzing.
 */
#ifndef MLC_INGEST_H
#define MLC_INGEST_H

#include "mlc/core.h"
#include "mlc/http.h"
#include <jansson.h>

struct mlc_app;
struct mlc_config;

/* --- NetSuite events ---------------------------------------------------------------------- */
#define MLC_NS_MAX_EVENTS 100

struct mlc_ns_event {
    char event_id[129];
    char event_type[33];
    char record_type[16]; /* customer|contact|salesorder, or "" when ignored */
    char record_id[21];
    char occurred_at[40];
    bool ignored; /* a record type we don't sync */
    bool is_delete;
};

/* Parses a single event object or {"events":[...]}. account_id (may be NULL) must match the
 * event's accountId (case and -/_ insensitive). On failure returns MLC_EINVAL (problem code
 * "invalid_json" or "invalid_field", detail names the field) or MLC_ERR ("wrong_account"). */
enum mlc_rc mlc_ingest_netsuite_parse(const char *body, size_t len, const char *account_id,
                                      struct mlc_ns_event *events, size_t *nevents,
                                      const char **problem, char *detail, size_t detailsz);

/* --- Dataverse RemoteExecutionContext ----------------------------------------------------- */
struct mlc_dv_event {
    char message[48];   /* MessageName */
    char entity[64];    /* PrimaryEntityName */
    char entity_id[40]; /* PrimaryEntityId (or OutputParameters id on Create) */
    char operation_id[40];
    char correlation_id[40];
    char user_id[40];
    char initiating_user_id[40];
    char organization_id[40];
    int depth;
    bool relevant; /* a message and table we enqueue */
    bool stripped; /* body was cut by Dataverse (msg-size-exceeded) */
};

/* Parses the context; *normalized (may be NULL) receives a plain JSON form: key/value arrays
 * turned into objects, \/Date(ms)\/ into RFC 3339, typed values into {type, ...}. */
enum mlc_rc mlc_ingest_dataverse_parse(const char *body, size_t len, struct mlc_dv_event *ev,
                                       json_t **normalized, const char **problem, char *detail,
                                       size_t detailsz);
/* Converts "\/Date(1506384247000)\/" or "/Date(1506384247000+0000)/" to Unix ms. */
enum mlc_rc mlc_dv_parse_date(const char *s, int64_t *unix_ms);

/* --- the endpoints ------------------------------------------------------------------------ */
struct mlc_ingest;
/* Builds the verifier state from the configuration; MLC_EINVAL with a reason naming the
 * variable when a list is malformed. */
enum mlc_rc mlc_ingest_new(struct mlc_app *app, struct mlc_ingest **out, char *err, size_t errsz);
void mlc_ingest_free(struct mlc_ingest *in);
/* Swaps in the webhook secrets, WebhookKeys and header/query pairs of cfg (SIGHUP), for
 * requests that start afterwards. Keeps the current ones and returns MLC_EINVAL when cfg's
 * would be malformed or leave an endpoint without any. */
enum mlc_rc mlc_ingest_reload_secrets(struct mlc_ingest *in, const struct mlc_config *cfg,
                                      char *err, size_t errsz);
/* Route table entries for both endpoints (2 rows written into routes). */
size_t mlc_ingest_routes(struct mlc_ingest *in, struct mlc_route *routes, size_t max);

#endif
