/* test_report.c: lib/report against numbers worked out by hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "report/report.h"
#include "t.h"

#define PPY (365.0 * 24)

/* Equity 100, 110, 99, 121 an hour apart: returns 0.1, -0.1, 22/99. */
static void test_perf_hand(void)
{
    const int64_t t[] = {0, 3600, 7200, 10800};
    const double eq[] = {100, 110, 99, 121};
    perf_stats s;
    perf_compute(&s, t, eq, 4, report_periods_per_year(3600));
    double r[3] = {0.1, -0.1, 22.0 / 99};
    double mean = (r[0] + r[1] + r[2]) / 3;
    double sd = sqrt(((r[0] - mean) * (r[0] - mean) + (r[1] - mean) * (r[1] - mean) + (r[2] - mean) * (r[2] - mean)) / 2);
    CHECK_NEAR(report_periods_per_year(3600), PPY, 0);
    CHECK_REL(s.total_return, 0.21, 1e-14);
    CHECK_REL(s.ann_vol, sd * sqrt(PPY), 1e-12);
    CHECK_REL(s.sharpe, mean / sd * sqrt(PPY), 1e-12);
    CHECK_REL(s.sortino, mean / sqrt(0.01 / 3) * sqrt(PPY), 1e-12);
    CHECK_REL(s.max_drawdown, 0.1, 1e-12);
    CHECK_EQ_INT(s.dd_peak, 3600);
    CHECK_EQ_INT(s.dd_trough, 7200);
    CHECK_EQ_INT(s.dd_end, 10800);
    CHECK_EQ_INT(s.dd_recovered, 1);
    CHECK_EQ_INT(s.dd_bars, 2);
    CHECK_REL(s.dd_days, 2.0 / 24, 1e-14);
    double years = 10800 / (365.0 * 86400);
    CHECK_REL(s.cagr, pow(1.21, 1 / years) - 1, 1e-12);
    CHECK_REL(s.calmar, s.cagr / 0.1, 1e-12);
}

/* A drawdown that is never recovered ends at the last point; a curve that
 * only rises has no drawdown and no Calmar. */
static void test_perf_unrecovered(void)
{
    const int64_t t[] = {0, 60, 120, 180, 240};
    const double down[] = {100, 120, 90, 100, 110};
    perf_stats s;
    perf_compute(&s, t, down, 5, report_periods_per_year(60));
    CHECK_REL(s.max_drawdown, 0.25, 1e-12);
    CHECK_EQ_INT(s.dd_recovered, 0);
    CHECK_EQ_INT(s.dd_peak, 60);
    CHECK_EQ_INT(s.dd_end, 240);
    CHECK_EQ_INT(s.dd_bars, 3);
    const double up[] = {100, 101, 102, 103, 104};
    perf_compute(&s, t, up, 5, report_periods_per_year(60));
    CHECK(s.max_drawdown == 0);
    CHECK(isnan(s.calmar));
    CHECK(isnan(s.sortino));
    double dd[5];
    drawdown_series(dd, down, 5);
    CHECK_NEAR(dd[0], 0, 0);
    CHECK_NEAR(dd[2], 0.25, 1e-15);
    CHECK_NEAR(dd[4], 1 - 110.0 / 120, 1e-15);
}

static void test_trade_stats(void)
{
    const double pnl[] = {10, -5, 0, 3};
    trade_stats s;
    trade_stats_compute(&s, pnl, 4);
    CHECK_EQ_INT(s.trades, 4);
    CHECK_EQ_INT(s.wins, 2);
    CHECK_EQ_INT(s.losses, 1);
    CHECK_NEAR(s.profit_factor, 13.0 / 5, 1e-15);
    CHECK_NEAR(s.win_rate, 0.5, 0);
    CHECK_NEAR(s.expectancy, 2, 1e-15);
    trade_stats_compute(&s, pnl, 1);
    CHECK(isnan(s.profit_factor));
    trade_stats_compute(&s, pnl, 0);
    CHECK(isnan(s.win_rate) && isnan(s.expectancy));
}

/* One pair, closes 100 102 105 103 110 an hour apart; capital 1000.
 * bar 1: buy 2 @ 101, fee 0.5            pnl 2*102 - 202 - 0.5        =   1.5
 * bar 2: sell 5 @ 104 (reversal), fee 1.3 pnl -3*105 - 2*102 + 520 - 1.3 = -0.3
 * bar 3: rollover 0.2                     pnl -3*103 + 3*105 - 0.2       =   5.8
 * bar 4: stop, buy 3 @ 108, fee 0.8       pnl 3*103 - 324 - 0.8          = -15.8
 * Trades: long 2 @ 101 -> 104 with fees 0.5 + 1.3*2/5: 4.98; short 3 @ 104
 * -> 108 with fees 1.3*3/5 + 0.2 + 0.8: -13.78. */
