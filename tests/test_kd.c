/* KD (transfer/kd.h): the teacher built from a source model computes its q(y|x) (batch norm,
 * softplus, the running statistics of the domain, biases folded into bn), and the distillation
 * loss: its value against a direct computation in double and a finite-difference check of its
 * gradient. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/gradcheck.h"
#include "transfer/kd.h"

enum { B = 6, K = 4, NIN = 12, NS = 40 };

static void test_teacher_is_source_classifier(void **state) {
    (void)state;
    gx_ssdgm_config c;
    gx_ssdgm_config_default(&c, GX_PRESET_DVT, 3);
    c.z_dim = 4;
    c.n_enc = 2, c.enc[0] = 8, c.enc[1] = 6;
    c.n_dec = 2, c.dec[0] = 7, c.dec[1] = 5;
    c.cls_hidden = 5;
    c.n_domains = 1;
    strcpy(c.dom[0].name, "img");
    c.dom[0].n_in = NIN, c.dom[0].height = 3, c.dom[0].width = 4, c.dom[0].channels = 1;
    gx_rng init, r;
    gx_rng_init(&init, 5, GX_STREAM_INIT);
    gx_rng_init(&r, 6, GX_STREAM_DATA);
    gx_error err;
    gx_ssdgm m;
    assert_int_equal(gx_ssdgm_create(&m, &c, &init, &err), 0);
    assert_true(c.batchnorm);
    /* non-trivial biases and running statistics, so that every copied tensor matters */
    for (size_t i = 0; i < m.params.total; i++) m.params.data[i] += 0.3f * gx_rng_uniform(&r);
    float X[NS * NIN], P[NS * 3], Q[NS * 3];
    for (int i = 0; i < NS * NIN; i++) X[i] = gx_rng_uniform(&r);
    gx_ssdgm_ws ws;
    assert_int_equal(gx_ssdgm_ws_alloc(&ws, &m, NS, NS, &err), 0);
    gx_ssdgm_predict(&m, &ws, 0, X, NS, P, NULL);
    gx_classifier t;
    assert_int_equal(gx_kd_teacher_from_source(&t, &m, NULL, 0, 0, &init, &err), 0);
    assert_string_equal(t.arch, "fc8-bn-softplus,fc6-bn-softplus,fc5-softplus,fc");
    gx_classifier_ws tw;
    assert_int_equal(gx_classifier_ws_alloc(&tw, &t, NS, &err), 0);
    gx_classifier_predict(&t, &tw, X, NS, Q);
    for (int i = 0; i < NS * 3; i++) assert_true(fabsf(P[i] - Q[i]) < 1e-5f);
    /* with a new head: the target's class count */
    gx_classifier t2;
    assert_int_equal(gx_kd_teacher_from_source(&t2, &m, NULL, 0, 5, &init, &err), 0);
    assert_int_equal(t2.n_classes, 5);
    gx_classifier_free(&t2);
    gx_classifier_ws_free(&tw);
    gx_classifier_free(&t);
    gx_ssdgm_ws_free(&ws);
    gx_ssdgm_free(&m);
}

typedef struct {
    float S[B * K], T[B * K], P[B * K], PT[B * K], dS[B * K];
    int32_t y[B];
    gx_kd_config c;
} kd_ctx;

static double loss(void *p) {
    kd_ctx *k = p;
    float d[B * K];
    return gx_kd_loss(k->S, k->T, k->y, B, K, &k->c, k->P, k->PT, d);
}

static void init(kd_ctx *k) {
    gx_rng r;
    gx_rng_init(&r, 9, 1);
    for (int i = 0; i < B * K; i++) k->S[i] = 2 * gx_rng_normal(&r), k->T[i] = 3 * gx_rng_normal(&r);
    for (int b = 0; b < B; b++) k->y[b] = (int32_t)gx_rng_below(&r, K);
    gx_kd_config_default(&k->c);
    k->c.temp = 2.5f;
    k->c.alpha = 0.7f;
}

static void test_kd_loss_value(void **state) {
    (void)state;
    kd_ctx k;
    init(&k);
    double got = loss(&k), want = 0, T = k.c.temp, a = k.c.alpha;
    for (int b = 0; b < B; b++) {
        const float *s = k.S + b * K, *t = k.T + b * K;
        double zs = 0, zsT = 0, ztT = 0;
        for (int j = 0; j < K; j++) zs += exp(s[j]), zsT += exp(s[j] / T), ztT += exp(t[j] / T);
        double kl = 0;
        for (int j = 0; j < K; j++) {
            double p = exp(t[j] / T) / ztT, q = exp(s[j] / T) / zsT;
            kl += p * log(p / q);
        }
        want += (1 - a) * (log(zs) - s[k.y[b]]) + a * T * T * kl;
    }
    assert_true(fabs(got - want / B) < 1e-5 * (1 + fabs(want / B)));
    /* a = 0 is the cross-entropy alone; a teacher equal to the student leaves the CE part */
    k.c.alpha = 0;
    double ce = loss(&k);
    k.c.alpha = 0.5f;
    memcpy(k.T, k.S, sizeof k.S);
    assert_true(fabs(loss(&k) - 0.5 * ce) < 1e-5);
}

static void test_kd_gradcheck(void **state) {
    (void)state;
    kd_ctx k;
    init(&k);
    gx_kd_loss(k.S, k.T, k.y, B, K, &k.c, k.P, k.PT, k.dS);
    float g[B * K];
    memcpy(g, k.dS, sizeof g);
    gx_gradcheck_result r = gx_gradcheck(loss, &k, k.S, g, B * K, 1e-2, 1e-3, B * K, NULL);
    assert_int_equal(r.checked, B * K);
    if (r.max_rel_err > 1e-2) fail_msg("max relative error %g at %zu", r.max_rel_err, r.worst_index);
    g[3] += 0.05f; /* a wrong gradient is caught */
    r = gx_gradcheck(loss, &k, k.S, g, B * K, 1e-2, 1e-3, B * K, NULL);
    assert_true(r.max_rel_err > 1e-2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_teacher_is_source_classifier),
        cmocka_unit_test(test_kd_loss_value),
        cmocka_unit_test(test_kd_gradcheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
