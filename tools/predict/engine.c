/* engine.c: the predictor, one bar at a time (docs/predict.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "predict.h"
#include "util.h"

void pred_init(predictor *p, const pred_ens *e, ml_model **models, char **paths, int K, const pred_wf *wf,
               const pred_opts *o)
{
    memset(p, 0, sizeof *p);
    p->e = e, p->o = *o, p->wf = wf;
    /* the models are the ensemble's model:<arch> members, in its order */
    for (int s = 0; s < e->S; s++) p->K += strategy_is_model(e->names[s]);
    p->model = xcalloc((size_t)p->K + 1, sizeof *p->model);
    p->kmember = xcalloc((size_t)p->K + 1, sizeof *p->kmember);
    p->karch = xcalloc((size_t)p->K + 1, sizeof *p->karch);
    p->kT = xcalloc((size_t)p->K + 1, sizeof *p->kT);
    p->kgap = xcalloc((size_t)p->K + 1, sizeof *p->kgap);
    p->kcol = xcalloc((size_t)p->K + 1, sizeof *p->kcol);
    unsigned char *used = xcalloc((size_t)K + 1, 1);
    p->wf_end = INT64_MAX;
    int k = 0, mingap = -1;
    for (int s = 0; s < e->S; s++) {
        if (!strategy_is_model(e->names[s])) continue;
        const char *arch = e->names[s] + 6;
        p->kmember[k] = s, p->karch[k] = xstrdup(arch), p->kT[k] = 1, p->kgap[k] = o->max_gap >= 0 ? o->max_gap : 3;
        if (wf) {
            int a = 0;
            while (a < wf->narch && strcmp(wf->arch[a], arch)) a++;
            if (a == wf->narch)
                die(EX_DATAERR, "%s: no prediction of arch '%s' (strategy '%s' of %s)", wf->path, arch, e->names[s],
                    o->ens_path);
            if (wf->time[a][wf->n[a] - 1] < p->wf_end) p->wf_end = wf->time[a][wf->n[a] - 1];
        } else {
            int found = -1;
            for (int j = 0; j < K; j++)
                if (!strcmp(models[j]->arch, arch)) {
                    if (found >= 0) die(EX_USAGE, "%s and %s: two %s models; give one", paths[found], paths[j], arch);
                    found = j;
                }
            if (found < 0)
                die(EX_DATAERR, "%s: strategy '%s' needs a %s model, and no -m model is one", o->ens_path, e->names[s],
                    arch);
            used[found] = 1;
            ml_model *m = p->model[k] = models[found];
            p->kT[k] = m->T;
            if ((size_t)m->T * m->F > p->nxraw) p->nxraw = (size_t)m->T * m->F;
            if (o->max_gap < 0) p->kgap[k] = m->max_gap;
            p->kcol[k] = xmalloc(sizeof(int) * (size_t)m->F);
            for (int j = 0; j < m->F; j++) {
                int u = 0;
                while (u < p->U && strcmp(p->ufeat[u], m->features[j])) u++;
                if (u == p->U) {
                    p->ufeat = xrealloc(p->ufeat, sizeof *p->ufeat * (size_t)(p->U + 1));
                    p->ufeat[p->U++] = m->features[j];
                }
                p->kcol[k][j] = u;
            }
        }
        if (p->kT[k] > p->L) p->L = p->kT[k];
        if (mingap < 0 || p->kgap[k] < mingap) mingap = p->kgap[k];
        k++;
    }
    for (int j = 0; j < K; j++)
        if (!used[j]) warn("%s: a %s model, not one of the strategies of %s: not used", paths[j], models[j]->arch, o->ens_path);
    free(used);
    if (p->L < 1) p->L = 1;
    p->strat_gap = o->max_gap >= 0 ? o->max_gap : mingap >= 0 ? mingap : 3;
    int S = e->S;
    p->st = xcalloc((size_t)S, sizeof *p->st);
    p->ring = xmalloc(sizeof(double) * (size_t)p->L * (p->U ? p->U : 1));
    p->rtime = xmalloc(sizeof(int64_t) * (size_t)p->L);
    p->sig1 = xmalloc(sizeof(double) * S), p->sig2 = xmalloc(sizeof(double) * S);
    p->mult = xmalloc(sizeof(double) * S);
    for (int s = 0; s < S; s++) p->sig1[s] = p->sig2[s] = NAN, p->mult[s] = 1;
    p->prob = xmalloc(sizeof(double) * 3 * (size_t)(p->K + 1));
    p->xraw = xmalloc(sizeof(double) * (p->nxraw ? p->nxraw : 1));
    p->kok = xmalloc((size_t)p->K + 1);
    p->base = xmalloc(sizeof(double) * S), p->ret = xmalloc(sizeof(double) * S);
    p->w = xmalloc(sizeof(double) * S), p->sig = xmalloc(sizeof(double) * S);
    p->present = xmalloc((size_t)S), p->judged = xmalloc((size_t)S);
    p->last = INT64_MIN;
    p->emit_after = INT64_MIN;
}

