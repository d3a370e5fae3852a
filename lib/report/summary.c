/* summary.c: metrics.json from a replay (report.h, docs/report.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "report/report.h"
#include "util.h"

static void add_perf(cJSON *o, const perf_stats *s)
{
    json_add_num(o, "initial_equity", s->initial);
    json_add_num(o, "final_equity", s->final);
    json_add_num(o, "total_return", s->total_return);
    json_add_num(o, "cagr", s->cagr);
    json_add_num(o, "ann_volatility", s->ann_vol);
    json_add_num(o, "sharpe", s->sharpe);
    json_add_num(o, "sortino", s->sortino);
    json_add_num(o, "calmar", s->calmar);
    json_add_num(o, "max_drawdown", s->max_drawdown);
    json_add_num(o, "max_drawdown_days", s->dd_days);
    json_add_num(o, "max_drawdown_bars", (double)s->dd_bars);
    json_add_num(o, "max_drawdown_peak", (double)s->dd_peak);
    json_add_num(o, "max_drawdown_trough", (double)s->dd_trough);
    json_add_num(o, "max_drawdown_end", (double)s->dd_end);
    cJSON_AddBoolToObject(o, "max_drawdown_recovered", s->dd_recovered);
}

static void add_trades(cJSON *o, const trade_stats *s)
{
    json_add_num(o, "trades", (double)s->trades);
    json_add_num(o, "wins", (double)s->wins);
    json_add_num(o, "losses", (double)s->losses);
    json_add_num(o, "win_rate", s->win_rate);
    json_add_num(o, "profit_factor", s->profit_factor);
    json_add_num(o, "expectancy", s->expectancy);
    json_add_num(o, "trade_pnl", s->pnl);
}

static void add_series(cJSON *o, const series_stats *s)
{
    json_add_num(o, "return", s->sum);
    json_add_num(o, "ann_volatility", s->ann_vol);
    json_add_num(o, "sharpe", s->sharpe);
}

/* Trade statistics of the closed trades of pair p (p < 0: all pairs). */
static void trades_of(trade_stats *s, const report_result *res, int p)
{
    double *x = xmalloc((size_t)(res->ntrades ? res->ntrades : 1) * sizeof *x);
    long k = 0;
    for (long j = 0; j < res->ntrades; j++)
        if (p < 0 || res->trades[j].pair == p) x[k++] = res->trades[j].pnl;
    trade_stats_compute(s, x, k);
    free(x);
}

