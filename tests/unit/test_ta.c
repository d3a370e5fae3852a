/* test_ta.c: the indicators of lib/ta/ta.c as numeric tables (TA-Lib style):
 * parameters, the first defined row (= the *_lookback), and values at chosen
 * rows. The expected values were computed by tests/features_ref.py, the
 * independent pandas/numpy implementation of the definitions, on the 60 bars
 * below (a random walk rounded to cents, with a flat stretch at rows 40..43 to
 * reach the zero rules); the inputs are checked to be left unchanged. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "dtoa.h"
#include "ta/feat.h"
#include "ta/ta.h"
#include "util.h"

#define N 60
static const double O[N] = {100.0, 100.0, 100.3, 100.03, 99.14, 98.68, 97.69, 97.75, 99.09, 98.6, 97.98, 98.47, 98.82, 98.93, 98.0, 97.97, 98.66, 97.32, 96.86, 94.96, 93.67, 91.83, 91.59, 90.33, 90.6, 90.76, 90.57, 88.05, 87.51, 87.46, 87.58, 86.05, 85.57, 84.59, 83.78, 84.84, 84.04, 84.0, 84.89, 84.3, 84.19, 84.19, 84.19, 84.19, 83.22, 84.58, 83.03, 83.89, 84.01, 83.37, 85.37, 86.13, 84.93, 85.0, 85.58, 85.39, 86.08, 86.01, 86.68, 88.11};
static const double H[N] = {100.64, 100.98, 100.45, 100.47, 99.38, 99.08, 97.85, 100.06, 99.31, 99.27, 98.77, 99.69, 99.59, 99.06, 98.85, 99.6, 99.56, 97.89, 97.01, 95.15, 94.6, 92.38, 91.77, 91.48, 91.4, 91.33, 90.95, 88.46, 87.75, 87.62, 88.46, 86.52, 86.12, 84.91, 85.59, 84.87, 84.41, 84.92, 85.01, 85.27, 84.19, 84.19, 84.19, 84.19, 84.92, 85.17, 84.57, 84.37, 84.53, 86.14, 87.04, 86.28, 85.93, 85.59, 86.33, 86.89, 86.22, 87.1, 88.93, 88.12};
static const double L[N] = {99.37, 99.21, 99.52, 98.41, 98.45, 97.49, 97.33, 97.57, 98.25, 97.03, 97.41, 98.13, 98.55, 97.05, 97.53, 96.99, 96.8, 96.34, 94.06, 92.93, 91.25, 91.16, 89.45, 89.92, 89.68, 90.5, 87.62, 86.99, 86.51, 87.21, 85.24, 84.89, 83.87, 83.15, 82.81, 83.71, 83.6, 83.8, 84.25, 83.98, 84.19, 84.19, 84.19, 84.19, 82.74, 82.44, 82.37, 83.58, 82.41, 82.9, 84.74, 84.29, 84.75, 84.94, 84.98, 84.63, 85.19, 85.28, 86.57, 86.53};
static const double C[N] = {100.0, 100.3, 100.03, 99.14, 98.68, 97.69, 97.75, 99.09, 98.6, 97.98, 98.47, 98.82, 98.93, 98.0, 97.97, 98.66, 97.32, 96.86, 94.96, 93.67, 91.83, 91.59, 90.33, 90.6, 90.76, 90.57, 88.05, 87.51, 87.46, 87.58, 86.05, 85.57, 84.59, 83.78, 84.84, 84.04, 84.0, 84.89, 84.3, 84.19, 84.19, 84.19, 84.19, 84.19, 84.58, 83.03, 83.89, 84.01, 83.37, 85.37, 86.13, 84.93, 85.0, 85.58, 85.39, 86.08, 86.01, 86.68, 88.11, 87.44};
static const double V[N] = {16.2, 17.7, 10.9, 18.4, 1.9, 1.6, 1.4, 5.8, 5.7, 4.6, 11.8, 1.7, 12.2, 4.2, 13.9, 1.4, 6.9, 18.8, 11.2, 16.4, 13.5, 12.6, 4.6, 11.9, 1.8, 16.2, 19.2, 17.2, 2.0, 7.4, 7.0, 3.1, 12.9, 16.2, 7.0, 17.4, 16.1, 3.5, 15.6, 17.8, 4.7, 11.9, 13.1, 12.6, 2.8, 13.6, 13.0, 16.7, 16.3, 7.2, 14.7, 17.5, 18.0, 4.1, 1.5, 13.4, 5.1, 11.7, 19.0, 8.2};

typedef struct {
    const char *name;
    int first;
    struct { int row; double v; } at[6];
} expect;

static const expect table[] = {
    {"rsi_14", 14, {{14, 36.15279672578446}, {20, 19.39326356982317}, {30, 13.378011604306362}, {41, 23.243079488281587}, {45, 22.220089952913728}, {59, 56.328115014684}}},
    {"natr_14", 14, {{14, 1.5223319091850291}, {20, 2.0562065091013477}, {30, 2.111252083400021}, {41, 1.668990128758241}, {45, 1.6671723804792533}, {59, 1.8543788290884482}}},
    {"plus_di_14", 14, {{14, 16.538348731485602}, {20, 10.115075043162914}, {30, 4.923386398278268}, {41, 7.19035969937526}, {45, 5.413507900605589}, {59, 22.001752554674898}}},
    {"minus_di_14", 14, {{14, 23.59216893972722}, {20, 31.9166327680622}, {30, 40.22655229079215}, {41, 30.021337171661877}, {45, 31.160311756547873}, {59, 13.056772286909226}}},
    {"adx_14", 27, {{30, 50.10136265901729}, {41, 59.75879267721036}, {45, 61.326306157344355}, {59, 39.65806405063637}}},
    {"cci_20", 19, {{20, -275.8330623306227}, {30, -110.68670254460203}, {41, -68.57712609382985}, {45, -84.19107944048605}, {59, 152.37939135661017}}},
    {"willr_14", 13, {{14, -76.20253164556969}, {20, -93.41657207718505}, {30, -93.59683794466403}, {41, -75.5752212389381}, {45, -83.96739130434776}, {59, -22.71341463414647}}},
    {"mfi_14", 14, {{14, 56.41587449241516}, {20, 37.20058854119809}, {30, 21.8855882487968}, {41, 13.857235291639743}, {45, 8.250067907695895}, {59, 71.82203466856558}}},
    {"roc_10", 10, {{14, -0.7194973652209224}, {20, -6.743170508784402}, {30, -6.2942393553305}, {41, -1.6127147364730532}, {45, -1.201808662541648}, {59, 2.4247393698020314}}},
    {"stoch_k", 17, {{20, 10.654036516581074}, {30, 7.286614735243323}, {41, 21.934291491813568}, {45, 29.71154537798763}, {59, 85.30236425514362}}},
    {"stoch_d", 17, {{20, 12.71852419485368}, {30, 6.267856999592426}, {41, 20.3694461695389}, {45, 28.881753179613465}, {59, 84.5533348162411}}},
    {"bb_pctb_20", 19, {{20, -0.23152983865447593}, {30, 0.10772720679215472}, {41, 0.2788790869552724}, {45, 0.145834635228895}, {59, 0.9464452196999474}}},
    {"bb_width_20", 19, {{20, 0.08262480713203832}, {30, 0.18735901442439615}, {41, 0.1143764686606116}, {45, 0.06741760989614795}, {59, 0.06110442022174213}}},
    {"macd_n", 33, {{41, -0.03644296096303667}, {45, -0.030782974146519912}, {59, -0.002381919567172783}}},
    {"macd_signal_n", 33, {{41, -0.039950495704066544}, {45, -0.035649645825600644}, {59, -0.010176829777052152}}},
    {"macd_hist_n", 33, {{41, 0.0035075347410298717}, {45, 0.004866671679080734}, {59, 0.007794910209879369}}},
    {"ema_ratio_12", 11, {{14, -0.006696172084201479}, {20, -0.046098448671906045}, {30, -0.041420423473450985}, {41, -0.011743945869405636}, {45, -0.01826980511519627}, {59, 0.01522097781564824}}},
    {"rv_12", 12, {{14, 0.007040270589790743}, {20, 0.009429174155808533}, {30, 0.010152368194121046}, {41, 0.008773851116695972}, {45, 0.008345985583729273}, {59, 0.010727798258200806}}},
    /* bars 40..43 have no range: the 4-bar window ending on 43 gives exactly 0 */
    {"park_4", 3, {{3, 0.009446634245607587}, {14, 0.009303468077252592}, {20, 0.016626062128915216}, {41, 0.005312729773143707}, {43, 0.0}, {59, 0.012180106099381494}}},
    {"park_24", 23, {{30, 0.013332642066666348}, {41, 0.012867918157268963}, {45, 0.012116058134117494}, {59, 0.011833169112879986}}},
    {"gk_24", 23, {{30, 0.014092400706721978}, {41, 0.013462548018982735}, {45, 0.012697920948999327}, {59, 0.01255033044039518}}},
    {"vol_z_24", 23, {{30, -0.4436142205313733}, {41, 0.13743411188303983}, {45, 0.5150596295075273}, {59, -0.6283363641165277}}},
    {"donchian_pos_20", 19, {{20, 0.05960945529290833}, {30, 0.05605536332179945}, {41, 0.15401785714285673}, {45, 0.06933019976498274}, {59, 0.7728658536585353}}},
    {"obv_z_24", 47, {{59, 1.8495829258110577}}},
};

