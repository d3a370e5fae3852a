/* account.h: the one paper account (kml-execute --sandbox, every backtest).
 *
 * Cash in the quote currency; per pair a position (side, volume, entry,
 * leverage, used margin, stop, take-profit, liquidation price), its realised
 * P&L, fees and rollover paid, and at most one pending target order. Margin
 * numbers (used margin, liquidation price, opening and rollover fees) come
 * from lib/market/margin, the one margin formula.
 *
 * Accounting (docs/execution.md): cash holds the collateral of the positions;
 * a position's marked value is its unrealised P&L, so
 *     equity = cash + sum of side * volume * (mark - entry)
 *     cash   = initial + realised - fees - rollover      (after every event)
 *
 * Timing: a target decided at the close of bar t (account_submit) fills at
 * the open of the pair's next bar (account_bar). Per bar, in this order: fill
 * the pending target at the open (with slippage); liquidation, stop, then
 * take-profit from the bar's range (the pessimistic order); rollover for each
 * full 4 h the position has been open at the bar's end; mark at the close;
 * then the account limits (drawdown kill switch, daily loss limit).
 *
 * Events go to the account's sink as they happen, each with the position,
 * cash and equity after it. Nothing here does I/O. */
#ifndef KML_ACCOUNT_H
#define KML_ACCOUNT_H

#include <cJSON.h>
#include <stdint.h>

#include "config.h"
#include "events.h"
#include "margin.h"

typedef struct {
    int64_t time; /* open time, Unix seconds */
    double open, high, low, close;
} acct_bar;

/* A target (DESIGN.md orders JSONL), decided at the close of bar `time`. */
typedef struct {
    int64_t time;
    double exposure;       /* signed multiple of the pair's allocated equity */
    double leverage;       /* >= 1 */
    double price;          /* reference close, > 0 */
    double stop;           /* at the reference price; NaN: none */
    double take_profit;    /* NaN: none */
    int active;            /* a pending order exists */
    int kill;              /* the kill switch's close-out, not a user order */
} acct_order;

typedef struct {
    char pair[40];         /* "SOL/USD" */
    char altname[40];      /* "SOLUSD" */
    double allocation;     /* fraction of the account's equity */
    int64_t interval;      /* bar length, seconds (set before the first bar) */
    margin_params mp;
    double ordermin, costmin; /* base units, quote units */
    int lot_decimals;
    int used;              /* has had an order (kept in the state) */
    /* the position: side 0 when flat */
    int side, spot;
    double volume, entry, margin, leverage, liquidation, stop, take_profit;
    double rollover_fee;   /* per 4 h, quote units */
    int64_t opened;        /* time the position was opened */
    long rollovers;        /* rollover fees charged since */
    /* totals since the account began */
    double realised, fees, rollover_paid;
    double mark;           /* last price seen (open or close); NaN before any */
    int64_t last_bar;      /* last bar processed (INT64_MIN: none) */
    int64_t last_order;    /* time of the last order submitted (INT64_MIN: none) */
    acct_order pending;
} acct_pair;

typedef void (*acct_sink)(void *ctx, const kml_event *e);

typedef struct {
    const char *mode;      /* "sandbox" */
    double initial, cash;
    double peak;           /* highest marked equity */
    int64_t day;           /* UTC day (time / 86400) of the last bar */
    double day_start;      /* equity when that day began */
    int day_blocked;       /* the daily loss limit was hit: no new position today */
    int killed;            /* the drawdown kill switch tripped */
    long long seq;         /* events written so far */
    double slippage_bps, range_fraction;
    double max_drawdown, daily_loss_limit;
    int max_open;
    int n;
    acct_pair p[KML_MAX_ASSETS];
    acct_sink sink;
    void *ctx;
} account;

/* A fresh account from the configuration: its pairs (allocations), fees,
 * margin parameters, execution settings and risk limits; cash = initial
 * capital. sink (may be NULL) receives every event. */
void account_init(account *a, const kml_config *c, acct_sink sink, void *ctx);
/* Index of a pair (any form pair_parse reads), or -1 when the account does
 * not have it. */
int account_find(const account *a, const char *pair);
/* Equity: cash plus the unrealised P&L of every position at its mark. */
double account_equity(const account *a);
/* Unrealised P&L of one pair at its mark (0 when flat). */
double account_unrealised(const acct_pair *p);
/* Number of open positions. */
int account_open_positions(const account *a);

/* Accept a target for pair i (it fills at the pair's next bar). A target
 * still pending is replaced, with a cancel event. o->time must be after the
 * pair's last order (ASSERT: the caller checks the input). */
void account_submit(account *a, int i, const acct_order *o);
/* Run bar b of pair i (b->time after the pair's last bar). */
void account_bar(account *a, int i, const acct_bar *b);
/* Clear a tripped kill switch: the peak restarts at the current equity. An
 * event "kill" with reason "reset" at time t. */
void account_reset_kill(account *a, int64_t t);

/* The account as a JSON object (every number round-trips through
 * json_print); pairs that were never used are left out. Caller deletes. */
cJSON *account_to_json(const account *a);
/* Restore an account initialised with account_init from account_to_json's
 * object; name is used in messages. A malformed object dies 65 naming the
 * key; a pair the configuration lacks dies 78. */
void account_from_json(account *a, const cJSON *o, const char *name);

/* The accounting identities, within tol (quote units): returns 0 when
 * cash == initial + realised - fees - rollover and every position's numbers
 * are sane; otherwise -1 with a description in why (>= 160 bytes). */
int account_check(const account *a, double tol, char *why);

/* Round a volume down (toward zero) to `decimals` decimals, and to the
 * nearest, as the account does. */
double lot_floor(double v, int decimals);
double lot_round(double v, int decimals);

#endif
