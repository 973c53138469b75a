/* Helpers shared by the sandbox's halves: switch values as text, whole files. */
#include "sandbox/common.h"
#include "mlc/core.h"

#include <stdio.h>

bool mlc_sbx_switch_text(const json_t *v, const char *yes, const char *no, char *out, size_t sz)
{
    if (json_is_string(v))
        snprintf(out, sz, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, sz, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, sz, "%.17g", json_real_value(v));
    else if (json_is_boolean(v) && yes && no)
        snprintf(out, sz, "%s", json_is_true(v) ? yes : no);
    else
        return false;
    return true;
}

char *mlc_sbx_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct mlc_buf b;
    mlc_buf_init(&b, 1u << 20);
    char chunk[4096];
    size_t n;
    bool ok = true;
    while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ok = mlc_buf_append(&b, chunk, n) == MLC_OK;
    fclose(f);
    char *out = mlc_strdup(b.data ? b.data : "");
    mlc_buf_free(&b);
    return out;
}
