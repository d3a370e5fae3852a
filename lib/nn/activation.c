/* activation.c: element-wise layers: ReLU, GELU (exact), inverted dropout,
 * residual add, and concatenation along the last axis. */
#include "nn/nn_real.h"
#include "nn/layers.h"

#include <string.h>
#if !defined(NN_F64) && defined(__SSE2__)
#include <emmintrin.h>
#endif

void FN(relu_forward)(real *out, const real *in, long n)
{
    for (long i = 0; i < n; i++) out[i] = in[i] > 0 ? in[i] : 0;
}

void FN(relu_backward)(real *din, const real *dout, const real *out, long n)
{
    long i = 0;
#if !defined(NN_F64) && defined(__SSE2__)
    /* four at a time, dout masked by out > 0 (the compiler will not if-convert
     * the comparison under the default -ftrapping-math; the signs are random,
     * so a branch mispredicts half the time) */
    for (; i + 4 <= n; i += 4) {
        __m128 keep = _mm_cmpgt_ps(_mm_loadu_ps(out + i), _mm_setzero_ps());
        _mm_storeu_ps(din + i, _mm_add_ps(_mm_loadu_ps(din + i), _mm_and_ps(keep, _mm_loadu_ps(dout + i))));
    }
#endif
    for (; i < n; i++) din[i] += out[i] > 0 ? dout[i] : 0;
}

void FN(gelu_forward)(real *out, const real *in, long n)
{
    for (long i = 0; i < n; i++) out[i] = (real)0.5 * in[i] * (1 + erf(in[i] * (real)M_SQRT1_2));
}

/* d/dx x Phi(x) = Phi(x) + x phi(x). */
void FN(gelu_backward)(real *din, const real *dout, const real *in, long n)
{
    for (long i = 0; i < n; i++) {
        real x = in[i];
        real cdf = (real)0.5 * (1 + erf(x * (real)M_SQRT1_2));
        real pdf = exp((real)-0.5 * x * x) * (real)(0.5 * M_2_SQRTPI * M_SQRT1_2);
        din[i] += dout[i] * (cdf + x * pdf);
    }
}

void FN(dropout_forward)(real *out, real *mask, const real *in, long n, double p, rng_t *rng)
{
    real scale = (real)(1.0 / (1.0 - p));
    for (long i = 0; i < n; i++) {
        mask[i] = rng_uniform(rng) < p ? 0 : scale;
        out[i] = in[i] * mask[i];
    }
}

void FN(dropout_backward)(real *din, const real *dout, const real *mask, long n)
{
    for (long i = 0; i < n; i++) din[i] += dout[i] * mask[i];
}

void FN(residual_forward)(real *out, const real *a, const real *b, long n)
{
    for (long i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void FN(residual_backward)(real *da, real *db, const real *dout, long n)
{
    for (long i = 0; i < n; i++) {
        if (da) da[i] += dout[i];
        if (db) db[i] += dout[i];
    }
}

void FN(concat_forward)(real *out, const real *const *in, const int *d, int k, int N)
{
    int W = 0;
    for (int j = 0; j < k; j++) W += d[j];
    for (int r = 0; r < N; r++)
        for (int j = 0, off = 0; j < k; off += d[j], j++)
            memcpy(out + (long)r * W + off, in[j] + (long)r * d[j], sizeof(real) * d[j]);
}

void FN(concat_backward)(real *const *din, const real *dout, const int *d, int k, int N)
{
    int W = 0;
    for (int j = 0; j < k; j++) W += d[j];
    for (int r = 0; r < N; r++)
        for (int j = 0, off = 0; j < k; off += d[j], j++) {
            if (!din[j]) continue;
            for (int i = 0; i < d[j]; i++) din[j][(long)r * d[j] + i] += dout[(long)r * W + off + i];
        }
}
