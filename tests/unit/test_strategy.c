/* test_strategy.c: lib/strategy/strategy.c: the table, binding by column
 * name with missing columns reported, each rule strategy's formula against a
 * hand computation, the rebalancing band, model strategies, the after-fee
 * bar return, and signals in [-1, 1] on arbitrary rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "strategy/strategy.h"
#include "t.h"

/* A header holding every column any rule strategy reads, in a scrambled
 * order after time and close, plus an unrelated column. */
static const char *hdr[] = {"time", "close", "rv_72", "adx_14", "ret_16", "zz_other", "ema_ratio_50", "rv_24",
                            "bb_pctb_20", "ret_4", "macd_hist_n", "donchian_pos_20", "ema_ratio_12", "rsi_14",
                            "ret_8", "rv_12", "ret_24", "ema_ratio_26"};
#define NH ((int)(sizeof hdr / sizeof hdr[0]))

static int col(const char *name)
{
    for (int i = 0; i < NH; i++)
        if (!strcmp(hdr[i], name)) return i;
    return -1;
}

static void set(double *row, const char *name, double v) { row[col(name)] = v; }

static strategy bound(const char *name)
{
    strategy s;
    char miss[128];
    int rc = strategy_bind(&s, name, hdr, NH, miss, sizeof miss);
    CHECK_EQ_INT(rc, 0);
    return s;
}

static void test_table(void)
{
    CHECK(strategy_ndefs >= 6);
    const char *want[] = {"hold", "trend", "meanrev", "breakout", "momentum", "voltrend"};
    for (int i = 0; i < 6; i++) CHECK(strategy_find(want[i]) != NULL);
    CHECK(strategy_find("model:gru") == NULL);
    CHECK(strategy_find("nope") == NULL);
    CHECK(strategy_is_model("model:gru"));
    CHECK(!strategy_is_model("model:"));
    CHECK(!strategy_is_model("trend"));
    for (int i = 0; i < strategy_ndefs; i++) {
        const strategy_def *d = &strategy_defs[i];
        CHECK(d->ncols >= 0 && d->ncols <= STRATEGY_MAX_COLS);
        CHECK(d->band >= 0 && d->band < 1);
        CHECK(d->warmup >= 0);
        for (int j = 0; j < d->ncols; j++) {
            CHECK(col(d->cols[j]) >= 0);          /* the test header covers every column */
            CHECK(strncmp(d->cols[j], "y_", 2)); /* never a label */
        }
        for (int j = 0; j < i; j++) CHECK(strcmp(strategy_defs[j].name, d->name));
    }
}

static void test_bind(void)
{
    strategy s;
    char miss[128];
    CHECK_EQ_INT(strategy_bind(&s, "nope", hdr, NH, miss, sizeof miss), STRATEGY_UNKNOWN);
    CHECK_EQ_INT(strategy_bind(&s, "model:", hdr, NH, miss, sizeof miss), STRATEGY_UNKNOWN);
    /* trend with a header lacking two of its columns */
    const char *h2[] = {"time", "close", "ema_ratio_12", "ema_ratio_50", "rv_24"};
    CHECK_EQ_INT(strategy_bind(&s, "trend", h2, 5, miss, sizeof miss), 2);
    CHECK_EQ_STR(miss, "'ema_ratio_26', 'macd_hist_n'");
    /* truncated into a short buffer, still NUL-terminated; NULL allowed */
    char tiny[6];
    CHECK_EQ_INT(strategy_bind(&s, "trend", h2, 5, tiny, sizeof tiny), 2);
    CHECK(strlen(tiny) < sizeof tiny);
    CHECK_EQ_INT(strategy_bind(&s, "trend", h2, 5, NULL, 0), 2);
    /* a model needs no column, even of an input with only time and close */
    CHECK_EQ_INT(strategy_bind(&s, "model:gru", h2, 2, miss, sizeof miss), 0);
    CHECK_EQ_STR(s.arch, "gru");
    CHECK(s.def == NULL);
    /* columns resolved to the header's indices */
    s = bound("momentum");
    CHECK_EQ_INT(s.col[0], col("ret_4"));
    CHECK_EQ_INT(s.col[4], col("rv_24"));
    char longname[100];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    memcpy(longname, "model:", 6);
    CHECK_EQ_INT(strategy_bind(&s, longname, hdr, NH, miss, sizeof miss), STRATEGY_UNKNOWN);
}

