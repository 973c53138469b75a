/* Web API calls: single-row writes by alternate key or GUID (upsert, create-only, update-only, the
 * fallback for keys a URL cannot carry, duplicate-key retried as update), GETs and paged queries,
 * WhoAmI, key and column metadata, and the per-table bulk support check. */
#include "internal.h"
#include "mlc/log.h"
#include "mlc/net.h"
#include "mlc/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Turns a final answer into e when it is not 2xx; true when it is. */
static bool answer_ok(const struct mlc_net_response *r, struct mlc_dv_err *e)
{
    if (r->status >= 200 && r->status < 300)
        return true;
    mlc_dv_error_parse(r->status, r->body.data, r->body.len, e);
    if (r->status == 401)
        e->retryable = true; /* after the forced refresh: the token service may recover */
    return false;
}

static enum mlc_rc parse_json(const struct mlc_net_response *r, json_t **out, struct mlc_dv_err *e)
{
    *out = NULL;
    if (r->body.len == 0)
        return MLC_OK;
    json_error_t je;
    *out = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);
    if (!*out) {
        dv_err_set(e, true, r->status, "dataverse:garbled",
                   "Dataverse answered %ld with unreadable JSON (%s at %d)", r->status, je.text,
                   je.position);
        return MLC_ERR;
    }
    return MLC_OK;
}

/* Query-string encoding of an OData expression (keeps what OData syntax needs readable). */
static void qs_encode(const char *v, struct mlc_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~'(),/$:@", *p)) {
            mlc_buf_append(out, (const char *)p, 1);
        } else {
            char t[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            mlc_buf_append(out, t, 3);
        }
    }
}

enum mlc_rc mlc_dv_get(struct mlc_dv_session *s, const char *path_query, json_t **out,
                       struct mlc_dv_err *e)
{
    *out = NULL;
    struct dv_req r = {.method = "GET", .url = path_query, .endpoint = "get"};
    struct mlc_net_response resp;
    if (dv_request(s, &r, &resp, e) != MLC_OK)
        return MLC_ERR;
    enum mlc_rc rc = MLC_ERR;
    if (!answer_ok(&resp, e)) {
        rc = resp.status == 404 ? MLC_ENOTFOUND : MLC_ERR;
    } else if (parse_json(&resp, out, e) == MLC_OK) {
        rc = MLC_OK;
    }
    mlc_net_response_free(&resp);
    return rc;
}

enum mlc_rc mlc_dv_send(struct mlc_dv_session *s, const char *method, const char *path,
                        json_t *body, json_t **out, struct mlc_dv_err *e)
{
    if (out)
        *out = NULL;
    char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct dv_req r = {.method = method,
                       .url = path,
                       .body = payload,
                       .body_len = payload ? strlen(payload) : 0,
                       .endpoint = "send"};
    struct mlc_net_response resp;
    enum mlc_rc rc = dv_request(s, &r, &resp, e);
    free(payload);
    if (rc != MLC_OK)
        return MLC_ERR;
    rc = MLC_ERR;
    if (!answer_ok(&resp, e))
        rc = resp.status == 404 ? MLC_ENOTFOUND : MLC_ERR;
    else if (!out)
        rc = MLC_OK;
    else if (parse_json(&resp, out, e) == MLC_OK)
        rc = MLC_OK;
    mlc_net_response_free(&resp);
    return rc;
}

