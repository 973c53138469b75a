/* Leases (one owner, e.g. the poller leader) and counting semaphores with leased slots (our share
 * of an API's concurrency) shared by every replica through Redis. */
#include "mlc/queue.h"

#include <stdio.h>
#include <string.h>

static const char lease_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end\n"
    "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
    "return 0\n";

static const char unlease_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

/* Expired slots are dropped first; the server's clock decides. */
static const char sem_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
    "if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then\n"
    "  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])\n"
    "  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

static enum mlc_rc eval_int(struct mlc_redis *c, const char *script, const char *key,
                            const char *a1, const char *a2, const char *a3, long long *out)
{
    const char *argv[7] = {"EVAL", script, "1", key, a1, a2, a3};
    int argc = a3 ? 7 : a2 ? 6 : 5;
    json_t *r = NULL;
    char err[256];
    enum mlc_rc rc = mlc_redis_exec(c, &r, err, sizeof err, argc, argv);
    if (rc == MLC_OK) {
        if (json_is_integer(r))
            *out = (long long)json_integer_value(r);
        else
            rc = MLC_ERR;
    }
    json_decref(r);
    return rc;
}

/* Runs a script on the key <kind>:<name>; *yes (may be NULL): it answered 1. */
static enum mlc_rc run(struct mlc_queue *q, struct mlc_redis *c, const char *script,
                       const char *kind, const char *name, const char *a1, const char *a2,
                       const char *a3, bool *yes)
{
    char key[256];
    mlc_queue_key(q, key, sizeof key, "%s:%s", kind, name);
    long long v = 0;
    enum mlc_rc rc = eval_int(c, script, key, a1, a2, a3, &v);
    if (yes)
        *yes = rc == MLC_OK && v == 1;
    return rc;
}

enum mlc_rc mlc_lease_acquire(struct mlc_queue *q, struct mlc_redis *c, const char *name,
                              const char *owner, int64_t ttl_ms, bool *held)
{
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%lld", (long long)(ttl_ms > 0 ? ttl_ms : 1));
    return run(q, c, lease_lua, "lease", name, owner, ttl, NULL, held);
}

enum mlc_rc mlc_lease_release(struct mlc_queue *q, struct mlc_redis *c, const char *name,
                              const char *owner)
{
    return run(q, c, unlease_lua, "lease", name, owner, NULL, NULL, NULL);
}

enum mlc_rc mlc_sem_try_acquire(struct mlc_queue *q, struct mlc_redis *c, const char *name,
                                long long cap, int64_t lease_ms, const char *holder, bool *got)
{
    char caps[24], ttl[24];
    snprintf(caps, sizeof caps, "%lld", cap);
    snprintf(ttl, sizeof ttl, "%lld", (long long)(lease_ms > 0 ? lease_ms : 1));
    return run(q, c, sem_lua, "sem", name, caps, ttl, holder, got);
}

enum mlc_rc mlc_sem_release(struct mlc_queue *q, struct mlc_redis *c, const char *name,
                            const char *holder)
{
    char key[256];
    mlc_queue_key(q, key, sizeof key, "sem:%s", name);
    const char *argv[] = {"ZREM", key, holder};
    return mlc_redis_exec(c, NULL, NULL, 0, 3, argv);
}
