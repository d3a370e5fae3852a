/* sim.h: the synthetic market of `kml-fetch sim` (the embedded default).
 *
 * A market-wide regime follows a Markov chain over four states (trending_up,
 * trending_down, ranging, volatile); each state has its own drift and
 * volatility. Every asset's log return is
 *
 *   r_t = mu[s] * k_i * dt + plant + sigma_t * z_t
 *   sigma_t = vol[s] * k_i * sqrt(h_t) * sqrt(dt)          (dt = interval / 60)
 *   z_t = l_i * f_t + sqrt(1 - l_i^2) * e_t                 (f common, e own)
 *   h_t = w + a * h_{t-1} z_{t-1}^2 + b * h_{t-1}           (GARCH(1,1), E[h] = 1)
 *
 * with f and e unit-variance Student-t draws (fat tails), k_i the asset's
 * volatility multiple and l_i its loading on the common factor. Ranging bars
 * also pull the price back toward the level it had when the range began, and
 * every bar pulls weakly toward the starting price (long runs stay bounded). The
 * bar's high and low are exact draws of a Brownian bridge's maximum and minimum
 * given open and close, so low <= min(open, close) <= max(open, close) <= high.
 * Volume grows with sigma_t and |z_t|; count is volume over a typical trade
 * size. docs/data.md lists every parameter.
 *
 * Random streams: one for the market (regime, factor) seeded by seed, one per
 * asset seeded by seed and the asset's altname, so an asset's path does not
 * depend on which other assets are simulated beside it. */
#ifndef KML_SIM_H
#define KML_SIM_H

#include <stdint.h>

#include "rng.h"

enum sim_regime { SIM_TRENDING_UP, SIM_TRENDING_DOWN, SIM_RANGING, SIM_VOLATILE, SIM_NREGIME };

extern const char *const sim_regime_names[SIM_NREGIME];

/* Per-regime parameters, per hour of market time. */
typedef struct {
    double mu;       /* mean log return per hour */
    double vol;      /* volatility per sqrt(hour) */
    double p_stay;   /* probability of staying, per bar */
} sim_regime_params;

extern const sim_regime_params sim_regimes[SIM_NREGIME];
/* Where a regime goes when it leaves: row = from, columns sum to 1 (diagonal 0). */
extern const double sim_leave[SIM_NREGIME][SIM_NREGIME];

/* One asset's parameters. */
typedef struct {
    double price0;      /* starting price */
    double vol_mult;    /* k_i: scales drift and volatility */
    double loading;     /* l_i: weight of the common factor */
    double volume_hour; /* typical base volume per hour */
    double trade_size;  /* typical trade size (base units) */
    int decimals;       /* price decimals in the output */
} sim_asset_params;

/* Parameters of a known base asset (BTC/XBT, ETH, SOL), or generic ones. */
sim_asset_params sim_asset_defaults(const char *base);

typedef struct {
    int64_t time;
    double open, high, low, close, vwap, volume;
    int64_t count;
} sim_bar;

typedef struct {
    sim_asset_params p;
    rng_t rng;
    double logp;        /* log close of the previous bar */
    double h;           /* GARCH variance multiple */
    double z_prev;      /* previous standardized innovation */
    double past[4];     /* last 4 log returns (ring), for the planted pattern */
    int npast;
    double home;        /* log of the starting price */
    double anchor;      /* log price at the start of the current ranging spell */
} sim_asset;

typedef struct {
    rng_t rng;
    int regime;
    int prev_regime;    /* regime of the previous bar, -1 before the first */
    long nbar;          /* bars generated */
    int64_t time;       /* open time of the next bar */
    int interval;       /* minutes */
    double dt;          /* interval / 60 */
    double nu;          /* Student-t degrees of freedom */
    double plant;       /* planted momentum strength (0: none) */
    int nasset;
    sim_asset *assets;  /* nasset */
} sim_market;

/* Set up a market for nasset assets whose bases and altnames are given;
 * start is the first bar's open time (aligned down to the interval). The caller
 * frees with sim_free. */
void sim_init(sim_market *m, uint64_t seed, int interval, int64_t start, int nasset,
              const char *const *bases, const char *const *altnames, double plant);
void sim_free(sim_market *m);
/* Advance one bar: bars[i] gets asset i's candle; returns the regime of the bar. */
int sim_step(sim_market *m, sim_bar *bars);
/* Round x to the given number of decimals (half away from zero). */
double sim_round(double x, int decimals);

#endif
