/* The sandbox: a local NetSuite (and, in part 2, Dataverse + Entra) that the connector's clients run against. */
#ifndef MLC_SANDBOX_H
#define MLC_SANDBOX_H

#include "mlc/core.h"

/* `ml-connector sandbox ...`: argv[0] is "sandbox". Returns the process exit code (0, 1, or 2 on
 * bad usage). Blocks until SIGINT/SIGTERM. */
int mlc_sandbox_main(int argc, char **argv);

/* SuiteQL (Oracle-flavoured) -> SQLite translation, exposed for the fuzz target and unit tests.
 * allow_limit accepts a LIMIT clause (off by default: SuiteQL uses FETCH FIRST / ROWNUM).
 * On success *sql is owned. MLC_EINVAL with a NetSuite-style detail in err otherwise. */
enum mlc_rc mlc_sandbox_suiteql_translate(const char *q, bool allow_limit, char **sql, char *err,
                                          size_t errsz);

#endif
