/* Image augmentation for training. Images are stored h x w x c (HWC), row-major, one per row of a
 * batch, values usually in [0, 1].
 *   weak:   a random translation by up to `shift` pixels on each axis (zero fill) and, optionally,
 *           a left-right mirror with probability 1/2;
 *   strong: weak, then `n_ops` operations drawn at random (with replacement) from a RandAugment-like
 *           set (Cubuk et al. 2020, as FixMatch uses it), each with a random magnitude, then a
 *           cutout (DeVries & Taylor 2017).
 * The operations below work on float images in [0, 1] with any number of channels; their results
 * are clamped to [0, 1]. Geometric operations sample the source bilinearly about the image centre
 * (pixel centres at integer coordinates, centre ((w-1)/2, (h-1)/2)); what falls outside the source
 * reads as 0. No function allocates: the batch entry points take the caller's scratch. */
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

/* Mirrors one image left-right, in place. */
void gx_flip_image(float *img, int h, int w, int c);

/* ---- the strong operations: dst [h*w*c] from src [h*w*c], which must not overlap ---- */

/* Rotation by `degrees` counter-clockwise as the image is seen (y down). */
void gx_aug_rotate(float *dst, const float *src, int h, int w, int c, float degrees);
/* Shear: the content at row offset dy from the centre moves by -s * dy along x (shear_y: the
 * content at column offset dx moves by -s * dx along y), as PIL's affine ShearX/ShearY. */
void gx_aug_shear_x(float *dst, const float *src, int h, int w, int c, float s);
void gx_aug_shear_y(float *dst, const float *src, int h, int w, int c, float s);
/* Translation by (dx, dy) pixels, fractions allowed (positive: right, down). */
void gx_aug_translate(float *dst, const float *src, int h, int w, int c, float dx, float dy);
/* Blends with a degenerate image, out = deg + f (src - deg) (PIL's ImageEnhance): f = 1 is the
 * identity, 0 gives deg. contrast: deg = the mean of all values; brightness: deg = 0 (black);
 * sharpness: deg = src smoothed by the 3x3 kernel [1 1 1; 1 5 1; 1 1 1] / 13 per channel (the
 * border pixels keep their values), so f > 1 sharpens. */
void gx_aug_contrast(float *dst, const float *src, int h, int w, int c, float f);
void gx_aug_brightness(float *dst, const float *src, int h, int w, int c, float f);
void gx_aug_sharpness(float *dst, const float *src, int h, int w, int c, float f);
/* Keeps the top `bits` (1..8) bits of each value's 8-bit level round(255 v); 8 is the identity. */
void gx_aug_posterize(float *dst, const float *src, int h, int w, int c, int bits);
/* Values strictly above the threshold t become 1 - v; t >= 1 is the identity. */
void gx_aug_solarize(float *dst, const float *src, int h, int w, int c, float t);
/* Histogram equalisation of each channel over the 256 levels round(255 v): a value at level q
 * becomes (cdf(q) - cdf_min) / (N - cdf_min), cdf(q) the number of the channel's N pixels at levels
 * <= q and cdf_min that of the lowest level present. So the lowest level maps to 0 and the highest
 * to 1; a constant channel is copied. */
void gx_aug_equalize(float *dst, const float *src, int h, int w, int c);
/* Each channel's range [lo, hi] stretched to [0, 1]; a constant channel is copied. */
void gx_aug_autocontrast(float *dst, const float *src, int h, int w, int c);

/* The set strong augmentation draws from, and how a magnitude mag in [-1, 1] sets each one. */
typedef enum {
    GX_AUG_ROTATE,       /* GX_AUG_MAX_DEGREES * mag degrees */
    GX_AUG_SHEAR_X,      /* s = GX_AUG_MAX_SHEAR * mag */
    GX_AUG_SHEAR_Y,
    GX_AUG_TRANSLATE_X,  /* GX_AUG_MAX_TRANSLATE * mag * w pixels */
    GX_AUG_TRANSLATE_Y,  /* GX_AUG_MAX_TRANSLATE * mag * h pixels */
    GX_AUG_CONTRAST,     /* f = 1 + GX_AUG_MAX_ENHANCE * mag */
    GX_AUG_BRIGHTNESS,
    GX_AUG_SHARPNESS,
    GX_AUG_POSTERIZE,    /* bits = 8 - round(GX_AUG_MAX_POSTERIZE * |mag|) */
    GX_AUG_SOLARIZE,     /* t = 1 - |mag| */
    GX_AUG_EQUALIZE,     /* mag unused */
    GX_AUG_AUTOCONTRAST, /* mag unused */
    GX_AUG_N_OPS
} gx_aug_op;

#define GX_AUG_MAX_DEGREES 30.0f
#define GX_AUG_MAX_SHEAR 0.3f
#define GX_AUG_MAX_TRANSLATE 0.3f
#define GX_AUG_MAX_ENHANCE 0.9f
#define GX_AUG_MAX_POSTERIZE 4

/* "rotate", "shear_x", ... */
const char *gx_aug_op_name(gx_aug_op op);
/* Applies op with magnitude mag (clamped to [-1, 1]); mag = 0 is the identity for every op but
 * equalize and autocontrast. */
void gx_aug_apply(gx_aug_op op, float *dst, const float *src, int h, int w, int c, float mag);

/* ---- batches ---- */

typedef struct gx_augment_opts {
    int shift;  /* weak: translation by up to this many pixels on each axis (0: none) */
    int flip;   /* weak: mirror left-right with probability 1/2 (1) or never (0) */
    int n_ops;  /* strong: operations per image, each with a magnitude uniform in [-1, 1) */
    int cutout; /* strong: side of the cutout square (0: none) */
} gx_augment_opts;

/* shift 2, no flip, 2 operations, cutout half the shorter side of an h x w image. */
void gx_augment_opts_default(gx_augment_opts *o, int h, int w);

/* Weak views Y [n, h*w*c] of X (must not overlap). Per image it draws dx, dy (as
 * gx_random_translate) and, with flip, one more number. */
void gx_augment_weak(float *Y, const float *X, int n, int h, int w, int c,
                     const gx_augment_opts *o, gx_rng *rng);

/* Strong views Y [n, h*w*c] of X (must not overlap): per image the weak draws, then per operation
 * its index and magnitude, then the cutout's centre. scratch: h*w*c floats, not overlapping X or Y.
 * The same rng state gives the same views. */
void gx_augment_strong(float *Y, const float *X, int n, int h, int w, int c,
                       const gx_augment_opts *o, gx_rng *rng, float *scratch);

#endif
