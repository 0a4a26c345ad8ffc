/* The M2/DVT model: finite-difference check of the whole loss for both presets, one domain and two
 * domains of different sizes and likelihoods; generation and prediction shapes; determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/gradcheck.h"
#include "models/ssdgm.h"
#include "test_util.h"

typedef struct {
    gx_ssdgm m;
    gx_ssdgm_ws ws;
    gx_ssdgm_batch b[GX_MAX_DOMAINS];
    gx_ssdgm_hyper h;
    gx_rng noise; /* the same noise for every evaluation */
    gx_rng aug0, aug; /* the same translations for every evaluation */
    float x[GX_MAX_DOMAINS][2][8 * 8];
    int32_t y[GX_MAX_DOMAINS][8];
    float cw[3];
    float syn_x[5 * 6], syn_w[5]; /* synthetic labelled rows of domain 0 */
    int32_t syn_y[5];
} fixture;

static double eval_loss(void *ctx) {
    fixture *f = ctx;
    gx_rng r = f->noise;
    gx_ssdgm_stats st;
    gx_error err;
    f->aug = f->aug0;
    f->h.aug_rng = &f->aug;
    gx_params_zero_grad(&f->m.params);
    assert_int_equal(gx_ssdgm_loss_and_grad(&f->m, &f->ws, f->b, &f->h, &r, &st, &err), 0);
    return st.loss;
}

static int with_domain_classifier; /* setup_model: a dvt or mlp model gets one too */

/* Builds a small model; two domains: 6 Bernoulli inputs and 4 Gaussian inputs. */
static void setup_model(fixture *f, gx_preset preset, int n_domains, int bn, int hidden, int lat_y) {
    memset(f, 0, sizeof *f);
    gx_ssdgm_config c;
    gx_ssdgm_config_default(&c, preset, 3);
    c.z_dim = 2;
    c.n_enc = 2, c.enc[0] = 5, c.enc[1] = 4;
    c.n_dec = 1, c.dec[0] = 4;
    c.lat_hidden = hidden ? 3 : 0;
    c.cls_hidden = hidden ? 3 : 0;
    c.batchnorm = bn;
    c.lat_y = lat_y;
    c.n_domains = n_domains;
    c.adversarial |= with_domain_classifier;
    strcpy(c.dom[0].name, "a");
    c.dom[0].n_in = 6, c.dom[0].lik = GX_LIK_BERNOULLI;
    c.dom[0].height = 2, c.dom[0].width = 3, c.dom[0].channels = 1; /* an image, for translations */
    strcpy(c.dom[1].name, "b");
    c.dom[1].n_in = 4, c.dom[1].lik = GX_LIK_GAUSSIAN;
    strcpy(c.dom[2].name, "c"); /* a third domain in the first one's feature space */
    c.dom[2].n_in = 6, c.dom[2].lik = GX_LIK_BERNOULLI, c.dom[2].share = 0;
    c.dom[2].height = 2, c.dom[2].width = 3, c.dom[2].channels = 1;
    gx_rng init;
    gx_rng_init(&init, 7, GX_STREAM_INIT);
    gx_error err;
    assert_int_equal(gx_ssdgm_create(&f->m, &c, &init, &err), 0);
    assert_int_equal(gx_ssdgm_ws_alloc(&f->ws, &f->m, 4, 5, &err), 0);
    /* parameters that start at zero get random values so that no gradient is trivially zero */
    if (n_domains > 1 && f->m.out_logvar[1] >= 0)
        gx_rng_normal_fill(&init, gx_params_value(&f->m.params, f->m.out_logvar[1]), 4, 0.0f, 0.3f);
    if (preset == GX_PRESET_DVT) {
        float *pv = gx_params_value(&f->m.params, f->m.prior_logvar);
        gx_rng_normal_fill(&init, pv, 3 * 2, 0.0f, 0.3f);
    }
    gx_rng data;
    gx_rng_init(&data, 11, GX_STREAM_DATA);
    int nl[3] = {3, 2, 1}, nu[3] = {4, 5, 3};
    for (int d = 0; d < n_domains; d++) {
        int n = c.dom[d].n_in;
        for (int i = 0; i < nl[d] * n; i++)
            f->x[d][0][i] = d != 1 ? gx_rng_uniform(&data) : gx_rng_normal(&data);
        for (int i = 0; i < nu[d] * n; i++)
            f->x[d][1][i] = d != 1 ? (float)gx_rng_bernoulli(&data, 0.4f) : gx_rng_normal(&data);
        for (int i = 0; i < nl[d]; i++) f->y[d][i] = (int32_t)gx_rng_below(&data, 3);
        f->b[d] = (gx_ssdgm_batch){f->x[d][0], f->y[d], nl[d], f->x[d][1], nu[d]};
    }
    f->cw[0] = 0.5f, f->cw[1] = 1.5f, f->cw[2] = 1.0f;
    f->h = (gx_ssdgm_hyper){.alpha = 2.0f, .beta = 0.7f, .bn_momentum = 0.1f};
    f->h.class_weight[0] = f->cw;
    gx_rng_init(&f->noise, 3, GX_STREAM_NOISE);
    gx_rng_init(&f->aug0, 3, GX_STREAM_AUGMENT);
}

