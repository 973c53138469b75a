/* Redis Sentinel: find the primary by name, and follow +switch-master (hiredis has no API). */
#include "internal.h"
#include "mlc/config.h"
#include "mlc/log.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mlc_sentinel {
    char **addrs; /* host:port of each sentinel */
    size_t n;
    char *name;
    pthread_mutex_t mu;
    char host[256];
    int port; /* 0: not known yet */
    atomic_uint gen;
    atomic_bool stop;
    bool watching;
    pthread_t watcher;
    int timeout_ms;
};

static bool split_addr(const char *a, char *host, size_t hostsz, int *port)
{
    const char *colon = strrchr(a, ':');
    uint64_t p;
    if (!colon || colon == a || (size_t)(colon - a) >= hostsz ||
        mlc_parse_u64(colon + 1, &p) != MLC_OK || p == 0 || p > 65535)
        return false;
    memcpy(host, a, (size_t)(colon - a));
    host[colon - a] = '\0';
    *port = (int)p;
    return true;
}

static redisContext *connect_sentinel(const struct mlc_sentinel *sn, size_t i)
{
    char host[256];
    int port;
    if (!split_addr(sn->addrs[i], host, sizeof host, &port))
        return NULL;
    struct timeval tv = {.tv_sec = sn->timeout_ms / 1000,
                         .tv_usec = (sn->timeout_ms % 1000) * 1000};
    redisContext *ctx = redisConnectWithTimeout(host, port, tv);
    if (!ctx || ctx->err) {
        if (ctx)
            redisFree(ctx);
        return NULL;
    }
    redisSetTimeout(ctx, tv);
    return ctx;
}

/* Records a primary address; a change bumps the generation. */
static void set_primary(struct mlc_sentinel *sn, const char *host, int port, const char *why)
{
    pthread_mutex_lock(&sn->mu);
    bool changed = sn->port != port || strcmp(sn->host, host) != 0;
    bool first = sn->port == 0;
    if (changed) {
        snprintf(sn->host, sizeof sn->host, "%s", host);
        sn->port = port;
        atomic_fetch_add(&sn->gen, 1);
    }
    pthread_mutex_unlock(&sn->mu);
    if (changed)
        mlc_log(first ? MLC_LOG_INFO : MLC_LOG_WARN, "Redis primary '%s' is %s:%d (%s)", sn->name,
                host, port, why);
}

/* Asks the sentinels in turn; the first that knows the primary answers. */
static enum mlc_rc ask(struct mlc_sentinel *sn, char *err, size_t errsz)
{
    for (size_t i = 0; i < sn->n; i++) {
        redisContext *ctx = connect_sentinel(sn, i);
        if (!ctx)
            continue;
        redisReply *r = redisCommand(ctx, "SENTINEL get-master-addr-by-name %s", sn->name);
        bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                  r->element[0]->type == REDIS_REPLY_STRING &&
                  r->element[1]->type == REDIS_REPLY_STRING;
        uint64_t port = 0;
        if (ok && mlc_parse_u64(r->element[1]->str, &port) == MLC_OK && port > 0 && port < 65536)
            set_primary(sn, r->element[0]->str, (int)port, "asked Sentinel");
        else
            ok = false;
        if (r)
            freeReplyObject(r);
        redisFree(ctx);
        if (ok)
            return MLC_OK;
    }
    snprintf(err, errsz, "no Sentinel of MLC_REDIS_SENTINELS knows a primary named '%s'", sn->name);
    return MLC_EUNAVAIL;
}

enum mlc_rc sentinel_addr(struct mlc_sentinel *sn, bool refresh, int timeout_ms, char *host,
                          size_t hostsz, int *port, unsigned *gen, char *err, size_t errsz)
{
    (void)timeout_ms;
    pthread_mutex_lock(&sn->mu);
    bool known = sn->port != 0;
    pthread_mutex_unlock(&sn->mu);
    if ((!known || refresh) && ask(sn, err, errsz) != MLC_OK && !known)
        return MLC_EUNAVAIL;
    pthread_mutex_lock(&sn->mu);
    snprintf(host, hostsz, "%s", sn->host);
    *port = sn->port;
    *gen = atomic_load(&sn->gen);
    pthread_mutex_unlock(&sn->mu);
    return MLC_OK;
}

