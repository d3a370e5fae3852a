/* hmm.c: Gaussian hidden Markov model (see hmm.h).
 *
 * Dimensions: T rows, D columns, K states. Row-major arrays throughout:
 * x (T, D), logb (T, K), alpha (T, K), trans (K, K), cov (K, D, D). */
#include "hmm.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "util.h"

#define LOG_2PI 1.8378770664093454836

hmm_t *hmm_new(int K, int D, int full)
{
    ASSERT(K >= 1 && D >= 1);
    hmm_t *m = xcalloc(1, sizeof *m);
    m->K = K;
    m->D = D;
    m->full = full;
    m->start = xcalloc((size_t)K, sizeof(double));
    m->trans = xcalloc((size_t)K * K, sizeof(double));
    m->mean = xcalloc((size_t)K * D, sizeof(double));
    if (full) {
        m->cov = xcalloc((size_t)K * D * D, sizeof(double));
        m->chol = xcalloc((size_t)K * D * D, sizeof(double));
    } else {
        m->var = xcalloc((size_t)K * D, sizeof(double));
    }
    m->lognorm = xcalloc((size_t)K, sizeof(double));
    return m;
}

void hmm_free(hmm_t *m)
{
    if (!m) return;
    free(m->start);
    free(m->trans);
    free(m->mean);
    free(m->var);
    free(m->cov);
    free(m->chol);
    free(m->lognorm);
    free(m);
}

hmm_t *hmm_copy(const hmm_t *m)
{
    hmm_t *c = hmm_new(m->K, m->D, m->full);
    size_t K = (size_t)m->K, D = (size_t)m->D;
    memcpy(c->start, m->start, K * sizeof(double));
    memcpy(c->trans, m->trans, K * K * sizeof(double));
    memcpy(c->mean, m->mean, K * D * sizeof(double));
    if (m->full) {
        memcpy(c->cov, m->cov, K * D * D * sizeof(double));
        memcpy(c->chol, m->chol, K * D * D * sizeof(double));
    } else {
        memcpy(c->var, m->var, K * D * sizeof(double));
    }
    memcpy(c->lognorm, m->lognorm, K * sizeof(double));
    return c;
}

int hmm_prepare(hmm_t *m)
{
    int K = m->K, D = m->D;
    for (int k = 0; k < K; k++) {
        double logdet = 0;
        if (m->full) {
            double *L = m->chol + (size_t)k * D * D;
            memcpy(L, m->cov + (size_t)k * D * D, (size_t)D * D * sizeof(double));
            /* Row-major lower factor: LAPACKE transposes for us. */
            if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', D, L, D) != 0) return -1 - k;
            for (int i = 0; i < D; i++) {
                for (int j = i + 1; j < D; j++) L[i * D + j] = 0; /* upper part is left untouched by dpotrf */
                if (!(L[i * D + i] > 0)) return -1 - k;
                logdet += 2 * log(L[i * D + i]);
            }
        } else {
            for (int d = 0; d < D; d++) {
                double v = m->var[(size_t)k * D + d];
                if (!(v > 0) || !isfinite(v)) return -1 - k;
                logdet += log(v);
            }
        }
        m->lognorm[k] = -0.5 * (D * LOG_2PI + logdet);
    }
    return 0;
}

void hmm_log_emission_row(const hmm_t *m, const double *x, double *logb)
{
    int K = m->K, D = m->D;
    for (int k = 0; k < K; k++) {
        const double *mu = m->mean + (size_t)k * D;
        double q = 0;
        if (m->full) {
            /* Mahalanobis distance by forward substitution L y = x - mu: |y|^2. */
            const double *L = m->chol + (size_t)k * D * D;
            double y[64];
            ASSERT(D <= 64);
            for (int i = 0; i < D; i++) {
                double s = x[i] - mu[i];
                for (int j = 0; j < i; j++) s -= L[i * D + j] * y[j];
                y[i] = s / L[i * D + i];
                q += y[i] * y[i];
            }
        } else {
            const double *v = m->var + (size_t)k * D;
            for (int d = 0; d < D; d++) {
                double z = x[d] - mu[d];
                q += z * z / v[d];
            }
        }
        logb[k] = m->lognorm[k] - 0.5 * q;
    }
}

