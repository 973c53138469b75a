/* ml-connector: wiring only. Parse the command line, load configuration, start modules, wait. */
#include "mlc/admin.h"
#include "mlc/app.h"
#include "mlc/config.h"
#include "mlc/crypto.h"
#include "mlc/dayone.h"
#include "mlc/http.h"
#include "mlc/ingest.h"
#include "mlc/jobs.h"
#include "mlc/log.h"
#include "mlc/metrics.h"
#include "mlc/poller.h"
#include "mlc/queue.h"
#include "mlc/sandbox.h"
#include "mlc/sync.h"
#include "mlc/secrets.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MLC_TEST_BUILD
/* The test build adds handlers that record executions in Redis (tests/integration/). */
const struct mlc_job_handler *mlc_test_handlers(size_t *n);
#endif

static const char usage[] =
    "usage: ml-connector <command> [options]\n"
    "\n"
    "Keeps Dynamics 365 Sales (Dataverse) in step with NetSuite.\n"
    "\n"
    "commands:\n"
    "  serve         run the HTTP service, the webhook endpoints and the worker pool\n"
    "  dlq           list, show, replay or purge dead-lettered jobs\n"
    "  backfill      enqueue NetSuite history (--type, --since, --until) on the bulk stream\n"
    "  setup         setup dataverse: create our columns, keys and the webhook registration\n"
    "  link          match existing CRM rows to NetSuite records (review file, --apply FILE)\n"
    "  reconcile     compare both systems, explain or repair every difference (--format)\n"
    "  sandbox       run a local NetSuite (and later Dataverse) for tests, demos and development\n"
    "  healthcheck   probe GET /healthz of a running service (exit 0 when healthy)\n"
    "  secrets       keygen, encrypt, decrypt, rotate credentials at rest (enc:v1)\n"
    "  sync          enqueue a forced sync of one record (--type, --id)\n"
    "  audit         print audit entries as JSON lines (--since, --type, --action, --record)\n"
    "  version       print the version\n"
    "\n"
    "Configuration comes from MLC_* environment variables (see the README).\n"
    "Run `ml-connector <command> --help` for a command's options.\n";

static bool want_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

