/* margin.c: the one margin model (see margin.h and docs/margin.md). */
#include "margin.h"

#include <math.h>
#include <string.h>

void margin_params_default(margin_params *m)
{
    m->margin_call = 0.8;
    m->margin_stop = 0.4;
    m->open_fee = 0.0002;
    m->rollover_rate = 0.0002;
    m->taker_fee = 0.0026;
}

void margin_params_from_config(margin_params *m, const kml_config *c)
{
    m->margin_call = c->margin.margin_call;
    m->margin_stop = c->margin.margin_stop;
    m->open_fee = c->margin.opening_fee;
    m->rollover_rate = c->margin.rollover_rate;
    m->taker_fee = c->taker_fee;
}

int margin_params_set_levels_pct(margin_params *m, double call_pct, double stop_pct)
{
    if (!isfinite(call_pct) || !isfinite(stop_pct) || !(stop_pct > 0) || !(call_pct < 100) ||
        !(stop_pct < call_pct))
        return -1;
    m->margin_call = call_pct / 100;
    m->margin_stop = stop_pct / 100;
    return 0;
}

double margin_liquidation_move(const margin_params *m, double leverage)
{
    if (!(leverage >= 1) || !isfinite(leverage)) return NAN;
    /* margin level 1 - L * move reaches margin_stop */
    return (1 - m->margin_stop) / leverage;
}

double margin_liquidation_price(const margin_params *m, int side, double leverage, double entry)
{
    if ((side != MARGIN_LONG && side != MARGIN_SHORT) || !(leverage >= 1) || !isfinite(leverage) ||
        !(entry > 0) || !isfinite(entry))
        return NAN;
    if (side == MARGIN_LONG && leverage == 1) return 0; /* spot: nothing borrowed */
    return entry * (1 - side * margin_liquidation_move(m, leverage));
}

double margin_max_leverage_for_move(const margin_params *m, double move)
{
    if (!(move > 0)) return NAN;
    return (1 - m->margin_stop) / move;
}

int margin_open(margin_position *pos, const margin_params *m, int side, double leverage, double entry,
                double volume)
{
    memset(pos, 0, sizeof *pos);
    if ((side != MARGIN_LONG && side != MARGIN_SHORT) || !(leverage >= 1) || !isfinite(leverage) ||
        !(entry > 0) || !isfinite(entry) || !(volume > 0) || !isfinite(volume) || !(m->margin_stop < 1))
        return -1;
    pos->side = side;
    pos->spot = side == MARGIN_LONG && leverage == 1;
    pos->leverage = leverage;
    pos->entry = entry;
    pos->volume = volume;
    pos->notional = entry * volume;
    pos->margin = pos->notional / leverage;
    pos->taker_open = m->taker_fee * pos->notional;
    pos->taker_close = pos->taker_open;
    if (pos->spot) return 0;
    pos->liquidation = margin_liquidation_price(m, side, leverage, entry);
    pos->margin_call_price = entry * (1 - side * (1 - m->margin_call) / leverage);
    pos->open_fee = m->open_fee * pos->notional;
    pos->rollover_fee = m->rollover_rate * pos->notional;
    return 0;
}

double margin_pnl(const margin_position *pos, double price)
{
    return pos->side * pos->volume * (price - pos->entry);
}

double margin_level(const margin_position *pos, double price)
{
    if (pos->spot) return price / pos->entry;
    return 1 + pos->side * pos->leverage * (price / pos->entry - 1);
}

int margin_liquidated(const margin_position *pos, double price)
{
    if (pos->spot) return 0;
    return pos->side == MARGIN_LONG ? price <= pos->liquidation : price >= pos->liquidation;
}

double margin_close_fee(const margin_position *pos, const margin_params *m, double price)
{
    return m->taker_fee * pos->volume * price;
}

long margin_rollovers(long long opened, long long now)
{
    if (now <= opened) return 0;
    return (long)((now - opened) / MARGIN_ROLLOVER_SECONDS);
}

double margin_rollover_total(const margin_position *pos, long long opened, long long now)
{
    return (double)margin_rollovers(opened, now) * pos->rollover_fee;
}
