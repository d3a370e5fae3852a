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
        real m = nn_sum(x, C) / C;
        real v = nn_sqdev(x, m, C) / C; /* two passes: no cancellation */
        real s = 1 / sqrt(v + (real)1e-5);
        real *y = out + (long)n * C;
        for (int c = 0; c < C; c++) y[c] = (x[c] - m) * s * w[c] + b[c];
        mean[n] = m, rstd[n] = s;
    }
}

/* sum of g xhat over a row, g = dy w, xhat = (x - m) s */
static inline real FN(ln_gxh)(const real *dy, const real *w, const real *x, real m, real s, int n)
{
#define LN_GXH(j) (dy[j] * w[j]) * ((x[j] - m) * s)
    NN_ROW_SUM(LN_GXH)
#undef LN_GXH
}

/* With xhat = (x - mean) rstd and g = dout * w:
 * dx = rstd (g - mean(g) - xhat mean(g xhat)). */
void FN(layernorm_backward)(real *din, real *dw, real *db, const real *dout, const real *in, const real *w,
                            const real *mean, const real *rstd, int N, int C)
{
    for (int n = 0; n < N; n++) {
        const real *x = in + (long)n * C, *dy = dout + (long)n * C;
        real m = mean[n], s = rstd[n];
        for (int c = 0; c < C; c++) {
            dw[c] += dy[c] * ((x[c] - m) * s);
            db[c] += dy[c];
        }
        real gm = nn_dot(dy, w, C) / C, gxm = FN(ln_gxh)(dy, w, x, m, s, C) / C;
        if (!din) continue;
        real *dx = din + (long)n * C;
        for (int c = 0; c < C; c++) dx[c] += s * (dy[c] * w[c] - gm - (x[c] - m) * s * gxm);
    }
}
