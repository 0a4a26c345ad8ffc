/* Augmentation: translations (exact pixel placement, zero fill, range of shifts), cutout, the
 * strong operations (shape, range, identity at zero magnitude, known results on tiny images) and
 * the weak and strong batch pipelines (determinism for a seed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
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

/* |a - b| <= tol element-wise. */
static void assert_close(const float *a, const float *b, int n, float tol) {
    for (int i = 0; i < n; i++)
        if (!(fabsf(a[i] - b[i]) <= tol)) fail_msg("element %d: %g, expected %g", i, a[i], b[i]);
}

static void test_flip(void **s) {
    (void)s;
    float img[2 * 3 * 2] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    gx_flip_image(img, 2, 3, 2);
    float want[12] = {5, 6, 3, 4, 1, 2, 11, 12, 9, 10, 7, 8};
    assert_memory_equal(img, want, sizeof want);
}

/* Every op, at several magnitudes, writes exactly h*w*c finite values in [0, 1] (a guard after
 * the image stays untouched), on an image with 3 channels and values beyond [0, 1] too. */
static void test_ops_keep_shape_and_range(void **s) {
    (void)s;
    enum { H = 5, W = 7, C = 3, N = H * W * C };
    float src[N], dst[N + 4];
    gx_rng r;
    gx_rng_init(&r, 3, GX_STREAM_AUGMENT);
    for (int i = 0; i < N; i++) src[i] = gx_rng_uniform(&r);
    src[0] = -0.5f, src[7] = 1.5f;
    const float mags[] = {-1, -0.5f, 0, 0.3f, 1, 7};
    for (int op = 0; op < GX_AUG_N_OPS; op++)
        for (size_t m = 0; m < sizeof mags / sizeof *mags; m++) {
            for (int i = 0; i < N + 4; i++) dst[i] = -7;
            gx_aug_apply((gx_aug_op)op, dst, src, H, W, C, mags[m]);
            for (int i = 0; i < N; i++)
                if (!(dst[i] >= 0 && dst[i] <= 1))
                    fail_msg("%s, magnitude %g: value %d is %g", gx_aug_op_name((gx_aug_op)op),
                             mags[m], i, dst[i]);
            for (int i = N; i < N + 4; i++) assert_true(dst[i] == -7);
        }
}

/* Magnitude 0 is the identity for every op but equalize and autocontrast. */
static void test_ops_identity_at_zero(void **s) {
    (void)s;
    enum { H = 6, W = 5, C = 2, N = H * W * C };
    float src[N], dst[N];
    for (int i = 0; i < N; i++) src[i] = (float)((i * 37) % 101) / 100.0f;
    int changed = 0;
    for (int op = 0; op < GX_AUG_N_OPS; op++) {
        gx_aug_apply((gx_aug_op)op, dst, src, H, W, C, 0.0f);
        if (op == GX_AUG_EQUALIZE || op == GX_AUG_AUTOCONTRAST) {
            changed += memcmp(dst, src, sizeof src) != 0;
            continue;
        }
        if (memcmp(dst, src, sizeof src))
            fail_msg("%s at magnitude 0 changed the image", gx_aug_op_name((gx_aug_op)op));
    }
    assert_int_equal(changed, 2); /* they do change this image: its range is not [0, 1] */
    /* and every op does something at full magnitude */
    for (int op = 0; op < GX_AUG_N_OPS; op++) {
        gx_aug_apply((gx_aug_op)op, dst, src, H, W, C, 1.0f);
        if (!memcmp(dst, src, sizeof src))
            fail_msg("%s at magnitude 1 left the image as it was", gx_aug_op_name((gx_aug_op)op));
    }
}

static void test_rotate_90(void **s) {
    (void)s;
    float src[9] = {.1f, .2f, .3f, .4f, .5f, .6f, .7f, .8f, .9f}, dst[9];
    gx_aug_rotate(dst, src, 3, 3, 1, 90);   /* counter-clockwise: the right column goes on top */
    float ccw[9] = {.3f, .6f, .9f, .2f, .5f, .8f, .1f, .4f, .7f};
    assert_close(dst, ccw, 9, 1e-6f);
    gx_aug_rotate(dst, src, 3, 3, 1, -90);
    float cw[9] = {.7f, .4f, .1f, .8f, .5f, .2f, .9f, .6f, .3f};
    assert_close(dst, cw, 9, 1e-6f);
    gx_aug_rotate(dst, src, 3, 3, 1, 180);
    float half[9] = {.9f, .8f, .7f, .6f, .5f, .4f, .3f, .2f, .1f};
    assert_close(dst, half, 9, 1e-6f);
    /* 45 degrees: the centre stays, a corner reads from outside (bilinear mix with 0) */
    gx_aug_rotate(dst, src, 3, 3, 1, 45);
    assert_close(dst + 4, src + 4, 1, 1e-6f);
    assert_true(dst[0] < .5f);
}

