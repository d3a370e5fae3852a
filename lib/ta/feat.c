/* feat.c: the feature and label engine (see feat.h and docs/features.md). */
#include "ta/feat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ta/ta.h"
#include "util.h"

/* ---- the feature table ---- */

static feat_info table[F_COUNT] = {
    [F_RET_1] = {"ret_1", 1, 0, 1},
    [F_RET_2] = {"ret_2", 2, 0, 1},
    [F_RET_4] = {"ret_4", 4, 0, 1},
    [F_RET_8] = {"ret_8", 8, 0, 1},
    [F_RET_16] = {"ret_16", 16, 0, 1},
    [F_RET_24] = {"ret_24", 24, 0, 1},
    [F_RV_12] = {"rv_12", 12, 0, 1},
    [F_RV_24] = {"rv_24", 24, 0, 1},
    [F_RV_72] = {"rv_72", 72, 0, 1},
    [F_PARK_4] = {"park_4", 3, 0, 1},
    [F_PARK_24] = {"park_24", 23, 0, 1},
    [F_GK_24] = {"gk_24", 23, 0, 1},
    [F_RSI_14] = {"rsi_14", 14, -1, 1},
    [F_NATR_14] = {"natr_14", 14, -1, 1},
    [F_ADX_14] = {"adx_14", 27, -1, 1},
    [F_PLUS_DI_14] = {"plus_di_14", 14, -1, 1},
    [F_MINUS_DI_14] = {"minus_di_14", 14, -1, 1},
    [F_CCI_20] = {"cci_20", 19, 0, 1},
    [F_WILLR_14] = {"willr_14", 13, 0, 1},
    [F_MFI_14] = {"mfi_14", 14, 0, 1},
    [F_ROC_10] = {"roc_10", 10, 0, 1},
    [F_STOCH_K] = {"stoch_k", 17, 0, 1},
    [F_STOCH_D] = {"stoch_d", 17, 0, 1},
    [F_BB_PCTB_20] = {"bb_pctb_20", 19, 0, 1},
    [F_BB_WIDTH_20] = {"bb_width_20", 19, 0, 1},
    [F_MACD_N] = {"macd_n", 33, -1, 1},
    [F_MACD_SIGNAL_N] = {"macd_signal_n", 33, -1, 1},
    [F_MACD_HIST_N] = {"macd_hist_n", 33, -1, 1},
    [F_EMA_RATIO_12] = {"ema_ratio_12", 11, -1, 1},
    [F_EMA_RATIO_26] = {"ema_ratio_26", 25, -1, 1},
    [F_EMA_RATIO_50] = {"ema_ratio_50", 49, -1, 1},
    [F_EMA_RATIO_200] = {"ema_ratio_200", 199, -1, 0},
    [F_OBV_Z_24] = {"obv_z_24", 47, 0, 1},
    [F_VOL_Z_24] = {"vol_z_24", 23, 0, 1},
    [F_VWAP_DEV] = {"vwap_dev", 0, 0, 1},
    [F_DONCHIAN_POS_20] = {"donchian_pos_20", 19, 0, 1},
    [F_HOUR_SIN] = {"hour_sin", 0, 0, 1, 1},
    [F_HOUR_COS] = {"hour_cos", 0, 0, 1, 1},
    [F_DOW_SIN] = {"dow_sin", 0, 0, 1, 1},
    [F_DOW_COS] = {"dow_cos", 0, 0, 1, 1},
};

/* Warm-ups of the recursive features (bars beyond the lookback). Each is the
 * number of bars over which the slowest recursion in the feature forgets its
 * start to FEAT_WARMUP_TOL. ADX smooths an already smoothed quantity (DX of
 * Wilder sums), so its start error decays like k (1 - 1/14)^k: three more
 * decades cover the factor k. MACD's signal line smooths the MACD line again:
 * two more decades. */
static int w_wilder, w_adx, w_macd, w_ema12, w_ema26, w_ema50, w_ema200;

static void init_table(void)
{
    static int done;
    if (done) return;
    done = 1;
    w_wilder = ta_warmup(1.0 / 14, FEAT_WARMUP_TOL);
    w_adx = ta_warmup(1.0 / 14, FEAT_WARMUP_TOL * 1e-3);
    w_macd = ta_warmup(2.0 / 27, FEAT_WARMUP_TOL * 1e-2);
    w_ema12 = ta_warmup(2.0 / 13, FEAT_WARMUP_TOL);
    w_ema26 = ta_warmup(2.0 / 27, FEAT_WARMUP_TOL);
    w_ema50 = ta_warmup(2.0 / 51, FEAT_WARMUP_TOL);
    w_ema200 = ta_warmup(2.0 / 201, FEAT_WARMUP_TOL);
    table[F_RSI_14].warmup = table[F_NATR_14].warmup = w_wilder;
    table[F_PLUS_DI_14].warmup = table[F_MINUS_DI_14].warmup = table[F_ADX_14].warmup = w_adx;
    table[F_MACD_N].warmup = table[F_MACD_SIGNAL_N].warmup = table[F_MACD_HIST_N].warmup = w_macd;
    table[F_EMA_RATIO_12].warmup = w_ema12;
    table[F_EMA_RATIO_26].warmup = w_ema26;
    table[F_EMA_RATIO_50].warmup = w_ema50;
    table[F_EMA_RATIO_200].warmup = w_ema200;
    /* The lookbacks above are the indicators' own, checked here once. */
    ASSERT(table[F_RSI_14].lookback == ta_rsi_lookback(14, 0));
    ASSERT(table[F_NATR_14].lookback == ta_atr_lookback(14, 0));
    ASSERT(table[F_ADX_14].lookback == ta_adx_lookback(14, 0));
    ASSERT(table[F_PLUS_DI_14].lookback == ta_di_lookback(14, 0));
    ASSERT(table[F_CCI_20].lookback == ta_cci_lookback(20));
    ASSERT(table[F_WILLR_14].lookback == ta_willr_lookback(14));
    ASSERT(table[F_MFI_14].lookback == ta_mfi_lookback(14));
    ASSERT(table[F_ROC_10].lookback == ta_roc_lookback(10));
    ASSERT(table[F_STOCH_K].lookback == ta_stoch_lookback(14, 3, 3));
    ASSERT(table[F_BB_PCTB_20].lookback == ta_bbands_lookback(20));
    ASSERT(table[F_MACD_N].lookback == ta_macd_lookback(12, 26, 9, 0));
    ASSERT(table[F_EMA_RATIO_200].lookback == ta_ema_lookback(200, 0));
    ASSERT(table[F_PARK_4].lookback == ta_rangevol_lookback(4));
    ASSERT(table[F_PARK_24].lookback == ta_rangevol_lookback(24));
    ASSERT(table[F_VOL_Z_24].lookback == ta_zscore_lookback(24));
    ASSERT(table[F_RV_24].lookback == 1 + ta_stddev_lookback(24));
    ASSERT(table[F_OBV_Z_24].lookback == 24 + ta_zscore_lookback(24));
    ASSERT(table[F_DONCHIAN_POS_20].lookback == ta_hilo_lookback(20));
}

