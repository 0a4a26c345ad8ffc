/* The classifier's parameters, workspace, forward and backward passes (the layers compose in
 * order; the data flow reads top to bottom in gx_classifier_forward). */
#include "models/classifier.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/batchnorm.h"
#include "core/memory.h"
#include "core/conv.h"
#include "core/losses.h"
#include "core/metrics.h"
#include "core/pool.h"

static size_t in_size(const gx_cls_layer *L) { return (size_t)L->h * L->w * L->c; }
static size_t out_size(const gx_cls_layer *L) { return (size_t)L->oh * L->ow * L->oc; }


static int declare(gx_classifier *m, size_t max_params, gx_error *err) {
    gx_params *p = &m->params;
    int body = gx_params_group(p, "body", err), head = gx_params_group(p, "head", err);
    int stats = gx_params_group(p, "stats", err);
    if (body < 0 || head < 0 || stats < 0) return -1;
    p->groups[stats].frozen = true;
    char name[GX_PARAM_NAME_MAX];
    for (int i = 0; i < m->n_layers; i++) {
        gx_cls_layer *L = &m->layer[i];
        int last = i == m->n_layers - 1, g = last ? head : body;
        char prefix[32];
        if (last) snprintf(prefix, sizeof prefix, "head");
        else snprintf(prefix, sizeof prefix, "layers.%d", i);
        int64_t vec[1] = {L->oc};
        if (L->kind == GX_CLS_CONV || L->kind == GX_CLS_FC) {
            int64_t conv[4] = {L->oc, L->k, L->k, L->c}, fc[2] = {L->oc, (int64_t)in_size(L)};
            snprintf(name, sizeof name, "%s.weight", prefix);
            L->weight_idx = L->kind == GX_CLS_CONV ? gx_params_add(p, name, 4, conv, g, err)
                                                   : gx_params_add(p, name, 2, fc, g, err);
            if (L->weight_idx < 0) return -1;
            snprintf(name, sizeof name, "%s.bias", prefix);
            if (L->bias && (L->bias_idx = gx_params_add(p, name, 1, vec, g, err)) < 0) return -1;
        } else if (L->kind == GX_CLS_BN) {
            snprintf(name, sizeof name, "%s.weight", prefix);
            if ((L->weight_idx = gx_params_add(p, name, 1, vec, g, err)) < 0) return -1;
            snprintf(name, sizeof name, "%s.bias", prefix);
            if ((L->bias_idx = gx_params_add(p, name, 1, vec, g, err)) < 0) return -1;
            snprintf(name, sizeof name, "%s.running_mean", prefix);
            if ((L->mean_idx = gx_params_add(p, name, 1, vec, stats, err)) < 0) return -1;
            snprintf(name, sizeof name, "%s.running_var", prefix);
            if ((L->var_idx = gx_params_add(p, name, 1, vec, stats, err)) < 0) return -1;
        }
    }
    size_t count = gx_params_count(p, false);
    if (count > GX_CLS_MAX_PARAMS)
        return gx_fail(err, "arch: %zu parameters, more than the %d this tool trains", count,
                       GX_CLS_MAX_PARAMS);
    if (count > max_params)
        return gx_fail(err, "the architecture describes %zu parameters, more than the limit of %zu",
                       count, max_params);
    return gx_params_finalize(p, err);
}

static void init_params(gx_classifier *m, gx_rng *rng) {
    gx_params *p = &m->params;
    for (int i = 0; i < m->n_layers; i++) {
        const gx_cls_layer *L = &m->layer[i];
        if (L->kind == GX_CLS_CONV || L->kind == GX_CLS_FC) {
            size_t fan_in = L->kind == GX_CLS_CONV ? (size_t)L->k * L->k * L->c : in_size(L);
            float bound = 1.0f / sqrtf((float)fan_in);
            gx_rng_uniform_fill(rng, gx_params_value(p, L->weight_idx), (size_t)L->oc * fan_in,
                                -bound, bound);
            if (L->bias_idx >= 0) memset(gx_params_value(p, L->bias_idx), 0, L->oc * sizeof(float));
        } else if (L->kind == GX_CLS_BN) {
            float *g = gx_params_value(p, L->weight_idx), *b = gx_params_value(p, L->bias_idx);
            float *rm = gx_params_value(p, L->mean_idx), *rv = gx_params_value(p, L->var_idx);
            for (int c = 0; c < L->oc; c++) g[c] = 1, b[c] = 0, rm[c] = 0, rv[c] = 1;
        }
    }
}

