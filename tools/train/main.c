/* kml-train: labelled features CSV -> model files with an honest evaluation.
 * Options and I/O here; the loop is in fit.c, one architecture in run.c, the
 * search in optimize.c, walk-forward in walkforward.c, plots in plot.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "jsonl.h"
#include "log.h"
#include "market/margin.h"
#include "pair.h"
#include "train.h"
#include "util.h"

static const char *const deep_archs[] = {"lstm", "gru", "tcn", "cnn", "transformer", "hybrid"};
#define NDEEP 6

enum {
    O_FEATURES = 256, O_LABEL, O_HORIZON, O_DAYS, O_HIDDEN, O_LAYERS, O_DROPOUT, O_EPOCHS, O_PATIENCE, O_LR,
    O_WD, O_CLIP, O_BATCH, O_SEED, O_SPLIT, O_PURGE, O_SOURCE, O_FEE, O_FORCE, O_VIS, O_EXTREME, O_LEVERAGE,
    O_CONFIG, O_MAXGAP, O_OPT, O_TRIALS, O_BUDGET, O_JOBS, O_SPACE, O_WF, O_TRAIN_DAYS, O_STEP_DAYS, O_PAIR, O_VERBOSE,
    O_LIST_FOLDS, O_FOLD, O_LIST_TRIALS, O_TRIAL, O_RUNG, O_MERGE, O_PIECES
};

static const struct cli_opt opts[] = {
    {"arch", 'a', "ARCH", "lstm|gru|tcn|cnn|transformer|hybrid|linear|all (default all)"},
    {"output", 'o', "DIR", "model directory (default models/<PAIR>/ or models/)"},
    {"pair", O_PAIR, "PAIR", "the asset (SOL/USD): output directory, extreme leverage"},
    {"features", O_FEATURES, "LIST", "feature columns (default: all but time, close, regime, p_*, y_*)"},
    {"label", O_LABEL, "COLUMN", "label column (default y_class)"},
    {"horizon", O_HORIZON, "H", "label horizon in bars (default: from the y_ret_<h> column)"},
    {"days", O_DAYS, "N", "use the last N days of the input only"},
    {"window", 'T', "T", "window length in bars (default 64)"},
    {"hidden", O_HIDDEN, "H", "hidden size of the deep models (default 64)"},
    {"layers", O_LAYERS, "N", "recurrent / encoder layers (default 2)"},
    {"dropout", O_DROPOUT, "P", "dropout in training (default 0)"},
    {"epochs", O_EPOCHS, "N", "maximum epochs (default 30)"},
    {"patience", O_PATIENCE, "N", "epochs without a better validation loss before stopping (default 5)"},
    {"lr", O_LR, "X", "base learning rate (default 0.001)"},
    {"weight-decay", O_WD, "X", "L2 weight decay (default 0.0001)"},
    {"clip", O_CLIP, "X", "gradient global-norm clip, 0 = off (default 1)"},
    {"batch", O_BATCH, "N", "batch size (default 64)"},
    {"seed", O_SEED, "N", "random seed: same seed, same model file (default 1)"},
    {"split", O_SPLIT, "TR,VA", "train and validation percent; test is the rest (default 70,15)"},
    {"purge", O_PURGE, "N", "rows between the splits (default and minimum: the label horizon)"},
    {"max-gap", O_MAXGAP, "N", "missing bars a window may span; a longer gap (a restart) breaks windows (default 3)"},
    {"source", O_SOURCE, "S", "data source recorded in the model: real|synthetic|unknown (default unknown)"},
    {"fee", O_FEE, "X", "move a bar must beat for hit_rate (default 2 x taker fee)"},
    {"config", O_CONFIG, "FILE", "trading configuration (default config/trading.json)"},
    {"force-retrain", O_FORCE, NULL, "train even when data and configuration are unchanged"},
    {"visualize", O_VIS, NULL, "PNG plots with gnuplot next to the model"},
    {"extreme-leverage", O_EXTREME, NULL, "learn triple-barrier labels to the liquidation of the max leverage"},
    {"leverage", O_LEVERAGE, "L", "the leverage for --extreme-leverage (default: the pair's extreme max)"},
    {"optimize", O_OPT, NULL, "hyper-parameter search (quasi-random + successive halving) first"},
    {"trials", O_TRIALS, "N", "trials of --optimize (default 16)"},
    {"time-budget", O_BUDGET, "S", "seconds for --optimize's trials (default: no limit)"},
    {"jobs", O_JOBS, "N", "parallel trials (default: the number of cores)"},
    {"space", O_SPACE, "SPEC", "search space, e.g. 'H=16:128,T=16:64,lr=1e-4:1e-2' (see docs/models.md)"},
    {"walk-forward", O_WF, NULL, "rolling retraining; out-of-sample predictions CSV on stdout"},
    {"train-days", O_TRAIN_DAYS, "D", "walk-forward training window in days (default 180)"},
    {"step-days", O_STEP_DAYS, "D", "walk-forward step in days (default 30)"},
    {"list-folds", O_LIST_FOLDS, NULL, "the walk-forward's folds as JSON lines (with the archs whose piece is missing)"},
    {"fold", O_FOLD, "K", "train walk-forward fold K only, into its piece file (see --pieces)"},
    {"list-trials", O_LIST_TRIALS, NULL, "--optimize's plan as JSON lines: a line per trial of each rung"},
    {"trial", O_TRIAL, "K", "run trial slot K of --rung only, into its piece file"},
    {"rung", O_RUNG, "R", "the rung of --trial (default 0)"},
    {"merge", O_MERGE, NULL, "--walk-forward or --optimize from the pieces: the one-process run's output"},
    {"pieces", O_PIECES, "DIR", "the folds' and trials' piece files (default OUTPUT/pieces)"},
    {"quiet", 'q', NULL, "no progress bar"},
    {"verbose", O_VERBOSE, NULL, "mirror every log event (each epoch) to stderr"},
    {0}};

static const char synopsis[] =
    "kml-train [options] [FILE]\n"
    "Train models on a labelled features CSV (kml-features --labels); reads all of FILE (or stdin)\n"
    "into memory. Prints the result with metrics.train/val/test as JSON on stdout.";

static int valid_arch(const char *a) {
    if (!strcmp(a, "linear") || !strcmp(a, "all")) return 1;
    for (int i = 0; i < NDEEP; i++)
        if (!strcmp(a, deep_archs[i])) return 1;
    return 0;
}

/* The comparison table of --arch all: one row a model, test split. */
static cJSON *comparison(cJSON *results) {
    cJSON *tab = cJSON_CreateArray();
    cJSON *r;
    cJSON_ArrayForEach(r, results) {
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "arch", cJSON_GetObjectItem(r, "arch")->valuestring);
        cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "metrics"), "test");
        static const char *const keys[] = {"log_loss", "baseline_log_loss", "improvement", "accuracy",
                                           "balanced_accuracy", "macro_f1", "brier", "ece", "hit_rate", "ic"};
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            cJSON *v = cJSON_GetObjectItem(t, keys[k]);
            cJSON_AddItemToObject(row, keys[k], v ? cJSON_Duplicate(v, 0) : cJSON_CreateNull());
        }
        cJSON_AddItemToArray(tab, row);
    }
    return tab;
}

