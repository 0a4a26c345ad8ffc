/* Tests for io/figure: the PNG signature and IHDR size against the documented layout, pixels read
 * back at the computed places (nearest-neighbour scaling, condition gap, text drawn), bad
 * arguments, a missing directory. Set GX_FIGURE_SAMPLE=DIR to keep a sample PNG there. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cairo.h>
#include <cmocka.h>

#include "io/figure.h"
#include "test_fs_util.h"



/* Checks the PNG signature and returns the IHDR width and height (big-endian, bytes 16..23). */
static void png_size(const char *path, int *width, int *height) {
    unsigned char b[24];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(b, 1, 24, f), 24);
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_memory_equal(b, sig, 8);
    assert_memory_equal(b + 12, "IHDR", 4);
    *width = (int)((uint32_t)b[16] << 24 | (uint32_t)b[17] << 16 | (uint32_t)b[18] << 8 | b[19]);
    *height = (int)((uint32_t)b[20] << 24 | (uint32_t)b[21] << 16 | (uint32_t)b[22] << 8 | b[23]);
}

/* A test pattern: image (r, c) of h x w, pixel (y, x) = ((y + x + r + c) % 5) / 4. */
static float pattern(int r, int c, int y, int x) { return (float)((y + x + r + c) % 5) / 4.0f; }

static float *make_row(int r, int n_cols, int h, int w) {
    float *row = malloc(sizeof(float) * (size_t)n_cols * h * w);
    assert_non_null(row);
    for (int c = 0; c < n_cols; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) row[((size_t)c * h + y) * w + x] = pattern(r, c, y, x);
    return row;
}

/* Gray level (0..255) of pixel (x, y) of a decoded RGB24 surface; -1 if not gray. */
static int gray_at(cairo_surface_t *s, int x, int y) {
    const unsigned char *d = cairo_image_surface_get_data(s);
    uint32_t px = *(const uint32_t *)(const void *)(d + (size_t)y * cairo_image_surface_get_stride(s) +
                                                    (size_t)x * 4);
    uint32_t r = px >> 16 & 255, g = px >> 8 & 255, b = px & 255;
    return r == g && g == b ? (int)g : -1;
}

/* 2 x 3 images of 16 x 16, no labels, no title: scale 4, cells 64 x 64.
 * width = 2*10 + 3*64 + 2*2 = 216, height = 2*10 + 2*64 + 2 = 150. */
static void test_plain_grid_size_and_pixels(void **state) {
    (void)state;
    char path[700];
    test_path(path, sizeof path, "plain.png");
    float *rows[2] = {make_row(0, 3, 16, 16), make_row(1, 3, 16, 16)};
    gx_error err = {{0}};
    assert_int_equal(gx_image_grid_png(path, (const float *const *)rows, 2, 3, 16, 16, NULL, NULL,
                                       0, &err), 0);
    int W, H;
    png_size(path, &W, &H);
    assert_int_equal(W, 216);
    assert_int_equal(H, 150);
    int w2, h2;
    assert_int_equal(gx_image_grid_size(2, 3, 16, 16, NULL, NULL, 0, &w2, &h2, &err), 0);
    assert_int_equal(w2, 216);
    assert_int_equal(h2, 150);

    /* Every source pixel covers a 4 x 4 block at margin + c*(64+2) + 4x, margin + r*(64+2) + 4y. */
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    int bad = 0;
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 16; y++)
                for (int x = 0; x < 16; x++) {
                    int want = (int)lrintf(pattern(r, c, y, x) * 255.0f);
                    for (int d = 0; d < 16; d++) {
                        int px = 10 + c * 66 + 4 * x + d % 4, py = 10 + r * 66 + 4 * y + d / 4;
                        if (gray_at(s, px, py) != want) bad++;
                    }
                }
    assert_int_equal(bad, 0);
    assert_int_equal(gray_at(s, 0, 0), 255);      /* margin */
    assert_int_equal(gray_at(s, 10 + 64, 10), 255); /* spacing between columns */
    assert_int_equal(gray_at(s, 10, 10 + 64), 255); /* spacing between rows */
    assert_int_equal(gray_at(s, W - 1, H - 1), 255);
    cairo_surface_destroy(s);
    free(rows[0]);
    free(rows[1]);
}

