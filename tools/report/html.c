/* html.c: report.html, one self-contained page (out.h): the numbers come
 * from metrics.json's object, so the page and the file cannot disagree; the
 * PNGs are inlined as base64 data URIs; no script, font or style is fetched. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "atomic.h"
#include "jsonl.h"
#include "out.h"
#include "util.h"

typedef struct {
    char *p;
    size_t n, cap;
} hbuf;

static void put(hbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        while (b->n + n + 1 > b->cap) b->cap = b->cap ? 2 * b->cap : 65536;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void hf(hbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hf(hbuf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < (int)sizeof tmp) {
        put(b, tmp, (size_t)k);
        return;
    }
    char *big = xmalloc((size_t)k + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)k + 1, fmt, ap);
    va_end(ap);
    put(b, big, (size_t)k);
    free(big);
}

/* Text with &, <, >, " escaped. */
static void esc(hbuf *b, const char *s)
{
    for (; *s; s++) switch (*s) {
        case '&': put(b, "&amp;", 5); break;
        case '<': put(b, "&lt;", 4); break;
        case '>': put(b, "&gt;", 4); break;
        case '"': put(b, "&quot;", 6); break;
        default: put(b, s, 1);
        }
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

enum fmt { PCT, RATIO, MONEY, COUNT, DAYS };

static void cell(hbuf *b, double x, enum fmt f)
{
    if (!isfinite(x)) {
        put(b, "<td>n/a</td>", 12);
        return;
    }
    switch (f) {
    case PCT: hf(b, "<td>%.2f%%</td>", 100 * x); break;
    case RATIO: hf(b, "<td>%.3f</td>", x); break;
    case MONEY: hf(b, "<td>%.2f</td>", x); break;
    case COUNT: hf(b, "<td>%.0f</td>", x); break;
    case DAYS: hf(b, "<td>%.1f</td>", x); break;
    }
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* An <img> of a PNG file as a data URI; nothing when the file is absent. */
static void image(hbuf *b, const char *dir, const char *name, const char *alt)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    if (stat(path, &st) != 0) return;
    size_t len;
    char *data = read_file(path, &len);
    const unsigned char *d = (const unsigned char *)data;
    hf(b, "<figure><img alt=\"");
    esc(b, alt);
    hf(b, "\" src=\"data:image/png;base64,");
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < len ? (unsigned)d[i + 1] << 8 : 0) | (i + 2 < len ? d[i + 2] : 0);
        char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], i + 1 < len ? b64[v >> 6 & 63] : '=',
                     i + 2 < len ? b64[v & 63] : '='};
        put(b, q, 4);
    }
    hf(b, "\"><figcaption>");
    esc(b, alt);
    hf(b, "</figcaption></figure>\n");
    free(data);
}

static void day(char *buf, size_t n, double t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M UTC", &tm);
}

