/* metrics.c: statistics of an equity curve, a return series and a list of
 * trades (report.h; definitions in docs/report.md). Sums run in index order,
 * mean first then squared deviations (two passes), so results do not depend
 * on anything but the input. */
#include <math.h>
#include <stdlib.h>

#include "report/report.h"
#include "util.h"

double report_periods_per_year(int64_t interval_s)
{
    ASSERT(interval_s > 0);
    return RP_YEAR_SECONDS / (double)interval_s;
}

/* Mean and sample standard deviation (n - 1) of x[0..n); std NaN when n < 2. */
static void mean_std(const double *x, long n, double *mean, double *std)
{
    double s = 0;
    for (long i = 0; i < n; i++) s += x[i];
    *mean = n > 0 ? s / (double)n : NAN;
    if (n < 2) {
        *std = NAN;
        return;
    }
    double ss = 0;
    for (long i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *std = sqrt(ss / (double)(n - 1));
}

void drawdown_series(double *dd, const double *eq, long n)
{
    double peak = -INFINITY;
    for (long i = 0; i < n; i++) {
        if (eq[i] > peak) peak = eq[i];
        dd[i] = 1 - eq[i] / peak;
    }
}

void series_compute(series_stats *s, const double *x, long n, double ppy)
{
    double sd;
    s->n = n;
    s->sum = 0;
    for (long i = 0; i < n; i++) s->sum += x[i];
    mean_std(x, n, &s->mean, &sd);
    s->ann_vol = sd * sqrt(ppy);
    s->sharpe = sd > 0 ? s->mean / sd * sqrt(ppy) : NAN;
}

void perf_compute(perf_stats *s, const int64_t *t, const double *eq, long n, double ppy)
{
    ASSERT(n >= 1);
    s->n = n;
    s->initial = eq[0];
    s->final = eq[n - 1];
    s->years = (double)(t[n - 1] - t[0]) / RP_YEAR_SECONDS;
    s->total_return = eq[n - 1] / eq[0] - 1;
    if (s->years <= 0)
        s->cagr = NAN;
    else if (eq[n - 1] <= 0)
        s->cagr = -1;
    else
        s->cagr = pow(eq[n - 1] / eq[0], 1 / s->years) - 1;

    double *r = xmalloc((size_t)(n > 1 ? n - 1 : 1) * sizeof *r);
    double down = 0;
    for (long i = 1; i < n; i++) {
        r[i - 1] = eq[i] / eq[i - 1] - 1;
        if (r[i - 1] < 0) down += r[i - 1] * r[i - 1];
    }
    double mean, sd;
    mean_std(r, n - 1, &mean, &sd);
    free(r);
    s->ann_vol = sd * sqrt(ppy);
    s->sharpe = sd > 0 ? mean / sd * sqrt(ppy) : NAN;
    double dd_dev = n > 1 ? sqrt(down / (double)(n - 1)) : 0;
    s->sortino = dd_dev > 0 ? mean / dd_dev * sqrt(ppy) : NAN;

    /* The deepest drawdown, its peak (the running maximum before the
     * trough) and the first point after the trough back at that peak. */
    double peak = eq[0], mdd = 0;
    long ipeak = 0, best_peak = 0, best_trough = 0;
    for (long i = 0; i < n; i++) {
        if (eq[i] > peak) {
            peak = eq[i];
            ipeak = i;
        }
        double dd = 1 - eq[i] / peak;
        if (dd > mdd) {
            mdd = dd;
            best_peak = ipeak;
            best_trough = i;
        }
    }
    s->max_drawdown = mdd;
    long iend = n - 1;
    s->dd_recovered = 0;
    if (mdd > 0)
        for (long i = best_trough + 1; i < n; i++)
            if (eq[i] >= eq[best_peak]) {
                iend = i;
                s->dd_recovered = 1;
                break;
            }
    if (mdd == 0) iend = best_peak = best_trough = 0;
    s->dd_peak = t[best_peak];
    s->dd_trough = t[best_trough];
    s->dd_end = t[iend];
    s->dd_bars = iend - best_peak;
    s->dd_days = (double)(t[iend] - t[best_peak]) / 86400.0;
    s->calmar = mdd > 0 ? s->cagr / mdd : NAN;
}

void trade_stats_compute(trade_stats *s, const double *pnl, long n)
{
    *s = (trade_stats){.trades = n};
    for (long i = 0; i < n; i++) {
        s->pnl += pnl[i];
        if (pnl[i] > 0) {
            s->wins++;
            s->gross_profit += pnl[i];
        } else if (pnl[i] < 0) {
            s->losses++;
            s->gross_loss -= pnl[i];
        }
    }
    s->profit_factor = s->gross_loss > 0 ? s->gross_profit / s->gross_loss : NAN;
    s->win_rate = n > 0 ? (double)s->wins / (double)n : NAN;
    s->expectancy = n > 0 ? s->pnl / (double)n : NAN;
}
