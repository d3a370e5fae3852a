/* nn_toy.h: the separable toy task the lib/nn tests train every
 * architecture on (test_nn_models single-threaded, test_nn_parallel split
 * over threads): N windows (T, F) of standard normals; the class is the sign
 * pattern of feature 0 at the last step (below -0.4: 0, above 0.4: 2, else
 * 1). Also the optimiser those tests use: AdamW, lr 1e-2, clipping at 5,
 * weight decay 1e-4. r is seeded here (4) and left for the steps' dropout. */
#ifndef KML_TEST_NN_TOY_H
#define KML_TEST_NN_TOY_H

#include "nn/nn.h"
#include "rng.h"

static inline void nn_toy_task(float *x, int *y, int N, int T, int F, rng_t *r, nn_adam_cfg *opt)
{
    rng_seed(r, 4);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < T * F; j++) x[i * T * F + j] = (float)rng_normal(r);
        float v = x[i * T * F + (T - 1) * F];
        y[i] = v < -0.4f ? 0 : v > 0.4f ? 2 : 1;
    }
    nn_adam_default(opt);
    opt->lr = 1e-2f, opt->clip_norm = 5, opt->weight_decay = 1e-4f, opt->decoupled = 1;
}

#endif
