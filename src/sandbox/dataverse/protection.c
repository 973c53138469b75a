/* Service protection per identity: requests, combined execution time and concurrency over a sliding
 * window; 429 with Retry-After and the documented codes; x-ms-ratelimit-* headers; calls made
 * during a pause. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIN 3600 /* one bucket per second; the window is at most this long */
#define MAX_IDS 32

struct ident {
    char id[40];
    int inflight, peak;
    int64_t sec[WIN];
    uint32_t count[WIN];
    int64_t exec[WIN];
    int64_t paused_until_ms;
    uint64_t calls, throttled[3], during_pause;
    char last_during_pause[40];
};

struct dv_protection {
    pthread_mutex_t mu;
    struct ident ids[MAX_IDS];
    size_t n;
};

enum mlc_rc dv_protection_new(struct dv_protection **out)
{
    struct dv_protection *p = mlc_calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    *out = p;
    return MLC_OK;
}

void dv_protection_free(struct dv_protection *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static struct ident *ident_get(struct dv_protection *p, const char *id)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->ids[i].id, id) == 0)
            return &p->ids[i];
    if (p->n == MAX_IDS)
        return &p->ids[MAX_IDS - 1]; /* more identities than a sandbox has: share the last */
    struct ident *x = &p->ids[p->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->id, sizeof x->id, "%s", id);
    return x;
}

/* Sums the window; *oldest receives the oldest second with traffic. */
static void window(struct ident *x, int64_t now, int w, long long *count, long long *exec,
                   int64_t *oldest)
{
    *count = 0;
    *exec = 0;
    *oldest = now;
    for (int64_t t = now - w + 1; t <= now; t++) {
        size_t b = (size_t)(t % WIN);
        if (x->sec[b] != t)
            continue;
        *count += x->count[b];
        *exec += x->exec[b];
        if ((x->count[b] || x->exec[b]) && t < *oldest)
            *oldest = t;
    }
}

static size_t bucket(struct ident *x, int64_t now)
{
    size_t b = (size_t)(now % WIN);
    if (x->sec[b] != now) {
        x->sec[b] = now;
        x->count[b] = 0;
        x->exec[b] = 0;
    }
    return b;
}

