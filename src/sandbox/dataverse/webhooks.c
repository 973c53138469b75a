/* Webhooks out, as a registered service endpoint receives them: steps matched by message, table and
 * filtering attributes; RemoteExecutionContext bodies; x-ms-dynamics-* headers; 256 KB stripping;
 * one retry on 502/503/504. */
#include "internal.h"
#include "mlc/log.h"
#include "mlc/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_MAX 20000
#define RECENT 200
#define XRM "http://schemas.microsoft.com/xrm/2011/Contracts"

struct dv_webhooks {
    pthread_t th;
    bool started, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    json_t *queue; /* array of {url, headers:{}, body, entity, message} */
    size_t taken;  /* events the sender took from the queue and has not finished */
    json_t *recent;
    uint64_t queued, delivered, failed, dropped, retries;
    char *ca_file;
};

static json_t *typed(const char *type, json_t *value)
{
    char t[160];
    snprintf(t, sizeof t, "%s:" XRM, type);
    return json_pack("{s:s, s:o}", "__type", t, "Value", value);
}

static json_t *entity_ref(const char *logical, const char *id)
{
    return json_pack("{s:s, s:s, s:[], s:s, s:n, s:n}", "__type", "EntityReference:" XRM, "Id", id,
                     "KeyAttributes", "LogicalName", logical, "Name", "RowVersion");
}

static json_t *wcf_date(const char *iso)
{
    int64_t ms = 0;
    if (!iso || mlc_parse_rfc3339(iso, &ms) != MLC_OK)
        return json_null();
    char d[48];
    snprintf(d, sizeof d, "/Date(%lld)/", (long long)ms);
    return json_string(d);
}

/* One attribute in the SDK's typed form. */
static json_t *attr_value(struct dv_tab *t, const char *name, json_t *v)
{
    if (!v || json_is_null(v))
        return json_null();
    const struct dv_col *col = dv_col_find(t, name);
    enum dv_type ty = DT_STR;
    int ml;
    if (col)
        ty = col->type;
    else
        dv_col_custom(t, name, &ty, &ml);
    switch (ty) {
    case DT_LOOKUP:
        return entity_ref(col && col->target ? col->target : "", json_string_value(v));
    case DT_CHOICE:
    case DT_STATE:
    case DT_STATUS:
        return typed("OptionSetValue", json_incref(v));
    case DT_MONEY:
        return typed("Money", json_real(json_number_value(v)));
    case DT_DATETIME:
    case DT_DATE:
        return wcf_date(json_string_value(v));
    default:
        return json_incref(v);
    }
}

/* The SDK Entity of a row (all its attributes) or of the written attributes plus id and audit. */
static json_t *sdk_entity(struct dv_tab *t, const char *id, json_t *attrs, json_t *row)
{
    json_t *list = json_array();
    const char *k;
    json_t *v;
    json_t *src = attrs ? attrs : row;
    json_object_foreach(src, k, v)
    {
        char name[96];
        size_t l = strlen(k);
        if (k[0] == '_' && l > 7 && strcmp(k + l - 6, "_value") == 0 && l - 7 < sizeof name) {
            memcpy(name, k + 1, l - 7);
            name[l - 7] = '\0';
        } else {
            snprintf(name, sizeof name, "%s", k);
        }
        if (strcmp(name, "versionnumber") == 0)
            continue;
        json_t *val = attrs ? attr_value(t, name, v) : attr_value(t, name, json_object_get(row, k));
        json_array_append_new(list, json_pack("{s:s, s:o}", "key", name, "value", val));
    }
    if (attrs && row) {
        json_array_append_new(list, json_pack("{s:s, s:s}", "key", t->def->id, "value", id));
        json_array_append_new(
            list, json_pack("{s:s, s:o}", "key", "modifiedon", "value",
                            wcf_date(json_string_value(json_object_get(row, "modifiedon")))));
        json_array_append_new(list,
                              json_pack("{s:s, s:o}", "key", "modifiedby", "value",
                                        entity_ref("systemuser", json_string_value(json_object_get(
                                                                     row, "_modifiedby_value")))));
    }
    char rv[32];
    snprintf(rv, sizeof rv, "%lld",
             (long long)json_integer_value(json_object_get(row, "versionnumber")));
    return json_pack("{s:s, s:o, s:n, s:[], s:s, s:[], s:s, s:[], s:s}", "__type", "Entity:" XRM,
                     "Attributes", list, "EntityState", "FormattedValues", "Id", id,
                     "KeyAttributes", "LogicalName", t->def->logical, "RelatedEntities",
                     "RowVersion", rv);
}

