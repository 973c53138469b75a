/* HTTP client over libcurl: per-thread easy handle, timeouts on every request, TLS always verified.
 */
#include "mlc/net.h"
#include "mlc/log.h"
#include "mlc/metrics.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_RESP_HEADERS 64

struct mlc_net {
    CURL *h;
    char *ca_file;
    long connect_timeout_ms;
    long timeout_ms;
    size_t max_response;
    char *user_agent;
    struct mlc_metrics *metrics;
    char *system;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void do_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void mlc_net_global_init(void)
{
    pthread_once(&init_once, do_init);
}

enum mlc_rc mlc_net_new(const struct mlc_net_options *opt, struct mlc_net **out, char *err,
                        size_t errsz)
{
    mlc_net_global_init();
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(err, errsz, "libcurl could not create a handle");
        return MLC_ERR;
    }
    struct mlc_net *n = mlc_calloc(1, sizeof *n);
    n->h = h;
    n->ca_file = opt && opt->ca_file && *opt->ca_file ? mlc_strdup(opt->ca_file) : NULL;
    n->connect_timeout_ms = opt && opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : 10000;
    n->timeout_ms = opt && opt->timeout_ms > 0 ? opt->timeout_ms : 120000;
    n->max_response = opt && opt->max_response ? opt->max_response : (size_t)16 << 20;
    n->user_agent =
        mlc_strdup(opt && opt->user_agent ? opt->user_agent : "ml-connector/" MLC_VERSION);
    n->metrics = opt ? opt->metrics : NULL;
    n->system = mlc_strdup(opt && opt->system ? opt->system : "other");
    *out = n;
    return MLC_OK;
}

void mlc_net_free(struct mlc_net *n)
{
    if (!n)
        return;
    curl_easy_cleanup(n->h);
    free(n->ca_file);
    free(n->user_agent);
    free(n->system);
    free(n);
}

struct xfer {
    struct mlc_net_response *resp;
    bool too_large;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (mlc_buf_append(&x->resp->body, p, n) != MLC_OK) {
        x->too_large = true;
        return 0; /* aborts the transfer */
    }
    return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    struct mlc_net_response *r = x->resp;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* A new response (after 100-continue or an interim answer): forget earlier headers. */
        for (size_t i = 0; i < r->nhdr; i++) {
            free(r->hdr_names[i]);
            free(r->hdr_values[i]);
        }
        r->nhdr = 0;
        return n;
    }
    const char *colon = memchr(p, ':', n);
    if (!colon || r->nhdr >= MAX_RESP_HEADERS)
        return n;
    size_t kl = (size_t)(colon - p);
    const char *v = colon + 1;
    const char *end = p + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    if (!r->hdr_names) {
        r->hdr_names = mlc_calloc(MAX_RESP_HEADERS, sizeof *r->hdr_names);
        r->hdr_values = mlc_calloc(MAX_RESP_HEADERS, sizeof *r->hdr_values);
    }
    r->hdr_names[r->nhdr] = mlc_strndup(p, kl);
    r->hdr_values[r->nhdr] = mlc_strndup(v, (size_t)(end - v));
    r->nhdr++;
    return n;
}

/* Request and latency metrics per system and endpoint; status 0 = no HTTP answer. */
static void record(struct mlc_net *n, const struct mlc_net_request *req, enum mlc_rc rc,
                   long status, double seconds)
{
    if (!n->metrics)
        return;
    const char *ep = req->endpoint ? req->endpoint : "other";
    char labels[256], st[16];
    if (rc == MLC_OK)
        snprintf(st, sizeof st, "%ld", status);
    else
        snprintf(st, sizeof st, "%s", rc == MLC_ENOMEM ? "too_large" : "error");
    snprintf(labels, sizeof labels, "system=\"%s\",endpoint=\"%s\",status=\"%s\"", n->system, ep,
             st);
    mlc_metrics_add(n->metrics, "mlc_net_requests_total", labels, 1);
    snprintf(labels, sizeof labels, "system=\"%s\",endpoint=\"%s\"", n->system, ep);
    mlc_metrics_observe(n->metrics, "mlc_net_request_duration_seconds", labels, seconds);
}

