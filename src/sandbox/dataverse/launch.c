/* Starting the emulated Dataverse + Entra for `ml-connector sandbox`: the app's credentials in the
 * credentials folder, the listener, and the printed MLC_* settings. */
#include "internal.h"
#include "mlc/crypto.h"
#include "mlc/log.h"
#include "mlc/sandbox_dataverse.h"
#include "sandbox/common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FED_ISSUER "https://oidc.sandbox.example/ml-connector"
#define FED_SUBJECT "system:serviceaccount:mlc:ml-connector"

struct mlc_dv_running {
    struct dv_sandbox *s;
    struct mlc_http_server *http;
};

/* dir/name (or name alone when dir is NULL); NULL when missing or empty. */
static char *slurp(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
    char *out = mlc_sbx_read_file(path);
    if (out && !*out) {
        free(out);
        out = NULL;
    }
    return out;
}

/* Writes through a temporary file and a rename, secrets 0600. */
static bool store(const char *dir, const char *name, const char *text, bool secret)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.dv.tmp", dir, name);
    FILE *f = NULL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, secret ? 0600 : 0644);
    if (fd >= 0)
        f = fdopen(fd, "wb");
    if (!f) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    bool ok = fwrite(text, 1, strlen(text), f) == strlen(text);
    ok = fclose(f) == 0 && ok;
    return ok && rename(tmp, path) == 0;
}

static void pick(json_t *prev, const char *key, char *dst, size_t sz, bool guid)
{
    const char *v = json_string_value(json_object_get(prev, key));
    if (v && *v && strlen(v) < sz && (!guid || dv_guid_valid(v, strlen(v)))) {
        snprintf(dst, sz, "%s", v);
        return;
    }
    if (guid) {
        dv_guid_random(dst);
        return;
    }
    uint8_t b[30];
    mlc_random_bytes(b, sizeof b);
    char *e = mlc_base64_encode(b, sizeof b, true);
    snprintf(dst, sz, "%s", e);
    free(e);
}

static enum mlc_rc credentials(struct dv_sandbox *s, const struct mlc_dv_launch *l, char *err,
                               size_t errsz)
{
    char *prev_txt = slurp(l->creds_dir, "dataverse.json");
    json_t *prev = prev_txt ? json_loads(prev_txt, 0, NULL) : NULL;
    free(prev_txt);
    pick(prev, "tenantId", s->tenant_id, sizeof s->tenant_id, true);
    pick(prev, "clientId", s->client_id, sizeof s->client_id, true);
    pick(prev, "organizationId", s->org_id, sizeof s->org_id, true);
    pick(prev, "appUserId", s->app_user_id, sizeof s->app_user_id, true);
    pick(prev, "crmUserId", s->admin_user_id, sizeof s->admin_user_id, true);
    pick(prev, "businessUnitId", s->business_unit_id, sizeof s->business_unit_id, true);
    pick(prev, "clientSecret", s->client_secret, sizeof s->client_secret, false);
    pick(prev, "webhookKey", s->webhook_key, sizeof s->webhook_key, false);
    json_decref(prev);
    snprintf(s->org_name, sizeof s->org_name, "%s", l->org_name ? l->org_name : "sandbox");
    /* the app's certificate (RSA, as the Entra portal takes), reused when present */
    char *cert = slurp(l->creds_dir, "entra-certificate.pem");
    char *key = slurp(l->creds_dir, "entra-private-key.pem");
    if (!cert || !key) {
        free(cert);
        free(key);
        cert = key = NULL;
        struct mlc_cert_spec cs = {.common_name = "ml-connector Entra app", .days = 730};
        if (mlc_key_generate(MLC_KEY_RSA3072, &key, NULL, err, errsz) != MLC_OK ||
            mlc_x509_self_signed(key, &cs, &cert, err, errsz) != MLC_OK ||
            !store(l->creds_dir, "entra-private-key.pem", key, true) ||
            !store(l->creds_dir, "entra-certificate.pem", cert, false)) {
            free(cert);
            if (key)
                mlc_wipe(key, strlen(key));
            free(key);
            if (!err[0])
                snprintf(err, errsz, "cannot write the Entra certificate");
            return MLC_ERR;
        }
    }
    mlc_wipe(key, strlen(key));
    free(key);
    s->cert_pem[s->ncerts++] = cert;
    if (l->entra_certificate) {
        char *ext = slurp(NULL, l->entra_certificate);
        uint8_t d[32];
        size_t dl;
        if (!ext || mlc_x509_thumbprint(ext, true, d, &dl, err, errsz) != MLC_OK) {
            free(ext);
            snprintf(err, errsz, "--entra-certificate %s: not a PEM certificate",
                     l->entra_certificate);
            return MLC_EINVAL;
        }
        s->cert_pem[s->ncerts++] = ext;
    }
    /* workload identity: a token issuer of our own and a projected token it signed */
    char *fkey = slurp(l->creds_dir, "entra-federation-issuer-key.pem");
    if (!fkey && (mlc_key_generate(MLC_KEY_EC_P256, &fkey, NULL, err, errsz) != MLC_OK ||
                  !store(l->creds_dir, "entra-federation-issuer-key.pem", fkey, true))) {
        free(fkey);
        return MLC_ERR;
    }
    if (mlc_x509_public_key(fkey, &s->federation_pub, err, errsz) != MLC_OK) {
        free(fkey);
        return MLC_ERR;
    }
    snprintf(s->federation_issuer, sizeof s->federation_issuer, "%s", FED_ISSUER);
    snprintf(s->federation_subject, sizeof s->federation_subject, "%s", FED_SUBJECT);
    int64_t now = mlc_now_ms() / 1000;
    json_t *claims =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "iss", FED_ISSUER, "sub", FED_SUBJECT, "aud",
                  "api://AzureADTokenExchange", "iat", (json_int_t)now, "nbf", (json_int_t)now,
                  "exp", (json_int_t)(now + 86400));
    char *fjwt = NULL;
    enum mlc_rc rc =
        mlc_jwt_sign("ES256", "sandbox-workload-identity", claims, fkey, &fjwt, err, errsz);
    json_decref(claims);
    mlc_wipe(fkey, strlen(fkey));
    free(fkey);
    if (rc != MLC_OK || !store(l->creds_dir, "entra-federated-token.jwt", fjwt, true)) {
        free(fjwt);
        return MLC_ERR;
    }
    free(fjwt);
    return MLC_OK;
}

