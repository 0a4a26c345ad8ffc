/* genxfer augment: the preview PNG has the documented grid (rows = examples, columns = original,
 * weak and strong views, labelled), repeats for a seed and changes with it; the original column
 * holds the data; bad input is one error line and exit 1, a bad command line exit 2. */
#include "test_cli_util.h"

#include <cairo.h>
#include <math.h>

#include "data/readers.h"
#include "data/spec.h"
#include "io/figure.h"

/* Writes x [n, h, w, c] (c = 0: [n, h, w]) as a float32 .npy file. */
static void write_images(const char *path, const float *x, int n, int h, int w, int c) {
    int64_t shape[4] = {n, h, w, c};
    gx_error err;
    assert_int_equal(gx_npy_write(path, GX_NPY_F32, c ? 4 : 3, shape, x, &err), 0);
}

/* 3 x 5 images of 12 x 10 with a bright bar, no labels: the PNG is the grid of 1 + 2 + 3 columns,
 * its size that of gx_image_grid_labelled_size for the same labels and title, and the original
 * column shows the images. Same seed: the same bytes; another seed: other bytes. */
static void test_preview_grid(void **s) {
    (void)s;
    enum { N = 5, H = 12, W = 10 };
    static float x[N * H * W];
    for (int i = 0; i < N; i++)
        for (int y = 2; y < 9; y++) x[(i * H + y) * W + 3 + i % 3] = 0.2f * (float)(i + 1);
    char npy[600], png[600], png2[600], png3[600], spec[700];
    test_path(npy, sizeof npy, "bars.npy");
    test_path(png, sizeof png, "preview.png");
    test_path(png2, sizeof png2, "preview2.png");
    test_path(png3, sizeof png3, "preview3.png");
    write_images(npy, x, N, H, W, 0);
    snprintf(spec, sizeof spec, "npy:%s", npy);
    const char *opts = "--n 3 --weak 2 --strong 3 --shift 1 --flip --strong-ops 2 --cutout 4";
    assert_int_equal(run("augment '%s' %s --seed 4 --out '%s'", spec, opts, png), 0);
    char *out = slurp(OUT);
    assert_contains(out, "3 examples");
    free(out);

    const char *cols[6] = {"original", "weak 1", "weak 2", "strong 1", "strong 2", "strong 3"};
    char title[800];
    snprintf(title, sizeof title, "%s. weak: shift 1, flip; strong: weak + 2 ops + cutout 4", spec);
    int W0, H0, W1, H1;
    gx_error err;
    assert_int_equal(gx_image_grid_labelled_size(3, 6, H, W, NULL, cols, title, 0, &W1, &H1, &err), 0);
    png_size(png, &W0, &H0);
    assert_int_equal(W0, W1);
    assert_int_equal(H0, H1);

    /* the original column: scale 4 (64 / 12 = 5, at most 4), cells 40 x 48 centred in columns at
     * least as wide as "original" */
    cairo_surface_t *sf = cairo_image_surface_create_from_png(png);
    assert_int_equal(cairo_surface_status(sf), CAIRO_STATUS_SUCCESS);
    const unsigned char *d = cairo_image_surface_get_data(sf);
    int stride = cairo_image_surface_get_stride(sf);
    int Wn, Hn; /* without the title, which may be wider than the grid */
    assert_int_equal(gx_image_grid_labelled_size(3, 6, H, W, NULL, cols, NULL, 0, &Wn, &Hn, &err), 0);
    int col_w = (Wn - 2 * GX_FIG_MARGIN - 5 * GX_FIG_SPACING) / 6;
    int gx0 = GX_FIG_MARGIN + (col_w - 40) / 2, gy0 = GX_FIG_MARGIN + GX_FIG_TITLE_H + GX_FIG_COL_LABEL_H;
    for (int r = 0; r < 3; r++)
        for (int y = 0; y < H; y++)
            for (int xx = 0; xx < W; xx++) {
                int px = gx0 + 4 * xx + 1, py = gy0 + r * (48 + GX_FIG_SPACING) + 4 * y + 1;
                uint32_t v = *(const uint32_t *)(const void *)(d + (size_t)py * stride + (size_t)px * 4);
                assert_int_equal((int)(v & 255), (int)lrintf(x[(r * H + y) * W + xx] * 255.0f));
            }
    cairo_surface_destroy(sf);

    assert_int_equal(run("augment '%s' %s --seed 4 --out '%s'", spec, opts, png2), 0);
    assert_int_equal(run("augment '%s' %s --seed 5 --out '%s'", spec, opts, png3), 0);
    char *a = slurp(png), *b = slurp(png2), *c = slurp(png3);
    struct stat st;
    assert_int_equal(stat(png, &st), 0);
    assert_memory_equal(a, b, (size_t)st.st_size);
    assert_true(memcmp(a, c, (size_t)st.st_size) != 0);
    free(a);
    free(b);
    free(c);
}

