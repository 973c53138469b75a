/* Outbound HTTP client: the only user of libcurl. One client per thread; TLS verification always
 * on. */
#ifndef MLC_NET_H
#define MLC_NET_H

#include "mlc/core.h"

struct mlc_metrics;

struct mlc_net; /* one per thread: owns a curl easy handle (connection reuse) */

struct mlc_net_options {
    const char *ca_file;         /* PEM bundle for TLS verification; NULL = the system bundle */
    long connect_timeout_ms;     /* 0 = 10000 */
    long timeout_ms;             /* total time per request; 0 = 120000 */
    size_t max_response;         /* response body limit in bytes; 0 = 16 MiB */
    const char *user_agent;      /* NULL = "ml-connector/<version>" */
    struct mlc_metrics *metrics; /* NULL = none; else mlc_net_requests_total and
                                    mlc_net_request_duration_seconds per system and endpoint */
    const char *system;          /* metrics label ("netsuite", "dataverse"); NULL = "other" */
};

struct mlc_net_header {
    const char *name;
    const char *value;
};

struct mlc_net_request {
    const char *method;                   /* "GET", "POST", ... */
    const char *url;                      /* http:// or https:// only */
    const struct mlc_net_header *headers; /* may be NULL */
    size_t nheaders;
    const void *body; /* may be NULL */
    size_t body_len;
    long timeout_ms;      /* 0 = the client's default */
    const char *endpoint; /* metrics label (a route name, never a URL); NULL = "other" */
};

struct mlc_net_response {
    long status;         /* HTTP status */
    struct mlc_buf body; /* NUL-terminated */
    char **hdr_names;    /* response headers of the final response, in order */
    char **hdr_values;
    size_t nhdr;
    double total_s; /* time the transfer took */
};

/* Initialises libcurl once per process (thread-safe, idempotent). mlc_net_new calls it. */
void mlc_net_global_init(void);
/* A client for the calling thread. Copies the options. MLC_ERR with detail in err. */
enum mlc_rc mlc_net_new(const struct mlc_net_options *opt, struct mlc_net **out, char *err,
                        size_t errsz);
/* Frees the client (accepts NULL). */
void mlc_net_free(struct mlc_net *n);
/* Performs one request. MLC_OK when an HTTP response arrived (any status; resp filled, free it
 * with mlc_net_response_free); MLC_EINVAL for a bad URL or scheme; MLC_EUNAVAIL when the peer
 * could not be reached, TLS failed or the request timed out; MLC_ENOMEM when the response body
 * exceeded max_response. Detail in err. */
enum mlc_rc mlc_net_perform(struct mlc_net *n, const struct mlc_net_request *req,
                            struct mlc_net_response *resp, char *err, size_t errsz);
/* Case-insensitive response header lookup (borrowed), NULL when absent. */
const char *mlc_net_response_header(const struct mlc_net_response *r, const char *name);
void mlc_net_response_free(struct mlc_net_response *r);

/* What to do with the outcome of mlc_net_perform: network failures, timeouts, 408, 425, 429 and
 * 5xx are worth another attempt; other 4xx (and a bad URL or an oversized body) are not. */
enum mlc_net_class { MLC_NET_SUCCESS, MLC_NET_RETRYABLE, MLC_NET_PERMANENT };
enum mlc_net_class mlc_net_classify(enum mlc_rc rc, long status);
/* Retry-After of a response in ms (delta-seconds or an HTTP date relative to now_ms), capped at
 * one hour; -1 when absent or unreadable. */
int64_t mlc_net_retry_after_ms(const struct mlc_net_response *r, int64_t now_ms);
/* Parses a Retry-After value (see above); -1 when unreadable. */
int64_t mlc_net_parse_retry_after(const char *v, int64_t now_ms);
/* Declares the client's metric families (call once, before threads start). */
void mlc_net_describe_metrics(struct mlc_metrics *m);

#endif
