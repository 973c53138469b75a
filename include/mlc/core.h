/* Core: return codes, allocation wrappers, bounded buffers, clock helpers. */
#ifndef MLC_CORE_H
#define MLC_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Result of every fallible function. MLC_OK is 0. */
enum mlc_rc {
    MLC_OK = 0,
    MLC_ERR,         /* generic failure; detail in the caller's buffer */
    MLC_EINVAL,      /* bad input */
    MLC_ENOMEM,      /* a bounded buffer is full */
    MLC_EUNAVAIL,    /* a dependency (Redis) is unreachable */
    MLC_ENOTFOUND,   /* no such thing */
    MLC_EEXISTS,     /* already there */
};

/* Allocation wrappers: abort on out-of-memory (sizes are internal or bounded first). */
void *mlc_malloc(size_t n);
void *mlc_calloc(size_t n, size_t size);
void *mlc_realloc(void *p, size_t n);
char *mlc_strdup(const char *s);
char *mlc_strndup(const char *s, size_t n);
#define MLC_FREE(p)                                                                                \
    do {                                                                                           \
        free(p);                                                                                   \
        (p) = NULL;                                                                                \
    } while (0)

/* A growable byte buffer with a hard maximum set at creation (like curl's dynbuf).
 * Always NUL-terminated. */
struct mlc_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};
void mlc_buf_init(struct mlc_buf *b, size_t max);
/* Appends; MLC_ENOMEM when the maximum would be exceeded (buffer unchanged). */
enum mlc_rc mlc_buf_append(struct mlc_buf *b, const void *p, size_t n);
enum mlc_rc mlc_buf_printf(struct mlc_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mlc_buf_reset(struct mlc_buf *b);
void mlc_buf_free(struct mlc_buf *b);

/* Clocks. */
int64_t mlc_now_ms(void);       /* wall clock, Unix ms */
int64_t mlc_mono_ms(void);      /* monotonic ms */
uint64_t mlc_mono_ns(void);     /* monotonic ns */
void mlc_sleep_ms(int64_t ms);
/* Formats Unix ms as RFC 3339 UTC with milliseconds into out (>= 32 bytes). */
void mlc_fmt_rfc3339(int64_t unix_ms, char *out, size_t outsz);
/* Parses an RFC 3339 date-time (offset or Z required). MLC_EINVAL when malformed. */
enum mlc_rc mlc_parse_rfc3339(const char *s, int64_t *unix_ms);

/* Parses a decimal unsigned integer filling the whole string; MLC_EINVAL otherwise. */
enum mlc_rc mlc_parse_u64(const char *s, uint64_t *out);

/* Fast non-cryptographic random for jitter (per-thread state, seeded from the clock). */
uint64_t mlc_rand_u64(void);

#endif
