/* conv1d.c: Conv1d over time with dilation and any left/right zero padding,
 * as im2col + one matrix product. Activations are channels last (B,T,C);
 * the weight is PyTorch's Conv1d.weight (O,C,K).
 * B batch, T input steps, To output steps, C in channels, O out channels, K kernel.
 *
 * For batches (see conv_kc), conv1d_forward/backward order the im2col
 * columns k*C + c (an input step's C channels side by side), so a row is K
 * copies of whole input rows, and use the weight with its last two axes
 * swapped, wp (O,K,C): 4x faster im2col than the (c, k) order of PyTorch's
 * weight, whose stores are K apart; the swap is O*C*K elements a call.
 * conv1d_steps_* (the TCN's few steps) keep the (c, k) order and the weight
 * as it is. */
#include "nn/nn_real.h"
#include "nn/layers.h"

#include <string.h>

#include "util.h"

static int FN(conv_is_plain)(int K, int padl, int T, int To)
{
    return K == 1 && padl == 0 && T == To;
}

/* The (k, c) column order when im2col has many more rows than the weight
 * has elements per row of output (training batches: B*To 2048-4096 against O
 * 64): its weight swap (O*C*K elements a call) then costs little. A single
 * window (B*To 32-64) keeps PyTorch's (c, k) order and the weight as it is
 * (the swap made the CNN's one-window latency 3 us longer). */
static int FN(conv_kc)(int B, int To, int O)
{
    return (long)B * To >= 8L * O;
}

/* wp (O,K,C) = w (O,C,K) with its last two axes swapped */
static void FN(conv_swap_kc)(real *wp, const real *w, int O, int C, int K)
{
    for (int o = 0; o < O; o++)
        for (int k = 0; k < K; k++)
            for (int c = 0; c < C; c++) wp[((long)o * K + k) * C + c] = w[((long)o * C + c) * K + k];
}

void FN(conv1d_forward)(real *out,      /* (B,To,O) */
                        real *col,      /* (B*To, C*K), or NULL when K == 1 and no padding */
                        real *wp,       /* (O,K,C) scratch, or NULL with col */
                        const real *in, /* (B,T,C) */
                        const real *w,  /* (O,C,K) */
                        const real *b,  /* (O) */
                        int B, int T, int C, int O, int K, int dil, int padl, int To)
{
    const int CK = C * K, kc = FN(conv_kc)(B, To, O);
    if (FN(conv_is_plain)(K, padl, T, To)) {
        FN(linear_forward)(out, in, w, b, B * To, C, O);
        return;
    }
    /* im2col: row (b,t) holds x[b, t + k*dil - padl, c] at column k*C + c
     * (kc) or c*K + k */
    for (int bb = 0; bb < B; bb++)
        for (int t = 0; t < To; t++) {
            real *row = col + ((long)bb * To + t) * CK;
            for (int k = 0; k < K; k++) {
                int s = t + k * dil - padl;
                const real *x = s < 0 || s >= T ? NULL : in + ((long)bb * T + s) * C;
                if (kc && !x) memset(row + (long)k * C, 0, sizeof(real) * C);
                else if (kc) memcpy(row + (long)k * C, x, sizeof(real) * C);
                else
                    for (int c = 0; c < C; c++) row[c * K + k] = x ? x[c] : 0;
            }
        }
    if (kc) FN(conv_swap_kc)(wp, w, O, C, K);
    FN(linear_forward)(out, col, kc ? wp : w, b, B * To, CK, O); /* out (B*To,O) = col w^T + b */
}

void FN(conv1d_backward)(real *din,        /* (B,T,C) or NULL */
                         real *dw,         /* (O,C,K) */
                         real *db,         /* (O) */
                         real *dcol,       /* (B*To, C*K) scratch, unused for a plain 1x1 conv */
                         real *wp,         /* (2,O,K,C) scratch, unused for a plain 1x1 conv */
                         const real *dout, /* (B,To,O) */
                         const real *col,  /* (B*To, C*K) from the forward pass */
                         const real *in,   /* (B,T,C) */
                         const real *w,    /* (O,C,K) */
                         int B, int T, int C, int O, int K, int dil, int padl, int To)
{
    const int CK = C * K, kc = FN(conv_kc)(B, To, O);
    if (FN(conv_is_plain)(K, padl, T, To)) {
        FN(linear_backward)(din, dw, db, dout, in, w, B * To, C, O);
        return;
    }
    if (kc) { /* dw in the swapped order, then added back in PyTorch's */
        real *dwp = wp + (long)O * CK;
        memset(dwp, 0, sizeof(real) * O * CK);
        FN(linear_backward)(NULL, dwp, db, dout, col, wp, B * To, CK, O);
        for (int o = 0; o < O; o++)
            for (int c = 0; c < C; c++)
                for (int k = 0; k < K; k++) dw[((long)o * C + c) * K + k] += dwp[((long)o * K + k) * C + c];
    } else {
        FN(linear_backward)(NULL, dw, db, dout, col, w, B * To, CK, O);
    }
    if (!din) return;
    if (kc) FN(conv_swap_kc)(wp, w, O, C, K);
    /* nb sequences at a time, so that their dcol (which BLAS zeroes, then
     * fills, then col2im reads) stays in the cache: 64K floats */
    const int nb = (long)To * CK >= 65536 ? 1 : (int)(65536 / ((long)To * CK));
    for (int b0 = 0; b0 < B; b0 += nb) {
        const int n = B - b0 < nb ? B - b0 : nb;
        GEMM(0, 0, n * To, CK, O, 1, dout + (long)b0 * To * O, O, kc ? wp : w, CK, 0, dcol, CK); /* dcol = dout w */
        /* col2im: add each input row's K copies back to the step it was read from */
        for (int bb = 0; bb < n; bb++)
            for (int t = 0; t < To; t++) {
                const real *row = dcol + ((long)bb * To + t) * CK;
                for (int k = 0; k < K; k++) {
                    int s = t + k * dil - padl;
                    if (s < 0 || s >= T) continue;
                    real *dx = din + ((long)(b0 + bb) * T + s) * C;
                    if (kc)
                        for (int c = 0; c < C; c++) dx[c] += row[(long)k * C + c];
                    else
                        for (int c = 0; c < C; c++) dx[c] += row[c * K + k];
                }
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
