/* simd.h: the float element kernels of lib/nn (exp, sigmoid, tanh and the
 * LSTM/GRU cells of one time step), written once with GCC's generic vectors
 * of 16 floats (simd_body.h) and compiled three times in simd.c: for
 * AVX-512, for AVX2 and for the baseline (SSE2 on x86-64). The widest one the
 * CPU has is chosen at start-up.
 *
 * Every lane does the same IEEE operations in the same order in all three:
 * the exp polynomial's fused multiply-adds are explicit (the FMA
 * instructions; fmaf, also exact, in the baseline), and the build is ISO C,
 * where GCC does not contract other a*b+c into FMA. So the results are the
 * same bit for bit whichever variant runs; test_nn_math checks that on every
 * variant the CPU has. AVX2 is used only with FMA (every AVX2 processor since
 * 2013 has both).
 *
 * The float build of the layers calls these; the double build (the tests'
 * reference) keeps its plain loops over libm.
 * Dimensions: H hidden, rows sequences of one time step; ld row strides. */
#ifndef KML_NN_SIMD_H
#define KML_NN_SIMD_H

/* y[i] = f(x[i]) for i < n (y may be x). exp: x clamped to [-87, 88] (NaN
 * passes); sigmoid x = 1/(1+e^-x); tanh x = 2 sigmoid(2x) - 1. The accuracy
 * is stated in nn_real.h. */
void nn_exp_n(float *y, const float *x, int n);
void nn_sigmoid_n(float *y, const float *x, int n);
void nn_tanh_n(float *y, const float *x, int n);

/* One LSTM time step for `rows` sequences (see lstm_forward): g (rows, ldg)
 * holds the pre-activations i, f, g, o (4H) and gets them activated; c and
 * h (rows, ld) get c_t = f c_{t-1} + i g and h_t = o tanh(c_t); cp (rows, ld)
 * is c_{t-1}, NULL at t = 0 (c_{-1} = 0). */
void nn_lstm_step_forward(float *g, long ldg, float *c, float *h, const float *cp, long ld, int rows, int H);
/* Its backward: from the activated gates g (rows, ldg), c_t and c_{t-1}
 * (rows, ld; cp NULL at t = 0) and dh_t (rows, ld), the pre-activation
 * gradients dg (rows, ldg), and db (4H) += the sum of dg's rows (added row by
 * row, in row order); dc (rows, H) carries dc_{t+1} f_{t+1} in and dc_t f_t
 * out. tanh(c_t) is recomputed as the forward pass computed it. */
void nn_lstm_step_backward(float *dg, float *dc, float *db, const float *g, long ldg, const float *c,
                           const float *cp, const float *dh, long ld, int rows, int H);

/* One GRU time step (see gru_forward): g (rows, ldg) holds the input-side
 * pre-activations x w_ih^T + b_ih (3H: r, z, n) and gets r, z, n activated;
 * gh (rows, 3H) is h_{t-1} w_hh^T (zeros at t = 0), b_hh (3H); hn (rows, ld)
 * gets W_hn h_{t-1} + b_hn, h (rows, ld) h_t; hp (rows, ld) is h_{t-1}, NULL
 * at t = 0. */
void nn_gru_step_forward(float *g, long ldg, float *hn, float *h, const float *hp, long ld, const float *gh,
                         const float *b_hh, int rows, int H);
/* Its backward: the input-side (dx) and hidden-side (dhh) pre-activation
 * gradients (rows, ldg), dh_{t-1} += dh_t z in dhp (rows, ld; hp and dhp
 * NULL at t = 0), and the bias gradients dbx, dbh (3H) += the sums of dx's
 * and dhh's rows (added row by row, in row order), from dh_t, the activated
 * gates g (rows, ldg), hn and hp (rows, ld). */
void nn_gru_step_backward(float *dx, float *dhh, float *dhp, float *dbx, float *dbh, const float *dh,
                          const float *g, long ldg, const float *hn, const float *hp, long ld, int rows, int H);

/* Softmax of each of `rows` rows of a (rows, ld) in place, over n columns,
 * the row maximum subtracted first (exp never overflows); causal: row r
 * over its first r+1 columns only, the others set to 0. The sum is taken in
 * 16 partial sums added pairwise. A NaN in a row gives NaN in all of it. */
void nn_softmax_rows(float *a, long ld, int rows, int n, int causal);

/* The variants: 0 baseline, 1 AVX2, 2 AVX-512. nn_simd_max() is the widest
 * this CPU runs; nn_simd_use(level) makes every kernel above use variant
 * min(level, nn_simd_max()) and returns it (for the tests; not thread-safe,
 * call it before any other thread uses lib/nn). */
int nn_simd_max(void);
int nn_simd_use(int level);

#endif
