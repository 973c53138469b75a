/* SuiteQL -> SQLite translation: tokenise, rewrite the Oracle-isms (FETCH FIRST, BUILTIN.DF,
 * SYSDATE, DATE '...', TRUNC, MINUS), name unnamed columns. */
#include "internal.h"
#include "mlc/sandbox.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_QUERY 100000
#define MAX_TOKENS 20000
#define MAX_DEPTH 64
#define MAX_OUT (1u << 20)

enum tk { T_IDENT, T_QIDENT, T_STR, T_NUM, T_OP, T_LP, T_RP, T_COMMA, T_DOT };

struct tok {
    enum tk t;
    const char *p;
    size_t n;
    int depth; /* parenthesis depth of the token (a '(' has the outer depth) */
};

struct ctx {
    const char *q;
    struct tok *tk;
    size_t ntk;
    struct mlc_buf out;
    char *err;
    size_t errsz;
    bool allow_limit;
    bool failed;
    bool after_name;     /* the last thing written was a name: a '(' right after is a call */
    const char **suffix; /* text appended after token i (aliases of unnamed items) */
    char (*suffix_store)[24];
    struct ns_sql *res;
};

static bool fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct ctx *c, const char *fmt, ...)
{
    if (!c->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errsz, fmt, ap);
        va_end(ap);
    }
    c->failed = true;
    return false;
}

static bool is_ident_start(char ch)
{
    return isalpha((unsigned char)ch) || ch == '_';
}

static bool is_ident_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '$' || ch == '#';
}

static bool tokenize(struct ctx *c)
{
    const char *p = c->q;
    int depth = 0;
    c->tk = mlc_calloc(MAX_TOKENS, sizeof *c->tk);
    while (*p) {
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            if (!e)
                return fail(c, "unterminated comment");
            p = e + 2;
            continue;
        }
        if (c->ntk >= MAX_TOKENS)
            return fail(c, "the query is too long");
        struct tok *t = &c->tk[c->ntk];
        t->p = p;
        t->depth = depth;
        if (*p == '\'') {
            const char *s = p + 1;
            for (;;) {
                if (!*s)
                    return fail(c, "unterminated string literal");
                if (*s == '\'' && s[1] == '\'') {
                    s += 2;
                    continue;
                }
                if (*s == '\'')
                    break;
                s++;
            }
            t->t = T_STR;
            t->n = (size_t)(s + 1 - p);
        } else if (*p == '"') {
            const char *s = strchr(p + 1, '"');
            if (!s || s == p + 1)
                return fail(c, "bad quoted identifier");
            for (const char *x = p + 1; x < s; x++)
                if ((unsigned char)*x < 0x20)
                    return fail(c, "bad quoted identifier");
            t->t = T_QIDENT;
            t->n = (size_t)(s + 1 - p);
        } else if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
            const char *s = p;
            while (isdigit((unsigned char)*s))
                s++;
            if (*s == '.' && isdigit((unsigned char)s[1])) {
                s++;
                while (isdigit((unsigned char)*s))
                    s++;
            } else if (*s == '.' && !is_ident_start(s[1])) {
                s++;
            }
            if ((*s == 'e' || *s == 'E') &&
                (isdigit((unsigned char)s[1]) ||
                 ((s[1] == '+' || s[1] == '-') && isdigit((unsigned char)s[2])))) {
                s += 2;
                while (isdigit((unsigned char)*s))
                    s++;
            }
            if (is_ident_char(*s))
                return fail(c, "bad number");
            t->t = T_NUM;
            t->n = (size_t)(s - p);
        } else if (is_ident_start(*p)) {
            const char *s = p;
            while (is_ident_char(*s))
                s++;
            t->t = T_IDENT;
            t->n = (size_t)(s - p);
            if (t->n > 128)
                return fail(c, "identifier too long");
        } else if (*p == '(') {
            t->t = T_LP;
            t->n = 1;
            if (++depth > MAX_DEPTH)
                return fail(c, "the query nests too deeply");
        } else if (*p == ')') {
            if (--depth < 0)
                return fail(c, "unbalanced parentheses");
            t->t = T_RP;
            t->n = 1;
            t->depth = depth;
        } else if (*p == ',') {
            t->t = T_COMMA;
            t->n = 1;
        } else if (*p == '.') {
            t->t = T_DOT;
            t->n = 1;
        } else if ((p[0] == '|' && p[1] == '|') || (p[0] == '<' && p[1] == '=') ||
                   (p[0] == '>' && p[1] == '=') || (p[0] == '<' && p[1] == '>') ||
                   (p[0] == '!' && p[1] == '=')) {
            t->t = T_OP;
            t->n = 2;
        } else if (strchr("=<>+-*/%", *p)) {
            t->t = T_OP;
            t->n = 1;
        } else {
            /* [ ] (not supported by SuiteQL), ` ; ? : @ and anything else */
            char ch[8];
            snprintf(ch, sizeof ch, "%c", isprint((unsigned char)*p) ? *p : '?');
            return fail(c, "unexpected character '%s'", ch);
        }
        p += t->n;
        c->ntk++;
    }
    if (depth != 0)
        return fail(c, "unbalanced parentheses");
    if (c->ntk == 0)
        return fail(c, "the query is empty");
    return true;
}

