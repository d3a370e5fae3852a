/* test_train_data.c: lib/train's data handling (loading, reserved columns,
 * horizon, --days, located errors), the purged chronological split, the
 * training-only scaler, class weights, the linear baseline's gradient and the
 * safetensors writer. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rng.h"
#include "t.h"
#include "train/dataset.h"
#include "train/logreg.h"
#include "train/sha256.h"

static const char CSV[] =
    "time,close,ret_1,rsi_14,regime,p_ranging,y_ret_6,y_class\n"
    "3600,10,0.1,50,ranging,0.5,0.01,2\n"
    "7200,11,0.2,51,ranging,0.5,-0.01,0\n"
    "10800,12,0.3,52,volatile,0.1,0,1\n"
    "90000,13,0.4,53,volatile,0.2,0.02,2\n";

static void test_load(void) {
    char *p = t_tmpfile(CSV);
    kml_load_opts o = {0};
    kml_dataset *d = dataset_load(p, &o);
    CHECK_EQ_INT(d->n, 4);
    CHECK_EQ_INT(d->F, 2); /* time, close, regime, p_*, y_* are not features */
    CHECK_EQ_STR(d->feat[0], "ret_1");
    CHECK_EQ_STR(d->feat[1], "rsi_14");
    CHECK_EQ_INT(d->horizon, 6);
    CHECK_EQ_STR(d->ret_col, "y_ret_6");
    CHECK_EQ_STR(d->label, "y_class");
    CHECK_EQ_INT(d->y[1], 0);
    CHECK_NEAR(d->x[3 * 2 + 1], 53, 0);
    CHECK_NEAR(d->ret[3], 0.02, 0);
    CHECK_EQ_INT(d->time[3], 90000);
    dataset_free(d);
    /* --features picks and orders; --horizon overrides */
    kml_load_opts o2 = {.features = "rsi_14,p_ranging", .horizon = 9};
    d = dataset_load(p, &o2);
    CHECK_EQ_INT(d->F, 2);
    CHECK_EQ_STR(d->feat[0], "rsi_14");
    CHECK_EQ_STR(d->feat[1], "p_ranging");
    CHECK_EQ_INT(d->horizon, 9);
    CHECK(d->ret_col == NULL); /* no y_ret_9 column */
    CHECK(isnan(d->ret[0]));
    dataset_free(d);
    /* --days 1 keeps the rows after last - 1 day (90000 - 86400 = 3600) */
    kml_load_opts o3 = {.days = 1};
    d = dataset_load(p, &o3);
    CHECK_EQ_INT(d->n, 3);
    CHECK_EQ_INT(d->time[0], 7200);
    CHECK_EQ_INT(d->y[0], 0);
    CHECK_NEAR(d->x[0], 0.2, 0);
    dataset_free(d);
    kml_load_opts o4 = {.days = 0.95}; /* from 90000 - 82080 = 7920 */
    d = dataset_load(p, &o4);
    CHECK_EQ_INT(d->n, 2);
    CHECK_EQ_INT(d->time[0], 10800);
    dataset_free(d);
    unlink(p);
    free(p);
}

static void load_it(void *arg) {
    kml_load_opts o = {0};
    dataset_free(dataset_load(arg, &o));
}

static void test_errors(void) {
    char *p = t_tmpfile("time,close,f,y_ret_4,y_class\n1,1,1,0,2\n2,1,1,0,3\n");
    t_expect_exit(load_it, p, NULL, 65, ":3: column 'y_class': label 3 is not 0 (down), 1 (flat) or 2 (up)");
    unlink(p), free(p);
    p = t_tmpfile("time,close,f,y_ret_4\n1,1,1,0\n");
    t_expect_exit(load_it, p, NULL, 65, "no label column 'y_class'");
    unlink(p), free(p);
    p = t_tmpfile("time,close,f,y_class\n1,1,1,0\n");
    t_expect_exit(load_it, p, NULL, 65, "give --horizon H");
    unlink(p), free(p);
    p = t_tmpfile("time,close,f,y_ret_4,y_class\n2,1,1,0,2\n2,1,1,0,1\n");
    t_expect_exit(load_it, p, NULL, 65, ":3: column 'time'");
    unlink(p), free(p);
    p = t_tmpfile("time,close,f,y_ret_4,y_class\n1,1,abc,0,2\n");
    t_expect_exit(load_it, p, NULL, 65, ":2: column 'f'");
    unlink(p), free(p);
    p = t_tmpfile("time,close,y_ret_4,y_class\n1,1,0,2\n");
    t_expect_exit(load_it, p, NULL, 65, "no feature columns");
    unlink(p), free(p);
    p = t_tmpfile("time,close,f,y_ret_4,y_class\n");
    t_expect_exit(load_it, p, NULL, 65, "no data rows");
    unlink(p), free(p);
    t_expect_exit(load_it, "/nonexistent/features.csv", NULL, 66, NULL);
}

