/* kml-report: execution events (sandbox or live) into an equity curve,
 * metrics.json, gnuplot PNG plots and one self-contained report.html.
 *
 *   kml-report [--benchmark buy-and-hold] [--candles PAIR=FILE]... [--decisions FILE]... -o DIR EVENTS...
 *
 * Options and I/O only: the replay and the statistics live in lib/report. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "csv.h"
#include "jsonl.h"
#include "out.h"
#include "pair.h"
#include "report/report.h"
#include "util.h"

/* Index of pair text in in->pair, adding it when absent (-1: not a pair). */
static int pair_index(report_input *in, const char *text, int add)
{
    kml_pair kp;
    if (pair_parse(text, &kp) != 0) return -1;
    for (int p = 0; p < in->npairs; p++)
        if (!strcmp(in->pair[p].name, kp.display)) return p;
    if (!add) return -2;
    if (in->npairs == RP_MAX_PAIRS) die(EX_DATAERR, "more than %d pairs", RP_MAX_PAIRS);
    rp_series *s = &in->pair[in->npairs];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", kp.display);
    snprintf(s->alt, sizeof s->alt, "%s", kp.altname);
    return in->npairs++;
}

/* A candles CSV (time and close by name; times strictly increasing). */
static void read_candles(rp_series *s, const char *path)
{
    csv_reader *r = csv_open(path);
    int ct = csv_col(r, "time"), cc = csv_col(r, "close");
    long cap = 1024;
    int64_t prev = INT64_MIN;
    s->t = xmalloc((size_t)cap * sizeof *s->t);
    s->close = xmalloc((size_t)cap * sizeof *s->close);
    while (csv_next(r)) {
        if (s->n == cap) {
            cap *= 2;
            s->t = xrealloc(s->t, (size_t)cap * sizeof *s->t);
            s->close = xrealloc(s->close, (size_t)cap * sizeof *s->close);
        }
        s->t[s->n] = csv_time_increasing(r, ct, &prev);
        s->close[s->n] = csv_double(r, cc);
        if (!(s->close[s->n] > 0)) csv_die(r, cc, "expected a positive price");
        s->n++;
    }
    if (s->n == 0) die(EX_DATAERR, "%s: no candles", display_name(path));
    csv_close(r);
}

/* Optional number member: NaN when absent or null; a located error when it
 * is something else. */
static double opt_num(const jsonl_reader *r, const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) return NAN;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) jsonl_die(r, "key '%s': expected a number", key);
    return v->valuedouble;
}

typedef struct {
    rp_event ev;
    double position; /* after the event, NaN when the event does not say */
    double side_dq;  /* the change its side and volume give, 0 when none */
    long seq;        /* input order, for a stable sort */
} raw_event;

