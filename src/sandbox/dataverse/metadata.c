/* EntityDefinitions: tables, Attributes (read, create, date behaviours) and Keys (read, create;
 * built asynchronously Pending -> InProgress -> Active). */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    enum dv_type t;
    const char *odata, *attr_type;
} types[] = {
    {DT_STR, "StringAttributeMetadata", "String"},
    {DT_MEMO, "MemoAttributeMetadata", "Memo"},
    {DT_INT, "IntegerAttributeMetadata", "Integer"},
    {DT_DEC, "DecimalAttributeMetadata", "Decimal"},
    {DT_MONEY, "MoneyAttributeMetadata", "Money"},
    {DT_BOOL, "BooleanAttributeMetadata", "Boolean"},
    {DT_DATETIME, "DateTimeAttributeMetadata", "DateTime"},
    {DT_DATE, "DateTimeAttributeMetadata", "DateTime"},
    {DT_GUID, "UniqueIdentifierAttributeMetadata", "Uniqueidentifier"},
    {DT_LOOKUP, "LookupAttributeMetadata", "Lookup"},
    {DT_CHOICE, "PicklistAttributeMetadata", "Picklist"},
    {DT_STATE, "StateAttributeMetadata", "State"},
    {DT_STATUS, "StatusAttributeMetadata", "Status"},
};

static size_t type_idx(enum dv_type t)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].t == t)
            return i;
    return 0;
}

static json_t *attr_json(struct dv_tab *t, const char *name, enum dv_type ty, int maxlen,
                         bool custom, const char *behavior)
{
    char mid[37], key[160];
    snprintf(key, sizeof key, "attribute:%s:%s", t->def->logical, name);
    dv_guid_from(key, mid);
    size_t i = type_idx(ty);
    char otype[96];
    snprintf(otype, sizeof otype, "#Microsoft.Dynamics.CRM.%s", types[i].odata);
    json_t *a =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "@odata.type", otype, "MetadataId", mid,
                  "LogicalName", name, "SchemaName", name, "AttributeType", types[i].attr_type,
                  "IsCustomAttribute", custom, "EntityLogicalName", t->def->logical);
    if (ty == DT_STR || ty == DT_MEMO)
        json_object_set_new(a, "MaxLength", json_integer(maxlen));
    if (ty == DT_DATETIME || ty == DT_DATE) {
        json_object_set_new(a, "DateTimeBehavior", json_pack("{s:s}", "Value", behavior));
        json_object_set_new(a, "Format", json_string(ty == DT_DATE ? "DateOnly" : "DateAndTime"));
    }
    return a;
}

static json_t *attrs(struct dv_tab *t)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < t->def->ncols; i++) {
        const struct dv_col *c = dv_col_find(t, t->def->cols[i].name);
        if (!c || (c->flags & DVC_CUSTOM))
            continue;
        json_array_append_new(arr, attr_json(t, c->name, c->type, c->maxlen, false,
                                             (c->flags & DVC_DATEONLY) ? "DateOnly" : "UserLocal"));
    }
    const char *k;
    json_t *v;
    json_object_foreach(t->custom, k, v)
    {
        const char *b = json_string_value(json_object_get(v, "behavior"));
        json_array_append_new(
            arr, attr_json(t, k, (enum dv_type)json_integer_value(json_object_get(v, "type")),
                           (int)json_integer_value(json_object_get(v, "maxlen")), true,
                           b ? b : "UserLocal"));
    }
    return arr;
}

static const char *status_name(enum dv_key_status s)
{
    static const char *const n[] = {"Pending", "InProgress", "Active", "Failed"};
    return n[s];
}

