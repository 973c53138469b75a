/* Admin and probe routes: /healthz, /readyz, /metrics (the /v1/ admin API comes later). */
#ifndef MLC_ADMIN_H
#define MLC_ADMIN_H

#include "mlc/http.h"

struct mlc_app;

/* Writes the probe and metrics routes into routes; returns how many (at most max). */
size_t mlc_admin_probe_routes(struct mlc_app *app, struct mlc_route *routes, size_t max);

/* The /v1/ admin API (one prefix route, placed after the webhook routes): status, records,
 * audit, sync, dlq, lanes, behind MLC_ADMIN_TOKENS. 0 routes when no token is configured. */
size_t mlc_admin_api_routes(struct mlc_app *app, struct mlc_route *routes, size_t max);

#endif
