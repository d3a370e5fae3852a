/* fit.c: the training loop (mini-batches, learning-rate schedule, early
 * stopping on validation loss) and batched inference over sample rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "log.h"
#include "train.h"
#include "train/logreg.h"
#include "util.h"

#define EVAL_B 256

/* Copy the windows ending at rows idx[0..B) into x (B, T, F). */
static void gather(float *x, const float *xs, int F, int T, const long *idx, int B) {
    for (int b = 0; b < B; b++)
        memcpy(x + (size_t)b * T * F, xs + (size_t)(idx[b] - T + 1) * F, (size_t)T * F * sizeof *x);
}

double eval_loss_rows(model *m, const float *xs, const int *y, int F, const long *idx, long n, const float *cw) {
    float *x = xmalloc((size_t)EVAL_B * m->T * F * sizeof *x);
    int yb[EVAL_B];
    double num = 0, den = 0;
    for (long i = 0; i < n; i += EVAL_B) {
        int B = (int)(n - i < EVAL_B ? n - i : EVAL_B);
        double wsum = 0;
        for (int k = 0; k < B; k++) yb[k] = y[idx[i + k]], wsum += cw ? cw[yb[k]] : 1;
        gather(x, xs, F, m->T, idx + i, B);
        /* The batch loss is a weighted mean; recombine batches by their weight sums. */
        num += m->eval_loss(m, x, yb, cw, B) * wsum;
        den += wsum;
    }
    free(x);
    return den > 0 ? num / den : NAN;
}

void predict_rows(model *m, const float *xs, int F, const long *idx, long n, double *p) {
    float *x = xmalloc((size_t)EVAL_B * m->T * F * sizeof *x);
    float logits[EVAL_B * 3];
    for (long i = 0; i < n; i += EVAL_B) {
        int B = (int)(n - i < EVAL_B ? n - i : EVAL_B);
        gather(x, xs, F, m->T, idx + i, B);
        m->predict(m, x, B, logits);
        ml_calibrated(logits, B, m->offset, p + 3 * i); /* lib/ml's rule, the one kml-predict applies */
    }
    free(x);
}

void model_set_prior_correction(model *m, const float cw[3]) {
    /* A class absent from training (weight 0) gets a large negative offset:
     * its probability is then ~0, as its training frequency. */
    for (int k = 0; k < 3; k++) m->offset[k] = cw[k] > 0 ? -logf(cw[k]) : -30.0f;
}

void fit(model *m, const train_cfg *c, const fit_data *fd, fit_result *r, int quiet, const char *log_tag) {
    memset(r, 0, sizeof *r);
    long n = fd->ntr;
    ASSERT(n > 0);
    int B = c->batch < n ? c->batch : (int)n;
    long steps_epoch = (n + B - 1) / B, total = steps_epoch * c->epochs;
    long warmup = total / 20; /* 5 % of the steps: Adam's moments settle before the full rate */
    long *order = xmalloc((size_t)n * sizeof *order);
    memcpy(order, fd->tr, (size_t)n * sizeof *order);
    float *x = xmalloc((size_t)B * m->T * fd->F * sizeof *x);
    int *yb = xmalloc((size_t)B * sizeof *yb);
    r->train_loss = xmalloc((size_t)c->epochs * sizeof *r->train_loss);
    r->val_loss = xmalloc((size_t)c->epochs * sizeof *r->val_loss);
    rng_t rng;
    rng_seed(&rng, c->seed ^ 0x5eedf17ULL);
    progress pg;
    char label[48], note[96];
    snprintf(label, sizeof label, "%s", m->arch);
    progress_init(&pg, label, total, quiet);
    r->best_val = INFINITY;
    int bad = 0;
    long step = 0;
    double t0 = now_seconds();
    long seen = 0;
    for (int ep = 0; ep < c->epochs; ep++) {
        /* Fisher-Yates over sample rows (long indices; rng_shuffle_int takes ints). */
        for (long i = n - 1; i > 0; i--) {
            long j = (long)rng_below(&rng, (uint64_t)i + 1), t = order[i];
            order[i] = order[j], order[j] = t;
        }
        double lsum = 0, wsum = 0;
        for (long s = 0; s < steps_epoch; s++) {
            int Bs = (int)(n - s * B < B ? n - s * B : B);
            gather(x, fd->xs, fd->F, m->T, order + s * B, Bs);
            for (int k = 0; k < Bs; k++) yb[k] = fd->y[order[s * B + k]];
            float lr = kml_lr_cosine(c->lr, step, warmup, total);
            float loss = m->step(m, x, yb, fd->cw, Bs, lr, &rng);
            lsum += (double)loss * Bs, wsum += Bs;
            step++, seen += Bs;
            snprintf(note, sizeof note, "epoch %d/%d loss %.4f", ep + 1, c->epochs, lsum / wsum);
            progress_update(&pg, step, note);
        }
        double vl = eval_loss_rows(m, fd->xs, fd->y, fd->F, fd->va, fd->nva, fd->cw);
        r->train_loss[ep] = lsum / wsum;
        r->val_loss[ep] = vl;
        r->epochs_run = ep + 1;
        if (log_tag) {
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "arch", m->arch);
            cJSON_AddStringToObject(f, "run", log_tag);
            cJSON_AddNumberToObject(f, "epoch", ep + 1);
            json_add_num(f, "train_loss", r->train_loss[ep]);
            json_add_num(f, "val_loss", vl);
            json_add_num(f, "seconds", now_seconds() - t0);
            log_event("ml_training", LOG_INFO, "epoch", f);
        }
        /* Early stopping: keep the parameters of the best validation loss. */
        if (vl < r->best_val) {
            r->best_val = vl;
            r->best_epoch = ep + 1;
            m->snapshot(m);
            bad = 0;
        } else if (!isfinite(vl) || ++bad >= c->patience) {
            break;
        }
    }
    progress_done(&pg);
    r->seconds = now_seconds() - t0;
    r->samples_per_s = r->seconds > 0 ? seen / r->seconds : NAN;
    m->restore(m);
    free(order);
    free(x);
    free(yb);
}

void fit_result_free(fit_result *r) {
    free(r->train_loss);
    free(r->val_loss);
    r->train_loss = r->val_loss = NULL;
}
