/* OAuth 2.0 client credentials with a JWT assertion (the token endpoint), Bearer checks, and TBA
 * (OAuth 1.0a) checks. */
#include "internal.h"
#include "mlc/crypto.h"
#include "mlc/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TOKEN_PATH "/services/rest/auth/oauth2/v1/token"

/* ---- token store ---- */

static void store_token(struct ns_sandbox *s, const char *tok, int64_t now, int lifetime)
{
    uint8_t h[32];
    mlc_sha256(tok, strlen(tok), h);
    pthread_mutex_lock(&s->tok_mu);
    size_t victim = 0;
    int64_t oldest = INT64_MAX;
    for (size_t i = 0; i < NS_MAX_TOKENS; i++) {
        struct ns_token *t = &s->tokens[i];
        if (!t->used || t->expires_s <= now || t->epoch != s->token_epoch) {
            victim = i;
            break;
        }
        if (t->issued_s < oldest) {
            oldest = t->issued_s;
            victim = i;
        }
    }
    struct ns_token *t = &s->tokens[victim];
    memcpy(t->hash, h, 32);
    t->issued_s = now;
    t->expires_s = now + lifetime;
    t->epoch = s->token_epoch;
    t->used = true;
    pthread_mutex_unlock(&s->tok_mu);
}

static bool bearer_valid(struct ns_sandbox *s, const char *tok, int64_t now)
{
    uint8_t h[32];
    mlc_sha256(tok, strlen(tok), h);
    bool ok = false;
    pthread_mutex_lock(&s->tok_mu);
    for (size_t i = 0; i < NS_MAX_TOKENS; i++) {
        const struct ns_token *t = &s->tokens[i];
        if (t->used && memcmp(t->hash, h, 32) == 0) {
            ok = t->expires_s > now && t->epoch == s->token_epoch;
            break;
        }
    }
    pthread_mutex_unlock(&s->tok_mu);
    return ok;
}

void ns_tokens_revoke_all(struct ns_sandbox *s)
{
    pthread_mutex_lock(&s->tok_mu);
    s->token_epoch++;
    pthread_mutex_unlock(&s->tok_mu);
}

/* ---- the token endpoint ---- */

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* application/x-www-form-urlencoded value decoding; NULL when malformed. */
static char *form_decode(const char *p, size_t n)
{
    char *o = mlc_malloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '+') {
            o[j++] = ' ';
        } else if (p[i] == '%') {
            int a = i + 2 < n ? hexv(p[i + 1]) : -1, b = i + 2 < n ? hexv(p[i + 2]) : -1;
            if (a < 0 || b < 0) {
                free(o);
                return NULL;
            }
            o[j++] = (char)(a << 4 | b);
            i += 2;
        } else {
            o[j++] = p[i];
        }
    }
    o[j] = '\0';
    return o;
}

struct form {
    char *grant_type, *assertion_type, *assertion;
    size_t other;  /* fields other than the three */
    bool dup, bad; /* a field twice, a broken escape */
};

static void form_parse(const char *body, size_t len, struct form *f)
{
    memset(f, 0, sizeof *f);
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(e - p));
        if (e > p) {
            char *k = form_decode(p, (size_t)((eq ? eq : e) - p));
            char *v = eq ? form_decode(eq + 1, (size_t)(e - eq - 1)) : mlc_strdup("");
            char **slot = NULL;
            if (!k || !v)
                f->bad = true;
            else if (strcmp(k, "grant_type") == 0)
                slot = &f->grant_type;
            else if (strcmp(k, "client_assertion_type") == 0)
                slot = &f->assertion_type;
            else if (strcmp(k, "client_assertion") == 0)
                slot = &f->assertion;
            else
                f->other++;
            if (slot) {
                if (*slot)
                    f->dup = true;
                free(*slot);
                *slot = v;
                v = NULL;
            }
            free(k);
            free(v);
        }
        p = e + 1;
    }
}

static void form_free(struct form *f)
{
    free(f->grant_type);
    free(f->assertion_type);
    free(f->assertion);
}

static void token_error(struct ns_sandbox *s, struct mlc_request *r, const struct ns_settings *st,
                        const char *oauth_error, const char *why)
{
    ns_count(s, NS_OUT_UNAUTHORIZED);
    mlc_request_log_field(r, "refused", why);
    mlc_log(MLC_LOG_DEBUG, "token refused: %s", why);
    if (st->token_error_netsuite) {
        ns_reply_invalid_login(r);
        return;
    }
    char body[96];
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", oauth_error);
    mlc_reply_text(r, 400, "application/json", body, (size_t)n);
}

