/* Batch normalisation over the rows of a [N, C] matrix (per column), as used in the encoders.
 * Training mode normalises with the batch's statistics and updates running averages; evaluation
 * mode uses the running averages. Backward adds into dX, dgamma, dbeta. A convolutional feature
 * map [B, H, W, C] (NHWC, core/conv.h) is normalised per channel as the [B*H*W, C] matrix, as
 * PyTorch's BatchNorm2d does (statistics over batch and pixels). */
#ifndef GX_BATCHNORM_H
#define GX_BATCHNORM_H

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

#endif
