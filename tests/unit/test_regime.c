/* test_regime.c: lib/regime.c: naming rule, units of the stored model,
 * regime.json round trip and its errors, causal labelling, the rules
 * baseline, BIC choice of K and scoring against known regimes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regime.h"
#include "t.h"
#include "util.h"

/* A regime_model around a hand-made diagonal HMM over (ret_1[, rv_24]). */
static regime_model *hand_model(int K, int with_vol, const double *mu, const double *vol)
{
    int D = with_vol ? 2 : 1;
    regime_model *rm = xcalloc(1, sizeof *rm);
    rm->K = K;
    rm->D = D;
    rm->hmm = hmm_new(K, D, 0);
    rm->columns = xcalloc((size_t)D, sizeof(char *));
    rm->columns[0] = xstrdup("ret_1");
    if (with_vol) rm->columns[1] = xstrdup("rv_24");
    for (int k = 0; k < K; k++) {
        rm->hmm->start[k] = 1.0 / K;
        for (int j = 0; j < K; j++) rm->hmm->trans[k * K + j] = k == j ? 0.9 : 0.1 / (K - 1);
        rm->hmm->mean[k * D] = mu[k];
        rm->hmm->var[k * D] = with_vol ? 1e-4 : vol[k] * vol[k];
        if (with_vol) {
            rm->hmm->mean[k * D + 1] = vol[k];
            rm->hmm->var[k * D + 1] = 1e-6;
        }
    }
    ASSERT(hmm_prepare(rm->hmm) == 0);
    rm->scaler_mean = xcalloc((size_t)D, sizeof(double));
    rm->scaler_std = xcalloc((size_t)D, sizeof(double));
    return rm;
}

static int find(const regime_model *rm, const char *name)
{
    for (int k = 0; k < rm->K; k++)
        if (!strcmp(rm->names[k], name)) return k;
    return -1;
}

