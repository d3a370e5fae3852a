/* nn_impl.h: the inside of nn_model, shared by model.c, optim.c and
 * safetensors.c (not for tools: they use nn.h).
 *
 * Dimensions: B batch (cap: the batch the buffers are sized for), T steps,
 * F features, H hidden, G gate width (4H LSTM, 3H GRU), NH heads, FF the
 * transformer feed-forward width, K kernel.
 *
 * Parameters are one allocation, params (nparams); grads, m and v (Adam's
 * moments) mirror it element for element. Each tensor of the reference's
 * state_dict is a named view: tens[i] gives its name, shape and offset, and the
 * layer structs below hold those offsets (P(m, off) is the parameter, G(m, off)
 * its gradient). Activations live in three arenas sized for cap: `act`
 * (forward values), `zero` (gradients that backward adds into; zeroed before
 * each backward) and `scr` (scratch a layer overwrites). */
#ifndef KML_NN_IMPL_H
#define KML_NN_IMPL_H

#include "nn/nn.h"

#define NN_MAX_LAYERS 8
#define NN_MAX_LEVELS 12
#define NN_MAX_TENSORS 256
#define NN_MAX_PARTS 16 /* data-parallel parts of a batch (parallel.c) */

typedef struct {
    char name[96];
    int ndim, shape[3];
    size_t off, n;
} nn_tensor;

typedef struct { size_t w, b; } nn_lin; /* offsets of a weight and its bias */

enum { TR_RNN, TR_TCN, TR_CNN, TR_TF };

typedef struct {
    size_t w_ih, w_hh, b_ih, b_hh;
    float *h, *c, *g, *hn, *mask, *hd; /* act: (B,T,H), (B,T,H), (B,T,G), (B,T,H), (B,T,H) x2 */
    float *dh, *dhd;                   /* zero: (B,T,H) x2 */
} nn_rnn_layer;

/* A TCN block computes only the steps the last step of the top block depends
 * on (its receptive cone; the others cannot change the loss or the logits):
 * its output at no steps of stride so, conv1's output y1 at n1 steps of
 * stride dil, reading its input at ni steps of stride dil, all ending at T-1
 * (see conv1d_steps_forward). The top block's output is one step. */
typedef struct {
    nn_lin c1, c2, down;
    int cin, dil, has_down;
    int so, no, n1, ni;
    float *col1, *y1, *col2, *y2, *cold, *res, *out;   /* act: (B*n1, cin*K), (B,n1,H), (B*no, H*K), (B,no,H),
                                                          (B*no, cin), (B,no,H) x2 */
    float *dout, *dsum, *dy2, *dy2p, *dy1, *dy1p, *dres; /* zero: (B,no,H) or (B,n1,H) */
} nn_tblock;

typedef struct {
    nn_lin in, out, l1, l2, n1, n2;
    float *qkv, *att, *ctx, *ao, *r1, *x1, *m1, *s1, *f1, *f2, *r2, *x2, *m2, *s2; /* act */
    float *dqkv, *dctx, *dao, *dr1, *dx1, *df1, *df1p, *df2, *dr2, *dx2;          /* zero */
} nn_enc_layer;

typedef struct {
    int kind, gru;  /* TR_*; gru: the RNN is a GRU */
    int L, K;       /* layers (RNN, transformer) / levels (TCN); kernel (TCN, CNN) */
    int NH, FF;     /* transformer heads and feed-forward width */
    nn_rnn_layer rl[NN_MAX_LAYERS];
    nn_tblock tb[NN_MAX_LEVELS];
    nn_lin conv1, conv2;  /* CNN */
    int T1, T2, T3;       /* CNN lengths: after conv1, pool, conv2 */
    nn_lin proj;          /* transformer input projection */
    nn_enc_layer enc[NN_MAX_LAYERS];
    /* CNN activations */
    float *ccol1, *cy1, *cp, *ccol2, *cy2; int *carg;
    float *dcy1, *dcy1p, *dcp, *dcy2, *dcy2p;
    /* transformer input */
    float *x0, *dx0;
    float *feat, *dfeat; /* (B,H) the branch's output */
    float *gh, *dg1, *dg2, *dc, *dcol, *datt; /* scratch */
    float *wt;            /* scratch (H,G): the RNN's w_hh transposed */
    float *cwp;           /* scratch (2,H,K,max(F,H)): a CNN weight with its axes swapped */
} nn_trunk;

struct nn_model {
    nn_config cfg;
    nn_tensor tens[NN_MAX_TENSORS];
    int ntens;
    size_t nparams;
    float *params, *grads, *m, *v; /* (nparams) each */
    long step;                     /* Adam steps taken */
    int ntr;
    nn_trunk tr[4];
    int hybrid;
    nn_lin fuse, head;
    float *pe;                     /* (T,H) positional encoding */
    int cap;                       /* batch the buffers hold */
    float *abuf, *zbuf, *sbuf;
    size_t an, zn, sn;
    float *z, *u, *hmask, *hd, *logits, *probs;  /* act: (B,4H), (B,H), (B,H), (B,H), (B,3), (B,3) */
    float *dz, *du, *dhd, *dhin, *dlogits;       /* zero */
    /* Data parallelism (parallel.c). A replica is a struct copy of the model
     * sharing params and pe (read only) with its own grads and arenas: so
     * whatever forward or backward writes must live in the arenas or grads. */
    int threads;                   /* nn_set_threads; 0: OpenBLAS's thread count */
    int par_min_rows;              /* > 0: split by rows, parts of at least this many (tests); 0: by work */
    int nrep;                      /* replicas made: parts 1..nrep */
    struct nn_model *rep[NN_MAX_PARTS - 1];
    struct nn_pool *pool;          /* worker threads, started on first use, joined by nn_free */
};

#define P(m, off) ((m)->params + (off))
#define G(m, off) ((m)->grads + (off))

/* The model's forward pass on x (B,T,F) into m->logits; train: dropout on. */
void nn_forward(nn_model *m, const float *x, int B, int train, rng_t *rng);
/* Backward from m->dlogits (B,3), adding into m->grads. */
void nn_backward(nn_model *m, const float *x, int B, int train);
/* Size the activation arenas for B (no-op when B <= cap). */
void nn_reserve(nn_model *m, int B);
/* parallel.c. nn_blas_single sets OpenBLAS to one thread and returns the
 * count it had (lib/nn's entry points run each product on one thread and
 * split the batch over their own threads); nn_blas_restore(count) puts it
 * back. The nn_par_* functions split the batch into parts, one a thread
 * (m->threads, else `threads`), and run them on the model and its replicas:
 * nn_par_loss_grad does forward, weighted cross-entropy and backward in
 * training mode and leaves the whole batch's gradient in m->grads (zeroed
 * first), returning the loss; nn_par_predict writes logits (B,3);
 * nn_par_eval_loss returns the eval-mode loss. nn_par_free joins the threads
 * and frees the replicas. */
int nn_blas_single(void);
void nn_blas_restore(int threads);
double nn_par_loss_grad(nn_model *m, const float *x, const int *y, const float *class_w, int B, int threads,
                        rng_t *rng);
void nn_par_predict(nn_model *m, const float *x, int B, int threads, float *logits);
double nn_par_eval_loss(nn_model *m, const float *x, const int *y, const float *class_w, int B, int threads);
void nn_par_free(nn_model *m);
/* Adam/AdamW on every parameter from m->grads (after clipping); returns the
 * gradient's global norm before clipping. */
double nn_optimizer_step(nn_model *m, const nn_adam_cfg *opt, float lr);

#endif
