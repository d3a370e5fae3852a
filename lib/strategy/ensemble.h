/* ensemble.h: fitting regime-specific strategy weights (kml-ensemble).
 *
 * The data: bars of a labelled features CSV (time, close, regime), the
 * signal of every selected strategy on every bar (rule strategies from the
 * row, model:<arch> from walk-forward predictions), and from them each
 * strategy's after-fee return of every bar (strategy_bar_return).
 *
 * The fit, on a set of bars: per regime (hard filtered label) and over all
 * bars ("global"), weights that are non-negative and sum to 1, maximising the
 * objective of the weighted combination with a Ledoit-Wolf shrunk covariance
 * and a penalty toward equal weights; strategies whose mean after-fee return
 * is not positive get 0. Regimes with fewer than min_samples bars take the
 * global weights. Walk-forward: one fit per window, on bars before it only.
 * docs/ensemble.md has the formulas and the file format. */
#ifndef KML_ENSEMBLE_H
#define KML_ENSEMBLE_H

#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>

enum ens_objective { ENS_SHARPE, ENS_SORTINO, ENS_RETURN };

typedef struct {
    long bars;
    double mean;         /* annualised mean after-fee log return */
    double volatility;   /* annualised standard deviation (ddof 1) */
    double sharpe;       /* mean / volatility, annualised; NaN when undefined */
    double sortino;      /* annualised mean / annualised downside deviation (root mean square of min(R, 0)) */
    double hit_rate;     /* bars with R > 0 among bars with R != 0; NaN when none */
    double turnover;     /* mean |position change| a bar */
    double max_drawdown; /* 1 - exp(-(largest fall of the cumulative log return)) */
} ens_stats;

typedef struct {
    long n;          /* bars */
    int64_t *time;
    double *close;
    int *regime;     /* index into regimes */
    int nreg;
    char **regimes;
    int S;           /* strategies */
    char **names;
    double *sig;     /* n x S, sig[t * S + s] */
    double *ret;     /* n x S after-fee return of bar t (NaN for the last bar) */
    double *turn;    /* n x S |s_t - s_{t-1}| */
    double *logret;  /* n: ln(close[t+1] / close[t]), NaN for the last bar */
    unsigned char *brk; /* n: 1 where the data breaks before bar t (NULL: no break): the
                         * strategies restarted there (their state; the position held
                         * before the break still earns the move across it) */
    long breaks;
    double fee;
    /* provenance */
    char *input;
    int npred;
    char **pred_files;
    long dropped_head, dropped_tail; /* bars outside the models' common span */
} ens_data;

typedef struct {
    enum ens_objective objective;
    double fee;          /* taker fee, fraction */
    double penalty;      /* weight of the pull toward equal weights */
    long min_samples;    /* bars a regime needs for its own weights */
    double min_confidence, adapt_rate, adapt_min, adapt_max;
    int joint;           /* refit every regime's weights together on the combination (docs) */
    int walk_forward;
    double train_days, step_days;
    const char *pair;    /* NULL: unknown */
    const char *source;  /* "real", "synthetic", "unknown" */
} ens_opts;

typedef struct {
    long bars;           /* fitted bars */
    int64_t first, last; /* times of the first and last fitted bar (0 when none) */
    double interval;     /* seconds (most common spacing; 0 when < 2 bars) */
    double *w;           /* (nreg + 1) x S: rows 0..nreg-1 the regimes, row nreg global */
    unsigned char *fallback; /* nreg */
    long *count;         /* nreg + 1: fitted bars per regime, then all */
    double *shrink;      /* nreg + 1: Ledoit-Wolf intensity, NaN when none was needed */
    double entry;        /* entry threshold on |signal| */
} ens_fit;

/* Entry thresholds tried, in order (the smallest wins a tie). */
extern const double ens_entry_grid[];
extern const int ens_entry_ngrid;

void ens_opts_defaults(ens_opts *o);

/* Read LABELLED (NULL or "-" = stdin) and the predictions files, select the
 * strategies (strategies: comma list, NULL = every rule strategy plus
 * model:<arch> for each arch in the predictions), compute signals and
 * returns. A break in the data is a bar more than max_gap + 1 bar intervals
 * after the previous one (the interval: the smallest spacing seen so far),
 * kml-predict's rule: the strategies restart there. Every malformed input
 * dies 65 with a located message. */
void ens_read(ens_data *d, const char *labelled, const char *const *pred, int npred, const char *strategies,
              double fee, int max_gap);
/* Fill ret, turn and logret from time, close and sig (allocating them). For
 * callers that build an ens_data by hand (tests). */
void ens_compute_returns(ens_data *d, double fee);
void ens_data_free(ens_data *d);

/* Statistics of m after-fee returns R (and position changes turn, may be
 * NULL) with ppy bars a year. */
void ens_stats_of(const double *R, const double *turn, long m, double ppy, ens_stats *st);
/* Euclidean projection of v (k values) onto the simplex {w >= 0, sum w = 1}. */
void ens_simplex_project(double *v, int k);
/* Ledoit-Wolf (2004) shrinkage of the second-moment matrix of the m x k rows
 * X (row-major) toward mu I, mu = trace / k: X is taken as it is (centre it
 * first for a covariance). sigma gets the k x k result; returns the
 * intensity delta in [0, 1]. */
double ens_ledoit_wolf(const double *X, long m, int k, double *sigma);
/* Weights of S strategies from the m x S returns X (row-major): see above.
 * w gets S weights (summing to 1, or all 0 when no strategy's mean is > 0);
 * returns the shrinkage intensity used (NaN when none). */
double ens_weights(const double *X, long m, int S, const ens_opts *o, double *w);

/* Fit on the bars idx[0..m-1] (increasing, each with a return). */
void ens_fit_bars(const ens_data *d, const long *idx, long m, const ens_opts *o, ens_fit *f);
void ens_fit_free(ens_fit *f);
/* Combined signal of bar t under fit f (regime weights, then the entry
 * threshold). */
double ens_combined(const ens_data *d, const ens_fit *f, long t);

/* The whole fit (all bars; with o->walk_forward the windows and the
 * out-of-sample statistics) as the ensemble.json document. */
cJSON *ens_run(const ens_data *d, const ens_opts *o);
/* Print ensemble.json's readable table (name for messages; a malformed file
 * dies 65 naming the key). */
void ens_show(FILE *out, const cJSON *doc, const char *name);

#endif
