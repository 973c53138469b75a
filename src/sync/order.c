/* Sales orders -> salesorders with their lines: bound to the account by key (the customer synced
 * first when missing), price list by currency, NetSuite's total and status kept, lines keyed by
 * NetSuite's uniquekey (read and diffed per order, written by GUID in $batch, removed when gone),
 * products by SKU then item ID with a write-in fallback, the close action for final statuses. */
#include "internal.h"
#include "mlc/log.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct line {
    char key[40];
    json_t *body;   /* columns written on every change */
    json_t *create; /* columns written when the line is created */
    char hash[65];
};

/* Maps one NetSuite line. Returns false for a line the mapping skips. */
static bool map_line(struct sync_job *j, json_t *lsec, json_t *nsl, struct rec *order,
                     struct line *out)
{
    const struct mlc_mapping *m = j->s->mapping;
    char sku[256] = "", item[32] = "";
    sync_text(json_object_get(nsl, "sku"), sku, sizeof sku);
    sync_text(json_object_get(nsl, "item"), item, sizeof item);
    const char *special =
        json_string_value(json_object_get(json_object_get(lsec, "specialLines"), sku));
    if (special && strcmp(special, "skip") == 0)
        return false;
    sync_text(sync_path_get(nsl, json_string_value(json_object_get(lsec, "keyField"))), out->key,
              sizeof out->key);
    /* the line's own exceptions are the order's, named by line key */
    struct rec lr = {.ns = nsl};
    sync_map_columns(m, lsec, &lr);
    out->body = lr.payload;
    out->create = lr.create;
    lr.payload = lr.create = NULL;
    bool found = false;
    if (!special) {
        size_t i;
        json_t *by;
        json_array_foreach(json_object_get(lsec, "productBy"), i, by)
        {
            const char *what = json_string_value(by);
            const char *val = strcmp(what, "sku") == 0 ? sku : item;
            const char *col =
                json_string_value(json_object_get(json_object_get(lsec, "productColumns"), what));
            char pid[37], uom[37] = "";
            struct mlc_dv_err e;
            if (!val[0] || mlc_dv_product_by(j->w->dv, col, val, pid, uom, &e) != MLC_OK)
                continue;
            char bind[80];
            mlc_dv_bind_id("products", pid, bind, sizeof bind);
            json_object_set_new(out->body, "productid@odata.bind", json_string(bind));
            if (uom[0] && mlc_dv_guid_valid(uom)) {
                mlc_dv_bind_id("uoms", uom, bind, sizeof bind);
                json_object_set_new(out->body, "uomid@odata.bind", json_string(bind));
            }
            json_object_set_new(out->create, "isproductoverridden", json_false());
            found = true;
            break;
        }
        if (!found) {
            json_t *v = json_string(sku[0] ? sku : item);
            char d[96];
            snprintf(d, sizeof d, "line %s: no product with this SKU or item ID; written in",
                     out->key);
            sync_exception(order, "unknown_product", "productid", v, d);
            json_decref(v);
        }
    }
    if (!found) {
        json_object_set_new(out->create, "isproductoverridden", json_true());
        json_object_set_new(out->create, "productdescription",
                            json_string(sku[0]    ? sku
                                        : item[0] ? item
                                                  : "NetSuite item"));
    }
    json_object_set_new(out->body, "ispriceoverridden", json_true());
    if (lr.exc) {
        size_t i;
        json_t *e;
        json_array_foreach(lr.exc, i, e)
            json_array_append(order->exc ? order->exc : (order->exc = json_array()), e);
    }
    rec_clear(&lr);
    json_t *all = json_pack("{s:O, s:O}", "b", out->body, "c", out->create);
    sync_hash(all, mlc_mapping_version(m), out->hash);
    json_decref(all);
    return true;
}

static void lines_free(struct line *ls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(ls[i].body);
        json_decref(ls[i].create);
    }
    free(ls);
}

