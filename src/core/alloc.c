/* Allocation wrappers that abort on out-of-memory, and bounded growable buffers. */
#include "mlc/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "{\"level\":\"error\",\"msg\":\"out of memory allocating %zu bytes\"}\n", n);
    abort();
}

void *mlc_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *mlc_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *mlc_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *mlc_strdup(const char *s)
{
    return mlc_strndup(s, strlen(s));
}

char *mlc_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = mlc_malloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void mlc_buf_init(struct mlc_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

enum mlc_rc mlc_buf_append(struct mlc_buf *b, const void *p, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return MLC_ENOMEM;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > b->max + 1)
            cap = b->max + 1;
        b->data = mlc_realloc(b->data, cap);
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return MLC_OK;
}

enum mlc_rc mlc_buf_printf(struct mlc_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return MLC_EINVAL;
    if ((size_t)n < sizeof small)
        return mlc_buf_append(b, small, (size_t)n);
    char *big = mlc_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    enum mlc_rc rc = mlc_buf_append(b, big, (size_t)n);
    free(big);
    return rc;
}

void mlc_buf_reset(struct mlc_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void mlc_buf_free(struct mlc_buf *b)
{
    MLC_FREE(b->data);
    b->len = b->cap = 0;
}
