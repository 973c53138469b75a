/* Unit tests: address parsing, CIDR lists (v4, v6, v4-mapped v6) and X-Forwarded-For resolution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mlc/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static struct mlc_ip ip_of(const char *s)
{
    struct mlc_ip ip;
    if (mlc_ip_parse(s, &ip) != MLC_OK)
        fail_msg("test setup: '%s' is not an address", s);
    return ip;
}

static void test_ip_parse_format(void **state)
{
    static const struct {
        const char *in;
        const char *formatted; /* NULL: must not parse */
    } cases[] = {
        {"10.1.2.3", "10.1.2.3"},
        {"0.0.0.0", "0.0.0.0"},
        {"255.255.255.255", "255.255.255.255"},
        {"::ffff:10.1.2.3", "10.1.2.3"}, /* v4-mapped v6 is the v4 address */
        {"::FFFF:0a01:0203", "10.1.2.3"},
        {"2001:DB8::1", "2001:db8::1"},
        {"::1", "::1"},
        {"::", "::"},
        {"fe80::1:2:3:4", "fe80::1:2:3:4"},
        {"", NULL},
        {"10.1.2", NULL},
        {"10.1.2.256", NULL},
        {"10.1.2.3.4", NULL},
        {" 10.1.2.3", NULL},
        {"10.1.2.3 ", NULL},
        {"10.1.2.3:80", NULL},
        {"[::1]", NULL},
        {"fe80::1%eth0", NULL},
        {"2001:db8:::1", NULL},
        {"localhost", NULL},
        {"any", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mlc_ip ip;
        enum mlc_rc rc = mlc_ip_parse(cases[i].in, &ip);
        if (!cases[i].formatted) {
            if (rc != MLC_EINVAL)
                fail_msg("'%s' parsed", cases[i].in);
            continue;
        }
        if (rc != MLC_OK)
            fail_msg("'%s' did not parse", cases[i].in);
        char out[64];
        mlc_ip_format(&ip, out, sizeof out);
        if (strcmp(out, cases[i].formatted) != 0)
            fail_msg("'%s' formatted as '%s', want '%s'", cases[i].in, out, cases[i].formatted);
    }
    /* IPv4 and its mapped form are the same 16 bytes */
    struct mlc_ip a = ip_of("192.0.2.1"), b = ip_of("::ffff:192.0.2.1");
    assert_memory_equal(a.b, b.b, 16);
}

static void test_ip_from_sockaddr(void **state)
{
    struct sockaddr_in in4 = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, "198.51.100.7", &in4.sin_addr), 1);
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::7", &in6.sin6_addr), 1);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    struct mlc_ip ip;
    char out[64];

    assert_int_equal(mlc_ip_from_sockaddr(&in4, &ip), MLC_OK);
    mlc_ip_format(&ip, out, sizeof out);
    assert_string_equal(out, "198.51.100.7");
    struct mlc_ip want = ip_of("198.51.100.7");
    assert_memory_equal(ip.b, want.b, 16);

    assert_int_equal(mlc_ip_from_sockaddr(&in6, &ip), MLC_OK);
    mlc_ip_format(&ip, out, sizeof out);
    assert_string_equal(out, "2001:db8::7");

    assert_int_equal(mlc_ip_from_sockaddr(&un, &ip), MLC_EINVAL);
    assert_int_equal(mlc_ip_from_sockaddr(NULL, &ip), MLC_EINVAL);
}

