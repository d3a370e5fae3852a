/* optim.c: Adam and AdamW with PyTorch's semantics, global-norm gradient
 * clipping, and the learning-rate schedule. Everything works in place on the
 * model's one parameter block: no allocation. */
#include "nn/nn_impl.h"

#include <math.h>

#ifdef __SSE2__
#include <immintrin.h>
#endif

/* Element loops vectorised (-O3), which keeps every result bit: no
 * reassociation without fast-math flags. */
#pragma GCC optimize("O3")

void nn_adam_default(nn_adam_cfg *o)
{
    o->lr = 1e-3f, o->beta1 = 0.9f, o->beta2 = 0.999f, o->eps = 1e-8f;
    o->weight_decay = 0, o->decoupled = 0, o->clip_norm = 0;
}

/* Cosine schedule with linear warm-up (the usual "cosine with warmup"):
 * lr = base * step / warmup during warm-up, then
 * base * 0.5 (1 + cos(pi * progress)), progress = (step - warmup) / (total - warmup)
 * clamped to [0, 1]. total_steps <= 0 means no decay. */
float nn_lr_at(float base_lr, long step, long warmup_steps, long total_steps)
{
    if (step < 0) step = 0;
    if (warmup_steps > 0 && step < warmup_steps) return (float)((double)base_lr * step / warmup_steps);
    if (total_steps <= 0 || total_steps <= warmup_steps) return base_lr;
    double p = (double)(step - warmup_steps) / (double)(total_steps - warmup_steps);
    p = p < 0 ? 0 : p > 1 ? 1 : p;
    return (float)(base_lr * 0.5 * (1 + cos(M_PI * p)));
}

/* Adam's element update; l2 adds wd p to the gradient as it is read (the
 * model's gradient itself is left as it is, as PyTorch leaves .grad). Always
 * inlined, so each call's l2 is a constant. The compiler does not vectorise
 * sqrtf (its errno path is control flow), so the body runs 4 elements at a
 * time in SSE: the same IEEE single operations in the same order as the
 * scalar tail (sqrtps is correctly rounded, as sqrtf is), so the same bits. */
static inline __attribute__((always_inline)) void adam_update(float *restrict p, float *restrict mm,
                                                              float *restrict v, const float *restrict g,
                                                              size_t n, float wd, int l2, float w1, float w2,
                                                              float b2, float eps, float step_size, float bc2_sqrt)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128 W1 = _mm_set1_ps(w1), W2 = _mm_set1_ps(w2), B2 = _mm_set1_ps(b2), E = _mm_set1_ps(eps);
    const __m128 S = _mm_set1_ps(step_size), C = _mm_set1_ps(bc2_sqrt), WD = _mm_set1_ps(wd);
    for (; i + 4 <= n; i += 4) {
        __m128 gi = _mm_loadu_ps(g + i), pi = _mm_loadu_ps(p + i), mi = _mm_loadu_ps(mm + i);
        __m128 vi = _mm_loadu_ps(v + i);
        if (l2) gi = _mm_add_ps(gi, _mm_mul_ps(WD, pi));
        mi = _mm_add_ps(mi, _mm_mul_ps(W1, _mm_sub_ps(gi, mi)));
        vi = _mm_add_ps(_mm_mul_ps(vi, B2), _mm_mul_ps(_mm_mul_ps(W2, gi), gi));
        __m128 denom = _mm_add_ps(_mm_div_ps(_mm_sqrt_ps(vi), C), E);
        pi = _mm_sub_ps(pi, _mm_mul_ps(S, _mm_div_ps(mi, denom)));
        _mm_storeu_ps(mm + i, mi), _mm_storeu_ps(v + i, vi), _mm_storeu_ps(p + i, pi);
    }
#endif
    for (; i < n; i++) {
        float gi = g[i];
        if (l2) gi += wd * p[i];
        mm[i] += w1 * (gi - mm[i]);
        v[i] = v[i] * b2 + w2 * gi * gi;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (mm[i] / denom);
    }
}

/* One step of torch.optim.Adam / AdamW (single-tensor path) on every
 * parameter, after torch.nn.utils.clip_grad_norm_ when clip_norm > 0:
 *   clip:  g *= clip / (||g|| + 1e-6) when that factor is below 1
 *   Adam:  g += wd p            AdamW: p *= 1 - lr wd
 *   m = m + (1 - b1)(g - m);  v = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * with the bias corrections in double and the element operations in float,
 * in that order, as PyTorch evaluates them. */
double nn_optimizer_step(nn_model *m, const nn_adam_cfg *o, float lr)
{
    const size_t n = m->nparams;
    float *restrict p = m->params, *restrict g = m->grads, *restrict mm = m->m, *restrict v = m->v;
    /* The squared norm in 8 double partial sums, added up in a fixed order at
     * the end: the same sum on every run, and vectorised (one dependent chain
     * of n additions was ~2 % of a training step). */
    double acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += (double)g[i + k] * g[i + k];
    for (; i < n; i++) acc[i & 7] += (double)g[i] * g[i];
    double norm = sqrt(((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])));
    if (o->clip_norm > 0) {
        float coef = (float)(o->clip_norm / (norm + 1e-6));
        if (coef < 1)
            for (i = 0; i < n; i++) g[i] *= coef;
    }
    m->step++;
    const double bc1 = 1 - pow(o->beta1, (double)m->step), bc2 = 1 - pow(o->beta2, (double)m->step);
    const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float w1 = 1 - o->beta1, w2 = 1 - o->beta2, decay = (float)(1 - (double)lr * o->weight_decay);
    const float b2 = o->beta2, eps = o->eps, wd = o->weight_decay;
    /* The weight decay is decided once, outside the loops, so each loop is
     * straight-line element code the compiler vectorises (the same operations
     * in the same order per element: the same bits as a scalar loop). */
    if (wd != 0 && o->decoupled)
        for (i = 0; i < n; i++) p[i] *= decay;
    if (wd != 0 && !o->decoupled)
        adam_update(p, mm, v, g, n, wd, 1, w1, w2, b2, eps, step_size, bc2_sqrt);
    else
        adam_update(p, mm, v, g, n, 0, 0, w1, w2, b2, eps, step_size, bc2_sqrt);
    return norm;
}
