/* test_csv.c: unit tests of lib/csv.c (streaming reader over libcsv, writer). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "rng.h"
#include "t.h"
#include "t_capture.h"
#include "util.h"

/* ---- helpers run in a child: read a whole input as a tool would ---- */

/* Columns time (strictly increasing integer) and close (double); path NULL = stdin. */
static void read_time_close(void *arg)
{
    csv_reader *r = csv_open(arg);
    int t = csv_col(r, "time"), c = csv_col(r, "close");
    int64_t prev = INT64_MIN;
    while (csv_next(r)) {
        csv_time_increasing(r, t, &prev);
        csv_double(r, c);
    }
    csv_close(r);
}

/* Only the rows' shape and the column 'close' as a double. */
static void read_close(void *arg)
{
    csv_reader *r = csv_open(arg);
    int c = csv_col(r, "close");
    while (csv_next(r)) csv_double(r, c);
    csv_close(r);
}

static void read_int_time(void *arg)
{
    csv_reader *r = csv_open(arg);
    int t = csv_col(r, "time");
    while (csv_next(r)) csv_int(r, t);
    csv_close(r);
}

static void read_rows(void *arg)
{
    csv_reader *r = csv_open(arg);
    while (csv_next(r)) {}
    csv_close(r);
}

/* Run fn on input (stdin) and check the exit code and the whole stderr. */
#define want_error(fn, arg, input, code, line) want_error_at(__LINE__, fn, arg, input, code, line)
static void want_error_at(int at, void (*fn)(void *), void *arg, const char *input, int code, const char *line)
{
    struct t_out o;
    t_capture(fn, arg, input, &o);
    if (o.code != code || strcmp(o.err, line) != 0)
        t_fail(__FILE__, at, "input \"%s\": exit %d, stderr \"%s\"; expected exit %d, stderr \"%s\"", input,
               o.code, o.err, code, line);
}

/* ---- reading ---- */

static void test_header_and_rows(void)
{
    char *path = t_tmpfile("time,open,close,volume\n1700000000,1.5,2.25,10\n1700003600,2,-3e-2,0\n");
    csv_reader *r = csv_open(path);
    CHECK_EQ_INT(csv_ncols(r), 4);
    CHECK_EQ_STR(csv_colname(r, 0), "time");
    CHECK_EQ_STR(csv_colname(r, 3), "volume");
    CHECK_EQ_STR(csv_path(r), path);
    int t = csv_col(r, "time"), c = csv_col(r, "close");
    CHECK_EQ_INT(t, 0);
    CHECK_EQ_INT(c, 2);
    CHECK_EQ_INT(csv_col_opt(r, "vwap"), -1);
    CHECK_EQ_INT(csv_col_opt(r, "open"), 1);
    CHECK_EQ_INT(csv_next(r), 1);
    CHECK_EQ_INT(csv_line(r), 2);
    CHECK_EQ_INT(csv_int(r, t), 1700000000);
    CHECK(csv_double(r, c) == 2.25);
    CHECK_EQ_STR(csv_field(r, 1), "1.5");
    CHECK_EQ_INT(csv_field_len(r, 0), 10);
    CHECK_EQ_INT(csv_field_len(r, 3), 2);
    CHECK_EQ_INT(csv_empty(r, 3), 0);
    CHECK_EQ_INT(csv_next(r), 1);
    CHECK_EQ_INT(csv_line(r), 3);
    CHECK(csv_double(r, c) == -3e-2);
    CHECK_EQ_INT(csv_int(r, t), 1700003600);
    CHECK_EQ_INT(csv_next(r), 0);
    CHECK_EQ_INT(csv_next(r), 0); /* stays at the end */
    csv_close(r);
    unlink(path);
    free(path);
}

static void test_unknown_column(void)
{
    want_error(read_time_close, NULL, "time,open,high\n1,2,3\n", 65,
               "kml-test: <stdin>: no column 'close' (columns: time,open,high)\n");
    char *path = t_tmpfile("time,vol\n");
    char want[600];
    snprintf(want, sizeof want, "kml-test: %s: no column 'close' (columns: time,vol)\n", path);
    want_error(read_time_close, path, "", 65, want);
    unlink(path);
    free(path);
}

