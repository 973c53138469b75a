/* Readers of complete records in batches of up to 1000 ids with a constant number of queries per
 * batch (customers + address + classification + contacts, contacts, orders + lines), and the change
 * and deletion listings. */
#include "internal.h"
#include "mlc/mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UTC(col) "TO_CHAR(SYS_EXTRACT_UTC(" col "), 'YYYY-MM-DD HH24:MI:SS')"
/* An order's latest line change (every line: a line's date does not always move the header's).
 * The change listing and the reader use the same expression, so the last-modified the sync
 * engine stores is the one the poller compares with. */
#define ORDER_LINES_LM                                                                             \
    "(SELECT TO_CHAR(MAX(SYS_EXTRACT_UTC(tl.linelastmodifieddate)), 'YYYY-MM-DD HH24:MI:SS') "     \
    "FROM transactionline tl WHERE tl.transaction = t.id)"

static const char *const type_names[MLC_NS__TYPES] = {"customer", "contact", "salesorder"};

const char *mlc_ns_type_name(enum mlc_ns_type t)
{
    return t < MLC_NS__TYPES ? type_names[t] : "unknown";
}

int mlc_ns_type_parse(const char *s)
{
    for (int i = 0; s && i < MLC_NS__TYPES; i++)
        if (strcmp(s, type_names[i]) == 0)
            return i;
    return -1;
}

/* Appends ", <alias>.<col>" for each mapped column (validated: the names go into SQL). */
static enum mlc_rc add_columns(struct mlc_buf *q, const char *alias, enum mlc_map_kind k,
                               struct mlc_ns_err *e)
{
    size_t n;
    const char *const *cols = mlc_mapping_ns_columns(mlc_mapping_defaults(), k, &n);
    for (size_t i = 0; i < n; i++) {
        if (!mlc_mapping_column_ok(cols[i])) {
            ns_err_set(e, false, 0, "mapping", "the mapping names an invalid column '%.60s'",
                       cols[i]);
            return MLC_EINVAL;
        }
        mlc_buf_printf(q, ", %s.%s", alias, cols[i]);
    }
    return MLC_OK;
}

static void id_list(struct mlc_buf *q, const long long *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mlc_buf_printf(q, "%s%lld", i ? "," : "", ids[i]);
}

/* Where clause of a batch: "x.id IN (...)" or, for range reads, "x.id > after". */
struct sel {
    const long long *ids;
    size_t n;
    long long after, before; /* range reads: after < id < before (before 0: open) */
};

static void where_ids(struct mlc_buf *q, const char *col, const struct sel *w)
{
    if (w->ids) {
        mlc_buf_printf(q, "%s IN (", col);
        id_list(q, w->ids, w->n);
        mlc_buf_printf(q, ")");
    } else {
        mlc_buf_printf(q, "%s > %lld", col, w->after);
        if (w->before > 0)
            mlc_buf_printf(q, " AND %s < %lld", col, w->before);
    }
}

/* Copies a row's columns into a record, leaving out names starting with "x_" (ours). */
static json_t *record_from_row(json_t *row)
{
    json_t *r = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(row, k, v)
    {
        if (strncmp(k, "x_", 2) != 0)
            json_object_set(r, k, v);
    }
    long long id;
    if (mlc_ns_row_i64(row, "id", &id))
        json_object_set_new(r, "id", json_integer((json_int_t)id));
    return r;
}

static void set_lm(json_t *rec, const char *utc)
{
    int64_t ms;
    if (utc && mlc_ns_parse_utc(utc, &ms) == MLC_OK) {
        char iso[40];
        mlc_fmt_rfc3339(ms, iso, sizeof iso);
        json_object_set_new(rec, "lastModified", json_string(iso));
        json_object_set_new(rec, "lastModifiedMs", json_integer((json_int_t)ms));
    }
}

/* Moves a record's last-modified forward to utc when that is later. */
static void raise_lm(json_t *rec, const char *utc)
{
    int64_t ms;
    if (utc && mlc_ns_parse_utc(utc, &ms) == MLC_OK &&
        ms > json_integer_value(json_object_get(rec, "lastModifiedMs")))
        set_lm(rec, utc);
}

