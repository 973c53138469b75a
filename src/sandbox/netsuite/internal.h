/* Internal to the sandbox's NetSuite: the shared state, settings (switches) and the functions files
 * share. */
#ifndef MLC_SANDBOX_NETSUITE_INTERNAL_H
#define MLC_SANDBOX_NETSUITE_INTERNAL_H

#include "mlc/core.h"
#include "mlc/http.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

/* ---- Switches. Every UNCONFIRMED form in reference/netsuite.md has one. ---- */

/* Permissions a role can lack (--deny). */
enum {
    NS_PERM_REST = 1u << 0,          /* REST Web Services: every call -> 400 USER_ERROR */
    NS_PERM_SUITEQL = 1u << 1,       /* SuiteAnalytics Workbook: SuiteQL -> Record 'x' not found */
    NS_PERM_CUSTOMER = 1u << 2,      /* Lists > Customers */
    NS_PERM_CONTACT = 1u << 3,       /* Lists > Contacts */
    NS_PERM_SALESORDER = 1u << 4,    /* Transactions > Sales Order (transaction tables) */
    NS_PERM_ITEM = 1u << 5,          /* Lists > Items */
    NS_PERM_DELETEDRECORD = 1u << 6, /* Lists > Deleted Records */
    NS_PERM_GOVERNANCE = 1u << 7,    /* governanceLimits: administrators only */
    /* Features an account can lack, given the same way: */
    NS_PERM_CURRENCY = 1u << 8,   /* single-currency account: no `currency` table */
    NS_PERM_SUBSIDIARY = 1u << 9, /* not OneWorld: no `subsidiary` table */
};

struct ns_settings {
    /* token endpoint */
    int token_lifetime_s;      /* lifetime of issued access tokens (3600) */
    bool expires_in_number;    /* expires_in as 3600 instead of "3600" (sample has a string) */
    bool scope_array_ok;       /* accept a JSON array scope claim, not only a string */
    bool token_error_netsuite; /* token errors as 401 INVALID_LOGIN instead of 400 invalid_grant */
    /* SuiteQL */
    bool values_native;             /* numbers as JSON numbers (practitioners report strings) */
    bool raw_datetime_time;         /* raw datetime columns rendered with the time of day */
    char date_format[16];           /* the user's date format preference: M/D/YYYY, D/M/YYYY, ... */
    bool prefer_transient_optional; /* accept SuiteQL without `Prefer: transient` */
    bool allow_limit_clause;        /* accept LIMIT (not SuiteQL syntax) */
    bool offset_any;                /* accept an offset that is not a multiple of limit */
    bool deleted_type_label;        /* DeletedRecord.type as "Customer"/"Sales Order" (else ids) */
    int query_timeout_ms;           /* a SuiteQL statement running longer fails */
    /* role and governance */
    unsigned deny;         /* NS_PERM_* the role lacks */
    int concurrency_limit; /* the account's limit (5 standard) */
    bool concurrency_401;  /* over the limit answer 401 instead of 429 */
    int integration_limit; /* a limit allocated to the integration (0: none, account limit) */
    /* faults */
    int latency_ms;   /* added to every API call */
    double rate_429;  /* share of API calls answered 429 at random */
    double rate_5xx;  /* share answered 500/503 at random */
    double rate_drop; /* share whose connection is closed without an answer */
    int drop_hold_ms; /* how long such a call hangs before the connection closes */
    bool m2m_wiped;   /* the M2M mapping is gone (sandbox refresh): assertions refused */
    /* events out */
    char events_url[512]; /* empty: no events */
    bool events_hmac;     /* X-MLC-Signature instead of X-MLC-Webhook-Secret */
    int events_batch;     /* events per POST: 1 = single object, >1 = {"events":[...]} */
    int events_retries;   /* further attempts after a failed post */
};

/* Kinds of calls counted for inspection. */
enum ns_call {
    NS_CALL_TOKEN,
    NS_CALL_SUITEQL,
    NS_CALL_RECORD,
    NS_CALL_SERVERTIME,
    NS_CALL_GOVERNANCE,
    NS_CALL_ADMIN,
    NS_CALL__COUNT
};
/* Outcomes counted for inspection. */
enum ns_outcome {
    NS_OUT_OK,
    NS_OUT_UNAUTHORIZED,
    NS_OUT_FORBIDDEN,
    NS_OUT_BAD_REQUEST,
    NS_OUT_NOT_FOUND,
    NS_OUT_CONCURRENCY,
    NS_OUT_FAULT_429,
    NS_OUT_FAULT_5XX,
    NS_OUT_FAULT_DROP,
    NS_OUT__COUNT
};

