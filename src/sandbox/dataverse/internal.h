/* Internal to the sandbox's Dataverse + Entra: shared state, switches, and the functions the files
 * share. */
#ifndef MLC_SANDBOX_DATAVERSE_INTERNAL_H
#define MLC_SANDBOX_DATAVERSE_INTERNAL_H

#include "mlc/core.h"
#include "mlc/http.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

/* ---- Switches: every UNCONFIRMED form in reference/dataverse.md has one (settings.c). ---- */
struct dv_settings {
    int token_lifetime_s;             /* expires_in of issued tokens (3599) */
    bool changeset_upsert_refuse;     /* PATCH-by-key inside a change set: accepted or refused */
    bool changeset_ref_upsert_refuse; /* $n naming a row a change set upserted (not created) */
    bool bulk_bind_key_refuse;        /* @odata.bind by alternate key inside bulk Targets */
    bool line_key_unsupported;        /* alternate keys on salesorderdetail end Failed */
    char create_multiple[256];        /* tables that support CreateMultiple */
    char update_multiple[256];        /* tables that support UpdateMultiple (Upsert needs both) */
    int upsert_race_ms;               /* window between an upsert's lookup and its insert */
    /* service protection, per identity */
    int rate_requests;      /* requests per window (6000) */
    int rate_window_s;      /* sliding window (300) */
    long long rate_exec_ms; /* combined execution time per window (1200000) */
    int rate_concurrency;   /* concurrent requests (52) */
    /* faults */
    int latency_ms;
    double rate_429, rate_5xx, rate_drop;
    int drop_hold_ms;
    /* metadata */
    int key_build_ms;       /* time a new key spends in Pending and again in InProgress */
    int max_page_size;      /* rows per page without odata.maxpagesize (5000) */
    char readonly_code[16]; /* hex code of "record is read only" [UNCONFIRMED] */
    /* webhooks out */
    char webhook_url[512];   /* url of the provisioned service endpoint */
    int webhook_max_bytes;   /* contexts above it are stripped (262144) */
    int webhook_timeout_ms;  /* 60000 */
    bool webhook_request_id; /* RequestId in contexts: null, or a GUID (it may be null) */
};
void dv_settings_defaults(struct dv_settings *st);
/* Command line: *known tells whether flag is a Dataverse switch; then value is applied. */
enum mlc_rc dv_settings_set_flag(struct dv_settings *st, const char *flag, const char *value,
                                 bool *known, char *err, size_t errsz);
void dv_settings_help(struct mlc_buf *out);
/* Applies {"--flag": "value"} pairs to st; MLC_EINVAL with detail. */
enum mlc_rc dv_settings_apply_defaults(struct dv_settings *st, json_t *flags, char *err,
                                       size_t errsz);
json_t *dv_settings_json(const struct dv_settings *st);

/* ---- Static table definitions (schema.c) ---- */
enum dv_type {
    DT_STR,
    DT_MEMO,
    DT_INT,
    DT_DEC,
    DT_MONEY,
    DT_BOOL,
    DT_DATETIME,
    DT_DATE,
    DT_GUID,
    DT_LOOKUP,
    DT_CHOICE,
    DT_STATE,
    DT_STATUS
};
struct dv_col {
    const char *name;
    enum dv_type type;
    int maxlen;         /* strings */
    const char *target; /* lookups: the target table's logical name */
    const char *nav;    /* lookups: the single-valued navigation property (for @odata.bind) */
    unsigned flags;
};
#define DVC_READONLY 1u   /* system-set (createdon, versionnumber, ...) */
#define DVC_CREATEONLY 2u /* valid on create only (salesorder currency, ordernumber) */
#define DVC_REQUIRED 4u   /* required on create */
#define DVC_CUSTOM 8u     /* one of our mlc_ columns: exists with --schema provisioned */
#define DVC_DATEONLY 16u  /* DateOnly behaviour (else UserLocal) */

struct dv_table {
    const char *logical, *set, *id, *primary_name;
    int otc; /* object type code */
    const struct dv_col *cols;
    size_t ncols;
    const char *our_key_col; /* our alternate key column, or NULL */
    bool has_state;
};
size_t dv_schema_tables(const struct dv_table **out);

/* ---- Runtime state ---- */
#define DV_MAX_TABLES 24
#define DV_MAX_KEYS 10
#define DV_KEY_MAX_COLS 16

