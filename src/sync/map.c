/* Mapping a NetSuite record to Dataverse columns: sources, types, value tables, truncation,
 * mapping exceptions, the payload hash and the body with our state columns. */
#include "internal.h"
#include "mlc/crypto.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

json_t *sync_path_get(json_t *rec, const char *path)
{
    json_t *v = rec;
    const char *p = path;
    while (v && *p) {
        size_t l = strcspn(p, ".");
        char seg[64];
        if (l >= sizeof seg)
            return NULL;
        memcpy(seg, p, l);
        seg[l] = '\0';
        v = json_is_object(v) ? json_object_get(v, seg) : NULL;
        p += l;
        if (*p == '.')
            p++;
    }
    return v && !json_is_null(v) ? v : NULL;
}

bool sync_text(json_t *v, char *out, size_t outsz)
{
    out[0] = '\0';
    if (json_is_string(v))
        snprintf(out, outsz, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, outsz, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, outsz, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(out, outsz, "%s", json_is_true(v) ? "T" : "F");
    return out[0] != '\0';
}

void sync_exception(struct rec *r, const char *code, const char *field, json_t *value,
                    const char *detail)
{
    if (!r->exc)
        r->exc = json_array();
    json_array_append_new(r->exc, json_pack("{s:s, s:s, s:O?, s:s}", "code", code, "field", field,
                                            "value", value, "detail", detail ? detail : ""));
}

/* The first non-empty alternative of a column's source as text (owned), NULL when none. */
static char *source_text(json_t *ns, json_t *src)
{
    static const size_t max = 1 << 20;
    char *buf = mlc_malloc(max);
    if (json_is_string(src)) {
        if (sync_text(sync_path_get(ns, json_string_value(src)), buf, max))
            return buf;
        free(buf);
        return NULL;
    }
    size_t i;
    json_t *alt;
    json_array_foreach(src, i, alt)
    {
        if (json_is_string(alt)) {
            if (sync_text(sync_path_get(ns, json_string_value(alt)), buf, max))
                return buf;
            continue;
        }
        /* joined alternative: the non-empty parts separated by one blank */
        size_t len = 0, j;
        json_t *part;
        buf[0] = '\0';
        json_array_foreach(alt, j, part)
        {
            char piece[4096];
            if (!sync_text(sync_path_get(ns, json_string_value(part)), piece, sizeof piece))
                continue;
            int w = snprintf(buf + len, max - len, "%s%s", len ? " " : "", piece);
            if (w > 0 && (size_t)w < max - len)
                len += (size_t)w;
        }
        if (len)
            return buf;
    }
    free(buf);
    return NULL;
}

/* Characters (not bytes) of UTF-8 text; cuts at max characters, on a character boundary. */
static bool truncate_utf8(char *s, size_t max)
{
    size_t chars = 0;
    for (char *p = s; *p; p++) {
        if (((unsigned char)*p & 0xc0) != 0x80) {
            if (chars == max) {
                *p = '\0';
                return true;
            }
            chars++;
        }
    }
    return false;
}

static json_t *convert(const struct mlc_mapping *m, json_t *col, const char *dv, char *text,
                       struct rec *r)
{
    const char *type = json_string_value(json_object_get(col, "type"));
    const char *values = json_string_value(json_object_get(col, "values"));
    if (!type)
        type = "string";
    if (values) {
        json_t *vt = mlc_mapping_value_table(m, values);
        json_t *v = json_object_get(vt, text);
        if (!v) {
            json_t *raw = json_string(text);
            char d[160];
            snprintf(d, sizeof d, "no entry in value table %s", values);
            sync_exception(r, "unknown_value", dv, raw, d);
            json_decref(raw);
            return NULL;
        }
        if (strcmp(type, "choice") == 0 && !json_is_integer(v)) {
            sync_exception(r, "unknown_value", dv, v, "the value table entry is not an integer");
            return NULL;
        }
        return json_deep_copy(v);
    }
    if (strcmp(type, "money") == 0 || strcmp(type, "decimal") == 0 || strcmp(type, "int") == 0) {
        char *end;
        errno = 0;
        double d = strtod(text, &end);
        if (end == text || *end || errno || !isfinite(d)) {
            json_t *raw = json_string(text);
            sync_exception(r, "invalid_number", dv, raw, "not a number");
            json_decref(raw);
            return NULL;
        }
        if (strcmp(type, "int") == 0)
            return json_integer((json_int_t)llround(d));
        return json_real(d);
    }
    if (strcmp(type, "bool") == 0)
        return json_boolean(strcmp(text, "T") == 0 || strcmp(text, "true") == 0 ||
                            strcmp(text, "1") == 0);
    if (strcmp(type, "date") == 0) {
        /* date-only: YYYY-MM-DD as NetSuite gives it (DateOnly columns take the date as is) */
        if (strlen(text) < 10 || text[4] != '-' || text[7] != '-') {
            json_t *raw = json_string(text);
            sync_exception(r, "invalid_date", dv, raw, "not a YYYY-MM-DD date");
            json_decref(raw);
            return NULL;
        }
        text[10] = '\0';
        return json_string(text);
    }
    json_t *ml = json_object_get(col, "maxLength");
    if (json_is_integer(ml)) {
        json_t *orig = json_string(text);
        if (truncate_utf8(text, (size_t)json_integer_value(ml))) {
            char d[80];
            snprintf(d, sizeof d, "longer than %lld characters: cut",
                     (long long)json_integer_value(ml));
            sync_exception(r, "truncated", dv, orig, d);
        }
        json_decref(orig);
    }
    return json_string(text);
}

void sync_map_columns(const struct mlc_mapping *m, json_t *sec, struct rec *r)
{
    if (!r->payload)
        r->payload = json_object();
    if (!r->create)
        r->create = json_object();
    size_t i;
    json_t *col;
    json_array_foreach(json_object_get(sec, "columns"), i, col)
    {
        const char *owner = json_string_value(json_object_get(col, "owner"));
        const char *dv = json_string_value(json_object_get(col, "dv"));
        if (owner && strcmp(owner, "crm") == 0)
            continue;
        bool create_only = owner && strcmp(owner, "create") == 0;
        char *text = source_text(r->ns, json_object_get(col, "ns"));
        json_t *v = text ? convert(m, col, dv, text, r) : json_null();
        free(text);
        if (!v)
            continue; /* an exception was noted: the column is left as it is */
        if (create_only && json_is_null(v)) {
            json_decref(v);
            continue;
        }
        json_object_set_new(create_only ? r->create : r->payload, dv, v);
    }
}

void sync_hash(json_t *v, const char *mapping_version, char out[65])
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    struct mlc_buf b;
    mlc_buf_init(&b, (size_t)1 << 30);
    mlc_buf_printf(&b, "%s\n%s", s ? s : "", mapping_version);
    uint8_t d[32];
    mlc_sha256(b.data, b.len, d);
    mlc_hex(d, 32, out);
    mlc_buf_free(&b);
    free(s);
}