static int cmp_raw(const void *a, const void *b)
{
    const raw_event *x = a, *y = b;
    if (x->ev.time != y->ev.time) return x->ev.time < y->ev.time ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Events of every file, merged by bar (stable). Pairs are added to in as met.
 * The change of a pair's position is its `position` member's difference
 * when the event has one, else the signed volume of a fill, stop,
 * take-profit or liquidation. */
static void read_events(report_input *in, char **paths, int npaths, char *mode, size_t modelen)
{
    raw_event *raw = NULL;
    long n = 0, cap = 0;
    for (int f = 0; f < npaths; f++) {
        jsonl_reader *r = jsonl_open(paths[f]);
        cJSON *o;
        int64_t prev = INT64_MIN;
        while ((o = jsonl_next(r))) {
            const char *kind = jsonl_str(r, o, "event");
            int k = rp_kind_parse(kind);
            if (k < 0) jsonl_die(r, "key 'event': unknown event \"%s\"", kind);
            double tm = jsonl_num(r, o, "time");
            if (tm != floor(tm)) jsonl_die(r, "key 'time': expected whole seconds");
            if ((int64_t)tm < prev) jsonl_die(r, "key 'time': %.0f is before the previous event's %lld", tm, (long long)prev);
            prev = (int64_t)tm;
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "mode");
            if (cJSON_IsString(m) && !*mode) snprintf(mode, modelen, "%s", m->valuestring);
            const cJSON *pj = cJSON_GetObjectItemCaseSensitive(o, "pair");
            if (!pj) { /* account-wide (kill, error): moves no position */
                cJSON_Delete(o);
                continue;
            }
            if (!cJSON_IsString(pj)) jsonl_die(r, "key 'pair': expected a string");
            int p = pair_index(in, pj->valuestring, 1);
            if (p < 0) jsonl_die(r, "key 'pair': not a pair: \"%s\"", pj->valuestring);
            if (n == cap) raw = xrealloc(raw, (size_t)(cap = cap ? 2 * cap : 1024) * sizeof *raw);
            raw_event *e = &raw[n];
            memset(e, 0, sizeof *e);
            e->seq = n++;
            e->ev.time = (int64_t)tm;
            e->ev.kind = k;
            e->ev.pair = p;
            e->ev.price = opt_num(r, o, "price");
            e->ev.fee = opt_num(r, o, "fee");
            if (isnan(e->ev.fee)) e->ev.fee = 0;
            e->ev.equity = opt_num(r, o, "equity");
            e->position = opt_num(r, o, "position");
            if (k == RP_FILL || k == RP_STOP || k == RP_TAKE_PROFIT || k == RP_LIQUIDATION) {
                double v = opt_num(r, o, "volume");
                const cJSON *sd = cJSON_GetObjectItemCaseSensitive(o, "side");
                if (isfinite(v) && v != 0) {
                    if (!cJSON_IsString(sd) || (strcmp(sd->valuestring, "buy") && strcmp(sd->valuestring, "sell")))
                        jsonl_die(r, "key 'side': expected \"buy\" or \"sell\"");
                    e->side_dq = strcmp(sd->valuestring, "buy") ? -v : v;
                }
            }
            int moves = isfinite(e->position) || e->side_dq != 0;
            if (moves && !(e->ev.price > 0) && (e->side_dq != 0))
                jsonl_die(r, "key 'price': expected a positive number for a %s", kind);
            cJSON_Delete(o);
        }
        jsonl_close(r);
    }
    qsort(raw, (size_t)n, sizeof *raw, cmp_raw);
    double q[RP_MAX_PAIRS] = {0};
    in->ev = xmalloc((size_t)(n ? n : 1) * sizeof *in->ev);
    in->nev = n;
    for (long i = 0; i < n; i++) {
        raw_event *e = &raw[i];
        int p = e->ev.pair;
        e->ev.dq = isfinite(e->position) ? e->position - q[p] : e->side_dq;
        if (isfinite(e->position))
            q[p] = e->position;
        else
            q[p] += e->side_dq;
        /* A live reconciliation adopting Kraken's position says no price:
         * the replay takes it at the bar's close. Anything else must. */
        if (e->ev.dq != 0 && !(e->ev.price > 0) && e->ev.kind != RP_RECONCILE)
            die(EX_DATAERR, "a %s event of %s at bar %lld changes the position without a price", rp_kind_names[e->ev.kind],
                in->pair[p].name, (long long)e->ev.time);
        in->ev[i] = e->ev;
    }
    free(raw);
}

/* Name index in a growing table of names. */
static int name_index(char ***names, int *n, const char *s)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp((*names)[i], s)) return i;
    *names = xrealloc(*names, (size_t)(*n + 1) * sizeof **names);
    (*names)[*n] = xstrdup(s);
    return (*n)++;
}

typedef struct {
    long dec;
    int strat;
    double w, s;
} dec_entry;

typedef struct {
    rp_decision d;
    long seq;
} raw_dec;

