/* sandbox.c: kml-execute --sandbox, the paper account over orders streams.
 *
 * Reads every orders stream whole and checks it (a bad order leaves the
 * state untouched), loads each traded pair's candles, then runs the bars of
 * all pairs in time order through lib/market/account. After each bar time
 * the state is committed atomically, holding that bar's events; only then
 * are the events written (stdout and the events log). A restart after a
 * crash first writes the committed events the log does not have yet, so
 * every event is in the log exactly once (docs/execution.md, "State"). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "cli.h"
#include "config.h"
#include "candles.h"
#include "csv.h"
#include "execute.h"
#include "jsonl.h"
#include "market/account.h"
#include "market/events.h"
#include "pair.h"
#include "util.h"

typedef struct {
    int pair;              /* account index */
    acct_order o;
    int stream;
    long line;
    const char *file;
} order_rec;

typedef struct {
    acct_bar *b;
    long n, cap;
    long cur;              /* next bar to run */
    int have;
} series;

/* Events of the bar being run, in order (owned lines). */
typedef struct {
    char **line;
    int n, cap;
} ev_buf;

static void sink(void *ctx, const kml_event *e)
{
    ev_buf *eb = ctx;
    if (eb->n == eb->cap) eb->line = xrealloc(eb->line, (size_t)(eb->cap = eb->cap ? 2 * eb->cap : 16) * sizeof *eb->line);
    eb->line[eb->n++] = event_line(e, NULL);
}

static void ev_clear(ev_buf *eb)
{
    for (int i = 0; i < eb->n; i++) free(eb->line[i]);
    eb->n = 0;
}

/* ---- orders ---- */

static int cmp_order(const void *x, const void *y)
{
    const order_rec *a = x, *b = y;
    if (a->o.time != b->o.time) return a->o.time < b->o.time ? -1 : 1;
    if (a->pair != b->pair) return a->pair - b->pair;
    if (a->stream != b->stream) return a->stream - b->stream;
    return a->line < b->line ? -1 : a->line > b->line;
}

/* An optional price: absent or null is none (NaN); else finite and > 0. */
static double opt_price(const jsonl_reader *r, const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return NAN;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || !(v->valuedouble > 0))
        jsonl_die(r, "key '%s': expected a positive number or null", key);
    return v->valuedouble;
}

/* Read and check one orders stream, appending to *recs. */
static char *read_orders(const char *path, int stream, const account *a, order_rec **recs, long *n, long *cap)
{
    jsonl_reader *r = jsonl_open(path);
    int64_t prev[KML_MAX_ASSETS];
    long prev_line[KML_MAX_ASSETS];
    for (int i = 0; i < KML_MAX_ASSETS; i++) prev[i] = INT64_MIN;
    char *file = xstrdup(jsonl_path(r)); /* the records point at it; the caller frees it */
    cJSON *o;
    while ((o = jsonl_next(r))) {
        if (!cJSON_IsObject(o)) jsonl_die(r, "expected a JSON object");
        double t = jsonl_num(r, o, "time");
        if (t != floor(t) || t < 0 || t > 1e11) jsonl_die(r, "key 'time': expected Unix seconds, got %.17g", t);
        const char *pname = jsonl_str(r, o, "pair");
        kml_pair kp;
        if (pair_parse(pname, &kp) != 0) jsonl_die(r, "key 'pair': not an asset pair: \"%s\"", pname);
        int pi = account_find(a, kp.display);
        if (pi < 0) jsonl_die(r, "key 'pair': %s is not one of the configuration's assets", kp.display);
        const char *side = jsonl_str(r, o, "side");
        int s = !strcmp(side, "buy") ? 1 : !strcmp(side, "sell") ? -1 : !strcmp(side, "flat") ? 0 : 2;
        if (s == 2) jsonl_die(r, "key 'side': expected \"buy\", \"sell\" or \"flat\", got \"%s\"", side);
        double x = jsonl_num(r, o, "exposure");
        if ((x > 0) - (x < 0) != s) jsonl_die(r, "key 'exposure': %.17g does not match side \"%s\"", x, side);
        acct_order ord = {0};
        ord.time = (int64_t)t;
        ord.exposure = x;
        ord.leverage = 1;
        ord.price = 1;
        ord.stop = ord.take_profit = NAN;
        if (s != 0) {
            ord.leverage = jsonl_num(r, o, "leverage");
            if (!(ord.leverage >= 1)) jsonl_die(r, "key 'leverage': expected a number >= 1, got %.17g", ord.leverage);
            ord.price = jsonl_num(r, o, "price");
            if (!(ord.price > 0)) jsonl_die(r, "key 'price': expected a positive number, got %.17g", ord.price);
            ord.stop = opt_price(r, o, "stop");
            ord.take_profit = opt_price(r, o, "take_profit");
            if (!isnan(ord.stop) && (s > 0 ? ord.stop >= ord.price : ord.stop <= ord.price))
                jsonl_die(r, "key 'stop': %.17g is not on the losing side of price %.17g for a %s", ord.stop,
                          ord.price, side);
            if (!isnan(ord.take_profit) && (s > 0 ? ord.take_profit <= ord.price : ord.take_profit >= ord.price))
                jsonl_die(r, "key 'take_profit': %.17g is not on the winning side of price %.17g for a %s",
                          ord.take_profit, ord.price, side);
        }
        if (prev[pi] != INT64_MIN && ord.time <= prev[pi])
            jsonl_die(r, "key 'time': %lld is not after the previous order of %s (line %ld)", (long long)ord.time,
                      kp.display, prev_line[pi]);
        prev[pi] = ord.time;
        prev_line[pi] = jsonl_line(r);
        if (*n == *cap) *recs = xrealloc(*recs, (size_t)(*cap = *cap ? 2 * *cap : 1024) * sizeof **recs);
        (*recs)[(*n)++] = (order_rec){pi, ord, stream, jsonl_line(r), file};
        cJSON_Delete(o);
    }
    jsonl_close(r);
    return file;
}

