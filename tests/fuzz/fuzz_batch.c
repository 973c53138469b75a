/* libFuzzer target: the sandbox Dataverse's $batch multipart parser (parts, nested change sets,
 * application/http requests), then the same bytes executed as a $batch on an empty organization
 * (every answer must be Dataverse's, never a crash). */
#include "sandbox/dataverse/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void parse_level(const char *body, size_t len, const char *boundary, int depth)
{
    struct dv_part *parts = NULL;
    size_t n = 0;
    char err[256];
    if (dv_multipart_split(body, len, boundary, &parts, &n, err, sizeof err) != MLC_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        char inner[80];
        if (depth == 0 && dv_boundary(parts[i].content_type, inner, sizeof inner)) {
            parse_level(parts[i].body, parts[i].body_len, inner, depth + 1);
            continue;
        }
        struct dv_req q;
        if (dv_http_part_parse(parts[i].body, parts[i].body_len, &q, err, sizeof err) == MLC_OK)
            (void)dv_req_query(&q, "$select");
        dv_req_free(&q);
    }
    dv_parts_free(parts, n);
}

/* Executes the bytes as a $batch (boundary batch_x, continue-on-error) on a fresh organization
 * with our schema and no data; the answer must be a multipart 200 or a Dataverse error. */
static void execute(const char *body, size_t len)
{
    struct dv_settings st;
    dv_settings_defaults(&st);
    struct dv_options o = {.seed = 1, .provisioned = true, .settings = &st};
    struct dv_sandbox *s = NULL;
    char err[256];
    if (dv_sandbox_new(&o, &s, err, sizeof err) != MLC_OK)
        abort();
    snprintf(s->base_url, sizeof s->base_url, "https://fuzz.example");
    dv_guid_from("app", s->app_user_id);
    struct dv_ctx c = {.s = s, .st = st, .user_id = s->app_user_id};
    struct dv_req q = {.method = "POST",
                       .path = "$batch",
                       .prefer = "odata.continue-on-error",
                       .content_type = "multipart/mixed; boundary=batch_x",
                       .body = body,
                       .body_len = len};
    struct dv_resp p;
    dv_resp_init(&p);
    dv_batch_exec(&c, &q, &p);
    if (p.status != 200 && (p.status < 400 || p.status > 599))
        abort();
    dv_resp_free(&p);
    dv_sandbox_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    /* an exact-size copy so ASan sees any read past the end */
    char *body = malloc(size ? size : 1);
    memcpy(body, data, size);
    parse_level(body, size, "batch_x", 0);
    /* the Content-Type parameter parser on the same bytes */
    char *ct = malloc(size + 1);
    memcpy(ct, data, size);
    ct[size] = '\0';
    char b[80];
    dv_boundary(ct, b, sizeof b);
    free(ct);
    execute(body, size);
    free(body);
    return 0;
}
