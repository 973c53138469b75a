/* GET /services/rest/record/v1/{customer|contact|salesOrder}[/{id}]: camelCase records, references,
 * sublists, 404 RCRD_DSNT_EXIST. */
#include "internal.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RECORD_BASE "/services/rest/record/v1/"

enum fk { F_TEXT, F_NUM, F_INT, F_BOOL, F_REF, F_DATETIME, F_DATE, F_ID };

struct field {
    const char *json;
    enum fk kind;
    const char *ref_type; /* F_REF: record type of the link */
};

/* Appends the value of column i (and, for F_REF, the refName in column i+1). Returns the number
 * of columns consumed. */
static int put_field(json_t *o, sqlite3_stmt *st, int i, const struct field *f, const char *base)
{
    int t = sqlite3_column_type(st, i);
    if (t == SQLITE_NULL)
        return f->kind == F_REF ? 2 : 1;
    char buf[64];
    switch (f->kind) {
    case F_TEXT:
        json_object_set_new(o, f->json, json_string((const char *)sqlite3_column_text(st, i)));
        return 1;
    case F_NUM:
        json_object_set_new(o, f->json, json_real(sqlite3_column_double(st, i)));
        return 1;
    case F_INT:
        json_object_set_new(o, f->json, json_integer(sqlite3_column_int64(st, i)));
        return 1;
    case F_ID:
        snprintf(buf, sizeof buf, "%lld", (long long)sqlite3_column_int64(st, i));
        json_object_set_new(o, f->json, json_string(buf));
        return 1;
    case F_BOOL:
        json_object_set_new(
            o, f->json, json_boolean(strcmp((const char *)sqlite3_column_text(st, i), "T") == 0));
        return 1;
    case F_DATETIME:
        ns_time_iso_utc(ns_secs_from_days(sqlite3_column_double(st, i)), buf, sizeof buf);
        json_object_set_new(o, f->json, json_string(buf));
        return 1;
    case F_DATE: {
        /* date fields carry no time zone: the user's calendar date */
        char d[32];
        ns_time_format(ns_secs_from_days(sqlite3_column_double(st, i)), 0, "YYYY-MM-DD", d,
                       sizeof d);
        json_object_set_new(o, f->json, json_string(d));
        return 1;
    }
    case F_REF: {
        const char *id = (const char *)sqlite3_column_text(st, i);
        json_t *ref = json_pack("{s:s}", "id", id);
        if (sqlite3_column_type(st, i + 1) != SQLITE_NULL)
            json_object_set_new(ref, "refName",
                                json_string((const char *)sqlite3_column_text(st, i + 1)));
        json_t *links = json_array();
        if (f->ref_type)
            json_array_append_new(
                links, json_pack("{s:s, s:o}", "rel", "self", "href",
                                 json_sprintf("%s" RECORD_BASE "%s/%s", base, f->ref_type, id)));
        json_object_set_new(ref, "links", links);
        json_object_set_new(o, f->json, ref);
        return 2;
    }
    }
    return 1;
}

static json_t *self_links(const char *base, const char *type, const char *id, const char *sub)
{
    return json_pack(
        "[{s:s, s:o}]", "rel", "self", "href",
        json_sprintf("%s" RECORD_BASE "%s/%s%s%s", base, type, id, sub ? "/" : "", sub ? sub : ""));
}

static const char customer_sql[] =
    "SELECT c.id, c.entityid, c.isperson, c.companyname, c.firstname, c.lastname, c.email,"
    " c.phone, c.altphone, c.url, c.creditlimit,"
    " c.category, (SELECT name FROM customercategory WHERE id = c.category),"
    " c.entitystatus, (SELECT entitytype || '-' || name FROM entitystatus WHERE key = "
    "c.entitystatus),"
    " c.subsidiary, (SELECT name FROM subsidiary WHERE id = c.subsidiary),"
    " c.terms, (SELECT name FROM term WHERE id = c.terms),"
    " c.currency, (SELECT name FROM currency WHERE id = c.currency),"
    " c.salesrep, (SELECT entityid FROM employee WHERE id = c.salesrep),"
    " c.parent, (SELECT entityid FROM customer WHERE id = c.parent),"
    " c.isinactive, c.externalid, c.comments, c.datecreated, c.lastmodifieddate,"
    " c.custentity_region, c.custentity_loyalty_tier, c.custentity_crm_sync,"
    " c.custentity_vat_number"
    " FROM customer c WHERE ";
