/* Unit tests of the NetSuite client's pure parts: the M2M assertion (PS256 and ES256 checked with
 * OpenSSL directly, not through the project's verifier), the TBA header against a signature
 * computed by Python's hmac, percent-encoding edge cases, the SuiteQL page parser, error-body
 * mapping, account IDs, Retry-After and UTC datetimes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mlc/crypto.h"
#include "mlc/mapping.h"
#include "mlc/net.h"
#include "mlc/netsuite.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* base64url -> bytes with OpenSSL's decoder (padding and alphabet restored here). */
static size_t b64url_decode(const char *s, size_t n, unsigned char *out, size_t max)
{
    char *t = malloc(n + 4);
    size_t l = 0;
    for (size_t i = 0; i < n; i++)
        t[l++] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    size_t pad = (4 - l % 4) % 4;
    for (size_t i = 0; i < pad; i++)
        t[l++] = '=';
    assert_true(l / 4 * 3 <= max);
    int r = EVP_DecodeBlock(out, (const unsigned char *)t, (int)l);
    free(t);
    assert_true(r >= 0);
    return (size_t)r - pad;
}

static json_t *part_json(const char *s, size_t n)
{
    unsigned char buf[4096];
    size_t l = b64url_decode(s, n, buf, sizeof buf);
    json_t *j = json_loadb((const char *)buf, l, 0, NULL);
    assert_non_null(j);
    return j;
}

/* Verifies a compact JWS with OpenSSL: PS256 (PSS, MGF1-SHA256, salt = digest length) or ES256
 * (raw r||s converted to DER). */
static bool openssl_verify(const char *jwt, const char *pub_pem, const char *alg)
{
    const char *d1 = strchr(jwt, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    assert_non_null(d2);
    unsigned char sig[1024];
    size_t sl = b64url_decode(d2 + 1, strlen(d2 + 1), sig, sizeof sig);
    BIO *bio = BIO_new_mem_buf(pub_pem, -1);
    EVP_PKEY *pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(pk);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    assert_int_equal(EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pk), 1);
    unsigned char der[256];
    const unsigned char *vsig = sig;
    size_t vlen = sl;
    if (strcmp(alg, "PS256") == 0) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()), 1);
    } else {
        assert_int_equal(sl, 64); /* JWS ES256: 32-byte r and s, not DER */
        ECDSA_SIG *es = ECDSA_SIG_new();
        ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
        unsigned char *p = der;
        int dl = i2d_ECDSA_SIG(es, &p);
        ECDSA_SIG_free(es);
        assert_true(dl > 0);
        vsig = der;
        vlen = (size_t)dl;
    }
    int ok = EVP_DigestVerify(md, vsig, vlen, (const unsigned char *)jwt, (size_t)(d2 - jwt));
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    return ok == 1;
}

static void check_assertion(enum mlc_key_type kt, const char *alg)
{
    char *priv = NULL, *pub = NULL, err[256];
    assert_int_equal(mlc_key_generate(kt, &priv, &pub, err, sizeof err), MLC_OK);
    char keyalg[8];
    assert_int_equal(mlc_jwt_alg_for_key(priv, keyalg, sizeof keyalg), MLC_OK);
    assert_string_equal(keyalg, alg); /* the key decides */
    const char *aud =
        "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token";
    char *jwt = NULL;
    assert_int_equal(mlc_ns_assertion(alg, "cert-ID_1", "client-1", "rest_webservices", aud,
                                      1767225600, priv, &jwt, err, sizeof err),
                     MLC_OK);
    const char *d1 = strchr(jwt, '.');
    const char *d2 = strchr(d1 + 1, '.');
    json_t *h = part_json(jwt, (size_t)(d1 - jwt));
    json_t *c = part_json(d1 + 1, (size_t)(d2 - d1 - 1));
    assert_string_equal(json_string_value(json_object_get(h, "alg")), alg);
    assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
    assert_string_equal(json_string_value(json_object_get(h, "kid")), "cert-ID_1");
    assert_string_equal(json_string_value(json_object_get(c, "iss")), "client-1");
    assert_string_equal(json_string_value(json_object_get(c, "scope")), "rest_webservices");
    assert_string_equal(json_string_value(json_object_get(c, "aud")), aud);
    json_int_t iat = json_integer_value(json_object_get(c, "iat"));
    json_int_t exp = json_integer_value(json_object_get(c, "exp"));
    assert_int_equal(iat, 1767225600);
    assert_true(exp > iat && exp - iat < 3600);
    assert_true(openssl_verify(jwt, pub, alg));
    /* one changed claim byte breaks the signature */
    char *bad = strdup(jwt);
    bad[d1 - jwt + 3] = bad[d1 - jwt + 3] == 'A' ? 'B' : 'A';
    assert_false(openssl_verify(bad, pub, alg));
    /* an alg that does not fit the key is refused */
    assert_int_not_equal(mlc_ns_assertion(alg[0] == 'P' ? "ES256" : "PS256", "k", "c", NULL, aud,
                                          1767225600, priv, &jwt, err, sizeof err),
                         MLC_OK);
    free(bad);
    json_decref(h);
    json_decref(c);
    free(jwt);
    free(priv);
    free(pub);
}

