#include "models/dense.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/batchnorm.h"
#include "core/gemm.h"

int gx_dense_declare(gx_dense_block *blk, gx_params *p, const char *prefix, int n,
                     const int *sizes, int n_labels, gx_act act, gx_act last_act, int bn_slots,
                     int group, int stats_group, gx_error *err) {
    if (n < 1 || n > GX_DENSE_MAX_LAYERS)
        return gx_fail(err, "%s: %d layers (expected 1 to %d)", prefix, n, GX_DENSE_MAX_LAYERS);
    if (bn_slots > GX_MAX_DOMAINS) return gx_fail(err, "%s: too many batch-norm slots", prefix);
    memset(blk, 0, sizeof *blk);
    blk->n_layers = n;
    char name[GX_PARAM_NAME_MAX];
    for (int i = 0; i < n; i++) {
        gx_dense_layer *L = &blk->layer[i];
        L->in = sizes[i];
        L->out = sizes[i + 1];
        if (L->in <= 0 || L->out <= 0)
            return gx_fail(err, "%s: layer %d has size %d -> %d (expected positive sizes)", prefix,
                           i, L->in, L->out);
        L->n_labels = i == 0 ? n_labels : 0;
        L->act = i == n - 1 ? last_act : act;
        L->bn = bn_slots > 0 && L->act != GX_ACT_IDENTITY;
        int64_t wshape[2] = {L->out, L->in + L->n_labels}, bshape[1] = {L->out};
        snprintf(name, sizeof name, "%s.%d.weight", prefix, i);
        if ((L->w = gx_params_add(p, name, 2, wshape, group, err)) < 0) return -1;
        snprintf(name, sizeof name, "%s.%d.bias", prefix, i);
        if ((L->b = gx_params_add(p, name, 1, bshape, group, err)) < 0) return -1;
        if (!L->bn) continue;
        snprintf(name, sizeof name, "%s.%d.bn.weight", prefix, i);
        if ((L->gamma = gx_params_add(p, name, 1, bshape, group, err)) < 0) return -1;
        snprintf(name, sizeof name, "%s.%d.bn.bias", prefix, i);
        if ((L->beta = gx_params_add(p, name, 1, bshape, group, err)) < 0) return -1;
        for (int s = 0; s < bn_slots; s++) {
            snprintf(name, sizeof name, "%s.%d.bn.running_mean.%d", prefix, i, s);
            if ((L->run_mean[s] = gx_params_add(p, name, 1, bshape, stats_group, err)) < 0) return -1;
            snprintf(name, sizeof name, "%s.%d.bn.running_var.%d", prefix, i, s);
            if ((L->run_var[s] = gx_params_add(p, name, 1, bshape, stats_group, err)) < 0) return -1;
        }
    }
    return 0;
}

void gx_dense_init(const gx_dense_block *blk, gx_params *p, gx_rng *rng) {
    for (int i = 0; i < blk->n_layers; i++) {
        const gx_dense_layer *L = &blk->layer[i];
        float bound = 1.0f / sqrtf((float)(L->in + L->n_labels));
        gx_rng_uniform_fill(rng, gx_params_value(p, L->w), (size_t)L->out * (L->in + L->n_labels),
                            -bound, bound);
        memset(gx_params_value(p, L->b), 0, (size_t)L->out * sizeof(float));
        if (!L->bn) continue;
        float *g = gx_params_value(p, L->gamma), *bt = gx_params_value(p, L->beta);
        for (int c = 0; c < L->out; c++) g[c] = 1, bt[c] = 0;
        for (int s = 0; s < GX_MAX_DOMAINS && L->run_mean[s]; s++) {
            float *rm = gx_params_value(p, L->run_mean[s]), *rv = gx_params_value(p, L->run_var[s]);
            for (int c = 0; c < L->out; c++) rm[c] = 0, rv[c] = 1;
        }
    }
}