/* ---- candles ---- */

static void load_candles(series *s, const char *path)
{
    csv_reader *r = csv_open(path);
    int ct = csv_col(r, "time"), co = csv_col(r, "open"), ch = csv_col(r, "high"), cl = csv_col(r, "low"),
        cc = csv_col(r, "close");
    int64_t prev = INT64_MIN;
    while (csv_next(r)) {
        acct_bar b;
        b.time = csv_time_increasing(r, ct, &prev);
        b.open = csv_double(r, co);
        b.high = csv_double(r, ch);
        b.low = csv_double(r, cl);
        b.close = csv_double(r, cc);
        if (!(b.low > 0)) csv_die(r, cl, "expected a positive price, got %.17g", b.low);
        if (b.high < b.low) csv_die(r, ch, "high %.17g is below low %.17g", b.high, b.low);
        if (b.open < b.low || b.open > b.high) csv_die(r, co, "open %.17g is outside [low, high]", b.open);
        if (b.close < b.low || b.close > b.high) csv_die(r, cc, "close %.17g is outside [low, high]", b.close);
        if (s->n == s->cap) s->b = xrealloc(s->b, (size_t)(s->cap = s->cap ? 2 * s->cap : 4096) * sizeof *s->b);
        s->b[s->n++] = b;
    }
    csv_close(r);
    s->have = 1;
}

static int64_t series_interval(const series *s)
{
    int64_t *t = xmalloc((size_t)(s->n ? s->n : 1) * sizeof *t);
    for (long i = 0; i < s->n; i++) t[i] = s->b[i].time;
    int64_t iv = candles_infer_interval(t, s->n);
    free(t);
    return iv;
}

/* ---- limits (kml-fetch pairs) ---- */

static void read_limits(const char *path, account *a)
{
    jsonl_reader *r = jsonl_open(path);
    cJSON *o;
    while ((o = jsonl_next(r))) {
        const cJSON *pv = cJSON_GetObjectItemCaseSensitive(o, "pair");
        if (!cJSON_IsString(pv)) pv = cJSON_GetObjectItemCaseSensitive(o, "altname");
        if (!cJSON_IsString(pv)) jsonl_die(r, "missing key 'pair'");
        int i = account_find(a, pv->valuestring);
        if (i < 0) {
            cJSON_Delete(o);
            continue;
        }
        acct_pair *p = &a->p[i];
        if (cJSON_GetObjectItemCaseSensitive(o, "ordermin")) p->ordermin = jsonl_num(r, o, "ordermin");
        if (cJSON_GetObjectItemCaseSensitive(o, "costmin")) p->costmin = jsonl_num(r, o, "costmin");
        if (cJSON_GetObjectItemCaseSensitive(o, "lot_decimals")) {
            double d = jsonl_num(r, o, "lot_decimals");
            if (d != floor(d) || d < 0 || d > 12) jsonl_die(r, "key 'lot_decimals': expected an integer in [0, 12]");
            p->lot_decimals = (int)d;
        }
        if (p->ordermin < 0 || p->costmin < 0) jsonl_die(r, "ordermin and costmin must not be negative");
        if (cJSON_GetObjectItemCaseSensitive(o, "margin_call") && cJSON_GetObjectItemCaseSensitive(o, "margin_stop") &&
            margin_params_set_levels_pct(&p->mp, jsonl_num(r, o, "margin_call"), jsonl_num(r, o, "margin_stop")) != 0)
            jsonl_die(r, "keys 'margin_call', 'margin_stop': expected percentages with 0 < stop < call < 100");
        cJSON_Delete(o);
    }
    jsonl_close(r);
}

