/* libFuzzer target: the NetSuite client's SuiteQL page parser, row accessors, error-body mapping
 * and UTC datetime parser (outside input from NetSuite: a clear error, never a crash). */
#include "mlc/netsuite.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    struct mlc_ns_page p;
    char err[256];
    if (mlc_ns_page_parse(body, size, &p, err, sizeof err) == MLC_OK) {
        size_t i;
        json_t *row;
        json_array_foreach(p.items, i, row)
        {
            const char *k;
            json_t *v;
            json_object_foreach(row, k, v)
            {
                long long n;
                double d;
                char txt[64];
                int64_t ms;
                mlc_ns_row_i64(row, k, &n);
                mlc_ns_row_double(row, k, &d);
                mlc_ns_row_text(row, k, txt, sizeof txt);
                const char *s = mlc_ns_row_str(row, k);
                if (s)
                    mlc_ns_parse_utc(s, &ms);
            }
        }
        mlc_ns_page_free(&p);
    }
    struct mlc_ns_err e;
    memset(&e, 0, sizeof e);
    mlc_ns_error_parse(size ? 400 + data[0] % 200 : 500, body, size, &e);
    return 0;
}