enum mlc_rc mlc_dv_query(struct mlc_dv_session *s, const char *entity_set, const char *select,
                         const char *filter, int page, mlc_dv_row_fn fn, void *ud, size_t *pages,
                         struct mlc_dv_err *e)
{
    struct mlc_buf url;
    mlc_buf_init(&url, 64 * 1024);
    mlc_buf_printf(&url, "%s", entity_set);
    char sep = '?';
    if (select) {
        mlc_buf_printf(&url, "%c$select=", sep);
        qs_encode(select, &url);
        sep = '&';
    }
    if (filter) {
        mlc_buf_printf(&url, "%c$filter=", sep);
        qs_encode(filter, &url);
    }
    if (!url.data || url.len >= url.max - 1) {
        mlc_buf_free(&url);
        dv_err_set(e, false, 0, "bug", "the query is too long");
        return MLC_EINVAL;
    }
    char prefer[48];
    snprintf(prefer, sizeof prefer, "odata.maxpagesize=%d", page > 0 ? page : 5000);
    char *next = mlc_strdup(url.data);
    mlc_buf_free(&url);
    enum mlc_rc rc = MLC_OK;
    size_t n = 0;
    while (next) {
        struct dv_req r = {.method = "GET", .url = next, .prefer = prefer, .endpoint = "query"};
        struct mlc_net_response resp;
        json_t *j = NULL;
        if (dv_request(s, &r, &resp, e) != MLC_OK) {
            rc = MLC_ERR;
            break;
        }
        n++;
        if (!answer_ok(&resp, e) || parse_json(&resp, &j, e) != MLC_OK) {
            mlc_net_response_free(&resp);
            rc = MLC_ERR;
            break;
        }
        mlc_net_response_free(&resp);
        json_t *vals = json_object_get(j, "value");
        if (!json_is_array(vals)) {
            dv_err_set(e, true, 200, "dataverse:garbled", "a query answer without a value array");
            json_decref(j);
            rc = MLC_ERR;
            break;
        }
        bool go = true;
        for (size_t i = 0; i < json_array_size(vals) && go; i++)
            go = fn(json_array_get(vals, i), ud);
        const char *nl = json_string_value(json_object_get(j, "@odata.nextLink"));
        free(next);
        next = go && nl ? mlc_strdup(nl) : NULL;
        json_decref(j);
    }
    free(next);
    if (pages)
        *pages = n;
    return rc;
}

/* ---- single-row writes ---- */

json_t *dv_body_without_key(json_t *body, json_t *key)
{
    json_t *b = json_is_object(body) ? json_copy(body) : json_object();
    const char *k;
    json_t *v;
    json_object_foreach(key, k, v) json_object_del(b, k);
    return b;
}

/* PATCH path with the mode's condition. *status gets the HTTP status; id from OData-EntityId. */
static enum mlc_rc patch(struct mlc_dv_session *s, const char *path, json_t *body,
                         enum mlc_dv_mode mode, char id[37], long *status, struct mlc_dv_err *e)
{
    char *payload = json_dumps(body, JSON_COMPACT);
    struct dv_req r = {.method = "PATCH",
                       .url = path,
                       .body = payload,
                       .body_len = strlen(payload),
                       .if_match = mode == MLC_DV_UPDATE_ONLY ? "*" : NULL,
                       .if_none_match = mode == MLC_DV_CREATE_ONLY ? "*" : NULL,
                       .endpoint = "upsert"};
    struct mlc_net_response resp;
    enum mlc_rc rc = dv_request(s, &r, &resp, e);
    free(payload);
    *status = 0;
    if (rc != MLC_OK)
        return MLC_ERR;
    *status = resp.status;
    rc = MLC_ERR;
    if (answer_ok(&resp, e)) {
        const char *eid = mlc_net_response_header(&resp, "OData-EntityId");
        char got[37];
        if (mlc_dv_entity_id_parse(eid, got) == MLC_OK) {
            if (id)
                snprintf(id, 37, "%s", got);
            rc = MLC_OK;
        } else {
            dv_err_set(e, true, resp.status, "dataverse:no_entity_id",
                       "Dataverse answered %ld without a readable OData-EntityId header",
                       resp.status);
        }
    }
    mlc_net_response_free(&resp);
    return rc;
}

static bool is_duplicate(const struct mlc_dv_err *e)
{
    return e->status == 412 && strcmp(e->code, "0x80040237") == 0;
}

static bool collect_row(json_t *row, void *ud)
{
    json_array_append(ud, row);
    return true;
}

/* Row GUID by key through $filter (keys a URL cannot carry). "" when none. */
static enum mlc_rc find_by_key(struct mlc_dv_session *s, const char *logical,
                               const char *entity_set, json_t *key, char id[37],
                               struct mlc_dv_err *e)
{
    id[0] = '\0';
    struct mlc_buf f;
    mlc_buf_init(&f, 16384);
    const char *k;
    json_t *v;
    json_object_foreach(key, k, v)
    {
        if (f.len)
            mlc_buf_printf(&f, " and ");
        mlc_buf_printf(&f, "%s eq ", k);
        if (json_is_string(v))
            mlc_dv_odata_string(json_string_value(v), false, &f);
        else if (json_is_integer(v))
            mlc_buf_printf(&f, "%lld", (long long)json_integer_value(v));
        else
            mlc_buf_printf(&f, "%.17g", json_number_value(v));
    }
    char idcol[96];
    snprintf(idcol, sizeof idcol, "%sid", logical);
    /* one page of at most two rows is enough to tell none from one */
    json_t *rows = json_array();
    struct mlc_dv_err e2;
    enum mlc_rc rc =
        mlc_dv_query(s, entity_set, idcol, f.data ? f.data : "", 2, collect_row, rows, NULL, &e2);
    if (rc == MLC_OK) {
        for (size_t i = 0; i < json_array_size(rows) && !id[0]; i++) {
            const char *g = json_string_value(json_object_get(json_array_get(rows, i), idcol));
            if (g && mlc_dv_guid_valid(g))
                snprintf(id, 37, "%s", g);
        }
    } else {
        *e = e2;
    }
    json_decref(rows);
    mlc_buf_free(&f);
    return rc;
}

