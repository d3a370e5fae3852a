/* test_hmm.c: the Gaussian HMM of lib/hmm.c against brute force on tiny
 * problems, and parameter recovery from data sampled from a known model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hmm.h"
#include "t.h"

static double normal_logpdf(double x, double mu, double var)
{
    return -0.5 * (log(2 * M_PI * var) + (x - mu) * (x - mu) / var);
}

/* K=2, D=1 model used by the brute-force tests. */
static hmm_t *tiny_model(void)
{
    hmm_t *m = hmm_new(2, 1, 0);
    m->start[0] = 0.6; m->start[1] = 0.4;
    m->trans[0] = 0.8; m->trans[1] = 0.2; m->trans[2] = 0.3; m->trans[3] = 0.7;
    m->mean[0] = 0; m->mean[1] = 2;
    m->var[0] = 1; m->var[1] = 0.5;
    CHECK(hmm_prepare(m) == 0);
    return m;
}

static const double tiny_x[6] = {0.1, 1.9, 2.5, -0.3, 0.4, 2.2};

/* log p(x, path) for the tiny model */
static double path_logp(const hmm_t *m, const double *x, int T, unsigned bits)
{
    double lp = 0;
    int prev = -1;
    for (int t = 0; t < T; t++) {
        int s = (bits >> t) & 1;
        lp += log(prev < 0 ? m->start[s] : m->trans[prev * 2 + s]);
        lp += normal_logpdf(x[t], m->mean[s], m->var[s]);
        prev = s;
    }
    return lp;
}

static void test_loglik_brute_force(void)
{
    hmm_t *m = tiny_model();
    int T = 6;
    double tot = 0;
    for (unsigned b = 0; b < (1u << T); b++) tot += exp(path_logp(m, tiny_x, T, b));
    CHECK_REL(hmm_loglik(m, tiny_x, T), log(tot), 1e-12);
    double gamma[12];
    CHECK_REL(hmm_posteriors(m, tiny_x, T, gamma), log(tot), 1e-12);
    /* smoothed posteriors against the path sums */
    for (int t = 0; t < T; t++) {
        double p1 = 0;
        for (unsigned b = 0; b < (1u << T); b++)
            if ((b >> t) & 1) p1 += exp(path_logp(m, tiny_x, T, b));
        CHECK_NEAR(gamma[t * 2 + 1], p1 / tot, 1e-12);
        CHECK_NEAR(gamma[t * 2] + gamma[t * 2 + 1], 1, 1e-12);
    }
    hmm_free(m);
}

static void test_filter_brute_force(void)
{
    /* filtered p(s_t | x_0..t) is the posterior of the last row of the prefix */
    hmm_t *m = tiny_model();
    hmm_filter f;
    hmm_filter_init(&f, m);
    for (int t = 0; t < 6; t++) {
        double p[2];
        int s = hmm_filter_step(&f, tiny_x + t, p);
        double tot = 0, p1 = 0;
        for (unsigned b = 0; b < (1u << (t + 1)); b++) {
            double v = exp(path_logp(m, tiny_x, t + 1, b));
            tot += v;
            if ((b >> t) & 1) p1 += v;
        }
        CHECK_NEAR(p[1], p1 / tot, 1e-12);
        CHECK_EQ_INT(s, p[1] > p[0] ? 1 : 0);
        CHECK_REL(f.loglik, log(tot), 1e-12);
    }
    hmm_filter_free(&f);
    hmm_free(m);
}

static void test_viterbi_brute_force(void)
{
    hmm_t *m = tiny_model();
    int T = 6, path[6];
    double lp = hmm_viterbi(m, tiny_x, T, path);
    double best = -INFINITY;
    unsigned bb = 0;
    for (unsigned b = 0; b < (1u << T); b++) {
        double v = path_logp(m, tiny_x, T, b);
        if (v > best) { best = v; bb = b; }
    }
    CHECK_NEAR(lp, best, 1e-10);
    for (int t = 0; t < T; t++) CHECK_EQ_INT(path[t], (int)((bb >> t) & 1));
    hmm_free(m);
}

