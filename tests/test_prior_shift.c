/* Label shift by EM (Saerens et al. 2002): on posteriors that are exact for a known mixture, EM
 * recovers the shifted class proportions; the correction moves the posteriors to them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "core/prior_shift.h"
#include "core/rng.h"

/* Two classes, x ~ N(+-1, 1); q(y|x) computed under a uniform training prior. Data drawn with
 * 80% of class 0: EM should find about 0.8. */
static void test_em_recovers_the_shift(void **s) {
    (void)s;
    enum { N = 20000 };
    float *P = malloc(sizeof(float) * 2 * N);
    assert_non_null(P);
    gx_rng r;
    gx_rng_init(&r, 3, 1);
    for (int i = 0; i < N; i++) {
        const int y = gx_rng_uniform(&r) < 0.8f ? 0 : 1;
        const double x = (y ? 1.0 : -1.0) + gx_rng_normal(&r);
        const double l0 = exp(-0.5 * (x + 1) * (x + 1)), l1 = exp(-0.5 * (x - 1) * (x - 1));
        P[2 * i] = (float)(l0 / (l0 + l1));
        P[2 * i + 1] = (float)(l1 / (l0 + l1));
    }
    const double train[2] = {0.5, 0.5};
    double prior[2];
    const int rounds = gx_prior_shift_em(P, N, 2, train, prior, 1000, 1e-7);
    assert_true(rounds > 1 && rounds < 1000);
    assert_true(fabs(prior[0] - 0.8) < 0.02);
    assert_true(fabs(prior[0] + prior[1] - 1) < 1e-9);
    /* the correction: a row at x = 0 (0.5 / 0.5) moves to the new prior */
    float p[2] = {0.5f, 0.5f}, ratio[2] = {(float)(prior[0] / 0.5), (float)(prior[1] / 0.5)};
    gx_prior_shift_apply(p, 1, 2, ratio);
    assert_true(fabs(p[0] - prior[0]) < 1e-6 && fabs(p[0] + p[1] - 1) < 1e-6);
    free(P);
}

/* No shift: the estimate stays at the training prior; no rows: the training prior. */
static void test_no_shift_and_no_rows(void **s) {
    (void)s;
    const float P[6] = {0.9f, 0.1f, 0.1f, 0.9f, 0.5f, 0.5f};
    const double train[2] = {0.5, 0.5};
    double prior[2];
    gx_prior_shift_em(P, 3, 2, train, prior, 100, 1e-9);
    assert_true(fabs(prior[0] - 0.5) < 1e-6);
    gx_prior_shift_em(P, 0, 2, train, prior, 100, 1e-9);
    assert_true(prior[0] == 0.5 && prior[1] == 0.5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_em_recovers_the_shift),
        cmocka_unit_test(test_no_shift_and_no_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
