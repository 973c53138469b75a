/* Mapping: which NetSuite columns are read for each record kind (the defaults until the mapping
 * file lands with the sync). */
#ifndef MLC_MAPPING_H
#define MLC_MAPPING_H

#include "mlc/core.h"

enum mlc_map_kind {
    MLC_MAP_CUSTOMER,
    MLC_MAP_CONTACT,
    MLC_MAP_ORDER,
    MLC_MAP_LINE,
    MLC_MAP__KINDS
};

struct mlc_mapping; /* read-only after load; shared by every thread */

/* The shipped defaults (static, never freed). */
const struct mlc_mapping *mlc_mapping_defaults(void);
/* The NetSuite columns of a kind's own table that the mapping reads (custom fields included),
 * lower-case SuiteQL identifiers. Borrowed; *n receives the count. The readers add the columns
 * they need themselves (ids, dates, joins). */
const char *const *mlc_mapping_ns_columns(const struct mlc_mapping *m, enum mlc_map_kind k,
                                          size_t *n);
/* True for a plain SuiteQL column name (a-z, 0-9, _; starts with a letter; <= 60 chars), the
 * only form a mapping may name (no expressions: the readers splice names into SQL). */
bool mlc_mapping_column_ok(const char *name);

#endif
