/* test_margin.c: lib/market/margin.c against the hand-worked examples of
 * docs/margin.md (5x long, 125x short), the margin level identity at the
 * liquidation and margin-call prices over many leverages, spot, fees,
 * rollover counting, the AssetPairs levels and the invalid arguments. */
#include <math.h>
#include <stdlib.h>

#include "config.h"
#include "market/margin.h"
#include "rng.h"
#include "t.h"

/* docs/margin.md, example 1: long 10 SOL at 100 USD, 5x. */
static void test_example_5x_long(void)
{
    margin_params m;
    margin_params_default(&m);
    margin_position p;
    CHECK_EQ_INT(margin_open(&p, &m, MARGIN_LONG, 5, 100, 10), 0);
    CHECK_EQ_INT(p.spot, 0);
    CHECK_NEAR(p.notional, 1000, 1e-12);
    CHECK_NEAR(p.margin, 200, 1e-12);
    CHECK_NEAR(p.liquidation, 88, 1e-12);       /* 100 * (1 - 0.6 / 5) */
    CHECK_NEAR(p.margin_call_price, 96, 1e-12); /* 100 * (1 - 0.2 / 5) */
    CHECK_NEAR(p.open_fee, 0.2, 1e-12);         /* 0.02 % of 1000 */
    CHECK_NEAR(p.rollover_fee, 0.2, 1e-12);
    CHECK_NEAR(p.taker_open, 2.6, 1e-12);       /* 0.26 % of 1000 */
    CHECK_NEAR(p.taker_close, 2.6, 1e-12);
    CHECK_NEAR(margin_close_fee(&p, &m, 110), 2.86, 1e-12);
    /* equity at 88 is 200 - 120 = 80, 40 % of the used margin */
    CHECK_NEAR(margin_pnl(&p, 88), -120, 1e-12);
    CHECK_NEAR(margin_level(&p, 88), 0.4, 1e-12);
    CHECK_NEAR(margin_level(&p, 96), 0.8, 1e-12);
    CHECK_NEAR(margin_level(&p, 100), 1.0, 1e-15);
    CHECK(margin_liquidated(&p, 88));
    CHECK(margin_liquidated(&p, 87.5));
    CHECK(!margin_liquidated(&p, 88.01));
    CHECK(!margin_liquidated(&p, 150));
    CHECK_NEAR(margin_liquidation_move(&m, 5), 0.12, 1e-15);
    CHECK_NEAR(margin_liquidation_price(&m, MARGIN_LONG, 5, 100), 88, 1e-12);
    /* held 9 h: two full 4-h periods */
    CHECK_EQ_INT(margin_rollovers(0, 9 * 3600), 2);
    CHECK_NEAR(margin_rollover_total(&p, 0, 9 * 3600), 0.4, 1e-12);
}

/* docs/margin.md, example 2: short 2 SOL at 150 USD, 125x. */
static void test_example_125x_short(void)
{
    margin_params m;
    margin_params_default(&m);
    margin_position p;
    CHECK_EQ_INT(margin_open(&p, &m, MARGIN_SHORT, 125, 150, 2), 0);
    CHECK_NEAR(p.notional, 300, 1e-12);
    CHECK_NEAR(p.margin, 2.4, 1e-12);
    CHECK_NEAR(p.liquidation, 150.72, 1e-10);       /* 150 * (1 + 0.6 / 125) */
    CHECK_NEAR(p.margin_call_price, 150.24, 1e-10); /* 150 * (1 + 0.2 / 125) */
    CHECK_NEAR(p.open_fee, 0.06, 1e-12);
    CHECK_NEAR(p.rollover_fee, 0.06, 1e-12);
    CHECK_NEAR(p.taker_open, 0.78, 1e-12);
    CHECK_NEAR(margin_pnl(&p, 150.72), -1.44, 1e-10);
    CHECK_NEAR(margin_level(&p, 150.72), 0.4, 1e-9);
    CHECK(margin_liquidated(&p, 150.72));
    CHECK(margin_liquidated(&p, 151));
    CHECK(!margin_liquidated(&p, 150.7));
    CHECK(!margin_liquidated(&p, 10));
    CHECK_NEAR(margin_liquidation_move(&m, 125), 0.0048, 1e-15);
    /* the leverage that puts liquidation exactly 0.48 % away is 125x again */
    CHECK_NEAR(margin_max_leverage_for_move(&m, 0.0048), 125, 1e-9);
}

