/* Unit tests of the Dataverse client's pure parts: key quoting and escaping, URL safety, binds,
 * OData-EntityId, UpsertMultiple bodies (no key columns), Dataverse and Entra error parsing (the
 * reference samples, HTML pages, truncated JSON), Retry-After (seconds and HTTP-date), the Entra
 * certificate assertion (PS256 with x5t#S256), and settings validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/dataverse/internal.h"
#include "mlc/crypto.h"
#include "mlc/net.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *sample(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", MLC_SAMPLES_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 16);
    *len = fread(buf, 1, (1 << 16) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static char *segment(json_t *key, bool url)
{
    struct mlc_buf b;
    mlc_buf_init(&b, 4096);
    enum mlc_rc rc = mlc_dv_key_segment(key, url, &b);
    json_decref(key);
    if (rc != MLC_OK) {
        mlc_buf_free(&b);
        return NULL;
    }
    return b.data;
}

static void test_key_quoting(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        bool url;
        const char *want;
    } cases[] = {
        {"123", false, "(mlc_netsuitecustomerid='123')"},
        {"O'Brien", false, "(mlc_netsuitecustomerid='O''Brien')"},
        {"''", false, "(mlc_netsuitecustomerid='''''')"},
        {"O'Brien & Co", true, "(mlc_netsuitecustomerid='O''Brien%20%26%20Co')"},
        {"#1 caf\xc3\xa9", true, "(mlc_netsuitecustomerid='%231%20caf%C3%A9')"},
        {"", false, "(mlc_netsuitecustomerid='')"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s =
            segment(json_pack("{s:s}", "mlc_netsuitecustomerid", cases[i].value), cases[i].url);
        assert_non_null(s);
        assert_string_equal(s, cases[i].want);
        free(s);
    }
    /* numbers unquoted, several columns in order */
    json_t *k = json_object();
    json_object_set_new(k, "a", json_string("x"));
    json_object_set_new(k, "b", json_integer(5));
    char *s = segment(k, false);
    assert_string_equal(s, "(a='x',b=5)");
    free(s);
    /* refused: empty key, nested values, column names with syntax in them */
    assert_null(segment(json_object(), false));
    assert_null(segment(json_pack("{s:[]}", "a"), false));
    assert_null(segment(json_pack("{s:s}", "a)b", "x"), false));
}

static void test_url_safety_and_refs(void **state)
{
    (void)state;
    const char *unsafe[] = {"a/b", "a<b",  "a>b", "a*b", "50%",      "a&b",
                            "a:b", "a\\b", "a?b", "a+b", "tab\there"};
    for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++) {
        json_t *k = json_pack("{s:s}", "c", unsafe[i]);
        assert_false(mlc_dv_key_url_safe(k));
        json_decref(k);
    }
    json_t *k = json_pack("{s:s, s:i}", "c", "O'Brien #1 caf\xc3\xa9", "n", 3);
    assert_true(mlc_dv_key_url_safe(k));
    char *bind = mlc_dv_bind_key("accounts", k);
    assert_string_equal(bind, "/accounts(c='O''Brien #1 caf\xc3\xa9',n=3)");
    free(bind);
    json_decref(k);
    char ref[100];
    mlc_dv_bind_id("pricelevels", "0c6e1f2a-0000-0000-0000-000000000001", ref, sizeof ref);
    assert_string_equal(ref, "/pricelevels(0c6e1f2a-0000-0000-0000-000000000001)");
    char id[37];
    assert_int_equal(mlc_dv_entity_id_parse("https://contoso.crm.dynamics.com/api/data/v9.2/"
                                            "accounts(7f3c9a52-1b2d-4e5f-8a9b-0c1d2e3f4a5b)",
                                            id),
                     MLC_OK);
    assert_string_equal(id, "7f3c9a52-1b2d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_int_equal(mlc_dv_entity_id_parse("https://x/accounts(mlc_x='1')", id), MLC_EINVAL);
    assert_int_equal(mlc_dv_entity_id_parse(NULL, id), MLC_EINVAL);
    assert_int_equal(mlc_dv_entity_id_parse("", id), MLC_EINVAL);
    /* the sample upsert answer */
    size_t len;
    char *msg = sample("dataverse-upsert-response.http", &len);
    char *h = strstr(msg, "OData-EntityId: ");
    assert_non_null(h);
    h += 16;
    h[strcspn(h, "\r\n")] = '\0';
    assert_int_equal(mlc_dv_entity_id_parse(h, id), MLC_OK);
    assert_string_equal(id, "7f3c9a52-1b2d-4e5f-8a9b-0c1d2e3f4a5b");
    free(msg);
    /* path keys (the change-set fallback) round-trip quoting */
    char set[64];
    json_t *pk = NULL;
    assert_true(
        dv_path_key("/accounts(mlc_netsuitecustomerid='O''Brien',n=7)", set, sizeof set, &pk));
    assert_string_equal(set, "accounts");
    assert_string_equal(json_string_value(json_object_get(pk, "mlc_netsuitecustomerid")),
                        "O'Brien");
    assert_int_equal(json_integer_value(json_object_get(pk, "n")), 7);
    json_decref(pk);
    assert_false(
        dv_path_key("accounts(0c6e1f2a-0000-0000-0000-000000000001)", set, sizeof set, &pk));
    char col[64];
    dv_id_column("accounts", col, sizeof col);
    assert_string_equal(col, "accountid");
    dv_id_column("transactioncurrencies", col, sizeof col);
    assert_string_equal(col, "transactioncurrencyid");
}

