/* The emulated NetSuite account: lifecycle, switches (one table for flags, admin API and --help),
 * routes, the API-call frame. */
#include "internal.h"
#include "sandbox/common.h"
#include "mlc/crypto.h"
#include "mlc/log.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum sw_kind { SW_INT, SW_DBL, SW_BOOL2, SW_STR, SW_DENY };

struct sw {
    const char *name; /* admin API key */
    const char *flag; /* command-line flag */
    enum sw_kind kind;
    size_t off;
    size_t size;          /* SW_STR: buffer size */
    const char *no, *yes; /* SW_BOOL2: the value names for false and true */
    double min, max;
    const char *help;
};

#define OFF(f) offsetof(struct ns_settings, f)
static const struct sw switches[] = {
    {"tokenLifetimeS", "--token-lifetime-s", SW_INT, OFF(token_lifetime_s), 0, NULL, NULL, 1, 86400,
     "lifetime of issued access tokens in seconds (3600)"},
    {"expiresIn", "--expires-in", SW_BOOL2, OFF(expires_in_number), 0, "string", "number", 0, 0,
     "token response expires_in as \"3600\" (string, the sample) or 3600 (number) [UNCONFIRMED]"},
    {"scopeArray", "--scope-array", SW_BOOL2, OFF(scope_array_ok), 0, "refuse", "accept", 0, 0,
     "a JWT scope given as a JSON array: refuse (default) or accept [UNCONFIRMED]"},
    {"tokenErrors", "--token-errors", SW_BOOL2, OFF(token_error_netsuite), 0, "oauth", "netsuite",
     0, 0,
     "token endpoint errors: oauth = 400 {\"error\":\"invalid_grant\"}, netsuite = 401 "
     "INVALID_LOGIN body [UNCONFIRMED]"},
    {"values", "--suiteql-values", SW_BOOL2, OFF(values_native), 0, "string", "native", 0, 0,
     "SuiteQL values as strings (practitioners) or JSON numbers [UNCONFIRMED]"},
    {"rawDatetime", "--raw-datetime", SW_BOOL2, OFF(raw_datetime_time), 0, "date", "datetime", 0, 0,
     "a raw datetime column renders as the date only, or date and time (h:mm am)"},
    {"dateFormat", "--date-format", SW_STR, OFF(date_format),
     sizeof(((struct ns_settings *)0)->date_format), NULL, NULL, 0, 0,
     "the user's date format preference (M/D/YYYY, D/M/YYYY, DD.MM.YYYY, "
     "YYYY-MM-DD, DD-Mon-YYYY, ...)"},
    {"preferTransient", "--prefer-transient", SW_BOOL2, OFF(prefer_transient_optional), 0,
     "required", "optional", 0, 0, "SuiteQL without `Prefer: transient`: 400 or accepted"},
    {"limitClause", "--limit-clause", SW_BOOL2, OFF(allow_limit_clause), 0, "reject", "accept", 0,
     0, "a LIMIT clause (not SuiteQL syntax): 400 or accepted"},
    {"offsetRule", "--offset-rule", SW_BOOL2, OFF(offset_any), 0, "multiple", "any", 0, 0,
     "offset must be a multiple of limit (400 otherwise), or any offset"},
    {"deletedType", "--deleted-type", SW_BOOL2, OFF(deleted_type_label), 0, "id", "label", 0, 0,
     "DeletedRecord.type as customer/contact/salesorder or Customer/Contact/Sales Order "
     "[UNCONFIRMED]"},
    {"queryTimeoutMs", "--query-timeout-ms", SW_INT, OFF(query_timeout_ms), 0, NULL, NULL, 10,
     3600000, "a SuiteQL statement running longer fails (30000)"},
    {"deny", "--deny", SW_DENY, OFF(deny), 0, NULL, NULL, 0, 0,
     "permissions the role lacks: rest, suiteql, customer, contact, salesorder, item, "
     "deletedrecord, governance; and features the account lacks: currency (single-currency), "
     "subsidiary (not OneWorld) (comma-separated; \"\" for none)"},
    {"concurrencyLimit", "--concurrency-limit", SW_INT, OFF(concurrency_limit), 0, NULL, NULL, 1,
     1000, "the account's concurrent request limit (5 standard, 15 premium, 20 enterprise)"},
    {"concurrencyStatus", "--concurrency-status", SW_BOOL2, OFF(concurrency_401), 0, "429", "401",
     0, 0, "over the concurrency limit: 429 CONCURRENCY_LIMIT_EXCEEDED or 401 [UNCONFIRMED]"},
    {"integrationConcurrencyLimit", "--integration-concurrency-limit", SW_INT,
     OFF(integration_limit), 0, NULL, NULL, 0, 1000,
     "a concurrency limit allocated to the integration (0: none, the account limit applies)"},
    {"latencyMs", "--fault-latency-ms", SW_INT, OFF(latency_ms), 0, NULL, NULL, 0, 600000,
     "latency added to every API call, in ms"},
    {"rate429", "--fault-429-rate", SW_DBL, OFF(rate_429), 0, NULL, NULL, 0, 1,
     "share of API calls answered 429 at random (0..1)"},
    {"rate5xx", "--fault-5xx-rate", SW_DBL, OFF(rate_5xx), 0, NULL, NULL, 0, 1,
     "share of API calls answered 500/503 at random (0..1)"},
    {"rateDrop", "--fault-drop-rate", SW_DBL, OFF(rate_drop), 0, NULL, NULL, 0, 1,
     "share of API calls whose connection is closed without an answer (0..1)"},
    {"dropHoldMs", "--fault-drop-hold-ms", SW_INT, OFF(drop_hold_ms), 0, NULL, NULL, 0, 3600000,
     "how long a dropped call hangs before its connection closes (0: at once; 130000 outlasts "
     "a 120 s client timeout)"},
    {"m2mWiped", "--m2m-mapping", SW_BOOL2, OFF(m2m_wiped), 0, "present", "wiped", 0, 0,
     "wiped: the M2M mapping is gone (as after a sandbox refresh), every assertion is refused"},
    {"eventsUrl", "--events-url", SW_STR, OFF(events_url),
     sizeof(((struct ns_settings *)0)->events_url), NULL, NULL, 0, 0,
     "where change events are posted (the connector's /v1/webhooks/netsuite)"},
    {"eventsAuth", "--events-auth", SW_BOOL2, OFF(events_hmac), 0, "secret", "hmac", 0, 0,
     "events carry X-MLC-Webhook-Secret (secret) or X-MLC-Signature (hmac)"},
    {"eventsBatch", "--events-batch", SW_INT, OFF(events_batch), 0, NULL, NULL, 1, 100,
     "events per POST: 1 = one event object, more = {\"events\":[...]}"},
    {"eventsRetries", "--events-retries", SW_INT, OFF(events_retries), 0, NULL, NULL, 0, 10,
     "further attempts after a failed post (2)"},
};

