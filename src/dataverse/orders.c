/* Sales order state: Active <-> Submitted by PATCH; fulfil and cancel through their actions with an
 * OrderClose entity (a PATCH to a closed state is refused by Dataverse). */
#include "internal.h"

#include <stdio.h>
#include <string.h>

enum mlc_rc mlc_dv_order_set_state(struct mlc_dv_session *s, const char *order_id, int state,
                                   int status, struct mlc_dv_err *e)
{
    memset(e, 0, sizeof *e);
    if (!mlc_dv_guid_valid(order_id) || state < 0 || state > 1) {
        dv_err_set(e, false, 0, "bug",
                   "only Active (0) and Submitted (1) are set by PATCH; closing uses the actions");
        return MLC_EINVAL;
    }
    json_t *b = json_pack("{s:i, s:i}", "statecode", state, "statuscode", status);
    enum mlc_rc rc = mlc_dv_write_id(s, "salesorders", order_id, b, MLC_DV_UPDATE_ONLY, e);
    json_decref(b);
    return rc;
}

enum mlc_rc mlc_dv_order_close(struct mlc_dv_session *s, const char *order_id, bool cancel,
                               int status, const char *subject, struct mlc_dv_err *e)
{
    memset(e, 0, sizeof *e);
    if (!mlc_dv_guid_valid(order_id)) {
        dv_err_set(e, false, 0, "bug", "not an order GUID");
        return MLC_EINVAL;
    }
    char ref[80];
    mlc_dv_bind_id("salesorders", order_id, ref, sizeof ref);
    json_t *b =
        json_pack("{s:{s:s, s:s, s:s}, s:i}", "OrderClose", "@odata.type",
                  "Microsoft.Dynamics.CRM.orderclose", "salesorderid@odata.bind", ref, "subject",
                  subject ? subject : (cancel ? "Cancelled" : "Fulfilled"), "Status", status);
    enum mlc_rc rc =
        mlc_dv_send(s, "POST", cancel ? "CancelSalesOrder" : "FulfillSalesOrder", b, NULL, e);
    json_decref(b);
    return rc;
}