/* Run one indicator (warm-up 0) over the fixture; out gets NaN before its
 * first value; returns the first defined row. */
static int run(const char *name, double *out)
{
    int n = N;
    double *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b), *c = malloc(N * sizeof *c);
    int first = n;
    for (int i = 0; i < n; i++) out[i] = NAN;
    if (!strcmp(name, "rsi_14")) first = ta_run_rsi(out, C, n, 14, 0);
    else if (!strcmp(name, "natr_14")) first = ta_run_natr(out, H, L, C, n, 14, 0);
    else if (!strcmp(name, "plus_di_14") || !strcmp(name, "minus_di_14") || !strcmp(name, "adx_14")) {
        /* ta_run_dmi returns the ADX's first row; the DI start earlier */
        int fa = ta_run_dmi(name[0] == 'p' ? out : a, name[0] == 'm' ? out : b, name[0] == 'a' ? out : c, H, L, C, n,
                            14, 0);
        CHECK_EQ_INT(fa, 27);
        for (first = 0; first < n && isnan(out[first]); first++) {}
    } else if (!strcmp(name, "cci_20")) first = ta_run_cci(out, H, L, C, n, 20);
    else if (!strcmp(name, "willr_14")) first = ta_run_willr(out, H, L, C, n, 14);
    else if (!strcmp(name, "mfi_14")) first = ta_run_mfi(out, H, L, C, V, n, 14);
    else if (!strcmp(name, "roc_10")) first = ta_run_roc(out, C, n, 10);
    else if (!strcmp(name, "stoch_k")) first = ta_run_stoch(out, a, H, L, C, n, 14, 3, 3);
    else if (!strcmp(name, "stoch_d")) first = ta_run_stoch(a, out, H, L, C, n, 14, 3, 3);
    else if (!strcmp(name, "bb_pctb_20") || !strcmp(name, "bb_width_20")) {
        first = ta_run_bbands(a, b, c, C, n, 20, 2.0);
        for (int i = first; i < n; i++) {
            double w = a[i] - c[i];
            out[i] = name[3] == 'p' ? (w > 1e-12 * b[i] ? (C[i] - c[i]) / w : 0.5) : w / b[i];
        }
    } else if (!strncmp(name, "macd", 4)) {
        first = ta_run_macd(a, b, c, C, n, 12, 26, 9, 0);
        const double *src = name[5] == 's' ? b : name[5] == 'h' ? c : a;
        for (int i = first; i < n; i++) out[i] = src[i] / C[i];
    } else if (!strcmp(name, "ema_ratio_12")) {
        first = ta_run_ema(a, C, n, 12, 0);
        for (int i = first; i < n; i++) out[i] = C[i] / a[i] - 1;
    } else if (!strcmp(name, "rv_12")) {
        ta_stddev s;
        ta_stddev_init(&s, 12, 1);
        for (int i = 1; i < n; i++)
            if (ta_stddev_update(&s, log(C[i] / C[i - 1]), &out[i]) && first == n) first = i;
        ta_stddev_free(&s);
    } else if (!strcmp(name, "park_4") || !strcmp(name, "park_24") || !strcmp(name, "gk_24")) {
        ta_rangevol s;
        if (name[0] == 'p') ta_parkinson_init(&s, atoi(name + 5));
        else ta_garman_klass_init(&s, 24);
        for (int i = 0; i < n; i++) {
            int ok = name[0] == 'p' ? ta_parkinson_update(&s, H[i], L[i], &out[i])
                                    : ta_garman_klass_update(&s, O[i], H[i], L[i], C[i], &out[i]);
            if (ok && first == n) first = i;
        }
        ta_rangevol_free(&s);
    } else if (!strcmp(name, "vol_z_24") || !strcmp(name, "obv_z_24")) {
        ta_zscore z;
        ta_ring obv;
        ta_zscore_init(&z, 24);
        ta_ring_init(&obv, 24);
        for (int i = 0; i < n; i++) {
            int ok = 0;
            if (name[0] == 'v') ok = ta_zscore_update(&z, V[i], &out[i]);
            else if (i > 0) {
                ta_ring_push(&obv, C[i] > C[i - 1] ? V[i] : C[i] < C[i - 1] ? -V[i] : 0.0);
                if (obv.len == 24) ok = ta_zscore_update(&z, ta_ring_sum(&obv, 24), &out[i]);
            }
            if (ok && first == n) first = i;
        }
        ta_zscore_free(&z);
        ta_ring_free(&obv);
    } else if (!strcmp(name, "donchian_pos_20")) {
        ta_hilo s;
        ta_hilo_init(&s, 20);
        for (int i = 0; i < n; i++) {
            double hh, ll;
            if (ta_hilo_update(&s, H[i], L[i], &hh, &ll)) {
                out[i] = hh > ll ? (C[i] - ll) / (hh - ll) : 0.5;
                if (first == n) first = i;
            }
        }
        ta_hilo_free(&s);
    } else {
        ASSERT(0 && "no such indicator in the test");
    }
    free(a);
    free(b);
    free(c);
    return first;
}