static const struct field customer_fields[] = {
    {"id", F_ID, NULL},
    {"entityId", F_TEXT, NULL},
    {"isPerson", F_BOOL, NULL},
    {"companyName", F_TEXT, NULL},
    {"firstName", F_TEXT, NULL},
    {"lastName", F_TEXT, NULL},
    {"email", F_TEXT, NULL},
    {"phone", F_TEXT, NULL},
    {"altPhone", F_TEXT, NULL},
    {"url", F_TEXT, NULL},
    {"creditLimit", F_NUM, NULL},
    {"category", F_REF, "customerCategory"},
    {"entityStatus", F_REF, "customerStatus"},
    {"subsidiary", F_REF, "subsidiary"},
    {"terms", F_REF, "term"},
    {"currency", F_REF, "currency"},
    {"salesRep", F_REF, "employee"},
    {"parent", F_REF, "customer"},
    {"isInactive", F_BOOL, NULL},
    {"externalId", F_TEXT, NULL},
    {"comments", F_TEXT, NULL},
    {"dateCreated", F_DATETIME, NULL},
    {"lastModifiedDate", F_DATETIME, NULL},
    {"custentity_region", F_TEXT, NULL},
    {"custentity_loyalty_tier", F_TEXT, NULL},
    {"custentity_crm_sync", F_BOOL, NULL},
    {"custentity_vat_number", F_TEXT, NULL},
};

static const char contact_sql[] =
    "SELECT k.id, k.entityid, k.firstname, k.lastname, k.email, k.phone, k.mobilephone, k.title,"
    " k.company, (SELECT entityid FROM customer WHERE id = k.company),"
    " k.contactrole, (SELECT name FROM contactrole WHERE id = k.contactrole),"
    " k.subsidiary, (SELECT name FROM subsidiary WHERE id = k.subsidiary),"
    " k.isinactive, k.externalid, k.datecreated, k.lastmodifieddate"
    " FROM contact k WHERE ";
static const struct field contact_fields[] = {
    {"id", F_ID, NULL},
    {"entityId", F_TEXT, NULL},
    {"firstName", F_TEXT, NULL},
    {"lastName", F_TEXT, NULL},
    {"email", F_TEXT, NULL},
    {"phone", F_TEXT, NULL},
    {"mobilePhone", F_TEXT, NULL},
    {"title", F_TEXT, NULL},
    {"company", F_REF, "customer"},
    {"contactRole", F_REF, "contactRole"},
    {"subsidiary", F_REF, "subsidiary"},
    {"isInactive", F_BOOL, NULL},
    {"externalId", F_TEXT, NULL},
    {"dateCreated", F_DATETIME, NULL},
    {"lastModifiedDate", F_DATETIME, NULL},
};

static const char order_sql[] =
    "SELECT t.id, t.tranid, t.trandate,"
    " t.entity, (SELECT entityid FROM customer WHERE id = t.entity),"
    " t.status, ns_df_status(t.type, t.status),"
    " t.currency, (SELECT name FROM currency WHERE id = t.currency),"
    " t.exchangerate, t.foreigntotal, t.memo, t.externalid, t.otherrefnum,"
    " t.salesrep, (SELECT entityid FROM employee WHERE id = t.salesrep),"
    " t.subsidiary, (SELECT name FROM subsidiary WHERE id = t.subsidiary),"
    " t.terms, (SELECT name FROM term WHERE id = t.terms),"
    " t.shipdate, t.createddate, t.lastmodifieddate, t.custbody_channel, t.custbody_priority,"
    " t.custbody_crm_ref"
    " FROM \"transaction\" t WHERE t.type = 'SalesOrd' AND ";