static void test_split(void) {
    kml_split s;
    CHECK_EQ_INT(split_make(&s, 100, 10, 0.70, 0.15, 4), 0);
    /* samples are rows 9..99 (91 of them) */
    CHECK_EQ_INT(s.tr0, 9);
    CHECK_EQ_INT(s.tr1, 9 + 63);
    CHECK_EQ_INT(s.va0, 72 + 4);
    CHECK_EQ_INT(s.va1, 9 + 77);
    CHECK_EQ_INT(s.te0, 86 + 4);
    CHECK_EQ_INT(s.te1, 100);
    /* no training label (row i looks at rows i+1..i+4) reaches a validation row */
    CHECK(s.tr1 - 1 + 4 < s.va0);
    CHECK(s.va1 - 1 + 4 < s.te0);
    CHECK_EQ_INT(split_make(&s, 12, 10, 0.70, 0.15, 4), -1);
    CHECK_EQ_INT(split_make(&s, 5, 10, 0.70, 0.15, 0), -1);
}

/* Hourly rows 0..11 with a gap of 2 missing bars after row 3 (bridged at
 * max_gap 2) and one of 5 after row 7 (a restart at max_gap < 5). */
static void test_windows(void) {
    int64_t t[12];
    long k = 0;
    for (int i = 0; i < 12; i++) t[i] = 3600 * (k++), k += i == 3 ? 2 : i == 7 ? 5 : 0;
    kml_dataset d = {.n = 12, .time = t};
    CHECK_EQ_INT(dataset_interval(&d), 3600);
    unsigned char ok[12];
    /* T 3, max_gap 2: segments 0..7 and 8..11; windows end at 2..7 and 10..11 */
    CHECK_EQ_INT(dataset_windows(&d, 3, 2, ok), 8);
    static const unsigned char want[12] = {0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1};
    for (int i = 0; i < 12; i++) CHECK_EQ_INT(ok[i], want[i]);
    /* max_gap 1: the first gap breaks too (segments 0..3, 4..7, 8..11) */
    CHECK_EQ_INT(dataset_windows(&d, 3, 1, ok), 6);
    CHECK_EQ_INT(ok[4], 0);
    CHECK_EQ_INT(ok[5], 0);
    CHECK_EQ_INT(ok[6], 1);
    /* max_gap 5 bridges both: every window from row T-1 on */
    CHECK_EQ_INT(dataset_windows(&d, 3, 5, ok), 10);
    CHECK_EQ_INT(ok[1], 0);
    CHECK_EQ_INT(ok[9], 1);
    /* T 1: every row is its own window */
    CHECK_EQ_INT(dataset_windows(&d, 1, 0, ok), 12);
    long idx[12];
    dataset_windows(&d, 3, 2, ok);
    CHECK_EQ_INT(rows_where(ok, 5, 12, idx), 5);
    CHECK_EQ_INT(idx[0], 5);
    CHECK_EQ_INT(idx[2], 7);
    CHECK_EQ_INT(idx[3], 10);
    CHECK_EQ_INT(rows_where(NULL, 5, 8, idx), 3);
    /* the interval is the commonest spacing, not the smallest or the mean */
    int64_t t2[5] = {0, 60, 3660, 7260, 10860};
    kml_dataset d2 = {.n = 5, .time = t2};
    CHECK_EQ_INT(dataset_interval(&d2), 3600);
    d2.n = 1;
    CHECK_EQ_INT(dataset_interval(&d2), 0);
    /* the class prior of chosen rows */
    int y[12] = {0, 0, 0, 0, 0, 2, 1, 2, 0, 0, 1, 2};
    double prior[3];
    long cnt[3];
    class_prior_rows(y, idx, 5, prior, cnt); /* rows 5, 6, 7, 10, 11 */
    CHECK_EQ_INT(cnt[0], 0);
    CHECK_EQ_INT(cnt[1], 2);
    CHECK_EQ_INT(cnt[2], 3);
    CHECK_NEAR(prior[2], 0.6, 1e-15);
}

static void test_scaler(void) {
    /* (4, 2): column 0 is 1, 2, 3 in the training rows and 100 after; column 1 constant */
    double x[8] = {1, 7, 2, 7, 3, 7, 100, 7};
    kml_scaler s;
    scaler_fit(&s, x, 2, 0, 3);
    CHECK_NEAR(s.mean[0], 2, 1e-15);
    CHECK_NEAR(s.std[0], sqrt(2.0 / 3), 1e-15);
    CHECK_NEAR(s.mean[1], 7, 0);
    CHECK_NEAR(s.std[1], 1, 0); /* constant: centred only */
    float xs[8];
    scaler_apply(&s, x, 0, 4, xs);
    CHECK_NEAR(xs[0], -1 / sqrt(2.0 / 3), 1e-6);
    CHECK_NEAR(xs[6], 98 / sqrt(2.0 / 3), 1e-4); /* the later row does not move the scaler */
    CHECK_NEAR(xs[7], 0, 0);
    CHECK_NEAR(x[6], 100, 0); /* input unchanged */
    scaler_free(&s);
}