static void indicators_match_the_table(void)
{
    double O0[N], H0[N], L0[N], C0[N], V0[N];
    memcpy(O0, O, sizeof O0), memcpy(H0, H, sizeof H0), memcpy(L0, L, sizeof L0);
    memcpy(C0, C, sizeof C0), memcpy(V0, V, sizeof V0);
    for (size_t k = 0; k < sizeof table / sizeof *table; k++) {
        const expect *e = &table[k];
        double out[N];
        int first = run(e->name, out);
        if (first != e->first) t_fail(__FILE__, __LINE__, "%s: first defined row %d, expected %d", e->name, first, e->first);
        for (int j = 0; j < 6 && e->at[j].row; j++) {
            double got = out[e->at[j].row], want = e->at[j].v;
            if (!(fabs(got - want) <= 1e-12 * fabs(want)))
                t_fail(__FILE__, __LINE__, "%s[%d] = %.17g, expected %.17g", e->name, e->at[j].row, got, want);
        }
        /* no value before the first row */
        for (int i = 0; i < first && i < N; i++)
            if (!isnan(out[i])) t_fail(__FILE__, __LINE__, "%s[%d] defined before the lookback", e->name, i);
    }
    CHECK(!memcmp(O0, O, sizeof O0) && !memcmp(H0, H, sizeof H0) && !memcmp(L0, L, sizeof L0));
    CHECK(!memcmp(C0, C, sizeof C0) && !memcmp(V0, V, sizeof V0));
}

