/* test_account.c: lib/market/account.c, the paper account.
 *
 * Hand-worked scenarios, each with its numbers written out: a long filled at
 * the next open with fee and slippage, a stop hit intrabar, a gap through the
 * stop, a bar touching stop and take-profit, a liquidation at 125x, rollover
 * over a 12-hour hold, a reversal, an order below ordermin, the drawdown kill
 * switch, the daily loss limit. Then a long seeded random run over three
 * pairs with the accounting identities checked after every event, every fill
 * inside its bar's range widened by the slippage, and no position left open
 * beyond its liquidation price; the state's JSON round trip; lot rounding. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jsonl.h"
#include "market/account.h"
#include "rng.h"
#include "t.h"

#define T0 1672531200LL /* 2023-01-01 00:00 UTC, bar 0 */
#define H 3600

/* The events of a scenario, kept for checks. */
typedef struct {
    kml_event e[64];
    char reason[64][200];
    char event[64][16];
    int n;
} ev_log;

static void keep(void *ctx, const kml_event *e)
{
    ev_log *l = ctx;
    if (l->n == 64) return;
    l->e[l->n] = *e;
    snprintf(l->event[l->n], sizeof l->event[0], "%s", e->event);
    snprintf(l->reason[l->n], sizeof l->reason[0], "%s", e->reason ? e->reason : "");
    l->e[l->n].event = l->event[l->n];
    l->e[l->n].reason = l->reason[l->n];
    l->e[l->n].cl_ord_id = l->e[l->n].txid = NULL;
    l->e[l->n].side = e->side ? (e->side[0] == 'b' ? "buy" : "sell") : NULL;
    l->n++;
}

/* One pair, SOL/USD at 40 % of 10 000 USD; taker 0.26 %, opening and
 * rollover fees 0.02 %, margin_stop 40 %; slippage 10 bps + 0.1 x range. */
static void scenario_config(kml_config *c)
{
    config_defaults(c);
    c->n_assets = 1;
    c->initial_capital = 10000;
    c->taker_fee = 0.0026;
    c->margin.opening_fee = 0.0002;
    c->margin.rollover_rate = 0.0002;
    c->margin.margin_stop = 0.4;
    c->execution.slippage_bps = 10;
    c->execution.range_fraction = 0.1;
    c->execution.ordermin = 0.0001;
    c->execution.costmin = 0.5;
    c->execution.lot_decimals = 8;
    c->risk.max_drawdown = 0.5;
    c->risk.daily_loss_limit = 0.5;
}

static void setup(account *a, const kml_config *c, ev_log *l)
{
    memset(l, 0, sizeof *l);
    account_init(a, c, keep, l);
    a->p[0].interval = H;
}

static acct_order order(long long t, double exposure, double lev, double price, double stop, double tp)
{
    acct_order o = {0};
    o.time = t;
    o.exposure = exposure;
    o.leverage = lev;
    o.price = price;
    o.stop = stop;
    o.take_profit = tp;
    return o;
}

static void bar(account *a, long long t, double o, double h, double l, double c)
{
    acct_bar b = {t, o, h, l, c};
    account_bar(a, 0, &b);
}

static void check_identities(const account *a)
{
    char why[200];
    if (account_check(a, 1e-6, why) != 0) t_fail(__FILE__, __LINE__, "%s", why);
}

/* The long of scenarios 1-4: decided at the close of bar 0 (price 100),
 * filled at bar 1's open 100 with slippage 10 bps (0.1) + 0.1 x range 3
 * (0.3) = 100.4; 40 % of 10 000 = 4000 USD / 100.4 = 39.84063745 SOL
 * (rounded down to 8 decimals). */
#define VOL 39.84063745
static void open_long(account *a, ev_log *l)
{
    acct_order o = order(T0, 1, 2, 100, 95, 110);
    account_submit(a, 0, &o);
    bar(a, T0 + H, 100, 102, 99, 101);
    (void)l;
}

