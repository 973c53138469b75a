/* Metrics registry: counters, gauges and histograms rendered as Prometheus text. Thread-safe. */
#ifndef MLC_METRICS_H
#define MLC_METRICS_H

#include "mlc/core.h"

struct mlc_metrics;

enum mlc_metric_type { MLC_METRIC_COUNTER, MLC_METRIC_GAUGE, MLC_METRIC_HISTOGRAM };

struct mlc_metrics *mlc_metrics_new(void);
void mlc_metrics_free(struct mlc_metrics *m);

/* Declares a family (HELP and TYPE lines). Call before threads start. */
void mlc_metrics_describe(struct mlc_metrics *m, const char *name, enum mlc_metric_type type,
                          const char *help);
/* labels: Prometheus label text without braces (`a="x",b="y"`) or NULL. */
void mlc_metrics_add(struct mlc_metrics *m, const char *name, const char *labels, double v);
void mlc_metrics_set(struct mlc_metrics *m, const char *name, const char *labels, double v);
double mlc_metrics_get(struct mlc_metrics *m, const char *name, const char *labels);
void mlc_metrics_observe(struct mlc_metrics *m, const char *name, const char *labels,
                         double seconds);

/* Called by render first, to refresh gauges computed on demand (queue depth, ...). */
typedef void (*mlc_metrics_collect_fn)(struct mlc_metrics *m, void *ud);
void mlc_metrics_set_collector(struct mlc_metrics *m, mlc_metrics_collect_fn fn, void *ud);

enum mlc_rc mlc_metrics_render(struct mlc_metrics *m, struct mlc_buf *out);

#endif
