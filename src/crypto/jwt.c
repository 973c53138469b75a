/* JWT (compact JWS) sign and verify for PS256/384/512 and ES256/384/512, and base64/base64url. */
#include "internal.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JWT_MAX 16384 /* a client assertion is a few hundred bytes; refuse anything huge */

char *mlc_base64_encode(const void *in, size_t n, bool url)
{
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char uri[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *a = url ? uri : std;
    const uint8_t *p = in;
    char *out = mlc_malloc(4 * ((n + 2) / 3) + 1);
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = a[v >> 6 & 63];
        out[o++] = a[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = a[v >> 6 & 63];
        else if (!url)
            out[o++] = '=';
        if (!url)
            out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

static int b64val(char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

enum mlc_rc mlc_base64_decode(const char *in, size_t len, bool url, struct mlc_buf *out)
{
    if (!url) {
        /* Standard alphabet: padding optional, but only at the end and only to a full quantum. */
        size_t pad = 0;
        while (len > 0 && in[len - 1] == '=' && pad < 2) {
            len--;
            pad++;
        }
        if (pad && (len + pad) % 4 != 0)
            return MLC_EINVAL;
    }
    if (len % 4 == 1)
        return MLC_EINVAL;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val(in[i], url);
        if (v < 0)
            return MLC_EINVAL;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            uint8_t byte = (uint8_t)(acc >> bits);
            if (mlc_buf_append(out, &byte, 1) != MLC_OK)
                return MLC_ENOMEM;
        }
    }
    /* Leftover bits must be zero (canonical encoding). */
    if (bits && (acc & ((1u << bits) - 1)))
        return MLC_EINVAL;
    return MLC_OK;
}

struct alg_def {
    const char *name;
    const char *md;
    bool pss; /* RSA-PSS; else ECDSA, or PKCS#1 v1.5 for RS256 */
    bool ec;
    const char *crv; /* EC curve required */
    int coord;       /* EC coordinate length in bytes */
    bool verify_ok;  /* accepted when verifying */
};

static const struct alg_def algs[] = {
    {"PS256", "SHA256", true, false, NULL, 0, true},
    {"PS384", "SHA384", true, false, NULL, 0, true},
    {"PS512", "SHA512", true, false, NULL, 0, true},
    {"ES256", "SHA256", false, true, "P-256", 32, true},
    {"ES384", "SHA384", false, true, "P-384", 48, true},
    {"ES512", "SHA512", false, true, "P-521", 66, true},
    {"RS256", "SHA256", false, false, NULL, 0, false},
};

static const struct alg_def *find_alg(const char *name)
{
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (strcmp(algs[i].name, name) == 0)
            return &algs[i];
    return NULL;
}

/* Checks that the key fits the algorithm (RSA >= 2048 bits for PS, the right curve for ES). */
static bool key_fits(EVP_PKEY *k, const struct alg_def *a, char *err, size_t errsz)
{
    if (a->ec) {
        char group[64] = "";
        size_t gl = 0;
        if (!EVP_PKEY_is_a(k, "EC") ||
            EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof group, &gl) != 1) {
            snprintf(err, errsz, "%s needs an EC key", a->name);
            return false;
        }
        const char *want = strcmp(a->crv, "P-256") == 0   ? "prime256v1"
                           : strcmp(a->crv, "P-384") == 0 ? "secp384r1"
                                                          : "secp521r1";
        if (strcmp(group, want) != 0) {
            snprintf(err, errsz, "%s needs a %s key", a->name, a->crv);
            return false;
        }
        return true;
    }
    if (!EVP_PKEY_is_a(k, "RSA")) {
        snprintf(err, errsz, "%s needs an RSA key", a->name);
        return false;
    }
    if (EVP_PKEY_get_bits(k) < 2048) {
        snprintf(err, errsz, "RSA keys under 2048 bits are refused");
        return false;
    }
    return true;
}

static EVP_MD_CTX *digest_ctx(EVP_PKEY *k, const struct alg_def *a, bool sign)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (!ctx)
        return NULL;
    int ok = sign ? EVP_DigestSignInit_ex(ctx, &pctx, a->md, NULL, NULL, k, NULL)
                  : EVP_DigestVerifyInit_ex(ctx, &pctx, a->md, NULL, NULL, k, NULL);
    if (ok != 1)
        goto fail;
    if (a->pss) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, a->md, NULL) != 1)
            goto fail;
    } else if (!a->ec) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
            goto fail;
    }
    return ctx;
