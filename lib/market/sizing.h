/* sizing.h: position sizing, the logic of kml-size (docs/sizing.md).
 *
 * A decision (signal in [-1, 1], confidence in [0, 1], per-bar volatility,
 * reference close) becomes an order target: side, exposure in units of the
 * pair's allocated equity, leverage, stop, take-profit and the liquidation
 * price of lib/market/margin. Every non-flat target keeps its stop strictly
 * between the entry and the liquidation, at least stop_buffer of that
 * distance away from the liquidation; leverage is lowered until that holds.
 *
 * A pair's track record (hit rate and drawdown of its own past targets,
 * judged on the closes that follow them) is kept in a size_track that the
 * caller feeds every decision of the pair, in time order. */
#ifndef KML_SIZING_H
#define KML_SIZING_H

#include <stdint.h>

#include "config.h"
#include "market/margin.h"

#define SIZE_MAX_LEVS 32 /* leverage values a pair's limits may list */

/* What Kraken allows for one pair (AssetPairs, as kml-fetch pairs writes it). */
typedef struct {
    int n_buy, n_sell;              /* 0: no margin on that side */
    double lev_buy[SIZE_MAX_LEVS];  /* allowed leverages of a long, ascending */
    double lev_sell[SIZE_MAX_LEVS]; /* allowed leverages of a short, ascending */
    int have_levels;                /* margin_call / margin_stop were given */
    double margin_call, margin_stop; /* fractions (AssetPairs' percent / 100) */
} size_limits;

/* The settings of one run: from the configuration, the options and -e. */
typedef struct {
    int ml;                 /* --ml-position-sizing */
    int extreme;            /* --extreme-leverage (or leverage_mode "extreme") */
    double entry_threshold; /* flat when |signal| < this */
    double min_confidence;  /* flat when confidence < this */
    double risk_per_trade;  /* fixed-fraction: allocation fraction lost at the stop */
    double max_position;    /* cap on |exposure| */
    double max_drawdown;    /* the track record's drawdown at which ML sizing stops */
    double stop_buffer, stop_vol, take_profit_vol, vol_target, kelly_fraction;
    int track_window;
    margin_params margin;   /* fees and the default margin levels */
} size_settings;

/* Settings from a configuration (sizing, risk, margin, fees); thresholds from
 * its sizing section (the caller may override them from ensemble.json). */
void size_settings_from_config(size_settings *s, const kml_config *c, int ml, int extreme);

/* A pair's track record: the last target (to judge on the next close) and a
 * ring of the last track_window judged outcomes. */
typedef struct {
    int64_t time;       /* last decision's time; INT64_MIN: none yet */
    double close;       /* its close */
    int side;           /* its target's side (-1, 0, 1) */
    double exposure;    /* its target's |exposure| */
    int cap, n, head;   /* ring capacity (track_window), count, next slot */
    double *ret;        /* (cap) equity return of each judged target: side * exposure * (close'/close - 1) */
} size_track;

void size_track_init(size_track *t, int window); /* allocates; size_track_free releases */
void size_track_free(size_track *t);
/* Judge the pending target (the last one remembered, when not flat) on this
 * close and add its outcome to the ring; the target is then judged. */
void size_track_judge(size_track *t, double close);
/* size_track_judge(t, close), then remember this decision's target. */
void size_track_step(size_track *t, int64_t time, double close, int side, double exposure);
/* Hit rate with one win and one loss of prior ((wins + 1) / (n + 2)): 0.5
 * with no history. */
double size_track_hit_rate(const size_track *t);
/* Drawdown of the ring's compounded equity at its end from its peak, in [0, 1). */
double size_track_drawdown(const size_track *t);

typedef struct {
    int64_t time;
    const char *pair;
    double close, signal, confidence, volatility;
} size_decision;

typedef struct {
    int side;            /* -1 sell, 0 flat, 1 buy */
    double exposure;     /* signed, units of the allocated equity; 0 when flat */
    double leverage;     /* >= 1; 0 when flat */
    double price;        /* the reference close */
    double stop, take_profit, liquidation; /* NaN when flat; liquidation 0 for a spot long */
    double stop_dist, tp_dist; /* fractions of the price */
    double p_win, kelly, track_factor, vol_factor; /* ML sizing's terms (NaN in fixed mode) */
    char reason[640];
} size_order;

/* Size one decision for asset a (its allocation and leverage ranges), with
 * the pair's exchange limits (NULL: not checked) and track record (NULL: no
 * history). Inputs are assumed validated (finite, in range). */
void size_compute(size_order *o, const size_settings *s, const kml_asset *a, const size_limits *lim,
                  const size_track *t, const size_decision *d);

#endif