static const char *const perm_names[] = {"rest",       "suiteql",   "customer",      "contact",
                                         "salesorder", "item",      "deletedrecord", "governance",
                                         "currency",   "subsidiary"};

enum mlc_rc ns_parse_deny(const char *list, unsigned *out)
{
    unsigned m = 0;
    const char *p = list ? list : "";
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t l = strcspn(p, ", ");
        if (!l)
            break;
        size_t i = 0;
        for (; i < sizeof perm_names / sizeof perm_names[0]; i++)
            if (strlen(perm_names[i]) == l && strncasecmp(p, perm_names[i], l) == 0)
                break;
        if (i == sizeof perm_names / sizeof perm_names[0])
            return MLC_EINVAL;
        m |= 1u << i;
        p += l;
    }
    *out = m;
    return MLC_OK;
}

static void deny_text(unsigned m, char *out, size_t sz)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof perm_names / sizeof perm_names[0]; i++)
        if (m & (1u << i)) {
            int n = snprintf(out + o, sz - o, "%s%s", o ? "," : "", perm_names[i]);
            if (n < 0 || (size_t)n >= sz - o)
                break;
            o += (size_t)n;
        }
}

static const struct sw *find_switch(const char *name)
{
    for (size_t i = 0; i < sizeof switches / sizeof switches[0]; i++)
        if (strcmp(switches[i].name, name) == 0 || strcmp(switches[i].flag, name) == 0)
            return &switches[i];
    return NULL;
}