/* scheme://host[:port] the client used, from the Host header (for aud and TBA). */
static void request_origin(struct ns_sandbox *s, struct mlc_request *r, char *out, size_t sz)
{
    const char *host = mlc_request_header(r, "Host");
    bool tls = strncmp(s->base_url, "https://", 8) == 0;
    if (!host || !*host || strlen(host) > 200) {
        snprintf(out, sz, "%s", s->base_url);
        return;
    }
    char h[256];
    size_t n = 0;
    for (; host[n] && n + 1 < sizeof h; n++)
        h[n] = (char)tolower((unsigned char)host[n]);
    h[n] = '\0';
    const char *dflt = tls ? ":443" : ":80";
    size_t dl = strlen(dflt);
    if (n > dl && strcmp(h + n - dl, dflt) == 0)
        h[n - dl] = '\0';
    snprintf(out, sz, "%s://%s", tls ? "https" : "http", h);
}

static bool aud_ok(struct ns_sandbox *s, struct mlc_request *r, json_t *aud)
{
    char want1[512], want2[512], origin[300];
    snprintf(want1, sizeof want1, "%s%s", s->base_url, TOKEN_PATH);
    request_origin(s, r, origin, sizeof origin);
    snprintf(want2, sizeof want2, "%s%s", origin, TOKEN_PATH);
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want1) == 0 ||
               strcmp(json_string_value(aud), want2) == 0;
    if (json_is_array(aud)) {
        size_t i;
        json_t *v;
        json_array_foreach(aud, i, v) if (aud_ok(s, r, v)) return true;
    }
    return false;
}

static bool scope_has_rest(const char *s)
{
    /* comma-separated (spaces tolerated): rest_webservices, restlets, suite_analytics */
    bool rest = false;
    const char *p = s;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t l = strcspn(p, ", ");
        if (!l)
            break;
        if (l == 16 && strncmp(p, "rest_webservices", 16) == 0)
            rest = true;
        else if (!(l == 8 && strncmp(p, "restlets", 8) == 0) &&
                 !(l == 15 && strncmp(p, "suite_analytics", 15) == 0))
            return false;
        p += l;
    }
    return rest;
}

static bool claim_int(json_t *claims, const char *k, int64_t *out)
{
    json_t *v = json_object_get(claims, k);
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        *out = (int64_t)json_real_value(v);
        return true;
    }
    return false;
}

static char *mint_token(struct ns_sandbox *s, int64_t now, int lifetime)
{
    /* NetSuite's access tokens are JWTs (see samples/netsuite-token.json); ours look alike but are
     * opaque to us: only their hash is kept. */
    char date[48];
    time_t t = (time_t)now;
    struct tm g;
    gmtime_r(&t, &g);
    snprintf(date, sizeof date, "%04d-%02d-%02d", g.tm_year + 1900, g.tm_mon + 1, g.tm_mday);
    char kid[128];
    snprintf(kid, sizeof kid, "c.%s.%s_01.00", s->account_id, date);
    json_t *h = json_pack("{s:s, s:s, s:s}", "kid", kid, "typ", "JWT", "alg", "PS256");
    uint8_t jti[16], sig[64];
    mlc_random_bytes(jti, sizeof jti);
    mlc_random_bytes(sig, sizeof sig);
    char jtihex[33];
    mlc_hex(jti, sizeof jti, jtihex);
    char aud[160];
    snprintf(aud, sizeof aud, "%s;%s", s->client_id, s->account_id);
    json_t *c = json_pack("{s:s, s:s, s:[s], s:s, s:I, s:I, s:s}", "sub", "3;-5", "aud", aud,
                          "scope", "rest_webservices", "iss", "https://system.netsuite.com", "exp",
                          (json_int_t)(now + lifetime), "iat", (json_int_t)now, "jti", jtihex);
    char *hs = json_dumps(h, JSON_COMPACT), *cs = json_dumps(c, JSON_COMPACT);
    char *h64 = mlc_base64_encode(hs, strlen(hs), true),
         *c64 = mlc_base64_encode(cs, strlen(cs), true);
    char *s64 = mlc_base64_encode(sig, sizeof sig, true);
    struct mlc_buf b;
    mlc_buf_init(&b, 8192);
    mlc_buf_printf(&b, "%s.%s.%s", h64, c64, s64);
    char *out = mlc_strdup(b.data);
    mlc_buf_free(&b);
    free(hs);
    free(cs);
    free(h64);
    free(c64);
    free(s64);
    json_decref(h);
    json_decref(c);
    return out;
}