static void test_assertion_ps256(void **state)
{
    (void)state;
    check_assertion(MLC_KEY_RSA3072, "PS256");
}

static void test_assertion_es256(void **state)
{
    (void)state;
    check_assertion(MLC_KEY_EC_P256, "ES256");
}

/* Expected values computed independently with Python 3 (RFC 5849 section 3.4 by hand):
 *
 *   import hmac, hashlib, base64, urllib.parse
 *   enc = lambda s: urllib.parse.quote(s, safe='-._~')
 *   url = 'https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql'
 *   query = [('limit','1000'),('offset','2000'),('q x','a+b c~*\u00e9!')]
 *   ck, cs, tid, ts = 'ck-\u00c41', 'cs secret&/=', 'tok~id', 'ts*secret%'
 *   oauth = [('oauth_consumer_key',ck),('oauth_token',tid),('oauth_signature_method',
 *            'HMAC-SHA256'),('oauth_timestamp','1767225600'),('oauth_nonce','n0nce-6chars'),
 *            ('oauth_version','1.0')]
 *   ps = '&'.join(k+'='+v for k,v in sorted((enc(k),enc(v)) for k,v in oauth+query))
 *   base = '&'.join(['POST', enc(url), enc(ps)])
 *   sig = base64.b64encode(hmac.new((enc(cs)+'&'+enc(ts)).encode(), base.encode(),
 *                                   hashlib.sha256).digest()).decode()
 *
 * The URL carries the query as urllib.parse.urlencode(query, quote_via=urllib.parse.quote). */
/* The Authorization header of a POST to url with the credentials of the Python computation. */
static char *tba_header(const char *url)
{
    char *h = NULL;
    assert_int_equal(mlc_ns_tba_header("POST", url, "1234567_SB1",
                                       "ck-\xc3\x84"
                                       "1",
                                       "cs secret&/=", "tok~id", "ts*secret%", "n0nce-6chars",
                                       1767225600, &h),
                     MLC_OK);
    return h;
}

static void test_tba_signature_python(void **state)
{
    (void)state;
    const char *url = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/"
                      "suiteql?limit=1000&offset=2000&q%20x=a%2Bb%20c~%2A%C3%A9%21";
    char *h = tba_header(url);
    assert_non_null(
        strstr(h, "oauth_signature=\"MTOivkLfdAJpW0kHwgcdizzlITlkMGJcLbhLLhp2v1I%3D\""));
    /* realm in the account's original form, not the host form */
    assert_true(strncmp(h, "OAuth realm=\"1234567_SB1\"", 25) == 0);
    assert_non_null(strstr(h, "oauth_signature_method=\"HMAC-SHA256\""));
    assert_non_null(strstr(h, "oauth_consumer_key=\"ck-%C3%841\""));
    free(h);
    /* the same request with another query value signs differently */
    const char *url2 = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/"
                       "suiteql?limit=1000&offset=3000&q%20x=a%2Bb%20c~%2A%C3%A9%21";
    h = tba_header(url2);
    assert_null(strstr(h, "MTOivkLfdAJpW0kHwgcdizzlITlkMGJcLbhLLhp2v1I"));
    free(h);
}

static void test_percent_encoding(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"AZaz09-._~", "AZaz09-._~"},
        {" ", "%20"},
        {"+", "%2B"},
        {"*", "%2A"},
        {"%", "%25"},
        {"/?&=", "%2F%3F%26%3D"},
        {"\xc3\xa9", "%C3%A9"},
        {"\x7f\x01", "%7F%01"},
        {"a b+c", "a%20b%2Bc"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mlc_buf b;
        mlc_buf_init(&b, 1024);
        assert_int_equal(mlc_oauth1_encode(cases[i].in, &b), MLC_OK);
        assert_string_equal(b.data ? b.data : "", cases[i].out);
        mlc_buf_free(&b);
    }
}

