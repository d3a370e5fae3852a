/* test_nn_math.c: the float exp, sigmoid and tanh of lib/nn/nn_real.h (the
 * recurrent gates and the softmax) against libm in double, with the bounds
 * nn_real.h states: exp within 1.5 ulp over [-87, 88] (measured 1.2), sigmoid
 * within 2 ulp + 1e-38 absolute, tanh within 2.4e-7 absolute (twice
 * sigmoid's 2 ulp near 1); NaN passes through, the clamps give finite values,
 * and a value does not depend on its position in the array (the 4-wide body
 * and the padded tail agree). Every variant of simd.c this CPU runs
 * (baseline, AVX2, AVX-512) is checked, and each must give the baseline's
 * results bit for bit, also for the LSTM and GRU step kernels. */
#include "t.h"

#include <math.h>
#include <string.h>

#include "nn/nn_real.h"
#include "rng.h"

static double ulp_of(double t)
{
    float f = (float)t;
    return (double)nextafterf(f, INFINITY) - f;
}

static void test_exp(void)
{
    enum { N = 4001 };
    static float x[N], y[N];
    double worst = 0, wx = 0;
    for (int rep = 0; rep < 44; rep++) {
        for (int i = 0; i < N; i++) x[i] = -87.0f + (float)(175.0 * (rep * N + i) / (44.0 * N));
        nn_exp_n(y, x, N);
        for (int i = 0; i < N; i++) {
            double t = exp((double)x[i]), e = fabs(y[i] - t) / ulp_of(t);
            if (e > worst) worst = e, wx = x[i];
        }
    }
    if (!(worst <= 1.5)) t_fail(__FILE__, __LINE__, "exp: %.3f ulp at %g", worst, wx);
    float z[5] = {0, 1, -1, 0.5f, NAN};
    nn_exp_n(z, z, 5);
    CHECK(z[0] == 1);
    CHECK_NEAR(z[1], exp(1.0), 2.5e-7);
    CHECK(isnan(z[4]));
    float big[2] = {200, -200};
    nn_exp_n(big, big, 2);
    CHECK(isfinite(big[0]) && big[0] > 1e38f && big[1] >= 0 && big[1] < 2e-38f);
}

static void test_sigmoid_tanh(void)
{
    enum { N = 20001 };
    static float x[N], s[N], th[N];
    for (int i = 0; i < N; i++) x[i] = -100.0f + 200.0f * i / (N - 1);
    nn_sigmoid_n(s, x, N);
    nn_tanh_n(th, x, N);
    double ws = 0, wt = 0;
    for (int i = 0; i < N; i++) {
        double sd = 1 / (1 + exp(-(double)x[i]));
        double es = fabs(s[i] - sd) - 1e-38;
        ws = fmax(ws, es / ulp_of(sd));
        wt = fmax(wt, fabs(th[i] - tanh((double)x[i])));
    }
    if (!(ws <= 2)) t_fail(__FILE__, __LINE__, "sigmoid: %.3f ulp", ws);
    if (!(wt <= 2.4e-7)) t_fail(__FILE__, __LINE__, "tanh: %.3g absolute", wt);
    /* saturation is exact, NaN passes */
    float e[4] = {-1000, 1000, NAN, 0};
    float se[4], te[4];
    nn_sigmoid_n(se, e, 4), nn_tanh_n(te, e, 4);
    CHECK(se[0] >= 0 && se[0] < 1e-37f && se[1] == 1 && isnan(se[2]) && se[3] == 0.5f);
    CHECK(te[0] == -1 && te[1] == 1 && isnan(te[2]) && te[3] == 0);
}

static void test_position_independent(void)
{
    float x[7], all[7];
    for (int i = 0; i < 7; i++) x[i] = 0.37f * i - 1.1f;
    nn_tanh_n(all, x, 7);
    for (int i = 0; i < 7; i++) {
        float one;
        nn_tanh_n(&one, x + i, 1);
        CHECK(memcmp(&one, &all[i], sizeof one) == 0);
        CHECK(nn_tanh(x[i]) == all[i]);
    }
}

/* ---- the variants agree bit for bit ---- */

static int same_bits(const float *a, const float *b, long n) { return memcmp(a, b, sizeof(float) * n) == 0; }

static float *fill(float *a, long n, double scale, rng_t *r)
{
    for (long i = 0; i < n; i++) a[i] = (float)(scale * (2 * rng_uniform(r) - 1));
    return a;
}

/* Every kernel of simd.h at variant `level` on the same inputs as at the
 * baseline: maps over lengths that leave every tail size, one LSTM and one
 * GRU step forward and backward with H = 37 (two full 16-lane chunks and a
 * tail) on strided rows, both at t = 0 (no previous step) and t > 0. */