/* The naming rule as a table: state means (return, volatility) in, names out. */
static void test_naming_rule(void)
{
    static const struct {
        int K, with_vol;
        double mu[5], vol[5];
        const char *names[5]; /* expected, in the input state order */
    } cases[] = {
        {2, 1, {0.001, 0.0}, {0.01, 0.03}, {"ranging", "volatile"}},
        {3, 1, {-0.002, 0.0001, 0.0}, {0.008, 0.003, 0.02}, {"trending_down", "ranging", "volatile"}},
        {3, 1, {0.0001, 0.002, 0.0}, {0.003, 0.006, 0.02}, {"ranging", "trending_up", "volatile"}},
        {4, 1, {0.0015, -0.002, 0.0, 0.0}, {0.005, 0.008, 0.0025, 0.02},
         {"trending_up", "trending_down", "ranging", "volatile"}},
        {5, 1, {0.0015, -0.002, 0.0, 0.004, -0.003}, {0.005, 0.008, 0.0025, 0.02, 0.03},
         {"trending_up", "trending_down", "ranging", "volatile_up", "volatile_down"}},
        /* no volatility column: the return's standard deviation orders them */
        {4, 0, {0.0015, -0.002, 0.0, 0.0}, {0.005, 0.008, 0.0025, 0.02},
         {"trending_up", "trending_down", "ranging", "volatile"}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        regime_model *rm = hand_model(cases[c].K, cases[c].with_vol, cases[c].mu, cases[c].vol);
        regime_order_and_name(rm);
        int D = rm->D;
        for (int k = 0; k < cases[c].K; k++) {
            int j = find(rm, cases[c].names[k]);
            if (j < 0) {
                t_fail(__FILE__, __LINE__, "case %zu: no state named %s", c, cases[c].names[k]);
                continue;
            }
            CHECK_NEAR(rm->hmm->mean[j * D], cases[c].mu[k], 0); /* the right state got the name */
        }
        /* states are stored by volatility, low to high */
        for (int k = 1; k < rm->K; k++) {
            double v0 = D == 2 ? rm->hmm->mean[(k - 1) * D + 1] : rm->hmm->var[(k - 1) * D];
            double v1 = D == 2 ? rm->hmm->mean[k * D + 1] : rm->hmm->var[k * D];
            CHECK(v0 <= v1);
        }
        CHECK_EQ_STR(rm->columns[rm->ret_col], "ret_1");
        CHECK_EQ_INT(rm->vol_col, cases[c].with_vol ? 1 : -1);
        regime_model_free(rm);
    }
}

static void test_match_accuracy(void)
{
    int truth[8] = {0, 0, 1, 1, 2, 2, 2, 0};
    int pred[8] = {2, 2, 0, 0, 1, 1, 0, 2}; /* a relabelling with one error */
    int map[3];
    CHECK_NEAR(regime_match_accuracy(truth, pred, 8, 3, 3, map), 7.0 / 8, 1e-15);
    CHECK_EQ_INT(map[2], 0);
    CHECK_EQ_INT(map[0], 1);
    CHECK_EQ_INT(map[1], 2);
    /* more predicted states than regimes: one stays unmatched */
    int pred4[8] = {3, 3, 0, 0, 1, 1, 1, 2};
    int map4[4];
    CHECK_NEAR(regime_match_accuracy(truth, pred4, 8, 3, 4, map4), 7.0 / 8, 1e-15);
    CHECK_EQ_INT(map4[2], -1);
    /* fewer predicted states: the best two regimes */
    int pred1[8] = {0, 0, 0, 0, 1, 1, 1, 1};
    CHECK_NEAR(regime_match_accuracy(truth, pred1, 8, 3, 2, NULL), 5.0 / 8, 1e-15);
}

static void test_rules(void)
{
    regime_rules_opts o;
    regime_rules_defaults(&o);
    o.window = 4; /* this row and the 3 before it */
    regime_rules s;
    regime_rules_init(&s, &o);
    CHECK_NEAR(regime_rules_percentile(&s, 5), 0.5, 0);     /* nothing before it */
    CHECK_NEAR(regime_rules_percentile(&s, 7), 1.0, 0);     /* above 5 */
    CHECK_NEAR(regime_rules_percentile(&s, 6), 0.5, 0);     /* above 5, not 7 */
    CHECK_NEAR(regime_rules_percentile(&s, 1), 0.0, 0);
    CHECK_NEAR(regime_rules_percentile(&s, 6.5), 2.0 / 3, 1e-15); /* 7,6,1: 5 left the window */
    regime_rules_free(&s);
    regime_rules_init(&s, &o);
    for (int i = 0; i < 3; i++) regime_rules_step(&s, 10, 0, 1.0 + i);
    CHECK_EQ_INT(regime_rules_step(&s, 40, 0.01, 10), RULE_VOLATILE);  /* volatility first */
    CHECK_EQ_INT(regime_rules_step(&s, 40, 0.01, 0.5), RULE_TRENDING_UP);
    CHECK_EQ_INT(regime_rules_step(&s, 40, -0.01, 0.5), RULE_TRENDING_DOWN);
    CHECK_EQ_INT(regime_rules_step(&s, 20, -0.01, 0.5), RULE_RANGING);  /* adx below 25 */
    CHECK_EQ_INT(regime_rules_step(&s, 25, 0.0, 0.5), RULE_RANGING);    /* no direction */
    regime_rules_free(&s);
}

/* x (T, 1) from a known 3-state model on returns-like scale. */
static double *sample_returns(long T, uint64_t seed, int **states)
{
    hmm_t *g = hmm_new(3, 1, 0);
    double mu[3] = {0.002, -0.002, 0.0}, sd[3] = {0.005, 0.008, 0.02};
    for (int k = 0; k < 3; k++) {
        g->start[k] = 1.0 / 3;
        for (int j = 0; j < 3; j++) g->trans[k * 3 + j] = k == j ? 0.98 : 0.01;
        g->mean[k] = mu[k];
        g->var[k] = sd[k] * sd[k];
    }
    ASSERT(hmm_prepare(g) == 0);
    double *x = xmalloc(sizeof(double) * T);
    int *s = xmalloc(sizeof(int) * T);
    hmm_sample(g, T, seed, x, s);
    hmm_free(g);
    if (states) *states = s;
    else free(s);
    return x;
}

/* The stored means and variances are in input units: fitting a*x + b gives
 * exactly a*mean + b and a^2*var, since the fit runs on standardised data. */
static void test_units(void)
{
    long T = 3000;
    double *x = sample_returns(T, 1, NULL), *y = xmalloc(sizeof(double) * T);
    for (long t = 0; t < T; t++) y[t] = 1000 * x[t] + 5;
    char *cols[] = {"ret_1"};
    regime_fit_opts o;
    regime_fit_defaults(&o);
    o.K = 3;
    o.restarts = 3;
    regime_model *a = regime_fit(x, T, 1, cols, &o, "x.csv", 3001);
    regime_model *b = regime_fit(y, T, 1, cols, &o, "y.csv", 3001);
    for (int k = 0; k < 3; k++) {
        CHECK_REL(b->hmm->mean[k], 1000 * a->hmm->mean[k] + 5, 1e-9);
        CHECK_REL(b->hmm->var[k], 1e6 * a->hmm->var[k], 1e-9);
        CHECK_REL(b->hmm->trans[k * 3 + 1], a->hmm->trans[k * 3 + 1], 1e-9);
    }
    /* log-likelihood of the unscaled data: shifts by -T log 1000 */
    CHECK_REL(b->loglik, a->loglik - T * log(1000.0), 1e-9);
    CHECK_REL(a->loglik, hmm_loglik(a->hmm, x, T), 1e-9);
    CHECK_NEAR(a->bic, -2 * a->loglik + hmm_nparams(3, 1, 0) * log((double)T), 1e-6);
    CHECK_REL(a->scaler_std[0] * 1000, b->scaler_std[0], 1e-12);
    regime_model_free(a);
    regime_model_free(b);
    free(x);
    free(y);
}

static void test_auto_states(void)
{
    long T = 6000;
    double *x = sample_returns(T, 2, NULL);
    char *cols[] = {"ret_1"};
    regime_fit_opts o;
    regime_fit_defaults(&o);
    o.K = 0;
    o.restarts = 4;
    regime_model *rm = regime_fit(x, T, 1, cols, &o, "x.csv", 6001);
    CHECK_EQ_INT(rm->K, 3);
    CHECK(rm->auto_states);
    for (int k = 2; k <= 5; k++) CHECK(isfinite(rm->bic_by_k[k]));
    for (int k = 2; k <= 5; k++) CHECK(rm->bic <= rm->bic_by_k[k]);
    regime_model_free(rm);
    free(x);
}

static char *write_csv(const double *x, long T, int with_extra)
{
    char *path = t_tmpfile("");
    FILE *f = fopen(path, "w");
    fprintf(f, "time,close,ret_1%s\n", with_extra ? ",note" : "");
    for (long t = 0; t < T; t++) {
        char b[32];
        fprintf(f, "%ld,%d,%s%s\n", 1000 + 3600 * t, 100, fmt_double(b, x[t]), with_extra ? ",\"a,b\"" : "");
    }
    fclose(f);
    return path;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = xmalloc((size_t)n + 1);
    s[fread(s, 1, (size_t)n, f)] = 0;
    fclose(f);
    return s;
}

static char *label_to_string(const regime_model *rm, const char *csv, int viterbi)
{
    char *out = t_tmpfile("");
    FILE *f = fopen(out, "w");
    csv_reader *r = csv_open(csv);
    regime_label_hmm(rm, r, f, viterbi);
    csv_close(r);
    fclose(f);
    char *s = slurp(out);
    unlink(out);
    free(out);
    return s;
}

/* Save, load: every parameter reads back bit for bit; labels: every input
 * column passes through; causal labels of a prefix equal the first rows of
 * the whole file's labels, smoothed ones do not. */
static void test_roundtrip_and_lookahead(void)
{
    long T = 2000;
    int *s;
    double *x = sample_returns(T, 3, &s);
    char *cols[] = {"ret_1"};
    regime_fit_opts o;
    regime_fit_defaults(&o);
    o.K = 3;
    o.restarts = 3;
    regime_model *rm = regime_fit(x, T, 1, cols, &o, "x.csv", 2001);
    char *dir = t_tmpdir(), path[4200];
    snprintf(path, sizeof path, "%s/regime.json", dir);
    regime_save(rm, path);
    regime_model *ld = regime_load(path);
    CHECK_EQ_INT(ld->K, 3);
    CHECK_EQ_STR(ld->columns[0], "ret_1");
    CHECK(!memcmp(ld->hmm->mean, rm->hmm->mean, 3 * sizeof(double)));
    CHECK(!memcmp(ld->hmm->var, rm->hmm->var, 3 * sizeof(double)));
    CHECK(!memcmp(ld->hmm->trans, rm->hmm->trans, 9 * sizeof(double)));
    CHECK(!memcmp(ld->hmm->start, rm->hmm->start, 3 * sizeof(double)));
    for (int k = 0; k < 3; k++) CHECK_EQ_STR(ld->names[k], rm->names[k]);

    char *full = write_csv(x, T, 1);
    char *whole = label_to_string(ld, full, 0);
    CHECK(!strncmp(whole, "time,close,ret_1,note,regime,p_", 31));
    CHECK(strstr(whole, ",\"a,b\",") != NULL); /* quoted field passed through */
    int cuts[] = {1, 2, 50, 999, 1500};
    for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
        char *part = write_csv(x, cuts[c], 1);
        char *lp = label_to_string(ld, part, 0);
        CHECK(!strncmp(whole, lp, strlen(lp)));
        free(lp);
        unlink(part);
        free(part);
    }
    /* the smoothed labels of the whole file differ from the filtered ones
     * (they use later rows), and a prefix's smoothed labels differ from the
     * whole file's somewhere: that is the look-ahead the pipeline avoids */
    char *smooth = label_to_string(ld, full, 1);
    CHECK(strcmp(smooth, whole) != 0);
    char *part = write_csv(x, 1000, 1);
    char *sp = label_to_string(ld, part, 1);
    CHECK(strncmp(smooth, sp, strlen(sp)) != 0);
    /* filtered labels track the true states */
    long ok = 0, n = 0;
    char *line = strchr(whole, '\n') + 1;
    int map[3] = {-1, -1, -1};
    for (int k = 0; k < 3; k++) { /* generating state k has mean 0.002, -0.002, 0 and sd .005 .008 .02 */
        double mu = ld->hmm->mean[k], sd = sqrt(ld->hmm->var[k]);
        map[k] = sd > 0.014 ? 2 : (mu > 0 ? 0 : 1);
    }
    for (long t = 0; t < T && *line; t++, n++) {
        char *e = strchr(line, '\n');
        *e = 0;
        char *reg = strstr(line, "\",") + 2;
        for (int k = 0; k < 3; k++)
            if (!strncmp(reg, ld->names[k], strlen(ld->names[k])) && reg[strlen(ld->names[k])] == ',')
                ok += map[k] == s[t];
        line = e + 1;
    }
    CHECK_EQ_INT(n, T);
    CHECK((double)ok / T > 0.8);
    free(sp); unlink(part); free(part);
    free(smooth);
    free(whole);
    unlink(full);
    free(full);
    unlink(path);
    rmdir(dir);
    free(dir);
    regime_model_free(rm);
    regime_model_free(ld);
    free(x);
    free(s);
}

