/* Crypto primitives over OpenSSL: constant-time compare, SHA-256, HMAC-SHA256, random, wipe. */
#include "mlc/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

bool mlc_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    /* Hash both sides so the comparison time reveals neither content nor the secret's length. */
    uint8_t ha[32], hb[32];
    mlc_sha256(a, alen, ha);
    mlc_sha256(b, blen, hb);
    int diff = CRYPTO_memcmp(ha, hb, 32);
    return diff == 0 && alen == blen;
}

void mlc_sha256(const void *msg, size_t len, uint8_t out[32])
{
    SHA256(msg, len, out);
}

void mlc_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                     uint8_t out[32])
{
    unsigned int outlen = 32;
    HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out, &outlen);
}

void mlc_sha1_hex(const void *msg, size_t len, char out[41])
{
    uint8_t d[20];
    SHA1(msg, len, d);
    mlc_hex(d, 20, out);
}

void mlc_hex(const uint8_t *in, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = '\0';
}

enum mlc_rc mlc_random_bytes(void *out, size_t n)
{
    return RAND_bytes(out, (int)n) == 1 ? MLC_OK : MLC_ERR;
}

void mlc_wipe(void *p, size_t n)
{
    if (p)
        OPENSSL_cleanse(p, n);
}
