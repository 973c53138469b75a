/* salesorder rules (created Active, fixed currency and number, read-only once closed, state pairs)
 * and the CRM actions: CancelSalesOrder, FulfillSalesOrder, Merge. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool status_valid(long long state, long long status)
{
    switch (state) {
    case 0:
        return status == 1 || status == 2;
    case 1:
        return status == 3;
    case 2:
        return status == 4;
    case 3:
        return status == 100001 || status == 100002;
    case 4:
        return status == 100003;
    }
    return false;
}

static const char *state_name(long long st)
{
    static const char *const n[] = {"Active", "Submitted", "Canceled", "Fulfilled", "Invoiced"};
    return st >= 0 && st <= 4 ? n[st] : "Unknown";
}

static void read_only(struct dv_ctx *c, struct dv_resp *p)
{
    dv_resp_error(p, 400, c->st.readonly_code,
                  "Cannot perform the action because the record is read only");
}

static bool only_state_fields(json_t *body)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (strcmp(k, "statecode") != 0 && strcmp(k, "statuscode") != 0 && k[0] != '@')
            return false;
    }
    return true;
}

bool dv_order_check(struct dv_ctx *c, struct dv_tab *t, json_t *old, json_t *row, json_t *body,
                    bool create, struct dv_resp *p)
{
    if (strcmp(t->def->logical, "salesorder") != 0)
        return true;
    json_t *bs = json_object_get(body, "statecode"), *bu = json_object_get(body, "statuscode");
    if (create) {
        if (bs && !json_is_null(bs) && json_integer_value(bs) != 0) {
            dv_resp_error(p, 400, "0x80040203",
                          "%lld is not a valid state code on salesorder create: orders are "
                          "created Active.",
                          (long long)json_integer_value(bs));
            return false;
        }
        if (bu && !status_valid(0, json_integer_value(bu))) {
            dv_resp_error(p, 400, "0x80040203",
                          "%lld is not a valid status code for state code SalesOrderState.Active "
                          "on salesorder",
                          (long long)json_integer_value(bu));
            return false;
        }
        if (!json_is_string(json_object_get(row, "ordernumber"))) {
            char num[40];
            snprintf(num, sizeof num, "ORD-%05llu-SBX", (unsigned long long)(c->s->version + 1));
            json_object_set_new(row, "ordernumber", json_string(num));
        }
        return true;
    }
    long long cur = json_integer_value(json_object_get(old, "statecode"));
    if (cur != 0) {
        /* closed or submitted: only Submitted -> Active is allowed */
        if (cur == 1 && only_state_fields(body) && json_is_integer(bs) &&
            json_integer_value(bs) == 0) {
            long long su = bu ? json_integer_value(bu) : 1;
            if (!status_valid(0, su)) {
                dv_resp_error(p, 400, "0x80040203",
                              "%lld is not a valid status code for state code "
                              "SalesOrderState.Active on salesorder",
                              su);
                return false;
            }
            json_object_set_new(row, "statuscode", json_integer(su));
            return true;
        }
        read_only(c, p);
        return false;
    }
    static const char *const fixed[] = {"_transactioncurrencyid_value", "ordernumber"};
    for (size_t i = 0; i < 2; i++) {
        json_t *a = json_object_get(old, fixed[i]), *b = json_object_get(row, fixed[i]);
        if (a && !json_equal(a, b)) {
            dv_resp_error(p, 400, "0x80040203",
                          "The attribute '%s' of salesorder cannot be changed after the order is "
                          "created.",
                          i == 0 ? "transactioncurrencyid" : "ordernumber");
            return false;
        }
    }
    if (bs && !json_is_null(bs)) {
        long long ns = json_integer_value(bs);
        if (ns == 2 || ns == 3 || ns == 4) {
            static const char *const req[] = {"", "", "CancelSalesOrderRequest",
                                              "FulfillSalesOrderRequest",
                                              "ConvertSalesOrderToInvoiceRequest"};
            dv_resp_error(p, 400, "0x80040203",
                          "The salesorder cannot be set to state %s with an update: use %s.",
                          state_name(ns), req[ns]);
            return false;
        }
        if (ns != 0 && ns != 1) {
            dv_resp_error(p, 400, "0x80040203", "%lld is not a valid state code on salesorder.",
                          ns);
            return false;
        }
        long long su = bu ? json_integer_value(bu) : (ns == 0 ? 1 : 3);
        if (!status_valid(ns, su)) {
            dv_resp_error(p, 400, "0x80040203",
                          "%lld is not a valid status code for state code SalesOrderState.%s on "
                          "salesorder",
                          su, state_name(ns));
            return false;
        }
        json_object_set_new(row, "statuscode", json_integer(su));
    } else if (bu && !status_valid(0, json_integer_value(bu))) {
        dv_resp_error(p, 400, "0x80040203",
                      "%lld is not a valid status code for state code SalesOrderState.Active on "
                      "salesorder",
                      (long long)json_integer_value(bu));
        return false;
    }
    return true;
}