void pred_bind(predictor *p, csv_reader *r)
{
    const pred_ens *e = p->e;
    const char *in = csv_path(r);
    p->input = in;
    p->ncols = csv_ncols(r);
    const char **hdr = xmalloc(sizeof *hdr * (size_t)p->ncols);
    for (int c = 0; c < p->ncols; c++) {
        hdr[c] = csv_colname(r, c);
        if (!strncmp(hdr[c], "y_", 2))
            die(EX_DATAERR, "%s:1: column '%s': a label column (it looks into the future); kml-predict reads no y_* "
                "column: give it features without --labels", in, hdr[c]);
    }
    p->c_time = csv_col(r, "time");
    p->c_close = csv_col(r, "close");
    p->c_regime = csv_col(r, "regime");
    p->c_vol = csv_col(r, p->o.vol_col);
    p->c_p = xmalloc(sizeof(int) * (size_t)e->R);
    for (int k = 0; k < e->R; k++) {
        char name[256];
        snprintf(name, sizeof name, "p_%s", e->regimes[k]);
        if ((p->c_p[k] = csv_col_opt(r, name)) < 0)
            die(EX_DATAERR, "%s:1: %s names regime '%s', and the input has no column '%s'", in, p->o.ens_path,
                e->regimes[k], name);
    }
    p->c_u = xmalloc(sizeof(int) * (size_t)(p->U ? p->U : 1));
    for (int u = 0; u < p->U; u++)
        if ((p->c_u[u] = csv_col_opt(r, p->ufeat[u])) < 0) {
            int k = 0, has = 0;
            for (; k < p->K && !has; k++)
                for (int j = 0; p->model[k] && j < p->model[k]->F; j++) has |= p->kcol[k][j] == u;
            die(EX_DATAERR, "%s:1: the %s model needs column '%s', absent from the input", in, p->karch[k - 1],
                p->ufeat[u]);
        }
    for (int s = 0; s < e->S; s++) {
        char missing[256];
        int rc = strategy_bind(&p->st[s], e->names[s], hdr, p->ncols, missing, sizeof missing);
        if (rc == STRATEGY_UNKNOWN) die(EX_DATAERR, "%s: unknown strategy '%s'", p->o.ens_path, e->names[s]);
        if (rc > 0)
            die(EX_DATAERR, "%s:1: strategy '%s' of %s needs column(s) %s, absent from the input", in, e->names[s],
                p->o.ens_path, missing);
    }
    free(hdr);
    p->row = xmalloc(sizeof(double) * (size_t)p->ncols);
}

/* Whether the last T rows of the ring lie in one segment: no spacing more
 * than gap + 1 bar intervals (kml-train's rule, dataset_windows). */
static int window_ok(const predictor *p, int T, int gap)
{
    if (p->nring < T) return 0;
    for (long i = p->nring - T + 1; i < p->nring; i++)
        if (p->rtime[i] - p->rtime[i - 1] > (int64_t)(gap + 1) * p->interval) return 0;
    return 1;
}

/* The weights in force at time t (a window's, or the top level's); NULL
 * before the first window. */