static const struct field order_fields[] = {
    {"id", F_ID, NULL},
    {"tranId", F_TEXT, NULL},
    {"tranDate", F_DATE, NULL},
    {"entity", F_REF, "customer"},
    {"orderStatus", F_REF, NULL},
    {"currency", F_REF, "currency"},
    {"exchangeRate", F_NUM, NULL},
    {"total", F_NUM, NULL},
    {"memo", F_TEXT, NULL},
    {"externalId", F_TEXT, NULL},
    {"otherRefNum", F_TEXT, NULL},
    {"salesRep", F_REF, "employee"},
    {"subsidiary", F_REF, "subsidiary"},
    {"terms", F_REF, "term"},
    {"shipDate", F_DATE, NULL},
    {"createdDate", F_DATETIME, NULL},
    {"lastModifiedDate", F_DATETIME, NULL},
    {"custbody_channel", F_TEXT, NULL},
    {"custbody_priority", F_TEXT, NULL},
    {"custbody_crm_ref", F_TEXT, NULL},
};

struct rtype {
    const char *name; /* as in the URL */
    const char *table;
    const char *sql;
    const struct field *fields;
    size_t nfields;
    unsigned perm;
    const char *perm_text;
};

static const struct rtype rtypes[] = {
    {"customer", "customer", customer_sql, customer_fields,
     sizeof customer_fields / sizeof customer_fields[0], NS_PERM_CUSTOMER, "Lists -> Customers"},
    {"contact", "contact", contact_sql, contact_fields,
     sizeof contact_fields / sizeof contact_fields[0], NS_PERM_CONTACT, "Lists -> Contacts"},
    {"salesOrder", "transaction", order_sql, order_fields,
     sizeof order_fields / sizeof order_fields[0], NS_PERM_SALESORDER,
     "Transactions -> Sales Order"},
};

static json_t *collection(json_t *items, const char *base, const char *type, const char *id,
                          const char *sub)
{
    size_t n = json_array_size(items);
    return json_pack("{s:o, s:o, s:I, s:I, s:b, s:I}", "links", self_links(base, type, id, sub),
                     "items", items, "totalResults", (json_int_t)n, "count", (json_int_t)n,
                     "hasMore", 0, "offset", (json_int_t)0);
}

static json_t *address_book(sqlite3 *db, long long id, const char *base, bool expand)
{
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);
    if (!expand)
        return json_pack("{s:o}", "links", self_links(base, "customer", ids, "addressBook"));
    sqlite3_stmt *st = NULL;
    json_t *items = json_array();
    if (sqlite3_prepare_v2(db,
                           "SELECT ab.internalid, ab.defaultbilling, ab.defaultshipping, ab.label,"
                           " ea.addr1, ea.addr2, ea.addr3, ea.city, ea.state, ea.zip, ea.country,"
                           " ea.addressee, ea.attention, ea.addrphone"
                           " FROM customeraddressbook ab JOIN entityaddress ea ON ea.nkey ="
                           " ab.addressbookaddress WHERE ab.entity = ?1 ORDER BY ab.internalid",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        static const char *const names[] = {"addr1",     "addr2",    "addr3",   "city",
                                            "state",     "zip",      "country", "addressee",
                                            "attention", "addrPhone"};
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *addr = json_pack("{s:[]}", "links");
            for (int i = 0; i < 10; i++) {
                if (sqlite3_column_type(st, 4 + i) == SQLITE_NULL)
                    continue;
                const char *v = (const char *)sqlite3_column_text(st, 4 + i);
                if (strcmp(names[i], "country") == 0)
                    json_object_set_new(addr, "country",
                                        json_pack("{s:s, s:s}", "id", v, "refName", v));
                else
                    json_object_set_new(addr, names[i], json_string(v));
            }
            json_array_append_new(
                items,
                json_pack("{s:[], s:I, s:I, s:b, s:b, s:s?, s:o}", "links", "id",
                          (json_int_t)sqlite3_column_int64(st, 0), "internalId",
                          (json_int_t)sqlite3_column_int64(st, 0), "defaultBilling",
                          strcmp((const char *)sqlite3_column_text(st, 1), "T") == 0,
                          "defaultShipping",
                          strcmp((const char *)sqlite3_column_text(st, 2), "T") == 0, "label",
                          (const char *)sqlite3_column_text(st, 3), "addressBookAddress", addr));
        }
    }
    sqlite3_finalize(st);
    return collection(items, base, "customer", ids, "addressBook");
}

