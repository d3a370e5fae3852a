/* optim.c: Adam and AdamW with PyTorch's semantics, global-norm gradient
 * clipping, and the learning-rate schedule. Everything works in place on the
 * model's one parameter block: no allocation. */
#include "nn/nn_impl.h"

#include <math.h>

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
    float *p = m->params, *g = m->grads, *mm = m->m, *v = m->v;
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (double)g[i] * g[i];
    double norm = sqrt(ss);
    if (o->clip_norm > 0) {
        float coef = (float)(o->clip_norm / (norm + 1e-6));
        if (coef < 1)
            for (size_t i = 0; i < n; i++) g[i] *= coef;
    }
    m->step++;
    const double bc1 = 1 - pow(o->beta1, (double)m->step), bc2 = 1 - pow(o->beta2, (double)m->step);
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
