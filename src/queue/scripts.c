/* Lua scripts that make each multi-key queue step atomic and one round trip; run by SHA. */
#include "internal.h"
#include "mlc/crypto.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ARGV: prefix, dedupe ttl, max backlog, n, then per job: lane, record, dedupe id, payload.
 * Returns -1 when a stream is at the backlog limit (nothing written), else per job
 * 0 added, 1 coalesced into a waiting job, 2 duplicate delivery. */
static const char enqueue_lua[] =
    "local p, ttl, maxb, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local seen = {}\n"
    "for i = 0, n - 1 do\n"
    "  local lane = ARGV[5 + i * 4]\n"
    "  if not seen[lane] then\n"
    "    seen[lane] = true\n"
    "    if redis.call('XLEN', p .. 'q:' .. lane) >= maxb then return -1 end\n"
    "  end\n"
    "end\n"
    "local out = {}\n"
    "for i = 0, n - 1 do\n"
    "  local lane, rec, dd, payload = ARGV[5+i*4], ARGV[6+i*4], ARGV[7+i*4], ARGV[8+i*4]\n"
    "  local res = 0\n"
    "  if dd ~= '' and not redis.call('SET', p .. 'dd:' .. dd, '1', 'NX', 'EX', ttl) then\n"
    "    res = 2\n"
    "  elseif rec ~= '' and redis.call('EXISTS', p .. 'q:w:' .. lane .. ':' .. rec) == 1 then\n"
    "    res = 1\n"
    "  else\n"
    "    local id = redis.call('XADD', p .. 'q:' .. lane, '*', 'j', payload)\n"
    "    if rec ~= '' then redis.call('SET', p .. 'q:w:' .. lane .. ':' .. rec, id, 'EX', 3600) "
    "end\n"
    "  end\n"
    "  out[#out + 1] = res\n"
    "end\n"
    "return out\n";

/* ARGV: prefix, lane, entry id, record. Clears the coalescing marker (later changes need a new
 * job) and counts the delivery. Returns the delivery count. */
static const char start_lua[] =
    "if ARGV[4] ~= '' then\n"
    "  local k = ARGV[1] .. 'q:w:' .. ARGV[2] .. ':' .. ARGV[4]\n"
    "  if redis.call('GET', k) == ARGV[3] then redis.call('DEL', k) end\n"
    "end\n"
    "return redis.call('HINCRBY', ARGV[1] .. 'q:deliv', ARGV[3], 1)\n";

/* ARGV: prefix, lane, entry id. */
static const char ack_lua[] = "local s = ARGV[1] .. 'q:' .. ARGV[2]\n"
                              "redis.call('XACK', s, 'mlc', ARGV[3])\n"
                              "redis.call('XDEL', s, ARGV[3])\n"
                              "redis.call('HDEL', ARGV[1] .. 'q:deliv', ARGV[3])\n"
                              "return 1\n";

/* ARGV: prefix, lane, entry id, due ms, payload. */
static const char retry_lua[] = "local s = ARGV[1] .. 'q:' .. ARGV[2]\n"
                                "redis.call('ZADD', ARGV[1] .. 'q:retry', ARGV[4], ARGV[5])\n"
                                "redis.call('XACK', s, 'mlc', ARGV[3])\n"
                                "redis.call('XDEL', s, ARGV[3])\n"
                                "redis.call('HDEL', ARGV[1] .. 'q:deliv', ARGV[3])\n"
                                "return 1\n";

/* ARGV: prefix, lane, entry id, dlq cap, payload, reason, fingerprint, kind, at. */
static const char dead_lua[] =
    "local s = ARGV[1] .. 'q:' .. ARGV[2]\n"
    "redis.call('XADD', ARGV[1] .. 'q:dlq', 'MAXLEN', '~', ARGV[4], '*', 'j', ARGV[5],\n"
    "  'reason', ARGV[6], 'fp', ARGV[7], 'kind', ARGV[8], 'lane', ARGV[2], 'at', ARGV[9],\n"
    "  'orig', ARGV[3])\n"
    "if ARGV[3] ~= '' then\n"
    "  redis.call('XACK', s, 'mlc', ARGV[3])\n"
    "  redis.call('XDEL', s, ARGV[3])\n"
    "  redis.call('HDEL', ARGV[1] .. 'q:deliv', ARGV[3])\n"
    "end\n"
    "return 1\n";

