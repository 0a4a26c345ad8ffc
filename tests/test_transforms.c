/* Tests for data/transforms: scale, standardisation, log10, bilinear resize, padding. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/transforms.h"

#define assert_close(a, b, tol)                                                                  \
    do {                                                                                         \
        double a_ = (a), b_ = (b), t_ = (tol);                                                   \
        if (!(fabs(a_ - b_) <= t_)) {                                                            \
            print_error("%s = %.9g, expected %s = %.9g (tolerance %g)\n", #a, a_, #b, b_, t_);   \
            fail();                                                                              \
        }                                                                                        \
    } while (0)

#define assert_contains(s, sub)                                                                  \
    do {                                                                                         \
        if (!strstr((s), (sub))) {                                                               \
            print_error("'%s' does not contain '%s'\n", (s), (sub));                             \
            fail();                                                                              \
        }                                                                                        \
    } while (0)

/* A dataset n x d with the given values (row-major). */
static void make(gx_dataset *ds, int64_t n, int64_t d, const float *x) {
    gx_error err;
    gx_dataset_init(ds);
    snprintf(ds->source, sizeof ds->source, "test");
    assert_int_equal(gx_dataset_alloc(ds, n, d, 0, &err), 0);
    memcpy(ds->x, x, (size_t)(n * d) * sizeof(float));
}

static void test_scale(void **state) {
    (void)state;
    gx_dataset ds;
    const float x[] = {0, 51, 255, 127.5f};
    make(&ds, 2, 2, x);
    gx_error err;
    assert_int_equal(gx_transform_scale(&ds, 1.0f / 255.0f, &err), 0);
    assert_close(ds.x[0], 0.0, 0);
    assert_close(ds.x[1], 0.2, 1e-7);
    assert_close(ds.x[2], 1.0, 1e-7);
    assert_close(ds.x[3], 0.5, 1e-7);
    assert_int_equal(gx_transform_scale(&ds, INFINITY, &err), -1);
    assert_close(ds.x[2], 1.0, 1e-7);
    gx_dataset_free(&ds);
}

static void test_standardize_fit_apply(void **state) {
    (void)state;
    gx_error err;
    gx_dataset a, b;
    /* Column 0: 1, 3, 5 (mean 3, population std sqrt(8/3)); column 1 constant 5. */
    const float xa[] = {1, 5, 3, 5, 5, 5};
    const float xb[] = {3, 5, 7, 6};
    make(&a, 3, 2, xa);
    make(&b, 2, 2, xb);
    gx_standardizer s;
    gx_standardizer_init(&s);
    assert_int_equal(gx_standardizer_fit(&s, &a, NULL, 0, &err), 0);
    assert_int_equal(s.d, 2);
    assert_close(s.mean[0], 3.0, 1e-6);
    assert_close(s.std[0], sqrt(8.0 / 3.0), 1e-6);
    assert_close(s.mean[1], 5.0, 0);
    assert_close(s.std[1], 1.0, 0); /* constant column */
    /* Fitted on a, applied to b. */
    assert_int_equal(gx_standardizer_apply(&s, &b, &err), 0);
    assert_close(b.x[0], 0.0, 1e-6);
    assert_close(b.x[1], 0.0, 1e-6);
    assert_close(b.x[2], 4.0 / sqrt(8.0 / 3.0), 1e-5);
    assert_close(b.x[3], 1.0, 1e-6);
    /* The inverse gets b back. */
    gx_standardizer_invert_rows(&s, b.x, b.n);
    for (int i = 0; i < 4; i++) assert_close(b.x[i], xb[i], 1e-5);

    /* The statistics are plain arrays: stored and set again, they give the same transform. */
    float mean[2], std[2];
    memcpy(mean, s.mean, sizeof mean);
    memcpy(std, s.std, sizeof std);
    gx_standardizer t;
    gx_standardizer_init(&t);
    assert_int_equal(gx_standardizer_set(&t, 2, mean, std, &err), 0);
    float r1[2] = {9, 2}, r2[2] = {9, 2};
    gx_standardizer_apply_rows(&s, r1, 1);
    gx_standardizer_apply_rows(&t, r2, 1);
    assert_memory_equal(r1, r2, sizeof r1);
    std[1] = 0;
    assert_int_equal(gx_standardizer_set(&t, 2, mean, std, &err), -1);
    assert_contains(err.msg, "column 1");

    /* Fit on a subset of rows. */
    int64_t rows[] = {0, 1};
    assert_int_equal(gx_standardizer_fit(&s, &a, rows, 2, &err), 0);
    assert_close(s.mean[0], 2.0, 1e-6);
    assert_close(s.std[0], 1.0, 1e-6);

    /* Wrong width. */
    gx_dataset c;
    const float xc[] = {1, 2, 3};
    make(&c, 1, 3, xc);
    assert_int_equal(gx_standardizer_apply(&s, &c, &err), -1);
    assert_contains(err.msg, "3 columns");

    gx_standardizer_free(&s);
    gx_standardizer_free(&t);
    gx_dataset_free(&a);
    gx_dataset_free(&b);
    gx_dataset_free(&c);
}

