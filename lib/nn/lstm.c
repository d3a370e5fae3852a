/* lstm.c: one LSTM layer, PyTorch's formulation (see layers_decl.h).
 * B batch, T steps, I input width, H hidden. Gate order i, f, g, o: PyTorch
 * stacks the four gates' rows in that order in weight_ih/weight_hh/bias_*.
 *
 * Speed: the input projection of all steps is one matrix product
 * (B*T, I) x (I, 4H) before the recurrence; each step then adds one
 * (B, H) x (H, 4H) product, reading h_{t-1} in place with a row stride of T*H,
 * from w_hh transposed once (wt): OpenBLAS packs a plain (H, 4H) operand
 * faster than a transposed one, and it packs it again at every step (the
 * recurrent products take 6-15% less time). One row (B = 1) is a
 * matrix-vector product, which reads w_hh as it is. */
#include "nn/nn_real.h"
#include "nn/layers.h"

#include <string.h>

#ifdef NN_F64
/* One time step for B sequences (rows of g with stride ldg, of c, h, cp with
 * stride ld; cp NULL at t = 0): the double build's plain loops. The float
 * build calls simd.c's nn_lstm_step_forward/backward, the same arithmetic 16
 * units at a time. */
static void lstm_step_d(double *g, long ldg, double *c, double *h, const double *cp, long ld, int B, int H)
{
    for (int b = 0; b < B; b++) {
        double *gb = g + b * ldg, *ct = c + b * ld, *ht = h + b * ld;
        const double *cpb = cp ? cp + b * ld : NULL;
        nn_sigmoid_n_d(gb, gb, 2 * H);             /* i, f */
        nn_tanh_n_d(gb + 2 * H, gb + 2 * H, H);    /* g */
        nn_sigmoid_n_d(gb + 3 * H, gb + 3 * H, H); /* o */
        const double *ig = gb, *fg = gb + H, *gg = gb + 2 * H, *og = gb + 3 * H;
        for (int j = 0; j < H; j++) ct[j] = (cpb ? fg[j] * cpb[j] : 0) + ig[j] * gg[j];
        for (int j = 0; j < H; j++) ht[j] = og[j] * tanh(ct[j]);
    }
}
static void lstm_step_backward_d(double *dg, double *dc, double *db, const double *g, long ldg, const double *c,
                                 const double *cp, const double *dh, long ld, int B, int H)
{
    for (int b = 0; b < B; b++) {
        double *dgb = dg + b * ldg, *dcb = dc + (long)b * H;
        const double *gb = g + b * ldg, *ct = c + b * ld, *dht = dh + b * ld;
        for (int j = 0; j < H; j++) {
            double ig = gb[j], fg = gb[H + j], gg = gb[2 * H + j], og = gb[3 * H + j];
            double tc = tanh(ct[j]), cprev = cp ? cp[b * ld + j] : 0;
            double dct = dcb[j] + dht[j] * og * (1 - tc * tc);
            dgb[j] = dct * gg * ig * (1 - ig);              /* i */
            dgb[H + j] = dct * cprev * fg * (1 - fg);       /* f */
            dgb[2 * H + j] = dct * ig * (1 - gg * gg);      /* g */
            dgb[3 * H + j] = dht[j] * tc * og * (1 - og);   /* o */
            dcb[j] = dct * fg;
            db[j] += dgb[j], db[H + j] += dgb[H + j], db[2 * H + j] += dgb[2 * H + j], db[3 * H + j] += dgb[3 * H + j];
        }
    }
}
#else
#define lstm_step nn_lstm_step_forward
#define lstm_step_backward nn_lstm_step_backward
#endif

void FN(lstm_forward)(real *h,          /* (B,T,H) */
                      real *c,          /* (B,T,H) cell state */
                      real *gates,      /* (B,T,4H) i, f, g, o after their activations */
                      real *wt,         /* (H,4H) scratch: w_hh transposed */
                      const real *in,   /* (B,T,I) */
                      const real *w_ih, /* (4H,I) */
                      const real *w_hh, /* (4H,H) */
                      const real *b_ih, /* (4H) */
                      const real *b_hh, /* (4H) */
                      int B, int T, int I, int H)
{
    const int G = 4 * H;
    /* all steps' x w_ih^T + (b_ih + b_hh) at once: the biases first, then the product added */
    for (long r = 0; r < (long)B * T; r++)
        for (int j = 0; j < G; j++) gates[r * G + j] = b_ih[j] + b_hh[j];
    GEMM(0, 1, B * T, G, I, 1, in, I, w_ih, I, 1, gates, G);
    if (B > 1) FN(transpose)(wt, w_hh, G, H);
    for (int t = 0; t < T; t++) {
        if (t > 0 && B > 1) /* gates[:,t] += h[:,t-1] w_hh^T */
            GEMM(0, 0, B, G, H, 1, h + (long)(t - 1) * H, T * H, wt, G, 1, gates + (long)t * G, T * G);
        else if (t > 0)
            GEMM(0, 1, B, G, H, 1, h + (long)(t - 1) * H, T * H, w_hh, H, 1, gates + (long)t * G, T * G);
        FN(lstm_step)(gates + (long)t * G, (long)T * G, c + (long)t * H, h + (long)t * H,
                      t > 0 ? c + (long)(t - 1) * H : NULL, (long)T * H, B, H);
    }
}

void FN(lstm_backward)(real *din,         /* (B,T,I) or NULL */
                       real *dw_ih,       /* (4H,I) */
                       real *dw_hh,       /* (4H,H) */
                       real *db_ih,       /* (4H) */
                       real *db_hh,       /* (4H) */
                       real *dh,          /* (B,T,H) consumed */
                       real *dgates,      /* (B,T,4H) scratch: gradient of the pre-activations */
                       real *dc,          /* (B*H + 4H) scratch: the cell's gradient, the biases' */
                       const real *h, const real *c, const real *gates, const real *in,
                       const real *w_ih, const real *w_hh, int B, int T, int I, int H)
{
    const int G = 4 * H;
    /* both biases enter every gate pre-activation alike: their gradient is
     * one sum of dgates' rows, which the steps add into db */
    real *db = dc + (long)B * H;
    memset(dc, 0, sizeof(real) * ((long)B * H + G));
    for (int t = T - 1; t >= 0; t--) {
        FN(lstm_step_backward)(dgates + (long)t * G, dc, db, gates + (long)t * G, (long)T * G, c + (long)t * H,
                               t > 0 ? c + (long)(t - 1) * H : NULL, dh + (long)t * H, (long)T * H, B, H);
        if (t > 0) /* dh[:,t-1] += dgates[:,t] w_hh */
            GEMM(0, 0, B, H, G, 1, dgates + (long)t * G, T * G, w_hh, H, 1, dh + (long)(t - 1) * H, T * H);
    }
    for (int j = 0; j < G; j++) db_ih[j] += db[j], db_hh[j] += db[j];
    FN(linear_backward)(din, dw_ih, NULL, dgates, in, w_ih, B * T, I, G);
    /* dw_hh += sum_{b, t>=1} dgates[b,t]^T h[b,t-1], as one product: dh is
     * consumed, so it now holds h shifted one step (h_{-1} = 0 at t = 0). */
    for (int b = 0; b < B; b++) {
        real *s = dh + (long)b * T * H;
        memset(s, 0, sizeof(real) * H);
        memcpy(s + H, h + (long)b * T * H, sizeof(real) * (T - 1) * H);
    }
    GEMM(1, 0, G, H, B * T, 1, dgates, G, dh, H, 1, dw_hh, H);
}
