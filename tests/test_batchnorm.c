/* Batch normalisation: finite-difference check of the backward pass w.r.t. X, gamma and beta;
 * statistics of the output; running averages; evaluation mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "core/batchnorm.h"
#include "core/gradcheck.h"
#include "core/rng.h"

enum { N = 6, C = 4 };

typedef struct {
    float X[N * C], gamma[C], beta[C], R[N * C];
    float Y[N * C], xhat[N * C], inv_std[C];
    double work[2 * C];
} bn_ctx;

/* loss = sum(R .* BN(X)) in double */
static double bn_loss(void *p) {
    bn_ctx *c = p;
    gx_batchnorm_forward_train(c->Y, c->xhat, c->inv_std, c->X, c->gamma, c->beta, N, C, 0.1f,
                               NULL, NULL, c->work);
    double s = 0;
    for (int i = 0; i < N * C; i++) s += (double)c->R[i] * c->Y[i];
    return s;
}

static void test_batchnorm_gradients(void **s) {
    (void)s;
    static bn_ctx c;
    gx_rng r;
    gx_rng_init(&r, 4, 1);
    gx_rng_normal_fill(&r, c.X, N * C, 0.5f, 2.0f);
    gx_rng_normal_fill(&r, c.gamma, C, 1.0f, 0.3f);
    gx_rng_normal_fill(&r, c.beta, C, 0.0f, 0.3f);
    gx_rng_normal_fill(&r, c.R, N * C, 0.0f, 1.0f);
    float dX[N * C] = {0}, dgamma[C] = {0}, dbeta[C] = {0};
    bn_loss(&c);
    gx_batchnorm_backward(dX, dgamma, dbeta, c.R, c.xhat, c.inv_std, c.gamma, N, C, c.work);
    /* float32 forward, double-accumulated loss, h = 1e-2: measured max relative error ~1e-3 */
    gx_gradcheck_result g;
    g = gx_gradcheck(bn_loss, &c, c.X, dX, N * C, 1e-2, 1e-2, N * C, &r);
    assert_true(g.max_rel_err < 1e-2);
    g = gx_gradcheck(bn_loss, &c, c.gamma, dgamma, C, 1e-2, 1e-2, C, &r);
    assert_true(g.max_rel_err < 1e-2);
    g = gx_gradcheck(bn_loss, &c, c.beta, dbeta, C, 1e-2, 1e-2, C, &r);
    assert_true(g.max_rel_err < 1e-2);
    /* in place (dX = dY): the same gradient written over dY, and the same parameter gradients */
    float G[N * C], dg2[C] = {0}, db2[C] = {0};
    memcpy(G, c.R, sizeof G);
    bn_loss(&c);
    gx_batchnorm_backward(G, dg2, db2, G, c.xhat, c.inv_std, c.gamma, N, C, c.work);
    for (int i = 0; i < N * C; i++) assert_true(G[i] == dX[i]);
    for (int i = 0; i < C; i++) assert_true(dg2[i] == dgamma[i] && db2[i] == dbeta[i]);
    /* and the check fails on a wrong gradient */
    dX[3] += 0.5f;
    g = gx_gradcheck(bn_loss, &c, c.X, dX, N * C, 1e-2, 1e-2, N * C, &r);
    assert_true(g.max_rel_err > 0.05);
}

static void test_batchnorm_statistics(void **s) {
    (void)s;
    static bn_ctx c;
    gx_rng r;
    gx_rng_init(&r, 5, 1);
    gx_rng_normal_fill(&r, c.X, N * C, 3.0f, 2.0f);
    for (int j = 0; j < C; j++) c.gamma[j] = 1, c.beta[j] = 0;
    float rm[C] = {0}, rv[C] = {1, 1, 1, 1};
    gx_batchnorm_forward_train(c.Y, c.xhat, c.inv_std, c.X, c.gamma, c.beta, N, C, 0.5f, rm, rv,
                               c.work);
    for (int j = 0; j < C; j++) {
        double mean = 0, var = 0, xm = 0, xv = 0;
        for (int i = 0; i < N; i++) mean += c.Y[i * C + j], xm += c.X[i * C + j];
        mean /= N, xm /= N;
        for (int i = 0; i < N; i++) {
            var += pow(c.Y[i * C + j] - mean, 2);
            xv += pow(c.X[i * C + j] - xm, 2);
        }
        var /= N;
        assert_true(fabs(mean) < 1e-5);
        assert_true(fabs(var - 1) < 1e-3);
        /* running stats moved halfway to the batch mean and unbiased variance */
        assert_true(fabs(rm[j] - 0.5 * xm) < 1e-4);
        assert_true(fabs(rv[j] - (0.5 + 0.5 * xv / (N - 1))) < 1e-3);
    }
    /* evaluation mode with running stats equal to the batch's biased stats reproduces training */
    float mean[C], var[C], Y2[N * C];
    for (int j = 0; j < C; j++) {
        double m = 0, v = 0;
        for (int i = 0; i < N; i++) m += c.X[i * C + j];
        m /= N;
        for (int i = 0; i < N; i++) v += pow(c.X[i * C + j] - m, 2);
        mean[j] = (float)m, var[j] = (float)(v / N);
    }
    gx_batchnorm_forward_eval(Y2, c.X, c.gamma, c.beta, mean, var, N, C);
    for (int i = 0; i < N * C; i++) assert_true(fabs(Y2[i] - c.Y[i]) < 1e-4);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batchnorm_gradients),
        cmocka_unit_test(test_batchnorm_statistics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
