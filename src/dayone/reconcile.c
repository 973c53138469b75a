/* `ml-connector reconcile`: compares NetSuite, Dataverse and the record state in Redis (counts per
 * type, per-record state hashes, NetSuite-owned column values, order totals per currency per day)
 * and explains every difference (pending in the queue, filtered out, deleted in NetSuite, a CRM
 * edit kept by policy) or repairs it by enqueuing a forced re-sync on the bulk lane. The report
 * (text, CSV or JSON) is kept in Redis as reconcile:latest; its unexplained count should be 0. */
#include "internal.h"
#include "mlc/log.h"
#include "mlc/queue.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: ml-connector reconcile [--format text|csv|json] [--no-repair]\n"
    "\n"
    "Compares both systems: record counts per type, each record's state hash (Dataverse's\n"
    "mlc_syncstatehash against the record state in Redis), the NetSuite-owned columns against the\n"
    "last payload written (CRM edits behind the connector's back), NetSuite's last-modified "
    "against\n"
    "the last state written (changes whose job was lost), and order totals per currency per day.\n"
    "Every difference is explained (pending: a job waits in the queue; filtered: left out by the\n"
    "mapping; deleted_in_netsuite: the row was deactivated by design; crm_edit_kept:\n"
    "MLC_DRIFT_POLICY=report; crm_delete_kept: MLC_CRM_DELETE_POLICY=report) or repaired by\n"
    "enqueuing a forced re-sync on the bulk lane (--no-repair: reported as unexplained). The "
    "report\n"
    "goes to stdout and to Redis (reconcile:latest); exit 0 when nothing is unexplained, else 1.\n";

enum { T_CUSTOMER, T_CONTACT, T_ORDER, T__N };
static const enum mlc_map_kind kinds[] = {MLC_MAP_CUSTOMER, MLC_MAP_CONTACT, MLC_MAP_ORDER};
static const char *const type_names[] = {"customer", "contact", "salesorder"};

struct rc_ctx {
    struct dayone *d;
    struct mlc_redis *c;
    bool repair;
    bool drift_revert, delete_recreate;
    json_t *diffs;       /* array of difference objects */
    json_t *counts;      /* type -> {netsuite, dataverse, filtered} */
    json_t *totals;      /* "CUR day" -> {currency, day, nsCount, nsTotal, dvCount, dvTotal} */
    json_t *bucket_diff; /* "CUR day" -> true when a record difference lies in it */
    json_t *repairs;     /* array of {type, id, op} to enqueue */
    int explained, repaired, unexplained;
};

/* ---- reading both sides ---- */

struct ns_ud {
    json_t *map; /* id -> {lm, total, currency, day} */
};

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* NetSuite: id -> {"lm": ms} of every record of a type (the change listing from the epoch). */
static enum mlc_rc ns_records(struct rc_ctx *x, int t, json_t *out)
{
    long long after = 0;
    for (;;) {
        json_t *rows = NULL;
        bool more = false;
        long long total = -1;
        struct mlc_ns_err e;
        if (mlc_ns_changes(x->d->nss, (enum mlc_ns_type)t, 0, 0, after, 1000, &rows, &more, &total,
                           &e) != MLC_OK) {
            fprintf(stderr, "ml-connector reconcile: NetSuite %s: %s\n", type_names[t], e.msg);
            return MLC_ERR;
        }
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r)
        {
            long long id = (long long)json_integer_value(json_object_get(r, "id"));
            char k[24];
            snprintf(k, sizeof k, "%lld", id);
            json_object_set_new(out, k, json_pack("{s:O}", "lm", json_object_get(r, "lm")));
            after = id;
        }
        size_t n = json_array_size(rows);
        json_decref(rows);
        if (!more || n == 0)
            return MLC_OK;
    }
}

