/* kml-features: candles CSV in, features CSV out (docs/features.md).
 *
 *   kml-features [options] [FILE]                 features, one row a bar
 *   kml-features --labels [options] [FILE]        ... plus the y_ labels
 *   kml-features --check-lookahead FILE [options] the proof of no look-ahead
 *
 * Options and I/O only; the features, labels and the check live in
 * lib/ta/feat.c, the indicators in lib/ta/ta.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "candles.h"
#include "cli.h"
#include "config.h"
#include "csv.h"
#include "dtoa.h"
#include "ta/feat.h"
#include "util.h"

enum { O_FEATURES = 256, O_LABELS, O_HORIZON, O_FLATVOL, O_FEE, O_BARRIER, O_UPPER, O_LOWER, O_LEVERAGE, O_MSTOP,
       O_MAXGAP, O_FILL, O_INTERVAL, O_CHECK, O_CUTS, O_CONFIG, O_LIST, O_QUIET };

static const struct cli_opt opts[] = {
    {"features", O_FEATURES, "LIST", "comma-separated feature columns, in order (default: the default set; 'all')"},
    {"list", O_LIST, NULL, "print every feature with its lookback and warm-up, then exit"},
    {"labels", O_LABELS, NULL, "append the y_ labels (they look into the future: training only)"},
    {"horizon", O_HORIZON, "H", "label horizon in bars (default 4)"},
    {"fee", O_FEE, "X", "y_class is flat when |move| <= X (default 2 x the config's taker fee, 0.0052)"},
    {"flat-vol", O_FLATVOL, "K", "y_class is flat when |move| <= K x rv_24 x sqrt(H) instead"},
    {"barrier", O_BARRIER, NULL, "triple-barrier labels y_tb, y_tb_bars (with --labels)"},
    {"upper", O_UPPER, "D", "upper barrier: a fraction (0.02) or volatility multiple (1.5v); default 1v"},
    {"lower", O_LOWER, "D", "lower barrier, same forms; default 1v"},
    {"leverage", O_LEVERAGE, "L", "lower barrier at the liquidation move (1 - margin stop) / L of the margin model"
                                  " (implies --barrier; columns y_tb_lev<L>, y_tb_lev<L>_bars)"},
    {"margin-stop", O_MSTOP, "X", "margin level of the liquidation (default: the config's margin.margin_stop, 0.4)"},
    {"max-gap", O_MAXGAP, "N", "missing bars bridged (or filled) before the indicators restart (default 0)"},
    {"fill", O_FILL, NULL, "fill gaps (up to --max-gap, default all) with the last close and zero volume"},
    {"interval", O_INTERVAL, "M", "bar length in minutes (default: the most common spacing of the first bars)"},
    {"check-lookahead", O_CHECK, "FILE", "run the look-ahead check on FILE; prints a report, exits 1 on failure"},
    {"cuts", O_CUTS, "N", "even cut points of the check where the future is changed (default 200)"},
    {"config", O_CONFIG, "FILE", "configuration (default $KML_CONFIG or config/trading.json)"},
    {"quiet", O_QUIET, NULL, "no note on stderr (the --fill summary, candles skipped after gaps)"},
    {0}};

static const char *synopsis =
    "kml-features [options] [FILE]\n"
    "Candles CSV (time,open,high,low,close,volume; vwap optional) on FILE or stdin -> features CSV on stdout:\n"
    "time,close,<features>[,<labels>]. Streams: keeps only the indicators' windows (and H rows with --labels).\n"
    "A row is written once every selected feature is defined and warmed up. Other input columns are not copied.";

static void list_features(void)
{
    int def[F_COUNT], nd = feat_default_set(def), in[F_COUNT] = {0};
    for (int i = 0; i < nd; i++) in[def[i]] = 1;
    printf("name,lookback,warmup,default\n");
    for (int i = 0; i < F_COUNT; i++) {
        const feat_info *f = feat_info_of(i);
        printf("%s,%d,%d,%d\n", f->name, f->lookback, f->warmup, in[i]);
    }
}

static void parse_features(feat_opts *o, const char *text)
{
    if (!strcmp(text, "all")) {
        o->nsel = F_COUNT;
        for (int i = 0; i < F_COUNT; i++) o->sel[i] = i;
        return;
    }
    if (!strcmp(text, "default")) {
        o->nsel = feat_default_set(o->sel);
        return;
    }
    int n;
    char **names = cli_split(text, &n);
    int seen[F_COUNT] = {0};
    o->nsel = 0;
    for (int i = 0; i < n; i++) {
        int id = feat_find(names[i]);
        if (id < 0) {
            char avail[2048];
            size_t len = 0;
            for (int k = 0; k < F_COUNT && len < sizeof avail - 40; k++)
                len += snprintf(avail + len, sizeof avail - len, "%s%s", k ? "," : "", feat_info_of(k)->name);
            cli_usage_error("--features: no feature '%s' (available: %s)", names[i], avail);
        }
        if (seen[id]) cli_usage_error("--features: '%s' is listed twice", names[i]);
        seen[id] = 1;
        o->sel[o->nsel++] = id;
    }
    free(names);
    if (o->nsel == 0) cli_usage_error("--features: the list is empty");
}

static feat_dist parse_dist(const char *opt, const char *text)
{
    feat_dist d;
    if (feat_parse_dist(text, &d) != 0)
        cli_usage_error("--%s: expected a fraction in (0, 1) such as 0.02, or a volatility multiple such as 1.5v, "
                        "not \"%s\"",
                        opt, text);
    return d;
}

/* ---- output ---- */

