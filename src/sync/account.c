/* Customers -> accounts: filter, columns, inactive -> deactivated, parent, owner on create, their
 * contacts and the primary contact; and "make sure these customers exist" for contacts and
 * orders. */
#include "internal.h"
#include "mlc/log.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 3

static bool filtered_out(json_t *sec, json_t *ns)
{
    json_t *flt = json_object_get(sec, "filter");
    if (!flt)
        return false;
    char v[512];
    if (!sync_text(sync_path_get(ns, json_string_value(json_object_get(flt, "field"))), v,
                   sizeof v))
        return false;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(flt, "excludePrefixes"), i, x)
    {
        const char *p = json_string_value(x);
        if (strncmp(v, p, strlen(p)) == 0)
            return true;
    }
    json_array_foreach(json_object_get(flt, "excludeValues"), i, x)
    {
        if (strcmp(v, json_string_value(x)) == 0)
            return true;
    }
    return false;
}

void sync_inactive(json_t *sec, struct rec *r)
{
    json_t *ina = json_object_get(sec, "inactive");
    if (!ina)
        return;
    char v[64];
    bool off = sync_text(sync_path_get(r->ns, json_string_value(json_object_get(ina, "field"))), v,
                         sizeof v) &&
               strcmp(v, json_string_value(json_object_get(ina, "value"))) == 0;
    json_object_set_new(r->payload, "statecode", json_integer(off ? 1 : 0));
    json_object_set_new(r->payload, "statuscode", json_integer(off ? 2 : 1));
}

char *sync_bind_key(const struct mlc_mapping *m, enum mlc_map_kind k, long long id)
{
    json_t *sec = mlc_mapping_section(m, k);
    char v[24];
    snprintf(v, sizeof v, "%lld", id);
    json_t *key = json_pack("{s:s}", json_string_value(json_object_get(sec, "key")), v);
    char *out = mlc_dv_bind_key(json_string_value(json_object_get(sec, "entitySet")), key);
    json_decref(key);
    return out;
}

/* E-mail addresses of NetSuite employees (sales reps): id -> email. */
static json_t *employee_emails(struct sync_job *j, const long long *ids, size_t n)
{
    json_t *map = json_object();
    if (n == 0)
        return map;
    struct mlc_buf q;
    mlc_buf_init(&q, 1 << 20);
    mlc_buf_printf(&q, "SELECT id, email FROM employee WHERE id IN (");
    for (size_t i = 0; i < n; i++)
        mlc_buf_printf(&q, "%s%lld", i ? "," : "", ids[i]);
    mlc_buf_printf(&q, ")");
    struct mlc_ns_page pg;
    struct mlc_ns_err e;
    if (mlc_ns_suiteql_page(j->w->ns, q.data, 1000, 0, &pg, &e) == MLC_OK) {
        j->ns_calls++;
        size_t i;
        json_t *row;
        json_array_foreach(pg.items, i, row)
        {
            char id[24];
            const char *mail = mlc_ns_row_str(row, "email");
            if (mlc_ns_row_text(row, "id", id, sizeof id) && mail)
                json_object_set_new(map, id, json_string(mail));
        }
        mlc_ns_page_free(&pg);
    } else {
        mlc_log(MLC_LOG_WARN, "sync: cannot read sales rep e-mails: %s", e.msg);
    }
    mlc_buf_free(&q);
    return map;
}

