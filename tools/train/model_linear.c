/* model_linear.c: the linear baseline behind the model interface.
 * Tensors in the model file: linear.weight (3, F), linear.bias (3). */
#include <stdlib.h>
#include <string.h>

#include "train.h"
#include "train/logreg.h"
#include "util.h"

typedef struct {
    kml_logreg *lr;
    kml_logreg_opt opt;
    float *best; /* (np) */
    int F;
} lin;

static float lin_step(model *m, const float *x, const int *y, const float *w, int B, float lr, rng_t *rng) {
    (void)rng;
    lin *l = m->impl;
    return logreg_train_step(l->lr, x, y, w, B, 1, &l->opt, lr);
}

static float lin_eval(model *m, const float *x, const int *y, const float *w, int B) {
    lin *l = m->impl;
    return logreg_loss(l->lr, x, y, w, B, 1, 0, 0);
}

static void lin_predict(model *m, const float *x, int B, float *logits) {
    lin *l = m->impl;
    logreg_forward(l->lr, x, B, 1, logits);
}

static void lin_snapshot(model *m) {
    lin *l = m->impl;
    memcpy(l->best, l->lr->param, l->lr->np * sizeof *l->best);
}

static void lin_restore(model *m) {
    lin *l = m->impl;
    memcpy(l->lr->param, l->best, l->lr->np * sizeof *l->best);
}

static void lin_save(model *m, const char *path, const ml_info *info) {
    lin *l = m->impl;
    ml_save_linear(path, l->lr->param, l->lr->param + 3 * l->F, l->opt.l2, info);
}

static void lin_destroy(model *m) {
    lin *l = m->impl;
    logreg_free(l->lr);
    free(l->best);
    free(l);
    free(m);
}

model *linear_model_create(const train_cfg *c, int F) {
    model *m = xcalloc(1, sizeof *m);
    lin *l = xcalloc(1, sizeof *l);
    snprintf(m->arch, sizeof m->arch, "linear");
    m->T = 1;
    m->impl = l;
    l->F = F;
    l->lr = logreg_create(F, c->seed);
    l->opt = (kml_logreg_opt){.lr = c->lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .l2 = c->weight_decay,
                              .clip_norm = c->clip};
    l->best = xmalloc(l->lr->np * sizeof *l->best);
    m->step = lin_step;
    m->eval_loss = lin_eval;
    m->predict = lin_predict;
    m->snapshot = lin_snapshot;
    m->restore = lin_restore;
    m->save = lin_save;
    m->destroy = lin_destroy;
    m->nparams = l->lr->np;
    lin_snapshot(m);
    return m;
}
