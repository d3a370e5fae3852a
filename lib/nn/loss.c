/* loss.c: softmax cross-entropy with class weights, as PyTorch's
 * CrossEntropyLoss(weight=cw, reduction='mean'). B rows, C classes. */
#include "nn/nn_real.h"
#include "nn/layers.h"

#include <math.h>

double FN(crossentropy_forward)(real *probs,        /* (B,C) */
                                const real *logits, /* (B,C) */
                                const int *y,       /* (B) in [0,C) */
                                const real *cw,     /* (C) or NULL */
                                int B, int C)
{
    double num = 0, den = 0;
    for (int b = 0; b < B; b++) {
        const real *z = logits + (long)b * C;
        /* log-sum-exp around the maximum, in double */
        double mx = z[0], s = 0;
        for (int c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
        for (int c = 0; c < C; c++) s += exp((double)z[c] - mx);
        for (int c = 0; c < C; c++) probs[(long)b * C + c] = (real)(exp((double)z[c] - mx) / s);
        double w = cw ? cw[y[b]] : 1;
        num += w * (mx + log(s) - z[y[b]]);
        den += w;
    }
    return den > 0 ? num / den : 0;
}

void FN(crossentropy_backward)(real *dlogits, const real *probs, const int *y, const real *cw, double dloss,
                               int B, int C)
{
    double den = 0;
    for (int b = 0; b < B; b++) den += cw ? cw[y[b]] : 1;
    if (!(den > 0)) return;
    for (int b = 0; b < B; b++) {
        double k = dloss * (cw ? cw[y[b]] : 1) / den;
        for (int c = 0; c < C; c++)
            dlogits[(long)b * C + c] += (real)(k * ((double)probs[(long)b * C + c] - (c == y[b])));
    }
}
