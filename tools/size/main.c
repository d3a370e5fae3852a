/* kml-size: decisions JSONL in, order targets JSONL out (docs/sizing.md).
 *
 *   kml-size [--config FILE] [-e ensemble.json] [--state FILE] [--ml-position-sizing]
 *            [--extreme-leverage] [--limits PAIRS.jsonl] [FILE]
 *
 * A streaming filter: one order line per decision line. The sizing itself is
 * lib/market/sizing.c; this file reads and checks the inputs (decisions,
 * ensemble thresholds, AssetPairs limits, the track-record state) and writes
 * the orders and the state. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "cli.h"
#include "config.h"
#include "jsonl.h"
#include "market/margin.h"
#include "market/sizing.h"
#include "pair.h"
#include "util.h"

enum { O_CONFIG = 'c', O_ENSEMBLE = 'e', O_STATE = 256, O_ML, O_EXTREME, O_LIMITS };

static const struct cli_opt opts[] = {
    {"config", O_CONFIG, "FILE", "trading configuration (default $KML_CONFIG or config/trading.json)"},
    {"ensemble", O_ENSEMBLE, "FILE", "ensemble.json: its thresholds.entry / min_confidence (else the config's sizing)"},
    {"state", O_STATE, "FILE", "track-record state, read at start and replaced after each decision"},
    {"ml-position-sizing", O_ML, NULL, "size by confidence, signal, volatility and track record (fractional Kelly)"},
    {"extreme-leverage", O_EXTREME, NULL, "use the pairs' extreme leverage ranges"},
    {"limits", O_LIMITS, "FILE", "Kraken's AssetPairs as kml-fetch pairs writes them: clamp leverage to them"},
    {0}};
static const char synopsis[] = "kml-size [--config FILE] [-e ensemble.json] [--state FILE] [--ml-position-sizing]\n"
                               "                [--extreme-leverage] [--limits PAIRS.jsonl] [FILE]\n\n"
                               "Decisions JSON lines in (FILE, or stdin), one order target a line out, streaming\n"
                               "(docs/sizing.md).";

typedef struct {
    const kml_asset *asset;
    size_track track;
    int64_t state_time; /* decisions at or before it were sized by an earlier run */
    int64_t last;       /* last decision time seen in this run; INT64_MIN: none */
    int have_limits;
    size_limits lim;
    int warned;
} pair_ctx;

typedef struct {
    int n;
    double *from, *to, *entry;
} windows;

/* What a die() on bad input leaves allocated stays reachable from here, so
 * LeakSanitizer does not report the exit paths as leaks (not static: the
 * compiler may drop stores to a static nothing reads). */
pair_ctx *kml_size_pairs;
cJSON *kml_size_input;

/* ---- small JSON checks ---- */

static char *shown(const cJSON *v) { return json_print(v, 0); }

KML_NORETURN static void bad_key(const jsonl_reader *r, const char *key, const char *want, const cJSON *v)
{
    char *t = shown(v);
    jsonl_die(r, "key '%s': expected %s, got %s", key, want, t);
}

static const cJSON *need(const jsonl_reader *r, const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) jsonl_die(r, "missing key '%s'", key);
    return v;
}

static double num_in(const jsonl_reader *r, const cJSON *o, const char *key, double lo, double hi, const char *want)
{
    const cJSON *v = need(r, o, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi)
        bad_key(r, key, want, v);
    return v->valuedouble;
}

/* ---- -e ensemble.json ---- */

KML_NORETURN KML_PRINTF(2, 3) static void bad_file(const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdie_at(EX_DATAERR, path, fmt, ap);
}

static int threshold(const char *path, const cJSON *obj, const char *key, const char *where, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble > 1) {
        char *t = shown(v);
        bad_file(path, "%s.%s: expected a number in [0, 1], got %s", where, key, t);
    }
    *out = v->valuedouble;
    return 1;
}

