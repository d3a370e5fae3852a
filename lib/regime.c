/* regime.c: regime models over a features CSV (see regime.h).
 * Dimensions: T rows, D columns, K states. */
#include "regime.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "jsonl.h"
#include "util.h"

const char *const regime_rule_names[RULE_NSTATES] = {"trending_up", "trending_down", "ranging", "volatile"};

void regime_fit_defaults(regime_fit_opts *o)
{
    memset(o, 0, sizeof *o);
    o->K = 4;
    o->restarts = 10;
    o->max_iter = 200;
    o->threads = 1;
    o->tol = 1e-4;
    o->var_floor = 1e-3;
    o->seed = 1;
}

long regime_min_rows(int K, int D, int full)
{
    return 5L * hmm_nparams(K, D, full);
}

/* Index of the named column, or a located error (line 1, the header) that
 * lists the columns there are. */
static int header_col(csv_reader *r, const char *name)
{
    int i = csv_col_opt(r, name);
    if (i >= 0) return i;
    size_t cap = 1;
    for (int k = 0; k < csv_ncols(r); k++) cap += strlen(csv_colname(r, k)) + 1;
    char *list = xmalloc(cap), *p = list;
    *p = 0;
    for (int k = 0; k < csv_ncols(r); k++) p += sprintf(p, "%s%s", k ? "," : "", csv_colname(r, k));
    die(EX_DATAERR, "%s:1: column '%s': not in the header (columns: %s)", csv_path(r), name, list);
}

double *regime_read_columns(csv_reader *r, char *const *cols, int D, long *T, long *last_line)
{
    int *ci = xmalloc((size_t)D * sizeof(int));
    for (int d = 0; d < D; d++) ci[d] = header_col(r, cols[d]);
    size_t cap = 1024;
    long n = 0, first_line = 1;
    double *x = xmalloc(cap * D * sizeof(double));
    *last_line = 1;
    while (csv_next(r)) {
        if ((size_t)n == cap) {
            cap *= 2;
            x = xrealloc(x, cap * D * sizeof(double));
        }
        for (int d = 0; d < D; d++) x[(size_t)n * D + d] = csv_double(r, ci[d]);
        if (n == 0) first_line = csv_line(r);
        *last_line = csv_line(r);
        n++;
    }
    for (int d = 0; d < D && n > 0; d++) {
        long t = 1;
        while (t < n && x[(size_t)t * D + d] == x[d]) t++;
        if (t == n) {
            char buf[32];
            die(EX_DATAERR, "%s:%ld: column '%s': constant (%s on all %ld rows); a regime model needs it to vary",
                csv_path(r), first_line, cols[d], fmt_double(buf, x[d]), n);
        }
    }
    free(ci);
    *T = n;
    return x;
}

/* Fit K states on the standardised data z; returns the model in input units
 * and its log-likelihood/BIC in input units. */
static hmm_t *fit_k(const double *z, long T, int D, int K, const regime_fit_opts *o, const double *mean,
                    const double *sd, double *ll, double *bic, hmm_fit_info *info)
{
    hmm_fit_opts ho;
    hmm_fit_defaults(&ho);
    ho.K = K;
    ho.full = o->full;
    ho.restarts = o->restarts;
    ho.max_iter = o->max_iter;
    ho.tol = o->tol;
    ho.var_floor = o->var_floor;
    ho.seed = o->seed;
    ho.threads = o->threads;
    hmm_t *m = hmm_fit(z, T, D, &ho, info);
    if (!m) die(EX_SOFTWARE, "every one of the %d starts of the %d-state fit diverged", o->restarts, K);
    /* back to input units: x = mean + sd * z */
    double logsd = 0;
    for (int d = 0; d < D; d++) logsd += log(sd[d]);
    for (int k = 0; k < K; k++) {
        for (int i = 0; i < D; i++) {
            m->mean[(size_t)k * D + i] = mean[i] + sd[i] * m->mean[(size_t)k * D + i];
            if (m->full)
                for (int j = 0; j < D; j++) m->cov[(size_t)k * D * D + i * D + j] *= sd[i] * sd[j];
            else
                m->var[(size_t)k * D + i] *= sd[i] * sd[i];
        }
    }
    ASSERT(hmm_prepare(m) == 0);
    /* the density of x is that of z divided by the Jacobian prod(sd) */
    *ll = info->loglik - (double)T * logsd;
    *bic = -2 * *ll + hmm_nparams(K, D, o->full) * log((double)T);
    return m;
}