static json_t *order_items(sqlite3 *db, long long id, const char *base)
{
    sqlite3_stmt *st = NULL;
    json_t *items = json_array();
    if (sqlite3_prepare_v2(db,
                           "SELECT tl.id, tl.item, i.itemid, -tl.quantity, tl.rate, -tl.netamount,"
                           " tl.memo, tl.isclosed, tl.custcol_gift_wrap, tl.custcol_line_note,"
                           " tl.itemtype, i.description"
                           " FROM transactionline tl LEFT JOIN item i ON i.id = tl.item"
                           " WHERE tl.\"transaction\" = ?1 AND tl.mainline = 'F' AND tl.taxline ="
                           " 'F' ORDER BY tl.linesequencenumber",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *line =
                json_pack("{s:[], s:I}", "links", "line", (json_int_t)sqlite3_column_int64(st, 0));
            if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
                char iid[32];
                snprintf(iid, sizeof iid, "%lld", (long long)sqlite3_column_int64(st, 1));
                json_object_set_new(
                    line, "item",
                    json_pack(
                        "{s:s, s:s?, s:o}", "id", iid, "refName",
                        (const char *)sqlite3_column_text(st, 2), "links",
                        json_pack("[{s:s, s:o}]", "rel", "self", "href",
                                  json_sprintf("%s" RECORD_BASE "inventoryItem/%s", base, iid))));
            }
            if (sqlite3_column_type(st, 3) != SQLITE_NULL)
                json_object_set_new(line, "quantity", json_real(sqlite3_column_double(st, 3)));
            if (sqlite3_column_type(st, 4) != SQLITE_NULL)
                json_object_set_new(line, "rate", json_real(sqlite3_column_double(st, 4)));
            if (sqlite3_column_type(st, 5) != SQLITE_NULL)
                json_object_set_new(line, "amount", json_real(sqlite3_column_double(st, 5)));
            if (sqlite3_column_type(st, 6) != SQLITE_NULL)
                json_object_set_new(line, "memo",
                                    json_string((const char *)sqlite3_column_text(st, 6)));
            if (sqlite3_column_type(st, 11) != SQLITE_NULL)
                json_object_set_new(line, "description",
                                    json_string((const char *)sqlite3_column_text(st, 11)));
            json_object_set_new(
                line, "isClosed",
                json_boolean(sqlite3_column_text(st, 7) &&
                             strcmp((const char *)sqlite3_column_text(st, 7), "T") == 0));
            json_object_set_new(
                line, "custcol_gift_wrap",
                json_boolean(sqlite3_column_text(st, 8) &&
                             strcmp((const char *)sqlite3_column_text(st, 8), "T") == 0));
            if (sqlite3_column_type(st, 9) != SQLITE_NULL)
                json_object_set_new(line, "custcol_line_note",
                                    json_string((const char *)sqlite3_column_text(st, 9)));
            if (sqlite3_column_type(st, 10) != SQLITE_NULL)
                json_object_set_new(line, "itemType",
                                    json_pack("{s:s, s:s}", "id", sqlite3_column_text(st, 10),
                                              "refName", sqlite3_column_text(st, 10)));
            json_array_append_new(items, line);
        }
    }
    sqlite3_finalize(st);
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);
    return collection(items, base, "salesOrder", ids, "item");
}

static void not_found(struct ns_sandbox *s, struct mlc_request *r)
{
    ns_count(s, NS_OUT_NOT_FOUND);
    ns_reply_error(r, 404, "RCRD_DSNT_EXIST", NULL,
                   "The record instance does not exist. Provide a valid record instance ID.");
}

