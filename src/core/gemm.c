/* Matrix products through CBLAS (OpenBLAS, OpenMP build) and the shared thread setting. */
#include "core/gemm.h"

#include <cblas.h>
#include <omp.h>

void gx_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        /* C = beta * C; BLAS semantics: beta = 0 overwrites C without reading it. */
        for (int i = 0; i < M; i++) {
            float *c = C + (size_t)i * (size_t)ldc;
            if (beta == 0.0f) {
                for (int j = 0; j < N; j++) c[j] = 0.0f;
            } else if (beta != 1.0f) {
                for (int j = 0; j < N; j++) c[j] *= beta;
            }
        }
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static void run_call(const gx_gemm_call *c) {
    gx_gemm(c->trans_a, c->trans_b, c->M, c->N, c->K, c->alpha, c->A, c->lda, c->B, c->ldb,
            c->beta, c->C, c->ldc);
}

void gx_gemm_pair(const gx_gemm_call *a, const gx_gemm_call *b) {
    if (!a || !b || omp_get_max_threads() != 2 || omp_in_parallel()) {
        if (a) run_call(a);
        if (b) run_call(b);
        return;
    }
    /* inside a parallel region OpenBLAS's OpenMP build runs each product on the calling thread;
     * the team may have one thread only (OMP_DYNAMIC, OMP_THREAD_LIMIT): then it runs both */
#pragma omp parallel num_threads(2)
    {
        const int t = omp_get_thread_num();
        if (t == 0) run_call(a);
        if (t == omp_get_num_threads() - 1) run_call(b);
    }
}

void gx_set_threads(int n) {
    if (n <= 0) return;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int gx_get_threads(void) { return omp_get_max_threads(); }