enum mlc_rc mlc_net_perform(struct mlc_net *n, const struct mlc_net_request *req,
                            struct mlc_net_response *resp, char *err, size_t errsz)
{
    memset(resp, 0, sizeof *resp);
    mlc_buf_init(&resp->body, n->max_response);
    if (!req->url ||
        (strncasecmp(req->url, "https://", 8) != 0 && strncasecmp(req->url, "http://", 7) != 0)) {
        snprintf(err, errsz, "only http:// and https:// URLs are allowed");
        return MLC_EINVAL;
    }
    CURL *h = n->h;
    curl_easy_reset(h); /* keeps the connection cache, clears every option */
    struct xfer x = {resp, false};
    struct curl_slist *hl = NULL;
    char ebuf[CURL_ERROR_SIZE] = "";
    enum mlc_rc rc = MLC_OK;
    for (size_t i = 0; i < req->nheaders; i++) {
        char line[4096];
        int l = snprintf(line, sizeof line, "%s: %s", req->headers[i].name, req->headers[i].value);
        if (l < 0 || (size_t)l >= sizeof line) {
            snprintf(err, errsz, "header %.64s is too long", req->headers[i].name);
            rc = MLC_EINVAL;
            goto out;
        }
        struct curl_slist *t = curl_slist_append(hl, line);
        if (!t) {
            snprintf(err, errsz, "out of memory building headers");
            rc = MLC_ERR;
            goto out;
        }
        hl = t;
    }
    if (req->body) {
        /* Keep curl from adding "Expect: 100-continue" (a round trip for nothing). */
        struct curl_slist *t = curl_slist_append(hl, "Expect:");
        if (t)
            hl = t;
    }
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, n->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : n->timeout_ms);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (n->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, n->ca_file);
    curl_easy_setopt(h, CURLOPT_USERAGENT, n->user_agent);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    /* Keep-alive: the easy handle's connection cache survives curl_easy_reset; TCP keepalive
     * keeps idle pooled connections from being dropped silently by middleboxes. */
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    const char *m = req->method ? req->method : "GET";
    if (strcmp(m, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    }
    if (req->body || (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0)) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    CURLcode cc = curl_easy_perform(h);
    double t = 0;
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &t);
    resp->total_s = t;
    if (x.too_large) {
        snprintf(err, errsz, "the response exceeds %zu bytes", n->max_response);
        rc = MLC_ENOMEM;
    } else if (cc != CURLE_OK) {
        snprintf(err, errsz, "%s%s%s", curl_easy_strerror(cc), *ebuf ? ": " : "", ebuf);
        rc = cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL ? MLC_EINVAL
                                                                           : MLC_EUNAVAIL;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    }
    record(n, req, rc, resp->status, t);
out:
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hl);
    if (rc != MLC_OK)
        mlc_net_response_free(resp);
    return rc;
}

const char *mlc_net_response_header(const struct mlc_net_response *r, const char *name)
{
    for (size_t i = 0; i < r->nhdr; i++)
        if (strcasecmp(r->hdr_names[i], name) == 0)
            return r->hdr_values[i];
    return NULL;
}

void mlc_net_response_free(struct mlc_net_response *r)
{
    if (!r)
        return;
    mlc_buf_free(&r->body);
    for (size_t i = 0; i < r->nhdr; i++) {
        free(r->hdr_names[i]);
        free(r->hdr_values[i]);
    }
    free(r->hdr_names);
    free(r->hdr_values);
    r->hdr_names = r->hdr_values = NULL;
    r->nhdr = 0;
}

enum mlc_net_class mlc_net_classify(enum mlc_rc rc, long status)
{
    if (rc == MLC_EUNAVAIL)
        return MLC_NET_RETRYABLE;
    if (rc != MLC_OK)
        return MLC_NET_PERMANENT;
    if (status >= 200 && status < 300)
        return MLC_NET_SUCCESS;
    if (status == 408 || status == 425 || status == 429 || status >= 500)
        return MLC_NET_RETRYABLE;
    return MLC_NET_PERMANENT;
}

int64_t mlc_net_parse_retry_after(const char *v, int64_t now_ms)
{
    const int64_t cap = 3600 * 1000;
    if (!v)
        return -1;
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v >= '0' && *v <= '9') {
        uint64_t secs;
        char tmp[24];
        size_t l = strcspn(v, " \t");
        if (l >= sizeof tmp)
            return cap;
        memcpy(tmp, v, l);
        tmp[l] = '\0';
        if (mlc_parse_u64(tmp, &secs) != MLC_OK)
            return -1;
        return secs > 3600 ? cap : (int64_t)secs * 1000;
    }
    time_t t = curl_getdate(v, NULL);
    if (t == (time_t)-1)
        return -1;
    int64_t d = (int64_t)t * 1000 - now_ms;
    return d < 0 ? 0 : d > cap ? cap : d;
}

int64_t mlc_net_retry_after_ms(const struct mlc_net_response *r, int64_t now_ms)
{
    return mlc_net_parse_retry_after(mlc_net_response_header(r, "Retry-After"), now_ms);
}

void mlc_net_describe_metrics(struct mlc_metrics *m)
{
    mlc_metrics_describe(m, "mlc_net_requests_total", MLC_METRIC_COUNTER,
                         "Outbound HTTP requests by system, endpoint and status");
    mlc_metrics_describe(m, "mlc_net_request_duration_seconds", MLC_METRIC_HISTOGRAM,
                         "Outbound HTTP request latency by system and endpoint");
}
