/* The NetSuite client: settings, account validation, sessions, and the one call path (concurrency
 * slot across replicas, retries, 401 refresh, error mapping). */
#include "internal.h"
#include "mlc/config.h"
#include "mlc/crypto.h"
#include "mlc/log.h"
#include "mlc/metrics.h"
#include "mlc/net.h"
#include "mlc/queue.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void mlc_ns_settings_from_config(const struct mlc_config *cfg, struct mlc_ns_settings *s)
{
    memset(s, 0, sizeof *s);
    s->account_id = mlc_config_str(cfg, MLC_CFG_NETSUITE_ACCOUNT_ID);
    s->base_url = mlc_config_str(cfg, MLC_CFG_NETSUITE_BASE_URL);
    s->tba = strcmp(mlc_config_str(cfg, MLC_CFG_NETSUITE_AUTH), "tba") == 0;
    s->client_id = mlc_config_str(cfg, MLC_CFG_NETSUITE_CLIENT_ID);
    s->certificate_id = mlc_config_str(cfg, MLC_CFG_NETSUITE_CERTIFICATE_ID);
    s->private_key_pem = mlc_config_str(cfg, MLC_CFG_NETSUITE_PRIVATE_KEY);
    s->certificate_pem = mlc_config_str(cfg, MLC_CFG_NETSUITE_CERTIFICATE);
    s->jwt_alg = mlc_config_str(cfg, MLC_CFG_NETSUITE_JWT_ALG);
    s->scope = mlc_config_str(cfg, MLC_CFG_NETSUITE_SCOPE);
    s->consumer_key = mlc_config_str(cfg, MLC_CFG_NETSUITE_CONSUMER_KEY);
    s->consumer_secret = mlc_config_str(cfg, MLC_CFG_NETSUITE_CONSUMER_SECRET);
    s->token_id = mlc_config_str(cfg, MLC_CFG_NETSUITE_TOKEN_ID);
    s->token_secret = mlc_config_str(cfg, MLC_CFG_NETSUITE_TOKEN_SECRET);
    s->ca_file = mlc_config_str(cfg, MLC_CFG_TLS_CA_FILE);
    s->refresh_margin_s = (int)mlc_config_int(cfg, MLC_CFG_NETSUITE_TOKEN_REFRESH_MARGIN_S);
    s->max_concurrency = (int)mlc_config_int(cfg, MLC_CFG_NETSUITE_MAX_CONCURRENCY);
    s->concurrency_set = cfg->set[MLC_CFG_NETSUITE_MAX_CONCURRENCY];
    s->timeout_s = (int)mlc_config_int(cfg, MLC_CFG_NETSUITE_TIMEOUT_S);
}

bool mlc_ns_account_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '-')
            return false;
    return true;
}

enum mlc_rc mlc_ns_account_host(const char *id, char *out, size_t outsz)
{
    if (!mlc_ns_account_valid(id) || strlen(id) >= outsz)
        return MLC_EINVAL;
    size_t i = 0;
    for (; id[i]; i++)
        out[i] = id[i] == '_' ? '-' : (char)tolower((unsigned char)id[i]);
    out[i] = '\0';
    return MLC_OK;
}

void ns_err_set(struct mlc_ns_err *e, bool retryable, long status, const char *cls, const char *fmt,
                ...)
{
    e->retryable = retryable;
    e->status = status;
    snprintf(e->cls, sizeof e->cls, "%s", cls);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

static bool base_url_ok(const char *u)
{
    if (strncasecmp(u, "https://", 8) != 0 && strncasecmp(u, "http://", 7) != 0)
        return false;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == '@' || *p == '\\')
            return false;
    return true;
}

