/* Configuration: one table of MLC_* environment variables (names from CONFIG.md). */
#ifndef MLC_CONFIG_H
#define MLC_CONFIG_H

#include "mlc/core.h"
#include <jansson.h>

enum mlc_cfg_id {
    /* General and HTTP */
    MLC_CFG_LISTEN,
    MLC_CFG_HTTP_THREADS,
    MLC_CFG_MAX_CONNECTIONS,
    MLC_CFG_MAX_CONNECTIONS_PER_IP,
    MLC_CFG_CONNECTION_TIMEOUT_S,
    MLC_CFG_TRUSTED_PROXIES,
    MLC_CFG_ADMIN_TOKENS,
    MLC_CFG_LOG_LEVEL,
    MLC_CFG_ACCESS_LOG,
    MLC_CFG_SHUTDOWN_GRACE_S,
    MLC_CFG_TLS_CA_FILE,
    MLC_CFG_ALLOW_PLAINTEXT_SECRETS,
    MLC_CFG_MASTER_KEY,
    MLC_CFG_DRY_RUN,
    /* Redis and the queue */
    MLC_CFG_REDIS_URL,
    MLC_CFG_REDIS_SENTINELS,
    MLC_CFG_REDIS_MASTER_NAME,
    MLC_CFG_REDIS_KEY_PREFIX,
    MLC_CFG_REDIS_TIMEOUT_MS,
    MLC_CFG_WORKERS,
    MLC_CFG_BULK_WORKER_SHARE,
    MLC_CFG_QUEUE_VISIBILITY_TIMEOUT_S,
    MLC_CFG_QUEUE_MAX_ATTEMPTS,
    MLC_CFG_QUEUE_MAX_DELIVERIES,
    MLC_CFG_QUEUE_RETRY_BASE_MS,
    MLC_CFG_QUEUE_RETRY_MAX_S,
    MLC_CFG_QUEUE_MAX_BACKLOG,
    MLC_CFG_DEDUPE_TTL_S,
    MLC_CFG_BREAKER_THRESHOLD,
    MLC_CFG_BREAKER_WINDOW_S,
    MLC_CFG_DLQ_MAX_ENTRIES,
    /* Webhooks in */
    MLC_CFG_NETSUITE_WEBHOOK_AUTH,
    MLC_CFG_NETSUITE_WEBHOOK_SECRETS,
    MLC_CFG_NETSUITE_WEBHOOK_TOLERANCE_S,
    MLC_CFG_NETSUITE_ALLOWED_CIDRS,
    MLC_CFG_NETSUITE_MAX_BODY_BYTES,
    MLC_CFG_DATAVERSE_WEBHOOK_AUTH,
    MLC_CFG_DATAVERSE_WEBHOOK_KEYS,
    MLC_CFG_DATAVERSE_WEBHOOK_HEADERS,
    MLC_CFG_DATAVERSE_WEBHOOK_QUERY,
    MLC_CFG_DATAVERSE_MAX_BODY_BYTES,
    MLC_CFG_DATAVERSE_WEBHOOK_URL,
    /* Identity of the connected systems */
    MLC_CFG_NETSUITE_ACCOUNT_ID,
    MLC_CFG_DATAVERSE_ORGANIZATION_ID,
    /* NetSuite client and poller */
    MLC_CFG_NETSUITE_BASE_URL,
    MLC_CFG_NETSUITE_AUTH,
    MLC_CFG_NETSUITE_CLIENT_ID,
    MLC_CFG_NETSUITE_CERTIFICATE_ID,
    MLC_CFG_NETSUITE_PRIVATE_KEY,
    MLC_CFG_NETSUITE_CERTIFICATE,
    MLC_CFG_NETSUITE_JWT_ALG,
    MLC_CFG_NETSUITE_SCOPE,
    MLC_CFG_NETSUITE_CONSUMER_KEY,
    MLC_CFG_NETSUITE_CONSUMER_SECRET,
    MLC_CFG_NETSUITE_TOKEN_ID,
    MLC_CFG_NETSUITE_TOKEN_SECRET,
    MLC_CFG_NETSUITE_TOKEN_REFRESH_MARGIN_S,
    MLC_CFG_NETSUITE_MAX_CONCURRENCY,
    MLC_CFG_NETSUITE_TIMEOUT_S,
    MLC_CFG_POLL_INTERVAL_S,
    MLC_CFG_POLL_OVERLAP_S,
    MLC_CFG_POLL_START,
    MLC_CFG_POLL_TYPES,
    /* Dataverse client */
    MLC_CFG_DATAVERSE_URL,
    MLC_CFG_ENTRA_AUTHORITY_URL,
    MLC_CFG_ENTRA_TENANT_ID,
    MLC_CFG_ENTRA_CLIENT_ID,
    MLC_CFG_ENTRA_CLIENT_SECRET,
    MLC_CFG_ENTRA_CERTIFICATE,
    MLC_CFG_ENTRA_PRIVATE_KEY,
    MLC_CFG_ENTRA_FEDERATED_TOKEN_PATH,
    MLC_CFG_DATAVERSE_APP_USER_ID,
    MLC_CFG_DATAVERSE_MAX_CONCURRENCY,
    MLC_CFG_DATAVERSE_BULK_CHUNK,
    MLC_CFG_DATAVERSE_TIMEOUT_S,
    MLC_CFG_DATAVERSE_CACHE_TTL_S,
    /* Sync */
    MLC_CFG_MAPPING_FILE,
    MLC_CFG_DRIFT_POLICY,
    MLC_CFG_CRM_DELETE_POLICY,
    MLC_CFG_AUDIT_RETENTION_DAYS,
    MLC_CFG_AUDIT_MAX_ENTRIES,
    MLC_CFG_AUDIT_SINK,
    MLC_CFG_RECONCILE_INTERVAL_S,
    MLC_CFG__COUNT
};

