/* Sync engine internals: the engine, per-worker sessions, the record being synced, and the
 * functions the kinds share (mapping, state, audit, ensure-customer). */
#ifndef MLC_SYNC_INTERNAL_H
#define MLC_SYNC_INTERNAL_H

#include "mlc/app.h"
#include "mlc/dataverse.h"
#include "mlc/mapping.h"
#include "mlc/netsuite.h"
#include "mlc/sync.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

/* A record busy in another worker is retried after this long: with the attempt limit (12) the
 * budget outlasts a lease (120 s) that a crashed holder leaves behind. */
#define BUSY_RETRY_MS 15000

struct sync_worker {
    struct mlc_ns_session *ns;
    struct mlc_dv_session *dv;
};

struct mlc_sync {
    struct mlc_app *app;
    struct mlc_mapping *mapping;
    struct mlc_netsuite *ns;
    struct mlc_dataverse *dv;
    struct sync_worker *workers; /* one per worker thread, sessions made on first use */
    unsigned nworkers;
    FILE *sink; /* MLC_AUDIT_SINK, NULL when none */
    bool sink_owned;
    pthread_mutex_t sink_mu;
    bool dry_run;
    int64_t audit_max, audit_retention_ms;
    atomic_int line_key;      /* line alternate key: 0 unknown, 1 Active, 2 not (yet) */
    atomic_llong line_key_at; /* when it was last found not Active (monotonic ms) */
};

/* Outcome of one record (also the audit action). */
enum rec_action {
    ACT_NONE = 0, /* not decided yet */
    ACT_CREATED,
    ACT_UPDATED,
    ACT_UNCHANGED,
    ACT_STALE,
    ACT_FILTERED,
    ACT_DELETED,
    ACT_MISSING, /* not in NetSuite any more (a delete event will follow) */
    ACT_FAILED,
    ACT_DEAD,
    ACT_ECHO,           /* a Dataverse event caused by our own write, dropped */
    ACT_DRIFT_REVERTED, /* a CRM edit of a NetSuite-owned column (or a delete) undone */
    ACT_DRIFT_REPORTED, /* the same, only reported (MLC_DRIFT_POLICY / MLC_CRM_DELETE_POLICY) */
};
const char *sync_action_name(enum rec_action a);

/* One record in a batch. */
struct rec {
    long long id;
    json_t *ns;      /* NetSuite record (borrowed from the read result) */
    json_t *payload; /* mapped NetSuite-owned columns and binds (owned) */
    json_t *create;  /* columns written on create only (owned) */
    json_t *exc;     /* mapping exceptions: array of {code, field, value, detail} (owned) */
    json_t *extra;   /* kind-specific data kept with the state (owned, may be NULL) */
    int64_t nslm;    /* NetSuite last-modified (UTC ms) */
    char hash[65];
    /* state loaded from Redis */
    bool have_state;
    int64_t st_nslm;
    char st_hash[65];
    char st_mv[96];
    char dvid[37];
    json_t *st; /* the whole state hash as an object (owned) */
    /* outcome */
    enum rec_action act;
    bool lease; /* taken by this job (released at its end) */
    bool busy;  /* another worker holds the record: left for a retry */
    int dv_calls;
    struct mlc_dv_err err;
};
void rec_clear(struct rec *r);

