/* models/classifier: the architecture spec (good specs give the documented layers and shapes,
 * bad ones a one-line error naming the token), a finite-difference check of the whole model's
 * mean cross-entropy w.r.t. every parameter and the input, evaluation mode, head replacement and
 * freezing, and the safetensors round trip with its errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "core/gradcheck.h"
#include "core/losses.h"
#include "models/classifier.h"
#include "models/classifier_io.h"

/* ---- the spec ---- */

static void test_spec_cnn(void **state) {
    (void)state;
    gx_classifier m;
    gx_error err;
    const char *arch = "conv32-bn-relu-pool,conv64-bn-relu-pool,fc128-relu-drop0.3,fc";
    assert_int_equal(gx_classifier_create(&m, arch, 28, 28, 1, 1, 5, NULL, &err), 0);
    assert_int_equal(m.n_layers, 12);
    assert_string_equal(m.arch, arch);
    const gx_cls_layer *L = m.layer;
    assert_int_equal(L[0].kind, GX_CLS_CONV);
    assert_int_equal(L[0].k, 3);
    assert_int_equal(L[0].bias, 0); /* bn follows */
    assert_int_equal(L[3].kind, GX_CLS_MAXPOOL);
    assert_int_equal(L[3].oh, 14);
    assert_int_equal(L[3].oc, 32);
    assert_int_equal(L[7].oh, 7);
    assert_int_equal(L[7].ow, 7);
    assert_int_equal(L[8].kind, GX_CLS_FC);
    assert_int_equal(L[8].h * L[8].w * L[8].c, 7 * 7 * 64);
    assert_int_equal(L[8].bias, 1);
    assert_int_equal(L[10].kind, GX_CLS_DROPOUT);
    assert_float_equal(L[10].p, 0.3f, 1e-7);
    assert_int_equal(L[11].oc, 5);
    /* trainable: 288 + 2*32 + 18432 + 2*64 + (3136*128 + 128) + (128*5 + 5); bn statistics frozen */
    assert_int_equal(gx_params_count(&m.params, true), 421093);
    assert_int_equal(gx_params_count(&m.params, false), 421093 + 2 * (32 + 64));
    assert_true(gx_params_find(&m.params, "layers.0.weight") >= 0);
    assert_true(gx_params_find(&m.params, "layers.0.bias") < 0);
    assert_true(gx_params_find(&m.params, "layers.1.running_var") >= 0);
    int hw = gx_params_find(&m.params, "head.weight");
    assert_true(hw >= 0);
    assert_int_equal(m.params.info[hw].shape[0], 5);
    assert_int_equal(m.params.info[hw].shape[1], 128);
    int cw = gx_params_find(&m.params, "layers.4.weight");
    assert_int_equal(m.params.info[cw].ndim, 4); /* [Cout, K, K, Cin] */
    assert_int_equal(m.params.info[cw].shape[0], 64);
    assert_int_equal(m.params.info[cw].shape[3], 32);
    gx_classifier_free(&m);
    /* kernel size, gap, spaces around tokens */
    assert_int_equal(gx_classifier_parse(&m, " conv8k5 - relu , gap , fc ", 9, 7, 3, 1, 4, &err), 0);
    assert_int_equal(m.n_layers, 4);
    assert_int_equal(m.layer[0].k, 5);
    assert_int_equal(m.layer[2].oc, 8);
    assert_int_equal(m.layer[3].h * m.layer[3].w * m.layer[3].c, 8);
    /* odd map sides: pooling drops the last row and column */
    assert_int_equal(gx_classifier_parse(&m, "conv4,pool,fc", 5, 7, 1, 1, 2, &err), 0);
    assert_int_equal(m.layer[1].oh, 2);
    assert_int_equal(m.layer[1].ow, 3);
}