static void teardown_model(fixture *f) {
    gx_ssdgm_ws_free(&f->ws);
    gx_ssdgm_free(&f->m);
}

/* Checks d loss / d theta for every trainable tensor. Tolerance: the model computes in float32, so
 * a central difference carries rounding noise (grows as h shrinks) and truncation error (batch norm
 * over 7 rows is strongly curved; grows with h). h = 5e-3 balances the two: measured worst case
 * 2.7e-2 relative over all configurations (floor 1e-2), against 7e-2 at h = 1e-2 and 8e-2 at
 * h = 1e-3. We require < 5e-2; a wrong term gives 0.2 or more (see the test that corrupts one). */
static void check_whole_loss_levers(gx_preset preset, int n_domains, int bn, int hidden, int lat_y,
                                   int levers) {
    static fixture f;
    setup_model(&f, preset, n_domains, bn, hidden, lat_y);
    if (levers) {
        /* translated labelled rows and the consistency term (tau 0: every row is a target) */
        f.h.aug_shift = 1;
        f.h.augment_labelled = 1;
        f.h.conf_weight = 0.7f;
        f.h.conf_tau = 0.0f;
        f.h.cutout = 1;
    }
    if (levers == 3) { /* dann without the reversal: the gradient of one loss */
        f.h.dann_weight = 0.8f;
        f.h.dann_lambda = -1.0f;
    }
    if (levers == 2) { /* synthetic labelled rows of domain 0, weighted */
        gx_rng r;
        gx_rng_init(&r, 13, GX_STREAM_DATA);
        for (int i = 0; i < 5 * 6; i++) f.syn_x[i] = gx_rng_uniform(&r);
        for (int i = 0; i < 5; i++) f.syn_y[i] = i % 3, f.syn_w[i] = 0.3f + 0.1f * (float)i;
        f.h.syn_x = f.syn_x, f.h.syn_y = f.syn_y, f.h.syn_w = f.syn_w;
        f.h.syn_n = 5, f.h.syn_domain = 0;
    }
    gx_params *p = &f.m.params;
    float *grad = malloc(p->total * sizeof *grad);
    eval_loss(&f);
    memcpy(grad, p->grad, p->total * sizeof *grad);
    gx_rng pick;
    gx_rng_init(&pick, 5, 99);
    for (int i = 0; i < p->n; i++) {
        const gx_param_info *t = &p->info[i];
        if (p->groups[t->group].frozen) continue;
        gx_gradcheck_result r = gx_gradcheck(eval_loss, &f, p->data + t->offset, grad + t->offset,
                                             t->size, 5e-3, 1e-2, 40, &pick);
        if (r.max_rel_err > 5e-2)
            fail_msg("%s preset (lat_y %d), %d domain(s), bn %d: tensor %s: max relative error %.3g at %zu "
                     "(abs %.3g)", gx_preset_name(preset), lat_y, n_domains, bn, t->name, r.max_rel_err,
                     r.worst_index, r.max_abs_err);
    }
    free(grad);
    teardown_model(&f);
}

static void check_whole_loss(gx_preset preset, int n_domains, int bn, int hidden, int lat_y) {
    check_whole_loss_levers(preset, n_domains, bn, hidden, lat_y, 0);
}

