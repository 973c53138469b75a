/* Deterministic sample data from a seed: customers of every kind, contacts, items, sales orders and
 * lines, deletions. */
#include "internal.h"
#include "mlc/log.h"

#include <ctype.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Data timestamps lie in a fixed window so a seed always gives the same data set. */
#define T_START 1704067200LL /* 2024-01-01T00:00:00Z */
#define T_SPAN (730LL * 86400)
#define T_END 1772323200LL /* 2026-03-01T00:00:00Z */

struct rng {
    uint64_t s;
};

static uint64_t next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static long range(struct rng *r, long lo, long hi) /* inclusive */
{
    return lo + (long)(next(r) % (uint64_t)(hi - lo + 1));
}

static bool chance(struct rng *r, int percent)
{
    return (long)(next(r) % 1000) < percent * 10;
}

#define PICK(r, arr) (arr)[next(r) % (sizeof(arr) / sizeof((arr)[0]))]

static const char *const first_names[] = {
    "Anna",  "Ben",   "Chloe",  "David", "Emma",   "Felix",  "Grace",  "Hugo",
    "Isla",  "Jonas", "Karin",  "Liam",  "Mia",    "Noah",   "Olivia", "Paul",
    "Quinn", "Rosa",  "Sven",   "Tara",  "Uma",    "Victor", "Wendy",  "Xavier",
    "Yara",  "Zoe",   "Amélie", "Björn", "Chiara", "Dmitri", "José",   "Łukasz"};
static const char *const last_names[] = {
    "Smith",   "Müller", "Johnson", "Schmidt",      "Brown",   "Schneider", "Taylor",
    "Fischer", "Wilson", "Weber",   "Davies",       "Meyer",   "Evans",     "Wagner",
    "Thomas",  "Becker", "Roberts", "Hoffmann",     "O'Brien", "Dubois",    "Rossi",
    "García",  "Nowak",  "Jensen",  "van der Berg", "Kowalski"};
static const char *const company_a[] = {
    "Northwind",      "Contoso",  "Fabrikam",      "Tailspin",  "Adventure", "Blue Yonder",
    "Coho",           "Wingtip",  "Litware",       "Proseware", "Alpine",    "Woodgrove",
    "Lucerne",        "Margie's", "Fourth Coffee", "Humongous", "Trey",      "Wide World",
    "Graphic Design", "Datum",    "Southridge",    "Relecloud"};
static const char *const company_b[] = {"Traders",   "Supplies", "Industries",  "Logistics",
                                        "Systems",   "Foods",    "Outfitters",  "Labs",
                                        "Partners",  "Works",    "Holdings",    "Retail",
                                        "Wholesale", "Trading",  "Engineering", "Media"};
static const char *const streets[] = {
    "Harbor Way",  "Main Street",    "Oak Avenue",  "Elm Road",      "Bahnhofstraße",
    "High Street", "Rue de la Paix", "King Street", "Market Square", "Industrial Park"};
static const char *const titles[] = {"Buyer",
                                     "CFO",
                                     "Accounts Payable",
                                     "Operations Manager",
                                     "CEO",
                                     "Procurement Lead",
                                     "Office Manager",
                                     "IT Director"};
static const char *const item_nouns[] = {"Widget",  "Gadget", "Bracket", "Sprocket", "Panel",
                                         "Cable",   "Valve",  "Sensor",  "Filter",   "Bearing",
                                         "Adapter", "Module", "Housing", "Gasket"};
static const char *const item_adj[] = {"blue",      "red", "large", "small",      "steel",
                                       "aluminium", "pro", "lite",  "heavy-duty", "compact"};

struct country {
    const char *code, *city, *state, *zip, *phone;
};
static const struct country countries[] = {
    {"US", "Seattle", "WA", "98101", "+1 206 555 01"},
    {"US", "Austin", "TX", "73301", "+1 512 555 01"},
    {"US", "Boston", "MA", "02108", "+1 617 555 01"},
    {"DE", "München", NULL, "80331", "+49 89 5550 1"},
    {"DE", "Hamburg", NULL, "20095", "+49 40 5550 1"},
    {"GB", "London", NULL, "EC1A 1BB", "+44 20 7946 0"},
    {"GB", "Leeds", NULL, "LS1 1UR", "+44 113 496 0"},
    {"CA", "Toronto", "ON", "M5H 2N2", "+1 416 555 01"},
    {"CA", "Vancouver", "BC", "V6B 1A1", "+1 604 555 01"},
    {"FR", "Paris", NULL, "75001", "+33 1 55 50 0"},
    {"NL", "Amsterdam", NULL, "1012 AB", "+31 20 555 0"},
};
/* subsidiary id -> indexes into countries */
static const int sub_countries[5][3] = {{0, 0, 0}, {0, 1, 2}, {3, 4, 4}, {5, 6, 6}, {7, 8, 8}};
static const int sub_currency[5] = {0, 1, 4, 2, 3};

