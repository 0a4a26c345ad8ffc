/* Standard normal noise for the reparameterisation trick, drawn fast: uniforms from the Philox
 * stream, Box-Muller in vectorised float arithmetic (core/vmath.h), rows in parallel blocks.
 * The same distribution as gx_rng_normal_fill, not the same values (24-bit uniforms, float
 * transcendentals; |z| <= 5.8). */
#ifndef GX_NOISE_H
#define GX_NOISE_H

#include "core/rng.h"

/* x [rows, cols] standard normals. Blocks of GX_NOISE_BLOCK rows are drawn in parallel, block b
 * from stream b of a key drawn from rng, so the values do not depend on the thread count; rng
 * advances by one 64-bit draw per call. */
#define GX_NOISE_BLOCK 50
void gx_normal_noise(gx_rng *rng, float *x, int rows, int cols);

/* n standard normals from rng itself, serially (uniforms drawn in order: n rounded up to even). */
void gx_normal_fill_fast(gx_rng *rng, float *x, int n);

#endif
