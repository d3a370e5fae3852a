/* gru.c: one GRU layer, PyTorch's formulation (see layers_decl.h): gate order
 * r, z, n, and the reset gate multiplies (W_hn h + b_hn), not h.
 * B batch, T steps, I input width, H hidden. As in lstm.c, the input
 * projection of all steps is one matrix product before the recurrence, and
 * the recurrent products read w_hh transposed once (wt) when B > 1. */
#include "nn/nn_real.h"
#include "nn/layers.h"

#include <string.h>

#ifdef NN_F64
/* One time step for B sequences (rows of g with stride ldg; of hn, h, hp
 * with stride ld; hp NULL at t = 0; gh (B,3H) = h_{t-1} w_hh^T): the double
 * build's plain loops. The float build calls simd.c's
 * nn_gru_step_forward/backward, the same arithmetic 16 units at a time. */
static void gru_step_d(double *g, long ldg, double *hn, double *h, const double *hp, long ld, const double *gh,
                       const double *b_hh, int B, int H)
{
    for (int b = 0; b < B; b++) {
        double *gb = g + b * ldg, *hnt = hn + b * ld, *ht = h + b * ld;
        const double *ghb = gh + (long)b * 3 * H, *hpb = hp ? hp + b * ld : NULL;
        for (int j = 0; j < 2 * H; j++) gb[j] = gb[j] + ghb[j] + b_hh[j];
        nn_sigmoid_n_d(gb, gb, 2 * H); /* r, z */
        const double *r = gb, *z = gb + H;
        double *n = gb + 2 * H;
        for (int j = 0; j < H; j++) {
            hnt[j] = ghb[2 * H + j] + b_hh[2 * H + j];
            n[j] = tanh(n[j] + r[j] * hnt[j]);
            ht[j] = (1 - z[j]) * n[j] + (hpb ? z[j] * hpb[j] : 0);
        }
    }
}
/* dx, dhh: the input-side and hidden-side pre-activation gradients;
 * dh_{t-1} += dh_t z into dhp (NULL at t = 0, as hp); dbx, dbh += the
 * sums of dx's and dhh's rows. */
static void gru_step_backward_d(double *dx, double *dhh, double *dhp, double *dbx, double *dbh, const double *dh,
                                const double *g, long ldg, const double *hn, const double *hp, long ld, int B, int H)
{
    for (int b = 0; b < B; b++) {
        double *dxb = dx + b * ldg, *dhhb = dhh + b * ldg;
        const double *gb = g + b * ldg, *dht = dh + b * ld, *hnt = hn + b * ld;
        for (int j = 0; j < H; j++) {
            double r = gb[j], z = gb[H + j], n = gb[2 * H + j], hprev = hp ? hp[b * ld + j] : 0;
            double dn = dht[j] * (1 - z) * (1 - n * n);
            double dz = dht[j] * (hprev - n) * z * (1 - z);
            double dr = dn * hnt[j] * r * (1 - r);
            dxb[j] = dr, dxb[H + j] = dz, dxb[2 * H + j] = dn;
            dhhb[j] = dr, dhhb[H + j] = dz, dhhb[2 * H + j] = dn * r;
            if (dhp) dhp[b * ld + j] += dht[j] * z;
            dbx[j] += dr, dbx[H + j] += dz, dbx[2 * H + j] += dn;
            dbh[j] += dr, dbh[H + j] += dz, dbh[2 * H + j] += dn * r;
        }
    }
}
#else
#define gru_step nn_gru_step_forward
#define gru_step_backward nn_gru_step_backward
#endif

void FN(gru_forward)(real *h,          /* (B,T,H) */
                     real *gates,      /* (B,T,3H) r, z, n after their activations */
                     real *hn,         /* (B,T,H) W_hn h_{t-1} + b_hn */
                     real *gh,         /* (B,3H) scratch */
                     real *wt,         /* (H,3H) scratch: w_hh transposed */
                     const real *in,   /* (B,T,I) */
                     const real *w_ih, /* (3H,I) */
                     const real *w_hh, /* (3H,H) */
                     const real *b_ih, /* (3H) */
                     const real *b_hh, /* (3H) */
                     int B, int T, int I, int H)
{
    const int G = 3 * H;
    FN(linear_forward)(gates, in, w_ih, b_ih, B * T, I, G); /* x w_ih^T + b_ih, all steps */
    if (B > 1) FN(transpose)(wt, w_hh, G, H);
    for (int t = 0; t < T; t++) {
        if (t > 0 && B > 1) /* gh = h[:,t-1] w_hh^T */
            GEMM(0, 0, B, G, H, 1, h + (long)(t - 1) * H, T * H, wt, G, 0, gh, G);
        else if (t > 0)
            GEMM(0, 1, B, G, H, 1, h + (long)(t - 1) * H, T * H, w_hh, H, 0, gh, G);
        else
            memset(gh, 0, sizeof(real) * B * G);
        FN(gru_step)(gates + (long)t * G, (long)T * G, hn + (long)t * H, h + (long)t * H,
                     t > 0 ? h + (long)(t - 1) * H : NULL, (long)T * H, gh, b_hh, B, H);
    }
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
        FN(gru_step_backward)(dgx + (long)t * G, dgh + (long)t * G, t > 0 ? dh + (long)(t - 1) * H : NULL, db_ih,
                              db_hh, dh + (long)t * H, gates + (long)t * G, (long)T * G, hn + (long)t * H,
                              t > 0 ? h + (long)(t - 1) * H : NULL, (long)T * H, B, H);
        if (t > 0) /* dh[:,t-1] += dgh[:,t] w_hh */
            GEMM(0, 0, B, H, G, 1, dgh + (long)t * G, T * G, w_hh, H, 1, dh + (long)(t - 1) * H, T * H);
    }
    FN(linear_backward)(din, dw_ih, NULL, dgx, in, w_ih, B * T, I, G); /* db_ih: added by the steps */
    /* dw_hh += sum_{b, t>=1} dgh[b,t]^T h[b,t-1], as one product: dh is
     * consumed, so it now holds h shifted one step (h_{-1} = 0 at t = 0). */
    for (int b = 0; b < B; b++) {
        real *s = dh + (long)b * T * H;
        memset(s, 0, sizeof(real) * H);
        memcpy(s + H, h + (long)b * T * H, sizeof(real) * (T - 1) * H);
    }
    GEMM(1, 0, G, H, B * T, 1, dgh, G, dh, H, 1, dw_hh, H);
}
