/* Test and benchmark driver of the Dataverse client (configured like the service, from MLC_*
 * variables): tokens, single writes, races, loads from several threads, $batch change sets,
 * metadata, reference data and order state. Prints one JSON object on its last line. */
#include "mlc/config.h"
#include "mlc/dataverse.h"
#include "mlc/log.h"
#include "mlc/metrics.h"
#include "mlc/queue.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: dataverse-tool token [--repeat N] [--sleep-ms MS]\n"
    "       dataverse-tool whoami\n"
    "       dataverse-tool write --set S --table T --key JSON --body JSON [--mode "
    "upsert|create|update]\n"
    "       dataverse-tool race --set S --table T --key JSON --body JSON [--threads N]\n"
    "       dataverse-tool load --set S --table T --keycol C --prefix P --count N [--threads N]\n"
    "                      [--start I] [--poison I] [--bind-set S --bind-keycol C --bind-value V]\n"
    "       dataverse-tool changeset --order KEY --line KEY --customer KEY [--pricelevel GUID]\n"
    "                      [--currency GUID]\n"
    "       dataverse-tool get PATH | query --set S [--select X] [--filter F] [--page N]\n"
    "       dataverse-tool keys TABLE | attribute TABLE COLUMN | bulk-supported TABLE\n"
    "       dataverse-tool refdata KIND VALUE [--repeat N]   (currency pricelist product-sku\n"
    "                      product-item uom user team)\n"
    "       dataverse-tool order-state ID STATE STATUS | order-close ID fulfill|cancel STATUS\n";

struct tool {
    struct mlc_config cfg;
    struct mlc_queue *q;
    struct mlc_metrics *m;
    struct mlc_dataverse *dv;
    pthread_mutex_t mu;
    /* load */
    const char *set, *table, *keycol, *prefix, *bind_set, *bind_keycol, *bind_value;
    long count, start, poison;
    atomic_long next;
    long chunk;
    atomic_long done, failed, errors;
    json_t *failures;
    /* race */
    json_t *key, *body;
    atomic_long race_ok;
    json_t *race_errors;
};

static const char *opt(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

static long num(const char *s)
{
    char *end = NULL;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !end || *end) {
        fprintf(stderr, "dataverse-tool: not a number: %s\n", s ? s : "(none)");
        exit(2);
    }
    return v;
}

static void print(json_t *o)
{
    char *t = json_dumps(o, JSON_COMPACT);
    printf("%s\n", t);
    fflush(stdout);
    free(t);
    json_decref(o);
}

static json_t *err_json(const struct mlc_dv_err *e)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:b}", "status", (json_int_t)e->status, "code", e->code,
                     "class", e->cls, "message", e->msg, "retryable", e->retryable);
}

static json_t *counters(struct tool *t)
{
    struct mlc_dv_counters c;
    mlc_dv_counters_get(t->dv, &c);
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "tokens",
                     (json_int_t)c.tokens, "requests", (json_int_t)c.requests, "throttled",
                     (json_int_t)c.throttled, "pausedMs", (json_int_t)c.paused_ms, "bulkCalls",
                     (json_int_t)c.bulk_calls, "batchCalls", (json_int_t)c.batch_calls, "splits",
                     (json_int_t)c.splits, "dupRetries", (json_int_t)c.dup_retries, "fallbacks",
                     (json_int_t)c.fallbacks);
}

static json_t *parse_arg(const char *s, const char *what)
{
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    if (!json_is_object(j)) {
        fprintf(stderr, "dataverse-tool: %s must be a JSON object\n", what);
        exit(2);
    }
    return j;
}

