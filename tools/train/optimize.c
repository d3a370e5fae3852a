/* optimize.c: --optimize, the hyper-parameter search.
 *
 * Candidates are a randomly shifted Halton sequence (quasi-random: the points
 * cover the space evenly, and the shift drawn from --seed makes each seed a
 * different, reproducible design). Successive halving picks among them: every
 * trial trains for a small budget of epochs, the best third by validation loss
 * is trained again with three times the budget, and so on up to --epochs
 * (the synchronous form of ASHA: a rung waits for its trials, so the result
 * does not depend on which trial finishes first). Trials run in forked
 * processes, up to --jobs at a time; each is deterministic from its own seed,
 * so the table is the same for a seed whatever the scheduling (unless
 * --time-budget cuts the search short). Only the training and validation rows
 * are given to the trials: the test split is never looked at. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic.h"
#include "cli.h"
#include "csv.h"
#include "jsonl.h"
#include "log.h"
#include "rng.h"
#include "train.h"
#include "util.h"

void openblas_set_num_threads(int n);

enum { D_H, D_LAYERS, D_DROPOUT, D_LR, D_WD, D_T, D_BATCH, ND };
enum { K_POW2, K_INT, K_UNIF, K_LOG };
static const struct {
    const char *name;
    int kind;
    double lo, hi;
} dims0[ND] = {
    {"H", K_POW2, 16, 128},  {"layers", K_INT, 1, 3},  {"dropout", K_UNIF, 0, 0.5}, {"lr", K_LOG, 1e-4, 1e-2},
    {"weight_decay", K_LOG, 1e-6, 1e-2}, {"T", K_POW2, 16, 128}, {"batch", K_POW2, 32, 256},
};

typedef struct {
    double lo[ND], hi[ND];
} space;

/* Parse "H=16:128,T=32,lr=1e-4:1e-2" over the defaults; dies 64 on a bad spec. */
static void space_parse(space *s, const char *spec) {
    for (int d = 0; d < ND; d++) s->lo[d] = dims0[d].lo, s->hi[d] = dims0[d].hi;
    if (!spec) return;
    int n;
    char **items = cli_split(spec, &n);
    for (int i = 0; i < n; i++) {
        char *eq = strchr(items[i], '=');
        if (!eq) cli_usage_error("--space: '%s' is not NAME=LO:HI", items[i]);
        *eq = 0;
        int d = 0;
        while (d < ND && strcmp(dims0[d].name, items[i])) d++;
        if (d == ND)
            cli_usage_error("--space: unknown parameter '%s' (H, layers, dropout, lr, weight_decay, T, batch)", items[i]);
        char *colon = strchr(eq + 1, ':');
        if (colon) *colon = 0;
        double lo, hi;
        if (parse_double(eq + 1, &lo) || (colon ? parse_double(colon + 1, &hi) : (hi = lo, 0)) || lo > hi ||
            lo < 0 || (dims0[d].kind != K_UNIF && lo <= 0))
            cli_usage_error("--space: bad range for %s", items[i]);
        s->lo[d] = lo, s->hi[d] = hi;
    }
    free(items);
}

static double halton(long i, int base) {
    double f = 1, r = 0;
    while (i > 0) {
        f /= base;
        r += f * (i % base);
        i /= base;
    }
    return r;
}

static double map_dim(const space *s, int d, double u) {
    double lo = s->lo[d], hi = s->hi[d];
    switch (dims0[d].kind) {
    case K_POW2: {
        int a = (int)ceil(log2(lo) - 1e-9), b = (int)floor(log2(hi) + 1e-9);
        if (b < a) return lo;
        return ldexp(1, a + (int)fmin(floor(u * (b - a + 1)), b - a));
    }
    case K_INT: return lo + fmin(floor(u * (hi - lo + 1)), hi - lo);
    case K_LOG: return exp(log(lo) + u * (log(hi) - log(lo)));
    default: return lo + u * (hi - lo);
    }
}

typedef struct {
    train_cfg c;
    double val;  /* best validation loss at the last rung it ran */
    int rung;    /* highest rung it ran */
    int alive;
} trial;

static void sample(trial *t, int n, const train_cfg *base, const space *s) {
    static const int primes[ND] = {2, 3, 5, 7, 11, 13, 17};
    rng_t r;
    rng_seed(&r, base->seed ^ 0x0b7a11ULL);
    double shift[ND];
    for (int d = 0; d < ND; d++) shift[d] = rng_uniform(&r);
    for (int i = 0; i < n; i++) {
        double v[ND];
        for (int d = 0; d < ND; d++) {
            double u = halton(i + 1, primes[d]) + shift[d];
            v[d] = map_dim(s, d, u - floor(u));
        }
        t[i].c = *base;
        t[i].c.H = (int)v[D_H];
        t[i].c.layers = (int)v[D_LAYERS];
        t[i].c.dropout = (float)v[D_DROPOUT];
        t[i].c.lr = (float)v[D_LR];
        t[i].c.weight_decay = (float)v[D_WD];
        t[i].c.T = (int)v[D_T];
        t[i].c.batch = (int)v[D_BATCH];
        t[i].c.seed = base->seed + (uint64_t)i;
        t[i].val = NAN;
        t[i].rung = -1;
        t[i].alive = 1;
    }
}

