/* walkforward.c: rolling retraining and out-of-sample predictions.
 *
 * Fold k predicts the bars with time in [P_k, P_k + step), P_k = t_0 +
 * train_days + k step, with models trained on the bars in [P_k - train_days,
 * P_k) whose labels end before P_k: a training row i is used only when
 * i + horizon < the first predicted row, so no label a model learnt overlaps
 * a bar it predicts. The scaler is fitted on the fold's training rows.
 * A bar whose window of T rows crosses a break in the data (see
 * dataset_windows, --max-gap) is neither trained on nor predicted: the
 * output has no row for it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "jsonl.h"
#include "log.h"
#include "train.h"
#include "util.h"

static long first_at_or_after(const kml_dataset *d, long from, int64_t t) {
    while (from < d->n && d->time[from] < t) from++;
    return from;
}

void walk_forward(const train_cfg *c, const char *const *archs, int narch, const train_opts *o,
                  const kml_dataset *d) {
    int64_t win = (int64_t)llround(o->train_days * 86400), step = (int64_t)llround(o->step_days * 86400);
    csv_writer w;
    csvw_init(&w, stdout);
    const char *hdr[] = {"time", "arch", "p_down", "p_flat", "p_up"};
    for (int i = 0; i < 5; i++) csvw_str(&w, hdr[i]);
    csvw_end(&w);
    float *xs = xmalloc((size_t)d->n * d->F * sizeof *xs);
    unsigned char *ok = xmalloc((size_t)d->n);
    dataset_windows(d, c->T, c->max_gap, ok);
    long *tr = xmalloc((size_t)d->n * sizeof *tr), *va = xmalloc((size_t)d->n * sizeof *va);
    long *pr = xmalloc((size_t)d->n * sizeof *pr);
    long a = 0, p0 = 0;
    int folds = 0;
    for (int k = 0;; k++) {
        int64_t P = d->time[0] + win + (int64_t)k * step;
        a = first_at_or_after(d, a, P - win);
        p0 = first_at_or_after(d, p0, P);
        if (p0 >= d->n) break;
        long p1 = first_at_or_after(d, p0, P + step);
        if (p1 == p0) continue; /* a gap in the data: no bar to predict in this step */
        long s0 = a + c->T - 1, end = p0 - d->horizon; /* training samples [s0, end) */
        long N = end - s0;
        long tr1 = s0 + (long)floor(0.85 * N), va0 = tr1 + c->purge;
        long ntr = N > 0 && tr1 > s0 ? rows_where(ok, s0, tr1, tr) : 0;
        long nva = end > va0 ? rows_where(ok, va0, end, va) : 0;
        if (ntr == 0 || nva == 0)
            die(EX_DATAERR, "%s: walk-forward fold %d has too few rows (%ld) for windows of %d bars; raise --train-days",
                display_name(o->input), k, N > 0 ? N : 0, c->T);
        kml_scaler sc;
        scaler_fit(&sc, d->x, d->F, a, tr1);
        scaler_apply(&sc, d->x, 0, d->n, xs);
        double prior[3];
        long cnt[3];
        class_prior_rows(d->y, tr, ntr, prior, cnt);
        fit_data fd = {.xs = xs, .y = d->y, .F = d->F, .tr = tr, .ntr = ntr, .va = va, .nva = nva};
        class_weights(cnt, fd.cw);
        /* The bars of this step that have a whole window (none crossing a break). */
        long np = rows_where(ok, p0, p1, pr);
        if (np == 0) {
            scaler_free(&sc);
            continue;
        }
        double *p = xmalloc((size_t)narch * np * 3 * sizeof *p);
        for (int ai = 0; ai < narch; ai++) {
            train_cfg ci = *c;
            snprintf(ci.arch, sizeof ci.arch, "%s", archs[ai]);
            ci.seed = c->seed + (uint64_t)k;
            mkdirs(o->outdir);
            model *m = model_create(&ci, d->F);
            fit_result fr;
            fit(m, &ci, &fd, &fr, o->quiet, NULL);
            model_set_prior_correction(m, fd.cw);
            predict_rows(m, xs, d->F, pr, np, p + (size_t)ai * np * 3);
            cJSON *f = cJSON_CreateObject();
            cJSON_AddNumberToObject(f, "fold", k);
            cJSON_AddStringToObject(f, "arch", archs[ai]);
            cJSON_AddNumberToObject(f, "train_first", (double)d->time[a]);
            cJSON_AddNumberToObject(f, "train_last", (double)d->time[end - 1]);
            /* The last bar the model saw: the label of its last training row ends there. */
            cJSON_AddNumberToObject(f, "seen_last", (double)d->time[end - 1 + d->horizon]);
            cJSON_AddNumberToObject(f, "predict_first", (double)d->time[pr[0]]);
            cJSON_AddNumberToObject(f, "predict_last", (double)d->time[pr[np - 1]]);
            cJSON_AddNumberToObject(f, "epochs", fr.epochs_run);
            cJSON_AddNumberToObject(f, "best_epoch", fr.best_epoch);
            json_add_num(f, "best_val_loss", fr.best_val);
            cJSON_AddStringToObject(f, "source", o->source);
            log_event("ml_training", LOG_INFO, "walk-forward fold", f);
            fit_result_free(&fr);
            m->destroy(m);
        }
        for (long i = 0; i < np; i++)
            for (int ai = 0; ai < narch; ai++) {
                const double *q = p + ((size_t)ai * np + i) * 3;
                csvw_int(&w, d->time[pr[i]]);
                csvw_str(&w, archs[ai]);
                for (int j = 0; j < 3; j++) csvw_double(&w, q[j]);
                csvw_end(&w);
            }
        free(p);
        scaler_free(&sc);
        folds++;
    }
    free(xs);
    free(ok);
    free(tr);
    free(va);
    free(pr);
    if (folds == 0)
        die(EX_DATAERR, "%s: the data spans less than --train-days %g: nothing to predict", display_name(o->input),
            o->train_days);
}