struct existing {
    json_t *map; /* key -> {id, hash} */
    const char *keycol;
};
static bool take_line(json_t *row, void *p)
{
    struct existing *x = p;
    const char *k = json_string_value(json_object_get(row, x->keycol));
    const char *id = json_string_value(json_object_get(row, "salesorderdetailid"));
    const char *h = json_string_value(json_object_get(row, "mlc_syncstatehash"));
    if (id)
        json_object_set_new(x->map, k ? k : id,
                            json_pack("{s:s, s:s}", "id", id, "hash", h ? h : ""));
    return true;
}

/* Whether the line key is an Active alternate key (then lines go through UpsertMultiple, one
 * counted request per chunk); checked once a process, again after 5 minutes when it was not. */
static bool line_key_active(struct sync_job *j, const char *table, const char *keycol)
{
    struct mlc_sync *s = j->s;
    int64_t now = mlc_mono_ms();
    int known = atomic_load(&s->line_key);
    if (known == 1 || (known == 2 && now - atomic_load(&s->line_key_at) < 300000))
        return known == 1;
    json_t *keys = NULL;
    struct mlc_dv_err e;
    bool active = false;
    if (mlc_dv_keys(j->w->dv, table, &keys, &e) == MLC_OK) {
        size_t i;
        json_t *k;
        json_array_foreach(keys, i, k)
        {
            json_t *attrs = json_object_get(k, "KeyAttributes");
            const char *st = json_string_value(json_object_get(k, "EntityKeyIndexStatus"));
            if (json_array_size(attrs) == 1 &&
                strcmp(json_string_value(json_array_get(attrs, 0))
                           ? json_string_value(json_array_get(attrs, 0))
                           : "",
                       keycol) == 0 &&
                st && strcmp(st, "Active") == 0)
                active = true;
        }
        json_decref(keys);
        atomic_store(&s->line_key, active ? 1 : 2);
        atomic_store(&s->line_key_at, now);
    }
    return active;
}

/* Upserts lines by their key with UpsertMultiple (or $batch where the table has none). */
static bool upsert_lines(struct sync_job *j, const char *table, const char *set, const char *keycol,
                         struct mlc_dv_op *ops, size_t n, struct rec *r)
{
    if (n == 0)
        return true;
    struct mlc_dv_row *rows = mlc_calloc(n, sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        rows[i].key = json_pack("{s:O}", keycol, json_object_get(ops[i].body, keycol));
        rows[i].body = ops[i].body;
    }
    struct mlc_dv_err e;
    memset(&e, 0, sizeof e);
    enum mlc_rc rc = mlc_dv_upsert_rows(j->w->dv, table, set, rows, n, &e);
    int chunk = mlc_dv_settings_get(j->s->dv)->bulk_chunk;
    r->dv_calls +=
        (int)((n + (size_t)(chunk > 0 ? chunk : 200) - 1) / (size_t)(chunk > 0 ? chunk : 200));
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].done) {
            sync_dv_failure(j, r, rows[i].err.msg[0] || rc == MLC_OK ? &rows[i].err : &e);
            ok = false;
        }
        json_decref(rows[i].key);
    }
    free(rows);
    return ok;
}

