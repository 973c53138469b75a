/* The emulated account's SQLite database: NetSuite's tables and columns, the Oracle functions, the
 * SuiteQL authorizer. */
#include "internal.h"
#include "mlc/log.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Tables and columns as SuiteQL names them. Datetimes are REAL days since the Unix epoch (UTC)
 * declared DATETIME; date-only fields are the user's local midnight, declared DATE. Booleans are
 * 'T'/'F'. `transaction` is an SQLite keyword: it is always quoted (the translator does it too). */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS subsidiary(id INTEGER PRIMARY KEY, name TEXT, fullname TEXT,"
    " country TEXT, currency INTEGER, parent INTEGER, isinactive TEXT, iselimination TEXT,"
    " lastmodifieddate DATETIME);"
    "CREATE TABLE IF NOT EXISTS currency(id INTEGER PRIMARY KEY, name TEXT, symbol TEXT,"
    " displaysymbol TEXT, exchangerate REAL, isbasecurrency TEXT, isinactive TEXT,"
    " currencyprecision INTEGER, lastmodifieddate DATETIME);"
    "CREATE TABLE IF NOT EXISTS customercategory(id INTEGER PRIMARY KEY, name TEXT, isinactive "
    "TEXT);"
    "CREATE TABLE IF NOT EXISTS entitystatus(key INTEGER PRIMARY KEY, name TEXT, entitytype TEXT,"
    " probability REAL, descr TEXT, isinactive TEXT);"
    "CREATE TABLE IF NOT EXISTS term(id INTEGER PRIMARY KEY, name TEXT, daysuntilnetdue INTEGER,"
    " isinactive TEXT);"
    "CREATE TABLE IF NOT EXISTS contactrole(id INTEGER PRIMARY KEY, name TEXT, isinactive TEXT);"
    "CREATE TABLE IF NOT EXISTS employee(id INTEGER PRIMARY KEY, entityid TEXT, firstname TEXT,"
    " lastname TEXT, email TEXT, phone TEXT, title TEXT, issalesrep TEXT, subsidiary INTEGER,"
    " isinactive TEXT, datecreated DATETIME, lastmodifieddate DATETIME);"
    "CREATE TABLE IF NOT EXISTS item(id INTEGER PRIMARY KEY, itemid TEXT, displayname TEXT,"
    " description TEXT, itemtype TEXT, upccode TEXT, isinactive TEXT, subsidiary INTEGER,"
    " custitem_brand TEXT, createddate DATETIME, lastmodifieddate DATETIME);"
    "CREATE TABLE IF NOT EXISTS customer(id INTEGER PRIMARY KEY, entityid TEXT, isperson TEXT,"
    " companyname TEXT, firstname TEXT, lastname TEXT, email TEXT, phone TEXT, altphone TEXT,"
    " fax TEXT, url TEXT, creditlimit REAL, category INTEGER, entitystatus INTEGER,"
    " searchstage TEXT, subsidiary INTEGER, terms INTEGER, currency INTEGER, salesrep INTEGER,"
    " parent INTEGER, isinactive TEXT, externalid TEXT, comments TEXT, datecreated DATETIME,"
    " lastmodifieddate DATETIME, defaultbillingaddress INTEGER, defaultshippingaddress INTEGER,"
    " custentity_region TEXT, custentity_loyalty_tier TEXT, custentity_crm_sync TEXT,"
    " custentity_vat_number TEXT);"
    "CREATE TABLE IF NOT EXISTS entityaddress(nkey INTEGER PRIMARY KEY, addr1 TEXT, addr2 TEXT,"
    " addr3 TEXT, city TEXT, state TEXT, zip TEXT, country TEXT, addressee TEXT, attention TEXT,"
    " addrphone TEXT, recordowner INTEGER, lastmodifieddate DATETIME);"
    "CREATE TABLE IF NOT EXISTS customeraddressbook(internalid INTEGER PRIMARY KEY, entity INTEGER,"
    " addressbookaddress INTEGER, defaultbilling TEXT, defaultshipping TEXT, label TEXT);"
    "CREATE TABLE IF NOT EXISTS contact(id INTEGER PRIMARY KEY, entityid TEXT, firstname TEXT,"
    " lastname TEXT, email TEXT, phone TEXT, mobilephone TEXT, title TEXT, company INTEGER,"
    " contactrole INTEGER, subsidiary INTEGER, isinactive TEXT, externalid TEXT,"
    " datecreated DATETIME, lastmodifieddate DATETIME);"
    "CREATE TABLE IF NOT EXISTS \"transaction\"(id INTEGER PRIMARY KEY, tranid TEXT, type TEXT,"
    " trandate DATE, entity INTEGER, status TEXT, currency INTEGER, exchangerate REAL,"
    " foreigntotal REAL, memo TEXT, externalid TEXT, otherrefnum TEXT, salesrep INTEGER,"
    " subsidiary INTEGER, terms INTEGER, shipdate DATE, createddate DATETIME,"
    " lastmodifieddate DATETIME, custbody_channel TEXT, custbody_priority TEXT,"
    " custbody_crm_ref TEXT);"
    "CREATE TABLE IF NOT EXISTS transactionline(uniquekey INTEGER PRIMARY KEY, id INTEGER,"
    " \"transaction\" INTEGER, linesequencenumber INTEGER, mainline TEXT, taxline TEXT,"
    " item INTEGER, itemtype TEXT, quantity REAL, rate REAL, netamount REAL, foreignamount REAL,"
    " memo TEXT, isclosed TEXT, quantityshiprecv REAL, quantitybilled REAL,"
    " linecreateddate DATETIME, linelastmodifieddate DATETIME, custcol_gift_wrap TEXT,"
    " custcol_line_note TEXT);"
    "CREATE TABLE IF NOT EXISTS DeletedRecord(recordid INTEGER, type TEXT, name TEXT,"
    " deleteddate DATETIME, deletedby INTEGER, context TEXT, iscustomrecord TEXT);"
    "CREATE TABLE IF NOT EXISTS dual(dummy TEXT);"
    "CREATE TABLE IF NOT EXISTS sbx_meta(k TEXT PRIMARY KEY, v TEXT);";

static const char indexes[] =
    "CREATE INDEX IF NOT EXISTS customer_lmd ON customer(lastmodifieddate);"
    "CREATE INDEX IF NOT EXISTS customer_parent ON customer(parent);"
    "CREATE INDEX IF NOT EXISTS contact_company ON contact(company);"
    "CREATE INDEX IF NOT EXISTS contact_lmd ON contact(lastmodifieddate);"
    "CREATE INDEX IF NOT EXISTS tx_entity ON \"transaction\"(entity);"
    "CREATE INDEX IF NOT EXISTS tx_lmd ON \"transaction\"(lastmodifieddate);"
    "CREATE INDEX IF NOT EXISTS tl_tx ON transactionline(\"transaction\", id);"
    "CREATE INDEX IF NOT EXISTS tl_lmd ON transactionline(linelastmodifieddate);"
    "CREATE INDEX IF NOT EXISTS ab_entity ON customeraddressbook(entity);"
    "CREATE INDEX IF NOT EXISTS dr_date ON DeletedRecord(deleteddate);";

/* ---- Oracle functions ---- */

static struct ns_sandbox *sbx(sqlite3_context *c)
{
    return sqlite3_user_data(c);
}

static bool is_num(sqlite3_value *v)
{
    int t = sqlite3_value_type(v);
    return t == SQLITE_INTEGER || t == SQLITE_FLOAT;
}

/* A datetime argument: a number of days, or text in the user's preference format. */
static bool arg_secs(sqlite3_context *c, sqlite3_value *v, int64_t *secs)
{
    if (is_num(v)) {
        *secs = ns_secs_from_days(sqlite3_value_double(v));
        return true;
    }
    const char *t = (const char *)sqlite3_value_text(v);
    if (t && ns_time_parse_pref(t, sbx(c)->qset.date_format, secs) == MLC_OK)
        return true;
    sqlite3_result_error(
        c, "ORA-01858: a non-numeric character was found where a numeric was expected", -1);
    return false;
}

static bool fmt_is_date(const char *f)
{
    /* A number format model has only 9 0 . , $ G D S L FM and spaces. */
    for (const char *p = f; *p; p++)
        if (!strchr("90.,$GDSLFMfmgdsl ", *p))
            return true;
    return false;
}

static void number_text(double d, char *out, size_t sz)
{
    if (d == floor(d) && fabs(d) < 1e15)
        snprintf(out, sz, "%.0f", d);
    else
        snprintf(out, sz, "%.15g", d);
}

static void f_to_char(sqlite3_context *c, int argc, sqlite3_value **v)
{
    if (sqlite3_value_type(v[0]) == SQLITE_NULL) {
        sqlite3_result_null(c);
        return;
    }
    const char *fmt = argc > 1 ? (const char *)sqlite3_value_text(v[1]) : NULL;
    char out[256];
    if (!is_num(v[0])) {
        sqlite3_result_value(c, v[0]);
        return;
    }
    if (!fmt) {
        if (sqlite3_value_type(v[0]) == SQLITE_INTEGER)
            snprintf(out, sizeof out, "%lld", (long long)sqlite3_value_int64(v[0]));
        else
            number_text(sqlite3_value_double(v[0]), out, sizeof out);
        sqlite3_result_text(c, out, -1, SQLITE_TRANSIENT);
        return;
    }
    if (!fmt_is_date(fmt)) {
        const char *dot = strchr(fmt, '.');
        int dec = 0;
        if (dot)
            for (const char *p = dot + 1; *p == '9' || *p == '0'; p++)
                dec++;
        snprintf(out, sizeof out, "%.*f", dec, sqlite3_value_double(v[0]));
        sqlite3_result_text(c, out, -1, SQLITE_TRANSIENT);
        return;
    }
    double days = sqlite3_value_double(v[0]);
    double secs_f = days * 86400.0;
    int64_t secs = (int64_t)floor(secs_f);
    int usec = (int)llround((secs_f - (double)secs) * 1e6);
    if (usec >= 1000000) {
        secs++;
        usec -= 1000000;
    }
    if (usec < 1000 || usec > 999000) { /* whole seconds stored as days: undo float noise */
        secs = ns_secs_from_days(days);
        usec = 0;
    }
    enum mlc_rc rc = ns_time_format(secs, usec, fmt, out, sizeof out);
    if (rc != MLC_OK) {
        sqlite3_result_error(c, "ORA-01821: date format not recognized", -1);
        return;
    }
    sqlite3_result_text(c, out, -1, SQLITE_TRANSIENT);
}

static void parse_date(sqlite3_context *c, int argc, sqlite3_value **v, bool timestamp)
{
    if (sqlite3_value_type(v[0]) == SQLITE_NULL) {
        sqlite3_result_null(c);
        return;
    }
    if (is_num(v[0]) && argc == 1) {
        sqlite3_result_value(c, v[0]);
        return;
    }
    const char *s = (const char *)sqlite3_value_text(v[0]);
    const char *fmt = argc > 1 ? (const char *)sqlite3_value_text(v[1]) : NULL;
    int64_t secs = 0;
    int usec = 0;
    enum mlc_rc rc = fmt ? ns_time_parse(s, fmt, &secs, &usec)
                         : ns_time_parse_pref(s, sbx(c)->qset.date_format, &secs);
    if (rc != MLC_OK) {
        sqlite3_result_error(c, "ORA-01861: literal does not match format string", -1);
        return;
    }
    double d = ns_days_from_secs(secs);
    if (timestamp && usec)
        d += (double)usec / 86400e6;
    sqlite3_result_double(c, d);
}

static void f_to_date(sqlite3_context *c, int argc, sqlite3_value **v)
{
    parse_date(c, argc, v, false);
}

static void f_to_timestamp(sqlite3_context *c, int argc, sqlite3_value **v)
{
    parse_date(c, argc, v, true);
}

static void f_sys_extract_utc(sqlite3_context *c, int argc, sqlite3_value **v)
{
    int64_t secs;
    if (sqlite3_value_type(v[0]) == SQLITE_NULL) {
        sqlite3_result_null(c);
        return;
    }
    if (!arg_secs(c, v[0], &secs))
        return;
    sqlite3_result_double(c, ns_days_from_secs(ns_secs_utc_wall_as_local(secs)));
}

static void f_sysdate(sqlite3_context *c, int argc, sqlite3_value **v)
{
    sqlite3_result_double(c, ns_days_from_secs(mlc_now_ms() / 1000));
}

static void f_nvl(sqlite3_context *c, int argc, sqlite3_value **v)
{
    sqlite3_result_value(c, sqlite3_value_type(v[0]) != SQLITE_NULL ? v[0] : v[1]);
}

static void f_nvl2(sqlite3_context *c, int argc, sqlite3_value **v)
{
    sqlite3_result_value(c, sqlite3_value_type(v[0]) != SQLITE_NULL ? v[1] : v[2]);
}

static bool values_equal(sqlite3_value *a, sqlite3_value *b)
{
    int ta = sqlite3_value_type(a), tb = sqlite3_value_type(b);
    if (ta == SQLITE_NULL || tb == SQLITE_NULL)
        return ta == tb; /* DECODE treats two NULLs as equal */
    if (is_num(a) && is_num(b))
        return sqlite3_value_double(a) == sqlite3_value_double(b);
    const char *x = (const char *)sqlite3_value_text(a), *y = (const char *)sqlite3_value_text(b);
    return x && y && strcmp(x, y) == 0;
}

static void f_decode(sqlite3_context *c, int argc, sqlite3_value **v)
{
    if (argc < 3) {
        sqlite3_result_error(c, "ORA-00938: not enough arguments for function", -1);
        return;
    }
    int i = 1;
    for (; i + 1 < argc; i += 2) {
        if (values_equal(v[0], v[i])) {
            sqlite3_result_value(c, v[i + 1]);
            return;
        }
    }
    if (i < argc)
        sqlite3_result_value(c, v[i]);
    else
        sqlite3_result_null(c);
}

static void f_trunc_date(sqlite3_context *c, int argc, sqlite3_value **v)
{
    int64_t secs, out;
    if (sqlite3_value_type(v[0]) == SQLITE_NULL) {
        sqlite3_result_null(c);
        return;
    }
    if (!arg_secs(c, v[0], &secs))
        return;
    const char *unit = argc > 1 ? (const char *)sqlite3_value_text(v[1]) : NULL;
    if (ns_time_trunc(secs, unit, &out) != MLC_OK) {
        sqlite3_result_error(c, "ORA-01899: bad precision specifier", -1);
        return;
    }
    sqlite3_result_double(c, ns_days_from_secs(out));
}

static void f_trunc(sqlite3_context *c, int argc, sqlite3_value **v)
{
    if (sqlite3_value_type(v[0]) == SQLITE_NULL) {
        sqlite3_result_null(c);
        return;
    }
    double x = sqlite3_value_double(v[0]);
    int n = argc > 1 ? sqlite3_value_int(v[1]) : 0;
    if (n < -15)
        n = -15;
    if (n > 15)
        n = 15;
    double p = pow(10.0, n);
    double r = trunc(x * p) / p;
    if (n <= 0 && fabs(r) < 9e15)
        sqlite3_result_int64(c, (sqlite3_int64)r);
    else
        sqlite3_result_double(c, r);
}

static void f_to_number(sqlite3_context *c, int argc, sqlite3_value **v)
{
    if (sqlite3_value_type(v[0]) == SQLITE_NULL) {
        sqlite3_result_null(c);
        return;
    }
    if (is_num(v[0])) {
        sqlite3_result_value(c, v[0]);
        return;
    }
    const char *s = (const char *)sqlite3_value_text(v[0]);
    char *end = NULL;
    double d = strtod(s, &end);
    while (end && *end == ' ')
        end++;
    if (!s[0] || !end || *end) {
        sqlite3_result_error(c, "ORA-01722: invalid number", -1);
        return;
    }
    if (d == floor(d) && fabs(d) < 9e15)
        sqlite3_result_int64(c, (sqlite3_int64)d);
    else
        sqlite3_result_double(c, d);
}

static void f_mod(sqlite3_context *c, int argc, sqlite3_value **v)
{
    if (sqlite3_value_type(v[0]) == SQLITE_NULL || sqlite3_value_type(v[1]) == SQLITE_NULL) {
        sqlite3_result_null(c);
        return;
    }
    double a = sqlite3_value_double(v[0]), b = sqlite3_value_double(v[1]);
    if (b == 0) {
        sqlite3_result_value(c, v[0]);
        return;
    }
    double r = fmod(a, b);
    if (r == floor(r))
        sqlite3_result_int64(c, (sqlite3_int64)r);
    else
        sqlite3_result_double(c, r);
}

static void pick_extreme(sqlite3_context *c, int argc, sqlite3_value **v, bool greatest)
{
    sqlite3_value *best = NULL;
    for (int i = 0; i < argc; i++) {
        if (sqlite3_value_type(v[i]) == SQLITE_NULL) {
            sqlite3_result_null(c); /* Oracle: any NULL makes the result NULL */
            return;
        }
        if (!best) {
            best = v[i];
            continue;
        }
        bool more;
        if (is_num(v[i]) && is_num(best))
            more = sqlite3_value_double(v[i]) > sqlite3_value_double(best);
        else
            more = strcmp((const char *)sqlite3_value_text(v[i]),
                          (const char *)sqlite3_value_text(best)) > 0;
        if (more == greatest && !values_equal(v[i], best))
            best = v[i];
    }
    if (best)
        sqlite3_result_value(c, best);
    else
        sqlite3_result_null(c);
}

static void f_greatest(sqlite3_context *c, int argc, sqlite3_value **v)
{
    pick_extreme(c, argc, v, true);
}

static void f_least(sqlite3_context *c, int argc, sqlite3_value **v)
{
    pick_extreme(c, argc, v, false);
}

static void f_add_months(sqlite3_context *c, int argc, sqlite3_value **v)
{
    int64_t secs;
    if (sqlite3_value_type(v[0]) == SQLITE_NULL) {
        sqlite3_result_null(c);
        return;
    }
    if (!arg_secs(c, v[0], &secs))
        return;
    sqlite3_result_double(c, ns_days_from_secs(ns_time_add_months(secs, sqlite3_value_int(v[1]))));
}

static void f_concat(sqlite3_context *c, int argc, sqlite3_value **v)
{
    const char *a = (const char *)sqlite3_value_text(v[0]);
    const char *b = (const char *)sqlite3_value_text(v[1]);
    size_t la = a ? strlen(a) : 0, lb = b ? strlen(b) : 0;
    char *o = sqlite3_malloc64(la + lb + 1);
    if (!o) {
        sqlite3_result_error_nomem(c);
        return;
    }
    if (la)
        memcpy(o, a, la);
    if (lb)
        memcpy(o + la, b, lb);
    o[la + lb] = '\0';
    sqlite3_result_text(c, o, (int)(la + lb), sqlite3_free);
}

static void pad(sqlite3_context *c, int argc, sqlite3_value **v, bool left)
{
    if (sqlite3_value_type(v[0]) == SQLITE_NULL) {
        sqlite3_result_null(c);
        return;
    }
    const char *s = (const char *)sqlite3_value_text(v[0]);
    long n = (long)sqlite3_value_int64(v[1]);
    const char *p = argc > 2 ? (const char *)sqlite3_value_text(v[2]) : " ";
    if (n < 0 || n > 4000 || !p || !*p) {
        sqlite3_result_null(c);
        return;
    }
    size_t sl = strlen(s), pl = strlen(p);
    char *o = sqlite3_malloc64((size_t)n + 1);
    if (!o) {
        sqlite3_result_error_nomem(c);
        return;
    }
    if ((size_t)n <= sl) {
        memcpy(o, s, (size_t)n);
    } else if (left) {
        size_t fill = (size_t)n - sl;
        for (size_t i = 0; i < fill; i++)
            o[i] = p[i % pl];
        memcpy(o + fill, s, sl);
    } else {
        memcpy(o, s, sl);
        for (size_t i = sl; i < (size_t)n; i++)
            o[i] = p[(i - sl) % pl];
    }
    o[n] = '\0';
    sqlite3_result_text(c, o, (int)n, sqlite3_free);
}

static void f_lpad(sqlite3_context *c, int argc, sqlite3_value **v)
{
    pad(c, argc, v, true);
}

static void f_rpad(sqlite3_context *c, int argc, sqlite3_value **v)
{
    pad(c, argc, v, false);
}

static void f_floor(sqlite3_context *c, int argc, sqlite3_value **v)
{
    if (sqlite3_value_type(v[0]) == SQLITE_NULL)
        sqlite3_result_null(c);
    else
        sqlite3_result_int64(c, (sqlite3_int64)floor(sqlite3_value_double(v[0])));
}

static void f_ceil(sqlite3_context *c, int argc, sqlite3_value **v)
{
    if (sqlite3_value_type(v[0]) == SQLITE_NULL)
        sqlite3_result_null(c);
    else
        sqlite3_result_int64(c, (sqlite3_int64)ceil(sqlite3_value_double(v[0])));
}

static const char *const status_labels[] = {"Pending Approval",
                                            "Pending Fulfillment",
                                            "Cancelled",
                                            "Partially Fulfilled",
                                            "Pending Billing/Partially Fulfilled",
                                            "Pending Billing",
                                            "Billed",
                                            "Closed"};

static void f_df_status(sqlite3_context *c, int argc, sqlite3_value **v)
{
    const char *type = (const char *)sqlite3_value_text(v[0]);
    const char *st = (const char *)sqlite3_value_text(v[1]);
    if (!st) {
        sqlite3_result_null(c);
        return;
    }
    char out[96];
    if (type && strcmp(type, "SalesOrd") == 0 && st[0] >= 'A' && st[0] <= 'H' && !st[1])
        snprintf(out, sizeof out, "Sales Order : %s", status_labels[st[0] - 'A']);
    else
        snprintf(out, sizeof out, "%s", st);
    sqlite3_result_text(c, out, -1, SQLITE_TRANSIENT);
}

static void f_df_type(sqlite3_context *c, int argc, sqlite3_value **v)
{
    const char *type = (const char *)sqlite3_value_text(v[0]);
    if (!type) {
        sqlite3_result_null(c);
        return;
    }
    sqlite3_result_text(c, strcmp(type, "SalesOrd") == 0 ? "Sales Order" : type, -1,
                        SQLITE_TRANSIENT);
}

struct udf {
    const char *name;
    int nargs;
    void (*fn)(sqlite3_context *, int, sqlite3_value **);
    bool deterministic;
};

static const struct udf udfs[] = {
    {"to_char", 1, f_to_char, false},
    {"to_char", 2, f_to_char, false},
    {"to_date", 1, f_to_date, false},
    {"to_date", 2, f_to_date, false},
    {"to_timestamp", 1, f_to_timestamp, false},
    {"to_timestamp", 2, f_to_timestamp, false},
    {"sys_extract_utc", 1, f_sys_extract_utc, false},
    {"sysdate", 0, f_sysdate, false},
    {"nvl", 2, f_nvl, true},
    {"nvl2", 3, f_nvl2, true},
    {"decode", -1, f_decode, true},
    {"trunc_date", 1, f_trunc_date, false},
    {"trunc_date", 2, f_trunc_date, false},
    {"trunc", 1, f_trunc, true},
    {"trunc", 2, f_trunc, true},
    {"to_number", 1, f_to_number, true},
    {"mod", 2, f_mod, true},
    {"greatest", -1, f_greatest, true},
    {"least", -1, f_least, true},
    {"add_months", 2, f_add_months, false},
    {"concat", 2, f_concat, true},
    {"lpad", 2, f_lpad, true},
    {"lpad", 3, f_lpad, true},
    {"rpad", 2, f_rpad, true},
    {"rpad", 3, f_rpad, true},
    {"floor", 1, f_floor, true},
    {"ceil", 1, f_ceil, true},
    {"ns_df_status", 2, f_df_status, true},
    {"ns_df_type", 1, f_df_type, true},
};

/* Functions SuiteQL accepts: ours above plus SQLite built-ins that Oracle has too. Everything else
 * (printf, randomblob, load_extension, sqlite_version, glob, ...) is refused, as NetSuite refuses
 * functions outside its list. */
static const char *const allowed_functions[] = {
    "to_char",      "to_date",    "to_timestamp", "sys_extract_utc",
    "sysdate",      "nvl",        "nvl2",         "decode",
    "trunc_date",   "trunc",      "to_number",    "mod",
    "greatest",     "least",      "add_months",   "concat",
    "lpad",         "rpad",       "floor",        "ceil",
    "ns_df_status", "ns_df_type", "count",        "sum",
    "min",          "max",        "avg",          "coalesce",
    "nullif",       "substr",     "instr",        "length",
    "upper",        "lower",      "trim",         "ltrim",
    "rtrim",        "replace",    "round",        "abs",
    "like",         "row_number", "rank",         "dense_rank",
    "lag",          "lead",
};

static bool function_allowed(const char *name)
{
    for (size_t i = 0; i < sizeof allowed_functions / sizeof allowed_functions[0]; i++)
        if (strcasecmp(allowed_functions[i], name) == 0)
            return true;
    return false;
}

/* Which permission guards a table (0 = none). */
static unsigned table_perm(const char *t)
{
    if (strcasecmp(t, "customer") == 0 || strcasecmp(t, "entityaddress") == 0 ||
        strcasecmp(t, "customeraddressbook") == 0)
        return NS_PERM_CUSTOMER;
    if (strcasecmp(t, "contact") == 0)
        return NS_PERM_CONTACT;
    if (strcasecmp(t, "transaction") == 0 || strcasecmp(t, "transactionline") == 0)
        return NS_PERM_SALESORDER;
    if (strcasecmp(t, "item") == 0)
        return NS_PERM_ITEM;
    if (strcasecmp(t, "deletedrecord") == 0)
        return NS_PERM_DELETEDRECORD;
    if (strcasecmp(t, "currency") == 0)
        return NS_PERM_CURRENCY;
    if (strcasecmp(t, "subsidiary") == 0)
        return NS_PERM_SUBSIDIARY;
    return 0;
}

static int authorizer(void *ud, int action, const char *a, const char *b, const char *dbname,
                      const char *trigger)
{
    struct ns_sandbox *s = ud;
    if (!s->suiteql_mode)
        return SQLITE_OK;
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_READ:
        if (!a || strncasecmp(a, "sqlite_", 7) == 0 || strncasecmp(a, "sbx_", 4) == 0) {
            snprintf(s->denied_table, sizeof s->denied_table, "%s", a ? a : "?");
            return SQLITE_DENY;
        }
        if ((s->qset.deny & NS_PERM_SUITEQL) || (table_perm(a) & s->qset.deny)) {
            snprintf(s->denied_table, sizeof s->denied_table, "%s", a);
            return SQLITE_DENY;
        }
        return SQLITE_OK;
    case SQLITE_FUNCTION:
        if (b && function_allowed(b))
            return SQLITE_OK;
        snprintf(s->denied_function, sizeof s->denied_function, "%s", b ? b : "?");
        return SQLITE_DENY;
    default:
        return SQLITE_DENY;
    }
}

