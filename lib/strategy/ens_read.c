/* ens_read.c: the ensemble's inputs: a labelled features CSV and walk-forward
 * predictions files, joined on time, turned into every selected strategy's
 * signal and after-fee return of every bar (see ensemble.h). Every malformed
 * input is a located die 65. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "csv.h"
#include "ensemble.h"
#include "strategy.h"
#include "util.h"

typedef struct {
    char arch[STRATEGY_NAME_MAX];
    int file;
    long n, cap;
    int64_t *time;
    double *p;   /* n x 3 */
    long *line;
} arch_preds;

typedef struct {
    int narch;
    arch_preds *a;
    const char *const *files;
} preds;

static arch_preds *arch_get(preds *P, const char *arch, int file, csv_reader *r, int col)
{
    for (int i = 0; i < P->narch; i++)
        if (!strcmp(P->a[i].arch, arch)) {
            if (P->a[i].file != file)
                csv_die(r, col, "arch '%s' is also in %s (one file per arch)", arch,
                        display_name(P->files[P->a[i].file]));
            return &P->a[i];
        }
    if (strlen(arch) + 6 >= STRATEGY_NAME_MAX) csv_die(r, col, "arch name '%s' is too long", arch);
    if (strchr(arch, ',') || strchr(arch, ':')) csv_die(r, col, "arch name '%s' has ',' or ':'", arch);
    P->a = xrealloc(P->a, (size_t)(P->narch + 1) * sizeof *P->a);
    arch_preds *a = &P->a[P->narch++];
    memset(a, 0, sizeof *a);
    snprintf(a->arch, sizeof a->arch, "%s", arch);
    a->file = file;
    return a;
}

static void preds_read(preds *P, const char *const *files, int nfiles)
{
    memset(P, 0, sizeof *P);
    P->files = files;
    for (int f = 0; f < nfiles; f++) {
        csv_reader *r = csv_open(files[f]);
        int ct = csv_col(r, "time"), ca = csv_col(r, "arch");
        int cp[3] = {csv_col(r, "p_down"), csv_col(r, "p_flat"), csv_col(r, "p_up")};
        long rows = 0;
        while (csv_next(r)) {
            int64_t t = csv_int(r, ct);
            const char *name = csv_field(r, ca);
            if (!*name) csv_die(r, ca, "empty arch name");
            arch_preds *a = arch_get(P, name, f, r, ca);
            double p[3], sum = 0;
            for (int j = 0; j < 3; j++) {
                p[j] = csv_double(r, cp[j]);
                char b[32];
                if (!(p[j] >= 0 && p[j] <= 1)) csv_die(r, cp[j], "probability %s outside [0, 1]", fmt_double(b, p[j]));
                sum += p[j];
            }
            char b[32];
            if (fabs(sum - 1) > 1e-6) csv_die(r, cp[2], "p_down + p_flat + p_up = %s, expected 1", fmt_double(b, sum));
            if (a->n && t <= a->time[a->n - 1])
                csv_die(r, ct, "time %lld is not after arch '%s''s previous %lld", (long long)t, a->arch,
                        (long long)a->time[a->n - 1]);
            if (a->n == a->cap) {
                a->cap = a->cap ? 2 * a->cap : 1024;
                a->time = xrealloc(a->time, (size_t)a->cap * sizeof *a->time);
                a->p = xrealloc(a->p, (size_t)a->cap * 3 * sizeof *a->p);
                a->line = xrealloc(a->line, (size_t)a->cap * sizeof *a->line);
            }
            a->time[a->n] = t;
            memcpy(a->p + 3 * a->n, p, sizeof p);
            a->line[a->n] = csv_line(r);
            a->n++;
            rows++;
        }
        if (!rows) die(EX_DATAERR, "%s: no predictions (only a header)", display_name(files[f]));
        csv_close(r);
    }
    /* Every arch must predict the same bars: a bar one model has and another
     * lacks would give the second a silent flat position there. */
    for (int i = 1; i < P->narch; i++) {
        const arch_preds *a = &P->a[0], *b = &P->a[i];
        long k = 0;
        while (k < a->n && k < b->n && a->time[k] == b->time[k]) k++;
        if (k == a->n && k == b->n) continue;
        const arch_preds *has, *lacks;
        if (k == a->n) has = b, lacks = a;
        else if (k == b->n) has = a, lacks = b;
        else if (a->time[k] < b->time[k]) has = a, lacks = b;
        else has = b, lacks = a;
        die(EX_DATAERR, "%s:%ld: time %lld has a prediction for arch '%s' but none for arch '%s'",
            display_name(files[has->file]), has->line[k], (long long)has->time[k], has->arch, lacks->arch);
    }
}