static void test_long_next_open(void)
{
    kml_config c;
    account a;
    ev_log l;
    scenario_config(&c);
    setup(&a, &c, &l);
    acct_order o = order(T0, 1, 2, 100, 95, 110);
    account_submit(&a, 0, &o);
    CHECK_EQ_INT(l.n, 0);
    /* bar 0 itself never fills it (it was decided at that bar's close) */
    CHECK(a.p[0].pending.active);
    bar(&a, T0 + H, 100, 102, 99, 101);
    CHECK_EQ_INT(l.n, 1);
    CHECK_EQ_STR(l.e[0].event, "fill");
    CHECK_EQ_STR(l.e[0].side, "buy");
    CHECK_NEAR(l.e[0].price, 100.4, 1e-12);
    CHECK_NEAR(l.e[0].volume, VOL, 1e-12);
    /* fee: taker 0.0026 x 39.84063745 x 100.4 = 10.39999999998 plus the
     * margin opening fee 0.0002 x 3999.99999998 = 0.79999999999 */
    double notional = VOL * 100.4;
    CHECK_NEAR(notional, 3999.99999998, 1e-7);
    CHECK_NEAR(l.e[0].fee, 0.0028 * notional, 1e-9);
    CHECK_NEAR(l.e[0].fee, 11.2, 1e-7);
    CHECK_NEAR(a.cash, 10000 - 11.2, 1e-7);
    CHECK_EQ_INT(a.p[0].side, 1);
    CHECK_NEAR(a.p[0].margin, 2000, 1e-7);           /* 4000 / 2x */
    CHECK_NEAR(a.p[0].liquidation, 70.28, 1e-9);     /* 100.4 x (1 - 0.6 / 2) */
    CHECK_NEAR(a.p[0].stop, 95, 1e-12);              /* 95 x open 100 / reference 100 */
    CHECK_NEAR(a.p[0].take_profit, 110, 1e-12);
    /* marked at the close 101: 39.84063745 x 0.6 = 23.90438247 */
    CHECK_NEAR(account_equity(&a), 10000 - 11.2 + 23.90438247, 1e-6);
    CHECK_NEAR(l.e[0].position, VOL, 1e-12);
    CHECK_EQ_INT((long long)l.e[0].ts, T0 + H);
    check_identities(&a);
}

static void test_stop_intrabar(void)
{
    kml_config c;
    account a;
    ev_log l;
    scenario_config(&c);
    setup(&a, &c, &l);
    open_long(&a, &l);
    double cash = a.cash;
    /* bar 2 opens at 100 above the stop 95 and trades down to 94: the stop
     * fills at 95 less 10 bps (0.095) and 0.1 x range 6.5 (0.65) = 94.255 */
    bar(&a, T0 + 2 * H, 100, 100.5, 94, 96);
    CHECK_EQ_INT(l.n, 2);
    CHECK_EQ_STR(l.e[1].event, "stop");
    CHECK_EQ_STR(l.e[1].side, "sell");
    CHECK_NEAR(l.e[1].price, 94.255, 1e-12);
    double pnl = VOL * (94.255 - 100.4), fee = 0.0026 * VOL * 94.255;
    CHECK_NEAR(pnl, -244.82071713, 1e-6);
    CHECK_NEAR(fee, 9.76346614, 1e-6);
    CHECK_NEAR(l.e[1].pnl, pnl, 1e-9);
    CHECK_NEAR(l.e[1].fee, fee, 1e-9);
    CHECK_NEAR(a.cash, cash + pnl - fee, 1e-9);
    CHECK_EQ_INT(a.p[0].side, 0);
    CHECK_NEAR(account_equity(&a), a.cash, 0);
    check_identities(&a);
}

static void test_gap_through_stop(void)
{
    kml_config c;
    account a;
    ev_log l;
    scenario_config(&c);
    setup(&a, &c, &l);
    open_long(&a, &l);
    /* bar 2 opens at 93, below the stop 95: filled at the open less 10 bps
     * (0.093) and 0.1 x range 2 (0.2) = 92.707 */
    bar(&a, T0 + 2 * H, 93, 94, 92, 93.5);
    CHECK_EQ_INT(l.n, 2);
    CHECK_EQ_STR(l.e[1].event, "stop");
    CHECK_NEAR(l.e[1].price, 92.707, 1e-12);
    CHECK_NEAR(l.e[1].pnl, VOL * (92.707 - 100.4), 1e-9);
    CHECK_NEAR(l.e[1].pnl, -306.4940239, 1e-6); /* 39.84063745 x -7.693 */
    check_identities(&a);
}

