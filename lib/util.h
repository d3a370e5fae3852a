/* util.h: process-wide helpers every kml tool uses.
 *
 * Errors: die() prints one line "kml-<tool>: message" to stderr and exits with a
 * sysexits.h code. A format ending in ':' appends strerror(errno). Programmer
 * errors use ASSERT (always on); bad input is never an ASSERT, it is a located die.
 * Allocation wrappers never return NULL (they die with EX_OSERR). */
#ifndef KML_UTIL_H
#define KML_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sysexits.h>

#define KML_NORETURN __attribute__((noreturn))
#define KML_PRINTF(a, b) __attribute__((format(printf, a, b)))

#define ASSERT(c)                                                            \
    do {                                                                     \
        if (!(c)) kml_assert_fail(__FILE__, __LINE__, #c);                   \
    } while (0)

extern const char *progname; /* "kml-fetch"; set by set_progname() */

void set_progname(const char *argv0);
KML_NORETURN void kml_assert_fail(const char *file, int line, const char *expr);
KML_NORETURN KML_PRINTF(2, 3) void die(int code, const char *fmt, ...);
/* die() with a location before the message: "kml-x: where: message" (where is
 * a file, "file:line", "file:line: column 'c'", a JSON path...). */
KML_NORETURN KML_PRINTF(3, 4) void die_at(int code, const char *where, const char *fmt, ...);
KML_NORETURN void vdie_at(int code, const char *where, const char *fmt, va_list ap);
KML_PRINTF(1, 2) void warn(const char *fmt, ...);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Open a file or die: 66 (EX_NOINPUT) when reading a missing file, 73
 * (EX_CANTCREAT) when a file cannot be created, 74 (EX_IOERR) otherwise.
 * path "-" means stdin/stdout according to mode. */
FILE *xfopen(const char *path, const char *mode);
/* Flush and close stdout; die EX_IOERR on a write error (full disk, closed pipe). */
void close_stdout(void);
/* mkdir -p; dies EX_CANTCREAT on failure. */
void mkdirs(const char *path);
/* Human name of a path for messages: NULL or "-" -> "<stdin>". */
const char *display_name(const char *path);
/* Strict number parsing of a whole string; 0 on success, -1 when not a finite
 * number / integer (empty, trailing junk, nan, inf, overflow). */
int parse_double(const char *s, double *out);
int parse_int64(const char *s, int64_t *out);
/* The one number printer: the shortest of "%.15g", "%.16g", "%.17g" that
 * reads back as exactly x; NaN gives "". buf needs 32 bytes. Returns buf.
 * Written by lib/dtoa.c's integer algorithm (ta_fmt_double); fmt_double_ref
 * is the same text by snprintf and strtod: the definition the fast code is
 * tested against, and its fallback for the cases it does not decide. */
char *fmt_double(char *buf, double x);
char *fmt_double_ref(char *buf, double x);
/* float32 version: shortest text that reads back to the same float ("%.9g" at worst). */
char *fmt_float(char *buf, float x);
/* Monotonic seconds, for timing. */
double now_seconds(void);

#endif
