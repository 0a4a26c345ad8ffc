#include "data/augment.h"

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