const feat_info *feat_info_of(int id)
{
    ASSERT(id >= 0 && id < F_COUNT);
    init_table();
    return &table[id];
}

int feat_find(const char *name)
{
    for (int i = 0; i < F_COUNT; i++)
        if (!strcmp(table[i].name, name)) return i;
    return -1;
}

int feat_default_set(int *ids)
{
    int n = 0;
    for (int i = 0; i < F_COUNT; i++)
        if (table[i].in_default) ids[n++] = i;
    return n;
}

int feat_first_row(const int *ids, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        const feat_info *f = feat_info_of(ids[i]);
        if (f->lookback + f->warmup > m) m = f->lookback + f->warmup;
    }
    return m;
}

void feat_opts_default(feat_opts *o)
{
    memset(o, 0, sizeof *o);
    o->nsel = feat_default_set(o->sel);
    o->interval = 0;
    o->max_gap = 0;
    o->horizon = 4;
    o->flat_fee = 2 * 0.0026;
    o->upper = (feat_dist){0, 1};
    o->lower = (feat_dist){0, 1};
    margin_params_default(&o->margin);
}

int feat_parse_dist(const char *s, feat_dist *d)
{
    size_t n = strlen(s);
    int vol = n > 1 && s[n - 1] == 'v';
    char buf[64];
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, s, n + 1);
    if (vol) buf[n - 1] = 0;
    double x;
    if (parse_double(buf, &x) != 0 || !(x > 0)) return -1;
    if (!vol && x >= 1) return -1;
    d->frac = vol ? 0 : x;
    d->vol = vol ? x : 0;
    return 0;
}

int feat_nlabels(const feat_opts *o)
{
    return o->labels ? (o->barrier ? 4 : 2) : 0;
}

const char *feat_label_name(const feat_opts *o, int i)
{
    static char buf[32];
    switch (i) {
    case 0: snprintf(buf, sizeof buf, "y_ret_%d", o->horizon); return buf;
    case 1: return "y_class";
    /* With --leverage the barrier labels carry the leverage in their name
     * (y_tb_lev85), so label sets for several leverages can sit side by side
     * and kml-train --extreme-leverage finds the one it asks for. */
    case 2:
        if (o->leverage > 0) snprintf(buf, sizeof buf, "y_tb_lev%g", o->leverage);
        else return "y_tb";
        return buf;
    case 3:
        if (o->leverage > 0) snprintf(buf, sizeof buf, "y_tb_lev%g_bars", o->leverage);
        else return "y_tb_bars";
        return buf;
    }
    ASSERT(0 && "no such label");
    return NULL;
}

/* ---- the engine ---- */

typedef struct {
    int64_t time;
    long index, bar;     /* input index; bar number within the segment */
    double close, upper, lower, volh;
    int tb, tb_bars;     /* tb < 0: no barrier touched yet */
    double *f;           /* nsel values */
} pending;

struct feat_engine {
    feat_opts o;
    feat_emit_fn emit;
    void *ctx;
    feat_stats st;
    double liq_move; /* leverage > 0: the lower barrier, margin_liquidation_move */
    /* need and def as bytes (0 or 1), padded to whole 64-bit words, so
     * that "every needed feature defined" is a few word operations */
#define FLAG_WORDS ((F_COUNT + 7) / 8)
    unsigned char need[8 * FLAG_WORDS]; /* must be defined for a row */
    /* the selected features as runs of consecutive ids: row[k] = v[sel[k]] by a few copies */
    int nruns;
    struct { int from, len; } runs[F_COUNT];
    /* indicators */
    ta_ring closes;       /* last 25 closes, for returns */
    ta_ring rets;         /* last 72 one-bar log returns: rv_12, rv_24, rv_72 */
    ta_rangevol park4, park, gk;
    ta_rsi rsi;
    ta_atr atr;
    ta_dmi dmi;
    ta_cci cci;
    ta_willr willr;
    ta_mfi mfi;
    ta_roc roc;
    ta_stoch stoch;
    ta_bbands bb;
    ta_macd macd;
    ta_ema ema12, ema26, ema50, ema200;
    ta_ring obv;          /* signed volumes, 24 */
    ta_zscore obvz, volz;
    ta_hilo don;
    /* the current bar's values */
    double v[F_COUNT];
    /* sin and cos of the time of day, remembered per minute of the day
     * (bars repeat the same few times of day) */
    struct { int64_t sod; double s, c; } hour[1440];
    int last_dow;
    double dow_sin, dow_cos;
    unsigned char def[8 * FLAG_WORDS];
    /* segment */
    long segbar;          /* bars seen in the segment */
    long first_row;       /* segbar of a segment's first row: max lookback + warm-up over need */
    long win_from;        /* segbar from which the windowed indicators run (see compute) */
    int have_prev;
    feat_bar prev;
    long next_index;      /* index of the next input bar */
    long seg_rows0, seg_bars0; /* st.rows and st.bars when the segment began */
    /* labels */
    pending *q;
    int qcap, qhead, qlen;
    double *qf;           /* storage for the queue's features */
    double y[4];
};

