/* The emulated Entra ID token endpoint (client secret, certificate assertion, federated token;
 * Entra's success and AADSTS error bodies) and the Web API's bearer check. */
#include "internal.h"
#include "mlc/crypto.h"
#include "mlc/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define SKEW_S 300

static void entra_error(struct mlc_request *r, unsigned status, const char *error, int code,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void entra_error(struct mlc_request *r, unsigned status, const char *error, int code,
                        const char *fmt, ...)
{
    char msg[600], desc[900], ts[40], trace[37], corr[37];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%SZ", &tm);
    dv_guid_random(trace);
    dv_guid_random(corr);
    snprintf(desc, sizeof desc, "AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", code,
             msg, trace, corr, ts);
    json_t *o =
        json_pack("{s:s, s:s, s:[i], s:s, s:s, s:s}", "error", error, "error_description", desc,
                  "error_codes", code, "timestamp", ts, "trace_id", trace, "correlation_id", corr);
    mlc_request_log_field(r, "entra_error", error);
    mlc_reply_json(r, status, o);
}

struct form {
    struct dv_req q;
};

static const char *field(struct form *f, const char *k)
{
    return dv_req_query(&f->q, k);
}

/* Issues a token for the app; the string is JWT-shaped, only its hash is kept. */
static void issue(struct dv_sandbox *s, struct mlc_request *r, const struct dv_settings *st)
{
    int64_t now = mlc_now_ms() / 1000;
    char iss[120], jti[37];
    snprintf(iss, sizeof iss, "https://sts.windows.net/%s/", s->tenant_id);
    dv_guid_random(jti);
    json_t *claims = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "aud",
                               s->base_url, "iss", iss, "iat", (json_int_t)now, "nbf",
                               (json_int_t)now, "exp", (json_int_t)(now + st->token_lifetime_s),
                               "appid", s->client_id, "oid", s->app_user_id, "sub", s->app_user_id,
                               "tid", s->tenant_id, "uti", jti, "ver", "1.0");
    char *cj = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    char *c64 = mlc_base64_encode(cj, strlen(cj), true);
    const char *hdr = "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"sandbox\"}";
    char *h64 = mlc_base64_encode(hdr, strlen(hdr), true);
    uint8_t sig[32];
    mlc_random_bytes(sig, sizeof sig);
    char *s64 = mlc_base64_encode(sig, sizeof sig, true);
    size_t tl = strlen(h64) + strlen(c64) + strlen(s64) + 3;
    char *tok = mlc_malloc(tl);
    snprintf(tok, tl, "%s.%s.%s", h64, c64, s64);
    pthread_mutex_lock(&s->tok_mu);
    struct dv_token *t = &s->tokens[s->tok_next++ % DV_MAX_TOKENS];
    mlc_sha256(tok, strlen(tok), t->hash);
    t->expires_s = now + st->token_lifetime_s;
    t->epoch = s->token_epoch;
    t->used = true;
    pthread_mutex_unlock(&s->tok_mu);
    atomic_fetch_add(&s->tokens_issued, 1);
    json_t *o = json_pack("{s:s, s:i, s:i, s:s}", "token_type", "Bearer", "expires_in",
                          st->token_lifetime_s, "ext_expires_in", st->token_lifetime_s,
                          "access_token", tok);
    mlc_wipe(tok, strlen(tok));
    free(tok);
    free(cj);
    free(c64);
    free(h64);
    free(s64);
    mlc_reply_json(r, 200, o);
}

static bool cert_matches(struct dv_sandbox *s, json_t *hdr, const char **pem)
{
    const char *x5t256 = json_string_value(json_object_get(hdr, "x5t#S256"));
    const char *x5t = json_string_value(json_object_get(hdr, "x5t"));
    for (size_t i = 0; i < s->ncerts; i++) {
        uint8_t d[32];
        size_t dl = 0;
        char err[128];
        for (int kind = 0; kind < 2; kind++) {
            const char *want = kind ? x5t256 : x5t;
            if (!want ||
                mlc_x509_thumbprint(s->cert_pem[i], kind == 1, d, &dl, err, sizeof err) != MLC_OK)
                continue;
            char *enc = mlc_base64_encode(d, dl, true);
            bool hit = strcmp(enc, want) == 0;
            free(enc);
            if (hit) {
                *pem = s->cert_pem[i];
                return true;
            }
        }
    }
    return false;
}