/* The rules baseline is causal too. */
static void test_rules_lookahead(void)
{
    long T = 400;
    char *whole_csv = t_tmpfile(""), *part_csv = t_tmpfile("");
    FILE *f = fopen(whole_csv, "w"), *g = fopen(part_csv, "w");
    fprintf(f, "time,close,adx_14,ret_24,rv_24\n");
    fprintf(g, "time,close,adx_14,ret_24,rv_24\n");
    for (long t = 0; t < T; t++) {
        double adx = 20 + 15 * sin(t / 17.0), tr = 0.02 * sin(t / 23.0), v = 0.01 + 0.005 * sin(t / 7.0);
        fprintf(f, "%ld,100,%.6f,%.6f,%.6f\n", t, adx, tr, v);
        if (t < 250) fprintf(g, "%ld,100,%.6f,%.6f,%.6f\n", t, adx, tr, v);
    }
    fclose(f);
    fclose(g);
    regime_rules_opts o;
    regime_rules_defaults(&o);
    o.window = 50;
    char *outs[2];
    const char *ins[2] = {whole_csv, part_csv};
    for (int i = 0; i < 2; i++) {
        char *out = t_tmpfile("");
        FILE *of = fopen(out, "w");
        csv_reader *r = csv_open(ins[i]);
        regime_label_rules(&o, r, of);
        csv_close(r);
        fclose(of);
        outs[i] = slurp(out);
        unlink(out);
        free(out);
    }
    const char *hdr = "time,close,adx_14,ret_24,rv_24,regime,p_trending_up,p_trending_down,p_ranging,p_volatile\n";
    CHECK(!strncmp(outs[0], hdr, strlen(hdr)));
    CHECK(!strncmp(outs[0], outs[1], strlen(outs[1])));
    CHECK(strlen(outs[1]) < strlen(outs[0]));
    /* every class occurs in this data */
    for (int k = 0; k < RULE_NSTATES; k++) CHECK(strstr(outs[0], regime_rule_names[k]) != NULL);
    free(outs[0]); free(outs[1]);
    unlink(whole_csv); unlink(part_csv);
    free(whole_csv); free(part_csv);
}

