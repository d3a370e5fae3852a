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
 * r = x - n ln2 (ln2 split in two), e^r by its Taylor series to r^7 (|r| <=
 * ln2/2: truncation 5e-9 relative) in Horner's form, every step a fused
 * multiply-add, times 2^n built in the exponent bits. Measured within 0.9
 * ulp of exp over [-87, 88] (1.2 with separate multiplies and adds); below
 * -87 it gives e^-87 (1.6e-38) instead of a smaller number, above 88 e^88
 * instead of inf.
 * sigmoid x = 1/(1+e^-x): within 2 ulp, and 1e-38 absolute for x < -87.
 * tanh x = 2 sigmoid(2x) - 1: within 2.4e-7 absolute (twice sigmoid's 2 ulp
 * near 1; measured 1.7e-7), against tanhf's 1 ulp relative: a few roundings
 * of tanh's values near |tanh| = 1, and what the PyTorch parity tests (1e-4
 * logits, 1e-6 gradients) pass with.
 * Every element goes through the same lanes' code (a tail is padded), so a
 * value does not depend on its position. */
#include "nn/simd.h"

static inline float nn_sigmoid(float x) { nn_sigmoid_n(&x, &x, 1); return x; }
static inline float nn_tanh(float x) { nn_tanh_n(&x, &x, 1); return x; }
#endif

/* Sums over a row: sum x, sum a*b and sum (x-m)^2 of n elements, each in
 * 16 interleaved partial sums (element i goes to partial i mod 16) added
 * pairwise at the end. A single running sum is a chain of dependent adds the
 * compiler may not reorder (64 adds: 256 cycles a layer-norm row); 16
 * independent ones vectorise. The order is fixed, so a result does not
 * depend on the machine. NN_ROW_SUM(e) is the body of such a function
 * returning the sum of e(i) for i < n. */
#define NN_ROW_SUM(expr)                                                 \
    real acc[16] = {0};                                                  \
    int i = 0;                                                           \
    for (; i + 16 <= n; i += 16)                                         \
        for (int k = 0; k < 16; k++) acc[k] += expr(i + k);              \
    for (int k = 0; i + k < n; k++) acc[k] += expr(i + k);               \
    for (int h_ = 8; h_; h_ /= 2)                                        \
        for (int k = 0; k < h_; k++) acc[k] += acc[k + h_];              \
    return acc[0];
static inline real nn_sum(const real *x, int n)
{
#define NN_X(j) x[j]
    NN_ROW_SUM(NN_X)
#undef NN_X
}
static inline real nn_dot(const real *a, const real *b, int n)
{
#define NN_AB(j) a[j] * b[j]
    NN_ROW_SUM(NN_AB)
#undef NN_AB
}
static inline real nn_sqdev(const real *x, real m, int n)
{
#define NN_D2(j) (x[j] - m) * (x[j] - m)
    NN_ROW_SUM(NN_D2)
#undef NN_D2
}

#endif