/* Labels, title and a condition column with 28 x 28 images: scale 2, cells 56.
 * grid_w = 4*56 + 3*2 + 14 = 244; height = 2*10 + 26 + 3*56 + 2*2 = 218. */
static void test_labels_title_condition(void **state) {
    (void)state;
    char path[700];
    const char *sample = getenv("GX_FIGURE_SAMPLE");
    if (sample && *sample) snprintf(path, sizeof path, "%s/figure-sample.png", sample);
    else test_path(path, sizeof path, "labelled.png");
    float *rows[3];
    for (int r = 0; r < 3; r++) rows[r] = make_row(r, 4, 28, 28);
    const char *labels[3] = {"T-shirt/top", "Trouser", NULL};
    const char *title = "PP samples: condition | generated";
    gx_error err = {{0}};
    assert_int_equal(gx_image_grid_png(path, (const float *const *)rows, 3, 4, 28, 28, labels,
                                       title, 1, &err), 0);
    int W, H, w2, h2;
    png_size(path, &W, &H);
    assert_int_equal(H, 218);
    assert_int_equal(gx_image_grid_size(3, 4, 28, 28, labels, title, 1, &w2, &h2, &err), 0);
    assert_int_equal(W, w2);
    assert_int_equal(H, h2);
    int label_w = W - 20 - 244;
    assert_true(label_w > GX_FIG_LABEL_GAP + 30); /* "T-shirt/top" at 13 px is wider than 30 px */
    assert_true(label_w < GX_FIG_LABEL_GAP + 200);

    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    int gx0 = 10 + label_w, gy0 = 10 + 26;
    /* condition image at the grid origin, the second image after the extra gap */
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++) {
            int x0 = gx0 + c * 58 + (c > 0 ? 14 : 0), y0 = gy0 + r * 58;
            for (int y = 0; y < 28; y += 3)
                for (int x = 0; x < 28; x += 5) {
                    int want = (int)lrintf(pattern(r, c, y, x) * 255.0f);
                    assert_int_equal(gray_at(s, x0 + 2 * x + 1, y0 + 2 * y + 1), want);
                }
        }
    /* the gap after the condition column is light (white or the gray rule) */
    for (int x = gx0 + 56; x < gx0 + 58 + 14; x++) assert_true(gray_at(s, x, gy0 + 20) >= 170);
    /* text was drawn: dark pixels in the label area of rows 0 and 1, none in row 2's */
    int dark[3] = {0, 0, 0};
    for (int r = 0; r < 3; r++)
        for (int y = gy0 + r * 58; y < gy0 + r * 58 + 56; y++)
            for (int x = 10; x < gx0 - GX_FIG_LABEL_GAP; x++) {
                int g = gray_at(s, x, y);
                if (g >= 0 && g < 128) dark[r]++;
            }
    assert_true(dark[0] > 20);
    assert_true(dark[1] > 20);
    assert_int_equal(dark[2], 0);
    /* and in the title band */
    int tdark = 0;
    for (int y = 10; y < 10 + 26; y++)
        for (int x = 0; x < W; x++) {
            int g = gray_at(s, x, y);
            if (g >= 0 && g < 128) tdark++;
        }
    assert_true(tdark > 50);
    cairo_surface_destroy(s);
    for (int r = 0; r < 3; r++) free(rows[r]);
}

/* Column labels: a band of GX_FIG_COL_LABEL_H above the grid, columns widened to the widest
 * label with the images centred in them; text only above labelled columns. 8 x 8 images: scale
 * 4, cells 32; height = 2*10 + 20 + 2*32 + 2 = 106; width = 2*10 + 3*col_w + 2*2. */