/* Sets one switch in st from text. */
static enum mlc_rc set_one(struct ns_settings *st, const struct sw *w, const char *v, char *err,
                           size_t errsz)
{
    char *base = (char *)st;
    switch (w->kind) {
    case SW_INT:
    case SW_DBL: {
        char *end = NULL;
        double d = strtod(v, &end);
        if (!*v || !end || *end || d < w->min || d > w->max ||
            (w->kind == SW_INT && d != (double)(long)d)) {
            snprintf(err, errsz, "%s: expected a number in %g..%g, got '%.32s'", w->name, w->min,
                     w->max, v);
            return MLC_EINVAL;
        }
        if (w->kind == SW_INT)
            *(int *)(void *)(base + w->off) = (int)d;
        else
            *(double *)(void *)(base + w->off) = d;
        return MLC_OK;
    }
    case SW_BOOL2:
        if (strcasecmp(v, w->no) == 0) {
            *(bool *)(void *)(base + w->off) = false;
        } else if (strcasecmp(v, w->yes) == 0) {
            *(bool *)(void *)(base + w->off) = true;
        } else {
            snprintf(err, errsz, "%s: expected %s or %s, got '%.32s'", w->name, w->no, w->yes, v);
            return MLC_EINVAL;
        }
        return MLC_OK;
    case SW_STR:
        if (strlen(v) >= w->size) {
            snprintf(err, errsz, "%s: longer than %zu characters", w->name, w->size - 1);
            return MLC_EINVAL;
        }
        if (w->off == OFF(date_format) && !ns_date_format_valid(v)) {
            snprintf(err, errsz, "%s: not a NetSuite date format preference: '%.32s'", w->name, v);
            return MLC_EINVAL;
        }
        if (w->off == OFF(events_url) && *v && strncmp(v, "http://", 7) != 0 &&
            strncmp(v, "https://", 8) != 0) {
            snprintf(err, errsz, "%s: must be an http:// or https:// URL", w->name);
            return MLC_EINVAL;
        }
        snprintf(base + w->off, w->size, "%s", v);
        return MLC_OK;
    case SW_DENY:
        if (ns_parse_deny(v, (unsigned *)(void *)(base + w->off)) != MLC_OK) {
            snprintf(err, errsz,
                     "%s: unknown permission in '%.64s' (known: rest, suiteql, customer, "
                     "contact, salesorder, item, deletedrecord, governance, "
                     "currency, subsidiary)",
                     w->name, v);
            return MLC_EINVAL;
        }
        return MLC_OK;
    }
    return MLC_EINVAL;
}

/* Used by the command line: true when name is a switch flag; then sets it. */
enum mlc_rc ns_settings_set_flag(struct ns_settings *st, const char *flag, const char *value,
                                 bool *known, char *err, size_t errsz)
{
    const struct sw *w = NULL;
    for (size_t i = 0; i < sizeof switches / sizeof switches[0]; i++)
        if (strcmp(switches[i].flag, flag) == 0)
            w = &switches[i];
    *known = w != NULL;
    if (!w)
        return MLC_OK;
    /* The command line names the flag, not the admin API's switch name. */
    char e[512];
    if (set_one(st, w, value, e, sizeof e) == MLC_OK)
        return MLC_OK;
    size_t nl = strlen(w->name);
    snprintf(err, errsz, "%s%s", w->flag, strncmp(e, w->name, nl) == 0 ? e + nl : e);
    return MLC_EINVAL;
}

void ns_settings_help(struct mlc_buf *out)
{
    for (size_t i = 0; i < sizeof switches / sizeof switches[0]; i++) {
        const struct sw *w = &switches[i];
        char arg[48];
        if (w->kind == SW_BOOL2)
            snprintf(arg, sizeof arg, "%s|%s", w->no, w->yes);
        else if (w->kind == SW_STR || w->kind == SW_DENY)
            snprintf(arg, sizeof arg, "TEXT");
        else
            snprintf(arg, sizeof arg, "N");
        mlc_buf_printf(out, "  %s %s\n      %s\n", w->flag, arg, w->help);
    }
}