static bool take_order_total(json_t *row, void *ud)
{
    json_t *map = ((struct ns_ud *)ud)->map;
    long long id = 0;
    double total = 0;
    char cur[16] = "", day[16] = "", k[24];
    if (!mlc_ns_row_i64(row, "id", &id))
        return true;
    snprintf(k, sizeof k, "%lld", id);
    json_t *o = json_object_get(map, k);
    if (!o)
        return true;
    mlc_ns_row_double(row, "total", &total);
    mlc_ns_row_text(row, "currency", cur, sizeof cur);
    mlc_ns_row_text(row, "day", day, sizeof day);
    json_object_set_new(o, "total", json_real(total));
    json_object_set_new(o, "currency", json_string(cur));
    json_object_set_new(o, "day", json_string(day));
    return true;
}

struct dv_ud {
    json_t *map; /* key value -> row */
    const char *keycol;
};
static bool take_dv(json_t *row, void *ud)
{
    struct dv_ud *u = ud;
    const char *k = json_string_value(json_object_get(row, u->keycol));
    if (k && *k)
        json_object_set(u->map, k, row);
    return true;
}

/* The plain NetSuite-owned columns of a kind (no binds): what drift is checked on. */
static void owned_columns(const struct dayone *d, enum mlc_map_kind k, struct mlc_buf *sel)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(mlc_mapping_section(d->mapping, k), "columns"), i, c)
    {
        const char *owner = json_string_value(json_object_get(c, "owner"));
        const char *dv = json_string_value(json_object_get(c, "dv"));
        if (dv && (!owner || strcmp(owner, "netsuite") == 0))
            mlc_buf_printf(sel, ",%s", dv);
    }
}

/* Record states of ids (array of strings) of a type: id -> {hash, nslm, dvid, filtered, del, p}. */
static json_t *states(struct rc_ctx *x, int t, json_t *ids)
{
    static const char lua[] =
        "local out = {}\n"
        "for i, k in ipairs(KEYS) do\n"
        "  out[i] = redis.call('HMGET', k, 'hash', 'nslm', 'dvid', 'filtered', 'del', 'p')\n"
        "end\n"
        "return out\n";
    static const char *const fields[] = {"hash", "nslm", "dvid", "filtered", "del", "p"};
    json_t *out = json_object();
    size_t n = json_array_size(ids);
    for (size_t off = 0; off < n; off += 200) {
        size_t m = n - off < 200 ? n - off : 200;
        const char **argv = mlc_calloc(m + 4, sizeof *argv);
        char(*keys)[160] = mlc_calloc(m + 1, sizeof *keys);
        char nk[16];
        snprintf(nk, sizeof nk, "%zu", m);
        argv[0] = "EVAL";
        argv[1] = lua;
        argv[2] = nk;
        for (size_t i = 0; i < m; i++) {
            mlc_queue_key(x->d->q, keys[i], sizeof keys[i], "state:%s:%s", type_names[t],
                          json_string_value(json_array_get(ids, off + i)));
            argv[3 + i] = keys[i];
        }
        json_t *r = NULL;
        char err[256];
        if (mlc_redis_exec(x->c, &r, err, sizeof err, (int)(m + 3), argv) == MLC_OK) {
            for (size_t i = 0; i < m; i++) {
                json_t *vals = json_array_get(r, i), *o = json_object();
                for (size_t f = 0; f < 6; f++) {
                    json_t *v = json_array_get(vals, f);
                    if (json_is_string(v))
                        json_object_set(o, fields[f], v);
                }
                json_object_set_new(out, json_string_value(json_array_get(ids, off + i)), o);
            }
        } else {
            fprintf(stderr, "ml-connector reconcile: Redis: %s\n", err);
        }
        json_decref(r);
        free(argv);
        free(keys);
    }
    return out;
}

static bool pending(struct rc_ctx *x, int t, const char *id)
{
    for (int lane = 0; lane < 2; lane++) {
        char k[200];
        mlc_queue_key(x->d->q, k, sizeof k, "q:w:%s:%s:%s", lane ? "bulk" : "live", type_names[t],
                      id);
        const char *argv[] = {"EXISTS", k};
        json_t *r = NULL;
        bool yes =
            mlc_redis_exec(x->c, &r, NULL, 0, 2, argv) == MLC_OK && json_integer_value(r) == 1;
        json_decref(r);
        if (yes)
            return true;
    }
    return false;
}

