/* Unit tests: the sandbox's SuiteQL translation (table-driven), Oracle format models and the user's time zone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mlc/sandbox.h"
#include "sandbox/netsuite/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void test_translate_ok(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"SELECT id FROM customer", "SELECT id FROM customer"},
        {"select c.id from customer c where c.id > 5 order by c.id",
         "select c.id from customer c where c.id > 5 order by c.id"},
        {"SELECT id FROM transaction t", "SELECT id FROM \"transaction\" t"},
        {"SELECT tl.transaction FROM transactionline tl",
         "SELECT tl.\"transaction\" FROM transactionline tl"},
        {"SELECT id FROM customer FETCH FIRST 10 ROWS ONLY",
         "SELECT id FROM customer LIMIT 10"},
        {"SELECT id FROM customer OFFSET 5 ROWS FETCH NEXT 3 ROWS ONLY",
         "SELECT id FROM customer LIMIT 3 OFFSET 5"},
        {"SELECT id FROM customer OFFSET 5 ROWS", "SELECT id FROM customer LIMIT -1 OFFSET 5"},
        {"SELECT id FROM customer WHERE lastmodifieddate > SYSDATE - 1",
         "SELECT id FROM customer WHERE lastmodifieddate > sysdate() - 1"},
        {"SELECT DATE '2026-01-31' FROM dual",
         "SELECT to_date('2026-01-31', 'YYYY-MM-DD') AS expr1 FROM dual"},
        {"SELECT TIMESTAMP '2026-01-31 10:00:00' t FROM dual",
         "SELECT to_timestamp('2026-01-31 10:00:00', 'YYYY-MM-DD HH24:MI:SS') t FROM dual"},
        {"SELECT BUILTIN.DF(c.category) FROM customer c",
         "SELECT (SELECT name FROM customercategory WHERE id = c.category) AS expr1 FROM customer c"},
        {"SELECT BUILTIN.DF(t.status) s FROM transaction t",
         "SELECT ns_df_status(t.type, t.status) s FROM \"transaction\" t"},
        {"SELECT BUILTIN.DF(x.foo) AS f FROM customer x",
         "SELECT CAST((x.foo) AS TEXT) AS f FROM customer x"},
        {"SELECT TRUNC(lastmodifieddate) d, TRUNC(creditlimit) n FROM customer",
         "SELECT trunc_date(lastmodifieddate) d, trunc(creditlimit) n FROM customer"},
        {"SELECT id FROM customer MINUS SELECT id FROM customer",
         "SELECT id FROM customer EXCEPT SELECT id FROM customer"},
        {"SELECT count(*), max(id) m FROM customer -- comment\n",
         "SELECT count(*) AS expr1, max(id) m FROM customer"},
        {"SELECT /* hi */ 'it''s' FROM dual", "SELECT 'it''s' AS expr1 FROM dual"},
        {"SELECT a.id, b.id FROM customer a, contact b WHERE a.id = b.company",
         "SELECT a.id, b.id FROM customer a, contact b WHERE a.id = b.company"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *sql = NULL, err[256] = "";
        enum mlc_rc rc = mlc_sandbox_suiteql_translate(cases[i].in, false, &sql, err, sizeof err);
        if (rc != MLC_OK)
            fail_msg("case %zu: %s: %s", i, cases[i].in, err);
        if (strcmp(sql, cases[i].want) != 0)
            fail_msg("case %zu:\n  in:   %s\n  got:  %s\n  want: %s", i, cases[i].in, sql,
                     cases[i].want);
        free(sql);
    }
}

