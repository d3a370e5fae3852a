/* log.c: JSON-lines event logs under logs/ (see log.h). */
#include "log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "atomic.h"
#include "jsonl.h"
#include "util.h"

static int quiet;
static int warned;
static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_quiet(int q) { quiet = q; }

char *iso8601(char *buf, double t)
{
    time_t s = (time_t)floor(t);
    int ms = (int)((t - (double)s) * 1000.0);
    if (ms > 999) ms = 999;
    struct tm tm;
    gmtime_r(&s, &tm);
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    size_t n = strlen(tmp) < 31 ? strlen(tmp) : 31;
    memcpy(buf, tmp, n);
    buf[n] = 0;
    return buf;
}

char *iso8601_now(char *buf)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return iso8601(buf, ts.tv_sec + ts.tv_nsec * 1e-9);
}

/* "key=value" text of a field for the stderr mirror. */
static void mirror_field(FILE *f, const cJSON *v)
{
    if (cJSON_IsString(v))
        fprintf(f, " %s=%s", v->string, v->valuestring);
    else {
        char *s = json_print(v, 0);
        fprintf(f, " %s=%s", v->string, s ? s : "?");
        free(s);
    }
}

void log_event(const char *name, enum log_level level, const char *msg, cJSON *fields)
{
    char ts[32];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ts", iso8601_now(ts));
    cJSON_AddStringToObject(o, "level", level_names[level]);
    cJSON_AddStringToObject(o, "component", progname);
    cJSON_AddStringToObject(o, "msg", msg);
    if (fields) {
        cJSON *v = fields->child;
        while (v) {
            cJSON *next = v->next;
            cJSON_DetachItemViaPointer(fields, v);
            cJSON_AddItemToObject(o, v->string, v);
            v = next;
        }
        cJSON_Delete(fields);
    }
    if (!quiet || level >= LOG_WARN) {
        fflush(stdout);
        fprintf(stderr, "%s: %s: %s", progname, level_names[level], msg);
        for (cJSON *v = o->child; v; v = v->next) {
            if (!strcmp(v->string, "ts") || !strcmp(v->string, "level") || !strcmp(v->string, "component") ||
                !strcmp(v->string, "msg"))
                continue;
            mirror_field(stderr, v);
        }
        fputc('\n', stderr);
    }
    const char *dir = getenv("KML_LOG_DIR");
    if (!dir || !*dir) dir = "logs";
    char *line = json_print(o, 0);
    size_t n = strlen(dir) + strlen(name) + 8;
    char *path = xmalloc(n);
    snprintf(path, n, "%s/%s.log", dir, name);
    struct stat st;
    int ok = 1;
    if (stat(dir, &st) != 0) {
        ok = mkdir(dir, 0755) == 0 || errno == EEXIST;
    }
    if (!ok || append_line(path, line) != 0) {
        if (!warned++) warn("cannot write log %s:", path);
    }
    free(path);
    free(line);
    cJSON_Delete(o);
}
