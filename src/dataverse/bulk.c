/* Bulk writes of one table: UpsertMultiple where the table has it (key columns out of the targets,
 * binds by key resolved to GUIDs per chunk where Targets refuse them), else $batch; an
 * all-or-nothing failure split to isolate the bad row; duplicate keys retried as updates. */
#include "internal.h"
#include "mlc/log.h"
#include "mlc/metrics.h"
#include "mlc/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct work {
    struct mlc_dv_row *row;
    json_t *body; /* the target's columns: key columns removed, binds maybe resolved (owned) */
};

json_t *dv_upsert_multiple_body(const char *logical, const char *entity_set,
                                struct mlc_dv_row *const *rows, size_t n)
{
    json_t *targets = json_array();
    char type[160];
    snprintf(type, sizeof type, "Microsoft.Dynamics.CRM.%s", logical);
    for (size_t i = 0; i < n; i++) {
        json_t *t = dv_body_without_key(rows[i]->body, rows[i]->key);
        struct mlc_buf id;
        mlc_buf_init(&id, 8192);
        mlc_buf_printf(&id, "%s", entity_set);
        mlc_dv_key_segment(rows[i]->key, false, &id);
        json_object_set_new(t, "@odata.type", json_string(type));
        json_object_set_new(t, "@odata.id", json_string(id.data ? id.data : ""));
        mlc_buf_free(&id);
        json_array_append_new(targets, t);
    }
    return json_pack("{s:o}", "Targets", targets);
}

static void rows_metric(struct mlc_dataverse *dv, const char *path, const char *outcome, size_t n)
{
    if (!dv->metrics || !n)
        return;
    char l[80];
    snprintf(l, sizeof l, "path=\"%s\",outcome=\"%s\"", path, outcome);
    mlc_metrics_add(dv->metrics, "mlc_dataverse_rows_total", l, (double)n);
}

/* ---- binds by key -> GUID (one query per chunk and target table/column) ---- */

static bool bind_by_key(const char *k, json_t *v)
{
    const char *at = strstr(k, "@odata.bind");
    const char *s = json_string_value(v);
    return at && at[11] == '\0' && s && strchr(s, '=') && s[0] != '$';
}

static bool collect(json_t *row, void *ud)
{
    json_array_append(ud, row);
    return true;
}

static enum mlc_rc resolve_binds(struct mlc_dv_session *s, struct work *w, size_t n,
                                 struct mlc_dv_err *e)
{
    /* groups: "set|col" -> {value: guid} */
    json_t *groups = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *k;
        json_t *v;
        json_object_foreach(w[i].body, k, v)
        {
            if (!bind_by_key(k, v))
                continue;
            char set[128];
            json_t *key = NULL;
            if (!dv_path_key(json_string_value(v), set, sizeof set, &key))
                continue;
            if (json_object_size(key) == 1) {
                const char *col = json_object_iter_key(json_object_iter(key));
                json_t *val = json_object_iter_value(json_object_iter(key));
                char g[300];
                snprintf(g, sizeof g, "%s|%s", set, col);
                json_t *grp = json_object_get(groups, g);
                if (!grp) {
                    grp = json_object();
                    json_object_set_new(groups, g, grp);
                }
                if (json_is_string(val))
                    json_object_set_new(grp, json_string_value(val), json_null());
            }
            json_decref(key);
        }
    }
    const char *g;
    json_t *grp;
    enum mlc_rc rc = MLC_OK;
    json_object_foreach(groups, g, grp)
    {
        char set[128], col[128], idcol[140];
        const char *bar = strchr(g, '|');
        snprintf(set, sizeof set, "%.*s", (int)(bar - g), g);
        snprintf(col, sizeof col, "%s", bar + 1);
        dv_id_column(set, idcol, sizeof idcol);
        /* values in groups of 100 keep the URL short */
        const char *val;
        json_t *unused;
        void *it = json_object_iter(grp);
        while (it && rc == MLC_OK) {
            struct mlc_buf f;
            mlc_buf_init(&f, 65536);
            int cnt = 0;
            for (; it && cnt < 100; it = json_object_iter_next(grp, it), cnt++) {
                val = json_object_iter_key(it);
                if (f.len)
                    mlc_buf_printf(&f, " or ");
                mlc_buf_printf(&f, "%s eq ", col);
                mlc_dv_odata_string(val, false, &f);
            }
            char sel[300];
            snprintf(sel, sizeof sel, "%s,%s", idcol, col);
            json_t *rows = json_array();
            rc = mlc_dv_query(s, set, sel, f.data ? f.data : "", 5000, collect, rows, NULL, e);
            mlc_buf_free(&f);
            for (size_t i = 0; i < json_array_size(rows); i++) {
                json_t *r = json_array_get(rows, i);
                const char *kv = json_string_value(json_object_get(r, col));
                const char *id = json_string_value(json_object_get(r, idcol));
                if (kv && id && mlc_dv_guid_valid(id))
                    json_object_set_new(grp, kv, json_string(id));
            }
            json_decref(rows);
        }
        (void)unused;
    }
    /* rewrite the binds that resolved */
    for (size_t i = 0; i < n && rc == MLC_OK; i++) {
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(w[i].body, tmp, k, v)
        {
            if (!bind_by_key(k, v))
                continue;
            char set[128];
            json_t *key = NULL;
            if (!dv_path_key(json_string_value(v), set, sizeof set, &key))
                continue;
            if (json_object_size(key) == 1) {
                const char *col = json_object_iter_key(json_object_iter(key));
                json_t *val = json_object_iter_value(json_object_iter(key));
                char gk[300];
                snprintf(gk, sizeof gk, "%s|%s", set, col);
                const char *id = json_string_value(
                    json_object_get(json_object_get(groups, gk), json_string_value(val)));
                if (id) {
                    char ref[200];
                    mlc_dv_bind_id(set, id, ref, sizeof ref);
                    json_object_set_new(w[i].body, k, json_string(ref));
                }
            }
            json_decref(key);
        }
    }
    json_decref(groups);
    return rc;
}

