/* account.c: the paper account (see account.h, docs/execution.md). */
#include "account.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jsonl.h"
#include "pair.h"
#include "util.h"

#define DAY 86400

void account_init(account *a, const kml_config *c, acct_sink sink, void *ctx)
{
    memset(a, 0, sizeof *a);
    a->mode = "sandbox";
    a->initial = a->cash = a->peak = a->day_start = c->initial_capital;
    a->day = INT64_MIN;
    a->slippage_bps = c->execution.slippage_bps;
    a->range_fraction = c->execution.range_fraction;
    a->max_drawdown = c->risk.max_drawdown;
    a->daily_loss_limit = c->risk.daily_loss_limit;
    a->max_open = c->risk.max_open_positions;
    a->sink = sink;
    a->ctx = ctx;
    a->n = c->n_assets;
    for (int i = 0; i < c->n_assets; i++) {
        acct_pair *p = &a->p[i];
        kml_pair kp;
        ASSERT(pair_parse(c->assets[i].pair, &kp) == 0);
        snprintf(p->pair, sizeof p->pair, "%s", kp.display);
        snprintf(p->altname, sizeof p->altname, "%s", kp.altname);
        p->allocation = c->assets[i].allocation;
        margin_params_from_config(&p->mp, c);
        p->ordermin = c->execution.ordermin;
        p->costmin = c->execution.costmin;
        p->lot_decimals = c->execution.lot_decimals;
        p->mark = NAN;
        p->stop = p->take_profit = NAN;
        p->last_bar = p->last_order = INT64_MIN;
    }
}

int account_find(const account *a, const char *pair)
{
    kml_pair kp;
    if (pair_parse(pair, &kp) != 0) return -1;
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->p[i].pair, kp.display)) return i;
    return -1;
}

double account_unrealised(const acct_pair *p)
{
    return p->side ? p->side * p->volume * (p->mark - p->entry) : 0;
}

double account_equity(const account *a)
{
    double e = a->cash;
    for (int i = 0; i < a->n; i++) e += account_unrealised(&a->p[i]);
    return e;
}

int account_open_positions(const account *a)
{
    int n = 0;
    for (int i = 0; i < a->n; i++) n += a->p[i].side != 0;
    return n;
}

/* Volumes live on the pair's lot grid; the small relative nudge keeps a
 * volume that is on the grid but printed as 0.29999999999999999 on it. */
double lot_floor(double v, int decimals)
{
    double s = pow(10, decimals);
    return copysign(floor(fabs(v) * s * (1 + 1e-12)) / s, v);
}

double lot_round(double v, int decimals)
{
    double s = pow(10, decimals);
    return round(v * s) / s;
}

/* ---- events ---- */

static void emit(account *a, kml_event *e, const acct_pair *p)
{
    e->seq = ++a->seq;
    if (p) e->position = p->side * p->volume;
    e->cash = a->cash;
    e->equity = account_equity(a);
    if (a->sink) a->sink(a->ctx, e);
}

static kml_event ev(const account *a, const char *event, double ts, int64_t time, const acct_pair *p)
{
    return event_blank(event, a->mode, ts, time, p ? p->pair : NULL);
}

static void order_id(char *buf, size_t n, const acct_pair *p, const acct_order *o)
{
    snprintf(buf, n, "%s-%lld%s", p->altname, (long long)o->time, o->kill ? "-kill" : "");
}

static void txid(char *buf, size_t n, const account *a)
{
    snprintf(buf, n, "S%lld", a->seq + 1);
}

/* ---- positions ---- */

static void clear_position(acct_pair *p)
{
    p->side = p->spot = 0;
    p->volume = p->entry = p->margin = p->leverage = p->liquidation = p->rollover_fee = 0;
    p->stop = p->take_profit = NAN;
    p->opened = 0;
    p->rollovers = 0;
}

/* Close v of the position at price px with the taker fee; returns the
 * realised P&L. */
