/* `ml-connector setup dataverse`: creates our columns and alternate keys (waiting until the keys
 * are Active) and registers the webhook (a WebhookKey service endpoint, Update and Delete steps on
 * the four tables filtered to the mapped columns, Merge on account and contact). Idempotent: what
 * exists and matches is left alone, so a second run changes nothing. --dry-run prints the plan. */
#include "internal.h"
#include "mlc/crypto.h"
#include "mlc/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: ml-connector setup dataverse [--dry-run] [--timeout S]\n"
    "\n"
    "Creates the connector's columns and alternate keys in Dataverse (names from the mapping\n"
    "file), waits until every key is Active (progress on stderr), and registers the webhook:\n"
    "a service endpoint named ml-connector posting to MLC_DATAVERSE_WEBHOOK_URL with the\n"
    "MLC_DATAVERSE_WEBHOOK_AUTH scheme, Update steps filtered to the mapped columns and Delete\n"
    "steps on account, contact, salesorder and salesorderdetail, Merge on account and contact.\n"
    "What exists and matches is left alone. The plan goes to stdout, one line per item\n"
    "(create, update, ok, problem), then a JSON summary.\n"
    "  --dry-run   print the plan, change nothing\n"
    "  --timeout S give up waiting for keys after S seconds (default 3600)\n";

#define ENDPOINT_NAME "ml-connector"

struct setup {
    struct dayone *d;
    bool dry;
    int timeout_s;
    int created, updated, unchanged, problems;
};

enum { ST_OK, ST_CREATE, ST_UPDATE, ST_PROBLEM };

static void plan_line(struct setup *s, int st, const char *what, const char *detail)
{
    static const char *const verb[] = {"ok", "create", "update", "problem"};
    printf("%-8s %s%s%s\n", verb[st], what, detail && *detail ? ": " : "", detail ? detail : "");
    fflush(stdout);
    if (st == ST_OK)
        s->unchanged++;
    else if (st == ST_PROBLEM)
        s->problems++;
}

static void dv_fail(struct setup *s, const char *what, const struct mlc_dv_err *e)
{
    char d[600];
    snprintf(d, sizeof d, "Dataverse said %ld %s%s%.400s", e->status, e->code,
             e->code[0] ? " " : "", e->msg);
    plan_line(s, ST_PROBLEM, what, d);
}

/* ---- columns ---- */

struct colspec {
    const char *table, *column;
    const char *type; /* AttributeType: String, Memo, DateTime, Money */
    int maxlen;
    const char *label;
};

static json_t *label(const char *text)
{
    return json_pack("{s:s, s:[{s:s, s:s, s:i}]}", "@odata.type", "Microsoft.Dynamics.CRM.Label",
                     "LocalizedLabels", "@odata.type", "Microsoft.Dynamics.CRM.LocalizedLabel",
                     "Label", text, "LanguageCode", 1033);
}

static json_t *attribute_body(const struct colspec *c)
{
    char otype[96];
    snprintf(otype, sizeof otype, "Microsoft.Dynamics.CRM.%sAttributeMetadata", c->type);
    json_t *b = json_pack("{s:s, s:s, s:o, s:o, s:{s:s, s:b}}", "@odata.type", otype, "SchemaName",
                          c->column, "DisplayName", label(c->label), "Description", label(c->label),
                          "RequiredLevel", "Value", "None", "CanBeChanged", 1);
    if (strcmp(c->type, "String") == 0) {
        json_object_set_new(b, "MaxLength", json_integer(c->maxlen));
        json_object_set_new(b, "FormatName", json_pack("{s:s}", "Value", "Text"));
    } else if (strcmp(c->type, "Memo") == 0) {
        json_object_set_new(b, "MaxLength", json_integer(c->maxlen));
        json_object_set_new(b, "Format", json_string("TextArea"));
    } else if (strcmp(c->type, "DateTime") == 0) {
        json_object_set_new(b, "Format", json_string("DateAndTime"));
        json_object_set_new(b, "DateTimeBehavior", json_pack("{s:s}", "Value", "UserLocal"));
    } else if (strcmp(c->type, "Money") == 0) {
        json_object_set_new(b, "PrecisionSource", json_integer(2));
    }
    return b;
}

