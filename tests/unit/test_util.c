/* test_util.c: unit tests of lib/util.c (errors, allocation, files, number text). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rng.h"
#include "t.h"
#include "t_capture.h"
#include "util.h"

/* Let the allocation-failure test see a NULL from malloc under AddressSanitizer
 * too (without it ASan aborts on a huge request instead of returning NULL). */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

/* ---- die / warn ---- */

static void die_plain(void *arg) { die(65, "bad %s %d", "thing", 3); }

static void test_die_format(void)
{
    struct t_out o;
    t_capture(die_plain, NULL, NULL, &o);
    CHECK_EQ_INT(o.code, 65);
    CHECK_EQ_STR(o.err, "kml-test: bad thing 3\n");
    CHECK_EQ_STR(o.out, "");
    t_expect_exit(die_plain, NULL, NULL, 65, "kml-test: bad thing 3\n");
}

static void die_errno(void *arg)
{
    errno = ENOENT;
    die(66, "open %s:", "x.csv");
}

static void test_die_strerror(void)
{
    struct t_out o;
    char want[256];
    snprintf(want, sizeof want, "kml-test: open x.csv: %s\n", strerror(ENOENT));
    t_capture(die_errno, NULL, NULL, &o);
    CHECK_EQ_INT(o.code, 66);
    CHECK_EQ_STR(o.err, want);
}

static void die_after_output(void *arg)
{
    fputs("partial", stdout); /* buffered: die must flush it before the message */
    die(1, "stop");
}

static void test_die_flushes_stdout(void)
{
    struct t_out o;
    t_capture(die_after_output, NULL, NULL, &o);
    CHECK_EQ_INT(o.code, 1);
    CHECK_EQ_STR(o.out, "partial");
    CHECK_EQ_STR(o.err, "kml-test: stop\n");
}

static void warn_twice(void *arg)
{
    warn("careful %d", 1);
    errno = EACCES;
    warn("cannot read %s:", "f");
}

static void test_warn_continues(void)
{
    struct t_out o;
    char want[256];
    snprintf(want, sizeof want, "kml-test: careful 1\nkml-test: cannot read f: %s\n", strerror(EACCES));
    t_capture(warn_twice, NULL, NULL, &o);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_STR(o.err, want);
}

static void test_set_progname(void)
{
    set_progname("/usr/local/bin/kml-features");
    CHECK_EQ_STR(progname, "kml-features");
    set_progname("kml-x");
    CHECK_EQ_STR(progname, "kml-x");
    set_progname("");
    CHECK_EQ_STR(progname, "kml");
    set_progname(NULL);
    CHECK_EQ_STR(progname, "kml");
    set_progname("kml-test");
    CHECK_EQ_STR(progname, "kml-test");
}

/* One line, so that assert_line is the line of the ASSERT. */
static void assert_fails(void *arg) { int x = 1; ASSERT(x == 2); } static const int assert_line = __LINE__;

static void test_assert_failure(void)
{
    char want[256];
    struct t_out o;
    t_capture(assert_fails, NULL, NULL, &o);
    snprintf(want, sizeof want, "kml-test: internal error: %s:%d: assertion failed: x == 2\n", __FILE__,
             assert_line);
    CHECK_EQ_INT(o.code, 70);
    CHECK_EQ_STR(o.err, want);
}

static void assert_holds(void *arg)
{
    int x = 2;
    ASSERT(x == 2);
}

static void test_assert_passes(void) { t_expect_exit(assert_holds, NULL, NULL, 0, NULL); }

/* ---- allocation ---- */

static void alloc_huge(void *arg)
{
    volatile size_t n = SIZE_MAX / 2;
    void *p = xmalloc(n);
    free(p);
}

static void calloc_huge(void *arg)
{
    volatile size_t n = SIZE_MAX / 4;
    void *p = xcalloc(n, 8);
    free(p);
}

static void realloc_huge(void *arg)
{
    volatile size_t n = SIZE_MAX / 2;
    void *p = xmalloc(16);
    p = xrealloc(p, n);
    free(p);
}

static void test_alloc_failure(void)
{
    t_expect_exit(alloc_huge, NULL, NULL, 71, "kml-test: out of memory allocating");
    t_expect_exit(calloc_huge, NULL, NULL, 71, "kml-test: out of memory allocating");
    t_expect_exit(realloc_huge, NULL, NULL, 71, "kml-test: out of memory allocating");
}