static double close_volume(account *a, acct_pair *p, double v, double px, double *fee_out)
{
    double pnl = p->side * v * (px - p->entry);
    double fee = p->mp.taker_fee * v * px;
    p->realised += pnl;
    p->fees += fee;
    a->cash += pnl - fee;
    double left = lot_round(p->volume - v, p->lot_decimals);
    if (left <= 0) {
        clear_position(p);
    } else {
        double k = left / p->volume;
        p->margin *= k;
        p->rollover_fee *= k;
        p->volume = left;
    }
    *fee_out = fee;
    return pnl;
}

/* Slipped price of a market order of direction dir (+1 buy, -1 sell) at
 * reference price ref in bar b: bps of the price plus a fraction of the
 * bar's range, always against the trader. */
static double slip(const account *a, const acct_bar *b, double ref, int dir)
{
    return ref + dir * (a->slippage_bps * 1e-4 * ref + a->range_fraction * (b->high - b->low));
}

static double free_margin(const account *a)
{
    double m = 0;
    for (int i = 0; i < a->n; i++) m += a->p[i].margin;
    return account_equity(a) - m;
}

static void reject(account *a, acct_pair *p, const acct_bar *b, const acct_order *o, int dir, double vol,
                   double px, const char *reason)
{
    char id[80];
    order_id(id, sizeof id, p, o);
    kml_event e = ev(a, "reject", (double)b->time, b->time, p);
    e.cl_ord_id = id;
    e.side = dir > 0 ? "buy" : "sell";
    e.volume = vol;
    e.price = px;
    e.reason = reason;
    emit(a, &e, p);
}

static void fill_event(account *a, acct_pair *p, const acct_bar *b, const acct_order *o, int dir, double vol,
                       double px, double fee, double pnl, const char *reason)
{
    char id[80], tx[32];
    order_id(id, sizeof id, p, o);
    txid(tx, sizeof tx, a);
    kml_event e = ev(a, "fill", (double)b->time, b->time, p);
    e.cl_ord_id = id;
    e.txid = tx;
    e.side = dir > 0 ? "buy" : "sell";
    e.volume = vol;
    e.price = px;
    e.fee = fee;
    e.pnl = pnl;
    e.reason = reason;
    emit(a, &e, p);
}

/* The checks an order that opens or adds to a position passes; returns the
 * reason it is refused, or NULL. why has room for the message. */
static const char *open_refusal(const account *a, const acct_pair *p, double vol, double px, double lev,
                                char *why, size_t n)
{
    if (a->killed) return "kill switch: the drawdown limit was hit, no new position until reset";
    if (a->day_blocked) return "daily loss limit: no new position until the next UTC day";
    if (p->side == 0 && account_open_positions(a) >= a->max_open) {
        snprintf(why, n, "max_open_positions: %d positions are open", account_open_positions(a));
        return why;
    }
    if (vol < p->ordermin) {
        snprintf(why, n, "volume %.17g is below ordermin %.17g", vol, p->ordermin);
        return why;
    }
    if (vol * px < p->costmin) {
        snprintf(why, n, "cost %.17g is below costmin %.17g", vol * px, p->costmin);
        return why;
    }
    double need = vol * px / lev, avail = free_margin(a);
    if (need > avail) {
        snprintf(why, n, "insufficient margin: %.17g needed, %.17g free", need, avail);
        return why;
    }
    return NULL;
}

