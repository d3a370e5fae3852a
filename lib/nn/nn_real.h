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
/* Float exp, sigmoid and tanh for the recurrent gates and the softmax, four
 * at a time (SSE2, x86-64's baseline; libm's expf cannot be vectorised and
 * tanhf's expm1f was 40% of the LSTM step).
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
 * Every element goes through the same 4-wide code (a tail is padded), so a
 * value does not depend on its position. */
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
typedef __m128 nn_v4;
static inline nn_v4 nn_exp4(nn_v4 x)
{
    const nn_v4 one = _mm_set1_ps(1);
    nn_v4 xc = _mm_min_ps(_mm_max_ps(x, _mm_set1_ps(-87.0f)), _mm_set1_ps(88.0f));
    __m128i ni = _mm_cvtps_epi32(_mm_mul_ps(xc, _mm_set1_ps(1.44269504088896341f))); /* round to nearest */
    nn_v4 n = _mm_cvtepi32_ps(ni);
    nn_v4 r = _mm_sub_ps(_mm_sub_ps(xc, _mm_mul_ps(n, _mm_set1_ps(0.693145751953125f))),
                         _mm_mul_ps(n, _mm_set1_ps(1.42860682030941723212e-6f)));
    nn_v4 p = _mm_set1_ps(1.0f / 5040);
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 720));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 120));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 24));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 6));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(0.5f));
    p = _mm_add_ps(_mm_mul_ps(p, r), one);
    p = _mm_add_ps(_mm_mul_ps(p, r), one);
    nn_v4 y = _mm_mul_ps(p, _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(ni, _mm_set1_epi32(127)), 23)));
    nn_v4 nan = _mm_cmpunord_ps(x, x);
    return _mm_or_ps(_mm_and_ps(nan, x), _mm_andnot_ps(nan, y));
}
static inline nn_v4 nn_sigmoid4(nn_v4 x)
{
    const nn_v4 one = _mm_set1_ps(1);
    return _mm_div_ps(one, _mm_add_ps(one, nn_exp4(_mm_sub_ps(_mm_setzero_ps(), x))));
}
static inline nn_v4 nn_tanh4(nn_v4 x)
{
    const nn_v4 one = _mm_set1_ps(1);
    return _mm_sub_ps(_mm_mul_ps(_mm_set1_ps(2), nn_sigmoid4(_mm_add_ps(x, x))), one);
}
#define NN_V4_LOAD _mm_loadu_ps
#define NN_V4_STORE _mm_storeu_ps
#else
/* Without SSE2: the same arithmetic, one lane at a time. */
typedef struct { float v[4]; } nn_v4;
static inline float nn_exp1(float x)
{
    if (x != x) return x;
    float xc = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float n = nearbyintf(xc * 1.44269504088896341f);
    float r = xc - n * 0.693145751953125f - n * 1.42860682030941723212e-6f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720, p = p * r + 1.0f / 120, p = p * r + 1.0f / 24, p = p * r + 1.0f / 6;
    p = p * r + 0.5f, p = p * r + 1, p = p * r + 1;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &bits, 4);
    return p * s;
}
static inline nn_v4 nn_exp4(nn_v4 x) { for (int i = 0; i < 4; i++) x.v[i] = nn_exp1(x.v[i]); return x; }
static inline nn_v4 nn_sigmoid4(nn_v4 x) { for (int i = 0; i < 4; i++) x.v[i] = 1 / (1 + nn_exp1(-x.v[i])); return x; }
static inline nn_v4 nn_tanh4(nn_v4 x) { for (int i = 0; i < 4; i++) x.v[i] = 2 / (1 + nn_exp1(-2 * x.v[i])) - 1; return x; }
static inline nn_v4 NN_V4_LOAD(const float *p) { nn_v4 x; memcpy(x.v, p, sizeof x.v); return x; }
static inline void NN_V4_STORE(float *p, nn_v4 x) { memcpy(p, x.v, sizeof x.v); }
#endif

/* y[i] = f(x[i]) for i < n (y may be x). */
#define NN_V4_MAP(name, f4)                                                         \
    static inline void name(float *y, const float *x, int n)                       \
    {                                                                               \
        int i = 0;                                                                  \
        for (; i + 4 <= n; i += 4) NN_V4_STORE(y + i, f4(NN_V4_LOAD(x + i)));      \
        if (i < n) {                                                                \
            float t[4] = {0, 0, 0, 0};                                              \
            memcpy(t, x + i, sizeof(float) * (n - i));                              \
            NN_V4_STORE(t, f4(NN_V4_LOAD(t)));                                      \
            memcpy(y + i, t, sizeof(float) * (n - i));                              \
        }                                                                           \
    }
NN_V4_MAP(nn_exp_n, nn_exp4)
NN_V4_MAP(nn_sigmoid_n, nn_sigmoid4)
NN_V4_MAP(nn_tanh_n, nn_tanh4)

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
