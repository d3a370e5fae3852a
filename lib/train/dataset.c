/* dataset.c: loading a labelled features CSV, splitting it in time, scaling. */
#include "train/dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "candles.h"
#include "cli.h"
#include "csv.h"
#include "jsonl.h"
#include "util.h"

int dataset_reserved(const char *name) {
    return !strcmp(name, "time") || !strcmp(name, "close") || !strcmp(name, "regime") ||
           !strncmp(name, "p_", 2) || !strncmp(name, "y_", 2);
}

int dataset_ret_horizon(const char *name) {
    if (strncmp(name, "y_ret_", 6)) return 0;
    int64_t h;
    if (parse_int64(name + 6, &h) || h <= 0 || h > 100000) return 0;
    return (int)h;
}

kml_dataset *dataset_load(const char *path, const kml_load_opts *o) {
    csv_reader *r = csv_open(path);
    kml_dataset *d = xcalloc(1, sizeof *d);
    int ct = csv_col(r, "time"), cc = csv_col(r, "close");
    d->label = xstrdup(o->label ? o->label : "y_class");
    int cy = csv_col_opt(r, d->label);
    if (cy < 0)
        die(EX_DATAERR, "%s:1: no label column '%s' (make labels with kml-features --labels)", csv_path(r),
            d->label);
    /* The horizon: the first y_ret_<h> column; --horizon overrides it. */
    int cr = -1;
    for (int j = 0; j < csv_ncols(r); j++) {
        int h = dataset_ret_horizon(csv_colname(r, j));
        if (h && cr < 0) cr = j, d->horizon = h;
    }
    if (o->horizon > 0) {
        d->horizon = o->horizon;
        char name[32];
        snprintf(name, sizeof name, "y_ret_%d", o->horizon);
        cr = csv_col_opt(r, name);
    }
    if (d->horizon <= 0)
        die(EX_DATAERR, "%s:1: no y_ret_<h> column to read the label horizon from; give --horizon H",
            csv_path(r));
    if (cr >= 0) d->ret_col = xstrdup(csv_colname(r, cr));

    int *fc;
    if (o->features) {
        char **names = cli_split(o->features, &d->F);
        if (d->F == 0) die(EX_USAGE, "--features: empty list");
        fc = xmalloc((size_t)d->F * sizeof *fc);
        d->feat = xmalloc((size_t)d->F * sizeof *d->feat);
        for (int j = 0; j < d->F; j++) {
            fc[j] = csv_col(r, names[j]);
            d->feat[j] = xstrdup(names[j]);
        }
        free(names);
    } else {
        fc = xmalloc((size_t)csv_ncols(r) * sizeof *fc);
        d->feat = xmalloc((size_t)csv_ncols(r) * sizeof *d->feat);
        for (int j = 0; j < csv_ncols(r); j++)
            if (!dataset_reserved(csv_colname(r, j))) {
                fc[d->F] = j;
                d->feat[d->F++] = xstrdup(csv_colname(r, j));
            }
        if (d->F == 0) die(EX_DATAERR, "%s:1: no feature columns", csv_path(r));
    }

    long cap = 1024;
    d->time = xmalloc(cap * sizeof *d->time);
    d->close = xmalloc(cap * sizeof *d->close);
    d->x = xmalloc(cap * d->F * sizeof *d->x);
    d->y = xmalloc(cap * sizeof *d->y);
    d->ret = xmalloc(cap * sizeof *d->ret);
    int64_t prev = INT64_MIN;
    while (csv_next(r)) {
        if (d->n == cap) {
            cap *= 2;
            d->time = xrealloc(d->time, cap * sizeof *d->time);
            d->close = xrealloc(d->close, cap * sizeof *d->close);
            d->x = xrealloc(d->x, cap * d->F * sizeof *d->x);
            d->y = xrealloc(d->y, cap * sizeof *d->y);
            d->ret = xrealloc(d->ret, cap * sizeof *d->ret);
        }
        long i = d->n;
        d->time[i] = csv_time_increasing(r, ct, &prev);
        d->close[i] = csv_double(r, cc);
        for (int j = 0; j < d->F; j++) d->x[i * d->F + j] = csv_double(r, fc[j]);
        int64_t lab = csv_int(r, cy);
        if (lab < 0 || lab > 2) csv_die(r, cy, "label %lld is not 0 (down), 1 (flat) or 2 (up)", (long long)lab);
        d->y[i] = (int)lab;
        d->ret[i] = cr >= 0 ? csv_double(r, cr) : NAN;
        d->n++;
    }
    const char *name = csv_path(r);
    if (d->n == 0) die(EX_DATAERR, "%s: no data rows", name);
    free(fc);
    csv_close(r);
    if (o->days > 0) {
        int64_t from = d->time[d->n - 1] - (int64_t)(o->days * 86400);
        long a = 0;
        while (a < d->n && d->time[a] <= from) a++;
        dataset_slice(d, a, d->n);
    }
    return d;
}

