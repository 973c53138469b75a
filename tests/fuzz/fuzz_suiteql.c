/* libFuzzer target: the sandbox's SuiteQL translation and execution (bad queries get NetSuite's
 * 400, never a crash). */
#include "mlc/sandbox.h"
#include "sandbox/netsuite/internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct ns_sandbox *sbx;
static struct ns_settings settings;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* A tiny account in memory, in a zone with daylight saving time. */
    setenv("TZ", "America/Los_Angeles", 1);
    tzset();
    ns_settings_defaults(&settings);
    settings.query_timeout_ms = 200;
    struct ns_options o = {.db_path = NULL,
                           .seed = 7,
                           .customers = 12,
                           .orders = 6,
                           .items = 4,
                           .large_orders = 0,
                           .settings = &settings};
    char err[256];
    if (ns_sandbox_new(&o, &sbx, err, sizeof err) != MLC_OK)
        abort();
    return 0;
}

static void check_error(json_t *body)
{
    json_t *d = json_array_get(json_object_get(body, "o:errorDetails"), 0);
    const char *code = json_string_value(json_object_get(d, "o:errorCode"));
    if (json_integer_value(json_object_get(body, "status")) != 400 || !code ||
        strcmp(code, "INVALID_PARAMETER") != 0 || !json_is_string(json_object_get(d, "detail")))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *q = malloc(size + 1);
    memcpy(q, data, size);
    q[size] = '\0';

    /* translation alone, both LIMIT modes */
    for (int allow = 0; allow < 2; allow++) {
        struct ns_sql t;
        char err[256];
        err[0] = '\0';
        if (ns_suiteql_translate(q, allow, &t, err, sizeof err) == MLC_OK) {
            if (!t.sql || t.nitems > NS_MAX_SELECT || t.ntables > 32 ||
                (t.order_pos && t.order_pos >= strlen(t.sql)))
                abort();
        } else if (!err[0] || strnlen(err, sizeof err) == sizeof err) {
            abort();
        }
        ns_sql_free(&t);
    }

    /* the whole page: translation, SQLite under the authorizer, rendering */
    json_t *out = NULL;
    unsigned status = 0;
    ns_suiteql_run(sbx, &settings, q, 5, 0, &out, &status);
    if (!json_is_object(out))
        abort();
    if (status == 200) {
        json_int_t count = json_integer_value(json_object_get(out, "count"));
        if (count < 0 || count > 5 ||
            json_array_size(json_object_get(out, "items")) != (size_t)count)
            abort();
    } else if (status == 400) {
        check_error(out);
    } else {
        abort();
    }
    json_decref(out);
    free(q);
    return 0;
}
