/* Toy data for the tests of the public API and of the model file: K clusters in d dimensions,
 * written as .npy files (include after cmocka.h). */
#ifndef GX_TEST_TOY_UTIL_H
#define GX_TEST_TOY_UTIL_H

#include <math.h>
#include <stdint.h>

#include "core/rng.h"
#include "data/readers.h"
#include "test_util.h"

/* x [n, d], y [n] = i % K: row i is centred at `offset` plus 3 on the features j with
 * j % K == y[i], plus N(0, 1) noise; unit: squashed into (0, 1) by a sigmoid. */
static inline void toy_make(float *x, int32_t *y, int n, int d, int K, float offset, int unit,
                            uint64_t seed) {
    gx_rng r;
    gx_rng_init(&r, seed, 99);
    for (int i = 0; i < n; i++) {
        y[i] = i % K;
        for (int j = 0; j < d; j++) {
            float v = offset + (j % K == y[i] ? 3.0f : 0.0f) + gx_rng_normal(&r);
            x[(int64_t)i * d + j] = unit ? 1.0f / (1.0f + expf(-(v - 1.5f))) : v;
        }
    }
}

/* Writes x [n, d] as float32 and y [n] as int32 .npy files (y_path may be NULL). */
static inline void toy_write_npy(const char *x_path, const char *y_path, const float *x,
                                 const int32_t *y, int n, int d) {
    gx_error err;
    int64_t xs[2] = {n, d}, ys[1] = {n};
    assert_int_equal(gx_npy_write(x_path, GX_NPY_F32, 2, xs, x, &err), 0);
    if (y_path) assert_int_equal(gx_npy_write(y_path, GX_NPY_I32, 1, ys, y, &err), 0);
}

#endif
