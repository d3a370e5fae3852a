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
 * -ffast-math keeps every result bit for bit (no reassociation). */
#pragma GCC optimize("O3")

#ifdef NN_F64
/* The reference: libm's double functions, a sigmoid that never overflows. */
static inline double nn_sigmoid_d(double x)
{
    return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}
static inline double nn_tanh_d(double x) { return tanh(x); }
#else
/* Float sigmoid and tanh for the recurrent gates, from expf alone (glibc's
 * expf is several times faster than tanhf, whose expm1f dominated the LSTM
 * profile). 1/(1+e^-x) is within 2 ulp for every x (e^-x = inf gives 0).
 * tanh x = 2 sigmoid(2x) - 1 is within 1.5e-7 absolute (the rounding of
 * the quotient near 1), against tanhf's 1 ulp relative: the same as the
 * rounding of the float results themselves near |tanh| = 1, and what the
 * PyTorch parity tests (1e-4 logits, 1e-6 gradients) are run with. */
static inline float nn_sigmoid(float x) { return 1 / (1 + expf(-x)); }
static inline float nn_tanh(float x) { return 2 / (1 + expf(-2 * x)) - 1; }
#endif

#endif