enum mlc_rc mlc_netsuite_new(const struct mlc_ns_settings *s, struct mlc_queue *q,
                             struct mlc_metrics *metrics, struct mlc_netsuite **out, char *err,
                             size_t errsz)
{
    *out = NULL;
    if (!mlc_ns_account_valid(s->account_id)) {
        snprintf(err, errsz, "MLC_NETSUITE_ACCOUNT_ID: %s",
                 s->account_id ? "only letters, digits, _ and - are allowed" : "required");
        return MLC_EINVAL;
    }
    struct mlc_netsuite *ns = mlc_calloc(1, sizeof *ns);
    ns->set = *s;
    const char **src[NS_NSTR] = {&ns->set.account_id,      &ns->set.base_url,
                                 &ns->set.client_id,       &ns->set.certificate_id,
                                 &ns->set.private_key_pem, &ns->set.certificate_pem,
                                 &ns->set.jwt_alg,         &ns->set.scope,
                                 &ns->set.consumer_key,    &ns->set.consumer_secret,
                                 &ns->set.token_id,        &ns->set.token_secret,
                                 &ns->set.ca_file,         NULL};
    for (size_t i = 0; i < NS_NSTR && src[i]; i++) {
        if (*src[i] && **src[i]) {
            ns->strs[i] = mlc_strdup(*src[i]);
            *src[i] = ns->strs[i];
        } else {
            *src[i] = NULL;
        }
    }
    pthread_mutex_init(&ns->mu, NULL);
    pthread_cond_init(&ns->cv, NULL);
    ns->q = q;
    ns->metrics = metrics;
    if (ns->set.refresh_margin_s <= 0)
        ns->set.refresh_margin_s = 300;
    if (ns->set.max_concurrency <= 0)
        ns->set.max_concurrency = 4;
    if (ns->set.timeout_s <= 0)
        ns->set.timeout_s = 120;
    if (ns->set.max_attempts <= 0)
        ns->set.max_attempts = 12;
    if (!ns->set.scope)
        ns->set.scope = "rest_webservices";
    atomic_store(&ns->cap, ns->set.max_concurrency);
    uint8_t rnd[16];
    if (mlc_random_bytes(rnd, sizeof rnd) != MLC_OK) {
        snprintf(err, errsz, "the random number generator failed");
        goto fail;
    }
    mlc_hex(rnd, sizeof rnd, ns->instance);
    if (ns->set.base_url) {
        size_t l = strlen(ns->set.base_url);
        while (l && ns->set.base_url[l - 1] == '/')
            l--;
        if (!base_url_ok(ns->set.base_url) || l == 0 || l >= sizeof ns->base) {
            snprintf(err, errsz,
                     "MLC_NETSUITE_BASE_URL: must be an http(s) URL without query, "
                     "user info or blanks");
            goto fail;
        }
        memcpy(ns->base, ns->set.base_url, l);
        ns->base[l] = '\0';
    } else {
        char host[80];
        mlc_ns_account_host(ns->set.account_id, host, sizeof host);
        snprintf(ns->base, sizeof ns->base, "https://%s.suitetalk.api.netsuite.com", host);
    }
    snprintf(ns->token_url, sizeof ns->token_url, "%s/services/rest/auth/oauth2/v1/token",
             ns->base);
    if (ns->set.tba) {
        static const char *const names[] = {"MLC_NETSUITE_CONSUMER_KEY",
                                            "MLC_NETSUITE_CONSUMER_SECRET", "MLC_NETSUITE_TOKEN_ID",
                                            "MLC_NETSUITE_TOKEN_SECRET"};
        const char *vals[] = {ns->set.consumer_key, ns->set.consumer_secret, ns->set.token_id,
                              ns->set.token_secret};
        for (size_t i = 0; i < 4; i++) {
            if (!vals[i]) {
                snprintf(err, errsz, "%s: required when MLC_NETSUITE_AUTH=tba", names[i]);
                goto fail;
            }
        }
    } else {
        static const char *const names[] = {"MLC_NETSUITE_CLIENT_ID", "MLC_NETSUITE_CERTIFICATE_ID",
                                            "MLC_NETSUITE_PRIVATE_KEY"};
        const char *vals[] = {ns->set.client_id, ns->set.certificate_id, ns->set.private_key_pem};
        for (size_t i = 0; i < 3; i++) {
            if (!vals[i]) {
                snprintf(err, errsz, "%s: required when MLC_NETSUITE_AUTH=m2m", names[i]);
                goto fail;
            }
        }
        char kty[8], crv[16];
        int bits = 0;
        if (mlc_key_describe(ns->set.private_key_pem, kty, sizeof kty, &bits, crv, sizeof crv) !=
            MLC_OK) {
            snprintf(err, errsz, "MLC_NETSUITE_PRIVATE_KEY: not a PEM private key");
            goto fail;
        }
        if (strcmp(kty, "RSA") == 0 && bits < 2048) {
            snprintf(err, errsz, "MLC_NETSUITE_PRIVATE_KEY: RSA keys must have 3072 or 4096 bits");
            goto fail;
        }
        if (ns->set.jwt_alg) {
            snprintf(ns->alg, sizeof ns->alg, "%s", ns->set.jwt_alg);
            bool rsa = strcmp(kty, "RSA") == 0;
            if (rsa != (ns->alg[0] == 'P')) {
                snprintf(err, errsz, "MLC_NETSUITE_JWT_ALG: %s does not fit a%s key", ns->alg,
                         rsa ? "n RSA" : "n EC");
                goto fail;
            }
        } else if (mlc_jwt_alg_for_key(ns->set.private_key_pem, ns->alg, sizeof ns->alg) !=
                   MLC_OK) {
            snprintf(err, errsz, "MLC_NETSUITE_PRIVATE_KEY: unsupported key type");
            goto fail;
        }
        /* The key's identity for "the key that worked before": kid plus a public-key digest, so
         * a rotated key under the same certificate ID is not mistaken for the old one. */
        char *pub = NULL;
        uint8_t d[32];
        char hex[65];
        if (mlc_x509_public_key(ns->set.private_key_pem, &pub, err, errsz) != MLC_OK)
            goto fail;
        mlc_sha256(pub, strlen(pub), d);
        free(pub);
        mlc_hex(d, 8, hex);
        snprintf(ns->key_id, sizeof ns->key_id, "%.60s/%.16s", ns->set.certificate_id, hex);
        /* Parsed once; the PEM text is wiped now (material needed once is not kept). */
        if (mlc_pkey_load(ns->set.private_key_pem, &ns->pkey, err, errsz) != MLC_OK) {
            snprintf(err, errsz, "MLC_NETSUITE_PRIVATE_KEY: not a PEM private key");
            goto fail;
        }
        for (size_t i = 0; i < NS_NSTR; i++)
            if (ns->strs[i] && ns->strs[i] == ns->set.private_key_pem) {
                mlc_wipe(ns->strs[i], strlen(ns->strs[i]));
                free(ns->strs[i]);
                ns->strs[i] = NULL;
            }
        ns->set.private_key_pem = NULL;
        if (ns->set.certificate_pem && metrics) {
            int64_t na = 0;
            char e2[128];
            if (mlc_x509_not_after(ns->set.certificate_pem, &na, e2, sizeof e2) == MLC_OK)
                mlc_metrics_set(metrics, "mlc_netsuite_certificate_expiry_seconds", NULL,
                                (double)na);
            else
                mlc_log(MLC_LOG_WARN, "MLC_NETSUITE_CERTIFICATE: %s", e2);
        }
    }
    *out = ns;
    return MLC_OK;
fail:
    mlc_netsuite_free(ns);
    return MLC_EINVAL;
}