static void load_ensemble(const char *path, size_settings *s, windows *w)
{
    cJSON *root = json_load_file(path);
    if (!cJSON_IsObject(root)) bad_file(path, "$: expected an object");
    const cJSON *th = cJSON_GetObjectItemCaseSensitive(root, "thresholds");
    if (th && !cJSON_IsObject(th)) bad_file(path, "$.thresholds: expected an object");
    int have_entry = th && threshold(path, th, "entry", "$.thresholds", &s->entry_threshold);
    int have_conf = th && threshold(path, th, "min_confidence", "$.thresholds", &s->min_confidence);
    const cJSON *ws = cJSON_GetObjectItemCaseSensitive(root, "windows");
    if (ws) {
        if (!cJSON_IsArray(ws)) bad_file(path, "$.windows: expected an array");
        int n = cJSON_GetArraySize(ws), k = 0;
        w->from = xcalloc((size_t)n + 1, sizeof(double));
        w->to = xcalloc((size_t)n + 1, sizeof(double));
        w->entry = xcalloc((size_t)n + 1, sizeof(double));
        const cJSON *x;
        cJSON_ArrayForEach(x, ws)
        {
            char where[64];
            snprintf(where, sizeof where, "$.windows[%d]", k);
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(x, "from"), *t = cJSON_GetObjectItemCaseSensitive(x, "to");
            if (!cJSON_IsNumber(f) || !cJSON_IsNumber(t)) bad_file(path, "%s: expected numbers 'from' and 'to'", where);
            w->from[k] = f->valuedouble, w->to[k] = t->valuedouble;
            w->entry[k] = s->entry_threshold;
            threshold(path, x, "entry", where, &w->entry[k]);
            k++;
        }
        w->n = k;
    }
    if (!have_entry)
        warn("%s: no thresholds.entry: using the configuration's sizing.entry_threshold %g", path, s->entry_threshold);
    if (!have_conf)
        warn("%s: no thresholds.min_confidence: using the configuration's sizing.min_confidence %g", path,
             s->min_confidence);
    cJSON_Delete(root);
}

static double entry_at(const windows *w, int64_t t, double dflt)
{
    for (int i = 0; i < w->n; i++)
        if (w->from[i] <= (double)t && (double)t < w->to[i]) return w->entry[i];
    return dflt;
}

/* ---- --limits PAIRS.jsonl ---- */

static int read_levs(const jsonl_reader *r, const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *x;
    if (!v) return 0;
    if (!cJSON_IsArray(v)) bad_key(r, key, "an array of leverages", v);
    int n = 0;
    cJSON_ArrayForEach(x, v)
    {
        if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble) || x->valuedouble < 1)
            bad_key(r, key, "an array of leverages >= 1", v);
        if (n == SIZE_MAX_LEVS) bad_key(r, key, "at most 32 leverages", v);
        out[n++] = x->valuedouble;
    }
    /* ascending, whatever order the file lists them in */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            double t = out[j];
            out[j] = out[j - 1], out[j - 1] = t;
        }
    return n;
}

static void load_limits(const char *path, pair_ctx *pc, int n)
{
    jsonl_reader *r = jsonl_open(path);
    cJSON *o;
    while ((o = jsonl_next(r))) {
        if (!cJSON_IsObject(o)) jsonl_die(r, "expected a JSON object");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "pair");
        if (!p) p = cJSON_GetObjectItemCaseSensitive(o, "altname");
        if (!p) jsonl_die(r, "missing key 'pair'");
        if (!cJSON_IsString(p)) bad_key(r, p->string, "a pair name", p);
        kml_pair kp;
        if (pair_parse(p->valuestring, &kp) != 0) bad_key(r, p->string, "a pair name", p);
        size_limits l;
        memset(&l, 0, sizeof l);
        l.n_buy = read_levs(r, o, "leverage_buy", l.lev_buy);
        l.n_sell = read_levs(r, o, "leverage_sell", l.lev_sell);
        const cJSON *mc = cJSON_GetObjectItemCaseSensitive(o, "margin_call");
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(o, "margin_stop");
        if (mc || ms) {
            if (!mc || !ms) jsonl_die(r, "key '%s': missing (margin_call and margin_stop go together)", mc ? "margin_stop" : "margin_call");
            double call = num_in(r, o, "margin_call", 0, 100, "a percentage"), stop = num_in(r, o, "margin_stop", 0, 100, "a percentage");
            margin_params mp;
            margin_params_default(&mp);
            if (margin_params_set_levels_pct(&mp, call, stop) != 0)
                jsonl_die(r, "key 'margin_stop': %g is not in (0, margin_call %g)", stop, call);
            l.have_levels = 1, l.margin_call = mp.margin_call, l.margin_stop = mp.margin_stop;
        }
        for (int i = 0; i < n; i++)
            if (!strcmp(pc[i].asset->pair, kp.display)) pc[i].have_limits = 1, pc[i].lim = l;
        cJSON_Delete(o);
    }
    jsonl_close(r);
}

/* ---- --state ---- */

