/* kml-predict: the model collaboration integrator. Labelled features rows
 * (with the regime columns) in, one decision JSON line per bar out
 * (DESIGN.md, decisions JSONL; docs/predict.md). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "jsonl.h"
#include "log.h"
#include "predict.h"
#include "util.h"

static const char synopsis[] =
    "kml-predict -m MODEL... -e ensemble.json [options] [FILE]\n"
    "       kml-predict --predictions WF.csv -e ensemble.json [options] [FILE]\n"
    "\n"
    "FILE (default stdin): a labelled features CSV (kml-features, then kml-regime label), read as a\n"
    "stream; one decision JSON line per bar on stdout, from the first bar where every model has its\n"
    "window. -m takes model files or directories of them (*.safetensors); the models used are the\n"
    "model:<arch> strategies of ensemble.json (none: no -m needed). With --state, a run continues where the last one left\n"
    "off: rows already processed give nothing, and the decisions are those of one whole run.";

enum { O_PAIR = 256, O_STATE, O_PRED, O_HARD, O_GAP, O_VOL, O_SOURCE, O_VERBOSE };
static const struct cli_opt opts[] = {
    {"model", 'm', "MODEL", "a model file or a directory of them (repeatable)"},
    {"ensemble", 'e', "FILE", "ensemble.json (kml-ensemble): strategies, regime weights, adaptation"},
    {"pair", O_PAIR, "PAIR", "the pair the decisions are for (default: ensemble.json's data.pair)"},
    {"state", O_STATE, "FILE", "keep the state here, written atomically after each bar"},
    {"predictions", O_PRED, "WF.csv", "model probabilities from walk-forward predictions instead of -m"},
    {"hard-regime", O_HARD, NULL, "weights of the labelled regime only (default: mixed by p_<regime>)"},
    {"max-gap", O_GAP, "N", "missing bars a window may span (default: each model's, from training)"},
    {"vol-column", O_VOL, "COL", "the per-bar volatility column for 'volatility' (default rv_24)"},
    {"source", O_SOURCE, "S", "real or synthetic (default: synthetic if ensemble.json or a model says so, else theirs)"},
    {"verbose", O_VERBOSE, NULL, "mirror each bar's collaboration log line to stderr"},
    {0}};

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && !strcmp(s + n - k, suf);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The model files of -m arguments: files as given, directories' *.safetensors sorted. */
static char **model_paths(char **args, int nargs, int *n)
{
    char **v = NULL;
    *n = 0;
    for (int i = 0; i < nargs; i++) {
        struct stat sb;
        if (stat(args[i], &sb) < 0) die(EX_NOINPUT, "%s:", args[i]);
        if (!S_ISDIR(sb.st_mode)) {
            v = xrealloc(v, sizeof *v * (size_t)(*n + 1));
            v[(*n)++] = xstrdup(args[i]);
            continue;
        }
        DIR *d = opendir(args[i]);
        if (!d) die(EX_NOINPUT, "%s:", args[i]);
        int first = *n;
        struct dirent *de;
        while ((de = readdir(d)))
            if (ends_with(de->d_name, ".safetensors")) {
                v = xrealloc(v, sizeof *v * (size_t)(*n + 1));
                size_t len = strlen(args[i]) + strlen(de->d_name) + 2;
                v[*n] = xmalloc(len);
                snprintf(v[(*n)++], len, "%s/%s", args[i], de->d_name);
            }
        closedir(d);
        if (*n == first) die(EX_NOINPUT, "%s: no *.safetensors model in this directory", args[i]);
        qsort(v + first, (size_t)(*n - first), sizeof *v, by_name);
    }
    return v;
}

/* The time of the last whole line of stdout when it is a non-empty regular
 * file (a run restarted with >> onto its own output) and that line is a
 * decision for pair, else INT64_MIN: the bars up to it are processed again
 * for the state but not printed twice. */
