/* The Dataverse switches: one table gives their names (admin API), flags (command line), ranges and
 * help. */
#include "internal.h"
#include "sandbox/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum kind { K_INT, K_LL, K_DBL, K_BOOL, K_TEXT };

struct sw {
    const char *name, *flag;
    enum kind kind;
    size_t off, size;
    const char *off_word, *on_word; /* K_BOOL: false/true spelled */
    double lo, hi;
    const char *help;
};

#define AT(f) offsetof(struct dv_settings, f)
#define SZ(f) sizeof(((struct dv_settings *)0)->f)

static const struct sw table[] = {
    {"tokenLifetimeS", "--entra-token-lifetime-s", K_INT, AT(token_lifetime_s), 0, NULL, NULL, 1,
     86400, "expires_in of Entra tokens (3599); expired tokens get 401 on the Web API"},
    {"changesetUpsert", "--changeset-upsert", K_BOOL, AT(changeset_upsert_refuse), 0, "accept",
     "refuse", 0, 0, "PATCH-by-key (upsert) inside a $batch change set [UNCONFIRMED]"},
    {"changesetRefUpsert", "--changeset-ref-upsert", K_BOOL, AT(changeset_ref_upsert_refuse), 0,
     "accept", "refuse", 0, 0,
     "$n in a change set naming a row an earlier part upserted (documented only for rows it "
     "created) [UNCONFIRMED]"},
    {"bulkBindByKey", "--bulk-bind-by-key", K_BOOL, AT(bulk_bind_key_refuse), 0, "accept", "refuse",
     0, 0, "@odata.bind by alternate key inside bulk Targets [UNCONFIRMED]"},
    {"lineKey", "--line-key", K_BOOL, AT(line_key_unsupported), 0, "supported", "unsupported", 0, 0,
     "alternate keys on salesorderdetail (mlc_netsuitelinekey) build Active, or end Failed "
     "[UNCONFIRMED]"},
    {"createMultipleTables", "--create-multiple-tables", K_TEXT, AT(create_multiple),
     SZ(create_multiple), NULL, NULL, 0, 0,
     "tables with CreateMultiple (salesorder,salesorderdetail,account,contact)"},
    {"updateMultipleTables", "--update-multiple-tables", K_TEXT, AT(update_multiple),
     SZ(update_multiple), NULL, NULL, 0, 0,
     "tables with UpdateMultiple (salesorder,salesorderdetail); UpsertMultiple needs both"},
    {"upsertRaceMs", "--upsert-race-ms", K_INT, AT(upsert_race_ms), 0, NULL, NULL, -1, 60000,
     "an upsert's lookup and insert are two steps, so concurrent creates of one key can fail "
     "with the duplicate-key error as on the real service; N ms widen the gap, -1 closes it (0)"},
    {"rateRequests", "--rate-requests", K_INT, AT(rate_requests), 0, NULL, NULL, 1, 100000000,
     "service protection: requests per window and identity (6000)"},
    {"rateWindowS", "--rate-window-s", K_INT, AT(rate_window_s), 0, NULL, NULL, 1, 3600,
     "service protection: the sliding window (300)"},
    {"rateExecutionMs", "--rate-execution-ms", K_LL, AT(rate_exec_ms), 0, NULL, NULL, 1, 1e12,
     "service protection: combined execution time per window (1200000)"},
    {"rateConcurrency", "--rate-concurrency", K_INT, AT(rate_concurrency), 0, NULL, NULL, 1, 100000,
     "service protection: concurrent requests per identity (52)"},
    {"latencyMs", "--dv-fault-latency-ms", K_INT, AT(latency_ms), 0, NULL, NULL, 0, 600000,
     "latency added to every Web API call"},
    {"rate429", "--dv-fault-429-rate", K_DBL, AT(rate_429), 0, NULL, NULL, 0, 1,
     "share of Web API calls answered 429 at random"},
    {"rate5xx", "--dv-fault-5xx-rate", K_DBL, AT(rate_5xx), 0, NULL, NULL, 0, 1,
     "share answered 500/503 at random"},
    {"rateDrop", "--dv-fault-drop-rate", K_DBL, AT(rate_drop), 0, NULL, NULL, 0, 1,
     "share of calls whose connection closes without an answer"},
    {"dropHoldMs", "--dv-fault-drop-hold-ms", K_INT, AT(drop_hold_ms), 0, NULL, NULL, 0, 3600000,
     "how long a dropped call hangs before its connection closes (130000)"},
    {"keyBuildMs", "--key-build-ms", K_INT, AT(key_build_ms), 0, NULL, NULL, 0, 3600000,
     "a new alternate key spends this long Pending and again InProgress (2000)"},
    {"maxPageSize", "--max-page-size", K_INT, AT(max_page_size), 0, NULL, NULL, 1, 5000,
     "rows per page without Prefer: odata.maxpagesize (5000)"},
    {"readOnlyCode", "--read-only-code", K_TEXT, AT(readonly_code), SZ(readonly_code), NULL, NULL,
     0, 0, "error code of 'the record is read only' (0x80043e09) [UNCONFIRMED]"},
    {"webhookUrl", "--dataverse-webhook-url", K_TEXT, AT(webhook_url), SZ(webhook_url), NULL, NULL,
     0, 0, "url of the provisioned service endpoint (the connector's /v1/webhooks/dataverse)"},
    {"webhookMaxBytes", "--webhook-max-bytes", K_INT, AT(webhook_max_bytes), 0, NULL, NULL, 1024,
     16777216, "contexts larger than this are stripped (262144)"},
    {"webhookTimeoutMs", "--webhook-timeout-ms", K_INT, AT(webhook_timeout_ms), 0, NULL, NULL, 100,
     600000, "how long a webhook delivery may take (60000)"},
    {"webhookRequestId", "--webhook-request-id", K_BOOL, AT(webhook_request_id), 0, "null", "set",
     0, 0, "RequestId of webhook contexts: null (as the sample), or a GUID (it may be either)"},
};

