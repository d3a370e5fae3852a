/* test_candles.c: trades -> candles, OHLCVT import and gaps (lib/candles.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "candles.h"
#include "t.h"
#include "util.h"

static void decimal_sums_are_exact(void)
{
    dec_sum s;
    char buf[48];
    dec_sum_init(&s);
    /* 0.1 + 0.2 is 0.30000000000000004 in binary floating point */
    dec_sum_add(&s, "0.1");
    dec_sum_add(&s, "0.2");
    CHECK_EQ_STR(dec_sum_text(&s, buf), "0.3");
    dec_sum_add(&s, "12");
    dec_sum_add(&s, "0.00000001");
    CHECK_EQ_STR(dec_sum_text(&s, buf), "12.30000001");
    dec_sum_init(&s);
    dec_sum_add(&s, "5.000");
    CHECK_EQ_STR(dec_sum_text(&s, buf), "5");
    CHECK_EQ_INT(dec_sum_add(&s, "-1"), -1);
    CHECK_EQ_INT(dec_sum_add(&s, "abc"), -1);
    /* an exponent falls back to the double sum */
    dec_sum_add(&s, "1e1");
    CHECK_EQ_STR(dec_sum_text(&s, buf), "15");
}

static char *run_candles(const char *trades, int minutes)
{
    char *in = t_tmpfile(trades);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    candles_from_trades(in, out, minutes);
    fclose(out);
    unlink(in);
    free(in);
    return buf;
}

static void trades_make_candles_with_gaps_kept(void)
{
    char *got = run_candles("time,price,volume,side\n"
                            "60.5,10,1,buy\n"
                            "61,12,0.5,sell\n"
                            "119.999,9,0.25,buy\n"
                            "240,11,2,buy\n",
                            1);
    /* 60..119: o 10 h 12 l 9 c 9, vwap (10 + 6 + 2.25) / 1.75; 120 and 180 empty (no row); 240 */
    char expect[512];
    char vw[32];
    fmt_double(vw, (10.0 * 1 + 12.0 * 0.5 + 9.0 * 0.25) / 1.75);
    snprintf(expect, sizeof expect,
             "time,open,high,low,close,vwap,volume,count\n60,10,12,9,9,%s,1.75,3\n240,11,11,11,11,11,2,1\n", vw);
    CHECK_EQ_STR(got, expect);
    free(got);
}

static void trades_without_type_column_and_extra_columns(void)
{
    char *got = run_candles("side,volume,price,time,misc\nbuy,1,100,3600,x\n", 60);
    CHECK_EQ_STR(got, "time,open,high,low,close,vwap,volume,count\n3600,100,100,100,100,100,1,1\n");
    free(got);
}

static void reproduces_kraken_candle_from_real_trades(void)
{
    const char *d = t_data_dir();
    if (!d) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/kraken/XBTUSD_trades_2019-07-01T00.csv", d);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    CHECK_EQ_INT(candles_from_trades(path, out, 60), 1);
    fclose(out);
    /* Kraken's candle (XBTUSD_60.csv): 10749.4,11041.8,10600.0,11014.3,,903.65604099,2671 */
    CHECK(strstr(buf, "\n1561939200,10749.4,11041.8,10600,11014.3,") != NULL);
    CHECK(strstr(buf, ",903.65604099,2671\n") != NULL);
    free(buf);
}

static void candles_of(void *text) { free(run_candles(text, 60)); }

static void bad_trades_are_located_errors(void)
{
    t_expect_exit(candles_of, "time,price,volume\n10,1,1\n5,1,1\n", 0, 65, ":3: column 'time': time 5 is before");
    t_expect_exit(candles_of, "time,price,volume\n10,abc,1\n", 0, 65, ":2: column 'price': not a number: \"abc\"");
    t_expect_exit(candles_of, "time,price,volume\n10,-1,1\n", 0, 65, ":2: column 'price': price must be positive");
    t_expect_exit(candles_of, "time,price,volume\n10,1,-2\n", 0, 65, ":2: column 'volume': not a non-negative");
    t_expect_exit(candles_of, "time,price,volume\n10,1\n", 0, 65, ":2: row has 2 fields, expected 3");
    t_expect_exit(candles_of, "time,price,qty\n10,1,1\n", 0, 65, "volume");
    t_expect_exit(candles_of, "time,price,volume\n,1,1\n", 0, 65, ":2: column 'time': empty field");
}

static char *run_import(char *const *paths, int n, long *dups)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    candles_import(paths, n, out, dups);
    fclose(out);
    return buf;
}

static void import_merges_and_drops_duplicates(void)
{
    char *a = t_tmpfile("120,2,3,1,2.5,10,4\n180,2.5,2.5,2.5,2.5,1.0,1\n");
    char *b = t_tmpfile("60,1,1.5,1,1.5,0.1,2\n120,2.0,3,1,2.50,10,4\n240,3,3,3,3,1,1\n");
    char *paths[] = {a, b};
    long dups = -1;
    char *got = run_import(paths, 2, &dups);
    CHECK_EQ_STR(got, "time,open,high,low,close,vwap,volume,count\n"
                      "60,1,1.5,1,1.5,,0.1,2\n120,2,3,1,2.5,,10,4\n180,2.5,2.5,2.5,2.5,,1.0,1\n240,3,3,3,3,,1,1\n");
    CHECK_EQ_INT(dups, 1);
    free(got);
    unlink(a), unlink(b), free(a), free(b);
}