/* The full-covariance density against the closed form of a 2-d Gaussian. */
static void test_full_density(void)
{
    hmm_t *m = hmm_new(1, 2, 1);
    m->start[0] = 1; m->trans[0] = 1;
    m->mean[0] = 1; m->mean[1] = -2;
    double a = 2, b = 0.6, c = 0.5; /* [[a b][b c]] */
    m->cov[0] = a; m->cov[1] = b; m->cov[2] = b; m->cov[3] = c;
    CHECK(hmm_prepare(m) == 0);
    double x[2] = {0.3, -1.1}, lb;
    hmm_log_emission_row(m, x, &lb);
    double det = a * c - b * b, dx = x[0] - 1, dy = x[1] + 2;
    double q = (c * dx * dx - 2 * b * dx * dy + a * dy * dy) / det;
    CHECK_NEAR(lb, -log(2 * M_PI) - 0.5 * log(det) - 0.5 * q, 1e-12);
    /* not positive definite: reported, not a NaN */
    m->cov[1] = m->cov[2] = 5;
    CHECK_EQ_INT(hmm_prepare(m), -1);
    hmm_free(m);
}

/* A row far from every reachable state: the scaled sum underflows and the
 * log-space step must take over, leaving finite numbers. */
static void test_underflow_fallback(void)
{
    hmm_t *m = hmm_new(2, 1, 0);
    m->start[0] = 1; m->start[1] = 0;
    m->trans[0] = 1; m->trans[1] = 0; m->trans[2] = 0; m->trans[3] = 1;
    m->mean[0] = 0; m->mean[1] = 100;
    m->var[0] = 1; m->var[1] = 1;
    CHECK(hmm_prepare(m) == 0);
    double x[3] = {0.5, 100.0, 99.0}, p[2];
    hmm_filter f;
    hmm_filter_init(&f, m);
    for (int t = 0; t < 3; t++) {
        hmm_filter_step(&f, x + t, p);
        CHECK_NEAR(p[0], 1, 0);
        CHECK_NEAR(p[1], 0, 0);
    }
    double want = normal_logpdf(0.5, 0, 1) + normal_logpdf(100, 0, 1) + normal_logpdf(99, 0, 1);
    CHECK_REL(f.loglik, want, 1e-12);
    double gamma[6];
    CHECK_REL(hmm_posteriors(m, x, 3, gamma), want, 1e-12);
    for (int i = 0; i < 6; i++) CHECK(isfinite(gamma[i]));
    hmm_filter_free(&f);
    hmm_free(m);
}

/* The generating model of the recovery tests: 3 states over 2 columns. */
static hmm_t *gen_model(int full)
{
    hmm_t *m = hmm_new(3, 2, full);
    static const double A[9] = {0.95, 0.03, 0.02, 0.04, 0.90, 0.06, 0.01, 0.02, 0.97};
    static const double mu[6] = {0.0, 1.0, 1.5, 2.0, -1.0, 3.0};
    static const double v[6] = {1.0, 0.25, 0.5, 0.5, 2.0, 1.0};
    memcpy(m->trans, A, sizeof A);
    memcpy(m->mean, mu, sizeof mu);
    m->start[0] = m->start[1] = m->start[2] = 1.0 / 3;
    for (int k = 0; k < 3; k++)
        for (int d = 0; d < 2; d++) {
            if (full) {
                m->cov[k * 4 + d * 3] = v[k * 2 + d];
                if (d == 0) { /* correlation 0.5 */
                    double cv = 0.5 * sqrt(v[k * 2] * v[k * 2 + 1]);
                    m->cov[k * 4 + 1] = m->cov[k * 4 + 2] = cv;
                }
            } else {
                m->var[k * 2 + d] = v[k * 2 + d];
            }
        }
    CHECK(hmm_prepare(m) == 0);
    return m;
}

/* fitted state matching the generating state k: nearest mean */
static int nearest(const hmm_t *fit, const hmm_t *gen, int k)
{
    int best = 0;
    double bd = INFINITY;
    for (int j = 0; j < fit->K; j++) {
        double d = 0;
        for (int i = 0; i < gen->D; i++) d += pow(fit->mean[j * gen->D + i] - gen->mean[k * gen->D + i], 2);
        if (d < bd) { bd = d; best = j; }
    }
    return best;
}