static void test_standardize_precision_and_errors(void **state) {
    (void)state;
    gx_error err;
    gx_dataset a;
    /* A large offset with small spread: needs the double, two-pass computation. */
    enum { N = 1000 };
    float *x = malloc(N * sizeof *x);
    for (int i = 0; i < N; i++) x[i] = 100000.0f + (float)(i % 2); /* mean 100000.5, std 0.5 */
    make(&a, N, 1, x);
    gx_standardizer s;
    gx_standardizer_init(&s);
    assert_int_equal(gx_standardizer_fit(&s, &a, NULL, 0, &err), 0);
    assert_close(s.mean[0], 100000.5, 1e-2);
    assert_close(s.std[0], 0.5, 1e-6);
    /* A constant column of a non-representable value is still constant. */
    for (int i = 0; i < N; i++) a.x[i] = 0.1f;
    assert_int_equal(gx_standardizer_fit(&s, &a, NULL, 0, &err), 0);
    assert_close(s.std[0], 1.0, 0);
    /* Nearly constant is not constant: std is the true (tiny) value, not 1. */
    a.x[0] = nextafterf(0.1f, 1.0f);
    assert_int_equal(gx_standardizer_fit(&s, &a, NULL, 0, &err), 0);
    assert_true(s.std[0] > 0.0f && s.std[0] < 1e-7f);
    a.x[7] = NAN;
    assert_int_equal(gx_standardizer_fit(&s, &a, NULL, 0, &err), -1);
    assert_contains(err.msg, "row 7");
    int64_t bad[] = {N};
    assert_int_equal(gx_standardizer_fit(&s, &a, bad, 0, &err), -1); /* no rows */
    assert_int_equal(gx_standardizer_fit(&s, &a, bad, 1, &err), -1);
    gx_standardizer_free(&s);
    gx_dataset_free(&a);
    free(x);
}

static void test_find_column_and_log10(void **state) {
    (void)state;
    gx_error err;
    gx_dataset ds;
    const float x[] = {10, 1, 100, 2, 1000, 3};
    make(&ds, 3, 2, x);
    int64_t col = -1;
    assert_int_equal(gx_find_column(&ds, "1", &col, &err), 0);
    assert_int_equal(col, 1);
    assert_int_equal(gx_find_column(&ds, "c0", &col, &err), 0);
    assert_int_equal(col, 0);
    assert_int_equal(gx_find_column(&ds, "period", &col, &err), -1);
    assert_contains(err.msg, "no column 'period'");
    ds.feature_names = calloc(2, sizeof(char *));
    ds.feature_names[0] = strdup("period");
    ds.feature_names[1] = strdup("amp");
    assert_int_equal(gx_find_column(&ds, "amp", &col, &err), 0);
    assert_int_equal(col, 1);

    const char *names[] = {"period", NULL};
    assert_int_equal(gx_transform_log10_named(&ds, names, &err), 0);
    assert_close(ds.x[0], 1.0, 1e-6);
    assert_close(ds.x[2], 2.0, 1e-6);
    assert_close(ds.x[4], 3.0, 1e-6);
    assert_close(ds.x[1], 1.0, 0); /* other column untouched */

    /* A value <= 0: an error naming column and row, and nothing changed. */
    ds.x[5] = 0.0f;
    const float before[] = {ds.x[0], ds.x[1], ds.x[2], ds.x[3], ds.x[4], ds.x[5]};
    int64_t cols[] = {0, 1};
    assert_int_equal(gx_transform_log10(&ds, cols, 2, &err), -1);
    assert_contains(err.msg, "'amp'");
    assert_contains(err.msg, "row 2");
    assert_memory_equal(ds.x, before, sizeof before);
    ds.x[3] = -2.0f;
    assert_int_equal(gx_transform_log10(&ds, cols + 1, 1, &err), -1);
    assert_contains(err.msg, "row 1");
    gx_dataset_free(&ds);
}

