#include "data/augment.h"

#include <math.h>
#include <string.h>

void gx_translate_image(float *dst, const float *src, int h, int w, int c, int dx, int dy) {
    memset(dst, 0, (size_t)h * w * c * sizeof *dst);
    for (int y = 0; y < h; y++) {
        int sy = y - dy;
        if (sy < 0 || sy >= h) continue;
        int x0 = dx > 0 ? dx : 0, x1 = dx < 0 ? w + dx : w; /* destination columns */
        if (x1 <= x0) continue;
        memcpy(dst + ((size_t)y * w + x0) * c, src + ((size_t)sy * w + (x0 - dx)) * c,
               (size_t)(x1 - x0) * c * sizeof *dst);
    }
}

void gx_random_translate(float *Y, const float *X, int n, int h, int w, int c, int max_shift,
                         gx_rng *rng) {
    size_t size = (size_t)h * w * c;
    uint32_t span = (uint32_t)(2 * max_shift + 1);
    for (int i = 0; i < n; i++) {
        int dx = (int)gx_rng_below(rng, span) - max_shift;
        int dy = (int)gx_rng_below(rng, span) - max_shift;
        gx_translate_image(Y + i * size, X + i * size, h, w, c, dx, dy);
    }
}

void gx_random_cutout(float *X, int n, int h, int w, int c, int size, gx_rng *rng) {
    size_t per = (size_t)h * w * c;
    for (int i = 0; i < n; i++) {
        int cy = (int)gx_rng_below(rng, (uint32_t)h), cx = (int)gx_rng_below(rng, (uint32_t)w);
        int y0 = cy - size / 2, x0 = cx - size / 2;
        int y1 = y0 + size, x1 = x0 + size;
        if (y0 < 0) y0 = 0;
        if (x0 < 0) x0 = 0;
        if (y1 > h) y1 = h;
        if (x1 > w) x1 = w;
        for (int y = y0; y < y1; y++)
            memset(X + i * per + ((size_t)y * w + x0) * c, 0, (size_t)(x1 - x0) * c * sizeof *X);
    }
}

void gx_flip_image(float *img, int h, int w, int c) {
    for (int y = 0; y < h; y++) {
        float *row = img + (size_t)y * w * c;
        for (int a = 0, b = w - 1; a < b; a++, b--)
            for (int k = 0; k < c; k++) {
                float t = row[(size_t)a * c + k];
                row[(size_t)a * c + k] = row[(size_t)b * c + k];
                row[(size_t)b * c + k] = t;
            }
    }
}

static float clamp01(float v) { return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v; }

/* ---- geometric operations: one affine warp with bilinear sampling ---- */

/* The source value of channel k at (sx, sy) by bilinear interpolation; outside reads as 0. */
static float bilinear(const float *src, int h, int w, int c, int k, float sx, float sy) {
    float fx0 = floorf(sx), fy0 = floorf(sy);
    int x0 = (int)fx0, y0 = (int)fy0;
    float ax = sx - fx0, ay = sy - fy0;
    float v = 0.0f;
    for (int j = 0; j < 2; j++) {
        int y = y0 + j;
        float wy = j ? ay : 1.0f - ay;
        if (y < 0 || y >= h || wy == 0.0f) continue;
        for (int i = 0; i < 2; i++) {
            int x = x0 + i;
            float wx = i ? ax : 1.0f - ax;
            if (x < 0 || x >= w || wx == 0.0f) continue;
            v += wy * wx * src[((size_t)y * w + x) * c + k];
        }
    }
    return v;
}

/* dst(x, y) = src(centre + A (p - centre) + t), p = (x, y): the inverse map of the warp, with
 * A = [a b; d e] and t = (tx, ty). */
static void warp(float *dst, const float *src, int h, int w, int c, float a, float b, float d,
                 float e, float tx, float ty) {
    float cx = 0.5f * (float)(w - 1), cy = 0.5f * (float)(h - 1);
    for (int y = 0; y < h; y++) {
        float py = (float)y - cy;
        for (int x = 0; x < w; x++) {
            float px = (float)x - cx;
            float sx = cx + a * px + b * py + tx, sy = cy + d * px + e * py + ty;
            /* far outside: skip the floor of a huge value */
            int out = !(sx > -1.0f && sx < (float)w && sy > -1.0f && sy < (float)h);
            for (int k = 0; k < c; k++)
                dst[((size_t)y * w + x) * c + k] =
                    out ? 0.0f : clamp01(bilinear(src, h, w, c, k, sx, sy));
        }
    }
}

void gx_aug_rotate(float *dst, const float *src, int h, int w, int c, float degrees) {
    /* Counter-clockwise as seen with y down: a destination offset (px, py) reads the source at
     * (px cos + ... ) = R(-theta) in these coordinates. */
    double t = (double)degrees * 3.14159265358979323846 / 180.0;
    float co = (float)cos(t), si = (float)sin(t);
    warp(dst, src, h, w, c, co, -si, si, co, 0.0f, 0.0f);
}

