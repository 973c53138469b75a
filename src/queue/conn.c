/* Redis connections: URL parsing, connect/auth/select, generic commands, the request-thread pool.
 */
#include "internal.h"
#include "mlc/config.h"
#include "mlc/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *mlc_lane_name(enum mlc_lane l)
{
    return l == MLC_LANE_BULK ? "bulk" : "live";
}

int mlc_lane_parse(const char *s)
{
    if (strcmp(s, "live") == 0)
        return MLC_LANE_LIVE;
    if (strcmp(s, "bulk") == 0)
        return MLC_LANE_BULK;
    return -1;
}

void mlc_queue_settings_from_config(const struct mlc_config *cfg, struct mlc_queue_settings *s)
{
    s->url = mlc_config_str(cfg, MLC_CFG_REDIS_URL);
    s->sentinels = mlc_config_str(cfg, MLC_CFG_REDIS_SENTINELS);
    s->master_name = mlc_config_str(cfg, MLC_CFG_REDIS_MASTER_NAME);
    s->prefix = mlc_config_str(cfg, MLC_CFG_REDIS_KEY_PREFIX);
    s->timeout_ms = (int)mlc_config_int(cfg, MLC_CFG_REDIS_TIMEOUT_MS);
    s->dedupe_ttl_s = (int)mlc_config_int(cfg, MLC_CFG_DEDUPE_TTL_S);
    s->visibility_timeout_s = (int)mlc_config_int(cfg, MLC_CFG_QUEUE_VISIBILITY_TIMEOUT_S);
    s->max_attempts = (int)mlc_config_int(cfg, MLC_CFG_QUEUE_MAX_ATTEMPTS);
    s->max_deliveries = (int)mlc_config_int(cfg, MLC_CFG_QUEUE_MAX_DELIVERIES);
    s->retry_base_ms = (int)mlc_config_int(cfg, MLC_CFG_QUEUE_RETRY_BASE_MS);
    s->retry_max_s = (int)mlc_config_int(cfg, MLC_CFG_QUEUE_RETRY_MAX_S);
    s->max_backlog = mlc_config_int(cfg, MLC_CFG_QUEUE_MAX_BACKLOG);
    s->breaker_threshold = (int)mlc_config_int(cfg, MLC_CFG_BREAKER_THRESHOLD);
    s->breaker_window_s = (int)mlc_config_int(cfg, MLC_CFG_BREAKER_WINDOW_S);
    s->dlq_max_entries = mlc_config_int(cfg, MLC_CFG_DLQ_MAX_ENTRIES);
}

static enum mlc_rc parse_url(struct mlc_queue *q, const char *url, char *err, size_t errsz)
{
    const char *p;
    if (strncmp(url, "redis://", 8) == 0) {
        p = url + 8;
    } else {
        snprintf(err, errsz,
                 "MLC_REDIS_URL: must start with redis:// (TLS goes through a sidecar)");
        return MLC_EINVAL;
    }
    q->port = 6379;
    q->db = 0;
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            if (colon > p)
                q->username = mlc_strndup(p, (size_t)(colon - p));
            q->password = mlc_strndup(colon + 1, (size_t)(at - colon - 1));
        } else {
            q->password = mlc_strndup(p, (size_t)(at - p));
        }
        p = at + 1;
    }
    const char *slash = strchr(p, '/');
    const char *hostend = slash ? slash : p + strlen(p);
    const char *colon = NULL;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(hostend - p));
        if (!rb)
            goto bad;
        if ((size_t)(rb - p - 1) >= sizeof q->host)
            goto bad;
        memcpy(q->host, p + 1, (size_t)(rb - p - 1));
        q->host[rb - p - 1] = '\0';
        if (rb[1] == ':')
            colon = rb + 1;
    } else {
        colon = memchr(p, ':', (size_t)(hostend - p));
        const char *he = colon ? colon : hostend;
        if (he == p || (size_t)(he - p) >= sizeof q->host)
            goto bad;
        memcpy(q->host, p, (size_t)(he - p));
        q->host[he - p] = '\0';
    }
    if (colon) {
        char portbuf[8];
        size_t pl = (size_t)(hostend - colon - 1);
        uint64_t port;
        if (pl == 0 || pl >= sizeof portbuf)
            goto bad;
        memcpy(portbuf, colon + 1, pl);
        portbuf[pl] = '\0';
        if (mlc_parse_u64(portbuf, &port) != MLC_OK || port == 0 || port > 65535)
            goto bad;
        q->port = (int)port;
    }
    if (slash && slash[1]) {
        uint64_t db;
        if (mlc_parse_u64(slash + 1, &db) != MLC_OK || db > 10000)
            goto bad;
        q->db = (int)db;
    }
    return MLC_OK;