/* ---- differences ---- */

/* Records a difference; resolution: an explanation (reason), else a repair (op) when allowed. */
static void diff(struct rc_ctx *x, int t, const char *id, const char *dvid, const char *kind,
                 const char *detail, const char *explanation, const char *repair_op,
                 const char *bucket)
{
    const char *res = explanation              ? "explained"
                      : repair_op && x->repair ? "repaired"
                                               : "unexplained";
    json_array_append_new(x->diffs, json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:s?}", "type",
                                              type_names[t], "nsId", id, "dvId", dvid, "kind", kind,
                                              "detail", detail ? detail : "", "resolution", res,
                                              "reason", explanation));
    if (explanation)
        x->explained++;
    else if (repair_op && x->repair) {
        x->repaired++;
        json_array_append_new(x->repairs,
                              json_pack("{s:i, s:s, s:s}", "t", t, "id", id, "op", repair_op));
    } else
        x->unexplained++;
    if (bucket)
        json_object_set_new(x->bucket_diff, bucket, json_true());
}

static bool same_value(json_t *a, json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return fabs(json_number_value(a) - json_number_value(b)) < 0.005;
    if ((!a || json_is_null(a)) && (!b || json_is_null(b)))
        return true;
    return a && b && json_equal(a, b);
}

/* A contact whose customer the mapping leaves out is left out with it. */
static bool company_filtered(struct rc_ctx *x, json_t *n)
{
    json_t *co = json_object_get(n, "company");
    if (!json_is_integer(co))
        return false;
    char k[200];
    mlc_queue_key(x->d->q, k, sizeof k, "state:customer:%lld", (long long)json_integer_value(co));
    const char *argv[] = {"HEXISTS", k, "filtered"};
    json_t *r = NULL;
    bool yes = mlc_redis_exec(x->c, &r, NULL, 0, 3, argv) == MLC_OK && json_integer_value(r) == 1;
    json_decref(r);
    return yes;
}

static bool take_company(json_t *row, void *ud)
{
    long long id = 0, co = 0;
    char k[24];
    if (!mlc_ns_row_i64(row, "id", &id) || !mlc_ns_row_i64(row, "company", &co))
        return true;
    snprintf(k, sizeof k, "%lld", id);
    json_t *o = json_object_get(ud, k);
    if (o)
        json_object_set_new(o, "company", json_integer(co));
    return true;
}

