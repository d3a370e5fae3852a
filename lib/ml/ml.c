/* ml.c: model files (see ml.h). */
#include "ml/ml.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "jsonl.h"
#include "ml/safetensors.h"
#include "util.h"

/* ---- writing ---- */

static void put_json(cJSON *meta, const char *key, cJSON *val)
{
    char *t = json_print(val, 0);
    cJSON_AddStringToObject(meta, key, t);
    free(t);
    cJSON_Delete(val);
}

/* The metadata object (strings) of info, with config first. */
static cJSON *meta_of(const ml_info *in, cJSON *config)
{
    cJSON *meta = cJSON_CreateObject();
    put_json(meta, "config", config);
    cJSON *f = cJSON_CreateArray();
    for (int j = 0; j < in->F; j++) cJSON_AddItemToArray(f, cJSON_CreateString(in->features[j]));
    put_json(meta, "features", f);
    cJSON *sc = cJSON_CreateObject(), *mu = cJSON_AddArrayToObject(sc, "mean"), *sd = cJSON_AddArrayToObject(sc, "std");
    for (int j = 0; j < in->F; j++) {
        cJSON_AddItemToArray(mu, cJSON_CreateNumber(in->mean[j]));
        cJSON_AddItemToArray(sd, cJSON_CreateNumber(in->std[j]));
    }
    put_json(meta, "scaler", sc);
    const struct { const char *key; const cJSON *v; } parts[] = {
        {"labels", in->labels}, {"train_window", in->train_window}, {"metrics", in->metrics},
        {"training", in->training}, {"data", in->data}, {"run", in->run}};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        if (parts[i].v) put_json(meta, parts[i].key, cJSON_Duplicate(parts[i].v, 1));
    cJSON *cal = cJSON_CreateObject(), *off = cJSON_AddArrayToObject(cal, "logit_offset");
    for (int k = 0; k < 3; k++) cJSON_AddItemToArray(off, cJSON_CreateNumber(in->offset[k]));
    cJSON_AddStringToObject(cal, "use", "add to the network's logits before the softmax: -log(class weight) undoes the "
                                        "class weighting of training");
    put_json(meta, "calibration", cal);
    if (in->data_hash) put_json(meta, "data_hash", cJSON_CreateString(in->data_hash));
    if (in->config_hash) put_json(meta, "config_hash", cJSON_CreateString(in->config_hash));
    return meta;
}

void ml_save_linear(const char *path, const float *W, const float *b, double l2, const ml_info *info)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "arch", "linear");
    cJSON_AddNumberToObject(c, "T", 1);
    cJSON_AddNumberToObject(c, "F", info->F);
    cJSON_AddNumberToObject(c, "H", 0);
    json_add_num(c, "l2", l2);
    cJSON *meta = meta_of(info, c);
    st_tensor t[2] = {{"linear.bias", 1, {3}, b}, {"linear.weight", 2, {3, info->F}, W}};
    st_write(path, t, 2, meta);
    cJSON_Delete(meta);
}

void ml_save_nn(const char *path, const nn_model *net, const ml_info *info)
{
    ASSERT(nn_get_config(net)->F == info->F);
    cJSON *meta = meta_of(info, nn_config_json(nn_get_config(net)));
    if (nn_save(net, path, meta)) die(EX_SOFTWARE, "%s: cannot write the model", path); /* nn_save said why */
    cJSON_Delete(meta);
}

/* ---- reading ---- */

/* The metadata value key of f parsed, or NULL with a message in err. */
static cJSON *meta_json(const st_file *f, const char *key, int type, char *err, size_t errn)
{
    const cJSON *s = f->meta ? cJSON_GetObjectItemCaseSensitive(f->meta, key) : NULL;
    if (!s) {
        snprintf(err, errn, "metadata \"%s\" missing%s", key,
                 strcmp(key, "config") ? " (not a model file written by kml-train)" : "");
        return NULL;
    }
    cJSON *v = cJSON_IsString(s) ? cJSON_Parse(s->valuestring) : NULL;
    if (!v || !(v->type & type)) {
        snprintf(err, errn, "metadata \"%s\" is not a JSON %s", key, type == cJSON_Array ? "array" : "object");
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* n numbers of the array member key of o into x; -1 with a message otherwise. */
static int num_array(const cJSON *o, const char *what, const char *key, int n, double *x, char *err, size_t errn)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) {
        snprintf(err, errn, "metadata \"%s\": \"%s\" is not an array of %d numbers", what, key, n);
        return -1;
    }
    int j = 0;
    for (const cJSON *v = a->child; v; v = v->next, j++) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
            snprintf(err, errn, "metadata \"%s\": \"%s\"[%d] is not a finite number", what, key, j);
            return -1;
        }
        x[j] = v->valuedouble;
    }
    return 0;
}