static void do_column(struct setup *s, const struct colspec *c)
{
    char what[200];
    snprintf(what, sizeof what, "column %s.%s (%s%s)", c->table, c->column, c->type,
             strcmp(c->type, "String") == 0 ? ", 100" : "");
    json_t *meta = NULL;
    struct mlc_dv_err e;
    enum mlc_rc rc = mlc_dv_attribute(s->d->dvs, c->table, c->column, &meta, &e);
    if (rc == MLC_OK) {
        const char *have = json_string_value(json_object_get(meta, "AttributeType"));
        if (have && strcmp(have, c->type) != 0) {
            char d[160];
            snprintf(d, sizeof d, "exists as %.40s, the connector writes %s: fix it by hand", have,
                     c->type);
            plan_line(s, ST_PROBLEM, what, d);
        } else {
            plan_line(s, ST_OK, what, "exists");
        }
        json_decref(meta);
        return;
    }
    if (rc != MLC_ENOTFOUND) {
        dv_fail(s, what, &e);
        return;
    }
    plan_line(s, ST_CREATE, what, NULL);
    if (s->dry)
        return;
    char path[200];
    snprintf(path, sizeof path, "EntityDefinitions(LogicalName='%s')/Attributes", c->table);
    json_t *body = attribute_body(c);
    rc = mlc_dv_send(s->d->dvs, "POST", path, body, NULL, &e);
    json_decref(body);
    if (rc != MLC_OK) {
        dv_fail(s, what, &e);
        return;
    }
    s->created++;
    fprintf(stderr, "setup: created %s\n", what);
}

/* ---- alternate keys ---- */

struct keyspec {
    const char *table, *column;
    bool optional;  /* salesorderdetail: "where allowed" */
    char name[120]; /* the key's logical name (ours or the one found) */
    bool pending;   /* created now or not Active yet: waited for */
    char status[24];
};

static bool key_is_on(json_t *key, const char *column)
{
    json_t *ka = json_object_get(key, "KeyAttributes");
    return json_array_size(ka) == 1 && json_string_value(json_array_get(ka, 0)) &&
           strcmp(json_string_value(json_array_get(ka, 0)), column) == 0;
}

static void do_key(struct setup *s, struct keyspec *k, bool column_missing)
{
    char what[240];
    snprintf(k->name, sizeof k->name, "%s_key", k->column);
    snprintf(what, sizeof what, "key %s.%s (%s)", k->table, k->name, k->column);
    struct mlc_dv_err e;
    if (!column_missing) {
        json_t *keys = NULL;
        if (mlc_dv_keys(s->d->dvs, k->table, &keys, &e) != MLC_OK) {
            dv_fail(s, what, &e);
            return;
        }
        size_t i;
        json_t *key;
        json_array_foreach(keys, i, key)
        {
            if (!key_is_on(key, k->column))
                continue;
            const char *ln = json_string_value(json_object_get(key, "LogicalName"));
            const char *st = json_string_value(json_object_get(key, "EntityKeyIndexStatus"));
            snprintf(k->name, sizeof k->name, "%s", ln ? ln : "?");
            snprintf(k->status, sizeof k->status, "%s", st ? st : "?");
            snprintf(what, sizeof what, "key %s.%s (%s)", k->table, k->name, k->column);
            json_decref(keys);
            st = k->status;
            if (strcmp(st, "Active") == 0) {
                plan_line(s, ST_OK, what, "exists, Active");
            } else if (strcmp(st, "Failed") == 0) {
                plan_line(s, k->optional ? ST_OK : ST_PROBLEM, what,
                          k->optional ? "exists, Failed (not allowed on this table here: the sync "
                                        "reads and diffs the lines instead)"
                                      : "exists, Failed (duplicate values in the column? remove "
                                        "them, then reactivate the key)");
            } else {
                char d[64];
                snprintf(d, sizeof d, "exists, %s: waited for", st);
                plan_line(s, ST_OK, what, d);
                k->pending = true;
            }
            return;
        }
        json_decref(keys);
    }
    plan_line(s, ST_CREATE, what, NULL);
    if (s->dry)
        return;
    char path[200], lab[160];
    snprintf(path, sizeof path, "EntityDefinitions(LogicalName='%s')/Keys", k->table);
    snprintf(lab, sizeof lab, "NetSuite ID (%s)", k->column);
    json_t *body = json_pack("{s:s, s:o, s:[s]}", "SchemaName", k->name, "DisplayName", label(lab),
                             "KeyAttributes", k->column);
    enum mlc_rc rc = mlc_dv_send(s->d->dvs, "POST", path, body, NULL, &e);
    json_decref(body);
    if (rc != MLC_OK) {
        if (k->optional) {
            char d[600];
            snprintf(d, sizeof d,
                     "not created (%.400s): the sync reads and diffs the lines instead", e.msg);
            plan_line(s, ST_OK, what, d);
        } else {
            dv_fail(s, what, &e);
        }
        return;
    }
    s->created++;
    k->pending = true;
    snprintf(k->status, sizeof k->status, "Pending");
    fprintf(stderr, "setup: created %s, Dataverse builds it in the background\n", what);
}

