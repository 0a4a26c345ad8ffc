/* The CNN layers (core/conv, core/pool, and core/batchnorm on NHWC maps): forward passes against
 * naive loops, finite-difference gradient checks w.r.t. every input and parameter, backward passes
 * that add, repeated calls that give the same bits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/batchnorm.h"
#include "core/conv.h"
#include "core/gradcheck.h"
#include "core/pool.h"
#include "core/rng.h"

/* As in test_layers.c: loss = sum(R .* Y) accumulated in double from float32 outputs, central
 * differences with h = 1e-2, relative error against max(|a| + |n|, 1e-2). The maps here are linear
 * in each input (conv, pooling away from ties) or smooth (bn), so a correct gradient is off by
 * float rounding only (~1e-4 measured); 1e-2 still catches a 5% error in one coordinate. */
#define GC_H 1e-2
#define GC_FLOOR 1e-2
#define GC_TOL 1e-2

enum { MAXN = 4096 };

static gx_rng g_rng;

static int setup(void **state) {
    (void)state;
    gx_rng_init(&g_rng, 2024, 77);
    return 0;
}

static void check(const char *what, gx_loss_fn f, void *ctx, float *x, const float *g, size_t n) {
    gx_gradcheck_result r = gx_gradcheck(f, ctx, x, g, n, GC_H, GC_FLOOR, n, NULL);
    printf("    %-40s n=%-4zu max rel err %.2e\n", what, r.checked, r.max_rel_err);
    assert_int_equal(r.checked, n);
    if (r.max_rel_err >= GC_TOL)
        fail_msg("%s: gradient check failed at %zu: rel err %g", what, r.worst_index, r.max_rel_err);
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* ---- convolution ---- */

typedef struct {
    int B, H, W, C, Cout, K, bias;
    float X[MAXN], Wt[MAXN], b[32], Y[MAXN], R[MAXN];
} conv_case;

static size_t conv_in(const conv_case *c) { return (size_t)c->B * c->H * c->W * c->C; }
static size_t conv_out(const conv_case *c) { return (size_t)c->B * c->H * c->W * c->Cout; }
static size_t conv_w(const conv_case *c) { return (size_t)c->Cout * c->K * c->K * c->C; }

static void conv_init(conv_case *c, int B, int H, int W, int C, int Cout, int K, int bias) {
    memset(c, 0, sizeof *c);
    c->B = B, c->H = H, c->W = W, c->C = C, c->Cout = Cout, c->K = K;
    c->bias = bias;
    assert_true(conv_in(c) <= MAXN && conv_out(c) <= MAXN && conv_w(c) <= MAXN && Cout <= 32);
    gx_rng_uniform_fill(&g_rng, c->X, conv_in(c), -1, 1);
    gx_rng_uniform_fill(&g_rng, c->Wt, conv_w(c), -1, 1);
    gx_rng_uniform_fill(&g_rng, c->b, (size_t)Cout, -1, 1);
    gx_rng_uniform_fill(&g_rng, c->R, conv_out(c), -1, 1);
}

static double conv_loss(void *p) {
    conv_case *c = p;
    gx_conv2d_forward(c->Y, c->X, c->Wt, c->bias ? c->b : NULL, c->B, c->H, c->W, c->C, c->Cout,
                      c->K);
    return dot(c->Y, c->R, conv_out(c));
}

/* Y[b,y,x,o] = b[o] + sum over ky, kx, c of W[o,ky,kx,c] X[b, y+ky-K/2, x+kx-K/2, c] (0 outside). */
static void conv_naive(const conv_case *c, float *Y) {
    int p = c->K / 2;
    for (int b = 0; b < c->B; b++)
        for (int y = 0; y < c->H; y++)
            for (int x = 0; x < c->W; x++)
                for (int o = 0; o < c->Cout; o++) {
                    double s = c->bias ? c->b[o] : 0;
                    for (int ky = 0; ky < c->K; ky++)
                        for (int kx = 0; kx < c->K; kx++)
                            for (int ch = 0; ch < c->C; ch++) {
                                int sy = y + ky - p, sx = x + kx - p;
                                if (sy < 0 || sy >= c->H || sx < 0 || sx >= c->W) continue;
                                s += (double)c->Wt[((o * c->K + ky) * c->K + kx) * c->C + ch] *
                                     c->X[((b * c->H + sy) * c->W + sx) * c->C + ch];
                            }
                    Y[((b * c->H + y) * c->W + x) * c->Cout + o] = (float)s;
                }
}

static const int conv_shapes[][8] = {
    /* B, H, W, C, Cout, K, bias */
    {2, 5, 4, 2, 3, 3, 1},   /* the common case */
    {3, 4, 5, 2, 3, 3, 0},   /* no bias */
    {2, 3, 3, 2, 2, 5, 1},   /* kernel larger than the image */
    {2, 4, 3, 3, 4, 1, 1},   /* 1x1 */
    {3, 2, 6, 1, 2, 3, 0},   /* one input channel */
    {1, 4, 5, 1, 20, 3, 1},  /* one input channel, output channels past a block of 16 */
    {2, 3, 4, 1, 16, 3, 0},  /* exactly one block of 16 */
    {2, 3, 3, 17, 18, 3, 1}, /* input and output channels past a block of 16 */
};

static void test_conv_forward_matches_naive(void **state) {
    (void)state;
    for (size_t t = 0; t < sizeof conv_shapes / sizeof conv_shapes[0]; t++) {
        const int *s = conv_shapes[t];
        static conv_case c;
        conv_init(&c, s[0], s[1], s[2], s[3], s[4], s[5], s[6]);
        float want[MAXN];
        conv_naive(&c, want);
        conv_loss(&c);
        for (size_t i = 0; i < conv_out(&c); i++) assert_float_equal(c.Y[i], want[i], 1e-5);
    }
}

static void test_conv_gradcheck(void **state) {
    (void)state;
    for (size_t t = 0; t < sizeof conv_shapes / sizeof conv_shapes[0]; t++) {
        const int *s = conv_shapes[t];
        static conv_case c;
        conv_init(&c, s[0], s[1], s[2], s[3], s[4], s[5], s[6]);
        float dX[MAXN] = {0}, dW[MAXN] = {0}, db[32] = {0};
        conv_loss(&c);
        gx_conv2d_backward(dX, dW, c.bias ? db : NULL, c.R, c.X, c.Wt, c.B, c.H, c.W, c.C, c.Cout,
                           c.K);
        char what[96];
        snprintf(what, sizeof what, "conv %dx%dx%d->%d k%d: dX", c.H, c.W, c.C, c.Cout, c.K);
        check(what, conv_loss, &c, c.X, dX, conv_in(&c));
        snprintf(what, sizeof what, "conv %dx%dx%d->%d k%d: dW", c.H, c.W, c.C, c.Cout, c.K);
        check(what, conv_loss, &c, c.Wt, dW, conv_w(&c));
        if (c.bias) check("  db", conv_loss, &c, c.b, db, (size_t)c.Cout);
        /* a wrong gradient is caught */
        dX[1] += 0.5f;
        gx_gradcheck_result r = gx_gradcheck(conv_loss, &c, c.X, dX, conv_in(&c), GC_H, GC_FLOOR,
                                             conv_in(&c), NULL);
        assert_true(r.max_rel_err > GC_TOL);
    }
}

/* Backward adds: a second call doubles every gradient; NULL gradients are skipped. */
static void test_conv_backward_adds(void **state) {
    (void)state;
    static conv_case c;
    conv_init(&c, 2, 4, 4, 2, 3, 3, 1);
    float dX[MAXN] = {0}, dW[MAXN] = {0}, db[32] = {0}, dX2[MAXN], dW2[MAXN], db2[32];
    gx_conv2d_backward(dX, dW, db, c.R, c.X, c.Wt, c.B, c.H, c.W, c.C, c.Cout, c.K);
    memcpy(dX2, dX, sizeof dX), memcpy(dW2, dW, sizeof dW), memcpy(db2, db, sizeof db);
    gx_conv2d_backward(dX2, dW2, db2, c.R, c.X, c.Wt, c.B, c.H, c.W, c.C, c.Cout, c.K);
    for (size_t i = 0; i < conv_in(&c); i++) assert_float_equal(dX2[i], 2 * dX[i], 1e-5);
    for (size_t i = 0; i < conv_w(&c); i++) assert_float_equal(dW2[i], 2 * dW[i], 1e-5);
    for (int i = 0; i < c.Cout; i++) assert_float_equal(db2[i], 2 * db[i], 1e-5);
    /* dX only */
    float dX3[MAXN] = {0};
    gx_conv2d_backward(dX3, NULL, NULL, c.R, c.X, c.Wt, c.B, c.H, c.W, c.C, c.Cout, c.K);
    for (size_t i = 0; i < conv_in(&c); i++) assert_float_equal(dX3[i], dX[i], 1e-6);
}

/* The same inputs give the same bits, call after call (the primitives are made once and kept),
 * and a batch of another size (another plan) in between changes nothing. */
static void test_conv_repeatable(void **state) {
    (void)state;
    static conv_case c, other;
    conv_init(&c, 3, 5, 4, 17, 20, 3, 1);
    conv_init(&other, 2, 5, 4, 17, 20, 3, 1);
    float Y1[MAXN], dX1[MAXN] = {0}, dW1[MAXN] = {0}, db1[32] = {0};
    conv_loss(&c);
    memcpy(Y1, c.Y, sizeof Y1);
    gx_conv2d_backward(dX1, dW1, db1, c.R, c.X, c.Wt, c.B, c.H, c.W, c.C, c.Cout, c.K);
    for (int r = 0; r < 3; r++) {
        conv_loss(&other);
        float dX[MAXN] = {0}, dW[MAXN] = {0}, db[32] = {0};
        conv_loss(&c);
        assert_memory_equal(c.Y, Y1, conv_out(&c) * sizeof(float));
        gx_conv2d_backward(dX, dW, db, c.R, c.X, c.Wt, c.B, c.H, c.W, c.C, c.Cout, c.K);
        assert_memory_equal(dX, dX1, conv_in(&c) * sizeof(float));
        assert_memory_equal(dW, dW1, conv_w(&c) * sizeof(float));
        assert_memory_equal(db, db1, (size_t)c.Cout * sizeof(float));
    }
}

/* ---- pooling ---- */

typedef struct {
    int B, H, W, C;
    float X[MAXN], Y[MAXN], R[MAXN];
    uint8_t arg[MAXN];
    int gap;
} pool_case;

static double pool_loss(void *p) {
    pool_case *c = p;
    size_t n;
    if (c->gap) {
        gx_avgpool_global_forward(c->Y, c->X, c->B, c->H, c->W, c->C);
        n = (size_t)c->B * c->C;
    } else {
        gx_maxpool2_forward(c->Y, c->arg, c->X, c->B, c->H, c->W, c->C);
        n = (size_t)c->B * (c->H / 2) * (c->W / 2) * c->C;
    }
    return dot(c->Y, c->R, n);
}

/* Distinct values at least 0.05 apart (a shuffled ramp), so no +-h step changes a window's max. */
static void fill_distinct(float *x, size_t n) {
    int32_t idx[MAXN];
    for (size_t i = 0; i < n; i++) idx[i] = (int32_t)i;
    gx_rng_shuffle(&g_rng, idx, n);
    for (size_t i = 0; i < n; i++) x[i] = 0.05f * (float)idx[i] - 0.025f * (float)n;
}

static void test_maxpool(void **state) {
    (void)state;
    static const int shapes[][4] = {{2, 4, 6, 3}, {1, 5, 3, 2}, {3, 2, 2, 1}}; /* odd sides too */
    for (size_t t = 0; t < 3; t++) {
        static pool_case c;
        memset(&c, 0, sizeof c);
        c.B = shapes[t][0], c.H = shapes[t][1], c.W = shapes[t][2], c.C = shapes[t][3];
        size_t nx = (size_t)c.B * c.H * c.W * c.C;
        int oh = c.H / 2, ow = c.W / 2;
        size_t ny = (size_t)c.B * oh * ow * c.C;
        fill_distinct(c.X, nx);
        gx_rng_uniform_fill(&g_rng, c.R, ny, -1, 1);
        pool_loss(&c);
        for (int b = 0; b < c.B; b++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    for (int ch = 0; ch < c.C; ch++) {
                        float m = -INFINITY;
                        for (int dy = 0; dy < 2; dy++)
                            for (int dx = 0; dx < 2; dx++)
                                m = fmaxf(m, c.X[((b * c.H + 2 * i + dy) * c.W + 2 * j + dx) * c.C + ch]);
                        assert_true(c.Y[((b * oh + i) * ow + j) * c.C + ch] == m);
                    }
        float dX[MAXN] = {0};
        gx_maxpool2_backward(dX, c.R, c.arg, c.B, c.H, c.W, c.C);
        char what[64];
        snprintf(what, sizeof what, "maxpool %dx%dx%d: dX", c.H, c.W, c.C);
        check(what, pool_loss, &c, c.X, dX, nx);
        /* each window passes its gradient to exactly one pixel; a dropped odd row gets none */
        size_t nonzero = 0;
        for (size_t i = 0; i < nx; i++) nonzero += dX[i] != 0.0f;
        assert_int_equal(nonzero, ny);
        /* the write variant: the same values over a dX full of garbage (odd sides included) */
        float dW[MAXN];
        for (size_t i = 0; i < nx; i++) dW[i] = NAN;
        gx_maxpool2_backward_write(dW, c.R, c.arg, c.B, c.H, c.W, c.C);
        for (size_t i = 0; i < nx; i++) assert_true(dW[i] == dX[i]);
    }
    /* ties: the first pixel of the window wins */
    float X[4] = {1, 1, 1, 1}, Y[1];
    uint8_t arg[1];
    gx_maxpool2_forward(Y, arg, X, 1, 2, 2, 1);
    assert_int_equal(arg[0], 0);
}

static void test_gap(void **state) {
    (void)state;
    static pool_case c;
    memset(&c, 0, sizeof c);
    c.B = 2, c.H = 3, c.W = 4, c.C = 3, c.gap = 1;
    size_t nx = (size_t)c.B * c.H * c.W * c.C;
    gx_rng_uniform_fill(&g_rng, c.X, nx, -1, 1);
    gx_rng_uniform_fill(&g_rng, c.R, (size_t)c.B * c.C, -1, 1);
    pool_loss(&c);
    for (int b = 0; b < c.B; b++)
        for (int ch = 0; ch < c.C; ch++) {
            double s = 0;
            for (int p = 0; p < c.H * c.W; p++) s += c.X[(b * c.H * c.W + p) * c.C + ch];
            assert_float_equal(c.Y[b * c.C + ch], s / (c.H * c.W), 1e-6);
        }
    float dX[MAXN] = {0};
    gx_avgpool_global_backward(dX, c.R, c.B, c.H, c.W, c.C);
    check("global average pool: dX", pool_loss, &c, c.X, dX, nx);
}

/* ---- batch normalisation over the channels of a map ---- */

typedef struct {
    int B, H, W, C;
    float X[MAXN], Y[MAXN], R[MAXN], xhat[MAXN], gamma[8], beta[8], inv_std[8];
    double work[16];
} bn_case;

static double bn_loss(void *p) {
    bn_case *c = p;
    int rows = c->B * c->H * c->W;
    gx_batchnorm_forward_train(c->Y, c->xhat, c->inv_std, c->X, c->gamma, c->beta, rows, c->C, 0.1f,
                               NULL, NULL, c->work);
    return dot(c->Y, c->R, (size_t)rows * c->C);
}

static void test_batchnorm_on_maps(void **state) {
    (void)state;
    static bn_case c;
    c.B = 3, c.H = 2, c.W = 3, c.C = 4;
    int rows = c.B * c.H * c.W;
    size_t n = (size_t)rows * c.C;
    gx_rng_normal_fill(&g_rng, c.X, n, 0.5f, 2.0f);
    gx_rng_normal_fill(&g_rng, c.gamma, (size_t)c.C, 1.0f, 0.3f);
    gx_rng_normal_fill(&g_rng, c.beta, (size_t)c.C, 0.0f, 0.3f);
    gx_rng_uniform_fill(&g_rng, c.R, n, -1, 1);
    /* statistics per channel over all B*H*W pixels, running averages from them */
    float rm[8] = {0}, rv[8] = {1, 1, 1, 1};
    gx_batchnorm_forward_train(c.Y, c.xhat, c.inv_std, c.X, c.gamma, c.beta, rows, c.C, 1.0f, rm,
                               rv, c.work);
    for (int ch = 0; ch < c.C; ch++) {
        double m = 0, v = 0;
        for (int r = 0; r < rows; r++) m += c.X[r * c.C + ch];
        m /= rows;
        for (int r = 0; r < rows; r++) v += pow(c.X[r * c.C + ch] - m, 2);
        assert_float_equal(rm[ch], m, 1e-5);
        assert_float_equal(rv[ch], v / (rows - 1), 1e-4);
        double xm = 0;
        for (int r = 0; r < rows; r++) xm += c.xhat[r * c.C + ch];
        assert_true(fabs(xm / rows) < 1e-5);
    }
    float dX[MAXN] = {0}, dgamma[8] = {0}, dbeta[8] = {0};
    bn_loss(&c);
    gx_batchnorm_backward(dX, dgamma, dbeta, c.R, c.xhat, c.inv_std, c.gamma, rows, c.C, c.work);
    check("batchnorm on a 3x2x3x4 map: dX", bn_loss, &c, c.X, dX, n);
    check("  dgamma", bn_loss, &c, c.gamma, dgamma, (size_t)c.C);
    check("  dbeta", bn_loss, &c, c.beta, dbeta, (size_t)c.C);
}

/* ---- batch norm + relu + max pool, fused ---- */

typedef struct {
    int B, H, W, C;
    float X[MAXN], P[MAXN], R[MAXN], gamma[8], beta[8], inv_std[8];
    uint8_t arg[MAXN];
    float mean[8];
    double work[2 * 8 * 9];
} brp_case;

static size_t brp_in(const brp_case *c) { return (size_t)c->B * c->H * c->W * c->C; }
static size_t brp_out(const brp_case *c) { return (size_t)c->B * (c->H / 2) * (c->W / 2) * c->C; }

static double brp_loss(void *p) {
    brp_case *c = p;
    gx_bn_relu_pool_forward(c->P, c->arg, c->mean, c->inv_std, c->X, c->gamma, c->beta, c->B, c->H,
                            c->W, c->C, 0.1f, NULL, NULL, c->work);
    return dot(c->P, c->R, brp_out(c));
}

/* The three layers one after the other (gx_batchnorm_forward_train, relu, gx_maxpool2_forward,
 * and their backward passes): the outputs, running averages and gradients the fused pair must
 * give. */
static void brp_reference(const brp_case *c, float *P, float *dX, float *dgamma, float *dbeta,
                          float *rm, float *rv) {
    static float Y[MAXN], xhat[MAXN], Rl[MAXN], dY[MAXN];
    float inv_std[8];
    double work[16];
    uint8_t arg[MAXN];
    int rows = c->B * c->H * c->W;
    size_t n = brp_in(c);
    gx_batchnorm_forward_train(Y, xhat, inv_std, c->X, c->gamma, c->beta, rows, c->C, 0.1f, rm, rv,
                               work);
    for (size_t i = 0; i < n; i++) Rl[i] = Y[i] < 0.0f ? 0.0f : Y[i];
    gx_maxpool2_forward(P, arg, Rl, c->B, c->H, c->W, c->C);
    gx_maxpool2_backward_write(dY, c->R, arg, c->B, c->H, c->W, c->C);
    for (size_t i = 0; i < n; i++) dY[i] = Rl[i] > 0.0f ? dY[i] : 0.0f;
    memset(dX, 0, n * sizeof *dX);
    gx_batchnorm_backward(dX, dgamma, dbeta, dY, xhat, inv_std, c->gamma, rows, c->C, work);
}

/* Draws X until no window's maximum is near 0 (the relu's kink) and no two pixels of a window are
 * near equal (the pool's): central differences with h = 1e-2 then stay on one linear piece. */
static void brp_draw(brp_case *c) {
    for (int tries = 0; tries < 10000; tries++) {
        gx_rng_normal_fill(&g_rng, c->X, brp_in(c), 0.5f, 2.0f);
        brp_loss(c);
        int ok = 1, oh = c->H / 2, ow = c->W / 2;
        for (int b = 0; b < c->B && ok; b++)
            for (int i = 0; i < oh && ok; i++)
                for (int j = 0; j < ow && ok; j++)
                    for (int ch = 0; ch < c->C && ok; ch++) {
                        float z[4];
                        for (int k = 0; k < 4; k++) {
                            int y = 2 * i + k / 2, x = 2 * j + k % 2;
                            float v = c->X[((b * c->H + y) * c->W + x) * c->C + ch];
                            z[k] = c->gamma[ch] * ((v - c->mean[ch]) * c->inv_std[ch]) + c->beta[ch];
                        }
                        for (int k = 0; k < 4; k++) {
                            if (fabsf(z[k]) < 0.05f) ok = 0;
                            for (int l = 0; l < k; l++)
                                if (fabsf(z[k] - z[l]) < 0.05f) ok = 0;
                        }
                    }
        if (ok) return;
    }
    fail_msg("no draw away from the kinks");
}

static void test_bn_relu_pool(void **state) {
    (void)state;
    static const int shapes[][4] = {{2, 4, 4, 3}, {3, 5, 3, 2}, {1, 3, 5, 4}, {2, 2, 2, 8}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        static brp_case c;
        memset(&c, 0, sizeof c);
        c.B = shapes[t][0], c.H = shapes[t][1], c.W = shapes[t][2], c.C = shapes[t][3];
        assert_true(gx_bn_relu_pool_work_doubles(c.B, c.C) <= sizeof c.work / sizeof c.work[0]);
        size_t nx = brp_in(&c), np = brp_out(&c);
        gx_rng_normal_fill(&g_rng, c.gamma, (size_t)c.C, 1.0f, 0.3f);
        gx_rng_normal_fill(&g_rng, c.beta, (size_t)c.C, 0.0f, 0.5f);
        gx_rng_uniform_fill(&g_rng, c.R, np, -1, 1);
        brp_draw(&c);
        /* against the three layers in sequence */
        static float P[MAXN], dXr[MAXN], dX[MAXN];
        float dgr[8] = {0}, dbr[8] = {0}, dg[8] = {0}, db[8] = {0};
        float rm[8], rv[8], rm2[8], rv2[8];
        for (int ch = 0; ch < c.C; ch++) rm[ch] = rm2[ch] = 0.3f, rv[ch] = rv2[ch] = 1.5f;
        brp_reference(&c, P, dXr, dgr, dbr, rm, rv);
        gx_bn_relu_pool_forward(c.P, c.arg, c.mean, c.inv_std, c.X, c.gamma, c.beta, c.B, c.H, c.W,
                                c.C, 0.1f, rm2, rv2, c.work);
        for (size_t i = 0; i < np; i++) assert_float_equal(c.P[i], P[i], 1e-5);
        for (int ch = 0; ch < c.C; ch++) {
            assert_float_equal(rm2[ch], rm[ch], 1e-6);
            assert_float_equal(rv2[ch], rv[ch], 1e-5);
        }
        for (size_t i = 0; i < nx; i++) dX[i] = NAN; /* written, not added into */
        gx_bn_relu_pool_backward(dX, dg, db, c.R, c.arg, c.X, c.mean, c.inv_std, c.gamma, c.B, c.H,
                                 c.W, c.C, c.work);
        for (size_t i = 0; i < nx; i++) assert_float_equal(dX[i], dXr[i], 1e-5);
        for (int ch = 0; ch < c.C; ch++) {
            assert_float_equal(dg[ch], dgr[ch], 1e-5);
            assert_float_equal(db[ch], dbr[ch], 1e-5);
        }
        /* finite differences (a step of h = 1e-2 moves z by about 0.5e-2: the draw keeps 0.05 from
         * the kinks) */
        char what[64];
        struct {
            const char *name;
            float *x, *g;
            size_t n;
        } v[3] = {{"dX", c.X, dX, nx}, {"dgamma", c.gamma, dg, (size_t)c.C},
                  {"dbeta", c.beta, db, (size_t)c.C}};
        for (int k = 0; k < 3; k++) {
            gx_gradcheck_result r = gx_gradcheck(brp_loss, &c, v[k].x, v[k].g, v[k].n, GC_H,
                                                 GC_FLOOR, v[k].n, NULL);
            snprintf(what, sizeof what, "bn-relu-pool %dx%dx%dx%d: %s", c.B, c.H, c.W, c.C,
                     v[k].name);
            printf("    %-40s n=%-4zu max rel err %.2e\n", what, r.checked, r.max_rel_err);
            assert_int_equal(r.checked, v[k].n);
            if (r.max_rel_err >= GC_TOL) fail_msg("%s: rel err %g", what, r.max_rel_err);
        }
        /* a wrong gradient is caught */
        dX[0] += 0.5f;
        gx_gradcheck_result r = gx_gradcheck(brp_loss, &c, c.X, dX, nx, GC_H, GC_FLOOR, nx, NULL);
        assert_true(r.max_rel_err > GC_TOL);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_forward_matches_naive),
        cmocka_unit_test(test_conv_gradcheck),
        cmocka_unit_test(test_conv_backward_adds),
        cmocka_unit_test(test_conv_repeatable),
        cmocka_unit_test(test_maxpool),
        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_batchnorm_on_maps),
        cmocka_unit_test(test_bn_relu_pool),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