/* ---- crash points (tests) ---- */

/* KML_EXECUTE_KILL_AT=N: the process kills itself (SIGKILL, as kill -9)
 * just before its N-th durable step, counting each state commit and each
 * event written. The tests use it to crash between a commit and its events,
 * in the middle of a bar's events, and before a commit (docs/execution.md). */
static long kill_at = -1, steps;

static void step(void)
{
    if (kill_at > 0 && ++steps == kill_at) raise(SIGKILL);
}

/* ---- state ---- */

typedef struct {
    char *path;            /* DIR/account.json, NULL with --no-state */
    const char *log;       /* the events log */
} state_ctx;

/* Take the state directory's lock: two runs on one account would each
 * believe they own it. Dies 75 when another run holds it. */
static void lock_state(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) die(EX_CANTCREAT, "%s:", path);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) die(EX_TEMPFAIL, "%s: another kml-execute is using this state", dir);
    /* the descriptor stays open (and locked) until the process ends */
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* Write the account and the events of the bar just run (not yet in the log). */
static void commit(const state_ctx *st, const account *a, const ev_buf *eb)
{
    if (!st->path) return;
    step();
    cJSON *o = account_to_json(a);
    cJSON *u = cJSON_AddArrayToObject(o, "unlogged");
    for (int i = 0; i < eb->n; i++) cJSON_AddItemToArray(u, cJSON_CreateString(eb->line[i]));
    if (eb->n) json_add_num(o, "log_offset", (double)file_size(st->log));
    char *s = json_print(o, 1);
    size_t n = strlen(s);
    s = xrealloc(s, n + 2);
    s[n++] = '\n';
    atomic_write(st->path, s, n);
    free(s);
    cJSON_Delete(o);
}

static void emit_all(const state_ctx *st, const ev_buf *eb)
{
    for (int i = 0; i < eb->n; i++) {
        step();
        event_emit(stdout, st->log, eb->line[i]);
    }
}

/* Events a crashed run committed but may not have written: those the log
 * does not hold after the offset recorded with them are written now. */
static void recover(const state_ctx *st, const cJSON *root)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(root, "unlogged");
    if (!cJSON_IsArray(u) || !cJSON_GetArraySize(u)) return;
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(root, "log_offset");
    long long from = cJSON_IsNumber(off) ? (long long)off->valuedouble : 0;
    /* only what was appended after the commit is read: the log may be long */
    char *tail = NULL;
    FILE *f = fopen(st->log, "r");
    if (f && fseeko(f, (off_t)from, SEEK_SET) == 0 && file_size(st->log) >= from) {
        size_t cap = 4096, len = 0, got;
        tail = xmalloc(cap);
        while ((got = fread(tail + len, 1, cap - len - 1, f)) > 0)
            if ((len += got) + 1 == cap) tail = xrealloc(tail, cap *= 2);
        if (ferror(f)) die(EX_IOERR, "%s: read error:", st->log);
        tail[len] = 0;
    }
    if (f) fclose(f);
    const cJSON *v;
    cJSON_ArrayForEach(v, u)
    {
        if (!cJSON_IsString(v)) die(EX_DATAERR, "%s: $.unlogged: expected strings", st->path);
        int found = 0;
        size_t k = strlen(v->valuestring);
        for (char *p = tail; p && *p && !found;) {
            char *nl = strchr(p, '\n');
            size_t m = nl ? (size_t)(nl - p) : strlen(p);
            found = m == k && !memcmp(p, v->valuestring, k);
            p = nl ? nl + 1 : p + m;
        }
        if (!found) {
            step();
            event_emit(stdout, st->log, v->valuestring);
        }
    }
    free(tail);
}