/* Rows are gathered in one large buffer and handed to stdio a block at a
 * time: one fwrite per block instead of per row, and a block larger than
 * stdio's own buffer goes straight to write(2) without another copy. */
#define OUT_BLOCK (1 << 20)

typedef struct {
    FILE *f;
    int nf, ny;
    char *buf;
    size_t cap, len; /* len bytes waiting; cap >= OUT_BLOCK + one row */
    size_t rowmax;   /* bound on one row's bytes, scratch included */
    /* The feature columns as runs printed in one ta_fmt_doubles() call,
     * and the columns with few values (hour_sin, ...) printed through a
     * memo of their texts: a run of len columns from start, memo[start]
     * for a memo column (len 0). */
    int nrun;
    struct { int start, len; } run[F_COUNT];
    ta_fmt_memo *memo; /* (nf) */
} writer;

static void writer_runs(writer *w, const feat_opts *o)
{
    w->memo = xcalloc((size_t)w->nf, sizeof *w->memo);
    w->nrun = 0;
    for (int i = 0; i < w->nf; i++) {
        if (feat_info_of(o->sel[i])->few_values) {
            ta_fmt_memo_init(&w->memo[i]);
            w->run[w->nrun].start = i, w->run[w->nrun++].len = 0;
        } else if (w->nrun > 0 && w->run[w->nrun - 1].len > 0) {
            w->run[w->nrun - 1].len++;
        } else {
            w->run[w->nrun].start = i, w->run[w->nrun++].len = 1;
        }
    }
}

static void writer_flush(writer *w)
{
    if (w->len) fwrite_unlocked(w->buf, 1, w->len, w->f); /* errors: close_stdout() reports them */
    w->len = 0;
}

/* A bad row later in the input exits through die(): the rows before it still
 * reach stdout, as they did when each row was written at once. */
static writer *pending_out;

static void flush_pending_out(void)
{
    if (pending_out) writer_flush(pending_out);
}

static void write_header(writer *w, const feat_opts *o)
{
    fputs("time,close", w->f);
    for (int i = 0; i < o->nsel; i++) fprintf(w->f, ",%s", feat_info_of(o->sel[i])->name);
    for (int i = 0; i < w->ny; i++) fprintf(w->f, ",%s", feat_label_name(o, i));
    fputc('\n', w->f);
}

/* One row appended to the block: doubles in their shortest round-trip text. */
static void emit(void *ctx, const feat_row *r)
{
    writer *w = ctx;
    if (w->cap - w->len < w->rowmax) writer_flush(w);
    char *p = w->buf + w->len;
    p += ta_fmt_int(p, r->time);
    p = ta_fmt_doubles(p, &r->close, 1);
    for (int k = 0; k < w->nrun; k++) {
        int j = w->run[k].start;
        p = w->run[k].len ? ta_fmt_doubles(p, r->f + j, w->run[k].len) : ta_fmt_memo_double(&w->memo[j], p, r->f[j]);
    }
    p = ta_fmt_doubles(p, r->y, w->ny);
    *p++ = '\n';
    w->len = (size_t)(p - w->buf);
    ASSERT(w->len <= w->cap);
}

