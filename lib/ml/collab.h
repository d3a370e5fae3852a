/* collab.h: the arithmetic of model collaboration (kml-predict): regime
 * weights mixed by the regime probabilities, the online adaptation of the
 * weights to who has been right lately, the weights used on a bar, and the
 * decision's confidence. Pure functions on arrays, so each rule is tested
 * alone; docs/predict.md gives the formulas and why.
 *
 * Dimensions: S strategies (rule strategies and model:<arch>), R regimes. */
#ifndef KML_ML_COLLAB_H
#define KML_ML_COLLAB_H

/* ensemble.json's "adaptation" (docs/ensemble.md, docs/predict.md). */
typedef struct {
    double eta;      /* Hedge's learning rate per unit of after-fee log return ("rate"), >= 0; 0: no adaptation */
    double min, max; /* bounds of every multiplier: 0 < min <= 1 <= max */
} collab_adapt;

/* Regime weights mixed by probability: w[s] = sum_r p[r] W[r * S + s]
 * (W: R x S rows, each summing to 1 or all 0; p: R probabilities). */
void collab_mix(const double *W, const double *p, int R, int S, double *w);
/* One Hedge step, when a bar's outcome is known. r[s]: strategy s's
 * after-fee return on the bar (strategy_bar_return); judged[s]: whether it
 * was judged on it (NULL: every strategy; a non-finite r[s] is not judged).
 * With rbar the mean of r over the judged strategies, each judged
 * multiplier becomes
 *     m[s] <- clamp(m[s] * exp(eta * (r[s] - rbar)), min, max)
 * that is Hedge's m[s] exp(eta r[s]) divided by exp(eta rbar), the geometric
 * mean of the step's factors: a factor common to all, so the weights
 * base * m it gives are Hedge's, but the multipliers measure the returns
 * relative to each other and do not drift with what every strategy earned
 * alike. The others are untouched. Multipliers start at 1. */
void collab_hedge(const collab_adapt *a, double *m, const double *r, const unsigned char *judged, int S);
/* The weights used: w[s] = base[s] * m[s] * present[s] (m: the adaptive
 * multipliers), renormalised to sum to 1 (all 0 stays all 0). present NULL:
 * every strategy. With every m in [min, max], w[s] lies within min / max and
 * max / min times base[s]'s share of the base weights present. */
void collab_weights(const double *base, const double *m, const unsigned char *present, int S, double *w);
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