static void test_stop_and_take_profit(void)
{
    kml_config c;
    account a;
    ev_log l;
    scenario_config(&c);
    setup(&a, &c, &l);
    open_long(&a, &l);
    /* bar 2 reaches both the take-profit 110 and the stop 95: the stop wins
     * (pessimistic), 95 - 0.095 - 0.1 x 17 = 93.205 */
    bar(&a, T0 + 2 * H, 100, 111, 94, 105);
    CHECK_EQ_INT(l.n, 2);
    CHECK_EQ_STR(l.e[1].event, "stop");
    CHECK_NEAR(l.e[1].price, 93.205, 1e-12);
    /* a bar that only reaches the take-profit fills it at 110 (a limit: no slippage) */
    setup(&a, &c, &l);
    open_long(&a, &l);
    bar(&a, T0 + 2 * H, 100, 111, 99, 105);
    CHECK_EQ_INT(l.n, 2);
    CHECK_EQ_STR(l.e[1].event, "take_profit");
    CHECK_NEAR(l.e[1].price, 110, 0);
    CHECK_NEAR(l.e[1].pnl, VOL * 9.6, 1e-9); /* 382.46011952 */
    check_identities(&a);
}

static void no_slippage(kml_config *c)
{
    c->execution.slippage_bps = 0;
    c->execution.range_fraction = 0;
}

static void test_liquidation_125x(void)
{
    kml_config c;
    account a;
    ev_log l;
    scenario_config(&c);
    no_slippage(&c);
    setup(&a, &c, &l);
    /* 4000 USD at 125x: 40 SOL at 100, margin 32 USD, liquidation at
     * 100 x (1 - 0.6 / 125) = 99.52; fees 10.4 + 0.8 */
    acct_order o = order(T0, 1, 125, 100, NAN, NAN);
    account_submit(&a, 0, &o);
    bar(&a, T0 + H, 100, 100.3, 99.8, 100);
    CHECK_EQ_INT(l.n, 1);
    CHECK_NEAR(a.p[0].margin, 32, 1e-9);
    CHECK_NEAR(a.p[0].liquidation, 99.52, 1e-9);
    CHECK_NEAR(a.cash, 10000 - 11.2, 1e-9);
    /* bar 2 trades down to 99.4: closed at 99.52, the whole margin lost */
    bar(&a, T0 + 2 * H, 100, 100.2, 99.4, 99.9);
    CHECK_EQ_INT(l.n, 2);
    CHECK_EQ_STR(l.e[1].event, "liquidation");
    CHECK_NEAR(l.e[1].price, 99.52, 1e-9);
    CHECK_NEAR(l.e[1].pnl, -32, 1e-9);
    CHECK_NEAR(a.cash, 10000 - 11.2 - 32, 1e-9); /* 9956.8 */
    CHECK_EQ_INT(a.p[0].side, 0);
    check_identities(&a);
    /* a bar that opens beyond the liquidation closes at the open: 40 x (98 - 100) = -80 */
    setup(&a, &c, &l);
    account_submit(&a, 0, &o);
    bar(&a, T0 + H, 100, 100.3, 99.8, 100);
    bar(&a, T0 + 2 * H, 98, 98.5, 97, 98);
    CHECK_EQ_STR(l.e[1].event, "liquidation");
    CHECK_NEAR(l.e[1].price, 98, 0);
    CHECK_NEAR(l.e[1].pnl, -80, 1e-9);
    check_identities(&a);
}

static void test_rollover_12h(void)
{
    kml_config c;
    account a;
    ev_log l;
    scenario_config(&c);
    no_slippage(&c);
    setup(&a, &c, &l);
    /* 40 SOL at 100, 5x (liquidation 88), opened at 01:00 and closed by a flat
     * target decided at 12:00, filled at 13:00: 12 h held, three rollover
     * fees of 0.0002 x 4000 = 0.8 USD, charged at the ends of the bars
     * 04:00, 08:00 and 12:00 (05:00, 09:00, 13:00) */
    acct_order o = order(T0, 1, 5, 100, NAN, NAN);
    account_submit(&a, 0, &o);
    for (int k = 1; k <= 12; k++) bar(&a, T0 + k * H, 100, 100, 100, 100);
    acct_order f = order(T0 + 12 * H, 0, 1, 100, NAN, NAN);
    account_submit(&a, 0, &f);
    bar(&a, T0 + 13 * H, 100, 100, 100, 100);
    int rolls = 0;
    for (int i = 0; i < l.n; i++)
        if (!strcmp(l.e[i].event, "rollover")) {
            rolls++;
            CHECK_NEAR(l.e[i].fee, 0.8, 1e-12);
            CHECK(l.e[i].time == T0 + 4 * H || l.e[i].time == T0 + 8 * H || l.e[i].time == T0 + 12 * H);
        }
    CHECK_EQ_INT(rolls, 3);
    CHECK_NEAR(a.p[0].rollover_paid, 2.4, 1e-12);
    /* open 10.4 + 0.8, close 10.4, rollover 2.4: 10000 - 24 */
    CHECK_NEAR(a.cash, 10000 - 24, 1e-9);
    CHECK_EQ_STR(l.e[l.n - 1].event, "fill");
    check_identities(&a);
}

