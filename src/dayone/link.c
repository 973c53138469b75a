/* `ml-connector link`: before the first load, matches the Dataverse accounts, contacts and products
 * people made by hand (rows carrying no key) to NetSuite records by the mapping's link rules in
 * order, writes a CSV review file of proposed, ambiguous and unmatched rows, and with --apply
 * stamps the keys of the approved rows only, so the sync then updates those rows in place. */
#include "internal.h"
#include "mlc/log.h"
#include "mlc/queue.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: ml-connector link [--out FILE]\n"
    "       ml-connector link --apply FILE [--dry-run]\n"
    "\n"
    "Matches Dataverse accounts, contacts and products that carry no NetSuite key to NetSuite\n"
    "customers, contacts and items by the mapping's \"link\" rules, in order (defaults: accounts\n"
    "by account number (NetSuite's entity number), then e-mail domain, then exact name +\n"
    "postcode; contacts by e-mail; products by SKU), and writes the review file (CSV, default\n"
    "link-review.csv): one line per CRM row, status proposed, ambiguous or unmatched, the rule,\n"
    "the NetSuite record (or the candidates) and an approve column (yes for proposed rows).\n"
    "Edit it (approve=yes/no; for an ambiguous row put one candidate in netsuite_id), then\n"
    "--apply stamps the key of every approved row (and only those) on the CRM row; the first\n"
    "load then updates those rows instead of creating new ones. --dry-run with --apply prints\n"
    "what would be stamped.\n";

enum kind { K_ACCOUNT, K_CONTACT, K_PRODUCT, K__N };
static const char *const tables[] = {"account", "contact", "product"};
static const char *const sets[] = {"accounts", "contacts", "products"};
static const char *const ns_types[] = {"customer", "contact", "item"};

/* Rules per kind, in the order of the defaults. */
enum rule { R_ACCOUNT_NUMBER, R_EMAIL_DOMAIN, R_NAME_POSTCODE, R_EMAIL, R_SKU, R__N };
static const char *const rule_names[] = {"accountNumber", "emailDomain", "namePostcode", "email",
                                         "sku"};
static const enum kind rule_kind[] = {K_ACCOUNT, K_ACCOUNT, K_ACCOUNT, K_CONTACT, K_PRODUCT};

/* ---- normalisation ---- */

void mlc_link_norm(const char *s, char *out, size_t outsz)
{
    size_t n = 0;
    bool space = false;
    if (outsz == 0)
        return;
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isspace(c)) {
            space = n > 0;
            continue;
        }
        if (space && n + 1 < outsz)
            out[n++] = ' ';
        space = false;
        if (n + 1 < outsz)
            out[n++] = (char)tolower(c);
    }
    out[n] = '\0';
}

bool mlc_link_email_domain(const char *email, char *out, size_t outsz)
{
    static const char *const public_domains[] = {
        "gmail.com", "googlemail.com", "outlook.com",    "hotmail.com", "live.com",   "msn.com",
        "yahoo.com", "icloud.com",     "me.com",         "aol.com",     "gmx.de",     "gmx.net",
        "web.de",    "proton.me",      "protonmail.com", "mail.com",    "yandex.com", "t-online.de",
        "orange.fr", "free.fr",        "example.com",    NULL};
    const char *at = email ? strrchr(email, '@') : NULL;
    if (!at || !at[1])
        return false;
    mlc_link_norm(at + 1, out, outsz);
    if (!out[0] || strchr(out, ' ') || !strchr(out, '.'))
        return false;
    for (size_t i = 0; public_domains[i]; i++)
        if (strcmp(out, public_domains[i]) == 0)
            return false;
    return true;
}

/* The customer number: NetSuite's entityid up to the first blank ("CUST12 Acme" -> "cust12"). */
static void entity_number(const char *entityid, char *out, size_t outsz)
{
    char tmp[256];
    mlc_link_norm(entityid, tmp, sizeof tmp);
    tmp[strcspn(tmp, " ")] = '\0';
    size_t n = strnlen(tmp, outsz - 1); /* cut to outsz */
    memcpy(out, tmp, n);
    out[n] = '\0';
}

/* ---- the rules of the mapping ---- */

