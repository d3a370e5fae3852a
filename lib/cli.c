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

void cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try '%s --help')\n", progname);
    exit(EX_USAGE);
}

int cli_next(int argc, char **argv, const struct cli_opt *opts, const char *synopsis)
{
    build(opts);
    opterr = 0;
    int prev = optind ? optind : 1;
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c == 'h' || c == CLI_HELP) {
        cli_usage(stdout, synopsis, opts);
        close_stdout();
        exit(0);
    }
    if (c == '?') {
        if (optopt && optopt < 256) cli_usage_error("unknown option '-%c'", optopt);
        cli_usage_error("unknown option '%s'", prev < argc ? argv[prev] : "?");
    }
    if (c == ':') {
        const char *name = prev < argc ? argv[prev] : "?";
        cli_usage_error("option '%s' needs an argument", name);
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
