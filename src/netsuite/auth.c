/* NetSuite auth: M2M client-credentials tokens from a certificate-signed JWT (cached,
 * single-flight, refreshed ahead of expiry), TBA OAuth 1.0a headers, and the "mapping wiped" status
 * in Redis. */
#include "internal.h"
#include "mlc/crypto.h"
#include "mlc/log.h"
#include "mlc/metrics.h"
#include "mlc/net.h"
#include "mlc/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WIPED_MSG "M2M mapping wiped (sandbox refresh?) or certificate revoked"

/* The assertion's claims (exp - iat must stay under 3600; a short assertion limits replay);
 * signed with k when given, else with key_pem. */
static enum mlc_rc assertion(const char *alg, const char *kid, const char *client_id,
                             const char *scope, const char *aud, int64_t now_s,
                             const struct mlc_pkey *k, const char *key_pem, char **out, char *err,
                             size_t errsz)
{
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", client_id, "scope",
                               scope ? scope : "rest_webservices", "aud", aud, "iat",
                               (json_int_t)now_s, "exp", (json_int_t)(now_s + 300));
    if (!claims) {
        snprintf(err, errsz, "cannot build the JWT claims");
        return MLC_EINVAL;
    }
    enum mlc_rc rc;
    if (k) {
        json_t *extra = kid ? json_pack("{s:s}", "kid", kid) : NULL;
        rc = mlc_jwt_sign_pkey(alg, extra, claims, k, out, err, errsz);
        json_decref(extra);
    } else {
        rc = mlc_jwt_sign(alg, kid, claims, key_pem, out, err, errsz);
    }
    json_decref(claims);
    return rc;
}

enum mlc_rc mlc_ns_assertion(const char *alg, const char *kid, const char *client_id,
                             const char *scope, const char *aud, int64_t now_s, const char *key_pem,
                             char **out, char *err, size_t errsz)
{
    return assertion(alg, kid, client_id, scope, aud, now_s, NULL, key_pem, out, err, errsz);
}

uint64_t mlc_ns_tokens_obtained(const struct mlc_netsuite *ns)
{
    return atomic_load(&ns->tokens);
}

/* ---- the status kept in Redis ---- */

/* GET / SET of <prefix>netsuite:auth:<name> on the session's connection; GET gives the value
 * (owned) or NULL when absent or when Redis is unavailable. */
static char *auth_get(struct mlc_ns_session *s, const char *name)
{
    struct mlc_redis *c = mlc_ns_session_redis(s);
    if (!c)
        return NULL;
    char key[256];
    mlc_queue_key(s->ns->q, key, sizeof key, "netsuite:auth:%s", name);
    const char *argv[] = {"GET", key};
    json_t *r = NULL;
    char *out = NULL;
    if (mlc_redis_exec(c, &r, NULL, 0, 2, argv) == MLC_OK && json_is_string(r))
        out = mlc_strdup(json_string_value(r));
    json_decref(r);
    return out;
}

static void auth_set(struct mlc_ns_session *s, const char *name, const char *value)
{
    struct mlc_redis *c = mlc_ns_session_redis(s);
    if (!c)
        return;
    char key[256];
    mlc_queue_key(s->ns->q, key, sizeof key, "netsuite:auth:%s", name);
    const char *argv[] = {"SET", key, value};
    mlc_redis_exec(c, NULL, NULL, 0, 3, argv);
}

static void status_store(struct mlc_ns_session *s, const char *state, const char *msg)
{
    struct mlc_netsuite *ns = s->ns;
    if (ns->metrics)
        mlc_metrics_set(ns->metrics, "mlc_netsuite_auth_ok", NULL,
                        strcmp(state, "mapping_wiped") == 0 ? 0 : 1);
    char at[40];
    mlc_fmt_rfc3339(mlc_now_ms(), at, sizeof at);
    json_t *st = json_pack("{s:s, s:s, s:s, s:s}", "state", state, "message", msg, "at", at,
                           "certificateId", ns->set.certificate_id ? ns->set.certificate_id : "");
    char *txt = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    auth_set(s, "status", txt);
    free(txt);
}

