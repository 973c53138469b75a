/* Faults on Web API calls: added latency, random 429s and 5xxs, and calls whose answer never comes
 * (connections closed without an answer after a hold). */
#include "internal.h"

bool dv_faults_apply(struct dv_sandbox *s, const struct dv_settings *st, struct dv_resp *p)
{
    if (st->latency_ms > 0)
        mlc_sleep_ms(st->latency_ms);
    if (st->rate_drop > 0 && dv_dice(s) < st->rate_drop) {
        atomic_fetch_add(&s->outcomes[DV_OUT_FAULT_DROP], 1);
        /* hold the call, then close the connection without an answer (status 0 tells the
         * caller to drop it) */
        mlc_sleep_ms(st->drop_hold_ms);
        p->status = 0;
        return true;
    }
    if (st->rate_429 > 0 && dv_dice(s) < st->rate_429) {
        atomic_fetch_add(&s->outcomes[DV_OUT_FAULT_429], 1);
        dv_resp_error(p, 429, "0x80072322",
                      "Number of requests exceeded the limit of %d over time window of %d "
                      "seconds.",
                      st->rate_requests, st->rate_window_s);
        dv_resp_header(p, "Retry-After", "2");
        return true;
    }
    if (st->rate_5xx > 0 && dv_dice(s) < st->rate_5xx) {
        atomic_fetch_add(&s->outcomes[DV_OUT_FAULT_5XX], 1);
        if (dv_dice(s) < 0.5)
            dv_resp_error(p, 503, "0x80040216", "Service Unavailable (sandbox fault).");
        else
            dv_resp_error(p, 500, "0x80040216", "An unexpected error occurred (sandbox fault).");
        return true;
    }
    return false;
}