/* ---- the run ---- */

/* Drop the orders the account has run (at or before each pair's last order)
 * and return how many are left (in place). *horizon gets the last order's bar
 * over all orders read; first_order/first_line each pair's first new order
 * (INT64_MIN: none) and its index. */
static long keep_new_orders(const account *a, order_rec *recs, long nrec, int64_t *horizon, int64_t *first_order,
                            long *first_line, int quiet)
{
    long kept = 0;
    for (int i = 0; i < KML_MAX_ASSETS; i++) first_order[i] = INT64_MIN;
    for (long i = 0; i < nrec; i++) {
        order_rec *r = &recs[i];
        const acct_pair *p = &a->p[r->pair];
        if (r->o.time > *horizon) *horizon = r->o.time;
        if (p->last_order != INT64_MIN && r->o.time <= p->last_order) continue;
        if (first_order[r->pair] == INT64_MIN) {
            first_order[r->pair] = r->o.time, first_line[r->pair] = kept;
            /* a backtest would have filled it at the bar after its own, which has been run */
            if (p->last_bar != INT64_MIN && r->o.time < p->last_bar && !quiet)
                warn("%s:%ld: the order of %s's bar %lld comes after bar %lld was run: it fills at the next bar",
                     r->file, r->line, p->pair, (long long)r->o.time, (long long)p->last_bar);
        }
        recs[kept++] = *r;
    }
    return kept;
}

/* Candles of pair i from the store. A pair without them is an error at its
 * first new order (65), or, for a pair only the state holds, a missing file (66). */
static void load_store(const account *a, int i, series *s, const char *dir, long minutes, const order_rec *first)
{
    char path[4200];
    kml_pair kp;
    pair_parse(a->p[i].pair, &kp);
    pair_filename(&kp, (int)minutes, dir, path, sizeof path);
    if (access(path, F_OK) != 0) {
        if (first) {
            fflush(stdout);
            fprintf(stderr, "%s: %s:%ld: key 'pair': %s has no candles (give --candles %s=FILE or put %s)\n", progname,
                    first->file, first->line, a->p[i].pair, a->p[i].pair, path);
            exit(EX_DATAERR);
        }
        die(EX_NOINPUT, "%s: no candles for %s, which the state holds (give --candles %s=FILE)", path, a->p[i].pair,
            a->p[i].pair);
    }
    load_candles(s, path);
}

/* The pair's bar length, and its first bar to run: after the last one run,
 * or after its first order. */
static void prepare_series(acct_pair *p, series *s, int64_t first_order, long minutes)
{
    p->interval = series_interval(s);
    if (p->interval <= 0) p->interval = minutes * 60;
    int64_t after = p->last_bar != INT64_MIN ? p->last_bar : first_order;
    long lo = 0, hi = s->n;
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        if (s->b[mid].time <= after) lo = mid + 1;
        else hi = mid;
    }
    s->cur = lo;
}

/* Bars of every pair in time order up to the last order's bar; before each
 * bar time the orders decided before it are submitted. After each bar time
 * the state is committed with its events, then they are written. Returns the
 * number of pair-bars run. */
static long run_bars(account *a, series *ser, const order_rec *recs, long nrec, int64_t horizon,
                     const state_ctx *st, ev_buf *eb)
{
    long oi = 0, bars = 0;
    for (;;) {
        int64_t T = INT64_MAX;
        for (int i = 0; i < a->n; i++)
            if (ser[i].cur < ser[i].n && ser[i].b[ser[i].cur].time <= horizon && ser[i].b[ser[i].cur].time < T)
                T = ser[i].b[ser[i].cur].time;
        if (T == INT64_MAX) break;
        while (oi < nrec && recs[oi].o.time < T) account_submit(a, recs[oi].pair, &recs[oi].o), oi++;
        for (int i = 0; i < a->n; i++)
            if (ser[i].cur < ser[i].n && ser[i].b[ser[i].cur].time == T) {
                account_bar(a, i, &ser[i].b[ser[i].cur++]);
                bars++;
            }
        commit(st, a, eb);
        emit_all(st, eb);
        ev_clear(eb);
    }
    /* the last bar's orders wait as pending in the state */
    while (oi < nrec) account_submit(a, recs[oi].pair, &recs[oi].o), oi++;
    if (eb->n) {
        commit(st, a, eb);
        emit_all(st, eb);
        ev_clear(eb);
    }
    commit(st, a, eb); /* nothing left unlogged */
    return bars;
}