/* Brings the order's lines in Dataverse in step with ls: unchanged lines are not touched. */
static bool write_lines(struct sync_job *j, json_t *lsec, struct rec *r, struct line *ls, size_t nl)
{
    const char *set = json_string_value(json_object_get(lsec, "entitySet"));
    const char *keycol = json_string_value(json_object_get(lsec, "key"));
    const char *nav =
        json_string_value(json_object_get(json_object_get(lsec, "order"), "navigation"));
    json_t *osec = mlc_mapping_section(j->s->mapping, MLC_MAP_ORDER);
    char filter[120], select[200];
    snprintf(filter, sizeof filter, "_%s_value eq %s", nav, r->dvid);
    snprintf(select, sizeof select, "salesorderdetailid,%s,mlc_syncstatehash", keycol);
    struct existing ex = {json_object(), keycol};
    struct mlc_dv_err e;
    size_t pages = 0;
    bool ok = true;
    if (mlc_dv_query(j->w->dv, set, select, filter, 0, take_line, &ex, &pages, &e) != MLC_OK) {
        r->dv_calls += (int)pages;
        sync_dv_failure(j, r, &e);
        json_decref(ex.map);
        return false;
    }
    r->dv_calls += (int)pages;
    size_t cap = nl + json_object_size(ex.map) + 1, nops = 0;
    struct mlc_dv_op *ops = mlc_calloc(cap, sizeof *ops);
    char **paths = mlc_calloc(cap, sizeof *paths);
    json_t **bodies = mlc_calloc(cap, sizeof *bodies);
    char obind[80];
    mlc_dv_bind_id(json_string_value(json_object_get(osec, "entitySet")), r->dvid, obind,
                   sizeof obind);
    char navprop[140];
    snprintf(navprop, sizeof navprop, "%s@odata.bind", nav);
    for (size_t i = 0; i < nl; i++) {
        json_t *have = json_object_get(ex.map, ls[i].key);
        paths[nops] = mlc_malloc(160);
        if (have) {
            const char *h = json_string_value(json_object_get(have, "hash"));
            bool same = h && strcmp(h, ls[i].hash) == 0 && !j->force; /* forced: rewrite */
            snprintf(paths[nops], 160, "%s(%s)", set,
                     json_string_value(json_object_get(have, "id")));
            json_object_del(ex.map, ls[i].key); /* what remains afterwards is deleted */
            if (same) {
                free(paths[nops]);
                paths[nops] = NULL;
                continue;
            }
            bodies[nops] = json_deep_copy(ls[i].body);
            ops[nops].method = "PATCH";
            ops[nops].if_match = "*";
        } else {
            snprintf(paths[nops], 160, "%s", set);
            bodies[nops] = json_deep_copy(ls[i].body);
            json_object_update(bodies[nops], ls[i].create);
            json_object_set_new(bodies[nops], navprop, json_string(obind));
            ops[nops].method = "POST";
        }
        json_object_set_new(bodies[nops], "mlc_syncstatehash", json_string(ls[i].hash));
        json_object_set_new(bodies[nops], keycol, json_string(ls[i].key));
        ops[nops].path = paths[nops];
        ops[nops].body = bodies[nops];
        nops++;
    }
    const char *k;
    json_t *v;
    json_object_foreach(ex.map, k, v)
    {
        paths[nops] = mlc_malloc(160);
        snprintf(paths[nops], 160, "%s(%s)", set, json_string_value(json_object_get(v, "id")));
        ops[nops].method = "DELETE";
        ops[nops].path = paths[nops];
        nops++;
    }
    size_t at0 = 0;
    const char *ltable = json_string_value(json_object_get(lsec, "table"));
    if (line_key_active(j, ltable, keycol)) {
        /* writes by key in bulk (the key column is in every body); only deletes go to $batch */
        size_t nw = 0;
        while (nw < nops && strcmp(ops[nw].method, "DELETE") != 0)
            nw++;
        ok = upsert_lines(j, ltable, set, keycol, ops, nw, r);
        at0 = nw;
    }
    int chunk = mlc_dv_settings_get(j->s->dv)->bulk_chunk;
    if (chunk <= 0)
        chunk = 200;
    for (size_t at = at0; ok && at < nops; at += (size_t)chunk) {
        size_t cnt = nops - at < (size_t)chunk ? nops - at : (size_t)chunk;
        if (mlc_dv_batch(j->w->dv, ops + at, cnt, &e) != MLC_OK) {
            r->dv_calls++;
            sync_dv_failure(j, r, &e);
            ok = false;
            break;
        }
        r->dv_calls++;
        for (size_t x = at; x < at + cnt; x++) {
            long st = ops[x].status;
            bool gone = strcmp(ops[x].method, "DELETE") == 0 && st == 404;
            if ((st < 200 || st > 299) && !gone) {
                sync_dv_failure(j, r, &ops[x].err);
                ok = false;
            }
        }
    }
    for (size_t x = 0; x < nops; x++) {
        json_decref(ops[x].resp);
        json_decref(bodies[x]);
        free(paths[x]);
    }
    free(ops);
    free(paths);
    free(bodies);
    json_decref(ex.map);
    return ok;
}

