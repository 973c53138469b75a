/* Ingest set-up: verifier state from the configuration, the route rows, shared reply helpers. */
#include "internal.h"
#include "mlc/config.h"
#include "mlc/crypto.h"
#include "mlc/log.h"
#include "mlc/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum mlc_rc parse_pairs(const char *s, struct kv **out, size_t *n, const char *var,
                               char *err, size_t errsz)
{
    char **items;
    size_t k = mlc_list_split(s, &items);
    *out = mlc_calloc(k ? k : 1, sizeof **out);
    *n = 0;
    for (size_t i = 0; i < k; i++) {
        char *eq = strchr(items[i], '=');
        if (!eq || eq == items[i]) {
            snprintf(err, errsz, "%s: item %zu is not name=value", var, i + 1);
            mlc_strv_free(items, k);
            return MLC_EINVAL;
        }
        (*out)[*n].k = mlc_strndup(items[i], (size_t)(eq - items[i]));
        (*out)[*n].v = mlc_strdup(eq + 1);
        (*n)++;
    }
    mlc_strv_free(items, k);
    return MLC_OK;
}

static void secrets_free(struct ingest_secrets *s)
{
    if (!s)
        return;
    mlc_strv_free(s->ns_secrets, s->n_ns_secrets);
    mlc_strv_free(s->dv_keys, s->n_dv_keys);
    for (size_t i = 0; i < s->n_dv_pairs; i++) {
        free(s->dv_pairs[i].k);
        mlc_wipe(s->dv_pairs[i].v, strlen(s->dv_pairs[i].v));
        free(s->dv_pairs[i].v);
    }
    free(s->dv_pairs);
    free(s);
}

struct ingest_secrets *secrets_get(struct mlc_ingest *in)
{
    pthread_mutex_lock(&in->sec_mu);
    struct ingest_secrets *s = in->sec;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&in->sec_mu);
    return s;
}

void secrets_put(struct ingest_secrets *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        secrets_free(s);
}

/* The secret set of a configuration (webhook secrets, WebhookKeys, header/query pairs). */
static enum mlc_rc secrets_load(const struct mlc_config *cfg, enum dv_auth dv_auth,
                                struct ingest_secrets **out, char *err, size_t errsz)
{
    struct ingest_secrets *s = mlc_calloc(1, sizeof *s);
    atomic_init(&s->refs, 1);
    s->n_ns_secrets =
        mlc_list_split(mlc_config_str(cfg, MLC_CFG_NETSUITE_WEBHOOK_SECRETS), &s->ns_secrets);
    s->n_dv_keys = mlc_list_split(mlc_config_str(cfg, MLC_CFG_DATAVERSE_WEBHOOK_KEYS), &s->dv_keys);
    enum mlc_rc rc = MLC_OK;
    if (dv_auth == DV_AUTH_HEADER)
        rc = parse_pairs(mlc_config_str(cfg, MLC_CFG_DATAVERSE_WEBHOOK_HEADERS), &s->dv_pairs,
                         &s->n_dv_pairs, "MLC_DATAVERSE_WEBHOOK_HEADERS", err, errsz);
    else if (dv_auth == DV_AUTH_QUERY)
        rc = parse_pairs(mlc_config_str(cfg, MLC_CFG_DATAVERSE_WEBHOOK_QUERY), &s->dv_pairs,
                         &s->n_dv_pairs, "MLC_DATAVERSE_WEBHOOK_QUERY", err, errsz);
    if (rc != MLC_OK) {
        secrets_free(s);
        return rc;
    }
    *out = s;
    return MLC_OK;
}

