/* A feed-forward classifier (CNN or MLP) built from a short architecture spec, e.g.
 *
 *     conv32-bn-relu-pool,conv64-bn-relu-pool,fc128-relu-drop0.3,fc
 *     fc500-relu,fc
 *
 * Grammar: a sequence of layer tokens separated by '-' or ',' (both mean the same; commas
 * conventionally end a block). Tokens:
 *     conv<N>[k<K>]  N output channels, K x K kernel (K odd, default 3), stride 1, same padding
 *     fc<N>          fully connected, N units (flattens an image map first)
 *     fc             the head, last token: as many units as the data have classes
 *     bn             batch normalisation (per channel of a map, per unit after fc)
 *     relu | leaky_relu | tanh | sigmoid | softplus     activations
 *     pool           2x2 max pooling, stride 2 (an odd last row or column is dropped)
 *     gap            global average pooling: a H x W x C map becomes C features
 *     drop<P>        dropout with probability P in [0, 1) (training only)
 * A conv or fc directly followed by bn has no bias (bn's beta takes its place).
 *
 * The input shape comes from the data: an image h x w x c (rows stored HWC), or d features
 * (1 x 1 x d; conv, pool and gap then need an image and are an error). Activations are NHWC maps
 * [B, H, W, C] (core/conv.h), flat features [B, C]; the logits are [B, K].
 *
 * Parameters live in one gx_params store, named like PyTorch's state dicts: layers.<i>.weight and
 * .bias for conv/fc (conv weights [Cout, K, K, Cin]), layers.<i>.weight/.bias/.running_mean/
 * .running_var for bn, head.weight [K, in] and head.bias [K]. Groups: "body", "head" (trainable)
 * and "stats" (batch-norm running averages, frozen: they are updated by the forward pass). */
#ifndef GX_CLASSIFIER_H
#define GX_CLASSIFIER_H

#include <stdint.h>

#include "core/error.h"
#include "core/layers.h"
#include "core/params.h"
#include "core/rng.h"

#define GX_CLS_MAX_LAYERS 64
#define GX_CLS_ARCH_MAX 512
#define GX_CLS_BN_MOMENTUM 0.1f
#define GX_CLS_MAX_PARAMS (1 << 27) /* 2 GB with gradients and Adam's moments */

typedef enum {
    GX_CLS_CONV,
    GX_CLS_FC,
    GX_CLS_BN,
    GX_CLS_ACT,
    GX_CLS_MAXPOOL,
    GX_CLS_GAP,
    GX_CLS_DROPOUT,
} gx_cls_kind;

typedef struct gx_cls_layer {
    gx_cls_kind kind;
    char token[32];        /* as written in the spec, for messages */
    int h, w, c;           /* input shape (flat features: 1 x 1 x c) */
    int oh, ow, oc;        /* output shape */
    int k;                 /* conv: kernel size */
    float p;               /* dropout probability */
    gx_act act;
    int bias;              /* conv, fc: has a bias */
    int weight_idx, bias_idx;  /* parameter indices (-1: none) */
    int mean_idx, var_idx;     /* bn running statistics */
} gx_cls_layer;

typedef struct gx_classifier {
    char arch[GX_CLS_ARCH_MAX]; /* the spec it was built from */
    int in_h, in_w, in_c;       /* input shape; in_h = in_w = 1 for feature vectors */
    int image;                  /* whether the input is an image (conv/pool allowed) */
    int n_classes;
    int n_layers;
    gx_cls_layer layer[GX_CLS_MAX_LAYERS];
    float bn_momentum;
    gx_params params;
} gx_classifier;

/* Parses arch for an input of h x w x c (image != 0) or c features (image == 0, h = w = 1) and
 * n_classes >= 2: fills m's layers and shapes (no parameters). A token that does not parse, or a
 * layer that does not fit its input (e.g. a pool on a 1x1 map), is a one-line error naming the
 * token, its position and what was expected. */
int gx_classifier_parse(gx_classifier *m, const char *arch, int h, int w, int c, int image,
                        int n_classes, gx_error *err);

/* Parses, declares and allocates the parameters, and initialises them with init (NULL: left at
 * zero, e.g. before loading): conv/fc weights ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as PyTorch's
 * defaults, biases 0, bn gamma 1, beta 0, running mean 0, var 1. Free with gx_classifier_free. */
int gx_classifier_create(gx_classifier *m, const char *arch, int h, int w, int c, int image,
                         int n_classes, gx_rng *init, gx_error *err);
/* The same, refusing before it allocates anything an architecture of more than max_params
 * parameters (a loader passes what the file's tensors hold, so that a few bytes of config cannot
 * make it allocate gigabytes). */