static long long id_text(json_t *v)
{
    char t[24];
    uint64_t u;
    if (!sync_text(v, t, sizeof t) || mlc_parse_u64(t, &u) != MLC_OK || u > (uint64_t)LLONG_MAX)
        return 0;
    return (long long)u;
}

/* Header binds: account by key, currency (on create) and price list by the order's currency. */
static bool bind_header(struct sync_job *j, json_t *sec, struct rec *r, bool customer_ok)
{
    const char *nav =
        json_string_value(json_object_get(json_object_get(sec, "customer"), "navigation"));
    long long cust = id_text(sync_path_get(
        r->ns, json_string_value(json_object_get(json_object_get(sec, "customer"), "field"))));
    char prop[140];
    snprintf(prop, sizeof prop, "%s@odata.bind", nav);
    if (!customer_ok || cust <= 0) {
        json_t *v = json_integer(cust);
        sync_exception(r, "customer_not_synced", nav, v,
                       "the order's customer is not in Dataverse (filtered out or failed)");
        json_decref(v);
        return false;
    }
    char *b = sync_bind_key(j->s->mapping, MLC_MAP_CUSTOMER, cust);
    json_object_set_new(r->payload, prop, json_string(b ? b : ""));
    free(b);
    char iso[16] = "", cur[37], pl[37], bind[80];
    struct mlc_dv_err e;
    sync_text(sync_path_get(r->ns, json_string_value(json_object_get(sec, "currencyField"))), iso,
              sizeof iso);
    json_t *isov = json_string(iso);
    bool ok = false;
    if (!iso[0] || mlc_dv_currency_by_iso(j->w->dv, iso, cur, &e) != MLC_OK) {
        sync_exception(r, "unknown_currency", "transactioncurrencyid", isov,
                       "no Dataverse currency with this ISO code");
    } else if (mlc_dv_pricelist_by_currency(j->w->dv, cur, pl, &e) != MLC_OK) {
        sync_exception(r, "no_price_list", "pricelevelid", isov,
                       "no price list for the order's currency");
    } else {
        mlc_dv_bind_id("transactioncurrencies", cur, bind, sizeof bind);
        json_object_set_new(r->create, "transactioncurrencyid@odata.bind", json_string(bind));
        mlc_dv_bind_id("pricelevels", pl, bind, sizeof bind);
        json_object_set_new(r->payload, "pricelevelid@odata.bind", json_string(bind));
        ok = true;
    }
    json_decref(isov);
    return ok;
}

/* NetSuite total and status: the status label column, statuscode while open; *close_status and
 * *cancel for final statuses (0: not final). */
