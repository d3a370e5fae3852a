/* regime.h: market regimes from a features CSV: the fitted HMM with its
 * columns, state names and scaler (regime.json), causal labelling, the rules
 * baseline, and scoring against known regimes.
 *
 * Dimensions: T rows, D feature columns, K states (regimes).
 *
 * Units. The model is fitted on standardised columns (the scaler: mean and
 * population standard deviation of each column over the fitted rows) and
 * stored in the units of the input columns: means, variances and covariances
 * in regime.json read like the features themselves. The log-likelihood and BIC
 * are those of the unscaled data.
 *
 * Naming rule (docs/regimes.md): states are ordered by volatility, low to
 * high. The most volatile state is `volatile` (for K = 5 the two most volatile
 * are `volatile_up` and `volatile_down` by their mean return); of the others,
 * one is `ranging`, two are `ranging` plus `trending_up` or `trending_down`
 * (the one with the larger |mean| / volatility trends, by its sign), three are
 * `trending_down`, `ranging`, `trending_up` by mean return. */
#ifndef KML_REGIME_H
#define KML_REGIME_H

#include <stdint.h>
#include <stdio.h>

#include "csv.h"
#include "hmm.h"

#define REGIME_MAX_K 5
#define REGIME_NAME_MAX 16

typedef struct {
    hmm_t *hmm;          /* in the units of the input columns */
    int K, D;
    char **columns;      /* (D) feature column names */
    char **names;        /* (K) state names, unique */
    double *scaler_mean; /* (D) */
    double *scaler_std;  /* (D) */
    int ret_col, vol_col;  /* columns the names were derived from; vol_col -1: none */
    double loglik, bic;
    int nparams;
    long rows;
    int iterations, converged, restarts, max_iter;
    double tol, var_floor;
    uint64_t seed;
    int auto_states;                 /* K chosen by BIC */
    double bic_by_k[REGIME_MAX_K + 1]; /* auto: BIC of each K tried (NAN when not tried) */
} regime_model;

typedef struct {
    int K;             /* 2..5, or 0 for auto (BIC over 2..5) */
    int full;
    int restarts, max_iter, threads;
    double tol, var_floor;
    uint64_t seed;
} regime_fit_opts;

void regime_fit_defaults(regime_fit_opts *o);

/* Read the named columns of every row into a new (T, D) array (caller frees).
 * A missing column dies 65 ("FILE:1: column 'c': not in the header", listing
 * the columns there are); a non-numeric or empty field dies 65 with its line;
 * a constant column dies 65 naming the column and its first line. *T gets the
 * row count; *last_line the line of the last row (1 when there is none). */
double *regime_read_columns(csv_reader *r, char *const *cols, int D, long *T, long *last_line);

/* Rows a fit of K states over D columns needs: 5 per free parameter. */
long regime_min_rows(int K, int D, int full);

/* Fit: standardise, Baum-Welch with restarts (for each K when auto), back to
 * input units, order and name the states. cols are copied. path/last_line
 * locate the error when there are too few rows (dies 65). Returns a new model. */
regime_model *regime_fit(const double *x, long T, int D, char *const *cols, const regime_fit_opts *o,
                         const char *path, long last_line);
void regime_model_free(regime_model *rm);

/* Order the states by volatility and name them (the rule above). Uses the
 * first column whose name starts with "ret" as the return (else column 0) and
 * the first whose name starts with "rv", "vol", "natr", "atr", "park" or "gk"
 * as the volatility (else the standard deviation of the return column). */
void regime_order_and_name(regime_model *rm);

/* Write regime.json atomically. */
void regime_save(const regime_model *rm, const char *path);
/* Load and validate regime.json; a malformed file dies 65 naming the file and
 * the key, a missing one 66. */
regime_model *regime_load(const char *path);

/* Label the CSV of r onto out: every input column, then `regime` and one
 * `p_<name>` per state. Filtered (causal) probabilities; with viterbi the
 * smoothed posteriors and the Viterbi path (offline analysis only: it reads
 * all rows first). */
void regime_label_hmm(const regime_model *rm, csv_reader *r, FILE *out, int viterbi);

/* The rules baseline. */
typedef struct {
    const char *adx_col;   /* trend strength, default adx_14 */
    const char *trend_col; /* signed move, default ret_24 */
    const char *vol_col;   /* volatility, default rv_24 */
    double adx_min;        /* trending when adx >= adx_min (default 25) */
    double vol_pct;        /* volatile when the volatility percentile >= vol_pct (default 0.8) */
    int window;            /* rows of the rolling percentile window, this row included (default 720) */
} regime_rules_opts;

enum { RULE_TRENDING_UP, RULE_TRENDING_DOWN, RULE_RANGING, RULE_VOLATILE, RULE_NSTATES };
extern const char *const regime_rule_names[RULE_NSTATES];

typedef struct {
    regime_rules_opts o;
    double *ring; /* (window) recent volatility values */
    long n;       /* values seen */
} regime_rules;

void regime_rules_defaults(regime_rules_opts *o);
void regime_rules_init(regime_rules *s, const regime_rules_opts *o);
void regime_rules_free(regime_rules *s);
/* Fraction of the previous min(n, window - 1) volatility values strictly
 * below vol (0.5 when there is none yet), then vol joins the window. */
double regime_rules_percentile(regime_rules *s, double vol);
/* Classify one row causally; returns RULE_*. */
int regime_rules_step(regime_rules *s, double adx, double trend, double vol);
void regime_label_rules(const regime_rules_opts *o, csv_reader *r, FILE *out);

/* Accuracy of pred against truth (T labels each, 0..kp-1 and 0..kt-1) after
 * the best one-to-one matching of predicted states to true regimes (brute
 * force over permutations; kp, kt <= 8). map (kp) gets the matched regime of
 * each predicted state, -1 when unmatched; may be NULL. */
double regime_match_accuracy(const int *truth, const int *pred, long T, int kt, int kp, int *map);

/* Scoring labelled rows (column `regime`) against known regimes (columns
 * time, regime and optionally pair, as kml-fetch sim --regimes-out writes),
 * joined on time. */
typedef struct {
    long rows;
    int kt, kp;            /* distinct true regimes / predicted names (<= 8 each) */
    char *truth_names[8];
    char *pred_names[8];
    int map[8];            /* predicted name -> matched true regime, -1: none */
    double accuracy;
} regime_score;

/* Dies 65 (located) when a labelled time is missing from the truth, when a
 * time has two different true regimes (several pairs: choose one with pair),
 * or when there are more than 8 distinct names. */
void regime_score_files(const char *truth_path, const char *pair, const char *labels_path, regime_score *sc);
/* One JSON line: {"rows":N,"accuracy":A,"matching":{"pred":"truth",...}}. */
void regime_score_print(const regime_score *sc, FILE *f);
void regime_score_free(regime_score *sc);

#endif