void hmm_permute(hmm_t *m, const int *perm)
{
    hmm_t *o = hmm_copy(m);
    int K = m->K, D = m->D;
    for (int i = 0; i < K; i++) {
        int pi = perm[i];
        ASSERT(pi >= 0 && pi < K);
        m->start[i] = o->start[pi];
        for (int j = 0; j < K; j++) m->trans[i * K + j] = o->trans[pi * K + perm[j]];
        memcpy(m->mean + (size_t)i * D, o->mean + (size_t)pi * D, (size_t)D * sizeof(double));
        if (m->full)
            memcpy(m->cov + (size_t)i * D * D, o->cov + (size_t)pi * D * D, (size_t)D * D * sizeof(double));
        else
            memcpy(m->var + (size_t)i * D, o->var + (size_t)pi * D, (size_t)D * sizeof(double));
    }
    hmm_free(o);
    ASSERT(hmm_prepare(m) == 0);
}

int hmm_nparams(int K, int D, int full)
{
    int cov = full ? K * D * (D + 1) / 2 : K * D;
    return (K - 1) + K * (K - 1) + K * D + cov;
}

/* One scaled forward step shared by the filter and the batch recursion.
 * prev: alpha of the previous row (NULL at the first row); logb: log
 * emissions of this row (K). Writes alpha (K), and returns the log of this
 * row's likelihood given the earlier rows.
 * Why the max shift: exp(logb) underflows for rows far from every state; with
 * the largest emission scaled to 1 the normalising sum only underflows when
 * the transitions give that state no mass, and then the step is redone in log
 * space (log-sum-exp), which is exact. */
static double forward_step(const hmm_t *m, const double *prev, const double *logb, double *pred, double *alpha)
{
    int K = m->K;
    if (prev) {
        for (int j = 0; j < K; j++) pred[j] = 0;
        for (int i = 0; i < K; i++) {
            double a = prev[i];
            if (a == 0) continue;
            const double *Ai = m->trans + (size_t)i * K;
            for (int j = 0; j < K; j++) pred[j] += a * Ai[j];
        }
    } else {
        memcpy(pred, m->start, (size_t)K * sizeof(double));
    }
    double mx = -INFINITY;
    for (int k = 0; k < K; k++)
        if (logb[k] > mx) mx = logb[k];
    double s = 0;
    for (int k = 0; k < K; k++) {
        alpha[k] = pred[k] * exp(logb[k] - mx);
        s += alpha[k];
    }
    if (s >= DBL_MIN) {
        for (int k = 0; k < K; k++) alpha[k] /= s;
        return mx + log(s);
    }
    double vmax = -INFINITY;
    for (int k = 0; k < K; k++) {
        alpha[k] = pred[k] > 0 ? log(pred[k]) + logb[k] : -INFINITY;
        if (alpha[k] > vmax) vmax = alpha[k];
    }
    ASSERT(isfinite(vmax)); /* pred sums to 1, so some state has mass */
    double z = 0;
    for (int k = 0; k < K; k++) z += exp(alpha[k] - vmax);
    double lz = vmax + log(z);
    for (int k = 0; k < K; k++) alpha[k] = exp(alpha[k] - lz);
    return lz;
}

void hmm_filter_init(hmm_filter *f, const hmm_t *m)
{
    f->m = m;
    f->t = 0;
    f->alpha = xcalloc((size_t)m->K, sizeof(double));
    f->pred = xcalloc((size_t)m->K, sizeof(double));
    f->logb = xcalloc((size_t)m->K, sizeof(double));
    f->loglik = 0;
}

void hmm_filter_free(hmm_filter *f)
{
    free(f->alpha);
    free(f->pred);
    free(f->logb);
    f->alpha = f->pred = f->logb = NULL;
}

int hmm_filter_step(hmm_filter *f, const double *x, double *prob)
{
    const hmm_t *m = f->m;
    hmm_log_emission_row(m, x, f->logb);
    /* alpha is both the previous and the new vector: keep a copy of the old one */
    double prev[64];
    ASSERT(m->K <= 64);
    memcpy(prev, f->alpha, (size_t)m->K * sizeof(double));
    f->loglik += forward_step(m, f->t ? prev : NULL, f->logb, f->pred, f->alpha);
    f->t++;
    int best = 0;
    for (int k = 0; k < m->K; k++) {
        if (f->alpha[k] > f->alpha[best]) best = k;
        if (prob) prob[k] = f->alpha[k];
    }
    return best;
}