static void test_formulas(void)
{
    double row[NH];
    for (int i = 0; i < NH; i++) row[i] = 0;
    strategy s = bound("hold");
    CHECK_EQ_INT(strategy_step(&s, row, NULL) == 1, 1);

    /* trend: e = mean of the ratios, z = e / (rv_24 sqrt 24), tanh(2 z), halved on disagreement */
    s = bound("trend");
    set(row, "ema_ratio_12", 0.01);
    set(row, "ema_ratio_26", 0.02);
    set(row, "ema_ratio_50", 0.03);
    set(row, "rv_24", 0.01);
    set(row, "macd_hist_n", 0.001);
    double z = 0.02 / (0.01 * sqrt(24.0));
    CHECK_NEAR(strategy_step(&s, row, NULL), tanh(2 * z), 1e-15);
    strategy_reset(&s);
    set(row, "macd_hist_n", -0.001);
    CHECK_NEAR(strategy_step(&s, row, NULL), 0.5 * tanh(2 * z), 1e-15);
    strategy_reset(&s);
    set(row, "rv_24", 0); /* no volatility: flat */
    CHECK_EQ_INT(strategy_step(&s, row, NULL) == 0, 1);

    /* momentum: tanh of the mean of ret_h / (rv_24 sqrt h) */
    s = bound("momentum");
    set(row, "ret_4", 0.02);
    set(row, "ret_8", -0.01);
    set(row, "ret_16", 0.03);
    set(row, "ret_24", 0.05);
    set(row, "rv_24", 0.01);
    double m = (0.02 / (0.01 * 2) - 0.01 / (0.01 * sqrt(8.0)) + 0.03 / (0.01 * 4) + 0.05 / (0.01 * sqrt(24.0))) / 4;
    CHECK_NEAR(strategy_step(&s, row, NULL), tanh(m), 1e-15);

    /* voltrend: tanh(ret_24 / (rv_24 sqrt 24)) * clamp(2 - rv_12 / rv_72, 0, 1) */
    s = bound("voltrend");
    set(row, "rv_12", 0.015);
    set(row, "rv_72", 0.01);
    CHECK_NEAR(strategy_step(&s, row, NULL), tanh(0.05 / (0.01 * sqrt(24.0))) * 0.5, 1e-15);
    strategy_reset(&s);
    set(row, "rv_12", 0.025); /* short volatility 2.5x the long: nothing */
    CHECK_EQ_INT(strategy_step(&s, row, NULL) == 0, 1);
}

static void test_meanrev_breakout_state(void)
{
    double row[NH];
    for (int i = 0; i < NH; i++) row[i] = 0;
    /* meanrev: below the lower band with RSI 25: m = ((1 + 0.2) + 1.25) / 2 = 1.225, long 0.725 */
    strategy s = bound("meanrev");
    set(row, "bb_pctb_20", -0.1);
    set(row, "rsi_14", 25);
    CHECK_NEAR(strategy_step(&s, row, NULL), 0.725, 1e-15);
    /* back inside but still below the middle (m = 0.15 > 0): held */
    set(row, "bb_pctb_20", 0.4);
    set(row, "rsi_14", 45);
    CHECK_NEAR(strategy_step(&s, row, NULL), 0.725, 1e-15);
    /* through the middle (m < 0): flat */
    set(row, "bb_pctb_20", 0.6);
    set(row, "rsi_14", 55);
    CHECK_EQ_INT(strategy_step(&s, row, NULL) == 0, 1);
    /* far above the upper band: short, capped at -1 */
    set(row, "bb_pctb_20", 2.0);
    set(row, "rsi_14", 95);
    CHECK_NEAR(strategy_step(&s, row, NULL), -1, 0);

    /* breakout: at the channel's top with ADX 35: long g = 1 */
    s = bound("breakout");
    set(row, "donchian_pos_20", 1.0);
    set(row, "adx_14", 35);
    CHECK_NEAR(strategy_step(&s, row, NULL), 1, 0);
    /* pulled back to 0.6 of the channel: held */
    set(row, "donchian_pos_20", 0.6);
    CHECK_NEAR(strategy_step(&s, row, NULL), 1, 0);
    /* below the middle: flat */
    set(row, "donchian_pos_20", 0.4);
    CHECK_EQ_INT(strategy_step(&s, row, NULL) == 0, 1);
    /* at the bottom with a weak trend (ADX 15): no entry */
    set(row, "donchian_pos_20", 0.0);
    set(row, "adx_14", 15);
    CHECK_EQ_INT(strategy_step(&s, row, NULL) == 0, 1);
    /* ADX 27.5: short half */
    set(row, "adx_14", 27.5);
    CHECK_NEAR(strategy_step(&s, row, NULL), -0.5, 1e-15);
}

