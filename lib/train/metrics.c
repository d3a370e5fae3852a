/* metrics.c: log-loss, accuracy, F1, Brier, calibration, hit rate and IC of
 * 3-class forecasts (see metrics.h). */
#include "train/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "util.h"

/* Probabilities are clamped before the log so a confident wrong forecast costs
 * -log(1e-15) ~ 34.5 instead of infinity (scikit-learn's convention). */
#define P_EPS 1e-15

static int argmax3(const double *p) {
    int k = 0;
    if (p[1] > p[k]) k = 1;
    if (p[2] > p[k]) k = 2;
    return k;
}

double metrics_ece(const double *p, const int *y, long n, double *conf, double *acc, long *count) {
    double sc[KML_ECE_BINS] = {0}, sa[KML_ECE_BINS] = {0};
    long cnt[KML_ECE_BINS] = {0};
    for (long i = 0; i < n; i++) {
        int k = argmax3(p + 3 * i);
        double c = p[3 * i + k];
        int b = (int)(c * KML_ECE_BINS);
        if (b >= KML_ECE_BINS) b = KML_ECE_BINS - 1;
        if (b < 0) b = 0;
        sc[b] += c;
        sa[b] += (k == y[i]);
        cnt[b]++;
    }
    double ece = 0;
    for (int b = 0; b < KML_ECE_BINS; b++) {
        if (cnt[b]) ece += fabs(sa[b] / cnt[b] - sc[b] / cnt[b]) * cnt[b];
        if (conf) conf[b] = cnt[b] ? sc[b] / cnt[b] : NAN;
        if (acc) acc[b] = cnt[b] ? sa[b] / cnt[b] : NAN;
        if (count) count[b] = cnt[b];
    }
    return n > 0 ? ece / n : NAN;
}

typedef struct {
    double v;
    long i;
} vi;

static int cmp_vi(const void *a, const void *b) {
    const vi *x = a, *y = b;
    if (x->v < y->v) return -1;
    if (x->v > y->v) return 1;
    return (x->i > y->i) - (x->i < y->i); /* stable: a total order, so qsort is deterministic */
}

void kml_rank_average(const double *x, long n, double *r) {
    vi *s = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *s);
    for (long i = 0; i < n; i++) s[i] = (vi){x[i], i};
    qsort(s, (size_t)n, sizeof *s, cmp_vi);
    for (long i = 0; i < n;) {
        long j = i;
        while (j + 1 < n && s[j + 1].v == s[i].v) j++;
        double avg = (double)(i + j) / 2 + 1; /* ties share the mean of their ranks */
        for (long k = i; k <= j; k++) r[s[k].i] = avg;
        i = j + 1;
    }
    free(s);
}

static double pearson(const double *a, const double *b, long n) {
    double ma = 0, mb = 0;
    for (long i = 0; i < n; i++) ma += a[i], mb += b[i];
    ma /= n, mb /= n;
    double sab = 0, saa = 0, sbb = 0;
    for (long i = 0; i < n; i++) {
        double da = a[i] - ma, db = b[i] - mb;
        sab += da * db, saa += da * da, sbb += db * db;
    }
    if (saa <= 0 || sbb <= 0) return NAN;
    return sab / sqrt(saa * sbb);
}

double kml_spearman(const double *a, const double *b, long n) {
    if (n < 2) return NAN;
    double *ra = xmalloc((size_t)n * sizeof *ra), *rb = xmalloc((size_t)n * sizeof *rb);
    kml_rank_average(a, n, ra);
    kml_rank_average(b, n, rb);
    double r = pearson(ra, rb, n);
    free(ra);
    free(rb);
    return r;
}

