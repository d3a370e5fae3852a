/* events.c: execution events as JSON lines (see events.h). */
#include "events.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic.h"
#include "jsonl.h"
#include "log.h"
#include "util.h"

kml_event event_blank(const char *event, const char *mode, double ts, int64_t time, const char *pair)
{
    kml_event e;
    memset(&e, 0, sizeof e);
    e.event = event;
    e.mode = mode;
    e.ts = ts;
    e.time = time;
    e.pair = pair;
    e.volume = e.price = e.fee = e.pnl = NAN;
    e.position = e.cash = e.equity = NAN;
    return e;
}

static void add_str(cJSON *o, const char *key, const char *s)
{
    if (s) cJSON_AddStringToObject(o, key, s);
}

static void add_num(cJSON *o, const char *key, double x)
{
    if (!isnan(x)) json_add_num(o, key, x);
}

cJSON *event_json(const kml_event *e)
{
    ASSERT(e->event && e->mode && isfinite(e->ts));
    char ts[32];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ts", iso8601(ts, e->ts));
    json_add_num(o, "time", (double)e->time);
    cJSON_AddStringToObject(o, "mode", e->mode);
    cJSON_AddStringToObject(o, "event", e->event);
    add_str(o, "pair", e->pair);
    if (e->seq > 0) json_add_num(o, "seq", (double)e->seq);
    add_str(o, "cl_ord_id", e->cl_ord_id);
    add_str(o, "txid", e->txid);
    add_str(o, "side", e->side);
    add_num(o, "volume", e->volume);
    add_num(o, "price", e->price);
    add_num(o, "fee", e->fee);
    add_num(o, "pnl", e->pnl);
    add_str(o, "reason", e->reason);
    add_num(o, "position", e->position);
    add_num(o, "cash", e->cash);
    add_num(o, "equity", e->equity);
    return o;
}

char *event_line(const kml_event *e, const cJSON *extra)
{
    cJSON *o = event_json(e);
    if (extra)
        for (const cJSON *v = extra->child; v; v = v->next) cJSON_AddItemToObject(o, v->string, cJSON_Duplicate(v, 1));
    char *s = json_print(o, 0);
    cJSON_Delete(o);
    return s;
}

const char *events_log_path(void)
{
    static char path[4096];
    const char *dir = getenv("KML_LOG_DIR");
    if (!dir || !*dir) dir = "logs";
    mkdirs(dir);
    snprintf(path, sizeof path, "%s/bot_manager_integration.log", dir);
    return path;
}

void event_emit(FILE *out, const char *log_path, const char *line)
{
    if (log_path && append_line(log_path, line) != 0) die(EX_CANTCREAT, "%s: cannot append the event:", log_path);
    if (out) {
        fputs(line, out);
        putc('\n', out);
        if (ferror(out)) die(EX_IOERR, "write error:");
    }
}