static int load_linear(const st_file *f, ml_model *m, const cJSON *cfg, char *err, size_t errn)
{
    const cJSON *F = cJSON_GetObjectItemCaseSensitive(cfg, "F");
    if (!cJSON_IsNumber(F) || F->valuedouble < 1 || F->valuedouble > 1e6 || F->valuedouble != (int)F->valuedouble) {
        snprintf(err, errn, "config: \"F\" missing or not a positive integer");
        return -1;
    }
    m->T = 1, m->F = (int)F->valuedouble;
    m->lin = logreg_create(m->F, 0);
    long ws[2] = {3, m->F}, bs[1] = {3};
    if (st_get(f, "linear.weight", 2, ws, m->lin->param, err, errn) < 0 ||
        st_get(f, "linear.bias", 1, bs, m->lin->param + 3 * m->F, err, errn) < 0)
        return -1;
    static const char *const names[] = {"linear.weight", "linear.bias"};
    const char *extra = st_unknown(f, names, 2);
    if (extra) {
        snprintf(err, errn, "unexpected tensor %s for a linear model", extra);
        return -1;
    }
    return 0;
}

/* Everything beyond the tensors; -1 with a message naming the value. */
static int load_meta(const st_file *f, ml_model *m, char *err, size_t errn)
{
    cJSON *feats = meta_json(f, "features", cJSON_Array, err, errn);
    if (!feats) return -1;
    int rc = -1;
    cJSON *sc = NULL, *cal = NULL, *lab = NULL, *tr = NULL;
    if (cJSON_GetArraySize(feats) != m->F) {
        snprintf(err, errn, "metadata \"features\": %d names for a model of F = %d", cJSON_GetArraySize(feats), m->F);
        goto out;
    }
    m->features = xcalloc((size_t)m->F, sizeof *m->features);
    int j = 0;
    for (const cJSON *v = feats->child; v; v = v->next, j++) {
        if (!cJSON_IsString(v) || !v->valuestring[0]) {
            snprintf(err, errn, "metadata \"features\"[%d] is not a column name", j);
            goto out;
        }
        m->features[j] = xstrdup(v->valuestring);
    }
    if (!(sc = meta_json(f, "scaler", cJSON_Object, err, errn))) goto out;
    m->mean = xmalloc(sizeof(double) * (size_t)m->F);
    m->std = xmalloc(sizeof(double) * (size_t)m->F);
    if (num_array(sc, "scaler", "mean", m->F, m->mean, err, errn) ||
        num_array(sc, "scaler", "std", m->F, m->std, err, errn))
        goto out;
    for (j = 0; j < m->F; j++)
        if (!(m->std[j] > 0)) {
            snprintf(err, errn, "metadata \"scaler\": \"std\"[%d] is not positive", j);
            goto out;
        }
    if (!(cal = meta_json(f, "calibration", cJSON_Object, err, errn))) goto out;
    double off[3];
    if (num_array(cal, "calibration", "logit_offset", 3, off, err, errn)) goto out;
    for (int k = 0; k < 3; k++) m->offset[k] = (float)off[k];
    if (!(lab = meta_json(f, "labels", cJSON_Object, err, errn))) goto out;
    const cJSON *col = cJSON_GetObjectItemCaseSensitive(lab, "column"), *h = cJSON_GetObjectItemCaseSensitive(lab, "horizon");
    m->label = xstrdup(cJSON_IsString(col) ? col->valuestring : "");
    m->horizon = cJSON_IsNumber(h) && h->valuedouble >= 1 && h->valuedouble < 1e6 ? (int)h->valuedouble : 0;
    m->max_gap = 3; /* kml-train's default, for a file that does not say */
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(f->meta, "training");
    tr = cJSON_IsString(ts) ? cJSON_Parse(ts->valuestring) : NULL;
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(tr, "max_gap");
    if (cJSON_IsNumber(g) && g->valuedouble >= 0 && g->valuedouble <= 1e9) m->max_gap = (int)g->valuedouble;
    rc = 0;
out:
    cJSON_Delete(feats), cJSON_Delete(sc), cJSON_Delete(cal), cJSON_Delete(lab), cJSON_Delete(tr);
    return rc;
}

