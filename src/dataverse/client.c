/* The Dataverse client: settings, sessions, and the one call path (shared pause and in-flight slot,
 * standard headers, retries with backoff and jitter, one forced token refresh on 401). */
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

void mlc_dv_settings_from_config(const struct mlc_config *cfg, struct mlc_dv_settings *s)
{
    memset(s, 0, sizeof *s);
    s->url = mlc_config_str(cfg, MLC_CFG_DATAVERSE_URL);
    s->authority_url = mlc_config_str(cfg, MLC_CFG_ENTRA_AUTHORITY_URL);
    s->tenant_id = mlc_config_str(cfg, MLC_CFG_ENTRA_TENANT_ID);
    s->client_id = mlc_config_str(cfg, MLC_CFG_ENTRA_CLIENT_ID);
    s->client_secret = mlc_config_str(cfg, MLC_CFG_ENTRA_CLIENT_SECRET);
    s->certificate_pem = mlc_config_str(cfg, MLC_CFG_ENTRA_CERTIFICATE);
    s->private_key_pem = mlc_config_str(cfg, MLC_CFG_ENTRA_PRIVATE_KEY);
    s->federated_token_path = mlc_config_str(cfg, MLC_CFG_ENTRA_FEDERATED_TOKEN_PATH);
    s->ca_file = mlc_config_str(cfg, MLC_CFG_TLS_CA_FILE);
    s->app_user_id = mlc_config_str(cfg, MLC_CFG_DATAVERSE_APP_USER_ID);
    s->max_concurrency = (int)mlc_config_int(cfg, MLC_CFG_DATAVERSE_MAX_CONCURRENCY);
    s->bulk_chunk = (int)mlc_config_int(cfg, MLC_CFG_DATAVERSE_BULK_CHUNK);
    s->timeout_s = (int)mlc_config_int(cfg, MLC_CFG_DATAVERSE_TIMEOUT_S);
    s->cache_ttl_s = (int)mlc_config_int(cfg, MLC_CFG_DATAVERSE_CACHE_TTL_S);
}

void dv_err_set(struct mlc_dv_err *e, bool retryable, long status, const char *cls, const char *fmt,
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

static bool url_ok(const char *u)
{
    if (strncasecmp(u, "https://", 8) != 0 && strncasecmp(u, "http://", 7) != 0)
        return false;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == '@' || *p == '\\')
            return false;
    return true;
}

static bool id_ok(const char *v)
{
    if (!v || !*v || strlen(v) > 64)
        return false;
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
            return false;
    return true;
}

/* Copies url without trailing slashes into out; false when invalid or too long. */
static bool trim_url(const char *url, char *out, size_t outsz)
{
    if (!url || !url_ok(url))
        return false;
    size_t l = strlen(url);
    while (l && url[l - 1] == '/')
        l--;
    if (l == 0 || l >= outsz)
        return false;
    memcpy(out, url, l);
    out[l] = '\0';
    return true;
}