/* Collects rows of the main query into out (id -> record). */
struct collect {
    json_t *out;
    long long last;
    size_t rows;
    enum mlc_ns_type t;
};

static bool take_main(json_t *row, void *ud)
{
    struct collect *c = ud;
    long long id;
    if (!mlc_ns_row_i64(row, "id", &id))
        return true;
    json_t *rec = record_from_row(row);
    set_lm(rec, mlc_ns_row_str(row, "x_lm"));
    if (c->t == MLC_NS_CUSTOMER) {
        static const char *const addr[] = {"addr1", "addr2",   "addr3",     "city",     "state",
                                           "zip",   "country", "addressee", "attention"};
        json_t *a = json_object();
        for (size_t i = 0; i < sizeof addr / sizeof addr[0]; i++) {
            char k[24];
            snprintf(k, sizeof k, "x_ba_%s", addr[i]);
            json_t *v = json_object_get(row, k);
            if (v)
                json_object_set(a, addr[i], v);
        }
        json_object_set_new(rec, "billingAddress", json_object_size(a) ? a : json_null());
        if (!json_object_size(a))
            json_decref(a);
        json_object_set_new(rec, "classification",
                            json_pack("{s:O?, s:O?, s:O?}", "category",
                                      json_object_get(row, "x_category"), "entityStatus",
                                      json_object_get(row, "x_entitystatus"), "subsidiary",
                                      json_object_get(row, "x_subsidiary")));
        json_object_set_new(rec, "contacts", json_array());
        long long pc;
        json_object_set_new(rec, "primaryContactId",
                            mlc_ns_row_i64(row, "x_primary", &pc) ? json_integer((json_int_t)pc)
                                                                  : json_null());
    } else if (c->t == MLC_NS_CONTACT) {
        long long pc;
        bool primary = mlc_ns_row_i64(row, "x_primary", &pc) && pc == id;
        json_object_set_new(rec, "isPrimary", json_boolean(primary));
    } else {
        static const char *const extra[][2] = {{"currencyCode", "x_currency"},
                                               {"statusLabel", "x_statuslabel"},
                                               {"tranDate", "x_trandate"}};
        for (size_t i = 0; i < 3; i++) {
            json_t *v = json_object_get(row, extra[i][1]);
            json_object_set(rec, extra[i][0], v ? v : json_null());
        }
        json_object_set_new(rec, "lines", json_array());
        raise_lm(rec, mlc_ns_row_str(row, "x_llm"));
    }
    char key[24];
    snprintf(key, sizeof key, "%lld", id);
    json_object_set_new(c->out, key, rec);
    c->last = id;
    c->rows++;
    return true;
}

static void negate(json_t *rec, const char *col)
{
    double d;
    if (mlc_ns_row_double(rec, col, &d))
        json_object_set_new(rec, col, json_real(d == 0 ? 0 : -d));
}

static bool take_line(json_t *row, void *ud)
{
    struct collect *c = ud;
    char key[32];
    if (!mlc_ns_row_text(row, "x_tx", key, sizeof key))
        return true;
    json_t *order = json_object_get(c->out, key);
    if (!order)
        return true;
    json_t *line = record_from_row(row);
    json_object_del(line, "id");
    long long v;
    if (mlc_ns_row_i64(row, "x_uniquekey", &v))
        json_object_set_new(line, "uniquekey", json_integer((json_int_t)v));
    if (mlc_ns_row_i64(row, "x_line", &v))
        json_object_set_new(line, "line", json_integer((json_int_t)v));
    json_object_set(line, "sku",
                    json_object_get(row, "x_sku") ? json_object_get(row, "x_sku") : json_null());
    /* posting sign: sales-order quantities and amounts are negative in transactionline */
    negate(line, "quantity");
    negate(line, "netamount");
    raise_lm(order, mlc_ns_row_str(row, "x_lm")); /* the order changed when a line did */
    json_array_append_new(json_object_get(order, "lines"), line);
    c->rows++;
    return true;
}

