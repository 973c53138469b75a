/* Writing mapped rows to Dataverse by alternate key: one row with PATCH (create-only first for a
 * new row, so create-owned columns and the owner are set on create only), several with
 * UpsertMultiple / $batch, then the GUIDs of rows a bulk write did not name. */
#include "internal.h"
#include "mlc/log.h"

#include <stdlib.h>
#include <string.h>

static json_t *key_of(const char *keycol, long long id)
{
    char v[24];
    snprintf(v, sizeof v, "%lld", id);
    return json_pack("{s:s}", keycol, v);
}

/* Query callback: remember GUID by key. */
struct idmap {
    json_t *map;
    const char *idcol, *keycol;
};
static bool take_id(json_t *row, void *p)
{
    struct idmap *m = p;
    const char *id = json_string_value(json_object_get(row, m->idcol));
    const char *key = json_string_value(json_object_get(row, m->keycol));
    if (id && key)
        json_object_set_new(m->map, key, json_string(id));
    return true;
}

/* GUIDs of written rows a bulk write did not name: one query per 50 keys. */
static void fill_ids(struct sync_job *j, json_t *sec, struct rec *recs, size_t n)
{
    const char *set = json_string_value(json_object_get(sec, "entitySet"));
    const char *table = json_string_value(json_object_get(sec, "table"));
    const char *keycol = json_string_value(json_object_get(sec, "key"));
    char idcol[120], select[240];
    snprintf(idcol, sizeof idcol, "%sid", table);
    snprintf(select, sizeof select, "%s,%s", idcol, keycol);
    struct idmap m = {json_object(), idcol, keycol};
    size_t i = 0;
    while (i < n) {
        struct mlc_buf f;
        mlc_buf_init(&f, 1 << 16);
        size_t k = 0;
        for (; i < n && k < 50; i++) {
            struct rec *r = &recs[i];
            if ((r->act != ACT_CREATED && r->act != ACT_UPDATED) || r->dvid[0])
                continue;
            mlc_buf_printf(&f, "%s%s eq '%lld'", k ? " or " : "", keycol, r->id);
            k++;
        }
        if (k) {
            struct mlc_dv_err e;
            if (mlc_dv_query(j->w->dv, set, select, f.data, 0, take_id, &m, NULL, &e) != MLC_OK)
                mlc_log(MLC_LOG_WARN, "sync: cannot read the GUIDs of written %s rows: %s", table,
                        e.msg);
        }
        mlc_buf_free(&f);
    }
    for (i = 0; i < n; i++) {
        char key[24];
        snprintf(key, sizeof key, "%lld", recs[i].id);
        const char *id = json_string_value(json_object_get(m.map, key));
        if (!recs[i].dvid[0] && id && mlc_dv_guid_valid(id))
            snprintf(recs[i].dvid, sizeof recs[i].dvid, "%s", id);
    }
    json_decref(m.map);
}

/* Rows are created Active: an inactive state is set by an update right after the create. */
static bool inactive_on_create(const struct rec *r)
{
    return json_integer_value(json_object_get(r->payload, "statecode")) != 0;
}

static json_t *create_body(const struct rec *r)
{
    json_t *b = sync_body(r, true, true);
    if (inactive_on_create(r)) {
        json_object_del(b, "statecode");
        json_object_del(b, "statuscode");
    }
    return b;
}

static void set_state_after_create(struct sync_job *j, json_t *sec, struct rec *r)
{
    if (r->act != ACT_CREATED || !inactive_on_create(r) || !r->dvid[0])
        return;
    json_t *b = json_pack("{s:O, s:O}", "statecode", json_object_get(r->payload, "statecode"),
                          "statuscode", json_object_get(r->payload, "statuscode"));
    struct mlc_dv_err e;
    r->dv_calls++;
    if (mlc_dv_write_id(j->w->dv, json_string_value(json_object_get(sec, "entitySet")), r->dvid, b,
                        MLC_DV_UPDATE_ONLY, &e) != MLC_OK)
        sync_dv_failure(j, r, &e);
    json_decref(b);
}

static void write_one(struct sync_job *j, json_t *sec, struct rec *r)
{
    const char *set = json_string_value(json_object_get(sec, "entitySet"));
    const char *table = json_string_value(json_object_get(sec, "table"));
    json_t *key = key_of(json_string_value(json_object_get(sec, "key")), r->id);
    struct mlc_dv_err e;
    char id[37] = "";
    bool fresh = !r->dvid[0];
    enum mlc_rc rc;
    if (fresh) {
        /* create-only first: create-owned columns and the owner go in on create only */
        json_t *body = create_body(r);
        rc = mlc_dv_write(j->w->dv, table, set, key, body, MLC_DV_CREATE_ONLY, id, &e);
        r->dv_calls++;
        json_decref(body);
        if (rc == MLC_OK) {
            r->act = ACT_CREATED;
            goto done;
        }
        if (rc != MLC_EEXISTS) {
            sync_dv_failure(j, r, &e);
            goto done;
        }
    }
    json_t *body = sync_body(r, false, true);
    rc = mlc_dv_write(j->w->dv, table, set, key, body, MLC_DV_UPSERT, id, &e);
    r->dv_calls++;
    json_decref(body);
    if (rc != MLC_OK)
        sync_dv_failure(j, r, &e);
    else
        r->act = ACT_UPDATED;
done:
    if (id[0])
        snprintf(r->dvid, sizeof r->dvid, "%s", id);
    json_decref(key);
    set_state_after_create(j, sec, r);
}

