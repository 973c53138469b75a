/* POST /services/rest/query/v1/suiteql: paging rules, execution on SQLite, the documented page
 * shape, NetSuite's errors. */
#include "internal.h"
#include "mlc/log.h"

#include <ctype.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LIMIT 1000
#define MAX_OFFSET 100000
#define SEARCH_PREFIX                                                                              \
    "Invalid search query. Detailed unprocessed description follows. Search error occurred: "

/* totalResults of recent queries, valid while the data version is unchanged (under db_mu). */
static bool cached_count(struct ns_sandbox *s, const char *sql, uint64_t version, long long *out)
{
    for (size_t i = 0; i < NS_COUNT_CACHE; i++)
        if (s->count_cache[i].sql && s->count_cache[i].version == version &&
            strcmp(s->count_cache[i].sql, sql) == 0) {
            *out = s->count_cache[i].count;
            return true;
        }
    return false;
}

static void remember_count(struct ns_sandbox *s, const char *sql, uint64_t version, long long n)
{
    struct ns_count_entry *e = &s->count_cache[s->count_next++ % NS_COUNT_CACHE];
    free(e->sql);
    e->sql = mlc_strdup(sql);
    e->version = version;
    e->count = n;
}

static bool parse_param(const char *v, long long def, long long *out)
{
    if (!v) {
        *out = def;
        return true;
    }
    uint64_t n;
    if (mlc_parse_u64(v, &n) != MLC_OK || n > 1000000000ull)
        return false;
    *out = (long long)n;
    return true;
}

