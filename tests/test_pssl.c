/* P-SSL's unlabelled FixMatch term (transfer/pssl.h): its value and mask against a direct
 * computation in double, and a finite-difference check of its gradient with respect to the strong
 * views' logits (the mask depends on the weak logits only, so it is fixed while LS moves). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/gradcheck.h"
#include "transfer/pssl.h"

enum { N = 8, K = 4 };

typedef struct {
    float LW[N * K], LS[N * K], PS[N * K], dLS[N * K];
    float tau, scale;
} fm_ctx;

static double loss(void *p) {
    fm_ctx *c = p;
    float d[N * K];
    return c->scale * gx_fixmatch_unlabelled(c->LW, c->LS, N, K, c->tau, c->scale, c->PS, d, NULL);
}

/* Weak logits: even rows peaked (confident), odd rows flat; strong logits random. */
static void init(fm_ctx *c) {
    gx_rng r;
    gx_rng_init(&r, 7, 1);
    for (int i = 0; i < N * K; i++) {
        c->LW[i] = gx_rng_normal(&r) * ((i / K) % 2 ? 0.2f : 4.0f);
        c->LS[i] = gx_rng_normal(&r);
    }
    c->tau = 0.8f;
    c->scale = 0.7f;
}

static void test_value_and_mask(void **state) {
    (void)state;
    fm_ctx c;
    init(&c);
    int used = -1;
    double got = gx_fixmatch_unlabelled(c.LW, c.LS, N, K, c.tau, c.scale, c.PS, c.dLS, &used);
    double want = 0;
    int n_used = 0;
    for (int r = 0; r < N; r++) {
        const float *w = c.LW + r * K, *s = c.LS + r * K;
        int a = 0;
        double zw = 0, zs = 0;
        for (int k = 0; k < K; k++) if (w[k] > w[a]) a = k;
        for (int k = 0; k < K; k++) zw += exp((double)w[k] - w[a]), zs += exp((double)s[k]);
        if (1 / zw >= c.tau) {
            want += log(zs) - s[a];
            n_used++;
        } else {
            for (int k = 0; k < K; k++) assert_true(c.dLS[r * K + k] == 0.0f);
        }
    }
    assert_true(n_used > 0 && n_used < N); /* the test data exercise both sides of the threshold */
    assert_int_equal(used, n_used);
    assert_true(fabs(got - want / N) < 1e-5);
    /* tau 0 keeps every row, tau 1 (with no one-hot row) none */
    gx_fixmatch_unlabelled(c.LW, c.LS, N, K, 0.0f, 1.0f, c.PS, c.dLS, &used);
    assert_int_equal(used, N);
    assert_true(gx_fixmatch_unlabelled(c.LW, c.LS, N, K, 1.0f, 1.0f, c.PS, c.dLS, &used) == 0.0);
    assert_int_equal(used, 0);
}

static void test_gradcheck(void **state) {
    (void)state;
    fm_ctx c;
    init(&c);
    gx_fixmatch_unlabelled(c.LW, c.LS, N, K, c.tau, c.scale, c.PS, c.dLS, NULL);
    /* dLS is the gradient of scale * the returned mean */
    float scaled[N * K];
    memcpy(scaled, c.dLS, sizeof scaled);
    gx_gradcheck_result r = gx_gradcheck(loss, &c, c.LS, scaled, N * K, 1e-2, 1e-3, N * K, NULL);
    assert_int_equal(r.checked, N * K);
    if (r.max_rel_err > 1e-2) fail_msg("max relative error %g at %zu", r.max_rel_err, r.worst_index);
    /* a wrong gradient is caught */
    scaled[1] += 0.05f;
    r = gx_gradcheck(loss, &c, c.LS, scaled, N * K, 1e-2, 1e-3, N * K, NULL);
    assert_true(r.max_rel_err > 1e-2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_and_mask),
        cmocka_unit_test(test_gradcheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
