/* Tests of core/layers (core/gemm has test_gemm.c): forward against naive loops, finite-difference
 * checks of every layer w.r.t. every input and parameter, in-place activations, accumulation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_fs_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "core/gradcheck.h"
#include "core/layers.h"
#include "core/rng.h"

/* Gradient-check settings. Parameters are float32 with values O(1); the scalar loss
 * sum(R .* Y) is accumulated in double from float32 outputs, so each evaluation carries a rounding
 * error of up to ~1e-7 * sum|R .* Y| ~ 1e-6 (12-24 terms of size <= 3). Central differences with
 * h = 1e-2 turn that into an error of at most ~1e-6 / 2h = 5e-5 in a numeric gradient; the
 * truncation error h^2 f''' / 6 is ~2e-5 for the smooth activations and 0 for the linear maps.
 * Relative to max(|a| + |n|, floor = 1e-2) a correct gradient thus stays below ~5e-3 even when it
 * is near zero, and typically ~1e-4 (printed below). TOL = 1e-2 leaves a 2x margin over that
 * bound and still catches a 5% error in a single coordinate (rel err 0.05/2.05 = 2.4e-2, see
 * test_tolerance_detects). Inputs to relu/leaky relu are kept at |x| >= 0.1 so that no +-h step
 * crosses the kink. */
#define GC_H 1e-2
#define GC_FLOOR 1e-2
#define GC_TOL 1e-2

static gx_rng g_rng;

static void fill(float *x, size_t n, float lo, float hi) {
    gx_rng_uniform_fill(&g_rng, x, n, lo, hi);
}

/* Values with |x| in [0.1, 1.5] and a random sign: away from the relu kink. */
static void fill_away_from_zero(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float m = 0.1f + 1.4f * gx_rng_uniform(&g_rng);
        x[i] = gx_rng_uniform(&g_rng) < 0.5f ? -m : m;
    }
}

