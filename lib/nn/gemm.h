/* gemm.h: the one matrix product of lib/nn, row-major.
 *
 * C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C, op = transpose when
 * ta/tb is 1; lda/ldb/ldc are row strides as in cblas with CblasRowMajor. With
 * beta == 0, C is not read (it may hold garbage or NaN).
 *
 * nn_sgemm is the fast path (cblas_sgemm, threads from OPENBLAS_NUM_THREADS);
 * nn_gemm_loop_f / nn_gemm_loop_d are the same product as three plain loops,
 * in float and in double, which the tests compare the BLAS path against. */
#ifndef KML_NN_GEMM_H
#define KML_NN_GEMM_H

void nn_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
void nn_gemm_loop_f(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc);
void nn_gemm_loop_d(int ta, int tb, int M, int N, int K, double alpha, const double *A, int lda,
                    const double *B, int ldb, double beta, double *C, int ldc);
/* Count of floating-point operations done by nn_sgemm (2MNK each), for
 * benchmarks; one per thread (no race between lib/nn's worker threads),
 * and parallel.c adds its workers' counts to the calling thread's after each
 * split call, so the caller's count covers the whole step. */
extern _Thread_local double nn_gemm_flops;

#endif