static void compare_type(struct rc_ctx *x, int t, json_t *ns, json_t *dv)
{
    json_t *ids = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(ns, k, v) json_array_append_new(ids, json_string(k));
    json_object_foreach(dv, k, v) if (!json_object_get(ns, k))
        json_array_append_new(ids, json_string(k));
    json_t *st = states(x, t, ids);
    int filtered = 0;
    const char *cur_total = dayone_sec_str(x->d, kinds[t], "totalColumn");
    size_t i;
    json_t *idv;
    json_array_foreach(ids, i, idv)
    {
        const char *id = json_string_value(idv);
        json_t *n = json_object_get(ns, id), *row = json_object_get(dv, id),
               *s = json_object_get(st, id);
        const char *hash = json_string_value(json_object_get(s, "hash"));
        const char *sdv = json_string_value(json_object_get(s, "dvid"));
        char idcol[48];
        snprintf(idcol, sizeof idcol, "%sid", dayone_sec_str(x->d, kinds[t], "table"));
        const char *dvid = json_string_value(json_object_get(row, idcol));
        char bucket[48] = "";
        if (t == T_ORDER && n)
            snprintf(bucket, sizeof bucket, "%s %s",
                     or_empty(json_string_value(json_object_get(n, "currency"))),
                     or_empty(json_string_value(json_object_get(n, "day"))));
        const char *b = bucket[0] ? bucket : NULL;
        bool pend = pending(x, t, id);
        if (n && !row) {
            if (json_object_get(s, "filtered") || company_filtered(x, n)) {
                filtered++;
                continue; /* left out by the mapping, as it should be */
            }
            if (pend)
                diff(x, t, id, NULL, "missing_in_dataverse", NULL, "pending", NULL, b);
            else if (sdv && !x->delete_recreate)
                diff(x, t, id, sdv, "deleted_in_crm", "the row was deleted in the CRM",
                     "crm_delete_kept", NULL, b);
            else if (sdv)
                diff(x, t, id, sdv, "deleted_in_crm", "the row was deleted in the CRM", NULL,
                     "change", b);
            else
                diff(x, t, id, NULL, "missing_in_dataverse", "never synced", NULL, "change", b);
            continue;
        }
        if (!n && row) {
            if (json_object_get(s, "del"))
                diff(x, t, id, dvid, "deleted_in_netsuite", "kept in Dataverse, deactivated",
                     "deleted_in_netsuite", NULL, NULL);
            else if (pend)
                diff(x, t, id, dvid, "deleted_in_netsuite", NULL, "pending", NULL, NULL);
            else
                diff(x, t, id, dvid, "deleted_in_netsuite", "no deletion recorded", NULL, "delete",
                     NULL);
            continue;
        }
        if (!n)
            continue;
        /* both sides */
        const char *rowhash = json_string_value(json_object_get(row, "mlc_syncstatehash"));
        long long lm = (long long)json_integer_value(json_object_get(n, "lm"));
        uint64_t slm = 0;
        const char *slms = json_string_value(json_object_get(s, "nslm"));
        if (slms)
            mlc_parse_u64(slms, &slm);
        char detail[600];
        if (json_object_get(s, "filtered") || company_filtered(x, n)) {
            diff(x, t, id, dvid, "filtered_row",
                 "the row carries the key (linked by hand) but the mapping leaves the record out",
                 "filtered", NULL, b);
            continue;
        }
        if (!hash) {
            diff(x, t, id, dvid, "state_missing", "no record state in Redis",
                 pend ? "pending" : NULL, "change", b);
            continue;
        }
        if (lm > (long long)slm + 1000) {
            snprintf(detail, sizeof detail, "NetSuite changed after the last write (%lld > %llu)",
                     lm, (unsigned long long)slm);
            diff(x, t, id, dvid, "stale", detail, pend ? "pending" : NULL, "change", b);
            continue;
        }
        if (!rowhash || strcmp(rowhash, hash) != 0) {
            snprintf(detail, sizeof detail, "mlc_syncstatehash %.20s, state %.20s",
                     rowhash ? rowhash : "(none)", hash);
            diff(x, t, id, dvid, "hash_mismatch", detail, pend ? "pending" : NULL, "change", b);
            continue;
        }
        /* NetSuite-owned columns as last written, against the row */
        json_t *p = json_loads(or_empty(json_string_value(json_object_get(s, "p"))), 0, NULL);
        struct mlc_buf cols;
        mlc_buf_init(&cols, 4096);
        const char *col;
        json_t *want;
        json_object_foreach(p, col, want)
        {
            if (strchr(col, '@') || !json_object_get(row, col))
                continue; /* binds, and columns this read did not select */
            if (t == T_ORDER && strncmp(col, "stat", 4) == 0)
                continue; /* an order's final state comes from the close action, after the write */
            if (!same_value(want, json_object_get(row, col))) {
                char *a = json_dumps(json_object_get(row, col), JSON_ENCODE_ANY | JSON_COMPACT);
                char *w = json_dumps(want, JSON_ENCODE_ANY | JSON_COMPACT);
                mlc_buf_printf(&cols, "%s%s: %.80s (NetSuite: %.80s)", cols.len ? "; " : "", col,
                               a ? a : "null", w ? w : "null");
                free(a);
                free(w);
            }
        }
        json_decref(p);
        if (cols.len)
            diff(x, t, id, dvid, "crm_edit", cols.data,
                 pend              ? "pending"
                 : x->drift_revert ? NULL
                                   : "crm_edit_kept",
                 "change", b);
        mlc_buf_free(&cols);
        if (t == T_ORDER && cur_total) {
            json_t *dvt = json_object_get(row, cur_total), *nst = json_object_get(n, "total");
            if (!same_value(dvt, nst)) {
                snprintf(detail, sizeof detail, "%s %.2f, NetSuite %.2f", cur_total,
                         json_number_value(dvt), json_number_value(nst));
                diff(x, t, id, dvid, "total_mismatch", detail, pend ? "pending" : NULL, "change",
                     b);
            }
        }
    }
    json_object_set_new(x->counts, type_names[t],
                        json_pack("{s:I, s:I, s:i}", "netsuite", (json_int_t)json_object_size(ns),
                                  "dataverse", (json_int_t)json_object_size(dv), "filtered",
                                  filtered));
    json_decref(st);
    json_decref(ids);
}

