/* Test and benchmark driver of the NetSuite client (configured like the service, from MLC_*
 * variables): tokens, SuiteQL paging, readers, load from several threads. Prints one JSON object.
 */
#include "mlc/config.h"
#include "mlc/log.h"
#include "mlc/metrics.h"
#include "mlc/netsuite.h"
#include "mlc/queue.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: netsuite-tool token [--repeat N] [--sleep-ms MS] [--force-after-revoke]\n"
    "       netsuite-tool count QUERY\n"
    "       netsuite-tool read --type T --ids 1,2,3\n"
    "       netsuite-tool readall --type T [--threads N] [--max N]\n"
    "       netsuite-tool load --type T --threads N --seconds S\n"
    "       netsuite-tool readrange --type T [--threads N]   (id ranges, listing folded in)\n"
    "       netsuite-tool record RECORD ID\n"
    "       netsuite-tool status\n"
    "       netsuite-tool changes --type T [--since-ms MS] [--after ID]   (one listing page)\n";

struct tool {
    struct mlc_config cfg;
    struct mlc_queue *q;
    struct mlc_metrics *m;
    struct mlc_netsuite *ns;
    enum mlc_ns_type type;
    /* readall / load */
    pthread_mutex_t mu;
    long long *ids;
    size_t nids, next;
    atomic_ullong calls, records, errors, lines;
    int64_t stop_ms;
    char last_error[512];
};

static int fail(const char *what, const struct mlc_ns_err *e)
{
    json_t *o =
        json_pack("{s:b, s:s, s:s, s:s, s:b, s:I}", "ok", 0, "what", what, "error", e->msg, "class",
                  e->cls, "retryable", e->retryable, "status", (json_int_t)e->status);
    char *s = json_dumps(o, JSON_COMPACT);
    puts(s);
    free(s);
    json_decref(o);
    return 1;
}

static void print(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    puts(s);
    free(s);
    json_decref(o);
}