static void test_gradcheck_m2(void **s) { (void)s; check_whole_loss(GX_PRESET_M2, 1, 0, 0, 1); }
static void test_gradcheck_m2_hidden_bn(void **s) { (void)s; check_whole_loss(GX_PRESET_M2, 1, 1, 1, 1); }
static void test_gradcheck_dvt_one_domain(void **s) { (void)s; check_whole_loss(GX_PRESET_DVT, 1, 1, 0, 0); }
static void test_gradcheck_dvt_two_domains(void **s) { (void)s; check_whole_loss(GX_PRESET_DVT, 2, 1, 1, 0); }
static void test_gradcheck_dvt_two_domains_nobn(void **s) { (void)s; check_whole_loss(GX_PRESET_DVT, 2, 0, 0, 0); }
static void test_gradcheck_dvt_latent_y(void **s) { (void)s; check_whole_loss(GX_PRESET_DVT, 2, 1, 1, 1); }
static void test_gradcheck_dvt_shared_blocks(void **s) { (void)s; check_whole_loss(GX_PRESET_DVT, 3, 1, 0, 0); }
static void test_gradcheck_dvt_levers(void **s) { (void)s; check_whole_loss_levers(GX_PRESET_DVT, 2, 1, 0, 0, 1); }
static void test_gradcheck_dvt_synthetic_rows(void **s) { (void)s; check_whole_loss_levers(GX_PRESET_DVT, 2, 1, 0, 0, 2); }
static void test_gradcheck_mlp_synthetic_rows(void **s) { (void)s; check_whole_loss_levers(GX_PRESET_MLP, 2, 1, 1, 0, 2); }
static void test_gradcheck_dann(void **s) { (void)s; check_whole_loss_levers(GX_PRESET_DANN, 2, 1, 1, 0, 3); }
static void test_gradcheck_dvt_adversarial(void **s) {
    (void)s;
    with_domain_classifier = 1;
    check_whole_loss_levers(GX_PRESET_DVT, 2, 1, 0, 0, 3);
    check_whole_loss_levers(GX_PRESET_DVT, 3, 1, 0, 0, 3);
    with_domain_classifier = 0;
}
static void test_gradcheck_dann_shared(void **s) { (void)s; check_whole_loss_levers(GX_PRESET_DANN, 3, 0, 0, 0, 3); }

/* dann: the reversal flips the encoder's share of the domain loss's gradient and leaves the
 * domain classifier's own: g(lambda = 1) + g(lambda = -1) = 2 g(no domain loss) for the encoder */
static void test_dann_reverses_the_encoder_gradient(void **s) {
    (void)s;
    static fixture f;
    setup_model(&f, GX_PRESET_DANN, 2, 1, 0, 0);
    gx_params *p = &f.m.params;
    float *g[3];
    const float lambda[3] = {1.0f, -1.0f, 0.0f}, weight[3] = {0.8f, 0.8f, 0.0f};
    double loss[3];
    for (int i = 0; i < 3; i++) {
        f.h.dann_weight = weight[i];
        f.h.dann_lambda = lambda[i];
        loss[i] = eval_loss(&f);
        g[i] = malloc(p->total * sizeof(float));
        memcpy(g[i], p->grad, p->total * sizeof(float));
    }
    assert_true(loss[0] == loss[1] && loss[0] > loss[2]);
    for (int t = 0; t < p->n; t++) {
        const gx_param_info *info = &p->info[t];
        if (p->groups[info->group].frozen) continue;
        const int disc = !strncmp(info->name, "disc", 4), cls = !strncmp(info->name, "cls", 3);
        double diff = 0, scale = 0;
        for (size_t j = info->offset; j < info->offset + info->size; j++) {
            const double want = disc ? g[1][j] : 2.0 * g[2][j] - g[1][j];
            diff = fmax(diff, fabs(g[0][j] - want));
            scale = fmax(scale, fabs(g[0][j]) + fabs(g[1][j]));
        }
        if (diff > 1e-5 * scale + 1e-6) fail_msg("%s: %g off (scale %g)", info->name, diff, scale);
        if (!disc && !cls && scale > 1e-4) { /* the encoder does feel the domain loss */
            double moved = 0;
            for (size_t j = info->offset; j < info->offset + info->size; j++)
                moved = fmax(moved, fabs(g[0][j] - g[2][j]));
            assert_true(moved > 0);
        }
    }
    for (int i = 0; i < 3; i++) free(g[i]);
    teardown_model(&f);
}

static void test_gradcheck_mlp(void **s) { (void)s; check_whole_loss(GX_PRESET_MLP, 3, 1, 1, 0); }
/* without batch norm: with it, this small batch measured 5.05e-2 on one weight (curvature, as above) */
static void test_gradcheck_mlp_levers(void **s) { (void)s; check_whole_loss_levers(GX_PRESET_MLP, 2, 0, 1, 0, 1); }

/* The mlp preset is the classifier alone: no latent or decoder tensors, and its loss is the mean
 * labelled cross-entropy (class weights 1), whatever alpha says. */
