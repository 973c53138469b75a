/* POST /v1/webhooks/dataverse: WebhookKey/header/query auth, RemoteExecutionContext, enqueue. */
#include "internal.h"
#include "mlc/crypto.h"
#include "mlc/guid.h"
#include "mlc/log.h"
#include "mlc/queue.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const messages[] = {
    "Create", "Update", "Delete", "Merge", "Assign", "SetState", "SetStateDynamicEntity"};
static const char *const tables[] = {"account", "contact", "salesorder", "salesorderdetail"};

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static bool is_guid(const char *s)
{
    return mlc_guid_valid(s, strlen(s));
}

enum mlc_rc mlc_dv_parse_date(const char *s, int64_t *unix_ms)
{
    /* "\/Date(ms)\/" arrives as "/Date(ms)/" once the JSON escape is decoded; take both. */
    const char *p = s;
    if (*p == '\\')
        p++;
    if (strncmp(p, "/Date(", 6) != 0)
        return MLC_EINVAL;
    p += 6;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    if (!isdigit((unsigned char)*p))
        return MLC_EINVAL;
    int64_t v = 0;
    int digits = 0;
    while (isdigit((unsigned char)*p)) {
        if (++digits > 16)
            return MLC_EINVAL;
        v = v * 10 + (*p++ - '0');
    }
    /* An offset (+0000) only says how the client displayed it: the number is already UTC. */
    if (*p == '+' || *p == '-') {
        p++;
        for (int i = 0; i < 4; i++, p++)
            if (!isdigit((unsigned char)*p))
                return MLC_EINVAL;
    }
    if (*p++ != ')')
        return MLC_EINVAL;
    if (*p == '\\')
        p++;
    if (strcmp(p, "/") != 0)
        return MLC_EINVAL;
    *unix_ms = neg ? -v : v;
    return MLC_OK;
}

static json_t *normalize(json_t *v, int depth);

/* [{"key":k,"value":v}, ...] -> {k: v}; NULL when v is not such an array. */
static json_t *pairs_to_object(json_t *arr, int depth)
{
    if (!json_is_array(arr))
        return NULL;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (!json_is_object(e) || !json_is_string(json_object_get(e, "key")) ||
            json_object_size(e) > 2)
            return NULL;
    }
    json_t *o = json_object();
    json_array_foreach(arr, i, e)
    {
        json_object_set_new(o, json_string_value(json_object_get(e, "key")),
                            normalize(json_object_get(e, "value"), depth + 1));
    }
    return o;
}

static json_t *normalize(json_t *v, int depth)
{
    if (!v)
        return json_null();
    if (depth > 32)
        return json_null();
    if (json_is_string(v)) {
        int64_t ms;
        if (mlc_dv_parse_date(json_string_value(v), &ms) == MLC_OK) {
            char ts[40];
            mlc_fmt_rfc3339(ms, ts, sizeof ts);
            return json_string(ts);
        }
        return json_incref(v);
    }
    if (json_is_array(v)) {
        json_t *o = json_array_size(v) ? pairs_to_object(v, depth) : NULL;
        if (o)
            return o;
        json_t *a = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) json_array_append_new(a, normalize(e, depth + 1));
        return a;
    }
    if (!json_is_object(v))
        return json_incref(v);
    const char *type = json_string_value(json_object_get(v, "__type"));
    if (type) {
        size_t tl = strcspn(type, ":");
        char t[48];
        snprintf(t, sizeof t, "%.*s", (int)(tl < 47 ? tl : 47), type);
        if (strcmp(t, "EntityReference") == 0)
            return json_pack("{s:s, s:O?, s:O?, s:O?}", "type", t, "id", json_object_get(v, "Id"),
                             "logicalName", json_object_get(v, "LogicalName"), "name",
                             json_object_get(v, "Name"));
        if (strcmp(t, "OptionSetValue") == 0 || strcmp(t, "Money") == 0)
            return json_pack("{s:s, s:O?}", "type", t, "value", json_object_get(v, "Value"));
        if (strcmp(t, "Entity") == 0) {
            json_t *attrs = pairs_to_object(json_object_get(v, "Attributes"), depth);
            return json_pack("{s:s, s:O?, s:O?, s:o}", "type", t, "logicalName",
                             json_object_get(v, "LogicalName"), "id", json_object_get(v, "Id"),
                             "attributes", attrs ? attrs : json_object());
        }
    }
    json_t *o = json_object();
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
        json_object_set_new(o, k, normalize(x, depth + 1));
    }
    return o;
}