/* A comma-separated header value containing tok (case-insensitive). */
static bool has_token(const char *v, const char *tok)
{
    size_t tl = strlen(tok);
    for (const char *p = v; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t l = strcspn(p, ",;");
        size_t e = l;
        while (e && p[e - 1] == ' ')
            e--;
        if (e == tl && strncasecmp(p, tok, tl) == 0)
            return true;
        p += l;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

static void number_text(double d, char *out, size_t sz)
{
    if (d == floor(d) && fabs(d) < 1e15)
        snprintf(out, sz, "%.0f", d);
    else
        snprintf(out, sz, "%.15g", d);
}

/* One result column as NetSuite renders it (NULL when the column is left out). */
static json_t *render(sqlite3_stmt *st, int i, int dt, const struct ns_settings *set)
{
    int t = sqlite3_column_type(st, i);
    char buf[96];
    if (t == SQLITE_NULL)
        return NULL;
    if (dt && (t == SQLITE_FLOAT || t == SQLITE_INTEGER)) {
        ns_time_render_pref(ns_secs_from_days(sqlite3_column_double(st, i)), set->date_format,
                            set->raw_datetime_time, dt == 2, buf, sizeof buf);
        return json_string(buf);
    }
    if (t == SQLITE_INTEGER) {
        if (set->values_native)
            return json_integer((json_int_t)sqlite3_column_int64(st, i));
        snprintf(buf, sizeof buf, "%lld", (long long)sqlite3_column_int64(st, i));
        return json_string(buf);
    }
    if (t == SQLITE_FLOAT) {
        double d = sqlite3_column_double(st, i);
        if (set->values_native)
            return d == floor(d) && fabs(d) < 9e15 ? json_integer((json_int_t)d) : json_real(d);
        number_text(d, buf, sizeof buf);
        return json_string(buf);
    }
    if (t == SQLITE_TEXT)
        return json_stringn((const char *)sqlite3_column_text(st, i),
                            (size_t)sqlite3_column_bytes(st, i));
    return NULL;
}

static int decl_kind(sqlite3_stmt *st, int i)
{
    const char *d = sqlite3_column_decltype(st, i);
    if (!d)
        return 0;
    if (strcasecmp(d, "DATETIME") == 0)
        return 1;
    if (strcasecmp(d, "DATE") == 0)
        return 2;
    return 0;
}

/* Maps an SQLite failure to NetSuite's 400 body (under db_mu: reads the authorizer's notes). */
static json_t *sql_error(struct ns_sandbox *s, const struct ns_sql *q, const char *msg,
                         bool interrupted)
{
    if (s->denied_table[0]) {
        char t[64];
        size_t n = 0;
        for (; s->denied_table[n] && n + 1 < sizeof t; n++)
            t[n] = (char)tolower((unsigned char)s->denied_table[n]);
        t[n] = '\0';
        return ns_error_body(400, "INVALID_PARAMETER", "q",
                             SEARCH_PREFIX "Record '%s' was not found.", t);
    }
    if (s->denied_function[0])
        return ns_error_body(400, "INVALID_PARAMETER", "q",
                             SEARCH_PREFIX
                             "Invalid or unsupported search. Unsupported function '%s'.",
                             s->denied_function);
    if (interrupted)
        return ns_error_body(400, "INVALID_PARAMETER", "q",
                             SEARCH_PREFIX
                             "The search took too long to complete. Narrow the criteria.");
    const char *p;
    /* SQLite names the problem at the start of its message; the rest may quote the query. */
    if (strncmp(msg, "no such column: ", 16) == 0) {
        p = msg;
        p += strlen("no such column: ");
        char alias[64] = "", field[128];
        const char *dot = strchr(p, '.');
        if (dot && (size_t)(dot - p) < sizeof alias) {
            snprintf(alias, sizeof alias, "%.*s", (int)(dot - p), p);
            snprintf(field, sizeof field, "%s", dot + 1);
        } else {
            snprintf(field, sizeof field, "%s", p);
        }
        for (char *c = field; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        const char *record = q->first_table[0] ? q->first_table : "unknown";
        for (size_t i = 0; alias[0] && i < q->ntables; i++)
            if (strcasecmp(q->aliases[i][0] ? q->aliases[i] : q->tables[i], alias) == 0)
                record = q->tables[i];
        return ns_error_body(400, "INVALID_PARAMETER", "q",
                             SEARCH_PREFIX "Field '%s' for record '%s' was not found. Reason: "
                                           "UNKNOWN_IDENTIFIER - Unknown identifier '%s'.",
                             field, record, field);
    }
    if (strncmp(msg, "no such table: ", 15) == 0) {
        p = msg;
        p += strlen("no such table: ");
        const char *dot = strchr(p, '.');
        char t[128];
        snprintf(t, sizeof t, "%s", dot ? dot + 1 : p);
        for (char *c = t; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        return ns_error_body(400, "INVALID_PARAMETER", "q",
                             SEARCH_PREFIX "Record '%s' was not found.", t);
    }
    if ((p = strstr(msg, "ORA-")) == msg)
        return ns_error_body(400, "INVALID_PARAMETER", "q", SEARCH_PREFIX "%s", p);
    if (strncmp(msg, "no such function: ", 18) == 0)
        return ns_error_body(400, "INVALID_PARAMETER", "q",
                             SEARCH_PREFIX
                             "Invalid or unsupported search. Unsupported function '%s'.",
                             msg + strlen("no such function: "));
    return ns_error_body(400, "INVALID_PARAMETER", "q",
                         SEARCH_PREFIX "Invalid or unsupported search.");
}

static void add_link(json_t *links, const char *rel, const char *base, long long limit,
                     long long offset)
{
    json_array_append_new(
        links, json_pack("{s:s, s:o}", "rel", rel, "href",
                         json_sprintf("%s?limit=%lld&offset=%lld", base, limit, offset)));
}

void ns_suiteql_run(struct ns_sandbox *s, const struct ns_settings *st, const char *query,
                    long long limit, long long offset, json_t **out, unsigned *status)
{
    struct ns_sql q = {0};
    json_t *items = NULL;
    sqlite3_stmt *cst = NULL, *pst = NULL;
    char *page_sql = NULL, *count_sql = NULL;
    char terr[256];
    *status = 400;
    *out = NULL;
    if (ns_suiteql_translate(query, st->allow_limit_clause, &q, terr, sizeof terr) != MLC_OK) {
        *out = ns_error_body(400, "INVALID_PARAMETER", "q",
                             SEARCH_PREFIX "Invalid or unsupported search. %s", terr);
        return;
    }
    struct mlc_buf cb, pb;
    mlc_buf_init(&cb, 4u << 20);
    mlc_buf_init(&pb, 4u << 20);
    if (q.order_pos && !q.has_limit)
        mlc_buf_printf(&cb, "SELECT count(*) FROM (%.*s)", (int)q.order_pos, q.sql);
    else
        mlc_buf_printf(&cb, "SELECT count(*) FROM (%s)", q.sql);
    if (q.has_limit)
        mlc_buf_printf(&pb, "SELECT * FROM (%s) LIMIT ?1 OFFSET ?2", q.sql);
    else
        mlc_buf_printf(&pb, "%s LIMIT ?1 OFFSET ?2", q.sql);
    count_sql = mlc_strdup(cb.data ? cb.data : "");
    page_sql = mlc_strdup(pb.data ? pb.data : "");
    mlc_buf_free(&cb);
    mlc_buf_free(&pb);

    pthread_mutex_lock(&s->db_mu);
    s->qset = *st;
    s->suiteql_mode = true;
    s->denied_table[0] = s->denied_function[0] = '\0';
    s->qdeadline_ms = mlc_mono_ms() + st->query_timeout_ms;
    uint64_t version = atomic_load(&s->data_version);
    long long total = 0;
    int rc;
    if (!cached_count(s, q.sql, version, &total)) {
        if (sqlite3_prepare_v2(s->db, count_sql, -1, &cst, NULL) != SQLITE_OK) {
            *out = sql_error(s, &q, sqlite3_errmsg(s->db), false);
            goto unlock;
        }
        rc = sqlite3_step(cst);
        if (rc != SQLITE_ROW) {
            *out = sql_error(s, &q, sqlite3_errmsg(s->db), rc == SQLITE_INTERRUPT);
            goto unlock;
        }
        total = sqlite3_column_int64(cst, 0);
        remember_count(s, q.sql, version, total);
    }
    if (sqlite3_prepare_v2(s->db, page_sql, -1, &pst, NULL) != SQLITE_OK) {
        *out = sql_error(s, &q, sqlite3_errmsg(s->db), false);
        goto unlock;
    }
    sqlite3_bind_int64(pst, 1, limit);
    sqlite3_bind_int64(pst, 2, offset);
    items = json_array();
    int ncol = sqlite3_column_count(pst);
    while ((rc = sqlite3_step(pst)) == SQLITE_ROW) {
        json_t *item = json_object();
        json_object_set_new(item, "links", json_array());
        for (int i = 0; i < ncol; i++) {
            int dt = decl_kind(pst, i);
            if (!dt && q.nitems > i)
                dt = q.dt_item[i];
            json_t *v = render(pst, i, dt, st);
            if (!v)
                continue;
            char key[128];
            const char *name = sqlite3_column_name(pst, i);
            size_t n = 0;
            for (; name && name[n] && n + 1 < sizeof key; n++)
                key[n] = (char)tolower((unsigned char)name[n]);
            key[n] = '\0';
            json_object_set_new(item, key, v);
        }
        json_array_append_new(items, item);
    }
    if (rc != SQLITE_DONE) {
        *out = sql_error(s, &q, sqlite3_errmsg(s->db), rc == SQLITE_INTERRUPT);
        goto unlock;
    }
unlock:
    s->qdeadline_ms = 0;
    s->suiteql_mode = false;
    sqlite3_finalize(cst);
    sqlite3_finalize(pst);
    pthread_mutex_unlock(&s->db_mu);
    if (!*out) {
        long long count = (long long)json_array_size(items);
        bool more = offset + count < total;
        char base[400];
        snprintf(base, sizeof base, "%s/services/rest/query/v1/suiteql", s->base_url);
        json_t *links = json_array();
        if (offset > 0) {
            add_link(links, "previous", base, limit, offset > limit ? offset - limit : 0);
            add_link(links, "first", base, limit, 0);
        }
        if (more)
            add_link(links, "next", base, limit, offset + limit);
        add_link(links, "last", base, limit, total > 0 ? ((total - 1) / limit) * limit : 0);
        add_link(links, "self", base, limit, offset);
        *out = json_pack("{s:o, s:I, s:b, s:o, s:I, s:I}", "links", links, "count",
                         (json_int_t)count, "hasMore", more, "items", items, "offset",
                         (json_int_t)offset, "totalResults", (json_int_t)total);
        items = NULL;
        *status = 200;
    }
    json_decref(items);
    free(page_sql);
    free(count_sql);
    ns_sql_free(&q);
}

void ns_suiteql_handle(struct mlc_request *r, void *ud)
{
    struct ns_sandbox *s = ud;
    struct ns_settings st;
    if (!ns_require_method(r, "POST"))
        return;
    if (!ns_api_begin(s, r, NS_CALL_SUITEQL, &st))
        return;
    json_t *body = NULL;
    long long limit, offset;

    const char *prefer = mlc_request_header(r, "Prefer");
    if (!st.prefer_transient_optional && (!prefer || !has_token(prefer, "transient"))) {
        ns_count(s, NS_OUT_BAD_REQUEST);
        ns_reply_error(r, 400, "INVALID_PARAMETER", NULL,
                       "SuiteQL queries need the request header 'Prefer: transient'.");
        goto out;
    }
    if (!mlc_request_content_type_is(r, "application/json")) {
        ns_count(s, NS_OUT_BAD_REQUEST);
        ns_reply_error(r, 415, "UNSUPPORTED_MEDIA_TYPE", NULL,
                       "The request body must be application/json.");
        goto out;
    }
    if (!parse_param(mlc_request_query(r, "limit"), MAX_LIMIT, &limit) || limit < 1 ||
        limit > MAX_LIMIT) {
        ns_count(s, NS_OUT_BAD_REQUEST);
        ns_reply_error(r, 400, "INVALID_PARAMETER", "limit",
                       "Invalid value for the query parameter 'limit'. The value must be an "
                       "integer between 1 and %d.",
                       MAX_LIMIT);
        goto out;
    }
    if (!parse_param(mlc_request_query(r, "offset"), 0, &offset)) {
        ns_count(s, NS_OUT_BAD_REQUEST);
        ns_reply_error(r, 400, "INVALID_PARAMETER", "offset",
                       "Invalid value for the query parameter 'offset'. The value must be a "
                       "non-negative integer.");
        goto out;
    }
    if (!st.offset_any && offset % limit != 0) {
        ns_count(s, NS_OUT_BAD_REQUEST);
        ns_reply_error(r, 400, "INVALID_PARAMETER", "offset",
                       "Invalid value for the query parameter 'offset'. The offset must be a "
                       "multiple of the limit.");
        goto out;
    }
    if (offset >= MAX_OFFSET) {
        ns_count(s, NS_OUT_BAD_REQUEST);
        ns_reply_error(r, 400, "INVALID_PARAMETER", "offset",
                       "Invalid value for the query parameter 'offset'. At most %d results can "
                       "be returned; page further with a condition on the key instead.",
                       MAX_OFFSET);
        goto out;
    }
    size_t blen;
    const char *b = mlc_request_body(r, &blen);
    json_error_t jerr;
    body = json_loadb(b, blen, JSON_REJECT_DUPLICATES, &jerr);
    json_t *qv = json_object_get(body, "q");
    if (!json_is_object(body) || !json_is_string(qv)) {
        ns_count(s, NS_OUT_BAD_REQUEST);
        ns_reply_error(r, 400, "INVALID_PARAMETER", "q",
                       "The request body must be a JSON object with the query in 'q'.");
        goto out;
    }
    json_t *page = NULL;
    unsigned status = 400;
    ns_suiteql_run(s, &st, json_string_value(qv), limit, offset, &page, &status);
    ns_count(s, status == 200 ? NS_OUT_OK : NS_OUT_BAD_REQUEST);
    if (status != 200) {
        const char *detail = json_string_value(
            json_object_get(json_array_get(json_object_get(page, "o:errorDetails"), 0), "detail"));
        mlc_request_log_field(r, "error", detail ? detail : "");
    }
    ns_reply_json(r, status, page);
out:
    json_decref(body);
    ns_api_end(s);
}