static void test_replay_hand(void)
{
    static int64_t t[] = {0, 3600, 7200, 10800, 14400};
    static double close[] = {100, 102, 105, 103, 110};
    rp_event ev[] = {{3600, RP_FILL, 0, 2, 101, 0.5, NAN},
                     {7200, RP_FILL, 0, -5, 104, 1.3, NAN},
                     {10800, RP_ROLLOVER, 0, 0, NAN, 0.2, NAN},
                     {14400, RP_STOP, 0, 3, 108, 0.8, 991.2}};
    report_input in;
    memset(&in, 0, sizeof in);
    in.npairs = 1;
    strcpy(in.pair[0].name, "SOL/USD");
    strcpy(in.pair[0].alt, "SOLUSD");
    in.pair[0].n = 5;
    in.pair[0].t = t;
    in.pair[0].close = close;
    in.alloc[0] = 0.4;
    in.capital = 1000;
    in.bench_fee = 0.0026;
    in.ev = ev;
    in.nev = 4;
    report_result res;
    report_replay(&res, &in);
    CHECK_EQ_INT(res.n, 5);
    CHECK_EQ_INT(res.interval, 3600);
    const double want[] = {1000, 1001.5, 1001.2, 1007, 991.2};
    for (int i = 0; i < 5; i++) CHECK_REL(res.equity[i], want[i], 1e-13);
    double v = 400 / (100 * 1.0026);
    for (int i = 0; i < 5; i++) CHECK_REL(res.bench[i], 600 + v * close[i], 1e-13);
    CHECK_REL(res.bench_pnl[0], v * 110 - 400, 1e-13);
    CHECK_EQ_INT(res.ntrades, 2);
    CHECK_EQ_INT(res.open_trades, 0);
    CHECK_EQ_INT(res.trades[0].side, 1);
    CHECK_REL(res.trades[0].pnl, 4.98, 1e-12);
    CHECK_EQ_INT(res.trades[1].side, -1);
    CHECK_REL(res.trades[1].pnl, -13.78, 1e-12);
    CHECK_REL(res.trades[1].entry_price, 104, 1e-15);
    CHECK_REL(res.trades[1].exit_price, 108, 1e-15);
    CHECK_REL(res.fees[0], 2.6, 1e-14);
    CHECK_REL(res.rollover[0], 0.2, 1e-14);
    CHECK_REL(res.notional[0], 1046, 1e-14);
    CHECK_REL(res.last_reported_equity, 991.2, 0);
    CHECK_EQ_INT(res.eq_checked, 1); /* bar 4 ends flat after an event saying 991.2 */
    CHECK(res.eq_max_rel_diff < 1e-15);
    CHECK_NEAR(res.pos[4], 0, 0);
    CHECK_NEAR(res.pos[2], -3, 0);

    cJSON *m = report_metrics_json(&res, &in);
    cJSON *st = cJSON_GetObjectItem(m, "strategy");
    CHECK_REL(cJSON_GetObjectItem(st, "final_equity")->valuedouble, 991.2, 1e-13);
    CHECK_REL(cJSON_GetObjectItem(st, "turnover")->valuedouble, 1046 / ((1000 + 1001.5 + 1001.2 + 1007 + 991.2) / 5),
              1e-13);
    CHECK_REL(cJSON_GetObjectItem(st, "exposure")->valuedouble, 1, 0);
    CHECK_REL(cJSON_GetObjectItem(st, "profit_factor")->valuedouble, 4.98 / 13.78, 1e-12);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(m, "beat_benchmark")));
    CHECK(!cJSON_GetObjectItem(m, "regimes") && !cJSON_GetObjectItem(m, "strategies"));
    cJSON_Delete(m);
    report_result_free(&res);
}

/* Attribution: two strategies with weights 0.75 / 0.25 and signals 1 / -1
 * in the decision in force take 1.5 and -0.5 of the bar's P&L. */