static void test_not_a_number(void)
{
    want_error(read_time_close, NULL, "time,close\n1,2\n2,abc\n", 65,
               "kml-test: <stdin>:3: column 'close': not a number: \"abc\"\n");
    want_error(read_time_close, NULL, "time,close\n1,2.5.1\n", 65,
               "kml-test: <stdin>:2: column 'close': not a number: \"2.5.1\"\n");
    /* a file is named by its path */
    char *path = t_tmpfile("time,close\n1,1\n2,2\n3,x9\n");
    char want[600];
    snprintf(want, sizeof want, "kml-test: %s:4: column 'close': not a number: \"x9\"\n", path);
    want_error(read_time_close, path, "", 65, want);
    unlink(path);
    free(path);
}

static void test_nan_inf_rejected(void)
{
    const char *bad[] = {"nan", "NaN", "inf", "-inf", "Infinity", "0x1p3"};
    char in[128], want[256];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(in, sizeof in, "time,close\n1,%s\n", bad[i]);
        snprintf(want, sizeof want, "kml-test: <stdin>:2: column 'close': not a number: \"%s\"\n", bad[i]);
        want_error(read_time_close, NULL, in, 65, want);
    }
}

static void test_ragged_rows(void)
{
    want_error(read_rows, NULL, "time,close\n1,2\n2\n", 65,
               "kml-test: <stdin>:3: row has 1 fields, expected 2 (the header's)\n");
    want_error(read_rows, NULL, "time,close\n1,2,3\n", 65,
               "kml-test: <stdin>:2: row has 3 fields, expected 2 (the header's)\n");
    /* a trailing comma is one more (empty) field */
    want_error(read_rows, NULL, "a,b\n1,2,\n", 65, "kml-test: <stdin>:2: row has 3 fields, expected 2 (the header's)\n");
}

static void test_empty_required_field(void)
{
    want_error(read_time_close, NULL, "time,close\n1,\n", 65,
               "kml-test: <stdin>:2: column 'close': empty field, expected a number\n");
    want_error(read_int_time, NULL, "time,close\n1,1\n,2\n", 65,
               "kml-test: <stdin>:3: column 'time': empty field, expected an integer\n");
    want_error(read_int_time, NULL, "time,close\n1.5,1\n", 65,
               "kml-test: <stdin>:2: column 'time': not an integer: \"1.5\"\n");
    want_error(read_int_time, NULL, "time,close\n99999999999999999999,1\n", 65,
               "kml-test: <stdin>:2: column 'time': not an integer: \"99999999999999999999\"\n");
}

static void test_double_or(void)
{
    char *path = t_tmpfile("a,b\n,4.5\n");
    csv_reader *r = csv_open(path);
    CHECK_EQ_INT(csv_next(r), 1);
    CHECK_EQ_INT(csv_empty(r, 0), 1);
    CHECK(csv_double_or(r, 0, -1.0) == -1.0);
    CHECK(csv_double_or(r, 1, -1.0) == 4.5);
    CHECK(isnan(csv_double_or(r, -1, NAN))); /* an absent column gives the default */
    csv_close(r);
    unlink(path);
    free(path);
    want_error(read_close, NULL, "close\nnope\n", 65, "kml-test: <stdin>:2: column 'close': not a number: \"nope\"\n");
}

static void test_time_increasing(void)
{
    want_error(read_time_close, NULL, "time,close\n1,1\n2,1\n2,1\n", 65,
               "kml-test: <stdin>:4: column 'time': time 2 is not after the previous row's 2\n");
    want_error(read_time_close, NULL, "time,close\n10,1\n5,1\n", 65,
               "kml-test: <stdin>:3: column 'time': time 5 is not after the previous row's 10\n");
    /* increasing, negative and the first row after INT64_MIN are fine */
    struct t_out o;
    t_capture(read_time_close, NULL, "time,close\n-5,1\n0,1\n7,1\n", &o);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_STR(o.err, "");
    char *path = t_tmpfile("time\n3\n4\n");
    csv_reader *r = csv_open(path);
    int64_t prev = INT64_MIN;
    CHECK_EQ_INT(csv_next(r), 1);
    CHECK_EQ_INT(csv_time_increasing(r, 0, &prev), 3);
    CHECK_EQ_INT(prev, 3);
    CHECK_EQ_INT(csv_next(r), 1);
    CHECK_EQ_INT(csv_time_increasing(r, 0, &prev), 4);
    CHECK_EQ_INT(prev, 4);
    csv_close(r);
    unlink(path);
    free(path);
}