static bool is_kw(const struct tok *t, const char *kw)
{
    return t->t == T_IDENT && t->n == strlen(kw) && strncasecmp(t->p, kw, t->n) == 0;
}

static const char *const keywords[] = {
    "SELECT", "FROM",      "WHERE",  "GROUP",    "BY",     "HAVING",  "ORDER",     "ASC",
    "DESC",   "NULLS",     "FIRST",  "LAST",     "JOIN",   "INNER",   "LEFT",      "RIGHT",
    "FULL",   "OUTER",     "CROSS",  "ON",       "AND",    "OR",      "NOT",       "IN",
    "IS",     "NULL",      "LIKE",   "BETWEEN",  "EXISTS", "CASE",    "WHEN",      "THEN",
    "ELSE",   "END",       "AS",     "DISTINCT", "ALL",    "UNION",   "INTERSECT", "MINUS",
    "EXCEPT", "FETCH",     "NEXT",   "ROWS",     "ROW",    "ONLY",    "OFFSET",    "WITH",
    "OVER",   "PARTITION", "ESCAPE", "LIMIT",    "USING",  "NATURAL", "UNIQUE",
};

static bool is_keyword(const struct tok *t)
{
    if (t->t != T_IDENT)
        return false;
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (is_kw(t, keywords[i]))
            return true;
    return false;
}

/* Index of the ')' matching the '(' at i, or ntk. */
static size_t match_paren(const struct ctx *c, size_t i)
{
    int d = 0;
    for (size_t j = i; j < c->ntk; j++) {
        if (c->tk[j].t == T_LP)
            d++;
        else if (c->tk[j].t == T_RP && --d == 0)
            return j;
    }
    return c->ntk;
}

static void out_raw(struct ctx *c, const char *p, size_t n)
{
    if (c->failed)
        return;
    if (mlc_buf_append(&c->out, p, n) != MLC_OK)
        fail(c, "the query is too long");
}

static void out_str(struct ctx *c, const char *s)
{
    out_raw(c, s, strlen(s));
}

static void out_sep(struct ctx *c)
{
    if (c->out.len && c->out.data[c->out.len - 1] != ' ' && c->out.data[c->out.len - 1] != '(' &&
        c->out.data[c->out.len - 1] != '.')
        out_raw(c, " ", 1);
}

/* ---- datetime classification of an expression [a, b) ---- */

static const char *const dt_columns[] = {"lastmodifieddate",     "datecreated",     "createddate",
                                         "linelastmodifieddate", "linecreateddate", "deleteddate"};
static const char *const date_columns[] = {"trandate", "shipdate"};

static int column_kind(const struct tok *t)
{
    if (t->t != T_IDENT && t->t != T_QIDENT)
        return 0;
    const char *p = t->p;
    size_t n = t->n;
    if (t->t == T_QIDENT) {
        p++;
        n -= 2;
    }
    for (size_t i = 0; i < sizeof dt_columns / sizeof dt_columns[0]; i++)
        if (n == strlen(dt_columns[i]) && strncasecmp(p, dt_columns[i], n) == 0)
            return 1;
    for (size_t i = 0; i < sizeof date_columns / sizeof date_columns[0]; i++)
        if (n == strlen(date_columns[i]) && strncasecmp(p, date_columns[i], n) == 0)
            return 2;
    return 0;
}

static int dt_kind(const struct ctx *c, size_t a, size_t b, int guard);