/* A long at 1x borrows nothing: no liquidation, no margin fees; a short at 1x
 * is still a margin position. */
static void test_spot(void)
{
    margin_params m;
    margin_params_default(&m);
    margin_position p;
    CHECK_EQ_INT(margin_open(&p, &m, MARGIN_LONG, 1, 100, 3), 0);
    CHECK_EQ_INT(p.spot, 1);
    CHECK_NEAR(p.margin, 300, 0);
    CHECK_NEAR(p.liquidation, 0, 0);
    CHECK_NEAR(p.open_fee, 0, 0);
    CHECK_NEAR(p.rollover_fee, 0, 0);
    CHECK_NEAR(p.taker_open, 0.78, 1e-12);
    CHECK(!margin_liquidated(&p, 1e-9));
    CHECK_NEAR(margin_rollover_total(&p, 0, 86400), 0, 0);
    CHECK_NEAR(margin_liquidation_price(&m, MARGIN_LONG, 1, 100), 0, 0);
    CHECK_EQ_INT(margin_open(&p, &m, MARGIN_SHORT, 1, 100, 3), 0);
    CHECK_EQ_INT(p.spot, 0);
    CHECK_NEAR(p.liquidation, 160, 1e-12);
    CHECK_NEAR(p.open_fee, 0.06, 1e-12);
}

/* The definitions hold at every leverage and price: the margin level is
 * margin_stop at the liquidation price, margin_call at the margin-call price,
 * equity = margin + pnl, and the liquidation lies on the adverse side. */
static void test_identities(void)
{
    margin_params m;
    margin_params_default(&m);
    rng_t r;
    rng_seed(&r, 15);
    for (int i = 0; i < 20000; i++) {
        int side = rng_uniform(&r) < 0.5 ? MARGIN_LONG : MARGIN_SHORT;
        double L = 1 + 150 * rng_uniform(&r), P = exp(-3 + 15 * rng_uniform(&r)), V = 0.001 + 100 * rng_uniform(&r);
        if (side == MARGIN_LONG && L == 1) continue;
        m.margin_stop = 0.05 + 0.5 * rng_uniform(&r);
        m.margin_call = m.margin_stop + 0.4 * rng_uniform(&r);
        margin_position p;
        CHECK_EQ_INT(margin_open(&p, &m, side, L, P, V), 0);
        CHECK_REL(margin_level(&p, p.liquidation), m.margin_stop, 1e-9 * L);
        CHECK_REL(margin_level(&p, p.margin_call_price), m.margin_call, 1e-9 * L);
        CHECK_REL((p.margin + margin_pnl(&p, p.liquidation)) / p.margin, m.margin_stop, 1e-9 * L);
        CHECK(side * (p.liquidation - P) < 0);
        CHECK(side * (p.margin_call_price - p.liquidation) > 0); /* the call comes first */
        CHECK(margin_liquidated(&p, p.liquidation));
        CHECK(!margin_liquidated(&p, P));
        double mv = margin_liquidation_move(&m, L);
        CHECK_REL(margin_max_leverage_for_move(&m, mv), L, 1e-12);
        CHECK_REL(fabs(p.liquidation / P - 1), mv, 1e-9);
        /* higher leverage, closer liquidation */
        CHECK(margin_liquidation_move(&m, L * 1.01) < mv);
    }
}