bad:
    snprintf(err, errsz, "MLC_REDIS_URL: expected redis://[:password@]host[:port][/db]");
    return MLC_EINVAL;
}

enum mlc_rc mlc_queue_new(const struct mlc_queue_settings *s, struct mlc_metrics *metrics,
                          struct mlc_queue **out, char *err, size_t errsz)
{
    struct mlc_queue *q = mlc_calloc(1, sizeof *q);
    q->s = *s;
    q->url = mlc_strdup(s->url);
    q->prefix = mlc_strdup(s->prefix ? s->prefix : "mlc:");
    q->s.url = q->url;
    q->s.prefix = q->prefix;
    q->metrics = metrics;
    pthread_mutex_init(&q->mu, NULL);
    pthread_mutex_init(&q->gc_mu, NULL);
    pthread_cond_init(&q->gc_cv, NULL);
    atomic_store(&q->healthy, true);
    if (parse_url(q, s->url, err, errsz) != MLC_OK) {
        mlc_queue_free(q);
        return MLC_EINVAL;
    }
    bool sentinels = false;
    for (const char *p = s->sentinels; p && *p; p++)
        sentinels |= *p != ',' && *p != ' ';
    if (sentinels && sentinel_start(q, s->sentinels, s->master_name, err, errsz) != MLC_OK) {
        mlc_queue_free(q);
        return MLC_EINVAL;
    }
    q->s.sentinels = q->s.master_name = NULL; /* borrowed from the configuration: not kept */
    *out = q;
    return MLC_OK;
}

void mlc_queue_free(struct mlc_queue *q)
{
    if (!q)
        return;
    sentinel_stop(q);
    for (size_t i = 0; i < q->npool; i++)
        mlc_redis_free(q->pool[i]);
    free(q->pool);
    pthread_mutex_destroy(&q->mu);
    pthread_mutex_destroy(&q->gc_mu);
    pthread_cond_destroy(&q->gc_cv);
    if (q->password)
        memset(q->password, 0, strlen(q->password));
    if (q->url)
        memset(q->url, 0, strlen(q->url));
    free(q->password);
    free(q->username);
    free(q->url);
    free(q->prefix);
    free(q);
}

const struct mlc_queue_settings *mlc_queue_settings_get(const struct mlc_queue *q)
{
    return &q->s;
}

void mlc_queue_key(const struct mlc_queue *q, char *out, size_t outsz, const char *fmt, ...)
{
    int n = snprintf(out, outsz, "%s", q->prefix);
    if (n < 0 || (size_t)n >= outsz)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + n, outsz - (size_t)n, fmt, ap);
    va_end(ap);
}

void stream_key(const struct mlc_queue *q, enum mlc_lane l, char *out, size_t outsz)
{
    mlc_queue_key(q, out, outsz, "q:%s", mlc_lane_name(l));
}

