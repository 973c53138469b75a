/* `ml-connector sandbox`: command line, credentials (CA, TLS, M2M key, TBA tokens, webhook secret),
 * listeners, printed settings. */
#include "mlc/sandbox.h"
#include "mlc/crypto.h"
#include "mlc/http.h"
#include "mlc/log.h"
#include "mlc/sandbox_dataverse.h"
#include "sandbox/common.h"
#include "netsuite/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SANS 8

struct opts {
    long ns_port, dv_port;
    const char *listen_host, *public_host, *db, *creds, *account, *tz, *key_type, *admin_token,
        *events_ca;
    const char *ext_key[NS_MAX_KEYS - 1], *ext_kid[NS_MAX_KEYS - 1];
    size_t next_keys;
    const char *sans[MAX_SANS];
    size_t nsans;
    bool plain;
    long threads;
    struct ns_options ns;
    struct ns_settings set;
    const char *dv_schema, *entra_cert; /* Dataverse half (src/sandbox/dataverse/) */
    json_t *dv_flags;
};

static const char usage_text[] =
    "usage: ml-connector sandbox --netsuite-port P [--dataverse-port Q] [options]\n"
    "\n"
    "A local NetSuite that the connector's clients run against unchanged: the token endpoint\n"
    "(JWT assertions, PS256/384/512 and ES256/384/512), TBA, SuiteQL executed on SQLite with\n"
    "NetSuite's tables, the record API, governance, roles, faults and change events. It writes\n"
    "the credentials an administrator would hand out to the credentials folder and prints the\n"
    "MLC_* settings that point the connector at it.\n"
    "\n"
    "With --dataverse-port it also runs a local Dataverse Web API and Entra ID token endpoint\n"
    "(src/sandbox/dataverse/; its admin API is /_sandbox/dataverse/ on that port).\n"
    "\n"
    "options:\n"
    "  --netsuite-port P          HTTPS port of the emulated NetSuite (0: any free port)\n"
    "  --dataverse-port Q         HTTPS port of the emulated Dataverse + Entra ID (0: any)\n"
    "  --schema S                 provisioned (our columns, keys, webhook; default) or bare\n"
    "  --entra-certificate FILE   also accept client assertions signed for this certificate\n"
    "  --listen-host H            address to listen on (127.0.0.1; 0.0.0.0 in a container)\n"
    "  --public-host H            host in the printed URLs and the TLS certificate (127.0.0.1)\n"
    "  --tls-san NAME             another DNS name or IP for the certificate (repeatable)\n"
    "  --plain-http               plain HTTP instead of HTTPS (debugging)\n"
    "  --seed S                   data set seed (1); the same seed gives the same data\n"
    "  --customers N              customers of every kind (500)\n"
    "  --orders M                 sales orders (1000)\n"
    "  --items K                  items (150)\n"
    "  --large-orders L           orders with 1,000-5,000 lines among them (3)\n"
    "  --db FILE                  keep the data in FILE, reused when it exists (default: memory)\n"
    "  --credentials-dir DIR      where credentials and sandbox.env go (./sandbox-credentials);\n"
    "                             keys and IDs found there are reused\n"
    "  --account-id ID            NetSuite account ID (1234567_SB1)\n"
    "  --timezone TZ              the user's time zone preference (America/Los_Angeles)\n"
    "  --netsuite-key-type T      ec (P-256, default) or rsa (3072) for the generated M2M key\n"
    "  --netsuite-public-key FILE also accept assertions signed with this key (PEM public key\n"
    "                             or certificate), made elsewhere (repeatable, up to 3)\n"
    "  --netsuite-certificate-id ID  the certificate ID (kid) of the key named before it\n"
    "                             (default: generated; see netsuite.json)\n"
    "  --threads N                HTTP threads (32)\n"
    "  --admin-token T            require `Authorization: Bearer T` on /_sandbox/ (default: open)\n"
    "  --events-ca-file FILE      CA bundle for an https:// events URL\n"
    "\n"
    "switches (also changed at run time with PATCH /_sandbox/netsuite/settings):\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ml-connector sandbox: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nRun `ml-connector sandbox --help` for the options.\n");
    va_end(ap);
    return 2;
}

