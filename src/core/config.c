/* Configuration table (names from CONFIG.md), loading from the environment and _FILE variants. */
#include "mlc/config.h"
#include "mlc/crypto.h"
#include "mlc/secrets.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S MLC_CFG_SECRET
#define R MLC_CFG_REQ_SERVE
#define BIG 1e15

static const struct mlc_cfg_def defs[MLC_CFG__COUNT] = {
    [MLC_CFG_LISTEN] = {"MLC_LISTEN", MLC_CFG_STR, "0.0.0.0:8080", 0, 0, NULL, 0,
                        "address:port to serve on"},
    [MLC_CFG_HTTP_THREADS] = {"MLC_HTTP_THREADS", MLC_CFG_INT, "4", 1, 256, NULL, 0,
                              "libmicrohttpd thread pool size"},
    [MLC_CFG_MAX_CONNECTIONS] = {"MLC_MAX_CONNECTIONS", MLC_CFG_INT, "1024", 1, 65536, NULL, 0,
                                 "connection limit"},
    [MLC_CFG_MAX_CONNECTIONS_PER_IP] = {"MLC_MAX_CONNECTIONS_PER_IP", MLC_CFG_INT, "0", 0, 65536,
                                        NULL, 0, "per-peer limit (0 = off)"},
    [MLC_CFG_CONNECTION_TIMEOUT_S] = {"MLC_CONNECTION_TIMEOUT_S", MLC_CFG_INT, "30", 1, 3600, NULL,
                                      0, "idle connection timeout"},
    [MLC_CFG_TRUSTED_PROXIES] = {"MLC_TRUSTED_PROXIES", MLC_CFG_LIST, NULL, 0, 0, NULL, 0,
                                 "CIDRs whose X-Forwarded-For is believed"},
    [MLC_CFG_ADMIN_TOKENS] = {"MLC_ADMIN_TOKENS", MLC_CFG_LIST, NULL, 0, 0, NULL, S,
                              "bearer tokens for /v1/ admin routes"},
    [MLC_CFG_LOG_LEVEL] = {"MLC_LOG_LEVEL", MLC_CFG_ENUM, "info", 0, 0, "debug|info|warn|error", 0,
                           "log threshold"},
    [MLC_CFG_ACCESS_LOG] = {"MLC_ACCESS_LOG", MLC_CFG_BOOL, "on", 0, 0, NULL, 0,
                            "one line per request, query strings never logged"},
    [MLC_CFG_SHUTDOWN_GRACE_S] = {"MLC_SHUTDOWN_GRACE_S", MLC_CFG_INT, "20", 0, 3600, NULL, 0,
                                  "time in-flight jobs get after SIGTERM"},
    [MLC_CFG_TLS_CA_FILE] = {"MLC_TLS_CA_FILE", MLC_CFG_STR, NULL, 0, 0, NULL, 0,
                             "CA bundle for outbound HTTPS"},
    [MLC_CFG_ALLOW_PLAINTEXT_SECRETS] = {"MLC_ALLOW_PLAINTEXT_SECRETS", MLC_CFG_BOOL, "0", 0, 0,
                                         NULL, 0, "accept plaintext secrets in the environment"},
    [MLC_CFG_MASTER_KEY] = {"MLC_MASTER_KEY", MLC_CFG_STR, NULL, 0, 0, NULL, S,
                            "key ring for enc:v1 values (only through MLC_MASTER_KEY_FILE)"},
    [MLC_CFG_DRY_RUN] = {"MLC_DRY_RUN", MLC_CFG_BOOL, "0", 0, 0, NULL, 0,
                         "compute and audit every write, send none"},
    [MLC_CFG_REDIS_URL] = {"MLC_REDIS_URL", MLC_CFG_STR, "redis://127.0.0.1:6379/0", 0, 0, NULL, S,
                           "the Redis primary"},
    [MLC_CFG_REDIS_SENTINELS] = {"MLC_REDIS_SENTINELS", MLC_CFG_LIST, NULL, 0, 0, NULL, 0,
                                 "host:port list; with it, the primary is found through Sentinel"},
    [MLC_CFG_REDIS_MASTER_NAME] = {"MLC_REDIS_MASTER_NAME", MLC_CFG_STR, "mymaster", 0, 0, NULL, 0,
                                   "Sentinel's name for the primary"},
    [MLC_CFG_REDIS_KEY_PREFIX] = {"MLC_REDIS_KEY_PREFIX", MLC_CFG_STR, "mlc:", 0, 0, NULL, 0,
                                  "every key the service writes starts with it"},
    [MLC_CFG_REDIS_TIMEOUT_MS] = {"MLC_REDIS_TIMEOUT_MS", MLC_CFG_INT, "2000", 100, 600000, NULL, 0,
                                  "connect and command timeout"},
    [MLC_CFG_WORKERS] = {"MLC_WORKERS", MLC_CFG_INT, "8", 0, 256, NULL, 0,
                         "worker threads (0: an ingest-only replica)"},
    [MLC_CFG_BULK_WORKER_SHARE] = {"MLC_BULK_WORKER_SHARE", MLC_CFG_DOUBLE, "0.5", 0, 1, NULL, 0,
                                   "at most this share of workers serves the bulk stream"},
    [MLC_CFG_QUEUE_VISIBILITY_TIMEOUT_S] = {"MLC_QUEUE_VISIBILITY_TIMEOUT_S", MLC_CFG_INT, "120", 1,
                                            86400, NULL, 0,
                                            "pending entries idle this long are reclaimed"},
    [MLC_CFG_QUEUE_MAX_ATTEMPTS] = {"MLC_QUEUE_MAX_ATTEMPTS", MLC_CFG_INT, "12", 1, 1000, NULL, 0,
                                    "retries before the DLQ"},
    [MLC_CFG_QUEUE_MAX_DELIVERIES] = {"MLC_QUEUE_MAX_DELIVERIES", MLC_CFG_INT, "5", 1, 1000, NULL,
                                      0, "deliveries without an outcome before the DLQ"},
    [MLC_CFG_QUEUE_RETRY_BASE_MS] = {"MLC_QUEUE_RETRY_BASE_MS", MLC_CFG_INT, "1000", 1, 3600000,
                                     NULL, 0, "backoff base"},
    [MLC_CFG_QUEUE_RETRY_MAX_S] = {"MLC_QUEUE_RETRY_MAX_S", MLC_CFG_INT, "3600", 1, 604800, NULL, 0,
                                   "backoff cap"},
    [MLC_CFG_QUEUE_MAX_BACKLOG] = {"MLC_QUEUE_MAX_BACKLOG", MLC_CFG_INT, "1000000", 1, BIG, NULL, 0,
                                   "waiting jobs per stream above which webhooks get 503"},
    [MLC_CFG_DEDUPE_TTL_S] = {"MLC_DEDUPE_TTL_S", MLC_CFG_INT, "86400", 1, 31536000, NULL, 0,
                              "how long a webhook delivery id is remembered"},
    [MLC_CFG_BREAKER_THRESHOLD] = {"MLC_BREAKER_THRESHOLD", MLC_CFG_INT, "25", 0, 1000000, NULL, 0,
                                   "failures with one fingerprint that pause a lane (0 = off)"},
    [MLC_CFG_BREAKER_WINDOW_S] = {"MLC_BREAKER_WINDOW_S", MLC_CFG_INT, "300", 1, 86400, NULL, 0,
                                  "window of the circuit breaker"},
    [MLC_CFG_DLQ_MAX_ENTRIES] = {"MLC_DLQ_MAX_ENTRIES", MLC_CFG_INT, "1000000", 100, BIG, NULL, 0,
                                 "dead-letter stream cap (oldest trimmed, logged)"},
    [MLC_CFG_NETSUITE_WEBHOOK_AUTH] = {"MLC_NETSUITE_WEBHOOK_AUTH", MLC_CFG_ENUM, "secret", 0, 0,
                                       "secret|hmac", 0, "NetSuite webhook authentication"},
    [MLC_CFG_NETSUITE_WEBHOOK_SECRETS] = {"MLC_NETSUITE_WEBHOOK_SECRETS", MLC_CFG_LIST, NULL, 0, 0,
                                          NULL, S | R, "accepted secrets / HMAC keys"},
    [MLC_CFG_NETSUITE_WEBHOOK_TOLERANCE_S] = {"MLC_NETSUITE_WEBHOOK_TOLERANCE_S", MLC_CFG_INT,
                                              "300", 1, 86400, NULL, 0,
                                              "hmac mode: largest clock difference accepted"},
    [MLC_CFG_NETSUITE_ALLOWED_CIDRS] = {"MLC_NETSUITE_ALLOWED_CIDRS", MLC_CFG_LIST, NULL, 0, 0,
                                        NULL, R, "source allowlist; `any` allows every address"},
    [MLC_CFG_NETSUITE_MAX_BODY_BYTES] = {"MLC_NETSUITE_MAX_BODY_BYTES", MLC_CFG_INT, "262144", 256,
                                         67108864, NULL, 0, "body limit for NetSuite events"},
    [MLC_CFG_DATAVERSE_WEBHOOK_AUTH] = {"MLC_DATAVERSE_WEBHOOK_AUTH", MLC_CFG_ENUM, "webhookkey", 0,
                                        0, "webhookkey|header|querystring", 0,
                                        "Dataverse webhook authentication"},
    [MLC_CFG_DATAVERSE_WEBHOOK_KEYS] = {"MLC_DATAVERSE_WEBHOOK_KEYS", MLC_CFG_LIST, NULL, 0, 0,
                                        NULL, S, "accepted WebhookKey values"},
    [MLC_CFG_DATAVERSE_WEBHOOK_HEADERS] = {"MLC_DATAVERSE_WEBHOOK_HEADERS", MLC_CFG_LIST, NULL, 0,
                                           0, NULL, S, "Name=value pairs, all must match"},
    [MLC_CFG_DATAVERSE_WEBHOOK_QUERY] = {"MLC_DATAVERSE_WEBHOOK_QUERY", MLC_CFG_LIST, NULL, 0, 0,
                                         NULL, S, "name=value pairs, all must match"},
    [MLC_CFG_DATAVERSE_MAX_BODY_BYTES] = {"MLC_DATAVERSE_MAX_BODY_BYTES", MLC_CFG_INT, "1048576",
                                          256, 67108864, NULL, 0,
                                          "body limit for Dataverse contexts"},
    [MLC_CFG_DATAVERSE_WEBHOOK_URL] =
        {"MLC_DATAVERSE_WEBHOOK_URL", MLC_CFG_STR, NULL, 0, 0, NULL, 0,
         "the connector's /v1/webhooks/dataverse as Dataverse reaches "
         "it (setup dataverse registers it)"},
    [MLC_CFG_NETSUITE_ACCOUNT_ID] = {"MLC_NETSUITE_ACCOUNT_ID", MLC_CFG_STR, NULL, 0, 0, NULL, 0,
                                     "NetSuite account; events naming another are refused"},
    [MLC_CFG_DATAVERSE_ORGANIZATION_ID] =
        {"MLC_DATAVERSE_ORGANIZATION_ID", MLC_CFG_STR, NULL, 0, 0, NULL, 0,
         "Dataverse organization; webhooks naming another are refused"},
    [MLC_CFG_NETSUITE_BASE_URL] = {"MLC_NETSUITE_BASE_URL", MLC_CFG_STR, NULL, 0, 0, NULL, 0,
                                   "override of https://<account>.suitetalk.api.netsuite.com"},
    [MLC_CFG_NETSUITE_AUTH] = {"MLC_NETSUITE_AUTH", MLC_CFG_ENUM, "m2m", 0, 0, "m2m|tba", 0,
                               "NetSuite authentication: m2m (OAuth 2.0 certificate) or tba"},
    [MLC_CFG_NETSUITE_CLIENT_ID] = {"MLC_NETSUITE_CLIENT_ID", MLC_CFG_STR, NULL, 0, 0, NULL, S,
                                    "m2m: the integration record's client ID"},
    [MLC_CFG_NETSUITE_CERTIFICATE_ID] = {"MLC_NETSUITE_CERTIFICATE_ID", MLC_CFG_STR, NULL, 0, 0,
                                         NULL, S, "m2m: the M2M mapping's certificate ID (kid)"},
    [MLC_CFG_NETSUITE_PRIVATE_KEY] = {"MLC_NETSUITE_PRIVATE_KEY", MLC_CFG_STR, NULL, 0, 0, NULL, S,
                                      "m2m: PEM private key, RSA 3072/4096 or EC P-256/384/521"},
    [MLC_CFG_NETSUITE_CERTIFICATE] = {"MLC_NETSUITE_CERTIFICATE", MLC_CFG_STR, NULL, 0, 0, NULL, 0,
                                      "m2m: the certificate PEM, for expiry metrics"},
    [MLC_CFG_NETSUITE_JWT_ALG] = {"MLC_NETSUITE_JWT_ALG", MLC_CFG_ENUM, NULL, 0, 0,
                                  "PS256|PS384|PS512|ES256|ES384|ES512", 0,
                                  "force the JWT alg (default: from the key)"},
    [MLC_CFG_NETSUITE_SCOPE] = {"MLC_NETSUITE_SCOPE", MLC_CFG_STR, "rest_webservices", 0, 0, NULL,
                                0, "JWT scope claim"},
    [MLC_CFG_NETSUITE_CONSUMER_KEY] = {"MLC_NETSUITE_CONSUMER_KEY", MLC_CFG_STR, NULL, 0, 0, NULL,
                                       S, "tba: consumer key"},
    [MLC_CFG_NETSUITE_CONSUMER_SECRET] = {"MLC_NETSUITE_CONSUMER_SECRET", MLC_CFG_STR, NULL, 0, 0,
                                          NULL, S, "tba: consumer secret"},
    [MLC_CFG_NETSUITE_TOKEN_ID] = {"MLC_NETSUITE_TOKEN_ID", MLC_CFG_STR, NULL, 0, 0, NULL, S,
                                   "tba: token ID"},
    [MLC_CFG_NETSUITE_TOKEN_SECRET] = {"MLC_NETSUITE_TOKEN_SECRET", MLC_CFG_STR, NULL, 0, 0, NULL,
                                       S, "tba: token secret"},
    [MLC_CFG_NETSUITE_TOKEN_REFRESH_MARGIN_S] =
        {"MLC_NETSUITE_TOKEN_REFRESH_MARGIN_S", MLC_CFG_INT, "300", 0, 3600, NULL, 0,
         "refresh when less remains (at most half the lifetime)"},
    [MLC_CFG_NETSUITE_MAX_CONCURRENCY] = {"MLC_NETSUITE_MAX_CONCURRENCY", MLC_CFG_INT, "4", 1, 1000,
                                          NULL, 0,
                                          "our share of the account's concurrency, all replicas"},
    [MLC_CFG_NETSUITE_TIMEOUT_S] = {"MLC_NETSUITE_TIMEOUT_S", MLC_CFG_INT, "120", 1, 3600, NULL, 0,
                                    "total time for one NetSuite call"},
    [MLC_CFG_POLL_INTERVAL_S] = {"MLC_POLL_INTERVAL_S", MLC_CFG_INT, "300", 1, 86400, NULL, 0,
                                 "poller period"},
    [MLC_CFG_POLL_OVERLAP_S] = {"MLC_POLL_OVERLAP_S", MLC_CFG_INT, "900", 0, 604800, NULL, 0,
                                "re-read window behind the UTC watermark"},
    [MLC_CFG_POLL_START] = {"MLC_POLL_START", MLC_CFG_STR, "now", 0, 0, NULL, 0,
                            "first watermark when none is stored (now or a UTC date-time)"},
    [MLC_CFG_POLL_TYPES] = {"MLC_POLL_TYPES", MLC_CFG_LIST, "customer,contact,salesorder", 0, 0,
                            NULL, 0, "what the poller reads"},
    [MLC_CFG_DATAVERSE_URL] = {"MLC_DATAVERSE_URL", MLC_CFG_STR, NULL, 0, 0, NULL, 0,
                               "https://<org>.crm.dynamics.com (the token scope comes from it)"},
    [MLC_CFG_ENTRA_AUTHORITY_URL] = {"MLC_ENTRA_AUTHORITY_URL", MLC_CFG_STR,
                                     "https://login.microsoftonline.com", 0, 0, NULL, 0,
                                     "Entra ID login host (override for the sandbox and tests)"},
    [MLC_CFG_ENTRA_TENANT_ID] = {"MLC_ENTRA_TENANT_ID", MLC_CFG_STR, NULL, 0, 0, NULL, 0,
                                 "directory (tenant) ID"},
    [MLC_CFG_ENTRA_CLIENT_ID] = {"MLC_ENTRA_CLIENT_ID", MLC_CFG_STR, NULL, 0, 0, NULL, 0,
                                 "application (client) ID"},
    [MLC_CFG_ENTRA_CLIENT_SECRET] = {"MLC_ENTRA_CLIENT_SECRET", MLC_CFG_STR, NULL, 0, 0, NULL, S,
                                     "client secret (one of three credentials)"},
    [MLC_CFG_ENTRA_CERTIFICATE] = {"MLC_ENTRA_CERTIFICATE", MLC_CFG_STR, NULL, 0, 0, NULL, 0,
                                   "certificate PEM for the client assertion (with the key)"},
    [MLC_CFG_ENTRA_PRIVATE_KEY] = {"MLC_ENTRA_PRIVATE_KEY", MLC_CFG_STR, NULL, 0, 0, NULL, S,
                                   "private key PEM of MLC_ENTRA_CERTIFICATE"},
    [MLC_CFG_ENTRA_FEDERATED_TOKEN_PATH] = {"MLC_ENTRA_FEDERATED_TOKEN_PATH", MLC_CFG_STR, NULL, 0,
                                            0, NULL, 0,
                                            "workload identity: projected token file, re-read "
                                            "at every token request"},
    [MLC_CFG_DATAVERSE_APP_USER_ID] = {"MLC_DATAVERSE_APP_USER_ID", MLC_CFG_STR, NULL, 0, 0, NULL,
                                       0, "our application user (default: from WhoAmI)"},
    [MLC_CFG_DATAVERSE_MAX_CONCURRENCY] = {"MLC_DATAVERSE_MAX_CONCURRENCY", MLC_CFG_INT, "16", 1,
                                           52, NULL, 0,
                                           "in-flight Dataverse calls across ALL replicas"},
    [MLC_CFG_DATAVERSE_BULK_CHUNK] = {"MLC_DATAVERSE_BULK_CHUNK", MLC_CFG_INT, "200", 1, 1000, NULL,
                                      0, "rows per UpsertMultiple / $batch"},
    [MLC_CFG_DATAVERSE_TIMEOUT_S] = {"MLC_DATAVERSE_TIMEOUT_S", MLC_CFG_INT, "120", 1, 3600, NULL,
                                     0, "total time for one Dataverse call"},
    [MLC_CFG_DATAVERSE_CACHE_TTL_S] =
        {"MLC_DATAVERSE_CACHE_TTL_S", MLC_CFG_INT, "900", 0, 86400, NULL, 0,
         "reference data cache TTL (misses: a tenth of it, at most 60)"},
    [MLC_CFG_MAPPING_FILE] = {"MLC_MAPPING_FILE", MLC_CFG_STR, NULL, 0, 0, NULL, 0,
                              "mapping file (default: the shipped deploy/config/mapping.json)"},
    [MLC_CFG_DRIFT_POLICY] = {"MLC_DRIFT_POLICY", MLC_CFG_ENUM, "revert", 0, 0, "revert|report", 0,
                              "CRM edits of NetSuite-owned columns: revert or report"},
    [MLC_CFG_CRM_DELETE_POLICY] = {"MLC_CRM_DELETE_POLICY", MLC_CFG_ENUM, "recreate", 0, 0,
                                   "recreate|report", 0,
                                   "a synced row deleted in the CRM: recreate or report"},
    [MLC_CFG_AUDIT_RETENTION_DAYS] = {"MLC_AUDIT_RETENTION_DAYS", MLC_CFG_INT, "30", 1, 3650, NULL,
                                      0, "audit entries kept in Redis this long"},
    [MLC_CFG_AUDIT_MAX_ENTRIES] = {"MLC_AUDIT_MAX_ENTRIES", MLC_CFG_INT, "1000000", 100, BIG, NULL,
                                   0, "hard cap of audit entries in Redis"},
    [MLC_CFG_AUDIT_SINK] = {"MLC_AUDIT_SINK", MLC_CFG_STR, NULL, 0, 0, NULL, 0,
                            "also append every audit entry as a JSON line: stdout or file:PATH"},
    [MLC_CFG_RECONCILE_INTERVAL_S] = {"MLC_RECONCILE_INTERVAL_S", MLC_CFG_INT, "86400", 0, 31536000,
                                      NULL, 0, "serve: full compare of both systems (0: never)"},
};

