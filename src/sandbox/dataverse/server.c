/* The emulated Dataverse's lifecycle, its routes, and the frame of every Web API call (token,
 * service protection, faults, execution, answer). */
#include "internal.h"
#include "mlc/crypto.h"
#include "mlc/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum mlc_rc dv_sandbox_new(const struct dv_options *o, struct dv_sandbox **out, char *err,
                           size_t errsz)
{
    (void)err;
    (void)errsz;
    struct dv_sandbox *s = mlc_calloc(1, sizeof *s);
    pthread_mutex_init(&s->set_mu, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->tok_mu, NULL);
    dv_settings_defaults(&s->set);
    if (o->settings)
        s->set = *o->settings;
    s->seed = o->seed;
    s->provisioned = o->provisioned;
    atomic_store(&s->rng, o->seed ^ 0x2545f4914f6cdd1dull);
    const struct dv_table *defs;
    size_t n = dv_schema_tables(&defs);
    for (size_t i = 0; i < n && i < DV_MAX_TABLES; i++) {
        struct dv_tab *t = &s->tabs[s->ntabs++];
        t->def = &defs[i];
        t->rows = json_object();
        t->custom = json_object();
        if (!o->provisioned)
            continue;
        /* --schema provisioned: our columns and keys exist, keys built (Active) */
        for (size_t j = 0; j < defs[i].ncols; j++) {
            const struct dv_col *c = &defs[i].cols[j];
            if (c->flags & DVC_CUSTOM)
                json_object_set_new(t->custom, c->name,
                                    json_pack("{s:i, s:i, s:s}", "type", (int)c->type, "maxlen",
                                              c->maxlen, "behavior", "UserLocal"));
        }
        if (defs[i].our_key_col) {
            char kname[80];
            snprintf(kname, sizeof kname, "%s_key", defs[i].our_key_col);
            const char *cols[1] = {defs[i].our_key_col};
            dv_key_add(t, kname, kname, cols, 1, true);
        }
    }
    dv_keys_support_changed(s, &s->set);
    dv_protection_new(&s->prot);
    *out = s;
    return MLC_OK;
}

void dv_sandbox_free(struct dv_sandbox *s)
{
    if (!s)
        return;
    dv_webhooks_stop(s);
    for (size_t i = 0; i < s->ntabs; i++) {
        json_decref(s->tabs[i].rows);
        json_decref(s->tabs[i].custom);
        for (size_t j = 0; j < s->tabs[i].nkeys; j++)
            json_decref(s->tabs[i].keys[j].index);
    }
    json_decref(s->journal);
    json_decref(s->txn_events);
    for (size_t i = 0; i < s->ncerts; i++)
        free(s->cert_pem[i]);
    free(s->federation_pub);
    dv_protection_free(s->prot);
    pthread_mutex_destroy(&s->set_mu);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->tok_mu);
    mlc_wipe(s, sizeof *s);
    free(s);
}

enum mlc_rc dv_start(struct dv_sandbox *s, const struct dv_options *o, const char *ca_file,
                     char *err, size_t errsz)
{
    uint64_t t0 = mlc_mono_ns();
    pthread_mutex_lock(&s->mu);
    enum mlc_rc rc = dv_datagen(s, o, err, errsz);
    struct dv_settings st = dv_settings_get(s);
    dv_bulk_refresh_filters(s, &st);
    pthread_mutex_unlock(&s->mu);
    if (rc != MLC_OK)
        return rc;
    size_t rows = 0;
    for (size_t i = 0; i < s->ntabs; i++)
        rows += json_object_size(s->tabs[i].rows);
    mlc_log_kv(MLC_LOG_INFO, "sandbox dataverse data generated",
               json_pack("{s:I, s:s, s:f}", "rows", (json_int_t)rows, "schema",
                         s->provisioned ? "provisioned" : "bare", "seconds",
                         (double)(mlc_mono_ns() - t0) / 1e9));
    return dv_webhooks_start(s, ca_file, err, errsz);
}

static bool add_query(const char *k, const char *v, void *ud)
{
    struct dv_req *q = ud;
    if (q->nquery >= 32)
        return false;
    if (!q->query)
        q->query = mlc_calloc(32, sizeof *q->query);
    q->query[q->nquery].k = mlc_strdup(k);
    q->query[q->nquery].v = mlc_strdup(v);
    q->nquery++;
    return true;
}

