/* $batch: building the multipart request (parts and change sets), parsing the multipart answer
 * (bounded, never past the end), sending it, and the fallback for change sets that refuse upserts
 * by alternate key. */
#include "internal.h"
#include "mlc/crypto.h"
#include "mlc/log.h"
#include "mlc/net.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PARTS 4000

/* ---- building ---- */

static void http_part(struct mlc_buf *out, const struct mlc_dv_op *op, const char *base_url,
                      int content_id)
{
    mlc_buf_printf(out, "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
    if (content_id > 0)
        mlc_buf_printf(out, "Content-ID: %d\r\n", content_id);
    mlc_buf_printf(out, "\r\n%s %s%s HTTP/1.1\r\n", op->method, base_url, op->path);
    char *payload = op->body ? json_dumps(op->body, JSON_COMPACT) : NULL;
    if (payload)
        mlc_buf_printf(out, "Content-Type: application/json\r\n");
    else
        mlc_buf_printf(out, "Accept: application/json\r\n");
    if (op->if_match)
        mlc_buf_printf(out, "If-Match: %s\r\n", op->if_match);
    if (op->if_none_match)
        mlc_buf_printf(out, "If-None-Match: %s\r\n", op->if_none_match);
    mlc_buf_printf(out, "\r\n");
    if (payload) {
        mlc_buf_append(out, payload, strlen(payload));
        mlc_buf_printf(out, "\r\n");
    }
    free(payload);
}

enum mlc_rc mlc_dv_batch_build(const struct mlc_dv_op *ops, size_t n, const char *base_url,
                               char *boundary, size_t bsz, struct mlc_buf *out)
{
    uint8_t rnd[8];
    char hex[17];
    if (mlc_random_bytes(rnd, sizeof rnd) != MLC_OK)
        return MLC_ERR;
    mlc_hex(rnd, sizeof rnd, hex);
    snprintf(boundary, bsz, "batch_%s", hex);
    bool *done = mlc_calloc(n ? n : 1, sizeof *done);
    for (size_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        mlc_buf_printf(out, "--%s\r\n", boundary);
        if (ops[i].changeset <= 0) {
            http_part(out, &ops[i], base_url, 0);
            done[i] = true;
            continue;
        }
        char cs[48];
        snprintf(cs, sizeof cs, "changeset_%s_%d", hex, ops[i].changeset);
        mlc_buf_printf(out, "Content-Type: multipart/mixed; boundary=%s\r\n\r\n", cs);
        int cid = 0;
        for (size_t j = i; j < n; j++) {
            if (done[j] || ops[j].changeset != ops[i].changeset)
                continue;
            mlc_buf_printf(out, "--%s\r\n", cs);
            http_part(out, &ops[j], base_url, ++cid);
            done[j] = true;
        }
        mlc_buf_printf(out, "--%s--\r\n", cs);
    }
    free(done);
    return mlc_buf_printf(out, "--%s--\r\n", boundary);
}

/* ---- parsing ---- */

struct seg {
    const char *p;
    size_t len;
};

static const char *find(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl == 0 || hl < nl)
        return NULL;
    for (size_t i = 0; i + nl <= hl; i++) {
        const char *c = memchr(h + i, n[0], hl - nl - i + 1);
        if (!c)
            return NULL;
        i = (size_t)(c - h);
        if (memcmp(c, n, nl) == 0)
            return c;
    }
    return NULL;
}

/* The boundary parameter of a Content-Type into out; false when absent or unusable. */
static bool boundary_of(const char *ct, size_t ctlen, char *out, size_t outsz)
{
    for (size_t i = 0; i + 9 <= ctlen; i++) {
        if (strncasecmp(ct + i, "boundary=", 9) != 0)
            continue;
        const char *v = ct + i + 9;
        size_t rest = ctlen - i - 9, l = 0;
        if (rest && *v == '"') {
            v++;
            rest--;
            while (l < rest && v[l] != '"')
                l++;
        } else {
            while (l < rest && v[l] != ';' && v[l] != ' ' && v[l] != '\r' && v[l] != '\n')
                l++;
        }
        if (l == 0 || l >= outsz || l > 70)
            return false;
        memcpy(out, v, l);
        out[l] = '\0';
        return true;
    }
    return false;
}