#define NS_MAX_KEYS 4
#define NS_MAX_TOKENS 2048
#define NS_MAX_NONCES 4096

struct ns_m2m_key {
    char cert_id[96];
    char *pub_pem; /* public key (SubjectPublicKeyInfo PEM) */
};

struct ns_token {
    uint8_t hash[32]; /* SHA-256 of the token string */
    int64_t expires_s;
    int64_t issued_s;
    unsigned epoch; /* revocation epoch it was issued in */
    bool used;
};

struct ns_nonce {
    int64_t ts;
    char nonce[72];
};

struct ns_events; /* events.c */

#define NS_COUNT_CACHE 64
struct ns_count_entry {
    char *sql;
    uint64_t version;
    long long count;
};
struct sqlite3;

/* The emulated NetSuite account. Created by the sandbox command, shared by the HTTP threads. */
struct ns_sandbox {
    /* identity and credentials (read-only after start) */
    char account_id[64];
    char base_url[256]; /* what the connector is told, e.g. https://127.0.0.1:8443 */
    char client_id[96];
    struct ns_m2m_key keys[NS_MAX_KEYS];
    size_t nkeys;
    char consumer_key[96], consumer_secret[96], token_id[96], token_secret[96];
    char webhook_secret[96];
    char admin_token[96]; /* empty: /_sandbox/ open (loopback use) */
    uint64_t seed;

    /* switches: read with ns_settings_get (a copy), changed through the admin API */
    pthread_mutex_t set_mu;
    struct ns_settings set;

    /* data */
    pthread_mutex_t db_mu;
    struct sqlite3 *db;
    struct ns_settings qset; /* settings of the statement running now (under db_mu; the UDFs) */
    int64_t qdeadline_ms;    /* monotonic deadline of the statement running now (under db_mu) */
    char denied_table[64];   /* set by the authorizer when the role lacks a table (under db_mu) */
    char denied_function[64];
    bool suiteql_mode; /* the authorizer applies SuiteQL rules (under db_mu) */
    struct ns_count_entry count_cache[NS_COUNT_CACHE]; /* totalResults by SQL (under db_mu) */
    size_t count_next;
    atomic_uint_fast64_t data_version;     /* bumped by every mutation (count cache) */
    char renamed_from[64], renamed_to[64]; /* a renamed custom field (fault) */

    /* tokens */
    pthread_mutex_t tok_mu;
    struct ns_token tokens[NS_MAX_TOKENS];
    unsigned token_epoch; /* bumped by revocation */
    struct ns_nonce nonces[NS_MAX_NONCES];
    size_t nonce_next;

    /* governance and inspection */
    atomic_int inflight;
    atomic_int peak;           /* most calls admitted at once */
    atomic_int peak_attempted; /* most calls in flight at once, refused ones included */
    atomic_uint_fast64_t calls[NS_CALL__COUNT];
    atomic_uint_fast64_t outcomes[NS_OUT__COUNT];
    atomic_uint_fast64_t tokens_issued;
    atomic_uint_fast64_t rng; /* fault dice */

    struct ns_events *events;
    struct mlc_http_server *http;
};

/* ---- server.c: lifecycle and the API-call wrapper ---- */
struct ns_options {
    const char *db_path; /* NULL = in memory */
    uint64_t seed;
    long customers, orders, items, large_orders;
    const struct ns_settings *settings; /* initial switches (NULL: defaults) */
};
enum mlc_rc ns_sandbox_new(const struct ns_options *o, struct ns_sandbox **out, char *err,
                           size_t errsz);
void ns_sandbox_free(struct ns_sandbox *s);
/* The HTTP routes of the emulated NetSuite (and its /_sandbox/ admin API). */
size_t ns_routes(struct ns_sandbox *s, struct mlc_route *routes, size_t max);
struct ns_settings ns_settings_get(struct ns_sandbox *s);
/* Applies {"name": value, ...} switch changes; MLC_EINVAL with detail for an unknown name or a bad
 * value (nothing applied then). */
enum mlc_rc ns_settings_apply(struct ns_sandbox *s, json_t *changes, char *err, size_t errsz);
json_t *ns_settings_json(const struct ns_settings *st);
void ns_settings_defaults(struct ns_settings *st);
/* Command line: *known tells whether flag is a switch; when it is, value is applied to st. */
enum mlc_rc ns_settings_set_flag(struct ns_settings *st, const char *flag, const char *value,
                                 bool *known, char *err, size_t errsz);
