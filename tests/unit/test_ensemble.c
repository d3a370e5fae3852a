/* test_ensemble.c: lib/strategy/ensemble.c: statistics by hand, the simplex
 * projection (its optimality conditions), Ledoit-Wolf against a separate
 * implementation of the formula, the weights (losers get 0, symmetry gives
 * equal weights, no penalty gives the shrunk tangency portfolio, a large
 * penalty equal weights), the fallback of thin regimes, a planted edge per
 * regime, and walk-forward windows unchanged by truncating the data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "rng.h"
#include "strategy/ensemble.h"
#include "strategy/strategy.h"
#include "t.h"
#include "util.h"

static void test_stats(void)
{
    double R[4] = {0.01, -0.02, 0.03, 0}, T[4] = {1, 0.5, 0, 0};
    ens_stats s;
    ens_stats_of(R, T, 4, 4, &s);
    double mean = 0.005, var = ((0.005 * 0.005) + (0.025 * 0.025) + (0.025 * 0.025) + (0.005 * 0.005)) / 3;
    CHECK_EQ_INT(s.bars, 4);
    CHECK_NEAR(s.mean, mean * 4, 1e-15);
    CHECK_NEAR(s.volatility, sqrt(var) * 2, 1e-15);
    CHECK_NEAR(s.sharpe, mean / sqrt(var) * 2, 1e-12);
    CHECK_NEAR(s.sortino, mean / sqrt(0.0004 / 4) * 2, 1e-12);
    CHECK_NEAR(s.hit_rate, 2.0 / 3, 1e-15);
    CHECK_NEAR(s.turnover, 0.375, 1e-15);
    CHECK_NEAR(s.max_drawdown, 1 - exp(-0.02), 1e-15);
    ens_stats_of(R, NULL, 0, 4, &s);
    CHECK_EQ_INT(s.bars, 0);
    CHECK(isnan(s.sharpe) && isnan(s.mean));
    double Z[3] = {0, 0, 0};
    ens_stats_of(Z, NULL, 3, 1, &s);
    CHECK(isnan(s.sharpe) && isnan(s.hit_rate) && isnan(s.turnover));
    CHECK_NEAR(s.max_drawdown, 0, 0);
}

static void test_simplex(void)
{
    double a[2] = {2, 0};
    ens_simplex_project(a, 2);
    CHECK_NEAR(a[0], 1, 0);
    CHECK_NEAR(a[1], 0, 0);
    double b[3] = {0.2, 0.3, 0.5};
    ens_simplex_project(b, 3);
    CHECK_NEAR(b[0], 0.2, 1e-15);
    CHECK_NEAR(b[2], 0.5, 1e-15);
    rng_t r;
    rng_seed(&r, 3);
    for (int it = 0; it < 2000; it++) {
        int k = 1 + (int)rng_below(&r, 9);
        double v[10], w[10];
        for (int i = 0; i < k; i++) v[i] = w[i] = rng_normal(&r) * 2;
        ens_simplex_project(w, k);
        /* on the simplex, and optimal: w = max(v - theta, 0) for one theta */
        double sum = 0, theta = NAN;
        for (int i = 0; i < k; i++) {
            CHECK(w[i] >= 0);
            sum += w[i];
            if (w[i] > 0) theta = v[i] - w[i];
        }
        CHECK_NEAR(sum, 1, 1e-12);
        for (int i = 0; i < k; i++) {
            if (w[i] > 0) CHECK_NEAR(v[i] - w[i], theta, 1e-12);
            else CHECK(v[i] <= theta + 1e-12);
        }
    }
}

/* Ledoit-Wolf written again from the paper's lemmas: sample second moments
 * S, m = <S, I>, d^2 = |S - m I|^2, b^2 = min(d^2, mean_t |x x' - S|^2 / m)
 * with the normalised Frobenius norm <A, B> = tr(A B') / k. */
static double lw_ref(const double *X, long n, int k, double *out)
{
    double S[16] = {0};
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double s = 0;
            for (long t = 0; t < n; t++) s += X[t * k + i] * X[t * k + j];
            S[i * k + j] = s / n;
        }
    double m = 0;
    for (int i = 0; i < k; i++) m += S[i * k + i] / k;
    double d2 = 0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) d2 += pow(S[i * k + j] - (i == j) * m, 2) / k;
    double bb = 0;
    for (long t = 0; t < n; t++) {
        double f = 0;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) f += pow(X[t * k + i] * X[t * k + j] - S[i * k + j], 2) / k;
        bb += f / n;
    }
    double b2 = fmin(bb / n, d2);
    double delta = b2 / d2;
    for (int i = 0; i < k * k; i++) out[i] = delta * m * (i % (k + 1) == 0) + (1 - delta) * S[i];
    return delta;
}