static json_t *kv(const char *k, json_t *v)
{
    return json_pack("{s:s, s:o}", "key", k, "value", v);
}

json_t *dv_webhook_context(struct dv_sandbox *s, const char *message, struct dv_tab *t,
                           const char *id, json_t *target, json_t *pre, json_t *post,
                           const char *user_id, const char *step_id)
{
    char corr[37], op[37], created[48];
    dv_guid_random(corr);
    dv_guid_random(op);
    snprintf(created, sizeof created, "/Date(%lld+0000)/", (long long)mlc_now_ms());
    json_t *in = json_array(), *out = json_array();
    if (strcmp(message, "Delete") == 0) {
        json_array_append_new(in, kv("Target", entity_ref(t->def->logical, id)));
    } else if (strcmp(message, "Merge") == 0) {
        json_array_append_new(in, kv("Target", entity_ref(t->def->logical, id)));
        json_array_append_new(
            in, kv("SubordinateId", json_incref(json_object_get(target, "SubordinateId"))));
        json_array_append_new(in, kv("PerformParentingChecks", json_false()));
    } else {
        json_array_append_new(in, kv("Target", sdk_entity(t, id, target, post)));
        if (strcmp(message, "Create") == 0)
            json_array_append_new(out, kv("id", json_string(id)));
    }
    (void)pre;
    /* RequestId "may be null" (reference/dataverse.md): the webhookRequestId switch picks */
    char rid[37];
    dv_guid_random(rid);
    json_t *request_id = dv_settings_get(s).webhook_request_id ? json_string(rid) : json_null();
    return json_pack(
        "{s:s, s:s, s:i, s:s, s:o, s:b, s:b, s:b, s:i, s:s, s:i, s:s, s:s, s:s, s:s, s:o, "
        "s:{s:s, s:[], s:s, s:n, s:n}, s:n, s:[], s:[], s:s, s:s, s:o, s:s, s:[], s:i, s:s}",
        "BusinessUnitId", s->business_unit_id, "CorrelationId", corr, "Depth", 1,
        "InitiatingUserId", user_id, "InputParameters", in, "IsExecutingOffline", 0,
        "IsInTransaction", 0, "IsOfflinePlayback", 0, "IsolationMode", 1, "MessageName", message,
        "Mode", 1, "OperationCreatedOn", created, "OperationId", op, "OrganizationId", s->org_id,
        "OrganizationName", s->org_name, "OutputParameters", out, "OwningExtension", "Id", step_id,
        "KeyAttributes", "LogicalName", "sdkmessageprocessingstep", "Name", "RowVersion",
        "ParentContext", "PostEntityImages", "PreEntityImages", "PrimaryEntityId", id,
        "PrimaryEntityName", t->def->logical, "RequestId", request_id, "SecondaryEntityName",
        "none", "SharedVariables", "Stage", 40, "UserId", user_id);
}

static json_t *row_by(struct dv_sandbox *s, const char *logical, const char *id)
{
    struct dv_tab *t = dv_tab_by_logical(s, logical, strlen(logical));
    return t && id ? dv_row_get(t, id) : NULL;
}

static void append_query(struct mlc_buf *u, const char *k, const char *v)
{
    mlc_buf_printf(u, "%s%s=", strchr(u->data ? u->data : "", '?') ? "&" : "?", k);
    for (const unsigned char *q = (const unsigned char *)v; *q; q++) {
        if ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
            *q == '-' || *q == '_' || *q == '.' || *q == '~')
            mlc_buf_append(u, q, 1);
        else
            mlc_buf_printf(u, "%%%02X", *q);
    }
}

/* Reads <settings><setting name="x" value="y" /></settings> pairs (HttpHeader, HttpQueryString). */
static json_t *settings_pairs(const char *xml)
{
    json_t *o = json_object();
    const char *p = xml;
    while (p && (p = strstr(p, "name=\""))) {
        p += 6;
        const char *ne = strchr(p, '"');
        const char *vs = ne ? strstr(ne, "value=\"") : NULL;
        const char *ve = vs ? strchr(vs + 7, '"') : NULL;
        if (!ne || !ve)
            break;
        char k[128], v[1024];
        snprintf(k, sizeof k, "%.*s", (int)(ne - p), p);
        snprintf(v, sizeof v, "%.*s", (int)(ve - vs - 7), vs + 7);
        json_object_set_new(o, k, json_string(v));
        p = ve + 1;
    }
    return o;
}

/* The images a step registered (sdkmessageprocessingstepimages): pre and/or post, all or the
 * listed attributes, under their alias. */
