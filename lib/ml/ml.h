/* ml.h: model files, the one home of their contract. kml-train writes every
 * model through it and everything else loads through it (DESIGN.md, "model
 * files"); nothing else parses a model file.
 *
 * Dimensions: B batch, T window, F features, C = 3 classes (0 down, 1 flat,
 * 2 up).
 *
 * A model file is safetensors (ml/safetensors.h): the tensors of the
 * architecture ("linear": linear.weight (3, F) and linear.bias (3); the six
 * networks: lib/nn's tensor tables, PyTorch's state_dict names) and
 * "__metadata__" values that are JSON texts:
 *   config        {"arch", "T", "F", "H", ...} (lib/nn's config; linear: T 1, H 0, l2)
 *   features      ["ret_1", ...]           the F input columns, in order
 *   scaler        {"mean": [F], "std": [F]} x_scaled = (x - mean) / std, from the training rows
 *   calibration   {"logit_offset": [3], "use": "..."} added to the logits before the softmax
 *   labels        {"column", "horizon", "classes", ...} what the classes mean
 *   training      kml-train's settings (lr, max_gap, seed, ...)
 *   train_window, metrics, data, run, data_hash, config_hash
 * A window is the T rows ending at the bar predicted; the linear model reads
 * only its last row. */
#ifndef KML_ML_ML_H
#define KML_ML_ML_H

#include <cJSON.h>
#include <stddef.h>

#include "nn/nn.h"
#include "train/logreg.h"

typedef struct {
    char arch[16];      /* "linear", "lstm", "gru", "tcn", "cnn", "transformer", "hybrid" */
    int T, F;           /* window length, features */
    char **features;    /* (F) column names, in the model's order */
    double *mean, *std; /* (F) the scaler */
    float offset[3];    /* calibration: logit offsets */
    char *label;        /* labels.column ("" when the file does not say) */
    int horizon;        /* labels.horizon in bars (0 when the file does not say) */
    int max_gap;        /* training.max_gap: missing bars a window may span (3 when absent) */
    cJSON *meta;        /* the file's __metadata__ (an object of strings) */
    nn_model *net;      /* a network, or NULL */
    kml_logreg *lin;    /* the linear model, or NULL */
    float *xs;          /* (T, F) scratch for ml_predict_raw */
} ml_model;

/* Load path. Returns 0 and *out (caller ml_free()s); or EX_NOINPUT (cannot
 * open), EX_IOERR (read error) or EX_DATAERR (not a model file, or a
 * metadata value missing or malformed: the message names it) with a message
 * in err that does not name the file. */
int ml_load(const char *path, ml_model **out, char *err, size_t errn);
void ml_free(ml_model *m);
/* Scale raw feature rows x (n, F, in the model's feature order) into xs
 * (n, F) float: (x - mean) / std in double, then rounded to float, as
 * kml-train does. */
void ml_scale(const ml_model *m, const double *x, long n, float *xs);
/* Class probabilities p (B, 3) of the scaled windows xs (B, T, F):
 * softmax(logits + offset), the calibration applied. */
void ml_predict(ml_model *m, const float *xs, int B, double *p);
/* The calibration rule, the one home of it: p (B, 3) = softmax(logits +
 * offset), the sum in float as the logits are, the softmax in double
 * (kml-train's evaluation uses it too). logits (B, 3) is left unchanged. */
void ml_calibrated(const float *logits, int B, const float offset[3], double *p);
/* The same for one window of raw rows x (T, F). */
void ml_predict_raw(ml_model *m, const double *x, double p[3]);

/* What kml-train knows of a trained model beyond its tensors. JSON members
 * are borrowed (copied into the file); NULL ones are left out. */
typedef struct {
    int F;
    const char *const *features; /* (F) */
    const double *mean, *std;    /* (F) */
    float offset[3];
    const cJSON *labels, *train_window, *metrics, *training, *data, *run;
    const char *data_hash, *config_hash;
} ml_info;

/* Write a linear model (W (3, F), b (3), its L2 penalty) or a network with
 * info's metadata, atomically. Dies 73/74 when the file cannot be written. */
void ml_save_linear(const char *path, const float *W, const float *b, double l2, const ml_info *info);
void ml_save_nn(const char *path, const nn_model *net, const ml_info *info);
/* The metadata of a model file as an object of parsed JSON values (each
 * string parsed; one that does not parse is left out), or NULL when path is
 * absent or not a safetensors file. No message. Caller deletes. */
cJSON *ml_read_meta(const char *path);

#endif
