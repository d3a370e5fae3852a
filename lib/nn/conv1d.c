/* conv1d.c: Conv1d over time with dilation and any left/right zero padding,
 * as im2col + one matrix product. Activations are channels last (B,T,C);
 * the weight is PyTorch's Conv1d.weight (O,C,K), used as an (O, C*K) matrix
 * whose columns c*K + k match the im2col columns.
 * B batch, T input steps, To output steps, C in channels, O out channels, K kernel. */
#include "nn/nn_real.h"
#include "nn/layers.h"

#include <string.h>

#include "util.h"

static int FN(conv_is_plain)(int K, int padl, int T, int To)
{
    return K == 1 && padl == 0 && T == To;
}

void FN(conv1d_forward)(real *out,      /* (B,To,O) */
                        real *col,      /* (B*To, C*K), or NULL when K == 1 and no padding */
                        const real *in, /* (B,T,C) */
                        const real *w,  /* (O,C,K) */
                        const real *b,  /* (O) */
                        int B, int T, int C, int O, int K, int dil, int padl, int To)
{
    const int CK = C * K;
    const real *A = in;
    if (!FN(conv_is_plain)(K, padl, T, To)) {
        /* im2col: row (b,t) holds x[b, t + k*dil - padl, c] at column c*K + k. */
        for (int bb = 0; bb < B; bb++)
            for (int t = 0; t < To; t++) {
                real *row = col + ((long)bb * To + t) * CK;
                for (int k = 0; k < K; k++) {
                    int s = t + k * dil - padl;
                    if (s < 0 || s >= T) {
                        for (int c = 0; c < C; c++) row[c * K + k] = 0;
                    } else {
                        const real *x = in + ((long)bb * T + s) * C;
                        for (int c = 0; c < C; c++) row[c * K + k] = x[c];
                    }
                }
            }
        A = col;
    }
    FN(linear_forward)(out, A, w, b, B * To, CK, O); /* out (B*To,O) = col w^T + b */
}

void FN(conv1d_backward)(real *din,        /* (B,T,C) or NULL */
                         real *dw,         /* (O,C,K) */
                         real *db,         /* (O) */
                         real *dcol,       /* (B*To, C*K) scratch, unused for a plain 1x1 conv */
                         const real *dout, /* (B,To,O) */
                         const real *col,  /* (B*To, C*K) from the forward pass */
                         const real *in,   /* (B,T,C) */
                         const real *w,    /* (O,C,K) */
                         int B, int T, int C, int O, int K, int dil, int padl, int To)
{
    const int CK = C * K;
    if (FN(conv_is_plain)(K, padl, T, To)) {
        FN(linear_backward)(din, dw, db, dout, in, w, B * To, C, O);
        return;
    }
    FN(linear_backward)(NULL, dw, db, dout, col, w, B * To, CK, O);
    if (!din) return;
    GEMM(0, 0, B * To, CK, O, 1, dout, O, w, CK, 0, dcol, CK); /* dcol = dout w */
    /* col2im: scatter-add each column back to the input step it was read from. */
    for (int bb = 0; bb < B; bb++)
        for (int t = 0; t < To; t++) {
            const real *row = dcol + ((long)bb * To + t) * CK;
            for (int k = 0; k < K; k++) {
                int s = t + k * dil - padl;
                if (s < 0 || s >= T) continue;
                real *dx = din + ((long)bb * T + s) * C;
                for (int c = 0; c < C; c++) dx[c] += row[c * K + k];
            }
        }
}

/* Time t of element j of a buffer holding n steps at stride s ending at T-1. */
static inline int FN(ap_time)(int T, int s, int n, int j) { return T - 1 - (n - 1 - j) * s; }

/* Row of input time tau in a buffer (s, n) ending at T-1; -1 for zero
 * padding (tau outside [0,T)). Every other tau must be on the buffer's grid. */
static inline int FN(ap_row)(int tau, int T, int s, int n)
{
    if (tau < 0 || tau >= T) return -1;
    int back = T - 1 - tau, j = n - 1 - back / s;
    ASSERT(back % s == 0 && j >= 0);
    return j;
}

void FN(conv1d_steps_forward)(real *out, real *col, const real *in, const real *w, const real *b, int B, int T,
                              int C, int O, int K, int dil, int padl, int si, int ni, int so, int no)
{
    const int CK = C * K;
    for (int bb = 0; bb < B; bb++)
        for (int j = 0; j < no; j++) {
            int t = FN(ap_time)(T, so, no, j);
            real *row = col + ((long)bb * no + j) * CK;
            for (int k = 0; k < K; k++) {
                int r = FN(ap_row)(t + k * dil - padl, T, si, ni);
                if (r < 0) {
                    for (int c = 0; c < C; c++) row[c * K + k] = 0;
                } else {
                    const real *x = in + ((long)bb * ni + r) * C;
                    for (int c = 0; c < C; c++) row[c * K + k] = x[c];
                }
            }
        }
    FN(linear_forward)(out, col, w, b, B * no, CK, O);
}

void FN(conv1d_steps_backward)(real *din, real *dw, real *db, real *dcol, const real *dout, const real *col,
                               const real *w, int B, int T, int C, int O, int K, int dil, int padl, int si, int ni,
                               int so, int no)
{
    const int CK = C * K;
    FN(linear_backward)(NULL, dw, db, dout, col, w, B * no, CK, O);
    if (!din) return;
    GEMM(0, 0, B * no, CK, O, 1, dout, O, w, CK, 0, dcol, CK); /* dcol = dout w */
    for (int bb = 0; bb < B; bb++)
        for (int j = 0; j < no; j++) {
            int t = FN(ap_time)(T, so, no, j);
            const real *row = dcol + ((long)bb * no + j) * CK;
            for (int k = 0; k < K; k++) {
                int r = FN(ap_row)(t + k * dil - padl, T, si, ni);
                if (r < 0) continue;
                real *dx = din + ((long)bb * ni + r) * C;
                for (int c = 0; c < C; c++) dx[c] += row[c * K + k];
            }
        }
}
