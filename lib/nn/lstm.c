/* lstm.c: one LSTM layer, PyTorch's formulation (see layers_decl.h).
 * B batch, T steps, I input width, H hidden. Gate order i, f, g, o: PyTorch
 * stacks the four gates' rows in that order in weight_ih/weight_hh/bias_*.
 *
 * Speed: the input projection of all steps is one matrix product
 * (B*T, I) x (I, 4H) before the recurrence; each step then adds one
 * (B, H) x (H, 4H) product, reading h_{t-1} in place with a row stride of T*H. */
#include "nn/nn_real.h"
#include "nn/layers.h"

#include <string.h>

void FN(lstm_forward)(real *h,          /* (B,T,H) */
                      real *c,          /* (B,T,H) cell state */
                      real *gates,      /* (B,T,4H) i, f, g, o after their activations */
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
    for (int t = 0; t < T; t++) {
        if (t > 0) /* gates[:,t] += h[:,t-1] w_hh^T */
            GEMM(0, 1, B, G, H, 1, h + (long)(t - 1) * H, T * H, w_hh, H, 1, gates + (long)t * G, T * G);
        for (int b = 0; b < B; b++) {
            real *g = gates + ((long)b * T + t) * G;
            real *ct = c + ((long)b * T + t) * H, *ht = h + ((long)b * T + t) * H;
            const real *cp = t > 0 ? ct - H : NULL;
            FN(nn_sigmoid_n)(g, g, 2 * H);             /* i, f */
            FN(nn_tanh_n)(g + 2 * H, g + 2 * H, H);    /* g */
            FN(nn_sigmoid_n)(g + 3 * H, g + 3 * H, H); /* o */
            const real *ig = g, *fg = g + H, *gg = g + 2 * H, *og = g + 3 * H;
            if (cp)
                for (int j = 0; j < H; j++) ct[j] = fg[j] * cp[j] + ig[j] * gg[j];
            else
                for (int j = 0; j < H; j++) ct[j] = 0 + ig[j] * gg[j];
            FN(nn_tanh_n)(ht, ct, H);
            for (int j = 0; j < H; j++) ht[j] = og[j] * ht[j];
        }
    }
}

/* One step of one sequence, units j < n of a block of H: from the activated
 * gates g (i, f, g, o at offsets 0, H, 2H, 3H), tanh(c_t), dh_t and c_{t-1}
 * (NULL at t = 0), the gates' pre-activation gradients dg and, in dc, the
 * cell gradient carried in (dc_{t+1} f_{t+1} path) and carried on. The
 * pointers never alias (restrict lets the loop vectorise). */
static void FN(lstm_cell_backward)(real *restrict dg, real *restrict dc, const real *restrict g,
                                   const real *restrict tc, const real *restrict dh, const real *restrict cp, int n,
                                   int H)
{
    static const real zero[256];
    if (!cp) cp = zero; /* c_{-1} = 0; a plain load keeps the loop free of branches (n <= 256) */
    for (int j = 0; j < n; j++) {
        real ig = g[j], fg = g[H + j], gg = g[2 * H + j], og = g[3 * H + j];
        real dct = dc[j] + dh[j] * og * (1 - tc[j] * tc[j]);
        real cprev = cp[j];
        dg[j] = dct * gg * ig * (1 - ig);              /* i */
        dg[H + j] = dct * cprev * fg * (1 - fg);       /* f */
        dg[2 * H + j] = dct * ig * (1 - gg * gg);      /* g */
        dg[3 * H + j] = dh[j] * tc[j] * og * (1 - og); /* o */
        dc[j] = dct * fg;
    }
}

void FN(lstm_backward)(real *din,         /* (B,T,I) or NULL */
                       real *dw_ih,       /* (4H,I) */
                       real *dw_hh,       /* (4H,H) */
                       real *db_ih,       /* (4H) */
                       real *db_hh,       /* (4H) */
                       real *dh,          /* (B,T,H) consumed */
                       real *dgates,      /* (B,T,4H) scratch: gradient of the pre-activations */
                       real *dc,          /* (B,H) scratch */
                       const real *h, const real *c, const real *gates, const real *in,
                       const real *w_ih, const real *w_hh, int B, int T, int I, int H)
{
    const int G = 4 * H;
    memset(dc, 0, sizeof(real) * B * H);
    for (int t = T - 1; t >= 0; t--) {
        for (int b = 0; b < B; b++) {
            const real *g = gates + ((long)b * T + t) * G;
            const real *ct = c + ((long)b * T + t) * H, *cp = t > 0 ? ct - H : NULL;
            const real *dht = dh + ((long)b * T + t) * H;
            real *dg = dgates + ((long)b * T + t) * G, *dcb = dc + (long)b * H;
            for (int j0 = 0; j0 < H; j0 += 256) {
                real tcs[256]; /* tanh(c_t), recomputed as the forward pass did, 256 units at a time */
                int jn = H - j0 < 256 ? H - j0 : 256;
                FN(nn_tanh_n)(tcs, ct + j0, jn);
                FN(lstm_cell_backward)(dg + j0, dcb + j0, g + j0, tcs, dht + j0, cp ? cp + j0 : NULL, jn, H);
            }
        }
        if (t > 0) /* dh[:,t-1] += dgates[:,t] w_hh */
            GEMM(0, 0, B, H, G, 1, dgates + (long)t * G, T * G, w_hh, H, 1, dh + (long)(t - 1) * H, T * H);
    }
    /* both biases enter every gate pre-activation alike: one column sum of
     * dgates is both gradients */
    FN(linear_backward)(din, dw_ih, NULL, dgates, in, w_ih, B * T, I, G);
    for (int j0 = 0; j0 < G; j0 += 256) {
        real acc[256] = {0};
        int jn = G - j0 < 256 ? G - j0 : 256;
        for (long r = 0; r < (long)B * T; r++)
            for (int j = 0; j < jn; j++) acc[j] += dgates[r * G + j0 + j];
        for (int j = 0; j < jn; j++) db_ih[j0 + j] += acc[j], db_hh[j0 + j] += acc[j];
    }
    /* dw_hh += sum_{b, t>=1} dgates[b,t]^T h[b,t-1], as one product: dh is
     * consumed, so it now holds h shifted one step (h_{-1} = 0 at t = 0). */
    for (int b = 0; b < B; b++) {
        real *s = dh + (long)b * T * H;
        memset(s, 0, sizeof(real) * H);
        memcpy(s + H, h + (long)b * T * H, sizeof(real) * (T - 1) * H);
    }
    GEMM(1, 0, G, H, B * T, 1, dgates, G, dh, H, 1, dw_hh, H);
}