/* Open (side 0) or add to the position: vol at px and leverage lev. */
static void add_volume(account *a, acct_pair *p, const acct_bar *b, int side, double vol, double px, double lev,
                       double *fee_out)
{
    margin_position slice;
    ASSERT(margin_open(&slice, &p->mp, side, lev, px, vol) == 0);
    double fee = slice.taker_open + slice.open_fee;
    double V = lot_round(p->volume + vol, p->lot_decimals);
    double entry = p->side ? (p->volume * p->entry + vol * px) / V : px;
    double M = p->margin + slice.margin;
    /* Slices at 1x give (V1 E1 + V2 E2) / (V1 E1 + V2 E2) a rounding below 1. */
    double L = fmax(V * entry / M, 1);
    int spot = p->side ? p->spot && slice.spot : slice.spot;
    if (spot) L = 1;
    margin_position pos;
    ASSERT(margin_open(&pos, &p->mp, side, L, entry, V) == 0);
    if (!p->side) {
        p->opened = b->time;
        p->rollovers = 0;
    }
    p->side = side;
    p->spot = pos.spot;
    p->volume = V;
    p->entry = entry;
    p->margin = M;
    p->leverage = L;
    p->liquidation = pos.liquidation;
    p->rollover_fee = pos.rollover_fee;
    p->fees += fee;
    a->cash -= fee;
    *fee_out = fee;
}

static int sgn(double x) { return (x > 0) - (x < 0); }

/* Stop and take-profit of the order, moved from its reference price to ref
 * (the open of the fill bar) by the same ratio. */
static void set_exits(acct_pair *p, const acct_order *o, double ref)
{
    double k = ref / o->price;
    p->stop = isnan(o->stop) ? NAN : o->stop * k;
    p->take_profit = isnan(o->take_profit) ? NAN : o->take_profit * k;
}

/* Trade the pending target at the bar's open. */
static void fill_pending(account *a, acct_pair *p, const acct_bar *b)
{
    acct_order o = p->pending;
    p->pending.active = 0;
    double ref = b->open;
    double exposure = a->killed ? 0 : o.exposure;
    const char *why_fill = a->killed ? "kill switch" : "target";
    double cur = p->side * p->volume;
    double eq = account_equity(a);
    double want = eq > 0 ? exposure * p->allocation * eq : 0; /* signed notional */
    int dir = sgn(want / ref - cur);
    char why[200];
    if (a->killed && o.exposure != 0 && !o.kill && p->side == 0) {
        reject(a, p, b, &o, sgn(o.exposure), NAN, ref, open_refusal(a, p, 0, ref, 1, why, sizeof why));
        return;
    }
    if (dir == 0) {
        if (p->side && sgn(exposure) == p->side) set_exits(p, &o, ref);
        return;
    }
    double px = slip(a, b, ref, dir);
    double tgt = sgn(want) * lot_floor(fabs(want) / px, p->lot_decimals);
    double trade = lot_round(tgt - cur, p->lot_decimals);
    if (sgn(trade) != dir) {
        if (p->side && sgn(exposure) == p->side) set_exits(p, &o, ref);
        return;
    }
    double fee, pnl;
    /* Close: the target is flat or on the other side (a reversal closes, then opens). */
    if (p->side && sgn(tgt) != p->side) {
        double v = p->volume;
        pnl = close_volume(a, p, v, px, &fee);
        fill_event(a, p, b, &o, dir, v, px, fee, pnl, why_fill);
    } else if (p->side && fabs(tgt) < p->volume) {
        double v = lot_round(p->volume - fabs(tgt), p->lot_decimals);
        const char *r = NULL;
        if (v < p->ordermin) snprintf(why, sizeof why, "volume %.17g is below ordermin %.17g", v, p->ordermin), r = why;
        else if (v * px < p->costmin)
            snprintf(why, sizeof why, "cost %.17g is below costmin %.17g", v * px, p->costmin), r = why;
        if (r) {
            reject(a, p, b, &o, dir, v, px, r);
        } else {
            pnl = close_volume(a, p, v, px, &fee);
            fill_event(a, p, b, &o, dir, v, px, fee, pnl, why_fill);
        }
        if (p->side) set_exits(p, &o, ref);
        return;
    }
    if (tgt == 0) return;
    /* Open, or add to a position on the same side. */
    double v = p->side ? lot_round(fabs(tgt) - p->volume, p->lot_decimals) : fabs(tgt);
    if (v <= 0) return;
    const char *r = open_refusal(a, p, v, px, o.leverage, why, sizeof why);
    if (r) {
        reject(a, p, b, &o, dir, v, px, r);
    } else {
        add_volume(a, p, b, sgn(tgt), v, px, o.leverage, &fee);
        fill_event(a, p, b, &o, dir, v, px, fee, 0, why_fill);
    }
    if (p->side) set_exits(p, &o, ref);
}

