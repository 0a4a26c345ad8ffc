/* Tests for core/pca: known eigenvectors on constructed data (a rotated box of known variances,
 * points near a line), orthonormality and ordering on random data, the sign convention, the
 * projection's moments, and bad arguments. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/pca.h"
#include "test_fs_util.h"

/* A small deterministic generator for test data: uniform in [-1, 1). */
static double urand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* The largest-magnitude entry of component j is positive (the sign convention). */
static void assert_sign_convention(const gx_pca *p, int j) {
    const double *v = p->components + (size_t)j * p->d;
    int big = 0;
    for (int t = 1; t < p->d; t++)
        if (fabs(v[t]) > fabs(v[big])) big = t;
    assert_true(v[big] > 0);
}

/* The 8 sign patterns of (3a, 2b, c), rotated by 30 degrees in the (x0, x1) plane and shifted:
 * the covariance is R diag(9, 4, 1) R^T * 8/7, so the components are R's columns with variances
 * 72/7, 32/7, 8/7 and the mean is the shift. */
static void test_rotated_box(void **state) {
    (void)state;
    const double c = cos(M_PI / 6), s = sin(M_PI / 6);
    const double R[3][3] = {{c, -s, 0}, {s, c, 0}, {0, 0, 1}}; /* columns: the components */
    const double shift[3] = {5, -2, 0.5};
    float X[8 * 3];
    for (int i = 0; i < 8; i++) {
        double u[3] = {3.0 * (i & 1 ? 1 : -1), 2.0 * (i & 2 ? 1 : -1), (i & 4 ? 1 : -1)};
        for (int r = 0; r < 3; r++)
            X[i * 3 + r] = (float)(shift[r] + R[r][0] * u[0] + R[r][1] * u[1] + R[r][2] * u[2]);
    }
    gx_pca p;
    gx_error err = {{0}};
    assert_int_equal(gx_pca_fit(&p, X, 8, 3, 3, &err), 0);
    assert_int_equal(p.d, 3);
    assert_int_equal(p.k, 3);
    for (int r = 0; r < 3; r++) assert_true(fabs(p.mean[r] - shift[r]) < 1e-6);
    const double want_var[3] = {72.0 / 7, 32.0 / 7, 8.0 / 7};
    for (int j = 0; j < 3; j++) {
        assert_true(fabs(p.variance[j] - want_var[j]) < 1e-5 * want_var[j]);
        /* component j is +-(column j of R); the sign convention fixes which */
        double dot = 0;
        for (int r = 0; r < 3; r++) dot += p.components[j * 3 + r] * R[r][j];
        assert_true(fabs(fabs(dot) - 1.0) < 1e-6);
        assert_sign_convention(&p, j);
    }
    /* (c, s) = (0.866, 0.5): the largest entry is already positive, so no flip */
    assert_true(p.components[0] > 0.86 && p.components[1] > 0.49);
    assert_true(fabs(p.total_variance - (72.0 + 32.0 + 8.0) / 7) < 1e-5);
    gx_pca_free(&p);
    assert_null(p.mean);
}

/* 500 points near the line through (1, 2, 3, 4) with direction u = (1, -2.5, 0.5, 2)/|u|: the
 * first component is parallel to u, pointing so that its largest entry (the -2.5) is positive,
 * so it is -u, and it explains nearly all the variance. */
static void test_points_on_a_line(void **state) {
    (void)state;
    enum { N = 500, D = 4 };
    double u[D] = {1, -2.5, 0.5, 2}, norm = 0;
    for (int t = 0; t < D; t++) norm += u[t] * u[t];
    norm = sqrt(norm);
    for (int t = 0; t < D; t++) u[t] /= norm;
    float *X = malloc(sizeof(float) * N * D);
    assert_non_null(X);
    uint64_t seed = 7;
    double sum_t2 = 0;
    for (int i = 0; i < N; i++) {
        double tpos = 10.0 * urand(&seed);
        sum_t2 += tpos * tpos;
        for (int t = 0; t < D; t++)
            X[i * D + t] = (float)(t + 1 + tpos * u[t] + 1e-3 * urand(&seed));
    }
    gx_pca p;
    gx_error err = {{0}};
    assert_int_equal(gx_pca_fit(&p, X, N, D, 2, &err), 0);
    double dot = 0;
    for (int t = 0; t < D; t++) dot += p.components[t] * u[t];
    assert_true(dot < -0.999999);
    assert_sign_convention(&p, 0);
    assert_sign_convention(&p, 1);
    assert_true(p.variance[0] / p.total_variance > 0.999999);
    assert_true(p.variance[1] < 1e-5);
    /* the variance along the line is about that of t (the mean of t is near 0) */
    assert_true(fabs(p.variance[0] - sum_t2 / (N - 1)) < 0.05 * p.variance[0]);

    /* projection: [N, 2]; the first coordinate recovers -t up to the mean's offset */
    float *P = malloc(sizeof(float) * N * 2);
    assert_non_null(P);
    for (int i = 0; i < N * 2; i++) P[i] = NAN;
    assert_int_equal(gx_pca_project(&p, X, N, P, &err), 0);
    for (int i = 0; i < N * 2; i++) assert_true(isfinite(P[i]));
    seed = 7;
    double t0 = 10.0 * urand(&seed);
    double mean_t = 0;
    seed = 7;
    for (int i = 0; i < N; i++) {
        mean_t += 10.0 * urand(&seed);
        for (int t = 0; t < D; t++) urand(&seed);
    }
    mean_t /= N;
    assert_true(fabs(P[0] + (t0 - mean_t)) < 0.01);
    assert_true(fabs(P[1]) < 0.01);
    free(P);
    free(X);
    gx_pca_free(&p);
}

