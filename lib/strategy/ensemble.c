/* ensemble.c: statistics, Ledoit-Wolf shrinkage, weights on the simplex, the
 * fit per regime, walk-forward windows and ensemble.json (see ensemble.h and
 * docs/ensemble.md). Everything is deterministic: fixed loop orders, no
 * threads, no random start. */
#include "ensemble.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "strategy.h"
#include "util.h"

const double ens_entry_grid[] = {0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5};
const int ens_entry_ngrid = (int)(sizeof ens_entry_grid / sizeof ens_entry_grid[0]);

void ens_opts_defaults(ens_opts *o)
{
    memset(o, 0, sizeof *o);
    o->objective = ENS_SHARPE;
    o->fee = 0.0026;
    o->penalty = 0.1;
    o->min_samples = 500;
    o->min_confidence = 0;
    o->adapt_rate = 1;
    o->adapt_min = 0.5;
    o->adapt_max = 2;
    o->train_days = 180;
    o->step_days = 30;
    o->source = "unknown";
}

/* ---- statistics ---- */

void ens_stats_of(const double *R, const double *turn, long m, double ppy, ens_stats *st)
{
    st->bars = m;
    st->mean = st->volatility = st->sharpe = st->sortino = st->hit_rate = st->turnover = st->max_drawdown = NAN;
    if (m == 0) return;
    double sum = 0, tsum = 0, down = 0, cum = 0, peak = 0, dd = 0;
    long pos = 0, nz = 0;
    for (long i = 0; i < m; i++) {
        sum += R[i];
        if (R[i] < 0) down += R[i] * R[i];
        if (R[i] != 0) nz++;
        if (R[i] > 0) pos++;
        if (turn) tsum += turn[i];
        cum += R[i];
        if (cum > peak) peak = cum;
        if (peak - cum > dd) dd = peak - cum;
    }
    double mean = sum / m, var = 0;
    for (long i = 0; i < m; i++) var += (R[i] - mean) * (R[i] - mean);
    double sd = m > 1 ? sqrt(var / (m - 1)) : NAN;
    down = sqrt(down / m);
    st->mean = mean * ppy;
    st->volatility = sd * sqrt(ppy);
    st->sharpe = sd > 0 ? mean / sd * sqrt(ppy) : NAN;
    st->sortino = down > 0 ? mean / down * sqrt(ppy) : NAN;
    st->hit_rate = nz ? (double)pos / nz : NAN;
    st->turnover = turn ? tsum / m : NAN;
    st->max_drawdown = 1 - exp(-dd);
}

/* ---- the simplex, the shrinkage, the weights ---- */

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

void ens_simplex_project(double *v, int k)
{
    double *u = xmalloc((size_t)k * sizeof *u);
    memcpy(u, v, (size_t)k * sizeof *u);
    qsort(u, (size_t)k, sizeof *u, cmp_desc);
    double css = 0, theta = 0;
    for (int j = 0; j < k; j++) {
        css += u[j];
        double t = (css - 1) / (j + 1);
        if (u[j] - t > 0) theta = t;
    }
    for (int i = 0; i < k; i++) v[i] = v[i] - theta > 0 ? v[i] - theta : 0;
    free(u);
}

double ens_ledoit_wolf(const double *X, long m, int k, double *sigma)
{
    double *S = xcalloc((size_t)k * k, sizeof *S);
    for (long t = 0; t < m; t++) {
        const double *x = X + t * k;
        for (int i = 0; i < k; i++)
            for (int j = 0; j <= i; j++) S[i * k + j] += x[i] * x[j];
    }
    for (int i = 0; i < k; i++)
        for (int j = 0; j <= i; j++) S[j * k + i] = S[i * k + j] /= m;
    double mu = 0;
    for (int i = 0; i < k; i++) mu += S[i * k + i];
    mu /= k;
    double d2 = 0, b2 = 0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double e = S[i * k + j] - (i == j ? mu : 0);
            d2 += e * e;
        }
    for (long t = 0; t < m; t++) {
        const double *x = X + t * k;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
                double e = x[i] * x[j] - S[i * k + j];
                b2 += e * e;
            }
    }
    b2 /= (double)m * m;
    if (b2 > d2) b2 = d2;
    double delta = d2 > 0 ? b2 / d2 : 1;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) sigma[i * k + j] = (1 - delta) * S[i * k + j] + (i == j ? delta * mu : 0);
    free(S);
    return delta;
}

