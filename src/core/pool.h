/* Pooling over NHWC feature maps (see core/conv.h for the layout): 2x2 max pooling with stride 2,
 * and global average pooling. Backward passes ADD into dX (but gx_maxpool2_backward_write).
 * Nothing is allocated. */
#ifndef GX_POOL_H
#define GX_POOL_H

#include <stddef.h>
#include <stdint.h>

/* Output size of a 2x2 / stride-2 max pool along a side of n pixels: n / 2 (an odd last row or
 * column is dropped, as PyTorch's MaxPool2d(2) does). */
static inline int gx_maxpool2_out(int n) { return n / 2; }

/* Y [B, H/2, W/2, C] = max over each 2x2 window of X [B, H, W, C] (H, W >= 2). arg [same as Y]
 * records which of the window's pixels won (dy * 2 + dx); ties go to the first in that order, and
 * NaN never wins unless it comes first. */
void gx_maxpool2_forward(float *Y, uint8_t *arg, const float *X, int B, int H, int W, int C);
/* dX [B, H, W, C] += dY routed to the winning pixel of each window. */
void gx_maxpool2_backward(float *dX, const float *dY, const uint8_t *arg, int B, int H, int W,
                          int C);
/* The same into a dX that need not be zeroed first: every pixel is written, 0 where nothing is
 * routed (dX = that gradient, one pass instead of a zeroing pass and an add). */
void gx_maxpool2_backward_write(float *dX, const float *dY, const uint8_t *arg, int B, int H, int W,
                                int C);

/* Y [B, C] = mean of X [B, H, W, C] over the H * W pixels. */
void gx_avgpool_global_forward(float *Y, const float *X, int B, int H, int W, int C);
/* dX [B, H, W, C] += dY [B, C] / (H * W) */
void gx_avgpool_global_backward(float *dX, const float *dY, int B, int H, int W, int C);

#endif