/* One allocation carved into every buffer; aliases where a stage is the identity. */
int gx_dense_ws_alloc(gx_dense_ws *ws, const gx_dense_block *blk, int max_rows, int max_src,
                      gx_error *err) {
    memset(ws, 0, sizeof *ws);
    ws->max_rows = max_rows;
    ws->max_src = max_src;
    size_t total = 0, widest = 0;
    for (int pass = 0; pass < 2; pass++) {
        float *base = NULL;
        if (pass == 1) {
            size_t bytes;
            if (gx_mul_size(total, sizeof(float), &bytes, "dense workspace", err)) return -1;
            base = gx_malloc_aligned(bytes, "dense block activations", err);
            if (!base) return -1;
            memset(base, 0, bytes);
            ws->work = gx_calloc(2 * widest, sizeof(double), "batch-norm scratch", err);
            if (!ws->work) {
                free(base);
                return -1;
            }
        }
        size_t off = 0;
#define CARVE(ptr, count)                                          \
    do {                                                           \
        size_t c_ = ((size_t)(count) + 15) & ~(size_t)15;          \
        if (pass == 1) (ptr) = base + off;                         \
        off += c_;                                                 \
    } while (0)
        for (int i = 0; i < blk->n_layers; i++) {
            const gx_dense_layer *L = &blk->layer[i];
            gx_dense_ws_layer *W = &ws->l[i];
            size_t n = (size_t)max_rows * L->out;
            if ((size_t)L->out > widest) widest = (size_t)L->out;
            CARVE(W->Z, n);
            CARVE(W->dY, n);
            CARVE(W->dZ, n);
            if (L->bn) {
                CARVE(W->xhat, n);
                CARVE(W->A, n);
                CARVE(W->dA, n);
                CARVE(W->inv_std, L->out);
            } else if (pass == 1) {
                W->A = W->Z;
                W->dA = W->dZ;
            }
            if (L->act != GX_ACT_IDENTITY) CARVE(W->Y, n);
            else if (pass == 1) W->Y = W->A;
        }
        CARVE(ws->dP, (size_t)max_src * blk->layer[0].out);
#undef CARVE
        total = off;
    }
    return 0;
}

void gx_dense_ws_free(gx_dense_ws *ws) {
    /* The first carved buffer is the start of the allocation. */
    free(ws->l[0].Z);
    free(ws->work);
    memset(ws, 0, sizeof *ws);
}

/* Z[R, out] of layer 0: the GEMM on the distinct inputs, then bias and label columns per row
 * (hard labels y, or soft labels soft [R, n_labels]). */
static void first_layer_forward(const gx_dense_layer *L, const gx_params *p, gx_dense_ws *ws,
                                const float *X, int n_src, const int32_t *src, const int32_t *y,
                                const float *soft, int R) {
    const float *W = gx_params_value(p, L->w), *b = gx_params_value(p, L->b);
    int ldw = L->in + L->n_labels;
    float *Z = ws->l[0].Z;
    if (!src) {
        gx_linear_forward(Z, X, W, ldw, b, R, L->in, L->out);
    } else {
        float *P = ws->dP; /* borrowed as forward scratch: [n_src, out] */
        gx_linear_forward(P, X, W, ldw, b, n_src, L->in, L->out);
        for (int r = 0; r < R; r++)
            memcpy(Z + (size_t)r * L->out, P + (size_t)src[r] * L->out, (size_t)L->out * sizeof *Z);
    }
    if (L->n_labels > 0 && y) gx_label_columns_forward(Z, y, W + L->in, ldw, R, L->out);
    if (L->n_labels > 0 && soft)
        gx_soft_label_columns_forward(Z, soft, W + L->in, ldw, R, L->n_labels, L->out);
}

static void forward(const gx_dense_block *blk, const gx_params *p, gx_dense_ws *ws, const float *X,
                    int n_src, const int32_t *src, const int32_t *y, const float *soft, int R,
                    int train, int slot, float bn_momentum) {
    for (int i = 0; i < blk->n_layers; i++) {
        const gx_dense_layer *L = &blk->layer[i];
        gx_dense_ws_layer *W = &ws->l[i];
        if (i == 0) {
            first_layer_forward(L, p, ws, X, n_src, src, y, soft, R);
        } else {
            gx_linear_forward(W->Z, ws->l[i - 1].Y, gx_params_value(p, L->w), L->in,
                              gx_params_value(p, L->b), R, L->in, L->out);
        }
        if (L->bn) {
            const float *g = gx_params_value(p, L->gamma), *bt = gx_params_value(p, L->beta);
            if (train)
                gx_batchnorm_forward_train(W->A, W->xhat, W->inv_std, W->Z, g, bt, R, L->out,
                                           bn_momentum, gx_params_value(p, L->run_mean[slot]),
                                           gx_params_value(p, L->run_var[slot]), ws->work);
            else
                gx_batchnorm_forward_eval(W->A, W->Z, g, bt, gx_params_value(p, L->run_mean[slot]),
                                          gx_params_value(p, L->run_var[slot]), R, L->out);
        }
        if (L->act != GX_ACT_IDENTITY) gx_act_forward(L->act, W->Y, W->A, (size_t)R * L->out);
    }
}

