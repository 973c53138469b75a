/* libFuzzer target: the NetSuite webhook body parser (single event or {"events":[...]}). */
#include "mlc/ingest.h"
#include "mlc/problem.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t cap)
{
    if (strnlen(s, cap) >= cap)
        abort(); /* not terminated inside its buffer */
}

static void run(const uint8_t *data, size_t size, const char *account)
{
    static struct mlc_ns_event events[MLC_NS_MAX_EVENTS];
    size_t n = 12345;
    const char *problem = NULL;
    char detail[256];
    detail[0] = '\0';
    enum mlc_rc rc = mlc_ingest_netsuite_parse((const char *)data, size, account, events, &n,
                                               &problem, detail, sizeof detail);
    check_str(detail, sizeof detail);
    if (rc != MLC_OK) {
        /* a failure reports nothing parsed and a code from the error table */
        if (n != 0 || !problem || !mlc_problem_find(problem))
            abort();
        if ((rc == MLC_ERR) != (strcmp(problem, "wrong_account") == 0))
            abort();
        return;
    }
    if (n < 1 || n > MLC_NS_MAX_EVENTS)
        abort();
    for (size_t i = 0; i < n; i++) {
        const struct mlc_ns_event *e = &events[i];
        check_str(e->event_id, sizeof e->event_id);
        check_str(e->event_type, sizeof e->event_type);
        check_str(e->record_type, sizeof e->record_type);
        check_str(e->record_id, sizeof e->record_id);
        check_str(e->occurred_at, sizeof e->occurred_at);
        if (!e->event_id[0] || !e->event_type[0] || !e->record_id[0] || !e->occurred_at[0])
            abort();
        if (e->ignored != (e->record_type[0] == '\0'))
            abort();
        if (e->is_delete != (strcmp(e->event_type, "delete") == 0))
            abort();
        for (const char *p = e->record_id; *p; p++)
            if (*p < '0' || *p > '9')
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size, NULL);
    run(data, size, "1234567_SB1");
    return 0;
}
