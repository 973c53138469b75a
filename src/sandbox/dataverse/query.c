/* GET of rows and collections: $select, $filter, $top, $count, odata.maxpagesize paging with
 * @odata.nextLink. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API "/api/data/v9.2/"

/* The wire name of a column: lookups read back as _x_value. */
static void wire_name(const struct dv_col *col, const char *name, char *out, size_t sz)
{
    if (col && col->type == DT_LOOKUP)
        snprintf(out, sz, "_%s_value", name);
    else
        snprintf(out, sz, "%s", name);
}

/* Finds the column a $select/$filter name refers to (x or _x_value). */
static bool known_property(struct dv_tab *t, const char *name, char *wire, size_t sz)
{
    const struct dv_col *col = dv_col_find(t, name);
    enum dv_type ty;
    int ml;
    if (col) {
        wire_name(col, name, wire, sz);
        return true;
    }
    if (dv_col_custom(t, name, &ty, &ml)) {
        snprintf(wire, sz, "%s", name);
        return true;
    }
    size_t l = strlen(name);
    if (name[0] == '_' && l > 7 && strcmp(name + l - 6, "_value") == 0) {
        char base[80];
        if (l - 7 >= sizeof base)
            return false;
        memcpy(base, name + 1, l - 7);
        base[l - 7] = '\0';
        col = dv_col_find(t, base);
        if (col && col->type == DT_LOOKUP) {
            snprintf(wire, sz, "%s", name);
            return true;
        }
    }
    return false;
}

bool dv_select_valid(struct dv_tab *t, const char *select, struct dv_resp *p)
{
    if (!select)
        return true;
    const char *q = select;
    while (*q) {
        size_t l = strcspn(q, ",");
        char name[96], wire[100];
        if (l == 0 || l >= sizeof name) {
            dv_resp_error(p, 400, "0x80060888", "The $select list is malformed.");
            return false;
        }
        memcpy(name, q, l);
        name[l] = '\0';
        if (!known_property(t, name, wire, sizeof wire)) {
            dv_resp_error(p, 400, "0x80060888",
                          "Could not find a property named '%s' on type "
                          "'Microsoft.Dynamics.CRM.%s'.",
                          name, t->def->logical);
            return false;
        }
        q += l;
        if (*q == ',')
            q++;
    }
    return true;
}

static void put(json_t *out, json_t *row, const char *wire)
{
    json_t *v = json_object_get(row, wire);
    json_object_set(out, wire, v ? v : json_null());
}

json_t *dv_row_render(struct dv_ctx *c, struct dv_tab *t, json_t *row, const char *select,
                      bool entity_context)
{
    json_t *out = json_object();
    if (entity_context) {
        char ctx[512];
        snprintf(ctx, sizeof ctx, "%s" API "$metadata#%s%s%s%s/$entity", c->s->base_url,
                 t->def->set, select ? "(" : "", select ? select : "", select ? ")" : "");
        json_object_set_new(out, "@odata.context", json_string(ctx));
    }
    char etag[64];
    snprintf(etag, sizeof etag, "W/\"%lld\"",
             (long long)json_integer_value(json_object_get(row, "versionnumber")));
    json_object_set_new(out, "@odata.etag", json_string(etag));
    if (select) {
        const char *q = select;
        while (*q) {
            size_t l = strcspn(q, ",");
            char name[96], wire[100];
            if (l && l < sizeof name) {
                memcpy(name, q, l);
                name[l] = '\0';
                if (known_property(t, name, wire, sizeof wire))
                    put(out, row, wire);
            }
            q += l;
            if (*q == ',')
                q++;
        }
        put(out, row, t->def->id); /* the primary key always comes back */
        return out;
    }
    for (size_t i = 0; i < t->def->ncols; i++) {
        const struct dv_col *col = dv_col_find(t, t->def->cols[i].name);
        if (!col)
            continue;
        char wire[100];
        wire_name(col, col->name, wire, sizeof wire);
        put(out, row, wire);
    }
    const char *k;
    json_t *v;
    json_object_foreach(t->custom, k, v)
    {
        if (!json_object_get(out, k))
            put(out, row, k);
    }
    return out;
}

