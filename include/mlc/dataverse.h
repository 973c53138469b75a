/* Dataverse client: Entra ID tokens, Web API writes by alternate key, $batch and UpsertMultiple,
 * throttling shared by every replica through Redis, reference-data caches, order state. */
#ifndef MLC_DATAVERSE_H
#define MLC_DATAVERSE_H

#include "mlc/core.h"
#include <jansson.h>

struct mlc_config;
struct mlc_metrics;
struct mlc_queue;
struct mlc_redis;

struct mlc_dataverse;  /* shared by every thread: settings, token cache, caches */
struct mlc_dv_session; /* one per thread: its HTTP handle and Redis connection */

struct mlc_dv_settings {
    const char *url;           /* https://<org>.crm.dynamics.com (required) */
    const char *authority_url; /* NULL: https://login.microsoftonline.com */
    const char *tenant_id, *client_id;
    const char *client_secret;                     /* one of three credentials */
    const char *certificate_pem, *private_key_pem; /* ... */
    const char *federated_token_path;              /* ... re-read at every token request */
    const char *ca_file;
    const char *app_user_id; /* NULL: from WhoAmI */
    int max_concurrency;     /* across ALL replicas (Redis semaphore); 0: 16 */
    int bulk_chunk;          /* 0: 200 */
    int timeout_s;           /* 0: 120 */
    int cache_ttl_s;         /* reference data; 0 with cache_ttl_set: no caching */
    int max_attempts;        /* per call for 429/5xx/network; 0: 10 */
    int refresh_margin_s;    /* 0: 300 (never more than half the lifetime) */
};
/* Borrows the strings of cfg (which must outlive the client). */
void mlc_dv_settings_from_config(const struct mlc_config *cfg, struct mlc_dv_settings *s);

/* Outcome detail of a failed call or row. */
struct mlc_dv_err {
    bool retryable;         /* network, 429, 5xx, 401 after the refresh, an unreadable 2xx */
    int64_t retry_after_ms; /* server-given delay, 0 = none */
    long status;            /* HTTP status, 0 when none arrived */
    char code[40];          /* Dataverse "0x..." code, or Entra's error ("invalid_client") */
    char cls[64];           /* stable class for fingerprints */
    char msg[512];          /* human-readable, never a secret */
};

/* Creates the shared client. q may be NULL (in-process semaphore and pause: unit tests).
 * MLC_EINVAL with a message naming the variable for a bad URL or missing credential. */
enum mlc_rc mlc_dataverse_new(const struct mlc_dv_settings *s, struct mlc_queue *q,
                              struct mlc_metrics *metrics, struct mlc_dataverse **out, char *err,
                              size_t errsz);
void mlc_dataverse_free(struct mlc_dataverse *dv);
/* Declares the client's metric families. */
void mlc_dataverse_describe_metrics(struct mlc_metrics *m);
/* A session for the calling thread. */
enum mlc_rc mlc_dv_session_new(struct mlc_dataverse *dv, struct mlc_dv_session **out, char *err,
                               size_t errsz);
void mlc_dv_session_free(struct mlc_dv_session *s);
const struct mlc_dv_settings *mlc_dv_settings_get(const struct mlc_dataverse *dv);

/* Counters of this process (tests, benchmark, metrics). */
struct mlc_dv_counters {
    uint64_t tokens;    /* tokens obtained */
    uint64_t requests;  /* Web API requests sent */
    uint64_t throttled; /* 429s received */
    uint64_t paused_ms; /* time spent waiting out Retry-After pauses */
    uint64_t bulk_calls, batch_calls, splits, dup_retries, fallbacks;
};
void mlc_dv_counters_get(const struct mlc_dataverse *dv, struct mlc_dv_counters *out);

/* ---- auth (auth.c) ---- */
/* The current access token into out (refreshed single-flight when less than
 * min(margin, lifetime/2) remains; force with failed = the token that got a 401). */
