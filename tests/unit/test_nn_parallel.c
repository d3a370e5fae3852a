/* test_nn_parallel.c: lib/nn's data parallelism (lib/nn/parallel.c).
 *
 * A batch split over P threads, each part on its own replica, must give the
 * one-thread step's loss, gradients and updated parameters to float
 * tolerance (only the order of the batch's sums differs), for every
 * architecture, with class weights, clipping and weight decay, for batches
 * that do and do not split evenly or at all; two runs at the same thread
 * count must be bitwise identical, dropout included; the arenas of the model
 * and of its replicas must not move after the first step; predictions and the
 * evaluation loss must equal the one-thread ones; OpenBLAS's thread count must
 * be what it was after every call. Also: concurrent single-threaded products
 * from two of our threads give the serial results (OpenBLAS 0.3.21's pthread
 * build), and a forked child can use a model whose threads the parent started.
 * Small sizes (T=8, F=3, H=8) keep it fast under the sanitizers. */
#include "t.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nn/gemm.h"
#include "nn/nn.h"
#include "nn/nn_impl.h"
#include "rng.h"
#include "nn_toy.h"

#include <cblas.h> /* after lib/nn's headers: it brings complex.h's I */

static const char *archs[] = {"lstm", "gru", "tcn", "cnn", "transformer", "hybrid"};

enum { NMAX = 16, T = 8, F = 3 };
static float X[NMAX * T * F];
static int Y[NMAX];
static const float CW[3] = {0.7f, 1.6f, 1.0f};

static nn_config small(const char *arch, float dropout)
{
    nn_config c;
    nn_config_default(&c, arch);
    c.T = T, c.F = F, c.H = 8, c.heads = 2, c.ff = 16, c.levels = 2, c.dropout = dropout;
    return c;
}

/* AdamW with clipping and weight decay. eps 1e-3 instead of 1e-8: Adam's
 * first steps are lr g / (|g| + eps), which for a gradient of rounding noise
 * (the attention key bias, docs/models-nn.md) is +-lr whatever the noise; a
 * larger eps keeps the update continuous in g so that parameters can be
 * compared to float tolerance. */
static nn_adam_cfg adam(float clip)
{
    nn_adam_cfg o;
    nn_adam_default(&o);
    o.lr = 1e-2f, o.eps = 1e-3f, o.clip_norm = clip, o.weight_decay = 0.05f, o.decoupled = 1;
    return o;
}

static float max_abs(const float *a, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fabsf(a[i]) > m ? fabsf(a[i]) : m;
    return m;
}

/* The largest |a - b| over n floats. */
static double max_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

/* Two products from two threads at once, OpenBLAS at one thread (as lib/nn
 * runs it), against the same products done one after the other: bitwise
 * equal, sgemm and the one-row sgemv path both. */
typedef struct {
    const float *a, *b;
    float *c;
} prod_arg;
enum { PM = 48, PN = 96, PK = 40, PREP = 200 };

static void *products(void *p)
{
    prod_arg *q = p;
    for (int r = 0; r < PREP; r++) {
        int M = 1 + r % PM; /* every size from the one-row sgemv to the full sgemm */
        nn_sgemm(0, 1, M, PN, PK, 1, q->a, PK, q->b, PK, 0, q->c + (size_t)(r % 4) * PM * PN, PN);
    }
    return NULL;
}

