/* Unit tests: openapi/ml-connector.yaml lists exactly the error table of src/core/problem.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mlc/problem.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The YAML is read as text, not through a YAML library: the test needs only a few
 * constructs (a block or flow `enum:` list, the `x-mlc-errors` sequence, the Markdown table and
 * the problem examples), and a parser of our own would not be more trustworthy than this. */

#define MAX_LINES 4096
#define MAX_ITEMS 256

struct doc {
    char *text;            /* owned, lines split in place */
    char *line[MAX_LINES]; /* borrowed from text */
    size_t n;
};

struct err_row {
    char code[64];
    int status;
    char title[160];
};

struct codes {
    char item[MAX_ITEMS][64];
    size_t n;
};

static void doc_from_string(struct doc *d, const char *s)
{
    memset(d, 0, sizeof *d);
    d->text = strdup(s);
    assert_non_null(d->text);
    char *p = d->text;
    while (*p && d->n < MAX_LINES) {
        d->line[d->n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        if (nl > p && nl[-1] == '\r')
            nl[-1] = '\0';
        *nl = '\0';
        p = nl + 1;
    }
    assert_true(d->n < MAX_LINES);
}

static void doc_load(struct doc *d, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char chunk[8192];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + k + 1 > cap) {
            cap = (len + k + 1) * 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        memcpy(buf + len, chunk, k);
        len += k;
    }
    fclose(f);
    assert_true(len > 0);
    buf[len] = '\0';
    doc_from_string(d, buf);
    free(buf);
}

static void doc_free(struct doc *d)
{
    free(d->text);
    d->text = NULL;
}

static int indent_of(const char *l)
{
    int i = 0;
    while (l[i] == ' ')
        i++;
    return i;
}

/* Blank lines and comment lines do not end a block. */
static int is_filler(const char *l)
{
    const char *t = l + indent_of(l);
    return *t == '\0' || *t == '#';
}

/* Copies a scalar: drops a trailing comment, surrounding spaces and one pair of quotes. */
static void scalar(const char *s, size_t len, char *out, size_t outsz)
{
    while (len && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    if (len && (*s == '"' || *s == '\'')) {
        const char *end = memchr(s + 1, *s, len - 1);
        if (end) {
            len = (size_t)(end - s - 1);
            s++;
        }
    } else {
        for (size_t i = 1; i < len; i++) {
            if (s[i] == '#' && isspace((unsigned char)s[i - 1])) {
                len = i;
                break;
            }
        }
    }
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    snprintf(out, outsz, "%.*s", (int)len, s);
}

/* The text after "key:" when line l (past indentation and an optional "- ") is that key. */
static const char *key_value(const char *l, const char *key)
{
    const char *t = l + indent_of(l);
    if (t[0] == '-' && t[1] == ' ')
        t += 2;
    size_t kl = strlen(key);
    if (strncmp(t, key, kl) != 0 || t[kl] != ':')
        return NULL;
    return t + kl + 1;
}

static void codes_add(struct codes *c, const char *s, size_t len)
{
    char v[64];
    scalar(s, len, v, sizeof v);
    if (!v[0])
        return;
    assert_true(c->n < MAX_ITEMS);
    snprintf(c->item[c->n++], sizeof c->item[0], "%s", v);
}

/* The `enum:` of the schema named `schema` (block or flow style). Returns 0 when not found. */
static int parse_enum(const struct doc *d, const char *schema, struct codes *out)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    for (; i < d->n; i++)
        if (key_value(d->line[i], schema) && indent_of(d->line[i]) > 0)
            break;
    if (i == d->n)
        return 0;
    int base = indent_of(d->line[i]);
    for (size_t j = i + 1; j < d->n; j++) {
        if (is_filler(d->line[j]))
            continue;
        int ind = indent_of(d->line[j]);
        if (ind <= base)
            return 0;
        const char *v = key_value(d->line[j], "enum");
        if (!v)
            continue;
        while (*v == ' ')
            v++;
        if (*v == '[') {
            /* Flow style, possibly over several lines. */
            char flow[4096] = "";
            size_t fl = 0;
            for (size_t k = j; k < d->n; k++) {
                const char *src = k == j ? v + 1 : d->line[k];
                int w = snprintf(flow + fl, sizeof flow - fl, "%s ", src);
                assert_true(w > 0 && (size_t)w < sizeof flow - fl);
                fl += (size_t)w;
                if (strchr(src, ']'))
                    break;
            }
            char *close = strchr(flow, ']');
            assert_non_null(close);
            *close = '\0';
            const char *p = flow;
            for (;;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                codes_add(out, p, len);
                if (!comma)
                    break;
                p = comma + 1;
            }
            return 1;
        }
        /* Block style: "- item" lines at the key's indentation or deeper. */
        for (size_t k = j + 1; k < d->n; k++) {
            if (is_filler(d->line[k]))
                continue;
            const char *t = d->line[k] + indent_of(d->line[k]);
            if (indent_of(d->line[k]) < ind || t[0] != '-' || t[1] != ' ')
                break;
            codes_add(out, t + 2, strlen(t + 2));
        }
        return 1;
    }
    return 0;
}