/* "... (Targets[12])" -> 12; -1 when absent. */
static long target_index(const char *msg)
{
    const char *p = msg ? strstr(msg, "Targets[") : NULL;
    if (!p)
        return -1;
    char *end = NULL;
    long v = strtol(p + 8, &end, 10);
    return end && *end == ']' && v >= 0 ? v : -1;
}

static bool refuses_bind_by_key(const struct mlc_dv_err *e)
{
    return e->status == 400 && strstr(e->msg, "alternate key") &&
           (strstr(e->msg, "bind") || strstr(e->msg, "Bind")) && strstr(e->msg, "Targets");
}

/* One UpsertMultiple call for w[0..n). Failing rows are isolated recursively. */
static enum mlc_rc bulk_call(struct mlc_dv_session *s, const char *logical, const char *set,
                             struct work *w, size_t n, struct mlc_dv_err *e)
{
    struct mlc_dataverse *dv = s->dv;
    if (n == 0)
        return MLC_OK;
    json_t *targets = json_array();
    char type[160];
    snprintf(type, sizeof type, "Microsoft.Dynamics.CRM.%s", logical);
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_copy(w[i].body);
        struct mlc_buf id;
        mlc_buf_init(&id, 8192);
        mlc_buf_printf(&id, "%s", set);
        mlc_dv_key_segment(w[i].row->key, false, &id);
        json_object_set_new(t, "@odata.type", json_string(type));
        json_object_set_new(t, "@odata.id", json_string(id.data ? id.data : ""));
        mlc_buf_free(&id);
        json_array_append_new(targets, t);
    }
    json_t *body = json_pack("{s:o}", "Targets", targets);
    char *payload = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char path[200];
    snprintf(path, sizeof path, "%s/Microsoft.Dynamics.CRM.UpsertMultiple", set);
    struct dv_req r = {.method = "POST",
                       .url = path,
                       .body = payload,
                       .body_len = strlen(payload),
                       .endpoint = "upsert_multiple",
                       .weight = 1};
    struct mlc_net_response resp;
    atomic_fetch_add(&dv->bulk_calls, 1);
    enum mlc_rc rc = dv_request(s, &r, &resp, e);
    free(payload);
    if (rc != MLC_OK)
        return MLC_ERR;
    long st = resp.status;
    if (st >= 200 && st < 300) {
        mlc_net_response_free(&resp);
        for (size_t i = 0; i < n; i++) {
            w[i].row->done = true;
            memset(&w[i].row->err, 0, sizeof w[i].row->err);
        }
        rows_metric(dv, "upsert_multiple", "written", n);
        return MLC_OK;
    }
    struct mlc_dv_err fe;
    memset(&fe, 0, sizeof fe);
    mlc_dv_error_parse(st, resp.body.data, resp.body.len, &fe);
    mlc_net_response_free(&resp);
    if (st == 401 || fe.retryable) {
        *e = fe;
        e->retryable = true;
        return MLC_ERR;
    }
    pthread_mutex_lock(&dv->mu);
    bool known = json_is_true(json_object_get(dv->bind_refused, logical));
    pthread_mutex_unlock(&dv->mu);
    if (!known && refuses_bind_by_key(&fe)) {
        mlc_log(MLC_LOG_INFO,
                "dataverse: %s bulk Targets refuse binding by key; resolving GUIDs "
                "per chunk",
                logical);
        pthread_mutex_lock(&dv->mu);
        json_object_set_new(dv->bind_refused, logical, json_true());
        pthread_mutex_unlock(&dv->mu);
        atomic_fetch_add(&dv->fallbacks, 1);
        if (resolve_binds(s, w, n, e) != MLC_OK)
            return MLC_ERR;
        return bulk_call(s, logical, set, w, n, e);
    }
    /* all or nothing: isolate the bad row */
    if (n == 1) {
        w[0].row->done = false;
        w[0].row->err = fe;
        rows_metric(dv, "upsert_multiple", "failed", 1);
        return MLC_OK;
    }
    atomic_fetch_add(&dv->splits, 1);
    long bad = target_index(fe.msg);
    if (bad >= 0 && (size_t)bad < n) {
        /* the error names the row: it fails alone, the others go again without it */
        struct work one = w[bad];
        one.row->done = false;
        one.row->err = fe;
        rows_metric(dv, "upsert_multiple", "failed", 1);
        if (bulk_call(s, logical, set, w, (size_t)bad, e) != MLC_OK)
            return MLC_ERR;
        return bulk_call(s, logical, set, w + bad + 1, n - (size_t)bad - 1, e);
    }
    size_t half = n / 2;
    if (bulk_call(s, logical, set, w, half, e) != MLC_OK)
        return MLC_ERR;
    return bulk_call(s, logical, set, w + half, n - half, e);
}