enum mlc_rc mlc_dataverse_new(const struct mlc_dv_settings *s, struct mlc_queue *q,
                              struct mlc_metrics *metrics, struct mlc_dataverse **out, char *err,
                              size_t errsz)
{
    *out = NULL;
    struct mlc_dataverse *dv = mlc_calloc(1, sizeof *dv);
    dv->set = *s;
    const char **src[DV_NSTR] = {&dv->set.url,
                                 &dv->set.authority_url,
                                 &dv->set.tenant_id,
                                 &dv->set.client_id,
                                 &dv->set.client_secret,
                                 &dv->set.certificate_pem,
                                 &dv->set.private_key_pem,
                                 &dv->set.federated_token_path,
                                 &dv->set.ca_file,
                                 &dv->set.app_user_id,
                                 NULL};
    for (size_t i = 0; i < DV_NSTR && src[i]; i++) {
        if (*src[i] && **src[i]) {
            dv->strs[i] = mlc_strdup(*src[i]);
            *src[i] = dv->strs[i];
        } else {
            *src[i] = NULL;
        }
    }
    pthread_mutex_init(&dv->mu, NULL);
    pthread_cond_init(&dv->cv, NULL);
    dv->q = q;
    dv->metrics = metrics;
    dv->bulk_ok = json_object();
    dv->bind_refused = json_object();
    if (dv->set.max_concurrency <= 0)
        dv->set.max_concurrency = 16;
    if (dv->set.bulk_chunk <= 0)
        dv->set.bulk_chunk = 200;
    if (dv->set.bulk_chunk > 1000)
        dv->set.bulk_chunk = 1000;
    if (dv->set.timeout_s <= 0)
        dv->set.timeout_s = 120;
    if (dv->set.max_attempts <= 0)
        dv->set.max_attempts = 10;
    if (dv->set.refresh_margin_s <= 0)
        dv->set.refresh_margin_s = 300;
    uint8_t rnd[16];
    if (mlc_random_bytes(rnd, sizeof rnd) != MLC_OK) {
        snprintf(err, errsz, "the random number generator failed");
        goto fail;
    }
    mlc_hex(rnd, sizeof rnd, dv->instance);
    if (!trim_url(dv->set.url, dv->base, sizeof dv->base)) {
        snprintf(err, errsz, "MLC_DATAVERSE_URL: %s",
                 dv->set.url ? "must be an https:// URL without path query, user info or blanks"
                             : "required");
        goto fail;
    }
    snprintf(dv->api, sizeof dv->api, "%s" DV_API, dv->base);
    snprintf(dv->scope, sizeof dv->scope, "%s/.default", dv->base);
    char auth[512];
    if (!trim_url(dv->set.authority_url ? dv->set.authority_url
                                        : "https://login.microsoftonline.com",
                  auth, sizeof auth)) {
        snprintf(err, errsz, "MLC_ENTRA_AUTHORITY_URL: must be an http(s) URL");
        goto fail;
    }
    if (!id_ok(dv->set.tenant_id)) {
        snprintf(err, errsz, "MLC_ENTRA_TENANT_ID: %s",
                 dv->set.tenant_id ? "letters, digits, '-', '.' and '_' only" : "required");
        goto fail;
    }
    if (!id_ok(dv->set.client_id)) {
        snprintf(err, errsz, "MLC_ENTRA_CLIENT_ID: %s",
                 dv->set.client_id ? "letters, digits, '-', '.' and '_' only" : "required");
        goto fail;
    }
    snprintf(dv->token_url, sizeof dv->token_url, "%s/%s/oauth2/v2.0/token", auth,
             dv->set.tenant_id);
    snprintf(dv->ident, sizeof dv->ident, "%s", dv->set.client_id);
    int creds = (dv->set.client_secret != NULL) + (dv->set.certificate_pem != NULL) +
                (dv->set.federated_token_path != NULL);
    if (creds == 0) {
        snprintf(err, errsz,
                 "MLC_ENTRA_CLIENT_SECRET: required (or MLC_ENTRA_CERTIFICATE with "
                 "MLC_ENTRA_PRIVATE_KEY, or MLC_ENTRA_FEDERATED_TOKEN_PATH)");
        goto fail;
    }
    if (creds > 1) {
        snprintf(err, errsz,
                 "MLC_ENTRA_CLIENT_SECRET: give one credential only (secret, certificate or "
                 "federated token path)");
        goto fail;
    }
    if (dv->set.certificate_pem) {
        char *a = NULL, e2[200];
        if (!dv->set.private_key_pem) {
            snprintf(err, errsz, "MLC_ENTRA_PRIVATE_KEY: required with MLC_ENTRA_CERTIFICATE");
            goto fail;
        }
        if (mlc_entra_assertion(dv->set.certificate_pem, dv->set.private_key_pem, dv->set.client_id,
                                dv->token_url, 0, &a, e2, sizeof e2) != MLC_OK) {
            snprintf(err, errsz, "MLC_ENTRA_CERTIFICATE: %s", e2);
            goto fail;
        }
        free(a);
        /* Parsed once; the key's PEM text is wiped now (material needed once is not kept). */
        size_t tl = 0;
        if (mlc_x509_thumbprint(dv->set.certificate_pem, true, dv->thumb, &tl, e2, sizeof e2) !=
                MLC_OK ||
            tl != 32 ||
            mlc_jwt_alg_for_key(dv->set.private_key_pem, dv->alg, sizeof dv->alg) != MLC_OK ||
            mlc_pkey_load(dv->set.private_key_pem, &dv->pkey, e2, sizeof e2) != MLC_OK) {
            snprintf(err, errsz, "MLC_ENTRA_PRIVATE_KEY: not a usable PEM private key");
            goto fail;
        }
        for (size_t i = 0; i < DV_NSTR; i++)
            if (dv->strs[i] && dv->strs[i] == dv->set.private_key_pem) {
                mlc_wipe(dv->strs[i], strlen(dv->strs[i]));
                free(dv->strs[i]);
                dv->strs[i] = NULL;
            }
        dv->set.private_key_pem = NULL;
        int64_t na = 0;
        if (metrics && mlc_x509_not_after(dv->set.certificate_pem, &na, e2, sizeof e2) == MLC_OK)
            mlc_metrics_set(metrics, "mlc_dataverse_certificate_expiry_seconds", NULL, (double)na);
    } else if (dv->set.private_key_pem) {
        snprintf(err, errsz, "MLC_ENTRA_CERTIFICATE: required with MLC_ENTRA_PRIVATE_KEY");
        goto fail;
    }
    if (dv->set.app_user_id && !mlc_dv_guid_valid(dv->set.app_user_id)) {
        snprintf(err, errsz, "MLC_DATAVERSE_APP_USER_ID: not a GUID");
        goto fail;
    }
    if (metrics)
        mlc_metrics_set(metrics, "mlc_dataverse_concurrency_limit", NULL, dv->set.max_concurrency);
    *out = dv;
    return MLC_OK;
fail:
    mlc_dataverse_free(dv);
    return MLC_EINVAL;
}

