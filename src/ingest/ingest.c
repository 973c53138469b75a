/* Ingest set-up: verifier state from the configuration, the route rows, shared reply helpers. */
#include "internal.h"
#include "mlc/config.h"
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

enum mlc_rc mlc_ingest_new(struct mlc_app *app, struct mlc_ingest **out, char *err, size_t errsz)
{
    const struct mlc_config *cfg = &app->cfg;
    struct mlc_ingest *in = mlc_calloc(1, sizeof *in);
    in->app = app;
    in->ns_auth = strcmp(mlc_config_str(cfg, MLC_CFG_NETSUITE_WEBHOOK_AUTH), "hmac") == 0
                      ? NS_AUTH_HMAC
                      : NS_AUTH_SECRET;
    in->n_ns_secrets =
        mlc_list_split(mlc_config_str(cfg, MLC_CFG_NETSUITE_WEBHOOK_SECRETS), &in->ns_secrets);
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
    if (strcmp(dvauth, "header") == 0) {
        in->dv_auth = DV_AUTH_HEADER;
        if (parse_pairs(mlc_config_str(cfg, MLC_CFG_DATAVERSE_WEBHOOK_HEADERS), &in->dv_pairs,
                        &in->n_dv_pairs, "MLC_DATAVERSE_WEBHOOK_HEADERS", err, errsz) != MLC_OK)
            goto fail;
    } else if (strcmp(dvauth, "querystring") == 0) {
        in->dv_auth = DV_AUTH_QUERY;
        if (parse_pairs(mlc_config_str(cfg, MLC_CFG_DATAVERSE_WEBHOOK_QUERY), &in->dv_pairs,
                        &in->n_dv_pairs, "MLC_DATAVERSE_WEBHOOK_QUERY", err, errsz) != MLC_OK)
            goto fail;
    } else {
        in->dv_auth = DV_AUTH_WEBHOOKKEY;
    }
    in->n_dv_keys =
        mlc_list_split(mlc_config_str(cfg, MLC_CFG_DATAVERSE_WEBHOOK_KEYS), &in->dv_keys);
    *out = in;
    return MLC_OK;
fail:
    mlc_ingest_free(in);
    return MLC_EINVAL;
}

void mlc_ingest_free(struct mlc_ingest *in)
{
    if (!in)
        return;
    mlc_strv_free(in->ns_secrets, in->n_ns_secrets);
    mlc_strv_free(in->dv_keys, in->n_dv_keys);
    for (size_t i = 0; i < in->n_dv_pairs; i++) {
        free(in->dv_pairs[i].k);
        memset(in->dv_pairs[i].v, 0, strlen(in->dv_pairs[i].v));
        free(in->dv_pairs[i].v);
    }
    free(in->dv_pairs);
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
               json_pack("{s:s, s:s, s:s, s:s}", "req", mlc_request_id(r), "source", source,
                         "code", code, "detail", detail ? detail : ""));
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
