/* Change events out, the way our user-event script posts them: one background sender, secret or
 * HMAC mode, retries. */
#include "internal.h"
#include "mlc/crypto.h"
#include "mlc/log.h"
#include "mlc/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_MAX 10000
#define RECENT 100

struct delivery {
    int64_t at_ms;
    long status; /* HTTP status, 0 when nothing answered */
    int events;
    int attempts;
    char error[160];
};

struct ns_events {
    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    json_t *queue[QUEUE_MAX];
    size_t head, len;
    bool stop;
    bool busy; /* a post is in progress */
    uint64_t queued, sent, failed, dropped, posts;
    struct delivery recent[RECENT];
    size_t nrecent;
    char *ca_file;
};

static void uuid4(char out[37])
{
    uint8_t b[16];
    mlc_random_bytes(b, sizeof b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

void ns_events_emit(struct ns_sandbox *s, const char *record_type, long long id,
                    const char *event_type)
{
    struct ns_events *e = s->events;
    if (!e)
        return;
    struct ns_settings st = ns_settings_get(s);
    if (!st.events_url[0])
        return;
    char eid[37], at[40], rid[32];
    uuid4(eid);
    mlc_fmt_rfc3339(mlc_now_ms(), at, sizeof at);
    snprintf(rid, sizeof rid, "%lld", id);
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "eventId", eid, "eventType",
                           event_type, "recordType", record_type, "recordId", rid, "occurredAt", at,
                           "accountId", s->account_id);
    pthread_mutex_lock(&e->mu);
    if (e->len == QUEUE_MAX) {
        json_decref(e->queue[e->head]);
        e->head = (e->head + 1) % QUEUE_MAX;
        e->len--;
        e->dropped++;
    }
    e->queue[(e->head + e->len) % QUEUE_MAX] = ev;
    e->len++;
    e->queued++;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

static void record(struct ns_events *e, long status, int nev, int attempts, const char *error)
{
    struct delivery *d = &e->recent[e->nrecent++ % RECENT];
    d->at_ms = mlc_now_ms();
    d->status = status;
    d->events = nev;
    d->attempts = attempts;
    snprintf(d->error, sizeof d->error, "%s", error ? error : "");
}

static void *sender(void *ud)
{
    struct ns_sandbox *s = ud;
    struct ns_events *e = s->events;
    struct mlc_net *net = NULL;
    char err[256];
    struct mlc_net_options no = {.ca_file = e->ca_file,
                                 .connect_timeout_ms = 5000,
                                 .timeout_ms = 45000, /* a script's outbound call limit */
                                 .user_agent = "NetSuite-UserEventScript (ml-connector sandbox)"};
    if (mlc_net_new(&no, &net, err, sizeof err) != MLC_OK) {
        mlc_log(MLC_LOG_ERROR, "sandbox events: %s", err);
        return NULL;
    }
    pthread_mutex_lock(&e->mu);
    for (;;) {
        while (!e->stop && e->len == 0)
            pthread_cond_wait(&e->cv, &e->mu);
        if (e->stop)
            break;
        struct ns_settings st = ns_settings_get(s);
        size_t take = e->len < (size_t)st.events_batch ? e->len : (size_t)st.events_batch;
        json_t *batch = json_array();
        for (size_t i = 0; i < take; i++) {
            json_array_append_new(batch, e->queue[e->head]);
            e->head = (e->head + 1) % QUEUE_MAX;
            e->len--;
        }
        e->busy = true;
        pthread_mutex_unlock(&e->mu);

        json_t *body = st.events_batch > 1 ? json_pack("{s:O}", "events", batch)
                                           : json_incref(json_array_get(batch, 0));
        char *txt = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        long status = 0;
        int attempt = 0;
        err[0] = '\0';
        for (; attempt <= st.events_retries && txt; attempt++) {
            if (attempt)
                mlc_sleep_ms(200LL << (attempt - 1));
            struct mlc_net_header h[3];
            size_t nh = 0;
            char sigh[128];
            h[nh++] = (struct mlc_net_header){"Content-Type", "application/json"};
            if (st.events_hmac) {
                int64_t t = mlc_now_ms() / 1000;
                struct mlc_buf signed_text;
                mlc_buf_init(&signed_text, strlen(txt) + 32);
                mlc_buf_printf(&signed_text, "%lld.%s", (long long)t, txt);
                uint8_t mac[32];
                mlc_hmac_sha256(s->webhook_secret, strlen(s->webhook_secret), signed_text.data,
                                signed_text.len, mac);
                mlc_buf_free(&signed_text);
                char hex[65];
                mlc_hex(mac, 32, hex);
                snprintf(sigh, sizeof sigh, "t=%lld,v1=%s", (long long)t, hex);
                h[nh++] = (struct mlc_net_header){"X-MLC-Signature", sigh};
            } else {
                h[nh++] = (struct mlc_net_header){"X-MLC-Webhook-Secret", s->webhook_secret};
            }
            struct mlc_net_request req = {.method = "POST",
                                          .url = st.events_url,
                                          .headers = h,
                                          .nheaders = nh,
                                          .body = txt,
                                          .body_len = strlen(txt)};
            struct mlc_net_response resp;
            enum mlc_rc rc = mlc_net_perform(net, &req, &resp, err, sizeof err);
            status = rc == MLC_OK ? resp.status : 0;
            if (rc == MLC_OK) {
                if (status < 200 || status > 299)
                    snprintf(err, sizeof err, "HTTP %ld: %.120s", status,
                             resp.body.data ? resp.body.data : "");
                mlc_net_response_free(&resp);
            }
            if (status >= 200 && status <= 299) {
                err[0] = '\0';
                attempt++;
                break;
            }
            /* A 4xx other than 408/429 is final: retrying the same body cannot help. */
            if (status >= 400 && status < 500 && status != 408 && status != 429) {
                attempt++;
                break;
            }
        }
        free(txt);
        bool ok = status >= 200 && status <= 299;
        if (!ok)
            mlc_log(MLC_LOG_WARN, "sandbox events: post to the events URL failed: %s", err);
        pthread_mutex_lock(&e->mu);
        e->posts++;
        if (ok)
            e->sent += take;
        else
            e->failed += take;
        record(e, status, (int)take, attempt, ok ? NULL : err);
        e->busy = false;
        json_decref(batch);
    }
    pthread_mutex_unlock(&e->mu);
    mlc_net_free(net);
    return NULL;
}

enum mlc_rc ns_events_start(struct ns_sandbox *s, const char *ca_file, char *err, size_t errsz)
{
    struct ns_events *e = mlc_calloc(1, sizeof *e);
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    e->ca_file = ca_file ? mlc_strdup(ca_file) : NULL;
    s->events = e;
    if (pthread_create(&e->th, NULL, sender, s) != 0) {
        snprintf(err, errsz, "cannot start the events thread");
        return MLC_ERR;
    }
    e->started = true;
    return MLC_OK;
}

void ns_events_stop(struct ns_sandbox *s)
{
    struct ns_events *e = s->events;
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    e->stop = true;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    if (e->started)
        pthread_join(e->th, NULL);
    for (size_t i = 0; i < e->len; i++)
        json_decref(e->queue[(e->head + i) % QUEUE_MAX]);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e->ca_file);
    free(e);
    s->events = NULL;
}

json_t *ns_events_stats(struct ns_sandbox *s, size_t last_n)
{
    struct ns_events *e = s->events;
    if (!e)
        return json_object();
    pthread_mutex_lock(&e->mu);
    json_t *recent = json_array();
    size_t n = e->nrecent < RECENT ? e->nrecent : RECENT;
    if (last_n < n)
        n = last_n;
    for (size_t i = 0; i < n; i++) {
        const struct delivery *d = &e->recent[(e->nrecent - 1 - i) % RECENT];
        char at[40];
        mlc_fmt_rfc3339(d->at_ms, at, sizeof at);
        json_array_append_new(recent,
                              json_pack("{s:s, s:I, s:i, s:i, s:s?}", "at", at, "status",
                                        (json_int_t)d->status, "events", d->events, "attempts",
                                        d->attempts, "error", d->error[0] ? d->error : NULL));
    }
    json_t *o =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:o}", "queued", (json_int_t)e->queued,
                  "sent", (json_int_t)e->sent, "failed", (json_int_t)e->failed, "dropped",
                  (json_int_t)e->dropped, "posts", (json_int_t)e->posts, "pending",
                  (json_int_t)e->len, "sending", e->busy, "recent", recent);
    pthread_mutex_unlock(&e->mu);
    return o;
}