struct resolve_ctx {
    struct dv_sandbox *s;
    struct dv_tab *t;
    struct dv_resp *p;
    bool bad;
};

static json_t *resolve(void *ud, json_t *row, const char *path)
{
    struct resolve_ctx *rc = ud;
    const char *slash = strchr(path, '/');
    char wire[100];
    if (!slash) {
        if (!known_property(rc->t, path, wire, sizeof wire))
            return NULL;
        return json_object_get(row, wire);
    }
    /* nav/prop: follow a lookup to its row */
    char nav[80];
    size_t nl = (size_t)(slash - path);
    if (nl >= sizeof nav)
        return NULL;
    memcpy(nav, path, nl);
    nav[nl] = '\0';
    for (size_t i = 0; i < rc->t->def->ncols; i++) {
        const struct dv_col *col = &rc->t->def->cols[i];
        if (col->type != DT_LOOKUP || !col->nav || strcmp(col->nav, nav) != 0)
            continue;
        snprintf(wire, sizeof wire, "_%s_value", col->name);
        const char *id = json_string_value(json_object_get(row, wire));
        struct dv_tab *tt = dv_tab_by_logical(rc->s, col->target, strlen(col->target));
        json_t *target = id && tt ? dv_row_get(tt, id) : NULL;
        if (!target)
            return NULL;
        struct resolve_ctx sub = {rc->s, tt, rc->p, false};
        return resolve(&sub, target, slash + 1);
    }
    return NULL;
}

static bool path_ok(struct dv_sandbox *s, struct dv_tab *t, const char *path, char *bad, size_t sz)
{
    const char *slash = strchr(path, '/');
    char wire[100];
    if (!slash) {
        if (known_property(t, path, wire, sizeof wire))
            return true;
        snprintf(bad, sz, "%s", path);
        return false;
    }
    for (size_t i = 0; i < t->def->ncols; i++) {
        const struct dv_col *col = &t->def->cols[i];
        if (col->type == DT_LOOKUP && col->nav && strlen(col->nav) == (size_t)(slash - path) &&
            strncmp(col->nav, path, (size_t)(slash - path)) == 0) {
            struct dv_tab *tt = dv_tab_by_logical(s, col->target, strlen(col->target));
            return tt && path_ok(s, tt, slash + 1, bad, sz);
        }
    }
    snprintf(bad, sz, "%.*s", (int)(slash - path), path);
    return false;
}

struct path_check {
    struct dv_sandbox *s;
    struct dv_tab *t;
    char bad[100];
};

static bool check_path(void *ud, const char *path)
{
    struct path_check *pc = ud;
    return path_ok(pc->s, pc->t, path, pc->bad, sizeof pc->bad);
}

static long page_size(const char *prefer, long dflt)
{
    const char *m = prefer ? strstr(prefer, "odata.maxpagesize=") : NULL;
    if (!m)
        return dflt;
    char *end = NULL;
    long v = strtol(m + 18, &end, 10);
    return v > 0 && v <= 5000 ? v : dflt;
}

static void append_enc(struct mlc_buf *b, const char *s)
{
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        if ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
            strchr("-_.~$,()'", *q))
            mlc_buf_append(b, q, 1);
        else
            mlc_buf_printf(b, "%%%02X", *q);
    }
}