enum mlc_rc mlc_redis_connect(const struct mlc_queue *q, struct mlc_redis **out, char *err,
                              size_t errsz)
{
    struct timeval tv = {.tv_sec = q->s.timeout_ms / 1000,
                         .tv_usec = (q->s.timeout_ms % 1000) * 1000};
    char host[256];
    int port = q->port;
    unsigned gen = 0;
    snprintf(host, sizeof host, "%s", q->host);
    /* With Sentinel, ask again whenever a connection is made: connections are made at start
     * and after one broke, which is when the primary may have moved. */
    if (q->sn && sentinel_addr(q->sn, true, q->s.timeout_ms, host, sizeof host, &port, &gen, err,
                               errsz) != MLC_OK)
        return MLC_EUNAVAIL;
    redisContext *ctx = redisConnectWithTimeout(host, port, tv);
    if (!ctx || ctx->err) {
        snprintf(err, errsz, "cannot connect to Redis at %s:%d: %s", host, port,
                 ctx ? ctx->errstr : "out of memory");
        if (ctx)
            redisFree(ctx);
        return MLC_EUNAVAIL;
    }
    redisSetTimeout(ctx, tv);
    redisEnableKeepAlive(ctx);
    struct mlc_redis *c = mlc_calloc(1, sizeof *c);
    c->ctx = ctx;
    c->q = q;
    c->gen = gen;
    if (q->password) {
        const char *argv[3] = {"AUTH", q->username ? q->username : q->password, q->password};
        int argc = q->username ? 3 : 2;
        redisReply *r = qcmd(c, argc, argv, NULL);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errsz, "Redis AUTH failed%s", r ? " (wrong password?)" : "");
            if (r)
                freeReplyObject(r);
            mlc_redis_free(c);
            return r ? MLC_ERR : MLC_EUNAVAIL;
        }
        freeReplyObject(r);
    }
    if (q->db) {
        char db[16];
        snprintf(db, sizeof db, "%d", q->db);
        const char *argv[2] = {"SELECT", db};
        redisReply *r = qcmd(c, 2, argv, NULL);
        bool ok = r && r->type != REDIS_REPLY_ERROR;
        if (r)
            freeReplyObject(r);
        if (!ok) {
            snprintf(err, errsz, "Redis SELECT %d failed", q->db);
            mlc_redis_free(c);
            return MLC_EUNAVAIL;
        }
    }
    if (q->sn && !redis_is_primary(c)) {
        snprintf(err, errsz, "Redis at %s:%d is not a primary (a failover in progress?)", host,
                 port);
        mlc_redis_free(c);
        return MLC_EUNAVAIL;
    }
    *out = c;
    return MLC_OK;
}

struct mlc_redis *mlc_redis_kept(struct mlc_queue *q, struct mlc_redis **slot, int64_t *retry_ms,
                                 const char *who)
{
    if (!q)
        return NULL;
    if (*slot && mlc_redis_broken(*slot)) {
        mlc_redis_free(*slot);
        *slot = NULL;
    }
    if (!*slot && mlc_mono_ms() >= *retry_ms) {
        char err[256];
        if (mlc_redis_connect(q, slot, err, sizeof err) != MLC_OK) {
            *slot = NULL;
            *retry_ms = mlc_mono_ms() + 500;
            mlc_log(MLC_LOG_WARN, "%s: %s", who, err);
        }
    }
    return *slot;
}

void mlc_redis_free(struct mlc_redis *c)
{
    if (!c)
        return;
    if (c->ctx)
        redisFree(c->ctx);
    free(c);
}

bool mlc_redis_broken(const struct mlc_redis *c)
{
    return c->broken || (c->q && c->q->sn && sentinel_stale(c->q->sn, c->gen));
}

redisReply *qcmd(struct mlc_redis *c, int argc, const char **argv, const size_t *argvlen)
{
    if (mlc_redis_broken(c)) {
        c->broken = true; /* a connection to a former primary (Sentinel switched) */
        return NULL;
    }
    redisReply *r = redisCommandArgv(c->ctx, argc, argv, argvlen);
    if (!r)
        c->broken = true;
    else if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "READONLY", 8) == 0)
        c->broken = true; /* the primary was demoted under us: reconnect through Sentinel */
    return r;
}

