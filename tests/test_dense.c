/* Dense blocks at one and two threads (models/dense.c): the products are split over the threads
 * (by oneDNN, and by gx_gemm_pair, which runs a layer's weight and input gradients side by side).
 * Checked here: the same values at one and two threads, and the gradients against finite
 * differences at two, for the three ways the first layer takes its input (plain rows, distinct
 * rows shared through src with label columns, soft labels), with and without batch norm. Then the
 * program runs again with OMP_THREAD_LIMIT=1, where a team asked for two threads gets one: every
 * row must still be computed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gemm.h"
#include "core/gradcheck.h"
#include "models/dense.h"
#include "test_util.h"

enum { IN = 7, K = 3, H = 6, OUT = 5, R = 96, NSRC = 32 };

typedef struct {
    gx_params p;
    gx_dense_block blk;
    gx_dense_ws ws;
    float X[R * IN], dX[R * IN], c[R * OUT], soft[R * K];
    int32_t src[R], y[R];
    int use_src, use_soft; /* the first layer's input: src + labels, soft labels, or plain rows */
} fixture;

static void setup(fixture *f, int use_src, int use_soft, int bn) {
    memset(f, 0, sizeof *f);
    gx_error err;
    gx_params_init(&f->p);
    int g = gx_params_group(&f->p, "shared", &err), st = gx_params_group(&f->p, "stats", &err);
    assert_true(g >= 0 && st >= 0);
    const int sizes[] = {IN, H, H, OUT};
    assert_int_equal(gx_dense_declare(&f->blk, &f->p, "blk", 3, sizes, use_src || use_soft ? K : 0,
                                      GX_ACT_SOFTPLUS, GX_ACT_IDENTITY, bn, g, st, &err), 0);
    assert_int_equal(gx_params_finalize(&f->p, &err), 0);
    gx_rng rng;
    gx_rng_init(&rng, 3, GX_STREAM_INIT);
    gx_dense_init(&f->blk, &f->p, &rng);
    assert_int_equal(gx_dense_ws_alloc(&f->ws, &f->blk, R, R, &err), 0);
    gx_rng_uniform_fill(&rng, f->X, R * IN, -1, 1);
    gx_rng_uniform_fill(&rng, f->c, R * OUT, -1, 1);
    for (int r = 0; r < R; r++) {
        f->src[r] = (r * 7) % NSRC;
        f->y[r] = r % K;
        float s = 0;
        for (int k = 0; k < K; k++) s += f->soft[r * K + k] = 1.0f + (float)((r + k) % 4);
        for (int k = 0; k < K; k++) f->soft[r * K + k] /= s;
    }
    f->use_src = use_src;
    f->use_soft = use_soft;
}

static void teardown(fixture *f) {
    gx_dense_ws_free(&f->ws);
    gx_params_free(&f->p);
}

static void forward(fixture *f) {
    if (f->use_soft)
        gx_dense_forward_soft(&f->blk, &f->p, &f->ws, f->X, f->soft, R, 1, 0, 0.1f);
    else if (f->use_src)
        gx_dense_forward(&f->blk, &f->p, &f->ws, f->X, NSRC, f->src, f->y, R, 1, 0, 0.1f);
    else
        gx_dense_forward(&f->blk, &f->p, &f->ws, f->X, R, NULL, NULL, R, 1, 0, 0.1f);
}

/* loss = sum c * Y */
static double loss_only(void *ctx) {
    fixture *f = ctx;
    forward(f);
    const float *Y = gx_dense_out(&f->blk, &f->ws);
    double loss = 0;
    for (int i = 0; i < R * OUT; i++) loss += (double)f->c[i] * Y[i];
    return loss;
}

/* The loss and its gradients into f->p.grad and f->dX (soft labels: forward only, no backward,
 * so that case is compared by its output alone). */
