/* test_cli.c: unit tests of lib/cli.c (option table, usage, option values). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "t.h"
#include "t_capture.h"
#include "util.h"

#define OPT_WINDOW 256

static const struct cli_opt opts[] = {
    {"pair", 'p', "PAIR", "asset pair, e.g. SOL/USD"},
    {"quiet", 'q', NULL, "no progress bar"},
    {"window", OPT_WINDOW, "N", "window length in candles"},
    {"num", 'n', "N", "how many"},
    {0}};

static const char *synopsis = "kml-x [options] [FILE...]";

struct parsed {
    const char *pair, *window, *num;
    int quiet;
    int nops;
    const char *ops[8];
};

/* Parse argv (NULL-terminated list) as a tool would. */
static void parse(struct parsed *r, char **argv)
{
    int argc = 0;
    while (argv[argc]) argc++;
    memset(r, 0, sizeof *r);
    cli_reset();
    int c;
    while ((c = cli_next(argc, argv, opts, synopsis)) != -1) {
        switch (c) {
        case 'p': r->pair = optarg; break;
        case 'q': r->quiet++; break;
        case 'n': r->num = optarg; break;
        case OPT_WINDOW: r->window = optarg; break;
        default: t_fail(__FILE__, __LINE__, "cli_next returned %d", c);
        }
    }
    for (int i = optind; i < argc && r->nops < 8; i++) r->ops[r->nops++] = argv[i];
}

static void test_parse_options(void)
{
    char *argv[] = {"kml-x", "-p", "SOL/USD", "--quiet", "in.csv", "--window=20", "-n5", "more.csv", NULL};
    struct parsed r;
    parse(&r, argv);
    CHECK_EQ_STR(r.pair, "SOL/USD");
    CHECK_EQ_INT(r.quiet, 1);
    CHECK_EQ_STR(r.window, "20");
    CHECK_EQ_STR(r.num, "5");
    CHECK_EQ_INT(r.nops, 2); /* operands anywhere, as getopt_long permutes */
    CHECK_EQ_STR(r.ops[0], "in.csv");
    CHECK_EQ_STR(r.ops[1], "more.csv");
}

static void test_parse_long_forms(void)
{
    char *argv[] = {"kml-x", "--pair", "ETH/USD", "--window", "7", "-qq", "--num=3", "--", "--not-an-option", NULL};
    struct parsed r;
    parse(&r, argv);
    CHECK_EQ_STR(r.pair, "ETH/USD");
    CHECK_EQ_STR(r.window, "7");
    CHECK_EQ_STR(r.num, "3");
    CHECK_EQ_INT(r.quiet, 2);
    CHECK_EQ_INT(r.nops, 1);
    CHECK_EQ_STR(r.ops[0], "--not-an-option");
}

static void test_parse_again_after_reset(void)
{
    /* A second parse of another argv (subcommands) starts from scratch. */
    char *a1[] = {"kml-x", "-q", "one", NULL};
    char *a2[] = {"kml-x", "--pair", "BTC/USD", "two", "three", NULL};
    struct parsed r;
    parse(&r, a1);
    CHECK_EQ_INT(r.quiet, 1);
    CHECK_EQ_INT(r.nops, 1);
    parse(&r, a2);
    CHECK_EQ_INT(r.quiet, 0);
    CHECK_EQ_STR(r.pair, "BTC/USD");
    CHECK_EQ_INT(r.nops, 2);
    CHECK_EQ_STR(r.ops[1], "three");
}

static void parse_in_child(void *arg)
{
    struct parsed r;
    parse(&r, arg);
}

static void check_help_text(const struct t_out *o)
{
    CHECK_EQ_INT(o->code, 0);
    CHECK_EQ_STR(o->err, "");
    CHECK(strstr(o->out, "usage: kml-x [options] [FILE...]\n") == o->out);
    CHECK(strstr(o->out, "-p, --pair PAIR") != NULL);
    CHECK(strstr(o->out, "asset pair, e.g. SOL/USD") != NULL);
    CHECK(strstr(o->out, "-q, --quiet") != NULL);
    CHECK(strstr(o->out, "--window N") != NULL);
    CHECK(strstr(o->out, "-n, --num N") != NULL);
    CHECK(strstr(o->out, "-h, --help") != NULL);
    /* long-only options have no short letter before them */
    CHECK(strstr(o->out, "-W") == NULL);
}

static void test_help(void)
{
    char *a1[] = {"kml-x", "--help", NULL};
    char *a2[] = {"kml-x", "-q", "-h", "--bogus", NULL}; /* help wins before later errors */
    struct t_out o;
    t_capture(parse_in_child, a1, NULL, &o);
    check_help_text(&o);
    t_capture(parse_in_child, a2, NULL, &o);
    check_help_text(&o);
}

