/* The one table of HTTP error codes (RFC 9457 problem+json); it also feeds openapi/. */
#ifndef MLC_PROBLEM_H
#define MLC_PROBLEM_H

#include <stddef.h>

struct mlc_problem_def {
    const char *code;   /* stable machine-readable code */
    int status;         /* HTTP status */
    const char *title;  /* short human summary */
};

/* The whole table; *n receives its length. */
const struct mlc_problem_def *mlc_problem_table(size_t *n);
/* The row for code, or NULL. */
const struct mlc_problem_def *mlc_problem_find(const char *code);

#endif
