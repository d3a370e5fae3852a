/* test_jsonl.c: unit tests of lib/jsonl.c (JSON lines over cJSON). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "jsonl.h"
#include "log.h"
#include "rng.h"
#include "t.h"
#include "t_capture.h"
#include "util.h"

#define want_error(fn, arg, input, code, line) want_error_at(__LINE__, fn, arg, input, code, line)
static void want_error_at(int at, void (*fn)(void *), void *arg, const char *input, int code, const char *line)
{
    struct t_out o;
    t_capture(fn, arg, input, &o);
    if (o.code != code || strcmp(o.err, line) != 0)
        t_fail(__FILE__, at, "input \"%s\": exit %d, stderr \"%s\"; expected exit %d, stderr \"%s\"",
               input ? input : "", o.code, o.err, code, line);
}

/* Read everything; with arg non-NULL, also each object's number "p" and string "s". */
static void read_all(void *arg)
{
    jsonl_reader *r = jsonl_open(NULL);
    cJSON *o;
    while ((o = jsonl_next(r))) {
        if (arg) {
            jsonl_num(r, o, "p");
            jsonl_str(r, o, "s");
        }
        cJSON_Delete(o);
    }
    jsonl_close(r);
}

static void test_reader(void)
{
    char *path = t_tmpfile("{\"p\":1.5,\"s\":\"a\"}\n"
                           "\n"
                           "   \t\n"
                           "{\"p\":-2,\"s\":\"b\"}\r\n"
                           "  {\"p\":3e2, \"s\":\"c\", \"nested\":{\"k\":[1,2]}}  \n"
                           "{\"p\":4,\"s\":\"no newline\"}");
    jsonl_reader *r = jsonl_open(path);
    CHECK_EQ_STR(jsonl_path(r), path);
    double want_p[] = {1.5, -2, 300, 4};
    const char *want_s[] = {"a", "b", "c", "no newline"};
    long want_line[] = {1, 4, 5, 6};
    int n = 0;
    cJSON *o;
    while ((o = jsonl_next(r))) {
        if (n < 4) {
            CHECK(jsonl_num(r, o, "p") == want_p[n]);
            CHECK_EQ_STR(jsonl_str(r, o, "s"), want_s[n]);
            CHECK_EQ_INT(jsonl_line(r), want_line[n]);
        }
        n++;
        cJSON_Delete(o);
    }
    CHECK_EQ_INT(n, 4);
    CHECK(jsonl_next(r) == NULL);
    jsonl_close(r);
    unlink(path);
    free(path);
}

static void test_stdin_name(void)
{
    jsonl_reader *r = jsonl_open("-");
    CHECK_EQ_STR(jsonl_path(r), "<stdin>");
    jsonl_close(r);
}

static void test_malformed(void)
{
    /* the column is where cJSON stopped: the '}' after the colon is column 6 */
    want_error(read_all, NULL, "{\"a\":1}\n{\"a\":}\n", 65, "kml-test: <stdin>:2: column 6: invalid JSON\n");
    /* trailing text after a whole object: column of the 'x' */
    want_error(read_all, NULL, "\n\n{\"a\":1} x\n", 65, "kml-test: <stdin>:3: column 9: invalid JSON\n");
    /* a truncated last line: the column just after its end */
    want_error(read_all, NULL, "{\"a\":1}\n{\"a\":[1,2", 65, "kml-test: <stdin>:2: column 10: invalid JSON\n");
    want_error(read_all, NULL, "nope\n", 65, "kml-test: <stdin>:1: column 1: invalid JSON\n");
}

static void test_accessor_errors(void)
{
    want_error(read_all, "x", "{\"p\":1,\"s\":\"a\"}\n{\"s\":\"b\"}\n", 65, "kml-test: <stdin>:2: missing key 'p'\n");
    want_error(read_all, "x", "{\"p\":\"1\",\"s\":\"a\"}\n", 65, "kml-test: <stdin>:1: key 'p': expected a number\n");
    want_error(read_all, "x", "{\"p\":null,\"s\":\"a\"}\n", 65, "kml-test: <stdin>:1: key 'p': expected a number\n");
    want_error(read_all, "x", "\n{\"p\":1}\n", 65, "kml-test: <stdin>:2: missing key 's'\n");
    want_error(read_all, "x", "{\"p\":1,\"s\":2}\n", 65, "kml-test: <stdin>:1: key 's': expected a string\n");
    /* keys are case-sensitive */
    want_error(read_all, "x", "{\"P\":1,\"s\":\"a\"}\n", 65, "kml-test: <stdin>:1: missing key 'p'\n");
}

static void die_located(void *arg)
{
    jsonl_reader *r = jsonl_open(NULL);
    cJSON_Delete(jsonl_next(r));
    jsonl_die(r, "bad side \"%s\"", "up");
}