/* Tolerances: with T = 20000 each state has ~5000+ rows, so the standard
 * error of a mean is <= 0.02, of a variance <= 3 %, of a transition
 * probability <= 0.004; the checks allow about 3-4 standard errors. */
static void check_recovery(int full)
{
    long T = 20000;
    hmm_t *g = gen_model(full);
    double *x = malloc(sizeof(double) * T * 2);
    int *s = malloc(sizeof(int) * T);
    hmm_sample(g, T, 42, x, s);
    hmm_fit_opts o;
    hmm_fit_defaults(&o);
    o.K = 3;
    o.full = full;
    o.restarts = 6;
    o.seed = 7;
    hmm_fit_info info;
    hmm_t *f = hmm_fit(x, T, 2, &o, &info);
    CHECK(f != NULL);
    CHECK(info.converged);
    int map[3], used[3] = {0};
    for (int k = 0; k < 3; k++) {
        map[k] = nearest(f, g, k);
        CHECK(!used[map[k]]);
        used[map[k]] = 1;
    }
    for (int k = 0; k < 3; k++) {
        int j = map[k];
        for (int d = 0; d < 2; d++) {
            CHECK_NEAR(f->mean[j * 2 + d], g->mean[k * 2 + d], 0.06);
            if (full) {
                for (int e = 0; e < 2; e++)
                    CHECK_NEAR(f->cov[j * 4 + d * 2 + e], g->cov[k * 4 + d * 2 + e], 0.1 * g->cov[k * 4 + d * 3]);
            } else {
                CHECK_REL(f->var[j * 2 + d], g->var[k * 2 + d], 0.1);
            }
        }
        for (int l = 0; l < 3; l++) CHECK_NEAR(f->trans[j * 3 + map[l]], g->trans[k * 3 + l], 0.015);
    }
    /* the fit explains the data at least as well as the truth, and not absurdly better */
    double ll_true = hmm_loglik(g, x, T);
    CHECK(info.loglik >= ll_true - 1e-6 * fabs(ll_true));
    CHECK(info.loglik - ll_true < 50);
    /* filtered states of the fitted model agree with the true states */
    hmm_filter fl;
    hmm_filter_init(&fl, f);
    long ok = 0;
    for (long t = 0; t < T; t++) ok += hmm_filter_step(&fl, x + t * 2, NULL) == map[s[t]];
    hmm_filter_free(&fl);
    CHECK((double)ok / T > 0.9);
    free(x);
    free(s);
    hmm_free(f);
    hmm_free(g);
}

static void test_recovery_diag(void) { check_recovery(0); }
static void test_recovery_full(void) { check_recovery(1); }

/* Regimes that overlap row by row: two drifts of opposite sign under similar
 * noise, and a volatile state, on one standardised column. k-means on single
 * rows splits them by magnitude only, and EM from that partition stays in a
 * local optimum far below the truth (about 190 log-likelihood units here);
 * the starts from local window statistics must find the optimum that
 * Baum-Welch reaches from the generating parameters themselves. */