/* The first argument range of a call whose '(' is at lp. */
static void first_arg(const struct ctx *c, size_t lp, size_t rp, size_t *a, size_t *b)
{
    *a = lp + 1;
    int d = 0;
    for (size_t j = lp + 1; j < rp; j++) {
        if (c->tk[j].t == T_LP)
            d++;
        else if (c->tk[j].t == T_RP)
            d--;
        else if (c->tk[j].t == T_COMMA && d == 0) {
            *b = j;
            return;
        }
    }
    *b = rp;
}

static int dt_term(const struct ctx *c, size_t a, size_t b, int guard)
{
    if (a >= b || guard > 16)
        return 0;
    const struct tok *t = &c->tk[a];
    if (t->t == T_LP && match_paren(c, a) == b - 1)
        return dt_kind(c, a + 1, b - 1, guard + 1);
    if (b - a == 1)
        return column_kind(t) ? column_kind(t)
               : (is_kw(t, "SYSDATE") || is_kw(t, "SYSTIMESTAMP") || is_kw(t, "CURRENT_DATE") ||
                  is_kw(t, "CURRENT_TIMESTAMP"))
                   ? 1
                   : 0;
    if (b - a == 3 && c->tk[a + 1].t == T_DOT)
        return column_kind(&c->tk[a + 2]);
    if (b - a == 2 && (is_kw(t, "DATE") || is_kw(t, "TIMESTAMP")) && c->tk[a + 1].t == T_STR)
        return is_kw(t, "DATE") ? 2 : 1;
    if (t->t == T_IDENT && a + 1 < b && c->tk[a + 1].t == T_LP && match_paren(c, a + 1) == b - 1) {
        size_t x, y;
        first_arg(c, a + 1, b - 1, &x, &y);
        if (is_kw(t, "TO_DATE") || is_kw(t, "TO_TIMESTAMP") || is_kw(t, "SYS_EXTRACT_UTC") ||
            is_kw(t, "SYSDATE") || is_kw(t, "ADD_MONTHS"))
            return 1;
        if (is_kw(t, "TRUNC"))
            return dt_kind(c, x, y, guard + 1) ? 2 : 0;
        if (is_kw(t, "MAX") || is_kw(t, "MIN") || is_kw(t, "NVL") || is_kw(t, "COALESCE") ||
            is_kw(t, "GREATEST") || is_kw(t, "LEAST"))
            return dt_kind(c, x, y, guard + 1);
    }
    return 0;
}

static int dt_kind(const struct ctx *c, size_t a, size_t b, int guard)
{
    /* Split on top-level binary + and -: a datetime plus or minus numbers stays a datetime;
     * datetime minus datetime is a number of days. */
    int d = 0;
    size_t start = a;
    int first = -1;
    bool other_dt = false;
    for (size_t j = a; j <= b; j++) {
        bool end = j == b;
        if (!end) {
            const struct tok *t = &c->tk[j];
            if (t->t == T_LP)
                d++;
            else if (t->t == T_RP)
                d--;
            if (t->t == T_OP && t->n == 2 && t->p[0] == '|')
                return 0;
            if (d != 0 || t->t != T_OP || t->n != 1 || (t->p[0] != '+' && t->p[0] != '-') ||
                j == start)
                continue;
        }
        int k = dt_term(c, start, j, guard);
        if (first < 0)
            first = k;
        else if (k)
            other_dt = true;
        start = j + 1;
    }
    return first > 0 && !other_dt ? first : 0;
}

/* ---- FROM parsing (tables and aliases, for BUILTIN.DF and error messages) ---- */

static void record_table(struct ctx *c, const struct tok *name, const struct tok *alias)
{
    struct ns_sql *r = c->res;
    if (r->ntables >= sizeof r->tables / sizeof r->tables[0])
        return;
    size_t n = name->n < 63 ? name->n : 63;
    const char *p = name->p;
    if (name->t == T_QIDENT && n >= 2) {
        p++;
        n -= 2;
    }
    for (size_t i = 0; i < n; i++)
        r->tables[r->ntables][i] = (char)tolower((unsigned char)p[i]);
    r->tables[r->ntables][n] = '\0';
    r->aliases[r->ntables][0] = '\0';
    if (alias) {
        size_t an = alias->n < 63 ? alias->n : 63;
        for (size_t i = 0; i < an; i++)
            r->aliases[r->ntables][i] = (char)tolower((unsigned char)alias->p[i]);
        r->aliases[r->ntables][an] = '\0';
    }
    if (!r->first_table[0])
        snprintf(r->first_table, sizeof r->first_table, "%s", r->tables[r->ntables]);
    r->ntables++;
}