typedef struct {
    int k, ret;
    const double *mu, *sig, *u;
    double lam, scale;
} objfn;

/* J(w) = (w'mu / sqrt(w' Sigma w)) / scale - lam |w - u|^2 (Sharpe or
 * Sortino), or w'mu / scale - lam |w - u|^2 (return); gradient into g. */
static double obj_eval(const objfn *F, const double *w, double *g)
{
    int k = F->k;
    double a = 0, pen = 0;
    for (int i = 0; i < k; i++) {
        a += w[i] * F->mu[i];
        pen += (w[i] - F->u[i]) * (w[i] - F->u[i]);
    }
    if (F->ret) {
        for (int i = 0; i < k; i++) g[i] = F->mu[i] / F->scale - 2 * F->lam * (w[i] - F->u[i]);
        return a / F->scale - F->lam * pen;
    }
    double q = 0, sw[64];
    for (int i = 0; i < k; i++) {
        sw[i] = 0;
        for (int j = 0; j < k; j++) sw[i] += F->sig[i * k + j] * w[j];
        q += w[i] * sw[i];
    }
    double b = sqrt(q);
    for (int i = 0; i < k; i++)
        g[i] = (F->mu[i] / b - a * sw[i] / (b * b * b)) / F->scale - 2 * F->lam * (w[i] - F->u[i]);
    return a / b / F->scale - F->lam * pen;
}

/* Projected gradient ascent on the simplex with a step that doubles after a
 * gain and halves after a loss; stops when the gain or the step vanishes. */
static void ascend(const objfn *F, double *w)
{
    int k = F->k;
    double g[64], wn[64], gn[64], step = 0.5;
    double J = obj_eval(F, w, g);
    for (int it = 0; it < 20000; it++) {
        for (int i = 0; i < k; i++) wn[i] = w[i] + step * g[i];
        ens_simplex_project(wn, k);
        double Jn = obj_eval(F, wn, gn);
        if (Jn > J) {
            double gain = Jn - J;
            memcpy(w, wn, (size_t)k * sizeof *w);
            memcpy(g, gn, (size_t)k * sizeof *g);
            J = Jn;
            if (step < 1e3) step *= 2;
            if (gain < 1e-14) break;
        } else {
            step *= 0.5;
            if (step < 1e-14) break;
        }
    }
}

