/* The day-one commands' shared start: configuration, mapping and the API clients, each failure
 * reported once as one line with the exit status CONFIG.md gives it. */
#include "internal.h"
#include "mlc/log.h"
#include "mlc/metrics.h"
#include "mlc/queue.h"
#include "mlc/sync.h"

#include <stdio.h>
#include <string.h>

int dayone_open(struct dayone *d, const char *cmd, bool want_ns)
{
    return dayone_open_ex(d, cmd, want_ns, true);
}

int dayone_open_ex(struct dayone *d, const char *cmd, bool want_ns, bool install_mapping)
{
    char err[512];
    memset(d, 0, sizeof *d);
    d->cmd = cmd;
    if (mlc_config_load(&d->cfg, NULL, NULL, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector: configuration error: %s\n", err);
        return 2;
    }
    mlc_log_set_level(
        (enum mlc_log_level)mlc_log_level_parse(mlc_config_str(&d->cfg, MLC_CFG_LOG_LEVEL)));
    if (!mlc_config_str(&d->cfg, MLC_CFG_DATAVERSE_URL)) {
        fprintf(stderr, "ml-connector: configuration error: MLC_DATAVERSE_URL: required by %s\n",
                cmd);
        return 2;
    }
    if (want_ns && !mlc_config_str(&d->cfg, MLC_CFG_NETSUITE_ACCOUNT_ID)) {
        fprintf(stderr,
                "ml-connector: configuration error: MLC_NETSUITE_ACCOUNT_ID: required by %s\n",
                cmd);
        return 2;
    }
    enum mlc_rc rc = mlc_sync_mapping_load(&d->cfg, &d->mapping, err, sizeof err);
    if (rc != MLC_OK) {
        fprintf(stderr, "ml-connector: configuration error: %s\n", err);
        return 2;
    }
    d->metrics = mlc_metrics_new();
    struct mlc_dv_settings dvs;
    mlc_dv_settings_from_config(&d->cfg, &dvs);
    if (mlc_dataverse_new(&dvs, NULL, d->metrics, &d->dv, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector: configuration error: %s\n", err);
        return 2;
    }
    if (mlc_dv_session_new(d->dv, &d->dvs, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector %s: Dataverse: %s\n", cmd, err);
        return 1;
    }
    if (want_ns) {
        struct mlc_ns_settings nss;
        mlc_ns_settings_from_config(&d->cfg, &nss);
        if (install_mapping) {
            mlc_mapping_install(d->mapping);
            d->installed = true;
        }
        if (mlc_netsuite_new(&nss, NULL, d->metrics, &d->ns, err, sizeof err) != MLC_OK) {
            fprintf(stderr, "ml-connector: configuration error: %s\n", err);
            return 2;
        }
        if (mlc_ns_session_new(d->ns, &d->nss, err, sizeof err) != MLC_OK) {
            fprintf(stderr, "ml-connector %s: NetSuite: %s\n", cmd, err);
            return 1;
        }
    }
    return 0;
}

struct mlc_redis *dayone_redis(struct dayone *d, char *err, size_t errsz)
{
    if (d->redis)
        return d->redis;
    if (!d->q) {
        struct mlc_queue_settings qs;
        mlc_queue_settings_from_config(&d->cfg, &qs);
        if (mlc_queue_new(&qs, d->metrics, &d->q, err, errsz) != MLC_OK)
            return NULL;
    }
    if (mlc_redis_connect(d->q, &d->redis, err, errsz) != MLC_OK)
        d->redis = NULL;
    return d->redis;
}

void dayone_close(struct dayone *d)
{
    mlc_redis_free(d->redis);
    mlc_queue_free(d->q);
    mlc_ns_session_free(d->nss);
    mlc_netsuite_free(d->ns);
    mlc_dv_session_free(d->dvs);
    mlc_dataverse_free(d->dv);
    if (d->installed)
        mlc_mapping_install(NULL);
    mlc_mapping_free(d->mapping);
    mlc_metrics_free(d->metrics);
    mlc_config_free(&d->cfg);
    memset(d, 0, sizeof *d);
}

const char *dayone_sec_str(const struct dayone *d, enum mlc_map_kind k, const char *member)
{
    return json_string_value(json_object_get(mlc_mapping_section(d->mapping, k), member));
}