/* Splits a multipart body into the parts between delimiter lines "--bnd". */
static enum mlc_rc split(const char *b, size_t len, const char *bnd, struct seg *segs, size_t max,
                         size_t *n, char *err, size_t errsz)
{
    char delim[80];
    snprintf(delim, sizeof delim, "--%s", bnd);
    size_t dl = strlen(delim);
    *n = 0;
    /* the first delimiter: at the start or at the start of a line */
    size_t pos = 0;
    bool found = false;
    while (pos + dl <= len) {
        const char *hit = find(b + pos, len - pos, delim, dl);
        if (!hit)
            break;
        size_t at = (size_t)(hit - b);
        if (at == 0 || b[at - 1] == '\n') {
            pos = at;
            found = true;
            break;
        }
        pos = at + 1;
    }
    if (!found) {
        snprintf(err, errsz, "the multipart body has no '%.70s' delimiter", delim);
        return MLC_EINVAL;
    }
    for (;;) {
        size_t after = pos + dl;
        if (after + 2 <= len && b[after] == '-' && b[after + 1] == '-')
            return MLC_OK; /* closing delimiter */
        const char *eol = after < len ? memchr(b + after, '\n', len - after) : NULL;
        if (!eol) {
            snprintf(err, errsz, "the multipart body ends inside a delimiter line (truncated)");
            return MLC_EINVAL;
        }
        size_t start = (size_t)(eol - b) + 1;
        /* the next delimiter at a line start */
        size_t q = start;
        const char *next = NULL;
        while (q < len) {
            const char *hit = find(b + q, len - q, delim, dl);
            if (!hit)
                break;
            size_t at = (size_t)(hit - b);
            if (at > start && b[at - 1] == '\n') {
                next = hit;
                break;
            }
            if (at == start) { /* an empty part */
                next = hit;
                break;
            }
            q = at + 1;
        }
        if (!next) {
            snprintf(err, errsz, "the multipart body has no closing '%.70s--' (truncated)", delim);
            return MLC_EINVAL;
        }
        size_t end = (size_t)(next - b);
        /* the CRLF before a delimiter belongs to it */
        if (end > start && b[end - 1] == '\n')
            end--;
        if (end > start && b[end - 1] == '\r')
            end--;
        if (*n >= max) {
            snprintf(err, errsz, "more than %zu parts", max);
            return MLC_EINVAL;
        }
        segs[(*n)++] = (struct seg){b + start, end > start ? end - start : 0};
        pos = (size_t)(next - b);
    }
}

/* Header block of a part: lines up to an empty line. Calls back with name/value spans. *body
 * receives what follows. false when the header block does not end. */
struct hdr {
    const char *name;
    size_t nl;
    const char *val;
    size_t vl;
};
static bool headers(const char *p, size_t len, struct hdr *h, size_t maxh, size_t *nh,
                    struct seg *body, struct seg *first_line, bool want_first)
{
    size_t pos = 0;
    *nh = 0;
    bool first = want_first;
    while (pos < len) {
        const char *eol = memchr(p + pos, '\n', len - pos);
        size_t le = eol ? (size_t)(eol - p) : len;
        size_t ll = le - pos;
        if (ll && p[pos + ll - 1] == '\r')
            ll--;
        if (ll == 0 && !first) {
            size_t bs = eol ? le + 1 : len;
            *body = (struct seg){p + bs, len - bs};
            return true;
        }
        if (first) {
            *first_line = (struct seg){p + pos, ll};
            first = false;
        } else {
            const char *colon = memchr(p + pos, ':', ll);
            if (colon && *nh < maxh) {
                const char *v = colon + 1;
                const char *ve = p + pos + ll;
                while (v < ve && (*v == ' ' || *v == '\t'))
                    v++;
                h[(*nh)++] =
                    (struct hdr){p + pos, (size_t)(colon - (p + pos)), v, (size_t)(ve - v)};
            }
        }
        if (!eol)
            break;
        pos = le + 1;
    }
    /* no blank line: a part with headers only */
    *body = (struct seg){p + len, 0};
    return !want_first || first_line->p != NULL;
}

static const struct hdr *hfind(const struct hdr *h, size_t nh, const char *name)
{
    size_t l = strlen(name);
    for (size_t i = 0; i < nh; i++)
        if (h[i].nl == l && strncasecmp(h[i].name, name, l) == 0)
            return &h[i];
    return NULL;
}