/* Owner on create: the sales rep's Dataverse user by e-mail, else the subsidiary's team. */
static void set_owners(struct sync_job *j, json_t *sec, struct rec *recs, size_t n)
{
    json_t *own = json_object_get(sec, "owner");
    if (!own)
        return;
    const char *rep_f = json_string_value(json_object_get(own, "salesRepField"));
    const char *sub_f = json_string_value(json_object_get(own, "subsidiaryField"));
    long long *reps = mlc_calloc(n + 1, sizeof *reps);
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        char v[24];
        uint64_t u;
        if (recs[i].act != ACT_NONE || recs[i].dvid[0] || !rep_f ||
            !sync_text(sync_path_get(recs[i].ns, rep_f), v, sizeof v) ||
            mlc_parse_u64(v, &u) != MLC_OK)
            continue;
        bool dup = false;
        for (size_t x = 0; x < nr; x++)
            dup |= reps[x] == (long long)u;
        if (!dup)
            reps[nr++] = (long long)u;
    }
    json_t *mails = employee_emails(j, reps, nr);
    free(reps);
    for (size_t i = 0; i < n; i++) {
        struct rec *r = &recs[i];
        if (r->act != ACT_NONE || r->dvid[0])
            continue;
        char v[512], guid[37], bind[80];
        struct mlc_dv_err e;
        bool done = false;
        if (rep_f && sync_text(sync_path_get(r->ns, rep_f), v, sizeof v)) {
            const char *mail = json_string_value(json_object_get(mails, v));
            if (mail && mlc_dv_user_by_email(j->w->dv, mail, guid, &e) == MLC_OK) {
                mlc_dv_bind_id("systemusers", guid, bind, sizeof bind);
                json_object_set_new(r->create, "ownerid@odata.bind", json_string(bind));
                done = true;
            } else if (mail) {
                json_t *m = json_string(mail);
                sync_exception(r, "owner_user_not_found", "ownerid", m,
                               "no Dataverse user with the sales rep's e-mail");
                json_decref(m);
            }
        }
        if (!done && sub_f && sync_text(sync_path_get(r->ns, sub_f), v, sizeof v)) {
            const char *team = json_string_value(json_object_get(json_object_get(own, "teams"), v));
            if (team && mlc_dv_team_by_name(j->w->dv, team, guid, &e) == MLC_OK) {
                mlc_dv_bind_id("teams", guid, bind, sizeof bind);
                json_object_set_new(r->create, "ownerid@odata.bind", json_string(bind));
            } else {
                json_t *s = json_string(v);
                sync_exception(r, "owner_team_not_found", "ownerid", s,
                               team ? "the subsidiary's team is not in Dataverse"
                                    : "no team mapped for the subsidiary");
                json_decref(s);
            }
        }
    }
    json_decref(mails);
}

static long long id_of(json_t *v)
{
    char t[24];
    uint64_t u;
    if (!sync_text(v, t, sizeof t) || mlc_parse_u64(t, &u) != MLC_OK || u > (uint64_t)LLONG_MAX)
        return 0;
    return (long long)u;
}

void sync_ensure_customers(struct sync_job *j, const long long *ids, size_t n, bool *ok, bool *busy)
{
    struct rec *st = mlc_calloc(n + 1, sizeof *st);
    for (size_t i = 0; i < n; i++)
        st[i].id = ids[i];
    long long *missing = mlc_calloc(n + 1, sizeof *missing);
    size_t nm = 0;
    if (sync_load_state(j, "customer", st, n) == MLC_OK) {
        for (size_t i = 0; i < n; i++) {
            ok[i] = st[i].dvid[0] != '\0';
            if (!ok[i])
                missing[nm++] = ids[i];
        }
    }
    if (nm && j->s->dry_run) {
        /* dry run: nothing gets created, so a missing customer counts as there (bound by key, as
         * the real run binds it); its own record lists it as a would-create */
        for (size_t i = 0; i < n; i++)
            ok[i] = true;
        nm = 0;
    }
    if (nm && j->depth < MAX_DEPTH) {
        j->depth++;
        sync_customers(j, missing, nm);
        j->depth--;
        for (size_t i = 0; i < n; i++)
            rec_clear(&st[i]), st[i].id = ids[i];
        if (sync_load_state(j, "customer", st, n) == MLC_OK)
            for (size_t i = 0; i < n; i++)
                ok[i] = st[i].dvid[0] != '\0';
    }
    /* a customer that is neither there nor left out on purpose is busy in another worker or
     * failed for now: its dependants wait for it (a retry) instead of going without */
    if (busy) {
        for (size_t i = 0; i < n; i++)
            busy[i] = !ok[i] && !json_object_get(st[i].st, "filtered") &&
                      !json_object_get(st[i].st, "missing") && st[i].have_state == false;
    }
    for (size_t i = 0; i < n; i++)
        rec_clear(&st[i]);
    free(st);
    free(missing);
}

