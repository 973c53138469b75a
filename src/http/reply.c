/* Request accessors and replies (JSON, text, RFC 9457 problem+json from the error table). */
#include "internal.h"
#include "mlc/log.h"
#include "mlc/problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *mlc_request_method(const struct mlc_request *r)
{
    return r->method;
}

const char *mlc_request_path(const struct mlc_request *r)
{
    return r->path;
}

const char *mlc_request_id(const struct mlc_request *r)
{
    return r->id;
}

const char *mlc_request_header(struct mlc_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *mlc_request_query(struct mlc_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct each_ctx {
    bool (*fn)(const char *k, const char *v, void *ud);
    void *ud;
};

static enum MHD_Result each_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    struct each_ctx *c = cls;
    return c->fn(key, value ? value : "", c->ud) ? MHD_YES : MHD_NO;
}

void mlc_request_query_each(struct mlc_request *r,
                            bool (*fn)(const char *k, const char *v, void *ud), void *ud)
{
    struct each_ctx c = {fn, ud};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_cb, &c);
}

const char *mlc_request_body(const struct mlc_request *r, size_t *len)
{
    *len = r->body.len;
    return r->body.data ? r->body.data : "";
}

bool mlc_request_peer(struct mlc_request *r, struct mlc_ip *out)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return false;
    return mlc_ip_from_sockaddr(ci->client_addr, out) == MLC_OK;
}

long long mlc_request_content_length(struct mlc_request *r)
{
    const char *v = mlc_request_header(r, "Content-Length");
    uint64_t n;
    if (!v || mlc_parse_u64(v, &n) != MLC_OK || n > (uint64_t)1 << 62)
        return -1;
    return (long long)n;
}

bool mlc_request_content_type_is(struct mlc_request *r, const char *mt)
{
    const char *v = mlc_request_header(r, "Content-Type");
    if (!v)
        return false;
    while (*v == ' ')
        v++;
    size_t l = strlen(mt);
    if (strncasecmp(v, mt, l) != 0)
        return false;
    const char *rest = v + l;
    while (*rest == ' ')
        rest++;
    return *rest == '\0' || *rest == ';';
}

void mlc_request_log_field(struct mlc_request *r, const char *key, const char *value)
{
    if (!r->log_fields)
        r->log_fields = json_object();
    json_object_set_new(r->log_fields, key, json_string(value ? value : ""));
}

bool mlc_request_answered(const struct mlc_request *r)
{
    return r->answered;
}

void mlc_reply_drop(struct mlc_request *r)
{
    if (r->answered) {
        MLC_BUG("second answer to one request");
        return;
    }
    r->answered = true;
    r->dropped = true;
    r->status = 0;
}

void mlc_reply_header(struct mlc_request *r, const char *name, const char *value)
{
    r->hdr_names = mlc_realloc(r->hdr_names, (r->nhdr + 1) * sizeof *r->hdr_names);
    r->hdr_values = mlc_realloc(r->hdr_values, (r->nhdr + 1) * sizeof *r->hdr_values);
    r->hdr_names[r->nhdr] = mlc_strdup(name);
    r->hdr_values[r->nhdr] = mlc_strdup(value);
    r->nhdr++;
}

void mlc_reply_text(struct mlc_request *r, unsigned status, const char *content_type,
                    const char *body, size_t len)
{
    if (r->answered) {
        MLC_BUG("second answer to one request");
        return;
    }
    r->answered = true;
    r->status = status;
    r->bytes_out = len;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return;
    if (content_type)
        MHD_add_response_header(resp, "Content-Type", content_type);
    MHD_add_response_header(resp, "X-Request-Id", r->id);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    for (size_t i = 0; i < r->nhdr; i++)
        MHD_add_response_header(resp, r->hdr_names[i], r->hdr_values[i]);
    MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
}

void mlc_reply_json(struct mlc_request *r, unsigned status, json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!s) {
        mlc_reply_text(r, 500, "text/plain", "internal error\n", 15);
        return;
    }
    size_t n = strlen(s);
    mlc_reply_text(r, status, "application/json", s, n);
    free(s);
}

void mlc_reply_problem(struct mlc_request *r, const char *code, const char *detail_fmt, ...)
{
    const struct mlc_problem_def *p = mlc_problem_find(code);
    if (!p) {
        MLC_BUG("unknown problem code");
        p = mlc_problem_find("internal_error");
    }
    json_t *o = json_object();
    char type[96];
    snprintf(type, sizeof type, "urn:ml-connector:problem:%s", p->code);
    json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "title", json_string(p->title));
    json_object_set_new(o, "status", json_integer(p->status));
    json_object_set_new(o, "code", json_string(p->code));
    if (detail_fmt) {
        char detail[512];
        va_list ap;
        va_start(ap, detail_fmt);
        vsnprintf(detail, sizeof detail, detail_fmt, ap);
        va_end(ap);
        json_object_set_new(o, "detail", json_string(detail));
    }
    json_object_set_new(o, "instance", json_string(r->id));
    mlc_request_log_field(r, "problem", p->code);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    mlc_reply_text(r, (unsigned)p->status, "application/problem+json", s, strlen(s));
    free(s);
}
