/* net.c: the Kraken-facing subcommands: ohlc, trades, pairs, update.
 *
 * Responses are read through lib/kraken.c (retries, error classes). A response
 * that is valid JSON but not the shape Kraken documents dies 65 naming the
 * place in the response, e.g. "OHLC: result.XXBTZUSD[3][1]: not a number". */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "candles.h"
#include "cli.h"
#include "csv.h"
#include "fetch.h"
#include "jsonl.h"
#include "kraken.h"
#include "log.h"
#include "pair.h"
#include "progress.h"
#include "util.h"

enum { OPT_SINCE = 256, OPT_UNTIL, OPT_PARTIAL, OPT_VIA, OPT_QUIET };

static const int kraken_intervals[] = {1, 5, 15, 30, 60, 240, 1440, 10080, 21600};

int parse_interval(const char *text)
{
    long m = cli_long("interval", text, 1, 21600);
    for (size_t i = 0; i < sizeof kraken_intervals / sizeof *kraken_intervals; i++)
        if (kraken_intervals[i] == m) return (int)m;
    cli_usage_error("--interval: Kraken has 1, 5, 15, 30, 60, 240, 1440, 10080 or 21600 minutes, not %ld", m);
}

/* ---- reading Kraken's values ---- */

typedef struct {
    const char *method;
    const char *key;
} where_t;

KML_NORETURN KML_PRINTF(4, 5) static void bad_value(const where_t *w, int row, int col, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (col >= 0) die(EX_DATAERR, "%s: result.%s[%d][%d]: %s", w->method, w->key, row, col, msg);
    die(EX_DATAERR, "%s: result.%s[%d]: %s", w->method, w->key, row, msg);
}

/* A number Kraken sends as a string ("30306.1") or a JSON number; its text goes
 * to buf (48 bytes). */
static double num_of(const where_t *w, cJSON *row, int i, int col, char *buf)
{
    cJSON *it = cJSON_GetArrayItem(row, col);
    double x;
    if (cJSON_IsString(it)) {
        if (parse_double(it->valuestring, &x) != 0) bad_value(w, i, col, "not a number: \"%.40s\"", it->valuestring);
        snprintf(buf, 48, "%s", it->valuestring);
        if (strlen(it->valuestring) >= 48) fmt_double(buf, x);
        return x;
    }
    if (cJSON_IsNumber(it)) {
        fmt_double(buf, it->valuedouble);
        return it->valuedouble;
    }
    bad_value(w, i, col, "expected a number or a numeric string");
}

/* Kraken's `last`: an integer or a string of digits. */
static void last_of(const char *method, cJSON *result, char *buf, size_t n)
{
    cJSON *last = cJSON_GetObjectItemCaseSensitive(result, "last");
    if (cJSON_IsNumber(last) && last->valuedouble >= 0 && last->valuedouble < 9.2e18 &&
        last->valuedouble == floor(last->valuedouble)) {
        snprintf(buf, n, "%.0f", last->valuedouble);
        return;
    }
    if (cJSON_IsString(last) && *last->valuestring && strspn(last->valuestring, "0123456789") == strlen(last->valuestring) &&
        strlen(last->valuestring) < n) {
        snprintf(buf, n, "%s", last->valuestring);
        return;
    }
    die(EX_DATAERR, "%s: result.last: expected an integer or a string of digits", method);
}

static cJSON *pair_rows(const char *method, cJSON *result, const kml_pair *p, where_t *w)
{
    cJSON *rows = kraken_pair_member(result, p);
    if (!rows) die(EX_DATAERR, "%s: result has no member for %s", method, p->altname);
    if (!cJSON_IsArray(rows)) die(EX_DATAERR, "%s: result.%s: expected an array", method, rows->string);
    w->method = method;
    w->key = rows->string;
    return rows;
}

/* ---- OHLC ---- */

/* GET OHLC and pass each committed candle with time > since (since < 0: all)
 * to fn, in time order; the forming last row only when partial. Returns the
 * number passed; *first gets the time of the oldest row Kraken sent. */