static void test_shear_and_translate(void **s) {
    (void)s;
    float src[9] = {.1f, .2f, .3f, .4f, .5f, .6f, .7f, .8f, .9f}, dst[9];
    gx_aug_shear_x(dst, src, 3, 3, 1, 1.0f); /* row offsets -1, 0, 1: rows move right, stay, left */
    float sx[9] = {0, .1f, .2f, .4f, .5f, .6f, .8f, .9f, 0};
    assert_close(dst, sx, 9, 1e-6f);
    gx_aug_shear_y(dst, src, 3, 3, 1, 1.0f); /* the same on columns */
    float sy[9] = {0, .2f, .6f, .1f, .5f, .9f, .4f, .8f, 0};
    assert_close(dst, sy, 9, 1e-6f);
    float row[4] = {0, 1, 0, 0}, out[4];
    gx_aug_translate(out, row, 1, 4, 1, 0.5f, 0); /* half a pixel right: bilinear */
    float half[4] = {0, .5f, .5f, 0};
    assert_close(out, half, 4, 1e-6f);
    gx_aug_translate(out, row, 1, 4, 1, -1.0f, 0);
    float left[4] = {1, 0, 0, 0};
    assert_memory_equal(out, left, sizeof left);
}

static void test_colour_ops(void **s) {
    (void)s;
    float src[4] = {.2f, .5f, .8f, 1.0f}, dst[4];
    gx_aug_solarize(dst, src, 2, 2, 1, 0.5f); /* strictly above .5 is inverted */
    float sol[4] = {.2f, .5f, .2f, 0};
    assert_close(dst, sol, 4, 1e-6f);
    gx_aug_solarize(dst, src, 2, 2, 1, 1.0f);
    assert_memory_equal(dst, src, sizeof src);

    gx_aug_contrast(dst, src, 2, 2, 1, 0.0f); /* all the mean .625 */
    for (int i = 0; i < 4; i++) assert_close(dst + i, (float[]){.625f}, 1, 1e-6f);
    gx_aug_contrast(dst, src, 2, 2, 1, 2.0f); /* .625 + 2 (v - .625), clamped */
    float con[4] = {0, .375f, .975f, 1};
    assert_close(dst, con, 4, 1e-6f);
    gx_aug_brightness(dst, src, 2, 2, 1, 0.5f);
    float bri[4] = {.1f, .25f, .4f, .5f};
    assert_close(dst, bri, 4, 1e-6f);

    float q[3] = {.6f, .4f, 1.0f}, qd[3];
    gx_aug_posterize(qd, q, 1, 3, 1, 1); /* levels 153, 102, 255 keep bit 7: 128, 0, 128 */
    float post[3] = {128 / 255.0f, 0, 128 / 255.0f};
    assert_close(qd, post, 3, 1e-6f);
    gx_aug_posterize(qd, q, 1, 3, 1, 8);
    assert_memory_equal(qd, q, sizeof q);
}

/* Sharpness: the 3x3 smoothing on the interior, borders kept; f = 1 the identity. */
static void test_sharpness(void **s) {
    (void)s;
    float src[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0}, dst[9];
    gx_aug_sharpness(dst, src, 3, 3, 1, 0.0f); /* the smoothed image */
    float smooth[9] = {0, 0, 0, 0, 5 / 13.0f, 0, 0, 0, 0};
    assert_close(dst, smooth, 9, 1e-6f);
    gx_aug_sharpness(dst, src, 3, 3, 1, 1.0f);
    assert_close(dst, src, 9, 1e-6f);
    float flat[9] = {.4f, .4f, .4f, .4f, .4f, .4f, .4f, .4f, .4f};
    gx_aug_sharpness(dst, flat, 3, 3, 1, 1.9f);
    assert_close(dst, flat, 9, 1e-6f);
}

static void test_equalize_and_autocontrast(void **s) {
    (void)s;
    float two[4] = {.2f, .2f, .2f, .7f}, dst[4];
    gx_aug_equalize(dst, two, 2, 2, 1); /* a two-level image becomes black and white */
    float want2[4] = {0, 0, 0, 1};
    assert_memory_equal(dst, want2, sizeof want2);
    float three[4] = {.1f, .5f, .5f, .9f};
    gx_aug_equalize(dst, three, 2, 2, 1); /* cdf 1, 3, 4 over N - cdf_min = 3 */
    float want3[4] = {0, 2 / 3.0f, 2 / 3.0f, 1};
    assert_close(dst, want3, 4, 1e-6f);
    float flat[4] = {.3f, .3f, .3f, .3f};
    gx_aug_equalize(dst, flat, 2, 2, 1);
    assert_memory_equal(dst, flat, sizeof flat);
    /* two channels, each stretched on its own */
    float ac[6] = {.2f, .5f, .4f, .5f, .6f, .5f}, acd[6];
    gx_aug_autocontrast(acd, ac, 1, 3, 2);
    float want_ac[6] = {0, .5f, .5f, .5f, 1, .5f};
    assert_close(acd, want_ac, 6, 1e-6f);
}