void dv_settings_defaults(struct dv_settings *st)
{
    memset(st, 0, sizeof *st);
    st->token_lifetime_s = 3599;
    snprintf(st->create_multiple, sizeof st->create_multiple,
             "salesorder,salesorderdetail,account,contact");
    snprintf(st->update_multiple, sizeof st->update_multiple, "salesorder,salesorderdetail");
    st->rate_requests = 6000;
    st->rate_window_s = 300;
    st->rate_exec_ms = 1200000;
    st->rate_concurrency = 52;
    st->drop_hold_ms = 130000;
    st->key_build_ms = 2000;
    st->max_page_size = 5000;
    snprintf(st->readonly_code, sizeof st->readonly_code, "0x80043e09");
    snprintf(st->webhook_url, sizeof st->webhook_url,
             "http://127.0.0.1:8080/v1/webhooks/dataverse");
    st->webhook_max_bytes = 262144;
    st->webhook_timeout_ms = 60000;
}

static enum mlc_rc set_text(struct dv_settings *st, const struct sw *w, const char *v, char *err,
                            size_t errsz)
{
    char *base = (char *)st;
    if (w->kind == K_BOOL) {
        if (strcasecmp(v, w->off_word) == 0 || strcasecmp(v, w->on_word) == 0) {
            *(bool *)(void *)(base + w->off) = strcasecmp(v, w->on_word) == 0;
            return MLC_OK;
        }
        snprintf(err, errsz, "%s: expected %s or %s, got '%.32s'", w->name, w->off_word, w->on_word,
                 v);
        return MLC_EINVAL;
    }
    if (w->kind == K_TEXT) {
        if (strlen(v) >= w->size) {
            snprintf(err, errsz, "%s: longer than %zu characters", w->name, w->size - 1);
            return MLC_EINVAL;
        }
        if (w->off == AT(webhook_url) && *v && strncmp(v, "http://", 7) != 0 &&
            strncmp(v, "https://", 8) != 0) {
            snprintf(err, errsz, "%s: must be an http:// or https:// URL", w->name);
            return MLC_EINVAL;
        }
        snprintf(base + w->off, w->size, "%s", v);
        return MLC_OK;
    }
    char *end = NULL;
    double d = strtod(v, &end);
    if (!*v || !end || *end || d < w->lo || d > w->hi ||
        (w->kind != K_DBL && d != (double)(long long)d)) {
        snprintf(err, errsz, "%s: expected a number in %g..%g, got '%.32s'", w->name, w->lo, w->hi,
                 v);
        return MLC_EINVAL;
    }
    if (w->kind == K_INT)
        *(int *)(void *)(base + w->off) = (int)d;
    else if (w->kind == K_LL)
        *(long long *)(void *)(base + w->off) = (long long)d;
    else
        *(double *)(void *)(base + w->off) = d;
    return MLC_OK;
}