void gx_dense_forward(const gx_dense_block *blk, const gx_params *p, gx_dense_ws *ws, const float *X,
                      int n_src, const int32_t *src, const int32_t *y, int R, int train, int slot,
                      float bn_momentum) {
    forward(blk, p, ws, X, n_src, src, y, NULL, R, train, slot, bn_momentum);
}

void gx_dense_forward_soft(const gx_dense_block *blk, const gx_params *p, gx_dense_ws *ws,
                           const float *X, const float *soft, int R, int train, int slot,
                           float bn_momentum) {
    forward(blk, p, ws, X, R, NULL, NULL, soft, R, train, slot, bn_momentum);
}

void gx_dense_backward(const gx_dense_block *blk, gx_params *p, gx_dense_ws *ws, float *dX,
                       const float *X, int n_src, const int32_t *src, const int32_t *y, int R) {
    for (int i = blk->n_layers - 1; i >= 0; i--) {
        const gx_dense_layer *L = &blk->layer[i];
        gx_dense_ws_layer *W = &ws->l[i];
        size_t n = (size_t)R * L->out;
        /* dY -> dA through the activation */
        float *dA = W->dY;
        if (L->act != GX_ACT_IDENTITY) {
            dA = W->dA;
            memset(dA, 0, n * sizeof *dA);
            gx_act_backward(L->act, dA, W->dY, W->A, W->Y, n);
        }
        /* dA -> dZ through batch norm */
        float *dZ = dA;
        if (L->bn) {
            dZ = W->dZ;
            memset(dZ, 0, n * sizeof *dZ);
            gx_batchnorm_backward(dZ, gx_params_gradient(p, L->gamma), gx_params_gradient(p, L->beta),
                                  dA, W->xhat, W->inv_std, gx_params_value(p, L->gamma), R, L->out,
                                  ws->work);
        }
        const float *Wt = gx_params_value(p, L->w);
        float *dW = gx_params_gradient(p, L->w), *db = gx_params_gradient(p, L->b);
        int ldw = L->in + L->n_labels;
        if (i > 0) {
            float *dIn = ws->l[i - 1].dY;
            memset(dIn, 0, (size_t)R * L->in * sizeof *dIn);
            gx_linear_backward(dIn, dW, db, dZ, ws->l[i - 1].Y, Wt, ldw, R, L->in, L->out);
            continue;
        }
        if (L->n_labels > 0 && y) gx_label_columns_backward(dW + L->in, dZ, y, ldw, R, L->out);
        if (!src) {
            gx_linear_backward(dX, dW, db, dZ, X, Wt, ldw, R, L->in, L->out);
        } else {
            /* Rows that share an input row share its GEMM: sum their gradients first. */
            memset(ws->dP, 0, (size_t)n_src * L->out * sizeof *ws->dP);
            for (int r = 0; r < R; r++) {
                float *d = ws->dP + (size_t)src[r] * L->out;
                const float *g = dZ + (size_t)r * L->out;
                for (int c = 0; c < L->out; c++) d[c] += g[c];
            }
            gx_linear_backward(dX, dW, db, ws->dP, X, Wt, ldw, n_src, L->in, L->out);
        }
    }
}

double gx_dense_flops_forward(const gx_dense_block *blk, int n_src, int R) {
    double f = 0;
    for (int i = 0; i < blk->n_layers; i++) {
        const gx_dense_layer *L = &blk->layer[i];
        f += (double)(i == 0 ? n_src : R) * L->in * L->out;
    }
    return f;
}
