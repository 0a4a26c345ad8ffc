#include "models/dense.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/batchnorm.h"
#include "core/gemm.h"
#include "core/vmath.h"

/* Row loops over more elements than this run on the OpenMP pool (rows are independent). */
#define GX_DENSE_PAR_MIN ((size_t)1 << 15)

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

/* One allocation carved into every buffer. A layer without batch norm works in place: its linear
 * output is the activation's input and output (Z = A = Y), and its gradients share one buffer too
 * (dY = dA = dZ), since every activation's derivative can be had from its output. With batch norm,
 * Z, xhat, A and Y are separate, dA is dY scaled in place, and dZ is separate. */
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
            if (L->bn) {
                CARVE(W->xhat, n);
                CARVE(W->A, n);
                CARVE(W->Y, n); /* batch norm is only used with an activation */
                CARVE(W->dZ, n);
                CARVE(W->inv_std, L->out);
                if (pass == 1) W->dA = W->dY;
            } else if (pass == 1) {
                W->A = W->Y = W->Z;
                W->dA = W->dZ = W->dY;
            }
        }
        CARVE(ws->dP, (size_t)max_src * blk->layer[0].out);
        CARVE(ws->wy, (size_t)blk->layer[0].n_labels * blk->layer[0].out);
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

/* Z[r,:] = S[s_r,:] + b + Wy[y_r,:] (s_r = src[r], or r without src; no label term without y),
 * then the activation in place unless batch norm comes first. S may be Z when src is NULL. */
GX_VEC_CLONES static void finish_rows(const gx_dense_layer *L, float *Z, const float *S, const int32_t *src,
                        const float *b, const float *Wy, const int32_t *y, int R) {
    const int out = L->out, act = L->bn ? GX_ACT_IDENTITY : L->act;
#pragma omp parallel for if ((size_t)R * out > GX_DENSE_PAR_MIN)
    for (int r = 0; r < R; r++) {
        float *z = Z + (size_t)r * out;
        const float *s = S + (size_t)(src ? src[r] : r) * out;
        if (Wy && y) {
            const float *w = Wy + (size_t)y[r] * out;
#pragma omp simd
            for (int o = 0; o < out; o++) z[o] = s[o] + b[o] + w[o];
        } else {
#pragma omp simd
            for (int o = 0; o < out; o++) z[o] = s[o] + b[o];
        }
        gx_act_forward((gx_act)act, z, z, (size_t)out);
    }
}

/* The label columns of layer 0's weight, W[:, in .. in + K), as rows: Wy [K, out]. */
static void gather_label_columns(const gx_dense_layer *L, const float *W, float *Wy) {
    int ldw = L->in + L->n_labels;
    for (int o = 0; o < L->out; o++)
        for (int k = 0; k < L->n_labels; k++) Wy[(size_t)k * L->out + o] = W[(size_t)o * ldw + L->in + k];
}

/* The R rows of layer i's linear part and, without batch norm, its activation. Layer 0 adds the
 * label columns Wy (hard labels y) or soft labels, and with P takes its rows from the GEMM on the
 * distinct inputs P [n_src, out] (row r is P[src[r]]). (A split of the rows over the threads, each
 * with one-thread GEMMs, paid with OpenBLAS but not with oneDNN: docs/PERFORMANCE.md.) */
static void layer_rows(const gx_dense_block *blk, const gx_params *p, gx_dense_ws *ws, int i,
                       const float *X, const float *P, const int32_t *src, const int32_t *y,
                       const float *soft, const float *Wy, int R) {
    const gx_dense_layer *L = &blk->layer[i];
    const int out = L->out, ldw = L->in + L->n_labels;
    if (R <= 0) return;
    const float *Wt = gx_params_value(p, L->w), *b = gx_params_value(p, L->b);
    float *Z = ws->l[i].Z;
    if (i > 0) y = NULL, soft = NULL, P = NULL, Wy = NULL;
    if (P) {
        finish_rows(L, Z, P, src, b, Wy, y, R);
        return;
    }
    const float *in = i == 0 ? X : ws->l[i - 1].Y;
    gx_gemm(false, true, R, out, L->in, 1.0f, in, L->in, Wt, ldw, 0.0f, Z, out);
    if (soft && L->n_labels > 0) /* + soft [R, K] times the label columns */
        gx_soft_label_columns_forward(Z, soft, Wt + L->in, ldw, R, L->n_labels, out);
    finish_rows(L, Z, Z, NULL, b, Wy, y, R);
}