static enum mlc_rc write_by_lookup(struct mlc_dv_session *s, const char *logical,
                                   const char *entity_set, json_t *key, json_t *clean,
                                   enum mlc_dv_mode mode, char id[37], struct mlc_dv_err *e)
{
    struct mlc_dataverse *dv = s->dv;
    atomic_fetch_add(&dv->fallbacks, 1);
    for (int round = 0; round < 3; round++) {
        char guid[37];
        if (find_by_key(s, logical, entity_set, key, guid, e) != MLC_OK)
            return MLC_ERR;
        if (guid[0]) {
            if (mode == MLC_DV_CREATE_ONLY) {
                dv_err_set(e, false, 412, "dataverse:exists",
                           "A record with matching key values already exists.");
                return MLC_EEXISTS;
            }
            char path[300];
            snprintf(path, sizeof path, "%s(%s)", entity_set, guid);
            long st = 0;
            enum mlc_rc rc = patch(s, path, clean, MLC_DV_UPDATE_ONLY, id, &st, e);
            if (rc == MLC_OK || st != 404)
                return rc;
            continue; /* deleted meanwhile: look again */
        }
        if (mode == MLC_DV_UPDATE_ONLY) {
            dv_err_set(e, false, 404, "dataverse:not_found", "no %s row has this key", logical);
            return MLC_ENOTFOUND;
        }
        /* create with the key columns in the body (POST names no key in the URL) */
        json_t *b = json_copy(clean);
        json_object_update(b, key);
        char *payload = json_dumps(b, JSON_COMPACT);
        json_decref(b);
        struct dv_req r = {.method = "POST",
                           .url = entity_set,
                           .body = payload,
                           .body_len = strlen(payload),
                           .endpoint = "create"};
        struct mlc_net_response resp;
        enum mlc_rc rc = dv_request(s, &r, &resp, e);
        free(payload);
        if (rc != MLC_OK)
            return MLC_ERR;
        bool ok = answer_ok(&resp, e);
        if (ok && mlc_dv_entity_id_parse(mlc_net_response_header(&resp, "OData-EntityId"), guid) ==
                      MLC_OK) {
            if (id)
                snprintf(id, 37, "%s", guid);
        } else if (ok) {
            dv_err_set(e, true, resp.status, "dataverse:no_entity_id",
                       "Dataverse answered %ld without a readable OData-EntityId header",
                       resp.status);
            rc = MLC_ERR;
        }
        mlc_net_response_free(&resp);
        if (ok)
            return rc;
        if (!is_duplicate(e) && e->status != 412)
            return MLC_ERR;
        atomic_fetch_add(&dv->dup_retries, 1); /* created by someone else meanwhile */
    }
    return MLC_ERR;
}