/* Reads $.link.<kind> (an array of rule names) into order; defaults when absent. MLC_EINVAL with
 * the JSON path. */
static enum mlc_rc rules_of(const struct dayone *d, enum kind k, enum rule *order, size_t *n,
                            char *err, size_t errsz)
{
    *n = 0;
    json_t *link = json_object_get(mlc_mapping_member(d->mapping, "link"), tables[k]);
    if (!link) {
        for (int r = 0; r < R__N; r++)
            if (rule_kind[r] == k)
                order[(*n)++] = (enum rule)r;
        return MLC_OK;
    }
    if (!json_is_array(link)) {
        snprintf(err, errsz, "MLC_MAPPING_FILE: $.link.%s: must be an array of rule names",
                 tables[k]);
        return MLC_EINVAL;
    }
    size_t i;
    json_t *v;
    json_array_foreach(link, i, v)
    {
        const char *name = json_string_value(v);
        int r = 0;
        for (; r < R__N; r++)
            if (name && strcmp(name, rule_names[r]) == 0 && rule_kind[r] == k)
                break;
        if (r == R__N) {
            snprintf(err, errsz,
                     "MLC_MAPPING_FILE: $.link.%s[%zu]: not a rule for %s (accountNumber, "
                     "emailDomain, namePostcode for account; email for contact; sku for product)",
                     tables[k], i, tables[k]);
            return MLC_EINVAL;
        }
        order[(*n)++] = (enum rule)r;
    }
    return MLC_OK;
}

/* ---- records of both sides ---- */

struct nsrec {
    long long id;
    char name[200];   /* normalised company name (or first + last) / e-mail / SKU */
    char shown[200];  /* as in NetSuite, for the review file */
    char number[64];  /* customers: entity number */
    char domain[128]; /* customers: e-mail domain */
    char zip[32];     /* customers: billing postcode */
    char email[200];  /* customers and contacts */
    bool linked;      /* a CRM row carries its key already */
};

struct crmrow {
    char id[37];
    char shown[200];
    char number[64], domain[128], name[200], zip[32], email[200], sku[120];
    /* outcome */
    int status; /* 0 unmatched, 1 proposed, 2 ambiguous */
    enum rule rule;
    json_t *cands; /* array of NetSuite ids (owned) */
};

struct side {
    struct nsrec *ns;
    size_t nns, cap;
    struct crmrow *crm;
    size_t ncrm, ccap;
    json_t *keyed; /* NetSuite ids already on a CRM row: {"id": true} */
};

static bool take_ns(json_t *row, void *ud)
{
    struct side *sd = ((void **)ud)[0];
    enum kind k = *(enum kind *)((void **)ud)[1];
    if (sd->nns == sd->cap) {
        sd->cap = sd->cap ? sd->cap * 2 : 1024;
        sd->ns = mlc_realloc(sd->ns, sd->cap * sizeof *sd->ns);
    }
    struct nsrec *r = &sd->ns[sd->nns];
    memset(r, 0, sizeof *r);
    if (!mlc_ns_row_i64(row, "id", &r->id) || r->id <= 0)
        return true;
    char t[256] = "", first[100] = "", last[100] = "";
    if (k == K_ACCOUNT) {
        mlc_ns_row_text(row, "companyname", t, sizeof t);
        if (!t[0]) {
            mlc_ns_row_text(row, "firstname", first, sizeof first);
            mlc_ns_row_text(row, "lastname", last, sizeof last);
            snprintf(t, sizeof t, "%s%s%s", first, first[0] && last[0] ? " " : "", last);
        }
        snprintf(r->shown, sizeof r->shown, "%.190s", t);
        mlc_link_norm(t, r->name, sizeof r->name);
        char eid[256] = "";
        mlc_ns_row_text(row, "entityid", eid, sizeof eid);
        entity_number(eid, r->number, sizeof r->number);
        char mail[256] = "";
        mlc_ns_row_text(row, "email", mail, sizeof mail);
        mlc_link_norm(mail, r->email, sizeof r->email);
        if (!mlc_link_email_domain(mail, r->domain, sizeof r->domain))
            r->domain[0] = '\0';
        char zip[64] = "";
        mlc_ns_row_text(row, "zip", zip, sizeof zip);
        mlc_link_norm(zip, r->zip, sizeof r->zip);
    } else if (k == K_CONTACT) {
        mlc_ns_row_text(row, "email", t, sizeof t);
        mlc_link_norm(t, r->email, sizeof r->email);
        mlc_ns_row_text(row, "firstname", first, sizeof first);
        mlc_ns_row_text(row, "lastname", last, sizeof last);
        snprintf(r->shown, sizeof r->shown, "%.60s%s%.60s <%.70s>", first, first[0] ? " " : "",
                 last, t);
    } else {
        mlc_ns_row_text(row, "itemid", t, sizeof t);
        snprintf(r->shown, sizeof r->shown, "%.190s", t);
        mlc_link_norm(t, r->name, sizeof r->name);
    }
    sd->nns++;
    return true;
}