/* Verifies a client assertion; false with Entra's error answered. */
static bool check_assertion(struct dv_sandbox *s, struct mlc_request *r, const char *tenant,
                            const char *client_id, const char *jwt)
{
    char err[256];
    json_t *hdr = NULL, *claims = NULL;
    if (mlc_jwt_peek_header(jwt, &hdr, err, sizeof err) != MLC_OK) {
        entra_error(r, 401, "invalid_client", 50027, "JWT token is invalid or malformed.");
        return false;
    }
    const char *kid = json_string_value(json_object_get(hdr, "kid"));
    bool federated = kid && strcmp(kid, "sandbox-workload-identity") == 0 && s->federation_pub;
    const char *pem = NULL;
    if (!federated && !cert_matches(s, hdr, &pem)) {
        json_decref(hdr);
        entra_error(r, 401, "invalid_client", 700027,
                    "The certificate with identifier used to sign the client assertion is not "
                    "registered on application. [Reason - The key was not found.]");
        return false;
    }
    json_decref(hdr);
    enum mlc_rc rc = federated
                         ? mlc_jwt_verify(jwt, s->federation_pub, NULL, &claims, err, sizeof err)
                         : mlc_jwt_verify_rs256_ok(jwt, pem, NULL, &claims, err, sizeof err);
    if (rc != MLC_OK) {
        entra_error(r, 401, "invalid_client", 700027,
                    "Client assertion failed signature validation.");
        return false;
    }
    bool ok = false;
    int64_t now = mlc_now_ms() / 1000;
    json_t *exp = json_object_get(claims, "exp"), *nbf = json_object_get(claims, "nbf");
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *aud = json_string_value(json_object_get(claims, "aud"));
    char want_aud[400], alt_aud[400];
    snprintf(want_aud, sizeof want_aud, "%s/%s/oauth2/v2.0/token", s->base_url, tenant);
    snprintf(alt_aud, sizeof alt_aud, "%s/%s/oauth2/token", s->base_url, tenant);
    if (!json_is_integer(exp) || json_integer_value(exp) + SKEW_S < now ||
        (json_is_integer(nbf) && json_integer_value(nbf) - SKEW_S > now)) {
        entra_error(r, 401, "invalid_client", 700024,
                    "Client assertion is not within its valid time range.");
    } else if (federated) {
        if (!iss || strcmp(iss, s->federation_issuer) != 0 || !sub ||
            strcmp(sub, s->federation_subject) != 0 || !aud ||
            strcmp(aud, "api://AzureADTokenExchange") != 0)
            entra_error(r, 400, "invalid_request", 70021,
                        "No matching federated identity record found for presented assertion. "
                        "Assertion Issuer: '%.120s'. Assertion Subject: '%.120s'. Assertion "
                        "Audience: '%.120s'.",
                        iss ? iss : "", sub ? sub : "", aud ? aud : "");
        else
            ok = true;
    } else if (!iss || !sub || strcmp(iss, client_id) != 0 || strcmp(sub, client_id) != 0) {
        entra_error(r, 401, "invalid_client", 700021,
                    "Client assertion application identifier doesn't match 'client_id' "
                    "parameter.");
    } else if (!aud || (strcmp(aud, want_aud) != 0 && strcmp(aud, alt_aud) != 0)) {
        entra_error(r, 401, "invalid_client", 700016,
                    "The audience of the client assertion must be the token endpoint '%s'.",
                    want_aud);
    } else if (!json_is_string(json_object_get(claims, "jti"))) {
        entra_error(r, 401, "invalid_client", 50027, "JWT token is invalid or malformed (jti).");
    } else {
        ok = true;
    }
    json_decref(claims);
    return ok;
}