/* Workspace of the batch forward-backward recursion. */
typedef struct {
    long T;
    int K;
    double *logb;  /* (T, K) log emission densities */
    double *alpha; /* (T, K) filtered probabilities; gamma after the E-step */
    double *beta;  /* (K) backward vector of the current row */
    double *beta1; /* (K) backward vector of the next row */
    double *w;     /* (K) */
    double *pred;  /* (K) */
    double *lc;    /* (T) log of each row's scaled likelihood */
    double *xi;    /* (K, K) expected transition counts */
} fb_work;

static void fb_init(fb_work *w, long T, int K)
{
    w->T = T;
    w->K = K;
    w->logb = xmalloc((size_t)T * K * sizeof(double));
    w->alpha = xmalloc((size_t)T * K * sizeof(double));
    w->beta = xmalloc((size_t)K * sizeof(double));
    w->beta1 = xmalloc((size_t)K * sizeof(double));
    w->w = xmalloc((size_t)K * sizeof(double));
    w->pred = xmalloc((size_t)K * sizeof(double));
    w->lc = xmalloc((size_t)T * sizeof(double));
    w->xi = xmalloc((size_t)K * K * sizeof(double));
}

static void fb_free(fb_work *w)
{
    free(w->logb);
    free(w->alpha);
    free(w->beta);
    free(w->beta1);
    free(w->w);
    free(w->pred);
    free(w->lc);
    free(w->xi);
}

static void fb_emissions(const hmm_t *m, const double *x, fb_work *w)
{
    for (long t = 0; t < w->T; t++) hmm_log_emission_row(m, x + (size_t)t * m->D, w->logb + (size_t)t * w->K);
}

/* Forward pass over the stored emissions; returns the log-likelihood. */
static double fb_forward(const hmm_t *m, fb_work *w)
{
    int K = w->K;
    double ll = 0;
    for (long t = 0; t < w->T; t++) {
        double *a = w->alpha + (size_t)t * K;
        w->lc[t] = forward_step(m, t ? a - K : NULL, w->logb + (size_t)t * K, w->pred, a);
        ll += w->lc[t];
    }
    return ll;
}

/* Backward pass: turns alpha into the smoothed posteriors gamma = alpha * beta
 * (in place) and, when want_xi, accumulates the expected transition counts.
 * Why this scaling: beta may be multiplied by any positive constant per row,
 * since gamma and each row's xi are normalised to sum to 1 anyway. So every
 * row's emissions are shifted by their maximum (b' <= 1) and beta is divided
 * by its maximum: all quantities stay in [0, 1] and nothing can overflow,
 * however unlikely a row is. Should a row underflow entirely (no state both
 * reachable and plausible), its filtered probabilities stand in for gamma. */
static void fb_backward(const hmm_t *m, fb_work *w, int want_xi)
{
    int K = w->K;
    long T = w->T;
    double *tmp = want_xi ? xmalloc((size_t)K * K * sizeof(double)) : NULL;
    if (want_xi) memset(w->xi, 0, (size_t)K * K * sizeof(double));
    for (int k = 0; k < K; k++) w->beta1[k] = 1;
    for (long t = T - 1; t >= 0; t--) {
        double *a = w->alpha + (size_t)t * K;
        if (t < T - 1) {
            const double *lb = w->logb + (size_t)(t + 1) * K;
            double mx = -INFINITY, z = 0, bmax = 0;
            for (int j = 0; j < K; j++)
                if (lb[j] > mx) mx = lb[j];
            for (int j = 0; j < K; j++) w->w[j] = exp(lb[j] - mx) * w->beta1[j];
            for (int i = 0; i < K; i++) {
                const double *Ai = m->trans + (size_t)i * K;
                double s = 0;
                if (want_xi) {
                    double *ti = tmp + (size_t)i * K;
                    for (int j = 0; j < K; j++) {
                        double v = Ai[j] * w->w[j];
                        s += v;
                        ti[j] = a[i] * v;
                        z += ti[j];
                    }
                } else {
                    for (int j = 0; j < K; j++) s += Ai[j] * w->w[j];
                }
                w->beta[i] = s;
                if (s > bmax) bmax = s;
            }
            if (want_xi && z > 0)
                for (int i = 0; i < K * K; i++) w->xi[i] += tmp[i] / z;
            if (bmax > 0)
                for (int i = 0; i < K; i++) w->beta[i] /= bmax;
        } else {
            for (int k = 0; k < K; k++) w->beta[k] = 1;
        }
        double g = 0;
        for (int k = 0; k < K; k++) g += a[k] * w->beta[k];
        if (g > 0) {
            for (int k = 0; k < K; k++) a[k] = a[k] * w->beta[k] / g;
            memcpy(w->beta1, w->beta, (size_t)K * sizeof(double));
        } else {
            for (int k = 0; k < K; k++) w->beta1[k] = 1; /* a keeps the filtered probabilities */
        }
    }
    free(tmp);
}