static const char *const ns_queries[] = {
    "SELECT c.id, c.entityid, c.companyname, c.firstname, c.lastname, c.email, ea.zip AS zip "
    "FROM customer c LEFT JOIN entityaddress ea ON ea.nkey = c.defaultbillingaddress "
    "ORDER BY c.id",
    "SELECT id, firstname, lastname, email FROM contact ORDER BY id",
    "SELECT id, itemid FROM item ORDER BY id",
};

static const char *const crm_selects[] = {
    "accountid,name,accountnumber,emailaddress1,websiteurl,address1_postalcode",
    "contactid,fullname,emailaddress1",
    "productid,name,productnumber",
};

struct crm_ud {
    struct side *sd;
    enum kind k;
    const char *keycol;
};

static const char *str(json_t *row, const char *col)
{
    const char *v = json_string_value(json_object_get(row, col));
    return v ? v : "";
}

static bool take_crm(json_t *row, void *ud)
{
    struct crm_ud *u = ud;
    struct side *sd = u->sd;
    const char *key = json_string_value(json_object_get(row, u->keycol));
    if (key && *key) {
        json_object_set_new(sd->keyed, key, json_true());
        return true;
    }
    char idcol[40];
    snprintf(idcol, sizeof idcol, "%sid", tables[u->k]);
    const char *id = json_string_value(json_object_get(row, idcol));
    if (!id || !mlc_dv_guid_valid(id))
        return true;
    if (sd->ncrm == sd->ccap) {
        sd->ccap = sd->ccap ? sd->ccap * 2 : 1024;
        sd->crm = mlc_realloc(sd->crm, sd->ccap * sizeof *sd->crm);
    }
    struct crmrow *c = &sd->crm[sd->ncrm++];
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", id);
    if (u->k == K_ACCOUNT) {
        snprintf(c->shown, sizeof c->shown, "%s", str(row, "name"));
        mlc_link_norm(str(row, "name"), c->name, sizeof c->name);
        mlc_link_norm(str(row, "accountnumber"), c->number, sizeof c->number);
        mlc_link_norm(str(row, "address1_postalcode"), c->zip, sizeof c->zip);
        if (!mlc_link_email_domain(str(row, "emailaddress1"), c->domain, sizeof c->domain))
            c->domain[0] = '\0';
    } else if (u->k == K_CONTACT) {
        snprintf(c->shown, sizeof c->shown, "%s <%.100s>", str(row, "fullname"),
                 str(row, "emailaddress1"));
        mlc_link_norm(str(row, "emailaddress1"), c->email, sizeof c->email);
    } else {
        snprintf(c->shown, sizeof c->shown, "%s", str(row, "name"));
        mlc_link_norm(str(row, "productnumber"), c->sku, sizeof c->sku);
    }
    return true;
}

static bool rule_matches(enum rule r, const struct crmrow *c, const struct nsrec *n)
{
    switch (r) {
    case R_ACCOUNT_NUMBER:
        return c->number[0] && strcmp(c->number, n->number) == 0;
    case R_EMAIL_DOMAIN:
        return c->domain[0] && strcmp(c->domain, n->domain) == 0;
    case R_NAME_POSTCODE:
        /* a CRM row without a postcode cannot be told apart: it is a candidate, never proposed */
        return c->name[0] && strcmp(c->name, n->name) == 0 &&
               (!c->zip[0] || strcmp(c->zip, n->zip) == 0);
    case R_EMAIL:
        return c->email[0] && strchr(c->email, '@') && strcmp(c->email, n->email) == 0;
    case R_SKU:
        return c->sku[0] && strcmp(c->sku, n->name) == 0;
    default:
        return false;
    }
}

