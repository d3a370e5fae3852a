/* util.c: errors, allocation and I/O wrappers, number text (see util.h). */
#include "util.h"

#include "dtoa.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char *progname = "kml";

void set_progname(const char *argv0)
{
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    progname = slash ? slash + 1 : (argv0 && *argv0 ? argv0 : "kml");
}

void kml_assert_fail(const char *file, int line, const char *expr)
{
    fflush(stdout);
    fprintf(stderr, "%s: internal error: %s:%d: assertion failed: %s\n", progname, file, line, expr);
    exit(EX_SOFTWARE);
}

/* The one error printer: "progname: [where: ]message" (and strerror when fmt
 * ends in ':'). */
static void vreport(const char *where, const char *fmt, va_list ap, int errnum)
{
    fflush(stdout);
    fprintf(stderr, "%s: ", progname);
    if (where) fprintf(stderr, "%s: ", where);
    vfprintf(stderr, fmt, ap);
    size_t n = strlen(fmt);
    if (n && fmt[n - 1] == ':') fprintf(stderr, " %s", strerror(errnum));
    fputc('\n', stderr);
}

void die(int code, const char *fmt, ...)
{
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    vreport(NULL, fmt, ap, e);
    va_end(ap);
    exit(code);
}

void vdie_at(int code, const char *where, const char *fmt, va_list ap)
{
    vreport(where, fmt, ap, errno);
    exit(code);
}

void die_at(int code, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdie_at(code, where, fmt, ap);
}

void warn(const char *fmt, ...)
{
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    vreport(NULL, fmt, ap, e);
    va_end(ap);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) die(EX_OSERR, "out of memory allocating %zu bytes", n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) die(EX_OSERR, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) die(EX_OSERR, "out of memory allocating %zu bytes", n);
    return p;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

FILE *xfopen(const char *path, const char *mode)
{
    if (!path || !strcmp(path, "-")) return mode[0] == 'r' ? stdin : stdout;
    FILE *f = fopen(path, mode);
    if (!f) {
        if (mode[0] == 'r') die(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s:", path);
        die(EX_CANTCREAT, "%s:", path);
    }
    return f;
}

void close_stdout(void)
{
    int bad = fflush(stdout) != 0 || ferror(stdout);
    if (fclose(stdout) != 0) bad = 1;
    if (bad) die(EX_IOERR, "write error on standard output:");
}

void mkdirs(const char *path)
{
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) die(EX_CANTCREAT, "%s:", p);
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) die(EX_CANTCREAT, "%s:", p);
    free(p);
}

const char *display_name(const char *path)
{
    return (!path || !strcmp(path, "-")) ? "<stdin>" : path;
}

int parse_double(const char *s, double *out)
{
    if (!s || !*s) return -1;
    /* strtod accepts "nan", "inf", hex floats and leading space: refuse them. */
    const char *c = s;
    if (*c == '+' || *c == '-') c++;
    if (!((*c >= '0' && *c <= '9') || *c == '.')) return -1;
    if (c[0] == '0' && (c[1] == 'x' || c[1] == 'X')) return -1;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (*end || !isfinite(x) || (errno == ERANGE && fabs(x) > 1)) return -1;
    *out = x;
    return 0;
}

int parse_int64(const char *s, int64_t *out)
{
    if (!s || !*s) return -1;
    const char *c = s;
    if (*c == '+' || *c == '-') c++;
    if (*c < '0' || *c > '9') return -1;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (*end || errno == ERANGE) return -1;
    *out = x;
    return 0;
}

char *fmt_double(char *buf, double x)
{
    /* lib/dtoa.c's exact integer algorithm writes fmt_double_ref's text about
     * 50 times faster; it needs 40 bytes of room, the callers give 32. */
    char tmp[40];
    int n = ta_fmt_double(tmp, x);
    memcpy(buf, tmp, (size_t)n);
    buf[n] = 0;
    return buf;
}

char *fmt_double_ref(char *buf, double x)
{
    if (isnan(x)) {
        buf[0] = 0;
        return buf;
    }
    /* The shortest of %.15g..%.17g that reads back exactly. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    return buf;
}

char *fmt_float(char *buf, float x)
{
    if (isnan(x)) {
        buf[0] = 0;
        return buf;
    }
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, 32, "%.*g", prec, (double)x);
        if (strtof(buf, NULL) == x) break;
    }
    return buf;
}

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