/* Polls the keys still building until each is Active or Failed, with a progress line whenever a
 * status changes and every 10 s. */
static void wait_keys(struct setup *s, struct keyspec *keys, size_t n)
{
    int64_t t0 = mlc_mono_ms(), last = 0;
    for (;;) {
        size_t left = 0;
        bool changed = false;
        for (size_t i = 0; i < n; i++) {
            struct keyspec *k = &keys[i];
            if (!k->pending)
                continue;
            json_t *list = NULL;
            struct mlc_dv_err e;
            if (mlc_dv_keys(s->d->dvs, k->table, &list, &e) != MLC_OK) {
                fprintf(stderr, "setup: reading the keys of %s: %s (retrying)\n", k->table, e.msg);
                left++;
                continue;
            }
            size_t j;
            json_t *key;
            const char *st = NULL;
            json_array_foreach(list, j, key) if (key_is_on(key, k->column)) st =
                json_string_value(json_object_get(key, "EntityKeyIndexStatus"));
            if (!st)
                st = "missing";
            if (strcmp(st, k->status) != 0) {
                changed = true;
                snprintf(k->status, sizeof k->status, "%s", st);
            }
            if (strcmp(st, "Active") == 0 || strcmp(st, "Failed") == 0 ||
                strcmp(st, "missing") == 0) {
                k->pending = false;
                if (strcmp(st, "Active") != 0 && !k->optional) {
                    char what[240];
                    snprintf(what, sizeof what, "key %s.%s", k->table, k->name);
                    plan_line(s, ST_PROBLEM, what,
                              strcmp(st, "Failed") == 0
                                  ? "the build Failed (duplicate values in the column? remove "
                                    "them, then reactivate the key)"
                                  : "vanished while building");
                }
            } else {
                left++;
            }
            json_decref(list);
        }
        int64_t now = mlc_mono_ms();
        if (changed || now - last >= 10000 || left == 0) {
            fprintf(stderr, "setup: keys after %lld s:", (long long)((now - t0) / 1000));
            for (size_t i = 0; i < n; i++)
                if (keys[i].status[0])
                    fprintf(stderr, " %s.%s %s;", keys[i].table, keys[i].column, keys[i].status);
            fprintf(stderr, " %zu building\n", left);
            last = now;
        }
        if (left == 0)
            return;
        if (now - t0 > (int64_t)s->timeout_s * 1000) {
            plan_line(s, ST_PROBLEM, "keys", "still building after --timeout; run setup again");
            return;
        }
        mlc_sleep_ms(1000);
    }
}

/* ---- webhook registration ---- */

struct lookup_ctx {
    json_t *rows;
};
static bool collect(json_t *row, void *ud)
{
    json_array_append(((struct lookup_ctx *)ud)->rows, row);
    return true;
}

/* Rows of set matching filter (owned array); NULL after reporting a failure. */
static json_t *query(struct setup *s, const char *set, const char *select, const char *filter,
                     const char *what)
{
    struct lookup_ctx c = {json_array()};
    struct mlc_dv_err e;
    if (mlc_dv_query(s->d->dvs, set, select, filter, 0, collect, &c, NULL, &e) != MLC_OK) {
        dv_fail(s, what, &e);
        json_decref(c.rows);
        return NULL;
    }
    return c.rows;
}

/* The endpoint's authtype and authvalue from the MLC_DATAVERSE_WEBHOOK_* settings; false with
 * a message when the setting it needs is missing. */