/* Applies the rules in order, then turns every NetSuite record claimed by several CRM rows into
 * ambiguity for all of them. */
static void match(struct side *sd, const enum rule *order, size_t nrules)
{
    for (size_t i = 0; i < sd->ncrm; i++) {
        struct crmrow *c = &sd->crm[i];
        for (size_t r = 0; r < nrules && c->status == 0; r++) {
            json_t *cands = json_array();
            for (size_t j = 0; j < sd->nns; j++) {
                char idt[24];
                snprintf(idt, sizeof idt, "%lld", sd->ns[j].id);
                if (json_object_get(sd->keyed, idt))
                    continue;
                if (rule_matches(order[r], c, &sd->ns[j]))
                    json_array_append_new(cands, json_integer(sd->ns[j].id));
            }
            if (json_array_size(cands) == 0) {
                json_decref(cands);
                continue;
            }
            c->rule = order[r];
            c->cands = cands;
            c->status =
                json_array_size(cands) == 1 && !(order[r] == R_NAME_POSTCODE && !c->zip[0]) ? 1 : 2;
        }
    }
    json_t *claims = json_object(); /* NetSuite id -> number of CRM rows listing it */
    for (size_t i = 0; i < sd->ncrm; i++) {
        size_t j;
        json_t *v;
        json_array_foreach(sd->crm[i].cands, j, v)
        {
            char idt[24];
            snprintf(idt, sizeof idt, "%lld", (long long)json_integer_value(v));
            json_object_set_new(claims, idt,
                                json_integer(json_integer_value(json_object_get(claims, idt)) + 1));
        }
    }
    for (size_t i = 0; i < sd->ncrm; i++) {
        struct crmrow *c = &sd->crm[i];
        if (c->status != 1)
            continue;
        char idt[24];
        snprintf(idt, sizeof idt, "%lld",
                 (long long)json_integer_value(json_array_get(c->cands, 0)));
        if (json_integer_value(json_object_get(claims, idt)) > 1)
            c->status = 2;
    }
    json_decref(claims);
}

/* ---- CSV ---- */

