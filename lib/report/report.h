/* report.h: performance of a trading account from its execution events
 * (kml-report). Definitions are written out in docs/report.md.
 *
 * Dimensions: n curve points (bar closes), P pairs, S strategies, G regimes.
 *
 * Two layers, both callable from a unit test without a process:
 *  - statistics of plain arrays (an equity curve, a return series, a list of
 *    trade P&Ls): perf_compute, series_compute, trade_stats_compute;
 *  - the replay (report_replay): events and candles (and decisions, when
 *    given) into the marked equity curve, the per-pair P&L of every bar, the
 *    round-trip trades, the buy-and-hold benchmark and the attribution of each
 *    bar's P&L to regimes and strategies; report_metrics_json turns that into
 *    metrics.json. */
#ifndef KML_REPORT_H
#define KML_REPORT_H

#include <cJSON.h>
#include <stdint.h>

#define RP_MAX_PAIRS 16
#define RP_YEAR_SECONDS (365.0 * 86400.0) /* a 24/7 market: 365 days a year */

/* Bars a year for a bar interval in seconds. */
double report_periods_per_year(int64_t interval_s);

/* Statistics of an equity curve eq[0..n) at times t[0..n) (seconds), from the
 * simple returns r_i = eq[i]/eq[i-1] - 1; undefined values (too few points, zero variance,
 * no drawdown) are NaN. */
typedef struct {
    long n;
    double years;            /* (t[n-1] - t[0]) / RP_YEAR_SECONDS */
    double initial, final;
    double total_return;     /* final / initial - 1 */
    double cagr;             /* (final / initial)^(1 / years) - 1; -1 when final <= 0 */
    double ann_vol;          /* std of r (n - 1 denominator) * sqrt(ppy) */
    double sharpe;           /* mean(r) / std(r) * sqrt(ppy), risk-free 0 */
    double sortino;          /* mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(ppy) */
    double calmar;           /* cagr / max_drawdown */
    double max_drawdown;     /* max over i of 1 - eq[i] / max(eq[0..i]) */
    int64_t dd_peak, dd_trough, dd_end; /* the max drawdown's peak, trough, recovery (or last) time */
    int dd_recovered;
    long dd_bars;            /* curve points from peak to dd_end */
    double dd_days;          /* (dd_end - dd_peak) / 86400 */
} perf_stats;

void perf_compute(perf_stats *s, const int64_t *t, const double *eq, long n, double ppy);
/* dd[i] = 1 - eq[i] / max(eq[0..i]). */
void drawdown_series(double *dd, const double *eq, long n);

/* A series of per-bar returns or contributions x[0..n). */
typedef struct {
    long n;
    double sum, mean;
    double ann_vol;          /* std (n-1) * sqrt(ppy) */
    double sharpe;           /* mean / std * sqrt(ppy) */
} series_stats;

void series_compute(series_stats *s, const double *x, long n, double ppy);

/* Closed trades' P&L pnl[0..n) in the quote currency. */
typedef struct {
    long trades, wins, losses;
    double pnl, gross_profit, gross_loss; /* gross_loss >= 0 */
    double profit_factor;    /* gross_profit / gross_loss; NaN without a loss */
    double win_rate;         /* wins / trades */
    double expectancy;       /* pnl / trades */
} trade_stats;

void trade_stats_compute(trade_stats *s, const double *pnl, long n);

/* ---- the replay ---- */

enum rp_kind { RP_ORDER, RP_FILL, RP_REJECT, RP_CANCEL, RP_STOP, RP_TAKE_PROFIT, RP_LIQUIDATION, RP_ROLLOVER,
               RP_KILL, RP_RECONCILE, RP_ERROR, RP_NKINDS };
extern const char *const rp_kind_names[RP_NKINDS];
int rp_kind_parse(const char *name); /* -1 when unknown */

typedef struct {
    int64_t time;     /* the bar the event happened in (its open time) */
    int kind;         /* enum rp_kind */
    int pair;         /* index into report_input.pair */
    double dq;        /* signed change of the position (base units, long > 0) */
    double price;     /* price of the change; NaN: none given (a change is then taken at the bar's close) */
    double fee;       /* fee, opening fee or rollover charged by the event */
    double equity;    /* equity after the event as the account reported it (NaN: absent) */
} rp_event;

typedef struct {
    char name[40];    /* "SOL/USD" */
    char alt[40];     /* "SOLUSD" */
    long n;
    int64_t *t;       /* (n) bar open times */
    double *close;    /* (n) */
} rp_series;

typedef struct {
    int64_t time;
    int pair;
    int regime;       /* index into report_input.regimes, -1 none */
    double *weight;   /* (S) weight used, 0 for a strategy the decision does not name */
    double *signal;   /* (S) */
} rp_decision;

typedef struct {
    int npairs;
    rp_series pair[RP_MAX_PAIRS];
    double alloc[RP_MAX_PAIRS]; /* capital fraction of each pair (benchmark) */
    double capital;             /* equity at the first curve point */
    double bench_fee;           /* taker fee the benchmark pays to buy */
    long nev;
    rp_event *ev;               /* in time order */
    int nregimes, nstrats;
    char **regimes, **strats;
    long ndec;
    rp_decision *dec;           /* in time order */
} report_input;

typedef struct {
    int pair;
    int side;                   /* +1 long, -1 short */
    int64_t entry_time, exit_time;
    double entry_price, exit_price; /* volume-weighted over the opening / closing changes */
    double volume;              /* largest |position| held */
    double fees;                /* fees and rollover charged while open */
    double pnl;                 /* sum of -dq * price over its changes, minus fees */
} rp_trade;

typedef struct {
    long n;
    int P, S;
    int64_t interval;           /* seconds between bars */
    double ppy;
    int64_t *t;                 /* (n) curve times (bar open times; equity at that bar's close) */
    double *equity, *bench;     /* (n) */
    double *pnl;                /* (n, P) pair p's P&L over bar i (row 0 is 0) */
    double *pos;                /* (n, P) position at bar i's close */
    double *mark;               /* (n, P) price the position is marked at */
    signed char *active;        /* (n, P) held a position at some time in bar i */
    int *regime;                /* (n, P) regime of the decision in force over bar i, -1 none */
    double *share;              /* (n, P, S) strategy shares of bar i's P&L of pair p */
    long ntrades, open_trades;
    rp_trade *trades;
    double fees[RP_MAX_PAIRS], rollover[RP_MAX_PAIRS], notional[RP_MAX_PAIRS];
    double bench_pnl[RP_MAX_PAIRS]; /* the benchmark's P&L on each pair (its buy fee included) */
    long liquidations[RP_MAX_PAIRS], events[RP_MAX_PAIRS];
    double last_reported_equity; /* the last event's equity field, NaN when absent */
    long eq_checked;            /* bars ending flat whose last event reported an equity */
    double eq_max_rel_diff;     /* largest |marked - reported| / |reported| over those bars */
} report_result;

/* Replays in into res (owned by res; report_result_free). Dies 65 on events
 * that cannot be placed on the candles (an event before the second curve
 * point or after the last candle). */
void report_replay(report_result *res, const report_input *in);
void report_result_free(report_result *res);

/* metrics.json: strategy and benchmark statistics, per pair, per regime and
 * per strategy (the last two only with decisions). Caller deletes. */
cJSON *report_metrics_json(const report_result *res, const report_input *in);

#endif
