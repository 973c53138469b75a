/* GET /healthz (alive), GET /readyz (Redis reachable and not shutting down), GET /metrics. */
#include "mlc/admin.h"
#include "mlc/app.h"
#include "mlc/metrics.h"
#include "mlc/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void healthz(struct mlc_request *r, void *ud)
{
    (void)ud;
    mlc_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void readyz(struct mlc_request *r, void *ud)
{
    struct mlc_app *app = ud;
    if (atomic_load(&app->stopping)) {
        mlc_reply_problem(r, "shutting_down", "SIGTERM received; draining");
        return;
    }
    if (!mlc_queue_healthy(app->queue)) {
        mlc_reply_problem(r, "queue_unavailable", "Redis is unreachable");
        return;
    }
    mlc_reply_json(r, 200, json_pack("{s:s}", "status", "ready"));
}

static void metrics(struct mlc_request *r, void *ud)
{
    struct mlc_app *app = ud;
    struct mlc_buf b;
    mlc_buf_init(&b, 16u << 20);
    mlc_metrics_set(app->metrics, "mlc_jobs_in_flight", NULL, mlc_jobs_in_flight(app->jobs));
    mlc_metrics_set(app->metrics, "mlc_uptime_seconds", NULL,
                    (double)(mlc_now_ms() - app->started_ms) / 1000.0);
    if (mlc_metrics_render(app->metrics, &b) != MLC_OK) {
        mlc_buf_free(&b);
        mlc_reply_problem(r, "internal_error", "metrics output exceeded its limit");
        return;
    }
    mlc_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "",
                   b.len);
    mlc_buf_free(&b);
}

size_t mlc_admin_probe_routes(struct mlc_app *app, struct mlc_route *routes, size_t max)
{
    if (max < 3)
        return 0;
    routes[0] = (struct mlc_route){.path = "/healthz", .methods = "GET,HEAD", .name = "healthz",
                                   .max_body = 0, .fn = healthz, .ud = app};
    routes[1] = (struct mlc_route){.path = "/readyz", .methods = "GET,HEAD", .name = "readyz",
                                   .max_body = 0, .fn = readyz, .ud = app};
    routes[2] = (struct mlc_route){.path = "/metrics", .methods = "GET", .name = "metrics",
                                   .max_body = 0, .fn = metrics, .ud = app};
    return 3;
}