static bool is_dup(const struct mlc_dv_err *e)
{
    return e->status == 412 && strcmp(e->code, "0x80040237") == 0;
}

/* $batch for w[0..n): one upsert part per row, continue-on-error; duplicate keys and parts left
 * unanswered are sent again (duplicates as updates). */
static enum mlc_rc batch_call(struct mlc_dv_session *s, const char *logical, const char *set,
                              struct work *w, size_t n, struct mlc_dv_err *e)
{
    struct mlc_dataverse *dv = s->dv;
    struct mlc_dv_op *ops = mlc_calloc(n ? n : 1, sizeof *ops);
    char **paths = mlc_calloc(n ? n : 1, sizeof *paths);
    size_t *idx = mlc_calloc(n ? n : 1, sizeof *idx);
    bool *update = mlc_calloc(n ? n : 1, sizeof *update);
    bool *pending = mlc_calloc(n ? n : 1, sizeof *pending);
    enum mlc_rc rc = MLC_OK;
    for (size_t i = 0; i < n; i++) {
        pending[i] = true;
        if (!mlc_dv_key_url_safe(w[i].row->key)) {
            /* a key the request line cannot carry: written on its own through the fallback */
            char id[37];
            struct mlc_dv_err we;
            enum mlc_rc wr =
                mlc_dv_write(s, logical, set, w[i].row->key, w[i].body, MLC_DV_UPSERT, id, &we);
            pending[i] = false;
            if (wr == MLC_OK) {
                w[i].row->done = true;
                snprintf(w[i].row->id, sizeof w[i].row->id, "%s", id);
            } else {
                w[i].row->err = we;
                if (we.retryable) {
                    *e = we;
                    rc = MLC_ERR;
                    goto out;
                }
            }
            continue;
        }
        struct mlc_buf p;
        mlc_buf_init(&p, 8192);
        mlc_buf_printf(&p, "%s", set);
        mlc_dv_key_segment(w[i].row->key, true, &p);
        paths[i] = p.data;
    }
    for (int round = 0; round < 5; round++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (!pending[i])
                continue;
            ops[m] = (struct mlc_dv_op){.method = "PATCH",
                                        .path = paths[i],
                                        .body = w[i].body,
                                        .if_match = update[i] ? "*" : NULL};
            idx[m++] = i;
        }
        if (m == 0)
            break;
        if (round > 0)
            mlc_sleep_ms(50 * round + (int64_t)(mlc_rand_u64() % 50));
        if (mlc_dv_batch(s, ops, m, e) != MLC_OK) {
            rc = MLC_ERR;
            break;
        }
        for (size_t k = 0; k < m; k++) {
            struct mlc_dv_op *op = &ops[k];
            size_t i = idx[k];
            if (op->status >= 200 && op->status < 300) {
                pending[i] = false;
                w[i].row->done = true;
                snprintf(w[i].row->id, sizeof w[i].row->id, "%s", op->id);
                rows_metric(dv, "batch", "written", 1);
            } else if (op->status == 0 || op->err.retryable) {
                w[i].row->err = op->err; /* sent again next round */
                if (op->status == 0)
                    dv_err_set(&w[i].row->err, true, 0, "dataverse:batch_unanswered",
                               "the $batch answer had no part for this row");
            } else if (is_dup(&op->err) && !update[i]) {
                update[i] = true; /* a concurrent create won: update that row */
                atomic_fetch_add(&dv->dup_retries, 1);
            } else if (update[i] && op->status == 404) {
                update[i] = false; /* deleted meanwhile: upsert again */
            } else {
                pending[i] = false;
                w[i].row->err = op->err;
                rows_metric(dv, "batch", "failed", 1);
            }
            json_decref(op->resp);
            op->resp = NULL;
        }
    }
    for (size_t i = 0; i < n && rc == MLC_OK; i++)
        if (pending[i]) {
            *e = w[i].row->err;
            e->retryable = true;
            rc = MLC_ERR;
        }