static void test_alloc_ok(void)
{
    char *s = xstrdup("hello");
    CHECK_EQ_STR(s, "hello");
    s = xrealloc(s, 1000);
    CHECK_EQ_STR(s, "hello"); /* content kept */
    s[999] = 1;
    free(s);
    int *z = xcalloc(100, sizeof *z);
    int sum = 0;
    for (int i = 0; i < 100; i++) sum |= z[i];
    CHECK_EQ_INT(sum, 0);
    free(z);
    void *p = xmalloc(0); /* never NULL */
    CHECK(p != NULL);
    free(p);
}

/* ---- files ---- */

static char *missing_path;

static void open_missing(void *arg) { xfopen(missing_path, "r"); }
static void create_in_missing_dir(void *arg) { xfopen(arg, "w"); }
static void open_under_file(void *arg) { xfopen(arg, "r"); }

static void test_xfopen_errors(void)
{
    char *dir = t_tmpdir();
    char path[512], want[600];
    snprintf(path, sizeof path, "%s/no-such.csv", dir);
    missing_path = path;
    snprintf(want, sizeof want, "kml-test: %s: %s\n", path, strerror(ENOENT));
    struct t_out o;
    t_capture(open_missing, NULL, NULL, &o);
    CHECK_EQ_INT(o.code, 66);
    CHECK_EQ_STR(o.err, want);

    char wpath[512];
    snprintf(wpath, sizeof wpath, "%s/no-dir/out.csv", dir);
    snprintf(want, sizeof want, "kml-test: %s: %s", wpath, strerror(ENOENT));
    t_expect_exit(create_in_missing_dir, wpath, NULL, 73, want);

    /* A path through a regular file: ENOTDIR, an I/O error, not "missing". */
    char *file = t_tmpfile("x\n");
    char under[512];
    snprintf(under, sizeof under, "%s/x", file);
    snprintf(want, sizeof want, "kml-test: %s: %s", under, strerror(ENOTDIR));
    t_expect_exit(open_under_file, under, NULL, 74, want);
    unlink(file);
    free(file);
    rmdir(dir);
    free(dir);
}

static void test_xfopen_ok(void)
{
    CHECK(xfopen("-", "r") == stdin);
    CHECK(xfopen(NULL, "r") == stdin);
    CHECK(xfopen("-", "w") == stdout);
    char *path = t_tmpfile("abc\n");
    FILE *f = xfopen(path, "r");
    char buf[16] = {0};
    CHECK(fgets(buf, sizeof buf, f) != NULL);
    CHECK_EQ_STR(buf, "abc\n");
    fclose(f);
    unlink(path);
    free(path);
}

static void test_display_name(void)
{
    CHECK_EQ_STR(display_name(NULL), "<stdin>");
    CHECK_EQ_STR(display_name("-"), "<stdin>");
    CHECK_EQ_STR(display_name("a/b.csv"), "a/b.csv");
}

static void mkdirs_under_file(void *arg) { mkdirs(arg); }

static void test_mkdirs(void)
{
    char *dir = t_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    mkdirs(path);
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    mkdirs(path); /* existing: no error */
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));

    char file[512], bad[600], want[700];
    snprintf(file, sizeof file, "%s/plain", dir);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    snprintf(bad, sizeof bad, "%s/sub", file);
    snprintf(want, sizeof want, "kml-test: %s: %s", bad, strerror(ENOTDIR));
    t_expect_exit(mkdirs_under_file, bad, NULL, 73, want);
    unlink(file);
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/a/b", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/a", dir);
    rmdir(path);
    rmdir(dir);
    free(dir);
}

/* ---- close_stdout ---- */

static void write_to_full(void *arg)
{
    if (!freopen("/dev/full", "w", stdout)) _exit(99);
    fputs("some output\n", stdout);
    close_stdout();
}

static void write_ok(void *arg)
{
    fputs("all of it\n", stdout);
    close_stdout();
}

static void test_close_stdout(void)
{
    if (access("/dev/full", W_OK) == 0) {
        struct t_out o;
        char want[256];
        snprintf(want, sizeof want, "kml-test: write error on standard output: %s\n", strerror(ENOSPC));
        t_capture(write_to_full, NULL, NULL, &o);
        CHECK_EQ_INT(o.code, 74);
        CHECK_EQ_STR(o.err, want);
    } else
        printf("# no /dev/full: close_stdout error path not exercised\n");
    struct t_out o2;
    t_capture(write_ok, NULL, NULL, &o2);
    CHECK_EQ_INT(o2.code, 0);
    CHECK_EQ_STR(o2.out, "all of it\n");
    CHECK_EQ_STR(o2.err, "");
}

