/* Image augmentation for training: random translations (weak augmentation). Images are stored
 * h x w x c (HWC), row-major, one per row of a batch. */
#ifndef GX_AUGMENT_H
#define GX_AUGMENT_H

#include "core/rng.h"

/* dst = src shifted by (dx, dy) pixels (positive: right, down), uncovered pixels set to 0.
 * dst and src must not overlap. */
void gx_translate_image(float *dst, const float *src, int h, int w, int c, int dx, int dy);

/* Each of the n images of X [n, h*w*c] shifted by a random (dx, dy) in [-max_shift, max_shift]^2
 * into Y (same shape; must not overlap X). Draws 2 integers per image from rng. */
void gx_random_translate(float *Y, const float *X, int n, int h, int w, int c, int max_shift,
                         gx_rng *rng);

/* Cutout (DeVries & Taylor 2017): in each of the n images of X [n, h*w*c] (in place), a size x size
 * square centred at a random pixel (clipped at the borders) is set to 0. Draws 2 integers per image. */
void gx_random_cutout(float *X, int n, int h, int w, int c, int size, gx_rng *rng);

#endif