long ohlc_fetch(kraken_client *kc, const kml_pair *p, int minutes, int64_t since, int partial, candle_fn fn,
                       void *ctx, int64_t *first)
{
    char q[160];
    if (since >= 0)
        snprintf(q, sizeof q, "pair=%s&interval=%d&since=%" PRId64, p->altname, minutes, since);
    else
        snprintf(q, sizeof q, "pair=%s&interval=%d", p->altname, minutes);
    cJSON *result, *root = kraken_public(kc, "OHLC", q, &result);
    where_t w;
    cJSON *rows = pair_rows("OHLC", result, p, &w);
    char last[64];
    last_of("OHLC", result, last, sizeof last);
    int n = cJSON_GetArraySize(rows);
    int64_t prev = INT64_MIN;
    long out = 0;
    if (first) *first = INT64_MIN;
    for (int i = 0; i < n; i++) {
        cJSON *row = cJSON_GetArrayItem(rows, i);
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) < 8) bad_value(&w, i, -1, "expected an array of 8 values");
        cJSON *t = cJSON_GetArrayItem(row, 0), *cnt = cJSON_GetArrayItem(row, 7);
        if (!cJSON_IsNumber(t) || t->valuedouble != floor(t->valuedouble) || t->valuedouble < 0)
            bad_value(&w, i, 0, "expected an integer time");
        if (!cJSON_IsNumber(cnt) || cnt->valuedouble != floor(cnt->valuedouble) || cnt->valuedouble < 0)
            bad_value(&w, i, 7, "expected an integer count");
        candle c;
        char buf[48];
        c.time = (int64_t)t->valuedouble;
        if (c.time <= prev) bad_value(&w, i, 0, "time %" PRId64 " is not after the previous row's", c.time);
        prev = c.time;
        if (first && i == 0) *first = c.time;
        c.open = num_of(&w, row, i, 1, buf);
        c.high = num_of(&w, row, i, 2, buf);
        c.low = num_of(&w, row, i, 3, buf);
        c.close = num_of(&w, row, i, 4, buf);
        c.vwap = num_of(&w, row, i, 5, buf);
        num_of(&w, row, i, 6, buf);
        dec_sum vs;
        dec_sum_init(&vs);
        if (dec_sum_add(&vs, buf) != 0) bad_value(&w, i, 6, "volume must not be negative");
        dec_sum_text(&vs, c.volume);
        c.count = (int64_t)cnt->valuedouble;
        if (!(c.high >= fmax(c.open, c.close) && c.low <= fmin(c.open, c.close) && c.low > 0))
            bad_value(&w, i, -1, "high/low do not contain open and close");
        if (i == n - 1 && !partial) break; /* the still-forming candle */
        if (since >= 0 && c.time <= since) continue;
        fn(ctx, &c);
        out++;
    }
    cJSON_Delete(root);
    return out;
}

static void print_candle(void *ctx, const candle *c) { candle_write(ctx, c); }

int cmd_ohlc(int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"pair", 'p', "PAIR", "asset pair, e.g. SOL/USD (required)"},
        {"interval", 'i', "M", "minutes: 1 5 15 30 60 240 1440 10080 21600 (default 60)"},
        {"since", OPT_SINCE, "T", "only candles opening after Unix time T"},
        {"include-partial", OPT_PARTIAL, NULL, "keep the last, still-forming candle"},
        {0}};
    const char *syn = "kml-fetch ohlc --pair P [--interval M] [--since T]   (Kraken keeps the latest 720 candles)";
    kml_pair p;
    int have_pair = 0, partial = 0, minutes = 60;
    int64_t since = -1;
    int c;
    while ((c = cli_next(argc, argv, opts, syn)) != -1) {
        switch (c) {
        case 'p': pair_parse_or_die("pair", optarg, &p), have_pair = 1; break;
        case 'i': minutes = parse_interval(optarg); break;
        case OPT_SINCE: since = cli_long("since", optarg, 0, INT64_MAX / 2); break;
        case OPT_PARTIAL: partial = 1; break;
        default: cli_usage_error("unexpected option");
        }
    }
    if (!have_pair) cli_usage_error("--pair is required");
    if (optind < argc) cli_usage_error("unexpected operand '%s'", argv[optind]);
    kraken_client *kc = kraken_open();
    csv_writer w;
    csvw_init(&w, stdout);
    candle_write_header(stdout);
    ohlc_fetch(kc, &p, minutes, since, partial, print_candle, &w, NULL);
    kraken_close(kc);
    return 0;
}

/* ---- Trades ---- */

