/* collab.h: the arithmetic of model collaboration (kml-predict): regime
 * weights mixed by the regime probabilities, the online adaptation of the
 * weights to who has been right lately, the weights used on a bar, and the
 * decision's confidence. Pure functions on arrays, so each rule is tested
 * alone; docs/predict.md gives the formulas and why.
 *
 * Dimensions: S strategies (rule strategies and model:<arch>), R regimes. */
#ifndef KML_ML_COLLAB_H
#define KML_ML_COLLAB_H

/* ensemble.json's "adaptation" (docs/ensemble.md). */
typedef struct {
    double rate; /* EWMA rate of the after-fee returns' mean and square, in (0, 1] */
    double gain; /* factor = 1 + gain * t (t: the t-statistic of the recent mean) */
    double min, max; /* the factor's bounds: 0 < min <= 1 <= max */
} collab_adapt;

/* Regime weights mixed by probability: w[s] = sum_r p[r] W[r * S + s]
 * (W: R x S rows, each summing to 1 or all 0; p: R probabilities). */
void collab_mix(const double *W, const double *p, int R, int S, double *w);
/* One bar's after-fee return R of a strategy into its moments:
 * m <- (1 - rate) m + rate R, v <- (1 - rate) v + rate R^2. */
void collab_adapt_update(const collab_adapt *a, double *m, double *v, double R);
/* The weight factor of a strategy with moments m, v:
 * clamp(1 + gain * t, min, max), t = m / sqrt(v) * sqrt((2 - rate) / rate)
 * (t = 0 while v = 0). */
double collab_adapt_factor(const collab_adapt *a, double m, double v);
/* The weights used: w[s] = base[s] * factor[s] * present[s], renormalised
 * to sum to 1 (all 0 stays all 0). present NULL: every strategy. */
void collab_weights(const double *base, const double *factor, const unsigned char *present, int S, double *w);
/* Weighted agreement of the signals' signs: |sum_s w[s] sgn(sig[s])|, in
 * [0, 1] when the weights sum to at most 1; 0 when the signs cancel or
 * every signal is 0. */
double collab_agreement(const double *w, const double *sig, int S);
/* The decision's confidence from the agreement A, the models' weighted
 * probability margin M (mean of |p_up - p_down| over the models present,
 * by weight) and the probability P of the bar's regime, each in [0, 1]:
 *     confidence = A * (1 + M) / 2 * (1 + P) / 2
 * in [0, 1], 0 when nothing agrees (A = 0), rising with each of A, M, P. */
double collab_confidence(double A, double M, double P);

#endif