static void test_spec_mlp(void **state) {
    (void)state;
    gx_classifier m;
    gx_error err;
    /* feature vectors */
    assert_int_equal(gx_classifier_create(&m, "fc500-relu,fc", 1, 1, 784, 0, 10, NULL, &err), 0);
    assert_int_equal(m.n_layers, 3);
    assert_int_equal(gx_classifier_in_size(&m), 784);
    assert_int_equal(gx_params_count(&m.params, true), 784 * 500 + 500 + 500 * 10 + 10);
    gx_classifier_free(&m);
    /* an image goes through an MLP flattened */
    assert_int_equal(gx_classifier_parse(&m, "fc16-bn-tanh,fc", 4, 4, 2, 1, 3, &err), 0);
    assert_int_equal(m.layer[0].h * m.layer[0].w * m.layer[0].c, 32);
    assert_int_equal(m.layer[0].bias, 0);
    assert_int_equal(m.layer[1].kind, GX_CLS_BN);
}

/* A bad spec is a one-line error that contains `want`. */
static void bad(const char *arch, int h, int w, int c, int image, int K, const char *want) {
    gx_classifier m;
    gx_error err;
    err.msg[0] = '\0';
    if (gx_classifier_parse(&m, arch, h, w, c, image, K, &err) == 0)
        fail_msg("'%s' parsed, expected an error containing \"%s\"", arch, want);
    if (!strstr(err.msg, want) || strchr(err.msg, '\n'))
        fail_msg("'%s': error \"%s\" does not contain \"%s\" on one line", arch, err.msg, want);
}

static void test_spec_errors(void **state) {
    (void)state;
    bad("", 8, 8, 1, 1, 3, "layer 1 is empty");
    bad("conv8--relu,fc", 8, 8, 1, 1, 3, "layer 2 is empty");
    bad("conv8,fc,", 8, 8, 1, 1, 3, "layer 3 is empty");
    bad("banana,fc", 8, 8, 1, 1, 3, "'banana' (layer 1) is not a layer; expected conv<N>");
    bad("identity,fc", 8, 8, 1, 1, 3, "'identity' (layer 1) is not a layer");
    bad("conv,fc", 8, 8, 1, 1, 3, "'conv' (layer 1): expected conv<N>");
    bad("conv0,fc", 8, 8, 1, 1, 3, "'conv0' (layer 1): expected conv<N>");
    bad("conv32x,fc", 8, 8, 1, 1, 3, "'conv32x' (layer 1): expected conv<N>[k<K>]");
    bad("conv32k4,fc", 8, 8, 1, 1, 3, "'conv32k4' (layer 1): expected an odd kernel size");
    bad("conv32k,fc", 8, 8, 1, 1, 3, "odd kernel size");
    bad("conv8,3,fc", 8, 8, 1, 1, 3, "'3' (layer 2) is not a layer");
    bad("fc12x,fc", 8, 8, 1, 1, 3, "'fc12x' (layer 1): expected fc<N>");
    bad("drop1.5,fc", 8, 8, 1, 1, 3, "'drop1.5' (layer 1): expected drop<P> with P in [0, 1)");
    bad("drop,fc", 8, 8, 1, 1, 3, "expected drop<P>");
    bad("drop.5x,fc", 8, 8, 1, 1, 3, "expected drop<P>");
    bad("conv8,fc128", 8, 8, 1, 1, 3, "'fc128' (layer 2): the last layer must be the head 'fc'");
    bad("conv8,relu", 8, 8, 1, 1, 3, "'relu' (layer 2): the last layer must be the head 'fc'");
    bad("fc,fc", 8, 8, 1, 1, 3, "'fc' (layer 1): a bare fc is the head and must be the last");
    bad("conv8-pool-pool-pool-pool,fc", 8, 8, 1, 1, 3,
        "'pool' (layer 5) needs a map of at least 2x2, but its input is 1x1x8");
    bad("conv8,fc", 1, 1, 20, 0, 3, "'conv8' (layer 1) needs an image, but its input is a vector "
                                    "of 20 features (the data have no image shape)");
    bad("fc10,conv8,fc", 8, 8, 1, 1, 3, "'conv8' (layer 2) needs an image");
    bad("gap,pool,fc", 8, 8, 1, 1, 3, "'pool' (layer 2) needs an image");
    bad("fc", 8, 8, 1, 1, 1, "1 classes (at least 2");
    bad("conv1048577,fc", 8, 8, 1, 1, 3, "expected conv<N> with N channels in [1, 1048576]");
    bad("conv65536,fc", 28, 28, 1, 1, 3, "its output of 28x28x65536 values per example is too large");
    /* too many parameters (4096*9 + 4096 + 784*4096*64 + 64 + 64*3 + 3): refused before anything
     * is allocated */
    gx_classifier m;
    gx_error err;
    assert_int_equal(gx_classifier_create(&m, "conv4096,fc64,fc", 28, 28, 1, 1, 3, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "205562115 parameters, more than the 134217728"));
    char many[600] = "";
    for (int i = 0; i < 65; i++) strcat(many, "relu,");
    strcat(many, "fc");
    bad(many, 8, 8, 1, 1, 3, "more than 64 layers");
}

