/* /_sandbox/dataverse/...: switches, inspection (rows, counts, duplicates by key, calls,
 * concurrency, throttling, webhooks), CRM-side edits, deletes and merges, token revocation, keys
 * sent back to Pending. */
#include "internal.h"
#include "mlc/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREFIX "/_sandbox/dataverse/"

static json_t *stats(struct dv_sandbox *s)
{
    static const char *const names[DV_OUT__COUNT] = {
        "ok", "unauthorized", "clientError", "throttled", "fault429", "fault5xx", "faultDrop"};
    json_t *o = json_object();
    for (int i = 0; i < DV_OUT__COUNT; i++)
        json_object_set_new(o, names[i], json_integer((json_int_t)atomic_load(&s->outcomes[i])));
    return json_pack("{s:I, s:o, s:i, s:i, s:I, s:o, s:o}", "calls",
                     (json_int_t)atomic_load(&s->calls), "outcomes", o, "inflight",
                     atomic_load(&s->inflight), "peakConcurrency", atomic_load(&s->peak),
                     "tokensIssued", (json_int_t)atomic_load(&s->tokens_issued), "protection",
                     dv_protection_json(s), "webhooks", dv_webhooks_json(s));
}

/* A CRM user's change: the same write path as the Web API, as another user. */
static void crm_write(struct dv_sandbox *s, struct mlc_request *r, struct dv_tab *t, const char *id,
                      json_t *body)
{
    struct dv_ctx c = {
        .s = s, .st = dv_settings_get(s), .user_id = s->admin_user_id, .in_changeset = true};
    struct dv_resp p;
    dv_resp_init(&p);
    pthread_mutex_lock(&s->mu);
    char out[37] = "";
    bool ok;
    if (strcmp(mlc_request_method(r), "DELETE") == 0)
        ok = dv_delete(&c, t, id, &p);
    else
        ok = dv_write(&c, t, id ? DVW_UPDATE : DVW_CREATE, id, NULL, body, false, out, NULL, &p);
    json_t *row = ok && out[0] ? json_deep_copy(dv_row_get(t, out)) : NULL;
    pthread_mutex_unlock(&s->mu);
    if (!ok) {
        dv_resp_send(r, &p);
    } else if (row) {
        mlc_reply_json(r, id ? 200 : 201, row);
    } else {
        mlc_reply_text(r, 204, NULL, "", 0);
    }
    dv_resp_free(&p);
}

static void merge(struct dv_sandbox *s, struct mlc_request *r, struct dv_tab *t, json_t *body)
{
    const char *target = json_string_value(json_object_get(body, "target"));
    const char *loser = json_string_value(json_object_get(body, "subordinate"));
    if (!target || !loser) {
        mlc_reply_json(r, 400, json_pack("{s:s}", "error", "merge needs target and subordinate"));
        return;
    }
    struct dv_ctx c = {
        .s = s, .st = dv_settings_get(s), .user_id = s->admin_user_id, .in_changeset = true};
    struct dv_resp p;
    dv_resp_init(&p);
    pthread_mutex_lock(&s->mu);
    dv_txn_begin(s);
    bool ok = dv_merge(&c, t, target, loser, json_object_get(body, "updateContent"), &p);
    if (ok)
        dv_txn_commit(s);
    else
        dv_txn_rollback(s);
    pthread_mutex_unlock(&s->mu);
    if (ok)
        mlc_reply_text(r, 204, NULL, "", 0);
    else
        dv_resp_send(r, &p);
    dv_resp_free(&p);
}

static void key_pending(struct dv_sandbox *s, struct mlc_request *r, struct dv_tab *t,
                        const char *key)
{
    pthread_mutex_lock(&s->mu);
    struct dv_key *k = NULL;
    for (size_t i = 0; i < t->nkeys; i++)
        if (strcmp(t->keys[i].logical, key) == 0)
            k = &t->keys[i];
    if (k) {
        k->status = DVK_PENDING;
        k->phase_ms = mlc_mono_ms();
    }
    pthread_mutex_unlock(&s->mu);
    if (k)
        mlc_reply_text(r, 204, NULL, "", 0);
    else
        mlc_reply_json(r, 404, json_pack("{s:s}", "error", "no such key"));
}