static void engine_reset(feat_engine *e)
{
    ta_ring_clear(&e->closes);
    ta_ring_clear(&e->rets);
    ta_rangevol_reset(&e->park4);
    ta_rangevol_reset(&e->park);
    ta_rangevol_reset(&e->gk);
    ta_rsi_reset(&e->rsi);
    ta_atr_reset(&e->atr);
    ta_dmi_reset(&e->dmi);
    ta_cci_reset(&e->cci);
    ta_willr_reset(&e->willr);
    ta_mfi_reset(&e->mfi);
    ta_roc_reset(&e->roc);
    ta_stoch_reset(&e->stoch);
    ta_bbands_reset(&e->bb);
    ta_macd_reset(&e->macd);
    ta_ema_reset(&e->ema12);
    ta_ema_reset(&e->ema26);
    ta_ema_reset(&e->ema50);
    ta_ema_reset(&e->ema200);
    ta_ring_clear(&e->obv);
    ta_zscore_reset(&e->obvz);
    ta_zscore_reset(&e->volz);
    ta_hilo_reset(&e->don);
    e->segbar = 0;
    e->qlen = 0;
    e->seg_rows0 = e->st.rows;
    e->seg_bars0 = e->st.bars;
}

/* A segment ends (restart or end of input): count it when it gave no row. */
static void segment_end(feat_engine *e)
{
    if (e->st.bars > e->seg_bars0 && e->st.rows == e->seg_rows0) {
        e->st.short_segments++;
        e->st.short_bars += e->st.bars - e->seg_bars0;
    }
}

feat_engine *feat_new(const feat_opts *o, feat_emit_fn emit, void *ctx)
{
    init_table();
    ASSERT(o->nsel >= 1 && o->nsel <= F_COUNT && o->horizon >= 1);
    feat_engine *e = xcalloc(1, sizeof *e);
    e->o = *o;
    /* the liquidation move of the margin model, once (not per row) */
    e->liq_move = o->leverage > 0 ? margin_liquidation_move(&o->margin, o->leverage) : 0;
    ASSERT(o->leverage <= 0 || e->liq_move > 0);
    e->emit = emit;
    e->ctx = ctx;
    for (int i = 0; i < 1440; i++) e->hour[i].sod = -1;
    e->last_dow = -1;
    for (int i = 0; i < o->nsel; i++) e->need[o->sel[i]] = 1;
    /* Labels that scale with volatility need rv_24 on the row. */
    if (o->labels && (o->flat_vol > 0 || (o->barrier && (o->upper.vol > 0 || (o->leverage <= 0 && o->lower.vol > 0)))))
        e->need[F_RV_24] = 1;
    /* A feature without warm-up is windowed: its value at bar t depends
     * only on bars t - lookback .. t. Started lw bars (the longest such
     * lookback) before the first row, exactly as if the segment began
     * there, they give every row the same values as when run from the
     * segment's start, and the bars before (32 % of XBTUSD_60's, which has
     * a warm-up after each of its 3254 gaps) cost only the recursive
     * averages, whose state must run from the start. */
    int lw = 0, need_ids[F_COUNT], nneed = 0;
    for (int i = 0; i < F_COUNT; i++) {
        if (table[i].warmup == 0 && table[i].lookback > lw) lw = table[i].lookback;
        if (e->need[i]) need_ids[nneed++] = i;
    }
    e->first_row = feat_first_row(need_ids, nneed);
    for (int i = 0; i < o->nsel; i++) {
        if (e->nruns > 0 && e->runs[e->nruns - 1].from + e->runs[e->nruns - 1].len == o->sel[i])
            e->runs[e->nruns - 1].len++;
        else
            e->runs[e->nruns].from = o->sel[i], e->runs[e->nruns++].len = 1;
    }
    e->win_from = e->first_row > lw ? e->first_row - lw : 0;
    ta_ring_init(&e->closes, 25);
    ta_ring_init(&e->rets, 72);
    ta_parkinson_init(&e->park4, 4);
    ta_parkinson_init(&e->park, 24);
    ta_garman_klass_init(&e->gk, 24);
    ta_rsi_init(&e->rsi, 14, w_wilder);
    ta_atr_init(&e->atr, 14, w_wilder);
    ta_dmi_init(&e->dmi, 14, w_adx);
    ta_cci_init(&e->cci, 20);
    ta_willr_init(&e->willr, 14);
    ta_mfi_init(&e->mfi, 14);
    ta_roc_init(&e->roc, 10);
    ta_stoch_init(&e->stoch, 14, 3, 3);
    ASSERT(e->stoch.hl.n == e->willr.hl.n); /* STOCH reads WILLR's 14-bar high and low */
    ta_bbands_init(&e->bb, 20, 2.0);
    ta_macd_init(&e->macd, 12, 26, 9, w_macd);
    ta_ema_init(&e->ema12, 12, w_ema12);
    ta_ema_init(&e->ema26, 26, w_ema26);
    ta_ema_init(&e->ema50, 50, w_ema50);
    ta_ema_init(&e->ema200, 200, w_ema200);
    ta_ring_init(&e->obv, 24);
    ta_zscore_init(&e->obvz, 24);
    ta_zscore_init(&e->volz, 24);
    ta_hilo_init(&e->don, 20);
    if (o->labels) {
        e->qcap = o->horizon + 1;
        e->q = xcalloc(e->qcap, sizeof *e->q);
        e->qf = xcalloc((size_t)e->qcap * o->nsel, sizeof *e->qf);
        for (int i = 0; i < e->qcap; i++) e->q[i].f = e->qf + (size_t)i * o->nsel;
    }
    engine_reset(e);
    return e;
}

void feat_free(feat_engine *e)
{
    if (!e) return;
    ta_ring_free(&e->closes);
    ta_ring_free(&e->rets);
    ta_rangevol_free(&e->park4);
    ta_rangevol_free(&e->park);
    ta_rangevol_free(&e->gk);
    ta_cci_free(&e->cci);
    ta_willr_free(&e->willr);
    ta_mfi_free(&e->mfi);
    ta_roc_free(&e->roc);
    ta_stoch_free(&e->stoch);
    ta_bbands_free(&e->bb);
    ta_ring_free(&e->obv);
    ta_zscore_free(&e->obvz);
    ta_zscore_free(&e->volz);
    ta_hilo_free(&e->don);
    free(e->q);
    free(e->qf);
    free(e);
}

const feat_stats *feat_get_stats(const feat_engine *e) { return &e->st; }

long feat_min_bars(const feat_engine *e) { return e->first_row + 1 + (e->o.labels ? e->o.horizon : 0); }

