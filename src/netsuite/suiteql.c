/* SuiteQL: the page parser (strings, numbers, missing keys), one page per call, offset paging to
 * 100,000 rows then keyset paging, row accessors and UTC datetimes. */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_OFFSET_ROWS 100000
#define PAGE 1000

static enum mlc_rc page_from_json(json_t *j, struct mlc_ns_page *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof *out);
    out->total = -1;
    if (!json_is_object(j)) {
        snprintf(err, errsz, "the SuiteQL answer is not a JSON object");
        return MLC_EINVAL;
    }
    json_t *items = json_object_get(j, "items");
    json_t *more = json_object_get(j, "hasMore");
    if (!json_is_array(items)) {
        snprintf(err, errsz, "the SuiteQL page has no items array");
        return MLC_EINVAL;
    }
    if (!json_is_boolean(more)) {
        snprintf(err, errsz, "the SuiteQL page has no boolean hasMore");
        return MLC_EINVAL;
    }
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        if (!json_is_object(it)) {
            snprintf(err, errsz, "SuiteQL item %zu is not an object", i);
            return MLC_EINVAL;
        }
        const char *k;
        json_t *v;
        json_object_foreach(it, k, v)
        {
            if (strcmp(k, "links") == 0)
                continue;
            if (json_is_object(v) || json_is_array(v)) {
                snprintf(err, errsz, "SuiteQL item %zu: column %.64s holds a nested value", i, k);
                return MLC_EINVAL;
            }
        }
    }
    json_t *n;
    if ((n = json_object_get(j, "totalResults")) && json_is_integer(n))
        out->total = (long long)json_integer_value(n);
    if ((n = json_object_get(j, "offset")) && json_is_integer(n))
        out->offset = (long long)json_integer_value(n);
    out->count = (long long)json_array_size(items);
    out->has_more = json_is_true(more);
    out->items = json_incref(items);
    json_array_foreach(items, i, it) json_object_del(it, "links");
    return MLC_OK;
}

enum mlc_rc mlc_ns_page_parse(const char *body, size_t len, struct mlc_ns_page *out, char *err,
                              size_t errsz)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        snprintf(err, errsz, "the SuiteQL answer is not JSON (line %d: %.80s)", je.line, je.text);
        return MLC_EINVAL;
    }
    enum mlc_rc rc = page_from_json(j, out, err, errsz);
    json_decref(j);
    return rc;
}

void mlc_ns_page_free(struct mlc_ns_page *p)
{
    if (!p)
        return;
    json_decref(p->items);
    p->items = NULL;
}

enum mlc_rc mlc_ns_suiteql_page(struct mlc_ns_session *s, const char *query, long limit,
                                long long offset, struct mlc_ns_page *out, struct mlc_ns_err *e)
{
    memset(out, 0, sizeof *out);
    if (limit < 1 || limit > PAGE || offset < 0 || offset % limit) {
        ns_err_set(e, false, 0, "bug", "SuiteQL paging: limit %ld, offset %lld", limit, offset);
        return MLC_EINVAL;
    }
    char path[128];
    snprintf(path, sizeof path, "/services/rest/query/v1/suiteql?limit=%ld&offset=%lld", limit,
             offset);
    json_t *body = json_pack("{s:s}", "q", query);
    json_t *res = NULL;
    enum mlc_rc rc = mlc_ns_call(s, "POST", path, "suiteql", body, &res, e);
    json_decref(body);
    if (rc != MLC_OK)
        return rc;
    char err[256];
    if (page_from_json(res, out, err, sizeof err) != MLC_OK) {
        /* a proxy or a half-delivered answer: worth another try, then the DLQ */
        ns_err_set(e, true, 200, "bad_response", "NetSuite SuiteQL: %s", err);
        rc = MLC_ERR;
    }
    json_decref(res);
    return rc;
}

