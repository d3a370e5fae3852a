/* test_metrics.c: lib/train/metrics.c against values worked out by hand. */
#include <math.h>
#include <stdlib.h>

#include "t.h"
#include "train/metrics.h"

/* Four forecasts; the expected values are derived in the comments. */
static const double P[12] = {0.1, 0.2, 0.7, 0.6, 0.3, 0.1, 0.2, 0.5, 0.3, 0.5, 0.2, 0.3};
static const int Y[4] = {2, 0, 1, 2};
static const double PRIOR[3] = {0.25, 0.25, 0.5};
static const double RET[4] = {0.02, -0.01, 0.001, 0.03};

static void test_hand_example(void) {
    kml_metrics m;
    metrics_compute(&m, P, Y, RET, 4, PRIOR, 0.005);
    CHECK_EQ_INT(m.n, 4);
    CHECK_NEAR(m.log_loss, -(log(0.7) + log(0.6) + log(0.5) + log(0.3)) / 4, 1e-12);
    CHECK_NEAR(m.baseline_log_loss, -(log(0.5) + log(0.25) + log(0.25) + log(0.5)) / 4, 1e-12);
    CHECK_NEAR(m.improvement, m.baseline_log_loss - m.log_loss, 1e-12);
    /* argmax 2, 0, 1, 0: three right */
    CHECK_NEAR(m.accuracy, 0.75, 1e-12);
    /* recalls 1, 1, 1/2 */
    CHECK_NEAR(m.balanced_accuracy, 2.5 / 3, 1e-12);
    /* F1: down 2*1/(1+2), flat 1, up 2*1/(2+1) */
    CHECK_NEAR(m.macro_f1, 7.0 / 9, 1e-12);
    /* Brier: .14 + .26 + .38 + .78 over 4 */
    CHECK_NEAR(m.brier, 0.39, 1e-12);
    /* ECE: bins 0.7 (right), 0.6 (right), 0.5 (one right one wrong): (.3 + .4 + 0) / 4 */
    CHECK_NEAR(m.ece, 0.175, 1e-12);
    /* |ret| > fee on bars 0, 1, 3; edges .6, -.5, -.2: bar 3 misses */
    CHECK_EQ_INT(m.hit_n, 3);
    CHECK_NEAR(m.hit_rate, 2.0 / 3, 1e-12);
    /* ranks of edge (4,1,3,2) and of ret (3,1,2,4): 1 - 6*6/(4*15) */
    CHECK_NEAR(m.ic, 0.4, 1e-12);
    CHECK_EQ_INT(m.confusion[2][0], 1);
    CHECK_EQ_INT(m.confusion[2][2], 1);
    CHECK_EQ_INT(m.confusion[0][0], 1);
    CHECK_EQ_INT(m.confusion[1][1], 1);
}

static void test_no_returns(void) {
    kml_metrics m;
    metrics_compute(&m, P, Y, NULL, 4, PRIOR, 0.005);
    CHECK(isnan(m.ic));
    CHECK(isnan(m.hit_rate));
    CHECK_NEAR(m.accuracy, 0.75, 1e-12);
    double nanret[4] = {NAN, NAN, NAN, NAN};
    metrics_compute(&m, P, Y, nanret, 4, PRIOR, 0.005);
    CHECK(isnan(m.ic));
    CHECK_EQ_INT(m.hit_n, 0);
}

static void test_empty(void) {
    kml_metrics m;
    metrics_compute(&m, P, Y, RET, 0, PRIOR, 0.005);
    CHECK_EQ_INT(m.n, 0);
    CHECK(isnan(m.log_loss));
    CHECK(isnan(m.accuracy));
    cJSON *j = metrics_to_json(&m);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "log_loss")));
    cJSON_Delete(j);
}

static void test_prior_forecast_equals_baseline(void) {
    /* Forecasting the prior itself scores exactly the baseline. */
    double p[12];
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++) p[3 * i + k] = PRIOR[k];
    kml_metrics m;
    metrics_compute(&m, p, Y, RET, 4, PRIOR, 0.005);
    CHECK_NEAR(m.log_loss, m.baseline_log_loss, 1e-15);
    CHECK_NEAR(m.improvement, 0, 1e-15);
}

static void test_confident_wrong_is_finite(void) {
    double p[3] = {1, 0, 0};
    int y[1] = {2};
    kml_metrics m;
    metrics_compute(&m, p, y, NULL, 1, PRIOR, 0.005);
    CHECK(isfinite(m.log_loss));
    CHECK_NEAR(m.log_loss, -log(1e-15), 1e-9);
}

static void test_ranks_and_spearman(void) {
    double x[4] = {3, 1, 3, 2}, r[4];
    kml_rank_average(x, 4, r);
    CHECK_NEAR(r[0], 3.5, 0);
    CHECK_NEAR(r[1], 1, 0);
    CHECK_NEAR(r[2], 3.5, 0);
    CHECK_NEAR(r[3], 2, 0);
    /* with ties: ranks (1, 2.5, 2.5, 4) vs (1, 3, 2, 4): 4.5 / sqrt(4.5 * 5) */
    double a[4] = {1, 2, 2, 3}, b[4] = {1, 3, 2, 4};
    CHECK_NEAR(kml_spearman(a, b, 4), 4.5 / sqrt(22.5), 1e-12);
    double c[4] = {5, 5, 5, 5};
    CHECK(isnan(kml_spearman(a, c, 4)));
    CHECK(isnan(kml_spearman(a, b, 1)));
    /* monotone transform: rank correlation exactly 1 */
    double u[5] = {0.1, 0.5, -2, 3, 0}, v[5];
    for (int i = 0; i < 5; i++) v[i] = exp(u[i]);
    CHECK_NEAR(kml_spearman(u, v, 5), 1, 1e-12);
}

static void test_ece_bins(void) {
    double conf[KML_ECE_BINS], acc[KML_ECE_BINS];
    long cnt[KML_ECE_BINS];
    double ece = metrics_ece(P, Y, 4, conf, acc, cnt);
    CHECK_NEAR(ece, 0.175, 1e-12);
    CHECK_EQ_INT(cnt[5], 2);
    CHECK_EQ_INT(cnt[6], 1);
    CHECK_EQ_INT(cnt[7], 1);
    CHECK_NEAR(acc[5], 0.5, 0);
    CHECK_NEAR(conf[5], 0.5, 1e-15);
    CHECK(isnan(conf[0]));
}

int main(void) {
    t_run("metrics: every metric of a hand-worked example", test_hand_example);
    t_run("metrics: no returns give null ic and hit_rate", test_no_returns);
    t_run("metrics: an empty split gives nulls", test_empty);
    t_run("metrics: forecasting the prior scores the baseline exactly", test_prior_forecast_equals_baseline);
    t_run("metrics: a confident wrong forecast costs a finite log-loss", test_confident_wrong_is_finite);
    t_run("metrics: average ranks and Spearman with ties", test_ranks_and_spearman);
    t_run("metrics: reliability bins", test_ece_bins);
    return t_done();
}
