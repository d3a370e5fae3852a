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

/* The search's state: its trials, the data every trial sees, the rungs. */
typedef struct {
    const train_cfg *base;
    const train_opts *o;
    int n, R;
    trial *t;
    float *xs;
    long *tr, *va;
    fit_data fd;
    kml_scaler sc;
    int *idx, nalive;
    int **slots;  /* (R + 1) the trials of each rung reached, best first after rung 0 */
    int *planned; /* (R + 1) how many trials each rung runs */
    char key[65], dirbuf[4096];
    const char *dir;
    char **missing; /* pieces missing in the first rung that is not complete */
    int nmiss;
} search;

static int rung_epochs(const search *x, int r) {
    return r == x->R ? x->base->epochs : x->base->epochs / (int)pow(3, x->R - r);
}

static void trial_piece(char *buf, size_t cap, const search *x, int r, int i) {
    snprintf(buf, cap, "%s/opt_%s_rung%d_trial%d.json", x->dir, x->base->arch, r, i);
}

static void search_init(search *x, const train_cfg *base, const train_opts *o, const kml_dataset *d) {
    memset(x, 0, sizeof *x);
    x->base = base, x->o = o;
    space sp;
    space_parse(&sp, o->space);
    x->n = o->trials;
    x->t = xcalloc((size_t)x->n, sizeof *x->t);
    sample(x->t, x->n, base, &sp);

    /* One split for every trial, made with the longest window, so all trials
     * are scored on the same validation rows. */
    int Tmax = (int)map_dim(&sp, D_T, 0.999999);
    kml_split s;
    if (split_make(&s, d->n, Tmax, base->f_train, base->f_val, base->purge))
        die(EX_DATAERR, "%s: %ld rows are too few for --optimize with windows up to %d bars", display_name(o->input),
            d->n, Tmax);
    scaler_fit(&x->sc, d->x, d->F, 0, s.tr1);
    /* Scale and hand over rows [0, va1) only: the trials cannot see the test split. */
    x->xs = xmalloc((size_t)s.va1 * d->F * sizeof *x->xs);
    scaler_apply(&x->sc, d->x, 0, s.va1, x->xs);
    /* The samples: windows of the longest T that cross no break. */
    unsigned char *ok = xmalloc((size_t)d->n);
    dataset_windows(d, Tmax, base->max_gap, ok);
    x->tr = xmalloc((size_t)(s.tr1 - s.tr0) * sizeof *x->tr), x->va = xmalloc((size_t)(s.va1 - s.va0) * sizeof *x->va);
    long ntr = rows_where(ok, s.tr0, s.tr1, x->tr), nva = rows_where(ok, s.va0, s.va1, x->va);
    free(ok);
    if (ntr == 0 || nva == 0)
        die(EX_DATAERR, "%s: --optimize: no window of %d bars in the training or validation split crosses no gap "
            "(--max-gap %d)", display_name(o->input), Tmax, base->max_gap);
    double prior[3];
    long cnt[3];
    class_prior_rows(d->y, x->tr, ntr, prior, cnt);
    x->fd = (fit_data){.xs = x->xs, .y = d->y, .F = d->F, .tr = x->tr, .ntr = ntr, .va = x->va, .nva = nva};
    class_weights(cnt, x->fd.cw);

    /* Rungs: budgets epochs/3^R, ..., epochs/3, epochs. */
    int R = 0;
    while (R < 8 && pow(3, R + 1) <= x->n && base->epochs / (int)pow(3, R + 1) >= 1) R++;
    x->R = R;
    x->idx = xmalloc((size_t)x->n * sizeof *x->idx);
    x->slots = xcalloc((size_t)R + 1, sizeof *x->slots);
    x->planned = xmalloc(((size_t)R + 1) * sizeof *x->planned);
    for (int r = 0; r <= R; r++) {
        int m = r == 0 ? x->n : x->planned[r - 1];
        x->planned[r] = r == 0 ? m : m < 3 ? (m > 0 ? 1 : 0) : (m + 2) / 3;
        x->slots[r] = xmalloc((size_t)x->n * sizeof **x->slots);
    }
    plan_key(base, o, "optimize", x->key);
    x->dir = pieces_dir(o, x->dirbuf, sizeof x->dirbuf);
}

