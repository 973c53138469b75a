/* Mapping: the mapping file (deploy/config/mapping.json: columns, ownership, filters, value
 * tables, owner rules, statuses, special lines), validated at load, and which NetSuite columns the
 * readers select for each record kind. */
#ifndef MLC_MAPPING_H
#define MLC_MAPPING_H

#include "mlc/core.h"
#include <jansson.h>

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

/* ---- the mapping file (mapping.c) ---- */

/* Section names in the file, per kind: "account", "contact", "salesorder", "salesorderdetail". */
const char *mlc_mapping_section_name(enum mlc_map_kind k);
/* Parses and validates a mapping document. name is used in messages. On failure err holds one
 * line naming the JSON path ("mapping.json: $.account.columns[3].owner: must be one of
 * netsuite, create, crm"), MLC_EINVAL. *out owned (mlc_mapping_free). */
enum mlc_rc mlc_mapping_parse(const char *text, size_t len, const char *name,
                              struct mlc_mapping **out, char *err, size_t errsz);
/* Reads and parses a file; MLC_ERR when it cannot be read, MLC_EINVAL when invalid. */
enum mlc_rc mlc_mapping_load(const char *path, struct mlc_mapping **out, char *err, size_t errsz);
/* Accepts NULL and the static defaults (which are not freed). */
void mlc_mapping_free(struct mlc_mapping *m);
/* Makes m the mapping mlc_mapping_defaults() returns (the readers build their SuiteQL from it).
 * Call once at start, before any thread reads it; m must outlive every reader. NULL restores the
 * shipped defaults. */
void mlc_mapping_install(const struct mlc_mapping *m);
/* The section object of a kind (borrowed; NULL for the built-in defaults, which have none). */
json_t *mlc_mapping_section(const struct mlc_mapping *m, enum mlc_map_kind k);
/* A top-level member of the file by name, e.g. "link" (borrowed; NULL when absent or for the
 * built-in defaults). */
json_t *mlc_mapping_member(const struct mlc_mapping *m, const char *name);
/* A value table by name (borrowed; NULL when absent). */
json_t *mlc_mapping_value_table(const struct mlc_mapping *m, const char *name);
/* The mapping version: the file's "version" and a digest of its content, e.g.
 * "2026-12-04.1/3f9a0c21" (part of every record hash, so a mapping change re-syncs). */
const char *mlc_mapping_version(const struct mlc_mapping *m);

#endif