static void settings_text(struct dv_sandbox *s, const struct mlc_dv_launch *l, struct mlc_buf *b)
{
    mlc_buf_printf(b, "# Dataverse organization %s (%s schema) at %s; Entra ID on the same host\n",
                   s->org_name, s->provisioned ? "provisioned" : "bare", s->base_url);
    mlc_buf_printf(b, "MLC_DATAVERSE_URL=%s\n", s->base_url);
    mlc_buf_printf(b, "MLC_ENTRA_AUTHORITY_URL=%s\n", s->base_url);
    mlc_buf_printf(b, "MLC_ENTRA_TENANT_ID=%s\n", s->tenant_id);
    mlc_buf_printf(b, "MLC_ENTRA_CLIENT_ID=%s\n", s->client_id);
    mlc_buf_printf(b, "MLC_ENTRA_CLIENT_SECRET=%s\n", s->client_secret);
    mlc_buf_printf(b, "# or the certificate (then drop MLC_ENTRA_CLIENT_SECRET):\n");
    mlc_buf_printf(b, "# MLC_ENTRA_CERTIFICATE_FILE=%s/entra-certificate.pem\n", l->creds_dir);
    mlc_buf_printf(b, "# MLC_ENTRA_PRIVATE_KEY_FILE=%s/entra-private-key.pem\n", l->creds_dir);
    mlc_buf_printf(b, "# or workload identity federation:\n");
    mlc_buf_printf(b, "# MLC_ENTRA_FEDERATED_TOKEN_PATH=%s/entra-federated-token.jwt\n",
                   l->creds_dir);
    mlc_buf_printf(b, "MLC_DATAVERSE_ORGANIZATION_ID=%s\n", s->org_id);
    mlc_buf_printf(b, "MLC_DATAVERSE_APP_USER_ID=%s\n", s->app_user_id);
    mlc_buf_printf(b, "MLC_DATAVERSE_WEBHOOK_AUTH=webhookkey\n");
    mlc_buf_printf(b, "MLC_DATAVERSE_WEBHOOK_KEYS=%s\n", s->webhook_key);
}

