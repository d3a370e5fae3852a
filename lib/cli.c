/* cli.c: getopt_long driven by one option table (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define CLI_MAX_OPTS 64
#define CLI_HELP 0x7fff0001

static const struct cli_opt *cached_opts;
static const char *command; /* the running subcommand, for the hint */
static struct option longopts[CLI_MAX_OPTS + 2];
static char shortopts[3 * CLI_MAX_OPTS + 4];

/* Build the getopt tables for opts once (per table). */
static void build(const struct cli_opt *opts)
{
    if (cached_opts == opts) return;
    int n = 0;
    char *s = shortopts;
    *s++ = ':'; /* report a missing argument as ':' */
    for (; opts[n].name; n++) {
        ASSERT(n < CLI_MAX_OPTS);
        longopts[n] = (struct option){opts[n].name, opts[n].arg ? required_argument : no_argument, NULL, opts[n].val};
        if (opts[n].val > 0 && opts[n].val < 256) {
            *s++ = (char)opts[n].val;
            if (opts[n].arg) *s++ = ':';
        }
    }
    longopts[n++] = (struct option){"help", no_argument, NULL, CLI_HELP};
    longopts[n] = (struct option){0, 0, 0, 0};
    *s++ = 'h';
    *s = 0;
    cached_opts = opts;
}

void cli_reset(void)
{
    optind = 0; /* glibc: full re-initialisation */
    cached_opts = NULL;
}

void cli_set_command(const char *cmd) { command = cmd; }

void cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try '%s%s%s --help')\n", progname, command ? " " : "", command ? command : "");
    exit(EX_USAGE);
}

/* The "--name" part of the argument getopt_long just finished, or NULL when
 * that argument is not a long option. getopt_long has moved optind past it
 * (operands before it are permuted, so the index before the call is not it). */
static const char *long_arg(int argc, char **argv, char *buf, size_t n)
{
    if (optind < 1 || optind > argc) return NULL;
    const char *a = argv[optind - 1];
    if (strncmp(a, "--", 2) != 0) return NULL;
    snprintf(buf, n, "%.*s", (int)strcspn(a, "="), a);
    return buf;
}

static int known_val(const struct cli_opt *opts, int val)
{
    for (int i = 0; opts[i].name; i++)
        if (opts[i].val == val) return 1;
    return 0;
}

int cli_next(int argc, char **argv, const struct cli_opt *opts, const char *synopsis)
{
    build(opts);
    opterr = 0;
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c == 'h' || c == CLI_HELP) {
        cli_usage(stdout, synopsis, opts);
        close_stdout();
        exit(0);
    }
    char buf[128];
    const char *name;
    if (c == '?') {
        /* optopt: 0 for an unknown long option, the option's val for a flag
         * given "=value", the letter for an unknown short option. */
        name = long_arg(argc, argv, buf, sizeof buf);
        if (optopt == 0) cli_usage_error("unknown option '%s'", name ? name : "?");
        if (known_val(opts, optopt) && name) cli_usage_error("option '%s' takes no argument", name);
        cli_usage_error("unknown option '-%c'", optopt);
    }
    if (c == ':') {
        name = long_arg(argc, argv, buf, sizeof buf);
        if (name) cli_usage_error("option '%s' needs an argument", name);
        cli_usage_error("option '-%c' needs an argument", optopt);
    }
    return c;
}

void cli_usage(FILE *f, const char *synopsis, const struct cli_opt *opts)
{
    fprintf(f, "usage: %s\n\n", synopsis);
    int width = 0;
    for (int i = 0; opts[i].name; i++) {
        int w = (int)strlen(opts[i].name) + (opts[i].arg ? (int)strlen(opts[i].arg) + 1 : 0);
        if (w > width) width = w;
    }
    for (int i = 0; opts[i].name; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s%s%s", opts[i].name, opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
        if (opts[i].val > 0 && opts[i].val < 256)
            fprintf(f, "  -%c, --%-*s  %s\n", opts[i].val, width, buf, opts[i].help);
        else
            fprintf(f, "      --%-*s  %s\n", width, buf, opts[i].help);
    }
    fprintf(f, "  -h, --%-*s  %s\n", width, "help", "print this help and exit");
}

double cli_double(const char *opt, const char *text, double lo, double hi)
{
    double x;
    if (parse_double(text, &x) != 0) cli_usage_error("--%s: not a number: \"%s\"", opt, text);
    if (x < lo || x > hi) cli_usage_error("--%s: %s is out of range [%g, %g]", opt, text, lo, hi);
    return x;
}

long cli_long(const char *opt, const char *text, long lo, long hi)
{
    int64_t x;
    if (parse_int64(text, &x) != 0) cli_usage_error("--%s: not an integer: \"%s\"", opt, text);
    if (x < lo || x > hi) cli_usage_error("--%s: %s is out of range [%ld, %ld]", opt, text, lo, hi);
    return (long)x;
}

char **cli_split(const char *text, int *n)
{
    int count = 1;
    for (const char *c = text; *c; c++) count += *c == ',';
    size_t len = strlen(text) + 1;
    char **v = xmalloc((count + 1) * sizeof *v + len);
    char *buf = (char *)(v + count + 1);
    memcpy(buf, text, len);
    int k = 0;
    for (char *tok = buf;;) {
        char *comma = strchr(tok, ',');
        if (comma) *comma = 0;
        if (*tok) v[k++] = tok;
        if (!comma) break;
        tok = comma + 1;
    }
    v[k] = NULL;
    if (n) *n = k;
    return v;
}