static int64_t last_time_in_stdout(const char *pair)
{
    struct stat sb;
    if (fstat(STDOUT_FILENO, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) return INT64_MIN;
    FILE *f = fopen("/proc/self/fd/1", "r");
    if (!f) return INT64_MIN;
    long back = sb.st_size < 65536 ? (long)sb.st_size : 65536;
    fseek(f, -back, SEEK_END);
    char *buf = xmalloc((size_t)back + 1);
    size_t n = fread(buf, 1, (size_t)back, f);
    fclose(f);
    buf[n] = 0;
    int64_t t = INT64_MIN;
    while (n > 0 && buf[n - 1] != '\n') buf[--n] = 0; /* a partial last line is not a decision */
    if (n > 0) {
        buf[--n] = 0;
        char *line = strrchr(buf, '\n');
        cJSON *o = cJSON_Parse(line ? line + 1 : buf);
        const cJSON *tm = cJSON_GetObjectItemCaseSensitive(o, "time"), *pr = cJSON_GetObjectItemCaseSensitive(o, "pair");
        if (cJSON_IsNumber(tm) && cJSON_IsString(pr) && !strcmp(pr->valuestring, pair)) t = (int64_t)tm->valuedouble;
        cJSON_Delete(o);
    }
    free(buf);
    return t;
}

int main(int argc, char **argv)
{
    set_progname(argv[0]);
    char **margs = NULL;
    int nm = 0, verbose = 0;
    const char *ens = NULL, *state = NULL, *wfp = NULL, *pair = NULL, *source = NULL;
    pred_opts o = {.max_gap = -1, .vol_col = "rv_24"};
    int c;
    while ((c = cli_next(argc, argv, opts, synopsis)) != -1) {
        switch (c) {
        case 'm':
            margs = xrealloc(margs, sizeof *margs * (size_t)(nm + 1));
            margs[nm++] = optarg;
            break;
        case 'e': ens = optarg; break;
        case O_PAIR: pair = optarg; break;
        case O_STATE: state = optarg; break;
        case O_PRED: wfp = optarg; break;
        case O_HARD: o.hard_regime = 1; break;
        case O_GAP: o.max_gap = (int)cli_long("max-gap", optarg, 0, 1000000000L); break;
        case O_VOL: o.vol_col = optarg; break;
        case O_SOURCE:
            if (strcmp(optarg, "real") && strcmp(optarg, "synthetic"))
                cli_usage_error("--source: 'real' or 'synthetic', not '%s'", optarg);
            source = optarg;
            break;
        case O_VERBOSE: verbose = 1; break;
        }
    }
    if (!ens) cli_usage_error("missing -e ensemble.json");
    if (nm && wfp) cli_usage_error("-m and --predictions exclude each other");
    if (argc - optind > 1) cli_usage_error("one input FILE at most");
    const char *input = optind < argc ? argv[optind] : NULL;
    log_quiet(!verbose);

    pred_ens e;
    pred_ens_load(&e, ens);
    int need_models = 0;
    for (int s = 0; s < e.S; s++) need_models |= strategy_is_model(e.names[s]);
    if (need_models && !nm && !wfp) cli_usage_error("missing -m MODEL (or --predictions WF.csv): %s has model strategies", ens);
    o.ens_path = ens;
    int K = 0, synthetic = !strcmp(e.source, "synthetic"), all_real = 1;
    char **paths = nm ? model_paths(margs, nm, &K) : NULL;
    ml_model **models = xcalloc((size_t)K + 1, sizeof *models);
    for (int k = 0; k < K; k++) {
        char err[512];
        int rc = ml_load(paths[k], &models[k], err, sizeof err);
        if (rc) die(rc, "%s: %s", paths[k], err);
        const cJSON *ds = cJSON_GetObjectItemCaseSensitive(models[k]->meta, "data");
        cJSON *d = cJSON_IsString(ds) ? cJSON_Parse(ds->valuestring) : NULL;
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(d, "source");
        synthetic |= cJSON_IsString(src) && !strcmp(src->valuestring, "synthetic");
        all_real &= cJSON_IsString(src) && !strcmp(src->valuestring, "real");
        cJSON_Delete(d);
    }
    pred_wf wf;
    if (wfp) pred_wf_load(&wf, wfp);
    o.pair = pair ? pair : e.pair;
    if (!o.pair) cli_usage_error("no --pair, and %s names no pair (data.pair)", ens);
    /* synthetic wins (live refuses it); an ensemble of unknown source fitted for real models is real */
    o.source = source ? source : synthetic ? "synthetic" : !strcmp(e.source, "unknown") && K > 0 && all_real ? "real" : e.source;

    predictor p;
    pred_init(&p, &e, models, paths, K, wfp ? &wf : NULL, &o);
    csv_reader *r = csv_open(input);
    pred_bind(&p, r);
    if (state) pred_state_load(&p, state);
    if (state) p.emit_after = last_time_in_stdout(o.pair);
    long rows = 0, out = 0;
    int64_t prev = INT64_MIN;
    while (csv_next(r)) {
        rows++;
        int64_t t = csv_int(r, p.c_time);
        if (t <= prev) csv_die(r, p.c_time, "time %lld not after the previous row's %lld", (long long)t, (long long)prev);
        prev = t;
        int64_t before = p.last;
        cJSON *lg;
        cJSON *d = pred_row(&p, r, &lg);
        if (d) {
            jsonl_write(stdout, d);
            if (fflush(stdout)) die(EX_IOERR, "write error:");
            cJSON_Delete(d);
            out++;
        }
        if (lg) log_event("model_collaboration", LOG_INFO, "decision", lg);
        if (state && p.last != before) pred_state_save(&p, state);
    }
    csv_close(r);
    if (!out && !p.said_skip && !p.said_end) {
        const char *why = wfp ? "before the first prediction or window, or" : "fewer rows than the longest model window, or";
        if (!state || !rows)
            die(EX_DATAERR, "%s: no decision from %ld rows (%s no bar where every model has a window of %d rows "
                "inside one segment)", display_name(input), rows, why, p.L);
        warn("%s: no decision yet from %ld rows (warm-up: the longest model window is %d rows)", display_name(input), rows, p.L);
    }
    pred_free(&p);
    for (int k = 0; k < K; k++) ml_free(models[k]), free(paths[k]);
    free(models), free(paths), free(margs);
    if (wfp) pred_wf_free(&wf);
    pred_ens_free(&e);
    close_stdout();
    return 0;
}
