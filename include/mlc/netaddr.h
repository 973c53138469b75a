/* Network addresses: CIDR lists (v4, v6, v4-mapped v6) and X-Forwarded-For resolution. */
#ifndef MLC_NETADDR_H
#define MLC_NETADDR_H

#include "mlc/core.h"

/* An address normalised to 16 bytes (IPv4 as ::ffff:a.b.c.d). */
struct mlc_ip {
    uint8_t b[16];
};

struct mlc_cidr {
    struct mlc_ip net;
    unsigned prefix; /* 0..128 over the 16-byte form */
};

struct mlc_cidr_list {
    struct mlc_cidr *items;
    size_t n;
    bool any; /* the literal `any` */
};

/* Parses an address (v4 or v6 text). */
enum mlc_rc mlc_ip_parse(const char *s, struct mlc_ip *out);
void mlc_ip_format(const struct mlc_ip *ip, char *out, size_t outsz);
/* Converts a sockaddr (AF_INET/AF_INET6); MLC_EINVAL for other families or NULL. */
enum mlc_rc mlc_ip_from_sockaddr(const void *sa, struct mlc_ip *out);

/* Parses "a/b,c/d,..." (a bare address is a host route); allow_any accepts `any`.
 * On error writes the bad item into err. */
enum mlc_rc mlc_cidr_list_parse(const char *s, bool allow_any, struct mlc_cidr_list *out,
                                char *err, size_t errsz);
bool mlc_cidr_list_match(const struct mlc_cidr_list *l, const struct mlc_ip *ip);
void mlc_cidr_list_free(struct mlc_cidr_list *l);

/* The client address: peer, unless peer is a trusted proxy, in which case X-Forwarded-For is
 * walked from the right and the first hop not in trusted is returned. A malformed hop stops the
 * walk and that hop's right neighbour (last trusted) is used. xff may be NULL. */
void mlc_client_ip(const struct mlc_ip *peer, const char *xff, const struct mlc_cidr_list *trusted,
                   struct mlc_ip *out);

#endif
