/* Create, update, upsert and delete, shared by the Web API, $batch and the bulk messages:
 * validation, binds, keys, ETags, the 204/201/200/404/412 semantics. */
#include "internal.h"

#include <ctype.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define API "/api/data/v9.2/"

static const char *type_name(enum dv_type t)
{
    switch (t) {
    case DT_STR:
    case DT_MEMO:
        return "Edm.String";
    case DT_INT:
    case DT_CHOICE:
    case DT_STATE:
    case DT_STATUS:
        return "Edm.Int32";
    case DT_DEC:
    case DT_MONEY:
        return "Edm.Decimal";
    case DT_BOOL:
        return "Edm.Boolean";
    case DT_DATETIME:
        return "Edm.DateTimeOffset";
    case DT_DATE:
        return "Edm.Date";
    default:
        return "Edm.Guid";
    }
}

/* Parses one key value in a URL: 'text' (with '' doubled), a number, a GUID, true/false. */
static json_t *key_value(const char *s, size_t len)
{
    if (len >= 2 && s[0] == '\'' && s[len - 1] == '\'') {
        struct mlc_buf b;
        mlc_buf_init(&b, len + 1);
        for (size_t i = 1; i + 1 < len; i++) {
            if (s[i] == '\'') {
                if (i + 2 < len && s[i + 1] == '\'') {
                    i++;
                } else {
                    mlc_buf_free(&b);
                    return NULL;
                }
            }
            mlc_buf_append(&b, &s[i], 1);
        }
        json_t *v = json_stringn(b.data ? b.data : "", b.len);
        mlc_buf_free(&b);
        return v;
    }
    if (dv_guid_valid(s, len))
        return json_stringn(s, len);
    if (len == 4 && strncmp(s, "true", 4) == 0)
        return json_true();
    if (len == 5 && strncmp(s, "false", 5) == 0)
        return json_false();
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return NULL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end = NULL;
    if (strchr(buf, '.')) {
        double d = strtod(buf, &end);
        return end && *end == '\0' ? json_real(d) : NULL;
    }
    long long v = strtoll(buf, &end, 10);
    return end && *end == '\0' ? json_integer(v) : NULL;
}

bool dv_parse_row_ref(struct dv_tab *t, const char *s, size_t len, char *id, json_t **keyvals,
                      struct dv_resp *p)
{
    *keyvals = NULL;
    id[0] = '\0';
    if (len < 2 || s[0] != '(' || s[len - 1] != ')')
        goto bad;
    s++;
    len -= 2;
    if (dv_guid_valid(s, len)) {
        memcpy(id, s, 36);
        id[36] = '\0';
        return true;
    }
    json_t *kv = json_object();
    size_t i = 0;
    while (i < len) {
        size_t ks = i;
        while (i < len && s[i] != '=')
            i++;
        if (i >= len || i == ks) {
            json_decref(kv);
            goto bad;
        }
        char name[80];
        size_t nl = i - ks;
        if (nl >= sizeof name) {
            json_decref(kv);
            goto bad;
        }
        memcpy(name, s + ks, nl);
        name[nl] = '\0';
        i++;
        size_t vs = i;
        bool q = false;
        while (i < len && (q || s[i] != ',')) {
            if (s[i] == '\'')
                q = !q;
            i++;
        }
        json_t *v = key_value(s + vs, i - vs);
        if (!v) {
            json_decref(kv);
            goto bad;
        }
        json_object_set_new(kv, name, v);
        if (i < len)
            i++;
    }
    /* accounts(accountid=<guid>) names the primary key */
    json_t *pk = json_object_get(kv, t->def->id);
    if (pk && json_object_size(kv) == 1 && json_is_string(pk) &&
        dv_guid_valid(json_string_value(pk), strlen(json_string_value(pk)))) {
        snprintf(id, 37, "%s", json_string_value(pk));
        json_decref(kv);
        return true;
    }
    *keyvals = kv;
    return true;
bad:
    if (p)
        dv_resp_error(p, 400, "0x80060888",
                      "Bad Request - Error in query syntax: the key segment of '%s' cannot be "
                      "parsed.",
                      t->def->set);
    return false;
}