fail:
    EVP_MD_CTX_free(ctx);
    return NULL;
}

static char *b64url_json(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        return NULL;
    char *e = mlc_base64_encode(s, strlen(s), true);
    free(s);
    return e;
}

enum mlc_rc mlc_jwt_alg_for_key(const char *key_pem, char *alg, size_t algsz)
{
    char kty[16], crv[16];
    int bits = 0;
    if (mlc_key_describe(key_pem, kty, sizeof kty, &bits, crv, sizeof crv) != MLC_OK)
        return MLC_EINVAL;
    if (strcmp(kty, "RSA") == 0)
        snprintf(alg, algsz, "PS256");
    else if (strcmp(crv, "P-256") == 0)
        snprintf(alg, algsz, "ES256");
    else if (strcmp(crv, "P-384") == 0)
        snprintf(alg, algsz, "ES384");
    else if (strcmp(crv, "P-521") == 0)
        snprintf(alg, algsz, "ES512");
    else
        return MLC_EINVAL;
    return MLC_OK;
}

enum mlc_rc mlc_jwt_sign(const char *alg, const char *kid, json_t *claims, const char *key_pem,
                         char **out, char *err, size_t errsz)
{
    json_t *extra = kid ? json_pack("{s:s}", "kid", kid) : NULL;
    enum mlc_rc rc = mlc_jwt_sign_header(alg, extra, claims, key_pem, out, err, errsz);
    json_decref(extra);
    return rc;
}

struct mlc_pkey {
    EVP_PKEY *k;
};

enum mlc_rc mlc_pkey_load(const char *pem, struct mlc_pkey **out, char *err, size_t errsz)
{
    bool priv = false;
    EVP_PKEY *k = pem ? mlc_crypto_load_key(pem, &priv) : NULL;
    if (!k || !priv) {
        EVP_PKEY_free(k);
        ERR_clear_error();
        snprintf(err, errsz, "not a PEM private key");
        return MLC_EINVAL;
    }
    *out = mlc_calloc(1, sizeof **out);
    (*out)->k = k;
    return MLC_OK;
}

void mlc_pkey_free(struct mlc_pkey *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->k);
    free(k);
}

static enum mlc_rc sign_with(const char *alg, json_t *extra, json_t *claims, EVP_PKEY *k,
                             char **out, char *err, size_t errsz);

enum mlc_rc mlc_jwt_sign_header(const char *alg, json_t *extra, json_t *claims, const char *key_pem,
                                char **out, char *err, size_t errsz)
{
    struct mlc_pkey *k = NULL;
    if (mlc_pkey_load(key_pem, &k, err, errsz) != MLC_OK) {
        snprintf(err, errsz, "the signing key is not a PEM private key");
        return MLC_EINVAL;
    }
    enum mlc_rc rc = sign_with(alg, extra, claims, k->k, out, err, errsz);
    mlc_pkey_free(k);
    return rc;
}

enum mlc_rc mlc_jwt_sign_pkey(const char *alg, json_t *extra, json_t *claims,
                              const struct mlc_pkey *k, char **out, char *err, size_t errsz)
{
    return sign_with(alg, extra, claims, k->k, out, err, errsz);
}

