/* walkforward.c: rolling retraining and out-of-sample predictions.
 *
 * Fold k predicts the bars with time in [P_k, P_k + step), P_k = t_0 +
 * train_days + k step, with models trained on the bars in [P_k - train_days,
 * P_k) whose labels end before P_k: a training row i is used only when
 * i + horizon < the first predicted row, so no label a model learnt overlaps
 * a bar it predicts. The scaler is fitted on the fold's training rows.
 * A bar whose window of T rows crosses a break in the data (see
 * dataset_windows, --max-gap) is neither trained on nor predicted: the
 * output has no row for it.
 *
 * Each fold is its own unit of work (--list-folds, --fold K, --merge): a
 * fold's models depend only on the data, the options and k (the seed is
 * seed + k), so folds trained apart and merged give the one-process output.
 * The one-process run takes a fold from its piece when one of this plan is
 * there (without --force-retrain), so a run cut short, or folds run by a
 * scheduler, are not trained again. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "csv.h"
#include "jsonl.h"
#include "log.h"
#include "train.h"
#include "util.h"

static long first_at_or_after(const kml_dataset *d, long from, int64_t t) {
    while (from < d->n && d->time[from] < t) from++;
    return from;
}

/* The folds in order, and the rows of the current one. */
typedef struct {
    const kml_dataset *d;
    const train_cfg *c;
    const train_opts *o;
    int64_t win, step;
    unsigned char *ok;
    long *tr, *va, *pr;
    long a, p0, p1, end, tr1, ntr, nva, np;
    int k, next;
} wf_iter;

static void wf_init(wf_iter *x, const train_cfg *c, const train_opts *o, const kml_dataset *d) {
    memset(x, 0, sizeof *x);
    x->d = d, x->c = c, x->o = o;
    x->win = (int64_t)llround(o->train_days * 86400), x->step = (int64_t)llround(o->step_days * 86400);
    x->ok = xmalloc((size_t)d->n);
    dataset_windows(d, c->T, c->max_gap, x->ok);
    x->tr = xmalloc((size_t)d->n * sizeof *x->tr), x->va = xmalloc((size_t)d->n * sizeof *x->va);
    x->pr = xmalloc((size_t)d->n * sizeof *x->pr);
}

static void wf_free(wf_iter *x) {
    free(x->ok), free(x->tr), free(x->va), free(x->pr);
}

/* The next fold with bars to predict; 0 after the last. A fold with too few
 * training rows dies 65. */
static int wf_next(wf_iter *x) {
    const kml_dataset *d = x->d;
    const train_cfg *c = x->c;
    for (;;) {
        int k = x->next++;
        int64_t P = d->time[0] + x->win + (int64_t)k * x->step;
        x->a = first_at_or_after(d, x->a, P - x->win);
        x->p0 = first_at_or_after(d, x->p0, P);
        if (x->p0 >= d->n) return 0;
        x->p1 = first_at_or_after(d, x->p0, P + x->step);
        if (x->p1 == x->p0) continue; /* a gap in the data: no bar to predict in this step */
        long s0 = x->a + c->T - 1;
        x->end = x->p0 - d->horizon; /* training samples [s0, end) */
        long N = x->end - s0;
        x->tr1 = s0 + (long)floor(0.85 * N);
        long va0 = x->tr1 + c->purge;
        x->ntr = N > 0 && x->tr1 > s0 ? rows_where(x->ok, s0, x->tr1, x->tr) : 0;
        x->nva = x->end > va0 ? rows_where(x->ok, va0, x->end, x->va) : 0;
        if (x->ntr == 0 || x->nva == 0)
            die(EX_DATAERR, "%s: walk-forward fold %d has too few rows (%ld) for windows of %d bars; raise --train-days",
                display_name(x->o->input), k, N > 0 ? N : 0, c->T);
        /* The bars of this step that have a whole window (none crossing a break). */
        x->np = rows_where(x->ok, x->p0, x->p1, x->pr);
        if (x->np == 0) continue;
        x->k = k;
        return 1;
    }
}

static void add_range(cJSON *f, const wf_iter *x) {
    const kml_dataset *d = x->d;
    cJSON_AddNumberToObject(f, "train_first", (double)d->time[x->a]);
    cJSON_AddNumberToObject(f, "train_last", (double)d->time[x->end - 1]);
    /* The last bar the model saw: the label of its last training row ends there. */
    cJSON_AddNumberToObject(f, "seen_last", (double)d->time[x->end - 1 + d->horizon]);
    cJSON_AddNumberToObject(f, "predict_first", (double)d->time[x->pr[0]]);
    cJSON_AddNumberToObject(f, "predict_last", (double)d->time[x->pr[x->np - 1]]);
}

/* Train archs[ai] for which train[ai] (NULL: all) on the current fold and
 * put their probabilities in p (narch, np, 3). xs: (n, F) scratch. */
