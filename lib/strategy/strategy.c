/* strategy.c: the rule strategies' table, binding by column name, the step
 * with its rebalancing band, and the after-fee bar return. Formulas and their
 * reasons are in docs/ensemble.md; the API in strategy.h. */
#include "strategy.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static double clamp1(double x) { return x > 1 ? 1 : x < -1 ? -1 : x; }
static double clamp01(double x) { return x > 1 ? 1 : x < 0 ? 0 : x; }
static double sgn(double x) { return (x > 0) - (x < 0); }

/* hold: always fully long. The benchmark every other strategy must beat. */
static double t_hold(const double *v, strategy_state *st)
{
    (void)v;
    (void)st;
    return 1;
}

/* trend: the mean of three EMA ratios in units of the 24-bar volatility over
 * sqrt(24) bars, squashed by tanh(2 z); halved when the MACD histogram
 * disagrees with its sign. v: ema_ratio_12, ema_ratio_26, ema_ratio_50,
 * macd_hist_n, rv_24. */
static double t_trend(const double *v, strategy_state *st)
{
    (void)st;
    if (!(v[4] > 0)) return 0;
    double e = (v[0] + v[1] + v[2]) / 3;
    double z = e / (v[4] * sqrt(24.0));
    return tanh(2 * z) * (v[3] * e > 0 ? 1.0 : 0.5);
}

/* meanrev: m = ((1 - 2 %b) + (50 - RSI) / 20) / 2 is +1 at the lower band
 * with RSI 30. Enter against the move when |m| > 0.5, sized (|m| - 0.5)
 * capped at 1; hold the position while m keeps its sign (the price has not
 * crossed back through the middle), else flat. v: bb_pctb_20, rsi_14. */
static double t_meanrev(const double *v, strategy_state *st)
{
    double m = ((1 - 2 * v[0]) + (50 - v[1]) / 20) / 2;
    double a = fabs(m) - 0.5;
    if (a > 0) return sgn(m) * (a > 1 ? 1 : a);
    if (st->pos != 0 && st->pos * m > 0) return st->pos;
    return 0;
}

/* breakout: d = 2 donchian_pos_20 - 1; strength g = clamp((ADX - 20) / 15,
 * 0, 1). Enter in the direction of d when |d| >= 0.9 (the close within 5 %
 * of the channel's range from its edge), sized g; hold while the close stays
 * on that side of the channel's middle, else flat. v: donchian_pos_20, adx_14. */
static double t_breakout(const double *v, strategy_state *st)
{
    double d = 2 * v[0] - 1, g = clamp01((v[1] - 20) / 15);
    if (fabs(d) >= 0.9 && g > 0) return sgn(d) * g;
    if (st->pos != 0 && st->pos * d > 0) return st->pos;
    return 0;
}

/* momentum: z = mean over h in {4, 8, 16, 24} of ret_h / (rv_24 sqrt(h))
 * (each return in units of its own horizon's volatility); tanh(z).
 * v: ret_4, ret_8, ret_16, ret_24, rv_24. */
static double t_momentum(const double *v, strategy_state *st)
{
    (void)st;
    if (!(v[4] > 0)) return 0;
    static const double h[4] = {4, 8, 16, 24};
    double z = 0;
    for (int i = 0; i < 4; i++) z += v[i] / (v[4] * sqrt(h[i]));
    return tanh(z / 4);
}

/* voltrend: the 24-bar trend tanh(ret_24 / (rv_24 sqrt 24)), scaled by
 * k = clamp(2 - rv_12 / rv_72, 0, 1): full while the recent volatility is at
 * or below the 72-bar one, nothing once it is twice as large (turbulence
 * after a shock is where trends reverse). v: ret_24, rv_12, rv_24, rv_72. */
static double t_voltrend(const double *v, strategy_state *st)
{
    (void)st;
    if (!(v[2] > 0) || !(v[3] > 0)) return 0;
    double d = tanh(v[0] / (v[2] * sqrt(24.0)));
    return d * clamp01(2 - v[1] / v[3]);
}