static void test_reversal(void)
{
    kml_config c;
    account a;
    ev_log l;
    scenario_config(&c);
    no_slippage(&c);
    setup(&a, &c, &l);
    acct_order o = order(T0, 1, 2, 100, NAN, NAN);
    account_submit(&a, 0, &o);
    bar(&a, T0 + H, 100, 100, 100, 100); /* long 40 at 100; cash 10000 - 11.2 */
    acct_order r = order(T0 + H, -1, 2, 100, NAN, NAN);
    account_submit(&a, 0, &r);
    bar(&a, T0 + 2 * H, 100, 100, 100, 100);
    /* the target is -0.4 x equity at the open (9988.8) / 100 = -39.9552 SOL:
     * close the 40 (fee 10.4), then open 39.9552 short (fees 0.0028 x 3995.52) */
    CHECK_EQ_INT(l.n, 3);
    CHECK_EQ_STR(l.e[1].side, "sell");
    CHECK_NEAR(l.e[1].volume, 40, 0);
    CHECK_NEAR(l.e[1].position, 0, 0);
    CHECK_NEAR(l.e[1].fee, 10.4, 1e-9);
    CHECK_EQ_STR(l.e[2].side, "sell");
    CHECK_NEAR(l.e[2].volume, 39.9552, 1e-12);
    CHECK_NEAR(l.e[2].position, -39.9552, 1e-12);
    CHECK_NEAR(l.e[2].fee, 0.0028 * 3995.52, 1e-9); /* 11.187456 */
    CHECK_NEAR(a.cash, 10000 - 11.2 - 10.4 - 11.187456, 1e-9);
    CHECK_EQ_INT(a.p[0].side, -1);
    CHECK_NEAR(a.p[0].liquidation, 130, 1e-9); /* 100 x (1 + 0.6 / 2) */
    check_identities(&a);
}

static void test_add_to_1x_short(void)
{
    kml_config c;
    account a;
    ev_log l;
    scenario_config(&c);
    no_slippage(&c);
    setup(&a, &c, &l);
    /* a short at 1x borrows (a margin position); adding a second 1x slice at
     * another price keeps the leverage at 1 (the summed margin equals the
     * summed value up to a rounding) */
    acct_order o = order(T0, -1, 1, 100, NAN, NAN);
    account_submit(&a, 0, &o);
    bar(&a, T0 + H, 100, 100, 100, 100);
    acct_order more = order(T0 + H, -1.5, 1, 100, NAN, NAN);
    account_submit(&a, 0, &more);
    bar(&a, T0 + 2 * H, 90.8, 90.8, 90.8, 90.8); /* (V E) / M = 0.9999999999999999 here */
    CHECK_EQ_INT(a.p[0].side, -1);
    CHECK_EQ_INT(a.p[0].spot, 0);
    CHECK_NEAR(a.p[0].leverage, 1, 0);
    CHECK_NEAR(a.p[0].liquidation, a.p[0].entry * 1.6, 1e-9); /* 1 + 0.6 / 1 */
    check_identities(&a);
}

static void test_below_ordermin(void)
{
    kml_config c;
    account a;
    ev_log l;
    scenario_config(&c);
    no_slippage(&c);
    c.execution.ordermin = 0.5;
    setup(&a, &c, &l);
    /* 0.01 x 4000 USD / 100 = 0.4 SOL, below ordermin 0.5: a reject, no trade */
    acct_order o = order(T0, 0.01, 2, 100, NAN, NAN);
    account_submit(&a, 0, &o);
    bar(&a, T0 + H, 100, 100, 100, 100);
    CHECK_EQ_INT(l.n, 1);
    CHECK_EQ_STR(l.e[0].event, "reject");
    CHECK_NEAR(l.e[0].volume, 0.4, 1e-12);
    CHECK(strstr(l.e[0].reason, "below ordermin 0.5") != NULL);
    CHECK_EQ_INT(a.p[0].side, 0);
    CHECK_NEAR(a.cash, 10000, 0);
    /* costmin: 0.6 SOL at 100 = 60 USD, below a costmin of 100 */
    c.execution.costmin = 100;
    setup(&a, &c, &l);
    o.exposure = 0.015;
    account_submit(&a, 0, &o);
    bar(&a, T0 + H, 100, 100, 100, 100);
    CHECK_EQ_INT(l.n, 1);
    CHECK(strstr(l.e[0].reason, "below costmin 100") != NULL);
}

