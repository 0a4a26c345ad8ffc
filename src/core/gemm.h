/* Matrix products through CBLAS (OpenBLAS), row-major, and the thread setting shared by OpenMP
 * and OpenBLAS. */
#ifndef GX_GEMM_H
#define GX_GEMM_H

#include <stdbool.h>

/* C[M,N] = alpha * op(A) op(B) + beta * C, all row-major; op(A) is [M,K], op(B) is [K,N].
 * lda/ldb/ldc are the row strides of the matrices as stored. */
void gx_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);

/* One product of gx_gemm, as arguments. */
typedef struct gx_gemm_call {
    bool trans_a, trans_b;
    int M, N, K;
    float alpha;
    const float *A;
    int lda;
    const float *B;
    int ldb;
    float beta;
    float *C;
    int ldc;
} gx_gemm_call;

/* Two independent products (neither writes what the other reads or writes): with exactly two
 * threads each runs on its own thread, single-threaded, which on the backward pass's shapes beats
 * splitting every product over both threads; otherwise one after the other (and OpenBLAS may
 * split each). With two threads, each product is the same single-threaded one whichever thread
 * runs it. Either may be NULL: the other runs alone. */
void gx_gemm_pair(const gx_gemm_call *a, const gx_gemm_call *b);

/* Sets the number of threads for OpenMP and OpenBLAS (n <= 0: leave the default). */
void gx_set_threads(int n);
int gx_get_threads(void);

#endif
