/* AES-256-GCM sealing of small values (credentials at rest): nonce(12) || ciphertext || tag(16). */
#include "mlc/crypto.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

enum { NONCE = 12, TAG = 16 };

enum mlc_rc mlc_aead_seal(const uint8_t key[32], const void *aad, size_t aadlen, const void *pt,
                          size_t ptlen, struct mlc_buf *out)
{
    if (ptlen > (1u << 24) || aadlen > (1u << 16))
        return MLC_EINVAL;
    uint8_t nonce[NONCE], tag[TAG];
    if (mlc_random_bytes(nonce, sizeof nonce) != MLC_OK)
        return MLC_ERR;
    uint8_t *ct = mlc_malloc(ptlen + 1);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    enum mlc_rc rc = MLC_ERR;
    if (c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1 &&
        EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) == 1 &&
        (aadlen == 0 || EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen) == 1) &&
        EVP_EncryptUpdate(c, ct, &n, pt, (int)ptlen) == 1 &&
        EVP_EncryptFinal_ex(c, ct + n, &fin) == 1 &&
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, tag) == 1) {
        rc = mlc_buf_append(out, nonce, NONCE);
        if (rc == MLC_OK)
            rc = mlc_buf_append(out, ct, (size_t)(n + fin));
        if (rc == MLC_OK)
            rc = mlc_buf_append(out, tag, TAG);
    }
    EVP_CIPHER_CTX_free(c);
    mlc_wipe(ct, ptlen);
    free(ct);
    return rc;
}

enum mlc_rc mlc_aead_open(const uint8_t key[32], const void *aad, size_t aadlen, const void *in,
                          size_t inlen, struct mlc_buf *pt)
{
    if (inlen < NONCE + TAG || inlen > (1u << 24) || aadlen > (1u << 16))
        return MLC_EINVAL;
    const uint8_t *nonce = in, *ct = nonce + NONCE;
    size_t ctlen = inlen - NONCE - TAG;
    uint8_t tag[TAG];
    memcpy(tag, ct + ctlen, TAG);
    uint8_t *out = mlc_malloc(ctlen + 1);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    enum mlc_rc rc = MLC_ERR; /* a wrong key or an altered value fails the tag check */
    if (c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1 &&
        EVP_DecryptInit_ex(c, NULL, NULL, key, nonce) == 1 &&
        (aadlen == 0 || EVP_DecryptUpdate(c, NULL, &n, aad, (int)aadlen) == 1) &&
        EVP_DecryptUpdate(c, out, &n, ct, (int)ctlen) == 1 &&
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, tag) == 1 &&
        EVP_DecryptFinal_ex(c, out + n, &fin) == 1)
        rc = mlc_buf_append(pt, out, (size_t)(n + fin));
    EVP_CIPHER_CTX_free(c);
    mlc_wipe(out, ctlen);
    free(out);
    return rc;
}