/* ---- streaming ---- */

#define INFER_BARS 1000

typedef struct {
    feat_bar b;
    long line;
} lined_bar;

static void push_or_die(feat_engine *e, const feat_bar *b, const char *file, long line, const feat_opts *o)
{
    int rc = feat_push(e, b);
    if (rc == FEAT_EGRID)
        die(EX_DATAERR,
            "%s:%ld: column 'time': %lld is not a whole number of %lld-minute bars after the previous bar (give "
            "--interval)",
            file, line, (long long)b->time, (long long)(o->interval / 60));
    ASSERT(rc == FEAT_OK); /* the reader already checked the order */
}

/* "the default features", "the selected features with labels", ... */
static const char *which_features(const feat_opts *o, char *buf, size_t n)
{
    int def[F_COUNT], nd = feat_default_set(def);
    const char *w = "the selected features";
    if (nd == o->nsel && !memcmp(def, o->sel, (size_t)nd * sizeof *def)) w = "the default features";
    else if (o->nsel == F_COUNT) w = "all the features";
    snprintf(buf, n, "%s%s", w, o->labels ? " with labels" : "");
    return buf;
}

/* No row at all: say why, and what to do, in one line (exit 65). */
KML_NORETURN static void no_row(const char *file, const feat_opts *o, const feat_stats *st, long need)
{
    char what[64];
    which_features(o, what, sizeof what);
    if (st->bars < need) {
        int64_t iv = o->interval > 0 ? o->interval : 3600;
        long days = (long)((need * iv + 86399) / 86400) + 1;
        die(EX_DATAERR, "%s: %ld candles, %s need at least %ld (warm-up); fetch more history: kml-fetch update --days %ld",
            file, st->bars, what, need, days);
    }
    die(EX_DATAERR,
        "%s: %ld candles, but %ld gaps of more than %ld missing bars (--max-gap) restart the warm-up and no stretch "
        "between them reaches the %ld candles %s need; bridge gaps with --max-gap N or fill them with --fill",
        file, st->bars, st->restarts, o->max_gap, need, what);
}

static void run_stream(const char *path, feat_opts *o, int quiet_stats)
{
    csv_reader *r = csv_open(path);
    const char *file = csv_path(r);
    feat_cols c;
    feat_cols_init(&c, r);
    /* Without --interval, the bar length is the most common spacing of the
     * first bars: they are held back until it is known. */
    lined_bar *head = NULL;
    long nhead = 0;
    if (o->interval == 0) {
        head = xmalloc(INFER_BARS * sizeof *head);
        while (nhead < INFER_BARS && feat_read_bar(r, &c, &head[nhead].b)) head[nhead].line = csv_line(r), nhead++;
        int64_t *t = xmalloc((nhead + 1) * sizeof *t);
        for (long i = 0; i < nhead; i++) t[i] = head[i].b.time;
        o->interval = candles_infer_interval(t, nhead);
        free(t);
    }
    writer w = {.f = stdout, .nf = o->nsel, .ny = feat_nlabels(o)};
    w.rowmax = 32 * (size_t)(2 + w.nf + w.ny) + 64; /* ta_fmt_double may use 40 bytes */
    w.cap = OUT_BLOCK + w.rowmax;
    w.buf = xmalloc(w.cap);
    writer_runs(&w, o);
    pending_out = &w;
    atexit(flush_pending_out);
    write_header(&w, o);
    feat_engine *e = feat_new(o, emit, &w);
    for (long i = 0; i < nhead; i++) push_or_die(e, &head[i].b, file, head[i].line, o);
    free(head);
    feat_bar b;
    while (feat_read_bar(r, &c, &b)) push_or_die(e, &b, file, csv_line(r), o);
    feat_finish(e);
    writer_flush(&w);
    pending_out = NULL;
    const feat_stats *st = feat_get_stats(e);
    if (st->rows == 0) no_row(file, o, st, feat_min_bars(e));
    if (st->short_segments > 0 && !quiet_stats) {
        char what[64];
        warn("%s: %ld candles skipped: %ld stretches between gaps are shorter than the %ld candles %s need "
             "(warm-up) and gave no row; --max-gap N bridges gaps, --fill fills them",
             file, st->short_bars, st->short_segments, feat_min_bars(e), which_features(o, what, sizeof what));
    }
    /* Filling invents bars: say so, once, on stderr. */
    if (o->fill && st->filled > 0 && !quiet_stats)
        warn("%s: filled %ld missing bars in %ld gaps with the last close and zero volume (--fill)", file,
             st->filled, st->gaps);
    feat_free(e);
    csv_close(r);
    free(w.buf);
    free(w.memo);
}

