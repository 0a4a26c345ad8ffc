/* core/vmath.h: exp, softplus, sigmoid and the softplus derivative against double precision over
 * a sweep of the whole float range, the special values, and the vectorised loops (the AVX-512,
 * AVX2 or baseline clone the CPU picks) against the scalar functions bit for bit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "core/layers.h"
#include "core/losses.h"
#include "core/vmath.h"

/* Error of got against want in units of the last place of want rounded to float. */
static double ulps(float got, double want) {
    float w = (float)want;
    double ulp = (double)nextafterf(fabsf(w), INFINITY) - fabsf(w);
    return fabs((double)got - want) / ulp;
}

static float from_bits(uint32_t b) {
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* Every 4099th bit pattern of both signs: about a million finite floats of every magnitude. */
#define SWEEP_STEP 4099u
#define SWEEP_END 0x7F800000u /* +inf */

/* Same bits, or both NaN (a NaN's sign and payload may depend on the order of operands). */
static int same(float a, float b) { return (isnan(a) && isnan(b)) || !memcmp(&a, &b, sizeof a); }

static void test_exp_accuracy(void **state) {
    (void)state;
    double worst = 0;
    for (uint32_t b = 0; b < SWEEP_END; b += SWEEP_STEP)
        for (int sign = 0; sign < 2; sign++) {
            float x = from_bits(b | (sign ? 0x80000000u : 0u));
            if (x <= -86.5f || x >= 88.72f) continue; /* flushed to 0 / overflows: below */
            double e = ulps(gx_vexp(x), exp((double)x));
            if (e > worst) worst = e;
        }
    if (worst > 1.5) fail_msg("exp: %.2f ulp", worst); /* measured 1.12 */
    assert_true(gx_vexp(0.0f) == 1.0f);
    assert_true(gx_vexp(88.8f) == INFINITY && gx_vexp(INFINITY) == INFINITY);
    assert_true(gx_vexp(-87.0f) == 0.0f && gx_vexp(-INFINITY) == 0.0f);
    assert_true(isnan(gx_vexp(NAN)));
}

static void test_softplus_sigmoid_accuracy(void **state) {
    (void)state;
    double worst_sp = 0, worst_sg = 0, worst_d = 0;
    for (uint32_t b = 0; b < SWEEP_END; b += SWEEP_STEP)
        for (int sign = 0; sign < 2; sign++) {
            float x = from_bits(b | (sign ? 0x80000000u : 0u));
            if (x <= -86.5f) continue; /* e^x below the normal range is flushed to 0 */
            double xd = x;
            double sp = xd > 0 ? xd + log1p(exp(-xd)) : log1p(exp(xd));
            double e = ulps(gx_vsoftplus(x), sp);
            if (e > worst_sp) worst_sp = e;
            e = ulps(gx_vsigmoid(x), 1.0 / (1.0 + exp(-xd)));
            if (e > worst_sg) worst_sg = e;
            if (x >= 0) { /* the derivative from an output y = x */
                double want = -expm1(-xd);
                e = fabs(gx_vsoftplus_grad_from_y(x) - want) / want;
                if (e > worst_d) worst_d = e;
            }
        }
    /* measured 3.42 ulp, 2.40 ulp and 2.1e-7 */
    if (worst_sp > 4.0) fail_msg("softplus: %.2f ulp", worst_sp);
    if (worst_sg > 3.0) fail_msg("sigmoid: %.2f ulp", worst_sg);
    if (worst_d > 3e-7) fail_msg("softplus derivative from y: relative %.3g", worst_d);
    assert_true(gx_vsoftplus(1e30f) == 1e30f && gx_vsoftplus(INFINITY) == INFINITY);
    assert_true(gx_vsoftplus(-INFINITY) == 0.0f && isnan(gx_vsoftplus(NAN)));
    assert_true(gx_vsigmoid(INFINITY) == 1.0f && gx_vsigmoid(-INFINITY) == 0.0f);
    assert_true(isnan(gx_vsigmoid(NAN)) && gx_vsigmoid(0.0f) == 0.5f);
    assert_true(gx_vsoftplus_grad_from_y(0.0f) == 0.0f && isnan(gx_vsoftplus_grad_from_y(NAN)));
}

static void test_log_sincos_accuracy(void **state) {
    (void)state;
    double worst = 0, worst_sc = 0;
    for (uint32_t b = 0x00800000u; b < SWEEP_END; b += SWEEP_STEP) { /* positive normal floats */
        float x = from_bits(b);
        double e = x == 1.0f ? fabs(gx_vlog(x)) : ulps(gx_vlog(x), log((double)x));
        if (e > worst) worst = e;
    }
    for (uint32_t i = 0; i < (1u << 24); i += 7) { /* every 7th of the 24-bit uniforms */
        float u = (float)i * (1.0f / 16777216.0f), sn, cs;
        gx_vsincos_2pi(u, &sn, &cs);
        double t = 6.283185307179586 * u;
        double e = fmax(fabs(sn - sin(t)), fabs(cs - cos(t)));
        if (e > worst_sc) worst_sc = e;
    }
    if (worst > 3.0) fail_msg("log: %.2f ulp", worst);              /* measured 2.68 */
    if (worst_sc > 2e-7) fail_msg("sincos: %.3g absolute", worst_sc); /* measured 9.3e-8 */
    float z0, z1;
    gx_vbox_muller(1.0f, 0.0f, &z0, &z1);
    assert_true(z0 == 0.0f && z1 == 0.0f);
    gx_vbox_muller(0x1p-24f, 0.0f, &z0, &z1); /* the smallest u1: the largest |z| */
    assert_true(fabsf(z0 - 5.7686f) < 1e-3f && fabsf(z1) < 1e-6f);
}

/* The loops of layers.c and losses.c run a clone for this CPU, chunked over threads: the same bits
 * as the scalar functions, element by element. */
static void test_vector_loops_match_scalar(void **state) {
    (void)state;
    enum { N = 70001 }; /* above the parallel threshold, not a multiple of any vector width */
    static float x[N], y[N], d[N], ones[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)(i - N / 2) * 0.0031f;
        ones[i] = 1.0f;
    }
    x[7] = NAN, x[8] = INFINITY, x[9] = -INFINITY;
    gx_act_forward(GX_ACT_SOFTPLUS, y, x, N);
    for (int i = 0; i < N; i++) {
        float s = gx_vsoftplus(x[i]);
        if (!same(s, y[i])) fail_msg("softplus(%g): loop %a, scalar %a", x[i], y[i], s);
    }
    gx_act_forward(GX_ACT_SIGMOID, y, x, N);
    for (int i = 0; i < N; i++) {
        float s = gx_sigmoid(x[i]);
        if (!same(s, y[i])) fail_msg("sigmoid(%g): loop %a, scalar %a", x[i], y[i], s);
    }
    for (int i = 0; i < N; i++) y[i] = fabsf(x[i]), d[i] = 1.0f;
    gx_act_grad_scale(GX_ACT_SOFTPLUS, d, y, N);
    memset(x, 0, sizeof x);
    gx_act_backward(GX_ACT_SOFTPLUS, x, ones, NULL, y, N);
    for (int i = 0; i < N; i++) {
        float s = gx_vsoftplus_grad_from_y(y[i]);
        if (!same(s, d[i]) || !same(s, x[i]))
            fail_msg("softplus'(y = %g): scale %a, backward %a, scalar %a", y[i], d[i], x[i], s);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp_accuracy),
        cmocka_unit_test(test_softplus_sigmoid_accuracy),
        cmocka_unit_test(test_log_sincos_accuracy),
        cmocka_unit_test(test_vector_loops_match_scalar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