/* The root sequence `x-mlc-errors` of {code, status, title} mappings (block style). */
static size_t parse_x_errors(const struct doc *d, struct err_row *rows, size_t max)
{
    size_t i = 0, n = 0;
    for (; i < d->n; i++)
        if (indent_of(d->line[i]) == 0 && key_value(d->line[i], "x-mlc-errors"))
            break;
    if (i == d->n)
        return 0;
    for (size_t j = i + 1; j < d->n; j++) {
        const char *l = d->line[j];
        if (is_filler(l))
            continue;
        const char *t = l + indent_of(l);
        int item = t[0] == '-' && t[1] == ' ';
        if (indent_of(l) == 0 && !item)
            break;
        if (item) {
            assert_true(n < max);
            memset(&rows[n++], 0, sizeof rows[0]);
        }
        if (n == 0)
            continue;
        struct err_row *r = &rows[n - 1];
        const char *v;
        if ((v = key_value(l, "code")))
            scalar(v, strlen(v), r->code, sizeof r->code);
        else if ((v = key_value(l, "title")))
            scalar(v, strlen(v), r->title, sizeof r->title);
        else if ((v = key_value(l, "status"))) {
            char s[16];
            scalar(v, strlen(v), s, sizeof s);
            char *end = NULL;
            long st = strtol(s, &end, 10);
            r->status = end && *end == '\0' && end != s ? (int)st : -1;
        }
    }
    return n;
}

/* Markdown rows "| `code` | status | ..." anywhere in the file (the description table). */
static size_t parse_md_rows(const struct doc *d, struct err_row *rows, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++) {
        const char *t = d->line[i] + indent_of(d->line[i]);
        if (strncmp(t, "| `", 3) != 0)
            continue;
        const char *cend = strchr(t + 3, '`');
        if (!cend)
            continue;
        const char *bar = strchr(cend, '|');
        if (!bar)
            continue;
        assert_true(n < max);
        struct err_row *r = &rows[n++];
        memset(r, 0, sizeof *r);
        snprintf(r->code, sizeof r->code, "%.*s", (int)(cend - (t + 3)), t + 3);
        char *end = NULL;
        long st = strtol(bar + 1, &end, 10);
        r->status = end != bar + 1 && end && (*end == ' ' || *end == '|') ? (int)st : -1;
        const char *tbar = strchr(bar + 1, '|');
        if (tbar) {
            const char *tend = strchr(tbar + 1, '|');
            if (tend)
                scalar(tbar + 1, (size_t)(tend - tbar - 1), r->title, sizeof r->title);
        }
    }
    return n;
}

static const char *spec_path(void)
{
    return MLC_SOURCE_DIR "/openapi/ml-connector.yaml";
}

/* --- the parser on small inputs, so a parsing slip cannot pass silently ------------------ */

