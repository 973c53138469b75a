/* The organization's data in memory: rows per table, alternate-key indexes, key builds, and undo
 * journals for change sets. */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct dv_tab *dv_tab_by_set(struct dv_sandbox *s, const char *set, size_t len)
{
    for (size_t i = 0; i < s->ntabs; i++)
        if (strlen(s->tabs[i].def->set) == len && strncmp(s->tabs[i].def->set, set, len) == 0)
            return &s->tabs[i];
    return NULL;
}

struct dv_tab *dv_tab_by_logical(struct dv_sandbox *s, const char *logical, size_t len)
{
    for (size_t i = 0; i < s->ntabs; i++)
        if (strlen(s->tabs[i].def->logical) == len &&
            strncmp(s->tabs[i].def->logical, logical, len) == 0)
            return &s->tabs[i];
    return NULL;
}

const struct dv_col *dv_col_find(const struct dv_tab *t, const char *name)
{
    for (size_t i = 0; i < t->def->ncols; i++)
        if (strcmp(t->def->cols[i].name, name) == 0) {
            if ((t->def->cols[i].flags & DVC_CUSTOM) && !json_object_get(t->custom, name))
                return NULL; /* our column, not created in this environment */
            return &t->def->cols[i];
        }
    return NULL;
}

bool dv_col_custom(const struct dv_tab *t, const char *name, enum dv_type *type, int *maxlen)
{
    json_t *c = json_object_get(t->custom, name);
    if (!c)
        return false;
    *type = (enum dv_type)json_integer_value(json_object_get(c, "type"));
    *maxlen = (int)json_integer_value(json_object_get(c, "maxlen"));
    return true;
}

json_t *dv_row_get(struct dv_tab *t, const char *id)
{
    return json_object_get(t->rows, id);
}

/* The stored field of a key column: lookups are kept as _x_value. */
static json_t *key_field(const struct dv_tab *t, json_t *row, const char *col)
{
    const struct dv_col *c = dv_col_find(t, col);
    if (c && c->type == DT_LOOKUP) {
        char f[80];
        snprintf(f, sizeof f, "_%s_value", col);
        return json_object_get(row, f);
    }
    return json_object_get(row, col);
}