static void list_records(struct ns_sandbox *s, struct mlc_request *r, const struct rtype *t)
{
    uint64_t limit = 1000, offset = 0;
    const char *lv = mlc_request_query(r, "limit"), *ov = mlc_request_query(r, "offset");
    if ((lv && (mlc_parse_u64(lv, &limit) != MLC_OK || limit < 1 || limit > 1000)) ||
        (ov && mlc_parse_u64(ov, &offset) != MLC_OK) || offset % limit != 0 || offset >= 100000) {
        ns_count(s, NS_OUT_BAD_REQUEST);
        ns_reply_error(r, 400, "INVALID_PARAMETER",
                       lv && (limit < 1 || limit > 1000) ? "limit" : "offset",
                       "Invalid value for the query parameter 'limit' or 'offset'.");
        return;
    }
    char sql[256];
    snprintf(
        sql, sizeof sql,
        "SELECT id, (SELECT count(*) FROM \"%s\"%s) FROM \"%s\"%s ORDER BY id LIMIT ?1 OFFSET ?2",
        t->table, strcmp(t->table, "transaction") == 0 ? " WHERE type = 'SalesOrd'" : "", t->table,
        strcmp(t->table, "transaction") == 0 ? " WHERE type = 'SalesOrd'" : "");
    json_t *items = json_array();
    long long total = 0;
    pthread_mutex_lock(&s->db_mu);
    s->suiteql_mode = false;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)offset);
        while (sqlite3_step(st) == SQLITE_ROW) {
            char id[32];
            snprintf(id, sizeof id, "%lld", (long long)sqlite3_column_int64(st, 0));
            total = sqlite3_column_int64(st, 1);
            json_array_append_new(items,
                                  json_pack("{s:o, s:s}", "links",
                                            self_links(s->base_url, t->name, id, NULL), "id", id));
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->db_mu);
    if (json_array_size(items) == 0 && offset > 0)
        total = (long long)offset; /* past the end: keep hasMore false */
    long long count = (long long)json_array_size(items);
    bool more = (long long)offset + count < total;
    char base[400];
    snprintf(base, sizeof base, "%s" RECORD_BASE "%s", s->base_url, t->name);
    json_t *links = json_array();
    if (more)
        json_array_append_new(links, json_pack("{s:s, s:o}", "rel", "next", "href",
                                               json_sprintf("%s?limit=%llu&offset=%llu", base,
                                                            (unsigned long long)limit,
                                                            (unsigned long long)(offset + limit))));
    json_array_append_new(
        links, json_pack("{s:s, s:o}", "rel", "self", "href",
                         json_sprintf("%s?limit=%llu&offset=%llu", base, (unsigned long long)limit,
                                      (unsigned long long)offset)));
    ns_count(s, NS_OUT_OK);
    ns_reply_json(r, 200,
                  json_pack("{s:o, s:I, s:b, s:o, s:I, s:I}", "links", links, "count",
                            (json_int_t)count, "hasMore", more, "items", items, "offset",
                            (json_int_t)offset, "totalResults", (json_int_t)total));
}

