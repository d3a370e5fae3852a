/* pool.c: reductions over time: max-pool (kernel 2, stride 2), mean, last step.
 * B batch, T steps, C channels; activations (B,T,C). */
#include "nn/nn_real.h"
#include "nn/layers.h"

void FN(maxpool_forward)(real *out,      /* (B,T/2,C) */
                         int *arg,       /* (B,T/2,C) the step chosen */
                         const real *in, /* (B,T,C) */
                         int B, int T, int C)
{
    int To = T / 2;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < To; t++)
            for (int c = 0; c < C; c++) {
                long o = ((long)b * To + t) * C + c;
                real x0 = in[((long)b * T + 2 * t) * C + c], x1 = in[((long)b * T + 2 * t + 1) * C + c];
                /* ties and NaN keep the first step, as PyTorch's max_pool1d */
                int pick = x1 > x0 || (x1 != x1 && x0 == x0) ? 1 : 0;
                arg[o] = 2 * t + pick;
                out[o] = pick ? x1 : x0;
            }
}

void FN(maxpool_backward)(real *din, const real *dout, const int *arg, int B, int T, int C)
{
    int To = T / 2;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < To; t++)
            for (int c = 0; c < C; c++) {
                long o = ((long)b * To + t) * C + c;
                din[((long)b * T + arg[o]) * C + c] += dout[o];
            }
}

void FN(meantime_forward)(real *out /* (B,C) */, const real *in /* (B,T,C) */, int B, int T, int C)
{
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            real s = 0;
            for (int t = 0; t < T; t++) s += in[((long)b * T + t) * C + c];
            out[(long)b * C + c] = s / T;
        }
}

void FN(meantime_backward)(real *din, const real *dout, int B, int T, int C)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++) din[((long)b * T + t) * C + c] += dout[(long)b * C + c] / T;
}

void FN(laststep_forward)(real *out /* (B,C) */, const real *in /* (B,T,C) */, int B, int T, int C)
{
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) out[(long)b * C + c] = in[((long)b * T + T - 1) * C + c];
}

void FN(laststep_backward)(real *din, const real *dout, int B, int T, int C)
{
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) din[((long)b * T + T - 1) * C + c] += dout[(long)b * C + c];
}
