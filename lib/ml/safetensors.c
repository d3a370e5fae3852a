/* safetensors.c: the one safetensors reader and writer (see safetensors.h). */
#include "ml/safetensors.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "jsonl.h"
#include "util.h"

static void put_f32(unsigned char *b, float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    b[0] = u & 0xff, b[1] = (u >> 8) & 0xff, b[2] = (u >> 16) & 0xff, b[3] = u >> 24;
}

static float get_f32(const unsigned char *b)
{
    uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

static long count_of(const st_tensor *t)
{
    long c = 1;
    for (int d = 0; d < t->ndim; d++) c *= t->shape[d];
    return c;
}

void st_write(const char *path, const st_tensor *t, int n, const cJSON *meta)
{
    cJSON *h = cJSON_CreateObject();
    if (meta) {
        for (const cJSON *it = meta->child; it; it = it->next) ASSERT(cJSON_IsString(it));
        cJSON_AddItemToObject(h, "__metadata__", cJSON_Duplicate(meta, 1));
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        ASSERT(t[i].ndim >= 1 && t[i].ndim <= ST_MAX_DIM);
        cJSON *e = cJSON_AddObjectToObject(h, t[i].name);
        cJSON_AddStringToObject(e, "dtype", "F32");
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < t[i].ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t[i].shape[d]));
        cJSON *o = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
        off += 4 * (size_t)count_of(&t[i]);
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
    }
    char *js = json_print(h, 0);
    cJSON_Delete(h);
    size_t hl = strlen(js), padded = (hl + 7) & ~(size_t)7; /* data 8-byte aligned; spaces pad the JSON */
    atomic_file *af = atomic_open(path);
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    fwrite(len, 1, 8, af->f);
    fwrite(js, 1, hl, af->f);
    for (size_t i = hl; i < padded; i++) fputc(' ', af->f);
    free(js);
    unsigned char buf[4096];
    for (int i = 0; i < n; i++) {
        long cnt = count_of(&t[i]);
        for (long j = 0; j < cnt; j += 1024) {
            long k = cnt - j < 1024 ? cnt - j : 1024;
            for (long q = 0; q < k; q++) put_f32(buf + 4 * q, t[i].data[j + q]);
            fwrite(buf, 4, (size_t)k, af->f);
        }
    }
    atomic_commit(af); /* dies 74 on a write error */
}

int st_read(const char *path, st_file *f, char *err, size_t errn)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        int e = errno;
        snprintf(err, errn, "%s", strerror(e));
        errno = e;
        return EX_NOINPUT;
    }
    size_t cap = 1 << 16, len = 0, r;
    unsigned char *b = xmalloc(cap);
    while ((r = fread(b + len, 1, cap - len, fp)) > 0)
        if ((len += r) == cap) b = xrealloc(b, cap *= 2);
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        snprintf(err, errn, "read error");
        free(b);
        return EX_IOERR;
    }
    if (len < 8) {
        snprintf(err, errn, "not a safetensors file (%zu bytes)", len);
        free(b);
        return EX_DATAERR;
    }
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++) hl |= (uint64_t)b[i] << (8 * i);
    if (hl > len - 8) {
        snprintf(err, errn, "not a safetensors file (header length %llu beyond the file's %zu bytes)",
                 (unsigned long long)hl, len);
        free(b);
        return EX_DATAERR;
    }
    char *text = xmalloc(hl + 1);
    memcpy(text, b + 8, hl);
    text[hl] = 0;
    cJSON *h = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(h)) {
        snprintf(err, errn, "not a safetensors file (the header is not a JSON object)");
        cJSON_Delete(h);
        free(b);
        return EX_DATAERR;
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
    if (md && !cJSON_IsObject(md)) {
        snprintf(err, errn, "__metadata__ is not an object");
        cJSON_Delete(h);
        free(b);
        return EX_DATAERR;
    }
    f->bytes = b, f->n = len, f->header = h, f->meta = md, f->data_off = 8 + (size_t)hl;
    return 0;
}

static void shape_text(char *buf, size_t n, int ndim, const long *shape)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && k < n; d++) k += (size_t)snprintf(buf + k, n - k, "%s%ld", d ? "," : "", shape[d]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

/* A JSON number that is a non-negative integer below 2^53, or -1. */
static double whole(const cJSON *x)
{
    if (!cJSON_IsNumber(x)) return -1;
    double v = x->valuedouble;
    return v >= 0 && v < 9007199254740992.0 && v == (double)(int64_t)v ? v : -1;
}

long st_count(const st_file *f, const char *name)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(f->header, name);
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(o, "shape");
    if (!cJSON_IsArray(sh)) return -1;
    double c = 1;
    for (const cJSON *x = sh->child; x; x = x->next) {
        double v = whole(x);
        if (v < 0) return -1;
        c *= v;
    }
    return c < 1e15 ? (long)c : -1;
}

int st_get(const st_file *f, const char *name, int ndim, const long *shape, float *dst, char *err, size_t errn)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(f->header, name);
    if (!cJSON_IsObject(o)) {
        snprintf(err, errn, "tensor %s missing", name);
        return -1;
    }
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(o, "dtype");
    if (!cJSON_IsString(dt) || strcmp(dt->valuestring, "F32")) {
        snprintf(err, errn, "tensor %s: dtype %s, expected F32", name, cJSON_IsString(dt) ? dt->valuestring : "missing");
        return -1;
    }
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(o, "shape");
    int ok = cJSON_IsArray(sh) && cJSON_GetArraySize(sh) == ndim;
    long cnt = 1;
    for (int d = 0; d < ndim; d++) {
        cnt *= shape[d];
        if (ok) ok = whole(cJSON_GetArrayItem(sh, d)) == (double)shape[d];
    }
    if (!ok) {
        char want[96], *got = cJSON_IsArray(sh) ? json_print(sh, 0) : xstrdup("missing");
        shape_text(want, sizeof want, ndim, shape);
        snprintf(err, errn, "tensor %s: shape %s, expected %s", name, got, want);
        free(got);
        return -1;
    }
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(o, "data_offsets");
    double a = whole(cJSON_GetArrayItem(of, 0)), b = whole(cJSON_GetArrayItem(of, 1));
    if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 || a < 0 || b < a || b > (double)(f->n - f->data_off) ||
        b - a != 4.0 * (double)cnt) {
        snprintf(err, errn, "tensor %s: data_offsets outside the file or not %ld floats", name, cnt);
        return -1;
    }
    const unsigned char *src = f->bytes + f->data_off + (size_t)a;
    for (long j = 0; j < cnt; j++) dst[j] = get_f32(src + 4 * j);
    return 0;
}

const char *st_unknown(const st_file *f, const char *const *known, int nknown)
{
    for (const cJSON *it = f->header->child; it; it = it->next) {
        if (!strcmp(it->string, "__metadata__")) continue;
        int k = 0;
        while (k < nknown && strcmp(known[k], it->string)) k++;
        if (k == nknown) return it->string;
    }
    return NULL;
}

void st_free(st_file *f)
{
    cJSON_Delete(f->header);
    free(f->bytes);
    memset(f, 0, sizeof *f);
}
