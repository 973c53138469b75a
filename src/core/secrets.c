/* Credentials at rest: key ring parsing, enc:v1 values, the plaintext rule, `secrets` command. */
#include "mlc/secrets.h"
#include "mlc/crypto.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PREFIX "enc:v1:"

static bool kid_ok(const char *s, size_t n)
{
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

void mlc_keyring_wipe(struct mlc_keyring *r)
{
    mlc_wipe(r, sizeof *r);
}

enum mlc_rc mlc_keyring_parse(const char *text, struct mlc_keyring *r, char *err, size_t errsz)
{
    memset(r, 0, sizeof *r);
    int lineno = 0;
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *a = p, *b = p + len;
        p = end ? end + 1 : NULL;
        lineno++;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (a == b || *a == '#')
            continue;
        const char *colon = memchr(a, ':', (size_t)(b - a));
        if (!colon || !kid_ok(a, (size_t)(colon - a))) {
            snprintf(err, errsz,
                     "line %d: expected kid:base64key (kid: 1-32 letters, digits, _ or -)", lineno);
            goto fail;
        }
        if (r->n == MLC_KEYRING_MAX) {
            snprintf(err, errsz, "more than %d keys", MLC_KEYRING_MAX);
            goto fail;
        }
        struct mlc_buf key;
        mlc_buf_init(&key, 64);
        enum mlc_rc rc = mlc_base64_decode(colon + 1, (size_t)(b - colon - 1), false, &key);
        bool ok = rc == MLC_OK && key.len == 32;
        if (ok)
            memcpy(r->k[r->n].key, key.data, 32);
        if (key.data)
            mlc_wipe(key.data, key.len);
        mlc_buf_free(&key);
        if (!ok) {
            snprintf(err, errsz, "line %d: the key must be 32 bytes in standard base64", lineno);
            goto fail;
        }
        for (size_t i = 0; i < r->n; i++)
            if (strlen(r->k[i].kid) == (size_t)(colon - a) &&
                memcmp(r->k[i].kid, a, (size_t)(colon - a)) == 0) {
                snprintf(err, errsz, "line %d: key id '%.*s' appears twice", lineno,
                         (int)(colon - a), a);
                goto fail;
            }
        memcpy(r->k[r->n].kid, a, (size_t)(colon - a));
        r->n++;
    }
    if (r->n == 0) {
        snprintf(err, errsz, "no key in the ring");
        goto fail;
    }
    return MLC_OK;
fail:
    mlc_keyring_wipe(r);
    return MLC_EINVAL;
}

enum mlc_rc mlc_keyring_line_new(const char *kid, char **out)
{
    if (!kid_ok(kid, strlen(kid)))
        return MLC_EINVAL;
    uint8_t key[32];
    if (mlc_random_bytes(key, sizeof key) != MLC_OK)
        return MLC_ERR;
    char *b64 = mlc_base64_encode(key, sizeof key, false);
    mlc_wipe(key, sizeof key);
    size_t n = strlen(kid) + strlen(b64) + 2;
    *out = mlc_malloc(n);
    snprintf(*out, n, "%s:%s", kid, b64);
    mlc_wipe(b64, strlen(b64));
    free(b64);
    return MLC_OK;
}

bool mlc_secret_is_encrypted(const char *v)
{
    return v && strncmp(v, PREFIX, strlen(PREFIX)) == 0;
}

enum mlc_rc mlc_secret_encrypt(const struct mlc_keyring *r, const char *pt, size_t ptlen,
                               char **out)
{
    if (r->n == 0)
        return MLC_EINVAL;
    char aad[64];
    int an = snprintf(aad, sizeof aad, PREFIX "%s", r->k[0].kid);
    struct mlc_buf sealed;
    mlc_buf_init(&sealed, (1u << 24) + 64);
    enum mlc_rc rc = mlc_aead_seal(r->k[0].key, aad, (size_t)an, pt, ptlen, &sealed);
    if (rc != MLC_OK) {
        mlc_buf_free(&sealed);
        return rc;
    }
    char *b64 = mlc_base64_encode(sealed.data, sealed.len, false);
    mlc_buf_free(&sealed);
    size_t n = (size_t)an + 1 + strlen(b64) + 1;
    *out = mlc_malloc(n);
    snprintf(*out, n, "%s:%s", aad, b64);
    free(b64);
    return MLC_OK;
}

