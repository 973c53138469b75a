/* JSON-lines logger on stderr; one write(2) per line so concurrent lines never interleave. */
#include "mlc/log.h"
#include "mlc/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum mlc_log_level threshold = MLC_LOG_INFO; /* set once before threads start */

static const char *const names[] = {"debug", "info", "warn", "error"};

void mlc_log_set_level(enum mlc_log_level lvl)
{
    threshold = lvl;
}

enum mlc_log_level mlc_log_get_level(void)
{
    return threshold;
}

int mlc_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void mlc_log_kv(enum mlc_log_level lvl, const char *msg, json_t *fields)
{
    if (lvl < threshold) {
        json_decref(fields);
        return;
    }
    json_t *o = json_object();
    char ts[40];
    mlc_fmt_rfc3339(mlc_now_ms(), ts, sizeof ts);
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(names[lvl]));
    json_object_set_new(o, "msg", json_string(msg ? msg : ""));
    if (fields) {
        json_object_update(o, fields);
        json_decref(fields);
    }
    char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!line)
        return;
    size_t n = strlen(line);
    line = mlc_realloc(line, n + 2);
    line[n] = '\n';
    line[n + 1] = '\0';
    ssize_t w = write(STDERR_FILENO, line, n + 1);
    (void)w;
    free(line);
}

void mlc_log(enum mlc_log_level lvl, const char *fmt, ...)
{
    if (lvl < threshold)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mlc_log_kv(lvl, msg, NULL);
}
