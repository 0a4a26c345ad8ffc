/* Tests of core/gemm: gx_gemm (oneDNN's SGEMM behind it) against a double-precision reference for
 * every transpose and awkward shapes, BLAS's beta semantics, the same bits on every call, and
 * gx_gemm_pair at several thread counts against the products run one after the other. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "core/rng.h"

static gx_rng g_rng;

static int setup(void **state) {
    (void)state;
    gx_rng_init(&g_rng, 42, 7);
    return 0;
}

static float *fill_new(size_t n) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    gx_rng_uniform_fill(&g_rng, x, n, -1.0f, 1.0f);
    return x;
}

/* One product's operands with row strides larger than their widths (pad extra floats a row). */
typedef struct operands {
    bool ta, tb;
    int M, N, K, lda, ldb, ldc;
    float *A, *B, *C;
} operands;

static void operands_init(operands *o, bool ta, bool tb, int M, int N, int K, int pad) {
    o->ta = ta, o->tb = tb, o->M = M, o->N = N, o->K = K;
    o->lda = (ta ? M : K) + pad, o->ldb = (tb ? K : N) + pad, o->ldc = N + pad;
    o->A = fill_new((size_t)(ta ? K : M) * o->lda);
    o->B = fill_new((size_t)(tb ? N : K) * o->ldb);
    o->C = fill_new((size_t)M * o->ldc);
}

static void operands_free(operands *o) {
    free(o->A);
    free(o->B);
    free(o->C);
}

static double elem_a(const operands *o, int i, int k) {
    return o->ta ? o->A[(size_t)k * o->lda + i] : o->A[(size_t)i * o->lda + k];
}
static double elem_b(const operands *o, int k, int j) {
    return o->tb ? o->B[(size_t)j * o->ldb + k] : o->B[(size_t)k * o->ldb + j];
}

/* Checks C (after the product) against alpha op(A) op(B) + beta C0 in double: each element within
 * 4 ulp-sized float errors per term of sum |a b| (float accumulation of K products), and the
 * padding of every row untouched. */
static void check_product(const operands *o, float alpha, float beta, const float *C0,
                          const float *C) {
    for (int i = 0; i < o->M; i++) {
        for (int j = 0; j < o->N; j++) {
            double s = 0, mag = 0;
            for (int k = 0; k < o->K; k++) {
                double p = elem_a(o, i, k) * elem_b(o, k, j);
                s += p;
                mag += fabs(p);
            }
            const double c0 = beta == 0.0f ? 0.0 : C0[(size_t)i * o->ldc + j]; /* not read */
            const double want = alpha * s + beta * c0;
            const double tol = 4 * FLT_EPSILON * (fabs(alpha) * mag * (1 + o->K / 16.0) + fabs(beta * c0)) + 1e-30;
            const double got = C[(size_t)i * o->ldc + j];
            if (!(fabs(got - want) <= tol))
                fail_msg("%c%c %dx%dx%d lda %d ldb %d ldc %d: C[%d,%d] = %.9g, want %.9g (tol %.3g)",
                         "NT"[o->ta], "NT"[o->tb], o->M, o->N, o->K, o->lda, o->ldb, o->ldc, i, j,
                         got, want, tol);
        }
        for (int j = o->N; j < o->ldc; j++)
            assert_true(C[(size_t)i * o->ldc + j] == C0[(size_t)i * o->ldc + j]);
    }
}

/* Every transpose, shapes of one row or column, K = 1, sizes that are not multiples of 16, strides
 * larger than the widths, and the model's own shapes. */
static const int shapes[][3] = {
    {1, 1, 1},     {1, 37, 5},    {37, 1, 5},   {5, 7, 1},     {1, 500, 784}, {500, 1, 100},
    {17, 33, 65},  {15, 16, 17},  {64, 10, 500}, {100, 500, 784}, {129, 3, 1}, {3, 129, 257},
};

