/* POST /v1/webhooks/netsuite: allowlist, secret or HMAC, event validation, enqueue, 202. */
#include "internal.h"
#include "mlc/crypto.h"
#include "mlc/log.h"
#include "mlc/queue.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const synced_types[] = {"customer", "contact", "salesorder"};

static bool is_token(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || !islower((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_' &&
            s[i] != '-')
            return false;
    return true;
}

static bool is_printable(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

static bool is_account_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

/* 1234567_SB1 and 1234567-sb1 name the same account (host names lower-case and use '-'). */
static bool same_account(const char *a, const char *b)
{
    size_t n = strlen(a);
    if (n != strlen(b))
        return false;
    for (size_t i = 0; i < n; i++) {
        char x = a[i] == '-' ? '_' : (char)toupper((unsigned char)a[i]);
        char y = b[i] == '-' ? '_' : (char)toupper((unsigned char)b[i]);
        if (x != y)
            return false;
    }
    return true;
}

static enum mlc_rc parse_event(json_t *o, const char *where, const char *account_id,
                               struct mlc_ns_event *ev, const char **problem, char *detail,
                               size_t detailsz)
{
    memset(ev, 0, sizeof *ev);
    if (!json_is_object(o))
        FAIL("invalid_field", "%s must be an object", where);

    json_t *v = json_object_get(o, "eventId");
    if (!json_is_string(v) || !is_printable(json_string_value(v), 128))
        FAIL("invalid_field", "%s.eventId must be 1-128 printable ASCII characters", where);
    snprintf(ev->event_id, sizeof ev->event_id, "%s", json_string_value(v));

    v = json_object_get(o, "eventType");
    if (!json_is_string(v) || !is_token(json_string_value(v), 32))
        FAIL("invalid_field", "%s.eventType must be a lower-case token of at most 32 characters",
             where);
    snprintf(ev->event_type, sizeof ev->event_type, "%s", json_string_value(v));
    ev->is_delete = strcmp(ev->event_type, "delete") == 0;

    v = json_object_get(o, "recordType");
    if (!json_is_string(v) || !is_printable(json_string_value(v), 64))
        FAIL("invalid_field", "%s.recordType must be a record type name", where);
    ev->ignored = true;
    for (size_t i = 0; i < sizeof synced_types / sizeof synced_types[0]; i++) {
        if (strcasecmp(json_string_value(v), synced_types[i]) == 0) {
            snprintf(ev->record_type, sizeof ev->record_type, "%s", synced_types[i]);
            ev->ignored = false;
        }
    }

    v = json_object_get(o, "recordId");
    uint64_t id;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strlen(s) > 20 || mlc_parse_u64(s, &id) != MLC_OK || id == 0)
            FAIL("invalid_field", "%s.recordId must be a positive decimal number", where);
    } else if (json_is_integer(v) && json_integer_value(v) > 0) {
        id = (uint64_t)json_integer_value(v);
    } else {
        FAIL("invalid_field", "%s.recordId must be a positive decimal number", where);
    }
    snprintf(ev->record_id, sizeof ev->record_id, "%llu", (unsigned long long)id);

    v = json_object_get(o, "occurredAt");
    int64_t ms;
    if (!json_is_string(v) || mlc_parse_rfc3339(json_string_value(v), &ms) != MLC_OK)
        FAIL("invalid_field", "%s.occurredAt must be an RFC 3339 date-time with offset", where);
    snprintf(ev->occurred_at, sizeof ev->occurred_at, "%s", json_string_value(v));

    v = json_object_get(o, "accountId");
    if (!json_is_string(v) || !is_account_id(json_string_value(v)))
        FAIL("invalid_field", "%s.accountId must be a NetSuite account ID", where);
    if (account_id && *account_id && !same_account(json_string_value(v), account_id))
        FAIL("wrong_account", "%s.accountId names another NetSuite account", where);
    return MLC_OK;
fail:
    return strcmp(*problem, "wrong_account") == 0 ? MLC_ERR : MLC_EINVAL;
}