double hmm_loglik(const hmm_t *m, const double *x, long T)
{
    hmm_filter f;
    hmm_filter_init(&f, m);
    for (long t = 0; t < T; t++) hmm_filter_step(&f, x + (size_t)t * m->D, NULL);
    double ll = f.loglik;
    hmm_filter_free(&f);
    return ll;
}

double hmm_posteriors(const hmm_t *m, const double *x, long T, double *gamma)
{
    fb_work w;
    fb_init(&w, T, m->K);
    fb_emissions(m, x, &w);
    double ll = fb_forward(m, &w);
    fb_backward(m, &w, 0);
    memcpy(gamma, w.alpha, (size_t)T * m->K * sizeof(double));
    fb_free(&w);
    return ll;
}

double hmm_viterbi(const hmm_t *m, const double *x, long T, int *path)
{
    int K = m->K;
    if (T <= 0) return 0;
    double *logA = xmalloc((size_t)K * K * sizeof(double));
    double *d = xmalloc((size_t)K * sizeof(double)), *nd = xmalloc((size_t)K * sizeof(double));
    double *lb = xmalloc((size_t)K * sizeof(double));
    int *bp = xmalloc((size_t)T * K * sizeof(int));
    for (int i = 0; i < K * K; i++) logA[i] = m->trans[i] > 0 ? log(m->trans[i]) : -INFINITY;
    hmm_log_emission_row(m, x, lb);
    for (int k = 0; k < K; k++) d[k] = (m->start[k] > 0 ? log(m->start[k]) : -INFINITY) + lb[k];
    for (long t = 1; t < T; t++) {
        hmm_log_emission_row(m, x + (size_t)t * m->D, lb);
        for (int j = 0; j < K; j++) {
            int bi = 0;
            double bv = -INFINITY;
            for (int i = 0; i < K; i++) {
                double v = d[i] + logA[i * K + j];
                if (v > bv) { bv = v; bi = i; }
            }
            nd[j] = bv + lb[j];
            bp[(size_t)t * K + j] = bi;
        }
        memcpy(d, nd, (size_t)K * sizeof(double));
    }
    int best = 0;
    for (int k = 1; k < K; k++)
        if (d[k] > d[best]) best = k;
    double lp = d[best];
    path[T - 1] = best;
    for (long t = T - 1; t > 0; t--) path[t - 1] = bp[(size_t)t * K + path[t]];
    free(logA); free(d); free(nd); free(lb); free(bp);
    return lp;
}

void hmm_fit_defaults(hmm_fit_opts *o)
{
    memset(o, 0, sizeof *o);
    o->K = 4;
    o->restarts = 10;
    o->max_iter = 200;
    o->tol = 1e-4;
    o->var_floor = 1e-3;
    o->seed = 1;
    o->threads = 1;
}

/* k-means++ seeding then up to lloyd Lloyd iterations on x (T, D): labels (T)
 * and centroids cent (K, D). Deterministic for the rng's state. */
