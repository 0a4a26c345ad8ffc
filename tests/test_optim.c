/* Tests for core/optim: Adam, AdamW, SGD against hand-computed values; frozen groups and
 * lr_scale; gradient norm and clipping; learning-rate schedules; parsing. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/optim.h"

#define assert_close(a, b, tol)                                                                  \
    do {                                                                                         \
        double a_ = (a), b_ = (b), t_ = (tol);                                                   \
        if (!(fabs(a_ - b_) <= t_)) {                                                            \
            print_error("%s = %.9g, expected %s = %.9g (tolerance %g)\n", #a, a_, #b, b_, t_);   \
            fail();                                                                              \
        }                                                                                        \
    } while (0)

/* A store with tensor "a" of n0 floats in group "g0" and tensor "b" of n1 floats in group "g1"
 * (n1 == 0: no second tensor/group). */
static void make_store(gx_params *p, int64_t n0, int64_t n1) {
    gx_error err = {{0}};
    gx_params_init(p);
    int g0 = gx_params_group(p, "g0", &err);
    assert_int_equal(gx_params_add(p, "a", 1, &n0, g0, &err), 0);
    if (n1 > 0) {
        int g1 = gx_params_group(p, "g1", &err);
        assert_int_equal(gx_params_add(p, "b", 1, &n1, g1, &err), 1);
    }
    assert_int_equal(gx_params_finalize(p, &err), 0);
}

static void set3(float *x, float a, float b, float c) {
    x[0] = a;
    x[1] = b;
    x[2] = c;
}

static void test_init_and_parse(void **state) {
    (void)state;
    gx_optim o;
    gx_optim_init(&o, GX_OPT_ADAMW);
    assert_int_equal(o.kind, GX_OPT_ADAMW);
    assert_true(o.beta1 == 0.9f && o.beta2 == 0.999f && o.eps == 1e-8f);
    assert_true(o.weight_decay == 0.0f);
    assert_true(o.momentum == 0.9f);
    assert_int_equal(o.nesterov, 0);
    assert_int_equal(o.step, 0);

    gx_opt_kind k = GX_OPT_SGD;
    assert_int_equal(gx_optim_kind_parse("adam", &k), 0);
    assert_int_equal(k, GX_OPT_ADAM);
    assert_int_equal(gx_optim_kind_parse("AdamW", &k), 0);
    assert_int_equal(k, GX_OPT_ADAMW);
    assert_int_equal(gx_optim_kind_parse("sgd", &k), 0);
    assert_int_equal(k, GX_OPT_SGD);
    assert_int_equal(gx_optim_kind_parse("rmsprop", &k), -1);
    assert_int_equal(gx_optim_kind_parse("", &k), -1);
    assert_int_equal(gx_optim_kind_parse(NULL, &k), -1);
    assert_int_equal(k, GX_OPT_SGD);

    gx_sched_kind s = GX_SCHED_CONSTANT;
    assert_int_equal(gx_sched_kind_parse("cosine", &s), 0);
    assert_int_equal(s, GX_SCHED_COSINE);
    assert_int_equal(gx_sched_kind_parse("linear", &s), 0);
    assert_int_equal(s, GX_SCHED_LINEAR);
    assert_int_equal(gx_sched_kind_parse("Constant", &s), 0);
    assert_int_equal(s, GX_SCHED_CONSTANT);
    assert_int_equal(gx_sched_kind_parse("step", &s), -1);
    assert_int_equal(gx_sched_kind_parse(NULL, &s), -1);
}

/* w = {1, -0.5, 2}; g1 = {0.5, -2, 0}, g2 = {-0.25, 1, 3}; lr 0.1, betas 0.9/0.999, eps 1e-8.
 * Step 1: m = 0.1 g, v = 0.001 g^2, m^ = g, v^ = g^2: w -= 0.1 g / (|g| + eps) (0 when g = 0).
 * Step 2, element 0: m = 0.045 - 0.025 = 0.02, v = 0.00024975 + 0.0000625 = 0.00031225,
 * m^ = 0.02 / 0.19, v^ = 0.00031225 / 0.001999: w = 0.9 - 0.1 * 0.1052632 / 0.3952251. */