static bool take_contact(json_t *row, void *ud)
{
    struct collect *c = ud;
    char key[32];
    long long id, pc;
    if (!mlc_ns_row_text(row, "x_company", key, sizeof key) || !mlc_ns_row_i64(row, "id", &id))
        return true;
    json_t *cust = json_object_get(c->out, key);
    if (!cust)
        return true;
    json_t *k = record_from_row(row);
    set_lm(k, mlc_ns_row_str(row, "x_lm"));
    bool primary = mlc_ns_row_i64(row, "x_primary", &pc) && pc == id;
    json_object_set_new(k, "isPrimary", json_boolean(primary));
    json_array_append_new(json_object_get(cust, "contacts"), k);
    c->rows++;
    return true;
}

/* The primary contact: role -10; more than one can match, the lowest id wins. */
#define PRIMARY_OF(company)                                                                        \
    "(SELECT MIN(p.id) FROM contact p WHERE p.company = " company " AND p.contactrole = -10)"

static enum mlc_rc read_batch(struct mlc_ns_session *s, enum mlc_ns_type t, const struct sel *w,
                              json_t *out, long long *last, size_t *rows, size_t *calls,
                              struct mlc_ns_err *e)
{
    struct mlc_buf q;
    mlc_buf_init(&q, 1 << 20);
    struct collect c = {.out = out, .last = w->after, .t = t};
    enum mlc_rc rc = MLC_OK;
    const char *keyset_fmt = NULL;
    if (t == MLC_NS_CUSTOMER) {
        mlc_buf_printf(&q, "SELECT c.id, " UTC("c.lastmodifieddate") " AS x_lm");
        if ((rc = add_columns(&q, "c", MLC_MAP_CUSTOMER, e)) != MLC_OK)
            goto out;
        mlc_buf_printf(&q,
                       ", BUILTIN.DF(c.category) AS x_category, BUILTIN.DF(c.entitystatus) AS "
                       "x_entitystatus, BUILTIN.DF(c.subsidiary) AS x_subsidiary, "
                       "ea.addr1 AS x_ba_addr1, ea.addr2 AS x_ba_addr2, ea.addr3 AS x_ba_addr3, "
                       "ea.city AS x_ba_city, ea.state AS x_ba_state, ea.zip AS x_ba_zip, "
                       "ea.country AS x_ba_country, ea.addressee AS x_ba_addressee, "
                       "ea.attention AS x_ba_attention, " PRIMARY_OF(
                           "c.id") " AS x_primary "
                                   "FROM customer c LEFT JOIN entityaddress ea ON ea.nkey = "
                                   "c.defaultbillingaddress WHERE ");
    } else if (t == MLC_NS_CONTACT) {
        mlc_buf_printf(
            &q, "SELECT k.id, k.company, k.contactrole, " UTC("k.lastmodifieddate") " AS x_lm");
        if ((rc = add_columns(&q, "k", MLC_MAP_CONTACT, e)) != MLC_OK)
            goto out;
        mlc_buf_printf(&q, ", " PRIMARY_OF("k.company") " AS x_primary FROM contact k WHERE ");
    } else {
        mlc_buf_printf(
            &q, "SELECT t.id, " UTC(
                    "t.lastmodifieddate") " AS x_lm, "
                                          "TO_CHAR(t.trandate, 'YYYY-MM-DD') AS "
                                          "x_trandate, " ORDER_LINES_LM " AS x_llm, "
                                          "cur.symbol AS "
                                          "x_currency, BUILTIN.DF(t.status) AS x_statuslabel");
        if ((rc = add_columns(&q, "t", MLC_MAP_ORDER, e)) != MLC_OK)
            goto out;
        mlc_buf_printf(&q, " FROM transaction t LEFT JOIN currency cur ON cur.id = t.currency "
                           "WHERE t.type = 'SalesOrd' AND ");
    }
    const char *idcol = t == MLC_NS_CUSTOMER ? "c.id" : t == MLC_NS_CONTACT ? "k.id" : "t.id";
    where_ids(&q, idcol, w);
    mlc_buf_printf(&q, " ORDER BY %s", idcol);
    if (q.len >= q.max - 1) {
        ns_err_set(e, false, 0, "bug", "the reader's query is too long");
        rc = MLC_EINVAL;
        goto out;
    }
    if (w->ids) {
        rc = mlc_ns_suiteql_all(s, q.data, NULL, "id", take_main, &c, calls, e);
    } else {
        /* range read: exactly one page of up to 1000 records after w->after */
        struct mlc_ns_page pg;
        rc = mlc_ns_suiteql_page(s, q.data, MLC_NS_BATCH, 0, &pg, e);
        if (calls && rc == MLC_OK)
            (*calls)++;
        if (rc == MLC_OK) {
            size_t i;
            json_t *row;
            json_array_foreach(pg.items, i, row) take_main(row, &c);
            mlc_ns_page_free(&pg);
        }
    }
    if (rc != MLC_OK || c.rows == 0 || t == MLC_NS_CONTACT)
        goto out;