static int load_config(struct mlc_app *app)
{
    char err[512];
    if (mlc_config_load(&app->cfg, NULL, NULL, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector: configuration error: %s\n", err);
        return 2;
    }
    mlc_log_set_level(
        (enum mlc_log_level)mlc_log_level_parse(mlc_config_str(&app->cfg, MLC_CFG_LOG_LEVEL)));
    return 0;
}

static int open_queue(struct mlc_app *app)
{
    struct mlc_queue_settings qs;
    char err[512];
    mlc_queue_settings_from_config(&app->cfg, &qs);
    if (mlc_queue_new(&qs, app->metrics, &app->queue, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector: configuration error: %s\n", err);
        return 2;
    }
    return 0;
}

/* SIGHUP: re-reads the configuration (the _FILE secrets, the key ring) and swaps in the webhook
 * secrets and keys. Anything else still needs a restart; a bad new configuration is logged and
 * the running one kept. */
static void reload_secrets(struct mlc_app *app)
{
    struct mlc_config next;
    char err[512];
    if (mlc_config_load(&next, NULL, NULL, err, sizeof err) != MLC_OK) {
        mlc_log(MLC_LOG_ERROR, "SIGHUP: configuration error, kept the current secrets: %s", err);
        return;
    }
    if (mlc_ingest_reload_secrets(app->ingest, &next, err, sizeof err) != MLC_OK) {
        mlc_log(MLC_LOG_ERROR, "SIGHUP: %s", err);
    } else if (mlc_config_str(&app->cfg, MLC_CFG_ADMIN_TOKENS) &&
               !mlc_config_str(&next, MLC_CFG_ADMIN_TOKENS)) {
        mlc_log(MLC_LOG_ERROR, "SIGHUP: MLC_ADMIN_TOKENS would be empty; kept the current ones "
                               "(the webhook secrets and keys were reloaded)");
    } else {
        const char *t = mlc_config_str(&next, MLC_CFG_ADMIN_TOKENS);
        pthread_mutex_lock(&app->admin_mu);
        char *old = app->admin_tokens;
        app->admin_tokens = t ? mlc_strdup(t) : NULL;
        pthread_mutex_unlock(&app->admin_mu);
        if (old) {
            mlc_wipe(old, strlen(old));
            free(old);
        }
        mlc_log(MLC_LOG_INFO, "SIGHUP: webhook secrets, keys and admin tokens reloaded");
    }
    mlc_config_free(&next);
}

static void collect(struct mlc_metrics *m, void *ud)
{
    struct mlc_app *app = ud;
    mlc_queue_collect(app->queue, m);
}

static int cmd_serve(int argc, char **argv)
{
    if (want_help(argc, argv)) {
        printf("usage: ml-connector serve\n\nServes the webhook endpoints, probes and metrics on "
               "MLC_LISTEN and runs MLC_WORKERS job workers.\nSIGTERM/SIGINT: /readyz turns 503, "
               "in-flight jobs get MLC_SHUTDOWN_GRACE_S, then exit 0.\n");
        return 0;
    }
    static struct mlc_app app; /* static: lives until exit, shared read-only after start */
    int rc = load_config(&app);
    if (rc)
        return rc;
    char err[512];
    if (mlc_config_check_serve(&app.cfg, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector: configuration error: %s\n", err);
        return 2;
    }
    app.started_ms = mlc_now_ms();
    mlc_log_kv(MLC_LOG_INFO, "starting",
               json_pack("{s:s, s:s, s:o}", "version", MLC_VERSION, "revision", MLC_GIT_REV,
                         "config", mlc_config_redacted(&app.cfg)));
    if (app.cfg.plaintext_secrets[0])
        mlc_log(MLC_LOG_WARN,
                "plaintext secrets in the environment (MLC_ALLOW_PLAINTEXT_SECRETS=1): %s; "
                "encrypt them with `ml-connector secrets encrypt` or give them through _FILE",
                app.cfg.plaintext_secrets);
    app.metrics = mlc_metrics_new();
    mlc_app_describe_metrics(app.metrics);
    mlc_reconcile_describe_metrics(app.metrics);
    mlc_metrics_set(app.metrics, "mlc_build_info",
                    "version=\"" MLC_VERSION "\",revision=\"" MLC_GIT_REV "\"", 1);
    if ((rc = open_queue(&app)))
        return rc;
    pthread_mutex_init(&app.admin_mu, NULL);
    if (mlc_ingest_new(&app, &app.ingest, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector: configuration error: %s\n", err);
        return 2;
    }
#ifndef MLC_TEST_BUILD
    /* the sync engine: mapping validated now, so a bad file stops start-up with exit 2 */
    if (mlc_sync_new(&app, &app.sync, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector: configuration error: %s\n", err);
        return 2;
    }
#endif

    /* Block the stop signals (and SIGHUP, the reload) in every thread; the main thread waits
     * for them with sigwait. */
    sigset_t stopset;
    sigemptyset(&stopset);
    sigaddset(&stopset, SIGTERM);
    sigaddset(&stopset, SIGINT);
    sigaddset(&stopset, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stopset, NULL);
    json_object_seed(0);

    /* Redis must be reachable and fit for purpose before we accept anything. */
    int64_t backoff = 200;
    for (;;) {
        struct mlc_redis *c = NULL;
        enum mlc_rc qrc = mlc_redis_connect(app.queue, &c, err, sizeof err);
        if (qrc == MLC_OK) {
            qrc = mlc_queue_prepare(app.queue, c, err, sizeof err);
            mlc_redis_free(c);
        }
        if (qrc == MLC_OK)
            break;
        if (qrc != MLC_EUNAVAIL) {
            mlc_log(MLC_LOG_ERROR, "refusing to start: %s", err);
            fprintf(stderr, "ml-connector: %s\n", err);
            return 1;
        }
        mlc_log(MLC_LOG_WARN, "waiting for Redis: %s", err);
        sigset_t pending;
        sigpending(&pending);
        if (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT))
            return 0;
        mlc_sleep_ms(backoff);
        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
    }
    mlc_metrics_set_collector(app.metrics, collect, &app);

    const struct mlc_job_handler *handlers = NULL;
    size_t nhandlers = 0;
#ifdef MLC_TEST_BUILD
    handlers = mlc_test_handlers(&nhandlers);
#else
    if (app.sync)
        handlers = mlc_sync_handlers(&nhandlers);
#endif
    mlc_jobs_start(&app, handlers, nhandlers, &app.jobs);
    struct mlc_poller *poller = NULL;
    if (mlc_poller_start(&app, &poller, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector: configuration error: %s\n", err);
        mlc_jobs_stop(app.jobs, 0);
        return 2;
    }
    struct mlc_reconciler *reconciler = NULL;
    if (mlc_reconciler_start(&app, &reconciler, err, sizeof err) != MLC_OK)
        mlc_log(MLC_LOG_ERROR, "%s", err);
    /* Every API client is made by now and has parsed its private key: the PEM texts are wiped
     * (a component that needs one must create its client before this point). */
    mlc_config_wipe(&app.cfg, MLC_CFG_NETSUITE_PRIVATE_KEY);
    mlc_config_wipe(&app.cfg, MLC_CFG_ENTRA_PRIVATE_KEY);

    struct mlc_route routes[8];
    size_t n = mlc_admin_probe_routes(&app, routes, 8);
    n += mlc_ingest_routes(app.ingest, routes + n, 8 - n);
    n += mlc_admin_api_routes(&app, routes + n, 8 - n);
    struct mlc_http_options ho = {
        .listen = mlc_config_str(&app.cfg, MLC_CFG_LISTEN),
        .threads = (unsigned)mlc_config_int(&app.cfg, MLC_CFG_HTTP_THREADS),
        .max_connections = (unsigned)mlc_config_int(&app.cfg, MLC_CFG_MAX_CONNECTIONS),
        .max_connections_per_ip =
            (unsigned)mlc_config_int(&app.cfg, MLC_CFG_MAX_CONNECTIONS_PER_IP),
        .connection_timeout_s = (unsigned)mlc_config_int(&app.cfg, MLC_CFG_CONNECTION_TIMEOUT_S),
        /* Webhook headers are small and bodies go to our own buffer: 16 KiB per connection
         * (libmicrohttpd clears it for every request on a kept-alive connection). */
        .connection_memory = 16 * 1024,
        .access_log = mlc_config_bool(&app.cfg, MLC_CFG_ACCESS_LOG),
        .metrics = app.metrics,
        .metrics_prefix = "mlc_http",
    };
    if (mlc_http_server_start(&ho, routes, n, &app.http, err, sizeof err) != MLC_OK) {
        mlc_log(MLC_LOG_ERROR, "%s", err);
        fprintf(stderr, "ml-connector: %s\n", err);
        mlc_poller_stop(poller);
        mlc_reconciler_stop(reconciler);
        mlc_jobs_stop(app.jobs, 0);
        return 1;
    }
    mlc_log_kv(MLC_LOG_INFO, "listening",
               json_pack("{s:s, s:i, s:i}", "listen", ho.listen, "port",
                         (int)mlc_http_server_port(app.http), "handlers", (int)nhandlers));

    int sig = 0;
    while (sigwait(&stopset, &sig) == 0 && sig == SIGHUP)
        reload_secrets(&app);
    atomic_store(&app.stopping, true);
    int64_t grace_ms = mlc_config_int(&app.cfg, MLC_CFG_SHUTDOWN_GRACE_S) * 1000;
    mlc_log(MLC_LOG_INFO, "signal %d: draining (readyz 503, %u jobs in flight, grace %lld ms)", sig,
            mlc_jobs_in_flight(app.jobs), (long long)grace_ms);
    /* Stop accepting connections at once; requests on open connections are still answered
     * (a probe on a kept-alive connection sees readyz 503), while jobs drain. */
    mlc_http_server_quiesce(app.http);
    mlc_poller_stop(poller);
    mlc_reconciler_stop(reconciler);
    mlc_jobs_stop(app.jobs, grace_ms);
    mlc_sync_free(app.sync);
    mlc_http_server_stop(app.http);
    mlc_ingest_free(app.ingest);
    mlc_queue_free(app.queue);
    mlc_metrics_free(app.metrics);
    if (app.admin_tokens) {
        mlc_wipe(app.admin_tokens, strlen(app.admin_tokens));
        free(app.admin_tokens);
    }
    mlc_config_free(&app.cfg);
    mlc_log(MLC_LOG_INFO, "stopped");
    return 0;
}

static int print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2));
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(v);
    return 0;
}

static int cmd_dlq(int argc, char **argv)
{
    static const char help[] =
        "usage: ml-connector dlq list [--limit N]\n"
        "       ml-connector dlq show ID\n"
        "       ml-connector dlq replay ID | --fingerprint F\n"
        "       ml-connector dlq purge ID | --all\n"
        "\n"
        "Dead-lettered jobs keep their reason and error fingerprint. Replaying by fingerprint\n"
        "re-enqueues every job with it and resumes a lane its circuit breaker paused.\n";
    if (want_help(argc, argv) || argc < 2) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    static struct mlc_app app;
    int rc = load_config(&app);
    if (rc || (rc = open_queue(&app)))
        return rc;
    struct mlc_redis *c = NULL;
    char err[512];
    if (mlc_redis_connect(app.queue, &c, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector dlq: %s\n", err);
        return 1;
    }
    const char *sub = argv[1];
    enum mlc_rc qrc = MLC_EINVAL;
    rc = 0;
    if (strcmp(sub, "list") == 0) {
        uint64_t limit = 100;
        if (argc >= 4 && strcmp(argv[2], "--limit") == 0 &&
            (mlc_parse_u64(argv[3], &limit) != MLC_OK || limit == 0 || limit > 100000)) {
            fprintf(stderr, "ml-connector dlq: --limit must be 1..100000\n");
            rc = 2;
            goto out;
        }
        json_t *out = NULL;
        if ((qrc = mlc_dlq_list(app.queue, c, limit, &out)) == MLC_OK)
            print_json(out);
    } else if (strcmp(sub, "show") == 0 && argc == 3) {
        json_t *out = NULL;
        if ((qrc = mlc_dlq_show(app.queue, c, argv[2], &out)) == MLC_OK)
            print_json(out);
    } else if (strcmp(sub, "replay") == 0 && argc >= 3) {
        size_t n = 0;
        bool by_fp = strcmp(argv[2], "--fingerprint") == 0;
        if (by_fp && argc != 4) {
            fprintf(stderr, "ml-connector dlq: --fingerprint needs a value\n");
            rc = 2;
            goto out;
        }
        qrc = mlc_dlq_replay(app.queue, c, by_fp ? NULL : argv[2], by_fp ? argv[3] : NULL, &n);
        if (qrc == MLC_OK)
            printf("{\"replayed\": %zu}\n", n);
    } else if (strcmp(sub, "purge") == 0 && argc == 3) {
        size_t n = 0;
        bool all = strcmp(argv[2], "--all") == 0;
        qrc = mlc_dlq_purge(app.queue, c, all ? NULL : argv[2], &n);
        if (qrc == MLC_OK)
            printf("{\"purged\": %zu}\n", n);
    } else {
        fputs(help, stderr);
        rc = 2;
        goto out;
    }
    if (qrc == MLC_ENOTFOUND) {
        fprintf(stderr, "ml-connector dlq: no such entry\n");
        rc = 1;
    } else if (qrc == MLC_EINVAL) {
        fprintf(stderr, "ml-connector dlq: not a valid entry id\n");
        rc = 2;
    } else if (qrc != MLC_OK) {
        fprintf(stderr, "ml-connector dlq: Redis failed or is unreachable\n");
        rc = 1;
    }
out:
    mlc_redis_free(c);
    mlc_queue_free(app.queue);
    mlc_config_free(&app.cfg);
    return rc;
}

static int cmd_healthcheck(int argc, char **argv)
{
    if (want_help(argc, argv)) {
        printf("usage: ml-connector healthcheck\n\nGET /healthz on MLC_LISTEN (wildcards on "
               "loopback); exit 0 when it answers 200.\n");
        return 0;
    }
    static struct mlc_app app;
    int rc = load_config(&app);
    if (rc)
        return rc;
    int status = 0;
    enum mlc_rc prc =
        mlc_http_probe(mlc_config_str(&app.cfg, MLC_CFG_LISTEN), "/healthz", 3000, &status);
    mlc_config_free(&app.cfg);
    if (prc == MLC_EINVAL) {
        fprintf(stderr, "ml-connector healthcheck: MLC_LISTEN is not host:port\n");
        return 2;
    }
    if (prc != MLC_OK || status != 200) {
        fprintf(stderr, "ml-connector healthcheck: unhealthy (status %d)\n", status);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* neither libmicrohttpd nor hiredis ignores it */
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        if (want_help(argc - 1, argv + 1)) {
            printf("usage: ml-connector version\n");
            return 0;
        }
        printf("ml-connector %s (%s)\n", MLC_VERSION, MLC_GIT_REV);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "dlq") == 0)
        return cmd_dlq(argc - 1, argv + 1);
    if (strcmp(cmd, "backfill") == 0)
        return mlc_backfill_main(argc - 1, argv + 1);
    if (strcmp(cmd, "setup") == 0)
        return mlc_setup_main(argc - 1, argv + 1);
    if (strcmp(cmd, "link") == 0)
        return mlc_link_main(argc - 1, argv + 1);
    if (strcmp(cmd, "reconcile") == 0)
        return mlc_reconcile_main(argc - 1, argv + 1);
    if (strcmp(cmd, "sandbox") == 0)
        return mlc_sandbox_main(argc - 1, argv + 1);
    if (strcmp(cmd, "healthcheck") == 0)
        return cmd_healthcheck(argc - 1, argv + 1);
    if (strcmp(cmd, "sync") == 0)
        return mlc_sync_cli_main(argc - 1, argv + 1);
    if (strcmp(cmd, "audit") == 0)
        return mlc_audit_cli_main(argc - 1, argv + 1);
    if (strcmp(cmd, "secrets") == 0)
        return mlc_secrets_main(argc - 1, argv + 1);
    fprintf(stderr, "ml-connector: unknown command '%s'\n\n%s", cmd, usage);
    return 2;
}