static void test_kill_switch(void)
{
    kml_config c;
    account a;
    ev_log l;
    scenario_config(&c);
    no_slippage(&c);
    c.risk.max_drawdown = 0.1;
    setup(&a, &c, &l);
    /* 2.5 x 4000 = 10 000 USD at 2x: 100 SOL at 100; fees 26 + 2 */
    acct_order o = order(T0, 2.5, 2, 100, NAN, NAN);
    account_submit(&a, 0, &o);
    bar(&a, T0 + H, 100, 100, 100, 100);
    CHECK_NEAR(a.cash, 9972, 1e-9);
    bar(&a, T0 + 2 * H, 100, 100, 95, 95); /* equity 9472 > 9000: on */
    CHECK_EQ_INT(a.killed, 0);
    bar(&a, T0 + 3 * H, 95, 95, 89, 90); /* equity 8972 < 0.9 x peak 10 000: kill */
    CHECK_EQ_INT(a.killed, 1);
    CHECK_EQ_STR(l.e[l.n - 1].event, "kill");
    CHECK_NEAR(l.e[l.n - 1].equity, 8972, 1e-9);
    /* closed at the next open 90: pnl -1000, fee 0.0026 x 9000 = 23.4 */
    bar(&a, T0 + 4 * H, 90, 91, 89, 90);
    CHECK_EQ_STR(l.e[l.n - 1].event, "fill");
    CHECK_EQ_STR(l.e[l.n - 1].reason, "kill switch");
    CHECK_NEAR(l.e[l.n - 1].pnl, -1000, 1e-9);
    CHECK_NEAR(a.cash, 9972 - 1000 - 23.4, 1e-9);
    CHECK_EQ_INT(a.p[0].side, 0);
    /* no new position while it is on */
    acct_order n = order(T0 + 4 * H, 1, 2, 90, NAN, NAN);
    account_submit(&a, 0, &n);
    bar(&a, T0 + 5 * H, 90, 90, 90, 90);
    CHECK_EQ_STR(l.e[l.n - 1].event, "reject");
    CHECK(strstr(l.e[l.n - 1].reason, "kill switch") != NULL);
    CHECK_EQ_INT(a.p[0].side, 0);
    /* the documented reset clears it: the peak restarts at the equity */
    account_reset_kill(&a, T0 + 5 * H);
    CHECK_EQ_INT(a.killed, 0);
    CHECK_NEAR(a.peak, 8948.6, 1e-9);
    CHECK_EQ_STR(l.e[l.n - 1].reason, "reset");
    acct_order m = order(T0 + 5 * H, 1, 2, 90, NAN, NAN);
    account_submit(&a, 0, &m);
    bar(&a, T0 + 6 * H, 90, 90, 90, 90);
    CHECK_EQ_STR(l.e[l.n - 1].event, "fill");
    CHECK_EQ_INT(a.p[0].side, 1);
    check_identities(&a);
}

