/* Entra ID certificate credentials: the client assertion JWT (PS256, x5t#S256 thumbprint header).
 */
#include "mlc/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The header and claims Entra documents; signs with k when given, else with key_pem. */
static enum mlc_rc assertion(const uint8_t *thumb, size_t tl, const char *alg,
                             const struct mlc_pkey *k, const char *key_pem, const char *client_id,
                             const char *token_url, int64_t now_s, char **out, char *err,
                             size_t errsz)
{
    uint8_t rnd[16];
    if (mlc_random_bytes(rnd, sizeof rnd) != MLC_OK) {
        snprintf(err, errsz, "the random number generator failed");
        return MLC_ERR;
    }
    char jti[33];
    mlc_hex(rnd, sizeof rnd, jti);
    char *x5t = mlc_base64_encode(thumb, tl, true);
    json_t *hdr = json_pack("{s:s}", "x5t#S256", x5t);
    json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "aud", token_url, "iss",
                               client_id, "sub", client_id, "jti", jti, "nbf", (json_int_t)now_s,
                               "iat", (json_int_t)now_s, "exp", (json_int_t)(now_s + 600));
    /* Entra documents RS256 and PS256; PS256 is preferred for RSA keys, ES* for EC keys. */
    enum mlc_rc rc = k ? mlc_jwt_sign_pkey(alg, hdr, claims, k, out, err, errsz)
                       : mlc_jwt_sign_header(alg, hdr, claims, key_pem, out, err, errsz);
    json_decref(hdr);
    json_decref(claims);
    free(x5t);
    return rc;
}

enum mlc_rc mlc_entra_assertion(const char *cert_pem, const char *key_pem, const char *client_id,
                                const char *token_url, int64_t now_s, char **out, char *err,
                                size_t errsz)
{
    *out = NULL;
    uint8_t thumb[32];
    size_t tl = 0;
    if (!cert_pem || mlc_x509_thumbprint(cert_pem, true, thumb, &tl, err, errsz) != MLC_OK)
        return MLC_EINVAL;
    char alg[8];
    if (!key_pem || mlc_jwt_alg_for_key(key_pem, alg, sizeof alg) != MLC_OK) {
        snprintf(err, errsz, "the private key is not a PEM RSA or EC private key");
        return MLC_EINVAL;
    }
    return assertion(thumb, tl, alg, NULL, key_pem, client_id, token_url, now_s, out, err, errsz);
}

enum mlc_rc mlc_entra_assertion_pkey(const uint8_t thumb[32], const struct mlc_pkey *k,
                                     const char *alg, const char *client_id, const char *token_url,
                                     int64_t now_s, char **out, char *err, size_t errsz)
{
    *out = NULL;
    return assertion(thumb, 32, alg, k, NULL, client_id, token_url, now_s, out, err, errsz);
}
