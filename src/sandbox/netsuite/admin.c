/* /_sandbox/...: switches, faults, inspection (calls, peak concurrency, data), mutations and the
 * scripted change stream. */
#include "internal.h"
#include "mlc/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREFIX "/_sandbox/netsuite/"

static const char *const call_names[NS_CALL__COUNT] = {"token",      "suiteql",          "record",
                                                       "serverTime", "governanceLimits", "admin"};
static const char *const outcome_names[NS_OUT__COUNT] = {
    "ok",       "unauthorized", "forbidden", "badRequest", "notFound", "concurrencyRefused",
    "fault429", "fault5xx",     "faultDrop"};

static void reply_err(struct mlc_request *r, unsigned status, const char *msg)
{
    mlc_reply_json(r, status, json_pack("{s:s}", "error", msg));
}

static json_t *stats(struct ns_sandbox *s)
{
    json_t *calls = json_object(), *outs = json_object();
    for (int i = 0; i < NS_CALL__COUNT; i++)
        json_object_set_new(calls, call_names[i],
                            json_integer((json_int_t)atomic_load(&s->calls[i])));
    for (int i = 0; i < NS_OUT__COUNT; i++)
        json_object_set_new(outs, outcome_names[i],
                            json_integer((json_int_t)atomic_load(&s->outcomes[i])));
    return json_pack("{s:o, s:o, s:i, s:i, s:i, s:I, s:I, s:o}", "calls", calls, "outcomes", outs,
                     "inflight", atomic_load(&s->inflight), "peakConcurrency",
                     atomic_load(&s->peak), "peakAttempted", atomic_load(&s->peak_attempted),
                     "tokensIssued", (json_int_t)atomic_load(&s->tokens_issued), "dataVersion",
                     (json_int_t)atomic_load(&s->data_version), "events", ns_events_stats(s, 10));
}

static void reset_stats(struct ns_sandbox *s)
{
    for (int i = 0; i < NS_CALL__COUNT; i++)
        atomic_store(&s->calls[i], 0);
    for (int i = 0; i < NS_OUT__COUNT; i++)
        atomic_store(&s->outcomes[i], 0);
    atomic_store(&s->peak, 0);
    atomic_store(&s->peak_attempted, 0);
    atomic_store(&s->tokens_issued, 0);
}

static json_t *body_json(struct mlc_request *r, bool *bad)
{
    size_t len;
    const char *b = mlc_request_body(r, &len);
    *bad = false;
    if (len == 0)
        return json_object();
    json_t *j = json_loadb(b, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        *bad = true;
        return NULL;
    }
    return j;
}

static void do_mutate(struct ns_sandbox *s, struct mlc_request *r, const char *op, json_t *args)
{
    json_t *res = NULL;
    unsigned status = 200;
    char err[512];
    if (ns_mutate(s, op, args, &res, &status, err, sizeof err) != MLC_OK) {
        reply_err(r, status, err);
        return;
    }
    mlc_reply_json(r, 200, res);
}

static const char *const tables[] = {"customer",
                                     "contact",
                                     "entityaddress",
                                     "customeraddressbook",
                                     "customercategory",
                                     "entitystatus",
                                     "subsidiary",
                                     "currency",
                                     "employee",
                                     "item",
                                     "term",
                                     "contactrole",
                                     "transaction",
                                     "transactionline",
                                     "DeletedRecord"};

/* {mutable path}: customers/{id}[/merge], contacts/{id}, salesorders/{id}[/lines/{line}] */
static bool route_records(struct ns_sandbox *s, struct mlc_request *r, const char *rest,
                          const char *method, json_t *body)
{
    static const struct {
        const char *path, *type;
    } kinds[] = {{"customers", "customer"}, {"contacts", "contact"}, {"salesorders", "salesorder"}};
    for (size_t k = 0; k < 3; k++) {
        size_t pl = strlen(kinds[k].path);
        if (strncmp(rest, kinds[k].path, pl) != 0 || (rest[pl] && rest[pl] != '/'))
            continue;
        const char *tail = rest[pl] ? rest + pl + 1 : "";
        char op[48];
        if (!*tail) {
            if (strcmp(method, "POST") != 0) {
                reply_err(r, 405, "POST to create");
                return true;
            }
            snprintf(op, sizeof op, "%s.create", kinds[k].type);
            do_mutate(s, r, op, body);
            return true;
        }
        char idtext[32];
        size_t il = strcspn(tail, "/");
        if (il == 0 || il >= sizeof idtext) {
            reply_err(r, 404, "no such path");
            return true;
        }
        memcpy(idtext, tail, il);
        idtext[il] = '\0';
        uint64_t id;
        if (mlc_parse_u64(idtext, &id) != MLC_OK) {
            reply_err(r, 404, "the id must be a number");
            return true;
        }
        json_object_set_new(body, "id", json_integer((json_int_t)id));
        const char *sub = tail[il] ? tail + il + 1 : "";
        if (!*sub && (strcmp(method, "PATCH") == 0 || strcmp(method, "PUT") == 0)) {
            snprintf(op, sizeof op, "%s.update", kinds[k].type);
        } else if (!*sub && strcmp(method, "DELETE") == 0) {
            snprintf(op, sizeof op, "%s.delete", kinds[k].type);
        } else if (strcmp(sub, "merge") == 0 && k == 0 && strcmp(method, "POST") == 0) {
            snprintf(op, sizeof op, "customer.merge");
        } else if (k == 2 && strncmp(sub, "lines/", 6) == 0 && strcmp(method, "PATCH") == 0) {
            uint64_t line;
            if (mlc_parse_u64(sub + 6, &line) != MLC_OK) {
                reply_err(r, 404, "the line must be a number");
                return true;
            }
            json_object_set_new(body, "line", json_integer((json_int_t)line));
            snprintf(op, sizeof op, "salesorder.line");
        } else {
            reply_err(r, 405, "unsupported method or path");
            return true;
        }
        do_mutate(s, r, op, body);
        return true;
    }
    return false;
}