static void lookbacks_are_tallib_s(void)
{
    /* TA-Lib's *_Lookback values for the default parameters */
    CHECK_EQ_INT(ta_sma_lookback(20), 19);
    CHECK_EQ_INT(ta_ema_lookback(12, 0), 11);
    CHECK_EQ_INT(ta_rsi_lookback(14, 0), 14);
    CHECK_EQ_INT(ta_atr_lookback(14, 0), 14);
    CHECK_EQ_INT(ta_di_lookback(14, 0), 14);
    CHECK_EQ_INT(ta_adx_lookback(14, 0), 27);
    CHECK_EQ_INT(ta_cci_lookback(20), 19);
    CHECK_EQ_INT(ta_willr_lookback(14), 13);
    CHECK_EQ_INT(ta_mfi_lookback(14), 14);
    CHECK_EQ_INT(ta_roc_lookback(10), 10);
    CHECK_EQ_INT(ta_stoch_lookback(14, 3, 3), 17);
    CHECK_EQ_INT(ta_bbands_lookback(20), 19);
    CHECK_EQ_INT(ta_macd_lookback(12, 26, 9, 0), 33);
    CHECK_EQ_INT(ta_rangevol_lookback(4), 3);
    CHECK_EQ_INT(ta_rangevol_lookback(24), 23);
    /* the warm-up is added to the lookback, never global */
    CHECK_EQ_INT(ta_rsi_lookback(14, 100), 114);
    CHECK_EQ_INT(ta_macd_lookback(12, 26, 9, 7), 40);
    CHECK_EQ_INT(ta_adx_lookback(14, 5), 32);
}

static void warmup_withholds_values_but_not_state(void)
{
    /* With a warm-up w, the values are the same numbers, only the first w
     * are withheld. */
    double a[N], b[N];
    int f0 = ta_run_rsi(a, C, N, 14, 0), f5 = ta_run_rsi(b, C, N, 14, 5);
    CHECK_EQ_INT(f0, 14);
    CHECK_EQ_INT(f5, 19);
    for (int i = 19; i < N; i++) CHECK(a[i] == b[i]);
    for (int i = 0; i < 19; i++) CHECK(isnan(b[i]));
    f0 = ta_run_ema(a, C, N, 12, 0), f5 = ta_run_ema(b, C, N, 12, 5);
    CHECK_EQ_INT(f5 - f0, 5);
    for (int i = f5; i < N; i++) CHECK(a[i] == b[i]);
    /* ta_warmup: bars until (1 - alpha)^k <= tol */
    int k = ta_warmup(1.0 / 14, 1e-13);
    CHECK(pow(13.0 / 14, k) <= 1e-13 && pow(13.0 / 14, k - 1) > 1e-13);
}

static void seeds_are_the_simple_averages(void)
{
    /* EMA(3) of 1, 2, 3, 4: seed (1+2+3)/3 = 2 at row 2, then (4-2)*0.5+2 = 3 */
    double x[4] = {1, 2, 3, 4}, out[4];
    CHECK_EQ_INT(ta_run_ema(out, x, 4, 3, 0), 2);
    CHECK(out[2] == 2.0 && out[3] == 3.0);
    /* RSI(2) of 1, 2, 1.5, 3: gains 1, 0 / losses 0, .5 -> seed .5/.25 -> 66.67;
     * then gain (.5*1+1.5)/2 = 1, loss (.25*1+0)/2 = .125 -> 88.89 */
    double y[4] = {1, 2, 1.5, 3};
    CHECK_EQ_INT(ta_run_rsi(out, y, 4, 2, 0), 2);
    CHECK_NEAR(out[2], 100.0 * 0.5 / 0.75, 1e-12);
    CHECK_NEAR(out[3], 100.0 * 1.0 / 1.125, 1e-12);
}

/* The forms that take what a bar's indicators share (typical price, log
 * range, a 14-bar high and low kept by WILLR) give the same values, bit for
 * bit, as the ones that compute it themselves. */
