/* test_nn_layers.c: every layer of lib/nn against finite differences and
 * against its own plain-loop build.
 *
 * Gradient checks run on the double-precision build of the layers (suffix _d,
 * plain-loop matrix products): the loss is L = sum(out * R) for a fixed random
 * R, so dL/dout = R; each input and weight element is moved by +-h with
 * h = 1e-6 and the central difference (L(x+h) - L(x-h)) / 2h must match the
 * backward pass within 1e-6 * max(1, |g|). Then the float build (OpenBLAS) is
 * run on the same numbers and its outputs and gradients must match the double
 * ones within 2e-5 * max(1, max|x|) (float rounding only). */
#include "t.h"

#include <stdlib.h>
#include <string.h>

#include "nn/gemm.h"
#include "nn/layers.h"
#include "nn/simd.h"
#include "rng.h"

#define FD_STEP 1e-6
#define FD_TOL 1e-6
#define F32_TOL 2e-5

static rng_t rng;

static double *rnd(long n, double scale)
{
    double *a = malloc(sizeof *a * (n ? n : 1));
    for (long i = 0; i < n; i++) a[i] = scale * (2 * rng_uniform(&rng) - 1);
    return a;
}
static double *zeros(long n) { return calloc(n ? n : 1, sizeof(double)); }
static float *tof(const double *a, long n)
{
    float *f = malloc(sizeof *f * (n ? n : 1));
    for (long i = 0; i < n; i++) f[i] = (float)a[i];
    return f;
}
static float *zerosf(long n) { return calloc(n ? n : 1, sizeof(float)); }
static double dot(const double *a, const double *b, long n)
{
    double s = 0;
    for (long i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* Central differences of loss() with respect to every element of x (n),
 * against the analytic gradient g. */
static void gradcheck(const char *what, double *x, const double *g, long n, double (*loss)(void))
{
    double worst = 0;
    long at = -1;
    for (long i = 0; i < n; i++) {
        double x0 = x[i];
        x[i] = x0 + FD_STEP;
        double lp = loss();
        x[i] = x0 - FD_STEP;
        double lm = loss();
        x[i] = x0;
        double fd = (lp - lm) / (2 * FD_STEP);
        double err = fabs(fd - g[i]) / fmax(1, fabs(g[i]));
        if (err > worst) worst = err, at = i;
    }
    if (!(worst <= FD_TOL))
        t_fail(__FILE__, __LINE__, "%s: finite difference differs by %.3g (relative) at element %ld", what, worst, at);
}

/* The float build's result a against the double build's b. */
static void same_f(const char *what, const float *a, const double *b, long n)
{
    double mx = 1, worst = 0;
    for (long i = 0; i < n; i++) mx = fmax(mx, fabs(b[i]));
    for (long i = 0; i < n; i++) worst = fmax(worst, fabs(a[i] - b[i]));
    if (!(worst <= F32_TOL * mx))
        t_fail(__FILE__, __LINE__, "%s: float build differs from double build by %.3g (scale %.3g)", what, worst, mx);
}

/* ---- Linear ---- */
enum { LN = 3, LI = 4, LO = 5 };
static double *l_in, *l_w, *l_b, *l_out, *l_R;
static double linear_loss(void)
{
    linear_forward_d(l_out, l_in, l_w, l_b, LN, LI, LO);
    return dot(l_out, l_R, LN * LO);
}
static void test_linear(void)
{
    l_in = rnd(LN * LI, 1), l_w = rnd(LO * LI, 1), l_b = rnd(LO, 1), l_out = zeros(LN * LO), l_R = rnd(LN * LO, 1);
    double *din = zeros(LN * LI), *dw = zeros(LO * LI), *db = zeros(LO);
    linear_loss();
    linear_backward_d(din, dw, db, l_R, l_in, l_w, LN, LI, LO);
    gradcheck("linear in", l_in, din, LN * LI, linear_loss);
    gradcheck("linear w", l_w, dw, LO * LI, linear_loss);
    gradcheck("linear b", l_b, db, LO, linear_loss);
    float *fin = tof(l_in, LN * LI), *fw = tof(l_w, LO * LI), *fb = tof(l_b, LO), *fR = tof(l_R, LN * LO);
    float *fo = zerosf(LN * LO), *fdin = zerosf(LN * LI), *fdw = zerosf(LO * LI), *fdb = zerosf(LO);
    linear_forward(fo, fin, fw, fb, LN, LI, LO);
    linear_backward(fdin, fdw, fdb, fR, fin, fw, LN, LI, LO);
    same_f("linear out", fo, l_out, LN * LO);
    same_f("linear din", fdin, din, LN * LI);
    same_f("linear dw", fdw, dw, LO * LI);
    same_f("linear db", fdb, db, LO);
    /* backward adds: a second call doubles the gradient */
    linear_backward_d(din, dw, db, l_R, l_in, l_w, LN, LI, LO);
    double *dw1 = zeros(LO * LI);
    linear_backward_d(NULL, dw1, NULL, l_R, l_in, l_w, LN, LI, LO);
    CHECK_NEAR(dw[3], 2 * dw1[3], 1e-12);
    free(l_in), free(l_w), free(l_b), free(l_out), free(l_R), free(din), free(dw), free(db), free(dw1);
    free(fin), free(fw), free(fb), free(fR), free(fo), free(fdin), free(fdw), free(fdb);
}

/* ---- the gemm wrapper against its loops, every transpose and stride ---- */
static void test_gemm(void)
{
    enum { N = 7, K = 6, LD = 9 };
    /* M = 1 is nn_sgemm's matrix-vector path; beta 0 must not read C (NaN there) */
    for (int M = 1; M <= 5; M += 4)
        for (int beta = 0; beta < 2; beta++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++) {
                    double *A = rnd(LD * LD, 1), *Bm = rnd(LD * LD, 1), *C = rnd(LD * LD, 1);
                    float *fA = tof(A, LD * LD), *fB = tof(Bm, LD * LD), *fC = tof(C, LD * LD), *lC = tof(C, LD * LD);
                    if (!beta)
                        for (int i = 0; i < M; i++)
                            for (int j = 0; j < N; j++) fC[i * LD + j] = NAN;
                    nn_gemm_loop_d(ta, tb, M, N, K, 0.5, A, LD, Bm, LD, beta, C, LD);
                    nn_sgemm(ta, tb, M, N, K, 0.5f, fA, LD, fB, LD, beta, fC, LD);
                    nn_gemm_loop_f(ta, tb, M, N, K, 0.5f, fA, LD, fB, LD, beta, lC, LD);
                    same_f("sgemm", fC, C, LD * LD);
                    same_f("gemm loop float", lC, C, LD * LD);
                    free(A), free(Bm), free(C), free(fA), free(fB), free(fC), free(lC);
                }
}

/* ---- element-wise ---- */
enum { EN = 40 };
static double *e_in, *e_out, *e_R, *e_mask;
static int e_kind; /* 0 relu, 1 gelu, 2 dropout */
static double elem_loss(void)
{
    rng_t r;
    rng_seed(&r, 99);
    if (e_kind == 0) relu_forward_d(e_out, e_in, EN);
    else if (e_kind == 1) gelu_forward_d(e_out, e_in, EN);
    else dropout_forward_d(e_out, e_mask, e_in, EN, 0.3, &r);
    return dot(e_out, e_R, EN);
}
static void test_elementwise(void)
{
    const char *names[] = {"relu", "gelu", "dropout"};
    for (e_kind = 0; e_kind < 3; e_kind++) {
        e_in = rnd(EN, 2), e_out = zeros(EN), e_R = rnd(EN, 1), e_mask = zeros(EN);
        double *din = zeros(EN);
        elem_loss();
        if (e_kind == 0) relu_backward_d(din, e_R, e_out, EN);
        else if (e_kind == 1) gelu_backward_d(din, e_R, e_in, EN);
        else dropout_backward_d(din, e_R, e_mask, EN);
        gradcheck(names[e_kind], e_in, din, EN, elem_loss);
        float *fin = tof(e_in, EN), *fo = zerosf(EN), *fR = tof(e_R, EN), *fd = zerosf(EN), *fm = zerosf(EN);
        rng_t r;
        rng_seed(&r, 99);
        if (e_kind == 0) relu_forward(fo, fin, EN), relu_backward(fd, fR, fo, EN);
        else if (e_kind == 1) gelu_forward(fo, fin, EN), gelu_backward(fd, fR, fin, EN);
        else dropout_forward(fo, fm, fin, EN, 0.3, &r), dropout_backward(fd, fR, fm, EN);
        same_f(names[e_kind], fo, e_out, EN);
        same_f(names[e_kind], fd, din, EN);
        if (e_kind == 2) { /* some dropped, the rest scaled by 1/(1-p) */
            int dropped = 0;
            for (int i = 0; i < EN; i++) {
                dropped += e_mask[i] == 0;
                CHECK(e_mask[i] == 0 || fabs(e_mask[i] - 1 / 0.7) < 1e-12);
            }
            CHECK(dropped > 0 && dropped < EN);
        }
        if (e_kind == 1) CHECK_NEAR(e_out[0], 0.5 * e_in[0] * (1 + erf(e_in[0] / sqrt(2))), 1e-15);
        free(e_in), free(e_out), free(e_R), free(e_mask), free(din), free(fin), free(fo), free(fR), free(fd), free(fm);
    }
}

/* residual and concat */
static double *r_a, *r_b, *r_out, *r_R;
static double resid_loss(void)
{
    residual_forward_d(r_out, r_a, r_b, 6);
    return dot(r_out, r_R, 6);
}
static double *c_x[3], *c_out, *c_R;
static const int c_d[3] = {2, 3, 1};
static double concat_loss(void)
{
    concat_forward_d(c_out, (const double *const *)c_x, c_d, 3, 4);
    return dot(c_out, c_R, 4 * 6);
}
static void test_residual_concat(void)
{
    r_a = rnd(6, 1), r_b = rnd(6, 1), r_out = zeros(6), r_R = rnd(6, 1);
    double *da = zeros(6), *db = zeros(6);
    residual_backward_d(da, db, r_R, 6);
    gradcheck("residual a", r_a, da, 6, resid_loss);
    gradcheck("residual b", r_b, db, 6, resid_loss);
    for (int j = 0; j < 3; j++) c_x[j] = rnd(4 * c_d[j], 1);
    c_out = zeros(24), c_R = rnd(24, 1);
    double *dx[3];
    for (int j = 0; j < 3; j++) dx[j] = zeros(4 * c_d[j]);
    concat_loss();
    CHECK(c_out[6 + 2] == c_x[1][3]); /* row 1, column 2 = x1[1][0] */
    concat_backward_d(dx, c_R, c_d, 3, 4);
    for (int j = 0; j < 3; j++) gradcheck("concat", c_x[j], dx[j], 4 * c_d[j], concat_loss);
    for (int j = 0; j < 3; j++) free(c_x[j]), free(dx[j]);
    free(r_a), free(r_b), free(r_out), free(r_R), free(da), free(db), free(c_out), free(c_R);
}

/* ---- Conv1d ---- */
static int cv_B = 2, cv_T = 7, cv_C = 3, cv_O = 4, cv_K, cv_dil, cv_padl, cv_To;
static double *cv_in, *cv_w, *cv_b, *cv_out, *cv_col, *cv_R;
static double conv_loss(void)
{
    static double wp[4 * 3 * 5]; /* (O,K,C) of the cases below */
    conv1d_forward_d(cv_out, cv_col, wp, cv_in, cv_w, cv_b, cv_B, cv_T, cv_C, cv_O, cv_K, cv_dil, cv_padl, cv_To);
    return dot(cv_out, cv_R, (long)cv_B * cv_To * cv_O);
}
/* Direct definition of the convolution, independent of im2col. */
static double conv_direct(int b, int t, int o)
{
    double s = cv_b[o];
    for (int c = 0; c < cv_C; c++)
        for (int k = 0; k < cv_K; k++) {
            int src = t + k * cv_dil - cv_padl;
            if (src >= 0 && src < cv_T) s += cv_w[(o * cv_C + c) * cv_K + k] * cv_in[((long)b * cv_T + src) * cv_C + c];
        }
    return s;
}
static void conv_case(int K, int dil, int padl, int padr)
{
    cv_K = K, cv_dil = dil, cv_padl = padl, cv_To = cv_T + padl + padr - dil * (K - 1);
    long nin = (long)cv_B * cv_T * cv_C, nw = (long)cv_O * cv_C * K, nout = (long)cv_B * cv_To * cv_O;
    long ncol = (long)cv_B * cv_To * cv_C * K;
    cv_in = rnd(nin, 1), cv_w = rnd(nw, 1), cv_b = rnd(cv_O, 1), cv_out = zeros(nout), cv_R = rnd(nout, 1);
    int plain = K == 1 && padl == 0 && padr == 0;
    cv_col = plain ? NULL : zeros(ncol);
    double *din = zeros(nin), *dw = zeros(nw), *db = zeros(cv_O), *dcol = plain ? NULL : zeros(ncol);
    conv_loss();
    for (int b = 0; b < cv_B; b++)
        for (int t = 0; t < cv_To; t++)
            for (int o = 0; o < cv_O; o++) CHECK_NEAR(cv_out[((long)b * cv_To + t) * cv_O + o], conv_direct(b, t, o), 1e-12);
    double *wp = zeros(2 * nw);
    float *fwp = zerosf(2 * nw);
    conv1d_backward_d(din, dw, db, dcol, wp, cv_R, cv_col, cv_in, cv_w, cv_B, cv_T, cv_C, cv_O, K, dil, padl, cv_To);
    gradcheck("conv in", cv_in, din, nin, conv_loss);
    gradcheck("conv w", cv_w, dw, nw, conv_loss);
    gradcheck("conv b", cv_b, db, cv_O, conv_loss);
    float *fin = tof(cv_in, nin), *fw = tof(cv_w, nw), *fb = tof(cv_b, cv_O), *fR = tof(cv_R, nout);
    float *fo = zerosf(nout), *fcol = plain ? NULL : zerosf(ncol), *fdcol = plain ? NULL : zerosf(ncol);
    float *fdin = zerosf(nin), *fdw = zerosf(nw), *fdb = zerosf(cv_O);
    conv1d_forward(fo, fcol, fwp, fin, fw, fb, cv_B, cv_T, cv_C, cv_O, K, dil, padl, cv_To);
    conv1d_backward(fdin, fdw, fdb, fdcol, fwp, fR, fcol, fin, fw, cv_B, cv_T, cv_C, cv_O, K, dil, padl, cv_To);
    same_f("conv out", fo, cv_out, nout);
    same_f("conv din", fdin, din, nin);
    same_f("conv dw", fdw, dw, nw);
    free(cv_in), free(cv_w), free(cv_b), free(cv_out), free(cv_R), free(cv_col), free(din), free(dw), free(db), free(dcol);
    free(fin), free(fw), free(fb), free(fR), free(fo), free(fcol), free(fdcol), free(fdin), free(fdw), free(fdb);
    free(wp), free(fwp);
}
static void test_conv1d(void)
{
    conv_case(3, 2, 4, 0); /* causal, dilation 2 (a TCN block) */
    conv_case(5, 1, 2, 2); /* "same", kernel 5 (the CNN) */
    conv_case(1, 1, 0, 0); /* 1x1 downsample, no im2col */
    conv_case(4, 1, 2, 2); /* even kernel: one more output step than input */
    cv_B = 8;               /* B*To >= 8*O: im2col in (k, c) order, the weight swapped */
    conv_case(5, 1, 2, 2);
    conv_case(3, 2, 4, 0);
    cv_B = 2;
    /* a batch whose col2im runs in several blocks of sequences (16 a block
     * here): the float build against the double one */
    enum { B = 37, T = 40, C = 20, O = 8, K = 5, PAD = 2 };
    long nin = (long)B * T * C, nw = (long)O * C * K, nout = (long)B * T * O, ncol = nin * K;
    double *in = rnd(nin, 1), *w = rnd(nw, 1), *b = rnd(O, 1), *out = zeros(nout), *col = zeros(ncol), *R = rnd(nout, 1);
    double *din = zeros(nin), *dw = zeros(nw), *db = zeros(O), *dcol = zeros(ncol), *wp = zeros(2 * nw);
    conv1d_forward_d(out, col, wp, in, w, b, B, T, C, O, K, 1, PAD, T);
    conv1d_backward_d(din, dw, db, dcol, wp, R, col, in, w, B, T, C, O, K, 1, PAD, T);
    float *fin = tof(in, nin), *fw = tof(w, nw), *fb = tof(b, O), *fR = tof(R, nout), *fo = zerosf(nout);
    float *fcol = zerosf(ncol), *fdcol = zerosf(ncol), *fdin = zerosf(nin), *fdw = zerosf(nw), *fdb = zerosf(O);
    float *fwp = zerosf(2 * nw);
    conv1d_forward(fo, fcol, fwp, fin, fw, fb, B, T, C, O, K, 1, PAD, T);
    conv1d_backward(fdin, fdw, fdb, fdcol, fwp, fR, fcol, fin, fw, B, T, C, O, K, 1, PAD, T);
    same_f("conv blocks out", fo, out, nout);
    same_f("conv blocks din", fdin, din, nin);
    same_f("conv blocks dw", fdw, dw, nw);
    free(in), free(w), free(b), free(out), free(col), free(R), free(din), free(dw), free(db), free(dcol), free(wp);
    free(fin), free(fw), free(fb), free(fR), free(fo), free(fcol), free(fdcol), free(fdin), free(fdw), free(fdb), free(fwp);
}

/* ---- Conv1d at some steps only (the TCN's receptive cone) ----
 * The causal dilated convolution evaluated at no outputs of stride so from an
 * input held at ni steps of stride si (all ending at T-1) equals those rows of
 * the full convolution; its gradients equal the full convolution's with dout
 * zero at the other steps (din restricted to the held steps, and zero at the
 * steps not held: nothing there is read). */
static void test_conv1d_steps(void)
{
    enum { SB = 2, ST = 20, SC = 3, SO = 4, SK = 3, SD = 2, SPAD = (SK - 1) * SD, SSI = 2, SNI = 9, SSO = 4, SNO = 3 };
    long nin = SB * ST * SC, nw = SO * SC * SK, nout = SB * ST * SO;
    double *in = rnd(nin, 1), *w = rnd(nw, 1), *b = rnd(SO, 1), *out = zeros(nout), *col = zeros(nout * SC * SK);
    double *wp = zeros(2 * nw);
    conv1d_forward_d(out, col, wp, in, w, b, SB, ST, SC, SO, SK, SD, SPAD, ST);
    /* the input at steps 19, 17, ..., 3 and dout at steps 19, 15, 11 */
    double *sin_ = zeros(SB * SNI * SC), *sout = zeros(SB * SNO * SO), *scol = zeros(SB * SNO * SC * SK);
    double *R = rnd(SB * SNO * SO, 1), *Rfull = zeros(nout);
    for (int bb = 0; bb < SB; bb++) {
        for (int i = 0; i < SNI; i++)
            for (int c = 0; c < SC; c++)
                sin_[(bb * SNI + i) * SC + c] = in[(bb * ST + ST - 1 - (SNI - 1 - i) * SSI) * SC + c];
        for (int j = 0; j < SNO; j++)
            for (int o = 0; o < SO; o++)
                Rfull[(bb * ST + ST - 1 - (SNO - 1 - j) * SSO) * SO + o] = R[(bb * SNO + j) * SO + o];
    }
    conv1d_steps_forward_d(sout, scol, sin_, w, b, SB, ST, SC, SO, SK, SD, SPAD, SSI, SNI, SSO, SNO);
    double worst = 0;
    for (int bb = 0; bb < SB; bb++)
        for (int j = 0; j < SNO; j++)
            for (int o = 0; o < SO; o++)
                worst = fmax(worst, fabs(sout[(bb * SNO + j) * SO + o] -
                                         out[(bb * ST + ST - 1 - (SNO - 1 - j) * SSO) * SO + o]));
    CHECK_NEAR(worst, 0, 1e-12);
    double *din = zeros(nin), *dw = zeros(nw), *db = zeros(SO), *dcol = zeros(nout * SC * SK);
    double *sdin = zeros(SB * SNI * SC), *sdw = zeros(nw), *sdb = zeros(SO), *sdcol = zeros(SB * SNO * SC * SK);
    conv1d_backward_d(din, dw, db, dcol, wp, Rfull, col, in, w, SB, ST, SC, SO, SK, SD, SPAD, ST);
    conv1d_steps_backward_d(sdin, sdw, sdb, sdcol, R, scol, w, SB, ST, SC, SO, SK, SD, SPAD, SSI, SNI, SSO, SNO);
    worst = 0;
    for (long i = 0; i < nw; i++) worst = fmax(worst, fabs(sdw[i] - dw[i]));
    for (int o = 0; o < SO; o++) worst = fmax(worst, fabs(sdb[o] - db[o]));
    double held = 0, other = 0;
    for (int bb = 0; bb < SB; bb++)
        for (int t = 0; t < ST; t++)
            for (int c = 0; c < SC; c++) {
                double g = din[(bb * ST + t) * SC + c];
                int back = ST - 1 - t;
                if (back % SSI == 0 && back / SSI < SNI)
                    held = fmax(held, fabs(sdin[(bb * SNI + SNI - 1 - back / SSI) * SC + c] - g));
                else
                    other = fmax(other, fabs(g));
            }
    CHECK_NEAR(worst, 0, 1e-12);
    CHECK_NEAR(held, 0, 1e-12);
    CHECK_NEAR(other, 0, 0);
    /* and the float build agrees with the double one */
    float *fin = tof(sin_, SB * SNI * SC), *fw = tof(w, nw), *fb = tof(b, SO), *fR = tof(R, SB * SNO * SO);
    float *fo = zerosf(SB * SNO * SO), *fcol = zerosf(SB * SNO * SC * SK), *fdcol = zerosf(SB * SNO * SC * SK);
    float *fdin = zerosf(SB * SNI * SC), *fdw = zerosf(nw), *fdb = zerosf(SO);
    conv1d_steps_forward(fo, fcol, fin, fw, fb, SB, ST, SC, SO, SK, SD, SPAD, SSI, SNI, SSO, SNO);
    conv1d_steps_backward(fdin, fdw, fdb, fdcol, fR, fcol, fw, SB, ST, SC, SO, SK, SD, SPAD, SSI, SNI, SSO, SNO);
    same_f("conv steps out", fo, sout, SB * SNO * SO);
    same_f("conv steps din", fdin, sdin, SB * SNI * SC);
    same_f("conv steps dw", fdw, sdw, nw);
    free(in), free(w), free(b), free(out), free(col), free(sin_), free(sout), free(scol), free(R), free(Rfull);
    free(din), free(dw), free(db), free(dcol), free(sdin), free(sdw), free(sdb), free(sdcol), free(wp);
    free(fin), free(fw), free(fb), free(fR), free(fo), free(fcol), free(fdcol), free(fdin), free(fdw), free(fdb);
}

/* ---- pooling ---- */
enum { PB = 2, PT = 7, PC = 3 };
static double *p_in, *p_out, *p_R;
static int *p_arg, p_kind;
static double pool_loss(void)
{
    if (p_kind == 0) maxpool_forward_d(p_out, p_arg, p_in, PB, PT, PC);
    else if (p_kind == 1) meantime_forward_d(p_out, p_in, PB, PT, PC);
    else laststep_forward_d(p_out, p_in, PB, PT, PC);
    return dot(p_out, p_R, p_kind == 0 ? PB * (PT / 2) * PC : PB * PC);
}
static void test_pool(void)
{
    const char *names[] = {"maxpool", "meantime", "laststep"};
    for (p_kind = 0; p_kind < 3; p_kind++) {
        long nin = PB * PT * PC, nout = p_kind == 0 ? PB * (PT / 2) * PC : PB * PC;
        p_in = rnd(nin, 1), p_out = zeros(nout), p_R = rnd(nout, 1), p_arg = calloc(nout, sizeof(int));
        double *din = zeros(nin);
        pool_loss();
        if (p_kind == 0) maxpool_backward_d(din, p_R, p_arg, PB, PT, PC);
        else if (p_kind == 1) meantime_backward_d(din, p_R, PB, PT, PC);
        else laststep_backward_d(din, p_R, PB, PT, PC);
        gradcheck(names[p_kind], p_in, din, nin, pool_loss);
        if (p_kind == 0) CHECK_NEAR(p_out[PC + 1], fmax(p_in[2 * PC + 1], p_in[3 * PC + 1]), 0);
        free(p_in), free(p_out), free(p_R), free(p_arg), free(din);
    }
}

/* ---- LayerNorm ---- */
enum { NN_ = 4, NC = 6 };
static double *n_in, *n_w, *n_b, *n_out, *n_mean, *n_rstd, *n_R;
static double ln_loss(void)
{
    layernorm_forward_d(n_out, n_mean, n_rstd, n_in, n_w, n_b, NN_, NC);
    return dot(n_out, n_R, NN_ * NC);
}
static void test_layernorm(void)
{
    n_in = rnd(NN_ * NC, 2), n_w = rnd(NC, 1), n_b = rnd(NC, 1), n_out = zeros(NN_ * NC), n_R = rnd(NN_ * NC, 1);
    n_mean = zeros(NN_), n_rstd = zeros(NN_);
    double *din = zeros(NN_ * NC), *dw = zeros(NC), *db = zeros(NC);
    ln_loss();
    layernorm_backward_d(din, dw, db, n_R, n_in, n_w, n_mean, n_rstd, NN_, NC);
    gradcheck("layernorm in", n_in, din, NN_ * NC, ln_loss);
    gradcheck("layernorm w", n_w, dw, NC, ln_loss);
    gradcheck("layernorm b", n_b, db, NC, ln_loss);
    float *fin = tof(n_in, NN_ * NC), *fw = tof(n_w, NC), *fb = tof(n_b, NC), *fo = zerosf(NN_ * NC);
    float *fm = zerosf(NN_), *fr = zerosf(NN_), *fR = tof(n_R, NN_ * NC), *fdin = zerosf(NN_ * NC), *fdw = zerosf(NC), *fdb = zerosf(NC);
    layernorm_forward(fo, fm, fr, fin, fw, fb, NN_, NC);
    layernorm_backward(fdin, fdw, fdb, fR, fin, fw, fm, fr, NN_, NC);
    same_f("layernorm out", fo, n_out, NN_ * NC);
    same_f("layernorm din", fdin, din, NN_ * NC);
    free(n_in), free(n_w), free(n_b), free(n_out), free(n_R), free(n_mean), free(n_rstd), free(din), free(dw), free(db);
    free(fin), free(fw), free(fb), free(fo), free(fm), free(fr), free(fR), free(fdin), free(fdw), free(fdb);
}

/* ---- LSTM and GRU ---- */
enum { RB = 2, RT = 5, RI = 3, RH = 4 };
static int r_gru;
static double *rn_in, *rn_wih, *rn_whh, *rn_bih, *rn_bhh, *rn_h, *rn_c, *rn_g, *rn_hn, *rn_gh, *rn_R;
static double rnn_loss(void)
{
    static double wt[4 * RH * RH];
    if (r_gru) gru_forward_d(rn_h, rn_g, rn_hn, rn_gh, wt, rn_in, rn_wih, rn_whh, rn_bih, rn_bhh, RB, RT, RI, RH);
    else lstm_forward_d(rn_h, rn_c, rn_g, wt, rn_in, rn_wih, rn_whh, rn_bih, rn_bhh, RB, RT, RI, RH);
    return dot(rn_h, rn_R, RB * RT * RH);
}
/* The float LSTM or GRU on (B,T,I) inputs with H units: forward, then
 * backward from the upstream gradient R (B,T,H), each output in a buffer of
 * its own (rnn_f_free gives them back). */
typedef struct {
    float *h, *c, *g, *hn, *gh, *wt, *dh, *din, *dwih, *dwhh, *dbih, *dbhh, *s1, *s2;
} rnn_f;

static rnn_f rnn_float_run(int gru, const float *in, const float *wih, const float *whh, const float *bih,
                           const float *bhh, const double *R, int B, int T, int I, int H)
{
    const int G = (gru ? 3 : 4) * H;
    const long nin = (long)B * T * I, nh = (long)B * T * H, ng = (long)B * T * G;
    rnn_f f = {zerosf(nh), zerosf(nh), zerosf(ng), zerosf(nh), zerosf((long)B * G), zerosf(4L * H * H), tof(R, nh),
               zerosf(nin), zerosf((long)G * I), zerosf((long)G * H), zerosf(G), zerosf(G), zerosf(ng), zerosf(ng)};
    if (gru) {
        gru_forward(f.h, f.g, f.hn, f.gh, f.wt, in, wih, whh, bih, bhh, B, T, I, H);
        gru_backward(f.din, f.dwih, f.dwhh, f.dbih, f.dbhh, f.dh, f.s1, f.s2, f.h, f.g, f.hn, in, wih, whh, B, T, I, H);
    } else {
        lstm_forward(f.h, f.c, f.g, f.wt, in, wih, whh, bih, bhh, B, T, I, H);
        lstm_backward(f.din, f.dwih, f.dwhh, f.dbih, f.dbhh, f.dh, f.s1, f.s2, f.h, f.c, f.g, in, wih, whh, B, T, I, H);
    }
    return f;
}

static void rnn_f_free(rnn_f *f)
{
    free(f->h), free(f->c), free(f->g), free(f->hn), free(f->gh), free(f->wt), free(f->dh), free(f->din);
    free(f->dwih), free(f->dwhh), free(f->dbih), free(f->dbhh), free(f->s1), free(f->s2);
}

static void test_rnn(int gru)
{
    r_gru = gru;
    const int G = (gru ? 3 : 4) * RH;
    long nin = RB * RT * RI, nh = RB * RT * RH, ng = (long)RB * RT * G;
    rn_in = rnd(nin, 1), rn_wih = rnd(G * RI, 0.7), rn_whh = rnd(G * RH, 0.7), rn_bih = rnd(G, 0.5), rn_bhh = rnd(G, 0.5);
    rn_h = zeros(nh), rn_c = zeros(nh), rn_g = zeros(ng), rn_hn = zeros(nh), rn_gh = zeros(RB * G), rn_R = rnd(nh, 1);
    double *din = zeros(nin), *dwih = zeros(G * RI), *dwhh = zeros(G * RH), *dbih = zeros(G), *dbhh = zeros(G);
    double *dh = zeros(nh), *s1 = zeros(ng), *s2 = zeros(ng);
    rnn_loss();
    memcpy(dh, rn_R, sizeof(double) * nh);
    if (gru) gru_backward_d(din, dwih, dwhh, dbih, dbhh, dh, s1, s2, rn_h, rn_g, rn_hn, rn_in, rn_wih, rn_whh, RB, RT, RI, RH);
    else lstm_backward_d(din, dwih, dwhh, dbih, dbhh, dh, s1, s2, rn_h, rn_c, rn_g, rn_in, rn_wih, rn_whh, RB, RT, RI, RH);
    const char *nm = gru ? "gru" : "lstm";
    char what[64];
    snprintf(what, sizeof what, "%s in", nm), gradcheck(what, rn_in, din, nin, rnn_loss);
    snprintf(what, sizeof what, "%s w_ih", nm), gradcheck(what, rn_wih, dwih, G * RI, rnn_loss);
    snprintf(what, sizeof what, "%s w_hh", nm), gradcheck(what, rn_whh, dwhh, G * RH, rnn_loss);
    snprintf(what, sizeof what, "%s b_ih", nm), gradcheck(what, rn_bih, dbih, G, rnn_loss);
    snprintf(what, sizeof what, "%s b_hh", nm), gradcheck(what, rn_bhh, dbhh, G, rnn_loss);
    /* float build */
    float *fin = tof(rn_in, nin), *fwih = tof(rn_wih, G * RI), *fwhh = tof(rn_whh, G * RH), *fbih = tof(rn_bih, G), *fbhh = tof(rn_bhh, G);
    rnn_f f = rnn_float_run(gru, fin, fwih, fwhh, fbih, fbhh, rn_R, RB, RT, RI, RH);
    same_f("rnn h", f.h, rn_h, nh);
    same_f("rnn din", f.din, din, nin);
    same_f("rnn dw_hh", f.dwhh, dwhh, G * RH);
    same_f("rnn db_hh", f.dbhh, dbhh, G);
    /* the first step by hand: with h0 = 0, h_1 depends on x_1 and biases only */
    if (!gru) {
        double gi[4];
        for (int q = 0; q < 4; q++) {
            int j = q * RH; /* unit 0 of gate q */
            gi[q] = rn_bih[j] + rn_bhh[j];
            for (int i = 0; i < RI; i++) gi[q] += rn_wih[j * RI + i] * rn_in[i];
        }
        double sg = 1 / (1 + exp(-gi[0])), so = 1 / (1 + exp(-gi[3]));
        CHECK_NEAR(rn_h[0], so * tanh(sg * tanh(gi[2])), 1e-12);
    } else {
        double g3[3];
        for (int q = 0; q < 3; q++) {
            int j = q * RH;
            g3[q] = rn_bih[j];
            for (int i = 0; i < RI; i++) g3[q] += rn_wih[j * RI + i] * rn_in[i];
        }
        double r = 1 / (1 + exp(-(g3[0] + rn_bhh[0]))), z = 1 / (1 + exp(-(g3[1] + rn_bhh[RH])));
        double n = tanh(g3[2] + r * rn_bhh[2 * RH]);
        CHECK_NEAR(rn_h[0], (1 - z) * n, 1e-12);
    }
    free(rn_in), free(rn_wih), free(rn_whh), free(rn_bih), free(rn_bhh), free(rn_h), free(rn_c), free(rn_g), free(rn_hn), free(rn_gh), free(rn_R);
    free(din), free(dwih), free(dwhh), free(dbih), free(dbhh), free(dh), free(s1), free(s2);
    free(fin), free(fwih), free(fwhh), free(fbih), free(fbhh);
    rnn_f_free(&f);
}
static void test_lstm(void) { test_rnn(0); }
static void test_gru(void) { test_rnn(1); }

/* The float LSTM and GRU (simd.c's step kernels, 16 units at a time)
 * against the double build at H = 37 (full chunks and a tail), at every simd
 * variant this CPU runs; the variants agree bit for bit. */
static void test_rnn_wide(void)
{
    enum { B = 3, T = 6, I = 5, H = 37 };
    for (int gru = 0; gru < 2; gru++) {
        const int G = (gru ? 3 : 4) * H;
        const long nin = B * T * I, nh = B * T * H, ng = (long)B * T * G;
        double *in = rnd(nin, 1), *wih = rnd(G * I, 0.3), *whh = rnd(G * H, 0.3), *bih = rnd(G, 0.5), *bhh = rnd(G, 0.5);
        double *h = zeros(nh), *c = zeros(nh), *g = zeros(ng), *hn = zeros(nh), *gh = zeros(B * G), *R = rnd(nh, 1);
        double *din = zeros(nin), *dwih = zeros(G * I), *dwhh = zeros(G * H), *dbih = zeros(G), *dbhh = zeros(G);
        double *dh = zeros(nh), *s1 = zeros(ng), *s2 = zeros(ng), wt[4 * H * H];
        memcpy(dh, R, sizeof(double) * nh);
        if (gru) {
            gru_forward_d(h, g, hn, gh, wt, in, wih, whh, bih, bhh, B, T, I, H);
            gru_backward_d(din, dwih, dwhh, dbih, dbhh, dh, s1, s2, h, g, hn, in, wih, whh, B, T, I, H);
        } else {
            lstm_forward_d(h, c, g, wt, in, wih, whh, bih, bhh, B, T, I, H);
            lstm_backward_d(din, dwih, dwhh, dbih, dbhh, dh, s1, s2, h, c, g, in, wih, whh, B, T, I, H);
        }
        float *fin = tof(in, nin), *fwih = tof(wih, G * I), *fwhh = tof(whh, G * H), *fbih = tof(bih, G), *fbhh = tof(bhh, G);
        rnn_f ref = {0};
        for (int level = 0; level <= nn_simd_max(); level++) {
            nn_simd_use(level);
            rnn_f f = rnn_float_run(gru, fin, fwih, fwhh, fbih, fbhh, R, B, T, I, H);
            same_f("wide rnn h", f.h, h, nh);
            same_f("wide rnn din", f.din, din, nin);
            same_f("wide rnn dw_ih", f.dwih, dwih, G * I);
            same_f("wide rnn dw_hh", f.dwhh, dwhh, G * H);
            same_f("wide rnn db_ih", f.dbih, dbih, G);
            same_f("wide rnn db_hh", f.dbhh, dbhh, G);
            if (!level) {
                ref = f;
            } else {
                CHECK(memcmp(ref.h, f.h, sizeof(float) * nh) == 0);
                CHECK(memcmp(ref.din, f.din, sizeof(float) * nin) == 0);
                CHECK(memcmp(ref.dwhh, f.dwhh, sizeof(float) * G * H) == 0);
                rnn_f_free(&f);
            }
        }
        nn_simd_use(nn_simd_max());
        rnn_f_free(&ref);
        free(in), free(wih), free(whh), free(bih), free(bhh), free(h), free(c), free(g), free(hn), free(gh), free(R);
        free(din), free(dwih), free(dwhh), free(dbih), free(dbhh), free(dh), free(s1), free(s2);
        free(fin), free(fwih), free(fwhh), free(fbih), free(fbhh);
    }
}

/* ---- attention ---- */
enum { AB = 2, AT = 5, AH = 8, ANH = 2 };
static int a_causal;
static double *a_qkv, *a_out, *a_att, *a_R;
static double mha_loss(void)
{
    mha_forward_d(a_out, a_att, a_qkv, AB, AT, AH, ANH, a_causal);
    return dot(a_out, a_R, AB * AT * AH);
}
static void test_mha(void)
{
    for (a_causal = 0; a_causal < 2; a_causal++) {
        long nq = AB * AT * 3 * AH, no = AB * AT * AH, na = (long)AB * ANH * AT * AT;
        a_qkv = rnd(nq, 1), a_out = zeros(no), a_att = zeros(na), a_R = rnd(no, 1);
        double *dq = zeros(nq), *datt = zeros(AT * AT);
        mha_loss();
        mha_backward_d(dq, datt, a_R, a_att, a_qkv, AB, AT, AH, ANH);
        gradcheck(a_causal ? "mha causal" : "mha", a_qkv, dq, nq, mha_loss);
        if (a_causal) CHECK(a_att[1] == 0 && fabs(a_att[0] - 1) < 1e-15); /* step 0 sees only itself */
        /* attention rows sum to 1 */
        double s = 0;
        for (int t = 0; t < AT; t++) s += a_att[AT * AT + 2 * AT + t];
        CHECK_NEAR(s, 1, 1e-12);
        float *fq = tof(a_qkv, nq), *fo = zerosf(no), *fa = zerosf(na), *fR = tof(a_R, no), *fdq = zerosf(nq), *fdatt = zerosf(AT * AT);
        mha_forward(fo, fa, fq, AB, AT, AH, ANH, a_causal);
        mha_backward(fdq, fdatt, fR, fa, fq, AB, AT, AH, ANH);
        same_f("mha out", fo, a_out, no);
        same_f("mha dqkv", fdq, dq, nq);
        free(a_qkv), free(a_out), free(a_att), free(a_R), free(dq), free(datt);
        free(fq), free(fo), free(fa), free(fR), free(fdq), free(fdatt);
    }
}

/* Attention for the last query only equals the last row of the full layer,
 * and its gradient equals the full layer's with dout zero except at T-1. */
static void test_mha_last(void)
{
    long nq = AB * AT * 3 * AH, no = AB * AT * AH, na = (long)AB * ANH * AT * AT;
    double *qkv = rnd(nq, 1), *out = zeros(no), *att = zeros(na), *R = rnd(AB * AH, 1), *Rfull = zeros(no);
    double *lout = zeros(AB * AH), *latt = zeros(AB * ANH * AT), *dq = zeros(nq), *ldq = zeros(nq);
    double *datt = zeros(AT * AT);
    for (int b = 0; b < AB; b++) memcpy(Rfull + ((long)b * AT + AT - 1) * AH, R + b * AH, sizeof(double) * AH);
    mha_forward_d(out, att, qkv, AB, AT, AH, ANH, 0);
    mha_last_forward_d(lout, latt, qkv, AB, AT, AH, ANH);
    mha_backward_d(dq, datt, Rfull, att, qkv, AB, AT, AH, ANH);
    mha_last_backward_d(ldq, datt, R, latt, qkv, AB, AT, AH, ANH);
    double worst = 0;
    for (int b = 0; b < AB; b++)
        for (int c = 0; c < AH; c++) worst = fmax(worst, fabs(lout[b * AH + c] - out[((long)b * AT + AT - 1) * AH + c]));
    for (long i = 0; i < nq; i++) worst = fmax(worst, fabs(ldq[i] - dq[i]));
    CHECK_NEAR(worst, 0, 1e-12);
    float *fq = tof(qkv, nq), *fo = zerosf(AB * AH), *fa = zerosf(AB * ANH * AT), *fR = tof(R, AB * AH);
    float *fdq = zerosf(nq), *fdatt = zerosf(AT);
    mha_last_forward(fo, fa, fq, AB, AT, AH, ANH);
    mha_last_backward(fdq, fdatt, fR, fa, fq, AB, AT, AH, ANH);
    same_f("mha last out", fo, lout, AB * AH);
    same_f("mha last dqkv", fdq, ldq, nq);
    free(qkv), free(out), free(att), free(R), free(Rfull), free(lout), free(latt), free(dq), free(ldq), free(datt);
    free(fq), free(fo), free(fa), free(fR), free(fdq), free(fdatt);
}

static void test_sinusoid(void)
{
    double pe[6 * 8];
    sinusoid_table_d(pe, 6, 8);
    for (int t = 0; t < 6; t++)
        for (int i = 0; i < 4; i++) {
            double d = exp(-2.0 * i * log(10000.0) / 8);
            CHECK_NEAR(pe[t * 8 + 2 * i], sin(t * d), 1e-6);
            CHECK_NEAR(pe[t * 8 + 2 * i + 1], cos(t * d), 1e-6);
        }
}

/* ---- cross-entropy ---- */
enum { XB = 4, XC = 3 };
static double *x_logits, *x_probs, x_cw[XC] = {0.5, 2.0, 1.25};
static int x_y[XB] = {0, 2, 1, 2};
static double ce_loss(void) { return crossentropy_forward_d(x_probs, x_logits, x_y, x_cw, XB, XC); }
static void test_crossentropy(void)
{
    x_logits = rnd(XB * XC, 3), x_probs = zeros(XB * XC);
    double *dl = zeros(XB * XC);
    double L = ce_loss();
    crossentropy_backward_d(dl, x_probs, x_y, x_cw, 1.0, XB, XC);
    gradcheck("crossentropy", x_logits, dl, XB * XC, ce_loss);
    /* by definition: sum_i w_yi * -log softmax(z_i)[y_i] / sum_i w_yi */
    double num = 0, den = 0;
    for (int b = 0; b < XB; b++) {
        double s = 0;
        for (int c = 0; c < XC; c++) s += exp(x_logits[b * XC + c]);
        num += x_cw[x_y[b]] * -log(exp(x_logits[b * XC + x_y[b]]) / s);
        den += x_cw[x_y[b]];
    }
    CHECK_NEAR(L, num / den, 1e-12);
    /* huge logits stay finite */
    x_logits[0] = 1e4, x_logits[1] = -1e4;
    CHECK(isfinite(ce_loss()));
    free(x_logits), free(x_probs), free(dl);
}

int main(void)
{
    rng_seed(&rng, 12345);
    t_run("nn layers: sgemm (and its one-row path) and the plain-loop gemm agree for every transpose, stride and beta", test_gemm);
    t_run("nn layers: linear gradients match finite differences; float build matches", test_linear);
    t_run("nn layers: relu, gelu, dropout gradients match finite differences", test_elementwise);
    t_run("nn layers: residual add and concatenation gradients", test_residual_concat);
    t_run("nn layers: conv1d (causal dilated, same, 1x1, even kernel; im2col in both column orders) matches its "
          "definition and gradients; a batch in several col2im blocks", test_conv1d);
    t_run("nn layers: conv1d at strided output steps from strided input steps equals the full conv's rows and gradients",
          test_conv1d_steps);
    t_run("nn layers: max-pool, mean and last step over time gradients", test_pool);
    t_run("nn layers: layernorm gradients match finite differences", test_layernorm);
    t_run("nn layers: lstm (gate order i,f,g,o) gradients and first step by hand", test_lstm);
    t_run("nn layers: gru (reset gate on W_hn h + b_hn) gradients and first step by hand", test_gru);
    t_run("nn layers: lstm and gru at H = 37, float at every simd variant against double; the variants agree bit for bit",
          test_rnn_wide);
    t_run("nn layers: multi-head attention, plain and causal, gradients", test_mha);
    t_run("nn layers: attention of the last query equals the full layer's last row and gradients", test_mha_last);
    t_run("nn layers: sinusoidal encoding matches its formula", test_sinusoid);
    t_run("nn layers: weighted cross-entropy matches its definition and gradients", test_crossentropy);
    return t_done();
}
