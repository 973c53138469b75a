/* $batch: the multipart/mixed parser (CRLF, nested change sets), change sets run atomically with $n
 * references, continue-on-error, and the multipart answer. */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PARTS 1000

bool dv_boundary(const char *ct, char *out, size_t sz)
{
    if (!ct)
        return false;
    const char *b = ct;
    while (*b && strncasecmp(b, "boundary=", 9) != 0)
        b++;
    if (!*b)
        return false;
    b += 9;
    size_t l;
    if (*b == '"') {
        b++;
        l = strcspn(b, "\"");
        if (b[l] != '"')
            return false;
    } else {
        l = strcspn(b, "; \t");
    }
    if (l == 0 || l > 70 || l >= sz)
        return false;
    memcpy(out, b, l);
    out[l] = '\0';
    return true;
}

static const char *find(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl == 0 || hl < nl)
        return NULL;
    for (size_t i = 0; i + nl <= hl; i++)
        if (h[i] == n[0] && memcmp(h + i, n, nl) == 0)
            return h + i;
    return NULL;
}

/* The value of header name in a raw CRLF header block, into out. */
static bool header_of(const char *block, size_t len, const char *name, char *out, size_t sz)
{
    size_t nl = strlen(name);
    const char *p = block, *end = block + len;
    while (p < end) {
        const char *eol = find(p, (size_t)(end - p), "\r\n", 2);
        size_t ll = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if (ll > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            size_t vl = ll - nl - 1;
            while (vl && (*v == ' ' || *v == '\t')) {
                v++;
                vl--;
            }
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl >= sz)
                vl = sz - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
        if (!eol)
            break;
        p = eol + 2;
    }
    return false;
}

void dv_parts_free(struct dv_part *parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(parts[i].headers);
    free(parts);
}

enum mlc_rc dv_multipart_split(const char *body, size_t len, const char *boundary,
                               struct dv_part **out, size_t *nout, char *err, size_t errsz)
{
    *out = NULL;
    *nout = 0;
    char delim[80];
    int dl = snprintf(delim, sizeof delim, "--%s", boundary);
    if (dl < 3 || (size_t)dl >= sizeof delim) {
        snprintf(err, errsz, "The boundary is not valid.");
        return MLC_EINVAL;
    }
    char inner[84];
    int il = snprintf(inner, sizeof inner, "\r\n--%s", boundary);
    /* the first delimiter: at the very start or after a preamble line */
    const char *p;
    if (len >= (size_t)dl && memcmp(body, delim, (size_t)dl) == 0)
        p = body;
    else if ((p = find(body, len, inner, (size_t)il)))
        p += 2;
    else {
        snprintf(err, errsz,
                 "The batch body has no '%s' delimiter line (CRLF line ends are "
                 "required).",
                 delim);
        return MLC_EINVAL;
    }
    const char *end = body + len;
    struct dv_part *parts = NULL;
    size_t n = 0;
    for (;;) {
        p += dl;
        if ((size_t)(end - p) >= 2 && p[0] == '-' && p[1] == '-')
            break; /* close delimiter */
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if ((size_t)(end - p) < 2 || p[0] != '\r' || p[1] != '\n') {
            snprintf(err, errsz, "A delimiter line is not followed by CRLF.");
            goto bad;
        }
        p += 2;
        const char *next = find(p, (size_t)(end - p), inner, (size_t)il);
        if (!next) {
            snprintf(err, errsz, "The multipart body ends without its close delimiter '%s--'.",
                     delim);
            goto bad;
        }
        if (n == MAX_PARTS) {
            snprintf(err, errsz, "The batch holds more than %d requests.", MAX_PARTS);
            goto bad;
        }
        /* p - 2 is the delimiter line's CRLF, so an empty header block is found too */
        const char *hend = find(p - 2, (size_t)(next - p + 2), "\r\n\r\n", 4);
        struct dv_part part = {0};
        if (!hend) {
            snprintf(err, errsz, "A part has no blank line after its headers.");
            goto bad;
        }
        part.headers = hend > p ? mlc_strndup(p, (size_t)(hend - p) + 2) : mlc_strdup("");
        part.body = hend + 4;
        part.body_len = (size_t)(next - part.body);
        if (!header_of(part.headers, strlen(part.headers), "Content-Type", part.content_type,
                       sizeof part.content_type))
            part.content_type[0] = '\0';
        if (!header_of(part.headers, strlen(part.headers), "Content-ID", part.content_id,
                       sizeof part.content_id))
            part.content_id[0] = '\0';
        parts = mlc_realloc(parts, (n + 1) * sizeof *parts);
        parts[n++] = part;
        p = next + 2;
    }
    *out = parts;
    *nout = n;
    return MLC_OK;
bad:
    dv_parts_free(parts, n);
    return MLC_EINVAL;
}