static bool parse_long(const char *v, long lo, long hi, long *out)
{
    uint64_t n;
    if (!v || mlc_parse_u64(v, &n) != MLC_OK || (long long)n < lo || (long long)n > hi)
        return false;
    *out = (long)n;
    return true;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->ns_port = -1;
    o->dv_port = -1;
    o->listen_host = "127.0.0.1";
    o->public_host = "127.0.0.1";
    o->creds = "sandbox-credentials";
    o->account = "1234567_SB1";
    o->tz = "America/Los_Angeles";
    o->key_type = "ec";
    o->threads = 32;
    o->ns.seed = 1;
    o->ns.customers = 500;
    o->ns.orders = 1000;
    o->ns.items = 150;
    o->ns.large_orders = -1;
    ns_settings_defaults(&o->set);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char err[256];
        bool known = false;
        if (strcmp(a, "--plain-http") == 0) {
            o->plain = true;
            continue;
        }
        if (!v)
            return usage_error("%s needs a value (or is unknown)", a);
        i++;
        if (strcmp(a, "--netsuite-port") == 0) {
            if (!parse_long(v, 0, 65535, &o->ns_port))
                return usage_error("--netsuite-port: not a port: %s", v);
        } else if (strcmp(a, "--dataverse-port") == 0) {
            if (!parse_long(v, 0, 65535, &o->dv_port))
                return usage_error("--dataverse-port: not a port: %s", v);
        } else if (strcmp(a, "--listen-host") == 0) {
            o->listen_host = v;
        } else if (strcmp(a, "--public-host") == 0) {
            o->public_host = v;
        } else if (strcmp(a, "--tls-san") == 0) {
            if (o->nsans == MAX_SANS)
                return usage_error("too many --tls-san");
            o->sans[o->nsans++] = v;
        } else if (strcmp(a, "--seed") == 0) {
            uint64_t s;
            if (mlc_parse_u64(v, &s) != MLC_OK)
                return usage_error("--seed: not a number: %s", v);
            o->ns.seed = s;
        } else if (strcmp(a, "--customers") == 0) {
            if (!parse_long(v, 0, 5000000, &o->ns.customers))
                return usage_error("--customers: expected 0..5000000, got %s", v);
        } else if (strcmp(a, "--orders") == 0) {
            if (!parse_long(v, 0, 5000000, &o->ns.orders))
                return usage_error("--orders: expected 0..5000000, got %s", v);
        } else if (strcmp(a, "--items") == 0) {
            if (!parse_long(v, 1, 1000000, &o->ns.items))
                return usage_error("--items: expected 1..1000000, got %s", v);
        } else if (strcmp(a, "--large-orders") == 0) {
            if (!parse_long(v, 0, 1000, &o->ns.large_orders))
                return usage_error("--large-orders: expected 0..1000, got %s", v);
        } else if (strcmp(a, "--db") == 0) {
            o->db = v;
        } else if (strcmp(a, "--credentials-dir") == 0) {
            o->creds = v;
        } else if (strcmp(a, "--account-id") == 0) {
            size_t l = strlen(v);
            if (l == 0 || l > 40 ||
                strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                          "0123456789_-") != l)
                return usage_error("--account-id: letters, digits, _ and - only: %s", v);
            o->account = v;
        } else if (strcmp(a, "--timezone") == 0) {
            o->tz = v;
        } else if (strcmp(a, "--netsuite-key-type") == 0) {
            if (strcmp(v, "ec") != 0 && strcmp(v, "rsa") != 0)
                return usage_error("--netsuite-key-type: ec or rsa, got %s", v);
            o->key_type = v;
        } else if (strcmp(a, "--netsuite-public-key") == 0) {
            if (o->next_keys == NS_MAX_KEYS - 1)
                return usage_error("at most %d --netsuite-public-key", NS_MAX_KEYS - 1);
            if (access(v, R_OK) != 0)
                return usage_error("--netsuite-public-key: cannot read %s: %s", v, strerror(errno));
            o->ext_key[o->next_keys++] = v;
        } else if (strcmp(a, "--netsuite-certificate-id") == 0) {
            size_t l = strlen(v);
            if (o->next_keys == 0 || o->ext_kid[o->next_keys - 1])
                return usage_error("--netsuite-certificate-id follows the --netsuite-public-key it "
                                   "names");
            if (l == 0 || l >= sizeof(((struct ns_m2m_key *)0)->cert_id))
                return usage_error("--netsuite-certificate-id: 1 to %zu characters",
                                   sizeof(((struct ns_m2m_key *)0)->cert_id) - 1);
            o->ext_kid[o->next_keys - 1] = v;
        } else if (strcmp(a, "--threads") == 0) {
            if (!parse_long(v, 1, 512, &o->threads))
                return usage_error("--threads: expected 1..512, got %s", v);
        } else if (strcmp(a, "--admin-token") == 0) {
            o->admin_token = v;
        } else if (strcmp(a, "--events-ca-file") == 0) {
            o->events_ca = v;
        } else if (strcmp(a, "--schema") == 0) {
            if (strcmp(v, "provisioned") != 0 && strcmp(v, "bare") != 0)
                return usage_error("--schema: provisioned or bare, got %s", v);
            o->dv_schema = v;
        } else if (strcmp(a, "--entra-certificate") == 0) {
            o->entra_cert = v;
        } else {
            if (ns_settings_set_flag(&o->set, a, v, &known, err, sizeof err) != MLC_OK)
                return usage_error("%s", err);
            if (!known) {
                if (!o->dv_flags)
                    o->dv_flags = json_object();
                if (mlc_dv_set_flag(o->dv_flags, a, v, &known, err, sizeof err) != MLC_OK)
                    return usage_error("%s", err);
            }
            if (!known)
                return usage_error("unknown option %s", a);
        }
    }
    if (o->ns_port < 0)
        return usage_error("--netsuite-port is required");
    return 0;
}

