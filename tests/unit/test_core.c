/* Unit tests: config rules, RFC 3339 parsing, backoff, fingerprints, problem table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mlc/config.h"
#include "mlc/problem.h"
#include "mlc/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct env {
    const char *kv[16][2];
};

static const char *lookup(const char *name, void *ud)
{
    struct env *e = ud;
    for (int i = 0; i < 16 && e->kv[i][0]; i++)
        if (strcmp(e->kv[i][0], name) == 0)
            return e->kv[i][1];
    return NULL;
}

static void test_config_defaults(void **state)
{
    struct env e = {{{NULL, NULL}}};
    struct mlc_config c;
    char err[256];
    assert_int_equal(mlc_config_load(&c, lookup, &e, err, sizeof err), MLC_OK);
    assert_string_equal(mlc_config_str(&c, MLC_CFG_LISTEN), "0.0.0.0:8080");
    assert_int_equal(mlc_config_int(&c, MLC_CFG_WORKERS), 8);
    assert_true(mlc_config_bool(&c, MLC_CFG_ACCESS_LOG));
    assert_true(mlc_config_double(&c, MLC_CFG_BULK_WORKER_SHARE) == 0.5);
    assert_null(mlc_config_str(&c, MLC_CFG_NETSUITE_WEBHOOK_SECRETS));
    /* serve needs the required rows */
    assert_int_equal(mlc_config_check_serve(&c, err, sizeof err), MLC_EINVAL);
    assert_non_null(strstr(err, "MLC_NETSUITE_WEBHOOK_SECRETS"));
    mlc_config_free(&c);
}

static void test_config_errors(void **state)
{
    static const struct {
        const char *k, *v, *want;
    } cases[] = {
        {"MLC_WORKERS", "abc", "MLC_WORKERS: not an integer"},
        {"MLC_WORKERS", "257", "MLC_WORKERS: 257 is out of range"},
        {"MLC_WORKERS", "12x", "MLC_WORKERS: not an integer"},
        {"MLC_BULK_WORKER_SHARE", "1.5", "MLC_BULK_WORKER_SHARE: 1.5 is out of range"},
        {"MLC_ACCESS_LOG", "maybe", "MLC_ACCESS_LOG: expected"},
        {"MLC_LOG_LEVEL", "loud", "MLC_LOG_LEVEL: must be one of"},
        {"MLC_NETSUITE_WEBHOOK_AUTH", "basic", "MLC_NETSUITE_WEBHOOK_AUTH: must be one of"},
        {"MLC_NETSUITE_WEBHOOK_SECRETS_FILE", "/nonexistent/x",
         "MLC_NETSUITE_WEBHOOK_SECRETS_FILE: cannot read"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct env e = {{{cases[i].k, cases[i].v}, {NULL, NULL}}};
        struct mlc_config c;
        char err[256] = "";
        assert_int_equal(mlc_config_load(&c, lookup, &e, err, sizeof err), MLC_EINVAL);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].want);
    }
}

static void test_config_file_and_both(void **state)
{
    char path[] = "/tmp/mlc-test-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret\n", 7), 7);
    close(fd);
    struct env e = {{{"MLC_NETSUITE_WEBHOOK_SECRETS_FILE", path},
                     {"MLC_NETSUITE_ALLOWED_CIDRS", "any"},
                     {"MLC_DATAVERSE_WEBHOOK_KEYS", "k"},
                     {"MLC_ALLOW_PLAINTEXT_SECRETS", "1"},
                     {NULL, NULL}}};
    struct mlc_config c;
    char err[256];
    assert_int_equal(mlc_config_load(&c, lookup, &e, err, sizeof err), MLC_OK);
    assert_string_equal(mlc_config_str(&c, MLC_CFG_NETSUITE_WEBHOOK_SECRETS), "s3cret");
    assert_int_equal(mlc_config_check_serve(&c, err, sizeof err), MLC_OK);
    json_t *red = mlc_config_redacted(&c);
    char *dump = json_dumps(red, 0);
    assert_null(strstr(dump, "s3cret"));
    assert_non_null(strstr(dump, "\"MLC_NETSUITE_WEBHOOK_SECRETS\": \"***\""));
    free(dump);
    json_decref(red);
    mlc_config_free(&c);

    struct env both = {{{"MLC_NETSUITE_WEBHOOK_SECRETS_FILE", path},
                        {"MLC_NETSUITE_WEBHOOK_SECRETS", "x"},
                        {NULL, NULL}}};
    assert_int_equal(mlc_config_load(&c, lookup, &both, err, sizeof err), MLC_EINVAL);
    assert_non_null(strstr(err, "set both"));
    unlink(path);

    struct env hdr = {{{"MLC_NETSUITE_WEBHOOK_SECRETS", "a"},
                       {"MLC_NETSUITE_ALLOWED_CIDRS", "10.0.0.0/8"},
                       {"MLC_DATAVERSE_WEBHOOK_AUTH", "header"},
                       {"MLC_ALLOW_PLAINTEXT_SECRETS", "1"},
                       {NULL, NULL}}};
    assert_int_equal(mlc_config_load(&c, lookup, &hdr, err, sizeof err), MLC_OK);
    assert_int_equal(mlc_config_check_serve(&c, err, sizeof err), MLC_EINVAL);
    assert_non_null(strstr(err, "MLC_DATAVERSE_WEBHOOK_HEADERS: required when"));
    mlc_config_free(&c);
}

