/* Small shared pieces of the emulated Dataverse: GUIDs, times, Dataverse error bodies, the response
 * buffer. */
#include "internal.h"
#include "mlc/crypto.h"
#include "mlc/guid.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* RFC 4122 version 4 layout and text of 16 bytes. */
static void guid_text(uint8_t b[16], char out[37])
{
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    char hex[33];
    mlc_hex(b, 16, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

void dv_guid_random(char out[37])
{
    uint8_t b[16];
    mlc_random_bytes(b, sizeof b);
    guid_text(b, out);
}

bool dv_guid_valid(const char *s, size_t len)
{
    return mlc_guid_valid(s, len);
}

void dv_iso_time(int64_t ms, char *out, size_t sz)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, sz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

double dv_dice(struct dv_sandbox *s)
{
    uint64_t z = atomic_fetch_add(&s->rng, 0x9e3779b97f4a7c15ull) + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

json_t *dv_error_body(const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
}

void dv_resp_init(struct dv_resp *p)
{
    memset(p, 0, sizeof *p);
    mlc_buf_init(&p->body, 64u << 20);
}

void dv_resp_free(struct dv_resp *p)
{
    for (size_t i = 0; i < p->nh; i++) {
        free(p->hname[i]);
        free(p->hval[i]);
    }
    p->nh = 0;
    mlc_buf_free(&p->body);
}

void dv_resp_header(struct dv_resp *p, const char *name, const char *value)
{
    for (size_t i = 0; i < p->nh; i++)
        if (strcasecmp(p->hname[i], name) == 0) {
            free(p->hval[i]);
            p->hval[i] = mlc_strdup(value);
            return;
        }
    if (p->nh == sizeof p->hname / sizeof p->hname[0])
        return;
    p->hname[p->nh] = mlc_strdup(name);
    p->hval[p->nh] = mlc_strdup(value);
    p->nh++;
}

void dv_resp_json(struct dv_resp *p, unsigned status, json_t *body)
{
    p->status = status;
    mlc_buf_reset(&p->body);
    snprintf(p->ctype, sizeof p->ctype, "application/json; odata.metadata=minimal");
    char *txt = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (txt && mlc_buf_append(&p->body, txt, strlen(txt)) != MLC_OK) {
        p->status = 500;
        mlc_buf_reset(&p->body);
    }
    free(txt);
}

void dv_resp_error(struct dv_resp *p, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dv_resp_json(p, status, json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg));
    snprintf(p->ctype, sizeof p->ctype, "application/json");
}

const char *dv_req_query(const struct dv_req *q, const char *name)
{
    for (size_t i = 0; i < q->nquery; i++)
        if (strcmp(q->query[i].k, name) == 0)
            return q->query[i].v;
    return NULL;
}

void dv_resp_send(struct mlc_request *r, struct dv_resp *p)
{
    mlc_reply_header(r, "OData-Version", "4.0");
    for (size_t i = 0; i < p->nh; i++)
        mlc_reply_header(r, p->hname[i], p->hval[i]);
    mlc_reply_text(r, p->status ? p->status : 500, p->ctype[0] ? p->ctype : NULL,
                   p->body.data ? p->body.data : "", p->body.len);
}

char *dv_pct_decode(const char *s, size_t n)
{
    /* a broken escape is kept as written: the lookup it feeds then simply finds nothing */
    char *d = mlc_oauth1_decode(s, n);
    return d ? d : mlc_strndup(s, n);
}

void dv_resp_not_found(struct dv_resp *p, const struct dv_tab *t, bool by_key, const char *id)
{
    if (by_key)
        dv_resp_error(p, 404, "0x80040217",
                      "A record with the specified key values does not exist in %s entity",
                      t->def->logical);
    else
        dv_resp_error(p, 404, "0x80040217", "%s With Id = %s Does Not Exist", t->def->logical, id);
}

json_t *dv_req_json(const struct dv_req *q, struct dv_resp *p)
{
    json_error_t je;
    json_t *body = json_loadb(q->body ? q->body : "", q->body_len, JSON_REJECT_DUPLICATES, &je);
    if (json_is_object(body))
        return body;
    dv_resp_error(p, 400, "0x80040203", "The request body is not a JSON object: %s",
                  body ? "not an object" : je.text);
    json_decref(body);
    return NULL;
}

void dv_query_parse(const char *qs, struct dv_req *q)
{
    const char *p = qs;
    while (p && *p) {
        size_t l = strcspn(p, "&");
        if (l) {
            const char *eq = memchr(p, '=', l);
            size_t kl = eq ? (size_t)(eq - p) : l;
            if (q->nquery < 32) {
                if (!q->query)
                    q->query = mlc_calloc(32, sizeof *q->query);
                q->query[q->nquery].k = dv_pct_decode(p, kl);
                q->query[q->nquery].v = eq ? dv_pct_decode(eq + 1, l - kl - 1) : mlc_strdup("");
                q->nquery++;
            }
        }
        p += l;
        if (*p == '&')
            p++;
    }
}

void dv_req_free(struct dv_req *q)
{
    for (size_t i = 0; i < q->nquery; i++) {
        free(q->query[i].k);
        free(q->query[i].v);
    }
    free(q->query);
    for (size_t i = 0; i < sizeof q->own / sizeof q->own[0]; i++)
        free(q->own[i]);
    memset(q, 0, sizeof *q);
}

void dv_guid_from(const char *text, char out[37])
{
    uint8_t h[32];
    mlc_sha256(text, strlen(text), h);
    guid_text(h, out);
}

bool dv_list_has(const char *list, const char *name, size_t nl)
{
    const char *p = list;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t l = strcspn(p, ", ");
        if (l && l == nl && strncmp(p, name, l) == 0)
            return true;
        p += l;
    }
    return false;
}