static bool timezone_ok(const char *tz)
{
    if (strcmp(tz, "UTC") == 0 || strcmp(tz, "GMT") == 0)
        return true;
    if (strstr(tz, "..") || tz[0] == '/' || strlen(tz) > 64)
        return false;
    char path[160];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    struct stat stt;
    return stat(path, &stt) == 0 && S_ISREG(stt.st_mode);
}

/* ---- files in the credentials folder ---- */

/* dir/prefix+name into out; false when it does not fit. */
static bool join_path(char *out, size_t sz, const char *dir, const char *prefix, const char *name,
                      const char *suffix)
{
    int n = snprintf(out, sz, "%s/%s%s%s", dir, prefix, name, suffix);
    return n >= 0 && (size_t)n < sz;
}

static char *read_file(const char *dir, const char *name)
{
    char path[PATH_MAX];
    if (!join_path(path, sizeof path, dir, "", name, ""))
        return NULL;
    return mlc_sbx_read_file(path);
}

static bool write_file(const char *dir, const char *name, const char *content, bool secret)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    if (!join_path(path, sizeof path, dir, "", name, "") ||
        !join_path(tmp, sizeof tmp, dir, ".", name, ".tmp"))
        return false;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, secret ? 0600 : 0644);
    if (fd < 0)
        return false;
    size_t len = strlen(content), off = 0;
    while (off < len) {
        ssize_t w = write(fd, content + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return false;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0)
        return false;
    return rename(tmp, path) == 0;
}

static void random_id(char *out, size_t sz, size_t bytes)
{
    uint8_t b[64];
    if (bytes > sizeof b)
        bytes = sizeof b;
    mlc_random_bytes(b, bytes);
    char hex[130];
    mlc_hex(b, bytes, hex);
    snprintf(out, sz, "%s", hex);
}

