/* state.c: kml-predict's state file (--state): everything a later bar
 * depends on, so a run continued from it emits what a whole run would. JSON,
 * numbers printed to round-trip, written atomically after each bar. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "jsonl.h"
#include "predict.h"
#include "util.h"

cJSON *pred_nums(const double *x, long n)
{
    cJSON *a = cJSON_CreateArray();
    for (long i = 0; i < n; i++) cJSON_AddItemToArray(a, isfinite(x[i]) ? cJSON_CreateNumber(x[i]) : cJSON_CreateNull());
    return a;
}

static cJSON *strs(char *const *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

void pred_state_save(const predictor *p, const char *path)
{
    const pred_ens *e = p->e;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", "kml-predict-state");
    cJSON_AddNumberToObject(o, "version", PRED_STATE_VERSION);
    cJSON_AddItemToObject(o, "strategies", strs(e->names, e->S));
    cJSON_AddItemToObject(o, "features", strs(p->ufeat, p->U));
    cJSON_AddNumberToObject(o, "window", p->L);
    cJSON_AddNumberToObject(o, "last", (double)p->last);
    cJSON_AddNumberToObject(o, "interval", (double)p->interval);
    cJSON_AddBoolToObject(o, "started", p->started);
    json_add_num(o, "prev_close", p->prev_close);
    cJSON *tm = cJSON_AddArrayToObject(o, "ring_time"), *rx = cJSON_AddArrayToObject(o, "ring");
    for (long i = 0; i < p->nring; i++) {
        cJSON_AddItemToArray(tm, cJSON_CreateNumber((double)p->rtime[i]));
        cJSON_AddItemToArray(rx, pred_nums(p->ring + i * p->U, p->U));
    }
    cJSON *st = cJSON_AddArrayToObject(o, "strategy_state");
    for (int s = 0; s < e->S; s++) {
        cJSON *x = cJSON_CreateObject();
        json_add_num(x, "pos", p->st[s].st.pos);
        cJSON_AddItemToObject(x, "x", pred_nums(p->st[s].st.x, 4));
        cJSON_AddNumberToObject(x, "n", (double)p->st[s].st.n);
        cJSON_AddItemToArray(st, x);
    }
    cJSON_AddItemToObject(o, "signal", pred_nums(p->sig1, e->S));
    cJSON_AddItemToObject(o, "signal_before", pred_nums(p->sig2, e->S));
    cJSON_AddItemToObject(o, "multipliers", pred_nums(p->mult, e->S));
    char *text = json_print(o, 0);
    cJSON_Delete(o);
    size_t n = strlen(text);
    text[n] = '\n'; /* json_print's buffer ends in the NUL: one byte to spare */
    atomic_write(path, text, n + 1);
    free(text);
}

static const char *g_state;

KML_NORETURN static void corrupt(const char *what)
{
    die(EX_DATAERR, "%s: %s", g_state, what);
}

static void read_nums(const cJSON *a, double *x, long n, const char *key)
{
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) {
        char m[128];
        snprintf(m, sizeof m, "key '%s': not an array of %ld numbers", key, n);
        corrupt(m);
    }
    long i = 0;
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        if (cJSON_IsNull(v)) x[i] = NAN;
        else if (cJSON_IsNumber(v)) x[i] = v->valuedouble;
        else {
            char m[128];
            snprintf(m, sizeof m, "key '%s'[%ld]: not a number", key, i);
            corrupt(m);
        }
    }
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) {
        char m[128];
        snprintf(m, sizeof m, "key '%s' missing or not a number", key);
        corrupt(m);
    }
    return v->valuedouble;
}

/* The state must be of the same strategies and model features. */
static void same_names(const cJSON *a, char *const *v, int n, const char *key)
{
    int ok = cJSON_IsArray(a) && cJSON_GetArraySize(a) == n, i = 0;
    for (const cJSON *x = ok ? a->child : NULL; x && ok; x = x->next, i++) ok = cJSON_IsString(x) && !strcmp(x->valuestring, v[i]);
    if (!ok) {
        char *got = a ? json_print(a, 0) : xstrdup("nothing");
        die(EX_DATAERR, "%s: written for %s %s, not this run's: start a new state file", g_state, key, got);
    }
}

