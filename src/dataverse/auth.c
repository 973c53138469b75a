/* Entra ID client credentials for Dataverse: secret, certificate assertion or federated token;
 * one cached token refreshed ahead of expiry, single-flight; Entra errors made readable. */
#include "internal.h"
#include "mlc/crypto.h"
#include "mlc/log.h"
#include "mlc/metrics.h"
#include "mlc/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FED_TOKEN (64 * 1024)

void mlc_dv_entra_error_parse(long status, const char *body, size_t len, struct mlc_dv_err *e)
{
    json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *code = json_string_value(json_object_get(j, "error"));
    const char *desc = json_string_value(json_object_get(j, "error_description"));
    char d[360];
    if (desc) {
        /* "AADSTS7000215: Invalid client secret provided. ... Trace ID: ..." -> up to Trace ID */
        const char *cut = strstr(desc, " Trace ID:");
        size_t l = cut ? (size_t)(cut - desc) : strlen(desc);
        if (l >= sizeof d)
            l = sizeof d - 1;
        memcpy(d, desc, l);
        d[l] = '\0';
    } else if (body && len && memchr(body, '<', len < 200 ? len : 200)) {
        snprintf(d, sizeof d, "an HTML page instead of a token answer");
    } else {
        snprintf(d, sizeof d, "%s", len ? "an unreadable answer" : "an empty answer");
    }
    for (char *p = d; *p; p++)
        if ((unsigned char)*p < ' ')
            *p = ' ';
    bool retry = status == 0 || status == 408 || status == 429 || status >= 500;
    snprintf(e->code, sizeof e->code, "%s", code ? code : "");
    char aad[24] = "";
    json_t *codes = json_object_get(j, "error_codes");
    if (json_is_integer(json_array_get(codes, 0)))
        snprintf(aad, sizeof aad, "%lld", (long long)json_integer_value(json_array_get(codes, 0)));
    dv_err_set(e, retry, status, "", "Entra ID refused the token request (HTTP %ld%s%s): %s",
               status, code ? ", " : "", code ? code : "", d);
    snprintf(e->cls, sizeof e->cls, "entra:%.24s:%.16s", code ? code : "http", aad);
    json_decref(j);
}

static void form_add(struct mlc_buf *b, const char *k, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    if (b->len)
        mlc_buf_append(b, "&", 1);
    mlc_buf_printf(b, "%s=", k);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            mlc_buf_append(b, (const char *)p, 1);
        } else {
            char t[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            mlc_buf_append(b, t, 3);
        }
    }
}