static void test_upsert_multiple_body(void **state)
{
    (void)state;
    struct mlc_dv_row r[2] = {
        {.key = json_pack("{s:s}", "mlc_netsuitecustomerid", "O'1"),
         .body = json_pack("{s:s, s:s}", "name", "A", "mlc_netsuitecustomerid", "O'1")},
        {.key = json_pack("{s:s}", "mlc_netsuitecustomerid", "2/x"),
         .body = json_pack("{s:s}", "name", "B")},
    };
    struct mlc_dv_row *rp[2] = {&r[0], &r[1]};
    json_t *b = dv_upsert_multiple_body("account", "accounts", rp, 2);
    json_t *t = json_object_get(b, "Targets");
    assert_int_equal(json_array_size(t), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *x = json_array_get(t, i);
        assert_null(json_object_get(x, "mlc_netsuitecustomerid")); /* key columns left out */
        assert_string_equal(json_string_value(json_object_get(x, "@odata.type")),
                            "Microsoft.Dynamics.CRM.account");
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(t, 0), "@odata.id")),
                        "accounts(mlc_netsuitecustomerid='O''1')");
    /* a key a URL cannot carry is fine in the body */
    assert_string_equal(json_string_value(json_object_get(json_array_get(t, 1), "@odata.id")),
                        "accounts(mlc_netsuitecustomerid='2/x')");
    assert_string_equal(json_string_value(json_object_get(json_array_get(t, 0), "name")), "A");
    /* the caller's body is untouched */
    assert_non_null(json_object_get(r[0].body, "mlc_netsuitecustomerid"));
    json_decref(b);
    for (int i = 0; i < 2; i++) {
        json_decref(r[i].key);
        json_decref(r[i].body);
    }
}

static void test_error_parsing(void **state)
{
    (void)state;
    struct mlc_dv_err e;
    size_t len;
    char *s = sample("entra-error-invalid-client.json", &len);
    memset(&e, 0, sizeof e);
    mlc_dv_entra_error_parse(401, s, len, &e);
    assert_non_null(strstr(e.msg, "invalid_client"));
    assert_non_null(strstr(e.msg, "AADSTS7000215: Invalid client secret provided."));
    assert_null(strstr(e.msg, "Trace ID"));
    assert_string_equal(e.cls, "entra:invalid_client:7000215");
    assert_false(e.retryable);
    free(s);
    memset(&e, 0, sizeof e);
    mlc_dv_entra_error_parse(503, "<html>busy</html>", 17, &e);
    assert_true(e.retryable);
    assert_non_null(strstr(e.msg, "HTML"));
    s = sample("dataverse-error-412-key-exists.json", &len);
    memset(&e, 0, sizeof e);
    mlc_dv_error_parse(412, s, len, &e);
    assert_string_equal(e.code, "");
    assert_non_null(strstr(e.msg, "A record with matching key values already exists."));
    assert_false(e.retryable);
    free(s);
    s = sample("dataverse-error-429.json", &len);
    memset(&e, 0, sizeof e);
    mlc_dv_error_parse(429, s, len, &e);
    assert_string_equal(e.code, "0x80072322");
    assert_true(e.retryable);
    free(s);
    memset(&e, 0, sizeof e);
    mlc_dv_error_parse(502, "<!DOCTYPE html><html>Bad gateway", 32, &e);
    assert_true(e.retryable);
    assert_non_null(strstr(e.msg, "HTML page"));
    memset(&e, 0, sizeof e);
    mlc_dv_error_parse(400, "{\"error\":{\"code\":\"0x8", 20, &e); /* truncated JSON */
    assert_false(e.retryable);
    assert_non_null(strstr(e.msg, "unreadable"));
    memset(&e, 0, sizeof e);
    mlc_dv_error_parse(404, NULL, 0, &e);
    assert_non_null(strstr(e.msg, "no error body"));
}

