/* Service protection across ALL replicas: a shared Retry-After pause per identity, the in-flight
 * cap as a Redis semaphore with leased slots, a low-budget mode that lets one call at a time
 * through (so no call of ours is on the wire when a 429 starts a pause), and the rate-limit
 * headers and the 24-hour request count exported as metrics.
 *
 * Redis keys (prefix first): dataverse:pause:<client id> (PX = the pause), dataverse:low:<client
 * id> (present = budget nearly spent), sem:dataverse:<client id> (the slots, see queue/lease.c),
 * dataverse:requests:<client id>:<UTC hour> (counted requests, kept 25 h). */
#include "internal.h"
#include "mlc/log.h"
#include "mlc/metrics.h"
#include "mlc/net.h"
#include "mlc/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: sem, pause, low. ARGV: cap, lease ms, holder. -> -pttl while paused, 1 got, 0 full. */
static const char enter_lua[] =
    "local p = redis.call('PTTL', KEYS[2])\n"
    "if p > 0 then return -p end\n"
    "local cap = tonumber(ARGV[1])\n"
    "if redis.call('EXISTS', KEYS[3]) == 1 then cap = 1 end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
    "if redis.call('ZCARD', KEYS[1]) < cap then\n"
    "  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])\n"
    "  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

/* KEYS: pause, low. ARGV: pause ms, low ms. Only ever lengthens the pause. */
static const char pause_lua[] =
    "local p = redis.call('PTTL', KEYS[1])\n"
    "if p < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end\n"
    "local l = redis.call('PTTL', KEYS[2])\n"
    "if l < tonumber(ARGV[2]) then redis.call('SET', KEYS[2], '1', 'PX', ARGV[2]) end\n"
    "return 1\n";

static void keys(struct mlc_dataverse *dv, char *sem, char *pause, char *low, size_t sz)
{
    mlc_queue_key(dv->q, sem, sz, "sem:dataverse:%s", dv->ident);
    mlc_queue_key(dv->q, pause, sz, "dataverse:pause:%s", dv->ident);
    mlc_queue_key(dv->q, low, sz, "dataverse:low:%s", dv->ident);
}

enum mlc_rc dv_gate_enter(struct mlc_dv_session *s, char *holder, size_t hsz, int64_t deadline_ms,
                          struct mlc_dv_err *e)
{
    struct mlc_dataverse *dv = s->dv;
    snprintf(holder, hsz, "%s:%llu", dv->instance,
             (unsigned long long)atomic_fetch_add(&dv->seq, 1));
    int64_t lease = (int64_t)dv->set.timeout_s * 1000 + 15000;
    char sem[256], pause[256], low[256], caps[24], ttl[24];
    if (dv->q)
        keys(dv, sem, pause, low, sizeof sem);
    snprintf(caps, sizeof caps, "%d", dv->set.max_concurrency);
    snprintf(ttl, sizeof ttl, "%lld", (long long)lease);
    for (;;) {
        long long v = 0;
        if (!dv->q) {
            pthread_mutex_lock(&dv->mu);
            int64_t now = mlc_mono_ms();
            int cap = dv->local_low ? 1 : dv->set.max_concurrency;
            if (now < dv->local_pause_until_ms)
                v = -(dv->local_pause_until_ms - now);
            else if (dv->local_used < cap) {
                dv->local_used++;
                v = 1;
            }
            pthread_mutex_unlock(&dv->mu);
        } else {
            struct mlc_redis *c = dv_session_redis(s);
            json_t *r = NULL;
            char err[256];
            const char *argv[] = {"EVAL", enter_lua, "3", sem, pause, low, caps, ttl, holder};
            if (!c || mlc_redis_exec(c, &r, err, sizeof err, 9, argv) != MLC_OK ||
                !json_is_integer(r)) {
                json_decref(r);
                dv_err_set(e, true, 0, "redis",
                           "Redis is unreachable: no Dataverse concurrency slot can be taken");
                return MLC_EUNAVAIL;
            }
            v = (long long)json_integer_value(r);
            json_decref(r);
        }
        if (v == 1)
            return MLC_OK;
        int64_t now = mlc_mono_ms();
        if (now > deadline_ms) {
            dv_err_set(e, true, 0, "concurrency",
                       "no Dataverse call could start in time (paused by Retry-After or all %d "
                       "slots of MLC_DATAVERSE_MAX_CONCURRENCY busy)",
                       dv->set.max_concurrency);
            e->retry_after_ms = v < 0 ? -v : 1000;
            return MLC_EUNAVAIL;
        }
        if (v < 0) {
            /* paused: sleep it out (a little past it, with jitter so replicas do not stampede) */
            int64_t w = -v + 5 + (int64_t)(mlc_rand_u64() % 20);
            if (w > 2000)
                w = 2000;
            mlc_sleep_ms(w);
            atomic_fetch_add(&dv->paused_ms, (uint64_t)w);
            if (dv->metrics)
                mlc_metrics_add(dv->metrics, "mlc_dataverse_pause_seconds_total", NULL,
                                (double)w / 1000.0);
        } else {
            mlc_sleep_ms(2 + (int64_t)(mlc_rand_u64() % 6));
        }
    }
}