void dv_token_handle(struct mlc_request *r, void *ud)
{
    struct dv_sandbox *s = ud;
    const char *path = mlc_request_path(r);
    /* /{tenant}/oauth2/v2.0/token */
    const char *p = path + 1;
    size_t tl = strcspn(p, "/");
    char tenant[80];
    if (tl == 0 || tl >= sizeof tenant || strcmp(p + tl, "/oauth2/v2.0/token") != 0) {
        mlc_reply_json(
            r, 404,
            dv_error_body("0x80060888", "Resource not found for the segment '%.100s'.", path));
        return;
    }
    memcpy(tenant, p, tl);
    tenant[tl] = '\0';
    if (strcmp(mlc_request_method(r), "POST") != 0) {
        entra_error(r, 405, "invalid_request", 900561,
                    "The endpoint only accepts POST requests. Received a %s request.",
                    mlc_request_method(r));
        return;
    }
    struct dv_settings st = dv_settings_get(s);
    size_t bl;
    const char *body = mlc_request_body(r, &bl);
    /* application/x-www-form-urlencoded: '+' is a space */
    char *copy = mlc_malloc(bl * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < bl; i++) {
        if (body[i] == '+') {
            memcpy(copy + o, "%20", 3);
            o += 3;
        } else {
            copy[o++] = body[i];
        }
    }
    copy[o] = '\0';
    struct form f = {0};
    dv_query_parse(copy, &f.q);
    mlc_wipe(copy, o);
    free(copy);
    const char *grant = field(&f, "grant_type"), *cid = field(&f, "client_id"),
               *scope = field(&f, "scope"), *secret = field(&f, "client_secret"),
               *atype = field(&f, "client_assertion_type"),
               *assertion = field(&f, "client_assertion");
    char want_scope[320], alt_scope[320];
    snprintf(want_scope, sizeof want_scope, "%s/.default", s->base_url);
    snprintf(alt_scope, sizeof alt_scope, "%s//.default", s->base_url);
    if (strcmp(tenant, s->tenant_id) != 0 && strcasecmp(tenant, "organizations") != 0) {
        entra_error(r, 400, "invalid_request", 90002,
                    "Tenant '%.64s' not found. Check to make sure you have the correct tenant ID "
                    "and are signing into the correct cloud.",
                    tenant);
    } else if (!grant) {
        entra_error(r, 400, "invalid_request", 900144,
                    "The request body must contain the following parameter: 'grant_type'.");
    } else if (strcmp(grant, "client_credentials") != 0) {
        entra_error(r, 400, "unsupported_grant_type", 70003,
                    "The app requested an unsupported grant type '%.40s'.", grant);
    } else if (!cid) {
        entra_error(r, 400, "invalid_request", 900144,
                    "The request body must contain the following parameter: 'client_id'.");
    } else if (strcmp(cid, s->client_id) != 0) {
        entra_error(r, 400, "unauthorized_client", 700016,
                    "Application with identifier '%.64s' was not found in the directory '%s'.", cid,
                    s->tenant_id);
    } else if (!scope) {
        entra_error(r, 400, "invalid_request", 900144,
                    "The request body must contain the following parameter: 'scope'.");
    } else if (strcmp(scope, want_scope) != 0 && strcmp(scope, alt_scope) != 0) {
        entra_error(r, 400, "invalid_scope", 1002012,
                    "The provided value for scope %.200s is not valid. Client credential flows "
                    "must have a scope value with /.default suffixed to the resource identifier "
                    "(application ID URI).",
                    scope);
    } else if (secret && assertion) {
        entra_error(r, 400, "invalid_request", 90014,
                    "Only one of 'client_secret' and 'client_assertion' may be sent.");
    } else if (secret) {
        if (mlc_ct_equal(secret, strlen(secret), s->client_secret, strlen(s->client_secret)))
            issue(s, r, &st);
        else
            entra_error(r, 401, "invalid_client", 7000215,
                        "Invalid client secret provided. Ensure the secret being sent in the "
                        "request is the client secret value, not the client secret ID, for a "
                        "secret added to app '%s'.",
                        s->client_id);
    } else if (assertion) {
        if (!atype || strcmp(atype, ASSERTION_TYPE) != 0)
            entra_error(r, 400, "invalid_request", 900144,
                        "The request body must contain the following parameter: "
                        "'client_assertion_type'.");
        else if (check_assertion(s, r, tenant, cid, assertion))
            issue(s, r, &st);
    } else {
        entra_error(r, 401, "invalid_client", 7000218,
                    "The request body must contain the following parameter: 'client_assertion' "
                    "or 'client_secret'.");
    }
    for (size_t i = 0; i < f.q.nquery; i++)
        mlc_wipe(f.q.query[i].v, strlen(f.q.query[i].v));
    dv_req_free(&f.q);
}

enum dv_auth dv_auth_check(struct dv_sandbox *s, struct mlc_request *r)
{
    const char *h = mlc_request_header(r, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7])
        return DV_AUTH_MISSING;
    uint8_t hash[32];
    mlc_sha256(h + 7, strlen(h + 7), hash);
    int64_t now = mlc_now_ms() / 1000;
    enum dv_auth res = DV_AUTH_INVALID;
    pthread_mutex_lock(&s->tok_mu);
    for (size_t i = 0; i < DV_MAX_TOKENS; i++) {
        struct dv_token *t = &s->tokens[i];
        if (!t->used || memcmp(t->hash, hash, 32) != 0)
            continue;
        if (t->epoch != s->token_epoch)
            res = DV_AUTH_INVALID;
        else if (t->expires_s <= now)
            res = DV_AUTH_EXPIRED;
        else
            res = DV_AUTH_OK;
        break;
    }
    pthread_mutex_unlock(&s->tok_mu);
    return res;
}

void dv_tokens_revoke_all(struct dv_sandbox *s)
{
    pthread_mutex_lock(&s->tok_mu);
    s->token_epoch++;
    pthread_mutex_unlock(&s->tok_mu);
}
