/* safetensors.c: model files. Layout (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian header length N, N bytes of JSON header, then the
 * raw tensors. The header maps each tensor name (the reference's state_dict
 * names) to {"dtype":"F32","shape":[...],"data_offsets":[begin,end]} (byte
 * offsets into the data), plus "__metadata__": an object of strings; ours
 * holds "config" (the nn_config as JSON text) and whatever the caller adds
 * (features, scaler, labels, ...). Floats are stored little-endian. */
#include "jsonl.h"
#include "nn/nn_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "util.h"

static void put_le32(unsigned char *b, float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    b[0] = u & 0xff, b[1] = (u >> 8) & 0xff, b[2] = (u >> 16) & 0xff, b[3] = u >> 24;
}

static float get_le32(const unsigned char *b)
{
    uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

int nn_save(const nn_model *m, const char *path, const cJSON *meta)
{
    cJSON *hdr = cJSON_CreateObject(), *md = cJSON_AddObjectToObject(hdr, "__metadata__");
    cJSON *cj = nn_config_json(&m->cfg);
    char *ctext = json_print(cj, 0);
    cJSON_AddStringToObject(md, "config", ctext);
    free(ctext), cJSON_Delete(cj);
    for (const cJSON *it = meta ? meta->child : NULL; it; it = it->next) {
        if (!strcmp(it->string, "config")) continue;
        if (!cJSON_IsString(it)) {
            warn("%s: metadata \"%s\" is not a string", path, it->string);
            cJSON_Delete(hdr);
            return -1;
        }
        cJSON_AddStringToObject(md, it->string, it->valuestring);
    }
    size_t off = 0;
    for (int i = 0; i < m->ntens; i++) {
        const nn_tensor *t = &m->tens[i];
        cJSON *o = cJSON_AddObjectToObject(hdr, t->name);
        cJSON_AddStringToObject(o, "dtype", "F32");
        cJSON *sh = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber(t->shape[d]));
        cJSON *of = cJSON_AddArrayToObject(o, "data_offsets");
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        off += 4 * t->n;
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
    }
    char *text = json_print(hdr, 0);
    cJSON_Delete(hdr);
    size_t hl = strlen(text), padded = (hl + 7) & ~(size_t)7; /* data starts 8-byte aligned; pad with spaces */
    atomic_file *af = atomic_open(path);
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    fwrite(len, 1, 8, af->f);
    fwrite(text, 1, hl, af->f);
    for (size_t i = hl; i < padded; i++) fputc(' ', af->f);
    free(text);
    unsigned char buf[4096];
    for (int i = 0; i < m->ntens; i++) {
        const float *p = m->params + m->tens[i].off;
        for (size_t j = 0; j < m->tens[i].n; j += 1024) {
            size_t k = m->tens[i].n - j < 1024 ? m->tens[i].n - j : 1024;
            for (size_t q = 0; q < k; q++) put_le32(buf + 4 * q, p[j + q]);
            fwrite(buf, 4, k, af->f);
        }
    }
    atomic_commit(af); /* dies with a message on a write error */
    return 0;
}

/* Read a whole file; NULL with a warning on error. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        warn("%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0, r;
    unsigned char *b = xmalloc(cap);
    while ((r = fread(b + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) b = xrealloc(b, cap *= 2);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        warn("%s: read error", path);
        free(b);
        return NULL;
    }
    *n = len;
    return b;
}

nn_model *nn_load(const char *path, cJSON **meta)
{
    size_t n = 0;
    unsigned char *b = slurp(path, &n);
    if (!b) return NULL;
    nn_model *m = NULL;
    cJSON *hdr = NULL;
    char err[300] = "";
#define FAIL(...) do { snprintf(err, sizeof err, __VA_ARGS__); goto out; } while (0)
    if (n < 8) FAIL("not a safetensors file (%zu bytes)", n);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++) hl |= (uint64_t)b[i] << (8 * i);
    if (hl > n - 8) FAIL("not a safetensors file (header length %llu beyond the file)", (unsigned long long)hl);
    char *text = xmalloc(hl + 1);
    memcpy(text, b + 8, hl);
    text[hl] = 0;
    hdr = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(hdr)) FAIL("safetensors header is not a JSON object");
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(hdr, "__metadata__");
    const cJSON *cs = md ? cJSON_GetObjectItemCaseSensitive(md, "config") : NULL;
    if (!cJSON_IsString(cs)) FAIL("__metadata__ has no \"config\"");
    cJSON *cj = cJSON_Parse(cs->valuestring);
    nn_config cfg;
    int bad = !cJSON_IsObject(cj) ? (snprintf(err, sizeof err, "config is not a JSON object"), 1)
                                  : nn_config_from_json(&cfg, cj, err, sizeof err) < 0;
    cJSON_Delete(cj);
    if (bad) goto out;
    m = nn_create(&cfg, 0);
    if (!m) FAIL("invalid config");
    const unsigned char *data = b + 8 + hl;
    size_t dn = n - 8 - hl;
    int found = 0;
    for (int i = 0; i < m->ntens; i++) {
        const nn_tensor *t = &m->tens[i];
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(hdr, t->name);
        if (!o) FAIL("tensor %s missing", t->name);
        found++;
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(o, "dtype");
        if (!cJSON_IsString(dt) || strcmp(dt->valuestring, "F32"))
            FAIL("tensor %s: dtype %s, expected F32", t->name, cJSON_IsString(dt) ? dt->valuestring : "missing");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(o, "shape");
        int ok = cJSON_IsArray(sh) && cJSON_GetArraySize(sh) == t->ndim;
        for (int d = 0; ok && d < t->ndim; d++) {
            const cJSON *x = cJSON_GetArrayItem(sh, d);
            ok = cJSON_IsNumber(x) && x->valuedouble == t->shape[d];
        }
        if (!ok) {
            char want[64];
            if (t->ndim == 1) snprintf(want, sizeof want, "[%d]", t->shape[0]);
            else if (t->ndim == 2) snprintf(want, sizeof want, "[%d, %d]", t->shape[0], t->shape[1]);
            else snprintf(want, sizeof want, "[%d, %d, %d]", t->shape[0], t->shape[1], t->shape[2]);
            FAIL("tensor %s: shape differs from the config's %s", t->name, want);
        }
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(o, "data_offsets");
        const cJSON *a0 = cJSON_GetArrayItem(of, 0), *a1 = cJSON_GetArrayItem(of, 1);
        if (!cJSON_IsNumber(a0) || !cJSON_IsNumber(a1) || a0->valuedouble < 0 || a1->valuedouble > (double)dn ||
            a1->valuedouble - a0->valuedouble != 4.0 * t->n)
            FAIL("tensor %s: bad data_offsets", t->name);
        const unsigned char *src = data + (size_t)a0->valuedouble;
        float *p = m->params + t->off;
        for (size_t j = 0; j < t->n; j++) p[j] = get_le32(src + 4 * j);
    }
    int total = 0;
    for (const cJSON *it = hdr->child; it; it = it->next)
        if (strcmp(it->string, "__metadata__")) {
            total++;
            int known = 0;
            for (int i = 0; i < m->ntens && !known; i++) known = !strcmp(m->tens[i].name, it->string);
            if (!known) FAIL("unexpected tensor %s for a %s model", it->string, m->cfg.arch);
        }
    (void)found, (void)total;
    if (meta) *meta = cJSON_Duplicate(md, 1);
out:
#undef FAIL
    if (err[0]) {
        warn("%s: %s", path, err);
        nn_free(m);
        m = NULL;
    }
    cJSON_Delete(hdr);
    free(b);
    return m;
}