json_t *sync_body(const struct rec *r, bool create, bool with_state_cols)
{
    json_t *b = json_deep_copy(r->payload);
    if (create && r->create)
        json_object_update(b, r->create);
    if (with_state_cols) {
        char lm[40], now[40];
        mlc_fmt_rfc3339(r->nslm, lm, sizeof lm);
        mlc_fmt_rfc3339(mlc_now_ms(), now, sizeof now);
        json_object_set_new(b, "mlc_netsuitelastmodified", json_string(lm));
        json_object_set_new(b, "mlc_syncstatehash", json_string(r->hash));
        json_object_set_new(b, "mlc_lastsyncedon", json_string(now));
        char *exc = r->exc && json_array_size(r->exc) ? json_dumps(r->exc, JSON_COMPACT) : NULL;
        if (exc && strlen(exc) > 4000) {
            /* the column holds 4,000 characters: keep the codes only */
            free(exc);
            json_t *codes = json_array();
            size_t i;
            json_t *e;
            json_array_foreach(r->exc, i, e) if (i < 100)
                json_array_append(codes, json_object_get(e, "code"));
            exc = json_dumps(codes, JSON_COMPACT);
            json_decref(codes);
        }
        json_object_set_new(b, "mlc_syncexceptions", exc ? json_string(exc) : json_null());
        free(exc);
    }
    return b;
}

void rec_clear(struct rec *r)
{
    json_decref(r->payload);
    json_decref(r->create);
    json_decref(r->exc);
    json_decref(r->extra);
    json_decref(r->st);
    memset(r, 0, sizeof *r);
}
