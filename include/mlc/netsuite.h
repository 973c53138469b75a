/* NetSuite client: M2M (certificate OAuth 2.0) and TBA auth, SuiteQL paging, concurrency shared
 * across replicas, readers of complete records. */
#ifndef MLC_NETSUITE_H
#define MLC_NETSUITE_H

#include "mlc/core.h"
#include <jansson.h>

struct mlc_config;
struct mlc_metrics;
struct mlc_queue;
struct mlc_redis;

struct mlc_netsuite;   /* shared by every thread: settings, the token cache, the status */
struct mlc_ns_session; /* one per thread: its HTTP handle and Redis connection */

struct mlc_ns_settings {
    const char *account_id; /* required; validated before any URL is built */
    const char *base_url;   /* NULL: https://<host form of account>.suitetalk.api.netsuite.com */
    bool tba;               /* false: M2M */
    const char *client_id, *certificate_id, *private_key_pem, *certificate_pem;
    const char *jwt_alg; /* NULL: from the key */
    const char *scope;   /* NULL: rest_webservices */
    const char *consumer_key, *consumer_secret, *token_id, *token_secret;
    const char *ca_file; /* MLC_TLS_CA_FILE */
    int refresh_margin_s;
    int max_concurrency;  /* our share across ALL replicas (Redis semaphore) */
    bool concurrency_set; /* explicitly configured: governanceLimits is not consulted */
    int timeout_s;
    int max_attempts; /* attempts per call for 429/5xx/network (0: 8) */
};
/* Borrows the strings of cfg (which must outlive the client). */
void mlc_ns_settings_from_config(const struct mlc_config *cfg, struct mlc_ns_settings *s);

/* Account IDs: letters, digits, '_' and '-' only, 1..64 characters. */
bool mlc_ns_account_valid(const char *id);
/* Host form: lower-case, '_' -> '-' ("1234567_SB1" -> "1234567-sb1"). MLC_EINVAL when invalid. */
enum mlc_rc mlc_ns_account_host(const char *id, char *out, size_t outsz);

/* Outcome detail of a failed call. */
struct mlc_ns_err {
    bool retryable;         /* network, 429, 5xx, 401 after the refresh, a garbled 200 */
    int64_t retry_after_ms; /* server-given delay, 0 = none */
    long status;            /* HTTP status, 0 when none arrived */
    char cls[64];           /* stable class for fingerprints: "permission:contact", ... */
    char msg[512];          /* human-readable, never a secret */
};

/* Creates the shared client. q may be NULL (no cross-replica semaphore and no status in Redis:
 * unit tests); metrics may be NULL. Settings strings are copied. MLC_EINVAL with detail for a
 * bad account ID, base URL, key or missing credential. */
enum mlc_rc mlc_netsuite_new(const struct mlc_ns_settings *s, struct mlc_queue *q,
                             struct mlc_metrics *metrics, struct mlc_netsuite **out, char *err,
                             size_t errsz);
void mlc_netsuite_free(struct mlc_netsuite *ns);
/* Declares the client's metric families (net included). */
void mlc_netsuite_describe_metrics(struct mlc_metrics *m);
/* A session for the calling thread. MLC_ERR with detail. */
enum mlc_rc mlc_ns_session_new(struct mlc_netsuite *ns, struct mlc_ns_session **out, char *err,
                               size_t errsz);
void mlc_ns_session_free(struct mlc_ns_session *s);
/* The session's Redis connection (connected on demand; NULL without a queue or when down). */
struct mlc_redis *mlc_ns_session_redis(struct mlc_ns_session *s);

/* ---- auth (auth.c) ---- */
/* M2M: the current access token into out (refreshed single-flight when less than
 * min(margin, lifetime/2) remains, or when force is set and the cached token is the one that
 * failed: pass it as failed, else NULL). TBA: MLC_OK without a token. */
