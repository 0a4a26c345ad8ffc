/* Matrix products through oneDNN's SGEMM, and the thread setting shared by OpenMP, oneDNN and
 * OpenBLAS (which remains only for the LAPACK eigensolver of the PCA). oneDNN picks its kernels
 * from the CPU's features at run time (AVX-512 where there is one, AVX2 or SSE4.1 otherwise),
 * where Debian's OpenBLAS 0.3.21 falls back to older kernels on processors it does not know. */
#include "core/gemm.h"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_version.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

/* C = beta * C with BLAS semantics: beta = 0 overwrites C without reading it. */
static void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * (size_t)ldc;
        if (beta == 0.0f) {
            for (int j = 0; j < N; j++) c[j] = 0.0f;
        } else if (beta != 1.0f) {
            for (int j = 0; j < N; j++) c[j] *= beta;
        }
    }
}

/* oneDNN splits a product over the omp_get_max_threads() threads it is promised, unless it is
 * called from an active parallel region, and assumes that its team gets them all. A smaller team
 * (OMP_THREAD_LIMIT below the thread count, OMP_DYNAMIC trimming it, or any region nested in
 * another, even one of a single thread) would leave parts of C unwritten. So outside any region
 * the promise is made true, and inside one oneDNN is promised one thread for this call. */
int gx_threads_enter_onednn(void) {
    if (omp_get_level() > 0) {
        const int n = omp_get_max_threads();
        if (n == 1) return 0;
        omp_set_num_threads(1);
        return n;
    }
    const int limit = omp_get_thread_limit();
    if (omp_get_max_threads() > limit) omp_set_num_threads(limit);
    if (omp_get_dynamic()) omp_set_dynamic(0);
    return 0;
}

void gx_threads_leave_onednn(int saved) {
    if (saved) omp_set_num_threads(saved);
}

void gx_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    const int restore = gx_threads_enter_onednn();
    const dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A,
                                        lda, B, ldb, beta, C, ldc);
    gx_threads_leave_onednn(restore);
    if (st != dnnl_success) {
        /* only invalid arguments fail, and every caller passes shapes it allocated: a bug */
        fprintf(stderr, "genxfer: internal error: dnnl_sgemm(%c%c, %d x %d x %d, ld %d %d %d) "
                        "returned status %d\n",
                trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, lda, ldb, ldc, (int)st);
        abort();
    }
}

/* Rows [r0, r1) of c's product (each row of C depends only on its row of op(A)). */
static void run_rows(const gx_gemm_call *c, int r0, int r1) {
    if (r1 <= r0) return;
    const float *A = c->A + (c->trans_a ? (size_t)r0 : (size_t)r0 * (size_t)c->lda);
    gx_gemm(c->trans_a, c->trans_b, r1 - r0, c->N, c->K, c->alpha, A, c->lda, c->B, c->ldb,
            c->beta, c->C + (size_t)r0 * (size_t)c->ldc, c->ldc);
}

/* Rows of a product below which it is not split further: a slice must keep the kernels busy. */
#define PAIR_MIN_ROWS 32

/* Slices of a product of M rows for `want` threads: at most one per PAIR_MIN_ROWS rows, >= 1. */
static int slices_for(int M, int want) {
    const int most = M / PAIR_MIN_ROWS > 0 ? M / PAIR_MIN_ROWS : 1;
    return want < most ? want : most;
}

void gx_gemm_pair(const gx_gemm_call *a, const gx_gemm_call *b) {
    if (!a || !b || omp_get_level() > 0) { /* (gx_gemm fits oneDNN's threads to a region) */
        if (a) run_rows(a, 0, a->M);
        if (b) run_rows(b, 0, b->M);
        return;
    }
    gx_threads_enter_onednn(); /* outside any region: whole teams, nothing to restore */
    const int T = omp_get_max_threads();
    if (T < 2) {
        run_rows(a, 0, a->M);
        run_rows(b, 0, b->M);
        return;
    }
    /* ta threads share a's rows, the others b's, each slice a single-threaded product (oneDNN
     * runs on the calling thread inside a parallel region). The slices depend only on T, so the
     * result is the same on every run at a given thread count. */
    const int ta = slices_for(a->M, T / 2), tb = slices_for(b->M, T - T / 2);
    const int slices = ta + tb;
    /* the team may be smaller than asked (OMP_DYNAMIC, OMP_THREAD_LIMIT): each thread then takes
     * every n-th slice, and every slice is run exactly once */
#pragma omp parallel num_threads(slices)
    for (int s = omp_get_thread_num(); s < slices; s += omp_get_num_threads()) {
        const gx_gemm_call *c = s < ta ? a : b;
        const int part = s < ta ? s : s - ta, parts = s < ta ? ta : tb;
        run_rows(c, (int)((long)c->M * part / parts), (int)((long)c->M * (part + 1) / parts));
    }
}

void gx_set_threads(int n) {
    if (n <= 0) return;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int gx_get_threads(void) { return omp_get_max_threads(); }

static const char *isa_name(dnnl_cpu_isa_t isa) {
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

const char *gx_gemm_backend(void) {
    static char desc[96];
    if (!desc[0]) {
        const dnnl_version_t *v = dnnl_version();
        snprintf(desc, sizeof desc, "oneDNN %d.%d.%d, ISA %s", v->major, v->minor, v->patch,
                 isa_name(dnnl_get_effective_cpu_isa()));
    }
    return desc;
}