static void test_mlp_is_a_plain_classifier(void **s) {
    (void)s;
    static fixture f;
    setup_model(&f, GX_PRESET_MLP, 1, 1, 0, 0);
    assert_false(gx_ssdgm_is_generative(&f.m));
    for (int i = 0; i < f.m.params.n; i++) {
        const char *name = f.m.params.info[i].name;
        if (!strncmp(name, "lat", 3) || !strncmp(name, "dec", 3) || !strncmp(name, "prior.mu", 8))
            fail_msg("mlp model has tensor %s", name);
    }
    f.h.class_weight[0] = NULL;
    gx_rng r = f.noise;
    gx_ssdgm_stats st;
    gx_error err;
    gx_params_zero_grad(&f.m.params);
    assert_int_equal(gx_ssdgm_loss_and_grad(&f.m, &f.ws, f.b, &f.h, &r, &st, &err), 0);
    assert_true(st.ce > 0);
    assert_true(fabs(st.loss - st.ce) < 1e-5 * st.ce);
    assert_true(st.elbo_u == 0 && st.elbo_l == 0);
    teardown_model(&f);
}

static void test_gradcheck_m2_levers(void **s) { (void)s; check_whole_loss_levers(GX_PRESET_M2, 1, 1, 0, 1, 1); }

/* The gradient check must be able to fail: corrupt one gradient and see it caught. */
static void test_gradcheck_catches_a_wrong_gradient(void **s) {
    (void)s;
    static fixture f;
    setup_model(&f, GX_PRESET_DVT, 1, 1, 0, 0);
    gx_params *p = &f.m.params;
    float *grad = malloc(p->total * sizeof *grad);
    eval_loss(&f);
    memcpy(grad, p->grad, p->total * sizeof *grad);
    int i = gx_params_find(p, "prior.mu");
    assert_true(i >= 0);
    const gx_param_info *t = &p->info[i];
    for (size_t j = 0; j < t->size; j++) grad[t->offset + j] *= 1.5f;
    gx_rng pick;
    gx_rng_init(&pick, 5, 99);
    gx_gradcheck_result r = gx_gradcheck(eval_loss, &f, p->data + t->offset, grad + t->offset,
                                         t->size, 5e-3, 1e-2, 40, &pick);
    assert_true(r.max_rel_err > 0.1);
    free(grad);
    teardown_model(&f);
}

/* The levers change the objective: the consistency term counts every row at tau 0 and none at 1.1. */
static void test_levers_are_active(void **s) {
    (void)s;
    static fixture f;
    setup_model(&f, GX_PRESET_DVT, 1, 1, 0, 0);
    double plain = eval_loss(&f);
    f.h.aug_shift = 1;
    f.h.conf_weight = 0.7f;
    gx_rng r = f.noise;
    gx_ssdgm_stats st;
    gx_error err;
    f.aug = f.aug0;
    f.h.aug_rng = &f.aug;
    assert_int_equal(gx_ssdgm_loss_and_grad(&f.m, &f.ws, f.b, &f.h, &r, &st, &err), 0);
    assert_int_equal(st.n_conf, 4);
    assert_true(st.loss > plain + 0.1);
    f.h.conf_tau = 1.1f;
    r = f.noise;
    assert_int_equal(gx_ssdgm_loss_and_grad(&f.m, &f.ws, f.b, &f.h, &r, &st, &err), 0);
    assert_int_equal(st.n_conf, 0);
    /* synthetic rows add their weighted cross-entropy, and a label out of range is an error */
    f.h.conf_weight = 0;
    const double before = eval_loss(&f);
    for (int i = 0; i < 5 * 6; i++) f.syn_x[i] = (float)(i % 7) / 7.0f;
    for (int i = 0; i < 5; i++) f.syn_y[i] = i % 3, f.syn_w[i] = 0.2f;
    f.h.syn_x = f.syn_x, f.h.syn_y = f.syn_y, f.h.syn_w = f.syn_w, f.h.syn_n = 5;
    const double with = eval_loss(&f);
    r = f.noise;
    assert_int_equal(gx_ssdgm_loss_and_grad(&f.m, &f.ws, f.b, &f.h, &r, &st, &err), 0);
    assert_true(st.syn_ce > 0);
    assert_true(fabs(with - before - 0.2 * 5 * st.syn_ce) < 1e-3 * fabs(with));
    f.syn_y[2] = 3;
    r = f.noise;
    assert_int_equal(gx_ssdgm_loss_and_grad(&f.m, &f.ws, f.b, &f.h, &r, &st, &err), -1);
    assert_non_null(strstr(err.msg, "label 3 outside the 3 classes"));
    teardown_model(&f);
}

