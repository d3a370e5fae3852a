/* test_nn_math.c: the float exp, sigmoid and tanh of lib/nn/nn_real.h (the
 * recurrent gates and the softmax) against libm in double, with the bounds
 * nn_real.h states: exp within 1.5 ulp over [-87, 88] (measured 1.2), sigmoid
 * within 2 ulp + 1e-38 absolute, tanh within 2.4e-7 absolute (twice
 * sigmoid's 2 ulp near 1); NaN passes through, the clamps give finite values,
 * and a value does not depend on its position in the array (the 4-wide body
 * and the padded tail agree). */
#include "t.h"

#include <math.h>
#include <string.h>

#include "nn/nn_real.h"

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

int main(void)
{
    t_run("nn math: float exp within 1.5 ulp of exp over [-87, 88]; NaN and clamps", test_exp);
    t_run("nn math: sigmoid within 2 ulp, tanh within 2.4e-7 absolute over [-100, 100]", test_sigmoid_tanh);
    t_run("nn math: a value does not depend on its position in the array", test_position_independent);
    return t_done();
}