/* Liquidation, stop, take-profit from the bar's range, in that order. */
static void range_exits(account *a, acct_pair *p, const acct_bar *b)
{
    if (!p->side) return;
    int s = p->side;
    double end = (double)(b->time + p->interval);
    double adverse = s > 0 ? b->low : b->high;     /* worst price of the bar for the position */
    double favour = s > 0 ? b->high : b->low;
    /* beyond(x, y): x is at or past y in the position's adverse direction */
#define BEYOND(x, y) (s > 0 ? (x) <= (y) : (x) >= (y))
    if (!p->spot && BEYOND(adverse, p->liquidation)) {
        double px = BEYOND(b->open, p->liquidation) ? b->open : p->liquidation;
        double v = p->volume, pnl = s * v * (px - p->entry);
        /* Kraken keeps the position's collateral: at least its whole margin is lost. */
        double loss = fmin(pnl, -p->margin);
        p->realised += loss;
        a->cash += loss;
        clear_position(p);
        kml_event e = ev(a, "liquidation", end, b->time, p);
        char tx[32];
        txid(tx, sizeof tx, a);
        e.txid = tx;
        e.side = s > 0 ? "sell" : "buy";
        e.volume = v;
        e.price = px;
        e.fee = 0;
        e.pnl = loss;
        e.reason = "margin level reached margin_stop";
        emit(a, &e, p);
        return;
    }
    const char *what = NULL;
    double px = 0;
    if (!isnan(p->stop) && BEYOND(adverse, p->stop)) {
        double base = BEYOND(b->open, p->stop) ? b->open : p->stop;
        px = slip(a, b, base, -s);
        what = "stop";
    } else if (!isnan(p->take_profit) && (s > 0 ? favour >= p->take_profit : favour <= p->take_profit)) {
        /* take-profit: a limit order, filled at its price or at a better open */
        px = (s > 0 ? b->open >= p->take_profit : b->open <= p->take_profit) ? b->open : p->take_profit;
        what = "take_profit";
    }
#undef BEYOND
    if (!what) return;
    double v = p->volume, fee;
    double pnl = close_volume(a, p, v, px, &fee);
    kml_event e = ev(a, what, end, b->time, p);
    char tx[32];
    txid(tx, sizeof tx, a);
    e.txid = tx;
    e.side = s > 0 ? "sell" : "buy";
    e.volume = v;
    e.price = px;
    e.fee = fee;
    e.pnl = pnl;
    emit(a, &e, p);
}

static void rollover(account *a, acct_pair *p, const acct_bar *b)
{
    if (!p->side || p->spot) return;
    int64_t end = b->time + p->interval;
    long n = margin_rollovers(p->opened, end) - p->rollovers;
    if (n <= 0) return;
    double fee = (double)n * p->rollover_fee;
    p->rollovers += n;
    p->rollover_paid += fee;
    a->cash -= fee;
    kml_event e = ev(a, "rollover", (double)end, b->time, p);
    char why[64];
    snprintf(why, sizeof why, "%ld x 4 h held", n);
    e.fee = fee;
    e.volume = p->volume;
    e.reason = why;
    emit(a, &e, p);
}

