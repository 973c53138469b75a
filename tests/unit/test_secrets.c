/* Unit tests: key ring parsing, enc:v1 round trips and tampering, the plaintext-secret rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mlc/config.h"
#include "mlc/crypto.h"
#include "mlc/secrets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 32 bytes 0x00..0x1f and 32 bytes 0x20..0x3f, standard base64. */
#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_B "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="

static void ring(struct mlc_keyring *r, const char *text)
{
    char err[160];
    assert_int_equal(mlc_keyring_parse(text, r, err, sizeof err), MLC_OK);
}

static void test_keyring_parse(void **state)
{
    (void)state;
    struct mlc_keyring r;
    ring(&r, "# ring\n\nnew:" KEY_B "\nold:" KEY_A "\n");
    assert_int_equal(r.n, 2);
    assert_string_equal(r.k[0].kid, "new");
    assert_int_equal(r.k[1].key[31], 0x1f);
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"", "no key"},
        {"nokid" KEY_A, "line 1: expected kid:base64key"},
        {"a b:" KEY_A, "line 1: expected kid:base64key"},
        {"k1:" KEY_A "\nk2:AAEC", "line 2: the key must be 32 bytes"},
        {"k1:" KEY_A "\nk1:" KEY_B, "line 2: key id 'k1' appears twice"},
        {"k1:!!!!", "line 1: the key must be 32 bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[160] = "";
        assert_int_equal(mlc_keyring_parse(bad[i].text, &r, err, sizeof err), MLC_EINVAL);
        if (!strstr(err, bad[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].want);
        assert_null(strstr(err, KEY_A)); /* never the key itself */
    }
    char *line = NULL;
    assert_int_equal(mlc_keyring_line_new("k-2026_12", &line), MLC_OK);
    ring(&r, line);
    assert_string_equal(r.k[0].kid, "k-2026_12");
    free(line);
    assert_int_equal(mlc_keyring_line_new("bad kid", &line), MLC_EINVAL);
}