static const pred_weights *weights_at(const pred_ens *e, int64_t t)
{
    if (!e->nwin) return &e->top;
    if (t < e->win[0].from) return NULL;
    for (int i = 0; i < e->nwin; i++)
        if (e->win[i].from <= t && t < e->win[i].to) return &e->win[i].w;
    return &e->top;
}

/* One input row's numbers. */
typedef struct {
    int64_t t;
    double close, vol;
    double preg[PRED_MAX_REGIMES], pmax; /* p_<regime> in ensemble.json's order, and the largest */
    const char *label;                   /* the regime label (owned by the reader) */
    int li;                              /* its index among the regimes, -1 when not one of them */
} bar;

/* Read the current row of r into b and the strategies' columns into p->row;
 * a bad value dies 65, located. */
static void bar_read(predictor *p, csv_reader *r, int64_t t, bar *b)
{
    const pred_ens *e = p->e;
    b->t = t;
    for (int c = 0; c < p->ncols; c++) p->row[c] = NAN;
    b->close = csv_double(r, p->c_close);
    if (!(b->close > 0)) csv_die(r, p->c_close, "not a positive price: %s", csv_field(r, p->c_close));
    b->vol = csv_double(r, p->c_vol);
    b->pmax = 0;
    for (int k = 0; k < e->R; k++) {
        b->preg[k] = csv_double(r, p->c_p[k]);
        if (b->preg[k] < 0 || b->preg[k] > 1) csv_die(r, p->c_p[k], "not a probability: %s", csv_field(r, p->c_p[k]));
        if (b->preg[k] > b->pmax) b->pmax = b->preg[k];
    }
    b->label = csv_field(r, p->c_regime);
    b->li = -1;
    for (int k = 0; k < e->R; k++)
        if (!strcmp(e->regimes[k], b->label)) b->li = k;
    for (int s = 0; s < e->S; s++)
        if (p->st[s].def)
            for (int j = 0; j < p->st[s].def->ncols; j++) p->row[p->st[s].col[j]] = csv_double(r, p->st[s].col[j]);
}

/* The previous bar's outcome, now that this bar's close is known: the bar
 * interval, a break in the data (the strategies restart), each strategy's
 * after-fee return on the previous bar into its Hedge multiplier (a strategy
 * with no signal there, a model missing, is not judged); then this row into
 * the ring. */
static void bar_outcome(predictor *p, csv_reader *r, const bar *b)
{
    const pred_ens *e = p->e;
    int brk = 0;
    if (p->nring > 0) {
        int64_t dt = b->t - p->rtime[p->nring - 1];
        if (p->interval == 0 || dt < p->interval) p->interval = dt;
        brk = dt > (int64_t)(p->strat_gap + 1) * p->interval;
    }
    if (p->nring > 0 && !brk) {
        double lr = log(b->close / p->prev_close);
        for (int s = 0; s < e->S; s++) {
            p->judged[s] = isfinite(p->sig1[s]);
            p->ret[s] = p->judged[s] ? strategy_bar_return(p->sig1[s], isfinite(p->sig2[s]) ? p->sig2[s] : 0, lr, e->fee) : 0;
        }
        collab_hedge(&e->ad, p->mult, p->ret, p->judged, e->S);
    }
    if (brk) /* the features restarted: so do the strategies */
        for (int s = 0; s < e->S; s++) strategy_reset(&p->st[s]), p->sig1[s] = p->sig2[s] = NAN;
    if (p->nring == p->L) {
        memmove(p->ring, p->ring + p->U, sizeof(double) * (size_t)(p->L - 1) * p->U);
        memmove(p->rtime, p->rtime + 1, sizeof(int64_t) * (size_t)(p->L - 1));
        p->nring--;
    }
    for (int u = 0; u < p->U; u++) p->ring[p->nring * p->U + u] = csv_double(r, p->c_u[u]);
    p->rtime[p->nring++] = b->t;
}

/* Each model's probabilities into p->prob and p->kok (from its window, or
 * the walk-forward file); returns 1 when every model has them. */