bool dv_find_by_key(struct dv_tab *t, json_t *keyvals, const char **id, struct dv_resp *p)
{
    const char *cols[DV_KEY_MAX_COLS];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(keyvals, k, v)
    {
        if (n == DV_KEY_MAX_COLS)
            break;
        /* a lookup key column is named _x_value in the URL */
        cols[n++] = k;
    }
    char names[DV_KEY_MAX_COLS][80];
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(cols[i]);
        if (cols[i][0] == '_' && l > 7 && strcmp(cols[i] + l - 6, "_value") == 0 &&
            l - 7 < sizeof names[i]) {
            memcpy(names[i], cols[i] + 1, l - 7);
            names[i][l - 7] = '\0';
        } else {
            snprintf(names[i], sizeof names[i], "%s", cols[i]);
        }
        cols[i] = names[i];
    }
    struct dv_key *key = dv_key_find_by_cols(t, cols, n);
    if (!key) {
        if (p)
            dv_resp_error(p, 400, "0x80060888",
                          "The key used in the request does not match any alternate key defined "
                          "on the entity '%s'.",
                          t->def->logical);
        return false;
    }
    if (key->status != DVK_ACTIVE) {
        if (p)
            dv_resp_error(p, 400, "0x80060891",
                          "The entity key '%s' of entity '%s' is not active (EntityKeyIndexStatus "
                          "%s).",
                          key->logical, t->def->logical,
                          key->status == DVK_PENDING      ? "Pending"
                          : key->status == DVK_INPROGRESS ? "InProgress"
                                                          : "Failed");
        return false;
    }
    json_t *vals = json_object();
    size_t i = 0;
    json_object_foreach(keyvals, k, v)
    {
        if (i == n)
            break;
        json_object_set(vals, names[i++], v);
    }
    *id = dv_key_lookup(key, vals);
    json_decref(vals);
    return true;
}

bool dv_ref_resolve(struct dv_ctx *c, const char *ref, struct dv_tab **tab, char *id,
                    struct dv_resp *p)
{
    const char *r = ref;
    if (r[0] == '$') {
        json_t *v = json_object_get(c->content_ids, r + 1);
        if (!v) {
            dv_resp_error(p, 400, "0x0",
                          "Content-ID Reference: '%s' does not exist in the batch context.", r);
            return false;
        }
        r = json_string_value(v);
    }
    size_t bl = strlen(c->s->base_url);
    if (strncmp(r, c->s->base_url, bl) == 0)
        r += bl;
    if (strncmp(r, API, strlen(API)) == 0)
        r += strlen(API);
    else if (r[0] == '/')
        r++;
    const char *paren = strchr(r, '(');
    struct dv_tab *t = paren ? dv_tab_by_set(c->s, r, (size_t)(paren - r)) : NULL;
    if (!t) {
        dv_resp_error(p, 400, "0x80060888",
                      "Resource not found for the segment '%.100s' in an @odata.bind value.", r);
        return false;
    }
    json_t *kv = NULL;
    if (!dv_parse_row_ref(t, paren, strlen(paren), id, &kv, p))
        return false;
    if (kv) {
        const char *found = NULL;
        bool ok = dv_find_by_key(t, kv, &found, p);
        json_decref(kv);
        if (!ok)
            return false;
        if (!found) {
            dv_resp_not_found(p, t, true, NULL);
            return false;
        }
        snprintf(id, 37, "%s", found);
    } else if (!dv_row_get(t, id)) {
        dv_resp_not_found(p, t, false, id);
        return false;
    }
    *tab = t;
    return true;
}

static const struct dv_col *col_by_nav(const struct dv_tab *t, const char *nav, size_t len)
{
    for (size_t i = 0; i < t->def->ncols; i++) {
        const struct dv_col *col = &t->def->cols[i];
        if (col->type == DT_LOOKUP && col->nav && strlen(col->nav) == len &&
            strncmp(col->nav, nav, len) == 0)
            return dv_col_find(t, col->name);
    }
    return NULL;
}