void mlc_dataverse_free(struct mlc_dataverse *dv)
{
    if (!dv)
        return;
    for (size_t i = 0; i < DV_NSTR; i++) {
        if (dv->strs[i]) {
            mlc_wipe(dv->strs[i], strlen(dv->strs[i]));
            free(dv->strs[i]);
        }
    }
    if (dv->token) {
        mlc_wipe(dv->token, strlen(dv->token));
        free(dv->token);
    }
    mlc_pkey_free(dv->pkey);
    json_decref(dv->bulk_ok);
    json_decref(dv->bind_refused);
    dv_cache_free(dv->cache);
    pthread_mutex_destroy(&dv->mu);
    pthread_cond_destroy(&dv->cv);
    free(dv);
}

const struct mlc_dv_settings *mlc_dv_settings_get(const struct mlc_dataverse *dv)
{
    return &dv->set;
}

void mlc_dv_counters_get(const struct mlc_dataverse *dv, struct mlc_dv_counters *o)
{
    o->tokens = atomic_load(&dv->tokens);
    o->requests = atomic_load(&dv->requests);
    o->throttled = atomic_load(&dv->throttled);
    o->paused_ms = atomic_load(&dv->paused_ms);
    o->bulk_calls = atomic_load(&dv->bulk_calls);
    o->batch_calls = atomic_load(&dv->batch_calls);
    o->splits = atomic_load(&dv->splits);
    o->dup_retries = atomic_load(&dv->dup_retries);
    o->fallbacks = atomic_load(&dv->fallbacks);
}

void mlc_dataverse_describe_metrics(struct mlc_metrics *m)
{
    static const struct {
        const char *name;
        enum mlc_metric_type type;
        const char *help;
    } fams[] = {
        {"mlc_dataverse_tokens_total", MLC_METRIC_COUNTER, "Entra ID tokens, by outcome"},
        {"mlc_dataverse_token_expiry_seconds", MLC_METRIC_GAUGE,
         "When the cached Dataverse access token expires (Unix seconds)"},
        {"mlc_dataverse_retries_total", MLC_METRIC_COUNTER, "Dataverse calls repeated, by reason"},
        {"mlc_dataverse_throttled_total", MLC_METRIC_COUNTER,
         "429 answers received (service protection), by error code"},
        {"mlc_dataverse_pause_seconds_total", MLC_METRIC_COUNTER,
         "Time calls waited out a shared Retry-After pause"},
        {"mlc_dataverse_ratelimit_burst_remaining", MLC_METRIC_GAUGE,
         "x-ms-ratelimit-burst-remaining-xrm-requests of the last answer"},
        {"mlc_dataverse_ratelimit_time_remaining_ms", MLC_METRIC_GAUGE,
         "x-ms-ratelimit-time-remaining-xrm-requests of the last answer (ms)"},
        {"mlc_dataverse_requests_24h", MLC_METRIC_GAUGE,
         "Counted Dataverse requests of our identity in the last 24 h, all replicas (Power "
         "Platform request allowance)"},
        {"mlc_dataverse_rows_total", MLC_METRIC_COUNTER, "Rows written, by path and outcome"},
        {"mlc_dataverse_concurrency_limit", MLC_METRIC_GAUGE,
         "MLC_DATAVERSE_MAX_CONCURRENCY (all replicas)"},
        {"mlc_dataverse_certificate_expiry_seconds", MLC_METRIC_GAUGE,
         "notAfter of MLC_ENTRA_CERTIFICATE (Unix seconds), when the certificate credential is "
         "used"},
    };
    mlc_net_describe_metrics(m);
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++)
        mlc_metrics_describe(m, fams[i].name, fams[i].type, fams[i].help);
}

