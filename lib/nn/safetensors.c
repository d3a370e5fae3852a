/* safetensors.c: a network's model file. The tensors are the model's tensor
 * table (the reference's state_dict names and shapes); "__metadata__" holds
 * "config" (the nn_config as JSON text) and whatever the caller adds
 * (features, scaler, labels, ...). The file format itself is lib/ml's
 * safetensors module, the only one. */
#include "nn/nn_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "ml/safetensors.h"
#include "util.h"

int nn_save(const nn_model *m, const char *path, const cJSON *meta)
{
    cJSON *md = cJSON_CreateObject();
    cJSON *cj = nn_config_json(&m->cfg);
    char *ctext = json_print(cj, 0);
    cJSON_AddStringToObject(md, "config", ctext);
    free(ctext), cJSON_Delete(cj);
    for (const cJSON *it = meta ? meta->child : NULL; it; it = it->next) {
        if (!strcmp(it->string, "config")) continue;
        if (!cJSON_IsString(it)) {
            warn("%s: metadata \"%s\" is not a string", path, it->string);
            cJSON_Delete(md);
            return -1;
        }
        cJSON_AddStringToObject(md, it->string, it->valuestring);
    }
    st_tensor *t = xmalloc(sizeof *t * (size_t)m->ntens);
    for (int i = 0; i < m->ntens; i++) {
        const nn_tensor *s = &m->tens[i];
        t[i] = (st_tensor){.name = s->name, .ndim = s->ndim, .data = m->params + s->off};
        for (int d = 0; d < s->ndim; d++) t[i].shape[d] = s->shape[d];
    }
    st_write(path, t, m->ntens, md); /* dies with a message on a write error */
    free(t);
    cJSON_Delete(md);
    return 0;
}

nn_model *nn_load_st(const st_file *f, char *err, size_t errn)
{
    const cJSON *cs = f->meta ? cJSON_GetObjectItemCaseSensitive(f->meta, "config") : NULL;
    if (!cJSON_IsString(cs)) {
        snprintf(err, errn, "__metadata__ has no \"config\"");
        return NULL;
    }
    cJSON *cj = cJSON_Parse(cs->valuestring);
    nn_config cfg;
    int bad = !cJSON_IsObject(cj) ? (snprintf(err, errn, "config is not a JSON object"), 1)
                                  : nn_config_from_json(&cfg, cj, err, errn) < 0;
    cJSON_Delete(cj);
    if (bad) return NULL;
    nn_model *m = nn_create(&cfg, 0);
    if (!m) {
        snprintf(err, errn, "invalid config");
        return NULL;
    }
    const char *names[NN_MAX_TENSORS];
    for (int i = 0; i < m->ntens; i++) {
        const nn_tensor *t = &m->tens[i];
        long shape[3] = {t->shape[0], t->ndim > 1 ? t->shape[1] : 0, t->ndim > 2 ? t->shape[2] : 0};
        if (st_get(f, t->name, t->ndim, shape, m->params + t->off, err, errn) < 0) {
            nn_free(m);
            return NULL;
        }
        names[i] = t->name;
    }
    const char *extra = st_unknown(f, names, m->ntens);
    if (extra) {
        snprintf(err, errn, "unexpected tensor %s for a %s model", extra, m->cfg.arch);
        nn_free(m);
        return NULL;
    }
    return m;
}

nn_model *nn_load(const char *path, cJSON **meta)
{
    st_file f;
    char err[300];
    int rc = st_read(path, &f, err, sizeof err);
    if (rc) {
        int e = errno;
        warn("%s: %s", path, err);
        errno = rc == EX_NOINPUT ? e : EINVAL;
        return NULL;
    }
    nn_model *m = nn_load_st(&f, err, sizeof err);
    if (!m) {
        warn("%s: %s", path, err);
        errno = EINVAL;
    } else if (meta) {
        *meta = f.meta ? cJSON_Duplicate(f.meta, 1) : cJSON_CreateObject();
    }
    st_free(&f);
    return m;
}