static void *load_thread(void *ud)
{
    struct tool *t = ud;
    struct mlc_dv_session *s = NULL;
    char err[256];
    if (mlc_dv_session_new(t->dv, &s, err, sizeof err) != MLC_OK)
        return NULL;
    for (;;) {
        long first = atomic_fetch_add(&t->next, t->chunk);
        if (first >= t->count)
            break;
        long n = t->count - first < t->chunk ? t->count - first : t->chunk;
        struct mlc_dv_row *rows = calloc((size_t)n, sizeof *rows);
        for (long i = 0; i < n; i++) {
            long k = t->start + first + i;
            char kv[96], name[400];
            snprintf(kv, sizeof kv, "%s%ld", t->prefix, k);
            if (first + i == t->poison)
                snprintf(name, sizeof name, "%0300d", 7); /* longer than any name column */
            else
                snprintf(name, sizeof name, "Account %s", kv);
            rows[i].key = json_pack("{s:s}", t->keycol, kv);
            rows[i].body =
                json_pack("{s:s, s:s}", strcmp(t->table, "contact") == 0 ? "lastname" : "name",
                          name, t->keycol, kv /* removed by the client */);
            if (t->bind_set) {
                char ref[300];
                snprintf(ref, sizeof ref, "/%s(%s='%s')", t->bind_set, t->bind_keycol,
                         t->bind_value);
                json_object_set_new(rows[i].body, "parentaccountid@odata.bind", json_string(ref));
            }
        }
        struct mlc_dv_err e;
        enum mlc_rc rc = mlc_dv_upsert_rows(s, t->table, t->set, rows, (size_t)n, &e);
        pthread_mutex_lock(&t->mu);
        if (rc != MLC_OK) {
            atomic_fetch_add(&t->errors, 1);
            if (json_array_size(t->failures) < 20)
                json_array_append_new(
                    t->failures, json_pack("{s:s, s:o}", "batch", "error", "error", err_json(&e)));
        }
        for (long i = 0; i < n; i++) {
            if (rows[i].done) {
                atomic_fetch_add(&t->done, 1);
            } else {
                atomic_fetch_add(&t->failed, 1);
                if (json_array_size(t->failures) < 50)
                    json_array_append_new(t->failures, json_pack("{s:O, s:o}", "key", rows[i].key,
                                                                 "error", err_json(&rows[i].err)));
            }
            json_decref(rows[i].key);
            json_decref(rows[i].body);
        }
        pthread_mutex_unlock(&t->mu);
        free(rows);
    }
    mlc_dv_session_free(s);
    return NULL;
}

static void *race_thread(void *ud)
{
    struct tool *t = ud;
    struct mlc_dv_session *s = NULL;
    char err[256], id[37];
    if (mlc_dv_session_new(t->dv, &s, err, sizeof err) != MLC_OK)
        return NULL;
    struct mlc_dv_err e;
    if (mlc_dv_write(s, t->table, t->set, t->key, t->body, MLC_DV_UPSERT, id, &e) == MLC_OK) {
        atomic_fetch_add(&t->race_ok, 1);
    } else {
        pthread_mutex_lock(&t->mu);
        json_array_append_new(t->race_errors, err_json(&e));
        pthread_mutex_unlock(&t->mu);
    }
    mlc_dv_session_free(s);
    return NULL;
}