static void forward(const gx_dense_block *blk, const gx_params *p, gx_dense_ws *ws, const float *X,
                    int n_src, const int32_t *src, const int32_t *y, const float *soft, int R,
                    int train, int slot, float bn_momentum) {
    const gx_dense_layer *L0 = &blk->layer[0];
    const float *Wy = NULL, *P = NULL;
    if (L0->n_labels > 0 && y) {
        gather_label_columns(L0, gx_params_value(p, L0->w), ws->wy);
        Wy = ws->wy;
    }
    if (src) {
        /* the GEMM on the distinct inputs only: P [n_src, out], then row r takes P[src[r]] */
        gx_gemm(false, true, n_src, L0->out, L0->in, 1.0f, X, L0->in, gx_params_value(p, L0->w),
                L0->in + L0->n_labels, 0.0f, ws->dP, L0->out);
        P = ws->dP;
    }
    for (int i = 0; i < blk->n_layers; i++) {
        const gx_dense_layer *L = &blk->layer[i];
        gx_dense_ws_layer *W = &ws->l[i];
        layer_rows(blk, p, ws, i, X, P, src, y, soft, Wy, R);
        if (!L->bn) continue;
        const float *g = gx_params_value(p, L->gamma), *bt = gx_params_value(p, L->beta);
        if (train)
            gx_batchnorm_forward_train(W->A, W->xhat, W->inv_std, W->Z, g, bt, R, L->out,
                                       bn_momentum, gx_params_value(p, L->run_mean[slot]),
                                       gx_params_value(p, L->run_var[slot]), ws->work);
        else
            gx_batchnorm_forward_eval(W->A, W->Z, g, bt, gx_params_value(p, L->run_mean[slot]),
                                      gx_params_value(p, L->run_var[slot]), R, L->out);
        gx_act_forward(L->act, W->Y, W->A, (size_t)R * L->out);
    }
}

/* dW[:, in + k] += the sum of the rows dZ[r,:] with y[r] = k: summed per class into G [K, out]
 * (contiguous rows, in row order; blocks of columns in parallel), then added as columns. */
#define LABEL_BLOCK 128
GX_VEC_CLONES static void label_columns_backward(const gx_dense_layer *L, float *dW, const float *dZ,
                                                 const int32_t *y, int R, float *G) {
    int out = L->out, ldw = L->in + L->n_labels, blocks = (out + LABEL_BLOCK - 1) / LABEL_BLOCK;
    memset(G, 0, (size_t)L->n_labels * out * sizeof *G);
#pragma omp parallel for if ((size_t)R * out > GX_DENSE_PAR_MIN && blocks > 1)
    for (int blk = 0; blk < blocks; blk++) {
        int o0 = blk * LABEL_BLOCK, o1 = o0 + LABEL_BLOCK < out ? o0 + LABEL_BLOCK : out;
        for (int r = 0; r < R; r++) {
            float *g = G + (size_t)y[r] * out;
            const float *d = dZ + (size_t)r * out;
#pragma omp simd
            for (int o = o0; o < o1; o++) g[o] += d[o];
        }
    }
    for (int o = 0; o < out; o++)
        for (int k = 0; k < L->n_labels; k++) dW[(size_t)o * ldw + L->in + k] += G[(size_t)k * out + o];
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
        /* dY -> dA through the activation (in place), dA -> dZ through batch norm */
        gx_act_grad_scale(L->act, W->dY, W->Y, n);
        float *dZ = W->dA;
        if (L->bn) {
            dZ = W->dZ;
            memset(dZ, 0, n * sizeof *dZ);
            gx_batchnorm_backward(dZ, gx_params_gradient(p, L->gamma), gx_params_gradient(p, L->beta),
                                  W->dA, W->xhat, W->inv_std, gx_params_value(p, L->gamma), R, L->out,
                                  ws->work);
        }
        const float *Wt = gx_params_value(p, L->w);
        float *dW = gx_params_gradient(p, L->w), *db = gx_params_gradient(p, L->b);
        int ldw = L->in + L->n_labels;
        if (i > 0) {
            /* weights and bias; the input gradient overwrites the layer below's dY */
            gx_linear_backward(NULL, NULL, db, dZ, NULL, Wt, ldw, R, L->in, L->out); /* db only */
            const gx_gemm_call gw = {true, false, L->out, L->in, R, 1.0f, dZ, L->out,
                                     ws->l[i - 1].Y, L->in, 1.0f, dW, ldw};
            const gx_gemm_call gx = {false, false, R, L->in, L->out, 1.0f, dZ, L->out, Wt, ldw,
                                     0.0f, ws->l[i - 1].dY, L->in};
            gx_gemm_pair(&gw, &gx);
            continue;
        }
        if (L->n_labels > 0 && y) label_columns_backward(L, dW, dZ, y, R, ws->wy);
        if (!src) {
            gx_linear_backward(dX, dW, db, dZ, X, Wt, ldw, R, L->in, L->out);
        } else {
            /* Rows that share an input row share its GEMM: sum their gradients first. */
            memset(ws->dP, 0, (size_t)n_src * L->out * sizeof *ws->dP);
            for (int r = 0; r < R; r++) {
                float *d = ws->dP + (size_t)src[r] * L->out;
                const float *g = dZ + (size_t)r * L->out;
#pragma omp simd
                for (int c = 0; c < L->out; c++) d[c] += g[c];
            }
            gx_linear_backward(dX, dW, db, ws->dP, X, Wt, ldw, n_src, L->in, L->out);
        }
    }
}

double gx_dense_macs_train(const gx_dense_block *blk, int n_src, int R, int input_grad,
                           double *unshared) {
    double f = 0, u = 0;
    for (int i = 0; i < blk->n_layers; i++) {
        const gx_dense_layer *L = &blk->layer[i];
        int passes = i > 0 || input_grad ? 3 : 2; /* forward, dW, [dX] */
        f += passes * (double)(i == 0 ? n_src : R) * L->in * L->out;
        u += passes * (double)R * (L->in + L->n_labels) * L->out;
    }
    if (unshared) *unshared = u;
    return f;
}