/* ---- whole-model gradient check ---- */

enum { B = 4, MAXPAT = 1 << 14 };

typedef struct {
    gx_classifier m;
    gx_classifier_ws ws;
    float *X;
    int32_t y[B];
    uint64_t seed;
    uint8_t ref[MAXPAT]; /* the pieces of the piecewise-linear layers at the point checked */
    int crossed;         /* an evaluation left those pieces */
} model_ctx;

/* Which linear piece every relu / leaky relu unit and every max-pool window is on, appended to
 * pat; returns the count. */
static size_t pattern(const model_ctx *c, uint8_t *pat) {
    size_t n = 0;
    for (int i = 0; i < c->m.n_layers; i++) {
        const gx_cls_layer *L = &c->m.layer[i];
        size_t units = (size_t)B * L->oh * L->ow * L->oc;
        int kinked = L->kind == GX_CLS_ACT && (L->act == GX_ACT_RELU || L->act == GX_ACT_LEAKY_RELU);
        if (!kinked && L->kind != GX_CLS_MAXPOOL) continue;
        /* a relu fused with the bn before it and the pool after it: the pool's winners say whether
         * it passed (+4 where it did not), and its own output is not stored */
        if (kinked && i > 0 && c->ws.fused[i - 1]) continue;
        assert_true(n + units <= MAXPAT);
        for (size_t u = 0; u < units; u++)
            pat[n++] = kinked ? c->ws.out[i][u] > 0 : c->ws.mask[i][u];
    }
    return n;
}

/* Mean cross-entropy of the train-mode forward pass, computed in double from the logits; the
 * dropout stream restarts at the same point each call, so every evaluation drops the same units.
 * Notes whether a relu or a pool window changed piece. */
static double model_loss(void *p) {
    model_ctx *c = p;
    gx_rng rng;
    gx_rng_init(&rng, c->seed, GX_STREAM_NOISE);
    const float *L = gx_classifier_forward(&c->m, &c->ws, c->X, B, 1, &rng);
    int K = c->m.n_classes;
    double loss = 0;
    for (int b = 0; b < B; b++) {
        double mx = -INFINITY, s = 0;
        for (int k = 0; k < K; k++) mx = fmax(mx, L[b * K + k]);
        for (int k = 0; k < K; k++) s += exp(L[b * K + k] - mx);
        loss += mx + log(s) - L[b * K + c->y[b]];
    }
    static uint8_t now[MAXPAT];
    size_t n = pattern(c, now);
    c->crossed |= memcmp(now, c->ref, n) != 0;
    return loss / B;
}

/* Checks every 1/stride-th coordinate of x one at a time, by central differences on a loss of O(1)
 * computed from float32 logits (rounding error ~1e-7). With h = 1e-2 the numeric gradient is good
 * to ~1e-5 plus the truncation error (0 on linear pieces, ~1e-4 for the smooth layers), so the
 * relative error against a floor of 1e-2 stays below ~1e-2 (measured ~1e-3). A step that moves a
 * relu unit or a pool window to another piece (a kink, where the difference quotient is not the
 * derivative) is retried with h = 1e-3 and then 1e-4, where rounding weighs 10 and 100 times more,
 * so the floor grows likewise (0.1, 1). Coordinates at a kink even then are skipped and counted:
 * tried[level] counts the coordinates checked with each h, tried[3] the skipped ones. Returns
 * the largest relative error. */
