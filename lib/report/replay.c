/* replay.c: execution events and candles into a marked equity curve, trades,
 * the buy-and-hold benchmark and the attribution of P&L (report.h).
 *
 * The account's equity is not taken from the events: between two bar closes
 * a pair's P&L is
 *     q_end * mark_end - q_start * mark_start + sum(-dq * price) - fees
 * over the events of that bar (dq the signed change of the position at its
 * event price, fees every fee, opening fee and rollover charged). Every cash
 * effect of a margin account is one of those, so the curve depends only on
 * what the events say happened and on the closes, whatever way the account
 * keeps its books (docs/report.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "candles.h"
#include "report/report.h"
#include "util.h"

const char *const rp_kind_names[RP_NKINDS] = {"order", "fill", "reject", "cancel", "stop", "take_profit",
                                              "liquidation", "rollover", "kill", "reconcile", "error"};

int rp_kind_parse(const char *name)
{
    for (int k = 0; k < RP_NKINDS; k++)
        if (!strcmp(name, rp_kind_names[k])) return k;
    return -1;
}

/* A round trip in progress for one pair. */
typedef struct {
    int open;
    rp_trade tr;
    double in_vol, in_val, out_vol, out_val;
} trade_state;

static void trade_push(report_result *res, long *cap, const rp_trade *tr)
{
    if (res->ntrades == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        res->trades = xrealloc(res->trades, (size_t)*cap * sizeof *res->trades);
    }
    res->trades[res->ntrades++] = *tr;
}

/* One signed change dq at price with fee, on a position q (updated), within
 * a trade: opens, adds to, reduces, closes or reverses it. A reversal is the
 * close of one trade and the opening of the next, its fee split by volume. */
static void trade_change(report_result *res, long *cap, trade_state *ts, int pair, double *q, double dq,
                         double price, double fee, int64_t time)
{
    double q0 = *q, q1 = q0 + dq;
    /* Positions are sums of event volumes: a close that sells what was
     * bought leaves an exact 0, a rounding residue below this is flat too. */
    if (fabs(q1) <= 1e-12 * fmax(fabs(q0), fabs(dq))) q1 = 0;
    if (q0 != 0 && q1 != 0 && (q0 > 0) != (q1 > 0)) {
        double f1 = fee * fabs(q0) / fabs(dq);
        trade_change(res, cap, ts, pair, q, -q0, price, f1, time);
        trade_change(res, cap, ts, pair, q, q1, price, fee - f1, time);
        return;
    }
    if (q0 == 0) {
        memset(ts, 0, sizeof *ts);
        ts->open = 1;
        ts->tr.pair = pair;
        ts->tr.side = dq > 0 ? 1 : -1;
        ts->tr.entry_time = time;
    }
    if (fabs(q1) > fabs(q0)) {
        ts->in_vol += fabs(dq);
        ts->in_val += fabs(dq) * price;
    } else {
        ts->out_vol += fabs(dq);
        ts->out_val += fabs(dq) * price;
    }
    ts->tr.pnl -= dq * price;
    ts->tr.fees += fee;
    if (fabs(q1) > ts->tr.volume) ts->tr.volume = fabs(q1);
    *q = q1;
    if (q1 == 0) {
        ts->tr.exit_time = time;
        ts->tr.entry_price = ts->in_val / ts->in_vol;
        ts->tr.exit_price = ts->out_vol > 0 ? ts->out_val / ts->out_vol : NAN;
        ts->tr.pnl -= ts->tr.fees;
        trade_push(res, cap, &ts->tr);
        ts->open = 0;
    }
}

/* The close of the last bar of s at or before t; NaN when none. */
static double close_at(const rp_series *s, int64_t t)
{
    long lo = 0, hi = s->n;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (s->t[mid] <= t) lo = mid + 1;
        else hi = mid;
    }
    return lo > 0 ? s->close[lo - 1] : NAN;
}

/* Sorted union of the pairs' bar times; *m gets its length. */
static int64_t *union_times(const report_input *in, long *m)
{
    long total = 0;
    for (int p = 0; p < in->npairs; p++) total += in->pair[p].n;
    int64_t *u = xmalloc((size_t)(total ? total : 1) * sizeof *u);
    long *at = xcalloc((size_t)in->npairs, sizeof *at);
    long k = 0;
    for (;;) {
        int64_t best = INT64_MAX;
        for (int p = 0; p < in->npairs; p++)
            if (at[p] < in->pair[p].n && in->pair[p].t[at[p]] < best) best = in->pair[p].t[at[p]];
        if (best == INT64_MAX) break;
        u[k++] = best;
        for (int p = 0; p < in->npairs; p++)
            if (at[p] < in->pair[p].n && in->pair[p].t[at[p]] == best) at[p]++;
    }
    free(at);
    *m = k;
    return u;
}