static void test_openblas_concurrent(void)
{
    int saved = openblas_get_num_threads();
    openblas_set_num_threads(1);
    float *a[2], *b[2], *c[2], *ref[2];
    rng_t r;
    rng_seed(&r, 5);
    prod_arg q[2];
    const size_t nc = (size_t)4 * PM * PN;
    for (int t = 0; t < 2; t++) {
        a[t] = malloc(sizeof(float) * PM * PK), b[t] = malloc(sizeof(float) * PN * PK);
        c[t] = calloc(nc, sizeof(float)), ref[t] = calloc(nc, sizeof(float));
        for (int i = 0; i < PM * PK; i++) a[t][i] = (float)rng_normal(&r);
        for (int i = 0; i < PN * PK; i++) b[t][i] = (float)rng_normal(&r);
        q[t] = (prod_arg){a[t], b[t], ref[t]};
        products(&q[t]);
        q[t].c = c[t];
    }
    for (int it = 0; it < 10; it++) {
        pthread_t th;
        memset(c[0], 0, sizeof(float) * nc), memset(c[1], 0, sizeof(float) * nc);
        CHECK(pthread_create(&th, NULL, products, &q[1]) == 0);
        products(&q[0]);
        pthread_join(th, NULL);
        CHECK(!memcmp(c[0], ref[0], sizeof(float) * nc));
        CHECK(!memcmp(c[1], ref[1], sizeof(float) * nc));
    }
    for (int t = 0; t < 2; t++) free(a[t]), free(b[t]), free(c[t]), free(ref[t]);
    openblas_set_num_threads(saved);
}

/* `steps` training steps on the first B rows with `threads` threads (parts
 * of one row allowed); returns the model, the last loss in *loss. */
static nn_model *run_steps(const char *arch, float dropout, int threads, int B, int steps, float clip,
                           const float *cw, uint64_t seed, float *loss, rng_t *rng)
{
    nn_config c = small(arch, dropout);
    nn_model *m = nn_create(&c, 3);
    nn_set_threads(m, threads);
    m->par_min_rows = 1;
    nn_adam_cfg o = adam(clip);
    rng_seed(rng, seed);
    for (int s = 0; s < steps; s++) *loss = nn_train_step(m, X, Y, cw, B, &o, o.lr, rng);
    return m;
}

/* Loss, gradient (of the last step, after clipping) and parameters after
 * three steps: P threads against one, every architecture, with and without
 * class weights and clipping (0.05 is below every gradient norm here, so it
 * acts), at batches 16, 7 (4 + 3), 2 (1 + 1) and 1 (cannot split: the
 * one-thread path). With three threads, 7 is 3 + 2 + 2. */
static void test_step_matches_one_thread(void)
{
    static const int batches[] = {16, 7, 2, 1};
    for (size_t a = 0; a < sizeof archs / sizeof *archs; a++)
        for (int v = 0; v < 2; v++)
            for (size_t bi = 0; bi < sizeof batches / sizeof *batches; bi++)
                for (int P = 2; P <= 3; P++) {
                    const int B = batches[bi];
                    const float clip = v ? 0.05f : 0, *cw = v ? CW : NULL;
                    float l1 = 0, lp = 0;
                    rng_t r1, rp;
                    nn_model *m1 = run_steps(archs[a], 0, 1, B, 3, clip, cw, 1, &l1, &r1);
                    nn_model *mp = run_steps(archs[a], 0, P, B, 3, clip, cw, 1, &lp, &rp);
                    const size_t n = m1->nparams;
                    double gs = max_abs(m1->grads, n), dg = max_diff(m1->grads, mp->grads, n);
                    double dp = max_diff(m1->params, mp->params, n);
                    if (!(fabs(l1 - lp) <= 1e-6 * fabs(l1) + 1e-7) || !(dg <= 1e-5 * gs + 1e-8) || !(dp <= 2e-6))
                        t_fail(__FILE__, __LINE__,
                               "%s B=%d P=%d weights/clip=%d: loss %.9g vs %.9g, grad diff %.3g (max %.3g), "
                               "param diff %.3g", archs[a], B, P, v, l1, lp, dg, gs, dp);
                    CHECK(gs > 0);
                    /* no dropout: the step's rng is left as the one-thread step leaves it */
                    CHECK(!memcmp(&r1, &rp, sizeof r1));
                    CHECK_EQ_INT(mp->nrep, B == 1 ? 0 : B < P ? B - 1 : P - 1);
                    CHECK_EQ_INT(mp->step, 3);
                    nn_free(m1), nn_free(mp);
                }
}