static void wf_train(const wf_iter *x, const char *const *archs, int narch, const int *train, float *xs, double *p) {
    const kml_dataset *d = x->d;
    kml_scaler sc;
    scaler_fit(&sc, d->x, d->F, x->a, x->tr1);
    scaler_apply(&sc, d->x, 0, d->n, xs);
    double prior[3];
    long cnt[3];
    class_prior_rows(d->y, x->tr, x->ntr, prior, cnt);
    fit_data fd = {.xs = xs, .y = d->y, .F = d->F, .tr = x->tr, .ntr = x->ntr, .va = x->va, .nva = x->nva};
    class_weights(cnt, fd.cw);
    for (int ai = 0; ai < narch; ai++) {
        if (train && !train[ai]) continue;
        train_cfg ci = *x->c;
        snprintf(ci.arch, sizeof ci.arch, "%s", archs[ai]);
        ci.seed = x->c->seed + (uint64_t)x->k;
        mkdirs(x->o->outdir);
        model *m = model_create(&ci, d->F);
        fit_result fr;
        fit(m, &ci, &fd, &fr, x->o->quiet, NULL);
        model_set_prior_correction(m, fd.cw);
        predict_rows(m, xs, d->F, x->pr, x->np, p + (size_t)ai * x->np * 3);
        cJSON *f = cJSON_CreateObject();
        cJSON_AddNumberToObject(f, "fold", x->k);
        cJSON_AddStringToObject(f, "arch", archs[ai]);
        add_range(f, x);
        cJSON_AddNumberToObject(f, "epochs", fr.epochs_run);
        cJSON_AddNumberToObject(f, "best_epoch", fr.best_epoch);
        json_add_num(f, "best_val_loss", fr.best_val);
        cJSON_AddStringToObject(f, "source", x->o->source);
        log_event("ml_training", LOG_INFO, "walk-forward fold", f);
        fit_result_free(&fr);
        m->destroy(m);
    }
    scaler_free(&sc);
}

static void write_rows(csv_writer *w, const wf_iter *x, const char *const *archs, int narch, const double *p) {
    for (long i = 0; i < x->np; i++)
        for (int ai = 0; ai < narch; ai++) {
            const double *q = p + ((size_t)ai * x->np + i) * 3;
            csvw_int(w, x->d->time[x->pr[i]]);
            csvw_str(w, archs[ai]);
            for (int j = 0; j < 3; j++) csvw_double(w, q[j]);
            csvw_end(w);
        }
}

static void piece_path(char *buf, size_t cap, const char *dir, const char *arch, int k) {
    snprintf(buf, cap, "%s/wf_%s_fold%d.json", dir, arch, k);
}

/* A fold's piece read back into p (np, 3); dies 65 when its rows are not the fold's. */
static void piece_rows(const wf_iter *x, const char *path, const cJSON *j, double *p) {
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
    if (!cJSON_IsArray(rows) || cJSON_GetArraySize(rows) != x->np)
        die(EX_DATAERR, "%s: 'rows': expected the %ld bars of fold %d", path, x->np, x->k);
    long i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rows) {
        const cJSON *t = cJSON_GetArrayItem(r, 0);
        if (cJSON_GetArraySize(r) != 4 || !cJSON_IsNumber(t) || (int64_t)t->valuedouble != x->d->time[x->pr[i]])
            die(EX_DATAERR, "%s: 'rows'[%ld]: expected [time, p_down, p_flat, p_up] of bar %lld", path, i,
                (long long)x->d->time[x->pr[i]]);
        for (int c = 0; c < 3; c++) {
            const cJSON *v = cJSON_GetArrayItem(r, c + 1);
            p[i * 3 + c] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        }
        i++;
    }
}

static void no_fold_die(const train_opts *o) {
    die(EX_DATAERR, "%s: the data spans less than --train-days %g: nothing to predict", display_name(o->input),
        o->train_days);
}

