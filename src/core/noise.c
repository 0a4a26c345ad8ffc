/* Standard normal noise: Philox uniforms, vectorised Box-Muller, parallel row blocks. */
#include "core/noise.h"

#include <stddef.h>
#include <stdint.h>

#include "core/vmath.h"

/* The uniforms first (u1 in (0, 1] for the first half of the pairs, u2 in [0, 1) for the second),
 * then the transform in place, contiguous so that it vectorises. */
GX_VEC_CLONES void gx_normal_fill_fast(gx_rng *rng, float *x, int n) {
    if (n <= 0) return;
    int h = (n + 1) / 2; /* pairs; the last one gives a single value when n is odd */
    float *u1 = x, *u2 = x + h, u2_last = 0.0f;
    for (int i = 0; i < h; i++) u1[i] = (float)((gx_rng_u32(rng) >> 8) + 1) * (1.0f / 16777216.0f);
    for (int i = 0; i < h; i++) {
        float u = (float)(gx_rng_u32(rng) >> 8) * (1.0f / 16777216.0f);
        if (i < n - h) u2[i] = u;
        else u2_last = u; /* n odd: the last pair's u2 has no slot */
    }
    if (n % 2) {
        float unused;
        gx_vbox_muller(u1[h - 1], u2_last, &u1[h - 1], &unused);
        h--;
    }
#pragma omp simd
    for (int i = 0; i < h; i++) gx_vbox_muller(u1[i], u2[i], &u1[i], &u2[i]);
}

void gx_normal_noise(gx_rng *rng, float *x, int rows, int cols) {
    uint64_t key = gx_rng_u64(rng);
    int blocks = (rows + GX_NOISE_BLOCK - 1) / GX_NOISE_BLOCK;
#pragma omp parallel for if (blocks > 1 && (size_t)rows * cols > (size_t)1 << 14)
    for (int b = 0; b < blocks; b++) {
        gx_rng r;
        gx_rng_init(&r, key, (uint64_t)b);
        int r0 = b * GX_NOISE_BLOCK, n = rows - r0 < GX_NOISE_BLOCK ? rows - r0 : GX_NOISE_BLOCK;
        gx_normal_fill_fast(&r, x + (size_t)r0 * cols, n * cols);
    }
}