static int bar_models(predictor *p, csv_reader *r, int64_t t, int before_first)
{
    int all = 1;
    for (int k = 0; k < p->K; k++) {
        double *pk = p->prob + 3 * k;
        if (p->wf) {
            const double *q = before_first ? NULL : pred_wf_get(p->wf, p->karch[k], t);
            if (!q && !before_first)
                die(EX_DATAERR, "%s: no prediction of arch '%s' at time %lld (%s:%ld)", p->wf->path, p->karch[k],
                    (long long)t, csv_path(r), csv_line(r));
            if (q) memcpy(pk, q, 3 * sizeof *pk);
            p->kok[k] = q != NULL;
        } else if ((p->kok[k] = window_ok(p, p->kT[k], p->kgap[k]))) {
            ml_model *m = p->model[k];
            double *x = p->xraw;
            for (int i = 0; i < m->T; i++) {
                const double *src = p->ring + (p->nring - m->T + i) * p->U;
                for (int j = 0; j < m->F; j++) x[i * m->F + j] = src[p->kcol[k][j]];
            }
            ml_predict_raw(m, x, pk);
        }
        all &= p->kok[k];
    }
    return all;
}

/* Each strategy's signal into p->sig (NaN for a model without
 * probabilities) and p->present. */
static void bar_signals(predictor *p)
{
    for (int s = 0; s < p->e->S; s++) {
        p->present[s] = 1;
        if (p->st[s].def) {
            p->sig[s] = strategy_step(&p->st[s], p->row, NULL);
            continue;
        }
        int k = 0;
        while (p->kmember[k] != s) k++;
        p->present[s] = p->kok[k];
        p->sig[s] = p->kok[k] ? strategy_step(&p->st[s], NULL, p->prob + 3 * k) : NAN;
    }
}

/* The decision of bar b under the weights pw: weights used, signal,
 * confidence; the decision object, and the log fields in *logp. */
static cJSON *bar_decide(predictor *p, const bar *b, const pred_weights *pw, cJSON **logp)
{
    const pred_ens *e = p->e;
    int S = e->S, R = e->R;
    /* weights: the regime's (or the mixture by regime probability), adapted, over the strategies present */
    if (p->o.hard_regime) memcpy(p->base, pw->W + (size_t)(b->li >= 0 ? b->li : R) * S, sizeof(double) * S);
    else collab_mix(pw->W, b->preg, R, S, p->base);
    collab_weights(p->base, p->mult, p->present, S, p->w);
    double raw = 0, mw = 0, mm = 0, sig0[S];
    for (int s = 0; s < S; s++) {
        sig0[s] = p->present[s] ? p->sig[s] : 0;
        raw += p->w[s] * sig0[s];
    }
    for (int k = 0; k < p->K; k++)
        if (p->kok[k]) {
            double wk = p->w[p->kmember[k]];
            mw += wk, mm += wk * fabs(p->prob[3 * k + 2] - p->prob[3 * k]);
        }
    double A = collab_agreement(p->w, sig0, S), M = mw > 0 ? mm / mw : 0, P = b->li >= 0 ? b->preg[b->li] : b->pmax;
    double conf = collab_confidence(A, M, P);
    raw = raw > 1 ? 1 : raw < -1 ? -1 : raw;
    double signal = fabs(raw) < pw->entry || conf < e->min_conf ? 0 : raw;

    cJSON *models = cJSON_CreateObject(), *sigs = cJSON_CreateObject(), *ws = cJSON_CreateObject();
    cJSON *missing = cJSON_CreateArray(), *fac = cJSON_CreateObject();
    for (int k = 0; k < p->K; k++) {
        if (p->kok[k]) cJSON_AddItemToObject(models, p->karch[k], pred_nums(p->prob + 3 * k, 3));
        else cJSON_AddItemToArray(missing, cJSON_CreateString(p->karch[k]));
    }
    for (int s = 0; s < S; s++) {
        if (p->present[s]) json_add_num(sigs, e->names[s], p->sig[s]);
        json_add_num(ws, e->names[s], p->w[s]);
        json_add_num(fac, e->names[s], p->mult[s]);
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "time", (double)b->t);
    cJSON_AddStringToObject(d, "pair", p->o.pair);
    json_add_num(d, "close", b->close);
    cJSON_AddStringToObject(d, "regime", b->label);
    cJSON_AddItemToObject(d, "models", models);
    cJSON_AddItemToObject(d, "signals", sigs);
    cJSON_AddItemToObject(d, "weights", ws);
    json_add_num(d, "signal", signal);
    json_add_num(d, "confidence", conf);
    json_add_num(d, "volatility", b->vol);
    cJSON_AddStringToObject(d, "source", p->o.source);
    cJSON_AddItemToObject(d, "missing", missing);
    json_add_num(d, "raw_signal", raw);
    cJSON *lg = cJSON_CreateObject();
    cJSON_AddNumberToObject(lg, "time", (double)b->t);
    cJSON_AddStringToObject(lg, "pair", p->o.pair);
    cJSON_AddStringToObject(lg, "regime", b->label);
    cJSON_AddItemToObject(lg, "weights", cJSON_Duplicate(ws, 1));
    cJSON_AddItemToObject(lg, "signals", cJSON_Duplicate(sigs, 1));
    cJSON_AddItemToObject(lg, "adaptation", fac);
    json_add_num(lg, "agreement", A);
    json_add_num(lg, "margin", M);
    json_add_num(lg, "regime_p", P);
    json_add_num(lg, "signal", signal);
    json_add_num(lg, "confidence", conf);
    cJSON_AddItemToObject(lg, "missing", cJSON_Duplicate(missing, 1));
    cJSON_AddStringToObject(lg, "source", p->o.source);
    *logp = lg;
    return d;
}