static void add_images(struct dv_sandbox *s, json_t *ctx, const char *step_id, struct dv_tab *t,
                       const char *id, json_t *pre, json_t *post)
{
    struct dv_tab *im = dv_tab_by_logical(s, "sdkmessageprocessingstepimage", 29);
    if (!im)
        return;
    const char *iid;
    json_t *img;
    json_object_foreach(im->rows, iid, img)
    {
        const char *sid =
            json_string_value(json_object_get(img, "_sdkmessageprocessingstepid_value"));
        if (!sid || strcmp(sid, step_id) != 0)
            continue;
        long long type = json_integer_value(json_object_get(img, "imagetype"));
        const char *alias = json_string_value(json_object_get(img, "entityalias"));
        const char *only = json_string_value(json_object_get(img, "attributes"));
        for (int which = 0; which < 2; which++) {
            json_t *row = which ? post : pre;
            if (!row || !alias || !(type == 2 || type == which))
                continue;
            json_t *copy = json_object();
            const char *k;
            json_t *v;
            json_object_foreach(row, k, v)
            {
                size_t l = strlen(k);
                bool lookup = k[0] == '_' && l > 7 && strcmp(k + l - 6, "_value") == 0;
                if (!only || !*only || dv_list_has(only, lookup ? k + 1 : k, lookup ? l - 7 : l) ||
                    strcmp(k, "versionnumber") == 0)
                    json_object_set(copy, k, v);
            }
            json_array_append_new(
                json_object_get(ctx, which ? "PostEntityImages" : "PreEntityImages"),
                kv(alias, sdk_entity(t, id, NULL, copy)));
            json_decref(copy);
        }
    }
}

static bool filtered_out(const char *filtering, json_t *target)
{
    if (!filtering || !*filtering || !target)
        return false;
    const char *k;
    json_t *v;
    json_object_foreach(target, k, v)
    {
        if (dv_list_has(filtering, k, strlen(k)))
            return false;
    }
    return true;
}

/* True (and the event counted as dropped) when the queue holds QUEUE_MAX events. */
static bool queue_full(struct dv_webhooks *h)
{
    pthread_mutex_lock(&h->mu);
    bool full = json_array_size(h->queue) + h->taken >= QUEUE_MAX;
    if (full)
        h->dropped++;
    pthread_mutex_unlock(&h->mu);
    return full;
}

void dv_webhooks_emit(struct dv_sandbox *s, const char *message, struct dv_tab *t, const char *id,
                      json_t *target, json_t *pre, json_t *post, const char *user_id)
{
    struct dv_webhooks *h = s->hooks;
    struct dv_tab *steps = dv_tab_by_logical(s, "sdkmessageprocessingstep", 24);
    if (!h || !steps || json_object_size(steps->rows) == 0)
        return;
    struct dv_settings st = dv_settings_get(s);
    const char *sid;
    json_t *step;
    json_object_foreach(steps->rows, sid, step)
    {
        if (json_integer_value(json_object_get(step, "statecode")) != 0)
            continue;
        json_t *msg = row_by(s, "sdkmessage",
                             json_string_value(json_object_get(step, "_sdkmessageid_value")));
        if (!msg || strcmp(json_string_value(json_object_get(msg, "name")), message) != 0)
            continue;
        const char *fid = json_string_value(json_object_get(step, "_sdkmessagefilterid_value"));
        json_t *flt = row_by(s, "sdkmessagefilter", fid);
        if (fid && (!flt || strcmp(json_string_value(json_object_get(flt, "primaryobjecttypecode")),
                                   t->def->logical) != 0))
            continue;
        if (strcmp(message, "Update") == 0 &&
            filtered_out(json_string_value(json_object_get(step, "filteringattributes")), target))
            continue;
        json_t *ep = row_by(s, "serviceendpoint",
                            json_string_value(json_object_get(step, "_eventhandler_value")));
        const char *url = json_string_value(json_object_get(ep, "url"));
        if (!url || !*url)
            continue;
        if (queue_full(h)) /* counted as dropped without building the body */
            continue;
        json_t *ctx = dv_webhook_context(s, message, t, id, target, pre, post, user_id, sid);
        add_images(s, ctx, sid, t, id, pre, post);
        /* the context is serialised (and stripped above the size limit) by the sender, outside
         * the data lock: its values are never changed in place once written */
        struct mlc_buf u;
        mlc_buf_init(&u, 8192);
        mlc_buf_printf(&u, "%s", url);
        json_t *hdrs = json_object();
        long long at = json_integer_value(json_object_get(ep, "authtype"));
        const char *av = json_string_value(json_object_get(ep, "authvalue"));
        if (at == 4 && av) {
            append_query(&u, "code", av);
        } else if ((at == 5 || at == 6) && av) {
            json_t *pairs = settings_pairs(av);
            const char *k;
            json_t *v;
            json_object_foreach(pairs, k, v)
            {
                if (at == 5)
                    json_object_set(hdrs, k, v);
                else
                    append_query(&u, k, json_string_value(v));
            }
            json_decref(pairs);
        }
        char corr[37], host[sizeof s->base_url];
        dv_guid_random(corr);
        const char *hs = strstr(s->base_url, "://");
        snprintf(host, sizeof host, "%s", hs ? hs + 3 : s->base_url);
        json_object_set_new(hdrs, "x-ms-dynamics-organization", json_string(host));
        json_object_set_new(hdrs, "x-ms-dynamics-entity-name", json_string(t->def->logical));
        json_object_set_new(hdrs, "x-ms-dynamics-request-name", json_string(message));
        json_object_set_new(hdrs, "x-ms-correlation-request-id", json_string(corr));
        json_t *ev = json_pack("{s:s, s:o, s:o, s:i, s:s, s:s, s:s}", "url", u.data, "headers",
                               hdrs, "context", ctx, "maxBytes", st.webhook_max_bytes, "entity",
                               t->def->logical, "message", message, "id", id);
        mlc_buf_free(&u);
        if (s->journal) {
            json_array_append_new(s->txn_events, ev);
            continue;
        }
        pthread_mutex_lock(&h->mu);
        if (json_array_size(h->queue) + h->taken >= QUEUE_MAX) {
            h->dropped++;
            json_decref(ev);
        } else {
            json_array_append_new(h->queue, ev);
            h->queued++;
            pthread_cond_signal(&h->cv);
        }
        pthread_mutex_unlock(&h->mu);
    }
}