regime_model *regime_fit(const double *x, long T, int D, char *const *cols, const regime_fit_opts *o,
                         const char *path, long last_line)
{
    int kmin = o->K ? o->K : 2, kmax = o->K ? o->K : REGIME_MAX_K;
    ASSERT(kmin >= 1 && kmax <= REGIME_MAX_K);
    long need = regime_min_rows(kmin, D, o->full);
    if (T < need)
        die(EX_DATAERR, "%s:%ld: %ld rows are too few for %d states over %d columns (need at least %ld)",
            display_name(path), last_line, T, kmin, D, need);
    double *mean = xcalloc((size_t)D, sizeof(double)), *sd = xcalloc((size_t)D, sizeof(double));
    for (long t = 0; t < T; t++)
        for (int d = 0; d < D; d++) mean[d] += x[(size_t)t * D + d];
    for (int d = 0; d < D; d++) mean[d] /= (double)T;
    for (long t = 0; t < T; t++)
        for (int d = 0; d < D; d++) {
            double v = x[(size_t)t * D + d] - mean[d];
            sd[d] += v * v;
        }
    for (int d = 0; d < D; d++) {
        sd[d] = sqrt(sd[d] / (double)T);
        if (!(sd[d] > 0))
            die(EX_DATAERR, "%s:%ld: column '%s': constant on all %ld rows; a regime model needs it to vary",
                display_name(path), last_line, cols[d], T);
    }
    double *z = xmalloc((size_t)T * D * sizeof(double));
    for (long t = 0; t < T; t++)
        for (int d = 0; d < D; d++) z[(size_t)t * D + d] = (x[(size_t)t * D + d] - mean[d]) / sd[d];

    regime_model *rm = xcalloc(1, sizeof *rm);
    for (int k = 0; k <= REGIME_MAX_K; k++) rm->bic_by_k[k] = NAN;
    hmm_t *best = NULL;
    hmm_fit_info best_info = {0};
    double best_ll = 0, best_bic = INFINITY;
    for (int K = kmin; K <= kmax; K++) {
        if (T < regime_min_rows(K, D, o->full)) break;
        double ll, bic;
        hmm_fit_info info;
        hmm_t *m = fit_k(z, T, D, K, o, mean, sd, &ll, &bic, &info);
        rm->bic_by_k[K] = bic;
        if (bic < best_bic) {
            hmm_free(best);
            best = m;
            best_ll = ll;
            best_bic = bic;
            best_info = info;
        } else {
            hmm_free(m);
        }
    }
    free(z);
    rm->hmm = best;
    rm->K = best->K;
    rm->D = D;
    rm->columns = xcalloc((size_t)D, sizeof(char *));
    for (int d = 0; d < D; d++) rm->columns[d] = xstrdup(cols[d]);
    rm->scaler_mean = mean;
    rm->scaler_std = sd;
    rm->loglik = best_ll;
    rm->bic = best_bic;
    rm->nparams = hmm_nparams(rm->K, D, o->full);
    rm->rows = T;
    rm->iterations = best_info.iterations;
    rm->converged = best_info.converged;
    rm->restarts = o->restarts;
    rm->max_iter = o->max_iter;
    rm->tol = o->tol;
    rm->var_floor = o->var_floor;
    rm->seed = o->seed;
    rm->auto_states = o->K == 0;
    regime_order_and_name(rm);
    return rm;
}

void regime_model_free(regime_model *rm)
{
    if (!rm) return;
    hmm_free(rm->hmm);
    for (int d = 0; d < rm->D; d++) free(rm->columns ? rm->columns[d] : NULL);
    for (int k = 0; k < rm->K; k++) free(rm->names ? rm->names[k] : NULL);
    free(rm->columns);
    free(rm->names);
    free(rm->scaler_mean);
    free(rm->scaler_std);
    free(rm);
}

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static double state_var(const hmm_t *m, int k, int d)
{
    return m->full ? m->cov[(size_t)k * m->D * m->D + d * m->D + d] : m->var[(size_t)k * m->D + d];
}

/* sort helpers: indices by a key, ties by index (deterministic) */
static const double *sort_key;
static int cmp_key(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    if (sort_key[i] < sort_key[j]) return -1;
    if (sort_key[i] > sort_key[j]) return 1;
    return i - j;
}
static void argsort(const double *key, int *idx, int n)
{
    for (int i = 0; i < n; i++) idx[i] = i;
    sort_key = key;
    qsort(idx, (size_t)n, sizeof(int), cmp_key);
}