double ens_weights(const double *X, long m, int S, const ens_opts *o, double *w)
{
    memset(w, 0, (size_t)S * sizeof *w);
    if (m < 2) return NAN;
    ASSERT(S <= 64);
    double mu_all[64];
    int E[64], k = 0;
    for (int s = 0; s < S; s++) {
        double sum = 0;
        for (long t = 0; t < m; t++) sum += X[t * S + s];
        mu_all[s] = sum / m;
        if (mu_all[s] > 0) E[k++] = s;
    }
    if (k == 0) return NAN;
    if (k == 1) {
        w[E[0]] = 1;
        return NAN;
    }
    double mu[64], u[64], we[64];
    for (int i = 0; i < k; i++) {
        mu[i] = mu_all[E[i]];
        u[i] = 1.0 / k;
    }
    objfn F = {.k = k, .ret = o->objective == ENS_RETURN, .mu = mu, .u = u, .lam = o->penalty};
    double delta = NAN, *sig = NULL;
    if (!F.ret) {
        double *Y = xmalloc((size_t)m * k * sizeof *Y);
        for (long t = 0; t < m; t++)
            for (int i = 0; i < k; i++) {
                double x = X[t * S + E[i]];
                Y[t * k + i] = o->objective == ENS_SHARPE ? x - mu[i] : (x < 0 ? x : 0);
            }
        sig = xmalloc((size_t)k * k * sizeof *sig);
        delta = ens_ledoit_wolf(Y, m, k, sig);
        free(Y);
        double best = 0;
        for (int i = 0; i < k; i++)
            if (sig[i * k + i] > 0 && mu[i] / sqrt(sig[i * k + i]) > best) best = mu[i] / sqrt(sig[i * k + i]);
        /* No risk to divide by (a Sortino fit where nothing ever lost):
         * fall back to the return objective. */
        if (!(best > 0)) F.ret = 1, delta = NAN;
        F.sig = sig;
        F.scale = best;
    }
    /* Start: the unconstrained tangency direction Sigma^-1 mu (Cholesky,
     * LAPACKE_dposv) clipped at 0 and normalised, else equal weights. */
    for (int i = 0; i < k; i++) we[i] = u[i];
    if (!F.ret) {
        double A[64 * 64], z[64];
        memcpy(A, sig, (size_t)k * k * sizeof *A);
        memcpy(z, mu, (size_t)k * sizeof *z);
        if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', k, 1, A, k, z, 1) == 0) {
            double sum = 0;
            for (int i = 0; i < k; i++) sum += z[i] > 0 && isfinite(z[i]) ? z[i] : 0;
            if (sum > 0)
                for (int i = 0; i < k; i++) we[i] = z[i] > 0 && isfinite(z[i]) ? z[i] / sum : 0;
        }
    } else {
        double best = 0;
        for (int i = 0; i < k; i++)
            if (mu[i] > best) best = mu[i];
        F.scale = best;
    }
    ascend(&F, we);
    double sum = 0;
    for (int i = 0; i < k; i++) sum += we[i];
    for (int i = 0; i < k; i++) w[E[i]] = we[i] / sum;
    free(sig);
    return delta;
}

/* ---- the fit on a set of bars ---- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The most common spacing of consecutive bars of idx (the smallest on a tie). */
static double bar_interval(const ens_data *d, const long *idx, long m)
{
    if (m < 2) return 0;
    int64_t *df = xmalloc((size_t)(m - 1) * sizeof *df);
    for (long i = 1; i < m; i++) df[i - 1] = d->time[idx[i]] - d->time[idx[i - 1]];
    qsort(df, (size_t)(m - 1), sizeof *df, cmp_i64);
    int64_t best = df[0];
    long bestn = 0;
    for (long i = 0; i < m - 1;) {
        long j = i;
        while (j < m - 1 && df[j] == df[i]) j++;
        if (j - i > bestn) bestn = j - i, best = df[i];
        i = j;
    }
    free(df);
    return (double)best;
}

static double raw_combined(const ens_data *d, const double *w, long t)
{
    double c = 0;
    for (int s = 0; s < d->S; s++) c += w[s] * d->sig[t * d->S + s];
    return c > 1 ? 1 : c < -1 ? -1 : c;
}

static double score(const double *R, long m, enum ens_objective ob)
{
    if (m < 2) return 0;
    double sum = 0, var = 0, down = 0;
    for (long i = 0; i < m; i++) sum += R[i];
    double mean = sum / m;
    if (ob == ENS_RETURN) return mean;
    for (long i = 0; i < m; i++) {
        var += (R[i] - mean) * (R[i] - mean);
        if (R[i] < 0) down += R[i] * R[i];
    }
    double den = ob == ENS_SHARPE ? sqrt(var / (m - 1)) : sqrt(down / m);
    return den > 0 ? mean / den : 0;
}

/* --joint: every regime's weights together, on the combination's own
 * after-fee return over the fitted bars in time order, so the fees paid when
 * the regime label changes count. The fee term |c_t - c_{t-1}| is smoothed as
 * sqrt(D^2 + eps^2) - eps (eps = 1e-4 of a position) to have a gradient. Only
 * the rows of regimes with two or more earners move (fallback rows, the global
 * row and rows with one or no earner stay as fitted); each moves on the simplex
 * of its earners, pulled toward their equal weights as in ens_weights. */
typedef struct {
    const ens_data *d;
    const long *idx;
    long m;
    const ens_opts *o;
    const unsigned char *elig; /* nreg x S */
    const unsigned char *movable; /* nreg */
    const double *U;           /* nreg x S equal weights over the earners */
    double scale;
    double *R, *g;             /* m each: returns, d|fee term|/dD */
} joint_fn;

