/* NetSuite's REST error bodies (type, title, status, o:errorDetails) and its resource media types.
 */
#include "internal.h"
#include "mlc/config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void status_text(unsigned status, const char **type, const char **title)
{
    switch (status) {
    case 400:
        *type = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1";
        *title = "Bad Request";
        break;
    case 401:
        *type = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2";
        *title = "Unauthorized";
        break;
    case 403:
        *type = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.4";
        *title = "Forbidden";
        break;
    case 404:
        *type = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.5";
        *title = "Not Found";
        break;
    case 405:
        *type = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.6";
        *title = "Method Not Allowed";
        break;
    case 413:
        *type = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.14";
        *title = "Content Too Large";
        break;
    case 415:
        *type = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.16";
        *title = "Unsupported Media Type";
        break;
    case 429:
        *type = "https://www.rfc-editor.org/rfc/rfc6585.html#section-4";
        *title = "Too Many Requests";
        break;
    case 503:
        *type = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.4";
        *title = "Service Unavailable";
        break;
    default:
        *type = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.1";
        *title = "Internal Server Error";
        break;
    }
}

void ns_reply_json(struct mlc_request *r, unsigned status, json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!s) {
        mlc_reply_text(r, 500, "text/plain", "internal error\n", 15);
        return;
    }
    const char *ct = status >= 400 ? "application/vnd.oracle.resource+json; type=error"
                                   : "application/vnd.oracle.resource+json; type=collection";
    mlc_reply_text(r, status, ct, s, strlen(s));
    free(s);
}

/* Copies s with every byte that is not part of a valid UTF-8 sequence replaced by '?': details
 * quote query text and may be cut in the middle of a character. */
static void utf8_clean(const char *s, char *out, size_t sz)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p && o + 1 < sz) {
        size_t n = *p < 0x80           ? 1
                   : (*p >> 5) == 0x6  ? 2
                   : (*p >> 4) == 0xe  ? 3
                   : (*p >> 3) == 0x1e ? 4
                                       : 0;
        bool ok = n > 0 && o + n < sz;
        for (size_t i = 1; ok && i < n; i++)
            ok = (p[i] & 0xc0) == 0x80;
        if (ok && n == 2 && *p < 0xc2)
            ok = false; /* overlong */
        if (ok && n == 3 && ((*p == 0xe0 && p[1] < 0xa0) || (*p == 0xed && p[1] >= 0xa0)))
            ok = false; /* overlong, surrogate */
        if (ok && n == 4 &&
            ((*p == 0xf0 && p[1] < 0x90) || *p > 0xf4 || (*p == 0xf4 && p[1] >= 0x90)))
            ok = false;
        if (!ok) {
            out[o++] = '?';
            p++;
            continue;
        }
        memcpy(out + o, p, n);
        o += n;
        p += n;
    }
    out[o] = '\0';
}

static json_t *error_body(unsigned status, const char *code, const char *query_param,
                          const char *detail_raw)
{
    const char *type, *title;
    status_text(status, &type, &title);
    char detail[1024];
    utf8_clean(detail_raw, detail, sizeof detail);
    json_t *d = json_pack("{s:s}", "detail", detail);
    if (query_param)
        json_object_set_new(d, "o:errorQueryParam", json_string(query_param));
    json_object_set_new(d, "o:errorCode", json_string(code));
    return json_pack("{s:s, s:s, s:i, s:[o]}", "type", type, "title", title, "status", (int)status,
                     "o:errorDetails", d);
}

__attribute__((format(printf, 4, 0))) static json_t *error_bodyv(unsigned status, const char *code,
                                                                 const char *query_param,
                                                                 const char *detail_fmt, va_list ap)
{
    char detail[1024];
    vsnprintf(detail, sizeof detail, detail_fmt, ap);
    return error_body(status, code, query_param, detail);
}

json_t *ns_error_body(unsigned status, const char *code, const char *query_param,
                      const char *detail_fmt, ...)
{
    va_list ap;
    va_start(ap, detail_fmt);
    json_t *b = error_bodyv(status, code, query_param, detail_fmt, ap);
    va_end(ap);
    return b;
}

void ns_reply_error(struct mlc_request *r, unsigned status, const char *code,
                    const char *query_param, const char *detail_fmt, ...)
{
    va_list ap;
    va_start(ap, detail_fmt);
    json_t *b = error_bodyv(status, code, query_param, detail_fmt, ap);
    va_end(ap);
    mlc_request_log_field(r, "o:errorCode", code);
    ns_reply_json(r, status, b);
}

void ns_reply_invalid_login(struct mlc_request *r)
{
    ns_reply_error(
        r, 401, "INVALID_LOGIN", NULL,
        "Invalid login attempt. For more details, see the Login Audit Trail in the "
        "NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.");
}

bool ns_require_method(struct mlc_request *r, const char *methods)
{
    if (mlc_list_has(methods, ',', mlc_request_method(r)))
        return true;
    mlc_reply_header(r, "Allow", methods);
    ns_reply_error(r, 405, "INVALID_REQUEST", NULL,
                   "The %s method is not supported for this resource. Use %s.",
                   mlc_request_method(r), methods);
    return false;
}

void ns_unknown_handle(struct mlc_request *r, void *ud)
{
    (void)ud;
    ns_reply_error(r, 404, "NONEXISTENT_ID", NULL,
                   "The requested resource does not exist. Check the URL: %.200s",
                   mlc_request_path(r));
}