static void test_class_weights(void) {
    int y[4] = {0, 1, 1, 2};
    double prior[3];
    long cnt[3];
    class_prior(y, 0, 4, prior, cnt);
    CHECK_NEAR(prior[1], 0.5, 0);
    CHECK_EQ_INT(cnt[2], 1);
    float w[3];
    class_weights(cnt, w);
    CHECK_NEAR(w[0], 4.0 / 3, 1e-6);
    CHECK_NEAR(w[1], 2.0 / 3, 1e-6);
    CHECK_NEAR(w[2], 4.0 / 3, 1e-6);
    long c2[3] = {2, 0, 2};
    class_weights(c2, w);
    CHECK_NEAR(w[0], 1, 1e-6);
    CHECK_NEAR(w[1], 0, 0);
    CHECK_NEAR(w[2], 1, 1e-6);
}

/* Finite differences of the penalised loss: loss + l2/2 ||W||^2. */
static double penalised(kml_logreg *m, const float *x, const int *y, const float *w, int B, int T, float l2) {
    double pen = 0;
    for (int j = 0; j < 3 * m->F; j++) pen += 0.5 * l2 * m->param[j] * m->param[j];
    return logreg_loss(m, x, y, w, B, T, l2, 0) + pen;
}

static void test_logreg_gradient(void) {
    enum { B = 5, T = 3, F = 4 };
    kml_logreg *m = logreg_create(F, 7);
    rng_t r;
    rng_seed(&r, 3);
    float x[B * T * F];
    for (int i = 0; i < B * T * F; i++) x[i] = (float)rng_normal(&r);
    int y[B] = {0, 2, 1, 2, 0};
    float w[3] = {1.5f, 0.5f, 1.0f}, l2 = 0.1f;
    memset(m->grad, 0, m->np * sizeof *m->grad);
    logreg_loss(m, x, y, w, B, T, l2, 1);
    /* step 1e-2 on float parameters, loss in double: central differences are
     * accurate to ~1e-5 here; tolerance 1e-3 absolute */
    for (size_t i = 0; i < m->np; i++) {
        float keep = m->param[i];
        m->param[i] = keep + 1e-2f;
        double up = penalised(m, x, y, w, B, T, l2);
        m->param[i] = keep - 1e-2f;
        double dn = penalised(m, x, y, w, B, T, l2);
        m->param[i] = keep;
        CHECK_NEAR(m->grad[i], (up - dn) / 2e-2, 1e-3);
    }
    /* only the last step of each window matters */
    float logits1[B * 3], logits2[B * 3];
    logreg_forward(m, x, B, T, logits1);
    x[0] += 100; /* step 0 of window 0 */
    logreg_forward(m, x, B, T, logits2);
    CHECK(memcmp(logits1, logits2, sizeof logits1) == 0);
    logreg_free(m);
}

static void test_logreg_learns(void) {
    /* Separable: class = sign pattern of feature 0. Adam drives the loss down. */
    enum { B = 60, F = 2 };
    float x[B * F];
    int y[B];
    rng_t r;
    rng_seed(&r, 11);
    for (int i = 0; i < B; i++) {
        y[i] = i % 3;
        x[i * F] = (float)(y[i] - 1) * 2 + 0.1f * (float)rng_normal(&r);
        x[i * F + 1] = (float)rng_normal(&r);
    }
    kml_logreg *m = logreg_create(F, 1);
    kml_logreg_opt o = {.lr = 0.05f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .l2 = 0, .clip_norm = 1};
    float first = logreg_train_step(m, x, y, NULL, B, 1, &o, o.lr), last = first;
    for (int s = 0; s < 500; s++) last = logreg_train_step(m, x, y, NULL, B, 1, &o, o.lr);
    CHECK(last < 0.5f * first);
    CHECK(last < 0.35f);
    logreg_free(m);
}

static void test_lr_schedule(void) {
    CHECK_NEAR(kml_lr_cosine(1, 0, 10, 110), 0.1, 1e-7);
    CHECK_NEAR(kml_lr_cosine(1, 9, 10, 110), 1.0, 1e-7);
    CHECK_NEAR(kml_lr_cosine(1, 10, 10, 110), 1.0, 1e-7);
    CHECK_NEAR(kml_lr_cosine(1, 60, 10, 110), 0.5, 1e-6);
    CHECK_NEAR(kml_lr_cosine(1, 110, 10, 110), 0.0, 1e-7);
}

static void test_sha256(void) {
    char hex[65];
    kml_sha256_hex("abc", 3, hex); /* FIPS 180-2 test vector */
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void) {
    t_run("train data: columns, reserved names, horizon, --features, --days", test_load);
    t_run("train data: bad input is a located error 65, a missing file 66", test_errors);
    t_run("train data: chronological split with a purge gap", test_split);
    t_run("train data: windows never cross a restart, bar interval, chosen rows", test_windows);
    t_run("train data: scaler fitted on training rows only", test_scaler);
    t_run("train data: class prior and inverse-frequency weights", test_class_weights);
    t_run("linear baseline: gradient matches finite differences", test_logreg_gradient);
    t_run("linear baseline: Adam fits separable data", test_logreg_learns);
    t_run("linear baseline: warm-up and cosine learning rate", test_lr_schedule);
    t_run("sha256: FIPS test vector", test_sha256);
    return t_done();
}
