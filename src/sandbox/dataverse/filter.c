/* OData $filter: a recursive-descent parser (eq ne gt ge lt le, and or not, in,
 * contains/startswith/endswith) and its evaluation on rows. */
#include "internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FILTER_LEN 16384
#define MAX_DEPTH 64
#define MAX_IN 1000

enum fkind { F_AND, F_OR, F_NOT, F_CMP, F_IN, F_FUNC, F_BOOL };
enum fop { OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE };

struct dv_filter {
    enum fkind kind;
    enum fop op;
    struct dv_filter *l, *r;
    char *path;
    json_t *lit; /* literal (cmp, func) or array (in) */
    char func[16];
};

struct parser {
    const char *s;
    size_t pos, len;
    int depth;
    char *err;
    size_t errsz;
    bool failed;
};

static void fail(struct parser *p, const char *what)
{
    if (p->failed)
        return;
    p->failed = true;
    snprintf(p->err, p->errsz, "Syntax error: %s at position %zu in '%.200s'.", what, p->pos, p->s);
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
        p->pos++;
}

static bool is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '/' || c == '.' || c == '@';
}

/* Reads a bare word (identifier, keyword, number, guid, date) into out. */
static size_t word(struct parser *p, char *out, size_t sz)
{
    skip_ws(p);
    size_t st = p->pos;
    while (p->pos < p->len && (is_ident_char(p->s[p->pos]) || p->s[p->pos] == '-' ||
                               p->s[p->pos] == ':' || p->s[p->pos] == '+'))
        p->pos++;
    size_t n = p->pos - st;
    if (n >= sz) {
        fail(p, "token too long");
        return 0;
    }
    memcpy(out, p->s + st, n);
    out[n] = '\0';
    return n;
}

static bool peek_word(struct parser *p, const char *kw)
{
    skip_ws(p);
    size_t l = strlen(kw);
    if (p->pos + l > p->len || strncmp(p->s + p->pos, kw, l) != 0)
        return false;
    if (p->pos + l < p->len && is_ident_char(p->s[p->pos + l]))
        return false;
    return true;
}

static bool eat(struct parser *p, char c)
{
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == c) {
        p->pos++;
        return true;
    }
    return false;
}

static struct dv_filter *node(enum fkind k)
{
    struct dv_filter *f = mlc_calloc(1, sizeof *f);
    f->kind = k;
    return f;
}

void dv_filter_free(struct dv_filter *f)
{
    if (!f)
        return;
    dv_filter_free(f->l);
    dv_filter_free(f->r);
    free(f->path);
    json_decref(f->lit);
    free(f);
}

/* A literal: 'text', number, true/false/null, a GUID, a date-time. NULL on error. */
static json_t *literal(struct parser *p)
{
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '\'') {
        struct mlc_buf b;
        mlc_buf_init(&b, MAX_FILTER_LEN);
        p->pos++;
        for (;;) {
            if (p->pos >= p->len) {
                mlc_buf_free(&b);
                fail(p, "unterminated string literal");
                return NULL;
            }
            char c = p->s[p->pos++];
            if (c == '\'') {
                if (p->pos < p->len && p->s[p->pos] == '\'') {
                    p->pos++;
                    mlc_buf_append(&b, "'", 1);
                    continue;
                }
                break;
            }
            mlc_buf_append(&b, &c, 1);
        }
        json_t *v = json_stringn(b.data ? b.data : "", b.len);
        mlc_buf_free(&b);
        if (!v)
            fail(p, "string literal is not valid UTF-8");
        return v;
    }
    char w[128];
    size_t at = p->pos;
    size_t n = word(p, w, sizeof w);
    if (p->failed)
        return NULL;
    if (n == 0) {
        fail(p, "expected a literal");
        return NULL;
    }
    if (strcmp(w, "null") == 0)
        return json_null();
    if (strcmp(w, "true") == 0)
        return json_true();
    if (strcmp(w, "false") == 0)
        return json_false();
    if (dv_guid_valid(w, n))
        return json_string(w);
    char *end = NULL;
    if (isdigit((unsigned char)w[0]) || w[0] == '-') {
        bool real = strchr(w, '.') || strchr(w, 'e') || strchr(w, 'E');
        if (n >= 10 && w[4] == '-' && w[7] == '-') /* a date or date-time literal */
            return json_string(w);
        if (real) {
            double d = strtod(w, &end);
            if (end && *end == '\0' && isfinite(d))
                return json_real(d);
        } else {
            long long v = strtoll(w, &end, 10);
            if (end && *end == '\0')
                return json_integer(v);
        }
    }
    p->pos = at;
    fail(p, "expected a literal");
    return NULL;
}

