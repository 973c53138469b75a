/* The mapping file: parsing and validation with errors naming the JSON path, and accessors. */
#include "internal.h"
#include "mlc/crypto.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const section_names[MLC_MAP__KINDS] = {"account", "contact", "salesorder",
                                                          "salesorderdetail"};

/* Fields the readers compute themselves (not NetSuite columns of the kind's own table). */
static const char *const computed[MLC_MAP__KINDS][10] = {
    {"id", "lastModified", "lastModifiedMs", "billingAddress", "classification", "contacts",
     "primaryContactId", NULL},
    {"id", "company", "contactrole", "lastModified", "lastModifiedMs", "isPrimary", NULL},
    {"id", "lastModified", "lastModifiedMs", "currencyCode", "statusLabel", "tranDate", "lines",
     NULL},
    {"uniquekey", "line", "linesequencenumber", "sku", "lastModified", "lastModifiedMs", NULL},
};

const char *mlc_mapping_section_name(enum mlc_map_kind k)
{
    return k < MLC_MAP__KINDS ? section_names[k] : "unknown";
}

struct vctx {
    const char *name;
    char *err;
    size_t errsz;
    json_t *root;
};

/* path + a formatted suffix, cut to outsz (a JSON path in an error message). */
static void subpath(char *out, size_t outsz, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void subpath(char *out, size_t outsz, const char *path, const char *fmt, ...)
{
    char sfx[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sfx, sizeof sfx, fmt, ap);
    va_end(ap);
    size_t a = strnlen(path, outsz - 1), b = strnlen(sfx, outsz - 1 - a);
    memcpy(out, path, a);
    memcpy(out + a, sfx, b);
    out[a + b] = '\0';
}

static enum mlc_rc fail(struct vctx *v, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum mlc_rc fail(struct vctx *v, const char *path, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(v->err, v->errsz, "%s: %s: %s", v->name, path, what);
    return MLC_EINVAL;
}

/* A Dataverse logical or navigation name: a-z, 0-9, _ (starts with a letter), <= 100. */
static bool ident_ok(const char *s)
{
    return mlc_mapping_name_ok(s, 100);
}

/* A field path in a record read from NetSuite: segments of letters, digits and _ joined by '.'. */
static bool path_ok(const char *s)
{
    size_t l = s ? strlen(s) : 0;
    if (l == 0 || l > 200 || s[0] == '.' || s[l - 1] == '.')
        return false;
    for (size_t i = 0; i < l; i++) {
        char c = s[i];
        if (!isalnum((unsigned char)c) && c != '_' && !(c == '.' && s[i + 1] != '.'))
            return false;
    }
    return true;
}

static bool in_list(const char *const *list, const char *s, size_t n)
{
    for (size_t i = 0; n ? i < n : list[i] != NULL; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* The first segment of a path must be something the reader returns for the kind. */
static enum mlc_rc check_source(struct vctx *v, const char *path, json_t *src, enum mlc_map_kind k,
                                json_t *ns_cols)
{
    if (!json_is_string(src) || !path_ok(json_string_value(src)))
        return fail(v, path, "must be a field path (letters, digits, _ and '.')");
    const char *s = json_string_value(src);
    char first[64];
    size_t l = strcspn(s, ".");
    if (l >= sizeof first)
        return fail(v, path, "field name too long");
    memcpy(first, s, l);
    first[l] = '\0';
    if (in_list(computed[k], first, 0))
        return MLC_OK;
    size_t i;
    json_t *c;
    json_array_foreach(ns_cols, i, c) if (strcmp(json_string_value(c), first) == 0) return MLC_OK;
    return fail(v, path, "'%s' is neither in netsuiteColumns nor a field the reader provides",
                first);
}

static enum mlc_rc check_keys(struct vctx *v, const char *path, json_t *obj,
                              const char *const *allowed)
{
    const char *k;
    json_t *x;
    json_object_foreach(obj, k, x)
    {
        if (!in_list(allowed, k, 0)) {
            char p[256];
            subpath(p, sizeof p, path, ".%s", k);
            return fail(v, p, "unknown member (a typo?)");
        }
    }
    return MLC_OK;
}

static enum mlc_rc need_string(struct vctx *v, const char *path, json_t *obj, const char *key,
                               bool ident, bool required)
{
    json_t *x = json_object_get(obj, key);
    char p[256];
    subpath(p, sizeof p, path, ".%s", key);
    if (!x)
        return required ? fail(v, p, "is required") : MLC_OK;
    if (!json_is_string(x) || json_string_length(x) == 0)
        return fail(v, p, "must be a non-empty string");
    if (ident && !ident_ok(json_string_value(x)))
        return fail(v, p, "must be a Dataverse name (a-z, 0-9, _)");
    return MLC_OK;
}

static enum mlc_rc check_column(struct vctx *v, const char *path, json_t *col, enum mlc_map_kind k,
                                json_t *ns_cols)
{
    static const char *const keys[] = {"ns", "dv", "owner", "type", "maxLength", "values", NULL};
    static const char *const owners[] = {"netsuite", "create", "crm", NULL};
    static const char *const types[] = {"string", "money",  "decimal", "int",
                                        "bool",   "choice", "date",    NULL};
    char p[256];
    enum mlc_rc rc;
    if (!json_is_object(col))
        return fail(v, path, "must be an object");
    if ((rc = check_keys(v, path, col, keys)) != MLC_OK ||
        (rc = need_string(v, path, col, "dv", true, true)) != MLC_OK ||
        (rc = need_string(v, path, col, "owner", false, false)) != MLC_OK ||
        (rc = need_string(v, path, col, "type", false, false)) != MLC_OK)
        return rc;
    const char *owner = json_string_value(json_object_get(col, "owner"));
    subpath(p, sizeof p, path, ".owner");
    if (owner && !in_list(owners, owner, 0))
        return fail(v, p, "must be one of netsuite, create, crm");
    const char *type = json_string_value(json_object_get(col, "type"));
    subpath(p, sizeof p, path, ".type");
    if (type && !in_list(types, type, 0))
        return fail(v, p, "must be one of string, money, decimal, int, bool, choice, date");
    json_t *ns = json_object_get(col, "ns");
    subpath(p, sizeof p, path, ".ns");
    if (!ns) {
        if (!owner || strcmp(owner, "crm") != 0)
            return fail(v, p, "is required (only a crm-owned column may have no source)");
    } else if (json_is_array(ns)) {
        if (json_array_size(ns) == 0 || json_array_size(ns) > 8)
            return fail(v, p, "must list 1 to 8 alternatives");
        size_t i;
        json_t *alt;
        json_array_foreach(ns, i, alt)
        {
            char pa[256];
            subpath(pa, sizeof pa, path, ".ns[%zu]", i);
            if (json_is_array(alt)) {
                if (json_array_size(alt) == 0 || json_array_size(alt) > 8)
                    return fail(v, pa, "a joined alternative must list 1 to 8 fields");
                size_t j;
                json_t *part;
                json_array_foreach(alt, j, part)
                {
                    char pj[280];
                    subpath(pj, sizeof pj, pa, "[%zu]", j);
                    if ((rc = check_source(v, pj, part, k, ns_cols)) != MLC_OK)
                        return rc;
                }
            } else if ((rc = check_source(v, pa, alt, k, ns_cols)) != MLC_OK) {
                return rc;
            }
        }
    } else if ((rc = check_source(v, p, ns, k, ns_cols)) != MLC_OK) {
        return rc;
    }
    json_t *ml = json_object_get(col, "maxLength");
    subpath(p, sizeof p, path, ".maxLength");
    if (ml &&
        (!json_is_integer(ml) || json_integer_value(ml) < 1 || json_integer_value(ml) > 1048576))
        return fail(v, p, "must be an integer 1..1048576");
    json_t *vals = json_object_get(col, "values");
    subpath(p, sizeof p, path, ".values");
    if (vals) {
        if (!json_is_string(vals))
            return fail(v, p, "must name a value table");
        if (!json_is_object(
                json_object_get(json_object_get(v->root, "valueTables"), json_string_value(vals))))
            return fail(v, p, "no value table '%s' in $.valueTables", json_string_value(vals));
    } else if (type && strcmp(type, "choice") == 0) {
        return fail(v, p, "is required for a choice column");
    }
    return MLC_OK;
}

/* {"field": path, "navigation": name} objects (parent, account, customer, order). */
static enum mlc_rc check_link(struct vctx *v, const char *path, json_t *sec, const char *key,
                              bool field, enum mlc_map_kind k, json_t *ns_cols, bool required)
{
    static const char *const keys[] = {"field", "navigation", NULL};
    char p[256];
    subpath(p, sizeof p, path, ".%s", key);
    json_t *o = json_object_get(sec, key);
    if (!o)
        return required ? fail(v, p, "is required") : MLC_OK;
    if (!json_is_object(o))
        return fail(v, p, "must be an object");
    enum mlc_rc rc;
    if ((rc = check_keys(v, p, o, keys)) != MLC_OK ||
        (rc = need_string(v, p, o, "navigation", true, true)) != MLC_OK)
        return rc;
    if (field) {
        char pf[280];
        subpath(pf, sizeof pf, p, ".field");
        json_t *f = json_object_get(o, "field");
        if (!f)
            return fail(v, pf, "is required");
        return check_source(v, pf, f, k, ns_cols);
    }
    return MLC_OK;
}

static enum mlc_rc check_section(struct vctx *v, enum mlc_map_kind k)
{
    static const char *const common[] = {"table",
                                         "entitySet",
                                         "key",
                                         "netsuiteColumns",
                                         "columns",
                                         "filter",
                                         "inactive",
                                         "parent",
                                         "owner",
                                         "primaryContact",
                                         "account",
                                         "customer",
                                         "currencyField",
                                         "totalField",
                                         "totalColumn",
                                         "statusField",
                                         "statusLabelField",
                                         "statusColumn",
                                         "statuses",
                                         "keyField",
                                         "order",
                                         "productBy",
                                         "productColumns",
                                         "specialLines",
                                         NULL};
    char path[64], p[256];
    snprintf(path, sizeof path, "$.%s", section_names[k]);
    json_t *sec = json_object_get(v->root, section_names[k]);
    if (!sec)
        return fail(v, path, "is required");
    if (!json_is_object(sec))
        return fail(v, path, "must be an object");
    enum mlc_rc rc;
    if ((rc = check_keys(v, path, sec, common)) != MLC_OK ||
        (rc = need_string(v, path, sec, "table", true, true)) != MLC_OK ||
        (rc = need_string(v, path, sec, "entitySet", true, true)) != MLC_OK ||
        (rc = need_string(v, path, sec, "key", true, true)) != MLC_OK)
        return rc;
    json_t *ns_cols = json_object_get(sec, "netsuiteColumns");
    subpath(p, sizeof p, path, ".netsuiteColumns");
    if (!json_is_array(ns_cols) || json_array_size(ns_cols) > 200)
        return fail(v, p, "must be an array of at most 200 SuiteQL column names");
    size_t i;
    json_t *x;
    json_array_foreach(ns_cols, i, x)
    {
        subpath(p, sizeof p, path, ".netsuiteColumns[%zu]", i);
        if (!json_is_string(x) || !mlc_mapping_column_ok(json_string_value(x)))
            return fail(v, p, "must be a plain SuiteQL column name (a-z, 0-9, _)");
        if (in_list(computed[k], json_string_value(x), 0))
            return fail(v, p, "'%s' is read by the reader itself", json_string_value(x));
    }
    json_t *cols = json_object_get(sec, "columns");
    subpath(p, sizeof p, path, ".columns");
    if (!json_is_array(cols))
        return fail(v, p, "must be an array");
    json_array_foreach(cols, i, x)
    {
        subpath(p, sizeof p, path, ".columns[%zu]", i);
        if ((rc = check_column(v, p, x, k, ns_cols)) != MLC_OK)
            return rc;
        /* the same Dataverse column twice is ambiguous */
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_string_value(json_object_get(json_array_get(cols, j), "dv")),
                       json_string_value(json_object_get(x, "dv"))) == 0)
                return fail(v, p, "column '%s' is mapped twice",
                            json_string_value(json_object_get(x, "dv")));
    }
    json_t *flt = json_object_get(sec, "filter");
    if (flt) {
        static const char *const fk[] = {"field", "excludePrefixes", "excludeValues", NULL};
        subpath(p, sizeof p, path, ".filter");
        if (!json_is_object(flt))
            return fail(v, p, "must be an object");
        if ((rc = check_keys(v, p, flt, fk)) != MLC_OK)
            return rc;
        char pf[280];
        subpath(pf, sizeof pf, p, ".field");
        if ((rc = check_source(v, pf, json_object_get(flt, "field"), k, ns_cols)) != MLC_OK)
            return rc;
        for (int w = 0; w < 2; w++) {
            const char *name = w ? "excludeValues" : "excludePrefixes";
            json_t *a = json_object_get(flt, name);
            subpath(pf, sizeof pf, p, ".%s", name);
            if (!a)
                continue;
            if (!json_is_array(a))
                return fail(v, pf, "must be an array of strings");
            size_t j;
            json_t *y;
            json_array_foreach(a, j, y) if (!json_is_string(y)) return fail(
                v, pf, "must be an array of strings");
        }
    }
    json_t *ina = json_object_get(sec, "inactive");
    if (ina) {
        static const char *const ik[] = {"field", "value", NULL};
        subpath(p, sizeof p, path, ".inactive");
        if (!json_is_object(ina))
            return fail(v, p, "must be an object");
        char pf[280];
        subpath(pf, sizeof pf, p, ".field");
        if ((rc = check_keys(v, p, ina, ik)) != MLC_OK ||
            (rc = check_source(v, pf, json_object_get(ina, "field"), k, ns_cols)) != MLC_OK ||
            (rc = need_string(v, p, ina, "value", false, true)) != MLC_OK)
            return rc;
    }
    if (k == MLC_MAP_CUSTOMER) {
        if ((rc = check_link(v, path, sec, "parent", true, k, ns_cols, false)) != MLC_OK ||
            (rc = check_link(v, path, sec, "primaryContact", false, k, ns_cols, false)) != MLC_OK)
            return rc;
        json_t *own = json_object_get(sec, "owner");
        if (own) {
            static const char *const ok[] = {"salesRepField", "subsidiaryField", "teams", NULL};
            subpath(p, sizeof p, path, ".owner");
            if (!json_is_object(own))
                return fail(v, p, "must be an object");
            if ((rc = check_keys(v, p, own, ok)) != MLC_OK)
                return rc;
            const char *fs[] = {"salesRepField", "subsidiaryField"};
            for (int w = 0; w < 2; w++) {
                char pf[280];
                subpath(pf, sizeof pf, p, ".%s", fs[w]);
                json_t *f = json_object_get(own, fs[w]);
                if (f && (rc = check_source(v, pf, f, k, ns_cols)) != MLC_OK)
                    return rc;
            }
            json_t *teams = json_object_get(own, "teams");
            subpath(p, sizeof p, path, ".owner.teams");
            if (teams) {
                if (!json_is_object(teams))
                    return fail(v, p, "must map subsidiary names to team names");
                const char *tk;
                json_t *tv;
                json_object_foreach(teams, tk, tv) if (!json_is_string(tv)) return fail(
                    v, p, "'%s' must name a team", tk);
            }
        }
    } else if (k == MLC_MAP_CONTACT) {
        if ((rc = check_link(v, path, sec, "account", true, k, ns_cols, true)) != MLC_OK)
            return rc;
    } else if (k == MLC_MAP_ORDER) {
        if ((rc = check_link(v, path, sec, "customer", true, k, ns_cols, true)) != MLC_OK)
            return rc;
        const char *fields[] = {"currencyField", "totalField", "statusField", "statusLabelField"};
        for (size_t w = 0; w < 4; w++) {
            char pf[280];
            subpath(pf, sizeof pf, path, ".%s", fields[w]);
            json_t *f = json_object_get(sec, fields[w]);
            if (!f)
                return fail(v, pf, "is required");
            if ((rc = check_source(v, pf, f, k, ns_cols)) != MLC_OK)
                return rc;
        }
        if ((rc = need_string(v, path, sec, "totalColumn", true, true)) != MLC_OK ||
            (rc = need_string(v, path, sec, "statusColumn", true, true)) != MLC_OK)
            return rc;
        json_t *sts = json_object_get(sec, "statuses");
        subpath(p, sizeof p, path, ".statuses");
        if (!json_is_object(sts) || json_object_size(sts) == 0)
            return fail(v, p, "must map NetSuite status codes to Dataverse statuses");
        const char *sk;
        json_t *sv;
        json_object_foreach(sts, sk, sv)
        {
            static const char *const stk[] = {"statuscode", "close", "closeStatus", NULL};
            char ps[280];
            subpath(ps, sizeof ps, p, ".%s", sk);
            if (!json_is_object(sv))
                return fail(v, ps, "must be an object");
            if ((rc = check_keys(v, ps, sv, stk)) != MLC_OK)
                return rc;
            json_t *sc = json_object_get(sv, "statuscode");
            if (!json_is_integer(sc))
                return fail(v, ps, "statuscode must be an integer");
            json_t *cl = json_object_get(sv, "close");
            if (cl) {
                const char *c = json_string_value(cl);
                if (!c || (strcmp(c, "fulfill") != 0 && strcmp(c, "cancel") != 0))
                    return fail(v, ps, "close must be fulfill or cancel");
                if (!json_is_integer(json_object_get(sv, "closeStatus")))
                    return fail(v, ps, "closeStatus (an integer) is required with close");
            }
        }
    } else if (k == MLC_MAP_LINE) {
        if ((rc = check_link(v, path, sec, "order", false, k, ns_cols, true)) != MLC_OK)
            return rc;
        char pf[280];
        subpath(pf, sizeof pf, path, ".keyField");
        if ((rc = check_source(v, pf, json_object_get(sec, "keyField"), k, ns_cols)) != MLC_OK)
            return rc;
        json_t *pb = json_object_get(sec, "productBy");
        json_t *pc = json_object_get(sec, "productColumns");
        subpath(p, sizeof p, path, ".productBy");
        if (!json_is_array(pb) || json_array_size(pb) == 0 || json_array_size(pb) > 2)
            return fail(v, p, "must list \"sku\" and/or \"item\" in lookup order");
        json_array_foreach(pb, i, x)
        {
            const char *s = json_string_value(x);
            if (!s || (strcmp(s, "sku") != 0 && strcmp(s, "item") != 0))
                return fail(v, p, "must list \"sku\" and/or \"item\" in lookup order");
            char pp[280];
            subpath(pp, sizeof pp, path, ".productColumns.%s", s);
            json_t *colname = json_object_get(pc, s);
            if (!json_is_string(colname) || !ident_ok(json_string_value(colname)))
                return fail(v, pp, "must name the product column to look up by");
        }
        json_t *sl = json_object_get(sec, "specialLines");
        if (sl) {
            subpath(p, sizeof p, path, ".specialLines");
            if (!json_is_object(sl))
                return fail(v, p, "must map SKUs to writein or skip");
            const char *lk;
            json_t *lv;
            json_object_foreach(sl, lk, lv)
            {
                const char *s = json_string_value(lv);
                if (!s || (strcmp(s, "writein") != 0 && strcmp(s, "skip") != 0)) {
                    char pl[300];
                    subpath(pl, sizeof pl, p, ".%s", lk);
                    return fail(v, pl, "must be writein or skip");
                }
            }
        }
    }
    return MLC_OK;
}

enum mlc_rc mlc_mapping_parse(const char *text, size_t len, const char *name,
                              struct mlc_mapping **out, char *err, size_t errsz)
{
    *out = NULL;
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    struct vctx v = {.name = name ? name : "mapping", .err = err, .errsz = errsz, .root = root};
    if (!root) {
        snprintf(err, errsz, "%s: line %d column %d: %s", v.name, je.line, je.column, je.text);
        return MLC_EINVAL;
    }
    enum mlc_rc rc = MLC_OK;
    static const char *const top[] = {
        "version",     "account", "contact", "salesorder", "salesorderdetail",
        "valueTables", "link",    NULL}; /* link: checked by `link` (src/dayone/) */
    if (!json_is_object(root)) {
        rc = fail(&v, "$", "must be an object");
        goto fail;
    }
    if ((rc = check_keys(&v, "$", root, top)) != MLC_OK ||
        (rc = need_string(&v, "$", root, "version", false, true)) != MLC_OK)
        goto fail;
    json_t *vt = json_object_get(root, "valueTables");
    if (vt) {
        if (!json_is_object(vt)) {
            rc = fail(&v, "$.valueTables", "must be an object of value tables");
            goto fail;
        }
        const char *tk;
        json_t *tv;
        json_object_foreach(vt, tk, tv)
        {
            char p[256];
            snprintf(p, sizeof p, "$.valueTables.%s", tk);
            if (!json_is_object(tv)) {
                rc = fail(&v, p, "must map NetSuite values to Dataverse values");
                goto fail;
            }
            const char *ek;
            json_t *ev;
            json_object_foreach(tv, ek, ev)
            {
                if (!json_is_integer(ev) && !json_is_string(ev)) {
                    char pe[300];
                    snprintf(pe, sizeof pe, "%s.%s", p, ek);
                    rc = fail(&v, pe, "must be an integer or a string");
                    goto fail;
                }
            }
        }
    }
    for (int k = 0; k < MLC_MAP__KINDS; k++)
        if ((rc = check_section(&v, (enum mlc_map_kind)k)) != MLC_OK)
            goto fail;

    struct mlc_mapping *m = mlc_calloc(1, sizeof *m);
    m->root = root;
    for (int k = 0; k < MLC_MAP__KINDS; k++) {
        json_t *cols = json_object_get(json_object_get(root, section_names[k]), "netsuiteColumns");
        size_t n = json_array_size(cols);
        m->owned_cols[k] = mlc_calloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
            m->owned_cols[k][i] = mlc_strdup(json_string_value(json_array_get(cols, i)));
        m->cols[k] = (const char *const *)m->owned_cols[k];
        m->ncols[k] = n;
    }
    uint8_t digest[32];
    mlc_sha256(text, len, digest);
    snprintf(m->version, sizeof m->version, "%.60s/%02x%02x%02x%02x",
             json_string_value(json_object_get(root, "version")), digest[0], digest[1], digest[2],
             digest[3]);
    *out = m;
    return MLC_OK;
fail:
    json_decref(root);
    return rc;
}

enum mlc_rc mlc_mapping_load(const char *path, struct mlc_mapping **out, char *err, size_t errsz)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsz, "MLC_MAPPING_FILE: cannot read %s: %s", path, strerror(errno));
        return MLC_ERR;
    }
    struct mlc_buf b;
    mlc_buf_init(&b, 16u << 20);
    char chunk[8192];
    size_t n;
    enum mlc_rc rc = MLC_OK;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (mlc_buf_append(&b, chunk, n) != MLC_OK) {
            snprintf(err, errsz, "MLC_MAPPING_FILE: %s is larger than 16 MiB", path);
            rc = MLC_EINVAL;
            break;
        }
    fclose(f);
    if (rc == MLC_OK) {
        const char *base = strrchr(path, '/');
        rc =
            mlc_mapping_parse(b.data ? b.data : "", b.len, base ? base + 1 : path, out, err, errsz);
    }
    mlc_buf_free(&b);
    return rc;
}

void mlc_mapping_free(struct mlc_mapping *m)
{
    if (!m || m->is_static)
        return;
    for (int k = 0; k < MLC_MAP__KINDS; k++) {
        for (size_t i = 0; i < m->ncols[k]; i++)
            free(m->owned_cols[k][i]);
        free(m->owned_cols[k]);
    }
    json_decref(m->root);
    free(m);
}

json_t *mlc_mapping_section(const struct mlc_mapping *m, enum mlc_map_kind k)
{
    if (!m || !m->root || k >= MLC_MAP__KINDS)
        return NULL;
    return json_object_get(m->root, section_names[k]);
}

json_t *mlc_mapping_member(const struct mlc_mapping *m, const char *name)
{
    if (!m || !m->root || !name)
        return NULL;
    return json_object_get(m->root, name);
}

json_t *mlc_mapping_value_table(const struct mlc_mapping *m, const char *name)
{
    if (!m || !m->root || !name)
        return NULL;
    return json_object_get(json_object_get(m->root, "valueTables"), name);
}

const char *mlc_mapping_version(const struct mlc_mapping *m)
{
    return m ? m->version : "none";
}