static void import_one(void *text)
{
    char *p = t_tmpfile(text);
    char *paths[] = {p};
    free(run_import(paths, 1, NULL));
}

static void import_conflict(void *unused)
{
    char *a = t_tmpfile("60,1,1,1,1,1,1\n");
    char *b = t_tmpfile("60,1,1,1,1,2,1\n");
    char *paths[] = {a, b};
    free(run_import(paths, 2, NULL));
}

static void import_errors_are_located(void)
{
    t_expect_exit(import_one, "120,1,1,1,1,1,1\n60,1,1,1,1,1,1\n", 0, 65, ":2: column 'time': time 60 is not after");
    t_expect_exit(import_one, "60,1,1,1,1,1\n", 0, 65, ":1: row has 6 fields, expected 7");
    t_expect_exit(import_one, "60,1,0.5,1,1,1,1\n", 0, 65, ":1: high/low do not contain open and close");
    t_expect_exit(import_one, "60,1,1,1,1,1,x\n", 0, 65, ":1: column 'trades': not an integer");
    t_expect_exit(import_one, "time,open,high,low,close,volume,trades\n", 0, 65, ":1: column 'time'");
    t_expect_exit(import_conflict, NULL, 0, 65, ":1: column 'volume': 2 differs from 1 at");
}

static void gaps_are_counted(void)
{
    char *p = t_tmpfile("time,open,high,low,close,vwap,volume,count\n0,1,1,1,1,,1,1\n60,1,1,1,1,,1,1\n"
                        "240,1,1,1,1,,1,1\n300,1,1,1,1,,1,1\n600,1,1,1,1,,1,1\n");
    long missing = 0, rows = 0;
    int64_t last = 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    CHECK_EQ_INT(candles_gaps(p, 1, out, &missing, &rows, &last), 2);
    fclose(out);
    CHECK_EQ_STR(buf, "from,to,missing\n120,180,2\n360,540,4\n");
    CHECK_EQ_INT(missing, 6);
    CHECK_EQ_INT(rows, 5);
    CHECK_EQ_INT(last, 600);
    free(buf);
    unlink(p), free(p);
}

static void gaps_of(void *text)
{
    char *p = t_tmpfile(text);
    candles_gaps(p, 1, NULL, NULL, NULL, NULL);
}

static void gaps_errors_are_located(void)
{
    t_expect_exit(gaps_of, "time,open\n60,1\n90,1\n", 0, 65, ":3: column 'time': time 90 is not a multiple");
    t_expect_exit(gaps_of, "time,open\n60,1\n60,1\n", 0, 65, ":3: column 'time': time 60 is not after");
}

static void minutes_from_file_names(void)
{
    CHECK_EQ_INT(candles_minutes_from_name("historical_data/SOLUSD_60.csv"), 60);
    CHECK_EQ_INT(candles_minutes_from_name("XBTUSD_1.csv"), 1);
    CHECK_EQ_INT(candles_minutes_from_name("XBTUSD_trades_2019.csv"), 0);
    CHECK_EQ_INT(candles_minutes_from_name("candles.csv"), 0);
}

static void interval_inference(void)
{
    int64_t t[6] = {0, 60, 120, 300, 360, 420};
    CHECK_EQ_INT(candles_infer_interval(t, 6), 60);
    int64_t u[4] = {0, 900, 1800, 1860}; /* 900 twice, 60 once */
    CHECK_EQ_INT(candles_infer_interval(u, 4), 900);
    int64_t tie[5] = {0, 300, 600, 1500, 2400}; /* 300 twice, 900 twice: the smaller */
    CHECK_EQ_INT(candles_infer_interval(tie, 5), 300);
    int64_t rep[4] = {0, 0, 0, 60}; /* repeated times never count as a spacing */
    CHECK_EQ_INT(candles_infer_interval(rep, 4), 60);
    CHECK_EQ_INT(candles_infer_interval(u, 1), 0);
    CHECK_EQ_INT(candles_infer_interval(u, 0), 0);
}

int main(void)
{
    t_run("candles: decimal volume sums are exact", decimal_sums_are_exact);
    t_run("candles: trades make candles; empty intervals get no row", trades_make_candles_with_gaps_kept);
    t_run("candles: columns found by name, no type column needed", trades_without_type_column_and_extra_columns);
    t_run("candles: reproduces Kraken's 2019-07-01 00:00 candle", reproduces_kraken_candle_from_real_trades);
    t_run("candles: bad trades are located errors (65)", bad_trades_are_located_errors);
    t_run("import: files merged in time order, duplicates dropped", import_merges_and_drops_duplicates);
    t_run("import: bad rows and conflicts are located errors", import_errors_are_located);
    t_run("gaps: gaps listed and counted", gaps_are_counted);
    t_run("gaps: unaligned or repeated times are located errors", gaps_errors_are_located);
    t_run("gaps: interval from the file name", minutes_from_file_names);
    t_run("interval inference: the most common spacing, ties to the smaller", interval_inference);
    return t_done();
}
