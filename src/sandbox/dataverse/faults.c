/* Faults on Web API calls: added latency, random 429s and 5xxs, and calls whose answer never comes
 * in time. */
#include "internal.h"

bool dv_faults_apply(struct dv_sandbox *s, const struct dv_settings *st, struct dv_resp *p)
{
    if (st->latency_ms > 0)
        mlc_sleep_ms(st->latency_ms);
    if (st->rate_drop > 0 && dv_dice(s) < st->rate_drop) {
        atomic_fetch_add(&s->outcomes[DV_OUT_FAULT_DROP], 1);
        /* libmicrohttpd cannot cut a connection from a handler: hold the call past any sane
         * client timeout, then fail it */
        mlc_sleep_ms(st->drop_hold_ms);
        dv_resp_error(p, 502, "0x80040216", "The connection was dropped (sandbox fault).");
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