void mlc_netsuite_free(struct mlc_netsuite *ns)
{
    if (!ns)
        return;
    for (size_t i = 0; i < NS_NSTR; i++) {
        if (ns->strs[i]) {
            mlc_wipe(ns->strs[i], strlen(ns->strs[i]));
            free(ns->strs[i]);
        }
    }
    if (ns->token) {
        mlc_wipe(ns->token, strlen(ns->token));
        free(ns->token);
    }
    mlc_pkey_free(ns->pkey);
    pthread_mutex_destroy(&ns->mu);
    pthread_cond_destroy(&ns->cv);
    free(ns);
}

void mlc_netsuite_describe_metrics(struct mlc_metrics *m)
{
    static const struct {
        const char *name;
        enum mlc_metric_type type;
        const char *help;
    } fams[] = {
        {"mlc_netsuite_certificate_expiry_seconds", MLC_METRIC_GAUGE,
         "notAfter of the M2M certificate (Unix seconds)"},
        {"mlc_netsuite_token_lifetime_seconds", MLC_METRIC_GAUGE,
         "Lifetime of the last NetSuite access token"},
        {"mlc_netsuite_token_expiry_seconds", MLC_METRIC_GAUGE,
         "When the cached NetSuite access token expires (Unix seconds)"},
        {"mlc_netsuite_tokens_total", MLC_METRIC_COUNTER, "NetSuite access tokens, by outcome"},
        {"mlc_netsuite_retries_total", MLC_METRIC_COUNTER, "NetSuite calls repeated, by reason"},
        {"mlc_netsuite_concurrency_limit", MLC_METRIC_GAUGE,
         "Our share of the account's NetSuite concurrency (all replicas)"},
        {"mlc_netsuite_auth_ok", MLC_METRIC_GAUGE,
         "0 when the M2M mapping is wiped or the certificate revoked"},
    };
    mlc_net_describe_metrics(m);
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++)
        mlc_metrics_describe(m, fams[i].name, fams[i].type, fams[i].help);
}