static void test_crlf_and_bom(void)
{
    char *path = t_tmpfile("\xEF\xBB\xBFtime,close\r\n1,2.5\r\n2,3\r\n");
    csv_reader *r = csv_open(path);
    CHECK_EQ_STR(csv_colname(r, 0), "time"); /* no BOM in the name */
    CHECK_EQ_INT(csv_col(r, "close"), 1);    /* no '\r' in the name */
    CHECK_EQ_INT(csv_next(r), 1);
    CHECK_EQ_STR(csv_field(r, 1), "2.5");
    CHECK_EQ_INT(csv_line(r), 2);
    CHECK_EQ_INT(csv_next(r), 1);
    CHECK_EQ_STR(csv_field(r, 1), "3");
    CHECK_EQ_INT(csv_line(r), 3);
    CHECK_EQ_INT(csv_next(r), 0);
    csv_close(r);
    unlink(path);
    free(path);
    /* errors after CRLF lines keep the right line number */
    want_error(read_time_close, NULL, "\xEF\xBB\xBFtime,close\r\n1,2\r\n2,zz\r\n", 65,
               "kml-test: <stdin>:3: column 'close': not a number: \"zz\"\n");
}

static void test_no_final_newline(void)
{
    char *path = t_tmpfile("a,b\n1,2\n3,4");
    csv_reader *r = csv_open(path);
    int n = 0;
    while (csv_next(r)) n++;
    CHECK_EQ_INT(n, 2);
    csv_close(r);
    unlink(path);
    free(path);
}

static void test_quoted_fields(void)
{
    char *path = t_tmpfile("time,note,close\n"
                           "1,\"a,b\",2\n"
                           "2,\"multi\nline\",3\n"
                           "3,\"say \"\"hi\"\"\",4\n"
                           "4,plain,5\n");
    csv_reader *r = csv_open(path);
    CHECK_EQ_INT(csv_next(r), 1);
    CHECK_EQ_STR(csv_field(r, 1), "a,b");
    CHECK_EQ_INT(csv_line(r), 2);
    CHECK_EQ_INT(csv_next(r), 1);
    CHECK_EQ_STR(csv_field(r, 1), "multi\nline");
    CHECK_EQ_INT(csv_line(r), 3); /* the line the record starts on */
    CHECK(csv_double(r, 2) == 3);
    CHECK_EQ_INT(csv_next(r), 1);
    CHECK_EQ_STR(csv_field(r, 1), "say \"hi\"");
    CHECK_EQ_INT(csv_line(r), 5);
    CHECK_EQ_INT(csv_next(r), 1);
    CHECK_EQ_INT(csv_line(r), 6);
    CHECK_EQ_INT(csv_next(r), 0);
    csv_close(r);
    unlink(path);
    free(path);
    /* an error in a record spanning lines names its first line */
    want_error(read_time_close, NULL, "time,note,close\n1,x,1\n2,\"two\nlines\",bad\n", 65,
               "kml-test: <stdin>:3: column 'close': not a number: \"bad\"\n");
    /* and a record starting with a quoted field spanning lines too */
    want_error(read_rows, NULL, "note,close\n\"two\nlines\"\n", 65,
               "kml-test: <stdin>:2: row has 1 fields, expected 2 (the header's)\n");
}

#define want_prefix(fn, input, code, prefix) want_prefix_at(__LINE__, fn, input, code, prefix)
static void want_prefix_at(int at, void (*fn)(void *), const char *input, int code, const char *prefix)
{
    struct t_out o;
    t_capture(fn, NULL, input, &o);
    if (o.code != code || strncmp(o.err, prefix, strlen(prefix)) != 0 || t_count(o.err, "\n") != 1)
        t_fail(__FILE__, at, "input \"%s\": exit %d, stderr \"%s\"; expected exit %d, one line \"%s...\"",
               input, o.code, o.err, code, prefix);
}