static double joint_eval(const joint_fn *F, const double *W, double *grad)
{
    const ens_data *d = F->d;
    int S = d->S, nreg = d->nreg;
    const double eps = 1e-4, fee = d->fee;
    long m = F->m;
    double prev = 0, sum = 0;
    for (long i = 0; i < m; i++) {
        long t = F->idx[i];
        const double *w = W + (size_t)d->regime[t] * S, *sg = d->sig + t * S;
        double c = 0;
        for (int s = 0; s < S; s++) c += w[s] * sg[s];
        double D = c - prev, sm = sqrt(D * D + eps * eps);
        F->R[i] = c * d->logret[t] - fee * (sm - eps);
        F->g[i] = D / sm;
        prev = c;
        sum += F->R[i];
    }
    double mean = sum / m, var = 0, down = 0;
    for (long i = 0; i < m; i++) {
        var += (F->R[i] - mean) * (F->R[i] - mean);
        if (F->R[i] < 0) down += F->R[i] * F->R[i];
    }
    double sd = sqrt(var / (m - 1)), dd = sqrt(down / m), val;
    enum ens_objective ob = F->o->objective;
    if (ob == ENS_RETURN) val = mean;
    else if (ob == ENS_SHARPE) val = sd > 0 ? mean / sd : 0;
    else val = dd > 0 ? mean / dd : 0;
    double pen = 0, lam = F->o->penalty;
    for (int r = 0; r < nreg; r++)
        if (F->movable[r])
            for (int s = 0; s < S; s++) pen += (W[r * S + s] - F->U[r * S + s]) * (W[r * S + s] - F->U[r * S + s]);
    if (grad) {
        memset(grad, 0, sizeof(double) * (size_t)(nreg + 1) * S);
        for (long i = 0; i < m; i++) {
            double a; /* d objective / d R_i, scaled */
            if (ob == ENS_RETURN) a = 1.0 / m;
            else if (ob == ENS_SHARPE) a = sd > 0 ? 1 / (m * sd) - mean * (F->R[i] - mean) / ((m - 1) * sd * sd * sd) : 0;
            else a = dd > 0 ? 1 / (m * dd) - mean * (F->R[i] < 0 ? F->R[i] : 0) / (m * dd * dd * dd) : 0;
            a /= F->scale;
            long t = F->idx[i];
            const double *sg = d->sig + t * S;
            double *gr = grad + (size_t)d->regime[t] * S;
            for (int s = 0; s < S; s++) gr[s] += a * sg[s] * (d->logret[t] - fee * F->g[i]);
            if (i > 0) {
                long tp = F->idx[i - 1];
                const double *sp = d->sig + tp * S;
                double *gp = grad + (size_t)d->regime[tp] * S;
                for (int s = 0; s < S; s++) gp[s] += a * fee * F->g[i] * sp[s];
            }
        }
        for (int r = 0; r < nreg; r++)
            for (int s = 0; s < S; s++)
                grad[r * S + s] = F->movable[r] && F->elig[r * S + s]
                                      ? grad[r * S + s] - 2 * lam * (W[r * S + s] - F->U[r * S + s])
                                      : 0;
    }
    return val / F->scale - lam * pen;
}

/* Project each movable row onto the simplex of its earners. */
static void joint_project(const joint_fn *F, double *W)
{
    int S = F->d->S;
    for (int r = 0; r < F->d->nreg; r++) {
        if (!F->movable[r]) continue;
        double v[64];
        int e[64], k = 0;
        for (int s = 0; s < S; s++)
            if (F->elig[r * S + s]) e[k] = s, v[k++] = W[r * S + s];
        ens_simplex_project(v, k);
        for (int s = 0; s < S; s++) W[r * S + s] = 0;
        for (int i = 0; i < k; i++) W[r * S + e[i]] = v[i];
    }
}