/* Sets state and status without the update rules (the actions' own path). */
static void set_state(struct dv_ctx *c, struct dv_tab *t, const char *id, long long state,
                      long long status)
{
    json_t *old = dv_row_get(t, id);
    json_t *row = json_deep_copy(old);
    json_t *changed =
        json_pack("{s:I, s:I}", "statecode", (json_int_t)state, "statuscode", (json_int_t)status);
    json_object_update(row, changed);
    char ts[32];
    dv_iso_time(mlc_now_ms(), ts, sizeof ts);
    c->s->version++;
    json_object_set_new(row, "versionnumber", json_integer((json_int_t)(4412000 + c->s->version)));
    json_object_set_new(row, "modifiedon", json_string(ts));
    json_object_set_new(row, "_modifiedby_value", json_string(c->user_id));
    json_t *pre = json_incref(old);
    dv_row_put(c->s, t, id, row);
    dv_webhooks_emit(c->s, "Update", t, id, changed, pre, row, c->user_id);
    json_decref(pre);
    json_decref(changed);
}

static void close_order(struct dv_ctx *c, bool cancel, json_t *body, struct dv_resp *p)
{
    json_t *oc = json_object_get(body, "OrderClose");
    json_t *status = json_object_get(body, "Status");
    const char *ref = json_string_value(json_object_get(oc, "salesorderid@odata.bind"));
    if (!json_is_object(oc) || !ref || !json_is_integer(status)) {
        dv_resp_error(p, 400, "0x80040203",
                      "%s needs OrderClose (with salesorderid@odata.bind) and Status.",
                      cancel ? "CancelSalesOrder" : "FulfillSalesOrder");
        return;
    }
    struct dv_tab *t = NULL;
    char id[37];
    if (!dv_ref_resolve(c, ref, &t, id, p))
        return;
    if (strcmp(t->def->logical, "salesorder") != 0) {
        dv_resp_error(p, 400, "0x80040203", "OrderClose must be bound to a salesorder.");
        return;
    }
    long long st = json_integer_value(json_object_get(dv_row_get(t, id), "statecode"));
    long long want = cancel ? 2 : 3;
    if (st != 0 && st != 1) {
        read_only(c, p);
        return;
    }
    if (!status_valid(want, json_integer_value(status))) {
        dv_resp_error(p, 400, "0x80040203",
                      "%lld is not a valid status code for state code SalesOrderState.%s on "
                      "salesorder",
                      (long long)json_integer_value(status), state_name(want));
        return;
    }
    set_state(c, t, id, want, json_integer_value(status));
    p->status = 204;
}

/* Moves every row of table set whose lookup col points at loser to target. */
static void move_children(struct dv_ctx *c, const char *logical, const char *col, const char *loser,
                          const char *target)
{
    struct dv_tab *ct = dv_tab_by_logical(c->s, logical, strlen(logical));
    if (!ct)
        return;
    char f[80];
    snprintf(f, sizeof f, "_%s_value", col);
    json_t *ids = json_array();
    const char *id;
    json_t *row;
    json_object_foreach(ct->rows, id, row)
    {
        const char *v = json_string_value(json_object_get(row, f));
        if (v && strcmp(v, loser) == 0)
            json_array_append_new(ids, json_string(id));
    }
    for (size_t i = 0; i < json_array_size(ids); i++) {
        const char *cid = json_string_value(json_array_get(ids, i));
        json_t *old = dv_row_get(ct, cid);
        json_t *nrow = json_deep_copy(old);
        json_t *changed = json_pack("{s:s}", col, target);
        json_object_set_new(nrow, f, json_string(target));
        c->s->version++;
        json_object_set_new(nrow, "versionnumber",
                            json_integer((json_int_t)(4412000 + c->s->version)));
        json_t *pre = json_incref(old);
        dv_row_put(c->s, ct, cid, nrow);
        dv_webhooks_emit(c->s, "Update", ct, cid, changed, pre, nrow, c->user_id);
        json_decref(pre);
        json_decref(changed);
    }
    json_decref(ids);
}

