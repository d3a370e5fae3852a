/* metrics.h: evaluation of 3-class (down, flat, up) probability forecasts.
 *
 * Dimensions: N samples, C = 3 classes (0 down, 1 flat, 2 up).
 * Every metric is computed on one split; the class prior used by the baseline
 * comes from the training split only, so the baseline is as honest as the
 * model. Undefined values (no sample, no bar beating the fee, constant ranks)
 * are NaN and become JSON null. */
#ifndef KML_TRAIN_METRICS_H
#define KML_TRAIN_METRICS_H

#include <cJSON.h>

#define KML_NCLASS 3
#define KML_ECE_BINS 10

typedef struct {
    long n;                  /* samples */
    double log_loss;         /* mean -log p(y) */
    double baseline_log_loss;/* mean -log prior(y), prior from the training split */
    double improvement;      /* baseline_log_loss - log_loss (> 0: better than the prior) */
    double accuracy;
    double balanced_accuracy;/* mean recall over the classes present */
    double macro_f1;         /* mean F1 over classes present or predicted */
    double brier;            /* mean sum_k (p_k - [y = k])^2 */
    double ece;              /* expected calibration error of the top class, 10 bins */
    double hit_rate;         /* sign(p_up - p_down) == sign(ret) where |ret| > fee */
    long hit_n;              /* bars where |ret| > fee */
    double ic;               /* Spearman rank correlation of p_up - p_down with ret */
    long confusion[KML_NCLASS][KML_NCLASS]; /* [true][predicted] */
} kml_metrics;

/* Compute every metric. p (N, 3) probabilities; y (N) labels in 0..2; ret (N)
 * forward returns or NULL (then hit_rate and ic are NaN; NaN entries are
 * skipped); prior (3) training-split class frequencies; fee: the move a bar
 * must beat to count for hit_rate (a log return, e.g. 2 x taker fee). */
void metrics_compute(kml_metrics *m, const double *p, const int *y, const double *ret, long n,
                     const double prior[KML_NCLASS], double fee);
/* Spearman rank correlation with average ranks for ties; NaN when n < 2 or a
 * side is constant. Scratch-free for the caller (allocates internally). */
double kml_spearman(const double *a, const double *b, long n);
/* Average ranks (1-based) of x into r. */
void kml_rank_average(const double *x, long n, double *r);
/* The metrics as a JSON object with the keys of the model metadata (caller deletes). */
cJSON *metrics_to_json(const kml_metrics *m);
/* Expected calibration error alone, and the per-bin table for the reliability
 * plot: conf[b], acc[b], count[b] (arrays of KML_ECE_BINS, may be NULL). */
double metrics_ece(const double *p, const int *y, long n, double *conf, double *acc, long *count);

#endif