enum mlc_rc mlc_dv_token(struct mlc_dv_session *s, bool force, const char *failed, char *out,
                         size_t outsz, struct mlc_dv_err *e);
/* Reads an Entra error body ("AADSTS7000215: ...") into e. Pure; never copies a secret. */
void mlc_dv_entra_error_parse(long status, const char *body, size_t len, struct mlc_dv_err *e);

/* ---- keys and references (keys.c) ---- */
/* A key is a JSON object column -> value (string, integer, real or boolean), e.g.
 * {"mlc_netsuitecustomerid": "123"}. Appends "(col='v')" (strings quoted, ' doubled; several
 * columns comma-separated in the object's order). MLC_EINVAL for an empty key or another type. */
enum mlc_rc mlc_dv_key_segment(json_t *key, bool url, struct mlc_buf *out);
/* url: percent-encode what a URL path cannot hold raw (blanks, '#', quotes, non-ASCII); off for
 * JSON (@odata.bind, @odata.id). */
/* False when a value holds a character a key URL cannot carry (/ < > * % & : \ ? + or a control
 * character, or #): such rows need another path than PATCH by key. */
bool mlc_dv_key_url_safe(json_t *key);
/* "/accounts(mlc_netsuitecustomerid='1')" (owned) for @odata.bind; NULL for a bad key. */
char *mlc_dv_bind_key(const char *entity_set, json_t *key);
/* "/accounts(<guid>)" into out. */
void mlc_dv_bind_id(const char *entity_set, const char *guid, char *out, size_t outsz);
bool mlc_dv_guid_valid(const char *s);
/* The GUID at the end of an OData-EntityId URL ("...accounts(<guid>)") into out. */
enum mlc_rc mlc_dv_entity_id_parse(const char *url, char out[37]);
/* Appends an OData string literal 'v' (quotes doubled) percent-encoded for a query string. */
enum mlc_rc mlc_dv_odata_string(const char *v, bool url_encode, struct mlc_buf *out);
/* Reads a Dataverse error body ({"error":{"code","message"}}, HTML pages, nothing) into e. */
void mlc_dv_error_parse(long status, const char *body, size_t len, struct mlc_dv_err *e);

/* ---- Web API (webapi.c) ---- */
enum mlc_dv_mode { MLC_DV_UPSERT, MLC_DV_CREATE_ONLY, MLC_DV_UPDATE_ONLY };
/* One row by alternate key: PATCH <set>(<key>) (no condition = upsert; If-None-Match: * = create
 * only; If-Match: * = update only). The key columns are never repeated in body (borrowed). Keys a
 * URL cannot carry go through UpsertMultiple (when the table has it) or a lookup by $filter then a
 * write by GUID. A duplicate-key answer to a concurrent create is retried as an update.
 * id (may be NULL) receives the row's GUID. MLC_OK; MLC_ENOTFOUND: update-only and no such row
 * (404); MLC_EEXISTS: create-only and the row exists (412); MLC_ERR with e. */
enum mlc_rc mlc_dv_write(struct mlc_dv_session *s, const char *logical, const char *entity_set,
                         json_t *key, json_t *body, enum mlc_dv_mode mode, char id[37],
                         struct mlc_dv_err *e);
/* The same by GUID: PATCH <set>(<guid>). */
enum mlc_rc mlc_dv_write_id(struct mlc_dv_session *s, const char *entity_set, const char *guid,
                            json_t *body, enum mlc_dv_mode mode, struct mlc_dv_err *e);
/* GET of a path relative to /api/data/v9.2/ (already encoded). *out owned. 404: MLC_ENOTFOUND. */
enum mlc_rc mlc_dv_get(struct mlc_dv_session *s, const char *path_query, json_t **out,
                       struct mlc_dv_err *e);
/* POST/PATCH/DELETE of a path with a JSON body (may be NULL); *out (may be NULL) the answer. */
enum mlc_rc mlc_dv_send(struct mlc_dv_session *s, const char *method, const char *path,
                        json_t *body, json_t **out, struct mlc_dv_err *e);