static void test_resize_upsample_hand(void **state) {
    (void)state;
    /* [[0,1],[2,3]] to 4x4: what F.interpolate(..., mode='bilinear', align_corners=False) gives. */
    const float src[] = {0, 1, 2, 3};
    const float want[] = {0.0f, 0.25f, 0.75f, 1.0f,  0.5f, 0.75f, 1.25f, 1.5f,
                          1.5f, 1.75f, 2.25f, 2.5f,  2.0f, 2.25f, 2.75f, 3.0f};
    float dst[16];
    gx_resize_bilinear(src, 2, 2, 1, dst, 4, 4);
    for (int i = 0; i < 16; i++) assert_close(dst[i], want[i], 1e-6);
}

static void test_resize_downsample_and_odd(void **state) {
    (void)state;
    /* 4x4 -> 2x2 samples at 0.5 and 2.5: the mean of each 2x2 block, no antialias needed. */
    float src[16], dst[4];
    for (int i = 0; i < 16; i++) src[i] = (float)i;
    gx_resize_bilinear(src, 4, 4, 1, dst, 2, 2);
    assert_close(dst[0], 2.5, 1e-6);
    assert_close(dst[1], 4.5, 1e-6);
    assert_close(dst[2], 10.5, 1e-6);
    assert_close(dst[3], 12.5, 1e-6);
    /* 1x3 -> 1x2: x = 0.25 and 1.75. */
    const float row[] = {0, 10, 20};
    float out[2];
    gx_resize_bilinear(row, 1, 3, 1, out, 1, 2);
    assert_close(out[0], 2.5, 1e-6);
    assert_close(out[1], 17.5, 1e-6);
    /* 16x16 ramp (value = row) -> 20x20: output row i holds its source coordinate
     * (i + 0.5) * 0.8 - 0.5, clamped to [0, 15]. */
    float ramp[256], big[400];
    for (int i = 0; i < 256; i++) ramp[i] = (float)(i / 16);
    gx_resize_bilinear(ramp, 16, 16, 1, big, 20, 20);
    for (int i = 0; i < 20; i++) {
        double y = (i + 0.5) * 0.8 - 0.5;
        if (y < 0) y = 0;
        if (y > 15) y = 15;
        for (int j = 0; j < 20; j++) assert_close(big[i * 20 + j], y, 1e-5);
    }
    assert_close(big[10 * 20 + 3], 7.9, 1e-5);
}

static void test_resize_identity_and_channels(void **state) {
    (void)state;
    float src[5 * 7], dst[5 * 7];
    for (int i = 0; i < 35; i++) src[i] = (float)(i * i % 13) * 0.37f;
    gx_resize_bilinear(src, 5, 7, 1, dst, 5, 7);
    assert_memory_equal(src, dst, sizeof src);
    /* Two interleaved channels (HWC): channel 1 = 10 x channel 0 stays so after resizing. */
    const float two[] = {0, 0, 1, 10, 2, 20, 3, 30};
    float out[32];
    gx_resize_bilinear(two, 2, 2, 2, out, 4, 4);
    const float want0[] = {0.0f, 0.25f, 0.75f, 1.0f, 0.5f, 0.75f, 1.25f, 1.5f,
                           1.5f, 1.75f, 2.25f, 2.5f, 2.0f, 2.25f, 2.75f, 3.0f};
    for (int i = 0; i < 16; i++) {
        assert_close(out[2 * i], want0[i], 1e-6);
        assert_close(out[2 * i + 1], 10 * want0[i], 1e-5);
    }
}

static void test_pad(void **state) {
    (void)state;
    const float src[] = {1, 2, 3, 4};
    float dst[16];
    gx_pad_image(src, 2, 2, 1, 1, dst);
    const float want[] = {0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0};
    assert_memory_equal(dst, want, sizeof want);
    float same[4];
    gx_pad_image(src, 2, 2, 1, 0, same);
    assert_memory_equal(same, src, sizeof src);
}