static bool print_row(json_t *row, void *ud)
{
    json_array_append(ud, row);
    return true;
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
        fprintf(stderr, "dataverse-tool: configuration error: %s\n", err);
        return 2;
    }
    mlc_log_set_level(
        (enum mlc_log_level)mlc_log_level_parse(mlc_config_str(&t.cfg, MLC_CFG_LOG_LEVEL)));
    t.m = mlc_metrics_new();
    mlc_dataverse_describe_metrics(t.m);
    struct mlc_queue_settings qs;
    mlc_queue_settings_from_config(&t.cfg, &qs);
    if (mlc_queue_new(&qs, t.m, &t.q, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "dataverse-tool: %s\n", err);
        return 2;
    }
    struct mlc_dv_settings ss;
    mlc_dv_settings_from_config(&t.cfg, &ss);
    if (mlc_dataverse_new(&ss, t.q, t.m, &t.dv, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "dataverse-tool: configuration error: %s\n", err);
        return 2;
    }
    pthread_mutex_init(&t.mu, NULL);
    json_object_seed(0);
    struct mlc_dv_session *s = NULL;
    if (mlc_dv_session_new(t.dv, &s, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "dataverse-tool: %s\n", err);
        return 1;
    }
    const char *cmd = argv[1];
    int rc = 0;
    struct mlc_dv_err e;
    memset(&e, 0, sizeof e);
    int64_t t0 = mlc_mono_ms();
    if (strcmp(cmd, "token") == 0 || strcmp(cmd, "whoami") == 0) {
        long repeat = num(opt(argc, argv, "--repeat", "1"));
        long sleep_ms = num(opt(argc, argv, "--sleep-ms", "0"));
        char user[37] = "", org[37] = "";
        long fails = 0;
        for (long i = 0; i < repeat && !fails; i++) {
            char tok[16384];
            enum mlc_rc r = strcmp(cmd, "whoami") == 0
                                ? mlc_dv_whoami(s, user, org, &e)
                                : mlc_dv_token(s, false, NULL, tok, sizeof tok, &e);
            if (r != MLC_OK)
                fails++;
            if (sleep_ms)
                mlc_sleep_ms(sleep_ms);
        }
        if (fails) {
            print(json_pack("{s:b, s:o}", "ok", 0, "error", err_json(&e)));
            rc = 1;
        } else {
            print(json_pack("{s:b, s:s, s:s, s:o}", "ok", 1, "userId", user, "organizationId", org,
                            "counters", counters(&t)));
        }
    } else if (strcmp(cmd, "write") == 0) {
        json_t *key = parse_arg(opt(argc, argv, "--key", NULL), "--key");
        json_t *body = parse_arg(opt(argc, argv, "--body", "{}"), "--body");
        const char *m = opt(argc, argv, "--mode", "upsert");
        enum mlc_dv_mode mode = strcmp(m, "create") == 0   ? MLC_DV_CREATE_ONLY
                                : strcmp(m, "update") == 0 ? MLC_DV_UPDATE_ONLY
                                                           : MLC_DV_UPSERT;
        char id[37] = "";
        enum mlc_rc r = mlc_dv_write(s, opt(argc, argv, "--table", "account"),
                                     opt(argc, argv, "--set", "accounts"), key, body, mode, id, &e);
        const char *res = r == MLC_OK          ? "ok"
                          : r == MLC_ENOTFOUND ? "not_found"
                          : r == MLC_EEXISTS   ? "exists"
                                               : "error";
        print(json_pack("{s:s, s:s, s:o, s:o}", "result", res, "id", id, "error", err_json(&e),
                        "counters", counters(&t)));
        rc = r == MLC_OK ? 0 : 1;
        json_decref(key);
        json_decref(body);
    } else if (strcmp(cmd, "race") == 0) {
        t.key = parse_arg(opt(argc, argv, "--key", NULL), "--key");
        t.body = parse_arg(opt(argc, argv, "--body", "{}"), "--body");
        t.table = opt(argc, argv, "--table", "account");
        t.set = opt(argc, argv, "--set", "accounts");
        t.race_errors = json_array();
        long n = num(opt(argc, argv, "--threads", "3"));
        pthread_t th[64];
        if (n > 64)
            n = 64;
        /* the token first, so the threads race on the write, not on Entra */
        char tok[16384];
        mlc_dv_token(s, false, NULL, tok, sizeof tok, &e);
        for (long i = 0; i < n; i++)
            pthread_create(&th[i], NULL, race_thread, &t);
        for (long i = 0; i < n; i++)
            pthread_join(th[i], NULL);
        print(json_pack("{s:I, s:O, s:o}", "ok", (json_int_t)atomic_load(&t.race_ok), "errors",
                        t.race_errors, "counters", counters(&t)));
        rc = json_array_size(t.race_errors) ? 1 : 0;
        json_decref(t.race_errors);
        json_decref(t.key);
        json_decref(t.body);
    } else if (strcmp(cmd, "load") == 0) {
        t.set = opt(argc, argv, "--set", "accounts");
        t.table = opt(argc, argv, "--table", "account");
        t.keycol = opt(argc, argv, "--keycol", "mlc_netsuitecustomerid");
        t.prefix = opt(argc, argv, "--prefix", "L");
        t.count = num(opt(argc, argv, "--count", "100"));
        t.start = num(opt(argc, argv, "--start", "0"));
        t.poison = num(opt(argc, argv, "--poison", "-1"));
        t.bind_set = opt(argc, argv, "--bind-set", NULL);
        t.bind_keycol = opt(argc, argv, "--bind-keycol", NULL);
        t.bind_value = opt(argc, argv, "--bind-value", NULL);
        t.chunk = mlc_dv_settings_get(t.dv)->bulk_chunk;
        t.failures = json_array();
        long threads = num(opt(argc, argv, "--threads", "1"));
        if (threads < 1 || threads > 64)
            threads = 1;
        pthread_t th[64];
        for (long i = 0; i < threads; i++)
            pthread_create(&th[i], NULL, load_thread, &t);
        for (long i = 0; i < threads; i++)
            pthread_join(th[i], NULL);
        double secs = (double)(mlc_mono_ms() - t0) / 1000.0;
        print(json_pack("{s:I, s:I, s:I, s:I, s:f, s:f, s:O, s:o}", "rows", (json_int_t)t.count,
                        "done", (json_int_t)atomic_load(&t.done), "failed",
                        (json_int_t)atomic_load(&t.failed), "errors",
                        (json_int_t)atomic_load(&t.errors), "seconds", secs, "rowsPerS",
                        secs > 0 ? (double)atomic_load(&t.done) / secs : 0.0, "failures",
                        t.failures, "counters", counters(&t)));
        rc = atomic_load(&t.errors) ? 1 : 0;
        json_decref(t.failures);
    } else if (strcmp(cmd, "changeset") == 0) {
        /* samples/dataverse-batch-request.http: an order and its line in one change set, the
         * line bound to the order by key, then a GET outside the change set */
        const char *ok = opt(argc, argv, "--order", "5501"), *lk = opt(argc, argv, "--line", "1");
        const char *ck = opt(argc, argv, "--customer", "1107");
        const char *pl = opt(argc, argv, "--pricelevel", NULL);
        const char *cur = opt(argc, argv, "--currency", NULL);
        char p1[200], p2[200], p3[300], b1[200], b2[200], b3[200];
        snprintf(p1, sizeof p1, "salesorders(mlc_netsuitesalesorderid='%s')", ok);
        snprintf(p2, sizeof p2, "salesorderdetails(mlc_netsuitelinekey='%s')", lk);
        snprintf(p3, sizeof p3, "accounts(mlc_netsuitecustomerid='%s')?$select=accountid,name", ck);
        snprintf(b1, sizeof b1, "/accounts(mlc_netsuitecustomerid='%s')", ck);
        snprintf(b2, sizeof b2, "/salesorders(mlc_netsuitesalesorderid='%s')", ok);
        json_t *order = json_pack("{s:s, s:s}", "name", "SO", "customerid_account@odata.bind", b1);
        if (pl) {
            snprintf(b3, sizeof b3, "/pricelevels(%s)", pl);
            json_object_set_new(order, "pricelevelid@odata.bind", json_string(b3));
        }
        if (cur) {
            char b4[200];
            snprintf(b4, sizeof b4, "/transactioncurrencies(%s)", cur);
            json_object_set_new(order, "transactioncurrencyid@odata.bind", json_string(b4));
        }
        json_t *line = json_pack("{s:s, s:b, s:s, s:i, s:f, s:b}", "salesorderid@odata.bind", b2,
                                 "isproductoverridden", 1, "productdescription", "Widget",
                                 "quantity", 2, "priceperunit", 12.5, "ispriceoverridden", 1);
        struct mlc_dv_op ops[3] = {
            {.method = "PATCH", .path = p1, .body = order, .changeset = 1},
            {.method = "PATCH", .path = p2, .body = line, .changeset = 1},
            {.method = "GET", .path = p3},
        };
        enum mlc_rc r = mlc_dv_batch(s, ops, 3, &e);
        json_t *res = json_array();
        for (int i = 0; i < 3; i++) {
            json_array_append_new(res, json_pack("{s:I, s:s, s:O?, s:o}", "status",
                                                 (json_int_t)ops[i].status, "id", ops[i].id, "body",
                                                 ops[i].resp, "error", err_json(&ops[i].err)));
            json_decref(ops[i].resp);
        }
        print(json_pack("{s:b, s:o, s:o, s:o}", "ok", r == MLC_OK, "ops", res, "error",
                        err_json(&e), "counters", counters(&t)));
        json_decref(order);
        json_decref(line);
        rc = r == MLC_OK ? 0 : 1;
    } else if (strcmp(cmd, "get") == 0 && argc >= 3) {
        json_t *out = NULL;
        enum mlc_rc r = mlc_dv_get(s, argv[2], &out, &e);
        print(json_pack("{s:s, s:o?, s:o}", "result",
                        r == MLC_OK          ? "ok"
                        : r == MLC_ENOTFOUND ? "not_found"
                                             : "error",
                        "body", out, "error", err_json(&e)));
        rc = r == MLC_OK ? 0 : 1;
    } else if (strcmp(cmd, "query") == 0) {
        json_t *rows = json_array();
        size_t pages = 0;
        enum mlc_rc r =
            mlc_dv_query(s, opt(argc, argv, "--set", "accounts"), opt(argc, argv, "--select", NULL),
                         opt(argc, argv, "--filter", NULL),
                         (int)num(opt(argc, argv, "--page", "0")), print_row, rows, &pages, &e);
        print(json_pack("{s:b, s:I, s:I, s:o, s:o}", "ok", r == MLC_OK, "count",
                        (json_int_t)json_array_size(rows), "pages", (json_int_t)pages, "rows", rows,
                        "error", err_json(&e)));
        rc = r == MLC_OK ? 0 : 1;
    } else if ((strcmp(cmd, "keys") == 0 || strcmp(cmd, "bulk-supported") == 0) && argc >= 3) {
        json_t *out = NULL;
        bool yes = false;
        enum mlc_rc r = strcmp(cmd, "keys") == 0 ? mlc_dv_keys(s, argv[2], &out, &e)
                                                 : mlc_dv_bulk_supported(s, argv[2], &yes, &e);
        print(json_pack("{s:b, s:o?, s:b, s:o, s:o}", "ok", r == MLC_OK, "keys", out, "bulk", yes,
                        "error", err_json(&e), "counters", counters(&t)));
        rc = r == MLC_OK ? 0 : 1;
    } else if (strcmp(cmd, "attribute") == 0 && argc >= 4) {
        json_t *out = NULL;
        enum mlc_rc r = mlc_dv_attribute(s, argv[2], argv[3], &out, &e);
        print(json_pack("{s:b, s:o?, s:o}", "ok", r == MLC_OK, "attribute", out, "error",
                        err_json(&e)));
        rc = r == MLC_OK ? 0 : 1;
    } else if (strcmp(cmd, "refdata") == 0 && argc >= 4) {
        long repeat = num(opt(argc, argv, "--repeat", "1"));
        const char *k = argv[2], *v = argv[3];
        char id[37] = "", uom[37] = "";
        enum mlc_rc r = MLC_ERR;
        for (long i = 0; i < repeat; i++) {
            if (strcmp(k, "currency") == 0)
                r = mlc_dv_currency_by_iso(s, v, id, &e);
            else if (strcmp(k, "pricelist") == 0)
                r = mlc_dv_pricelist_by_currency(s, v, id, &e);
            else if (strcmp(k, "product-sku") == 0)
                r = mlc_dv_product_by(s, "productnumber", v, id, uom, &e);
            else if (strcmp(k, "product-item") == 0)
                r = mlc_dv_product_by(s, "mlc_netsuiteitemid", v, id, uom, &e);
            else if (strcmp(k, "uom") == 0)
                r = mlc_dv_uom_by_name(s, v, id, &e);
            else if (strcmp(k, "user") == 0)
                r = mlc_dv_user_by_email(s, v, id, &e);
            else if (strcmp(k, "team") == 0)
                r = mlc_dv_team_by_name(s, v, id, &e);
        }
        uint64_t hits, calls;
        mlc_dv_cache_stats(t.dv, &hits, &calls);
        print(json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o}", "result",
                        r == MLC_OK          ? "ok"
                        : r == MLC_ENOTFOUND ? "not_found"
                                             : "error",
                        "id", id, "uom", uom, "cacheHits", (json_int_t)hits, "lookups",
                        (json_int_t)calls, "error", err_json(&e), "counters", counters(&t)));
        rc = r == MLC_OK ? 0 : 1;
    } else if (strcmp(cmd, "order-state") == 0 && argc >= 5) {
        enum mlc_rc r =
            mlc_dv_order_set_state(s, argv[2], (int)num(argv[3]), (int)num(argv[4]), &e);
        print(json_pack("{s:b, s:o}", "ok", r == MLC_OK, "error", err_json(&e)));
        rc = r == MLC_OK ? 0 : 1;
    } else if (strcmp(cmd, "order-close") == 0 && argc >= 5) {
        enum mlc_rc r = mlc_dv_order_close(s, argv[2], strcmp(argv[3], "cancel") == 0,
                                           (int)num(argv[4]), NULL, &e);
        print(json_pack("{s:b, s:o}", "ok", r == MLC_OK, "error", err_json(&e)));
        rc = r == MLC_OK ? 0 : 1;
    } else {
        fputs(usage, stderr);
        rc = 2;
    }
    mlc_dv_session_free(s);
    mlc_dataverse_free(t.dv);
    mlc_queue_free(t.q);
    mlc_metrics_free(t.m);
    mlc_config_free(&t.cfg);
    return rc;
}