static enum mlc_rc copy_guid(json_t *root, const char *name, bool required, char *out, size_t outsz,
                             const char **problem, char *detail, size_t detailsz)
{
    json_t *v = json_object_get(root, name);
    out[0] = '\0';
    if (!v || json_is_null(v)) {
        if (required)
            FAIL("invalid_field", "%s is required", name);
        return MLC_OK;
    }
    if (!json_is_string(v) || !is_guid(json_string_value(v)))
        FAIL("invalid_field", "%s must be a GUID", name);
    snprintf(out, outsz, "%s", json_string_value(v));
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return MLC_OK;
fail:
    return MLC_EINVAL;
}

enum mlc_rc mlc_ingest_dataverse_parse(const char *body, size_t len, struct mlc_dv_event *ev,
                                       json_t **normalized, const char **problem, char *detail,
                                       size_t detailsz)
{
    memset(ev, 0, sizeof *ev);
    if (normalized)
        *normalized = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        *problem = "invalid_json";
        snprintf(detail, detailsz, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return MLC_EINVAL;
    }
    if (!json_is_object(root))
        FAIL("invalid_field", "the body must be a RemoteExecutionContext object");
    json_t *v = json_object_get(root, "MessageName");
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= 48)
        FAIL("invalid_field", "MessageName must be a non-empty string");
    snprintf(ev->message, sizeof ev->message, "%s", json_string_value(v));
    v = json_object_get(root, "PrimaryEntityName");
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= 64)
        FAIL("invalid_field", "PrimaryEntityName must be a non-empty string");
    snprintf(ev->entity, sizeof ev->entity, "%s", json_string_value(v));
    if (copy_guid(root, "PrimaryEntityId", true, ev->entity_id, sizeof ev->entity_id, problem,
                  detail, detailsz) != MLC_OK ||
        copy_guid(root, "OrganizationId", true, ev->organization_id, sizeof ev->organization_id,
                  problem, detail, detailsz) != MLC_OK ||
        copy_guid(root, "OperationId", false, ev->operation_id, sizeof ev->operation_id, problem,
                  detail, detailsz) != MLC_OK ||
        copy_guid(root, "CorrelationId", false, ev->correlation_id, sizeof ev->correlation_id,
                  problem, detail, detailsz) != MLC_OK ||
        copy_guid(root, "UserId", false, ev->user_id, sizeof ev->user_id, problem, detail,
                  detailsz) != MLC_OK ||
        copy_guid(root, "InitiatingUserId", false, ev->initiating_user_id,
                  sizeof ev->initiating_user_id, problem, detail, detailsz) != MLC_OK)
        goto fail;
    v = json_object_get(root, "Depth");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000)
            FAIL("invalid_field", "Depth must be a small non-negative integer");
        ev->depth = (int)json_integer_value(v);
    }
    json_t *out = json_object_get(root, "OutputParameters");
    if (out && !json_is_null(out) && !json_is_array(out))
        FAIL("invalid_field", "OutputParameters must be an array of key/value pairs");
    json_t *in = json_object_get(root, "InputParameters");
    if (in && !json_is_null(in) && !json_is_array(in))
        FAIL("invalid_field", "InputParameters must be an array of key/value pairs");
    /* A Create names the new row in OutputParameters "id" as well. */
    json_t *outobj = pairs_to_object(out, 0);
    const char *newid = json_string_value(json_object_get(outobj, "id"));
    if (strcmp(ev->message, "Create") == 0 && newid && is_guid(newid)) {
        snprintf(ev->entity_id, sizeof ev->entity_id, "%s", newid);
        for (char *p = ev->entity_id; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    json_decref(outobj);
    ev->relevant = in_list(ev->message, messages, sizeof messages / sizeof messages[0]) &&
                   in_list(ev->entity, tables, sizeof tables / sizeof tables[0]);
    ev->stripped = !in || json_is_null(in);
    if (normalized)
        *normalized = normalize(root, 0);
    json_decref(root);
    return MLC_OK;
fail:
    json_decref(root);
    return MLC_EINVAL;
}

static bool auth_check(struct mlc_ingest *in, const struct ingest_secrets *s, struct mlc_request *r,
                       const char **why)
{
    if (in->dv_auth == DV_AUTH_WEBHOOKKEY) {
        const char *code = mlc_request_query(r, "code");
        if (!code) {
            *why = "the WebhookKey (query parameter code) is missing";
            return false;
        }
        bool ok = false;
        size_t cl = strlen(code);
        for (size_t i = 0; i < s->n_dv_keys; i++)
            ok |= mlc_ct_equal(code, cl, s->dv_keys[i], strlen(s->dv_keys[i]));
        *why = "the WebhookKey does not match";
        return ok;
    }
    bool ok = s->n_dv_pairs > 0;
    for (size_t i = 0; i < s->n_dv_pairs; i++) {
        const char *got = in->dv_auth == DV_AUTH_HEADER ? mlc_request_header(r, s->dv_pairs[i].k)
                                                        : mlc_request_query(r, s->dv_pairs[i].k);
        const char *want = s->dv_pairs[i].v;
        ok &=
            got != NULL && mlc_ct_equal(got ? got : "", got ? strlen(got) : 0, want, strlen(want));
    }
    *why = in->dv_auth == DV_AUTH_HEADER ? "the authentication headers do not match"
                                         : "the authentication query parameters do not match";
    return ok;
}

static bool dv_auth_ok(struct mlc_ingest *in, struct mlc_request *r, const char **why)
{
    struct ingest_secrets *s = secrets_get(in);
    bool ok = auth_check(in, s, r, why);
    secrets_put(s);
    return ok;
}

void dv_early(struct mlc_request *r, void *ud)
{
    struct mlc_ingest *in = ud;
    const char *why = NULL;
    if (!dv_auth_ok(in, r, &why)) {
        ingest_reject(in, r, "dataverse", "unauthorized", why);
        return;
    }
    if (!mlc_request_content_type_is(r, "application/json"))
        ingest_reject(in, r, "dataverse", "unsupported_media_type",
                      "Content-Type must be application/json");
}

void dv_handle(struct mlc_request *r, void *ud)
{
    struct mlc_ingest *in = ud;
    size_t len;
    const char *body = mlc_request_body(r, &len);
    struct mlc_dv_event ev;
    const char *problem = "invalid_field";
    char detail[256];
    if (mlc_ingest_dataverse_parse(body, len, &ev, NULL, &problem, detail, sizeof detail) !=
        MLC_OK) {
        ingest_reject(in, r, "dataverse", problem, detail);
        return;
    }
    if (in->dv_org && *in->dv_org && strcasecmp(in->dv_org, ev.organization_id) != 0) {
        ingest_reject(in, r, "dataverse", "wrong_organization",
                      "OrganizationId names another Dataverse organization");
        return;
    }
    const char *exceeded = mlc_request_header(r, "x-ms-dynamics-msg-size-exceeded");
    if (exceeded && *exceeded)
        ev.stripped = true;
    if (!ev.relevant) {
        ingest_count(in, "dataverse", "ignored", 1);
        mlc_reply_json(r, 200,
                       json_pack("{s:i, s:i, s:i}", "accepted", 0, "duplicates", 0, "ignored", 1));
        return;
    }
    json_t *data =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:s}", "message", ev.message,
                  "entity", ev.entity, "entityId", ev.entity_id, "operationId", ev.operation_id,
                  "correlationId", ev.correlation_id, "userId", ev.user_id, "initiatingUserId",
                  ev.initiating_user_id, "organizationId", ev.organization_id, "depth", ev.depth,
                  "stripped", ev.stripped, "source", "dataverse_webhook");
    char dedupe[100];
    snprintf(dedupe, sizeof dedupe, "dv:%s:%s", ev.operation_id, ev.entity_id);
    struct mlc_job_spec spec = {.lane = MLC_LANE_LIVE,
                                .kind = "dataverse",
                                .record = NULL,
                                .dedupe = ev.operation_id[0] ? dedupe : NULL,
                                .data = data};
    enum mlc_enqueue_outcome outcome;
    enum mlc_rc rc = mlc_queue_enqueue(in->app->queue, &spec, 1, &outcome);
    json_decref(data);
    if (rc == MLC_ENOMEM) {
        ingest_reject(in, r, "dataverse", "queue_full",
                      "the live stream is at MLC_QUEUE_MAX_BACKLOG");
        return;
    }
    if (rc != MLC_OK) {
        /* 503 is one of the statuses after which Dataverse retries an async delivery. */
        ingest_reject(in, r, "dataverse", "queue_unavailable", "Redis is unreachable; retry later");
        return;
    }
    bool dup = outcome == MLC_ENQ_DUPLICATE;
    ingest_count(in, "dataverse", dup ? "duplicate" : "accepted", 1);
    mlc_reply_json(r, 202,
                   json_pack("{s:i, s:i, s:i}", "accepted", dup ? 0 : 1, "duplicates", dup ? 1 : 0,
                             "ignored", 0));
}
