/* simd.c: the kernels of simd.h in three variants (simd_body.h compiled for
 * AVX-512, AVX2 and the baseline) and the choice between them. */
#include "nn/simd.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

/* The vectors are wide and the loops short: -O3 as for the layer files
 * (no fast-math: nothing is reordered). */
#pragma GCC optimize("O3")

/* vf, vi: VW floats and ints, one register of the variant being compiled;
 * vfu: vf at any float's address (unaligned loads and stores)
 * (a wider generic vector than the target has is not split well: GCC turns
 * its comparisons into scalar code). */
#define VSET(x) ((vf){0} + (x))

typedef struct {
    void (*exp_n)(float *, const float *, int);
    void (*sigmoid_n)(float *, const float *, int);
    void (*tanh_n)(float *, const float *, int);
    void (*lstm_fwd)(float *, long, float *, float *, const float *, long, int, int);
    void (*lstm_bwd)(float *, float *, float *, const float *, long, const float *, const float *, const float *,
                     long, int, int);
    void (*gru_fwd)(float *, long, float *, float *, const float *, long, const float *, const float *, int, int);
    void (*gru_bwd)(float *, float *, float *, float *, float *, const float *, const float *, long, const float *,
                    const float *, long, int, int);
    void (*softmax)(float *, long, int, int, int);
} nn_simd_ops;

/* GCC warns that passing a 64-byte vector changes the ABI when AVX-512 is
 * off: every vector function here is always_inline, so no vector crosses a
 * call (the warning comes at the end of the file: it is off for all of it). */
#pragma GCC diagnostic ignored "-Wpsabi"
#define VW 4
#define VIOTA ((vi){0, 1, 2, 3})
typedef float vf __attribute__((vector_size(16)));
typedef float vfu __attribute__((vector_size(16), aligned(4), may_alias));
typedef int32_t vi __attribute__((vector_size(16)));
/* a*b + c rounded once, lane by lane (fmaf is exact also where the processor
 * has no fused multiply-add, so the baseline gives the wide variants' bits) */
static inline vf vfma_base(vf a, vf b, vf c)
{
    vf r;
    for (int l = 0; l < VW; l++) r[l] = fmaf(a[l], b[l], c[l]);
    return r;
}
#define VFMA vfma_base
#define SIMD_FN(n) n##_base
#include "nn/simd_body.h"
#undef SIMD_FN
#undef VW
#undef VIOTA

#if defined(__x86_64__) || defined(__i386__)
#define NN_SIMD_X86 1
/* The same source for wider registers. */
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define VW 8
#define VIOTA ((vi){0, 1, 2, 3, 4, 5, 6, 7})
#define VFMA_INTRIN _mm256_fmadd_ps
#define SIMD_FN(n) n##_avx2
#include "nn/simd_wide.h"
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f")
#define VW 16
#define VIOTA ((vi){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
#define VFMA_INTRIN _mm512_fmadd_ps
#define SIMD_FN(n) n##_avx512
#include "nn/simd_wide.h"
#pragma GCC pop_options
#endif

static const nn_simd_ops *ops = &ops_base;
static int level_max;

/* Before main (and before any thread): the widest variant this CPU runs. */
__attribute__((constructor)) static void simd_pick(void)
{
#ifdef NN_SIMD_X86
    __builtin_cpu_init();
    level_max = __builtin_cpu_supports("avx512f")                                     ? 2
              : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1
                                                                                 : 0;
#endif
    nn_simd_use(level_max);
}

int nn_simd_max(void) { return level_max; }

int nn_simd_use(int level)
{
    if (level > level_max) level = level_max;
    if (level < 0) level = 0;
#ifdef NN_SIMD_X86
    ops = level == 2 ? &ops_avx512 : level == 1 ? &ops_avx2 : &ops_base;
#else
    ops = &ops_base;
#endif
    return level;
}

void nn_exp_n(float *y, const float *x, int n) { ops->exp_n(y, x, n); }
void nn_sigmoid_n(float *y, const float *x, int n) { ops->sigmoid_n(y, x, n); }
void nn_tanh_n(float *y, const float *x, int n) { ops->tanh_n(y, x, n); }

void nn_lstm_step_forward(float *g, long ldg, float *c, float *h, const float *cp, long ld, int rows, int H)
{
    ops->lstm_fwd(g, ldg, c, h, cp, ld, rows, H);
}

void nn_lstm_step_backward(float *dg, float *dc, float *db, const float *g, long ldg, const float *c,
                           const float *cp, const float *dh, long ld, int rows, int H)
{
    ops->lstm_bwd(dg, dc, db, g, ldg, c, cp, dh, ld, rows, H);
}

void nn_gru_step_forward(float *g, long ldg, float *hn, float *h, const float *hp, long ld, const float *gh,
                         const float *b_hh, int rows, int H)
{
    ops->gru_fwd(g, ldg, hn, h, hp, ld, gh, b_hh, rows, H);
}

void nn_gru_step_backward(float *dx, float *dhh, float *dhp, float *dbx, float *dbh, const float *dh,
                          const float *g, long ldg, const float *hn, const float *hp, long ld, int rows, int H)
{
    ops->gru_bwd(dx, dhh, dhp, dbx, dbh, dh, g, ldg, hn, hp, ld, rows, H);
}

void nn_softmax_rows(float *a, long ld, int rows, int n, int causal) { ops->softmax(a, ld, rows, n, causal); }
