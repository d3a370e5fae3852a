/* kml-regime: market regimes from a features CSV.
 *
 *   kml-regime fit [options] -o regime.json [FILE]   Gaussian HMM (reads all rows)
 *   kml-regime label -m regime.json [FILE]           causal labels appended
 *   kml-regime label --method rules [FILE]           the rules baseline
 *   kml-regime score --truth REGIMES [FILE]          accuracy against known regimes
 *
 * Options and I/O only; the model lives in lib/hmm.c and lib/regime.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "csv.h"
#include "regime.h"
#include "util.h"

/* Default columns: of kml-features' own columns these label kml-fetch sim's
 * regimes best (88-92 % filtered on seeds 1-6; ret_8,gk_24 81-85 %): an 8-bar
 * return separates the drifts, the 4-bar Parkinson volatility the noise levels
 * within a few bars of a switch, where a 24-bar window lags it by about 12.
 * docs/regimes.md has the comparison. */
#define DEFAULT_COLUMNS "ret_8,park_4"

static const char *operand(int argc, char **argv)
{
    if (optind < argc - 1) cli_usage_error("unexpected operand '%s'", argv[optind + 1]);
    return optind < argc ? argv[optind] : NULL;
}

enum { OPT_COV = 256, OPT_MAXITER, OPT_TOL, OPT_FLOOR, OPT_THREADS, OPT_METHOD, OPT_VITERBI, OPT_ADX,
       OPT_TREND, OPT_VOL, OPT_ADXMIN, OPT_VOLPCT, OPT_WINDOW, OPT_TRUTH, OPT_PAIR };

static int cmd_fit(int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"states", 'k', "K|auto", "number of states, 2 to 5, or auto (BIC over 2..5); default 4"},
        {"columns", 'c', "LIST", "feature columns (default " DEFAULT_COLUMNS ")"},
        {"covariance", OPT_COV, "diag|full", "covariance matrices (default diag)"},
        {"restarts", 'r', "R", "k-means++ starts, the best likelihood is kept (default 10)"},
        {"max-iter", OPT_MAXITER, "N", "Baum-Welch iterations per start (default 200)"},
        {"tol", OPT_TOL, "X", "stop when the log-likelihood gains less than X (default 1e-4)"},
        {"var-floor", OPT_FLOOR, "X", "variance floor, in units of each column's variance (default 1e-3)"},
        {"seed", 's', "N", "random seed (default 1)"},
        {"threads", OPT_THREADS, "N", "starts run in parallel (default: the CPUs); same result for any N"},
        {"output", 'o', "FILE", "regime.json to write (replaced atomically)"},
        {0}};
    const char *syn = "kml-regime fit [options] -o regime.json [FILE]   (reads every row into memory)";
    regime_fit_opts o;
    regime_fit_defaults(&o);
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    o.threads = nproc > 0 ? (int)nproc : 1;
    const char *cols_text = DEFAULT_COLUMNS, *out = NULL;
    int c;
    while ((c = cli_next(argc, argv, opts, syn)) != -1) {
        switch (c) {
        case 'k':
            o.K = strcmp(optarg, "auto") ? (int)cli_long("states", optarg, 2, REGIME_MAX_K) : 0;
            break;
        case 'c': cols_text = optarg; break;
        case OPT_COV:
            if (strcmp(optarg, "diag") && strcmp(optarg, "full"))
                cli_usage_error("--covariance: expected diag or full, not '%s'", optarg);
            o.full = !strcmp(optarg, "full");
            break;
        case 'r': o.restarts = (int)cli_long("restarts", optarg, 1, 10000); break;
        case OPT_MAXITER: o.max_iter = (int)cli_long("max-iter", optarg, 1, 1000000); break;
        case OPT_TOL: o.tol = cli_double("tol", optarg, 0, 1e300); break;
        case OPT_FLOOR: o.var_floor = cli_double("var-floor", optarg, 1e-12, 1); break;
        case 's': o.seed = (uint64_t)cli_long("seed", optarg, 0, INT64_MAX); break;
        case OPT_THREADS: o.threads = (int)cli_long("threads", optarg, 1, 1024); break;
        case 'o': out = optarg; break;
        default: cli_usage_error("unexpected option");
        }
    }
    const char *path = operand(argc, argv);
    if (!out) cli_usage_error("fit needs -o FILE (the regime.json to write)");
    int D;
    char **cols = cli_split(cols_text, &D);
    if (D < 1) cli_usage_error("--columns: no column given");
    if (D > 64) cli_usage_error("--columns: at most 64 columns");
    for (int i = 0; i < D; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(cols[i], cols[j])) cli_usage_error("--columns: '%s' given twice", cols[i]);
    csv_reader *r = csv_open(path);
    long T, last;
    double *x = regime_read_columns(r, cols, D, &T, &last);
    csv_close(r);
    regime_model *rm = regime_fit(x, T, D, cols, &o, path, last);
    regime_save(rm, out);
    fprintf(stderr, "kml-regime: %ld rows, %d states (%s), log-likelihood %.6g, BIC %.6g, %d iterations%s\n", T,
            rm->K, o.K ? "given" : "by BIC", rm->loglik, rm->bic, rm->iterations,
            rm->converged ? "" : " (not converged: raise --max-iter)");
    regime_model_free(rm);
    free(x);
    free(cols);
    return 0;
}