enum dv_key_status { DVK_PENDING, DVK_INPROGRESS, DVK_ACTIVE, DVK_FAILED };
struct dv_key {
    char id[37];
    char logical[64], schema[64];
    char cols[DV_KEY_MAX_COLS][64];
    int ncols;
    enum dv_key_status status;
    int64_t phase_ms; /* monotonic time the current phase started */
    json_t *index;    /* "value|value" -> row id (kept for every key, unique only once Active) */
};

struct dv_tab {
    const struct dv_table *def;
    json_t *rows;   /* id -> row object (wire form: columns, _x_value lookups) */
    json_t *custom; /* custom column name -> {"type","maxlen"} (present columns only) */
    struct dv_key keys[DV_MAX_KEYS];
    size_t nkeys;
};

struct dv_webhooks;
struct dv_protection;

enum dv_out {
    DV_OUT_OK,
    DV_OUT_UNAUTHORIZED,
    DV_OUT_CLIENT_ERROR,
    DV_OUT_THROTTLED,
    DV_OUT_FAULT_429,
    DV_OUT_FAULT_5XX,
    DV_OUT_FAULT_DROP,
    DV_OUT__COUNT
};

#define DV_MAX_TOKENS 4096
struct dv_token {
    uint8_t hash[32];
    int64_t expires_s;
    unsigned epoch;
    bool used;
};

/* The emulated organization. */
struct dv_sandbox {
    /* identity (read-only after start) */
    char base_url[256]; /* https://host:port: both the org URL and the authority */
    char tenant_id[37], client_id[37], org_id[37], org_name[64], app_user_id[37],
        business_unit_id[37], admin_user_id[37];
    char client_secret[96];
    char webhook_key[96];
    char *cert_pem[2]; /* certificates accepted for assertions (generated, --entra-certificate) */
    size_t ncerts;
    char *federation_pub; /* public key of the sandbox's workload identity issuer */
    char federation_issuer[160], federation_subject[160];
    char admin_token[96];
    bool provisioned;
    uint64_t seed;

    pthread_mutex_t set_mu;
    struct dv_settings set;

    /* data: one lock; change sets hold it across their parts */
    pthread_mutex_t mu;
    struct dv_tab tabs[DV_MAX_TABLES];
    size_t ntabs;
    uint64_t version;
    json_t *journal;    /* non-NULL inside a transaction: [{t, id, old}] */
    json_t *txn_events; /* events held until commit */

    /* tokens */
    pthread_mutex_t tok_mu;
    struct dv_token tokens[DV_MAX_TOKENS];
    size_t tok_next;
    unsigned token_epoch;

    /* inspection */
    atomic_uint_fast64_t calls, outcomes[DV_OUT__COUNT], tokens_issued, rng;
    atomic_int inflight, peak;
    struct dv_protection *prot;
    struct dv_webhooks *hooks;
};

struct dv_options {
    uint64_t seed;
    bool provisioned;
    json_t *ns_customers; /* borrowed: NetSuite's companies (id, companyname, email, zip) */
    json_t *ns_reps;      /* borrowed: NetSuite's sales reps (firstname, lastname, email) */
    json_t *ns_items;     /* borrowed: NetSuite's items (id, itemid, displayname) */
    json_t *ns_contacts;  /* borrowed: NetSuite's contacts (firstname, lastname, email) */
    const struct dv_settings *settings;
};

/* ---- server.c ---- */
enum mlc_rc dv_sandbox_new(const struct dv_options *o, struct dv_sandbox **out, char *err,
                           size_t errsz);
void dv_sandbox_free(struct dv_sandbox *s);
size_t dv_routes(struct dv_sandbox *s, struct mlc_route *routes, size_t max);
struct dv_settings dv_settings_get(struct dv_sandbox *s);
enum mlc_rc dv_settings_apply(struct dv_sandbox *s, json_t *changes, char *err, size_t errsz);
/* After the identity fields and base_url are set: generates the data and starts the webhook
 * sender. ca_file: CA bundle for https:// webhook targets (may be NULL). */
enum mlc_rc dv_start(struct dv_sandbox *s, const struct dv_options *o, const char *ca_file,
                     char *err, size_t errsz);
/* The provisioned service endpoint's id (its url follows the webhookUrl switch). */
void dv_provisioned_endpoint_id(char out[37]);

