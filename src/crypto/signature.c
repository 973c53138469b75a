/* The NetSuite webhook signature header: t=<unix>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>. */
#include "mlc/crypto.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIGS 8

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enum mlc_rc mlc_signature_parse(const char *header, int64_t *t, uint8_t (*sigs)[32],
                                size_t maxsig, size_t *nsig)
{
    bool have_t = false;
    *nsig = 0;
    if (!header || strlen(header) > 1024)
        return MLC_EINVAL;
    const char *p = header;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq)
            return MLC_EINVAL;
        size_t klen = (size_t)(eq - p);
        const char *v = eq + 1;
        const char *ve = end;
        while (ve > v && ve[-1] == ' ')
            ve--;
        size_t vlen = (size_t)(ve - v);
        if (klen == 1 && p[0] == 't') {
            if (have_t || vlen == 0 || vlen > 12)
                return MLC_EINVAL;
            int64_t x = 0;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return MLC_EINVAL;
                x = x * 10 + (v[i] - '0');
            }
            *t = x;
            have_t = true;
        } else if (klen == 2 && p[0] == 'v' && p[1] == '1') {
            if (vlen != 64)
                return MLC_EINVAL;
            /* Every v1 is checked, also those past maxsig: a header is well-formed or not. */
            uint8_t sig[32];
            for (size_t i = 0; i < 32; i++) {
                int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);
                if (hi < 0 || lo < 0)
                    return MLC_EINVAL;
                sig[i] = (uint8_t)(hi << 4 | lo);
            }
            if (*nsig < maxsig)
                memcpy(sigs[(*nsig)++], sig, 32);
        } else if (klen == 0) {
            return MLC_EINVAL;
        } /* other schemes are ignored, for forward compatibility */
        if (!comma)
            break;
        p = comma + 1;
    }
    return have_t && *nsig > 0 ? MLC_OK : MLC_EINVAL;
}

enum mlc_rc mlc_signature_verify(const char *header, const void *body, size_t bodylen,
                                 char *const *keys, size_t nkeys, int64_t now_s,
                                 int64_t tolerance_s, char *err, size_t errsz)
{
    int64_t t;
    uint8_t sigs[MAX_SIGS][32];
    size_t nsig;
    if (mlc_signature_parse(header, &t, sigs, MAX_SIGS, &nsig) != MLC_OK) {
        snprintf(err, errsz, "X-MLC-Signature is malformed (expected t=<unix>,v1=<hex>)");
        return MLC_EINVAL;
    }
    int64_t skew = now_s > t ? now_s - t : t - now_s;
    if (skew > tolerance_s) {
        snprintf(err, errsz, "X-MLC-Signature timestamp is outside the tolerance");
        return MLC_ERR;
    }
    char prefix[32];
    int pl = snprintf(prefix, sizeof prefix, "%lld.", (long long)t);
    size_t msglen = (size_t)pl + bodylen;
    uint8_t *msg = mlc_malloc(msglen);
    memcpy(msg, prefix, (size_t)pl);
    if (bodylen)
        memcpy(msg + pl, body, bodylen);
    bool ok = false;
    for (size_t k = 0; k < nkeys; k++) {
        uint8_t mac[32];
        mlc_hmac_sha256(keys[k], strlen(keys[k]), msg, msglen, mac);
        for (size_t s = 0; s < nsig; s++)
            ok |= CRYPTO_memcmp(mac, sigs[s], 32) == 0; /* no early exit: constant work */
        OPENSSL_cleanse(mac, sizeof mac);
    }
    free(msg);
    if (!ok)
        snprintf(err, errsz, "X-MLC-Signature does not match");
    return ok ? MLC_OK : MLC_ERR;
}