static void test_gemm_reference(void **state) {
    (void)state;
    const float alphas[] = {1.0f, 0.5f, -2.0f}, betas[] = {0.0f, 1.0f, 0.25f};
    int case_no = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                const int pad = (int)(s % 3) * 3; /* 0, 3 or 6 floats past each row */
                operands o;
                operands_init(&o, ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], pad);
                const float alpha = alphas[case_no % 3], beta = betas[(case_no / 3) % 3];
                case_no++;
                const size_t nc = (size_t)o.M * o.ldc;
                float *C0 = malloc(nc * sizeof *C0);
                assert_non_null(C0);
                memcpy(C0, o.C, nc * sizeof *C0);
                gx_gemm(o.ta, o.tb, o.M, o.N, o.K, alpha, o.A, o.lda, o.B, o.ldb, beta, o.C, o.ldc);
                check_product(&o, alpha, beta, C0, o.C);
                free(C0);
                operands_free(&o);
            }
}

/* beta = 0 overwrites C without reading it (NaN in C stays out); K = 0 or alpha = 0 scales C;
 * M = 0 or N = 0 touches nothing. */
static void test_gemm_beta_semantics(void **state) {
    (void)state;
    float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 0, 0, 1, 1, 1};
    float C[4] = {NAN, NAN, NAN, NAN};
    gx_gemm(false, false, 2, 2, 3, 1.0f, A, 3, B, 2, 0.0f, C, 2);
    assert_true(C[0] == 4 && C[1] == 5 && C[2] == 10 && C[3] == 11);
    float D[4] = {1, 2, 3, NAN};
    gx_gemm(false, false, 2, 2, 0, 1.0f, A, 1, B, 2, 3.0f, D, 2);
    assert_true(D[0] == 3 && D[2] == 9);
    gx_gemm(false, false, 2, 2, 3, 0.0f, A, 3, B, 2, 0.0f, D, 2);
    for (int i = 0; i < 4; i++) assert_true(D[i] == 0.0f);
    float E[1] = {7};
    gx_gemm(false, false, 0, 1, 3, 1.0f, A, 3, B, 1, 0.0f, E, 1);
    gx_gemm(false, false, 1, 0, 3, 1.0f, A, 3, B, 1, 0.0f, E, 1);
    assert_true(E[0] == 7);
}

/* The same inputs give the same bits, call after call, at a given thread count. */
static void test_gemm_repeatable(void **state) {
    (void)state;
    operands o;
    operands_init(&o, false, true, 200, 500, 784, 0);
    const size_t nc = (size_t)o.M * o.ldc;
    float *C1 = calloc(nc, sizeof *C1), *C2 = calloc(nc, sizeof *C2);
    assert_non_null(C1);
    assert_non_null(C2);
    gx_gemm(o.ta, o.tb, o.M, o.N, o.K, 1.0f, o.A, o.lda, o.B, o.ldb, 0.0f, C1, o.ldc);
    for (int r = 0; r < 3; r++) {
        gx_gemm(o.ta, o.tb, o.M, o.N, o.K, 1.0f, o.A, o.lda, o.B, o.ldb, 0.0f, C2, o.ldc);
        assert_memory_equal(C1, C2, nc * sizeof *C1);
    }
    free(C1);
    free(C2);
    operands_free(&o);
}

/* gx_gemm_pair at 1 to 5 threads: both products (a weight and an input gradient of a layer, as the
 * backward pass calls it) right against the reference, every row of each written once (beta = 1
 * adds, so a row run twice or skipped shows), and NULL for either. */