static void test_parser_enum_styles(void **state)
{
    static const struct {
        const char *yaml;
        size_t n;
        const char *last;
    } cases[] = {
        {"components:\n  schemas:\n    ProblemCode:\n      type: string\n      enum:\n"
         "        - invalid_json\n        - 'unauthorized'   # quoted\n\n        - \"queue_full\"\n"
         "    Other:\n      enum: [x]\n",
         3, "queue_full"},
        {"components:\n  schemas:\n    ProblemCode:\n      enum:\n      - a\n      - b\n"
         "      description: x\n",
         2, "b"},
        {"components:\n  schemas:\n    ProblemCode:\n      enum: [a, \"b\",\n        'c']\n", 3,
         "c"},
        {"components:\n  schemas:\n    ProblemCode:\n      type: string\n    Next:\n"
         "      enum: [z]\n",
         0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct doc d;
        struct codes c;
        doc_from_string(&d, cases[i].yaml);
        int found = parse_enum(&d, "ProblemCode", &c);
        assert_int_equal(found, cases[i].n > 0);
        assert_int_equal(c.n, cases[i].n);
        if (cases[i].last)
            assert_string_equal(c.item[c.n - 1], cases[i].last);
        doc_free(&d);
    }
}

static void test_parser_x_errors_and_rows(void **state)
{
    struct doc d;
    doc_from_string(&d, "x-mlc-errors:\n- code: a\n  status: 400\n  title: 'T: a'\n"
                        "  - nonsense\n- title: B\n  code: \"b\"  # c\n  status: 50x\nnext: 1\n"
                        "    | `a` | 400 | T: a | when |\n    |---|---|\n    | `b` | 503 | B |\n");
    struct err_row rows[8];
    size_t n = parse_x_errors(&d, rows, 8);
    /* "- nonsense" starts a third, empty item: a malformed file must not look complete. */
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].code, "a");
    assert_int_equal(rows[0].status, 400);
    assert_string_equal(rows[0].title, "T: a");
    assert_string_equal(rows[1].code, "");
    assert_string_equal(rows[2].code, "b");
    assert_int_equal(rows[2].status, -1);
    n = parse_md_rows(&d, rows, 8);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].code, "a");
    assert_int_equal(rows[0].status, 400);
    assert_string_equal(rows[0].title, "T: a");
    assert_string_equal(rows[1].code, "b");
    assert_int_equal(rows[1].status, 503);
    doc_free(&d);
}

/* --- the real file against the real table ------------------------------------------------ */

static void test_enum_matches_table(void **state)
{
    struct doc d;
    struct codes c;
    doc_load(&d, spec_path());
    assert_true(parse_enum(&d, "ProblemCode", &c));
    size_t n;
    const struct mlc_problem_def *t = mlc_problem_table(&n);
    for (size_t i = 0; i < n; i++) {
        size_t hits = 0;
        for (size_t k = 0; k < c.n; k++)
            hits += strcmp(c.item[k], t[i].code) == 0;
        if (hits != 1)
            fail_msg("ProblemCode enum lists '%s' %zu times, want once", t[i].code, hits);
    }
    for (size_t k = 0; k < c.n; k++)
        if (!mlc_problem_find(c.item[k]))
            fail_msg("ProblemCode enum lists '%s', which src/core/problem.c lacks", c.item[k]);
    assert_int_equal(c.n, n);
    doc_free(&d);
}

static void check_rows(const char *what, const struct err_row *rows, size_t nrows, int check_title)
{
    size_t n;
    const struct mlc_problem_def *t = mlc_problem_table(&n);
    for (size_t i = 0; i < n; i++) {
        size_t hits = 0;
        for (size_t k = 0; k < nrows; k++) {
            if (strcmp(rows[k].code, t[i].code) != 0)
                continue;
            hits++;
            if (rows[k].status != t[i].status)
                fail_msg("%s: '%s' has status %d, the table says %d", what, t[i].code,
                         rows[k].status, t[i].status);
            if (check_title && strcmp(rows[k].title, t[i].title) != 0)
                fail_msg("%s: '%s' has title '%s', the table says '%s'", what, t[i].code,
                         rows[k].title, t[i].title);
        }
        if (hits != 1)
            fail_msg("%s lists '%s' %zu times, want once", what, t[i].code, hits);
    }
    for (size_t k = 0; k < nrows; k++)
        if (!mlc_problem_find(rows[k].code))
            fail_msg("%s lists '%s', which src/core/problem.c lacks", what, rows[k].code);
}

