/* OAuth 1.0a (RFC 5849) with HMAC-SHA256: percent-encoding, base string, signing, header parsing.
 */
#include "mlc/crypto.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PARAMS 32
#define MAX_HEADER 8192

enum mlc_rc mlc_oauth1_encode(const char *s, struct mlc_buf *out)
{
    static const char hx[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        enum mlc_rc rc;
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            rc = mlc_buf_append(out, p, 1);
        } else {
            char e[3] = {'%', hx[*p >> 4], hx[*p & 15]};
            rc = mlc_buf_append(out, e, 3);
        }
        if (rc != MLC_OK)
            return rc;
    }
    return MLC_OK;
}

struct enc_pair {
    char *k, *v; /* encoded */
};

static int cmp_pair(const void *a, const void *b)
{
    const struct enc_pair *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

static char *enc_dup(const char *s)
{
    struct mlc_buf b;
    mlc_buf_init(&b, 3 * strlen(s) + 1);
    mlc_oauth1_encode(s, &b);
    char *r = mlc_strdup(b.data ? b.data : "");
    mlc_buf_free(&b);
    return r;
}

enum mlc_rc mlc_oauth1_base_string(const char *method, const char *base_url,
                                   const struct mlc_oauth1_param *params, size_t n,
                                   struct mlc_buf *out)
{
    enum mlc_rc rc = MLC_OK;
    struct enc_pair *e = mlc_calloc(n ? n : 1, sizeof *e);
    struct mlc_buf norm;
    mlc_buf_init(&norm, out->max ? out->max : 65536);
    for (size_t i = 0; i < n; i++) {
        e[i].k = enc_dup(params[i].k);
        e[i].v = enc_dup(params[i].v ? params[i].v : "");
    }
    qsort(e, n, sizeof *e, cmp_pair);
    for (size_t i = 0; i < n && rc == MLC_OK; i++)
        rc = mlc_buf_printf(&norm, "%s%s=%s", i ? "&" : "", e[i].k, e[i].v);
    for (const char *m = method; *m && rc == MLC_OK; m++) {
        char c = (char)toupper((unsigned char)*m);
        rc = mlc_buf_append(out, &c, 1);
    }
    if (rc == MLC_OK)
        rc = mlc_buf_append(out, "&", 1);
    if (rc == MLC_OK)
        rc = mlc_oauth1_encode(base_url, out);
    if (rc == MLC_OK)
        rc = mlc_buf_append(out, "&", 1);
    if (rc == MLC_OK)
        rc = mlc_oauth1_encode(norm.data ? norm.data : "", out);
    for (size_t i = 0; i < n; i++) {
        free(e[i].k);
        free(e[i].v);
    }
    free(e);
    mlc_buf_free(&norm);
    return rc;
}

void mlc_oauth1_sign(const char *base, const char *consumer_secret, const char *token_secret,
                     char out[48])
{
    struct mlc_buf key;
    mlc_buf_init(&key, 4096);
    mlc_oauth1_encode(consumer_secret ? consumer_secret : "", &key);
    mlc_buf_append(&key, "&", 1);
    mlc_oauth1_encode(token_secret ? token_secret : "", &key);
    uint8_t mac[32];
    mlc_hmac_sha256(key.data, key.len, base, strlen(base), mac);
    mlc_wipe(key.data, key.len);
    mlc_buf_free(&key);
    char *b = mlc_base64_encode(mac, sizeof mac, false);
    snprintf(out, 48, "%s", b);
    free(b);
}

bool mlc_oauth1_verify(const char *base, const char *consumer_secret, const char *token_secret,
                       const char *signature_b64)
{
    char want[48];
    mlc_oauth1_sign(base, consumer_secret, token_secret, want);
    return mlc_ct_equal(want, strlen(want), signature_b64, strlen(signature_b64));
}

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

/* Percent-decodes [s, s+n); NULL when a %-escape is broken. */
static char *pct_decode(const char *s, size_t n)
{
    char *o = mlc_malloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int a = i + 2 < n ? hexv(s[i + 1]) : -1, b = i + 2 < n ? hexv(s[i + 2]) : -1;
            if (a < 0 || b < 0) {
                free(o);
                return NULL;
            }
            o[j++] = (char)(a << 4 | b);
            i += 2;
        } else {
            o[j++] = s[i];
        }
    }
    o[j] = '\0';
    return o;
}