void regime_order_and_name(regime_model *rm)
{
    hmm_t *m = rm->hmm;
    int K = m->K, D = m->D;
    rm->ret_col = 0;
    rm->vol_col = -1;
    for (int d = D - 1; d >= 0; d--)
        if (has_prefix(rm->columns[d], "ret") || has_prefix(rm->columns[d], "log_ret")) rm->ret_col = d;
    /* a volatility column, or the log of one (log_park_4, as the tests compute it) */
    static const char *const volp[] = {"rv_", "natr", "atr", "park", "gk_"};
    for (int d = D - 1; d >= 0; d--) {
        const char *c = rm->columns[d];
        if (has_prefix(c, "log_")) c += 4;
        for (size_t p = 0; p < sizeof volp / sizeof *volp; p++)
            if (has_prefix(c, volp[p])) rm->vol_col = d;
    }
    double mu[REGIME_MAX_K + 8] = {0}, vol[REGIME_MAX_K + 8] = {0};
    ASSERT(K <= REGIME_MAX_K + 8);
    for (int k = 0; k < K; k++) {
        mu[k] = m->mean[(size_t)k * D + rm->ret_col];
        vol[k] = rm->vol_col >= 0 ? m->mean[(size_t)k * D + rm->vol_col] : sqrt(state_var(m, k, rm->ret_col));
    }
    int perm[REGIME_MAX_K + 8];
    argsort(vol, perm, K);
    hmm_permute(m, perm);
    double mu2[REGIME_MAX_K + 8], vol2[REGIME_MAX_K + 8];
    for (int k = 0; k < K; k++) {
        mu2[k] = mu[perm[k]];
        vol2[k] = vol[perm[k]];
    }
    const char *nm[REGIME_MAX_K + 8];
    int nvol = K >= 5 ? 2 : (K >= 2 ? 1 : 0);
    if (nvol == 1) nm[K - 1] = "volatile";
    if (nvol == 2) {
        int up = mu2[K - 1] > mu2[K - 2] ? K - 1 : K - 2;
        nm[up] = "volatile_up";
        nm[up == K - 1 ? K - 2 : K - 1] = "volatile_down";
    }
    int rest = K - nvol; /* states 0..rest-1, the calmer ones */
    if (rest == 1) {
        nm[0] = "ranging";
    } else if (rest == 2) {
        /* the one whose mean return is larger against its volatility trends */
        double s0 = fabs(mu2[0]) / vol2[0], s1 = fabs(mu2[1]) / vol2[1];
        int tr = s1 > s0 ? 1 : 0;
        nm[tr] = mu2[tr] >= 0 ? "trending_up" : "trending_down";
        nm[1 - tr] = "ranging";
    } else if (rest >= 3) {
        ASSERT(rest == 3); /* K <= REGIME_MAX_K */
        int byret[REGIME_MAX_K + 8];
        argsort(mu2, byret, rest);
        for (int i = 0; i < rest; i++) nm[byret[i]] = "ranging";
        nm[byret[0]] = "trending_down";
        nm[byret[rest - 1]] = "trending_up";
    }
    if (rm->names)
        for (int k = 0; k < K; k++) free(rm->names[k]);
    free(rm->names);
    rm->names = xcalloc((size_t)K, sizeof(char *));
    for (int k = 0; k < K; k++) rm->names[k] = xstrdup(nm[k]);
}

/* ---- regime.json ---- */

/* Why raw text: cJSON prints numbers with "%1.15g" when that reads back
 * within a relative DBL_EPSILON, which is not bit for bit; fmt_double's text
 * reads back exactly, so a loaded model labels exactly as the fitted one.
 * The values are finite (the fit and regime_load guarantee it). */
static cJSON *num_array(const double *a, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        char buf[32];
        ASSERT(isfinite(a[i]));
        cJSON_AddItemToArray(arr, cJSON_CreateRaw(fmt_double(buf, a[i])));
    }
    return arr;
}

static cJSON *num_matrix(const double *a, int rows, int cols)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < rows; i++) cJSON_AddItemToArray(arr, num_array(a + (size_t)i * cols, cols));
    return arr;
}

static cJSON *str_array(char *const *s, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(s[i]));
    return arr;
}

