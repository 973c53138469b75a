/* Faults on demand: latency, random 429 and 5xx, dropped connections (closed without an answer), a
 * renamed custom field. */
#include "internal.h"
#include "mlc/log.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

double ns_dice(struct ns_sandbox *s)
{
    /* xorshift64* on a shared atomic state: good enough for fault rates */
    uint64_t x = atomic_load(&s->rng), n;
    do {
        n = x ? x : 0x9e3779b97f4a7c15ull;
        n ^= n >> 12;
        n ^= n << 25;
        n ^= n >> 27;
    } while (!atomic_compare_exchange_weak(&s->rng, &x, n));
    return (double)((n * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

bool ns_faults_apply(struct ns_sandbox *s, struct mlc_request *r, const struct ns_settings *st)
{
    if (st->latency_ms > 0)
        mlc_sleep_ms(st->latency_ms);
    if (st->rate_drop > 0 && ns_dice(s) < st->rate_drop) {
        /* The connection is closed without an answer, at once or after a hold (a call that hangs
         * past the client's timeout, then breaks). */
        ns_count(s, NS_OUT_FAULT_DROP);
        mlc_request_log_field(r, "fault", "drop");
        if (st->drop_hold_ms > 0)
            mlc_sleep_ms(st->drop_hold_ms);
        mlc_reply_drop(r);
        return true;
    }
    if (st->rate_429 > 0 && ns_dice(s) < st->rate_429) {
        ns_count(s, NS_OUT_FAULT_429);
        mlc_request_log_field(r, "fault", "429");
        ns_reply_error(r, 429, "CONCURRENCY_LIMIT_EXCEEDED", NULL,
                       "Concurrent request limit exceeded. Request blocked.");
        return true;
    }
    if (st->rate_5xx > 0 && ns_dice(s) < st->rate_5xx) {
        ns_count(s, NS_OUT_FAULT_5XX);
        mlc_request_log_field(r, "fault", "5xx");
        if (ns_dice(s) < 0.5)
            ns_reply_error(r, 500, "UNEXPECTED_ERROR", NULL,
                           "An unexpected error occurred. Error ID: sbx%08x",
                           (unsigned)(ns_dice(s) * 4294967295.0));
        else
            ns_reply_error(r, 503, "SERVICE_UNAVAILABLE", NULL,
                           "The service is temporarily unavailable. Try again later.");
        return true;
    }
    return false;
}

static bool ident_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 60 || !islower((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

enum mlc_rc ns_fault_rename_field(struct ns_sandbox *s, const char *table, const char *from,
                                  const char *to, char *err, size_t errsz)
{
    static const char *const tables[] = {"customer", "contact", "transaction", "transactionline",
                                         "item"};
    bool table_ok = false;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        table_ok |= strcmp(tables[i], table) == 0;
    if (!table_ok || !ident_ok(from) || !ident_ok(to) ||
        (strncmp(from, "cust", 4) != 0 || strncmp(to, "cust", 4) != 0)) {
        snprintf(err, errsz,
                 "only custom fields (cust*) of customer, contact, transaction, "
                 "transactionline or item can be renamed");
        return MLC_EINVAL;
    }
    char sql[256];
    snprintf(sql, sizeof sql, "ALTER TABLE \"%s\" RENAME COLUMN %s TO %s", table, from, to);
    pthread_mutex_lock(&s->db_mu);
    s->suiteql_mode = false;
    enum mlc_rc rc = ns_db_exec(s, sql, err, errsz);
    pthread_mutex_unlock(&s->db_mu);
    if (rc == MLC_OK) {
        atomic_fetch_add(&s->data_version, 1);
        mlc_log(MLC_LOG_INFO, "fault: %s.%s renamed to %s", table, from, to);
    }
    return rc;
}