/* ARGV: prefix, now ms, limit. Moves due retries to their lane's stream. */
static const char due_lua[] =
    "local z = ARGV[1] .. 'q:retry'\n"
    "local items = redis.call('ZRANGEBYSCORE', z, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))\n"
    "for _, m in ipairs(items) do\n"
    "  local ok, job = pcall(cjson.decode, m)\n"
    "  local lane = 'live'\n"
    "  if ok and type(job) == 'table' and job['lane'] == 'bulk' then lane = 'bulk' end\n"
    "  redis.call('XADD', ARGV[1] .. 'q:' .. lane, '*', 'j', m)\n"
    "  redis.call('ZREM', z, m)\n"
    "end\n"
    "return #items\n";

/* ARGV: prefix, lane, fingerprint, now ms, window ms, threshold, job identity.
 * Returns 1 when this failure tripped the breaker (lane paused, alert counted), 2 when the lane
 * is already paused by this fingerprint, 0 otherwise. */
static const char breaker_lua[] =
    "local k = ARGV[1] .. 'q:cb:' .. ARGV[2] .. ':' .. ARGV[3]\n"
    "local now, win, th = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "redis.call('ZADD', k, now, ARGV[7])\n"
    "redis.call('ZREMRANGEBYSCORE', k, '-inf', now - win)\n"
    "redis.call('PEXPIRE', k, win)\n"
    "local pk = ARGV[1] .. 'q:paused:' .. ARGV[2]\n"
    "local cur = redis.call('GET', pk)\n"
    "if cur then\n"
    "  local ok, o = pcall(cjson.decode, cur)\n"
    "  if ok and type(o) == 'table' and o['fingerprint'] == ARGV[3] then return 2 end\n"
    "  return 0\n"
    "end\n"
    "if th > 0 and redis.call('ZCARD', k) >= th then\n"
    "  redis.call('SET', pk, cjson.encode({fingerprint = ARGV[3], since = now,\n"
    "    reason = 'circuit breaker: ' .. redis.call('ZCARD', k) .. ' jobs failed alike'}))\n"
    "  redis.call('HINCRBY', ARGV[1] .. 'q:alerts', ARGV[3], 1)\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

/* ARGV: prefix, dlq entry id, lane, payload. XDEL first so two replays never both enqueue. */
static const char replay_lua[] =
    "if redis.call('XDEL', ARGV[1] .. 'q:dlq', ARGV[2]) == 0 then\n"
    "  return 0\n"
    "end\n"
    "redis.call('XADD', ARGV[1] .. 'q:' .. ARGV[3], '*', 'j', ARGV[4])\n"
    "return 1\n";

static const char *const scripts[SCRIPT__COUNT] = {
    [SCRIPT_ENQUEUE] = enqueue_lua, [SCRIPT_START] = start_lua,   [SCRIPT_ACK] = ack_lua,
    [SCRIPT_RETRY] = retry_lua,     [SCRIPT_DEAD] = dead_lua,     [SCRIPT_DUE] = due_lua,
    [SCRIPT_BREAKER] = breaker_lua, [SCRIPT_REPLAY] = replay_lua,
};

static char shas[SCRIPT__COUNT][41];
static pthread_once_t shas_once = PTHREAD_ONCE_INIT;

/* Redis identifies scripts by the SHA-1 of their text. */
static void compute_shas(void)
{
    for (int i = 0; i < SCRIPT__COUNT; i++)
        mlc_sha1_hex(scripts[i], strlen(scripts[i]), shas[i]);
}

redisReply *qscript(struct mlc_redis *c, enum script_id id, int argc, const char **argv,
                    const size_t *argvlen)
{
    pthread_once(&shas_once, compute_shas);
    /* Most calls are small: their argument vectors live on the stack; a group-committed
     * enqueue (4 arguments a job, hundreds of jobs) gets them from the heap. */
    enum { SMALL = 64 };
    const char *sav[SMALL + 3];
    size_t sal[SMALL + 3];
    const char **av = sav;
    size_t *al = sal;
    if (argc < 0)
        return NULL;
    if (argc > SMALL) {
        av = mlc_calloc((size_t)argc + 3, sizeof *av);
        al = mlc_calloc((size_t)argc + 3, sizeof *al);
    }
    av[0] = "EVALSHA";
    av[1] = shas[id];
    av[2] = "0";
    al[0] = 7;
    al[1] = 40;
    al[2] = 1;
    for (int i = 0; i < argc; i++) {
        av[3 + i] = argv[i];
        al[3 + i] = argvlen ? argvlen[i] : strlen(argv[i]);
    }
    redisReply *r = qcmd(c, argc + 3, av, al);
    if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(r);
        av[0] = "EVAL";
        al[0] = 4;
        av[1] = scripts[id];
        al[1] = strlen(scripts[id]);
        r = qcmd(c, argc + 3, av, al);
    }
    if (av != sav) {
        free(av);
        free(al);
    }
    return r;
}
