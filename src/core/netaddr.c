/* IP addresses, CIDR allowlists and the X-Forwarded-For walk (rightmost untrusted hop). */
#include "mlc/netaddr.h"
#include "mlc/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

enum mlc_rc mlc_ip_parse(const char *s, struct mlc_ip *out)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        memcpy(out->b, v4mapped, 12);
        memcpy(out->b + 12, &a4, 4);
        return MLC_OK;
    }
    if (inet_pton(AF_INET6, s, &a6) == 1) {
        memcpy(out->b, &a6, 16);
        return MLC_OK;
    }
    return MLC_EINVAL;
}

void mlc_ip_format(const struct mlc_ip *ip, char *out, size_t outsz)
{
    if (memcmp(ip->b, v4mapped, 12) == 0) {
        if (!inet_ntop(AF_INET, ip->b + 12, out, (socklen_t)outsz))
            snprintf(out, outsz, "?");
    } else if (!inet_ntop(AF_INET6, ip->b, out, (socklen_t)outsz)) {
        snprintf(out, outsz, "?");
    }
}

enum mlc_rc mlc_ip_from_sockaddr(const void *sa, struct mlc_ip *out)
{
    if (!sa)
        return MLC_EINVAL;
    const struct sockaddr *s = sa;
    if (s->sa_family == AF_INET) {
        const struct sockaddr_in *in = sa;
        memcpy(out->b, v4mapped, 12);
        memcpy(out->b + 12, &in->sin_addr, 4);
        return MLC_OK;
    }
    if (s->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = sa;
        memcpy(out->b, &in6->sin6_addr, 16);
        return MLC_OK;
    }
    return MLC_EINVAL;
}

static enum mlc_rc parse_cidr(const char *item, struct mlc_cidr *c)
{
    char addr[64];
    const char *slash = strchr(item, '/');
    size_t alen = slash ? (size_t)(slash - item) : strlen(item);
    if (alen == 0 || alen >= sizeof addr)
        return MLC_EINVAL;
    memcpy(addr, item, alen);
    addr[alen] = '\0';
    bool v4 = strchr(addr, ':') == NULL;
    if (mlc_ip_parse(addr, &c->net) != MLC_OK)
        return MLC_EINVAL;
    unsigned maxp = v4 ? 32 : 128;
    unsigned p = maxp;
    if (slash) {
        uint64_t v;
        if (mlc_parse_u64(slash + 1, &v) != MLC_OK || v > maxp)
            return MLC_EINVAL;
        p = (unsigned)v;
    }
    c->prefix = v4 ? p + 96 : p;
    /* Clear host bits so matching is a plain prefix compare. */
    for (unsigned bit = c->prefix; bit < 128; bit++)
        c->net.b[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
    return MLC_OK;
}

enum mlc_rc mlc_cidr_list_parse(const char *s, bool allow_any, struct mlc_cidr_list *out,
                                char *err, size_t errsz)
{
    memset(out, 0, sizeof *out);
    char **items;
    size_t n = mlc_list_split(s, &items);
    out->items = mlc_calloc(n ? n : 1, sizeof *out->items);
    for (size_t i = 0; i < n; i++) {
        if (allow_any && strcmp(items[i], "any") == 0) {
            out->any = true;
            continue;
        }
        if (parse_cidr(items[i], &out->items[out->n]) != MLC_OK) {
            snprintf(err, errsz, "not an address or CIDR: '%.64s'", items[i]);
            mlc_strv_free(items, n);
            mlc_cidr_list_free(out);
            return MLC_EINVAL;
        }
        out->n++;
    }
    mlc_strv_free(items, n);
    return MLC_OK;
}

static bool cidr_match(const struct mlc_cidr *c, const struct mlc_ip *ip)
{
    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(c->net.b, ip->b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (ip->b[full] & mask) == c->net.b[full];
}

bool mlc_cidr_list_match(const struct mlc_cidr_list *l, const struct mlc_ip *ip)
{
    if (l->any)
        return true;
    for (size_t i = 0; i < l->n; i++)
        if (cidr_match(&l->items[i], ip))
            return true;
    return false;
}

void mlc_cidr_list_free(struct mlc_cidr_list *l)
{
    MLC_FREE(l->items);
    l->n = 0;
    l->any = false;
}

void mlc_client_ip(const struct mlc_ip *peer, const char *xff, const struct mlc_cidr_list *trusted,
                   struct mlc_ip *out)
{
    *out = *peer;
    if (!xff || !trusted || (!trusted->any && trusted->n == 0) ||
        !mlc_cidr_list_match(trusted, peer))
        return;
    /* Walk hops from the right: each trusted hop vouches for the one on its left. */
    const char *end = xff + strlen(xff);
    while (end > xff) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        const char *a = start, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        char hop[64];
        size_t hl = (size_t)(b - a);
        struct mlc_ip ip;
        if (hl == 0 || hl >= sizeof hop)
            return;
        memcpy(hop, a, hl);
        hop[hl] = '\0';
        if (mlc_ip_parse(hop, &ip) != MLC_OK)
            return;
        *out = ip;
        if (!mlc_cidr_list_match(trusted, &ip))
            return;
        end = start > xff ? start - 1 : xff;
    }
}
