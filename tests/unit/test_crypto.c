/* Unit tests: constant-time compare, SHA-256 and HMAC-SHA256 known answers (RFC 4231), and the
 * X-MLC-Signature check against cases computed by Python's hmac (tests/fixtures/signatures.json).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mlc/crypto.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGNATURES_JSON MLC_SOURCE_DIR "/tests/fixtures/signatures.json"

static size_t unhex(const char *hex, uint8_t *out, size_t max)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= max);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

static void test_ct_equal(void **state)
{
    static const struct {
        const char *a, *b;
        size_t alen, blen;
        bool want;
    } cases[] = {
        {"secret", "secret", 6, 6, true},
        {"secret", "secreT", 6, 6, false},
        {"secret", "Secret", 6, 6, false},
        {"secret", "secret2", 6, 7, false},
        {"secret2", "secret", 7, 6, false},
        {"secret", "secre", 6, 5, false}, /* a prefix is not equal */
        {"", "", 0, 0, true},
        {"", "x", 0, 1, false},
        {"x", "", 1, 0, false},
        {"a\0b", "a\0c", 3, 3, false}, /* binary: bytes after a NUL still count */
        {"a\0b", "a\0b", 3, 3, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool got = mlc_ct_equal(cases[i].a, cases[i].alen, cases[i].b, cases[i].blen);
        if (got != cases[i].want)
            fail_msg("case %zu: got %d, want %d", i, got, cases[i].want);
    }
    /* a long value differing only in its last byte */
    char x[4096], y[4096];
    memset(x, 'k', sizeof x);
    memcpy(y, x, sizeof y);
    assert_true(mlc_ct_equal(x, sizeof x, y, sizeof y));
    y[sizeof y - 1] = 'K';
    assert_false(mlc_ct_equal(x, sizeof x, y, sizeof y));
}