enum mlc_rc mlc_ingest_netsuite_parse(const char *body, size_t len, const char *account_id,
                                      struct mlc_ns_event *events, size_t *nevents,
                                      const char **problem, char *detail, size_t detailsz)
{
    *nevents = 0;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    enum mlc_rc rc = MLC_EINVAL;
    if (!root) {
        *problem = "invalid_json";
        snprintf(detail, detailsz, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return MLC_EINVAL;
    }
    json_t *list = json_object_get(root, "events");
    if (!json_is_object(root))
        FAIL("invalid_field", "the body must be an event object or {\"events\":[...]}");
    if (list) {
        size_t n = json_array_size(list);
        if (!json_is_array(list) || n == 0 || n > MLC_NS_MAX_EVENTS)
            FAIL("invalid_field", "events must be an array of 1 to %d events", MLC_NS_MAX_EVENTS);
        for (size_t i = 0; i < n; i++) {
            char where[32];
            snprintf(where, sizeof where, "events[%zu]", i);
            if ((rc = parse_event(json_array_get(list, i), where, account_id, &events[i], problem,
                                  detail, detailsz)) != MLC_OK) {
                json_decref(root);
                return rc;
            }
        }
        *nevents = n;
    } else {
        if ((rc = parse_event(root, "event", account_id, &events[0], problem, detail, detailsz)) !=
            MLC_OK) {
            json_decref(root);
            return rc;
        }
        *nevents = 1;
    }
    json_decref(root);
    return MLC_OK;
fail:
    json_decref(root);
    return MLC_EINVAL;
}

static bool client_allowed(struct mlc_ingest *in, struct mlc_request *r, char *ipbuf, size_t sz)
{
    struct mlc_ip peer, client;
    if (!mlc_request_peer(r, &peer)) {
        snprintf(ipbuf, sz, "unknown");
        return in->ns_cidrs.any;
    }
    mlc_client_ip(&peer, mlc_request_header(r, "X-Forwarded-For"), &in->trusted, &client);
    mlc_ip_format(&client, ipbuf, sz);
    return mlc_cidr_list_match(&in->ns_cidrs, &client);
}

static bool secret_ok(struct mlc_ingest *in, const char *given)
{
    bool ok = false;
    size_t gl = strlen(given);
    struct ingest_secrets *s = secrets_get(in);
    for (size_t i = 0; i < s->n_ns_secrets; i++)
        ok |= mlc_ct_equal(given, gl, s->ns_secrets[i], strlen(s->ns_secrets[i]));
    secrets_put(s);
    return ok;
}

void ns_early(struct mlc_request *r, void *ud)
{
    struct mlc_ingest *in = ud;
    char ip[64];
    if (!client_allowed(in, r, ip, sizeof ip)) {
        ingest_reject(in, r, "netsuite", "forbidden_ip",
                      "the source address is not in MLC_NETSUITE_ALLOWED_CIDRS");
        return;
    }
    mlc_request_log_field(r, "client", ip);
    if (!mlc_request_content_type_is(r, "application/json")) {
        ingest_reject(in, r, "netsuite", "unsupported_media_type",
                      "Content-Type must be application/json");
        return;
    }
    if (in->ns_auth == NS_AUTH_SECRET) {
        const char *s = mlc_request_header(r, "X-MLC-Webhook-Secret");
        if (!s || !secret_ok(in, s))
            ingest_reject(in, r, "netsuite", "unauthorized",
                          s ? "X-MLC-Webhook-Secret does not match"
                            : "X-MLC-Webhook-Secret is missing");
    } else if (!mlc_request_header(r, "X-MLC-Signature")) {
        ingest_reject(in, r, "netsuite", "unauthorized", "X-MLC-Signature is missing");
    }
}

void ns_handle(struct mlc_request *r, void *ud)
{
    struct mlc_ingest *in = ud;
    size_t len;
    const char *body = mlc_request_body(r, &len);
    char detail[256];
    if (in->ns_auth == NS_AUTH_HMAC) {
        struct ingest_secrets *s = secrets_get(in);
        enum mlc_rc vrc = mlc_signature_verify(mlc_request_header(r, "X-MLC-Signature"), body, len,
                                               s->ns_secrets, s->n_ns_secrets, mlc_now_ms() / 1000,
                                               in->ns_tolerance_s, detail, sizeof detail);
        secrets_put(s);
        if (vrc != MLC_OK) {
            ingest_reject(in, r, "netsuite", "unauthorized", detail);
            return;
        }
    }
    struct mlc_ns_event *events = mlc_calloc(MLC_NS_MAX_EVENTS, sizeof *events);
    size_t n = 0;
    const char *problem = "invalid_field";
    if (mlc_ingest_netsuite_parse(body, len, in->ns_account, events, &n, &problem, detail,
                                  sizeof detail) != MLC_OK) {
        ingest_reject(in, r, "netsuite", problem, detail);
        free(events);
        return;
    }
    struct mlc_job_spec specs[MLC_NS_MAX_EVENTS];
    char recs[MLC_NS_MAX_EVENTS][40], dedupes[MLC_NS_MAX_EVENTS][140];
    json_t *datas[MLC_NS_MAX_EVENTS];
    size_t nspec = 0, ignored = 0;
    for (size_t i = 0; i < n; i++) {
        if (events[i].ignored) {
            ignored++;
            continue;
        }
        snprintf(recs[nspec], sizeof recs[nspec], "%s:%s", events[i].record_type,
                 events[i].record_id);
        snprintf(dedupes[nspec], sizeof dedupes[nspec], "ns:%s", events[i].event_id);
        datas[nspec] = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "recordType",
                                 events[i].record_type, "recordId", events[i].record_id, "op",
                                 events[i].is_delete ? "delete" : "change", "eventType",
                                 events[i].event_type, "eventId", events[i].event_id, "occurredAt",
                                 events[i].occurred_at, "source", "netsuite_webhook");
        specs[nspec] = (struct mlc_job_spec){.lane = MLC_LANE_LIVE,
                                             .kind = events[i].record_type,
                                             .record = recs[nspec],
                                             .dedupe = dedupes[nspec],
                                             .data = datas[nspec]};
        nspec++;
    }
    enum mlc_enqueue_outcome outcomes[MLC_NS_MAX_EVENTS];
    enum mlc_rc rc = mlc_queue_enqueue(in->app->queue, specs, nspec, outcomes);
    for (size_t i = 0; i < nspec; i++)
        json_decref(datas[i]);
    free(events);
    if (rc == MLC_ENOMEM) {
        mlc_reply_header(r, "Retry-After", "30");
        ingest_reject(in, r, "netsuite", "queue_full",
                      "the live stream is at MLC_QUEUE_MAX_BACKLOG");
        return;
    }
    if (rc != MLC_OK) {
        mlc_reply_header(r, "Retry-After", "5");
        ingest_reject(in, r, "netsuite", "queue_unavailable", "Redis is unreachable; retry later");
        return;
    }
    size_t accepted = 0, dup = 0;
    for (size_t i = 0; i < nspec; i++) {
        if (outcomes[i] == MLC_ENQ_DUPLICATE)
            dup++;
        else
            accepted++;
    }
    ingest_count(in, "netsuite", "accepted", accepted);
    ingest_count(in, "netsuite", "duplicate", dup);
    ingest_count(in, "netsuite", "ignored", ignored);
    mlc_reply_json(r, 202,
                   json_pack("{s:I, s:I, s:I}", "accepted", (json_int_t)accepted, "duplicates",
                             (json_int_t)dup, "ignored", (json_int_t)ignored));
}
