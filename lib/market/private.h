/* private.h: Kraken's private REST endpoints over the public client
 * (lib/kraken.h), signed with sign.h.
 *
 * Every call takes the key's nonce lock (sign.h) for the whole request, so the
 * nonces of processes sharing a key reach Kraken in order. Before a call the
 * client-side model of Kraken's private call counter is consulted: each call
 * costs 1 (AddOrder and CancelOrder cost nothing here: they are counted by the
 * matching engine's per-pair limiter), the counter decays at the tier's rate,
 * and a call that would take it over the tier's maximum less one (a margin
 * for the time between sending and Kraken's counting) waits for the decay
 * first. Tiers (docs.kraken.com, REST rate limits):
 *   starter       max 15, decay 0.33/s
 *   intermediate  max 20, decay 0.5/s
 *   pro           max 20, decay 1/s
 * EAPI:Rate limit exceeded sets the model's counter to the maximum (Kraken
 * knows better) before the bounded, jittered retries of lib/kraken.c.
 * EAPI:Invalid nonce is retried once with a fresh nonce, never more.
 *
 * Responses are parsed strictly into the structs below: a missing key, a value
 * of the wrong type or a number that is not a number is an error naming the
 * endpoint and the key ("OpenOrders: result.open.OQCLML-...: 'vol': ..."),
 * returned in kraken_err (code EX_UNAVAILABLE), never a crash.
 *
 * AddOrder is sent exactly once (kraken_request_once): its result says whether
 * Kraken took it, refused it, or whether the outcome is unknown (a timeout
 * after the body was sent, HTTP 5xx, EService:*, a malformed answer); the
 * caller must then look the order up by its client id before sending again. */
#ifndef KML_MARKET_PRIVATE_H
#define KML_MARKET_PRIVATE_H

#include "kraken.h"
#include "sign.h"

typedef struct {
    double max, decay;
} kp_tier;
/* "starter", "intermediate", "pro", or "MAX/DECAY" (an account with other
 * limits, or a test server); -1 when unknown. */
int kp_tier_parse(const char *name, kp_tier *t);

typedef struct {
    kraken_client *http;
    kraken_creds creds;
    nonce_store *nonces;
    kp_tier tier;
    long calls;   /* private calls made (attempts counted by http->requests) */
    double waited; /* seconds spent waiting for the call counter */
} kraken_private;

/* Credentials from the environment or env_file (sign.h), nonces under
 * nonce_dir, the call counter of tier. Dies 78 on bad credentials. */
kraken_private *kp_open(const char *env_file, const char *nonce_dir, const char *tier);
void kp_close(kraken_private *kp);

/* The call-counter model, for tests: given the counter c at time t0, how long
 * a call of cost at time t must wait, and the counter after it. */
double kp_counter_wait(const kp_tier *t, double c, double t0, double t1, double cost, double *after);

/* A signed POST of /0/private/<method> with params (url-encoded "k=v&k=v",
 * without the nonce). Returns the root (caller deletes), whose "result" is
 * present; NULL with err set on failure. */
cJSON *kp_call(kraken_private *kp, const char *method, const char *params, kraken_err *err);

/* Append "&key=value" (value url-encoded) to a growing params text. */
void kp_param(char **params, const char *key, const char *value);

typedef struct {
    char txid[48];
    char cl_ord_id[48]; /* "" when none */
    long userref;
    char status[16];    /* pending, open, closed, canceled, expired */
    char pair[24], type[8], ordertype[24], leverage[16];
    double price, price2; /* descr: limit / trigger price */
    double vol, vol_exec, cost, fee, avg_price, stopprice, limitprice;
    double opentm, closetm;
    char reason[96];
    char close[128]; /* descr.close: the conditional close, "" when none */
    char oflags[64];
} kp_order;

typedef struct {
    char posid[48], ordertxid[48];
    char pair[24], type[8], ordertype[24];
    double vol, vol_closed, cost, fee, margin, time;
} kp_position;

typedef struct {
    double eb, tb, m, n, c, v, e, mf, ml; /* ml: 0 when Kraken leaves it out (no position) */
} kp_tradebal;

