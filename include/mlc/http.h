/* HTTP server: the only user of libmicrohttpd. Routes, request accessors and replies. */
#ifndef MLC_HTTP_H
#define MLC_HTTP_H

#include "mlc/core.h"
#include "mlc/netaddr.h"
#include <jansson.h>

struct mlc_http_server;
struct mlc_request; /* lives from the first header until the request-completed callback */
struct mlc_metrics;

/* Called once the whole body is in (or at once for requests without a body). The handler must
 * answer exactly once with an mlc_reply_* function. */
typedef void (*mlc_http_handler)(struct mlc_request *req, void *ud);
/* Optional: called when the headers are in, before the body is read. It may answer (an early
 * 401/403/413/415 discards the upload) or return without answering to continue. */
typedef void (*mlc_http_early)(struct mlc_request *req, void *ud);

struct mlc_route {
    const char *path;     /* exact path, or a prefix when it ends in '*' */
    const char *methods;  /* comma-separated, e.g. "POST" or "GET,HEAD"; also the Allow header */
    const char *name;     /* for metrics and logs */
    size_t max_body;      /* larger bodies get 413 payload_too_large */
    mlc_http_early early; /* may be NULL */
    mlc_http_handler fn;
    void *ud;
};

struct mlc_http_options {
    const char *listen; /* "host:port", "[v6]:port" or ":port" */
    unsigned threads;   /* thread pool size (epoll) */
    unsigned max_connections;
    unsigned max_connections_per_ip; /* 0 = off */
    unsigned connection_timeout_s;
    size_t connection_memory; /* per-connection buffer (headers, reads); 0 = 64 KiB */
    bool access_log;
    const char *tls_cert_pem; /* NULL for plain HTTP */
    const char *tls_key_pem;
    struct mlc_metrics *metrics; /* may be NULL */
    const char *metrics_prefix;  /* family name prefix for request metrics, e.g. "mlc_http" */
};

/* Starts listening. On failure writes a reason into err. */
enum mlc_rc mlc_http_server_start(const struct mlc_http_options *opt,
                                  const struct mlc_route *routes, size_t nroutes,
                                  struct mlc_http_server **out, char *err, size_t errsz);
/* The port actually bound (useful with port 0). */
unsigned mlc_http_server_port(const struct mlc_http_server *s);
/* Stops accepting new connections; in-flight requests continue. */
void mlc_http_server_quiesce(struct mlc_http_server *s);
/* Stops and frees (accepts NULL). */
void mlc_http_server_stop(struct mlc_http_server *s);

/* Request accessors (borrowed pointers valid until the request completes). */
const char *mlc_request_method(const struct mlc_request *r);
const char *mlc_request_path(const struct mlc_request *r);
const char *mlc_request_id(const struct mlc_request *r);
/* Case-insensitive header lookup; NULL when absent. */
const char *mlc_request_header(struct mlc_request *r, const char *name);
/* Query argument (decoded); NULL when absent. */
const char *mlc_request_query(struct mlc_request *r, const char *name);
/* Calls fn for each query argument (decoded); stops when fn returns false. */
void mlc_request_query_each(struct mlc_request *r,
                            bool (*fn)(const char *k, const char *v, void *ud), void *ud);
const char *mlc_request_body(const struct mlc_request *r, size_t *len);
/* TCP peer address; false when unknown (libmicrohttpd may give none). */
bool mlc_request_peer(struct mlc_request *r, struct mlc_ip *out);
/* Declared Content-Length, or -1. */
long long mlc_request_content_length(struct mlc_request *r);
/* True when the Content-Type's media type equals mt (parameters ignored, case-insensitive). */
bool mlc_request_content_type_is(struct mlc_request *r, const char *mt);
/* Adds a short key/value to this request's access-log line (copied). */
void mlc_request_log_field(struct mlc_request *r, const char *key, const char *value);

/* Replies. Each answers the request once; a second answer is a bug (logged, ignored). */
void mlc_reply_header(struct mlc_request *r, const char *name, const char *value);
void mlc_reply_json(struct mlc_request *r, unsigned status, json_t *body /* stolen */);
void mlc_reply_text(struct mlc_request *r, unsigned status, const char *content_type,
                    const char *body, size_t len);
/* problem+json from the table row of code; detail may be NULL. Unknown codes are a bug (500). */
void mlc_reply_problem(struct mlc_request *r, const char *code, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool mlc_request_answered(const struct mlc_request *r);
/* Answers nothing: the connection is closed as soon as the handler returns, without a response
 * (a test double's "dropped connection"). Counts as the request's one answer (status 0). */
void mlc_reply_drop(struct mlc_request *r);

/* Plain-HTTP GET of path on a listen address (wildcards probed on loopback); *status receives
 * the HTTP status. MLC_ERR when nothing answered within timeout_ms. */
enum mlc_rc mlc_http_probe(const char *listen, const char *path, int timeout_ms, int *status);

#endif