static void test_overlapping_regimes(void)
{
    long T = 6000;
    hmm_t *g = hmm_new(3, 1, 0);
    double mu[3] = {0.2, -0.2, 0.0}, sd[3] = {0.5, 0.8, 2.0};
    for (int k = 0; k < 3; k++) {
        g->start[k] = 1.0 / 3;
        for (int j = 0; j < 3; j++) g->trans[k * 3 + j] = k == j ? 0.98 : 0.01;
        g->mean[k] = mu[k];
        g->var[k] = sd[k] * sd[k];
    }
    CHECK(hmm_prepare(g) == 0);
    double *x = malloc(sizeof(double) * T);
    int *s = malloc(sizeof(int) * T);
    hmm_sample(g, T, 2, x, s);
    hmm_t *e = hmm_copy(g);
    int iters = -1, conv = -1;
    double ll_em = hmm_em(e, x, T, 500, 1e-4, 1e-3, &iters, &conv);
    CHECK(conv == 1 && iters >= 1 && iters < 500);
    CHECK(ll_em >= hmm_loglik(g, x, T)); /* EM from the truth only climbs */
    CHECK_NEAR(ll_em, hmm_loglik(e, x, T), 1e-6 * fabs(ll_em)); /* and returns the likelihood of what it leaves */
    hmm_fit_opts o;
    hmm_fit_defaults(&o);
    o.K = 3;
    o.restarts = 4;
    hmm_fit_info info;
    hmm_t *f = hmm_fit(x, T, 1, &o, &info);
    CHECK(info.loglik >= ll_em - 1.0);
    /* the three states, drifts included, are the generating ones */
    for (int k = 0; k < 3; k++) {
        int j = 0;
        for (int i = 1; i < 3; i++)
            if (fabs(f->mean[i] - mu[k]) + fabs(sqrt(f->var[i]) - sd[k]) <
                fabs(f->mean[j] - mu[k]) + fabs(sqrt(f->var[j]) - sd[k]))
                j = i;
        CHECK_NEAR(f->mean[j], mu[k], 0.05);
        CHECK_REL(sqrt(f->var[j]), sd[k], 0.08);
        CHECK_NEAR(f->trans[j * 3 + j], 0.98, 0.015);
    }
    hmm_free(f);
    /* the starts from single rows alone (restarts 1: only the full k-means
     * start) miss it: what the test would catch if the window starts went */
    o.restarts = 1;
    f = hmm_fit(x, T, 1, &o, &info);
    CHECK(info.loglik < ll_em - 50);
    hmm_free(f);
    hmm_free(e);
    hmm_free(g);
    free(x);
    free(s);
}

/* Same seed, same model, whatever the number of threads. */
static void test_deterministic_threads(void)
{
    long T = 3000;
    hmm_t *g = gen_model(0);
    double *x = malloc(sizeof(double) * T * 2);
    int *s = malloc(sizeof(int) * T);
    hmm_sample(g, T, 3, x, s);
    hmm_fit_opts o;
    hmm_fit_defaults(&o);
    o.K = 3;
    o.restarts = 5;
    o.seed = 11;
    o.threads = 1;
    hmm_t *a = hmm_fit(x, T, 2, &o, NULL);
    o.threads = 3;
    hmm_t *b = hmm_fit(x, T, 2, &o, NULL);
    CHECK(!memcmp(a->mean, b->mean, sizeof(double) * 6));
    CHECK(!memcmp(a->var, b->var, sizeof(double) * 6));
    CHECK(!memcmp(a->trans, b->trans, sizeof(double) * 9));
    o.seed = 12; /* another seed starts elsewhere (k-means++ draws differ) */
    o.max_iter = 1;
    o.restarts = 1;
    hmm_t *c = hmm_fit(x, T, 2, &o, NULL);
    o.seed = 11;
    hmm_t *d = hmm_fit(x, T, 2, &o, NULL);
    CHECK(memcmp(c->mean, d->mean, sizeof(double) * 6) != 0);
    hmm_free(a); hmm_free(b); hmm_free(c); hmm_free(d); hmm_free(g);
    free(x);
    free(s);
}

/* Baum-Welch never lowers the likelihood (up to the start_prob update, a
 * term of one row): the likelihood after i iterations is non-decreasing. */
static void test_em_monotone(void)
{
    long T = 4000;
    hmm_t *g = gen_model(1);
    double *x = malloc(sizeof(double) * T * 2);
    int *s = malloc(sizeof(int) * T);
    hmm_sample(g, T, 5, x, s);
    hmm_fit_opts o;
    hmm_fit_defaults(&o);
    o.K = 3;
    o.full = 1;
    o.restarts = 1;
    o.tol = -1; /* never stop early */
    double prev = -INFINITY;
    for (int it = 1; it <= 12; it++) {
        o.max_iter = it;
        hmm_fit_info info;
        hmm_t *f = hmm_fit(x, T, 2, &o, &info);
        CHECK(info.loglik >= prev - 1e-3);
        prev = info.loglik;
        hmm_free(f);
    }
    free(x);
    free(s);
    hmm_free(g);
}