static void test_page_parse(void **state)
{
    (void)state;
    const char *body =
        "{\"links\":[{\"rel\":\"next\",\"href\":\"x\"}],\"count\":3,\"hasMore\":true,"
        "\"items\":[{\"links\":[],\"id\":\"17\",\"creditlimit\":\"1500.5\",\"isinactive\":\"F\"},"
        "{\"links\":[],\"id\":18,\"creditlimit\":2500.25},"
        "{\"links\":[],\"id\":\"19\"}],\"offset\":1000,\"totalResults\":25000}";
    struct mlc_ns_page p;
    char err[256];
    assert_int_equal(mlc_ns_page_parse(body, strlen(body), &p, err, sizeof err), MLC_OK);
    assert_true(p.has_more);
    assert_int_equal(p.total, 25000);
    assert_int_equal(p.offset, 1000);
    assert_int_equal(json_array_size(p.items), 3);
    json_t *r0 = json_array_get(p.items, 0), *r1 = json_array_get(p.items, 1),
           *r2 = json_array_get(p.items, 2);
    assert_null(json_object_get(r0, "links"));
    long long id;
    double d;
    char txt[32];
    assert_true(mlc_ns_row_i64(r0, "id", &id) && id == 17);
    assert_true(mlc_ns_row_i64(r1, "id", &id) && id == 18);
    assert_true(mlc_ns_row_double(r0, "creditlimit", &d) && d == 1500.5);
    assert_true(mlc_ns_row_double(r1, "creditlimit", &d) && d == 2500.25);
    assert_false(mlc_ns_row_double(r2, "creditlimit", &d)); /* missing key = NULL */
    assert_null(mlc_ns_row_str(r2, "creditlimit"));
    assert_false(mlc_ns_row_text(r2, "email", txt, sizeof txt));
    assert_true(mlc_ns_row_text(r1, "id", txt, sizeof txt));
    assert_string_equal(txt, "18");
    assert_string_equal(mlc_ns_row_str(r0, "isinactive"), "F");
    assert_false(mlc_ns_row_i64(r0, "creditlimit", &id)); /* 1500.5 is not an integer */
    mlc_ns_page_free(&p);

    static const char *const bad[] = {
        "<html><body>Service Unavailable</body></html>",
        "",
        "{\"items\":[],\"hasMore\":fals",
        "{\"items\":{},\"hasMore\":false}",
        "{\"items\":[]}",
        "{\"items\":[],\"hasMore\":\"false\"}",
        "{\"items\":[1,2],\"hasMore\":false}",
        "{\"items\":[{\"id\":{\"x\":1}}],\"hasMore\":false}",
        "{\"items\":[{\"id\":[1]}],\"hasMore\":false}",
        "[]",
        "{\"items\":[],\"hasMore\":false,\"hasMore\":true}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(mlc_ns_page_parse(bad[i], strlen(bad[i]), &p, err, sizeof err),
                         MLC_EINVAL);
        assert_true(strlen(err) > 0);
        assert_null(p.items);
    }
    const char *empty = "{\"items\":[],\"hasMore\":false,\"count\":0}";
    assert_int_equal(mlc_ns_page_parse(empty, strlen(empty), &p, err, sizeof err), MLC_OK);
    assert_false(p.has_more);
    assert_int_equal(p.total, -1);
    mlc_ns_page_free(&p);
}

static char *sample(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", MLC_SAMPLES_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *b = calloc(1, 65536);
    *len = fread(b, 1, 65535, f);
    fclose(f);
    return b;
}

static void test_error_mapping(void **state)
{
    (void)state;
    struct mlc_ns_err e;
    const char *rec = "{\"type\":\"x\",\"title\":\"Bad Request\",\"status\":400,\"o:errorDetails\":"
                      "[{\"detail\":\"Invalid search query. Detailed unprocessed description "
                      "follows. Search error occurred: Record 'contact' was not found.\","
                      "\"o:errorCode\":\"INVALID_PARAMETER\"}]}";
    memset(&e, 0, sizeof e);
    mlc_ns_error_parse(400, rec, strlen(rec), &e);
    assert_non_null(strstr(e.msg, "the role lacks permission for contact"));
    assert_string_equal(e.cls, "permission:contact");
    assert_false(e.retryable);

    size_t l;
    char *b = sample("netsuite-error-suiteql-400.json", &l);
    mlc_ns_error_parse(400, b, l, &e);
    assert_null(strstr(e.msg, "lacks permission")); /* an unknown column is not a permission */
    assert_non_null(strstr(e.msg, "balance"));
    assert_string_equal(e.cls, "unknown_field:customer.balance");
    free(b);

    b = sample("netsuite-error-429.json", &l);
    mlc_ns_error_parse(429, b, l, &e);
    assert_true(e.retryable);
    free(b);

    const char *role = "{\"o:errorDetails\":[{\"detail\":\"Your current role does not have "
                       "permission to perform this action.\",\"o:errorCode\":\"USER_ERROR\"}]}";
    mlc_ns_error_parse(400, role, strlen(role), &e);
    assert_non_null(strstr(e.msg, "the role lacks permission for REST web services"));

    mlc_ns_error_parse(502, "<html>bad gateway</html>", 24, &e);
    assert_true(e.retryable);
    mlc_ns_error_parse(404, NULL, 0, &e);
    assert_false(e.retryable);
    const char *oauth = "{\"error\":\"invalid_grant\"}";
    mlc_ns_error_parse(400, oauth, strlen(oauth), &e);
    assert_non_null(strstr(e.msg, "invalid_grant"));
}