static void random_b64(char *out, size_t sz, size_t bytes)
{
    uint8_t b[64];
    if (bytes > sizeof b)
        bytes = sizeof b;
    mlc_random_bytes(b, bytes);
    char *e = mlc_base64_encode(b, bytes, true);
    snprintf(out, sz, "%s", e);
    free(e);
}

struct creds {
    char *ca_cert, *ca_key, *tls_cert, *tls_key, *m2m_key, *m2m_cert;
    char dir[PATH_MAX];
};

static void creds_free(struct creds *c)
{
    char **all[] = {&c->ca_cert, &c->ca_key, &c->tls_cert, &c->tls_key, &c->m2m_key, &c->m2m_cert};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (*all[i])
            mlc_wipe(*all[i], strlen(*all[i]));
        MLC_FREE(*all[i]);
    }
}

static bool is_ip(const char *h)
{
    return strspn(h, "0123456789.") == strlen(h) || strchr(h, ':') != NULL;
}

static int make_credentials(const struct opts *o, struct creds *c, struct ns_sandbox *s)
{
    char err[256];
    if (mkdir(o->creds, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "ml-connector sandbox: cannot create %s: %s\n", o->creds, strerror(errno));
        return 1;
    }
    if (!realpath(o->creds, c->dir)) {
        fprintf(stderr, "ml-connector sandbox: %s: %s\n", o->creds, strerror(errno));
        return 1;
    }
    /* The CA: reused when present, so a connector keeps trusting restarted sandboxes. */
    c->ca_cert = read_file(c->dir, "ca.pem");
    c->ca_key = read_file(c->dir, "ca-key.pem");
    if (!c->ca_cert || !c->ca_key || !*c->ca_cert || !*c->ca_key) {
        MLC_FREE(c->ca_cert);
        MLC_FREE(c->ca_key);
        struct mlc_cert_spec ca = {
            .common_name = "ml-connector sandbox CA", .days = 3650, .is_ca = true};
        if (mlc_key_generate(MLC_KEY_EC_P256, &c->ca_key, NULL, err, sizeof err) != MLC_OK ||
            mlc_x509_self_signed(c->ca_key, &ca, &c->ca_cert, err, sizeof err) != MLC_OK ||
            !write_file(c->dir, "ca-key.pem", c->ca_key, true) ||
            !write_file(c->dir, "ca.pem", c->ca_cert, false)) {
            fprintf(stderr, "ml-connector sandbox: CA: %s\n", err);
            return 1;
        }
    }
    /* The TLS leaf: issued at every start for the names in use. */
    const char *dns[MAX_SANS + 2], *ips[MAX_SANS + 4];
    size_t nd = 0, ni = 0;
    dns[nd++] = "localhost";
    ips[ni++] = "127.0.0.1";
    ips[ni++] = "::1";
    const char *names[MAX_SANS + 1];
    size_t nn = 0;
    names[nn++] = o->public_host;
    for (size_t i = 0; i < o->nsans; i++)
        names[nn++] = o->sans[i];
    for (size_t i = 0; i < nn; i++) {
        if (strcmp(names[i], "localhost") == 0 || strcmp(names[i], "127.0.0.1") == 0 ||
            strcmp(names[i], "::1") == 0)
            continue;
        if (is_ip(names[i]))
            ips[ni++] = names[i];
        else
            dns[nd++] = names[i];
    }
    struct mlc_cert_spec leaf = {
        .common_name = o->public_host, .days = 825, .dns = dns, .ndns = nd, .ips = ips, .nips = ni};
    if (mlc_key_generate(MLC_KEY_EC_P256, &c->tls_key, NULL, err, sizeof err) != MLC_OK ||
        mlc_x509_issue(c->ca_cert, c->ca_key, c->tls_key, &leaf, &c->tls_cert, err, sizeof err) !=
            MLC_OK ||
        !write_file(c->dir, "tls-key.pem", c->tls_key, true) ||
        !write_file(c->dir, "tls-cert.pem", c->tls_cert, false)) {
        fprintf(stderr, "ml-connector sandbox: TLS certificate: %s\n", err);
        return 1;
    }
    /* The M2M key pair and its certificate, as a user uploads it to the M2M setup page. */
    c->m2m_key = read_file(c->dir, "netsuite-m2m-private-key.pem");
    c->m2m_cert = read_file(c->dir, "netsuite-m2m-certificate.pem");
    if (!c->m2m_key || !c->m2m_cert || !*c->m2m_key || !*c->m2m_cert) {
        MLC_FREE(c->m2m_key);
        MLC_FREE(c->m2m_cert);
        struct mlc_cert_spec cs = {
            .common_name = "ml-connector NetSuite M2M", .days = 730, .is_ca = false};
        enum mlc_key_type kt = strcmp(o->key_type, "rsa") == 0 ? MLC_KEY_RSA3072 : MLC_KEY_EC_P256;
        if (mlc_key_generate(kt, &c->m2m_key, NULL, err, sizeof err) != MLC_OK ||
            mlc_x509_self_signed(c->m2m_key, &cs, &c->m2m_cert, err, sizeof err) != MLC_OK ||
            !write_file(c->dir, "netsuite-m2m-private-key.pem", c->m2m_key, true) ||
            !write_file(c->dir, "netsuite-m2m-certificate.pem", c->m2m_cert, false)) {
            fprintf(stderr, "ml-connector sandbox: M2M key: %s\n", err);
            return 1;
        }
    }
    /* IDs and secrets: reused from netsuite.json when present. */
    char *prev = read_file(c->dir, "netsuite.json");
    json_t *pj = prev ? json_loads(prev, 0, NULL) : NULL;
    free(prev);
    struct {
        const char *key;
        char *dst;
        size_t sz;
        int kind; /* 0 hex32, 1 b64 */
    } ids[] = {
        {"clientId", s->client_id, sizeof s->client_id, 0},
        {"certificateId", s->keys[0].cert_id, sizeof s->keys[0].cert_id, 1},
        {"consumerKey", s->consumer_key, sizeof s->consumer_key, 0},
        {"consumerSecret", s->consumer_secret, sizeof s->consumer_secret, 0},
        {"tokenId", s->token_id, sizeof s->token_id, 0},
        {"tokenSecret", s->token_secret, sizeof s->token_secret, 0},
        {"webhookSecret", s->webhook_secret, sizeof s->webhook_secret, 1},
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const char *v = json_string_value(json_object_get(pj, ids[i].key));
        if (v && *v && strlen(v) < ids[i].sz &&
            strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
                      "klmnopqrstuvwxyz0123456789-_") == strlen(v))
            snprintf(ids[i].dst, ids[i].sz, "%s", v);
        else if (ids[i].kind == 0)
            random_id(ids[i].dst, ids[i].sz, 32);
        else
            random_b64(ids[i].dst, ids[i].sz, 32);
    }
    json_decref(pj);
    if (mlc_x509_public_key(c->m2m_cert, &s->keys[0].pub_pem, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector sandbox: M2M certificate: %s\n", err);
        return 1;
    }
    s->nkeys = 1;
    for (size_t k = 0; k < o->next_keys; k++) {
        char *pem = mlc_sbx_read_file(o->ext_key[k]);
        char *pub = NULL;
        if (!pem || mlc_x509_public_key(pem, &pub, err, sizeof err) != MLC_OK) {
            free(pem);
            fprintf(stderr,
                    "ml-connector sandbox: --netsuite-public-key %s: not a PEM key or "
                    "certificate\n",
                    o->ext_key[k]);
            return 2;
        }
        char kty[16], crv[16];
        int bits = 0;
        if (mlc_key_describe(pub, kty, sizeof kty, &bits, crv, sizeof crv) == MLC_OK &&
            strcmp(kty, "RSA") == 0 && bits < 3072)
            mlc_log(MLC_LOG_WARN,
                    "--netsuite-public-key: RSA %d bits; NetSuite asks for 3072 or "
                    "4096",
                    bits);
        free(pem);
        struct ns_m2m_key *key = &s->keys[s->nkeys++];
        key->pub_pem = pub;
        if (o->ext_kid[k])
            snprintf(key->cert_id, sizeof key->cert_id, "%s", o->ext_kid[k]);
        else
            random_b64(key->cert_id, sizeof key->cert_id, 32);
    }
    return 0;
}

