/* test_log.c: unit tests of lib/log.c (JSON-lines logs mirrored to stderr).
 * Each scenario runs in a child, so the module's quiet/warned state and the
 * environment of one test do not leak into the next. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "t.h"
#include "t_capture.h"
#include "util.h"

static char logdir[512];

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0;
    if (getdelim(&buf, &cap, 0, f) < 0) {
        free(buf);
        buf = strdup("");
    }
    fclose(f);
    return buf;
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        unlink(dir);
        return;
    }
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        rm_tree(p);
    }
    closedir(d);
    rmdir(dir);
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" -> unix seconds, or -1 when not that shape. */
static double parse_ts(const char *s)
{
    if (!s || strlen(s) != 24) return -1;
    const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (int i = 0; i < 24; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i]) return -1;
    struct tm tm = {0};
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    tm.tm_hour = atoi(s + 11);
    tm.tm_min = atoi(s + 14);
    tm.tm_sec = atoi(s + 17);
    return (double)timegm(&tm) + atoi(s + 20) / 1000.0;
}

static void log_one(void *arg)
{
    setenv("KML_LOG_DIR", logdir, 1);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddNumberToObject(f, "epoch", 3);
    cJSON_AddNumberToObject(f, "loss", 0.5);
    cJSON_AddStringToObject(f, "pair", "SOL/USD");
    cJSON *nested = cJSON_AddObjectToObject(f, "shape");
    cJSON_AddNumberToObject(nested, "T", 64);
    log_event("train", LOG_INFO, "epoch done", f);
}

static void test_event_line(void)
{
    char *dir = t_tmpdir();
    snprintf(logdir, sizeof logdir, "%s", dir);
    time_t before = time(NULL);
    struct t_out o;
    t_capture(log_one, NULL, NULL, &o);
    time_t after = time(NULL);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_STR(o.err, "kml-test: info: epoch done epoch=3 loss=0.5 pair=SOL/USD shape={\"T\":64}\n");
    CHECK_EQ_STR(o.out, "");
    char path[600];
    snprintf(path, sizeof path, "%s/train.log", dir);
    char *text = slurp(path);
    CHECK(text != NULL);
    if (text) {
        CHECK_EQ_INT(t_count(text, "\n"), 1);
        CHECK(text[strlen(text) - 1] == '\n');
        cJSON *j = cJSON_Parse(text);
        CHECK(j != NULL && cJSON_IsObject(j));
        if (j) {
            const cJSON *ts = cJSON_GetObjectItemCaseSensitive(j, "ts");
            CHECK(cJSON_IsString(ts));
            double t = parse_ts(cJSON_GetStringValue(ts));
            if (t < (double)before - 1 || t > (double)after + 1)
                t_fail(__FILE__, __LINE__, "ts \"%s\" is not a UTC ISO-8601 time of now", cJSON_GetStringValue(ts));
            CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "level")), "info");
            CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "component")), "kml-test");
            CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "msg")), "epoch done");
            CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "epoch")) == 3);
            CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "loss")) == 0.5);
            CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "pair")), "SOL/USD");
            const cJSON *sh = cJSON_GetObjectItemCaseSensitive(j, "shape");
            CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sh, "T")) == 64);
            /* the fixed keys come first, in this order */
            const char *order[] = {"ts", "level", "component", "msg", "epoch"};
            const cJSON *v = j->child;
            for (int i = 0; i < 5; i++, v = v ? v->next : NULL) CHECK_EQ_STR(v ? v->string : NULL, order[i]);
        }
        cJSON_Delete(j);
    }
    free(text);
    rm_tree(dir);
    free(dir);
}

static void log_levels(void *arg)
{
    setenv("KML_LOG_DIR", logdir, 1);
    if (arg) log_quiet(1);
    log_event("x", LOG_DEBUG, "d", NULL);
    log_event("x", LOG_INFO, "i", NULL);
    log_event("x", LOG_WARN, "w", NULL);
    log_event("x", LOG_ERROR, "e", NULL);
}

static void check_levels_file(const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/x.log", dir);
    char *text = slurp(path);
    CHECK(text != NULL);
    if (!text) return;
    CHECK_EQ_INT(t_count(text, "\n"), 4);
    const char *want[] = {"debug", "info", "warn", "error"}, *msgs[] = {"d", "i", "w", "e"};
    char *line = text;
    for (int i = 0; i < 4 && line && *line; i++) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        cJSON *j = cJSON_Parse(line);
        CHECK(j != NULL);
        CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "level")), want[i]);
        CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "msg")), msgs[i]);
        cJSON_Delete(j);
        line = nl ? nl + 1 : NULL;
    }
    free(text);
}

