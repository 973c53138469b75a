/* Credentials at rest: the key ring (MLC_MASTER_KEY), enc:v1 values, and the plaintext rule. */
#ifndef MLC_SECRETS_H
#define MLC_SECRETS_H

#include "mlc/config.h"

#define MLC_KEYRING_MAX 16

/* Parsed key ring: one `kid:base64key` a line (32-byte AES-256 keys); the first encrypts, all
 * decrypt. Wipe with mlc_keyring_wipe. */
struct mlc_keyring {
    size_t n;
    struct {
        char kid[33];
        uint8_t key[32];
    } k[MLC_KEYRING_MAX];
};

/* Parses ring text; blank lines and lines starting with '#' are skipped. On error names the
 * line (never its key). */
enum mlc_rc mlc_keyring_parse(const char *text, struct mlc_keyring *r, char *err, size_t errsz);
void mlc_keyring_wipe(struct mlc_keyring *r);
/* A new ring line "kid:base64key" (owned). kid: 1-32 of [A-Za-z0-9_-]. */
enum mlc_rc mlc_keyring_line_new(const char *kid, char **out);

/* True for a value of the form enc:v1:... */
bool mlc_secret_is_encrypted(const char *v);
/* Seals plaintext under the ring's first key: "enc:v1:<kid>:<base64(nonce|ct|tag)>" (owned).
 * The prefix "enc:v1:<kid>" is authenticated, so a value cannot be moved to another key id. */
enum mlc_rc mlc_secret_encrypt(const struct mlc_keyring *r, const char *pt, size_t ptlen,
                               char **out);
/* Opens an enc:v1 value. MLC_ENOTFOUND: its key id is not in the ring; MLC_ERR: wrong key or
 * altered value; MLC_EINVAL: malformed. *out is owned (wipe it when done). */
enum mlc_rc mlc_secret_decrypt(const struct mlc_keyring *r, const char *enc, char **out, char *err,
                               size_t errsz);

/* The secret rules of CONFIG.md, applied by mlc_config_load after reading the values: the key
 * ring only through MLC_MASTER_KEY_FILE; enc:v1 values decrypted with it; plaintext secrets in
 * the environment refused unless MLC_ALLOW_PLAINTEXT_SECRETS=1 (then listed in
 * cfg->plaintext_secrets for a warning at start). A Redis URL without a password is not a secret.
 * from_file[i]: the value came from MLC_X_FILE. */
enum mlc_rc mlc_secrets_apply(struct mlc_config *cfg, const bool *from_file, char *err,
                              size_t errsz);

/* `ml-connector secrets keygen|encrypt|decrypt|rotate`. Returns the exit status. */
int mlc_secrets_main(int argc, char **argv);

#endif
