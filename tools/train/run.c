/* run.c: one architecture from data to model file: split, scale, fit,
 * evaluate every split, save with metadata; or keep an unchanged model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonl.h"
#include "log.h"
#include "train.h"
#include "ml/ml.h"
#include "train/sha256.h"
#include "util.h"

model *model_create(const train_cfg *c, int F) {
    if (!strcmp(c->arch, "linear")) return linear_model_create(c, F);
    return deep_model_create(c, F);
}

void dataset_hash(const kml_dataset *d, char hex[65]) {
    /* Hash a canonical byte image of exactly what training reads, so a change
     * of --days, --features or --label changes the hash as a data change would. */
    size_t cap = 64 + (size_t)d->n * (8 + 8 * d->F + 4 + 8);
    for (int j = 0; j < d->F; j++) cap += strlen(d->feat[j]) + 1;
    cap += strlen(d->label) + 1 + (d->ret_col ? strlen(d->ret_col) : 0) + 1;
    unsigned char *buf = xmalloc(cap), *p = buf;
#define PUT(src, len) (memcpy(p, (src), (len)), p += (len))
    PUT(&d->n, sizeof d->n);
    PUT(&d->F, sizeof d->F);
    PUT(&d->horizon, sizeof d->horizon);
    for (int j = 0; j < d->F; j++) PUT(d->feat[j], strlen(d->feat[j]) + 1);
    PUT(d->label, strlen(d->label) + 1);
    if (d->ret_col) PUT(d->ret_col, strlen(d->ret_col));
    *p++ = 0;
    for (long i = 0; i < d->n; i++) {
        PUT(&d->time[i], 8);
        PUT(&d->x[i * d->F], 8 * (size_t)d->F);
        PUT(&d->y[i], 4);
        PUT(&d->ret[i], 8);
    }
#undef PUT
    ASSERT((size_t)(p - buf) <= cap);
    kml_sha256_hex(buf, (size_t)(p - buf), hex);
    free(buf);
}

/* The run's configuration as JSON: everything that changes the model. */
static cJSON *cfg_json(const train_cfg *c, const train_opts *o, const kml_dataset *d) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "arch", c->arch);
    cJSON_AddNumberToObject(j, "T", c->T);
    cJSON_AddNumberToObject(j, "H", c->H);
    cJSON_AddNumberToObject(j, "layers", c->layers);
    json_add_num(j, "dropout", c->dropout);
    json_add_num(j, "lr", c->lr);
    json_add_num(j, "weight_decay", c->weight_decay);
    json_add_num(j, "clip", c->clip);
    cJSON_AddNumberToObject(j, "batch", c->batch);
    cJSON_AddNumberToObject(j, "epochs", c->epochs);
    cJSON_AddNumberToObject(j, "patience", c->patience);
    cJSON_AddNumberToObject(j, "seed", (double)c->seed);
    json_add_num(j, "f_train", c->f_train);
    json_add_num(j, "f_val", c->f_val);
    cJSON_AddNumberToObject(j, "purge", c->purge);
    cJSON_AddNumberToObject(j, "max_gap", c->max_gap);
    cJSON_AddStringToObject(j, "schedule", "warmup 5% + cosine");
    cJSON_AddStringToObject(j, "optimizer", strcmp(c->arch, "linear") ? "adamw" : "adam (l2 on the weights)");
    cJSON_AddStringToObject(j, "source", o->source);
    json_add_num(j, "fee", o->fee);
    cJSON_AddStringToObject(j, "label", d->label);
    return j;
}

/* The samples of a part: how many, and the times of the first and last. */
static cJSON *range_json(const kml_dataset *d, const long *idx, long n) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "rows", (double)n);
    cJSON_AddNumberToObject(r, "first", n > 0 ? (double)d->time[idx[0]] : 0);
    cJSON_AddNumberToObject(r, "last", n > 0 ? (double)d->time[idx[n - 1]] : 0);
    return r;
}

static cJSON *labels_json(const train_opts *o, const kml_dataset *d) {
    cJSON *l = o->labels_note ? cJSON_Parse(o->labels_note) : NULL;
    if (!l) l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "column", d->label);
    cJSON_AddNumberToObject(l, "horizon", d->horizon);
    if (d->ret_col) cJSON_AddStringToObject(l, "return_column", d->ret_col);
    cJSON *cls = cJSON_AddArrayToObject(l, "classes");
    cJSON_AddItemToArray(cls, cJSON_CreateString("down"));
    cJSON_AddItemToArray(cls, cJSON_CreateString("flat"));
    cJSON_AddItemToArray(cls, cJSON_CreateString("up"));
    return l;
}

