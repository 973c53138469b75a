/* Internal to src/crypto/: key loading shared by x509.c and jwt.c. */
#ifndef MLC_CRYPTO_INTERNAL_H
#define MLC_CRYPTO_INTERNAL_H

#include "mlc/crypto.h"
#include <openssl/evp.h>

/* Loads a private key, else a public key, else a certificate's public key, from PEM.
 * *is_private (may be NULL) tells which. NULL when nothing parses. */
EVP_PKEY *mlc_crypto_load_key(const char *pem, bool *is_private);

#endif
