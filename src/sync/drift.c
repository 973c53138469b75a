/* Dataverse webhooks, handled in the worker: our own writes (echoes) and other organizations are
 * dropped and counted; a row is found through the reverse index; a CRM edit of a NetSuite-owned
 * column is reverted from NetSuite's current state or reported (MLC_DRIFT_POLICY); a deleted
 * synced row is recreated or reported (MLC_CRM_DELETE_POLICY). */
#include "internal.h"
#include "mlc/config.h"
#include "mlc/log.h"
#include "mlc/metrics.h"
#include "mlc/queue.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void count(struct sync_job *j, const char *outcome)
{
    char labels[64];
    snprintf(labels, sizeof labels, "outcome=\"%s\"", outcome);
    mlc_metrics_add(j->ctx->app->metrics, "mlc_sync_dataverse_events_total", labels, 1);
}

static enum mlc_map_kind kind_of_type(enum mlc_ns_type t)
{
    return t == MLC_NS_CUSTOMER  ? MLC_MAP_CUSTOMER
           : t == MLC_NS_CONTACT ? MLC_MAP_CONTACT
                                 : MLC_MAP_ORDER;
}

/* The record a Dataverse row belongs to, from rev:<table>:<guid>. */
static bool resolve(struct sync_job *j, const char *table, const char *guid, enum mlc_ns_type *t,
                    long long *id)
{
    char key[200], err[128];
    mlc_queue_key(j->ctx->app->queue, key, sizeof key, "rev:%s:%s", table, guid);
    const char *argv[] = {"GET", key};
    json_t *v = NULL;
    bool ok = false;
    if (mlc_redis_exec(j->ctx->redis, &v, err, sizeof err, 2, argv) == MLC_OK &&
        json_is_string(v)) {
        char type[32];
        const char *s = json_string_value(v);
        const char *colon = strchr(s, ':');
        if (colon && (size_t)(colon - s) < sizeof type) {
            snprintf(type, sizeof type, "%.*s", (int)(colon - s), s);
            int tt = mlc_ns_type_parse(type);
            uint64_t u;
            if (tt >= 0 && mlc_parse_u64(colon + 1, &u) == MLC_OK) {
                *t = (enum mlc_ns_type)tt;
                *id = (long long)u;
                ok = true;
            }
        }
    }
    json_decref(v);
    return ok;
}

static void resync(struct sync_job *j, enum mlc_ns_type t, long long id)
{
    bool force = j->force;
    j->force = true; /* drift correction bypasses the no-op skip and the stale guard */
    if (t == MLC_NS_CUSTOMER)
        sync_customers(j, &id, 1);
    else if (t == MLC_NS_CONTACT)
        sync_contacts(j, &id, 1);
    else
        sync_orders(j, &id, 1);
    j->force = force;
}

static bool same_value(json_t *a, json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return fabs(json_number_value(a) - json_number_value(b)) < 0.005;
    if ((!a || json_is_null(a)) && (!b || json_is_null(b)))
        return true;
    if (json_is_string(a) && json_is_string(b))
        return strcmp(json_string_value(a), json_string_value(b)) == 0;
    return a && b && json_equal(a, b);
}

/* NetSuite-owned columns whose value in Dataverse differs from what we last wrote:
 * {col: {before: ours, after: the CRM's}}. NULL when the row could not be read. */
static json_t *drifted(struct sync_job *j, enum mlc_ns_type t, long long id, const char *guid)
{
    json_t *st = sync_state_get(j, mlc_ns_type_name(t), id);
    const char *ps = json_string_value(json_object_get(st, "p"));
    json_t *ours = ps ? json_loads(ps, 0, NULL) : NULL;
    json_decref(st);
    if (!ours)
        return json_object();
    json_t *sec = mlc_mapping_section(j->s->mapping, kind_of_type(t));
    struct mlc_buf sel;
    mlc_buf_init(&sel, 8192);
    const char *k;
    json_t *v;
    json_object_foreach(ours, k, v)
    {
        if (strchr(k, '@'))
            continue; /* bound lookups are compared through their own events */
        mlc_buf_printf(&sel, "%s%s", sel.len ? "," : "", k);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s(%s)?$select=%s",
             json_string_value(json_object_get(sec, "entitySet")), guid, sel.data ? sel.data : "");
    mlc_buf_free(&sel);
    json_t *row = NULL;
    struct mlc_dv_err e;
    json_t *out = NULL;
    if (mlc_dv_get(j->w->dv, path, &row, &e) == MLC_OK) {
        out = json_object();
        json_object_foreach(ours, k, v)
        {
            if (strchr(k, '@'))
                continue;
            json_t *crm = json_object_get(row, k);
            if (!same_value(v, crm))
                json_object_set_new(out, k, json_pack("{s:O, s:O?}", "before", v, "after", crm));
        }
    } else if (e.retryable) {
        sync_job_error(j, true, e.retry_after_ms, e.cls, "Dataverse: %s", e.msg);
    }
    json_decref(row);
    json_decref(ours);
    return out;
}

