/* A dense block: a stack of fully connected layers, each linear -> [batch norm] -> activation, as
 * the encoders, heads and decoders of the generative models use. The first layer may take a label
 * as well as its input, [a ; onehot(y)]: it is computed as one GEMM on the distinct input rows
 * plus the label column selected by y, so a block evaluated for K labels of the same input (the
 * unlabelled bound) does the big GEMM once. Parameters live in a gx_params store; activations in a
 * workspace sized once for a maximum number of rows. */
#ifndef GX_DENSE_H
#define GX_DENSE_H

#include <stdint.h>

#include "core/error.h"
#include "core/layers.h"
#include "core/params.h"

#define GX_DENSE_MAX_LAYERS 8
#define GX_MAX_DOMAINS 8

typedef struct gx_dense_layer {
    int in, out;
    int n_labels;     /* > 0: the input is [a ; onehot(y)], W is [out, in + n_labels] */
    int w, b;         /* parameter indices: weight [out, in + n_labels], bias [out] */
    int bn;           /* batch normalisation after the linear part */
    int gamma, beta;  /* [out] */
    int run_mean[GX_MAX_DOMAINS], run_var[GX_MAX_DOMAINS]; /* [out] per stats slot */
    gx_act act;
} gx_dense_layer;

typedef struct gx_dense_block {
    int n_layers;
    gx_dense_layer layer[GX_DENSE_MAX_LAYERS];
} gx_dense_block;

/* Declares the parameters of a block named `prefix` ("enc.shared" -> "enc.shared.0.weight", ...).
 * sizes[0] is the input size, sizes[1..n] the layer outputs. n_labels: label columns of the first
 * layer (0 for none). act: activation of every layer but the last; last_act: of the last.
 * bn_slots > 0 adds batch norm to every layer with an activation (not to linear heads), with that many
 * sets of running statistics (one per domain when statistics are domain-specific); running stats
 * go to group stats_group (frozen). */
int gx_dense_declare(gx_dense_block *blk, gx_params *p, const char *prefix, int n,
                     const int *sizes, int n_labels, gx_act act, gx_act last_act, int bn_slots,
                     int group, int stats_group, gx_error *err);

/* Initialisation after gx_params_finalize: weights ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as PyTorch's
 * nn.Linear (fan_in without the label columns... with them, as nn.Linear would on the concat),
 * biases 0, gamma 1, beta 0, running mean 0 and var 1. */
void gx_dense_init(const gx_dense_block *blk, gx_params *p, gx_rng *rng);

/* Activations of one layer for up to max_rows rows. Without batch norm the layer works in place:
 * Z, A and Y are one buffer, and dY, dA and dZ another. */
typedef struct gx_dense_ws_layer {
    float *Z;      /* [R, out] linear output */
    float *xhat;   /* [R, out] normalised (bn only) */
    float *A;      /* [R, out] input of the activation: Z, or the bn output */
    float *Y;      /* [R, out] output */
    float *dY, *dA, *dZ; /* gradients, same shapes (dA is dY scaled in place) */
    float *inv_std;      /* [out] (bn only) */
} gx_dense_ws_layer;

typedef struct gx_dense_ws {
    int max_rows, max_src;
    gx_dense_ws_layer l[GX_DENSE_MAX_LAYERS];
    float *dP;     /* [max_src, out0] the shared GEMM part of layer 0 (forward) and its gradient */
    float *wy;     /* [n_labels, out0] layer 0's label columns as rows, or their gradients */
    double *work;  /* bn scratch, 2 * max width */
} gx_dense_ws;

/* Workspace for up to max_rows output rows computed from up to max_src distinct input rows. */
int gx_dense_ws_alloc(gx_dense_ws *ws, const gx_dense_block *blk, int max_rows, int max_src,
                      gx_error *err);
void gx_dense_ws_free(gx_dense_ws *ws);

/* Forward pass for R rows. X [n_src, in] are the distinct inputs. Row r of the block uses input row
 * src[r] and label y[r] (src NULL: row r uses row r and n_src == R; y NULL: no labels). train: batch
 * norm with batch statistics (updating running stats of slot `slot`); else running stats.
 * The output is ws->l[n_layers-1].Y [R, out]. */
void gx_dense_forward(const gx_dense_block *blk, const gx_params *p, gx_dense_ws *ws, const float *X,
                      int n_src, const int32_t *src, const int32_t *y, int R, int train, int slot,
                      float bn_momentum);

/* Forward pass of R rows X [R, in] with soft labels soft [R, n_labels] (e.g. class distributions):
 * the first layer computes W [a ; p] = W_a a + W_y p, which for a one-hot p is the hard-label
 * forward. Forward only (generation); otherwise as gx_dense_forward. */
void gx_dense_forward_soft(const gx_dense_block *blk, const gx_params *p, gx_dense_ws *ws,
                           const float *X, const float *soft, int R, int train, int slot,
                           float bn_momentum);

/* Backward pass: reads ws->l[last].dY (the caller writes or accumulates it there: see
 * gx_dense_dout), adds parameter gradients into p->grad and input gradients into dX [n_src, in]
 * (may be NULL). Clobbers the dY buffers of every layer, the last one's included. */
void gx_dense_backward(const gx_dense_block *blk, gx_params *p, gx_dense_ws *ws, float *dX,
                       const float *X, int n_src, const int32_t *src, const int32_t *y, int R);

static inline float *gx_dense_out(const gx_dense_block *blk, const gx_dense_ws *ws) {
    return ws->l[blk->n_layers - 1].Y;
}
static inline float *gx_dense_dout(const gx_dense_block *blk, const gx_dense_ws *ws) {
    return ws->l[blk->n_layers - 1].dY;
}
static inline int gx_dense_out_size(const gx_dense_block *blk) {
    return blk->layer[blk->n_layers - 1].out;
}

/* Multiply-adds of the GEMMs of a training pass (forward, weight gradient, and the input gradient
 * when input_grad; the first layer's input gradient is always needed by the layers after it) of R
 * rows from n_src distinct inputs, for the benchmarks. *unshared (may be NULL) receives the count
 * without the shared first-layer GEMM: every row's [a ; onehot(y)] multiplied in full, as a
 * framework that concatenates the label would. */
double gx_dense_macs_train(const gx_dense_block *blk, int n_src, int R, int input_grad,
                           double *unshared);

#endif