/* The child's work: train for `epochs` and report the best validation loss. */
static double run_trial(const train_cfg *c, int epochs, const fit_data *fd, const train_opts *o) {
    train_cfg ci = *c;
    ci.epochs = epochs;
    model *m = model_create(&ci, fd->F);
    fit_result fr;
    fit(m, &ci, fd, &fr, 1, NULL);
    double v = fr.best_val;
    fit_result_free(&fr);
    m->destroy(m);
    return v;
}

typedef struct {
    pid_t pid;
    int fd, idx;
} job;

/* Run trials idx[0..n) at `epochs`, up to jobs at a time; fill t[].val. */
static void run_rung(trial *t, const int *idx, int n, int epochs, int jobs, const fit_data *fd, const train_opts *o,
                     double t0) {
    job *run = xcalloc((size_t)jobs, sizeof *run);
    int nrun = 0, next = 0;
    while (next < n || nrun > 0) {
        while (nrun < jobs && next < n) {
            int i = idx[next++];
            if (o->time_budget > 0 && now_seconds() - t0 > o->time_budget) {
                t[i].val = NAN;
                t[i].alive = 0;
                continue;
            }
            int p[2];
            if (pipe(p)) die(EX_OSERR, "pipe:");
            fflush(stdout);
            fflush(stderr);
            pid_t pid = fork();
            if (pid < 0) die(EX_OSERR, "fork:");
            if (pid == 0) {
                close(p[0]);
                openblas_set_num_threads(1); /* one core per trial: the trials are the parallelism */
                double v = run_trial(&t[i].c, epochs, fd, o);
                char buf[64];
                int len = snprintf(buf, sizeof buf, "%.17g\n", v);
                ssize_t wr = write(p[1], buf, (size_t)len);
                _exit(wr == len ? 0 : 1); /* _exit: no atexit handlers of the parent run twice */
            }
            close(p[1]);
            run[nrun++] = (job){pid, p[0], i};
        }
        if (nrun == 0) break;
        int st;
        pid_t pid;
        while ((pid = waitpid(-1, &st, 0)) < 0 && errno == EINTR) {
        }
        if (pid < 0) die(EX_OSERR, "waitpid:");
        int k = 0;
        while (k < nrun && run[k].pid != pid) k++;
        if (k == nrun) continue;
        char buf[64] = {0};
        ssize_t got = read(run[k].fd, buf, sizeof buf - 1);
        close(run[k].fd);
        double v;
        buf[got > 0 ? got : 0] = 0;
        buf[strcspn(buf, "\n")] = 0;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || parse_double(buf, &v)) {
            if (WIFEXITED(st) && WEXITSTATUS(st) != 0) exit(WEXITSTATUS(st)); /* the child said why */
            die(EX_SOFTWARE, "--optimize: trial %d died (signal %d)", run[k].idx, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        }
        t[run[k].idx].val = v;
        run[k] = run[--nrun];
    }
    free(run);
}

static int cmp_val(const void *a, const void *b, void *arg) {
    const trial *t = arg;
    int i = *(const int *)a, j = *(const int *)b;
    double x = t[i].val, y = t[j].val;
    if (isnan(x) != isnan(y)) return isnan(x) ? 1 : -1;
    if (x < y) return -1;
    if (x > y) return 1;
    return (i > j) - (i < j);
}

