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

/* AES-256-GCM (aead.c): seal appends nonce(12) || ciphertext || tag(16) to out, with a random
 * 96-bit nonce; open checks the tag and appends the plaintext. aad is authenticated, not stored.
 * MLC_ERR from open: wrong key or altered value; MLC_EINVAL: too short to be sealed. */
enum mlc_rc mlc_aead_seal(const uint8_t key[32], const void *aad, size_t aadlen, const void *pt,
                          size_t ptlen, struct mlc_buf *out);
enum mlc_rc mlc_aead_open(const uint8_t key[32], const void *aad, size_t aadlen, const void *in,
                          size_t inlen, struct mlc_buf *pt);

/* NetSuite webhook signature header `t=<unix>,v1=<hex>[,v1=<hex>...]`.
 * Verifies against any of the keys, |now - t| <= tolerance_s. Returns MLC_OK on a match,
 * MLC_EINVAL on a malformed header, MLC_ERR on a mismatch or a stale timestamp (detail in err). */
enum mlc_rc mlc_signature_verify(const char *header, const void *body, size_t bodylen,
                                 char *const *keys, size_t nkeys, int64_t now_s,
                                 int64_t tolerance_s, char *err, size_t errsz);
/* Parses just the header: timestamp and up to maxsig v1 signatures (32 bytes each). */
enum mlc_rc mlc_signature_parse(const char *header, int64_t *t, uint8_t (*sigs)[32], size_t maxsig,
                                size_t *nsig);

#include <jansson.h> /* json_t claims for the JWT functions below */

/* ---- Base64 (jwt.c) ---- */
/* Encodes n bytes; url selects base64url without padding (JWS), else standard with padding.
 * Returns an owned NUL-terminated string. */
char *mlc_base64_encode(const void *in, size_t n, bool url);
/* Decodes into out (appended). url accepts base64url without padding; standard accepts optional
 * padding. MLC_EINVAL on a character outside the alphabet or a bad length. */
enum mlc_rc mlc_base64_decode(const char *in, size_t len, bool url, struct mlc_buf *out);

/* ---- Key pairs and X.509 certificates (x509.c); PEM in, PEM out ---- */
enum mlc_key_type {
    MLC_KEY_RSA3072,
    MLC_KEY_RSA4096,
    MLC_KEY_EC_P256,
    MLC_KEY_EC_P384,
    MLC_KEY_EC_P521
};
/* Generates a key pair. *priv_pem (PKCS#8) and *pub_pem (SubjectPublicKeyInfo) are owned;
 * either pointer may be NULL when not wanted. MLC_ERR with detail in err. */
enum mlc_rc mlc_key_generate(enum mlc_key_type type, char **priv_pem, char **pub_pem, char *err,
                             size_t errsz);
/* What a certificate says about itself. */
struct mlc_cert_spec {
    const char *common_name;
    int days;               /* validity from one hour ago */
    bool is_ca;             /* CA:TRUE, keyCertSign; else a TLS server/client leaf */
    const char *const *dns; /* subjectAltName DNS names (leaf only) */
    size_t ndns;
    const char *const *ips; /* subjectAltName IP addresses, v4 or v6 text (leaf only) */
    size_t nips;
};
/* Self-signed certificate for the key in key_pem. *cert_pem is owned. */
enum mlc_rc mlc_x509_self_signed(const char *key_pem, const struct mlc_cert_spec *spec,
                                 char **cert_pem, char *err, size_t errsz);
/* Certificate for subject_key_pem (a private or public key PEM) signed by the CA. */
enum mlc_rc mlc_x509_issue(const char *ca_cert_pem, const char *ca_key_pem,
                           const char *subject_key_pem, const struct mlc_cert_spec *spec,
                           char **cert_pem, char *err, size_t errsz);
/* The SubjectPublicKeyInfo PEM of a certificate, public key or private key PEM (owned). */
enum mlc_rc mlc_x509_public_key(const char *pem, char **pub_pem, char *err, size_t errsz);
/* notAfter of a certificate, Unix seconds. */
enum mlc_rc mlc_x509_not_after(const char *cert_pem, int64_t *unix_s, char *err, size_t errsz);
/* Thumbprint of a certificate's DER: SHA-1 (20 bytes, JOSE x5t) or SHA-256 (32 bytes, x5t#S256)
 * into out (>= 32 bytes); *outlen receives the length. */
enum mlc_rc mlc_x509_thumbprint(const char *cert_pem, bool sha256, uint8_t *out, size_t *outlen,
                                char *err, size_t errsz);
/* Key description of a PEM (private, public or certificate): "RSA" with bits, or "EC" with the
 * curve's JOSE name (P-256, P-384, P-521). */
enum mlc_rc mlc_key_describe(const char *pem, char *kty, size_t ktysz, int *bits, char *crv,
                             size_t crvsz);

/* ---- JWT / JWS compact serialisation (jwt.c) ---- */
/* Signs header {"alg","typ":"JWT"[,"kid"]} + claims (borrowed) with the private key PEM.
 * alg: PS256/384/512, ES256/384/512, or RS256 (signing only, for tests of refusal).
 * *out is owned. MLC_EINVAL for an alg that does not fit the key. */
enum mlc_rc mlc_jwt_sign(const char *alg, const char *kid, json_t *claims, const char *key_pem,
                         char **out, char *err, size_t errsz);