static void parse_from(struct ctx *c)
{
    for (size_t i = 0; i < c->ntk; i++) {
        if (!is_kw(&c->tk[i], "FROM") && !is_kw(&c->tk[i], "JOIN"))
            continue;
        bool list = is_kw(&c->tk[i], "FROM");
        size_t j = i + 1;
        for (;;) {
            if (j >= c->ntk)
                break;
            const struct tok *name = NULL, *alias = NULL;
            if (c->tk[j].t == T_LP) {
                j = match_paren(c, j) + 1;
            } else if ((c->tk[j].t == T_IDENT && !is_keyword(&c->tk[j])) ||
                       c->tk[j].t == T_QIDENT) {
                name = &c->tk[j++];
            } else {
                break;
            }
            if (j < c->ntk && is_kw(&c->tk[j], "AS"))
                j++;
            if (j < c->ntk && c->tk[j].t == T_IDENT && !is_keyword(&c->tk[j]))
                alias = &c->tk[j++];
            if (name)
                record_table(c, name, alias);
            if (list && j < c->ntk && c->tk[j].t == T_COMMA) {
                j++;
                continue;
            }
            break;
        }
    }
}

/* ---- the select list of the outer query: unnamed expressions get exprN ---- */

static void name_select_items(struct ctx *c)
{
    size_t sel = c->ntk;
    for (size_t i = 0; i < c->ntk; i++)
        if (c->tk[i].depth == 0 && is_kw(&c->tk[i], "SELECT")) {
            sel = i;
            break;
        }
    if (sel == c->ntk)
        return;
    size_t from = c->ntk;
    for (size_t i = sel + 1; i < c->ntk; i++)
        if (c->tk[i].depth == 0 &&
            (is_kw(&c->tk[i], "FROM") || is_kw(&c->tk[i], "UNION") || is_kw(&c->tk[i], "MINUS") ||
             is_kw(&c->tk[i], "EXCEPT") || is_kw(&c->tk[i], "INTERSECT"))) {
            from = i;
            break;
        }
    size_t a = sel + 1;
    if (a < from &&
        (is_kw(&c->tk[a], "DISTINCT") || is_kw(&c->tk[a], "ALL") || is_kw(&c->tk[a], "UNIQUE")))
        a++;
    int n = 0, expr = 0;
    for (size_t j = a; j <= from && n < NS_MAX_SELECT; j++) {
        if (j < from && !(c->tk[j].t == T_COMMA && c->tk[j].depth == 0))
            continue;
        size_t b = j; /* item is [a, b) */
        if (b > a) {
            const struct tok *last = &c->tk[b - 1];
            bool star = last->t == T_OP && last->n == 1 && last->p[0] == '*' &&
                        (b - a == 1 || (b - a == 3 && c->tk[a + 1].t == T_DOT));
            if (star) {
                c->res->nitems = -1;
                return;
            }
            bool plain = (b - a == 1 && (c->tk[a].t == T_IDENT || c->tk[a].t == T_QIDENT)) ||
                         (b - a == 3 && c->tk[a + 1].t == T_DOT);
            bool alias = false;
            size_t expr_end = b;
            if (!plain && b - a >= 2 && (last->t == T_IDENT || last->t == T_QIDENT) &&
                !is_keyword(last)) {
                const struct tok *prev = &c->tk[b - 2];
                if (is_kw(prev, "AS") || prev->t == T_RP || prev->t == T_STR || prev->t == T_NUM ||
                    prev->t == T_IDENT || prev->t == T_QIDENT) {
                    alias = true;
                    expr_end = is_kw(prev, "AS") ? b - 2 : b - 1;
                }
            }
            c->res->dt_item[n] = (unsigned char)dt_kind(c, a, expr_end, 0);
            if (!plain && !alias) {
                snprintf(c->suffix_store[b - 1], 24, " AS expr%d", ++expr);
                c->suffix[b - 1] = c->suffix_store[b - 1];
            }
            n++;
        }
        a = j + 1;
    }
    c->res->nitems = n;
}

/* ---- emission ---- */

static void emit_range(struct ctx *c, size_t a, size_t b);