static void variant_matches_base(int level)
{
    enum { N = 203, R = 3, H = 37, LDG = 4 * H + 5, LD = H + 3 };
    static float x[N], y0[N], y1[N];
    static float g0[R * LDG], c0[R * LD], h0[R * LD], cp[R * LD], dh[R * LD], dc0[R * H], dg0[R * LDG];
    static float g1[R * LDG], c1[R * LD], h1[R * LD], dc1[R * H], dg1[R * LDG], gin[R * LDG], dcin[R * H];
    static float gh[R * 3 * H], bhh[3 * H], hn0[R * LD], hn1[R * LD], dx0[R * LDG], dx1[R * LDG];
    static float dhh0[R * LDG], dhh1[R * LDG], dhp0[R * LD], dhp1[R * LD], dhpin[R * LD];
    static float dbx0[4 * H], dbx1[4 * H], dbh0[3 * H], dbh1[3 * H];
    rng_t r;
    rng_seed(&r, 7);
    fill(x, N, 30, &r);
    x[5] = NAN, x[6] = 200, x[7] = -200;
    void (*maps[3])(float *, const float *, int) = {nn_exp_n, nn_sigmoid_n, nn_tanh_n};
    for (int f = 0; f < 3; f++)
        for (int n = N - 20; n <= N; n++) {
            nn_simd_use(0), maps[f](y0, x, n);
            nn_simd_use(level), maps[f](y1, x, n);
            if (!same_bits(y0, y1, n)) t_fail(__FILE__, __LINE__, "map %d, n %d: level %d differs", f, n, level);
        }
    fill(gin, R * LDG, 3, &r), fill(cp, R * LD, 2, &r), fill(dh, R * LD, 1, &r), fill(dcin, R * H, 1, &r);
    fill(gh, R * 3 * H, 2, &r), fill(bhh, 3 * H, 1, &r), fill(dhpin, R * LD, 1, &r);
    for (int t0 = 0; t0 < 2; t0++) {
        const float *prev = t0 ? NULL : cp;
        for (int v = 0; v < 2; v++) {
            nn_simd_use(v ? level : 0);
            float *g = v ? g1 : g0, *c = v ? c1 : c0, *h = v ? h1 : h0, *dc = v ? dc1 : dc0, *dg = v ? dg1 : dg0;
            memcpy(g, gin, sizeof gin), memcpy(dc, dcin, sizeof dcin), memset(dg, 0, sizeof dg0);
            memset(c, 0, sizeof c0), memset(h, 0, sizeof h0);
            nn_lstm_step_forward(g, LDG, c, h, prev, LD, R, H);
            float *db = v ? dbx1 : dbx0;
            memcpy(db, gin, sizeof(float) * 4 * H);
            nn_lstm_step_backward(dg, dc, db, g, LDG, c, prev, dh, LD, R, H);
        }
        CHECK(same_bits(g0, g1, R * LDG) && same_bits(c0, c1, R * LD) && same_bits(h0, h1, R * LD));
        CHECK(same_bits(dg0, dg1, R * LDG) && same_bits(dc0, dc1, R * H) && same_bits(dbx0, dbx1, 4 * H));
        for (int v = 0; v < 2; v++) {
            nn_simd_use(v ? level : 0);
            float *g = v ? g1 : g0, *h = v ? h1 : h0, *hn = v ? hn1 : hn0, *dx = v ? dx1 : dx0;
            float *dhh = v ? dhh1 : dhh0, *dhp = v ? dhp1 : dhp0;
            memcpy(g, gin, sizeof gin), memcpy(dhp, dhpin, sizeof dhpin);
            memset(h, 0, sizeof h0), memset(hn, 0, sizeof hn0), memset(dx, 0, sizeof dx0), memset(dhh, 0, sizeof dhh0);
            nn_gru_step_forward(g, LDG, hn, h, prev, LD, gh, bhh, R, H);
            float *dbx = v ? dbx1 : dbx0, *dbh = v ? dbh1 : dbh0;
            memcpy(dbx, bhh, sizeof bhh), memcpy(dbh, bhh, sizeof bhh);
            nn_gru_step_backward(dx, dhh, prev ? dhp : NULL, dbx, dbh, dh, g, LDG, hn, prev, LD, R, H);
        }
        CHECK(same_bits(g0, g1, R * LDG) && same_bits(h0, h1, R * LD) && same_bits(hn0, hn1, R * LD));
        CHECK(same_bits(dx0, dx1, R * LDG) && same_bits(dhh0, dhh1, R * LDG) && same_bits(dhp0, dhp1, R * LD));
        CHECK(same_bits(dbx0, dbx1, 3 * H) && same_bits(dbh0, dbh1, 3 * H));
    }
    /* softmax rows of 37 (tails), plain and causal, with a NaN row */
    enum { SR = 40, SN = 37 };
    static float sin_[SR * SN], s0[SR * SN], s1[SR * SN];
    fill(sin_, SR * SN, 20, &r);
    sin_[5 * SN + 3] = NAN;
    for (int causal = 0; causal < 2; causal++) {
        memcpy(s0, sin_, sizeof s0), memcpy(s1, sin_, sizeof s1);
        nn_simd_use(0), nn_softmax_rows(s0, SN, SR, SN, causal);
        nn_simd_use(level), nn_softmax_rows(s1, SN, SR, SN, causal);
        CHECK(same_bits(s0, s1, SR * SN));
    }
    nn_simd_use(nn_simd_max());
}