const struct mlc_cfg_def *mlc_config_defs(void)
{
    return defs;
}

static const char *env_get(const char *name, void *ud)
{
    (void)ud;
    return getenv(name);
}

static char *read_file(const char *path, char *err, size_t errsz, const char *var)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsz, "%s_FILE: cannot read %s: %s", var, path, strerror(errno));
        return NULL;
    }
    struct mlc_buf b;
    mlc_buf_init(&b, 1u << 20);
    char chunk[4096];
    size_t n;
    bool too_big = false;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (mlc_buf_append(&b, chunk, n) != MLC_OK) {
            too_big = true;
            break;
        }
    }
    fclose(f);
    if (too_big) {
        snprintf(err, errsz, "%s_FILE: %s is larger than 1 MiB", var, path);
        mlc_buf_free(&b);
        return NULL;
    }
    if (!b.data)
        return mlc_strdup("");
    if (b.len && b.data[b.len - 1] == '\n') {
        b.data[--b.len] = '\0';
        if (b.len && b.data[b.len - 1] == '\r')
            b.data[--b.len] = '\0';
    }
    return b.data;
}

static bool parse_bool(const char *s, long long *out)
{
    static const char *const t[] = {"1", "on", "true", "yes"};
    static const char *const f[] = {"0", "off", "false", "no"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, t[i]) == 0) {
            *out = 1;
            return true;
        }
        if (strcasecmp(s, f[i]) == 0) {
            *out = 0;
            return true;
        }
    }
    return false;
}

