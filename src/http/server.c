/* HTTP server over libmicrohttpd: daemon options, routing, body collection, access log. */
#include "internal.h"
#include "mlc/config.h"
#include "mlc/log.h"
#include "mlc/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static atomic_uint_fast64_t request_seq;

static const struct mlc_route *match_route(struct mlc_http_server *s, const char *path)
{
    for (size_t i = 0; i < s->nroutes; i++) {
        const char *p = s->routes[i].path;
        size_t l = strlen(p);
        if (l && p[l - 1] == '*') {
            if (strncmp(path, p, l - 1) == 0)
                return &s->routes[i];
        } else if (strcmp(path, p) == 0) {
            return &s->routes[i];
        }
    }
    return NULL;
}

static void request_free(struct mlc_request *r)
{
    mlc_buf_free(&r->body);
    free(r->path);
    for (size_t i = 0; i < r->nhdr; i++) {
        free(r->hdr_names[i]);
        free(r->hdr_values[i]);
    }
    free(r->hdr_names);
    free(r->hdr_values);
    json_decref(r->log_fields);
    free(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct mlc_http_server *s = cls;
    struct mlc_request *r = *con_cls;
    if (!r) {
        r = mlc_calloc(1, sizeof *r);
        r->srv = s;
        r->conn = conn;
        r->start_ns = mlc_mono_ns();
        snprintf(r->method, sizeof r->method, "%s", method);
        r->path = mlc_strndup(url, 2048);
        snprintf(r->id, sizeof r->id, "%08llx%08llx",
                 (unsigned long long)(mlc_rand_u64() & 0xffffffffu),
                 (unsigned long long)(atomic_fetch_add(&request_seq, 1) & 0xffffffffu));
        *con_cls = r;
        r->route = match_route(s, r->path);
        mlc_buf_init(&r->body, r->route ? r->route->max_body : 0);
        if (!r->route) {
            mlc_reply_problem(r, "not_found", "no route for %s", r->path);
            return MHD_YES;
        }
        if (!mlc_list_has(r->route->methods, ',', r->method)) {
            mlc_reply_header(r, "Allow", r->route->methods);
            mlc_reply_problem(r, "method_not_allowed", "%s is not allowed here; use %s", r->method,
                              r->route->methods);
            return MHD_YES;
        }
        long long cl = mlc_request_content_length(r);
        if (cl >= 0 && (unsigned long long)cl > r->route->max_body) {
            mlc_reply_problem(r, "payload_too_large", "the body exceeds %zu bytes",
                              r->route->max_body);
            return MHD_YES;
        }
        if (r->route->early)
            r->route->early(r, r->route->ud);
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* Consume every chunk; keep none once over the limit or already answered. */
        if (!r->answered && !r->too_large &&
            mlc_buf_append(&r->body, upload_data, *upload_data_size) != MLC_OK)
            r->too_large = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->answered)
        return MHD_YES;
    if (r->too_large) {
        mlc_reply_problem(r, "payload_too_large", "the body exceeds %zu bytes", r->route->max_body);
        return MHD_YES;
    }
    r->route->fn(r, r->route->ud);
    if (!r->answered) {
        MLC_BUG("handler returned without answering");
        mlc_reply_problem(r, "internal_error", NULL);
    }
    /* MHD_NO makes libmicrohttpd close the connection without sending anything. */
    return r->dropped ? MHD_NO : MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct mlc_http_server *s = cls;
    struct mlc_request *r = *con_cls;
    if (!r)
        return;
    double secs = (double)(mlc_mono_ns() - r->start_ns) / 1e9;
    const char *rname = r->route ? r->route->name : "unmatched";
    if (s->metrics) {
        char labels[160], fam[128];
        snprintf(labels, sizeof labels, "route=\"%s\",status=\"%u\"", rname, r->status);
        snprintf(fam, sizeof fam, "%s_requests_total", s->metrics_prefix);
        mlc_metrics_add(s->metrics, fam, labels, 1);
        snprintf(labels, sizeof labels, "route=\"%s\"", rname);
        snprintf(fam, sizeof fam, "%s_request_duration_seconds", s->metrics_prefix);
        mlc_metrics_observe(s->metrics, fam, labels, secs);
    }
    if (s->access_log && mlc_log_get_level() <= MLC_LOG_INFO) {
        json_t *f = json_object();
        json_object_set_new(f, "req", json_string(r->id));
        json_object_set_new(f, "method", json_string(r->method));
        /* libmicrohttpd hands us the path without the query string: it never reaches a log. */
        json_object_set_new(f, "path", json_string(r->path));
        json_object_set_new(f, "status", json_integer(r->status));
        json_object_set_new(f, "ms", json_real(secs * 1000.0));
        json_object_set_new(f, "bytes_in", json_integer((json_int_t)r->body.len));
        struct mlc_ip ip;
        if (mlc_request_peer(r, &ip)) {
            char buf[64];
            mlc_ip_format(&ip, buf, sizeof buf);
            json_object_set_new(f, "peer", json_string(buf));
        }
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            json_object_set_new(f, "aborted", json_integer(toe));
        if (r->log_fields)
            json_object_update(f, r->log_fields);
        mlc_log_kv(MLC_LOG_INFO, "access", f);
    }
    request_free(r);
    *con_cls = NULL;
}

/* libmicrohttpd splits its connection limit across the pool threads and, at the limit, stops
 * accepting (callers wait in the kernel backlog). We keep one global count instead and refuse
 * (accept, then close at once) every connection beyond MLC_MAX_CONNECTIONS. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct mlc_http_server *s = cls;
    return atomic_load(&s->connections) >= s->max_connections ? MHD_NO : MHD_YES;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    struct mlc_http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&s->connections, 1);
    else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
        atomic_fetch_sub(&s->connections, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t l = strlen(msg);
    while (l && (msg[l - 1] == '\n' || msg[l - 1] == '\r'))
        msg[--l] = '\0';
    mlc_log(MLC_LOG_DEBUG, "libmicrohttpd: %s", msg);
}

static enum mlc_rc parse_listen(const char *listen, struct sockaddr_storage *ss, char *err,
                                size_t errsz)
{
    char host[128];
    const char *colon;
    const char *hs = listen;
    size_t hl;
    if (listen[0] == '[') {
        const char *rb = strchr(listen, ']');
        if (!rb || rb[1] != ':')
            goto bad;
        hs = listen + 1;
        hl = (size_t)(rb - hs);
        colon = rb + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            goto bad;
        hl = (size_t)(colon - listen);
    }
    if (hl >= sizeof host)
        goto bad;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    uint64_t port;
    if (mlc_parse_u64(colon + 1, &port) != MLC_OK || port > 65535)
        goto bad;
    memset(ss, 0, sizeof *ss);
    if (hl == 0)
        snprintf(host, sizeof host, "0.0.0.0");
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        return MLC_OK;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        return MLC_OK;
    }
bad:
    snprintf(err, errsz, "MLC_LISTEN: expected host:port or [v6]:port, got '%.64s'", listen);
    return MLC_EINVAL;
}

enum mlc_rc mlc_http_server_start(const struct mlc_http_options *opt,
                                  const struct mlc_route *routes, size_t nroutes,
                                  struct mlc_http_server **out, char *err, size_t errsz)
{
    struct sockaddr_storage ss;
    if (parse_listen(opt->listen, &ss, err, errsz) != MLC_OK)
        return MLC_EINVAL;
    struct mlc_http_server *s = mlc_calloc(1, sizeof *s);
    s->routes = mlc_calloc(nroutes ? nroutes : 1, sizeof *s->routes);
    memcpy(s->routes, routes, nroutes * sizeof *routes);
    s->nroutes = nroutes;
    s->access_log = opt->access_log;
    s->metrics = opt->metrics;
    s->metrics_prefix = mlc_strdup(opt->metrics_prefix ? opt->metrics_prefix : "mlc_http");
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (opt->tls_cert_pem)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem ops[20];
    size_t n = 0;
    /* The logger first: MHD routes messages about later options through it only then. */
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL};
    ops[n++] =
        (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
                                (intptr_t)(unsigned int)(opt->threads ? opt->threads : 1), NULL};
    s->max_connections = opt->max_connections;
    unsigned threads = opt->threads ? opt->threads : 1;
    /* Headroom so that each pool thread's share never binds before our global count does. */
    ops[n++] = (struct MHD_OptionItem){
        MHD_OPTION_CONNECTION_LIMIT,
        (intptr_t)(unsigned int)(opt->max_connections * threads + 16 * threads), NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                       (intptr_t)(unsigned int)opt->max_connections_per_ip, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                       (intptr_t)(unsigned int)opt->connection_timeout_s, NULL};
    ops[n++] = (struct MHD_OptionItem){
        MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (intptr_t)(opt->connection_memory ? opt->connection_memory : 64 * 1024), NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTENING_ADDRESS_REUSE, (intptr_t)1u, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
    if (opt->tls_cert_pem) {
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
                                           (void *)(uintptr_t)opt->tls_cert_pem};
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
                                           (void *)(uintptr_t)opt->tls_key_pem};
    }
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    s->d = MHD_start_daemon(flags, 0, accept_policy, s, on_request, s, MHD_OPTION_ARRAY, ops,
                            MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, errsz, "cannot listen on %s (address in use, or no permission)", opt->listen);
        free(s->metrics_prefix);
        free(s->routes);
        free(s);
        return MLC_ERR;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : 0;
    *out = s;
    return MLC_OK;
}

unsigned mlc_http_server_port(const struct mlc_http_server *s)
{
    return s->port;
}

void mlc_http_server_quiesce(struct mlc_http_server *s)
{
    if (!s || !s->d)
        return;
    MHD_socket fd = MHD_quiesce_daemon(s->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void mlc_http_server_stop(struct mlc_http_server *s)
{
    if (!s)
        return;
    if (s->d)
        MHD_stop_daemon(s->d);
    free(s->metrics_prefix);
    free(s->routes);
    free(s);
}