/* softmax against its definition in double (of the differences x - max,
 * which the kernel rounds to float like any float softmax), at every
 * variant: within 4e-7 relative (exp's ulp, the sum's and the scaling's
 * roundings); causal rows
 * have zeros after their step; NaN in a row gives NaN in all of it; a row of
 * equal values is uniform; rows longer than 64 (the kernel's block of rows)
 * and more than 64 rows. */
static void test_softmax(void)
{
    enum { R = 70, N = 75 };
    static float a[R * N];
    rng_t r;
    rng_seed(&r, 11);
    for (int level = 0; level <= nn_simd_max(); level++) {
        nn_simd_use(level);
        for (int causal = 0; causal < 2; causal++) {
            fill(a, R * N, 30, &r);
            static float x[R * N];
            memcpy(x, a, sizeof x);
            nn_softmax_rows(a, N, R, N, causal);
            double worst = 0;
            for (int i = 0; i < R; i++) {
                int m = causal && i + 1 < N ? i + 1 : N;
                double mx = -INFINITY, s = 0;
                for (int j = 0; j < m; j++) mx = fmax(mx, x[i * N + j]);
                /* x - max rounded to float as the kernel does: exact softmax of those differences */
                for (int j = 0; j < m; j++) s += exp((double)(float)(x[i * N + j] - (float)mx));
                for (int j = 0; j < m; j++) {
                    double p = exp((double)(float)(x[i * N + j] - (float)mx)) / s;
                    worst = fmax(worst, fabs(a[i * N + j] - p) / fmax(p, 1e-30));
                }
                for (int j = m; j < N; j++) CHECK(a[i * N + j] == 0);
            }
            if (!(worst <= 4e-7)) t_fail(__FILE__, __LINE__, "softmax level %d: %.3g relative", level, worst);
        }
        float e[2 * 5] = {3, 3, 3, 3, 3, 1, NAN, 2, 0, -1};
        nn_softmax_rows(e, 5, 2, 5, 0);
        for (int j = 0; j < 5; j++) CHECK(e[j] == 0.2f && isnan(e[5 + j]));
    }
    nn_simd_use(nn_simd_max());
}

static void test_variants(void)
{
    for (int level = 1; level <= nn_simd_max(); level++) variant_matches_base(level);
    /* the LSTM step by hand at t = 0, H = 1 (c = i g, h = o tanh c) */
    float g[4] = {0.3f, -0.2f, 0.5f, 1.1f}, c, h;
    nn_lstm_step_forward(g, 4, &c, &h, NULL, 1, 1, 1);
    double i = 1 / (1 + exp(-0.3)), gg = tanh(0.5), o = 1 / (1 + exp(-1.1));
    CHECK_NEAR(c, i * gg, 1e-6);
    CHECK_NEAR(h, o * tanh(i * gg), 1e-6);
}

int main(void)
{
    static const char *names[] = {"baseline", "AVX2", "AVX-512"};
    char name[3][160];
    for (int level = 0; level <= nn_simd_max(); level++) {
        nn_simd_use(level);
        snprintf(name[0], sizeof name[0], "nn math (%s): float exp within 1.5 ulp of exp over [-87, 88]; NaN and clamps", names[level]);
        snprintf(name[1], sizeof name[1], "nn math (%s): sigmoid within 2 ulp, tanh within 2.4e-7 absolute over [-100, 100]", names[level]);
        snprintf(name[2], sizeof name[2], "nn math (%s): a value does not depend on its position in the array", names[level]);
        t_run(name[0], test_exp);
        t_run(name[1], test_sigmoid_tanh);
        t_run(name[2], test_position_independent);
    }
    nn_simd_use(nn_simd_max());
    t_run("nn math: every simd variant gives the baseline's bits (maps, LSTM and GRU steps, softmax); an LSTM step by hand",
          test_variants);
    t_run("nn math: softmax rows within 4e-7 of the definition, causal zeros, NaN rows, at every variant", test_softmax);
    return t_done();
}