static void test_daily_loss_limit(void)
{
    kml_config c;
    account a;
    ev_log l;
    scenario_config(&c);
    no_slippage(&c);
    c.risk.daily_loss_limit = 0.05;
    setup(&a, &c, &l);
    acct_order o = order(T0, 2.5, 2, 100, NAN, NAN);
    account_submit(&a, 0, &o);
    bar(&a, T0 + H, 100, 100, 100, 100);   /* 100 SOL at 100, cash 9972 */
    bar(&a, T0 + 2 * H, 100, 100, 94, 94); /* equity 9372 < 0.95 x 10 000 */
    CHECK_EQ_INT(a.day_blocked, 1);
    /* adding to the position is refused for the rest of the UTC day ... */
    acct_order more = order(T0 + 2 * H, 3, 2, 94, NAN, NAN);
    account_submit(&a, 0, &more);
    bar(&a, T0 + 3 * H, 94, 94, 94, 94);
    CHECK_EQ_STR(l.e[l.n - 1].event, "reject");
    CHECK(strstr(l.e[l.n - 1].reason, "daily loss limit") != NULL);
    CHECK_NEAR(a.p[0].volume, 100, 0);
    /* ... a reduction is not */
    acct_order less = order(T0 + 3 * H, 2, 2, 94, NAN, NAN);
    account_submit(&a, 0, &less);
    int n1 = l.n;
    bar(&a, T0 + 4 * H, 94, 94, 94, 94); /* then the first rollover (4 h since 01:00) */
    CHECK_EQ_STR(l.e[n1].event, "fill");
    CHECK_EQ_STR(l.e[n1 + 1].event, "rollover");
    CHECK(a.p[0].volume < 100);
    /* the next UTC day trades again */
    double v = a.p[0].volume;
    acct_order next = order(T0 + 24 * H, 3, 2, 94, NAN, NAN);
    bar(&a, T0 + 24 * H, 94, 94, 94, 94);
    CHECK_EQ_INT(a.day_blocked, 0);
    account_submit(&a, 0, &next);
    int n0 = l.n;
    bar(&a, T0 + 25 * H, 94, 94, 94, 94);
    CHECK(l.n > n0);
    CHECK_EQ_STR(l.e[n0].event, "fill");
    CHECK_EQ_STR(l.e[n0].side, "buy");
    CHECK(a.p[0].volume > v);
    check_identities(&a);
}

/* ---- the long random run ---- */

typedef struct {
    account *a;
    const acct_bar *bar; /* bar being run */
    long events, fills, bad_identity, bad_fill;
    char first_bad[300];
} run_ctx;

static void check_event(void *ctx, const kml_event *e)
{
    run_ctx *r = ctx;
    char why[200];
    r->events++;
    if (account_check(r->a, 0.005, why) != 0) {
        if (!r->bad_identity++) snprintf(r->first_bad, sizeof r->first_bad, "event %ld: %s", r->events, why);
    }
    if (!isnan(e->equity) && fabs(e->equity - account_equity(r->a)) > 1e-9) r->bad_identity++;
    if (!isnan(e->price) && r->bar && strcmp(e->event, "reject")) {
        const acct_bar *b = r->bar;
        double slip = r->a->slippage_bps * 1e-4 * b->high + r->a->range_fraction * (b->high - b->low);
        if (e->price < b->low - slip - 1e-9 || e->price > b->high + slip + 1e-9) {
            if (!r->bad_fill++)
                snprintf(r->first_bad, sizeof r->first_bad, "%s at %.17g outside [%g, %g] + %g", e->event, e->price,
                         b->low, b->high, slip);
        }
        r->fills++;
    }
}

static void test_random_run(void)
{
    kml_config c;
    config_defaults(&c); /* three pairs, 40/35/25 %, Kraken's fees */
    c.risk.max_drawdown = 0.6;
    c.risk.daily_loss_limit = 0.2;
    account a;
    run_ctx r = {&a, NULL, 0, 0, 0, 0, ""};
    account_init(&a, &c, check_event, &r);
    rng_t g;
    rng_seed(&g, 20261207);
    double price[3] = {20, 1500, 30000}, vol[3] = {0.012, 0.009, 0.007};
    for (int i = 0; i < 3; i++) a.p[i].interval = H;
    long nbar = 6000, liq = 0, stops = 0, resets = 0;
    double lev_max[3] = {125, 100, 85};
    for (long k = 1; k <= nbar; k++) {
        long long t = T0 + k * H;
        for (int i = 0; i < 3; i++) {
            /* a new target about one bar in four */
            if (rng_uniform(&g) < 0.25) {
                double x = rng_uniform(&g) < 0.2 ? 0 : (rng_uniform(&g) * 3 - 1.5);
                double lev = 1 + floor(rng_uniform(&g) * lev_max[i]);
                int s = (x > 0) - (x < 0);
                double liqmove = 0.6 / lev, d = liqmove * (0.2 + 0.7 * rng_uniform(&g));
                acct_order o = order(t - H, x, lev, price[i], s ? price[i] * (1 - s * d) : NAN,
                                     s ? price[i] * (1 + s * 2 * d) : NAN);
                if (rng_uniform(&g) < 0.2) o.stop = NAN; /* some without a stop: liquidations happen */
                account_submit(&a, i, &o);
            }
            /* a Student-t bar with an occasional gap */
            double open = price[i] * exp(rng_uniform(&g) < 0.02 ? rng_normal(&g) * 4 * vol[i] : 0);
            double close = open * exp(rng_student_t(&g, 4) * vol[i]);
            double hi = fmax(open, close) * exp(fabs(rng_normal(&g)) * vol[i] * 0.5);
            double lo = fmin(open, close) * exp(-fabs(rng_normal(&g)) * vol[i] * 0.5);
            acct_bar b = {t, open, hi, lo, close};
            r.bar = &b;
            long before = r.events;
            account_bar(&a, i, &b);
            (void)before;
            r.bar = NULL;
            price[i] = close;
            /* no margin position stays open beyond its liquidation price */
            const acct_pair *p = &a.p[i];
            if (p->side && !p->spot)
                CHECK(p->side > 0 ? b.low > p->liquidation : b.high < p->liquidation);
        }
        if (account_equity(&a) <= 0) t_fail(__FILE__, __LINE__, "equity %g at bar %ld", account_equity(&a), k);
        if (a.killed && rng_uniform(&g) < 0.05) {
            account_reset_kill(&a, T0 + k * H);
            resets++;
        }
    }
    for (int i = 0; i < 3; i++) liq += a.p[i].realised < 0; /* touched */
    (void)stops;
    if (r.bad_identity || r.bad_fill) t_fail(__FILE__, __LINE__, "%ld identity, %ld fill failures; first: %s",
                                             r.bad_identity, r.bad_fill, r.first_bad);
    CHECK(r.fills > 1000);
    /* the run exercised every kind of event */
    CHECK(a.p[0].rollover_paid > 0 && a.p[1].fees > 0 && a.p[2].fees > 0);
    printf("# random run: %ld events, %ld fills, %ld kill resets, equity %.2f\n", r.events, r.fills, resets,
           account_equity(&a));
}