void ns_settings_defaults(struct ns_settings *st)
{
    memset(st, 0, sizeof *st);
    st->token_lifetime_s = 3600;
    snprintf(st->date_format, sizeof st->date_format, "M/D/YYYY");
    st->query_timeout_ms = 30000;
    st->concurrency_limit = 5;
    st->events_batch = 1;
    st->events_retries = 2;
    st->drop_hold_ms = 0;
}

struct ns_settings ns_settings_get(struct ns_sandbox *s)
{
    pthread_mutex_lock(&s->set_mu);
    struct ns_settings st = s->set;
    pthread_mutex_unlock(&s->set_mu);
    return st;
}

enum mlc_rc ns_settings_apply(struct ns_sandbox *s, json_t *changes, char *err, size_t errsz)
{
    if (!json_is_object(changes)) {
        snprintf(err, errsz, "settings must be a JSON object");
        return MLC_EINVAL;
    }
    pthread_mutex_lock(&s->set_mu);
    struct ns_settings st = s->set;
    pthread_mutex_unlock(&s->set_mu);
    const char *k;
    json_t *v;
    json_object_foreach(changes, k, v)
    {
        const struct sw *w = find_switch(k);
        if (!w) {
            snprintf(err, errsz, "unknown setting '%.64s'", k);
            return MLC_EINVAL;
        }
        char text[600];
        const char *yes = w->kind == SW_BOOL2 ? w->yes : NULL;
        if (!mlc_sbx_switch_text(v, yes, w->no, text, sizeof text)) {
            snprintf(err, errsz, "%s: unsupported value type", k);
            return MLC_EINVAL;
        }
        if (set_one(&st, w, text, err, errsz) != MLC_OK)
            return MLC_EINVAL;
    }
    pthread_mutex_lock(&s->set_mu);
    struct ns_settings before = s->set;
    s->set = st;
    pthread_mutex_unlock(&s->set_mu);
    /* The form of DeletedRecord.type applies to every row, not only to later deletions. */
    if (before.deleted_type_label != st.deleted_type_label)
        ns_deleted_relabel(s, st.deleted_type_label);
    /* A wiped mapping (sandbox refresh) also ends the tokens issued under it. */
    if (!before.m2m_wiped && st.m2m_wiped)
        ns_tokens_revoke_all(s);
    return MLC_OK;
}

json_t *ns_settings_json(const struct ns_settings *st)
{
    json_t *o = json_object();
    const char *base = (const char *)st;
    for (size_t i = 0; i < sizeof switches / sizeof switches[0]; i++) {
        const struct sw *w = &switches[i];
        json_t *v = NULL;
        char buf[256];
        switch (w->kind) {
        case SW_INT:
            v = json_integer(*(const int *)(const void *)(base + w->off));
            break;
        case SW_DBL:
            v = json_real(*(const double *)(const void *)(base + w->off));
            break;
        case SW_BOOL2:
            v = json_string(*(const bool *)(const void *)(base + w->off) ? w->yes : w->no);
            break;
        case SW_STR:
            v = json_string(base + w->off);
            break;
        case SW_DENY:
            deny_text(*(const unsigned *)(const void *)(base + w->off), buf, sizeof buf);
            v = json_string(buf);
            break;
        }
        json_object_set_new(o, w->name, v);
    }
    return o;
}

