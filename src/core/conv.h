/* 2-D convolution, stride 1, "same" zero padding (K odd, pad K/2), as im2col + one GEMM.
 *
 * Layout: feature maps are NHWC, X [B, H, W, C] row-major, the layout in which the datasets store
 * an image per row (h x w x c), so a batch of dataset rows is already a conv input and the
 * channels of a pixel are contiguous. Weights are [Cout, K, K, C] (row o is the filter of output
 * channel o, in the order of an im2col row; PyTorch stores [Cout, C, K, K]). With that layout a
 * convolution over a batch is the linear layer Y[B*H*W, Cout] = col[B*H*W, K*K*C] W^T + b, and
 * batch normalisation over channels is core/batchnorm.h on the [B*H*W, C] rows.
 *
 * Small patches (K*K*C <= 16 taps, e.g. the first layer of a network on grey images) are
 * convolved directly, without im2col or GEMM, for the forward pass and the weight gradient.
 *
 * col is caller-owned scratch for `chunk` images at a time (gx_conv2d_col_floats); the batch is
 * processed in chunks of at most that many images, so the scratch stays bounded. The backward pass
 * ADDS into dX, dW and db (each may be NULL). Nothing is allocated. */
#ifndef GX_CONV_H
#define GX_CONV_H

#include <stddef.h>

/* Floats of scratch for im2col of `chunk` H x W x C images with a K x K kernel. */
size_t gx_conv2d_col_floats(int chunk, int H, int W, int C, int K);

/* col [nb*H*W, K*K*C]: row (b, y, x) holds the K x K x C patch centred at pixel (y, x) of image b of
 * X [nb, H, W, C], zeros outside the image; columns in (ky, kx, c) order. */
void gx_im2col(float *col, const float *X, int nb, int H, int W, int C, int K);
/* The adjoint of gx_im2col: dX [nb, H, W, C] += the patches of dcol summed back onto their pixels. */
void gx_col2im_add(float *dX, const float *dcol, int nb, int H, int W, int C, int K);

/* Y [B, H, W, Cout] = conv(X [B, H, W, C], W [Cout, K, K, C]) + b [Cout] (b may be NULL).
 * col: scratch of gx_conv2d_col_floats(chunk, H, W, C, K) floats, chunk >= 1. */
void gx_conv2d_forward(float *Y, const float *X, const float *Wt, const float *b, int B, int H,
                       int W, int C, int Cout, int K, float *col, int chunk);

/* dW [Cout, K*K*C] += dY^T col(X);  db [Cout] += sum over pixels of dY;  dX [B, H, W, C] += the
 * adjoint applied to dY W. Same scratch as the forward pass (col is overwritten). */
void gx_conv2d_backward(float *dX, float *dW, float *db, const float *dY, const float *X,
                        const float *Wt, int B, int H, int W, int C, int Cout, int K, float *col,
                        int chunk);

/* Keeping the patches: the forward pass writes im2col(X) of the whole batch into patches (kept by
 * the caller until the backward pass), and the backward pass reads them for the weight gradient
 * instead of building them again; col is then only scratch for the patch gradients of dX, chunk
 * images at a time. gx_conv2d_keeps_patches says whether the layer has patches to keep (not for a
 * 1x1 kernel, whose patches are its input, nor for a direct convolution); where it has none,
 * patches is neither written nor read and may be NULL. patches: gx_conv2d_col_floats(B, ...).
 * Both this forward pass and the input gradient (of either backward pass) run a few images at a
 * time, so that the patches and their gradients stay in cache; with several OpenMP threads whole
 * steps go to the threads, each with one-thread GEMMs (and, for the input gradient, its own part
 * of col when col holds threads x step images), so every output row comes from the same GEMM
 * whatever the thread count. */
int gx_conv2d_keeps_patches(int C, int Cout, int K);
void gx_conv2d_forward_keep(float *Y, float *patches, const float *X, const float *Wt,
                            const float *b, int B, int H, int W, int C, int Cout, int K);
void gx_conv2d_backward_kept(float *dX, float *dW, float *db, const float *dY, const float *X,
                             const float *patches, const float *Wt, int B, int H, int W, int C,
                             int Cout, int K, float *col, int chunk);

#endif