static bool value_text(json_t *v, struct mlc_buf *b)
{
    if (!v || json_is_null(v))
        return false;
    if (json_is_string(v)) {
        /* Dataverse's database collation is case-insensitive: so is key uniqueness. */
        for (const char *p = json_string_value(v); *p; p++) {
            char c = (char)tolower((unsigned char)*p);
            mlc_buf_append(b, &c, 1);
        }
    } else if (json_is_integer(v)) {
        mlc_buf_printf(b, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        mlc_buf_printf(b, "%.17g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        mlc_buf_printf(b, "%d", json_is_true(v) ? 1 : 0);
    } else {
        return false;
    }
    return true;
}

static bool key_text_of(const struct dv_tab *t, const struct dv_key *k, json_t *row, bool vals,
                        char *out, size_t sz)
{
    struct mlc_buf b;
    mlc_buf_init(&b, sz > 1 ? sz - 1 : 1);
    bool ok = true;
    for (int i = 0; i < k->ncols && ok; i++) {
        json_t *v = vals ? json_object_get(row, k->cols[i]) : key_field(t, row, k->cols[i]);
        if (i)
            mlc_buf_append(&b, "\x1f", 1);
        ok = value_text(v, &b);
    }
    if (ok)
        snprintf(out, sz, "%s", b.data ? b.data : "");
    mlc_buf_free(&b);
    return ok;
}

struct dv_key *dv_key_find_by_cols(struct dv_tab *t, const char *const *cols, size_t n)
{
    for (size_t i = 0; i < t->nkeys; i++) {
        struct dv_key *k = &t->keys[i];
        if ((size_t)k->ncols != n)
            continue;
        size_t hit = 0;
        for (size_t j = 0; j < n; j++)
            for (int m = 0; m < k->ncols; m++)
                if (strcmp(cols[j], k->cols[m]) == 0)
                    hit++;
        if (hit == n)
            return k;
    }
    return NULL;
}

const char *dv_key_lookup(struct dv_key *k, json_t *vals)
{
    char text[1024];
    if (!key_text_of(NULL, k, vals, true, text, sizeof text))
        return NULL;
    return json_string_value(json_object_get(k->index, text));
}

static void index_row(struct dv_tab *t, json_t *row, const char *id, bool add)
{
    for (size_t i = 0; i < t->nkeys; i++) {
        char text[1024];
        if (!key_text_of(t, &t->keys[i], row, false, text, sizeof text))
            continue;
        json_t *cur = json_object_get(t->keys[i].index, text);
        if (add) {
            if (!cur)
                json_object_set_new(t->keys[i].index, text, json_string(id));
        } else if (cur && strcmp(json_string_value(cur), id) == 0) {
            json_object_del(t->keys[i].index, text);
        }
    }
}

static void journal(struct dv_sandbox *s, struct dv_tab *t, const char *id)
{
    if (!s->journal)
        return;
    json_t *old = json_object_get(t->rows, id);
    json_array_append_new(s->journal, json_pack("{s:I, s:s, s:o?}", "t", (json_int_t)(t - s->tabs),
                                                "id", id, "old", old ? json_deep_copy(old) : NULL));
}

void dv_row_put(struct dv_sandbox *s, struct dv_tab *t, const char *id, json_t *row)
{
    journal(s, t, id);
    json_t *old = json_object_get(t->rows, id);
    if (old)
        index_row(t, old, id, false);
    index_row(t, row, id, true);
    json_object_set_new(t->rows, id, row);
}

void dv_row_delete(struct dv_sandbox *s, struct dv_tab *t, const char *id)
{
    json_t *old = json_object_get(t->rows, id);
    if (!old)
        return;
    journal(s, t, id);
    index_row(t, old, id, false);
    json_object_del(t->rows, id);
}

void dv_txn_begin(struct dv_sandbox *s)
{
    s->journal = json_array();
    s->txn_events = json_array();
}

void dv_txn_commit(struct dv_sandbox *s)
{
    json_decref(s->journal);
    s->journal = NULL;
    dv_webhooks_flush_txn(s, true);
}

void dv_txn_rollback(struct dv_sandbox *s)
{
    json_t *j = s->journal;
    s->journal = NULL;
    for (size_t i = json_array_size(j); i-- > 0;) {
        json_t *e = json_array_get(j, i);
        struct dv_tab *t = &s->tabs[json_integer_value(json_object_get(e, "t"))];
        const char *id = json_string_value(json_object_get(e, "id"));
        json_t *cur = json_object_get(t->rows, id);
        if (cur) {
            index_row(t, cur, id, false);
            json_object_del(t->rows, id);
        }
        json_t *old = json_object_get(e, "old");
        if (old && !json_is_null(old)) {
            index_row(t, old, id, true);
            json_object_set(t->rows, id, old);
        }
    }
    json_decref(j);
    dv_webhooks_flush_txn(s, false);
}

struct dv_key *dv_key_add(struct dv_tab *t, const char *logical, const char *schema,
                          const char *const *cols, size_t n, bool active)
{
    if (t->nkeys == DV_MAX_KEYS || n == 0 || n > DV_KEY_MAX_COLS)
        return NULL;
    struct dv_key *k = &t->keys[t->nkeys++];
    memset(k, 0, sizeof *k);
    dv_guid_random(k->id);
    snprintf(k->logical, sizeof k->logical, "%s", logical);
    snprintf(k->schema, sizeof k->schema, "%s", schema);
    for (size_t i = 0; i < n; i++)
        snprintf(k->cols[i], sizeof k->cols[i], "%s", cols[i]);
    k->ncols = (int)n;
    k->status = active ? DVK_ACTIVE : DVK_PENDING;
    k->phase_ms = mlc_mono_ms();
    k->index = json_object();
    const char *id;
    json_t *row;
    json_object_foreach(t->rows, id, row)
    {
        char text[1024];
        if (key_text_of(t, k, row, false, text, sizeof text) && !json_object_get(k->index, text))
            json_object_set_new(k->index, text, json_string(id));
    }
    return k;
}

json_t *dv_key_duplicates(struct dv_tab *t, struct dv_key *k)
{
    json_t *groups = json_object();
    const char *id;
    json_t *row;
    json_object_foreach(t->rows, id, row)
    {
        char text[1024];
        if (!key_text_of(t, k, row, false, text, sizeof text))
            continue;
        json_t *g = json_object_get(groups, text);
        if (!g) {
            g = json_array();
            json_object_set_new(groups, text, g);
        }
        json_array_append_new(g, json_string(id));
    }
    json_t *out = json_array();
    const char *text;
    json_t *g;
    json_object_foreach(groups, text, g)
    {
        if (json_array_size(g) < 2)
            continue;
        json_t *v = json_string(text);
        if (!v) /* not UTF-8 after lower-casing: show nothing rather than fail */
            v = json_null();
        json_array_append_new(out, json_pack("{s:o, s:O}", "value", v, "ids", g));
    }
    json_decref(groups);
    return out;
}

void dv_keys_tick(struct dv_sandbox *s, const struct dv_settings *st)
{
    int64_t now = mlc_mono_ms();
    for (size_t i = 0; i < s->ntabs; i++)
        for (size_t j = 0; j < s->tabs[i].nkeys; j++) {
            struct dv_key *k = &s->tabs[i].keys[j];
            /* the build runs in the background: each phase ends key_build_ms after it began,
             * however seldom anyone looks */
            if (k->status == DVK_PENDING && now - k->phase_ms >= st->key_build_ms) {
                k->status = DVK_INPROGRESS;
                k->phase_ms += st->key_build_ms;
            }
            if (k->status == DVK_INPROGRESS && now - k->phase_ms >= st->key_build_ms) {
                /* The unique index cannot be built over rows that already collide. */
                json_t *d = dv_key_duplicates(&s->tabs[i], k);
                k->status = json_array_size(d) || !dv_key_supported(st, &s->tabs[i]) ? DVK_FAILED
                                                                                     : DVK_ACTIVE;
                k->phase_ms = now;
                json_decref(d);
            }
        }
}

bool dv_key_supported(const struct dv_settings *st, const struct dv_tab *t)
{
    return !st->line_key_unsupported || strcmp(t->def->logical, "salesorderdetail") != 0;
}

void dv_keys_support_changed(struct dv_sandbox *s, const struct dv_settings *st)
{
    for (size_t i = 0; i < s->ntabs; i++) {
        if (strcmp(s->tabs[i].def->logical, "salesorderdetail") != 0)
            continue;
        bool ok = dv_key_supported(st, &s->tabs[i]);
        for (size_t j = 0; j < s->tabs[i].nkeys; j++) {
            struct dv_key *k = &s->tabs[i].keys[j];
            if (!ok && k->status != DVK_FAILED) {
                k->status = DVK_FAILED;
                k->phase_ms = mlc_mono_ms();
            } else if (ok && k->status == DVK_FAILED) { /* rebuilt: Pending, InProgress, ... */
                k->status = DVK_PENDING;
                k->phase_ms = mlc_mono_ms();
            }
        }
    }
}