/* Two runs at two threads: the same bits, with and without dropout; with
 * dropout, another seed gives other masks (the parts' streams come from the
 * step's rng). */
static void test_bitwise_repeatable(void)
{
    for (size_t a = 0; a < sizeof archs / sizeof *archs; a++)
        for (int d = 0; d < 2; d++) {
            const float drop = d ? 0.3f : 0;
            float la = 0, lb = 0, lc = 0;
            rng_t ra, rb, rc;
            nn_model *ma = run_steps(archs[a], drop, 2, 13, 4, 0.5f, CW, 7, &la, &ra);
            nn_model *mb = run_steps(archs[a], drop, 2, 13, 4, 0.5f, CW, 7, &lb, &rb);
            nn_model *mc = run_steps(archs[a], drop, 2, 13, 4, 0.5f, CW, 8, &lc, &rc);
            const size_t n = ma->nparams;
            if (memcmp(ma->params, mb->params, sizeof(float) * n) || memcmp(ma->grads, mb->grads, sizeof(float) * n) ||
                memcmp(&la, &lb, sizeof la) || memcmp(&ra, &rb, sizeof ra))
                t_fail(__FILE__, __LINE__, "%s dropout %g: two 2-thread runs differ", archs[a], drop);
            /* a different seed changes only the masks: equal without dropout, not with */
            int same = !memcmp(ma->params, mc->params, sizeof(float) * n);
            if (same != !d) t_fail(__FILE__, __LINE__, "%s dropout %g: seed 8 %s seed 7", archs[a], drop,
                                   same ? "equals" : "differs from");
            nn_free(ma), nn_free(mb), nn_free(mc);
        }
}

/* Every architecture learns the toy task of test_nn_models at two threads
 * (parts of at least 4 rows: these models are too small for the work rule),
 * and neither the model's arenas nor its replica's (arenas and gradient
 * block) move after the first step, through smaller batches (an epoch's last)
 * and predictions up to the batch. */
static void test_learns_without_reallocating(void)
{
    enum { N = 32 };
    static float x[N * T * F];
    int y[N];
    rng_t r;
    nn_adam_cfg opt;
    nn_toy_task(x, y, N, T, F, &r, &opt);
    for (size_t a = 0; a < sizeof archs / sizeof *archs; a++) {
        nn_config c = small(archs[a], 0);
        nn_model *m = nn_create(&c, 9);
        nn_set_threads(m, 2);
        m->par_min_rows = 4;
        float first = nn_train_step(m, x, y, NULL, N, &opt, opt.lr, &r), last = first, lg[N * 3];
        CHECK_EQ_INT(m->nrep, 1);
        nn_model *rep = m->rep[0];
        float *bufs[7] = {m->abuf, m->zbuf, m->sbuf, rep->abuf, rep->zbuf, rep->sbuf, rep->grads};
        for (int s = 0; s < 150; s++) {
            int B = s % 10 == 9 ? N - 5 : N;
            last = nn_train_step(m, x, y, NULL, B, &opt, opt.lr, &r);
            if (s % 50 == 0) nn_predict(m, x, N, lg), nn_predict(m, x, 1, lg);
        }
        last = nn_train_step(m, x, y, NULL, N, &opt, opt.lr, &r);
        float *now[7] = {m->abuf, m->zbuf, m->sbuf, rep->abuf, rep->zbuf, rep->sbuf, rep->grads};
        CHECK(!memcmp(bufs, now, sizeof bufs));
        CHECK(m->nrep == 1 && m->rep[0] == rep);
        if (!(last < 0.5f * first))
            t_fail(__FILE__, __LINE__, "%s: loss %.4f -> %.4f after 150 steps at 2 threads", archs[a], first, last);
        CHECK_NEAR(nn_eval_loss(m, x, y, NULL, N), last, 0.2);
        CHECK_EQ_INT(m->step, 152);
        nn_free(m);
    }
}