void dv_webhooks_flush_txn(struct dv_sandbox *s, bool commit)
{
    json_t *evs = s->txn_events;
    s->txn_events = NULL;
    struct dv_webhooks *h = s->hooks;
    if (commit && h && json_array_size(evs)) {
        pthread_mutex_lock(&h->mu);
        for (size_t i = 0; i < json_array_size(evs); i++) {
            if (json_array_size(h->queue) + h->taken >= QUEUE_MAX) {
                h->dropped++;
                continue;
            }
            json_array_append(h->queue, json_array_get(evs, i));
            h->queued++;
        }
        pthread_cond_signal(&h->cv);
        pthread_mutex_unlock(&h->mu);
    }
    json_decref(evs);
}

/* The event's RemoteExecutionContext as sent (owned): above maxBytes, ParentContext,
 * InputParameters and the images are stripped and x-ms-dynamics-msg-size-exceeded is added. */
static char *serialise(json_t *ev)
{
    json_t *ctx = json_object_get(ev, "context");
    char *body = json_dumps(ctx, JSON_COMPACT | JSON_ESCAPE_SLASH);
    if (body && strlen(body) > (size_t)json_integer_value(json_object_get(ev, "maxBytes"))) {
        free(body);
        json_t *stripped = json_copy(ctx); /* shallow: the event's context stays whole */
        json_object_set_new(stripped, "ParentContext", json_null());
        json_object_set_new(stripped, "InputParameters", json_array());
        json_object_set_new(stripped, "PreEntityImages", json_array());
        json_object_set_new(stripped, "PostEntityImages", json_array());
        body = json_dumps(stripped, JSON_COMPACT | JSON_ESCAPE_SLASH);
        json_decref(stripped);
        json_object_set_new(json_object_get(ev, "headers"), "x-ms-dynamics-msg-size-exceeded",
                            json_string("true"));
    }
    return body ? body : mlc_strdup("{}");
}