static void credentials_json(struct dv_sandbox *s, struct mlc_buf *b)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "url",
                  s->base_url, "tenantId", s->tenant_id, "clientId", s->client_id, "clientSecret",
                  s->client_secret, "organizationId", s->org_id, "organizationName", s->org_name,
                  "appUserId", s->app_user_id, "crmUserId", s->admin_user_id, "businessUnitId",
                  s->business_unit_id, "webhookKey", s->webhook_key, "certificateFile",
                  "entra-certificate.pem", "privateKeyFile", "entra-private-key.pem",
                  "federatedTokenFile", "entra-federated-token.jwt", "federatedIssuer", FED_ISSUER);
    char *t = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    mlc_buf_printf(b, "%s\n", t);
    free(t);
}

enum mlc_rc mlc_dv_launch(const struct mlc_dv_launch *l, struct mlc_dv_running **out,
                          struct mlc_buf *env, char *err, size_t errsz)
{
    *out = NULL;
    err[0] = '\0';
    struct dv_settings st;
    dv_settings_defaults(&st);
    if (l->settings_json && dv_settings_apply_defaults(&st, l->settings_json, err, errsz) != MLC_OK)
        return MLC_EINVAL;
    struct dv_options o = {.seed = l->seed,
                           .provisioned = l->provisioned,
                           .ns_customers = l->ns_customers,
                           .ns_reps = l->ns_reps,
                           .ns_items = l->ns_items,
                           .ns_contacts = l->ns_contacts,
                           .settings = &st};
    struct mlc_dv_running *run = mlc_calloc(1, sizeof *run);
    enum mlc_rc rc = dv_sandbox_new(&o, &run->s, err, errsz);
    if (rc != MLC_OK)
        goto fail;
    struct dv_sandbox *s = run->s;
    if (l->admin_token)
        snprintf(s->admin_token, sizeof s->admin_token, "%s", l->admin_token);
    if ((rc = credentials(s, l, err, errsz)) != MLC_OK)
        goto fail;
    struct mlc_route routes[8];
    size_t nr = dv_routes(s, routes, 8);
    char listen[160];
    bool v6 = strchr(l->listen_host, ':') != NULL;
    snprintf(listen, sizeof listen, v6 ? "[%s]:%ld" : "%s:%ld", l->listen_host, l->port);
    struct mlc_http_options ho = {
        .listen = listen,
        .threads = l->threads,
        .max_connections = 1024,
        .connection_timeout_s = 300,
        .access_log = mlc_log_get_level() <= MLC_LOG_DEBUG,
        .tls_cert_pem = l->tls_cert_pem,
        .tls_key_pem = l->tls_key_pem,
    };
    if ((rc = mlc_http_server_start(&ho, routes, nr, &run->http, err, errsz)) != MLC_OK)
        goto fail;
    bool pv6 = strchr(l->public_host, ':') != NULL;
    snprintf(s->base_url, sizeof s->base_url, pv6 ? "%s://[%s]:%u" : "%s://%s:%u",
             l->tls_cert_pem ? "https" : "http", l->public_host, mlc_http_server_port(run->http));
    if ((rc = dv_start(s, &o, l->webhook_ca_file, err, errsz)) != MLC_OK)
        goto fail;
    struct mlc_buf cj;
    mlc_buf_init(&cj, 1u << 16);
    credentials_json(s, &cj);
    bool ok = store(l->creds_dir, "dataverse.json", cj.data, true);
    mlc_buf_free(&cj);
    if (!ok) {
        snprintf(err, errsz, "cannot write dataverse.json to %s", l->creds_dir);
        rc = MLC_ERR;
        goto fail;
    }
    settings_text(s, l, env);
    *out = run;
    return MLC_OK;
fail:
    mlc_dv_stop(run);
    return rc;
}

void mlc_dv_stop(struct mlc_dv_running *run)
{
    if (!run)
        return;
    if (run->http) {
        mlc_http_server_quiesce(run->http);
        mlc_http_server_stop(run->http);
    }
    dv_sandbox_free(run->s);
    free(run);
}

void mlc_dv_help(struct mlc_buf *out)
{
    dv_settings_help(out);
}

enum mlc_rc mlc_dv_set_flag(json_t *settings, const char *flag, const char *value, bool *known,
                            char *err, size_t errsz)
{
    struct dv_settings st;
    dv_settings_defaults(&st);
    enum mlc_rc rc = dv_settings_set_flag(&st, flag, value, known, err, errsz);
    if (rc == MLC_OK && *known)
        json_object_set_new(settings, flag, json_string(value));
    return rc;
}