/* The drawdown kill switch: close every position at its next open. */
static void trip_kill(account *a, const acct_bar *b, int64_t end, double eq)
{
    a->killed = 1;
    char why[160];
    snprintf(why, sizeof why, "drawdown: equity %.17g is more than %.17g below the peak %.17g", eq, a->max_drawdown,
             a->peak);
    kml_event e = ev(a, "kill", (double)end, b->time, NULL);
    e.reason = why;
    emit(a, &e, NULL);
    for (int i = 0; i < a->n; i++) {
        acct_pair *q = &a->p[i];
        if (!q->side && !q->pending.active) continue;
        acct_order o = {0};
        o.time = q->pending.active ? q->pending.time : q->last_order;
        o.price = 1;
        o.stop = o.take_profit = NAN;
        o.kill = 1;
        o.active = 1;
        if (q->pending.active) {
            char id[80];
            order_id(id, sizeof id, q, &q->pending);
            kml_event c = ev(a, "cancel", (double)end, b->time, q);
            c.cl_ord_id = id;
            c.reason = "kill switch";
            emit(a, &c, q);
        }
        q->pending = q->side ? o : (acct_order){0};
    }
}

void account_submit(account *a, int i, const acct_order *o)
{
    ASSERT(i >= 0 && i < a->n);
    acct_pair *p = &a->p[i];
    ASSERT(p->last_order == INT64_MIN || o->time > p->last_order);
    if (p->pending.active) {
        char id[80];
        order_id(id, sizeof id, p, &p->pending);
        kml_event e = ev(a, "cancel", (double)(o->time + p->interval), o->time, p);
        e.cl_ord_id = id;
        e.reason = "replaced by a newer target before the pair's next bar";
        emit(a, &e, p);
    }
    p->pending = *o;
    p->pending.active = 1;
    p->used = 1;
    if (p->last_bar == INT64_MIN) p->last_bar = o->time; /* bars before its first order change nothing */
    p->last_order = o->time;
}

void account_bar(account *a, int i, const acct_bar *b)
{
    ASSERT(i >= 0 && i < a->n);
    acct_pair *p = &a->p[i];
    ASSERT(p->interval > 0);
    ASSERT(p->last_bar == INT64_MIN || b->time > p->last_bar);
    int64_t day = b->time >= 0 ? b->time / DAY : -((-b->time + DAY - 1) / DAY);
    if (day != a->day) {
        /* a new UTC day: the daily loss is measured from here */
        a->day = day;
        a->day_start = account_equity(a);
        a->day_blocked = 0;
    }
    p->last_bar = b->time;
    p->mark = b->open;
    if (p->pending.active && p->pending.time < b->time) fill_pending(a, p, b);
    range_exits(a, p, b);
    rollover(a, p, b);
    p->mark = b->close;
    double eq = account_equity(a);
    if (eq > a->peak) a->peak = eq;
    if (!a->killed && eq < a->peak * (1 - a->max_drawdown)) trip_kill(a, b, b->time + p->interval, eq);
    if (!a->day_blocked && eq < a->day_start * (1 - a->daily_loss_limit)) a->day_blocked = 1;
}

void account_reset_kill(account *a, int64_t t)
{
    a->killed = 0;
    a->peak = account_equity(a);
    kml_event e = ev(a, "kill", (double)t, t, NULL);
    e.reason = "reset";
    emit(a, &e, NULL);
}

/* ---- state ---- */

static void put_time(cJSON *o, const char *key, int64_t t)
{
    if (t == INT64_MIN) cJSON_AddNullToObject(o, key);
    else json_add_num(o, key, (double)t);
}

