/* The error table: every problem+json code the service answers with. openapi/ lists the same. */
#include "mlc/problem.h"

#include <string.h>

static const struct mlc_problem_def table[] = {
    {"invalid_json", 400, "The body is not valid JSON"},
    {"invalid_field", 400, "A field is missing or breaks a rule"},
    {"unauthorized", 401, "Missing or invalid credentials"},
    {"forbidden_ip", 403, "The source address is not allowed"},
    {"wrong_account", 403, "The event names another NetSuite account"},
    {"wrong_organization", 403, "The event names another Dataverse organization"},
    {"not_found", 404, "No such resource"},
    {"method_not_allowed", 405, "Method not allowed on this resource"},
    {"payload_too_large", 413, "The body exceeds the configured limit"},
    {"unsupported_media_type", 415, "The body must be application/json"},
    {"internal_error", 500, "Internal error"},
    {"queue_unavailable", 503, "The queue (Redis) is unreachable"},
    {"queue_full", 503, "The queue backlog is at its configured limit"},
    {"shutting_down", 503, "The service is shutting down"},
};

const struct mlc_problem_def *mlc_problem_table(size_t *n)
{
    *n = sizeof table / sizeof table[0];
    return table;
}

const struct mlc_problem_def *mlc_problem_find(const char *code)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].code, code) == 0)
            return &table[i];
    return NULL;
}
