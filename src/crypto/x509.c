/* Key pairs and X.509 certificates (a CA and TLS leaves for the sandbox, M2M certificates): PEM in
 * and out. */
#include "internal.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum mlc_rc ossl_fail(char *err, size_t errsz, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[160] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    snprintf(err, errsz, "%s%s%s", what, *buf ? ": " : "", buf);
    return MLC_ERR;
}

static char *bio_to_string(BIO *b)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    if (n < 0)
        n = 0;
    return mlc_strndup(p ? p : "", (size_t)n);
}

/* Loads a private key, else a public key, else a certificate's key, from PEM. */
static EVP_PKEY *load_any_key(const char *pem, bool *is_private)
{
    EVP_PKEY *k = NULL;
    BIO *b = BIO_new_mem_buf(pem, -1);
    if (!b)
        return NULL;
    if ((k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL))) {
        if (is_private)
            *is_private = true;
        goto out;
    }
    ERR_clear_error();
    (void)BIO_reset(b);
    if ((k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL)))
        goto out;
    ERR_clear_error();
    (void)BIO_reset(b);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    if (x) {
        k = X509_get_pubkey(x);
        X509_free(x);
    }
    ERR_clear_error();
out:
    BIO_free(b);
    return k;
}

EVP_PKEY *mlc_crypto_load_key(const char *pem, bool *is_private)
{
    bool priv = false;
    EVP_PKEY *k = load_any_key(pem, &priv);
    if (is_private)
        *is_private = priv;
    return k;
}

enum mlc_rc mlc_key_generate(enum mlc_key_type type, char **priv_pem, char **pub_pem, char *err,
                             size_t errsz)
{
    EVP_PKEY *k = NULL;
    switch (type) {
    case MLC_KEY_RSA3072:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
        break;
    case MLC_KEY_RSA4096:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
        break;
    case MLC_KEY_EC_P256:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        break;
    case MLC_KEY_EC_P384:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        break;
    case MLC_KEY_EC_P521:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
        break;
    }
    if (!k)
        return ossl_fail(err, errsz, "key generation failed");
    enum mlc_rc rc = MLC_OK;
    if (priv_pem) {
        BIO *b = BIO_new(BIO_s_mem());
        if (!b || !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) {
            BIO_free(b);
            rc = ossl_fail(err, errsz, "cannot write the private key");
            goto out;
        }
        *priv_pem = bio_to_string(b);
        BIO_free(b);
    }
    if (pub_pem) {
        BIO *b = BIO_new(BIO_s_mem());
        if (!b || !PEM_write_bio_PUBKEY(b, k)) {
            BIO_free(b);
            rc = ossl_fail(err, errsz, "cannot write the public key");
            goto out;
        }
        *pub_pem = bio_to_string(b);
        BIO_free(b);
    }
out:
    EVP_PKEY_free(k);
    return rc;
}

static bool add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ex)
        return false;
    int ok = X509_add_ext(cert, ex, -1);
    X509_EXTENSION_free(ex);
    return ok == 1;
}

/* Builds and signs a certificate: subject key `subj`, signed by `signer` under `issuer` (NULL for
 * self-signed). */