cJSON *account_to_json(const account *a)
{
    cJSON *o = cJSON_CreateObject();
    json_add_num(o, "version", 1);
    json_add_num(o, "initial", a->initial);
    json_add_num(o, "cash", a->cash);
    json_add_num(o, "peak", a->peak);
    put_time(o, "day", a->day);
    json_add_num(o, "day_start", a->day_start);
    cJSON_AddBoolToObject(o, "day_blocked", a->day_blocked);
    cJSON_AddBoolToObject(o, "killed", a->killed);
    json_add_num(o, "seq", (double)a->seq);
    cJSON *ps = cJSON_AddObjectToObject(o, "pairs");
    for (int i = 0; i < a->n; i++) {
        const acct_pair *p = &a->p[i];
        if (!p->used) continue;
        cJSON *x = cJSON_AddObjectToObject(ps, p->pair);
        json_add_num(x, "side", p->side);
        cJSON_AddBoolToObject(x, "spot", p->spot);
        json_add_num(x, "volume", p->volume);
        json_add_num(x, "entry", p->entry);
        json_add_num(x, "leverage", p->leverage);
        json_add_num(x, "margin", p->margin);
        json_add_num(x, "liquidation", p->liquidation);
        json_add_num(x, "stop", p->stop);
        json_add_num(x, "take_profit", p->take_profit);
        json_add_num(x, "rollover_fee", p->rollover_fee);
        json_add_num(x, "opened", (double)p->opened);
        json_add_num(x, "rollovers", (double)p->rollovers);
        json_add_num(x, "realised", p->realised);
        json_add_num(x, "fees", p->fees);
        json_add_num(x, "rollover_paid", p->rollover_paid);
        json_add_num(x, "unrealised", account_unrealised(p));
        json_add_num(x, "mark", p->mark);
        put_time(x, "last_bar", p->last_bar);
        put_time(x, "last_order", p->last_order);
        if (p->pending.active) {
            cJSON *q = cJSON_AddObjectToObject(x, "pending");
            json_add_num(q, "time", (double)p->pending.time);
            json_add_num(q, "exposure", p->pending.exposure);
            json_add_num(q, "leverage", p->pending.leverage);
            json_add_num(q, "price", p->pending.price);
            json_add_num(q, "stop", p->pending.stop);
            json_add_num(q, "take_profit", p->pending.take_profit);
            cJSON_AddBoolToObject(q, "kill", p->pending.kill);
        } else {
            cJSON_AddNullToObject(x, "pending");
        }
    }
    json_add_num(o, "equity", account_equity(a));
    return o;
}

static const cJSON *key(const cJSON *o, const char *k, const char *name, const char *path)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) die(EX_DATAERR, "%s: %s.%s: missing", name, path, k);
    return v;
}

/* A number, or NaN for null (stop and take-profit may be none). */
static double num(const cJSON *o, const char *k, const char *name, const char *path, int null_ok)
{
    const cJSON *v = key(o, k, name, path);
    if (null_ok && cJSON_IsNull(v)) return NAN;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) die(EX_DATAERR, "%s: %s.%s: expected a number", name, path, k);
    return v->valuedouble;
}

static int boolean(const cJSON *o, const char *k, const char *name, const char *path)
{
    const cJSON *v = key(o, k, name, path);
    if (!cJSON_IsBool(v)) die(EX_DATAERR, "%s: %s.%s: expected true or false", name, path, k);
    return cJSON_IsTrue(v);
}

static int64_t time_or_none(const cJSON *o, const char *k, const char *name, const char *path)
{
    double x = num(o, k, name, path, 1);
    return isnan(x) ? INT64_MIN : (int64_t)x;
}