static void shared_inputs_give_the_same_values(void)
{
    ta_cci c1, c2;
    ta_mfi m1, m2;
    ta_rangevol p1, p2, g1, g2;
    ta_willr w1, w2;
    ta_stoch s1, s2;
    ta_cci_init(&c1, 20), ta_cci_init(&c2, 20);
    ta_mfi_init(&m1, 14), ta_mfi_init(&m2, 14);
    ta_parkinson_init(&p1, 4), ta_parkinson_init(&p2, 4);
    ta_garman_klass_init(&g1, 24), ta_garman_klass_init(&g2, 24);
    ta_willr_init(&w1, 14), ta_willr_init(&w2, 14);
    ta_stoch_init(&s1, 14, 3, 3), ta_stoch_init(&s2, 14, 3, 3);
    long same = 0, defined = 0;
    for (int i = 0; i < N; i++) {
        double a[8], b[8], hh, ll, tp = ta_typical_price(H[i], L[i], C[i]), hl = log(H[i] / L[i]);
        int da[6], db[6];
        da[0] = ta_cci_update(&c1, H[i], L[i], C[i], &a[0]), db[0] = ta_cci_update_tp(&c2, tp, &b[0]);
        da[1] = ta_mfi_update(&m1, H[i], L[i], C[i], V[i], &a[1]), db[1] = ta_mfi_update_tp(&m2, tp, V[i], &b[1]);
        da[2] = ta_parkinson_update(&p1, H[i], L[i], &a[2]), db[2] = ta_parkinson_update_log(&p2, hl, &b[2]);
        da[3] = ta_garman_klass_update(&g1, O[i], H[i], L[i], C[i], &a[3]);
        db[3] = ta_garman_klass_update_log(&g2, hl, log(C[i] / O[i]), &b[3]);
        da[4] = ta_willr_update(&w1, H[i], L[i], C[i], &a[4]);
        da[5] = ta_stoch_update(&s1, H[i], L[i], C[i], &a[5], &a[6]);
        db[4] = db[5] = 0;
        if (ta_hilo_update(&w2.hl, H[i], L[i], &hh, &ll)) {
            b[4] = ta_willr_of(hh, ll, C[i]);
            db[4] = 1;
            db[5] = ta_stoch_update_hl(&s2, hh, ll, C[i], &b[5], &b[6]);
        }
        for (int k = 0; k < 6; k++) {
            CHECK_EQ_INT(da[k], db[k]);
            if (da[k] && db[k]) same += !memcmp(&a[k], &b[k], sizeof a[k]), defined++;
        }
        if (da[5] && db[5]) same += !memcmp(&a[6], &b[6], sizeof a[6]), defined++;
    }
    CHECK(defined > 250);
    CHECK_EQ_INT(same, defined);
    ta_cci_free(&c1), ta_cci_free(&c2), ta_mfi_free(&m1), ta_mfi_free(&m2);
    ta_rangevol_free(&p1), ta_rangevol_free(&p2), ta_rangevol_free(&g1), ta_rangevol_free(&g2);
    ta_willr_free(&w1), ta_willr_free(&w2), ta_stoch_free(&s1), ta_stoch_free(&s2);
}

/* Window sums and variances in their stated order (value k of the window,
 * counted from the oldest, into lane k mod 8; lanes added as ((0 + 1) +
 * (2 + 3)) + ((4 + 5) + (6 + 7))), at every window length, including those
 * ta.c unrolls. */
static double lanes_ref(const double *x, int n, double m, int sq)
{
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int k = 0; k < n; k++) s[k % 8] += sq ? (x[k] - m) * (x[k] - m) : x[k];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static void window_statistics_follow_the_lane_order(void)
{
    uint64_t u = 88172645463325252ULL;
    long bad = 0;
    for (int n = 1; n <= 80; n++) {
        ta_ring r;
        ta_ring_init(&r, n + 3);
        double x[90];
        for (int i = 0; i < 2 * n + 7; i++) {
            u ^= u << 13, u ^= u >> 7, u ^= u << 17;
            double v = (double)(u >> 11) / 9007199254740992.0 * (i % 3 ? 1e-3 : 7.0) - 0.2;
            ta_ring_push(&r, v);
        }
        for (int k = 0; k < n; k++) x[k] = ta_ring_ago(&r, n - 1 - k);
        double sum = ta_ring_sum(&r, n), m, var = n > 1 ? ta_ring_mean_var(&r, n, 1, &m) : 0;
        double want = lanes_ref(x, n, 0, 0), wm = want / n;
        if (memcmp(&sum, &want, sizeof sum) && bad++ < 5) t_fail(__FILE__, __LINE__, "n %d: sum %a, expected %a", n, sum, want);
        if (n > 1) {
            double wv = lanes_ref(x, n, wm, 1) / (n - 1);
            if ((memcmp(&m, &wm, sizeof m) || memcmp(&var, &wv, sizeof var)) && bad++ < 5)
                t_fail(__FILE__, __LINE__, "n %d: mean %a var %a, expected %a %a", n, m, var, wm, wv);
        }
        ta_ring_free(&r);
    }
}

static void reset_forgets_everything(void)
{
    ta_rsi s;
    ta_rsi_init(&s, 14, 0);
    double v, a[N], b[N];
    for (int i = 0; i < 30; i++) ta_rsi_update(&s, C[i] * 3, &v);
    ta_rsi_reset(&s);
    for (int i = 0; i < N; i++) a[i] = ta_rsi_update(&s, C[i], &v) ? v : NAN;
    ta_run_rsi(b, C, N, 14, 0);
    for (int i = 0; i < N; i++) CHECK((isnan(a[i]) && isnan(b[i])) || a[i] == b[i]);
}

static void zero_rules_on_a_flat_window(void)
{
    double f[30], out[30], hh[30];
    for (int i = 0; i < 30; i++) f[i] = 42.25;
    CHECK_EQ_INT(ta_run_cci(out, f, f, f, 30, 20), 19);
    CHECK(out[29] == 0.0);
    CHECK_EQ_INT(ta_run_willr(out, f, f, f, 30, 14), 13);
    CHECK(out[29] == 0.0);
    CHECK_EQ_INT(ta_run_stoch(out, hh, f, f, f, 30, 14, 3, 3), 17);
    CHECK(out[29] == 0.0 && hh[29] == 0.0);
    CHECK_EQ_INT(ta_run_rsi(out, f, 30, 14, 0), 14);
    CHECK(out[29] == 0.0);
    double vol[30];
    for (int i = 0; i < 30; i++) vol[i] = 5;
    CHECK_EQ_INT(ta_run_mfi(out, f, f, f, vol, 30, 14), 14);
    CHECK(out[29] == 0.0);
    ta_zscore z;
    ta_zscore_init(&z, 24);
    double v = 1;
    for (int i = 0; i < 24; i++) ta_zscore_update(&z, 7.5, &v);
    CHECK(v == 0.0);
    ta_zscore_free(&z);
}