static double check_coords(model_ctx *c, const char *what, float *x, const float *g, size_t n,
                           size_t stride, size_t tried[4]) {
    static const double hs[3] = {1e-2, 1e-3, 1e-4};
    double worst = 0;
    for (size_t i = 0; i < n; i += stride) {
        int level = 0;
        gx_gradcheck_result r;
        for (; level < 3; level++) {
            c->crossed = 0;
            r = gx_gradcheck(model_loss, c, x + i, g + i, 1, hs[level], 1e-4 / hs[level], 1, NULL);
            if (!c->crossed) break;
        }
        tried[level]++;
        if (level == 3) continue;
        if (r.max_rel_err >= 1e-2)
            fail_msg("%s: %s[%zu]: gradient check failed with h = %g: analytic %g, rel err %g",
                     c->m.arch, what, i, hs[level], (double)g[i], r.max_rel_err);
        if (r.max_rel_err > worst) worst = r.max_rel_err;
    }
    return worst;
}

static void gradcheck_model(const char *arch, int h, int w, int c, int image, int K) {
    static model_ctx ctx;
    gx_error err;
    gx_rng init;
    gx_rng_init(&init, 11, GX_STREAM_INIT);
    assert_int_equal(gx_classifier_create(&ctx.m, arch, h, w, c, image, K, &init, &err), 0);
    assert_int_equal(gx_classifier_ws_alloc(&ctx.ws, &ctx.m, B, &err), 0);
    int d = gx_classifier_in_size(&ctx.m);
    ctx.X = calloc((size_t)B * d, sizeof *ctx.X);
    float *dX = calloc((size_t)B * d, sizeof *dX);
    assert_non_null(ctx.X);
    assert_non_null(dX);
    gx_rng_uniform_fill(&init, ctx.X, (size_t)B * d, 0, 1);
    /* biases and bn parameters away from their initial 0 / 1, so that their gradients are generic */
    gx_params *p = &ctx.m.params;
    for (int i = 0; i < p->n; i++)
        if (p->info[i].ndim == 1 && !p->groups[p->info[i].group].frozen)
            gx_rng_uniform_fill(&init, gx_params_value(p, i), p->info[i].size, 0.5f, 1.2f);
    for (int b = 0; b < B; b++) ctx.y[b] = b % K;
    ctx.seed = 5;
    /* analytic gradients through gx_classifier_ce_step, with the same dropout draws */
    gx_params_zero_grad(p);
    gx_rng rng;
    gx_rng_init(&rng, ctx.seed, GX_STREAM_NOISE);
    double loss = gx_classifier_ce_step(&ctx.m, &ctx.ws, ctx.X, ctx.y, B, &rng, NULL);
    pattern(&ctx, ctx.ref);
    assert_float_equal(loss, model_loss(&ctx), 1e-5);
    /* once more from the same dlogits and activations, with the input gradient this time */
    gx_params_zero_grad(p);
    gx_classifier_backward(&ctx.m, &ctx.ws, ctx.X, ctx.ws.dlogits, B, dX);
    double worst = 0;
    size_t tried[4] = {0};
    for (int i = 0; i < p->n; i++) {
        const gx_param_info *t = &p->info[i];
        if (p->groups[t->group].frozen) continue; /* running statistics: no gradient */
        size_t stride = t->size > 40 ? t->size / 40 : 1;
        double e = check_coords(&ctx, t->name, p->data + t->offset, p->grad + t->offset, t->size,
                                stride, tried);
        if (e > worst) worst = e;
    }
    size_t nx = (size_t)B * d;
    double in_worst = check_coords(&ctx, "input", ctx.X, dX, nx, nx > 60 ? nx / 60 : 1, tried);
    printf("    %s\n      max rel err %.1e (params), %.1e (input); checked with h = 1e-2: %zu, "
           "1e-3: %zu, 1e-4: %zu; at a kink: %zu\n", arch, worst, in_worst, tried[0], tried[1],
           tried[2], tried[3]);
    /* kinks are the exception: nearly every coordinate is checked */
    assert_true(tried[3] * 20 < tried[0] + tried[1] + tried[2]);
    /* and a wrong gradient is caught */
    int hw = gx_params_find(p, "head.weight");
    gx_params_gradient(p, hw)[0] += 0.05f;
    gx_gradcheck_result r = gx_gradcheck(model_loss, &ctx, gx_params_value(p, hw),
                                         gx_params_gradient(p, hw), 1, 1e-2, 1e-2, 1, NULL);
    assert_true(r.max_rel_err > 1e-2);
    free(dX);
    free(ctx.X);
    gx_classifier_ws_free(&ctx.ws);
    gx_classifier_free(&ctx.m);
}

