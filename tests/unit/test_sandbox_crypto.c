/* Unit tests: base64, key pairs and certificates, JWT sign/verify, OAuth 1.0a base string and signature. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mlc/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_base64_vectors(void **state)
{
    /* RFC 4648 section 10 */
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char *s = mlc_base64_encode(in[i], strlen(in[i]), false);
        assert_string_equal(s, std[i]);
        free(s);
        s = mlc_base64_encode(in[i], strlen(in[i]), true);
        assert_string_equal(s, url[i]);
        free(s);
        struct mlc_buf b;
        mlc_buf_init(&b, 64);
        assert_int_equal(mlc_base64_decode(std[i], strlen(std[i]), false, &b), MLC_OK);
        assert_int_equal(b.len, strlen(in[i]));
        assert_memory_equal(b.data ? b.data : "", in[i], b.len);
        mlc_buf_reset(&b);
        assert_int_equal(mlc_base64_decode(url[i], strlen(url[i]), true, &b), MLC_OK);
        assert_int_equal(b.len, strlen(in[i]));
        mlc_buf_free(&b);
    }
    uint8_t bin[3] = {0xfb, 0xff, 0xfe};
    char *s = mlc_base64_encode(bin, 3, true);
    assert_string_equal(s, "-__-");
    free(s);
    struct mlc_buf b;
    mlc_buf_init(&b, 64);
    assert_int_equal(mlc_base64_decode("Zm9v!", 5, true, &b), MLC_EINVAL);
    assert_int_equal(mlc_base64_decode("Z", 1, true, &b), MLC_EINVAL);
    assert_int_equal(mlc_base64_decode("Zh", 2, true, &b), MLC_EINVAL); /* non-zero pad bits */
    assert_int_equal(mlc_base64_decode("-__-", 4, false, &b), MLC_EINVAL);
    mlc_buf_free(&b);
}

static void test_certificates(void **state)
{
    char err[256];
    char *ca_key = NULL, *ca_cert = NULL, *leaf_key = NULL, *leaf_cert = NULL, *pub = NULL;
    assert_int_equal(mlc_key_generate(MLC_KEY_EC_P256, &ca_key, NULL, err, sizeof err), MLC_OK);
    struct mlc_cert_spec ca = {.common_name = "test CA", .days = 10, .is_ca = true};
    assert_int_equal(mlc_x509_self_signed(ca_key, &ca, &ca_cert, err, sizeof err), MLC_OK);
    assert_non_null(strstr(ca_cert, "BEGIN CERTIFICATE"));
    assert_int_equal(mlc_key_generate(MLC_KEY_EC_P256, &leaf_key, NULL, err, sizeof err), MLC_OK);
    const char *dns[] = {"localhost"};
    const char *ips[] = {"127.0.0.1", "::1"};
    struct mlc_cert_spec leaf = {.common_name = "localhost", .days = 10, .dns = dns, .ndns = 1,
                                 .ips = ips, .nips = 2};
    assert_int_equal(mlc_x509_issue(ca_cert, ca_key, leaf_key, &leaf, &leaf_cert, err, sizeof err),
                     MLC_OK);
    int64_t na = 0;
    assert_int_equal(mlc_x509_not_after(leaf_cert, &na, err, sizeof err), MLC_OK);
    assert_true(na > 1700000000);
    assert_int_equal(mlc_x509_public_key(leaf_cert, &pub, err, sizeof err), MLC_OK);
    assert_non_null(strstr(pub, "BEGIN PUBLIC KEY"));
    char kty[16], crv[16];
    int bits = 0;
    assert_int_equal(mlc_key_describe(leaf_cert, kty, sizeof kty, &bits, crv, sizeof crv), MLC_OK);
    assert_string_equal(kty, "EC");
    assert_string_equal(crv, "P-256");
    assert_int_equal(mlc_x509_issue(ca_cert, "junk", leaf_key, &leaf, &leaf_cert, err, sizeof err),
                     MLC_EINVAL);
    free(ca_key);
    free(ca_cert);
    free(leaf_key);
    free(leaf_cert);
    free(pub);
}