static void kmeans(const double *x, long T, int D, int K, int lloyd, rng_t *r, int *label, double *cent)
{
    double *d2 = xmalloc((size_t)T * sizeof(double));
    long first = (long)rng_below(r, (uint64_t)T);
    memcpy(cent, x + (size_t)first * D, (size_t)D * sizeof(double));
    for (long t = 0; t < T; t++) d2[t] = INFINITY;
    for (int c = 1; c <= K; c++) {
        /* distances to the newest centroid */
        const double *cc = cent + (size_t)(c - 1) * D;
        double total = 0;
        for (long t = 0; t < T; t++) {
            double s = 0;
            for (int d = 0; d < D; d++) {
                double z = x[(size_t)t * D + d] - cc[d];
                s += z * z;
            }
            if (s < d2[t]) d2[t] = s;
            total += d2[t];
        }
        if (c == K) break;
        /* next centroid with probability proportional to D^2 */
        long pick = (long)rng_below(r, (uint64_t)T);
        if (total > 0) {
            double u = rng_uniform(r) * total, acc = 0;
            for (long t = 0; t < T; t++) {
                acc += d2[t];
                if (acc > u) { pick = t; break; }
            }
        }
        memcpy(cent + (size_t)c * D, x + (size_t)pick * D, (size_t)D * sizeof(double));
    }
    long *cnt = xmalloc((size_t)K * sizeof(long));
    for (long t = 0; t < T; t++) label[t] = -1;
    for (int it = 0; it < lloyd; it++) {
        long changed = 0;
        for (long t = 0; t < T; t++) {
            int bk = 0;
            double bd = INFINITY;
            for (int k = 0; k < K; k++) {
                double s = 0;
                for (int d = 0; d < D; d++) {
                    double z = x[(size_t)t * D + d] - cent[(size_t)k * D + d];
                    s += z * z;
                }
                if (s < bd) { bd = s; bk = k; }
            }
            d2[t] = bd;
            if (label[t] != bk) { label[t] = bk; changed++; }
        }
        if (!changed) break;
        memset(cent, 0, (size_t)K * D * sizeof(double));
        memset(cnt, 0, (size_t)K * sizeof(long));
        for (long t = 0; t < T; t++) {
            cnt[label[t]]++;
            for (int d = 0; d < D; d++) cent[(size_t)label[t] * D + d] += x[(size_t)t * D + d];
        }
        for (int k = 0; k < K; k++) {
            if (cnt[k] == 0) {
                /* an empty cluster takes the point farthest from its centroid */
                long far = 0;
                for (long t = 1; t < T; t++)
                    if (d2[t] > d2[far]) far = t;
                memcpy(cent + (size_t)k * D, x + (size_t)far * D, (size_t)D * sizeof(double));
                d2[far] = 0;
            } else {
                for (int d = 0; d < D; d++) cent[(size_t)k * D + d] /= (double)cnt[k];
            }
        }
    }
    free(cnt);
    free(d2);
}

/* Floor the covariances and make sure each full one factorises: its diagonal
 * is raised to the floor, and when Cholesky still fails the floor is added to
 * the whole diagonal, doubling until it succeeds. */
static void floor_covariances(hmm_t *m, double floor)
{
    int K = m->K, D = m->D;
    if (!m->full) {
        for (int i = 0; i < K * D; i++)
            if (!(m->var[i] >= floor)) m->var[i] = floor;
        return;
    }
    for (int k = 0; k < K; k++) {
        double *C = m->cov + (size_t)k * D * D;
        for (int d = 0; d < D; d++)
            if (!(C[d * D + d] >= floor)) C[d * D + d] = floor;
    }
    double add = floor;
    int rc;
    for (int tries = 0; (rc = hmm_prepare(m)) != 0; tries++) {
        ASSERT(tries < 60);
        int k = -1 - rc;
        double *C = m->cov + (size_t)k * D * D;
        for (int d = 0; d < D; d++) C[d * D + d] += add;
        add *= 2;
    }
}

/* Initial parameters from a partition of the rows (label, T): each state
 * gets the mean and (co)variance of its rows and the transitions counted
 * along the labels. */
static void init_from_labels(hmm_t *m, const double *x, long T, const int *label, double floor)
{
    int K = m->K, D = m->D;
    double *n = xcalloc((size_t)K, sizeof(double));
    double *cent = xcalloc((size_t)K * D, sizeof(double));
    for (long t = 0; t < T; t++) {
        n[label[t]] += 1;
        for (int d = 0; d < D; d++) cent[(size_t)label[t] * D + d] += x[(size_t)t * D + d];
    }
    for (int k = 0; k < K; k++)
        for (int d = 0; d < D; d++) cent[(size_t)k * D + d] = n[k] > 0 ? cent[(size_t)k * D + d] / n[k] : 0;
    memset(n, 0, (size_t)K * sizeof(double));
    memcpy(m->mean, cent, (size_t)K * D * sizeof(double));
    if (m->full) memset(m->cov, 0, (size_t)K * D * D * sizeof(double));
    else memset(m->var, 0, (size_t)K * D * sizeof(double));
    for (long t = 0; t < T; t++) {
        int k = label[t];
        const double *xt = x + (size_t)t * D, *mu = cent + (size_t)k * D;
        n[k] += 1;
        for (int i = 0; i < D; i++) {
            if (m->full)
                for (int j = 0; j < D; j++) m->cov[(size_t)k * D * D + i * D + j] += (xt[i] - mu[i]) * (xt[j] - mu[j]);
            else
                m->var[(size_t)k * D + i] += (xt[i] - mu[i]) * (xt[i] - mu[i]);
        }
    }
    for (int k = 0; k < K; k++) {
        int sz = m->full ? D * D : D;
        double *p = m->full ? m->cov + (size_t)k * D * D : m->var + (size_t)k * D;
        for (int i = 0; i < sz; i++) p[i] = n[k] > 1 ? p[i] / n[k] : 0;
        if (n[k] <= 1) /* a one-point cluster: unit variance on the standardised scale */
            for (int d = 0; d < D; d++) p[m->full ? d * D + d : d] = 1;
    }
    /* transitions counted along the k-means labels, with one pseudo-count each */
    for (int i = 0; i < K * K; i++) m->trans[i] = 1;
    for (long t = 1; t < T; t++) m->trans[label[t - 1] * K + label[t]] += 1;
    for (int i = 0; i < K; i++) {
        double s = 0;
        for (int j = 0; j < K; j++) s += m->trans[i * K + j];
        for (int j = 0; j < K; j++) m->trans[i * K + j] /= s;
        m->start[i] = (n[i] + 1) / ((double)T + K);
    }
    free(n);
    free(cent);
    floor_covariances(m, floor);
    ASSERT(hmm_prepare(m) == 0);
}

