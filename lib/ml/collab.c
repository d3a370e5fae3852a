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

void collab_hedge(const collab_adapt *a, double *m, const double *r, const unsigned char *judged, int S)
{
    double rbar = 0;
    int n = 0;
    for (int s = 0; s < S; s++)
        if ((!judged || judged[s]) && isfinite(r[s])) rbar += r[s], n++;
    if (!n) return;
    rbar /= n;
    for (int s = 0; s < S; s++) {
        if ((judged && !judged[s]) || !isfinite(r[s])) continue;
        /* one exp of the excess return: the common factor exp(eta rbar) is
         * never formed, so a large eta * r cannot overflow it */
        double x = m[s] * exp(a->eta * (r[s] - rbar));
        m[s] = x < a->min ? a->min : x > a->max ? a->max : x;
    }
}

void collab_weights(const double *base, const double *m, const unsigned char *present, int S, double *w)
{
    double sum = 0;
    for (int s = 0; s < S; s++) {
        w[s] = present && !present[s] ? 0 : base[s] * m[s];
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
