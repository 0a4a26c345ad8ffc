/* P-SSL: the unlabelled FixMatch term on pseudo samples, as a hook of the classifier loop. */
#include "transfer/pssl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/losses.h"

/* Streams of the term's own augmentation and dropout draws, apart from the loop's. */
enum { PSSL_STREAM_AUGMENT = 0x100 + GX_STREAM_AUGMENT, PSSL_STREAM_NOISE = 0x100 + GX_STREAM_NOISE };

void gx_pssl_config_default(gx_pssl_config *c) {
    c->mu = 7;
    c->tau = 0.95f;
    c->lambda_u = 1.0f;
    c->cond = GX_COND_SOFT;
    c->bn_update = 0;
}

double gx_fixmatch_unlabelled(const float *LW, const float *LS, int n, int K, float tau,
                              float scale, float *PS, float *dLS, int *used) {
    double sum = 0;
    int u = 0;
    memset(dLS, 0, (size_t)n * K * sizeof *dLS);
    for (int r = 0; r < n; r++) {
        const float *lw = LW + (size_t)r * K;
        int32_t label = 0;
        for (int k = 1; k < K; k++)
            if (lw[k] > lw[label]) label = k;
        /* max softmax(lw) = 1 / sum_k exp(lw_k - lw_max) */
        if (-gx_logsumexp(lw, K) + lw[label] < logf(tau)) continue;
        float ce, g = scale / (float)n;
        gx_cross_entropy_forward(&ce, PS + (size_t)r * K, LS + (size_t)r * K, &label, 1, K);
        gx_cross_entropy_backward(dLS + (size_t)r * K, &g, PS + (size_t)r * K, &label, 1, K);
        sum += ce;
        u++;
    }
    if (used) *used = u;
    return n ? sum / n : 0;
}

int gx_pssl_init(gx_pssl *s, const gx_classifier *m, gx_generator *g, const gx_dataset *ds,
                 const int64_t *lab, int64_t n_lab, int batch, const gx_pssl_config *cfg,
                 int aug_shift, int aug_flip, uint64_t seed, gx_error *err) {
    memset(s, 0, sizeof *s);
    const int d = gx_classifier_in_size(m), K = m->n_classes;
    if (cfg->mu < 1 || !(cfg->tau >= 0 && cfg->tau <= 1) || !(cfg->lambda_u >= 0))
        return gx_fail(err, "P-SSL: mu must be >= 1, tau in [0, 1] and lambda_u >= 0");
    if (g->n_in != d || ds->d != d)
        return gx_fail(err, "P-SSL: the source generator makes %d features per example, the data "
                            "have %lld, the network takes %d", g->n_in, (long long)ds->d, d);
    if (n_lab < 1) return gx_fail(err, "P-SSL: no labelled target images to condition on");
    s->cfg = *cfg;
    s->g = g;
    s->ds = ds;
    s->lab = lab;
    s->n_lab = n_lab;
    int B = (int)(n_lab < batch ? n_lab : batch);
    if ((int64_t)B * cfg->mu > g->max_n)
        return gx_fail(err, "P-SSL: %d pseudo samples per step, the generator takes %d",
                       B * cfg->mu, g->max_n);
    s->n = B * cfg->mu;
    gx_augment_opts_default(&s->aug, m->in_h, m->in_w);
    s->aug.shift = aug_shift;
    s->aug.flip = aug_flip != 0;
    if (gx_classifier_ws_alloc(&s->ws, m, s->n, err)) return -1;
    size_t nd = (size_t)s->n * d, nk = (size_t)s->n * K;
    float *b = s->base = gx_malloc((4 * nd + 2 * nk + (size_t)d) * sizeof *b, "P-SSL buffers", err);
    if (!b) {
        gx_classifier_ws_free(&s->ws);
        return -1;
    }
    s->X = b, s->U = b + nd, s->UW = b + 2 * nd, s->US = b + 3 * nd;
    s->LW = b + 4 * nd, s->PS = s->LW + nk, s->scratch = s->PS + nk;
    gx_rng_init(&s->rng, seed, GX_STREAM_PSEUDO);
    gx_rng_init(&s->aug_rng, seed, PSSL_STREAM_AUGMENT);
    gx_rng_init(&s->noise_rng, seed, PSSL_STREAM_NOISE);
    return 0;
}

void gx_pssl_free(gx_pssl *s) {
    gx_classifier_ws_free(&s->ws);
    free(s->base);
    s->base = NULL;
}

int gx_pssl_use_unlabelled(gx_pssl *s, const gx_dataset *u, const int64_t *rows, int64_t n,
                           gx_error *err) {
    if (u->d != s->ds->d)
        return gx_fail(err, "P-SSL: the unlabelled images have %lld features, the target data %lld",
                       (long long)u->d, (long long)s->ds->d);
    if (n < 1 || n > UINT32_MAX) return gx_fail(err, "P-SSL: %lld unlabelled images (expected 1 to "
                                                "2^32 - 1)", (long long)n);
    s->unl = u, s->unl_rows = rows, s->n_unl = n;
    return 0;
}

/* Picks n rows of ds, uniformly from rows [n_rows] (NULL: 0 .. n_rows - 1), into X [n, d]. */
static void draw_rows(float *X, int n, const gx_dataset *ds, const int64_t *rows, int64_t n_rows,
                      gx_rng *rng) {
    const int64_t d = ds->d;
    for (int r = 0; r < n; r++) {
        int64_t i = gx_rng_below(rng, (uint32_t)n_rows), row = rows ? rows[i] : i;
        memcpy(X + (size_t)r * d, ds->x + row * d, (size_t)d * sizeof *X);
    }
}

double gx_pssl_extra_loss(void *ctx, gx_classifier *m) {
    gx_pssl *s = ctx;
    const int K = m->n_classes, n = s->n;
    if (s->unl) {
        draw_rows(s->U, n, s->unl, s->unl_rows, s->n_unl, &s->rng);
    } else { /* x': labelled target images drawn uniformly; u = G_s(z, p(x')) */
        draw_rows(s->X, n, s->ds, s->lab, s->n_lab, &s->rng);
        gx_generator_pseudo(s->g, s->X, n, s->cfg.cond, &s->rng, NULL, NULL, s->U);
    }
    const float *uw = s->U, *us = s->U;
    if (m->image) {
        gx_augment_weak(s->UW, s->U, n, m->in_h, m->in_w, m->in_c, &s->aug, &s->aug_rng);
        gx_augment_strong(s->US, s->U, n, m->in_h, m->in_w, m->in_c, &s->aug, &s->aug_rng,
                          s->scratch);
        uw = s->UW, us = s->US;
    }
    /* q from the weak views (a forward pass only), then the strong views' forward and backward */
    const int mode = s->cfg.bn_update ? GX_FWD_TRAIN : GX_FWD_TRAIN_BATCH_STATS;
    memcpy(s->LW, gx_classifier_forward(m, &s->ws, uw, n, mode, &s->noise_rng),
           (size_t)n * K * sizeof *s->LW);
    const float *LS = gx_classifier_forward(m, &s->ws, us, n, mode, &s->noise_rng);
    int used = 0;
    double loss = gx_fixmatch_unlabelled(s->LW, LS, n, K, s->cfg.tau, s->cfg.lambda_u, s->PS,
                                         s->ws.dlogits, &used);
    if (used) gx_classifier_backward(m, &s->ws, us, s->ws.dlogits, n, NULL);
    s->steps++;
    s->used_sum += (double)used / n;
    return s->cfg.lambda_u * loss;
}
