/* NetSuite deletions: a deleted customer or contact deactivates its row, a deleted order is
 * cancelled (CancelSalesOrder); each audited, and the state marked so nothing brings it back. */
#include "internal.h"
#include "mlc/log.h"

#include <stdlib.h>
#include <string.h>

static enum mlc_map_kind kind_of(enum mlc_ns_type t)
{
    return t == MLC_NS_CUSTOMER  ? MLC_MAP_CUSTOMER
           : t == MLC_NS_CONTACT ? MLC_MAP_CONTACT
                                 : MLC_MAP_ORDER;
}

void sync_delete(struct sync_job *j, enum mlc_ns_type t, long long id)
{
    const char *type = mlc_ns_type_name(t);
    json_t *sec = mlc_mapping_section(j->s->mapping, kind_of(t));
    const char *set = json_string_value(json_object_get(sec, "entitySet"));
    const char *table = json_string_value(json_object_get(sec, "table"));
    struct rec r = {.id = id};
    if (sync_lease(j, type, &r, 1) != MLC_OK || sync_load_state(j, type, &r, 1) != MLC_OK) {
        sync_job_error(j, true, 0, "redis", "Redis: cannot read the record state");
        goto out;
    }
    if (r.busy) {
        char cls[80];
        snprintf(cls, sizeof cls, "record busy %s:%lld", type, id);
        sync_job_error(j, true, BUSY_RETRY_MS, cls, "%s %lld busy in another worker", type, id);
        goto out;
    }
    if (json_object_get(r.st, "del")) {
        r.act = ACT_UNCHANGED; /* already done: a replay or a duplicate event */
        goto commit;
    }
    r.nslm = mlc_now_ms();
    struct mlc_dv_err e;
    memset(&e, 0, sizeof e);
    char v[24];
    snprintf(v, sizeof v, "%lld", id);
    json_t *key = json_pack("{s:s}", json_string_value(json_object_get(sec, "key")), v);
    enum mlc_rc rc = MLC_OK;
    if (j->s->dry_run) {
        r.act = ACT_DELETED;
    } else if (t == MLC_NS_SALESORDER) {
        /* the order's GUID and state, then CancelSalesOrder while it is open */
        char path[256], guid[37] = "";
        struct mlc_buf seg;
        mlc_buf_init(&seg, 512);
        mlc_dv_key_segment(key, true, &seg);
        snprintf(path, sizeof path, "%s%s?$select=%sid,statecode", set, seg.data, table);
        mlc_buf_free(&seg);
        json_t *row = NULL;
        rc = mlc_dv_get(j->w->dv, path, &row, &e);
        r.dv_calls++;
        if (rc == MLC_OK) {
            char idcol[120];
            snprintf(idcol, sizeof idcol, "%sid", table);
            const char *g = json_string_value(json_object_get(row, idcol));
            snprintf(guid, sizeof guid, "%s", g ? g : "");
            snprintf(r.dvid, sizeof r.dvid, "%s", guid);
            if (json_integer_value(json_object_get(row, "statecode")) == 0 && guid[0]) {
                rc = mlc_dv_order_close(j->w->dv, guid, true, 4, "Deleted in NetSuite", &e);
                r.dv_calls++;
            }
        }
        json_decref(row);
    } else {
        json_t *body = json_pack("{s:i, s:i}", "statecode", 1, "statuscode", 2);
        rc = mlc_dv_write(j->w->dv, table, set, key, body, MLC_DV_UPDATE_ONLY, r.dvid, &e);
        r.dv_calls++;
        json_decref(body);
    }
    json_decref(key);
    if (rc == MLC_OK || rc == MLC_ENOTFOUND) {
        r.act = ACT_DELETED;
        r.payload = json_pack("{s:i}", "statecode", t == MLC_NS_SALESORDER ? 2 : 1);
        if (rc == MLC_ENOTFOUND) {
            sync_exception(&r, "not_in_dataverse", "", NULL,
                           "deleted in NetSuite; no row in Dataverse to deactivate");
        }
    } else {
        sync_dv_failure(j, &r, &e);
    }
commit:
    sync_commit(j, type, table, &r, 1);
    sync_count(j, type, &r, 1);
out:
    sync_release(j, type, &r, 1);
    rec_clear(&r);
}
