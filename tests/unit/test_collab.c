/* test_collab.c: lib/ml/collab, the arithmetic of kml-predict's model
 * collaboration: the confidence's bounds and monotonicities, the agreement
 * of signs, regime mixing, the Hedge multipliers (by hand, and their bounds
 * over a long streak), and the weights used on a bar (renormalised over the
 * strategies present). */
#include "t.h"

#include <math.h>
#include <string.h>

#include "ml/collab.h"
#include "rng.h"
#include "strategy/strategy.h"

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

/* One bar of two or three strategies: their returns from strategy_bar_return
 * (the rule kml-predict judges by), then one Hedge step. */
static void bar(const collab_adapt *a, double *m, const double *sig, const double *prev, const unsigned char *judged,
                int S, double lr, double fee, double *r)
{
    for (int s = 0; s < S; s++) r[s] = strategy_bar_return(sig[s], prev[s], lr, fee);
    collab_hedge(a, m, r, judged, S);
}

static void test_hedge_by_hand(void)
{
    collab_adapt a = {.eta = 10, .min = 0.5, .max = 2};
    double fee = 0.001, m[2] = {1, 1}, r[2], w[2], base[2] = {0.6, 0.4};
    /* bar 1: A goes long (from flat), B stays flat; the close rises 2 %:
     * r_A = 0.02 - 0.001 * 1 = 0.019, r_B = 0, rbar = 0.0095,
     * m_A = exp(10 * 0.0095) = exp(0.095), m_B = exp(-0.095) */
    bar(&a, m, (double[]){1, 0}, (double[]){0, 0}, NULL, 2, 0.02, fee, r);
    CHECK_NEAR(r[0], 0.019, 1e-17);
    CHECK(r[1] == 0);
    CHECK_NEAR(m[0], 1.0996588551261028, 1e-15);
    CHECK_NEAR(m[1], 0.9093729344682314, 1e-15);
    /* bar 2: A stays long, B goes short; the close falls 1 %:
     * r_A = -0.01, r_B = 0.01 - 0.001 = 0.009, rbar = -0.0005:
     * m_A = exp(0.095) exp(10 * -0.0095) = 1, m_B = exp(-0.095) exp(0.095) = 1 */
    bar(&a, m, (double[]){1, -1}, (double[]){1, 0}, NULL, 2, -0.01, fee, r);
    CHECK_NEAR(r[1], 0.009, 1e-17);
    CHECK_NEAR(m[0], 1, 1e-15);
    CHECK_NEAR(m[1], 1, 1e-15);
    /* bar 3: no change of position, the close falls 5 %: r = -0.05 and 0.05,
     * rbar = 0: m_A = exp(-0.5), m_B = exp(0.5); with fitted weights 0.6, 0.4
     * the weights used are 0.6 e^-0.5 / (0.6 e^-0.5 + 0.4 e^0.5) = 0.355595 */
    bar(&a, m, (double[]){1, -1}, (double[]){1, -1}, NULL, 2, -0.05, fee, r);
    CHECK_NEAR(m[0], 0.6065306597126334, 1e-15);
    CHECK_NEAR(m[1], 1.6487212707001282, 1e-15);
    collab_weights(base, m, NULL, 2, w);
    CHECK_NEAR(w[0], 0.35559501735519544, 1e-15);
    CHECK_NEAR(w[0] + w[1], 1, 1e-15);
    /* bar 4: the same again: exp(-1) = 0.37 and exp(1) = 2.72, clamped to
     * 0.5 and 2: weights 0.6 * 0.5 / (0.3 + 0.8) = 3 / 11 and 8 / 11 */
    bar(&a, m, (double[]){1, -1}, (double[]){1, -1}, NULL, 2, -0.05, fee, r);
    CHECK(m[0] == 0.5 && m[1] == 2);
    collab_weights(base, m, NULL, 2, w);
    CHECK_NEAR(w[0], 3.0 / 11, 1e-15);
    CHECK_NEAR(w[1], 8.0 / 11, 1e-15);

    /* a strategy not judged on a bar (a model missing) keeps its multiplier,
     * and the mean is over the judged: r = 0.02, 0, (0.5), rbar = 0.01 */
    double m3[3] = {1, 1, 1.5}, r3[3] = {0.02, 0, 0.5};
    unsigned char judged[3] = {1, 1, 0};
    collab_hedge(&a, m3, r3, judged, 3);
    CHECK_NEAR(m3[0], exp(0.1), 1e-15);
    CHECK_NEAR(m3[1], exp(-0.1), 1e-15);
    CHECK(m3[2] == 1.5);
    /* a non-finite return is not judged either */
    double m4[2] = {1, 1}, r4[2] = {NAN, 0.3};
    collab_hedge(&a, m4, r4, NULL, 2);
    CHECK(m4[0] == 1 && m4[1] == 1); /* the one judged is its own mean */
    /* eta = 0: no adaptation */
    collab_adapt off = {.eta = 0, .min = 0.5, .max = 2};
    double m5[2] = {1, 1}, r5[2] = {0.1, -0.1};
    collab_hedge(&off, m5, r5, NULL, 2);
    CHECK(m5[0] == 1 && m5[1] == 1);
    /* what every strategy earned alike moves nothing */
    double m6[3] = {0.7, 1, 1.9}, r6[3] = {0.04, 0.04, 0.04};
    collab_hedge(&a, m6, r6, NULL, 3);
    CHECK(m6[0] == 0.7 && m6[1] == 1 && m6[2] == 1.9);
}