static void test_band_model(void)
{
    strategy s;
    CHECK_EQ_INT(strategy_bind(&s, "model:lstm", hdr, NH, NULL, 0), 0);
    double p[3] = {0.2, 0.3, 0.5};
    CHECK_NEAR(strategy_step(&s, NULL, p), 0.3, 1e-15);
    /* within the band (0.25) of 0.3 on the same side: held */
    double q[3] = {0.1, 0.4, 0.5};
    CHECK_NEAR(strategy_step(&s, NULL, q), 0.3, 1e-15);
    /* beyond it: moved */
    double r[3] = {0.0, 0.2, 0.8};
    CHECK_NEAR(strategy_step(&s, NULL, r), 0.8, 1e-15);
    /* a sign change always moves, however small */
    double u[3] = {0.45, 0.1, 0.44};
    CHECK_NEAR(strategy_step(&s, NULL, u), -0.01, 1e-15);
    /* exactly 0 closes */
    double f[3] = {0.25, 0.5, 0.25};
    CHECK_EQ_INT(strategy_step(&s, NULL, f) == 0, 1);
    /* non-finite input: flat */
    double nanp[3] = {NAN, 0, 1};
    CHECK_NEAR(strategy_step(&s, NULL, r), 0.8, 1e-15);
    CHECK_EQ_INT(strategy_step(&s, NULL, nanp) == 0, 1);
    CHECK_EQ_INT(s.st.n, 7);
    strategy_reset(&s);
    CHECK_EQ_INT(s.st.n, 0);
    CHECK_EQ_INT(s.st.pos == 0, 1);
    CHECK_EQ_STR(s.name, "model:lstm");
}

static void test_bar_return(void)
{
    /* long 0.5 from flat, next log return +1 %, fee 0.26 %: 0.005 - 0.0013 */
    CHECK_NEAR(strategy_bar_return(0.5, 0, 0.01, 0.0026), 0.005 - 0.0026 * 0.5, 1e-18);
    /* reversal from long 1 to short 1 pays for 2 */
    CHECK_NEAR(strategy_bar_return(-1, 1, 0.02, 0.001), -0.02 - 0.002, 1e-18);
    /* no change, no fee */
    CHECK_NEAR(strategy_bar_return(0.3, 0.3, -0.01, 0.5), -0.003, 1e-18);
}

/* Random rows (including extreme and non-finite values): every signal is
 * finite and within [-1, 1]. */
static void test_bounds(void)
{
    rng_t r;
    rng_seed(&r, 7);
    strategy s[16];
    int n = 0;
    for (int i = 0; i < strategy_ndefs; i++) s[n++] = bound(strategy_defs[i].name);
    double row[NH];
    for (int k = 0; k < 20000; k++) {
        for (int i = 0; i < NH; i++) {
            double u = rng_uniform(&r);
            row[i] = u < 0.01 ? NAN : u < 0.02 ? INFINITY : u < 0.05 ? 0 : rng_normal(&r) * (u < 0.5 ? 0.05 : 60);
        }
        for (int i = 0; i < n; i++) {
            double x = strategy_step(&s[i], row, NULL);
            if (!(x >= -1 && x <= 1)) {
                t_fail(__FILE__, __LINE__, "%s gave %g", s[i].name, x);
                return;
            }
        }
    }
}

int main(void)
{
    t_run("table", test_table);
    t_run("bind", test_bind);
    t_run("formulas", test_formulas);
    t_run("meanrev and breakout state", test_meanrev_breakout_state);
    t_run("band and model strategies", test_band_model);
    t_run("bar return", test_bar_return);
    t_run("bounds", test_bounds);
    return t_done();
}