/* Event kinds seen over a random run with many liquidations and stops. */
static int kinds_seen;
static void count_kinds(void *ctx, const kml_event *e)
{
    (void)ctx;
    const char *k[] = {"fill", "stop", "take_profit", "liquidation", "rollover", "reject", "cancel", "kill"};
    for (int i = 0; i < 8; i++)
        if (!strcmp(e->event, k[i])) kinds_seen |= 1 << i;
}

static void test_random_run_kinds(void)
{
    kml_config c;
    config_defaults(&c);
    c.risk.max_drawdown = 0.3;
    c.execution.ordermin = 0.05;
    account a;
    account_init(&a, &c, count_kinds, NULL);
    rng_t g;
    rng_seed(&g, 7);
    double price = 20;
    a.p[0].interval = H;
    for (long k = 1; k <= 4000; k++) {
        if (rng_uniform(&g) < 0.3) {
            double x = rng_uniform(&g) * 4 - 2, lev = 1 + floor(rng_uniform(&g) * 125);
            int s = (x > 0) - (x < 0);
            acct_order o = order(T0 + (k - 1) * H, rng_uniform(&g) < 0.05 ? 0.0001 : x, lev, price,
                                 rng_uniform(&g) < 0.5 ? NAN : price * (1 - s * 0.3 / lev), price * (1 + s * 0.01));
            account_submit(&a, 0, &o);
            if (rng_uniform(&g) < 0.1) {
                o.time += 1;
                account_submit(&a, 0, &o); /* a replaced target: cancel */
            }
        }
        double open = price, close = open * exp(rng_student_t(&g, 3) * 0.015);
        acct_bar b = {T0 + k * H, open, fmax(open, close) * 1.004, fmin(open, close) * 0.996, close};
        account_bar(&a, 0, &b);
        price = close;
        if (a.killed) account_reset_kill(&a, b.time);
    }
    CHECK_EQ_INT(kinds_seen, 0xff);
}

static void test_state_round_trip(void)
{
    kml_config c;
    config_defaults(&c);
    account a, b;
    account_init(&a, &c, NULL, NULL);
    for (int i = 0; i < 3; i++) a.p[i].interval = H;
    acct_order o = order(T0, 1.5, 10, 20, 19.1, 21.5);
    account_submit(&a, 0, &o);
    acct_bar x = {T0 + H, 20.01, 20.3, 19.9, 20.2};
    account_bar(&a, 0, &x);
    acct_order p = order(T0 + H, -0.7, 3, 1500, NAN, 1400);
    account_submit(&a, 1, &p);
    cJSON *j1 = account_to_json(&a);
    char *s1 = json_print(j1, 0);
    cJSON_Delete(j1);
    account_init(&b, &c, NULL, NULL);
    cJSON *j = cJSON_Parse(s1);
    account_from_json(&b, j, "state");
    cJSON *j2 = account_to_json(&b);
    char *s2 = json_print(j2, 0);
    cJSON_Delete(j2);
    CHECK_EQ_STR(s2, s1);
    CHECK(b.p[1].pending.active);
    CHECK(isnan(b.p[1].pending.stop));
    CHECK_NEAR(b.p[0].entry, a.p[0].entry, 0);
    CHECK_NEAR(account_equity(&b), account_equity(&a), 0);
    cJSON_Delete(j);
    free(s1);
    free(s2);
}