static void load_state(const char *path, pair_ctx *pc, int n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return; /* a first run */
        die(EX_NOINPUT, "%s:", path);
    }
    fclose(f);
    cJSON *root = json_load_file(path);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "kml-size-state"))
        bad_file(path, "$.format: expected \"kml-size-state\" (not a kml-size state file)");
    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(root, "pairs"), *p;
    if (!cJSON_IsObject(pairs)) bad_file(path, "$.pairs: expected an object");
    cJSON_ArrayForEach(p, pairs)
    {
        pair_ctx *c = NULL;
        for (int i = 0; i < n; i++)
            if (!strcmp(pc[i].asset->pair, p->string)) c = &pc[i];
        if (!c) continue; /* a pair this configuration no longer trades */
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "time"), *cl = cJSON_GetObjectItemCaseSensitive(p, "close");
        const cJSON *sd = cJSON_GetObjectItemCaseSensitive(p, "side"), *ex = cJSON_GetObjectItemCaseSensitive(p, "exposure");
        const cJSON *rs = cJSON_GetObjectItemCaseSensitive(p, "returns");
        if (!cJSON_IsNumber(t) || !cJSON_IsNumber(cl) || !cJSON_IsNumber(sd) || !cJSON_IsNumber(ex) ||
            !cJSON_IsArray(rs) || fabs(sd->valuedouble) > 1 || !(cl->valuedouble > 0))
            bad_file(path, "$.pairs.%s: expected time, close, side, exposure and returns", p->string);
        int nr = cJSON_GetArraySize(rs), k = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, rs)
        {
            if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble))
                bad_file(path, "$.pairs.%s.returns[%d]: expected a number", p->string, k);
            if (k++ < nr - c->track.cap) continue; /* keep the newest that fit the window */
            c->track.ret[c->track.head] = x->valuedouble;
            c->track.head = (c->track.head + 1) % c->track.cap;
            c->track.n++;
        }
        c->track.time = (int64_t)t->valuedouble;
        c->track.close = cl->valuedouble;
        c->track.side = (int)sd->valuedouble;
        c->track.exposure = ex->valuedouble;
        c->state_time = c->track.time;
    }
    cJSON_Delete(root);
}

static void save_state(const char *path, const pair_ctx *pc, int n)
{
    cJSON *o = cJSON_CreateObject(), *pairs;
    cJSON_AddStringToObject(o, "format", "kml-size-state");
    json_add_num(o, "version", 1);
    pairs = cJSON_AddObjectToObject(o, "pairs");
    for (int i = 0; i < n; i++) {
        const size_track *t = &pc[i].track;
        if (t->time == INT64_MIN) continue;
        cJSON *p = cJSON_AddObjectToObject(pairs, pc[i].asset->pair), *rs;
        json_add_num(p, "time", (double)t->time);
        json_add_num(p, "close", t->close);
        json_add_num(p, "side", t->side);
        json_add_num(p, "exposure", t->exposure);
        rs = cJSON_AddArrayToObject(p, "returns");
        int first = (t->head - t->n + t->cap) % t->cap;
        for (int k = 0; k < t->n; k++) cJSON_AddItemToArray(rs, cJSON_CreateNumber(t->ret[(first + k) % t->cap]));
    }
    char *text = json_print(o, 0);
    size_t len = strlen(text);
    text[len] = '\n';
    atomic_write(path, text, len + 1);
    free(text);
    cJSON_Delete(o);
}

/* A run killed between printing an order and replacing the state leaves
 * that order as the last whole line of its output. When stdout is a
 * non-empty regular file (a restart with >> onto its own output) and its
 * last whole line is an order after its pair's state, that order is replayed
 * into the track record (judge, then remember its target: exactly what
 * sizing it did) and its decision is not sized or printed again. */
