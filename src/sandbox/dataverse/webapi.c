/* The Web API's resource paths: entity sets, rows by id or alternate key, WhoAmI, actions, bulk
 * messages and metadata, dispatched to the files that own them. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void whoami(struct dv_ctx *c, struct dv_resp *p)
{
    char ctx[400];
    snprintf(ctx, sizeof ctx, "%s/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
             c->s->base_url);
    dv_resp_json(p, 200,
                 json_pack("{s:s, s:s, s:s, s:s}", "@odata.context", ctx, "BusinessUnitId",
                           c->s->business_unit_id, "UserId", c->user_id, "OrganizationId",
                           c->s->org_id));
}

/* PATCH of one row: upsert, update-only (If-Match) or create-only (If-None-Match). */
static void patch_row(struct dv_ctx *c, struct dv_tab *t, const char *id, json_t *keyvals,
                      const struct dv_req *q, struct dv_resp *p)
{
    json_t *body = dv_req_json(q, p);
    if (!body)
        return;
    const char *existing = id;
    if (keyvals && !dv_find_by_key(t, keyvals, &existing, p)) {
        json_decref(body);
        return;
    }
    json_t *old = existing ? dv_row_get(t, existing) : NULL;
    enum dv_write_mode mode = DVW_UPSERT;
    if (q->if_none_match && strcmp(q->if_none_match, "*") == 0) {
        if (old) {
            /* samples/dataverse-error-412-key-exists.json */
            dv_resp_error(p, 412, "", "A record with matching key values already exists.");
            json_decref(body);
            return;
        }
        mode = DVW_CREATE;
    } else if (q->if_match) {
        if (!old) {
            dv_resp_not_found(p, t, keyvals != NULL, id);
            json_decref(body);
            return;
        }
        char want[64];
        snprintf(want, sizeof want, "W/\"%lld\"",
                 (long long)json_integer_value(json_object_get(old, "versionnumber")));
        if (strcmp(q->if_match, "*") != 0 && strcmp(q->if_match, want) != 0) {
            dv_resp_error(p, 412, "0x80060882",
                          "The version of the existing record doesn't match the RowVersion "
                          "property provided.");
            json_decref(body);
            return;
        }
        mode = DVW_UPDATE;
    } else if (c->in_changeset && keyvals && c->st.changeset_upsert_refuse) {
        dv_resp_error(p, 400, "0x80060891",
                      "Upsert by alternate key is not supported inside a change set.");
        json_decref(body);
        return;
    }
    char out[37];
    bool created = false;
    if (dv_write(c, t, mode, id, keyvals, body, false, out, &created, p))
        dv_write_answer(c, t, out, created, q, p);
    json_decref(body);
}

static void row_request(struct dv_ctx *c, struct dv_tab *t, const char *ref, size_t reflen,
                        const struct dv_req *q, struct dv_resp *p)
{
    char id[37];
    json_t *keyvals = NULL;
    /* IIS refuses these characters in a request path before Dataverse sees it
     * (reference/dataverse.md): such key values need another way, e.g. UpsertMultiple */
    size_t bad = strcspn(ref, "/<>*%&:\\?+");
    if (bad < reflen) {
        dv_resp_error(p, 400, "0x0",
                      "A potentially dangerous Request.Path value was detected from the client "
                      "(%c).",
                      ref[bad]);
        return;
    }
    if (!dv_parse_row_ref(t, ref, reflen, id, &keyvals, p))
        return;
    if (strcmp(q->method, "PATCH") == 0) {
        patch_row(c, t, keyvals ? NULL : id, keyvals, q, p);
        json_decref(keyvals);
        return;
    }
    const char *found = keyvals ? NULL : id;
    if (keyvals) {
        bool ok = dv_find_by_key(t, keyvals, &found, p);
        json_decref(keyvals);
        if (!ok)
            return;
        if (!found) {
            dv_resp_not_found(p, t, true, NULL);
            return;
        }
    }
    json_t *row = dv_row_get(t, found);
    if (!row) {
        dv_resp_not_found(p, t, false, found);
        return;
    }
    if (strcmp(q->method, "GET") == 0) {
        const char *select = dv_req_query(q, "$select");
        if (!dv_select_valid(t, select, p))
            return;
        dv_resp_json(p, 200, dv_row_render(c, t, row, select, true));
    } else if (strcmp(q->method, "DELETE") == 0) {
        char fid[37];
        snprintf(fid, sizeof fid, "%s", found);
        if (dv_delete(c, t, fid, p)) {
            p->ctype[0] = '\0';
            mlc_buf_reset(&p->body);
        }
    } else {
        dv_resp_error(p, 405, "0x80060888", "The HTTP method '%s' is not allowed on a row.",
                      q->method);
    }
}