/* Adds one order of amount to side ("ns" or "dv") of the currency/day bucket. */
static void add_to_bucket(struct rc_ctx *x, const char *cur, const char *day, const char *side,
                          double amount)
{
    char b[48], cnt[16], tot[16];
    snprintf(b, sizeof b, "%s %s", or_empty(cur), or_empty(day));
    snprintf(cnt, sizeof cnt, "%sCount", side);
    snprintf(tot, sizeof tot, "%sTotal", side);
    json_t *o = json_object_get(x->totals, b);
    if (!o) {
        o = json_pack("{s:s, s:s, s:i, s:f, s:i, s:f}", "currency", or_empty(cur), "day",
                      or_empty(day), "nsCount", 0, "nsTotal", 0.0, "dvCount", 0, "dvTotal", 0.0);
        json_object_set_new(x->totals, b, o);
    }
    json_object_set_new(o, cnt, json_integer(json_integer_value(json_object_get(o, cnt)) + 1));
    json_object_set_new(o, tot, json_real(json_number_value(json_object_get(o, tot)) + amount));
}

/* Order totals per currency per day on both sides (Dataverse's by NetSuite's day and the row's
 * currency); a bucket that differs without a record difference in it is unexplained. */
static void compare_totals(struct rc_ctx *x, json_t *ns, json_t *dv, json_t *currencies)
{
    const char *tc = dayone_sec_str(x->d, MLC_MAP_ORDER, "totalColumn");
    const char *id;
    json_t *n;
    json_object_foreach(ns, id, n)
    {
        const char *day = json_string_value(json_object_get(n, "day"));
        add_to_bucket(x, json_string_value(json_object_get(n, "currency")), day, "ns",
                      json_number_value(json_object_get(n, "total")));
        json_t *row = json_object_get(dv, id);
        if (!row)
            continue;
        const char *rc = json_string_value(json_object_get(
            currencies,
            or_empty(json_string_value(json_object_get(row, "_transactioncurrencyid_value")))));
        add_to_bucket(x, rc ? rc : "?", day, "dv",
                      json_number_value(json_object_get(row, tc ? tc : "")));
    }
    const char *b;
    json_t *o;
    json_object_foreach(x->totals, b, o)
    {
        bool same = json_integer_value(json_object_get(o, "nsCount")) ==
                        json_integer_value(json_object_get(o, "dvCount")) &&
                    fabs(json_number_value(json_object_get(o, "nsTotal")) -
                         json_number_value(json_object_get(o, "dvTotal"))) < 0.005;
        json_object_set_new(o, "match", json_boolean(same));
        if (!same && !json_object_get(x->bucket_diff, b)) {
            json_array_append_new(x->diffs, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type",
                                                      "salesorder", "nsId", "", "kind", "totals",
                                                      "detail", b, "resolution", "unexplained"));
            x->unexplained++;
        }
    }
}

static bool take_currency(json_t *row, void *ud)
{
    const char *id = json_string_value(json_object_get(row, "transactioncurrencyid"));
    const char *iso = json_string_value(json_object_get(row, "isocurrencycode"));
    if (id && iso)
        json_object_set_new(ud, id, json_string(iso));
    return true;
}