cJSON *train_arch(const train_cfg *c, const train_opts *o, const kml_dataset *d, const char *data_hash) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.safetensors", o->outdir, c->arch);
    cJSON *cj = cfg_json(c, o, d);
    cJSON *lab = labels_json(o, d);
    cJSON *hashed = cJSON_CreateObject();
    cJSON_AddItemToObject(hashed, "training", cJSON_Duplicate(cj, 1));
    cJSON_AddItemToObject(hashed, "labels", cJSON_Duplicate(lab, 1));
    cJSON_AddBoolToObject(hashed, "visualize", o->visualize);
    char *ct = json_print(hashed, 0);
    cJSON_Delete(hashed);
    char cfg_hash[65];
    kml_sha256_hex(ct, strlen(ct), cfg_hash);
    free(ct);

    /* Keep a model whose data and configuration are unchanged. */
    cJSON *meta = o->force ? NULL : ml_read_meta(path);
    if (meta) {
        const cJSON *dh = cJSON_GetObjectItemCaseSensitive(meta, "data_hash");
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(meta, "config_hash");
        int same = cJSON_IsString(dh) && cJSON_IsString(ch) && !strcmp(dh->valuestring, data_hash) &&
                   !strcmp(ch->valuestring, cfg_hash);
        if (same) {
            cJSON *res = cJSON_CreateObject();
            cJSON_AddStringToObject(res, "arch", c->arch);
            cJSON_AddStringToObject(res, "model", path);
            cJSON_AddBoolToObject(res, "skipped", 1);
            cJSON *mt = cJSON_DetachItemFromObjectCaseSensitive(meta, "metrics");
            cJSON_AddItemToObject(res, "metrics", mt ? mt : cJSON_CreateObject());
            cJSON *run = cJSON_DetachItemFromObjectCaseSensitive(meta, "run");
            if (run) cJSON_AddItemToObject(res, "run", run);
            warn("%s: data and configuration unchanged: model kept (--force-retrain to train again)", path);
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "arch", c->arch);
            cJSON_AddStringToObject(f, "model", path);
            log_event("ml_training", LOG_INFO, "model unchanged, kept", f);
            cJSON_Delete(meta);
            cJSON_Delete(cj);
            cJSON_Delete(lab);
            return res;
        }
        cJSON_Delete(meta);
    }

    kml_split s;
    if (split_make(&s, d->n, c->T, c->f_train, c->f_val, c->purge))
        die(EX_DATAERR, "%s: %ld rows are too few for windows of %d bars, a %.0f/%.0f/%.0f split and a purge gap of %d",
            display_name(o->input), d->n, c->T, 100 * c->f_train, 100 * c->f_val, 100 * (1 - c->f_train - c->f_val),
            c->purge);
    /* Samples: the rows of each part whose window crosses no break in the data. */
    unsigned char *ok = xmalloc((size_t)d->n);
    dataset_windows(d, c->T, c->max_gap, ok);
    long *idx[3], cntk[3];
    long ra[3] = {s.tr0, s.va0, s.te0}, rb[3] = {s.tr1, s.va1, s.te1};
    for (int k = 0; k < 3; k++) {
        idx[k] = xmalloc((size_t)(rb[k] - ra[k]) * sizeof *idx[k]);
        cntk[k] = rows_where(ok, ra[k], rb[k], idx[k]);
    }
    free(ok);
    if (cntk[0] == 0 || cntk[1] == 0 || cntk[2] == 0)
        die(EX_DATAERR, "%s: a split has no window of %d bars that crosses no gap of more than %d missing bars "
            "(--max-gap)", display_name(o->input), c->T, c->max_gap);
    kml_scaler sc;
    scaler_fit(&sc, d->x, d->F, 0, s.tr1); /* the rows the training windows read, and no other */
    float *xs = xmalloc((size_t)d->n * d->F * sizeof *xs);
    scaler_apply(&sc, d->x, 0, d->n, xs);
    double prior[3];
    long cnt[3];
    class_prior_rows(d->y, idx[0], cntk[0], prior, cnt);
    fit_data fd = {.xs = xs, .y = d->y, .F = d->F, .tr = idx[0], .ntr = cntk[0], .va = idx[1], .nva = cntk[1]};
    class_weights(cnt, fd.cw);

    mkdirs(o->outdir);
    model *m = model_create(c, d->F);
    {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "arch", c->arch);
        cJSON_AddNumberToObject(f, "params", (double)m->nparams);
        cJSON_AddNumberToObject(f, "train_samples", (double)cntk[0]);
        cJSON_AddNumberToObject(f, "val_samples", (double)cntk[1]);
        cJSON_AddNumberToObject(f, "test_samples", (double)cntk[2]);
        cJSON_AddStringToObject(f, "source", o->source);
        log_event("ml_training", LOG_INFO, "training start", f);
    }
    fit_result fr;
    fit(m, c, &fd, &fr, o->quiet, "train");
    model_set_prior_correction(m, fd.cw);

    /* Evaluation of every split with the best epoch's parameters. */
    cJSON *metrics = cJSON_CreateObject();
    const char *names[3] = {"train", "val", "test"};
    double *ptest = NULL, *rtest = NULL;
    int *ytest = NULL;
    for (int k = 0; k < 3; k++) {
        long n = cntk[k];
        double *p = xmalloc((size_t)n * 3 * sizeof *p), *r = xmalloc((size_t)n * sizeof *r);
        int *yk = xmalloc((size_t)n * sizeof *yk);
        for (long i = 0; i < n; i++) yk[i] = d->y[idx[k][i]], r[i] = d->ret[idx[k][i]];
        predict_rows(m, xs, d->F, idx[k], n, p);
        kml_metrics mt;
        metrics_compute(&mt, p, yk, d->ret_col ? r : NULL, n, prior, o->fee);
        cJSON_AddItemToObject(metrics, names[k], metrics_to_json(&mt));
        if (k == 2) {
            ptest = p, ytest = yk, rtest = r;
        } else {
            free(p), free(yk), free(r);
        }
    }

    cJSON *tw = cJSON_CreateObject();
    for (int k = 0; k < 3; k++) cJSON_AddItemToObject(tw, names[k], range_json(d, idx[k], cntk[k]));
    cJSON_AddNumberToObject(tw, "purge", s.purge);
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "source", o->source);
    cJSON_AddStringToObject(data, "input", display_name(o->input));
    if (o->pair) cJSON_AddStringToObject(data, "pair", o->pair);
    cJSON_AddNumberToObject(data, "rows", (double)d->n);
    cJSON_AddNumberToObject(data, "first", (double)d->time[0]);
    cJSON_AddNumberToObject(data, "last", (double)d->time[d->n - 1]);
    cJSON *run = cJSON_CreateObject();
    cJSON_AddNumberToObject(run, "epochs", fr.epochs_run);
    cJSON_AddNumberToObject(run, "best_epoch", fr.best_epoch);
    json_add_num(run, "best_val_loss", fr.best_val);
    cJSON *cw = cJSON_AddArrayToObject(run, "class_weights");
    for (int k = 0; k < 3; k++) cJSON_AddItemToArray(cw, cJSON_CreateNumber(fd.cw[k]));
    cJSON *pr = cJSON_AddArrayToObject(run, "class_prior");
    for (int k = 0; k < 3; k++) cJSON_AddItemToArray(pr, cJSON_CreateNumber(prior[k]));
    cJSON_AddNumberToObject(run, "params", (double)m->nparams);

    /* The model file holds only what is the same run to run (no timings), so
     * --seed gives a byte-identical file. */
    ml_info info = {.F = d->F, .features = (const char *const *)d->feat, .mean = sc.mean, .std = sc.std,
                    .labels = lab, .train_window = tw, .metrics = metrics, .training = cj, .data = data, .run = run,
                    .data_hash = data_hash, .config_hash = cfg_hash};
    memcpy(info.offset, m->offset, sizeof info.offset);
    m->save(m, path, &info);

    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "arch", c->arch);
    cJSON_AddStringToObject(res, "model", path);
    cJSON_AddBoolToObject(res, "skipped", 0);
    cJSON_AddItemToObject(res, "metrics", metrics);
    cJSON_AddNumberToObject(res, "epochs", fr.epochs_run);
    cJSON_AddNumberToObject(res, "best_epoch", fr.best_epoch);
    json_add_num(res, "samples_per_s", fr.samples_per_s);
    json_add_num(res, "train_seconds", fr.seconds);
    cJSON_AddStringToObject(res, "source", o->source);
    cJSON *tr = cJSON_AddObjectToObject(res, "time_range");
    cJSON_AddNumberToObject(tr, "first", (double)d->time[0]);
    cJSON_AddNumberToObject(tr, "last", (double)d->time[d->n - 1]);
    cJSON_AddItemToObject(res, "train_window", tw);
    cJSON_AddItemToObject(res, "labels", lab);
    cJSON_AddItemToObject(res, "run", run);
    cJSON_AddItemToObject(res, "data", data);
    if (o->visualize) {
        cJSON *plots = plot_all(o->outdir, c->arch, &fr, ptest, ytest, d->ret_col ? rtest : NULL, cntk[2]);
        cJSON_AddItemToObject(res, "plots", plots);
    }
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "arch", c->arch);
    cJSON_AddStringToObject(f, "model", path);
    cJSON_AddItemToObject(f, "metrics", cJSON_Duplicate(cJSON_GetObjectItem(res, "metrics"), 1));
    json_add_num(f, "samples_per_s", fr.samples_per_s);
    cJSON_AddNumberToObject(f, "epochs", fr.epochs_run);
    cJSON_AddStringToObject(f, "source", o->source);
    log_event("ml_training", LOG_INFO, "result", f);

    cJSON_Delete(cj);
    free(ptest);
    free(ytest);
    free(rtest);
    for (int k = 0; k < 3; k++) free(idx[k]);
    fit_result_free(&fr);
    m->destroy(m);
    scaler_free(&sc);
    free(xs);
    return res;
}