/* Parent customers: bound by key when they are in Dataverse (synced first when not). */
static void bind_parents(struct sync_job *j, json_t *sec, struct rec *recs, size_t n)
{
    json_t *par = json_object_get(sec, "parent");
    if (!par)
        return;
    const char *field = json_string_value(json_object_get(par, "field"));
    const char *nav = json_string_value(json_object_get(par, "navigation"));
    char prop[140];
    snprintf(prop, sizeof prop, "%s@odata.bind", nav);
    long long *pids = mlc_calloc(n + 1, sizeof *pids);
    bool *ok = mlc_calloc(n + 1, sizeof *ok);
    bool *busy = mlc_calloc(n + 1, sizeof *busy);
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        long long p = recs[i].act == ACT_NONE ? id_of(sync_path_get(recs[i].ns, field)) : 0;
        if (p > 0 && p != recs[i].id)
            pids[np++] = p;
    }
    if (np)
        sync_ensure_customers(j, pids, np, ok, busy);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct rec *r = &recs[i];
        if (r->act != ACT_NONE)
            continue;
        long long p = id_of(sync_path_get(r->ns, field));
        if (p <= 0 || p == r->id) {
            json_object_set_new(r->payload, prop, json_null());
            continue;
        }
        bool there = ok[k], wait = busy[k];
        k++;
        if (there) {
            char *b = sync_bind_key(j->s->mapping, MLC_MAP_CUSTOMER, p);
            json_object_set_new(r->payload, prop, b ? json_string(b) : json_null());
            free(b);
        } else if (wait) {
            r->busy = true; /* the parent is being synced elsewhere: this one retries */
        } else {
            json_t *v = json_integer(p);
            sync_exception(r, "parent_not_synced", nav, v,
                           "the parent customer is not in Dataverse (filtered out or failed)");
            json_decref(v);
        }
    }
    free(pids);
    free(ok);
    free(busy);
}

/* Sets the account's primary contact when it is in Dataverse and differs from the last one set. */
void sync_set_primary(struct sync_job *j, long long customer, long long contact)
{
    json_t *sec = mlc_mapping_section(j->s->mapping, MLC_MAP_CUSTOMER);
    json_t *pcs = json_object_get(sec, "primaryContact");
    if (!pcs || contact <= 0)
        return;
    json_t *cst = sync_state_get(j, "customer", customer);
    json_t *kst = sync_state_get(j, "contact", contact);
    char want[24];
    snprintf(want, sizeof want, "%lld", contact);
    const char *pc = json_string_value(json_object_get(cst, "pc"));
    const char *adv = json_string_value(json_object_get(cst, "dvid"));
    const char *kdv = json_string_value(json_object_get(kst, "dvid"));
    if (j->s->dry_run) {
        /* dry run: the PATCH the real run makes once both rows exist (audited, not sent) */
        if (!pc || strcmp(pc, want) != 0) {
            json_t *ch =
                json_pack("{s:{s:s?, s:s}}", "primarycontactid", "before", pc, "after", want);
            sync_audit_one(j, "customer", customer, adv, ACT_UPDATED, NULL, ch, 0);
            json_decref(ch);
        }
    } else if (adv && kdv && (!pc || strcmp(pc, want) != 0)) {
        char prop[140], bind[80];
        snprintf(prop, sizeof prop, "%s@odata.bind",
                 json_string_value(json_object_get(pcs, "navigation")));
        mlc_dv_bind_id(json_string_value(json_object_get(
                           mlc_mapping_section(j->s->mapping, MLC_MAP_CONTACT), "entitySet")),
                       kdv, bind, sizeof bind);
        json_t *body = json_pack("{s:s}", prop, bind);
        struct mlc_dv_err e;
        const char *set = json_string_value(json_object_get(sec, "entitySet"));
        if (mlc_dv_write_id(j->w->dv, set, adv, body, MLC_DV_UPDATE_ONLY, &e) == MLC_OK) {
            json_t *f = json_pack("{s:s}", "pc", want);
            sync_state_set(j, "customer", customer, f);
            json_decref(f);
            json_t *ch =
                json_pack("{s:{s:s?, s:s}}", "primarycontactid", "before", pc, "after", want);
            sync_audit_one(j, "customer", customer, adv, ACT_UPDATED, NULL, ch, 1);
            json_decref(ch);
        } else if (e.retryable) {
            sync_job_error(j, true, e.retry_after_ms, e.cls, "Dataverse: %s", e.msg);
        } else {
            mlc_log(MLC_LOG_WARN, "sync: cannot set the primary contact of customer %lld: %s",
                    customer, e.msg);
        }
        json_decref(body);
    }
    json_decref(cst);
    json_decref(kst);
}

