/* test_collab.c: lib/ml/collab, the arithmetic of kml-predict's model
 * collaboration: the confidence's bounds and monotonicities, the agreement
 * of signs, regime mixing, the adaptation factor's bounds and direction, and
 * the weights used on a bar (renormalised over the strategies present). */
#include "t.h"

#include <math.h>

#include "ml/collab.h"
#include "rng.h"

static void test_confidence_bounds_and_monotone(void)
{
    CHECK(collab_confidence(0, 1, 1) == 0); /* nothing agrees: 0, whatever the rest */
    CHECK(collab_confidence(0, 0, 0) == 0);
    CHECK(collab_confidence(1, 1, 1) == 1);
    CHECK(collab_confidence(1, 0, 0) == 0.25);
    /* out-of-range inputs are held to [0, 1] */
    CHECK(collab_confidence(2, 5, 7) == 1 && collab_confidence(-1, -1, -1) == 0);
    rng_t r;
    rng_seed(&r, 11);
    double g[] = {0, 1e-9, 0.01, 0.2, 0.5, 0.7, 0.999, 1};
    int n = (int)(sizeof g / sizeof *g);
    for (int i = 0; i < 2000; i++) {
        double A = rng_uniform(&r), M = rng_uniform(&r), P = rng_uniform(&r), d = rng_uniform(&r) * (1 - A);
        double c = collab_confidence(A, M, P);
        CHECK(c >= 0 && c <= 1);
        /* rises with each of agreement, margin and regime probability */
        CHECK(collab_confidence(A + d, M, P) >= c);
        if (A > 0) {
            CHECK(collab_confidence(A, M + (1 - M) / 2, P) > c || M == 1);
            CHECK(collab_confidence(A, M, P + (1 - P) / 2) > c || P == 1);
        }
    }
    for (int a = 0; a + 1 < n; a++) /* strictly, on a grid, when the others are positive */
        for (int b = 0; b < n; b++) {
            CHECK(collab_confidence(g[a + 1], g[b], 0.5) > collab_confidence(g[a], g[b], 0.5));
            CHECK(collab_confidence(0.5, g[a + 1], g[b]) > collab_confidence(0.5, g[a], g[b]));
            CHECK(collab_confidence(0.5, g[b], g[a + 1]) > collab_confidence(0.5, g[b], g[a]));
        }
}

static void test_agreement(void)
{
    double w[4] = {0.4, 0.3, 0.2, 0.1};
    double all_up[4] = {0.1, 1, 0.5, 1e-9}, all_down[4] = {-1, -0.2, -0.3, -0.9}, zero[4] = {0};
    double split[4] = {1, -1, -1, 0}, cancel[4] = {1, -1, -1, -1};
    CHECK_NEAR(collab_agreement(w, all_up, 4), 1, 1e-15);
    CHECK_NEAR(collab_agreement(w, all_down, 4), 1, 1e-15);
    CHECK(collab_agreement(w, zero, 4) == 0);
    CHECK_NEAR(collab_agreement(w, split, 4), 0.1, 1e-15); /* 0.4 - 0.3 - 0.2 */
    CHECK_NEAR(collab_agreement(w, cancel, 4), 0.2, 1e-15);
    double half[2] = {0.5, 0.5}, opp[2] = {0.3, -0.8};
    CHECK(collab_agreement(half, opp, 2) == 0); /* signs cancel exactly: nothing agrees */
    /* the magnitudes do not matter, only the signs */
    double big[4] = {1, -1e-3, -1e-3, 0};
    CHECK(collab_agreement(w, big, 4) == collab_agreement(w, split, 4));
}

static void test_mix(void)
{
    double W[3 * 2] = {1, 0, 0.25, 0.75, 0, 0}, p[3] = {0.2, 0.8, 0}, w[2];
    collab_mix(W, p, 3, 2, w);
    CHECK_NEAR(w[0], 0.2 + 0.8 * 0.25, 1e-15);
    CHECK_NEAR(w[1], 0.8 * 0.75, 1e-15);
    double hard[3] = {0, 1, 0};
    collab_mix(W, hard, 3, 2, w);
    CHECK(w[0] == 0.25 && w[1] == 0.75);
}