void walk_forward(const train_cfg *c, const char *const *archs, int narch, const train_opts *o,
                  const kml_dataset *d) {
    char key[65], dirbuf[4096], path[4096 + 64];
    plan_key(c, o, "walk-forward", key);
    const char *dir = pieces_dir(o, dirbuf, sizeof dirbuf);
    wf_iter x;
    wf_init(&x, c, o, d);
    int folds = 0;

    if (o->list) {
        while (wf_next(&x)) {
            cJSON *f = cJSON_CreateObject();
            cJSON_AddNumberToObject(f, "fold", x.k);
            add_range(f, &x);
            cJSON_AddNumberToObject(f, "rows", (double)x.np);
            cJSON *miss = cJSON_AddArrayToObject(f, "missing");
            for (int ai = 0; ai < narch; ai++) {
                piece_path(path, sizeof path, dir, archs[ai], x.k);
                if (!piece_done(path, key)) cJSON_AddItemToArray(miss, cJSON_CreateString(archs[ai]));
            }
            jsonl_write(stdout, f);
            cJSON_Delete(f);
            folds++;
        }
        wf_free(&x);
        if (folds == 0) no_fold_die(o);
        return;
    }

    float *xs = xmalloc((size_t)d->n * d->F * sizeof *xs);
    if (o->unit >= 0) {
        int found = 0;
        while (!found && wf_next(&x)) found = x.k == o->unit, folds++;
        if (!found) {
            if (folds == 0) no_fold_die(o);
            cli_usage_error("--fold %d: no such fold of this data (kml-train --list-folds lists them)", o->unit);
        }
        int *retrain = xcalloc((size_t)narch, sizeof *retrain), any = 0;
        for (int ai = 0; ai < narch; ai++) {
            piece_path(path, sizeof path, dir, archs[ai], x.k);
            retrain[ai] = o->force || !piece_done(path, key);
            any |= retrain[ai];
        }
        double *p = xmalloc((size_t)narch * x.np * 3 * sizeof *p);
        if (any) wf_train(&x, archs, narch, retrain, xs, p);
        mkdirs(dir);
        for (int ai = 0; ai < narch; ai++) {
            piece_path(path, sizeof path, dir, archs[ai], x.k);
            if (retrain[ai]) {
                cJSON *j = cJSON_CreateObject();
                cJSON_AddStringToObject(j, "kind", "walk-forward fold");
                cJSON_AddStringToObject(j, "arch", archs[ai]);
                cJSON_AddNumberToObject(j, "fold", x.k);
                cJSON *rows = cJSON_AddArrayToObject(j, "rows");
                for (long i = 0; i < x.np; i++) {
                    cJSON *r = cJSON_CreateArray();
                    cJSON_AddItemToArray(r, cJSON_CreateNumber((double)d->time[x.pr[i]]));
                    for (int q = 0; q < 3; q++) {
                        double v = p[((size_t)ai * x.np + i) * 3 + q];
                        cJSON_AddItemToArray(r, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
                    }
                    cJSON_AddItemToArray(rows, r);
                }
                piece_write(path, j, key);
                cJSON_Delete(j);
            }
            cJSON *s = cJSON_CreateObject();
            cJSON_AddNumberToObject(s, "fold", x.k);
            cJSON_AddStringToObject(s, "arch", archs[ai]);
            cJSON_AddStringToObject(s, "piece", path);
            cJSON_AddNumberToObject(s, "rows", (double)x.np);
            cJSON_AddBoolToObject(s, "kept", !retrain[ai]);
            jsonl_write(stdout, s);
            cJSON_Delete(s);
        }
        free(p);
        free(retrain);
        free(xs);
        wf_free(&x);
        return;
    }

    /* --merge: every piece checked before a line is written. */
    if (o->merge) {
        char **missing = NULL;
        int nmiss = 0;
        while (wf_next(&x))
            for (int ai = 0; ai < narch; ai++) {
                piece_path(path, sizeof path, dir, archs[ai], x.k);
                if (piece_done(path, key)) continue;
                missing = xrealloc(missing, (size_t)(nmiss + 1) * sizeof *missing);
                missing[nmiss++] = xstrdup(path);
            }
        if (nmiss) pieces_missing_die("--walk-forward --merge", missing, nmiss);
        wf_free(&x);
        wf_init(&x, c, o, d);
    }

    /* A fold of an arch whose piece is there (a scheduler's task ran it) is
     * taken from it; the others are trained here. */
    csv_writer w;
    csvw_init(&w, stdout);
    const char *hdr[] = {"time", "arch", "p_down", "p_flat", "p_up"};
    for (int i = 0; i < 5; i++) csvw_str(&w, hdr[i]);
    csvw_end(&w);
    int *retrain = xmalloc((size_t)narch * sizeof *retrain);
    while (wf_next(&x)) {
        double *p = xmalloc((size_t)narch * x.np * 3 * sizeof *p);
        int any = 0;
        for (int ai = 0; ai < narch; ai++) {
            piece_path(path, sizeof path, dir, archs[ai], x.k);
            cJSON *j = o->force && !o->merge ? NULL : piece_load(path, key);
            if (j) piece_rows(&x, path, j, p + (size_t)ai * x.np * 3);
            retrain[ai] = j == NULL;
            any |= retrain[ai];
            cJSON_Delete(j);
        }
        if (any) wf_train(&x, archs, narch, retrain, xs, p);
        write_rows(&w, &x, archs, narch, p);
        free(p);
        folds++;
    }
    free(retrain);
    free(xs);
    wf_free(&x);
    if (folds == 0) no_fold_die(o);
}