bool mlc_list_has(const char *list, char sep, const char *item)
{
    size_t vl = strlen(item);
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, sep);
        size_t l = end ? (size_t)(end - p) : strlen(p);
        if (l == vl && strncmp(p, item, l) == 0)
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

static enum mlc_rc parse_value(const struct mlc_cfg_def *d, const char *v, struct mlc_config *cfg,
                               int id, char *err, size_t errsz)
{
    switch (d->type) {
    case MLC_CFG_STR:
    case MLC_CFG_LIST:
        return MLC_OK;
    case MLC_CFG_INT: {
        char *end = NULL;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno || !end || end == v || *end) {
            snprintf(err, errsz, "%s: not an integer", d->name);
            return MLC_EINVAL;
        }
        if ((double)n < d->min || (double)n > d->max) {
            snprintf(err, errsz, "%s: %lld is out of range [%.0f, %.0f]", d->name, n, d->min,
                     d->max);
            return MLC_EINVAL;
        }
        cfg->num[id] = n;
        cfg->dbl[id] = (double)n;
        return MLC_OK;
    }
    case MLC_CFG_DOUBLE: {
        char *end = NULL;
        errno = 0;
        double x = strtod(v, &end);
        if (errno || !end || end == v || *end || !isfinite(x)) {
            snprintf(err, errsz, "%s: not a number", d->name);
            return MLC_EINVAL;
        }
        if (x < d->min || x > d->max) {
            snprintf(err, errsz, "%s: %g is out of range [%g, %g]", d->name, x, d->min, d->max);
            return MLC_EINVAL;
        }
        cfg->dbl[id] = x;
        return MLC_OK;
    }
    case MLC_CFG_BOOL:
        if (!parse_bool(v, &cfg->num[id])) {
            snprintf(err, errsz, "%s: expected 0/1, on/off, true/false", d->name);
            return MLC_EINVAL;
        }
        return MLC_OK;
    case MLC_CFG_ENUM:
        if (!mlc_list_has(d->choices, '|', v)) {
            snprintf(err, errsz, "%s: must be one of %s", d->name, d->choices);
            return MLC_EINVAL;
        }
        return MLC_OK;
    }
    return MLC_EINVAL;
}

