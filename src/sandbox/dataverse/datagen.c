/* The organization's starting data, from the seed and NetSuite's generated records: currencies,
 * price lists, units, products (some SKUs missing), users (some matching sales reps), teams, and
 * hand-made CRM accounts and contacts. */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 "2025-06-01T09:00:00Z"

struct gen {
    struct dv_sandbox *s;
    uint64_t n;
};

static void gid(struct gen *g, const char *kind, long i, char out[37])
{
    char key[128];
    snprintf(key, sizeof key, "%llu:%s:%ld", (unsigned long long)g->s->seed, kind, i);
    dv_guid_from(key, out);
}

/* Adds a row as the system would have it: id, audit columns, state. row is stolen. */
static void add(struct gen *g, const char *logical, const char *id, json_t *row)
{
    struct dv_tab *t = dv_tab_by_logical(g->s, logical, strlen(logical));
    if (!t) {
        json_decref(row);
        return;
    }
    g->s->version++;
    json_object_set_new(row, t->def->id, json_string(id));
    json_object_set_new(row, "versionnumber", json_integer((json_int_t)(4412000 + g->s->version)));
    if (dv_col_find(t, "createdon")) {
        json_object_set_new(row, "createdon", json_string(T0));
        json_object_set_new(row, "modifiedon", json_string(T0));
        json_object_set_new(row, "_createdby_value", json_string(g->s->admin_user_id));
        json_object_set_new(row, "_modifiedby_value", json_string(g->s->admin_user_id));
    }
    if (dv_col_find(t, "ownerid"))
        json_object_set_new(row, "_ownerid_value", json_string(g->s->admin_user_id));
    if (t->def->has_state && !json_object_get(row, "statecode")) {
        json_object_set_new(row, "statecode", json_integer(0));
        json_object_set_new(row, "statuscode", json_integer(1));
    }
    dv_row_put(g->s, t, id, row);
}

static const struct {
    const char *code, *name, *symbol;
    double rate;
} currencies[] = {{"USD", "US Dollar", "$", 1.0},
                  {"EUR", "Euro", "\xe2\x82\xac", 0.92},
                  {"GBP", "Pound Sterling", "\xc2\xa3", 0.79},
                  {"CAD", "Canadian Dollar", "CA$", 1.36}};

static void reference(struct gen *g, char cur[4][37], char pl[4][37], char units[3][37])
{
    add(g, "businessunit", g->s->business_unit_id, json_pack("{s:s}", "name", g->s->org_name));
    add(g, "systemuser", g->s->app_user_id,
        json_pack("{s:s, s:s, s:s, s:b, s:i, s:s}", "fullname", "# ml-connector", "applicationid",
                  g->s->client_id, "domainname", "ml-connector@sandbox.example", "isdisabled", 0,
                  "accessmode", 4, "_businessunitid_value", g->s->business_unit_id));
    add(g, "systemuser", g->s->admin_user_id,
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:i, s:s}", "fullname", "Casey Admin",
                  "firstname", "Casey", "lastname", "Admin", "internalemailaddress",
                  "casey.admin@crm-sandbox.example", "domainname",
                  "casey.admin@crm-sandbox.example", "isdisabled", 0, "accessmode", 0,
                  "_businessunitid_value", g->s->business_unit_id));
    static const char *const msgs[] = {"Create",         "Update",         "Delete",
                                       "Merge",          "CreateMultiple", "UpdateMultiple",
                                       "UpsertMultiple", "Upsert",         "SetState"};
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        char id[37], key[64];
        snprintf(key, sizeof key, "sdkmessage:%s", msgs[i]);
        dv_guid_from(key, id);
        struct dv_tab *t = dv_tab_by_logical(g->s, "sdkmessage", 10);
        json_object_set_new(t->rows, id,
                            json_pack("{s:s, s:s, s:I}", "sdkmessageid", id, "name", msgs[i],
                                      "versionnumber", (json_int_t)1));
    }
    for (int i = 0; i < 4; i++) {
        gid(g, "currency", i, cur[i]);
        add(g, "transactioncurrency", cur[i],
            json_pack("{s:s, s:s, s:s, s:f, s:i}", "currencyname", currencies[i].name,
                      "isocurrencycode", currencies[i].code, "currencysymbol", currencies[i].symbol,
                      "exchangerate", currencies[i].rate, "currencyprecision", 2));
        char name[64];
        snprintf(name, sizeof name, "%s Price List", currencies[i].code);
        gid(g, "pricelevel", i, pl[i]);
        add(g, "pricelevel", pl[i],
            json_pack("{s:s, s:s}", "name", name, "_transactioncurrencyid_value", cur[i]));
    }
    char sched[37];
    gid(g, "uomschedule", 0, sched);
    add(g, "uomschedule", sched,
        json_pack("{s:s, s:s}", "name", "Default Unit", "baseuomname", "Primary Unit"));
    static const struct {
        const char *name;
        double qty;
    } u[] = {{"Primary Unit", 1}, {"Dozen", 12}, {"Box", 24}};
    for (int i = 0; i < 3; i++) {
        gid(g, "uom", i, units[i]);
        add(g, "uom", units[i],
            json_pack("{s:s, s:f, s:s, s:b}", "name", u[i].name, "quantity", u[i].qty,
                      "_uomscheduleid_value", sched, "isschedulebaseuom", i == 0));
    }
}