static struct dv_filter *parse_or(struct parser *p);

static bool read_path(struct parser *p, char **out)
{
    char w[256];
    size_t at = p->pos;
    skip_ws(p);
    at = p->pos;
    size_t st = p->pos;
    while (p->pos < p->len &&
           (isalnum((unsigned char)p->s[p->pos]) || p->s[p->pos] == '_' || p->s[p->pos] == '/'))
        p->pos++;
    size_t n = p->pos - st;
    if (n == 0 || n >= sizeof w || !(isalpha((unsigned char)p->s[st]) || p->s[st] == '_') ||
        p->s[st + n - 1] == '/') {
        p->pos = at;
        fail(p, "expected a property name");
        return false;
    }
    memcpy(w, p->s + st, n);
    w[n] = '\0';
    *out = mlc_strdup(w);
    return true;
}

static struct dv_filter *parse_primary(struct parser *p)
{
    if (++p->depth > MAX_DEPTH) {
        fail(p, "expression nested too deeply");
        return NULL;
    }
    struct dv_filter *f = NULL;
    skip_ws(p);
    if (eat(p, '(')) {
        f = parse_or(p);
        if (f && !eat(p, ')')) {
            fail(p, "expected ')'");
            dv_filter_free(f);
            f = NULL;
        }
        goto out;
    }
    if (peek_word(p, "not")) {
        p->pos += 3;
        struct dv_filter *inner = parse_primary(p);
        if (!inner)
            goto out;
        f = node(F_NOT);
        f->l = inner;
        goto out;
    }
    static const char *const funcs[] = {"contains", "startswith", "endswith"};
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
        if (!peek_word(p, funcs[i]))
            continue;
        size_t save = p->pos;
        p->pos += strlen(funcs[i]);
        if (!eat(p, '(')) {
            p->pos = save;
            break; /* a property that happens to have the name */
        }
        f = node(F_FUNC);
        snprintf(f->func, sizeof f->func, "%s", funcs[i]);
        if (!read_path(p, &f->path) || !eat(p, ',') || !(f->lit = literal(p)) ||
            !json_is_string(f->lit) || !eat(p, ')')) {
            fail(p, "expected (property, 'text')");
            dv_filter_free(f);
            f = NULL;
        }
        goto out;
    }
    if (peek_word(p, "true") || peek_word(p, "false")) {
        f = node(F_BOOL);
        f->lit = peek_word(p, "true") ? json_true() : json_false();
        p->pos += json_is_true(f->lit) ? 4 : 5;
        goto out;
    }
    char *path = NULL;
    if (!read_path(p, &path))
        goto out;
    char op[16];
    size_t opat = p->pos;
    word(p, op, sizeof op);
    if (p->failed) {
        free(path);
        goto out;
    }
    if (strcmp(op, "in") == 0) {
        f = node(F_IN);
        f->path = path;
        f->lit = json_array();
        if (!eat(p, '(')) {
            fail(p, "expected '(' after in");
            goto bad;
        }
        do {
            json_t *v = literal(p);
            if (!v)
                goto bad;
            if (json_array_size(f->lit) >= MAX_IN) {
                json_decref(v);
                fail(p, "too many values in an in list");
                goto bad;
            }
            json_array_append_new(f->lit, v);
        } while (eat(p, ','));
        if (!eat(p, ')')) {
            fail(p, "expected ')' after the in list");
            goto bad;
        }
        goto out;
    }
    static const char *const ops[] = {"eq", "ne", "gt", "ge", "lt", "le"};
    size_t i = 0;
    for (; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(op, ops[i]) == 0)
            break;
    if (i == sizeof ops / sizeof ops[0]) {
        free(path);
        p->pos = opat;
        fail(p, "expected a comparison operator (eq, ne, gt, ge, lt, le, in)");
        goto out;
    }
    f = node(F_CMP);
    f->op = (enum fop)i;
    f->path = path;
    if (!(f->lit = literal(p)))
        goto bad;
    goto out;
bad:
    dv_filter_free(f);
    f = NULL;
out:
    p->depth--;
    return f;
}

static struct dv_filter *parse_and(struct parser *p)
{
    struct dv_filter *l = parse_primary(p);
    while (l && peek_word(p, "and")) {
        p->pos += 3;
        struct dv_filter *r = parse_primary(p);
        if (!r) {
            dv_filter_free(l);
            return NULL;
        }
        struct dv_filter *n = node(F_AND);
        n->l = l;
        n->r = r;
        l = n;
    }
    return l;
}