void regime_save(const regime_model *rm, const char *path)
{
    const hmm_t *m = rm->hmm;
    int K = rm->K, D = rm->D;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", "kml-regime-hmm");
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddNumberToObject(o, "states", K);
    cJSON_AddItemToObject(o, "columns", str_array(rm->columns, D));
    cJSON_AddItemToObject(o, "names", str_array(rm->names, K));
    cJSON_AddStringToObject(o, "covariance_type", m->full ? "full" : "diag");
    cJSON_AddItemToObject(o, "start_prob", num_array(m->start, K));
    cJSON_AddItemToObject(o, "trans_prob", num_matrix(m->trans, K, K));
    cJSON_AddItemToObject(o, "means", num_matrix(m->mean, K, D));
    if (m->full) {
        cJSON *c = cJSON_CreateArray();
        for (int k = 0; k < K; k++) cJSON_AddItemToArray(c, num_matrix(m->cov + (size_t)k * D * D, D, D));
        cJSON_AddItemToObject(o, "covariances", c);
    } else {
        cJSON_AddItemToObject(o, "variances", num_matrix(m->var, K, D));
    }
    json_add_num(o, "log_likelihood", rm->loglik);
    json_add_num(o, "bic", rm->bic);
    cJSON_AddNumberToObject(o, "n_params", rm->nparams);
    cJSON_AddNumberToObject(o, "rows", (double)rm->rows);
    cJSON_AddNumberToObject(o, "iterations", rm->iterations);
    cJSON_AddBoolToObject(o, "converged", rm->converged);
    cJSON *sc = cJSON_CreateObject();
    cJSON_AddItemToObject(sc, "mean", num_array(rm->scaler_mean, D));
    cJSON_AddItemToObject(sc, "std", num_array(rm->scaler_std, D));
    cJSON_AddItemToObject(o, "scaler", sc);
    cJSON *nr = cJSON_CreateObject();
    cJSON_AddStringToObject(nr, "return_column", rm->columns[rm->ret_col]);
    if (rm->vol_col >= 0) cJSON_AddStringToObject(nr, "volatility_column", rm->columns[rm->vol_col]);
    else cJSON_AddNullToObject(nr, "volatility_column");
    cJSON_AddItemToObject(o, "naming", nr);
    cJSON *fit = cJSON_CreateObject();
    cJSON_AddNumberToObject(fit, "restarts", rm->restarts);
    cJSON_AddNumberToObject(fit, "max_iter", rm->max_iter);
    json_add_num(fit, "tol", rm->tol);
    json_add_num(fit, "var_floor", rm->var_floor);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)rm->seed);
    cJSON_AddStringToObject(fit, "seed", seed);
    cJSON_AddBoolToObject(fit, "auto_states", rm->auto_states);
    if (rm->auto_states) {
        cJSON *b = cJSON_CreateObject();
        for (int k = 2; k <= REGIME_MAX_K; k++) {
            char key[16];
            snprintf(key, sizeof key, "%d", k);
            if (!isnan(rm->bic_by_k[k])) json_add_num(b, key, rm->bic_by_k[k]);
        }
        cJSON_AddItemToObject(fit, "bic_by_states", b);
    }
    cJSON_AddItemToObject(o, "fit", fit);
    char *text = json_print(o, 1);
    ASSERT(text);
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    text[n] = '\n';
    text[n + 1] = 0;
    atomic_write(path, text, n + 1);
    free(text);
    cJSON_Delete(o);
}

KML_NORETURN static void bad_key(const char *path, const char *key, const char *what)
{
    die(EX_DATAERR, "%s: key '%s': %s", path, key, what);
}

static const cJSON *need(const char *path, const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) bad_key(path, key, "missing");
    return v;
}

/* Read a JSON array of n finite numbers into out. */
static void read_nums(const char *path, const char *key, const cJSON *a, int n, double *out)
{
    char what[96];
    snprintf(what, sizeof what, "expected an array of %d numbers", n);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) bad_key(path, key, what);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble)) bad_key(path, key, what);
        out[i++] = e->valuedouble;
    }
}

static void read_matrix(const char *path, const char *key, const cJSON *a, int rows, int cols, double *out)
{
    char what[96];
    snprintf(what, sizeof what, "expected %d rows of %d numbers", rows, cols);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != rows) bad_key(path, key, what);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        read_nums(path, key, e, cols, out + (size_t)i * cols);
        i++;
    }
}

