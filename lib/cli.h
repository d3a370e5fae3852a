/* cli.h: option parsing and usage text shared by every tool (getopt_long).
 *
 * A tool describes its options once, as a table, and gets both getopt_long
 * parsing and an aligned usage text from it:
 *
 *   static const struct cli_opt opts[] = {
 *       {"pair", 'p', "PAIR", "asset pair, e.g. SOL/USD"},
 *       {"quiet", 'q', NULL, "no progress bar"},
 *       {0}};
 *   int c;
 *   while ((c = cli_next(argc, argv, opts, "kml-x [options] [FILE]")) != -1)
 *       switch (c) { case 'p': ...; }
 *   // optind is the first operand
 *
 * "--help"/"-h" is always understood: usage to stdout, exit 0. An unknown option
 * or a missing argument: one line on stderr plus "try 'kml-x --help'", exit 64.
 * Options without a short letter use a val >= 256. */
#ifndef KML_CLI_H
#define KML_CLI_H

#include <getopt.h> /* optarg, optind for the callers */
#include <stdint.h>
#include <stdio.h>

struct cli_opt {
    const char *name; /* long name, without "--" */
    int val;          /* short letter, or a code >= 256 for long-only options */
    const char *arg;  /* argument name ("N", "FILE"), or NULL for a flag */
    const char *help; /* one line */
};

/* Next option (getopt_long semantics, optarg/optind as usual); -1 at the end. */
int cli_next(int argc, char **argv, const struct cli_opt *opts, const char *synopsis);
void cli_usage(FILE *f, const char *synopsis, const struct cli_opt *opts);
/* Reset getopt state, for tools with subcommands that parse argv again. */
void cli_reset(void);
/* A tool with subcommands names the one running ("fit"), so that usage errors
 * point at its help: "(try 'kml-regime fit --help')". NULL: the tool's help. */
void cli_set_command(const char *cmd);
/* Die with EX_USAGE: "kml-x: <msg>" plus the hint line. */
__attribute__((noreturn, format(printf, 1, 2))) void cli_usage_error(const char *fmt, ...);
/* Option values, checked; a bad value dies with EX_USAGE naming the option. */
double cli_double(const char *opt, const char *text, double lo, double hi);
long cli_long(const char *opt, const char *text, long lo, long hi);
/* Comma-separated list split into a NULL-terminated array of strings
 * (one allocation, caller frees the array); *n gets the count. */
char **cli_split(const char *text, int *n);

#endif