static bool endpoint_auth(struct setup *s, int *authtype, struct mlc_buf *value)
{
    const struct mlc_config *cfg = &s->d->cfg;
    const char *mode = mlc_config_str(cfg, MLC_CFG_DATAVERSE_WEBHOOK_AUTH);
    if (!mode || strcmp(mode, "webhookkey") == 0) {
        char **keys = NULL;
        size_t n = mlc_list_split(mlc_config_str(cfg, MLC_CFG_DATAVERSE_WEBHOOK_KEYS), &keys);
        if (n == 0) {
            fprintf(stderr, "ml-connector: configuration error: MLC_DATAVERSE_WEBHOOK_KEYS: "
                            "required by setup dataverse (the key Dataverse sends as code=)\n");
            mlc_strv_free(keys, n);
            return false;
        }
        *authtype = 4;
        mlc_buf_printf(value, "%s", keys[0]); /* the first key: new registrations use it */
        mlc_strv_free(keys, n);
        return true;
    }
    bool header = strcmp(mode, "header") == 0;
    enum mlc_cfg_id id =
        header ? MLC_CFG_DATAVERSE_WEBHOOK_HEADERS : MLC_CFG_DATAVERSE_WEBHOOK_QUERY;
    char **pairs = NULL;
    size_t n = mlc_list_split(mlc_config_str(cfg, id), &pairs);
    if (n == 0) {
        fprintf(stderr, "ml-connector: configuration error: %s: required by setup dataverse\n",
                mlc_config_defs()[id].name);
        mlc_strv_free(pairs, n);
        return false;
    }
    *authtype = header ? 5 : 6;
    mlc_buf_printf(value, "<settings>");
    for (size_t i = 0; i < n; i++) {
        char *eq = strchr(pairs[i], '=');
        if (!eq || strchr(pairs[i], '"') || strchr(pairs[i], '<') || strchr(pairs[i], '&')) {
            fprintf(stderr,
                    "ml-connector: configuration error: %s: pair #%zu is not name=value (without "
                    "\", < or &)\n",
                    mlc_config_defs()[id].name, i + 1);
            mlc_strv_free(pairs, n);
            return false;
        }
        mlc_buf_printf(value, "<setting name=\"%.*s\" value=\"%s\" />", (int)(eq - pairs[i]),
                       pairs[i], eq + 1);
    }
    mlc_buf_printf(value, "</settings>");
    mlc_strv_free(pairs, n);
    return true;
}