static json_t *key_json(struct dv_tab *t, struct dv_key *k)
{
    json_t *cols = json_array();
    for (int i = 0; i < k->ncols; i++)
        json_array_append_new(cols, json_string(k->cols[i]));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:b}", "@odata.type",
                     "#Microsoft.Dynamics.CRM.EntityKeyMetadata", "MetadataId", k->id,
                     "LogicalName", k->logical, "SchemaName", k->schema, "EntityLogicalName",
                     t->def->logical, "KeyAttributes", cols, "EntityKeyIndexStatus",
                     status_name(k->status), "IsCustomizable", 1);
}

static void answer_list(struct dv_ctx *c, struct dv_resp *p, const char *ctx_tail, json_t *arr)
{
    char ctx[sizeof c->s->base_url + 512];
    snprintf(ctx, sizeof ctx, "%s/api/data/v9.2/$metadata#%.400s", c->s->base_url, ctx_tail);
    dv_resp_json(p, 200, json_pack("{s:s, s:o}", "@odata.context", ctx, "value", arr));
}

static void create_attribute(struct dv_ctx *c, struct dv_tab *t, json_t *body, struct dv_resp *p)
{
    const char *otype = json_string_value(json_object_get(body, "@odata.type"));
    const char *schema = json_string_value(json_object_get(body, "SchemaName"));
    if (!otype || !schema || !strchr(schema, '_') || strlen(schema) > 50) {
        dv_resp_error(p, 400, "0x80040203",
                      "An attribute needs @odata.type and a SchemaName with a publisher prefix "
                      "(prefix_name).");
        return;
    }
    if (strncmp(otype, "#", 1) == 0)
        otype++;
    if (strncmp(otype, "Microsoft.Dynamics.CRM.", 23) == 0)
        otype += 23;
    size_t i = 0;
    for (; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].odata, otype) == 0)
            break;
    if (i == sizeof types / sizeof types[0] || types[i].t == DT_LOOKUP || types[i].t == DT_GUID ||
        types[i].t == DT_STATE || types[i].t == DT_STATUS || types[i].t == DT_CHOICE) {
        dv_resp_error(p, 400, "0x80040203",
                      "The sandbox creates String, Memo, Integer, Decimal, Money, Boolean and "
                      "DateTime attributes, not '%.64s'.",
                      otype);
        return;
    }
    char logical[64];
    size_t n = strlen(schema);
    for (size_t j = 0; j <= n; j++)
        logical[j] = (char)tolower((unsigned char)schema[j]);
    for (size_t j = 0; j < n; j++)
        if (!isalnum((unsigned char)logical[j]) && logical[j] != '_') {
            dv_resp_error(p, 400, "0x80040203", "The SchemaName '%s' is not valid.", schema);
            return;
        }
    enum dv_type ty;
    int ml;
    if (dv_col_custom(t, logical, &ty, &ml) ||
        (dv_col_find(t, logical) && !(dv_col_find(t, logical)->flags & DVC_CUSTOM))) {
        dv_resp_error(p, 400, "0x80047013", "An attribute named %s already exists for entity %s.",
                      logical, t->def->logical);
        return;
    }
    json_t *mlj = json_object_get(body, "MaxLength");
    int maxlen = json_is_integer(mlj)    ? (int)json_integer_value(mlj)
                 : types[i].t == DT_MEMO ? 2000
                                         : 100;
    if ((types[i].t == DT_STR && (maxlen < 1 || maxlen > 4000)) ||
        (types[i].t == DT_MEMO && (maxlen < 1 || maxlen > 1048576))) {
        dv_resp_error(p, 400, "0x80040203", "MaxLength %d is out of range.", maxlen);
        return;
    }
    const char *beh =
        json_string_value(json_object_get(json_object_get(body, "DateTimeBehavior"), "Value"));
    if (beh && strcmp(beh, "UserLocal") != 0 && strcmp(beh, "DateOnly") != 0 &&
        strcmp(beh, "TimeZoneIndependent") != 0) {
        dv_resp_error(p, 400, "0x80040203", "DateTimeBehavior '%.32s' is not valid.", beh);
        return;
    }
    json_object_set_new(t->custom, logical,
                        json_pack("{s:i, s:i, s:s}", "type", (int)types[i].t, "maxlen", maxlen,
                                  "behavior", beh ? beh : "UserLocal"));
    char url[400], mid[37], key[160];
    snprintf(key, sizeof key, "attribute:%s:%s", t->def->logical, logical);
    dv_guid_from(key, mid);
    snprintf(url, sizeof url, "%s/api/data/v9.2/EntityDefinitions(LogicalName='%s')/Attributes(%s)",
             c->s->base_url, t->def->logical, mid);
    dv_resp_header(p, "OData-EntityId", url);
    p->status = 204;
}