static void test_attribution(void)
{
    static int64_t t[] = {0, 3600, 7200};
    static double close[] = {100, 100, 110};
    rp_event ev[] = {{3600, RP_FILL, 0, 1, 100, 0, NAN}};
    double w[2] = {0.75, 0.25}, s[2] = {1, -1};
    rp_decision dec[] = {{0, 0, 0, w, s}, {3600, 0, 1, w, s}};
    char *regimes[] = {"trending_up", "ranging"}, *strats[] = {"trend", "meanrev"};
    report_input in;
    memset(&in, 0, sizeof in);
    in.npairs = 1;
    strcpy(in.pair[0].name, "SOL/USD");
    in.pair[0].n = 3;
    in.pair[0].t = t;
    in.pair[0].close = close;
    in.capital = 1000;
    in.ev = ev;
    in.nev = 1;
    in.dec = dec;
    in.ndec = 2;
    in.nregimes = 2;
    in.regimes = regimes;
    in.nstrats = 2;
    in.strats = strats;
    report_result res;
    report_replay(&res, &in);
    CHECK_EQ_INT(res.n, 3);
    CHECK_EQ_INT(res.regime[1], 0);
    CHECK_EQ_INT(res.regime[2], 1);
    cJSON *m = report_metrics_json(&res, &in);
    cJSON *sts = cJSON_GetObjectItem(m, "strategies");
    CHECK_REL(cJSON_GetObjectItem(cJSON_GetObjectItem(sts, "trend"), "pnl")->valuedouble, 15, 1e-14);
    CHECK_REL(cJSON_GetObjectItem(cJSON_GetObjectItem(sts, "meanrev"), "pnl")->valuedouble, -5, 1e-14);
    CHECK_NEAR(cJSON_GetObjectItem(m, "unattributed_pnl")->valuedouble, 0, 1e-12);
    cJSON *rg = cJSON_GetObjectItem(m, "regimes");
    CHECK_REL(cJSON_GetObjectItem(cJSON_GetObjectItem(rg, "ranging"), "pnl")->valuedouble, 10, 1e-14);
    CHECK_NEAR(cJSON_GetObjectItem(cJSON_GetObjectItem(rg, "trending_up"), "pnl")->valuedouble, 0, 0);
    cJSON_Delete(m);
    report_result_free(&res);
}

/* A reconciliation adopting 2 units with no price at bar 1 (close 102) is
 * taken at that close: bar 1 moves no equity, bar 2 earns 2 * (105 - 102). */
static void test_adopted_position(void)
{
    static int64_t t[] = {0, 3600, 7200};
    static double close[] = {100, 102, 105};
    rp_event ev[] = {{3600, RP_RECONCILE, 0, 2, NAN, 0, NAN}};
    report_input in;
    memset(&in, 0, sizeof in);
    in.npairs = 1;
    strcpy(in.pair[0].name, "SOL/USD");
    in.pair[0].n = 3;
    in.pair[0].t = t;
    in.pair[0].close = close;
    in.capital = 1000;
    in.ev = ev;
    in.nev = 1;
    report_result res;
    report_replay(&res, &in);
    CHECK_REL(res.equity[1], 1000, 1e-15);
    CHECK_REL(res.equity[2], 1006, 1e-15);
    CHECK_EQ_INT(res.open_trades, 1);
    report_result_free(&res);
}

static void replay_early(void *arg)
{
    static int64_t t[] = {0, 3600};
    static double close[] = {100, 100};
    rp_event ev[] = {{0, RP_FILL, 0, 1, 100, 0, NAN}};
    report_input in;
    memset(&in, 0, sizeof in);
    in.npairs = 1;
    strcpy(in.pair[0].name, "SOL/USD");
    in.pair[0].n = 2;
    in.pair[0].t = t;
    in.pair[0].close = close;
    in.capital = 1000;
    in.ev = ev;
    in.nev = 1;
    if (arg) ev[0].time = 7200;
    report_result res;
    report_replay(&res, &in);
}

static void test_replay_errors(void)
{
    t_expect_exit(replay_early, NULL, NULL, 65, "at least one bar before the first event");
    t_expect_exit(replay_early, "late", NULL, 65, "after the last candle");
}

int main(void)
{
    t_run("perf: hand-worked curve", test_perf_hand);
    t_run("perf: unrecovered drawdown, no drawdown", test_perf_unrecovered);
    t_run("trade stats", test_trade_stats);
    t_run("replay: hand-worked long, reversal, rollover, stop", test_replay_hand);
    t_run("replay: regime and strategy attribution", test_attribution);
    t_run("replay: a position adopted without a price is taken at the close", test_adopted_position);
    t_run("replay: events off the candles die 65", test_replay_errors);
    return t_done();
}