void sync_dataverse_event(struct sync_job *j, json_t *data)
{
    const char *message = json_string_value(json_object_get(data, "message"));
    const char *entity = json_string_value(json_object_get(data, "entity"));
    const char *guid = json_string_value(json_object_get(data, "entityId"));
    const char *user = json_string_value(json_object_get(data, "userId"));
    const char *org = json_string_value(json_object_get(data, "organizationId"));
    if (!message || !entity || !guid || !mlc_dv_guid_valid(guid)) {
        count(j, "invalid");
        sync_job_error(j, false, 0, "invalid dataverse event",
                       "the event names no message, table or row");
        return;
    }
    char me[37], my_org[37];
    struct mlc_dv_err e;
    if (mlc_dv_whoami(j->w->dv, me, my_org, &e) != MLC_OK) {
        sync_job_error(j, e.retryable, e.retry_after_ms, e.cls, "Dataverse WhoAmI: %s", e.msg);
        return;
    }
    const char *cfg_user = mlc_config_str(&j->ctx->app->cfg, MLC_CFG_DATAVERSE_APP_USER_ID);
    if (cfg_user && *cfg_user)
        snprintf(me, sizeof me, "%s", cfg_user);
    if (org && *org && strcasecmp(org, my_org) != 0) {
        count(j, "wrong_organization");
        mlc_log_kv(MLC_LOG_ERROR, "alert: a Dataverse event from another organization dropped",
                   json_pack("{s:s, s:s}", "organizationId", org, "ours", my_org));
        return;
    }
    enum mlc_ns_type t;
    long long id;
    const char *table = entity;
    char order_guid[37] = "";
    if (user && strcasecmp(user, me) == 0 && strcmp(entity, "salesorderdetail") == 0) {
        /* The echo of a line we wrote: dropped at once, with no call to find its order (a first
         * load writes tens of thousands of lines; the order's own audit entry has them). */
        count(j, "echo_dropped");
        return;
    }
    if (strcmp(entity, "salesorderdetail") == 0 && strcmp(message, "Delete") != 0) {
        /* a line: its order's record (lines are NetSuite-owned as a whole) */
        char path[160];
        snprintf(path, sizeof path, "salesorderdetails(%s)?$select=_salesorderid_value", guid);
        json_t *row = NULL;
        if (mlc_dv_get(j->w->dv, path, &row, &e) == MLC_OK) {
            const char *o = json_string_value(json_object_get(row, "_salesorderid_value"));
            snprintf(order_guid, sizeof order_guid, "%s", o && mlc_dv_guid_valid(o) ? o : "");
        }
        json_decref(row);
        table = "salesorder";
    }
    bool found = resolve(j, table, order_guid[0] ? order_guid : guid, &t, &id);
    if (user && strcasecmp(user, me) == 0) {
        count(j, "echo_dropped");
        if (found)
            sync_audit_one(j, mlc_ns_type_name(t), id, guid, ACT_ECHO, NULL, NULL, 0);
        return;
    }
    if (!found) {
        count(j, "unresolved"); /* not a row we synced (or a line delete: its order knows) */
        return;
    }
    const char *type = mlc_ns_type_name(t);
    bool report_only;
    if (strcmp(message, "Delete") == 0) {
        report_only =
            strcmp(mlc_config_str(&j->ctx->app->cfg, MLC_CFG_CRM_DELETE_POLICY), "report") == 0;
        json_t *ch = json_pack("{s:{s:s, s:n}}", "row", "before", guid, "after");
        sync_audit_one(j, type, id, guid, report_only ? ACT_DRIFT_REPORTED : ACT_DRIFT_REVERTED,
                       NULL, ch, 0);
        json_decref(ch);
        count(j, report_only ? "delete_reported" : "delete_recreated");
        if (!report_only) {
            /* forget the GUID so the next write creates the row again */
            char k[160], rk[200], err[128];
            mlc_queue_key(j->ctx->app->queue, k, sizeof k, "state:%s:%lld", type, id);
            mlc_queue_key(j->ctx->app->queue, rk, sizeof rk, "rev:%s:%s", table, guid);
            const char *hdel[] = {"HDEL", k, "dvid", "hash", "closed"};
            const char *del[] = {"DEL", rk};
            mlc_redis_exec(j->ctx->redis, NULL, err, sizeof err, 5, hdel);
            mlc_redis_exec(j->ctx->redis, NULL, err, sizeof err, 2, del);
            resync(j, t, id);
        }
        return;
    }
    json_t *ch = drifted(j, t, id, order_guid[0] ? order_guid : guid);
    if (!ch)
        return;
    if (json_object_size(ch) == 0 && !order_guid[0]) {
        count(j, "crm_edit_kept"); /* only CRM-owned columns changed */
        json_decref(ch);
        return;
    }
    report_only = strcmp(mlc_config_str(&j->ctx->app->cfg, MLC_CFG_DRIFT_POLICY), "report") == 0;
    sync_audit_one(j, type, id, order_guid[0] ? order_guid : guid,
                   report_only ? ACT_DRIFT_REPORTED : ACT_DRIFT_REVERTED, NULL, ch, 1);
    count(j, report_only ? "drift_reported" : "drift_reverted");
    json_decref(ch);
    if (!report_only)
        resync(j, t, id);
}
