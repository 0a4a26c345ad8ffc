/* Matrix products through oneDNN's SGEMM, row-major, and the thread setting shared by OpenMP,
 * oneDNN and OpenBLAS. */
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

/* Two independent products (neither writes what the other reads or writes). With T >= 2 threads,
 * half of the threads share a's rows and the others b's, each slice a single-threaded product:
 * on the backward pass's shapes this beats splitting every product over all threads in turn.
 * With one thread, one after the other. Either may be NULL: the other runs alone. */
void gx_gemm_pair(const gx_gemm_call *a, const gx_gemm_call *b);

/* "oneDNN X.Y.Z, ISA name": the library behind gx_gemm and the instruction set it dispatched
 * (ONEDNN_MAX_CPU_ISA caps it). */
const char *gx_gemm_backend(void);

/* Sets the number of threads for OpenMP and OpenBLAS (n <= 0: leave the default). */
void gx_set_threads(int n);
int gx_get_threads(void);

/* Around every call into oneDNN: its threads made what OpenMP will really give it (a region nested
 * in another, even of one thread, gets one; outside, the thread limit and no dynamic trimming).
 * enter returns what leave restores. */
int gx_threads_enter_onednn(void);
void gx_threads_leave_onednn(int saved);

#endif