static void csv_field(FILE *f, const char *s, bool last)
{
    bool quote =
        strpbrk(s, ",\"\r\n") != NULL || (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@');
    if (quote) {
        fputc('"', f);
        /* a leading formula character is neutralised for spreadsheets */
        if (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')
            fputc('\'', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputs(last ? "\r\n" : ",", f);
}

static const char *const csv_header[] = {
    "table",       "crm_id",        "crm_name",   "status",  "rule", "netsuite_type",
    "netsuite_id", "netsuite_name", "candidates", "approve", NULL};
#define CSV_COLS 10

static const struct nsrec *ns_by_id(const struct side *sd, long long id)
{
    for (size_t i = 0; i < sd->nns; i++)
        if (sd->ns[i].id == id)
            return &sd->ns[i];
    return NULL;
}

static void write_rows(FILE *f, enum kind k, const struct side *sd, size_t counts[3])
{
    static const char *const st[] = {"unmatched", "proposed", "ambiguous"};
    for (size_t i = 0; i < sd->ncrm; i++) {
        const struct crmrow *c = &sd->crm[i];
        counts[c->status]++;
        char nsid[24] = "", cands[1024] = "", nsname[200] = "";
        if (c->status == 1) {
            long long id = (long long)json_integer_value(json_array_get(c->cands, 0));
            snprintf(nsid, sizeof nsid, "%lld", id);
            const struct nsrec *n = ns_by_id(sd, id);
            snprintf(nsname, sizeof nsname, "%s", n ? n->shown : "");
        }
        size_t j, used = 0;
        json_t *v;
        json_array_foreach(c->cands, j, v)
        {
            const struct nsrec *n = ns_by_id(sd, (long long)json_integer_value(v));
            int w = snprintf(cands + used, sizeof cands - used, "%s%lld %.60s", j ? "; " : "",
                             (long long)json_integer_value(v), n ? n->shown : "");
            if (w < 0 || (size_t)w >= sizeof cands - used)
                break;
            used += (size_t)w;
        }
        csv_field(f, tables[k], false);
        csv_field(f, c->id, false);
        csv_field(f, c->shown, false);
        csv_field(f, st[c->status], false);
        csv_field(f, c->status ? rule_names[c->rule] : "", false);
        csv_field(f, ns_types[k], false);
        csv_field(f, nsid, false);
        csv_field(f, nsname, false);
        csv_field(f, c->status == 2 ? cands : "", false);
        csv_field(f, c->status == 1 ? "yes" : "no", true);
    }
}

/* Splits one CSV record (RFC 4180: quoted fields, doubled quotes, CRLF or LF) from *p into
 * fields (owned strings). Returns the count, 0 at the end of input, -1 for a malformed record. */
static int csv_record(const char **p, char **fields, int max)
{
    const char *s = *p;
    if (!*s)
        return 0;
    int n = 0;
    for (;;) {
        struct mlc_buf b;
        mlc_buf_init(&b, 1 << 16);
        mlc_buf_append(&b, "", 0);
        if (*s == '"') {
            s++;
            for (;;) {
                if (!*s) {
                    mlc_buf_free(&b);
                    goto bad;
                }
                if (*s == '"' && s[1] == '"') {
                    mlc_buf_append(&b, "\"", 1);
                    s += 2;
                } else if (*s == '"') {
                    s++;
                    break;
                } else {
                    mlc_buf_append(&b, s++, 1);
                }
            }
        } else {
            while (*s && *s != ',' && *s != '\r' && *s != '\n')
                mlc_buf_append(&b, s++, 1);
        }
        if (n == max) {
            mlc_buf_free(&b);
            goto bad;
        }
        fields[n++] = mlc_strdup(b.data ? b.data : "");
        mlc_buf_free(&b);
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '\r')
            s++;
        if (*s == '\n')
            s++;
        else if (*s) {
            goto bad;
        }
        *p = s;
        return n;
    }
bad:
    for (int i = 0; i < n; i++)
        free(fields[i]);
    return -1;
}

static const char *key_column(const struct dayone *d, int k)
{
    const char *c =
        k == K_ACCOUNT ? dayone_sec_str(d, MLC_MAP_CUSTOMER, "key")
        : k == K_CONTACT
            ? dayone_sec_str(d, MLC_MAP_CONTACT, "key")
            : json_string_value(json_object_get(
                  json_object_get(mlc_mapping_section(d->mapping, MLC_MAP_LINE), "productColumns"),
                  "item"));
    return c                ? c
           : k == K_ACCOUNT ? "mlc_netsuitecustomerid"
           : k == K_CONTACT ? "mlc_netsuitecontactid"
                            : "mlc_netsuiteitemid";
}

/* ---- link: propose ---- */

static int propose(struct dayone *d, const char *out_path)
{
    int rc = 1;
    char err[512];
    struct side sides[K__N];
    memset(sides, 0, sizeof sides);
    FILE *f = NULL;
    char tmp_path[4200];
    int w = snprintf(tmp_path, sizeof tmp_path, "%s.tmp", out_path);
    if (w < 0 || (size_t)w >= sizeof tmp_path) {
        fprintf(stderr, "ml-connector link: --out path too long\n");
        return 2;
    }
    json_t *summary = json_object();
    for (int k = 0; k < K__N; k++) {
        enum rule order[R__N];
        size_t nrules = 0;
        if (rules_of(d, (enum kind)k, order, &nrules, err, sizeof err) != MLC_OK) {
            fprintf(stderr, "ml-connector: configuration error: %s\n", err);
            rc = 2;
            goto out;
        }
    }
    for (int k = 0; k < K__N; k++) {
        struct side *sd = &sides[k];
        sd->keyed = json_object();
        const char *keycol = key_column(d, k);
        char select[300];
        snprintf(select, sizeof select, "%s,%s", crm_selects[k], keycol);
        struct crm_ud u = {sd, (enum kind)k, keycol};
        struct mlc_dv_err e;
        int64_t t0 = mlc_mono_ms();
        if (mlc_dv_query(d->dvs, sets[k], select, "statecode eq 0", 0, take_crm, &u, NULL, &e) !=
            MLC_OK) {
            fprintf(stderr, "ml-connector link: Dataverse %s: %s\n", sets[k], e.msg);
            goto out;
        }
        enum kind kk = (enum kind)k;
        void *ud[2] = {sd, &kk};
        struct mlc_ns_err ne;
        if (mlc_ns_suiteql_all(d->nss, ns_queries[k], NULL, NULL, take_ns, ud, NULL, &ne) !=
            MLC_OK) {
            fprintf(stderr, "ml-connector link: NetSuite %s: %s\n", ns_types[k], ne.msg);
            goto out;
        }
        enum rule order[R__N];
        size_t nrules = 0;
        rules_of(d, (enum kind)k, order, &nrules, err, sizeof err);
        match(sd, order, nrules);
        fprintf(stderr,
                "link: %s: %zu CRM rows without a key, %zu NetSuite %ss, %zu already linked "
                "(%.1f s)\n",
                tables[k], sd->ncrm, sd->nns, ns_types[k], json_object_size(sd->keyed),
                (double)(mlc_mono_ms() - t0) / 1000.0);
    }
    f = fopen(tmp_path, "w");
    if (!f) {
        fprintf(stderr, "ml-connector link: cannot write %s: %s\n", tmp_path, strerror(errno));
        goto out;
    }
    for (int i = 0; csv_header[i]; i++)
        csv_field(f, csv_header[i], csv_header[i + 1] == NULL);
    for (int k = 0; k < K__N; k++) {
        size_t counts[3] = {0, 0, 0};
        write_rows(f, (enum kind)k, &sides[k], counts);
        json_object_set_new(summary, tables[k],
                            json_pack("{s:I, s:I, s:I, s:I}", "proposed", (json_int_t)counts[1],
                                      "ambiguous", (json_int_t)counts[2], "unmatched",
                                      (json_int_t)counts[0], "alreadyLinked",
                                      (json_int_t)json_object_size(sides[k].keyed)));
    }
    if (fclose(f) != 0 || rename(tmp_path, out_path) != 0) {
        f = NULL;
        fprintf(stderr, "ml-connector link: cannot write %s: %s\n", out_path, strerror(errno));
        goto out;
    }
    f = NULL;
    json_object_set_new(summary, "reviewFile", json_string(out_path));
    char *text = json_dumps(summary, JSON_COMPACT);
    printf("%s\n", text ? text : "{}");
    free(text);
    rc = 0;
out:
    if (f)
        fclose(f);
    for (int k = 0; k < K__N; k++) {
        for (size_t i = 0; i < sides[k].ncrm; i++)
            json_decref(sides[k].crm[i].cands);
        free(sides[k].crm);
        free(sides[k].ns);
        json_decref(sides[k].keyed);
    }
    json_decref(summary);
    return rc;
}

/* ---- link --apply ---- */

static char *read_file(const char *path, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsz, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    struct mlc_buf b;
    mlc_buf_init(&b, 256u << 20);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (mlc_buf_append(&b, chunk, n) != MLC_OK) {
            snprintf(err, errsz, "%s is larger than 256 MiB", path);
            fclose(f);
            mlc_buf_free(&b);
            return NULL;
        }
    fclose(f);
    mlc_buf_append(&b, "", 0);
    return b.data ? b.data : mlc_strdup("");
}

static int kind_of(const char *table)
{
    for (int k = 0; k < K__N; k++)
        if (strcmp(table, tables[k]) == 0)
            return k;
    return -1;
}

/* Tells the sync engine the row exists: the record state gets the row's GUID (and the reverse
 * index the record), so the first sync updates it (create-owned columns and the owner stay the
 * CRM's) instead of treating it as a new row. Products have no sync state. */
static void seed_state(struct dayone *d, int k, const char *guid, const char *nsid, bool *warned)
{
    if (k == K_PRODUCT)
        return;
    char err[256];
    struct mlc_redis *c = dayone_redis(d, err, sizeof err);
    if (!c) {
        if (!*warned)
            fprintf(stderr,
                    "link: Redis unreachable (%s): the first sync of linked rows will also write "
                    "their create-owned columns and owner\n",
                    err);
        *warned = true;
        return;
    }
    const char *type = k == K_ACCOUNT ? "customer" : "contact";
    char skey[200], rkey[200], rval[64];
    mlc_queue_key(d->q, skey, sizeof skey, "state:%s:%s", type, nsid);
    mlc_queue_key(d->q, rkey, sizeof rkey, "rev:%s:%s", tables[k], guid);
    snprintf(rval, sizeof rval, "%s:%s", type, nsid);
    const char *hset[] = {"HSET", skey, "dvid", guid};
    const char *set[] = {"SET", rkey, rval};
    if (mlc_redis_exec(c, NULL, err, sizeof err, 4, hset) != MLC_OK ||
        mlc_redis_exec(c, NULL, err, sizeof err, 3, set) != MLC_OK)
        fprintf(stderr, "link: Redis: %s (the record state of %s %s is not seeded)\n", err, type,
                nsid);
}

static int apply(struct dayone *d, const char *path, bool dry)
{
    bool warned = false;
    char err[512];
    char *text = read_file(path, err, sizeof err);
    if (!text) {
        fprintf(stderr, "ml-connector link --apply: %s\n", err);
        return 2;
    }
    const char *p = text;
    char *fields[CSV_COLS + 1];
    int rc = 2, line = 1;
    int nf = csv_record(&p, fields, CSV_COLS);
    json_t *seen = json_object(), *todo = json_array();
    if (nf != CSV_COLS) {
        fprintf(stderr, "ml-connector link --apply: %s: line 1 is not the review file's header\n",
                path);
        if (nf > 0)
            for (int i = 0; i < nf; i++)
                free(fields[i]);
        goto out;
    }
    bool header_ok = true;
    for (int i = 0; i < nf; i++) {
        header_ok &= strcmp(fields[i], csv_header[i]) == 0;
        free(fields[i]);
    }
    if (!header_ok) {
        fprintf(stderr, "ml-connector link --apply: %s: line 1 is not the review file's header\n",
                path);
        goto out;
    }
    /* validate every line before stamping anything */
    while ((nf = csv_record(&p, fields, CSV_COLS)) != 0) {
        line++;
        if (nf < 0) {
            fprintf(stderr, "ml-connector link --apply: %s: line %d: malformed CSV\n", path, line);
            goto out;
        }
        if (nf == 1 && !fields[0][0]) {
            free(fields[0]);
            continue;
        }
        bool ok = nf == CSV_COLS;
        const char *bad = ok ? NULL : "expected 10 columns";
        int k = ok ? kind_of(fields[0]) : -1;
        uint64_t nsid = 0;
        bool approve = ok && strcmp(fields[9], "yes") == 0;
        if (ok && k < 0)
            bad = "table must be account, contact or product";
        else if (ok && !mlc_dv_guid_valid(fields[1]))
            bad = "crm_id is not a GUID";
        else if (ok && strcmp(fields[9], "yes") != 0 && strcmp(fields[9], "no") != 0 &&
                 fields[9][0])
            bad = "approve must be yes or no";
        else if (approve && (mlc_parse_u64(fields[6], &nsid) != MLC_OK || nsid == 0))
            bad = "an approved row needs netsuite_id (a positive integer)";
        if (!bad && approve) {
            char k1[80], k2[80];
            snprintf(k1, sizeof k1, "%s:ns:%llu", fields[0], (unsigned long long)nsid);
            snprintf(k2, sizeof k2, "%s:crm:%s", fields[0], fields[1]);
            if (json_object_get(seen, k1) || json_object_get(seen, k2))
                bad = "approved twice (one NetSuite record per CRM row and back)";
            json_object_set_new(seen, k1, json_true());
            json_object_set_new(seen, k2, json_true());
            if (!bad)
                json_array_append_new(todo,
                                      json_pack("{s:i, s:s, s:I, s:i}", "k", k, "id", fields[1],
                                                "ns", (json_int_t)nsid, "line", line));
        }
        for (int i = 0; i < nf; i++)
            free(fields[i]);
        if (bad) {
            fprintf(stderr, "ml-connector link --apply: %s: line %d: %s\n", path, line, bad);
            goto out;
        }
    }
    rc = 0;
    int stamped = 0, skipped = 0, failed = 0;
    size_t i;
    json_t *t;
    json_array_foreach(todo, i, t)
    {
        int k = (int)json_integer_value(json_object_get(t, "k"));
        const char *id = json_string_value(json_object_get(t, "id"));
        long long ns = (long long)json_integer_value(json_object_get(t, "ns"));
        const char *keycol = key_column(d, k);
        char nst[24], path_q[400];
        snprintf(nst, sizeof nst, "%lld", ns);
        /* the row must still be without a key, and no other row may hold this one */
        json_t *row = NULL;
        struct mlc_dv_err e;
        snprintf(path_q, sizeof path_q, "%s(%s)?$select=%s", sets[k], id, keycol);
        enum mlc_rc r = mlc_dv_get(d->dvs, path_q, &row, &e);
        const char *have = json_string_value(json_object_get(row, keycol));
        if (r == MLC_ENOTFOUND) {
            printf("skip     %s %s: the CRM row is gone\n", tables[k], id);
            skipped++;
        } else if (r != MLC_OK) {
            printf("failed   %s %s: %s\n", tables[k], id, e.msg);
            failed++;
        } else if (have && strcmp(have, nst) == 0) {
            printf("ok       %s %s already carries %s %s\n", tables[k], id, ns_types[k], nst);
            skipped++;
            if (!dry)
                seed_state(d, k, id, nst, &warned);
        } else if (have && *have) {
            printf("skip     %s %s: carries %s %s already (not %s)\n", tables[k], id, ns_types[k],
                   have, nst);
            skipped++;
        } else {
            json_t *key = json_pack("{s:s}", keycol, nst), *other = NULL;
            struct mlc_buf seg;
            mlc_buf_init(&seg, 1024);
            mlc_dv_key_segment(key, true, &seg);
            snprintf(path_q, sizeof path_q, "%s%s?$select=%sid", sets[k], seg.data ? seg.data : "",
                     tables[k]);
            mlc_buf_free(&seg);
            json_decref(key);
            r = mlc_dv_get(d->dvs, path_q, &other, &e);
            json_decref(other);
            if (r == MLC_OK) {
                printf("skip     %s %s: %s %s is on another row already\n", tables[k], id,
                       ns_types[k], nst);
                skipped++;
            } else if (r != MLC_ENOTFOUND) {
                printf("failed   %s %s: %s\n", tables[k], id, e.msg);
                failed++;
            } else if (dry) {
                printf("would stamp %s %s with %s %s\n", tables[k], id, ns_types[k], nst);
                stamped++;
            } else {
                json_t *body = json_pack("{s:s}", keycol, nst);
                if (mlc_dv_write_id(d->dvs, sets[k], id, body, MLC_DV_UPDATE_ONLY, &e) == MLC_OK) {
                    printf("stamped  %s %s with %s %s\n", tables[k], id, ns_types[k], nst);
                    stamped++;
                    seed_state(d, k, id, nst, &warned);
                } else {
                    printf("failed   %s %s: %s\n", tables[k], id, e.msg);
                    failed++;
                }
                json_decref(body);
            }
        }
        json_decref(row);
    }
    printf("{\"dryRun\":%s,\"approved\":%zu,\"stamped\":%d,\"skipped\":%d,\"failed\":%d}\n",
           dry ? "true" : "false", json_array_size(todo), stamped, skipped, failed);
    rc = failed ? 1 : 0;
out:
    json_decref(seen);
    json_decref(todo);
    free(text);
    return rc;
}

int mlc_link_main(int argc, char **argv)
{
    const char *out = "link-review.csv", *apply_path = NULL;
    bool dry = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return 0;
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            dry = true;
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc && argv[i + 1][0]) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--apply") == 0 && i + 1 < argc && argv[i + 1][0]) {
            apply_path = argv[++i];
        } else {
            fprintf(stderr, "ml-connector link: unknown or incomplete option %s\n\n%s", argv[i],
                    help);
            return 2;
        }
    }
    if (dry && !apply_path) {
        fprintf(stderr, "ml-connector link: --dry-run goes with --apply (link itself writes only "
                        "the review file)\n");
        return 2;
    }
    struct dayone d;
    int rc = dayone_open(&d, "link", apply_path == NULL);
    if (rc == 0)
        rc = apply_path ? apply(&d, apply_path, dry) : propose(&d, out);
    dayone_close(&d);
    return rc;
}