static void test_bad_label_is_an_error(void **s) {
    (void)s;
    static fixture f;
    setup_model(&f, GX_PRESET_M2, 1, 0, 0, 1);
    f.y[0][1] = 7;
    gx_ssdgm_stats st;
    gx_error err;
    gx_rng r = f.noise;
    assert_int_equal(gx_ssdgm_loss_and_grad(&f.m, &f.ws, f.b, &f.h, &r, &st, &err), -1);
    assert_non_null(strstr(err.msg, "label 7"));
    teardown_model(&f);
}

static void test_predict_and_generate(void **s) {
    (void)s;
    static fixture f;
    setup_model(&f, GX_PRESET_DVT, 2, 1, 0, 0);
    float P[5 * 3], MU[5 * 2], OUT[6 * 6];
    gx_ssdgm_predict(&f.m, &f.ws, 0, f.x[0][1], 5, P, MU);
    for (int r = 0; r < 5; r++) {
        double sum = 0;
        for (int k = 0; k < 3; k++) sum += P[r * 3 + k];
        assert_true(fabs(sum - 1) < 1e-5);
    }
    gx_rng g;
    gx_rng_init(&g, 1, GX_STREAM_NOISE);
    gx_ssdgm_generate(&f.m, &f.ws, 0, 6, 2, NULL, &g, OUT);
    for (int i = 0; i < 36; i++) assert_true(OUT[i] >= 0 && OUT[i] <= 1);
    float soft[6 * 3] = {0};
    for (int r = 0; r < 6; r++) soft[r * 3 + 1] = 1;
    gx_ssdgm_generate(&f.m, &f.ws, 0, 6, -1, soft, &g, OUT);
    assert_int_equal(f.ws.ybr[0], 1);
    teardown_model(&f);
}

static void test_config_errors(void **s) {
    (void)s;
    gx_ssdgm_config c;
    gx_ssdgm_config_default(&c, GX_PRESET_M2, 10);
    c.n_domains = 2;
    c.dom[0].n_in = c.dom[1].n_in = 4;
    strcpy(c.dom[0].name, "a");
    strcpy(c.dom[1].name, "b");
    gx_ssdgm m;
    gx_error err;
    gx_rng r;
    gx_rng_init(&r, 1, 1);
    assert_int_equal(gx_ssdgm_create(&m, &c, &r, &err), -1);
    assert_non_null(strstr(err.msg, "m2"));
    c.preset = GX_PRESET_DVT;
    strcpy(c.dom[1].name, "a");
    assert_int_equal(gx_ssdgm_create(&m, &c, &r, &err), -1);
    assert_non_null(strstr(err.msg, "two domains named"));
    c.preset = GX_PRESET_DANN; /* a domain classifier needs domains to tell apart */
    c.n_domains = 1;
    assert_int_equal(gx_ssdgm_create(&m, &c, &r, &err), -1);
    assert_non_null(strstr(err.msg, "dann needs two domains"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradcheck_m2),
        cmocka_unit_test(test_gradcheck_m2_hidden_bn),
        cmocka_unit_test(test_gradcheck_dvt_one_domain),
        cmocka_unit_test(test_gradcheck_dvt_two_domains),
        cmocka_unit_test(test_gradcheck_dvt_two_domains_nobn),
        cmocka_unit_test(test_gradcheck_dvt_latent_y),
        cmocka_unit_test(test_gradcheck_dvt_shared_blocks),
        cmocka_unit_test(test_gradcheck_dvt_levers),
        cmocka_unit_test(test_gradcheck_m2_levers),
        cmocka_unit_test(test_gradcheck_mlp),
        cmocka_unit_test(test_gradcheck_dvt_synthetic_rows),
        cmocka_unit_test(test_gradcheck_dann),
        cmocka_unit_test(test_gradcheck_dann_shared),
        cmocka_unit_test(test_gradcheck_dvt_adversarial),
        cmocka_unit_test(test_dann_reverses_the_encoder_gradient),
        cmocka_unit_test(test_gradcheck_mlp_synthetic_rows),
        cmocka_unit_test(test_gradcheck_mlp_levers),
        cmocka_unit_test(test_mlp_is_a_plain_classifier),
        cmocka_unit_test(test_gradcheck_catches_a_wrong_gradient),
        cmocka_unit_test(test_levers_are_active),
        cmocka_unit_test(test_bad_label_is_an_error),
        cmocka_unit_test(test_predict_and_generate),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