/* Checks the type and length of one value; false with the error in p. */
static bool check_value(struct dv_tab *t, const char *name, enum dv_type type, int maxlen,
                        json_t *v, struct dv_resp *p)
{
    if (json_is_null(v))
        return true;
    bool ok = true;
    switch (type) {
    case DT_STR:
    case DT_MEMO:
        ok = json_is_string(v);
        if (ok && maxlen > 0) {
            /* Dataverse counts characters, not bytes */
            size_t chars = 0;
            for (const unsigned char *q = (const unsigned char *)json_string_value(v); *q; q++)
                if ((*q & 0xc0) != 0x80)
                    chars++;
            if (chars > (size_t)maxlen) {
                dv_resp_error(p, 400, "0x80044331",
                              "A validation error occurred.  The length of the '%s' attribute of "
                              "the '%s' entity exceeded the maximum allowed length of '%d'.",
                              name, t->def->logical, maxlen);
                return false;
            }
        }
        break;
    case DT_INT:
    case DT_CHOICE:
    case DT_STATE:
    case DT_STATUS:
        ok = json_is_integer(v) && json_integer_value(v) >= -2147483648LL &&
             json_integer_value(v) <= 2147483647LL;
        break;
    case DT_DEC:
    case DT_MONEY:
        ok = json_is_number(v);
        break;
    case DT_BOOL:
        ok = json_is_boolean(v);
        break;
    case DT_DATETIME:
    case DT_DATE: {
        int64_t ms;
        const char *sv = json_string_value(v);
        ok = sv && (mlc_parse_rfc3339(sv, &ms) == MLC_OK ||
                    (strlen(sv) == 10 && sv[4] == '-' && sv[7] == '-'));
        break;
    }
    case DT_GUID:
        ok = json_is_string(v) && dv_guid_valid(json_string_value(v), strlen(json_string_value(v)));
        break;
    case DT_LOOKUP:
        ok = false;
        break;
    }
    if (!ok) {
        char *txt = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        dv_resp_error(p, 400, "0x0",
                      "Cannot convert the literal '%.100s' to the expected type '%s'.",
                      txt ? txt : "?", type_name(type));
        free(txt);
    }
    return ok;
}

/* Applies body onto row (owned copy), resolving binds; false with the error in p. changed gets
 * the attributes written (for webhooks). */
static bool apply_body(struct dv_ctx *c, struct dv_tab *t, json_t *row, json_t *body, bool create,
                       bool bulk, json_t *changed, struct dv_resp *p)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (strcmp(k, "@odata.type") == 0 || strcmp(k, "@odata.id") == 0 ||
            strcmp(k, "@odata.etag") == 0)
            continue;
        const char *at = strstr(k, "@odata.bind");
        if (at && at[11] == '\0') {
            const struct dv_col *col = col_by_nav(t, k, (size_t)(at - k));
            if (!col) {
                dv_resp_error(p, 400, "0x80060888",
                              "An undeclared property '%.*s' which only has property annotations "
                              "in the payload but no property value was found in the payload. In "
                              "OData, only declared navigation properties and declared named "
                              "streams can be represented as properties without values.",
                              (int)(at - k), k);
                return false;
            }
            char f[80];
            snprintf(f, sizeof f, "_%s_value", col->name);
            if (json_is_null(v)) {
                json_object_set_new(row, f, json_null());
                json_object_set_new(changed, col->name, json_null());
                continue;
            }
            if (!json_is_string(v)) {
                dv_resp_error(p, 400, "0x0", "The @odata.bind value of '%s' must be a string.", k);
                return false;
            }
            const char *ref = json_string_value(v);
            if (bulk && c->st.bulk_bind_key_refuse && strchr(ref, '=') && ref[0] != '$') {
                dv_resp_error(p, 400, "0x80040203",
                              "Binding '%s' by alternate key is not supported inside Targets of a "
                              "bulk operation; bind by id.",
                              k);
                return false;
            }
            struct dv_tab *tt = NULL;
            char tid[37];
            if (!dv_ref_resolve(c, ref, &tt, tid, p))
                return false;
            if (strcmp(tt->def->logical, col->target) != 0) {
                dv_resp_error(p, 400, "0x80060888",
                              "The navigation property '%.*s' expects entities of type '%s', not "
                              "'%s'.",
                              (int)(at - k), k, col->target, tt->def->logical);
                return false;
            }
            json_object_set_new(row, f, json_string(tid));
            json_object_set_new(changed, col->name, json_string(tid));
            continue;
        }
        if (k[0] == '_' && strstr(k, "_value")) {
            dv_resp_error(p, 400, "0x80060888",
                          "CRM do not support direct update of Entity Reference properties, Use "
                          "Navigation properties instead.");
            return false;
        }
        if (strchr(k, '@'))
            continue; /* other instance annotations are ignored */
        const struct dv_col *col = dv_col_find(t, k);
        enum dv_type type;
        int maxlen = 0;
        unsigned flags = 0;
        if (col) {
            type = col->type;
            maxlen = col->maxlen;
            flags = col->flags;
        } else if (!dv_col_custom(t, k, &type, &maxlen)) {
            dv_resp_error(p, 400, "0x80060888",
                          "Invalid property '%s' was found in entity 'Microsoft.Dynamics.CRM.%s'.",
                          k, t->def->logical);
            return false;
        }
        if (type == DT_LOOKUP) {
            dv_resp_error(p, 400, "0x80060888",
                          "An undeclared property '%s' which only has property annotations in the "
                          "payload but no property value was found in the payload.",
                          k);
            return false;
        }
        if (!check_value(t, k, type, maxlen, v, p))
            return false;
        if (flags & DVC_READONLY)
            continue; /* system columns: Dataverse ignores what the caller sends */
        if (!create && (flags & DVC_CREATEONLY) && !t->def->has_state)
            continue; /* salesorder refuses these itself (orders.c); elsewhere they are ignored */
        if (strcmp(k, t->def->id) == 0 && !create)
            continue;
        json_object_set(row, k, v);
        json_object_set(changed, k, v);
    }
    return true;
}