enum mlc_rc dv_settings_set_flag(struct dv_settings *st, const char *flag, const char *value,
                                 bool *known, char *err, size_t errsz)
{
    *known = false;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].flag, flag) == 0) {
            *known = true;
            return set_text(st, &table[i], value, err, errsz);
        }
    return MLC_OK;
}

void dv_settings_help(struct mlc_buf *out)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct sw *w = &table[i];
        char arg[48];
        if (w->kind == K_BOOL)
            snprintf(arg, sizeof arg, "%s|%s", w->off_word, w->on_word);
        else
            snprintf(arg, sizeof arg, "%s", w->kind == K_TEXT ? "TEXT" : "N");
        mlc_buf_printf(out, "  %s %s\n      %s\n", w->flag, arg, w->help);
    }
}

json_t *dv_settings_json(const struct dv_settings *st)
{
    json_t *o = json_object();
    const char *base = (const char *)st;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct sw *w = &table[i];
        const void *f = base + w->off;
        json_t *v = w->kind == K_INT    ? json_integer(*(const int *)f)
                    : w->kind == K_LL   ? json_integer(*(const long long *)f)
                    : w->kind == K_DBL  ? json_real(*(const double *)f)
                    : w->kind == K_BOOL ? json_string(*(const bool *)f ? w->on_word : w->off_word)
                                        : json_string((const char *)f);
        json_object_set_new(o, w->name, v);
    }
    return o;
}

struct dv_settings dv_settings_get(struct dv_sandbox *s)
{
    pthread_mutex_lock(&s->set_mu);
    struct dv_settings st = s->set;
    pthread_mutex_unlock(&s->set_mu);
    return st;
}

enum mlc_rc dv_settings_apply(struct dv_sandbox *s, json_t *changes, char *err, size_t errsz)
{
    if (!json_is_object(changes)) {
        snprintf(err, errsz, "settings must be a JSON object");
        return MLC_EINVAL;
    }
    struct dv_settings st = dv_settings_get(s);
    bool line_key_before = st.line_key_unsupported;
    const char *k;
    json_t *v;
    json_object_foreach(changes, k, v)
    {
        const struct sw *w = NULL;
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
            if (strcmp(table[i].name, k) == 0)
                w = &table[i];
        if (!w) {
            snprintf(err, errsz, "unknown setting '%.64s'", k);
            return MLC_EINVAL;
        }
        char text[600];
        if (!mlc_sbx_switch_text(v, w->kind == K_BOOL ? w->on_word : NULL, w->off_word, text,
                                 sizeof text)) {
            snprintf(err, errsz, "%s: unsupported value type", k);
            return MLC_EINVAL;
        }
        if (set_text(&st, w, text, err, errsz) != MLC_OK)
            return MLC_EINVAL;
    }
    pthread_mutex_lock(&s->set_mu);
    s->set = st;
    pthread_mutex_unlock(&s->set_mu);
    /* the bulk switches show in sdkmessagefilters, and the endpoint url in serviceendpoints */
    pthread_mutex_lock(&s->mu);
    dv_bulk_refresh_filters(s, &st);
    if (line_key_before != st.line_key_unsupported)
        dv_keys_support_changed(s, &st);
    if (json_object_get(changes, "webhookUrl")) {
        char eid[37];
        dv_provisioned_endpoint_id(eid);
        struct dv_tab *t = dv_tab_by_logical(s, "serviceendpoint", 15);
        json_t *row = t ? dv_row_get(t, eid) : NULL;
        if (row)
            json_object_set_new(row, "url", json_string(st.webhook_url));
    }
    pthread_mutex_unlock(&s->mu);
    return MLC_OK;
}

enum mlc_rc dv_settings_apply_defaults(struct dv_settings *st, json_t *flags, char *err,
                                       size_t errsz)
{
    const char *k;
    json_t *v;
    json_object_foreach(flags, k, v)
    {
        bool known = false;
        if (!json_is_string(v) ||
            dv_settings_set_flag(st, k, json_string_value(v), &known, err, errsz) != MLC_OK)
            return MLC_EINVAL;
        if (!known) {
            snprintf(err, errsz, "unknown option %s", k);
            return MLC_EINVAL;
        }
    }
    return MLC_OK;
}