enum mlc_rc mlc_ns_session_new(struct mlc_netsuite *ns, struct mlc_ns_session **out, char *err,
                               size_t errsz)
{
    struct mlc_net_options o = {.ca_file = ns->set.ca_file,
                                .connect_timeout_ms = 10000,
                                .timeout_ms = (long)ns->set.timeout_s * 1000,
                                .max_response = (size_t)64 << 20,
                                .metrics = ns->metrics,
                                .system = "netsuite"};
    struct mlc_net *net = NULL;
    if (mlc_net_new(&o, &net, err, errsz) != MLC_OK)
        return MLC_ERR;
    struct mlc_ns_session *s = mlc_calloc(1, sizeof *s);
    s->ns = ns;
    s->net = net;
    *out = s;
    return MLC_OK;
}

void mlc_ns_session_free(struct mlc_ns_session *s)
{
    if (!s)
        return;
    mlc_net_free(s->net);
    mlc_redis_free(s->redis);
    free(s);
}

struct mlc_redis *mlc_ns_session_redis(struct mlc_ns_session *s)
{
    return mlc_redis_kept(s->ns->q, &s->redis, &s->redis_retry_ms, "netsuite client");
}

/* ---- concurrency: our share across all replicas ---- */

static enum mlc_rc call(struct mlc_ns_session *s, const char *method, const char *path_query,
                        const char *endpoint, json_t *body, json_t **out, struct mlc_ns_err *e,
                        int max_attempts);

/* Without an explicit MLC_NETSUITE_MAX_CONCURRENCY, the share comes from governanceLimits where
 * the role may read it (administrators): the integration's own limit when one is allocated,
 * else half of the account's unallocated limit (other integrations share it), at least 1. */
static void size_concurrency(struct mlc_ns_session *s)
{
    struct mlc_netsuite *ns = s->ns;
    if (ns->set.concurrency_set || atomic_exchange(&ns->cap_sized, true))
        return;
    json_t *g = NULL;
    struct mlc_ns_err e;
    /* one more try at most: sizing must not hold the first real call up */
    if (call(s, "GET", "/services/rest/system/v1/governanceLimits", "governanceLimits", NULL, &g,
             &e, 2) != MLC_OK) {
        mlc_log(MLC_LOG_INFO, "governanceLimits not readable (%s): NetSuite concurrency share %d",
                e.msg, atomic_load(&ns->cap));
        return;
    }
    json_int_t il = json_integer_value(json_object_get(g, "integrationConcurrencyLimit"));
    json_int_t ul = json_integer_value(json_object_get(g, "accountUnallocatedConcurrencyLimit"));
    json_int_t share = il > 0 ? il : ul / 2;
    if (share < 1)
        share = 1;
    if (share > 1000)
        share = 1000;
    atomic_store(&ns->cap, (int)share);
    mlc_log(MLC_LOG_INFO, "NetSuite concurrency share %d, sized from governanceLimits", (int)share);
    json_decref(g);
}

static enum mlc_rc slot_take(struct mlc_ns_session *s, char *holder, size_t hsz,
                             struct mlc_ns_err *e)
{
    struct mlc_netsuite *ns = s->ns;
    snprintf(holder, hsz, "%s:%llu", ns->instance,
             (unsigned long long)atomic_fetch_add(&ns->seq, 1));
    size_concurrency(s);
    if (ns->metrics)
        mlc_metrics_set(ns->metrics, "mlc_netsuite_concurrency_limit", NULL, atomic_load(&ns->cap));
    int64_t deadline = mlc_mono_ms() + (int64_t)ns->set.timeout_s * 1000;
    int64_t lease = (int64_t)ns->set.timeout_s * 1000 + 15000;
    for (;;) {
        int cap = atomic_load(&ns->cap);
        bool got = false;
        if (!ns->q) {
            pthread_mutex_lock(&ns->mu);
            if (ns->local_used < cap) {
                ns->local_used++;
                got = true;
            }
            pthread_mutex_unlock(&ns->mu);
        } else {
            struct mlc_redis *c = mlc_ns_session_redis(s);
            if (!c ||
                mlc_sem_try_acquire(ns->q, c, "netsuite", cap, lease, holder, &got) != MLC_OK) {
                ns_err_set(e, true, 0, "redis",
                           "Redis is unreachable: no NetSuite concurrency slot can be taken");
                return MLC_EUNAVAIL;
            }
        }
        if (got)
            return MLC_OK;
        if (mlc_mono_ms() > deadline) {
            ns_err_set(e, true, 0, "concurrency",
                       "no NetSuite concurrency slot became free within %d s (MLC_NETSUITE_MAX_"
                       "CONCURRENCY=%d)",
                       ns->set.timeout_s, cap);
            return MLC_EUNAVAIL;
        }
        mlc_sleep_ms(2 + (int64_t)(mlc_rand_u64() % 6));
    }
}