void optimize(train_cfg *best, const train_cfg *base, const train_opts *o, const kml_dataset *d) {
    space sp;
    space_parse(&sp, o->space);
    int n = o->trials, jobs = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1) jobs = 1;
    trial *t = xcalloc((size_t)n, sizeof *t);
    sample(t, n, base, &sp);

    /* One split for every trial, made with the longest window, so all trials
     * are scored on the same validation rows. */
    int Tmax = (int)map_dim(&sp, D_T, 0.999999);
    kml_split s;
    if (split_make(&s, d->n, Tmax, base->f_train, base->f_val, base->purge))
        die(EX_DATAERR, "%s: %ld rows are too few for --optimize with windows up to %d bars", display_name(o->input),
            d->n, Tmax);
    kml_scaler sc;
    scaler_fit(&sc, d->x, d->F, 0, s.tr1);
    /* Scale and hand over rows [0, va1) only: the trials cannot see the test split. */
    float *xs = xmalloc((size_t)s.va1 * d->F * sizeof *xs);
    scaler_apply(&sc, d->x, 0, s.va1, xs);
    /* The samples: windows of the longest T that cross no break. */
    unsigned char *ok = xmalloc((size_t)d->n);
    dataset_windows(d, Tmax, base->max_gap, ok);
    long *tr = xmalloc((size_t)(s.tr1 - s.tr0) * sizeof *tr), *va = xmalloc((size_t)(s.va1 - s.va0) * sizeof *va);
    long ntr = rows_where(ok, s.tr0, s.tr1, tr), nva = rows_where(ok, s.va0, s.va1, va);
    free(ok);
    if (ntr == 0 || nva == 0)
        die(EX_DATAERR, "%s: --optimize: no window of %d bars in the training or validation split crosses no gap "
            "(--max-gap %d)", display_name(o->input), Tmax, base->max_gap);
    double prior[3];
    long cnt[3];
    class_prior_rows(d->y, tr, ntr, prior, cnt);
    fit_data fd = {.xs = xs, .y = d->y, .F = d->F, .tr = tr, .ntr = ntr, .va = va, .nva = nva};
    class_weights(cnt, fd.cw);

    /* Rungs: budgets epochs/3^R, ..., epochs/3, epochs. */
    int R = 0;
    while (R < 8 && pow(3, R + 1) <= n && base->epochs / (int)pow(3, R + 1) >= 1) R++;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_trials.csv", o->outdir, base->arch);
    mkdirs(o->outdir);
    atomic_file *af = atomic_open(path);
    csv_writer w;
    csvw_init(&w, af->f);
    static const char *const hdr[] = {"trial", "rung", "epochs", "H", "layers", "dropout", "lr", "weight_decay",
                                      "T", "batch", "val_loss"};
    for (size_t i = 0; i < sizeof hdr / sizeof *hdr; i++) csvw_str(&w, hdr[i]);
    csvw_end(&w);
    int *idx = xmalloc((size_t)n * sizeof *idx), nalive = n;
    for (int i = 0; i < n; i++) idx[i] = i;
    double t0 = now_seconds();
    for (int r = 0; r <= R && nalive > 0; r++) {
        int epochs = r == R ? base->epochs : base->epochs / (int)pow(3, R - r);
        run_rung(t, idx, nalive, epochs, jobs, &fd, o, t0);
        for (int k = 0; k < nalive; k++) {
            trial *q = &t[idx[k]];
            if (!q->alive) continue;
            q->rung = r;
            csvw_int(&w, idx[k]);
            csvw_int(&w, r);
            csvw_int(&w, epochs);
            csvw_int(&w, q->c.H);
            csvw_int(&w, q->c.layers);
            csvw_float(&w, q->c.dropout);
            csvw_float(&w, q->c.lr);
            csvw_float(&w, q->c.weight_decay);
            csvw_int(&w, q->c.T);
            csvw_int(&w, q->c.batch);
            csvw_double(&w, q->val);
            csvw_end(&w);
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "arch", base->arch);
            cJSON_AddNumberToObject(f, "trial", idx[k]);
            cJSON_AddNumberToObject(f, "rung", r);
            cJSON_AddNumberToObject(f, "epochs", epochs);
            json_add_num(f, "val_loss", q->val);
            log_event("ml_training", LOG_INFO, "optimize trial", f);
        }
        int m = 0;
        for (int k = 0; k < nalive; k++)
            if (t[idx[k]].alive) idx[m++] = idx[k];
        nalive = m;
        qsort_r(idx, (size_t)nalive, sizeof *idx, cmp_val, t);
        if (r < R) nalive = nalive < 3 ? (nalive > 0 ? 1 : 0) : (nalive + 2) / 3;
    }
    atomic_commit(af);
    /* The best: lowest validation loss among the trials of the highest rung reached. */
    int bi = -1;
    for (int i = 0; i < n; i++)
        if (t[i].rung >= 0 && isfinite(t[i].val) &&
            (bi < 0 || t[i].rung > t[bi].rung || (t[i].rung == t[bi].rung && t[i].val < t[bi].val)))
            bi = i;
    if (bi < 0) die(EX_SOFTWARE, "--optimize: no trial finished (--time-budget %g s too short?)", o->time_budget);
    *best = t[bi].c;
    best->seed = base->seed;
    best->epochs = base->epochs;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "arch", base->arch);
    cJSON_AddNumberToObject(b, "trial", bi);
    cJSON_AddNumberToObject(b, "rung", t[bi].rung);
    json_add_num(b, "val_loss", t[bi].val);
    cJSON_AddNumberToObject(b, "H", best->H);
    cJSON_AddNumberToObject(b, "layers", best->layers);
    json_add_num(b, "dropout", best->dropout);
    json_add_num(b, "lr", best->lr);
    json_add_num(b, "weight_decay", best->weight_decay);
    cJSON_AddNumberToObject(b, "T", best->T);
    cJSON_AddNumberToObject(b, "batch", best->batch);
    cJSON_AddNumberToObject(b, "trials", n);
    cJSON_AddNumberToObject(b, "rungs", R + 1);
    char bpath[4096];
    snprintf(bpath, sizeof bpath, "%s/%s_best.json", o->outdir, base->arch);
    char *txt = json_print(b, 1);
    size_t len = strlen(txt);
    txt = xrealloc(txt, len + 2);
    txt[len] = '\n', txt[len + 1] = 0;
    atomic_write(bpath, txt, len + 1);
    free(txt);
    log_event("ml_training", LOG_INFO, "optimize best", b);
    fprintf(stderr, "%s: --optimize: %d trials, %d rungs; wrote %s and %s\n", progname, n, R + 1, path, bpath);
    free(idx);
    free(t);
    free(tr);
    free(va);
    free(xs);
    scaler_free(&sc);
}
