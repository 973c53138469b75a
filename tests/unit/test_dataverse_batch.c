/* Unit tests of the Dataverse client's $batch: building (parts, change sets, Content-IDs, CRLF)
 * and parsing answers (the reference sample, a failed change set, continue-on-error, bad input:
 * missing boundary, truncation, HTML, LF-only line ends). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mlc/dataverse.h"

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
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* Splits an HTTP message file into its Content-Type header and body. */
static const char *http_body(const char *msg, char *ctype, size_t ctsz)
{
    const char *ct = strstr(msg, "Content-Type: ");
    assert_non_null(ct);
    size_t l = strcspn(ct + 14, "\r\n");
    snprintf(ctype, ctsz, "%.*s", (int)l, ct + 14);
    const char *b = strstr(msg, "\r\n\r\n");
    assert_non_null(b);
    return b + 4;
}

static void test_parse_reference_sample(void **state)
{
    (void)state;
    size_t len;
    char *msg = sample("dataverse-batch-response.http", &len);
    char ct[200], err[200];
    const char *body = http_body(msg, ct, sizeof ct);
    struct mlc_dv_part *p = NULL;
    size_t n = 0;
    assert_int_equal(
        mlc_dv_batch_parse(ct, body, len - (size_t)(body - msg), &p, &n, err, sizeof err), MLC_OK);
    assert_int_equal(n, 3);
    assert_int_equal(p[0].status, 204);
    assert_int_equal(p[0].changeset, 1);
    assert_string_equal(p[0].content_id, "1");
    assert_string_equal(p[0].entity_id, "2b8e4c10-0000-0000-0000-00000000aa01");
    assert_int_equal(p[1].status, 204);
    assert_string_equal(p[1].content_id, "2");
    assert_string_equal(p[1].entity_id, "2b8e4c10-0000-0000-0000-00000000bb01");
    assert_int_equal(p[2].status, 200);
    assert_int_equal(p[2].changeset, 0);
    json_t *j = json_loads(p[2].body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "Northwind Traders");
    json_decref(j);
    mlc_dv_parts_free(p, n);
    free(msg);
}

static const char failed_cs[] =
    "--batchresponse_1\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "Content-ID: 2\r\n"
    "\r\n"
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Type: application/json; odata.metadata=minimal\r\n"
    "\r\n"
    "{\"error\":{\"code\":\"0x80060891\",\"message\":\"Upsert by alternate key is not supported "
    "inside a change set.\"}}\r\n"
    "--batchresponse_1\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "\r\n"
    "HTTP/1.1 412 Precondition Failed\r\n"
    "Content-Type: application/json\r\n"
    "\r\n"
    "{\"error\":{\"code\":\"0x80040237\",\"message\":\"Cannot insert duplicate key.\"}}\r\n"
    "--batchresponse_1\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "\r\n"
    "HTTP/1.1 204 No Content\r\n"
    "OData-EntityId: "
    "https://x.crm.dynamics.com/api/data/v9.2/accounts(7F3C9A52-1B2D-4E5F-8A9B-0C1D2E3F4A5B)\r\n"
    "\r\n"
    "\r\n"
    "--batchresponse_1--\r\n";