/* Every ring buffer the engine owns (feat_clone copies them); returns the count. */
static int engine_rings(feat_engine *e, ta_ring **r)
{
    int n = 0;
    r[n++] = &e->closes;
    r[n++] = &e->rets;
    r[n++] = &e->park4.r, r[n++] = &e->park.r, r[n++] = &e->gk.r;
    r[n++] = &e->cci.tp;
    r[n++] = &e->willr.hl.h, r[n++] = &e->willr.hl.l;
    r[n++] = &e->mfi.pos, r[n++] = &e->mfi.neg;
    r[n++] = &e->roc.c;
    r[n++] = &e->stoch.hl.h, r[n++] = &e->stoch.hl.l, r[n++] = &e->stoch.sk.r, r[n++] = &e->stoch.sd.r;
    r[n++] = &e->bb.c;
    r[n++] = &e->obv;
    r[n++] = &e->obvz.r, r[n++] = &e->volz.r;
    r[n++] = &e->don.h, r[n++] = &e->don.l;
    return n;
}

feat_engine *feat_clone(const feat_engine *src, feat_emit_fn emit, void *ctx)
{
    feat_engine *e = feat_new(&src->o, emit, ctx);
    ta_ring *dst[32], *from[32];
    double *mine[32];
    int n = engine_rings(e, dst);
    ASSERT(n == engine_rings((feat_engine *)src, from) && n <= 32);
    for (int i = 0; i < n; i++) mine[i] = dst[i]->v;
    pending *q = e->q;
    double *qf = e->qf;
    *e = *src; /* every state and counter; then the owned memory back, with src's contents */
    e->emit = emit;
    e->ctx = ctx;
    for (int i = 0; i < n; i++) {
        dst[i]->v = mine[i];
        memcpy(mine[i], from[i]->v, 2 * (size_t)from[i]->cap * sizeof *mine[i]); /* both copies (ta.h) */
    }
    e->q = q;
    e->qf = qf;
    if (q) {
        size_t nf = (size_t)e->o.nsel;
        memcpy(qf, src->qf, (size_t)e->qcap * nf * sizeof *qf);
        for (int i = 0; i < e->qcap; i++) {
            q[i] = src->q[i];
            q[i].f = qf + (size_t)i * nf;
        }
    }
    return e;
}

/* Compute every feature of bar b, the segbar-th of its segment; e->def says
 * which are defined. Only past and current bars enter. The recursive
 * averages run on every bar; the windowed indicators only from win_from,
 * the bar from which they are first needed (see feat_new): before it their
 * values are read by no row. */