static void test_levels_and_config(void)
{
    margin_params m;
    margin_params_default(&m);
    CHECK_EQ_INT(margin_params_set_levels_pct(&m, 80, 40), 0);
    CHECK_NEAR(m.margin_call, 0.8, 1e-15);
    CHECK_NEAR(m.margin_stop, 0.4, 1e-15);
    CHECK_EQ_INT(margin_params_set_levels_pct(&m, 70, 35), 0);
    CHECK_NEAR(m.margin_stop, 0.35, 1e-15);
    CHECK_EQ_INT(margin_params_set_levels_pct(&m, 40, 80), -1); /* stop above call */
    CHECK_EQ_INT(margin_params_set_levels_pct(&m, 80, 0), -1);
    CHECK_EQ_INT(margin_params_set_levels_pct(&m, 100, 40), -1);
    CHECK_EQ_INT(margin_params_set_levels_pct(&m, NAN, 40), -1);
    CHECK_NEAR(m.margin_stop, 0.35, 1e-15); /* unchanged by the failures */

    kml_config c;
    config_defaults(&c);
    margin_params from, def;
    margin_params_from_config(&from, &c);
    margin_params_default(&def);
    CHECK_NEAR(from.margin_call, def.margin_call, 0);
    CHECK_NEAR(from.margin_stop, def.margin_stop, 0);
    CHECK_NEAR(from.open_fee, def.open_fee, 0);
    CHECK_NEAR(from.rollover_rate, def.rollover_rate, 0);
    CHECK_NEAR(from.taker_fee, def.taker_fee, 0);
    c.taker_fee = 0.004;
    c.margin.margin_stop = 0.3;
    margin_params_from_config(&from, &c);
    CHECK_NEAR(from.taker_fee, 0.004, 0);
    CHECK_NEAR(margin_liquidation_move(&from, 10), 0.07, 1e-15);
}

static void test_rollovers(void)
{
    CHECK_EQ_INT(margin_rollovers(1000, 1000), 0);
    CHECK_EQ_INT(margin_rollovers(1000, 500), 0);
    CHECK_EQ_INT(margin_rollovers(0, 14399), 0);
    CHECK_EQ_INT(margin_rollovers(0, 14400), 1);
    CHECK_EQ_INT(margin_rollovers(0, 86400), 6);
}

static void test_invalid(void)
{
    margin_params m;
    margin_params_default(&m);
    margin_position p;
    CHECK_EQ_INT(margin_open(&p, &m, 0, 5, 100, 1), -1);
    CHECK_EQ_INT(margin_open(&p, &m, MARGIN_LONG, 0.5, 100, 1), -1);
    CHECK_EQ_INT(margin_open(&p, &m, MARGIN_LONG, NAN, 100, 1), -1);
    CHECK_EQ_INT(margin_open(&p, &m, MARGIN_LONG, INFINITY, 100, 1), -1);
    CHECK_EQ_INT(margin_open(&p, &m, MARGIN_LONG, 5, 0, 1), -1);
    CHECK_EQ_INT(margin_open(&p, &m, MARGIN_LONG, 5, 100, -1), -1);
    CHECK_EQ_INT(margin_open(&p, &m, MARGIN_SHORT, 5, 100, NAN), -1);
    CHECK_NEAR(p.notional, 0, 0); /* zeroed on failure */
    m.margin_stop = 1;
    CHECK_EQ_INT(margin_open(&p, &m, MARGIN_LONG, 5, 100, 1), -1);
    margin_params_default(&m);
    CHECK(isnan(margin_liquidation_move(&m, 0.9)));
    CHECK(isnan(margin_liquidation_price(&m, 2, 5, 100)));
    CHECK(isnan(margin_liquidation_price(&m, MARGIN_SHORT, 5, -3)));
    CHECK(isnan(margin_max_leverage_for_move(&m, 0)));
}

int main(void)
{
    t_run("margin: 5x long, the worked example", test_example_5x_long);
    t_run("margin: 125x short, the worked example", test_example_125x_short);
    t_run("margin: spot long at 1x, margin short at 1x", test_spot);
    t_run("margin: level identities at liquidation and margin call", test_identities);
    t_run("margin: AssetPairs levels and the configuration", test_levels_and_config);
    t_run("margin: rollover periods", test_rollovers);
    t_run("margin: invalid arguments", test_invalid);
    return t_done();
}
