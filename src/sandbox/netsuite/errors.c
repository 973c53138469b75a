/* NetSuite's REST error bodies (type, title, status, o:errorDetails) and its resource media types. */
#include "internal.h"

#include <stdarg.h>
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

static json_t *error_body(unsigned status, const char *code, const char *query_param,
                          const char *detail)
{
    const char *type, *title;
    status_text(status, &type, &title);
    json_t *d = json_pack("{s:s}", "detail", detail);
    if (query_param)
        json_object_set_new(d, "o:errorQueryParam", json_string(query_param));
    json_object_set_new(d, "o:errorCode", json_string(code));
    return json_pack("{s:s, s:s, s:i, s:[o]}", "type", type, "title", title, "status",
                     (int)status, "o:errorDetails", d);
}

__attribute__((format(printf, 4, 0))) static json_t *error_bodyv(unsigned status, const char *code, const char *query_param,
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

void ns_reply_error(struct mlc_request *r, unsigned status, const char *code, const char *query_param,
                    const char *detail_fmt, ...)
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
    ns_reply_error(r, 401, "INVALID_LOGIN", NULL,
                   "Invalid login attempt. For more details, see the Login Audit Trail in the "
                   "NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.");
}