/* 100k rows of 4 columns with a few wild outliers: finite likelihood and
 * parameters, posteriors summing to one. */
static void test_stable_100k(void)
{
    long T = 100000;
    int K = 4, D = 4;
    hmm_t *g = hmm_new(K, D, 0);
    for (int k = 0; k < K; k++) {
        g->start[k] = 1.0 / K;
        for (int j = 0; j < K; j++) g->trans[k * K + j] = k == j ? 0.97 : 0.01;
        for (int d = 0; d < D; d++) {
            g->mean[k * D + d] = (k == d) ? 1.5 : 0;
            g->var[k * D + d] = 0.3 + 0.2 * k;
        }
    }
    CHECK(hmm_prepare(g) == 0);
    double *x = malloc(sizeof(double) * T * D);
    int *s = malloc(sizeof(int) * T);
    hmm_sample(g, T, 9, x, s);
    x[1000 * D] = 1e6;
    x[50000 * D + 2] = -1e8;
    hmm_fit_opts o;
    hmm_fit_defaults(&o);
    o.K = K;
    o.restarts = 2;
    o.threads = 2;
    hmm_fit_info info;
    hmm_t *f = hmm_fit(x, T, D, &o, &info);
    CHECK(f != NULL && isfinite(info.loglik));
    for (int i = 0; i < K * D; i++) CHECK(isfinite(f->mean[i]) && f->var[i] > 0 && isfinite(f->var[i]));
    double *gm = malloc(sizeof(double) * T * K);
    CHECK(isfinite(hmm_posteriors(f, x, T, gm)));
    long bad = 0;
    for (long t = 0; t < T; t++) {
        double z = 0;
        for (int k = 0; k < K; k++) z += gm[t * K + k];
        bad += !(fabs(z - 1) < 1e-9);
    }
    CHECK_EQ_INT(bad, 0);
    free(gm);
    free(x);
    free(s);
    hmm_free(f);
    hmm_free(g);
}

/* Permuting states permutes every parameter consistently: same likelihood. */
static void test_permute(void)
{
    hmm_t *g = gen_model(1);
    double x[40];
    int s[20];
    hmm_sample(g, 20, 1, x, s);
    double ll = hmm_loglik(g, x, 20);
    int perm[3] = {2, 0, 1};
    hmm_t *p = hmm_copy(g);
    hmm_permute(p, perm);
    CHECK_REL(hmm_loglik(p, x, 20), ll, 1e-12);
    CHECK_NEAR(p->mean[0], g->mean[4], 0);
    CHECK_NEAR(p->trans[0 * 3 + 1], g->trans[2 * 3 + 0], 0);
    hmm_free(p);
    hmm_free(g);
    CHECK_EQ_INT(hmm_nparams(4, 2, 0), 3 + 12 + 8 + 8);
    CHECK_EQ_INT(hmm_nparams(2, 3, 1), 1 + 2 + 6 + 12);
}

int main(void)
{
    t_run("hmm: forward log-likelihood and posteriors equal the sums over all paths", test_loglik_brute_force);
    t_run("hmm: filtered probabilities equal the brute-force p(state | rows so far)", test_filter_brute_force);
    t_run("hmm: viterbi finds the most likely path", test_viterbi_brute_force);
    t_run("hmm: full-covariance density matches the closed form; non-PD reported", test_full_density);
    t_run("hmm: a row unreachable by the scaled recursion is handled in log space", test_underflow_fallback);
    t_run("hmm: diagonal fit recovers means, variances and transitions", test_recovery_diag);
    t_run("hmm: full-covariance fit recovers means, covariances and transitions", test_recovery_full);
    t_run("hmm: fit finds persistent regimes that overlap row by row (the optimum EM reaches from the truth)", test_overlapping_regimes);
    t_run("hmm: fit is deterministic for a seed and independent of threads", test_deterministic_threads);
    t_run("hmm: Baum-Welch likelihood does not decrease", test_em_monotone);
    t_run("hmm: stable on 100k rows with outliers", test_stable_100k);
    t_run("hmm: permuting states keeps the likelihood", test_permute);
    return t_done();
}
