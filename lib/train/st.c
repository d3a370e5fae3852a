/* st.c: safetensors writing and header reading (see st.h). */
#include "train/st.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "jsonl.h"
#include "util.h"

static void put_le64(unsigned char *b, uint64_t v) {
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}

void st_write(const char *path, const st_tensor *t, int n, const cJSON *meta) {
    cJSON *h = cJSON_CreateObject();
    if (meta) cJSON_AddItemToObject(h, "__metadata__", cJSON_Duplicate(meta, 1));
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_AddObjectToObject(h, t[i].name);
        cJSON_AddStringToObject(e, "dtype", "F32");
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        long cnt = 1;
        for (int d = 0; d < t[i].ndim; d++) {
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t[i].shape[d]));
            cnt *= t[i].shape[d];
        }
        cJSON *o = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
        off += (size_t)cnt * 4;
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
    }
    char *js = json_print(h, 0);
    cJSON_Delete(h);
    size_t hl = strlen(js), pad = (8 - hl % 8) % 8;
    atomic_file *af = atomic_open(path);
    unsigned char len[8];
    put_le64(len, hl + pad);
    fwrite(len, 1, 8, af->f);
    fwrite(js, 1, hl, af->f);
    for (size_t i = 0; i < pad; i++) fputc(' ', af->f);
    free(js);
    for (int i = 0; i < n; i++) {
        long cnt = 1;
        for (int d = 0; d < t[i].ndim; d++) cnt *= t[i].shape[d];
        for (long k = 0; k < cnt; k++) {
            uint32_t u;
            memcpy(&u, &t[i].data[k], 4);
            unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                                  (unsigned char)(u >> 24)};
            fwrite(b, 1, 4, af->f);
        }
    }
    atomic_commit(af);
}

/* Reads the header; on success *f is positioned at the data and *hlen is the header length. */
static cJSON *read_header(const char *path, FILE **fp, uint64_t *hlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char b[8];
    if (fread(b, 1, 8, f) != 8) goto bad;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | b[i];
    if (n == 0 || n > (64u << 20)) goto bad;
    char *js = xmalloc(n + 1);
    if (fread(js, 1, n, f) != n) {
        free(js);
        goto bad;
    }
    js[n] = 0;
    cJSON *h = cJSON_Parse(js);
    free(js);
    if (!h || !cJSON_IsObject(h)) {
        cJSON_Delete(h);
        goto bad;
    }
    if (fp)
        *fp = f;
    else
        fclose(f);
    if (hlen) *hlen = n;
    return h;
bad:
    fclose(f);
    return NULL;
}

cJSON *st_read_header(const char *path) { return read_header(path, NULL, NULL); }

float *st_read_tensor(const char *path, const char *name, long *count) {
    FILE *f;
    uint64_t hl;
    cJSON *h = read_header(path, &f, &hl);
    if (!h) return NULL;
    float *out = NULL;
    cJSON *e = cJSON_GetObjectItemCaseSensitive(h, name);
    cJSON *o = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (cJSON_GetArraySize(o) == 2) {
        long a = (long)cJSON_GetArrayItem(o, 0)->valuedouble, b = (long)cJSON_GetArrayItem(o, 1)->valuedouble;
        if (a >= 0 && b >= a && (b - a) % 4 == 0 && fseek(f, (long)(8 + hl) + a, SEEK_SET) == 0) {
            long cnt = (b - a) / 4;
            unsigned char *raw = xmalloc((size_t)(b - a) + 1);
            if (fread(raw, 1, (size_t)(b - a), f) == (size_t)(b - a)) {
                out = xmalloc((size_t)(cnt > 0 ? cnt : 1) * sizeof *out);
                for (long k = 0; k < cnt; k++) {
                    uint32_t u = raw[4 * k] | raw[4 * k + 1] << 8 | raw[4 * k + 2] << 16 | (uint32_t)raw[4 * k + 3] << 24;
                    memcpy(&out[k], &u, 4);
                }
                if (count) *count = cnt;
            }
            free(raw);
        }
    }
    fclose(f);
    cJSON_Delete(h);
    return out;
}

void kml_sha256_hex(const void *data, size_t n, char hex[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) || len != 32) die(EX_SOFTWARE, "SHA-256 failed");
    for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
}
