/* Tests of core/gradcheck: a right gradient passes, a wrong one is found, coordinates are chosen
 * as documented, x is restored. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/gradcheck.h"
#include "core/rng.h"

enum { N = 20 };

/* f(x) = sum_i c_i sin(x_i) + 0.5 (sum_i x_i)^2, in double; records which coordinates moved. */
typedef struct {
    float x[N];
    float x0[N];
    double c[N];
    int calls;
    int touched[N];
} ctx_t;

static double f(void *p) {
    ctx_t *c = p;
    double s = 0, t = 0;
    for (int i = 0; i < N; i++) {
        s += c->c[i] * sin((double)c->x[i]);
        t += c->x[i];
        if (c->x[i] != c->x0[i]) c->touched[i]++;
    }
    c->calls++;
    return s + 0.5 * t * t;
}

static void grad(const ctx_t *c, float *g) {
    double t = 0;
    for (int i = 0; i < N; i++) t += c->x[i];
    for (int i = 0; i < N; i++) g[i] = (float)(c->c[i] * cos((double)c->x[i]) + t);
}

static void init(ctx_t *c) {
    memset(c, 0, sizeof *c);
    gx_rng r;
    gx_rng_init(&r, 5, 1);
    for (int i = 0; i < N; i++) {
        c->x[i] = gx_rng_uniform(&r) * 2 - 1;
        c->c[i] = gx_rng_uniform(&r) * 4 - 2;
    }
    memcpy(c->x0, c->x, sizeof c->x);
}

static void test_right_gradient_passes(void **state) {
    (void)state;
    ctx_t c;
    init(&c);
    float g[N];
    grad(&c, g);
    gx_gradcheck_result r = gx_gradcheck(f, &c, c.x, g, N, 1e-2, 1e-3, N, NULL);
    assert_int_equal(r.checked, N);
    assert_int_equal(c.calls, 2 * N);
    assert_true(r.max_rel_err < 1e-4); /* truncation h^2/6 ~ 2e-5 relative */
    assert_true(r.max_abs_err < 1e-4);
    assert_memory_equal(c.x, c.x0, sizeof c.x); /* restored exactly */
}

static void test_wrong_gradient_found(void **state) {
    (void)state;
    ctx_t c;
    init(&c);
    float g[N];
    /* a plausible bug: the coupling term forgotten */
    for (int i = 0; i < N; i++) g[i] = (float)(c.c[i] * cos((double)c.x[i]));
    gx_gradcheck_result r = gx_gradcheck(f, &c, c.x, g, N, 1e-2, 1e-3, N, NULL);
    assert_true(r.max_rel_err > 0.1);
    /* the sign of one coordinate flipped: found, and named */
    grad(&c, g);
    g[7] = -g[7];
    r = gx_gradcheck(f, &c, c.x, g, N, 1e-2, 1e-3, N, NULL);
    assert_true(r.max_rel_err > 0.99); /* |a - n| / (|a| + |n|) = 1 for a = -n */
    assert_int_equal(r.worst_index, 7);
    assert_true(r.max_abs_err > 2 * fabsf(g[7]) * 0.99);
    /* a 2% error in one coordinate is still well above a 1e-3 tolerance */
    grad(&c, g);
    g[3] *= 1.02f;
    r = gx_gradcheck(f, &c, c.x, g, N, 1e-2, 1e-3, N, NULL);
    assert_true(r.max_rel_err > 5e-3);
    assert_int_equal(r.worst_index, 3);
    /* non-finite analytic gradient: infinite error */
    grad(&c, g);
    g[11] = NAN;
    r = gx_gradcheck(f, &c, c.x, g, N, 1e-2, 1e-3, N, NULL);
    assert_true(isinf(r.max_rel_err));
    assert_int_equal(r.worst_index, 11);
    assert_memory_equal(c.x, c.x0, sizeof c.x);
}

/* The floor keeps a near-zero gradient from counting as a 100% error. */
static void test_floor(void **state) {
    (void)state;
    ctx_t c;
    init(&c);
    float g[N];
    grad(&c, g);
    for (int i = 0; i < N; i++) c.c[i] = 0;
    /* f = 0.5 (sum x)^2 + 0: make sum x = 0 so every gradient is 0, then claim 1e-6 */
    double t = 0;
    for (int i = 0; i < N - 1; i++) t += c.x[i];
    c.x[N - 1] = (float)-t;
    memcpy(c.x0, c.x, sizeof c.x);
    for (int i = 0; i < N; i++) g[i] = 1e-6f;
    gx_gradcheck_result r = gx_gradcheck(f, &c, c.x, g, N, 1e-2, 1e-3, N, NULL);
    assert_true(r.max_rel_err < 2e-3);
    r = gx_gradcheck(f, &c, c.x, g, N, 1e-2, 0.0, N, NULL);
    assert_true(r.max_rel_err > 0.1); /* without a floor the tiny error looks huge */
}

/* A random subset of max_checks distinct coordinates, fixed by the rng; evenly spaced without. */
static void test_subset(void **state) {
    (void)state;
    ctx_t c;
    init(&c);
    float g[N];
    grad(&c, g);
    int first[N];
    for (int seed = 0; seed < 2; seed++) {
        gx_rng r;
        gx_rng_init(&r, 100 + (uint64_t)seed, 9);
        c.calls = 0;
        memset(c.touched, 0, sizeof c.touched);
        gx_gradcheck_result res = gx_gradcheck(f, &c, c.x, g, N, 1e-2, 1e-3, 6, &r);
        assert_int_equal(res.checked, 6);
        assert_int_equal(c.calls, 12);
        int distinct = 0;
        for (int i = 0; i < N; i++) {
            assert_true(c.touched[i] == 0 || c.touched[i] == 2);
            distinct += c.touched[i] == 2;
        }
        assert_int_equal(distinct, 6);
        assert_true(res.max_rel_err < 1e-4);
        if (seed == 0) memcpy(first, c.touched, sizeof first);
    }
    assert_true(memcmp(first, c.touched, sizeof first) != 0); /* another seed, another subset */
    /* same seed, same subset */
    gx_rng r;
    gx_rng_init(&r, 100, 9);
    memset(c.touched, 0, sizeof c.touched);
    gx_gradcheck(f, &c, c.x, g, N, 1e-2, 1e-3, 6, &r);
    assert_memory_equal(first, c.touched, sizeof first);
    /* no rng: evenly spaced, 5 of 20 = every 4th */
    memset(c.touched, 0, sizeof c.touched);
    gx_gradcheck_result res = gx_gradcheck(f, &c, c.x, g, N, 1e-2, 1e-3, 5, NULL);
    assert_int_equal(res.checked, 5);
    for (int i = 0; i < N; i++) assert_int_equal(c.touched[i], (i % 4 == 3) ? 2 : 0);
    /* nothing to check */
    res = gx_gradcheck(f, &c, c.x, g, N, 1e-2, 1e-3, 0, NULL);
    assert_int_equal(res.checked, 0);
    assert_true(res.max_rel_err == 0);
    assert_memory_equal(c.x, c.x0, sizeof c.x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_right_gradient_passes),
        cmocka_unit_test(test_wrong_gradient_found),
        cmocka_unit_test(test_floor),
        cmocka_unit_test(test_subset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