static void users_and_teams(struct gen *g, json_t *reps)
{
    for (size_t i = 0; i < json_array_size(reps); i++) {
        json_t *r = json_array_get(reps, i);
        const char *fn = json_string_value(json_object_get(r, "firstname"));
        const char *ln = json_string_value(json_object_get(r, "lastname"));
        const char *em = json_string_value(json_object_get(r, "email"));
        if (!fn || !ln || !em)
            continue;
        /* two reps in three use the same e-mail in both systems; the others a CRM alias */
        char mail[160], full[160], id[37];
        if (i % 3 == 2) {
            const char *at = strchr(em, '@');
            snprintf(mail, sizeof mail, "%.*s@crm-sandbox.example", (int)(at ? at - em : 8), em);
        } else {
            snprintf(mail, sizeof mail, "%s", em);
        }
        snprintf(full, sizeof full, "%s %s", fn, ln);
        gid(g, "systemuser", (long)i, id);
        add(g, "systemuser", id,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:i, s:s}", "fullname", full, "firstname", fn,
                      "lastname", ln, "internalemailaddress", mail, "domainname", mail,
                      "isdisabled", 0, "accessmode", 0, "_businessunitid_value",
                      g->s->business_unit_id));
    }
    static const char *const teams[] = {"Sales West", "Sales Europe", "Key Accounts"};
    for (int i = 0; i < 3; i++) {
        char id[37];
        gid(g, "team", i, id);
        add(g, "team", id,
            json_pack("{s:s, s:i, s:s, s:s}", "name", teams[i], "teamtype", 0,
                      "_businessunitid_value", g->s->business_unit_id, "_administratorid_value",
                      g->s->admin_user_id));
    }
}

static void products(struct gen *g, json_t *items, char pl[4][37], char units[3][37])
{
    char sched[37];
    gid(g, "uomschedule", 0, sched);
    long n = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        const char *sku = json_string_value(json_object_get(it, "itemid"));
        const char *name = json_string_value(json_object_get(it, "displayname"));
        const char *type = json_string_value(json_object_get(it, "itemtype"));
        if (!sku || !name ||
            (type && (strcmp(type, "Discount") == 0 || strcmp(type, "ShipItem") == 0 ||
                      strcmp(type, "TaxItem") == 0)))
            continue;
        if (i % 7 == 3)
            continue; /* some NetSuite SKUs are not in the CRM catalogue */
        char id[37];
        gid(g, "product", (long)i, id);
        add(g, "product", id,
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", name, "productnumber", sku,
                      "_defaultuomid_value", units[0], "_defaultuomscheduleid_value", sched,
                      "_pricelevelid_value", pl[0]));
        for (int c = 0; c < 4; c++) {
            if (c == 3 && i % 2)
                continue; /* not every product is in every price list */
            char pid[37];
            gid(g, "productpricelevel", (long)(i * 4 + (size_t)c), pid);
            add(g, "productpricelevel", pid,
                json_pack("{s:s, s:s, s:s, s:f}", "_pricelevelid_value", pl[c], "_productid_value",
                          id, "_uomid_value", units[0], "amount",
                          (double)(10 + (long)(i % 40) * 5) * currencies[c].rate));
        }
        n++;
    }
    (void)n;
}