/* ---- numbers ---- */

static void test_parse_double_rejects(void)
{
    const char *bad[] = {"",    "abc", "1x",  "nan", "NaN",  "inf", "-inf", "Infinity", "0x10", " 1",
                         "1 ",  "+",   "-",   ".",   "1e",   "e5",  "1e400", "-1e400", "1,5",  "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        double x = 12345;
        if (parse_double(bad[i], &x) == 0) t_fail(__FILE__, __LINE__, "parse_double accepted \"%s\"", bad[i]);
    }
    double x;
    CHECK_EQ_INT(parse_double(NULL, &x), -1);
}

static void test_parse_double_accepts(void)
{
    struct { const char *s; double x; } ok[] = {
        {"1e-3", 1e-3}, {"-2.5", -2.5}, {"0", 0},       {"+7", 7},         {".5", 0.5},
        {"5.", 5},      {"1E3", 1000},  {"-0.0", -0.0}, {"123456.789", 123456.789},
        {"1.7976931348623157e308", 1.7976931348623157e308}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        double x = NAN;
        int rc = parse_double(ok[i].s, &x);
        if (rc != 0) t_fail(__FILE__, __LINE__, "parse_double rejected \"%s\"", ok[i].s);
        else if (x != ok[i].x) t_fail(__FILE__, __LINE__, "parse_double(\"%s\") = %.17g", ok[i].s, x);
    }
}

static void test_parse_int64(void)
{
    int64_t v = 0;
    CHECK_EQ_INT(parse_int64("42", &v), 0);
    CHECK_EQ_INT(v, 42);
    CHECK_EQ_INT(parse_int64("-7", &v), 0);
    CHECK_EQ_INT(v, -7);
    CHECK_EQ_INT(parse_int64("+3", &v), 0);
    CHECK_EQ_INT(v, 3);
    CHECK_EQ_INT(parse_int64("1700000000", &v), 0);
    CHECK_EQ_INT(v, 1700000000);
    CHECK_EQ_INT(parse_int64("9223372036854775807", &v), 0);
    CHECK(v == INT64_MAX);
    CHECK_EQ_INT(parse_int64("-9223372036854775808", &v), 0);
    CHECK(v == INT64_MIN);
    const char *bad[] = {"", "abc", "1x", "1.0", "1e3", " 1", "1 ", "+", "-", "0x10",
                         "9223372036854775808", "-9223372036854775809", "nan"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        v = 5;
        if (parse_int64(bad[i], &v) == 0) t_fail(__FILE__, __LINE__, "parse_int64 accepted \"%s\"", bad[i]);
    }
    CHECK_EQ_INT(parse_int64(NULL, &v), -1);
}

static void test_fmt_double_known(void)
{
    char buf[32];
    CHECK_EQ_STR(fmt_double(buf, 0.1), "0.1");
    CHECK_EQ_STR(fmt_double(buf, 1.0), "1");
    CHECK_EQ_STR(fmt_double(buf, -2.5), "-2.5");
    CHECK_EQ_STR(fmt_double(buf, 123456.789), "123456.789");
    CHECK_EQ_STR(fmt_double(buf, 1e300), "1e+300");
    CHECK_EQ_STR(fmt_double(buf, 0.1 + 0.2), "0.30000000000000004");
    CHECK_EQ_STR(fmt_double(buf, 0.0), "0");
    CHECK_EQ_STR(fmt_double(buf, NAN), "");
    CHECK(fmt_double(buf, 1.5) == buf);
}

/* fmt_double (the fast printer behind it) writes exactly fmt_double_ref's
 * text, into the 32 bytes its callers give it. */
static void test_fmt_double_is_ref(void)
{
    rng_t r;
    rng_seed(&r, 7);
    char a[32], b[32];
    int bad = 0;
    const double special[] = {0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                              INFINITY, -INFINITY, NAN, 1e-16, 1e17, 0.5, 1e23, 9007199254740993.0};
    for (size_t i = 0; i < sizeof special / sizeof *special; i++)
        CHECK_EQ_STR(fmt_double(a, special[i]), fmt_double_ref(b, special[i]));
    for (int i = 0; i < 200000 && bad < 5; i++) {
        double x;
        uint64_t u = rng_u64(&r);
        if (i % 3 == 0) {
            memcpy(&x, &u, sizeof x);
        } else {
            x = (rng_uniform(&r) - 0.5) * pow(10, (int)(u % 40) - 20);
            if (i % 3 == 2) x = strtod(fmt_double_ref(b, x * 1.000001), NULL); /* a short decimal */
        }
        if (strcmp(fmt_double(a, x), fmt_double_ref(b, x)) != 0) {
            t_fail(__FILE__, __LINE__, "%.17g: fmt_double %s, fmt_double_ref %s", x, a, b);
            bad++;
        }
    }
}

