/* ens.c: ensemble.json as kml-predict reads it (docs/ensemble.md has the
 * format) and the walk-forward predictions CSV. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "predict.h"
#include "util.h"

static const char *g_path; /* the file being read, for messages */

KML_NORETURN KML_PRINTF(1, 2) static void bad(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    die(EX_DATAERR, "%s: %s", g_path, msg);
}

static const cJSON *get(const cJSON *o, const char *key, const char *where)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) bad("key '%s%s' missing", where, key);
    return v;
}

static double num(const cJSON *o, const char *key, const char *where)
{
    const cJSON *v = get(o, key, where);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) bad("key '%s%s': not a number", where, key);
    return v->valuedouble;
}

static char **names(const cJSON *o, const char *key, int *n)
{
    const cJSON *a = get(o, key, "");
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1) bad("key '%s': not a non-empty array of names", key);
    *n = cJSON_GetArraySize(a);
    char **v = xcalloc((size_t)*n, sizeof *v);
    int i = 0;
    for (const cJSON *x = a->child; x; x = x->next, i++) {
        if (!cJSON_IsString(x) || !x->valuestring[0]) bad("key '%s'[%d]: not a name", key, i);
        for (int j = 0; j < i; j++)
            if (!strcmp(v[j], x->valuestring)) bad("key '%s': '%s' twice", key, x->valuestring);
        v[i] = xstrdup(x->valuestring);
    }
    return v;
}

/* One row {strategy: w} of S non-negative weights into w. */
static void weight_row(const pred_ens *e, const cJSON *o, const char *where, double *w)
{
    if (!cJSON_IsObject(o)) bad("key '%s': not an object of weights", where);
    char at[256];
    snprintf(at, sizeof at, "%s.", where);
    for (int s = 0; s < e->S; s++) {
        w[s] = num(o, e->names[s], at);
        if (w[s] < 0) bad("key '%s%s': negative weight", at, e->names[s]);
    }
    for (const cJSON *x = o->child; x; x = x->next) {
        int s = 0;
        while (s < e->S && strcmp(e->names[s], x->string)) s++;
        if (s == e->S) bad("key '%s%s': not one of the strategies", at, x->string);
    }
}

/* weights, global and entry of o (the top level or a window) into pw. */
static void weight_set(const pred_ens *e, const cJSON *o, const char *where, const char *entry_key, pred_weights *pw)
{
    char at[256];
    pw->W = xmalloc(sizeof(double) * (size_t)(e->R + 1) * e->S);
    snprintf(at, sizeof at, "%sweights", where);
    const cJSON *ws = get(o, "weights", where);
    if (!cJSON_IsObject(ws)) bad("key '%s': not an object", at);
    for (int r = 0; r < e->R; r++) {
        char k[512];
        snprintf(k, sizeof k, "%s.%s", at, e->regimes[r]);
        const cJSON *row = cJSON_GetObjectItemCaseSensitive(ws, e->regimes[r]);
        if (!row) bad("key '%s' missing", k);
        weight_row(e, row, k, pw->W + (size_t)r * e->S);
    }
    snprintf(at, sizeof at, "%sglobal", where);
    weight_row(e, get(o, "global", where), at, pw->W + (size_t)e->R * e->S);
    if (entry_key) {
        const cJSON *th = get(o, "thresholds", where);
        pw->entry = num(th, entry_key, "thresholds.");
    } else {
        pw->entry = num(o, "entry", where);
    }
    if (pw->entry < 0 || pw->entry > 1) bad("key '%sentry': not in [0, 1]", where);
}

void pred_ens_load(pred_ens *e, const char *path)
{
    memset(e, 0, sizeof *e);
    g_path = path;
    cJSON *d = json_load_file(path);
    if (!cJSON_IsObject(d)) bad("not a JSON object");
    e->names = names(d, "strategies", &e->S);
    for (int s = 0; s < e->S; s++)
        if (strlen(e->names[s]) >= STRATEGY_NAME_MAX || (!strategy_is_model(e->names[s]) && !strategy_find(e->names[s])))
            bad("key 'strategies': unknown strategy '%s'", e->names[s]);
    e->regimes = names(d, "regimes", &e->R);
    if (e->R > PRED_MAX_REGIMES) bad("key 'regimes': %d regimes, at most %d", e->R, PRED_MAX_REGIMES);
    weight_set(e, d, "", "entry", &e->top);
    const cJSON *th = get(d, "thresholds", "");
    e->min_conf = num(th, "min_confidence", "thresholds.");
    const cJSON *ad = get(d, "adaptation", "");
    /* rate: Hedge's learning rate eta (docs/predict.md); "gain", which
     * kml-ensemble also writes, belonged to the rule before Hedge and is not read */
    e->ad.eta = num(ad, "rate", "adaptation.");
    e->ad.min = num(ad, "min", "adaptation.");
    e->ad.max = num(ad, "max", "adaptation.");
    if (!(e->ad.eta >= 0)) bad("key 'adaptation.rate': negative");
    if (!(e->ad.min > 0 && e->ad.min <= 1 && e->ad.max >= 1)) bad("keys 'adaptation.min', 'max': need 0 < min <= 1 <= max");
    e->fee = num(d, "fee", "");
    if (e->fee < 0 || e->fee >= 1) bad("key 'fee': not in [0, 1)");
    const cJSON *data = get(d, "data", "");
    const cJSON *pair = cJSON_GetObjectItemCaseSensitive(data, "pair"), *src = cJSON_GetObjectItemCaseSensitive(data, "source");
    e->pair = cJSON_IsString(pair) ? xstrdup(pair->valuestring) : NULL;
    e->source = xstrdup(cJSON_IsString(src) ? src->valuestring : "unknown");
    const cJSON *wins = cJSON_GetObjectItemCaseSensitive(d, "windows");
    if (wins && !cJSON_IsNull(wins)) {
        if (!cJSON_IsArray(wins)) bad("key 'windows': not an array");
        e->nwin = cJSON_GetArraySize(wins);
        e->win = xcalloc((size_t)(e->nwin ? e->nwin : 1), sizeof *e->win);
        int i = 0;
        for (const cJSON *w = wins->child; w; w = w->next, i++) {
            char at[64];
            snprintf(at, sizeof at, "windows[%d].", i);
            if (!cJSON_IsObject(w)) bad("key 'windows[%d]': not an object", i);
            double from = num(w, "from", at), to = num(w, "to", at);
            e->win[i].from = (int64_t)from, e->win[i].to = (int64_t)to;
            if (!(from < to) || (i > 0 && from < e->win[i - 1].to)) bad("key '%sfrom': windows out of order", at);
            weight_set(e, w, at, NULL, &e->win[i].w);
        }
    }
    cJSON_Delete(d);
}