void sync_customers(struct sync_job *j, const long long *ids, size_t n)
{
    struct mlc_sync *s = j->s;
    json_t *sec = mlc_mapping_section(s->mapping, MLC_MAP_CUSTOMER);
    json_t *read = sync_read(j, MLC_NS_CUSTOMER, ids, n);
    if (!read)
        return;
    struct rec *recs = mlc_calloc(n + 1, sizeof *recs);
    sync_recs_of(read, ids, n, recs);
    if (sync_lease(j, "customer", recs, n) != MLC_OK ||
        sync_load_state(j, "customer", recs, n) != MLC_OK) {
        sync_job_error(j, true, 0, "redis", "Redis: cannot read the record states");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct rec *r = &recs[i];
        if (r->busy)
            continue;
        if (!r->ns) {
            r->act = ACT_MISSING;
            continue;
        }
        r->nslm = (int64_t)json_integer_value(json_object_get(r->ns, "lastModifiedMs"));
        if (filtered_out(sec, r->ns)) {
            r->payload = json_object();
            sync_hash(r->payload, mlc_mapping_version(s->mapping), r->hash);
            r->act = ACT_FILTERED;
            continue;
        }
        sync_map_columns(s->mapping, sec, r);
        sync_inactive(sec, r);
    }
    bind_parents(j, sec, recs, n);
    for (size_t i = 0; i < n; i++) {
        struct rec *r = &recs[i];
        if (r->act != ACT_NONE || r->busy)
            continue;
        sync_hash(r->payload, mlc_mapping_version(s->mapping), r->hash);
        sync_decide(j, r);
    }
    set_owners(j, sec, recs, n);
    sync_write_rows(j, sec, recs, n);
    sync_commit(j, "customer", json_string_value(json_object_get(sec, "table")), recs, n);
    sync_count(j, "customer", recs, n);

    /* contacts of the customers just written, then the primary contacts */
    json_t **contacts = NULL;
    size_t nc = 0, cap = 0;
    for (size_t i = 0; i < n; i++) {
        struct rec *r = &recs[i];
        if (r->act != ACT_CREATED && r->act != ACT_UPDATED)
            continue;
        size_t x;
        json_t *c;
        json_array_foreach(json_object_get(r->ns, "contacts"), x, c)
        {
            if (nc == cap) {
                cap = cap ? cap * 2 : 64;
                contacts = mlc_realloc(contacts, cap * sizeof *contacts);
            }
            json_object_set_new(c, "company", json_integer((json_int_t)r->id));
            contacts[nc++] = c;
        }
    }
    if (nc)
        sync_contact_records(j, contacts, nc);
    free(contacts);
    for (size_t i = 0; i < n; i++) {
        struct rec *r = &recs[i];
        if (r->act == ACT_CREATED || r->act == ACT_UPDATED || r->act == ACT_UNCHANGED)
            sync_set_primary(j, r->id, id_of(json_object_get(r->ns, "primaryContactId")));
    }
out:
    sync_finish(j, "customer", recs, n);
    json_decref(read);
}