/* One application/http part -> a mlc_dv_part. */
static enum mlc_rc http_response(struct seg s, int changeset, struct mlc_dv_part *out, char *err,
                                 size_t errsz)
{
    struct hdr h[32];
    size_t nh;
    struct seg body, fl = {NULL, 0};
    memset(out, 0, sizeof *out);
    out->changeset = changeset;
    /* MIME headers of the part */
    if (!headers(s.p, s.len, h, 32, &nh, &body, &fl, false)) {
        snprintf(err, errsz, "a part without headers");
        return MLC_EINVAL;
    }
    const struct hdr *ct = hfind(h, nh, "Content-Type");
    if (!ct || ct->vl < 16 || strncasecmp(ct->val, "application/http", 16) != 0) {
        snprintf(err, errsz, "a part that is not application/http");
        return MLC_EINVAL;
    }
    const struct hdr *cid = hfind(h, nh, "Content-ID");
    if (cid)
        snprintf(out->content_id, sizeof out->content_id, "%.*s",
                 (int)(cid->vl < 15 ? cid->vl : 15), cid->val);
    /* the embedded HTTP response */
    struct seg inner = body, ib;
    if (!headers(inner.p, inner.len, h, 32, &nh, &ib, &fl, true) || !fl.p) {
        snprintf(err, errsz, "a part without an HTTP status line");
        return MLC_EINVAL;
    }
    if (fl.len < 12 || strncmp(fl.p, "HTTP/1.", 7) != 0 || fl.p[8] != ' ' ||
        !isdigit((unsigned char)fl.p[9]) || !isdigit((unsigned char)fl.p[10]) ||
        !isdigit((unsigned char)fl.p[11])) {
        snprintf(err, errsz, "a part with a malformed status line");
        return MLC_EINVAL;
    }
    out->status = (fl.p[9] - '0') * 100 + (fl.p[10] - '0') * 10 + (fl.p[11] - '0');
    const struct hdr *eid = hfind(h, nh, "OData-EntityId");
    if (eid) {
        char u[600];
        snprintf(u, sizeof u, "%.*s", (int)(eid->vl < 599 ? eid->vl : 599), eid->val);
        mlc_dv_entity_id_parse(u, out->entity_id);
    }
    out->body = mlc_strndup(ib.p, ib.len);
    out->body_len = strlen(out->body);
    return MLC_OK;
}

void mlc_dv_parts_free(struct mlc_dv_part *p, size_t n)
{
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        free(p[i].body);
    free(p);
}

enum mlc_rc mlc_dv_batch_parse(const char *content_type, const char *body, size_t len,
                               struct mlc_dv_part **out, size_t *n, char *err, size_t errsz)
{
    *out = NULL;
    *n = 0;
    char bnd[80];
    if (!content_type || strncasecmp(content_type, "multipart/mixed", 15) != 0 ||
        !boundary_of(content_type, strlen(content_type), bnd, sizeof bnd)) {
        snprintf(err, errsz, "the $batch answer is not multipart/mixed with a boundary");
        return MLC_EINVAL;
    }
    struct seg *top = mlc_calloc(MAX_PARTS, sizeof *top);
    struct seg *sub = mlc_calloc(MAX_PARTS, sizeof *sub);
    struct mlc_dv_part *parts = mlc_calloc(MAX_PARTS, sizeof *parts);
    size_t nt = 0, np = 0;
    int changesets = 0;
    enum mlc_rc rc = split(body ? body : "", body ? len : 0, bnd, top, MAX_PARTS, &nt, err, errsz);
    for (size_t i = 0; i < nt && rc == MLC_OK; i++) {
        struct hdr h[32];
        size_t nh;
        struct seg pb, fl = {NULL, 0};
        headers(top[i].p, top[i].len, h, 32, &nh, &pb, &fl, false);
        const struct hdr *ct = hfind(h, nh, "Content-Type");
        if (ct && ct->vl >= 15 && strncasecmp(ct->val, "multipart/mixed", 15) == 0) {
            char ib[80];
            size_t ns = 0;
            if (!boundary_of(ct->val, ct->vl, ib, sizeof ib)) {
                snprintf(err, errsz, "a change set answer without a boundary");
                rc = MLC_EINVAL;
                break;
            }
            rc = split(pb.p, pb.len, ib, sub, MAX_PARTS, &ns, err, errsz);
            changesets++;
            for (size_t j = 0; j < ns && rc == MLC_OK; j++) {
                if (np >= MAX_PARTS) {
                    snprintf(err, errsz, "more than %d parts", MAX_PARTS);
                    rc = MLC_EINVAL;
                    break;
                }
                rc = http_response(sub[j], changesets, &parts[np], err, errsz);
                if (rc == MLC_OK)
                    np++;
            }
        } else {
            if (np >= MAX_PARTS) {
                snprintf(err, errsz, "more than %d parts", MAX_PARTS);
                rc = MLC_EINVAL;
                break;
            }
            rc = http_response(top[i], 0, &parts[np], err, errsz);
            if (rc == MLC_OK)
                np++;
        }
    }
    free(top);
    free(sub);
    if (rc != MLC_OK) {
        mlc_dv_parts_free(parts, np);
        return rc;
    }
    *out = parts;
    *n = np;
    return MLC_OK;
}