enum mlc_rc mlc_dv_write(struct mlc_dv_session *s, const char *logical, const char *entity_set,
                         json_t *key, json_t *body, enum mlc_dv_mode mode, char id[37],
                         struct mlc_dv_err *e)
{
    struct mlc_dataverse *dv = s->dv;
    memset(e, 0, sizeof *e);
    if (id)
        id[0] = '\0';
    json_t *clean = dv_body_without_key(body, key);
    enum mlc_rc rc = MLC_ERR;
    if (!mlc_dv_key_url_safe(key)) {
        bool bulk = false;
        struct mlc_dv_err e2;
        if (mode == MLC_DV_UPSERT && mlc_dv_bulk_supported(s, logical, &bulk, &e2) == MLC_OK &&
            bulk) {
            /* UpsertMultiple carries the key in the body, where any character is fine */
            struct mlc_dv_row row = {.key = key, .body = clean};
            atomic_fetch_add(&dv->fallbacks, 1);
            rc = mlc_dv_upsert_rows(s, logical, entity_set, &row, 1, e);
            if (rc == MLC_OK && !row.done) {
                *e = row.err;
                rc = MLC_ERR;
            }
            if (rc == MLC_OK && id)
                find_by_key(s, logical, entity_set, key, id, &e2);
        } else {
            rc = write_by_lookup(s, logical, entity_set, key, clean, mode, id, e);
        }
        json_decref(clean);
        return rc;
    }
    struct mlc_buf path;
    mlc_buf_init(&path, 8192);
    mlc_buf_printf(&path, "%s", entity_set);
    if (mlc_dv_key_segment(key, true, &path) != MLC_OK) {
        dv_err_set(e, false, 0, "bug", "the alternate key is not an object of plain values");
        rc = MLC_EINVAL;
        goto out;
    }
    enum mlc_dv_mode m = mode;
    for (int round = 0; round < 4; round++) {
        long st = 0;
        rc = patch(s, path.data, clean, m, id, &st, e);
        if (rc == MLC_OK)
            break;
        if (mode == MLC_DV_UPDATE_ONLY && st == 404) {
            rc = MLC_ENOTFOUND;
            break;
        }
        if (mode == MLC_DV_CREATE_ONLY && st == 412) {
            rc = MLC_EEXISTS;
            break;
        }
        if (mode == MLC_DV_UPSERT && is_duplicate(e)) {
            /* a concurrent create of the same key won: the row exists now, update it */
            atomic_fetch_add(&dv->dup_retries, 1);
            m = MLC_DV_UPDATE_ONLY;
            continue;
        }
        if (mode == MLC_DV_UPSERT && m == MLC_DV_UPDATE_ONLY && st == 404) {
            m = MLC_DV_UPSERT; /* deleted meanwhile */
            continue;
        }
        break;
    }
out:
    mlc_buf_free(&path);
    json_decref(clean);
    return rc;
}

enum mlc_rc mlc_dv_write_id(struct mlc_dv_session *s, const char *entity_set, const char *guid,
                            json_t *body, enum mlc_dv_mode mode, struct mlc_dv_err *e)
{
    memset(e, 0, sizeof *e);
    if (!mlc_dv_guid_valid(guid)) {
        dv_err_set(e, false, 0, "bug", "not a GUID");
        return MLC_EINVAL;
    }
    char path[300];
    snprintf(path, sizeof path, "%s(%s)", entity_set, guid);
    long st = 0;
    enum mlc_rc rc = patch(s, path, body, mode, NULL, &st, e);
    if (rc != MLC_OK && mode == MLC_DV_UPDATE_ONLY && st == 404)
        return MLC_ENOTFOUND;
    if (rc != MLC_OK && mode == MLC_DV_CREATE_ONLY && st == 412)
        return MLC_EEXISTS;
    return rc;
}

/* ---- WhoAmI, metadata, bulk support ---- */

enum mlc_rc mlc_dv_whoami(struct mlc_dv_session *s, char user_id[37], char org_id[37],
                          struct mlc_dv_err *e)
{
    struct mlc_dataverse *dv = s->dv;
    memset(e, 0, sizeof *e);
    pthread_mutex_lock(&dv->mu);
    bool known = dv->who_known;
    if (known) {
        snprintf(user_id, 37, "%s", dv->who_user);
        snprintf(org_id, 37, "%s", dv->who_org);
    }
    pthread_mutex_unlock(&dv->mu);
    if (known)
        return MLC_OK;
    json_t *j = NULL;
    if (mlc_dv_get(s, "WhoAmI", &j, e) != MLC_OK)
        return MLC_ERR;
    const char *u = json_string_value(json_object_get(j, "UserId"));
    const char *o = json_string_value(json_object_get(j, "OrganizationId"));
    if (!mlc_dv_guid_valid(u) || !mlc_dv_guid_valid(o)) {
        json_decref(j);
        dv_err_set(e, true, 200, "dataverse:garbled",
                   "WhoAmI answered without UserId/OrganizationId");
        return MLC_ERR;
    }
    pthread_mutex_lock(&dv->mu);
    snprintf(dv->who_user, sizeof dv->who_user, "%s", u);
    snprintf(dv->who_org, sizeof dv->who_org, "%s", o);
    dv->who_known = true;
    pthread_mutex_unlock(&dv->mu);
    snprintf(user_id, 37, "%s", u);
    snprintf(org_id, 37, "%s", o);
    json_decref(j);
    return MLC_OK;
}