static char **read_strs(const char *path, const char *key, const cJSON *a, int n)
{
    char what[96];
    snprintf(what, sizeof what, "expected an array of %d strings", n);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) bad_key(path, key, what);
    char **s = xcalloc((size_t)n, sizeof(char *));
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        if (!cJSON_IsString(e) || !e->valuestring[0]) bad_key(path, key, what);
        s[i++] = xstrdup(e->valuestring);
    }
    return s;
}

regime_model *regime_load(const char *path)
{
    cJSON *o = json_load_file(path);
    if (!cJSON_IsObject(o)) die(EX_DATAERR, "%s: not a JSON object", path);
    const cJSON *fmt = need(path, o, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "kml-regime-hmm"))
        bad_key(path, "format", "expected \"kml-regime-hmm\" (is this a regime.json from kml-regime fit?)");
    const cJSON *st = need(path, o, "states");
    if (!cJSON_IsNumber(st) || st->valuedouble != (int)st->valuedouble || st->valueint < 1 ||
        st->valueint > 64)
        bad_key(path, "states", "expected an integer from 1 to 64");
    int K = st->valueint;
    const cJSON *cols = need(path, o, "columns");
    if (!cJSON_IsArray(cols) || cJSON_GetArraySize(cols) < 1 || cJSON_GetArraySize(cols) > 64)
        bad_key(path, "columns", "expected an array of 1 to 64 column names");
    int D = cJSON_GetArraySize(cols);
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(o, "covariance_type");
    int full = cJSON_GetObjectItemCaseSensitive(o, "covariances") != NULL;
    if (ct && (!cJSON_IsString(ct) || (strcmp(ct->valuestring, "full") && strcmp(ct->valuestring, "diag"))))
        bad_key(path, "covariance_type", "expected \"diag\" or \"full\"");
    if (ct && full != !strcmp(ct->valuestring, "full"))
        bad_key(path, "covariance_type", "does not match the presence of 'covariances'/'variances'");
    regime_model *rm = xcalloc(1, sizeof *rm);
    rm->K = K;
    rm->D = D;
    rm->columns = read_strs(path, "columns", cols, D);
    rm->names = read_strs(path, "names", need(path, o, "names"), K);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(rm->names[i], rm->names[j])) bad_key(path, "names", "a state name appears twice");
    hmm_t *m = rm->hmm = hmm_new(K, D, full);
    read_nums(path, "start_prob", need(path, o, "start_prob"), K, m->start);
    read_matrix(path, "trans_prob", need(path, o, "trans_prob"), K, K, m->trans);
    read_matrix(path, "means", need(path, o, "means"), K, D, m->mean);
    if (full) {
        const cJSON *c = need(path, o, "covariances");
        char what[96];
        snprintf(what, sizeof what, "expected %d matrices of %d x %d numbers", K, D, D);
        if (!cJSON_IsArray(c) || cJSON_GetArraySize(c) != K) bad_key(path, "covariances", what);
        int k = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, c)
        {
            read_matrix(path, "covariances", e, D, D, m->cov + (size_t)k * D * D);
            k++;
        }
    } else {
        read_matrix(path, "variances", need(path, o, "variances"), K, D, m->var);
    }
    /* probabilities must be probabilities */
    for (int i = 0; i <= K; i++) {
        const double *p = i < K ? m->trans + (size_t)i * K : m->start;
        double s = 0;
        for (int j = 0; j < K; j++) {
            if (p[j] < 0 || p[j] > 1) bad_key(path, i < K ? "trans_prob" : "start_prob", "a probability outside [0, 1]");
            s += p[j];
        }
        if (fabs(s - 1) > 1e-6) bad_key(path, i < K ? "trans_prob" : "start_prob", "a row does not sum to 1");
    }
    int rc = hmm_prepare(m);
    if (rc) {
        char what[96];
        snprintf(what, sizeof what, "state %d is not positive definite", -1 - rc);
        bad_key(path, full ? "covariances" : "variances", what);
    }
    rm->scaler_mean = xcalloc((size_t)D, sizeof(double));
    rm->scaler_std = xcalloc((size_t)D, sizeof(double));
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(o, "scaler");
    if (sc) {
        read_nums(path, "scaler.mean", need(path, sc, "mean"), D, rm->scaler_mean);
        read_nums(path, "scaler.std", need(path, sc, "std"), D, rm->scaler_std);
    }
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "log_likelihood")) && cJSON_IsNumber(v)) rm->loglik = v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "bic")) && cJSON_IsNumber(v)) rm->bic = v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "rows")) && cJSON_IsNumber(v)) rm->rows = (long)v->valuedouble;
    rm->ret_col = 0;
    rm->vol_col = -1;
    for (int k = 0; k <= REGIME_MAX_K; k++) rm->bic_by_k[k] = NAN;
    cJSON_Delete(o);
    return rm;
}