long trades_fetch(kraken_client *kc, const kml_pair *p, int64_t since, int64_t until, trade_fn fn, page_fn pg,
                  void *ctx)
{
    /* Kraken's since is exclusive and in nanoseconds: one nanosecond before the
     * second asked for includes a trade at exactly since.000000000 */
    char cursor[64];
    if (since > 0)
        snprintf(cursor, sizeof cursor, "%" PRId64 "999999999", since - 1);
    else
        snprintf(cursor, sizeof cursor, "0");
    long total = 0;
    int pages = 0;
    double prev_t = -INFINITY;
    for (;;) {
        char q[200], last[64];
        snprintf(q, sizeof q, "pair=%s&since=%s", p->altname, cursor);
        cJSON *result, *root = kraken_public(kc, "Trades", q, &result);
        where_t w;
        cJSON *rows = pair_rows("Trades", result, p, &w);
        last_of("Trades", result, last, sizeof last);
        int n = cJSON_GetArraySize(rows), done = 0;
        pages++;
        for (int i = 0; i < n && !done; i++) {
            cJSON *row = cJSON_GetArrayItem(rows, i);
            if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) < 5) bad_value(&w, i, -1, "expected a trade array");
            char pb[48], vb[48], tb[48];
            double price = num_of(&w, row, i, 0, pb), vol = num_of(&w, row, i, 1, vb);
            double t = num_of(&w, row, i, 2, tb);
            cJSON *sd = cJSON_GetArrayItem(row, 3), *ty = cJSON_GetArrayItem(row, 4);
            if (!(price > 0)) bad_value(&w, i, 0, "price must be positive");
            if (vol < 0) bad_value(&w, i, 1, "volume must not be negative");
            if (t < 0) bad_value(&w, i, 2, "time must not be negative");
            if (!cJSON_IsString(sd) || (strcmp(sd->valuestring, "b") && strcmp(sd->valuestring, "s")))
                bad_value(&w, i, 3, "side: expected \"b\" or \"s\"");
            if (!cJSON_IsString(ty) || (strcmp(ty->valuestring, "m") && strcmp(ty->valuestring, "l")))
                bad_value(&w, i, 4, "type: expected \"m\" or \"l\"");
            if (t < prev_t) bad_value(&w, i, 2, "trade time goes back (page %d)", pages);
            prev_t = t;
            if (t < (double)since) continue;
            if (until >= 0 && t >= (double)until) {
                done = 1;
                break;
            }
            fn(ctx, t, pb, vb, sd->valuestring[0] == 'b' ? "buy" : "sell",
               ty->valuestring[0] == 'm' ? "market" : "limit");
            total++;
        }
        cJSON_Delete(root);
        if (pg) pg(ctx, pages, total, prev_t);
        /* the end: --until reached, an empty page, or a cursor that no longer moves */
        if (done || n == 0 || kraken_idcmp(last, cursor) <= 0) break;
        snprintf(cursor, sizeof cursor, "%s", last);
    }
    return total;
}

typedef struct {
    csv_writer w;
    progress pr;
} trades_out;

static void print_trade(void *ctx, double time, const char *price, const char *volume, const char *side,
                        const char *type)
{
    csv_writer *w = &((trades_out *)ctx)->w;
    csvw_double(w, time);
    csvw_str(w, price);
    csvw_str(w, volume);
    csvw_str(w, side);
    csvw_str(w, type);
    csvw_end(w);
}

static void trades_page(void *ctx, long pages, long trades, double last_time)
{
    (void)pages, (void)last_time;
    progress_update(&((trades_out *)ctx)->pr, trades, NULL);
}

int cmd_trades(int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"pair", 'p', "PAIR", "asset pair, e.g. SOL/USD (required)"},
        {"since", OPT_SINCE, "T", "first second, Unix time (required)"},
        {"until", OPT_UNTIL, "T", "stop before Unix time T (default: the present)"},
        {"quiet", OPT_QUIET, NULL, "no progress counter"},
        {0}};
    const char *syn = "kml-fetch trades --pair P --since T [--until T]   (CSV time,price,volume,side,type)";
    kml_pair p;
    int have_pair = 0, quiet = 0;
    int64_t since = -1, until = -1;
    int c;
    while ((c = cli_next(argc, argv, opts, syn)) != -1) {
        switch (c) {
        case 'p': pair_parse_or_die("pair", optarg, &p), have_pair = 1; break;
        case OPT_SINCE: since = cli_long("since", optarg, 0, 9000000000L); break;
        case OPT_UNTIL: until = cli_long("until", optarg, 0, 9000000000L); break;
        case OPT_QUIET: quiet = 1; break;
        default: cli_usage_error("unexpected option");
        }
    }
    if (!have_pair) cli_usage_error("--pair is required");
    if (since < 0) cli_usage_error("--since is required");
    if (until >= 0 && until <= since) cli_usage_error("--until must be after --since");
    if (optind < argc) cli_usage_error("unexpected operand '%s'", argv[optind]);
    kraken_client *kc = kraken_open();
    trades_out o;
    csvw_init(&o.w, stdout);
    progress_init(&o.pr, "trades", 0, quiet);
    fputs("time,price,volume,side,type\n", stdout);
    trades_fetch(kc, &p, since, until, print_trade, trades_page, &o);
    progress_done(&o.pr);
    kraken_close(kc);
    return 0;
}