static bool name_ok(const char *n)
{
    if (!n || !*n || strlen(n) > 100)
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return true;
}

enum mlc_rc mlc_dv_keys(struct mlc_dv_session *s, const char *logical, json_t **out,
                        struct mlc_dv_err *e)
{
    *out = NULL;
    memset(e, 0, sizeof *e);
    if (!name_ok(logical)) {
        dv_err_set(e, false, 0, "bug", "not a table name");
        return MLC_EINVAL;
    }
    char path[256];
    snprintf(path, sizeof path, "EntityDefinitions(LogicalName='%s')/Keys", logical);
    json_t *j = NULL;
    enum mlc_rc rc = mlc_dv_get(s, path, &j, e);
    if (rc != MLC_OK)
        return rc;
    json_t *v = json_object_get(j, "value");
    *out = json_is_array(v) ? json_incref(v) : json_array();
    json_decref(j);
    return MLC_OK;
}

enum mlc_rc mlc_dv_attribute(struct mlc_dv_session *s, const char *logical, const char *column,
                             json_t **out, struct mlc_dv_err *e)
{
    *out = NULL;
    memset(e, 0, sizeof *e);
    if (!name_ok(logical) || !name_ok(column)) {
        dv_err_set(e, false, 0, "bug", "not a table or column name");
        return MLC_EINVAL;
    }
    char path[300];
    snprintf(path, sizeof path, "EntityDefinitions(LogicalName='%s')/Attributes(LogicalName='%s')",
             logical, column);
    return mlc_dv_get(s, path, out, e);
}

static bool count_row(json_t *row, void *ud)
{
    (void)row;
    (*(size_t *)ud)++;
    return true;
}

enum mlc_rc mlc_dv_bulk_supported(struct mlc_dv_session *s, const char *logical, bool *yes,
                                  struct mlc_dv_err *e)
{
    struct mlc_dataverse *dv = s->dv;
    memset(e, 0, sizeof *e);
    *yes = false;
    if (!name_ok(logical)) {
        dv_err_set(e, false, 0, "bug", "not a table name");
        return MLC_EINVAL;
    }
    pthread_mutex_lock(&dv->mu);
    json_t *c = json_object_get(dv->bulk_ok, logical);
    if (c)
        *yes = json_is_true(c);
    pthread_mutex_unlock(&dv->mu);
    if (c)
        return MLC_OK;
    char key[256];
    struct mlc_redis *r = dv_session_redis(s);
    if (r) {
        mlc_queue_key(dv->q, key, sizeof key, "dataverse:bulk:%s", logical);
        const char *argv[] = {"GET", key};
        json_t *v = NULL;
        if (mlc_redis_exec(r, &v, NULL, 0, 2, argv) == MLC_OK && json_is_string(v)) {
            *yes = strcmp(json_string_value(v), "1") == 0;
            json_decref(v);
            pthread_mutex_lock(&dv->mu);
            json_object_set_new(dv->bulk_ok, logical, json_boolean(*yes));
            pthread_mutex_unlock(&dv->mu);
            return MLC_OK;
        }
        json_decref(v);
    }
    static const char *const msgs[] = {"CreateMultiple", "UpdateMultiple"};
    bool all = true;
    for (size_t i = 0; i < 2 && all; i++) {
        char filter[200];
        snprintf(filter, sizeof filter,
                 "sdkmessageid/name eq '%s' and primaryobjecttypecode eq '%s'", msgs[i], logical);
        size_t n = 0;
        if (mlc_dv_query(s, "sdkmessagefilters", "sdkmessagefilterid", filter, 10, count_row, &n,
                         NULL, e) != MLC_OK)
            return MLC_ERR;
        all = n > 0;
    }
    *yes = all;
    pthread_mutex_lock(&dv->mu);
    json_object_set_new(dv->bulk_ok, logical, json_boolean(all));
    pthread_mutex_unlock(&dv->mu);
    if (r) {
        const char *argv[] = {"SET", key, all ? "1" : "0", "EX", "3600"};
        mlc_redis_exec(r, NULL, NULL, 0, 5, argv);
    }
    mlc_log(MLC_LOG_INFO, "dataverse: %s %s UpsertMultiple", logical,
            all ? "supports" : "does not support");
    return MLC_OK;
}