    /* the second query: lines of these orders, or contacts of these customers */
    long long *got = mlc_calloc(json_object_size(out) + 1, sizeof *got);
    size_t ng = 0;
    const char *k;
    json_t *v;
    json_object_foreach(out, k, v)
    {
        long long id = (long long)json_integer_value(json_object_get(v, "id"));
        if (w->ids || id > w->after)
            got[ng++] = id;
    }
    mlc_buf_reset(&q);
    if (t == MLC_NS_SALESORDER) {
        mlc_buf_printf(&q, "SELECT tl.uniquekey AS x_uniquekey, tl.transaction AS x_tx, tl.id AS "
                           "x_line, tl.linesequencenumber, i.itemid AS x_sku, " UTC(
                               "tl.linelastmodifieddate") " AS x_lm");
        if ((rc = add_columns(&q, "tl", MLC_MAP_LINE, e)) == MLC_OK) {
            mlc_buf_printf(&q, " FROM transactionline tl LEFT JOIN item i ON i.id = tl.item WHERE "
                               "tl.mainline = 'F' AND NVL(tl.taxline, 'F') = 'F' AND "
                               "tl.transaction IN (");
            id_list(&q, got, ng);
            size_t mark = q.len;
            mlc_buf_printf(&q, ") ORDER BY tl.uniquekey");
            /* keyset variant for orders with more than 100,000 lines in one batch */
            struct mlc_buf kf;
            mlc_buf_init(&kf, 1 << 20);
            mlc_buf_append(&kf, q.data, mark);
            mlc_buf_printf(&kf, ") AND tl.uniquekey > :after ORDER BY tl.uniquekey");
            keyset_fmt = kf.data;
            rc = mlc_ns_suiteql_all(s, q.data, keyset_fmt, "x_uniquekey", take_line, &c, calls, e);
            mlc_buf_free(&kf);
        }
    } else {
        mlc_buf_printf(&q, "SELECT k.id, k.company AS x_company, k.contactrole, " UTC(
                               "k.lastmodifieddate") " AS x_lm");
        if ((rc = add_columns(&q, "k", MLC_MAP_CONTACT, e)) == MLC_OK) {
            mlc_buf_printf(&q, ", " PRIMARY_OF("k.company") " AS x_primary FROM contact k WHERE "
                                                            "k.company IN (");
            id_list(&q, got, ng);
            mlc_buf_printf(&q, ") ORDER BY k.id");
            rc = mlc_ns_suiteql_all(s, q.data, NULL, "id", take_contact, &c, calls, e);
        }
    }
    free(got);
out:
    mlc_buf_free(&q);
    if (last)
        *last = c.last;
    if (rows)
        *rows = c.rows;
    return rc;
}

