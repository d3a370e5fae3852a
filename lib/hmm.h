/* hmm.h: a Gaussian hidden Markov model: Baum-Welch fitting, the causal
 * forward filter, smoothing and Viterbi.
 *
 * Dimensions: T rows (time steps), D observed columns, K hidden states.
 *
 * Numerics. Every recursion is scaled: the emission densities of a row are
 * divided by their largest value before they enter the recursion (its log is
 * kept), and the forward vector is renormalised every step (its log sum is
 * kept), so nothing underflows on 100k+ rows and the log-likelihood is the sum
 * of the kept logs. When the scaled mass of a row still underflows (the only
 * likely state was given zero probability by the transitions), the step is
 * redone in log space.
 *
 * Causality. hmm_filter_step() uses the row it is given and the state carried
 * from earlier rows, nothing else: a label it produces can never change when
 * later rows are appended. hmm_posteriors() and hmm_viterbi() look at the
 * whole sequence and are for offline analysis only.
 *
 * Full covariances are factorised with LAPACKE_dpotrf (Cholesky): a program
 * that fits or evaluates a full-covariance model links -llapacke. */
#ifndef KML_HMM_H
#define KML_HMM_H

#include <stdint.h>

typedef struct {
    int K, D;
    int full;        /* 1: full covariance matrices, 0: diagonal */
    double *start;   /* (K) probability of the state at the first row */
    double *trans;   /* (K, K) trans[i*K+j] = P(state j at t+1 | state i at t) */
    double *mean;    /* (K, D) */
    double *var;     /* (K, D) diagonal models: variances; NULL when full */
    double *cov;     /* (K, D, D) full models: covariances; NULL when diagonal */
    /* Derived by hmm_prepare(); invalid after the parameters change. */
    double *chol;    /* (K, D, D) full: lower Cholesky factor of cov; diagonal: unused */
    double *lognorm; /* (K) -0.5 * (D log 2 pi + log det cov) */
} hmm_t;

/* A model with zeroed parameters; caller frees with hmm_free(). */
hmm_t *hmm_new(int K, int D, int full);
void hmm_free(hmm_t *m);
hmm_t *hmm_copy(const hmm_t *m);
/* Compute the Cholesky factors and normalising constants. Returns -1 - k when
 * the covariance of state k is not positive definite (or a variance is not
 * positive), 0 on success. */
int hmm_prepare(hmm_t *m);
/* Log density of row x (D) under each state's Gaussian: logb (K). Needs hmm_prepare(). */
void hmm_log_emission_row(const hmm_t *m, const double *x, double *logb);
/* Reorder the states: new state i is old state perm[i]. Calls hmm_prepare(). */
void hmm_permute(hmm_t *m, const int *perm);
/* Number of free parameters (for the BIC). */
int hmm_nparams(int K, int D, int full);

/* The forward filter, one row at a time. p(state at t | rows 0..t). */
typedef struct {
    const hmm_t *m;
    long t;         /* rows seen */
    double *alpha;  /* (K) filtered probabilities after the last row */
    double *pred;   /* (K) workspace */
    double *logb;   /* (K) workspace */
    double loglik;  /* log p(rows 0..t-1) */
} hmm_filter;

void hmm_filter_init(hmm_filter *f, const hmm_t *m);
void hmm_filter_free(hmm_filter *f);
/* Consume row x (D); writes the filtered probabilities to prob (K) when
 * non-NULL; returns the most probable state (the first one on a tie). */
int hmm_filter_step(hmm_filter *f, const double *x, double *prob);

/* Offline: smoothed posteriors gamma (T, K) of the rows x (T, D); returns the
 * log-likelihood. Needs hmm_prepare(). */
double hmm_posteriors(const hmm_t *m, const double *x, long T, double *gamma);
/* Offline: the most likely state path (T); returns its log probability. */
double hmm_viterbi(const hmm_t *m, const double *x, long T, int *path);
/* Log-likelihood of x (T, D) by the scaled forward recursion. */
double hmm_loglik(const hmm_t *m, const double *x, long T);

/* Baum-Welch. The data should be on a unit scale (standardised columns): the
 * variance floor and the k-means++ start are absolute in those units. */
typedef struct {
    int K;
    int full;
    int restarts;     /* independent starts; the best log-likelihood is kept */
    int max_iter;     /* EM iterations per start */
    double tol;       /* stop when the log-likelihood gains less than this */
    double var_floor; /* lower bound of every variance (diagonal of covariances) */
    uint64_t seed;
    int threads;      /* restarts run in parallel; the result does not depend on it */
} hmm_fit_opts;

typedef struct {
    double loglik;
    int iterations; /* EM iterations of the best start */
    int converged;  /* the best start stopped on tol, not on max_iter */
    int best_restart;
    int failed;     /* starts that produced a non-finite likelihood and were dropped */
} hmm_fit_info;

void hmm_fit_defaults(hmm_fit_opts *o);
/* Baum-Welch from the parameters in m (prepared), updated in place: at most
 * max_iter E-steps, stopping when the log-likelihood gains less than tol.
 * Returns the log-likelihood of the parameters left in m (non-finite when
 * the data cannot be evaluated); iterations gets the M-steps done and
 * converged whether it stopped on tol (both may be NULL). */
double hmm_em(hmm_t *m, const double *x, long T, int max_iter, double tol, double var_floor, int *iterations,
              int *converged);
/* Fit a model to x (T, D). Even starts take k-means++ clusters of the rows,
 * odd ones k-means clusters of each row's local window statistics (which
 * separate persistent regimes that overlap row by row); each is refined by
 * hmm_em. Returns the best model (caller frees) or NULL when every start
 * failed. info may be NULL. T must be at least K. */
hmm_t *hmm_fit(const double *x, long T, int D, const hmm_fit_opts *o, hmm_fit_info *info);

/* Draw T rows x (T, D) and their states (T) from the model (for tests and
 * benchmarks). Needs hmm_prepare() for full models (uses the Cholesky factor). */
void hmm_sample(const hmm_t *m, long T, uint64_t seed, double *x, int *states);

#endif