cJSON *pred_row(predictor *p, csv_reader *r, cJSON **logp)
{
    const pred_ens *e = p->e;
    *logp = NULL;
    int64_t t = csv_int(r, p->c_time);
    if (p->last != INT64_MIN && t <= p->last) {
        if (!p->said_skip++)
            warn("%s:%ld: rows up to time %lld were already processed (the state): no decision for them",
                 csv_path(r), csv_line(r), (long long)p->last);
        return NULL;
    }
    if (p->wf && t > p->wf_end) { /* the predictions end (the last bars have no label to train on): stop here */
        if (!p->said_end++)
            warn("%s: the predictions end at time %lld: no decision from %s:%ld on (the state stays at the last bar "
                 "decided, so a longer predictions file continues from there)", p->wf->path, (long long)p->wf_end,
                 csv_path(r), csv_line(r));
        return NULL;
    }
    bar b;
    bar_read(p, r, t, &b);
    bar_outcome(p, r, &b);
    int before_first = p->wf && t < p->wf->first;
    int all = bar_models(p, r, t, before_first);
    bar_signals(p);
    const pred_weights *pw = weights_at(e, t);
    if (!pw && !p->said_nowin++)
        warn("%s: bars before the first window's from (%lld) have no out-of-sample weights: no decision for them",
             p->o.ens_path, (long long)e->win[0].from);
    if (before_first && !p->said_first++)
        warn("%s: bars before the first prediction (time %lld) get no decision", p->wf->path, (long long)p->wf->first);
    if (!p->started) p->started = all && pw && !before_first;
    cJSON *d = NULL;
    if (p->started && pw && !before_first) {
        d = bar_decide(p, &b, pw, logp);
        if (t <= p->emit_after) { /* already in the output file (a restart): processed, not printed */
            cJSON_Delete(d), cJSON_Delete(*logp);
            d = NULL, *logp = NULL;
        }
    }
    for (int s = 0; s < e->S; s++) p->sig2[s] = p->sig1[s], p->sig1[s] = p->present[s] ? p->sig[s] : NAN;
    p->prev_close = b.close;
    p->last = t;
    return d;
}

void pred_free(predictor *p)
{
    for (int k = 0; k < p->K; k++) free(p->karch[k]), free(p->kcol[k]);
    free(p->model), free(p->kmember), free(p->karch), free(p->kT), free(p->kgap), free(p->kcol), free(p->ufeat);
    free(p->c_p), free(p->c_u), free(p->st), free(p->row), free(p->ring), free(p->rtime);
    free(p->sig1), free(p->sig2), free(p->mult), free(p->prob), free(p->xraw), free(p->kok);
    free(p->base), free(p->ret), free(p->w), free(p->sig), free(p->present), free(p->judged);
}
