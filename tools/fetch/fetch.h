/* fetch.h: the subcommands of kml-fetch; each parses its own options (argv[0]
 * is the subcommand's name) and returns the exit status. Below them, the
 * Kraken readers of net.c that `update` (update.c) composes. */
#ifndef KML_FETCH_H
#define KML_FETCH_H

#include <stdint.h>

#include "candles.h"
#include "kraken.h"
#include "pair.h"

int cmd_sim(int argc, char **argv);
int cmd_candles(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_gaps(int argc, char **argv);
int cmd_ohlc(int argc, char **argv);
int cmd_trades(int argc, char **argv);
int cmd_pairs(int argc, char **argv);
int cmd_update(int argc, char **argv);

/* --interval's value, one of Kraken's intervals, or a usage error (64). */
int parse_interval(const char *text);

typedef void (*candle_fn)(void *ctx, const candle *c);
/* GET OHLC and pass each committed candle with time > since (since < 0: all)
 * to fn, in time order; the forming last row only when partial. Returns the
 * number passed; *first (may be NULL) gets the time of the oldest row sent. */
long ohlc_fetch(kraken_client *kc, const kml_pair *p, int minutes, int64_t since, int partial, candle_fn fn,
                void *ctx, int64_t *first);

typedef void (*trade_fn)(void *ctx, double time, const char *price, const char *volume, const char *side,
                         const char *type);
/* Called after each page: pages so far, trades passed so far, the time of
 * the page's last trade (-inf before any). */
typedef void (*page_fn)(void *ctx, long pages, long trades, double last_time);
/* Page through Trades from since (Unix seconds) to until (exclusive; < 0: the
 * present), passing each trade to fn and each page's end to pg (may be NULL),
 * both with ctx. Nothing is held beyond one page. Returns the number of
 * trades passed. */
long trades_fetch(kraken_client *kc, const kml_pair *p, int64_t since, int64_t until, trade_fn fn, page_fn pg,
                  void *ctx);

/* Kraken's clock (Time), Unix seconds. */
int64_t server_time(kraken_client *kc);

#endif