static void test_sha256_and_hex(void **state)
{
    static const struct {
        const char *msg, *want;
    } cases[] = {
        /* FIPS 180-2 examples */
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t d[32];
        char hex[65];
        mlc_sha256(cases[i].msg, strlen(cases[i].msg), d);
        mlc_hex(d, 32, hex);
        assert_string_equal(hex, cases[i].want);
    }
    char sha1[41];
    mlc_sha1_hex("abc", 3, sha1);
    assert_string_equal(sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const uint8_t raw[] = {0x00, 0x0f, 0xa5, 0xff};
    char hex[9];
    mlc_hex(raw, 4, hex);
    assert_string_equal(hex, "000fa5ff");
}

/* RFC 4231, section 4: HMAC-SHA-256 test cases 1-7. */
static void test_hmac_rfc4231(void **state)
{
    /* test cases 6 and 7: 131 bytes of 0xaa */
    static const char key6[] =
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaa";
    static const struct {
        const char *key_hex, *data_hex, *data, *mac_hex;
    } cases[] = {
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", NULL, "Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"4a656665", NULL, "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
         "dddddddddddddd",
         NULL, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {"0102030405060708090a0b0c0d0e0f10111213141516171819",
         "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
         "cdcdcdcdcdcdcd",
         NULL, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        /* test case 5 is truncated to 128 bits by the RFC */
        {"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", NULL, "Test With Truncation",
         "a3b6167473100ee06e0c796c2955552b"},
        {key6, NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {key6, NULL,
         "This is a test using a larger than block-size key and a larger than block-size data. "
         "The key needs to be hashed before being used by the HMAC algorithm.",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t key[200], data[200], mac[32];
        char hex[65];
        size_t kl = unhex(cases[i].key_hex, key, sizeof key);
        size_t dl;
        if (cases[i].data) {
            dl = strlen(cases[i].data);
            memcpy(data, cases[i].data, dl);
        } else {
            dl = unhex(cases[i].data_hex, data, sizeof data);
        }
        mlc_hmac_sha256(key, kl, data, dl, mac);
        mlc_hex(mac, 32, hex);
        size_t want = strlen(cases[i].mac_hex);
        if (strncmp(hex, cases[i].mac_hex, want) != 0)
            fail_msg("RFC 4231 test case %zu: got %s, want %s", i + 1, hex, cases[i].mac_hex);
    }
    assert_int_equal(strlen(key6), 2 * 131);
}

struct fixture_case {
    const char *name, *header, *body, *expect;
    char **keys;
    size_t nkeys;
};

static json_t *load_fixture(int64_t *now, int64_t *tol)
{
    json_error_t jerr;
    json_t *root = json_load_file(SIGNATURES_JSON, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        fail_msg("%s: %s (run tests/fixtures/gen_signatures.py)", SIGNATURES_JSON, jerr.text);
    *now = json_integer_value(json_object_get(root, "now"));
    *tol = json_integer_value(json_object_get(root, "tolerance"));
    assert_true(*now > 0 && *tol > 0);
    assert_true(json_array_size(json_object_get(root, "cases")) >= 30);
    return root;
}

static void case_from_json(json_t *c, struct fixture_case *fc)
{
    fc->name = json_string_value(json_object_get(c, "name"));
    fc->header = json_string_value(json_object_get(c, "header"));
    fc->body = json_string_value(json_object_get(c, "body"));
    fc->expect = json_string_value(json_object_get(c, "expect"));
    assert_non_null(fc->name);
    assert_non_null(fc->header);
    assert_non_null(fc->body);
    assert_non_null(fc->expect);
    json_t *keys = json_object_get(c, "keys");
    fc->nkeys = json_array_size(keys);
    fc->keys = calloc(fc->nkeys + 1, sizeof *fc->keys);
    for (size_t k = 0; k < fc->nkeys; k++)
        fc->keys[k] = strdup(json_string_value(json_array_get(keys, k)));
}

static void case_free(struct fixture_case *fc)
{
    for (size_t k = 0; k < fc->nkeys; k++)
        free(fc->keys[k]);
    free(fc->keys);
}

static void test_signature_verify_fixture(void **state)
{
    int64_t now, tol;
    json_t *root = load_fixture(&now, &tol);
    size_t i;
    json_t *c;
    size_t seen[4] = {0};
    json_array_foreach(json_object_get(root, "cases"), i, c)
    {
        struct fixture_case fc;
        case_from_json(c, &fc);
        char err[256] = "";
        enum mlc_rc rc = mlc_signature_verify(fc.header, fc.body, strlen(fc.body), fc.keys,
                                              fc.nkeys, now, tol, err, sizeof err);
        enum mlc_rc want;
        const char *want_err;
        if (strcmp(fc.expect, "ok") == 0) {
            want = MLC_OK, want_err = NULL, seen[0]++;
        } else if (strcmp(fc.expect, "mismatch") == 0) {
            want = MLC_ERR, want_err = "does not match", seen[1]++;
        } else if (strcmp(fc.expect, "stale") == 0) {
            want = MLC_ERR, want_err = "outside the tolerance", seen[2]++;
        } else {
            assert_string_equal(fc.expect, "malformed");
            want = MLC_EINVAL, want_err = "malformed", seen[3]++;
        }
        if (rc != want)
            fail_msg("case '%s': rc %d, want %d (%s)", fc.name, rc, want, err);
        if (want_err && !strstr(err, want_err))
            fail_msg("case '%s': err '%s', want '%s'", fc.name, err, want_err);
        case_free(&fc);
    }
    for (size_t k = 0; k < 4; k++)
        assert_true(seen[k] >= 2);
    json_decref(root);
}

static void test_signature_parse_fixture(void **state)
{
    int64_t now, tol;
    json_t *root = load_fixture(&now, &tol);
    size_t i, checked = 0;
    json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c)
    {
        const char *header = json_string_value(json_object_get(c, "header"));
        const char *expect = json_string_value(json_object_get(c, "expect"));
        json_t *want_t = json_object_get(c, "t");
        json_t *want_v1 = json_object_get(c, "v1");
        int64_t t = -1;
        uint8_t sigs[8][32];
        size_t nsig = 99;
        enum mlc_rc rc = mlc_signature_parse(header, &t, sigs, 8, &nsig);
        if (strcmp(expect, "malformed") == 0) {
            if (rc != MLC_EINVAL)
                fail_msg("case '%s': parsed a malformed header", header);
            continue;
        }
        assert_int_equal(rc, MLC_OK);
        if (!want_t)
            continue;
        assert_int_equal(t, json_integer_value(want_t));
        assert_int_equal(nsig, json_array_size(want_v1));
        for (size_t s = 0; s < nsig; s++) {
            char hex[65];
            mlc_hex(sigs[s], 32, hex);
            assert_string_equal(hex, json_string_value(json_array_get(want_v1, s)));
        }
        checked++;
    }
    assert_true(checked >= 10);
    json_decref(root);
}

/* Every hex digit of the signature and every byte of the body matter. */
static void test_signature_every_digit_counts(void **state)
{
    int64_t now, tol;
    json_t *root = load_fixture(&now, &tol);
    struct fixture_case fc;
    case_from_json(json_array_get(json_object_get(root, "cases"), 0), &fc);
    assert_string_equal(fc.expect, "ok");
    char err[256];
    char header[256];
    snprintf(header, sizeof header, "%s", fc.header);
    char *v1 = strstr(header, "v1=") + 3;
    assert_int_equal(strlen(v1), 64);
    for (size_t k = 0; k < 64; k++) {
        char orig = v1[k];
        v1[k] = orig == '0' ? '1' : '0';
        assert_int_equal(mlc_signature_verify(header, fc.body, strlen(fc.body), fc.keys, fc.nkeys,
                                              now, tol, err, sizeof err),
                         MLC_ERR);
        v1[k] = orig;
    }
    assert_int_equal(mlc_signature_verify(header, fc.body, strlen(fc.body), fc.keys, fc.nkeys, now,
                                          tol, err, sizeof err),
                     MLC_OK);
    size_t bl = strlen(fc.body);
    char *body = strdup(fc.body);
    for (size_t k = 0; k < bl; k++) {
        body[k] ^= 0x01;
        assert_int_equal(
            mlc_signature_verify(header, body, bl, fc.keys, fc.nkeys, now, tol, err, sizeof err),
            MLC_ERR);
        body[k] ^= 0x01;
    }
    /* a truncated body does not match either */
    assert_int_equal(
        mlc_signature_verify(header, body, bl - 1, fc.keys, fc.nkeys, now, tol, err, sizeof err),
        MLC_ERR);
    free(body);
    case_free(&fc);
    json_decref(root);
}

static void test_signature_parse_limits(void **state)
{
    int64_t t = 0;
    uint8_t sigs[2][32];
    size_t nsig = 7;
    const char *a = "1111111111111111111111111111111111111111111111111111111111111111";
    const char *b = "2222222222222222222222222222222222222222222222222222222222222222";
    char header[512];

    assert_int_equal(mlc_signature_parse(NULL, &t, sigs, 2, &nsig), MLC_EINVAL);
    assert_int_equal(nsig, 0);

    /* more v1 than the caller has room for: the first maxsig are kept */
    snprintf(header, sizeof header, "t=42,v1=%s,v1=%s,v1=%s", a, b, a);
    assert_int_equal(mlc_signature_parse(header, &t, sigs, 2, &nsig), MLC_OK);
    assert_int_equal(t, 42);
    assert_int_equal(nsig, 2);
    assert_int_equal(sigs[0][0], 0x11);
    assert_int_equal(sigs[1][31], 0x22);

    /* but a malformed one past the limit still makes the header malformed */
    snprintf(header, sizeof header, "t=42,v1=%s,v1=%s,v1=%.63sx", a, b, a);
    assert_int_equal(mlc_signature_parse(header, &t, sigs, 2, &nsig), MLC_EINVAL);

    /* the largest accepted timestamp: 12 digits */
    snprintf(header, sizeof header, "t=999999999999,v1=%s", a);
    assert_int_equal(mlc_signature_parse(header, &t, sigs, 2, &nsig), MLC_OK);
    assert_int_equal(t, 999999999999LL);

    /* a trailing comma ends the list */
    snprintf(header, sizeof header, "t=7,v1=%s,", b);
    assert_int_equal(mlc_signature_parse(header, &t, sigs, 2, &nsig), MLC_OK);
    assert_int_equal(nsig, 1);

    /* a stale timestamp is reported before any MAC is computed, whatever the keys */
    char k[] = "k";
    char *keys[] = {k};
    char err[128];
    snprintf(header, sizeof header, "t=1000,v1=%s", a);
    assert_int_equal(mlc_signature_verify(header, "", 0, keys, 1, 2000, 300, err, sizeof err),
                     MLC_ERR);
    assert_non_null(strstr(err, "tolerance"));
    assert_int_equal(mlc_signature_verify(NULL, "", 0, keys, 1, 2000, 300, err, sizeof err),
                     MLC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_sha256_and_hex),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_signature_verify_fixture),
        cmocka_unit_test(test_signature_parse_fixture),
        cmocka_unit_test(test_signature_every_digit_counts),
        cmocka_unit_test(test_signature_parse_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