static void test_x_mlc_errors_match_table(void **state)
{
    struct doc d;
    struct err_row rows[MAX_ITEMS];
    doc_load(&d, spec_path());
    size_t nrows = parse_x_errors(&d, rows, MAX_ITEMS);
    assert_true(nrows > 0);
    check_rows("x-mlc-errors", rows, nrows, 1);
    doc_free(&d);
}

static void test_description_table_matches_table(void **state)
{
    struct doc d;
    struct err_row rows[MAX_ITEMS];
    doc_load(&d, spec_path());
    size_t nrows = parse_md_rows(&d, rows, MAX_ITEMS);
    assert_true(nrows > 0);
    check_rows("the ProblemCode description table", rows, nrows, 1);
    doc_free(&d);
}

/* Value of `key` among the siblings of line i: the other keys of the same mapping (same
 * indentation, not crossing a shallower line or the start of another sequence item). */
static int sibling(const struct doc *d, size_t i, const char *key, char *out, size_t outsz)
{
    int ind = indent_of(d->line[i]);
    const char *t = d->line[i] + ind;
    int self_item = t[0] == '-' && t[1] == ' ';
    if (self_item)
        ind += 2;
    for (int dir = -1; dir <= 1; dir += 2) {
        if (dir < 0 && self_item) /* the mapping starts on line i */
            continue;
        for (long j = (long)i + dir; j >= 0 && (size_t)j < d->n; j += dir) {
            const char *l = d->line[j];
            if (is_filler(l))
                continue;
            int li = indent_of(l);
            int item = l[li] == '-' && l[li + 1] == ' ';
            int eff = item ? li + 2 : li;
            if (eff < ind || (item && dir > 0 && eff == ind))
                break; /* left the mapping, or the next item begins */
            if (eff > ind)
                continue; /* nested deeper */
            const char *v = key_value(l, key);
            if (v) {
                scalar(v, strlen(v), out, outsz);
                return 1;
            }
            if (item) /* first line of this mapping: nothing above belongs to it */
                break;
        }
    }
    return 0;
}