enum mlc_cfg_type {
    MLC_CFG_STR,
    MLC_CFG_INT,
    MLC_CFG_DOUBLE,
    MLC_CFG_BOOL,
    MLC_CFG_ENUM,
    MLC_CFG_LIST
};

/* Flags of a table row. */
#define MLC_CFG_SECRET 0x1u    /* never logged, shown as *** */
#define MLC_CFG_REQ_SERVE 0x2u /* required when `serve` starts */

struct mlc_cfg_def {
    const char *name; /* environment variable */
    enum mlc_cfg_type type;
    const char *def;     /* default as text; NULL = unset */
    double min, max;     /* bounds for INT/DOUBLE (inclusive) */
    const char *choices; /* ENUM: '|'-separated */
    unsigned flags;
    const char *help; /* one line for --help and the README table */
};

/* Parsed configuration. Strings are owned; read-only after load. */
struct mlc_config {
    char *str[MLC_CFG__COUNT]; /* raw text value, NULL when unset */
    long long num[MLC_CFG__COUNT];
    double dbl[MLC_CFG__COUNT];
    bool set[MLC_CFG__COUNT];       /* given explicitly (env or _FILE) */
    bool from_file[MLC_CFG__COUNT]; /* read from MLC_X_FILE (re-read on SIGHUP) */
    char plaintext_secrets[512];    /* secrets given in plaintext in the environment (warned) */
};

/* The table (MLC_CFG__COUNT rows). */
const struct mlc_cfg_def *mlc_config_defs(void);

/* Loads from an environment lookup (getenv when NULL). On error returns MLC_EINVAL and writes
 * one line naming the variable and the problem into err. The caller exits with status 2. */
typedef const char *(*mlc_getenv_fn)(const char *name, void *ud);
enum mlc_rc mlc_config_load(struct mlc_config *cfg, mlc_getenv_fn get, void *ud, char *err,
                            size_t errsz);
/* Checks the rows flagged for `serve` and the conditional requirements. */
enum mlc_rc mlc_config_check_serve(const struct mlc_config *cfg, char *err, size_t errsz);
void mlc_config_free(struct mlc_config *cfg);
/* Wipes and drops one value (material needed once, such as a private key PEM, after the
 * components that need it have parsed it). */
void mlc_config_wipe(struct mlc_config *cfg, enum mlc_cfg_id id);

static inline const char *mlc_config_str(const struct mlc_config *c, enum mlc_cfg_id id)
{
    return c->str[id];
}
static inline long long mlc_config_int(const struct mlc_config *c, enum mlc_cfg_id id)
{
    return c->num[id];
}
static inline double mlc_config_double(const struct mlc_config *c, enum mlc_cfg_id id)
{
    return c->dbl[id];
}
static inline bool mlc_config_bool(const struct mlc_config *c, enum mlc_cfg_id id)
{
    return c->num[id] != 0;
}

/* The effective configuration as a JSON object, secrets as "***" (new reference). */
json_t *mlc_config_redacted(const struct mlc_config *cfg);

/* Splits a comma-separated list into trimmed, non-empty items. Returns the count; *items is an
 * owned array of owned strings (free with mlc_strv_free). */
size_t mlc_list_split(const char *s, char ***items);
void mlc_strv_free(char **v, size_t n);
/* True when item is one of the sep-separated tokens of list (exact, case-sensitive). */
bool mlc_list_has(const char *list, char sep, const char *item);

#endif