static const char *opt(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

static long long num(const char *s)
{
    char *end = NULL;
    long long v = strtoll(s ? s : "", &end, 10);
    if (!s || end == s || *end) {
        fprintf(stderr, "netsuite-tool: not a number: %s\n", s ? s : "(none)");
        exit(2);
    }
    return v;
}

static bool count_row(json_t *row, void *ud)
{
    (void)row;
    (*(size_t *)ud)++;
    return true;
}

/* A worker: takes batches of ids and reads them until none are left (or the time is up). */
static void *reader(void *ud)
{
    struct tool *t = ud;
    struct mlc_ns_session *s = NULL;
    char err[256];
    if (mlc_ns_session_new(t->ns, &s, err, sizeof err) != MLC_OK)
        return NULL;
    for (;;) {
        pthread_mutex_lock(&t->mu);
        size_t from = t->next;
        if (t->stop_ms && mlc_mono_ms() < t->stop_ms && from >= t->nids)
            from = t->next = 0; /* load: go round again */
        size_t n = t->nids - from > MLC_NS_BATCH ? MLC_NS_BATCH : t->nids - from;
        t->next += n;
        pthread_mutex_unlock(&t->mu);
        if (n == 0 || (t->stop_ms && mlc_mono_ms() >= t->stop_ms))
            break;
        json_t *out = NULL;
        size_t calls = 0;
        struct mlc_ns_err e;
        if (mlc_ns_read(s, t->type, t->ids + from, n, &out, &calls, &e) != MLC_OK) {
            atomic_fetch_add(&t->errors, 1);
            pthread_mutex_lock(&t->mu);
            snprintf(t->last_error, sizeof t->last_error, "%s", e.msg);
            pthread_mutex_unlock(&t->mu);
        } else {
            atomic_fetch_add(&t->records, json_object_size(out));
            const char *k;
            json_t *v;
            json_object_foreach(out, k, v)
                atomic_fetch_add(&t->lines, json_array_size(json_object_get(v, "lines")));
        }
        atomic_fetch_add(&t->calls, calls);
        json_decref(out);
    }
    mlc_ns_session_free(s);
    return NULL;
}

/* Prints the figures of readall, load and readrange; returns the exit status. */
static int summary(struct tool *t, int64_t t0)
{
    double secs = (double)(mlc_mono_ms() - t0) / 1000.0;
    unsigned long long recs = atomic_load(&t->records), calls = atomic_load(&t->calls);
    print(json_pack("{s:b, s:I, s:I, s:I, s:f, s:f, s:f, s:s, s:I}", "ok",
                    atomic_load(&t->errors) == 0, "records", (json_int_t)recs, "lines",
                    (json_int_t)atomic_load(&t->lines), "calls", (json_int_t)calls, "seconds", secs,
                    "recordsPerSecond", recs / (secs > 0 ? secs : 1), "callsPer1000",
                    recs ? 1000.0 * (double)calls / (double)recs : 0.0, "lastError", t->last_error,
                    "errors", (json_int_t)atomic_load(&t->errors)));
    return atomic_load(&t->errors) ? 1 : 0;
}

/* readrange: each worker reads its own id range with range reads (the listing is the read). */
struct range {
    struct tool *t;
    long long lo, hi; /* lo < id < hi */
    pthread_t th;
};

static void *range_reader(void *ud)
{
    struct range *r = ud;
    struct tool *t = r->t;
    struct mlc_ns_session *s = NULL;
    char err[256];
    if (mlc_ns_session_new(t->ns, &s, err, sizeof err) != MLC_OK)
        return NULL;
    long long after = r->lo;
    for (;;) {
        json_t *out = NULL;
        size_t calls = 0;
        bool more = false;
        long long last = after;
        struct mlc_ns_err e;
        if (mlc_ns_read_after(s, t->type, after, r->hi, &out, &last, &more, &calls, &e) != MLC_OK) {
            atomic_fetch_add(&t->errors, 1);
            pthread_mutex_lock(&t->mu);
            snprintf(t->last_error, sizeof t->last_error, "%s", e.msg);
            pthread_mutex_unlock(&t->mu);
            atomic_fetch_add(&t->calls, calls);
            break;
        }
        atomic_fetch_add(&t->calls, calls);
        atomic_fetch_add(&t->records, json_object_size(out));
        const char *k;
        json_t *v;
        json_object_foreach(out, k, v)
            atomic_fetch_add(&t->lines, json_array_size(json_object_get(v, "lines")));
        json_decref(out);
        if (!more || last <= after)
            break;
        after = last;
    }
    mlc_ns_session_free(s);
    return NULL;
}

/* Lists every id of the type (keyset pages of 1000, one call each). */
static int list_ids(struct tool *t, struct mlc_ns_session *s, size_t max)
{
    long long after = 0;
    size_t cap = 0;
    for (;;) {
        json_t *rows = NULL;
        bool more = false;
        struct mlc_ns_err e;
        if (mlc_ns_changes(s, t->type, 0, 0, after, 1000, &rows, &more, NULL, &e) != MLC_OK)
            return fail("list", &e);
        atomic_fetch_add(&t->calls, 1);
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r)
        {
            if (t->nids == cap) {
                cap = cap ? cap * 2 : 4096;
                t->ids = mlc_realloc(t->ids, cap * sizeof *t->ids);
            }
            after = (long long)json_integer_value(json_object_get(r, "id"));
            t->ids[t->nids++] = after;
        }
        json_decref(rows);
        if (!more || (max && t->nids >= max))
            break;
    }
    if (max && t->nids > max)
        t->nids = max;
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    static struct tool t;
    char err[512];
    if (mlc_config_load(&t.cfg, NULL, NULL, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "netsuite-tool: configuration error: %s\n", err);
        return 2;
    }
    mlc_log_set_level(
        (enum mlc_log_level)mlc_log_level_parse(mlc_config_str(&t.cfg, MLC_CFG_LOG_LEVEL)));
    t.m = mlc_metrics_new();
    mlc_netsuite_describe_metrics(t.m);
    struct mlc_queue_settings qs;
    mlc_queue_settings_from_config(&t.cfg, &qs);
    if (mlc_queue_new(&qs, t.m, &t.q, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "netsuite-tool: %s\n", err);
        return 2;
    }
    struct mlc_ns_settings ss;
    mlc_ns_settings_from_config(&t.cfg, &ss);
    if (mlc_netsuite_new(&ss, t.q, t.m, &t.ns, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "netsuite-tool: configuration error: %s\n", err);
        return 2;
    }
    pthread_mutex_init(&t.mu, NULL);
    json_object_seed(0);
    int typ = mlc_ns_type_parse(opt(argc, argv, "--type", "customer"));
    if (typ < 0) {
        fprintf(stderr, "netsuite-tool: --type customer|contact|salesorder\n");
        return 2;
    }
    t.type = (enum mlc_ns_type)typ;
    struct mlc_ns_session *s = NULL;
    if (mlc_ns_session_new(t.ns, &s, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "netsuite-tool: %s\n", err);
        return 1;
    }
    const char *cmd = argv[1];
    int rc = 0;
    struct mlc_ns_err e;
    int64_t t0 = mlc_mono_ms();
    if (strcmp(cmd, "token") == 0) {
        /* repeated reads (serverTime) over a while: tokens reused and refreshed */
        long repeat = num(opt(argc, argv, "--repeat", "1"));
        long sleep_ms = num(opt(argc, argv, "--sleep-ms", "0"));
        long fails = 0;
        for (long i = 0; i < repeat; i++) {
            json_t *out = NULL;
            if (mlc_ns_call(s, "GET", "/services/rest/system/v1/serverTime", "serverTime", NULL,
                            &out, &e) != MLC_OK) {
                fails++;
                rc = fail("serverTime", &e);
                break;
            }
            json_decref(out);
            if (sleep_ms)
                mlc_sleep_ms(sleep_ms);
        }
        if (!fails)
            print(json_pack(
                "{s:b, s:I, s:f}", "ok", 1, "tokens", (json_int_t)mlc_ns_tokens_obtained(t.ns),
                "unauthorizedRetries",
                mlc_metrics_get(t.m, "mlc_netsuite_retries_total", "reason=\"unauthorized\"")));
    } else if (strcmp(cmd, "count") == 0 && argc >= 3) {
        size_t rows = 0, pages = 0;
        const char *kf = opt(argc, argv, "--keyset", NULL);
        if (mlc_ns_suiteql_all(s, argv[2], kf, kf ? "id" : NULL, count_row, &rows, &pages, &e) !=
            MLC_OK)
            rc = fail("count", &e);
        else
            print(json_pack("{s:b, s:I, s:I}", "ok", 1, "rows", (json_int_t)rows, "pages",
                            (json_int_t)pages));
    } else if (strcmp(cmd, "read") == 0) {
        char **items = NULL;
        size_t n = mlc_list_split(opt(argc, argv, "--ids", ""), &items);
        long long *ids = mlc_calloc(n + 1, sizeof *ids);
        for (size_t i = 0; i < n; i++)
            ids[i] = num(items[i]);
        mlc_strv_free(items, n);
        json_t *out = NULL;
        size_t calls = 0;
        if (mlc_ns_read(s, t.type, ids, n, &out, &calls, &e) != MLC_OK)
            rc = fail("read", &e);
        else
            print(
                json_pack("{s:b, s:o, s:I}", "ok", 1, "records", out, "calls", (json_int_t)calls));
        free(ids);
    } else if (strcmp(cmd, "readall") == 0 || strcmp(cmd, "load") == 0) {
        int threads = (int)num(opt(argc, argv, "--threads", "4"));
        size_t max = (size_t)num(opt(argc, argv, "--max", "0"));
        if (threads < 1 || threads > 64)
            threads = 4;
        if ((rc = list_ids(&t, s, max)) == 0) {
            if (strcmp(cmd, "load") == 0)
                t.stop_ms = mlc_mono_ms() + 1000 * num(opt(argc, argv, "--seconds", "5"));
            pthread_t th[64];
            for (int i = 0; i < threads; i++)
                pthread_create(&th[i], NULL, reader, &t);
            for (int i = 0; i < threads; i++)
                pthread_join(th[i], NULL);
            rc = summary(&t, t0);
        }
    } else if (strcmp(cmd, "readrange") == 0) {
        int threads = (int)num(opt(argc, argv, "--threads", "4"));
        if (threads < 1 || threads > 64)
            threads = 4;
        static const char *const bounds[] = {
            "SELECT MIN(id) AS lo, MAX(id) AS hi FROM customer",
            "SELECT MIN(id) AS lo, MAX(id) AS hi FROM contact",
            "SELECT MIN(id) AS lo, MAX(id) AS hi FROM transaction WHERE type = 'SalesOrd'"};
        struct mlc_ns_page pg;
        long long lo = 0, hi = 0;
        if (mlc_ns_suiteql_page(s, bounds[t.type], 1, 0, &pg, &e) != MLC_OK) {
            rc = fail("bounds", &e);
        } else {
            atomic_fetch_add(&t.calls, 1);
            mlc_ns_row_i64(json_array_get(pg.items, 0), "lo", &lo);
            mlc_ns_row_i64(json_array_get(pg.items, 0), "hi", &hi);
            mlc_ns_page_free(&pg);
            struct range r[64];
            long long span = (hi - lo + 1 + threads - 1) / threads;
            for (int i = 0; i < threads; i++) {
                r[i] = (struct range){&t, lo - 1 + span * i, lo + span * (i + 1), 0};
                pthread_create(&r[i].th, NULL, range_reader, &r[i]);
            }
            for (int i = 0; i < threads; i++)
                pthread_join(r[i].th, NULL);
            rc = summary(&t, t0);
        }
    } else if (strcmp(cmd, "record") == 0 && argc >= 4) {
        json_t *out = NULL;
        enum mlc_rc r2 = mlc_ns_record_get(s, argv[2], num(argv[3]), &out, &e);
        if (r2 != MLC_OK)
            rc = fail(r2 == MLC_ENOTFOUND ? "notfound" : "record", &e);
        else
            print(json_pack("{s:b, s:o}", "ok", 1, "record", out));
    } else if (strcmp(cmd, "changes") == 0) {
        json_t *rows = NULL;
        bool more = false;
        if (mlc_ns_changes(s, t.type, num(opt(argc, argv, "--since-ms", "0")), 0,
                           num(opt(argc, argv, "--after", "0")), 1000, &rows, &more, NULL,
                           &e) != MLC_OK)
            rc = fail("changes", &e);
        else
            print(json_pack("{s:b, s:o, s:b}", "ok", 1, "rows", rows, "more", more));
    } else if (strcmp(cmd, "status") == 0) {
        json_t *st = mlc_ns_auth_status(s);
        print(json_pack("{s:b, s:o}", "ok", 1, "status", st ? st : json_null()));
    } else {
        fputs(usage, stderr);
        rc = 2;
    }
    free(t.ids);
    mlc_ns_session_free(s);
    mlc_netsuite_free(t.ns);
    mlc_queue_free(t.q);
    mlc_metrics_free(t.m);
    mlc_config_free(&t.cfg);
    return rc;
}