static int cmd_label(int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"model", 'm', "FILE", "regime.json from kml-regime fit (method hmm)"},
        {"method", OPT_METHOD, "hmm|rules", "hmm (default) or the rules baseline"},
        {"viterbi", OPT_VITERBI, NULL, "smoothed path and posteriors (offline only: looks ahead)"},
        {"adx-col", OPT_ADX, "COL", "rules: trend strength column (default adx_14)"},
        {"trend-col", OPT_TREND, "COL", "rules: signed move column (default ret_24)"},
        {"vol-col", OPT_VOL, "COL", "rules: volatility column (default rv_24)"},
        {"adx-min", OPT_ADXMIN, "X", "rules: trending when adx >= X (default 25)"},
        {"vol-pct", OPT_VOLPCT, "P", "rules: volatile when the volatility percentile >= P (default 0.8)"},
        {"window", OPT_WINDOW, "N", "rules: rows of the causal percentile window (default 720)"},
        {0}};
    const char *syn = "kml-regime label (-m regime.json | --method rules) [options] [FILE]";
    const char *model = NULL;
    int rules = 0, viterbi = 0;
    regime_rules_opts ro;
    regime_rules_defaults(&ro);
    int c;
    while ((c = cli_next(argc, argv, opts, syn)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case OPT_METHOD:
            if (strcmp(optarg, "hmm") && strcmp(optarg, "rules"))
                cli_usage_error("--method: expected hmm or rules, not '%s'", optarg);
            rules = !strcmp(optarg, "rules");
            break;
        case OPT_VITERBI: viterbi = 1; break;
        case OPT_ADX: ro.adx_col = optarg; break;
        case OPT_TREND: ro.trend_col = optarg; break;
        case OPT_VOL: ro.vol_col = optarg; break;
        case OPT_ADXMIN: ro.adx_min = cli_double("adx-min", optarg, 0, 100); break;
        case OPT_VOLPCT: ro.vol_pct = cli_double("vol-pct", optarg, 0, 1); break;
        case OPT_WINDOW: ro.window = (int)cli_long("window", optarg, 2, 10000000); break;
        default: cli_usage_error("unexpected option");
        }
    }
    const char *path = operand(argc, argv);
    if (rules && model) cli_usage_error("--method rules takes no model (-m)");
    if (rules && viterbi) cli_usage_error("--viterbi applies to --method hmm only");
    if (!rules && !model) cli_usage_error("label needs -m regime.json (or --method rules)");
    if (rules) {
        csv_reader *r = csv_open(path);
        regime_label_rules(&ro, r, stdout);
        csv_close(r);
    } else {
        regime_model *rm = regime_load(model);
        csv_reader *r = csv_open(path);
        regime_label_hmm(rm, r, stdout, viterbi);
        csv_close(r);
        regime_model_free(rm);
    }
    close_stdout();
    return 0;
}

static int cmd_score(int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"truth", OPT_TRUTH, "FILE", "known regimes: time,[pair,]regime (kml-fetch sim --regimes-out)"},
        {"pair", OPT_PAIR, "PAIR", "rows of this pair only from the truth file"},
        {0}};
    const char *syn = "kml-regime score --truth REGIMES [--pair P] [LABELLED]";
    const char *truth = NULL, *pair = NULL;
    int c;
    while ((c = cli_next(argc, argv, opts, syn)) != -1) {
        switch (c) {
        case OPT_TRUTH: truth = optarg; break;
        case OPT_PAIR: pair = optarg; break;
        default: cli_usage_error("unexpected option");
        }
    }
    const char *path = operand(argc, argv);
    if (!truth) cli_usage_error("score needs --truth FILE");
    regime_score sc;
    regime_score_files(truth, pair, path, &sc);
    regime_score_print(&sc, stdout);
    regime_score_free(&sc);
    close_stdout();
    return 0;
}

int main(int argc, char **argv)
{
    set_progname(argv[0]);
    static const struct cli_opt top[] = {{0}};
    const char *syn = "kml-regime fit|label|score [options] [FILE]   ('kml-regime CMD --help' for each)";
    if (argc < 2) cli_usage_error("a command is needed: fit, label or score");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        cli_usage(stdout, syn, top);
        printf("\ncommands:\n"
               "  fit     fit a Gaussian HMM to feature columns, write regime.json\n"
               "  label   append regime and p_<name> columns (filtered: causal)\n"
               "  score   accuracy of labels against known regimes, best matching of states\n");
        close_stdout();
        return 0;
    }
    const char *cmd = argv[1];
    argc--;
    argv++;
    if (!strcmp(cmd, "fit") || !strcmp(cmd, "label") || !strcmp(cmd, "score")) cli_set_command(cmd);
    if (!strcmp(cmd, "fit")) return cmd_fit(argc, argv);
    if (!strcmp(cmd, "label")) return cmd_label(argc, argv);
    if (!strcmp(cmd, "score")) return cmd_score(argc, argv);
    cli_usage_error("unknown command '%s' (fit, label or score)", cmd);
}