void dataset_slice(kml_dataset *d, long a, long b) {
    ASSERT(0 <= a && a <= b && b <= d->n);
    long m = b - a;
    memmove(d->time, d->time + a, m * sizeof *d->time);
    memmove(d->close, d->close + a, m * sizeof *d->close);
    memmove(d->x, d->x + a * d->F, m * d->F * sizeof *d->x);
    memmove(d->y, d->y + a, m * sizeof *d->y);
    memmove(d->ret, d->ret + a, m * sizeof *d->ret);
    d->n = m;
}

void dataset_free(kml_dataset *d) {
    if (!d) return;
    for (int j = 0; j < d->F; j++) free(d->feat[j]);
    free(d->feat);
    free(d->label);
    free(d->ret_col);
    free(d->time);
    free(d->close);
    free(d->x);
    free(d->y);
    free(d->ret);
    free(d);
}

int split_make(kml_split *s, long n, int T, double f_train, double f_val, int purge) {
    long first = T - 1, N = n - first;
    memset(s, 0, sizeof *s);
    s->purge = purge;
    if (N <= 0) return -1;
    s->tr0 = first;
    s->tr1 = first + (long)floor(f_train * N);
    s->va0 = s->tr1 + purge;
    s->va1 = first + (long)floor((f_train + f_val) * N);
    s->te0 = s->va1 + purge;
    s->te1 = n;
    if (s->tr1 <= s->tr0 || s->va1 <= s->va0 || s->te1 <= s->te0) return -1;
    return 0;
}

void scaler_fit(kml_scaler *s, const double *x, int F, long a, long b) {
    s->F = F;
    s->mean = xcalloc((size_t)F, sizeof *s->mean);
    s->std = xcalloc((size_t)F, sizeof *s->std);
    long m = b - a;
    for (int j = 0; j < F; j++) {
        /* Two passes (mean, then squared deviations): no catastrophic cancellation. */
        double mu = 0, v = 0;
        for (long i = a; i < b; i++) mu += x[i * F + j];
        mu = m > 0 ? mu / m : 0;
        for (long i = a; i < b; i++) v += (x[i * F + j] - mu) * (x[i * F + j] - mu);
        double sd = m > 1 ? sqrt(v / m) : 0;
        s->mean[j] = mu;
        s->std[j] = sd > 0 && isfinite(sd) ? sd : 1;
    }
}

void scaler_apply(const kml_scaler *s, const double *x, long a, long b, float *xs) {
    for (long i = a; i < b; i++)
        for (int j = 0; j < s->F; j++) xs[(i - a) * s->F + j] = (float)((x[i * s->F + j] - s->mean[j]) / s->std[j]);
}

void scaler_free(kml_scaler *s) {
    free(s->mean);
    free(s->std);
    s->mean = s->std = NULL;
}

cJSON *scaler_to_json(const kml_scaler *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON *m = cJSON_AddArrayToObject(o, "mean"), *sd = cJSON_AddArrayToObject(o, "std");
    for (int j = 0; j < s->F; j++) {
        cJSON_AddItemToArray(m, cJSON_CreateNumber(s->mean[j]));
        cJSON_AddItemToArray(sd, cJSON_CreateNumber(s->std[j]));
    }
    return o;
}

void class_prior(const int *y, long a, long b, double prior[3], long cnt[3]) {
    long c[3] = {0, 0, 0};
    for (long i = a; i < b; i++) c[y[i]]++;
    long n = b - a;
    for (int k = 0; k < 3; k++) {
        prior[k] = n > 0 ? (double)c[k] / n : 1.0 / 3;
        if (cnt) cnt[k] = c[k];
    }
}

void class_prior_rows(const int *y, const long *idx, long n, double prior[3], long cnt[3]) {
    long c[3] = {0, 0, 0};
    for (long i = 0; i < n; i++) c[y[idx[i]]]++;
    for (int k = 0; k < 3; k++) {
        prior[k] = n > 0 ? (double)c[k] / n : 1.0 / 3;
        if (cnt) cnt[k] = c[k];
    }
}

void class_weights(const long cnt[3], float w[3]) {
    long n = cnt[0] + cnt[1] + cnt[2];
    int present = (cnt[0] > 0) + (cnt[1] > 0) + (cnt[2] > 0);
    for (int k = 0; k < 3; k++) w[k] = cnt[k] > 0 ? (float)((double)n / ((double)present * cnt[k])) : 0.0f;
}

int64_t dataset_interval(const kml_dataset *d) { return candles_infer_interval(d->time, d->n); }

long dataset_windows(const kml_dataset *d, int T, int max_gap, unsigned char *ok) {
    int64_t iv = dataset_interval(d);
    /* The largest spacing inside a segment; in double, so a huge --max-gap cannot overflow. */
    double lim = (double)iv * ((double)max_gap + 1);
    long start = 0, n = 0;
    for (long i = 0; i < d->n; i++) {
        if (i > 0 && (double)(d->time[i] - d->time[i - 1]) > lim) start = i;
        ok[i] = i - start >= T - 1;
        n += ok[i];
    }
    return n;
}

long rows_where(const unsigned char *ok, long a, long b, long *idx) {
    long n = 0;
    for (long i = a; i < b; i++)
        if (!ok || ok[i]) idx[n++] = i;
    return n;
}