enum mlc_rc ns_sandbox_new(const struct ns_options *o, struct ns_sandbox **out, char *err,
                           size_t errsz)
{
    struct ns_sandbox *s = mlc_calloc(1, sizeof *s);
    pthread_mutex_init(&s->set_mu, NULL);
    pthread_mutex_init(&s->db_mu, NULL);
    pthread_mutex_init(&s->tok_mu, NULL);
    ns_settings_defaults(&s->set);
    if (o->settings)
        s->set = *o->settings;
    s->seed = o->seed;
    atomic_store(&s->rng, o->seed ^ 0x5deece66dull);
    bool fresh = true;
    if (ns_db_open(s, o->db_path, &fresh, err, errsz) != MLC_OK) {
        ns_sandbox_free(s);
        return MLC_ERR;
    }
    if (fresh) {
        uint64_t t0 = mlc_mono_ns();
        if (ns_datagen(s, o, err, errsz) != MLC_OK || ns_db_finish_load(s, err, errsz) != MLC_OK) {
            ns_sandbox_free(s);
            return MLC_ERR;
        }
        mlc_log_kv(MLC_LOG_INFO, "sandbox data generated",
                   json_pack("{s:I, s:I, s:I, s:I, s:f}", "seed", (json_int_t)o->seed, "customers",
                             (json_int_t)o->customers, "orders", (json_int_t)o->orders, "items",
                             (json_int_t)o->items, "seconds", (double)(mlc_mono_ns() - t0) / 1e9));
    } else {
        mlc_log(MLC_LOG_INFO, "sandbox data reused from %s", o->db_path);
        ns_deleted_relabel(s, s->set.deleted_type_label);
    }
    *out = s;
    return MLC_OK;
}

void ns_sandbox_free(struct ns_sandbox *s)
{
    if (!s)
        return;
    ns_events_stop(s);
    ns_db_close(s);
    for (size_t i = 0; i < s->nkeys; i++)
        free(s->keys[i].pub_pem);
    for (size_t i = 0; i < NS_COUNT_CACHE; i++)
        free(s->count_cache[i].sql);
    pthread_mutex_destroy(&s->set_mu);
    pthread_mutex_destroy(&s->db_mu);
    pthread_mutex_destroy(&s->tok_mu);
    mlc_wipe(s, sizeof *s);
    free(s);
}

void ns_count(struct ns_sandbox *s, enum ns_outcome o)
{
    atomic_fetch_add(&s->outcomes[o], 1);
}

bool ns_api_begin(struct ns_sandbox *s, struct mlc_request *r, enum ns_call kind,
                  struct ns_settings *st)
{
    atomic_fetch_add(&s->calls[kind], 1);
    *st = ns_settings_get(s);
    if (!ns_auth_check(s, r, NULL)) {
        ns_count(s, NS_OUT_UNAUTHORIZED);
        ns_reply_invalid_login(r);
        return false;
    }
    if (st->deny & NS_PERM_REST) {
        ns_count(s, NS_OUT_BAD_REQUEST);
        ns_reply_error(r, 400, "USER_ERROR", NULL,
                       "Your current role does not have permission to perform this action.");
        return false;
    }
    if (!ns_gov_enter(s, r, st))
        return false;
    if (ns_faults_apply(s, r, st)) {
        ns_gov_leave(s);
        return false;
    }
    return true;
}

void ns_api_end(struct ns_sandbox *s)
{
    ns_gov_leave(s);
}

size_t ns_routes(struct ns_sandbox *s, struct mlc_route *routes, size_t max)
{
    /* Every method reaches the handlers, which answer a wrong one with NetSuite's 405: a client
     * must never see the connector's own problem+json from the emulated NetSuite. */
#define ANY "GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS"
    const struct mlc_route all[] = {
        {"/services/rest/auth/oauth2/v1/token", ANY, "ns_token", 64 * 1024, NULL, ns_token_handle,
         s},
        {"/services/rest/query/v1/suiteql", ANY, "ns_suiteql", 1024 * 1024, NULL, ns_suiteql_handle,
         s},
        {"/services/rest/record/v1/*", ANY, "ns_record", 1024 * 1024, NULL, ns_record_handle, s},
        {"/services/rest/system/v1/serverTime", ANY, "ns_server_time", 64 * 1024, NULL,
         ns_server_time_handle, s},
        {"/services/rest/system/v1/governanceLimits", ANY, "ns_governance_limits", 64 * 1024, NULL,
         ns_governance_limits_handle, s},
        {"/_sandbox/*", "GET,POST,PATCH,PUT,DELETE", "sandbox_admin", 4 * 1024 * 1024, NULL,
         ns_admin_handle, s},
        {"/*", ANY, "ns_unknown", 1024 * 1024, NULL, ns_unknown_handle, s},
    };
#undef ANY
    size_t n = sizeof all / sizeof all[0];
    if (n > max)
        n = max;
    memcpy(routes, all, n * sizeof *routes);
    return n;
}