static void test_list_split(void **state)
{
    char **v;
    size_t n = mlc_list_split(" a, b ,,c ,", &v);
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "a");
    assert_string_equal(v[1], "b");
    assert_string_equal(v[2], "c");
    mlc_strv_free(v, n);
}

static void test_rfc3339(void **state)
{
    static const struct {
        const char *s;
        int ok;
        int64_t ms;
    } cases[] = {
        {"2026-12-01T00:00:03Z", 1, 1796083203000},
        {"2026-12-01T00:00:03.5Z", 1, 1796083203500},
        {"2026-12-01T01:00:03+01:00", 1, 1796083203000},
        {"2026-11-30T16:00:03-08:00", 1, 1796083203000},
        {"2026-12-01 00:00:03Z", 1, 1796083203000},
        {"2026-12-01T00:00:03", 0, 0},
        {"2026-13-01T00:00:03Z", 0, 0},
        {"2025-02-29T00:00:00Z", 0, 0},
        {"2024-02-29T00:00:00Z", 1, 1709164800000},
        {"2026-12-01T00:00:03Zjunk", 0, 0},
        {"yesterday", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = 0;
        enum mlc_rc rc = mlc_parse_rfc3339(cases[i].s, &ms);
        if ((rc == MLC_OK) != cases[i].ok)
            fail_msg("case %s: rc %d", cases[i].s, rc);
        if (cases[i].ok && ms != cases[i].ms)
            fail_msg("case %s: %lld != %lld", cases[i].s, (long long)ms, (long long)cases[i].ms);
    }
}

static void test_backoff(void **state)
{
    /* Equal jitter: attempt n lies in [d/2, d] with d = base * 2^(n-1), capped. */
    for (int a = 1; a <= 20; a++) {
        int64_t d = 1000;
        for (int i = 1; i < a && d < 3600000; i++)
            d *= 2;
        if (d > 3600000)
            d = 3600000;
        for (uint64_t rnd = 0; rnd < 5000; rnd += 997) {
            int64_t v = mlc_backoff_ms(a, 1000, 3600, rnd * 2654435761u);
            assert_true(v >= d / 2 && v <= d);
        }
        /* the lowest of a later attempt is never below the highest of the one before */
        if (a > 1 && d < 3600000)
            assert_true(mlc_backoff_ms(a, 1000, 3600, 0) >=
                            mlc_backoff_ms(a - 1, 1000, 3600, ~0ull) ||
                        d == 3600000);
    }
    assert_int_equal(mlc_backoff_ms(100, 1000, 60, 0), 30000);
}

static void test_fingerprint(void **state)
{
    char a[17], b[17], c[17];
    mlc_fingerprint("customer", "column mlc_x missing", a);
    mlc_fingerprint("customer", "column mlc_x missing", b);
    mlc_fingerprint("contact", "column mlc_x missing", c);
    assert_int_equal(strlen(a), 16);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
}

static void test_problem_table(void **state)
{
    size_t n;
    const struct mlc_problem_def *t = mlc_problem_table(&n);
    assert_true(n > 5);
    for (size_t i = 0; i < n; i++) {
        assert_true(t[i].status >= 400 && t[i].status < 600);
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(t[i].code, t[j].code);
    }
    assert_int_equal(mlc_problem_find("payload_too_large")->status, 413);
    assert_null(mlc_problem_find("nope"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_file_and_both),
        cmocka_unit_test(test_list_split),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_problem_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