static void slot_give(struct mlc_ns_session *s, const char *holder)
{
    struct mlc_netsuite *ns = s->ns;
    if (!ns->q) {
        pthread_mutex_lock(&ns->mu);
        ns->local_used--;
        pthread_mutex_unlock(&ns->mu);
        return;
    }
    struct mlc_redis *c = mlc_ns_session_redis(s);
    if (c)
        mlc_sem_release(ns->q, c, "netsuite", holder); /* else the lease frees it */
}

/* ---- error bodies ---- */

static void quoted_after(const char *s, const char *marker, char *out, size_t outsz)
{
    out[0] = '\0';
    const char *p = s ? strstr(s, marker) : NULL;
    if (!p)
        return;
    p += strlen(marker);
    const char *q = strchr(p, '\'');
    if (!q)
        return;
    size_t l = (size_t)(q - p);
    if (l >= outsz)
        l = outsz - 1;
    for (size_t i = 0; i < l; i++)
        out[i] = isalnum((unsigned char)p[i]) || p[i] == '_' ? p[i] : '_';
    out[l] = '\0';
}

void mlc_ns_error_parse(long status, const char *body, size_t len, struct mlc_ns_err *e)
{
    json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *code = NULL, *detail = NULL;
    json_t *d0 = json_array_get(json_object_get(j, "o:errorDetails"), 0);
    if (json_is_object(d0)) {
        code = json_string_value(json_object_get(d0, "o:errorCode"));
        detail = json_string_value(json_object_get(d0, "detail"));
    } else if (json_is_object(j)) { /* OAuth form */
        code = json_string_value(json_object_get(j, "error"));
        detail = json_string_value(json_object_get(j, "error_description"));
    }
    if (!code)
        code = "";
    if (!detail)
        detail = j ? "" : "(no NetSuite error body)";
    bool retry = mlc_net_classify(MLC_OK, status) == MLC_NET_RETRYABLE;
    char what[64];
    if (status == 403 || strcmp(code, "INSUFFICIENT_PERMISSION") == 0) {
        ns_err_set(e, false, status, "permission:",
                   "the role lacks permission for %s (NetSuite "
                   "%ld %s)",
                   "this record", status, code);
    } else if (strcmp(code, "USER_ERROR") == 0 && strstr(detail, "does not have permission")) {
        ns_err_set(e, false, status, "permission:rest",
                   "the role lacks permission for REST web services (NetSuite %ld USER_ERROR)",
                   status);
    } else if (strstr(detail, "Field '") && strstr(detail, "was not found")) {
        char field[64], rec[64];
        quoted_after(detail, "Field '", field, sizeof field);
        quoted_after(detail, "for record '", rec, sizeof rec);
        ns_err_set(e, false, status, "",
                   "NetSuite does not know the column %s of %s (a renamed "
                   "or removed custom field? check the mapping)",
                   field, rec);
        snprintf(e->cls, sizeof e->cls, "unknown_field:%.20s.%.28s", rec, field);
    } else if (strstr(detail, "Record '") && strstr(detail, "was not found")) {
        quoted_after(detail, "Record '", what, sizeof what);
        ns_err_set(e, false, status, "",
                   "the role lacks permission for %s (or the feature is "
                   "not enabled): NetSuite %ld %s",
                   what, status, code);
        snprintf(e->cls, sizeof e->cls, "permission:%.50s", what);
    } else {
        char shortd[300];
        snprintf(shortd, sizeof shortd, "%s", detail);
        for (char *p = shortd; *p; p++)
            if ((unsigned char)*p < ' ')
                *p = ' ';
        ns_err_set(e, retry, status, "", "NetSuite %ld %s: %s", status, code, shortd);
        snprintf(e->cls, sizeof e->cls, "http:%ld:%.40s", status, code);
    }
    json_decref(j);
}