typedef struct {
    char asset[24];
    double amount;
} kp_asset_balance;

typedef struct {
    const char *pair;      /* altname, "SOLUSD" */
    const char *type;      /* buy | sell */
    const char *ordertype; /* market, limit, stop-loss, ... */
    const char *volume;    /* decimal text, already rounded to lot_decimals */
    const char *price, *price2;      /* NULL when not used */
    int leverage;                    /* 0: spot */
    int reduce_only;
    const char *cl_ord_id;           /* NULL or up to 18 ASCII / a UUID */
    long userref;                    /* 0: none (exclusive with cl_ord_id) */
    const char *close_ordertype;     /* conditional close, NULL: none */
    const char *close_price, *close_price2;
    int validate;                    /* validate=true: Kraken checks, nothing trades */
} kp_add;

enum { KP_OK = 0, KP_REJECTED = 1, KP_AMBIGUOUS = 2 };

/* AddOrder, sent once. KP_OK: txid set (empty with validate); descr gets the
 * order's description. KP_REJECTED: Kraken certainly did not take it (err).
 * KP_AMBIGUOUS: it may have; look it up by client id (err). */
int kp_add_order(kraken_private *kp, const kp_add *o, char *txid, size_t txid_n, char *descr, size_t descr_n,
                 kraken_err *err);
/* Cancel by txid or client id (one of them NULL). 0 with *count set (0 when
 * the order was already gone: EOrder:Unknown order / Invalid order), -1 with
 * err. */
int kp_cancel(kraken_private *kp, const char *txid, const char *cl_ord_id, int *count, kraken_err *err);

/* Lists: *out malloc'ed (caller frees), *n entries; 0 or -1 with err. */
int kp_open_orders(kraken_private *kp, const char *cl_ord_id, kp_order **out, int *n, kraken_err *err);
/* ClosedOrders since start (unix seconds, 0: all), every page. */
int kp_closed_orders(kraken_private *kp, double start, const char *cl_ord_id, kp_order **out, int *n,
                     kraken_err *err);
/* QueryOrders of a comma-separated txid list (up to 50). */
int kp_query_orders(kraken_private *kp, const char *txids, kp_order **out, int *n, kraken_err *err);
int kp_open_positions(kraken_private *kp, kp_position **out, int *n, kraken_err *err);
int kp_trade_balance(kraken_private *kp, const char *asset, kp_tradebal *tb, kraken_err *err);
int kp_balance(kraken_private *kp, kp_asset_balance **out, int *n, kraken_err *err);

/* Find an order by client id in open then closed orders. 1 found (*o set),
 * 0 certainly absent, -1 error. */
int kp_find_order(kraken_private *kp, const char *cl_ord_id, double since, kp_order *o, kraken_err *err);

/* Parsers, public for the unit tests: one order object (key = its txid), one
 * position, the TradeBalance result. 0, or -1 with err naming endpoint and key. */
int kp_parse_order(const char *endpoint, const char *where, const cJSON *obj, kp_order *o, kraken_err *err);
int kp_parse_position(const char *where, const cJSON *obj, kp_position *p, kraken_err *err);
int kp_parse_trade_balance(const cJSON *result, kp_tradebal *tb, kraken_err *err);

/* AssetPairs facts for one pair (public endpoint). */
typedef struct {
    char altname[24], key[24];
    int lot_decimals, pair_decimals;
    double ordermin, costmin, tick_size;
    int lev_buy_max, lev_sell_max; /* 0: no margin that side */
    int lev_buy_min, lev_sell_min;
    uint64_t lev_buy_set, lev_sell_set; /* bit L: leverage L is allowed (L < 64) */
} kp_pair_info;
/* The leverage to send for a wanted one on a side ("buy"/"sell"): the largest
 * allowed value not above want, or the smallest allowed when want is below
 * them all; 0 when the side has no margin. */
int kp_leverage(const kp_pair_info *pi, const char *side, double want);
int kp_parse_asset_pair(const char *key, const cJSON *obj, kp_pair_info *pi, kraken_err *err);
int kp_asset_pair(kraken_client *c, const char *altname, kp_pair_info *pi, kraken_err *err);

#endif