enum mlc_rc mlc_config_load(struct mlc_config *cfg, mlc_getenv_fn get, void *ud, char *err,
                            size_t errsz)
{
    memset(cfg, 0, sizeof *cfg);
    if (!get)
        get = env_get;
    for (int i = 0; i < MLC_CFG__COUNT; i++) {
        const struct mlc_cfg_def *d = &defs[i];
        char fname[128];
        snprintf(fname, sizeof fname, "%s_FILE", d->name);
        const char *direct = get(d->name, ud);
        const char *file = get(fname, ud);
        if (direct && file) {
            snprintf(err, errsz, "%s: set both %s and %s; set one", d->name, d->name, fname);
            goto fail;
        }
        char *val = NULL;
        if (file) {
            val = read_file(file, err, errsz, d->name);
            if (!val)
                goto fail;
            cfg->set[i] = true;
            cfg->from_file[i] = true;
        } else if (direct) {
            val = mlc_strdup(direct);
            cfg->set[i] = true;
        } else if (d->def) {
            val = mlc_strdup(d->def);
        }
        if (val && cfg->set[i] && *val == '\0' && d->type != MLC_CFG_STR &&
            d->type != MLC_CFG_LIST) {
            snprintf(err, errsz, "%s: empty value", d->name);
            free(val);
            goto fail;
        }
        cfg->str[i] = val;
        if (val && parse_value(d, val, cfg, i, err, errsz) != MLC_OK)
            goto fail;
    }
    if (mlc_secrets_apply(cfg, cfg->from_file, err, errsz) != MLC_OK)
        goto fail;
    return MLC_OK;
fail:
    mlc_config_free(cfg);
    return MLC_EINVAL;
}