static void test_model_gradcheck(void **state) {
    (void)state;
    gradcheck_model("conv3-bn-relu-pool,conv4k1-leaky_relu-drop0.25,fc5-bn-tanh,fc", 6, 6, 2, 1, 3);
    gradcheck_model("conv3k5-softplus-pool,conv2-bn-sigmoid,gap,fc", 5, 4, 1, 1, 2);
    /* E4's network in small: a direct first conv, a second that keeps its patches, both bn, relu,
     * pool triples fused, odd sides (7 -> 3 -> 1) */
    gradcheck_model("conv3-bn-relu-pool,conv4-bn-relu-pool,fc5-relu-drop0.3,fc", 7, 7, 1, 1, 3);
    gradcheck_model("fc6-relu-drop0.3,fc4-bn-softplus,fc", 1, 1, 7, 0, 3);
}

/* ---- evaluation mode, prediction, head replacement, freezing ---- */

static const char *const SMALL = "conv4-bn-relu-pool,fc8-relu-drop0.5,fc";

/* A small model whose bn running averages have moved off their initial values. */
static void small_model(gx_classifier *m, int K, float *X, int n) {
    gx_error err;
    gx_rng rng;
    gx_rng_init(&rng, 3, GX_STREAM_INIT);
    assert_int_equal(gx_classifier_create(m, SMALL, 6, 4, 2, 1, K, &rng, &err), 0);
    gx_rng_uniform_fill(&rng, X, (size_t)n * 48, 0, 1);
    gx_classifier_ws ws;
    assert_int_equal(gx_classifier_ws_alloc(&ws, m, n, &err), 0);
    gx_classifier_forward(m, &ws, X, n, 1, &rng);
    gx_classifier_ws_free(&ws);
}

static void test_eval_and_predict(void **state) {
    (void)state;
    enum { N = 10 };
    gx_classifier m;
    float X[N * 48], P[N * 3], P1[N * 3];
    small_model(&m, 3, X, N);
    const float *rm = gx_params_value(&m.params, gx_params_find(&m.params, "layers.1.running_mean"));
    assert_true(rm[0] != 0.0f); /* updated by the train-mode pass */
    /* prediction: eval mode, the same in chunks of 3 as in one batch, deterministic, rows sum to 1 */
    gx_classifier_ws ws3, ws10;
    gx_error err;
    assert_int_equal(gx_classifier_ws_alloc(&ws3, &m, 3, &err), 0);
    assert_int_equal(gx_classifier_ws_alloc(&ws10, &m, N, &err), 0);
    gx_classifier_predict(&m, &ws3, X, N, P);
    gx_classifier_predict(&m, &ws10, X, N, P1);
    for (int i = 0; i < N * 3; i++) assert_float_equal(P[i], P1[i], 1e-6);
    for (int i = 0; i < N; i++) assert_float_equal(P[i * 3] + P[i * 3 + 1] + P[i * 3 + 2], 1, 1e-5);
    /* eval mode leaves the running averages alone and drops nothing: equal to a second call */
    float before = rm[0];
    gx_classifier_predict(&m, &ws10, X, N, P1);
    assert_true(rm[0] == before);
    assert_memory_equal(P, P1, sizeof P);
    /* train mode differs (batch statistics, dropout) */
    gx_rng rng;
    gx_rng_init(&rng, 9, GX_STREAM_NOISE);
    const float *L = gx_classifier_forward(&m, &ws10, X, N, 1, &rng);
    float Pt[N * 3];
    gx_log_softmax_forward(NULL, Pt, L, N, 3);
    assert_true(memcmp(Pt, P, sizeof Pt) != 0);
    /* GX_FWD_TRAIN_BATCH_STATS: the same logits as training mode (same dropout draws), running
     * averages untouched; GX_FWD_TRAIN moves them */
    float Lt[N * 3];
    const float *rv = gx_params_value(&m.params, gx_params_find(&m.params, "layers.1.running_var"));
    before = rm[0];
    float before_var = rv[0];
    gx_rng_init(&rng, 10, GX_STREAM_NOISE);
    memcpy(Lt, gx_classifier_forward(&m, &ws10, X, N, GX_FWD_TRAIN_BATCH_STATS, &rng), sizeof Lt);
    assert_true(rm[0] == before && rv[0] == before_var);
    gx_rng_init(&rng, 10, GX_STREAM_NOISE);
    L = gx_classifier_forward(&m, &ws10, X, N, GX_FWD_TRAIN, &rng);
    assert_memory_equal(L, Lt, sizeof Lt);
    assert_true(rm[0] != before && rv[0] != before_var);
    gx_classifier_ws_free(&ws3);
    gx_classifier_ws_free(&ws10);
    gx_classifier_free(&m);
}