void ns_admin_handle(struct mlc_request *r, void *ud)
{
    struct ns_sandbox *s = ud;
    atomic_fetch_add(&s->calls[NS_CALL_ADMIN], 1);
    const char *path = mlc_request_path(r);
    const char *method = mlc_request_method(r);
    if (s->admin_token[0]) {
        const char *a = mlc_request_header(r, "Authorization");
        if (!a || strncasecmp(a, "Bearer ", 7) != 0 ||
            !mlc_ct_equal(a + 7, strlen(a + 7), s->admin_token, strlen(s->admin_token))) {
            reply_err(r, 401, "the sandbox admin API needs its bearer token");
            return;
        }
    }
    if (strcmp(path, "/_sandbox/healthz") == 0) {
        mlc_reply_json(r, 200, json_pack("{s:s, s:s}", "status", "ok", "netsuite", s->base_url));
        return;
    }
    if (strncmp(path, PREFIX, strlen(PREFIX)) != 0) {
        reply_err(r, 404, "no such path");
        return;
    }
    const char *rest = path + strlen(PREFIX);
    bool bad = false;
    json_t *body = body_json(r, &bad);
    if (bad) {
        reply_err(r, 400, "the body must be a JSON object");
        return;
    }
    char err[512];
    bool get = strcmp(method, "GET") == 0;
    if (strcmp(rest, "settings") == 0) {
        if (!get && ns_settings_apply(s, body, err, sizeof err) != MLC_OK) {
            reply_err(r, 400, err);
            goto out;
        }
        struct ns_settings st = ns_settings_get(s);
        mlc_reply_json(r, 200, ns_settings_json(&st));
    } else if (strcmp(rest, "faults") == 0 && !get) {
        json_t *rev = json_object_get(body, "revokeTokens");
        json_t *ren = json_object_get(body, "renameField");
        json_t *rest_settings = json_deep_copy(body);
        json_object_del(rest_settings, "revokeTokens");
        json_object_del(rest_settings, "renameField");
        if (ns_settings_apply(s, rest_settings, err, sizeof err) != MLC_OK) {
            json_decref(rest_settings);
            reply_err(r, 400, err);
            goto out;
        }
        json_decref(rest_settings);
        if (ren) {
            const char *t = json_string_value(json_object_get(ren, "table"));
            const char *f = json_string_value(json_object_get(ren, "from"));
            const char *to = json_string_value(json_object_get(ren, "to"));
            if (!t || !f || !to || ns_fault_rename_field(s, t, f, to, err, sizeof err) != MLC_OK) {
                reply_err(r, 400, t && f && to ? err : "renameField needs table, from and to");
                goto out;
            }
        }
        if (json_is_true(rev))
            ns_tokens_revoke_all(s);
        struct ns_settings st = ns_settings_get(s);
        mlc_reply_json(r, 200, ns_settings_json(&st));
    } else if (strcmp(rest, "stats") == 0 && get) {
        mlc_reply_json(r, 200, stats(s));
    } else if (strcmp(rest, "stats/reset") == 0 && !get) {
        reset_stats(s);
        mlc_reply_json(r, 200, stats(s));
    } else if (strcmp(rest, "events") == 0 && get) {
        mlc_reply_json(r, 200, ns_events_stats(s, 100));
    } else if (strcmp(rest, "credentials") == 0 && get) {
        json_t *keys = json_array();
        for (size_t i = 0; i < s->nkeys; i++)
            json_array_append_new(keys, json_pack("{s:s, s:s}", "certificateId", s->keys[i].cert_id,
                                                  "publicKey", s->keys[i].pub_pem));
        mlc_reply_json(r, 200,
                       json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s}", "accountId",
                                 s->account_id, "baseUrl", s->base_url, "clientId", s->client_id,
                                 "keys", keys, "consumerKey", s->consumer_key, "consumerSecret",
                                 s->consumer_secret, "tokenId", s->token_id, "tokenSecret",
                                 s->token_secret, "webhookSecret", s->webhook_secret));
    } else if (strcmp(rest, "counts") == 0 && get) {
        json_t *o = json_object();
        for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
            char sql[128];
            json_t *rows = NULL;
            snprintf(sql, sizeof sql, "SELECT count(*) AS n FROM \"%s\"", tables[i]);
            if (ns_db_inspect(s, sql, 1, &rows, err, sizeof err) == MLC_OK)
                json_object_set(o, tables[i], json_object_get(json_array_get(rows, 0), "n"));
            json_decref(rows);
        }
        mlc_reply_json(r, 200, o);
    } else if (strncmp(rest, "data/", 5) == 0 && get) {
        const char *t = rest + 5;
        size_t i = 0;
        for (; i < sizeof tables / sizeof tables[0]; i++)
            if (strcasecmp(tables[i], t) == 0)
                break;
        if (i == sizeof tables / sizeof tables[0]) {
            reply_err(r, 404, "no such table");
            goto out;
        }
        uint64_t id = 0, limit = 100;
        const char *idv = mlc_request_query(r, "id"), *lv = mlc_request_query(r, "limit");
        if ((idv && mlc_parse_u64(idv, &id) != MLC_OK) ||
            (lv && (mlc_parse_u64(lv, &limit) != MLC_OK || limit > 10000))) {
            reply_err(r, 400, "id and limit are numbers (limit <= 10000)");
            goto out;
        }
        const char *key = strcasecmp(tables[i], "entitystatus") == 0          ? "key"
                          : strcasecmp(tables[i], "entityaddress") == 0       ? "nkey"
                          : strcasecmp(tables[i], "transactionline") == 0     ? "\"transaction\""
                          : strcasecmp(tables[i], "customeraddressbook") == 0 ? "entity"
                          : strcasecmp(tables[i], "DeletedRecord") == 0       ? "recordid"
                                                                              : "id";
        char sql[256];
        if (idv)
            snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" WHERE %s = %llu", tables[i], key,
                     (unsigned long long)id);
        else
            snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" ORDER BY rowid LIMIT %llu", tables[i],
                     (unsigned long long)limit);
        json_t *rows = NULL;
        if (ns_db_inspect(s, sql, 10000, &rows, err, sizeof err) != MLC_OK) {
            reply_err(r, 400, err);
            goto out;
        }
        mlc_reply_json(r, 200, json_pack("{s:o}", "rows", rows));
    } else if (strcmp(rest, "sql") == 0 && !get) {
        const char *sql = json_string_value(json_object_get(body, "sql"));
        json_t *rows = NULL;
        if (!sql) {
            reply_err(r, 400, "{\"sql\": \"SELECT ...\"}");
            goto out;
        }
        if (ns_db_inspect(s, sql, 10000, &rows, err, sizeof err) != MLC_OK) {
            reply_err(r, 400, err);
            goto out;
        }
        mlc_reply_json(r, 200, json_pack("{s:o}", "rows", rows));
    } else if (strcmp(rest, "changes") == 0 && !get) {
        json_int_t n = json_integer_value(json_object_get(body, "count"));
        json_int_t seed = json_integer_value(json_object_get(body, "seed"));
        if (n < 1 || n > 100000) {
            reply_err(r, 400, "count must be 1..100000");
            goto out;
        }
        json_t *res = NULL;
        ns_mutate_random(s, (long)n, (uint64_t)seed + (uint64_t)atomic_load(&s->data_version), &res,
                         err, sizeof err);
        mlc_reply_json(r, 200, res);
    } else if (strcmp(rest, "mutate") == 0 && !get) {
        const char *op = json_string_value(json_object_get(body, "op"));
        if (!op) {
            reply_err(r, 400, "{\"op\": \"customer.update\", ...}");
            goto out;
        }
        do_mutate(s, r, op, body);
    } else if (strcmp(rest, "tokens/revoke") == 0 && !get) {
        ns_tokens_revoke_all(s);
        mlc_reply_json(r, 200, json_pack("{s:b}", "revoked", 1));
    } else if (!route_records(s, r, rest, method, body)) {
        reply_err(r, 404, "no such path");
    }
out:
    json_decref(body);
}
