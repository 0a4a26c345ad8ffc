/* The generator interface (C_s and G_s of a model): probabilities, the conditioning modes, one-hot
 * soft labels against hard labels (the same samples for the same rng), the soft label in the m2
 * decoder, class draws following p, the input-size check, standardisation, determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "models/generator.h"

enum { K = 3, H = 3, W = 4, NIN = H * W, MAXN = 600 };

/* A small model with one image domain of 3x4 pixels (Bernoulli) or 12 Gaussian features. */
static void make_model(gx_ssdgm *m, gx_preset preset, gx_likelihood lik) {
    gx_ssdgm_config c;
    gx_ssdgm_config_default(&c, preset, K);
    c.z_dim = 4;
    c.n_enc = 2, c.enc[0] = 8, c.enc[1] = 6;
    c.n_dec = 2, c.dec[0] = 7, c.dec[1] = 5;
    c.n_domains = 1;
    strcpy(c.dom[0].name, "img");
    c.dom[0].n_in = NIN, c.dom[0].lik = lik;
    if (lik == GX_LIK_BERNOULLI) c.dom[0].height = H, c.dom[0].width = W, c.dom[0].channels = 1;
    gx_rng init;
    gx_rng_init(&init, 5, GX_STREAM_INIT);
    gx_error err;
    assert_int_equal(gx_ssdgm_create(m, &c, &init, &err), 0);
}

static void fill_images(float *X, int n, uint64_t seed) {
    gx_rng r;
    gx_rng_init(&r, seed, GX_STREAM_DATA);
    for (int i = 0; i < n * NIN; i++) X[i] = gx_rng_uniform(&r);
}

static void assert_close(const float *a, const float *b, size_t n, float tol) {
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(a[i] - b[i]) <= tol)) fail_msg("element %zu: %g, expected %g", i, a[i], b[i]);
}

/* C_s gives distributions; argmax is the one-hot of its argmax; random is uniform. */
static void test_classify_and_condition(void **s) {
    (void)s;
    static gx_ssdgm m;
    static gx_generator g;
    gx_error err;
    make_model(&m, GX_PRESET_DVT, GX_LIK_BERNOULLI);
    assert_int_equal(gx_generator_init(&g, &m, NULL, 0, 20, "model", &err), 0);
    float X[20 * NIN], P[20 * K], A[20 * K], R[20 * K];
    fill_images(X, 20, 1);
    gx_generator_classify(&g, X, 20, P);
    for (int i = 0; i < 20; i++) {
        double sum = 0;
        for (int k = 0; k < K; k++) {
            assert_true(P[i * K + k] >= 0 && P[i * K + k] <= 1);
            sum += P[i * K + k];
        }
        assert_true(fabs(sum - 1) < 1e-5);
    }
    gx_generator_condition(&g, X, 20, GX_COND_SOFT, A);
    assert_memory_equal(A, P, sizeof P);
    gx_generator_condition(&g, X, 20, GX_COND_ARGMAX, A);
    gx_generator_condition(&g, X, 20, GX_COND_RANDOM, R);
    for (int i = 0; i < 20; i++) {
        int best = 0;
        for (int k = 1; k < K; k++) if (P[i * K + k] > P[i * K + best]) best = k;
        for (int k = 0; k < K; k++) {
            assert_true(A[i * K + k] == (k == best ? 1.0f : 0.0f));
            assert_true(fabsf(R[i * K + k] - 1.0f / K) < 1e-7f);
        }
    }
    gx_condition c;
    assert_int_equal(gx_condition_parse("argmax", &c), 0);
    assert_int_equal(c, GX_COND_ARGMAX);
    assert_string_equal(gx_condition_name(GX_COND_RANDOM), "random");
    assert_int_equal(gx_condition_parse("hard", &c), -1);
    gx_generator_free(&g);
    gx_ssdgm_free(&m);
}