static void create_key(struct dv_ctx *c, struct dv_tab *t, json_t *body, struct dv_resp *p)
{
    const char *schema = json_string_value(json_object_get(body, "SchemaName"));
    json_t *ka = json_object_get(body, "KeyAttributes");
    if (!schema || !json_is_array(ka) || json_array_size(ka) == 0) {
        dv_resp_error(p, 400, "0x80040203", "A key needs SchemaName and KeyAttributes.");
        return;
    }
    if (json_array_size(ka) > DV_KEY_MAX_COLS || t->nkeys >= DV_MAX_KEYS) {
        dv_resp_error(p, 400, "0x80040203",
                      "A key has at most 16 columns and a table at most 10 keys.");
        return;
    }
    const char *cols[DV_KEY_MAX_COLS];
    for (size_t i = 0; i < json_array_size(ka); i++) {
        cols[i] = json_string_value(json_array_get(ka, i));
        enum dv_type ty = DT_STR;
        int ml;
        const struct dv_col *col = cols[i] ? dv_col_find(t, cols[i]) : NULL;
        if (col)
            ty = col->type;
        else if (!cols[i] || !dv_col_custom(t, cols[i], &ty, &ml)) {
            dv_resp_error(p, 400, "0x80040203", "The key attribute '%s' does not exist on %s.",
                          cols[i] ? cols[i] : "?", t->def->logical);
            return;
        }
        if (ty == DT_MEMO || ty == DT_BOOL || ty == DT_MONEY || ty == DT_GUID || ty == DT_STATE ||
            ty == DT_STATUS) {
            dv_resp_error(p, 400, "0x80040203",
                          "The attribute '%s' cannot be part of a key (string, integer, decimal, "
                          "date, lookup or choice only).",
                          cols[i]);
            return;
        }
    }
    char logical[64];
    snprintf(logical, sizeof logical, "%s", schema);
    for (char *q = logical; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    for (size_t i = 0; i < t->nkeys; i++)
        if (strcmp(t->keys[i].logical, logical) == 0 ||
            dv_key_find_by_cols(t, cols, json_array_size(ka)) == &t->keys[i]) {
            dv_resp_error(p, 400, "0x80040203", "A key with the same name or columns exists on %s.",
                          t->def->logical);
            return;
        }
    struct dv_key *k = dv_key_add(t, logical, schema, cols, json_array_size(ka), false);
    if (!k) {
        dv_resp_error(p, 400, "0x80040203", "The key cannot be added.");
        return;
    }
    char url[400];
    snprintf(url, sizeof url, "%s/api/data/v9.2/EntityDefinitions(LogicalName='%s')/Keys(%s)",
             c->s->base_url, t->def->logical, k->id);
    dv_resp_header(p, "OData-EntityId", url);
    p->status = 204;
}

void dv_metadata_exec(struct dv_ctx *c, const struct dv_req *q, struct dv_resp *p)
{
    const char *path = q->path + 17; /* after EntityDefinitions */
    if (*path == '\0') {
        if (strcmp(q->method, "GET") != 0) {
            dv_resp_error(p, 405, "0x80060888", "Use GET on EntityDefinitions.");
            return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < c->s->ntabs; i++) {
            const struct dv_table *d = c->s->tabs[i].def;
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:s, s:s, s:i}", "LogicalName", d->logical,
                               "EntitySetName", d->set, "PrimaryIdAttribute", d->id,
                               "PrimaryNameAttribute", d->primary_name, "ObjectTypeCode", d->otc));
        }
        answer_list(c, p, "EntityDefinitions", arr);
        return;
    }
    const char *lq = "(LogicalName='";
    if (strncmp(path, lq, strlen(lq)) != 0) {
        dv_resp_error(p, 400, "0x80060888",
                      "Address a table as EntityDefinitions(LogicalName='name').");
        return;
    }
    path += strlen(lq);
    size_t nl = strcspn(path, "'");
    struct dv_tab *t = dv_tab_by_logical(c->s, path, nl);
    if (!t || strncmp(path + nl, "')", 2) != 0) {
        dv_resp_error(p, 404, "0x80040217",
                      "Could not find an entity with the specified LogicalName '%.*s'.",
                      (int)(nl > 64 ? 64 : nl), path);
        return;
    }
    const char *rest = path + nl + 2;
    char tail[160];
    if (*rest == '\0' && strcmp(q->method, "GET") == 0) {
        char mid[37], key[96], ctx[400];
        snprintf(key, sizeof key, "entity:%s", t->def->logical);
        dv_guid_from(key, mid);
        snprintf(ctx, sizeof ctx, "%s/api/data/v9.2/$metadata#EntityDefinitions/$entity",
                 c->s->base_url);
        dv_resp_json(p, 200,
                     json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "@odata.context", ctx,
                               "MetadataId", mid, "LogicalName", t->def->logical, "EntitySetName",
                               t->def->set, "PrimaryIdAttribute", t->def->id,
                               "PrimaryNameAttribute", t->def->primary_name, "ObjectTypeCode",
                               t->def->otc));
        return;
    }
    json_t *body = NULL;
    if (strcmp(q->method, "POST") == 0) {
        if (!(body = dv_req_json(q, p)))
            return;
    }
    if (strcmp(rest, "/Attributes") == 0 && strcmp(q->method, "GET") == 0) {
        snprintf(tail, sizeof tail, "EntityDefinitions('%s')/Attributes", t->def->logical);
        answer_list(c, p, tail, attrs(t));
    } else if (strcmp(rest, "/Attributes") == 0 && body) {
        create_attribute(c, t, body, p);
    } else if (strncmp(rest, "/Attributes(LogicalName='", 25) == 0 &&
               strcmp(q->method, "GET") == 0) {
        const char *an = rest + 25;
        size_t al = strcspn(an, "'");
        json_t *all = attrs(t), *hit = NULL;
        for (size_t i = 0; i < json_array_size(all); i++) {
            const char *ln =
                json_string_value(json_object_get(json_array_get(all, i), "LogicalName"));
            if (strlen(ln) == al && strncmp(ln, an, al) == 0)
                hit = json_incref(json_array_get(all, i));
        }
        json_decref(all);
        if (hit)
            dv_resp_json(p, 200, hit);
        else
            dv_resp_error(p, 404, "0x80040217",
                          "Could not find an attribute with the specified name '%.*s'.",
                          (int)(al > 64 ? 64 : al), an);
    } else if (strcmp(rest, "/Keys") == 0 && strcmp(q->method, "GET") == 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < t->nkeys; i++)
            json_array_append_new(arr, key_json(t, &t->keys[i]));
        snprintf(tail, sizeof tail, "EntityDefinitions('%s')/Keys", t->def->logical);
        answer_list(c, p, tail, arr);
    } else if (strcmp(rest, "/Keys") == 0 && body) {
        create_key(c, t, body, p);
    } else {
        dv_resp_error(p, 404, "0x80060888", "Resource not found for the segment '%.100s'.", rest);
    }
    json_decref(body);
}
