/* kml-fetch: market data for krakenml.
 *
 * Subcommands: ohlc, trades, candles, import, pairs, update, gaps, sim. This
 * file parses options and wires files; the work is done in lib/candles.c
 * (candles, import, gaps), lib/sim.c (sim), lib/kraken.c (HTTP) and net.c
 * (the Kraken-facing subcommands). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fetch.h"
#include "util.h"

static const char *const usage_text =
    "usage: kml-fetch COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  ohlc     --pair P --interval M [--since T]    candles from Kraken's OHLC endpoint (latest 720)\n"
    "  trades   --pair P --since T [--until T]       trades CSV from Kraken's Trades endpoint, paged\n"
    "  candles  --interval M [FILE]                  trades CSV -> candles CSV (one pass, constant memory)\n"
    "  import   FILE...                              Kraken OHLCVT files -> candles CSV (merged)\n"
    "  pairs    [--pair P]                           Kraken's AssetPairs as JSON lines\n"
    "  update   --pair P --interval M [--dir D]      bring D/<ALTNAME>_<M>.csv up to date\n"
    "           [--days N]                           ... keeping N days (filled back from trades)\n"
    "  gaps     [--interval M] FILE                  list the gaps of a candles file\n"
    "  sim      --pairs P,.. --days N --seed N       a synthetic market (never real prices)\n"
    "\n"
    "'kml-fetch COMMAND --help' describes a command's options. See docs/data.md.\n";

int main(int argc, char **argv)
{
    set_progname("kml-fetch");
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EX_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage_text, stdout);
        close_stdout();
        return 0;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"sim", cmd_sim},   {"candles", cmd_candles}, {"import", cmd_import}, {"gaps", cmd_gaps},
        {"ohlc", cmd_ohlc}, {"trades", cmd_trades},   {"pairs", cmd_pairs},   {"update", cmd_update},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        if (strcmp(cmd, cmds[i].name)) continue;
        cli_reset();
        cli_set_command(cmds[i].name);
        int rc = cmds[i].fn(argc - 1, argv + 1);
        close_stdout();
        return rc;
    }
    cli_usage_error("unknown command '%s'", cmd);
}