enum mlc_rc mlc_ns_read(struct mlc_ns_session *s, enum mlc_ns_type t, const long long *ids,
                        size_t n, json_t **out, size_t *calls, struct mlc_ns_err *e)
{
    memset(e, 0, sizeof *e);
    *out = json_object();
    if (t >= MLC_NS__TYPES) {
        ns_err_set(e, false, 0, "bug", "unknown record type");
        return MLC_EINVAL;
    }
    for (size_t off = 0; off < n; off += MLC_NS_BATCH) {
        struct sel w = {ids + off, n - off > MLC_NS_BATCH ? MLC_NS_BATCH : n - off, 0, 0};
        enum mlc_rc rc = read_batch(s, t, &w, *out, NULL, NULL, calls, e);
        if (rc != MLC_OK) {
            json_decref(*out);
            *out = NULL;
            return rc;
        }
    }
    return MLC_OK;
}

enum mlc_rc mlc_ns_read_after(struct mlc_ns_session *s, enum mlc_ns_type t, long long after_id,
                              long long before_id, json_t **out, long long *last_id, bool *more,
                              size_t *calls, struct mlc_ns_err *e)
{
    memset(e, 0, sizeof *e);
    *out = json_object();
    struct sel w = {NULL, 0, after_id, before_id};
    size_t rows = 0;
    enum mlc_rc rc = read_batch(s, t, &w, *out, last_id, &rows, calls, e);
    if (rc != MLC_OK) {
        json_decref(*out);
        *out = NULL;
        return rc;
    }
    *more = json_object_size(*out) == MLC_NS_BATCH;
    return MLC_OK;
}

/* ---- changes and deletions ---- */

enum mlc_rc mlc_ns_changes(struct mlc_ns_session *s, enum mlc_ns_type t, int64_t since_ms,
                           int64_t until_ms, long long after_id, long limit, json_t **rows,
                           bool *more, long long *total, struct mlc_ns_err *e)
{
    memset(e, 0, sizeof *e);
    *rows = NULL;
    char since[20], until[20] = "";
    mlc_ns_format_utc(since_ms, since);
    if (until_ms > 0)
        mlc_ns_format_utc(until_ms, until);
    struct mlc_buf q;
    mlc_buf_init(&q, 8192);
#define TS(x) "TO_TIMESTAMP('" x "', 'YYYY-MM-DD HH24:MI:SS')"
    /* The raw columns are compared in the user's time zone: a coarse filter on them, widened by
     * a day (no zone is more than 14 hours off), lets NetSuite use its indexes; the exact
     * filter is on SYS_EXTRACT_UTC. */
    char coarse[20];
    mlc_ns_format_utc(since_ms > 86400000 ? since_ms - 86400000 : 0, coarse);
#define COARSE(col) col " >= TO_DATE('%s', 'YYYY-MM-DD HH24:MI:SS')"
    if (t == MLC_NS_SALESORDER) {
        /* header OR line changed; the line's date does not always move the header's */
        mlc_buf_printf(&q, "SELECT t.id, %s AS lm, " ORDER_LINES_LM " AS llm ",
                       UTC("t.lastmodifieddate"));
        mlc_buf_printf(&q, "FROM transaction t WHERE t.type = 'SalesOrd' AND t.id > %lld AND ",
                       after_id);
        mlc_buf_printf(&q,
                       "((" COARSE("t.lastmodifieddate") " AND SYS_EXTRACT_UTC("
                                                         "t.lastmodifieddate) >= " TS("%s") ")",
                       coarse, since);
        mlc_buf_printf(&q,
                       " OR t.id IN (SELECT tl.transaction FROM transactionline tl WHERE " COARSE(
                           "tl.linelastmodifieddate") " AND SYS_EXTRACT_UTC("
                                                      "tl.linelastmodifieddate) >= " TS("%s") "))",
                       coarse, since);
        if (until_ms > 0) {
            mlc_buf_printf(&q, " AND SYS_EXTRACT_UTC(t.lastmodifieddate) < " TS("%s"), until);
            mlc_buf_printf(&q,
                           " AND NOT EXISTS (SELECT 1 FROM transactionline tl WHERE "
                           "tl.transaction = t.id AND SYS_EXTRACT_UTC("
                           "tl.linelastmodifieddate) >= " TS("%s") ")",
                           until);
        }
        mlc_buf_printf(&q, " ORDER BY t.id");
    } else {
        const char *tab = t == MLC_NS_CUSTOMER ? "customer" : "contact";
        mlc_buf_printf(&q, "SELECT x.id, %s AS lm FROM %s x WHERE x.id > %lld AND ",
                       UTC("x.lastmodifieddate"), tab, after_id);
        mlc_buf_printf(&q,
                       COARSE("x.lastmodifieddate") " AND SYS_EXTRACT_UTC("
                                                    "x.lastmodifieddate) >= " TS("%s"),
                       coarse, since);
        if (until_ms > 0)
            mlc_buf_printf(&q, " AND SYS_EXTRACT_UTC(x.lastmodifieddate) < " TS("%s"), until);
        mlc_buf_printf(&q, " ORDER BY x.id");
    }
#undef COARSE
    struct mlc_ns_page pg;
    enum mlc_rc rc = mlc_ns_suiteql_page(s, q.data, limit, 0, &pg, e);
    mlc_buf_free(&q);
    if (rc != MLC_OK)
        return rc;
    *rows = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(pg.items, i, row)
    {
        long long id;
        int64_t lm = 0, llm = 0;
        if (!mlc_ns_row_i64(row, "id", &id))
            continue;
        const char *a = mlc_ns_row_str(row, "lm"), *b = mlc_ns_row_str(row, "llm");
        if (a && mlc_ns_parse_utc(a, &lm) != MLC_OK)
            lm = 0;
        if (b && mlc_ns_parse_utc(b, &llm) == MLC_OK && llm > lm)
            lm = llm;
        json_array_append_new(*rows,
                              json_pack("{s:I, s:I}", "id", (json_int_t)id, "lm", (json_int_t)lm));
    }
    *more = pg.has_more;
    if (total)
        *total = pg.total;
    mlc_ns_page_free(&pg);
    return MLC_OK;
}