static void test_ledoit_wolf(void)
{
    rng_t r;
    rng_seed(&r, 11);
    for (int trial = 0; trial < 20; trial++) {
        int k = 2 + trial % 3;
        long n = 20 + 40 * trial;
        double *X = xmalloc((size_t)n * k * sizeof *X);
        for (long t = 0; t < n; t++) {
            double common = rng_normal(&r);
            for (int i = 0; i < k; i++) X[t * k + i] = (i + 1) * rng_normal(&r) + 0.5 * common;
        }
        double a[16], b[16];
        double da = ens_ledoit_wolf(X, n, k, a), db = lw_ref(X, n, k, b);
        CHECK_NEAR(da, db, 1e-12);
        CHECK(da >= 0 && da <= 1);
        double ta = 0, tb = 0;
        for (int i = 0; i < k; i++) {
            ta += a[i * k + i];
            tb += b[i * k + i];
        }
        CHECK_REL(ta, tb, 1e-12);
        for (int i = 0; i < k * k; i++) CHECK_NEAR(a[i], b[i], 1e-12 * fabs(tb));
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) CHECK_EQ_INT(a[i * k + j] == a[j * k + i], 1);
        free(X);
    }
    /* More data about the same unequal variances: less shrinkage. */
    double dsmall = 0, dlarge = 0;
    for (int pass = 0; pass < 2; pass++) {
        long n = pass ? 20000 : 30;
        double *X = xmalloc((size_t)n * 2 * sizeof *X), out[4];
        for (long t = 0; t < n; t++) {
            X[2 * t] = rng_normal(&r);
            X[2 * t + 1] = 2 * rng_normal(&r);
        }
        *(pass ? &dlarge : &dsmall) = ens_ledoit_wolf(X, n, 2, out);
        free(X);
    }
    CHECK(dlarge < dsmall);
    CHECK(dlarge < 0.01);
}

static ens_opts opts(enum ens_objective ob, double penalty)
{
    ens_opts o;
    ens_opts_defaults(&o);
    o.objective = ob;
    o.penalty = penalty;
    return o;
}

static void test_weights(void)
{
    rng_t r;
    rng_seed(&r, 5);
    long n = 4000;
    int S = 3;
    double *X = xmalloc((size_t)n * S * sizeof *X);
    /* A earns, B loses, C earns less and is independent */
    for (long t = 0; t < n; t++) {
        X[t * S + 0] = 0.002 + 0.01 * rng_normal(&r);
        X[t * S + 1] = -0.001 + 0.01 * rng_normal(&r);
        X[t * S + 2] = 0.0005 + 0.02 * rng_normal(&r);
    }
    double w[3];
    for (int ob = 0; ob < 3; ob++) {
        ens_opts o = opts((enum ens_objective)ob, 0.1);
        ens_weights(X, n, S, &o, w);
        CHECK_EQ_INT(w[1] == 0, 1); /* the loser gets nothing, whatever the objective */
        CHECK_NEAR(w[0] + w[1] + w[2], 1, 1e-12);
        CHECK(w[0] > w[2]);
    }
    /* No penalty, Sharpe: the shrunk tangency portfolio Sigma^-1 mu over the
     * two earners (both positive here), normalised. */
    ens_opts o = opts(ENS_SHARPE, 0);
    double delta = ens_weights(X, n, S, &o, w);
    double mu[2] = {0, 0}, *Y = xmalloc((size_t)n * 2 * sizeof *Y), sig[4];
    for (long t = 0; t < n; t++) mu[0] += X[t * S] / n, mu[1] += X[t * S + 2] / n;
    for (long t = 0; t < n; t++) Y[2 * t] = X[t * S] - mu[0], Y[2 * t + 1] = X[t * S + 2] - mu[1];
    CHECK_NEAR(delta, ens_ledoit_wolf(Y, n, 2, sig), 1e-15);
    double det = sig[0] * sig[3] - sig[1] * sig[2];
    double z0 = (sig[3] * mu[0] - sig[1] * mu[1]) / det, z1 = (-sig[2] * mu[0] + sig[0] * mu[1]) / det;
    CHECK(z0 > 0 && z1 > 0);
    CHECK_NEAR(w[0], z0 / (z0 + z1), 1e-6);
    CHECK_NEAR(w[2], z1 / (z0 + z1), 1e-6);
    /* A huge penalty: equal weights over the earners. */
    o = opts(ENS_SHARPE, 1e6);
    ens_weights(X, n, S, &o, w);
    CHECK_NEAR(w[0], 0.5, 1e-4);
    CHECK_NEAR(w[2], 0.5, 1e-4);
    /* Return, no penalty: all on the largest mean. */
    o = opts(ENS_RETURN, 0);
    ens_weights(X, n, S, &o, w);
    CHECK_NEAR(w[0], 1, 1e-12);
    /* Every strategy loses: all 0 (the ensemble stays flat). */
    for (long t = 0; t < n; t++) X[t * S + 0] -= 1, X[t * S + 2] -= 1;
    o = opts(ENS_SHARPE, 0.1);
    CHECK(isnan(ens_weights(X, n, S, &o, w)));
    CHECK(w[0] == 0 && w[1] == 0 && w[2] == 0);
    /* Three columns that are cyclic shifts of one series: exchangeable, so
     * equal weights. */
    double *base = xmalloc((size_t)n * sizeof *base);
    for (long t = 0; t < n; t++) base[t] = 0.001 + 0.01 * rng_normal(&r);
    for (long t = 0; t < n; t++)
        for (int s = 0; s < 3; s++) X[t * S + s] = base[(t + s * 1000) % n];
    ens_weights(X, n, S, &o, w);
    for (int s = 0; s < 3; s++) CHECK_NEAR(w[s], 1.0 / 3, 1e-6);
    free(base);
    free(X);
    free(Y);
}