static void test_malformed_and_unterminated(void)
{
    want_prefix(read_rows, "a,b\n1,2\n3,x\"y\n", 65, "kml-test: <stdin>:3: malformed CSV: ");
    want_error(read_rows, NULL, "a,b\n1,2\n3,\"open\n", 65, "kml-test: <stdin>:3: unterminated quoted field\n");
    /* the quote opens the record's first field: nothing of the record is complete */
    want_error(read_rows, NULL, "a,b\n1,2\n\"3,4\n5,6\n", 65, "kml-test: <stdin>:3: unterminated quoted field\n");
}

static void test_blank_lines(void)
{
    char *path = t_tmpfile("time,close\n\n1,2\n\n\n2,3\n\n");
    csv_reader *r = csv_open(path);
    CHECK_EQ_INT(csv_next(r), 1);
    CHECK_EQ_INT(csv_line(r), 3);
    CHECK_EQ_STR(csv_field(r, 1), "2");
    CHECK_EQ_INT(csv_next(r), 1);
    CHECK_EQ_INT(csv_line(r), 6);
    CHECK_EQ_STR(csv_field(r, 1), "3");
    CHECK_EQ_INT(csv_next(r), 0);
    csv_close(r);
    unlink(path);
    free(path);
    want_error(read_time_close, NULL, "time,close\n1,2\n\n\n2,q\n", 65,
               "kml-test: <stdin>:5: column 'close': not a number: \"q\"\n");
}

static void test_empty_input(void)
{
    want_error(read_rows, NULL, "", 65, "kml-test: <stdin>: empty input: no header line\n");
    want_error(read_rows, NULL, "\n\n", 65, "kml-test: <stdin>: empty input: no header line\n");
    want_error(read_rows, NULL, "\xEF\xBB\xBF", 65, "kml-test: <stdin>: empty input: no header line\n");
    char *path = t_tmpfile("");
    char want[600];
    snprintf(want, sizeof want, "kml-test: %s: empty input: no header line\n", path);
    want_error(read_rows, path, "", 65, want);
    unlink(path);
    free(path);
    /* a header and no rows is fine: zero rows */
    struct t_out o;
    t_capture(read_time_close, NULL, "time,close\n", &o);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_STR(o.err, "");
}

static void test_bad_header(void)
{
    want_error(read_rows, NULL, "time,close,time\n1,2,3\n", 65,
               "kml-test: <stdin>:1: column 'time' appears twice in the header\n");
    want_error(read_rows, NULL, "\n\ntime,close,close\n", 65,
               "kml-test: <stdin>:3: column 'close' appears twice in the header\n");
    want_error(read_rows, NULL, "time,,close\n", 65, "kml-test: <stdin>:1: column 2 has an empty name\n");
}

static const char *const ohlc[] = {"time", "open", "close"};

static void read_noheader(void *arg)
{
    csv_reader *r = csv_open_noheader(arg, 3, ohlc);
    while (csv_next(r)) csv_double(r, 2);
    csv_close(r);
}

static void test_noheader(void)
{
    char *path = t_tmpfile("1,2,3\n4,5,6\n");
    csv_reader *r = csv_open_noheader(path, 3, ohlc);
    CHECK_EQ_INT(csv_ncols(r), 3);
    CHECK_EQ_INT(csv_col(r, "close"), 2);
    CHECK_EQ_INT(csv_next(r), 1);
    CHECK_EQ_INT(csv_line(r), 1); /* the first line is data */
    CHECK_EQ_INT(csv_int(r, 0), 1);
    CHECK(csv_double(r, 2) == 3);
    CHECK_EQ_INT(csv_next(r), 1);
    CHECK_EQ_INT(csv_line(r), 2);
    CHECK(csv_double(r, 1) == 5);
    CHECK_EQ_INT(csv_next(r), 0);
    csv_close(r);
    unlink(path);
    free(path);
    want_error(read_noheader, NULL, "1,2,3\n4,5\n", 65, "kml-test: <stdin>:2: row has 2 fields, expected 3 (the header's)\n");
    want_error(read_noheader, NULL, "1,2,x\n", 65, "kml-test: <stdin>:1: column 'close': not a number: \"x\"\n");
    /* an empty headerless input is zero rows, not an error */
    struct t_out o;
    t_capture(read_noheader, NULL, "", &o);
    CHECK_EQ_INT(o.code, 0);
}

