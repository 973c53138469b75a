/* Alternate keys and references: key segments with OData quoting, URL safety, @odata.bind values,
 * GUIDs, OData-EntityId, string literals, and Dataverse error bodies. */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_char(struct mlc_buf *out, unsigned char c, bool url)
{
    static const char hex[] = "0123456789ABCDEF";
    bool plain = isalnum(c) || strchr("-._~!$'()*,;=@", c) != NULL;
    if (!url || (plain && c != 0)) {
        mlc_buf_append(out, (const char *)&c, 1);
    } else {
        char t[3] = {'%', hex[c >> 4], hex[c & 15]};
        mlc_buf_append(out, t, 3);
    }
}

enum mlc_rc mlc_dv_odata_string(const char *v, bool url, struct mlc_buf *out)
{
    put_char(out, '\'', url);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '\'')
            put_char(out, '\'', url); /* OData doubles a quote inside a literal */
        put_char(out, *p, url);
    }
    put_char(out, '\'', url);
    return out->len ? MLC_OK : MLC_ENOMEM;
}

static enum mlc_rc value_text(json_t *v, bool url, struct mlc_buf *out)
{
    if (json_is_string(v))
        return mlc_dv_odata_string(json_string_value(v), url, out);
    if (json_is_integer(v))
        return mlc_buf_printf(out, "%lld", (long long)json_integer_value(v));
    if (json_is_real(v))
        return mlc_buf_printf(out, "%.17g", json_real_value(v));
    if (json_is_boolean(v))
        return mlc_buf_printf(out, "%s", json_is_true(v) ? "true" : "false");
    return MLC_EINVAL;
}

enum mlc_rc mlc_dv_key_segment(json_t *key, bool url, struct mlc_buf *out)
{
    if (!json_is_object(key) || json_object_size(key) == 0 || json_object_size(key) > 16)
        return MLC_EINVAL;
    const char *k;
    json_t *v;
    bool first = true;
    mlc_buf_append(out, "(", 1);
    json_object_foreach(key, k, v)
    {
        for (const char *p = k; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '_')
                return MLC_EINVAL;
        if (!*k)
            return MLC_EINVAL;
        if (!first)
            mlc_buf_append(out, ",", 1);
        first = false;
        mlc_buf_printf(out, "%s=", k);
        if (value_text(v, url, out) != MLC_OK)
            return MLC_EINVAL;
    }
    return mlc_buf_append(out, ")", 1);
}

bool mlc_dv_key_url_safe(json_t *key)
{
    const char *k;
    json_t *v;
    json_object_foreach(key, k, v)
    {
        if (!json_is_string(v))
            continue;
        for (const unsigned char *p = (const unsigned char *)json_string_value(v); *p; p++)
            if (*p < 0x20 || *p == 0x7f || strchr("/<>*%&:\\?+", *p))
                return false;
    }
    return true;
}

char *mlc_dv_bind_key(const char *entity_set, json_t *key)
{
    struct mlc_buf b;
    mlc_buf_init(&b, 8192);
    mlc_buf_printf(&b, "/%s", entity_set);
    if (mlc_dv_key_segment(key, false, &b) != MLC_OK) {
        mlc_buf_free(&b);
        return NULL;
    }
    return b.data; /* the buffer's storage is the owned string */
}

void mlc_dv_bind_id(const char *entity_set, const char *guid, char *out, size_t outsz)
{
    snprintf(out, outsz, "/%s(%s)", entity_set, guid);
}

bool mlc_dv_guid_valid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

enum mlc_rc mlc_dv_entity_id_parse(const char *url, char out[37])
{
    out[0] = '\0';
    if (!url)
        return MLC_EINVAL;
    size_t l = strlen(url);
    while (l && (url[l - 1] == ' ' || url[l - 1] == '\r' || url[l - 1] == '\n'))
        l--;
    if (l < 38 || url[l - 1] != ')' || url[l - 38] != '(')
        return MLC_EINVAL;
    char g[37];
    memcpy(g, url + l - 37, 36);
    g[36] = '\0';
    if (!mlc_dv_guid_valid(g))
        return MLC_EINVAL;
    for (int i = 0; i < 36; i++)
        out[i] = (char)tolower((unsigned char)g[i]);
    out[36] = '\0';
    return MLC_OK;
}

void dv_id_column(const char *entity_set, char *out, size_t outsz)
{
    size_t l = strlen(entity_set);
    if (l > 3 && strcmp(entity_set + l - 3, "ies") == 0)
        snprintf(out, outsz, "%.*syid", (int)(l - 3), entity_set);
    else if (l > 1 && entity_set[l - 1] == 's')
        snprintf(out, outsz, "%.*sid", (int)(l - 1), entity_set);
    else
        snprintf(out, outsz, "%sid", entity_set);
}