struct dels {
    json_t *rows;
};

static bool take_del(json_t *row, void *ud)
{
    struct dels *d = ud;
    long long id;
    int64_t at = 0;
    if (!mlc_ns_row_i64(row, "recordid", &id))
        return true;
    const char *a = mlc_ns_row_str(row, "at");
    if (a && mlc_ns_parse_utc(a, &at) != MLC_OK)
        at = 0;
    json_array_append_new(d->rows,
                          json_pack("{s:I, s:I}", "id", (json_int_t)id, "at", (json_int_t)at));
    return true;
}

enum mlc_rc mlc_ns_deletions(struct mlc_ns_session *s, enum mlc_ns_type t, int64_t since_ms,
                             json_t **rows, struct mlc_ns_err *e)
{
    memset(e, 0, sizeof *e);
    /* The type strings are unconfirmed: both the record id and the label form are asked for. */
    static const char *const types[] = {"'customer', 'Customer'", "'contact', 'Contact'",
                                        "'salesorder', 'Sales Order', 'SalesOrd'"};
    char since[20];
    mlc_ns_format_utc(since_ms, since);
    char q[1024], kf[1024];
    snprintf(q, sizeof q,
             "SELECT recordid, " UTC("deleteddate") " AS at FROM DeletedRecord WHERE type IN (%s)"
                                                    " AND SYS_EXTRACT_UTC(deleteddate) >= " TS(
                                                        "%s") " ORDER BY recordid",
             types[t], since);
    snprintf(kf, sizeof kf,
             "SELECT recordid, " UTC("deleteddate") " AS at FROM DeletedRecord WHERE type IN (%s)"
                                                    " AND SYS_EXTRACT_UTC(deleteddate) >= " TS(
                                                        "%s") " AND recordid > :after ORDER BY "
                                                              "recordid",
             types[t], since);
#undef TS
    struct dels d = {json_array()};
    enum mlc_rc rc = mlc_ns_suiteql_all(s, q, kf, "recordid", take_del, &d, NULL, e);
    if (rc != MLC_OK) {
        json_decref(d.rows);
        return rc;
    }
    *rows = d.rows;
    return MLC_OK;
}
