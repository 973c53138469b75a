/* libFuzzer target: the Dataverse RemoteExecutionContext parser with its normalized output. */
#include "mlc/ingest.h"
#include "mlc/problem.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t cap)
{
    if (strnlen(s, cap) >= cap)
        abort();
}

static void check_guid(const char *s, bool required)
{
    size_t n = strlen(s);
    if (n == 0 && !required)
        return;
    if (n != 36)
        abort();
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            abort(); /* GUIDs come out lower-case */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mlc_dv_event ev;
    json_t *norm = NULL;
    const char *problem = NULL;
    char detail[256];
    detail[0] = '\0';
    enum mlc_rc rc = mlc_ingest_dataverse_parse((const char *)data, size, &ev, &norm, &problem,
                                                detail, sizeof detail);
    check_str(detail, sizeof detail);
    if (rc != MLC_OK) {
        if (rc != MLC_EINVAL || norm || !problem || !mlc_problem_find(problem))
            abort();
    } else {
        if (!norm || !json_is_object(norm))
            abort();
        check_str(ev.message, sizeof ev.message);
        check_str(ev.entity, sizeof ev.entity);
        check_guid(ev.entity_id, true);
        check_guid(ev.organization_id, true);
        check_guid(ev.operation_id, false);
        check_guid(ev.correlation_id, false);
        check_guid(ev.user_id, false);
        check_guid(ev.initiating_user_id, false);
        if (ev.depth < 0 || ev.depth > 1000)
            abort();
        /* the normalized form must serialise */
        char *dump = json_dumps(norm, JSON_COMPACT);
        if (!dump)
            abort();
        free(dump);
        json_decref(norm);
        /* and without it the result is the same */
        struct mlc_dv_event again;
        if (mlc_ingest_dataverse_parse((const char *)data, size, &again, NULL, &problem, detail,
                                       sizeof detail) != MLC_OK ||
            strcmp(again.entity_id, ev.entity_id) != 0 || again.relevant != ev.relevant)
            abort();
    }
    /* the date parser on its own, over the raw input as a string */
    if (size < 64) {
        char s[64];
        memcpy(s, data, size);
        s[size] = '\0';
        int64_t ms;
        (void)mlc_dv_parse_date(s, &ms);
    }
    return 0;
}
