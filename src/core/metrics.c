/* Metrics registry rendered as Prometheus text: a mutex-guarded hash of series by name+labels. */
#include "mlc/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1,     2.5,   5,     10,  30};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

struct family {
    char *name;
    char *help;
    enum mlc_metric_type type;
};

struct series {
    char *key; /* name "\x01" labels */
    int family;
    char *labels;
    double value;
    uint64_t counts[NBUCKETS];
    uint64_t count;
    double sum;
};

struct mlc_metrics {
    pthread_mutex_t mu;
    struct family *fams;
    size_t nfams;
    struct series *slots;
    size_t cap, used;
    mlc_metrics_collect_fn collect;
    void *collect_ud;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ull;
    }
    return h;
}

struct mlc_metrics *mlc_metrics_new(void)
{
    struct mlc_metrics *m = mlc_calloc(1, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    m->cap = 256;
    m->slots = mlc_calloc(m->cap, sizeof *m->slots);
    return m;
}

void mlc_metrics_free(struct mlc_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slots[i].key);
        free(m->slots[i].labels);
    }
    for (size_t i = 0; i < m->nfams; i++) {
        free(m->fams[i].name);
        free(m->fams[i].help);
    }
    free(m->fams);
    free(m->slots);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static int find_family(struct mlc_metrics *m, const char *name)
{
    for (size_t i = 0; i < m->nfams; i++)
        if (strcmp(m->fams[i].name, name) == 0)
            return (int)i;
    return -1;
}

void mlc_metrics_describe(struct mlc_metrics *m, const char *name, enum mlc_metric_type type,
                          const char *help)
{
    pthread_mutex_lock(&m->mu);
    if (find_family(m, name) < 0) {
        m->fams = mlc_realloc(m->fams, (m->nfams + 1) * sizeof *m->fams);
        m->fams[m->nfams].name = mlc_strdup(name);
        m->fams[m->nfams].help = mlc_strdup(help);
        m->fams[m->nfams].type = type;
        m->nfams++;
    }
    pthread_mutex_unlock(&m->mu);
}

static void grow(struct mlc_metrics *m);

/* Finds or creates the series; called with the mutex held. */
static struct series *lookup(struct mlc_metrics *m, const char *name, const char *labels)
{
    char key[512];
    int n = snprintf(key, sizeof key, "%s\x01%s", name, labels ? labels : "");
    if (n < 0 || (size_t)n >= sizeof key)
        return NULL;
    if ((m->used + 1) * 2 > m->cap)
        grow(m);
    size_t i = hash(key) & (m->cap - 1);
    while (m->slots[i].key) {
        if (strcmp(m->slots[i].key, key) == 0)
            return &m->slots[i];
        i = (i + 1) & (m->cap - 1);
    }
    int fam = find_family(m, name);
    if (fam < 0) {
        m->fams = mlc_realloc(m->fams, (m->nfams + 1) * sizeof *m->fams);
        m->fams[m->nfams].name = mlc_strdup(name);
        m->fams[m->nfams].help = mlc_strdup(name);
        m->fams[m->nfams].type = MLC_METRIC_GAUGE;
        fam = (int)m->nfams++;
    }
    struct series *s = &m->slots[i];
    memset(s, 0, sizeof *s);
    s->key = mlc_strdup(key);
    s->labels = mlc_strdup(labels ? labels : "");
    s->family = fam;
    m->used++;
    return s;
}

static void grow(struct mlc_metrics *m)
{
    size_t ocap = m->cap;
    struct series *old = m->slots;
    m->cap *= 2;
    m->slots = mlc_calloc(m->cap, sizeof *m->slots);
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].key)
            continue;
        size_t j = hash(old[i].key) & (m->cap - 1);
        while (m->slots[j].key)
            j = (j + 1) & (m->cap - 1);
        m->slots[j] = old[i];
    }
    free(old);
}

void mlc_metrics_add(struct mlc_metrics *m, const char *name, const char *labels, double v)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    struct series *s = lookup(m, name, labels);
    if (s)
        s->value += v;
    pthread_mutex_unlock(&m->mu);
}

void mlc_metrics_set(struct mlc_metrics *m, const char *name, const char *labels, double v)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    struct series *s = lookup(m, name, labels);
    if (s)
        s->value = v;
    pthread_mutex_unlock(&m->mu);
}

double mlc_metrics_get(struct mlc_metrics *m, const char *name, const char *labels)
{
    double v = 0;
    pthread_mutex_lock(&m->mu);
    struct series *s = lookup(m, name, labels);
    if (s)
        v = m->fams[s->family].type == MLC_METRIC_HISTOGRAM ? (double)s->count : s->value;
    pthread_mutex_unlock(&m->mu);
    return v;
}

void mlc_metrics_observe(struct mlc_metrics *m, const char *name, const char *labels,
                         double seconds)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    struct series *s = lookup(m, name, labels);
    if (s) {
        for (size_t b = 0; b < NBUCKETS; b++)
            if (seconds <= buckets[b])
                s->counts[b]++;
        s->count++;
        s->sum += seconds;
    }
    pthread_mutex_unlock(&m->mu);
}

void mlc_metrics_set_collector(struct mlc_metrics *m, mlc_metrics_collect_fn fn, void *ud)
{
    m->collect = fn;
    m->collect_ud = ud;
}

static int cmp_series(const void *a, const void *b)
{
    const struct series *const *x = a, *const *y = b;
    return strcmp((*x)->key, (*y)->key);
}

static const char *type_name(enum mlc_metric_type t)
{
    return t == MLC_METRIC_COUNTER ? "counter" : t == MLC_METRIC_GAUGE ? "gauge" : "histogram";
}

enum mlc_rc mlc_metrics_render(struct mlc_metrics *m, struct mlc_buf *out)
{
    if (m->collect)
        m->collect(m, m->collect_ud);
    pthread_mutex_lock(&m->mu);
    struct series **list = mlc_malloc((m->used + 1) * sizeof *list);
    size_t n = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            list[n++] = &m->slots[i];
    qsort(list, n, sizeof *list, cmp_series);
    enum mlc_rc rc = MLC_OK;
    for (size_t f = 0; f < m->nfams && rc == MLC_OK; f++) {
        const struct family *fam = &m->fams[f];
        rc = mlc_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name,
                            type_name(fam->type));
        for (size_t i = 0; i < n && rc == MLC_OK; i++) {
            const struct series *s = list[i];
            if (s->family != (int)f)
                continue;
            const char *l = s->labels;
            const char *sep = *l ? "," : "";
            if (fam->type != MLC_METRIC_HISTOGRAM) {
                if (*l)
                    rc = mlc_buf_printf(out, "%s{%s} %.17g\n", fam->name, l, s->value);
                else
                    rc = mlc_buf_printf(out, "%s %.17g\n", fam->name, s->value);
                continue;
            }
            for (size_t b = 0; b < NBUCKETS && rc == MLC_OK; b++)
                rc = mlc_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", fam->name, l, sep,
                                    buckets[b], (unsigned long long)s->counts[b]);
            if (rc == MLC_OK)
                rc = mlc_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", fam->name, l, sep,
                                    (unsigned long long)s->count);
            if (rc == MLC_OK)
                rc = mlc_buf_printf(out, "%s_sum%s%s%s %.9g\n%s_count%s%s%s %llu\n", fam->name,
                                    *l ? "{" : "", l, *l ? "}" : "", s->sum, fam->name,
                                    *l ? "{" : "", l, *l ? "}" : "", (unsigned long long)s->count);
        }
    }
    pthread_mutex_unlock(&m->mu);
    free(list);
    return rc;
}
