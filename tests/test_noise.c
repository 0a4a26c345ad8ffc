/* core/noise: the distribution of the fast normals (moments, tail fractions, the CDF at several
 * points), the same values for any thread count, how far the stream advances, odd sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "core/noise.h"

#define ROWS 4000
#define COLS 50
#define N (ROWS * COLS)

static float x[N], y[N];

static double phi(double z) { return 0.5 * erfc(-z / sqrt(2.0)); }

/* Bounds are about 5 standard errors of each statistic for 200000 draws. */
static void test_distribution(void **state) {
    (void)state;
    gx_rng r;
    gx_rng_init(&r, 42, GX_STREAM_NOISE);
    gx_normal_noise(&r, x, ROWS, COLS);
    double m1 = 0, m2 = 0, m4 = 0;
    for (int i = 0; i < N; i++) {
        assert_true(isfinite(x[i]) && fabsf(x[i]) < 6.0f);
        m1 += x[i];
    }
    m1 /= N;
    for (int i = 0; i < N; i++) {
        double d = x[i] - m1;
        m2 += d * d;
        m4 += d * d * d * d;
    }
    m2 /= N;
    m4 /= N;
    if (fabs(m1) > 0.012) fail_msg("mean %g", m1);
    if (fabs(m2 - 1) > 0.016) fail_msg("variance %g", m2);
    if (fabs(m4 / (m2 * m2) - 3) > 0.06) fail_msg("kurtosis %g", m4 / (m2 * m2));
    const double at[] = {-3, -1.96, -1, -0.5, 0, 0.5, 1, 1.96, 3};
    for (size_t k = 0; k < sizeof at / sizeof *at; k++) {
        int below = 0;
        for (int i = 0; i < N; i++) below += x[i] <= at[k];
        double f = (double)below / N, p = phi(at[k]), se = sqrt(p * (1 - p) / N);
        if (fabs(f - p) > 5 * se) fail_msg("P(z <= %g) = %g, expected %g", at[k], f, p);
    }
}

static void test_same_for_any_thread_count(void **state) {
    (void)state;
    gx_rng a, b;
    gx_rng_init(&a, 7, GX_STREAM_NOISE);
    b = a;
    gx_set_threads(1);
    gx_normal_noise(&a, x, ROWS, COLS);
    gx_set_threads(2);
    gx_normal_noise(&b, y, ROWS, COLS);
    assert_memory_equal(x, y, sizeof x);
    /* one 64-bit draw per call */
    gx_rng c;
    gx_rng_init(&c, 7, GX_STREAM_NOISE);
    gx_rng_u64(&c);
    assert_true(gx_rng_u64(&a) == gx_rng_u64(&c));
    /* the next call gives new values */
    gx_normal_noise(&b, y, ROWS, COLS);
    assert_true(memcmp(x, y, sizeof x) != 0);
}

static void test_odd_sizes(void **state) {
    (void)state;
    gx_rng r;
    gx_rng_init(&r, 3, GX_STREAM_NOISE);
    float v[8] = {0};
    gx_normal_fill_fast(&r, v, 7);
    for (int i = 0; i < 7; i++) assert_true(isfinite(v[i]) && v[i] != 0.0f);
    assert_true(v[7] == 0.0f); /* nothing written past n */
    gx_normal_noise(&r, x, 3, 3); /* rows * cols odd, one block */
    for (int i = 0; i < 9; i++) assert_true(isfinite(x[i]));
    gx_normal_fill_fast(&r, v, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distribution),
        cmocka_unit_test(test_same_for_any_thread_count),
        cmocka_unit_test(test_odd_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