/* A job's context passed down the kinds. */
struct sync_job {
    struct mlc_sync *s;
    struct mlc_job_ctx *ctx;
    const struct mlc_job *job;
    struct sync_worker *w;
    const char *source;
    char owner[96]; /* lease owner */
    bool force;     /* bypass the no-op skip and the stale guard */
    size_t ns_calls;
    int depth;         /* ensure-customer recursion */
    bool last_attempt; /* a retryable failure now is dead-lettered by the pool */
    json_t *bad;       /* "type:id" -> {retry, after, reason, cls}: records that failed */
    /* the job's outcome so far */
    bool retry;
    bool fail;
    int64_t retry_after_ms;
    char reason[256];
    char cls[128];
};
/* Records a retryable or permanent failure on the job (the first one wins the reason). */
void sync_job_error(struct sync_job *j, bool retryable, int64_t retry_after_ms, const char *cls,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- map.c ---- */
/* A value at a dotted path of a record (borrowed, NULL when absent or null). */
json_t *sync_path_get(json_t *rec, const char *path);
/* Text of a value (string, number, bool) into out; false when absent/empty. */
bool sync_text(json_t *v, char *out, size_t outsz);
/* Maps sec's columns from r->ns into r->payload (netsuite-owned) and r->create (create-owned);
 * unknown values and truncations are appended to r->exc. */
void sync_map_columns(const struct mlc_mapping *m, json_t *sec, struct rec *r);
/* Adds a mapping exception {code, field, value, detail}. */
void sync_exception(struct rec *r, const char *code, const char *field, json_t *value,
                    const char *detail);
/* SHA-256 hex of the canonical JSON of v plus the mapping version into out. */
void sync_hash(json_t *v, const char *mapping_version, char out[65]);
/* The body to write: payload (+ create columns when create) + our mirror columns. Owned. */
json_t *sync_body(const struct rec *r, bool create, bool with_state_cols);

/* ---- state.c ---- */
/* Takes the per-record leases of recs (re-entrant for the same owner). Records whose lease is
 * held elsewhere keep lease = false. */
enum mlc_rc sync_lease(struct sync_job *j, const char *type, struct rec *recs, size_t n);
void sync_release(struct sync_job *j, const char *type, struct rec *recs, size_t n);
/* Loads the state hashes of recs. */
enum mlc_rc sync_load_state(struct sync_job *j, const char *type, struct rec *recs, size_t n);
/* Decides UNCHANGED / STALE from the state (unless forced); leaves ACT_NONE for a write. */
void sync_decide(struct sync_job *j, struct rec *r);
/* Records the outcome of every record with an action (state fields, reverse index, audit entry,
 * history, sink) in one round trip. changes: computed from the stored payload. */
enum mlc_rc sync_commit(struct sync_job *j, const char *type, const char *table, struct rec *recs,
                        size_t n);
/* Reads one state hash (owned object; empty when none). */
json_t *sync_state_get(struct sync_job *j, const char *type, long long id);
/* Sets fields of one state hash (fields: object of strings). */
enum mlc_rc sync_state_set(struct sync_job *j, const char *type, long long id, json_t *fields);
/* Reads records of ids from NetSuite in batch (counted on j); NULL after noting the failure. */
json_t *sync_read(struct sync_job *j, enum mlc_ns_type t, const long long *ids, size_t n);
/* recs[i] = {ids[i], its record in read (NULL when NetSuite has none)}. */
void sync_recs_of(json_t *read, const long long *ids, size_t n, struct rec *recs);
/* End of a batch: busy records make the job retry; leases released; recs cleared and freed. */
void sync_finish(struct sync_job *j, const char *type, struct rec *recs, size_t n);
/* Appends one audit entry outside a batch (delete, drift...). */
void sync_audit_one(struct sync_job *j, const char *type, long long id, const char *dvid,
                    enum rec_action a, json_t *exc, json_t *changes, int dv_calls);

/* ---- write.c ---- */
/* Writes the records still undecided (act NONE): one with PATCH by key (create-only first for a
 * row without a GUID), several in bulk; sets act (created/updated/failed), dvid and dv_calls. */
void sync_write_rows(struct sync_job *j, json_t *sec, struct rec *recs, size_t n);

/* ---- kinds ---- */
/* statecode/statuscode from the section's "inactive" rule (1/2 inactive, 0/1 active). */
void sync_inactive(json_t *sec, struct rec *r);
/* "/<set>(<key>='<id>')" of a kind's row (owned). */
char *sync_bind_key(const struct mlc_mapping *m, enum mlc_map_kind k, long long id);
/* Sets the account's primary contact when both rows are in Dataverse and it changed. */
void sync_set_primary(struct sync_job *j, long long customer, long long contact);
/* Syncs customers ids (their contacts and primary contact too). Outcomes are recorded; failures
 * are noted on j. */
void sync_customers(struct sync_job *j, const long long *ids, size_t n);
/* Makes sure the customers exist in Dataverse (state with a GUID), syncing those that do not.
 * ok[i] tells whether customer ids[i] is there afterwards; busy[i] (may be NULL) whether it is
 * missing for now only (held by another worker or failed), so its dependants should retry. */
void sync_ensure_customers(struct sync_job *j, const long long *ids, size_t n, bool *ok,
                           bool *busy);
/* Contacts given as records read from NetSuite (from a contact read or a customer's list). */
void sync_contact_records(struct sync_job *j, json_t **recs, size_t n);
void sync_contacts(struct sync_job *j, const long long *ids, size_t n);
void sync_orders(struct sync_job *j, const long long *ids, size_t n);
/* A Dataverse webhook (job kind "dataverse"): echoes dropped, drift reverted or reported. */
void sync_dataverse_event(struct sync_job *j, json_t *data);
/* NetSuite deletions: customer/contact deactivated, order cancelled. */
void sync_delete(struct sync_job *j, enum mlc_ns_type t, long long id);

/* Counts outcomes in mlc_sync_records_total. */
void sync_count(struct sync_job *j, const char *type, const struct rec *recs, size_t n);

/* Notes a Dataverse error of a record on the job (retryable or not). */
void sync_dv_failure(struct sync_job *j, struct rec *r, const struct mlc_dv_err *e);

#endif
