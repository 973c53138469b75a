/* The built-in mapping's NetSuite columns per record kind (used until a mapping file is installed
 * with mlc_mapping_install; deploy/config/mapping.json lists the same columns). */
#include "internal.h"

#include <ctype.h>
#include <string.h>

static const char *const customer_cols[] = {"entityid",
                                            "companyname",
                                            "isperson",
                                            "firstname",
                                            "lastname",
                                            "email",
                                            "phone",
                                            "url",
                                            "creditlimit",
                                            "category",
                                            "entitystatus",
                                            "subsidiary",
                                            "terms",
                                            "currency",
                                            "salesrep",
                                            "parent",
                                            "isinactive",
                                            "externalid",
                                            "custentity_region",
                                            "custentity_loyalty_tier",
                                            "custentity_vat_number"};
static const char *const contact_cols[] = {"entityid", "firstname", "lastname",   "email",
                                           "phone",    "title",     "isinactive", "externalid"};
static const char *const order_cols[] = {
    "tranid",     "entity",           "status",           "foreigntotal",
    "memo",       "externalid",       "otherrefnum",      "salesrep",
    "subsidiary", "custbody_channel", "custbody_priority"};
static const char *const line_cols[] = {"item",
                                        "quantity",
                                        "rate",
                                        "netamount",
                                        "memo",
                                        "isclosed",
                                        "custcol_gift_wrap",
                                        "custcol_line_note"};

#define N(a) (sizeof a / sizeof a[0])
static const struct mlc_mapping defaults = {
    .cols = {customer_cols, contact_cols, order_cols, line_cols},
    .ncols = {N(customer_cols), N(contact_cols), N(order_cols), N(line_cols)},
    .version = "builtin",
    .is_static = true};

/* Set once at start-up (before threads) by mlc_mapping_install, read-only afterwards. */
static const struct mlc_mapping *installed;

void mlc_mapping_install(const struct mlc_mapping *m)
{
    installed = m;
}

const struct mlc_mapping *mlc_mapping_defaults(void)
{
    return installed ? installed : &defaults;
}

const char *const *mlc_mapping_ns_columns(const struct mlc_mapping *m, enum mlc_map_kind k,
                                          size_t *n)
{
    if (!m || k >= MLC_MAP__KINDS) {
        *n = 0;
        return NULL;
    }
    *n = m->ncols[k];
    return m->cols[k];
}

bool mlc_mapping_name_ok(const char *name, size_t max)
{
    size_t l = name ? strlen(name) : 0;
    if (l == 0 || l > max || !islower((unsigned char)name[0]))
        return false;
    for (size_t i = 0; i < l; i++)
        if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) && name[i] != '_')
            return false;
    return true;
}

bool mlc_mapping_column_ok(const char *name)
{
    return mlc_mapping_name_ok(name, 60);
}