static void settings_text(const struct opts *o, const struct creds *c, const struct ns_sandbox *s,
                          const struct ns_settings *st, struct mlc_buf *b)
{
    mlc_buf_printf(b, "# ml-connector sandbox: NetSuite account %s at %s\n", s->account_id,
                   s->base_url);
    if (o->dv_port < 0)
        mlc_buf_printf(b, "# Dataverse + Entra not started (no --dataverse-port)\n");
    mlc_buf_printf(b, "MLC_ALLOW_PLAINTEXT_SECRETS=1\n");
    if (!o->plain)
        mlc_buf_printf(b, "MLC_TLS_CA_FILE=%s/ca.pem\n", c->dir);
    mlc_buf_printf(b, "MLC_NETSUITE_ACCOUNT_ID=%s\n", s->account_id);
    mlc_buf_printf(b, "MLC_NETSUITE_BASE_URL=%s\n", s->base_url);
    mlc_buf_printf(b, "MLC_NETSUITE_AUTH=m2m\n");
    mlc_buf_printf(b, "MLC_NETSUITE_CLIENT_ID=%s\n", s->client_id);
    mlc_buf_printf(b, "MLC_NETSUITE_CERTIFICATE_ID=%s\n", s->keys[0].cert_id);
    mlc_buf_printf(b, "MLC_NETSUITE_PRIVATE_KEY_FILE=%s/netsuite-m2m-private-key.pem\n", c->dir);
    mlc_buf_printf(b, "MLC_NETSUITE_CERTIFICATE_FILE=%s/netsuite-m2m-certificate.pem\n", c->dir);
    mlc_buf_printf(b, "MLC_NETSUITE_CONSUMER_KEY=%s\n", s->consumer_key);
    mlc_buf_printf(b, "MLC_NETSUITE_CONSUMER_SECRET=%s\n", s->consumer_secret);
    mlc_buf_printf(b, "MLC_NETSUITE_TOKEN_ID=%s\n", s->token_id);
    mlc_buf_printf(b, "MLC_NETSUITE_TOKEN_SECRET=%s\n", s->token_secret);
    mlc_buf_printf(b, "MLC_NETSUITE_WEBHOOK_AUTH=%s\n", st->events_hmac ? "hmac" : "secret");
    mlc_buf_printf(b, "MLC_NETSUITE_WEBHOOK_SECRETS=%s\n", s->webhook_secret);
    mlc_buf_printf(b, "MLC_NETSUITE_ALLOWED_CIDRS=127.0.0.0/8,::1/128\n");
}

