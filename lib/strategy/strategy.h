/* strategy.h: rule strategies and model strategies (kml-ensemble, kml-predict).
 *
 * A strategy turns the current features row (kml-features' columns, found by
 * name once from the header) plus a small state it owns into a signal in
 * [-1, 1]: -1 fully short, 0 flat, +1 fully long. It never reads a later row
 * and never a label column (y_*). The formulas are in docs/ensemble.md.
 *
 *   rule strategies (table strategy_defs[], by name):
 *     hold       always +1 (buy and hold, the benchmark)      reads nothing
 *     trend      EMA ratios and MACD histogram, vol-scaled     ema_ratio_12, ema_ratio_26, ema_ratio_50, macd_hist_n, rv_24
 *     meanrev    Bollinger %b and RSI extremes, faded          bb_pctb_20, rsi_14
 *     breakout   Donchian position gated by ADX, held         donchian_pos_20, adx_14
 *     momentum   4..24-bar returns over their volatility      ret_4, ret_8, ret_16, ret_24, rv_24
 *     voltrend   24-bar trend cut when short vol > long vol   ret_24, rv_12, rv_24, rv_72
 *   model strategies: "model:<arch>" (e.g. "model:gru"), signal p_up - p_down;
 *     the caller supplies the probabilities (walk-forward predictions when
 *     fitting, the model's output live). They read no feature column.
 *
 * A tool includes "strategy/strategy.h" and links the archive with
 * `<stage>_LIBS := strategy` in its tool.mk.
 *
 * Use (one strategy):
 *
 *   strategy s;
 *   char missing[256];
 *   int rc = strategy_bind(&s, "trend", header, ncols, missing, sizeof missing);
 *   if (rc == STRATEGY_UNKNOWN) die(65, "unknown strategy 'trend'");
 *   if (rc > 0) die(65, "strategy 'trend' needs column(s) %s", missing);
 *   for each row (values by the header's column index, v[ncols]):
 *       double sig = strategy_step(&s, v, NULL);           // rule strategy
 *       double sig = strategy_step(&s, NULL, probs);       // model: probs = {p_down, p_flat, p_up}
 *
 * strategy_bind resets the state; strategy_reset starts it again (e.g. after
 * a gap that restarted the features). During the warm-up (the first
 * def->warmup steps after a reset) the signal is 0.
 *
 * Rebalancing band: a strategy's raw target moves a little every bar, and a
 * taker fee on every small move would eat any edge. strategy_step keeps the
 * previous position while the new target is within def->band of it (and
 * has the same sign); a target of exactly 0 always closes. The band is part of
 * the strategy (its value is in the table and in docs/ensemble.md).
 *
 * The after-fee return of a strategy on bar t (strategy_bar_return): with
 * s_t the signal at bar t, s_{t-1} the signal of the previous bar (0 before
 * the first), r_{t+1} = ln(close_{t+1} / close_t) the next bar's log return
 * and f the taker fee (a fraction, 0.0026):
 *
 *     R_t = s_t * r_{t+1} - f * |s_t - s_{t-1}|
 *
 * kml-ensemble fits weights on it and kml-predict's adaptive weights use the
 * same function, so both judge strategies by one rule. Stable API: changes
 * after the first commit are additive only. */
#ifndef KML_STRATEGY_H
#define KML_STRATEGY_H

#include <stddef.h>

#define STRATEGY_MAX_COLS 8  /* feature columns a rule strategy reads, at most */
#define STRATEGY_NAME_MAX 64 /* "model:<arch>" included, with the NUL */
#define STRATEGY_UNKNOWN (-1)
#define STRATEGY_MODEL_BAND 0.25 /* rebalancing band of every model:<arch> strategy */

/* The state a strategy owns. Zeroed by strategy_reset. */
typedef struct {
    double pos;   /* the last signal returned (the position held) */
    double x[4];  /* strategy-specific memory */
    long n;       /* steps since the last reset */
} strategy_state;

typedef struct strategy_def {
    const char *name;                     /* "trend" */
    const char *summary;                  /* one line, for --help and show */
    int ncols;                            /* columns read */
    const char *cols[STRATEGY_MAX_COLS];  /* their names, in the order step gets them */
    int warmup;                           /* steps with signal 0 after a reset */
    double band;                          /* rebalancing band (see above) */
    /* Raw target in [-1, 1] from the columns' values v[0..ncols-1] (in cols
     * order) and the state (st->pos = the previous position). */
    double (*target)(const double *v, strategy_state *st);
} strategy_def;

/* The rule strategies, in a fixed order (the default selection's order). */
extern const strategy_def strategy_defs[];
extern const int strategy_ndefs;
/* A rule strategy by name, or NULL. */
const strategy_def *strategy_find(const char *name);
/* 1 when name is "model:<arch>" with a non-empty arch. */
int strategy_is_model(const char *name);

/* One bound strategy: a rule strategy with its columns resolved, or a model. */
typedef struct {
    char name[STRATEGY_NAME_MAX];  /* "trend", "model:gru" */
    const strategy_def *def;       /* NULL for a model strategy */
    const char *arch;              /* model: points into name after "model:"; NULL for rules */
    int col[STRATEGY_MAX_COLS];    /* column index in the caller's row of each def->cols[i] */
    strategy_state st;
} strategy;

/* Bind name to a header of ncols column names. Returns 0 on success;
 * STRATEGY_UNKNOWN when name is neither a rule strategy nor "model:<arch>"
 * (or is longer than STRATEGY_NAME_MAX - 1); or the number of missing columns
 * (> 0), their names written to missing as "'a', 'b'" (truncated to
 * missing_len; missing may be NULL). A model strategy needs no column. */
int strategy_bind(strategy *s, const char *name, const char *const *header, int ncols, char *missing,
                  size_t missing_len);
void strategy_reset(strategy *s);
/* The signal for the current row, in [-1, 1]. Rule strategies read
 * row[s->col[i]] (row indexed like the header given to strategy_bind; probs
 * ignored, may be NULL); model strategies read probs = {p_down, p_flat, p_up}
 * (row ignored, may be NULL) and give p_up - p_down, clamped to [-1, 1],
 * through the band STRATEGY_MODEL_BAND.
 * Updates s->st (pos, n). A non-finite input value gives 0 (flat). */
double strategy_step(strategy *s, const double *row, const double *probs);

/* After-fee return of bar t (formula above): signal s_t, previous signal
 * s_{t-1}, next bar's log return r_{t+1}, taker fee f. */
double strategy_bar_return(double signal, double prev_signal, double next_log_return, double fee);

#endif
