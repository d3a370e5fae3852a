/* layers.h: every layer of lib/nn as a forward/backward pair, in float (the
 * product, BLAS) and in double with the suffix _d (plain loops; the tests'
 * reference). See layers_decl.h for the shapes and nn_real.h for how one
 * source gives both. */
#ifndef KML_NN_LAYERS_H
#define KML_NN_LAYERS_H

#include "rng.h"

#define NN_R float
#define NN_FN(n) n
#include "nn/layers_decl.h"
#undef NN_R
#undef NN_FN

#define NN_R double
#define NN_FN(n) n##_d
#include "nn/layers_decl.h"
#undef NN_R
#undef NN_FN

#endif
