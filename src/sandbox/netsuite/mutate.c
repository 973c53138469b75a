/* Changes to the data as users, scripts and fulfilment make them: edits, creates, deletes, merges,
 * line-only changes. */
#include "internal.h"
#include "mlc/log.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mctx {
    struct ns_sandbox *s;
    sqlite3 *db;
    char *err;
    size_t errsz;
    unsigned *status;
    struct ns_change ch[8];
    size_t nch;
    bool label;
};

static enum mlc_rc fail(struct mctx *m, unsigned status, const char *msg)
{
    *m->status = status;
    snprintf(m->err, m->errsz, "%s", msg);
    return MLC_EINVAL;
}

static enum mlc_rc db_fail(struct mctx *m)
{
    *m->status = 500;
    snprintf(m->err, m->errsz, "database: %s", sqlite3_errmsg(m->db));
    return MLC_ERR;
}

static void change(struct mctx *m, const char *type, long long id, const char *ev, bool emit)
{
    if (m->nch < sizeof m->ch / sizeof m->ch[0])
        m->ch[m->nch++] = (struct ns_change){type, id, ev, emit};
}

static bool column_exists(sqlite3 *db, const char *table, const char *col)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT 1 FROM pragma_table_info('%s') WHERE name = ?1", table);
    sqlite3_stmt *st = NULL;
    bool ok = false;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, col, -1, SQLITE_TRANSIENT);
        ok = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return ok;
}