/* ---- sending ---- */

static void op_result(struct mlc_dv_op *op, const struct mlc_dv_part *p)
{
    op->status = p->status;
    snprintf(op->id, sizeof op->id, "%s", p->entity_id);
    json_decref(op->resp);
    op->resp = p->body_len ? json_loadb(p->body, p->body_len, 0, NULL) : NULL;
    memset(&op->err, 0, sizeof op->err);
    if (p->status < 200 || p->status >= 300)
        mlc_dv_error_parse(p->status, p->body, p->body_len, &op->err);
}

/* Sends one $batch and maps the answer onto ops. */
static enum mlc_rc send_batch(struct mlc_dv_session *s, struct mlc_dv_op *ops, size_t n,
                              struct mlc_dv_err *e)
{
    struct mlc_dataverse *dv = s->dv;
    struct mlc_buf body;
    mlc_buf_init(&body, (size_t)128 << 20);
    char bnd[64], ctype[128];
    if (mlc_dv_batch_build(ops, n, dv->api, bnd, sizeof bnd, &body) != MLC_OK) {
        mlc_buf_free(&body);
        dv_err_set(e, false, 0, "bug", "the $batch body could not be built");
        return MLC_ERR;
    }
    snprintf(ctype, sizeof ctype, "multipart/mixed; boundary=%s", bnd);
    struct dv_req r = {.method = "POST",
                       .url = "$batch",
                       .ctype = ctype,
                       .body = body.data,
                       .body_len = body.len,
                       .prefer = "odata.continue-on-error",
                       .endpoint = "batch",
                       .weight = (unsigned)n};
    struct mlc_net_response resp;
    atomic_fetch_add(&dv->batch_calls, 1);
    enum mlc_rc rc = dv_request(s, &r, &resp, e);
    mlc_buf_free(&body);
    if (rc != MLC_OK)
        return MLC_ERR;
    if (resp.status != 200) {
        if (resp.status >= 200 && resp.status < 300)
            dv_err_set(e, true, resp.status, "dataverse:batch", "$batch answered %ld, not 200",
                       resp.status);
        else
            mlc_dv_error_parse(resp.status, resp.body.data, resp.body.len, e);
        mlc_net_response_free(&resp);
        return MLC_ERR;
    }
    struct mlc_dv_part *parts = NULL;
    size_t np = 0;
    char perr[200];
    rc = mlc_dv_batch_parse(mlc_net_response_header(&resp, "Content-Type"), resp.body.data,
                            resp.body.len, &parts, &np, perr, sizeof perr);
    mlc_net_response_free(&resp);
    if (rc != MLC_OK) {
        dv_err_set(e, true, 200, "dataverse:batch_garbled", "unreadable $batch answer: %s", perr);
        return MLC_ERR;
    }
    /* walk the request units (single ops, change sets) against the answer */
    for (size_t i = 0; i < n; i++)
        ops[i].status = 0;
    bool *seen = mlc_calloc(n ? n : 1, sizeof *seen);
    size_t pi = 0;
    for (size_t i = 0; i < n && pi <= np; i++) {
        if (seen[i])
            continue;
        if (ops[i].changeset <= 0) {
            seen[i] = true;
            if (pi < np)
                op_result(&ops[i], &parts[pi++]);
            continue;
        }
        /* the ops of this change set, in request order = Content-ID order */
        size_t idx[1000], k = 0;
        for (size_t j = i; j < n && k < 1000; j++)
            if (!seen[j] && ops[j].changeset == ops[i].changeset) {
                seen[j] = true;
                idx[k++] = j;
            }
        if (pi < np && parts[pi].changeset > 0) {
            int cs = parts[pi].changeset;
            size_t m = 0;
            while (pi < np && parts[pi].changeset == cs) {
                unsigned long cid = strtoul(parts[pi].content_id, NULL, 10);
                size_t t = cid >= 1 && cid <= k ? cid - 1 : m;
                if (t < k)
                    op_result(&ops[idx[t]], &parts[pi]);
                pi++;
                m++;
            }
        } else if (pi < np) {
            /* a failed change set answers once for all of its requests */
            for (size_t t = 0; t < k; t++)
                op_result(&ops[idx[t]], &parts[pi]);
            pi++;
        }
    }
    free(seen);
    mlc_dv_parts_free(parts, np);
    return MLC_OK;
}

