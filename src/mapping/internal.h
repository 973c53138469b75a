/* Mapping module internals: the mapping struct shared by the defaults and the file loader. */
#ifndef MLC_MAPPING_INTERNAL_H
#define MLC_MAPPING_INTERNAL_H

#include "mlc/mapping.h"

struct mlc_mapping {
    const char *const *cols[MLC_MAP__KINDS];
    size_t ncols[MLC_MAP__KINDS];
    /* loaded from a file (NULL/unset for the built-in defaults) */
    json_t *root;
    char **owned_cols[MLC_MAP__KINDS];
    char version[96];
    bool is_static;
};

/* A lower-case name (a-z, 0-9, _; starts with a letter) of at most max characters. */
bool mlc_mapping_name_ok(const char *name, size_t max);

#endif
