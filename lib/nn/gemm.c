/* gemm.c: nn_sgemm (OpenBLAS) and its plain-loop twins (see gemm.h). */
#include "nn/gemm.h"

#include <cblas.h>

_Thread_local double nn_gemm_flops;

void nn_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M == 0 || N == 0) return;
    nn_gemm_flops += 2.0 * M * N * K;
    if (M == 1 && K > 0) {
        /* one row (a single window's recurrent step, one query): a matrix-vector
         * product, which OpenBLAS does without sgemm's packing. c = op(B)^T a,
         * a = A's row (stride lda when A is transposed). */
        cblas_sgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, tb ? N : K, tb ? K : N, alpha, B, ldb, A,
                    ta ? lda : 1, beta, C, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
}

/* The reference: C[i][j] = alpha * sum_k A'[i][k] B'[k][j] + beta * C[i][j],
 * with A'[i][k] = ta ? A[k*lda+i] : A[i*lda+k] and likewise for B'. The sum is
 * accumulated in double in both versions. */
#define GEMM_LOOP(real)                                                                        \
    for (int i = 0; i < M; i++)                                                                \
        for (int j = 0; j < N; j++) {                                                          \
            double s = 0;                                                                      \
            for (int k = 0; k < K; k++)                                                        \
                s += (double)(ta ? A[(long)k * lda + i] : A[(long)i * lda + k]) *              \
                     (tb ? B[(long)j * ldb + k] : B[(long)k * ldb + j]);                       \
            real *c = &C[(long)i * ldc + j];                                                   \
            *c = (real)(alpha * s + (beta == 0 ? 0 : beta * *c));                              \
        }

void nn_gemm_loop_f(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc)
{
    GEMM_LOOP(float)
}

void nn_gemm_loop_d(int ta, int tb, int M, int N, int K, double alpha, const double *A, int lda,
                    const double *B, int ldb, double beta, double *C, int ldc)
{
    GEMM_LOOP(double)
}