/* "record/v1/customer/12" -> "customer" for permission messages. */
static void record_name(const char *path, char *out, size_t outsz)
{
    const char *p = strstr(path, "/record/v1/");
    snprintf(out, outsz, "%s", "this record");
    if (!p)
        return;
    p += 11;
    size_t l = strcspn(p, "/?");
    if (l && l < outsz) {
        memcpy(out, p, l);
        out[l] = '\0';
    }
}

static int64_t backoff(int attempt)
{
    int64_t cap = 5000, base = 100;
    int64_t d = base << (attempt < 10 ? attempt - 1 : 9);
    if (d > cap)
        d = cap;
    return d / 2 + (int64_t)(mlc_rand_u64() % (uint64_t)(d / 2 + 1));
}

void ns_counter_add(struct mlc_netsuite *ns, const char *family, const char *label,
                    const char *value)
{
    if (!ns->metrics)
        return;
    char l[96];
    snprintf(l, sizeof l, "%s=\"%s\"", label, value);
    mlc_metrics_add(ns->metrics, family, l, 1);
}

static void count_retry(struct mlc_netsuite *ns, const char *why)
{
    ns_counter_add(ns, "mlc_netsuite_retries_total", "reason", why);
}

enum mlc_rc mlc_ns_call(struct mlc_ns_session *s, const char *method, const char *path_query,
                        const char *endpoint, json_t *body, json_t **out, struct mlc_ns_err *e)
{
    return call(s, method, path_query, endpoint, body, out, e, s->ns->set.max_attempts);
}