static void test_retry_after(void **state)
{
    (void)state;
    int64_t now = 1796323200000LL; /* Thu, 2026-12-03 18:40:00 UTC */
    assert_int_equal(mlc_net_parse_retry_after("7", now), 7000);
    assert_int_equal(mlc_net_parse_retry_after(" 0", now), 0);
    assert_int_equal(mlc_net_parse_retry_after("99999", now), 3600000);
    assert_int_equal(mlc_net_parse_retry_after("Thu, 03 Dec 2026 18:40:30 GMT", now), 30000);
    assert_int_equal(mlc_net_parse_retry_after("Thu, 03 Dec 2026 18:39:00 GMT", now), 0);
    assert_int_equal(mlc_net_parse_retry_after("soon", now), -1);
    assert_int_equal(mlc_net_parse_retry_after(NULL, now), -1);
}

static const char *pem_of(const char *what)
{
    static char *key, *cert;
    if (!key) {
        char err[200];
        assert_int_equal(mlc_key_generate(MLC_KEY_RSA3072, &key, NULL, err, sizeof err), MLC_OK);
        struct mlc_cert_spec spec = {.common_name = "mlc-test", .days = 2};
        assert_int_equal(mlc_x509_self_signed(key, &spec, &cert, err, sizeof err), MLC_OK);
    }
    return strcmp(what, "key") == 0 ? key : cert;
}

static void test_entra_assertion(void **state)
{
    (void)state;
    char *jwt = NULL, err[200];
    const char *url = "https://login.example/tenant/oauth2/v2.0/token";
    assert_int_equal(mlc_entra_assertion(pem_of("cert"), pem_of("key"), "client-1", url, 1796320800,
                                         &jwt, err, sizeof err),
                     MLC_OK);
    json_t *h = NULL, *c = NULL;
    assert_int_equal(mlc_jwt_verify(jwt, pem_of("cert"), &h, &c, err, sizeof err), MLC_OK);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "PS256");
    uint8_t d[32];
    size_t dl;
    assert_int_equal(mlc_x509_thumbprint(pem_of("cert"), true, d, &dl, err, sizeof err), MLC_OK);
    char *want = mlc_base64_encode(d, dl, true);
    assert_string_equal(json_string_value(json_object_get(h, "x5t#S256")), want);
    free(want);
    assert_string_equal(json_string_value(json_object_get(c, "aud")), url);
    assert_string_equal(json_string_value(json_object_get(c, "iss")), "client-1");
    assert_string_equal(json_string_value(json_object_get(c, "sub")), "client-1");
    assert_int_equal(json_integer_value(json_object_get(c, "exp")), 1796320800 + 600);
    assert_non_null(json_string_value(json_object_get(c, "jti")));
    json_decref(h);
    json_decref(c);
    free(jwt);
    assert_int_equal(
        mlc_entra_assertion("not a cert", pem_of("key"), "c", url, 1, &jwt, err, sizeof err),
        MLC_EINVAL);
}

static void test_settings(void **state)
{
    (void)state;
    struct mlc_dv_settings s = {.url = "https://org.crm4.dynamics.com/",
                                .tenant_id = "t-1",
                                .client_id = "c-1",
                                .client_secret = "x"};
    struct mlc_dataverse *dv = NULL;
    char err[300];
    assert_int_equal(mlc_dataverse_new(&s, NULL, NULL, &dv, err, sizeof err), MLC_OK);
    assert_string_equal(dv->scope, "https://org.crm4.dynamics.com/.default");
    assert_string_equal(dv->token_url, "https://login.microsoftonline.com/t-1/oauth2/v2.0/token");
    assert_string_equal(dv->api, "https://org.crm4.dynamics.com/api/data/v9.2/");
    assert_int_equal(dv->set.bulk_chunk, 200);
    assert_int_equal(dv->set.max_concurrency, 16);
    mlc_dataverse_free(dv);
    s.authority_url = "https://login.sandbox:8444/";
    assert_int_equal(mlc_dataverse_new(&s, NULL, NULL, &dv, err, sizeof err), MLC_OK);
    assert_string_equal(dv->token_url, "https://login.sandbox:8444/t-1/oauth2/v2.0/token");
    mlc_dataverse_free(dv);
    struct mlc_dv_settings bad = s;
    bad.url = "https://user@org.crm.dynamics.com";
    assert_int_equal(mlc_dataverse_new(&bad, NULL, NULL, &dv, err, sizeof err), MLC_EINVAL);
    assert_non_null(strstr(err, "MLC_DATAVERSE_URL"));
    bad = s;
    bad.federated_token_path = "/var/run/token";
    assert_int_equal(mlc_dataverse_new(&bad, NULL, NULL, &dv, err, sizeof err), MLC_EINVAL);
    assert_non_null(strstr(err, "one credential"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_quoting),
        cmocka_unit_test(test_url_safety_and_refs),
        cmocka_unit_test(test_upsert_multiple_body),
        cmocka_unit_test(test_error_parsing),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_entra_assertion),
        cmocka_unit_test(test_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