static bool empty(const char *s)
{
    if (!s)
        return true;
    while (*s) {
        if (!isspace((unsigned char)*s) && *s != ',')
            return false;
        s++;
    }
    return true;
}

enum mlc_rc mlc_config_check_serve(const struct mlc_config *cfg, char *err, size_t errsz)
{
    for (int i = 0; i < MLC_CFG__COUNT; i++) {
        if ((defs[i].flags & MLC_CFG_REQ_SERVE) && empty(cfg->str[i])) {
            snprintf(err, errsz, "%s: required", defs[i].name);
            return MLC_EINVAL;
        }
    }
    const char *dvauth = cfg->str[MLC_CFG_DATAVERSE_WEBHOOK_AUTH];
    static const struct {
        const char *mode;
        enum mlc_cfg_id id;
    } need[] = {{"webhookkey", MLC_CFG_DATAVERSE_WEBHOOK_KEYS},
                {"header", MLC_CFG_DATAVERSE_WEBHOOK_HEADERS},
                {"querystring", MLC_CFG_DATAVERSE_WEBHOOK_QUERY}};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        if (strcmp(dvauth, need[i].mode) == 0 && empty(cfg->str[need[i].id])) {
            snprintf(err, errsz, "%s: required when MLC_DATAVERSE_WEBHOOK_AUTH=%s",
                     defs[need[i].id].name, need[i].mode);
            return MLC_EINVAL;
        }
    }
    return MLC_OK;
}