enum mlc_rc mlc_secret_decrypt(const struct mlc_keyring *r, const char *enc, char **out, char *err,
                               size_t errsz)
{
    *out = NULL;
    if (!mlc_secret_is_encrypted(enc)) {
        snprintf(err, errsz, "not an enc:v1 value");
        return MLC_EINVAL;
    }
    const char *kid = enc + strlen(PREFIX);
    const char *colon = strchr(kid, ':');
    if (!colon || !kid_ok(kid, (size_t)(colon - kid))) {
        snprintf(err, errsz, "malformed enc:v1 value (expected enc:v1:<kid>:<base64>)");
        return MLC_EINVAL;
    }
    size_t kl = (size_t)(colon - kid);
    const uint8_t *key = NULL;
    for (size_t i = 0; i < r->n; i++)
        if (strlen(r->k[i].kid) == kl && memcmp(r->k[i].kid, kid, kl) == 0)
            key = r->k[i].key;
    if (!key) {
        snprintf(err, errsz, "key id '%.*s' is not in the key ring (MLC_MASTER_KEY_FILE)", (int)kl,
                 kid);
        return MLC_ENOTFOUND;
    }
    struct mlc_buf sealed, pt;
    mlc_buf_init(&sealed, (1u << 24) + 64);
    mlc_buf_init(&pt, (1u << 24) + 1);
    enum mlc_rc rc = mlc_base64_decode(colon + 1, strlen(colon + 1), false, &sealed);
    if (rc != MLC_OK) {
        snprintf(err, errsz, "malformed enc:v1 value (bad base64)");
        rc = MLC_EINVAL;
    } else {
        rc = mlc_aead_open(key, enc, (size_t)(colon - enc), sealed.data, sealed.len, &pt);
        if (rc == MLC_EINVAL)
            snprintf(err, errsz, "malformed enc:v1 value (too short)");
        else if (rc != MLC_OK)
            snprintf(err, errsz, "cannot decrypt with key '%.*s': wrong key or altered value",
                     (int)kl, kid);
    }
    mlc_buf_free(&sealed);
    if (rc == MLC_OK && pt.data && memchr(pt.data, '\0', pt.len)) {
        snprintf(err, errsz, "the decrypted value contains a NUL byte");
        rc = MLC_EINVAL;
    }
    if (rc == MLC_OK)
        *out = pt.data ? pt.data : mlc_strdup("");
    else {
        if (pt.data)
            mlc_wipe(pt.data, pt.len);
        mlc_buf_free(&pt);
    }
    return rc;
}

/* redis://[user][:password]@host...: secret only when it carries a password. */
static bool url_has_password(const char *url)
{
    const char *s = strstr(url, "://");
    const char *at = strrchr(url, '@');
    if (!s || !at || at < s)
        return false;
    const char *colon = memchr(s + 3, ':', (size_t)(at - s - 3));
    return colon && colon + 1 < at;
}

enum mlc_rc mlc_secrets_apply(struct mlc_config *cfg, const bool *from_file, char *err,
                              size_t errsz)
{
    const struct mlc_cfg_def *defs = mlc_config_defs();
    cfg->plaintext_secrets[0] = '\0';
    if (cfg->set[MLC_CFG_MASTER_KEY] && !from_file[MLC_CFG_MASTER_KEY]) {
        snprintf(err, errsz,
                 "MLC_MASTER_KEY: give the key ring through MLC_MASTER_KEY_FILE, "
                 "never in the environment");
        return MLC_EINVAL;
    }
    struct mlc_keyring ring = {0};
    bool have_ring = false;
    if (cfg->str[MLC_CFG_MASTER_KEY]) {
        char e[160];
        if (mlc_keyring_parse(cfg->str[MLC_CFG_MASTER_KEY], &ring, e, sizeof e) != MLC_OK) {
            snprintf(err, errsz, "MLC_MASTER_KEY_FILE: %s", e);
            return MLC_EINVAL;
        }
        have_ring = true;
    }
    bool allow = cfg->num[MLC_CFG_ALLOW_PLAINTEXT_SECRETS] != 0;
    enum mlc_rc rc = MLC_OK;
    for (int i = 0; i < MLC_CFG__COUNT && rc == MLC_OK; i++) {
        if (!(defs[i].flags & MLC_CFG_SECRET) || !cfg->set[i] || i == MLC_CFG_MASTER_KEY)
            continue;
        char *v = cfg->str[i];
        if (mlc_secret_is_encrypted(v)) {
            if (!have_ring) {
                snprintf(err, errsz, "%s: an enc:v1 value needs the key ring (MLC_MASTER_KEY_FILE)",
                         defs[i].name);
                rc = MLC_EINVAL;
                break;
            }
            char *pt = NULL, e[200];
            if (mlc_secret_decrypt(&ring, v, &pt, e, sizeof e) != MLC_OK) {
                snprintf(err, errsz, "%s: %s", defs[i].name, e);
                rc = MLC_EINVAL;
                break;
            }
            mlc_wipe(v, strlen(v));
            free(v);
            cfg->str[i] = pt;
        } else if (!from_file[i] && *v && !(i == MLC_CFG_REDIS_URL && !url_has_password(v))) {
            if (!allow) {
                snprintf(err, errsz,
                         "%s: plaintext secret in the environment; encrypt it (`ml-connector "
                         "secrets encrypt`), give it through %s_FILE, or set "
                         "MLC_ALLOW_PLAINTEXT_SECRETS=1",
                         defs[i].name, defs[i].name);
                rc = MLC_EINVAL;
                break;
            }
            size_t used = strlen(cfg->plaintext_secrets);
            snprintf(cfg->plaintext_secrets + used, sizeof cfg->plaintext_secrets - used, "%s%s",
                     used ? "," : "", defs[i].name);
        }
    }
    mlc_keyring_wipe(&ring);
    return rc;
}

