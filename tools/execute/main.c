/* kml-execute: turn orders (targets) into execution events.
 *
 *   kml-execute [--sandbox] [options] ORDERS...   the paper account (default)
 *   kml-execute --live [options] ORDERS...        real orders on Kraken
 *
 * main only picks the mode; each mode parses its own options. Live must be
 * asked for explicitly, and never together with --sandbox. */
#include <string.h>

#include "cli.h"
#include "execute.h"
#include "live.h"
#include "util.h"

int main(int argc, char **argv)
{
    set_progname(argv[0]);
    int live = 0, sandbox = 0;
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        live |= !strcmp(argv[i], "--live");
        sandbox |= !strcmp(argv[i], "--sandbox");
    }
    if (live && sandbox) cli_usage_error("--live and --sandbox exclude each other");
    return live ? live_main(argc, argv) : sandbox_main(argc, argv);
}
