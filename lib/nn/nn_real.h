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

/* Logistic sigmoid, written so that a large negative x does not overflow. */
static inline real FN(nn_sigmoid)(real x)
{
    return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

#endif