static void contact_for(struct gen *g, long i, const char *account, const char *first,
                        const char *last, const char *mail)
{
    char id[37];
    gid(g, "contact", i, id);
    char full[120];
    snprintf(full, sizeof full, "%s %s", first, last);
    add(g, "contact", id,
        json_pack("{s:s, s:s, s:s, s:s, s:s?}", "firstname", first, "lastname", last, "fullname",
                  full, "emailaddress1", mail, "_parentcustomerid_value", account));
}

static void accounts(struct gen *g, json_t *cust, char cur[4][37])
{
    static const char *const firsts[] = {"Alex", "Sam", "Robin", "Kim", "Jordan", "Maria"};
    static const char *const lasts[] = {"Meyer", "Lopez", "Chen", "Okafor", "Novak", "Berg"};
    long na = 0, nc = 0;
    for (size_t i = 0; i < json_array_size(cust) && i < 60; i++) {
        json_t *c = json_array_get(cust, i);
        const char *name = json_string_value(json_object_get(c, "companyname"));
        const char *email = json_string_value(json_object_get(c, "email"));
        const char *entityid = json_string_value(json_object_get(c, "entityid"));
        const char *zip = json_string_value(json_object_get(c, "zip"));
        const char *city = json_string_value(json_object_get(c, "city"));
        if (!name)
            continue;
        const char *domain = email ? strchr(email, '@') : NULL;
        char id[37], num[24] = "", mail[160] = "", nm[200];
        snprintf(nm, sizeof nm, "%s", name);
        json_t *row = json_object();
        switch (i % 5) {
        case 0: /* same account number as NetSuite's entity number */
            if (entityid)
                snprintf(num, sizeof num, "%.*s", (int)strcspn(entityid, " "), entityid);
            json_object_set_new(row, "accountnumber", json_string(num));
            break;
        case 1: /* same e-mail domain, a differently written name */
            if (domain)
                snprintf(mail, sizeof mail, "info%s", domain);
            snprintf(nm, sizeof nm, "%s (CRM)", name);
            break;
        case 2: /* same name and postcode */
            if (zip)
                json_object_set_new(row, "address1_postalcode", json_string(zip));
            break;
        case 3: /* ambiguous: two CRM accounts share the name */
            if (zip)
                json_object_set_new(row, "address1_postalcode", json_string(zip));
            break;
        default: /* no match: a CRM-only account under a changed name */
            snprintf(nm, sizeof nm, "%s Holdings CRM", name);
            break;
        }
        json_object_set_new(row, "name", json_string(nm));
        if (mail[0])
            json_object_set_new(row, "emailaddress1", json_string(mail));
        if (city)
            json_object_set_new(row, "address1_city", json_string(city));
        json_object_set_new(row, "customertypecode", json_integer(3));
        json_object_set_new(row, "_transactioncurrencyid_value", json_string(cur[i % 4]));
        gid(g, "account", na++, id);
        add(g, "account", id, row);
        if (i % 5 == 3) {
            char id2[37];
            gid(g, "account", na++, id2);
            add(g, "account", id2,
                json_pack("{s:s, s:s?, s:i}", "name", name, "address1_city", city,
                          "customertypecode", 3));
        }
        char cm[160];
        const char *f = firsts[i % 6], *l = lasts[(i / 6) % 6];
        char lf[16], ll[16];
        snprintf(lf, sizeof lf, "%s", f);
        snprintf(ll, sizeof ll, "%s", l);
        for (char *p = lf; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        for (char *p = ll; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        snprintf(cm, sizeof cm, "%s.%s%s", lf, ll, domain ? domain : "@crm-sandbox.example");
        contact_for(g, nc++, id, f, l, cm);
    }
    /* CRM-only accounts nobody in NetSuite knows */
    static const char *const own[] = {"Lakeside Bikes", "Harbor Freight Partners",
                                      "Oakridge Dental", "Summit Legal LLP", "Polar Analytics"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        char id[37], mail[96];
        gid(g, "account", na++, id);
        add(g, "account", id,
            json_pack("{s:s, s:i, s:s}", "name", own[i], "customertypecode", 1 + (int)i,
                      "_transactioncurrencyid_value", cur[0]));
        snprintf(mail, sizeof mail, "contact%zu@crm-only.example", i);
        contact_for(g, nc++, id, firsts[i % 6], lasts[(i + 2) % 6], mail);
    }
}

/* CRM contacts for some of NetSuite's: the same e-mail, or the same name under another e-mail. */
static void ns_contacts(struct gen *g, json_t *list)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *c = json_array_get(list, i);
        const char *fn = json_string_value(json_object_get(c, "firstname"));
        const char *ln = json_string_value(json_object_get(c, "lastname"));
        const char *em = json_string_value(json_object_get(c, "email"));
        if (!fn || !ln || !em || i % 3 == 2)
            continue;
        char mail[200];
        if (i % 3 == 0)
            snprintf(mail, sizeof mail, "%s", em);
        else
            snprintf(mail, sizeof mail, "%.40s.%.40s@crm-sandbox.example", fn, ln);
        contact_for(g, 100000 + (long)i, NULL, fn, ln, mail);
    }
}