/* ---- error paths (exit code and message) ---- */

static void read_cols_fn(void *arg)
{
    char *cols[] = {"ret_1", "rv_24"};
    csv_reader *r = csv_open(arg);
    long T, last;
    free(regime_read_columns(r, cols, 2, &T, &last));
}

static void load_fn(void *arg) { regime_model_free(regime_load(arg)); }

static void few_rows_fn(void *arg)
{
    (void)arg;
    double x[20];
    for (int i = 0; i < 20; i++) x[i] = i % 3;
    char *cols[] = {"ret_1"};
    regime_fit_opts o;
    regime_fit_defaults(&o);
    o.K = 4;
    regime_fit(x, 20, 1, cols, &o, "f.csv", 21);
}

/* regime_fit called directly (not after regime_read_columns) on a constant column */
static void const_fit_fn(void *arg)
{
    (void)arg;
    double x[400];
    for (int i = 0; i < 200; i++) {
        x[2 * i] = i % 7;
        x[2 * i + 1] = 0.25;
    }
    char *cols[] = {"ret_1", "rv_24"};
    regime_fit_opts o;
    regime_fit_defaults(&o);
    o.K = 2;
    regime_fit(x, 200, 2, cols, &o, "c.csv", 201);
}

static void test_errors(void)
{
    char *p = t_tmpfile("time,close,ret_1,rv_24\n1,1,0.5,0.1\n2,1,0.25,0.1\n3,1,0.1,0.1\n");
    t_expect_exit(read_cols_fn, p, NULL, 65, ":2: column 'rv_24': constant (0.1 on all 3 rows)");
    unlink(p); free(p);
    p = t_tmpfile("time,close,ret_1\n1,1,0.5\n");
    t_expect_exit(read_cols_fn, p, NULL, 65, ":1: column 'rv_24': not in the header (columns: time,close,ret_1)");
    unlink(p); free(p);
    p = t_tmpfile("time,close,ret_1,rv_24\n1,1,0.5,0.1\n2,1,abc,0.2\n");
    t_expect_exit(read_cols_fn, p, NULL, 65, ":3: column 'ret_1'");
    unlink(p); free(p);
    t_expect_exit(const_fit_fn, NULL, NULL, 65, "c.csv:201: column 'rv_24': constant on all 200 rows");
    t_expect_exit(few_rows_fn, NULL, NULL, 65, "f.csv:21: 20 rows are too few for 4 states over 1 columns (need at least 115)");

    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"[1]", "not a JSON object"},
        {"{\"format\":\"x\"}", "key 'format'"},
        {"{\"format\":\"kml-regime-hmm\",\"states\":2.5}", "key 'states': expected an integer"},
        {"{\"format\":\"kml-regime-hmm\",\"states\":2,\"columns\":[\"a\"],\"names\":[\"x\",\"x\"]}",
         "key 'names': a state name appears twice"},
        {"{\"format\":\"kml-regime-hmm\",\"states\":2,\"columns\":[\"a\"],\"names\":[\"x\",\"y\"],"
         "\"start_prob\":[0.5,0.5],\"trans_prob\":[[1,0]],\"means\":[[0],[1]],\"variances\":[[1],[1]]}",
         "key 'trans_prob': expected 2 rows of 2 numbers"},
        {"{\"format\":\"kml-regime-hmm\",\"states\":2,\"columns\":[\"a\"],\"names\":[\"x\",\"y\"],"
         "\"start_prob\":[0.5,0.5],\"trans_prob\":[[0.9,0.2],[0,1]],\"means\":[[0],[1]],\"variances\":[[1],[1]]}",
         "key 'trans_prob': a row does not sum to 1"},
        {"{\"format\":\"kml-regime-hmm\",\"states\":2,\"columns\":[\"a\"],\"names\":[\"x\",\"y\"],"
         "\"start_prob\":[0.5,0.5],\"trans_prob\":[[1,0],[0,1]],\"means\":[[0],[1]],\"variances\":[[1],[0]]}",
         "key 'variances': state 1 is not positive definite"},
        {"{\"format\":\"kml-regime-hmm\",\"states\":2,\"columns\":[\"a\"],\"names\":[\"x\",\"y\"],"
         "\"start_prob\":[0.5,0.5],\"trans_prob\":[[1,0],[0,1]],\"means\":[[0],[1]]}",
         "key 'variances': missing"},
        {"{\"format\":", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *j = t_tmpfile(bad[i].json);
        t_expect_exit(load_fn, j, NULL, 65, bad[i].msg);
        unlink(j);
        free(j);
    }
    t_expect_exit(load_fn, "/nonexistent/regime.json", NULL, 66, "/nonexistent/regime.json");
}

