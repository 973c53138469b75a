/* Helpers shared by the sandbox's halves (src/sandbox/netsuite/, src/sandbox/dataverse/,
 * sandbox.c). */
#ifndef MLC_SANDBOX_COMMON_H
#define MLC_SANDBOX_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A switch value from the admin API ({"name": value}) as the text its command-line flag takes:
 * strings as they are, numbers printed, booleans as yes/no (only when both are given).
 * False (nothing written) for any other JSON type. */
bool mlc_sbx_switch_text(const json_t *v, const char *yes, const char *no, char *out, size_t sz);

/* The whole file (NUL-terminated, owned), or NULL when it cannot be read. */
char *mlc_sbx_read_file(const char *path);

#endif
