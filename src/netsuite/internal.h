/* Internal to the NetSuite client: the shared client and the per-thread session. */
#ifndef MLC_NETSUITE_INTERNAL_H
#define MLC_NETSUITE_INTERNAL_H

#include "mlc/netsuite.h"

#include <pthread.h>
#include <stdatomic.h>

struct mlc_net;

#define NS_NSTR 14

struct mlc_netsuite {
    struct mlc_ns_settings set; /* strings point into strs */
    char *strs[NS_NSTR];
    char base[512]; /* no trailing slash */
    char token_url[640];
    char alg[8];           /* M2M JWT alg */
    char key_id[80];       /* what identifies "the key" in Redis: kid + key fingerprint */
    struct mlc_pkey *pkey; /* M2M signing key, parsed at start (its PEM is wiped then) */
    struct mlc_queue *q;
    struct mlc_metrics *metrics;
    char instance[33]; /* random, names our semaphore holders */
    atomic_uint_fast64_t seq;
    atomic_uint_fast64_t tokens;
    atomic_int cap;        /* effective concurrency share */
    atomic_bool cap_sized; /* governanceLimits consulted */
    /* token cache (M2M) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool refreshing;
    char *token;
    int64_t token_exp_ms; /* wall clock */
    int64_t token_life_s;
    /* in-process semaphore when there is no queue */
    int local_used;
};

struct mlc_ns_session {
    struct mlc_netsuite *ns;
    struct mlc_net *net;
    struct mlc_redis *redis;
    int64_t redis_retry_ms; /* after a failed connect, wait before the next */
};

/* auth.c: the Authorization header value for a request (M2M bearer or TBA OAuth 1.0a). */
enum mlc_rc ns_authorization(struct mlc_ns_session *s, const char *method, const char *url,
                             const char *bearer, char **out, struct mlc_ns_err *e);
/* client.c: adds one to the counter family{label="value"} (no-op without metrics). */
void ns_counter_add(struct mlc_netsuite *ns, const char *family, const char *label,
                    const char *value);
void ns_err_set(struct mlc_ns_err *e, bool retryable, long status, const char *cls, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));

#endif