static void test_jsonl_die(void)
{
    want_error(die_located, NULL, "\n{}\n", 65, "kml-test: <stdin>:2: bad side \"up\"\n");
}

static void open_missing(void *arg) { jsonl_open(arg); }
static void load_missing(void *arg) { json_load_file(arg); }
static void read_missing(void *arg) { free(read_file(arg, NULL)); }

static void test_missing_files(void)
{
    char *dir = t_tmpdir();
    char path[512], want[700];
    snprintf(path, sizeof path, "%s/none.jsonl", dir);
    snprintf(want, sizeof want, "kml-test: %s: %s\n", path, strerror(ENOENT));
    want_error(open_missing, path, NULL, 66, want);
    want_error(load_missing, path, NULL, 66, want);
    want_error(read_missing, path, NULL, 66, want);
    rmdir(dir);
    free(dir);
}

static void test_write_one_line(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "msg", "two\nlines \"quoted\"");
    cJSON *arr = cJSON_AddArrayToObject(o, "a");
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(1));
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(2));
    cJSON_AddObjectToObject(o, "empty");
    jsonl_write(f, o);
    jsonl_write(f, o);
    fclose(f);
    CHECK_EQ_STR(buf, "{\"msg\":\"two\\nlines \\\"quoted\\\"\",\"a\":[1,2],\"empty\":{}}\n"
                      "{\"msg\":\"two\\nlines \\\"quoted\\\"\",\"a\":[1,2],\"empty\":{}}\n");
    cJSON_Delete(o);
    free(buf);
}

static void write_full(void *arg)
{
    FILE *f = fopen("/dev/full", "w");
    if (!f) _exit(99);
    setvbuf(f, NULL, _IONBF, 0); /* the write fails inside jsonl_write */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "x", 1);
    jsonl_write(f, o);
}

static void test_write_error(void)
{
    if (access("/dev/full", W_OK) != 0) {
        printf("# no /dev/full: jsonl_write error path not exercised\n");
        return;
    }
    char want[128];
    snprintf(want, sizeof want, "kml-test: write error: %s\n", strerror(ENOSPC));
    want_error(write_full, NULL, NULL, 74, want);
}

static void test_numbers_roundtrip(void)
{
    rng_t g;
    rng_seed(&g, 11);
    int bad = 0;
    for (int i = 0; i < 20000 && bad < 5; i++) {
        double x;
        uint64_t u = rng_u64(&g);
        memcpy(&x, &u, sizeof x);
        if (!isfinite(x)) x = rng_uniform(&g) * 1e5;
        cJSON *o = cJSON_CreateObject();
        CHECK(json_add_num(o, "x", x) != NULL);
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);
        jsonl_write(f, o);
        fclose(f);
        cJSON *back = cJSON_Parse(s);
        const cJSON *v = back ? cJSON_GetObjectItemCaseSensitive(back, "x") : NULL;
        if (!v || !cJSON_IsNumber(v) || v->valuedouble != x) {
            t_fail(__FILE__, __LINE__, "%.17g written as %s", x, s);
            bad++;
        }
        cJSON_Delete(back);
        cJSON_Delete(o);
        free(s);
    }
    /* the value is readable in memory too, before printing */
    cJSON *o = cJSON_CreateObject();
    json_add_num(o, "v", 0.1);
    CHECK(cJSON_GetObjectItemCaseSensitive(o, "v")->valuedouble == 0.1);
    json_add_num(o, "w", 1e300);
    CHECK(cJSON_GetObjectItemCaseSensitive(o, "w")->valuedouble == 1e300);
    char *t = json_print(o, 0);
    CHECK_EQ_STR(t, "{\"v\":0.1,\"w\":1e+300}");
    free(t);
    cJSON_Delete(o);
    o = cJSON_CreateObject();
    json_add_num(o, "nan", NAN);
    json_add_num(o, "inf", INFINITY);
    char *s = json_print(o, 0);
    CHECK_EQ_STR(s, "{\"nan\":null,\"inf\":null}");
    free(s);
    cJSON_Delete(o);
}


/* The hard doubles for a printer: any bit pattern, subnormals, powers of
 * two, 15-, 16- and 17-digit decimals as strtod reads them and their
 * neighbours, and the log-loss that cJSON's own printer once cut short. */