enum mlc_rc mlc_ns_token(struct mlc_ns_session *s, bool force, const char *failed, char *out,
                         size_t outsz, struct mlc_ns_err *e);
/* Makes sure the token has at least `margin` left (before each poll cycle). */
enum mlc_rc mlc_ns_token_fresh(struct mlc_ns_session *s, struct mlc_ns_err *e);
/* The auth status kept in Redis ({"state":"ok"|"mapping_wiped"|"refused","message",...}), owned;
 * NULL when none stored or Redis is unavailable. */
json_t *mlc_ns_auth_status(struct mlc_ns_session *s);
/* Builds the M2M client assertion (JWT) for a token endpoint URL at time now_s. *out owned. */
enum mlc_rc mlc_ns_assertion(const char *alg, const char *kid, const char *client_id,
                             const char *scope, const char *aud, int64_t now_s, const char *key_pem,
                             char **out, char *err, size_t errsz);
/* TBA: the Authorization header value for method + full URL (its query parameters are decoded and
 * signed; realm is the account ID in its original form and is not signed). *out owned.
 * MLC_EINVAL for more than 32 query parameters. */
enum mlc_rc mlc_ns_tba_header(const char *method, const char *url, const char *realm,
                              const char *consumer_key, const char *consumer_secret,
                              const char *token_id, const char *token_secret, const char *nonce,
                              int64_t timestamp, char **out);
/* Tokens issued to this process so far (tests, metrics). */
uint64_t mlc_ns_tokens_obtained(const struct mlc_netsuite *ns);

/* ---- calls (client.c) ---- */
/* One REST call through the semaphore with retries (429/5xx/network with backoff and jitter,
 * Retry-After honoured; a 401 forces one token refresh). path_query starts with "/services/".
 * On MLC_OK *out is the parsed JSON body (owned; NULL for an empty body). On failure e says why
 * (permission problems as "the role lacks permission for X"). */
enum mlc_rc mlc_ns_call(struct mlc_ns_session *s, const char *method, const char *path_query,
                        const char *endpoint, json_t *body, json_t **out, struct mlc_ns_err *e);
/* REST record API: GET /services/rest/record/v1/<record>/<id> (salesOrder with its sublists,
 * expandSubResources=true). record: "customer", "contact" or "salesOrder". *out owned. A missing
 * record is MLC_ENOTFOUND (e says RCRD_DSNT_EXIST), not retryable. */
enum mlc_rc mlc_ns_record_get(struct mlc_ns_session *s, const char *record, long long id,
                              json_t **out, struct mlc_ns_err *e);
/* Reads a NetSuite error body into e (code, detail, permission mapping). Pure. */
void mlc_ns_error_parse(long status, const char *body, size_t len, struct mlc_ns_err *e);

/* ---- SuiteQL (suiteql.c) ---- */
struct mlc_ns_page {
    json_t *items; /* array of objects, owned by the page (each value a string, number,
                      boolean or null; missing keys mean NULL) */
    bool has_more;
    long long total; /* totalResults, -1 when absent */
    long long offset;
    long long count;
};
/* Parses one SuiteQL response body. MLC_EINVAL with detail when it is not a page (HTML, wrong
 * shapes, truncated JSON, items that are not objects, nested values). */
enum mlc_rc mlc_ns_page_parse(const char *body, size_t len, struct mlc_ns_page *out, char *err,
                              size_t errsz);
void mlc_ns_page_free(struct mlc_ns_page *p);
/* One page: limit 1..1000, offset a multiple of limit. */
enum mlc_rc mlc_ns_suiteql_page(struct mlc_ns_session *s, const char *query, long limit,
                                long long offset, struct mlc_ns_page *out, struct mlc_ns_err *e);
/* Every row of a query, following hasMore with limit 1000 (row callback returns false to stop).
 * Offset paging up to 100,000 rows; past that, keyset paging: the query must then be built by
 * the caller as `... WHERE <cond> AND <key> > :after ORDER BY <key>` (keyset_fmt holds ":after"
 * once); key_col names the key's column in the rows. With keyset_fmt NULL, query is used as is and
 * more than 100,000 rows is an error. pages (may be NULL) counts the calls made. */