bool dv_path_key(const char *path, char *set, size_t setsz, json_t **key)
{
    if (path[0] == '/')
        path++;
    const char *open = strchr(path, '(');
    size_t l = strlen(path);
    *key = NULL;
    if (!open || l < 4 || path[l - 1] != ')' || !strchr(open, '='))
        return false;
    size_t sl = (size_t)(open - path);
    if (sl == 0 || sl >= setsz)
        return false;
    memcpy(set, path, sl);
    set[sl] = '\0';
    json_t *k = json_object();
    const char *p = open + 1, *end = path + l - 1;
    while (p < end) {
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq)
            break;
        char col[128];
        snprintf(col, sizeof col, "%.*s", (int)((size_t)(eq - p) < 127 ? eq - p : 127), p);
        p = eq + 1;
        if (p < end && *p == '\'') {
            struct mlc_buf v;
            mlc_buf_init(&v, 4096);
            p++;
            while (p < end) {
                if (*p == '\'' && p + 1 < end && p[1] == '\'') {
                    mlc_buf_append(&v, "'", 1);
                    p += 2;
                } else if (*p == '\'') {
                    p++;
                    break;
                } else {
                    mlc_buf_append(&v, p, 1);
                    p++;
                }
            }
            json_object_set_new(k, col, json_string(v.data ? v.data : ""));
            mlc_buf_free(&v);
        } else {
            const char *c = memchr(p, ',', (size_t)(end - p));
            size_t vl = c ? (size_t)(c - p) : (size_t)(end - p);
            char num[64];
            snprintf(num, sizeof num, "%.*s", (int)(vl < 63 ? vl : 63), p);
            json_object_set_new(k, col, json_integer(strtoll(num, NULL, 10)));
            p += vl;
        }
        if (p < end && *p == ',')
            p++;
    }
    if (json_object_size(k) == 0) {
        json_decref(k);
        return false;
    }
    *key = k;
    return true;
}

/* For change sets that refuse upserts by key: each upsert becomes PATCH by GUID (If-Match: *)
 * when the row exists, else POST with the key columns in the body. Paths and bodies are
 * replaced in place (owned strings kept in keep). */
static enum mlc_rc resolve_upserts(struct mlc_dv_session *s, struct mlc_dv_op *ops, size_t n,
                                   int changeset, json_t *keep, struct mlc_dv_err *e)
{
    for (size_t i = 0; i < n; i++) {
        struct mlc_dv_op *op = &ops[i];
        if (op->changeset != changeset || strcmp(op->method, "PATCH") != 0 || op->if_match ||
            op->if_none_match)
            continue;
        char set[128];
        json_t *key = NULL;
        if (!dv_path_key(op->path, set, sizeof set, &key))
            continue;
        struct mlc_buf q;
        mlc_buf_init(&q, 8192);
        mlc_buf_printf(&q, "%s", set);
        mlc_dv_key_segment(key, true, &q);
        /* the id column: the entity set's GUID comes back in OData-EntityId of any row read */
        json_t *row = NULL;
        enum mlc_rc rc = mlc_dv_get(s, q.data, &row, e);
        mlc_buf_free(&q);
        char guid[37] = "";
        if (rc == MLC_OK) {
            /* the id column is the logical name + "id": accounts -> accountid,
             * transactioncurrencies -> transactioncurrencyid */
            char idcol[140];
            dv_id_column(set, idcol, sizeof idcol);
            const char *g = json_string_value(json_object_get(row, idcol));
            if (g && mlc_dv_guid_valid(g))
                snprintf(guid, sizeof guid, "%s", g);
            json_decref(row);
            if (!guid[0]) {
                json_decref(key);
                dv_err_set(e, false, 0, "dataverse:fallback",
                           "the row of %s was found but its id column was not recognised", set);
                return MLC_ERR;
            }
        } else if (rc != MLC_ENOTFOUND) {
            json_decref(key);
            return MLC_ERR;
        }
        char *path = mlc_malloc(strlen(set) + 40);
        if (guid[0]) {
            snprintf(path, strlen(set) + 40, "%s(%s)", set, guid);
            op->if_match = "*";
        } else {
            snprintf(path, strlen(set) + 40, "%s", set);
            json_t *b = json_is_object(op->body) ? json_copy(op->body) : json_object();
            json_object_update(b, key);
            json_array_append_new(keep, b);
            op->body = b;
            op->method = "POST";
        }
        json_array_append_new(keep, json_string(path));
        op->path = json_string_value(json_array_get(keep, json_array_size(keep) - 1));
        free(path);
        json_decref(key);
    }
    return MLC_OK;
}

