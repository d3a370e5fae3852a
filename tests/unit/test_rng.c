/* test_rng.c: unit tests of lib/rng.c (xoshiro256** seeded by splitmix64).
 *
 * Statistical checks use fixed seeds, so they are deterministic; each tolerance
 * is about 5 standard errors of the estimate for the sample size, so a correct
 * generator passes with a wide margin and a biased one fails. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "t.h"
#include "util.h"

static void test_known_sequence(void)
{
    /* First outputs of xoshiro256** with the state from splitmix64(seed),
     * computed by an independent implementation of the published algorithms. */
    const uint64_t want0[] = {0x99ec5f36cb75f2b4ULL, 0xbf6e1f784956452aULL, 0x1a5f849d4933e6e0ULL,
                              0x6aa594f1262d2d2cULL};
    const uint64_t want42[] = {0x15780b2e0c2ec716ULL, 0x6104d9866d113a7eULL, 0xae17533239e499a1ULL,
                               0xecb8ad4703b360a1ULL};
    rng_t r;
    rng_seed(&r, 0);
    for (int i = 0; i < 4; i++) {
        uint64_t x = rng_u64(&r);
        if (x != want0[i]) t_fail(__FILE__, __LINE__, "seed 0 output %d: %#llx", i, (unsigned long long)x);
    }
    rng_seed(&r, 42);
    for (int i = 0; i < 4; i++) {
        uint64_t x = rng_u64(&r);
        if (x != want42[i]) t_fail(__FILE__, __LINE__, "seed 42 output %d: %#llx", i, (unsigned long long)x);
    }
}

static void test_same_seed_same_sequence(void)
{
    rng_t a, b, c;
    rng_seed(&a, 12345);
    rng_seed(&b, 12345);
    rng_seed(&c, 12346);
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 10000; i++) {
        uint64_t x = rng_u64(&a), y = rng_u64(&b), z = rng_u64(&c);
        same_ab += x == y;
        same_ac += x == z;
    }
    CHECK_EQ_INT(same_ab, 10000);
    CHECK_EQ_INT(same_ac, 0);
    /* The doubles too, through every distribution. */
    rng_seed(&a, 7);
    rng_seed(&b, 7);
    for (int i = 0; i < 1000; i++) {
        CHECK(rng_uniform(&a) == rng_uniform(&b));
        CHECK(rng_normal(&a) == rng_normal(&b));
        CHECK(rng_student_t(&a, 5) == rng_student_t(&b, 5));
        CHECK(rng_below(&a, 1000) == rng_below(&b, 1000));
    }
}

static void test_normal_uses_two_draws(void)
{
    /* No cached second value: each rng_normal advances the state by two draws. */
    rng_t a, b;
    rng_seed(&a, 3);
    rng_seed(&b, 3);
    for (int i = 0; i < 5; i++) {
        rng_normal(&a);
        rng_u64(&b);
        rng_u64(&b);
        CHECK(memcmp(&a, &b, sizeof a) == 0);
    }
}

static void test_uniform(void)
{
    rng_t r;
    rng_seed(&r, 1);
    const int n = 100000;
    double s = 0, s2 = 0, lo = 1, hi = 0;
    int not53 = 0, bins[10] = {0};
    for (int i = 0; i < n; i++) {
        double u = rng_uniform(&r);
        if (u < lo) lo = u;
        if (u > hi) hi = u;
        double k = u * 0x1.0p53;
        not53 += k != floor(k);
        bins[(int)(u * 10) < 10 ? (int)(u * 10) : 9]++;
        s += u;
        s2 += u * u;
    }
    double mean = s / n, var = s2 / n - mean * mean;
    CHECK(lo >= 0);
    CHECK(hi < 1);
    CHECK(lo < 1e-3 && hi > 1 - 1e-3);
    CHECK_EQ_INT(not53, 0);                 /* multiples of 2^-53 */
    CHECK_NEAR(mean, 0.5, 0.005);           /* se 0.00091 */
    CHECK_NEAR(var, 1.0 / 12, 0.0012);      /* se 0.00024 */
    double chi2 = 0;
    for (int b = 0; b < 10; b++) chi2 += (bins[b] - n / 10.0) * (bins[b] - n / 10.0) / (n / 10.0);
    CHECK(chi2 < 33.7); /* chi-square, 9 dof: P(> 33.7) = 1e-4 */
}

static void moments(double *x, int n, double *mean, double *var, double *kurt)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    double m = s / n, m2 = 0, m4 = 0;
    for (int i = 0; i < n; i++) {
        double d = (x[i] - m) * (x[i] - m);
        m2 += d;
        m4 += d * d;
    }
    m2 /= n;
    m4 /= n;
    *mean = m;
    *var = m2;
    *kurt = m4 / (m2 * m2);
}

static void test_normal(void)
{
    rng_t r;
    rng_seed(&r, 2);
    enum { N = 100000 };
    double *x = xmalloc(N * sizeof *x);
    int inside = 0;
    for (int i = 0; i < N; i++) {
        x[i] = rng_normal(&r);
        if (!isfinite(x[i])) {
            t_fail(__FILE__, __LINE__, "draw %d is %g", i, x[i]);
            break;
        }
        inside += fabs(x[i]) < 1.959963984540054;
    }
    double m, v, k;
    moments(x, N, &m, &v, &k);
    CHECK_NEAR(m, 0, 0.016);                      /* se 0.0032 */
    CHECK_NEAR(v, 1, 0.025);                      /* se 0.0045 */
    CHECK_NEAR(k, 3, 0.08);                       /* se 0.015 */
    CHECK_NEAR((double)inside / N, 0.95, 0.0035); /* se 0.0007 */
    free(x);
}