static void test_round_trip_and_tamper(void **state)
{
    (void)state;
    struct mlc_keyring both, only_a, only_b;
    ring(&both, "b:" KEY_B "\na:" KEY_A);
    ring(&only_a, "a:" KEY_A);
    ring(&only_b, "b:" KEY_B);
    char *enc = NULL, *pt = NULL, *enc2 = NULL, err[200];
    assert_int_equal(mlc_secret_encrypt(&both, "s3cr3t,other", 12, &enc), MLC_OK);
    assert_true(strncmp(enc, "enc:v1:b:", 9) == 0); /* the first key encrypts */
    assert_null(strstr(enc, "s3cr3t"));
    assert_int_equal(mlc_secret_encrypt(&both, "s3cr3t,other", 12, &enc2), MLC_OK);
    assert_string_not_equal(enc, enc2); /* a fresh nonce each time */
    assert_int_equal(mlc_secret_decrypt(&only_b, enc, &pt, err, sizeof err), MLC_OK);
    assert_string_equal(pt, "s3cr3t,other");
    free(pt);
    /* a ring without its key id */
    assert_int_equal(mlc_secret_decrypt(&only_a, enc, &pt, err, sizeof err), MLC_ENOTFOUND);
    assert_non_null(strstr(err, "key id 'b' is not in the key ring"));
    /* the same key id with another key */
    struct mlc_keyring wrong;
    ring(&wrong, "b:" KEY_A);
    assert_int_equal(mlc_secret_decrypt(&wrong, enc, &pt, err, sizeof err), MLC_ERR);
    assert_non_null(strstr(err, "wrong key or altered value"));
    /* one changed byte of the sealed part */
    char *t = mlc_strdup(enc);
    size_t pos = strlen(t) - 6;
    t[pos] = t[pos] == 'A' ? 'B' : 'A';
    assert_int_equal(mlc_secret_decrypt(&both, t, &pt, err, sizeof err), MLC_ERR);
    free(t);
    /* the key id is authenticated: relabelling b -> a under a ring where a is the same key */
    struct mlc_keyring alias;
    ring(&alias, "a:" KEY_B);
    t = mlc_strdup(enc);
    t[7] = 'a';
    assert_int_equal(mlc_secret_decrypt(&alias, t, &pt, err, sizeof err), MLC_ERR);
    free(t);
    static const char *const malformed[] = {"enc:v1:",       "enc:v1:b",      "enc:v1:b:%%%",
                                            "enc:v1:b:AAAA", "enc:v2:b:AAAA", "plain"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        assert_int_equal(mlc_secret_decrypt(&both, malformed[i], &pt, err, sizeof err), MLC_EINVAL);
    /* an empty value */
    free(enc);
    assert_int_equal(mlc_secret_encrypt(&both, "", 0, &enc), MLC_OK);
    assert_int_equal(mlc_secret_decrypt(&both, enc, &pt, err, sizeof err), MLC_OK);
    assert_string_equal(pt, "");
    free(pt);
    free(enc);
    free(enc2);
}

/* ---- the configuration rule, through mlc_config_load ---- */
struct env {
    const char *kv[8][2];
};

static const char *lookup(const char *name, void *ud)
{
    struct env *e = ud;
    for (int i = 0; i < 8 && e->kv[i][0]; i++)
        if (strcmp(e->kv[i][0], name) == 0)
            return e->kv[i][1];
    return NULL;
}

static char *temp_file(const char *content)
{
    char *path = mlc_strdup("/tmp/mlc-test-secrets-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return path;
}

static void test_config_rule(void **state)
{
    (void)state;
    struct mlc_keyring r;
    ring(&r, "k1:" KEY_A);
    char *enc = NULL;
    assert_int_equal(mlc_secret_encrypt(&r, "from-enc", 8, &enc), MLC_OK);
    char *ring_path = temp_file("k1:" KEY_A "\n");
    char *secret_path = temp_file("from-file\n");
    char *enc_path = temp_file(enc);
    struct mlc_config c;
    char err[512];
    static const char *const S = "MLC_NETSUITE_WEBHOOK_SECRETS";

    /* plaintext in the environment: refused, naming the variable and the ways out */
    struct env e1 = {{{S, "plain"}}};
    assert_int_equal(mlc_config_load(&c, lookup, &e1, err, sizeof err), MLC_EINVAL);
    assert_non_null(strstr(err, "MLC_NETSUITE_WEBHOOK_SECRETS: plaintext secret"));
    assert_null(strstr(err, "plain\""));
    /* ... unless allowed, and then listed for the start-up warning */
    struct env e2 = {{{S, "plain"}, {"MLC_ALLOW_PLAINTEXT_SECRETS", "1"}}};
    assert_int_equal(mlc_config_load(&c, lookup, &e2, err, sizeof err), MLC_OK);
    assert_string_equal(c.plaintext_secrets, S);
    assert_string_equal(mlc_config_str(&c, MLC_CFG_NETSUITE_WEBHOOK_SECRETS), "plain");
    mlc_config_free(&c);
    /* through _FILE: plaintext is fine */
    struct env e3 = {{{"MLC_NETSUITE_WEBHOOK_SECRETS_FILE", secret_path}}};
    assert_int_equal(mlc_config_load(&c, lookup, &e3, err, sizeof err), MLC_OK);
    assert_string_equal(mlc_config_str(&c, MLC_CFG_NETSUITE_WEBHOOK_SECRETS), "from-file");
    assert_string_equal(c.plaintext_secrets, "");
    mlc_config_free(&c);
    /* enc:v1 in the environment and in a file, with the ring */
    struct env e4 = {{{S, enc}, {"MLC_MASTER_KEY_FILE", ring_path}}};
    assert_int_equal(mlc_config_load(&c, lookup, &e4, err, sizeof err), MLC_OK);
    assert_string_equal(mlc_config_str(&c, MLC_CFG_NETSUITE_WEBHOOK_SECRETS), "from-enc");
    mlc_config_free(&c);
    struct env e5 = {
        {{"MLC_NETSUITE_WEBHOOK_SECRETS_FILE", enc_path}, {"MLC_MASTER_KEY_FILE", ring_path}}};
    assert_int_equal(mlc_config_load(&c, lookup, &e5, err, sizeof err), MLC_OK);
    assert_string_equal(mlc_config_str(&c, MLC_CFG_NETSUITE_WEBHOOK_SECRETS), "from-enc");
    mlc_config_free(&c);
    /* enc:v1 without a ring; the ring in the environment; a bad ring file */
    struct env e6 = {{{S, enc}}};
    assert_int_equal(mlc_config_load(&c, lookup, &e6, err, sizeof err), MLC_EINVAL);
    assert_non_null(
        strstr(err, "MLC_NETSUITE_WEBHOOK_SECRETS: an enc:v1 value needs the key ring"));
    struct env e7 = {{{"MLC_MASTER_KEY", "k1:" KEY_A}}};
    assert_int_equal(mlc_config_load(&c, lookup, &e7, err, sizeof err), MLC_EINVAL);
    assert_non_null(strstr(err, "MLC_MASTER_KEY: give the key ring through MLC_MASTER_KEY_FILE"));
    assert_null(strstr(err, KEY_A));
    struct env e8 = {{{"MLC_MASTER_KEY_FILE", secret_path}}};
    assert_int_equal(mlc_config_load(&c, lookup, &e8, err, sizeof err), MLC_EINVAL);
    assert_non_null(strstr(err, "MLC_MASTER_KEY_FILE: line 1"));
    /* an altered value names the variable */
    char *bad = mlc_strdup(enc);
    bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
    struct env e9 = {{{"MLC_ADMIN_TOKENS", bad}, {"MLC_MASTER_KEY_FILE", ring_path}}};
    assert_int_equal(mlc_config_load(&c, lookup, &e9, err, sizeof err), MLC_EINVAL);
    assert_non_null(strstr(err, "MLC_ADMIN_TOKENS: cannot decrypt"));
    /* a Redis URL is a secret only with a password */
    struct env e10 = {{{"MLC_REDIS_URL", "redis://cache:6379/1"}}};
    assert_int_equal(mlc_config_load(&c, lookup, &e10, err, sizeof err), MLC_OK);
    mlc_config_free(&c);
    struct env e11 = {{{"MLC_REDIS_URL", "redis://app:pw@cache:6379/1"}}};
    assert_int_equal(mlc_config_load(&c, lookup, &e11, err, sizeof err), MLC_EINVAL);
    assert_non_null(strstr(err, "MLC_REDIS_URL: plaintext secret"));
    assert_null(strstr(err, "pw@"));
    free(bad);
    unlink(ring_path);
    unlink(secret_path);
    unlink(enc_path);
    free(ring_path);
    free(secret_path);
    free(enc_path);
    free(enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyring_parse),
        cmocka_unit_test(test_round_trip_and_tamper),
        cmocka_unit_test(test_config_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