enum { O_SANDBOX = 256, O_CANDLES, O_STATE, O_NO_STATE, O_LIMITS, O_RESET_KILL, O_INTERVAL, O_QUIET };
static const struct cli_opt opts[] = {
    {"sandbox", O_SANDBOX, NULL, "paper trading on the simulated account (the default)"},
    {"config", 'c', "FILE", "configuration (default $KML_CONFIG, else config/trading.json)"},
    {"data-dir", 'd', "DIR", "candles store: DIR/<ALTNAME>_<MIN>.csv (default historical_data)"},
    {"interval", O_INTERVAL, "MIN", "bar length of the store's files, minutes (default 60)"},
    {"candles", O_CANDLES, "PAIR=FILE", "candles of a pair (instead of the store); repeatable"},
    {"state", O_STATE, "DIR", "account state, committed after each bar (default state)"},
    {"no-state", O_NO_STATE, NULL, "start from the configuration's capital and keep no state (backtests)"},
    {"limits", O_LIMITS, "FILE", "pairs' ordermin, costmin, lot_decimals, margin levels (kml-fetch pairs)"},
    {"reset-kill", O_RESET_KILL, NULL, "clear a tripped drawdown kill switch before running"},
    {"quiet", O_QUIET, NULL, "no summary on stderr"},
    {0}};
static const char synopsis[] =
    "kml-execute [--sandbox] [--config FILE] [--data-dir DIR] [--candles PAIR=FILE]... [--state DIR]\n"
    "                   [--limits PAIRS.jsonl] [ORDERS...]\n"
    "       kml-execute --live ...   (docs/live.md)\n"
    "\n"
    "Runs orders (targets, orders JSONL; no file or '-' is stdin) on the paper\n"
    "account: each fills at the open of its pair's next bar. Events (JSON lines)\n"
    "go to stdout and logs/bot_manager_integration.log. Reads every order before\n"
    "the first bar: a bad one changes nothing. See docs/execution.md";