static void out_tok(struct ctx *c, const struct tok *t)
{
    if (t->t == T_DOT || t->t == T_RP || t->t == T_COMMA || (t->t == T_LP && c->after_name)) {
        /* no space before . ) , nor between a function name and its '(' */
    } else {
        out_sep(c);
    }
    out_raw(c, t->p, t->n);
    if (t->t == T_COMMA)
        out_raw(c, " ", 1);
    c->after_name = (t->t == T_IDENT && !is_keyword(t)) || t->t == T_QIDENT;
}

/* BUILTIN.DF(<column>): the display value, looked up the way NetSuite shows it. */
static void emit_df(struct ctx *c, size_t a, size_t b)
{
    const struct tok *alias = NULL, *col = NULL;
    if (b - a == 1 && c->tk[a].t == T_IDENT)
        col = &c->tk[a];
    else if (b - a == 3 && c->tk[a].t == T_IDENT && c->tk[a + 1].t == T_DOT &&
             c->tk[a + 2].t == T_IDENT)
        alias = &c->tk[a], col = &c->tk[a + 2];
    static const struct {
        const char *col, *fmt;
    } map[] = {
        {"category", "(SELECT name FROM customercategory WHERE id = %s)"},
        {"entitystatus", "(SELECT entitytype || '-' || name FROM entitystatus WHERE key = %s)"},
        {"subsidiary", "(SELECT name FROM subsidiary WHERE id = %s)"},
        {"currency", "(SELECT name FROM currency WHERE id = %s)"},
        {"terms", "(SELECT name FROM term WHERE id = %s)"},
        {"salesrep", "(SELECT entityid FROM employee WHERE id = %s)"},
        {"entity", "(SELECT entityid FROM customer WHERE id = %s)"},
        {"company", "(SELECT entityid FROM customer WHERE id = %s)"},
        {"parent", "(SELECT entityid FROM customer WHERE id = %s)"},
        {"item", "(SELECT itemid FROM item WHERE id = %s)"},
        {"contactrole", "(SELECT name FROM contactrole WHERE id = %s)"},
        {"transaction", "(SELECT 'Sales Order #' || tranid FROM \"transaction\" WHERE id = %s)"},
        {"type", "ns_df_type(%s)"},
    };
    if (col) {
        char expr[300];
        char colname[130];
        snprintf(colname, sizeof colname, "%.*s", (int)col->n, col->p);
        bool quote = strcasecmp(colname, "transaction") == 0;
        if (alias)
            snprintf(expr, sizeof expr, "%.*s.%s%s%s", (int)alias->n, alias->p, quote ? "\"" : "",
                     colname, quote ? "\"" : "");
        else
            snprintf(expr, sizeof expr, "%s%s%s", quote ? "\"" : "", colname, quote ? "\"" : "");
        if (strcasecmp(colname, "status") == 0) {
            char buf[700];
            if (alias)
                snprintf(buf, sizeof buf, "ns_df_status(%.*s.type, %s)", (int)alias->n, alias->p,
                         expr);
            else
                snprintf(buf, sizeof buf, "ns_df_status(type, %s)", expr);
            out_sep(c);
            out_str(c, buf);
            return;
        }
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
            if (strcasecmp(map[i].col, colname) == 0) {
                const char *ph = strstr(map[i].fmt, "%s");
                out_sep(c);
                out_raw(c, map[i].fmt, (size_t)(ph - map[i].fmt));
                out_str(c, expr);
                out_str(c, ph + 2);
                return;
            }
        }
    }
    out_sep(c);
    out_str(c, "CAST((");
    emit_range(c, a, b);
    out_str(c, ") AS TEXT)");
}

/* A literal like '2026-01-31' or '2026-01-31 12:00:00[.123]' after DATE / TIMESTAMP. */
static void emit_typed_literal(struct ctx *c, const struct tok *kw, const struct tok *lit)
{
    bool has_time = memchr(lit->p, ':', lit->n) != NULL;
    bool has_frac = has_time && memchr(lit->p, '.', lit->n) != NULL;
    out_sep(c);
    out_str(c, is_kw(kw, "DATE") ? "to_date(" : "to_timestamp(");
    out_raw(c, lit->p, lit->n);
    out_str(c, has_frac   ? ", 'YYYY-MM-DD HH24:MI:SS.FF')"
               : has_time ? ", 'YYYY-MM-DD HH24:MI:SS')"
                          : ", 'YYYY-MM-DD')");
}