int pred_state_load(predictor *p, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    fclose(f);
    g_state = path;
    cJSON *o = json_load_file(path);
    const cJSON *fm = cJSON_GetObjectItemCaseSensitive(o, "format");
    if (!cJSON_IsString(fm) || strcmp(fm->valuestring, "kml-predict-state")) corrupt("not a kml-predict state file");
    int version = (int)num(o, "version");
    if (version != 1 && version != PRED_STATE_VERSION) {
        char m[128];
        snprintf(m, sizeof m, "state version %d; this kml-predict reads versions 1 and %d", version, PRED_STATE_VERSION);
        corrupt(m);
    }
    const pred_ens *e = p->e;
    same_names(cJSON_GetObjectItemCaseSensitive(o, "strategies"), e->names, e->S, "strategies");
    same_names(cJSON_GetObjectItemCaseSensitive(o, "features"), p->ufeat, p->U, "model features");
    if ((int)num(o, "window") != p->L) corrupt("written for models of another window length: start a new state file");
    p->last = (int64_t)num(o, "last");
    p->interval = (int64_t)num(o, "interval");
    p->started = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "started"));
    const cJSON *pc = cJSON_GetObjectItemCaseSensitive(o, "prev_close");
    p->prev_close = cJSON_IsNumber(pc) ? pc->valuedouble : NAN;
    const cJSON *tm = cJSON_GetObjectItemCaseSensitive(o, "ring_time"), *rx = cJSON_GetObjectItemCaseSensitive(o, "ring");
    long n = cJSON_GetArraySize(tm);
    if (!cJSON_IsArray(tm) || !cJSON_IsArray(rx) || n > p->L || cJSON_GetArraySize(rx) != n) corrupt("key 'ring': malformed");
    p->nring = n;
    long i = 0;
    for (const cJSON *x = tm->child, *y = rx->child; x; x = x->next, y = y->next, i++) {
        if (!cJSON_IsNumber(x)) corrupt("key 'ring_time': not numbers");
        p->rtime[i] = (int64_t)x->valuedouble;
        read_nums(y, p->ring + i * p->U, p->U, "ring");
    }
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "strategy_state");
    if (!cJSON_IsArray(st) || cJSON_GetArraySize(st) != e->S) corrupt("key 'strategy_state': malformed");
    int s = 0;
    for (const cJSON *x = st->child; x; x = x->next, s++) {
        const cJSON *pos = cJSON_GetObjectItemCaseSensitive(x, "pos");
        p->st[s].st.pos = cJSON_IsNumber(pos) ? pos->valuedouble : NAN;
        read_nums(cJSON_GetObjectItemCaseSensitive(x, "x"), p->st[s].st.x, 4, "strategy_state.x");
        p->st[s].st.n = (long)num(x, "n");
    }
    read_nums(cJSON_GetObjectItemCaseSensitive(o, "signal"), p->sig1, e->S, "signal");
    read_nums(cJSON_GetObjectItemCaseSensitive(o, "signal_before"), p->sig2, e->S, "signal_before");
    if (version == 1) { /* moments of the rule before Hedge: no multiplier to take over */
        warn("%s: a version 1 state (the adaptation before Hedge): everything but the adaptation carries over; "
             "the multipliers start again at 1", path);
        for (int k = 0; k < e->S; k++) p->mult[k] = 1;
    } else {
        read_nums(cJSON_GetObjectItemCaseSensitive(o, "multipliers"), p->mult, e->S, "multipliers");
        for (int k = 0; k < e->S; k++) {
            double x = p->mult[k];
            if (!(x > 0 && isfinite(x))) {
                char m[128];
                snprintf(m, sizeof m, "key 'multipliers'[%d]: not a positive number", k);
                corrupt(m);
            }
            /* an ensemble.json refitted with other bounds: held to the new ones */
            p->mult[k] = x < e->ad.min ? e->ad.min : x > e->ad.max ? e->ad.max : x;
        }
    }
    cJSON_Delete(o);
    return 1;
}