static void test_replace_head_and_freeze(void **state) {
    (void)state;
    enum { N = 6 };
    gx_classifier m;
    float X[N * 48];
    gx_error err;
    small_model(&m, 3, X, N);
    int w0 = gx_params_find(&m.params, "layers.0.weight");
    size_t n0 = m.params.info[w0].size;
    float body[128], stats[4];
    assert_true(n0 <= 128);
    memcpy(body, gx_params_value(&m.params, w0), n0 * sizeof *body);
    memcpy(stats, gx_params_value(&m.params, gx_params_find(&m.params, "layers.1.running_var")),
           sizeof stats);
    size_t head3 = gx_params_count(&m.params, true);
    gx_rng rng;
    gx_rng_init(&rng, 4, GX_STREAM_INIT);
    assert_int_equal(gx_classifier_replace_head(&m, 5, &rng, &err), 0);
    assert_int_equal(m.n_classes, 5);
    int hw = gx_params_find(&m.params, "head.weight");
    assert_int_equal(m.params.info[hw].shape[0], 5);
    assert_int_equal(m.params.info[hw].shape[1], 8);
    assert_int_equal(gx_params_count(&m.params, true), head3 + 2 * (8 + 1));
    /* the body and the bn statistics are kept, the head is new (not zero) */
    assert_memory_equal(gx_params_value(&m.params, gx_params_find(&m.params, "layers.0.weight")),
                        body, n0 * sizeof *body);
    assert_memory_equal(gx_params_value(&m.params, gx_params_find(&m.params, "layers.1.running_var")),
                        stats, sizeof stats);
    float s = 0;
    for (int i = 0; i < 40; i++) s += fabsf(gx_params_value(&m.params, hw)[i]);
    assert_true(s > 0);
    /* the new model runs */
    gx_classifier_ws ws;
    float P[N * 5];
    assert_int_equal(gx_classifier_ws_alloc(&ws, &m, N, &err), 0);
    gx_classifier_predict(&m, &ws, X, N, P);
    assert_float_equal(P[0] + P[1] + P[2] + P[3] + P[4], 1, 1e-5);
    gx_classifier_ws_free(&ws);
    /* freezing the body leaves the head trainable */
    gx_classifier_freeze_body(&m, 1);
    assert_int_equal(gx_params_count(&m.params, true), 8 * 5 + 5);
    gx_classifier_freeze_body(&m, 0);
    assert_int_equal(gx_params_count(&m.params, true), head3 + 18);
    gx_classifier_free(&m);
}

/* ---- save and load ---- */

