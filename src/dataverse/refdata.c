/* Reference data: currencies by ISO code, the price list of a currency, products by SKU or NetSuite
 * item ID, units, users by e-mail, teams; cached in the process with a TTL, misses cached briefly.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dv_cache {
    pthread_mutex_t mu;
    json_t *map; /* "set|col|value" -> [id or null, extra or null, expires mono ms] */
};

void dv_cache_free(struct dv_cache *c)
{
    if (!c)
        return;
    json_decref(c->map);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static struct dv_cache *cache_of(struct mlc_dataverse *dv)
{
    pthread_mutex_lock(&dv->mu);
    if (!dv->cache) {
        dv->cache = mlc_calloc(1, sizeof *dv->cache);
        pthread_mutex_init(&dv->cache->mu, NULL);
        dv->cache->map = json_object();
    }
    struct dv_cache *c = dv->cache;
    pthread_mutex_unlock(&dv->mu);
    return c;
}

static bool first_row(json_t *row, void *ud)
{
    json_t **out = ud;
    if (!*out)
        *out = json_incref(row);
    return false;
}

/* The GUID (and one extra lookup column, e.g. a product's default unit) of the first row of set
 * where col eq value (and the optional extra filter). */
static enum mlc_rc lookup(struct mlc_dv_session *s, const char *set, const char *col,
                          const char *value, bool string, const char *extra_col, char id[37],
                          char extra[37], struct mlc_dv_err *e)
{
    struct mlc_dataverse *dv = s->dv;
    memset(e, 0, sizeof *e);
    id[0] = '\0';
    if (extra)
        extra[0] = '\0';
    if (!value || !*value || strlen(value) > 400) {
        dv_err_set(e, false, 0, "refdata", "no value to look up in %s.%s", set, col);
        return MLC_EINVAL;
    }
    struct dv_cache *c = cache_of(dv);
    char ck[600];
    snprintf(ck, sizeof ck, "%s|%s|%s", set, col, value);
    int64_t now = mlc_mono_ms();
    atomic_fetch_add(&dv->cache_calls, 1);
    pthread_mutex_lock(&c->mu);
    json_t *hit = json_object_get(c->map, ck);
    bool fresh = hit && json_integer_value(json_array_get(hit, 2)) > now;
    if (fresh) {
        const char *g = json_string_value(json_array_get(hit, 0));
        const char *x = json_string_value(json_array_get(hit, 1));
        snprintf(id, 37, "%s", g ? g : "");
        if (extra)
            snprintf(extra, 37, "%s", x ? x : "");
    }
    pthread_mutex_unlock(&c->mu);
    if (fresh) {
        atomic_fetch_add(&dv->cache_hits, 1);
        if (!id[0]) {
            dv_err_set(e, false, 404, "refdata:missing", "no %s with %s = %s (cached)", set, col,
                       value);
            return MLC_ENOTFOUND;
        }
        return MLC_OK;
    }
    char idcol[140], sel[300];
    dv_id_column(set, idcol, sizeof idcol);
    snprintf(sel, sizeof sel, "%s%s%s", idcol, extra_col ? "," : "", extra_col ? extra_col : "");
    struct mlc_buf f;
    mlc_buf_init(&f, 4096);
    mlc_buf_printf(&f, "%s eq ", col);
    if (string)
        mlc_dv_odata_string(value, false, &f);
    else
        mlc_buf_printf(&f, "%s", value);
    json_t *row = NULL;
    enum mlc_rc rc = mlc_dv_query(s, set, sel, f.data, 1, first_row, &row, NULL, e);
    mlc_buf_free(&f);
    if (rc != MLC_OK) {
        json_decref(row);
        return MLC_ERR;
    }
    const char *g = json_string_value(json_object_get(row, idcol));
    char xcol[160] = "";
    if (extra_col)
        snprintf(xcol, sizeof xcol, "_%s_value", extra_col);
    const char *x = extra_col ? json_string_value(json_object_get(row, xcol)) : NULL;
    if (g && mlc_dv_guid_valid(g))
        snprintf(id, 37, "%s", g);
    if (extra && x)
        snprintf(extra, 37, "%s", x);
    int64_t ttl = (int64_t)dv->set.cache_ttl_s * 1000;
    if (!id[0]) {
        ttl /= 10;
        if (ttl > 60000)
            ttl = 60000;
    }
    pthread_mutex_lock(&c->mu);
    if (json_object_size(c->map) > 100000)
        json_object_clear(c->map);
    json_object_set_new(c->map, ck,
                        json_pack("[s?, s?, I]", id[0] ? id : NULL, x, (json_int_t)(now + ttl)));
    pthread_mutex_unlock(&c->mu);
    json_decref(row);
    if (!id[0]) {
        dv_err_set(e, false, 404, "refdata:missing", "no %s with %s = %s", set, col, value);
        return MLC_ENOTFOUND;
    }
    return MLC_OK;
}

void mlc_dv_cache_stats(const struct mlc_dataverse *dv, uint64_t *hits, uint64_t *calls)
{
    *hits = atomic_load(&dv->cache_hits);
    *calls = atomic_load(&dv->cache_calls);
}

enum mlc_rc mlc_dv_currency_by_iso(struct mlc_dv_session *s, const char *iso, char id[37],
                                   struct mlc_dv_err *e)
{
    return lookup(s, "transactioncurrencies", "isocurrencycode", iso, true, NULL, id, NULL, e);
}

enum mlc_rc mlc_dv_pricelist_by_currency(struct mlc_dv_session *s, const char *currency_id,
                                         char id[37], struct mlc_dv_err *e)
{
    if (!mlc_dv_guid_valid(currency_id)) {
        memset(e, 0, sizeof *e);
        dv_err_set(e, false, 0, "refdata", "not a currency GUID");
        return MLC_EINVAL;
    }
    return lookup(s, "pricelevels", "_transactioncurrencyid_value", currency_id, false, NULL, id,
                  NULL, e);
}

enum mlc_rc mlc_dv_product_by(struct mlc_dv_session *s, const char *column, const char *value,
                              char id[37], char uom[37], struct mlc_dv_err *e)
{
    char tmp[37];
    for (const char *p = column ? column : ""; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            memset(e, 0, sizeof *e);
            dv_err_set(e, false, 0, "refdata", "not a column name");
            return MLC_EINVAL;
        }
    return lookup(s, "products", column, value, true, "defaultuomid", id, uom ? uom : tmp, e);
}

enum mlc_rc mlc_dv_uom_by_name(struct mlc_dv_session *s, const char *name, char id[37],
                               struct mlc_dv_err *e)
{
    return lookup(s, "uoms", "name", name, true, NULL, id, NULL, e);
}

enum mlc_rc mlc_dv_user_by_email(struct mlc_dv_session *s, const char *email, char id[37],
                                 struct mlc_dv_err *e)
{
    return lookup(s, "systemusers", "internalemailaddress", email, true, NULL, id, NULL, e);
}

enum mlc_rc mlc_dv_team_by_name(struct mlc_dv_session *s, const char *name, char id[37],
                                struct mlc_dv_err *e)
{
    return lookup(s, "teams", "name", name, true, NULL, id, NULL, e);
}
