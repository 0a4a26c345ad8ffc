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

void gx_set_threads(int n) {
    if (n <= 0) return;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int gx_get_threads(void) { return omp_get_max_threads(); }
