/* train.h: kml-train's pieces: the model interface shared by the linear
 * baseline and lib/nn's deep models, the training loop with early stopping,
 * evaluation, the hyper-parameter search, walk-forward and plots.
 *
 * Dimensions: N rows, B batch, T window, F features, C = 3 classes. */
#ifndef KML_TRAIN_TRAIN_H
#define KML_TRAIN_TRAIN_H

#include <cJSON.h>
#include <stdint.h>

#include "ml/ml.h"
#include "progress.h"
#include "rng.h"
#include "train/dataset.h"
#include "train/metrics.h"

/* Hyper-parameters of one training run. */
typedef struct {
    char arch[16];
    int T, H, layers;
    float dropout;
    float lr, weight_decay, clip;
    int batch, epochs, patience;
    uint64_t seed;
    double f_train, f_val; /* split fractions (test is the rest) */
    int purge;             /* rows between the parts; >= the label horizon */
    int max_gap;           /* missing bars a window may span (see dataset_windows) */
} train_cfg;

/* A trainable model: the linear baseline or a lib/nn network. */
typedef struct model model;
struct model {
    char arch[16];
    int T; /* the window the model reads (1 for linear) */
    /* Added to the logits at prediction: -log(class weight), which undoes the
     * class weighting of training (prior-shift correction), so the
     * probabilities estimate the true class frequencies again. */
    float offset[3];
    void *impl;
    float (*step)(model *m, const float *x, const int *y, const float *w, int B, float lr, rng_t *rng);
    float (*eval_loss)(model *m, const float *x, const int *y, const float *w, int B);
    void (*predict)(model *m, const float *x, int B, float *logits);
    void (*snapshot)(model *m); /* remember the current parameters as the best */
    void (*restore)(model *m);  /* go back to the remembered parameters */
    /* Write the model file through lib/ml with info's metadata (offset is m's). */
    void (*save)(model *m, const char *path, const ml_info *info);
    void (*destroy)(model *m);
    size_t nparams;
};

/* Whether this build can train lib/nn's deep models. */
int deep_available(void);
model *linear_model_create(const train_cfg *c, int F);
/* A lib/nn model; dies EX_USAGE for an invalid configuration. The best
 * epoch's parameters are kept in memory, a copy of lib/nn's parameter block. */
model *deep_model_create(const train_cfg *c, int F);
model *model_create(const train_cfg *c, int F);

/* What the training loop sees: scaled rows and the samples, each named by
 * the row its window ends at (windows that cross a break are left out). */
typedef struct {
    const float *xs;  /* (N, F) scaled */
    const int *y;     /* (N) */
    int F;
    const long *tr, *va; /* (ntr), (nva) training and validation sample rows, increasing */
    long ntr, nva;
    float cw[3];      /* class weights */
} fit_data;

typedef struct {
    int epochs_run, best_epoch;
    double best_val;
    double *train_loss, *val_loss; /* (epochs_run) */
    double seconds, samples_per_s;
} fit_result;

/* Train m on fd: shuffled mini-batches, warm-up + cosine learning rate,
 * early stopping on validation loss; m holds the best epoch's parameters on
 * return. log_arch non-NULL: every epoch goes to logs/ml_training.log. */
void fit(model *m, const train_cfg *c, const fit_data *fd, fit_result *r, int quiet, const char *log_tag);
void fit_result_free(fit_result *r);
/* Weighted validation loss of the samples ending at rows idx (n). */
double eval_loss_rows(model *m, const float *xs, const int *y, int F, const long *idx, long n, const float *cw);
/* Set m->offset from the training class weights. */
void model_set_prior_correction(model *m, const float cw[3]);
/* Class probabilities (n, 3) of the samples ending at rows idx (n) into p (offset applied). */
void predict_rows(model *m, const float *xs, int F, const long *idx, long n, double *p);

/* Options of the whole tool that the pieces read. */
typedef struct {
    const char *input;
    const char *outdir;
    const char *source;   /* "real", "synthetic" or "unknown" */
    const char *pair;
    int force, quiet, visualize, extreme;
    double fee;           /* round-trip fee as a log return, for hit_rate */
    kml_load_opts load;
    const char *labels_note; /* JSON text describing the labels learnt */
    /* --optimize */
    int trials, jobs;
    double time_budget;
    const char *space;
    /* walk-forward */
    double train_days, step_days;
    /* Units of work for a scheduler (pieces.c): list prints the folds or the
     * trials; unit >= 0 runs that fold (--fold) or trial slot (--trial) of
     * rung `rung` only; merge assembles the pieces into the one-process output. */
    int list, unit, rung, merge;
    const char *pieces;  /* the pieces' directory (default OUTDIR/pieces) */
    char data_hash[65];  /* dataset_hash of the input */
} train_opts;

/* Train one architecture on d (or keep the unchanged model); returns the
 * result object printed on stdout (caller deletes). */
cJSON *train_arch(const train_cfg *c, const train_opts *o, const kml_dataset *d, const char *data_hash);
/* The SHA-256 of the data actually used (times, features, labels, returns). */
void dataset_hash(const kml_dataset *d, char hex[65]);

/* --optimize: search, write the trial table and the best config, set the best
 * cfg and return 1; with o->list or o->unit >= 0 (a piece of the search) return
 * 0: nothing more to train. With o->merge the trials are read from the pieces. */
int optimize(train_cfg *best, const train_cfg *base, const train_opts *o, const kml_dataset *d);
/* Walk-forward predictions on stdout; or with o->list the folds as JSON lines,
 * o->unit >= 0 that fold's pieces, o->merge the predictions from the pieces. */
void walk_forward(const train_cfg *c, const char *const *archs, int narch, const train_opts *o,
                  const kml_dataset *d);
/* pieces.c: the key of a plan ("walk-forward" or "optimize") from c and o;
 * the pieces' directory; a piece with this key (NULL: missing, unreadable or
 * of another plan; caller deletes); write obj (key added) atomically; die 66
 * naming the missing pieces. */
void plan_key(const train_cfg *c, const train_opts *o, const char *kind, char hex[65]);
const char *pieces_dir(const train_opts *o, char *buf, size_t cap);
cJSON *piece_load(const char *path, const char *key);
int piece_done(const char *path, const char *key);
void piece_write(const char *path, cJSON *obj, const char *key);
__attribute__((noreturn)) void pieces_missing_die(const char *what, char **names, int n);

/* gnuplot PNGs; returns the array of paths written (caller deletes). */
cJSON *plot_all(const char *outdir, const char *arch, const fit_result *fr, const double *p, const int *y,
                const double *ret, long n);

#endif