static enum mlc_rc build_cert(EVP_PKEY *subj, EVP_PKEY *signer, X509 *issuer,
                              const struct mlc_cert_spec *spec, char **cert_pem, char *err,
                              size_t errsz)
{
    enum mlc_rc rc = MLC_ERR;
    X509 *x = X509_new();
    BIGNUM *bn = BN_new();
    BIO *b = NULL;
    struct mlc_buf san;
    mlc_buf_init(&san, 8192);
    if (!x || !bn)
        goto fail;
    X509_set_version(x, 2);
    uint8_t serial[16];
    if (mlc_random_bytes(serial, sizeof serial) != MLC_OK)
        goto fail;
    serial[0] &= 0x7f; /* positive */
    serial[0] |= 0x01;
    if (!BN_bin2bn(serial, sizeof serial, bn) || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
        goto fail;
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), (long)(spec->days > 0 ? spec->days : 1) * 86400L);
    if (!X509_set_pubkey(x, subj))
        goto fail;
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               (const unsigned char *)"ml-connector sandbox", -1, -1, 0);
    X509_NAME_add_entry_by_txt(
        name, "CN", MBSTRING_ASC,
        (const unsigned char *)(spec->common_name ? spec->common_name : "ml-connector"), -1, -1, 0);
    if (!X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name))
        goto fail;
    X509 *iss = issuer ? issuer : x;
    if (!add_ext(x, iss, NID_subject_key_identifier, "hash"))
        goto fail;
    if (!add_ext(x, iss, NID_authority_key_identifier, "keyid:always"))
        goto fail;
    if (spec->is_ca) {
        if (!add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
            !add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"))
            goto fail;
    } else {
        if (!add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE") ||
            !add_ext(x, iss, NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
            !add_ext(x, iss, NID_ext_key_usage, "serverAuth,clientAuth"))
            goto fail;
        for (size_t i = 0; i < spec->ndns; i++)
            if (mlc_buf_printf(&san, "%sDNS:%s", san.len ? "," : "", spec->dns[i]) != MLC_OK)
                goto fail;
        for (size_t i = 0; i < spec->nips; i++)
            if (mlc_buf_printf(&san, "%sIP:%s", san.len ? "," : "", spec->ips[i]) != MLC_OK)
                goto fail;
        if (san.len && !add_ext(x, iss, NID_subject_alt_name, san.data))
            goto fail;
    }
    if (!X509_sign(x, signer, EVP_sha256()))
        goto fail;
    b = BIO_new(BIO_s_mem());
    if (!b || !PEM_write_bio_X509(b, x))
        goto fail;
    *cert_pem = bio_to_string(b);
    rc = MLC_OK;
    goto out;
fail:
    rc = ossl_fail(err, errsz, "cannot build the certificate");
out:
    mlc_buf_free(&san);
    BIO_free(b);
    BN_free(bn);
    X509_free(x);
    return rc;
}

enum mlc_rc mlc_x509_self_signed(const char *key_pem, const struct mlc_cert_spec *spec,
                                 char **cert_pem, char *err, size_t errsz)
{
    bool priv = false;
    EVP_PKEY *k = load_any_key(key_pem, &priv);
    if (!k || !priv) {
        EVP_PKEY_free(k);
        snprintf(err, errsz, "a self-signed certificate needs a private key PEM");
        return MLC_EINVAL;
    }
    enum mlc_rc rc = build_cert(k, k, NULL, spec, cert_pem, err, errsz);
    EVP_PKEY_free(k);
    return rc;
}

enum mlc_rc mlc_x509_issue(const char *ca_cert_pem, const char *ca_key_pem,
                           const char *subject_key_pem, const struct mlc_cert_spec *spec,
                           char **cert_pem, char *err, size_t errsz)
{
    enum mlc_rc rc = MLC_EINVAL;
    bool priv = false;
    EVP_PKEY *cak = load_any_key(ca_key_pem, &priv);
    EVP_PKEY *sk = load_any_key(subject_key_pem, NULL);
    BIO *b = BIO_new_mem_buf(ca_cert_pem, -1);
    X509 *ca = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    if (!cak || !priv || !sk || !ca) {
        ERR_clear_error();
        snprintf(err, errsz, "the CA certificate, CA private key or subject key is not valid PEM");
        goto out;
    }
    rc = build_cert(sk, cak, ca, spec, cert_pem, err, errsz);
out:
    X509_free(ca);
    BIO_free(b);
    EVP_PKEY_free(sk);
    EVP_PKEY_free(cak);
    return rc;
}

enum mlc_rc mlc_x509_public_key(const char *pem, char **pub_pem, char *err, size_t errsz)
{
    EVP_PKEY *k = load_any_key(pem, NULL);
    if (!k) {
        snprintf(err, errsz, "not a PEM key or certificate");
        return MLC_EINVAL;
    }
    enum mlc_rc rc = MLC_OK;
    BIO *b = BIO_new(BIO_s_mem());
    if (!b || !PEM_write_bio_PUBKEY(b, k))
        rc = ossl_fail(err, errsz, "cannot write the public key");
    else
        *pub_pem = bio_to_string(b);
    BIO_free(b);
    EVP_PKEY_free(k);
    return rc;
}

/* The first certificate of a PEM, or NULL with "not a PEM certificate" in err. */
static X509 *load_cert(const char *cert_pem, char *err, size_t errsz)
{
    BIO *b = BIO_new_mem_buf(cert_pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!x) {
        ERR_clear_error();
        snprintf(err, errsz, "not a PEM certificate");
    }
    return x;
}

enum mlc_rc mlc_x509_not_after(const char *cert_pem, int64_t *unix_s, char *err, size_t errsz)
{
    X509 *x = load_cert(cert_pem, err, errsz);
    if (!x)
        return MLC_EINVAL;
    struct tm tm;
    enum mlc_rc rc = MLC_OK;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
        rc = ossl_fail(err, errsz, "cannot read notAfter");
    } else {
        *unix_s = (int64_t)timegm(&tm);
    }
    X509_free(x);
    return rc;
}

enum mlc_rc mlc_key_describe(const char *pem, char *kty, size_t ktysz, int *bits, char *crv,
                             size_t crvsz)
{
    EVP_PKEY *k = load_any_key(pem, NULL);
    if (!k)
        return MLC_EINVAL;
    enum mlc_rc rc = MLC_OK;
    *bits = EVP_PKEY_get_bits(k);
    if (crvsz)
        crv[0] = '\0';
    if (EVP_PKEY_is_a(k, "RSA")) {
        snprintf(kty, ktysz, "RSA");
    } else if (EVP_PKEY_is_a(k, "EC")) {
        char group[64] = "";
        size_t gl = 0;
        snprintf(kty, ktysz, "EC");
        if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           &gl) != 1) {
            rc = MLC_EINVAL;
        } else if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
            snprintf(crv, crvsz, "P-256");
        } else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
            snprintf(crv, crvsz, "P-384");
        } else if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0) {
            snprintf(crv, crvsz, "P-521");
        } else {
            snprintf(crv, crvsz, "%s", group);
        }
    } else {
        snprintf(kty, ktysz, "%s", "other");
    }
    ERR_clear_error();
    EVP_PKEY_free(k);
    return rc;
}

enum mlc_rc mlc_x509_thumbprint(const char *cert_pem, bool sha256, uint8_t *out, size_t *outlen,
                                char *err, size_t errsz)
{
    X509 *x = load_cert(cert_pem, err, errsz);
    if (!x)
        return MLC_EINVAL;
    unsigned int n = 0;
    enum mlc_rc rc = MLC_OK;
    if (X509_digest(x, sha256 ? EVP_sha256() : EVP_sha1(), out, &n) != 1)
        rc = ossl_fail(err, errsz, "cannot digest the certificate");
    else
        *outlen = n;
    X509_free(x);
    return rc;
}
