/* Matrix products through CBLAS (OpenBLAS), row-major, and the thread setting shared by OpenMP
 * and OpenBLAS. */
#ifndef GX_GEMM_H
#define GX_GEMM_H

#include <stdbool.h>

/* C[M,N] = alpha * op(A) op(B) + beta * C, all row-major; op(A) is [M,K], op(B) is [K,N].
 * lda/ldb/ldc are the row strides of the matrices as stored. */
void gx_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);

/* Sets the number of threads for OpenMP and OpenBLAS (n <= 0: leave the default). */
void gx_set_threads(int n);
int gx_get_threads(void);

#endif