static int progress(void *ud)
{
    struct ns_sandbox *s = ud;
    return s->qdeadline_ms && mlc_mono_ms() > s->qdeadline_ms;
}

enum mlc_rc ns_db_open(struct ns_sandbox *s, const char *path, bool *fresh, char *err, size_t errsz)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path && *path ? path : ":memory:", &db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errsz, "cannot open the sandbox database %s: %s",
                 path ? path : ":memory:", db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return MLC_ERR;
    }
    char *emsg = NULL;
    const char *pragmas = path && *path ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                        : "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;";
    if (sqlite3_exec(db, pragmas, NULL, NULL, &emsg) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;", NULL, NULL,
                     &emsg) != SQLITE_OK ||
        sqlite3_exec(db, schema, NULL, NULL, &emsg) != SQLITE_OK) {
        snprintf(err, errsz, "cannot create the sandbox schema: %s", emsg ? emsg : "?");
        sqlite3_free(emsg);
        sqlite3_close(db);
        return MLC_ERR;
    }
    for (size_t i = 0; i < sizeof udfs / sizeof udfs[0]; i++) {
        int f = SQLITE_UTF8 | (udfs[i].deterministic ? SQLITE_DETERMINISTIC : 0);
        if (sqlite3_create_function(db, udfs[i].name, udfs[i].nargs, f, s, udfs[i].fn, NULL,
                                    NULL) != SQLITE_OK) {
            snprintf(err, errsz, "cannot register %s: %s", udfs[i].name, sqlite3_errmsg(db));
            sqlite3_close(db);
            return MLC_ERR;
        }
    }
    sqlite3_set_authorizer(db, authorizer, s);
    sqlite3_progress_handler(db, 4096, progress, s);
    sqlite3_stmt *st = NULL;
    *fresh = true;
    if (sqlite3_prepare_v2(db, "SELECT v FROM sbx_meta WHERE k = 'generated'", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        *fresh = false;
    sqlite3_finalize(st);
    s->db = db;
    return MLC_OK;
}

enum mlc_rc ns_db_finish_load(struct ns_sandbox *s, char *err, size_t errsz)
{
    char *emsg = NULL;
    if (sqlite3_exec(s->db, indexes, NULL, NULL, &emsg) != SQLITE_OK ||
        sqlite3_exec(s->db,
                     "INSERT INTO dual SELECT 'X' WHERE NOT EXISTS (SELECT 1 FROM dual);"
                     "INSERT OR REPLACE INTO sbx_meta VALUES ('generated', '1');"
                     "ANALYZE;",
                     NULL, NULL, &emsg) != SQLITE_OK) {
        snprintf(err, errsz, "cannot index the sandbox data: %s", emsg ? emsg : "?");
        sqlite3_free(emsg);
        return MLC_ERR;
    }
    return MLC_OK;
}

void ns_db_close(struct ns_sandbox *s)
{
    if (s->db)
        sqlite3_close(s->db);
    s->db = NULL;
}

enum mlc_rc ns_db_exec(struct ns_sandbox *s, const char *sql, char *err, size_t errsz)
{
    char *emsg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &emsg) != SQLITE_OK) {
        snprintf(err, errsz, "%s", emsg ? emsg : "?");
        sqlite3_free(emsg);
        return MLC_ERR;
    }
    return MLC_OK;
}