static void entity_id_header(struct dv_ctx *c, struct dv_tab *t, const char *id, struct dv_resp *p)
{
    char url[400];
    snprintf(url, sizeof url, "%s" API "%s(%s)", c->s->base_url, t->def->set, id);
    dv_resp_header(p, "OData-EntityId", url);
}

static bool prefer_representation(const char *prefer)
{
    return prefer && strstr(prefer, "return=representation");
}

/* Checks every Active key of t for a row other than id with the same values. */
static bool unique_ok(struct dv_tab *t, json_t *row, const char *id, bool race, struct dv_resp *p)
{
    for (size_t i = 0; i < t->nkeys; i++) {
        struct dv_key *k = &t->keys[i];
        if (k->status != DVK_ACTIVE)
            continue;
        json_t *vals = json_object();
        bool complete = true;
        for (int j = 0; j < k->ncols; j++) {
            const struct dv_col *col = dv_col_find(t, k->cols[j]);
            char f[80];
            if (col && col->type == DT_LOOKUP)
                snprintf(f, sizeof f, "_%s_value", k->cols[j]);
            else
                snprintf(f, sizeof f, "%s", k->cols[j]);
            json_t *v = json_object_get(row, f);
            if (!v || json_is_null(v))
                complete = false;
            else
                json_object_set(vals, k->cols[j], v);
        }
        const char *other = complete ? dv_key_lookup(k, vals) : NULL;
        if (other && strcmp(other, id) != 0) {
            char *txt = json_dumps(vals, JSON_COMPACT);
            if (race)
                dv_resp_error(p, 412, "0x80040237", "Cannot insert duplicate key.");
            else
                dv_resp_error(p, 412, "0x80060892",
                              "A record that has the attribute values %s already exists. The "
                              "entity key %s requires that this set of attributes contains unique "
                              "values. Select unique values and try again.",
                              txt ? txt : "", k->logical);
            free(txt);
            json_decref(vals);
            return false;
        }
        json_decref(vals);
    }
    return true;
}