static void test_dataset_usps_frame(void **state) {
    (void)state;
    gx_error err;
    gx_dataset ds;
    float *x = malloc(2 * 256 * sizeof *x);
    for (int i = 0; i < 512; i++) x[i] = (float)(i % 256) / 255.0f;
    make(&ds, 2, 256, x);
    /* No image shape yet: an error. */
    assert_int_equal(gx_dataset_resize(&ds, 20, 20, &err), -1);
    assert_contains(err.msg, "image");
    ds.height = ds.width = 16;
    ds.channels = 1;
    assert_int_equal(gx_dataset_resize(&ds, 20, 20, &err), 0);
    assert_int_equal(ds.d, 400);
    assert_int_equal(gx_dataset_pad(&ds, 4, &err), 0);
    assert_int_equal(ds.d, 784);
    assert_int_equal(ds.height, 28);
    assert_int_equal(ds.width, 28);
    /* Row 1, the border is zero and the centre is the resized image. */
    float ref[400];
    gx_resize_bilinear(x + 256, 16, 16, 1, ref, 20, 20);
    const float *img = ds.x + 784;
    for (int i = 0; i < 28; i++)
        for (int j = 0; j < 28; j++) {
            float v = img[i * 28 + j];
            if (i < 4 || i >= 24 || j < 4 || j >= 24) assert_close(v, 0.0, 0);
            else assert_close(v, ref[(i - 4) * 20 + (j - 4)], 0);
        }
    assert_int_equal(gx_dataset_pad(&ds, -1, &err), -1);
    assert_int_equal(ds.d, 784);
    gx_dataset_free(&ds);
    free(x);
}

/* gx_rows_beyond: rows with some |value| above the limit, and the column most often above it. */
/* std-from=: the named features take the other standardizer's statistics, by name */
static void test_standardizer_borrow(void **state) {
    (void)state;
    float mean[3] = {1, 2, 3}, sd[3] = {1, 1, 1}, src_mean[2] = {10, 20}, src_sd[2] = {4, 5};
    gx_standardizer st = {3, mean, sd}, src = {2, src_mean, src_sd};
    const char *names[3] = {"mag", "color", "period"}, *src_names[2] = {"period", "color"};
    gx_error err;
    assert_int_equal(gx_standardizer_borrow(&st, names, "period", &src, src_names, &err), 0);
    assert_true(mean[2] == 10 && sd[2] == 4 && mean[0] == 1 && mean[1] == 2 && sd[1] == 1);
    assert_int_equal(gx_standardizer_borrow(&st, names, "color+period", &src, src_names, &err), 0);
    assert_true(mean[1] == 20 && sd[1] == 5);
    assert_int_equal(gx_standardizer_borrow(&st, names, "mag", &src, src_names, &err), -1);
    assert_non_null(strstr(err.msg, "feature 'mag' is not a column of the domain whose"));
    assert_int_equal(gx_standardizer_borrow(&st, names, "amp", &src, src_names, &err), -1);
    assert_non_null(strstr(err.msg, "feature 'amp' is not a column of this domain"));
    assert_int_equal(gx_standardizer_borrow(&st, names, "period+", &src, src_names, &err), 0);
    assert_int_equal(gx_standardizer_borrow(&st, names, "+period", &src, src_names, &err), -1);
}

static void test_rows_beyond(void **state) {
    (void)state;
    const float x[4 * 3] = {0, 1, -2, 7, 0, 0, 0, -6.5f, 9, 0, 6, 0};
    int64_t worst;
    assert_int_equal(gx_rows_beyond(x, 4, 3, 6.0f, &worst), 2); /* rows 1 and 2 (6 is not above) */
    assert_int_equal(worst, 0);                               /* columns 0 and 1 once each: first */
    assert_int_equal(gx_rows_beyond(x, 4, 3, 10.0f, &worst), 0);
    assert_int_equal(worst, -1);
    assert_int_equal(gx_rows_beyond(x, 4, 3, 0.5f, NULL), 4);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_beyond),
        cmocka_unit_test(test_standardizer_borrow),
        cmocka_unit_test(test_scale),
        cmocka_unit_test(test_standardize_fit_apply),
        cmocka_unit_test(test_standardize_precision_and_errors),
        cmocka_unit_test(test_find_column_and_log10),
        cmocka_unit_test(test_resize_upsample_hand),
        cmocka_unit_test(test_resize_downsample_and_odd),
        cmocka_unit_test(test_resize_identity_and_channels),
        cmocka_unit_test(test_pad),
        cmocka_unit_test(test_dataset_usps_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
