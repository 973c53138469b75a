/* Unit tests: NetSuite event validation table and Dataverse RemoteExecutionContext parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mlc/ingest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DV_SAMPLE MLC_SAMPLES_DIR "/dataverse-webhook-account-update.json"

/* --- NetSuite ------------------------------------------------------------------------------ */

enum { F_EVENT_ID, F_EVENT_TYPE, F_RECORD_TYPE, F_RECORD_ID, F_OCCURRED_AT, F_ACCOUNT_ID, F_N };
static const char *const field_names[F_N] = {"eventId",  "eventType",  "recordType",
                                             "recordId", "occurredAt", "accountId"};
static const char *const field_defaults[F_N] = {
    "\"evt-0001\"",   "\"edit\"", "\"customer\"", "\"4211\"", "\"2026-12-03T18:00:00Z\"",
    "\"1234567_SB1\""};

#define OMIT ((const char *)1)

/* One event as JSON text: every field at its default except `field`, which gets the raw JSON
 * text `raw` (OMIT leaves it out). field < 0 gives the default event. */
static void event_text(int field, const char *raw, const char *event_id, char *out, size_t outsz)
{
    size_t len = 0;
    len += (size_t)snprintf(out + len, outsz - len, "{");
    bool first = true;
    for (int f = 0; f < F_N; f++) {
        const char *v = f == field ? raw : field_defaults[f];
        char idbuf[160];
        if (f == F_EVENT_ID && f != field && event_id) {
            snprintf(idbuf, sizeof idbuf, "\"%s\"", event_id);
            v = idbuf;
        }
        if (v == OMIT)
            continue;
        len += (size_t)snprintf(out + len, outsz - len, "%s\"%s\":%s", first ? "" : ",",
                                field_names[f], v);
        first = false;
    }
    snprintf(out + len, outsz - len, "}");
    assert_true(len + 1 < outsz);
}

struct ns_result {
    enum mlc_rc rc;
    const char *problem;
    char detail[256];
    size_t n;
    struct mlc_ns_event ev[MLC_NS_MAX_EVENTS];
};

static struct ns_result *ns_parse(const char *body, size_t len, const char *account)
{
    struct ns_result *r = calloc(1, sizeof *r);
    r->problem = "unset";
    r->n = 999;
    r->rc = mlc_ingest_netsuite_parse(body, len, account, r->ev, &r->n, &r->problem, r->detail,
                                      sizeof r->detail);
    return r;
}

static void test_netsuite_valid(void **state)
{
    char body[1024];
    event_text(-1, NULL, NULL, body, sizeof body);
    struct ns_result *r = ns_parse(body, strlen(body), NULL);
    assert_int_equal(r->rc, MLC_OK);
    assert_int_equal(r->n, 1);
    assert_string_equal(r->ev[0].event_id, "evt-0001");
    assert_string_equal(r->ev[0].event_type, "edit");
    assert_string_equal(r->ev[0].record_type, "customer");
    assert_string_equal(r->ev[0].record_id, "4211");
    assert_string_equal(r->ev[0].occurred_at, "2026-12-03T18:00:00Z");
    assert_false(r->ev[0].ignored);
    assert_false(r->ev[0].is_delete);
    free(r);

    /* the length is honoured: the body need not be NUL-terminated */
    char padded[1100];
    size_t bl = strlen(body);
    memcpy(padded, body, bl);
    memcpy(padded + bl, "GARBAGE", 7);
    r = ns_parse(padded, bl, NULL);
    assert_int_equal(r->rc, MLC_OK);
    free(r);
    r = ns_parse(padded, bl + 7, NULL);
    assert_int_equal(r->rc, MLC_EINVAL);
    assert_string_equal(r->problem, "invalid_json");
    free(r);
}