static void test_usage_aligned(void)
{
    /* Every option's help text starts in the same column. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cli_usage(f, synopsis, opts);
    fclose(f);
    const char *helps[] = {"asset pair", "no progress bar", "window length", "how many", "print this help"};
    int col = -1;
    for (size_t i = 0; i < sizeof helps / sizeof *helps; i++) {
        const char *h = strstr(buf, helps[i]);
        CHECK(h != NULL);
        if (!h) continue;
        const char *bol = h;
        while (bol > buf && bol[-1] != '\n') bol--;
        if (col < 0) col = (int)(h - bol);
        CHECK_EQ_INT((int)(h - bol), col);
    }
    free(buf);
}

static void test_unknown_option(void)
{
    char *a1[] = {"kml-x", "--bogus", NULL};
    char *a2[] = {"kml-x", "-z", NULL};
    char *a3[] = {"kml-x", "-qz", NULL};
    char *a4[] = {"kml-x", "in.csv", "--bogus", NULL}; /* after an operand */
    char *a5[] = {"kml-x", "--quiet", "-zq", NULL}; /* inside a cluster after a long option */
    struct t_out o;
    t_capture(parse_in_child, a1, NULL, &o);
    CHECK_EQ_INT(o.code, 64);
    CHECK_EQ_STR(o.err, "kml-test: unknown option '--bogus' (try 'kml-test --help')\n");
    CHECK_EQ_STR(o.out, "");
    t_capture(parse_in_child, a2, NULL, &o);
    CHECK_EQ_INT(o.code, 64);
    CHECK_EQ_STR(o.err, "kml-test: unknown option '-z' (try 'kml-test --help')\n");
    t_capture(parse_in_child, a3, NULL, &o);
    CHECK_EQ_INT(o.code, 64);
    CHECK_EQ_STR(o.err, "kml-test: unknown option '-z' (try 'kml-test --help')\n");
    t_capture(parse_in_child, a4, NULL, &o);
    CHECK_EQ_INT(o.code, 64);
    CHECK_EQ_STR(o.err, "kml-test: unknown option '--bogus' (try 'kml-test --help')\n");
    t_capture(parse_in_child, a5, NULL, &o);
    CHECK_EQ_INT(o.code, 64);
    CHECK_EQ_STR(o.err, "kml-test: unknown option '-z' (try 'kml-test --help')\n");
}

static void test_flag_with_argument(void)
{
    char *a[] = {"kml-x", "--quiet=3", NULL};
    struct t_out o;
    t_capture(parse_in_child, a, NULL, &o);
    CHECK_EQ_INT(o.code, 64);
    CHECK_EQ_STR(o.err, "kml-test: option '--quiet' takes no argument (try 'kml-test --help')\n");
}

static void test_missing_argument(void)
{
    char *a1[] = {"kml-x", "--pair", NULL};
    char *a2[] = {"kml-x", "-p", NULL};
    char *a3[] = {"kml-x", "--window", NULL};
    char *a4[] = {"kml-x", "in.csv", "-p", NULL}; /* after an operand */
    char *a5[] = {"kml-x", "in.csv", "-qn", NULL};
    struct t_out o;
    t_capture(parse_in_child, a1, NULL, &o);
    CHECK_EQ_INT(o.code, 64);
    CHECK_EQ_STR(o.err, "kml-test: option '--pair' needs an argument (try 'kml-test --help')\n");
    t_capture(parse_in_child, a2, NULL, &o);
    CHECK_EQ_INT(o.code, 64);
    CHECK_EQ_STR(o.err, "kml-test: option '-p' needs an argument (try 'kml-test --help')\n");
    t_capture(parse_in_child, a3, NULL, &o);
    CHECK_EQ_INT(o.code, 64);
    CHECK_EQ_STR(o.err, "kml-test: option '--window' needs an argument (try 'kml-test --help')\n");
    t_capture(parse_in_child, a4, NULL, &o);
    CHECK_EQ_INT(o.code, 64);
    CHECK_EQ_STR(o.err, "kml-test: option '-p' needs an argument (try 'kml-test --help')\n");
    t_capture(parse_in_child, a5, NULL, &o);
    CHECK_EQ_INT(o.code, 64);
    CHECK_EQ_STR(o.err, "kml-test: option '-n' needs an argument (try 'kml-test --help')\n");
}

static void usage_error(void *arg) { cli_usage_error("need %d files", 2); }

