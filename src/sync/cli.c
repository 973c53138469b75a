/* CLI twins of the admin API: `ml-connector sync --type T --id N` (a forced sync enqueued on the
 * live stream, done by a running serve) and `ml-connector audit [filters]` (audit entries as JSON
 * lines). */
#include "mlc/config.h"
#include "mlc/netsuite.h"
#include "mlc/queue.h"
#include "mlc/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cli {
    struct mlc_config cfg;
    struct mlc_queue *q;
    struct mlc_redis *c;
};

static int cli_open(struct cli *x, const char *who)
{
    char err[512];
    if (mlc_config_load(&x->cfg, NULL, NULL, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector %s: configuration error: %s\n", who, err);
        return 2;
    }
    struct mlc_queue_settings qs;
    mlc_queue_settings_from_config(&x->cfg, &qs);
    if (mlc_queue_new(&qs, NULL, &x->q, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector %s: configuration error: %s\n", who, err);
        mlc_config_free(&x->cfg);
        return 2;
    }
    if (mlc_redis_connect(x->q, &x->c, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector %s: %s\n", who, err);
        mlc_queue_free(x->q);
        mlc_config_free(&x->cfg);
        return 1;
    }
    return 0;
}

static void cli_close(struct cli *x)
{
    mlc_redis_free(x->c);
    mlc_queue_free(x->q);
    mlc_config_free(&x->cfg);
}

static const char *arg(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static bool want_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

int mlc_sync_cli_main(int argc, char **argv)
{
    static const char help[] =
        "usage: ml-connector sync --type customer|contact|salesorder --id N\n"
        "\n"
        "Enqueues a forced sync of one record on the live stream (it bypasses the no-op skip and\n"
        "the stale-write guard); a running `serve` does it. The twin of POST "
        "/v1/sync/{type}/{id}.\n";
    if (want_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    const char *type = arg(argc, argv, "--type"), *id = arg(argc, argv, "--id");
    uint64_t n;
    if (!type || !id || mlc_ns_type_parse(type) < 0 || mlc_parse_u64(id, &n) != MLC_OK || n == 0) {
        fputs(help, stderr);
        return 2;
    }
    struct cli x;
    int rc = cli_open(&x, "sync");
    if (rc)
        return rc;
    char rec[64], ids[24];
    snprintf(rec, sizeof rec, "%s:%llu", type, (unsigned long long)n);
    snprintf(ids, sizeof ids, "%llu", (unsigned long long)n);
    json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:b}", "recordType", type, "recordId", ids, "op",
                             "change", "source", "cli", "force", 1);
    struct mlc_job_spec spec = {
        .lane = MLC_LANE_LIVE, .kind = type, .record = rec, .dedupe = NULL, .data = data};
    enum mlc_enqueue_outcome o;
    enum mlc_rc qrc = mlc_queue_enqueue_on(x.q, x.c, &spec, 1, &o);
    json_decref(data);
    if (qrc == MLC_OK) {
        printf("{\"type\": \"%s\", \"id\": \"%s\", \"outcome\": \"%s\"}\n", type, ids,
               o == MLC_ENQ_COALESCED ? "coalesced" : "enqueued");
    } else {
        fprintf(stderr, "ml-connector sync: %s\n",
                qrc == MLC_ENOMEM ? "the live stream is at MLC_QUEUE_MAX_BACKLOG"
                                  : "Redis failed or is unreachable");
        rc = 1;
    }
    cli_close(&x);
    return rc;
}

static bool field_is(json_t *e, const char *field, const char *want)
{
    const char *v = json_string_value(json_object_get(e, field));
    return !want || (v && strcmp(v, want) == 0);
}

int mlc_audit_cli_main(int argc, char **argv)
{
    static const char help[] =
        "usage: ml-connector audit [--since RFC3339] [--type T] [--action A] [--record ID]\n"
        "                          [--limit N]\n"
        "\n"
        "Prints audit entries (oldest first from --since) as JSON lines, filtered by type,\n"
        "action and NetSuite record ID; at most --limit (default 1000, at most 1000000).\n"
        "The twin of GET /v1/audit.\n";
    if (want_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    const char *since = arg(argc, argv, "--since"), *type = arg(argc, argv, "--type");
    const char *action = arg(argc, argv, "--action"), *record = arg(argc, argv, "--record");
    const char *limit_s = arg(argc, argv, "--limit");
    uint64_t limit = 1000;
    int64_t since_ms = 0;
    if ((limit_s && (mlc_parse_u64(limit_s, &limit) != MLC_OK || limit == 0 || limit > 1000000)) ||
        (since && mlc_parse_rfc3339(since, &since_ms) != MLC_OK) ||
        (type && mlc_ns_type_parse(type) < 0)) {
        fputs(help, stderr);
        return 2;
    }
    for (int i = 1; i < argc; i += 2) {
        static const char *const known[] = {"--since", "--type", "--action", "--record", "--limit"};
        bool ok = i + 1 < argc;
        bool hit = false;
        for (size_t k = 0; ok && k < 5; k++)
            hit |= strcmp(argv[i], known[k]) == 0;
        if (!hit) {
            fputs(help, stderr);
            return 2;
        }
    }
    struct cli x;
    int rc = cli_open(&x, "audit");
    if (rc)
        return rc;
    char key[160], start[40];
    mlc_queue_key(x.q, key, sizeof key, "audit");
    snprintf(start, sizeof start, "%lld", (long long)since_ms);
    uint64_t printed = 0;
    for (;;) {
        const char *xr[] = {"XRANGE", key, start, "+", "COUNT", "1000"};
        json_t *v = NULL;
        char err[256];
        if (mlc_redis_exec(x.c, &v, err, sizeof err, 6, xr) != MLC_OK) {
            fprintf(stderr, "ml-connector audit: Redis: %s\n", err);
            rc = 1;
            break;
        }
        size_t i;
        json_t *ent;
        const char *last = NULL;
        json_array_foreach(v, i, ent)
        {
            last = json_string_value(json_array_get(ent, 0));
            json_t *fields = json_array_get(ent, 1);
            for (size_t f = 0; f + 1 < json_array_size(fields); f += 2) {
                const char *name = json_string_value(json_array_get(fields, f));
                const char *text = json_string_value(json_array_get(fields, f + 1));
                json_t *e =
                    name && text && strcmp(name, "e") == 0 ? json_loads(text, 0, NULL) : NULL;
                if (e && field_is(e, "type", type) && field_is(e, "action", action) &&
                    field_is(e, "nsId", record) && printed < limit) {
                    json_object_set_new(e, "id", json_string(last));
                    char *line = json_dumps(e, JSON_COMPACT);
                    if (line)
                        puts(line);
                    free(line);
                    printed++;
                }
                json_decref(e);
            }
        }
        size_t n = json_array_size(v);
        if (last)
            snprintf(start, sizeof start, "(%s", last); /* exclusive: after the last one read */
        json_decref(v);
        if (n < 1000 || printed >= limit)
            break;
    }
    cli_close(&x);
    return rc;
}