/* FETCH {FIRST|NEXT} [n] {ROW|ROWS} ONLY at i; *end receives the index after ONLY. */
static bool parse_fetch(struct ctx *c, size_t i, size_t b, const struct tok **n, size_t *end)
{
    size_t j = i + 1;
    if (j >= b || !(is_kw(&c->tk[j], "FIRST") || is_kw(&c->tk[j], "NEXT")))
        return fail(c, "FETCH needs FIRST or NEXT");
    j++;
    *n = NULL;
    if (j < b && c->tk[j].t == T_NUM)
        *n = &c->tk[j++];
    if (j >= b || !(is_kw(&c->tk[j], "ROW") || is_kw(&c->tk[j], "ROWS")))
        return fail(c, "FETCH needs ROWS");
    j++;
    if (j >= b || !is_kw(&c->tk[j], "ONLY"))
        return fail(c, "FETCH needs ONLY");
    *end = j + 1;
    return true;
}

static void emit_range(struct ctx *c, size_t a, size_t b)
{
    for (size_t i = a; i < b && !c->failed;) {
        const struct tok *t = &c->tk[i];
        bool was_name = c->after_name;
        c->after_name = false;
        const struct tok *nx = i + 1 < b ? &c->tk[i + 1] : NULL;
        const struct tok *pv = i > a ? &c->tk[i - 1] : NULL;
        bool after_dot = pv && pv->t == T_DOT;

        if (is_kw(t, "BUILTIN") && nx && nx->t == T_DOT && i + 3 < b && c->tk[i + 2].t == T_IDENT &&
            c->tk[i + 3].t == T_LP) {
            const struct tok *fn = &c->tk[i + 2];
            size_t rp = match_paren(c, i + 3);
            if (rp >= b) {
                fail(c, "unbalanced parentheses");
                return;
            }
            if (is_kw(fn, "DF")) {
                emit_df(c, i + 4, rp);
            } else if (is_kw(fn, "CONSOLIDATE") || is_kw(fn, "CURRENCY")) {
                size_t x, y;
                first_arg(c, i + 3, rp, &x, &y);
                out_sep(c);
                out_str(c, "(");
                emit_range(c, x, y);
                out_str(c, ")");
            } else {
                char name[64];
                snprintf(name, sizeof name, "%.*s", (int)(fn->n < 60 ? fn->n : 60), fn->p);
                {
                    fail(c, "unsupported function BUILTIN.%s", name);
                    return;
                }
            }
            if (c->suffix[rp])
                out_str(c, c->suffix[rp]);
            i = rp + 1;
            continue;
        }
        if (t->t == T_IDENT && !after_dot && (is_kw(t, "DATE") || is_kw(t, "TIMESTAMP")) && nx &&
            nx->t == T_STR) {
            emit_typed_literal(c, t, nx);
            if (c->suffix[i + 1])
                out_str(c, c->suffix[i + 1]);
            i += 2;
            continue;
        }
        if (t->t == T_IDENT && !after_dot &&
            (is_kw(t, "SYSDATE") || is_kw(t, "SYSTIMESTAMP") || is_kw(t, "CURRENT_DATE") ||
             is_kw(t, "CURRENT_TIMESTAMP"))) {
            out_sep(c);
            out_str(c, "sysdate()");
            if (nx && nx->t == T_LP && i + 2 < b && c->tk[i + 2].t == T_RP)
                i += 2; /* SYSDATE() written as a call */
            if (c->suffix[i])
                out_str(c, c->suffix[i]);
            i++;
            continue;
        }
        if (is_kw(t, "TRUNC") && !after_dot && nx && nx->t == T_LP) {
            size_t rp = match_paren(c, i + 1);
            size_t x, y;
            first_arg(c, i + 1, rp, &x, &y);
            out_sep(c);
            out_str(c, dt_kind(c, x, y, 0) ? "trunc_date" : "trunc");
            c->after_name = true;
            i++;
            continue;
        }
        if (is_kw(t, "ORDER") && t->depth == 0 && nx && is_kw(nx, "BY"))
            c->res->order_pos = c->out.len;
        if (is_kw(t, "MINUS")) {
            out_sep(c);
            out_str(c, "EXCEPT");
            i++;
            continue;
        }
        if (is_kw(t, "LIMIT")) {
            if (!c->allow_limit) {
                fail(c, "LIMIT is not SuiteQL syntax (use FETCH FIRST n ROWS ONLY)");
                return;
            }
            if (t->depth == 0)
                c->res->has_limit = true;
        }
        if (is_kw(t, "ROWNUM") && !after_dot) {
            fail(c, "ROWNUM is not supported by the sandbox");
            return;
        }
        if (is_kw(t, "OFFSET") && !after_dot && nx && nx->t == T_NUM && i + 2 < b &&
            (is_kw(&c->tk[i + 2], "ROW") || is_kw(&c->tk[i + 2], "ROWS"))) {
            const struct tok *off = nx, *lim = NULL;
            size_t j = i + 3;
            if (j < b && is_kw(&c->tk[j], "FETCH")) {
                if (!parse_fetch(c, j, b, &lim, &j))
                    return;
            }
            out_sep(c);
            out_str(c, "LIMIT ");
            if (lim)
                out_raw(c, lim->p, lim->n);
            else
                out_str(c, lim ? "" : (j > i + 3 ? "1" : "-1"));
            out_str(c, " OFFSET ");
            out_raw(c, off->p, off->n);
            if (t->depth == 0)
                c->res->has_limit = true;
            i = j;
            continue;
        }
        if (is_kw(t, "FETCH") && !after_dot) {
            const struct tok *lim = NULL;
            size_t j;
            if (!parse_fetch(c, i, b, &lim, &j))
                return;
            out_sep(c);
            out_str(c, "LIMIT ");
            if (lim)
                out_raw(c, lim->p, lim->n);
            else
                out_str(c, "1");
            if (t->depth == 0)
                c->res->has_limit = true;
            i = j;
            continue;
        }
        if (t->t == T_IDENT && t->n == 11 && strncasecmp(t->p, "transaction", 11) == 0) {
            if (!after_dot)
                out_sep(c);
            out_str(c, "\"transaction\"");
        } else if (t->t == T_OP && t->n == 1 && t->p[0] == '%') {
            {
                fail(c, "unexpected character '%s'", "%");
                return;
            }
        } else {
            c->after_name = was_name;
            out_tok(c, t);
        }
        if (c->suffix[i]) {
            out_str(c, c->suffix[i]);
            c->after_name = false;
        }
        i++;
    }
}