static void roundtrip(enum mlc_key_type kt, const char *alg)
{
    char err[256];
    char *priv = NULL, *pubk = NULL, *jwt = NULL;
    assert_int_equal(mlc_key_generate(kt, &priv, &pubk, err, sizeof err), MLC_OK);
    json_t *claims = json_pack("{s:s, s:I}", "iss", "client", "iat", (json_int_t)1700000000);
    assert_int_equal(mlc_jwt_sign(alg, "kid-1", claims, priv, &jwt, err, sizeof err), MLC_OK);
    json_t *h = NULL, *c = NULL;
    assert_int_equal(mlc_jwt_verify(jwt, pubk, &h, &c, err, sizeof err), MLC_OK);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), alg);
    assert_string_equal(json_string_value(json_object_get(h, "kid")), "kid-1");
    assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
    assert_string_equal(json_string_value(json_object_get(c, "iss")), "client");
    json_decref(h);
    json_decref(c);
    /* flip one bit of the signature's first byte */
    char *dot = strrchr(jwt, '.');
    dot[1] = dot[1] == 'A' ? 'B' : 'A';
    assert_int_equal(mlc_jwt_verify(jwt, pubk, NULL, NULL, err, sizeof err), MLC_ERR);
    /* a different key refuses it */
    char *other = NULL;
    assert_int_equal(mlc_key_generate(kt, NULL, &other, err, sizeof err), MLC_OK);
    free(jwt);
    assert_int_equal(mlc_jwt_sign(alg, NULL, claims, priv, &jwt, err, sizeof err), MLC_OK);
    assert_int_equal(mlc_jwt_verify(jwt, other, NULL, NULL, err, sizeof err), MLC_ERR);
    char dflt[16];
    assert_int_equal(mlc_jwt_alg_for_key(pubk, dflt, sizeof dflt), MLC_OK);
    json_decref(claims);
    free(priv);
    free(pubk);
    free(other);
    free(jwt);
}

static void test_jwt_ec(void **state)
{
    roundtrip(MLC_KEY_EC_P256, "ES256");
    roundtrip(MLC_KEY_EC_P384, "ES384");
    roundtrip(MLC_KEY_EC_P521, "ES512");
}

static void test_jwt_rsa(void **state)
{
    roundtrip(MLC_KEY_RSA3072, "PS256");
    roundtrip(MLC_KEY_RSA3072, "PS384");
    roundtrip(MLC_KEY_RSA3072, "PS512");
}

static void test_jwt_refusals(void **state)
{
    char err[256];
    char *rsa = NULL, *rsapub = NULL, *ec = NULL, *jwt = NULL;
    assert_int_equal(mlc_key_generate(MLC_KEY_RSA3072, &rsa, &rsapub, err, sizeof err), MLC_OK);
    assert_int_equal(mlc_key_generate(MLC_KEY_EC_P256, &ec, NULL, err, sizeof err), MLC_OK);
    json_t *claims = json_pack("{s:s}", "iss", "x");
    /* RS256 can be produced (tests) but is never accepted */
    assert_int_equal(mlc_jwt_sign("RS256", "k", claims, rsa, &jwt, err, sizeof err), MLC_OK);
    assert_int_equal(mlc_jwt_verify(jwt, rsapub, NULL, NULL, err, sizeof err), MLC_ERR);
    assert_non_null(strstr(err, "RS256"));
    free(jwt);
    /* alg and key must fit */
    assert_int_equal(mlc_jwt_sign("ES256", "k", claims, rsa, &jwt, err, sizeof err), MLC_EINVAL);
    assert_int_equal(mlc_jwt_sign("ES384", "k", claims, ec, &jwt, err, sizeof err), MLC_EINVAL);
    assert_int_equal(mlc_jwt_sign("HS256", "k", claims, ec, &jwt, err, sizeof err), MLC_EINVAL);
    /* alg none, malformed */
    const char *none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpc3MiOiJ4In0.";
    assert_int_equal(mlc_jwt_verify(none, rsapub, NULL, NULL, err, sizeof err), MLC_ERR);
    assert_int_equal(mlc_jwt_verify("a.b", rsapub, NULL, NULL, err, sizeof err), MLC_EINVAL);
    assert_int_equal(mlc_jwt_verify("a.b.c.d", rsapub, NULL, NULL, err, sizeof err), MLC_EINVAL);
    assert_int_equal(mlc_jwt_verify("!!.e30.AA", rsapub, NULL, NULL, err, sizeof err), MLC_EINVAL);
    json_t *h = NULL;
    assert_int_equal(mlc_jwt_peek_header(none, &h, err, sizeof err), MLC_OK);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "none");
    json_decref(h);
    json_decref(claims);
    free(rsa);
    free(rsapub);
    free(ec);
}