/* An ens_data by hand: n bars, regimes in blocks of `block` bars cycling
 * through nreg regimes, a random walk with volatility 1 %, and strategies
 * given by fill(). */
typedef void (*fill_fn)(ens_data *d, rng_t *r);

static void make_data(ens_data *d, long n, int nreg, long block, int S, fill_fn fill, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    rng_t r;
    rng_seed(&r, seed);
    d->n = n;
    d->time = xmalloc((size_t)n * sizeof *d->time);
    d->close = xmalloc((size_t)n * sizeof *d->close);
    d->regime = xmalloc((size_t)n * sizeof *d->regime);
    d->sig = xcalloc((size_t)n * S, sizeof *d->sig);
    double c = 100;
    for (long t = 0; t < n; t++) {
        d->time[t] = 1600000000 + 3600 * t;
        d->close[t] = c;
        c *= exp(0.01 * rng_normal(&r));
        d->regime[t] = (int)((t / block) % nreg);
    }
    d->nreg = nreg;
    d->regimes = xmalloc((size_t)nreg * sizeof *d->regimes);
    for (int i = 0; i < nreg; i++) {
        char b[16];
        snprintf(b, sizeof b, "r%d", i);
        d->regimes[i] = xstrdup(b);
    }
    d->S = S;
    d->names = xmalloc((size_t)S * sizeof *d->names);
    for (int s = 0; s < S; s++) {
        char b[16];
        snprintf(b, sizeof b, "s%d", s);
        d->names[s] = xstrdup(b);
    }
    fill(d, &r);
    ens_compute_returns(d, 0.0026);
}

/* s0 knows the next move in r0 (right 80 % of the time: it earns after a
 * 0.26 % fee on a flip about every other bar), guesses in r1; s1
 * the other way round; s2 is always wrong 60 % of the time. */
static void fill_planted(ens_data *d, rng_t *r)
{
    for (long t = 0; t + 1 < d->n; t++) {
        double up = d->close[t + 1] > d->close[t] ? 1 : -1;
        for (int s = 0; s < 2; s++) {
            int knows = d->regime[t] == s;
            double u = rng_uniform(r);
            d->sig[t * d->S + s] = knows ? (u < 0.8 ? up : -up) : (u < 0.5 ? 1 : -1);
        }
        d->sig[t * d->S + 2] = rng_uniform(r) < 0.6 ? -up : up;
    }
}