enum mlc_rc dv_http_part_parse(const char *data, size_t len, struct dv_req *q, char *err,
                               size_t errsz)
{
    memset(q, 0, sizeof *q);
    const char *eol = find(data, len, "\r\n", 2);
    if (!eol) {
        snprintf(err, errsz, "The part has no request line.");
        return MLC_EINVAL;
    }
    char line[4096];
    size_t ll = (size_t)(eol - data);
    if (ll >= sizeof line) {
        snprintf(err, errsz, "The request line is too long.");
        return MLC_EINVAL;
    }
    memcpy(line, data, ll);
    line[ll] = '\0';
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 ? strrchr(line, ' ') : NULL;
    if (!sp1 || sp2 == sp1 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        snprintf(err, errsz, "The request line is not 'METHOD URL HTTP/1.1'.");
        return MLC_EINVAL;
    }
    *sp1 = '\0';
    *sp2 = '\0';
    static const char *const methods[] = {"GET", "POST", "PATCH", "PUT", "DELETE"};
    bool known = false;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        known = known || strcmp(line, methods[i]) == 0;
    if (!known) {
        snprintf(err, errsz, "The method '%.16s' is not supported in a batch.", line);
        return MLC_EINVAL;
    }
    const char *url = sp1 + 1;
    const char *api = strstr(url, "/api/data/v9.");
    if (api) {
        url = strchr(api + 13, '/');
        url = url ? url + 1 : "";
    } else if (strstr(url, "://")) {
        snprintf(err, errsz, "The URL of a batch part must name the Web API.");
        return MLC_EINVAL;
    } else if (url[0] == '/') {
        url++;
    }
    const char *qm = strchr(url, '?');
    size_t pl = qm ? (size_t)(qm - url) : strlen(url);
    q->method = q->own[0] = mlc_strdup(line);
    /* the path is percent-decoded like libmicrohttpd decodes the top-level one */
    q->path = q->own[1] = dv_pct_decode(url, pl);
    if (qm)
        dv_query_parse(qm + 1, q);
    const char *hs = eol + 2;
    const char *hend = find(hs - 2, len - (size_t)(hs - 2 - data), "\r\n\r\n", 4);
    size_t hl = hend ? (size_t)(hend + 2 - hs) : len - (size_t)(hs - data);
    char v[1024];
    if (header_of(hs, hl, "Prefer", v, sizeof v))
        q->prefer = q->own[2] = mlc_strdup(v);
    if (header_of(hs, hl, "If-Match", v, sizeof v))
        q->if_match = q->own[3] = mlc_strdup(v);
    if (header_of(hs, hl, "If-None-Match", v, sizeof v))
        q->if_none_match = q->own[4] = mlc_strdup(v);
    if (header_of(hs, hl, "Content-Type", v, sizeof v))
        q->content_type = q->own[5] = mlc_strdup(v);
    if (hend) {
        q->body = hend + 4;
        q->body_len = len - (size_t)(hend + 4 - data);
    } else {
        q->body = "";
        q->body_len = 0;
    }
    return MLC_OK;
}