/* Local statistics of x (T, D) for the initial partition: for each column,
 * the mean and the root mean square of the rows in a centred window of w
 * rows (shorter at the ends), each feature standardised. Returns (T, 2D);
 * caller frees.
 * Why: regimes persist, and states that overlap row by row (two drifts of
 * opposite sign under similar noise) separate clearly in their local averages,
 * while k-means on single rows only splits them by magnitude. EM from a
 * partition by magnitude stays in that local optimum whatever the seed. */
static double *local_stats(const double *x, long T, int D, long w)
{
    int F = 2 * D;
    double *f = xmalloc((size_t)T * F * sizeof(double));
    double *c1 = xmalloc((size_t)(T + 1) * sizeof(double)), *c2 = xmalloc((size_t)(T + 1) * sizeof(double));
    long h = w / 2;
    for (int d = 0; d < D; d++) {
        c1[0] = c2[0] = 0;
        for (long t = 0; t < T; t++) {
            double v = x[(size_t)t * D + d];
            c1[t + 1] = c1[t] + v;
            c2[t + 1] = c2[t] + v * v;
        }
        for (long t = 0; t < T; t++) {
            long a = t - h < 0 ? 0 : t - h, b = t + h + 1 > T ? T : t + h + 1;
            double n = (double)(b - a);
            f[(size_t)t * F + 2 * d] = (c1[b] - c1[a]) / n;
            f[(size_t)t * F + 2 * d + 1] = sqrt((c2[b] - c2[a]) / n);
        }
    }
    free(c1);
    free(c2);
    for (int j = 0; j < F; j++) {
        double mu = 0, ss = 0;
        for (long t = 0; t < T; t++) mu += f[(size_t)t * F + j];
        mu /= (double)T;
        for (long t = 0; t < T; t++) ss += (f[(size_t)t * F + j] - mu) * (f[(size_t)t * F + j] - mu);
        double sd = sqrt(ss / (double)T);
        for (long t = 0; t < T; t++) f[(size_t)t * F + j] = sd > 0 ? (f[(size_t)t * F + j] - mu) / sd : 0;
    }
    return f;
}

/* The M-step from gamma (stored in w->alpha) and xi. States that received
 * (almost) no weight keep their previous parameters. start_prob becomes the
 * average occupancy rather than gamma of the first row: a file that is
 * labelled later rarely starts where the fitted one did. */
