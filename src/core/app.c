/* Every metric family the service exports, declared once (HELP and TYPE lines). */
#include "mlc/app.h"
#include "mlc/metrics.h"

void mlc_app_describe_metrics(struct mlc_metrics *m)
{
    static const struct {
        const char *name;
        enum mlc_metric_type type;
        const char *help;
    } fams[] = {
        {"mlc_build_info", MLC_METRIC_GAUGE, "Build information (version, revision)"},
        {"mlc_uptime_seconds", MLC_METRIC_GAUGE, "Seconds since start"},
        {"mlc_http_requests_total", MLC_METRIC_COUNTER, "HTTP requests by route and status"},
        {"mlc_http_request_duration_seconds", MLC_METRIC_HISTOGRAM,
         "HTTP request duration by route"},
        {"mlc_webhook_events_total", MLC_METRIC_COUNTER,
         "Webhook events by source and outcome (accepted, duplicate, ignored)"},
        {"mlc_webhook_rejected_total", MLC_METRIC_COUNTER,
         "Rejected webhook requests by source and problem code"},
        {"mlc_queue_depth", MLC_METRIC_GAUGE, "Entries waiting per stream (live, bulk, retry)"},
        {"mlc_dlq_depth", MLC_METRIC_GAUGE, "Entries in the dead-letter stream"},
        {"mlc_dlq_added_total", MLC_METRIC_COUNTER, "Jobs dead-lettered by this process"},
        {"mlc_lane_paused", MLC_METRIC_GAUGE, "1 when a lane is paused"},
        {"mlc_breaker_alerts_total", MLC_METRIC_COUNTER,
         "Circuit-breaker trips (one alert each), all replicas"},
        {"mlc_jobs_total", MLC_METRIC_COUNTER, "Jobs by kind and outcome (done, retry, dead)"},
        {"mlc_job_duration_seconds", MLC_METRIC_HISTOGRAM, "Job handler duration by kind"},
        {"mlc_job_retries_total", MLC_METRIC_COUNTER, "Jobs rescheduled with backoff"},
        {"mlc_jobs_in_flight", MLC_METRIC_GAUGE, "Jobs being processed by this process"},
        {"mlc_redis_up", MLC_METRIC_GAUGE, "1 when Redis answered the last scrape"},
    };
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++)
        mlc_metrics_describe(m, fams[i].name, fams[i].type, fams[i].help);
}
