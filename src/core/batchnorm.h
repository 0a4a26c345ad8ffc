/* Batch normalisation over the rows of a [N, C] matrix (per column), as used in the encoders.
 * Training mode normalises with the batch's statistics and updates running averages; evaluation
 * mode uses the running averages. Backward adds into dX, dgamma, dbeta. A convolutional feature
 * map [B, H, W, C] (NHWC, core/conv.h) is normalised per channel as the [B*H*W, C] matrix, as
 * PyTorch's BatchNorm2d does (statistics over batch and pixels). */
#ifndef GX_BATCHNORM_H
#define GX_BATCHNORM_H

#include <stddef.h>
#include <stdint.h>

#define GX_BN_EPS 1e-5f

/* Y[N,C] = gamma * xhat + beta, xhat = (X - mean) * inv_std, mean/var over the N rows (biased var).
 * Writes xhat [N,C] and inv_std [C] for the backward pass; work is scratch of 2*C doubles.
 * run_mean/run_var (may be NULL) become (1 - momentum) * run + momentum * batch (unbiased var).
 * Y may not alias X. N >= 1. */
void gx_batchnorm_forward_train(float *Y, float *xhat, float *inv_std, const float *X,
                                const float *gamma, const float *beta, int N, int C, float momentum,
                                float *run_mean, float *run_var, double *work);

/* Y = gamma * (X - run_mean) / sqrt(run_var + eps) + beta. Y may alias X. */
void gx_batchnorm_forward_eval(float *Y, const float *X, const float *gamma, const float *beta,
                               const float *run_mean, const float *run_var, int N, int C);

/* dX += gamma * inv_std / N * (N dY - sum_n dY - xhat * sum_n dY xhat); dgamma += sum dY xhat;
 * dbeta += sum dY. work: 2*C doubles. dX may be dY: then the gradient overwrites dY (in place,
 * nothing to zero) instead of being added. */
void gx_batchnorm_backward(float *dX, float *dgamma, float *dbeta, const float *dY,
                           const float *xhat, const float *inv_std, const float *gamma, int N, int C,
                           double *work);

/* Training-mode batch norm, ReLU and 2x2 max pooling (core/pool.h) fused, on a map
 * X [B, H, W, C] (NHWC): P [B, H/2, W/2, C] = maxpool2(relu(gamma xhat + beta)), xhat as
 * gx_batchnorm_forward_train with the batch's statistics over the B*H*W pixels (computed per
 * image, two passes over the image, and combined in image order with Chan et al.'s update: no
 * E[x^2] - E[x]^2). Neither the normalised map nor the ReLU's output is stored: the backward pass
 * recomputes xhat = (X - mean) inv_std from X, mean [C] and inv_std [C], which this writes (the
 * statistics are summed in double, mean and inv_std rounded to float, and the normalisation and the
 * gradient are float arithmetic). arg [B, H/2, W/2, C]:
 * the window's winning pixel (0-3, the first of equals, as gx_maxpool2_forward) of gamma xhat +
 * beta, plus 4 where that maximum is not positive (the ReLU passes no gradient). Since the ReLU is
 * monotonic, max(relu(z)) = relu(max(z)): the outputs and gradients are those of the three layers
 * in sequence. Running averages as gx_batchnorm_forward_train. work: gx_bn_relu_pool_work_doubles
 * doubles. The results do not depend on the thread count. */
size_t gx_bn_relu_pool_work_doubles(int B, int C);
void gx_bn_relu_pool_forward(float *P, uint8_t *arg, float *mean, float *inv_std, const float *X,
                             const float *gamma, const float *beta, int B, int H, int W, int C,
                             float momentum, float *run_mean, float *run_var, double *work);

/* dX [B, H, W, C] = the gradient of the three layers w.r.t. X for dP [B, H/2, W/2, C] (written,
 * every element, odd rows and columns included; may be NULL), dgamma, dbeta [C] += theirs (may be
 * NULL). X, mean, inv_std and arg as the forward pass left them. work as the forward pass. */
void gx_bn_relu_pool_backward(float *dX, float *dgamma, float *dbeta, const float *dP,
                              const uint8_t *arg, const float *X, const float *mean,
                              const float *inv_std, const float *gamma, int B, int H, int W, int C,
                              double *work);

#endif
