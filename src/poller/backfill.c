/* `ml-connector backfill`: history of one type on the bulk stream, page by page in id order, with
 * the cursor in Redis so a crashed run resumes without gaps; a progress bar with ETA on a terminal,
 * plain lines otherwise. */
#include "mlc/config.h"
#include "mlc/dayone.h"
#include "mlc/log.h"
#include "mlc/metrics.h"
#include "mlc/poller.h"
#include "mlc/queue.h"
#include "internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: ml-connector backfill --type customer|contact|salesorder --since DATE [--until DATE]\n"
    "                             [--dry-run]\n"
    "\n"
    "Enqueues every record of the type changed in [since, until) (NetSuite last-modified, UTC;\n"
    "for orders the header or a line) on the bulk stream, in id order, 1000 per NetSuite call.\n"
    "DATE: YYYY-MM-DD, 'YYYY-MM-DD HH:MM:SS' (UTC) or RFC 3339. The cursor is kept in Redis:\n"
    "running the same command again after a crash resumes where it stopped. Progress goes to\n"
    "stderr (a bar with ETA on a terminal, plain lines otherwise); the summary to stdout.\n"
    "--dry-run: syncs the records in this process without writing to Dataverse or the record\n"
    "state: every write is audited as would_create / would_update with its changes (before ->\n"
    "after) and printed; nothing is enqueued.\n";

static json_t *hgetall(struct mlc_redis *c, const char *key)
{
    const char *argv[] = {"HGETALL", key};
    json_t *r = NULL, *o = json_object();
    if (mlc_redis_exec(c, &r, NULL, 0, 2, argv) == MLC_OK && json_is_array(r))
        for (size_t i = 0; i + 1 < json_array_size(r); i += 2)
            json_object_set(o, json_string_value(json_array_get(r, i)), json_array_get(r, i + 1));
    json_decref(r);
    return o;
}

static long long field(json_t *o, const char *k)
{
    uint64_t v = 0;
    const char *s = json_string_value(json_object_get(o, k));
    return s && mlc_parse_u64(s, &v) == MLC_OK ? (long long)v : 0;
}

static void progress(bool tty, long long done, long long total, int64_t t0, long long done0)
{
    double secs = (double)(mlc_mono_ms() - t0) / 1000.0;
    double rate = secs > 0 ? (double)(done - done0) / secs : 0;
    long long eta = rate > 0 && total > done ? (long long)((double)(total - done) / rate) : 0;
    int pct = total > 0 ? (int)(100.0 * (double)done / (double)total) : 100;
    if (pct > 100)
        pct = 100;
    if (tty) {
        char bar[31];
        int fill = pct * 30 / 100;
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %3d%% %lld/%lld  %.0f/s  ETA %lldm%02llds ", bar, pct, done, total,
                rate, eta / 60, eta % 60);
    } else {
        fprintf(stderr, "backfill: %lld/%lld (%d%%), %.0f records/s, ETA %lld s\n", done, total,
                pct, rate, eta);
    }
    fflush(stderr);
}