static void test_save_load_round_trip(void **state) {
    (void)state;
    enum { N = 8 };
    gx_classifier m, l;
    float X[N * 48], P[N * 3], Pl[N * 3];
    gx_error err;
    small_model(&m, 3, X, N);
    gx_model_info info, li;
    memset(&info, 0, sizeof info);
    const char *names[3] = {"Pullover", "Coat", "Ankle boot"};
    assert_int_equal(gx_model_info_set_classes(&info, 3, names, &err), 0);
    info.prep_mean[0] = calloc(48, sizeof(float));
    info.prep_std[0] = calloc(48, sizeof(float));
    for (int j = 0; j < 48; j++) info.prep_mean[0][j] = 0.01f * j, info.prep_std[0][j] = 1 + 0.1f * j;
    snprintf(info.prep_spec[0], sizeof info.prep_spec[0], "fashion-mnist:train,select=2+4+9");
    char path[600];
    test_path(path, sizeof path, "cls.safetensors");
    const char *keys[] = {"seed"}, *vals[] = {"7"};
    assert_int_equal(gx_classifier_save(path, &m, &info, 1, keys, vals, &err), 0);
    assert_int_equal(gx_classifier_is_model_file(path), 1);
    assert_int_equal(gx_classifier_load(path, &l, &li, &err), 0);
    assert_string_equal(l.arch, SMALL);
    assert_int_equal(l.in_h, 6);
    assert_int_equal(l.in_w, 4);
    assert_int_equal(l.in_c, 2);
    assert_int_equal(l.image, 1);
    assert_int_equal(l.n_classes, 3);
    assert_int_equal(l.params.total, m.params.total);
    assert_memory_equal(l.params.data, m.params.data, m.params.total * sizeof(float));
    for (int k = 0; k < 3; k++) assert_string_equal(li.class_names[k], names[k]);
    assert_memory_equal(li.prep_mean[0], info.prep_mean[0], 48 * sizeof(float));
    assert_memory_equal(li.prep_std[0], info.prep_std[0], 48 * sizeof(float));
    assert_string_equal(li.prep_spec[0], info.prep_spec[0]);
    gx_classifier_ws ws;
    assert_int_equal(gx_classifier_ws_alloc(&ws, &m, N, &err), 0);
    gx_classifier_predict(&m, &ws, X, N, P);
    gx_classifier_ws_free(&ws);
    assert_int_equal(gx_classifier_ws_alloc(&ws, &l, N, &err), 0);
    gx_classifier_predict(&l, &ws, X, N, Pl);
    gx_classifier_ws_free(&ws);
    assert_memory_equal(P, Pl, sizeof P); /* bit for bit */
    gx_classifier_free(&l);
    gx_model_info_free(&li);
    /* feature vectors, no preprocessing */
    gx_classifier v;
    assert_int_equal(gx_classifier_create(&v, "fc3-tanh,fc", 1, 1, 5, 0, 3, NULL, &err), 0);
    free(info.prep_mean[0]), free(info.prep_std[0]);
    info.prep_mean[0] = info.prep_std[0] = NULL;
    info.prep_spec[0][0] = '\0';
    assert_int_equal(gx_classifier_save(path, &v, &info, 0, NULL, NULL, &err), 0);
    assert_int_equal(gx_classifier_load(path, &l, &li, &err), 0);
    assert_int_equal(l.image, 0);
    assert_int_equal(gx_classifier_in_size(&l), 5);
    assert_null(li.prep_mean[0]);
    assert_string_equal(li.prep_spec[0], "");
    gx_classifier_free(&l);
    gx_model_info_free(&li);
    gx_classifier_free(&v);
    /* class names must match the model */
    gx_model_info two;
    memset(&two, 0, sizeof two);
    assert_int_equal(gx_model_info_set_classes(&two, 2, NULL, &err), 0);
    assert_int_equal(gx_classifier_save(path, &m, &two, 0, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "2 class names for a model of 3 classes"));
    gx_model_info_free(&two);
    gx_model_info_free(&info);
    gx_classifier_free(&m);
}

/* A file made by hand from the tensors of a saved model, with one change; loading it fails with
 * a message containing want. */