static const char *reason(unsigned st)
{
    switch (st) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 412:
        return "Precondition Failed";
    case 429:
        return "Too Many Requests";
    default:
        return st >= 500 ? "Internal Server Error" : "Error";
    }
}

static void write_part(struct mlc_buf *b, const char *delim, const char *content_id,
                       struct dv_resp *r)
{
    mlc_buf_printf(b,
                   "--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: "
                   "binary\r\n",
                   delim);
    if (content_id && *content_id)
        mlc_buf_printf(b, "Content-ID: %s\r\n", content_id);
    mlc_buf_printf(b, "\r\nHTTP/1.1 %u %s\r\n", r->status, reason(r->status));
    if (r->ctype[0])
        mlc_buf_printf(b, "Content-Type: %s\r\n", r->ctype);
    mlc_buf_printf(b, "OData-Version: 4.0\r\n");
    for (size_t i = 0; i < r->nh; i++)
        mlc_buf_printf(b, "%s: %s\r\n", r->hname[i], r->hval[i]);
    mlc_buf_printf(b, "\r\n");
    mlc_buf_append(b, r->body.data ? r->body.data : "", r->body.len);
    mlc_buf_printf(b, "\r\n");
}

static void suffix(char *out, size_t sz)
{
    char g[37];
    dv_guid_random(g);
    snprintf(out, sz, "%s", g);
}

/* Runs one change set under the data lock; false when it failed (the failing answer in *fail). */
static bool run_changeset(struct dv_ctx *c, struct dv_part *cs, struct mlc_buf *out,
                          const char *outer, struct dv_resp *fail, size_t *count)
{
    char bnd[80];
    struct dv_part *sub = NULL;
    size_t ns = 0;
    char err[256];
    if (!dv_boundary(cs->content_type, bnd, sizeof bnd) ||
        dv_multipart_split(cs->body, cs->body_len, bnd, &sub, &ns, err, sizeof err) != MLC_OK) {
        dv_resp_error(fail, 400, "0x0", "The change set is malformed: %s",
                      dv_boundary(cs->content_type, bnd, sizeof bnd) ? err : "no boundary");
        return false;
    }
    *count += ns;
    struct dv_resp *rs = mlc_calloc(ns ? ns : 1, sizeof *rs);
    bool ok = true;
    pthread_mutex_lock(&c->s->mu);
    dv_keys_tick(c->s, &c->st);
    dv_txn_begin(c->s);
    json_t *saved_ids = c->content_ids;
    c->content_ids = json_object();
    c->in_changeset = true;
    size_t done = 0;
    for (size_t i = 0; i < ns && ok; i++, done++) {
        dv_resp_init(&rs[i]);
        struct dv_req q;
        bool post = false;
        if (dv_http_part_parse(sub[i].body, sub[i].body_len, &q, err, sizeof err) != MLC_OK) {
            dv_resp_error(&rs[i], 400, "0x0", "%s", err);
        } else if (strcmp(q.method, "GET") == 0) {
            dv_resp_error(&rs[i], 400, "0x0",
                          "A change set holds writes only: GET must be outside change sets.");
        } else {
            post = strcmp(q.method, "POST") == 0;
            dv_webapi_exec(c, &q, &rs[i]);
        }
        dv_req_free(&q);
        if (rs[i].status >= 400) {
            ok = false;
        } else if (sub[i].content_id[0] && (post || !c->st.changeset_ref_upsert_refuse)) {
            /* $n is documented for rows the change set created (POST); for a row an upsert
             * wrote it is unconfirmed: the changesetRefUpsert switch */
            for (size_t h = 0; h < rs[i].nh; h++)
                if (strcasecmp(rs[i].hname[h], "OData-EntityId") == 0) {
                    const char *u = strstr(rs[i].hval[h], "/api/data/v9.2/");
                    if (u)
                        json_object_set_new(c->content_ids, sub[i].content_id, json_string(u + 14));
                }
        }
    }
    c->in_changeset = false;
    json_decref(c->content_ids);
    c->content_ids = saved_ids;
    if (ok)
        dv_txn_commit(c->s);
    else
        dv_txn_rollback(c->s);
    pthread_mutex_unlock(&c->s->mu);
    if (ok) {
        char inner[64];
        snprintf(inner, sizeof inner, "changesetresponse_");
        suffix(inner + strlen(inner), sizeof inner - strlen(inner));
        mlc_buf_printf(out, "--%s\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n", outer,
                       inner);
        for (size_t i = 0; i < ns; i++)
            write_part(out, inner, sub[i].content_id, &rs[i]);
        mlc_buf_printf(out, "--%s--\r\n", inner);
    } else {
        /* a failed change set answers with the one failing response */
        struct dv_resp *f = &rs[done - 1];
        fail->status = f->status;
        snprintf(fail->ctype, sizeof fail->ctype, "%s", f->ctype);
        mlc_buf_reset(&fail->body);
        mlc_buf_append(&fail->body, f->body.data ? f->body.data : "", f->body.len);
    }
    for (size_t i = 0; i < done; i++)
        dv_resp_free(&rs[i]);
    free(rs);
    dv_parts_free(sub, ns);
    return ok;
}

