/* CreateMultiple, UpdateMultiple, UpsertMultiple: all-or-nothing, key columns refused in an upsert
 * target, per-table support switched and reported through sdkmessagefilters. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TARGETS 5000

bool dv_bulk_supported(const struct dv_settings *st, const char *message, const char *table)
{
    size_t tl = strlen(table);
    bool cm = dv_list_has(st->create_multiple, table, tl),
         um = dv_list_has(st->update_multiple, table, tl);
    if (strcmp(message, "CreateMultiple") == 0)
        return cm;
    if (strcmp(message, "UpdateMultiple") == 0)
        return um;
    if (strcmp(message, "UpsertMultiple") == 0)
        return cm && um;
    return false;
}

static const char *const customer_tables[] = {"account", "contact", "salesorder",
                                              "salesorderdetail", "product"};

void dv_bulk_refresh_filters(struct dv_sandbox *s, const struct dv_settings *st)
{
    struct dv_tab *f = dv_tab_by_logical(s, "sdkmessagefilter", 16);
    struct dv_tab *m = dv_tab_by_logical(s, "sdkmessage", 10);
    if (!f || !m)
        return;
    json_object_clear(f->rows);
    static const char *const msgs[] = {"Create", "Update",         "Delete",
                                       "Merge",  "CreateMultiple", "UpdateMultiple"};
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        char mid[37], key[96];
        snprintf(key, sizeof key, "sdkmessage:%s", msgs[i]);
        dv_guid_from(key, mid);
        for (size_t j = 0; j < sizeof customer_tables / sizeof customer_tables[0]; j++) {
            const char *tb = customer_tables[j];
            if (i == 3 && strcmp(tb, "account") != 0 && strcmp(tb, "contact") != 0)
                continue;
            if (i >= 4 && !dv_bulk_supported(st, msgs[i], tb))
                continue;
            char fid[37];
            snprintf(key, sizeof key, "sdkmessagefilter:%s:%s", msgs[i], tb);
            dv_guid_from(key, fid);
            json_object_set_new(f->rows, fid,
                                json_pack("{s:s, s:s, s:s, s:s, s:b, s:I}", "sdkmessagefilterid",
                                          fid, "_sdkmessageid_value", mid, "primaryobjecttypecode",
                                          tb, "secondaryobjecttypecode", "none",
                                          "iscustomprocessingstepallowed", 1, "versionnumber",
                                          (json_int_t)1));
        }
    }
}

/* Re-labels the error in p with the failing target, as Dataverse names the bad row. */
static void name_row(struct dv_resp *p, size_t i)
{
    json_t *b = json_loadb(p->body.data ? p->body.data : "", p->body.len, 0, NULL);
    json_t *e = json_object_get(b, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (msg) {
        char m[1200];
        snprintf(m, sizeof m, "%s (Targets[%zu])", msg, i);
        dv_resp_error(p, p->status, json_string_value(json_object_get(e, "code")), "%s", m);
    }
    json_decref(b);
}

void dv_bulk_exec(struct dv_ctx *c, struct dv_tab *t, const char *message, const struct dv_req *q,
                  struct dv_resp *p)
{
    int kind = strcmp(message, "CreateMultiple") == 0   ? 0
               : strcmp(message, "UpdateMultiple") == 0 ? 1
               : strcmp(message, "UpsertMultiple") == 0 ? 2
                                                        : -1;
    if (kind < 0) {
        dv_resp_error(p, 404, "0x80060888",
                      "Resource not found for the segment 'Microsoft.Dynamics.CRM.%.64s'.",
                      message);
        return;
    }
    if (!dv_bulk_supported(&c->st, message, t->def->logical)) {
        dv_resp_error(p, 400, "0x80040216",
                      "The '%s' method does not support entities of type '%s'. "
                      "MessageProcessorCache returned MessageProcessor.Empty.",
                      message, t->def->logical);
        return;
    }
    json_t *body = dv_req_json(q, p);
    if (!body)
        return;
    json_t *targets = json_object_get(body, "Targets");
    if (!json_is_array(targets) || json_array_size(targets) == 0 ||
        json_array_size(targets) > MAX_TARGETS) {
        dv_resp_error(p, 400, "0x80040203",
                      "%s needs a non-empty Targets array of at most %d rows.", message,
                      MAX_TARGETS);
        json_decref(body);
        return;
    }
    char want_type[96];
    snprintf(want_type, sizeof want_type, "Microsoft.Dynamics.CRM.%s", t->def->logical);
    bool own_txn = c->s->journal == NULL;
    bool saved = c->in_changeset;
    c->in_changeset = true; /* no upsert race window inside one atomic operation */
    if (own_txn)
        dv_txn_begin(c->s);
    json_t *ids = json_array();
    bool ok = true;
    for (size_t i = 0; i < json_array_size(targets) && ok; i++) {
        json_t *tg = json_array_get(targets, i);
        const char *type = json_string_value(json_object_get(tg, "@odata.type"));
        if (!json_is_object(tg) || !type || strcmp(type, want_type) != 0) {
            dv_resp_error(p, 400, "0x80040203", "Every target needs \"@odata.type\": \"%s\".",
                          want_type);
            ok = false;
            break;
        }
        char id[37] = "", out[37];
        json_t *keyvals = NULL;
        const char *given = json_string_value(json_object_get(tg, t->def->id));
        if (given)
            snprintf(id, sizeof id, "%s", given);
        const char *oid = json_string_value(json_object_get(tg, "@odata.id"));
        if (oid && kind == 2) {
            const char *paren = strchr(oid, '(');
            size_t sl = paren ? (size_t)(paren - oid) : 0;
            const char *set = oid;
            if (sl && oid[0] == '/') {
                set++;
                sl--;
            }
            if (!paren || sl != strlen(t->def->set) || strncmp(set, t->def->set, sl) != 0 ||
                !dv_parse_row_ref(t, paren, strlen(paren), id, &keyvals, p)) {
                if (p->status < 400)
                    dv_resp_error(p, 400, "0x80040203",
                                  "The @odata.id '%.200s' does not name a row of %s.", oid,
                                  t->def->set);
                ok = false;
                break;
            }
        }
        if (kind == 1 && !id[0]) {
            dv_resp_error(p, 400, "0x80040203", "UpdateMultiple needs %s in every target.",
                          t->def->id);
            ok = false;
        } else if (kind == 2 && !id[0] && !keyvals) {
            dv_resp_error(p, 400, "0x80040203",
                          "UpsertMultiple needs @odata.id (alternate key) or %s in every target.",
                          t->def->id);
            ok = false;
        } else {
            enum dv_write_mode mode = kind == 0 ? DVW_CREATE : kind == 1 ? DVW_UPDATE : DVW_UPSERT;
            ok = dv_write(c, t, mode, id[0] ? id : NULL, keyvals, tg, true, out, NULL, p);
            if (ok)
                json_array_append_new(ids, json_string(out));
        }
        json_decref(keyvals);
        if (!ok)
            name_row(p, i);
    }
    c->in_changeset = saved;
    if (own_txn) {
        if (ok)
            dv_txn_commit(c->s);
        else
            dv_txn_rollback(c->s);
    }
    json_decref(body);
    if (!ok) {
        json_decref(ids);
        return;
    }
    if (kind == 0) {
        char ctx[400];
        snprintf(ctx, sizeof ctx,
                 "%s/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse",
                 c->s->base_url);
        dv_resp_json(p, 200, json_pack("{s:s, s:o}", "@odata.context", ctx, "Ids", ids));
        return;
    }
    json_decref(ids);
    p->status = 204;
    p->ctype[0] = '\0';
    mlc_buf_reset(&p->body);
}
