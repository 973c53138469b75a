/* Internal to src/http/: the request struct shared by the server and the reply functions. */
#ifndef MLC_HTTP_INTERNAL_H
#define MLC_HTTP_INTERNAL_H

#include "mlc/http.h"
#include <microhttpd.h>
#include <stdatomic.h>

struct mlc_http_server {
    struct MHD_Daemon *d;
    struct mlc_route *routes;
    size_t nroutes;
    bool access_log;
    struct mlc_metrics *metrics;
    char *metrics_prefix;
    unsigned port;
    unsigned max_connections; /* our own global limit, enforced in the accept policy */
    atomic_uint connections;
};

struct mlc_request {
    struct mlc_http_server *srv;
    struct MHD_Connection *conn;
    const struct mlc_route *route;
    char method[16];
    char *path;
    char id[20];
    uint64_t start_ns;
    struct mlc_buf body;
    bool too_large;
    bool started;   /* first call done */
    bool answered;
    bool dropped;   /* mlc_reply_drop: close without a response */
    unsigned status;
    size_t bytes_out;
    struct MHD_Response *pending; /* headers collected before the reply */
    char **hdr_names, **hdr_values;
    size_t nhdr;
    json_t *log_fields;
};

#endif