bool dv_write(struct dv_ctx *c, struct dv_tab *t, enum dv_write_mode mode, const char *id_in,
              json_t *keyvals, json_t *body, bool bulk, char *out_id, bool *created,
              struct dv_resp *p)
{
    struct dv_sandbox *s = c->s;
    char id[37] = "";
    if (!json_is_object(body)) {
        dv_resp_error(p, 400, "0x0", "The request body must be a JSON object.");
        return false;
    }
    if (id_in)
        snprintf(id, sizeof id, "%s", id_in);
    const char *found = NULL;
    if (keyvals) {
        if (!dv_find_by_key(t, keyvals, &found, p))
            return false;
        if (found)
            snprintf(id, sizeof id, "%s", found);
        /* the key columns, when repeated in the body, must agree with the URL */
        const char *k;
        json_t *v;
        json_object_foreach(keyvals, k, v)
        {
            json_t *b = json_object_get(body, k);
            if (b && !json_equal(b, v) &&
                !(json_is_string(b) && json_is_string(v) &&
                  strcasecmp(json_string_value(b), json_string_value(v)) == 0)) {
                dv_resp_error(p, 400, "0x80040203",
                              "The value of '%s' in the request body does not match the value in "
                              "the alternate key of the request URL.",
                              k);
                return false;
            }
        }
    } else if (!id[0] && mode != DVW_CREATE) {
        dv_resp_error(p, 400, "0x0", "No row was named.");
        return false;
    }
    if (mode == DVW_CREATE && !id[0]) {
        json_t *given = json_object_get(body, t->def->id);
        if (json_is_string(given) &&
            dv_guid_valid(json_string_value(given), strlen(json_string_value(given))))
            snprintf(id, sizeof id, "%s", json_string_value(given));
    }
    json_t *old = id[0] ? dv_row_get(t, id) : NULL;
    if (keyvals && !found)
        old = NULL;
    if (mode == DVW_CREATE && old) {
        dv_resp_error(p, 412, "0x80040237", "Cannot insert duplicate key.");
        return false;
    }
    if (mode == DVW_UPDATE && !old) {
        dv_resp_not_found(p, t, keyvals != NULL, id);
        return false;
    }
    bool create = old == NULL;
    if (create && keyvals && bulk) {
        /* Reported by Microsoft engineers: the create path of UpsertMultiple fails when the
         * target repeats its key columns in the body. */
        const char *k;
        json_t *v;
        json_object_foreach(keyvals, k, v) if (json_object_get(body, k))
        {
            dv_resp_error(p, 400, "0x80040216",
                          "An unexpected error occurred. (the key column '%s' is repeated in the "
                          "body of an UpsertMultiple target)",
                          k);
            return false;
        }
    }
    bool raced = false;
    if (create && mode == DVW_UPSERT && !c->in_changeset && c->st.upsert_race_ms >= 0) {
        /* As on the real service, an upsert's lookup and its insert are not one atomic step:
         * another create of the same key may come in between and this one then fails with the
         * duplicate-key error. upsertRaceMs widens the gap; -1 closes it (serialised). */
        pthread_mutex_unlock(&s->mu);
        if (c->st.upsert_race_ms > 0)
            mlc_sleep_ms(c->st.upsert_race_ms);
        else
            sched_yield();
        pthread_mutex_lock(&s->mu);
        raced = true;
    }
    json_t *row = old ? json_deep_copy(old) : json_object();
    json_t *changed = json_object();
    bool ok = apply_body(c, t, row, body, create, bulk, changed, p);
    if (ok && create && keyvals) {
        const char *k;
        json_t *v;
        json_object_foreach(keyvals, k, v)
        {
            json_object_set(row, k, v);
            json_object_set(changed, k, v);
        }
    }
    if (ok && t->def->has_state && !dv_order_check(c, t, old, row, body, create, p))
        ok = false;
    bool line = strcmp(t->def->logical, "salesorderdetail") == 0;
    if (ok && line && !dv_line_check(c, old, row, create, p))
        ok = false;
    if (ok && create) {
        for (size_t i = 0; i < t->def->ncols; i++) {
            const struct dv_col *col = &t->def->cols[i];
            if (!(col->flags & DVC_REQUIRED))
                continue;
            char f[80];
            snprintf(f, sizeof f, col->type == DT_LOOKUP ? "_%s_value" : "%s", col->name);
            json_t *v = json_object_get(row, f);
            if (!v || json_is_null(v)) {
                dv_resp_error(p, 400, "0x80040200",
                              "Attribute '%s' cannot be NULL: a required value is missing for "
                              "entity '%s'.",
                              col->name, t->def->logical);
                ok = false;
                break;
            }
        }
    }
    if (ok && create && !id[0])
        dv_guid_random(id);
    if (ok && create && raced && dv_row_get(t, id)) {
        ok = false;
        dv_resp_error(p, 412, "0x80040237", "Cannot insert duplicate key.");
    }
    if (ok && !unique_ok(t, row, id, raced, p))
        ok = false;
    if (!ok) {
        json_decref(row);
        json_decref(changed);
        return false;
    }
    int64_t now = mlc_now_ms();
    char ts[32];
    dv_iso_time(now, ts, sizeof ts);
    s->version++;
    json_object_set_new(row, "versionnumber", json_integer((json_int_t)(4412000 + s->version)));
    json_object_set_new(row, "modifiedon", json_string(ts));
    json_object_set_new(row, "_modifiedby_value", json_string(c->user_id));
    if (create) {
        json_object_set_new(row, t->def->id, json_string(id));
        json_object_set_new(row, "createdon", json_string(ts));
        json_object_set_new(row, "_createdby_value", json_string(c->user_id));
        if (dv_col_find(t, "ownerid") && !json_object_get(row, "_ownerid_value"))
            json_object_set_new(row, "_ownerid_value", json_string(c->user_id));
        if (t->def->has_state) {
            json_object_set_new(row, "statecode", json_integer(0));
            if (!json_is_integer(json_object_get(row, "statuscode")))
                json_object_set_new(row, "statuscode", json_integer(1));
        }
        if (strcmp(t->def->logical, "contact") == 0) {
            char full[200];
            snprintf(full, sizeof full, "%s%s%s",
                     json_string_value(json_object_get(row, "firstname"))
                         ? json_string_value(json_object_get(row, "firstname"))
                         : "",
                     json_is_string(json_object_get(row, "firstname")) ? " " : "",
                     json_string_value(json_object_get(row, "lastname"))
                         ? json_string_value(json_object_get(row, "lastname"))
                         : "");
            json_object_set_new(row, "fullname", json_string(full));
        }
    }
    json_t *pre = old ? json_incref(old) : NULL;
    dv_row_put(s, t, id, row);
    dv_webhooks_emit(s, create ? "Create" : "Update", t, id, changed, pre, row, c->user_id);
    if (line) { /* the order's totals follow its lines (the old order's too, if moved) */
        json_t *now_row = dv_row_get(t, id);
        const char *o = json_string_value(json_object_get(now_row, "_salesorderid_value"));
        const char *was = json_string_value(json_object_get(pre, "_salesorderid_value"));
        dv_order_totals(s, o);
        if (was && (!o || strcmp(was, o) != 0))
            dv_order_totals(s, was);
    }
    json_decref(pre);
    json_decref(changed);
    if (out_id)
        snprintf(out_id, 37, "%s", id);
    if (created)
        *created = create;
    c->created = create;
    return true;
}