int main(int argc, char **argv)
{
    set_progname(argv[0]);
    feat_opts o;
    feat_opts_default(&o);
    const char *check = NULL, *config_path = NULL;
    double fee = NAN, mstop = NAN;
    int ncuts = 200, max_gap_set = 0, upper_set = 0, lower_set = 0, quiet = 0;
    int c;
    while ((c = cli_next(argc, argv, opts, synopsis)) != -1) {
        switch (c) {
        case O_FEATURES: parse_features(&o, optarg); break;
        case O_LIST: list_features(); close_stdout(); return 0;
        case O_LABELS: o.labels = 1; break;
        case O_HORIZON: o.horizon = (int)cli_long("horizon", optarg, 1, 100000); break;
        case O_FEE: fee = cli_double("fee", optarg, 0, 1); break;
        case O_FLATVOL: o.flat_vol = cli_double("flat-vol", optarg, 1e-12, 1e6); break;
        case O_BARRIER: o.barrier = 1; break;
        case O_UPPER: o.upper = parse_dist("upper", optarg), upper_set = 1; break;
        case O_LOWER: o.lower = parse_dist("lower", optarg), lower_set = 1; break;
        case O_LEVERAGE: o.leverage = cli_double("leverage", optarg, 1, 1e6), o.barrier = 1; break;
        case O_MSTOP: mstop = cli_double("margin-stop", optarg, 0, 0.99); break;
        case O_MAXGAP: o.max_gap = cli_long("max-gap", optarg, 0, 1000000000L), max_gap_set = 1; break;
        case O_FILL: o.fill = 1; break;
        case O_INTERVAL: o.interval = 60 * (int64_t)cli_long("interval", optarg, 1, 60L * 24 * 365); break;
        case O_CHECK: check = optarg; break;
        case O_CUTS: ncuts = (int)cli_long("cuts", optarg, 1, 100000); break;
        case O_CONFIG: config_path = optarg; break;
        case O_QUIET: quiet = 1; break;
        }
    }
    if (optind < argc - 1) cli_usage_error("unexpected operand '%s'", argv[optind + 1]);
    const char *path = optind < argc ? argv[optind] : NULL;
    if (check && path) cli_usage_error("--check-lookahead FILE takes no other operand ('%s')", path);
    if (o.barrier && !o.labels && !check) cli_usage_error("--barrier and --leverage need --labels");
    if ((o.flat_vol > 0 || !isnan(fee) || upper_set || lower_set) && !o.labels && !check)
        cli_usage_error("label options need --labels");
    if (o.leverage > 0 && lower_set)
        cli_usage_error("--lower and --leverage both set the lower barrier: give one");
    kml_config cfg;
    config_load(&cfg, config_path);
    o.flat_fee = isnan(fee) ? 2 * cfg.taker_fee : fee;
    margin_params_from_config(&o.margin, &cfg);
    if (!isnan(mstop)) o.margin.margin_stop = mstop;
    /* --fill alone fills every gap; with --max-gap only the gaps up to it. */
    if (o.fill && !max_gap_set) o.max_gap = 1000000000L;

    if (check) {
        long n;
        feat_bar *bars = feat_read_all(check, &n);
        if (o.interval == 0) {
            long m = n < INFER_BARS ? n : INFER_BARS;
            int64_t *t = xmalloc((m + 1) * sizeof *t);
            for (long i = 0; i < m; i++) t[i] = bars[i].time;
            o.interval = candles_infer_interval(t, m);
            free(t);
        }
        if (o.interval > 0)
            for (long i = 1; i < n; i++)
                if ((bars[i].time - bars[i - 1].time) % o.interval)
                    die(EX_DATAERR, "%s:%ld: column 'time': %lld is not a whole number of %lld-minute bars after the "
                                    "previous bar (give --interval)",
                        check, i + 2, (long long)bars[i].time, (long long)(o.interval / 60));
        int rc = feat_check_lookahead(bars, n, &o, ncuts, check, stdout);
        free(bars);
        close_stdout();
        return rc;
    }
    run_stream(path, &o, quiet);
    close_stdout();
    return 0;
}