enum mlc_rc ns_suiteql_translate(const char *q, bool allow_limit, struct ns_sql *out, char *err,
                                 size_t errsz)
{
    memset(out, 0, sizeof *out);
    out->nitems = -1;
    if (!q || strlen(q) > MAX_QUERY) {
        snprintf(err, errsz, "the query is empty or longer than %d characters", MAX_QUERY);
        return MLC_EINVAL;
    }
    struct ctx c = {.q = q, .err = err, .errsz = errsz, .allow_limit = allow_limit, .res = out};
    mlc_buf_init(&c.out, MAX_OUT);
    enum mlc_rc rc = MLC_EINVAL;
    if (!tokenize(&c))
        goto out;
    /* A query starts with SELECT or WITH: SuiteQL is read-only. */
    if (!is_kw(&c.tk[0], "SELECT") && !is_kw(&c.tk[0], "WITH") && c.tk[0].t != T_LP) {
        fail(&c, "only SELECT queries are supported");
        goto out;
    }
    c.suffix = mlc_calloc(c.ntk, sizeof *c.suffix);
    c.suffix_store = mlc_calloc(c.ntk, sizeof *c.suffix_store);
    parse_from(&c);
    name_select_items(&c);
    emit_range(&c, 0, c.ntk);
    if (c.failed)
        goto out;
    out->sql = mlc_strdup(c.out.data ? c.out.data : "");
    rc = MLC_OK;
out:
    free(c.tk);
    free(c.suffix);
    free(c.suffix_store);
    mlc_buf_free(&c.out);
    return rc;
}

void ns_sql_free(struct ns_sql *q)
{
    if (q)
        MLC_FREE(q->sql);
}

enum mlc_rc mlc_sandbox_suiteql_translate(const char *q, bool allow_limit, char **sql, char *err,
                                          size_t errsz)
{
    struct ns_sql r;
    enum mlc_rc rc = ns_suiteql_translate(q, allow_limit, &r, err, errsz);
    if (rc == MLC_OK) {
        *sql = r.sql;
        r.sql = NULL;
    }
    return rc;
}