struct gen {
    struct ns_sandbox *s;
    sqlite3 *db;
    struct rng r;
    char *err;
    size_t errsz;
    bool failed;
};

static sqlite3_stmt *prep(struct gen *g, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (!g->failed && sqlite3_prepare_v2(g->db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(g->err, g->errsz, "datagen: %s: %s", sql, sqlite3_errmsg(g->db));
        g->failed = true;
    }
    return st;
}

static void step(struct gen *g, sqlite3_stmt *st)
{
    if (g->failed || !st)
        return;
    if (sqlite3_step(st) != SQLITE_DONE) {
        snprintf(g->err, g->errsz, "datagen: %s", sqlite3_errmsg(g->db));
        g->failed = true;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void exec(struct gen *g, const char *sql)
{
    char *emsg = NULL;
    if (!g->failed && sqlite3_exec(g->db, sql, NULL, NULL, &emsg) != SQLITE_OK) {
        snprintf(g->err, g->errsz, "datagen: %s", emsg ? emsg : "?");
        g->failed = true;
    }
    sqlite3_free(emsg);
}

static void b_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void b_int(sqlite3_stmt *st, int i, long long v)
{
    sqlite3_bind_int64(st, i, v);
}

static void b_int_or_null(sqlite3_stmt *st, int i, long long v)
{
    if (v)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static void b_time(sqlite3_stmt *st, int i, int64_t secs)
{
    sqlite3_bind_double(st, i, ns_days_from_secs(secs));
}

static void slug(const char *in, char *out, size_t sz)
{
    size_t o = 0;
    for (const char *p = in; *p && o + 1 < sz; p++)
        if (isalnum((unsigned char)*p))
            out[o++] = (char)tolower((unsigned char)*p);
    out[o] = '\0';
    if (!o)
        snprintf(out, sz, "example");
}

static int64_t local_midnight(int64_t secs)
{
    int64_t m = secs;
    ns_time_trunc(secs, "DD", &m);
    return m;
}

static void reference_data(struct gen *g)
{
    exec(g, "INSERT INTO currency VALUES"
            " (1,'US Dollar','USD','$',1.0,'T','F',2,19723.0),"
            " (2,'British pound','GBP','£',1.27,'F','F',2,19723.0),"
            " (3,'Canadian Dollar','CAD','CA$',0.74,'F','F',2,19723.0),"
            " (4,'Euro','EUR','€',1.09,'F','F',2,19723.0),"
            " (5,'Japanese Yen','JPY','¥',0.0067,'F','T',0,19723.0);"
            "INSERT INTO subsidiary VALUES"
            " (1,'Parent Company','Parent Company','US',1,NULL,'F','F',19723.0),"
            " (2,'Contoso GmbH','Parent Company : Contoso GmbH','DE',4,1,'F','F',19723.0),"
            " (3,'Northwind UK Ltd','Parent Company : Northwind UK Ltd','GB',2,1,'F','F',19723.0),"
            " (4,'Tailspin Canada','Parent Company : Tailspin Canada','CA',3,1,'F','F',19723.0);"
            "INSERT INTO customercategory VALUES (1,'Retail','F'),(2,'Wholesale','F'),"
            " (3,'Enterprise','F'),(4,'Government','F'),(5,'Partner (old)','T');"
            "INSERT INTO entitystatus VALUES"
            " (6,'Unqualified','LEAD',10,NULL,'F'),(7,'Qualified','LEAD',20,NULL,'F'),"
            " (8,'In Discussion','PROSPECT',30,NULL,'F'),"
            " (9,'Identified Decision Makers','PROSPECT',40,NULL,'F'),"
            " (10,'Proposal','PROSPECT',50,NULL,'F'),(11,'In Negotiation','PROSPECT',75,NULL,'F'),"
            " (12,'Purchasing','PROSPECT',90,NULL,'F'),(13,'Closed Won','CUSTOMER',100,NULL,'F'),"
            " (15,'Renewal','CUSTOMER',100,NULL,'F'),(16,'Lost Customer','CUSTOMER',0,NULL,'F');"
            "INSERT INTO term VALUES (1,'Net 15',15,'F'),(2,'Net 30',30,'F'),(3,'Net 60',60,'F'),"
            " (4,'Due on receipt',0,'F'),(5,'1% 10 Net 30',30,'F');"
            "INSERT INTO contactrole VALUES (-10,'Primary Contact','F'),(1,'Decision Maker','F'),"
            " (2,'Billing','F'),(3,'Technical','F');");
    sqlite3_stmt *st = prep(g, "INSERT INTO employee VALUES (?,?,?,?,?,?,?,'T',?,?,?,?)");
    for (int i = 0; i < 20 && st; i++) {
        const char *fn = PICK(&g->r, first_names), *ln = PICK(&g->r, last_names);
        char name[96], email[128], a[48], b[48], phone[32];
        snprintf(name, sizeof name, "%s %s", fn, ln);
        slug(fn, a, sizeof a);
        slug(ln, b, sizeof b);
        snprintf(email, sizeof email, "%s.%s%d@sandbox-company.example", a, b, i + 3);
        snprintf(phone, sizeof phone, "+1 206 555 02%02d", i);
        int64_t created = T_START - range(&g->r, 86400, 400 * 86400L);
        b_int(st, 1, 3 + i);
        b_text(st, 2, name);
        b_text(st, 3, fn);
        b_text(st, 4, ln);
        b_text(st, 5, email);
        b_text(st, 6, phone);
        b_text(st, 7, "Sales Representative");
        b_int(st, 8, 1 + i % 4);
        b_text(st, 9, i == 19 ? "T" : "F");
        b_time(st, 10, created);
        b_time(st, 11, created + range(&g->r, 0, 300 * 86400L));
        step(g, st);
    }
    sqlite3_finalize(st);
}

static void items(struct gen *g, long k)
{
    sqlite3_stmt *st = prep(g, "INSERT INTO item VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    static const char *const prefixes[] = {"W", "G", "B", "S", "P", "C", "V", "F"};
    static const char *const brands[] = {"Acme", "Globex", "Initech", "Umbrella", NULL};
    for (long i = 0; i < k + 4 && st; i++) {
        long id = 100 + i;
        char sku[48], disp[96], desc[160], upc[24];
        const char *type;
        if (i < k) {
            long rt = range(&g->r, 0, 99);
            type = rt < 70 ? "InvtPart" : rt < 85 ? "NonInvtPart" : "Service";
            snprintf(sku, sizeof sku, "%s-%ld", PICK(&g->r, prefixes), 100 + i);
            const char *noun = PICK(&g->r, item_nouns), *adj = PICK(&g->r, item_adj);
            snprintf(disp, sizeof disp, "%s, %s", noun, adj);
            snprintf(desc, sizeof desc, "%s %s (%s)", adj, noun, sku);
            snprintf(upc, sizeof upc, "0%011ld", 40000000000L + id * 7919);
        } else {
            static const char *const special[][3] = {
                {"DISC-10", "Discount 10%", "Discount"},
                {"SHIP-GROUND", "Ground shipping", "ShipItem"},
                {"SHIP-EXPRESS", "Express shipping", "ShipItem"},
                {"TAX-US", "Sales tax", "TaxItem"}};
            snprintf(sku, sizeof sku, "%s", special[i - k][0]);
            snprintf(disp, sizeof disp, "%s", special[i - k][1]);
            snprintf(desc, sizeof desc, "%s", special[i - k][1]);
            type = special[i - k][2];
            upc[0] = '\0';
        }
        int64_t created = T_START - range(&g->r, 86400, 300 * 86400L);
        b_int(st, 1, id);
        b_text(st, 2, sku);
        b_text(st, 3, disp);
        b_text(st, 4, desc);
        b_text(st, 5, type);
        b_text(st, 6, upc[0] ? upc : NULL);
        b_text(st, 7, i < k && chance(&g->r, 5) ? "T" : "F");
        b_int(st, 8, 1);
        b_text(st, 9, PICK(&g->r, brands));
        b_time(st, 10, created);
        b_time(st, 11, created + range(&g->r, 0, 500 * 86400L));
        step(g, st);
    }
    sqlite3_finalize(st);
}

struct cust_info {
    long long id;
    int kind; /* 0 company, 1 individual, 2 lead, 3 prospect, 4 sub-customer */
    int sub;
    int currency;
    int64_t created;
};

static void customers(struct gen *g, long n, struct cust_info *ci, long long *next_entity,
                      long long *next_nkey)
{
    sqlite3_stmt *c = prep(g, "INSERT INTO customer VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
                              "?,?,?,?,?,?,?,?,?,?,?,?)");
    sqlite3_stmt *a = prep(g, "INSERT INTO entityaddress VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
    sqlite3_stmt *ab = prep(g, "INSERT INTO customeraddressbook VALUES (?,?,?,?,?,?)");
    sqlite3_stmt *ct = prep(g, "INSERT INTO contact VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    long long abid = 1;
    long ncompanies = 0;
    long *companies = mlc_calloc((size_t)n + 1, sizeof *companies);
    for (long i = 0; i < n && !g->failed; i++) {
        struct cust_info *x = &ci[i];
        x->id = (*next_entity)++;
        long rk = range(&g->r, 0, 99);
        x->kind = rk < 52 ? 0 : rk < 70 ? 1 : rk < 80 ? 2 : rk < 88 ? 3 : 4;
        if (x->kind == 4 && ncompanies == 0)
            x->kind = 0;
        long rs = range(&g->r, 0, 99);
        x->sub = rs < 55 ? 1 : rs < 75 ? 2 : rs < 90 ? 3 : 4;
        x->currency = chance(&g->r, 90) ? sub_currency[x->sub] : 1;
        long long parent = 0;
        if (x->kind == 4) {
            struct cust_info *p = &ci[companies[range(&g->r, 0, ncompanies - 1)]];
            parent = p->id;
            x->sub = p->sub;
            x->currency = p->currency;
        }
        const struct country *co = &countries[sub_countries[x->sub][range(&g->r, 0, 2)]];
        if (chance(&g->r, 8))
            co = &countries[range(&g->r, 0, (long)(sizeof countries / sizeof countries[0]) - 1)];
        char company[128] = "", fn[64] = "", ln[64] = "", entityid[192], email[192], phone[48],
             sl[96];
        bool person = x->kind == 1;
        if (person) {
            snprintf(fn, sizeof fn, "%s", PICK(&g->r, first_names));
            snprintf(ln, sizeof ln, "%s", PICK(&g->r, last_names));
            snprintf(entityid, sizeof entityid, "CUST%lld %s %s", x->id, fn, ln);
            char a1[48], b1[48];
            slug(fn, a1, sizeof a1);
            slug(ln, b1, sizeof b1);
            snprintf(email, sizeof email, "%s.%s%lld@mail.example", a1, b1, x->id);
        } else {
            const char *suffix = strcmp(co->code, "DE") == 0   ? " GmbH"
                                 : strcmp(co->code, "GB") == 0 ? " Ltd"
                                 : strcmp(co->code, "FR") == 0 ? " SARL"
                                 : strcmp(co->code, "NL") == 0 ? " B.V."
                                                               : (chance(&g->r, 50) ? " Inc." : "");
            snprintf(company, sizeof company, "%s %s%s%s", PICK(&g->r, company_a),
                     PICK(&g->r, company_b), suffix, x->kind == 4 ? " (Branch)" : "");
            snprintf(entityid, sizeof entityid, "CUST%lld %s", x->id, company);
            slug(company, sl, sizeof sl);
            snprintf(email, sizeof email, "%s@%s%lld.example", chance(&g->r, 50) ? "ap" : "info",
                     sl, x->id);
        }
        snprintf(phone, sizeof phone, "%s%02ld", co->phone, range(&g->r, 0, 99));
        x->created = T_START + range(&g->r, 0, T_SPAN);
        int64_t lmd = x->created + range(&g->r, 0, 400 * 86400L);
        if (lmd > T_END)
            lmd = T_END - range(&g->r, 0, 86400);
        long status = x->kind == 2        ? range(&g->r, 6, 7)
                      : x->kind == 3      ? range(&g->r, 8, 12)
                      : chance(&g->r, 85) ? 13
                                          : (chance(&g->r, 50) ? 15 : 16);
        const char *stage = x->kind == 2 ? "Lead" : x->kind == 3 ? "Prospect" : "Customer";
        long long bill = 0, ship = 0;
        long naddr = chance(&g->r, 10) ? 0 : chance(&g->r, 67) ? 1 : 2;
        for (long k = 0; k < naddr; k++) {
            long long nk = (*next_nkey)++;
            char addr1[96], addressee[128];
            snprintf(addr1, sizeof addr1, "%ld %s", range(&g->r, 1, 250), PICK(&g->r, streets));
            snprintf(addressee, sizeof addressee, "%s",
                     person ? entityid + strcspn(entityid, " ") + 1 : company);
            b_int(a, 1, nk);
            b_text(a, 2, addr1);
            b_text(a, 3, chance(&g->r, 20) ? "Suite 200" : NULL);
            b_text(a, 4, NULL);
            b_text(a, 5, co->city);
            b_text(a, 6, co->state);
            b_text(a, 7, co->zip);
            b_text(a, 8, co->code);
            b_text(a, 9, addressee);
            b_text(a, 10, k == 0 && !person && chance(&g->r, 40) ? "Accounts Payable" : NULL);
            b_text(a, 11, chance(&g->r, 30) ? phone : NULL);
            b_int(a, 12, x->id);
            b_time(a, 13, lmd);
            step(g, a);
            b_int(ab, 1, abid++);
            b_int(ab, 2, x->id);
            b_int(ab, 3, nk);
            b_text(ab, 4, k == 0 ? "T" : "F");
            b_text(ab, 5, (k == 1 || naddr == 1) ? "T" : "F");
            b_text(ab, 6, k == 0 ? "Billing" : "Shipping");
            step(g, ab);
            if (k == 0)
                bill = nk;
            if (k == 1 || naddr == 1)
                ship = nk;
        }
        static const char *const regions[] = {"North America", "EMEA", "APAC", NULL};
        static const char *const tiers[] = {"Gold", "Silver", "Bronze", NULL, NULL};
        char vat[32];
        bool eu = strcmp(co->code, "DE") == 0 || strcmp(co->code, "FR") == 0 ||
                  strcmp(co->code, "NL") == 0;
        snprintf(vat, sizeof vat, "%s%09ld", co->code, range(&g->r, 100000000, 999999999));
        b_int(c, 1, x->id);
        b_text(c, 2, entityid);
        b_text(c, 3, person ? "T" : "F");
        b_text(c, 4, person ? NULL : company);
        b_text(c, 5, person ? fn : NULL);
        b_text(c, 6, person ? ln : NULL);
        b_text(c, 7, chance(&g->r, 90) ? email : NULL);
        b_text(c, 8, chance(&g->r, 80) ? phone : NULL);
        b_text(c, 9, chance(&g->r, 10) ? phone : NULL);
        b_text(c, 10, NULL);
        if (!person && chance(&g->r, 30)) {
            char url[160];
            snprintf(url, sizeof url, "https://www.%s.example", sl);
            b_text(c, 11, url);
        } else {
            b_text(c, 11, NULL);
        }
        if (chance(&g->r, 60))
            sqlite3_bind_double(c, 12, (double)(range(&g->r, 2, 200) * 500));
        else
            sqlite3_bind_null(c, 12);
        b_int_or_null(c, 13, chance(&g->r, 90) ? (chance(&g->r, 3) ? 5 : range(&g->r, 1, 4)) : 0);
        b_int(c, 14, status);
        b_text(c, 15, stage);
        b_int(c, 16, x->sub);
        b_int_or_null(c, 17, chance(&g->r, 85) ? range(&g->r, 1, 5) : 0);
        b_int(c, 18, x->currency);
        b_int_or_null(c, 19, chance(&g->r, 80) ? range(&g->r, 3, 22) : 0);
        b_int_or_null(c, 20, parent);
        b_text(c, 21, chance(&g->r, 5) ? "T" : "F");
        if (chance(&g->r, 30)) {
            char ext[32];
            snprintf(ext, sizeof ext, "EXT-%06lld", x->id * 7 % 1000003);
            b_text(c, 22, ext);
        } else {
            b_text(c, 22, NULL);
        }
        b_text(c, 23,
               chance(&g->r, 3) ? "Müller & Söhne's \"special\" terms;\nsee contract §4 — ✓"
                                : NULL);
        b_time(c, 24, x->created);
        b_time(c, 25, lmd);
        b_int_or_null(c, 26, bill);
        b_int_or_null(c, 27, ship);
        b_text(c, 28,
               strcmp(co->code, "US") == 0 || strcmp(co->code, "CA") == 0 ? regions[0]
                                                                          : regions[1]);
        b_text(c, 29, PICK(&g->r, tiers));
        b_text(c, 30, chance(&g->r, 90) ? "T" : "F");
        b_text(c, 31, eu && !person ? vat : NULL);
        step(g, c);
        if (x->kind == 0)
            companies[ncompanies++] = i;

        /* contacts of companies (and of sub-customers, leads and prospects) */
        if (!person) {
            long r = range(&g->r, 0, 99);
            long nct = r < 15 ? 0 : r < 50 ? 1 : r < 75 ? 2 : r < 90 ? 3 : 4;
            bool two_primaries = chance(&g->r, 3);
            bool has_primary = chance(&g->r, 85);
            for (long k = 0; k < nct; k++) {
                long long cid = (*next_entity)++;
                const char *cf = PICK(&g->r, first_names), *cl = PICK(&g->r, last_names);
                char cname[128], cemail[256], a1[48], b1[48];
                snprintf(cname, sizeof cname, "%s %s", cf, cl);
                slug(cf, a1, sizeof a1);
                slug(cl, b1, sizeof b1);
                snprintf(cemail, sizeof cemail, "%s.%s@%s%lld.example", a1, b1, sl, x->id);
                long role = (k == 0 && has_primary) || (k == 1 && two_primaries) ? -10
                            : chance(&g->r, 60) ? range(&g->r, 1, 3)
                                                : 0;
                int64_t ccreated = x->created + range(&g->r, 0, 30 * 86400L);
                int64_t clmd = ccreated + range(&g->r, 0, 300 * 86400L);
                if (clmd > T_END)
                    clmd = T_END - range(&g->r, 0, 86400);
                b_int(ct, 1, cid);
                b_text(ct, 2, cname);
                b_text(ct, 3, cf);
                b_text(ct, 4, cl);
                b_text(ct, 5, chance(&g->r, 92) ? cemail : NULL);
                b_text(ct, 6, chance(&g->r, 70) ? phone : NULL);
                b_text(ct, 7, chance(&g->r, 30) ? "+1 555 0100" : NULL);
                b_text(ct, 8, PICK(&g->r, titles));
                b_int(ct, 9, x->id);
                b_int_or_null(ct, 10, role);
                b_int(ct, 11, x->sub);
                b_text(ct, 12, chance(&g->r, 5) ? "T" : "F");
                b_text(ct, 13, NULL);
                b_time(ct, 14, ccreated);
                b_time(ct, 15, clmd);
                step(g, ct);
            }
        }
    }
    free(companies);
    sqlite3_finalize(c);
    sqlite3_finalize(a);
    sqlite3_finalize(ab);
    sqlite3_finalize(ct);
}

static double item_rate(long item)
{
    /* a stable price per item: 5.00 .. 499.75 */
    return (double)(500 + (item * 7919) % 49500) / 100.0;
}

static void orders(struct gen *g, long m, long large, long nitems, const struct cust_info *ci,
                   long ncust, long long *next_tx)
{
    long *buyers = mlc_calloc((size_t)ncust + 1, sizeof *buyers);
    long nb = 0;
    for (long i = 0; i < ncust; i++)
        if (ci[i].kind == 0 || ci[i].kind == 1 || ci[i].kind == 4)
            buyers[nb++] = i;
    if (nb == 0 || nitems == 0) {
        free(buyers);
        return;
    }
    sqlite3_stmt *t =
        prep(g, "INSERT INTO \"transaction\" VALUES (?,?,'SalesOrd',?,?,?,?,?,?,?,?,?,"
                "?,?,?,?,?,?,?,?,?)");
    sqlite3_stmt *l = prep(g, "INSERT INTO transactionline VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
                              "?,?,?,?)");
    static const char status_letters[] = "AABBBBBCDDEEFFFGGGGHH";
    static const char *const channels[] = {"Web", "Phone", "EDI", "Sales rep", NULL};
    static const double rates[] = {1.0, 1.0, 0.79, 1.35, 0.92, 150.0};
    long long uniquekey = 100001;
    for (long i = 0; i < m && !g->failed; i++) {
        long long id = (*next_tx)++;
        const struct cust_info *cu = &ci[buyers[range(&g->r, 0, nb - 1)]];
        char status = status_letters[range(&g->r, 0, (long)sizeof status_letters - 2)];
        int64_t created = cu->created + range(&g->r, 3600, 500 * 86400L);
        if (created > T_END - 86400)
            created = T_END - range(&g->r, 86400, 30 * 86400L);
        long nlines = i < large ? range(&g->r, 1000, 5000)
                                : (chance(&g->r, 60) ? range(&g->r, 1, 5) : range(&g->r, 6, 20));
        int64_t header_lmd = created + range(&g->r, 0, 60 * 86400L);
        int64_t max_line_lmd = created;
        bool line_only_later = chance(&g->r, 6);
        double total = 0;
        long seq = 0;
        bool closed = status == 'C' || status == 'H';
        /* item lines */
        for (long k = 0; k < nlines; k++) {
            long item = 100 + range(&g->r, 0, nitems - 1);
            double qty = (double)range(&g->r, 1, 25);
            double rate = item_rate(item);
            double amount = qty * rate;
            total += amount;
            int64_t llmd = created + range(&g->r, 0, 30 * 86400L);
            if (line_only_later && k == nlines - 1)
                llmd = header_lmd + range(&g->r, 3600, 20 * 86400L);
            if (llmd > max_line_lmd)
                max_line_lmd = llmd;
            seq++;
            b_int(l, 1, uniquekey++);
            b_int(l, 2, seq);
            b_int(l, 3, id);
            b_int(l, 4, seq);
            b_text(l, 5, "F");
            b_text(l, 6, "F");
            b_int(l, 7, item);
            b_text(l, 8, "InvtPart");
            sqlite3_bind_double(l, 9, -qty); /* posting sign: sales-order lines are negative */
            sqlite3_bind_double(l, 10, rate);
            sqlite3_bind_double(l, 11, -amount);
            sqlite3_bind_double(l, 12, -amount);
            b_text(l, 13, chance(&g->r, 10) ? "Please gift-wrap" : NULL);
            b_text(l, 14,
                   closed || ((status == 'D' || status == 'E') && chance(&g->r, 30)) ? "T" : "F");
            sqlite3_bind_double(l, 15, status >= 'D' && status != 'H' ? qty : 0);
            sqlite3_bind_double(l, 16, status == 'G' ? qty : 0);
            b_time(l, 17, created);
            b_time(l, 18, llmd);
            b_text(l, 19, chance(&g->r, 10) ? "T" : "F");
            b_text(l, 20, chance(&g->r, 5) ? "Handle with care" : NULL);
            step(g, l);
        }
        /* discount, shipping, tax */
        struct {
            bool on;
            long item;
            const char *type;
            double amount;
            bool tax;
        } extra[3] = {
            {chance(&g->r, 25), 100 + nitems, "Discount", -round(total * 10.0) / 100.0, false},
            {chance(&g->r, 50), 100 + nitems + 1 + range(&g->r, 0, 1), "ShipItem",
             (double)range(&g->r, 5, 40), false},
            {cu->sub == 1 && chance(&g->r, 70), 100 + nitems + 3, "TaxItem",
             round(total * 8.25) / 100.0, true},
        };
        for (int k = 0; k < 3; k++) {
            if (!extra[k].on)
                continue;
            total += extra[k].amount;
            seq++;
            b_int(l, 1, uniquekey++);
            b_int(l, 2, seq);
            b_int(l, 3, id);
            b_int(l, 4, seq);
            b_text(l, 5, "F");
            b_text(l, 6, extra[k].tax ? "T" : "F");
            b_int(l, 7, extra[k].item);
            b_text(l, 8, extra[k].type);
            sqlite3_bind_double(l, 9, extra[k].tax ? 0 : -1);
            sqlite3_bind_double(l, 10, extra[k].amount);
            sqlite3_bind_double(l, 11, -extra[k].amount);
            sqlite3_bind_double(l, 12, -extra[k].amount);
            b_text(l, 13, NULL);
            b_text(l, 14, closed ? "T" : "F");
            sqlite3_bind_null(l, 15);
            sqlite3_bind_null(l, 16);
            b_time(l, 17, created);
            b_time(l, 18, created);
            b_text(l, 19, "F");
            b_text(l, 20, NULL);
            step(g, l);
        }
        if (!line_only_later && header_lmd < max_line_lmd)
            header_lmd = max_line_lmd;
        total = round(total * 100.0) / 100.0;
        /* mainline */
        b_int(l, 1, uniquekey++);
        b_int(l, 2, 0);
        b_int(l, 3, id);
        b_int(l, 4, 0);
        b_text(l, 5, "T");
        b_text(l, 6, "F");
        sqlite3_bind_null(l, 7);
        sqlite3_bind_null(l, 8);
        sqlite3_bind_null(l, 9);
        sqlite3_bind_null(l, 10);
        sqlite3_bind_double(l, 11, total);
        sqlite3_bind_double(l, 12, total);
        b_text(l, 13, NULL);
        b_text(l, 14, closed ? "T" : "F");
        sqlite3_bind_null(l, 15);
        sqlite3_bind_null(l, 16);
        b_time(l, 17, created);
        b_time(l, 18, header_lmd);
        b_text(l, 19, "F");
        b_text(l, 20, NULL);
        step(g, l);

        char tranid[32], otherref[32];
        snprintf(tranid, sizeof tranid, "SO%lld", id);
        snprintf(otherref, sizeof otherref, "PO-%ld", range(&g->r, 10000, 99999));
        b_int(t, 1, id);
        b_text(t, 2, tranid);
        b_time(t, 3, local_midnight(created));
        b_int(t, 4, cu->id);
        char st[2] = {status, 0};
        b_text(t, 5, st);
        b_int(t, 6, cu->currency);
        sqlite3_bind_double(t, 7, rates[cu->currency]);
        sqlite3_bind_double(t, 8, total);
        b_text(t, 9, chance(&g->r, 20) ? "Rush order — call before delivery" : NULL);
        if (chance(&g->r, 25)) {
            char ext[32];
            snprintf(ext, sizeof ext, "WEB-%lld", id);
            b_text(t, 10, ext);
        } else {
            b_text(t, 10, NULL);
        }
        b_text(t, 11, chance(&g->r, 50) ? otherref : NULL);
        b_int_or_null(t, 12, chance(&g->r, 80) ? range(&g->r, 3, 22) : 0);
        b_int(t, 13, cu->sub);
        b_int_or_null(t, 14, chance(&g->r, 80) ? range(&g->r, 1, 5) : 0);
        if (status >= 'B' && status != 'C')
            b_time(t, 15, local_midnight(created + range(&g->r, 86400, 14 * 86400L)));
        else
            sqlite3_bind_null(t, 15);
        b_time(t, 16, created);
        b_time(t, 17, header_lmd);
        b_text(t, 18, PICK(&g->r, channels));
        b_text(t, 19, chance(&g->r, 10) ? "High" : "Normal");
        b_text(t, 20, NULL);
        step(g, t);
    }
    sqlite3_finalize(t);
    sqlite3_finalize(l);
    free(buyers);
}

/* Some records were deleted before the sandbox started: they sit in DeletedRecord only. */
static void deletions(struct gen *g, long n)
{
    char sql[1024];
    long want = n / 200 + (n >= 20 ? 1 : 0);
    if (want <= 0)
        return;
    bool label = g->s->set.deleted_type_label;
    snprintf(
        sql, sizeof sql,
        "CREATE TEMP TABLE gone AS SELECT id, entityid, lastmodifieddate AS lmd FROM customer c"
        " WHERE searchstage = 'Customer' AND NOT EXISTS (SELECT 1 FROM \"transaction\" t"
        " WHERE t.entity = c.id) AND NOT EXISTS (SELECT 1 FROM customer k WHERE k.parent ="
        " c.id) ORDER BY (id * 2654435761) %% 1000003 LIMIT %ld;"
        "INSERT INTO DeletedRecord SELECT id, '%s', entityid, lmd + 0.5, 3, 'UI', 'F' FROM gone;"
        "INSERT INTO DeletedRecord SELECT k.id, '%s', k.entityid, g.lmd + 0.5, 3, 'UI', 'F'"
        " FROM contact k JOIN gone g ON k.company = g.id;"
        "DELETE FROM contact WHERE company IN (SELECT id FROM gone);"
        "DELETE FROM entityaddress WHERE recordowner IN (SELECT id FROM gone);"
        "DELETE FROM customeraddressbook WHERE entity IN (SELECT id FROM gone);"
        "DELETE FROM customer WHERE id IN (SELECT id FROM gone);"
        "DROP TABLE gone;",
        want, label ? "Customer" : "customer", label ? "Contact" : "contact");
    exec(g, sql);
}

enum mlc_rc ns_datagen(struct ns_sandbox *s, const struct ns_options *o, char *err, size_t errsz)
{
    struct gen g = {.s = s,
                    .db = s->db,
                    .r = {o->seed * 0x9e3779b97f4a7c15ull + 12345},
                    .err = err,
                    .errsz = errsz};
    long n = o->customers, m = o->orders, k = o->items > 0 ? o->items : 1;
    long large = o->large_orders < 0 ? (m >= 3 ? 3 : 0) : o->large_orders;
    if (large > m)
        large = m;
    struct cust_info *ci = mlc_calloc((size_t)n + 1, sizeof *ci);
    long long next_entity = 1001, next_nkey = 10001, next_tx = 5001;
    exec(&g, "BEGIN");
    reference_data(&g);
    items(&g, k);
    customers(&g, n, ci, &next_entity, &next_nkey);
    orders(&g, m, large, k, ci, n, &next_tx);
    /* the deletion pass looks orders up by customer and children by parent */
    exec(&g, "CREATE INDEX IF NOT EXISTS tx_entity ON \"transaction\"(entity);"
             "CREATE INDEX IF NOT EXISTS customer_parent ON customer(parent);");
    deletions(&g, n);
    char meta[512];
    snprintf(
        meta, sizeof meta,
        "INSERT OR REPLACE INTO sbx_meta VALUES ('next_entity', '%lld'), ('next_nkey', '%lld'),"
        " ('next_tx', '%lld'), ('seed', '%llu');",
        next_entity + 1000, next_nkey + 1000, next_tx + 1000, (unsigned long long)o->seed);
    exec(&g, meta);
    if (g.failed)
        sqlite3_exec(g.db, "ROLLBACK", NULL, NULL, NULL);
    else
        exec(&g, "COMMIT");
    free(ci);
    return g.failed ? MLC_ERR : MLC_OK;
}
