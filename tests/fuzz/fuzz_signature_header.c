/* libFuzzer target: the X-MLC-Signature header parser and the HMAC check.
 * Input: the header, a newline, then the body. */
#include "mlc/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char k1[] = "whsec_current_7Qk2";
static char k2[] = "whsec_previous_Zp9";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hl = nl ? (size_t)(nl - data) : size;
    const uint8_t *body = nl ? nl + 1 : data + size;
    size_t bodylen = size - hl - (nl ? 1 : 0);
    /* an exact-size copy, so ASan sees any read past the terminator */
    char *header = malloc(hl + 1);
    memcpy(header, data, hl);
    header[hl] = '\0';

    int64_t t = -1;
    uint8_t sigs[8][32];
    size_t nsig = 99;
    enum mlc_rc prc = mlc_signature_parse(header, &t, sigs, 8, &nsig);
    if (prc == MLC_OK && (nsig < 1 || nsig > 8 || t < 0))
        abort();
    if (prc != MLC_OK && prc != MLC_EINVAL)
        abort();
    /* a smaller room changes how many are kept, never whether the header is well-formed */
    int64_t t1;
    uint8_t one[1][32];
    size_t n1;
    if (mlc_signature_parse(header, &t1, one, 1, &n1) != prc)
        abort();
    if (prc == MLC_OK && (n1 != 1 || t1 != t || memcmp(one[0], sigs[0], 32) != 0))
        abort();

    char *keys[] = {k1, k2};
    char err[128];
    int64_t now = prc == MLC_OK ? t : 1796320800;
    enum mlc_rc vrc =
        mlc_signature_verify(header, body, bodylen, keys, 2, now, 300, err, sizeof err);
    if ((vrc == MLC_EINVAL) != (prc == MLC_EINVAL))
        abort();
    if (vrc == MLC_OK) {
        /* a match must really be one: recompute with each key */
        char prefix[32];
        int pl = snprintf(prefix, sizeof prefix, "%lld.", (long long)t);
        uint8_t *msg = malloc((size_t)pl + bodylen + 1);
        memcpy(msg, prefix, (size_t)pl);
        memcpy(msg + pl, body, bodylen);
        bool found = false;
        for (size_t k = 0; k < 2; k++) {
            uint8_t mac[32];
            mlc_hmac_sha256(keys[k], strlen(keys[k]), msg, (size_t)pl + bodylen, mac);
            for (size_t s = 0; s < nsig; s++)
                found |= memcmp(mac, sigs[s], 32) == 0;
        }
        free(msg);
        if (!found)
            abort();
    }

    /* a header we sign ourselves over the fuzzed body always verifies */
    uint8_t mac[32];
    char hex[65], good[128];
    char prefix[32];
    int pl = snprintf(prefix, sizeof prefix, "%d.", 1796320800);
    uint8_t *msg = malloc((size_t)pl + bodylen + 1);
    memcpy(msg, prefix, (size_t)pl);
    memcpy(msg + pl, body, bodylen);
    mlc_hmac_sha256(k2, strlen(k2), msg, (size_t)pl + bodylen, mac);
    free(msg);
    mlc_hex(mac, 32, hex);
    snprintf(good, sizeof good, "t=1796320800,v1=%s", hex);
    if (mlc_signature_verify(good, body, bodylen, keys, 2, 1796320800, 300, err, sizeof err) !=
        MLC_OK)
        abort();
    free(header);
    return 0;
}