/* The endpoint's GUID into id ("" in a dry run that would create it); false after a problem. */
static bool do_endpoint(struct setup *s, const char *url, char id[37])
{
    id[0] = '\0';
    int authtype = 0;
    struct mlc_buf av;
    mlc_buf_init(&av, 1 << 16);
    bool ok = false;
    json_t *found = NULL, *body = NULL;
    if (!endpoint_auth(s, &authtype, &av)) {
        s->problems++;
        goto out;
    }
    char what[2200];
    snprintf(what, sizeof what, "service endpoint %s -> %.2000s (authtype %d)", ENDPOINT_NAME, url,
             authtype);
    found = query(s, "serviceendpoints", "serviceendpointid,url,authtype,authvalue,contract",
                  "name eq '" ENDPOINT_NAME "'", what);
    if (!found)
        goto out;
    body =
        json_pack("{s:s, s:i, s:s, s:i, s:s, s:i, s:s}", "name", ENDPOINT_NAME, "contract", 8,
                  "url", url, "authtype", authtype, "authvalue", av.data, "messageformat", 2,
                  "description", "ml-connector: Dataverse changes for the sync (setup dataverse)");
    struct mlc_dv_err e;
    if (json_array_size(found) == 0) {
        plan_line(s, ST_CREATE, what, NULL);
        if (s->dry) {
            ok = true;
            goto out;
        }
        if (mlc_dv_send(s->d->dvs, "POST", "serviceendpoints", body, NULL, &e) != MLC_OK) {
            dv_fail(s, what, &e);
            goto out;
        }
        s->created++;
        json_decref(found);
        found =
            query(s, "serviceendpoints", "serviceendpointid", "name eq '" ENDPOINT_NAME "'", what);
        const char *gid =
            json_string_value(json_object_get(json_array_get(found, 0), "serviceendpointid"));
        if (!gid || !mlc_dv_guid_valid(gid)) {
            plan_line(s, ST_PROBLEM, what, "created but not found again");
            goto out;
        }
        snprintf(id, 37, "%s", gid);
        ok = true;
        goto out;
    }
    if (json_array_size(found) > 1) {
        plan_line(s, ST_PROBLEM, what,
                  "several service endpoints are named " ENDPOINT_NAME ": remove the extra ones");
        goto out;
    }
    json_t *ep = json_array_get(found, 0);
    const char *gid = json_string_value(json_object_get(ep, "serviceendpointid"));
    if (!gid || !mlc_dv_guid_valid(gid)) {
        plan_line(s, ST_PROBLEM, what, "the endpoint has no readable id");
        goto out;
    }
    snprintf(id, 37, "%s", gid);
    const char *have_url = json_string_value(json_object_get(ep, "url"));
    const char *have_av = json_string_value(json_object_get(ep, "authvalue"));
    json_int_t have_at = json_integer_value(json_object_get(ep, "authtype"));
    json_int_t have_contract = json_integer_value(json_object_get(ep, "contract"));
    /* authvalue may not be readable back: when it is not, a present endpoint keeps its value */
    struct mlc_buf diff;
    mlc_buf_init(&diff, 4096);
    if (!have_url || strcmp(have_url, url) != 0)
        mlc_buf_printf(&diff, "%surl", diff.len ? ", " : "");
    if (have_at != authtype)
        mlc_buf_printf(&diff, "%sauthtype", diff.len ? ", " : "");
    if (have_av && strcmp(have_av, av.data) != 0)
        mlc_buf_printf(&diff, "%sauthvalue", diff.len ? ", " : "");
    if (have_contract != 8)
        mlc_buf_printf(&diff, "%scontract", diff.len ? ", " : "");
    if (diff.len == 0) {
        plan_line(s, ST_OK, what, "exists");
        mlc_buf_free(&diff);
        ok = true;
        goto out;
    }
    plan_line(s, ST_UPDATE, what, diff.data);
    mlc_buf_free(&diff);
    if (s->dry) {
        ok = true;
        goto out;
    }
    char path[80];
    snprintf(path, sizeof path, "serviceendpoints(%s)", id);
    json_object_del(body, "name");
    if (mlc_dv_send(s->d->dvs, "PATCH", path, body, NULL, &e) != MLC_OK) {
        dv_fail(s, what, &e);
        goto out;
    }
    s->updated++;
    ok = true;
out:
    if (av.data)
        mlc_wipe(av.data, av.len);
    mlc_buf_free(&av);
    json_decref(found);
    if (body) {
        json_t *v = json_object_get(body, "authvalue");
        if (json_string_value(v))
            mlc_wipe((void *)(uintptr_t)json_string_value(v), json_string_length(v));
        json_decref(body);
    }
    return ok;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "a,b,c": the sorted, de-duplicated, lower-case column list of json array cols. Owned. */
static char *column_list(json_t *cols)
{
    size_t n = json_array_size(cols), k = 0;
    const char **v = mlc_calloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[k++] = json_string_value(json_array_get(cols, i));
    qsort(v, k, sizeof *v, cmp_str);
    struct mlc_buf b;
    mlc_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < k; i++) {
        if (i && strcmp(v[i], v[i - 1]) == 0)
            continue;
        mlc_buf_printf(&b, "%s%s", b.len ? "," : "", v[i]);
    }
    free(v);
    char *out = mlc_strdup(b.data ? b.data : "");
    mlc_buf_free(&b);
    return out;
}

