/* Unit tests of the link rules' pure parts: text normalisation and e-mail domains (public mail
 * providers prove nothing and are refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mlc/dayone.h"

#include <string.h>

static void test_norm(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"  Acme   Corp ", "acme corp"},
        {"ACME\tCorp\n", "acme corp"},
        {"", ""},
        {"   ", ""},
        {"AB 12 CD", "ab 12 cd"},
        {"x", "x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        mlc_link_norm(cases[i].in, out, sizeof out);
        assert_string_equal(out, cases[i].want);
    }
    char small[4];
    mlc_link_norm("abcdefgh", small, sizeof small);
    assert_string_equal(small, "abc"); /* bounded */
    mlc_link_norm(NULL, small, sizeof small);
    assert_string_equal(small, "");
}

static void test_email_domain(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        bool ok;
        const char *want;
    } cases[] = {
        {"info@Contoso.COM", true, "contoso.com"},
        {"a.b@sub.fabrikam.co.uk", true, "sub.fabrikam.co.uk"},
        {"someone@gmail.com", false, NULL},
        {"someone@Outlook.com", false, NULL},
        {"no-at-sign", false, NULL},
        {"trailing@", false, NULL},
        {"x@localhost", false, NULL},
        {"x@@two.example", true, "two.example"},
        {NULL, false, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64] = "";
        bool ok = mlc_link_email_domain(cases[i].in, out, sizeof out);
        assert_int_equal(ok, cases[i].ok);
        if (ok)
            assert_string_equal(out, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_norm),
        cmocka_unit_test(test_email_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