static void test_missing_file(void)
{
    char *dir = t_tmpdir();
    char path[512], want[700];
    snprintf(path, sizeof path, "%s/none.csv", dir);
    snprintf(want, sizeof want, "kml-test: %s: %s\n", path, strerror(ENOENT));
    want_error(read_rows, path, "", 66, want);
    want_error(read_noheader, path, "", 66, want);
    rmdir(dir);
    free(dir);
}

static void die_no_col(void *arg)
{
    csv_reader *r = csv_open(NULL);
    csv_next(r);
    csv_die(r, -1, "custom %d", 5);
}

static void die_col(void *arg)
{
    csv_reader *r = csv_open(NULL);
    csv_next(r);
    csv_next(r);
    csv_die(r, 1, "too big: %s", csv_field(r, 1));
}

static void test_csv_die(void)
{
    want_error(die_no_col, NULL, "a,b\n1,2\n", 65, "kml-test: <stdin>:2: custom 5\n");
    want_error(die_col, NULL, "a,b\n1,2\n3,400\n", 65, "kml-test: <stdin>:3: column 'b': too big: 400\n");
}

/* ---- writing ---- */

static void test_writer_quoting(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    csv_writer w;
    csvw_init(&w, f);
    csvw_str(&w, "plain");
    csvw_str(&w, "a,b");
    csvw_str(&w, "say \"hi\"");
    csvw_str(&w, "two\nlines");
    csvw_str(&w, "");
    csvw_end(&w);
    csvw_int(&w, -5);
    csvw_int(&w, INT64_MAX);
    csvw_double(&w, 0.1);
    csvw_double(&w, NAN);
    csvw_fixed(&w, 1.23456, 2);
    csvw_fixed(&w, NAN, 2);
    csvw_float(&w, 0.1f);
    csvw_end(&w);
    fclose(f);
    CHECK_EQ_STR(buf, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\n"
                      "-5,9223372036854775807,0.1,,1.23,,0.1\n");
    free(buf);
}

static void test_writer_roundtrip(void)
{
    /* Random doubles and awkward strings written, then read back exactly. */
    rng_t g;
    rng_seed(&g, 99);
    enum { N = 2000 };
    static double xs[N];
    const char *strs[] = {"a,b", "q\"uote", "new\nline", "cr\r", "plain", "x"};
    char *path = t_tmpfile("");
    FILE *f = fopen(path, "w");
    csv_writer w;
    csvw_init(&w, f);
    csvw_str(&w, "x");
    csvw_str(&w, "s");
    csvw_end(&w);
    for (int i = 0; i < N; i++) {
        uint64_t u = rng_u64(&g);
        memcpy(&xs[i], &u, sizeof xs[i]);
        if (!isfinite(xs[i])) xs[i] = rng_normal(&g);
        csvw_double(&w, xs[i]);
        csvw_str(&w, strs[i % 6]);
        csvw_end(&w);
    }
    fclose(f);
    csv_reader *r = csv_open(path);
    int i = 0, bad = 0;
    while (csv_next(r) && i < N) {
        double y = csv_double(r, 0);
        if (y != xs[i] && bad++ < 5) t_fail(__FILE__, __LINE__, "row %d: %.17g read back as %.17g", i, xs[i], y);
        if (strcmp(csv_field(r, 1), strs[i % 6]) && bad++ < 5)
            t_fail(__FILE__, __LINE__, "row %d: \"%s\" read back as \"%s\"", i, strs[i % 6], csv_field(r, 1));
        i++;
    }
    CHECK_EQ_INT(i, N);
    csv_close(r);
    unlink(path);
    free(path);
}

static void test_row_of_passthrough(void)
{
    /* A tool appending a column keeps the unknown columns as they were. */
    char *path = t_tmpfile("time,close,note\n1,2.50,\"a,b\"\n2,3,x\n");
    csv_reader *r = csv_open(path);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    csv_writer w;
    csvw_init(&w, f);
    csvw_row_of(&w, r, 1);
    csvw_str(&w, "ret");
    csvw_end(&w);
    int c = csv_col(r, "close");
    while (csv_next(r)) {
        csvw_row_of(&w, r, 0);
        csvw_double(&w, csv_double(r, c) * 2);
        csvw_end(&w);
    }
    fclose(f);
    CHECK_EQ_STR(buf, "time,close,note,ret\n1,2.50,\"a,b\",5\n2,3,x,6\n");
    free(buf);
    csv_close(r);
    unlink(path);
    free(path);
}