static void joint_refine(const ens_data *d, const long *idx, long m, const ens_opts *o, ens_fit *f)
{
    int S = d->S, nreg = d->nreg;
    size_t NW = (size_t)(nreg + 1) * S;
    unsigned char *elig = xcalloc(NW, 1), *movable = xcalloc((size_t)nreg + 1, 1);
    double *U = xcalloc(NW, sizeof *U), *sum = xcalloc(NW, sizeof *sum), *sq = xcalloc(NW, sizeof *sq);
    long *cnt = xcalloc((size_t)nreg + 1, sizeof *cnt);
    for (long i = 0; i < m; i++) {
        long t = idx[i];
        int r = d->regime[t];
        cnt[r]++;
        for (int s = 0; s < S; s++) {
            double x = d->ret[t * S + s];
            sum[r * S + s] += x;
            sq[r * S + s] += o->objective == ENS_SORTINO ? (x < 0 ? x * x : 0) : x * x;
        }
    }
    double scale = 0;
    int any = 0;
    for (int r = 0; r < nreg; r++) {
        if (f->fallback[r] || cnt[r] < 2) continue;
        int k = 0;
        for (int s = 0; s < S; s++) {
            double mu = sum[r * S + s] / cnt[r];
            if (!(mu > 0)) continue;
            elig[r * S + s] = 1;
            k++;
            double den = o->objective == ENS_RETURN ? 1
                         : o->objective == ENS_SHARPE ? sqrt(fmax(sq[r * S + s] / cnt[r] - mu * mu, 0))
                                                      : sqrt(sq[r * S + s] / cnt[r]);
            if (den > 0 && mu / den > scale) scale = mu / den;
        }
        if (k >= 2) {
            movable[r] = 1, any = 1;
            for (int s = 0; s < S; s++) U[r * S + s] = elig[r * S + s] ? 1.0 / k : 0;
        }
    }
    if (any && m >= 3 && scale > 0) {
        joint_fn F = {.d = d, .idx = idx, .m = m, .o = o, .elig = elig, .movable = movable, .U = U, .scale = scale};
        F.R = xmalloc((size_t)m * sizeof *F.R);
        F.g = xmalloc((size_t)m * sizeof *F.g);
        double *W = f->w, *g = xmalloc(NW * sizeof *g), *Wn = xmalloc(NW * sizeof *Wn), *gn = xmalloc(NW * sizeof *gn);
        double step = 0.5, J = joint_eval(&F, W, g);
        for (int it = 0; it < 5000; it++) {
            for (size_t i = 0; i < NW; i++) Wn[i] = W[i] + step * g[i];
            joint_project(&F, Wn);
            double Jn = joint_eval(&F, Wn, gn);
            if (Jn > J) {
                double gain = Jn - J;
                memcpy(W, Wn, NW * sizeof *W);
                memcpy(g, gn, NW * sizeof *g);
                J = Jn;
                if (step < 1e3) step *= 2;
                if (gain < 1e-14) break;
            } else {
                step *= 0.5;
                if (step < 1e-14) break;
            }
        }
        free(F.R);
        free(F.g);
        free(g);
        free(Wn);
        free(gn);
    }
    free(elig);
    free(movable);
    free(U);
    free(sum);
    free(sq);
    free(cnt);
}