static void ring_statistics_are_order_independent_of_the_start(void)
{
    /* The same last n values give bitwise the same sum wherever the ring began. */
    ta_ring a, b;
    ta_ring_init(&a, 5);
    ta_ring_init(&b, 5);
    double xs[12] = {0.1, 0.7, 1e10, 0.3, 0.2, 0.9, 1e-3, 5.5, 0.25, 0.125, 3.3, 0.7};
    for (int i = 0; i < 12; i++) ta_ring_push(&a, xs[i]);
    for (int i = 7; i < 12; i++) ta_ring_push(&b, xs[i]);
    CHECK(ta_ring_sum(&a, 5) == ta_ring_sum(&b, 5));
    CHECK(ta_ring_var(&a, 5, 1) == ta_ring_var(&b, 5, 1));
    CHECK(ta_ring_max(&a, 5) == 5.5 && ta_ring_min(&a, 3) == 0.125);
    CHECK(ta_ring_ago(&a, 0) == 0.7 && ta_ring_ago(&a, 4) == 5.5);
    ta_ring_free(&a);
    ta_ring_free(&b);
}

/* ta_ring_vars, whose 12/24/72 windows are written out together, gives
 * ta_ring_var's values bit for bit, and so does its general path. */
static void ring_vars_equal_ring_var(void)
{
    ta_ring r;
    ta_ring_init(&r, 72);
    uint64_t u = 0x9E3779B97F4A7C15ULL;
    long bad = 0;
    static const int fixed[3] = {12, 24, 72}, other[3] = {5, 13, 40};
    for (int t = 0; t < 500; t++) {
        u ^= u << 13, u ^= u >> 7, u ^= u << 17;
        ta_ring_push(&r, (double)(u >> 11) / 9007199254740992.0 * (t % 7 ? 1e-3 : 3.0) - 1e-4);
        if (r.len < 72) continue;
        double a[3], b[3];
        ta_ring_vars(&r, fixed, 3, 1, a);
        ta_ring_vars(&r, other, 3, 0, b);
        for (int i = 0; i < 3; i++) {
            double wa = ta_ring_var(&r, fixed[i], 1), wb = ta_ring_var(&r, other[i], 0);
            bad += memcmp(&a[i], &wa, sizeof wa) != 0 || memcmp(&b[i], &wb, sizeof wb) != 0;
        }
    }
    CHECK(bad == 0);
    ta_ring_free(&r);
}

/* ta_ring_max/min (SIMD lanes where there is SSE2) against the loop that
 * defines them, at every window length 1-40 on windows with NaN, infinities,
 * ties and negative values: NaN is never returned. */
static void ring_extremes_match_the_loop(void)
{
    ta_ring r;
    ta_ring_init(&r, 40);
    uint64_t s = 12345;
    int bad = 0;
    for (int t = 0; t < 4000; t++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int kind = (int)(s >> 60);
        double x = (double)((int64_t)(s >> 20) % 1000) / 8;
        if (kind == 0) x = NAN;
        else if (kind == 1) x = INFINITY;
        else if (kind == 2) x = -INFINITY;
        ta_ring_push(&r, x);
        for (int n = 1; n <= r.len; n++) {
            double mx = -INFINITY, mn = INFINITY;
            for (int i = n - 1; i >= 0; i--) {
                double v = ta_ring_ago(&r, i);
                if (v > mx) mx = v;
                if (v < mn) mn = v;
            }
            bad += ta_ring_max(&r, n) != mx || ta_ring_min(&r, n) != mn;
        }
    }
    CHECK(bad == 0);
    ta_ring_free(&r);
}

/* ---- dtoa ---- */

static uint64_t rs = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void)
{
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return rs;
}

