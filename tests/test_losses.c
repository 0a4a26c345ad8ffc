/* Tests of core/losses: finite-difference gradient checks of every loss w.r.t. every input,
 * numerical stability at extreme arguments, and values computed by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_fs_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/gradcheck.h"
#include "core/gemm.h"
#include "core/losses.h"
#include "core/rng.h"

/* Gradient-check settings (same reasoning as test_layers.c). Every output is a float32 row value
 * of size <= ~10 computed in double and rounded once, so the double loss sum_b g[b] out[b] is off
 * by <= ~1e-6; with h = 1e-2 that is <= 5e-5 in a numeric gradient. The truncation error
 * h^2 f''' / 6 is <= ~1e-4 here (the e^-lv factors have f''' ~ 10 for |lv| <= 1, |x - mu| <= 2).
 * Relative to max(|a| + |n|, 1e-2) a correct gradient therefore stays below ~1e-2 in the worst
 * case and is ~1e-4 in practice (printed). TOL = 1e-2. */
#define GC_H 1e-2
#define GC_FLOOR 1e-2
#define GC_TOL 1e-2

static gx_rng g_rng;

static void fill(float *x, size_t n, float lo, float hi) {
    gx_rng_uniform_fill(&g_rng, x, n, lo, hi);
}

static int setup(void **state) {
    (void)state;
    gx_rng_init(&g_rng, 2024, 77);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * One small instance of a loss; the callback re-runs its forward pass. */
enum { B = 3, D = 4, N = B * D };

typedef enum {
    L_LOG_SOFTMAX, /* loss = sum R .* log_softmax(L) */
    L_BERNOULLI,
    L_GAUSSIAN,
    L_KL,
    L_REPARAM, /* loss = sum R .* Z */
    L_CE,
    L_SOFT_CE,
    L_ENTROPY,
} lkind;

typedef struct {
    lkind kind;
    int ld;       /* ld_lv for the Gaussian, ld2 for the KL */
    int std_prior; /* KL against N(0, I): MU2 = LV2 = NULL */
    float X[N], L[N], MU[N], LV[N], MU2[N], LV2[N], T[N], EPS[N], R[N];
    int32_t y[B];
    float g[B], out[B], P[N], LP[N], Z[N];
} lcase;

typedef struct {
    float dL[N], dMU[N], dLV[N], dMU2[N], dLV2[N], dT[N];
} grads;

static void forward(lcase *c) {
    switch (c->kind) {
    case L_LOG_SOFTMAX: gx_log_softmax_forward(c->LP, c->P, c->L, B, D); break;
    case L_BERNOULLI: gx_bernoulli_loglik_forward(c->out, c->X, c->L, B, D); break;
    case L_GAUSSIAN: gx_gaussian_loglik_forward(c->out, c->X, c->MU, c->LV, c->ld, B, D); break;
    case L_KL:
        gx_kl_diag_forward(c->out, c->MU, c->LV, c->std_prior ? NULL : c->MU2,
                           c->std_prior ? NULL : c->LV2, c->ld, B, D);
        break;
    case L_REPARAM: gx_reparam_forward(c->Z, c->MU, c->LV, c->EPS, N); break;
    case L_CE: gx_cross_entropy_forward(c->out, c->P, c->L, c->y, B, D); break;
    case L_SOFT_CE: gx_soft_cross_entropy_forward(c->out, c->P, c->L, c->T, B, D); break;
    case L_ENTROPY: gx_entropy_forward(c->out, c->P, c->L, B, D); break;
    }
}

static void backward(lcase *c, grads *G) {
    forward(c);
    switch (c->kind) {
    case L_LOG_SOFTMAX: gx_log_softmax_backward(G->dL, c->R, c->P, B, D); break;
    case L_BERNOULLI: gx_bernoulli_loglik_backward(G->dL, c->g, c->X, c->L, B, D); break;
    case L_GAUSSIAN:
        gx_gaussian_loglik_backward(G->dMU, G->dLV, c->g, c->X, c->MU, c->LV, c->ld, B, D);
        break;
    case L_KL:
        gx_kl_diag_backward(G->dMU, G->dLV, G->dMU2, G->dLV2, c->g, c->MU, c->LV,
                            c->std_prior ? NULL : c->MU2, c->std_prior ? NULL : c->LV2, c->ld, B,
                            D);
        break;
    case L_REPARAM: gx_reparam_backward(G->dMU, G->dLV, c->R, c->LV, c->EPS, N); break;
    case L_CE: gx_cross_entropy_backward(G->dL, c->g, c->P, c->y, B, D); break;
    case L_SOFT_CE:
        gx_soft_cross_entropy_backward(G->dL, G->dT, c->g, c->P, c->L, c->T, B, D);
        break;
    case L_ENTROPY: gx_entropy_backward(G->dL, c->g, c->P, c->L, B, D); break;
    }
}

static double loss_fn(void *ctx) {
    lcase *c = ctx;
    forward(c);
    double s = 0.0;
    if (c->kind == L_LOG_SOFTMAX)
        for (int i = 0; i < N; i++) s += (double)c->R[i] * c->LP[i];
    else if (c->kind == L_REPARAM)
        for (int i = 0; i < N; i++) s += (double)c->R[i] * c->Z[i];
    else
        for (int b = 0; b < B; b++) s += (double)c->g[b] * c->out[b];
    return s;
}

static void init_case(lcase *c, lkind kind, int ld) {
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->ld = ld;
    fill(c->X, N, 0, 1); /* Bernoulli targets in [0,1]; also Gaussian data */
    fill(c->L, N, -2, 2);
    fill(c->MU, N, -1, 1);
    fill(c->LV, N, -1, 1);
    fill(c->MU2, N, -1, 1);
    fill(c->LV2, N, -1, 1);
    fill(c->T, N, 0, 1); /* soft targets, rows not normalised */
    for (int i = 0; i < N; i++) c->EPS[i] = gx_rng_normal(&g_rng);
    fill(c->R, N, -1, 1);
    fill(c->g, B, 0.5f, 1.5f);
    c->g[1] = -c->g[1]; /* any sign of upstream gradient */
    for (int b = 0; b < B; b++) c->y[b] = (int32_t)gx_rng_below(&g_rng, D);
}

static void check(const char *what, lcase *c, float *x, const float *g, size_t n) {
    gx_gradcheck_result r = gx_gradcheck(loss_fn, c, x, g, n, GC_H, GC_FLOOR, n, NULL);
    printf("    %-30s n=%-3zu max rel err %.2e (abs %.2e)\n", what, r.checked, r.max_rel_err,
           r.max_abs_err);
    assert_int_equal(r.checked, n);
    if (r.max_rel_err >= GC_TOL)
        fail_msg("%s: gradient check failed at %zu: rel err %g", what, r.worst_index,
                 r.max_rel_err);
}

/* ---------------------------------------------------------------------------------------------
 * Gradient checks */
static void test_grad_log_softmax(void **state) {
    (void)state;
    lcase c;
    grads G = {0};
    init_case(&c, L_LOG_SOFTMAX, 0);
    backward(&c, &G);
    check("log_softmax dL", &c, c.L, G.dL, N);
}

static void test_grad_bernoulli(void **state) {
    (void)state;
    lcase c;
    grads G = {0};
    init_case(&c, L_BERNOULLI, 0);
    c.X[0] = 0, c.X[1] = 1; /* hard targets too */
    backward(&c, &G);
    check("bernoulli dL", &c, c.L, G.dL, N);
}

static void test_grad_gaussian(void **state) {
    (void)state;
    const int lds[2] = {D, 0};
    for (int t = 0; t < 2; t++) {
        lcase c;
        grads G = {0};
        init_case(&c, L_GAUSSIAN, lds[t]);
        backward(&c, &G);
        char what[64];
        snprintf(what, sizeof what, "gaussian ld_lv=%d dMU", lds[t]);
        check(what, &c, c.MU, G.dMU, N);
        snprintf(what, sizeof what, "gaussian ld_lv=%d dLV", lds[t]);
        check(what, &c, c.LV, G.dLV, lds[t] ? N : D); /* ld_lv = 0: the one shared row */
        if (lds[t] == 0)
            for (int i = D; i < N; i++) assert_true(G.dLV[i] == 0.0f);
    }
}

static void test_grad_kl(void **state) {
    (void)state;
    const int lds[2] = {D, 0};
    for (int t = 0; t < 2; t++) {
        lcase c;
        grads G = {0};
        init_case(&c, L_KL, lds[t]);
        backward(&c, &G);
        size_t n2 = lds[t] ? N : D;
        char what[64];
        snprintf(what, sizeof what, "kl ld2=%d dMU1", lds[t]);
        check(what, &c, c.MU, G.dMU, N);
        snprintf(what, sizeof what, "kl ld2=%d dLV1", lds[t]);
        check(what, &c, c.LV, G.dLV, N);
        snprintf(what, sizeof what, "kl ld2=%d dMU2", lds[t]);
        check(what, &c, c.MU2, G.dMU2, n2);
        snprintf(what, sizeof what, "kl ld2=%d dLV2", lds[t]);
        check(what, &c, c.LV2, G.dLV2, n2);
        for (size_t i = n2; i < N; i++) assert_true(G.dMU2[i] == 0.0f && G.dLV2[i] == 0.0f);
    }
    /* against N(0, I) given as NULL; the prior gradients are not touched */
    lcase c;
    grads G = {0};
    init_case(&c, L_KL, 0);
    c.std_prior = 1;
    backward(&c, &G);
    check("kl N(0,I) dMU1", &c, c.MU, G.dMU, N);
    check("kl N(0,I) dLV1", &c, c.LV, G.dLV, N);
    for (int i = 0; i < N; i++) assert_true(G.dMU2[i] == 0.0f && G.dLV2[i] == 0.0f);
}

static void test_grad_reparam(void **state) {
    (void)state;
    lcase c;
    grads G = {0};
    init_case(&c, L_REPARAM, 0);
    backward(&c, &G);
    check("reparam dMU", &c, c.MU, G.dMU, N);
    check("reparam dLV", &c, c.LV, G.dLV, N);
}

static void test_grad_cross_entropy(void **state) {
    (void)state;
    lcase c;
    grads G = {0};
    init_case(&c, L_CE, 0);
    backward(&c, &G);
    check("cross_entropy dL", &c, c.L, G.dL, N);
}

static void test_grad_soft_cross_entropy(void **state) {
    (void)state;
    lcase c;
    grads G = {0};
    init_case(&c, L_SOFT_CE, 0);
    backward(&c, &G);
    check("soft_cross_entropy dL", &c, c.L, G.dL, N);
    check("soft_cross_entropy dT", &c, c.T, G.dT, N);
}

static void test_grad_entropy(void **state) {
    (void)state;
    lcase c;
    grads G = {0};
    init_case(&c, L_ENTROPY, 0);
    backward(&c, &G);
    check("entropy dL", &c, c.L, G.dL, N);
}

/* Every backward adds: twice gives double; NULL gradient pointers are skipped. */
static void test_backward_accumulates(void **state) {
    (void)state;
    const lkind kinds[] = {L_LOG_SOFTMAX, L_BERNOULLI, L_GAUSSIAN, L_GAUSSIAN, L_KL, L_KL,
                           L_REPARAM,     L_CE,        L_SOFT_CE,  L_ENTROPY};
    const int lds[] = {0, 0, D, 0, D, 0, 0, 0, 0, 0};
    for (size_t t = 0; t < sizeof kinds / sizeof kinds[0]; t++) {
        lcase c;
        grads G1 = {0}, G2 = {0};
        init_case(&c, kinds[t], lds[t]);
        backward(&c, &G1);
        backward(&c, &G2);
        backward(&c, &G2);
        const float *a = (const float *)&G1, *b2 = (const float *)&G2;
        int nonzero = 0;
        for (size_t i = 0; i < sizeof G1 / sizeof(float); i++) {
            nonzero += a[i] != 0.0f;
            assert_near(b2[i], 2.0 * a[i], 1e-6 * (1 + fabs(a[i])));
        }
        assert_true(nonzero > 0);
    }
    /* all-NULL gradients: nothing to do, nothing crashes */
    lcase c;
    init_case(&c, L_KL, D);
    forward(&c);
    gx_kl_diag_backward(NULL, NULL, NULL, NULL, c.g, c.MU, c.LV, c.MU2, c.LV2, D, B, D);
    gx_gaussian_loglik_backward(NULL, NULL, c.g, c.X, c.MU, c.LV, D, B, D);
    gx_soft_cross_entropy_backward(NULL, NULL, c.g, c.P, c.L, c.T, B, D);
    gx_reparam_backward(NULL, NULL, c.R, c.LV, c.EPS, N);
    gx_bernoulli_loglik_backward(NULL, c.g, c.X, c.L, B, D);
    gx_cross_entropy_backward(NULL, c.g, c.P, c.y, B, D);
    gx_entropy_backward(NULL, c.g, c.P, c.L, B, D);
    gx_log_softmax_backward(NULL, c.R, c.P, B, D);
}

/* The KL's backward with one prior row shared by all rows (ld2 = 0) runs its columns on the pool,
 * each summed over the rows in order: one and two threads give the same bits, at a size where
 * both threads take part. */
static void test_kl_shared_prior_same_for_any_thread_count(void **state) {
    (void)state;
    enum { BB = 1000, DD = 50 };
    static float mu1[BB * DD], lv1[BB * DD], g[BB], mu2[DD], lv2[DD];
    static float d1[2][BB * DD], l1[2][BB * DD], d2[2][DD], l2[2][DD];
    gx_rng r;
    gx_rng_init(&r, 11, GX_STREAM_INIT);
    gx_rng_normal_fill(&r, mu1, BB * DD, 0.0f, 1.0f);
    gx_rng_normal_fill(&r, lv1, BB * DD, 0.0f, 0.5f);
    gx_rng_normal_fill(&r, g, BB, 1.0f, 0.2f);
    gx_rng_normal_fill(&r, mu2, DD, 0.0f, 1.0f);
    gx_rng_normal_fill(&r, lv2, DD, 0.0f, 0.5f);
    const int threads = gx_get_threads();
    for (int t = 0; t < 2; t++) {
        gx_set_threads(t + 1);
        memset(d1[t], 0, sizeof d1[t]), memset(l1[t], 0, sizeof l1[t]);
        memset(d2[t], 0, sizeof d2[t]), memset(l2[t], 0, sizeof l2[t]);
        gx_kl_diag_backward(d1[t], l1[t], d2[t], l2[t], g, mu1, lv1, mu2, lv2, 0, BB, DD);
    }
    gx_set_threads(threads);
    assert_memory_equal(d1[0], d1[1], sizeof d1[0]);
    assert_memory_equal(l1[0], l1[1], sizeof l1[0]);
    assert_memory_equal(d2[0], d2[1], sizeof d2[0]);
    assert_memory_equal(l2[0], l2[1], sizeof l2[0]);
    float s = 0;
    for (int j = 0; j < DD; j++) s += fabsf(d2[0][j]) + fabsf(l2[0][j]);
    assert_true(s > 0);
}

/* ---------------------------------------------------------------------------------------------
 * Stability */
static void test_logsumexp_stable(void **state) {
    (void)state;
    const float big[2] = {1000, 1000};
    assert_near(gx_logsumexp(big, 2), 1000.0 + log(2.0), 1e-4);
    const float small[3] = {-1000, -1000, -1000};
    assert_near(gx_logsumexp(small, 3), -1000.0 + log(3.0), 1e-4);
    const float mixed[3] = {-1000, 0, 1000};
    assert_near(gx_logsumexp(mixed, 3), 1000.0, 1e-4);
    const float known[2] = {0, logf(3)};
    assert_near(gx_logsumexp(known, 2), log(4.0), 1e-6);
    const float one[1] = {-7.5f};
    assert_near(gx_logsumexp(one, 1), -7.5, 0);
    assert_true(isinf(gx_logsumexp(one, 0)) && gx_logsumexp(one, 0) < 0);
    const float ninf[2] = {-INFINITY, -INFINITY};
    assert_true(isinf(gx_logsumexp(ninf, 2)) && gx_logsumexp(ninf, 2) < 0);
    const float half[2] = {-INFINITY, 2};
    assert_near(gx_logsumexp(half, 2), 2.0, 0);
    /* many equal terms: log(n) + x, summed in double */
    static float many[100000];
    for (int i = 0; i < 100000; i++) many[i] = -3.0f;
    assert_near(gx_logsumexp(many, 100000), -3.0 + log(100000.0), 1e-5);
}

static void test_softplus_sigmoid_stable(void **state) {
    (void)state;
    assert_near(gx_softplus(100), 100.0, 0);
    assert_true(gx_softplus(-100) >= 0 && gx_softplus(-100) < 1e-40);
    assert_near(gx_softplus(-50) / exp(-50.0), 1.0, 1e-6); /* no cancellation to 0 */
    assert_near(gx_softplus(0), log(2.0), 1e-7);
    assert_near(gx_softplus(1), log1p(exp(1.0)), 1e-6);
    assert_near(gx_softplus(-1), log1p(exp(-1.0)), 1e-7);
    assert_true(gx_softplus(1e30f) == 1e30f);
    assert_true(gx_softplus(-1e30f) == 0.0f);
    assert_near(gx_sigmoid(100), 1.0, 0);
    assert_true(gx_sigmoid(-100) >= 0 && gx_sigmoid(-100) < 1e-40);
    assert_near(gx_sigmoid(-50) / exp(-50.0), 1.0, 1e-6);
    assert_near(gx_sigmoid(0), 0.5, 0);
    assert_near(gx_sigmoid(2), 1 / (1 + exp(-2.0)), 1e-7);
    assert_true(gx_sigmoid(1e30f) == 1.0f && gx_sigmoid(-1e30f) == 0.0f);
}

static void test_bernoulli_extreme_logits(void **state) {
    (void)state;
    /* rows: (x, l) pairs with |l| = 100 */
    const float X[4] = {1, 0, 1, 0}, L[4] = {100, 100, -100, -100};
    const double want[4] = {0, -100, -100, 0}; /* log s(100) = -e^-100 ~ 0 */
    float out[4], dL[4] = {0};
    const float g[4] = {1, 1, 1, 1};
    gx_bernoulli_loglik_forward(out, X, L, 4, 1);
    for (int i = 0; i < 4; i++) {
        assert_true(isfinite(out[i]));
        assert_near(out[i], want[i], 1e-5);
    }
    gx_bernoulli_loglik_backward(dL, g, X, L, 4, 1);
    const double wantg[4] = {0, -1, 1, 0};
    for (int i = 0; i < 4; i++) assert_near(dL[i], wantg[i], 1e-6);
    /* soft target 0.5 at l = 100: 50 - 100 */
    const float xs = 0.5f, ls = 100;
    gx_bernoulli_loglik_forward(out, &xs, &ls, 1, 1);
    assert_near(out[0], -50.0, 1e-5);
    /* a hand-computed row: x = (1, 0, 0.25), l = (0, 2, -1):
     * (0 - log 2) + (0 - log(1+e^2)) + (-0.25 - log(1+e^-1)) */
    const float X3[3] = {1, 0, 0.25f}, L3[3] = {0, 2, -1};
    gx_bernoulli_loglik_forward(out, X3, L3, 1, 3);
    assert_near(out[0], -log(2.0) - log1p(exp(2.0)) - 0.25 - log1p(exp(-1.0)), 1e-6);
}

static void test_cross_entropy_extreme_logits(void **state) {
    (void)state;
    const float L[2 * 3] = {0, 1e4f, -1e4f, 1e4f, 0, -1e4f};
    const int32_t y[2] = {0, 0};
    float out[2], P[6], dL[6] = {0}, LP[6];
    const float g[2] = {1, 1};
    gx_cross_entropy_forward(out, P, L, y, 2, 3);
    assert_near(out[0], 1e4, 1e-2);
    assert_near(out[1], 0.0, 1e-6);
    for (int i = 0; i < 6; i++) assert_true(isfinite(P[i]));
    assert_near(P[1], 1.0, 0);
    assert_near(P[3], 1.0, 0);
    gx_cross_entropy_backward(dL, g, P, y, 2, 3);
    const double want[6] = {-1, 1, 0, 0, 0, 0};
    for (int i = 0; i < 6; i++) assert_near(dL[i], want[i], 1e-6);
    gx_log_softmax_forward(LP, NULL, L, 2, 3);
    assert_near(LP[0], -1e4, 1e-2);
    assert_near(LP[1], 0.0, 0);
    assert_near(LP[2], -2e4, 1e-2);
    gx_soft_cross_entropy_forward(out, P, L, (const float[6]){1, 0, 0, 0, 0, 1}, 2, 3);
    assert_near(out[0], 1e4, 1e-2);
    assert_near(out[1], 2e4, 1e-2);
    float dT[6] = {0};
    gx_soft_cross_entropy_backward(NULL, dT, g, P, L, (const float[6]){1, 0, 0, 0, 0, 1}, 2, 3);
    assert_near(dT[0], 1e4, 1e-2); /* -log_softmax, finite although P underflows to 0 */
    assert_near(dT[5], 2e4, 1e-2);
    gx_entropy_forward(out, P, L, 2, 3);
    assert_near(out[0], 0.0, 1e-6);
    assert_near(out[1], 0.0, 1e-6);
}

static void test_kl_stable(void **state) {
    (void)state;
    float out[2];
    const float z[4] = {0, 0, 0, 0};
    gx_kl_diag_forward(out, z, z, NULL, NULL, 0, 2, 2); /* KL(N(0,1) || N(0,1)) */
    assert_near(out[0], 0.0, 0);
    assert_near(out[1], 0.0, 0);
    gx_kl_diag_forward(out, z, z, z, z, 2, 2, 2);
    assert_near(out[0], 0.0, 0);
    /* the same distribution with huge variances: exp(lv1 - lv2) does not overflow */
    const float mu[2] = {3, -2}, lv[2] = {100, -100};
    gx_kl_diag_forward(out, mu, lv, mu, lv, 0, 1, 2);
    assert_near(out[0], 0.0, 1e-6);
    float dm[2] = {0}, dl[2] = {0}, dm2[2] = {0}, dl2[2] = {0};
    const float g1 = 1;
    gx_kl_diag_backward(dm, dl, dm2, dl2, &g1, mu, lv, mu, lv, 0, 1, 2);
    for (int i = 0; i < 2; i++)
        assert_true(dm[i] == 0 && dl[i] == 0 && dm2[i] == 0 && dl2[i] == 0);
}

/* ---------------------------------------------------------------------------------------------
 * Known values, by hand */
static void test_known_values(void **state) {
    (void)state;
    float out[2];
    /* KL(N(1,1) || N(0,1)) = 0.5 per dim; KL(N(0,e) || N(0,1)) = 0.5 (e - 1 - 1) */
    const float mu1[2] = {1, 0}, lv1[2] = {0, 1};
    gx_kl_diag_forward(out, mu1, lv1, NULL, NULL, 0, 1, 2);
    assert_near(out[0], 0.5 + 0.5 * (exp(1.0) - 2.0), 1e-6);
    /* KL(N(0,1) || N(1, e^2)) = 0.5 (2 - 0 + (1 + 1) e^-2 - 1) = 0.5 + e^-2 */
    const float m0 = 0, l0 = 0, m2 = 1, l2 = 2;
    gx_kl_diag_forward(out, &m0, &l0, &m2, &l2, 1, 1, 1);
    assert_near(out[0], 0.5 + exp(-2.0), 1e-6);
    /* Gaussian: x = mu, lv = 0: -0.5 log 2pi per dim; x - mu = 1, lv = log 4:
     * -0.5 (log 2pi + log 4 + 1/4) */
    const float x[2] = {0.5f, 1}, m[2] = {0.5f, 0}, lv[2] = {0, logf(4)};
    gx_gaussian_loglik_forward(out, x, m, lv, 2, 1, 2);
    const double l2pi = log(2 * M_PI);
    assert_near(out[0], -0.5 * l2pi - 0.5 * (l2pi + log(4.0) + 0.25), 1e-6);
    /* the same with one shared LV row for two identical examples */
    const float x2[4] = {0.5f, 1, 0.5f, 1}, m2x[4] = {0.5f, 0, 0.5f, 0};
    gx_gaussian_loglik_forward(out, x2, m2x, lv, 0, 2, 2);
    assert_near(out[1], -0.5 * l2pi - 0.5 * (l2pi + log(4.0) + 0.25), 1e-6);
    /* reparam: 1 + sqrt(4) * 0.5 = 2 */
    float zr;
    const float mr = 1, lr = logf(4), er = 0.5f;
    gx_reparam_forward(&zr, &mr, &lr, &er, 1);
    assert_near(zr, 2.0, 1e-6);
    /* cross-entropy: uniform logits give log K; logits (0, log 3) give p = (1/4, 3/4) */
    const float L3[3] = {0, 0, 0}, L2[2] = {0, logf(3)};
    const int32_t y0 = 0, y1 = 1;
    float P[3];
    gx_cross_entropy_forward(out, P, L3, &y1, 1, 3);
    assert_near(out[0], log(3.0), 1e-6);
    gx_cross_entropy_forward(out, P, L2, &y0, 1, 2);
    assert_near(out[0], log(4.0), 1e-6);
    assert_near(P[0], 0.25, 1e-7);
    assert_near(P[1], 0.75, 1e-7);
    /* entropy of (1/4, 3/4) and of the uniform */
    gx_entropy_forward(out, P, L2, 1, 2);
    assert_near(out[0], -(0.25 * log(0.25) + 0.75 * log(0.75)), 1e-6);
    gx_entropy_forward(out, NULL, L3, 1, 3);
    assert_near(out[0], log(3.0), 1e-6);
    /* soft CE with T = (1, 1): -(log 1/4 + log 3/4); one-hot T equals hard CE */
    const float T11[2] = {1, 1}, T01[2] = {0, 1};
    gx_soft_cross_entropy_forward(out, NULL, L2, T11, 1, 2);
    assert_near(out[0], -(log(0.25) + log(0.75)), 1e-6);
    gx_soft_cross_entropy_forward(out, P, L2, T01, 1, 2);
    assert_near(out[0], -log(0.75), 1e-6);
    /* log_softmax of (0, log 3) */
    float LP[2];
    gx_log_softmax_forward(LP, P, L2, 1, 2);
    assert_near(LP[0], log(0.25), 1e-6);
    assert_near(LP[1], log(0.75), 1e-6);
    /* log_softmax backward with dLP = (1, 0): (1 - 1/4, -3/4) */
    float dL[2] = {0};
    const float dLP[2] = {1, 0};
    gx_log_softmax_backward(dL, dLP, P, 1, 2);
    assert_near(dL[0], 0.75, 1e-7);
    assert_near(dL[1], -0.75, 1e-7);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_grad_log_softmax, setup),
        cmocka_unit_test_setup(test_grad_bernoulli, setup),
        cmocka_unit_test_setup(test_grad_gaussian, setup),
        cmocka_unit_test_setup(test_grad_kl, setup),
        cmocka_unit_test_setup(test_grad_reparam, setup),
        cmocka_unit_test_setup(test_grad_cross_entropy, setup),
        cmocka_unit_test_setup(test_grad_soft_cross_entropy, setup),
        cmocka_unit_test_setup(test_grad_entropy, setup),
        cmocka_unit_test_setup(test_backward_accumulates, setup),
        cmocka_unit_test_setup(test_kl_shared_prior_same_for_any_thread_count, setup),
        cmocka_unit_test_setup(test_logsumexp_stable, setup),
        cmocka_unit_test_setup(test_softplus_sigmoid_stable, setup),
        cmocka_unit_test_setup(test_bernoulli_extreme_logits, setup),
        cmocka_unit_test_setup(test_cross_entropy_extreme_logits, setup),
        cmocka_unit_test_setup(test_kl_stable, setup),
        cmocka_unit_test_setup(test_known_values, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