static enum mlc_rc call(struct mlc_ns_session *s, const char *method, const char *path_query,
                        const char *endpoint, json_t *body, json_t **out, struct mlc_ns_err *e,
                        int max_attempts)
{
    struct mlc_netsuite *ns = s->ns;
    memset(e, 0, sizeof *e);
    *out = NULL;
    char url[4096];
    int ul = snprintf(url, sizeof url, "%s%s", ns->base, path_query);
    if (ul < 0 || (size_t)ul >= sizeof url) {
        ns_err_set(e, false, 0, "bug", "the request URL is too long");
        return MLC_EINVAL;
    }
    char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char token[8192] = "";
    bool forced = false;
    int unauthorized = 0, garbled = 0;
    enum mlc_rc rc = MLC_ERR;
    for (int attempt = 1;; attempt++) {
        if (!ns->set.tba && mlc_ns_token(s, false, NULL, token, sizeof token, e) != MLC_OK) {
            rc = MLC_ERR;
            goto out;
        }
        char *auth = NULL;
        if (ns_authorization(s, method, url, token, &auth, e) != MLC_OK) {
            rc = MLC_ERR;
            goto out;
        }
        struct mlc_net_header h[5] = {{"Authorization", auth},
                                      {"Accept", "application/json"},
                                      {"Content-Type", "application/json"},
                                      {"Prefer", "transient"}};
        size_t nh = payload ? 4 : 2;
        struct mlc_net_request req = {.method = method,
                                      .url = url,
                                      .headers = h,
                                      .nheaders = nh,
                                      .body = payload,
                                      .body_len = payload ? strlen(payload) : 0,
                                      .endpoint = endpoint};
        char holder[80], nerr[256] = "";
        struct mlc_net_response resp;
        enum mlc_rc nrc = slot_take(s, holder, sizeof holder, e);
        if (nrc != MLC_OK) {
            mlc_wipe(auth, strlen(auth));
            free(auth);
            rc = nrc;
            goto out;
        }
        nrc = mlc_net_perform(s->net, &req, &resp, nerr, sizeof nerr);
        slot_give(s, holder);
        mlc_wipe(auth, strlen(auth));
        free(auth);
        const char *why = NULL;
        int64_t wait = 0;
        if (nrc != MLC_OK) {
            ns_err_set(e, nrc == MLC_EUNAVAIL, 0, nrc == MLC_EUNAVAIL ? "network" : "response",
                       "NetSuite call failed: %s", nerr);
            if (nrc != MLC_EUNAVAIL) {
                rc = MLC_ERR;
                goto out;
            }
            why = "network";
        } else if (resp.status >= 200 && resp.status < 300) {
            json_error_t je;
            json_t *j = NULL;
            if (resp.body.len)
                j = json_loadb(resp.body.data, resp.body.len, JSON_REJECT_DUPLICATES, &je);
            if (resp.body.len && !j) {
                const char *ct = mlc_net_response_header(&resp, "Content-Type");
                ns_err_set(e, true, resp.status, "bad_response",
                           "NetSuite answered %ld with a body that is not JSON (%.60s, %zu "
                           "bytes: %.80s)",
                           resp.status, ct ? ct : "no content type", resp.body.len, je.text);
                why = "bad_response";
                if (++garbled >= 3) { /* not a throttle: a few tries, then the job's retry */
                    mlc_net_response_free(&resp);
                    rc = MLC_ERR;
                    goto out;
                }
            } else {
                *out = j;
                mlc_net_response_free(&resp);
                rc = MLC_OK;
                goto out;
            }
        } else if (resp.status == 401 &&
                   ++unauthorized <= (ns->set.tba ? 3 : ns->set.max_attempts)) {
            /* An expired or revoked token and the over-the-limit form look the same: refresh
             * once, then back off as for a 429. TBA has no token to refresh, and a bad TBA
             * signature fails every time: a few tries for the over-the-limit form only. */
            mlc_ns_error_parse(resp.status, resp.body.data, resp.body.len, e);
            e->retryable = true;
            snprintf(e->cls, sizeof e->cls, "auth:invalid_login");
            if (!ns->set.tba && !forced) {
                forced = true;
                char failed[8192];
                snprintf(failed, sizeof failed, "%s", token);
                mlc_net_response_free(&resp);
                count_retry(ns, "unauthorized");
                if (mlc_ns_token(s, true, failed, token, sizeof token, e) != MLC_OK) {
                    rc = MLC_ERR;
                    goto out;
                }
                attempt--; /* the forced refresh is not a failed attempt */
                continue;
            }
            why = "unauthorized";
        } else {
            mlc_ns_error_parse(resp.status, resp.body.data, resp.body.len, e);
            if (strcmp(e->cls, "permission:") == 0) {
                char what[64];
                record_name(path_query, what, sizeof what);
                snprintf(e->cls, sizeof e->cls, "permission:%.50s", what);
                snprintf(e->msg, sizeof e->msg,
                         "the role lacks permission for %s (NetSuite %ld INSUFFICIENT_PERMISSION)",
                         what, resp.status);
            }
            if (!e->retryable) {
                mlc_net_response_free(&resp);
                rc = MLC_ERR;
                goto out;
            }
            why = resp.status == 429 ? "throttled" : "server";
            wait = mlc_net_retry_after_ms(&resp, mlc_now_ms());
            e->retry_after_ms = wait > 0 ? wait : 0;
        }
        if (nrc == MLC_OK)
            mlc_net_response_free(&resp);
        if (attempt >= max_attempts) {
            rc = MLC_ERR;
            goto out;
        }
        count_retry(ns, why);
        mlc_sleep_ms(wait > 0 ? wait : backoff(attempt));
    }
out:
    if (payload)
        free(payload);
    mlc_wipe(token, sizeof token);
    if (rc != MLC_OK && e->msg[0] == '\0')
        ns_err_set(e, true, 0, "unknown", "NetSuite call failed");
    return rc;
}

enum mlc_rc mlc_ns_record_get(struct mlc_ns_session *s, const char *record, long long id,
                              json_t **out, struct mlc_ns_err *e)
{
    *out = NULL;
    static const char *const known[] = {"customer", "contact", "salesOrder"};
    bool ok = false;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        ok |= strcmp(known[i], record) == 0;
    if (!ok || id <= 0) {
        memset(e, 0, sizeof *e);
        ns_err_set(e, false, 0, "bug", "record API: unsupported record %.40s or id", record);
        return MLC_EINVAL;
    }
    char path[160];
    snprintf(path, sizeof path, "/services/rest/record/v1/%s/%lld%s", record, id,
             strcmp(record, "salesOrder") == 0 ? "?expandSubResources=true" : "");
    enum mlc_rc rc = mlc_ns_call(s, "GET", path, "record", NULL, out, e);
    if (rc == MLC_OK && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        ns_err_set(e, true, 200, "bad_response", "the record API answered without an object");
        return MLC_ERR;
    }
    if (rc != MLC_OK && e->status == 404)
        return MLC_ENOTFOUND;
    return rc;
}