static void map_status(json_t *sec, struct rec *r, int *close_status, bool *cancel)
{
    char total[64], code[16] = "", label[128];
    *close_status = 0;
    *cancel = false;
    if (sync_text(sync_path_get(r->ns, json_string_value(json_object_get(sec, "totalField"))),
                  total, sizeof total))
        json_object_set_new(r->payload, json_string_value(json_object_get(sec, "totalColumn")),
                            json_real(strtod(total, NULL)));
    sync_text(sync_path_get(r->ns, json_string_value(json_object_get(sec, "statusField"))), code,
              sizeof code);
    if (sync_text(sync_path_get(r->ns, json_string_value(json_object_get(sec, "statusLabelField"))),
                  label, sizeof label)) {
        /* "Sales Order : Pending Billing" -> "Pending Billing" */
        const char *l = strstr(label, " : ");
        json_object_set_new(r->payload, json_string_value(json_object_get(sec, "statusColumn")),
                            json_string(l ? l + 3 : label));
    }
    json_t *st = json_object_get(json_object_get(sec, "statuses"), code);
    if (!st) {
        json_t *v = json_string(code);
        sync_exception(r, "unknown_value", "statuscode", v, "no entry in statuses");
        json_decref(v);
        return;
    }
    json_object_set_new(r->payload, "statecode", json_integer(0));
    json_object_set_new(r->payload, "statuscode",
                        json_integer(json_integer_value(json_object_get(st, "statuscode"))));
    const char *close = json_string_value(json_object_get(st, "close"));
    if (close) {
        *close_status = (int)json_integer_value(json_object_get(st, "closeStatus"));
        *cancel = strcmp(close, "cancel") == 0;
    }
}

static void sync_one_order(struct sync_job *j, struct rec *r, bool customer_ok)
{
    struct mlc_sync *s = j->s;
    json_t *sec = mlc_mapping_section(s->mapping, MLC_MAP_ORDER);
    json_t *lsec = mlc_mapping_section(s->mapping, MLC_MAP_LINE);
    r->nslm = (int64_t)json_integer_value(json_object_get(r->ns, "lastModifiedMs"));
    sync_map_columns(s->mapping, sec, r);
    int close_status;
    bool cancel;
    map_status(sec, r, &close_status, &cancel);
    if (!bind_header(j, sec, r, customer_ok)) {
        r->act = ACT_FAILED;
        r->err.retryable = j->retry;
        snprintf(r->err.msg, sizeof r->err.msg, "%s",
                 json_string_value(json_object_get(
                     json_array_get(r->exc, json_array_size(r->exc) - 1), "detail")));
        if (!j->retry)
            sync_job_error(j, false, 0, "order dependencies", "order %lld: %s", r->id, r->err.msg);
        return;
    }
    json_t *nsl = json_object_get(r->ns, "lines");
    size_t nl = 0;
    struct line *ls = mlc_calloc(json_array_size(nsl) + 1, sizeof *ls);
    size_t i;
    json_t *l;
    json_t *hashes = json_array();
    json_array_foreach(nsl, i, l)
    {
        if (map_line(j, lsec, l, r, &ls[nl])) {
            json_array_append_new(hashes, json_string(ls[nl].hash));
            nl++;
        }
    }
    json_t *all = json_pack("{s:O, s:O, s:o}", "h", r->payload, "c", r->create, "l", hashes);
    sync_hash(all, mlc_mapping_version(s->mapping), r->hash);
    json_decref(all);
    bool closed = json_object_get(r->st, "closed") != NULL;
    sync_decide(j, r);
    if (r->act == ACT_NONE && closed) {
        /* Dataverse locks closed orders: report instead of failing on every change */
        sync_exception(r, "order_closed", "statecode", NULL,
                       "the order is closed in Dataverse; NetSuite changed it afterwards");
        r->act = ACT_UNCHANGED;
    }
    if (r->act != ACT_NONE)
        goto out;
    bool was_failed = j->fail;
    char reason[sizeof j->reason], cls[sizeof j->cls];
    memcpy(reason, j->reason, sizeof reason);
    memcpy(cls, j->cls, sizeof cls);
    sync_write_rows(j, sec, r, 1);
    if (r->act == ACT_FAILED && strcmp(r->err.code, "0x80043e09") == 0) {
        /* read only: closed in Dataverse already (the state that said so was lost) */
        sync_exception(r, "order_closed", "statecode", NULL,
                       "the order is closed in Dataverse; NetSuite changed it afterwards");
        r->act = ACT_UNCHANGED;
        r->extra = json_pack("{s:s}", "closed", "1");
        j->fail = was_failed;
        memcpy(j->reason, reason, sizeof reason);
        memcpy(j->cls, cls, sizeof cls);
        goto out;
    }
    if (r->act != ACT_CREATED && r->act != ACT_UPDATED)
        goto out;
    if (s->dry_run)
        goto out;
    if (!r->dvid[0] || !write_lines(j, lsec, r, ls, nl)) {
        if (r->act != ACT_FAILED) {
            struct mlc_dv_err e = {.retryable = true};
            snprintf(e.msg, sizeof e.msg, "the order's GUID is unknown after the write");
            sync_dv_failure(j, r, &e);
        }
        goto out;
    }
    if (close_status) {
        char subject[80];
        snprintf(subject, sizeof subject, "NetSuite order %lld %s", r->id,
                 cancel ? "cancelled" : "fulfilled");
        struct mlc_dv_err e;
        r->dv_calls++;
        if (mlc_dv_order_close(j->w->dv, r->dvid, cancel, close_status, subject, &e) != MLC_OK) {
            sync_dv_failure(j, r, &e);
            goto out;
        }
        r->extra = json_pack("{s:s}", "closed", "1");
    }
out:
    lines_free(ls, nl);
}

