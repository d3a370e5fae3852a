/* dataset.h: a labelled features CSV in memory, its chronological split with
 * a purge gap, and the feature scaler fitted on the training rows.
 *
 * Dimensions: N rows, F features, T window. A sample is the window of rows
 * i-T+1..i; its label is the label of row i (the window's last bar). Training
 * must read everything, so the whole table is held in memory. */
#ifndef KML_TRAIN_DATASET_H
#define KML_TRAIN_DATASET_H

#include <cJSON.h>
#include <stdint.h>

typedef struct {
    long n;            /* rows */
    int F;             /* features */
    char **feat;       /* (F) feature names, in column order */
    char *label;       /* label column name ("y_class") */
    char *ret_col;     /* forward-return column name ("y_ret_4"), NULL when absent */
    int horizon;       /* label horizon in bars */
    int64_t *time;     /* (N) */
    double *close;     /* (N) */
    double *x;         /* (N, F) raw feature values */
    int *y;            /* (N) labels 0 down, 1 flat, 2 up */
    double *ret;       /* (N) forward returns, NaN when no return column */
} kml_dataset;

typedef struct {
    const char *features; /* comma-separated list, or NULL = every non-reserved column */
    const char *label;    /* label column; NULL = "y_class" */
    int horizon;          /* > 0 overrides the horizon read from y_ret_<h> */
    double days;          /* > 0: keep the last `days` days only */
} kml_load_opts;

/* Read path (NULL or "-" = stdin). Bad input dies 65 with file, line and
 * column; a missing file 66. The result is owned by the caller (dataset_free). */
kml_dataset *dataset_load(const char *path, const kml_load_opts *o);
void dataset_free(kml_dataset *d);
/* Whether a column is reserved (never a default feature): time, close,
 * regime, p_*, y_*. */
int dataset_reserved(const char *name);
/* The horizon h of a column named y_ret_<h>, or 0. */
int dataset_ret_horizon(const char *name);
/* Keep rows [a, b) only (views are compacted in place). */
void dataset_slice(kml_dataset *d, long a, long b);

/* A chronological split of the samples (window end rows) into train, val and
 * test: [tr0, tr1), [va0, va1), [te0, te1), row indices, each after the
 * previous by a purge gap of `purge` rows, so that no training label (which
 * looks `horizon` rows ahead) overlaps a validation or test row. */
typedef struct {
    long tr0, tr1, va0, va1, te0, te1;
    int purge;
} kml_split;

/* Split rows [first, n) where first = T-1; fractions of train and val (test is
 * the rest). Returns 0, or -1 when a part would be empty. */
int split_make(kml_split *s, long n, int T, double f_train, double f_val, int purge);

typedef struct {
    int F;
    double *mean, *std; /* (F) */
} kml_scaler;

/* Windows that cross a break in the data. kml-features restarts its
 * indicators after a gap longer than its --max-gap (and emits no row until
 * they are warm again), so in a features CSV a restart shows as a jump in
 * time. The bar interval is the most common spacing of consecutive rows
 * (the smallest of equally common ones; 0 when n < 2). A row starts a new
 * segment when it lies more than (max_gap + 1) intervals after the previous
 * row; ok[i] = 1 when the window of T rows ending at row i lies inside one
 * segment (so also i >= T - 1). Returns the number of valid windows. */
int64_t dataset_interval(const kml_dataset *d);
long dataset_windows(const kml_dataset *d, int T, int max_gap, unsigned char *ok);
/* The rows of [a, b) with ok[i] set (ok NULL: all), into idx; returns their count. */
long rows_where(const unsigned char *ok, long a, long b, long *idx);

/* Mean and standard deviation of rows [a, b) of x (N, F); a zero or undefined
 * deviation becomes 1 (the feature is then only centred). */
void scaler_fit(kml_scaler *s, const double *x, int F, long a, long b);
/* xs (rows, F) float = (x - mean) / std for rows [a, b). */
void scaler_apply(const kml_scaler *s, const double *x, long a, long b, float *xs);
void scaler_free(kml_scaler *s);
cJSON *scaler_to_json(const kml_scaler *s);

/* Class frequencies of y[a..b) into prior (3); returns counts in cnt (3) when non-NULL. */
void class_prior(const int *y, long a, long b, double prior[3], long cnt[3]);
/* The same over the rows idx (n). */
void class_prior_rows(const int *y, const long *idx, long n, double prior[3], long cnt[3]);
/* Inverse-frequency class weights, normalised so sum_k cnt_k w_k = N:
 * w_k = N / (3 cnt_k); a class absent from training gets weight 0. */
void class_weights(const long cnt[3], float w[3]);

#endif