bool dv_merge(struct dv_ctx *c, struct dv_tab *t, const char *target, const char *loser,
              json_t *update_content, struct dv_resp *p)
{
    bool acct = strcmp(t->def->logical, "account") == 0;
    if (!acct && strcmp(t->def->logical, "contact") != 0) {
        dv_resp_error(p, 400, "0x80040203", "Merge is supported for account and contact only.");
        return false;
    }
    json_t *trow = dv_row_get(t, target), *lrow = dv_row_get(t, loser);
    if (!trow || !lrow || strcmp(target, loser) == 0) {
        dv_resp_not_found(p, t, false, !trow ? target : loser);
        return false;
    }
    if (json_integer_value(json_object_get(lrow, "statecode")) != 0) {
        dv_resp_error(p, 400, "0x80040203", "The subordinate %s is not active.", t->def->logical);
        return false;
    }
    if (json_object_size(update_content) > 0) {
        json_t *body = json_deep_copy(update_content);
        json_object_del(body, "@odata.type");
        json_object_del(body, t->def->id);
        bool ok = dv_write(c, t, DVW_UPDATE, target, NULL, body, false, NULL, NULL, p);
        json_decref(body);
        if (!ok)
            return false;
    }
    if (acct) {
        move_children(c, "contact", "parentcustomerid", loser, target);
        move_children(c, "salesorder", "customerid", loser, target);
        move_children(c, "account", "parentaccountid", loser, target);
    }
    json_t *old = dv_row_get(t, loser);
    json_t *row = json_deep_copy(old);
    json_t *changed = json_pack("{s:i, s:i, s:b, s:s}", "statecode", 1, "statuscode", 2, "merged",
                                1, "masterid", target);
    json_object_set_new(row, "statecode", json_integer(1));
    json_object_set_new(row, "statuscode", json_integer(2));
    json_object_set_new(row, "merged", json_true());
    json_object_set_new(row, "_masterid_value", json_string(target));
    c->s->version++;
    json_object_set_new(row, "versionnumber", json_integer((json_int_t)(4412000 + c->s->version)));
    dv_row_put(c->s, t, loser, row);
    json_t *in = json_pack("{s:s}", "SubordinateId", loser);
    dv_webhooks_emit(c->s, "Merge", t, target, in, dv_row_get(t, target), dv_row_get(t, target),
                     c->user_id);
    json_decref(in);
    json_decref(changed);
    p->status = 204;
    return true;
}

void dv_order_action(struct dv_ctx *c, const char *action, const struct dv_req *q,
                     struct dv_resp *p)
{
    json_t *body = dv_req_json(q, p);
    if (!body)
        return;
    if (strcmp(action, "Merge") == 0) {
        json_t *tg = json_object_get(body, "Target"), *sub = json_object_get(body, "Subordinate");
        const char *type = json_string_value(json_object_get(tg, "@odata.type"));
        const char *logical =
            type && strncmp(type, "Microsoft.Dynamics.CRM.", 23) == 0 ? type + 23 : "";
        struct dv_tab *t = dv_tab_by_logical(c->s, logical, strlen(logical));
        const char *tid = t ? json_string_value(json_object_get(tg, t->def->id)) : NULL;
        const char *lid = t ? json_string_value(json_object_get(sub, t->def->id)) : NULL;
        if (!t || !tid || !lid) {
            dv_resp_error(p, 400, "0x80040203",
                          "Merge needs Target and Subordinate with @odata.type and their ids.");
        } else {
            dv_merge(c, t, tid, lid, json_object_get(body, "UpdateContent"), p);
        }
    } else {
        close_order(c, strcmp(action, "CancelSalesOrder") == 0, body, p);
    }
    json_decref(body);
    if (p->status == 204) {
        p->ctype[0] = '\0';
        mlc_buf_reset(&p->body);
    }
}

/* ---- salesorderdetail (reference/dataverse.md, "salesorder and salesorderdetail") ---- */

static const char *str_of(json_t *row, const char *k)
{
    return json_string_value(json_object_get(row, k));
}

/* The order a line belongs to (NULL when unbound or missing). */
static json_t *line_order(struct dv_sandbox *s, json_t *line)
{
    struct dv_tab *orders = dv_tab_by_logical(s, "salesorder", 10);
    const char *oid = str_of(line, "_salesorderid_value");
    return orders && oid ? dv_row_get(orders, oid) : NULL;
}

bool dv_line_parent_check(struct dv_ctx *c, json_t *line, struct dv_resp *p)
{
    json_t *order = line_order(c->s, line);
    if (order && json_integer_value(json_object_get(order, "statecode")) != 0) {
        read_only(c, p); /* lines of a Submitted or closed order are read-only with it */
        return false;
    }
    return true;
}