int gx_classifier_create(gx_classifier *m, const char *arch, int h, int w, int c, int image,
                         int n_classes, gx_rng *init, gx_error *err) {
    return gx_classifier_create_at_most(m, arch, h, w, c, image, n_classes, SIZE_MAX, init, err);
}

int gx_classifier_create_at_most(gx_classifier *m, const char *arch, int h, int w, int c,
                                 int image, int n_classes, size_t max_params, gx_rng *init,
                                 gx_error *err) {
    if (gx_classifier_parse(m, arch, h, w, c, image, n_classes, err)) return -1;
    gx_params_init(&m->params);
    if (declare(m, max_params, err)) {
        gx_params_free(&m->params);
        return -1;
    }
    if (init) init_params(m, init);
    return 0;
}

void gx_classifier_free(gx_classifier *m) {
    gx_params_free(&m->params);
    memset(m, 0, sizeof *m);
}

int gx_classifier_replace_head(gx_classifier *m, int n_classes, gx_rng *init, gx_error *err) {
    gx_classifier nm;
    if (gx_classifier_create(&nm, m->arch, m->in_h, m->in_w, m->in_c, m->image, n_classes, init,
                             err))
        return -1;
    if (gx_params_copy_matching(&nm.params, &m->params, "head.", err) < 0) {
        gx_classifier_free(&nm);
        return -1;
    }
    for (int g = 0; g < nm.params.n_groups && g < m->params.n_groups; g++)
        nm.params.groups[g] = m->params.groups[g];
    nm.bn_momentum = m->bn_momentum;
    gx_classifier_free(m);
    *m = nm;
    return 0;
}

void gx_classifier_freeze_body(gx_classifier *m, int frozen) {
    int g = gx_params_group_find(&m->params, "body");
    if (g >= 0) m->params.groups[g].frozen = frozen != 0;
}

double gx_classifier_step_macs(const gx_classifier *m, int B) {
    double macs = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const gx_cls_layer *L = &m->layer[i];
        double fwd; /* conv: a [B*h*w, k*k*c] x [k*k*c, oc] product; fc: [B, in] x [in, oc] */
        if (L->kind == GX_CLS_CONV) fwd = (double)B * L->h * L->w * L->k * L->k * L->c * L->oc;
        else if (L->kind == GX_CLS_FC) fwd = (double)B * in_size(L) * L->oc;
        else continue;
        macs += fwd * (i > 0 ? 3 : 2);
    }
    return macs;
}

/* ---- workspace ---- */

/* Whether layers i, i+1, i+2 are bn, relu, 2x2 max pool, which a training forward pass runs as one
 * (core/batchnorm.h, gx_bn_relu_pool_forward): not for a bn on the input itself, whose gradient
 * goes to the caller's dX (added into, where the fused backward pass writes). */
static int fusable(const gx_classifier *m, int i) {
    return i > 0 && i + 2 < m->n_layers && m->layer[i].kind == GX_CLS_BN &&
           m->layer[i + 1].kind == GX_CLS_ACT && m->layer[i + 1].act == GX_ACT_RELU &&
           m->layer[i + 2].kind == GX_CLS_MAXPOOL;
}