void dv_admin_handle(struct mlc_request *r, void *ud)
{
    struct dv_sandbox *s = ud;
    if (s->admin_token[0]) {
        const char *h = mlc_request_header(r, "Authorization");
        if (!h || strncmp(h, "Bearer ", 7) != 0 ||
            !mlc_ct_equal(h + 7, strlen(h + 7), s->admin_token, strlen(s->admin_token))) {
            mlc_reply_json(r, 401, json_pack("{s:s}", "error", "admin token required"));
            return;
        }
    }
    const char *path = mlc_request_path(r), *m = mlc_request_method(r);
    if (strncmp(path, PREFIX, strlen(PREFIX)) != 0) {
        mlc_reply_json(r, 404,
                       json_pack("{s:s}", "error", "the Dataverse admin API is under " PREFIX));
        return;
    }
    const char *res = path + strlen(PREFIX);
    size_t bl;
    const char *btxt = mlc_request_body(r, &bl);
    json_t *body = bl ? json_loadb(btxt, bl, JSON_REJECT_DUPLICATES, NULL) : json_object();
    if (!body) {
        mlc_reply_json(r, 400, json_pack("{s:s}", "error", "the body is not JSON"));
        return;
    }
    char seg[3][128] = {"", "", ""};
    size_t ns = 0;
    for (const char *p = res; *p && ns < 3;) {
        size_t l = strcspn(p, "/");
        snprintf(seg[ns++], sizeof seg[0], "%.*s", (int)(l < 127 ? l : 127), p);
        p += l;
        if (*p == '/')
            p++;
    }
    struct dv_tab *t = ns > 1 ? dv_tab_by_set(s, seg[1], strlen(seg[1])) : NULL;
    char err[256];
    if (strcmp(seg[0], "settings") == 0 && strcmp(m, "GET") == 0) {
        struct dv_settings st = dv_settings_get(s);
        mlc_reply_json(r, 200, dv_settings_json(&st));
    } else if (strcmp(seg[0], "settings") == 0 && strcmp(m, "PATCH") == 0) {
        if (dv_settings_apply(s, body, err, sizeof err) != MLC_OK) {
            mlc_reply_json(r, 400, json_pack("{s:s}", "error", err));
        } else {
            struct dv_settings st = dv_settings_get(s);
            mlc_reply_json(r, 200, dv_settings_json(&st));
        }
    } else if (strcmp(seg[0], "stats") == 0) {
        mlc_reply_json(r, 200, stats(s));
    } else if (strcmp(seg[0], "counts") == 0) {
        json_t *o = json_object();
        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < s->ntabs; i++)
            json_object_set_new(o, s->tabs[i].def->set,
                                json_integer((json_int_t)json_object_size(s->tabs[i].rows)));
        pthread_mutex_unlock(&s->mu);
        mlc_reply_json(r, 200, o);
    } else if (strcmp(seg[0], "tables") == 0 && t && strcmp(m, "GET") == 0) {
        pthread_mutex_lock(&s->mu);
        json_t *arr = json_array();
        const char *id;
        json_t *row;
        json_object_foreach(t->rows, id, row) json_array_append_new(arr, json_deep_copy(row));
        pthread_mutex_unlock(&s->mu);
        mlc_reply_json(r, 200, json_pack("{s:s, s:o}", "table", t->def->logical, "rows", arr));
    } else if (strcmp(seg[0], "duplicates") == 0 && t) {
        pthread_mutex_lock(&s->mu);
        json_t *o = json_object();
        for (size_t i = 0; i < t->nkeys; i++)
            json_object_set_new(o, t->keys[i].logical, dv_key_duplicates(t, &t->keys[i]));
        pthread_mutex_unlock(&s->mu);
        mlc_reply_json(r, 200, o);
    } else if (strcmp(seg[0], "rows") == 0 && t &&
               (strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0 || strcmp(m, "DELETE") == 0)) {
        if (strcmp(m, "POST") != 0 && !dv_guid_valid(seg[2], strlen(seg[2])))
            mlc_reply_json(r, 400, json_pack("{s:s}", "error", "rows/<set>/<guid>"));
        else
            crm_write(s, r, t, strcmp(m, "POST") == 0 ? NULL : seg[2], body);
    } else if (strcmp(seg[0], "merge") == 0 && t && strcmp(m, "POST") == 0) {
        merge(s, r, t, body);
    } else if (strcmp(seg[0], "keys") == 0 && ns == 3 && strcmp(m, "POST") == 0) {
        struct dv_tab *lt = dv_tab_by_logical(s, seg[1], strlen(seg[1]));
        if (!lt)
            mlc_reply_json(r, 404, json_pack("{s:s}", "error", "no such table"));
        else
            key_pending(s, r, lt, seg[2]);
    } else if (strcmp(seg[0], "tokens") == 0 && strcmp(seg[1], "revoke") == 0 &&
               strcmp(m, "POST") == 0) {
        dv_tokens_revoke_all(s);
        mlc_reply_text(r, 204, NULL, "", 0);
    } else if (strcmp(seg[0], "protection") == 0 && strcmp(seg[1], "reset") == 0 &&
               strcmp(m, "POST") == 0) {
        dv_protection_reset(s);
        mlc_reply_text(r, 204, NULL, "", 0);
    } else if (strcmp(seg[0], "identity") == 0) {
        mlc_reply_json(r, 200,
                       json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "tenantId", s->tenant_id,
                                 "clientId", s->client_id, "organizationId", s->org_id, "appUserId",
                                 s->app_user_id, "crmUserId", s->admin_user_id, "url",
                                 s->base_url));
    } else {
        mlc_reply_json(r, 404,
                       json_pack("{s:s}", "error",
                                 "unknown admin resource; see `ml-connector sandbox --help`"));
    }
    json_decref(body);
}