void report_replay(report_result *res, const report_input *in)
{
    memset(res, 0, sizeof *res);
    const int P = in->npairs, S = in->nstrats;
    ASSERT(P >= 1 && P <= RP_MAX_PAIRS);
    long m;
    int64_t *u = union_times(in, &m);
    if (m < 2) die(EX_DATAERR, "the candles hold fewer than two bars");
    if (in->nev == 0 && in->ndec == 0) die(EX_DATAERR, "no events (and no decisions): nothing to report");

    /* The curve starts at the bar before the first event, or at the first
     * decision when that is earlier: the account's equity there is the
     * initial capital. */
    long s0 = m;
    if (in->nev > 0) {
        int64_t t1 = in->ev[0].time;
        long k = 0;
        while (k < m && u[k] < t1) k++;
        if (k == 0)
            die(EX_DATAERR, "event at bar %lld: the candles must start at least one bar before the first event",
                (long long)t1);
        s0 = k - 1;
        for (long j = 0; j < in->nev; j++) {
            const rp_series *sr = &in->pair[in->ev[j].pair];
            if (in->ev[j].time > sr->t[sr->n - 1])
                die(EX_DATAERR, "event of %s at bar %lld is after the last candle of %s (%lld)", sr->name,
                    (long long)in->ev[j].time, sr->name, (long long)sr->t[sr->n - 1]);
        }
    }
    for (long d = 0; d < in->ndec; d++) {
        long k = 0;
        while (k + 1 < m && u[k + 1] <= in->dec[d].time) k++;
        if (k < s0) s0 = k;
    }
    if (s0 >= m - 1) die(EX_DATAERR, "no bar after the first decision or event: nothing to report");
    const long n = m - s0;
    res->n = n;
    res->P = P;
    res->S = S;
    res->t = xmalloc((size_t)n * sizeof *res->t);
    memcpy(res->t, u + s0, (size_t)n * sizeof *res->t);
    free(u);
    res->interval = candles_infer_interval(res->t, n);
    res->ppy = report_periods_per_year(res->interval);
    res->equity = xcalloc((size_t)n, sizeof *res->equity);
    res->bench = xcalloc((size_t)n, sizeof *res->bench);
    res->pnl = xcalloc((size_t)(n * P), sizeof *res->pnl);
    res->pos = xcalloc((size_t)(n * P), sizeof *res->pos);
    res->mark = xcalloc((size_t)(n * P), sizeof *res->mark);
    res->active = xcalloc((size_t)(n * P), 1);
    res->regime = xmalloc((size_t)(n * P) * sizeof *res->regime);
    res->share = xcalloc((size_t)(n * P * (S ? S : 1)), sizeof *res->share);
    for (long k = 0; k < n * P; k++) res->regime[k] = -1;
    res->last_reported_equity = NAN;

    double q[RP_MAX_PAIRS] = {0}, lastmark[RP_MAX_PAIRS], lastprice[RP_MAX_PAIRS];
    long cur[RP_MAX_PAIRS] = {0}, dcur = 0;
    long dlast[RP_MAX_PAIRS]; /* decision in force, -1 none */
    trade_state ts[RP_MAX_PAIRS];
    double bench_vol[RP_MAX_PAIRS] = {0};
    int bought[RP_MAX_PAIRS] = {0};
    double bench_cash = in->capital;
    long tcap = 0, e = 0;
    for (int p = 0; p < P; p++) {
        lastmark[p] = lastprice[p] = NAN;
        dlast[p] = -1;
        memset(&ts[p], 0, sizeof ts[p]);
    }

    for (long i = 0; i < n; i++) {
        const int64_t ti = res->t[i];
        double flow[RP_MAX_PAIRS] = {0}, fee[RP_MAX_PAIRS] = {0}, q0[RP_MAX_PAIRS], reported = NAN;
        signed char moved[RP_MAX_PAIRS] = {0};
        memcpy(q0, q, sizeof q0);
        /* Decisions in force over bar i: the last one at or before bar i-1. */
        if (i > 0)
            for (; dcur < in->ndec && in->dec[dcur].time <= res->t[i - 1]; dcur++) dlast[in->dec[dcur].pair] = dcur;
        for (; e < in->nev && in->ev[e].time <= ti; e++) {
            const rp_event *ev = &in->ev[e];
            int p = ev->pair;
            res->events[p]++;
            if (isfinite(ev->equity)) res->last_reported_equity = ev->equity;
            reported = ev->equity;
            if (ev->kind == RP_ROLLOVER)
                res->rollover[p] += ev->fee;
            else
                res->fees[p] += ev->fee;
            if (ev->kind == RP_LIQUIDATION) res->liquidations[p]++;
            fee[p] += ev->fee;
            if (ev->dq != 0) {
                /* A change without a price (a reconciliation adopting the
                 * exchange's position) is taken at the bar's close: it moves
                 * no equity itself. */
                double px = ev->price > 0 ? ev->price : close_at(&in->pair[p], ti);
                if (!(px > 0))
                    die(EX_DATAERR, "a %s event of %s at bar %lld changes the position without a price, before its "
                        "first candle", rp_kind_names[ev->kind], in->pair[p].name, (long long)ev->time);
                flow[p] -= ev->dq * px;
                res->notional[p] += fabs(ev->dq) * px;
                lastprice[p] = px;
                moved[p] = 1;
                trade_change(res, &tcap, &ts[p], p, &q[p], ev->dq, px, ev->fee, ev->time);
            } else if (ts[p].open) {
                ts[p].tr.fees += ev->fee;
            }
        }
        double total = 0, bench = bench_cash;
        for (int p = 0; p < P; p++) {
            const rp_series *sr = &in->pair[p];
            while (cur[p] < sr->n && sr->t[cur[p]] <= ti) cur[p]++;
            double c = cur[p] > 0 ? sr->close[cur[p] - 1] : NAN;
            double mk = isfinite(c) ? c : lastprice[p];
            double pnl = (q[p] != 0 ? q[p] * mk : 0) - (q0[p] != 0 ? q0[p] * lastmark[p] : 0) + flow[p] - fee[p];
            lastmark[p] = mk;
            long k = i * P + p;
            res->pnl[k] = i > 0 ? pnl : 0;
            res->pos[k] = q[p];
            res->mark[k] = mk;
            res->active[k] = q0[p] != 0 || q[p] != 0 || moved[p];
            total += res->pnl[k];
            if (i > 0 && dlast[p] >= 0) {
                const rp_decision *dc = &in->dec[dlast[p]];
                res->regime[k] = dc->regime;
                double sum = 0;
                for (int s = 0; s < S; s++) sum += dc->weight[s] * dc->signal[s];
                if (sum != 0)
                    for (int s = 0; s < S; s++) res->share[k * S + s] = dc->weight[s] * dc->signal[s] / sum;
            }
            /* Buy and hold: each pair's allocation bought at its first close
             * on the curve, the taker fee paid, then held. */
            if (!bought[p] && in->alloc[p] > 0 && isfinite(c)) {
                bought[p] = 1;
                bench_vol[p] = in->alloc[p] * in->capital / (c * (1 + in->bench_fee));
                bench_cash -= in->alloc[p] * in->capital;
                bench -= in->alloc[p] * in->capital;
            }
            if (bought[p]) {
                bench += bench_vol[p] * c;
                res->bench_pnl[p] = bench_vol[p] * c - in->alloc[p] * in->capital;
            }
        }
        res->equity[i] = i > 0 ? res->equity[i - 1] + total : in->capital;
        /* Where the bar ends flat after an event that reported the account's
         * equity, the marked curve and the account must agree. */
        int flat = 1;
        for (int p = 0; p < P; p++) flat &= q[p] == 0;
        if (flat && isfinite(reported)) {
            double d = fabs(res->equity[i] - reported) / fabs(reported);
            if (!(d <= res->eq_max_rel_diff)) res->eq_max_rel_diff = d;
            res->eq_checked++;
        }
        res->bench[i] = bench;
    }
    for (int p = 0; p < P; p++) res->open_trades += ts[p].open;
}

void report_result_free(report_result *res)
{
    free(res->t);
    free(res->equity);
    free(res->bench);
    free(res->pnl);
    free(res->pos);
    free(res->mark);
    free(res->active);
    free(res->regime);
    free(res->share);
    free(res->trades);
    memset(res, 0, sizeof *res);
}
