/* layernorm.c: LayerNorm over the last axis (PyTorch's nn.LayerNorm, eps 1e-5,
 * biased variance). N rows, C channels. */
#include "nn/nn_real.h"
#include "nn/layers.h"

void FN(layernorm_forward)(real *out,      /* (N,C) */
                           real *mean,     /* (N) */
                           real *rstd,     /* (N) 1/sqrt(var + eps) */
                           const real *in, /* (N,C) */
                           const real *w,  /* (C) */
                           const real *b,  /* (C) */
                           int N, int C)
{
    for (int n = 0; n < N; n++) {
        const real *x = in + (long)n * C;
        real m = 0, v = 0;
        for (int c = 0; c < C; c++) m += x[c];
        m /= C;
        for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m); /* two passes: no cancellation */
        v /= C;
        real s = 1 / sqrt(v + (real)1e-5);
        real *y = out + (long)n * C;
        for (int c = 0; c < C; c++) y[c] = (x[c] - m) * s * w[c] + b[c];
        mean[n] = m, rstd[n] = s;
    }
}

/* With xhat = (x - mean) rstd and g = dout * w:
 * dx = rstd (g - mean(g) - xhat mean(g xhat)). */
void FN(layernorm_backward)(real *din, real *dw, real *db, const real *dout, const real *in, const real *w,
                            const real *mean, const real *rstd, int N, int C)
{
    for (int n = 0; n < N; n++) {
        const real *x = in + (long)n * C, *dy = dout + (long)n * C;
        real m = mean[n], s = rstd[n], gm = 0, gxm = 0;
        for (int c = 0; c < C; c++) {
            real xh = (x[c] - m) * s, g = dy[c] * w[c];
            gm += g, gxm += g * xh;
            dw[c] += dy[c] * xh;
            db[c] += dy[c];
        }
        gm /= C, gxm /= C;
        if (!din) continue;
        real *dx = din + (long)n * C;
        for (int c = 0; c < C; c++) dx[c] += s * (dy[c] * w[c] - gm - (x[c] - m) * s * gxm);
    }
}