static void credentials_json(const struct creds *c, const struct ns_sandbox *s, struct mlc_buf *b)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "accountId",
                  s->account_id, "baseUrl", s->base_url, "clientId", s->client_id, "certificateId",
                  s->keys[0].cert_id, "privateKeyFile", "netsuite-m2m-private-key.pem",
                  "certificateFile", "netsuite-m2m-certificate.pem", "consumerKey", s->consumer_key,
                  "consumerSecret", s->consumer_secret, "tokenId", s->token_id, "tokenSecret",
                  s->token_secret, "webhookSecret", s->webhook_secret, "caFile", "ca.pem");
    char *t = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    mlc_buf_printf(b, "%s\n", t);
    free(t);
}

/* The Dataverse half: its own listener, data matching NetSuite's, settings appended to env. */
static int start_dataverse(const struct opts *o, const struct creds *c, struct ns_sandbox *s,
                           struct mlc_dv_running **dv, struct mlc_buf *env)
{
    char err[512];
    json_t *cust = NULL, *reps = NULL, *items = NULL, *contacts = NULL;
    ns_db_inspect(s,
                  "SELECT c.id, c.entityid, c.companyname, c.email, a.zip, a.city"
                  " FROM customer c LEFT JOIN entityaddress a ON a.nkey = c.defaultbillingaddress"
                  " WHERE c.isperson = 'F' AND c.companyname IS NOT NULL ORDER BY c.id",
                  60, &cust, err, sizeof err);
    ns_db_inspect(s,
                  "SELECT firstname, lastname, email FROM employee WHERE issalesrep = 'T'"
                  " ORDER BY id",
                  100, &reps, err, sizeof err);
    ns_db_inspect(s, "SELECT id, itemid, displayname, itemtype FROM item ORDER BY id", 5000, &items,
                  err, sizeof err);
    ns_db_inspect(s,
                  "SELECT firstname, lastname, email FROM contact WHERE email IS NOT NULL"
                  " ORDER BY id",
                  60, &contacts, err, sizeof err);
    struct mlc_dv_launch l = {.port = o->dv_port,
                              .listen_host = o->listen_host,
                              .public_host = o->public_host,
                              .threads = (unsigned)o->threads,
                              .tls_cert_pem = o->plain ? NULL : c->tls_cert,
                              .tls_key_pem = o->plain ? NULL : c->tls_key,
                              .creds_dir = c->dir,
                              .provisioned =
                                  !o->dv_schema || strcmp(o->dv_schema, "provisioned") == 0,
                              .entra_certificate = o->entra_cert,
                              .admin_token = o->admin_token,
                              .webhook_ca_file = o->events_ca,
                              .settings_json = o->dv_flags,
                              .seed = o->ns.seed,
                              .ns_customers = cust,
                              .ns_reps = reps,
                              .ns_items = items,
                              .ns_contacts = contacts};
    enum mlc_rc rc = mlc_dv_launch(&l, dv, env, err, sizeof err);
    json_decref(cust);
    json_decref(reps);
    json_decref(items);
    json_decref(contacts);
    if (rc != MLC_OK) {
        fprintf(stderr, "ml-connector sandbox: dataverse: %s\n", err);
        return rc == MLC_EINVAL ? 2 : 1;
    }
    return 0;
}