static void search_free(search *x) {
    for (int r = 0; r <= x->R; r++) free(x->slots[r]);
    for (int i = 0; i < x->nmiss; i++) free(x->missing[i]);
    free(x->missing), free(x->slots), free(x->planned), free(x->idx), free(x->t), free(x->tr), free(x->va),
        free(x->xs);
    scaler_free(&x->sc);
}

/* Successive halving: rungs 0 .. stop - 1, each run here (from_pieces 0) or
 * read from its pieces (1); w non-NULL: the table's rows and the log. Returns
 * the rung it stopped at: stop, the first rung with a piece missing (named in
 * x->missing), or R + 1 when all ran; x->idx/nalive are then that rung's
 * trials. */
static int search_rungs(search *x, int from_pieces, int stop, csv_writer *w, double t0) {
    trial *t = x->t;
    for (int i = 0; i < x->n; i++) x->idx[i] = i, t[i].val = NAN, t[i].rung = -1, t[i].alive = 1;
    x->nalive = x->n;
    int *idx = x->idx;
    for (int r = 0; r <= x->R && x->nalive > 0; r++) {
        memcpy(x->slots[r], idx, (size_t)x->nalive * sizeof *idx);
        if (r == stop) return r;
        int epochs = rung_epochs(x, r);
        if (from_pieces) {
            for (int k = 0; k < x->nalive; k++) {
                char path[4096 + 64];
                trial_piece(path, sizeof path, x, r, idx[k]);
                cJSON *j = piece_load(path, x->key);
                const cJSON *v = j ? cJSON_GetObjectItemCaseSensitive(j, "val_loss") : NULL;
                if (j) {
                    t[idx[k]].val = cJSON_IsNumber(v) ? v->valuedouble : NAN;
                } else {
                    x->missing = xrealloc(x->missing, (size_t)(x->nmiss + 1) * sizeof *x->missing);
                    x->missing[x->nmiss++] = xstrdup(path);
                }
                cJSON_Delete(j);
            }
            if (x->nmiss) return r;
        } else {
            run_rung(t, idx, x->nalive, epochs, x->o->jobs > 0 ? x->o->jobs : 1, &x->fd, x->o, t0);
        }
        for (int k = 0; k < x->nalive; k++) {
            trial *q = &t[idx[k]];
            if (!q->alive) continue;
            q->rung = r;
            if (!w) continue;
            csvw_int(w, idx[k]);
            csvw_int(w, r);
            csvw_int(w, epochs);
            csvw_int(w, q->c.H);
            csvw_int(w, q->c.layers);
            csvw_float(w, q->c.dropout);
            csvw_float(w, q->c.lr);
            csvw_float(w, q->c.weight_decay);
            csvw_int(w, q->c.T);
            csvw_int(w, q->c.batch);
            csvw_double(w, q->val);
            csvw_end(w);
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "arch", x->base->arch);
            cJSON_AddNumberToObject(f, "trial", idx[k]);
            cJSON_AddNumberToObject(f, "rung", r);
            cJSON_AddNumberToObject(f, "epochs", epochs);
            json_add_num(f, "val_loss", q->val);
            log_event("ml_training", LOG_INFO, "optimize trial", f);
        }
        int m = 0;
        for (int k = 0; k < x->nalive; k++)
            if (t[idx[k]].alive) idx[m++] = idx[k];
        x->nalive = m;
        qsort_r(idx, (size_t)x->nalive, sizeof *idx, cmp_val, t);
        if (r < x->R) x->nalive = x->nalive < 3 ? (x->nalive > 0 ? 1 : 0) : (x->nalive + 2) / 3;
    }
    return x->R + 1;
}

static void add_trial_cfg(cJSON *j, const train_cfg *c) {
    cJSON_AddNumberToObject(j, "H", c->H);
    cJSON_AddNumberToObject(j, "layers", c->layers);
    json_add_num(j, "dropout", c->dropout);
    json_add_num(j, "lr", c->lr);
    json_add_num(j, "weight_decay", c->weight_decay);
    cJSON_AddNumberToObject(j, "T", c->T);
    cJSON_AddNumberToObject(j, "batch", c->batch);
    cJSON_AddNumberToObject(j, "seed", (double)c->seed);
}

/* --list-trials: every task of the plan, a line each: rung, slot, epochs, and
 * the trial once the rung before is complete (null until then). */