void ens_fit_bars(const ens_data *d, const long *idx, long m, const ens_opts *o, ens_fit *f)
{
    int S = d->S, nreg = d->nreg;
    memset(f, 0, sizeof *f);
    f->w = xcalloc((size_t)(nreg + 1) * S, sizeof *f->w);
    f->fallback = xcalloc((size_t)nreg + 1, 1);
    f->count = xcalloc((size_t)nreg + 1, sizeof *f->count);
    f->shrink = xmalloc((size_t)(nreg + 1) * sizeof *f->shrink);
    f->bars = m;
    f->first = m ? d->time[idx[0]] : 0;
    f->last = m ? d->time[idx[m - 1]] : 0;
    f->interval = bar_interval(d, idx, m);
    double *X = xmalloc(((size_t)m + 1) * S * sizeof *X);
    for (long i = 0; i < m; i++) memcpy(X + i * S, d->ret + idx[i] * S, (size_t)S * sizeof *X);
    double *G = f->w + (size_t)nreg * S;
    f->count[nreg] = m;
    f->shrink[nreg] = ens_weights(X, m, S, o, G);
    for (int r = 0; r < nreg; r++) {
        long mr = 0;
        for (long i = 0; i < m; i++)
            if (d->regime[idx[i]] == r) memcpy(X + mr++ * S, d->ret + idx[i] * S, (size_t)S * sizeof *X);
        f->count[r] = mr;
        if (mr < o->min_samples) {
            f->fallback[r] = 1;
            memcpy(f->w + (size_t)r * S, G, (size_t)S * sizeof *G);
            f->shrink[r] = NAN;
        } else {
            f->shrink[r] = ens_weights(X, mr, S, o, f->w + (size_t)r * S);
        }
    }
    if (o->joint) joint_refine(d, idx, m, o, f);
    /* The entry threshold: the grid value whose thresholded combination
     * scores best over the same bars (the smallest on a tie). */
    double *R = X, best = -INFINITY;
    f->entry = 0;
    for (int g = 0; g < ens_entry_ngrid; g++) {
        double e = ens_entry_grid[g], prev = 0;
        for (long i = 0; i < m; i++) {
            long t = idx[i];
            double c = raw_combined(d, f->w + (size_t)d->regime[t] * S, t);
            if (fabs(c) < e) c = 0;
            R[i] = strategy_bar_return(c, prev, d->logret[t], d->fee);
            prev = c;
        }
        double sc = score(R, m, o->objective);
        if (sc > best) best = sc, f->entry = e;
    }
    free(X);
}

void ens_fit_free(ens_fit *f)
{
    free(f->w);
    free(f->fallback);
    free(f->count);
    free(f->shrink);
    memset(f, 0, sizeof *f);
}

double ens_combined(const ens_data *d, const ens_fit *f, long t)
{
    double c = raw_combined(d, f->w + (size_t)d->regime[t] * d->S, t);
    return fabs(c) < f->entry ? 0 : c;
}

/* ---- ensemble.json ---- */

static double ppy_of(double interval) { return interval > 0 ? 365.0 * 86400 / interval : NAN; }

static cJSON *stats_json(const ens_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    json_add_num(o, "bars", (double)s->bars);
    json_add_num(o, "mean", s->mean);
    json_add_num(o, "volatility", s->volatility);
    json_add_num(o, "sharpe", s->sharpe);
    json_add_num(o, "sortino", s->sortino);
    json_add_num(o, "hit_rate", s->hit_rate);
    json_add_num(o, "turnover", s->turnover);
    json_add_num(o, "max_drawdown", s->max_drawdown);
    return o;
}

static cJSON *weights_json(const ens_data *d, const double *w)
{
    cJSON *o = cJSON_CreateObject();
    for (int s = 0; s < d->S; s++) json_add_num(o, d->names[s], w[s]);
    return o;
}

static cJSON *names_json(char *const *names, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(names[i]));
    return a;
}

static void add_fit(cJSON *o, const ens_data *d, const ens_fit *f)
{
    cJSON *w = cJSON_AddObjectToObject(o, "weights");
    for (int r = 0; r < d->nreg; r++)
        cJSON_AddItemToObject(w, d->regimes[r], weights_json(d, f->w + (size_t)r * d->S));
    cJSON_AddItemToObject(o, "global", weights_json(d, f->w + (size_t)d->nreg * d->S));
    cJSON *fb = cJSON_AddArrayToObject(o, "fallback");
    for (int r = 0; r < d->nreg; r++)
        if (f->fallback[r]) cJSON_AddItemToArray(fb, cJSON_CreateString(d->regimes[r]));
}

/* Per regime (and "all") statistics of m bars idx with returns R and
 * position changes T, m x cols each (column c). */