static void test_weights(void)
{
    double base[3] = {0.5, 0.3, 0.2}, f1[3] = {1, 1, 1}, f[3] = {2, 1, 0.5}, w[3];
    collab_weights(base, f1, NULL, 3, w);
    CHECK(w[0] == 0.5 && w[1] == 0.3 && w[2] == 0.2);
    collab_weights(base, f, NULL, 3, w);
    CHECK_NEAR(w[0], 1.0 / 1.4, 1e-15);
    CHECK_NEAR(w[0] + w[1] + w[2], 1, 1e-15);
    unsigned char present[3] = {1, 0, 1};
    collab_weights(base, f1, present, 3, w); /* a missing model's weight goes to the others */
    CHECK(w[1] == 0);
    CHECK_NEAR(w[0], 0.5 / 0.7, 1e-15);
    CHECK_NEAR(w[2], 0.2 / 0.7, 1e-15);
    double none[3] = {0, 0, 0};
    collab_weights(none, f, NULL, 3, w); /* a regime where nothing earns stays flat */
    CHECK(w[0] == 0 && w[1] == 0 && w[2] == 0);
}

static void test_adaptation(void)
{
    collab_adapt a = {.rate = 0.05, .gain = 0.25, .min = 0.5, .max = 2};
    CHECK(collab_adapt_factor(&a, 0, 0) == 1);
    double mr = 0, vr = 0, mw = 0, vw = 0, prev_r = 1, prev_w = 1;
    rng_t r;
    rng_seed(&r, 3);
    double f20[2] = {1, 1};
    for (int t = 0; t < 400; t++) { /* one strategy earns 1e-3 a bar, the other loses it, both with noise */
        double noise = 1e-3 * rng_normal(&r);
        collab_adapt_update(&a, &mr, &vr, 1e-3 + noise);
        collab_adapt_update(&a, &mw, &vw, -1e-3 + noise);
        double fr = collab_adapt_factor(&a, mr, vr), fw = collab_adapt_factor(&a, mw, vw);
        CHECK(fr >= a.min && fr <= a.max && fw >= a.min && fw <= a.max);
        if (t == 4) f20[0] = fr, f20[1] = fw;
        prev_r = fr, prev_w = fw;
    }
    CHECK(prev_r == a.max && prev_w == a.min); /* held at the bounds: one streak cannot take over */
    CHECK(f20[0] > 1 && f20[0] < a.max && f20[1] < 1); /* on their way after 5 bars */
    /* the factor does not depend on the returns' scale (a t-statistic) */
    double m1 = 0, v1 = 0, m2 = 0, v2 = 0;
    collab_adapt update_small = {.rate = 0.1, .gain = 0.01, .min = 0.01, .max = 100};
    for (int t = 0; t < 30; t++) {
        double x = (t % 3 == 0 ? -1 : 1) * (1 + t % 5);
        collab_adapt_update(&update_small, &m1, &v1, x * 1e-4);
        collab_adapt_update(&update_small, &m2, &v2, x);
    }
    CHECK_NEAR(collab_adapt_factor(&update_small, m1, v1), collab_adapt_factor(&update_small, m2, v2), 1e-12);
    /* EWMA arithmetic */
    double m = 0, v = 0;
    collab_adapt_update(&a, &m, &v, 2);
    CHECK_NEAR(m, 0.1, 1e-15);
    CHECK_NEAR(v, 0.2, 1e-15);
    /* t = m / sqrt(v) * sqrt((2 - rate) / rate) */
    collab_adapt b = {.rate = 0.5, .gain = 0.1, .min = 0.1, .max = 10};
    CHECK_NEAR(collab_adapt_factor(&b, 0.5, 1), 1 + 0.1 * 0.5 * sqrt(3), 1e-15);
}

int main(void)
{
    t_run("collab: confidence in [0, 1], 0 when nothing agrees, rising with agreement, margin and regime probability",
          test_confidence_bounds_and_monotone);
    t_run("collab: agreement is the weighted sum of signs, 0 when they cancel", test_agreement);
    t_run("collab: regime weights mixed by probability", test_mix);
    t_run("collab: weights renormalised over the strategies present; all-zero stays flat", test_weights);
    t_run("collab: adaptation moves toward the earner and away from the loser, within bounds, scale-free",
          test_adaptation);
    return t_done();
}