static void test_student_t(void)
{
    rng_t r;
    rng_seed(&r, 5);
    enum { N = 200000 };
    double *x = xmalloc(N * sizeof *x);
    int tail = 0;
    for (int i = 0; i < N; i++) {
        x[i] = rng_student_t(&r, 5);
        tail += fabs(x[i]) > 3;
    }
    double m, v, k;
    moments(x, N, &m, &v, &k);
    CHECK_NEAR(m, 0, 0.015);        /* se 0.0029 */
    CHECK_NEAR(v, 5.0 / 3, 0.06);   /* se about 0.011 (kurtosis 9) */
    CHECK(k > 5);                   /* 9 in theory, 3 for a normal: heavier tails */
    /* P(|T| > 3) for nu = 5 is 0.03010 (0.0027 for a normal); se 0.00038 */
    CHECK_NEAR((double)tail / N, 0.03010, 0.002);
    /* large nu: close to the normal */
    for (int i = 0; i < N; i++) x[i] = rng_student_t(&r, 1000);
    moments(x, N, &m, &v, &k);
    CHECK_NEAR(v, 1000.0 / 998, 0.02);
    CHECK_NEAR(k, 3, 0.08);
    free(x);
}

static void test_gamma(void)
{
    rng_t r;
    rng_seed(&r, 6);
    enum { N = 100000 };
    const double shapes[] = {0.5, 1, 2.5, 10};
    double *x = xmalloc(N * sizeof *x);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        double a = shapes[s];
        int neg = 0;
        for (int i = 0; i < N; i++) {
            x[i] = rng_gamma(&r, a);
            neg += !(x[i] > 0);
        }
        double m, v, k;
        moments(x, N, &m, &v, &k);
        CHECK_EQ_INT(neg, 0);
        /* Gamma(a, 1): mean a, variance a */
        CHECK_NEAR(m, a, 5 * sqrt(a / N));
        CHECK_NEAR(v, a, 6 * a * sqrt((2 + 6 / a) / N));
    }
    free(x);
}

static void test_below(void)
{
    rng_t r;
    rng_seed(&r, 8);
    for (int i = 0; i < 1000; i++) CHECK(rng_below(&r, 1) == 0);
    /* uniform over 7 values: chi-square */
    enum { N = 70000 };
    int c[7] = {0}, out = 0;
    for (int i = 0; i < N; i++) {
        uint64_t k = rng_below(&r, 7);
        if (k >= 7) out++;
        else c[k]++;
    }
    CHECK_EQ_INT(out, 0);
    double chi2 = 0;
    for (int i = 0; i < 7; i++) chi2 += (c[i] - N / 7.0) * (c[i] - N / 7.0) / (N / 7.0);
    CHECK(chi2 < 27.9); /* 6 dof: P(> 27.9) = 1e-4 */
    /* no modulo bias for a large n: with n = 2/3 of 2^64, x % n would put 2/3
     * of the draws below n/2 */
    uint64_t n = UINT64_MAX / 3 * 2;
    int low = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t k = rng_below(&r, n);
        if (k >= n) out++;
        low += k < n / 2;
    }
    CHECK_EQ_INT(out, 0);
    CHECK_NEAR(low / 100000.0, 0.5, 0.008); /* se 0.0016 */
    /* the whole range */
    for (int i = 0; i < 100; i++) (void)rng_below(&r, UINT64_MAX);
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void test_shuffle(void)
{
    rng_t r;
    rng_seed(&r, 9);
    enum { N = 1000 };
    int a[N];
    for (int i = 0; i < N; i++) a[i] = i;
    rng_shuffle_int(&r, a, N);
    int fixed = 0;
    for (int i = 0; i < N; i++) fixed += a[i] == i;
    CHECK(fixed < 10); /* about 1 expected */
    qsort(a, N, sizeof *a, cmp_int);
    int perm = 1;
    for (int i = 0; i < N; i++) perm &= a[i] == i;
    CHECK(perm);
    /* each of the 6 orders of 3 items is equally likely */
    int count[6] = {0};
    enum { M = 60000 };
    for (int t = 0; t < M; t++) {
        int b[3] = {0, 1, 2};
        rng_shuffle_int(&r, b, 3);
        count[b[0] * 2 + (b[1] > b[2])]++;
    }
    double chi2 = 0;
    for (int i = 0; i < 6; i++) chi2 += (count[i] - M / 6.0) * (count[i] - M / 6.0) / (M / 6.0);
    CHECK(chi2 < 25.7); /* 5 dof: P(> 25.7) = 1e-4 */
    /* degenerate sizes */
    int one[1] = {42};
    rng_shuffle_int(&r, one, 1);
    CHECK_EQ_INT(one[0], 42);
    rng_shuffle_int(&r, one, 0);
}

int main(void)
{
    set_progname("kml-test");
    t_run("known outputs of xoshiro256** seeded by splitmix64", test_known_sequence);
    t_run("same seed same sequence, different seeds differ", test_same_seed_same_sequence);
    t_run("rng_normal consumes exactly two draws", test_normal_uses_two_draws);
    t_run("uniform on [0,1): range, 53 bits, mean 1/2, variance 1/12, flat", test_uniform);
    t_run("normal: mean 0, variance 1, kurtosis 3, 95% within 1.96", test_normal);
    t_run("Student-t nu=5: variance 5/3, heavy tails", test_student_t);
    t_run("gamma: mean and variance equal the shape", test_gamma);
    t_run("rng_below: bounds, uniform, no modulo bias", test_below);
    t_run("shuffle is a uniform permutation", test_shuffle);
    return t_done();
}