char *mlc_oauth1_decode(const char *s, size_t n)
{
    return pct_decode(s, n);
}

void mlc_oauth1_params_free(struct mlc_oauth1_param *p, size_t n)
{
    if (!p)
        return;
    for (size_t i = 0; i < n; i++) {
        char *k = (char *)(uintptr_t)p[i].k, *v = (char *)(uintptr_t)p[i].v;
        free(k);
        if (v)
            mlc_wipe(v, strlen(v));
        free(v);
    }
    free(p);
}

enum mlc_rc mlc_oauth1_parse_header(const char *header, struct mlc_oauth1_param **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!header || strlen(header) > MAX_HEADER)
        return MLC_EINVAL;
    const char *p = header;
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "OAuth", 5) != 0 || (p[5] != ' ' && p[5] != '\0'))
        return MLC_EINVAL;
    p += 5;
    struct mlc_oauth1_param *ps = mlc_calloc(MAX_PARAMS, sizeof *ps);
    size_t np = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *ks = p;
        while (*p && *p != '=' && *p != ',' && *p != ' ')
            p++;
        size_t kl = (size_t)(p - ks);
        if (*p != '=' || kl == 0 || np == MAX_PARAMS)
            goto bad;
        p++;
        if (*p != '"')
            goto bad;
        const char *vs = ++p;
        while (*p && *p != '"')
            p++;
        if (*p != '"')
            goto bad;
        size_t vl = (size_t)(p - vs);
        p++;
        ps[np].k = pct_decode(ks, kl);
        ps[np].v = pct_decode(vs, vl);
        np++;
        if (!ps[np - 1].k || !ps[np - 1].v)
            goto bad;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == ',')
            p++;
        else if (*p)
            goto bad;
    }
    *out = ps;
    *n = np;
    return MLC_OK;
bad:
    mlc_oauth1_params_free(ps, np);
    return MLC_EINVAL;
}

enum mlc_rc mlc_oauth1_authorization(const char *method, const char *base_url,
                                     const struct mlc_oauth1_param *query, size_t nquery,
                                     const char *realm, const char *consumer_key,
                                     const char *consumer_secret, const char *token_id,
                                     const char *token_secret, const char *nonce, int64_t timestamp,
                                     char **out)
{
    if (nquery > MAX_PARAMS)
        return MLC_EINVAL;
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)timestamp);
    struct mlc_oauth1_param ps[MAX_PARAMS + 6];
    size_t n = 0;
    ps[n++] = (struct mlc_oauth1_param){"oauth_consumer_key", consumer_key};
    ps[n++] = (struct mlc_oauth1_param){"oauth_token", token_id};
    ps[n++] = (struct mlc_oauth1_param){"oauth_signature_method", "HMAC-SHA256"};
    ps[n++] = (struct mlc_oauth1_param){"oauth_timestamp", ts};
    ps[n++] = (struct mlc_oauth1_param){"oauth_nonce", nonce};
    ps[n++] = (struct mlc_oauth1_param){"oauth_version", "1.0"};
    for (size_t i = 0; i < nquery; i++)
        ps[n++] = query[i];
    struct mlc_buf base, h;
    mlc_buf_init(&base, 65536);
    mlc_buf_init(&h, 16384);
    enum mlc_rc rc = mlc_oauth1_base_string(method, base_url, ps, n, &base);
    if (rc != MLC_OK)
        goto out;
    char sig[48];
    mlc_oauth1_sign(base.data, consumer_secret, token_secret, sig);
    rc = mlc_buf_printf(&h, "OAuth realm=\"");
    if (rc == MLC_OK)
        rc = mlc_oauth1_encode(realm ? realm : "", &h);
    for (size_t i = 0; i < 6 && rc == MLC_OK; i++) {
        rc = mlc_buf_printf(&h, "\",%s=\"", ps[i].k);
        if (rc == MLC_OK)
            rc = mlc_oauth1_encode(ps[i].v, &h);
    }
    if (rc == MLC_OK)
        rc = mlc_buf_printf(&h, "\",oauth_signature=\"");
    if (rc == MLC_OK)
        rc = mlc_oauth1_encode(sig, &h);
    if (rc == MLC_OK)
        rc = mlc_buf_append(&h, "\"", 1);
    if (rc == MLC_OK)
        *out = mlc_strdup(h.data);
out:
    mlc_buf_free(&base);
    mlc_buf_free(&h);
    return rc;
}