static void webhook_registration(struct gen *g)
{
    char eid[37];
    dv_provisioned_endpoint_id(eid);
    struct dv_settings st = dv_settings_get(g->s);
    add(g, "serviceendpoint", eid,
        json_pack("{s:s, s:i, s:s, s:i, s:s, s:i, s:s}", "name", "ml-connector", "contract", 8,
                  "url", st.webhook_url, "authtype", 4, "authvalue", g->s->webhook_key,
                  "messageformat", 2, "description", "ml-connector webhook (provisioned)"));
    static const char *const tables[] = {"account", "contact", "salesorder", "salesorderdetail"};
    static const char *const msgs[] = {"Create", "Update", "Delete", "Merge"};
    long n = 0;
    for (size_t t = 0; t < 4; t++)
        for (size_t m = 0; m < 4; m++) {
            if (m == 3 && t > 1)
                continue; /* Merge exists on account and contact only */
            char sid[37], mid[37], fid[37], key[96], name[160];
            snprintf(key, sizeof key, "sdkmessage:%s", msgs[m]);
            dv_guid_from(key, mid);
            snprintf(key, sizeof key, "sdkmessagefilter:%s:%s", msgs[m], tables[t]);
            dv_guid_from(key, fid);
            gid(g, "step", n++, sid);
            snprintf(name, sizeof name, "ml-connector: %s of %s", msgs[m], tables[t]);
            add(g, "sdkmessageprocessingstep", sid,
                json_pack("{s:s, s:i, s:i, s:i, s:i, s:b, s:s, s:s, s:s}", "name", name, "mode", 1,
                          "stage", 40, "rank", 1, "supporteddeployment", 0, "asyncautodelete", 0,
                          "_sdkmessageid_value", mid, "_sdkmessagefilterid_value", fid,
                          "_eventhandler_value", eid));
        }
}

enum mlc_rc dv_datagen(struct dv_sandbox *s, const struct dv_options *o, char *err, size_t errsz)
{
    (void)err;
    (void)errsz;
    struct gen g = {.s = s};
    char cur[4][37], pl[4][37], units[3][37];
    reference(&g, cur, pl, units);
    users_and_teams(&g, o->ns_reps);
    products(&g, o->ns_items, pl, units);
    accounts(&g, o->ns_customers, cur);
    ns_contacts(&g, o->ns_contacts);
    if (s->provisioned)
        webhook_registration(&g);
    return MLC_OK;
}