void gx_aug_shear_x(float *dst, const float *src, int h, int w, int c, float s) {
    warp(dst, src, h, w, c, 1.0f, s, 0.0f, 1.0f, 0.0f, 0.0f);
}

void gx_aug_shear_y(float *dst, const float *src, int h, int w, int c, float s) {
    warp(dst, src, h, w, c, 1.0f, 0.0f, s, 1.0f, 0.0f, 0.0f);
}

void gx_aug_translate(float *dst, const float *src, int h, int w, int c, float dx, float dy) {
    warp(dst, src, h, w, c, 1.0f, 0.0f, 0.0f, 1.0f, -dx, -dy);
}

/* ---- colour operations ---- */

/* dst = deg + f (src - deg), clamped, with deg the constant `deg` or, when degs is given, the
 * image degs; written f src + (1 - f) deg so that f = 1 gives src exactly. */
static void blend(float *dst, const float *src, const float *degs, float deg, size_t n, float f) {
    for (size_t i = 0; i < n; i++) {
        float g = degs ? degs[i] : deg;
        dst[i] = clamp01(f * src[i] + (1.0f - f) * g);
    }
}

void gx_aug_contrast(float *dst, const float *src, int h, int w, int c, float f) {
    size_t n = (size_t)h * w * c;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += src[i];
    blend(dst, src, NULL, (float)(sum / (double)n), n, f);
}

void gx_aug_brightness(float *dst, const float *src, int h, int w, int c, float f) {
    blend(dst, src, NULL, 0.0f, (size_t)h * w * c, f);
}

void gx_aug_sharpness(float *dst, const float *src, int h, int w, int c, float f) {
    /* dst first holds the smoothed image, then the blend (element by element, so in place). */
    memcpy(dst, src, (size_t)h * w * c * sizeof *dst);
    for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++)
            for (int k = 0; k < c; k++) {
                float s = 0.0f;
                for (int j = -1; j <= 1; j++)
                    for (int i = -1; i <= 1; i++)
                        s += src[((size_t)(y + j) * w + (x + i)) * c + k];
                s += 4.0f * src[((size_t)y * w + x) * c + k]; /* centre weight 5 */
                dst[((size_t)y * w + x) * c + k] = s / 13.0f;
            }
    blend(dst, src, dst, 0.0f, (size_t)h * w * c, f);
}

/* The 8-bit level of a value, round(255 v) after clamping. */
static int level8(float v) { return (int)lrintf(255.0f * clamp01(v)); }

void gx_aug_posterize(float *dst, const float *src, int h, int w, int c, int bits) {
    size_t n = (size_t)h * w * c;
    if (bits >= 8) {
        for (size_t i = 0; i < n; i++) dst[i] = clamp01(src[i]);
        return;
    }
    if (bits < 1) bits = 1;
    int mask = ~((1 << (8 - bits)) - 1) & 0xFF;
    for (size_t i = 0; i < n; i++) dst[i] = (float)(level8(src[i]) & mask) / 255.0f;
}

void gx_aug_solarize(float *dst, const float *src, int h, int w, int c, float t) {
    size_t n = (size_t)h * w * c;
    for (size_t i = 0; i < n; i++) dst[i] = clamp01(src[i] > t ? 1.0f - src[i] : src[i]);
}

void gx_aug_equalize(float *dst, const float *src, int h, int w, int c) {
    size_t N = (size_t)h * w;
    for (int k = 0; k < c; k++) {
        int64_t cdf[256] = {0};
        for (size_t p = 0; p < N; p++) cdf[level8(src[p * c + k])]++;
        int64_t cdf_min = 0;
        for (int q = 0; q < 256 && !cdf_min; q++) cdf_min = cdf[q];
        for (int q = 1; q < 256; q++) cdf[q] += cdf[q - 1];
        int64_t span = (int64_t)N - cdf_min;
        for (size_t p = 0; p < N; p++) {
            float v = src[p * c + k];
            dst[p * c + k] = span > 0 ? (float)(cdf[level8(v)] - cdf_min) / (float)span : clamp01(v);
        }
    }
}

