/* sizing.c: decisions to order targets (see sizing.h and docs/sizing.md). */
#include "market/sizing.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void size_settings_from_config(size_settings *s, const kml_config *c, int ml, int extreme)
{
    memset(s, 0, sizeof *s);
    s->ml = ml;
    s->extreme = extreme || !strcmp(c->leverage_mode, "extreme");
    s->entry_threshold = c->sizing.entry_threshold;
    s->min_confidence = c->sizing.min_confidence;
    s->risk_per_trade = c->risk.risk_per_trade;
    s->max_position = c->risk.max_position;
    s->max_drawdown = c->risk.max_drawdown;
    s->stop_buffer = c->sizing.stop_buffer;
    s->stop_vol = c->sizing.stop_vol;
    s->take_profit_vol = c->sizing.take_profit_vol;
    s->vol_target = c->sizing.vol_target;
    s->kelly_fraction = c->sizing.kelly_fraction;
    s->track_window = c->sizing.track_window;
    margin_params_from_config(&s->margin, c);
}

/* ---- track record ---- */

void size_track_init(size_track *t, int window)
{
    ASSERT(window >= 1);
    memset(t, 0, sizeof *t);
    t->time = INT64_MIN;
    t->cap = window;
    t->ret = xcalloc((size_t)window, sizeof *t->ret);
}

void size_track_free(size_track *t)
{
    free(t->ret);
    t->ret = NULL;
}

void size_track_judge(size_track *t, double close)
{
    if (t->time != INT64_MIN && t->side != 0 && t->close > 0) {
        t->ret[t->head] = t->side * t->exposure * (close / t->close - 1);
        t->head = (t->head + 1) % t->cap;
        if (t->n < t->cap) t->n++;
    }
    t->side = 0;
}

void size_track_step(size_track *t, int64_t time, double close, int side, double exposure)
{
    size_track_judge(t, close);
    t->time = time;
    t->close = close;
    t->side = side;
    t->exposure = fabs(exposure);
}

double size_track_hit_rate(const size_track *t)
{
    int wins = 0;
    for (int i = 0; i < t->n; i++) wins += t->ret[i] > 0;
    return (wins + 1.0) / (t->n + 2.0);
}

double size_track_drawdown(const size_track *t)
{
    double eq = 1, peak = 1;
    int first = (t->head - t->n + t->cap) % t->cap; /* oldest judged target */
    for (int k = 0; k < t->n; k++) {
        eq = fmax(eq * (1 + t->ret[(first + k) % t->cap]), 0);
        peak = fmax(peak, eq);
    }
    return 1 - eq / peak;
}

/* ---- sizing ---- */

KML_PRINTF(2, 3) static void say(size_order *o, const char *fmt, ...)
{
    size_t n = strlen(o->reason);
    if (n + 3 >= sizeof o->reason) return;
    if (n) n += (size_t)snprintf(o->reason + n, sizeof o->reason - n, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->reason + n, sizeof o->reason - n, fmt, ap);
    va_end(ap);
}

static void flat(size_order *o)
{
    o->side = 0;
    o->exposure = 0;
    o->leverage = 0;
    o->stop = o->take_profit = o->liquidation = NAN;
}

/* A flat target with its reason. */
#define FLAT(...)             \
    do {                      \
        say(o, __VA_ARGS__);  \
        return;               \
    } while (0)