static int setup(void **state) {
    (void)state;
    gx_rng_init(&g_rng, 12345, 99);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * One small layer instance whose forward pass is re-run by the loss callback. */
enum { MAXB = 8, MAXIN = 16, MAXOUT = 16, MAXK = 8, MAXN = 64 };

typedef enum { K_LINEAR, K_LABEL_HARD, K_LABEL_SOFT, K_ACT, K_DROPOUT } kind_t;

typedef struct {
    kind_t kind;
    int B, in, out, K, ldw;
    int use_bias;
    float X[MAXB * MAXIN];
    float W[MAXOUT * (MAXIN + MAXK)];
    float b[MAXOUT];
    float P[MAXB * MAXK];
    int32_t y[MAXB];
    gx_act act;
    float p;
    uint64_t seed;
    size_t n; /* element count for act/dropout */
    uint8_t mask[MAXN];
    float Y[MAXB * MAXOUT + MAXN];
    float R[MAXB * MAXOUT + MAXN];
} lcase;

static size_t ny(const lcase *c) {
    return (c->kind == K_ACT || c->kind == K_DROPOUT) ? c->n : (size_t)c->B * (size_t)c->out;
}

static void forward(lcase *c) {
    switch (c->kind) {
    case K_LINEAR:
        gx_linear_forward(c->Y, c->X, c->W, c->ldw, c->use_bias ? c->b : NULL, c->B, c->in, c->out);
        break;
    case K_LABEL_HARD:
        gx_linear_forward(c->Y, c->X, c->W, c->ldw, c->use_bias ? c->b : NULL, c->B, c->in, c->out);
        gx_label_columns_forward(c->Y, c->y, c->W + c->in, c->ldw, c->B, c->out);
        break;
    case K_LABEL_SOFT:
        gx_linear_forward(c->Y, c->X, c->W, c->ldw, c->use_bias ? c->b : NULL, c->B, c->in, c->out);
        gx_soft_label_columns_forward(c->Y, c->P, c->W + c->in, c->ldw, c->B, c->K, c->out);
        break;
    case K_ACT:
        gx_act_forward(c->act, c->Y, c->X, c->n);
        break;
    case K_DROPOUT: {
        gx_rng r;
        gx_rng_init(&r, c->seed, GX_STREAM_NOISE); /* same seed, same mask */
        gx_dropout_forward(c->Y, c->mask, c->X, c->n, c->p, &r);
        break;
    }
    }
}

/* dL/dY = R; gradients are added into the given (zeroed) buffers. */
static void backward(lcase *c, float *dX, float *dW, float *db, float *dP) {
    switch (c->kind) {
    case K_LINEAR:
        gx_linear_backward(dX, dW, db, c->R, c->X, c->W, c->ldw, c->B, c->in, c->out);
        break;
    case K_LABEL_HARD:
        gx_linear_backward(dX, dW, db, c->R, c->X, c->W, c->ldw, c->B, c->in, c->out);
        gx_label_columns_backward(dW ? dW + c->in : NULL, c->R, c->y, c->ldw, c->B, c->out);
        break;
    case K_LABEL_SOFT:
        gx_linear_backward(dX, dW, db, c->R, c->X, c->W, c->ldw, c->B, c->in, c->out);
        gx_soft_label_columns_backward(dW ? dW + c->in : NULL, dP, c->R, c->P, c->W + c->in, c->ldw,
                                       c->B, c->K, c->out);
        break;
    case K_ACT:
        forward(c);
        gx_act_backward(c->act, dX, c->R, c->X, c->Y, c->n);
        break;
    case K_DROPOUT:
        forward(c);
        gx_dropout_backward(dX, c->R, c->mask, c->n, c->p);
        break;
    }
}

static double loss_fn(void *ctx) {
    lcase *c = ctx;
    forward(c);
    double s = 0.0;
    for (size_t i = 0; i < ny(c); i++) s += (double)c->R[i] * (double)c->Y[i];
    return s;
}

static void init_case(lcase *c, kind_t kind, int B, int in, int out, int K, int ldw, int bias) {
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->B = B, c->in = in, c->out = out, c->K = K, c->ldw = ldw, c->use_bias = bias;
    fill(c->X, (size_t)B * in, -1, 1);
    fill(c->W, (size_t)out * ldw, -1, 1);
    fill(c->b, (size_t)out, -1, 1);
    for (int i = 0; i < B; i++) {
        c->y[i] = (int32_t)gx_rng_below(&g_rng, (uint32_t)(K > 0 ? K : 1));
        float s = 0;
        for (int k = 0; k < K; k++) s += c->P[i * K + k] = 0.1f + gx_rng_uniform(&g_rng);
        for (int k = 0; k < K; k++) c->P[i * K + k] /= s;
    }
    fill(c->R, sizeof c->R / sizeof c->R[0], -1, 1);
}

static double check(const char *what, lcase *c, float *x, const float *g, size_t n) {
    gx_gradcheck_result r = gx_gradcheck(loss_fn, c, x, g, n, GC_H, GC_FLOOR, n, NULL);
    printf("    %-34s n=%-3zu max rel err %.2e (abs %.2e)\n", what, r.checked, r.max_rel_err,
           r.max_abs_err);
    assert_int_equal(r.checked, n);
    if (r.max_rel_err >= GC_TOL)
        fail_msg("%s: gradient check failed at %zu: rel err %g", what, r.worst_index,
                 r.max_rel_err);
    return r.max_rel_err;
}

/* ---------------------------------------------------------------------------------------------
 * Linear */
static void naive_linear(float *Y, const float *X, const float *W, int ldw, const float *b, int B,
                         int in, int out) {
    for (int i = 0; i < B; i++)
        for (int o = 0; o < out; o++) {
            double s = b ? b[o] : 0.0;
            for (int k = 0; k < in; k++) s += (double)X[i * in + k] * W[o * ldw + k];
            Y[i * out + o] = (float)s;
        }
}

static void test_linear_forward_naive(void **state) {
    (void)state;
    lcase c;
    float Yn[MAXB * MAXOUT];
    const int ldws[2] = {5, 8};
    for (int t = 0; t < 4; t++) {
        init_case(&c, K_LINEAR, 3, 5, 4, 0, ldws[t & 1], t >> 1);
        fill(c.Y, sizeof c.Y / sizeof *c.Y, 100, 200); /* garbage must be overwritten */
        forward(&c);
        naive_linear(Yn, c.X, c.W, c.ldw, c.use_bias ? c.b : NULL, c.B, c.in, c.out);
        for (int i = 0; i < c.B * c.out; i++) assert_near(c.Y[i], Yn[i], 1e-5);
    }
}

static void gradcheck_linear(int ldw, int bias) {
    lcase c;
    init_case(&c, K_LINEAR, 3, 5, 4, 0, ldw, bias);
    float dX[MAXB * MAXIN] = {0}, dW[MAXOUT * (MAXIN + MAXK)] = {0}, db[MAXOUT] = {0};
    backward(&c, dX, dW, bias ? db : NULL, NULL);
    check("linear dX", &c, c.X, dX, (size_t)c.B * c.in);
    check("linear dW (incl. padding cols)", &c, c.W, dW, (size_t)c.out * ldw);
    if (bias) check("linear db", &c, c.b, db, (size_t)c.out);
    for (int o = 0; o < c.out; o++) /* the padding columns are never written */
        for (int k = c.in; k < ldw; k++) assert_true(dW[o * ldw + k] == 0.0f);
}

static void test_linear_gradcheck(void **state) {
    (void)state;
    gradcheck_linear(5, 1);
    gradcheck_linear(7, 1); /* ldw > in */
    gradcheck_linear(5, 0); /* NULL bias */
    gradcheck_linear(7, 0);
}

/* Each gradient pointer may be NULL; the others come out the same. */
static void test_linear_null_grads(void **state) {
    (void)state;
    lcase c;
    init_case(&c, K_LINEAR, 3, 5, 4, 0, 6, 1);
    float dX[MAXB * MAXIN] = {0}, dW[MAXOUT * (MAXIN + MAXK)] = {0}, db[MAXOUT] = {0};
    backward(&c, dX, dW, db, NULL);
    float dX2[MAXB * MAXIN] = {0}, dW2[MAXOUT * (MAXIN + MAXK)] = {0}, db2[MAXOUT] = {0};
    backward(&c, dX2, NULL, NULL, NULL);
    backward(&c, NULL, dW2, NULL, NULL);
    backward(&c, NULL, NULL, db2, NULL);
    backward(&c, NULL, NULL, NULL, NULL);
    assert_memory_equal(dX, dX2, sizeof dX);
    assert_memory_equal(dW, dW2, sizeof dW);
    assert_memory_equal(db, db2, sizeof db);
}

/* ---------------------------------------------------------------------------------------------
 * Label columns: the layer on [a ; onehot(y)] or [a ; P] equals a plain linear layer on the
 * concatenated input, and its gradients check out w.r.t. the whole W, b, a and P. */
static void concat_forward(const lcase *c, const float *lab, float *Yn) {
    float Xc[MAXB * (MAXIN + MAXK)];
    int w = c->in + c->K;
    for (int i = 0; i < c->B; i++) {
        for (int k = 0; k < c->in; k++) Xc[i * w + k] = c->X[i * c->in + k];
        for (int k = 0; k < c->K; k++) Xc[i * w + c->in + k] = lab[i * c->K + k];
    }
    naive_linear(Yn, Xc, c->W, c->ldw, c->use_bias ? c->b : NULL, c->B, w, c->out);
}

static void test_label_columns_hard(void **state) {
    (void)state;
    for (int pad = 0; pad < 2; pad++)
        for (int bias = 0; bias < 2; bias++) {
            lcase c;
            init_case(&c, K_LABEL_HARD, 3, 5, 4, 3, 5 + 3 + pad, bias);
            c.y[0] = 0, c.y[1] = 2, c.y[2] = 2; /* a repeated label accumulates */
            float onehot[MAXB * MAXK] = {0}, Yn[MAXB * MAXOUT];
            for (int i = 0; i < c.B; i++) onehot[i * c.K + c.y[i]] = 1;
            forward(&c);
            concat_forward(&c, onehot, Yn);
            for (int i = 0; i < c.B * c.out; i++) assert_near(c.Y[i], Yn[i], 1e-5);

            float dX[MAXB * MAXIN] = {0}, dW[MAXOUT * (MAXIN + MAXK)] = {0}, db[MAXOUT] = {0};
            backward(&c, dX, dW, db, NULL);
            check("label cols (hard) dX", &c, c.X, dX, (size_t)c.B * c.in);
            check("label cols (hard) dW [out,in+K]", &c, c.W, dW, (size_t)c.out * c.ldw);
            if (bias) check("label cols (hard) db", &c, c.b, db, (size_t)c.out);
            /* the column of the unused label 1 gets nothing */
            for (int o = 0; o < c.out; o++) assert_true(dW[o * c.ldw + c.in + 1] == 0.0f);
        }
}

static void test_label_columns_soft(void **state) {
    (void)state;
    for (int pad = 0; pad < 2; pad++) {
        lcase c;
        init_case(&c, K_LABEL_SOFT, 3, 5, 4, 3, 5 + 3 + pad, 1);
        float Yn[MAXB * MAXOUT];
        forward(&c);
        concat_forward(&c, c.P, Yn);
        for (int i = 0; i < c.B * c.out; i++) assert_near(c.Y[i], Yn[i], 1e-5);

        float dX[MAXB * MAXIN] = {0}, dW[MAXOUT * (MAXIN + MAXK)] = {0}, db[MAXOUT] = {0},
              dP[MAXB * MAXK] = {0};
        backward(&c, dX, dW, db, dP);
        check("label cols (soft) dX", &c, c.X, dX, (size_t)c.B * c.in);
        check("label cols (soft) dW [out,in+K]", &c, c.W, dW, (size_t)c.out * c.ldw);
        check("label cols (soft) db", &c, c.b, db, (size_t)c.out);
        check("label cols (soft) dP", &c, c.P, dP, (size_t)c.B * c.K);
        /* a one-hot P gives the hard-label result */
        lcase h = c;
        h.kind = K_LABEL_HARD;
        memset(c.P, 0, sizeof c.P);
        for (int i = 0; i < c.B; i++) c.P[i * c.K + c.y[i]] = 1;
        forward(&c);
        forward(&h);
        for (int i = 0; i < c.B * c.out; i++) assert_near(c.Y[i], h.Y[i], 1e-6);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Activations */
static const gx_act all_acts[] = {GX_ACT_IDENTITY, GX_ACT_RELU, GX_ACT_LEAKY_RELU,
                                  GX_ACT_SOFTPLUS, GX_ACT_TANH, GX_ACT_SIGMOID};
#define NACTS (sizeof all_acts / sizeof all_acts[0])

static double ref_act(gx_act a, double x) {
    switch (a) {
    case GX_ACT_IDENTITY: return x;
    case GX_ACT_RELU: return x > 0 ? x : 0;
    case GX_ACT_LEAKY_RELU: return x > 0 ? x : GX_LEAKY_SLOPE * x;
    case GX_ACT_SOFTPLUS: return x > 30 ? x + exp(-x) : log(1 + exp(x));
    case GX_ACT_TANH: return tanh(x);
    case GX_ACT_SIGMOID: return 1 / (1 + exp(-x));
    }
    return NAN;
}

static void test_act_forward_values(void **state) {
    (void)state;
    const float xs[] = {-1000, -100, -20, -3, -1, -0.25f, 0, 0.25f, 1, 3, 20, 100, 1000};
    enum { NX = sizeof xs / sizeof xs[0] };
    for (size_t a = 0; a < NACTS; a++) {
        float Y[NX];
        gx_act_forward(all_acts[a], Y, xs, NX);
        for (int i = 0; i < NX; i++) {
            double r = ref_act(all_acts[a], xs[i]);
            assert_true(isfinite(Y[i]));
            if (fabs(Y[i] - r) > 1e-6 * fmax(1.0, fabs(r)))
                fail_msg("%s(%g) = %.9g, expected %.9g", gx_act_name(all_acts[a]), xs[i], Y[i], r);
        }
    }
    /* tails: softplus(-50) = sigmoid(-50) = e^-50 to float precision (no cancellation to 0) */
    float x = -50, y;
    gx_act_forward(GX_ACT_SOFTPLUS, &y, &x, 1);
    assert_near(y / exp(-50.0), 1.0, 1e-6);
    gx_act_forward(GX_ACT_SIGMOID, &y, &x, 1);
    assert_near(y / exp(-50.0), 1.0, 1e-6);
    /* NaN is not hidden by relu */
    x = NAN;
    gx_act_forward(GX_ACT_RELU, &y, &x, 1);
    assert_true(isnan(y));
}

static void test_act_gradcheck(void **state) {
    (void)state;
    for (size_t a = 0; a < NACTS; a++) {
        lcase c;
        init_case(&c, K_ACT, 1, 1, 1, 0, 1, 0);
        c.act = all_acts[a];
        c.n = 24;
        fill_away_from_zero(c.X, c.n);
        c.X[0] = 3.0f, c.X[1] = -3.0f; /* the saturating parts too */
        float dX[MAXN] = {0};
        backward(&c, dX, NULL, NULL, NULL);
        char what[64];
        snprintf(what, sizeof what, "act %s dX", gx_act_name(c.act));
        check(what, &c, c.X, dX, c.n);
    }
}

/* In-place forward gives the same Y; the backward from Y alone (X = NULL, as after an in-place
 * forward) matches the backward with X, for every activation. */
static void test_act_inplace(void **state) {
    (void)state;
    enum { N = 40 };
    for (size_t a = 0; a < NACTS; a++) {
        float X[N], Y[N], Z[N], dY[N], d1[N], d2[N];
        fill_away_from_zero(X, N);
        X[0] = -30, X[1] = 30, X[2] = -90; /* softplus from y where y is tiny */
        fill(dY, N, -1, 1);
        gx_act_forward(all_acts[a], Y, X, N);
        memcpy(Z, X, sizeof X);
        gx_act_forward(all_acts[a], Z, Z, N);
        assert_memory_equal(Y, Z, sizeof Y);
        memset(d1, 0, sizeof d1);
        memset(d2, 0, sizeof d2);
        gx_act_backward(all_acts[a], d1, dY, X, Y, N);
        gx_act_backward(all_acts[a], d2, dY, NULL, Z, N);
        for (int i = 0; i < N; i++) {
            if (fabsf(d1[i] - d2[i]) > 1e-5f * fmaxf(1e-30f, fabsf(d1[i])) + 1e-7f)
                fail_msg("%s backward from Y: x=%g %.9g vs %.9g", gx_act_name(all_acts[a]), X[i],
                         d1[i], d2[i]);
        }
    }
}

static void test_act_parse_names(void **state) {
    (void)state;
    for (size_t a = 0; a < NACTS; a++) {
        gx_act out = (gx_act)-1;
        assert_int_equal(gx_act_parse(gx_act_name(all_acts[a]), &out), 0);
        assert_int_equal(out, all_acts[a]);
    }
    gx_act out;
    assert_int_equal(gx_act_parse("relu", &out), 0);
    assert_int_equal(out, GX_ACT_RELU);
    assert_int_equal(gx_act_parse("leaky_relu", &out), 0);
    assert_int_equal(out, GX_ACT_LEAKY_RELU);
    assert_int_equal(gx_act_parse("gelu", &out), -1);
    assert_int_equal(gx_act_parse("", &out), -1);
    assert_int_equal(gx_act_parse("RELU", &out), -1);
    assert_int_equal(gx_act_parse(NULL, &out), -1);
}

/* ---------------------------------------------------------------------------------------------
 * Dropout */
static void test_dropout_gradcheck(void **state) {
    (void)state;
    const float ps[] = {0.0f, 0.3f, 0.5f};
    for (int t = 0; t < 3; t++) {
        lcase c;
        init_case(&c, K_DROPOUT, 1, 1, 1, 0, 1, 0);
        c.n = MAXN;
        c.p = ps[t];
        c.seed = 7;
        fill(c.X, c.n, -1, 1);
        float dX[MAXN] = {0};
        backward(&c, dX, NULL, NULL, NULL);
        int kept = 0;
        for (size_t i = 0; i < c.n; i++) kept += c.mask[i];
        if (ps[t] > 0) assert_true(kept > 0 && kept < (int)c.n); /* both kinds present */
        char what[64];
        snprintf(what, sizeof what, "dropout p=%.1f dX (%d/%zu kept)", (double)c.p, kept, c.n);
        check(what, &c, c.X, dX, c.n);
    }
}

static void test_dropout_properties(void **state) {
    (void)state;
    enum { N = 100000 };
    static float X[N], Y[N], Y2[N];
    static uint8_t M[N], M2[N];
    fill(X, N, -1, 1);
    const float p = 0.25f;
    gx_rng r;
    gx_rng_init(&r, 3, GX_STREAM_NOISE);
    gx_dropout_forward(Y, M, X, N, p, &r);
    int kept = 0;
    for (int i = 0; i < N; i++) {
        kept += M[i];
        assert_true(M[i] == 0 || M[i] == 1);
        if (M[i]) assert_near(Y[i], X[i] / (1 - p), 1e-6);
        else assert_true(Y[i] == 0.0f);
    }
    /* keep fraction 0.75, binomial sd = sqrt(N p (1-p)) ~ 137: allow 5 sd */
    assert_true(abs(kept - 75000) < 700);
    /* same seed, same mask; in place gives the same values */
    memcpy(Y2, X, sizeof X);
    gx_rng_init(&r, 3, GX_STREAM_NOISE);
    gx_dropout_forward(Y2, M2, Y2, N, p, &r);
    assert_memory_equal(M, M2, sizeof M);
    assert_memory_equal(Y, Y2, sizeof Y);
    /* another seed, another mask */
    gx_rng_init(&r, 4, GX_STREAM_NOISE);
    gx_dropout_forward(Y2, M2, X, N, p, &r);
    assert_true(memcmp(M, M2, sizeof M) != 0);
    /* p = 0 is the identity; p = 1 drops everything */
    gx_dropout_forward(Y2, M2, X, N, 0.0f, &r);
    assert_memory_equal(Y2, X, sizeof X);
    gx_dropout_forward(Y2, M2, X, N, 1.0f, &r);
    for (int i = 0; i < N; i++) assert_true(Y2[i] == 0.0f && M2[i] == 0);
    float dX[4] = {0}, dY[4] = {1, 1, 1, 1};
    gx_dropout_backward(dX, dY, M2, 4, 1.0f);
    for (int i = 0; i < 4; i++) assert_true(dX[i] == 0.0f);
}

/* ---------------------------------------------------------------------------------------------
 * Every backward adds: running it twice gives twice the gradient, and it adds onto whatever the
 * buffer held. */
static void accumulates(kind_t kind, gx_act act) {
    lcase c;
    init_case(&c, kind, 3, 5, 4, 3, 5 + 3 + 1, 1);
    c.act = act;
    c.n = 30;
    c.p = 0.4f;
    c.seed = 11;
    fill_away_from_zero(c.X, (size_t)MAXB * MAXIN);
    enum { NX = MAXB * MAXIN, NW = MAXOUT * (MAXIN + MAXK), NB = MAXOUT, NP = MAXB * MAXK };
    float g1[NX + NW + NB + NP] = {0}, g2[NX + NW + NB + NP] = {0}, g3[NX + NW + NB + NP];
    int has_p = kind == K_LABEL_SOFT, has_w = kind != K_ACT && kind != K_DROPOUT;
    float *gs[3] = {g1, g2, g3};
    fill(g3, sizeof g3 / sizeof *g3, -1, 1);
    float base[NX + NW + NB + NP];
    memcpy(base, g3, sizeof base);
    for (int t = 0; t < 3; t++) {
        float *g = gs[t];
        int reps = t == 1 ? 2 : 1;
        for (int r = 0; r < reps; r++)
            backward(&c, g, has_w ? g + NX : NULL, has_w ? g + NX + NW : NULL,
                     has_p ? g + NX + NW + NB : NULL);
    }
    int nonzero = 0;
    for (int i = 0; i < NX + NW + NB + NP; i++) {
        nonzero += g1[i] != 0.0f;
        assert_near(g2[i], 2 * g1[i], 1e-6 * (1 + fabs(g1[i])));
        assert_near(g3[i], base[i] + g1[i], 1e-6 * (1 + fabs(g1[i])));
    }
    assert_true(nonzero > 0);
}

static void test_backward_accumulates(void **state) {
    (void)state;
    accumulates(K_LINEAR, GX_ACT_IDENTITY);
    accumulates(K_LABEL_HARD, GX_ACT_IDENTITY);
    accumulates(K_LABEL_SOFT, GX_ACT_IDENTITY);
    for (size_t a = 0; a < NACTS; a++) accumulates(K_ACT, all_acts[a]);
    accumulates(K_DROPOUT, GX_ACT_IDENTITY);
}

/* The tolerance is tight enough to catch a 5% error in one coordinate of a correct gradient. */
static void test_tolerance_detects(void **state) {
    (void)state;
    lcase c;
    init_case(&c, K_LABEL_HARD, 3, 5, 4, 3, 8, 1);
    float dW[MAXOUT * (MAXIN + MAXK)] = {0};
    backward(&c, NULL, dW, NULL, NULL);
    size_t n = (size_t)c.out * c.ldw, worst = 0;
    for (size_t i = 0; i < n; i++)
        if (fabsf(dW[i]) > fabsf(dW[worst])) worst = i;
    dW[worst] *= 1.05f;
    gx_gradcheck_result r = gx_gradcheck(loss_fn, &c, c.W, dW, n, GC_H, GC_FLOOR, n, NULL);
    assert_true(r.max_rel_err > GC_TOL);
    assert_int_equal(r.worst_index, worst);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_linear_forward_naive, setup),
        cmocka_unit_test_setup(test_linear_gradcheck, setup),
        cmocka_unit_test_setup(test_linear_null_grads, setup),
        cmocka_unit_test_setup(test_label_columns_hard, setup),
        cmocka_unit_test_setup(test_label_columns_soft, setup),
        cmocka_unit_test_setup(test_act_forward_values, setup),
        cmocka_unit_test_setup(test_act_gradcheck, setup),
        cmocka_unit_test_setup(test_act_inplace, setup),
        cmocka_unit_test_setup(test_act_parse_names, setup),
        cmocka_unit_test_setup(test_dropout_gradcheck, setup),
        cmocka_unit_test_setup(test_dropout_properties, setup),
        cmocka_unit_test_setup(test_backward_accumulates, setup),
        cmocka_unit_test_setup(test_tolerance_detects, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
