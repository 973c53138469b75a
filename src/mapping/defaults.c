/* The default mapping's NetSuite columns per record kind (deploy/config/mapping.json replaces them
 * once the sync lands). */
#include "mlc/mapping.h"

#include <ctype.h>
#include <string.h>

struct mlc_mapping {
    const char *const *cols[MLC_MAP__KINDS];
    size_t ncols[MLC_MAP__KINDS];
};

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
    {customer_cols, contact_cols, order_cols, line_cols},
    {N(customer_cols), N(contact_cols), N(order_cols), N(line_cols)}};

const struct mlc_mapping *mlc_mapping_defaults(void)
{
    return &defaults;
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

bool mlc_mapping_column_ok(const char *name)
{
    size_t l = name ? strlen(name) : 0;
    if (l == 0 || l > 60 || !islower((unsigned char)name[0]))
        return false;
    for (size_t i = 0; i < l; i++)
        if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) && name[i] != '_')
            return false;
    return true;
}