static void test_translate_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "   ",
        "DELETE FROM customer",
        "PRAGMA table_info(customer)",
        "SELECT [id] FROM customer",
        "SELECT `id` FROM customer",
        "SELECT id FROM customer; SELECT 1",
        "SELECT 'open FROM customer",
        "SELECT id FROM customer WHERE (id = 1",
        "SELECT id FROM customer WHERE id = 1)",
        "SELECT id FROM customer LIMIT 5",
        "SELECT id FROM customer WHERE ROWNUM <= 5",
        "SELECT id FROM customer WHERE id = ?",
        "SELECT id FROM customer WHERE id = :id",
        "SELECT id FROM customer FETCH FIRST 5",
        "SELECT BUILTIN.HIERARCHY(id) FROM customer",
        "SELECT 1e FROM dual",
        "SELECT id % 2 FROM customer",
        "SELECT \"\" FROM customer",
        "/* never closed",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *sql = NULL, err[256] = "";
        if (mlc_sandbox_suiteql_translate(bad[i], false, &sql, err, sizeof err) == MLC_OK)
            fail_msg("case %zu accepted: %s -> %s", i, bad[i], sql);
        assert_true(err[0] != '\0');
    }
    /* LIMIT behind the switch */
    char *sql = NULL, err[256];
    assert_int_equal(mlc_sandbox_suiteql_translate("SELECT id FROM customer LIMIT 5", true, &sql,
                                                   err, sizeof err),
                     MLC_OK);
    free(sql);
    /* nesting is bounded */
    char deep[400];
    size_t n = 0;
    n += (size_t)snprintf(deep + n, sizeof deep - n, "SELECT ");
    for (int i = 0; i < 100; i++)
        deep[n++] = '(';
    deep[n++] = '1';
    for (int i = 0; i < 100; i++)
        deep[n++] = ')';
    deep[n] = '\0';
    assert_int_equal(mlc_sandbox_suiteql_translate(deep, false, &sql, err, sizeof err), MLC_EINVAL);
}

static void test_select_items(void **state)
{
    struct ns_sql q;
    char err[256];
    assert_int_equal(ns_suiteql_translate("SELECT c.id, c.lastmodifieddate, TO_CHAR(c.datecreated,"
                                          " 'YYYY') y, MAX(t.trandate) m, t.trandate - 1 d,"
                                          " t.lastmodifieddate - t.createddate age,"
                                          " NVL(c.lastmodifieddate, SYSDATE) n FROM customer c"
                                          " JOIN transaction t ON t.entity = c.id ORDER BY c.id",
                                          false, &q, err, sizeof err),
                     MLC_OK);
    assert_int_equal(q.nitems, 7);
    static const unsigned char want[] = {0, 1, 0, 2, 2, 0, 1};
    for (int i = 0; i < 7; i++)
        if (q.dt_item[i] != want[i])
            fail_msg("item %d: dt %d, want %d", i, q.dt_item[i], want[i]);
    assert_string_equal(q.first_table, "customer");
    assert_int_equal(q.ntables, 2);
    assert_string_equal(q.tables[1], "transaction");
    assert_string_equal(q.aliases[1], "t");
    assert_true(q.order_pos > 0);
    assert_memory_equal(q.sql + q.order_pos, " ORDER BY", 9);
    assert_false(q.has_limit);
    ns_sql_free(&q);
    assert_int_equal(ns_suiteql_translate("SELECT * FROM customer FETCH FIRST 1 ROWS ONLY", false,
                                          &q, err, sizeof err),
                     MLC_OK);
    assert_int_equal(q.nitems, -1);
    assert_true(q.has_limit);
    ns_sql_free(&q);
}