/* ---- labelling ---- */

static void check_new_columns(csv_reader *r, char *const *names, int K, const char *prefix_name)
{
    if (csv_col_opt(r, "regime") >= 0)
        die(EX_DATAERR, "%s:1: column 'regime': already present (is the input labelled already?)", csv_path(r));
    for (int k = 0; k < K; k++) {
        char col[REGIME_NAME_MAX * 4];
        snprintf(col, sizeof col, "%s%s", prefix_name, names[k]);
        if (csv_col_opt(r, col) >= 0)
            die(EX_DATAERR, "%s:1: column '%s': already present (is the input labelled already?)", csv_path(r), col);
    }
}

static void write_header(csv_writer *w, csv_reader *r, char *const *names, int K)
{
    csvw_row_of(w, r, 1);
    csvw_str(w, "regime");
    for (int k = 0; k < K; k++) {
        char col[REGIME_NAME_MAX * 4];
        snprintf(col, sizeof col, "p_%s", names[k]);
        csvw_str(w, col);
    }
    csvw_end(w);
}

void regime_label_hmm(const regime_model *rm, csv_reader *r, FILE *out, int viterbi)
{
    int K = rm->K, D = rm->D;
    int *ci = xmalloc((size_t)D * sizeof(int));
    for (int d = 0; d < D; d++) ci[d] = header_col(r, rm->columns[d]);
    check_new_columns(r, rm->names, K, "p_");
    csv_writer w;
    csvw_init(&w, out);
    write_header(&w, r, rm->names, K);
    double *xr = xmalloc((size_t)D * sizeof(double)), *p = xmalloc((size_t)K * sizeof(double));
    if (!viterbi) {
        /* causal: each row is written from that row and the filter's state only */
        hmm_filter f;
        hmm_filter_init(&f, rm->hmm);
        while (csv_next(r)) {
            for (int d = 0; d < D; d++) xr[d] = csv_double(r, ci[d]);
            int s = hmm_filter_step(&f, xr, p);
            csvw_row_of(&w, r, 0);
            csvw_str(&w, rm->names[s]);
            for (int k = 0; k < K; k++) csvw_double(&w, p[k]);
            csvw_end(&w);
        }
        hmm_filter_free(&f);
    } else {
        /* offline: hold every row (its text and its values), then smooth */
        char *buf = NULL;
        size_t blen = 0;
        FILE *mem = open_memstream(&buf, &blen);
        if (!mem) die(EX_OSERR, "open_memstream:");
        csv_writer mw;
        csvw_init(&mw, mem);
        size_t cap = 1024;
        long T = 0;
        double *x = xmalloc(cap * D * sizeof(double));
        long *off = xmalloc((cap + 1) * sizeof(long));
        off[0] = 0;
        while (csv_next(r)) {
            if ((size_t)T == cap) {
                cap *= 2;
                x = xrealloc(x, cap * D * sizeof(double));
                off = xrealloc(off, (cap + 1) * sizeof(long));
            }
            for (int d = 0; d < D; d++) x[(size_t)T * D + d] = csv_double(r, ci[d]);
            csvw_row_of(&mw, r, 0);
            mw.nfield = 0;
            off[++T] = ftell(mem);
        }
        fclose(mem);
        int *path = xmalloc((size_t)(T ? T : 1) * sizeof(int));
        double *gamma = xmalloc((size_t)(T ? T : 1) * K * sizeof(double));
        if (T > 0) {
            hmm_viterbi(rm->hmm, x, T, path);
            hmm_posteriors(rm->hmm, x, T, gamma);
        }
        for (long t = 0; t < T; t++) {
            fwrite(buf + off[t], 1, (size_t)(off[t + 1] - off[t]), out);
            w.nfield = csv_ncols(r);
            csvw_str(&w, rm->names[path[t]]);
            for (int k = 0; k < K; k++) csvw_double(&w, gamma[(size_t)t * K + k]);
            csvw_end(&w);
        }
        free(buf); free(x); free(off); free(path); free(gamma);
    }
    free(xr);
    free(p);
    free(ci);
}