static void test_column_labels(void **state) {
    (void)state;
    char path[700];
    test_path(path, sizeof path, "columns.png");
    float *rows[2] = {make_row(0, 3, 8, 8), make_row(1, 3, 8, 8)};
    const char *cols[3] = {"original view", NULL, "w"};
    gx_error err = {{0}};
    assert_int_equal(gx_image_grid_labelled_png(path, (const float *const *)rows, 2, 3, 8, 8, NULL,
                                                cols, NULL, 0, &err), 0);
    int W, H, w2, h2;
    png_size(path, &W, &H);
    assert_int_equal(H, 20 + GX_FIG_COL_LABEL_H + 2 * 32 + 2);
    assert_int_equal((W - 24) % 3, 0);
    int col_w = (W - 24) / 3;
    assert_true(col_w > 40 && col_w < 200); /* "original view" at 13 px is wider than a cell */
    assert_int_equal(gx_image_grid_labelled_size(2, 3, 8, 8, NULL, cols, NULL, 0, &w2, &h2, &err), 0);
    assert_int_equal(w2, W);
    assert_int_equal(h2, H);
    /* without any column label the figure is gx_image_grid_png's */
    const char *none[3] = {NULL, "", NULL};
    int w3, h3;
    assert_int_equal(gx_image_grid_labelled_size(2, 3, 8, 8, NULL, none, NULL, 0, &w2, &h2, &err), 0);
    assert_int_equal(gx_image_grid_size(2, 3, 8, 8, NULL, NULL, 0, &w3, &h3, &err), 0);
    assert_int_equal(w2, w3);
    assert_int_equal(h2, h3);
    assert_int_equal(w3, 20 + 3 * 32 + 4);

    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    int gy0 = 10 + GX_FIG_COL_LABEL_H;
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 3; c++) {
            int x0 = 10 + c * (col_w + 2) + (col_w - 32) / 2, y0 = gy0 + r * 34;
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++) {
                    int want = (int)lrintf(pattern(r, c, y, x) * 255.0f);
                    assert_int_equal(gray_at(s, x0 + 4 * x + 2, y0 + 4 * y + 2), want);
                }
        }
    int dark[3] = {0, 0, 0};
    for (int c = 0; c < 3; c++)
        for (int y = 10; y < gy0; y++)
            for (int x = 10 + c * (col_w + 2); x < 10 + c * (col_w + 2) + col_w; x++) {
                int g = gray_at(s, x, y);
                if (g >= 0 && g < 128) dark[c]++;
            }
    assert_true(dark[0] > 30);
    assert_int_equal(dark[1], 0);
    assert_true(dark[2] > 3);
    cairo_surface_destroy(s);
    free(rows[0]);
    free(rows[1]);
}

/* Scale and row height at the extremes; a long title widens the figure; non-finite pixels. */
static void test_scales(void **state) {
    (void)state;
    gx_error err = {{0}};
    int W, H;
    /* 100 x 80: scale 1. width = 20 + 2*80 + 2, height = 20 + 100 */
    assert_int_equal(gx_image_grid_size(1, 2, 100, 80, NULL, NULL, 0, &W, &H, &err), 0);
    assert_int_equal(W, 182);
    assert_int_equal(H, 120);
    /* 2 x 2: scale 4 (the cap), cells 8, rows GX_FIG_ROW_MIN = 18 high */
    assert_int_equal(gx_image_grid_size(3, 1, 2, 2, NULL, NULL, 0, &W, &H, &err), 0);
    assert_int_equal(W, 28);
    assert_int_equal(H, 20 + 3 * 18 + 2 * 2);
    /* the title is wider than one small image */
    assert_int_equal(gx_image_grid_size(1, 1, 2, 2, NULL, "a rather long title", 0, &W, &H, &err),
                     0);
    assert_true(W > 100);
    assert_int_equal(H, 20 + 26 + 18);

    char path[700];
    test_path(path, sizeof path, "nan.png");
    const float img[4] = {NAN, 0.0f, INFINITY, 2.0f};
    const float *rows[1] = {img};
    assert_int_equal(gx_image_grid_png(path, rows, 1, 1, 2, 2, NULL, NULL, 0, &err), 0);
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    assert_int_equal(gray_at(s, 10, 10 + 5), -1);     /* NaN: red */
    assert_int_equal(gray_at(s, 14, 10 + 5), 0);      /* 0 */
    assert_int_equal(gray_at(s, 14, 14 + 5), 255);    /* 2 clamped to 1 */
    cairo_surface_destroy(s);
}

