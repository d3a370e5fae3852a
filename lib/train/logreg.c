/* logreg.c: multinomial logistic regression (see logreg.h). */
#include "train/logreg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "util.h"

kml_logreg *logreg_create(int F, uint64_t seed) {
    ASSERT(F > 0);
    kml_logreg *m = xcalloc(1, sizeof *m);
    m->F = F;
    m->np = 3 * (size_t)F + 3;
    m->param = xcalloc(4 * m->np, sizeof *m->param);
    m->grad = m->param + m->np;
    m->m = m->grad + m->np;
    m->v = m->m + m->np;
    rng_t r;
    rng_seed(&r, seed);
    double bound = 1 / sqrt((double)F);
    for (size_t i = 0; i < m->np; i++) m->param[i] = (float)((2 * rng_uniform(&r) - 1) * bound);
    return m;
}

void logreg_free(kml_logreg *m) {
    if (!m) return;
    free(m->param);
    free(m);
}

void logreg_forward(const kml_logreg *m, const float *x, int B, int T, float *logits) {
    int F = m->F;
    const float *W = m->param, *b = m->param + 3 * F;
    for (int i = 0; i < B; i++) {
        const float *xi = x + ((size_t)i * T + T - 1) * F;
        for (int k = 0; k < 3; k++) {
            double s = b[k];
            for (int j = 0; j < F; j++) s += (double)W[k * F + j] * xi[j];
            logits[i * 3 + k] = (float)s;
        }
    }
}

void kml_softmax3(const float *z, double *p) {
    /* Subtract the max before exp so large logits cannot overflow. */
    double mx = fmax(z[0], fmax(z[1], z[2])), s = 0;
    for (int k = 0; k < 3; k++) s += p[k] = exp(z[k] - mx);
    for (int k = 0; k < 3; k++) p[k] /= s;
}

float logreg_loss(kml_logreg *m, const float *x, const int *y, const float *class_w, int B, int T, float l2,
                  int grad) {
    int F = m->F;
    float *gW = m->grad, *gb = m->grad + 3 * F;
    double wsum = 0, loss = 0;
    for (int i = 0; i < B; i++) wsum += class_w ? class_w[y[i]] : 1;
    if (wsum <= 0) return 0;
    float z[3];
    double p[3];
    for (int i = 0; i < B; i++) {
        const float *xi = x + ((size_t)i * T + T - 1) * F;
        logreg_forward(m, x + (size_t)i * T * F, 1, T, z);
        kml_softmax3(z, p);
        double w = class_w ? class_w[y[i]] : 1;
        loss -= w * log(fmax(p[y[i]], 1e-300));
        if (!grad) continue;
        for (int k = 0; k < 3; k++) {
            double d = w * (p[k] - (k == y[i])) / wsum;
            gb[k] += (float)d;
            for (int j = 0; j < F; j++) gW[k * F + j] += (float)(d * xi[j]);
        }
    }
    if (grad)
        for (int j = 0; j < 3 * F; j++) gW[j] += l2 * m->param[j];
    return (float)(loss / wsum);
}

float logreg_train_step(kml_logreg *m, const float *x, const int *y, const float *class_w, int B, int T,
                        const kml_logreg_opt *o, float lr) {
    memset(m->grad, 0, m->np * sizeof *m->grad);
    float loss = logreg_loss(m, x, y, class_w, B, T, o->l2, 1);
    if (o->clip_norm > 0) {
        double n2 = 0;
        for (size_t i = 0; i < m->np; i++) n2 += (double)m->grad[i] * m->grad[i];
        double norm = sqrt(n2);
        if (norm > o->clip_norm) {
            float s = (float)(o->clip_norm / (norm + 1e-6));
            for (size_t i = 0; i < m->np; i++) m->grad[i] *= s;
        }
    }
    m->step++;
    double bc1 = 1 - pow(o->beta1, (double)m->step), bc2 = 1 - pow(o->beta2, (double)m->step);
    for (size_t i = 0; i < m->np; i++) {
        float g = m->grad[i];
        m->m[i] = o->beta1 * m->m[i] + (1 - o->beta1) * g;
        m->v[i] = o->beta2 * m->v[i] + (1 - o->beta2) * g * g;
        double mh = m->m[i] / bc1, vh = m->v[i] / bc2;
        m->param[i] -= (float)(lr * mh / (sqrt(vh) + o->eps));
    }
    return loss;
}

float kml_lr_cosine(float base, long step, long warmup, long total) {
    if (warmup > 0 && step < warmup) return base * (float)(step + 1) / (float)warmup;
    if (total <= warmup) return base;
    double t = (double)(step - warmup) / (double)(total - warmup);
    if (t > 1) t = 1;
    return (float)(base * 0.5 * (1 + cos(M_PI * t)));
}
