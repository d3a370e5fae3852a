/* deep.c: lib/nn's networks (lstm, gru, tcn, cnn, transformer, hybrid)
 * behind kml-train's model interface.
 *
 * A window is (T, F) of scaled features ending at the labelled bar. The
 * optimiser is AdamW (decoupled weight decay) with global-norm clipping; the
 * learning rate comes from fit()'s schedule. The best epoch is a copy of
 * lib/nn's parameter block (nn_params), restored bit for bit. */
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "train.h"
#include "util.h"

typedef struct {
    nn_model *net;
    nn_adam_cfg opt;
    float *best; /* (nn_num_params) the best epoch's parameters */
    int snapped;
} deep;

int deep_available(void) { return 1; }

static float deep_step(model *m, const float *x, const int *y, const float *w, int B, float lr, rng_t *rng) {
    deep *d = m->impl;
    return nn_train_step(d->net, x, y, w, B, &d->opt, lr, rng);
}

static float deep_eval(model *m, const float *x, const int *y, const float *w, int B) {
    deep *d = m->impl;
    return nn_eval_loss(d->net, x, y, w, B);
}

static void deep_predict(model *m, const float *x, int B, float *logits) {
    deep *d = m->impl;
    nn_predict(d->net, x, B, logits);
}

static void deep_snapshot(model *m) {
    deep *d = m->impl;
    memcpy(d->best, nn_params(d->net), m->nparams * sizeof *d->best);
    d->snapped = 1;
}

static void deep_restore(model *m) {
    deep *d = m->impl;
    if (d->snapped) memcpy(nn_params(d->net), d->best, m->nparams * sizeof *d->best);
}

static void deep_save(model *m, const char *path, const ml_info *info) {
    deep *d = m->impl;
    ml_save_nn(path, d->net, info);
}

static void deep_destroy(model *m) {
    deep *d = m->impl;
    free(d->best);
    nn_free(d->net);
    free(d);
    free(m);
}

model *deep_model_create(const train_cfg *c, int F) {
    nn_config nc;
    if (nn_config_default(&nc, c->arch)) die(EX_USAGE, "--arch: unknown architecture '%s'", c->arch);
    nc.T = c->T, nc.F = F, nc.H = c->H, nc.layers = c->layers, nc.dropout = c->dropout;
    char err[256];
    if (nn_config_check(&nc, err, sizeof err)) die(EX_USAGE, "--arch %s: %s", c->arch, err);
    nn_model *net = nn_create(&nc, c->seed);
    if (!net) die(EX_USAGE, "--arch %s: invalid configuration", c->arch);
    model *m = xcalloc(1, sizeof *m);
    deep *d = xcalloc(1, sizeof *d);
    d->net = net;
    nn_adam_default(&d->opt);
    d->opt.lr = c->lr;
    d->opt.weight_decay = c->weight_decay;
    d->opt.decoupled = 1;
    d->opt.clip_norm = c->clip;
    snprintf(m->arch, sizeof m->arch, "%s", c->arch);
    m->T = c->T;
    m->impl = d;
    m->step = deep_step;
    m->eval_loss = deep_eval;
    m->predict = deep_predict;
    m->snapshot = deep_snapshot;
    m->restore = deep_restore;
    m->save = deep_save;
    m->destroy = deep_destroy;
    m->nparams = nn_num_params(net);
    d->best = xmalloc(m->nparams * sizeof *d->best);
    return m;
}
