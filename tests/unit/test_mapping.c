/* Unit tests: the mapping file (the shipped file loads; each kind of mistake is refused with an
 * error naming its JSON path) and the NetSuite column lists the readers use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mlc/mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHIPPED MLC_SOURCE_DIR "/deploy/config/mapping.json"

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return s;
}

static void test_shipped_file(void **state)
{
    (void)state;
    struct mlc_mapping *m = NULL;
    char err[512] = "";
    assert_int_equal(mlc_mapping_load(SHIPPED, &m, err, sizeof err), MLC_OK);
    assert_non_null(m);
    assert_non_null(strstr(mlc_mapping_version(m), "/"));
    size_t n = 0, nd = 0;
    const char *const *cols = mlc_mapping_ns_columns(m, MLC_MAP_CUSTOMER, &n);
    const char *const *defs = mlc_mapping_ns_columns(mlc_mapping_defaults(), MLC_MAP_CUSTOMER, &nd);
    assert_int_equal(n, nd); /* the shipped file reads what the built-in defaults read */
    for (size_t i = 0; i < n; i++)
        assert_string_equal(cols[i], defs[i]);
    assert_non_null(mlc_mapping_section(m, MLC_MAP_ORDER));
    assert_non_null(mlc_mapping_value_table(m, "customerCategory"));
    assert_null(mlc_mapping_section(mlc_mapping_defaults(), MLC_MAP_ORDER));

    /* installed, the readers' columns come from it */
    mlc_mapping_install(m);
    assert_ptr_equal(mlc_mapping_defaults(), m);
    mlc_mapping_install(NULL);
    assert_ptr_not_equal(mlc_mapping_defaults(), m);
    mlc_mapping_free(m);
    mlc_mapping_free(NULL);

    assert_int_equal(mlc_mapping_load("/nonexistent/mapping.json", &m, err, sizeof err), MLC_ERR);
    assert_non_null(strstr(err, "MLC_MAPPING_FILE"));
}

/* Each case replaces one piece of the shipped text; the error must name the path. */
static void test_errors_name_the_path(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *want;
    } cases[] = {
        {"\"version\": \"2026-12-04.1\"", "\"version\": 3", "$.version: must be a non-empty"},
        {"\"owner\": \"create\", \"maxLength\": 2000", "\"owner\": \"sometimes\"",
         "$.account.columns[13].owner: must be one of netsuite, create, crm"},
        {"\"ns\": \"phone\", \"dv\": \"telephone1\"", "\"ns\": \"fax\", \"dv\": \"telephone1\"",
         "$.account.columns[7].ns: 'fax' is neither in netsuiteColumns"},
        {"\"ns\": \"email\", \"dv\": \"emailaddress1\", \"maxLength\": 100}",
         "\"ns\": \"email\", \"dv\": \"telephone1\"}",
         "$.account.columns[8]: column 'telephone1' is mapped twice"},
        {"\"values\": \"customerCategory\"", "\"values\": \"nope\"",
         "$.account.columns[11].values: no value table 'nope'"},
        {"\"custentity_vat_number\"],", "\"custentity_vat_number\", \"bad column\"],",
         "$.account.netsuiteColumns[21]: must be a plain SuiteQL column name"},
        {"\"G\": {\"statuscode\": 1, \"close\": \"fulfill\"",
         "\"G\": {\"statuscode\": 1, \"close\": \"ship\"",
         "$.salesorder.statuses.G: close must be fulfill or cancel"},
        {"\"productBy\": [\"sku\", \"item\"]", "\"productBy\": [\"name\"]",
         "$.salesorderdetail.productBy: must list"},
        {"\"TAX-US\": \"skip\"", "\"TAX-US\": \"drop\"",
         "$.salesorderdetail.specialLines.TAX-US: must be writein or skip"},
        {"\"entitySet\": \"contacts\"", "\"entitySets\": \"contacts\"",
         "$.contact.entitySets: unknown member"},
        {"\"maxLength\": 160", "\"maxLength\": -1", "$.account.columns[0].maxLength: must be"},
        {"\"type\": \"money\"}", "\"type\": \"currency\"}",
         "$.account.columns[10].type: must be one of"},
    };
    size_t len;
    char *text = read_all(SHIPPED, &len);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *at = strstr(text, cases[i].from);
        if (!at)
            fail_msg("case %zu: '%s' is not in the shipped file", i, cases[i].from);
        size_t fl = strlen(cases[i].from), tl = strlen(cases[i].to);
        char *mod = malloc(len - fl + tl + 1);
        size_t pre = (size_t)(at - text);
        memcpy(mod, text, pre);
        memcpy(mod + pre, cases[i].to, tl);
        memcpy(mod + pre + tl, at + fl, len - pre - fl + 1);
        struct mlc_mapping *m = NULL;
        char err[512] = "";
        assert_int_equal(mlc_mapping_parse(mod, strlen(mod), "mapping.json", &m, err, sizeof err),
                         MLC_EINVAL);
        assert_null(m);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].want);
        assert_non_null(strstr(err, "mapping.json: "));
        free(mod);
    }
    free(text);
    struct mlc_mapping *m = NULL;
    char err[256];
    assert_int_equal(mlc_mapping_parse("{\"version\":", 11, "m.json", &m, err, sizeof err),
                     MLC_EINVAL);
    assert_non_null(strstr(err, "m.json: line 1"));
    assert_int_equal(mlc_mapping_parse("[]", 2, "m.json", &m, err, sizeof err), MLC_EINVAL);
    assert_non_null(strstr(err, "m.json: $: must be an object"));
    assert_int_equal(mlc_mapping_parse("{\"version\":\"1\",\"version\":\"2\"}", 29, "m.json", &m,
                                       err, sizeof err),
                     MLC_EINVAL); /* duplicate members refused */
}

static void test_column_names(void **state)
{
    (void)state;
    assert_true(mlc_mapping_column_ok("custentity_region"));
    assert_false(mlc_mapping_column_ok("a b"));
    assert_false(mlc_mapping_column_ok("1abc"));
    assert_false(mlc_mapping_column_ok(""));
    assert_false(mlc_mapping_column_ok(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_file),
        cmocka_unit_test(test_errors_name_the_path),
        cmocka_unit_test(test_column_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