static void create_row(struct dv_ctx *c, struct dv_tab *t, const struct dv_req *q,
                       struct dv_resp *p)
{
    json_t *body = dv_req_json(q, p);
    if (!body)
        return;
    char out[37];
    bool created = false;
    if (dv_write(c, t, DVW_CREATE, NULL, NULL, body, false, out, &created, p))
        dv_write_answer(c, t, out, true, q, p);
    json_decref(body);
}

static void exec_locked(struct dv_ctx *c, const struct dv_req *q, struct dv_resp *p)
{
    const char *path = q->path;
    const char *m = q->method;
    if (strcmp(path, "WhoAmI") == 0 || strcmp(path, "WhoAmI()") == 0) {
        if (strcmp(m, "GET") != 0)
            dv_resp_error(p, 405, "0x80060888", "WhoAmI is a function: use GET.");
        else
            whoami(c, p);
        return;
    }
    if (strncmp(path, "EntityDefinitions", 17) == 0) {
        dv_metadata_exec(c, q, p);
        return;
    }
    if (strcmp(path, "CancelSalesOrder") == 0 || strcmp(path, "FulfillSalesOrder") == 0 ||
        strcmp(path, "Merge") == 0) {
        if (strcmp(m, "POST") != 0)
            dv_resp_error(p, 405, "0x80060888", "%s is an action: use POST.", path);
        else
            dv_order_action(c, path, q, p);
        return;
    }
    const char *seg = path;
    char resolved[300];
    if (seg[0] == '$' && c->in_batch) {
        /* "$1" names a row created earlier in the change set */
        const char *v = json_string_value(json_object_get(c->content_ids, seg + 1));
        if (!v) {
            dv_resp_error(p, 400, "0x0",
                          "Content-ID Reference: '%s' does not exist in the batch context.", seg);
            return;
        }
        snprintf(resolved, sizeof resolved, "%s", v[0] == '/' ? v + 1 : v);
        seg = resolved;
    }
    size_t nl = strcspn(seg, "(/");
    struct dv_tab *t = dv_tab_by_set(c->s, seg, nl);
    if (!t) {
        dv_resp_error(p, 404, "0x80060888", "Resource not found for the segment '%.*s'.",
                      (int)(nl > 100 ? 100 : nl), seg);
        return;
    }
    const char *rest = seg + nl;
    if (*rest == '\0') {
        if (strcmp(m, "GET") == 0)
            dv_query_collection(c, t, q, p);
        else if (strcmp(m, "POST") == 0)
            create_row(c, t, q, p);
        else
            dv_resp_error(p, 405, "0x80060888",
                          "The HTTP method '%s' is not allowed on an entity set.", m);
        return;
    }
    if (*rest == '/') {
        const char *msg = rest + 1;
        if (strncmp(msg, "Microsoft.Dynamics.CRM.", 23) == 0 && strcmp(m, "POST") == 0) {
            dv_bulk_exec(c, t, msg + 23, q, p);
            return;
        }
        dv_resp_error(p, 404, "0x80060888", "Resource not found for the segment '%.100s'.", msg);
        return;
    }
    const char *close = strrchr(rest, ')');
    if (!close || close[1] != '\0') {
        dv_resp_error(p, 404, "0x80060888",
                      "Resource not found for the segment '%.100s' (navigation paths are not "
                      "emulated).",
                      rest);
        return;
    }
    row_request(c, t, rest, (size_t)(close - rest + 1), q, p);
}

void dv_webapi_exec(struct dv_ctx *c, const struct dv_req *q, struct dv_resp *p)
{
    if (c->in_changeset) {
        exec_locked(c, q, p);
        return;
    }
    pthread_mutex_lock(&c->s->mu);
    dv_keys_tick(c->s, &c->st);
    exec_locked(c, q, p);
    pthread_mutex_unlock(&c->s->mu);
}