/* The HTTP status of the response an example sits in ('503': above it), or 0. */
static int enclosing_status(const struct doc *d, size_t i)
{
    int ind = indent_of(d->line[i]);
    for (long j = (long)i - 1; j >= 0; j--) {
        const char *l = d->line[j];
        if (is_filler(l) || indent_of(l) >= ind)
            continue;
        ind = indent_of(l);
        const char *t = l + ind;
        if (*t == '\'' || *t == '"')
            t++;
        if (isdigit((unsigned char)t[0]) && isdigit((unsigned char)t[1]) &&
            isdigit((unsigned char)t[2]) && (t[3] == ':' || t[3] == '\'' || t[3] == '"'))
            return (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0');
        if (ind == 0)
            break;
    }
    return 0;
}

/* Checks every problem URN and every `code:` value (with its sibling status, title and type and
 * the response it sits in) against the table. Returns the number of codes checked, or -1 with
 * the first disagreement in why. */
static long check_examples(const struct doc *d, char *why, size_t whysz)
{
    static const char urn[] = "urn:ml-connector:problem:";
    long seen = 0;
    for (size_t i = 0; i < d->n; i++) {
        for (const char *p = strstr(d->line[i], urn); p; p = strstr(p + 1, urn)) {
            const char *c = p + sizeof urn - 1;
            size_t len = strspn(c, "abcdefghijklmnopqrstuvwxyz_");
            char code[64];
            snprintf(code, sizeof code, "%.*s", (int)len, c);
            if (len && !mlc_problem_find(code)) {
                snprintf(why, whysz, "line %zu: %s%s is not a code of src/core/problem.c", i + 1,
                         urn, code);
                return -1;
            }
        }
        const char *v = key_value(d->line[i], "code");
        if (!v)
            continue;
        char code[64], sib[160];
        scalar(v, strlen(v), code, sizeof code);
        if (!code[0]) /* a schema property named code, not a value */
            continue;
        const struct mlc_problem_def *row = mlc_problem_find(code);
        if (!row) {
            snprintf(why, whysz, "line %zu: code '%s' is not in src/core/problem.c", i + 1, code);
            return -1;
        }
        seen++;
        if (sibling(d, i, "status", sib, sizeof sib) && strtol(sib, NULL, 10) != row->status) {
            snprintf(why, whysz, "line %zu: '%s' with status %s, the table says %d", i + 1, code,
                     sib, row->status);
            return -1;
        }
        if (sibling(d, i, "title", sib, sizeof sib) && strcmp(sib, row->title) != 0) {
            snprintf(why, whysz, "line %zu: '%s' titled '%s', the table says '%s'", i + 1, code,
                     sib, row->title);
            return -1;
        }
        int st = enclosing_status(d, i);
        if (st && st != row->status) {
            snprintf(why, whysz, "line %zu: '%s' is an example of a %d response, the table says %d",
                     i + 1, code, st, row->status);
            return -1;
        }
        if (sibling(d, i, "type", sib, sizeof sib)) {
            char want[128];
            snprintf(want, sizeof want, "%s%s", urn, code);
            if (strcmp(sib, want) != 0) {
                snprintf(why, whysz, "line %zu: '%s' has type '%s', want '%s'", i + 1, code, sib,
                         want);
                return -1;
            }
        }
    }
    return seen;
}

static void test_check_examples_catches_drift(void **state)
{
    static const struct {
        const char *yaml;
        long want; /* codes checked, or -1 */
        const char *why;
    } cases[] = {
        {"      '400':\n        example:\n          type: urn:ml-connector:problem:invalid_json\n"
         "          title: The body is not valid JSON\n          status: 400\n"
         "          code: invalid_json\n",
         1, NULL},
        {"      '400':\n        example:\n          status: 401\n          code: invalid_json\n",
         -1, "with status 401"},
        {"      '503':\n        example:\n          code: invalid_json\n", -1,
         "example of a 503 response"},
        {"        example:\n          title: Nope\n          code: invalid_json\n", -1,
         "titled 'Nope'"},
        {"        example:\n          code: invalid_json\n"
         "          type: urn:ml-connector:problem:invalid_field\n",
         -1, "has type"},
        {"        detail: see urn:ml-connector:problem:no_such_code\n", -1, "no_such_code"},
        {"        example:\n          code: no_such_code\n", -1, "not in src/core/problem.c"},
        {"x-mlc-errors:\n  - code: invalid_json\n    status: 400\n  - code: unauthorized\n"
         "    status: 401\n",
         2, NULL},
        {"x-mlc-errors:\n  - code: invalid_json\n    status: 400\n  - code: unauthorized\n"
         "    status: 400\n",
         -1, "'unauthorized' with status 400"},
        {"        properties:\n          code:\n            type: string\n", 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct doc d;
        char why[256] = "";
        doc_from_string(&d, cases[i].yaml);
        long got = check_examples(&d, why, sizeof why);
        if (got != cases[i].want)
            fail_msg("case %zu: got %ld (%s), want %ld", i, got, why, cases[i].want);
        if (cases[i].why && !strstr(why, cases[i].why))
            fail_msg("case %zu: '%s' does not mention '%s'", i, why, cases[i].why);
        doc_free(&d);
    }
}

static void test_examples_use_table_codes(void **state)
{
    struct doc d;
    char why[256] = "";
    doc_load(&d, spec_path());
    long seen = check_examples(&d, why, sizeof why);
    if (seen < 0)
        fail_msg("%s: %s", spec_path(), why);
    size_t n;
    mlc_problem_table(&n);
    assert_true(seen >= (long)n); /* at least the x-mlc-errors rows were checked */
    doc_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_enum_styles),
        cmocka_unit_test(test_parser_x_errors_and_rows),
        cmocka_unit_test(test_check_examples_catches_drift),
        cmocka_unit_test(test_enum_matches_table),
        cmocka_unit_test(test_x_mlc_errors_match_table),
        cmocka_unit_test(test_description_table_matches_table),
        cmocka_unit_test(test_examples_use_table_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
