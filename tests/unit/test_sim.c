/* test_sim.c: the synthetic market of kml-fetch sim (lib/sim.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "t.h"

static const char *const bases3[] = {"SOL", "ETH", "BTC"};
static const char *const alts3[] = {"SOLUSD", "ETHUSD", "XBTUSD"};

static void same_seed_same_market(void)
{
    sim_market a, b;
    sim_init(&a, 42, 60, 1672531200, 3, bases3, alts3, 0.0);
    sim_init(&b, 42, 60, 1672531200, 3, bases3, alts3, 0.0);
    sim_bar ba[3], bb[3];
    int differ = 0;
    for (int t = 0; t < 2000; t++) {
        int ra = sim_step(&a, ba), rb = sim_step(&b, bb);
        differ |= ra != rb;
        for (int i = 0; i < 3; i++)
            differ |= memcmp(&ba[i], &bb[i], sizeof ba[i]) != 0;
    }
    CHECK(!differ);
    sim_free(&a);
    sim_free(&b);
}

static void other_seed_other_market(void)
{
    sim_market a, b;
    sim_init(&a, 1, 60, 0, 1, bases3, alts3, 0.0);
    sim_init(&b, 2, 60, 0, 1, bases3, alts3, 0.0);
    sim_bar ba, bb;
    int same = 0;
    for (int t = 0; t < 100; t++) {
        sim_step(&a, &ba);
        sim_step(&b, &bb);
        same += ba.close == bb.close;
    }
    CHECK(same < 10);
    sim_free(&a);
    sim_free(&b);
}

/* An asset's path does not depend on the other assets simulated with it. */
static void asset_alone_equals_asset_in_company(void)
{
    sim_market one, three;
    sim_init(&one, 9, 15, 0, 1, bases3 + 2, alts3 + 2, 0.0);
    sim_init(&three, 9, 15, 0, 3, bases3, alts3, 0.0);
    sim_bar b1, b3[3];
    int differ = 0;
    for (int t = 0; t < 500; t++) {
        sim_step(&one, &b1);
        sim_step(&three, b3);
        differ |= memcmp(&b1, &b3[2], sizeof b1) != 0;
    }
    CHECK(!differ);
    sim_free(&one);
    sim_free(&three);
}

