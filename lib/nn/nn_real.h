/* nn_real.h: the scalar type of the layer code.
 *
 * Every layer file (linear.c, lstm.c, ...) is written once against `real`,
 * `FN(name)` and `GEMM(...)`. Compiled alone it is the product: real = float,
 * GEMM = cblas_sgemm. layers_f64.c includes the same files again with NN_F64
 * defined: real = double, names get the suffix _d, and GEMM is the plain-loop
 * matrix product. That double build is the plain-loop reference the tests
 * compare the BLAS path with, and what the finite-difference gradient checks
 * run on (double precision, so the checks can be tight).
 *
 * <tgmath.h> makes exp/tanh/sqrt/erf pick the float or double function from
 * the argument type. */
#ifndef KML_NN_REAL_H
#define KML_NN_REAL_H

#include <tgmath.h>
/* <tgmath.h> pulls in <complex.h>, whose macro I would clash with the I
 * (input width) of the layer signatures. */
#undef I

#include "nn/gemm.h"

#ifdef NN_F64
#define real double
#define FN(n) n##_d
#define GEMM nn_gemm_loop_d
#else
#define real float
#define FN(n) n
#define GEMM nn_sgemm
#endif

/* The layer loops are element-wise and short; -O2 (the build's level) does
 * not vectorise loops of unknown trip count, -O3 does. Vectorisation without
 * fast-math flags keeps every result bit for bit (no reassociation). */
#pragma GCC optimize("O3")

#ifdef NN_F64
/* The reference: libm's double functions, a sigmoid that never overflows. */
static inline double nn_sigmoid_d(double x)
{
    return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}
static inline double nn_tanh_d(double x) { return tanh(x); }
static inline void nn_exp_n_d(double *y, const double *x, int n)
{
    for (int i = 0; i < n; i++) y[i] = exp(x[i]);
}
static inline void nn_sigmoid_n_d(double *y, const double *x, int n)
{
    for (int i = 0; i < n; i++) y[i] = nn_sigmoid_d(x[i]);
}
static inline void nn_tanh_n_d(double *y, const double *x, int n)
{
    for (int i = 0; i < n; i++) y[i] = tanh(x[i]);
}
/* softmax of row (n) in place, with the maximum subtracted first */
static inline void nn_softmax_row_d(double *row, int n)
{
    double mx = row[0], sum = 0;
    for (int s = 1; s < n; s++) mx = row[s] > mx ? row[s] : mx;
    for (int s = 0; s < n; s++) sum += row[s] = exp(row[s] - mx);
    for (int s = 0; s < n; s++) row[s] /= sum;
}
#else
/* Float exp, sigmoid and tanh for the recurrent gates and the softmax, 16
 * at a time in simd.c (libm's expf cannot be vectorised and tanhf's expm1f
 * was 40% of the LSTM step).
 *
 * exp: x clamped to [-87, 88] (a NaN is passed through), n = round(x log2 e),
 * r = x - n ln2 (ln2 split in two so the product is exact), e^r by its Taylor
 * series to r^7 (|r| <= ln2/2: truncation 5e-9 relative), times 2^n built in
 * the exponent bits. Measured within 1.2 ulp of exp over [-87, 88]; below -87
 * it gives e^-87 (1.6e-38) instead of a smaller number, above 88 e^88
 * instead of inf.
 * sigmoid x = 1/(1+e^-x): within 2 ulp, and 1e-38 absolute for x < -87.
 * tanh x = 2 sigmoid(2x) - 1: within 2.4e-7 absolute (twice sigmoid's 2 ulp
 * near 1; measured 1.7e-7), against tanhf's 1 ulp relative: a few roundings
 * of tanh's values near |tanh| = 1, and what the PyTorch parity tests (1e-4
 * logits, 1e-6 gradients) pass with.
 * Every element goes through the same lanes' code (a tail is padded), so a
 * value does not depend on its position. */
#include <string.h>
#include "nn/simd.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* softmax of row (n) in place, the maximum subtracted first; the maximum and
 * the sum four lanes at a time (the sum's rounding differs from a sequential
 * one by an ulp or so; a NaN anywhere still gives NaN everywhere). */
static inline void nn_softmax_row(float *row, int n)
{
    float mx = row[0], sum = 0;
    int s = 0;
#if defined(__SSE2__)
    if (n >= 4) {
        __m128 m4 = _mm_loadu_ps(row);
        for (s = 4; s + 4 <= n; s += 4) m4 = _mm_max_ps(m4, _mm_loadu_ps(row + s));
        float t[4];
        _mm_storeu_ps(t, m4);
        mx = t[0] > t[1] ? t[0] : t[1];
        mx = t[2] > mx ? t[2] : mx;
        mx = t[3] > mx ? t[3] : mx;
    }
#endif
    for (; s < n; s++) mx = row[s] > mx ? row[s] : mx;
    for (s = 0; s < n; s++) row[s] -= mx;
    nn_exp_n(row, row, n);
    s = 0;
#if defined(__SSE2__)
    __m128 s4 = _mm_setzero_ps();
    for (; s + 4 <= n; s += 4) s4 = _mm_add_ps(s4, _mm_loadu_ps(row + s));
    float t[4];
    _mm_storeu_ps(t, s4);
    sum = (t[0] + t[1]) + (t[2] + t[3]);
#endif
    for (; s < n; s++) sum += row[s];
    for (s = 0; s < n; s++) row[s] /= sum;
}

static inline float nn_sigmoid(float x) { nn_sigmoid_n(&x, &x, 1); return x; }
static inline float nn_tanh(float x) { nn_tanh_n(&x, &x, 1); return x; }
#endif

#endif
