/* 2-D convolution, stride 1, "same" zero padding (K odd, pad K/2), through oneDNN's convolution
 * primitives (forward, backward data, backward weights).
 *
 * Layout: feature maps are NHWC, X [B, H, W, C] row-major, the layout in which the datasets store
 * an image per row (h x w x c), so a batch of dataset rows is already a conv input and the
 * channels of a pixel are contiguous. Weights are [Cout, K, K, C] (row o is the filter of output
 * channel o; PyTorch stores [Cout, C, K, K]), oneDNN's "ohwi"; batch normalisation over channels
 * is core/batchnorm.h on the [B*H*W, C] rows.
 *
 * oneDNN picks the weights' layout its fastest kernels want (blocked by 16 channels on AVX-512);
 * the weights are reordered into it on every call (they change every step), and the weight
 * gradient back. The primitives of a shape are made once and kept (a few shapes: the batch sizes
 * of training and evaluation), for the thread count they were made at. Same inputs and thread
 * count, same bits. The backward pass ADDS into dX, dW and db (each may be NULL). */
#ifndef GX_CONV_H
#define GX_CONV_H

/* Y [B, H, W, Cout] = conv(X [B, H, W, C], W [Cout, K, K, C]) + b [Cout] (b may be NULL). */
void gx_conv2d_forward(float *Y, const float *X, const float *Wt, const float *b, int B, int H,
                       int W, int C, int Cout, int K);

/* dW [Cout, K, K, C] += the weight gradient; db [Cout] += the sum over pixels of dY;
 * dX [B, H, W, C] += the input gradient. */
void gx_conv2d_backward(float *dX, float *dW, float *db, const float *dY, const float *X,
                        const float *Wt, int B, int H, int W, int C, int Cout, int K);

#endif