static void test_planted(void)
{
    ens_data d;
    make_data(&d, 6000, 2, 250, 3, fill_planted, 9);
    ens_opts o;
    ens_opts_defaults(&o);
    long *idx = xmalloc((size_t)d.n * sizeof *idx);
    for (long t = 0; t < d.n - 1; t++) idx[t] = t;
    ens_fit f;
    ens_fit_bars(&d, idx, d.n - 1, &o, &f);
    const double *w0 = f.w, *w1 = f.w + d.S, *g = f.w + 2 * d.S;
    CHECK(w0[0] > 0.8);
    CHECK(w0[1] < 0.2);
    CHECK(w1[1] > 0.8);
    CHECK(w1[0] < 0.2);
    CHECK(w0[2] == 0 && w1[2] == 0 && g[2] == 0);
    CHECK(!f.fallback[0] && !f.fallback[1]);
    CHECK_EQ_INT(f.count[0] + f.count[1], f.count[2]);
    CHECK_NEAR(f.interval, 3600, 0);
    /* min_samples above a regime's bars: it takes the global weights */
    o.min_samples = f.count[1] + 1;
    ens_fit f2;
    ens_fit_bars(&d, idx, d.n - 1, &o, &f2);
    CHECK(!f2.fallback[0] && f2.fallback[1]);
    for (int s = 0; s < d.S; s++) CHECK_EQ_INT(f2.w[d.S + s] == f2.w[2 * d.S + s], 1);
    CHECK(isnan(f2.shrink[1]));
    /* the entry threshold is one of the grid's */
    int in = 0;
    for (int i = 0; i < ens_entry_ngrid; i++) in |= f.entry == ens_entry_grid[i];
    CHECK(in);
    ens_fit_free(&f);
    ens_fit_free(&f2);
    free(idx);
    ens_data_free(&d);
}

/* s0, s1 as fill_planted; s2 knows the next move everywhere (right 85 %):
 * two earners in each regime, regimes that change every 3 bars. */
static void fill_two_earners(ens_data *d, rng_t *r)
{
    fill_planted(d, r);
    for (long t = 0; t + 1 < d->n; t++) {
        double up = d->close[t + 1] > d->close[t] ? 1 : -1;
        d->sig[t * d->S + 2] = rng_uniform(r) < 0.85 ? up : -up;
    }
}

/* The combination's exact after-fee Sharpe (per bar) over bars idx. */
static double combined_sharpe(const ens_data *d, const double *W, const long *idx, long m)
{
    double *R = xmalloc((size_t)m * sizeof *R), prev = 0, sum = 0, var = 0;
    for (long i = 0; i < m; i++) {
        long t = idx[i];
        double c = 0;
        for (int s = 0; s < d->S; s++) c += W[d->regime[t] * d->S + s] * d->sig[t * d->S + s];
        R[i] = strategy_bar_return(c, prev, d->logret[t], d->fee);
        prev = c;
        sum += R[i];
    }
    for (long i = 0; i < m; i++) var += (R[i] - sum / m) * (R[i] - sum / m);
    free(R);
    return sum / m / sqrt(var / (m - 1));
}

static void test_joint(void)
{
    ens_data d;
    make_data(&d, 4000, 2, 3, 3, fill_two_earners, 17);
    long *idx = xmalloc((size_t)d.n * sizeof *idx);
    for (long t = 0; t < d.n - 1; t++) idx[t] = t;
    ens_opts o;
    ens_opts_defaults(&o);
    o.penalty = 0;
    o.min_samples = 100;
    ens_fit a, b;
    ens_fit_bars(&d, idx, d.n - 1, &o, &a);
    o.joint = 1;
    ens_fit_bars(&d, idx, d.n - 1, &o, &b);
    double sa = combined_sharpe(&d, a.w, idx, d.n - 1), sb = combined_sharpe(&d, b.w, idx, d.n - 1);
    /* it moved, and not for the worse (up to the smoothed fee's 1e-4) */
    double moved = 0;
    for (int i = 0; i < 2 * d.S; i++) moved += fabs(a.w[i] - b.w[i]);
    CHECK(moved > 1e-3);
    CHECK(sb >= sa - 1e-6);
    /* still on the simplex of each regime's earners; the loser s1 in r0 and s0 in r1 at 0 */
    for (int r = 0; r < 2; r++) {
        double sum = 0;
        for (int s = 0; s < d.S; s++) {
            CHECK(b.w[r * d.S + s] >= 0);
            sum += b.w[r * d.S + s];
        }
        CHECK_NEAR(sum, 1, 1e-12);
    }
    CHECK(b.w[0 * d.S + 1] == 0 && b.w[1 * d.S + 0] == 0);
    /* the global row is left as fitted */
    for (int s = 0; s < d.S; s++) CHECK_EQ_INT(a.w[2 * d.S + s] == b.w[2 * d.S + s], 1);
    ens_fit_free(&a);
    ens_fit_free(&b);
    free(idx);
    ens_data_free(&d);
}