void dv_batch_exec(struct dv_ctx *c, const struct dv_req *q, struct dv_resp *p)
{
    char bnd[80], err[256];
    if (!q->content_type || strncasecmp(q->content_type, "multipart/mixed", 15) != 0 ||
        !dv_boundary(q->content_type, bnd, sizeof bnd)) {
        dv_resp_error(p, 400, "0x0",
                      "The Content-Type of a $batch must be multipart/mixed with a boundary.");
        return;
    }
    struct dv_part *parts = NULL;
    size_t n = 0;
    if (dv_multipart_split(q->body ? q->body : "", q->body_len, bnd, &parts, &n, err, sizeof err) !=
        MLC_OK) {
        dv_resp_error(p, 400, "0x0", "The batch request is malformed: %s", err);
        return;
    }
    bool cont = q->prefer && strstr(q->prefer, "odata.continue-on-error");
    char outer[64] = "batchresponse_";
    suffix(outer + strlen(outer), sizeof outer - strlen(outer));
    struct mlc_buf out;
    mlc_buf_init(&out, 256u << 20);
    size_t counted = 0;
    c->in_batch = true;
    for (size_t i = 0; i < n; i++) {
        struct dv_resp r;
        dv_resp_init(&r);
        bool failed = false;
        if (strncasecmp(parts[i].content_type, "multipart/mixed", 15) == 0) {
            failed = !run_changeset(c, &parts[i], &out, outer, &r, &counted);
            if (failed)
                write_part(&out, outer, NULL, &r);
        } else {
            counted++;
            struct dv_req sq;
            if (strncasecmp(parts[i].content_type, "application/http", 16) != 0)
                dv_resp_error(&r, 400, "0x0",
                              "A batch part must be application/http or a multipart/mixed "
                              "change set.");
            else if (dv_http_part_parse(parts[i].body, parts[i].body_len, &sq, err, sizeof err) !=
                     MLC_OK)
                dv_resp_error(&r, 400, "0x0", "%s", err);
            else {
                dv_webapi_exec(c, &sq, &r);
                dv_req_free(&sq);
            }
            failed = r.status >= 400;
            write_part(&out, outer, parts[i].content_id, &r);
        }
        dv_resp_free(&r);
        if (failed && !cont)
            break;
    }
    c->in_batch = false;
    mlc_buf_printf(&out, "--%s--\r\n", outer);
    dv_parts_free(parts, n);
    if (counted > 1)
        dv_protect_count(c->s, c->user_id, (unsigned)(counted - 1));
    p->status = 200;
    snprintf(p->ctype, sizeof p->ctype, "multipart/mixed; boundary=%s", outer);
    mlc_buf_free(&p->body);
    p->body = out;
}
