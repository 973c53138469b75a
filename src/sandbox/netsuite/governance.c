/* Concurrency governance (one limit per account, 429 or 401 past it), governanceLimits and
 * serverTime. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void raise_peak(atomic_int *peak, int v)
{
    int cur = atomic_load(peak);
    while (v > cur && !atomic_compare_exchange_weak(peak, &cur, v))
        ;
}

bool ns_gov_enter(struct ns_sandbox *s, struct mlc_request *r, const struct ns_settings *st)
{
    int limit = st->concurrency_limit;
    if (st->integration_limit > 0 && st->integration_limit < limit)
        limit = st->integration_limit;
    int now = atomic_fetch_add(&s->inflight, 1) + 1;
    raise_peak(&s->peak_attempted, now);
    if (now > limit) {
        atomic_fetch_sub(&s->inflight, 1);
        ns_count(s, NS_OUT_CONCURRENCY);
        if (st->concurrency_401)
            ns_reply_invalid_login(r);
        else
            ns_reply_error(r, 429, "CONCURRENCY_LIMIT_EXCEEDED", NULL,
                           "Concurrent request limit exceeded. Request blocked.");
        return false;
    }
    raise_peak(&s->peak, now);
    return true;
}

void ns_gov_leave(struct ns_sandbox *s)
{
    atomic_fetch_sub(&s->inflight, 1);
}

void ns_server_time_handle(struct mlc_request *r, void *ud)
{
    struct ns_sandbox *s = ud;
    struct ns_settings st;
    if (!ns_require_method(r, "GET"))
        return;
    if (!ns_api_begin(s, r, NS_CALL_SERVERTIME, &st))
        return;
    char ts[40];
    mlc_fmt_rfc3339(mlc_now_ms(), ts, sizeof ts);
    ns_count(s, NS_OUT_OK);
    json_t *body = json_pack("{s:s}", "serverTime", ts);
    char *txt = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    mlc_reply_text(r, 200, "application/vnd.oracle.resource+json; type=singular", txt, strlen(txt));
    free(txt);
    ns_api_end(s);
}

void ns_governance_limits_handle(struct mlc_request *r, void *ud)
{
    struct ns_sandbox *s = ud;
    struct ns_settings st;
    if (!ns_require_method(r, "GET"))
        return;
    if (!ns_api_begin(s, r, NS_CALL_GOVERNANCE, &st))
        return;
    if (st.deny & NS_PERM_GOVERNANCE) {
        ns_count(s, NS_OUT_FORBIDDEN);
        ns_reply_error(r, 403, "INSUFFICIENT_PERMISSION", NULL,
                       "Permission Violation: The governanceLimits operation is available to "
                       "administrators only.");
        ns_api_end(s);
        return;
    }
    json_t *body;
    if (st.integration_limit > 0)
        body = json_pack("{s:i, s:i, s:i, s:s}", "accountConcurrencyLimit", st.concurrency_limit,
                         "accountUnallocatedConcurrencyLimit",
                         st.concurrency_limit > st.integration_limit
                             ? st.concurrency_limit - st.integration_limit
                             : 0,
                         "integrationConcurrencyLimit", st.integration_limit, "limitType",
                         "integrationSpecific");
    else
        body = json_pack("{s:i, s:i, s:s}", "accountConcurrencyLimit", st.concurrency_limit,
                         "accountUnallocatedConcurrencyLimit", st.concurrency_limit, "limitType",
                         "accountLimit");
    ns_count(s, NS_OUT_OK);
    char *txt = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    mlc_reply_text(r, 200, "application/vnd.oracle.resource+json; type=singular", txt, strlen(txt));
    free(txt);
    ns_api_end(s);
}