static void test_levels_and_quiet(void)
{
    char *dir = t_tmpdir();
    snprintf(logdir, sizeof logdir, "%s", dir);
    struct t_out o;
    t_capture(log_levels, NULL, NULL, &o);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_STR(o.err, "kml-test: debug: d\nkml-test: info: i\nkml-test: warn: w\nkml-test: error: e\n");
    check_levels_file(dir);
    rm_tree(dir);
    free(dir);

    /* quiet: info and debug leave stderr, warnings and errors stay; the file has all */
    dir = t_tmpdir();
    snprintf(logdir, sizeof logdir, "%s", dir);
    t_capture(log_levels, "quiet", NULL, &o);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_STR(o.err, "kml-test: warn: w\nkml-test: error: e\n");
    check_levels_file(dir);
    rm_tree(dir);
    free(dir);
}

static void log_three(void *arg)
{
    setenv("KML_LOG_DIR", logdir, 1);
    log_quiet(1);
    for (int i = 0; i < 3; i++) log_event("tool", LOG_INFO, "step", NULL);
    log_event("tool", LOG_WARN, "still running", NULL);
}

static void test_unwritable_dir(void)
{
    /* A log "directory" under a regular file cannot be created or written. */
    char *file = t_tmpfile("not a directory\n");
    snprintf(logdir, sizeof logdir, "%s/logs", file);
    char want[1024];
    snprintf(want, sizeof want, "kml-test: cannot write log %s/tool.log: %s\nkml-test: warn: still running\n", logdir,
             strerror(ENOTDIR));
    struct t_out o;
    t_capture(log_three, NULL, NULL, &o);
    CHECK_EQ_INT(o.code, 0); /* not a failure of the tool */
    CHECK_EQ_STR(o.err, want); /* one warning for four events */
    unlink(file);
    free(file);
}

static void test_creates_dir(void)
{
    char *dir = t_tmpdir();
    snprintf(logdir, sizeof logdir, "%s/logs", dir);
    struct t_out o;
    t_capture(log_three, NULL, NULL, &o);
    CHECK_EQ_INT(o.code, 0);
    CHECK_EQ_STR(o.err, "kml-test: warn: still running\n");
    char path[700];
    snprintf(path, sizeof path, "%s/tool.log", logdir);
    char *text = slurp(path);
    CHECK(text != NULL);
    if (text) CHECK_EQ_INT(t_count(text, "\n"), 4);
    free(text);
    rm_tree(dir);
    free(dir);
}

static void log_default_dir(void *arg)
{
    if (chdir(arg) != 0) _exit(99);
    unsetenv("KML_LOG_DIR");
    log_quiet(1);
    log_event("fetch", LOG_INFO, "hello \"world\"\nsecond line", NULL);
}

static void test_default_dir(void)
{
    char *dir = t_tmpdir();
    struct t_out o;
    t_capture(log_default_dir, dir, NULL, &o);
    CHECK_EQ_INT(o.code, 0);
    char path[600];
    snprintf(path, sizeof path, "%s/logs/fetch.log", dir);
    char *text = slurp(path);
    CHECK(text != NULL);
    if (text) {
        CHECK_EQ_INT(t_count(text, "\n"), 1); /* the newline in the message is escaped */
        cJSON *j = cJSON_Parse(text);
        CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "msg")), "hello \"world\"\nsecond line");
        cJSON_Delete(j);
    }
    free(text);
    rm_tree(dir);
    free(dir);
}

static void test_iso8601(void)
{
    char buf[32];
    CHECK_EQ_STR(iso8601(buf, 0), "1970-01-01T00:00:00.000Z");
    CHECK_EQ_STR(iso8601(buf, 1700000000.5), "2023-11-14T22:13:20.500Z");
    CHECK_EQ_STR(iso8601(buf, 951782400.25), "2000-02-29T00:00:00.250Z");
    CHECK_EQ_STR(iso8601(buf, -0.5), "1969-12-31T23:59:59.500Z");
    CHECK_EQ_STR(iso8601(buf, 4102444799.0), "2099-12-31T23:59:59.000Z");
    CHECK(iso8601(buf, 1) == buf);
    time_t now = time(NULL);
    double t = parse_ts(iso8601_now(buf));
    CHECK(t >= (double)now - 1 && t <= (double)now + 2);
}

int main(void)
{
    set_progname("kml-test");
    t_run("an event is one JSON line with ts, level, component, msg, fields; mirrored to stderr", test_event_line);
    t_run("levels; quiet silences debug/info on stderr only", test_levels_and_quiet);
    t_run("an unwritable log dir gives one warning, not a failure", test_unwritable_dir);
    t_run("the log dir is created", test_creates_dir);
    t_run("default dir logs/, message escaped on one line", test_default_dir);
    t_run("iso8601 UTC text", test_iso8601);
    return t_done();
}