static void bars_are_consistent(void)
{
    sim_market m;
    int64_t start = 1672531200 + 1234; /* not aligned: the first bar is aligned down */
    sim_init(&m, 3, 5, start, 3, bases3, alts3, 0.5);
    sim_bar b[3], prev[3];
    int bad = 0, badtime = 0, badopen = 0;
    for (int t = 0; t < 20000; t++) {
        sim_step(&m, b);
        for (int i = 0; i < 3; i++) {
            bad += !(b[i].high >= fmax(b[i].open, b[i].close) && b[i].low <= fmin(b[i].open, b[i].close));
            bad += !(b[i].vwap >= b[i].low && b[i].vwap <= b[i].high);
            bad += !(b[i].low > 0 && b[i].volume > 0 && b[i].count >= 1);
            badtime += b[i].time != 1672531200 + 20 * 60 + (int64_t)t * 300;
            if (t > 0) badopen += b[i].open != prev[i].close;
            prev[i] = b[i];
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(badtime, 0);
    CHECK_EQ_INT(badopen, 0);
    sim_free(&m);
}

/* Regimes: persistent, and distinct in mean return and volatility. */
static void regimes_are_persistent_and_distinct(void)
{
    enum { N = 200000 };
    sim_market m;
    sim_init(&m, 11, 60, 0, 1, bases3 + 2, alts3 + 2, 0.0);
    sim_bar b;
    double sum[SIM_NREGIME] = {0}, sq[SIM_NREGIME] = {0};
    long cnt[SIM_NREGIME] = {0}, spells[SIM_NREGIME] = {0};
    double prevc = 0;
    int prevr = -1;
    for (int t = 0; t < N; t++) {
        int r = sim_step(&m, &b);
        if (t > 0) {
            double x = log(b.close / prevc);
            sum[r] += x, sq[r] += x * x, cnt[r]++;
        }
        if (r != prevr) spells[r]++;
        prevr = r;
        prevc = b.close;
    }
    double mean[SIM_NREGIME], sd[SIM_NREGIME];
    for (int r = 0; r < SIM_NREGIME; r++) {
        CHECK(cnt[r] > 1000);
        mean[r] = sum[r] / cnt[r];
        sd[r] = sqrt(sq[r] / cnt[r] - mean[r] * mean[r]);
        double dur = (double)cnt[r] / spells[r];
        if (!(dur >= 10 && dur <= 300)) t_fail(__FILE__, __LINE__, "%s lasts %.1f bars", sim_regime_names[r], dur);
        /* the realised volatility is the configured one (GARCH has E[h] = 1) within 15% */
        CHECK_REL(sd[r], sim_regimes[r].vol, 0.15);
    }
    CHECK(mean[SIM_TRENDING_UP] > 0.001);
    CHECK(mean[SIM_TRENDING_DOWN] < -0.001);
    CHECK(fabs(mean[SIM_RANGING]) < 0.0003);
    CHECK(sd[SIM_RANGING] < sd[SIM_TRENDING_UP] && sd[SIM_TRENDING_UP] < sd[SIM_TRENDING_DOWN] &&
          sd[SIM_TRENDING_DOWN] < sd[SIM_VOLATILE]);
    sim_free(&m);
}

/* Fraction of bars whose return has the sign of the sum of the previous four. */
static double momentum_hit_rate(double plant)
{
    sim_market m;
    sim_init(&m, 5, 60, 0, 1, bases3, alts3, plant);
    sim_bar b;
    double past[4] = {0}, prevc = 0;
    long hits = 0, n = 0;
    for (int t = 0; t < 50000; t++) {
        sim_step(&m, &b);
        if (t > 0) {
            double x = log(b.close / prevc), s = past[0] + past[1] + past[2] + past[3];
            if (t > 4 && s != 0 && x != 0) hits += (x > 0) == (s > 0), n++;
            memmove(past, past + 1, 3 * sizeof *past);
            past[3] = x;
        }
        prevc = b.close;
    }
    sim_free(&m);
    return (double)hits / n;
}

static void planted_pattern_is_learnable(void)
{
    double h0 = momentum_hit_rate(0.0), h3 = momentum_hit_rate(0.3);
    /* trends alone give a little momentum; the plant adds about N(0.3) - 0.5 = 0.12 */
    CHECK(h0 < 0.56);
    CHECK(h3 > h0 + 0.08);
}

static void correlated_through_the_factor(void)
{
    sim_market m;
    sim_init(&m, 8, 60, 0, 3, bases3, alts3, 0.0);
    sim_bar b[3];
    double pc[3] = {0}, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    int n = 0;
    for (int t = 0; t < 30000; t++) {
        sim_step(&m, b);
        if (t > 0) {
            double x = log(b[1].close / pc[1]), y = log(b[2].close / pc[2]);
            sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y, n++;
        }
        for (int i = 0; i < 3; i++) pc[i] = b[i].close;
    }
    double cov = sxy / n - sx / n * sy / n;
    double corr = cov / sqrt((sxx / n - sx / n * sx / n) * (syy / n - sy / n * sy / n));
    CHECK(corr > 0.6 && corr < 0.97);
    sim_free(&m);
}

int main(void)
{
    t_run("sim: the same seed gives the same market", same_seed_same_market);
    t_run("sim: another seed gives another market", other_seed_other_market);
    t_run("sim: an asset's path does not depend on the others", asset_alone_equals_asset_in_company);
    t_run("sim: bars are consistent OHLC with aligned times", bars_are_consistent);
    t_run("sim: regimes persist and differ in mean and volatility", regimes_are_persistent_and_distinct);
    t_run("sim: the planted momentum pattern shows in the returns", planted_pattern_is_learnable);
    t_run("sim: assets are correlated through the common factor", correlated_through_the_factor);
    return t_done();
}
