/* kml-execute: turn orders (targets) into execution events.
 *
 *   kml-execute [--sandbox] [options] ORDERS...   the paper account (default)
 *   kml-execute --live [options] ORDERS...        real orders on Kraken
 *
 * main only picks the mode; each mode parses its own options. */
#include <string.h>

#include "cli.h"
#include "execute.h"
#include "util.h"

int main(int argc, char **argv)
{
    set_progname(argv[0]);
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--live")) cli_usage_error("live mode is not built yet (use --sandbox)");
    return sandbox_main(argc, argv);
}