static int hard_doubles(double *x, int n)
{
    rng_t g;
    rng_seed(&g, 12);
    int k = 0;
    x[k++] = 0.6974841635188591;
    x[k++] = 1.7736034309720299e+239;
    x[k++] = -0.0;
    x[k++] = 5e-324;
    x[k++] = 1.7976931348623157e308;
    while (k < n) {
        uint64_t u = rng_u64(&g);
        double v;
        char buf[64];
        switch (k % 5) {
        case 0: memcpy(&v, &u, sizeof v); break;
        case 1: u &= 0x800FFFFFFFFFFFFFULL; memcpy(&v, &u, sizeof v); break; /* subnormal */
        case 2: v = ldexp(1.0, (int)(u % 2098) - 1074); break;
        default: {
            int digits = 15 + (int)(u % 3);
            long long m = (long long)(rng_uniform(&g) * 9e16) % (long long)pow(10, digits);
            snprintf(buf, sizeof buf, "%lld.e%d", m, (int)(rng_u64(&g) % 60) - 30);
            v = strtod(buf, NULL);
            if (u & 1) v = nextafter(v, (u & 2) ? INFINITY : -INFINITY);
        }
        }
        if (isfinite(v)) x[k++] = v;
    }
    return k;
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Check that arr (a cJSON array read back) holds x[0..n-1] bit for bit. */
static int check_back(const cJSON *arr, const double *x, int n, const char *writer)
{
    int bad = 0, i = 0;
    for (const cJSON *v = arr ? arr->child : NULL; v && i < n; v = v->next, i++)
        if (!cJSON_IsNumber(v) || !same_bits(v->valuedouble, x[i])) {
            if (bad++ < 3) t_fail(__FILE__, __LINE__, "%s: %.17g read back as %.17g", writer, x[i], v->valuedouble);
        }
    if (i != n) t_fail(__FILE__, __LINE__, "%s: %d of %d numbers read back", writer, i, n);
    return bad == 0 && i == n;
}

static void test_every_writer_roundtrips(void)
{
    enum { N = 30000 };
    static double x[N];
    int n = hard_doubles(x, N);
    /* numbers added every way there is: cJSON_CreateNumber, its double
     * arrays, json_add_num */
    cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "a");
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(x[i]));
    cJSON_AddItemToObject(o, "b", cJSON_CreateDoubleArray(x, n));
    cJSON *c = cJSON_AddObjectToObject(o, "c");
    char key[16];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        json_add_num(c, key, x[i]);
    }
    /* json_print, one line and pretty */
    for (int pretty = 0; pretty < 2; pretty++) {
        char *s = json_print(o, pretty);
        cJSON *back = cJSON_Parse(s);
        CHECK(back != NULL);
        check_back(cJSON_GetObjectItemCaseSensitive(back, "a"), x, n, pretty ? "json_print pretty" : "json_print");
        check_back(cJSON_GetObjectItemCaseSensitive(back, "b"), x, n, "cJSON_CreateDoubleArray");
        const cJSON *cb = cJSON_GetObjectItemCaseSensitive(back, "c");
        int i = 0;
        for (const cJSON *v = cb ? cb->child : NULL; v; v = v->next, i++)
            if (!same_bits(v->valuedouble, x[i])) t_fail(__FILE__, __LINE__, "json_add_num: %.17g", x[i]);
        CHECK_EQ_INT(i, 2000);
        cJSON_Delete(back);
        free(s);
    }
    /* jsonl_write */
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    jsonl_write(f, o);
    fclose(f);
    CHECK(strchr(s, '\n') == s + len - 1);
    cJSON *back = cJSON_Parse(s);
    check_back(cJSON_GetObjectItemCaseSensitive(back, "a"), x, n, "jsonl_write");
    cJSON_Delete(back);
    free(s);
    cJSON_Delete(o);
    /* log_event: the line appended under KML_LOG_DIR */
    char *dir = t_tmpdir();
    setenv("KML_LOG_DIR", dir, 1);
    log_quiet(1);
    cJSON *fields = cJSON_CreateObject();
    cJSON_AddItemToObject(fields, "values", cJSON_CreateDoubleArray(x, n));
    log_event("roundtrip", LOG_INFO, "numbers", fields);
    char path[512];
    snprintf(path, sizeof path, "%s/roundtrip.log", dir);
    char *text = read_file(path, NULL);
    back = cJSON_Parse(text);
    check_back(cJSON_GetObjectItemCaseSensitive(back, "values"), x, n, "log_event");
    cJSON_Delete(back);
    free(text);
    unsetenv("KML_LOG_DIR");
    /* config_to_json: a setting that is not a short decimal */
    kml_config cfg;
    config_defaults(&cfg);
    cfg.initial_capital = x[0] * 1e4;
    cfg.taker_fee = 0.0026000000000000003;
    cJSON *cj = config_to_json(&cfg);
    s = json_print(cj, 1);
    cJSON *cb = cJSON_Parse(s);
    kml_config cfg2;
    config_defaults(&cfg2);
    config_apply_json(&cfg2, cb, "roundtrip");
    CHECK(same_bits(cfg2.initial_capital, cfg.initial_capital));
    CHECK(same_bits(cfg2.taker_fee, cfg.taker_fee));
    cJSON_Delete(cb);
    cJSON_Delete(cj);
    free(s);
    free(dir);
}

