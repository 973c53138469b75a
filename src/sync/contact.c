/* Contacts -> contacts: columns, inactive -> deactivated, bound to their account by key (the
 * customer synced first when it is not in Dataverse), the primary contact set on the account. */
#include "internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static long long company_of(json_t *sec, json_t *ns)
{
    json_t *acc = json_object_get(sec, "account");
    char t[24];
    uint64_t u;
    if (!sync_text(sync_path_get(ns, json_string_value(json_object_get(acc, "field"))), t,
                   sizeof t) ||
        mlc_parse_u64(t, &u) != MLC_OK || u > (uint64_t)LLONG_MAX)
        return 0;
    return (long long)u;
}

void sync_contact_records(struct sync_job *j, json_t **nsrecs, size_t n)
{
    struct mlc_sync *s = j->s;
    json_t *sec = mlc_mapping_section(s->mapping, MLC_MAP_CONTACT);
    const char *nav =
        json_string_value(json_object_get(json_object_get(sec, "account"), "navigation"));
    char prop[140];
    snprintf(prop, sizeof prop, "%s@odata.bind", nav);
    struct rec *recs = mlc_calloc(n + 1, sizeof *recs);
    long long *companies = mlc_calloc(n + 1, sizeof *companies);
    bool *ok = mlc_calloc(n + 1, sizeof *ok);
    bool *wait = mlc_calloc(n + 1, sizeof *wait);
    size_t nco = 0;
    for (size_t i = 0; i < n; i++) {
        recs[i].ns = nsrecs[i];
        recs[i].id = (long long)json_integer_value(json_object_get(nsrecs[i], "id"));
    }
    if (sync_lease(j, "contact", recs, n) != MLC_OK ||
        sync_load_state(j, "contact", recs, n) != MLC_OK) {
        sync_job_error(j, true, 0, "redis", "Redis: cannot read the record states");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        long long c = company_of(sec, recs[i].ns);
        if (c > 0 && !recs[i].busy)
            companies[nco++] = c;
    }
    if (nco)
        sync_ensure_customers(j, companies, nco, ok, wait);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct rec *r = &recs[i];
        if (r->busy)
            continue;
        r->nslm = (int64_t)json_integer_value(json_object_get(r->ns, "lastModifiedMs"));
        sync_map_columns(s->mapping, sec, r);
        sync_inactive(sec, r);
        long long c = company_of(sec, r->ns);
        bool there = c > 0 && ok[k], later = c > 0 && wait[k];
        if (c > 0)
            k++;
        if (later) {
            r->busy = true; /* its customer is being synced elsewhere: this one retries */
            continue;
        }
        if (there) {
            char *b = sync_bind_key(s->mapping, MLC_MAP_CUSTOMER, c);
            json_object_set_new(r->payload, prop, b ? json_string(b) : json_null());
            free(b);
        } else if (c > 0) {
            json_t *v = json_integer(c);
            sync_exception(r, "account_not_synced", nav, v,
                           "the contact's customer is not in Dataverse (filtered out or failed)");
            json_decref(v);
        } else {
            json_object_set_new(r->payload, prop, json_null());
        }
        sync_hash(r->payload, mlc_mapping_version(s->mapping), r->hash);
        sync_decide(j, r);
    }
    sync_write_rows(j, sec, recs, n);
    sync_commit(j, "contact", json_string_value(json_object_get(sec, "table")), recs, n);
    sync_count(j, "contact", recs, n);
out:
    sync_finish(j, "contact", recs, n);
    free(companies);
    free(ok);
    free(wait);
}

void sync_contacts(struct sync_job *j, const long long *ids, size_t n)
{
    json_t *read = sync_read(j, MLC_NS_CONTACT, ids, n);
    if (!read)
        return;
    json_t **recs = mlc_calloc(n + 1, sizeof *recs);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char key[24];
        snprintf(key, sizeof key, "%lld", ids[i]);
        json_t *r = json_object_get(read, key);
        if (r)
            recs[k++] = r;
    }
    if (k)
        sync_contact_records(j, recs, k);
    /* a contact that is its company's primary contact (role -10, lowest id) */
    json_t *sec = mlc_mapping_section(j->s->mapping, MLC_MAP_CONTACT);
    for (size_t i = 0; i < k; i++)
        if (json_is_true(json_object_get(recs[i], "isPrimary")))
            sync_set_primary(j, company_of(sec, recs[i]),
                             (long long)json_integer_value(json_object_get(recs[i], "id")));
    free(recs);
    json_decref(read);
}