enum mlc_rc mlc_ns_suiteql_all(struct mlc_ns_session *s, const char *query, const char *keyset_fmt,
                               const char *key_col, mlc_ns_row_fn fn, void *ud, size_t *pages,
                               struct mlc_ns_err *e)
{
    long long offset = 0, last = 0;
    bool keyset = false, have_last = false;
    size_t np = 0;
    enum mlc_rc rc = MLC_OK;
    for (;;) {
        char *kq = NULL;
        if (keyset) {
            /* keyset_fmt holds ":after" where the last key goes */
            const char *at = strstr(keyset_fmt, ":after");
            size_t l = strlen(keyset_fmt) + 32;
            kq = mlc_malloc(l);
            snprintf(kq, l, "%.*s%lld%s", (int)(at - keyset_fmt), keyset_fmt, last, at + 6);
        }
        struct mlc_ns_page pg;
        rc = mlc_ns_suiteql_page(s, keyset ? kq : query, PAGE, keyset ? 0 : offset, &pg, e);
        free(kq);
        if (rc != MLC_OK)
            break;
        np++;
        size_t i;
        json_t *row;
        bool stop = false;
        json_array_foreach(pg.items, i, row)
        {
            long long k;
            if (key_col && mlc_ns_row_i64(row, key_col, &k)) {
                if (have_last && k <= last && keyset_fmt) {
                    ns_err_set(e, false, 0, "bug", "keyset paging needs rows ordered by %s",
                               key_col);
                    stop = true;
                    rc = MLC_ERR;
                    break;
                }
                last = k;
                have_last = true;
            }
            if (!fn(row, ud)) {
                stop = true;
                break;
            }
        }
        bool more = pg.has_more;
        size_t got = json_array_size(pg.items);
        mlc_ns_page_free(&pg);
        if (stop || !more)
            break;
        if (got == 0) {
            ns_err_set(e, true, 200, "bad_response", "SuiteQL said hasMore with an empty page");
            rc = MLC_ERR;
            break;
        }
        if (!keyset) {
            offset += PAGE;
            if (offset >= MAX_OFFSET_ROWS) {
                if (!keyset_fmt || !have_last || !strstr(keyset_fmt, ":after")) {
                    ns_err_set(e, false, 0, "bug", "more than %d rows need keyset paging",
                               MAX_OFFSET_ROWS);
                    rc = MLC_ERR;
                    break;
                }
                keyset = true;
            }
        }
    }
    if (pages)
        *pages += np;
    return rc;
}

/* ---- rows ---- */

/* The number in a column's text (SuiteQL sends most numbers as strings): an integer into *i, or
 * any finite number into *d; false unless the whole text is that number. */
static bool text_number(const char *s, long long *i, double *d)
{
    if (!s || !*s)
        return false;
    char *end = NULL;
    errno = 0;
    if (i)
        *i = strtoll(s, &end, 10);
    else
        *d = strtod(s, &end);
    return end != s && errno == 0 && *end == '\0' && (i || isfinite(*d));
}

const char *mlc_ns_row_str(json_t *row, const char *col)
{
    return json_string_value(json_object_get(row, col));
}

bool mlc_ns_row_text(json_t *row, const char *col, char *out, size_t outsz)
{
    json_t *v = json_object_get(row, col);
    if (json_is_string(v))
        snprintf(out, outsz, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, outsz, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, outsz, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(out, outsz, "%s", json_is_true(v) ? "T" : "F");
    else
        return false;
    return true;
}

bool mlc_ns_row_i64(json_t *row, const char *col, long long *out)
{
    json_t *v = json_object_get(row, col);
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || fabs(d) > 9e15)
            return false;
        *out = (long long)d;
        return true;
    }
    long long n;
    if (!text_number(json_string_value(v), &n, NULL))
        return false;
    *out = n;
    return true;
}

bool mlc_ns_row_double(json_t *row, const char *col, double *out)
{
    json_t *v = json_object_get(row, col);
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    double d;
    if (!text_number(json_string_value(v), NULL, &d))
        return false;
    *out = d;
    return true;
}

enum mlc_rc mlc_ns_parse_utc(const char *s, int64_t *unix_ms)
{
    int y, mo, d, h, mi, se;
    char tail;
    if (!s || strlen(s) != 19 ||
        sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &tail) != 6 ||
        s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':')
        return MLC_EINVAL;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        se > 60 || h < 0 || mi < 0 || se < 0)
        return MLC_EINVAL;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = se};
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d)
        return MLC_EINVAL;
    *unix_ms = (int64_t)t * 1000;
    return MLC_OK;
}

void mlc_ns_format_utc(int64_t unix_ms, char out[20])
{
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, 20, "1970-01-01 00:00:00");
}