static void test_bad_arguments(void **state) {
    (void)state;
    char dir[600], path[700];
    test_path(dir, sizeof dir, "bad");
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/x.png", dir);
    float img[4] = {0};
    const float *rows[2] = {img, NULL};
    gx_error err = {{0}};
    assert_int_equal(gx_image_grid_png(path, rows, 0, 1, 2, 2, NULL, NULL, 0, &err), -1);
    assert_msg_contains(err.msg, path);
    assert_int_equal(gx_image_grid_png(path, NULL, 1, 1, 2, 2, NULL, NULL, 0, &err), -1);
    assert_msg_contains(err.msg, path);
    assert_int_equal(gx_image_grid_png(path, rows, 2, 1, 2, 2, NULL, NULL, 0, &err), -1);
    assert_msg_contains(err.msg, "row 1");
    assert_int_equal(gx_image_grid_png(path, rows, 1, 0, 2, 2, NULL, NULL, 0, &err), -1);
    assert_int_equal(gx_image_grid_png(path, rows, 1, 1, 0, 2, NULL, NULL, 0, &err), -1);
    assert_int_equal(gx_image_grid_png(path, rows, 1, 1, 2, 2, NULL, NULL, 1, &err), -1);
    assert_msg_contains(err.msg, "condition");
    assert_int_equal(gx_image_grid_png(path, rows, 1, 1, 2, 2, NULL, NULL, 2, &err), -1);
    /* too large for cairo: 1 x 600 images of 64 x 64 */
    int W, H;
    assert_int_equal(gx_image_grid_size(1, 600, 64, 64, NULL, NULL, 0, &W, &H, &err), -1);
    assert_msg_contains(err.msg, "too large");
    assert_int_equal(count_entries(dir), 0);

    /* a missing directory: the message names the path; nothing is created */
    snprintf(path, sizeof path, "%s/missing/x.png", dir);
    assert_int_equal(gx_image_grid_png(path, rows, 1, 1, 2, 2, NULL, NULL, 0, &err), -1);
    assert_msg_contains(err.msg, path);
    assert_int_equal(count_entries(dir), 0);
}

/* An existing file is replaced only by a complete figure. */
static void test_replaces_existing(void **state) {
    (void)state;
    char path[700];
    test_path(path, sizeof path, "replace.png");
    test_write_text(path, "old");
    float img[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    const float *rows[1] = {img};
    gx_error err = {{0}};
    assert_int_equal(gx_image_grid_png(path, rows, 0, 1, 2, 2, NULL, NULL, 0, &err), -1);
    FILE *f = fopen(path, "rb");
    char buf[8] = {0};
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, sizeof buf, f), 3);
    fclose(f);
    assert_memory_equal(buf, "old", 3);
    assert_int_equal(gx_image_grid_png(path, rows, 1, 1, 2, 2, NULL, NULL, 0, &err), 0);
    int W, H;
    png_size(path, &W, &H);
    assert_int_equal(W, 28);
}

/* cairo keeps font caches for the life of the process; release them so LeakSanitizer sees none. */
static int teardown(void **state) {
    (void)state;
    cairo_debug_reset_static_data();
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_grid_size_and_pixels),
        cmocka_unit_test(test_labels_title_condition),
        cmocka_unit_test(test_column_labels),
        cmocka_unit_test(test_scales),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_replaces_existing),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