/* ---- rules baseline ---- */

void regime_rules_defaults(regime_rules_opts *o)
{
    o->adx_col = "adx_14";
    o->trend_col = "ret_24";
    o->vol_col = "rv_24";
    o->adx_min = 25;
    o->vol_pct = 0.8;
    o->window = 720;
}

void regime_rules_init(regime_rules *s, const regime_rules_opts *o)
{
    ASSERT(o->window >= 2);
    s->o = *o;
    s->ring = xcalloc((size_t)o->window, sizeof(double));
    s->n = 0;
}

void regime_rules_free(regime_rules *s)
{
    free(s->ring);
    s->ring = NULL;
}

double regime_rules_percentile(regime_rules *s, double vol)
{
    long w = s->o.window;
    long have = s->n < w - 1 ? s->n : w - 1; /* previous values kept */
    double pct = 0.5;
    if (have > 0) {
        long below = 0;
        for (long i = 1; i <= have; i++)
            if (s->ring[(s->n - i) % w] < vol) below++;
        pct = (double)below / (double)have;
    }
    s->ring[s->n % w] = vol;
    s->n++;
    return pct;
}

int regime_rules_step(regime_rules *s, double adx, double trend, double vol)
{
    double pct = regime_rules_percentile(s, vol);
    if (pct >= s->o.vol_pct) return RULE_VOLATILE;
    if (adx >= s->o.adx_min && trend > 0) return RULE_TRENDING_UP;
    if (adx >= s->o.adx_min && trend < 0) return RULE_TRENDING_DOWN;
    return RULE_RANGING;
}

void regime_label_rules(const regime_rules_opts *o, csv_reader *r, FILE *out)
{
    int ca = header_col(r, o->adx_col), ct = header_col(r, o->trend_col), cv = header_col(r, o->vol_col);
    check_new_columns(r, (char *const *)regime_rule_names, RULE_NSTATES, "p_");
    csv_writer w;
    csvw_init(&w, out);
    write_header(&w, r, (char *const *)regime_rule_names, RULE_NSTATES);
    regime_rules s;
    regime_rules_init(&s, o);
    while (csv_next(r)) {
        double adx = csv_double(r, ca), tr = csv_double(r, ct), vol = csv_double(r, cv);
        int c = regime_rules_step(&s, adx, tr, vol);
        csvw_row_of(&w, r, 0);
        csvw_str(&w, regime_rule_names[c]);
        for (int k = 0; k < RULE_NSTATES; k++) csvw_int(&w, k == c);
        csvw_end(&w);
    }
    regime_rules_free(&s);
}

/* ---- scoring ---- */

static void best_perm(const long *conf, int kt, int n, int *perm, int pos, int *used, long cur, long *best,
                      int *bestperm, int kp)
{
    if (pos == kp) {
        if (cur > *best) {
            *best = cur;
            memcpy(bestperm, perm, (size_t)kp * sizeof(int));
        }
        return;
    }
    for (int j = 0; j < n; j++) {
        if (used[j]) continue;
        used[j] = 1;
        perm[pos] = j;
        long add = j < kt ? conf[pos * kt + j] : 0;
        best_perm(conf, kt, n, perm, pos + 1, used, cur + add, best, bestperm, kp);
        used[j] = 0;
    }
}

double regime_match_accuracy(const int *truth, const int *pred, long T, int kt, int kp, int *map)
{
    ASSERT(kt >= 1 && kp >= 1 && kt <= 8 && kp <= 8);
    long conf[64] = {0};
    for (long t = 0; t < T; t++) {
        ASSERT(truth[t] >= 0 && truth[t] < kt && pred[t] >= 0 && pred[t] < kp);
        conf[pred[t] * kt + truth[t]]++;
    }
    int n = kt > kp ? kt : kp;
    int perm[8], used[8] = {0}, bestperm[8];
    long best = -1;
    best_perm(conf, kt, n, perm, 0, used, 0, &best, bestperm, kp);
    if (map)
        for (int i = 0; i < kp; i++) map[i] = bestperm[i] < kt ? bestperm[i] : -1;
    return T > 0 ? (double)best / (double)T : 0;
}

/* Index of name in names (n of them, at most 8), added when new. */
static int intern(char **names, int *n, const char *name, const csv_reader *r, int col)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(names[i], name)) return i;
    if (*n == 8) csv_die(r, col, "more than 8 distinct regimes (\"%s\")", name);
    names[*n] = xstrdup(name);
    return (*n)++;
}