void account_from_json(account *a, const cJSON *o, const char *name)
{
    if (!cJSON_IsObject(o)) die(EX_DATAERR, "%s: $: expected an object", name);
    if (num(o, "version", name, "$", 0) != 1) die(EX_DATAERR, "%s: $.version: expected 1", name);
    a->initial = num(o, "initial", name, "$", 0);
    a->cash = num(o, "cash", name, "$", 0);
    a->peak = num(o, "peak", name, "$", 0);
    a->day = time_or_none(o, "day", name, "$");
    a->day_start = num(o, "day_start", name, "$", 0);
    a->day_blocked = boolean(o, "day_blocked", name, "$");
    a->killed = boolean(o, "killed", name, "$");
    a->seq = (long long)num(o, "seq", name, "$", 0);
    const cJSON *ps = key(o, "pairs", name, "$");
    if (!cJSON_IsObject(ps)) die(EX_DATAERR, "%s: $.pairs: expected an object", name);
    for (const cJSON *x = ps->child; x; x = x->next) {
        char path[80];
        snprintf(path, sizeof path, "$.pairs.%s", x->string);
        int i = account_find(a, x->string);
        if (i < 0) die(EX_CONFIG, "%s: %s: the configuration has no such pair", name, path);
        if (!cJSON_IsObject(x)) die(EX_DATAERR, "%s: %s: expected an object", name, path);
        acct_pair *p = &a->p[i];
        p->used = 1;
        p->side = (int)num(x, "side", name, path, 0);
        if (p->side < -1 || p->side > 1) die(EX_DATAERR, "%s: %s.side: expected -1, 0 or 1", name, path);
        p->spot = boolean(x, "spot", name, path);
        p->volume = num(x, "volume", name, path, 0);
        p->entry = num(x, "entry", name, path, 0);
        p->leverage = num(x, "leverage", name, path, 0);
        p->margin = num(x, "margin", name, path, 0);
        p->liquidation = num(x, "liquidation", name, path, 0);
        p->stop = num(x, "stop", name, path, 1);
        p->take_profit = num(x, "take_profit", name, path, 1);
        p->rollover_fee = num(x, "rollover_fee", name, path, 0);
        p->opened = (int64_t)num(x, "opened", name, path, 0);
        p->rollovers = (long)num(x, "rollovers", name, path, 0);
        p->realised = num(x, "realised", name, path, 0);
        p->fees = num(x, "fees", name, path, 0);
        p->rollover_paid = num(x, "rollover_paid", name, path, 0);
        p->mark = num(x, "mark", name, path, 1);
        p->last_bar = time_or_none(x, "last_bar", name, path);
        p->last_order = time_or_none(x, "last_order", name, path);
        const cJSON *q = key(x, "pending", name, path);
        memset(&p->pending, 0, sizeof p->pending);
        if (!cJSON_IsNull(q)) {
            char qp[100];
            snprintf(qp, sizeof qp, "%s.pending", path);
            if (!cJSON_IsObject(q)) die(EX_DATAERR, "%s: %s: expected an object or null", name, qp);
            p->pending.active = 1;
            p->pending.time = (int64_t)num(q, "time", name, qp, 0);
            p->pending.exposure = num(q, "exposure", name, qp, 0);
            p->pending.leverage = num(q, "leverage", name, qp, 0);
            p->pending.price = num(q, "price", name, qp, 0);
            p->pending.stop = num(q, "stop", name, qp, 1);
            p->pending.take_profit = num(q, "take_profit", name, qp, 1);
            p->pending.kill = boolean(q, "kill", name, qp);
        }
    }
}

int account_check(const account *a, double tol, char *why)
{
    double realised = 0, fees = 0, roll = 0, upnl = 0;
    for (int i = 0; i < a->n; i++) {
        const acct_pair *p = &a->p[i];
        realised += p->realised;
        fees += p->fees;
        roll += p->rollover_paid;
        upnl += account_unrealised(p);
        if (p->side && !(p->volume > 0 && p->entry > 0 && p->margin > 0 && p->leverage >= 1)) {
            snprintf(why, 160, "%s: open position with volume %g entry %g margin %g leverage %g", p->pair, p->volume,
                     p->entry, p->margin, p->leverage);
            return -1;
        }
        if (!p->side && (p->volume != 0 || p->margin != 0)) {
            snprintf(why, 160, "%s: flat with volume %g margin %g", p->pair, p->volume, p->margin);
            return -1;
        }
    }
    double want = a->initial + realised - fees - roll;
    if (!(fabs(a->cash - want) <= tol)) {
        snprintf(why, 160, "cash %.17g != initial + realised - fees - rollover = %.17g", a->cash, want);
        return -1;
    }
    double eq = account_equity(a);
    if (!(fabs(eq - (a->cash + upnl)) <= tol)) {
        snprintf(why, 160, "equity %.17g != cash + unrealised %.17g", eq, a->cash + upnl);
        return -1;
    }
    return 0;
}