static enum mlc_rc enqueue_repairs(struct rc_ctx *x)
{
    size_t n = json_array_size(x->repairs);
    for (size_t off = 0; off < n; off += MLC_QUEUE_MAX_BATCH) {
        size_t m = n - off < MLC_QUEUE_MAX_BATCH ? n - off : MLC_QUEUE_MAX_BATCH;
        struct mlc_job_spec specs[MLC_QUEUE_MAX_BATCH];
        enum mlc_enqueue_outcome outs[MLC_QUEUE_MAX_BATCH];
        char recs[MLC_QUEUE_MAX_BATCH][64];
        json_t *datas[MLC_QUEUE_MAX_BATCH];
        for (size_t i = 0; i < m; i++) {
            json_t *r = json_array_get(x->repairs, off + i);
            int t = (int)json_integer_value(json_object_get(r, "t"));
            const char *id = json_string_value(json_object_get(r, "id"));
            snprintf(recs[i], sizeof recs[i], "%s:%.40s", type_names[t], id);
            datas[i] = json_pack("{s:s, s:s, s:s, s:s, s:b}", "recordType", type_names[t],
                                 "recordId", id, "op", json_string_value(json_object_get(r, "op")),
                                 "source", "reconcile", "force", 1);
            specs[i] = (struct mlc_job_spec){
                .lane = MLC_LANE_BULK, .kind = type_names[t], .record = recs[i], .data = datas[i]};
        }
        enum mlc_rc rc = mlc_queue_enqueue_on(x->d->q, x->c, specs, m, outs);
        for (size_t i = 0; i < m; i++)
            json_decref(datas[i]);
        if (rc != MLC_OK)
            return rc;
    }
    return MLC_OK;
}

/* ---- output ---- */