const strategy_def strategy_defs[] = {
    {"hold", "buy and hold: always +1", 0, {0}, 0, 0, t_hold},
    {"trend", "trend following: EMA ratios over volatility, MACD histogram agreement", 5,
     {"ema_ratio_12", "ema_ratio_26", "ema_ratio_50", "macd_hist_n", "rv_24"}, 0, 0.25, t_trend},
    {"meanrev", "mean reversion: fade Bollinger %b and RSI extremes, exit at the middle", 2,
     {"bb_pctb_20", "rsi_14"}, 0, 0.25, t_meanrev},
    {"breakout", "breakout: Donchian channel edge, sized by ADX, held to the middle", 2,
     {"donchian_pos_20", "adx_14"}, 0, 0.25, t_breakout},
    {"momentum", "momentum: 4-24 bar returns in units of volatility", 5,
     {"ret_4", "ret_8", "ret_16", "ret_24", "rv_24"}, 0, 0.25, t_momentum},
    {"voltrend", "volatility-aware trend: 24-bar trend, cut when short-term volatility jumps", 4,
     {"ret_24", "rv_12", "rv_24", "rv_72"}, 0, 0.25, t_voltrend},
};
const int strategy_ndefs = (int)(sizeof strategy_defs / sizeof strategy_defs[0]);

const strategy_def *strategy_find(const char *name)
{
    for (int i = 0; i < strategy_ndefs; i++)
        if (!strcmp(strategy_defs[i].name, name)) return &strategy_defs[i];
    return NULL;
}

int strategy_is_model(const char *name) { return !strncmp(name, "model:", 6) && name[6] != 0; }

int strategy_bind(strategy *s, const char *name, const char *const *header, int ncols, char *missing,
                  size_t missing_len)
{
    memset(s, 0, sizeof *s);
    if (missing && missing_len) missing[0] = 0;
    if (strlen(name) >= sizeof s->name) return STRATEGY_UNKNOWN;
    const strategy_def *d = strategy_find(name);
    if (!d && !strategy_is_model(name)) return STRATEGY_UNKNOWN;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->def = d;
    if (!d) {
        s->arch = s->name + 6;
        return 0;
    }
    int nmiss = 0;
    size_t used = 0;
    for (int i = 0; i < d->ncols; i++) {
        s->col[i] = -1;
        for (int j = 0; j < ncols; j++)
            if (header[j] && !strcmp(header[j], d->cols[i])) {
                s->col[i] = j;
                break;
            }
        if (s->col[i] >= 0) continue;
        if (missing && missing_len > used) {
            int k = snprintf(missing + used, missing_len - used, "%s'%s'", nmiss ? ", " : "", d->cols[i]);
            used += k > 0 ? (size_t)k : 0;
            if (used >= missing_len) used = missing_len;
        }
        nmiss++;
    }
    return nmiss;
}

void strategy_reset(strategy *s) { memset(&s->st, 0, sizeof s->st); }

/* Keep the previous position while the new target is within band of it and
 * on the same side; 0 always closes. */
static double banded(double prev, double target, double band)
{
    if (target == 0) return 0;
    if (prev != 0 && (prev > 0) == (target > 0) && fabs(target - prev) < band) return prev;
    return target;
}

double strategy_step(strategy *s, const double *row, const double *probs)
{
    double target, band;
    int ok = 1;
    if (s->def) {
        double v[STRATEGY_MAX_COLS];
        for (int i = 0; i < s->def->ncols; i++) {
            v[i] = row[s->col[i]];
            if (!isfinite(v[i])) ok = 0;
        }
        target = ok ? s->def->target(v, &s->st) : 0;
        band = s->def->band;
        if (s->st.n < s->def->warmup) target = 0;
    } else {
        ok = isfinite(probs[0]) && isfinite(probs[2]);
        target = ok ? probs[2] - probs[0] : 0;
        band = STRATEGY_MODEL_BAND;
    }
    if (!isfinite(target)) target = 0;
    double sig = banded(s->st.pos, clamp1(target), band);
    s->st.pos = sig;
    s->st.n++;
    return sig;
}

double strategy_bar_return(double signal, double prev_signal, double next_log_return, double fee)
{
    return signal * next_log_return - fee * fabs(signal - prev_signal);
}