static double clamp01(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

/* The largest allowed leverage <= L, or 0 when every allowed one is above L. */
static double allowed_at_most(const double *lev, int n, double L)
{
    double best = 0;
    for (int i = 0; i < n; i++)
        if (lev[i] <= L && lev[i] > best) best = lev[i];
    return best;
}

/* Does the stop sit strictly between entry and liquidation with at least
 * buffer b of that distance left before the liquidation? (Always for spot.) */
static int stop_fits(int side, double P, double stop, double liq, double b, int spot)
{
    if (spot) return stop > 0 && stop < P;
    if (side > 0) return liq < stop && stop < P && stop - liq >= b * (P - liq);
    return P < stop && stop < liq && liq - stop >= b * (liq - P);
}

void size_compute(size_order *o, const size_settings *s, const kml_asset *a, const size_limits *lim,
                  const size_track *t, const size_decision *d)
{
    memset(o, 0, sizeof *o);
    o->price = d->close;
    o->p_win = o->kelly = o->track_factor = o->vol_factor = NAN;
    flat(o);
    margin_params m = s->margin;
    if (lim && lim->have_levels) m.margin_call = lim->margin_call, m.margin_stop = lim->margin_stop;
    double as = fabs(d->signal), c = d->confidence, vol = d->volatility, P = d->close;

    if (!(a->allocation > 0)) FLAT("flat: %s has no capital allocated", a->pair);
    if (as == 0 || as < s->entry_threshold)
        FLAT("flat: |signal| %.4g below the entry threshold %.4g", as, s->entry_threshold);
    if (c < s->min_confidence)
        FLAT("flat: confidence %.4g below the minimum %.4g", c, s->min_confidence);
    int side = d->signal > 0 ? 1 : -1;
    const double *allowed = NULL;
    int nallowed = 0;
    if (lim) {
        allowed = side > 0 ? lim->lev_buy : lim->lev_sell;
        nallowed = side > 0 ? lim->n_buy : lim->n_sell;
        if (side < 0 && nallowed == 0) FLAT("flat: Kraken allows no margin short on %s", a->pair);
    }

    /* Distances from volatility, floored at the round trip's taker fees (a
     * stop nearer than that loses more to fees than to the move). The same
     * base scales stop and take-profit, so their ratio does not depend on
     * volatility. */
    double base = fmax(vol, 2 * m.taker_fee / s->stop_vol);
    double strength = s->entry_threshold < 1 ? clamp01((as - s->entry_threshold) / (1 - s->entry_threshold)) : 1;
    o->stop_dist = s->stop_vol * base;
    o->tp_dist = s->take_profit_vol * base * (1 + strength);
    if (!(o->stop_dist > 0)) FLAT("flat: volatility 0 and no fees give the stop no distance");
    if (side > 0 && o->stop_dist >= 1)
        FLAT("flat: volatility %.4g puts the stop %.4g%% below the price", vol, 100 * o->stop_dist);
    if (side < 0 && o->tp_dist >= 1) {
        say(o, "take-profit %.4g%% below the price cut to 90%%", 100 * o->tp_dist);
        o->tp_dist = 0.9;
    }

    /* Leverage: the bottom of the pair's range, or with ML sizing a point in
     * it chosen by confidence above the minimum. */
    const double *range = s->extreme ? a->lev_extreme : a->lev_default;
    const char *rname = s->extreme ? "extreme" : "default";
    double cfac = s->ml ? (s->min_confidence < 1 ? clamp01((c - s->min_confidence) / (1 - s->min_confidence)) : 1) : 0;
    double L = range[0] + (range[1] - range[0]) * cfac;
    if (s->ml)
        say(o, "leverage %.4g from confidence %.4g in the %s range %g-%gx", L, c, rname, range[0], range[1]);
    else
        say(o, "leverage %.4g, the bottom of the %s range %g-%gx", L, rname, range[0], range[1]);
    if (lim) {
        if (nallowed == 0) {
            say(o, "Kraken allows no margin long on %s: 1x (spot)", a->pair);
            L = 1;
        } else if (L > allowed[nallowed - 1]) {
            say(o, "clamped to Kraken's maximum %gx", allowed[nallowed - 1]);
            L = allowed[nallowed - 1];
        } else {
            double k = allowed_at_most(allowed, nallowed, L);
            if (k == 0 && side < 0 && allowed[0] > range[1])
                FLAT("flat: a short on Kraken needs %gx, above the %s range's %gx", allowed[0], rname, range[1]);
            if (k == 0) k = side > 0 ? 1 : allowed[0];
            if (k != L) say(o, "%gx, the nearest leverage Kraken offers", k);
            L = k;
        }
    }

    /* The stop must sit before the liquidation with the buffer: lower the
     * leverage until (1 - buffer) * liquidation move >= stop distance. */
    double b = s->stop_buffer;
    int spot = side > 0 && L == 1;
    if (!spot && o->stop_dist > (1 - b) * margin_liquidation_move(&m, L)) {
        double fit = margin_max_leverage_for_move(&m, o->stop_dist / (1 - b)), L2;
        if (lim) {
            L2 = allowed_at_most(allowed, nallowed, fit);
            if (L2 == 0 && side > 0) L2 = 1;
        } else {
            L2 = fit < 1 ? (side > 0 ? 1 : 0) : fit;
        }
        if (L2 == 0)
            FLAT("flat: a stop %.4g%% away (%.4g volatilities) fits before the liquidation of no %sshort",
                 100 * o->stop_dist, s->stop_vol, lim ? "leverage Kraken allows for a " : "");
        say(o, "leverage lowered from %.4g to %.4g so the stop %.4g%% away stays %g of the way before liquidation", L,
            L2, 100 * o->stop_dist, 1 - b);
        L = L2;
        spot = side > 0 && L == 1;
    }
    double stop = P * (1 - side * o->stop_dist), liq = margin_liquidation_price(&m, side, L, P);
    /* The division that gave `fit` may round a hair past the bound: step
     * down (to the next leverage Kraken offers, with limits) until it fits. */
    for (int k = 0; k < 64 && !stop_fits(side, P, stop, liq, b, spot); k++) {
        if (lim) {
            double nx = allowed_at_most(allowed, nallowed, L * (1 - 1e-9));
            L = nx > 0 ? nx : side > 0 ? 1 : 0;
            if (L == 0) break;
        } else {
            L = fmax(1, L * (1 - 1e-12));
        }
        spot = side > 0 && L == 1;
        liq = margin_liquidation_price(&m, side, L, P);
    }
    if (!stop_fits(side, P, stop, liq, b, spot))
        FLAT("flat: no leverage keeps a stop %.4g%% away before the liquidation", 100 * o->stop_dist);

    /* Exposure, in units of the allocated equity. Costs of a round trip:
     * two taker fees and the margin opening fee. */
    double costs = 2 * m.taker_fee + m.open_fee, e;
    if (!s->ml) {
        e = s->risk_per_trade / (o->stop_dist + costs);
        say(o, "fixed fraction: %.4g of the allocation at risk to a stop %.4g%% away", s->risk_per_trade,
            100 * o->stop_dist);
    } else {
        /* Kelly on a bet that wins tp_dist with probability p_win and loses
         * stop_dist otherwise. Without an edge a driftless price reaches the
         * take-profit first with p0 = 1 / (1 + R) (R = tp / stop), where
         * Kelly is 0. The edge e = confidence * |signal| (kml-predict's
         * confidence is a conviction in [0, 1], 0 when nothing agrees, not a
         * probability) moves p_win that fraction of the way from p0 to 1,
         * which makes the Kelly bet p - (1 - p) / R equal e. A fraction of
         * it, scaled by volatility targeting and the pair's track record. */
        double R = o->tp_dist / o->stop_dist, p0 = 1 / (1 + R), edge = clamp01(c) * as;
        double p = p0 + (1 - p0) * edge;
        double f = p - (1 - p) / R;
        double h = t ? size_track_hit_rate(t) : 0.5, dd = t ? size_track_drawdown(t) : 0;
        double vf = vol > 0 ? fmin(1, s->vol_target / vol) : 1;
        double tf = fmin(1, h / 0.5) * (s->max_drawdown > 0 ? fmax(0, 1 - dd / s->max_drawdown) : dd > 0 ? 0 : 1);
        o->p_win = p, o->kelly = f, o->vol_factor = vf, o->track_factor = tf;
        if (!(f > 1e-12)) FLAT("flat: no edge (confidence %.4g, p_win %.4g, payoff %.4g: Kelly %.4g)", c, p, R, f);
        if (!(tf > 0))
            FLAT("flat: track record (hit rate %.4g, drawdown %.4g at the maximum %g)", h, dd, s->max_drawdown);
        e = s->kelly_fraction * f / (o->stop_dist + costs) * vf * tf;
        say(o, "ML: p_win %.4g, payoff %.4g, Kelly %.4g x %g, volatility factor %.4g, track record factor %.4g (hit rate "
            "%.4g, drawdown %.4g)", p, R, f, s->kelly_fraction, vf, tf, h, dd);
    }
    if (e > s->max_position) {
        say(o, "exposure %.4g capped at max_position %g", e, s->max_position);
        e = s->max_position;
    }
    if (e > L) {
        say(o, "exposure %.4g capped at the leverage (margin within the allocation)", e);
        e = L;
    }
    if (!(e > 0)) FLAT("flat: exposure 0");
    o->side = side;
    o->exposure = side * e;
    o->leverage = L;
    o->stop = stop;
    o->take_profit = P * (1 + side * o->tp_dist);
    o->liquidation = liq;
}