/* Reads the projected token file (rotated by the platform: read it every time). */
static char *read_federated(const char *path, struct mlc_dv_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        dv_err_set(e, true, 0, "entra:federated_file",
                   "MLC_ENTRA_FEDERATED_TOKEN_PATH: cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = mlc_malloc(MAX_FED_TOKEN + 1);
    size_t n = fread(buf, 1, MAX_FED_TOKEN + 1, f);
    fclose(f);
    if (n > MAX_FED_TOKEN) {
        free(buf);
        dv_err_set(e, false, 0, "entra:federated_file",
                   "MLC_ENTRA_FEDERATED_TOKEN_PATH: %s is larger than 64 KiB", path);
        return NULL;
    }
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    if (n == 0) {
        free(buf);
        dv_err_set(e, true, 0, "entra:federated_file",
                   "MLC_ENTRA_FEDERATED_TOKEN_PATH: %s is empty", path);
        return NULL;
    }
    return buf;
}

/* One token request; on success *tok (owned) and *life_s. */
static enum mlc_rc fetch(struct mlc_dv_session *s, char **tok, int64_t *life_s,
                         struct mlc_dv_err *e)
{
    struct mlc_dataverse *dv = s->dv;
    struct mlc_buf form;
    mlc_buf_init(&form, 256 * 1024);
    char *assertion = NULL;
    enum mlc_rc rc = MLC_ERR;
    form_add(&form, "client_id", dv->set.client_id);
    form_add(&form, "grant_type", "client_credentials");
    form_add(&form, "scope", dv->scope);
    if (dv->set.client_secret) {
        form_add(&form, "client_secret", dv->set.client_secret);
    } else {
        if (dv->set.federated_token_path) {
            assertion = read_federated(dv->set.federated_token_path, e);
        } else {
            char err[200];
            if (mlc_entra_assertion_pkey(dv->thumb, dv->pkey, dv->alg, dv->set.client_id,
                                         dv->token_url, mlc_now_ms() / 1000, &assertion, err,
                                         sizeof err) != MLC_OK)
                dv_err_set(e, false, 0, "entra:assertion", "client assertion: %s", err);
        }
        if (!assertion)
            goto out;
        form_add(&form, "client_assertion_type",
                 "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
        form_add(&form, "client_assertion", assertion);
    }
    struct mlc_net_header h[] = {{"Content-Type", "application/x-www-form-urlencoded"},
                                 {"Accept", "application/json"}};
    struct mlc_net_request req = {.method = "POST",
                                  .url = dv->token_url,
                                  .headers = h,
                                  .nheaders = 2,
                                  .body = form.data,
                                  .body_len = form.len,
                                  .endpoint = "entra_token"};
    for (int attempt = 1;; attempt++) {
        struct mlc_net_response resp;
        char nerr[256] = "";
        enum mlc_rc nrc = mlc_net_perform(s->net, &req, &resp, nerr, sizeof nerr);
        if (nrc != MLC_OK) {
            dv_err_set(e, nrc == MLC_EUNAVAIL, 0, "entra:net", "Entra ID unreachable: %s", nerr);
        } else if (resp.status == 200) {
            json_t *j = json_loadb(resp.body.data, resp.body.len, 0, NULL);
            const char *at = json_string_value(json_object_get(j, "access_token"));
            json_t *ei = json_object_get(j, "expires_in");
            long long life = json_is_integer(ei)  ? (long long)json_integer_value(ei)
                             : json_is_string(ei) ? strtoll(json_string_value(ei), NULL, 10)
                                                  : 0;
            if (at && *at && life > 0) {
                *tok = mlc_strdup(at);
                *life_s = life;
                rc = MLC_OK;
            } else {
                dv_err_set(e, true, 200, "entra:garbled",
                           "Entra ID answered 200 without access_token/expires_in");
            }
            json_decref(j);
        } else {
            mlc_dv_entra_error_parse(resp.status, resp.body.data, resp.body.len, e);
        }
        if (nrc == MLC_OK)
            mlc_net_response_free(&resp);
        if (rc == MLC_OK || !e->retryable || attempt >= 4)
            break;
        mlc_sleep_ms(200 * attempt + (int64_t)(mlc_rand_u64() % 200));
    }
out:
    if (assertion) {
        mlc_wipe(assertion, strlen(assertion));
        free(assertion);
    }
    mlc_wipe(form.data, form.len);
    mlc_buf_free(&form);
    if (dv->metrics)
        mlc_metrics_add(dv->metrics, "mlc_dataverse_tokens_total",
                        rc == MLC_OK ? "outcome=\"ok\"" : "outcome=\"error\"", 1);
    if (rc != MLC_OK)
        mlc_log(MLC_LOG_WARN, "dataverse token: %s", e->msg);
    return rc;
}

enum mlc_rc mlc_dv_token(struct mlc_dv_session *s, bool force, const char *failed, char *out,
                         size_t outsz, struct mlc_dv_err *e)
{
    struct mlc_dataverse *dv = s->dv;
    char failed_copy[12288] = "";
    if (failed)
        snprintf(failed_copy, sizeof failed_copy, "%s", failed);
    pthread_mutex_lock(&dv->mu);
    for (;;) {
        int64_t now = mlc_now_ms();
        int64_t margin = (int64_t)dv->set.refresh_margin_s * 1000;
        if (margin > dv->token_life_s * 500)
            margin = dv->token_life_s * 500;
        bool stale = !dv->token || now + margin >= dv->token_exp_ms;
        if (force && dv->token && failed && strcmp(dv->token, failed_copy) == 0)
            stale = true;
        if (!stale) {
            if (strlen(dv->token) >= outsz) {
                pthread_mutex_unlock(&dv->mu);
                dv_err_set(e, false, 0, "entra:token", "the access token is too long");
                return MLC_ERR;
            }
            snprintf(out, outsz, "%s", dv->token);
            pthread_mutex_unlock(&dv->mu);
            return MLC_OK;
        }
        if (!dv->refreshing)
            break;
        /* single flight: wait for the thread already asking */
        pthread_cond_wait(&dv->cv, &dv->mu);
        force = false; /* whatever it obtained is new */
    }
    dv->refreshing = true;
    pthread_mutex_unlock(&dv->mu);
    char *tok = NULL;
    int64_t life = 0;
    enum mlc_rc rc = fetch(s, &tok, &life, e);
    pthread_mutex_lock(&dv->mu);
    dv->refreshing = false;
    if (rc == MLC_OK) {
        if (dv->token) {
            mlc_wipe(dv->token, strlen(dv->token));
            free(dv->token);
        }
        dv->token = tok;
        dv->token_life_s = life;
        dv->token_exp_ms = mlc_now_ms() + life * 1000;
        atomic_fetch_add(&dv->tokens, 1);
        if (dv->metrics)
            mlc_metrics_set(dv->metrics, "mlc_dataverse_token_expiry_seconds", NULL,
                            (double)(dv->token_exp_ms / 1000));
        if (strlen(tok) >= outsz) {
            rc = MLC_ERR;
            dv_err_set(e, false, 0, "entra:token", "the access token is too long");
        } else {
            snprintf(out, outsz, "%s", tok);
        }
    }
    pthread_cond_broadcast(&dv->cv);
    pthread_mutex_unlock(&dv->mu);
    mlc_wipe(failed_copy, sizeof failed_copy);
    return rc;
}
