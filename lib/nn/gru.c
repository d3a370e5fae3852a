/* gru.c: one GRU layer, PyTorch's formulation (see layers_decl.h): gate order
 * r, z, n, and the reset gate multiplies (W_hn h + b_hn), not h.
 * B batch, T steps, I input width, H hidden. As in lstm.c, the input
 * projection of all steps is one matrix product before the recurrence. */
#include "nn/nn_real.h"
#include "nn/layers.h"

#include <string.h>

void FN(gru_forward)(real *h,          /* (B,T,H) */
                     real *gates,      /* (B,T,3H) r, z, n after their activations */
                     real *hn,         /* (B,T,H) W_hn h_{t-1} + b_hn */
                     real *gh,         /* (B,3H) scratch */
                     const real *in,   /* (B,T,I) */
                     const real *w_ih, /* (3H,I) */
                     const real *w_hh, /* (3H,H) */
                     const real *b_ih, /* (3H) */
                     const real *b_hh, /* (3H) */
                     int B, int T, int I, int H)
{
    const int G = 3 * H;
    FN(linear_forward)(gates, in, w_ih, b_ih, B * T, I, G); /* x w_ih^T + b_ih, all steps */
    for (int t = 0; t < T; t++) {
        if (t > 0) /* gh = h[:,t-1] w_hh^T */
            GEMM(0, 1, B, G, H, 1, h + (long)(t - 1) * H, T * H, w_hh, H, 0, gh, G);
        else
            memset(gh, 0, sizeof(real) * B * G);
        for (int b = 0; b < B; b++) {
            real *g = gates + ((long)b * T + t) * G, *ghb = gh + (long)b * G;
            real *ht = h + ((long)b * T + t) * H, *hnt = hn + ((long)b * T + t) * H;
            const real *hp = t > 0 ? ht - H : NULL;
            for (int j = 0; j < 2 * H; j++) g[j] = g[j] + ghb[j] + b_hh[j];
            FN(nn_sigmoid_n)(g, g, 2 * H); /* r, z */
            const real *r = g, *z = g + H;
            real *n = g + 2 * H;
            for (int j = 0; j < H; j++) {
                hnt[j] = ghb[2 * H + j] + b_hh[2 * H + j];
                n[j] = n[j] + r[j] * hnt[j];
            }
            FN(nn_tanh_n)(n, n, H);
            if (hp)
                for (int j = 0; j < H; j++) ht[j] = (1 - z[j]) * n[j] + z[j] * hp[j];
            else
                for (int j = 0; j < H; j++) ht[j] = (1 - z[j]) * n[j] + 0;
        }
    }
}

/* One step of one sequence: from the activated gates g (r, z, n at offsets
 * 0, H, 2H), hn = W_hn h_{t-1} + b_hn, dh_t and h_{t-1} (hp, NULL at t = 0):
 * the input-side (dx) and hidden-side (dhh) pre-activation gradients, and
 * dh_{t-1} += dh_t z (dhp; hp and dhp are both NULL at t = 0). The pointers never alias
 * (restrict lets the loop vectorise). */
static void FN(gru_cell_backward)(real *restrict dx, real *restrict dhh, real *restrict dhp, const real *restrict dh,
                                  const real *restrict g, const real *restrict hn, const real *restrict hp, int H)
{
#define GRU_CELL(HPREV)                                                          \
    for (int j = 0; j < H; j++) {                                                \
        real r = g[j], z = g[H + j], n = g[2 * H + j], hprev = HPREV;            \
        real dn = dh[j] * (1 - z) * (1 - n * n);                                 \
        real dz = dh[j] * (hprev - n) * z * (1 - z);                             \
        real dr = dn * hn[j] * r * (1 - r);                                      \
        dx[j] = dr, dx[H + j] = dz, dx[2 * H + j] = dn;                          \
        dhh[j] = dr, dhh[H + j] = dz, dhh[2 * H + j] = dn * r;                   \
        if (hp) dhp[j] += dh[j] * z;                                             \
    }
    /* t = 0 and t > 0 as separate loops, so neither has a branch inside */
    if (hp) {
        GRU_CELL(hp[j])
    } else {
        GRU_CELL(0)
    }
#undef GRU_CELL
}

void FN(gru_backward)(real *din,    /* (B,T,I) or NULL */
                      real *dw_ih,  /* (3H,I) */
                      real *dw_hh,  /* (3H,H) */
                      real *db_ih,  /* (3H) */
                      real *db_hh,  /* (3H) */
                      real *dh,     /* (B,T,H) consumed */
                      real *dgx,    /* (B,T,3H) scratch: gradient of the input-side pre-activations */
                      real *dgh,    /* (B,T,3H) scratch: gradient of h_{t-1} w_hh^T + b_hh */
                      const real *h, const real *gates, const real *hn, const real *in,
                      const real *w_ih, const real *w_hh, int B, int T, int I, int H)
{
    const int G = 3 * H;
    for (int t = T - 1; t >= 0; t--) {
        for (int b = 0; b < B; b++) {
            const real *g = gates + ((long)b * T + t) * G, *hnt = hn + ((long)b * T + t) * H;
            real *dht = dh + ((long)b * T + t) * H;
            real *dx = dgx + ((long)b * T + t) * G, *dhh = dgh + ((long)b * T + t) * G;
            const real *hp = t > 0 ? h + ((long)b * T + t - 1) * H : NULL;
            real *dhp = t > 0 ? dht - H : NULL;
            FN(gru_cell_backward)(dx, dhh, dhp, dht, g, hnt, hp, H);
        }
        if (t > 0) /* dh[:,t-1] += dgh[:,t] w_hh */
            GEMM(0, 0, B, H, G, 1, dgh + (long)t * G, T * G, w_hh, H, 1, dh + (long)(t - 1) * H, T * H);
    }
    FN(linear_backward)(din, dw_ih, db_ih, dgx, in, w_ih, B * T, I, G);
    for (long r = 0; r < (long)B * T; r++)
        for (int j = 0; j < G; j++) db_hh[j] += dgh[r * G + j];
    /* dw_hh += sum_{b, t>=1} dgh[b,t]^T h[b,t-1], as one product: dh is
     * consumed, so it now holds h shifted one step (h_{-1} = 0 at t = 0). */
    for (int b = 0; b < B; b++) {
        real *s = dh + (long)b * T * H;
        memset(s, 0, sizeof(real) * H);
        memcpy(s + H, h + (long)b * T * H, sizeof(real) * (T - 1) * H);
    }
    GEMM(1, 0, G, H, B * T, 1, dgh, G, dh, H, 1, dw_hh, H);
}