static void test_adam_two_steps(void **state) {
    (void)state;
    gx_params p;
    make_store(&p, 3, 0);
    gx_optim o;
    gx_optim_init(&o, GX_OPT_ADAM);
    float *w = gx_params_value(&p, 0), *g = gx_params_gradient(&p, 0);
    set3(w, 1.0f, -0.5f, 2.0f);
    set3(g, 0.5f, -2.0f, 0.0f);
    gx_optim_step(&o, &p, 0.1f);
    assert_int_equal(o.step, 1);
    assert_close(w[0], 0.900000002, 1e-6);
    assert_close(w[1], -0.4000000005, 1e-6);
    assert_true(w[2] == 2.0f);
    assert_close(p.m[0], 0.05, 1e-7);
    assert_close(p.v[1], 4.0 * (1.0 - (double)0.999f), 1e-10); /* beta2 is a float */
    /* The gradient is left as it was. */
    assert_true(g[0] == 0.5f && g[1] == -2.0f && g[2] == 0.0f);

    set3(g, -0.25f, 1.0f, 3.0f);
    gx_optim_step(&o, &p, 0.1f);
    assert_int_equal(o.step, 2);
    assert_close(w[0], 0.8733662987, 2e-6);
    assert_close(w[1], -0.3733662967, 2e-6);
    assert_close(w[2], 1.9255863180, 2e-6);
    assert_close(p.m[0], 0.02, 1e-7);
    assert_close(p.v[0], 0.00031225, 1e-8); /* 1 - 0.999f differs from 0.001 by 1e-5 */
    gx_params_free(&p);
}

/* Adam with L2 weight decay 0.1: the gradient becomes g + 0.1 w. */
static void test_adam_l2(void **state) {
    (void)state;
    gx_params p;
    make_store(&p, 3, 0);
    gx_optim o;
    gx_optim_init(&o, GX_OPT_ADAM);
    o.weight_decay = 0.1f;
    float *w = gx_params_value(&p, 0), *g = gx_params_gradient(&p, 0);
    set3(w, 1.0f, -0.5f, 2.0f);
    set3(g, 0.5f, -2.0f, 0.0f);
    gx_optim_step(&o, &p, 0.1f);
    assert_close(w[2], 1.9, 1e-6); /* g' = 0.2: a full lr step although g = 0 */
    assert_close(p.m[2], 0.02, 1e-7);
    set3(g, -0.25f, 1.0f, 3.0f);
    gx_optim_step(&o, &p, 0.1f);
    assert_close(w[0], 0.8544413675, 2e-6);
    assert_close(w[1], -0.3708951461, 2e-6);
    assert_close(w[2], 1.8215413285, 2e-6);
    gx_params_free(&p);
}

/* AdamW(wd) and Adam(wd = 0) from the same state with the same gradients: the moments agree and
 * the values differ by exactly lr * wd * w (the decay uses the value before the step). */
static void test_adamw_decoupled(void **state) {
    (void)state;
    enum { N = 37 };
    gx_params pa, pw;
    make_store(&pa, N, 0);
    make_store(&pw, N, 0);
    gx_optim oa, ow;
    gx_optim_init(&oa, GX_OPT_ADAM);
    gx_optim_init(&ow, GX_OPT_ADAMW);
    ow.weight_decay = 0.05f;
    const float lr = 0.01f;
    for (int i = 0; i < N; i++) {
        pa.data[i] = pw.data[i] = 0.1f * (float)(i - 18);
    }
    for (int step = 0; step < 3; step++) {
        float before[N];
        for (int i = 0; i < N; i++) {
            pa.grad[i] = pw.grad[i] = sinf((float)(i + 7 * step));
            /* Same starting point for this step's comparison. */
            pa.data[i] = pw.data[i];
            before[i] = pw.data[i];
        }
        gx_optim_step(&oa, &pa, lr);
        gx_optim_step(&ow, &pw, lr);
        for (int i = 0; i < N; i++) {
            assert_true(pa.m[i] == pw.m[i]);
            assert_true(pa.v[i] == pw.v[i]);
            assert_close(pw.data[i] - pa.data[i], -lr * 0.05 * before[i], 1e-6);
        }
    }
    /* With wd != 0 the difference is real (not both zero). */
    assert_true(pw.data[0] != pa.data[0]);
    gx_params_free(&pa);
    gx_params_free(&pw);
}