static double loss_and_grad(fixture *f) {
    double loss = loss_only(f);
    if (f->use_soft) return loss;
    gx_params_zero_grad(&f->p);
    memset(f->dX, 0, sizeof f->dX);
    memcpy(gx_dense_dout(&f->blk, &f->ws), f->c, sizeof f->c);
    if (f->use_src)
        gx_dense_backward(&f->blk, &f->p, &f->ws, f->dX, f->X, NSRC, f->src, f->y, R);
    else
        gx_dense_backward(&f->blk, &f->p, &f->ws, f->dX, f->X, R, NULL, NULL, R);
    return loss;
}

static float max_abs(const float *a, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(a[i]));
    return m;
}

/* One and two threads: the same output, parameter gradients and input gradients (to float
 * rounding: a product split over threads may round differently), then a gradient check at two. */
static void check(int use_src, int use_soft, int bn) {
    static fixture f;
    static float Y1[R * OUT], g1[4096], dX1[R * IN];
    const int threads = gx_get_threads();
    setup(&f, use_src, use_soft, bn);
    assert_true(f.p.total <= sizeof g1 / sizeof *g1);
    gx_set_threads(1);
    double l1 = loss_and_grad(&f);
    memcpy(Y1, gx_dense_out(&f.blk, &f.ws), sizeof Y1);
    memcpy(g1, f.p.grad, f.p.total * sizeof *g1);
    memcpy(dX1, f.dX, sizeof dX1);
    /* poison the activations and their gradients, so that a row or product the two-thread pass
     * skips shows */
    for (int i = 0; i < f.blk.n_layers; i++) {
        const int out = f.blk.layer[i].out;
        for (int j = 0; j < R * out; j++) f.ws.l[i].Z[j] = f.ws.l[i].Y[j] = f.ws.l[i].dY[j] = NAN;
    }
    gx_set_threads(2);
    double l2 = loss_and_grad(&f);
    assert_true(fabs(l1 - l2) <= 1e-5 * (1 + fabs(l1)));
    const float *Y2 = gx_dense_out(&f.blk, &f.ws);
    float ymax = max_abs(Y1, R * OUT), gmax = max_abs(g1, f.p.total), xmax = max_abs(dX1, R * IN);
    for (int i = 0; i < R * OUT; i++) assert_true(fabsf(Y1[i] - Y2[i]) <= 1e-5f * ymax);
    if (!use_soft) {
        assert_true(gmax > 0 && xmax > 0);
        for (size_t i = 0; i < f.p.total; i++) assert_true(fabsf(g1[i] - f.p.grad[i]) <= 1e-5f * gmax);
        for (int i = 0; i < R * IN; i++) assert_true(fabsf(dX1[i] - f.dX[i]) <= 1e-5f * xmax);
        /* finite differences of the parameters, at two threads */
        gx_rng pick;
        gx_rng_init(&pick, 9, GX_STREAM_DATA);
        memcpy(g1, f.p.grad, f.p.total * sizeof *g1);
        gx_gradcheck_result res = gx_gradcheck(loss_only, &f, f.p.data, g1, f.p.total, 1e-2, 1e-2, 200, &pick);
        assert_true(res.checked > 0);
        assert_true(res.max_rel_err < 2e-2);
    }
    gx_set_threads(threads);
    teardown(&f);
}

static void test_plain_rows(void **s) { (void)s; check(0, 0, 0); }
static void test_shared_rows_with_labels(void **s) { (void)s; check(1, 0, 0); }
static void test_soft_labels(void **s) { (void)s; check(0, 1, 0); }
static void test_with_batchnorm(void **s) { (void)s; check(1, 0, 1); }

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_rows),
        cmocka_unit_test(test_shared_rows_with_labels),
        cmocka_unit_test(test_soft_labels),
        cmocka_unit_test(test_with_batchnorm),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (rc || argc > 1) return rc;
    /* again, with a team of one thread where two are asked for */
    setenv("OMP_THREAD_LIMIT", "1", 1);
    char *args[] = {argv[0], "--team-of-one", NULL};
    execv("/proc/self/exe", args);
    perror("test_dense: execv /proc/self/exe");
    return 1;
}
