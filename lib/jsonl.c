/* jsonl.c: JSON lines over cJSON (see jsonl.h). */
#include "jsonl.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct jsonl_reader {
    FILE *f;
    int own;
    char *path;
    char *line;
    size_t cap;
    long lineno;
};

jsonl_reader *jsonl_open(const char *path)
{
    jsonl_reader *r = xcalloc(1, sizeof *r);
    r->f = xfopen(path, "r");
    r->own = r->f != stdin;
    r->path = xstrdup(display_name(path));
    return r;
}

void jsonl_close(jsonl_reader *r)
{
    if (!r) return;
    if (r->own) fclose(r->f);
    free(r->line);
    free(r->path);
    free(r);
}

long jsonl_line(const jsonl_reader *r) { return r->lineno; }
const char *jsonl_path(const jsonl_reader *r) { return r->path; }

void jsonl_die(const jsonl_reader *r, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: %s:%ld: ", progname, r->path, r->lineno);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EX_DATAERR);
}

cJSON *jsonl_next(jsonl_reader *r)
{
    for (;;) {
        ssize_t n = getline(&r->line, &r->cap, r->f);
        if (n < 0) {
            if (ferror(r->f)) die(EX_IOERR, "%s: read error:", r->path);
            return NULL;
        }
        r->lineno++;
        while (n && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r')) r->line[--n] = 0;
        const char *s = r->line;
        while (*s == ' ' || *s == '\t') s++;
        if (!*s) continue;
        const char *end = NULL;
        cJSON *o = cJSON_ParseWithOpts(r->line, &end, 1);
        if (!o) {
            long col = end ? (long)(end - r->line) + 1 : 1;
            jsonl_die(r, "column %ld: invalid JSON", col);
        }
        return o;
    }
}

double jsonl_num(const jsonl_reader *r, const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) jsonl_die(r, "missing key '%s'", key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) jsonl_die(r, "key '%s': expected a number", key);
    return v->valuedouble;
}

const char *jsonl_str(const jsonl_reader *r, const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) jsonl_die(r, "missing key '%s'", key);
    if (!cJSON_IsString(v)) jsonl_die(r, "key '%s': expected a string", key);
    return v->valuestring;
}

void jsonl_write(FILE *f, const cJSON *obj)
{
    char *s = cJSON_PrintUnformatted(obj);
    if (!s) die(EX_SOFTWARE, "cannot print JSON");
    fputs(s, f);
    putc('\n', f);
    free(s);
    if (ferror(f)) die(EX_IOERR, "write error:");
}

cJSON *json_add_num(cJSON *obj, const char *key, double x)
{
    /* cJSON prints "%1.15g" and keeps it when it reads back within a relative
     * DBL_EPSILON, which is not exact (1.7736034309720299e+239 is printed as
     * 1.77360343097203e+239). So the number goes in as raw text from
     * fmt_double, which reads back exactly; valuedouble/valueint are set too
     * for code that reads the object before printing it. Non-finite numbers
     * become null (JSON has no NaN). */
    if (!isfinite(x)) return cJSON_AddNullToObject(obj, key);
    char buf[32];
    cJSON *v = cJSON_AddRawToObject(obj, key, fmt_double(buf, x));
    if (v) {
        v->valuedouble = x;
        v->valueint = x >= INT_MAX ? INT_MAX : x <= (double)INT_MIN ? INT_MIN : (int)x;
    }
    return v;
}

cJSON *json_parse_located(const char *text, const char *name)
{
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithOpts(text, &end, 1);
    if (o) return o;
    long line = 1, col = 1;
    const char *stop = end ? end : text;
    for (const char *c = text; c < stop && *c; c++) {
        if (*c == '\n') {
            line++;
            col = 1;
        } else
            col++;
    }
    die(EX_DATAERR, "%s:%ld:%ld: invalid JSON", name, line, col);
}

char *read_file(const char *path, size_t *len)
{
    FILE *f = xfopen(path, "r");
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) buf = xrealloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) die(EX_IOERR, "%s: read error:", display_name(path));
    if (f != stdin) fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

cJSON *json_load_file(const char *path)
{
    char *text = read_file(path, NULL);
    cJSON *o = json_parse_located(text, display_name(path));
    free(text);
    return o;
}