static enum mlc_rc sign_with(const char *alg, json_t *extra, json_t *claims, EVP_PKEY *k,
                             char **out, char *err, size_t errsz)
{
    enum mlc_rc rc = MLC_EINVAL;
    const struct alg_def *a = find_alg(alg ? alg : "");
    EVP_MD_CTX *ctx = NULL;
    char *h64 = NULL, *c64 = NULL, *s64 = NULL;
    uint8_t *sig = NULL;
    ECDSA_SIG *es = NULL;
    struct mlc_buf input;
    mlc_buf_init(&input, JWT_MAX);
    if (!a) {
        snprintf(err, errsz, "unsupported alg '%s'", alg ? alg : "");
        goto out;
    }
    if (!key_fits(k, a, err, errsz))
        goto out;
    json_t *hdr = json_pack("{s:s, s:s}", "alg", a->name, "typ", "JWT");
    if (json_is_object(extra))
        json_object_update(hdr, extra);
    h64 = b64url_json(hdr);
    json_decref(hdr);
    c64 = b64url_json(claims);
    if (!h64 || !c64) {
        snprintf(err, errsz, "claims are not serialisable JSON");
        goto out;
    }
    if (mlc_buf_printf(&input, "%s.%s", h64, c64) != MLC_OK) {
        snprintf(err, errsz, "claims too large");
        goto out;
    }
    rc = MLC_ERR;
    ctx = digest_ctx(k, a, true);
    size_t siglen = 0;
    if (!ctx || EVP_DigestSign(ctx, NULL, &siglen, (const uint8_t *)input.data, input.len) != 1)
        goto ossl;
    sig = mlc_malloc(siglen);
    if (EVP_DigestSign(ctx, sig, &siglen, (const uint8_t *)input.data, input.len) != 1)
        goto ossl;
    if (a->ec) {
        /* DER ECDSA-Sig-Value -> the fixed-length r || s JWS wants (RFC 7518 3.4). */
        const uint8_t *p = sig;
        es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
        if (!es)
            goto ossl;
        uint8_t raw[132];
        const BIGNUM *r = NULL, *s = NULL;
        ECDSA_SIG_get0(es, &r, &s);
        if (BN_bn2binpad(r, raw, a->coord) != a->coord ||
            BN_bn2binpad(s, raw + a->coord, a->coord) != a->coord)
            goto ossl;
        s64 = mlc_base64_encode(raw, (size_t)(2 * a->coord), true);
    } else {
        s64 = mlc_base64_encode(sig, siglen, true);
    }
    if (mlc_buf_printf(&input, ".%s", s64) != MLC_OK)
        goto ossl;
    *out = mlc_strdup(input.data);
    rc = MLC_OK;
    goto out;
ossl:
    snprintf(err, errsz, "signing failed");
    ERR_clear_error();
out:
    ECDSA_SIG_free(es);
    free(sig);
    free(h64);
    free(c64);
    free(s64);
    EVP_MD_CTX_free(ctx);
    mlc_buf_free(&input);
    return rc;
}

/* Splits and decodes the three parts; header and claims must be JSON objects. */
static enum mlc_rc split(const char *jwt, json_t **header, json_t **claims, struct mlc_buf *sig,
                         size_t *signed_len, char *err, size_t errsz)
{
    size_t n = strlen(jwt);
    if (n == 0 || n > JWT_MAX) {
        snprintf(err, errsz, "the JWT is empty or too long");
        return MLC_EINVAL;
    }
    const char *d1 = strchr(jwt, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.')) {
        snprintf(err, errsz, "a JWT has three dot-separated parts");
        return MLC_EINVAL;
    }
    struct mlc_buf h, c;
    mlc_buf_init(&h, JWT_MAX);
    mlc_buf_init(&c, JWT_MAX);
    enum mlc_rc rc = MLC_EINVAL;
    json_t *hj = NULL, *cj = NULL;
    if (mlc_base64_decode(jwt, (size_t)(d1 - jwt), true, &h) != MLC_OK ||
        (claims && mlc_base64_decode(d1 + 1, (size_t)(d2 - d1 - 1), true, &c) != MLC_OK) ||
        (sig && mlc_base64_decode(d2 + 1, strlen(d2 + 1), true, sig) != MLC_OK)) {
        snprintf(err, errsz, "a JWT part is not base64url");
        goto out;
    }
    hj = json_loadb(h.data ? h.data : "", h.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(hj)) {
        snprintf(err, errsz, "the JWT header is not a JSON object");
        goto out;
    }
    if (claims) {
        cj = json_loadb(c.data ? c.data : "", c.len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(cj)) {
            snprintf(err, errsz, "the JWT claims are not a JSON object");
            goto out;
        }
    }
    if (signed_len)
        *signed_len = (size_t)(d2 - jwt);
    *header = hj;
    hj = NULL;
    if (claims) {
        *claims = cj;
        cj = NULL;
    }
    rc = MLC_OK;
out:
    json_decref(hj);
    json_decref(cj);
    mlc_buf_free(&h);
    mlc_buf_free(&c);
    return rc;
}