void dv_gate_leave(struct mlc_dv_session *s, const char *holder)
{
    struct mlc_dataverse *dv = s->dv;
    if (!dv->q) {
        pthread_mutex_lock(&dv->mu);
        dv->local_used--;
        pthread_mutex_unlock(&dv->mu);
        return;
    }
    struct mlc_redis *c = dv_session_redis(s);
    char name[96];
    snprintf(name, sizeof name, "dataverse:%s", dv->ident);
    if (c)
        mlc_sem_release(dv->q, c, name, holder); /* else the lease frees the slot */
}

void dv_gate_pause(struct mlc_dv_session *s, int64_t ms)
{
    struct mlc_dataverse *dv = s->dv;
    /* after the pause, one call at a time until an answer shows budget again */
    int64_t low_ms = ms + 10000;
    if (!dv->q) {
        pthread_mutex_lock(&dv->mu);
        int64_t until = mlc_mono_ms() + ms;
        if (until > dv->local_pause_until_ms)
            dv->local_pause_until_ms = until;
        dv->local_low = true;
        pthread_mutex_unlock(&dv->mu);
        return;
    }
    char sem[256], pause[256], low[256], a1[24], a2[24];
    keys(dv, sem, pause, low, sizeof sem);
    snprintf(a1, sizeof a1, "%lld", (long long)(ms > 0 ? ms : 1));
    snprintf(a2, sizeof a2, "%lld", (long long)low_ms);
    const char *argv[] = {"EVAL", pause_lua, "2", pause, low, a1, a2};
    struct mlc_redis *c = dv_session_redis(s);
    char err[256];
    if (!c || mlc_redis_exec(c, NULL, err, sizeof err, 7, argv) != MLC_OK)
        mlc_log(MLC_LOG_WARN, "dataverse: the shared Retry-After pause could not be stored");
}

/* "1,234,567.00" -> 1234567 */
static long long grouped_number(const char *v)
{
    long long n = 0;
    bool any = false;
    for (; *v && *v != '.'; v++) {
        if (*v >= '0' && *v <= '9') {
            n = n * 10 + (*v - '0');
            any = true;
            if (n > 1000000000000LL)
                break;
        } else if (*v != ',' && *v != ' ') {
            return -1;
        }
    }
    return any ? n : -1;
}

static void set_low(struct mlc_dv_session *s, bool on)
{
    struct mlc_dataverse *dv = s->dv;
    if (!dv->q) {
        pthread_mutex_lock(&dv->mu);
        dv->local_low = on;
        pthread_mutex_unlock(&dv->mu);
        return;
    }
    char sem[256], pause[256], low[256];
    keys(dv, sem, pause, low, sizeof sem);
    struct mlc_redis *c = dv_session_redis(s);
    if (!c)
        return;
    if (on) {
        const char *argv[] = {"SET", low, "1", "PX", "10000"};
        mlc_redis_exec(c, NULL, NULL, 0, 5, argv);
    } else {
        const char *argv[] = {"DEL", low};
        mlc_redis_exec(c, NULL, NULL, 0, 2, argv);
    }
}

