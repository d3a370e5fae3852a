/* feat.h: the feature and label engine of kml-features, streaming.
 *
 * Bars go in one at a time (feat_push); rows come out through a callback as
 * soon as they are known: at once without labels, h bars later with labels.
 * The engine keeps only the indicators' states, ring buffers as long as their
 * windows, and with labels a queue of the last h rows.
 *
 * Gaps: with an interval set, a bar more than one interval after the previous
 * one means missing bars. More than max_gap missing bars restart every
 * indicator after the gap (the row output waits for the full lookback and
 * warm-up again, and no label crosses the restart); up to max_gap missing bars
 * are either bridged (the bars are treated as consecutive) or, with fill,
 * replaced by synthetic bars carrying the last close with zero volume. Synthetic
 * bars feed the indicators and count in label horizons but never become rows. */
#ifndef KML_TA_FEAT_H
#define KML_TA_FEAT_H

#include <stdint.h>
#include <stdio.h>

#include "csv.h"
#include "market/margin.h"

typedef struct {
    int64_t time;   /* open time, Unix seconds */
    double open, high, low, close;
    double vwap;    /* NAN when absent */
    double volume;
} feat_bar;

enum {
    F_RET_1, F_RET_2, F_RET_4, F_RET_8, F_RET_16, F_RET_24,
    F_RV_12, F_RV_24, F_RV_72, F_PARK_4, F_PARK_24, F_GK_24,
    F_RSI_14, F_NATR_14, F_ADX_14, F_PLUS_DI_14, F_MINUS_DI_14, F_CCI_20, F_WILLR_14, F_MFI_14, F_ROC_10,
    F_STOCH_K, F_STOCH_D, F_BB_PCTB_20, F_BB_WIDTH_20, F_MACD_N, F_MACD_SIGNAL_N, F_MACD_HIST_N,
    F_EMA_RATIO_12, F_EMA_RATIO_26, F_EMA_RATIO_50, F_EMA_RATIO_200,
    F_OBV_Z_24, F_VOL_Z_24, F_VWAP_DEV, F_DONCHIAN_POS_20,
    F_HOUR_SIN, F_HOUR_COS, F_DOW_SIN, F_DOW_COS,
    F_COUNT
};

typedef struct {
    const char *name;
    int lookback;   /* bars consumed before the first value (TA-Lib's lookback) */
    int warmup;     /* further bars withheld so the start is forgotten (recursive ones) */
    int in_default; /* part of the default set */
    int few_values; /* takes a few values again and again (time of day, weekday) */
} feat_info;

/* The relative decay of a recursive average's start that the warm-up
 * guarantees: values then match a run started much earlier to ~1e-13. */
#define FEAT_WARMUP_TOL 1e-13

const feat_info *feat_info_of(int id);
int feat_find(const char *name); /* id, or -1 */
/* Fill ids with the default set; returns its size. */
int feat_default_set(int *ids);
/* Bars of a segment before the first row: max over ids of lookback + warmup. */
int feat_first_row(const int *ids, int n);

/* A barrier distance: a fraction of the entry close, or a multiple of the
 * volatility over the horizon (rv_24 * sqrt(h)). */
typedef struct { double frac, vol; } feat_dist;

typedef struct {
    int nsel;
    int sel[F_COUNT];   /* selected features, output order */
    int64_t interval;   /* bar spacing in seconds; 0: no gap handling */
    long max_gap;       /* missing bars tolerated (bridged, or filled with fill) */
    int fill;
    /* labels */
    int labels, horizon;
    double flat_fee;    /* y_class: flat when |move| <= this fraction ... */
    double flat_vol;    /* ... or, when > 0, <= flat_vol * rv_24 * sqrt(h) */
    int barrier;
    feat_dist upper, lower;
    double leverage;    /* > 0: lower = margin_liquidation_move(&margin, leverage) */
    margin_params margin; /* the margin model's levels (lib/market/margin.h) */
} feat_opts;

/* Defaults: the default feature set, no interval, max_gap 0, no labels,
 * horizon 4, flat_fee 2 * 0.0026, barriers 1 vol each, margin_params_default's
 * margin (margin_stop 0.4). */
void feat_opts_default(feat_opts *o);
/* Parse a barrier distance: "0.02" (fraction) or "1.5v" (volatility multiple). 0 on success. */
int feat_parse_dist(const char *s, feat_dist *d);

typedef struct {
    int64_t time;
    long index;        /* 0-based index of the input bar */
    double close;
    const double *f;   /* nsel features */
    const double *y;   /* labels, when asked for */
} feat_row;

typedef void (*feat_emit_fn)(void *ctx, const feat_row *row);
typedef struct feat_engine feat_engine;

typedef struct {
    long bars, rows, gaps, restarts, bridged, filled;
    /* segments (between restarts) that gave no row, being shorter than
     * feat_min_bars(), and the input bars in them; counted at each restart
     * and at feat_finish(), never per bar */
    long short_segments, short_bars;
} feat_stats;

/* New engine; the callback receives each row (pointers valid during the call). */
feat_engine *feat_new(const feat_opts *o, feat_emit_fn emit, void *ctx);
void feat_free(feat_engine *e);
enum { FEAT_OK = 0, FEAT_EORDER = 1, FEAT_EGRID = 2 };
/* Feed one bar. FEAT_EORDER: time not after the previous bar's; FEAT_EGRID:
 * the spacing is not a whole number of intervals (the caller reports it). */
int feat_push(feat_engine *e, const feat_bar *b);
/* A new engine in exactly e's state (as if it had been fed the same bars),
 * writing to its own callback; e is unchanged. Caller frees with feat_free. */
feat_engine *feat_clone(const feat_engine *e, feat_emit_fn emit, void *ctx);
/* End of input: rows still waiting for their label horizon are dropped. */
void feat_finish(feat_engine *e);
const feat_stats *feat_get_stats(const feat_engine *e);
/* Bars a segment needs for its first row: the lookback and warm-up of the
 * needed features, the row's own bar, and with labels the horizon after it. */
long feat_min_bars(const feat_engine *e);
int feat_nlabels(const feat_opts *o);
/* Label column name i (into a static buffer for y_ret_<h>). */
const char *feat_label_name(const feat_opts *o, int i);

/* Reading candles: columns by name, each row checked (located error, exit 65). */
typedef struct { int time, open, high, low, close, vwap, volume; int64_t prev; } feat_cols;
void feat_cols_init(feat_cols *c, csv_reader *r);
/* Next bar, or 0 at the end of input. */
int feat_read_bar(csv_reader *r, feat_cols *c, feat_bar *b);
/* Read a whole file (the look-ahead check); *n gets the count; caller frees. */
feat_bar *feat_read_all(const char *path, long *n);

/* The look-ahead check (see docs/features.md): (1) the whole file without
 * labels, requiring every row to be written while its own bar is the newest
 * (so a cut at any bar keeps every earlier row), (2) prefixes recomputed from
 * scratch at four cuts, bitwise identical to the whole file's rows, (3) at
 * ncuts even cuts and at and one bar after 10 chosen rows, a clone of the
 * labelled engine fed the next h bars changed: features of the rows before
 * the cut unchanged, labels changed only where the horizon crosses the cut.
 * Writes a summary to out; returns 0 on pass, 1 on failure. */
int feat_check_lookahead(const feat_bar *bars, long n, const feat_opts *o, int ncuts, const char *name, FILE *out);

#endif
