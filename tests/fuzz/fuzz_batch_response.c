/* libFuzzer target: the Dataverse client's $batch answer parser. The first line of the input is
 * the answer's Content-Type (with its boundary), the rest the body; every part found is then read
 * as a Dataverse error body too. Errors are fine; crashes, leaks and reads past the end are not. */
#include "mlc/dataverse.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    const char *nl = memchr(p, '\n', size);
    size_t cl = nl ? (size_t)(nl - p) : size;
    char *ctype = malloc(cl + 1);
    memcpy(ctype, p, cl);
    ctype[cl] = '\0';
    /* the body without a terminating NUL, so reading past it is caught */
    size_t bl = nl ? size - cl - 1 : 0;
    char *body = malloc(bl ? bl : 1);
    if (bl)
        memcpy(body, nl + 1, bl);
    struct mlc_dv_part *parts = NULL;
    size_t n = 0;
    char err[256];
    if (mlc_dv_batch_parse(ctype, body, bl, &parts, &n, err, sizeof err) == MLC_OK) {
        for (size_t i = 0; i < n; i++) {
            struct mlc_dv_err e;
            memset(&e, 0, sizeof e);
            mlc_dv_error_parse(parts[i].status, parts[i].body, parts[i].body_len, &e);
        }
        mlc_dv_parts_free(parts, n);
    }
    free(body);
    free(ctype);
    return 0;
}