int ml_load(const char *path, ml_model **out, char *err, size_t errn)
{
    *out = NULL;
    st_file f;
    int rc = st_read(path, &f, err, errn);
    if (rc) return rc;
    ml_model *m = xcalloc(1, sizeof *m);
    cJSON *cfg = meta_json(&f, "config", cJSON_Object, err, errn);
    rc = EX_DATAERR;
    if (!cfg) goto out;
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(cfg, "arch");
    if (!cJSON_IsString(arch)) {
        snprintf(err, errn, "config: \"arch\" missing");
        goto out;
    }
    snprintf(m->arch, sizeof m->arch, "%s", arch->valuestring);
    if (!strcmp(m->arch, "linear")) {
        if (load_linear(&f, m, cfg, err, errn)) goto out;
    } else {
        nn_config probe;
        if (nn_config_default(&probe, m->arch) < 0) {
            snprintf(err, errn, "config: unknown arch \"%s\"", arch->valuestring);
            goto out;
        }
        if (!(m->net = nn_load_st(&f, err, errn))) goto out;
        nn_set_threads(m->net, 1); /* one window a call: the caller's thread */
        m->T = nn_get_config(m->net)->T, m->F = nn_get_config(m->net)->F;
    }
    if (load_meta(&f, m, err, errn)) goto out;
    m->meta = cJSON_Duplicate(f.meta, 1);
    m->xs = xmalloc(sizeof(float) * (size_t)m->T * m->F);
    rc = 0;
out:
    cJSON_Delete(cfg);
    st_free(&f);
    if (rc) ml_free(m);
    else *out = m;
    return rc;
}

void ml_free(ml_model *m)
{
    if (!m) return;
    for (int j = 0; m->features && j < m->F; j++) free(m->features[j]);
    free(m->features), free(m->mean), free(m->std), free(m->label), free(m->xs);
    cJSON_Delete(m->meta);
    nn_free(m->net);
    logreg_free(m->lin);
    free(m);
}

void ml_scale(const ml_model *m, const double *x, long n, float *xs)
{
    for (long i = 0; i < n; i++)
        for (int j = 0; j < m->F; j++) xs[i * m->F + j] = (float)((x[i * m->F + j] - m->mean[j]) / m->std[j]);
}

void ml_calibrated(const float *logits, int B, const float offset[3], double *p)
{
    for (int k = 0; k < B; k++) {
        float z[3];
        for (int c = 0; c < 3; c++) z[c] = logits[3 * k + c] + offset[c];
        kml_softmax3(z, p + 3 * (size_t)k);
    }
}

void ml_predict(ml_model *m, const float *xs, int B, double *p)
{
    float z[3 * 64];
    for (int i = 0; i < B; i += 64) {
        int b = B - i < 64 ? B - i : 64;
        const float *x = xs + (size_t)i * m->T * m->F;
        if (m->lin) logreg_forward(m->lin, x, b, m->T, z);
        else nn_predict(m->net, x, b, z);
        ml_calibrated(z, b, m->offset, p + 3 * (size_t)i);
    }
}

void ml_predict_raw(ml_model *m, const double *x, double p[3])
{
    ml_scale(m, x, m->T, m->xs);
    ml_predict(m, m->xs, 1, p);
}

cJSON *ml_read_meta(const char *path)
{
    st_file f;
    char err[256];
    if (st_read(path, &f, err, sizeof err)) return NULL;
    cJSON *o = cJSON_CreateObject();
    for (const cJSON *it = f.meta ? f.meta->child : NULL; it; it = it->next) {
        cJSON *v = cJSON_IsString(it) ? cJSON_Parse(it->valuestring) : NULL;
        if (v) cJSON_AddItemToObject(o, it->string, v);
    }
    st_free(&f);
    return o;
}
