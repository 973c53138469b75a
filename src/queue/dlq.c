/* Dead-letter stream administration: list, show, replay (by id or fingerprint), purge. */
#include "internal.h"
#include "mlc/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *entry_json(const redisReply *e)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(e->element[0]->str));
    const redisReply *f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        if (f->element[i]->type != REDIS_REPLY_STRING ||
            f->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        const char *k = f->element[i]->str;
        const char *v = f->element[i + 1]->str;
        if (strcmp(k, "j") == 0) {
            json_t *job = json_loads(v, 0, NULL);
            json_object_set_new(o, "job", job ? job : json_string(v));
        } else if (strcmp(k, "fp") == 0) {
            json_object_set_new(o, "fingerprint", json_string(v));
        } else if (strcmp(k, "at") == 0) {
            char ts[40];
            mlc_fmt_rfc3339(strtoll(v, NULL, 10), ts, sizeof ts);
            json_object_set_new(o, "failed_at", json_string(ts));
        } else {
            json_object_set_new(o, k, json_stringn_nocheck(v, f->element[i + 1]->len));
        }
    }
    return o;
}

/* Reads up to count entries after (exclusive) start into *arr; returns the last id seen. */
static enum mlc_rc range(struct mlc_queue *q, struct mlc_redis *c, const char *start,
                         const char *end, size_t count, json_t *arr, char *last, size_t lastsz)
{
    char key[256], cnt[24];
    mlc_queue_key(q, key, sizeof key, "q:dlq");
    snprintf(cnt, sizeof cnt, "%zu", count);
    const char *argv[] = {"XRANGE", key, start, end, "COUNT", cnt};
    redisReply *r = qcmd(c, 6, argv, NULL);
    if (!r)
        return MLC_EUNAVAIL;
    if (r->type == REDIS_REPLY_ERROR) {
        freeReplyObject(r);
        return MLC_EINVAL;
    }
    if (last)
        last[0] = '\0';
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++) {
            json_t *e = entry_json(r->element[i]);
            if (!e)
                continue;
            if (last)
                snprintf(last, lastsz, "%s", json_string_value(json_object_get(e, "id")));
            json_array_append_new(arr, e);
        }
    }
    freeReplyObject(r);
    return MLC_OK;
}

enum mlc_rc mlc_dlq_list(struct mlc_queue *q, struct mlc_redis *c, size_t limit, json_t **out)
{
    *out = json_array();
    return range(q, c, "-", "+", limit, *out, NULL, 0);
}

enum mlc_rc mlc_dlq_show(struct mlc_queue *q, struct mlc_redis *c, const char *id, json_t **out)
{
    json_t *arr = json_array();
    enum mlc_rc rc = range(q, c, id, id, 1, arr, NULL, 0);
    *out = NULL;
    if (rc == MLC_OK) {
        if (json_array_size(arr) == 0)
            rc = MLC_ENOTFOUND;
        else
            *out = json_incref(json_array_get(arr, 0));
    }
    json_decref(arr);
    return rc;
}

static enum mlc_rc replay_one(struct mlc_queue *q, struct mlc_redis *c, json_t *e, bool *done)
{
    *done = false;
    json_t *job = json_object_get(e, "job");
    const char *lane = json_string_value(json_object_get(e, "lane"));
    if (!json_is_object(job) || !lane || mlc_lane_parse(lane) < 0) {
        mlc_log(MLC_LOG_WARN, "DLQ entry %s cannot be replayed (unreadable job)",
                json_string_value(json_object_get(e, "id")));
        return MLC_OK;
    }
    json_t *env = json_deep_copy(job);
    json_object_set_new(env, "attempts", json_integer(0));
    json_object_set_new(env, "replayed", json_integer(mlc_now_ms()));
    json_object_del(env, "last_error");
    json_object_del(env, "retry_ms");
    json_object_set_new(env, "lane", json_string(lane));
    char *payload = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    const char *argv[] = {q->prefix, json_string_value(json_object_get(e, "id")), lane, payload};
    redisReply *r = qscript(c, SCRIPT_REPLAY, 4, argv, NULL);
    free(payload);
    if (!r)
        return MLC_EUNAVAIL;
    *done = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return MLC_OK;
}