/* SGD, lr 0.1, momentum 0.9, w = 1, g1 = 1, g2 = 0.5.
 * Heavy ball: buf = 1, w = 0.9; buf = 0.9 + 0.5 = 1.4, w = 0.9 - 0.14 = 0.76.
 * Nesterov: buf = 1, d = 1 + 0.9 = 1.9, w = 0.81; buf = 1.4, d = 0.5 + 1.26 = 1.76, w = 0.634. */
static void test_sgd_momentum(void **state) {
    (void)state;
    for (int nesterov = 0; nesterov <= 1; nesterov++) {
        gx_params p;
        make_store(&p, 1, 0);
        gx_optim o;
        gx_optim_init(&o, GX_OPT_SGD);
        o.nesterov = nesterov;
        p.data[0] = 1.0f;
        p.grad[0] = 1.0f;
        gx_optim_step(&o, &p, 0.1f);
        assert_close(p.m[0], 1.0, 1e-7);
        assert_close(p.data[0], nesterov ? 0.81 : 0.9, 1e-6);
        p.grad[0] = 0.5f;
        gx_optim_step(&o, &p, 0.1f);
        assert_close(p.m[0], 1.4, 1e-6);
        assert_close(p.data[0], nesterov ? 0.634 : 0.76, 1e-6);
        assert_true(p.v[0] == 0.0f);
        gx_params_free(&p);
    }
    /* Plain SGD with L2: w = 1 - 0.1 * (1 + 0.1 * 1) = 0.89; the momentum buffer is unused. */
    gx_params p;
    make_store(&p, 1, 0);
    gx_optim o;
    gx_optim_init(&o, GX_OPT_SGD);
    o.momentum = 0.0f;
    o.weight_decay = 0.1f;
    p.data[0] = 1.0f;
    p.grad[0] = 1.0f;
    gx_optim_step(&o, &p, 0.1f);
    assert_close(p.data[0], 0.89, 1e-6);
    assert_true(p.m[0] == 0.0f);
    /* With momentum and L2 the decayed gradient enters the buffer: 0.89 * 0.1 + ... */
    o.momentum = 0.9f;
    gx_optim_step(&o, &p, 0.1f); /* g' = 1 + 0.089 = 1.089, buf = 1.089, w = 0.89 - 0.1089 */
    assert_close(p.m[0], 1.089, 1e-6);
    assert_close(p.data[0], 0.7811, 1e-6);
    gx_params_free(&p);
}

/* f(w) = sum 0.5 a_i (w_i - c_i)^2 from w = 0: Adam converges to c. */
static void test_adam_minimises_quadratic(void **state) {
    (void)state;
    enum { N = 20 };
    gx_params p;
    make_store(&p, N, 0);
    gx_optim o;
    gx_optim_init(&o, GX_OPT_ADAM);
    float a[N], c[N];
    for (int i = 0; i < N; i++) {
        a[i] = 0.1f + 0.5f * (float)i; /* condition number ~ 100 */
        c[i] = (float)(i % 5) - 2.0f;
    }
    gx_schedule s = {GX_SCHED_COSINE, 0.05f, 0.0f, 10, 3000};
    double f0 = 0, f = 0;
    for (int i = 0; i < N; i++) f0 += 0.5 * a[i] * c[i] * c[i];
    for (long step = 0; step < 3000; step++) {
        for (int i = 0; i < N; i++) p.grad[i] = a[i] * (p.data[i] - c[i]);
        gx_optim_step(&o, &p, gx_schedule_lr(&s, step));
    }
    for (int i = 0; i < N; i++) {
        assert_close(p.data[i], c[i], 1e-2);
        f += 0.5 * a[i] * (p.data[i] - c[i]) * (p.data[i] - c[i]);
    }
    assert_true(f < 1e-4 * f0);
    gx_params_free(&p);
}