int gx_classifier_ws_alloc(gx_classifier_ws *ws, const gx_classifier *m, int max_batch,
                           gx_error *err) {
    memset(ws, 0, sizeof *ws);
    if (max_batch < 1) return gx_fail(err, "classifier workspace: batch size %d", max_batch);
    const size_t B = (size_t)max_batch, K = (size_t)m->n_classes;
    size_t widest = (size_t)gx_classifier_in_size(m), widest_c = 1, work = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const gx_cls_layer *L = &m->layer[i];
        if (out_size(L) > widest) widest = out_size(L);
        if ((size_t)L->c > widest_c) widest_c = (size_t)L->c;
        size_t wk = L->kind != GX_CLS_BN ? 0
                    : fusable(m, i) ? gx_bn_relu_pool_work_doubles(max_batch, L->oc)
                                    : 2 * (size_t)L->oc;
        if (wk > work) work = wk;
    }
    /* the layers index rows and GEMM dimensions with int */
    for (int i = 0; i < m->n_layers; i++)
        if (B * in_size(&m->layer[i]) > INT_MAX || B * out_size(&m->layer[i]) > INT_MAX)
            return gx_fail(err, "classifier workspace: layer %d ('%s') holds more than %d values "
                                "for a batch of %d; use a smaller batch", i + 1,
                           m->layer[i].token, INT_MAX, max_batch);
    /* two passes: measure, then carve one allocation (64-byte aligned pieces) */
    unsigned char *base = NULL;
    size_t off = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            char what[64];
            snprintf(what, sizeof what, "the activations of a batch of %d", max_batch);
            if (gx_check_memory((double)off, what, err)) return -1;
            if (!(base = gx_malloc_aligned(off, "classifier activations", err))) return -1;
            memset(base, 0, off);
            off = 0;
        }
#define CARVE(ptr, count, type)                                                \
    do {                                                                       \
        if (pass == 1) (ptr) = (type *)(void *)(base + off);                   \
        off += ((size_t)(count) * sizeof(type) + 63) & ~(size_t)63;            \
    } while (0)
        for (int i = 0; i < m->n_layers; i++) {
            const gx_cls_layer *L = &m->layer[i];
            size_t n = B * out_size(L);
            CARVE(ws->out[i], n, float);
            if (L->kind == GX_CLS_BN) {
                if (!fusable(m, i)) CARVE(ws->xhat[i], n, float); /* fused: recomputed */
                CARVE(ws->inv_std[i], L->oc, float);
                if (fusable(m, i)) CARVE(ws->mean[i], L->oc, float);
            }
            if (L->kind == GX_CLS_DROPOUT || L->kind == GX_CLS_MAXPOOL) CARVE(ws->mask[i], n, uint8_t);
        }
        CARVE(ws->grad[0], B * widest, float);
        CARVE(ws->grad[1], B * widest, float);
        CARVE(ws->work, work > 2 * widest_c ? work : 2 * widest_c, double);
        CARVE(ws->probs, B * K, float);
        CARVE(ws->dlogits, B * K, float);
        CARVE(ws->loss, B, float);
        CARVE(ws->pred, B, int32_t);
#undef CARVE
    }
    ws->base = base;
    ws->max_batch = max_batch;
    return 0;
}

void gx_classifier_ws_free(gx_classifier_ws *ws) {
    free(ws->base);
    memset(ws, 0, sizeof *ws);
}

/* ---- forward and backward ---- */

static const float *value_or_null(const gx_params *p, int idx) {
    return idx >= 0 ? gx_params_value(p, idx) : NULL;
}