json_t *mlc_ns_auth_status(struct mlc_ns_session *s)
{
    char *v = auth_get(s, "status");
    json_t *out = v ? json_loads(v, 0, NULL) : NULL;
    free(v);
    return out;
}

/* Whether our key obtained a token before (the ID of the last key that did is in Redis). */
static bool key_worked_before(struct mlc_ns_session *s)
{
    char *v = auth_get(s, "lastkey");
    bool same = v && strcmp(v, s->ns->key_id) == 0;
    free(v);
    return same;
}

static void key_worked(struct mlc_ns_session *s)
{
    auth_set(s, "lastkey", s->ns->key_id);
}

/* ---- fetching a token ---- */

static void count_token(struct mlc_netsuite *ns, const char *outcome)
{
    ns_counter_add(ns, "mlc_netsuite_tokens_total", "outcome", outcome);
}

/* Reads {"access_token","expires_in" (string or number),"token_type"}. */
static enum mlc_rc parse_token(const char *body, size_t len, char **tok, int64_t *life_s, char *why,
                               size_t whysz)
{
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    enum mlc_rc rc = MLC_EINVAL;
    if (!json_is_object(j)) {
        snprintf(why, whysz, "the token response is not a JSON object");
        goto out;
    }
    const char *at = json_string_value(json_object_get(j, "access_token"));
    const char *tt = json_string_value(json_object_get(j, "token_type"));
    json_t *ei = json_object_get(j, "expires_in");
    long long life = -1;
    if (json_is_integer(ei)) {
        life = (long long)json_integer_value(ei);
    } else if (json_is_string(ei)) {
        uint64_t v;
        if (mlc_parse_u64(json_string_value(ei), &v) == MLC_OK && v < 86400 * 365)
            life = (long long)v;
    }
    if (!at || !*at || strlen(at) > 8000) {
        snprintf(why, whysz, "the token response has no usable access_token");
        goto out;
    }
    for (const char *p = at; *p; p++) {
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127) {
            snprintf(why, whysz, "the access_token holds characters a header cannot carry");
            goto out;
        }
    }
    if (life <= 0) {
        snprintf(why, whysz, "the token response has no usable expires_in");
        goto out;
    }
    if (tt && strcasecmp(tt, "Bearer") != 0) {
        snprintf(why, whysz, "the token_type is not Bearer");
        goto out;
    }
    *tok = mlc_strdup(at);
    *life_s = life;
    rc = MLC_OK;
out:
    json_decref(j);
    return rc;
}

