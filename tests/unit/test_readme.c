/* Unit tests: README.md's configuration tables list every row of mlc_config_defs() correctly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mlc/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The README's "## Configuration" section (up to the next "## " heading) holds Markdown
 * tables whose first cell is a variable, optionally followed by "(S)" for a secret, and whose
 * second cell is the default. The default cell must be the table's default as written (an
 * explanation in parentheses may follow it: "0 (off)"), or, for a row without a default,
 * start with "(none" or "required". */

#define MAX_ROWS 256

struct row {
    char name[96];
    int secret;
    char def[160];
    size_t line;
};

/* Copies a cell without backticks and surrounding blanks. */
static void cell_copy(const char *s, size_t len, char *out, size_t outsz)
{
    size_t o = 0;
    while (len && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    for (size_t i = 0; i < len && o + 1 < outsz; i++)
        if (s[i] != '`')
            out[o++] = s[i];
    out[o] = '\0';
}

/* Parses the rows of the configuration section of text. Returns the row count, or -1 with a
 * reason when the section is missing or a row is malformed. */
static long parse_rows(const char *text, struct row *rows, size_t max, char *why, size_t whysz)
{
    const char *p = text;
    size_t lineno = 0;
    int in_section = 0, found = 0;
    long n = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (len >= 3 && strncmp(p, "## ", 3) == 0) {
            in_section = len >= 16 && strncmp(p, "## Configuration", 16) == 0 &&
                         (len == 16 || isspace((unsigned char)p[16]));
            found |= in_section;
        } else if (in_section && len > 1 && p[0] == '|') {
            const char *c1 = p + 1;
            const char *b1 = memchr(c1, '|', len - 1);
            if (b1) {
                char first[160];
                cell_copy(c1, (size_t)(b1 - c1), first, sizeof first);
                if (strncmp(first, "MLC_", 4) == 0) {
                    const char *c2 = b1 + 1;
                    const char *b2 = memchr(c2, '|', len - (size_t)(c2 - p));
                    if (!b2) {
                        snprintf(why, whysz, "README.md:%zu: the row has no default cell", lineno);
                        return -1;
                    }
                    if ((size_t)n >= max) {
                        snprintf(why, whysz, "README.md:%zu: too many rows", lineno);
                        return -1;
                    }
                    struct row *r = &rows[n++];
                    memset(r, 0, sizeof *r);
                    r->line = lineno;
                    size_t nl_len = strspn(first, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
                    snprintf(r->name, sizeof r->name, "%.*s", (int)nl_len, first);
                    const char *rest = first + nl_len;
                    while (*rest == ' ')
                        rest++;
                    if (strcmp(rest, "(S)") == 0) {
                        r->secret = 1;
                    } else if (*rest) {
                        snprintf(why, whysz,
                                 "README.md:%zu: '%s': the variable cell holds one name, "
                                 "optionally followed by (S)",
                                 lineno, first);
                        return -1;
                    }
                    cell_copy(c2, (size_t)(b2 - c2), r->def, sizeof r->def);
                }
            }
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    if (!found) {
        snprintf(why, whysz, "README.md has no \"## Configuration\" section");
        return -1;
    }
    return n;
}

static int default_ok(const struct mlc_cfg_def *d, const char *cell)
{
    if (!d->def)
        return strncmp(cell, "(none", 5) == 0 || strncmp(cell, "required", 8) == 0;
    size_t l = strlen(d->def);
    if (strncmp(cell, d->def, l) != 0)
        return 0;
    return cell[l] == '\0' || (cell[l] == ' ' && cell[l + 1] == '(');
}

/* Checks text against the configuration table. Returns 0, or -1 with the first problem. */
static int check_readme(const char *text, char *why, size_t whysz)
{
    static struct row rows[MAX_ROWS];
    long n = parse_rows(text, rows, MAX_ROWS, why, whysz);
    if (n < 0)
        return -1;
    const struct mlc_cfg_def *defs = mlc_config_defs();
    for (int i = 0; i < MLC_CFG__COUNT; i++) {
        const struct mlc_cfg_def *d = &defs[i];
        const struct row *hit = NULL;
        for (long k = 0; k < n; k++) {
            if (strcmp(rows[k].name, d->name) != 0)
                continue;
            if (hit) {
                snprintf(why, whysz, "README.md:%zu: %s is listed twice (also line %zu)",
                         rows[k].line, d->name, hit->line);
                return -1;
            }
            hit = &rows[k];
        }
        if (!hit) {
            snprintf(why, whysz, "README.md's configuration table lacks %s (default %s)", d->name,
                     d->def ? d->def : "none");
            return -1;
        }
        if (!default_ok(d, hit->def)) {
            snprintf(why, whysz, "README.md:%zu: %s has default '%s'; the code's is %s%s%s",
                     hit->line, d->name, hit->def, d->def ? "'" : "", d->def ? d->def : "unset",
                     d->def ? "'" : " (write \"(none...)\" or \"required...\")");
            return -1;
        }
        int secret = (d->flags & MLC_CFG_SECRET) != 0;
        if (hit->secret != secret) {
            snprintf(why, whysz, "README.md:%zu: %s %s", hit->line, d->name,
                     secret ? "is a secret: mark it (S)" : "is not a secret: drop the (S)");
            return -1;
        }
    }
    for (long k = 0; k < n; k++) {
        int known = 0;
        for (int i = 0; i < MLC_CFG__COUNT && !known; i++)
            known = strcmp(rows[k].name, defs[i].name) == 0;
        if (!known) {
            snprintf(why, whysz,
                     "README.md:%zu: %s is not in the configuration table of src/core/config.c",
                     rows[k].line, rows[k].name);
            return -1;
        }
    }
    return 0;
}

static char *read_all(const char *path)
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
    assert_non_null(buf);
    buf[len] = '\0';
    return buf;
}

static void test_readme_lists_every_setting(void **state)
{
    char *text = read_all(MLC_SOURCE_DIR "/README.md");
    char why[512] = "";
    if (check_readme(text, why, sizeof why) != 0)
        fail_msg("%s", why);
    free(text);
}

/* --- the checker on generated READMEs, so that a drift of each kind is really caught ------- */

enum mutation { M_NONE, M_DROP, M_DEFAULT, M_SECRET, M_EXTRA, M_TWICE, M_NOTE, M_OUTSIDE };

/* A README with every row in order, changed by one mutation applied to row `target`. */
static char *make_readme(enum mutation m, int target)
{
    size_t cap = 64 * 1024, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    const struct mlc_cfg_def *defs = mlc_config_defs();
    len += (size_t)snprintf(out + len, cap - len,
                            "# x\n\n## Configuration\n\n| variable | default | meaning |\n"
                            "|---|---|---|\n");
    for (int i = 0; i < MLC_CFG__COUNT; i++) {
        const struct mlc_cfg_def *d = &defs[i];
        int secret = (d->flags & MLC_CFG_SECRET) != 0;
        const char *def = d->def ? d->def : "(none)";
        char changed[160], noted[200];
        if (i == target) {
            if (m == M_DROP || m == M_OUTSIDE)
                continue;
            if (m == M_SECRET)
                secret = !secret;
            if (m == M_DEFAULT) {
                snprintf(changed, sizeof changed, "%s", d->def ? "(none)" : "0");
                def = changed;
            }
            if (m == M_NOTE) {
                snprintf(noted, sizeof noted, "`%.150s` (explained)", def);
                def = noted;
            }
        }
        len += (size_t)snprintf(out + len, cap - len, "| `%s`%s | %s | %s |\n", d->name,
                                secret ? " (S)" : "", def, d->help);
        if (i == target && m == M_TWICE)
            len += (size_t)snprintf(out + len, cap - len, "| %s%s | %s | again |\n", d->name,
                                    secret ? " (S)" : "", def);
        assert_true(len < cap - 512);
    }
    if (m == M_EXTRA)
        len += (size_t)snprintf(out + len, cap - len, "| MLC_NOT_A_SETTING | 1 | stale |\n");
    len += (size_t)snprintf(out + len, cap - len, "\n## Endpoints\n\n| MLC_FOO | x | y |\n");
    if (m == M_OUTSIDE) {
        const struct mlc_cfg_def *d = &defs[target];
        len +=
            (size_t)snprintf(out + len, cap - len, "| %s%s | %s | not in the section |\n", d->name,
                             d->flags & MLC_CFG_SECRET ? " (S)" : "", d->def ? d->def : "(none)");
    }
    assert_true(len < cap);
    return out;
}

static void test_checker_catches_drift(void **state)
{
    const struct mlc_cfg_def *defs = mlc_config_defs();
    int with_default = -1, without_default = -1, secret = -1;
    for (int i = 0; i < MLC_CFG__COUNT; i++) {
        if (defs[i].def && with_default < 0)
            with_default = i;
        if (!defs[i].def && without_default < 0)
            without_default = i;
        if ((defs[i].flags & MLC_CFG_SECRET) && secret < 0)
            secret = i;
    }
    assert_true(with_default >= 0 && without_default >= 0 && secret >= 0);
    static const struct {
        enum mutation m;
        int which; /* 0 with a default, 1 without, 2 a secret, 3 the last row */
        int ok;
        const char *why;
    } cases[] = {
        {M_NONE, 0, 1, NULL},
        {M_NOTE, 0, 1, NULL},
        {M_NOTE, 1, 1, NULL},
        {M_DROP, 0, 0, "lacks"},
        {M_DROP, 3, 0, "lacks"},
        {M_OUTSIDE, 0, 0, "lacks"},
        {M_DEFAULT, 0, 0, "has default"},
        {M_DEFAULT, 1, 0, "has default"},
        {M_SECRET, 2, 0, "mark it (S)"},
        {M_SECRET, 0, 0, "drop the (S)"},
        {M_EXTRA, 0, 0, "MLC_NOT_A_SETTING"},
        {M_TWICE, 1, 0, "listed twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int target = cases[i].which == 0   ? with_default
                     : cases[i].which == 1 ? without_default
                     : cases[i].which == 2 ? secret
                                           : MLC_CFG__COUNT - 1;
        if (cases[i].m == M_SECRET && cases[i].which == 0 && (defs[target].flags & MLC_CFG_SECRET))
            continue; /* the first row with a default is a secret: covered by which == 2 */
        char *text = make_readme(cases[i].m, target);
        char why[512] = "";
        int rc = check_readme(text, why, sizeof why);
        if ((rc == 0) != cases[i].ok)
            fail_msg("case %zu (row %s): check gave %d (%s)", i, defs[target].name, rc, why);
        if (cases[i].why && !strstr(why, cases[i].why))
            fail_msg("case %zu: '%s' does not mention '%s'", i, why, cases[i].why);
        free(text);
    }
    char why[512] = "";
    assert_int_equal(check_readme("# no section\n| MLC_LISTEN | x | y |\n", why, sizeof why), -1);
    assert_non_null(strstr(why, "no \"## Configuration\" section"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checker_catches_drift),
        cmocka_unit_test(test_readme_lists_every_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