void gx_aug_autocontrast(float *dst, const float *src, int h, int w, int c) {
    size_t N = (size_t)h * w;
    for (int k = 0; k < c; k++) {
        float lo = src[k], hi = src[k];
        for (size_t p = 1; p < N; p++) {
            float v = src[p * c + k];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        float scale = hi > lo ? 1.0f / (hi - lo) : 0.0f;
        for (size_t p = 0; p < N; p++) {
            float v = src[p * c + k];
            dst[p * c + k] = clamp01(hi > lo ? (v - lo) * scale : v);
        }
    }
}

/* ---- the random pipeline ---- */

static const char *const op_names[GX_AUG_N_OPS] = {
    "rotate",   "shear_x",    "shear_y",   "translate_x", "translate_y", "contrast",
    "brightness", "sharpness", "posterize", "solarize",   "equalize",    "autocontrast"};

const char *gx_aug_op_name(gx_aug_op op) {
    return op >= 0 && op < GX_AUG_N_OPS ? op_names[op] : "?";
}

void gx_aug_apply(gx_aug_op op, float *dst, const float *src, int h, int w, int c, float mag) {
    mag = mag < -1.0f ? -1.0f : mag > 1.0f ? 1.0f : mag;
    float f = 1.0f + GX_AUG_MAX_ENHANCE * mag, m = fabsf(mag);
    switch (op) {
    case GX_AUG_ROTATE: gx_aug_rotate(dst, src, h, w, c, GX_AUG_MAX_DEGREES * mag); break;
    case GX_AUG_SHEAR_X: gx_aug_shear_x(dst, src, h, w, c, GX_AUG_MAX_SHEAR * mag); break;
    case GX_AUG_SHEAR_Y: gx_aug_shear_y(dst, src, h, w, c, GX_AUG_MAX_SHEAR * mag); break;
    case GX_AUG_TRANSLATE_X:
        gx_aug_translate(dst, src, h, w, c, GX_AUG_MAX_TRANSLATE * mag * (float)w, 0.0f);
        break;
    case GX_AUG_TRANSLATE_Y:
        gx_aug_translate(dst, src, h, w, c, 0.0f, GX_AUG_MAX_TRANSLATE * mag * (float)h);
        break;
    case GX_AUG_CONTRAST: gx_aug_contrast(dst, src, h, w, c, f); break;
    case GX_AUG_BRIGHTNESS: gx_aug_brightness(dst, src, h, w, c, f); break;
    case GX_AUG_SHARPNESS: gx_aug_sharpness(dst, src, h, w, c, f); break;
    case GX_AUG_POSTERIZE:
        gx_aug_posterize(dst, src, h, w, c, 8 - (int)lrintf(GX_AUG_MAX_POSTERIZE * m));
        break;
    case GX_AUG_SOLARIZE: gx_aug_solarize(dst, src, h, w, c, 1.0f - m); break;
    case GX_AUG_EQUALIZE: gx_aug_equalize(dst, src, h, w, c); break;
    case GX_AUG_AUTOCONTRAST: gx_aug_autocontrast(dst, src, h, w, c); break;
    default: memcpy(dst, src, (size_t)h * w * c * sizeof *dst); break;
    }
}

void gx_augment_opts_default(gx_augment_opts *o, int h, int w) {
    o->shift = 2;
    o->flip = 0;
    o->n_ops = 2;
    o->cutout = (h < w ? h : w) / 2;
}

/* The weak view of one image: translation, then the mirror. */
static void weak_one(float *y, const float *x, int h, int w, int c, const gx_augment_opts *o,
                     gx_rng *rng) {
    uint32_t span = (uint32_t)(2 * o->shift + 1);
    int dx = (int)gx_rng_below(rng, span) - o->shift;
    int dy = (int)gx_rng_below(rng, span) - o->shift;
    gx_translate_image(y, x, h, w, c, dx, dy);
    if (o->flip && gx_rng_bernoulli(rng, 0.5f)) gx_flip_image(y, h, w, c);
}

void gx_augment_weak(float *Y, const float *X, int n, int h, int w, int c,
                     const gx_augment_opts *o, gx_rng *rng) {
    size_t per = (size_t)h * w * c;
    for (int i = 0; i < n; i++) weak_one(Y + i * per, X + i * per, h, w, c, o, rng);
}

void gx_augment_strong(float *Y, const float *X, int n, int h, int w, int c,
                       const gx_augment_opts *o, gx_rng *rng, float *scratch) {
    size_t per = (size_t)h * w * c;
    for (int i = 0; i < n; i++) {
        float *y = Y + i * per, *cur = y, *other = scratch;
        weak_one(y, X + i * per, h, w, c, o, rng);
        for (int k = 0; k < o->n_ops; k++) {
            gx_aug_op op = (gx_aug_op)gx_rng_below(rng, GX_AUG_N_OPS);
            float mag = 2.0f * gx_rng_uniform(rng) - 1.0f;
            gx_aug_apply(op, other, cur, h, w, c, mag);
            float *t = cur;
            cur = other;
            other = t;
        }
        if (cur != y) memcpy(y, cur, per * sizeof *y);
        if (o->cutout > 0) gx_random_cutout(y, 1, h, w, c, o->cutout, rng);
    }
}