int gx_classifier_create_at_most(gx_classifier *m, const char *arch, int h, int w, int c,
                                 int image, int n_classes, size_t max_params, gx_rng *init,
                                 gx_error *err);
void gx_classifier_free(gx_classifier *m);

/* A new head of n_classes outputs, freshly initialised with init; every other parameter (and the
 * bn statistics) is kept. Workspaces of the old model must be allocated again. */
int gx_classifier_replace_head(gx_classifier *m, int n_classes, gx_rng *init, gx_error *err);

/* Freezes (or unfreezes) every parameter but the head's. */
void gx_classifier_freeze_body(gx_classifier *m, int frozen);

/* Input features per example (h * w * c). */
static inline int gx_classifier_in_size(const gx_classifier *m) {
    return m->in_h * m->in_w * m->in_c;
}

/* Multiply-adds of one training step on B examples, as forward and backward compute them: each
 * conv and fc layer's product forward, for its weight gradient, and for its input gradient (not
 * for the first layer, whose input gradient is not needed). Element-wise work is not counted. */
double gx_classifier_step_macs(const gx_classifier *m, int B);

/* Activations for up to max_batch examples, sized once. */
typedef struct gx_classifier_ws {
    int max_batch;
    float *out[GX_CLS_MAX_LAYERS];     /* [B, oh*ow*oc] output of layer i */
    float *xhat[GX_CLS_MAX_LAYERS];    /* bn: normalised input (NULL for a fused bn) */
    float *inv_std[GX_CLS_MAX_LAYERS]; /* bn: [oc] */
    float *mean[GX_CLS_MAX_LAYERS];    /* bn followed by relu and pool: the batch mean [oc] */
    uint8_t fused[GX_CLS_MAX_LAYERS];  /* bn i, relu i+1, pool i+2 ran fused in the last forward
                                        * pass (training): out[i], out[i+1], xhat[i] not written;
                                        * mask[i+2] holds the winners, +4 where the relu is off */
    uint8_t *mask[GX_CLS_MAX_LAYERS];  /* dropout: kept units; maxpool: winning pixel */
    float *grad[2];                    /* [B, widest] ping-pong gradients for the backward pass */
    double *work;                      /* bn scratch (see gx_classifier_ws_alloc) */
    float *probs, *dlogits, *loss;     /* [B, K], [B, K], [B] for the cross-entropy */
    int32_t *pred;                     /* [B] predicted classes */
    void *base;                        /* the single allocation */
} gx_classifier_ws;

int gx_classifier_ws_alloc(gx_classifier_ws *ws, const gx_classifier *m, int max_batch,
                           gx_error *err);
void gx_classifier_ws_free(gx_classifier_ws *ws);

/* Modes of gx_classifier_forward. GX_FWD_TRAIN_BATCH_STATS is training mode whose batch statistics
 * leave bn's running averages alone: for inputs from another distribution than the test data's
 * (P-SSL's pseudo samples), whose statistics would otherwise become the evaluation's. */
enum { GX_FWD_EVAL = 0, GX_FWD_TRAIN = 1, GX_FWD_TRAIN_BATCH_STATS = 2 };

/* Logits [B, K] (a pointer into ws) of X [B, in] (dataset rows, HWC), B <= max_batch. train (a
 * GX_FWD_ mode; any nonzero value is training): batch statistics in bn (running averages updated
 * unless GX_FWD_TRAIN_BATCH_STATS) and dropout drawing from rng; GX_FWD_EVAL: bn uses the running
 * averages and dropout is the identity (rng may be NULL). */
const float *gx_classifier_forward(gx_classifier *m, gx_classifier_ws *ws, const float *X, int B,
                                   int train, gx_rng *rng);

/* Backward pass of the last gx_classifier_forward (train mode) from dlogits [B, K]: ADDS the
 * parameter gradients into m->params.grad and, when dX is not NULL, the input gradient into
 * dX [B, in]. dlogits may be ws->dlogits. */
void gx_classifier_backward(gx_classifier *m, gx_classifier_ws *ws, const float *X,
                            const float *dlogits, int B, float *dX);

/* Mean cross-entropy of the labels y [B] (train-mode forward), its gradients ADDED into
 * m->params.grad (the caller zeroes them); correct (may be NULL) receives the number of rows whose
 * argmax is the label. Returns the loss. */
double gx_classifier_ce_step(gx_classifier *m, gx_classifier_ws *ws, const float *X,
                             const int32_t *y, int B, gx_rng *rng, int *correct);

/* Class probabilities P [n, K] of X [n, in] in evaluation mode, in chunks of ws->max_batch. */
void gx_classifier_predict(gx_classifier *m, gx_classifier_ws *ws, const float *X, int64_t n,
                           float *P);

#endif
