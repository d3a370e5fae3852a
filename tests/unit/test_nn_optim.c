/* test_nn_optim.c: nn_optimizer_step (optim.c) against a plain scalar
 * version of the same Adam/AdamW step, written here as the reference.
 *
 * The element update must give the same bits as the scalar loop (its
 * vectorised loops keep every operation and its order per element); the
 * gradient norm, summed in 8 partial sums, must equal a long-double sum to
 * 1e-13 relative; clipping scales the gradient in place as PyTorch's
 * clip_grad_norm_ does, while Adam's L2 term must not be left in the
 * gradient (PyTorch's .grad keeps the clipped gradient only). */
#include "t.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "nn/nn_impl.h"
#include "rng.h"

/* The reference step: the straightforward loop, one element at a time. */
static double ref_step(float *p, float *g, float *mm, float *v, size_t n, long step, const nn_adam_cfg *o, float lr)
{
    long double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (long double)g[i] * g[i];
    double norm = sqrt((double)ss);
    if (o->clip_norm > 0) {
        float coef = (float)(o->clip_norm / (norm + 1e-6));
        if (coef < 1)
            for (size_t i = 0; i < n; i++) g[i] *= coef;
    }
    const double bc1 = 1 - pow(o->beta1, (double)step), bc2 = 1 - pow(o->beta2, (double)step);
    const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float w1 = 1 - o->beta1, w2 = 1 - o->beta2, decay = (float)(1 - (double)lr * o->weight_decay);
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        if (o->weight_decay != 0) {
            if (o->decoupled) p[i] *= decay;
            else gi += o->weight_decay * p[i];
        }
        mm[i] += w1 * (gi - mm[i]);
        v[i] = v[i] * o->beta2 + w2 * gi * gi;
        float denom = sqrtf(v[i]) / bc2_sqrt + o->eps;
        p[i] -= step_size * (mm[i] / denom);
    }
    return norm;
}

/* Three steps of each optimiser setting on a model whose parameter count is
 * not a multiple of 8 (the loops' tails), from random gradients. */
static size_t check_setting(const char *arch, int decoupled, float wd, float clip)
{
    nn_config c;
    nn_config_default(&c, arch);
    c.T = 5, c.F = 3, c.H = 6, c.heads = 2;
    nn_model *m = nn_create(&c, 11);
    CHECK(m != NULL);
    const size_t n = m->nparams;
    float *p = malloc(sizeof(float) * n), *g = malloc(sizeof(float) * n);
    float *mm = calloc(n, sizeof(float)), *v = calloc(n, sizeof(float));
    memcpy(p, m->params, sizeof(float) * n);
    nn_adam_cfg o;
    nn_adam_default(&o);
    o.decoupled = decoupled, o.weight_decay = wd, o.clip_norm = clip, o.lr = 0.01f;
    rng_t r;
    rng_seed(&r, 5);
    int diff = 0, gdiff = 0;
    double worst = 0;
    for (long s = 1; s <= 3; s++) {
        for (size_t i = 0; i < n; i++) g[i] = m->grads[i] = (float)(rng_normal(&r) * (s == 2 ? 30 : 0.1));
        double want = ref_step(p, g, mm, v, n, s, &o, o.lr);
        double got = nn_optimizer_step(m, &o, o.lr);
        worst = fmax(worst, fabs(got - want) / want);
        diff += memcmp(p, m->params, sizeof(float) * n) != 0 || memcmp(mm, m->m, sizeof(float) * n) != 0 ||
                memcmp(v, m->v, sizeof(float) * n) != 0;
        gdiff += memcmp(g, m->grads, sizeof(float) * n) != 0;
    }
    if (diff || gdiff || worst > 1e-13)
        t_fail(__FILE__, __LINE__, "%s decoupled=%d wd=%g clip=%g: %d steps differ in p/m/v, %d in grads, norm %.3g",
               arch, decoupled, wd, clip, diff, gdiff, worst);
    free(p), free(g), free(mm), free(v);
    nn_free(m);
    return n;
}

static void test_adam_matches_scalar(void)
{
    const char *archs[] = {"lstm", "gru", "cnn", "transformer"};
    int tails = 0; /* models whose parameter count leaves a tail after the blocks of 8 */
    for (int a = 0; a < 4; a++) {
        tails += check_setting(archs[a], 0, 0, 0) % 8 != 0;
        check_setting(archs[a], 0, 0.1f, 0);   /* Adam, L2 into the gradient as read */
        check_setting(archs[a], 1, 0.1f, 0);   /* AdamW */
        check_setting(archs[a], 1, 0.1f, 0.5f); /* clipping at a norm the second step's gradient exceeds */
    }
    CHECK(tails > 0);
}

/* A plain step returns the gradient's norm and leaves the gradient as it was. */
static void test_norm_and_grad(void)
{
    nn_config c;
    nn_config_default(&c, "gru");
    c.T = 4, c.F = 2, c.H = 3;
    nn_model *m = nn_create(&c, 3);
    const size_t n = m->nparams;
    for (size_t i = 0; i < n; i++) m->grads[i] = (i % 3 == 0) ? 2.0f : 0.0f;
    size_t k = (n + 2) / 3;
    nn_adam_cfg o;
    nn_adam_default(&o);
    o.weight_decay = 0.5f; /* Adam's L2 must not be written into grads */
    double norm = nn_optimizer_step(m, &o, 1e-3f);
    CHECK_REL(norm, 2.0 * sqrt((double)k), 1e-15);
    int changed = 0;
    for (size_t i = 0; i < n; i++) changed += m->grads[i] != ((i % 3 == 0) ? 2.0f : 0.0f);
    CHECK_EQ_INT(changed, 0);
    nn_free(m);
}

int main(void)
{
    t_run("optim: Adam, Adam+L2, AdamW and clipping give the scalar loop's bits over three steps", test_adam_matches_scalar);
    t_run("optim: the step returns the gradient norm and leaves Adam's L2 term out of the gradient", test_norm_and_grad);
    return t_done();
}