/* A copy of the first m bars of d (signals and returns recomputed). */
static void truncate_copy(const ens_data *d, long m, ens_data *c)
{
    memset(c, 0, sizeof *c);
    c->n = m;
    c->time = xmalloc((size_t)m * sizeof *c->time);
    c->close = xmalloc((size_t)m * sizeof *c->close);
    c->regime = xmalloc((size_t)m * sizeof *c->regime);
    c->sig = xmalloc((size_t)m * d->S * sizeof *c->sig);
    memcpy(c->time, d->time, (size_t)m * sizeof *c->time);
    memcpy(c->close, d->close, (size_t)m * sizeof *c->close);
    memcpy(c->regime, d->regime, (size_t)m * sizeof *c->regime);
    memcpy(c->sig, d->sig, (size_t)m * d->S * sizeof *c->sig);
    c->nreg = d->nreg;
    c->regimes = xmalloc((size_t)d->nreg * sizeof *c->regimes);
    for (int i = 0; i < d->nreg; i++) c->regimes[i] = xstrdup(d->regimes[i]);
    c->S = d->S;
    c->names = xmalloc((size_t)d->S * sizeof *c->names);
    for (int s = 0; s < d->S; s++) c->names[s] = xstrdup(d->names[s]);
    ens_compute_returns(c, d->fee);
}

static void test_walk_forward_truncation(void)
{
    ens_data d;
    make_data(&d, 5000, 3, 137, 3, fill_planted, 21);
    ens_opts o;
    ens_opts_defaults(&o);
    o.walk_forward = 1;
    o.train_days = 60;
    o.step_days = 10;
    o.min_samples = 100;
    cJSON *full = ens_run(&d, &o);
    const cJSON *wf = cJSON_GetObjectItemCaseSensitive(full, "windows");
    CHECK(cJSON_GetArraySize(wf) >= 10);
    long cuts[3] = {2000, 3333, 4500};
    for (int c = 0; c < 3; c++) {
        ens_data dt;
        truncate_copy(&d, cuts[c], &dt);
        cJSON *part = ens_run(&dt, &o);
        const cJSON *wp = cJSON_GetObjectItemCaseSensitive(part, "windows");
        int same = 0;
        double tcut = (double)d.time[cuts[c] - 1];
        for (int i = 0; i < cJSON_GetArraySize(wp); i++) {
            const cJSON *a = cJSON_GetArrayItem(wp, i), *b = cJSON_GetArrayItem(wf, i);
            if (cJSON_GetObjectItemCaseSensitive(a, "to")->valuedouble > tcut) continue;
            char *sa = json_print(a, 0), *sb = json_print(b, 0);
            CHECK_EQ_STR(sa, sb);
            same++;
            /* the window's fit ends before it starts */
            CHECK(cJSON_GetObjectItemCaseSensitive(a, "fitted_last")->valuedouble <
                  cJSON_GetObjectItemCaseSensitive(a, "from")->valuedouble);
            free(sa);
            free(sb);
        }
        CHECK(same >= 2);
        cJSON_Delete(part);
        ens_data_free(&dt);
    }
    /* Each window's weights sum to 1 (or 0) in every regime. */
    const cJSON *w;
    cJSON_ArrayForEach(w, wf)
    {
        const cJSON *ws = cJSON_GetObjectItemCaseSensitive(w, "weights"), *rw;
        cJSON_ArrayForEach(rw, ws)
        {
            double sum = 0;
            const cJSON *x;
            cJSON_ArrayForEach(x, rw) sum += x->valuedouble;
            CHECK(fabs(sum - 1) < 1e-9 || sum == 0);
        }
    }
    cJSON_Delete(full);
    ens_data_free(&d);
}

int main(void)
{
    t_run("stats", test_stats);
    t_run("simplex projection", test_simplex);
    t_run("ledoit-wolf", test_ledoit_wolf);
    t_run("weights", test_weights);
    t_run("planted edge and fallback", test_planted);
    t_run("walk-forward truncation", test_walk_forward_truncation);
    t_run("joint refit", test_joint);
    return t_done();
}