/* The rule table: one field changed from a valid event. */
static void test_netsuite_rules(void **state)
{
    static const char long32[] = "\"abcdefghijklmnopqrstuvwxyzabcdef\"";
    static const char long33[] = "\"abcdefghijklmnopqrstuvwxyzabcdefg\"";
    char id128[131], id129[132], rt65[68];
    id128[0] = id129[0] = rt65[0] = '"';
    memset(id128 + 1, 'x', 128);
    memcpy(id128 + 129, "\"", 2);
    memset(id129 + 1, 'x', 129);
    memcpy(id129 + 130, "\"", 2);
    memset(rt65 + 1, 'r', 65);
    memcpy(rt65 + 66, "\"", 2);

    const struct {
        int field;
        const char *raw;
        const char *account; /* configured MLC_NETSUITE_ACCOUNT_ID */
        const char *problem; /* NULL: valid */
        const char *want;    /* valid: the parsed value of the field; invalid: unused */
        bool ignored, is_delete;
    } cases[] = {
        /* eventType: any lower-case token of at most 32 characters; delete = deletion */
        {F_EVENT_TYPE, "\"create\"", NULL, NULL, "create", false, false},
        {F_EVENT_TYPE, "\"xedit\"", NULL, NULL, "xedit", false, false},
        {F_EVENT_TYPE, "\"delete\"", NULL, NULL, "delete", false, true},
        {F_EVENT_TYPE, "\"approve\"", NULL, NULL, "approve", false, false},
        {F_EVENT_TYPE, "\"mark_shipped\"", NULL, NULL, "mark_shipped", false, false},
        {F_EVENT_TYPE, "\"a\"", NULL, NULL, "a", false, false},
        {F_EVENT_TYPE, long32, NULL, NULL, "abcdefghijklmnopqrstuvwxyzabcdef", false, false},
        {F_EVENT_TYPE, long33, NULL, "invalid_field", NULL, false, false},
        {F_EVENT_TYPE, "\"Edit\"", NULL, "invalid_field", NULL, false, false},
        {F_EVENT_TYPE, "\"DELETE\"", NULL, "invalid_field", NULL, false, false},
        {F_EVENT_TYPE, "\"deleted\"", NULL, NULL, "deleted", false, false},
        {F_EVENT_TYPE, "\"\"", NULL, "invalid_field", NULL, false, false},
        {F_EVENT_TYPE, "\"ed it\"", NULL, "invalid_field", NULL, false, false},
        {F_EVENT_TYPE, "\"edit!\"", NULL, "invalid_field", NULL, false, false},
        {F_EVENT_TYPE, "\"\\u00e9dit\"", NULL, "invalid_field", NULL, false, false},
        {F_EVENT_TYPE, "\"edit\\n\"", NULL, "invalid_field", NULL, false, false},
        {F_EVENT_TYPE, "42", NULL, "invalid_field", NULL, false, false},
        {F_EVENT_TYPE, "null", NULL, "invalid_field", NULL, false, false},
        {F_EVENT_TYPE, "[\"edit\"]", NULL, "invalid_field", NULL, false, false},
        {F_EVENT_TYPE, OMIT, NULL, "invalid_field", NULL, false, false},
        /* recordType: customer|contact|salesorder, anything else is ignored (not an error) */
        {F_RECORD_TYPE, "\"customer\"", NULL, NULL, "customer", false, false},
        {F_RECORD_TYPE, "\"contact\"", NULL, NULL, "contact", false, false},
        {F_RECORD_TYPE, "\"salesorder\"", NULL, NULL, "salesorder", false, false},
        {F_RECORD_TYPE, "\"invoice\"", NULL, NULL, "", true, false},
        {F_RECORD_TYPE, "\"vendor\"", NULL, NULL, "", true, false},
        {F_RECORD_TYPE, "\"customrecord_x\"", NULL, NULL, "", true, false},
        {F_RECORD_TYPE, "\"sales order\"", NULL, NULL, "", true, false},
        {F_RECORD_TYPE, "\"\"", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_TYPE, rt65, NULL, "invalid_field", NULL, false, false},
        {F_RECORD_TYPE, "\"cust\\u0000omer\"", NULL, "invalid_json", NULL, false, false},
        {F_RECORD_TYPE, "\"customer\\t\"", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_TYPE, "7", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_TYPE, "null", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_TYPE, OMIT, NULL, "invalid_field", NULL, false, false},
        /* recordId: digits, as a string or a positive integer */
        {F_RECORD_ID, "\"4211\"", NULL, NULL, "4211", false, false},
        {F_RECORD_ID, "4211", NULL, NULL, "4211", false, false},
        {F_RECORD_ID, "\"1\"", NULL, NULL, "1", false, false},
        {F_RECORD_ID, "\"000042\"", NULL, NULL, "42", false, false},
        {F_RECORD_ID, "\"18446744073709551615\"", NULL, NULL, "18446744073709551615", false, false},
        {F_RECORD_ID, "9223372036854775807", NULL, NULL, "9223372036854775807", false, false},
        {F_RECORD_ID, "\"18446744073709551616\"", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "\"000000000000000000042\"", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "\"0\"", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "0", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "-5", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "\"-5\"", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "\"+5\"", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "\" 5\"", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "\"5 \"", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "\"12a\"", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "\"0x1f\"", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "\"1.5\"", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "1.5", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "4211.0", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "1e3", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "\"\"", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "true", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, "null", NULL, "invalid_field", NULL, false, false},
        {F_RECORD_ID, OMIT, NULL, "invalid_field", NULL, false, false},
        /* eventId: 1 to 128 printable ASCII characters */
        {F_EVENT_ID, "\"a\"", NULL, NULL, "a", false, false},
        {F_EVENT_ID, "\"with space ~!@#$%^&*()\"", NULL, NULL, "with space ~!@#$%^&*()", false,
         false},
        {F_EVENT_ID, id128, NULL, NULL, NULL, false, false},
        {F_EVENT_ID, id129, NULL, "invalid_field", NULL, false, false},
        {F_EVENT_ID, "\"\"", NULL, "invalid_field", NULL, false, false},
        {F_EVENT_ID, "\"tab\\there\"", NULL, "invalid_field", NULL, false, false},
        {F_EVENT_ID, "\"del\\u007f\"", NULL, "invalid_field", NULL, false, false},
        {F_EVENT_ID, "\"caf\\u00e9\"", NULL, "invalid_field", NULL, false, false},
        {F_EVENT_ID, "\"nul\\u0000\"", NULL, "invalid_json", NULL, false, false},
        {F_EVENT_ID, "42", NULL, "invalid_field", NULL, false, false},
        {F_EVENT_ID, OMIT, NULL, "invalid_field", NULL, false, false},
        /* occurredAt: RFC 3339 with an offset */
        {F_OCCURRED_AT, "\"2026-12-03T18:00:00+01:00\"", NULL, NULL, "2026-12-03T18:00:00+01:00",
         false, false},
        {F_OCCURRED_AT, "\"2026-12-03T18:00:00.123456Z\"", NULL, NULL,
         "2026-12-03T18:00:00.123456Z", false, false},
        {F_OCCURRED_AT, "\"2026-12-03T18:00:00\"", NULL, "invalid_field", NULL, false, false},
        {F_OCCURRED_AT, "\"2026-12-03\"", NULL, "invalid_field", NULL, false, false},
        {F_OCCURRED_AT, "\"2026-02-30T00:00:00Z\"", NULL, "invalid_field", NULL, false, false},
        {F_OCCURRED_AT, "\"12/3/2026 6:00 pm\"", NULL, "invalid_field", NULL, false, false},
        {F_OCCURRED_AT, "\"yesterday\"", NULL, "invalid_field", NULL, false, false},
        {F_OCCURRED_AT, "1796320800", NULL, "invalid_field", NULL, false, false},
        {F_OCCURRED_AT, OMIT, NULL, "invalid_field", NULL, false, false},
        /* accountId: equal to MLC_NETSUITE_ACCOUNT_ID (case and -/_ insensitive) when set */
        {F_ACCOUNT_ID, "\"1234567_SB1\"", NULL, NULL, NULL, false, false},
        {F_ACCOUNT_ID, "\"7654321\"", NULL, NULL, NULL, false, false},
        {F_ACCOUNT_ID, "\"7654321\"", "", NULL, NULL, false, false},
        {F_ACCOUNT_ID, "\"1234567_SB1\"", "1234567_SB1", NULL, NULL, false, false},
        {F_ACCOUNT_ID, "\"1234567-sb1\"", "1234567_SB1", NULL, NULL, false, false},
        {F_ACCOUNT_ID, "\"1234567_sb1\"", "1234567-SB1", NULL, NULL, false, false},
        {F_ACCOUNT_ID, "\"1234567\"", "1234567", NULL, NULL, false, false},
        {F_ACCOUNT_ID, "\"1234567_SB2\"", "1234567_SB1", "wrong_account", NULL, false, false},
        {F_ACCOUNT_ID, "\"1234567\"", "1234567_SB1", "wrong_account", NULL, false, false},
        {F_ACCOUNT_ID, "\"1234567_SB1\"", "1234567", "wrong_account", NULL, false, false},
        {F_ACCOUNT_ID, "\"1234567_SB\"", "1234567_SB1", "wrong_account", NULL, false, false},
        {F_ACCOUNT_ID, "\"7654321\"", "1234567", "wrong_account", NULL, false, false},
        {F_ACCOUNT_ID, "\"\"", NULL, "invalid_field", NULL, false, false},
        {F_ACCOUNT_ID, "\"1234 567\"", NULL, "invalid_field", NULL, false, false},
        {F_ACCOUNT_ID, "1234567", NULL, "invalid_field", NULL, false, false},
        {F_ACCOUNT_ID, OMIT, "1234567", "invalid_field", NULL, false, false},
        {F_ACCOUNT_ID, OMIT, NULL, "invalid_field", NULL, false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[1024];
        const char *fname = field_names[cases[i].field];
        event_text(cases[i].field, cases[i].raw, NULL, body, sizeof body);
        struct ns_result *r = ns_parse(body, strlen(body), cases[i].account);
        if (!cases[i].problem) {
            if (r->rc != MLC_OK || r->n != 1)
                fail_msg("case %zu %s=%s: rc %d (%s: %s)", i, fname,
                         cases[i].raw == OMIT ? "(omitted)" : cases[i].raw, r->rc, r->problem,
                         r->detail);
            const struct mlc_ns_event *e = &r->ev[0];
            const char *got = cases[i].field == F_EVENT_ID      ? e->event_id
                              : cases[i].field == F_EVENT_TYPE  ? e->event_type
                              : cases[i].field == F_RECORD_TYPE ? e->record_type
                              : cases[i].field == F_RECORD_ID   ? e->record_id
                              : cases[i].field == F_OCCURRED_AT ? e->occurred_at
                                                                : NULL;
            if (cases[i].want && strcmp(got, cases[i].want) != 0)
                fail_msg("case %zu: %s parsed as '%s', want '%s'", i, fname, got, cases[i].want);
            if (e->ignored != cases[i].ignored || e->is_delete != cases[i].is_delete)
                fail_msg("case %zu: ignored %d is_delete %d", i, e->ignored, e->is_delete);
        } else {
            enum mlc_rc want =
                strcmp(cases[i].problem, "wrong_account") == 0 ? MLC_ERR : MLC_EINVAL;
            if (r->rc != want || strcmp(r->problem, cases[i].problem) != 0)
                fail_msg("case %zu %s=%s: rc %d problem %s, want %d %s (%s)", i, fname,
                         cases[i].raw == OMIT ? "(omitted)" : cases[i].raw, r->rc, r->problem, want,
                         cases[i].problem, r->detail);
            assert_int_equal(r->n, 0);
            /* the detail names the field */
            char where[64];
            snprintf(where, sizeof where, "event.%s", fname);
            if (strcmp(cases[i].problem, "invalid_json") != 0 && !strstr(r->detail, where))
                fail_msg("case %zu: detail '%s' does not name %s", i, r->detail, where);
        }
        free(r);
    }
}

/* Body shape: the root, JSON syntax, duplicate keys. */
static void test_netsuite_body_shape(void **state)
{
    char ev[1024];
    event_text(-1, NULL, NULL, ev, sizeof ev);
    char dup_inner[1100], dup_events[2300], nested_dup[1200];
    snprintf(dup_inner, sizeof dup_inner, "{\"eventId\":\"evt-0009\",%s", ev + 1);
    snprintf(dup_events, sizeof dup_events, "{\"events\":[%s],\"events\":[%s]}", ev, ev);
    snprintf(nested_dup, sizeof nested_dup, "{\"events\":[%s]}", dup_inner);
    char trailing[1100];
    snprintf(trailing, sizeof trailing, "%s x", ev);
    char extra_field[1100];
    snprintf(extra_field, sizeof extra_field, "{\"extra\":{\"a\":[1,2]},%s", ev + 1);
    const struct {
        const char *body, *problem, *detail;
    } cases[] = {
        {"", "invalid_json", NULL},
        {"not json", "invalid_json", NULL},
        {"{", "invalid_json", NULL},
        {"\"a string\"", "invalid_json", NULL},
        {"42", "invalid_json", NULL},
        {trailing, "invalid_json", NULL},
        {dup_inner, "invalid_json", "duplicate"},
        {dup_events, "invalid_json", "duplicate"},
        {nested_dup, "invalid_json", "duplicate"},
        {"[]", "invalid_field", "event object"},
        {"[{}]", "invalid_field", "event object"},
        {"{}", "invalid_field", "event.eventId"},
        {"{\"events\":[]}", "invalid_field", "events must be an array of 1 to 100"},
        {"{\"events\":{}}", "invalid_field", "events must be an array"},
        {"{\"events\":null}", "invalid_field", "events must be an array"},
        {"{\"events\":\"x\"}", "invalid_field", "events must be an array"},
        {"{\"events\":[5]}", "invalid_field", "events[0] must be an object"},
        {"{\"events\":[[]]}", "invalid_field", "events[0] must be an object"},
        {extra_field, NULL, NULL}, /* unknown fields are tolerated */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ns_result *r = ns_parse(cases[i].body, strlen(cases[i].body), NULL);
        if (!cases[i].problem) {
            if (r->rc != MLC_OK)
                fail_msg("case %zu: %s", i, r->detail);
            free(r);
            continue;
        }
        if (r->rc != MLC_EINVAL || strcmp(r->problem, cases[i].problem) != 0)
            fail_msg("case %zu (%.40s): rc %d problem %s (%s), want %s", i, cases[i].body, r->rc,
                     r->problem, r->detail, cases[i].problem);
        if (cases[i].detail && !strstr(r->detail, cases[i].detail))
            fail_msg("case %zu: detail '%s' lacks '%s'", i, r->detail, cases[i].detail);
        assert_int_equal(r->n, 0);
        free(r);
    }
}

/* A batch of n events; event `bad` (if < n) gets raw for field. */
static char *batch_text(size_t n, size_t bad, int field, const char *raw)
{
    size_t cap = 64 + n * 400;
    char *out = malloc(cap);
    size_t len = (size_t)snprintf(out, cap, "{\"events\":[");
    for (size_t i = 0; i < n; i++) {
        char id[32], ev[1024];
        snprintf(id, sizeof id, "evt-%04zu", i);
        event_text(i == bad ? field : -1, raw, id, ev, sizeof ev);
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", ev);
    }
    snprintf(out + len, cap - len, "]}");
    assert_true(len + 3 < cap);
    return out;
}

static void test_netsuite_batch(void **state)
{
    /* 1 and 100 events are accepted, in order */
    for (size_t n = 1; n <= 100; n += 99) {
        char *b = batch_text(n, SIZE_MAX, -1, NULL);
        struct ns_result *r = ns_parse(b, strlen(b), "1234567-sb1");
        assert_int_equal(r->rc, MLC_OK);
        assert_int_equal(r->n, n);
        char id[32];
        snprintf(id, sizeof id, "evt-%04zu", n - 1);
        assert_string_equal(r->ev[n - 1].event_id, id);
        assert_string_equal(r->ev[n - 1].record_id, "4211");
        free(r);
        free(b);
    }
    /* 101 events are too many */
    char *b = batch_text(101, SIZE_MAX, -1, NULL);
    struct ns_result *r = ns_parse(b, strlen(b), NULL);
    assert_int_equal(r->rc, MLC_EINVAL);
    assert_string_equal(r->problem, "invalid_field");
    assert_non_null(strstr(r->detail, "1 to 100"));
    assert_int_equal(r->n, 0);
    free(r);
    free(b);

    /* one bad event rejects the whole batch, and the detail names it */
    const struct {
        size_t n, bad;
        int field;
        const char *raw, *account, *problem, *detail;
    } cases[] = {
        {5, 3, F_RECORD_ID, "\"abc\"", NULL, "invalid_field", "events[3].recordId"},
        {5, 0, F_EVENT_TYPE, "\"Edit\"", NULL, "invalid_field", "events[0].eventType"},
        {5, 4, F_OCCURRED_AT, "\"soon\"", NULL, "invalid_field", "events[4].occurredAt"},
        {100, 99, F_EVENT_ID, "\"\"", NULL, "invalid_field", "events[99].eventId"},
        {12, 11, F_RECORD_TYPE, "5", NULL, "invalid_field", "events[11].recordType"},
        {5, 2, F_ACCOUNT_ID, "\"9999999\"", "1234567_SB1", "wrong_account", "events[2].accountId"},
        {5, 2, F_ACCOUNT_ID, OMIT, NULL, "invalid_field", "events[2].accountId"},
        {3, 1, F_RECORD_ID, "[1]", NULL, "invalid_field", "events[1].recordId"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        b = batch_text(cases[i].n, cases[i].bad, cases[i].field, cases[i].raw);
        r = ns_parse(b, strlen(b), cases[i].account);
        enum mlc_rc want = strcmp(cases[i].problem, "wrong_account") == 0 ? MLC_ERR : MLC_EINVAL;
        if (r->rc != want || strcmp(r->problem, cases[i].problem) != 0 ||
            !strstr(r->detail, cases[i].detail))
            fail_msg("case %zu: rc %d %s '%s', want %s '%s'", i, r->rc, r->problem, r->detail,
                     cases[i].problem, cases[i].detail);
        assert_int_equal(r->n, 0);
        free(r);
        free(b);
    }

    /* the first bad event is the one reported */
    char ev0[1024], ev1[1024], ev2[1024], body[4096];
    event_text(-1, NULL, "a", ev0, sizeof ev0);
    event_text(F_EVENT_TYPE, "\"X\"", "b", ev1, sizeof ev1);
    event_text(F_RECORD_ID, "\"x\"", "c", ev2, sizeof ev2);
    snprintf(body, sizeof body, "{\"events\":[%s,%s,%s]}", ev0, ev1, ev2);
    r = ns_parse(body, strlen(body), NULL);
    assert_int_equal(r->rc, MLC_EINVAL);
    assert_non_null(strstr(r->detail, "events[1].eventType"));
    free(r);

    /* ignored record types and deletions inside a batch */
    event_text(F_RECORD_TYPE, "\"invoice\"", "a", ev0, sizeof ev0);
    event_text(F_EVENT_TYPE, "\"delete\"", "b", ev1, sizeof ev1);
    event_text(F_RECORD_TYPE, "\"salesorder\"", "c", ev2, sizeof ev2);
    snprintf(body, sizeof body, "{\"events\":[%s,%s,%s]}", ev0, ev1, ev2);
    r = ns_parse(body, strlen(body), NULL);
    assert_int_equal(r->rc, MLC_OK);
    assert_int_equal(r->n, 3);
    assert_true(r->ev[0].ignored);
    assert_string_equal(r->ev[0].record_type, "");
    assert_false(r->ev[1].ignored);
    assert_true(r->ev[1].is_delete);
    assert_string_equal(r->ev[2].record_type, "salesorder");
    assert_false(r->ev[2].is_delete);
    free(r);
}

/* --- Dataverse ----------------------------------------------------------------------------- */

static json_t *dv_sample(void)
{
    json_error_t jerr;
    json_t *j = json_load_file(DV_SAMPLE, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        fail_msg("%s: %s", DV_SAMPLE, jerr.text);
    return j;
}

struct dv_result {
    enum mlc_rc rc;
    const char *problem;
    char detail[256];
    struct mlc_dv_event ev;
    json_t *norm;
};

static void dv_parse_json(json_t *ctx, struct dv_result *r)
{
    char *body = json_dumps(ctx, JSON_COMPACT);
    assert_non_null(body);
    r->problem = "unset";
    r->detail[0] = '\0';
    r->norm = NULL;
    r->rc = mlc_ingest_dataverse_parse(body, strlen(body), &r->ev, &r->norm, &r->problem, r->detail,
                                       sizeof r->detail);
    free(body);
}

static const char *jstr(json_t *root, const char *path)
{
    /* "a.b.c" through objects */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, tok);
    if (!json_is_string(cur))
        fail_msg("%s is not a string in the normalized form", path);
    return json_string_value(cur);
}

static void test_dataverse_sample(void **state)
{
    /* the raw file bytes, exactly as Dataverse sends them (with its \/ escapes) */
    FILE *f = fopen(DV_SAMPLE, "rb");
    assert_non_null(f);
    char raw[16384];
    size_t len = fread(raw, 1, sizeof raw, f);
    fclose(f);
    assert_true(len > 0 && len < sizeof raw);
    raw[len] = '\0';
    assert_non_null(strstr(raw, "\\/Date(1796320800000)\\/"));

    struct mlc_dv_event ev;
    json_t *norm = NULL;
    const char *problem = "unset";
    char detail[256] = "";
    assert_int_equal(
        mlc_ingest_dataverse_parse(raw, len, &ev, &norm, &problem, detail, sizeof detail), MLC_OK);
    assert_string_equal(ev.message, "Update");
    assert_string_equal(ev.entity, "account");
    assert_string_equal(ev.entity_id, "7f3c9a52-1b2d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_string_equal(ev.operation_id, "5e6f7a8b-0000-0000-0000-00000000d001");
    assert_string_equal(ev.correlation_id, "0d9c8b7a-0000-0000-0000-00000000c001");
    assert_string_equal(ev.user_id, "a1b2c3d4-0000-0000-0000-00000000e001");
    assert_string_equal(ev.initiating_user_id, "a1b2c3d4-0000-0000-0000-00000000e001");
    assert_string_equal(ev.organization_id, "f0e1d2c3-0000-0000-0000-00000000f001");
    assert_int_equal(ev.depth, 1);
    assert_true(ev.relevant);
    assert_false(ev.stripped);

    /* the normalized form */
    assert_non_null(norm);
    assert_true(json_is_object(json_object_get(norm, "InputParameters")));
    json_t *target = json_object_get(json_object_get(norm, "InputParameters"), "Target");
    assert_true(json_is_object(target));
    assert_string_equal(jstr(target, "type"), "Entity");
    assert_string_equal(jstr(target, "logicalName"), "account");
    assert_string_equal(jstr(target, "id"), "7f3c9a52-1b2d-4e5f-8a9b-0c1d2e3f4a5b");
    json_t *attrs = json_object_get(target, "attributes");
    assert_true(json_is_object(attrs));
    assert_int_equal(json_object_size(attrs), 5);
    /* \/Date(ms)\/ -> RFC 3339 */
    assert_string_equal(jstr(attrs, "modifiedon"), "2026-12-03T18:00:00.000Z");
    assert_string_equal(jstr(norm, "OperationCreatedOn"), "2026-12-03T18:00:00.000Z");
    assert_string_equal(jstr(attrs, "accountid"), "7f3c9a52-1b2d-4e5f-8a9b-0c1d2e3f4a5b");
    /* typed values */
    json_t *money = json_object_get(attrs, "creditlimit");
    assert_string_equal(jstr(money, "type"), "Money");
    assert_true(json_is_number(json_object_get(money, "value")));
    assert_true(json_number_value(json_object_get(money, "value")) == 99000.0);
    json_t *opt = json_object_get(attrs, "customertypecode");
    assert_string_equal(jstr(opt, "type"), "OptionSetValue");
    assert_int_equal(json_integer_value(json_object_get(opt, "value")), 3);
    json_t *ref = json_object_get(attrs, "modifiedby");
    assert_string_equal(jstr(ref, "type"), "EntityReference");
    assert_string_equal(jstr(ref, "id"), "a1b2c3d4-0000-0000-0000-00000000e001");
    assert_string_equal(jstr(ref, "logicalName"), "systemuser");
    assert_true(json_is_null(json_object_get(ref, "name")));
    assert_null(json_object_get(ref, "__type"));
    /* untyped fields pass through */
    assert_string_equal(jstr(norm, "MessageName"), "Update");
    assert_string_equal(jstr(norm, "OwningExtension.LogicalName"), "sdkmessageprocessingstep");
    assert_int_equal(json_integer_value(json_object_get(norm, "Stage")), 40);
    json_decref(norm);

    /* normalized may be NULL */
    assert_int_equal(
        mlc_ingest_dataverse_parse(raw, len, &ev, NULL, &problem, detail, sizeof detail), MLC_OK);
    assert_true(ev.relevant);
}

static void test_dataverse_stripped(void **state)
{
    /* Dataverse drops these when the context exceeds its size limit */
    static const char *const dropped[] = {"InputParameters", "PreEntityImages", "PostEntityImages",
                                          "ParentContext"};
    json_t *ctx = dv_sample();
    for (size_t i = 0; i < 4; i++)
        json_object_del(ctx, dropped[i]);
    struct dv_result r;
    dv_parse_json(ctx, &r);
    assert_int_equal(r.rc, MLC_OK);
    assert_true(r.ev.stripped);
    assert_true(r.ev.relevant);
    assert_string_equal(r.ev.entity_id, "7f3c9a52-1b2d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_string_equal(r.ev.operation_id, "5e6f7a8b-0000-0000-0000-00000000d001");
    assert_null(json_object_get(r.norm, "InputParameters"));
    json_decref(r.norm);

    json_object_set_new(ctx, "InputParameters", json_null());
    dv_parse_json(ctx, &r);
    assert_int_equal(r.rc, MLC_OK);
    assert_true(r.ev.stripped);
    json_decref(r.norm);
    json_decref(ctx);
}

static void test_dataverse_create(void **state)
{
    json_t *ctx = dv_sample();
    json_object_set_new(ctx, "MessageName", json_string("Create"));
    json_object_set_new(ctx, "PrimaryEntityId",
                        json_string("00000000-0000-0000-0000-000000000000"));
    json_object_set_new(
        ctx, "OutputParameters",
        json_pack("[{s:s, s:s}]", "key", "id", "value", "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"));
    struct dv_result r;
    dv_parse_json(ctx, &r);
    assert_int_equal(r.rc, MLC_OK);
    assert_string_equal(r.ev.message, "Create");
    assert_string_equal(r.ev.entity_id, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
    assert_true(r.ev.relevant);
    assert_string_equal(jstr(r.norm, "OutputParameters.id"),
                        "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D");
    json_decref(r.norm);

    /* an OutputParameters id that is not a GUID leaves PrimaryEntityId */
    json_object_set_new(ctx, "OutputParameters",
                        json_pack("[{s:s, s:s}]", "key", "id", "value", "not-a-guid"));
    dv_parse_json(ctx, &r);
    assert_int_equal(r.rc, MLC_OK);
    assert_string_equal(r.ev.entity_id, "00000000-0000-0000-0000-000000000000");
    json_decref(r.norm);

    /* only a Create takes the id from OutputParameters */
    json_object_set_new(ctx, "MessageName", json_string("Update"));
    json_object_set_new(
        ctx, "OutputParameters",
        json_pack("[{s:s, s:s}]", "key", "id", "value", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"));
    dv_parse_json(ctx, &r);
    assert_int_equal(r.rc, MLC_OK);
    assert_string_equal(r.ev.entity_id, "00000000-0000-0000-0000-000000000000");
    json_decref(r.norm);

    /* GUIDs are lower-cased */
    json_object_set_new(ctx, "PrimaryEntityId",
                        json_string("7F3C9A52-1B2D-4E5F-8A9B-0C1D2E3F4A5B"));
    json_object_set_new(ctx, "OrganizationId", json_string("F0E1D2C3-0000-0000-0000-00000000F001"));
    dv_parse_json(ctx, &r);
    assert_int_equal(r.rc, MLC_OK);
    assert_string_equal(r.ev.entity_id, "7f3c9a52-1b2d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_string_equal(r.ev.organization_id, "f0e1d2c3-0000-0000-0000-00000000f001");
    json_decref(r.norm);
    json_decref(ctx);
}

static void test_dataverse_relevance(void **state)
{
    static const struct {
        const char *message, *entity;
        bool relevant;
    } cases[] = {
        {"Create", "account", true},
        {"Update", "contact", true},
        {"Delete", "salesorder", true},
        {"Merge", "account", true},
        {"Assign", "salesorderdetail", true},
        {"SetState", "contact", true},
        {"SetStateDynamicEntity", "salesorder", true},
        {"Retrieve", "account", false},
        {"RetrieveMultiple", "contact", false},
        {"Associate", "account", false},
        {"GrantAccess", "salesorder", false},
        {"Update", "lead", false},
        {"Create", "opportunity", false},
        {"Update", "salesorderdetails", false},
        {"update", "account", false}, /* names are case-sensitive, as Dataverse sends them */
        {"Update", "Account", false},
    };
    json_t *ctx = dv_sample();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_object_set_new(ctx, "MessageName", json_string(cases[i].message));
        json_object_set_new(ctx, "PrimaryEntityName", json_string(cases[i].entity));
        struct dv_result r;
        dv_parse_json(ctx, &r);
        if (r.rc != MLC_OK || r.ev.relevant != cases[i].relevant)
            fail_msg("%s on %s: rc %d relevant %d (%s)", cases[i].message, cases[i].entity, r.rc,
                     r.ev.relevant, r.detail);
        assert_string_equal(r.ev.message, cases[i].message);
        assert_string_equal(r.ev.entity, cases[i].entity);
        json_decref(r.norm);
    }
    json_decref(ctx);
}

static void test_dataverse_malformed(void **state)
{
    char long48[49], long64[65];
    memset(long48, 'M', 48);
    long48[48] = '\0';
    memset(long64, 'e', 64);
    long64[64] = '\0';
    /* one field of the sample replaced (raw JSON text; NULL removes it) */
    const struct {
        const char *field, *raw, *problem, *detail;
    } cases[] = {
        {"MessageName", NULL, "invalid_field", "MessageName"},
        {"MessageName", "\"\"", "invalid_field", "MessageName"},
        {"MessageName", "5", "invalid_field", "MessageName"},
        {"MessageName", "null", "invalid_field", "MessageName"},
        {"MessageName", long48, "invalid_field", "MessageName"},
        {"PrimaryEntityName", NULL, "invalid_field", "PrimaryEntityName"},
        {"PrimaryEntityName", "[]", "invalid_field", "PrimaryEntityName"},
        {"PrimaryEntityName", long64, "invalid_field", "PrimaryEntityName"},
        {"PrimaryEntityId", NULL, "invalid_field", "PrimaryEntityId"},
        {"PrimaryEntityId", "null", "invalid_field", "PrimaryEntityId"},
        {"PrimaryEntityId", "\"7f3c9a52\"", "invalid_field", "PrimaryEntityId"},
        {"PrimaryEntityId", "\"7f3c9a52-1b2d-4e5f-8a9b-0c1d2e3f4a5bff\"", "invalid_field",
         "PrimaryEntityId"},
        {"PrimaryEntityId", "\"7f3c9a52x1b2d-4e5f-8a9b-0c1d2e3f4a5b\"", "invalid_field",
         "PrimaryEntityId"},
        {"PrimaryEntityId", "\"{7f3c9a52-1b2d-4e5f-8a9b-0c1d2e3f4a5}\"", "invalid_field",
         "PrimaryEntityId"},
        {"PrimaryEntityId", "\"gf3c9a52-1b2d-4e5f-8a9b-0c1d2e3f4a5b\"", "invalid_field",
         "PrimaryEntityId"},
        {"PrimaryEntityId", "12345", "invalid_field", "PrimaryEntityId"},
        {"OrganizationId", NULL, "invalid_field", "OrganizationId"},
        {"OrganizationId", "\"contoso\"", "invalid_field", "OrganizationId"},
        {"OperationId", "\"op-1\"", "invalid_field", "OperationId"},
        {"CorrelationId", "7", "invalid_field", "CorrelationId"},
        {"UserId", "\"\"", "invalid_field", "UserId"},
        {"InitiatingUserId", "{}", "invalid_field", "InitiatingUserId"},
        {"Depth", "-1", "invalid_field", "Depth"},
        {"Depth", "1001", "invalid_field", "Depth"},
        {"Depth", "\"1\"", "invalid_field", "Depth"},
        {"Depth", "1.5", "invalid_field", "Depth"},
        {"InputParameters", "\"x\"", "invalid_field", "InputParameters"},
        {"InputParameters", "{}", "invalid_field", "InputParameters"},
        {"OutputParameters", "{\"id\":\"x\"}", "invalid_field", "OutputParameters"},
        {"OutputParameters", "5", "invalid_field", "OutputParameters"},
        /* optional fields may be missing or null */
        {"OperationId", NULL, NULL, NULL},
        {"CorrelationId", "null", NULL, NULL},
        {"UserId", NULL, NULL, NULL},
        {"InitiatingUserId", NULL, NULL, NULL},
        {"Depth", NULL, NULL, NULL},
        {"Depth", "null", NULL, NULL},
        {"Depth", "1000", NULL, NULL},
        {"OutputParameters", NULL, NULL, NULL},
        {"OutputParameters", "null", NULL, NULL},
        {"OutputParameters", "[{\"key\":5}]", NULL, NULL},
    };
    json_t *base = dv_sample();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *ctx = json_deep_copy(base);
        if (!cases[i].raw) {
            assert_int_equal(json_object_del(ctx, cases[i].field), 0);
        } else if (cases[i].raw == long48 || cases[i].raw == long64) {
            json_object_set_new(ctx, cases[i].field, json_string(cases[i].raw));
        } else {
            json_error_t jerr;
            json_t *v = json_loads(cases[i].raw, JSON_DECODE_ANY, &jerr);
            assert_non_null(v);
            json_object_set_new(ctx, cases[i].field, v);
        }
        struct dv_result r;
        dv_parse_json(ctx, &r);
        if (!cases[i].problem) {
            if (r.rc != MLC_OK)
                fail_msg("case %zu %s: %s", i, cases[i].field, r.detail);
            assert_non_null(r.norm);
        } else {
            if (r.rc != MLC_EINVAL || strcmp(r.problem, cases[i].problem) != 0 ||
                !strstr(r.detail, cases[i].detail))
                fail_msg("case %zu %s=%s: rc %d %s '%s'", i, cases[i].field,
                         cases[i].raw ? cases[i].raw : "(removed)", r.rc, r.problem, r.detail);
            assert_null(r.norm);
        }
        json_decref(r.norm);
        json_decref(ctx);
    }
    json_decref(base);

    /* bodies that are not a context at all */
    const struct {
        const char *body, *problem;
    } bodies[] = {
        {"", "invalid_json"},
        {"nope", "invalid_json"},
        {"{\"MessageName\":", "invalid_json"},
        {"{\"MessageName\":\"Update\",\"MessageName\":\"Create\"}", "invalid_json"},
        {"\"Update\"", "invalid_json"},
        {"[]", "invalid_field"},
        {"{}", "invalid_field"},
        {"{\"MessageName\":\"Update\"}", "invalid_field"},
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct mlc_dv_event ev;
        json_t *norm = (json_t *)1;
        const char *problem = "unset";
        char detail[256];
        enum mlc_rc rc = mlc_ingest_dataverse_parse(bodies[i].body, strlen(bodies[i].body), &ev,
                                                    &norm, &problem, detail, sizeof detail);
        if (rc != MLC_EINVAL || strcmp(problem, bodies[i].problem) != 0)
            fail_msg("body '%s': rc %d %s", bodies[i].body, rc, problem);
        assert_null(norm);
    }
}

/* Shapes the normalizer must survive: deep nesting, odd pair arrays, dates in arrays. */
static void test_dataverse_normalize_edges(void **state)
{
    json_t *ctx = dv_sample();
    json_error_t jerr;
    json_t *shared = json_loads(
        "[{\"key\":\"when\",\"value\":\"\\/Date(-1000)\\/\"},"
        " {\"key\":\"list\",\"value\":[\"\\/Date(0)\\/\", 1, \"plain\"]},"
        " {\"key\":\"ref\",\"value\":{\"__type\":\"EntityReference:x\",\"Id\":\"i\"}},"
        " {\"key\":\"opt\",\"value\":{\"__type\":\"OptionSetValue\",\"Value\":7}},"
        " {\"key\":\"other\",\"value\":{\"__type\":\"Unknown:x\",\"A\":\"\\/Date(1000)\\/\"}},"
        " {\"key\":\"pairs\",\"value\":[{\"key\":\"a\",\"value\":1},{\"key\":\"b\"}]}]",
        0, &jerr);
    assert_non_null(shared);
    json_object_set_new(ctx, "SharedVariables", shared);
    /* not pairs: an element with a third member, or a non-string key, stays an array */
    json_object_set_new(ctx, "PreEntityImages",
                        json_loads("[{\"key\":\"a\",\"value\":1,\"x\":2}]", 0, &jerr));
    json_object_set_new(ctx, "PostEntityImages", json_loads("[{\"key\":1,\"value\":1}]", 0, &jerr));
    struct dv_result r;
    dv_parse_json(ctx, &r);
    assert_int_equal(r.rc, MLC_OK);
    json_t *sv = json_object_get(r.norm, "SharedVariables");
    assert_true(json_is_object(sv));
    assert_string_equal(jstr(sv, "when"), "1969-12-31T23:59:59.000Z");
    json_t *list = json_object_get(sv, "list");
    assert_true(json_is_array(list));
    assert_string_equal(json_string_value(json_array_get(list, 0)), "1970-01-01T00:00:00.000Z");
    assert_string_equal(json_string_value(json_array_get(list, 2)), "plain");
    assert_string_equal(jstr(sv, "ref.type"), "EntityReference");
    assert_string_equal(jstr(sv, "ref.id"), "i");
    assert_true(json_is_null(json_object_get(json_object_get(sv, "ref"), "logicalName")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(sv, "opt"), "value")), 7);
    assert_string_equal(jstr(sv, "other.A"), "1970-01-01T00:00:01.000Z");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(sv, "pairs"), "a")), 1);
    assert_true(json_is_null(json_object_get(json_object_get(sv, "pairs"), "b")));
    assert_true(json_is_array(json_object_get(r.norm, "PreEntityImages")));
    assert_true(json_is_array(json_object_get(r.norm, "PostEntityImages")));
    json_decref(r.norm);

    /* deep nesting is cut, not recursed into without bound */
    size_t depth = 1500;
    char *deep = malloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    json_t *d = json_loads(deep, 0, &jerr);
    free(deep);
    assert_non_null(d);
    json_object_set_new(ctx, "ParentContext", d);
    dv_parse_json(ctx, &r);
    assert_int_equal(r.rc, MLC_OK);
    assert_non_null(r.norm);
    json_decref(r.norm);
    json_decref(ctx);
}

static void test_dv_parse_date(void **state)
{
    static const struct {
        const char *s;
        bool ok;
        int64_t ms;
    } cases[] = {
        {"\\/Date(1796320800000)\\/", true, 1796320800000},
        {"/Date(1796320800000)/", true, 1796320800000},
        {"\\/Date(1796320800000+0000)\\/", true, 1796320800000},
        {"/Date(1796320800000+0000)/", true, 1796320800000},
        {"/Date(1796320800000-0500)/", true, 1796320800000}, /* the number is already UTC */
        {"/Date(1506384247000)/", true, 1506384247000},
        {"/Date(0)/", true, 0},
        {"/Date(-1000)/", true, -1000},
        {"/Date(9999999999999999)/", true, 9999999999999999},
        {"/Date(99999999999999999)/", false, 0},
        {"/Date()/", false, 0},
        {"/Date(-)/", false, 0},
        {"/Date(abc)/", false, 0},
        {"/Date( 1)/", false, 0},
        {"/Date(1 )/", false, 0},
        {"/Date(1.5)/", false, 0},
        {"/Date(1+00)/", false, 0},
        {"/Date(1+00000)/", false, 0},
        {"/Date(1+abcd)/", false, 0},
        {"/Date(1)", false, 0},
        {"/Date(1", false, 0},
        {"/Date(1)/x", false, 0},
        {"/Date(1)//", false, 0},
        {"Date(1)", false, 0},
        {"/date(1)/", false, 0},
        {"\\\\/Date(1)/", false, 0},
        {"2026-12-03T18:00:00Z", false, 0},
        {"", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = 12345;
        enum mlc_rc rc = mlc_dv_parse_date(cases[i].s, &ms);
        if ((rc == MLC_OK) != cases[i].ok)
            fail_msg("'%s': rc %d", cases[i].s, rc);
        if (cases[i].ok && ms != cases[i].ms)
            fail_msg("'%s': %lld, want %lld", cases[i].s, (long long)ms, (long long)cases[i].ms);
        if (!cases[i].ok && ms != 12345)
            fail_msg("'%s': output written on failure", cases[i].s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netsuite_valid),
        cmocka_unit_test(test_netsuite_rules),
        cmocka_unit_test(test_netsuite_body_shape),
        cmocka_unit_test(test_netsuite_batch),
        cmocka_unit_test(test_dataverse_sample),
        cmocka_unit_test(test_dataverse_stripped),
        cmocka_unit_test(test_dataverse_create),
        cmocka_unit_test(test_dataverse_relevance),
        cmocka_unit_test(test_dataverse_malformed),
        cmocka_unit_test(test_dataverse_normalize_edges),
        cmocka_unit_test(test_dv_parse_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