enum mlc_rc mlc_dv_batch(struct mlc_dv_session *s, struct mlc_dv_op *ops, size_t n,
                         struct mlc_dv_err *e)
{
    struct mlc_dataverse *dv = s->dv;
    memset(e, 0, sizeof *e);
    if (n == 0)
        return MLC_OK;
    if (n > 1000) {
        dv_err_set(e, false, 0, "bug", "a $batch holds at most 1000 requests");
        return MLC_EINVAL;
    }
    json_t *keep = json_array();
    const char *orig_path[1000];
    const char *orig_method[1000];
    json_t *orig_body[1000];
    const char *orig_if[1000];
    for (size_t i = 0; i < n; i++) {
        orig_path[i] = ops[i].path;
        orig_method[i] = ops[i].method;
        orig_body[i] = ops[i].body;
        orig_if[i] = ops[i].if_match;
    }
    enum mlc_rc rc = MLC_OK;
    pthread_mutex_lock(&dv->mu);
    bool refused = json_is_true(json_object_get(dv->bind_refused, "$changeset"));
    pthread_mutex_unlock(&dv->mu);
    if (refused) {
        for (size_t i = 0; i < n && rc == MLC_OK; i++)
            if (ops[i].changeset > 0 && (i == 0 || ops[i].changeset != ops[i - 1].changeset))
                rc = resolve_upserts(s, ops, n, ops[i].changeset, keep, e);
    }
    if (rc == MLC_OK)
        rc = send_batch(s, ops, n, e);
    if (rc == MLC_OK && !refused) {
        /* change sets refused for holding upserts: resolve them and send those again */
        int again[1000];
        size_t na = 0;
        for (size_t i = 0; i < n; i++)
            if (ops[i].changeset > 0 && ops[i].status == 400 &&
                strcmp(ops[i].err.code, "0x80060891") == 0) {
                bool dup = false;
                for (size_t j = 0; j < na; j++)
                    dup |= again[j] == ops[i].changeset;
                if (!dup && na < 1000)
                    again[na++] = ops[i].changeset;
            }
        if (na) {
            mlc_log(MLC_LOG_INFO, "dataverse: change sets refuse upserts by key here; resolving "
                                  "rows first");
            pthread_mutex_lock(&dv->mu);
            json_object_set_new(dv->bind_refused, "$changeset", json_true());
            pthread_mutex_unlock(&dv->mu);
            atomic_fetch_add(&dv->fallbacks, 1);
            struct mlc_dv_op *sub = mlc_calloc(n, sizeof *sub);
            size_t *map = mlc_calloc(n, sizeof *map);
            size_t ns = 0;
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < na; j++)
                    if (ops[i].changeset == again[j]) {
                        sub[ns] = ops[i];
                        sub[ns].resp = NULL;
                        map[ns++] = i;
                    }
            for (size_t j = 0; j < na && rc == MLC_OK; j++)
                rc = resolve_upserts(s, sub, ns, again[j], keep, e);
            if (rc == MLC_OK)
                rc = send_batch(s, sub, ns, e);
            for (size_t k = 0; k < ns; k++) {
                struct mlc_dv_op *o = &ops[map[k]];
                if (rc == MLC_OK) {
                    json_decref(o->resp);
                    o->resp = sub[k].resp;
                    o->status = sub[k].status;
                    o->err = sub[k].err;
                    snprintf(o->id, sizeof o->id, "%s", sub[k].id);
                } else {
                    json_decref(sub[k].resp);
                }
            }
            free(sub);
            free(map);
        }
    }
    for (size_t i = 0; i < n; i++) {
        ops[i].path = orig_path[i];
        ops[i].method = orig_method[i];
        ops[i].body = orig_body[i];
        ops[i].if_match = orig_if[i];
    }
    json_decref(keep);
    return rc;
}
