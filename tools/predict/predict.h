/* predict.h: kml-predict's pieces. The ensemble.json it runs with, the
 * walk-forward predictions it can take instead of model files, and the
 * predictor: one labelled features row in, one decision out (docs/predict.md).
 *
 * Dimensions: S strategies (rule strategies and model:<arch>, ensemble.json's
 * order), R regimes, K models, U the union of the models' feature columns,
 * L the ring's length (the longest window T). */
#ifndef KML_PREDICT_H
#define KML_PREDICT_H

#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>

#include "csv.h"
#include "ml/collab.h"
#include "ml/ml.h"
#include "strategy/strategy.h"

#define PRED_MAX_REGIMES 64

/* One set of weights: rows 0..R-1 the regimes, row R the global fallback. */
typedef struct {
    double *W;    /* (R + 1, S) */
    double entry; /* |signal| below it is flat */
} pred_weights;

typedef struct {
    int64_t from, to; /* bars from <= time < to */
    pred_weights w;
} pred_window;

/* What kml-predict reads of ensemble.json. */
typedef struct {
    int S, R;
    char **names;   /* (S) */
    char **regimes; /* (R) */
    pred_weights top;
    int nwin;
    pred_window *win; /* (nwin), in time order */
    double min_conf, fee;
    collab_adapt ad;
    char *pair, *source; /* data.pair (NULL when null), data.source */
} pred_ens;

/* Read path; a malformed file dies 65 naming the key, a missing one 66. */
void pred_ens_load(pred_ens *e, const char *path);
void pred_ens_free(pred_ens *e);

/* Walk-forward predictions (time,arch,p_down,p_flat,p_up). */
typedef struct {
    int narch;
    char **arch;      /* (narch) */
    long *n;          /* (narch) rows of each */
    int64_t **time;   /* (narch)(n) increasing */
    double **p;       /* (narch)(n, 3) */
    int64_t first;    /* the earliest time of any prediction */
    char *path;
} pred_wf;

/* Read path; malformed rows die 65 (file, line, column). */
void pred_wf_load(pred_wf *w, const char *path);
/* The probabilities of arch at time t, or NULL. */
const double *pred_wf_get(const pred_wf *w, const char *arch, int64_t t);
void pred_wf_free(pred_wf *w);

typedef struct {
    const char *pair, *source;
    int hard_regime;
    int max_gap;          /* -1: each model's own (training.max_gap); strategies: the smallest of those, or 3 */
    const char *vol_col;  /* the volatility column (default rv_24) */
    const char *ens_path; /* for messages */
} pred_opts;

/* The predictor. Everything a later bar depends on is in the state part,
 * which pred_state_save writes and pred_state_load reads back, so a run
 * continued from a state file emits the bytes a whole run would have. */
typedef struct {
    const pred_ens *e;
    pred_opts o;
    int K;
    ml_model **model;    /* (K), NULL with --predictions */
    const pred_wf *wf;   /* or NULL */
    int *kmember;        /* (K) the strategy index of model k */
    char **karch;        /* (K) */
    int *kT, *kgap;      /* (K) window and max gap of model k */
    int **kcol;          /* (K)(F_k) index into the union of model k's features */
    int U;
    char **ufeat;        /* (U) */
    int L;
    int strat_gap;       /* the gap that resets the strategies */
    /* columns of the input, bound by pred_bind */
    const char *input;
    int c_time, c_close, c_regime, c_vol, *c_p /* (R) */, *c_u /* (U) */, ncols;
    strategy *st;        /* (S) */
    double *row;         /* (ncols) the current row's numbers (NaN where not numeric) */
    /* state */
    int64_t last;        /* time of the last bar processed (INT64_MIN: none) */
    int64_t interval;    /* smallest spacing seen (0: none yet) */
    long nring;          /* rows in the ring (at most L) */
    double *ring;        /* (L, U) oldest first */
    int64_t *rtime;      /* (L) */
    double prev_close;
    int started;         /* the first decision has been made */
    double *sig1, *sig2; /* (S) signal on the last bar and the one before (NaN: none) */
    double *mult;        /* (S) adaptive multipliers (collab_hedge), 1 at the start */
    /* per bar scratch */
    double *prob;        /* (K, 3) */
    double *xraw;        /* (nxraw) a model's window of raw rows (T_k, F_k) */
    size_t nxraw;
    unsigned char *kok;  /* (K) */
    double *base, *w, *sig, *ret; /* (S); ret: the after-fee returns of the bar judged */
    unsigned char *present, *judged; /* (S) */
    int64_t wf_end;      /* the last time every selected arch has a prediction for */
    int said_skip, said_nowin, said_end, said_first;
    int64_t emit_after;  /* bars at or before it are processed but not printed (restart onto a file) */
} predictor;

/* Set up p for the models (or the predictions wf: exactly one of models and
 * wf is non-NULL); dies 64/65 when the models and ensemble.json disagree. */
void pred_init(predictor *p, const pred_ens *e, ml_model **models, char **paths, int K, const pred_wf *wf,
               const pred_opts *o);
/* Bind the input's header; every missing column dies 65 naming it. */
void pred_bind(predictor *p, csv_reader *r);
/* Process the current row of r: returns a new decision object (caller
 * deletes) or NULL when the bar gives none (already processed, warm-up,
 * before the first prediction or window). *logp gets the collaboration log
 * fields of the bar (or NULL). */
cJSON *pred_row(predictor *p, csv_reader *r, cJSON **logp);
void pred_free(predictor *p);

/* A JSON array of n numbers, null for a non-finite one (round-trip printed
 * by json_print). */
cJSON *pred_nums(const double *x, long n);

/* The state file: written atomically; loaded into a predictor set up with
 * the same strategies and models (else dies 65 naming what differs). */
#define PRED_STATE_VERSION 2 /* 2: Hedge multipliers ("multipliers"); 1 had the moments "adapt_mean", "adapt_square" */
void pred_state_save(const predictor *p, const char *path);
/* Returns 0 when path does not exist (a fresh start), 1 when loaded. */
int pred_state_load(predictor *p, const char *path);

#endif