/* ---- AssetPairs ---- */

static void copy_num(cJSON *out, cJSON *in, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(in, key);
    double x;
    if (cJSON_IsNumber(v)) json_add_num(out, key, v->valuedouble);
    else if (cJSON_IsString(v) && parse_double(v->valuestring, &x) == 0) json_add_num(out, key, x);
}

int cmd_pairs(int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"pair", 'p', "PAIR", "only this pair"}, {0}};
    const char *syn = "kml-fetch pairs [--pair P]   (JSON lines: order limits and leverage of each pair)";
    kml_pair p;
    int have_pair = 0;
    int c;
    while ((c = cli_next(argc, argv, opts, syn)) != -1) {
        switch (c) {
        case 'p': pair_parse_or_die("pair", optarg, &p), have_pair = 1; break;
        default: cli_usage_error("unexpected option");
        }
    }
    if (optind < argc) cli_usage_error("unexpected operand '%s'", argv[optind]);
    kraken_client *kc = kraken_open();
    char q[80] = "";
    if (have_pair) snprintf(q, sizeof q, "pair=%s", p.altname);
    cJSON *result, *root = kraken_public(kc, "AssetPairs", q, &result);
    if (!cJSON_IsObject(result)) die(EX_DATAERR, "AssetPairs: result: expected an object");
    cJSON *it;
    cJSON_ArrayForEach(it, result)
    {
        if (!cJSON_IsObject(it)) die(EX_DATAERR, "AssetPairs: result.%s: expected an object", it->string);
        cJSON *alt = cJSON_GetObjectItemCaseSensitive(it, "altname");
        if (!cJSON_IsString(alt)) die(EX_DATAERR, "AssetPairs: result.%s.altname: expected a string", it->string);
        cJSON *o = cJSON_CreateObject();
        kml_pair kp;
        cJSON *ws = cJSON_GetObjectItemCaseSensitive(it, "wsname");
        if (pair_parse(cJSON_IsString(ws) ? ws->valuestring : alt->valuestring, &kp) == 0)
            cJSON_AddStringToObject(o, "pair", kp.display);
        cJSON_AddStringToObject(o, "key", it->string);
        static const char *const strs[] = {"altname", "wsname", "base", "quote"};
        for (size_t i = 0; i < 4; i++) {
            cJSON *v = cJSON_GetObjectItemCaseSensitive(it, strs[i]);
            if (cJSON_IsString(v)) cJSON_AddStringToObject(o, strs[i], v->valuestring);
        }
        static const char *const nums[] = {"pair_decimals", "lot_decimals", "cost_decimals", "tick_size",
                                           "ordermin",      "costmin",      "margin_call",   "margin_stop"};
        for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) copy_num(o, it, nums[i]);
        static const char *const levs[] = {"leverage_buy", "leverage_sell"};
        for (size_t i = 0; i < 2; i++) {
            cJSON *v = cJSON_GetObjectItemCaseSensitive(it, levs[i]), *arr = cJSON_AddArrayToObject(o, levs[i]), *x;
            cJSON_ArrayForEach(x, v)
            {
                if (!cJSON_IsNumber(x))
                    die(EX_DATAERR, "AssetPairs: result.%s.%s: expected numbers", it->string, levs[i]);
                cJSON_AddItemToArray(arr, cJSON_CreateNumber(x->valuedouble));
            }
        }
        jsonl_write(stdout, o);
        cJSON_Delete(o);
    }
    cJSON_Delete(root);
    kraken_close(kc);
    return 0;
}

/* ---- Time ---- */

int64_t server_time(kraken_client *kc)
{
    cJSON *result, *root = kraken_public(kc, "Time", NULL, &result);
    cJSON *t = cJSON_GetObjectItemCaseSensitive(result, "unixtime");
    if (!cJSON_IsNumber(t) || t->valuedouble < 0) die(EX_DATAERR, "Time: result.unixtime: expected a number");
    int64_t now = (int64_t)t->valuedouble;
    cJSON_Delete(root);
    return now;
}