/* A frozen group keeps its values and moments; the other group moves. */
static void test_frozen_group(void **state) {
    (void)state;
    const gx_opt_kind kinds[3] = {GX_OPT_ADAM, GX_OPT_ADAMW, GX_OPT_SGD};
    for (int k = 0; k < 3; k++) {
        gx_params p;
        make_store(&p, 5, 7);
        p.groups[1].frozen = true;
        gx_optim o;
        gx_optim_init(&o, kinds[k]);
        o.weight_decay = 0.1f;
        for (size_t i = 0; i < p.total; i++) {
            p.data[i] = 1.0f;
            p.grad[i] = 0.5f;
        }
        float *a = gx_params_value(&p, 0), *b = gx_params_value(&p, 1);
        size_t ob = p.info[1].offset;
        for (int step = 0; step < 3; step++) gx_optim_step(&o, &p, 0.1f);
        for (int i = 0; i < 5; i++) assert_true(a[i] < 0.9f);
        for (int i = 0; i < 7; i++) {
            assert_true(b[i] == 1.0f);
            assert_true(p.m[ob + i] == 0.0f && p.v[ob + i] == 0.0f);
            assert_true(p.grad[ob + i] == 0.5f);
        }
        /* Padding between and after tensors is never written. */
        for (size_t i = 5; i < ob; i++) assert_true(p.m[i] == 0.0f);
        /* Unfreezing: the group trains from fresh moments. */
        p.groups[1].frozen = false;
        gx_optim_step(&o, &p, 0.1f);
        assert_true(b[0] < 1.0f);
        gx_params_free(&p);
    }
}

/* lr_scale 0.5 halves the SGD update of its group, and scales AdamW's decoupled decay. */
static void test_lr_scale(void **state) {
    (void)state;
    gx_params p;
    make_store(&p, 4, 4);
    p.groups[1].lr_scale = 0.5f;
    gx_optim o;
    gx_optim_init(&o, GX_OPT_SGD);
    float *a = gx_params_value(&p, 0), *b = gx_params_value(&p, 1);
    float *ga = gx_params_gradient(&p, 0), *gb = gx_params_gradient(&p, 1);
    for (int i = 0; i < 4; i++) {
        a[i] = b[i] = 2.0f;
        ga[i] = gb[i] = (float)(i + 1);
    }
    for (int step = 0; step < 2; step++) gx_optim_step(&o, &p, 0.1f);
    for (int i = 0; i < 4; i++) {
        double da = a[i] - 2.0, db = b[i] - 2.0;
        assert_close(da, -0.1 * (i + 1) * 2.9, 1e-5); /* buf: g, then 1.9 g */
        assert_close(db, 0.5 * da, 1e-6);
    }
    gx_params_free(&p);

    /* AdamW with zero gradients: only the decay acts, p *= 1 - lr * lr_scale * wd. */
    make_store(&p, 2, 2);
    p.groups[1].lr_scale = 0.5f;
    gx_optim_init(&o, GX_OPT_ADAMW);
    o.weight_decay = 0.2f;
    for (size_t i = 0; i < p.total; i++) p.data[i] = 1.0f;
    gx_optim_step(&o, &p, 0.5f);
    assert_close(gx_params_value(&p, 0)[0], 0.9, 1e-7);
    assert_close(gx_params_value(&p, 1)[0], 0.95, 1e-7);
    gx_params_free(&p);
}

static void test_grad_norm_and_clip(void **state) {
    (void)state;
    gx_params p;
    make_store(&p, 2, 1);
    float *ga = gx_params_gradient(&p, 0), *gb = gx_params_gradient(&p, 1);
    ga[0] = 3.0f;
    ga[1] = 4.0f;
    gb[0] = 12.0f;
    assert_close(gx_grad_norm(&p), 13.0, 1e-12);
    p.groups[1].frozen = true;
    assert_close(gx_grad_norm(&p), 5.0, 1e-12);

    /* No-op cases. */
    assert_close(gx_clip_grad_norm(&p, 0.0), 5.0, 1e-12);
    assert_close(gx_clip_grad_norm(&p, -1.0), 5.0, 1e-12);
    assert_close(gx_clip_grad_norm(&p, 10.0), 5.0, 1e-12);
    assert_true(ga[0] == 3.0f && ga[1] == 4.0f);

    /* Clipping scales the trainable gradients only, to the given norm. */
    assert_close(gx_clip_grad_norm(&p, 1.0), 5.0, 1e-12);
    assert_close(gx_grad_norm(&p), 1.0, 1e-6);
    assert_close(ga[0], 0.6, 1e-7);
    assert_close(ga[1], 0.8, 1e-7);
    assert_true(gb[0] == 12.0f);

    /* A non-finite norm is reported and the gradients are left for the caller to see. */
    ga[0] = INFINITY;
    assert_false(isfinite(gx_clip_grad_norm(&p, 1.0)));
    assert_true(ga[1] == 0.8f);
    gx_params_free(&p);

    /* Many elements: accumulation in double gives the exact norm of 1e6 ones. */
    make_store(&p, 1000000, 0);
    for (size_t i = 0; i < p.total; i++) p.grad[i] = 1.0f;
    assert_close(gx_grad_norm(&p), 1000.0, 1e-9);
    assert_close(gx_clip_grad_norm(&p, 2.5), 1000.0, 1e-9);
    assert_close(gx_grad_norm(&p), 2.5, 1e-5);
    gx_params_free(&p);
}