const float *gx_classifier_forward(gx_classifier *m, gx_classifier_ws *ws, const float *X, int B,
                                   int train, gx_rng *rng) {
    const gx_params *p = &m->params;
    const int keep_stats = train == GX_FWD_TRAIN_BATCH_STATS;
    const float *in = X; /* [B, h, w, c] */
    for (int i = 0; i < m->n_layers; i++) {
        const gx_cls_layer *L = &m->layer[i];
        float *Y = ws->out[i]; /* [B, oh, ow, oc] */
        const size_t n = (size_t)B * out_size(L);
        const float *W = value_or_null(p, L->weight_idx), *b = value_or_null(p, L->bias_idx);
        ws->fused[i] = train && fusable(m, i);
        if (ws->fused[i]) { /* bn, relu, pool in one pass: the pool's output and winners */
            gx_bn_relu_pool_forward(ws->out[i + 2], ws->mask[i + 2], ws->mean[i], ws->inv_std[i],
                                    in, W, b, B, L->h, L->w, L->c, m->bn_momentum,
                                    keep_stats ? NULL : gx_params_value(p, L->mean_idx),
                                    keep_stats ? NULL : gx_params_value(p, L->var_idx), ws->work);
            ws->fused[i + 1] = ws->fused[i + 2] = 0;
            in = ws->out[i + 2];
            i += 2;
            continue;
        }
        switch (L->kind) {
        case GX_CLS_CONV:
            gx_conv2d_forward(Y, in, W, b, B, L->h, L->w, L->c, L->oc, L->k);
            break;
        case GX_CLS_FC:
            gx_linear_forward(Y, in, W, (int)in_size(L), b, B, (int)in_size(L), L->oc);
            break;
        case GX_CLS_BN: /* per channel: the map's pixels are rows of [B*h*w, c] */
            if (train)
                gx_batchnorm_forward_train(Y, ws->xhat[i], ws->inv_std[i], in, W, b,
                                           B * L->h * L->w, L->c, m->bn_momentum,
                                           keep_stats ? NULL : gx_params_value(p, L->mean_idx),
                                           keep_stats ? NULL : gx_params_value(p, L->var_idx),
                                           ws->work);
            else
                gx_batchnorm_forward_eval(Y, in, W, b, gx_params_value(p, L->mean_idx),
                                          gx_params_value(p, L->var_idx), B * L->h * L->w, L->c);
            break;
        case GX_CLS_ACT: gx_act_forward(L->act, Y, in, n); break;
        case GX_CLS_MAXPOOL: gx_maxpool2_forward(Y, ws->mask[i], in, B, L->h, L->w, L->c); break;
        case GX_CLS_GAP: gx_avgpool_global_forward(Y, in, B, L->h, L->w, L->c); break;
        case GX_CLS_DROPOUT:
            if (train) gx_dropout_forward(Y, ws->mask[i], in, n, L->p, rng);
            else memcpy(Y, in, n * sizeof *Y);
            break;
        }
        in = Y;
    }
    return in; /* logits [B, K] */
}