static void resume_lanes_paused_by(struct mlc_queue *q, struct mlc_redis *c, const char *fp)
{
    for (int l = 0; l < MLC_LANE__COUNT; l++) {
        bool paused = false;
        char why[512];
        if (mlc_queue_lane_paused(q, c, (enum mlc_lane)l, &paused, why, sizeof why) != MLC_OK ||
            !paused)
            continue;
        json_t *o = json_loads(why, 0, NULL);
        const char *pfp = json_string_value(json_object_get(o, "fingerprint"));
        if (pfp && strcmp(pfp, fp) == 0) {
            mlc_queue_lane_set_paused(q, c, (enum mlc_lane)l, false, NULL);
            char key[256];
            mlc_queue_key(q, key, sizeof key, "q:cb:%s:%s", mlc_lane_name((enum mlc_lane)l), fp);
            const char *argv[] = {"DEL", key};
            redisReply *r = qcmd(c, 2, argv, NULL);
            if (r)
                freeReplyObject(r);
            mlc_log(MLC_LOG_INFO, "lane %s resumed after replay of fingerprint %s",
                    mlc_lane_name((enum mlc_lane)l), fp);
        }
        json_decref(o);
    }
}

enum mlc_rc mlc_dlq_replay(struct mlc_queue *q, struct mlc_redis *c, const char *id,
                           const char *fingerprint, size_t *replayed)
{
    *replayed = 0;
    enum mlc_rc rc;
    if (id) {
        json_t *e = NULL;
        if ((rc = mlc_dlq_show(q, c, id, &e)) != MLC_OK)
            return rc;
        bool done;
        rc = replay_one(q, c, e, &done);
        *replayed += done;
        json_decref(e);
        return rc;
    }
    /* Resume first: replayed jobs must not sit behind a pause the fix has made moot. */
    resume_lanes_paused_by(q, c, fingerprint);
    char start[80] = "-";
    for (;;) {
        json_t *arr = json_array();
        char last[64];
        if ((rc = range(q, c, start, "+", 500, arr, last, sizeof last)) != MLC_OK) {
            json_decref(arr);
            return rc;
        }
        size_t i;
        json_t *e;
        json_array_foreach(arr, i, e)
        {
            const char *fp = json_string_value(json_object_get(e, "fingerprint"));
            if (!fp || strcmp(fp, fingerprint) != 0)
                continue;
            bool done;
            if ((rc = replay_one(q, c, e, &done)) != MLC_OK) {
                json_decref(arr);
                return rc;
            }
            *replayed += done;
        }
        size_t n = json_array_size(arr);
        json_decref(arr);
        if (n < 500 || !*last)
            break;
        snprintf(start, sizeof start, "(%s", last);
    }
    return MLC_OK;
}

enum mlc_rc mlc_dlq_purge(struct mlc_queue *q, struct mlc_redis *c, const char *id,
                          size_t *purged)
{
    char key[256];
    mlc_queue_key(q, key, sizeof key, "q:dlq");
    redisReply *r;
    if (id) {
        const char *argv[] = {"XDEL", key, id};
        r = qcmd(c, 3, argv, NULL);
    } else {
        const char *len[] = {"XLEN", key};
        r = qcmd(c, 2, len, NULL);
        if (!r)
            return MLC_EUNAVAIL;
        long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
        freeReplyObject(r);
        const char *argv[] = {"DEL", key};
        r = qcmd(c, 2, argv, NULL);
        if (r && r->type == REDIS_REPLY_INTEGER)
            r->integer = n;
    }
    if (!r)
        return MLC_EUNAVAIL;
    *purged = r->type == REDIS_REPLY_INTEGER ? (size_t)r->integer : 0;
    freeReplyObject(r);
    return MLC_OK;
}