json_t *ns_db_value_json(struct sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return json_integer((json_int_t)sqlite3_column_int64(st, i));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(st, i));
    case SQLITE_TEXT:
        return json_stringn((const char *)sqlite3_column_text(st, i),
                            (size_t)sqlite3_column_bytes(st, i));
    default:
        return json_null();
    }
}

enum mlc_rc ns_db_inspect(struct ns_sandbox *s, const char *sql, size_t max_rows, json_t **rows,
                          char *err, size_t errsz)
{
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    enum mlc_rc rc = MLC_EINVAL;
    pthread_mutex_lock(&s->db_mu);
    s->suiteql_mode = false;
    s->qdeadline_ms = mlc_mono_ms() + 30000;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, &tail) != SQLITE_OK) {
        snprintf(err, errsz, "%s", sqlite3_errmsg(s->db));
        goto out;
    }
    while (tail && (*tail == ' ' || *tail == '\n' || *tail == ';'))
        tail++;
    if (!st || !sqlite3_stmt_readonly(st) || (tail && *tail)) {
        snprintf(err, errsz, "one read-only statement only");
        goto out;
    }
    json_t *arr = json_array();
    int rc2;
    while ((rc2 = sqlite3_step(st)) == SQLITE_ROW && json_array_size(arr) < max_rows) {
        json_t *o = json_object();
        for (int i = 0; i < sqlite3_column_count(st); i++)
            json_object_set_new(o, sqlite3_column_name(st, i), ns_db_value_json(st, i));
        json_array_append_new(arr, o);
    }
    if (rc2 != SQLITE_ROW && rc2 != SQLITE_DONE) {
        snprintf(err, errsz, "%s", sqlite3_errmsg(s->db));
        json_decref(arr);
        rc = MLC_ERR;
        goto out;
    }
    *rows = arr;
    rc = MLC_OK;
out:
    s->qdeadline_ms = 0;
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->db_mu);
    return rc;
}