static void test_schedules(void **state) {
    (void)state;
    gx_schedule s = {GX_SCHED_CONSTANT, 0.01f, 0.0f, 0, 100};
    assert_close(gx_schedule_lr(&s, 0), 0.01, 1e-9);
    assert_close(gx_schedule_lr(&s, 1000), 0.01, 1e-9);

    /* Warm-up over 10 steps: (step + 1) / 10 * base. */
    s.warmup_steps = 10;
    assert_close(gx_schedule_lr(&s, 0), 0.001, 1e-9);
    assert_close(gx_schedule_lr(&s, 4), 0.005, 1e-9);
    assert_close(gx_schedule_lr(&s, 9), 0.01, 1e-9);
    assert_close(gx_schedule_lr(&s, 10), 0.01, 1e-9);

    /* Cosine from 1 at step 10 to 0.1 at step 110. */
    s = (gx_schedule){GX_SCHED_COSINE, 1.0f, 0.1f, 10, 110};
    assert_close(gx_schedule_lr(&s, 0), 0.1, 1e-7);
    assert_close(gx_schedule_lr(&s, 10), 1.0, 1e-7);
    assert_close(gx_schedule_lr(&s, 35), 0.1 + 0.9 * 0.5 * (1 + cos(M_PI / 4)), 1e-6);
    assert_close(gx_schedule_lr(&s, 60), 0.55, 1e-6);
    assert_close(gx_schedule_lr(&s, 110), 0.1, 1e-7);
    assert_close(gx_schedule_lr(&s, 500), 0.1, 1e-7);
    float prev = 2.0f;
    for (long t = 10; t <= 110; t++) {
        float lr = gx_schedule_lr(&s, t);
        assert_true(lr <= prev);
        prev = lr;
    }

    /* Linear likewise. */
    s.kind = GX_SCHED_LINEAR;
    assert_close(gx_schedule_lr(&s, 10), 1.0, 1e-7);
    assert_close(gx_schedule_lr(&s, 35), 0.775, 1e-6);
    assert_close(gx_schedule_lr(&s, 60), 0.55, 1e-6);
    assert_close(gx_schedule_lr(&s, 110), 0.1, 1e-7);
    assert_close(gx_schedule_lr(&s, 111), 0.1, 1e-7);

    /* No warm-up: the decay starts at step 0. */
    s = (gx_schedule){GX_SCHED_COSINE, 0.002f, 0.0f, 0, 100};
    assert_close(gx_schedule_lr(&s, 0), 0.002, 1e-9);
    assert_close(gx_schedule_lr(&s, 50), 0.001, 1e-9);
    assert_close(gx_schedule_lr(&s, 100), 0.0, 1e-9);
    assert_close(gx_schedule_lr(&s, -5), 0.002, 1e-9);

    /* total_steps <= warmup_steps: no decay phase. */
    s = (gx_schedule){GX_SCHED_LINEAR, 0.5f, 0.0f, 20, 10};
    assert_close(gx_schedule_lr(&s, 19), 0.5, 1e-7);
    assert_close(gx_schedule_lr(&s, 25), 0.5, 1e-7);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_parse),
        cmocka_unit_test(test_adam_two_steps),
        cmocka_unit_test(test_adam_l2),
        cmocka_unit_test(test_adamw_decoupled),
        cmocka_unit_test(test_sgd_momentum),
        cmocka_unit_test(test_adam_minimises_quadratic),
        cmocka_unit_test(test_frozen_group),
        cmocka_unit_test(test_lr_scale),
        cmocka_unit_test(test_grad_norm_and_clip),
        cmocka_unit_test(test_schedules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