static void preds_free(preds *P)
{
    for (int i = 0; i < P->narch; i++) {
        free(P->a[i].time);
        free(P->a[i].p);
        free(P->a[i].line);
    }
    free(P->a);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void ens_read(ens_data *d, const char *labelled, const char *const *pred, int npred, const char *strategies,
              double fee, int max_gap)
{
    memset(d, 0, sizeof *d);
    preds P;
    preds_read(&P, pred, npred);
    if (P.narch > 64) die(EX_DATAERR, "more than 64 model archs in the predictions");
    csv_reader *r = csv_open(labelled);
    const char *lname = csv_path(r);
    int nc = csv_ncols(r);
    const char **hdr = xmalloc((size_t)nc * sizeof *hdr);
    for (int i = 0; i < nc; i++) hdr[i] = csv_colname(r, i);

    /* The selection. */
    char **sel;
    int S;
    if (strategies) {
        sel = cli_split(strategies, &S);
        if (S < 1) die(EX_USAGE, "--strategies: no strategy given");
    } else {
        S = strategy_ndefs + P.narch;
        sel = xmalloc((size_t)(S + 1) * sizeof *sel);
        for (int i = 0; i < strategy_ndefs; i++) sel[i] = (char *)strategy_defs[i].name;
        for (int i = 0; i < P.narch; i++) {
            size_t len = strlen(P.a[i].arch) + 7; /* arch_get keeps it below STRATEGY_NAME_MAX */
            char *nm = xmalloc(len);
            snprintf(nm, len, "model:%s", P.a[i].arch);
            sel[strategy_ndefs + i] = nm;
        }
    }
    if (S > 64) die(EX_DATAERR, "%d strategies selected; at most 64", S);
    strategy *st = xcalloc((size_t)S, sizeof *st);
    int *arch_of = xmalloc((size_t)S * sizeof *arch_of);
    int nmodels = 0;
    for (int s = 0; s < S; s++) {
        for (int j = 0; j < s; j++)
            if (!strcmp(sel[s], sel[j])) die(EX_USAGE, "--strategies: '%s' given twice", sel[s]);
        char missing[512];
        int rc = strategy_bind(&st[s], sel[s], hdr, nc, missing, sizeof missing);
        if (rc == STRATEGY_UNKNOWN) {
            char known[512];
            size_t u = 0;
            for (int i = 0; i < strategy_ndefs && u < sizeof known; i++)
                u += (size_t)snprintf(known + u, sizeof known - u, "%s%s", i ? ", " : "", strategy_defs[i].name);
            die(EX_DATAERR, "unknown strategy '%s' (rule strategies: %s; models: model:<arch>)", sel[s], known);
        }
        if (rc > 0)
            die(EX_DATAERR, "%s:1: strategy '%s' needs column%s %s, not in the header", lname, sel[s],
                rc > 1 ? "s" : "", missing);
        arch_of[s] = -1;
        if (st[s].arch) {
            for (int i = 0; i < P.narch; i++)
                if (!strcmp(P.a[i].arch, st[s].arch)) arch_of[s] = i;
            if (arch_of[s] < 0)
                die(EX_DATAERR, "strategy '%s': no predictions for arch '%s'%s", sel[s], st[s].arch,
                    npred ? " in the --predictions files" : " (give --predictions FILE)");
            nmodels++;
        }
    }

    /* Regimes: the p_<name> columns in header order, or the values seen. */
    int rcol = csv_col_opt(r, "regime");
    if (rcol < 0)
        die(EX_DATAERR, "%s:1: column 'regime': not in the header (append the regime columns with kml-regime label)",
            lname);
    int ctime = csv_col(r, "time"), cclose = csv_col(r, "close");
    int nreg = 0, capreg = 8, from_p = 0;
    char **reg = xmalloc((size_t)capreg * sizeof *reg);
    for (int i = 0; i < nc; i++)
        if (!strncmp(hdr[i], "p_", 2) && hdr[i][2]) {
            if (nreg == capreg) reg = xrealloc(reg, (size_t)(capreg *= 2) * sizeof *reg);
            reg[nreg++] = xstrdup(hdr[i] + 2);
            from_p = 1;
        }

    /* Columns any rule strategy reads. */
    unsigned char *need = xcalloc((size_t)nc, 1);
    for (int s = 0; s < S; s++)
        if (st[s].def)
            for (int i = 0; i < st[s].def->ncols; i++) need[st[s].col[i]] = 1;
    double *v = xmalloc((size_t)nc * sizeof *v);
    for (int i = 0; i < nc; i++) v[i] = NAN;

    long cap = 4096, n = 0;
    d->time = xmalloc((size_t)cap * sizeof *d->time);
    d->close = xmalloc((size_t)cap * sizeof *d->close);
    d->regime = xmalloc((size_t)cap * sizeof *d->regime);
    d->sig = xmalloc((size_t)cap * S * sizeof *d->sig);
    unsigned char *has = xmalloc((size_t)cap);
    d->brk = xmalloc((size_t)cap);
    int64_t interval = 0;
    const arch_preds *a0 = P.narch ? &P.a[0] : NULL;
    long cur = 0;
    int64_t prev = INT64_MIN;
    while (csv_next(r)) {
        if (n == cap) {
            cap *= 2;
            d->time = xrealloc(d->time, (size_t)cap * sizeof *d->time);
            d->close = xrealloc(d->close, (size_t)cap * sizeof *d->close);
            d->regime = xrealloc(d->regime, (size_t)cap * sizeof *d->regime);
            d->sig = xrealloc(d->sig, (size_t)cap * S * sizeof *d->sig);
            has = xrealloc(has, (size_t)cap);
            d->brk = xrealloc(d->brk, (size_t)cap);
        }
        int64_t t = csv_time_increasing(r, ctime, &prev);
        /* A break (kml-predict's rule): the strategies restart, as the features did. */
        unsigned char isbrk = 0;
        if (n > 0) {
            int64_t dt = t - d->time[n - 1];
            if (interval == 0 || dt < interval) interval = dt;
            isbrk = dt > (int64_t)(max_gap + 1) * interval;
        }
        if (isbrk)
            for (int s = 0; s < S; s++) strategy_reset(&st[s]);
        double c = csv_double(r, cclose);
        char b[32];
        if (!(c > 0)) csv_die(r, cclose, "price %s is not positive", fmt_double(b, c));
        const char *rv = csv_field(r, rcol);
        if (!*rv) csv_die(r, rcol, "empty regime");
        int ri = -1;
        for (int i = 0; i < nreg; i++)
            if (!strcmp(reg[i], rv)) ri = i;
        if (ri < 0) {
            if (from_p) csv_die(r, rcol, "regime '%s' has no p_%s column", rv, rv);
            if (nreg == capreg) reg = xrealloc(reg, (size_t)(capreg *= 2) * sizeof *reg);
            reg[nreg] = xstrdup(rv);
            ri = nreg++;
        }
        for (int i = 0; i < nc; i++)
            if (need[i]) v[i] = csv_double(r, i);
        /* The models' prediction for this bar, if any. */
        const double *pp[64] = {0};
        int hp = 0;
        if (a0) {
            while (cur < a0->n && a0->time[cur] < t) {
                if (n > 0)
                    die(EX_DATAERR, "%s:%ld: time %lld is not a bar of %s", display_name(pred[a0->file]),
                        a0->line[cur], (long long)a0->time[cur], lname);
                cur++;
            }
            if (cur < a0->n && a0->time[cur] == t) {
                hp = 1;
                for (int i = 0; i < P.narch; i++) pp[i] = P.a[i].p + 3 * cur;
                cur++;
            }
        }
        static const double flat[3] = {0, 1, 0};
        for (int s = 0; s < S; s++)
            d->sig[n * S + s] = strategy_step(&st[s], v, st[s].arch ? (hp ? pp[arch_of[s]] : flat) : NULL);
        d->time[n] = t;
        d->close[n] = c;
        d->regime[n] = ri;
        has[n] = (unsigned char)hp;
        d->brk[n] = isbrk;
        n++;
    }
    if (n == 0) die(EX_DATAERR, "%s: no rows (only a header)", lname);
    if (!from_p) {
        /* Names sorted, so the order does not depend on which came first. */
        char **sorted = xmalloc((size_t)nreg * sizeof *sorted);
        memcpy(sorted, reg, (size_t)nreg * sizeof *reg);
        qsort(sorted, (size_t)nreg, sizeof *sorted, cmp_str);
        int *map = xmalloc((size_t)nreg * sizeof *map);
        for (int i = 0; i < nreg; i++)
            for (int j = 0; j < nreg; j++)
                if (sorted[j] == reg[i]) map[i] = j;
        for (long t = 0; t < n; t++) d->regime[t] = map[d->regime[t]];
        free(reg);
        reg = sorted;
        free(map);
    }

    /* With models, keep the bars from the first to the last predicted one. */
    long lo = 0, hi = n;
    if (nmodels) {
        while (lo < n && !has[lo]) lo++;
        if (lo == n) die(EX_DATAERR, "no prediction time matches a bar of %s", lname);
        while (!has[hi - 1]) hi--;
    }
    d->dropped_head = lo;
    d->dropped_tail = n - hi;
    d->n = hi - lo;
    memmove(d->time, d->time + lo, (size_t)d->n * sizeof *d->time);
    memmove(d->close, d->close + lo, (size_t)d->n * sizeof *d->close);
    memmove(d->regime, d->regime + lo, (size_t)d->n * sizeof *d->regime);
    memmove(d->sig, d->sig + lo * S, (size_t)d->n * S * sizeof *d->sig);
    memmove(d->brk, d->brk + lo, (size_t)d->n);
    d->brk[0] = 0;
    for (long t = 1; t < d->n; t++) d->breaks += d->brk[t];
    if (d->n < 3) die(EX_DATAERR, "%s: %ld bar%s, too few to fit (need at least 3)", lname, d->n, d->n == 1 ? "" : "s");

    d->nreg = nreg;
    d->regimes = reg;
    d->S = S;
    d->names = xmalloc((size_t)S * sizeof *d->names);
    for (int s = 0; s < S; s++) d->names[s] = xstrdup(st[s].name);
    d->input = xstrdup(lname);
    d->npred = npred;
    d->pred_files = xmalloc((size_t)(npred + 1) * sizeof *d->pred_files);
    for (int i = 0; i < npred; i++) d->pred_files[i] = xstrdup(display_name(pred[i]));
    ens_compute_returns(d, fee);

    if (!strategies)
        for (int i = 0; i < P.narch; i++) free(sel[strategy_ndefs + i]);
    free(sel);
    free(st);
    free(arch_of);
    free(need);
    free(v);
    free(has);
    free(hdr);
    csv_close(r);
    preds_free(&P);
}

void ens_compute_returns(ens_data *d, double fee)
{
    long n = d->n;
    int S = d->S;
    d->fee = fee;
    free(d->ret);
    free(d->turn);
    free(d->logret);
    d->ret = xmalloc((size_t)n * S * sizeof *d->ret);
    d->turn = xmalloc((size_t)n * S * sizeof *d->turn);
    d->logret = xmalloc((size_t)n * sizeof *d->logret);
    for (long t = 0; t < n; t++) {
        double r = t + 1 < n ? log(d->close[t + 1] / d->close[t]) : NAN;
        d->logret[t] = r;
        for (int s = 0; s < S; s++) {
            double cur = d->sig[t * S + s], prev = t ? d->sig[(t - 1) * S + s] : 0;
            d->turn[t * S + s] = fabs(cur - prev);
            d->ret[t * S + s] = t + 1 < n ? strategy_bar_return(cur, prev, r, fee) : NAN;
        }
    }
}

void ens_data_free(ens_data *d)
{
    free(d->time);
    free(d->close);
    free(d->regime);
    for (int i = 0; i < d->nreg; i++) free(d->regimes[i]);
    free(d->regimes);
    for (int s = 0; s < d->S; s++) free(d->names[s]);
    free(d->names);
    free(d->sig);
    free(d->ret);
    free(d->turn);
    free(d->logret);
    free(d->brk);
    free(d->input);
    for (int i = 0; i < d->npred; i++) free(d->pred_files[i]);
    free(d->pred_files);
    memset(d, 0, sizeof *d);
}