/* Normalises a list read back ("b, a") the same way, for comparison. Owned. */
static char *normal_list(const char *s)
{
    json_t *arr = json_array();
    char **items = NULL;
    size_t n = mlc_list_split(s, &items);
    for (size_t i = 0; i < n; i++) {
        for (char *p = items[i]; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        json_array_append_new(arr, json_string(items[i]));
    }
    mlc_strv_free(items, n);
    char *out = column_list(arr);
    json_decref(arr);
    return out;
}

static void add_col(json_t *cols, const char *name)
{
    if (!name || !*name)
        return;
    char low[128];
    snprintf(low, sizeof low, "%s", name);
    /* navigation properties of polymorphic lookups name the column plus the target */
    char *suffix = strstr(low, "_account");
    if (!suffix)
        suffix = strstr(low, "_contact");
    if (suffix && suffix[8] == '\0')
        *suffix = '\0';
    for (char *p = low; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    json_array_append_new(cols, json_string(low));
}

/* The Update step's filtering attributes of a kind: the columns the connector owns (NetSuite-owned
 * mapped columns, lookups it binds, state, our key and mirror columns): a CRM edit of any of them
 * is drift; edits of CRM-owned columns need no webhook. Owned "a,b,c". */
static char *filtering_attributes(const struct dayone *d, enum mlc_map_kind k)
{
    json_t *sec = mlc_mapping_section(d->mapping, k);
    json_t *cols = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(sec, "columns"), i, c)
    {
        const char *owner = json_string_value(json_object_get(c, "owner"));
        if (owner && strcmp(owner, "netsuite") != 0)
            continue;
        add_col(cols, json_string_value(json_object_get(c, "dv")));
    }
    add_col(cols, json_string_value(json_object_get(sec, "key")));
    static const char *const links[] = {"parent", "primaryContact", "account", "customer", "order"};
    for (size_t l = 0; l < sizeof links / sizeof links[0]; l++)
        add_col(cols,
                json_string_value(json_object_get(json_object_get(sec, links[l]), "navigation")));
    if (json_object_get(sec, "inactive") || json_object_get(sec, "statuses")) {
        add_col(cols, "statecode");
        add_col(cols, "statuscode");
    }
    add_col(cols, json_string_value(json_object_get(sec, "statusColumn")));
    add_col(cols, json_string_value(json_object_get(sec, "totalColumn")));
    if (k == MLC_MAP_ORDER) {
        add_col(cols, "pricelevelid");
        add_col(cols, "transactioncurrencyid");
    }
    if (k == MLC_MAP_LINE) {
        add_col(cols, "productid");
        add_col(cols, "uomid");
    }
    char *out = column_list(cols);
    json_decref(cols);
    return out;
}

/* GUID of the message named name into id; false after a problem. */
static bool message_id(struct setup *s, const char *name, char id[37])
{
    char filter[96], what[96];
    snprintf(filter, sizeof filter, "name eq '%s'", name);
    snprintf(what, sizeof what, "sdkmessage %s", name);
    json_t *r = query(s, "sdkmessages", "sdkmessageid,name", filter, what);
    const char *gid = json_string_value(json_object_get(json_array_get(r, 0), "sdkmessageid"));
    bool ok = gid && mlc_dv_guid_valid(gid);
    if (ok)
        snprintf(id, 37, "%s", gid);
    else if (r)
        plan_line(s, ST_PROBLEM, what, "not found in this environment");
    json_decref(r);
    return ok;
}

static bool filter_id(struct setup *s, const char *msg_id, const char *msg, const char *table,
                      char id[37])
{
    char filter[200], what[120];
    snprintf(filter, sizeof filter, "_sdkmessageid_value eq %s and primaryobjecttypecode eq '%s'",
             msg_id, table);
    snprintf(what, sizeof what, "sdkmessagefilter %s of %s", msg, table);
    json_t *r =
        query(s, "sdkmessagefilters", "sdkmessagefilterid,primaryobjecttypecode", filter, what);
    const char *gid =
        json_string_value(json_object_get(json_array_get(r, 0), "sdkmessagefilterid"));
    bool ok = gid && mlc_dv_guid_valid(gid);
    if (ok)
        snprintf(id, 37, "%s", gid);
    else if (r)
        plan_line(s, ST_PROBLEM, what, "not found: this table does not take that message here");
    json_decref(r);
    return ok;
}

static void do_steps(struct setup *s, const char *endpoint_id)
{
    static const char *const msgs[] = {"Update", "Delete", "Merge"};
    static const enum mlc_map_kind kinds[] = {MLC_MAP_CUSTOMER, MLC_MAP_CONTACT, MLC_MAP_ORDER,
                                              MLC_MAP_LINE};
    json_t *existing = json_array();
    if (endpoint_id[0]) {
        char filter[96];
        snprintf(filter, sizeof filter, "_eventhandler_value eq %s", endpoint_id);
        json_decref(existing);
        existing = query(s, "sdkmessageprocessingsteps",
                         "sdkmessageprocessingstepid,name,filteringattributes,_sdkmessageid_value,"
                         "_sdkmessagefilterid_value,mode,stage,statecode",
                         filter, "webhook steps");
        if (!existing)
            return;
    }
    for (size_t m = 0; m < sizeof msgs / sizeof msgs[0]; m++) {
        char mid[37];
        if (!message_id(s, msgs[m], mid))
            continue;
        for (size_t t = 0; t < sizeof kinds / sizeof kinds[0]; t++) {
            if (m == 2 && t > 1)
                continue; /* Merge exists on account and contact only */
            const char *table = dayone_sec_str(s->d, kinds[t], "table");
            if (!table)
                continue;
            char fid[37], what[200], name[160];
            snprintf(name, sizeof name, "ml-connector: %s of %s", msgs[m], table);
            snprintf(what, sizeof what, "step %s", name);
            if (!filter_id(s, mid, msgs[m], table, fid))
                continue;
            char *attrs = m == 0 ? filtering_attributes(s->d, kinds[t]) : NULL;
            json_t *found = NULL;
            size_t i;
            json_t *st;
            json_array_foreach(existing, i, st)
            {
                const char *a = json_string_value(json_object_get(st, "_sdkmessageid_value"));
                const char *b = json_string_value(json_object_get(st, "_sdkmessagefilterid_value"));
                if (a && b && strcmp(a, mid) == 0 && strcmp(b, fid) == 0)
                    found = st;
            }
            json_t *body =
                json_pack("{s:s, s:i, s:i, s:i, s:i, s:b, s:s}", "name", name, "mode", 1, "stage",
                          40, "rank", 1, "supporteddeployment", 0, "asyncautodelete", 1,
                          "description", "ml-connector (setup dataverse)");
            if (attrs)
                json_object_set_new(body, "filteringattributes", json_string(attrs));
            char detail[300] = "";
            if (attrs)
                snprintf(detail, sizeof detail, "filter %.280s", attrs);
            struct mlc_dv_err e;
            if (!found) {
                plan_line(s, ST_CREATE, what, detail);
                if (!s->dry) {
                    char bind[80];
                    snprintf(bind, sizeof bind, "/sdkmessages(%s)", mid);
                    json_object_set_new(body, "sdkmessageid@odata.bind", json_string(bind));
                    snprintf(bind, sizeof bind, "/sdkmessagefilters(%s)", fid);
                    json_object_set_new(body, "sdkmessagefilterid@odata.bind", json_string(bind));
                    snprintf(bind, sizeof bind, "/serviceendpoints(%s)", endpoint_id);
                    json_object_set_new(body, "eventhandler_serviceendpoint@odata.bind",
                                        json_string(bind));
                    if (mlc_dv_send(s->d->dvs, "POST", "sdkmessageprocessingsteps", body, NULL,
                                    &e) != MLC_OK)
                        dv_fail(s, what, &e);
                    else
                        s->created++;
                }
            } else {
                char *have =
                    normal_list(json_string_value(json_object_get(found, "filteringattributes")));
                struct mlc_buf diff;
                mlc_buf_init(&diff, 4096);
                if (attrs && strcmp(have, attrs) != 0)
                    mlc_buf_printf(&diff, "filteringattributes %.1500s -> %.1500s", have, attrs);
                if (json_integer_value(json_object_get(found, "statecode")) != 0) {
                    mlc_buf_printf(&diff, "%sdisabled -> enabled", diff.len ? ", " : "");
                    json_object_set_new(body, "statecode", json_integer(0));
                    json_object_set_new(body, "statuscode", json_integer(1));
                }
                if (json_integer_value(json_object_get(found, "mode")) != 1 ||
                    json_integer_value(json_object_get(found, "stage")) != 40)
                    mlc_buf_printf(&diff, "%sasynchronous post-operation", diff.len ? ", " : "");
                if (diff.len == 0) {
                    plan_line(s, ST_OK, what, "exists");
                } else {
                    plan_line(s, ST_UPDATE, what, diff.data);
                    const char *sid =
                        json_string_value(json_object_get(found, "sdkmessageprocessingstepid"));
                    if (!s->dry && sid && mlc_dv_guid_valid(sid)) {
                        char path[80];
                        snprintf(path, sizeof path, "sdkmessageprocessingsteps(%s)", sid);
                        if (mlc_dv_send(s->d->dvs, "PATCH", path, body, NULL, &e) != MLC_OK)
                            dv_fail(s, what, &e);
                        else
                            s->updated++;
                    }
                }
                mlc_buf_free(&diff);
                free(have);
            }
            json_decref(body);
            free(attrs);
        }
    }
    json_decref(existing);
}

/* ---- the command ---- */

static void column_specs(const struct dayone *d, struct colspec *out, size_t *n,
                         struct keyspec *keys, size_t *nk)
{
    static const enum mlc_map_kind kinds[] = {MLC_MAP_CUSTOMER, MLC_MAP_CONTACT, MLC_MAP_ORDER,
                                              MLC_MAP_LINE};
    *n = *nk = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const char *table = dayone_sec_str(d, kinds[i], "table");
        const char *key = dayone_sec_str(d, kinds[i], "key");
        if (!table || !key)
            continue;
        out[(*n)++] = (struct colspec){table, key, "String", 100, "NetSuite ID"};
        keys[(*nk)++] =
            (struct keyspec){.table = table, .column = key, .optional = kinds[i] == MLC_MAP_LINE};
        if (kinds[i] == MLC_MAP_ORDER) {
            const char *status = dayone_sec_str(d, kinds[i], "statusColumn");
            const char *total = dayone_sec_str(d, kinds[i], "totalColumn");
            if (status)
                out[(*n)++] = (struct colspec){table, status, "String", 100, "NetSuite status"};
            if (total)
                out[(*n)++] = (struct colspec){table, total, "Money", 0, "NetSuite total"};
        }
        out[(*n)++] = (struct colspec){table, "mlc_netsuitelastmodified", "DateTime", 0,
                                       "NetSuite last modified (UTC)"};
        out[(*n)++] =
            (struct colspec){table, "mlc_syncstatehash", "String", 100, "Sync state hash"};
        out[(*n)++] = (struct colspec){table, "mlc_lastsyncedon", "DateTime", 0, "Last synced on"};
        out[(*n)++] =
            (struct colspec){table, "mlc_syncexceptions", "Memo", 4000, "Sync exceptions"};
    }
    /* products are looked up by NetSuite item ID (never written by the sync, stamped by link) */
    json_t *pc = json_object_get(mlc_mapping_section(d->mapping, MLC_MAP_LINE), "productColumns");
    const char *item = json_string_value(json_object_get(pc, "item"));
    if (item) {
        out[(*n)++] = (struct colspec){"product", item, "String", 100, "NetSuite item ID"};
        keys[(*nk)++] = (struct keyspec){.table = "product", .column = item};
    }
}