/* A labelled dataset: the rows are labelled with the class names (defaults: 8 examples, 3 weak
 * and 4 strong views, cutout half the side). */
static void test_preview_fashion(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    char png[600];
    test_path(png, sizeof png, "fashion.png");
    assert_int_equal(run("augment fashion-mnist:test,limit=20 --out '%s'", png), 0);
    gx_dataset ds;
    gx_dataset_init(&ds);
    gx_error err;
    assert_int_equal(gx_spec_load("fashion-mnist:test,limit=8", &ds, &err), 0);
    const char *rows[8], *cols[8] = {"original", "weak 1", "weak 2", "weak 3",
                                     "strong 1", "strong 2", "strong 3", "strong 4"};
    char names[8][64];
    for (int r = 0; r < 8; r++) rows[r] = gx_dataset_class_name(&ds, ds.y[r], names[r], 64);
    int W0, H0, W1, H1;
    assert_int_equal(gx_image_grid_labelled_size(8, 8, 28, 28, rows, cols,
                                                 "fashion-mnist:test,limit=20. weak: shift 2; "
                                                 "strong: weak + 2 ops + cutout 14",
                                                 0, &W1, &H1, &err), 0);
    png_size(png, &W0, &H0);
    assert_int_equal(W0, W1);
    assert_int_equal(H0, H1);
    gx_dataset_free(&ds);
}

static void test_errors(void **s) {
    (void)s;
    char csv[600], npy[600], rgb[600], png[600], spec[700];
    test_path(csv, sizeof csv, "table.csv");
    test_path(npy, sizeof npy, "bright.npy");
    test_path(rgb, sizeof rgb, "rgb.npy");
    test_path(png, sizeof png, "never.png");
    test_write_text(csv, "a,b,label\n0.1,0.2,x\n0.3,0.4,y\n");
    float img[2 * 4 * 4] = {0}, col[2 * 4 * 4 * 3] = {0};
    img[5] = 2.0f;
    write_images(npy, img, 2, 4, 4, 0);
    write_images(rgb, col, 2, 4, 4, 3);

    snprintf(spec, sizeof spec, "csv:%s,label=label", csv);
    assert_one_error_line(run("augment '%s' --out '%s'", spec, png), "not images");
    snprintf(spec, sizeof spec, "npy:%s", npy);
    assert_one_error_line(run("augment '%s' --out '%s'", spec, png), "outside [0, 1]");
    snprintf(spec, sizeof spec, "npy:%s", rgb);
    assert_one_error_line(run("augment '%s' --out '%s'", spec, png), "3 channels");
    assert_one_error_line(run("augment npy:/nonexistent/x.npy --out '%s'", png), "x.npy");
    snprintf(spec, sizeof spec, "npy:%s", npy);
    assert_one_error_line(run("augment '%s' --strong-ops 11", spec), "--strong-ops");
    assert_one_error_line(run("augment '%s' --n 0", spec), "--n");
    struct stat st;
    assert_int_not_equal(stat(png, &st), 0); /* nothing written */
    /* an unwritable output: the error names it */
    float ok[2 * 4 * 4] = {0};
    write_images(npy, ok, 2, 4, 4, 0);
    assert_one_error_line(run("augment '%s' --out /nonexistent/dir/p.png", spec), "/nonexistent/dir/p.png");
    assert_int_equal(run("augment '%s' --bogus", spec), 2);
    assert_int_equal(run("augment"), 2);
    assert_int_equal(run("augment --help"), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preview_grid),
        cmocka_unit_test(test_preview_fashion),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