int main(int argc, char **argv) {
    set_progname(argv[0]);
    train_cfg c = {.T = 64, .H = 64, .layers = 2, .dropout = 0, .lr = 1e-3f, .weight_decay = 1e-4f, .clip = 1,
                   .batch = 64, .epochs = 30, .patience = 5, .seed = 1, .f_train = 0.70, .f_val = 0.15, .purge = -1, .max_gap = 3};
    train_opts o = {.source = "unknown", .fee = NAN, .trials = 16, .jobs = 0, .time_budget = 0,
                    .train_days = 180, .step_days = 30};
    const char *arch = "all", *config_path = NULL;
    int optimize_flag = 0, wf = 0, verbose = 0, rung_given = 0, list_folds = 0, list_trials = 0, trial = -1;
    o.unit = -1;
    double leverage = 0;
    int c_;
    while ((c_ = cli_next(argc, argv, opts, synopsis)) != -1) {
        switch (c_) {
        case 'a':
            if (!valid_arch(optarg))
                cli_usage_error("--arch: unknown architecture '%s' (lstm, gru, tcn, cnn, transformer, hybrid, linear, all)",
                                optarg);
            arch = optarg;
            break;
        case 'o': o.outdir = optarg; break;
        case O_PAIR: o.pair = optarg; break;
        case O_FEATURES: o.load.features = optarg; break;
        case O_LABEL: o.load.label = optarg; break;
        case O_HORIZON: o.load.horizon = (int)cli_long("horizon", optarg, 1, 100000); break;
        case O_DAYS: o.load.days = cli_double("days", optarg, 1e-6, 1e6); break;
        case 'T': c.T = (int)cli_long("window", optarg, 1, 4096); break;
        case O_HIDDEN: c.H = (int)cli_long("hidden", optarg, 1, 4096); break;
        case O_LAYERS: c.layers = (int)cli_long("layers", optarg, 1, 16); break;
        case O_DROPOUT: c.dropout = (float)cli_double("dropout", optarg, 0, 0.95); break;
        case O_EPOCHS: c.epochs = (int)cli_long("epochs", optarg, 1, 100000); break;
        case O_PATIENCE: c.patience = (int)cli_long("patience", optarg, 1, 100000); break;
        case O_LR: c.lr = (float)cli_double("lr", optarg, 1e-9, 10); break;
        case O_WD: c.weight_decay = (float)cli_double("weight-decay", optarg, 0, 10); break;
        case O_CLIP: c.clip = (float)cli_double("clip", optarg, 0, 1e6); break;
        case O_BATCH: c.batch = (int)cli_long("batch", optarg, 1, 1 << 20); break;
        case O_SEED: c.seed = (uint64_t)cli_long("seed", optarg, 0, INT64_MAX); break;
        case O_SPLIT: {
            int n;
            char **p = cli_split(optarg, &n);
            if (n != 2) cli_usage_error("--split: expected TRAIN,VAL percentages, got '%s'", optarg);
            double a = cli_double("split", p[0], 1, 98), b = cli_double("split", p[1], 1, 98);
            free(p);
            if (a + b >= 99) cli_usage_error("--split: %s leaves no test split", optarg);
            c.f_train = a / 100, c.f_val = b / 100;
            break;
        }
        case O_PURGE: c.purge = (int)cli_long("purge", optarg, 0, 100000); break;
        case O_MAXGAP: c.max_gap = (int)cli_long("max-gap", optarg, 0, 1000000000L); break;
        case O_SOURCE:
            if (strcmp(optarg, "real") && strcmp(optarg, "synthetic") && strcmp(optarg, "unknown"))
                cli_usage_error("--source: expected real, synthetic or unknown, got '%s'", optarg);
            o.source = optarg;
            break;
        case O_FEE: o.fee = cli_double("fee", optarg, 0, 1); break;
        case O_CONFIG: config_path = optarg; break;
        case O_FORCE: o.force = 1; break;
        case O_VIS: o.visualize = 1; break;
        case O_EXTREME: o.extreme = 1; break;
        case O_LEVERAGE: leverage = cli_double("leverage", optarg, 1, 1000); break;
        case O_OPT: optimize_flag = 1; break;
        case O_TRIALS: o.trials = (int)cli_long("trials", optarg, 1, 100000); break;
        case O_BUDGET: o.time_budget = cli_double("time-budget", optarg, 0, 1e9); break;
        case O_JOBS: o.jobs = (int)cli_long("jobs", optarg, 1, 1024); break;
        case O_SPACE: o.space = optarg; break;
        case O_WF: wf = 1; break;
        case O_TRAIN_DAYS: o.train_days = cli_double("train-days", optarg, 1e-3, 1e5); break;
        case O_STEP_DAYS: o.step_days = cli_double("step-days", optarg, 1e-3, 1e5); break;
        case 'q': o.quiet = 1; break;
        case O_VERBOSE: verbose = 1; break;
        case O_LIST_FOLDS: list_folds = 1, wf = 1; break;
        case O_FOLD: o.unit = (int)cli_long("fold", optarg, 0, 1000000), wf = 1; break;
        case O_LIST_TRIALS: list_trials = 1, optimize_flag = 1; break;
        case O_TRIAL: trial = (int)cli_long("trial", optarg, 0, 1000000), optimize_flag = 1; break;
        case O_RUNG: o.rung = (int)cli_long("rung", optarg, 0, 8), rung_given = 1; break;
        case O_MERGE: o.merge = 1; break;
        case O_PIECES: o.pieces = optarg; break;
        }
    }
    if (argc - optind > 1) cli_usage_error("expected at most one FILE, got %d", argc - optind);
    o.input = optind < argc ? argv[optind] : "-";
    if (optimize_flag && wf)
        cli_usage_error("--optimize (--list-trials, --trial) and --walk-forward (--list-folds, --fold) do not combine");
    if (trial >= 0) o.unit = trial;
    o.list = list_folds || list_trials;
    if (o.list + (o.unit >= 0) + o.merge > 1)
        cli_usage_error("--list-folds/--list-trials, --fold/--trial and --merge are different steps: give one");
    if (rung_given && trial < 0) cli_usage_error("--rung goes with --trial");
    if (o.merge && !wf && !optimize_flag) cli_usage_error("--merge needs --walk-forward or --optimize");
    if (o.time_budget > 0 && (o.list || o.unit >= 0 || o.merge))
        cli_usage_error("--time-budget does not combine with the search's pieces (a scheduler's time limit bounds each)");
    log_quiet(!verbose);

    kml_config cfg;
    config_load(&cfg, config_path);
    if (!isfinite(o.fee)) o.fee = 2 * cfg.taker_fee;
    kml_pair pair;
    char outbuf[4096], note[512];
    if (o.pair) pair_parse_or_die("pair", o.pair, &pair), o.pair = pair.display;
    if (!o.outdir) {
        if (o.pair)
            snprintf(outbuf, sizeof outbuf, "models/%s", pair.altname), o.outdir = outbuf;
        else
            o.outdir = "models";
    }
    if (o.extreme) {
        if (!o.pair) cli_usage_error("--extreme-leverage needs --pair (the asset whose extreme leverage applies)");
        const kml_asset *as = config_asset(&cfg, pair.display);
        if (!as && leverage <= 0)
            die(EX_CONFIG, "--extreme-leverage: %s has no leverage range in the configuration; give --leverage L",
                pair.display);
        double L = leverage > 0 ? leverage : as->lev_extreme[1];
        /* the same liquidation move as kml-features' y_tb_lev<L> labels: the margin model's */
        margin_params mp;
        margin_params_from_config(&mp, &cfg);
        double move = margin_liquidation_move(&mp, L);
        static char col[64];
        snprintf(col, sizeof col, "y_tb_lev%g", L);
        if (!o.load.label) o.load.label = col;
        snprintf(note, sizeof note,
                 "{\"kind\":\"triple_barrier\",\"extreme_leverage\":true,\"pair\":\"%s\",\"leverage\":%.17g,"
                 "\"margin_stop\":%.17g,\"liquidation_move\":%.17g,\"meaning\":\"0 liquidation barrier first, "
                 "1 horizon, 2 target first\"}",
                 pair.display, L, mp.margin_stop, move);
        o.labels_note = note;
        /* Say how to make the labels before reading the whole input. */
        if (strcmp(o.input, "-")) {
            FILE *f = xfopen(o.input, "r");
            char head[65536];
            if (!fgets(head, sizeof head, f)) head[0] = 0;
            fclose(f);
            head[strcspn(head, "\r\n")] = 0;
            int found = 0, n;
            char **names = cli_split(head, &n);
            for (int i = 0; i < n; i++) found |= !strcmp(names[i], o.load.label);
            free(names);
            if (!found)
                die(EX_DATAERR,
                    "%s:1: no column '%s' (triple-barrier labels to the %gx liquidation move %.4g%%): make them with "
                    "kml-features --labels --barrier --leverage %g",
                    o.input, o.load.label, L, 100 * move, L);
        }
    }

    kml_dataset *d = dataset_load(o.input, &o.load);
    if (c.purge < 0) c.purge = d->horizon;
    if (c.purge < d->horizon)
        cli_usage_error("--purge %d is shorter than the label horizon %d: labels would leak into the next split",
                        c.purge, d->horizon);
    char hash[65];
    dataset_hash(d, hash);
    memcpy(o.data_hash, hash, sizeof hash);

    const char *list[NDEEP + 1];
    int n = 0;
    if (!strcmp(arch, "all")) {
        list[n++] = "linear";
        for (int i = 0; i < NDEEP; i++) list[n++] = deep_archs[i];
    } else {
        list[n++] = arch;
    }
    if (optimize_flag && (o.list || o.unit >= 0) && n > 1)
        cli_usage_error("--list-trials and --trial are one architecture's search: give --arch");
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], "linear") && !deep_available())
            die(EX_UNAVAILABLE, "--arch %s: this build has no deep models (lib/nn)", list[i]);

    if (wf) {
        walk_forward(&c, list, n, &o, d);
        dataset_free(d);
        close_stdout();
        return 0;
    }
    cJSON *results = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        train_cfg ci = c;
        snprintf(ci.arch, sizeof ci.arch, "%s", list[i]);
        if (optimize_flag) {
            train_cfg best;
            if (!optimize(&best, &ci, &o, d)) { /* a piece of the search: no model */
                cJSON_Delete(results);
                dataset_free(d);
                close_stdout();
                return 0;
            }
            ci = best;
        }
        cJSON_AddItemToArray(results, train_arch(&ci, &o, d, hash));
    }
    if (n == 1) {
        jsonl_write(stdout, cJSON_GetArrayItem(results, 0));
    } else {
        cJSON *all = cJSON_CreateObject();
        cJSON_AddStringToObject(all, "arch", "all");
        cJSON_AddItemToObject(all, "comparison", comparison(results));
        cJSON_AddItemToObject(all, "results", results);
        jsonl_write(stdout, all);
        results = all;
    }
    cJSON_Delete(results);
    dataset_free(d);
    close_stdout();
    return 0;
}