enum mlc_rc mlc_jwt_peek_header(const char *jwt, json_t **header, char *err, size_t errsz)
{
    return split(jwt, header, NULL, NULL, NULL, err, errsz);
}

static enum mlc_rc verify_impl(const char *jwt, const char *key_pem, bool allow_rs256,
                               json_t **header, json_t **claims, char *err, size_t errsz);

enum mlc_rc mlc_jwt_verify(const char *jwt, const char *key_pem, json_t **header, json_t **claims,
                           char *err, size_t errsz)
{
    return verify_impl(jwt, key_pem, false, header, claims, err, errsz);
}

enum mlc_rc mlc_jwt_verify_rs256_ok(const char *jwt, const char *key_pem, json_t **header,
                                    json_t **claims, char *err, size_t errsz)
{
    return verify_impl(jwt, key_pem, true, header, claims, err, errsz);
}

static enum mlc_rc verify_impl(const char *jwt, const char *key_pem, bool allow_rs256,
                               json_t **header, json_t **claims, char *err, size_t errsz)
{
    json_t *h = NULL, *c = NULL;
    struct mlc_buf sig;
    mlc_buf_init(&sig, JWT_MAX);
    size_t signed_len = 0;
    EVP_PKEY *k = NULL;
    EVP_MD_CTX *ctx = NULL;
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    uint8_t *der = NULL;
    enum mlc_rc rc = split(jwt, &h, &c, &sig, &signed_len, err, errsz);
    if (rc != MLC_OK)
        goto out;
    rc = MLC_ERR;
    const char *alg = json_string_value(json_object_get(h, "alg"));
    const struct alg_def *a = find_alg(alg ? alg : "");
    if (!a || !(a->verify_ok || (allow_rs256 && strcmp(a->name, "RS256") == 0))) {
        snprintf(err, errsz, "alg '%.16s' is not accepted (PS256/384/512 or ES256/384/512)",
                 alg ? alg : "");
        goto out;
    }
    k = mlc_crypto_load_key(key_pem, NULL);
    if (!k) {
        snprintf(err, errsz, "the verification key is not a PEM key or certificate");
        goto out;
    }
    if (!key_fits(k, a, err, errsz))
        goto out;
    const uint8_t *sp = (const uint8_t *)(sig.data ? sig.data : "");
    size_t sl = sig.len;
    int derlen = 0;
    if (a->ec) {
        if (sl != (size_t)(2 * a->coord)) {
            snprintf(err, errsz, "an %s signature is %d bytes", a->name, 2 * a->coord);
            goto out;
        }
        es = ECDSA_SIG_new();
        r = BN_bin2bn(sp, a->coord, NULL);
        s = BN_bin2bn(sp + a->coord, a->coord, NULL);
        if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1)
            goto bad;
        r = s = NULL; /* owned by es now */
        derlen = i2d_ECDSA_SIG(es, &der);
        if (derlen <= 0)
            goto bad;
        sp = der;
        sl = (size_t)derlen;
    }
    ctx = digest_ctx(k, a, false);
    if (!ctx)
        goto bad;
    if (EVP_DigestVerify(ctx, sp, sl, (const uint8_t *)jwt, signed_len) != 1)
        goto bad;
    rc = MLC_OK;
    if (header) {
        *header = h;
        h = NULL;
    }
    if (claims) {
        *claims = c;
        c = NULL;
    }
    goto out;
bad:
    snprintf(err, errsz, "the signature does not verify");
    rc = MLC_ERR;
out:
    ERR_clear_error();
    OPENSSL_free(der);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    mlc_buf_free(&sig);
    json_decref(h);
    json_decref(c);
    return rc;
}