/* For both presets: G_s(z, onehot(y)) through the soft path equals G_s(z, y), sample for sample,
 * and both equal the model's own hard-label generation after the one class draw per row. */
static void check_onehot_equals_hard(gx_preset preset) {
    static gx_ssdgm m;
    static gx_generator g;
    gx_error err;
    make_model(&m, preset, GX_LIK_BERNOULLI);
    assert_int_equal(gx_generator_init(&g, &m, NULL, 0, 12, "model", &err), 0);
    enum { N = 12 };
    int32_t y[N], drawn[N];
    float P[N * K] = {0}, A[N * NIN], B[N * NIN], C[N * NIN];
    for (int i = 0; i < N; i++) y[i] = 2, P[i * K + 2] = 1;
    gx_rng r0, r;
    gx_rng_init(&r0, 9, GX_STREAM_NOISE);
    r = r0;
    gx_generator_sample_labels(&g, y, N, &r, A);
    r = r0;
    gx_generator_sample(&g, P, N, 1, &r, drawn, B);
    for (int i = 0; i < N; i++) assert_int_equal(drawn[i], 2);
    assert_close(A, B, N * NIN, 1e-6f);
    /* gx_ssdgm_generate with the hard label: the same numbers once the class draws are skipped */
    r = r0;
    for (int i = 0; i < N; i++) (void)gx_rng_uniform_open(&r);
    gx_ssdgm_generate(&m, &g.ws, 0, N, 2, NULL, &r, C);
    /* the generator draws z row by row; so does the model: the same values */
    assert_memory_equal(A, C, sizeof A);
    for (int i = 0; i < N * NIN; i++) assert_true(A[i] >= 0 && A[i] <= 1);
    gx_generator_free(&g);
    gx_ssdgm_free(&m);
}

static void test_onehot_equals_hard_dvt(void **s) {
    (void)s;
    check_onehot_equals_hard(GX_PRESET_DVT);
}

static void test_onehot_equals_hard_m2(void **s) {
    (void)s;
    check_onehot_equals_hard(GX_PRESET_M2);
}

/* x from y = softplus(x) = log(1 + e^x): x = y + log(1 - e^-y). */
static double pre_softplus(float y) { return y + log(-expm1(-(double)y)); }

/* m2: the decoder takes p itself. Its first layer is linear in [z ; p], so with the same z its
 * pre-activation for p = (.3, .7, 0) is .3 of class 0's plus .7 of class 1's. And the samples
 * differ from those of the drawn hard class. */
static void test_m2_soft_decoder(void **s) {
    (void)s;
    static gx_ssdgm m;
    static gx_generator g;
    gx_error err;
    make_model(&m, GX_PRESET_M2, GX_LIK_BERNOULLI);
    assert_int_equal(gx_generator_init(&g, &m, NULL, 0, 4, "model", &err), 0);
    enum { N = 4 };
    int out0 = m.dec_trunk.layer[0].out;
    float Psoft[N * K], Pone[N * K] = {0}, Ptwo[N * K] = {0}, OUT[N * NIN], OUT2[N * NIN];
    float Z0[N * 7], Z1[N * 7], Zs[N * 7];
    assert_int_equal(out0, 7);
    for (int i = 0; i < N; i++) {
        Psoft[i * K] = .3f, Psoft[i * K + 1] = .7f, Psoft[i * K + 2] = 0;
        Pone[i * K] = 1, Ptwo[i * K + 1] = 1;
    }
    gx_rng r0, r;
    gx_rng_init(&r0, 3, GX_STREAM_NOISE);
    r = r0;
    gx_generator_sample(&g, Pone, N, 1, &r, NULL, OUT);
    memcpy(Z0, g.ws.dec_trunk.l[0].Z, sizeof Z0);
    r = r0;
    gx_generator_sample(&g, Ptwo, N, 1, &r, NULL, OUT);
    memcpy(Z1, g.ws.dec_trunk.l[0].Z, sizeof Z1);
    r = r0;
    int32_t y[N];
    gx_generator_sample(&g, Psoft, N, 1, &r, y, OUT);
    memcpy(Zs, g.ws.dec_trunk.l[0].Z, sizeof Zs);
    /* the layer works in place (its buffer holds softplus of the pre-activation): invert it */
    for (int i = 0; i < N * 7; i++) {
        double a0 = pre_softplus(Z0[i]), a1 = pre_softplus(Z1[i]), as = pre_softplus(Zs[i]);
        assert_true(fabs(as - (.3 * a0 + .7 * a1)) < 1e-5);
    }
    r = r0;
    gx_generator_sample(&g, Psoft, N, 0, &r, NULL, OUT2); /* the hard class drawn from p instead */
    assert_true(memcmp(OUT, OUT2, sizeof OUT) != 0);
    gx_generator_free(&g);
    gx_ssdgm_free(&m);
}