void metrics_compute(kml_metrics *m, const double *p, const int *y, const double *ret, long n,
                     const double prior[KML_NCLASS], double fee) {
    memset(m, 0, sizeof *m);
    m->n = n;
    double ll = 0, bll = 0, brier = 0;
    long correct = 0;
    for (long i = 0; i < n; i++) {
        const double *pi = p + 3 * i;
        ASSERT(y[i] >= 0 && y[i] < KML_NCLASS);
        ll -= log(fmax(pi[y[i]], P_EPS));
        bll -= log(fmax(prior[y[i]], P_EPS));
        for (int k = 0; k < KML_NCLASS; k++) {
            double d = pi[k] - (k == y[i]);
            brier += d * d;
        }
        int k = argmax3(pi);
        correct += (k == y[i]);
        m->confusion[y[i]][k]++;
    }
    if (n == 0) {
        m->log_loss = m->baseline_log_loss = m->improvement = m->accuracy = NAN;
        m->balanced_accuracy = m->macro_f1 = m->brier = m->ece = m->hit_rate = m->ic = NAN;
        return;
    }
    m->log_loss = ll / n;
    m->baseline_log_loss = bll / n;
    m->improvement = m->baseline_log_loss - m->log_loss;
    m->accuracy = (double)correct / n;
    m->brier = brier / n;
    double rec = 0, f1 = 0;
    int nrec = 0, nf1 = 0;
    for (int k = 0; k < KML_NCLASS; k++) {
        long tp = m->confusion[k][k], support = 0, predicted = 0;
        for (int j = 0; j < KML_NCLASS; j++) support += m->confusion[k][j], predicted += m->confusion[j][k];
        if (support) rec += (double)tp / support, nrec++;
        if (support || predicted) f1 += 2.0 * tp / (double)(support + predicted), nf1++;
    }
    m->balanced_accuracy = nrec ? rec / nrec : NAN;
    m->macro_f1 = nf1 ? f1 / nf1 : NAN;
    m->ece = metrics_ece(p, y, n, NULL, NULL, NULL);

    m->hit_rate = m->ic = NAN;
    if (!ret) return;
    double *edge = xmalloc((size_t)n * sizeof *edge), *r = xmalloc((size_t)n * sizeof *r);
    long nn = 0, hits = 0;
    for (long i = 0; i < n; i++) {
        if (isnan(ret[i])) continue;
        double e = p[3 * i + 2] - p[3 * i];
        edge[nn] = e, r[nn] = ret[i], nn++;
        if (fabs(ret[i]) > fee) {
            m->hit_n++;
            hits += (e > 0 && ret[i] > 0) || (e < 0 && ret[i] < 0);
        }
    }
    m->hit_rate = m->hit_n ? (double)hits / m->hit_n : NAN;
    m->ic = kml_spearman(edge, r, nn);
    free(edge);
    free(r);
}

static void add_num_or_null(cJSON *o, const char *key, double x) {
    if (isfinite(x))
        json_add_num(o, key, x);
    else
        cJSON_AddNullToObject(o, key);
}

cJSON *metrics_to_json(const kml_metrics *m) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)m->n);
    add_num_or_null(o, "log_loss", m->log_loss);
    add_num_or_null(o, "baseline_log_loss", m->baseline_log_loss);
    add_num_or_null(o, "improvement", m->improvement);
    add_num_or_null(o, "accuracy", m->accuracy);
    add_num_or_null(o, "balanced_accuracy", m->balanced_accuracy);
    add_num_or_null(o, "macro_f1", m->macro_f1);
    add_num_or_null(o, "brier", m->brier);
    add_num_or_null(o, "ece", m->ece);
    add_num_or_null(o, "hit_rate", m->hit_rate);
    cJSON_AddNumberToObject(o, "hit_n", (double)m->hit_n);
    add_num_or_null(o, "ic", m->ic);
    cJSON *cm = cJSON_AddArrayToObject(o, "confusion");
    for (int i = 0; i < KML_NCLASS; i++) {
        cJSON *row = cJSON_CreateArray();
        for (int j = 0; j < KML_NCLASS; j++) cJSON_AddItemToArray(row, cJSON_CreateNumber((double)m->confusion[i][j]));
        cJSON_AddItemToArray(cm, row);
    }
    return o;
}
