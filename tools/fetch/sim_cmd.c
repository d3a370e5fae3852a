/* sim_cmd.c: `kml-fetch sim`, the synthetic market on stdout or in files. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "cli.h"
#include "csv.h"
#include "fetch.h"
#include "pair.h"
#include "sim.h"
#include "util.h"

enum { OPT_REGIMES = 256, OPT_PLANT, OPT_START, OPT_BARS };

static void write_bar(csv_writer *w, const sim_bar *b, int decimals)
{
    csvw_int(w, b->time);
    csvw_fixed(w, b->open, decimals);
    csvw_fixed(w, b->high, decimals);
    csvw_fixed(w, b->low, decimals);
    csvw_fixed(w, b->close, decimals);
    csvw_fixed(w, b->vwap, decimals);
    csvw_fixed(w, b->volume, 8);
    csvw_int(w, b->count);
    csvw_end(w);
}

int cmd_sim(int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"pairs", 'P', "LIST", "comma-separated pairs (default SOL/USD,ETH/USD,BTC/USD)"},
        {"pair", 'p', "PAIR", "one pair, candles on stdout"},
        {"days", 'd', "N", "days of market time (default 90)"},
        {"bars", OPT_BARS, "N", "number of bars (instead of --days)"},
        {"interval", 'i', "M", "bar length in minutes (default 60)"},
        {"seed", 's', "N", "random seed (default 1)"},
        {"start", OPT_START, "T", "first bar's open time, Unix seconds (default 1672531200)"},
        {"dir", 'o', "DIR", "write DIR/<ALTNAME>_<M>.csv for each pair"},
        {"regimes-out", OPT_REGIMES, "FILE", "write time,pair,regime of every bar"},
        {"plant", OPT_PLANT, "S", "planted momentum: drift S*sigma*sign(sum of last 4 returns)"},
        {0}};
    const char *syn = "kml-fetch sim [--pairs P,..|--pair P] [--days N] [--interval M] [--seed N] [options]";
    const char *pairs_text = "SOL/USD,ETH/USD,BTC/USD", *dir = NULL, *regimes_out = NULL;
    double days = 90, plant = 0;
    long interval = 60, bars = -1;
    uint64_t seed = 1;
    int64_t start = 1672531200;
    int one_pair = 0;
    int c;
    while ((c = cli_next(argc, argv, opts, syn)) != -1) {
        switch (c) {
        case 'P': pairs_text = optarg; one_pair = 0; break;
        case 'p': pairs_text = optarg; one_pair = 1; break;
        case 'd': days = cli_double("days", optarg, 1.0 / 1440, 36500); break;
        case OPT_BARS: bars = cli_long("bars", optarg, 1, 100000000); break;
        case 'i': interval = cli_long("interval", optarg, 1, 43200); break;
        case 's': seed = (uint64_t)cli_long("seed", optarg, 0, INT64_MAX); break;
        case OPT_START: start = cli_long("start", optarg, 0, 4102444800L); break;
        case 'o': dir = optarg; break;
        case OPT_REGIMES: regimes_out = optarg; break;
        case OPT_PLANT: plant = cli_double("plant", optarg, -10, 10); break;
        default: cli_usage_error("unexpected option");
        }
    }
    if (optind < argc) cli_usage_error("unexpected operand '%s'", argv[optind]);
    int n;
    char **names = cli_split(pairs_text, &n);
    if (n == 0) cli_usage_error("--pairs: no pair given");
    if (one_pair && n != 1) cli_usage_error("--pair takes one pair; use --pairs for several");
    if (n > 1 && !dir) cli_usage_error("several pairs need --dir DIR (or give one with --pair)");
    kml_pair *pairs = xcalloc((size_t)n, sizeof *pairs);
    const char **bases = xcalloc((size_t)n, sizeof *bases), **alts = xcalloc((size_t)n, sizeof *alts);
    for (int i = 0; i < n; i++) {
        pair_parse_or_die(one_pair ? "pair" : "pairs", names[i], &pairs[i]);
        for (int j = 0; j < i; j++)
            if (!strcmp(pairs[i].altname, pairs[j].altname)) cli_usage_error("--pairs: %s given twice", names[i]);
        bases[i] = pairs[i].base;
        alts[i] = pairs[i].altname;
    }
    long nbar = bars > 0 ? bars : (long)llround(days * 1440.0 / interval);
    if (nbar < 1) nbar = 1;

    warn("SYNTHETIC market data (kml-fetch sim --seed %llu): simulated prices, not real Kraken data",
         (unsigned long long)seed);

    sim_market m;
    sim_init(&m, seed, (int)interval, start, n, bases, alts, plant);
    atomic_file **af = xcalloc((size_t)n, sizeof *af);
    csv_writer *w = xcalloc((size_t)n, sizeof *w);
    if (dir) mkdirs(dir);
    for (int i = 0; i < n; i++) {
        FILE *f = stdout;
        if (dir) {
            char path[4096];
            pair_filename(&pairs[i], (int)interval, dir, path, sizeof path);
            af[i] = atomic_open(path);
            f = af[i]->f;
        }
        csvw_init(&w[i], f);
        fputs("time,open,high,low,close,vwap,volume,count\n", f);
    }
    atomic_file *rf = regimes_out ? atomic_open(regimes_out) : NULL;
    if (rf) fputs("time,pair,regime\n", rf->f);
    sim_bar *b = xcalloc((size_t)n, sizeof *b);
    for (long t = 0; t < nbar; t++) {
        int reg = sim_step(&m, b);
        for (int i = 0; i < n; i++) {
            write_bar(&w[i], &b[i], m.assets[i].p.decimals);
            if (rf) fprintf(rf->f, "%lld,%s,%s\n", (long long)b[i].time, pairs[i].display, sim_regime_names[reg]);
        }
    }
    for (int i = 0; i < n; i++)
        if (af[i]) atomic_commit(af[i]);
    if (rf) atomic_commit(rf);
    sim_free(&m);
    free(b);
    free(w);
    free(af);
    free(pairs);
    free(bases);
    free(alts);
    free(names);
    return 0;
}