/* dvt: classes are drawn from p (never a class of probability 0), PP's uniform labels cover the
 * classes evenly; the same seed repeats a pseudo batch, another seed does not. */
static void test_draws_and_determinism(void **s) {
    (void)s;
    static gx_ssdgm m;
    static gx_generator g;
    static float P[MAXN * K], OUT[MAXN * NIN], OUT2[MAXN * NIN], X[MAXN * NIN];
    static int32_t y[MAXN];
    gx_error err;
    make_model(&m, GX_PRESET_DVT, GX_LIK_BERNOULLI);
    assert_int_equal(gx_generator_init(&g, &m, NULL, 0, MAXN, "model", &err), 0);
    for (int i = 0; i < MAXN; i++) P[i * K] = 0, P[i * K + 1] = .25f, P[i * K + 2] = .75f;
    gx_rng r;
    gx_rng_init(&r, 4, GX_STREAM_NOISE);
    gx_generator_sample(&g, P, MAXN, 1, &r, y, OUT);
    int count[K] = {0};
    for (int i = 0; i < MAXN; i++) count[y[i]]++;
    assert_int_equal(count[0], 0);
    assert_true(count[1] > 100 && count[1] < 200); /* 150 expected, sd 10.6 */
    gx_generator_sample_uniform(&g, MAXN, &r, y, OUT);
    memset(count, 0, sizeof count);
    for (int i = 0; i < MAXN; i++) count[y[i]]++;
    for (int k = 0; k < K; k++) assert_true(count[k] > 150 && count[k] < 250); /* 200, sd 11.5 */

    fill_images(X, MAXN, 2);
    float Pa[MAXN * K];
    gx_rng_init(&r, 8, GX_STREAM_NOISE);
    gx_generator_pseudo(&g, X, 50, GX_COND_SOFT, &r, Pa, y, OUT);
    gx_rng_init(&r, 8, GX_STREAM_NOISE);
    gx_generator_pseudo(&g, X, 50, GX_COND_SOFT, &r, NULL, NULL, OUT2);
    assert_memory_equal(OUT, OUT2, 50 * NIN * sizeof(float));
    gx_generator_classify(&g, X, 50, P);
    assert_memory_equal(Pa, P, 50 * K * sizeof(float));
    gx_rng_init(&r, 9, GX_STREAM_NOISE);
    gx_generator_pseudo(&g, X, 50, GX_COND_SOFT, &r, NULL, NULL, OUT2);
    assert_true(memcmp(OUT, OUT2, 50 * NIN * sizeof(float)) != 0);
    gx_generator_free(&g);
    gx_ssdgm_free(&m);
}

