/* pieces.c: the units of work a scheduler runs one by one (pipelines/slurm).
 *
 * A walk-forward fold of one architecture and a trial of --optimize at one
 * rung each write a small JSON file, a "piece", into the pieces directory;
 * --merge reads them back and writes what the one-process run writes. A
 * piece carries the key of the plan it belongs to (the data's hash and every
 * option that changes a result), so a piece of another run or of changed
 * data is not taken: it is redone. Pieces are written atomically; one that
 * exists with the right key is the checkpoint a rerun skips. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "jsonl.h"
#include "train.h"
#include "train/sha256.h"
#include "util.h"

void plan_key(const train_cfg *c, const train_opts *o, const char *kind, char hex[65]) {
    char buf[8192];
    int n = snprintf(buf, sizeof buf,
                     "%s|data=%s|arch=%s|T=%d|H=%d|layers=%d|dropout=%.9g|lr=%.9g|wd=%.9g|clip=%.9g|batch=%d|"
                     "epochs=%d|patience=%d|seed=%llu|split=%.17g,%.17g|purge=%d|max_gap=%d|",
                     kind, o->data_hash, c->arch, c->T, c->H, c->layers, c->dropout, c->lr, c->weight_decay, c->clip,
                     c->batch, c->epochs, c->patience, (unsigned long long)c->seed, c->f_train, c->f_val, c->purge,
                     c->max_gap);
    if (!strcmp(kind, "walk-forward"))
        n += snprintf(buf + n, sizeof buf - (size_t)n, "train_days=%.17g|step_days=%.17g", o->train_days,
                      o->step_days);
    else
        n += snprintf(buf + n, sizeof buf - (size_t)n, "trials=%d|space=%s", o->trials, o->space ? o->space : "");
    ASSERT(n > 0 && (size_t)n < sizeof buf);
    kml_sha256_hex(buf, (size_t)n, hex);
}

const char *pieces_dir(const train_opts *o, char *buf, size_t cap) {
    if (o->pieces) return o->pieces;
    snprintf(buf, cap, "%s/pieces", o->outdir);
    return buf;
}

cJSON *piece_load(const char *path, const char *key) {
    if (access(path, F_OK)) return NULL;
    size_t len;
    char *txt = read_file(path, &len);
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    const cJSON *k = j ? cJSON_GetObjectItemCaseSensitive(j, "key") : NULL;
    if (!cJSON_IsString(k)) {
        warn("%s: not a piece of kml-train (unreadable): it is redone", path);
        cJSON_Delete(j);
        return NULL;
    }
    if (strcmp(k->valuestring, key)) {
        cJSON_Delete(j);
        return NULL; /* another plan's piece: redone, and replaced when written */
    }
    return j;
}

int piece_done(const char *path, const char *key) {
    cJSON *j = piece_load(path, key);
    cJSON_Delete(j);
    return j != NULL;
}

void piece_write(const char *path, cJSON *obj, const char *key) {
    cJSON_AddStringToObject(obj, "key", key);
    char *txt = json_print(obj, 0);
    size_t len = strlen(txt);
    txt = xrealloc(txt, len + 2);
    txt[len] = '\n', txt[len + 1] = 0;
    atomic_write(path, txt, len + 1);
    free(txt);
}

void pieces_missing_die(const char *what, char **names, int n) {
    size_t cap = 256;
    for (int i = 0; i < n && i < 20; i++) cap += strlen(names[i]) + 2;
    char *msg = xmalloc(cap);
    int len = snprintf(msg, cap, "%s: %d piece%s missing or of another run: ", what, n, n == 1 ? "" : "s");
    for (int i = 0; i < n && i < 20; i++) len += snprintf(msg + len, cap - (size_t)len, "%s%s", i ? ", " : "", names[i]);
    if (n > 20) snprintf(msg + len, cap - (size_t)len, ", ... (%d more)", n - 20);
    die(EX_NOINPUT, "%s", msg);
}