typedef struct {
    int64_t time;
    int regime;
    long line;
} truth_row;

static int cmp_truth(const void *a, const void *b)
{
    const truth_row *x = a, *y = b;
    if (x->time != y->time) return x->time < y->time ? -1 : 1;
    return x->line < y->line ? -1 : (x->line > y->line);
}

void regime_score_files(const char *truth_path, const char *pair, const char *labels_path, regime_score *sc)
{
    memset(sc, 0, sizeof *sc);
    csv_reader *tr = csv_open(truth_path);
    int ct = header_col(tr, "time"), cr = header_col(tr, "regime"), cp = pair ? header_col(tr, "pair") : -1;
    size_t cap = 1024, n = 0;
    truth_row *rows = xmalloc(cap * sizeof *rows);
    while (csv_next(tr)) {
        if (cp >= 0 && strcmp(csv_field(tr, cp), pair)) continue;
        if (n == cap) rows = xrealloc(rows, (cap *= 2) * sizeof *rows);
        rows[n].time = csv_int(tr, ct);
        if (csv_empty(tr, cr)) csv_die(tr, cr, "empty regime");
        rows[n].regime = intern(sc->truth_names, &sc->kt, csv_field(tr, cr), tr, cr);
        rows[n].line = csv_line(tr);
        n++;
    }
    if (n == 0) die(EX_DATAERR, "%s: no regime rows%s%s", csv_path(tr), pair ? " for pair " : "", pair ? pair : "");
    qsort(rows, n, sizeof *rows, cmp_truth);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && rows[m - 1].time == rows[i].time) {
            if (rows[m - 1].regime != rows[i].regime)
                die(EX_DATAERR, "%s:%ld: time %lld has another regime on line %ld (several pairs? choose one with --pair)",
                    csv_path(tr), rows[i].line, (long long)rows[i].time, rows[m - 1].line);
            continue;
        }
        rows[m++] = rows[i];
    }
    csv_close(tr);

    csv_reader *lr = csv_open(labels_path);
    int lt = header_col(lr, "time"), lg = header_col(lr, "regime");
    size_t lcap = 1024;
    int *truth = xmalloc(lcap * sizeof(int)), *pred = xmalloc(lcap * sizeof(int));
    long T = 0;
    while (csv_next(lr)) {
        int64_t t = csv_int(lr, lt);
        size_t lo = 0, hi = m;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (rows[mid].time < t) lo = mid + 1;
            else hi = mid;
        }
        if (lo == m || rows[lo].time != t) csv_die(lr, lt, "time %lld is not in %s", (long long)t, truth_path);
        if ((size_t)T == lcap) {
            lcap *= 2;
            truth = xrealloc(truth, lcap * sizeof(int));
            pred = xrealloc(pred, lcap * sizeof(int));
        }
        if (csv_empty(lr, lg)) csv_die(lr, lg, "empty regime");
        truth[T] = rows[lo].regime;
        pred[T] = intern(sc->pred_names, &sc->kp, csv_field(lr, lg), lr, lg);
        T++;
    }
    if (T == 0) die(EX_DATAERR, "%s: no labelled rows", csv_path(lr));
    csv_close(lr);
    sc->rows = T;
    sc->accuracy = regime_match_accuracy(truth, pred, T, sc->kt, sc->kp, sc->map);
    free(rows);
    free(truth);
    free(pred);
}

void regime_score_print(const regime_score *sc, FILE *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "rows", (double)sc->rows);
    json_add_num(o, "accuracy", sc->accuracy);
    cJSON *mt = cJSON_CreateObject();
    for (int i = 0; i < sc->kp; i++) {
        if (sc->map[i] >= 0) cJSON_AddStringToObject(mt, sc->pred_names[i], sc->truth_names[sc->map[i]]);
        else cJSON_AddNullToObject(mt, sc->pred_names[i]);
    }
    cJSON_AddItemToObject(o, "matching", mt);
    jsonl_write(f, o);
    cJSON_Delete(o);
}

void regime_score_free(regime_score *sc)
{
    for (int i = 0; i < sc->kt; i++) free(sc->truth_names[i]);
    for (int i = 0; i < sc->kp; i++) free(sc->pred_names[i]);
    sc->kt = sc->kp = 0;
}
