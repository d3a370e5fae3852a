/* margin.h: the one margin model of krakenml (Kraken spot margin, isolated).
 *
 * Everything that needs a liquidation price, a margin or a margin fee calls
 * this module: kml-features' liquidation-barrier labels, kml-size's stops and
 * leverage, the paper account of kml-execute --sandbox. Formulas and worked
 * examples: docs/margin.md.
 *
 * The rule is Kraken's: margin level = equity / used margin. Kraken may
 * liquidate below margin_call (80 % by AssetPairs) and liquidates at
 * margin_stop (40 %). A position is isolated: its collateral is its own used
 * margin, so for side s (+1 long, -1 short), leverage L, entry P, volume V:
 *
 *     notional N     = P * V
 *     used margin M  = N / L
 *     equity at p    = M + s * V * (p - P)
 *     margin level   = equity / M = 1 + s * L * (p / P - 1)
 *     liquidation    = P * (1 - s * (1 - margin_stop) / L)
 *     margin call    = P * (1 - s * (1 - margin_call) / L)
 *
 * Fees are paid by the account, not out of the position's collateral, so the
 * liquidation price is fixed when the position opens:
 *     opening fee    = open_fee * N           (once, on opening; margin only)
 *     rollover fee   = rollover_rate * N      (each full 4 h held; margin only)
 *     taker fee      = taker_fee * V * price  (on opening and on closing)
 *
 * Spot: a long at leverage 1 borrows nothing: no margin fees and no
 * liquidation (liquidation price 0, margin level irrelevant). A short always
 * borrows, so a short at 1x is a margin position like any other.
 *
 * Sides are MARGIN_LONG (+1) and MARGIN_SHORT (-1). Leverage is >= 1.
 * All fractions are plain fractions (0.4, not 40). Functions are pure: no
 * global state, no allocation. */
#ifndef KML_MARGIN_H
#define KML_MARGIN_H

#include "config.h"

#define MARGIN_LONG 1
#define MARGIN_SHORT (-1)
#define MARGIN_ROLLOVER_SECONDS 14400 /* Kraken charges rollover every 4 hours */

typedef struct {
    double margin_call;   /* margin level Kraken may liquidate below: 0.80 */
    double margin_stop;   /* margin level of the liquidation: 0.40 (0 <= stop < call <= 1) */
    double open_fee;      /* margin opening fee, fraction of notional: 0.0002 */
    double rollover_rate; /* rollover fee per 4 h, fraction of notional: 0.0002 */
    double taker_fee;     /* taker fee, fraction of the traded value: 0.0026 */
} margin_params;

/* One position's numbers at opening (margin_open fills every field). */
typedef struct {
    int side;                 /* MARGIN_LONG or MARGIN_SHORT */
    int spot;                 /* 1: a long at 1x (no borrowing, no liquidation, no margin fees) */
    double leverage;          /* L >= 1 */
    double entry;             /* P > 0 */
    double volume;            /* V > 0, base units */
    double notional;          /* N = P * V, quote units */
    double margin;            /* used margin M = N / L: the position's collateral */
    double liquidation;       /* price where the margin level reaches margin_stop (0 for spot) */
    double margin_call_price; /* price where the margin level reaches margin_call (0 for spot) */
    double open_fee;          /* margin opening fee, quote units (0 for spot) */
    double rollover_fee;      /* fee for each full 4 h held, quote units (0 for spot) */
    double taker_open;        /* taker fee of the opening trade */
    double taker_close;       /* taker fee of a closing trade at the entry price (margin_close_fee for others) */
} margin_position;

/* Kraken's defaults: margin_call 0.8, margin_stop 0.4, open_fee 0.0002,
 * rollover_rate 0.0002 per 4 h, taker_fee 0.0026. */
void margin_params_default(margin_params *m);
/* From the configuration: its "margin" section and fees.taker. */
void margin_params_from_config(margin_params *m, const kml_config *c);
/* Set the margin levels from AssetPairs' margin_call / margin_stop, which
 * Kraken gives in percent (80, 40). Returns 0, or -1 (m unchanged) when they
 * are not finite, not in (0, 100) or stop >= call. */
int margin_params_set_levels_pct(margin_params *m, double margin_call_pct, double margin_stop_pct);

/* The adverse move, as a fraction of the entry price, from entry to the
 * liquidation of a margin position at leverage L: (1 - margin_stop) / L.
 * Returns NaN when L < 1 or L is not finite. */
double margin_liquidation_move(const margin_params *m, double leverage);
/* The liquidation price of side at leverage L and entry P (0 for a spot long);
 * NaN on invalid arguments (side not +-1, L < 1, P <= 0). */
double margin_liquidation_price(const margin_params *m, int side, double leverage, double entry);
/* The largest leverage at which an adverse move of `move` (fraction of entry,
 * > 0) stays strictly before liquidation: (1 - margin_stop) / move, so that
 * margin_liquidation_move(m, result) == move. NaN when move <= 0. */
double margin_max_leverage_for_move(const margin_params *m, double move);

/* Fill *pos for a new position. Returns 0, or -1 (pos zeroed) when side is not
 * +-1, leverage < 1, entry or volume not finite and > 0, or margin_stop >= 1. */
int margin_open(margin_position *pos, const margin_params *m, int side, double leverage, double entry,
                double volume);
/* Unrealised profit or loss at price p, quote units, fees not included. */
double margin_pnl(const margin_position *pos, double price);
/* Margin level (equity / used margin) at price p: 1 + s * L * (p / P - 1).
 * For a spot long it is p / P (never liquidated). */
double margin_level(const margin_position *pos, double price);
/* Has price p reached the liquidation (long: p <= liquidation; short: p >=
 * liquidation)? Never for spot. */
int margin_liquidated(const margin_position *pos, double price);
/* Taker fee of closing the whole position at price p. */
double margin_close_fee(const margin_position *pos, const margin_params *m, double price);
/* Number of rollover fees charged for a position held from opened to now
 * (Unix seconds): one per full 4 h; 0 when now <= opened. */
long margin_rollovers(long long opened, long long now);
/* Total rollover fees for that holding period, quote units (0 for spot). */
double margin_rollover_total(const margin_position *pos, long long opened, long long now);

#endif
