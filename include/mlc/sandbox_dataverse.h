/* The sandbox's emulated Dataverse + Entra ID, as `ml-connector sandbox` starts it
 * (src/sandbox/dataverse/). */
#ifndef MLC_SANDBOX_DATAVERSE_H
#define MLC_SANDBOX_DATAVERSE_H

#include "mlc/core.h"
#include <jansson.h>

struct mlc_dv_running;

struct mlc_dv_launch {
    long port; /* 0: any free port */
    const char *listen_host, *public_host;
    unsigned threads;
    const char *tls_cert_pem, *tls_key_pem; /* NULL: plain HTTP */
    const char *creds_dir;                  /* the credentials folder (exists) */
    const char *org_name;                   /* NULL: "sandbox" */
    bool provisioned;              /* --schema provisioned: our columns, keys and webhook exist */
    const char *entra_certificate; /* a certificate made elsewhere, also accepted (may be NULL) */
    const char *admin_token;       /* NULL: /_sandbox/ open */
    const char *webhook_ca_file;   /* CA bundle for https:// webhook targets (may be NULL) */
    json_t *settings_json; /* borrowed: {"--flag": "value"} switches from the command line */
    uint64_t seed;
    json_t *ns_customers, *ns_reps, *ns_items, *ns_contacts; /* borrowed: NetSuite's records */
};

/* Writes the app's credentials (dataverse.json, entra-*.pem, entra-federated-token.jwt) into the
 * credentials folder, starts the listener, generates the data and appends the MLC_* settings to
 * env. MLC_EINVAL for a bad switch or certificate, MLC_ERR otherwise; detail in err. */
enum mlc_rc mlc_dv_launch(const struct mlc_dv_launch *l, struct mlc_dv_running **out,
                          struct mlc_buf *env, char *err, size_t errsz);
/* Stops and frees (accepts NULL). */
void mlc_dv_stop(struct mlc_dv_running *run);
/* --help text of the Dataverse switches. */
void mlc_dv_help(struct mlc_buf *out);
/* Command line: *known tells whether flag is a Dataverse switch; when it is, the value is checked
 * and recorded in settings ({"--flag": "value"}). */
enum mlc_rc mlc_dv_set_flag(json_t *settings, const char *flag, const char *value, bool *known,
                            char *err, size_t errsz);

#endif