/* ---- the `secrets` command ------------------------------------------------------------- */

static const char usage[] =
    "usage: ml-connector secrets keygen [KID]\n"
    "       ml-connector secrets encrypt      < value\n"
    "       ml-connector secrets decrypt      < enc:v1:...\n"
    "       ml-connector secrets rotate FILE\n"
    "\n"
    "Credentials at rest are AES-256-GCM values `enc:v1:<kid>:<base64>`, usable for any secret\n"
    "MLC_* setting. The key ring comes from MLC_MASTER_KEY_FILE: one `kid:base64key` a line; the\n"
    "first key encrypts, every key decrypts (rotation: put the new line first, run `rotate`,\n"
    "then drop the old line).\n"
    "  keygen    print one new ring line (KID defaults to k<YYYYMMDD>)\n"
    "  encrypt   read a value from standard input (one trailing newline dropped), print it\n"
    "            encrypted under the first key\n"
    "  decrypt   read an enc:v1 value from standard input, print the plaintext\n"
    "  rotate    re-encrypt every enc:v1 value of an env file (NAME=value lines) under the\n"
    "            first key, in place (atomically)\n"
    "Values are never taken from the command line, so they stay out of shell history and ps.\n";

static int load_ring(struct mlc_keyring *r)
{
    const char *path = getenv("MLC_MASTER_KEY_FILE");
    if (!path || !*path) {
        fprintf(stderr, "ml-connector secrets: MLC_MASTER_KEY_FILE is not set\n");
        return 2;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "ml-connector secrets: MLC_MASTER_KEY_FILE: cannot read %s: %s\n", path,
                strerror(errno));
        return 2;
    }
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char err[160];
    enum mlc_rc rc = mlc_keyring_parse(text, r, err, sizeof err);
    mlc_wipe(text, sizeof text);
    if (rc != MLC_OK) {
        fprintf(stderr, "ml-connector secrets: MLC_MASTER_KEY_FILE: %s\n", err);
        return 2;
    }
    return 0;
}

static char *read_stdin(size_t *len)
{
    struct mlc_buf b;
    mlc_buf_init(&b, 1u << 20);
    char chunk[4096];
    size_t n;
    bool big = false;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        if (mlc_buf_append(&b, chunk, n) != MLC_OK) {
            big = true;
            break;
        }
    mlc_wipe(chunk, sizeof chunk);
    if (big) {
        if (b.data)
            mlc_wipe(b.data, b.len);
        mlc_buf_free(&b);
        return NULL;
    }
    if (!b.data)
        mlc_buf_append(&b, "", 0);
    if (b.len && b.data[b.len - 1] == '\n')
        b.data[--b.len] = '\0';
    if (b.len && b.data[b.len - 1] == '\r')
        b.data[--b.len] = '\0';
    *len = b.len;
    return b.data;
}