void ns_token_handle(struct mlc_request *r, void *ud)
{
    struct ns_sandbox *s = ud;
    if (!ns_require_method(r, "POST"))
        return;
    atomic_fetch_add(&s->calls[NS_CALL_TOKEN], 1);
    struct ns_settings st = ns_settings_get(s);
    if (ns_faults_apply(s, r, &st))
        return;
    size_t len;
    const char *body = mlc_request_body(r, &len);
    struct form f;
    json_t *hdr = NULL, *claims = NULL;
    char err[256];
    int64_t now = mlc_now_ms() / 1000;
    form_parse(body, len, &f);
    if (!mlc_request_content_type_is(r, "application/x-www-form-urlencoded")) {
        token_error(s, r, &st, "invalid_request", "Content-Type is not form-encoded");
        goto out;
    }
    if (f.bad || f.dup || f.other || !f.grant_type || !f.assertion_type || !f.assertion) {
        token_error(s, r, &st, "invalid_request",
                    "the body must have exactly grant_type, client_assertion_type and "
                    "client_assertion");
        goto out;
    }
    if (strcmp(f.grant_type, "client_credentials") != 0) {
        token_error(s, r, &st, "unsupported_grant_type", "grant_type is not client_credentials");
        goto out;
    }
    if (strcmp(f.assertion_type, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") != 0) {
        token_error(s, r, &st, "invalid_request", "unexpected client_assertion_type");
        goto out;
    }
    if (st.m2m_wiped) {
        token_error(s, r, &st, "invalid_grant", "the M2M mapping is wiped (fault)");
        goto out;
    }
    if (mlc_jwt_peek_header(f.assertion, &hdr, err, sizeof err) != MLC_OK) {
        token_error(s, r, &st, "invalid_grant", err);
        goto out;
    }
    const char *kid = json_string_value(json_object_get(hdr, "kid"));
    const char *typ = json_string_value(json_object_get(hdr, "typ"));
    if (typ && strcmp(typ, "JWT") != 0) {
        token_error(s, r, &st, "invalid_grant", "typ is not JWT");
        goto out;
    }
    const struct ns_m2m_key *key = NULL;
    for (size_t i = 0; kid && i < s->nkeys; i++)
        if (strcmp(s->keys[i].cert_id, kid) == 0)
            key = &s->keys[i];
    if (!key) {
        token_error(s, r, &st, "invalid_grant", "kid names no certificate of the M2M mapping");
        goto out;
    }
    if (mlc_jwt_verify(f.assertion, key->pub_pem, NULL, &claims, err, sizeof err) != MLC_OK) {
        token_error(s, r, &st, "invalid_grant", err);
        goto out;
    }
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    int64_t iat = 0, exp = 0;
    if (!iss || strcmp(iss, s->client_id) != 0) {
        token_error(s, r, &st, "invalid_grant", "iss is not the integration's client ID");
        goto out;
    }
    if (!aud_ok(s, r, json_object_get(claims, "aud"))) {
        token_error(s, r, &st, "invalid_grant", "aud is not the token endpoint URL");
        goto out;
    }
    if (!claim_int(claims, "iat", &iat) || !claim_int(claims, "exp", &exp)) {
        token_error(s, r, &st, "invalid_grant", "iat and exp must be numbers");
        goto out;
    }
    if (exp <= iat || exp - iat >= 3600) {
        token_error(s, r, &st, "invalid_grant", "exp - iat must be under 3600 seconds");
        goto out;
    }
    if (exp <= now) {
        token_error(s, r, &st, "invalid_grant", "the assertion has expired");
        goto out;
    }
    if (iat > now + 300) {
        token_error(s, r, &st, "invalid_grant", "iat is in the future");
        goto out;
    }
    json_t *scope = json_object_get(claims, "scope");
    bool scope_ok = false;
    if (json_is_string(scope)) {
        scope_ok = scope_has_rest(json_string_value(scope));
    } else if (json_is_array(scope) && st.scope_array_ok) {
        size_t i;
        json_t *v;
        json_array_foreach(scope, i, v) if (json_is_string(v) &&
                                            strcmp(json_string_value(v), "rest_webservices") == 0)
            scope_ok = true;
    }
    if (!scope_ok) {
        token_error(s, r, &st, "invalid_scope",
                    json_is_array(scope) ? "scope as an array is refused (switch --scope-array)"
                                         : "scope must include rest_webservices");
        goto out;
    }
    char *tok = mint_token(s, now, st.token_lifetime_s);
    store_token(s, tok, now, st.token_lifetime_s);
    atomic_fetch_add(&s->tokens_issued, 1);
    json_t *resp = json_pack("{s:s, s:o, s:s}", "access_token", tok, "expires_in",
                             st.expires_in_number ? json_integer(st.token_lifetime_s)
                                                  : json_sprintf("%d", st.token_lifetime_s),
                             "token_type", "Bearer");
    mlc_wipe(tok, strlen(tok));
    free(tok);
    ns_count(s, NS_OUT_OK);
    char *txt = json_dumps(resp, JSON_COMPACT);
    json_decref(resp);
    mlc_reply_text(r, 200, "application/json", txt, strlen(txt));
    mlc_wipe(txt, strlen(txt));
    free(txt);
out:
    json_decref(hdr);
    json_decref(claims);
    form_free(&f);
}

/* ---- TBA (OAuth 1.0a, HMAC-SHA256) ---- */

struct qcollect {
    struct mlc_oauth1_param *p;
    size_t n, max;
};

static bool collect_query(const char *k, const char *v, void *ud)
{
    struct qcollect *q = ud;
    if (q->n >= q->max)
        return false;
    q->p[q->n].k = k;
    q->p[q->n].v = v;
    q->n++;
    return true;
}

static bool nonce_fresh(struct ns_sandbox *s, int64_t ts, const char *nonce)
{
    bool fresh = true;
    pthread_mutex_lock(&s->tok_mu);
    for (size_t i = 0; i < NS_MAX_NONCES; i++)
        if (s->nonces[i].ts == ts && strcmp(s->nonces[i].nonce, nonce) == 0) {
            fresh = false;
            break;
        }
    if (fresh) {
        struct ns_nonce *n = &s->nonces[s->nonce_next++ % NS_MAX_NONCES];
        n->ts = ts;
        snprintf(n->nonce, sizeof n->nonce, "%s", nonce);
    }
    pthread_mutex_unlock(&s->tok_mu);
    return fresh;
}

static bool tba_valid(struct ns_sandbox *s, struct mlc_request *r, const char *auth)
{
    struct mlc_oauth1_param *p = NULL;
    size_t n = 0;
    bool ok = false;
    if (mlc_oauth1_parse_header(auth, &p, &n) != MLC_OK)
        return false;
    const char *realm = NULL, *ck = NULL, *tk = NULL, *method = NULL, *ts = NULL, *nonce = NULL,
               *sig = NULL, *version = NULL;
    struct mlc_oauth1_param signed_p[80];
    size_t ns = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = p[i].k;
        if (strcmp(k, "realm") == 0)
            realm = p[i].v;
        else if (strcmp(k, "oauth_signature") == 0)
            sig = p[i].v;
        else {
            if (strcmp(k, "oauth_consumer_key") == 0)
                ck = p[i].v;
            else if (strcmp(k, "oauth_token") == 0)
                tk = p[i].v;
            else if (strcmp(k, "oauth_signature_method") == 0)
                method = p[i].v;
            else if (strcmp(k, "oauth_timestamp") == 0)
                ts = p[i].v;
            else if (strcmp(k, "oauth_nonce") == 0)
                nonce = p[i].v;
            else if (strcmp(k, "oauth_version") == 0)
                version = p[i].v;
            if (ns < 40)
                signed_p[ns++] = p[i];
        }
    }
    uint64_t t = 0;
    int64_t now = mlc_now_ms() / 1000;
    if (!realm || strcmp(realm, s->account_id) != 0 || !ck || !tk || !method || !ts || !nonce ||
        !sig || (version && strcmp(version, "1.0") != 0) || strcmp(method, "HMAC-SHA256") != 0 ||
        strlen(nonce) < 6 || strlen(nonce) > 64 || mlc_parse_u64(ts, &t) != MLC_OK ||
        (int64_t)t < now - 300 || (int64_t)t > now + 300 ||
        !mlc_ct_equal(ck, strlen(ck), s->consumer_key, strlen(s->consumer_key)) ||
        !mlc_ct_equal(tk, strlen(tk), s->token_id, strlen(s->token_id)))
        goto out;
    struct qcollect q = {signed_p + ns, 0, 40};
    mlc_request_query_each(r, collect_query, &q);
    ns += q.n;
    char origin[300], url[2400];
    const char *bases[2] = {origin, s->base_url};
    request_origin(s, r, origin, sizeof origin);
    for (int b = 0; b < 2 && !ok; b++) {
        snprintf(url, sizeof url, "%s%s", bases[b], mlc_request_path(r));
        struct mlc_buf base;
        mlc_buf_init(&base, 65536);
        if (mlc_oauth1_base_string(mlc_request_method(r), url, signed_p, ns, &base) == MLC_OK)
            ok = mlc_oauth1_verify(base.data, s->consumer_secret, s->token_secret, sig);
        mlc_buf_free(&base);
    }
    if (ok && !nonce_fresh(s, (int64_t)t, nonce))
        ok = false;
out:
    mlc_oauth1_params_free(p, n);
    return ok;
}

bool ns_auth_check(struct ns_sandbox *s, struct mlc_request *r, const char *unused)
{
    const char *auth = mlc_request_header(r, "Authorization");
    if (!auth)
        return false;
    if (strncasecmp(auth, "Bearer ", 7) == 0) {
        const char *tok = auth + 7;
        while (*tok == ' ')
            tok++;
        return *tok && strlen(tok) < 8192 && bearer_valid(s, tok, mlc_now_ms() / 1000);
    }
    if (strncasecmp(auth, "OAuth ", 6) == 0)
        return tba_valid(s, r, auth);
    return false;
}
