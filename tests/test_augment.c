/* Random translations: exact pixel placement, zero fill, range of shifts, determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "data/augment.h"

static void test_translate_places_pixels(void **s) {
    (void)s;
    float src[3 * 4], dst[3 * 4];
    for (int i = 0; i < 12; i++) src[i] = (float)(i + 1);
    gx_translate_image(dst, src, 3, 4, 1, 1, 1); /* right 1, down 1 */
    float want[12] = {0, 0, 0, 0, 0, 1, 2, 3, 0, 5, 6, 7};
    assert_memory_equal(dst, want, sizeof want);
    gx_translate_image(dst, src, 3, 4, 1, -2, 0);
    float want2[12] = {3, 4, 0, 0, 7, 8, 0, 0, 11, 12, 0, 0};
    assert_memory_equal(dst, want2, sizeof want2);
    gx_translate_image(dst, src, 3, 4, 1, 0, 0);
    assert_memory_equal(dst, src, sizeof src);
    gx_translate_image(dst, src, 3, 4, 1, 5, 0); /* shifted out entirely */
    for (int i = 0; i < 12; i++) assert_true(dst[i] == 0);
}

static void test_translate_channels(void **s) {
    (void)s;
    float src[2 * 2 * 2] = {1, 2, 3, 4, 5, 6, 7, 8}, dst[8];
    gx_translate_image(dst, src, 2, 2, 2, 1, 0);
    float want[8] = {0, 0, 1, 2, 0, 0, 5, 6};
    assert_memory_equal(dst, want, sizeof want);
}

/* Shifts stay within range (mass preserved for a centred dot) and repeat for a seed. */
static void test_random_translate(void **s) {
    (void)s;
    enum { N = 200, H = 7, W = 7 };
    static float X[N * H * W], Y[N * H * W], Y2[N * H * W];
    for (int i = 0; i < N; i++) X[i * H * W + 3 * W + 3] = 1;
    gx_rng r;
    gx_rng_init(&r, 1, GX_STREAM_AUGMENT);
    gx_random_translate(Y, X, N, H, W, 1, 2, &r);
    int seen[5][5] = {{0}};
    for (int i = 0; i < N; i++) {
        int found = -1;
        for (int p = 0; p < H * W; p++)
            if (Y[i * H * W + p] == 1) found = p;
        assert_true(found >= 0);
        int dy = found / W - 3, dx = found % W - 3;
        assert_true(dx >= -2 && dx <= 2 && dy >= -2 && dy <= 2);
        seen[dy + 2][dx + 2]++;
    }
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++) assert_true(seen[a][b] > 0); /* every shift occurs */
    gx_rng_init(&r, 1, GX_STREAM_AUGMENT);
    gx_random_translate(Y2, X, N, H, W, 1, 2, &r);
    assert_memory_equal(Y, Y2, sizeof Y);
}

/* Cutout zeroes exactly one clipped square per image and nothing else. */
static void test_cutout(void **s) {
    (void)s;
    enum { N = 50, H = 6, W = 5 };
    static float X[N * H * W];
    for (int i = 0; i < N * H * W; i++) X[i] = 1;
    gx_rng r;
    gx_rng_init(&r, 2, GX_STREAM_AUGMENT);
    gx_random_cutout(X, N, H, W, 1, 3, &r);
    for (int i = 0; i < N; i++) {
        int zeros = 0, ymin = H, ymax = -1, xmin = W, xmax = -1;
        for (int p = 0; p < H * W; p++)
            if (X[i * H * W + p] == 0) {
                zeros++;
                int y = p / W, x = p % W;
                ymin = y < ymin ? y : ymin, ymax = y > ymax ? y : ymax;
                xmin = x < xmin ? x : xmin, xmax = x > xmax ? x : xmax;
            }
        assert_true(zeros >= 1 && zeros <= 9);
        assert_int_equal(zeros, (ymax - ymin + 1) * (xmax - xmin + 1)); /* a rectangle */
        assert_true(ymax - ymin < 3 && xmax - xmin < 3);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_translate_places_pixels),
        cmocka_unit_test(test_translate_channels),
        cmocka_unit_test(test_random_translate),
        cmocka_unit_test(test_cutout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