/* nn_predict and nn_eval_loss at P threads equal the one-thread results. */
static void test_predict_matches_one_thread(void)
{
    static const int batches[] = {16, 9, 2, 1};
    for (size_t a = 0; a < sizeof archs / sizeof *archs; a++) {
        nn_config c = small(archs[a], 0.2f); /* dropout is off in eval mode */
        nn_model *m1 = nn_create(&c, 11), *mp = nn_create(&c, 11);
        nn_set_threads(m1, 1);
        mp->par_min_rows = 1;
        for (size_t bi = 0; bi < sizeof batches / sizeof *batches; bi++)
            for (int P = 2; P <= 4; P++) {
                const int B = batches[bi];
                float l1[NMAX * 3], lp[NMAX * 3];
                nn_set_threads(mp, P);
                nn_predict(m1, X, B, l1);
                nn_predict(mp, X, B, lp);
                double d = max_diff(l1, lp, (size_t)B * 3);
                if (!(d <= 1e-5)) t_fail(__FILE__, __LINE__, "%s B=%d P=%d: logits differ by %.3g", archs[a], B, P, d);
                float e1 = nn_eval_loss(m1, X, Y, CW, B), ep = nn_eval_loss(mp, X, Y, CW, B);
                CHECK_NEAR(ep, e1, 1e-6 * fabs(e1) + 1e-7);
            }
        CHECK_EQ_INT(mp->nrep, 3);
        nn_free(m1), nn_free(mp);
    }
}

/* Every entry point leaves OpenBLAS's thread count as it found it, and the
 * count decides the split unless nn_set_threads does. */
static void test_blas_threads_restored(void)
{
    int saved = openblas_get_num_threads();
    nn_config c = small("lstm", 0);
    nn_adam_cfg o = adam(0.5f);
    float lg[NMAX * 3];
    rng_t r;
    rng_seed(&r, 1);
    for (int t = 1; t <= 2; t++) {
        nn_model *m = nn_create(&c, 1);
        m->par_min_rows = 1;
        openblas_set_num_threads(t);
        nn_predict(m, X, 1, lg);
        CHECK_EQ_INT(openblas_get_num_threads(), t);
        CHECK_EQ_INT(m->nrep, 0);
        nn_train_step(m, X, Y, CW, NMAX, &o, o.lr, &r);
        CHECK_EQ_INT(openblas_get_num_threads(), t);
        CHECK_EQ_INT(m->nrep, t - 1);
        nn_eval_loss(m, X, Y, NULL, NMAX);
        nn_predict(m, X, NMAX, lg);
        CHECK_EQ_INT(openblas_get_num_threads(), t);
        nn_free(m);
    }
    /* nn_set_threads(2) with OpenBLAS at one thread: two parts, OpenBLAS stays at 1 */
    openblas_set_num_threads(1);
    nn_model *m = nn_create(&c, 1);
    nn_set_threads(m, 2);
    m->par_min_rows = 1;
    nn_train_step(m, X, Y, CW, NMAX, &o, o.lr, &r);
    CHECK_EQ_INT(m->nrep, 1);
    CHECK_EQ_INT(openblas_get_num_threads(), 1);
    nn_free(m);
    openblas_set_num_threads(saved);
}

/* The default split rule: a part must carry about 4 MFLOP of forward pass
 * (2 T nparams a row). At the default sizes a single window never splits, two
 * LSTM windows do (7.5 MFLOP a row), two CNN windows do not (4.0) but four
 * do; the small test models need many rows a part. */
static int parts_for(const char *arch, int small_model, int B)
{
    nn_config c;
    if (small_model) c = small(arch, 0);
    else nn_config_default(&c, arch);
    nn_model *m = nn_create(&c, 1);
    nn_set_threads(m, 4);
    float *x = calloc((size_t)B * c.T * c.F, sizeof(float)), lg[64 * 3];
    nn_predict(m, x, B, lg);
    int P = m->nrep + 1;
    free(x), nn_free(m);
    return P;
}