static void test_oauth1(void **state)
{
    struct mlc_buf b;
    mlc_buf_init(&b, 4096);
    assert_int_equal(mlc_oauth1_encode("Ladies + Gentlemen", &b), MLC_OK);
    assert_string_equal(b.data, "Ladies%20%2B%20Gentlemen");
    mlc_buf_reset(&b);
    assert_int_equal(mlc_oauth1_encode("An encoded string!", &b), MLC_OK);
    assert_string_equal(b.data, "An%20encoded%20string%21");
    mlc_buf_reset(&b);
    assert_int_equal(mlc_oauth1_encode("Dogs, Cats & Mice", &b), MLC_OK);
    assert_string_equal(b.data, "Dogs%2C%20Cats%20%26%20Mice");
    mlc_buf_reset(&b);
    assert_int_equal(mlc_oauth1_encode("\xe2\x98\x83", &b), MLC_OK);
    assert_string_equal(b.data, "%E2%98%83");
    mlc_buf_reset(&b);

    /* RFC 5849 section 3.4.1.1 example (the signature method there is HMAC-SHA1: only the base
     * string is compared). */
    struct mlc_oauth1_param p[] = {
        {"b5", "=%3D"}, {"a3", "a"}, {"c@", ""}, {"a2", "r b"},
        {"oauth_consumer_key", "9djdj82h48djs9d2"}, {"oauth_token", "kkk9d7dh3k39sjv7"},
        {"oauth_signature_method", "HMAC-SHA1"}, {"oauth_timestamp", "137131201"},
        {"oauth_nonce", "7d8f3e4a"}, {"c2", ""}, {"a3", "2 q"},
    };
    assert_int_equal(mlc_oauth1_base_string("post", "http://example.com/request", p,
                                            sizeof p / sizeof p[0], &b),
                     MLC_OK);
    assert_string_equal(
        b.data,
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D"
        "%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f"
        "3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3D"
        "kkk9d7dh3k39sjv7");
    char sig[48];
    mlc_oauth1_sign(b.data, "cs", "ts", sig);
    assert_true(mlc_oauth1_verify(b.data, "cs", "ts", sig));
    assert_false(mlc_oauth1_verify(b.data, "cs", "other", sig));
    mlc_buf_free(&b);

    /* header round trip */
    struct mlc_oauth1_param q[] = {{"limit", "10"}, {"offset", "0"}};
    char *hdr = NULL;
    assert_int_equal(mlc_oauth1_authorization("POST", "https://h/x", q, 2, "123_SB1", "ck", "cs",
                                              "tk", "ts", "abcdef12", 1700000000, &hdr),
                     MLC_OK);
    assert_non_null(strstr(hdr, "OAuth realm=\"123_SB1\""));
    struct mlc_oauth1_param *out = NULL;
    size_t n = 0;
    assert_int_equal(mlc_oauth1_parse_header(hdr, &out, &n), MLC_OK);
    assert_int_equal(n, 8);
    assert_string_equal(out[0].k, "realm");
    assert_string_equal(out[7].k, "oauth_signature");
    mlc_oauth1_params_free(out, n);
    free(hdr);
    assert_int_equal(mlc_oauth1_parse_header("Bearer x", &out, &n), MLC_EINVAL);
    assert_int_equal(mlc_oauth1_parse_header("OAuth a=\"b", &out, &n), MLC_EINVAL);
    assert_int_equal(mlc_oauth1_parse_header("OAuth a=\"%zz\"", &out, &n), MLC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_vectors), cmocka_unit_test(test_certificates),
        cmocka_unit_test(test_jwt_ec),         cmocka_unit_test(test_jwt_rsa),
        cmocka_unit_test(test_jwt_refusals),   cmocka_unit_test(test_oauth1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