static cJSON *regime_stats(const ens_data *d, const long *idx, long m, const double *R, const double *T, int cols,
                           int c, double ppy)
{
    cJSON *o = cJSON_CreateObject();
    double *r = xmalloc(((size_t)m + 1) * sizeof *r), *tt = xmalloc(((size_t)m + 1) * sizeof *tt);
    for (int g = 0; g <= d->nreg; g++) {
        long k = 0;
        for (long i = 0; i < m; i++)
            if (g == d->nreg || d->regime[idx[i]] == g) {
                r[k] = R[i * cols + c];
                tt[k++] = T[i * cols + c];
            }
        ens_stats st;
        ens_stats_of(r, tt, k, ppy, &st);
        cJSON_AddItemToObject(o, g == d->nreg ? "all" : d->regimes[g], stats_json(&st));
    }
    free(r);
    free(tt);
    return o;
}

/* {regime: {strategy: S}} from the strategies' own returns on bars idx. */
static cJSON *strategy_stats(const ens_data *d, const long *idx, long m, double ppy)
{
    int S = d->S;
    double *R = xmalloc(((size_t)m + 1) * S * sizeof *R), *T = xmalloc(((size_t)m + 1) * S * sizeof *T);
    for (long i = 0; i < m; i++) {
        memcpy(R + i * S, d->ret + idx[i] * S, (size_t)S * sizeof *R);
        memcpy(T + i * S, d->turn + idx[i] * S, (size_t)S * sizeof *T);
    }
    cJSON *per = cJSON_CreateArray(); /* one regime_stats per strategy, then regrouped */
    for (int s = 0; s < S; s++) cJSON_AddItemToArray(per, regime_stats(d, idx, m, R, T, S, s, ppy));
    cJSON *o = cJSON_CreateObject();
    for (int g = 0; g <= d->nreg; g++) {
        const char *rn = g == d->nreg ? "all" : d->regimes[g];
        cJSON *ro = cJSON_AddObjectToObject(o, rn);
        for (int s = 0; s < S; s++)
            cJSON_AddItemToObject(ro, d->names[s],
                                  cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(per, s), rn), 1));
    }
    cJSON_Delete(per);
    free(R);
    free(T);
    return o;
}