static void unauthorized(struct dv_sandbox *s, struct mlc_request *r, enum dv_auth why)
{
    char h[700];
    int n =
        snprintf(h, sizeof h, "Bearer authorization_uri=%s/%s/oauth2/authorize, resource_id=%s/",
                 s->base_url, s->tenant_id, s->base_url);
    if (why != DV_AUTH_MISSING && n > 0 && (size_t)n < sizeof h)
        snprintf(h + n, sizeof h - (size_t)n, ", error=\"invalid_token\", error_description=\"%s\"",
                 why == DV_AUTH_EXPIRED ? "The access token expired."
                                        : "The access token is invalid.");
    atomic_fetch_add(&s->outcomes[DV_OUT_UNAUTHORIZED], 1);
    mlc_reply_header(r, "WWW-Authenticate", h);
    mlc_reply_text(r, 401, NULL, "", 0);
}

static void api_handle(struct mlc_request *r, void *ud)
{
    struct dv_sandbox *s = ud;
    atomic_fetch_add(&s->calls, 1);
    enum dv_auth a = dv_auth_check(s, r);
    if (a != DV_AUTH_OK) {
        unauthorized(s, r, a);
        return;
    }
    const char *path = mlc_request_path(r);
    /* /api/data/v9.0 .. v9.2 */
    if (strncmp(path, "/api/data/v9.", 13) != 0 || !strchr("012", path[13]) || path[14] != '/') {
        mlc_reply_json(
            r, 404,
            dv_error_body("0x80060888", "Resource not found for the segment '%.100s'.", path));
        return;
    }
    int now_in = atomic_fetch_add(&s->inflight, 1) + 1;
    int peak = atomic_load(&s->peak);
    while (now_in > peak && !atomic_compare_exchange_weak(&s->peak, &peak, now_in)) {
    }
    struct dv_ctx c = {.s = s, .st = dv_settings_get(s), .user_id = s->app_user_id};
    struct dv_req q = {.method = mlc_request_method(r), .path = path + 15};
    mlc_request_query_each(r, add_query, &q);
    q.prefer = mlc_request_header(r, "Prefer");
    q.if_match = mlc_request_header(r, "If-Match");
    q.if_none_match = mlc_request_header(r, "If-None-Match");
    q.content_type = mlc_request_header(r, "Content-Type");
    /* `If-None-Match: null` on GETs is what the documentation tells clients to send */
    if (q.if_none_match && strcmp(q.if_none_match, "null") == 0)
        q.if_none_match = NULL;
    q.body = mlc_request_body(r, &q.body_len);
    struct dv_resp p;
    dv_resp_init(&p);
    int64_t t0 = mlc_mono_ms();
    bool drop = false;
    if (dv_protect_enter(s, &c.st, c.user_id, 1, &p)) { /* a 429 is counted as throttled */
        if (dv_faults_apply(s, &c.st, &p)) {            /* counted as the fault */
            drop = p.status == 0;
        } else {
            if (strcmp(q.path, "$batch") == 0) {
                if (strcmp(q.method, "POST") == 0)
                    dv_batch_exec(&c, &q, &p);
                else
                    dv_resp_error(&p, 405, "0x80060888", "$batch takes POST.");
            } else {
                dv_webapi_exec(&c, &q, &p);
            }
            atomic_fetch_add(&s->outcomes[p.status < 400 ? DV_OUT_OK : DV_OUT_CLIENT_ERROR], 1);
        }
        dv_protect_leave(s, &c.st, c.user_id, mlc_mono_ms() - t0, &p);
    }
    atomic_fetch_sub(&s->inflight, 1);
    for (size_t i = 0; i < q.nquery; i++) {
        free(q.query[i].k);
        free(q.query[i].v);
    }
    free(q.query);
    if (drop)
        mlc_reply_drop(r);
    else
        dv_resp_send(r, &p);
    dv_resp_free(&p);
}

size_t dv_routes(struct dv_sandbox *s, struct mlc_route *routes, size_t max)
{
    const struct mlc_route all[] = {
        {"/api/data/*", "GET,POST,PATCH,DELETE,PUT", "dv_webapi", 64u << 20, NULL, api_handle, s},
        {"/_sandbox/*", "GET,POST,PATCH,PUT,DELETE", "dv_admin", 4u << 20, NULL, dv_admin_handle,
         s},
        {"/*", "GET,POST", "entra", 64 * 1024, NULL, dv_token_handle, s},
    };
    size_t n = sizeof all / sizeof all[0];
    if (n > max)
        n = max;
    memcpy(routes, all, n * sizeof *routes);
    return n;
}

void dv_provisioned_endpoint_id(char out[37])
{
    dv_guid_from("serviceendpoint:ml-connector", out);
}