static struct dv_filter *parse_or(struct parser *p)
{
    if (++p->depth > MAX_DEPTH) {
        fail(p, "expression nested too deeply");
        p->depth--;
        return NULL;
    }
    struct dv_filter *l = parse_and(p);
    while (l && peek_word(p, "or")) {
        p->pos += 2;
        struct dv_filter *r = parse_and(p);
        if (!r) {
            dv_filter_free(l);
            l = NULL;
            break;
        }
        struct dv_filter *n = node(F_OR);
        n->l = l;
        n->r = r;
        l = n;
    }
    p->depth--;
    return l;
}

enum mlc_rc dv_filter_parse(const char *text, struct dv_filter **out, char *err, size_t errsz)
{
    *out = NULL;
    struct parser p = {.s = text, .len = strlen(text), .err = err, .errsz = errsz};
    if (p.len > MAX_FILTER_LEN) {
        snprintf(err, errsz, "The $filter expression is longer than %d characters.",
                 MAX_FILTER_LEN);
        return MLC_EINVAL;
    }
    struct dv_filter *f = parse_or(&p);
    skip_ws(&p);
    if (f && p.pos != p.len) {
        fail(&p, "unexpected text after the expression");
        dv_filter_free(f);
        f = NULL;
    }
    if (!f) {
        if (!p.failed)
            fail(&p, "empty expression");
        return MLC_EINVAL;
    }
    *out = f;
    return MLC_OK;
}

/* -1, 0, 1, or 2 when the two cannot be compared. */
static int compare(json_t *a, json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (json_is_boolean(a) && json_is_boolean(b))
        return json_is_true(a) == json_is_true(b) ? 0 : 2;
    if (json_is_string(a) && json_is_string(b)) {
        int c = strcasecmp(json_string_value(a), json_string_value(b));
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    if (json_is_string(a) && json_is_number(b)) { /* a choice or number kept as text */
        char *end = NULL;
        double x = strtod(json_string_value(a), &end);
        if (end && *end == '\0' && end != json_string_value(a)) {
            double y = json_number_value(b);
            return x < y ? -1 : x > y ? 1 : 0;
        }
    }
    return 2;
}

static bool eq(json_t *v, json_t *lit)
{
    bool vnull = !v || json_is_null(v);
    if (json_is_null(lit))
        return vnull;
    if (vnull)
        return false;
    return compare(v, lit) == 0;
}

bool dv_filter_eval(const struct dv_filter *f, json_t *row, dv_resolve_fn resolve, void *ud)
{
    switch (f->kind) {
    case F_AND:
        return dv_filter_eval(f->l, row, resolve, ud) && dv_filter_eval(f->r, row, resolve, ud);
    case F_OR:
        return dv_filter_eval(f->l, row, resolve, ud) || dv_filter_eval(f->r, row, resolve, ud);
    case F_NOT:
        return !dv_filter_eval(f->l, row, resolve, ud);
    case F_BOOL:
        return json_is_true(f->lit);
    case F_IN: {
        json_t *v = resolve(ud, row, f->path);
        for (size_t i = 0; i < json_array_size(f->lit); i++)
            if (eq(v, json_array_get(f->lit, i)))
                return true;
        return false;
    }
    case F_FUNC: {
        json_t *v = resolve(ud, row, f->path);
        if (!json_is_string(v))
            return false;
        const char *h = json_string_value(v), *n = json_string_value(f->lit);
        size_t hl = strlen(h), nl = strlen(n);
        if (strcmp(f->func, "startswith") == 0)
            return hl >= nl && strncasecmp(h, n, nl) == 0;
        if (strcmp(f->func, "endswith") == 0)
            return hl >= nl && strcasecmp(h + hl - nl, n) == 0;
        for (size_t i = 0; i + nl <= hl; i++)
            if (strncasecmp(h + i, n, nl) == 0)
                return true;
        return false;
    }
    case F_CMP: {
        json_t *v = resolve(ud, row, f->path);
        if (f->op == OP_EQ)
            return eq(v, f->lit);
        if (f->op == OP_NE)
            return !eq(v, f->lit);
        if (!v || json_is_null(v) || json_is_null(f->lit))
            return false;
        int c = compare(v, f->lit);
        if (c == 2)
            return false;
        switch (f->op) {
        case OP_GT:
            return c > 0;
        case OP_GE:
            return c >= 0;
        case OP_LT:
            return c < 0;
        default:
            return c <= 0;
        }
    }
    }
    return false;
}

bool dv_filter_paths(const struct dv_filter *f, bool (*fn)(void *ud, const char *path), void *ud)
{
    if (!f)
        return true;
    if (f->path && !fn(ud, f->path))
        return false;
    return dv_filter_paths(f->l, fn, ud) && dv_filter_paths(f->r, fn, ud);
}