enum mlc_rc mlc_dv_session_new(struct mlc_dataverse *dv, struct mlc_dv_session **out, char *err,
                               size_t errsz)
{
    struct mlc_net_options o = {.ca_file = dv->set.ca_file,
                                .connect_timeout_ms = 10000,
                                .timeout_ms = (long)dv->set.timeout_s * 1000,
                                .max_response = (size_t)64 << 20,
                                .metrics = dv->metrics,
                                .system = "dataverse"};
    struct mlc_net *net = NULL;
    if (mlc_net_new(&o, &net, err, errsz) != MLC_OK)
        return MLC_ERR;
    struct mlc_dv_session *s = mlc_calloc(1, sizeof *s);
    s->dv = dv;
    s->net = net;
    *out = s;
    return MLC_OK;
}

void mlc_dv_session_free(struct mlc_dv_session *s)
{
    if (!s)
        return;
    mlc_net_free(s->net);
    mlc_redis_free(s->redis);
    free(s);
}

struct mlc_redis *dv_session_redis(struct mlc_dv_session *s)
{
    return mlc_redis_kept(s->dv->q, &s->redis, &s->redis_retry_ms, "dataverse client");
}

/* ---- error bodies ---- */

void mlc_dv_error_parse(long status, const char *body, size_t len, struct mlc_dv_err *e)
{
    json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *err = json_object_get(j, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    bool retry = status == 408 || status == 429 || status >= 500 || status == 0;
    char shortm[400];
    if (msg) {
        snprintf(shortm, sizeof shortm, "%s", msg);
    } else if (body && len && memchr(body, '<', len < 200 ? len : 200)) {
        snprintf(shortm, sizeof shortm, "an HTML page instead of a Dataverse error body");
    } else if (body && len) {
        snprintf(shortm, sizeof shortm, "an unreadable error body (%zu bytes)", len);
    } else {
        snprintf(shortm, sizeof shortm, "no error body");
    }
    for (char *p = shortm; *p; p++)
        if ((unsigned char)*p < ' ')
            *p = ' ';
    snprintf(e->code, sizeof e->code, "%s", code ? code : "");
    dv_err_set(e, retry, status, "", "Dataverse %ld%s%s: %s", status, e->code[0] ? " " : "",
               e->code, shortm);
    snprintf(e->cls, sizeof e->cls, "dataverse:%ld:%.30s", status, e->code);
    json_decref(j);
}

/* ---- the call path ---- */

static int64_t backoff_ms(int attempt)
{
    int64_t cap = 10000, base = 200;
    int64_t d = base << (attempt < 10 ? attempt - 1 : 9);
    if (d > cap)
        d = cap;
    return d / 2 + (int64_t)(mlc_rand_u64() % (uint64_t)(d / 2 + 1));
}

static void count_retry(struct mlc_dataverse *dv, const char *why)
{
    if (!dv->metrics)
        return;
    char l[64];
    snprintf(l, sizeof l, "reason=\"%s\"", why);
    mlc_metrics_add(dv->metrics, "mlc_dataverse_retries_total", l, 1);
}

enum mlc_rc dv_request(struct mlc_dv_session *s, const struct dv_req *r,
                       struct mlc_net_response *resp, struct mlc_dv_err *e)
{
    struct mlc_dataverse *dv = s->dv;
    memset(e, 0, sizeof *e);
    memset(resp, 0, sizeof *resp);
    char url[8192];
    int ul = strncasecmp(r->url, "http", 4) == 0
                 ? snprintf(url, sizeof url, "%s", r->url)
                 : snprintf(url, sizeof url, "%s%s", dv->api, r->url);
    if (ul < 0 || (size_t)ul >= sizeof url) {
        dv_err_set(e, false, 0, "bug", "the request URL is too long");
        return MLC_EINVAL;
    }
    /* Never send our token anywhere but our organization (a nextLink is followed as given). */
    if (strncmp(url, dv->base, strlen(dv->base)) != 0 || url[strlen(dv->base)] != '/') {
        dv_err_set(e, false, 0, "bug", "refusing to send the token outside MLC_DATAVERSE_URL");
        return MLC_EINVAL;
    }
    char token[12288] = "";
    char bearer[12400];
    int unauthorized = 0, throttled = 0;
    int64_t deadline = mlc_mono_ms() + (int64_t)dv->set.timeout_s * 1000 * 4;
    enum mlc_rc rc = MLC_ERR;
    for (int attempt = 1;; attempt++) {
        if (mlc_dv_token(s, false, NULL, token, sizeof token, e) != MLC_OK)
            return MLC_ERR;
        snprintf(bearer, sizeof bearer, "Bearer %s", token);
        struct mlc_net_header h[10];
        size_t nh = 0;
        h[nh++] = (struct mlc_net_header){"Authorization", bearer};
        h[nh++] = (struct mlc_net_header){"Accept", "application/json"};
        h[nh++] = (struct mlc_net_header){"OData-MaxVersion", "4.0"};
        h[nh++] = (struct mlc_net_header){"OData-Version", "4.0"};
        if (r->body)
            h[nh++] =
                (struct mlc_net_header){"Content-Type", r->ctype ? r->ctype : "application/json"};
        if (r->if_match)
            h[nh++] = (struct mlc_net_header){"If-Match", r->if_match};
        if (r->if_none_match)
            h[nh++] = (struct mlc_net_header){"If-None-Match", r->if_none_match};
        else if (strcmp(r->method, "GET") == 0)
            h[nh++] = (struct mlc_net_header){"If-None-Match", "null"};
        if (r->prefer)
            h[nh++] = (struct mlc_net_header){"Prefer", r->prefer};
        struct mlc_net_request req = {.method = r->method,
                                      .url = url,
                                      .headers = h,
                                      .nheaders = nh,
                                      .body = r->body,
                                      .body_len = r->body_len,
                                      .endpoint = r->endpoint ? r->endpoint : "other"};
        char holder[80], nerr[256] = "";
        if (dv_gate_enter(s, holder, sizeof holder, deadline, e) != MLC_OK)
            return MLC_ERR;
        atomic_fetch_add(&dv->requests, 1);
        enum mlc_rc nrc = mlc_net_perform(s->net, &req, resp, nerr, sizeof nerr);
        int64_t ra = 0;
        if (nrc == MLC_OK && resp->status == 429) {
            /* the pause is in Redis before our slot is free: no call of ours can start between */
            ra = mlc_net_retry_after_ms(resp, mlc_now_ms());
            if (ra <= 0)
                ra = 1000;
            dv_gate_pause(s, ra);
            mlc_log(MLC_LOG_INFO,
                    "dataverse: throttled (429), every call of this identity pauses for %lld ms",
                    (long long)ra);
        }
        dv_gate_leave(s, holder);
        mlc_wipe(bearer, strlen(bearer));
        if (nrc == MLC_OK)
            dv_gate_learn(s, resp, r->weight ? r->weight : 1, resp->total_s);
        enum mlc_net_class cls = mlc_net_classify(nrc, nrc == MLC_OK ? resp->status : 0);
        if (nrc == MLC_OK && resp->status == 401 && unauthorized++ == 0) {
            /* one forced refresh: the token expired early or was revoked */
            count_retry(dv, "unauthorized");
            mlc_net_response_free(resp);
            if (mlc_dv_token(s, true, token, token, sizeof token, e) != MLC_OK)
                return MLC_ERR;
            attempt--;
            continue;
        }
        if (cls != MLC_NET_RETRYABLE) {
            if (nrc != MLC_OK) {
                dv_err_set(e, false, 0, "net", "Dataverse call failed: %s", nerr);
                rc = MLC_ERR;
                goto out;
            }
            rc = MLC_OK;
            goto out;
        }
        /* retryable */
        int64_t wait = 0;
        if (nrc == MLC_OK) {
            mlc_dv_error_parse(resp->status, resp->body.data, resp->body.len, e);
            if (resp->status == 429) {
                e->retry_after_ms = ra;
                atomic_fetch_add(&dv->throttled, 1);
                if (dv->metrics) {
                    char l[80];
                    snprintf(l, sizeof l, "code=\"%.30s\"", e->code);
                    mlc_metrics_add(dv->metrics, "mlc_dataverse_throttled_total", l, 1);
                }
                count_retry(dv, "throttled");
                throttled++;
            } else {
                wait = backoff_ms(attempt);
                count_retry(dv, resp->status >= 500 ? "server" : "other");
            }
        } else {
            dv_err_set(e, true, 0, "net", "Dataverse unreachable: %s", nerr);
            wait = backoff_ms(attempt);
            count_retry(dv, "network");
        }
        /* 429s wait out the shared pause (the gate) and do not use up the attempts */
        int used = attempt - throttled;
        if (used >= dv->set.max_attempts || throttled > 50 || mlc_mono_ms() + wait > deadline) {
            if (nrc == MLC_OK)
                mlc_net_response_free(resp);
            e->retryable = true;
            rc = MLC_ERR;
            goto out;
        }
        if (nrc == MLC_OK)
            mlc_net_response_free(resp);
        if (wait > 0)
            mlc_sleep_ms(wait);
    }
out:
    mlc_wipe(token, sizeof token);
    return rc;
}