cJSON *report_metrics_json(const report_result *res, const report_input *in)
{
    const long n = res->n;
    const int P = res->P, S = res->S, G = in->nregimes;
    cJSON *root = cJSON_CreateObject();

    double mean_eq = 0;
    for (long i = 0; i < n; i++) mean_eq += res->equity[i];
    mean_eq /= (double)n;

    cJSON *data = cJSON_AddObjectToObject(root, "data");
    json_add_num(data, "from", (double)res->t[0]);
    json_add_num(data, "to", (double)res->t[n - 1]);
    json_add_num(data, "bars", (double)n);
    json_add_num(data, "interval_seconds", (double)res->interval);
    json_add_num(data, "periods_per_year", res->ppy);
    json_add_num(data, "initial_capital", in->capital);
    json_add_num(data, "events_last_equity", res->last_reported_equity);
    json_add_num(data, "equity_checked_bars", (double)res->eq_checked);
    json_add_num(data, "equity_max_rel_diff", res->eq_checked ? res->eq_max_rel_diff : NAN);
    cJSON *pl = cJSON_AddArrayToObject(data, "pairs");
    for (int p = 0; p < P; p++) cJSON_AddItemToArray(pl, cJSON_CreateString(in->pair[p].name));

    /* The account. */
    perf_stats ps, pb;
    perf_compute(&ps, res->t, res->equity, n, res->ppy);
    perf_compute(&pb, res->t, res->bench, n, res->ppy);
    cJSON *st = cJSON_AddObjectToObject(root, "strategy");
    add_perf(st, &ps);
    trade_stats tsa;
    trades_of(&tsa, res, -1);
    add_trades(st, &tsa);
    json_add_num(st, "open_trades", (double)res->open_trades);
    double fees = 0, roll = 0, notional = 0;
    long liq = 0, exposed = 0;
    for (int p = 0; p < P; p++) {
        fees += res->fees[p];
        roll += res->rollover[p];
        notional += res->notional[p];
        liq += res->liquidations[p];
    }
    for (long i = 1; i < n; i++) {
        int a = 0;
        for (int p = 0; p < P; p++) a |= res->active[i * P + p];
        exposed += a;
    }
    json_add_num(st, "exposure", n > 1 ? (double)exposed / (double)(n - 1) : NAN);
    json_add_num(st, "traded_notional", notional);
    json_add_num(st, "turnover", notional / mean_eq);
    json_add_num(st, "fees", fees);
    json_add_num(st, "rollover", roll);
    json_add_num(st, "liquidations", (double)liq);

    cJSON *bm = cJSON_AddObjectToObject(root, "benchmark");
    cJSON_AddStringToObject(bm, "kind", "buy-and-hold");
    add_perf(bm, &pb);
    double bfees = 0;
    for (int p = 0; p < P; p++)
        if (in->alloc[p] > 0) bfees += in->alloc[p] * in->capital * in->bench_fee / (1 + in->bench_fee);
    json_add_num(bm, "fees", bfees);
    cJSON_AddBoolToObject(root, "beat_benchmark", res->equity[n - 1] > res->bench[n - 1]);
    json_add_num(root, "excess_return", ps.total_return - pb.total_return);

    /* Per pair: its P&L as a contribution to the account's return. */
    double *x = xcalloc((size_t)n, sizeof *x);
    cJSON *pairs = cJSON_AddObjectToObject(root, "pairs");
    for (int p = 0; p < P; p++) {
        cJSON *o = cJSON_AddObjectToObject(pairs, in->pair[p].name);
        double pnl = 0;
        long act = 0;
        for (long i = 1; i < n; i++) {
            pnl += res->pnl[i * P + p];
            x[i - 1] = res->pnl[i * P + p] / res->equity[i - 1];
            act += res->active[i * P + p];
        }
        series_stats ss;
        series_compute(&ss, x, n - 1, res->ppy);
        json_add_num(o, "allocation", in->alloc[p]);
        json_add_num(o, "pnl", pnl);
        json_add_num(o, "benchmark_pnl", res->bench_pnl[p]);
        add_series(o, &ss);
        trade_stats tp;
        trades_of(&tp, res, p);
        add_trades(o, &tp);
        json_add_num(o, "exposure", n > 1 ? (double)act / (double)(n - 1) : NAN);
        json_add_num(o, "traded_notional", res->notional[p]);
        json_add_num(o, "turnover", res->notional[p] / mean_eq);
        json_add_num(o, "fees", res->fees[p]);
        json_add_num(o, "rollover", res->rollover[p]);
        json_add_num(o, "liquidations", (double)res->liquidations[p]);
        json_add_num(o, "events", (double)res->events[p]);
    }

    /* Per regime: the pair-bars whose decision in force carried it. */
    if (G > 0) {
        double *y = xmalloc((size_t)(n * P) * sizeof *y);
        cJSON *regs = cJSON_AddObjectToObject(root, "regimes");
        for (int g = 0; g < G; g++) {
            long k = 0, act = 0, hits = 0;
            double pnl = 0;
            for (long i = 1; i < n; i++)
                for (int p = 0; p < P; p++) {
                    long j = i * P + p;
                    if (res->regime[j] != g) continue;
                    y[k++] = res->pnl[j] / res->equity[i - 1];
                    pnl += res->pnl[j];
                    if (res->active[j]) {
                        act++;
                        hits += res->pnl[j] > 0;
                    }
                }
            series_stats ss;
            series_compute(&ss, y, k, res->ppy);
            cJSON *o = cJSON_AddObjectToObject(regs, in->regimes[g]);
            json_add_num(o, "pair_bars", (double)k);
            json_add_num(o, "pnl", pnl);
            add_series(o, &ss);
            json_add_num(o, "exposure", k ? (double)act / (double)k : NAN);
            json_add_num(o, "hit_rate", act ? (double)hits / (double)act : NAN);
        }
        free(y);
    }

    /* Per strategy: each bar's P&L split by the weighted signals of the
     * decision in force. */
    if (S > 0) {
        cJSON *sts = cJSON_AddObjectToObject(root, "strategies");
        double attributed = 0, all = 0;
        for (long i = 1; i < n; i++)
            for (int p = 0; p < P; p++) all += res->pnl[i * P + p];
        for (int s = 0; s < S; s++) {
            double pnl = 0;
            for (long i = 1; i < n; i++) {
                double a = 0;
                for (int p = 0; p < P; p++) a += res->pnl[i * P + p] * res->share[(i * P + p) * S + s];
                x[i - 1] = a / res->equity[i - 1];
                pnl += a;
            }
            attributed += pnl;
            series_stats ss;
            series_compute(&ss, x, n - 1, res->ppy);
            cJSON *o = cJSON_AddObjectToObject(sts, in->strats[s]);
            json_add_num(o, "pnl", pnl);
            add_series(o, &ss);
        }
        json_add_num(root, "unattributed_pnl", all - attributed);
    }
    free(x);
    return root;
}