enum mlc_rc mlc_ingest_new(struct mlc_app *app, struct mlc_ingest **out, char *err, size_t errsz)
{
    const struct mlc_config *cfg = &app->cfg;
    struct mlc_ingest *in = mlc_calloc(1, sizeof *in);
    in->app = app;
    pthread_mutex_init(&in->sec_mu, NULL);
    in->ns_auth = strcmp(mlc_config_str(cfg, MLC_CFG_NETSUITE_WEBHOOK_AUTH), "hmac") == 0
                      ? NS_AUTH_HMAC
                      : NS_AUTH_SECRET;
    in->ns_tolerance_s = mlc_config_int(cfg, MLC_CFG_NETSUITE_WEBHOOK_TOLERANCE_S);
    char e[160];
    if (mlc_cidr_list_parse(mlc_config_str(cfg, MLC_CFG_NETSUITE_ALLOWED_CIDRS), true,
                            &in->ns_cidrs, e, sizeof e) != MLC_OK) {
        snprintf(err, errsz, "MLC_NETSUITE_ALLOWED_CIDRS: %s", e);
        goto fail;
    }
    if (mlc_cidr_list_parse(mlc_config_str(cfg, MLC_CFG_TRUSTED_PROXIES), false, &in->trusted, e,
                            sizeof e) != MLC_OK) {
        snprintf(err, errsz, "MLC_TRUSTED_PROXIES: %s", e);
        goto fail;
    }
    in->ns_account = mlc_config_str(cfg, MLC_CFG_NETSUITE_ACCOUNT_ID);
    in->dv_org = mlc_config_str(cfg, MLC_CFG_DATAVERSE_ORGANIZATION_ID);
    const char *dvauth = mlc_config_str(cfg, MLC_CFG_DATAVERSE_WEBHOOK_AUTH);
    in->dv_auth = strcmp(dvauth, "header") == 0        ? DV_AUTH_HEADER
                  : strcmp(dvauth, "querystring") == 0 ? DV_AUTH_QUERY
                                                       : DV_AUTH_WEBHOOKKEY;
    if (secrets_load(cfg, in->dv_auth, &in->sec, err, errsz) != MLC_OK)
        goto fail;
    *out = in;
    return MLC_OK;
fail:
    mlc_ingest_free(in);
    return MLC_EINVAL;
}

enum mlc_rc mlc_ingest_reload_secrets(struct mlc_ingest *in, const struct mlc_config *cfg,
                                      char *err, size_t errsz)
{
    struct ingest_secrets *s = NULL;
    if (secrets_load(cfg, in->dv_auth, &s, err, errsz) != MLC_OK)
        return MLC_EINVAL;
    if ((in->dv_auth == DV_AUTH_WEBHOOKKEY && s->n_dv_keys == 0) ||
        (in->dv_auth != DV_AUTH_WEBHOOKKEY && s->n_dv_pairs == 0) || s->n_ns_secrets == 0) {
        snprintf(err, errsz,
                 "a reload would leave an endpoint without any secret; kept the "
                 "current ones");
        secrets_free(s);
        return MLC_EINVAL;
    }
    pthread_mutex_lock(&in->sec_mu);
    struct ingest_secrets *old = in->sec;
    in->sec = s;
    pthread_mutex_unlock(&in->sec_mu);
    secrets_put(old);
    return MLC_OK;
}

void mlc_ingest_free(struct mlc_ingest *in)
{
    if (!in)
        return;
    secrets_put(in->sec);
    pthread_mutex_destroy(&in->sec_mu);
    mlc_cidr_list_free(&in->ns_cidrs);
    mlc_cidr_list_free(&in->trusted);
    free(in);
}

size_t mlc_ingest_routes(struct mlc_ingest *in, struct mlc_route *routes, size_t max)
{
    if (max < 2)
        return 0;
    const struct mlc_config *cfg = &in->app->cfg;
    routes[0] = (struct mlc_route){
        .path = "/v1/webhooks/netsuite",
        .methods = "POST",
        .name = "webhook_netsuite",
        .max_body = (size_t)mlc_config_int(cfg, MLC_CFG_NETSUITE_MAX_BODY_BYTES),
        .early = ns_early,
        .fn = ns_handle,
        .ud = in,
    };
    routes[1] = (struct mlc_route){
        .path = "/v1/webhooks/dataverse",
        .methods = "POST",
        .name = "webhook_dataverse",
        .max_body = (size_t)mlc_config_int(cfg, MLC_CFG_DATAVERSE_MAX_BODY_BYTES),
        .early = dv_early,
        .fn = dv_handle,
        .ud = in,
    };
    return 2;
}

void ingest_reject(struct mlc_ingest *in, struct mlc_request *r, const char *source,
                   const char *code, const char *detail)
{
    char labels[128];
    snprintf(labels, sizeof labels, "source=\"%s\",code=\"%s\"", source, code);
    mlc_metrics_add(in->app->metrics, "mlc_webhook_rejected_total", labels, 1);
    /* Bad input is the sender's problem: debug level, never paging anyone. */
    mlc_log_kv(MLC_LOG_DEBUG, "webhook rejected",
               json_pack("{s:s, s:s, s:s, s:s}", "req", mlc_request_id(r), "source", source, "code",
                         code, "detail", detail ? detail : ""));
    if (detail)
        mlc_reply_problem(r, code, "%s", detail);
    else
        mlc_reply_problem(r, code, NULL);
}

void ingest_count(struct mlc_ingest *in, const char *source, const char *outcome, size_t n)
{
    if (!n)
        return;
    char labels[96];
    snprintf(labels, sizeof labels, "source=\"%s\",outcome=\"%s\"", source, outcome);
    mlc_metrics_add(in->app->metrics, "mlc_webhook_events_total", labels, (double)n);
}