static void *sender(void *arg)
{
    struct dv_sandbox *s = arg;
    struct dv_webhooks *h = s->hooks;
    char err[256];
    struct mlc_net_options no = {.ca_file = h->ca_file, .timeout_ms = 60000};
    struct mlc_net *net = NULL;
    if (mlc_net_new(&no, &net, err, sizeof err) != MLC_OK) {
        mlc_log(MLC_LOG_ERROR, "sandbox dataverse webhooks: %s", err);
        return NULL;
    }
    json_t *batch = json_array(); /* taken from the queue at once: no shifting per event */
    size_t next = 0;
    for (;;) {
        pthread_mutex_lock(&h->mu);
        if (next == json_array_size(batch)) {
            while (!h->stop && json_array_size(h->queue) == 0)
                pthread_cond_wait(&h->cv, &h->mu);
            if (!h->stop) {
                json_decref(batch);
                batch = h->queue;
                h->queue = json_array();
                h->taken = json_array_size(batch);
                next = 0;
            }
        }
        if (h->stop) {
            pthread_mutex_unlock(&h->mu);
            break;
        }
        json_t *ev = json_incref(json_array_get(batch, next++));
        pthread_mutex_unlock(&h->mu);
        struct dv_settings st = dv_settings_get(s);
        char *body = serialise(ev); /* first: it may add the size-exceeded header */
        struct mlc_net_header hd[16];
        size_t nh = 0;
        hd[nh++] = (struct mlc_net_header){"Content-Type", "application/json"};
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(ev, "headers"), k, v)
        {
            if (nh < 16)
                hd[nh++] = (struct mlc_net_header){k, json_string_value(v)};
        }
        struct mlc_net_request rq = {.method = "POST",
                                     .url = json_string_value(json_object_get(ev, "url")),
                                     .headers = hd,
                                     .nheaders = nh,
                                     .body = body,
                                     .body_len = strlen(body),
                                     .timeout_ms = st.webhook_timeout_ms};
        long status = 0;
        int attempts = 0;
        for (int a = 0; a < 2; a++) {
            struct mlc_net_response resp;
            attempts++;
            err[0] = '\0';
            if (mlc_net_perform(net, &rq, &resp, err, sizeof err) == MLC_OK) {
                status = resp.status;
                mlc_net_response_free(&resp);
            } else {
                status = 0;
            }
            /* one retry, and only after 502/503/504 */
            if (status != 502 && status != 503 && status != 504)
                break;
        }
        bool ok = status >= 200 && status <= 299;
        char at[32];
        dv_iso_time(mlc_now_ms(), at, sizeof at);
        pthread_mutex_lock(&h->mu);
        if (ok)
            h->delivered++;
        else
            h->failed++;
        if (attempts > 1)
            h->retries++;
        h->taken--;
        json_t *shown = json_object(); /* the x-ms-* headers only: auth pairs are secrets */
        json_object_foreach(json_object_get(ev, "headers"), k, v)
        {
            if (strncmp(k, "x-ms-", 5) == 0)
                json_object_set(shown, k, v);
        }
        json_t *rec =
            json_pack("{s:s, s:O, s:O, s:O, s:I, s:i, s:i, s:s, s:o}", "at", at, "message",
                      json_object_get(ev, "message"), "entity", json_object_get(ev, "entity"), "id",
                      json_object_get(ev, "id"), "status", (json_int_t)status, "attempts", attempts,
                      "bytes", (int)strlen(body), "error", err, "headers", shown);
        json_array_append_new(h->recent, rec);
        if (json_array_size(h->recent) > RECENT)
            json_array_remove(h->recent, 0);
        pthread_mutex_unlock(&h->mu);
        free(body);
        json_decref(ev);
    }
    json_decref(batch);
    mlc_net_free(net);
    return NULL;
}

enum mlc_rc dv_webhooks_start(struct dv_sandbox *s, const char *ca_file, char *err, size_t errsz)
{
    struct dv_webhooks *h = mlc_calloc(1, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->queue = json_array();
    h->recent = json_array();
    h->ca_file = ca_file ? mlc_strdup(ca_file) : NULL;
    s->hooks = h;
    if (pthread_create(&h->th, NULL, sender, s) != 0) {
        snprintf(err, errsz, "cannot start the webhook sender");
        return MLC_ERR;
    }
    h->started = true;
    return MLC_OK;
}

void dv_webhooks_stop(struct dv_sandbox *s)
{
    struct dv_webhooks *h = s->hooks;
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    if (h->started)
        pthread_join(h->th, NULL);
    json_decref(h->queue);
    json_decref(h->recent);
    free(h->ca_file);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
    s->hooks = NULL;
}

json_t *dv_webhooks_json(struct dv_sandbox *s)
{
    struct dv_webhooks *h = s->hooks;
    if (!h)
        return json_object();
    pthread_mutex_lock(&h->mu);
    json_t *o =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:O}", "queued", (json_int_t)h->queued, "pending",
                  (json_int_t)(json_array_size(h->queue) + h->taken), "delivered",
                  (json_int_t)h->delivered, "failed", (json_int_t)h->failed, "dropped",
                  (json_int_t)h->dropped, "retried", (json_int_t)h->retries, "recent", h->recent);
    pthread_mutex_unlock(&h->mu);
    return o;
}