static void test_hedge_bounds_over_a_streak(void)
{
    /* 20 000 bars: A earns 1e-3 a bar more than the noise, B loses it, C is
     * noise; every multiplier stays in [min, max] on every bar, A's weight
     * within max / min = 4 times its fitted share, B's at least min / max */
    collab_adapt a = {.eta = 20, .min = 0.5, .max = 2};
    double m[3] = {1, 1, 1}, r[3], w[3], base[3] = {0.2, 0.5, 0.3};
    rng_t g;
    rng_seed(&g, 3);
    double m10[3] = {0};
    for (int t = 0; t < 20000; t++) {
        double noise = 1e-3 * rng_normal(&g);
        r[0] = 1e-3 + noise, r[1] = -1e-3 + noise, r[2] = 1e-3 * rng_normal(&g);
        collab_hedge(&a, m, r, NULL, 3);
        for (int s = 0; s < 3; s++) CHECK(m[s] >= a.min && m[s] <= a.max);
        collab_weights(base, m, NULL, 3, w);
        CHECK(w[0] <= base[0] * a.max / a.min * (1 + 1e-15) && w[1] >= base[1] * a.min / a.max * (1 - 1e-15));
        if (t == 9) memcpy(m10, m, sizeof m);
    }
    CHECK(m10[0] > 1 && m10[0] < a.max && m10[1] < 1 && m10[1] > a.min); /* on their way after 10 bars */
    CHECK(m[0] == a.max && m[1] == a.min); /* held at the bounds: the streak cannot take over */
    collab_weights(base, m, NULL, 3, w);
    /* 0.2 fitted: now above it, and at most 0.2 * 2 / (0.2 * 2 + 0.5 * 0.5 + 0.3 * 0.5) = 0.5 */
    CHECK(w[0] > 0.3 && w[0] <= 0.5 + 1e-15);
    /* when the loser starts earning it leaves the bound at once (no memory
     * of the streak beyond the bound) */
    r[0] = -1e-3, r[1] = 1e-3, r[2] = 0;
    collab_hedge(&a, m, r, NULL, 3);
    CHECK(m[1] > a.min && m[0] < a.max);
    /* returns far beyond any market's: exp overflows and underflows to the
     * bounds, never inf, NaN or 0 */
    collab_adapt hot = {.eta = 1e6, .min = 0.25, .max = 4};
    double mh[2] = {1, 1}, rh[2] = {5, -5};
    for (int t = 0; t < 3; t++) {
        collab_hedge(&hot, mh, rh, NULL, 2);
        CHECK(mh[0] == 4 && mh[1] == 0.25);
    }
}

int main(void)
{
    t_run("collab: confidence in [0, 1], 0 when nothing agrees, rising with agreement, margin and regime probability",
          test_confidence_bounds_and_monotone);
    t_run("collab: agreement is the weighted sum of signs, 0 when they cancel", test_agreement);
    t_run("collab: regime weights mixed by probability", test_mix);
    t_run("collab: weights renormalised over the strategies present; all-zero stays flat", test_weights);
    t_run("collab: Hedge multipliers by hand over four bars (strategy_bar_return, the mean return removed, the clamp)",
          test_hedge_by_hand);
    t_run("collab: Hedge multipliers stay within their bounds over a long streak and leave them when it ends",
          test_hedge_bounds_over_a_streak);
    return t_done();
}