static enum mlc_rc fetch_token(struct mlc_ns_session *s, char **tok, int64_t *life_s,
                               struct mlc_ns_err *e)
{
    struct mlc_netsuite *ns = s->ns;
    for (int attempt = 1;; attempt++) {
        char *jwt = NULL, err[256];
        if (assertion(ns->alg, ns->set.certificate_id, ns->set.client_id, ns->set.scope,
                      ns->token_url, mlc_now_ms() / 1000, ns->pkey, NULL, &jwt, err,
                      sizeof err) != MLC_OK) {
            ns_err_set(e, false, 0, "auth:assertion", "cannot sign the M2M assertion: %s", err);
            return MLC_ERR;
        }
        struct mlc_buf form;
        mlc_buf_init(&form, 65536);
        mlc_buf_printf(&form,
                       "grant_type=client_credentials&client_assertion_type="
                       "urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type%%3Ajwt-bearer"
                       "&client_assertion=%s",
                       jwt);
        mlc_wipe(jwt, strlen(jwt));
        free(jwt);
        struct mlc_net_header h[] = {{"Content-Type", "application/x-www-form-urlencoded"},
                                     {"Accept", "application/json"}};
        struct mlc_net_request req = {.method = "POST",
                                      .url = ns->token_url,
                                      .headers = h,
                                      .nheaders = 2,
                                      .body = form.data,
                                      .body_len = form.len,
                                      .endpoint = "token"};
        struct mlc_net_response resp;
        enum mlc_rc nrc = mlc_net_perform(s->net, &req, &resp, err, sizeof err);
        mlc_wipe(form.data, form.len);
        mlc_buf_free(&form);
        int64_t wait = 0;
        if (nrc != MLC_OK) {
            ns_err_set(e, nrc == MLC_EUNAVAIL, 0, "auth:network",
                       "the NetSuite token endpoint could not be reached: %s", err);
            if (nrc != MLC_EUNAVAIL)
                return MLC_ERR;
        } else if (resp.status == 200) {
            char why[128];
            enum mlc_rc prc =
                parse_token(resp.body.data, resp.body.len, tok, life_s, why, sizeof why);
            mlc_wipe(resp.body.data, resp.body.len);
            mlc_net_response_free(&resp);
            if (prc == MLC_OK) {
                count_token(ns, "ok");
                return MLC_OK;
            }
            count_token(ns, "malformed");
            ns_err_set(e, true, 200, "auth:malformed_token",
                       "NetSuite's token response is "
                       "malformed: %s",
                       why);
        } else {
            long st = resp.status;
            mlc_ns_error_parse(st, resp.body.data, resp.body.len, e);
            bool refused = st == 400 || st == 401 || st == 403;
            wait = mlc_net_retry_after_ms(&resp, mlc_now_ms());
            mlc_net_response_free(&resp);
            if (refused) {
                count_token(ns, "refused");
                if (key_worked_before(s)) {
                    ns_err_set(e, false, st, "auth:mapping_wiped",
                               WIPED_MSG " (NetSuite %ld, "
                                         "certificate ID %.60s)",
                               st, ns->set.certificate_id);
                    mlc_log_kv(MLC_LOG_ERROR, WIPED_MSG,
                               json_pack("{s:s, s:I}", "certificateId", ns->set.certificate_id,
                                         "status", (json_int_t)st));
                    status_store(s, "mapping_wiped", WIPED_MSG);
                } else {
                    char m[sizeof e->msg];
                    snprintf(m, sizeof m, "%s", e->msg);
                    ns_err_set(e, false, st, "auth:refused",
                               "NetSuite refused the M2M assertion "
                               "(check the client ID, certificate ID, key and the M2M mapping): "
                               "%.300s",
                               m);
                    mlc_log(MLC_LOG_ERROR, "%s", e->msg);
                    status_store(s, "refused", e->msg);
                }
                return MLC_ERR;
            }
            count_token(ns, "error");
        }
        if (!e->retryable || attempt >= 4)
            return MLC_ERR;
        mlc_sleep_ms(wait > 0 ? wait : 200 * attempt + (int64_t)(mlc_rand_u64() % 200));
    }
}

enum mlc_rc mlc_ns_token(struct mlc_ns_session *s, bool force, const char *failed, char *out,
                         size_t outsz, struct mlc_ns_err *e)
{
    struct mlc_netsuite *ns = s->ns;
    if (ns->set.tba) {
        if (outsz)
            out[0] = '\0';
        return MLC_OK;
    }
    pthread_mutex_lock(&ns->mu);
    for (;;) {
        if (ns->token) {
            int64_t left = ns->token_exp_ms - mlc_now_ms();
            int64_t margin = (int64_t)ns->set.refresh_margin_s * 1000;
            if (margin > ns->token_life_s * 500)
                margin = ns->token_life_s * 500;
            bool rejected = force && (!failed || strcmp(ns->token, failed) == 0);
            if (!rejected && left > margin) {
                snprintf(out, outsz, "%s", ns->token);
                pthread_mutex_unlock(&ns->mu);
                return MLC_OK;
            }
        }
        if (!ns->refreshing)
            break;
        /* single-flight: someone else is fetching; their token serves us too (unless it is still
         * the one that failed, because their fetch failed: then we try ourselves) */
        pthread_cond_wait(&ns->cv, &ns->mu);
    }
    ns->refreshing = true;
    pthread_mutex_unlock(&ns->mu);

    char *tok = NULL;
    int64_t life = 0;
    enum mlc_rc rc = fetch_token(s, &tok, &life, e);
    if (rc == MLC_OK) {
        key_worked(s);
        status_store(s, "ok", "a token was obtained");
        atomic_fetch_add(&ns->tokens, 1);
    }

    pthread_mutex_lock(&ns->mu);
    ns->refreshing = false;
    if (rc == MLC_OK) {
        if (ns->token) {
            mlc_wipe(ns->token, strlen(ns->token));
            free(ns->token);
        }
        ns->token = tok;
        ns->token_life_s = life;
        ns->token_exp_ms = mlc_now_ms() + life * 1000;
        snprintf(out, outsz, "%s", tok);
        if (ns->metrics) {
            mlc_metrics_set(ns->metrics, "mlc_netsuite_token_lifetime_seconds", NULL, (double)life);
            mlc_metrics_set(ns->metrics, "mlc_netsuite_token_expiry_seconds", NULL,
                            (double)(ns->token_exp_ms / 1000));
        }
    } else if (ns->token && !force && e->retryable && ns->token_exp_ms - mlc_now_ms() > 5000) {
        /* The refresh ahead of expiry failed for a passing reason: the old token still works. */
        snprintf(out, outsz, "%s", ns->token);
        rc = MLC_OK;
    }
    pthread_cond_broadcast(&ns->cv);
    pthread_mutex_unlock(&ns->mu);
    return rc;
}

