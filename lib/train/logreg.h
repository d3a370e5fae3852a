/* logreg.h: the honest baseline, multinomial logistic regression on the last
 * bar's scaled features, trained with the same loop as the deep models.
 *
 * Dimensions: B batch, T window, F features, C = 3 classes.
 * logits = W x_T + b, where x_T is the window's last step. Parameters are one
 * allocation (W then b); gradients and Adam's moments mirror it. The L2
 * penalty (l2/2)||W||^2 (not on the bias) goes into the gradient (Adam with
 * L2, as torch.optim.Adam's weight_decay, restricted to W). */
#ifndef KML_TRAIN_LOGREG_H
#define KML_TRAIN_LOGREG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int F;
    size_t np;     /* 3F + 3 */
    float *param;  /* (np): W (3, F) then b (3) */
    float *grad;   /* (np) */
    float *m, *v;  /* (np) Adam moments */
    long step;     /* Adam steps taken */
} kml_logreg;

typedef struct {
    float lr, beta1, beta2, eps;
    float l2;        /* L2 penalty on W */
    float clip_norm; /* global gradient-norm clipping; 0 = off */
} kml_logreg_opt;

/* PyTorch nn.Linear initialisation: W and b uniform in +-1/sqrt(F), from seed. */
kml_logreg *logreg_create(int F, uint64_t seed);
void logreg_free(kml_logreg *m);
/* x (B, T, F) -> logits (B, 3), from step T-1 of each window. */
void logreg_forward(const kml_logreg *m, const float *x, int B, int T, float *logits);
/* Weighted mean cross-entropy (sum w_y l / sum w_y; class_w NULL = 1,1,1) of
 * the batch, without the penalty; when grad is non-zero, the gradient of the
 * loss plus the penalty is added into m->grad. */
float logreg_loss(kml_logreg *m, const float *x, const int *y, const float *class_w, int B, int T, float l2,
                  int grad);
/* One Adam step on the batch at learning rate lr; returns the loss before the update. */
float logreg_train_step(kml_logreg *m, const float *x, const int *y, const float *class_w, int B, int T,
                        const kml_logreg_opt *o, float lr);
/* Linear warm-up from 0 then cosine decay to 0 at total (the schedule nn_lr_at documents). */
float kml_lr_cosine(float base, long step, long warmup, long total);
/* Softmax of 3 logits into p (double), max-subtracted. */
void kml_softmax3(const float *logits, double *p);

#endif