int mlc_backfill_main(int argc, char **argv)
{
    const char *type = NULL, *since = NULL, *until = NULL;
    bool dry = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--dry-run") == 0) {
            dry = true;
            continue;
        }
        const char **slot = strcmp(argv[i], "--type") == 0    ? &type
                            : strcmp(argv[i], "--since") == 0 ? &since
                            : strcmp(argv[i], "--until") == 0 ? &until
                                                              : NULL;
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "ml-connector backfill: unknown or incomplete option %s\n\n%s", argv[i],
                    help);
            return 2;
        }
        *slot = argv[++i];
    }
    int t = mlc_ns_type_parse(type);
    int64_t since_ms = 0, until_ms = 0;
    if (t < 0 || !since) {
        fprintf(stderr,
                "ml-connector backfill: --type customer|contact|salesorder and --since "
                "are required\n\n%s",
                help);
        return 2;
    }
    if (mlc_poll_parse_date(since, &since_ms) != MLC_OK ||
        (until && mlc_poll_parse_date(until, &until_ms) != MLC_OK)) {
        fprintf(stderr, "ml-connector backfill: dates are YYYY-MM-DD, 'YYYY-MM-DD HH:MM:SS' "
                        "(UTC) or RFC 3339\n");
        return 2;
    }
    if (until && until_ms <= since_ms) {
        fprintf(stderr, "ml-connector backfill: --until must be after --since\n");
        return 2;
    }
    if (dry)
        return mlc_dryrun_backfill((enum mlc_ns_type)t, since_ms, until_ms);
    static struct mlc_config cfg;
    char err[512];
    if (mlc_config_load(&cfg, NULL, NULL, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector: configuration error: %s\n", err);
        return 2;
    }
    mlc_log_set_level(
        (enum mlc_log_level)mlc_log_level_parse(mlc_config_str(&cfg, MLC_CFG_LOG_LEVEL)));
    int rc = 1;
    struct mlc_metrics *m = mlc_metrics_new();
    struct mlc_queue *q = NULL;
    struct mlc_netsuite *ns = NULL;
    struct mlc_ns_session *s = NULL;
    struct mlc_queue_settings qs;
    mlc_queue_settings_from_config(&cfg, &qs);
    struct mlc_ns_settings ss;
    mlc_ns_settings_from_config(&cfg, &ss);
    if (mlc_queue_new(&qs, m, &q, err, sizeof err) != MLC_OK ||
        mlc_netsuite_new(&ss, q, m, &ns, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector: configuration error: %s\n", err);
        rc = 2;
        goto out;
    }
    if (mlc_ns_session_new(ns, &s, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector backfill: %s\n", err);
        goto out;
    }
    struct mlc_redis *c = mlc_ns_session_redis(s);
    if (!c) {
        fprintf(stderr, "ml-connector backfill: Redis is unreachable\n");
        goto out;
    }
    /* the same start-up checks as serve: noeviction, key schema, groups, scripts */
    if (mlc_queue_prepare(q, c, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector backfill: %s\n", err);
        goto out;
    }
    char key[256];
    mlc_queue_key(q, key, sizeof key, "backfill:%s:%lld:%lld",
                  mlc_ns_type_name((enum mlc_ns_type)t), (long long)since_ms, (long long)until_ms);
    json_t *cur = hgetall(c, key);
    long long after = field(cur, "after"), done = field(cur, "enqueued");
    bool finished = field(cur, "done") == 1;
    json_decref(cur);
    if (finished) {
        printf("{\"type\":\"%s\",\"enqueued\":%lld,\"complete\":true,\"resumed\":true}\n",
               mlc_ns_type_name((enum mlc_ns_type)t), done);
        rc = 0;
        goto out;
    }
    if (after)
        fprintf(stderr, "backfill: resuming after id %lld (%lld already enqueued)\n", after, done);
    bool tty = isatty(2);
    int64_t t0 = mlc_mono_ms(), last_print = 0;
    long long done0 = done, total = -1;
    for (;;) {
        json_t *rows = NULL;
        bool more = false;
        long long remaining = -1;
        struct mlc_ns_err e;
        if (mlc_ns_changes(s, (enum mlc_ns_type)t, since_ms, until_ms, after, 1000, &rows, &more,
                           &remaining, &e) != MLC_OK) {
            if (tty)
                fputc('\n', stderr);
            fprintf(stderr, "ml-connector backfill: NetSuite: %s\n", e.msg);
            goto out;
        }
        if (total < 0)
            total = done + (remaining >= 0 ? remaining : (long long)json_array_size(rows));
        size_t n = json_array_size(rows);
        if (n) {
            after =
                (long long)json_integer_value(json_object_get(json_array_get(rows, n - 1), "id"));
            if (poll_enqueue_rows(q, c, (enum mlc_ns_type)t, rows, NULL, "change",
                                  "netsuite_backfill", NULL) != MLC_OK) {
                json_decref(rows);
                fprintf(stderr, "ml-connector backfill: Redis: enqueue failed\n");
                goto out;
            }
            done += (long long)n;
            /* the cursor moves only after the page is on the stream: a crash between the two
             * re-enqueues at most one page (coalesced with the waiting jobs), never skips one */
            char a[24], d[24];
            snprintf(a, sizeof a, "%lld", after);
            snprintf(d, sizeof d, "%lld", done);
            const char *hs[] = {"HSET", key, "after", a, "enqueued", d};
            if (mlc_redis_exec(c, NULL, err, sizeof err, 6, hs) != MLC_OK) {
                json_decref(rows);
                fprintf(stderr, "ml-connector backfill: Redis: %s\n", err);
                goto out;
            }
        }
        json_decref(rows);
        if (!tty || mlc_mono_ms() - last_print > 200 || !more) {
            progress(tty, done, total, t0, done0);
            last_print = mlc_mono_ms();
        }
        if (!more || n == 0)
            break;
    }
    if (tty)
        fputc('\n', stderr);
    const char *hs[] = {"HSET", key, "done", "1"};
    mlc_redis_exec(c, NULL, NULL, 0, 4, hs);
    printf("{\"type\":\"%s\",\"enqueued\":%lld,\"complete\":true,\"resumed\":%s}\n",
           mlc_ns_type_name((enum mlc_ns_type)t), done, done0 ? "true" : "false");
    rc = 0;
out:
    mlc_ns_session_free(s);
    mlc_netsuite_free(ns);
    mlc_queue_free(q);
    mlc_metrics_free(m);
    mlc_config_free(&cfg);
    return rc;
}