/* Every row of <set>?$select=..&$filter=.. (either may be NULL; unencoded, encoded here),
 * following @odata.nextLink with Prefer: odata.maxpagesize=page (0: 5000). fn returns false
 * to stop. pages (may be NULL) counts the calls. */
typedef bool (*mlc_dv_row_fn)(json_t *row, void *ud);
enum mlc_rc mlc_dv_query(struct mlc_dv_session *s, const char *entity_set, const char *select,
                         const char *filter, int page, mlc_dv_row_fn fn, void *ud, size_t *pages,
                         struct mlc_dv_err *e);
/* WhoAmI, cached for the client's life: our application user and organization. */
enum mlc_rc mlc_dv_whoami(struct mlc_dv_session *s, char user_id[37], char org_id[37],
                          struct mlc_dv_err *e);
/* EntityDefinitions(LogicalName='t')/Keys: array of {LogicalName, KeyAttributes,
 * EntityKeyIndexStatus} (owned). */
enum mlc_rc mlc_dv_keys(struct mlc_dv_session *s, const char *logical, json_t **out,
                        struct mlc_dv_err *e);
/* One column's metadata (AttributeType, DateTimeBehavior, MaxLength...) (owned). */
enum mlc_rc mlc_dv_attribute(struct mlc_dv_session *s, const char *logical, const char *column,
                             json_t **out, struct mlc_dv_err *e);
/* Whether UpsertMultiple can be used on a table: sdkmessagefilters lists CreateMultiple AND
 * UpdateMultiple for it. Checked once per table and cached (in Redis for an hour, shared by the
 * replicas, and in the process). */
enum mlc_rc mlc_dv_bulk_supported(struct mlc_dv_session *s, const char *logical, bool *yes,
                                  struct mlc_dv_err *e);

/* ---- $batch (batch.c) ---- */
/* One operation of a $batch. path is relative to /api/data/v9.2/ (e.g. "accounts(k='1')"). */
struct mlc_dv_op {
    const char *method;
    const char *path;
    json_t *body;              /* borrowed, may be NULL */
    const char *if_match;      /* "*" = update only */
    const char *if_none_match; /* "*" = create only */
    int changeset;             /* 0: a part of its own; n > 0: in change set n (atomic) */
    /* results */
    long status;  /* 0: not executed (a failed change set or stop on error) */
    char id[37];  /* from OData-EntityId */
    json_t *resp; /* JSON answer body (owned), NULL when none */
    struct mlc_dv_err err;
};
/* Builds the multipart body (CRLF lines, parts of application/http, change sets numbered with
 * Content-ID) for the operations; base_url is the absolute Web API root (".../api/data/v9.2/").
 * boundary receives "batch_<hex>" (>= 48 bytes). */
enum mlc_rc mlc_dv_batch_build(const struct mlc_dv_op *ops, size_t n, const char *base_url,
                               char *boundary, size_t bsz, struct mlc_buf *out);
/* One response part of a $batch answer, in order (change-set parts flattened). */
struct mlc_dv_part {
    long status;
    int changeset; /* 0 outside change sets, else 1.. in order of appearance */
    char content_id[16];
    char entity_id[37]; /* from OData-EntityId, "" when none */
    char *body;         /* owned, NUL-terminated (may be empty) */
    size_t body_len;
};
/* Parses a $batch answer. content_type must carry the boundary. MLC_EINVAL with detail for a
 * missing boundary, truncated or otherwise malformed multipart (never reads past len). */
enum mlc_rc mlc_dv_batch_parse(const char *content_type, const char *body, size_t len,
                               struct mlc_dv_part **out, size_t *n, char *err, size_t errsz);