static json_t *to_json(const redisReply *r)
{
    switch (r->type) {
    case REDIS_REPLY_INTEGER:
        return json_integer(r->integer);
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        return json_stringn_nocheck(r->str, r->len);
    case REDIS_REPLY_ARRAY: {
        json_t *a = json_array();
        for (size_t i = 0; i < r->elements; i++)
            json_array_append_new(a, to_json(r->element[i]));
        return a;
    }
    default:
        return json_null();
    }
}

enum mlc_rc mlc_redis_exec(struct mlc_redis *c, json_t **out, char *err, size_t errsz, int argc,
                           const char **argv)
{
    if (out)
        *out = NULL;
    redisReply *r = qcmd(c, argc, argv, NULL);
    if (!r) {
        snprintf(err, errsz, "Redis connection lost");
        return MLC_EUNAVAIL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errsz, "%s", r->str);
        freeReplyObject(r);
        return MLC_ERR;
    }
    if (out)
        *out = to_json(r);
    freeReplyObject(r);
    return MLC_OK;
}

struct mlc_redis *pool_get(struct mlc_queue *q)
{
    pthread_mutex_lock(&q->mu);
    if (q->npool) {
        struct mlc_redis *c = q->pool[--q->npool];
        pthread_mutex_unlock(&q->mu);
        return c;
    }
    int64_t now = mlc_mono_ms();
    if (now < q->down_until_ms) {
        pthread_mutex_unlock(&q->mu);
        return NULL;
    }
    pthread_mutex_unlock(&q->mu);
    struct mlc_redis *c = NULL;
    char err[256];
    if (mlc_redis_connect(q, &c, err, sizeof err) != MLC_OK) {
        pthread_mutex_lock(&q->mu);
        q->down_backoff_ms = q->down_backoff_ms ? q->down_backoff_ms * 2 : 50;
        if (q->down_backoff_ms > 1000)
            q->down_backoff_ms = 1000;
        q->down_until_ms = mlc_mono_ms() + q->down_backoff_ms;
        pthread_mutex_unlock(&q->mu);
        atomic_store(&q->healthy, false);
        mlc_log(MLC_LOG_WARN, "redis unavailable: %s", err);
        return NULL;
    }
    pthread_mutex_lock(&q->mu);
    q->down_backoff_ms = 0;
    pthread_mutex_unlock(&q->mu);
    return c;
}

void pool_put(struct mlc_queue *q, struct mlc_redis *c)
{
    if (!c)
        return;
    if (mlc_redis_broken(c)) {
        mlc_redis_free(c);
        atomic_store(&q->healthy, false);
        return;
    }
    pthread_mutex_lock(&q->mu);
    if (q->npool == q->cappool) {
        q->cappool = q->cappool ? q->cappool * 2 : 8;
        q->pool = mlc_realloc(q->pool, q->cappool * sizeof *q->pool);
    }
    q->pool[q->npool++] = c;
    pthread_mutex_unlock(&q->mu);
}

bool mlc_queue_healthy(struct mlc_queue *q)
{
    int64_t now = mlc_mono_ms();
    if (now - atomic_load(&q->health_checked_ms) < 500)
        return atomic_load(&q->healthy);
    atomic_store(&q->health_checked_ms, now);
    struct mlc_redis *c = pool_get(q);
    bool ok = false;
    if (c) {
        const char *argv[1] = {"PING"};
        redisReply *r = qcmd(c, 1, argv, NULL);
        ok = r && r->type != REDIS_REPLY_ERROR;
        if (r)
            freeReplyObject(r);
        pool_put(q, c);
    }
    atomic_store(&q->healthy, ok);
    return ok;
}