static void test_parse_failed_changeset_and_continue_on_error(void **state)
{
    (void)state;
    struct mlc_dv_part *p = NULL;
    size_t n = 0;
    char err[200];
    assert_int_equal(mlc_dv_batch_parse("multipart/mixed; boundary=batchresponse_1", failed_cs,
                                        strlen(failed_cs), &p, &n, err, sizeof err),
                     MLC_OK);
    assert_int_equal(n, 3);
    /* a failed change set answers once, outside any change set */
    assert_int_equal(p[0].status, 400);
    assert_int_equal(p[0].changeset, 0);
    struct mlc_dv_err e;
    memset(&e, 0, sizeof e);
    mlc_dv_error_parse(p[0].status, p[0].body, p[0].body_len, &e);
    assert_string_equal(e.code, "0x80060891");
    assert_false(e.retryable);
    /* continue-on-error: the parts after a failure are answered */
    assert_int_equal(p[1].status, 412);
    assert_int_equal(p[2].status, 204);
    assert_string_equal(p[2].entity_id, "7f3c9a52-1b2d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_int_equal(p[2].body_len, 0);
    mlc_dv_parts_free(p, n);
}

static void test_parse_bad_input(void **state)
{
    (void)state;
    struct mlc_dv_part *p = NULL;
    size_t n = 0;
    char err[200];
    /* no boundary in the Content-Type */
    assert_int_equal(mlc_dv_batch_parse("multipart/mixed", failed_cs, strlen(failed_cs), &p, &n,
                                        err, sizeof err),
                     MLC_EINVAL);
    assert_non_null(strstr(err, "boundary"));
    /* an HTML error page answered 200 */
    const char html[] = "<html><body>Service Unavailable</body></html>";
    assert_int_equal(mlc_dv_batch_parse("text/html", html, strlen(html), &p, &n, err, sizeof err),
                     MLC_EINVAL);
    /* a boundary the body never uses */
    assert_int_equal(mlc_dv_batch_parse("multipart/mixed; boundary=other", failed_cs,
                                        strlen(failed_cs), &p, &n, err, sizeof err),
                     MLC_EINVAL);
    /* every truncation of a valid answer is an error or a prefix, never a crash */
    size_t len = strlen(failed_cs);
    for (size_t cut = 0; cut + 2 < len; cut++) { /* the final CRLF is optional */
        enum mlc_rc rc = mlc_dv_batch_parse("multipart/mixed; boundary=batchresponse_1", failed_cs,
                                            cut, &p, &n, err, sizeof err);
        assert_int_equal(rc, MLC_EINVAL);
    }
    /* a part without a status line */
    const char nostatus[] = "--b\r\nContent-Type: application/http\r\n\r\nnot http\r\n--b--\r\n";
    assert_int_equal(mlc_dv_batch_parse("multipart/mixed; boundary=\"b\"", nostatus,
                                        strlen(nostatus), &p, &n, err, sizeof err),
                     MLC_EINVAL);
    /* LF-only line ends are tolerated */
    const char lf[] = "--b\nContent-Type: application/http\n\nHTTP/1.1 204 No Content\n\n\n--b--\n";
    assert_int_equal(
        mlc_dv_batch_parse("multipart/mixed; boundary=b", lf, strlen(lf), &p, &n, err, sizeof err),
        MLC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(p[0].status, 204);
    mlc_dv_parts_free(p, n);
}

static void test_build(void **state)
{
    (void)state;
    json_t *b1 = json_pack("{s:s}", "name", "SO5501");
    json_t *b2 = json_pack("{s:s, s:i}", "salesorderid@odata.bind",
                           "/salesorders(mlc_netsuitesalesorderid='5501')", "quantity", 2);
    struct mlc_dv_op ops[] = {
        {.method = "PATCH",
         .path = "salesorders(mlc_netsuitesalesorderid='5501')",
         .body = b1,
         .changeset = 1},
        {.method = "GET", .path = "accounts(mlc_netsuitecustomerid='1107')?$select=accountid"},
        {.method = "PATCH",
         .path = "salesorderdetails(mlc_netsuitelinekey='88123')",
         .body = b2,
         .changeset = 1,
         .if_match = "*"},
    };
    struct mlc_buf out;
    mlc_buf_init(&out, 1 << 20);
    char bnd[64];
    assert_int_equal(mlc_dv_batch_build(ops, 3, "https://c.crm.dynamics.com/api/data/v9.2/", bnd,
                                        sizeof bnd, &out),
                     MLC_OK);
    assert_memory_equal(bnd, "batch_", 6);
    /* the change set keeps its two parts together, numbered, before the GET */
    const char *cs = strstr(out.data, "Content-Type: multipart/mixed; boundary=changeset_");
    const char *id1 = strstr(out.data, "Content-ID: 1\r\n");
    const char *id2 = strstr(out.data, "Content-ID: 2\r\n");
    const char *get = strstr(out.data, "GET https://c.crm.dynamics.com/api/data/v9.2/accounts(");
    assert_non_null(cs);
    assert_non_null(id1);
    assert_non_null(id2);
    assert_non_null(get);
    assert_true(cs < id1 && id1 < id2 && id2 < get);
    assert_non_null(strstr(out.data, "PATCH https://c.crm.dynamics.com/api/data/v9.2/"
                                     "salesorderdetails(mlc_netsuitelinekey='88123') HTTP/1.1\r\n"
                                     "Content-Type: application/json\r\nIf-Match: *\r\n\r\n"));
    /* CRLF everywhere: no bare LF */
    for (size_t i = 0; i < out.len; i++)
        if (out.data[i] == '\n')
            assert_int_equal(out.data[i - 1], '\r');
    char closing[80];
    snprintf(closing, sizeof closing, "--%s--\r\n", bnd);
    assert_string_equal(out.data + out.len - strlen(closing), closing);
    mlc_buf_free(&out);
    json_decref(b1);
    json_decref(b2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_reference_sample),
        cmocka_unit_test(test_parse_failed_changeset_and_continue_on_error),
        cmocka_unit_test(test_parse_bad_input),
        cmocka_unit_test(test_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
