/* linear.c: Linear (PyTorch's nn.Linear), out = in w^T + b.
 * N rows, I input width, O output width. */
#include "nn/nn_real.h"
#include "nn/layers.h"

#include <string.h>

void FN(linear_forward)(real *out,      /* (N,O) */
                        const real *in, /* (N,I) */
                        const real *w,  /* (O,I) */
                        const real *b,  /* (O) or NULL */
                        int N, int I, int O)
{
    if (!b) {
        GEMM(0, 1, N, O, I, 1, in, I, w, I, 0, out, O);
        return;
    }
    /* the bias first, then out += in w^T: the same sum (in w^T) + b as adding
     * it afterwards, without a pass of BLAS zeroing out and a pass adding b */
    for (int n = 0; n < N; n++) memcpy(out + (long)n * O, b, sizeof(real) * O);
    GEMM(0, 1, N, O, I, 1, in, I, w, I, 1, out, O);
}

void FN(linear_backward)(real *din,       /* (N,I) or NULL */
                         real *dw,        /* (O,I) */
                         real *db,        /* (O) or NULL */
                         const real *dout, /* (N,O) */
                         const real *in,  /* (N,I) */
                         const real *w,   /* (O,I) */
                         int N, int I, int O)
{
    if (din) GEMM(0, 0, N, I, O, 1, dout, O, w, I, 1, din, I); /* din += dout w */
    GEMM(1, 0, O, I, N, 1, dout, O, in, I, 1, dw, I);          /* dw += dout^T in */
    if (db)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < O; o++) db[o] += dout[(long)n * O + o];
}

void FN(transpose)(real *out,     /* (C,R) */
                   const real *in, /* (R,C) */
                   int R, int C)
{
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) out[(long)c * R + r] = in[(long)r * C + c];
}
