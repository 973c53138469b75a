/* Unit tests: the sandbox Dataverse's $batch multipart parser (boundaries, CRLF, nested change
 * sets, application/http parts) on the reference sample. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sandbox/common.h"
#include "sandbox/dataverse/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *load_sample(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", MLC_SAMPLES_DIR, name);
    char *buf = mlc_sbx_read_file(path);
    assert_non_null(buf);
    *len = strlen(buf);
    return buf;
}

static void test_boundary(void **state)
{
    (void)state;
    char b[80];
    assert_true(dv_boundary("multipart/mixed; boundary=\"batch_6b1d0c2e\"", b, sizeof b));
    assert_string_equal(b, "batch_6b1d0c2e");
    assert_true(dv_boundary("multipart/mixed;BOUNDARY=changeset_a41f; x=y", b, sizeof b));
    assert_string_equal(b, "changeset_a41f");
    assert_false(dv_boundary("multipart/mixed", b, sizeof b));
    assert_false(dv_boundary("multipart/mixed; boundary=\"unterminated", b, sizeof b));
    assert_false(dv_boundary("multipart/mixed; boundary=", b, sizeof b));
    assert_false(dv_boundary(NULL, b, sizeof b));
}

static void test_sample(void **state)
{
    (void)state;
    size_t len;
    char *txt = load_sample("dataverse-batch-request.http", &len);
    char *body = strstr(txt, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    struct dv_part *parts = NULL;
    size_t n = 0;
    char err[256];
    assert_int_equal(
        dv_multipart_split(body, strlen(body), "batch_6b1d0c2e", &parts, &n, err, sizeof err),
        MLC_OK);
    assert_int_equal(n, 2);
    char cs[80];
    assert_true(dv_boundary(parts[0].content_type, cs, sizeof cs));
    assert_string_equal(cs, "changeset_a41f");
    struct dv_part *sub = NULL;
    size_t ns = 0;
    assert_int_equal(
        dv_multipart_split(parts[0].body, parts[0].body_len, cs, &sub, &ns, err, sizeof err),
        MLC_OK);
    assert_int_equal(ns, 2);
    assert_string_equal(sub[0].content_id, "1");
    assert_string_equal(sub[1].content_id, "2");
    struct dv_req q;
    assert_int_equal(dv_http_part_parse(sub[0].body, sub[0].body_len, &q, err, sizeof err), MLC_OK);
    assert_string_equal(q.method, "PATCH");
    assert_string_equal(q.path, "salesorders(mlc_netsuitesalesorderid='5501')");
    assert_string_equal(q.content_type, "application/json");
    assert_int_equal(q.body[0], '{');
    assert_int_equal(q.body[q.body_len - 1], '}'); /* the CRLF before the delimiter is not body */
    dv_req_free(&q);
    assert_int_equal(dv_http_part_parse(parts[1].body, parts[1].body_len, &q, err, sizeof err),
                     MLC_OK);
    assert_string_equal(q.method, "GET");
    assert_string_equal(q.path, "accounts(mlc_netsuitecustomerid='1107')");
    assert_string_equal(dv_req_query(&q, "$select"), "accountid,name");
    assert_int_equal(q.body_len, 0);
    dv_req_free(&q);
    dv_parts_free(sub, ns);
    dv_parts_free(parts, n);
    free(txt);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "no delimiter at all",
        "--b\r\nContent-Type: application/http\r\n\r\nGET x HTTP/1.1\r\n\r\n",  /* no close */
        "--b\nContent-Type: application/http\n\nGET x HTTP/1.1\n\n--b--\n",     /* LF only */
        "--b\r\nContent-Type: application/http\r\nGET x HTTP/1.1\r\n--b--\r\n", /* no blank */
        "--bx\r\n\r\n\r\n--b--",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct dv_part *parts = NULL;
        size_t n = 0;
        char err[256] = "";
        if (dv_multipart_split(bad[i], strlen(bad[i]), "b", &parts, &n, err, sizeof err) !=
            MLC_EINVAL)
            fail_msg("accepted case %zu", i);
        assert_null(parts);
        assert_true(strlen(err) > 0);
    }
    static const char *const bad_http[] = {"", "GET\r\n\r\n", "FROB x HTTP/1.1\r\n\r\n",
                                           "GET x SPDY/3\r\n\r\n",
                                           "GET https://elsewhere.example/x HTTP/1.1\r\n\r\n"};
    for (size_t i = 0; i < sizeof bad_http / sizeof bad_http[0]; i++) {
        struct dv_req q;
        char err[256] = "";
        if (dv_http_part_parse(bad_http[i], strlen(bad_http[i]), &q, err, sizeof err) != MLC_EINVAL)
            fail_msg("accepted request %zu", i);
        dv_req_free(&q);
    }
}

static void test_limits(void **state)
{
    (void)state;
    /* 1001 parts: refused with a clear message, not parsed */
    struct mlc_buf b;
    mlc_buf_init(&b, 1u << 22);
    for (int i = 0; i < 1001; i++)
        mlc_buf_printf(&b,
                       "--b\r\nContent-Type: application/http\r\n\r\nGET WhoAmI HTTP/1.1\r\n\r\n");
    mlc_buf_printf(&b, "--b--\r\n");
    struct dv_part *parts = NULL;
    size_t n = 0;
    char err[256] = "";
    assert_int_equal(dv_multipart_split(b.data, b.len, "b", &parts, &n, err, sizeof err),
                     MLC_EINVAL);
    assert_non_null(strstr(err, "1000"));
    mlc_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