/* The price list item of product + unit in the order's price list, or NULL. */
static json_t *price_item(struct dv_sandbox *s, const char *pricelevel, const char *product,
                          const char *uom)
{
    struct dv_tab *ppl = dv_tab_by_logical(s, "productpricelevel", 17);
    const char *id;
    json_t *r;
    if (ppl && pricelevel)
        json_object_foreach(ppl->rows, id, r)
        {
            const char *pl = str_of(r, "_pricelevelid_value"), *pr = str_of(r, "_productid_value"),
                       *u = str_of(r, "_uomid_value");
            if (pl && pr && u && strcmp(pl, pricelevel) == 0 && strcmp(pr, product) == 0 &&
                strcmp(u, uom) == 0)
                return r;
        }
    return NULL;
}

bool dv_line_check(struct dv_ctx *c, json_t *old, json_t *row, bool create, struct dv_resp *p)
{
    if (!dv_line_parent_check(c, row, p) || (old && !dv_line_parent_check(c, old, p)))
        return false;
    const char *prod = str_of(row, "_productid_value"), *uom = str_of(row, "_uomid_value");
    if (json_is_true(json_object_get(row, "isproductoverridden"))) {
        /* a write-in line: a description, no product and no unit */
        if (prod || uom) {
            dv_resp_error(p, 400, "0x80040203",
                          "A write-in product line (isproductoverridden true) cannot have a "
                          "productid or a uomid.");
            return false;
        }
        if (create && !json_is_string(json_object_get(row, "productdescription"))) {
            dv_resp_error(p, 400, "0x80040203",
                          "A write-in product line needs a productdescription.");
            return false;
        }
    } else if (create || !old ||
               !json_equal(json_object_get(old, "_productid_value"),
                           json_object_get(row, "_productid_value")) ||
               !json_equal(json_object_get(old, "_uomid_value"),
                           json_object_get(row, "_uomid_value")) ||
               !json_equal(json_object_get(old, "ispriceoverridden"),
                           json_object_get(row, "ispriceoverridden"))) {
        /* a catalogue line: product, a unit of its unit group, and a price */
        if (!prod || !uom) {
            dv_resp_error(p, 400, "0x80040203",
                          "A salesorderdetail for an existing product needs productid and uomid "
                          "(or isproductoverridden true and a productdescription).");
            return false;
        }
        struct dv_tab *pt = dv_tab_by_logical(c->s, "product", 7);
        struct dv_tab *ut = dv_tab_by_logical(c->s, "uom", 3);
        json_t *product = pt ? dv_row_get(pt, prod) : NULL, *unit = ut ? dv_row_get(ut, uom) : NULL;
        const char *group = str_of(product, "_defaultuomscheduleid_value");
        const char *ugroup = str_of(unit, "_uomscheduleid_value");
        if (!product || !unit || !group || !ugroup || strcmp(group, ugroup) != 0) {
            dv_resp_error(p, 400, "0x80040203",
                          "The unit of measure is not in the unit group of the product.");
            return false;
        }
        if (!json_is_true(json_object_get(row, "ispriceoverridden"))) {
            json_t *order = line_order(c->s, row);
            json_t *item = price_item(c->s, str_of(order, "_pricelevelid_value"), prod, uom);
            if (!item) {
                dv_resp_error(p, 400, "0x80040203",
                              "The product and unit are not in the price list of the order: add "
                              "them to the price list, or set ispriceoverridden to true and give "
                              "priceperunit.");
                return false;
            }
            json_object_set(row, "priceperunit", json_object_get(item, "amount"));
        }
    }
    double amount = json_number_value(json_object_get(row, "priceperunit")) *
                    json_number_value(json_object_get(row, "quantity"));
    json_object_set_new(row, "baseamount", json_real(amount));
    json_object_set_new(row, "extendedamount", json_real(amount));
    return true;
}

void dv_order_totals(struct dv_sandbox *s, const char *order_id)
{
    struct dv_tab *orders = dv_tab_by_logical(s, "salesorder", 10);
    struct dv_tab *lines = dv_tab_by_logical(s, "salesorderdetail", 16);
    json_t *order = orders && order_id ? dv_row_get(orders, order_id) : NULL;
    if (!order || !lines)
        return;
    double total = 0;
    const char *id;
    json_t *r;
    json_object_foreach(lines->rows, id, r)
    {
        const char *o = str_of(r, "_salesorderid_value");
        if (o && strcmp(o, order_id) == 0)
            total += json_number_value(json_object_get(r, "extendedamount"));
    }
    /* a recalculation by the platform: journaled like any write, no webhook of its own */
    json_t *copy = json_deep_copy(order);
    json_object_set_new(copy, "totallineitemamount", json_real(total));
    json_object_set_new(copy, "totalamount", json_real(total));
    dv_row_put(s, orders, order_id, copy);
}
