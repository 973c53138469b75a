/* libFuzzer target: the sandbox Dataverse's $filter parser and evaluator on arbitrary text. */
#include "sandbox/dataverse/internal.h"

#include <stdlib.h>
#include <string.h>

static json_t *resolve(void *ud, json_t *row, const char *path)
{
    (void)ud;
    return json_object_get(row, path);
}

static bool any_path(void *ud, const char *path)
{
    (void)ud;
    return path[0] != '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 20000)
        return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    struct dv_filter *f = NULL;
    char err[512];
    if (dv_filter_parse(text, &f, err, sizeof err) == MLC_OK) {
        json_t *row = json_pack("{s:s, s:i, s:f, s:b, s:n}", "name", "Contoso", "code", 3, "limit",
                                2.5, "hold", 1, "empty");
        dv_filter_eval(f, row, resolve, NULL);
        dv_filter_paths(f, any_path, NULL);
        json_decref(row);
        dv_filter_free(f);
    }
    free(text);
    return 0;
}