/* Re-encrypts NAME=enc:v1:... lines (optionally `export ` and quotes) under the first key. */
static int rotate_file(const struct mlc_keyring *r, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "ml-connector secrets: cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct mlc_buf out;
    mlc_buf_init(&out, 16u << 20);
    char *line = NULL;
    size_t cap = 0, rotated = 0, lineno = 0;
    ssize_t got;
    int rc = 0;
    while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        char *eq = strchr(line, '=');
        char *val = eq ? eq + 1 : NULL;
        char quote = val && (*val == '"' || *val == '\'') ? *val : 0;
        if (quote)
            val++;
        if (!val || !mlc_secret_is_encrypted(val)) {
            mlc_buf_append(&out, line, (size_t)got);
            continue;
        }
        size_t vl = strcspn(val, quote ? (quote == '"' ? "\"\r\n" : "'\r\n") : " \t\r\n#");
        char *enc = mlc_strndup(val, vl), *pt = NULL, *again = NULL, err[200];
        if (mlc_secret_decrypt(r, enc, &pt, err, sizeof err) != MLC_OK) {
            fprintf(stderr, "ml-connector secrets: %s line %zu: %s\n", path, lineno, err);
            rc = 1;
        } else if (mlc_secret_encrypt(r, pt, strlen(pt), &again) != MLC_OK) {
            fprintf(stderr, "ml-connector secrets: encryption failed\n");
            rc = 1;
        } else {
            mlc_buf_append(&out, line, (size_t)(val - line));
            mlc_buf_append(&out, again, strlen(again));
            mlc_buf_append(&out, val + vl, strlen(val + vl));
            rotated++;
        }
        if (pt) {
            mlc_wipe(pt, strlen(pt));
            free(pt);
        }
        free(again);
        free(enc);
    }
    free(line);
    fclose(f);
    if (rc == 0) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
        struct stat st;
        mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 0777) : 0600;
        FILE *w = fopen(tmp, "wb");
        if (!w || (out.len && fwrite(out.data, 1, out.len, w) != out.len) || fflush(w) != 0 ||
            fsync(fileno(w)) != 0 || fchmod(fileno(w), mode) != 0) {
            fprintf(stderr, "ml-connector secrets: cannot write %s: %s\n", tmp, strerror(errno));
            rc = 1;
        }
        if (w && fclose(w) != 0)
            rc = 1;
        if (rc == 0 && rename(tmp, path) != 0) {
            fprintf(stderr, "ml-connector secrets: cannot replace %s: %s\n", path, strerror(errno));
            rc = 1;
        }
        if (rc != 0)
            unlink(tmp);
        else
            printf("rotated %zu value%s in %s to key %s\n", rotated, rotated == 1 ? "" : "s", path,
                   r->k[0].kid);
    }
    mlc_buf_free(&out);
    return rc;
}

int mlc_secrets_main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "keygen") == 0 && argc <= 3) {
        char kid[40];
        if (argc == 3) {
            snprintf(kid, sizeof kid, "%s", argv[2]);
        } else {
            time_t t = time(NULL);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(kid, sizeof kid, "k%Y%m%d", &tm);
        }
        char *line = NULL;
        enum mlc_rc rc = mlc_keyring_line_new(kid, &line);
        if (rc == MLC_EINVAL) {
            fprintf(stderr, "ml-connector secrets: KID must be 1-32 letters, digits, _ or -\n");
            return 2;
        }
        if (rc != MLC_OK) {
            fprintf(stderr, "ml-connector secrets: the random generator failed\n");
            return 1;
        }
        puts(line);
        mlc_wipe(line, strlen(line));
        free(line);
        return 0;
    }
    bool enc = strcmp(sub, "encrypt") == 0 && argc == 2;
    bool dec = strcmp(sub, "decrypt") == 0 && argc == 2;
    bool rot = strcmp(sub, "rotate") == 0 && argc == 3;
    if (!enc && !dec && !rot) {
        fputs(usage, stderr);
        return 2;
    }
    struct mlc_keyring ring;
    int rc = load_ring(&ring);
    if (rc)
        return rc;
    if (rot) {
        rc = rotate_file(&ring, argv[2]);
        mlc_keyring_wipe(&ring);
        return rc;
    }
    size_t len = 0;
    char *in = read_stdin(&len);
    if (!in) {
        fprintf(stderr, "ml-connector secrets: the value on standard input is over 1 MiB\n");
        mlc_keyring_wipe(&ring);
        return 2;
    }
    char *out = NULL, err[200];
    if (enc) {
        if (mlc_secret_encrypt(&ring, in, len, &out) != MLC_OK) {
            fprintf(stderr, "ml-connector secrets: encryption failed\n");
            rc = 1;
        }
    } else if (mlc_secret_decrypt(&ring, in, &out, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector secrets: %s\n", err);
        rc = 1;
    }
    if (out) {
        puts(out);
        mlc_wipe(out, strlen(out));
        free(out);
    }
    mlc_wipe(in, len);
    free(in);
    mlc_keyring_wipe(&ring);
    return rc;
}