static int cmp_dec(const void *a, const void *b)
{
    const raw_dec *x = a, *y = b;
    if (x->d.time != y->d.time) return x->d.time < y->d.time ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Decisions JSONL: time, pair, regime, weights and signals by strategy. */
static void read_decisions(report_input *in, char **paths, int npaths, int *synthetic)
{
    raw_dec *raw = NULL;
    dec_entry *ent = NULL;
    long n = 0, cap = 0, ne = 0, ecap = 0;
    for (int f = 0; f < npaths; f++) {
        jsonl_reader *r = jsonl_open(paths[f]);
        cJSON *o;
        while ((o = jsonl_next(r))) {
            double tm = jsonl_num(r, o, "time");
            const char *ps = jsonl_str(r, o, "pair");
            int p = pair_index(in, ps, 0);
            if (p == -1) jsonl_die(r, "key 'pair': not a pair: \"%s\"", ps);
            const cJSON *src = cJSON_GetObjectItemCaseSensitive(o, "source");
            if (cJSON_IsString(src) && !strcmp(src->valuestring, "synthetic")) *synthetic = 1;
            if (p == -2) { /* a pair never traded and without candles */
                cJSON_Delete(o);
                continue;
            }
            if (n == cap) raw = xrealloc(raw, (size_t)(cap = cap ? 2 * cap : 1024) * sizeof *raw);
            raw_dec *d = &raw[n];
            memset(d, 0, sizeof *d);
            d->seq = n;
            d->d.time = (int64_t)tm;
            d->d.pair = p;
            d->d.regime = -1;
            const cJSON *rg = cJSON_GetObjectItemCaseSensitive(o, "regime");
            if (cJSON_IsString(rg)) d->d.regime = name_index(&in->regimes, &in->nregimes, rg->valuestring);
            else if (rg && !cJSON_IsNull(rg)) jsonl_die(r, "key 'regime': expected a string");
            const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "weights");
            const cJSON *sg = cJSON_GetObjectItemCaseSensitive(o, "signals");
            if (w && !cJSON_IsObject(w)) jsonl_die(r, "key 'weights': expected an object");
            if (w && !cJSON_IsObject(sg)) jsonl_die(r, "key 'signals': expected an object beside 'weights'");
            for (const cJSON *v = w ? w->child : NULL; v; v = v->next) {
                if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
                    jsonl_die(r, "key 'weights.%s': expected a number", v->string);
                const cJSON *s = cJSON_GetObjectItemCaseSensitive(sg, v->string);
                if (!cJSON_IsNumber(s) || !isfinite(s->valuedouble))
                    jsonl_die(r, "key 'signals.%s': expected a number for the weighted strategy", v->string);
                if (ne == ecap) ent = xrealloc(ent, (size_t)(ecap = ecap ? 2 * ecap : 4096) * sizeof *ent);
                ent[ne++] = (dec_entry){n, name_index(&in->strats, &in->nstrats, v->string), v->valuedouble,
                                        s->valuedouble};
            }
            n++;
            cJSON_Delete(o);
        }
        jsonl_close(r);
    }
    const int S = in->nstrats;
    double *wv = xcalloc((size_t)(n * S > 0 ? n * S : 1), sizeof *wv);
    double *sv = xcalloc((size_t)(n * S > 0 ? n * S : 1), sizeof *sv);
    for (long j = 0; j < ne; j++) {
        wv[ent[j].dec * S + ent[j].strat] = ent[j].w;
        sv[ent[j].dec * S + ent[j].strat] = ent[j].s;
    }
    for (long i = 0; i < n; i++) {
        raw[i].d.weight = wv + i * S;
        raw[i].d.signal = sv + i * S;
    }
    qsort(raw, (size_t)n, sizeof *raw, cmp_dec);
    in->dec = xmalloc((size_t)(n ? n : 1) * sizeof *in->dec);
    for (long i = 0; i < n; i++) in->dec[i] = raw[i].d;
    in->ndec = n;
    free(raw);
    free(ent);
}

enum { OPT_BENCH = 256, OPT_CANDLES, OPT_DECISIONS, OPT_CONFIG, OPT_CAPITAL, OPT_DATADIR, OPT_INTERVAL, OPT_NOPLOTS,
       OPT_TITLE };