int mlc_setup_main(int argc, char **argv)
{
    struct setup s = {.timeout_s = 3600};
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "dataverse") != 0) {
        fprintf(stderr, "ml-connector setup: unknown target '%s' (only: dataverse)\n\n%s", argv[1],
                help);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        uint64_t v = 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return 0;
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            s.dry = true;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc &&
                   mlc_parse_u64(argv[i + 1], &v) == MLC_OK && v >= 1 && v <= 86400) {
            s.timeout_s = (int)v;
            i++;
        } else {
            fprintf(stderr,
                    "ml-connector setup dataverse: bad option %s (--timeout takes 1..86400 "
                    "seconds)\n\n%s",
                    argv[i], help);
            return 2;
        }
    }
    struct dayone d;
    int rc = dayone_open(&d, "setup dataverse", false);
    if (rc)
        goto out;
    const char *url = mlc_config_str(&d.cfg, MLC_CFG_DATAVERSE_WEBHOOK_URL);
    if (!url) {
        fprintf(stderr, "ml-connector: configuration error: MLC_DATAVERSE_WEBHOOK_URL: required by "
                        "setup dataverse (the connector's https://.../v1/webhooks/dataverse as "
                        "Dataverse reaches it)\n");
        rc = 2;
        goto out;
    }
    s.d = &d;
    struct colspec cols[40];
    struct keyspec keys[8];
    size_t ncols, nkeys;
    column_specs(&d, cols, &ncols, keys, &nkeys);
    int64_t t0 = mlc_mono_ms();
    for (size_t i = 0; i < ncols; i++)
        do_column(&s, &cols[i]);
    for (size_t k = 0; k < nkeys; k++) {
        /* a key needs its column: in a dry run one still to be created has no key yet */
        json_t *meta = NULL;
        struct mlc_dv_err e;
        bool absent =
            mlc_dv_attribute(d.dvs, keys[k].table, keys[k].column, &meta, &e) == MLC_ENOTFOUND;
        json_decref(meta);
        if (absent && !s.dry) {
            char what[200];
            snprintf(what, sizeof what, "key %s.%s_key", keys[k].table, keys[k].column);
            plan_line(&s, ST_PROBLEM, what, "its column could not be created");
            continue;
        }
        do_key(&s, &keys[k], absent);
    }
    if (!s.dry)
        wait_keys(&s, keys, nkeys);
    char eid[37];
    if (do_endpoint(&s, url, eid))
        do_steps(&s, eid);
    printf("{\"dryRun\":%s,\"created\":%d,\"updated\":%d,\"unchanged\":%d,\"problems\":%d,"
           "\"seconds\":%.1f}\n",
           s.dry ? "true" : "false", s.created, s.updated, s.unchanged, s.problems,
           (double)(mlc_mono_ms() - t0) / 1000.0);
    rc = s.problems ? 1 : 0;
out:
    dayone_close(&d);
    return rc;
}
