/* Unit tests: the sandbox Dataverse's OData $filter parser and evaluator (table-driven). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sandbox/dataverse/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *plain(void *ud, json_t *row, const char *path)
{
    (void)ud;
    if (strcmp(path, "parent/name") == 0)
        return json_object_get(json_object_get(row, "parent"), "name");
    return json_object_get(row, path);
}

static json_t *row(void)
{
    return json_pack("{s:s, s:i, s:f, s:b, s:n, s:s, s:s, s:{s:s}}", "name", "Northwind O'Brien",
                     "code", 3, "limit", 2500.5, "hold", 1, "empty", "id",
                     "7f3c9a52-1b2d-4e5f-8a9b-0c1d2e3f4a5b", "when", "2026-01-31T10:00:00Z",
                     "parent", "name", "Contoso");
}

static void test_eval(void **state)
{
    (void)state;
    static const struct {
        const char *f;
        bool want;
    } cases[] = {
        {"name eq 'Northwind O''Brien'", true},
        {"name eq 'NORTHWIND o''brien'", true}, /* case-insensitive collation */
        {"name ne 'x'", true},
        {"code eq 3", true},
        {"code eq 4", false},
        {"code gt 2 and code lt 4", true},
        {"code ge 4 or limit le 2500.5", true},
        {"not (code eq 3)", false},
        {"code in (1,2,3)", true},
        {"code in (1,2)", false},
        {"name in ('a','northwind o''brien')", true},
        {"hold eq true", true},
        {"empty eq null", true},
        {"empty ne null", false},
        {"missing eq null", true},
        {"name ne null and (code eq 1 or code eq 3)", true},
        {"id eq 7F3C9A52-1B2D-4E5F-8A9B-0C1D2E3F4A5B", true},
        {"when gt 2026-01-01T00:00:00Z", true},
        {"startswith(name,'north')", true},
        {"endswith(name,'brien')", true},
        {"contains(name,'wind o')", true},
        {"contains(name,'zzz')", false},
        {"parent/name eq 'contoso'", true},
        {"  code   eq   3  ", true},
        {"limit gt 'abc'", false},
    };
    json_t *r = row();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dv_filter *f = NULL;
        char err[256] = "";
        enum mlc_rc rc = dv_filter_parse(cases[i].f, &f, err, sizeof err);
        if (rc != MLC_OK)
            fail_msg("parse failed for %s: %s", cases[i].f, err);
        if (dv_filter_eval(f, r, plain, NULL) != cases[i].want)
            fail_msg("%s: expected %d", cases[i].f, cases[i].want);
        dv_filter_free(f);
    }
    json_decref(r);
}

static void test_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "name",
        "name eqq 'x'",
        "name eq",
        "name eq 'unterminated",
        "(code eq 1",
        "code eq 1)",
        "code in 1,2",
        "code in ()",
        "contains(name)",
        "contains(name, 3)",
        "eq 3",
        "code eq 3 and",
        "code eq 3 or or code eq 1",
        "1 eq code",
        "name eq 'x' garbage",
        "code eq 12abc",
        "/a eq 1",
        "a/ eq 1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct dv_filter *f = NULL;
        char err[256] = "";
        if (dv_filter_parse(bad[i], &f, err, sizeof err) != MLC_EINVAL)
            fail_msg("accepted: '%s'", bad[i]);
        assert_null(f);
        assert_true(strlen(err) > 0);
    }
    /* nesting is bounded, not a stack overflow */
    char deep[4096];
    size_t n = 0;
    for (; n < 1500; n++)
        deep[n] = '(';
    snprintf(deep + n, sizeof deep - n, "code eq 1");
    struct dv_filter *f = NULL;
    char err[256];
    assert_int_equal(dv_filter_parse(deep, &f, err, sizeof err), MLC_EINVAL);
    assert_non_null(strstr(err, "nested"));
}

static bool collect(void *ud, const char *path)
{
    json_array_append_new(ud, json_string(path));
    return true;
}

static void test_paths(void **state)
{
    (void)state;
    struct dv_filter *f = NULL;
    char err[256];
    assert_int_equal(
        dv_filter_parse("a eq 1 and (b/c eq 'x' or startswith(d,'y'))", &f, err, sizeof err),
        MLC_OK);
    json_t *paths = json_array();
    assert_true(dv_filter_paths(f, collect, paths));
    assert_int_equal(json_array_size(paths), 3);
    assert_string_equal(json_string_value(json_array_get(paths, 0)), "a");
    assert_string_equal(json_string_value(json_array_get(paths, 1)), "b/c");
    assert_string_equal(json_string_value(json_array_get(paths, 2)), "d");
    json_decref(paths);
    dv_filter_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
