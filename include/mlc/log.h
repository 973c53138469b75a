/* Logging: one JSON object per line on stderr. Never pass a secret, token, query or full body. */
#ifndef MLC_LOG_H
#define MLC_LOG_H

#include <jansson.h>

enum mlc_log_level { MLC_LOG_DEBUG = 0, MLC_LOG_INFO, MLC_LOG_WARN, MLC_LOG_ERROR };

/* Sets the threshold; below it nothing is written. Call before threads start. */
void mlc_log_set_level(enum mlc_log_level lvl);
enum mlc_log_level mlc_log_get_level(void);
/* Parses "debug|info|warn|error"; MLC_EINVAL-like -1 when unknown. */
int mlc_log_level_parse(const char *s);

/* Writes {"ts","level","msg",...fields}. fields (may be NULL) is stolen. */
void mlc_log_kv(enum mlc_log_level lvl, const char *msg, json_t *fields);
/* printf-style message, no extra fields. */
void mlc_log(enum mlc_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A broken invariant: logs at error level with file:line. */
#define MLC_BUG(msg) mlc_log(MLC_LOG_ERROR, "bug at %s:%d: %s", __FILE__, __LINE__, (msg))

#endif