cJSON *ens_run(const ens_data *d, const ens_opts *o)
{
    static const char *objn[] = {"sharpe", "sortino", "return"};
    long n = d->n, m = 0;
    long *idx = xmalloc((size_t)n * sizeof *idx);
    for (long t = 0; t < n; t++)
        if (isfinite(d->logret[t])) idx[m++] = t; /* bars with a return */
    ens_fit f;
    ens_fit_bars(d, idx, m, o, &f);
    double ppy = ppy_of(f.interval);

    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "format", "kml-ensemble");
    json_add_num(doc, "version", 1);
    cJSON_AddItemToObject(doc, "strategies", names_json(d->names, d->S));
    cJSON_AddItemToObject(doc, "regimes", names_json(d->regimes, d->nreg));
    add_fit(doc, d, &f);
    cJSON_AddItemToObject(doc, "stats", strategy_stats(d, idx, m, ppy));
    /* The in-sample combination. */
    double *R = xmalloc((size_t)n * sizeof *R), *T = xmalloc((size_t)n * sizeof *T), prev = 0;
    for (long i = 0; i < m; i++) {
        long t = idx[i];
        double c = ens_combined(d, &f, t);
        R[i] = strategy_bar_return(c, prev, d->logret[t], d->fee);
        T[i] = fabs(c - prev);
        prev = c;
    }
    cJSON_AddItemToObject(doc, "ensemble_stats", regime_stats(d, idx, m, R, T, 1, 0, ppy));
    cJSON *sh = cJSON_AddObjectToObject(doc, "shrinkage");
    for (int g = 0; g <= d->nreg; g++) json_add_num(sh, g == d->nreg ? "all" : d->regimes[g], f.shrink[g]);
    cJSON *th = cJSON_AddObjectToObject(doc, "thresholds");
    json_add_num(th, "entry", f.entry);
    json_add_num(th, "min_confidence", o->min_confidence);
    cJSON *ad = cJSON_AddObjectToObject(doc, "adaptation");
    json_add_num(ad, "rate", o->adapt_rate);
    json_add_num(ad, "min", o->adapt_min);
    json_add_num(ad, "max", o->adapt_max);
    cJSON_AddStringToObject(doc, "objective", objn[o->objective]);
    json_add_num(doc, "penalty", o->penalty);
    cJSON_AddBoolToObject(doc, "joint", o->joint);
    json_add_num(doc, "min_samples", (double)o->min_samples);
    json_add_num(doc, "fee", d->fee);
    json_add_num(doc, "interval", f.interval);
    cJSON *da = cJSON_AddObjectToObject(doc, "data");
    if (o->pair) cJSON_AddStringToObject(da, "pair", o->pair);
    else cJSON_AddNullToObject(da, "pair");
    cJSON_AddStringToObject(da, "source", o->source ? o->source : "unknown");
    json_add_num(da, "first", (double)f.first);
    json_add_num(da, "last", (double)f.last);
    json_add_num(da, "bars", (double)f.bars);
    json_add_num(da, "breaks", (double)d->breaks);
    cJSON_AddStringToObject(da, "input", d->input ? d->input : "");
    cJSON_AddItemToObject(da, "predictions", names_json(d->pred_files, d->npred));

    if (o->walk_forward) {
        int64_t D = llround(o->train_days * 86400), St = llround(o->step_days * 86400);
        cJSON *wins = cJSON_AddArrayToObject(doc, "windows");
        long *fi = xmalloc((size_t)n * sizeof *fi), *oi = xmalloc((size_t)n * sizeof *oi), no = 0;
        double *oR = xmalloc((size_t)n * sizeof *oR), *oT = xmalloc((size_t)n * sizeof *oT);
        double *hR = xmalloc((size_t)n * sizeof *hR), *hT = xmalloc((size_t)n * sizeof *hT);
        double cprev = 0;
        long a = 0, b = 0;
        for (int64_t k = 0;; k++) {
            int64_t P = d->time[0] + D + k * St;
            if (P > d->time[n - 1]) break;
            while (b < n && d->time[b] < P) b++;
            if (b == n || d->time[b] >= P + St) continue;
            while (a < n && d->time[a] < P - D) a++;
            long nf = 0;
            for (long t = a; t + 1 < n && d->time[t + 1] < P; t++)
                if (isfinite(d->logret[t])) fi[nf++] = t;
            ens_fit fw;
            ens_fit_bars(d, fi, nf, o, &fw);
            cJSON *w = cJSON_CreateObject();
            json_add_num(w, "from", (double)P);
            json_add_num(w, "to", (double)(P + St));
            if (nf) {
                json_add_num(w, "fitted_first", (double)fw.first);
                json_add_num(w, "fitted_last", (double)fw.last);
            } else {
                cJSON_AddNullToObject(w, "fitted_first");
                cJSON_AddNullToObject(w, "fitted_last");
            }
            json_add_num(w, "bars", (double)nf);
            add_fit(w, d, &fw);
            json_add_num(w, "entry", fw.entry);
            cJSON_AddItemToArray(wins, w);
            for (long t = b; t < n && d->time[t] < P + St; t++) {
                if (!isfinite(d->logret[t])) continue; /* the last bar */
                double c = ens_combined(d, &fw, t);
                oR[no] = strategy_bar_return(c, cprev, d->logret[t], d->fee);
                oT[no] = fabs(c - cprev);
                hR[no] = strategy_bar_return(1, no ? 1 : 0, d->logret[t], d->fee);
                hT[no] = no ? 0 : 1;
                cprev = c;
                oi[no++] = t;
            }
            ens_fit_free(&fw);
        }
        cJSON *oos = cJSON_AddObjectToObject(doc, "oos");
        json_add_num(oos, "bars", (double)no);
        cJSON_AddItemToObject(oos, "strategies", strategy_stats(d, oi, no, ppy));
        cJSON_AddItemToObject(oos, "ensemble", regime_stats(d, oi, no, oR, oT, 1, 0, ppy));
        cJSON_AddItemToObject(oos, "hold", regime_stats(d, oi, no, hR, hT, 1, 0, ppy));
        free(fi);
        free(oi);
        free(oR);
        free(oT);
        free(hR);
        free(hT);
    }
    free(R);
    free(T);
    free(idx);
    ens_fit_free(&f);
    return doc;
}