/* Random correlated data (d = 12, k = 5): orthonormal components, variances in decreasing order
 * and equal to the variances of the projections, whose means and cross-covariances are 0. With
 * k = d the variances add up to the trace. */
static void test_orthonormal_and_projection(void **state) {
    (void)state;
    enum { N = 300, D = 12, K = 5 };
    float *X = malloc(sizeof(float) * N * D);
    float *P = malloc(sizeof(float) * N * K);
    assert_non_null(X);
    assert_non_null(P);
    uint64_t seed = 42;
    double A[D][D];
    for (int a = 0; a < D; a++)
        for (int b = 0; b < D; b++) A[a][b] = urand(&seed) * (a + 1) / D;
    for (int i = 0; i < N; i++) {
        double g[D];
        for (int b = 0; b < D; b++) g[b] = urand(&seed);
        for (int a = 0; a < D; a++) {
            double v = 3.0;
            for (int b = 0; b < D; b++) v += A[a][b] * g[b];
            X[i * D + a] = (float)v;
        }
    }
    gx_pca p;
    gx_error err = {{0}};
    assert_int_equal(gx_pca_fit(&p, X, N, D, K, &err), 0);
    for (int i = 0; i < K; i++) {
        assert_sign_convention(&p, i);
        if (i > 0) assert_true(p.variance[i] <= p.variance[i - 1]);
        for (int j = 0; j < K; j++) {
            double dot = 0;
            for (int t = 0; t < D; t++) dot += p.components[i * D + t] * p.components[j * D + t];
            assert_true(fabs(dot - (i == j)) < 1e-10);
        }
    }
    assert_int_equal(gx_pca_project(&p, X, N, P, &err), 0);
    for (int i = 0; i < K; i++) {
        double mi = 0;
        for (int r = 0; r < N; r++) mi += P[r * K + i];
        assert_true(fabs(mi / N) < 1e-4);
        for (int j = 0; j <= i; j++) {
            double cij = 0;
            for (int r = 0; r < N; r++) cij += (double)P[r * K + i] * P[r * K + j];
            cij /= N - 1;
            double want = i == j ? p.variance[i] : 0.0;
            assert_true(fabs(cij - want) < 1e-4 * p.variance[0]);
        }
    }
    double trace = 0;
    for (int t = 0; t < D; t++) {
        double m = 0, v = 0;
        for (int r = 0; r < N; r++) m += X[r * D + t];
        m /= N;
        for (int r = 0; r < N; r++) v += (X[r * D + t] - m) * (X[r * D + t] - m);
        trace += v / (N - 1);
    }
    assert_true(fabs(p.total_variance - trace) < 1e-6 * trace);
    gx_pca_free(&p);

    gx_pca q;
    assert_int_equal(gx_pca_fit(&q, X, N, D, D, &err), 0);
    double sum = 0;
    for (int j = 0; j < D; j++) sum += q.variance[j];
    assert_true(fabs(sum - q.total_variance) < 1e-9 * sum);
    gx_pca_free(&q);
    free(X);
    free(P);
}

/* Identical rows: zero variance, no NaN; one column: the component is (1). */
static void test_degenerate(void **state) {
    (void)state;
    float X[6] = {1, 2, 1, 2, 1, 2};
    gx_pca p;
    gx_error err = {{0}};
    assert_int_equal(gx_pca_fit(&p, X, 3, 2, 2, &err), 0);
    assert_true(p.variance[0] == 0 && p.variance[1] == 0);
    assert_true(p.total_variance == 0);
    for (int i = 0; i < 4; i++) assert_true(isfinite(p.components[i]));
    gx_pca_free(&p);
    float Y[3] = {1, 4, 7};
    assert_int_equal(gx_pca_fit(&p, Y, 3, 1, 1, &err), 0);
    assert_true(fabs(p.components[0] - 1.0) < 1e-12);
    assert_true(fabs(p.variance[0] - 9.0) < 1e-12);
    assert_true(fabs(p.mean[0] - 4.0) < 1e-12);
    gx_pca_free(&p);
}

static void test_bad_arguments(void **state) {
    (void)state;
    float X[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    gx_pca p;
    gx_error err = {{0}};
    assert_int_equal(gx_pca_fit(&p, X, 1, 3, 1, &err), -1);
    assert_msg_contains(err.msg, "at least 2");
    assert_null(p.mean);
    assert_int_equal(gx_pca_fit(&p, X, 4, 3, 4, &err), -1);
    assert_msg_contains(err.msg, "1 <= k <= 3");
    assert_int_equal(gx_pca_fit(&p, X, 4, 3, 0, &err), -1);
    assert_int_equal(gx_pca_fit(&p, X, 4, 0, 1, &err), -1);
    assert_int_equal(gx_pca_fit(&p, NULL, 4, 3, 1, &err), -1);
    X[7] = NAN;
    assert_int_equal(gx_pca_fit(&p, X, 4, 3, 2, &err), -1);
    assert_msg_contains(err.msg, "row 2, column 1");
    assert_null(p.components);
    gx_pca_free(&p); /* safe after a failure */
    gx_pca_free(NULL);

    gx_pca z = {0};
    float P[2];
    assert_int_equal(gx_pca_project(&z, X, 1, P, &err), -1);
    assert_msg_contains(err.msg, "not fitted");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotated_box),
        cmocka_unit_test(test_points_on_a_line),
        cmocka_unit_test(test_orthonormal_and_projection),
        cmocka_unit_test(test_degenerate),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