/* ---- util.c: ids, times, error bodies ---- */
void dv_guid_random(char out[37]);
/* A stable GUID derived from text (SHA-256): the same name always gives the same id. */
void dv_guid_from(const char *text, char out[37]);
bool dv_guid_valid(const char *s, size_t len);
void dv_iso_time(int64_t ms, char *out, size_t sz); /* 2026-12-03T18:00:00Z */
double dv_dice(struct dv_sandbox *s);
/* {"error":{"code","message"}} */
json_t *dv_error_body(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A request the Web API executes: from libmicrohttpd or from a $batch part. */
struct dv_kv {
    char *k, *v;
};
struct dv_req {
    const char *method;
    const char *path;    /* after /api/data/v9.2/, decoded, no query */
    struct dv_kv *query; /* decoded */
    size_t nquery;
    const char *prefer, *if_match, *if_none_match, *content_type;
    const char *body;
    size_t body_len;
    char *own[6]; /* strings owned by a parsed batch part (freed by dv_req_free) */
};
struct dv_resp {
    unsigned status;
    char ctype[96];
    char *hname[8], *hval[8];
    size_t nh;
    struct mlc_buf body;
};
void dv_resp_init(struct dv_resp *p);
void dv_resp_free(struct dv_resp *p);
void dv_resp_header(struct dv_resp *p, const char *name, const char *value);
void dv_resp_json(struct dv_resp *p, unsigned status, json_t *body /* stolen */);
void dv_resp_error(struct dv_resp *p, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *dv_req_query(const struct dv_req *q, const char *name);
/* Sends p as the answer to r (also the OData-Version header). */
void dv_resp_send(struct mlc_request *r, struct dv_resp *p);

/* Execution context of one Web API call. */
struct dv_ctx {
    struct dv_sandbox *s;
    struct dv_settings st;
    const char *user_id; /* the calling user's systemuserid (webhooks, createdby) */
    bool in_changeset;   /* the lock is held by the change set */
    bool in_batch;
    json_t *content_ids; /* "n" -> "/set(guid)" of rows created in this change set */
    bool created;        /* set by an upsert that created */
};
/* Executes one Web API request. Takes the data lock unless c->in_changeset. */
void dv_webapi_exec(struct dv_ctx *c, const struct dv_req *q, struct dv_resp *p);

/* ---- store.c: rows, keys, transactions (caller holds s->mu) ---- */
struct dv_tab *dv_tab_by_set(struct dv_sandbox *s, const char *set, size_t len);
struct dv_tab *dv_tab_by_logical(struct dv_sandbox *s, const char *logical, size_t len);
const struct dv_col *dv_col_find(const struct dv_tab *t, const char *name);
/* A custom column's type (custom columns are stored as json); false when unknown. */
bool dv_col_custom(const struct dv_tab *t, const char *name, enum dv_type *type, int *maxlen);
json_t *dv_row_get(struct dv_tab *t, const char *id);
/* Key lookup: vals[i] are the key's values rendered as text. */
struct dv_key *dv_key_find_by_cols(struct dv_tab *t, const char *const *cols, size_t n);
const char *dv_key_lookup(struct dv_key *k, json_t *row_or_vals);
/* Inserts or replaces (journaled, indexes kept). row is stolen. */
void dv_row_put(struct dv_sandbox *s, struct dv_tab *t, const char *id, json_t *row);
void dv_row_delete(struct dv_sandbox *s, struct dv_tab *t, const char *id);
void dv_txn_begin(struct dv_sandbox *s);
void dv_txn_commit(struct dv_sandbox *s);
void dv_txn_rollback(struct dv_sandbox *s);
/* Advances key builds (Pending -> InProgress -> Active or Failed). */
void dv_keys_tick(struct dv_sandbox *s, const struct dv_settings *st);
/* Whether an alternate key on the table can be built (the lineKey switch). */
bool dv_key_supported(const struct dv_settings *st, const struct dv_tab *t);
/* Applies the lineKey switch to the keys already there: Failed, or back to Pending. */
void dv_keys_support_changed(struct dv_sandbox *s, const struct dv_settings *st);
struct dv_key *dv_key_add(struct dv_tab *t, const char *logical, const char *schema,
                          const char *const *cols, size_t n, bool active);
/* Rows sharing a key value (duplicates), as {"key": [{"value","ids":[]}]}. */
json_t *dv_key_duplicates(struct dv_tab *t, struct dv_key *k);

/* ---- filter.c: $filter ---- */
struct dv_filter;
/* Parses an OData $filter expression. MLC_EINVAL with a Dataverse-like message in err. */
enum mlc_rc dv_filter_parse(const char *text, struct dv_filter **out, char *err, size_t errsz);
void dv_filter_free(struct dv_filter *f);
/* Resolves a property path (a, or nav/prop) on a row; returns a borrowed value or NULL (null). */
typedef json_t *(*dv_resolve_fn)(void *ud, json_t *row, const char *path);
bool dv_filter_eval(const struct dv_filter *f, json_t *row, dv_resolve_fn resolve, void *ud);
/* Calls fn for every property path the filter names (validation); stops at the first false. */
bool dv_filter_paths(const struct dv_filter *f, bool (*fn)(void *ud, const char *path), void *ud);

/* ---- query.c: GET collections and rows ---- */
void dv_query_collection(struct dv_ctx *c, struct dv_tab *t, const struct dv_req *q,
                         struct dv_resp *p);
/* The row as the Web API returns it, with $select applied (owned). */
json_t *dv_row_render(struct dv_ctx *c, struct dv_tab *t, json_t *row, const char *select,
                      bool entity_context);
/* Checks a $select list; false with the error answered. */
bool dv_select_valid(struct dv_tab *t, const char *select, struct dv_resp *p);

/* ---- write.c: create, update, upsert, delete (one place for Web API, batch and bulk) ---- */
enum dv_write_mode { DVW_CREATE, DVW_UPDATE, DVW_UPSERT };
/* Resolves "/set(guid)", "/set(key='v')" or "$n": *tab and id. False with the error in p. */
bool dv_ref_resolve(struct dv_ctx *c, const char *ref, struct dv_tab **tab, char *id,
                    struct dv_resp *p);
/* Writes body into the row named (id or key values, either may be NULL for a create).
 * mode picks create/update/upsert semantics; out_id receives the row id. The answer (errors
 * included) goes to p unless p is NULL. Returns true on success; *created tells which. */
bool dv_write(struct dv_ctx *c, struct dv_tab *t, enum dv_write_mode mode, const char *id,
              json_t *keyvals, json_t *body, bool bulk, char *out_id, bool *created,
              struct dv_resp *p);
bool dv_delete(struct dv_ctx *c, struct dv_tab *t, const char *id, struct dv_resp *p);
/* Answers a successful write: 204 + OData-EntityId, or the row with return=representation. */
void dv_write_answer(struct dv_ctx *c, struct dv_tab *t, const char *id, bool created,
                     const struct dv_req *q, struct dv_resp *p);
/* Parses "(guid)" or "(k='v',k2=3)" after an entity set. *id or *keyvals (owned) set. */
bool dv_parse_row_ref(struct dv_tab *t, const char *s, size_t len, char *id, json_t **keyvals,
                      struct dv_resp *p);
/* Finds a row by key values (object col -> value); NULL (error in p) when no Active key fits. */
bool dv_find_by_key(struct dv_tab *t, json_t *keyvals, const char **id, struct dv_resp *p);

/* ---- orders.c: salesorder rules ---- */
/* Checks a write against the order rules; false with the error in p. */
bool dv_order_check(struct dv_ctx *c, struct dv_tab *t, json_t *old, json_t *row, json_t *body,
                    bool create, struct dv_resp *p);
/* salesorderdetail rules: its order must be Active; a write-in line has a description and no
 * product or unit; a catalogue line a product, a unit of its unit group and (unless
 * ispriceoverridden) a price list item, whose amount becomes priceperunit; the amounts. */
bool dv_line_check(struct dv_ctx *c, json_t *old, json_t *row, bool create, struct dv_resp *p);
/* False (read-only error in p) when the line's order is not Active. */
bool dv_line_parent_check(struct dv_ctx *c, json_t *line, struct dv_resp *p);
/* Recomputes an order's totals from its lines (caller holds s->mu). */
void dv_order_totals(struct dv_sandbox *s, const char *order_id);
void dv_order_action(struct dv_ctx *c, const char *action, const struct dv_req *q,
                     struct dv_resp *p);
/* Merges loser into target (account or contact): the loser deactivated and flagged merged, its
 * children moved to the target, update_content applied to the target. Caller holds s->mu. */
bool dv_merge(struct dv_ctx *c, struct dv_tab *t, const char *target, const char *loser,
              json_t *update_content, struct dv_resp *p);

/* ---- batch.c ---- */
struct dv_part {
    char *headers;    /* raw header block */
    const char *body; /* into the input */
    size_t body_len;
    char content_type[160];
    char content_id[32];
};
/* Splits a multipart body by boundary. parts (owned array) point into body. */
enum mlc_rc dv_multipart_split(const char *body, size_t len, const char *boundary,
                               struct dv_part **parts, size_t *nparts, char *err, size_t errsz);
void dv_parts_free(struct dv_part *parts, size_t n);
/* The boundary parameter of a multipart Content-Type (unquoted) into out. */
bool dv_boundary(const char *content_type, char *out, size_t sz);
/* Parses an application/http part into a request (strings owned by *q, free with dv_req_free). */
enum mlc_rc dv_http_part_parse(const char *data, size_t len, struct dv_req *q, char *err,
                               size_t errsz);
void dv_req_free(struct dv_req *q);
/* Executes a $batch. */
void dv_batch_exec(struct dv_ctx *c, const struct dv_req *q, struct dv_resp *p);
/* True when the comma-separated list names the first nl bytes of name. */
bool dv_list_has(const char *list, const char *name, size_t nl);
/* 404 0x80040217 for a missing row named by key values or by id. */
void dv_resp_not_found(struct dv_resp *p, const struct dv_tab *t, bool by_key, const char *id);
/* The request body as a JSON object (owned), or NULL with a 400 in p. */
json_t *dv_req_json(const struct dv_req *q, struct dv_resp *p);
/* Percent-decodes n bytes of s ('+' stays '+'); owned. */
char *dv_pct_decode(const char *s, size_t n);
/* Splits "a=b&c=d" (percent-decoded) into q->query. */
void dv_query_parse(const char *qs, struct dv_req *q);

/* ---- bulk.c ---- */
void dv_bulk_exec(struct dv_ctx *c, struct dv_tab *t, const char *message, const struct dv_req *q,
                  struct dv_resp *p);
bool dv_bulk_supported(const struct dv_settings *st, const char *message, const char *table);
/* Rebuilds the sdkmessagefilter rows from the switches (caller holds s->mu). */
void dv_bulk_refresh_filters(struct dv_sandbox *s, const struct dv_settings *st);

/* ---- metadata.c ---- */
void dv_metadata_exec(struct dv_ctx *c, const struct dv_req *q, struct dv_resp *p);

/* ---- token.c ---- */
void dv_token_handle(struct mlc_request *r, void *ud);
/* 401 reasons; DV_AUTH_OK when the bearer token is valid. */
enum dv_auth { DV_AUTH_OK, DV_AUTH_MISSING, DV_AUTH_INVALID, DV_AUTH_EXPIRED };
enum dv_auth dv_auth_check(struct dv_sandbox *s, struct mlc_request *r);
void dv_tokens_revoke_all(struct dv_sandbox *s);

/* ---- protection.c ---- */
enum mlc_rc dv_protection_new(struct dv_protection **out);
void dv_protection_free(struct dv_protection *p);
/* Admits one call for identity (or answers 429 into p and returns false). Counts weight requests.
 */
bool dv_protect_enter(struct dv_sandbox *s, const struct dv_settings *st, const char *identity,
                      unsigned weight, struct dv_resp *p);
void dv_protect_leave(struct dv_sandbox *s, const struct dv_settings *st, const char *identity,
                      int64_t exec_ms, struct dv_resp *p);
/* Counts extra requests (the parts of a $batch) against identity. */
void dv_protect_count(struct dv_sandbox *s, const char *identity, unsigned n);
json_t *dv_protection_json(struct dv_sandbox *s);
void dv_protection_reset(struct dv_sandbox *s);

/* ---- faults.c ---- */
/* Latency and random faults; true when a fault answered into p, or (p->status 0) when the
 * connection must be dropped without an answer, after the hold. */
bool dv_faults_apply(struct dv_sandbox *s, const struct dv_settings *st, struct dv_resp *p);

/* ---- webhooks.c ---- */
enum mlc_rc dv_webhooks_start(struct dv_sandbox *s, const char *ca_file, char *err, size_t errsz);
void dv_webhooks_stop(struct dv_sandbox *s);
/* Queues the webhook(s) the registered steps ask for (caller holds s->mu). pre/post: rows
 * (borrowed, may be NULL); target: the attributes written. */
void dv_webhooks_emit(struct dv_sandbox *s, const char *message, struct dv_tab *t, const char *id,
                      json_t *target, json_t *pre, json_t *post, const char *user_id);
/* Moves events held by a transaction to the queue (commit) or drops them. */
void dv_webhooks_flush_txn(struct dv_sandbox *s, bool commit);
json_t *dv_webhooks_json(struct dv_sandbox *s);
/* RemoteExecutionContext of one event (owned); exposed for unit tests. */
json_t *dv_webhook_context(struct dv_sandbox *s, const char *message, struct dv_tab *t,
                           const char *id, json_t *target, json_t *pre, json_t *post,
                           const char *user_id, const char *step_id);

/* ---- admin.c ---- */
void dv_admin_handle(struct mlc_request *r, void *ud);

/* ---- datagen.c ---- */
enum mlc_rc dv_datagen(struct dv_sandbox *s, const struct dv_options *o, char *err, size_t errsz);

#endif
