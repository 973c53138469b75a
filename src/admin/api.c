/* The /v1/ admin API behind `Authorization: Bearer` (MLC_ADMIN_TOKENS, compared in constant time):
 * status, records (state and history), audit, sync of one record, DLQ and lanes. */
#include "mlc/admin.h"
#include "mlc/app.h"
#include "mlc/config.h"
#include "mlc/crypto.h"
#include "mlc/log.h"
#include "mlc/netsuite.h"
#include "mlc/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUDIT_MAX 10000

static bool authorized(struct mlc_app *app, struct mlc_request *r)
{
    const char *h = mlc_request_header(r, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *tok = h + 7;
    char **toks = NULL;
    pthread_mutex_lock(&app->admin_mu);
    size_t n = mlc_list_split(app->admin_tokens ? app->admin_tokens
                                                : mlc_config_str(&app->cfg, MLC_CFG_ADMIN_TOKENS),
                              &toks);
    pthread_mutex_unlock(&app->admin_mu);
    bool ok = false;
    for (size_t i = 0; i < n; i++)
        ok |= toks[i][0] && mlc_ct_equal(tok, strlen(tok), toks[i], strlen(toks[i]));
    mlc_strv_free(toks, n);
    return ok;
}

static json_t *cmd(struct mlc_redis *c, int argc, const char **argv)
{
    json_t *v = NULL;
    char err[128];
    if (mlc_redis_exec(c, &v, err, sizeof err, argc, argv) != MLC_OK)
        return NULL;
    return v;
}

static long long int_of(struct mlc_redis *c, int argc, const char **argv)
{
    json_t *v = cmd(c, argc, argv);
    long long n = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
    json_decref(v);
    return n;
}

static json_t *status(struct mlc_app *app, struct mlc_redis *c)
{
    struct mlc_queue *q = app->queue;
    char k[160];
    json_t *queues = json_object();
    for (int l = 0; l < MLC_LANE__COUNT; l++) {
        mlc_queue_key(q, k, sizeof k, "q:%s", mlc_lane_name((enum mlc_lane)l));
        const char *a[] = {"XLEN", k};
        bool paused = false;
        char why[256] = "";
        mlc_queue_lane_paused(q, c, (enum mlc_lane)l, &paused, why, sizeof why);
        json_object_set_new(queues, mlc_lane_name((enum mlc_lane)l),
                            json_pack("{s:I, s:b, s:s?}", "depth", (json_int_t)int_of(c, 2, a),
                                      "paused", paused, "pausedBecause", paused ? why : NULL));
    }
    mlc_queue_key(q, k, sizeof k, "q:retry");
    const char *zc[] = {"ZCARD", k};
    long long retry = int_of(c, 2, zc);
    mlc_queue_key(q, k, sizeof k, "q:dlq");
    const char *xl[] = {"XLEN", k};
    long long dlq = int_of(c, 2, xl);
    json_t *last = NULL;
    mlc_dlq_list(q, c, 5, &last);
    json_t *poller = json_object();
    int64_t now = mlc_now_ms();
    for (int t = 0; t < MLC_NS__TYPES; t++) {
        mlc_queue_key(q, k, sizeof k, "poll:wm:%s", mlc_ns_type_name((enum mlc_ns_type)t));
        const char *g[] = {"GET", k};
        json_t *v = cmd(c, 2, g);
        uint64_t wm = 0;
        if (json_is_string(v) && mlc_parse_u64(json_string_value(v), &wm) == MLC_OK) {
            char iso[40];
            mlc_fmt_rfc3339((int64_t)wm, iso, sizeof iso);
            json_object_set_new(poller, mlc_ns_type_name((enum mlc_ns_type)t),
                                json_pack("{s:s, s:f}", "watermark", iso, "lagSeconds",
                                          (double)(now - (int64_t)wm) / 1000.0));
        }
        json_decref(v);
    }
    mlc_queue_key(q, k, sizeof k, "netsuite:auth:status");
    const char *ga[] = {"GET", k};
    json_t *auth = cmd(c, 2, ga);
    json_t *auth_obj = json_is_string(auth) ? json_loads(json_string_value(auth), 0, NULL) : NULL;
    json_decref(auth);
    mlc_queue_key(q, k, sizeof k, "audit");
    const char *al[] = {"XLEN", k};
    return json_pack("{s:s, s:I, s:o, s:I, s:I, s:o, s:o, s:{s:o?}, s:I, s:b, s:o}", "version",
                     MLC_VERSION, "uptimeSeconds", (json_int_t)((now - app->started_ms) / 1000),
                     "queues", queues, "retrying", (json_int_t)retry, "deadLettered",
                     (json_int_t)dlq, "lastErrors", last ? last : json_array(), "poller", poller,
                     "tokens", "netsuite", auth_obj, "auditEntries", (json_int_t)int_of(c, 2, al),
                     "syncing", app->sync != NULL, "checks", json_array());
}

/* "/v1/records/customer/123" -> state and history */
static void record(struct mlc_app *app, struct mlc_redis *c, struct mlc_request *r,
                   const char *type, const char *id)
{
    uint64_t n;
    if (mlc_ns_type_parse(type) < 0 || mlc_parse_u64(id, &n) != MLC_OK || n == 0) {
        mlc_reply_problem(r, "invalid_field",
                          "the path is /v1/records/{customer|contact|salesorder}/{id}");
        return;
    }
    char k[160], h[160];
    mlc_queue_key(app->queue, k, sizeof k, "state:%s:%llu", type, (unsigned long long)n);
    mlc_queue_key(app->queue, h, sizeof h, "hist:%s:%llu", type, (unsigned long long)n);
    const char *hg[] = {"HGETALL", k};
    const char *lr[] = {"LRANGE", h, "0", "-1"};
    json_t *st = cmd(c, 2, hg), *hist = cmd(c, 4, lr);
    if (!st || !hist) {
        json_decref(st);
        json_decref(hist);
        mlc_reply_problem(r, "queue_unavailable", "Redis failed");
        return;
    }
    if (json_array_size(st) == 0 && json_array_size(hist) == 0) {
        json_decref(st);
        json_decref(hist);
        mlc_reply_problem(r, "not_found", "no state or history for %s %llu", type,
                          (unsigned long long)n);
        return;
    }
    json_t *state = json_object();
    for (size_t i = 0; i + 1 < json_array_size(st); i += 2) {
        const char *f = json_string_value(json_array_get(st, i));
        const char *v = json_string_value(json_array_get(st, i + 1));
        if (!f || !v)
            continue;
        json_t *parsed = NULL;
        if (strcmp(f, "p") == 0 || strcmp(f, "exc") == 0)
            parsed = json_loads(v, 0, NULL);
        json_object_set_new(state, f, parsed ? parsed : json_string(v));
    }
    json_t *entries = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(hist, i, e)
    {
        const char *s = json_string_value(e);
        const char *sp = s ? strchr(s, ' ') : NULL;
        json_t *x = sp ? json_loads(sp + 1, 0, NULL) : NULL;
        if (x) {
            json_object_set_new(x, "id", json_stringn(s, (size_t)(sp - s)));
            json_array_append_new(entries, x);
        }
    }
    json_decref(st);
    json_decref(hist);
    mlc_reply_json(r, 200,
                   json_pack("{s:s, s:s, s:o, s:o}", "type", type, "id", id, "state", state,
                             "history", entries));
}

static bool match(json_t *e, const char *field, const char *want)
{
    return !want || (json_string_value(json_object_get(e, field)) &&
                     strcmp(json_string_value(json_object_get(e, field)), want) == 0);
}

static void audit(struct mlc_app *app, struct mlc_redis *c, struct mlc_request *r)
{
    const char *since = mlc_request_query(r, "since");
    const char *type = mlc_request_query(r, "type");
    const char *action = mlc_request_query(r, "action");
    const char *rec = mlc_request_query(r, "record");
    const char *limit_s = mlc_request_query(r, "limit");
    const char *format = mlc_request_query(r, "format");
    uint64_t limit = 1000;
    int64_t since_ms = 0;
    if (limit_s && (mlc_parse_u64(limit_s, &limit) != MLC_OK || limit == 0 || limit > AUDIT_MAX)) {
        mlc_reply_problem(r, "invalid_field", "limit must be 1..%d", AUDIT_MAX);
        return;
    }
    if (since && mlc_parse_rfc3339(since, &since_ms) != MLC_OK) {
        mlc_reply_problem(r, "invalid_field", "since must be an RFC 3339 date-time");
        return;
    }
    if (format && strcmp(format, "json") != 0 && strcmp(format, "jsonl") != 0) {
        mlc_reply_problem(r, "invalid_field", "format must be json or jsonl");
        return;
    }
    if (type && mlc_ns_type_parse(type) < 0) {
        mlc_reply_problem(r, "invalid_field", "type must be customer, contact or salesorder");
        return;
    }
    char k[160], start[32];
    mlc_queue_key(app->queue, k, sizeof k, "audit");
    snprintf(start, sizeof start, "%lld", (long long)since_ms);
    /* oldest first from since; scan at most AUDIT_MAX entries per request */
    char count[16];
    snprintf(count, sizeof count, "%d", AUDIT_MAX);
    const char *xr[] = {"XRANGE", k, since ? start : "-", "+", "COUNT", count};
    json_t *v = cmd(c, 6, xr);
    if (!v) {
        mlc_reply_problem(r, "queue_unavailable", "Redis failed");
        return;
    }
    json_t *out = json_array();
    size_t i;
    json_t *ent;
    json_array_foreach(v, i, ent)
    {
        json_t *fields = json_array_get(ent, 1);
        const char *text = NULL;
        for (size_t f = 0; f + 1 < json_array_size(fields); f += 2)
            if (json_string_value(json_array_get(fields, f)) &&
                strcmp(json_string_value(json_array_get(fields, f)), "e") == 0)
                text = json_string_value(json_array_get(fields, f + 1));
        json_t *e = text ? json_loads(text, 0, NULL) : NULL;
        if (!e)
            continue;
        if (match(e, "type", type) && match(e, "action", action) && match(e, "nsId", rec)) {
            json_object_set(e, "id", json_array_get(ent, 0));
            json_array_append(out, e);
        }
        json_decref(e);
        if (json_array_size(out) >= limit)
            break;
    }
    json_decref(v);
    const char *accept = mlc_request_header(r, "Accept");
    bool lines = (format && strcmp(format, "jsonl") == 0) ||
                 (!format && accept && strstr(accept, "application/x-ndjson"));
    if (!lines) {
        mlc_reply_json(r, 200, json_pack("{s:o}", "entries", out));
        return;
    }
    struct mlc_buf b;
    mlc_buf_init(&b, 256u << 20);
    json_array_foreach(out, i, ent)
    {
        char *s = json_dumps(ent, JSON_COMPACT);
        if (s)
            mlc_buf_printf(&b, "%s\n", s);
        free(s);
    }
    mlc_reply_text(r, 200, "application/x-ndjson", b.data ? b.data : "", b.len);
    mlc_buf_free(&b);
    json_decref(out);
}

static void sync_one(struct mlc_app *app, struct mlc_redis *c, struct mlc_request *r,
                     const char *type, const char *id)
{
    uint64_t n;
    if (mlc_ns_type_parse(type) < 0 || mlc_parse_u64(id, &n) != MLC_OK || n == 0) {
        mlc_reply_problem(r, "invalid_field",
                          "the path is /v1/sync/{customer|contact|salesorder}/{id}");
        return;
    }
    if (!app->sync) {
        mlc_reply_problem(r, "invalid_field", "the sync engine is not configured on this replica");
        return;
    }
    char rec[128], ids[24]; /* type is one of customer|contact|salesorder (checked above) */
    snprintf(rec, sizeof rec, "%.32s:%llu", type, (unsigned long long)n);
    snprintf(ids, sizeof ids, "%llu", (unsigned long long)n);
    json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:b}", "recordType", type, "recordId", ids, "op",
                             "change", "source", "admin", "force", 1);
    struct mlc_job_spec spec = {
        .lane = MLC_LANE_LIVE, .kind = type, .record = rec, .dedupe = NULL, .data = data};
    enum mlc_enqueue_outcome o;
    enum mlc_rc rc = mlc_queue_enqueue_on(app->queue, c, &spec, 1, &o);
    json_decref(data);
    if (rc == MLC_ENOMEM) {
        mlc_reply_problem(r, "queue_full", "the live stream is at MLC_QUEUE_MAX_BACKLOG");
        return;
    }
    if (rc != MLC_OK) {
        mlc_reply_problem(r, "queue_unavailable", "Redis is unreachable");
        return;
    }
    mlc_reply_json(r, 202,
                   json_pack("{s:s, s:s, s:s}", "type", type, "id", ids, "outcome",
                             o == MLC_ENQ_COALESCED ? "coalesced" : "enqueued"));
}