void mlc_config_free(struct mlc_config *cfg)
{
    for (int i = 0; i < MLC_CFG__COUNT; i++) {
        if (cfg->str[i]) {
            if (defs[i].flags & MLC_CFG_SECRET)
                mlc_wipe(cfg->str[i], strlen(cfg->str[i]));
            MLC_FREE(cfg->str[i]);
        }
    }
}

void mlc_config_wipe(struct mlc_config *cfg, enum mlc_cfg_id id)
{
    if (cfg->str[id]) {
        mlc_wipe(cfg->str[id], strlen(cfg->str[id]));
        MLC_FREE(cfg->str[id]);
    }
}

/* redis://user:password@host:port/db -> redis://user:***@host:port/db (only the password is
 * secret; the host helps operators). */
static json_t *redacted_url(const char *url)
{
    const char *scheme = strstr(url, "://");
    const char *at = strrchr(url, '@');
    if (!scheme || !at || at < scheme)
        return json_string(url);
    const char *colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
    const char *cut = colon ? colon + 1 : scheme + 3;
    struct mlc_buf b;
    mlc_buf_init(&b, strlen(url) + 8);
    mlc_buf_append(&b, url, (size_t)(cut - url));
    mlc_buf_append(&b, "***", 3);
    mlc_buf_append(&b, at, strlen(at));
    json_t *j = json_string(b.data);
    mlc_buf_free(&b);
    return j;
}

json_t *mlc_config_redacted(const struct mlc_config *cfg)
{
    json_t *o = json_object();
    for (int i = 0; i < MLC_CFG__COUNT; i++) {
        const char *v = cfg->str[i];
        if (!v) {
            json_object_set_new(o, defs[i].name, json_null());
        } else if (defs[i].flags & MLC_CFG_SECRET) {
            json_object_set_new(o, defs[i].name, json_string("***"));
        } else if (i == MLC_CFG_REDIS_URL) {
            json_object_set_new(o, defs[i].name, redacted_url(v));
        } else {
            json_object_set_new(o, defs[i].name, json_string(v));
        }
    }
    return o;
}

size_t mlc_list_split(const char *s, char ***items)
{
    *items = NULL;
    if (!s)
        return 0;
    size_t n = 0, cap = 0;
    const char *p = s;
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a) {
            if (n == cap) {
                cap = cap ? cap * 2 : 4;
                *items = mlc_realloc(*items, cap * sizeof **items);
            }
            (*items)[n++] = mlc_strndup(a, (size_t)(b - a));
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return n;
}

void mlc_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        if (v[i]) {
            memset(v[i], 0, strlen(v[i]));
            free(v[i]);
        }
    }
    free(v);
}
