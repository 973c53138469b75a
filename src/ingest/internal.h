/* Internal to src/ingest/: verifier state shared by the two endpoint files. */
#ifndef MLC_INGEST_INTERNAL_H
#define MLC_INGEST_INTERNAL_H

#include "mlc/app.h"
#include "mlc/ingest.h"
#include "mlc/netaddr.h"

#include <pthread.h>
#include <stdatomic.h>

enum ns_auth { NS_AUTH_SECRET, NS_AUTH_HMAC };
enum dv_auth { DV_AUTH_WEBHOOKKEY, DV_AUTH_HEADER, DV_AUTH_QUERY };

struct kv {
    char *k, *v;
};

/* The accepted secrets, swapped as a whole on SIGHUP; a request holds a reference while it
 * checks them, so a reload never frees a set in use. */
struct ingest_secrets {
    atomic_int refs;
    char **ns_secrets;
    size_t n_ns_secrets;
    char **dv_keys;
    size_t n_dv_keys;
    struct kv *dv_pairs;
    size_t n_dv_pairs;
};

struct mlc_ingest {
    struct mlc_app *app;
    enum ns_auth ns_auth;
    pthread_mutex_t sec_mu;
    struct ingest_secrets *sec;
    int64_t ns_tolerance_s;
    struct mlc_cidr_list ns_cidrs;
    struct mlc_cidr_list trusted;
    const char *ns_account;
    enum dv_auth dv_auth;
    const char *dv_org;
};

/* A reference to the current secret set; release it with secrets_put. */
struct ingest_secrets *secrets_get(struct mlc_ingest *in);
void secrets_put(struct ingest_secrets *s);

/* Counts and answers a rejection (problem+json). */
void ingest_reject(struct mlc_ingest *in, struct mlc_request *r, const char *source,
                   const char *code, const char *detail);
/* Counts events by outcome. */
void ingest_count(struct mlc_ingest *in, const char *source, const char *outcome, size_t n);

void ns_early(struct mlc_request *r, void *ud);
void ns_handle(struct mlc_request *r, void *ud);
void dv_early(struct mlc_request *r, void *ud);
void dv_handle(struct mlc_request *r, void *ud);

/* Parser failure: sets the problem code and detail, then jumps to the function's fail label. */
#define FAIL(code, ...)                                                                            \
    do {                                                                                           \
        *problem = (code);                                                                         \
        snprintf(detail, detailsz, __VA_ARGS__);                                                   \
        goto fail;                                                                                 \
    } while (0)

#endif
