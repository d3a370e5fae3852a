/* sim.c: the synthetic market (see sim.h for the model). */
#include "sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

const char *const sim_regime_names[SIM_NREGIME] = {"trending_up", "trending_down", "ranging", "volatile"};

/* Per hour. The volatilities are far apart (about x2 between neighbours) and
 * the trends move about a quarter of a sigma a bar, so a filter on returns and
 * rolling volatility can tell the states apart; p_stay gives expected spells of
 * 1 / (1 - p_stay) bars: 100, 100, 67 and 33. */
const sim_regime_params sim_regimes[SIM_NREGIME] = {
    [SIM_TRENDING_UP] = {+0.0018, 0.0050, 0.990},
    [SIM_TRENDING_DOWN] = {-0.0018, 0.0080, 0.990},
    [SIM_RANGING] = {0.0, 0.0025, 0.985},
    [SIM_VOLATILE] = {0.0, 0.0200, 0.970},
};

const double sim_leave[SIM_NREGIME][SIM_NREGIME] = {
    [SIM_TRENDING_UP] = {0.00, 0.25, 0.50, 0.25},
    [SIM_TRENDING_DOWN] = {0.25, 0.00, 0.45, 0.30},
    [SIM_RANGING] = {0.35, 0.35, 0.00, 0.30},
    [SIM_VOLATILE] = {0.30, 0.30, 0.40, 0.00},
};

/* GARCH(1,1) on the variance multiple h, with E[h] = 1; h is clipped so that a
 * burst inside one regime never looks like the next regime's volatility. */
#define GARCH_A 0.04
#define GARCH_B 0.90
#define GARCH_HMIN 0.3
#define GARCH_HMAX 3.0
#define STUDENT_NU 5.0
/* Ranging: pull toward the range's anchor, per hour. */
#define RANGE_KAPPA 0.05
/* Every regime: a weak pull of the log price toward its start, per hour, so a
 * long simulation wanders within about a factor of e of the start instead of
 * running off to zero or infinity (the trends are far stronger). */
#define HOME_KAPPA 0.0002
/* The "normal" volatility that volume is measured against (per sqrt hour). */
#define VOL_REF 0.005

sim_asset_params sim_asset_defaults(const char *base)
{
    if (!strcasecmp(base, "BTC") || !strcasecmp(base, "XBT"))
        return (sim_asset_params){30000.0, 1.00, 0.90, 150.0, 0.15, 1};
    if (!strcasecmp(base, "ETH"))
        return (sim_asset_params){2000.0, 1.25, 0.88, 1500.0, 1.5, 2};
    if (!strcasecmp(base, "SOL"))
        return (sim_asset_params){20.0, 1.70, 0.80, 40000.0, 40.0, 3};
    return (sim_asset_params){100.0, 1.40, 0.75, 5000.0, 20.0, 4};
}

/* FNV-1a of a name, to derive an asset's own random stream from the seed. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

void sim_init(sim_market *m, uint64_t seed, int interval, int64_t start, int nasset,
              const char *const *bases, const char *const *altnames, double plant)
{
    ASSERT(interval > 0 && nasset > 0);
    memset(m, 0, sizeof *m);
    rng_seed(&m->rng, seed);
    m->interval = interval;
    m->dt = interval / 60.0;
    int64_t step = (int64_t)interval * 60;
    m->time = start - (((start % step) + step) % step);
    m->nu = STUDENT_NU;
    m->plant = plant;
    m->nasset = nasset;
    m->assets = xcalloc((size_t)nasset, sizeof *m->assets);
    m->regime = (int)rng_below(&m->rng, SIM_NREGIME);
    m->prev_regime = -1;
    for (int i = 0; i < nasset; i++) {
        sim_asset *a = &m->assets[i];
        a->p = sim_asset_defaults(bases[i]);
        rng_seed(&a->rng, seed ^ name_hash(altnames[i]));
        a->logp = log(a->p.price0);
        a->h = 1.0;
        a->anchor = a->home = a->logp;
    }
}

void sim_free(sim_market *m)
{
    free(m->assets);
    m->assets = NULL;
}

double sim_round(double x, int decimals)
{
    double s = pow(10.0, decimals);
    return round(x * s) / s;
}

/* A unit-variance Student-t draw: t_nu has variance nu / (nu - 2). */
static double unit_t(rng_t *r, double nu)
{
    return rng_student_t(r, nu) * sqrt((nu - 2.0) / nu);
}

