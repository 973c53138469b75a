/* Crypto: the only user of OpenSSL. Constant-time compare, HMAC-SHA256, SHA-256, random. */
#ifndef MLC_CRYPTO_H
#define MLC_CRYPTO_H

#include "mlc/core.h"

/* Constant-time equality of two byte strings (time depends only on the lengths). */
bool mlc_ct_equal(const void *a, size_t alen, const void *b, size_t blen);
/* HMAC-SHA256 into out[32]. */
void mlc_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                     uint8_t out[32]);
/* SHA-256 into out[32]. */
void mlc_sha256(const void *msg, size_t len, uint8_t out[32]);
/* SHA-1 as 40 lower-case hex digits + NUL (Redis script ids only; not for security). */
void mlc_sha1_hex(const void *msg, size_t len, char out[41]);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void mlc_hex(const uint8_t *in, size_t n, char *out);
/* Cryptographically random bytes; MLC_ERR when the RNG fails. */
enum mlc_rc mlc_random_bytes(void *out, size_t n);
/* Wipes memory the compiler may not elide. */
void mlc_wipe(void *p, size_t n);

/* NetSuite webhook signature header `t=<unix>,v1=<hex>[,v1=<hex>...]`.
 * Verifies against any of the keys, |now - t| <= tolerance_s. Returns MLC_OK on a match,
 * MLC_EINVAL on a malformed header, MLC_ERR on a mismatch or a stale timestamp (detail in err). */
enum mlc_rc mlc_signature_verify(const char *header, const void *body, size_t bodylen,
                                 char *const *keys, size_t nkeys, int64_t now_s,
                                 int64_t tolerance_s, char *err, size_t errsz);
/* Parses just the header: timestamp and up to maxsig v1 signatures (32 bytes each). */
enum mlc_rc mlc_signature_parse(const char *header, int64_t *t, uint8_t (*sigs)[32],
                                size_t maxsig, size_t *nsig);

#endif
