/* collab.c: see collab.h. */
#include "ml/collab.h"

#include <math.h>

void collab_mix(const double *W, const double *p, int R, int S, double *w)
{
    for (int s = 0; s < S; s++) {
        double x = 0;
        for (int r = 0; r < R; r++) x += p[r] * W[r * S + s];
        w[s] = x;
    }
}

void collab_adapt_update(const collab_adapt *a, double *m, double *v, double R)
{
    *m = (1 - a->rate) * *m + a->rate * R;
    *v = (1 - a->rate) * *v + a->rate * R * R;
}

double collab_adapt_factor(const collab_adapt *a, double m, double v)
{
    /* An EWMA of rate a has an effective sample size (2 - a) / a: the mean's
     * t-statistic scales m / sqrt(v) by its square root, so a factor means
     * the same evidence whatever the rate. */
    double t = v > 0 ? m / sqrt(v) * sqrt((2 - a->rate) / a->rate) : 0;
    double f = 1 + a->gain * t;
    return f < a->min ? a->min : f > a->max ? a->max : f;
}

void collab_weights(const double *base, const double *factor, const unsigned char *present, int S, double *w)
{
    double sum = 0;
    for (int s = 0; s < S; s++) {
        w[s] = present && !present[s] ? 0 : base[s] * factor[s];
        sum += w[s];
    }
    for (int s = 0; s < S; s++) w[s] = sum > 0 ? w[s] / sum : 0;
}

double collab_agreement(const double *w, const double *sig, int S)
{
    double a = 0;
    for (int s = 0; s < S; s++) a += w[s] * (sig[s] > 0 ? 1 : sig[s] < 0 ? -1 : 0);
    a = fabs(a);
    return a > 1 ? 1 : a; /* rounding of weights that sum to 1 */
}

static double unit(double x) { return x > 1 ? 1 : x > 0 ? x : 0; }

double collab_confidence(double A, double M, double P)
{
    return unit(A) * (1 + unit(M)) / 2 * (1 + unit(P)) / 2;
}