static void m_step(hmm_t *m, const double *x, fb_work *w, double floor)
{
    int K = m->K, D = m->D;
    long T = w->T;
    const double *g = w->alpha;
    double *n = xcalloc((size_t)K, sizeof(double));
    double *s1 = xcalloc((size_t)K * D, sizeof(double));
    for (long t = 0; t < T; t++) {
        const double *xt = x + (size_t)t * D, *gt = g + (size_t)t * K;
        for (int k = 0; k < K; k++) {
            n[k] += gt[k];
            for (int d = 0; d < D; d++) s1[(size_t)k * D + d] += gt[k] * xt[d];
        }
    }
    int *alive = xcalloc((size_t)K, sizeof(int));
    for (int k = 0; k < K; k++) {
        alive[k] = n[k] > 1e-8 * (double)T && n[k] > 1e-10;
        if (alive[k])
            for (int d = 0; d < D; d++) m->mean[(size_t)k * D + d] = s1[(size_t)k * D + d] / n[k];
    }
    /* second pass around the new means: no cancellation of E[x^2] - mu^2 */
    int sz = m->full ? D * D : D;
    double *s2 = xcalloc((size_t)K * sz, sizeof(double));
    for (long t = 0; t < T; t++) {
        const double *xt = x + (size_t)t * D, *gt = g + (size_t)t * K;
        for (int k = 0; k < K; k++) {
            if (!alive[k]) continue;
            const double *mu = m->mean + (size_t)k * D;
            double *acc = s2 + (size_t)k * sz;
            if (m->full) {
                for (int i = 0; i < D; i++) {
                    double zi = gt[k] * (xt[i] - mu[i]);
                    for (int j = 0; j <= i; j++) acc[i * D + j] += zi * (xt[j] - mu[j]);
                }
            } else {
                for (int d = 0; d < D; d++) {
                    double z = xt[d] - mu[d];
                    acc[d] += gt[k] * z * z;
                }
            }
        }
    }
    for (int k = 0; k < K; k++) {
        if (!alive[k]) continue;
        double *acc = s2 + (size_t)k * sz;
        if (m->full) {
            double *C = m->cov + (size_t)k * D * D;
            for (int i = 0; i < D; i++)
                for (int j = 0; j <= i; j++) C[i * D + j] = C[j * D + i] = acc[i * D + j] / n[k];
        } else {
            for (int d = 0; d < D; d++) m->var[(size_t)k * D + d] = acc[d] / n[k];
        }
    }
    for (int i = 0; i < K; i++) {
        double s = 0;
        for (int j = 0; j < K; j++) s += w->xi[i * K + j];
        if (s > 0)
            for (int j = 0; j < K; j++) m->trans[i * K + j] = w->xi[i * K + j] / s;
        m->start[i] = n[i] / (double)T;
    }
    free(n); free(s1); free(s2); free(alive);
    floor_covariances(m, floor);
    ASSERT(hmm_prepare(m) == 0);
}

typedef struct {
    const double *x;
    long T;
    int D;
    const hmm_fit_opts *o;
    uint64_t seed;
    int index;      /* which start */
    hmm_t *model;   /* result */
    double loglik;  /* -INFINITY when the start failed */
    int iterations;
    int converged;
} restart_job;

static void run_restart(restart_job *j)
{
    const hmm_fit_opts *o = j->o;
    long T = j->T;
    int D = j->D, K = o->K;
    rng_t r;
    rng_seed(&r, j->seed);
    int *label = xmalloc((size_t)T * sizeof(int));
    double *cent = xmalloc((size_t)K * D * sizeof(double));
    /* The starts alternate between two partitions. Even starts cluster the
     * rows themselves: start 0 by full k-means, the others by k-means++ seeds
     * with one Lloyd step (Lloyd's iterations converge to the same partition
     * from almost every seeding, so the single step keeps the starts
     * diverse). Odd starts cluster the rows' local statistics (local_stats)
     * with windows of 8, 16, 32, 4 rows in turn, which finds persistent
     * regimes that overlap row by row. The best likelihood decides. */
    if (j->index % 2 == 0 || T < 8) {
        kmeans(j->x, T, D, K, j->index == 0 ? 100 : 1, &r, label, cent);
    } else {
        static const long windows[] = {8, 16, 32, 4};
        long w = windows[(j->index / 2) % 4];
        double *f = local_stats(j->x, T, D, w < T ? w : T);
        double *fc = xmalloc((size_t)K * 2 * D * sizeof(double));
        kmeans(f, T, 2 * D, K, 100, &r, label, fc);
        free(fc);
        free(f);
    }
    hmm_t *m = hmm_new(K, D, o->full);
    init_from_labels(m, j->x, T, label, o->var_floor);
    free(label);
    free(cent);
    j->model = m;
    j->loglik = hmm_em(m, j->x, T, o->max_iter, o->tol, o->var_floor, &j->iterations, &j->converged);
    if (!isfinite(j->loglik)) j->loglik = -INFINITY;
}