static void replay_stdout_tail(pair_ctx *pc, int n)
{
    struct stat sb;
    if (fstat(STDOUT_FILENO, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) return;
    FILE *f = fopen("/proc/self/fd/1", "r");
    if (!f) return;
    long back = sb.st_size < 65536 ? (long)sb.st_size : 65536;
    char *buf = xmalloc((size_t)back + 1);
    size_t len = fseek(f, -back, SEEK_END) == 0 ? fread(buf, 1, (size_t)back, f) : 0;
    fclose(f);
    buf[len] = 0;
    while (len > 0 && buf[len - 1] != '\n') buf[--len] = 0; /* a partial last line is no order */
    if (len > 0) {
        buf[--len] = 0;
        char *line = strrchr(buf, '\n');
        cJSON *o = cJSON_Parse(line ? line + 1 : buf);
        const cJSON *tm = cJSON_GetObjectItemCaseSensitive(o, "time"), *pr = cJSON_GetObjectItemCaseSensitive(o, "pair");
        const cJSON *ex = cJSON_GetObjectItemCaseSensitive(o, "exposure"), *px = cJSON_GetObjectItemCaseSensitive(o, "price");
        if (cJSON_IsNumber(tm) && cJSON_IsString(pr) && cJSON_IsNumber(ex) && cJSON_IsNumber(px) &&
            isfinite(ex->valuedouble) && px->valuedouble > 0)
            for (int i = 0; i < n; i++) {
                int64_t t = (int64_t)tm->valuedouble;
                if (strcmp(pc[i].asset->pair, pr->valuestring) || t <= pc[i].state_time) continue;
                double e = ex->valuedouble;
                size_track_step(&pc[i].track, t, px->valuedouble, e > 0 ? 1 : e < 0 ? -1 : 0, fabs(e));
                pc[i].state_time = t;
            }
        cJSON_Delete(o);
    }
    free(buf);
}

/* ---- decisions ---- */

static pair_ctx *decision_pair(const jsonl_reader *r, const cJSON *o, pair_ctx *pc, int n, const kml_config *cfg)
{
    const cJSON *v = need(r, o, "pair");
    if (!cJSON_IsString(v)) bad_key(r, "pair", "a pair name such as \"SOL/USD\"", v);
    kml_pair kp;
    if (pair_parse(v->valuestring, &kp) != 0) bad_key(r, "pair", "a pair name such as \"SOL/USD\"", v);
    for (int i = 0; i < n; i++)
        if (!strcmp(pc[i].asset->pair, kp.display)) return &pc[i];
    char list[512] = "";
    for (int i = 0; i < cfg->n_assets; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", cfg->assets[i].pair);
    jsonl_die(r, "key 'pair': \"%s\" is not in the configuration's assets (%s)", v->valuestring, list);
}

static void warn_limits(pair_ctx *p, const size_settings *s)
{
    if (p->warned) return;
    p->warned = 1;
    const double *range = s->extreme ? p->asset->lev_extreme : p->asset->lev_default;
    double kb = p->lim.n_buy ? p->lim.lev_buy[p->lim.n_buy - 1] : 1;
    double ks = p->lim.n_sell ? p->lim.lev_sell[p->lim.n_sell - 1] : 0;
    char shorts[40];
    if (ks > 0) snprintf(shorts, sizeof shorts, "%gx", ks);
    else snprintf(shorts, sizeof shorts, "no");
    if (range[1] > kb || range[1] > ks)
        warn("%s: the %s leverage range asks up to %gx; Kraken allows %gx long and %s short: leverage is clamped",
             p->asset->pair, s->extreme ? "extreme" : "default", range[1], kb, shorts);
}

int main(int argc, char **argv)
{
    set_progname(argv[0]);
    const char *config_path = NULL, *ens_path = NULL, *state_path = NULL, *limits_path = NULL;
    int ml = 0, extreme = 0, c;
    while ((c = cli_next(argc, argv, opts, synopsis)) != -1) {
        switch (c) {
        case O_CONFIG: config_path = optarg; break;
        case O_ENSEMBLE: ens_path = optarg; break;
        case O_STATE: state_path = optarg; break;
        case O_ML: ml = 1; break;
        case O_EXTREME: extreme = 1; break;
        case O_LIMITS: limits_path = optarg; break;
        }
    }
    if (optind < argc - 1) cli_usage_error("unexpected operand '%s'", argv[optind + 1]);
    const char *path = optind < argc ? argv[optind] : NULL;

    kml_config cfg;
    config_load(&cfg, config_path);
    size_settings s;
    size_settings_from_config(&s, &cfg, ml, extreme);
    windows w = {0, NULL, NULL, NULL};
    if (ens_path) load_ensemble(ens_path, &s, &w);
    int n = cfg.n_assets;
    pair_ctx *pc = kml_size_pairs = xcalloc((size_t)n, sizeof *pc);
    for (int i = 0; i < n; i++) {
        pc[i].asset = &cfg.assets[i];
        size_track_init(&pc[i].track, s.track_window);
        pc[i].state_time = INT64_MIN;
        pc[i].last = INT64_MIN;
    }
    if (limits_path) load_limits(limits_path, pc, n);
    if (state_path) {
        load_state(state_path, pc, n);
        replay_stdout_tail(pc, n);
    }

    jsonl_reader *r = jsonl_open(path);
    cJSON *in;
    long rows = 0, skipped = 0;
    while ((in = kml_size_input = jsonl_next(r))) {
        if (!cJSON_IsObject(in)) jsonl_die(r, "expected a JSON object (a decision)");
        const cJSON *tv = need(r, in, "time");
        if (!cJSON_IsNumber(tv) || !isfinite(tv->valuedouble) || tv->valuedouble != floor(tv->valuedouble) ||
            fabs(tv->valuedouble) > 9e15)
            bad_key(r, "time", "an integer time in Unix seconds", tv);
        int64_t t = (int64_t)tv->valuedouble;
        pair_ctx *p = decision_pair(r, in, pc, n, &cfg);
        size_decision d = {t, p->asset->pair, 0, 0, 0, 0};
        d.close = num_in(r, in, "close", 1e-300, INFINITY, "a positive price");
        d.signal = num_in(r, in, "signal", -1, 1, "a number in [-1,1]");
        d.confidence = num_in(r, in, "confidence", 0, 1, "a number in [0,1]");
        d.volatility = num_in(r, in, "volatility", 0, INFINITY, "a number >= 0");
        const cJSON *src = need(r, in, "source");
        if (!cJSON_IsString(src) || (strcmp(src->valuestring, "real") && strcmp(src->valuestring, "synthetic")))
            bad_key(r, "source", "\"real\" or \"synthetic\"", src);
        if (p->last != INT64_MIN && t <= p->last)
            jsonl_die(r, "key 'time': %lld is not after the previous decision of %s (%lld)", (long long)t,
                      p->asset->pair, (long long)p->last);
        p->last = t;
        if (t <= p->state_time) { /* sized by an earlier run: nothing twice */
            skipped++;
            cJSON_Delete(in);
            continue;
        }
        if (p->have_limits) warn_limits(p, &s);
        else if (limits_path)
            jsonl_die(r, "key 'pair': %s has no entry in --limits %s", p->asset->pair, limits_path);
        size_settings sd = s;
        if (w.n) sd.entry_threshold = entry_at(&w, t, s.entry_threshold);
        /* judge the pair's previous target on this close before sizing */
        size_track_judge(&p->track, d.close);
        size_order o;
        size_compute(&o, &sd, p->asset, p->have_limits ? &p->lim : NULL, &p->track, &d);
        size_track_step(&p->track, t, d.close, o.side, o.exposure);

        cJSON *out = cJSON_CreateObject();
        json_add_num(out, "time", (double)t);
        cJSON_AddStringToObject(out, "pair", p->asset->pair);
        cJSON_AddStringToObject(out, "side", o.side > 0 ? "buy" : o.side < 0 ? "sell" : "flat");
        json_add_num(out, "exposure", o.exposure);
        json_add_num(out, "leverage", o.leverage);
        json_add_num(out, "price", o.price);
        json_add_num(out, "stop", o.stop);
        json_add_num(out, "take_profit", o.take_profit);
        json_add_num(out, "liquidation_price", o.liquidation);
        cJSON_AddStringToObject(out, "reason", o.reason);
        cJSON_AddStringToObject(out, "source", src->valuestring);
        json_add_num(out, "signal", d.signal);
        json_add_num(out, "confidence", d.confidence);
        json_add_num(out, "volatility", d.volatility);
        cJSON_AddBoolToObject(out, "exchange_checked", p->have_limits);
        jsonl_write(stdout, out);
        cJSON_Delete(out);
        cJSON_Delete(in);
        rows++;
        if (state_path) {
            fflush(stdout);
            save_state(state_path, pc, n);
        }
    }
    jsonl_close(r);
    /* Nothing to write: with --state a normal moment of a live loop (no new
     * bar, or bars already sized), said and exit 0, as kml-predict does;
     * without it, an error. */
    if (rows == 0) {
        if (skipped) warn("all %ld decisions were sized by an earlier run (--state %s): nothing to do", skipped, state_path);
        else if (state_path) warn("%s: no decisions in the input: nothing to do", display_name(path));
        else die(EX_DATAERR, "%s: no decisions in the input", display_name(path));
    } else if (skipped)
        warn("%ld decisions already sized by an earlier run (--state) skipped", skipped);
    for (int i = 0; i < n; i++) size_track_free(&pc[i].track);
    free(pc);
    free(w.from), free(w.to), free(w.entry);
    close_stdout();
    return 0;
}