static void write_pass(struct sync_job *j, json_t *sec, struct rec *recs, size_t n);

/* A create refused because of the owner (a disabled user, a deleted team, a table or an
 * environment that does not take that owner type): written without it, with an exception. */
static bool owner_refused(const struct rec *r)
{
    return r->act == ACT_FAILED && !r->err.retryable && r->err.status == 400 &&
           strstr(r->err.msg, "ownerid") && json_object_get(r->create, "ownerid@odata.bind");
}

void sync_write_rows(struct sync_job *j, json_t *sec, struct rec *recs, size_t n)
{
    /* the job's failure state before, restored when the only failures were refused owners */
    bool was_fail = j->fail, was_retry = j->retry;
    int64_t was_after = j->retry_after_ms;
    char reason[sizeof j->reason], cls[sizeof j->cls];
    memcpy(reason, j->reason, sizeof reason);
    memcpy(cls, j->cls, sizeof cls);
    write_pass(j, sec, recs, n);
    size_t again = 0;
    for (size_t i = 0; i < n; i++) {
        struct rec *r = &recs[i];
        if (!owner_refused(r))
            continue;
        json_t *v = json_object_get(r->create, "ownerid@odata.bind");
        sync_exception(r, "owner_refused", "ownerid", v, r->err.msg);
        json_object_del(r->create, "ownerid@odata.bind");
        r->act = ACT_NONE;
        memset(&r->err, 0, sizeof r->err);
        again++;
    }
    if (again) {
        bool other = false;
        for (size_t i = 0; i < n; i++)
            other |= recs[i].act == ACT_FAILED;
        if (!other) {
            j->fail = was_fail;
            j->retry = was_retry;
            j->retry_after_ms = was_after;
            memcpy(j->reason, reason, sizeof reason);
            memcpy(j->cls, cls, sizeof cls);
        }
        write_pass(j, sec, recs, n);
    }
}

static void write_pass(struct sync_job *j, json_t *sec, struct rec *recs, size_t n)
{
    size_t todo = 0;
    for (size_t i = 0; i < n; i++)
        todo += recs[i].act == ACT_NONE && !recs[i].busy;
    if (todo == 0)
        return;
    if (j->s->dry_run) {
        for (size_t i = 0; i < n; i++)
            if (recs[i].act == ACT_NONE && !recs[i].busy)
                recs[i].act = recs[i].dvid[0] ? ACT_UPDATED : ACT_CREATED;
        return;
    }
    if (todo == 1) {
        for (size_t i = 0; i < n; i++)
            if (recs[i].act == ACT_NONE && !recs[i].busy)
                write_one(j, sec, &recs[i]);
        return;
    }
    const char *set = json_string_value(json_object_get(sec, "entitySet"));
    const char *table = json_string_value(json_object_get(sec, "table"));
    const char *keycol = json_string_value(json_object_get(sec, "key"));
    struct mlc_dv_row *rows = mlc_calloc(todo, sizeof *rows);
    size_t *which = mlc_calloc(todo, sizeof *which);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].act != ACT_NONE || recs[i].busy)
            continue;
        rows[k].key = key_of(keycol, recs[i].id);
        rows[k].body = recs[i].dvid[0] ? sync_body(&recs[i], false, true) : create_body(&recs[i]);
        which[k++] = i;
    }
    struct mlc_dv_err e;
    memset(&e, 0, sizeof e);
    enum mlc_rc rc = mlc_dv_upsert_rows(j->w->dv, table, set, rows, k, &e);
    int chunk = mlc_dv_settings_get(j->s->dv)->bulk_chunk;
    int per =
        (int)((k + (size_t)(chunk > 0 ? chunk : 200) - 1) / (size_t)(chunk > 0 ? chunk : 200));
    for (size_t x = 0; x < k; x++) {
        struct rec *r = &recs[which[x]];
        r->dv_calls = per; /* the chunk's requests, shared by its rows */
        if (rows[x].done) {
            r->act = r->dvid[0] ? ACT_UPDATED : ACT_CREATED;
            if (rows[x].id[0] && mlc_dv_guid_valid(rows[x].id))
                snprintf(r->dvid, sizeof r->dvid, "%s", rows[x].id);
        } else if (rc != MLC_OK && !rows[x].err.msg[0]) {
            sync_dv_failure(j, r, &e);
        } else {
            sync_dv_failure(j, r, &rows[x].err);
        }
        json_decref(rows[x].key);
        json_decref(rows[x].body);
    }
    free(rows);
    free(which);
    fill_ids(j, sec, recs, n);
    for (size_t i = 0; i < n; i++)
        set_state_after_create(j, sec, &recs[i]);
}