static void test_gemm_pair_threads(void **state) {
    (void)state;
    const int saved = gx_get_threads();
    for (int T = 1; T <= 5; T++) {
        gx_set_threads(T);
        for (int which = 0; which < 3; which++) { /* both, only a, only b */
            operands a, b;
            operands_init(&a, true, false, 150, 70, 96, 2);  /* dW += dY^T X */
            operands_init(&b, false, false, 96, 70, 150, 1); /* dX = dY W */
            float *Ca = malloc((size_t)a.M * a.ldc * sizeof *Ca), *Cb = malloc((size_t)b.M * b.ldc * sizeof *Cb);
            assert_non_null(Ca);
            assert_non_null(Cb);
            memcpy(Ca, a.C, (size_t)a.M * a.ldc * sizeof *Ca);
            memcpy(Cb, b.C, (size_t)b.M * b.ldc * sizeof *Cb);
            const gx_gemm_call ca = {a.ta, a.tb, a.M, a.N, a.K, 1.0f, a.A, a.lda, a.B, a.ldb, 1.0f, a.C, a.ldc};
            const gx_gemm_call cb = {b.ta, b.tb, b.M, b.N, b.K, -1.0f, b.A, b.lda, b.B, b.ldb, 1.0f, b.C, b.ldc};
            gx_gemm_pair(which != 2 ? &ca : NULL, which != 1 ? &cb : NULL);
            if (which != 2) check_product(&a, 1.0f, 1.0f, Ca, a.C);
            else assert_memory_equal(Ca, a.C, (size_t)a.M * a.ldc * sizeof *Ca);
            if (which != 1) check_product(&b, -1.0f, 1.0f, Cb, b.C);
            else assert_memory_equal(Cb, b.C, (size_t)b.M * b.ldc * sizeof *Cb);
            free(Ca);
            free(Cb);
            operands_free(&a);
            operands_free(&b);
        }
    }
    gx_set_threads(saved);
}

/* A product called from a parallel region of one thread (OMP_DYNAMIC, OMP_THREAD_LIMIT or a
 * caller's own region may make one) at a thread setting of 2: every element written. (oneDNN
 * 2.6.3 happens to get this case right on its own; test_dense under OMP_THREAD_LIMIT=1 is the
 * test that failed before gx_threads_enter_onednn.) */
static void test_gemm_in_region_of_one(void **state) {
    (void)state;
    const int saved = gx_get_threads();
    gx_set_threads(2);
    operands o;
    operands_init(&o, false, true, 200, 120, 300, 0);
    const size_t nc = (size_t)o.M * o.ldc;
    float *C0 = malloc(nc * sizeof *C0);
    assert_non_null(C0);
    for (size_t i = 0; i < nc; i++) o.C[i] = C0[i] = NAN; /* beta = 0 must not read them */
#pragma omp parallel num_threads(1)
    gx_gemm(o.ta, o.tb, o.M, o.N, o.K, 1.0f, o.A, o.lda, o.B, o.ldb, 0.0f, o.C, o.ldc);
    assert_int_equal(gx_get_threads(), 2);
    check_product(&o, 1.0f, 0.0f, C0, o.C);
    free(C0);
    operands_free(&o);
    gx_set_threads(saved);
}

/* The thread setting, and the backend's description. */
static void test_gemm_threads_and_backend(void **state) {
    (void)state;
    int t = gx_get_threads();
    assert_true(t >= 1);
    gx_set_threads(1);
    assert_int_equal(gx_get_threads(), 1);
    gx_set_threads(0); /* leaves the setting */
    assert_int_equal(gx_get_threads(), 1);
    gx_set_threads(t);
    assert_int_equal(gx_get_threads(), t);
    const char *be = gx_gemm_backend();
    assert_non_null(be);
    assert_non_null(strstr(be, "oneDNN "));
    assert_non_null(strstr(be, "ISA "));
    /* ONEDNN_MAX_CPU_ISA=AVX2 (make test's second run of the model tests) must be in force */
    const char *cap = getenv("ONEDNN_MAX_CPU_ISA");
    if (cap && strcmp(cap, "AVX2") == 0) assert_null(strstr(be, "avx512"));
    printf("backend: %s\n", be);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_gemm_reference, setup),
        cmocka_unit_test_setup(test_gemm_beta_semantics, setup),
        cmocka_unit_test_setup(test_gemm_repeatable, setup),
        cmocka_unit_test_setup(test_gemm_pair_threads, setup),
        cmocka_unit_test_setup(test_gemm_in_region_of_one, setup),
        cmocka_unit_test_setup(test_gemm_threads_and_backend, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