static void load_fails(const char *config, const char *format, const char *drop, const char *add,
                       const char *want) {
    enum { N = 4 };
    gx_classifier m, l;
    float X[N * 48];
    gx_error err;
    small_model(&m, 3, X, N);
    gx_st_writer *w = gx_st_writer_new(&err);
    assert_non_null(w);
    for (int i = 0; i < m.params.n; i++) {
        const gx_param_info *t = &m.params.info[i];
        if (drop && !strcmp(t->name, drop)) continue;
        gx_st_writer_add(w, t->name, GX_ST_F32, t->ndim, t->shape, m.params.data + t->offset, &err);
    }
    int64_t one[1] = {1};
    if (add) gx_st_writer_add(w, add, GX_ST_F32, 1, one, m.params.data, &err);
    gx_st_writer_meta(w, "format", format, &err);
    gx_st_writer_meta(w, "format_version", "1", &err);
    gx_st_writer_meta(w, "config", config, &err);
    gx_st_writer_meta(w, "class_names", "[\"a\",\"b\",\"c\"]", &err);
    char path[600];
    test_path(path, sizeof path, "bad.safetensors");
    assert_int_equal(gx_st_write(w, path, &err), 0);
    gx_st_writer_free(w);
    gx_model_info li;
    assert_int_equal(gx_classifier_load(path, &l, &li, &err), -1);
    if (!strstr(err.msg, want) || !strstr(err.msg, path))
        fail_msg("load error \"%s\" does not name the file and \"%s\"", err.msg, want);
    gx_classifier_free(&m);
}

static void test_load_errors(void **state) {
    (void)state;
    char good[300];
    snprintf(good, sizeof good,
             "{\"arch\":\"%s\",\"input\":[6,4,2],\"image\":true,\"n_classes\":3,\"bn_momentum\":0.1}",
             SMALL);
    load_fails(good, "genxfer.ssdgm", NULL, NULL, "not a genxfer classifier (metadata format is "
                                                  "'genxfer.ssdgm'");
    load_fails(good, GX_CLASSIFIER_FORMAT, "head.bias", NULL, "head.bias");
    load_fails(good, GX_CLASSIFIER_FORMAT, NULL, "layers.9.weight",
               "unexpected tensor 'layers.9.weight'");
    load_fails("{\"arch\":\"conv4-bn-relu-pool,fc8-relu-drop0.5,fc\",\"input\":[6,4,1],\"image\":"
               "true,\"n_classes\":3,\"bn_momentum\":0.1}", GX_CLASSIFIER_FORMAT, NULL, NULL,
               "tensor 'layers.0.weight' has shape [4,3,3,2], expected [4,3,3,1]");
    load_fails("{\"arch\":\"conv4-bn-relu-pool,fc8,relu-drop0.5\",\"input\":[6,4,2],\"image\":"
               "true,\"n_classes\":3,\"bn_momentum\":0.1}", GX_CLASSIFIER_FORMAT, NULL, NULL,
               "the last layer must be the head");
    load_fails("{\"arch\":\"x\",\"input\":[6,4],\"image\":true,\"n_classes\":3,\"bn_momentum\":0.1}",
               GX_CLASSIFIER_FORMAT, NULL, NULL, "'input' ([h, w, c])");
    load_fails("not json", GX_CLASSIFIER_FORMAT, NULL, NULL, "model config");
    /* a number beyond int's range: refused on the double, not converted (undefined behaviour) */
    snprintf(good, sizeof good,
             "{\"arch\":\"%s\",\"input\":[6,4,2],\"image\":true,\"n_classes\":1e300,"
             "\"bn_momentum\":0.1}", SMALL);
    load_fails(good, GX_CLASSIFIER_FORMAT, NULL, NULL, "'n_classes' must be an integer");
    char path[600];
    test_path(path, sizeof path, "missing.safetensors");
    assert_int_equal(gx_classifier_is_model_file(path), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_cnn),
        cmocka_unit_test(test_spec_mlp),
        cmocka_unit_test(test_spec_errors),
        cmocka_unit_test(test_model_gradcheck),
        cmocka_unit_test(test_eval_and_predict),
        cmocka_unit_test(test_replace_head_and_freeze),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