static void from_json_bad(void *arg)
{
    kml_config c;
    config_defaults(&c);
    account a;
    account_init(&a, &c, NULL, NULL);
    cJSON *j = cJSON_Parse(arg);
    account_from_json(&a, j, "st/account.json");
}

static void test_state_errors(void)
{
    t_expect_exit(from_json_bad, "[1]", NULL, 65, "st/account.json: $: expected an object");
    t_expect_exit(from_json_bad, "{\"version\":1,\"initial\":1}", NULL, 65, "st/account.json: $.cash: missing");
    t_expect_exit(from_json_bad,
                  "{\"version\":1,\"initial\":1,\"cash\":1,\"peak\":1,\"day\":null,\"day_start\":1,"
                  "\"day_blocked\":false,\"killed\":false,\"seq\":0,\"pairs\":{\"DOGE/USD\":{}}}",
                  NULL, 78, "$.pairs.DOGE/USD: the configuration has no such pair");
    t_expect_exit(from_json_bad,
                  "{\"version\":1,\"initial\":1,\"cash\":\"x\"}", NULL, 65, "$.cash: expected a number");
}

static void test_lots(void)
{
    CHECK_NEAR(lot_floor(39.840637450199203, 8), 39.84063745, 0);
    CHECK_NEAR(lot_floor(-1.239, 2), -1.23, 0);
    CHECK_NEAR(lot_floor(0.3, 1), 0.3, 0);   /* on the grid stays there */
    CHECK_NEAR(lot_floor(0.29999999999999999, 1), 0.3, 0);
    CHECK_NEAR(lot_round(0.1 + 0.2, 8), 0.3, 0);
    CHECK_NEAR(lot_floor(7.9, 0), 7, 0);
}

static void test_event_line(void)
{
    kml_event e = event_blank("fill", "sandbox", (double)T0, T0, "SOL/USD");
    e.seq = 3;
    e.side = "buy";
    e.volume = 0.1 + 0.2;
    e.price = 100.4;
    char *s = event_line(&e, NULL);
    CHECK_EQ_STR(s, "{\"ts\":\"2023-01-01T00:00:00.000Z\",\"time\":1672531200,\"mode\":\"sandbox\",\"event\":\"fill\","
                    "\"pair\":\"SOL/USD\",\"seq\":3,\"side\":\"buy\",\"volume\":0.30000000000000004,\"price\":100.4}");
    free(s);
}

int main(void)
{
    t_run("a long fills at the next open with slippage, taker and opening fees", test_long_next_open);
    t_run("a stop hit inside the bar fills at the stop less slippage", test_stop_intrabar);
    t_run("a bar opening through the stop fills at the open", test_gap_through_stop);
    t_run("stop and take-profit in one bar: the stop wins", test_stop_and_take_profit);
    t_run("a 125x long is liquidated at its liquidation price, its margin lost", test_liquidation_125x);
    t_run("a 12-hour hold pays three rollover fees", test_rollover_12h);
    t_run("a reversal closes, then opens the other side", test_reversal);
    t_run("adding to a 1x short keeps it a 1x margin position", test_add_to_1x_short);
    t_run("an order below ordermin or costmin is a reject event", test_below_ordermin);
    t_run("the drawdown kill switch closes at the next open, refuses new positions, resets", test_kill_switch);
    t_run("the daily loss limit blocks new positions until the next UTC day", test_daily_loss_limit);
    t_run("a long seeded random run keeps the identities after every event", test_random_run);
    t_run("a random run shows every kind of event", test_random_run_kinds);
    t_run("the state's JSON round trip is exact", test_state_round_trip);
    t_run("a malformed state dies with the key named", test_state_errors);
    t_run("volumes round to the lot grid", test_lots);
    t_run("an event line has the documented members in order", test_event_line);
    return t_done();
}