static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static void test_time_formats(void **state)
{
    set_tz("America/Los_Angeles");
    int64_t t = 1768462200; /* 2026-01-15T07:30:00Z = 2026-01-14 23:30 PST */
    char out[128];
    assert_int_equal(ns_time_format(t, 0, "YYYY-MM-DD HH24:MI:SS", out, sizeof out), MLC_OK);
    assert_string_equal(out, "2026-01-14 23:30:00");
    assert_int_equal(ns_time_format(t, 123456, "DD-MON-YY HH12:MI AM FF3 \"Q\"Q DY", out,
                                    sizeof out),
                     MLC_OK);
    assert_string_equal(out, "14-JAN-26 11:30 PM 123 Q1 WED");
    assert_int_equal(ns_time_format(t, 0, "FMMonth DD, YYYY", out, sizeof out), MLC_OK);
    assert_string_equal(out, "January 14, 2026");
    assert_int_equal(ns_time_format(t, 0, "TZH:TZM", out, sizeof out), MLC_OK);
    assert_string_equal(out, "-08:00");
    assert_int_equal(ns_time_format(t, 0, "YYYY-MM-DDTHH24", out, sizeof out), MLC_EINVAL);

    int64_t p;
    int us;
    assert_int_equal(ns_time_parse("2026-01-14 23:30:00", "YYYY-MM-DD HH24:MI:SS", &p, &us), MLC_OK);
    assert_int_equal(p, t);
    assert_int_equal(ns_time_parse("2026/01/14 11:30:00.25 PM", "YYYY-MM-DD HH:MI:SS.FF AM", &p,
                                   &us),
                     MLC_OK);
    assert_int_equal(p, t);
    assert_int_equal(us, 250000);
    assert_int_equal(ns_time_parse("14-Jan-2026", "DD-MON-YYYY", &p, NULL), MLC_OK);
    assert_int_equal(ns_time_parse("2026-02-30", "YYYY-MM-DD", &p, NULL), MLC_EINVAL);
    assert_int_equal(ns_time_parse("2026-01-14 extra", "YYYY-MM-DD", &p, NULL), MLC_EINVAL);
    assert_int_equal(ns_time_parse("x", "YYYY", &p, NULL), MLC_EINVAL);

    ns_time_render_pref(t, "M/D/YYYY", false, false, out, sizeof out);
    assert_string_equal(out, "1/14/2026");
    ns_time_render_pref(t, "M/D/YYYY", true, false, out, sizeof out);
    assert_string_equal(out, "1/14/2026 11:30 pm");
    ns_time_render_pref(t, "DD-Mon-YYYY", true, true, out, sizeof out);
    assert_string_equal(out, "14-Jan-2026");
    assert_int_equal(ns_time_parse_pref("1/14/2026", "M/D/YYYY", &p), MLC_OK);
    assert_true(ns_date_format_valid("DD.MM.YYYY"));
    assert_false(ns_date_format_valid("YYYY"));

    /* SYS_EXTRACT_UTC's encoding: the UTC wall clock read in the user's zone */
    int64_t w = ns_secs_utc_wall_as_local(t);
    assert_int_equal(ns_time_format(w, 0, "YYYY-MM-DD HH24:MI:SS", out, sizeof out), MLC_OK);
    assert_string_equal(out, "2026-01-15 07:30:00");
    int64_t m;
    assert_int_equal(ns_time_trunc(t, "DD", &m), MLC_OK);
    assert_int_equal(ns_time_format(m, 0, "YYYY-MM-DD HH24:MI:SS", out, sizeof out), MLC_OK);
    assert_string_equal(out, "2026-01-14 00:00:00");
    assert_int_equal(ns_time_format(ns_time_add_months(1769932800 /* 2026-02-01T08:00Z */ - 86400,
                                                       1),
                                    0, "YYYY-MM-DD", out, sizeof out),
                     MLC_OK);
    assert_string_equal(out, "2026-02-28"); /* 31 Jan + 1 month clamps */
    ns_time_iso_utc(t, out, sizeof out);
    assert_string_equal(out, "2026-01-15T07:30:00Z");
    assert_int_equal(ns_secs_from_days(ns_days_from_secs(t)), t);

    set_tz("Europe/Berlin");
    assert_int_equal(ns_time_format(t, 0, "YYYY-MM-DD HH24:MI", out, sizeof out), MLC_OK);
    assert_string_equal(out, "2026-01-15 08:30");
    set_tz("UTC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_translate_ok),
        cmocka_unit_test(test_translate_refused),
        cmocka_unit_test(test_select_items),
        cmocka_unit_test(test_time_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