void mlc_dv_parts_free(struct mlc_dv_part *p, size_t n);
/* Sends ops as one $batch (Prefer: odata.continue-on-error) and fills each op's results. A change
 * set refused because it holds upserts by key is re-sent with each upsert resolved first (a
 * lookup by key, then PATCH by GUID or POST). MLC_OK when an answer was read (ops may still have
 * failed); MLC_ERR with e when the batch itself failed. At most 1000 ops. */
enum mlc_rc mlc_dv_batch(struct mlc_dv_session *s, struct mlc_dv_op *ops, size_t n,
                         struct mlc_dv_err *e);

/* ---- bulk writes (bulk.c) ---- */
struct mlc_dv_row {
    json_t *key;  /* borrowed alternate key */
    json_t *body; /* borrowed columns (no key columns needed; they are removed) */
    /* results */
    bool done;             /* written */
    char id[37];           /* GUID when known ("" after UpsertMultiple, which names none) */
    struct mlc_dv_err err; /* when !done: the row's own Dataverse error */
};
/* Upserts rows of one table by alternate key in chunks of MLC_DATAVERSE_BULK_CHUNK:
 * UpsertMultiple where the table supports it (binds by key resolved to GUIDs with one query per
 * chunk and target table when the environment refuses them inside Targets), else $batch (one
 * upsert part per row, continue-on-error). An all-or-nothing failure is split to isolate the bad
 * row, which fails alone with its error; a duplicate-key answer is retried as an update.
 * MLC_OK when every row has an outcome (done, or err set: permanent); MLC_ERR with e when the
 * load could not proceed (rows not done keep err.retryable). */
enum mlc_rc mlc_dv_upsert_rows(struct mlc_dv_session *s, const char *logical,
                               const char *entity_set, struct mlc_dv_row *rows, size_t n,
                               struct mlc_dv_err *e);

/* ---- reference data (refdata.c), cached with MLC_DATAVERSE_CACHE_TTL_S; misses cached for a
 * tenth of it (at most 60 s). Each gives the GUID into id; MLC_ENOTFOUND when none. ---- */
enum mlc_rc mlc_dv_currency_by_iso(struct mlc_dv_session *s, const char *iso, char id[37],
                                   struct mlc_dv_err *e);
enum mlc_rc mlc_dv_pricelist_by_currency(struct mlc_dv_session *s, const char *currency_id,
                                         char id[37], struct mlc_dv_err *e);
/* column: "productnumber" or the NetSuite item ID column ("mlc_netsuiteitemid"). uom (may be
 * NULL) receives the product's default unit. */
enum mlc_rc mlc_dv_product_by(struct mlc_dv_session *s, const char *column, const char *value,
                              char id[37], char uom[37], struct mlc_dv_err *e);
enum mlc_rc mlc_dv_uom_by_name(struct mlc_dv_session *s, const char *name, char id[37],
                               struct mlc_dv_err *e);
enum mlc_rc mlc_dv_user_by_email(struct mlc_dv_session *s, const char *email, char id[37],
                                 struct mlc_dv_err *e);
enum mlc_rc mlc_dv_team_by_name(struct mlc_dv_session *s, const char *name, char id[37],
                                struct mlc_dv_err *e);
/* Reference lookups answered from the cache so far (hits, misses cached as misses). */
void mlc_dv_cache_stats(const struct mlc_dataverse *dv, uint64_t *hits, uint64_t *calls);

/* ---- order state (orders.c) ---- */
/* Active (0/1 New) <-> Submitted (1/3 In Progress): a plain PATCH of statecode/statuscode. */
enum mlc_rc mlc_dv_order_set_state(struct mlc_dv_session *s, const char *order_id, int state,
                                   int status, struct mlc_dv_err *e);
/* FulfillSalesOrder (status 100001 Complete / 100002 Partial) or CancelSalesOrder (status 4),
 * with an OrderClose entity bound to the order. */
enum mlc_rc mlc_dv_order_close(struct mlc_dv_session *s, const char *order_id, bool cancel,
                               int status, const char *subject, struct mlc_dv_err *e);

#endif