typedef bool (*mlc_ns_row_fn)(json_t *row, void *ud);
enum mlc_rc mlc_ns_suiteql_all(struct mlc_ns_session *s, const char *query, const char *keyset_fmt,
                               const char *key_col, mlc_ns_row_fn fn, void *ud, size_t *pages,
                               struct mlc_ns_err *e);
/* Row accessors: a missing key or null is NULL/absent. */
const char *mlc_ns_row_str(json_t *row, const char *col); /* numbers are not strings: NULL */
/* Text of a value whatever its JSON type ("12", "1500.5", "T") into out; false when NULL. */
bool mlc_ns_row_text(json_t *row, const char *col, char *out, size_t outsz);
bool mlc_ns_row_i64(json_t *row, const char *col, long long *out);
bool mlc_ns_row_double(json_t *row, const char *col, double *out);
/* "YYYY-MM-DD HH:MM:SS" (UTC, as selected with TO_CHAR(SYS_EXTRACT_UTC(..))) -> Unix ms. */
enum mlc_rc mlc_ns_parse_utc(const char *s, int64_t *unix_ms);
void mlc_ns_format_utc(int64_t unix_ms, char out[20]);

/* ---- readers (readers.c) ---- */
enum mlc_ns_type { MLC_NS_CUSTOMER, MLC_NS_CONTACT, MLC_NS_SALESORDER, MLC_NS__TYPES };
const char *mlc_ns_type_name(enum mlc_ns_type t); /* customer, contact, salesorder */
int mlc_ns_type_parse(const char *s);             /* -1 when unknown */
#define MLC_NS_BATCH 1000
/* Reads complete records of ids (up to MLC_NS_BATCH; more are read in batches) with a constant
 * number of queries per batch. *out is a JSON object id -> record (owned); ids not found are
 * absent. Customers carry "billingAddress" and "contacts" (primary = role -10, ties broken by
 * the lowest id), orders carry "lines" (uniquekey, item SKU, quantity and amounts negated to
 * positive) and "currencyCode". Columns come from the mapping module. */
enum mlc_rc mlc_ns_read(struct mlc_ns_session *s, enum mlc_ns_type t, const long long *ids,
                        size_t n, json_t **out, size_t *calls, struct mlc_ns_err *e);
/* Range read: the next up to MLC_NS_BATCH complete records with after_id < id < before_id
 * (before_id 0: no upper bound), in id order, in the same constant number of queries (the
 * listing is the first query). *last_id: the highest id read; *more: a full batch came back. */
enum mlc_rc mlc_ns_read_after(struct mlc_ns_session *s, enum mlc_ns_type t, long long after_id,
                              long long before_id, json_t **out, long long *last_id, bool *more,
                              size_t *calls, struct mlc_ns_err *e);

/* Change listing for the poller and backfill: (id, lastmodified UTC ms) of records changed in
 * [since_ms, until_ms) (until 0: open) with id > after_id, ordered by id, up to limit rows
 * (<= 1000) in one call. Orders count a header OR a line change. *rows: array of
 * {"id": n, "lm": ms} (owned); *more: rows remain. */
enum mlc_rc mlc_ns_changes(struct mlc_ns_session *s, enum mlc_ns_type t, int64_t since_ms,
                           int64_t until_ms, long long after_id, long limit, json_t **rows,
                           bool *more, long long *total, struct mlc_ns_err *e);
/* Deletions of type t recorded since since_ms: array of {"id","at"} (owned). */
enum mlc_rc mlc_ns_deletions(struct mlc_ns_session *s, enum mlc_ns_type t, int64_t since_ms,
                             json_t **rows, struct mlc_ns_err *e);

#endif
