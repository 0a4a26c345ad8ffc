/* Layers as plain forward/backward pairs on raw float arrays, row-major, batch first.
 * Every backward ADDS into its outputs (dX, dW, db): callers zero them once, and a tensor used in
 * several places (e.g. the encoder output feeding K branches) simply accumulates. Any gradient
 * pointer may be NULL when that gradient is not needed. */
#ifndef GX_LAYERS_H
#define GX_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"

/* ---- linear ----
 * Y[B,out] = X[B,in] W^T + b, W stored [out, ldw] (PyTorch's layout; ldw >= in, usually in),
 * b [out] or NULL. A layer whose input is [a ; onehot(y)] stores W as [out, in + K] and is computed
 * as the linear part on a (ldw = in + K) plus the label column selected by y (below): exact, and
 * the GEMM on a is shared by every y. */
void gx_linear_forward(float *Y, const float *X, const float *W, int ldw, const float *b, int B,
                       int in, int out);
/* dX[B,in] += dY W;  dW[out,in] += dY^T X (row stride ldw);  db[out] += sum_b dY[b,:] */
void gx_linear_backward(float *dX, float *dW, float *db, const float *dY, const float *X,
                        const float *W, int ldw, int B, int in, int out);

/* ---- label columns of a [a ; onehot(y)] input ----
 * Wy points at column `in` of such a W (Wy = W + in), row stride ldw, K label columns.
 * Hard labels:  Y[b,:] += Wy[:, y[b]]              (y[b] in [0, K))
 * Soft labels:  Y[b,:] += sum_k P[b,k] Wy[:, k]    (P [B,K], e.g. a class distribution) */
void gx_label_columns_forward(float *Y, const int32_t *y, const float *Wy, int ldw, int B, int out);
void gx_label_columns_backward(float *dWy, const float *dY, const int32_t *y, int ldw, int B,
                               int out);
void gx_soft_label_columns_forward(float *Y, const float *P, const float *Wy, int ldw, int B, int K,
                                   int out);
/* dWy[:, k] += sum_b P[b,k] dY[b,:];  dP[b,k] += dY[b,:] . Wy[:, k] */
void gx_soft_label_columns_backward(float *dWy, float *dP, const float *dY, const float *P,
                                    const float *Wy, int ldw, int B, int K, int out);

/* ---- element-wise activations ---- */
typedef enum {
    GX_ACT_IDENTITY,
    GX_ACT_RELU,
    GX_ACT_LEAKY_RELU, /* slope GX_LEAKY_SLOPE for x < 0 */
    GX_ACT_SOFTPLUS,   /* log(1 + e^x), computed stably */
    GX_ACT_TANH,
    GX_ACT_SIGMOID,
} gx_act;
#define GX_LEAKY_SLOPE 0.01f

/* Y[n] = f(X[n]); Y may equal X (in place). */
void gx_act_forward(gx_act a, float *Y, const float *X, size_t n);
/* dX[n] += dY * f'(x). relu/tanh/sigmoid use Y (X if Y is NULL); leaky relu uses X (or Y, which
 * has the sign of x); softplus uses X, or with X = NULL recovers f'(x) = sigmoid(x) from Y as
 * 1 - exp(-y) (computed as -expm1(-y)). So after an in-place forward pass (X gone) every
 * activation can be differentiated from Y with X = NULL. */
void gx_act_backward(gx_act a, float *dX, const float *dY, const float *X, const float *Y, size_t n);
/* dY[n] *= f'(x), from the output Y alone (as gx_act_backward with X = NULL, in place): the
 * gradient through an activation whose input is gone. */
void gx_act_grad_scale(gx_act a, float *dY, const float *Y, size_t n);
/* "relu", "leaky_relu", "softplus", "tanh", "sigmoid", "identity"; -1 if unknown. */
int gx_act_parse(const char *s, gx_act *out);
const char *gx_act_name(gx_act a);

/* ---- dropout (inverted: kept units are scaled by 1/(1-p), so inference is the identity) ----
 * Unit i is dropped when the i-th gx_rng_uniform draw is < p (n draws, in order); mask[i] = 1 for
 * kept units. p <= 0 copies X and draws nothing; p >= 1 zeroes Y. Y may equal X. */
void gx_dropout_forward(float *Y, uint8_t *mask, const float *X, size_t n, float p, gx_rng *rng);
void gx_dropout_backward(float *dX, const float *dY, const uint8_t *mask, size_t n, float p);

#endif