void gx_classifier_backward(gx_classifier *m, gx_classifier_ws *ws, const float *X,
                            const float *dlogits, int B, float *dX) {
    gx_params *p = &m->params;
    const float *dY = dlogits; /* gradient of layer i's output */
    for (int i = m->n_layers - 1, next = 0; i >= 0; i--, next ^= 1) {
        const gx_cls_layer *L = &m->layer[i];
        const float *in = i > 0 ? ws->out[i - 1] : X;
        const size_t n_in = (size_t)B * in_size(L), n_out = (size_t)B * out_size(L);
        const float *W = value_or_null(p, L->weight_idx);
        float *dW = L->weight_idx >= 0 ? gx_params_gradient(p, L->weight_idx) : NULL;
        float *db = L->bias_idx >= 0 ? gx_params_gradient(p, L->bias_idx) : NULL;
        if (L->kind == GX_CLS_MAXPOOL && i >= 2 && ws->fused[i - 2]) {
            /* the pool of a fused bn, relu, pool: the bn's input gradient, written */
            const gx_cls_layer *N = &m->layer[i - 2];
            float *dIn = ws->grad[next];
            gx_bn_relu_pool_backward(dIn, gx_params_gradient(p, N->weight_idx),
                                     gx_params_gradient(p, N->bias_idx), dY, ws->mask[i],
                                     ws->out[i - 3], ws->mean[i - 2], ws->inv_std[i - 2],
                                     gx_params_value(p, N->weight_idx), B, N->h, N->w, N->c,
                                     ws->work);
            dY = dIn;
            i -= 2;
            continue;
        }
        if ((L->kind == GX_CLS_ACT || L->kind == GX_CLS_BN) && i > 0 && dY != dlogits) {
            /* in place on our own gradient buffer: no fresh buffer to zero and add into */
            float *g = (float *)dY;
            if (L->kind == GX_CLS_ACT) gx_act_grad_scale(L->act, g, ws->out[i], n_out);
            else gx_batchnorm_backward(g, dW, db, g, ws->xhat[i], ws->inv_std[i], W,
                                       B * L->h * L->w, L->c, ws->work);
            next ^= 1; /* dY stays where it is: the next layer writes the other buffer */
            continue;
        }
        /* dIn: a fresh buffer, or the caller's dX (added into) for the first layer; a max pool
         * writes all of it, the other layers add into it */
        float *dIn = i > 0 ? ws->grad[next] : dX;
        if (i > 0 && L->kind != GX_CLS_MAXPOOL) memset(dIn, 0, n_in * sizeof *dIn);
        switch (L->kind) {
        case GX_CLS_CONV:
            gx_conv2d_backward(dIn, dW, db, dY, in, W, B, L->h, L->w, L->c, L->oc, L->k);
            break;
        case GX_CLS_FC:
            gx_linear_backward(dIn, dW, db, dY, in, W, (int)in_size(L), B, (int)in_size(L), L->oc);
            break;
        case GX_CLS_BN:
            gx_batchnorm_backward(dIn, dW, db, dY, ws->xhat[i], ws->inv_std[i], W, B * L->h * L->w,
                                  L->c, ws->work);
            break;
        case GX_CLS_ACT:
            if (dIn) gx_act_backward(L->act, dIn, dY, in, ws->out[i], n_out);
            break;
        case GX_CLS_MAXPOOL:
            if (i > 0) gx_maxpool2_backward_write(dIn, dY, ws->mask[i], B, L->h, L->w, L->c);
            else if (dIn) gx_maxpool2_backward(dIn, dY, ws->mask[i], B, L->h, L->w, L->c);
            break;
        case GX_CLS_GAP:
            if (dIn) gx_avgpool_global_backward(dIn, dY, B, L->h, L->w, L->c);
            break;
        case GX_CLS_DROPOUT:
            if (dIn) gx_dropout_backward(dIn, dY, ws->mask[i], n_out, L->p);
            break;
        }
        dY = dIn;
    }
}

double gx_classifier_ce_step(gx_classifier *m, gx_classifier_ws *ws, const float *X,
                             const int32_t *y, int B, gx_rng *rng, int *correct) {
    const int K = m->n_classes;
    const float *logits = gx_classifier_forward(m, ws, X, B, 1, rng);
    gx_cross_entropy_forward(ws->loss, ws->probs, logits, y, B, K);
    double loss = 0;
    for (int b = 0; b < B; b++) loss += ws->loss[b];
    if (correct) {
        gx_argmax_rows(ws->probs, B, K, ws->pred);
        *correct = 0;
        for (int b = 0; b < B; b++) *correct += ws->pred[b] == y[b];
    }
    /* d(mean CE)/dlogits: each row weighs 1/B */
    for (int b = 0; b < B; b++) ws->loss[b] = 1.0f / (float)B;
    memset(ws->dlogits, 0, (size_t)B * K * sizeof *ws->dlogits);
    gx_cross_entropy_backward(ws->dlogits, ws->loss, ws->probs, y, B, K);
    gx_classifier_backward(m, ws, X, ws->dlogits, B, NULL);
    return loss / B;
}

void gx_classifier_predict(gx_classifier *m, gx_classifier_ws *ws, const float *X, int64_t n,
                           float *P) {
    const int K = m->n_classes, d = gx_classifier_in_size(m);
    for (int64_t s = 0; s < n; s += ws->max_batch) {
        int rows = (int)(n - s < ws->max_batch ? n - s : ws->max_batch);
        const float *logits = gx_classifier_forward(m, ws, X + s * d, rows, 0, NULL);
        gx_log_softmax_forward(NULL, P + s * K, logits, rows, K);
    }
}