void sync_orders(struct sync_job *j, const long long *ids, size_t n)
{
    struct mlc_sync *s = j->s;
    json_t *sec = mlc_mapping_section(s->mapping, MLC_MAP_ORDER);
    json_t *read = sync_read(j, MLC_NS_SALESORDER, ids, n);
    if (!read)
        return;
    struct rec *recs = mlc_calloc(n + 1, sizeof *recs);
    long long *custs = mlc_calloc(n + 1, sizeof *custs);
    bool *ok = mlc_calloc(n + 1, sizeof *ok);
    bool *wait = mlc_calloc(n + 1, sizeof *wait);
    size_t nc = 0;
    sync_recs_of(read, ids, n, recs);
    if (sync_lease(j, "salesorder", recs, n) != MLC_OK ||
        sync_load_state(j, "salesorder", recs, n) != MLC_OK) {
        sync_job_error(j, true, 0, "redis", "Redis: cannot read the record states");
        goto out;
    }
    const char *cf = json_string_value(json_object_get(json_object_get(sec, "customer"), "field"));
    for (size_t i = 0; i < n; i++) {
        long long c = recs[i].ns && !recs[i].busy ? id_text(sync_path_get(recs[i].ns, cf)) : 0;
        if (c > 0)
            custs[nc++] = c;
    }
    if (nc)
        sync_ensure_customers(j, custs, nc, ok, wait);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct rec *r = &recs[i];
        if (r->busy)
            continue;
        if (!r->ns) {
            r->act = ACT_MISSING;
            continue;
        }
        long long c = id_text(sync_path_get(r->ns, cf));
        bool cok = c > 0 ? ok[k] : false, later = c > 0 ? wait[k] : false;
        if (c > 0)
            k++;
        if (later) {
            r->busy = true; /* its customer is being synced elsewhere: this one retries */
            continue;
        }
        sync_one_order(j, r, cok);
        /* commit order by order: a large order's outcome is not lost to a later failure */
        sync_commit(j, "salesorder", json_string_value(json_object_get(sec, "table")), r, 1);
        sync_count(j, "salesorder", r, 1);
    }
    for (size_t i = 0; i < n; i++)
        if (recs[i].act == ACT_MISSING) {
            sync_commit(j, "salesorder", json_string_value(json_object_get(sec, "table")), &recs[i],
                        1);
            sync_count(j, "salesorder", &recs[i], 1);
        }
out:
    sync_finish(j, "salesorder", recs, n);
    free(custs);
    free(ok);
    free(wait);
    json_decref(read);
}
