/* attention.c: the scaled dot-product core of PyTorch's MultiheadAttention
 * (between in_proj and out_proj, which are Linear layers), and the sinusoidal
 * positional encoding of the reference Transformer.
 * B batch, T steps, H model width, NH heads, hd = H/NH head width. */
#include "nn/nn_real.h"
#include "nn/layers.h"

#include <math.h>
#include <string.h>

#ifdef NN_F64
/* Softmax of each row of a (rows, ld) over n columns (causal: row r over
 * its first r+1, the rest 0): the double build's loops. The float build
 * calls simd.c's nn_softmax_rows, all rows in one call. */
static void softmax_rows_d(double *a, long ld, int rows, int n, int causal)
{
    for (int r = 0; r < rows; r++) {
        double *row = a + r * ld;
        int m = causal && r + 1 < n ? r + 1 : n;
        nn_softmax_row_d(row, m); /* the row maximum subtracted: exp never overflows */
        for (int s = m; s < n; s++) row[s] = 0;
    }
}
#else
#define softmax_rows nn_softmax_rows
#endif

void FN(mha_forward)(real *out,       /* (B,T,H) */
                     real *att,       /* (B,NH,T,T) softmax weights */
                     const real *qkv, /* (B,T,3H) */
                     int B, int T, int H, int NH, int causal)
{
    const int hd = H / NH, L = 3 * H;
    const real scale = (real)(1.0 / sqrt((double)hd));
    for (int b = 0; b < B; b++)
        for (int j = 0; j < NH; j++) {
            const real *q = qkv + (long)b * T * L + j * hd, *k = q + H, *v = q + 2 * H;
            real *a = att + ((long)b * NH + j) * T * T;
            GEMM(0, 1, T, T, hd, scale, q, L, k, L, 0, a, T); /* a = q k^T / sqrt(hd) */
            FN(softmax_rows)(a, T, T, T, causal);
            GEMM(0, 0, T, hd, T, 1, a, T, v, L, 0, out + (long)b * T * H + j * hd, H); /* out = a v */
        }
}

void FN(mha_backward)(real *dqkv,       /* (B,T,3H) */
                      real *datt,       /* (T,T) scratch */
                      const real *dout, /* (B,T,H) */
                      const real *att,  /* (B,NH,T,T) */
                      const real *qkv,  /* (B,T,3H) */
                      int B, int T, int H, int NH)
{
    const int hd = H / NH, L = 3 * H;
    const real scale = (real)(1.0 / sqrt((double)hd));
    for (int b = 0; b < B; b++)
        for (int j = 0; j < NH; j++) {
            const real *q = qkv + (long)b * T * L + j * hd, *k = q + H, *v = q + 2 * H;
            real *dq = dqkv + (long)b * T * L + j * hd, *dk = dq + H, *dv = dq + 2 * H;
            const real *a = att + ((long)b * NH + j) * T * T;
            const real *dO = dout + (long)b * T * H + j * hd;
            GEMM(0, 1, T, T, hd, 1, dO, H, v, L, 0, datt, T); /* datt = dout v^T */
            GEMM(1, 0, T, hd, T, 1, a, T, dO, H, 1, dv, L);   /* dv += a^T dout */
            /* softmax backward: ds = a * (datt - sum_s a datt); masked entries have a = 0 */
            for (int t = 0; t < T; t++) {
                const real *ar = a + (long)t * T;
                real *dr = datt + (long)t * T, dot = nn_dot(ar, dr, T);
                for (int s = 0; s < T; s++) dr[s] = ar[s] * (dr[s] - dot);
            }
            GEMM(0, 0, T, hd, T, scale, datt, T, k, L, 1, dq, L); /* dq += ds k / sqrt(hd) */
            GEMM(1, 0, T, hd, T, scale, datt, T, q, L, 1, dk, L); /* dk += ds^T q / sqrt(hd) */
        }
}

void FN(sinusoid_table)(real *pe /* (T,H) */, int T, int H)
{
    /* float32 at every step, as torch computes sinusoid() in the default dtype */
    const float c = (float)(-log(10000.0) / H);
    for (int t = 0; t < T; t++)
        for (int i = 0; 2 * i < H; i++) {
            float d = expf((float)(2 * i) * c), a = (float)t * d;
            pe[(long)t * H + 2 * i] = sinf(a);
            if (2 * i + 1 < H) pe[(long)t * H + 2 * i + 1] = cosf(a);
        }
}

void FN(mha_last_forward)(real *out, real *att, const real *qkv, int B, int T, int H, int NH)
{
    const int hd = H / NH, L = 3 * H;
    const real scale = (real)(1.0 / sqrt((double)hd));
    for (int b = 0; b < B; b++)
        for (int j = 0; j < NH; j++) {
            const real *k = qkv + (long)b * T * L + H + j * hd, *v = k + H, *q = k - H + (long)(T - 1) * L;
            real *a = att + ((long)b * NH + j) * T;
            GEMM(0, 1, 1, T, hd, scale, q, L, k, L, 0, a, T); /* a = q_{T-1} k^T / sqrt(hd) */
            FN(softmax_rows)(a, T, 1, T, 0);
            GEMM(0, 0, 1, hd, T, 1, a, T, v, L, 0, out + (long)b * H + j * hd, H); /* out = a v */
        }
}

void FN(mha_last_backward)(real *dqkv, real *datt, const real *dout, const real *att, const real *qkv, int B, int T,
                           int H, int NH)
{
    const int hd = H / NH, L = 3 * H;
    const real scale = (real)(1.0 / sqrt((double)hd));
    for (int b = 0; b < B; b++)
        for (int j = 0; j < NH; j++) {
            const real *k = qkv + (long)b * T * L + H + j * hd, *v = k + H, *q = k - H + (long)(T - 1) * L;
            real *dk = dqkv + (long)b * T * L + H + j * hd, *dv = dk + H, *dq = dk - H + (long)(T - 1) * L;
            const real *a = att + ((long)b * NH + j) * T, *dO = dout + (long)b * H + j * hd;
            GEMM(0, 1, 1, T, hd, 1, dO, H, v, L, 0, datt, T); /* datt = dout v^T */
            GEMM(1, 0, T, hd, 1, 1, a, T, dO, H, 1, dv, L);   /* dv += a^T dout */
            real dot = nn_dot(a, datt, T);
            for (int s = 0; s < T; s++) datt[s] = a[s] * (datt[s] - dot);
            GEMM(0, 0, 1, hd, T, scale, datt, T, k, L, 1, dq, L); /* dq += ds k / sqrt(hd) */
            GEMM(1, 0, T, hd, 1, scale, datt, T, q, L, 1, dk, L); /* dk += ds^T q / sqrt(hd) */
        }
}
