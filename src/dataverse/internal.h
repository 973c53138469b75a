/* Internal to the Dataverse client: the shared client, the per-thread session, the call path. */
#ifndef MLC_DATAVERSE_INTERNAL_H
#define MLC_DATAVERSE_INTERNAL_H

#include "mlc/dataverse.h"

#include <pthread.h>
#include <stdatomic.h>

struct mlc_net;
struct mlc_net_response;

#define DV_NSTR 11
#define DV_API "/api/data/v9.2/"

struct dv_cache; /* refdata.c */

struct mlc_dataverse {
    struct mlc_dv_settings set; /* strings point into strs */
    char *strs[DV_NSTR];
    char base[512]; /* https://org.crm.dynamics.com (no trailing slash) */
    char api[600];  /* base + DV_API */
    char token_url[700];
    char scope[600];
    char ident[64]; /* names our identity in Redis keys (the client ID, sanitised) */
    /* certificate credential, parsed at start (the key's PEM is wiped then) */
    struct mlc_pkey *pkey;
    uint8_t thumb[32]; /* SHA-256 thumbprint of the certificate (x5t#S256) */
    char alg[8];
    struct mlc_queue *q;
    struct mlc_metrics *metrics;
    char instance[33];
    atomic_uint_fast64_t seq;
    /* counters */
    atomic_uint_fast64_t tokens, requests, throttled, paused_ms, bulk_calls, batch_calls, splits,
        dup_retries, fallbacks, cache_hits, cache_calls;
    /* token cache */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool refreshing;
    char *token;
    int64_t token_exp_ms;
    int64_t token_life_s;
    /* WhoAmI */
    bool who_known;
    char who_user[37], who_org[37];
    /* per-table bulk support (in process): "account" -> true/false */
    json_t *bulk_ok;
    /* tables whose bulk Targets refuse @odata.bind by key */
    json_t *bind_refused;
    /* in-process stand-ins when there is no queue */
    int local_used;
    int64_t local_pause_until_ms; /* monotonic */
    bool local_low;
    int64_t last_24h_read_ms;
    struct dv_cache *cache;
};

struct mlc_dv_session {
    struct mlc_dataverse *dv;
    struct mlc_net *net;
    struct mlc_redis *redis;
    int64_t redis_retry_ms;
};

void dv_err_set(struct mlc_dv_err *e, bool retryable, long status, const char *cls, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));

/* A request on the Web API (client.c). url: absolute, or relative to the API root. Retries
 * 429 (after the shared pause), 5xx and network errors with backoff; a 401 forces one token
 * refresh. weight: counted requests it stands for (rows in a $batch), for the budget heuristics.
 * MLC_OK when a final answer arrived (resp filled: any status; free it); MLC_ERR with e. */
struct dv_req {
    const char *method;
    const char *url;
    const char *ctype; /* Content-Type of body, NULL = application/json when a body is given */
    const void *body;
    size_t body_len;
    const char *if_match, *if_none_match, *prefer;
    const char *endpoint; /* metrics label */
    unsigned weight;
};
enum mlc_rc dv_request(struct mlc_dv_session *s, const struct dv_req *r,
                       struct mlc_net_response *resp, struct mlc_dv_err *e);
struct mlc_redis *dv_session_redis(struct mlc_dv_session *s);

/* throttle.c: the gate every call passes (shared pause, in-flight slot), and what answers teach. */
enum mlc_rc dv_gate_enter(struct mlc_dv_session *s, char *holder, size_t hsz, int64_t deadline_ms,
                          struct mlc_dv_err *e);
void dv_gate_leave(struct mlc_dv_session *s, const char *holder);
void dv_gate_learn(struct mlc_dv_session *s, const struct mlc_net_response *resp, unsigned weight,
                   double seconds);
void dv_gate_pause(struct mlc_dv_session *s, int64_t ms);

/* refdata.c */
void dv_cache_free(struct dv_cache *c);

/* batch.c: "accounts(a='x',b=5)" (a leading '/' allowed) -> set "accounts", key {"a":"x","b":5};
 * false when the path does not name a row by key. */
bool dv_path_key(const char *path, char *set, size_t setsz, json_t **key);
/* keys.c: the id column of an entity set: accounts -> accountid, ...ies -> ...yid. */
void dv_id_column(const char *entity_set, char *out, size_t outsz);

/* bulk.c */
/* Removes the key columns from a copy of body (owned). */
json_t *dv_body_without_key(json_t *body, json_t *key);
/* Builds the UpsertMultiple request body for rows (owned). */
json_t *dv_upsert_multiple_body(const char *logical, const char *entity_set,
                                struct mlc_dv_row *const *rows, size_t n);

#endif