int main(int argc, char **argv)
{
    set_progname(argv[0]);
    static const struct cli_opt opts[] = {
        {"benchmark", OPT_BENCH, "buy-and-hold", "the benchmark (buy and hold of the same allocation, the only one)"},
        {"candles", OPT_CANDLES, "PAIR=FILE", "a pair's candles (marks, benchmark, plots); repeatable"},
        {"decisions", OPT_DECISIONS, "FILE", "decisions JSONL (kml-predict): regimes and strategies; repeatable"},
        {"data-dir", OPT_DATADIR, "DIR", "candles of pairs without --candles: DIR/<ALTNAME>_<M>.csv (default historical_data)"},
        {"interval", OPT_INTERVAL, "M", "bar minutes of those files (default 60)"},
        {"config", OPT_CONFIG, "FILE", "trading configuration (allocation, initial capital, taker fee)"},
        {"capital", OPT_CAPITAL, "X", "equity at the start (default: the config's initial_capital)"},
        {"title", OPT_TITLE, "TEXT", "the report's title"},
        {"no-plots", OPT_NOPLOTS, NULL, "write no PNG (and no images in the HTML)"},
        {"output", 'o', "DIR", "directory for equity.csv, trades.csv, metrics.json, *.png, report.html"},
        {0}};
    const char *syn = "kml-report [--benchmark buy-and-hold] [--candles PAIR=FILE]... [--decisions FILE]... -o DIR "
                      "EVENTS...   (reads every event into memory; EVENTS '-' or none: stdin)";
    const char *out = NULL, *config_path = NULL, *data_dir = "historical_data", *title = "Backtest report";
    long interval = 60;
    double capital = NAN;
    int plots = 1;
    char **cand = NULL, **decs = NULL;
    int ncand = 0, ndecs = 0;
    int c;
    while ((c = cli_next(argc, argv, opts, syn)) != -1) {
        switch (c) {
        case OPT_BENCH:
            if (strcmp(optarg, "buy-and-hold")) cli_usage_error("--benchmark: only buy-and-hold is known, not '%s'", optarg);
            break;
        case OPT_CANDLES:
            if (!strchr(optarg, '=')) cli_usage_error("--candles: expected PAIR=FILE, not '%s'", optarg);
            cand = xrealloc(cand, (size_t)(ncand + 1) * sizeof *cand);
            cand[ncand++] = optarg;
            break;
        case OPT_DECISIONS:
            decs = xrealloc(decs, (size_t)(ndecs + 1) * sizeof *decs);
            decs[ndecs++] = optarg;
            break;
        case OPT_DATADIR: data_dir = optarg; break;
        case OPT_INTERVAL: interval = cli_long("interval", optarg, 1, 100000); break;
        case OPT_CONFIG: config_path = optarg; break;
        case OPT_CAPITAL: capital = cli_double("capital", optarg, 1e-9, 1e15); break;
        case OPT_TITLE: title = optarg; break;
        case OPT_NOPLOTS: plots = 0; break;
        case 'o': out = optarg; break;
        default: cli_usage_error("unexpected option");
        }
    }
    if (!out) cli_usage_error("needs -o DIR (where the report goes)");
    char *stdin_only[] = {"-"};
    char **evpaths = optind < argc ? argv + optind : stdin_only;
    int nev = optind < argc ? argc - optind : 1;

    kml_config cfg;
    config_load(&cfg, config_path);
    report_input in;
    memset(&in, 0, sizeof in);
    char *cand_path[RP_MAX_PAIRS] = {0};
    for (int i = 0; i < ncand; i++) {
        char *eq = strchr(cand[i], '=');
        *eq = 0;
        int p = pair_index(&in, cand[i], 1);
        if (p == -1) cli_usage_error("--candles: not a pair: '%s'", cand[i]);
        if (cand_path[p]) cli_usage_error("--candles: %s given twice", in.pair[p].name);
        cand_path[p] = eq + 1;
    }
    char mode[16] = "";
    read_events(&in, evpaths, nev, mode, sizeof mode);
    int synthetic = 0;
    if (ndecs) read_decisions(&in, decs, ndecs, &synthetic);
    for (int p = 0; p < in.npairs; p++) {
        char buf[4096];
        if (!cand_path[p]) {
            kml_pair kp;
            pair_parse(in.pair[p].name, &kp);
            pair_filename(&kp, (int)interval, data_dir, buf, sizeof buf);
            FILE *f = fopen(buf, "r");
            if (!f) die(EX_NOINPUT, "%s: no candles for %s (give --candles %s=FILE or --data-dir)", buf, in.pair[p].name,
                        in.pair[p].name);
            fclose(f);
            read_candles(&in.pair[p], buf);
        } else {
            read_candles(&in.pair[p], cand_path[p]);
        }
        const kml_asset *a = config_asset(&cfg, in.pair[p].name);
        if (!a) warn("%s is not in the configuration: the benchmark holds none of it", in.pair[p].name);
        in.alloc[p] = a ? a->allocation : 0;
    }
    if (in.npairs == 0) die(EX_DATAERR, "no event names a pair and no --candles given: nothing to report");
    /* Pairs in name order, whatever order the options and events named them
     * in: sums over pairs then run in one order, so the bytes do not depend
     * on how the candles were given. */
    int perm[RP_MAX_PAIRS], inv[RP_MAX_PAIRS];
    for (int p = 0; p < in.npairs; p++) perm[p] = p;
    for (int a = 1; a < in.npairs; a++)
        for (int b2 = a; b2 > 0 && strcmp(in.pair[perm[b2 - 1]].name, in.pair[perm[b2]].name) > 0; b2--) {
            int tmp = perm[b2];
            perm[b2] = perm[b2 - 1];
            perm[b2 - 1] = tmp;
        }
    rp_series sorted[RP_MAX_PAIRS];
    double alloc[RP_MAX_PAIRS];
    for (int p = 0; p < in.npairs; p++) {
        sorted[p] = in.pair[perm[p]];
        alloc[p] = in.alloc[perm[p]];
        inv[perm[p]] = p;
    }
    memcpy(in.pair, sorted, sizeof(rp_series) * (size_t)in.npairs);
    memcpy(in.alloc, alloc, sizeof(double) * (size_t)in.npairs);
    for (long k = 0; k < in.nev; k++) in.ev[k].pair = inv[in.ev[k].pair];
    for (long k = 0; k < in.ndec; k++) in.dec[k].pair = inv[in.dec[k].pair];
    in.capital = isfinite(capital) ? capital : cfg.initial_capital;
    in.bench_fee = cfg.taker_fee;

    report_result res;
    report_replay(&res, &in);
    if (res.eq_checked > 0 && res.eq_max_rel_diff > 1e-6)
        warn("the events' own equity differs from the marked curve by up to %.3g relative at bars ending flat "
             "(%ld compared): an event misses a cost or a price (docs/report.md)", res.eq_max_rel_diff, res.eq_checked);
    cJSON *metrics = report_metrics_json(&res, &in);
    cJSON *data = cJSON_GetObjectItemCaseSensitive(metrics, "data");
    cJSON_AddStringToObject(data, "mode", *mode ? mode : "unknown");
    cJSON_AddStringToObject(data, "source", synthetic ? "synthetic" : ndecs ? "real" : "unknown");
    mkdirs(out);
    report_write_files(out, &res, &in, metrics);
    report_opts ro = {.title = title, .plots = plots, .synthetic = synthetic};
    if (plots) report_plots(out, &res, &in, &ro);
    report_html(out, &res, &in, metrics, &ro);
    fprintf(stderr, "kml-report: %ld bars, %ld trades, final equity %.2f against buy and hold %.2f; wrote %s/report.html\n",
            res.n, res.ntrades, res.equity[res.n - 1], res.bench[res.n - 1], out);
    cJSON_Delete(metrics);
    report_result_free(&res);
    close_stdout();
    return 0;
}