void ns_record_handle(struct mlc_request *r, void *ud)
{
    struct ns_sandbox *s = ud;
    struct ns_settings st;
    if (!ns_require_method(r, "GET"))
        return;
    if (!ns_api_begin(s, r, NS_CALL_RECORD, &st))
        return;
    const char *path = mlc_request_path(r) + strlen(RECORD_BASE);
    char type[64] = "", idtext[128] = "";
    const char *slash = strchr(path, '/');
    size_t tl = slash ? (size_t)(slash - path) : strlen(path);
    if (tl == 0 || tl >= sizeof type) {
        not_found(s, r);
        goto out;
    }
    memcpy(type, path, tl);
    type[tl] = '\0';
    if (slash)
        snprintf(idtext, sizeof idtext, "%s", slash + 1);
    const struct rtype *t = NULL;
    for (size_t i = 0; i < sizeof rtypes / sizeof rtypes[0]; i++)
        if (strcasecmp(rtypes[i].name, type) == 0)
            t = &rtypes[i];
    if (!t) {
        ns_count(s, NS_OUT_NOT_FOUND);
        ns_reply_error(r, 404, "NONEXISTENT_ID", NULL, "Record type '%s' does not exist.", type);
        goto out;
    }
    if (st.deny & t->perm) {
        ns_count(s, NS_OUT_FORBIDDEN);
        ns_reply_error(r, 403, "INSUFFICIENT_PERMISSION", NULL,
                       "Permission Violation: You need the '%s' permission to access this page. "
                       "Please contact your account administrator.",
                       t->perm_text);
        goto out;
    }
    if (!idtext[0]) {
        list_records(s, r, t);
        goto out;
    }
    const char *ev = mlc_request_query(r, "expandSubResources");
    bool expand = ev && strcasecmp(ev, "true") == 0;
    /* {id}/addressBook of a customer, {id}/item of a sales order: the sublist alone */
    char sub[32] = "";
    char *sl = strchr(idtext, '/');
    if (sl) {
        *sl = '\0';
        if (strlen(sl + 1) >= sizeof sub) {
            not_found(s, r);
            goto out;
        }
        snprintf(sub, sizeof sub, "%s", sl + 1);
        bool known = (t->fields == customer_fields && strcmp(sub, "addressBook") == 0) ||
                     (t->fields == order_fields && strcmp(sub, "item") == 0);
        if (!known) {
            ns_count(s, NS_OUT_NOT_FOUND);
            ns_reply_error(r, 404, "NONEXISTENT_ID", NULL,
                           "The sublist '%s' does not exist on record type '%s'.", sub, t->name);
            goto out;
        }
    }
    uint64_t id = 0;
    bool by_eid = strncmp(idtext, "eid:", 4) == 0;
    if (!by_eid && (mlc_parse_u64(idtext, &id) != MLC_OK || id == 0 || id > (1ull << 53))) {
        not_found(s, r);
        goto out;
    }
    char sql[2048];
    snprintf(sql, sizeof sql, "%s%s", t->sql,
             by_eid ? (strcmp(t->table, "transaction") == 0 ? "t.externalid = ?1"
                       : strcmp(t->table, "contact") == 0   ? "k.externalid = ?1"
                                                            : "c.externalid = ?1")
                    : (strcmp(t->table, "transaction") == 0 ? "t.id = ?1"
                       : strcmp(t->table, "contact") == 0   ? "k.id = ?1"
                                                            : "c.id = ?1"));
    pthread_mutex_lock(&s->db_mu);
    s->suiteql_mode = false;
    s->qset = st;
    sqlite3_stmt *q = NULL;
    json_t *rec = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) == SQLITE_OK) {
        if (by_eid)
            sqlite3_bind_text(q, 1, idtext + 4, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_int64(q, 1, (sqlite3_int64)id);
        bool row = sqlite3_step(q) == SQLITE_ROW;
        if (row && sub[0]) {
            long long rid = sqlite3_column_int64(q, 0);
            rec = t->fields == customer_fields ? address_book(s->db, rid, s->base_url, true)
                                               : order_items(s->db, rid, s->base_url);
        } else if (row) {
            long long rid = sqlite3_column_int64(q, 0);
            char ids[32];
            snprintf(ids, sizeof ids, "%lld", rid);
            rec = json_pack("{s:o}", "links", self_links(s->base_url, t->name, ids, NULL));
            int col = 0;
            for (size_t f = 0; f < t->nfields; f++)
                col += put_field(rec, q, col, &t->fields[f], s->base_url);
            if (t->fields == customer_fields)
                json_object_set_new(rec, "addressBook",
                                    address_book(s->db, rid, s->base_url, expand));
            if (t->fields == order_fields) {
                if (expand)
                    json_object_set_new(rec, "item", order_items(s->db, rid, s->base_url));
                else
                    json_object_set_new(
                        rec, "item",
                        json_pack("{s:o}", "links", self_links(s->base_url, t->name, ids, "item")));
            }
        }
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&s->db_mu);
    if (!rec) {
        not_found(s, r);
        goto out;
    }
    ns_count(s, NS_OUT_OK);
    char *txt = json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    mlc_reply_text(r, 200, "application/vnd.oracle.resource+json; type=singular", txt, strlen(txt));
    free(txt);
out:
    ns_api_end(s);
}