static void count_24h(struct mlc_dv_session *s, unsigned weight)
{
    struct mlc_dataverse *dv = s->dv;
    if (!dv->q)
        return;
    struct mlc_redis *c = dv_session_redis(s);
    if (!c)
        return;
    int64_t hour = mlc_now_ms() / 3600000;
    char key[256], w[16];
    mlc_queue_key(dv->q, key, sizeof key, "dataverse:requests:%s:%lld", dv->ident, (long long)hour);
    snprintf(w, sizeof w, "%u", weight);
    const char *a1[] = {"INCRBY", key, w};
    const char *a2[] = {"EXPIRE", key, "90000"};
    mlc_redis_exec(c, NULL, NULL, 0, 3, a1);
    mlc_redis_exec(c, NULL, NULL, 0, 3, a2);
    if (!dv->metrics)
        return;
    int64_t now = mlc_mono_ms();
    pthread_mutex_lock(&dv->mu);
    bool due = !dv->last_24h_read_ms || now - dv->last_24h_read_ms >= 60000;
    if (due)
        dv->last_24h_read_ms = now;
    pthread_mutex_unlock(&dv->mu);
    if (!due)
        return;
    char keysbuf[24][256];
    const char *argv[25] = {"MGET"};
    for (int i = 0; i < 24; i++) {
        mlc_queue_key(dv->q, keysbuf[i], sizeof keysbuf[i], "dataverse:requests:%s:%lld", dv->ident,
                      (long long)(hour - i));
        argv[i + 1] = keysbuf[i];
    }
    json_t *r = NULL;
    if (mlc_redis_exec(c, &r, NULL, 0, 25, argv) == MLC_OK && json_is_array(r)) {
        double sum = 0;
        for (size_t i = 0; i < json_array_size(r); i++) {
            const char *v = json_string_value(json_array_get(r, i));
            if (v)
                sum += strtod(v, NULL);
        }
        mlc_metrics_set(dv->metrics, "mlc_dataverse_requests_24h", NULL, sum);
    }
    json_decref(r);
}

void dv_gate_learn(struct mlc_dv_session *s, const struct mlc_net_response *resp, unsigned weight,
                   double seconds)
{
    struct mlc_dataverse *dv = s->dv;
    count_24h(s, weight);
    const char *b = mlc_net_response_header(resp, "x-ms-ratelimit-burst-remaining-xrm-requests");
    const char *t = mlc_net_response_header(resp, "x-ms-ratelimit-time-remaining-xrm-requests");
    long long burst = b ? grouped_number(b) : -1;
    long long time_ms = t ? grouped_number(t) : -1;
    if (dv->metrics) {
        if (burst >= 0)
            mlc_metrics_set(dv->metrics, "mlc_dataverse_ratelimit_burst_remaining", NULL,
                            (double)burst);
        if (time_ms >= 0)
            mlc_metrics_set(dv->metrics, "mlc_dataverse_ratelimit_time_remaining_ms", NULL,
                            (double)time_ms);
    }
    if (resp->status == 429 || (burst < 0 && time_ms < 0))
        return;
    /* What our calls in flight may still spend before their answers come back: every slot
     * carrying a call like this one, twice over. Below it, one call at a time, so the call that
     * meets the limit is the only one on the wire and nothing of ours arrives during the pause. */
    long long cap = dv->set.max_concurrency;
    long long need_req = 2 * cap * (long long)(weight ? weight : 1) + 2;
    long long need_ms = 2 * cap * (long long)(seconds * 1000.0 + 1);
    bool low = (burst >= 0 && burst < need_req) || (time_ms >= 0 && time_ms < need_ms);
    bool high = (burst < 0 || burst >= 2 * need_req) && (time_ms < 0 || time_ms >= 2 * need_ms);
    if (low)
        set_low(s, true);
    else if (high)
        set_low(s, false);
}