/* --help text of every switch. */
void ns_settings_help(struct mlc_buf *out);
/* Parses a --deny list (comma-separated permission names). */
enum mlc_rc ns_parse_deny(const char *list, unsigned *out);

/* ---- errors.c: NetSuite's error bodies ---- */
/* {"type","title","status","o:errorDetails":[{"detail","o:errorCode"[,"o:errorQueryParam"]}]} */
void ns_reply_error(struct mlc_request *r, unsigned status, const char *code,
                    const char *query_param, const char *detail_fmt, ...)
    __attribute__((format(printf, 5, 6)));
void ns_reply_invalid_login(struct mlc_request *r);
/* The same body, owned, for callers that answer later. */
json_t *ns_error_body(unsigned status, const char *code, const char *query_param,
                      const char *detail_fmt, ...) __attribute__((format(printf, 4, 5)));
void ns_reply_json(struct mlc_request *r, unsigned status, json_t *body);
/* True when the request's method is in methods (comma-separated); otherwise answers NetSuite's 405
 * (with Allow) and returns false. */
bool ns_require_method(struct mlc_request *r, const char *methods);
/* Any other path: NetSuite's 404 body (never the connector's problem+json). */
void ns_unknown_handle(struct mlc_request *r, void *ud);

/* ---- token.c ---- */
void ns_token_handle(struct mlc_request *r, void *ud);
/* Checks the request's Authorization (Bearer, or OAuth 1.0a TBA). base_url_path: the signed URL
 * without query, for TBA. True when the caller is authenticated. */
bool ns_auth_check(struct ns_sandbox *s, struct mlc_request *r, const char *why_out_unused);
void ns_tokens_revoke_all(struct ns_sandbox *s);

/* ---- governance.c ---- */
/* Takes a concurrency slot; false (and the answer sent) when over the limit. */
bool ns_gov_enter(struct ns_sandbox *s, struct mlc_request *r, const struct ns_settings *st);
void ns_gov_leave(struct ns_sandbox *s);
void ns_server_time_handle(struct mlc_request *r, void *ud);
void ns_governance_limits_handle(struct mlc_request *r, void *ud);

/* ---- faults.c ---- */
/* Applies latency and random faults to an API call; true when a fault answered the request. */
bool ns_faults_apply(struct ns_sandbox *s, struct mlc_request *r, const struct ns_settings *st);
double ns_dice(struct ns_sandbox *s);
/* Renames a custom column (fault "renamed custom field"); MLC_EINVAL with detail. */
enum mlc_rc ns_fault_rename_field(struct ns_sandbox *s, const char *table, const char *from,
                                  const char *to, char *err, size_t errsz);

/* ---- common API-call frame (server.c) ---- */
/* Counts the call, checks auth, role (REST), governance, faults. False when already answered;
 * when true the caller must call ns_api_end. */
bool ns_api_begin(struct ns_sandbox *s, struct mlc_request *r, enum ns_call kind,
                  struct ns_settings *st);
void ns_api_end(struct ns_sandbox *s);
void ns_count(struct ns_sandbox *s, enum ns_outcome o);

/* ---- db.c: SQLite (the only SQLite user besides query/datagen/mutate in this folder) ---- */
enum mlc_rc ns_db_open(struct ns_sandbox *s, const char *path, bool *fresh, char *err,
                       size_t errsz);
void ns_db_close(struct ns_sandbox *s);
/* After generating: indexes, statistics, the "generated" mark. */
enum mlc_rc ns_db_finish_load(struct ns_sandbox *s, char *err, size_t errsz);
struct sqlite3_stmt;
/* Column i of the current row as a JSON value (integer, real, string or null). */
json_t *ns_db_value_json(struct sqlite3_stmt *st, int i);
/* Runs one read-only statement for inspection and returns rows as JSON objects (owned). */
enum mlc_rc ns_db_inspect(struct ns_sandbox *s, const char *sql, size_t max_rows, json_t **rows,
                          char *err, size_t errsz);
/* Executes SQL that changes data (internal statements only). */
enum mlc_rc ns_db_exec(struct ns_sandbox *s, const char *sql, char *err, size_t errsz);

/* ---- timefmt.c: the user's time zone and Oracle format models ---- */
/* Datetimes are stored as REAL days since 1970-01-01 UTC (Oracle date arithmetic works in days). */
double ns_days_from_secs(int64_t secs);
int64_t ns_secs_from_days(double days);
/* Formats secs (+usec) in the process's local zone (the user's) with an Oracle format model
 * (YYYY, MM, DD, HH24, MI, SS, FF, MON, AM, "literal", ...). MLC_EINVAL for an unknown element. */