/* Like mlc_jwt_sign with more header members (borrowed, may be NULL): e.g. "x5t#S256". */
enum mlc_rc mlc_jwt_sign_header(const char *alg, json_t *extra, json_t *claims, const char *key_pem,
                                char **out, char *err, size_t errsz);
/* A private key parsed once, so that its PEM can be wiped right after start-up. */
struct mlc_pkey;
enum mlc_rc mlc_pkey_load(const char *pem, struct mlc_pkey **out, char *err, size_t errsz);
void mlc_pkey_free(struct mlc_pkey *k);
/* mlc_jwt_sign_header with a parsed key. */
enum mlc_rc mlc_jwt_sign_pkey(const char *alg, json_t *extra, json_t *claims,
                              const struct mlc_pkey *k, char **out, char *err, size_t errsz);
/* Entra ID client assertion (entra.c): PS256 JWT with "x5t#S256" (SHA-256 thumbprint of the
 * certificate), aud = token_url, iss = sub = client_id, a random jti, nbf = iat = now_s,
 * exp = now_s + 600. *out owned. MLC_EINVAL for a certificate or key that does not parse or fit. */
enum mlc_rc mlc_entra_assertion(const char *cert_pem, const char *key_pem, const char *client_id,
                                const char *token_url, int64_t now_s, char **out, char *err,
                                size_t errsz);

/* The same with the certificate's SHA-256 thumbprint and a parsed key (alg: PS256 for RSA, ES*
 * for EC, as mlc_jwt_alg_for_key chose at start). */
enum mlc_rc mlc_entra_assertion_pkey(const uint8_t thumb[32], const struct mlc_pkey *k,
                                     const char *alg, const char *client_id, const char *token_url,
                                     int64_t now_s, char **out, char *err, size_t errsz);

/* Decodes the header without verifying (to pick the key by kid). *header is owned. */
enum mlc_rc mlc_jwt_peek_header(const char *jwt, json_t **header, char *err, size_t errsz);
/* Verifies a compact JWS against a public key, certificate or private key PEM. Only PS256/384/512
 * and ES256/384/512 are accepted (RS256, HS*, none are refused), the alg must fit the key (ES256
 * needs P-256, ...), and PSS uses a salt as long as the digest. On success *header and *claims
 * (either may be NULL) are owned. MLC_EINVAL: malformed; MLC_ERR: refused alg or bad signature
 * (detail in err). Claims are not checked here: that is the caller's policy. */
enum mlc_rc mlc_jwt_verify(const char *jwt, const char *key_pem, json_t **header, json_t **claims,
                           char *err, size_t errsz);
/* Like mlc_jwt_verify, but RS256 (PKCS#1 v1.5) is accepted too: Entra ID takes RS256 client
 * assertions, so the emulated Entra needs it. */
enum mlc_rc mlc_jwt_verify_rs256_ok(const char *jwt, const char *key_pem, json_t **header,
                                    json_t **claims, char *err, size_t errsz);
/* The default JWS alg for a key PEM: PS256 for RSA, ES256/ES384/ES512 for P-256/384/521. */
enum mlc_rc mlc_jwt_alg_for_key(const char *key_pem, char *alg, size_t algsz);

/* ---- OAuth 1.0a with HMAC-SHA256 (oauth1.c), RFC 5849 ---- */
struct mlc_oauth1_param {
    const char *k; /* decoded; owned only when returned by mlc_oauth1_parse_header */
    const char *v;
};
/* RFC 5849 section 3.6 percent-encoding of s, appended to out. */
enum mlc_rc mlc_oauth1_encode(const char *s, struct mlc_buf *out);
/* Signature base string: METHOD & enc(base_url) & enc(normalised params). base_url is scheme,
 * host (port only when not default) and path, no query. Params are decoded key/value pairs
 * (oauth_* without realm and oauth_signature, plus query parameters); they are sorted here. */
enum mlc_rc mlc_oauth1_base_string(const char *method, const char *base_url,
                                   const struct mlc_oauth1_param *params, size_t n,
                                   struct mlc_buf *out);
/* base64(HMAC-SHA256(enc(consumer_secret) & enc(token_secret), base)) into out (>= 48 bytes). */
void mlc_oauth1_sign(const char *base, const char *consumer_secret, const char *token_secret,
                     char out[48]);
/* Constant-time check of a base64 signature. */
bool mlc_oauth1_verify(const char *base, const char *consumer_secret, const char *token_secret,
                       const char *signature_b64);
/* Parses `Authorization: OAuth k="v", ...` into decoded pairs (realm included). *out is owned:
 * free with mlc_oauth1_params_free. MLC_EINVAL when malformed (more than 32 pairs included). */
enum mlc_rc mlc_oauth1_parse_header(const char *header, struct mlc_oauth1_param **out, size_t *n);
void mlc_oauth1_params_free(struct mlc_oauth1_param *p, size_t n);
/* Percent-decodes [s, s+n) (RFC 3986 escapes; '+' stays '+'). Owned; NULL for a broken escape. */
char *mlc_oauth1_decode(const char *s, size_t n);
/* Builds the Authorization header value for a request (client side and tests): realm (not
 * signed), the oauth_* values and signature. query: decoded query parameters to sign. *out owned.
 */
enum mlc_rc mlc_oauth1_authorization(const char *method, const char *base_url,
                                     const struct mlc_oauth1_param *query, size_t nquery,
                                     const char *realm, const char *consumer_key,
                                     const char *consumer_secret, const char *token_id,
                                     const char *token_secret, const char *nonce, int64_t timestamp,
                                     char **out);

#endif
