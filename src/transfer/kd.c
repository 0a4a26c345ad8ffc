/* KD: the distillation loss, the teacher built from the source model, the loop hook. */
#include "transfer/kd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/losses.h"

void gx_kd_config_default(gx_kd_config *c) {
    c->temp = 4.0f;
    c->alpha = 0.9f;
}

double gx_kd_loss(const float *S, const float *T, const int32_t *y, int B, int K,
                  const gx_kd_config *c, float *P, float *PT, float *dS) {
    const float t = c->temp, a = c->alpha;
    double sum = 0;
    for (int r = 0; r < B; r++) {
        const float *s = S + (size_t)r * K, *te = T + (size_t)r * K;
        float *ps = P + (size_t)r * K, *pt = PT + (size_t)r * K, *g = dS + (size_t)r * K;
        for (int k = 0; k < K; k++) ps[k] = s[k] / t, pt[k] = te[k] / t;
        const float lse = gx_logsumexp(s, K), lse_s = gx_logsumexp(ps, K),
                    lse_t = gx_logsumexp(pt, K);
        double ce = lse - s[y[r]], kl = 0;
        for (int k = 0; k < K; k++) {
            const float lq = ps[k] - lse_s, lp = pt[k] - lse_t, q = expf(lq), p = expf(lp);
            kl += (double)p * (lp - lq);
            /* d/ds_k: (1 - a) (softmax(s)_k - [k = y]) + a T (softmax(s/T)_k - softmax(t/T)_k) */
            g[k] = ((1 - a) * (expf(s[k] - lse) - (k == y[r])) + a * t * (q - p)) / B;
        }
        sum += (1 - a) * ce + a * t * t * kl;
    }
    return B ? sum / B : 0;
}

/* "fc<out>[-bn]-<act>" for each layer of blk (the last one of the classifier block is the head). */
static int arch_of(char *arch, size_t n, size_t *len, const gx_dense_block *blk, int skip_last) {
    for (int i = 0; i < blk->n_layers - skip_last; i++) {
        const gx_dense_layer *L = &blk->layer[i];
        if (L->n_labels) return -1;
        *len += (size_t)snprintf(arch + *len, n - *len, "%sfc%d%s", *len ? "," : "", L->out,
                                 L->bn ? "-bn" : "");
        if (L->act != GX_ACT_IDENTITY)
            *len += (size_t)snprintf(arch + *len, n - *len, "-%s", gx_act_name(L->act));
        if (*len >= n) return -1;
    }
    return 0;
}

/* Copies blk's layers (statistics slot `slot`) into t's layers from *li on. */
static void copy_block(gx_classifier *t, int *li, const gx_dense_block *blk, const gx_params *p,
                       int slot) {
    for (int i = 0; i < blk->n_layers; i++) {
        const gx_dense_layer *L = &blk->layer[i];
        while (t->layer[*li].kind != GX_CLS_FC) (*li)++;
        gx_cls_layer *F = &t->layer[(*li)++];
        const float *b = gx_params_value(p, L->b);
        memcpy(gx_params_value(&t->params, F->weight_idx), gx_params_value(p, L->w),
               (size_t)L->out * L->in * sizeof(float));
        if (F->bias) memcpy(gx_params_value(&t->params, F->bias_idx), b, (size_t)L->out * sizeof(float));
        if (!L->bn) continue;
        gx_cls_layer *N = &t->layer[(*li)++]; /* the bn after it: no bias of its own */
        memcpy(gx_params_value(&t->params, N->weight_idx), gx_params_value(p, L->gamma),
               (size_t)L->out * sizeof(float));
        memcpy(gx_params_value(&t->params, N->bias_idx), gx_params_value(p, L->beta),
               (size_t)L->out * sizeof(float));
        memcpy(gx_params_value(&t->params, N->var_idx), gx_params_value(p, L->run_var[slot]),
               (size_t)L->out * sizeof(float));
        /* bn(Wx + b) with statistics (m, v) equals bn(Wx) with (m - b, v) */
        float *mean = gx_params_value(&t->params, N->mean_idx);
        const float *src_mean = gx_params_value(p, L->run_mean[slot]);
        for (int k = 0; k < L->out; k++) mean[k] = src_mean[k] - b[k];
    }
}

int gx_kd_teacher_from_source(gx_classifier *t, const gx_ssdgm *m, const gx_model_info *info,
                              int d, int n_classes, gx_rng *init, gx_error *err) {
    const gx_domain_config *dc = &m->cfg.dom[d];
    if (info && info->prep_mean[d])
        return gx_fail(err, "KD: domain %s of the source model standardises its inputs; the "
                            "teacher takes the data's units", dc->name);
    char arch[GX_CLS_ARCH_MAX] = "";
    size_t len = 0;
    if (arch_of(arch, sizeof arch, &len, &m->enc_in[d], 0) ||
        arch_of(arch, sizeof arch, &len, &m->enc_trunk, 0) ||
        arch_of(arch, sizeof arch, &len, &m->cls, 1) || len + 4 >= sizeof arch)
        return gx_fail(err, "KD: the classifier path of domain %s does not map onto an MLP spec",
                       dc->name);
    snprintf(arch + len, sizeof arch - len, ",fc");
    int image = dc->height > 0;
    if (gx_classifier_create(t, arch, image ? dc->height : 1, image ? dc->width : 1,
                             image ? dc->channels : dc->n_in, image, m->cfg.n_classes, NULL, err))
        return -1;
    int li = 0;
    copy_block(t, &li, &m->enc_in[d], &m->params, m->in_slot[d]);
    copy_block(t, &li, &m->enc_trunk, &m->params, d);
    copy_block(t, &li, &m->cls, &m->params, 0);
    if (n_classes > 0 && gx_classifier_replace_head(t, n_classes, init, err)) {
        gx_classifier_free(t);
        return -1;
    }
    return 0;
}

int gx_kd_init(gx_kd *k, gx_classifier *teacher, int batch, const gx_kd_config *cfg,
               gx_error *err) {
    memset(k, 0, sizeof *k);
    if (!(cfg->temp > 0) || !(cfg->alpha >= 0 && cfg->alpha <= 1))
        return gx_fail(err, "KD: the temperature must be positive and alpha in [0, 1]");
    k->cfg = *cfg;
    k->teacher = teacher;
    size_t nk = (size_t)batch * teacher->n_classes;
    if (gx_classifier_ws_alloc(&k->ws, teacher, batch, err)) return -1;
    k->P = gx_malloc(2 * nk * sizeof *k->P, "KD buffers", err);
    if (!k->P) {
        gx_classifier_ws_free(&k->ws);
        return -1;
    }
    k->PT = k->P + nk;
    return 0;
}

void gx_kd_free(gx_kd *k) {
    gx_classifier_ws_free(&k->ws);
    free(k->P);
    k->P = NULL;
}

double gx_kd_logit_loss(void *ctx, const float *X, const int32_t *y, const float *L, int B, int K,
                        float *dL) {
    gx_kd *k = ctx;
    const float *T = gx_classifier_forward(k->teacher, &k->ws, X, B, 0, NULL);
    return gx_kd_loss(L, T, y, B, K, &k->cfg, k->P, k->PT, dL);
}