/* The benchmark's work counter (a per-thread count that the split adds up
 * after each call) counts the same products at two threads as at one. */
static void test_flops_counted(void)
{
    for (int a = 0; a < 6; a++) {
        double f[2];
        for (int k = 0; k < 2; k++) {
            float loss;
            rng_t r;
            double f0 = nn_gemm_flops;
            nn_model *m = run_steps(archs[a], 0, k + 1, NMAX, 1, 0, NULL, 7, &loss, &r);
            f[k] = nn_gemm_flops - f0;
            nn_free(m);
        }
        CHECK(f[0] > 0);
        if (f[0] != f[1]) t_fail(__FILE__, __LINE__, "%s: %.0f flops at one thread, %.0f at two", archs[a], f[0], f[1]);
    }
}

static void test_split_rule(void)
{
    CHECK_EQ_INT(parts_for("lstm", 0, 1), 1);
    CHECK_EQ_INT(parts_for("lstm", 0, 2), 2);
    CHECK_EQ_INT(parts_for("lstm", 0, 7), 4);
    CHECK_EQ_INT(parts_for("hybrid", 0, 1), 1);
    CHECK_EQ_INT(parts_for("cnn", 0, 2), 1);
    CHECK_EQ_INT(parts_for("cnn", 0, 4), 2);
    CHECK_EQ_INT(parts_for("cnn", 0, 64), 4);
    CHECK_EQ_INT(parts_for("transformer", 1, 16), 1);
}

/* A child forked after the parent's model started its threads has none of
 * them; its step must start its own and finish. */
static nn_model *fork_model;
static void child_step(void *arg)
{
    nn_adam_cfg o = adam(0);
    rng_t r;
    rng_seed(&r, 2);
    float l = nn_train_step(fork_model, X, Y, NULL, NMAX, &o, o.lr, &r);
    exit(isfinite(l) ? 0 : 1);
}

static void test_fork(void)
{
    nn_config c = small("gru", 0);
    fork_model = nn_create(&c, 1);
    nn_set_threads(fork_model, 2);
    fork_model->par_min_rows = 1;
    nn_adam_cfg o = adam(0);
    rng_t r;
    rng_seed(&r, 2);
    nn_train_step(fork_model, X, Y, NULL, NMAX, &o, o.lr, &r);
    CHECK(fork_model->pool != NULL);
    t_expect_exit(child_step, NULL, NULL, 0, NULL);
    nn_train_step(fork_model, X, Y, NULL, NMAX, &o, o.lr, &r);
    nn_free(fork_model);
}

int main(void)
{
    rng_t r;
    rng_seed(&r, 2025);
    for (size_t i = 0; i < sizeof X / sizeof *X; i++) X[i] = (float)rng_normal(&r);
    for (int i = 0; i < NMAX; i++) Y[i] = (int)rng_below(&r, 3);
    t_run("nn parallel: concurrent one-thread OpenBLAS products from two threads equal serial ones",
          test_openblas_concurrent);
    t_run("nn parallel: a step split over 2 or 3 threads equals the one-thread step (every arch, odd batches)",
          test_step_matches_one_thread);
    t_run("nn parallel: two runs at two threads are bitwise identical, dropout included",
          test_bitwise_repeatable);
    t_run("nn parallel: every architecture learns at two threads without moving any arena",
          test_learns_without_reallocating);
    t_run("nn parallel: predictions and evaluation loss split over threads equal the one-thread ones",
          test_predict_matches_one_thread);
    t_run("nn parallel: OpenBLAS's thread count is restored after every call", test_blas_threads_restored);
    t_run("nn parallel: a batch splits only where each part carries enough work", test_split_rule);
    t_run("nn parallel: the matrix-product work counter counts the workers' products too", test_flops_counted);
    t_run("nn parallel: a forked child steps a model whose threads the parent started", test_fork);
    return t_done();
}