static void test_fmt_double_roundtrip(void)
{
    rng_t r;
    rng_seed(&r, 2026);
    char buf[32];
    int bad = 0;
    for (int i = 0; i < 200000 && bad < 5; i++) {
        double x;
        if (i % 2) {
            uint64_t u = rng_u64(&r); /* any bit pattern: every exponent, subnormals */
            memcpy(&x, &u, sizeof x);
            if (!isfinite(x)) continue;
        } else {
            /* prices and returns: a few digits of a uniform at varied scales */
            x = (rng_uniform(&r) - 0.5) * pow(10.0, (double)rng_below(&r, 12) - 4);
        }
        fmt_double(buf, x);
        double y = strtod(buf, NULL);
        if (strlen(buf) >= 32 || y != x || signbit(y) != signbit(x)) {
            t_fail(__FILE__, __LINE__, "fmt_double(%.17g) = \"%s\" does not read back", x, buf);
            bad++;
        }
    }
    /* the extremes */
    double ext[] = {1.7976931348623157e308, -4.9406564584124654e-324, 2.2250738585072014e-308,
                    -0.0};
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        fmt_double(buf, ext[i]);
        CHECK(strtod(buf, NULL) == ext[i]);
    }
}

static void test_fmt_float(void)
{
    char buf[32];
    CHECK_EQ_STR(fmt_float(buf, 0.1f), "0.1");
    CHECK_EQ_STR(fmt_float(buf, -2.5f), "-2.5");
    CHECK_EQ_STR(fmt_float(buf, 3.0f), "3");
    CHECK_EQ_STR(fmt_float(buf, NAN), "");
    rng_t r;
    rng_seed(&r, 7);
    int bad = 0;
    for (int i = 0; i < 100000 && bad < 5; i++) {
        uint32_t u = (uint32_t)rng_u64(&r);
        float x;
        memcpy(&x, &u, sizeof x);
        if (!isfinite(x)) continue;
        fmt_float(buf, x);
        if (strtof(buf, NULL) != x) {
            t_fail(__FILE__, __LINE__, "fmt_float(%.9g) = \"%s\" does not read back", (double)x, buf);
            bad++;
        }
        /* a float never needs more than 9 significant digits */
        if (strlen(buf) > 16) {
            t_fail(__FILE__, __LINE__, "fmt_float(%.9g) = \"%s\" is too long", (double)x, buf);
            bad++;
        }
    }
}

static void test_now_seconds(void)
{
    double a = now_seconds();
    usleep(20000);
    double b = now_seconds();
    CHECK(b - a >= 0.019);
    CHECK(b - a < 5);
}

int main(void)
{
    set_progname("kml-test");
    t_run("die prints 'kml-test: msg' and exits with the code", test_die_format);
    t_run("die with a trailing ':' appends strerror", test_die_strerror);
    t_run("die flushes stdout first", test_die_flushes_stdout);
    t_run("warn prints and continues", test_warn_continues);
    t_run("set_progname keeps the base name", test_set_progname);
    t_run("ASSERT failure exits 70 with file:line", test_assert_failure);
    t_run("ASSERT that holds does nothing", test_assert_passes);
    t_run("allocation failure exits 71", test_alloc_failure);
    t_run("allocation wrappers", test_alloc_ok);
    t_run("xfopen errors: 66 missing, 73 cannot create, 74 other", test_xfopen_errors);
    t_run("xfopen '-' and a real file", test_xfopen_ok);
    t_run("display_name", test_display_name);
    t_run("mkdirs creates parents; failure exits 73", test_mkdirs);
    t_run("close_stdout: write error exits 74", test_close_stdout);
    t_run("parse_double rejects junk, nan, inf, hex, spaces", test_parse_double_rejects);
    t_run("parse_double accepts numbers", test_parse_double_accepts);
    t_run("parse_int64", test_parse_int64);
    t_run("fmt_double shortest text of known values", test_fmt_double_known);
    t_run("fmt_double round-trips random doubles", test_fmt_double_roundtrip);
    t_run("fmt_double writes fmt_double_ref's text", test_fmt_double_is_ref);
    t_run("fmt_float round-trips", test_fmt_float);
    t_run("now_seconds is monotonic", test_now_seconds);
    return t_done();
}
