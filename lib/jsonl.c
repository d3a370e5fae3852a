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
    char where[4096];
    snprintf(where, sizeof where, "%s:%ld", r->path, r->lineno);
    va_list ap;
    va_start(ap, fmt);
    vdie_at(EX_DATAERR, where, fmt, ap);
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

/* A growing text buffer for the printer. */
typedef struct {
    char *p;
    size_t n, cap;
} jbuf;

static void jb_put(jbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        while (b->n + n + 1 > b->cap) b->cap = b->cap ? 2 * b->cap : 256;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void jb_puts(jbuf *b, const char *s) { jb_put(b, s, strlen(s)); }
static void jb_tabs(jbuf *b, int depth)
{
    for (int i = 0; i < depth; i++) jb_put(b, "\t", 1);
}

/* A JSON string literal: the escapes cJSON uses (\" \\ \b \f \n \r \t,
 * other control characters as \u00XX); UTF-8 passes through. */
static void jb_string(jbuf *b, const char *s)
{
    jb_put(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 32) {
                snprintf(u, sizeof u, "\\u%04x", c);
                esc = u;
            }
        }
        if (esc) {
            jb_put(b, run, (size_t)(s - run));
            jb_puts(b, esc);
            run = s + 1;
        }
    }
    jb_put(b, run, (size_t)(s - run));
    jb_put(b, "\"", 1);
}

static void jb_value(jbuf *b, const cJSON *v, int pretty, int depth)
{
    char num[40];
    switch (v->type & 0xFF) {
    case cJSON_NULL: jb_puts(b, "null"); break;
    case cJSON_False: jb_puts(b, "false"); break;
    case cJSON_True: jb_puts(b, "true"); break;
    case cJSON_Raw: jb_puts(b, v->valuestring ? v->valuestring : "null"); break;
    case cJSON_String: jb_string(b, v->valuestring ? v->valuestring : ""); break;
    case cJSON_Number:
        /* The one JSON-number path: the shortest of %.15g-%.17g that reads
         * back as the same double (fmt_double, the text ta_fmt_double also
         * writes); cJSON's own printer may drop the last bit. JSON has no
         * NaN or infinity: those are null. */
        jb_puts(b, isfinite(v->valuedouble) ? fmt_double(num, v->valuedouble) : "null");
        break;
    case cJSON_Array:
        jb_put(b, "[", 1);
        for (const cJSON *c = v->child; c; c = c->next) {
            jb_value(b, c, pretty, depth + 1);
            if (c->next) jb_puts(b, pretty ? ", " : ",");
        }
        jb_put(b, "]", 1);
        break;
    case cJSON_Object:
        jb_put(b, "{", 1);
        if (pretty) jb_put(b, "\n", 1);
        for (const cJSON *c = v->child; c; c = c->next) {
            if (pretty) jb_tabs(b, depth + 1);
            jb_string(b, c->string ? c->string : "");
            jb_puts(b, pretty ? ":\t" : ":");
            jb_value(b, c, pretty, depth + 1);
            if (c->next) jb_put(b, ",", 1);
            if (pretty) jb_put(b, "\n", 1);
        }
        if (pretty) jb_tabs(b, depth);
        jb_put(b, "}", 1);
        break;
    default: die(EX_SOFTWARE, "cannot print a JSON item of type %d", v->type);
    }
}

char *json_print(const cJSON *item, int pretty)
{
    jbuf b = {0};
    jb_value(&b, item, pretty, 0);
    return b.p;
}

void jsonl_write(FILE *f, const cJSON *obj)
{
    char *s = json_print(obj, 0);
    fputs(s, f);
    putc('\n', f);
    free(s);
    if (ferror(f)) die(EX_IOERR, "write error:");
}

cJSON *json_add_num(cJSON *obj, const char *key, double x)
{
    /* Non-finite numbers become null (JSON has no NaN); json_print writes
     * the rest so they read back exactly. */
    if (!isfinite(x)) return cJSON_AddNullToObject(obj, key);
    return cJSON_AddNumberToObject(obj, key, x);
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
