/* layers_f64.c: the double-precision, plain-loop build of every layer (names
 * with the suffix _d; see nn_real.h). The tests run the finite-difference
 * gradient checks on it and compare the float BLAS layers against it. */
#define NN_F64 1
#include "linear.c"
#include "activation.c"
#include "conv1d.c"
#include "pool.c"
#include "layernorm.c"
#include "lstm.c"
#include "gru.c"
#include "attention.c"
#include "loss.c"