/* Images of another size, or the same size in another shape, are a one-line error naming both. */
static void test_input_check(void **s) {
    (void)s;
    static gx_ssdgm m;
    static gx_generator g;
    gx_error err;
    make_model(&m, GX_PRESET_DVT, GX_LIK_BERNOULLI);
    assert_int_equal(gx_generator_init(&g, &m, NULL, 0, 4, "src.safetensors", &err), 0);
    assert_int_equal(gx_generator_check_input(&g, NIN, H, W, 1, "t", &err), 0);
    assert_int_equal(gx_generator_check_input(&g, NIN, 0, 0, 0, "t", &err), 0);
    assert_int_equal(gx_generator_check_input(&g, 16, 4, 4, 1, "usps:test", &err), -1);
    assert_null(strchr(err.msg, '\n'));
    assert_non_null(strstr(err.msg, "usps:test: 4x4x1 images (16 features)"));
    assert_non_null(strstr(err.msg, "domain img"));
    assert_non_null(strstr(err.msg, "3x4x1 images (12 features)"));
    assert_int_equal(gx_generator_check_input(&g, NIN, W, H, 1, "t", &err), -1);
    assert_non_null(strstr(err.msg, "4x3x1"));
    gx_generator_free(&g);
    gx_ssdgm_free(&m);

    /* a plain classifier cannot generate */
    gx_ssdgm_config c;
    gx_ssdgm_config_default(&c, GX_PRESET_MLP, K);
    c.n_domains = 1;
    strcpy(c.dom[0].name, "x");
    c.dom[0].n_in = 5;
    c.enc[0] = c.enc[1] = 4;
    gx_rng init;
    gx_rng_init(&init, 1, GX_STREAM_INIT);
    assert_int_equal(gx_ssdgm_create(&m, &c, &init, &err), 0);
    assert_int_equal(gx_generator_init(&g, &m, NULL, 0, 4, "clf.safetensors", &err), -1);
    assert_non_null(strstr(err.msg, "clf.safetensors: a mlp model"));
    gx_ssdgm_free(&m);
}

/* A standardised Gaussian domain: C_s standardises its input, G_s returns the data's units. */
static void test_standardisation(void **s) {
    (void)s;
    static gx_ssdgm m;
    static gx_generator g, plain;
    static gx_model_info info;
    gx_error err;
    make_model(&m, GX_PRESET_DVT, GX_LIK_GAUSSIAN);
    float mean[NIN], std[NIN];
    for (int j = 0; j < NIN; j++) mean[j] = (float)j, std[j] = 2.0f + (float)j / 4;
    info.prep_mean[0] = mean, info.prep_std[0] = std;
    assert_int_equal(gx_generator_init(&g, &m, &info, 0, 6, "model", &err), 0);
    assert_int_equal(gx_generator_init(&plain, &m, NULL, 0, 6, "model", &err), 0);
    float X[6 * NIN], Xs[6 * NIN], P[6 * K], Ps[6 * K], A[6 * NIN], B[6 * NIN];
    fill_images(X, 6, 3);
    for (int i = 0; i < 6 * NIN; i++) Xs[i] = (X[i] - mean[i % NIN]) / std[i % NIN];
    gx_generator_classify(&g, X, 6, P);
    gx_generator_classify(&plain, Xs, 6, Ps);
    assert_close(P, Ps, 6 * K, 1e-6f);
    int32_t y[6] = {0, 1, 2, 0, 1, 2};
    gx_rng r0, r;
    gx_rng_init(&r0, 2, GX_STREAM_NOISE);
    r = r0;
    gx_generator_sample_labels(&g, y, 6, &r, A);
    r = r0;
    gx_generator_sample_labels(&plain, y, 6, &r, B);
    for (int i = 0; i < 6 * NIN; i++) assert_true(fabsf(A[i] - (B[i] * std[i % NIN] + mean[i % NIN])) < 1e-4f);
    gx_generator_free(&g);
    gx_generator_free(&plain);
    gx_ssdgm_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_and_condition),
        cmocka_unit_test(test_onehot_equals_hard_dvt),
        cmocka_unit_test(test_onehot_equals_hard_m2),
        cmocka_unit_test(test_m2_soft_decoder),
        cmocka_unit_test(test_draws_and_determinism),
        cmocka_unit_test(test_input_check),
        cmocka_unit_test(test_standardisation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