static void test_usage_error(void)
{
    struct t_out o;
    t_capture(usage_error, NULL, NULL, &o);
    CHECK_EQ_INT(o.code, 64);
    CHECK_EQ_STR(o.err, "kml-test: need 2 files (try 'kml-test --help')\n");
    /* a subcommand's errors point at the subcommand's help, then back */
    cli_set_command("fit");
    t_capture(usage_error, NULL, NULL, &o);
    CHECK_EQ_INT(o.code, 64);
    CHECK_EQ_STR(o.err, "kml-test: need 2 files (try 'kml-test fit --help')\n");
    cli_set_command(NULL);
    t_capture(usage_error, NULL, NULL, &o);
    CHECK_EQ_STR(o.err, "kml-test: need 2 files (try 'kml-test --help')\n");
}

struct val { const char *opt, *text; };

static void double_in_child(void *arg)
{
    struct val *v = arg;
    cli_double(v->opt, v->text, 0, 1);
}

static void long_in_child(void *arg)
{
    struct val *v = arg;
    cli_long(v->opt, v->text, 1, 100);
}

static void test_cli_double(void)
{
    CHECK(cli_double("lr", "0.5", 0, 1) == 0.5);
    CHECK(cli_double("lr", "0", 0, 1) == 0);
    CHECK(cli_double("lr", "1", 0, 1) == 1);
    CHECK(cli_double("lr", "1e-3", 0, 1) == 1e-3);
    struct val bad[] = {{"lr", "abc"}, {"lr", ""}, {"lr", "nan"}, {"lr", "0.5x"}, {"lr", "inf"}};
    char want[128];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(want, sizeof want, "kml-test: --lr: not a number: \"%s\" (try 'kml-test --help')\n", bad[i].text);
        t_expect_exit(double_in_child, &bad[i], NULL, 64, want);
    }
    struct val hi = {"lr", "2"}, lo = {"lr", "-0.1"};
    t_expect_exit(double_in_child, &hi, NULL, 64, "kml-test: --lr: 2 is out of range [0, 1] (try 'kml-test --help')\n");
    t_expect_exit(double_in_child, &lo, NULL, 64, "kml-test: --lr: -0.1 is out of range [0, 1]");
}

static void test_cli_long(void)
{
    CHECK_EQ_INT(cli_long("epochs", "1", 1, 100), 1);
    CHECK_EQ_INT(cli_long("epochs", "100", 1, 100), 100);
    CHECK_EQ_INT(cli_long("epochs", "42", 1, 100), 42);
    struct val bad[] = {{"epochs", "1.5"}, {"epochs", "x"}, {"epochs", ""}, {"epochs", "99999999999999999999"}};
    char want[128];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(want, sizeof want, "kml-test: --epochs: not an integer: \"%s\" (try 'kml-test --help')\n",
                 bad[i].text);
        t_expect_exit(long_in_child, &bad[i], NULL, 64, want);
    }
    struct val zero = {"epochs", "0"}, big = {"epochs", "101"};
    t_expect_exit(long_in_child, &zero, NULL, 64, "kml-test: --epochs: 0 is out of range [1, 100]");
    t_expect_exit(long_in_child, &big, NULL, 64, "kml-test: --epochs: 101 is out of range [1, 100]");
}

static void test_cli_split(void)
{
    int n = -1;
    char **v = cli_split("SOL/USD,ETH/USD,BTC/USD", &n);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_STR(v[0], "SOL/USD");
    CHECK_EQ_STR(v[1], "ETH/USD");
    CHECK_EQ_STR(v[2], "BTC/USD");
    CHECK(v[3] == NULL);
    free(v);
    v = cli_split("a,,b,", &n); /* empty items are dropped */
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_STR(v[0], "a");
    CHECK_EQ_STR(v[1], "b");
    CHECK(v[2] == NULL);
    free(v);
    v = cli_split("", &n);
    CHECK_EQ_INT(n, 0);
    CHECK(v[0] == NULL);
    free(v);
    v = cli_split("one", NULL);
    CHECK_EQ_STR(v[0], "one");
    CHECK(v[1] == NULL);
    free(v);
    /* the input is not modified */
    char text[] = "x,y";
    v = cli_split(text, &n);
    CHECK_EQ_STR(text, "x,y");
    free(v);
}

int main(void)
{
    set_progname("kml-test");
    t_run("cli_next parses short, long, attached and clustered options", test_parse_options);
    t_run("cli_next: --opt ARG, --opt=ARG, repeated flags, --", test_parse_long_forms);
    t_run("cli_reset allows a second parse", test_parse_again_after_reset);
    t_run("--help and -h print usage to stdout and exit 0", test_help);
    t_run("usage text is aligned", test_usage_aligned);
    t_run("unknown option exits 64 with the hint", test_unknown_option);
    t_run("a flag given an argument exits 64", test_flag_with_argument);
    t_run("missing option argument exits 64 naming the option", test_missing_argument);
    t_run("cli_usage_error", test_usage_error);
    t_run("cli_double: range and junk", test_cli_double);
    t_run("cli_long: range and junk", test_cli_long);
    t_run("cli_split", test_cli_split);
    return t_done();
}