static double from_bits(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Doubles for the printer, in families that reach each of its paths: any bit
 * pattern; the 64.64 fast range (1e-11..2^53) and the 128-bit one (1e-16..1e-11,
 * 2^53..1e17) with random mantissas; ratios and exponentials; exact powers of
 * two (the narrower gap below) and their neighbours; powers of ten and a few
 * ulps around them (the decade guess and the 1e-16 / 1e17 limits); short
 * decimals and integers (fractions of exactly 0); halves and quarters of large
 * integers (printf's ties at 16 and 17 digits); multiples of 4, 8 and 16
 * from 2^54 to 2^57, where the gap is 4, 8 or 16 and a 15- or 16-digit
 * decimal can lie exactly half way between two doubles (strtod's ties);
 * 15- and 16-digit decimals as strtod reads them, and their neighbours (the
 * choice between 15, 16 and 17 digits, and roundings that carry into the
 * next digit group: a decimal stored just below itself). */
static double sample(long i)
{
    uint64_t u = next();
    double s = (next() & 1) ? -1 : 1, x;
    switch (i % 11) {
    case 10: {
        char t[40];
        snprintf(t, sizeof t, "%llue%d", (unsigned long long)(u % 9000000000000000ULL + 1000000000000000ULL) / (next() % 2 ? 10 : 1),
                 (int)(next() % 28) - 30);
        x = strtod(t, NULL);
        for (int k = (int)(next() % 3) - 1; k; k += k < 0 ? 1 : -1) x = nextafter(x, k < 0 ? 0 : INFINITY);
        return s * x;
    }
    case 0: return from_bits(u);
    case 1: return s * ldexp(1 + (double)(u >> 12) * 0x1p-52, (int)(next() % 90) - 37); /* 2^-37..2^53 */
    case 2: {
        double lo = (next() & 1) ? 1e-16 : 0x1p53, hi = lo == 1e-16 ? 1e-11 : 1e17;
        return s * exp(log(lo) + (log(hi) - log(lo)) * (double)(u >> 11) * 0x1p-53);
    }
    case 3: return s * (double)(u % 100000000) / (double)(1 + next() % 100000);
    case 4: return s * exp(((double)(u % 1000000) / 1e6 - 0.5) * 90);
    case 5:
        x = ldexp(1.0, (int)(u % 180) - 90);
        for (int k = (int)(next() % 5) - 2; k; k += k < 0 ? 1 : -1) x = nextafter(x, k < 0 ? 0 : INFINITY);
        return s * x;
    case 6:
        x = pow(10, (int)(u % 40) - 20);
        for (int k = (int)(next() % 7) - 3; k; k += k < 0 ? 1 : -1) x = nextafter(x, k < 0 ? 0 : INFINITY);
        return s * x;
    case 7: return s * (double)(u % 10000000) / pow(10, (int)(next() % 9));
    case 8: return s * ((double)(0x1p49 + (double)(u % (1ULL << 51))) + (double)(next() % 4) * 0.25);
    default: return s * ldexp((double)((1ULL << 52) + u % (1ULL << 52)), 2 + (int)(next() % 3));
    }
}

static void fast_printing_equals_fmt_double(void)
{
    char a[40], b[40];
    long bad = 0, n = 0;
    static const double special[] = {0.0, -0.0, 1.0, 2.0, 0.1, 0.3, 1e-6, 9.999999999999999e-7, 1e17, 99999999999999984.0,
                                     1e16, 123456789012345678.0, 5e-324, 1.7976931348623157e308, 417.253, -81.66079267915671,
                                     0.30000000000000004, 2.2250738585072014e-308, 1e22, 1e23, 4503599627370496.5,
                                     1e-16, 9.9999999999999998e-17, 1.0000000000000001e-16, 1e-11, 2.2204460492503131e-16,
                                     1.1102230246251565e-16, 0x1p53, 0x1p53 + 2, 0x1p54, 9007199254740993.0, 1e15 + 0.25,
                                     1234567890123456.5, 20000000000000008.0, 99999999999999.99, 0.000099999999999999991,
                                     1e-5, 1e-4, 0.001, 1e15, 999999999999999.9, 9999999999999998.0};
    for (size_t i = 0; i < sizeof special / sizeof *special; i++) {
        fmt_double_ref(a, special[i]);
        int len = ta_fmt_double(b, special[i]);
        if (strcmp(a, b) || len != (int)strlen(b)) t_fail(__FILE__, __LINE__, "%a: \"%s\" vs \"%s\"", special[i], b, a);
    }
    for (long i = 0; i < 600000; i++) {
        double x = sample(i);
        if (!isfinite(x)) continue;
        n++;
        fmt_double_ref(a, x);
        int len = ta_fmt_double(b, x);
        if ((strcmp(a, b) || len != (int)strlen(b)) && bad++ < 5) t_fail(__FILE__, __LINE__, "%a: \"%s\" vs \"%s\"", x, b, a);
    }
    CHECK(n > 550000);
    char nanbuf[40];
    CHECK_EQ_INT(ta_fmt_double(nanbuf, NAN), 0);
    CHECK_EQ_INT(ta_fmt_double(nanbuf, -NAN), 0);
}

/* Every text reads back as the same double, bit for bit (the sign of zero
 * included), with at most 17 significant digits, and in at most 24 bytes. */
static void fast_printing_round_trips(void)
{
    char b[40];
    long bad = 0;
    for (long i = 0; i < 3000000; i++) {
        double x = sample(i * 7 + 3); /* another mix of the families */
        if (!isfinite(x)) continue;
        int len = ta_fmt_double(b, x);
        double y = strtod(b, NULL);
        int digits = 0, lead = 1;
        for (const char *c = b; *c && *c != 'e'; c++) {
            if (*c == '0' && lead) continue;
            if (*c >= '1' && *c <= '9') lead = 0;
            if (*c >= '0' && *c <= '9') digits++;
        }
        if ((memcmp(&x, &y, sizeof x) || digits > 17 || len > 24 || len != (int)strlen(b)) && bad++ < 5)
            t_fail(__FILE__, __LINE__, "%a: \"%s\" reads back as %a", x, b, y);
    }
}

/* The portable digit code (what builds without SSE2 use), compiled here a
 * second time under other names, against the SSE2 one; and a row through
 * ta_fmt_doubles() against its fields one by one. */
#define TA_DTOA_PORTABLE
#define ta_fmt_double portable_fmt_double
#define ta_fmt_doubles portable_fmt_doubles
#define ta_fmt_memo_init portable_fmt_memo_init
#define ta_fmt_memo_fill portable_fmt_memo_fill
#define ta_fmt_int portable_fmt_int
#include "dtoa.c"
#undef ta_fmt_double
#undef ta_fmt_doubles
#undef ta_fmt_memo_init
#undef ta_fmt_memo_fill
#undef ta_fmt_int

static void portable_printing_and_rows_agree(void)
{
    char a[40], b[40];
    long bad = 0;
    for (long i = 0; i < 1000000; i++) {
        double x = sample(i * 3 + 1);
        int la = ta_fmt_double(a, x), lb = portable_fmt_double(b, x);
        if ((la != lb || strcmp(a, b)) && bad++ < 5) t_fail(__FILE__, __LINE__, "%a: \"%s\" vs portable \"%s\"", x, a, b);
    }
    enum { W = 45 };
    static char row[16 + 25 * W], want[16 + 25 * W];
    for (int r = 0; r < 2000; r++) {
        double x[W];
        for (int i = 0; i < W; i++) x[i] = sample(r * W + i);
        char *end = ta_fmt_doubles(row, x, W), *w = want;
        for (int i = 0; i < W; i++) {
            *w++ = ',';
            w += ta_fmt_double(w, x[i]);
        }
        if (end - row != w - want || memcmp(row, want, (size_t)(w - want))) {
            t_fail(__FILE__, __LINE__, "row %d differs from its fields", r);
            break;
        }
    }
}

/* The memo of a column's texts against ta_fmt_double: few values again and
 * again (every hit after the first), many values (collisions overwrite
 * entries), and values whose bits differ in one place (the same slot must
 * never hand out a neighbour's text). */
static void memo_printing_equals_fmt_double(void)
{
    ta_fmt_memo m;
    ta_fmt_memo_init(&m);
    char got[64], want[64];
    long bad = 0;
    for (long i = 0; i < 400000; i++) {
        double x;
        if (i % 4 == 0) x = sin(2 * M_PI * (double)(i % 24) / 24); /* the hour's 24 values */
        else if (i % 4 == 1) x = sample(i); /* everything the printer's tests sample */
        else if (i % 4 == 2) x = nextafter(sample(i / 8), (i / 4) % 2 ? INFINITY : -INFINITY);
        else x = -cos(2 * M_PI * (double)(i % 7) / 7);
        want[0] = ',';
        int lw = 1 + ta_fmt_double(want + 1, x);
        char *end = ta_fmt_memo_double(&m, got, x);
        if ((end - got != lw || memcmp(got, want, (size_t)lw)) && bad++ < 5)
            t_fail(__FILE__, __LINE__, "%a: memo wrote \"%.*s\", expected \"%.*s\"", x, (int)(end - got), got, lw, want);
    }
}

/* ta_fmt_int against printf's %lld: both ends of int64, every length, the
 * powers of ten and their neighbours, and random values. */
static void integers_print_as_printf_does(void)
{
    long bad = 0;
    uint64_t seed = 7;
    for (long i = 0; i < 300000; i++) {
        int64_t v;
        if (i < 2) v = i ? INT64_MAX : INT64_MIN;
        else if (i < 200) {
            int64_t p = 1;
            for (int k = 0; k < (i - 2) / 11 && p <= INT64_MAX / 10; k++) p *= 10;
            v = (p + ((i - 2) % 11) % 3 - 1) * (((i - 2) % 11) > 5 ? -1 : 1);
        } else {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            v = (int64_t)(seed >> (seed & 63));
            if (i % 2) v = -v;
        }
        char a[32], b[32];
        int la = snprintf(a, sizeof a, "%lld", (long long)v), lb = ta_fmt_int(b, v);
        if ((la != lb || memcmp(a, b, (size_t)la)) && bad++ < 5)
            t_fail(__FILE__, __LINE__, "%s: ta_fmt_int wrote \"%.*s\"", a, lb, b);
    }
}

int main(void)
{
    t_run("indicators match the reference table: first row and values", indicators_match_the_table);
    t_run("lookbacks are TA-Lib's, warm-up added explicitly", lookbacks_are_tallib_s);
    t_run("a warm-up withholds values and never changes them", warmup_withholds_values_but_not_state);
    t_run("EMA and RSI seeds are simple averages (hand-worked)", seeds_are_the_simple_averages);
    t_run("reset forgets every bar seen", reset_forgets_everything);
    t_run("window sums and variances follow the lane order at every length", window_statistics_follow_the_lane_order);
    t_run("shared typical price, log range and high/low give the same values", shared_inputs_give_the_same_values);
    t_run("flat windows follow the zero rules", zero_rules_on_a_flat_window);
    t_run("ring statistics depend only on the window's values", ring_statistics_are_order_independent_of_the_start);
    t_run("ring max/min equal the defining loop", ring_extremes_match_the_loop);
    t_run("ring_vars equals ring_var window by window", ring_vars_equal_ring_var);
    t_run("ta_fmt_double writes exactly fmt_double's text", fast_printing_equals_fmt_double);
    t_run("ta_fmt_double's text reads back as the same double", fast_printing_round_trips);
    t_run("a column's memo of texts writes ta_fmt_double's text", memo_printing_equals_fmt_double);
    t_run("integers print as printf's %lld does", integers_print_as_printf_does);
    t_run("portable and SSE2 digit code agree; a row equals its fields", portable_printing_and_rows_agree);
    return t_done();
}