static bool ident_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 60)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static void bind_json(sqlite3_stmt *st, int i, json_t *v)
{
    if (json_is_string(v))
        sqlite3_bind_text(st, i, json_string_value(v), -1, SQLITE_TRANSIENT);
    else if (json_is_integer(v))
        sqlite3_bind_int64(st, i, (sqlite3_int64)json_integer_value(v));
    else if (json_is_real(v))
        sqlite3_bind_double(st, i, json_real_value(v));
    else if (json_is_boolean(v))
        sqlite3_bind_text(st, i, json_is_true(v) ? "T" : "F", 1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* lastModifiedDate override (RFC 3339) or now. */
static enum mlc_rc change_time(struct mctx *m, json_t *args, int64_t *secs)
{
    json_t *v = json_object_get(args, "lastModifiedDate");
    if (!v) {
        *secs = mlc_now_ms() / 1000;
        return MLC_OK;
    }
    int64_t ms;
    if (!json_is_string(v) || mlc_parse_rfc3339(json_string_value(v), &ms) != MLC_OK)
        return fail(m, 400, "lastModifiedDate must be an RFC 3339 date-time");
    *secs = ms / 1000;
    return MLC_OK;
}

static bool exists(sqlite3 *db, const char *sql, long long id)
{
    sqlite3_stmt *st = NULL;
    bool ok = false;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        ok = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return ok;
}

static long long next_id(struct mctx *m, const char *key)
{
    long long v = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(m->db, "SELECT v FROM sbx_meta WHERE k = ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (v <= 0)
        v = strcmp(key, "next_tx") == 0 ? 900001 : 9000001;
    if (sqlite3_prepare_v2(m->db, "INSERT OR REPLACE INTO sbx_meta VALUES (?1, ?2)", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, v + 1);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return v;
}

/* UPDATE table SET <fields>, <datecol> = t WHERE <key> = id. */
static enum mlc_rc update_fields(struct mctx *m, const char *table, const char *keycol,
                                 long long id, json_t *fields, const char *datecol, int64_t t)
{
    struct mlc_buf sql;
    mlc_buf_init(&sql, 8192);
    mlc_buf_printf(&sql, "UPDATE \"%s\" SET %s = ?1", table, datecol);
    const char *k;
    json_t *v;
    int n = 2;
    if (fields && !json_is_object(fields)) {
        mlc_buf_free(&sql);
        return fail(m, 400, "fields must be an object of column: value");
    }
    json_object_foreach(fields, k, v)
    {
        if (!ident_ok(k) || strcmp(k, keycol) == 0 || strcmp(k, "id") == 0 ||
            strcmp(k, datecol) == 0 || !column_exists(m->db, table, k)) {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown or read-only column '%.64s' of %s", k, table);
            mlc_buf_free(&sql);
            return fail(m, 400, msg);
        }
        if (json_is_object(v) || json_is_array(v)) {
            mlc_buf_free(&sql);
            return fail(m, 400, "field values are strings, numbers, booleans or null");
        }
        mlc_buf_printf(&sql, ", %s = ?%d", k, n++);
    }
    mlc_buf_printf(&sql, " WHERE %s = ?%d", keycol, n);
    sqlite3_stmt *st = NULL;
    enum mlc_rc rc = MLC_OK;
    if (sqlite3_prepare_v2(m->db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        rc = db_fail(m);
        goto out;
    }
    sqlite3_bind_double(st, 1, ns_days_from_secs(t));
    n = 2;
    json_object_foreach(fields, k, v) bind_json(st, n++, v);
    sqlite3_bind_int64(st, n, id);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_fail(m);
    else if (sqlite3_changes(m->db) == 0)
        rc = fail(m, 404, "no such record");
out:
    sqlite3_finalize(st);
    mlc_buf_free(&sql);
    return rc;
}

static enum mlc_rc deleted_record(struct mctx *m, long long id, const char *type_id,
                                  const char *type_label, const char *name_sql, int64_t t,
                                  const char *context)
{
    char sql[512];
    snprintf(sql, sizeof sql, "INSERT INTO DeletedRecord SELECT ?1, ?2, (%s), ?3, -5, ?4, 'F'",
             name_sql);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(m);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, m->label ? type_label : type_id, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, ns_days_from_secs(t));
    sqlite3_bind_text(st, 4, context, -1, SQLITE_STATIC);
    enum mlc_rc rc = sqlite3_step(st) == SQLITE_DONE ? MLC_OK : db_fail(m);
    sqlite3_finalize(st);
    return rc;
}

static enum mlc_rc exec_id(struct mctx *m, const char *sql, long long id, long long id2, int64_t t)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(m);
    for (int i = 1; i <= sqlite3_bind_parameter_count(st); i++) {
        const char *name = sqlite3_bind_parameter_name(st, i);
        if (name && strcmp(name, "?1") == 0)
            sqlite3_bind_int64(st, i, id);
        else if (name && strcmp(name, "?2") == 0)
            sqlite3_bind_int64(st, i, id2);
        else if (name && strcmp(name, "?3") == 0)
            sqlite3_bind_double(st, i, ns_days_from_secs(t));
    }
    enum mlc_rc rc = sqlite3_step(st) == SQLITE_DONE ? MLC_OK : db_fail(m);
    sqlite3_finalize(st);
    return rc;
}

static long long arg_id(json_t *args, const char *k)
{
    json_t *v = json_object_get(args, k);
    if (json_is_integer(v))
        return (long long)json_integer_value(v);
    uint64_t n;
    if (json_is_string(v) && mlc_parse_u64(json_string_value(v), &n) == MLC_OK)
        return (long long)n;
    return 0;
}

static bool arg_bool(json_t *args, const char *k, bool def)
{
    json_t *v = json_object_get(args, k);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

static const char *arg_str(json_t *args, const char *k, const char *def)
{
    const char *v = json_string_value(json_object_get(args, k));
    return v && *v ? v : def;
}

/* ---- customers and contacts ---- */

static enum mlc_rc entity_update(struct mctx *m, const char *table, const char *type, json_t *args)
{
    long long id = arg_id(args, "id");
    int64_t t;
    if (!id)
        return fail(m, 400, "id is required");
    if (change_time(m, args, &t) != MLC_OK)
        return MLC_EINVAL;
    enum mlc_rc rc =
        update_fields(m, table, "id", id, json_object_get(args, "fields"), "lastmodifieddate", t);
    if (rc == MLC_OK)
        change(m, type, id, arg_str(args, "eventType", "edit"), arg_bool(args, "emit", true));
    return rc;
}

static enum mlc_rc customer_create(struct mctx *m, json_t *args)
{
    int64_t t;
    if (change_time(m, args, &t) != MLC_OK)
        return MLC_EINVAL;
    long long id = next_id(m, "next_entity");
    json_t *fields = json_object_get(args, "fields");
    const char *company = json_string_value(json_object_get(fields, "companyname"));
    char entityid[256];
    snprintf(entityid, sizeof entityid, "CUST%lld %s", id, company ? company : "New Customer");
    if (exec_id(m,
                "INSERT INTO customer (id, entityid, isperson, companyname, entitystatus,"
                " searchstage, subsidiary, currency, isinactive, datecreated, lastmodifieddate,"
                " custentity_crm_sync) VALUES (?1, 'x', 'F', 'New Customer', 13, 'Customer', 1, 1,"
                " 'F', ?3, ?3, 'T')",
                id, 0, t) != MLC_OK)
        return MLC_ERR;
    json_t *all = json_object();
    json_object_set_new(all, "entityid", json_string(entityid));
    if (fields && json_is_object(fields))
        json_object_update(all, fields);
    enum mlc_rc rc = update_fields(m, "customer", "id", id, all, "lastmodifieddate", t);
    json_decref(all);
    if (rc == MLC_OK)
        change(m, "customer", id, "create", arg_bool(args, "emit", true));
    return rc;
}

static enum mlc_rc contact_create(struct mctx *m, json_t *args)
{
    int64_t t;
    if (change_time(m, args, &t) != MLC_OK)
        return MLC_EINVAL;
    long long company = arg_id(args, "company");
    if (company && !exists(m->db, "SELECT 1 FROM customer WHERE id = ?1", company))
        return fail(m, 404, "no such customer");
    long long id = next_id(m, "next_entity");
    if (exec_id(m,
                "INSERT INTO contact (id, entityid, firstname, lastname, company, subsidiary,"
                " isinactive, datecreated, lastmodifieddate) VALUES (?1, 'New Contact', 'New',"
                " 'Contact', NULLIF(?2, 0), 1, 'F', ?3, ?3)",
                id, company, t) != MLC_OK)
        return MLC_ERR;
    enum mlc_rc rc = update_fields(m, "contact", "id", id, json_object_get(args, "fields"),
                                   "lastmodifieddate", t);
    if (rc == MLC_OK)
        change(m, "contact", id, "create", arg_bool(args, "emit", true));
    return rc;
}

static enum mlc_rc customer_delete(struct mctx *m, json_t *args)
{
    long long id = arg_id(args, "id");
    int64_t t;
    if (!id || !exists(m->db, "SELECT 1 FROM customer WHERE id = ?1", id))
        return fail(m, 404, "no such customer");
    if (change_time(m, args, &t) != MLC_OK)
        return MLC_EINVAL;
    if (exists(m->db, "SELECT 1 FROM \"transaction\" WHERE entity = ?1", id))
        return fail(m, 409,
                    "This record cannot be deleted because it has dependent records "
                    "(transactions). Merge it into another customer instead.");
    if (deleted_record(m, id, "customer", "Customer", "SELECT entityid FROM customer WHERE id = ?1",
                       t, arg_str(args, "context", "UI")) != MLC_OK ||
        exec_id(m, "UPDATE contact SET company = NULL, lastmodifieddate = ?3 WHERE company = ?1",
                id, 0, t) != MLC_OK ||
        exec_id(m, "UPDATE customer SET parent = NULL, lastmodifieddate = ?3 WHERE parent = ?1", id,
                0, t) != MLC_OK ||
        exec_id(m, "DELETE FROM entityaddress WHERE recordowner = ?1", id, 0, t) != MLC_OK ||
        exec_id(m, "DELETE FROM customeraddressbook WHERE entity = ?1", id, 0, t) != MLC_OK ||
        exec_id(m, "DELETE FROM customer WHERE id = ?1", id, 0, t) != MLC_OK)
        return MLC_ERR;
    change(m, "customer", id, "delete", arg_bool(args, "emit", true));
    return MLC_OK;
}

static enum mlc_rc contact_delete(struct mctx *m, json_t *args)
{
    long long id = arg_id(args, "id");
    int64_t t;
    if (!id || !exists(m->db, "SELECT 1 FROM contact WHERE id = ?1", id))
        return fail(m, 404, "no such contact");
    if (change_time(m, args, &t) != MLC_OK)
        return MLC_EINVAL;
    if (deleted_record(m, id, "contact", "Contact", "SELECT entityid FROM contact WHERE id = ?1", t,
                       arg_str(args, "context", "UI")) != MLC_OK ||
        exec_id(m, "DELETE FROM contact WHERE id = ?1", id, 0, t) != MLC_OK)
        return MLC_ERR;
    change(m, "contact", id, "delete", arg_bool(args, "emit", true));
    return MLC_OK;
}

/* The duplicate's transactions and contacts move to the survivor; the duplicate is deleted. */
static enum mlc_rc customer_merge(struct mctx *m, json_t *args)
{
    long long dup = arg_id(args, "id"), into = arg_id(args, "into");
    int64_t t;
    if (!dup || !into || dup == into)
        return fail(m, 400, "id (the duplicate) and into (the survivor) are required and differ");
    if (!exists(m->db, "SELECT 1 FROM customer WHERE id = ?1", dup) ||
        !exists(m->db, "SELECT 1 FROM customer WHERE id = ?1", into))
        return fail(m, 404, "no such customer");
    if (change_time(m, args, &t) != MLC_OK)
        return MLC_EINVAL;
    if (exec_id(m,
                "UPDATE \"transaction\" SET entity = ?2, lastmodifieddate = ?3 WHERE entity = ?1",
                dup, into, t) != MLC_OK ||
        exec_id(m, "UPDATE contact SET company = ?2, lastmodifieddate = ?3 WHERE company = ?1", dup,
                into, t) != MLC_OK ||
        exec_id(m, "UPDATE customer SET parent = ?2, lastmodifieddate = ?3 WHERE parent = ?1", dup,
                into, t) != MLC_OK ||
        exec_id(m, "UPDATE customer SET lastmodifieddate = ?3 WHERE id = ?2", dup, into, t) !=
            MLC_OK ||
        deleted_record(m, dup, "customer", "Customer",
                       "SELECT entityid FROM customer WHERE id = ?1", t, "Merge") != MLC_OK ||
        exec_id(m, "DELETE FROM entityaddress WHERE recordowner = ?1", dup, 0, t) != MLC_OK ||
        exec_id(m, "DELETE FROM customeraddressbook WHERE entity = ?1", dup, 0, t) != MLC_OK ||
        exec_id(m, "DELETE FROM customer WHERE id = ?1", dup, 0, t) != MLC_OK)
        return MLC_ERR;
    bool emit = arg_bool(args, "emit", true);
    change(m, "customer", dup, "delete", emit);
    change(m, "customer", into, "edit", emit);
    return MLC_OK;
}

/* ---- sales orders ---- */

static enum mlc_rc order_totals(struct mctx *m, long long id, int64_t t)
{
    (void)t;
    return exec_id(
               m,
               "UPDATE \"transaction\" SET foreigntotal = (SELECT round(-sum(netamount), 2) FROM"
               " transactionline WHERE \"transaction\" = ?1 AND mainline = 'F') WHERE id = ?1;",
               id, 0, t) != MLC_OK
               ? MLC_ERR
               : exec_id(m,
                         "UPDATE transactionline SET netamount = (SELECT foreigntotal FROM"
                         " \"transaction\" WHERE id = ?1), foreignamount = (SELECT foreigntotal"
                         " FROM \"transaction\" WHERE id = ?1) WHERE \"transaction\" = ?1 AND"
                         " mainline = 'T'",
                         id, 0, t);
}

static enum mlc_rc order_update(struct mctx *m, json_t *args)
{
    long long id = arg_id(args, "id");
    int64_t t;
    if (!id ||
        !exists(m->db, "SELECT 1 FROM \"transaction\" WHERE id = ?1 AND type = 'SalesOrd'", id))
        return fail(m, 404, "no such sales order");
    if (change_time(m, args, &t) != MLC_OK)
        return MLC_EINVAL;
    json_t *fields = json_object_get(args, "fields");
    const char *status = json_string_value(json_object_get(fields, "status"));
    if (status && (strlen(status) != 1 || status[0] < 'A' || status[0] > 'H'))
        return fail(m, 400, "status is one letter A-H");
    enum mlc_rc rc = update_fields(m, "transaction", "id", id, fields, "lastmodifieddate", t);
    if (rc == MLC_OK && status && (status[0] == 'C' || status[0] == 'H'))
        rc = exec_id(m,
                     "UPDATE transactionline SET isclosed = 'T', linelastmodifieddate = ?3 WHERE"
                     " \"transaction\" = ?1",
                     id, 0, t);
    if (rc == MLC_OK)
        change(m, "salesorder", id, arg_str(args, "eventType", "edit"),
               arg_bool(args, "emit", true));
    return rc;
}

/* A line changes. The line's date moves; the order's only when the order itself is saved
 * (touchHeader), as when fulfilment or billing updates quantities it does not. */
static enum mlc_rc order_line(struct mctx *m, json_t *args)
{
    long long id = arg_id(args, "id"), line = arg_id(args, "line");
    int64_t t;
    if (!id || !line)
        return fail(m, 400, "id and line are required");
    if (change_time(m, args, &t) != MLC_OK)
        return MLC_EINVAL;
    sqlite3_stmt *st = NULL;
    long long key = 0;
    if (sqlite3_prepare_v2(m->db,
                           "SELECT uniquekey FROM transactionline WHERE \"transaction\" = ?1 AND"
                           " id = ?2 AND mainline = 'F'",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, line);
        if (sqlite3_step(st) == SQLITE_ROW)
            key = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (!key)
        return fail(m, 404, "no such line on that sales order");
    json_t *fields = json_deep_copy(json_object_get(args, "fields"));
    if (!fields)
        fields = json_object();
    /* quantity is given as users see it (positive) and stored with the posting sign */
    json_t *q = json_object_get(fields, "quantity");
    if (json_is_number(q))
        json_object_set_new(fields, "quantity", json_real(-json_number_value(q)));
    enum mlc_rc rc =
        update_fields(m, "transactionline", "uniquekey", key, fields, "linelastmodifieddate", t);
    json_decref(fields);
    if (rc == MLC_OK)
        rc = exec_id(m,
                     "UPDATE transactionline SET netamount = round(quantity * rate, 2),"
                     " foreignamount = round(quantity * rate, 2) WHERE uniquekey = ?1 AND"
                     " itemtype = 'InvtPart'",
                     key, 0, t);
    if (rc == MLC_OK)
        rc = order_totals(m, id, t);
    bool touch = arg_bool(args, "touchHeader", false);
    if (rc == MLC_OK && touch)
        rc = exec_id(m, "UPDATE \"transaction\" SET lastmodifieddate = ?3 WHERE id = ?1", id, 0, t);
    if (rc == MLC_OK)
        change(m, "salesorder", id, "edit", arg_bool(args, "emit", touch));
    return rc;
}

static enum mlc_rc order_delete(struct mctx *m, json_t *args)
{
    long long id = arg_id(args, "id");
    int64_t t;
    if (!id ||
        !exists(m->db, "SELECT 1 FROM \"transaction\" WHERE id = ?1 AND type = 'SalesOrd'", id))
        return fail(m, 404, "no such sales order");
    if (change_time(m, args, &t) != MLC_OK)
        return MLC_EINVAL;
    if (deleted_record(m, id, "salesorder", "Sales Order",
                       "SELECT 'Sales Order #' || tranid FROM \"transaction\" WHERE id = ?1", t,
                       arg_str(args, "context", "UI")) != MLC_OK ||
        exec_id(m, "DELETE FROM transactionline WHERE \"transaction\" = ?1", id, 0, t) != MLC_OK ||
        exec_id(m, "DELETE FROM \"transaction\" WHERE id = ?1", id, 0, t) != MLC_OK)
        return MLC_ERR;
    change(m, "salesorder", id, "delete", arg_bool(args, "emit", true));
    return MLC_OK;
}

static enum mlc_rc order_create(struct mctx *m, json_t *args)
{
    long long entity = arg_id(args, "entity");
    int64_t t;
    json_t *lines = json_object_get(args, "lines");
    if (!entity || !exists(m->db, "SELECT 1 FROM customer WHERE id = ?1", entity))
        return fail(m, 404, "entity must name a customer");
    if (!json_is_array(lines) || json_array_size(lines) == 0 || json_array_size(lines) > 10000)
        return fail(m, 400, "lines must be an array of 1 to 10000 {item, quantity, rate}");
    if (change_time(m, args, &t) != MLC_OK)
        return MLC_EINVAL;
    long long id = next_id(m, "next_tx");
    if (exec_id(m,
                "INSERT INTO \"transaction\" (id, tranid, type, trandate, entity, status, currency,"
                " exchangerate, foreigntotal, subsidiary, createddate, lastmodifieddate)"
                " SELECT ?1, 'SO' || ?1, 'SalesOrd', ?3, id,"
                " 'B', currency, 1.0, 0, subsidiary, ?3, ?3 FROM customer WHERE id = ?2",
                id, entity, t) != MLC_OK)
        return MLC_ERR;
    int64_t midnight = t;
    ns_time_trunc(t, "DD", &midnight);
    if (exec_id(m, "UPDATE \"transaction\" SET trandate = ?3 WHERE id = ?1", id, 0, midnight) !=
        MLC_OK)
        return MLC_ERR;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(m->db,
                           "INSERT INTO transactionline (id, \"transaction\", linesequencenumber,"
                           " mainline, taxline, item, itemtype, quantity, rate, netamount,"
                           " foreignamount, isclosed, linecreateddate, linelastmodifieddate,"
                           " custcol_gift_wrap) VALUES (?1, ?2, ?1, ?3, 'F', ?4, ?5, ?6, ?7, ?8,"
                           " ?8, 'F', ?9, ?9, 'F')",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(m);
    size_t i;
    json_t *l;
    enum mlc_rc rc = MLC_OK;
    json_array_foreach(lines, i, l)
    {
        long long item = arg_id(l, "item");
        double qty = json_number_value(json_object_get(l, "quantity"));
        double rate = json_number_value(json_object_get(l, "rate"));
        if (!item || !exists(m->db, "SELECT 1 FROM item WHERE id = ?1", item) || qty <= 0) {
            rc = fail(m, 400, "each line needs an existing item and a positive quantity");
            break;
        }
        sqlite3_bind_int64(st, 1, (sqlite3_int64)i + 1);
        sqlite3_bind_int64(st, 2, id);
        sqlite3_bind_text(st, 3, "F", 1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, item);
        sqlite3_bind_text(st, 5, "InvtPart", -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 6, -qty);
        sqlite3_bind_double(st, 7, rate);
        sqlite3_bind_double(st, 8, -round(qty * rate * 100.0) / 100.0);
        sqlite3_bind_double(st, 9, ns_days_from_secs(t));
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = db_fail(m);
            break;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc == MLC_OK)
        rc = exec_id(m,
                     "INSERT INTO transactionline (id, \"transaction\", linesequencenumber,"
                     " mainline, taxline, isclosed, linecreateddate, linelastmodifieddate)"
                     " VALUES (0, ?1, 0, 'T', 'F', 'F', ?3, ?3)",
                     id, 0, t);
    if (rc == MLC_OK)
        rc = order_totals(m, id, t);
    if (rc == MLC_OK)
        change(m, "salesorder", id, "create", arg_bool(args, "emit", true));
    return rc;
}

/* ---- entry points ---- */

struct op {
    const char *name;
    enum mlc_rc (*fn)(struct mctx *, json_t *);
};

static enum mlc_rc customer_update(struct mctx *m, json_t *a)
{
    return entity_update(m, "customer", "customer", a);
}

static enum mlc_rc contact_update(struct mctx *m, json_t *a)
{
    return entity_update(m, "contact", "contact", a);
}

static const struct op ops[] = {
    {"customer.update", customer_update}, {"customer.create", customer_create},
    {"customer.delete", customer_delete}, {"customer.merge", customer_merge},
    {"contact.update", contact_update},   {"contact.create", contact_create},
    {"contact.delete", contact_delete},   {"salesorder.update", order_update},
    {"salesorder.line", order_line},      {"salesorder.create", order_create},
    {"salesorder.delete", order_delete},
};

static enum mlc_rc run(struct ns_sandbox *s, const char *op, json_t *args, struct mctx *m)
{
    const struct op *o = NULL;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].name, op) == 0)
            o = &ops[i];
    if (!o)
        return fail(m, 404, "unknown operation");
    if (!json_is_object(args))
        return fail(m, 400, "the body must be a JSON object");
    sqlite3_exec(m->db, "SAVEPOINT mutate", NULL, NULL, NULL);
    enum mlc_rc rc = o->fn(m, args);
    if (rc == MLC_OK) {
        sqlite3_exec(m->db, "RELEASE mutate", NULL, NULL, NULL);
    } else {
        sqlite3_exec(m->db, "ROLLBACK TO mutate", NULL, NULL, NULL);
        sqlite3_exec(m->db, "RELEASE mutate", NULL, NULL, NULL);
    }
    return rc;
}

static json_t *changes_json(const struct mctx *m)
{
    json_t *a = json_array();
    for (size_t i = 0; i < m->nch; i++)
        json_array_append_new(a,
                              json_pack("{s:s, s:I, s:s, s:b}", "recordType", m->ch[i].record_type,
                                        "id", (json_int_t)m->ch[i].id, "eventType",
                                        m->ch[i].event_type, "event", m->ch[i].emit));
    return a;
}

static void emit_all(struct ns_sandbox *s, const struct mctx *m)
{
    for (size_t i = 0; i < m->nch; i++)
        if (m->ch[i].emit)
            ns_events_emit(s, m->ch[i].record_type, m->ch[i].id, m->ch[i].event_type);
}

enum mlc_rc ns_mutate(struct ns_sandbox *s, const char *op, json_t *args, json_t **result,
                      unsigned *status, char *err, size_t errsz)
{
    struct ns_settings st = ns_settings_get(s);
    struct mctx m = {.s = s,
                     .db = s->db,
                     .err = err,
                     .errsz = errsz,
                     .status = status,
                     .label = st.deleted_type_label};
    *status = 200;
    pthread_mutex_lock(&s->db_mu);
    s->suiteql_mode = false;
    s->qset = st;
    enum mlc_rc rc = run(s, op, args, &m);
    pthread_mutex_unlock(&s->db_mu);
    if (rc != MLC_OK)
        return rc;
    atomic_fetch_add(&s->data_version, 1);
    emit_all(s, &m);
    *result = json_pack("{s:o}", "changes", changes_json(&m));
    return MLC_OK;
}

void ns_deleted_relabel(struct ns_sandbox *s, bool label)
{
    const char *sql = label ? "UPDATE DeletedRecord SET type = CASE type WHEN 'customer' THEN"
                              " 'Customer' WHEN 'contact' THEN 'Contact' WHEN 'salesorder' THEN"
                              " 'Sales Order' ELSE type END"
                            : "UPDATE DeletedRecord SET type = CASE type WHEN 'Customer' THEN"
                              " 'customer' WHEN 'Contact' THEN 'contact' WHEN 'Sales Order' THEN"
                              " 'salesorder' ELSE type END";
    char err[256];
    pthread_mutex_lock(&s->db_mu);
    s->suiteql_mode = false;
    if (ns_db_exec(s, sql, err, sizeof err) != MLC_OK)
        mlc_log(MLC_LOG_ERROR, "sandbox: DeletedRecord.type: %s", err);
    pthread_mutex_unlock(&s->db_mu);
    atomic_fetch_add(&s->data_version, 1);
}

/* ---- a scripted change stream ---- */

static uint64_t mix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static long long pick_id(sqlite3 *db, const char *sql, uint64_t r)
{
    sqlite3_stmt *st = NULL;
    long long id = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)(r % 1000000007ull));
        if (sqlite3_step(st) == SQLITE_ROW)
            id = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return id;
}

enum mlc_rc ns_mutate_random(struct ns_sandbox *s, long n, uint64_t seed, json_t **result,
                             char *err, size_t errsz)
{
    uint64_t x = seed ^ 0xabcdef12345ull;
    json_t *all = json_array();
    /* Rows are picked by an offset into the table ordered by id (deterministic for a seed). */
    static const char *const pick_customer = "SELECT id FROM customer ORDER BY id LIMIT 1 OFFSET "
                                             "(?1 % (SELECT max(count(*), 1) FROM customer))";
    static const char *const pick_contact = "SELECT id FROM contact ORDER BY id LIMIT 1 OFFSET (?1 "
                                            "% (SELECT max(count(*), 1) FROM contact))";
    static const char *const pick_order =
        "SELECT id FROM \"transaction\" ORDER BY id LIMIT 1 OFFSET (?1 % (SELECT max(count(*), 1)"
        " FROM \"transaction\"))";
    static const char *const tiers[] = {"Gold", "Silver", "Bronze"};
    for (long i = 0; i < n; i++) {
        uint64_t r = mix(&x), r2 = mix(&x);
        int kind = (int)(r % 100);
        const char *op;
        json_t *args;
        pthread_mutex_lock(&s->db_mu);
        long long cid = pick_id(s->db, pick_customer, r2);
        long long kid = pick_id(s->db, pick_contact, r2);
        long long oid = pick_id(s->db, pick_order, r2);
        pthread_mutex_unlock(&s->db_mu);
        if (kind < 45 && cid) {
            op = "customer.update";
            char phone[32];
            snprintf(phone, sizeof phone, "+1 206 555 %04u", (unsigned)(r2 % 10000));
            args = json_pack("{s:I, s:{s:s, s:s}}", "id", (json_int_t)cid, "fields", "phone", phone,
                             "custentity_loyalty_tier", tiers[r2 % 3]);
        } else if (kind < 55 && kid) {
            op = "contact.update";
            args = json_pack("{s:I, s:{s:s}}", "id", (json_int_t)kid, "fields", "title",
                             (r2 & 1) ? "Head of Purchasing" : "Buyer");
        } else if (kind < 80 && oid) {
            op = "salesorder.update";
            char st[2] = {(char)('A' + r2 % 8), 0};
            args = json_pack("{s:I, s:{s:s}}", "id", (json_int_t)oid, "fields", "status", st);
        } else if (kind < 95 && oid) {
            op = "salesorder.line";
            args = json_pack("{s:I, s:I, s:{s:I}, s:b}", "id", (json_int_t)oid, "line",
                             (json_int_t)1, "fields", "quantity", (json_int_t)(1 + r2 % 9),
                             "touchHeader", (r2 >> 8) % 3 == 0);
        } else {
            op = "customer.create";
            char name[64];
            snprintf(name, sizeof name, "Stream Customer %llu", (unsigned long long)(r2 % 100000));
            args = json_pack("{s:{s:s}}", "fields", "companyname", name);
        }
        json_t *res = NULL;
        unsigned status;
        char e[256];
        if (ns_mutate(s, op, args, &res, &status, e, sizeof e) == MLC_OK) {
            json_object_set_new(res, "op", json_string(op));
            json_array_append_new(all, res);
        } else {
            json_array_append_new(all, json_pack("{s:s, s:s}", "op", op, "error", e));
        }
        json_decref(args);
    }
    (void)err;
    (void)errsz;
    *result = json_pack("{s:o}", "results", all);
    return MLC_OK;
}
