/* candles.h: building, merging and checking candles CSV (DESIGN.md format
 * time,open,high,low,close,vwap,volume,count).
 *
 * candle_agg turns a time-ordered stream of trades into candles in one pass,
 * holding one candle at a time. Volumes are summed exactly in decimal (the
 * texts Kraken sends have at most a few decimals), so a candle's volume is the
 * same text Kraken prints, without binary float artifacts. */
#ifndef KML_CANDLES_H
#define KML_CANDLES_H

#include <stdint.h>
#include <stdio.h>

#include "csv.h"

/* An exact decimal sum of non-negative decimal texts; falls back to a double
 * sum when a text has an exponent or more than 18 decimals. */
typedef struct {
    unsigned __int128 units; /* value * 10^scale */
    int scale;
    int exact;
    double approx;
} dec_sum;

void dec_sum_init(dec_sum *s);
/* Add a decimal text; returns -1 when it is not a non-negative number. */
int dec_sum_add(dec_sum *s, const char *text);
/* The sum as text (shortest exact decimal, or round-trip double); buf >= 48. */
char *dec_sum_text(const dec_sum *s, char *buf);

typedef struct {
    int64_t time; /* open time, Unix seconds */
    double open, high, low, close, vwap;
    char volume[48];
    int64_t count;
} candle;

typedef struct {
    int64_t step;   /* seconds */
    int64_t bucket; /* open time of the candle being built; INT64_MIN: none */
    double open, high, low, close, pv;
    dec_sum vol;
    int64_t count;
    double last_time; /* time of the previous trade, for the order check */
} candle_agg;

void candle_agg_init(candle_agg *a, int minutes);
/* Add one trade. Returns 1 and fills *done when the trade starts a new candle
 * (the previous one is complete), 0 otherwise; -1 when the trade is older than
 * the previous one, -2 when the volume text is not a non-negative number. */
int candle_agg_add(candle_agg *a, double time, double price, const char *volume, candle *done);
/* The candle being built, if any (1), at the end of the input. */
int candle_agg_flush(candle_agg *a, candle *done);

void candle_write_header(FILE *f);
void candle_write(csv_writer *w, const candle *c);

/* Read a trades CSV (columns time, price, volume by name; others ignored) and
 * write candles of the given minutes to out. Bad rows die 65, located. Returns
 * the number of candles written. */
long candles_from_trades(const char *path, FILE *out, int minutes);

/* Merge Kraken OHLCVT files (no header: time,open,high,low,close,volume,trades)
 * into one candles CSV on out: each file must be strictly increasing in time;
 * a time present in several files is written once when the rows agree and is
 * an error (65, naming both places) when they differ. *dups gets the number of
 * duplicates dropped. Returns the number of rows written. */
long candles_import(char *const *paths, int n, FILE *out, long *dups);

/* Scan a candles CSV: times strictly increasing and multiples of the interval.
 * Writes "from,to,missing" for every gap to out (out may be NULL) and returns
 * the number of gaps; *missing gets the total of missing candles, *rows the
 * rows read, *last the last time (INT64_MIN when empty). */
long candles_gaps(const char *path, int minutes, FILE *out, long *missing, long *rows, int64_t *last);

/* The minutes of a file named like "<ALTNAME>_<minutes>.csv", or 0. */
int candles_minutes_from_name(const char *path);
/* The bar spacing of times t[0..n): the most common positive difference of
 * consecutive times (ties: the smaller), in seconds; 0 when n < 2. Used by the
 * tools that must know the interval of a file that does not say it. */
int64_t candles_infer_interval(const int64_t *t, long n);

#endif