/* Weak and strong views: the same seed gives the same views, another seed others; with no
 * operation and no cutout, strong equals weak; shift 0 without flip is the identity. */
static void test_batch_pipelines(void **s) {
    (void)s;
    enum { N = 16, H = 9, W = 8, C = 2, P = H * W * C };
    static float X[N * P], A[N * P], B[N * P], scratch[P];
    gx_rng r;
    gx_rng_init(&r, 11, GX_STREAM_AUGMENT);
    for (int i = 0; i < N * P; i++) X[i] = gx_rng_uniform(&r);
    gx_augment_opts o;
    gx_augment_opts_default(&o, H, W);
    assert_int_equal(o.shift, 2);
    assert_int_equal(o.n_ops, 2);
    assert_int_equal(o.cutout, 4);
    o.flip = 1;

    gx_rng_init(&r, 1, GX_STREAM_AUGMENT);
    gx_augment_strong(A, X, N, H, W, C, &o, &r, scratch);
    gx_rng_init(&r, 1, GX_STREAM_AUGMENT);
    gx_augment_strong(B, X, N, H, W, C, &o, &r, scratch);
    assert_memory_equal(A, B, sizeof A);
    for (int i = 0; i < N * P; i++) assert_true(A[i] >= 0 && A[i] <= 1);
    gx_rng_init(&r, 2, GX_STREAM_AUGMENT);
    gx_augment_strong(B, X, N, H, W, C, &o, &r, scratch);
    assert_true(memcmp(A, B, sizeof A) != 0);

    gx_rng_init(&r, 1, GX_STREAM_AUGMENT);
    gx_augment_weak(A, X, N, H, W, C, &o, &r);
    gx_rng_init(&r, 1, GX_STREAM_AUGMENT);
    gx_augment_weak(B, X, N, H, W, C, &o, &r);
    assert_memory_equal(A, B, sizeof A);
    gx_rng_init(&r, 2, GX_STREAM_AUGMENT);
    gx_augment_weak(B, X, N, H, W, C, &o, &r);
    assert_true(memcmp(A, B, sizeof A) != 0);

    gx_augment_opts plain = o;
    plain.n_ops = 0, plain.cutout = 0;
    gx_rng_init(&r, 1, GX_STREAM_AUGMENT);
    gx_augment_strong(B, X, N, H, W, C, &plain, &r, scratch);
    assert_memory_equal(A, B, sizeof A);

    /* without flip, weak is gx_random_translate draw for draw */
    o.flip = 0;
    gx_rng_init(&r, 5, GX_STREAM_AUGMENT);
    gx_augment_weak(A, X, N, H, W, C, &o, &r);
    gx_rng_init(&r, 5, GX_STREAM_AUGMENT);
    gx_random_translate(B, X, N, H, W, C, 2, &r);
    assert_memory_equal(A, B, sizeof A);
    o.shift = 0;
    gx_augment_weak(A, X, N, H, W, C, &o, &r);
    assert_memory_equal(A, X, sizeof A);

    /* flips happen about half the time: count the images of a shift-0 weak pass that differ */
    o.flip = 1;
    gx_augment_weak(A, X, N, H, W, C, &o, &r);
    int flipped = 0;
    for (int i = 0; i < N; i++) flipped += memcmp(A + i * P, X + i * P, P * sizeof(float)) != 0;
    assert_true(flipped > 0 && flipped < N);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_translate_places_pixels),
        cmocka_unit_test(test_translate_channels),
        cmocka_unit_test(test_random_translate),
        cmocka_unit_test(test_cutout),
        cmocka_unit_test(test_flip),
        cmocka_unit_test(test_ops_keep_shape_and_range),
        cmocka_unit_test(test_ops_identity_at_zero),
        cmocka_unit_test(test_rotate_90),
        cmocka_unit_test(test_shear_and_translate),
        cmocka_unit_test(test_colour_ops),
        cmocka_unit_test(test_sharpness),
        cmocka_unit_test(test_equalize_and_autocontrast),
        cmocka_unit_test(test_batch_pipelines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