static void compute(feat_engine *e, const feat_bar *b)
{
    double *v = e->v;
    unsigned char *def = e->def;
    memset(def, 0, sizeof e->def);
    double c = b->close, x, y, z;

    /* recursive: every bar of the segment */
    def[F_RSI_14] = ta_rsi_update(&e->rsi, c, &v[F_RSI_14]);
    def[F_NATR_14] = ta_natr_update(&e->atr, b->high, b->low, c, &v[F_NATR_14]);
    int m = ta_dmi_update(&e->dmi, b->high, b->low, c, &v[F_PLUS_DI_14], &v[F_MINUS_DI_14], &v[F_ADX_14]);
    def[F_PLUS_DI_14] = def[F_MINUS_DI_14] = m & 1;
    def[F_ADX_14] = (m & 2) != 0;
    if (ta_macd_update(&e->macd, c, &x, &y, &z)) {
        v[F_MACD_N] = x / c;
        v[F_MACD_SIGNAL_N] = y / c;
        v[F_MACD_HIST_N] = z / c;
        def[F_MACD_N] = def[F_MACD_SIGNAL_N] = def[F_MACD_HIST_N] = 1;
    }
    if ((def[F_EMA_RATIO_12] = ta_ema_update(&e->ema12, c, &x))) v[F_EMA_RATIO_12] = c / x - 1;
    if ((def[F_EMA_RATIO_26] = ta_ema_update(&e->ema26, c, &x))) v[F_EMA_RATIO_26] = c / x - 1;
    if ((def[F_EMA_RATIO_50] = ta_ema_update(&e->ema50, c, &x))) v[F_EMA_RATIO_50] = c / x - 1;
    if ((def[F_EMA_RATIO_200] = ta_ema_update(&e->ema200, c, &x))) v[F_EMA_RATIO_200] = c / x - 1;
    if (e->segbar < e->win_from) return;

    /* windowed: from win_from on, as in a segment that began there */
    int have_prev = e->closes.len > 0;
    double pc = have_prev ? ta_ring_ago(&e->closes, 0) : 0;
    ta_ring_push(&e->closes, c);

    static const int rets[6] = {1, 2, 4, 8, 16, 24};
    for (int i = 0; i < 6; i++)
        if (e->closes.len > rets[i]) {
            v[F_RET_1 + i] = log(c / ta_ring_ago(&e->closes, rets[i]));
            def[F_RET_1 + i] = 1;
        }
    if (have_prev) {
        double r1 = v[F_RET_1]; /* log(c / pc), computed just above */
        /* sample standard deviations (ta_stddev's) of the last 12, 24, 72 */
        static const int rv_n[3] = {12, 24, 72};
        ta_ring_push(&e->rets, r1);
        double var[3];
        int k = e->rets.len >= 72 ? 3 : e->rets.len >= 24 ? 2 : e->rets.len >= 12;
        ta_ring_vars(&e->rets, rv_n, k, 1, var);
        for (int i = 0; i < k; i++) {
            v[F_RV_12 + i] = sqrt(var[i]);
            def[F_RV_12 + i] = 1;
        }
        /* On-balance volume: its 24-bar change is the sum of the last 24
         * signed volumes, independent of where the cumulative sum began. */
        ta_ring_push(&e->obv, c > pc ? b->volume : c < pc ? -b->volume : 0.0);
        if (e->obv.len == 24) def[F_OBV_Z_24] = ta_zscore_update(&e->obvz, ta_ring_sum(&e->obv, 24), &v[F_OBV_Z_24]);
    }
    /* What several indicators of a bar share is computed once: the log
     * range (Parkinson, Garman-Klass), the typical price (CCI, MFI, the
     * VWAP stand-in) and the 14-bar high and low (WILLR, STOCH). */
    double hl = log(b->high / b->low), tp = ta_typical_price(b->high, b->low, c);
    def[F_PARK_4] = ta_parkinson_update_log(&e->park4, hl, &v[F_PARK_4]);
    def[F_PARK_24] = ta_parkinson_update_log(&e->park, hl, &v[F_PARK_24]);
    def[F_GK_24] = ta_garman_klass_update_log(&e->gk, hl, log(c / b->open), &v[F_GK_24]);
    def[F_CCI_20] = ta_cci_update_tp(&e->cci, tp, &v[F_CCI_20]);
    def[F_MFI_14] = ta_mfi_update_tp(&e->mfi, tp, b->volume, &v[F_MFI_14]);
    def[F_ROC_10] = ta_roc_update(&e->roc, c, &v[F_ROC_10]);
    if (ta_hilo_update(&e->willr.hl, b->high, b->low, &x, &y)) {
        v[F_WILLR_14] = ta_willr_of(x, y, c);
        def[F_WILLR_14] = 1;
        def[F_STOCH_K] = def[F_STOCH_D] = ta_stoch_update_hl(&e->stoch, x, y, c, &v[F_STOCH_K], &v[F_STOCH_D]);
    }
    if (ta_bbands_update(&e->bb, c, &x, &y, &z)) {
        /* A window of equal closes has no band: %b is the middle, width 0. */
        double w = x - z;
        int flat = !(w > 1e-12 * fabs(y));
        v[F_BB_PCTB_20] = flat ? 0.5 : (c - z) / w;
        v[F_BB_WIDTH_20] = flat ? 0.0 : w / y;
        def[F_BB_PCTB_20] = def[F_BB_WIDTH_20] = 1;
    }
    def[F_VOL_Z_24] = ta_zscore_update(&e->volz, b->volume, &v[F_VOL_Z_24]);
    /* Without a VWAP (Kraken's OHLCVT files have none), the typical price. */
    double vw = isnan(b->vwap) ? tp : b->vwap;
    v[F_VWAP_DEV] = c / vw - 1;
    def[F_VWAP_DEV] = 1;
    if ((def[F_DONCHIAN_POS_20] = ta_hilo_update(&e->don, b->high, b->low, &x, &y)))
        v[F_DONCHIAN_POS_20] = x > y ? (c - y) / (x - y) : 0.5;
    int64_t sod = ((b->time % 86400) + 86400) % 86400;
    int64_t day = (b->time - sod) / 86400;
    int dow = (int)(((day + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday; Monday = 0 */
    /* The same times of day and weekday recur every bar period: keep their
     * sin and cos rather than calling them again (same values either way):
     * the weekday's while it lasts, the time of day's per minute of the day. */
    int minute = (int)(sod / 60);
    if (e->hour[minute].sod != sod) {
        double ah = 2 * M_PI * (double)sod / 86400;
        e->hour[minute].s = sin(ah), e->hour[minute].c = cos(ah), e->hour[minute].sod = sod;
    }
    if (dow != e->last_dow) {
        double ad = 2 * M_PI * dow / 7;
        e->dow_sin = sin(ad), e->dow_cos = cos(ad), e->last_dow = dow;
    }
    v[F_HOUR_SIN] = e->hour[minute].s;
    v[F_HOUR_COS] = e->hour[minute].c;
    v[F_DOW_SIN] = e->dow_sin;
    v[F_DOW_COS] = e->dow_cos;
    def[F_HOUR_SIN] = def[F_HOUR_COS] = def[F_DOW_SIN] = def[F_DOW_COS] = 1;
}

/* The selected features of the current bar, in output order: f[i] = v[sel[i]]. */
static void row_values(const feat_engine *e, double *f)
{
    for (int k = 0; k < e->nruns; k++) {
        memcpy(f, e->v + e->runs[k].from, (size_t)e->runs[k].len * sizeof *f);
        f += e->runs[k].len;
    }
}

static void emit_row(feat_engine *e, int64_t time, long index, double close, const double *f, const double *y)
{
    feat_row r = {time, index, close, f, y};
    e->st.rows++;
    e->emit(e->ctx, &r);
}

/* Advance the label queue by bar b (real or synthetic): barrier touches, then
 * the rows whose horizon ends on this bar are complete and go out, in order. */
static void labels_step(feat_engine *e, const feat_bar *b)
{
    int h = e->o.horizon;
    for (int k = 0; k < e->qlen; k++) {
        pending *p = &e->q[(e->qhead + k) % e->qcap];
        int bars = (int)(e->segbar - p->bar);
        /* The lower barrier is tested first: when one bar reaches both, the
         * adverse touch (a liquidation) is assumed to have come first. */
        if (p->tb < 0) {
            if (b->low <= p->lower) p->tb = 0, p->tb_bars = bars;
            else if (b->high >= p->upper) p->tb = 2, p->tb_bars = bars;
        }
    }
    while (e->qlen > 0) {
        pending *p = &e->q[e->qhead];
        if (e->segbar - p->bar < h) break;
        double r = b->close / p->close - 1, th = e->o.flat_vol > 0 ? e->o.flat_vol * p->volh : e->o.flat_fee;
        e->y[0] = log(b->close / p->close);
        e->y[1] = r > th ? 2 : r < -th ? 0 : 1;
        e->y[2] = p->tb < 0 ? 1 : p->tb;
        e->y[3] = p->tb < 0 ? h : p->tb_bars;
        emit_row(e, p->time, p->index, p->close, p->f, e->y);
        e->qhead = (e->qhead + 1) % e->qcap;
        e->qlen--;
    }
}

static void enqueue(feat_engine *e, const feat_bar *b, long index)
{
    ASSERT(e->qlen < e->qcap);
    pending *p = &e->q[(e->qhead + e->qlen++) % e->qcap];
    p->time = b->time;
    p->index = index;
    p->bar = e->segbar - 1; /* step() has counted this bar already */
    p->close = b->close;
    p->volh = e->def[F_RV_24] ? e->v[F_RV_24] * sqrt((double)e->o.horizon) : 0;
    double u = e->o.upper.frac > 0 ? e->o.upper.frac : e->o.upper.vol * p->volh;
    double l = e->o.leverage > 0 ? e->liq_move
             : e->o.lower.frac > 0 ? e->o.lower.frac : e->o.lower.vol * p->volh;
    p->upper = b->close * (1 + u);
    p->lower = b->close * (1 - l);
    p->tb = -1;
    p->tb_bars = 0;
    row_values(e, p->f);
}

/* One bar through the engine: real bars may become rows, synthetic ones not. */
static void step(feat_engine *e, const feat_bar *b, int real, long index)
{
    if (e->o.labels) labels_step(e, b);
    compute(e, b);
    e->segbar++;
    if (!real) return;
    uint64_t missing = 0;
    for (int k = 0; k < FLAG_WORDS; k++) {
        uint64_t n, d;
        memcpy(&n, e->need + 8 * k, 8);
        memcpy(&d, e->def + 8 * k, 8);
        missing |= n & ~d;
    }
    if (missing) return;
    /* what makes starting the windowed indicators at win_from exact */
    ASSERT(e->segbar > e->first_row);
    if (e->o.labels) {
        enqueue(e, b, index);
        return;
    }
    double f[F_COUNT];
    row_values(e, f);
    emit_row(e, b->time, index, b->close, f, NULL);
}

int feat_push(feat_engine *e, const feat_bar *b)
{
    if (e->have_prev) {
        int64_t dt = b->time - e->prev.time;
        if (dt <= 0) return FEAT_EORDER;
        int64_t iv = e->o.interval;
        if (iv > 0) {
            if (dt % iv) return FEAT_EGRID;
            int64_t missing = dt / iv - 1;
            if (missing > 0) {
                e->st.gaps++;
                if (missing > e->o.max_gap) {
                    e->st.restarts++;
                    segment_end(e);
                    engine_reset(e);
                } else if (e->o.fill) {
                    feat_bar s = {0, e->prev.close, e->prev.close, e->prev.close, e->prev.close, NAN, 0};
                    for (int64_t k = 1; k <= missing; k++) {
                        s.time = e->prev.time + k * iv;
                        step(e, &s, 0, -1);
                    }
                    e->st.filled += missing;
                } else {
                    e->st.bridged++;
                }
            }
        }
    }
    e->st.bars++;
    step(e, b, 1, e->next_index++);
    e->prev = *b;
    e->have_prev = 1;
    return FEAT_OK;
}

void feat_finish(feat_engine *e)
{
    e->qlen = 0;
    segment_end(e);
    e->seg_rows0 = e->st.rows, e->seg_bars0 = e->st.bars; /* a second call counts nothing twice */
}

/* ---- reading candles ---- */

void feat_cols_init(feat_cols *c, csv_reader *r)
{
    c->time = csv_col(r, "time");
    c->open = csv_col(r, "open");
    c->high = csv_col(r, "high");
    c->low = csv_col(r, "low");
    c->close = csv_col(r, "close");
    c->volume = csv_col(r, "volume");
    c->vwap = csv_col_opt(r, "vwap");
    c->prev = INT64_MIN;
}

/* A plain decimal ("417.253", "-0.5", "12") whose digits, read as one
 * integer m, are at most 2^53, with at most 22 decimals, converted exactly as
 * strtod does: m and the power of ten are both exact doubles, so one division
 * rounds correctly (Clinger's fast path). Anything else (exponents, long
 * mantissas, a '+', junk, empty) returns 0 and is left to csv_double(), which
 * also reports errors. */
/* The decimal digits at the start of s, at most 8, as their value; *n gets
 * their count. Reads the 8 bytes at s (a CSV field is followed by
 * CSV_FIELD_SLACK readable bytes). The bytes as one little-endian word,
 * first character lowest: after subtracting '0' from every byte, the bytes
 * before the first non-digit hold their digits (no borrow reaches them) and
 * the first byte outside 0..9 marks the end; the digits, moved to the top of
 * the word, are combined in pairs, fours and eights by three multiplies.
 * Where a field's length varies from row to row, this has no branch per
 * character to mispredict. */
static inline uint64_t digits8(const char *s, int *n)
{
    uint64_t w, t;
    memcpy(&w, s, 8);
    t = w - 0x3030303030303030ULL;
    uint64_t nondigit = (((t & 0x7F7F7F7F7F7F7F7FULL) + 0x7676767676767676ULL) | t) & 0x8080808080808080ULL;
    int k = nondigit ? __builtin_ctzll(nondigit) >> 3 : 8;
    *n = k;
    if (k == 0) return 0;
    t <<= 8 * (8 - k);
    t = (t & 0x0F0F0F0F0F0F0F0FULL) * 2561 >> 8;
    t = (t & 0x00FF00FF00FF00FFULL) * 6553601 >> 16;
    return (t & 0x0000FFFF0000FFFFULL) * 42949672960001ULL >> 32;
}

static int fast_decimal(const char *s, double *out)
{
    static const uint64_t p10i[17] = {1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
                                      100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
                                      1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
                                      1000000000000000ULL, 10000000000000000ULL};
    static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    int neg = *s == '-';
    const char *p = s + neg, *d = p;
    /* Word at a time: up to 7 digits, then optionally a point and up to 15
     * digits (Kraken's prices and volumes), then the end: the same digits and
     * number of decimals as the loop below finds, so the same double. Other
     * text goes to the loop. */
    int n1, n2 = 0, n3 = 0;
    uint64_t ip = digits8(p, &n1);
    if (n1 < 8) {
        const char *q = p + n1;
        uint64_t fp = 0;
        if (*q == '.') {
            fp = digits8(q + 1, &n2);
            if (n2 == 8) {
                uint64_t f2 = digits8(q + 9, &n3);
                fp = fp * p10i[n3] + f2;
            }
            q += 1 + n2 + n3;
        }
        int frac = n2 + n3;
        if (*q == 0 && n3 < 8 && n1 + frac > 0) {
            uint64_t mm = ip * p10i[frac] + fp;
            if (n1 + frac <= 19 && mm <= (1ULL << 53)) {
                double x = (double)mm;
                if (frac > 0) x /= p10[frac];
                *out = neg ? -x : x;
                return 1;
            }
        }
    }
    uint64_t m = 0; /* wraps past 19 digits; such text is refused below */
    while ((unsigned)(*p - '0') < 10) m = m * 10 + (uint64_t)(*p++ - '0');
    int nint = (int)(p - d), frac = 0;
    if (*p == '.') {
        const char *f = ++p;
        while ((unsigned)(*p - '0') < 10) m = m * 10 + (uint64_t)(*p++ - '0');
        frac = (int)(p - f);
    }
    if (*p || nint + frac == 0 || nint + frac > 19 || frac > 22 || m > (1ULL << 53)) return 0;
    double x = (double)m;
    if (frac > 0) x /= p10[frac];
    *out = neg ? -x : x;
    return 1;
}

static double number(csv_reader *r, int col)
{
    double x;
    return fast_decimal(csv_field(r, col), &x) ? x : csv_double(r, col);
}

static double positive(csv_reader *r, int col)
{
    double x = number(r, col);
    if (!(x > 0)) csv_die(r, col, "must be positive: \"%s\"", csv_field(r, col));
    return x;
}

int feat_read_bar(csv_reader *r, feat_cols *c, feat_bar *b)
{
    if (!csv_next(r)) return 0;
    b->time = csv_time_increasing(r, c->time, &c->prev);
    b->open = positive(r, c->open);
    b->high = positive(r, c->high);
    b->low = positive(r, c->low);
    b->close = positive(r, c->close);
    if (b->high < b->open || b->high < b->close)
        csv_die(r, c->high, "%s is below the bar's open or close", csv_field(r, c->high));
    if (b->low > b->open || b->low > b->close)
        csv_die(r, c->low, "%s is above the bar's open or close", csv_field(r, c->low));
    b->volume = number(r, c->volume);
    if (b->volume < 0) csv_die(r, c->volume, "must not be negative: \"%s\"", csv_field(r, c->volume));
    b->vwap = csv_double_or(r, c->vwap, NAN);
    if (c->vwap >= 0 && !csv_empty(r, c->vwap) && !(b->vwap > 0))
        csv_die(r, c->vwap, "must be positive: \"%s\"", csv_field(r, c->vwap));
    return 1;
}

feat_bar *feat_read_all(const char *path, long *n)
{
    csv_reader *r = csv_open(path);
    feat_cols c;
    feat_cols_init(&c, r);
    long cap = 1024, k = 0;
    feat_bar *b = xmalloc(cap * sizeof *b);
    for (;;) {
        if (k == cap) b = xrealloc(b, (cap *= 2) * sizeof *b);
        if (!feat_read_bar(r, &c, &b[k])) break;
        k++;
    }
    csv_close(r);
    *n = k;
    return b;
}

/* ---- the look-ahead check ---- */

typedef struct {
    int nf, ny;
    long n, cap;
    int64_t *time;
    long *index;
    double *f, *y;
} table_t;

static void table_init(table_t *t, int nf, int ny)
{
    memset(t, 0, sizeof *t);
    t->nf = nf;
    t->ny = ny;
}

static void table_free(table_t *t)
{
    free(t->time);
    free(t->index);
    free(t->f);
    free(t->y);
}

static void collect(void *ctx, const feat_row *r)
{
    table_t *t = ctx;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->time = xrealloc(t->time, t->cap * sizeof *t->time);
        t->index = xrealloc(t->index, t->cap * sizeof *t->index);
        t->f = xrealloc(t->f, t->cap * t->nf * sizeof *t->f);
        if (t->ny) t->y = xrealloc(t->y, t->cap * t->ny * sizeof *t->y);
    }
    t->time[t->n] = r->time;
    t->index[t->n] = r->index;
    memcpy(t->f + t->n * t->nf, r->f, t->nf * sizeof *t->f);
    if (t->ny) memcpy(t->y + t->n * t->ny, r->y, t->ny * sizeof *t->y);
    t->n++;
}

static void run(const feat_bar *bars, long n, const feat_opts *o, table_t *t)
{
    table_init(t, o->nsel, feat_nlabels(o));
    feat_engine *e = feat_new(o, collect, t);
    for (long i = 0; i < n; i++) ASSERT(feat_push(e, &bars[i]) == FEAT_OK);
    feat_finish(e);
    feat_free(e);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

/* Rows collected with the number of bars pushed when each was written. */
typedef struct {
    table_t t;
    long pushed;  /* bars pushed before the one being pushed now */
    long late;    /* unlabelled rows written after a later bar came in */
    long first_late;
} timed_t;

static void collect_timed(void *ctx, const feat_row *r)
{
    timed_t *c = ctx;
    if (r->index != c->pushed && c->late++ == 0) c->first_late = r->index;
    collect(&c->t, r);
}

/* Index of the first row of t with index >= c (t is in index order). */
static long rows_before(const table_t *t, long c)
{
    long lo = 0, hi = t->n;
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        if (t->index[mid] < c) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static long find_index(const table_t *t, long idx)
{
    long k = rows_before(t, idx);
    return k < t->n && t->index[k] == idx ? k : -1;
}

int feat_check_lookahead(const feat_bar *bars, long n, const feat_opts *o0, int ncuts, const char *name, FILE *out)
{
    feat_opts fo = *o0, lo = *o0;
    fo.labels = 0;
    lo.labels = 1;
    int nf = fo.nsel, ny = feat_nlabels(&lo), h = lo.horizon;
    long fails = 0;
#define FAIL(...) do { if (fails++ < 8) fprintf(out, "  " __VA_ARGS__); } while (0)

    /* 1. The whole file without labels, noting when each row is written: a
     * row written while its own bar is the newest was computed before any
     * later bar existed, so cutting the file anywhere after it cannot change
     * it. That is the truncation test at every one of the n bars at once. */
    timed_t G = {0};
    table_init(&G.t, nf, 0);
    feat_engine *e = feat_new(&fo, collect_timed, &G);
    for (long i = 0; i < n; i++) {
        G.pushed = i;
        ASSERT(feat_push(e, &bars[i]) == FEAT_OK);
    }
    feat_finish(e);
    feat_free(e);
    fprintf(out, "look-ahead check of %s: %ld bars, interval %lld s, %d features, %d labels (horizon %d)\n", name, n,
            (long long)o0->interval, nf, ny, h);
    if (G.t.n == 0) {
        fprintf(out, "FAIL: no row was written (the data are shorter than the warm-up, or gaps restart it: try --fill or --max-gap)\n");
        table_free(&G.t);
        return 1;
    }
    if (G.late) FAIL("%ld rows were written only after later bars were read (first: bar %ld)\n", G.late, G.first_late);

    /* Cut points (prefix lengths): ncuts even ones, and for nchosen rows
     * spread over the output, the cut right after the row and one bar later. */
    int nchosen = 10;
    long *cuts = xmalloc((size_t)(ncuts + 2 * nchosen + 2) * sizeof *cuts);
    int nc = 0;
    for (int j = 1; j <= ncuts; j++) cuts[nc++] = 1 + (long)((double)(n - 1) * j / (ncuts + 1));
    for (int j = 0; j < nchosen; j++) {
        long r = G.t.index[(long)((double)(G.t.n - 1) * j / (nchosen - 1))];
        cuts[nc++] = r + 1;
        if (r + 2 <= n) cuts[nc++] = r + 2;
    }
    qsort(cuts, nc, sizeof *cuts, cmp_long);

    /* 2. True truncations from scratch, at the cuts right after three of the
     * chosen rows, one bar later and at an even point: the prefix alone must
     * write exactly the whole file's rows before the cut, bitwise. (With the
     * timing above this is determinism; these runs show it directly.) */
    long compared = 0;
    long scratch[4] = {0, 0, 0, 0};
    int nscratch = 0;
    {
        long r = G.t.index[G.t.n / 2], r2 = G.t.index[G.t.n - 1];
        scratch[nscratch++] = r + 1;
        if (r + 2 <= n) scratch[nscratch++] = r + 2;
        scratch[nscratch++] = r2 + 1;
        scratch[nscratch++] = cuts[nc / 3];
    }
    for (int si = 0; si < nscratch; si++) {
        long c = scratch[si];
        table_t T;
        run(bars, c, &fo, &T);
        long expect = rows_before(&G.t, c);
        if (T.n != expect) {
            FAIL("cut %ld: %ld rows from the prefix, %ld from the whole file\n", c, T.n, expect);
        } else {
            for (long i = 0; i < T.n; i++)
                if (T.time[i] != G.t.time[i] || memcmp(T.f + i * nf, G.t.f + i * nf, nf * sizeof(double)))
                    FAIL("cut %ld: row %lld differs from the whole file's\n", c, (long long)T.time[i]);
            compared += T.n;
        }
        table_free(&T);
    }

    /* 3. With labels: the whole file once, and at every cut a copy of the
     * engine as it stands after the first c bars (exactly the state a run of
     * the prefix reaches) fed the next h bars changed (prices x 1.25, volume
     * x 2), then ended. Rows before the cut must keep every feature bitwise;
     * labels may change only where the horizon reaches past the cut. */
    timed_t F = {0};
    table_init(&F.t, nf, ny);
    e = feat_new(&lo, collect_timed, &F);
    table_t *P = xcalloc((size_t)nc, sizeof *P);
    long *emitted_at_cut = xcalloc((size_t)nc, sizeof *emitted_at_cut);
    int ci = 0;
    feat_bar pb;
    for (long i = 0; i <= n; i++) {
        while (ci < nc && cuts[ci] == i) {
            table_init(&P[ci], nf, ny);
            emitted_at_cut[ci] = F.t.n;
            feat_engine *k = feat_clone(e, collect, &P[ci]);
            for (long j = i; j < i + h && j < n; j++) {
                pb = bars[j];
                pb.open *= 1.25, pb.high *= 1.25, pb.low *= 1.25, pb.close *= 1.25, pb.vwap *= 1.25, pb.volume *= 2;
                ASSERT(feat_push(k, &pb) == FEAT_OK);
            }
            feat_finish(k);
            feat_free(k);
            ci++;
        }
        if (i == n) break;
        F.pushed = i;
        ASSERT(feat_push(e, &bars[i]) == FEAT_OK);
    }
    feat_finish(e);
    feat_free(e);
    /* The labelled run's features are the unlabelled run's. */
    for (long i = 0; i < F.t.n; i++) {
        long j = find_index(&G.t, F.t.index[i]);
        if (j < 0 || memcmp(G.t.f + j * nf, F.t.f + i * nf, nf * sizeof(double)))
            FAIL("row %lld: features differ when labels are computed\n", (long long)F.t.time[i]);
    }
    long pert_rows = 0, lab_changed = 0, lab_rows = 0;
    for (ci = 0; ci < nc; ci++) {
        long c = cuts[ci];
        const table_t *p = &P[ci];
        /* the copy writes exactly the labelled rows before the cut still waiting at the cut */
        long want = rows_before(&F.t, c) - emitted_at_cut[ci], got = rows_before(p, c);
        if (got != want) FAIL("cut %ld: %ld labelled rows completed after the cut, expected %ld\n", c, got, want);
        /* rows of the changed bars themselves (with --fill their horizon can
         * end within the h bars) are the future: not compared */
        for (long i = 0; i < got; i++) {
            long j = find_index(&F.t, p->index[i]);
            if (j < 0) {
                FAIL("cut %ld: row %lld appears only when the future is changed\n", c, (long long)p->time[i]);
                continue;
            }
            pert_rows++;
            if (memcmp(p->f + i * nf, F.t.f + j * nf, nf * sizeof(double)))
                FAIL("cut %ld: row %lld: features change with the bars after the cut\n", c, (long long)p->time[i]);
            int crosses = p->index[i] + h >= c;
            lab_rows += crosses;
            if (memcmp(p->y + i * ny, F.t.y + j * ny, ny * sizeof(double))) {
                lab_changed++;
                if (!crosses) FAIL("cut %ld: row %lld: labels change though their horizon ends before the cut\n", c, (long long)p->time[i]);
            }
        }
        table_free(&P[ci]);
    }
    fprintf(out, "truncation: every row written while its own bar was the newest (%ld rows, so a cut at any of the %ld bars keeps all earlier rows); %d prefixes recomputed from scratch: %ld rows bitwise identical: %s\n",
            G.t.n, n, nscratch, compared, fails ? "NO" : "yes");
    fprintf(out, "features bitwise identical: %s\n", fails ? "NO" : "yes");
    fprintf(out, "perturbation of the %d bars after each of %d cuts (%d even, the rest at and one bar after %d chosen rows): %ld rows before the cuts compared; labels changed in %ld of the %ld rows whose horizon crosses a cut, and nowhere else; features unchanged: %s\n",
            h, nc, ncuts, nchosen, pert_rows, lab_changed, lab_rows, fails ? "NO" : "yes");
    fprintf(out, "%s\n", fails ? "FAIL" : "PASS");
#undef FAIL
    free(P);
    free(emitted_at_cut);
    free(cuts);
    table_free(&G.t);
    table_free(&F.t);
    return fails ? 1 : 0;
}