double hmm_em(hmm_t *m, const double *x, long T, int max_iter, double tol, double var_floor, int *iterations,
              int *converged)
{
    int K = m->K;
    fb_work w;
    fb_init(&w, T, K);
    double prev = -INFINITY, ll = -INFINITY;
    int iters = 0, conv = 0;
    for (int it = 0; it < max_iter; it++) {
        fb_emissions(m, x, &w);
        ll = fb_forward(m, &w);
        if (!isfinite(ll)) break;
        if (it > 0 && ll - prev < tol) {
            conv = 1;
            break;
        }
        if (it == max_iter - 1) break; /* keep the parameters ll belongs to */
        prev = ll;
        fb_backward(m, &w, 1);
        m_step(m, x, &w, var_floor);
        iters++;
    }
    fb_free(&w);
    if (iterations) *iterations = iters;
    if (converged) *converged = conv;
    return ll;
}

typedef struct {
    restart_job *jobs;
    int n, stride, first;
} thread_arg;

static void *restart_thread(void *p)
{
    thread_arg *a = p;
    for (int i = a->first; i < a->n; i += a->stride) run_restart(&a->jobs[i]);
    return NULL;
}

hmm_t *hmm_fit(const double *x, long T, int D, const hmm_fit_opts *o, hmm_fit_info *info)
{
    ASSERT(o->K >= 1 && o->restarts >= 1 && o->max_iter >= 1 && T >= o->K);
    int R = o->restarts;
    restart_job *jobs = xcalloc((size_t)R, sizeof *jobs);
    rng_t r;
    rng_seed(&r, o->seed);
    for (int i = 0; i < R; i++) {
        jobs[i].x = x;
        jobs[i].T = T;
        jobs[i].D = D;
        jobs[i].o = o;
        jobs[i].seed = rng_u64(&r);
        jobs[i].index = i;
    }
    int nt = o->threads < 1 ? 1 : o->threads;
    if (nt > R) nt = R;
    if (nt == 1) {
        for (int i = 0; i < R; i++) run_restart(&jobs[i]);
    } else {
        pthread_t *th = xmalloc((size_t)nt * sizeof *th);
        thread_arg *ta = xmalloc((size_t)nt * sizeof *ta);
        for (int i = 0; i < nt; i++) {
            ta[i] = (thread_arg){jobs, R, nt, i};
            if (pthread_create(&th[i], NULL, restart_thread, &ta[i]) != 0) die(EX_OSERR, "pthread_create:");
        }
        for (int i = 0; i < nt; i++) pthread_join(th[i], NULL);
        free(th);
        free(ta);
    }
    int best = -1, failed = 0;
    for (int i = 0; i < R; i++) {
        if (!isfinite(jobs[i].loglik)) {
            failed++;
            continue;
        }
        if (best < 0 || jobs[i].loglik > jobs[best].loglik) best = i;
    }
    hmm_t *m = NULL;
    if (best >= 0) {
        m = jobs[best].model;
        jobs[best].model = NULL;
    }
    if (info) {
        memset(info, 0, sizeof *info);
        info->failed = failed;
        info->best_restart = best;
        if (best >= 0) {
            info->loglik = jobs[best].loglik;
            info->iterations = jobs[best].iterations;
            info->converged = jobs[best].converged;
        }
    }
    for (int i = 0; i < R; i++) hmm_free(jobs[i].model);
    free(jobs);
    return m;
}

void hmm_sample(const hmm_t *m, long T, uint64_t seed, double *x, int *states)
{
    int K = m->K, D = m->D;
    rng_t r;
    rng_seed(&r, seed);
    int s = 0;
    for (long t = 0; t < T; t++) {
        const double *p = t ? m->trans + (size_t)s * K : m->start;
        double u = rng_uniform(&r), acc = 0;
        int ns = K - 1;
        for (int k = 0; k < K; k++) {
            acc += p[k];
            if (u < acc) { ns = k; break; }
        }
        s = ns;
        states[t] = s;
        double z[64];
        ASSERT(D <= 64);
        for (int d = 0; d < D; d++) z[d] = rng_normal(&r);
        double *xt = x + (size_t)t * D;
        const double *mu = m->mean + (size_t)s * D;
        for (int i = 0; i < D; i++) {
            if (m->full) {
                const double *L = m->chol + (size_t)s * D * D;
                double v = 0;
                for (int j = 0; j <= i; j++) v += L[i * D + j] * z[j];
                xt[i] = mu[i] + v;
            } else {
                xt[i] = mu[i] + sqrt(m->var[(size_t)s * D + i]) * z[i];
            }
        }
    }
}