enum mlc_rc ns_time_format(int64_t secs, int usec, const char *fmt, char *out, size_t outsz);
/* Parses s with an Oracle format model as local time in the user's zone. */
enum mlc_rc ns_time_parse(const char *s, const char *fmt, int64_t *secs, int *usec);
/* Renders with the user's date-format preference (M/D/YYYY ...) and optionally "h:mm am". */
void ns_time_render_pref(int64_t secs, const char *datefmt, bool with_time, bool date_only,
                         char *out, size_t outsz);
/* Parses a date typed in the user's preference format (TO_DATE without a format). */
enum mlc_rc ns_time_parse_pref(const char *s, const char *datefmt, int64_t *secs);
bool ns_date_format_valid(const char *datefmt);
/* Local wall clock of secs re-read as UTC wall clock: the value SYS_EXTRACT_UTC gives (see db.c).
 */
int64_t ns_secs_utc_wall_as_local(int64_t secs);
/* Start of the local day/month/year/hour containing secs. unit: "DD", "MM", "YYYY", "HH". */
enum mlc_rc ns_time_trunc(int64_t secs, const char *unit, int64_t *out);
int64_t ns_time_add_months(int64_t secs, int months);
/* ISO 8601 UTC, seconds precision: 2026-01-31T23:59:00Z */
void ns_time_iso_utc(int64_t secs, char *out, size_t outsz);

/* ---- suiteql.c ---- */
#define NS_MAX_SELECT 256
struct ns_sql {
    char *sql;        /* SQLite SQL (owned) */
    bool has_limit;   /* a top-level LIMIT was emitted (paging must wrap) */
    size_t order_pos; /* offset in sql of the top-level ORDER BY, 0 when none (counting
                         needs no order: cutting it lets SQLite flatten the count) */
    int nitems;       /* top-level select items (-1 when a star makes it unknown) */
    unsigned char dt_item[NS_MAX_SELECT]; /* 1: item i is a datetime, 2: a date (rendered with
                                             the user's preference); 0: anything else */
    char first_table[64];                 /* first table of the outer FROM (for error messages) */
    size_t ntables;
    char tables[32][64];  /* every table named, lower-cased */
    char aliases[32][64]; /* its alias or "" */
};
enum mlc_rc ns_suiteql_translate(const char *q, bool allow_limit, struct ns_sql *out, char *err,
                                 size_t errsz);
void ns_sql_free(struct ns_sql *q);

/* ---- query.c ---- */
void ns_suiteql_handle(struct mlc_request *r, void *ud);
/* Translates and runs one SuiteQL page. *out is the page (status 200) or NetSuite's error body
 * (status 400); owned. limit and offset are already validated. */
void ns_suiteql_run(struct ns_sandbox *s, const struct ns_settings *st, const char *query,
                    long long limit, long long offset, json_t **out, unsigned *status);

/* ---- record.c ---- */
void ns_record_handle(struct mlc_request *r, void *ud);

/* ---- datagen.c ---- */
enum mlc_rc ns_datagen(struct ns_sandbox *s, const struct ns_options *o, char *err, size_t errsz);

/* ---- mutate.c: changes to the data, as a user or a script would make them ---- */
struct ns_change {
    const char *record_type; /* customer | contact | salesorder */
    long long id;
    const char *event_type; /* create | edit | xedit | delete | ... */
    bool emit;              /* whether the user-event script would fire */
};
/* Applies one mutation described by JSON (see admin.c for the shapes). Fills up to maxc changes. */
enum mlc_rc ns_mutate(struct ns_sandbox *s, const char *op, json_t *args, json_t **result,
                      unsigned *status, char *err, size_t errsz);
/* Rewrites DeletedRecord.type in the form the deletedType switch names (label or id). */
void ns_deleted_relabel(struct ns_sandbox *s, bool label);
/* A scripted change stream: n random mutations from the seed and a counter. */
enum mlc_rc ns_mutate_random(struct ns_sandbox *s, long n, uint64_t seed, json_t **result,
                             char *err, size_t errsz);

/* ---- events.c ---- */
enum mlc_rc ns_events_start(struct ns_sandbox *s, const char *ca_file, char *err, size_t errsz);
void ns_events_stop(struct ns_sandbox *s);
/* Queues a change event (no-op without an events URL). */
void ns_events_emit(struct ns_sandbox *s, const char *record_type, long long id,
                    const char *event_type);
json_t *ns_events_stats(struct ns_sandbox *s, size_t last_n);

/* ---- admin.c ---- */
void ns_admin_handle(struct mlc_request *r, void *ud);

#endif