/* csv_int's digit loop and strtoll agree on every plain integer, and what
 * the loop does not take (a '+', 19 digits, overflow, junk) goes to the
 * strict parser with its errors. */
static void test_int_fast_path(void)
{
    static const char *ok[] = {"1381093200", "0", "-0", "007", "-5", "123456789012345678", "-123456789012345678",
                               "1234567890123456789", "9223372036854775807", "-9223372036854775808", "+5"};
    char text[1024];
    size_t len = (size_t)snprintf(text, sizeof text, "t\n");
    int n = (int)(sizeof ok / sizeof *ok);
    for (int i = 0; i < n; i++) len += (size_t)snprintf(text + len, sizeof text - len, "%s\n", ok[i]);
    char *path = t_tmpfile(text);
    csv_reader *r = csv_open(path);
    for (int i = 0; i < n; i++) {
        CHECK_EQ_INT(csv_next(r), 1);
        CHECK_EQ_INT(csv_int(r, 0), strtoll(ok[i], NULL, 10));
    }
    csv_close(r);
    unlink(path);
    free(path);
    /* many random values of every length */
    len = (size_t)snprintf(text, sizeof text, "t\n");
    char *big = malloc(200000);
    size_t blen = (size_t)snprintf(big, 200000, "t\n");
    long long want[5000];
    unsigned long long u = 88172645463325252ULL;
    for (int i = 0; i < 5000; i++) {
        u ^= u << 13, u ^= u >> 7, u ^= u << 17;
        long long v = (long long)(u >> (u % 63));
        if (u & 1) v = -v;
        want[i] = v;
        blen += (size_t)snprintf(big + blen, 200000 - blen, "%lld\n", v);
    }
    path = t_tmpfile(big);
    r = csv_open(path);
    for (int i = 0; i < 5000; i++) {
        CHECK_EQ_INT(csv_next(r), 1);
        CHECK_EQ_INT(csv_int(r, 0), want[i]);
    }
    csv_close(r);
    unlink(path);
    free(path);
    free(big);
    want_error(read_int_time, NULL, "time\n9223372036854775808\n", 65,
               "kml-test: <stdin>:2: column 'time': not an integer: \"9223372036854775808\"\n");
    want_error(read_int_time, NULL, "time\n12a\n", 65, "kml-test: <stdin>:2: column 'time': not an integer: \"12a\"\n");
    want_error(read_int_time, NULL, "time\n-\n", 65, "kml-test: <stdin>:2: column 'time': not an integer: \"-\"\n");
    want_error(read_int_time, NULL, "time\n1.0\n", 65, "kml-test: <stdin>:2: column 'time': not an integer: \"1.0\"\n");
}

int main(void)
{
    set_progname("kml-test");
    t_run("header read once, columns by name, typed fields", test_header_and_rows);
    t_run("unknown column lists the available ones (65)", test_unknown_column);
    t_run("not a number names file, line, column and text (65)", test_not_a_number);
    t_run("nan/inf/hex text rejected (65)", test_nan_inf_rejected);
    t_run("ragged rows (65)", test_ragged_rows);
    t_run("empty required field and bad integers (65)", test_empty_required_field);
    t_run("csv_double_or", test_double_or);
    t_run("non-increasing time (65)", test_time_increasing);
    t_run("integers: the digit loop agrees with strtoll; the rest goes to the strict parser", test_int_fast_path);
    t_run("CRLF and UTF-8 BOM accepted", test_crlf_and_bom);
    t_run("last line without newline", test_no_final_newline);
    t_run("quoted fields with commas, quotes, newlines; line of a record", test_quoted_fields);
    t_run("malformed and unterminated quotes (65)", test_malformed_and_unterminated);
    t_run("blank lines skipped, line numbers kept", test_blank_lines);
    t_run("empty input: no header (65)", test_empty_input);
    t_run("duplicate and empty header names (65)", test_bad_header);
    t_run("no-header mode", test_noheader);
    t_run("missing file (66)", test_missing_file);
    t_run("csv_die located messages", test_csv_die);
    t_run("writer quoting, numbers, NaN empty", test_writer_quoting);
    t_run("writer round-trips doubles and strings through the reader", test_writer_roundtrip);
    t_run("csvw_row_of passes unknown columns through", test_row_of_passthrough);
    return t_done();
}