void pred_ens_free(pred_ens *e)
{
    for (int s = 0; s < e->S; s++) free(e->names[s]);
    for (int r = 0; r < e->R; r++) free(e->regimes[r]);
    for (int i = 0; i < e->nwin; i++) free(e->win[i].w.W);
    free(e->names), free(e->regimes), free(e->top.W), free(e->win), free(e->pair), free(e->source);
}

/* ---- walk-forward predictions ---- */

typedef struct {
    int64_t t;
    double p[3];
    long line;
} wf_row;

static int by_time(const void *a, const void *b)
{
    const wf_row *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

void pred_wf_load(pred_wf *w, const char *path)
{
    memset(w, 0, sizeof *w);
    w->path = xstrdup(path);
    csv_reader *r = csv_open(path);
    int ct = csv_col(r, "time"), ca = csv_col(r, "arch"), cp[3] = {csv_col(r, "p_down"), csv_col(r, "p_flat"), csv_col(r, "p_up")};
    wf_row **rows = NULL;
    long *cap = NULL;
    w->first = INT64_MAX;
    while (csv_next(r)) {
        const char *a = csv_field(r, ca);
        if (!a[0]) csv_die(r, ca, "empty arch");
        int k = 0;
        while (k < w->narch && strcmp(w->arch[k], a)) k++;
        if (k == w->narch) {
            w->narch++;
            w->arch = xrealloc(w->arch, sizeof *w->arch * (size_t)w->narch);
            w->n = xrealloc(w->n, sizeof *w->n * (size_t)w->narch);
            rows = xrealloc(rows, sizeof *rows * (size_t)w->narch);
            cap = xrealloc(cap, sizeof *cap * (size_t)w->narch);
            w->arch[k] = xstrdup(a), w->n[k] = 0, rows[k] = NULL, cap[k] = 0;
        }
        if (w->n[k] == cap[k]) rows[k] = xrealloc(rows[k], sizeof **rows * (size_t)(cap[k] = cap[k] ? 2 * cap[k] : 256));
        wf_row *x = &rows[k][w->n[k]++];
        x->t = csv_int(r, ct);
        x->line = csv_line(r);
        double sum = 0;
        for (int c = 0; c < 3; c++) {
            x->p[c] = csv_double(r, cp[c]);
            if (x->p[c] < 0 || x->p[c] > 1) csv_die(r, cp[c], "not a probability: %s", csv_field(r, cp[c]));
            sum += x->p[c];
        }
        if (fabs(sum - 1) > 1e-6) csv_die(r, cp[2], "p_down + p_flat + p_up = %.17g, not 1", sum);
        if (x->t < w->first) w->first = x->t;
    }
    csv_close(r);
    if (!w->narch) die(EX_DATAERR, "%s: no prediction", path);
    w->time = xmalloc(sizeof *w->time * (size_t)w->narch);
    w->p = xmalloc(sizeof *w->p * (size_t)w->narch);
    for (int k = 0; k < w->narch; k++) {
        qsort(rows[k], (size_t)w->n[k], sizeof **rows, by_time);
        w->time[k] = xmalloc(sizeof **w->time * (size_t)w->n[k]);
        w->p[k] = xmalloc(sizeof **w->p * 3 * (size_t)w->n[k]);
        for (long i = 0; i < w->n[k]; i++) {
            if (i && rows[k][i].t == rows[k][i - 1].t)
                die(EX_DATAERR, "%s:%ld: arch '%s' at time %lld: a second prediction (the first on line %ld)", path,
                    rows[k][i].line > rows[k][i - 1].line ? rows[k][i].line : rows[k][i - 1].line, w->arch[k],
                    (long long)rows[k][i].t, rows[k][i].line < rows[k][i - 1].line ? rows[k][i].line : rows[k][i - 1].line);
            w->time[k][i] = rows[k][i].t;
            memcpy(w->p[k] + 3 * i, rows[k][i].p, sizeof rows[k][i].p);
        }
        free(rows[k]);
    }
    free(rows), free(cap);
}

const double *pred_wf_get(const pred_wf *w, const char *arch, int64_t t)
{
    int k = 0;
    while (k < w->narch && strcmp(w->arch[k], arch)) k++;
    if (k == w->narch) return NULL;
    long lo = 0, hi = w->n[k];
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (w->time[k][mid] < t) lo = mid + 1;
        else hi = mid;
    }
    return lo < w->n[k] && w->time[k][lo] == t ? w->p[k] + 3 * lo : NULL;
}

void pred_wf_free(pred_wf *w)
{
    for (int k = 0; k < w->narch; k++) free(w->arch[k]), free(w->time[k]), free(w->p[k]);
    free(w->arch), free(w->n), free(w->time), free(w->p), free(w->path);
}