static void dispatch(struct mlc_request *r, void *ud)
{
    struct mlc_app *app = ud;
    if (!authorized(app, r)) {
        mlc_reply_header(r, "WWW-Authenticate", "Bearer realm=\"ml-connector\"");
        mlc_reply_problem(r, "unauthorized", "a valid `Authorization: Bearer` token is required");
        return;
    }
    const char *path = mlc_request_path(r);
    const char *m = mlc_request_method(r);
    char seg[5][96];
    size_t ns = 0;
    const char *p = path + 4; /* after "/v1/" */
    while (*p && ns < 5) {
        size_t l = strcspn(p, "/");
        if (l == 0 || l >= sizeof seg[0]) {
            mlc_reply_problem(r, "not_found", "no such resource");
            return;
        }
        snprintf(seg[ns++], sizeof seg[0], "%.*s", (int)l, p);
        p += l;
        if (*p == '/')
            p++;
    }
    if (*p) {
        mlc_reply_problem(r, "not_found", "no such resource");
        return;
    }
    struct mlc_redis *c = NULL;
    char err[256];
    if (mlc_redis_connect(app->queue, &c, err, sizeof err) != MLC_OK) {
        mlc_reply_problem(r, "queue_unavailable", "Redis is unreachable");
        return;
    }
    bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
    if (ns == 1 && strcmp(seg[0], "status") == 0 && get) {
        json_t *st = status(app, c);
        mlc_reply_json(r, 200, st);
    } else if (ns == 3 && strcmp(seg[0], "records") == 0 && get) {
        record(app, c, r, seg[1], seg[2]);
    } else if (ns == 1 && strcmp(seg[0], "audit") == 0 && get) {
        audit(app, c, r);
    } else if (ns == 3 && strcmp(seg[0], "sync") == 0 && post) {
        sync_one(app, c, r, seg[1], seg[2]);
    } else if (ns == 1 && strcmp(seg[0], "dlq") == 0 && get) {
        json_t *out = NULL;
        if (mlc_dlq_list(app->queue, c, 1000, &out) == MLC_OK)
            mlc_reply_json(r, 200, json_pack("{s:o}", "entries", out));
        else
            mlc_reply_problem(r, "queue_unavailable", "Redis failed");
    } else if (ns == 3 && strcmp(seg[0], "dlq") == 0 && strcmp(seg[2], "replay") == 0 && post) {
        size_t n = 0;
        bool by_fp = strcmp(seg[1], "fingerprint") == 0;
        const char *fp = by_fp ? mlc_request_query(r, "fingerprint") : NULL;
        enum mlc_rc rc = by_fp && !fp
                             ? MLC_EINVAL
                             : mlc_dlq_replay(app->queue, c, by_fp ? NULL : seg[1], fp, &n);
        if (rc == MLC_OK)
            mlc_reply_json(r, 200, json_pack("{s:I}", "replayed", (json_int_t)n));
        else if (rc == MLC_ENOTFOUND)
            mlc_reply_problem(r, "not_found", "no such dead-lettered job");
        else if (rc == MLC_EINVAL)
            mlc_reply_problem(r, "invalid_field", "not a valid entry id or fingerprint");
        else
            mlc_reply_problem(r, "queue_unavailable", "Redis failed");
    } else if (ns == 3 && strcmp(seg[0], "lanes") == 0 && post &&
               (strcmp(seg[2], "pause") == 0 || strcmp(seg[2], "resume") == 0)) {
        int lane = mlc_lane_parse(seg[1]);
        bool pause = strcmp(seg[2], "pause") == 0;
        if (lane < 0) {
            mlc_reply_problem(r, "invalid_field", "the lane is live or bulk");
        } else if (mlc_queue_lane_set_paused(app->queue, c, (enum mlc_lane)lane, pause,
                                             pause ? "paused through the admin API" : NULL) ==
                   MLC_OK) {
            mlc_log(MLC_LOG_WARN, "admin: lane %s %s", seg[1], pause ? "paused" : "resumed");
            mlc_reply_json(r, 200, json_pack("{s:s, s:b}", "lane", seg[1], "paused", pause));
        } else {
            mlc_reply_problem(r, "queue_unavailable", "Redis failed");
        }
    } else {
        mlc_reply_problem(r, "not_found", "no admin resource %s %s", m, path);
    }
    mlc_redis_free(c);
}

size_t mlc_admin_api_routes(struct mlc_app *app, struct mlc_route *routes, size_t max)
{
    if (max < 1 || !mlc_config_str(&app->cfg, MLC_CFG_ADMIN_TOKENS))
        return 0;
    routes[0] = (struct mlc_route){.path = "/v1/*",
                                   .methods = "GET,POST",
                                   .name = "admin",
                                   .max_body = 65536,
                                   .fn = dispatch,
                                   .ud = app};
    return 1;
}