static void csv_cell(const char *s, bool last)
{
    bool q = strpbrk(s, ",\"\r\n") || s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';
    if (q) {
        putchar('"');
        if (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')
            putchar('\'');
        for (; *s; s++) {
            if (*s == '"')
                putchar('"');
            putchar(*s);
        }
        putchar('"');
    } else {
        fputs(s, stdout);
    }
    fputs(last ? "\r\n" : ",", stdout);
}

static void print_report(json_t *rep, const char *format)
{
    if (strcmp(format, "json") == 0) {
        char *t = json_dumps(rep, JSON_COMPACT);
        printf("%s\n", t ? t : "{}");
        free(t);
        return;
    }
    json_t *diffs = json_object_get(rep, "differences");
    size_t i;
    json_t *d;
    if (strcmp(format, "csv") == 0) {
        static const char *const cols[] = {"type",   "nsId",       "dvId",   "kind",
                                           "detail", "resolution", "reason", NULL};
        for (int c = 0; cols[c]; c++)
            csv_cell(cols[c], !cols[c + 1]);
        json_array_foreach(diffs, i, d) for (int c = 0; cols[c]; c++)
        {
            const char *v = json_string_value(json_object_get(d, cols[c]));
            csv_cell(v ? v : "", !cols[c + 1]);
        }
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(rep, "counts"), k, v)
        printf("%-11s NetSuite %lld, Dataverse %lld, filtered out %lld\n", k,
               (long long)json_integer_value(json_object_get(v, "netsuite")),
               (long long)json_integer_value(json_object_get(v, "dataverse")),
               (long long)json_integer_value(json_object_get(v, "filtered")));
    json_array_foreach(json_object_get(rep, "totals"), i,
                       v) if (!json_is_true(json_object_get(v, "match")))
        printf("totals      %s %s: NetSuite %lld orders %.2f, "
               "Dataverse %lld orders %.2f\n",
               json_string_value(json_object_get(v, "currency")),
               json_string_value(json_object_get(v, "day")),
               (long long)json_integer_value(json_object_get(v, "nsCount")),
               json_number_value(json_object_get(v, "nsTotal")),
               (long long)json_integer_value(json_object_get(v, "dvCount")),
               json_number_value(json_object_get(v, "dvTotal")));
    json_array_foreach(diffs, i, d)
    {
        const char *reason = json_string_value(json_object_get(d, "reason"));
        printf("%-11s %s %s %s: %s%s%s%s\n", json_string_value(json_object_get(d, "resolution")),
               json_string_value(json_object_get(d, "type")),
               json_string_value(json_object_get(d, "nsId")),
               json_string_value(json_object_get(d, "kind")),
               json_string_value(json_object_get(d, "detail")), reason ? " (" : "",
               reason ? reason : "", reason ? ")" : "");
    }
    printf("differences %lld: explained %lld, repaired %lld, unexplained %lld\n",
           (long long)json_array_size(diffs),
           (long long)json_integer_value(json_object_get(rep, "explained")),
           (long long)json_integer_value(json_object_get(rep, "repaired")),
           (long long)json_integer_value(json_object_get(rep, "unexplained")));
}

int reconcile_run(struct dayone *d, bool repair, json_t **out)
{
    struct dayone *dp0 = d; /* the command context */
    struct rc_ctx x = {.d = dp0, .repair = repair};
    json_t *rep = NULL;
    int rc = 1;
    *out = NULL;
    char err[512];
    x.c = dayone_redis(dp0, err, sizeof err);
    if (!x.c) {
        fprintf(stderr, "ml-connector reconcile: Redis: %s\n", err);
        rc = 1;
        goto out;
    }
    const char *dp = mlc_config_str(&dp0->cfg, MLC_CFG_DRIFT_POLICY);
    const char *cp = mlc_config_str(&dp0->cfg, MLC_CFG_CRM_DELETE_POLICY);
    x.drift_revert = !dp || strcmp(dp, "revert") == 0;
    x.delete_recreate = !cp || strcmp(cp, "recreate") == 0;
    x.diffs = json_array();
    x.counts = json_object();
    x.totals = json_object();
    x.bucket_diff = json_object();
    x.repairs = json_array();
    int64_t t0 = mlc_mono_ms();
    char started[40];
    mlc_fmt_rfc3339(mlc_now_ms(), started, sizeof started);
    json_t *ns_orders = NULL, *dv_orders = NULL, *currencies = json_object();
    rc = 1;
    for (int t = 0; t < T__N; t++) {
        json_t *ns = json_object(), *dv = json_object();
        const char *keycol = dayone_sec_str(dp0, kinds[t], "key");
        const char *set = dayone_sec_str(dp0, kinds[t], "entitySet");
        const char *table = dayone_sec_str(dp0, kinds[t], "table");
        if (!keycol || !set || !table || ns_records(&x, t, ns) != MLC_OK) {
            json_decref(ns);
            json_decref(dv);
            goto done;
        }
        if (t == T_CONTACT) {
            struct mlc_ns_err ne;
            if (mlc_ns_suiteql_all(dp0->nss, "SELECT id, company FROM contact ORDER BY id", NULL,
                                   NULL, take_company, ns, NULL, &ne) != MLC_OK) {
                fprintf(stderr, "ml-connector reconcile: NetSuite contacts: %s\n", ne.msg);
                json_decref(ns);
                json_decref(dv);
                goto done;
            }
        }
        if (t == T_ORDER) {
            struct ns_ud u = {ns};
            struct mlc_ns_err ne;
            if (mlc_ns_suiteql_all(dp0->nss,
                                   "SELECT t.id, t.foreigntotal AS total, cur.symbol AS currency, "
                                   "TO_CHAR(t.trandate, 'YYYY-MM-DD') AS day FROM transaction t "
                                   "LEFT JOIN currency cur ON cur.id = t.currency WHERE t.type = "
                                   "'SalesOrd' ORDER BY t.id",
                                   NULL, NULL, take_order_total, &u, NULL, &ne) != MLC_OK) {
                fprintf(stderr, "ml-connector reconcile: NetSuite order totals: %s\n", ne.msg);
                json_decref(ns);
                json_decref(dv);
                goto done;
            }
        }
        struct mlc_buf sel;
        mlc_buf_init(&sel, 8192);
        mlc_buf_printf(&sel, "%sid,%s,mlc_syncstatehash,statecode", table, keycol);
        owned_columns(dp0, kinds[t], &sel);
        if (t == T_ORDER)
            mlc_buf_printf(&sel, ",%s,_transactioncurrencyid_value",
                           dayone_sec_str(dp0, kinds[t], "totalColumn")
                               ? dayone_sec_str(dp0, kinds[t], "totalColumn")
                               : "mlc_netsuitetotal");
        struct dv_ud u = {dv, keycol};
        struct mlc_dv_err e;
        enum mlc_rc q = mlc_dv_query(dp0->dvs, set, sel.data, NULL, 0, take_dv, &u, NULL, &e);
        mlc_buf_free(&sel);
        if (q != MLC_OK) {
            fprintf(stderr, "ml-connector reconcile: Dataverse %s: %s\n", set, e.msg);
            json_decref(ns);
            json_decref(dv);
            goto done;
        }
        compare_type(&x, t, ns, dv);
        if (t == T_ORDER) {
            ns_orders = ns;
            dv_orders = dv;
        } else {
            json_decref(ns);
            json_decref(dv);
        }
    }
    struct mlc_dv_err e;
    if (mlc_dv_query(dp0->dvs, "transactioncurrencies", "transactioncurrencyid,isocurrencycode",
                     NULL, 0, take_currency, currencies, NULL, &e) != MLC_OK) {
        fprintf(stderr, "ml-connector reconcile: Dataverse currencies: %s\n", e.msg);
        goto done;
    }
    compare_totals(&x, ns_orders, dv_orders, currencies);
    if (x.repair && json_array_size(x.repairs) && enqueue_repairs(&x) != MLC_OK) {
        fprintf(stderr, "ml-connector reconcile: Redis: the repairs could not be enqueued\n");
        goto done;
    }
    json_t *totals = json_array();
    const char *b;
    json_t *o;
    json_object_foreach(x.totals, b, o) json_array_append(totals, o);
    rep = json_pack("{s:s, s:I, s:b, s:O, s:o, s:O, s:i, s:i, s:i}", "startedAt", started,
                    "durationMs", (json_int_t)(mlc_mono_ms() - t0), "repair", repair, "counts",
                    x.counts, "totals", totals, "differences", x.diffs, "explained", x.explained,
                    "repaired", x.repaired, "unexplained", x.unexplained);
    char *text = json_dumps(rep, JSON_COMPACT);
    char key[200];
    mlc_queue_key(dp0->q, key, sizeof key, "reconcile:latest");
    const char *set_argv[] = {"SET", key, text ? text : "{}"};
    if (mlc_redis_exec(x.c, NULL, err, sizeof err, 3, set_argv) != MLC_OK)
        fprintf(stderr, "ml-connector reconcile: Redis: the report was not stored: %s\n", err);
    free(text);
    rc = x.unexplained ? 1 : 0;
    *out = json_incref(rep);
done:
    json_decref(ns_orders);
    json_decref(dv_orders);
    json_decref(currencies);
out:
    json_decref(rep);
    json_decref(x.diffs);
    json_decref(x.counts);
    json_decref(x.totals);
    json_decref(x.bucket_diff);
    json_decref(x.repairs);
    return rc;
}

int mlc_reconcile_main(int argc, char **argv)
{
    const char *format = "text";
    bool repair = true;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return 0;
        } else if (strcmp(argv[i], "--no-repair") == 0) {
            repair = false;
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc &&
                   (strcmp(argv[i + 1], "text") == 0 || strcmp(argv[i + 1], "csv") == 0 ||
                    strcmp(argv[i + 1], "json") == 0)) {
            format = argv[++i];
        } else {
            fprintf(stderr,
                    "ml-connector reconcile: unknown or incomplete option %s (--format "
                    "takes text, csv or json)\n\n%s",
                    argv[i], help);
            return 2;
        }
    }
    struct dayone d;
    int rc = dayone_open(&d, "reconcile", true);
    json_t *rep = NULL;
    if (rc == 0) {
        rc = reconcile_run(&d, repair, &rep);
        if (rep)
            print_report(rep, format);
    }
    json_decref(rep);
    dayone_close(&d);
    return rc;
}