enum mlc_rc mlc_ns_token_fresh(struct mlc_ns_session *s, struct mlc_ns_err *e)
{
    char tok[8192];
    enum mlc_rc rc = mlc_ns_token(s, false, NULL, tok, sizeof tok, e);
    mlc_wipe(tok, sizeof tok);
    return rc;
}

/* ---- the Authorization header ---- */

enum mlc_rc mlc_ns_tba_header(const char *method, const char *url, const char *realm,
                              const char *consumer_key, const char *consumer_secret,
                              const char *token_id, const char *token_secret, const char *nonce,
                              int64_t timestamp, char **out)
{
    /* The query's parameters are signed with the oauth_* values; the JSON body is not. */
    const char *q = strchr(url, '?');
    char *base = q ? mlc_strndup(url, (size_t)(q - url)) : mlc_strdup(url);
    struct mlc_oauth1_param params[32];
    size_t n = 0;
    enum mlc_rc rc = MLC_OK;
    for (const char *p = q ? q + 1 : NULL; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t l = amp ? (size_t)(amp - p) : strlen(p);
        if (l) {
            if (n == 32) {
                rc = MLC_EINVAL;
                break;
            }
            const char *eq = memchr(p, '=', l);
            size_t kl = eq ? (size_t)(eq - p) : l;
            params[n].k = mlc_oauth1_decode(p, kl);
            params[n].v = eq ? mlc_oauth1_decode(eq + 1, l - kl - 1) : mlc_strdup("");
            n++;
            if (!params[n - 1].k || !params[n - 1].v) {
                rc = MLC_EINVAL;
                break;
            }
        }
        p = amp ? amp + 1 : NULL;
    }
    if (rc == MLC_OK)
        rc = mlc_oauth1_authorization(method, base, params, n, realm, consumer_key, consumer_secret,
                                      token_id, token_secret, nonce, timestamp, out);
    for (size_t i = 0; i < n; i++) {
        free((void *)(uintptr_t)params[i].k);
        free((void *)(uintptr_t)params[i].v);
    }
    free(base);
    return rc;
}

enum mlc_rc ns_authorization(struct mlc_ns_session *s, const char *method, const char *url,
                             const char *bearer, char **out, struct mlc_ns_err *e)
{
    struct mlc_netsuite *ns = s->ns;
    if (!ns->set.tba) {
        size_t l = strlen(bearer) + 8;
        *out = mlc_malloc(l);
        snprintf(*out, l, "Bearer %s", bearer);
        return MLC_OK;
    }
    uint8_t rnd[12];
    char nonce[25];
    enum mlc_rc rc = mlc_random_bytes(rnd, sizeof rnd);
    if (rc == MLC_OK) {
        mlc_hex(rnd, sizeof rnd, nonce);
        rc = mlc_ns_tba_header(method, url, ns->set.account_id, ns->set.consumer_key,
                               ns->set.consumer_secret, ns->set.token_id, ns->set.token_secret,
                               nonce, mlc_now_ms() / 1000, out);
    }
    if (rc != MLC_OK)
        ns_err_set(e, false, 0, "auth:tba", "cannot build the TBA Authorization header");
    return rc;
}