bool sentinel_stale(const struct mlc_sentinel *sn, unsigned gen)
{
    return atomic_load(&((struct mlc_sentinel *)(uintptr_t)sn)->gen) != gen;
}

/* "+switch-master" payload: "<name> <old-ip> <old-port> <new-ip> <new-port>". */
static void on_switch(struct mlc_sentinel *sn, const char *msg)
{
    char name[256], oldh[256], newh[256];
    int oldp, newp;
    if (sscanf(msg, "%255s %255s %d %255s %d", name, oldh, &oldp, newh, &newp) == 5 &&
        strcmp(name, sn->name) == 0 && newp > 0 && newp < 65536)
        set_primary(sn, newh, newp, "+switch-master");
}

static void *watch_main(void *arg)
{
    struct mlc_sentinel *sn = arg;
    size_t i = 0;
    while (!atomic_load(&sn->stop)) {
        redisContext *ctx = connect_sentinel(sn, i++ % sn->n);
        redisReply *r = ctx ? redisCommand(ctx, "SUBSCRIBE +switch-master") : NULL;
        bool subscribed = r && r->type == REDIS_REPLY_ARRAY;
        if (r)
            freeReplyObject(r);
        if (subscribed) {
            /* A switch may have happened while we were not subscribed. */
            char err[160];
            ask(sn, err, sizeof err);
        }
        while (subscribed && !atomic_load(&sn->stop)) {
            struct pollfd p = {.fd = ctx->fd, .events = POLLIN};
            int k = poll(&p, 1, 500);
            if (k == 0)
                continue;
            void *reply = NULL;
            if (k < 0 || redisGetReply(ctx, &reply) != REDIS_OK || !reply)
                break;
            r = reply;
            if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
                r->element[2]->type == REDIS_REPLY_STRING)
                on_switch(sn, r->element[2]->str);
            freeReplyObject(r);
        }
        if (ctx)
            redisFree(ctx);
        for (int t = 0; t < 10 && !atomic_load(&sn->stop); t++)
            mlc_sleep_ms(50); /* this sentinel is gone: try the next one shortly */
    }
    return NULL;
}

enum mlc_rc sentinel_start(struct mlc_queue *q, const char *list, const char *name, char *err,
                           size_t errsz)
{
    struct mlc_sentinel *sn = mlc_calloc(1, sizeof *sn);
    sn->n = mlc_list_split(list, &sn->addrs);
    sn->name = mlc_strdup(name && *name ? name : "mymaster");
    sn->timeout_ms = q->s.timeout_ms;
    pthread_mutex_init(&sn->mu, NULL);
    q->sn = sn;
    for (size_t i = 0; i < sn->n; i++) {
        char host[256];
        int port;
        if (!split_addr(sn->addrs[i], host, sizeof host, &port)) {
            snprintf(err, errsz, "MLC_REDIS_SENTINELS: '%.64s' is not host:port", sn->addrs[i]);
            return MLC_EINVAL;
        }
    }
    if (sn->n == 0) {
        snprintf(err, errsz, "MLC_REDIS_SENTINELS: no sentinel listed");
        return MLC_EINVAL;
    }
    sn->watching = pthread_create(&sn->watcher, NULL, watch_main, sn) == 0;
    return MLC_OK;
}

void sentinel_stop(struct mlc_queue *q)
{
    struct mlc_sentinel *sn = q->sn;
    if (!sn)
        return;
    atomic_store(&sn->stop, true);
    if (sn->watching)
        pthread_join(sn->watcher, NULL);
    mlc_strv_free(sn->addrs, sn->n);
    free(sn->name);
    pthread_mutex_destroy(&sn->mu);
    free(sn);
    q->sn = NULL;
}

bool redis_is_primary(struct mlc_redis *c)
{
    const char *argv[1] = {"ROLE"};
    redisReply *r = qcmd(c, 1, argv, NULL);
    bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
              r->element[0]->type == REDIS_REPLY_STRING &&
              strcmp(r->element[0]->str, "master") == 0;
    if (r)
        freeReplyObject(r);
    return ok;
}