/* 1234567 -> "1,234,567.00" as the real headers show. */
static void grouped(long long v, char *out, size_t sz)
{
    char raw[32];
    snprintf(raw, sizeof raw, "%lld", v < 0 ? 0 : v);
    size_t n = strlen(raw), o = 0;
    for (size_t i = 0; i < n && o + 2 < sz; i++) {
        if (i && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = raw[i];
    }
    snprintf(out + o, sz - o, ".00");
}

static void headers(struct dv_resp *p, const struct dv_settings *st, long long count,
                    long long exec)
{
    char v[40];
    snprintf(v, sizeof v, "%lld", st->rate_requests - count > 0 ? st->rate_requests - count : 0);
    dv_resp_header(p, "x-ms-ratelimit-burst-remaining-xrm-requests", v);
    grouped(st->rate_exec_ms - exec, v, sizeof v);
    dv_resp_header(p, "x-ms-ratelimit-time-remaining-xrm-requests", v);
}

bool dv_protect_enter(struct dv_sandbox *s, const struct dv_settings *st, const char *identity,
                      unsigned weight, struct dv_resp *p)
{
    struct dv_protection *pr = s->prot;
    int64_t now_ms = mlc_now_ms(), now = now_ms / 1000;
    pthread_mutex_lock(&pr->mu);
    struct ident *x = ident_get(pr, identity);
    x->calls++;
    if (now_ms < x->paused_until_ms) {
        x->during_pause++;
        dv_iso_time(now_ms, x->last_during_pause, sizeof x->last_during_pause);
    }
    long long count, exec;
    int64_t oldest;
    window(x, now, st->rate_window_s, &count, &exec, &oldest);
    int which = -1;
    long long retry = 1;
    if (x->inflight >= st->rate_concurrency) {
        which = 2;
    } else if (count + weight > (long long)st->rate_requests) {
        which = 0;
        retry = oldest + st->rate_window_s - now;
    } else if (exec >= st->rate_exec_ms) {
        which = 1;
        retry = oldest + st->rate_window_s - now;
    }
    if (which >= 0) {
        if (retry < 1)
            retry = 1;
        x->throttled[which]++;
        x->paused_until_ms = now_ms + retry * 1000;
        pthread_mutex_unlock(&pr->mu);
        if (which == 0)
            dv_resp_error(p, 429, "0x80072322",
                          "Number of requests exceeded the limit of %d over time window of %d "
                          "seconds.",
                          st->rate_requests, st->rate_window_s);
        else if (which == 1)
            dv_resp_error(p, 429, "0x80072321",
                          "Combined execution time of incoming requests exceeded limit of %lld "
                          "milliseconds over time window of %d seconds. Decrease number of "
                          "concurrent requests or reduce the duration of requests and try again "
                          "later.",
                          st->rate_exec_ms, st->rate_window_s);
        else
            dv_resp_error(p, 429, "0x80072326",
                          "Number of concurrent requests exceeded the limit of %d.",
                          st->rate_concurrency);
        char ra[24];
        snprintf(ra, sizeof ra, "%lld", retry);
        dv_resp_header(p, "Retry-After", ra);
        atomic_fetch_add(&s->outcomes[DV_OUT_THROTTLED], 1);
        return false;
    }
    x->inflight++;
    if (x->inflight > x->peak)
        x->peak = x->inflight;
    x->count[bucket(x, now)] += weight;
    headers(p, st, count + weight, exec);
    pthread_mutex_unlock(&pr->mu);
    return true;
}

void dv_protect_leave(struct dv_sandbox *s, const struct dv_settings *st, const char *identity,
                      int64_t exec_ms, struct dv_resp *p)
{
    (void)st;
    (void)p;
    struct dv_protection *pr = s->prot;
    pthread_mutex_lock(&pr->mu);
    struct ident *x = ident_get(pr, identity);
    x->inflight--;
    x->exec[bucket(x, mlc_now_ms() / 1000)] += exec_ms;
    pthread_mutex_unlock(&pr->mu);
}

void dv_protect_count(struct dv_sandbox *s, const char *identity, unsigned n)
{
    struct dv_protection *pr = s->prot;
    pthread_mutex_lock(&pr->mu);
    struct ident *x = ident_get(pr, identity);
    x->count[bucket(x, mlc_now_ms() / 1000)] += n;
    pthread_mutex_unlock(&pr->mu);
}

json_t *dv_protection_json(struct dv_sandbox *s)
{
    struct dv_protection *pr = s->prot;
    struct dv_settings st = dv_settings_get(s);
    json_t *arr = json_array();
    int64_t now_ms = mlc_now_ms();
    pthread_mutex_lock(&pr->mu);
    for (size_t i = 0; i < pr->n; i++) {
        struct ident *x = &pr->ids[i];
        long long count, exec;
        int64_t oldest;
        window(x, now_ms / 1000, st.rate_window_s, &count, &exec, &oldest);
        json_array_append_new(
            arr,
            json_pack("{s:s, s:I, s:I, s:I, s:i, s:i, s:{s:I, s:I, s:I}, s:I, s:s?, s:I}",
                      "identity", x->id, "calls", (json_int_t)x->calls, "windowRequests",
                      (json_int_t)count, "windowExecutionMs", (json_int_t)exec, "inflight",
                      x->inflight, "peakConcurrency", x->peak, "throttled", "requests",
                      (json_int_t)x->throttled[0], "executionTime", (json_int_t)x->throttled[1],
                      "concurrency", (json_int_t)x->throttled[2], "callsDuringRetryAfter",
                      (json_int_t)x->during_pause, "lastCallDuringRetryAfter",
                      x->last_during_pause[0] ? x->last_during_pause : NULL, "pausedForMs",
                      (json_int_t)(x->paused_until_ms > now_ms ? x->paused_until_ms - now_ms : 0)));
    }
    pthread_mutex_unlock(&pr->mu);
    return arr;
}

void dv_protection_reset(struct dv_sandbox *s)
{
    struct dv_protection *pr = s->prot;
    pthread_mutex_lock(&pr->mu);
    for (size_t i = 0; i < pr->n; i++) {
        int inflight = pr->ids[i].inflight;
        char id[40];
        snprintf(id, sizeof id, "%s", pr->ids[i].id);
        memset(&pr->ids[i], 0, sizeof pr->ids[i]);
        snprintf(pr->ids[i].id, sizeof pr->ids[i].id, "%s", id);
        pr->ids[i].inflight = inflight;
    }
    pthread_mutex_unlock(&pr->mu);
}