out:
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    free(ops);
    free(idx);
    free(update);
    free(pending);
    return rc;
}

enum mlc_rc mlc_dv_upsert_rows(struct mlc_dv_session *s, const char *logical,
                               const char *entity_set, struct mlc_dv_row *rows, size_t n,
                               struct mlc_dv_err *e)
{
    struct mlc_dataverse *dv = s->dv;
    memset(e, 0, sizeof *e);
    for (size_t i = 0; i < n; i++) {
        rows[i].done = false;
        rows[i].id[0] = '\0';
        memset(&rows[i].err, 0, sizeof rows[i].err);
    }
    bool bulk = false;
    if (mlc_dv_bulk_supported(s, logical, &bulk, e) != MLC_OK) {
        for (size_t i = 0; i < n; i++)
            rows[i].err = *e;
        return MLC_ERR;
    }
    size_t chunk = (size_t)dv->set.bulk_chunk;
    struct work *w = mlc_calloc(chunk, sizeof *w);
    enum mlc_rc rc = MLC_OK;
    for (size_t start = 0; start < n && rc == MLC_OK; start += chunk) {
        size_t m = n - start < chunk ? n - start : chunk;
        for (size_t i = 0; i < m; i++) {
            w[i].row = &rows[start + i];
            w[i].body = dv_body_without_key(rows[start + i].body, rows[start + i].key);
        }
        if (bulk) {
            pthread_mutex_lock(&dv->mu);
            bool refused = json_is_true(json_object_get(dv->bind_refused, logical));
            pthread_mutex_unlock(&dv->mu);
            if (refused)
                rc = resolve_binds(s, w, m, e);
            if (rc == MLC_OK)
                rc = bulk_call(s, logical, entity_set, w, m, e);
        } else {
            rc = batch_call(s, logical, entity_set, w, m, e);
        }
        for (size_t i = 0; i < m; i++)
            json_decref(w[i].body);
    }
    free(w);
    if (rc != MLC_OK)
        for (size_t i = 0; i < n; i++)
            if (!rows[i].done && !rows[i].err.msg[0])
                rows[i].err = *e;
    return rc;
}
