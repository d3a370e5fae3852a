/* candles_cmd.c: `kml-fetch candles`, `import` and `gaps` (work in lib/candles.c). */
#include <stdio.h>

#include "candles.h"
#include "cli.h"
#include "fetch.h"
#include "util.h"

int cmd_candles(int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"interval", 'i', "M", "candle length in minutes (default 60)"},
        {0}};
    const char *syn = "kml-fetch candles [--interval M] [FILE]   (trades CSV time,price,volume[,...] -> candles CSV)";
    long interval = 60;
    int c;
    while ((c = cli_next(argc, argv, opts, syn)) != -1) {
        switch (c) {
        case 'i': interval = cli_long("interval", optarg, 1, 43200); break;
        default: cli_usage_error("unexpected option");
        }
    }
    if (argc - optind > 1) cli_usage_error("one input at most (got '%s' and '%s')", argv[optind], argv[optind + 1]);
    candles_from_trades(optind < argc ? argv[optind] : NULL, stdout, (int)interval);
    return 0;
}

int cmd_import(int argc, char **argv)
{
    static const struct cli_opt opts[] = {{0}};
    const char *syn = "kml-fetch import FILE...   (Kraken OHLCVT files, no header: time,open,high,low,close,volume,trades)";
    int c;
    while ((c = cli_next(argc, argv, opts, syn)) != -1) cli_usage_error("unexpected option");
    if (optind >= argc) cli_usage_error("no file given");
    long dups = 0;
    long rows = candles_import(argv + optind, argc - optind, stdout, &dups);
    if (dups) warn("import: %ld rows, %ld duplicate rows dropped", rows, dups);
    return 0;
}

int cmd_gaps(int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"interval", 'i', "M", "candle length in minutes (default: from the name <PAIR>_<M>.csv)"},
        {0}};
    const char *syn = "kml-fetch gaps [--interval M] [FILE]   (prints from,to,missing for each gap)";
    long interval = 0;
    int c;
    while ((c = cli_next(argc, argv, opts, syn)) != -1) {
        switch (c) {
        case 'i': interval = cli_long("interval", optarg, 1, 43200); break;
        default: cli_usage_error("unexpected option");
        }
    }
    if (argc - optind > 1) cli_usage_error("one file at most");
    const char *path = optind < argc ? argv[optind] : NULL;
    if (!interval && path) interval = candles_minutes_from_name(path);
    if (!interval) cli_usage_error("--interval is needed (the file name does not end in _<minutes>.csv)");
    long missing = 0, rows = 0;
    long ngap = candles_gaps(path, (int)interval, stdout, &missing, &rows, NULL);
    warn("%s: %ld rows, %ld gaps, %ld missing candles", display_name(path), rows, ngap, missing);
    return 0;
}