static void test_account_ids(void **state)
{
    (void)state;
    char host[80];
    assert_int_equal(mlc_ns_account_host("1234567_SB1", host, sizeof host), MLC_OK);
    assert_string_equal(host, "1234567-sb1");
    assert_int_equal(mlc_ns_account_host("TSTDRV12", host, sizeof host), MLC_OK);
    assert_string_equal(host, "tstdrv12");
    static const char *const bad[] = {
        "",
        "evil.com/x",
        "a b",
        "1234567.attacker",
        "x@y",
        "1234567_SB1#",
        "12345678901234567890123456789012345678901234567890123456789012345"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(mlc_ns_account_valid(bad[i]));
        assert_int_equal(mlc_ns_account_host(bad[i], host, sizeof host), MLC_EINVAL);
    }
    assert_false(mlc_ns_account_valid(NULL));
}

static void test_retry_classes(void **state)
{
    (void)state;
    assert_int_equal(mlc_net_classify(MLC_OK, 200), MLC_NET_SUCCESS);
    assert_int_equal(mlc_net_classify(MLC_OK, 429), MLC_NET_RETRYABLE);
    assert_int_equal(mlc_net_classify(MLC_OK, 503), MLC_NET_RETRYABLE);
    assert_int_equal(mlc_net_classify(MLC_OK, 400), MLC_NET_PERMANENT);
    assert_int_equal(mlc_net_classify(MLC_OK, 404), MLC_NET_PERMANENT);
    assert_int_equal(mlc_net_classify(MLC_EUNAVAIL, 0), MLC_NET_RETRYABLE);
    assert_int_equal(mlc_net_classify(MLC_EINVAL, 0), MLC_NET_PERMANENT);
    int64_t now = 1767225600000; /* Thu, 01 Jan 2026 00:00:00 GMT */
    assert_int_equal(mlc_net_parse_retry_after("7", now), 7000);
    assert_int_equal(mlc_net_parse_retry_after(" 0", now), 0);
    assert_int_equal(mlc_net_parse_retry_after("999999999", now), 3600000);
    assert_int_equal(mlc_net_parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now), 30000);
    assert_int_equal(mlc_net_parse_retry_after("Wed, 31 Dec 2025 00:00:30 GMT", now), 0);
    assert_int_equal(mlc_net_parse_retry_after("soon", now), -1);
    assert_int_equal(mlc_net_parse_retry_after("-5", now), -1);
    assert_int_equal(mlc_net_parse_retry_after(NULL, now), -1);
}

static void test_utc(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(mlc_ns_parse_utc("2026-01-31 23:59:59", &ms), MLC_OK);
    assert_int_equal(ms, 1769903999000);
    char out[20];
    mlc_ns_format_utc(ms, out);
    assert_string_equal(out, "2026-01-31 23:59:59");
    static const char *const bad[] = {
        "2026-01-31",          "2026-02-30 00:00:00", "2026-13-01 00:00:00", "2026-01-31T23:59:59",
        "2026-01-31 24:00:00", "1/31/2026 11:59 pm",  "2026-01-31 23:59:59x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(mlc_ns_parse_utc(bad[i], &ms), MLC_EINVAL);
    assert_int_equal(mlc_ns_parse_utc(NULL, &ms), MLC_EINVAL);
}

static void test_mapping_defaults(void **state)
{
    (void)state;
    for (int k = 0; k < MLC_MAP__KINDS; k++) {
        size_t n = 0;
        const char *const *c =
            mlc_mapping_ns_columns(mlc_mapping_defaults(), (enum mlc_map_kind)k, &n);
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++)
            assert_true(mlc_mapping_column_ok(c[i]));
    }
    assert_false(mlc_mapping_column_ok("id) OR (1=1"));
    assert_false(mlc_mapping_column_ok("Email"));
    assert_false(mlc_mapping_column_ok("_x"));
    assert_false(mlc_mapping_column_ok(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assertion_ps256),
        cmocka_unit_test(test_assertion_es256),
        cmocka_unit_test(test_tba_signature_python),
        cmocka_unit_test(test_percent_encoding),
        cmocka_unit_test(test_page_parse),
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test(test_account_ids),
        cmocka_unit_test(test_retry_classes),
        cmocka_unit_test(test_utc),
        cmocka_unit_test(test_mapping_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