int sandbox_main(int argc, char **argv)
{
    const char *config_path = NULL, *data_dir = "historical_data", *state_dir = "state", *limits = NULL;
    int no_state = 0, reset_kill = 0, quiet = 0;
    long interval_min = 60;
    char *candle_pair[KML_MAX_ASSETS * 2];
    char *candle_file[KML_MAX_ASSETS * 2];
    int n_candles = 0;
    int c;
    while ((c = cli_next(argc, argv, opts, synopsis)) != -1) {
        switch (c) {
        case O_SANDBOX: break;
        case 'c': config_path = optarg; break;
        case 'd': data_dir = optarg; break;
        case O_INTERVAL: interval_min = cli_long("interval", optarg, 1, 60L * 24 * 30); break;
        case O_CANDLES: {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || !eq[1]) cli_usage_error("--candles: expected PAIR=FILE, got '%s'", optarg);
            if (n_candles == KML_MAX_ASSETS * 2) cli_usage_error("--candles: too many");
            candle_pair[n_candles] = xstrdup(optarg);
            candle_pair[n_candles][eq - optarg] = 0;
            candle_file[n_candles++] = eq + 1;
            break;
        }
        case O_STATE: state_dir = optarg; break;
        case O_NO_STATE: no_state = 1; break;
        case O_LIMITS: limits = optarg; break;
        case O_RESET_KILL: reset_kill = 1; break;
        case O_QUIET: quiet = 1; break;
        default: cli_usage_error("unexpected option");
        }
    }
    const char *ka = getenv("KML_EXECUTE_KILL_AT");
    if (ka && *ka) kill_at = atol(ka);
    if (no_state && reset_kill) cli_usage_error("--reset-kill needs a state (not --no-state)");

    kml_config cfg;
    config_load(&cfg, config_path);
    if (strcmp(cfg.mode, "sandbox") && !quiet)
        warn("the configuration's mode is \"%s\"; running the paper account (--live is explicit)", cfg.mode);
    ev_buf eb = {0};
    account a;
    account_init(&a, &cfg, sink, &eb);
    series ser[KML_MAX_ASSETS];
    memset(ser, 0, sizeof ser);
    for (int i = 0; i < n_candles; i++) {
        int pi = account_find(&a, candle_pair[i]);
        if (pi < 0) cli_usage_error("--candles: %s is not one of the configuration's assets", candle_pair[i]);
        if (ser[pi].have) cli_usage_error("--candles: %s given twice", a.p[pi].pair);
        load_candles(&ser[pi], candle_file[i]);
    }
    if (limits) read_limits(limits, &a);

    /* Every order, checked, before anything runs. */
    order_rec *recs = NULL;
    long nrec = 0, cap = 0;
    int nstreams = optind < argc ? argc - optind : 1;
    char **names = xcalloc((size_t)nstreams, sizeof *names);
    for (int s = 0; s < nstreams; s++)
        names[s] = read_orders(optind < argc ? argv[optind + s] : "-", s, &a, &recs, &nrec, &cap);
    if (nrec) qsort(recs, (size_t)nrec, sizeof *recs, cmp_order);
    for (long i = 1; i < nrec; i++)
        if (recs[i].pair == recs[i - 1].pair && recs[i].o.time == recs[i - 1].o.time) {
            fflush(stdout);
            fprintf(stderr, "%s: %s:%ld: key 'time': %s already has an order at %lld (%s:%ld)\n", progname,
                    recs[i].file, recs[i].line, a.p[recs[i].pair].pair, (long long)recs[i].o.time, recs[i - 1].file,
                    recs[i - 1].line);
            exit(EX_DATAERR);
        }

    /* The state. */
    state_ctx st = {NULL, events_log_path()};
    cJSON *root = NULL;
    if (!no_state) {
        mkdirs(state_dir);
        lock_state(state_dir);
        size_t n = strlen(state_dir) + 16;
        st.path = xmalloc(n);
        snprintf(st.path, n, "%s/account.json", state_dir);
        if (access(st.path, F_OK) == 0) {
            root = json_load_file(st.path);
            account_from_json(&a, root, st.path);
        }
    }

    /* Orders already run (a rerun, or a restart) are skipped; the rest need candles. */
    int64_t horizon = INT64_MIN;
    long first_line[KML_MAX_ASSETS];
    int64_t first_order[KML_MAX_ASSETS];
    nrec = keep_new_orders(&a, recs, nrec, &horizon, first_order, first_line, quiet);
    for (int i = 0; i < a.n; i++) {
        /* a pair runs bars when it trades (state or new orders) and is behind the last order */
        int runs = (a.p[i].used || first_order[i] != INT64_MIN) &&
                   (a.p[i].last_bar == INT64_MIN || a.p[i].last_bar <= horizon);
        if (!runs) {
            ser[i].cur = ser[i].n;
            continue;
        }
        if (!ser[i].have) load_store(&a, i, &ser[i], data_dir, interval_min,
                                     first_order[i] != INT64_MIN ? &recs[first_line[i]] : NULL);
        prepare_series(&a.p[i], &ser[i], first_order[i], interval_min);
    }

    if (root) recover(&st, root);
    cJSON_Delete(root);
    if (reset_kill) {
        int64_t t = INT64_MIN;
        for (int i = 0; i < a.n; i++)
            if (a.p[i].last_bar > t) t = a.p[i].last_bar;
        account_reset_kill(&a, t == INT64_MIN ? 0 : t);
    }

    long long seq0 = a.seq;
    long bars = run_bars(&a, ser, recs, nrec, horizon, &st, &eb);
    close_stdout();
    if (!quiet && a.seq == seq0)
        fprintf(stderr, "%s: no event: %s\n", progname,
                nrec == 0 ? "every order was run before (the state has it)"
                          : "no target changed a position and no bar reached a stop, a take-profit or a fee");
    if (!quiet) {
        char eq[32];
        fprintf(stderr, "%s: %ld bars, %ld orders, %lld events, equity %s%s\n", progname, bars, nrec, a.seq - seq0,
                fmt_double(eq, account_equity(&a)), a.killed ? " (kill switch on)" : "");
    }
    for (int i = 0; i < a.n; i++) free(ser[i].b);
    for (int i = 0; i < n_candles; i++) free(candle_pair[i]);
    free(eb.line);
    free(recs);
    for (int s = 0; s < nstreams; s++) free(names[s]);
    free(names);
    free(st.path);
    return 0;
}