static void list_trials(search *x) {
    int rf = search_rungs(x, 1, x->R + 1, NULL, 0);
    for (int r = 0; r <= x->R; r++)
        for (int j = 0; j < x->planned[r]; j++) {
            cJSON *l = cJSON_CreateObject();
            cJSON_AddStringToObject(l, "arch", x->base->arch);
            cJSON_AddNumberToObject(l, "rung", r);
            cJSON_AddNumberToObject(l, "slot", j);
            cJSON_AddNumberToObject(l, "epochs", rung_epochs(x, r));
            int done = r < rf;
            if (r <= rf && r <= x->R) {
                int i = x->slots[r][j];
                cJSON_AddNumberToObject(l, "trial", i);
                add_trial_cfg(l, &x->t[i].c);
                if (r == rf) {
                    char path[4096 + 64];
                    trial_piece(path, sizeof path, x, r, i);
                    done = piece_done(path, x->key);
                }
            } else {
                cJSON_AddNullToObject(l, "trial");
            }
            cJSON_AddBoolToObject(l, "done", done);
            jsonl_write(stdout, l);
            cJSON_Delete(l);
        }
}

/* --trial K --rung R: the K-th trial of rung R (at a later rung than 0, the
 * K-th best of the rung before, whose pieces must all be there). */
static void one_trial(search *x) {
    const train_opts *o = x->o;
    int r = o->rung;
    if (r > x->R)
        cli_usage_error("--rung %d: this search has rungs 0 to %d (kml-train --list-trials lists them)", r, x->R);
    if (o->unit >= x->planned[r])
        cli_usage_error("--trial %d: rung %d runs %d trials (0 to %d)", o->unit, r, x->planned[r], x->planned[r] - 1);
    if (search_rungs(x, 1, r, NULL, 0) < r) {
        char what[96];
        snprintf(what, sizeof what, "--trial %d --rung %d: rung %d is not finished", o->unit, r, r - 1);
        pieces_missing_die(what, x->missing, x->nmiss);
    }
    int i = x->idx[o->unit], epochs = rung_epochs(x, r);
    char path[4096 + 64];
    trial_piece(path, sizeof path, x, r, i);
    cJSON *j = o->force ? NULL : piece_load(path, x->key);
    int kept = j != NULL;
    if (!j) {
        openblas_set_num_threads(1); /* as a trial of the one-process search runs */
        double v = run_trial(&x->t[i].c, epochs, &x->fd, o);
        j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "kind", "optimize trial");
        cJSON_AddStringToObject(j, "arch", x->base->arch);
        cJSON_AddNumberToObject(j, "rung", r);
        cJSON_AddNumberToObject(j, "trial", i);
        cJSON_AddNumberToObject(j, "epochs", epochs);
        json_add_num(j, "val_loss", v);
        mkdirs(x->dir);
        piece_write(path, j, x->key);
    }
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "arch", x->base->arch);
    cJSON_AddNumberToObject(s, "rung", r);
    cJSON_AddNumberToObject(s, "slot", o->unit);
    cJSON_AddNumberToObject(s, "trial", i);
    cJSON_AddNumberToObject(s, "epochs", epochs);
    cJSON_AddItemToObject(s, "val_loss", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(j, "val_loss"), 1));
    cJSON_AddStringToObject(s, "piece", path);
    cJSON_AddBoolToObject(s, "kept", kept);
    jsonl_write(stdout, s);
    cJSON_Delete(s);
    cJSON_Delete(j);
}

int optimize(train_cfg *best, const train_cfg *base, const train_opts *o, const kml_dataset *d) {
    search x;
    search_init(&x, base, o, d);
    if (o->list || o->unit >= 0) {
        if (o->list)
            list_trials(&x);
        else
            one_trial(&x);
        search_free(&x);
        return 0;
    }
    if (o->merge && search_rungs(&x, 1, x.R + 1, NULL, 0) <= x.R)
        pieces_missing_die("--optimize --merge", x.missing, x.nmiss);
    int n = x.n, R = x.R, jobs = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1) jobs = 1;
    train_opts oj = *o;
    oj.jobs = jobs;
    x.o = &oj;
    trial *t = x.t;
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
    search_rungs(&x, o->merge, R + 1, &w, now_seconds());
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
    search_free(&x);
    return 1;
}