void report_html(const char *dir, const report_result *res, const report_input *in, const cJSON *metrics,
                 const report_opts *o)
{
    hbuf b = {0};
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(metrics, "strategy");
    const cJSON *bm = cJSON_GetObjectItemCaseSensitive(metrics, "benchmark");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(metrics, "data");
    char from[40], to[40];
    day(from, sizeof from, num(data, "from"));
    day(to, sizeof to, num(data, "to"));

    hf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
    esc(&b, o->title);
    hf(&b, "</title>\n<style>\nbody{font-family:sans-serif;max-width:1060px;margin:1em auto;padding:0 1em;color:#222}\n"
           "table{border-collapse:collapse;margin:.6em 0 1.4em}td,th{border:1px solid #ccc;padding:.25em .6em;"
           "text-align:right}th:first-child,td:first-child{text-align:left}thead th{background:#eef}\n"
           ".verdict{font-size:1.15em;padding:.6em;border-left:5px solid #1f5fbf;background:#f4f7fc}\n"
           ".warn{padding:.6em;border-left:5px solid #c03030;background:#fcf0f0}\n"
           "figure{margin:1em 0}img{max-width:100%%}figcaption{color:#555;font-size:.9em}\n</style></head><body>\n<h1>");
    esc(&b, o->title);
    hf(&b, "</h1>\n<p>%s to %s: %.0f bars of %.0f minutes, %d pair%s, initial capital %.2f, mode %s, data %s.</p>\n",
       from, to, num(data, "bars"), num(data, "interval_seconds") / 60, res->P, res->P > 1 ? "s" : "",
       num(data, "initial_capital"), cJSON_GetObjectItemCaseSensitive(data, "mode")->valuestring,
       cJSON_GetObjectItemCaseSensitive(data, "source")->valuestring);
    if (o->synthetic)
        hf(&b, "<p class=\"warn\">These decisions were made on a <b>synthetic</b> market: the numbers say nothing "
               "about real trading.</p>\n");

    /* Headline against the benchmark. */
    static const struct {
        const char *label, *key;
        enum fmt f;
    } head[] = {{"Total return", "total_return", PCT},     {"CAGR", "cagr", PCT},
                {"Annualised volatility", "ann_volatility", PCT}, {"Sharpe", "sharpe", RATIO},
                {"Sortino", "sortino", RATIO},             {"Calmar", "calmar", RATIO},
                {"Maximum drawdown", "max_drawdown", PCT}, {"Max drawdown duration (days)", "max_drawdown_days", DAYS},
                {"Final equity", "final_equity", MONEY},   {"Fees paid", "fees", MONEY}};
    hf(&b, "<h2>Headline</h2>\n<table id=\"headline\"><thead><tr><th>metric</th><th>strategy</th>"
           "<th>buy and hold</th></tr></thead><tbody>\n");
    for (size_t k = 0; k < sizeof head / sizeof *head; k++) {
        hf(&b, "<tr><th>%s</th>", head[k].label);
        cell(&b, num(st, head[k].key), head[k].f);
        cell(&b, num(bm, head[k].key), head[k].f);
        hf(&b, "</tr>\n");
    }
    hf(&b, "</tbody></table>\n");
    double sr = num(st, "total_return"), br = num(bm, "total_return");
    int beat = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(metrics, "beat_benchmark"));
    hf(&b, "<p class=\"verdict\" id=\"verdict\">After fees, slippage, margin opening and rollover costs, the strategy "
           "<b>%s</b> buy and hold of the same allocation on this data: %+.2f%% against %+.2f%% "
           "(Sharpe %.2f against %.2f, maximum drawdown %.1f%% against %.1f%%).</p>\n",
       beat ? "beat" : "did not beat", 100 * sr, 100 * br, num(st, "sharpe"), num(bm, "sharpe"),
       100 * num(st, "max_drawdown"), 100 * num(bm, "max_drawdown"));

    hf(&b, "<h2>Trading</h2>\n<table id=\"trading\"><tbody>\n");
    static const struct {
        const char *label, *key;
        enum fmt f;
    } tr[] = {{"Closed trades", "trades", COUNT},        {"Open at the end", "open_trades", COUNT},
              {"Win rate", "win_rate", PCT},             {"Profit factor", "profit_factor", RATIO},
              {"Expectancy per trade", "expectancy", MONEY}, {"Exposure time", "exposure", PCT},
              {"Turnover (traded / mean equity)", "turnover", RATIO}, {"Traded notional", "traded_notional", MONEY},
              {"Fees", "fees", MONEY},                   {"Rollover", "rollover", MONEY},
              {"Liquidations", "liquidations", COUNT}};
    for (size_t k = 0; k < sizeof tr / sizeof *tr; k++) {
        hf(&b, "<tr><th>%s</th>", tr[k].label);
        cell(&b, num(st, tr[k].key), tr[k].f);
        hf(&b, "</tr>\n");
    }
    hf(&b, "</tbody></table>\n");

    /* Per pair, per regime, per strategy. */
    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(metrics, "pairs");
    hf(&b, "<h2>Per pair</h2>\n<table id=\"pairs\"><thead><tr><th>pair</th><th>allocation</th><th>P&amp;L</th>"
           "<th>buy and hold P&amp;L</th><th>return</th><th>Sharpe</th><th>trades</th><th>win rate</th><th>profit factor</th><th>exposure</th>"
           "<th>fees</th><th>rollover</th><th>liquidations</th></tr></thead><tbody>\n");
    for (const cJSON *p = pairs ? pairs->child : NULL; p; p = p->next) {
        hf(&b, "<tr><td>");
        esc(&b, p->string);
        hf(&b, "</td>");
        cell(&b, num(p, "allocation"), PCT);
        cell(&b, num(p, "pnl"), MONEY);
        cell(&b, num(p, "benchmark_pnl"), MONEY);
        cell(&b, num(p, "return"), PCT);
        cell(&b, num(p, "sharpe"), RATIO);
        cell(&b, num(p, "trades"), COUNT);
        cell(&b, num(p, "win_rate"), PCT);
        cell(&b, num(p, "profit_factor"), RATIO);
        cell(&b, num(p, "exposure"), PCT);
        cell(&b, num(p, "fees"), MONEY);
        cell(&b, num(p, "rollover"), MONEY);
        cell(&b, num(p, "liquidations"), COUNT);
        hf(&b, "</tr>\n");
    }
    hf(&b, "</tbody></table>\n");
    const cJSON *regs = cJSON_GetObjectItemCaseSensitive(metrics, "regimes");
    if (regs) {
        hf(&b, "<h2>Per regime</h2>\n<p>Each pair's P&amp;L over a bar goes to the regime of the decision that set "
               "its position.</p>\n<table id=\"regimes\"><thead><tr><th>regime</th><th>pair-bars</th><th>P&amp;L</th>"
               "<th>return</th><th>Sharpe</th><th>exposure</th><th>hit rate</th></tr></thead><tbody>\n");
        for (const cJSON *g = regs->child; g; g = g->next) {
            hf(&b, "<tr><td>");
            esc(&b, g->string);
            hf(&b, "</td>");
            cell(&b, num(g, "pair_bars"), COUNT);
            cell(&b, num(g, "pnl"), MONEY);
            cell(&b, num(g, "return"), PCT);
            cell(&b, num(g, "sharpe"), RATIO);
            cell(&b, num(g, "exposure"), PCT);
            cell(&b, num(g, "hit_rate"), PCT);
            hf(&b, "</tr>\n");
        }
        hf(&b, "</tbody></table>\n");
    }
    const cJSON *sts = cJSON_GetObjectItemCaseSensitive(metrics, "strategies");
    if (sts) {
        hf(&b, "<h2>Per strategy</h2>\n<p>Each bar's P&amp;L split by the strategies' weighted signals in the "
               "decision that set the position (a strategy voting against the position takes a negative share). "
               "Unattributed: %.2f.</p>\n<table id=\"strategies\"><thead><tr><th>strategy</th><th>P&amp;L</th>"
               "<th>return</th><th>Sharpe</th></tr></thead><tbody>\n",
           num(metrics, "unattributed_pnl"));
        for (const cJSON *s = sts->child; s; s = s->next) {
            hf(&b, "<tr><td>");
            esc(&b, s->string);
            hf(&b, "</td>");
            cell(&b, num(s, "pnl"), MONEY);
            cell(&b, num(s, "return"), PCT);
            cell(&b, num(s, "sharpe"), RATIO);
            hf(&b, "</tr>\n");
        }
        hf(&b, "</tbody></table>\n");
    }

    if (o->plots) {
        char name[200], alt[200];
        hf(&b, "<h2>Plots</h2>\n");
        image(&b, dir, "equity.png", "Equity against buy and hold");
        image(&b, dir, "drawdown.png", "Drawdown");
        for (int p = 0; p < res->P; p++) {
            snprintf(name, sizeof name, "price_%s.png", in->pair[p].alt);
            snprintf(alt, sizeof alt, "%s: price, entries, exits, stops, liquidations, regimes", in->pair[p].name);
            image(&b, dir, name, alt);
        }
        for (int p = 0; p < res->P; p++) {
            snprintf(name, sizeof name, "weights_%s.png", in->pair[p].alt);
            snprintf(alt, sizeof alt, "%s: strategy weights over time, regimes shaded", in->pair[p].name);
            image(&b, dir, name, alt);
        }
    }
    hf(&b, "<p><small>Definitions: docs/report.md. Files beside this page: equity.csv, trades.csv, "
           "metrics.json.</small></p>\n</body></html>\n");
    char path[4096];
    snprintf(path, sizeof path, "%s/report.html", dir);
    atomic_write(path, b.p, b.n);
    free(b.p);
}
