/* A tiny plain-HTTP GET for `ml-connector healthcheck` (container HEALTHCHECK without curl). */
#include "mlc/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum mlc_rc mlc_http_probe(const char *listen, const char *path, int timeout_ms, int *status)
{
    char host[64] = "127.0.0.1";
    const char *colon = strrchr(listen, ':');
    uint64_t port;
    if (!colon || mlc_parse_u64(colon + 1, &port) != MLC_OK || port == 0 || port > 65535)
        return MLC_EINVAL;
    size_t hl = (size_t)(colon - listen);
    if (listen[0] == '[' && hl >= 2) {
        snprintf(host, sizeof host, "%.*s", (int)(hl - 2), listen + 1);
    } else if (hl > 0 && hl < sizeof host) {
        snprintf(host, sizeof host, "%.*s", (int)hl, listen);
    }
    /* A wildcard listen address is probed on loopback. */
    if (strcmp(host, "0.0.0.0") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (strcmp(host, "::") == 0)
        snprintf(host, sizeof host, "::1");
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        sl = sizeof *in4;
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        sl = sizeof *in6;
    } else {
        return MLC_EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return MLC_ERR;
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    enum mlc_rc rc = MLC_ERR;
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0)
        goto out;
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                     path);
    if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n)
        goto out;
    char resp[64];
    ssize_t got = 0;
    while (got < 12) {
        ssize_t k = read(fd, resp + got, sizeof resp - 1 - (size_t)got);
        if (k <= 0)
            goto out;
        got += k;
    }
    resp[got] = '\0';
    int code = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &code) != 1)
        goto out;
    *status = code;
    rc = MLC_OK;
out:
    close(fd);
    return rc;
}