static void score_fn(void *arg)
{
    char **a = arg;
    regime_score sc;
    regime_score_files(a[0], a[1], a[2], &sc);
    regime_score_print(&sc, stdout);
    regime_score_free(&sc);
}

static void test_score_files(void)
{
    char *truth = t_tmpfile("time,pair,regime\n1,A,up\n1,B,up\n2,A,down\n2,B,flat\n3,A,down\n3,B,down\n4,A,up\n4,B,up\n");
    char *lab = t_tmpfile("time,close,regime\n2,1,x\n3,1,x\n4,1,y\n");
    regime_score sc;
    regime_score_files(truth, "A", lab, &sc);
    CHECK_EQ_INT(sc.rows, 3);
    CHECK_NEAR(sc.accuracy, 1.0, 0);
    CHECK_EQ_STR(sc.truth_names[sc.map[0]], "down");
    regime_score_free(&sc);
    regime_score_files(truth, "B", lab, &sc);
    CHECK_NEAR(sc.accuracy, 2.0 / 3, 1e-15);
    regime_score_free(&sc);
    char *args[3] = {truth, NULL, lab};
    t_expect_exit(score_fn, args, NULL, 65, ":5: time 2 has another regime on line 4 (several pairs? choose one with --pair)");
    char *lab2 = t_tmpfile("time,close,regime\n2,1,x\n9,1,x\n");
    char *args2[3] = {truth, "A", lab2};
    t_expect_exit(score_fn, args2, NULL, 65, ":3: column 'time': time 9 is not in");
    unlink(truth); unlink(lab); unlink(lab2);
    free(truth); free(lab); free(lab2);
}

int main(void)
{
    t_run("regime: naming rule by volatility and mean return", test_naming_rule);
    t_run("regime: best matching of states to regimes", test_match_accuracy);
    t_run("regime: rules baseline percentile window and classes", test_rules);
    t_run("regime: stored means and variances are in input units", test_units);
    t_run("regime: --states auto picks the generating K by BIC", test_auto_states);
    t_run("regime: regime.json round trip; filtered labels are causal, smoothed are not", test_roundtrip_and_lookahead);
    t_run("regime: rules labels are causal", test_rules_lookahead);
    t_run("regime: constant/missing column, few rows, bad regime.json: located errors", test_errors);
    t_run("regime: score joins on time, per pair, with located errors", test_score_files);
    return t_done();
}