static void next_regime(sim_market *m)
{
    double u = rng_uniform(&m->rng), v = rng_uniform(&m->rng);
    m->prev_regime = m->regime;
    if (u < sim_regimes[m->regime].p_stay) return;
    double acc = 0.0;
    int to = m->regime;
    for (int j = 0; j < SIM_NREGIME; j++) {
        if (sim_leave[m->regime][j] <= 0.0) continue;
        acc += sim_leave[m->regime][j];
        to = j;
        if (v < acc) break;
    }
    m->regime = to;
}

int sim_step(sim_market *m, sim_bar *bars)
{
    if (m->nbar++ > 0) next_regime(m);
    const sim_regime_params *rp = &sim_regimes[m->regime];
    double f = unit_t(&m->rng, m->nu);
    double sqdt = sqrt(m->dt);
    for (int i = 0; i < m->nasset; i++) {
        sim_asset *a = &m->assets[i];
        sim_bar *b = &bars[i];
        if (m->regime == SIM_RANGING && m->prev_regime != SIM_RANGING) a->anchor = a->logp;
        a->h = (1.0 - GARCH_A - GARCH_B) + GARCH_A * a->h * a->z_prev * a->z_prev + GARCH_B * a->h;
        a->h = fmin(fmax(a->h, GARCH_HMIN), GARCH_HMAX);
        double sigma = rp->vol * a->p.vol_mult * sqrt(a->h) * sqdt;
        double l = a->p.loading;
        double z = l * f + sqrt(1.0 - l * l) * unit_t(&a->rng, m->nu);
        double drift = rp->mu * a->p.vol_mult * m->dt;
        if (m->regime == SIM_RANGING)
            drift -= (1.0 - exp(-RANGE_KAPPA * m->dt)) * (a->logp - a->anchor);
        drift -= (1.0 - exp(-HOME_KAPPA * m->dt)) * (a->logp - a->home);
        if (m->plant != 0.0) {
            double s = 0.0;
            for (int k = 0; k < a->npast; k++) s += a->past[k];
            drift += m->plant * sigma * (double)((s > 0) - (s < 0));
        }
        double r = drift + sigma * z;
        /* The maximum and minimum of a Brownian bridge from 0 to r with variance
         * sigma^2: P(max > x) = exp(-2 x (x - r) / sigma^2) for x >= max(0, r),
         * inverted at a uniform U in (0, 1]. */
        double u1 = 1.0 - rng_uniform(&a->rng), u2 = 1.0 - rng_uniform(&a->rng);
        double hi = 0.5 * (r + sqrt(r * r - 2.0 * sigma * sigma * log(u1)));
        double lo = 0.5 * (r - sqrt(r * r - 2.0 * sigma * sigma * log(u2)));
        double vn = rng_normal(&a->rng);
        int d = a->p.decimals;
        double open = exp(a->logp);
        b->time = m->time;
        b->open = sim_round(open, d);
        b->close = sim_round(exp(a->logp + r), d);
        b->high = sim_round(open * exp(hi), d);
        b->low = sim_round(open * exp(lo), d);
        /* Rounding is monotone, so the order of the unrounded prices survives it. */
        b->vwap = sim_round(0.25 * (open + exp(a->logp + r) + open * exp(hi) + open * exp(lo)), d);
        double activity = sigma / (VOL_REF * a->p.vol_mult * sqdt);
        double vol = a->p.volume_hour * m->dt * pow(activity, 0.8) * (0.5 + 0.5 * fabs(z)) *
                     exp(0.25 * vn - 0.03125);
        b->volume = sim_round(vol, 8);
        if (b->volume <= 0.0) b->volume = 1e-8;
        int64_t cnt = llround(b->volume / a->p.trade_size);
        b->count = cnt < 1 ? 1 : cnt;
        if (a->npast < 4) {
            a->past[a->npast++] = r;
        } else { /* a sliding window of the last 4 returns */
            memmove(a->past, a->past + 1, 3 * sizeof a->past[0]);
            a->past[3] = r;
        }
        a->logp += r;
        a->z_prev = z;
    }
    m->time += (int64_t)m->interval * 60;
    return m->regime;
}