static void test_cidr_parse(void **state)
{
    static const struct {
        const char *list;
        bool allow_any;
        bool ok;
        size_t n;
        bool any;
        const char *first_net; /* formatted network of the first item, host bits cleared */
        unsigned first_prefix; /* over the 16-byte form */
    } cases[] = {
        {"10.0.0.0/8", false, true, 1, false, "10.0.0.0", 104},
        {"10.1.2.3/8", false, true, 1, false, "10.0.0.0", 104}, /* host bits set: cleared */
        {"10.1.2.3/32", false, true, 1, false, "10.1.2.3", 128},
        {"10.1.2.3", false, true, 1, false, "10.1.2.3", 128}, /* bare address = host route */
        {"0.0.0.0/0", false, true, 1, false, "0.0.0.0", 96},
        {"192.168.255.255/23", false, true, 1, false, "192.168.254.0", 119},
        {"2001:db8::/32", false, true, 1, false, "2001:db8::", 32},
        {"2001:db8:ffff:ffff::1/33", false, true, 1, false, "2001:db8:8000::", 33},
        {"::/0", false, true, 1, false, "::", 0},
        {"::1", false, true, 1, false, "::1", 128},
        {"::1/128", false, true, 1, false, "::1", 128},
        {"::ffff:10.0.0.0/104", false, true, 1, false, "10.0.0.0", 104},
        {" 10.0.0.0/8 , 192.168.0.0/16,2001:db8::/32 ", false, true, 3, false, "10.0.0.0", 104},
        {"10.0.0.0/8,,", false, true, 1, false, "10.0.0.0", 104},
        {"any", true, true, 0, true, NULL, 0},
        {"any, 10.0.0.0/8", true, true, 1, true, "10.0.0.0", 104},
        {"", false, true, 0, false, NULL, 0},
        /* errors */
        {"any", false, false, 0, false, NULL, 0},
        {"ANY", true, false, 0, false, NULL, 0},
        {"10.0.0.0/33", false, false, 0, false, NULL, 0},
        {"::/129", false, false, 0, false, NULL, 0},
        {"::ffff:10.0.0.0/129", false, false, 0, false, NULL, 0},
        {"10.0.0.0/", false, false, 0, false, NULL, 0},
        {"10.0.0.0/-1", false, false, 0, false, NULL, 0},
        {"10.0.0.0/+8", false, false, 0, false, NULL, 0},
        {"10.0.0.0/8x", false, false, 0, false, NULL, 0},
        {"10.0.0.0/ 8", false, false, 0, false, NULL, 0},
        {"10.0.0.0 /8", false, false, 0, false, NULL, 0},
        {"10.0.0.0/8/8", false, false, 0, false, NULL, 0},
        {"10.0.0.0/99999999999999999999999", false, false, 0, false, NULL, 0},
        {"/8", false, false, 0, false, NULL, 0},
        {"10.0.0/8", false, false, 0, false, NULL, 0},
        {"300.0.0.0/8", false, false, 0, false, NULL, 0},
        {"garbage", false, false, 0, false, NULL, 0},
        {"10.0.0.0/8,garbage", false, false, 0, false, NULL, 0},
        {"10.0.0.0/8;192.168.0.0/16", false, false, 0, false, NULL, 0},
        {"example.com/24", false, false, 0, false, NULL, 0},
        {"1111111111111111111111111111111111111111111111111111111111111111111111/8", false, false,
         0, false, NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mlc_cidr_list l;
        char err[160] = "";
        enum mlc_rc rc =
            mlc_cidr_list_parse(cases[i].list, cases[i].allow_any, &l, err, sizeof err);
        if (!cases[i].ok) {
            if (rc != MLC_EINVAL)
                fail_msg("'%s' parsed", cases[i].list);
            if (!strstr(err, "not an address or CIDR"))
                fail_msg("'%s': err '%s'", cases[i].list, err);
            assert_null(l.items);
            assert_int_equal(l.n, 0);
            continue;
        }
        if (rc != MLC_OK)
            fail_msg("'%s': %s", cases[i].list, err);
        assert_int_equal(l.n, cases[i].n);
        assert_int_equal(l.any, cases[i].any);
        if (cases[i].first_net) {
            char out[64];
            mlc_ip_format(&l.items[0].net, out, sizeof out);
            if (strcmp(out, cases[i].first_net) != 0 || l.items[0].prefix != cases[i].first_prefix)
                fail_msg("'%s': net %s/%u, want %s/%u", cases[i].list, out, l.items[0].prefix,
                         cases[i].first_net, cases[i].first_prefix);
        }
        mlc_cidr_list_free(&l);
        assert_null(l.items);
        mlc_cidr_list_free(&l); /* twice is harmless */
    }
    /* the error names the bad item */
    struct mlc_cidr_list l;
    char err[160];
    assert_int_equal(mlc_cidr_list_parse("10.0.0.0/8, 10.0.0.0/40", false, &l, err, sizeof err),
                     MLC_EINVAL);
    assert_non_null(strstr(err, "'10.0.0.0/40'"));
}

static void test_cidr_match(void **state)
{
    static const struct {
        const char *list, *ip;
        bool want;
    } cases[] = {
        {"10.0.0.0/8", "10.1.2.3", true},
        {"10.0.0.0/8", "10.255.255.255", true},
        {"10.0.0.0/8", "11.0.0.0", false},
        {"10.0.0.0/8", "9.255.255.255", false},
        /* v4-mapped v6 against a v4 CIDR, and a v4 address against a mapped CIDR */
        {"10.0.0.0/8", "::ffff:10.1.2.3", true},
        {"10.0.0.0/8", "::ffff:11.1.2.3", false},
        {"::ffff:10.0.0.0/104", "10.1.2.3", true},
        {"::ffff:10.0.0.0/104", "11.1.2.3", false},
        {"::ffff:0:0/96", "203.0.113.9", true},
        /* a v4 CIDR never matches a native v6 address, nor a v4-compatible one */
        {"10.0.0.0/8", "::a01:203", false},
        {"0.0.0.0/0", "2001:db8::1", false},
        {"0.0.0.0/0", "1.2.3.4", true},
        {"0.0.0.0/0", "255.255.255.255", true},
        {"::/0", "2001:db8::1", true},
        {"::/0", "1.2.3.4", true},
        /* host routes */
        {"10.1.2.3/32", "10.1.2.3", true},
        {"10.1.2.3/32", "10.1.2.4", false},
        {"10.1.2.3", "10.1.2.3", true},
        {"2001:db8::1/128", "2001:db8::1", true},
        {"2001:db8::1/128", "2001:db8::2", false},
        {"::1", "::1", true},
        {"::1", "127.0.0.1", false},
        /* prefixes that split a byte */
        {"128.0.0.0/1", "200.1.1.1", true},
        {"128.0.0.0/1", "127.255.255.255", false},
        {"192.168.254.0/23", "192.168.255.77", true},
        {"192.168.254.0/23", "192.168.253.77", false},
        {"10.1.2.3/31", "10.1.2.2", true},
        {"10.1.2.3/31", "10.1.2.4", false},
        {"2001:db8::/33", "2001:db8:7fff::1", true},
        {"2001:db8::/33", "2001:db8:8000::1", false},
        {"2001:db8::/127", "2001:db8::1", true},
        {"2001:db8::/127", "2001:db8::2", false},
        /* host bits in the CIDR do not narrow it */
        {"10.9.9.9/8", "10.1.2.3", true},
        /* lists */
        {"192.168.0.0/16, 10.0.0.0/8", "10.1.2.3", true},
        {"192.168.0.0/16, 10.0.0.0/8", "172.16.0.1", false},
        {"192.168.0.0/16, 2001:db8::/32", "2001:db8:1::1", true},
        {"", "10.1.2.3", false},
        {"any", "203.0.113.9", true},
        {"any", "2001:db8::1", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mlc_cidr_list l;
        char err[160];
        if (mlc_cidr_list_parse(cases[i].list, true, &l, err, sizeof err) != MLC_OK)
            fail_msg("'%s': %s", cases[i].list, err);
        struct mlc_ip ip = ip_of(cases[i].ip);
        bool got = mlc_cidr_list_match(&l, &ip);
        if (got != cases[i].want)
            fail_msg("%s in [%s]: got %d, want %d", cases[i].ip, cases[i].list, got, cases[i].want);
        mlc_cidr_list_free(&l);
    }
}

static void test_client_ip(void **state)
{
    static const char *trusted_list = "10.0.0.0/8, 2001:db8:ffff::/48";
    static const struct {
        const char *peer, *xff, *want;
    } cases[] = {
        /* an untrusted peer: its X-Forwarded-For is ignored */
        {"203.0.113.5", "198.51.100.7", "203.0.113.5"},
        {"203.0.113.5", "10.0.0.1", "203.0.113.5"},
        {"203.0.113.5", NULL, "203.0.113.5"},
        /* a trusted peer without the header, or with an empty one */
        {"10.0.0.1", NULL, "10.0.0.1"},
        {"10.0.0.1", "", "10.0.0.1"},
        {"10.0.0.1", "   ", "10.0.0.1"},
        /* a trusted peer: the rightmost untrusted hop */
        {"10.0.0.1", "198.51.100.7", "198.51.100.7"},
        {"10.0.0.1", "198.51.100.7, 10.0.0.2", "198.51.100.7"},
        {"10.0.0.1", "1.1.1.1, 198.51.100.7, 10.0.0.2", "198.51.100.7"}, /* 1.1.1.1 is spoofable */
        {"10.0.0.1", "1.1.1.1, 198.51.100.7", "198.51.100.7"},
        {"10.0.0.1", "10.9.9.9, 198.51.100.7, 10.0.0.2", "198.51.100.7"},
        /* every hop trusted: the leftmost */
        {"10.0.0.1", "10.0.0.3, 10.0.0.2", "10.0.0.3"},
        {"10.0.0.1", "10.0.0.3", "10.0.0.3"},
        /* a malformed hop stops the walk at the last trusted hop (or the peer) */
        {"10.0.0.1", "198.51.100.7, garbage, 10.0.0.2", "10.0.0.2"},
        {"10.0.0.1", "198.51.100.7, 10.0.0.3, unknown, 10.0.0.2", "10.0.0.2"},
        {"10.0.0.1", "198.51.100.7, nonsense", "10.0.0.1"},
        {"10.0.0.1", "198.51.100.7:443", "10.0.0.1"},
        {"10.0.0.1", "198.51.100.7,,10.0.0.2", "10.0.0.2"},
        {"10.0.0.1", "198.51.100.7, 10.0.0.2,", "10.0.0.1"},
        {"10.0.0.1", "[2001:db8:1::5]", "10.0.0.1"},
        {"10.0.0.1",
         "198.51.100.7, 1111111111111111111111111111111111111111111111111111111111111111",
         "10.0.0.1"},
        {"10.0.0.1", "garbage, 10.0.0.2", "10.0.0.2"},
        /* spaces and tabs around hops */
        {"10.0.0.1", "  198.51.100.7  ,\t10.0.0.2 ", "198.51.100.7"},
        {"10.0.0.1", "198.51.100.7,10.0.0.2", "198.51.100.7"},
        {"10.0.0.1", "1.1.1.1,198.51.100.7 ,\t 10.0.0.2\t", "198.51.100.7"},
        /* IPv6 hops and peers, and a v4-mapped hop counted as its v4 address */
        {"2001:db8:ffff::1", "2001:db8:1::5, 2001:db8:ffff::2", "2001:db8:1::5"},
        {"2001:db8:ffff::1", "2001:db8:1::5", "2001:db8:1::5"},
        {"2001:db8:ffff::1", "198.51.100.7, 2001:db8:ffff::2", "198.51.100.7"},
        {"10.0.0.1", "2001:db8:1::5, ::ffff:10.0.0.9", "2001:db8:1::5"},
        {"::ffff:10.0.0.1", "198.51.100.7", "198.51.100.7"},
        {"10.0.0.1", "::ffff:198.51.100.7", "198.51.100.7"},
        {"2001:db8:fffe::1", "198.51.100.7", "2001:db8:fffe::1"},
    };
    struct mlc_cidr_list trusted;
    char err[160];
    assert_int_equal(mlc_cidr_list_parse(trusted_list, false, &trusted, err, sizeof err), MLC_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mlc_ip peer = ip_of(cases[i].peer), out, want = ip_of(cases[i].want);
        memset(&out, 0xa5, sizeof out);
        mlc_client_ip(&peer, cases[i].xff, &trusted, &out);
        if (memcmp(out.b, want.b, 16) != 0) {
            char got[64];
            mlc_ip_format(&out, got, sizeof got);
            fail_msg("case %zu: peer %s, XFF '%s': got %s, want %s", i, cases[i].peer,
                     cases[i].xff ? cases[i].xff : "(none)", got, cases[i].want);
        }
    }
    mlc_cidr_list_free(&trusted);

    /* no trusted proxies configured (empty list or NULL): always the peer */
    struct mlc_ip peer = ip_of("10.0.0.1"), out;
    struct mlc_cidr_list none;
    assert_int_equal(mlc_cidr_list_parse("", false, &none, err, sizeof err), MLC_OK);
    mlc_client_ip(&peer, "198.51.100.7", &none, &out);
    assert_memory_equal(out.b, peer.b, 16);
    mlc_client_ip(&peer, "198.51.100.7", NULL, &out);
    assert_memory_equal(out.b, peer.b, 16);
    mlc_cidr_list_free(&none);

    /* every address trusted (`any`): the leftmost hop */
    struct mlc_cidr_list all;
    assert_int_equal(mlc_cidr_list_parse("any", true, &all, err, sizeof err), MLC_OK);
    mlc_client_ip(&peer, "198.51.100.7, 203.0.113.5", &all, &out);
    struct mlc_ip want = ip_of("198.51.100.7");
    assert_memory_equal(out.b, want.b, 16);
    mlc_cidr_list_free(&all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_parse_format), cmocka_unit_test(test_ip_from_sockaddr),
        cmocka_unit_test(test_cidr_parse),      cmocka_unit_test(test_cidr_match),
        cmocka_unit_test(test_client_ip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