int mlc_sandbox_main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            struct mlc_buf h;
            mlc_buf_init(&h, 1u << 16);
            ns_settings_help(&h);
            fputs(usage_text, stdout);
            fputs(h.data ? h.data : "", stdout);
            fputs("\nadmin API (/_sandbox/netsuite/...): settings, faults, stats, data, sql,\n"
                  "customers|contacts|salesorders mutations, merge, changes, events, tokens.\n",
                  stdout);
            mlc_buf_reset(&h);
            mlc_dv_help(&h);
            fputs("\nDataverse switches (also PATCH /_sandbox/dataverse/settings):\n", stdout);
            fputs(h.data ? h.data : "", stdout);
            fputs("Dataverse admin API (/_sandbox/dataverse/...): settings, stats, counts,\n"
                  "tables/<set>, duplicates/<set>, rows/<set>[/<id>] (CRM edits), merge/<set>,\n"
                  "keys/<table>/<key> (back to Pending), tokens/revoke, protection/reset,\n"
                  "identity (see the README's Dataverse sandbox section).\n",
                  stdout);
            mlc_buf_free(&h);
            return 0;
        }
    static struct opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    if (!timezone_ok(o.tz))
        return usage_error("--timezone: unknown time zone %s", o.tz);
    /* The user's time zone preference is the process's zone: set before any thread starts. */
    setenv("TZ", o.tz, 1);
    tzset();
    json_object_seed(0);

    sigset_t stopset;
    sigemptyset(&stopset);
    sigaddset(&stopset, SIGTERM);
    sigaddset(&stopset, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stopset, NULL);

    char err[512];
    struct ns_sandbox *s = NULL;
    struct creds c = {0};
    struct mlc_http_server *http = NULL;
    struct mlc_dv_running *dv = NULL;
    rc = 1;
    o.ns.db_path = o.db;
    o.ns.settings = &o.set;
    if (ns_sandbox_new(&o.ns, &s, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector sandbox: %s\n", err);
        goto out;
    }
    snprintf(s->account_id, sizeof s->account_id, "%s", o.account);
    if (o.admin_token)
        snprintf(s->admin_token, sizeof s->admin_token, "%s", o.admin_token);
    if ((rc = make_credentials(&o, &c, s)) != 0)
        goto out;
    rc = 1;
    if (ns_events_start(s, o.events_ca, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector sandbox: events: %s\n", err);
        goto out;
    }
    struct mlc_route routes[16];
    size_t nr = ns_routes(s, routes, 16);
    char listen[160];
    bool v6 = strchr(o.listen_host, ':') != NULL;
    snprintf(listen, sizeof listen, v6 ? "[%s]:%ld" : "%s:%ld", o.listen_host, o.ns_port);
    struct mlc_http_options ho = {
        .listen = listen,
        .threads = (unsigned)o.threads,
        .max_connections = 1024,
        .max_connections_per_ip = 0,
        .connection_timeout_s = 300,
        .access_log = mlc_log_get_level() <= MLC_LOG_DEBUG,
        .tls_cert_pem = o.plain ? NULL : c.tls_cert,
        .tls_key_pem = o.plain ? NULL : c.tls_key,
    };
    if (mlc_http_server_start(&ho, routes, nr, &http, err, sizeof err) != MLC_OK) {
        fprintf(stderr, "ml-connector sandbox: %s\n", err);
        goto out;
    }
    s->http = http;
    bool pv6 = strchr(o.public_host, ':') != NULL;
    snprintf(s->base_url, sizeof s->base_url, pv6 ? "%s://[%s]:%u" : "%s://%s:%u",
             o.plain ? "http" : "https", o.public_host, mlc_http_server_port(http));

    struct ns_settings st = ns_settings_get(s);
    struct mlc_buf env, cj;
    mlc_buf_init(&env, 1u << 16);
    mlc_buf_init(&cj, 1u << 16);
    settings_text(&o, &c, s, &st, &env);
    if (o.dv_port >= 0 && (rc = start_dataverse(&o, &c, s, &dv, &env)) != 0) {
        mlc_buf_free(&env);
        mlc_buf_free(&cj);
        goto out;
    }
    rc = 1;
    credentials_json(&c, s, &cj);
    if (!write_file(c.dir, "netsuite.json", cj.data, true) ||
        !write_file(c.dir, "sandbox.env", env.data, true)) {
        fprintf(stderr, "ml-connector sandbox: cannot write to %s\n", c.dir);
        mlc_buf_free(&env);
        mlc_buf_free(&cj);
        goto out;
    }
    fputs(env.data, stdout);
    fflush(stdout);
    mlc_buf_free(&env);
    mlc_buf_free(&cj);
    mlc_log_kv(MLC_LOG_INFO, "sandbox ready",
               json_pack("{s:s, s:s, s:s, s:i}", "netsuite", s->base_url, "credentials", c.dir,
                         "dataverse", dv ? "started" : "not started", "threads", (int)o.threads));

    int sig = 0;
    sigwait(&stopset, &sig);
    mlc_log(MLC_LOG_INFO, "sandbox: signal %d, stopping", sig);
    rc = 0;
out:
    mlc_dv_stop(dv);
    json_decref(o.dv_flags);
    if (http) {
        mlc_http_server_quiesce(http);
        mlc_http_server_stop(http);
    }
    ns_sandbox_free(s);
    creds_free(&c);
    return rc;
}
