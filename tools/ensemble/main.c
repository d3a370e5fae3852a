/* kml-ensemble: regime-specific weights of rule strategies and models.
 *
 *   kml-ensemble fit [options] -o ensemble.json LABELLED.csv
 *   kml-ensemble show ensemble.json
 *   kml-ensemble list
 *
 * Options and I/O only; the strategies live in lib/strategy/strategy.c, the
 * fit in lib/strategy/ensemble.c (docs/ensemble.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "cli.h"
#include "config.h"
#include "strategy/ensemble.h"
#include "jsonl.h"
#include "log.h"
#include "pair.h"
#include "strategy/strategy.h"
#include "util.h"

enum { O_PRED = 256, O_STRAT, O_OBJ, O_FEE, O_MINS, O_PEN, O_SEED, O_WF, O_TRAIN, O_STEP, O_PAIR, O_SOURCE,
       O_CONFIG, O_QUIET, O_MAXGAP, O_JOINT };

static int cmd_fit(int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"predictions", O_PRED, "FILE", "walk-forward predictions CSV (time,arch,p_down,p_flat,p_up); repeatable"},
        {"strategies", O_STRAT, "LIST", "comma list (default: every rule strategy, model:<arch> for each arch)"},
        {"objective", O_OBJ, "sharpe|sortino|return", "what the weights maximise (default: config, sharpe)"},
        {"fee", O_FEE, "X", "taker fee charged on position changes (default: config taker_fee)"},
        {"min-samples", O_MINS, "N", "bars a regime needs for its own weights (default: config, 500)"},
        {"penalty", O_PEN, "X", "pull toward equal weights (default: config, 0.1)"},
        {"seed", O_SEED, "N", "accepted for the pipeline's uniform options; the fit uses no randomness"},
        {"max-gap", O_MAXGAP, "N", "missing bars before a break that restarts the strategies (default 3, as kml-predict)"},
        {"joint", O_JOINT, NULL, "refit all regimes' weights together on the combination's after-fee return"},
        {"walk-forward", O_WF, NULL, "also fit rolling windows, each on bars before it only"},
        {"train-days", O_TRAIN, "D", "walk-forward: days of bars each window is fitted on (default 180)"},
        {"step-days", O_STEP, "S", "walk-forward: days each window's weights are used for (default 30)"},
        {"pair", O_PAIR, "PAIR", "asset pair recorded in the file (e.g. SOL/USD)"},
        {"source", O_SOURCE, "S", "data source recorded: real|synthetic|unknown (default unknown)"},
        {"config", O_CONFIG, "FILE", "trading configuration (default config/trading.json)"},
        {"output", 'o', "FILE", "ensemble.json to write (replaced atomically)"},
        {"quiet", O_QUIET, NULL, "no summary on stderr"},
        {0}};
    const char *syn = "kml-ensemble fit [options] -o ensemble.json LABELLED.csv";
    ens_opts o;
    ens_opts_defaults(&o);
    const char **pred = xmalloc((size_t)argc * sizeof *pred);
    int npred = 0, quiet = 0, obj_set = 0, mins_set = 0, pen_set = 0, tset = 0, max_gap = 3;
    const char *strategies = NULL, *out = NULL, *config_path = NULL;
    double fee = NAN;
    kml_pair pair;
    int c;
    while ((c = cli_next(argc, argv, opts, syn)) != -1) {
        switch (c) {
        case O_PRED: pred[npred++] = optarg; break;
        case O_STRAT: strategies = optarg; break;
        case O_OBJ:
            if (!strcmp(optarg, "sharpe")) o.objective = ENS_SHARPE;
            else if (!strcmp(optarg, "sortino")) o.objective = ENS_SORTINO;
            else if (!strcmp(optarg, "return")) o.objective = ENS_RETURN;
            else cli_usage_error("--objective: expected sharpe, sortino or return, not '%s'", optarg);
            obj_set = 1;
            break;
        case O_FEE: fee = cli_double("fee", optarg, 0, 0.5); break;
        case O_MINS: o.min_samples = cli_long("min-samples", optarg, 2, 1000000000L), mins_set = 1; break;
        case O_PEN: o.penalty = cli_double("penalty", optarg, 0, 1e6), pen_set = 1; break;
        case O_SEED: (void)cli_long("seed", optarg, 0, INT64_MAX); break;
        case O_MAXGAP: max_gap = (int)cli_long("max-gap", optarg, 0, 1000000000L); break;
        case O_WF: o.walk_forward = 1; break;
        case O_JOINT: o.joint = 1; break;
        case O_TRAIN: o.train_days = cli_double("train-days", optarg, 1.0 / 24, 36500), tset = 1; break;
        case O_STEP: o.step_days = cli_double("step-days", optarg, 1.0 / 24, 36500), tset = 1; break;
        case O_PAIR:
            pair_parse_or_die("pair", optarg, &pair);
            o.pair = pair.display;
            break;
        case O_SOURCE:
            if (strcmp(optarg, "real") && strcmp(optarg, "synthetic") && strcmp(optarg, "unknown"))
                cli_usage_error("--source: expected real, synthetic or unknown, not '%s'", optarg);
            o.source = optarg;
            break;
        case O_CONFIG: config_path = optarg; break;
        case 'o': out = optarg; break;
        case O_QUIET: quiet = 1; break;
        default: cli_usage_error("unexpected option");
        }
    }
    if (optind >= argc) cli_usage_error("fit needs LABELLED.csv (the features with regime columns)");
    if (optind < argc - 1) cli_usage_error("unexpected operand '%s'", argv[optind + 1]);
    if (!out) cli_usage_error("fit needs -o FILE (the ensemble.json to write)");
    if (tset && !o.walk_forward) cli_usage_error("--train-days and --step-days need --walk-forward");
    const char *path = argv[optind];
    kml_config cfg;
    config_load(&cfg, config_path);
    o.fee = isnan(fee) ? cfg.taker_fee : fee;
    /* The configuration's ensemble section, unless an option said otherwise. */
    if (!obj_set)
        o.objective = !strcmp(cfg.ensemble.objective, "sortino") ? ENS_SORTINO
                      : !strcmp(cfg.ensemble.objective, "return") ? ENS_RETURN
                                                                  : ENS_SHARPE;
    if (!mins_set) o.min_samples = cfg.ensemble.min_samples;
    if (!pen_set) o.penalty = cfg.ensemble.penalty;
    o.min_confidence = cfg.ensemble.min_confidence;
    o.adapt_rate = cfg.ensemble.adaptation_rate;
    o.adapt_min = cfg.ensemble.adaptation_min;
    o.adapt_max = cfg.ensemble.adaptation_max;
    log_quiet(quiet);

    double t0 = now_seconds();
    ens_data d;
    ens_read(&d, path, pred, npred, strategies, o.fee, max_gap);
    if (!quiet && (d.dropped_head || d.dropped_tail))
        fprintf(stderr, "kml-ensemble: %s: %ld bars before the first and %ld after the last model prediction left out\n",
                d.input, d.dropped_head, d.dropped_tail);
    cJSON *doc = ens_run(&d, &o);
    char *text = json_print(doc, 1);
    size_t len = strlen(text);
    text = xrealloc(text, len + 2);
    text[len++] = '\n';
    text[len] = 0;
    atomic_write(out, text, len);
    free(text);

    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "output", out);
    cJSON_AddStringToObject(f, "input", d.input);
    json_add_num(f, "bars", cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "data"), "bars")->valuedouble);
    json_add_num(f, "strategies", d.S);
    json_add_num(f, "regimes", d.nreg);
    cJSON_AddItemToObject(f, "fallback", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(doc, "fallback"), 1));
    const cJSON *wins = cJSON_GetObjectItemCaseSensitive(doc, "windows");
    json_add_num(f, "windows", wins ? cJSON_GetArraySize(wins) : 0);
    json_add_num(f, "entry", cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "thresholds"), "entry")->valuedouble);
    cJSON_AddStringToObject(f, "objective", cJSON_GetObjectItemCaseSensitive(doc, "objective")->valuestring);
    json_add_num(f, "fee", o.fee);
    cJSON_AddStringToObject(f, "source", o.source);
    json_add_num(f, "seconds", now_seconds() - t0);
    log_event("ml_training", LOG_INFO, "ensemble fit", f);
    cJSON_Delete(doc);
    ens_data_free(&d);
    free(pred);
    return 0;
}