void dv_query_collection(struct dv_ctx *c, struct dv_tab *t, const struct dv_req *q,
                         struct dv_resp *p)
{
    static const char *const unsupported[] = {"$expand", "$orderby", "$apply", "$search",
                                              "fetchXml"};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        if (dv_req_query(q, unsupported[i])) {
            dv_resp_error(p, 400, "0x80060888",
                          "The query option '%s' is not supported by the sandbox.", unsupported[i]);
            return;
        }
    const char *select = dv_req_query(q, "$select");
    if (!dv_select_valid(t, select, p))
        return;
    struct dv_filter *f = NULL;
    const char *ftext = dv_req_query(q, "$filter");
    char err[400];
    if (ftext && dv_filter_parse(ftext, &f, err, sizeof err) != MLC_OK) {
        dv_resp_error(p, 400, "0x80060888", "%s", err);
        return;
    }
    struct path_check pc = {c->s, t, ""};
    if (f && !dv_filter_paths(f, check_path, &pc)) {
        dv_resp_error(p, 400, "0x80060888",
                      "Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.",
                      pc.bad, t->def->logical);
        dv_filter_free(f);
        return;
    }
    long top = -1;
    const char *ts = dv_req_query(q, "$top");
    if (ts) {
        uint64_t v;
        if (mlc_parse_u64(ts, &v) != MLC_OK || v > 100000) {
            dv_resp_error(p, 400, "0x80060888", "Invalid value '%.32s' for $top.", ts);
            dv_filter_free(f);
            return;
        }
        top = (long)v;
    }
    long psize = page_size(q->prefer, c->st.max_page_size);
    long skip = 0;
    const char *tok = dv_req_query(q, "$skiptoken");
    if (tok) {
        const char *pn = strstr(tok, "pagenumber=\"");
        char *end = NULL;
        long pg = pn ? strtol(pn + 12, &end, 10) : 0;
        if (pg < 1 || pg > 1000000) {
            dv_resp_error(p, 400, "0x80060888", "The $skiptoken is not valid.");
            dv_filter_free(f);
            return;
        }
        skip = (pg - 1) * psize;
    }
    bool count = dv_req_query(q, "$count") && strcmp(dv_req_query(q, "$count"), "true") == 0;
    struct resolve_ctx rc = {c->s, t, p, false};
    json_t *value = json_array();
    long matched = 0;
    bool more = false;
    const char *id;
    json_t *row;
    json_object_foreach(t->rows, id, row)
    {
        if (f && !dv_filter_eval(f, row, resolve, &rc))
            continue;
        if (top >= 0 && matched >= top)
            break;
        matched++;
        if (matched <= skip)
            continue;
        if ((long)json_array_size(value) >= psize) {
            more = true;
            if (!count)
                break;
            continue;
        }
        json_array_append_new(value, dv_row_render(c, t, row, select, false));
    }
    dv_filter_free(f);
    json_t *out = json_object();
    char ctx[512];
    snprintf(ctx, sizeof ctx, "%s" API "$metadata#%s%s%s%s", c->s->base_url, t->def->set,
             select ? "(" : "", select ? select : "", select ? ")" : "");
    json_object_set_new(out, "@odata.context", json_string(ctx));
    if (count)
        json_object_set_new(out, "@odata.count", json_integer(matched));
    json_object_set_new(out, "value", value);
    if (more) {
        struct mlc_buf b;
        mlc_buf_init(&b, 1u << 16);
        mlc_buf_printf(&b, "%s" API "%s?", c->s->base_url, t->def->set);
        bool first = true;
        for (size_t i = 0; i < q->nquery; i++) {
            if (strcmp(q->query[i].k, "$skiptoken") == 0)
                continue;
            mlc_buf_printf(&b, "%s%s=", first ? "" : "&", q->query[i].k);
            append_enc(&b, q->query[i].v);
            first = false;
        }
        char cookie[128];
        snprintf(cookie, sizeof cookie, "<cookie pagenumber=\"%ld\" istracking=\"False\" />",
                 skip / psize + 2);
        mlc_buf_printf(&b, "%s$skiptoken=", first ? "" : "&");
        append_enc(&b, cookie);
        json_object_set_new(out, "@odata.nextLink", json_string(b.data));
        mlc_buf_free(&b);
    }
    if (q->prefer && strstr(q->prefer, "odata.maxpagesize=")) {
        char pa[48];
        snprintf(pa, sizeof pa, "odata.maxpagesize=%ld", psize);
        dv_resp_header(p, "Preference-Applied", pa);
    }
    dv_resp_json(p, 200, out);
}