bool dv_delete(struct dv_ctx *c, struct dv_tab *t, const char *id, struct dv_resp *p)
{
    json_t *old = dv_row_get(t, id);
    if (!old) {
        dv_resp_not_found(p, t, false, id);
        return false;
    }
    bool line = strcmp(t->def->logical, "salesorderdetail") == 0;
    if (line && !dv_line_parent_check(c, old, p))
        return false;
    json_incref(old);
    dv_row_delete(c->s, t, id);
    dv_webhooks_emit(c->s, "Delete", t, id, NULL, old, NULL, c->user_id);
    if (line)
        dv_order_totals(c->s, json_string_value(json_object_get(old, "_salesorderid_value")));
    json_decref(old);
    p->status = 204;
    return true;
}

void dv_write_answer(struct dv_ctx *c, struct dv_tab *t, const char *id, bool created,
                     const struct dv_req *q, struct dv_resp *p)
{
    entity_id_header(c, t, id, p);
    if (prefer_representation(q->prefer)) {
        json_t *row = dv_row_render(c, t, dv_row_get(t, id), dv_req_query(q, "$select"), true);
        dv_resp_json(p, created ? 201 : 200, row);
        dv_resp_header(p, "Preference-Applied", "return=representation");
        return;
    }
    p->status = 204;
    p->ctype[0] = '\0';
    mlc_buf_reset(&p->body);
}
