/* nn.h: the public model API of lib/nn (what kml-train, kml-predict and
 * kml-model call). Layers live in their own files with forward/backward pairs
 * (llm.c style); this header is the whole-model contract.
 *
 * Dimensions: B batch, T steps, F features, H hidden, C = 3 classes
 * (0 down, 1 flat, 2 up).
 *
 * Architectures ("arch"): lstm, gru, tcn, cnn, transformer, hybrid, assembled
 * exactly as ../shared/reference/torch_models.py defines them; tensor names in
 * model files are the reference's state_dict names. */
#ifndef KML_NN_H
#define KML_NN_H

#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "rng.h"

typedef struct {
    char arch[16];  /* "lstm", "gru", "tcn", "cnn", "transformer", "hybrid" */
    int T, F, H;    /* window, features, hidden (defaults 64, 32, 64) */
    int layers;     /* lstm/gru stacked layers; transformer encoder layers (default 2) */
    int heads;      /* transformer heads (default 4) */
    int ff;         /* transformer feed-forward width (default 128) */
    int kernel;     /* tcn kernel (3), cnn kernel (5); 0 = the arch's default */
    int levels;     /* tcn levels (default 4) */
    float dropout;  /* applied in training only; 0 = the reference (no dropout) */
} nn_config;

typedef struct {
    float lr;            /* base learning rate */
    float beta1, beta2, eps;
    float weight_decay;
    int decoupled;       /* 1 = AdamW (decoupled decay), 0 = Adam (L2 into the gradient) */
    float clip_norm;     /* global-norm clipping; 0 = off */
} nn_adam_cfg;

typedef struct nn_model nn_model;

/* Fill cfg with the defaults of arch; returns -1 for an unknown arch. */
int nn_config_default(nn_config *cfg, const char *arch);
void nn_adam_default(nn_adam_cfg *opt); /* lr 1e-3, betas 0.9/0.999, eps 1e-8, wd 0, Adam, no clip */

/* A model with PyTorch's default initialisation drawn from seed. NULL (and a
 * message in *err when err is non-NULL) for an invalid configuration. */
nn_model *nn_create(const nn_config *cfg, uint64_t seed);
void nn_free(nn_model *m);
const nn_config *nn_get_config(const nn_model *m);
size_t nn_num_params(const nn_model *m);
/* The parameter block itself (nn_num_params floats, the order of the tensor
 * table), owned by the model: a trainer copies it out to keep a best epoch and
 * back to restore it, without a file round trip. */
float *nn_params(nn_model *m);

/* Inference (dropout off): x (B,T,F) -> logits (B,3). Buffers grow as needed. */
void nn_predict(nn_model *m, const float *x, int B, float *logits);
/* One training step: forward in training mode (dropout from rng), weighted
 * softmax cross-entropy (class_w (3) or NULL for 1,1,1; the mean is
 * sum_i w_yi * loss_i / sum_i w_yi, as PyTorch's CrossEntropyLoss(weight=...)),
 * backward, global-norm clipping, and an Adam/AdamW update at learning rate lr.
 * Returns the loss before the update. No allocation after the first call for a
 * given B. */
float nn_train_step(nn_model *m, const float *x, const int *y, const float *class_w, int B,
                    const nn_adam_cfg *opt, float lr, rng_t *rng);
/* Loss only (eval mode), for validation: mean weighted cross-entropy of x, y. */
float nn_eval_loss(nn_model *m, const float *x, const int *y, const float *class_w, int B);
/* Threads for this model's batches (nn_train_step, nn_predict, nn_eval_loss):
 * a batch is split into up to n contiguous parts, each run on its own thread
 * with OpenBLAS at one thread inside (set for the call, then restored); a
 * small batch runs in the calling thread. n = 0 (the default): OpenBLAS's
 * thread count at each call (OPENBLAS_NUM_THREADS). Results are deterministic
 * for a seed and a thread count; across thread counts they differ in the last
 * bits (sums in another order). The calls change OpenBLAS's process-wide
 * thread count while they run: do not call them from several threads at once
 * unless OpenBLAS is at one thread. */
void nn_set_threads(nn_model *m, int n);
/* Warm-up (linear from 0) then cosine decay to 0 at total_steps. */
float nn_lr_at(float base_lr, long step, long warmup_steps, long total_steps);

/* Model files: safetensors, float32 tensors with the reference's names.
 * meta: an object whose members are strings (each a JSON text), written to
 * __metadata__; nn_save adds "config" itself. Atomic replace. Returns 0, or -1
 * with a message printed. nn_load returns NULL on error (message printed,
 * naming the file) and the metadata object in *meta (caller deletes) when meta
 * is non-NULL. */
int nn_save(const nn_model *m, const char *path, const cJSON *meta);
nn_model *nn_load(const char *path, cJSON **meta);
/* The network of a safetensors file already read (lib/ml/safetensors.h):
 * NULL with a message in err (n bytes) when its config or a tensor is
 * missing or wrong, or it has a tensor the arch does not. */
struct st_file;
nn_model *nn_load_st(const struct st_file *f, char *err, size_t n);

/* Added by lib/nn (beyond the first contract): configuration checks and the
 * JSON form written to a model file's "config" metadata. nn_config_check
 * returns -1 with a message in err (n bytes) for an invalid configuration;
 * nn_config_json returns a new object (caller deletes); nn_config_from_json
 * fills cfg from such an object (missing hyper-parameters take the arch's
 * defaults; arch, T, F, H are required) or returns -1 with a message. */
int nn_config_check(const nn_config *cfg, char *err, size_t n);
cJSON *nn_config_json(const nn_config *cfg);
int nn_config_from_json(nn_config *cfg, const cJSON *j, char *err, size_t n);

#endif