/* json_print writes strings and layout as cJSON does (escapes, tabs). */
static void test_print_layout(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "s", "a\"b\\c\n\t\x01\xc3\xa9");
    cJSON *a = cJSON_AddArrayToObject(o, "a");
    cJSON_AddItemToArray(a, cJSON_CreateNumber(1));
    cJSON_AddItemToArray(a, cJSON_CreateTrue());
    cJSON_AddItemToArray(a, cJSON_CreateNull());
    cJSON_AddObjectToObject(o, "e");
    cJSON_AddRawToObject(o, "r", "12.50");
    char *mine = json_print(o, 0), *theirs = cJSON_PrintUnformatted(o);
    CHECK_EQ_STR(mine, theirs);
    free(mine);
    free(theirs);
    mine = json_print(o, 1);
    theirs = cJSON_Print(o);
    CHECK_EQ_STR(mine, theirs);
    free(mine);
    free(theirs);
    cJSON_Delete(o);
}

static void parse_text(void *arg) { cJSON_Delete(json_parse_located(arg, "cfg.json")); }

static void test_parse_located(void)
{
    cJSON *o = json_parse_located("{\n  \"a\": [1, 2],\n  \"b\": \"x\"\n}\n", "cfg.json");
    CHECK(o != NULL);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "a")), 2);
    CHECK_EQ_STR(cJSON_GetObjectItemCaseSensitive(o, "b")->valuestring, "x");
    cJSON_Delete(o);
    /* line 3, column 8: the x */
    want_error(parse_text, "{\n  \"a\": 1,\n  \"b\": x\n}\n", NULL, 65, "kml-test: cfg.json:3:8: invalid JSON\n");
    want_error(parse_text, "", NULL, 65, "kml-test: cfg.json:1:1: invalid JSON\n");
    /* a missing comma: the second key starts on line 2 column 3 */
    want_error(parse_text, "{\"a\": 1\n  \"b\": 2}", NULL, 65, "kml-test: cfg.json:2:3: invalid JSON\n");
    /* junk after the value */
    want_error(parse_text, "{}\n\n]", NULL, 65, "kml-test: cfg.json:3:1: invalid JSON\n");
}

static void test_load_and_read_file(void)
{
    char *path = t_tmpfile("{\"k\": [true, null]}\n");
    cJSON *o = json_load_file(path);
    CHECK(o != NULL && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "k")));
    cJSON_Delete(o);
    unlink(path);
    free(path);
    /* read_file: a file larger than the first buffer, exact length, NUL-terminated */
    enum { N = 10007 };
    char *text = xmalloc(N + 1);
    for (int i = 0; i < N; i++) text[i] = (char)('a' + i % 26);
    text[N] = 0;
    path = t_tmpfile(text);
    size_t len = 0;
    char *got = read_file(path, &len);
    CHECK_EQ_INT(len, N);
    CHECK(memcmp(got, text, N) == 0);
    CHECK_EQ_INT(got[N], 0);
    free(got);
    free(text);
    unlink(path);
    free(path);
    /* a syntax error in a file names the file */
    path = t_tmpfile("{\n\"a\":\n}");
    char want[600];
    snprintf(want, sizeof want, "kml-test: %s:3:1: invalid JSON\n", path);
    struct t_out out;
    t_capture(load_missing, path, NULL, &out);
    CHECK_EQ_INT(out.code, 65);
    CHECK_EQ_STR(out.err, want);
    unlink(path);
    free(path);
}

int main(void)
{
    set_progname("kml-test");
    t_run("reader: objects line by line, blank lines skipped, line numbers", test_reader);
    t_run("reader on stdin is named <stdin>", test_stdin_name);
    t_run("malformed JSON: file:line and column (65)", test_malformed);
    t_run("jsonl_num/jsonl_str missing key and wrong type (65)", test_accessor_errors);
    t_run("jsonl_die", test_jsonl_die);
    t_run("missing files (66)", test_missing_files);
    t_run("jsonl_write: one object, one line", test_write_one_line);
    t_run("jsonl_write: write error (74)", test_write_error);
    t_run("json_add_num round-trips; NaN/inf become null", test_numbers_roundtrip);
    t_run("every JSON writer (json_print, jsonl_write, log_event, config) round-trips hard doubles bit for bit", test_every_writer_roundtrips);
    t_run("json_print: strings, arrays, objects laid out as cJSON's", test_print_layout);
    t_run("json_parse_located: name:line:column (65)", test_parse_located);
    t_run("json_load_file and read_file", test_load_and_read_file);
    return t_done();
}