static int cmd_show(int argc, char **argv)
{
    static const struct cli_opt opts[] = {{0}};
    const char *syn = "kml-ensemble show ensemble.json";
    int c;
    while ((c = cli_next(argc, argv, opts, syn)) != -1) cli_usage_error("unexpected option");
    if (optind >= argc) cli_usage_error("show needs ensemble.json");
    if (optind < argc - 1) cli_usage_error("unexpected operand '%s'", argv[optind + 1]);
    cJSON *doc = json_load_file(argv[optind]);
    ens_show(stdout, doc, display_name(argv[optind]));
    cJSON_Delete(doc);
    return 0;
}

static int cmd_list(int argc, char **argv)
{
    static const struct cli_opt opts[] = {{0}};
    int c;
    while ((c = cli_next(argc, argv, opts, "kml-ensemble list")) != -1) cli_usage_error("unexpected option");
    if (optind < argc) cli_usage_error("unexpected operand '%s'", argv[optind]);
    printf("strategy,band,warmup,columns,summary\n");
    for (int i = 0; i < strategy_ndefs; i++) {
        const strategy_def *s = &strategy_defs[i];
        printf("%s,%g,%d,", s->name, s->band, s->warmup);
        if (s->ncols) putchar('"');
        for (int j = 0; j < s->ncols; j++) printf("%s%s", j ? "," : "", s->cols[j]);
        if (s->ncols) putchar('"');
        printf(",\"%s\"\n", s->summary);
    }
    printf("model:<arch>,%g,0,,\"p_up - p_down of the model's (walk-forward) probabilities\"\n", STRATEGY_MODEL_BAND);
    return 0;
}

int main(int argc, char **argv)
{
    set_progname(argv[0]);
    static const struct cli_opt top[] = {{0}};
    const char *syn = "kml-ensemble fit|show|list [options]   ('kml-ensemble CMD --help' for each)";
    if (argc < 2) cli_usage_error("a command is needed: fit, show or list");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        cli_usage(stdout, syn, top);
        printf("\ncommands:\n"
               "  fit    fit regime-specific strategy weights after fees, write ensemble.json\n"
               "  show   print ensemble.json as a table: regimes down, strategies across\n"
               "  list   the rule strategies, their columns and rebalancing band (CSV)\n");
        close_stdout();
        return 0;
    }
    const char *cmd = argv[1];
    argc--;
    argv++;
    int rc;
    if (!strcmp(cmd, "fit") || !strcmp(cmd, "show") || !strcmp(cmd, "list")) cli_set_command(cmd);
    if (!strcmp(cmd, "fit")) rc = cmd_fit(argc, argv);
    else if (!strcmp(cmd, "show")) rc = cmd_show(argc, argv);
    else if (!strcmp(cmd, "list")) rc = cmd_list(argc, argv);
    else cli_usage_error("unknown command '%s' (fit, show or list)", cmd);
    close_stdout();
    return rc;
}
