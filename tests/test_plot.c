/* Tests for the plots of io/figure (scatter, line panels, confusion matrix) and for `genxfer plot`:
 * PNG signature and size against the *_size functions, colours found in the pixels (legend
 * samples, lines, heatmap cells), sizes that follow the text, bad arguments, atomic output, and
 * the command end to end on a run folder written here (binary: $GENXFER_BIN, else
 * build/genxfer). Set GX_PLOT_SAMPLE=DIR to keep sample PNGs there. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cairo.h>
#include <cmocka.h>

#include "io/figure.h"
#include "test_cli_util.h"
#include "test_fs_util.h"

/* Where a sample goes: $GX_PLOT_SAMPLE/name when set, else the scratch directory. */
static char *out_path(char *buf, size_t n, const char *name) {
    const char *dir = getenv("GX_PLOT_SAMPLE");
    if (dir && *dir) snprintf(buf, n, "%s/%s", dir, name);
    else test_path(buf, n, name);
    return buf;
}

/* Number of pixels of a decoded PNG exactly of colour rgb (0xRRGGBB) in the box [x0,x1)x[y0,y1)
 * (clipped to the image). */
static long count_rgb(cairo_surface_t *s, uint32_t rgb, int x0, int y0, int x1, int y1) {
    const unsigned char *d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s), W = cairo_image_surface_get_width(s),
        H = cairo_image_surface_get_height(s);
    long n = 0;
    for (int y = y0 < 0 ? 0 : y0; y < (y1 > H ? H : y1); y++)
        for (int x = x0 < 0 ? 0 : x0; x < (x1 > W ? W : x1); x++) {
            uint32_t px = *(const uint32_t *)(const void *)(d + (size_t)y * stride + (size_t)x * 4);
            n += (px & 0xFFFFFFu) == rgb;
        }
    return n;
}

/* Number of pixels that are not gray (markers, not text, grid or axes) in [x0,x1)x[y0,y1). */
static long count_coloured(cairo_surface_t *s, int x0, int y0, int x1, int y1) {
    const unsigned char *d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    long n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            uint32_t px = *(const uint32_t *)(const void *)(d + (size_t)y * stride + (size_t)x * 4);
            uint32_t r = px >> 16 & 255, g = px >> 8 & 255, b = px & 255;
            n += r != g || g != b;
        }
    return n;
}

static uint32_t palette_hex(int i) {
    double c[3];
    gx_palette_rgb(i, c);
    return (uint32_t)lrint(c[0] * 255) << 16 | (uint32_t)lrint(c[1] * 255) << 8 |
           (uint32_t)lrint(c[2] * 255);
}

static cairo_surface_t *load_png(const char *path) {
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    return s;
}

/* count_rgb over the columns [0, x1) of the PNG at path. */
static long count_in_png(const char *path, uint32_t rgb, int x1) {
    cairo_surface_t *s = load_png(path);
    long n = count_rgb(s, rgb, 0, 0, x1, cairo_image_surface_get_height(s));
    cairo_surface_destroy(s);
    return n;
}

/* ---- scatter --------------------------------------------------------------------------------- */

enum { NS = 2000 };
static float sx[NS], sy[NS];
static int32_t scls[NS], sgrp[NS];
static const char *const digit_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *const domain_names[2] = {"mnist", "usps"};

/* 10 classes around a circle, 2 domains slightly shifted. */
static void make_scatter_data(void) {
    uint64_t s = 3;
    for (int i = 0; i < NS; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(s >> 11) / 9007199254740992.0;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double v = (double)(s >> 11) / 9007199254740992.0;
        scls[i] = i % 10;
        sgrp[i] = (i / 10) % 2;
        double a = scls[i] * 0.6283;
        sx[i] = (float)(40 * cos(a) + 12 * (u - 0.5) + 3 * sgrp[i]);
        sy[i] = (float)(40 * sin(a) + 12 * (v - 0.5) - 2 * sgrp[i]);
    }
}

static void test_scatter(void **state) {
    (void)state;
    make_scatter_data();
    char path[700];
    out_path(path, sizeof path, "scatter.png");
    gx_error err = {{0}};
    assert_int_equal(gx_scatter_png(path, sx, sy, NS, scls, 10, digit_names, sgrp, 2, domain_names,
                                     "latent space", "PC1", "PC2", &err), 0);
    int W, H, w2, h2;
    png_size(path, &W, &H);
    assert_int_equal(gx_scatter_size(sx, sy, NS, scls, 10, digit_names, sgrp, 2, domain_names,
                                     "latent space", "PC1", "PC2", &w2, &h2, &err), 0);
    assert_int_equal(W, w2);
    assert_int_equal(H, h2);
    /* the plot area plus tick labels, axis labels, a legend at the right and a title */
    assert_true(W > GX_SCATTER_PLOT_SIDE + 60 + 40 && W < GX_SCATTER_PLOT_SIDE + 300);
    assert_true(H > GX_SCATTER_PLOT_SIDE + 40 && H < GX_SCATTER_PLOT_SIDE + 150);

    cairo_surface_t *s = load_png(path);
    assert_int_equal(count_rgb(s, 0xFFFFFF, 0, 0, 3, 3), 9); /* white background */
    /* every class colour at full strength in the legend (right of the plot area), and many
     * coloured marker pixels (semi-transparent, blended) at its left */
    for (int c = 0; c < 10; c++)
        assert_true(count_rgb(s, palette_hex(c), W - 150, 0, W, H) >= 9);
    assert_true(count_coloured(s, 0, 0, W - 150, H) > 15000);
    cairo_surface_destroy(s);

    /* no classes and no groups: no legend, a narrower figure */
    int W0, H0;
    assert_int_equal(gx_scatter_size(sx, sy, NS, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL,
                                     &W0, &H0, &err), 0);
    assert_true(W0 < W - 50);
    assert_true(H0 < H);
    char p2[700];
    test_path(p2, sizeof p2, "scatter-plain.png");
    assert_int_equal(gx_scatter_png(p2, sx, sy, NS, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL,
                                    &err), 0);
    png_size(p2, &w2, &h2);
    assert_int_equal(w2, W0);
    assert_int_equal(h2, H0);

    /* a long class name widens the legend */
    const char *long_names[10] = {"a much longer class name", "1", "2", "3", "4", "5", "6", "7",
                                  "8", NULL};
    assert_int_equal(gx_scatter_size(sx, sy, NS, scls, 10, long_names, sgrp, 2, domain_names,
                                     "latent space", "PC1", "PC2", &w2, &h2, &err), 0);
    assert_true(w2 > W + 60);
    assert_int_equal(h2, H);
}

/* Many classes: the legend takes more columns; non-finite points are skipped. */
static void test_scatter_many_classes_and_nan(void **state) {
    (void)state;
    make_scatter_data();
    int32_t cls[NS];
    for (int i = 0; i < NS; i++) cls[i] = i % 40;
    gx_error err = {{0}};
    int W10, W40, H;
    assert_int_equal(gx_scatter_size(sx, sy, NS, scls, 10, NULL, NULL, 0, NULL, NULL, NULL, NULL,
                                     &W10, &H, &err), 0);
    assert_int_equal(gx_scatter_size(sx, sy, NS, cls, 40, NULL, NULL, 0, NULL, NULL, NULL, NULL,
                                     &W40, &H, &err), 0);
    assert_true(W40 > W10 + 20); /* 40 rows do not fit in 520 px: two columns */

    float x[4] = {NAN, 1, 2, INFINITY}, y[4] = {0, 1, 3, 0};
    char path[700];
    test_path(path, sizeof path, "nan.png");
    assert_int_equal(gx_scatter_png(path, x, y, 4, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL,
                                    &err), 0);
    /* one point: its range is widened around it */
    assert_int_equal(gx_scatter_png(path, x + 1, y + 1, 1, NULL, 0, NULL, NULL, 0, NULL, "one",
                                    NULL, NULL, &err), 0);
    float xn[2] = {NAN, NAN};
    assert_int_equal(gx_scatter_png(path, xn, y, 2, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL,
                                    &err), -1);
    assert_msg_contains(err.msg, "finite");
}

static void test_scatter_bad_arguments(void **state) {
    (void)state;
    char dir[600], path[700];
    fresh_dir(dir, sizeof dir, "scatter-bad");
    snprintf(path, sizeof path, "%s/x.png", dir);
    float x[4] = {0, 1, 2, 3}, y[4] = {0, 1, 0, 1};
    int32_t cls[4] = {0, 1, 2, 1}, grp[4] = {0, 0, 1, 0};
    gx_error err = {{0}};
    assert_int_equal(gx_scatter_png(path, x, y, 0, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL,
                                    &err), -1);
    assert_msg_contains(err.msg, path);
    assert_int_equal(gx_scatter_png(path, NULL, y, 4, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL,
                                    NULL, &err), -1);
    assert_int_equal(gx_scatter_png(path, x, y, 4, cls, 2, NULL, NULL, 0, NULL, NULL, NULL, NULL,
                                    &err), -1);
    assert_msg_contains(err.msg, "point 2 has class 2");
    assert_int_equal(gx_scatter_png(path, x, y, 4, cls, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL,
                                    &err), -1);
    assert_int_equal(gx_scatter_png(path, x, y, 4, cls, 3, NULL, grp, 1, NULL, NULL, NULL, NULL,
                                    &err), -1);
    assert_msg_contains(err.msg, "point 2 has group 1");
    assert_int_equal(gx_scatter_png(NULL, x, y, 4, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL,
                                    &err), -1);
    assert_int_equal(count_entries(dir), 0);
    snprintf(path, sizeof path, "%s/missing/x.png", dir);
    assert_int_equal(gx_scatter_png(path, x, y, 4, cls, 3, NULL, grp, 2, NULL, NULL, NULL, NULL,
                                    &err), -1);
    assert_msg_contains(err.msg, path);
    assert_int_equal(count_entries(dir), 0);
}

/* Marks over the points: opaque class-coloured stars with labels, a legend entry, the axes'
 * range widened to show them, and their errors. */
static void test_scatter_marks(void **state) {
    (void)state;
    make_scatter_data();
    float mx[10], my[10];
    int32_t mcls[10];
    for (int k = 0; k < 10; k++) { /* the class centres of make_scatter_data */
        mx[k] = (float)(40 * cos(k * 0.6283));
        my[k] = (float)(40 * sin(k * 0.6283));
        mcls[k] = k;
    }
    gx_scatter_marks mk = {mx, my, 10, mcls, digit_names, "component means"};
    char plain[700], marked[700];
    test_path(plain, sizeof plain, "marks-plain.png");
    out_path(marked, sizeof marked, "scatter-marks.png");
    gx_error err = {{0}};
    assert_int_equal(gx_scatter_png(plain, sx, sy, NS, scls, 10, digit_names, sgrp, 2,
                                    domain_names, "latent", "PC1", "PC2", &err), 0);
    assert_int_equal(gx_scatter_marked_png(marked, sx, sy, NS, scls, 10, digit_names, sgrp, 2,
                                           domain_names, &mk, "latent", "PC1", "PC2", &err), 0);
    int W0, H0, W, H, w2, h2;
    png_size(plain, &W0, &H0);
    png_size(marked, &W, &H);
    assert_int_equal(gx_scatter_marked_size(sx, sy, NS, scls, 10, digit_names, sgrp, 2,
                                            domain_names, &mk, "latent", "PC1", "PC2", &w2, &h2,
                                            &err), 0);
    assert_int_equal(W, w2);
    assert_int_equal(H, h2);
    assert_true(W > W0 + 40); /* the legend entry "component means" is wider than the others */
    assert_int_equal(H, H0);
    /* the same axes (the marks lie inside the data): each class colour, opaque, covers many more
     * pixels of the plot area with its star than without */
    int px = W0 - 100; /* the plain legend (0..9, mnist, usps) is narrower than 100 px */
    for (int k = 0; k < 10; k++)
        assert_true(count_in_png(marked, palette_hex(k), px) >
                    count_in_png(plain, palette_hex(k), px) + 30);
    /* the labels add dark text */
    long text_with = count_in_png(marked, 0x212121, px);
    mk.labels = NULL;
    assert_int_equal(gx_scatter_marked_png(marked, sx, sy, NS, scls, 10, digit_names, sgrp, 2,
                                           domain_names, &mk, "latent", "PC1", "PC2", &err), 0);
    assert_true(text_with > count_in_png(marked, 0x212121, px) + 20);

    /* a mark far from the points widens the axes so that it is drawn in full: its colour (1, the
     * points are 0) shows beside the legend's disc */
    float x[3] = {0, 1, 0.5f}, y[3] = {0, 1, 0.2f}, fx[1] = {100}, fy[1] = {-100};
    int32_t c3[3] = {0, 0, 0}, c1[1] = {1};
    char far[700];
    test_path(far, sizeof far, "marks-far.png");
    gx_scatter_marks one = {fx, fy, 1, c1, NULL, NULL};
    assert_int_equal(gx_scatter_png(far, x, y, 3, c3, 2, NULL, NULL, 0, NULL, NULL, NULL, NULL,
                                    &err), 0);
    long legend_only = count_in_png(far, palette_hex(1), INT32_MAX);
    assert_int_equal(gx_scatter_marked_png(far, x, y, 3, c3, 2, NULL, NULL, 0, NULL, &one, NULL,
                                           NULL, NULL, &err), 0);
    assert_true(count_in_png(far, palette_hex(1), INT32_MAX) > legend_only + 30);

    /* errors name the mark; nothing is written */
    char dir[600], bad[700];
    fresh_dir(dir, sizeof dir, "marks-bad");
    snprintf(bad, sizeof bad, "%s/x.png", dir);
    mcls[3] = 10;
    mk.labels = digit_names;
    assert_int_equal(gx_scatter_marked_png(bad, sx, sy, NS, scls, 10, NULL, NULL, 0, NULL, &mk,
                                           NULL, NULL, NULL, &err), -1);
    assert_msg_contains(err.msg, "mark 3 has class 10");
    mcls[3] = 3;
    assert_int_equal(gx_scatter_marked_png(bad, sx, sy, NS, NULL, 0, NULL, NULL, 0, NULL, &mk,
                                           NULL, NULL, NULL, &err), -1);
    assert_msg_contains(err.msg, "the points have none");
    mk.n = 0;
    assert_int_equal(gx_scatter_marked_png(bad, sx, sy, NS, scls, 10, NULL, NULL, 0, NULL, &mk,
                                           NULL, NULL, NULL, &err), -1);
    assert_msg_contains(err.msg, "0 marks");
    mk.n = 10;
    mk.y = NULL;
    assert_int_equal(gx_scatter_marked_size(sx, sy, NS, scls, 10, NULL, NULL, 0, NULL, &mk, NULL,
                                            NULL, NULL, &w2, &h2, &err), -1);
    assert_msg_contains(err.msg, "marks: x or y is NULL");
    assert_int_equal(count_entries(dir), 0);
}

/* ---- line panels ----------------------------------------------------------------------------- */

static double ep[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static double loss_y[8] = {800, 620, 540, 500, 470, 450, 440, 430};
static double el_y[8] = {-180, -160, -150, -140, -135, -130, -128, -126};
static double eu_y[8] = {-175, -165, -150, -145, -140, -138, -136, -133};
static double acc_y[8] = {0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.975, 0.98};
static double val_y[8] = {-1, -1, 0.85, 0.86, NAN, 0.88, 0.885, 0.89};
static double none_y[8] = {-1, -1, -1, -1, -1, -1, -1, -1};

static void test_panels(void **state) {
    (void)state;
    gx_plot_series left[1] = {{"loss", ep, loss_y, 8, 0}};
    gx_plot_series mid[2] = {{"labelled", ep, el_y, 8, 0}, {"unlabelled", ep, eu_y, 8, 0}};
    gx_plot_series right[3] = {{"train", ep, acc_y, 8, 1},
                               {"validation mnist", ep, val_y, 8, 1},
                               {"validation usps", ep, none_y, 8, 1}};
    const gx_plot_series *two[2] = {left, right};
    int n_two[2] = {1, 3};
    const char *titles[2] = {"objective", "accuracy"}, *ylabels[2] = {"loss", "fraction"};
    char path[700];
    out_path(path, sizeof path, "panels.png");
    gx_error err = {{0}};
    assert_int_equal(gx_panels_png(path, "learning curves", 2, titles, ylabels, "epoch", two,
                                   n_two, &err), 0);
    int W, H, w2, h2;
    png_size(path, &W, &H);
    assert_int_equal(gx_panels_size("learning curves", 2, titles, ylabels, "epoch", two, n_two, &w2,
                                    &h2, &err), 0);
    assert_int_equal(W, w2);
    assert_int_equal(H, h2);
    /* side by side: two plot areas wide, one high */
    assert_true(W > 2 * GX_PANEL_PLOT_W + 80 && W < 2 * GX_PANEL_PLOT_W + 300);
    assert_true(H > GX_PANEL_PLOT_H + 60 && H < GX_PANEL_PLOT_H + 200);
    /* the lines: colour 0 in both panels, colour 1 (validation) in the right one only; the
     * series without a point (colour 2) is drawn nowhere and left out of the legend */
    cairo_surface_t *s = load_png(path);
    assert_true(count_rgb(s, palette_hex(0), 0, 0, W / 2, H) > 50);
    assert_true(count_rgb(s, palette_hex(0), W / 2, 0, W, H) > 50);
    assert_true(count_rgb(s, palette_hex(1), W / 2, 0, W, H) > 30);
    assert_int_equal(count_rgb(s, palette_hex(1), 0, 0, W / 2, H), 0);
    assert_int_equal(count_rgb(s, palette_hex(2), 0, 0, W, H), 0);
    cairo_surface_destroy(s);

    /* four panels: two rows */
    const gx_plot_series *four[4] = {left, mid, left, right};
    int n_four[4] = {1, 2, 1, 3};
    int W4, H4;
    out_path(path, sizeof path, "panels4.png");
    assert_int_equal(gx_panels_png(path, NULL, 4, NULL, NULL, "epoch", four, n_four, &err), 0);
    png_size(path, &W4, &H4);
    assert_int_equal(gx_panels_size(NULL, 4, NULL, NULL, "epoch", four, n_four, &w2, &h2, &err), 0);
    assert_int_equal(W4, w2);
    assert_int_equal(H4, h2);
    assert_true(H4 > 2 * GX_PANEL_PLOT_H + 60);

    /* one panel through gx_line_plot_png; a panel with nothing to draw */
    out_path(path, sizeof path, "line.png");
    assert_int_equal(gx_line_plot_png(path, "ELBO", "epoch", "nats", mid, 2, &err), 0);
    png_size(path, &W, &H);
    assert_true(W > GX_PANEL_PLOT_W + 40 && W < GX_PANEL_PLOT_W + 200);
    gx_plot_series nothing[1] = {{"none", ep, none_y, 8, 1}};
    assert_int_equal(gx_line_plot_png(path, NULL, NULL, NULL, nothing, 1, &err), 0);
    assert_int_equal(gx_line_plot_png(path, NULL, NULL, NULL, NULL, 0, &err), 0);
    /* a single point */
    gx_plot_series one[1] = {{"one", ep, loss_y, 1, 0}};
    assert_int_equal(gx_line_plot_png(path, NULL, "epoch", NULL, one, 1, &err), 0);
}

static void test_panels_bad_arguments(void **state) {
    (void)state;
    char dir[600], path[700];
    fresh_dir(dir, sizeof dir, "panels-bad");
    snprintf(path, sizeof path, "%s/x.png", dir);
    gx_plot_series ok[1] = {{"a", ep, loss_y, 8, 0}};
    const gx_plot_series *all[17];
    int ns[17];
    for (int i = 0; i < 17; i++) all[i] = ok, ns[i] = 1;
    gx_error err = {{0}};
    assert_int_equal(gx_panels_png(path, NULL, 0, NULL, NULL, NULL, all, ns, &err), -1);
    assert_msg_contains(err.msg, "panels");
    assert_int_equal(gx_panels_png(path, NULL, 17, NULL, NULL, NULL, all, ns, &err), -1);
    assert_int_equal(gx_panels_png(path, NULL, 1, NULL, NULL, NULL, NULL, ns, &err), -1);
    ns[0] = -1;
    assert_int_equal(gx_panels_png(path, NULL, 1, NULL, NULL, NULL, all, ns, &err), -1);
    ns[0] = 1;
    gx_plot_series bad[1] = {{"b", NULL, loss_y, 8, 0}};
    assert_int_equal(gx_line_plot_png(path, NULL, NULL, NULL, bad, 1, &err), -1);
    assert_msg_contains(err.msg, "series 0 (b)");
    double huge[2] = {-1e308, 1e308};
    gx_plot_series inf_range[1] = {{"h", ep, huge, 2, 0}};
    assert_int_equal(gx_line_plot_png(path, NULL, NULL, NULL, inf_range, 1, &err), -1);
    assert_msg_contains(err.msg, "cannot be drawn");
    assert_int_equal(count_entries(dir), 0);
    snprintf(path, sizeof path, "%s/missing/x.png", dir);
    assert_int_equal(gx_line_plot_png(path, NULL, NULL, NULL, ok, 1, &err), -1);
    assert_msg_contains(err.msg, path);
    assert_int_equal(count_entries(dir), 0);
}

/* ---- confusion matrix ------------------------------------------------------------------------ */

#define DARKEST 0x08306Bu /* the end of the white-to-blue ramp */

static void test_confusion(void **state) {
    (void)state;
    /* rows normalised: both diagonal cells are 100% of their row whatever their counts, so both
     * are the darkest blue (56 x 56 cells for K = 2, less the white separator and the text) */
    int64_t C2[4] = {10, 0, 0, 1000};
    char path[700];
    out_path(path, sizeof path, "confusion2.png");
    gx_error err = {{0}};
    assert_int_equal(gx_confusion_png(path, C2, 2, NULL, "two classes", &err), 0);
    int W, H, w2, h2;
    png_size(path, &W, &H);
    assert_int_equal(gx_confusion_size(C2, 2, NULL, "two classes", &w2, &h2, &err), 0);
    assert_int_equal(W, w2);
    assert_int_equal(H, h2);
    cairo_surface_t *s = load_png(path);
    long dark = count_rgb(s, DARKEST, 0, 0, W, H);
    assert_true(dark > 2 * 50 * 50 && dark < 2 * 56 * 56);
    /* white counts on the dark cells */
    assert_true(count_rgb(s, 0xFFFFFF, 0, 0, W, H) > 0);
    cairo_surface_destroy(s);

    /* a row without examples stays white; 1 of 4 is light, 3 of 4 darker, no cell the darkest */
    int64_t C3[4] = {0, 0, 1, 3};
    out_path(path, sizeof path, "confusion-empty-row.png");
    assert_int_equal(gx_confusion_png(path, C3, 2, NULL, NULL, &err), 0);
    s = load_png(path);
    png_size(path, &W, &H);
    assert_int_equal(count_rgb(s, DARKEST, 0, 0, W, H), 0);
    cairo_surface_destroy(s);

    /* ten classes with long names: the column names are turned, so the figure is taller */
    int64_t C10[100];
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 10; j++) C10[i * 10 + j] = i == j ? 900 + i : (i + 2 * j) % 7;
    const char *fashion[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    int Ws, Hs, Wl, Hl;
    assert_int_equal(gx_confusion_size(C10, 10, NULL, NULL, &Ws, &Hs, &err), 0);
    out_path(path, sizeof path, "confusion10.png");
    assert_int_equal(gx_confusion_png(path, C10, 10, fashion, "fashion", &err), 0);
    png_size(path, &Wl, &Hl);
    assert_int_equal(gx_confusion_size(C10, 10, fashion, "fashion", &w2, &h2, &err), 0);
    assert_int_equal(Wl, w2);
    assert_int_equal(Hl, h2);
    assert_true(Hl > Hs + 40);
    assert_true(Wl > Ws + 40);
    /* 10 x 48-px cells */
    assert_true(Ws > 480 && Ws < 480 + 200);

    /* many classes: small cells, still drawn */
    enum { K = 60 };
    int64_t *CK = calloc(K * K, sizeof *CK);
    assert_non_null(CK);
    for (int i = 0; i < K; i++) CK[i * K + i] = 123456;
    test_path(path, sizeof path, "confusion60.png");
    assert_int_equal(gx_confusion_png(path, CK, K, NULL, NULL, &err), 0);
    png_size(path, &W, &H);
    assert_true(W > K * 14);
    free(CK);
}

static void test_confusion_bad_arguments(void **state) {
    (void)state;
    char dir[600], path[700];
    fresh_dir(dir, sizeof dir, "confusion-bad");
    snprintf(path, sizeof path, "%s/x.png", dir);
    int64_t C[4] = {1, 2, -3, 4};
    gx_error err = {{0}};
    assert_int_equal(gx_confusion_png(path, C, 2, NULL, NULL, &err), -1);
    assert_msg_contains(err.msg, "row 1, column 0");
    assert_msg_contains(err.msg, path);
    assert_int_equal(gx_confusion_png(path, C, 0, NULL, NULL, &err), -1);
    assert_int_equal(gx_confusion_png(path, NULL, 2, NULL, NULL, &err), -1);
    int w, h;
    assert_int_equal(gx_confusion_size(C, 1001, NULL, NULL, &w, &h, &err), -1);
    assert_int_equal(count_entries(dir), 0);

    /* an existing file is replaced only by a complete figure */
    test_write_text(path, "old");
    assert_int_equal(gx_confusion_png(path, C, 2, NULL, NULL, &err), -1);
    char *old = slurp(path);
    assert_string_equal(old, "old");
    free(old);
    C[2] = 3;
    assert_int_equal(gx_confusion_png(path, C, 2, NULL, NULL, &err), 0);
    png_size(path, &w, &h);
    assert_int_equal(count_entries(dir), 1);
}

/* ---- genxfer plot ---------------------------------------------------------------------------- */

static const char *LOG_CSV =
    "epoch,step,loss,elbo_labelled,elbo_unlabelled,cross_entropy,train_accuracy,"
    "confident_fraction,lr,kl_weight,val_accuracy_mnist,val_accuracy_usps,seconds\n"
    "1,600,1853.7,-175.459,-169.592,0.251441,0.924967,0.5,0.001,1,0.8,-1,28.054\n"
    "2,1200,1088.97,-148.481,-149.169,0.131887,0.9598,0.6,0.001,1,0.85,-1,31.465\n"
    "3,1800,900.5,-140.1,-141.2,0.1,0.97,0.7,0.001,1,0.87,-1,30.1\n";

static const char *METRICS_JSON =
    "{\"accuracy\": 0.75, \"macro_f1\": 0.7, \"n\": 8,\n"
    " \"classes\": [{\"name\": \"star\", \"support\": 4}, {\"name\": \"quasar\"}, {\"name\": \"galaxy\"}],\n"
    " \"confusion\": [[3, 1, 0], [0, 2, 0], [1, 0, 1]],\n"
    " \"command\": \"train\", \"test_data\": \"csv:test.csv\"}\n";

static void write_run(const char *dir, const char *log, const char *json) {
    char p[700];
    mkdir(dir, 0777);
    if (log) {
        snprintf(p, sizeof p, "%s/train_log.csv", dir);
        test_write_text(p, "%s", log);
    }
    if (json) {
        snprintf(p, sizeof p, "%s/metrics.json", dir);
        test_write_text(p, "%s", json);
    }
}

static void assert_png(const char *dir, const char *name, int min_w, int min_h) {
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int W, H;
    png_size(p, &W, &H);
    assert_true(W >= min_w);
    assert_true(H >= min_h);
}

static void test_cli_plot(void **state) {
    (void)state;
    char run_dir[600], other[600];
    test_path(run_dir, sizeof run_dir, "run1");
    write_run(run_dir, LOG_CSV, METRICS_JSON);
    int rc = run("plot '%s'", run_dir);
    char *out = slurp(OUT);
    if (rc != 0) {
        char *e = slurp(ERR);
        print_error("exit %d, stderr:\n%s\n", rc, e);
        free(e);
    }
    assert_int_equal(rc, 0);
    assert_contains(out, "learning_curves.png (3 epochs)");
    assert_contains(out, "confusion.png (3 classes)");
    free(out);
    assert_png(run_dir, "learning_curves.png", 2 * GX_PANEL_PLOT_W, 2 * GX_PANEL_PLOT_H);
    assert_png(run_dir, "confusion.png", 3 * 56, 3 * 56);

    /* --out elsewhere, --title; the figures land there only */
    fresh_dir(other, sizeof other, "plots");
    assert_int_equal(run("plot --out '%s' --title 'my run' '%s/'", other, run_dir), 0);
    assert_int_equal(count_entries(other), 2);
    assert_png(other, "learning_curves.png", 2 * GX_PANEL_PLOT_W, 2 * GX_PANEL_PLOT_H);

    /* a log with only some columns, blank values and an unfinished last line; metrics without a
     * confusion matrix (a run without --test) */
    test_path(run_dir, sizeof run_dir, "run2");
    write_run(run_dir, "epoch,loss,val_accuracy_a\n1,5,-1\n2,,0.5\n3,3,0.6\n4,2.5", "{\"seed\": 1}");
    assert_int_equal(run("plot '%s'", run_dir), 0);
    out = slurp(OUT);
    assert_contains(out, "(3 epochs)");
    assert_contains(out, "confusion matrix: none");
    free(out);
    assert_png(run_dir, "learning_curves.png", 2 * GX_PANEL_PLOT_W, GX_PANEL_PLOT_H);

    /* only metrics.json */
    test_path(run_dir, sizeof run_dir, "run3");
    write_run(run_dir, NULL, METRICS_JSON);
    assert_int_equal(run("plot '%s'", run_dir), 0);
    assert_int_equal(count_entries(run_dir), 2);
}

static void test_cli_plot_errors(void **state) {
    (void)state;
    char run_dir[600], p[700];
    /* usage errors: exit 2 */
    assert_int_equal(run("plot"), 2);
    assert_int_equal(run("plot --bogus x"), 2);
    assert_int_equal(run("plot a b"), 2);
    assert_int_equal(run("plot --out"), 2);
    /* help: every option with its default */
    assert_int_equal(run("plot --help"), 0);
    char *out = slurp(OUT);
    assert_contains(out, "--out DIR");
    assert_contains(out, "[RUN_DIR]");
    assert_contains(out, "--title TEXT");
    assert_contains(out, "[the name of RUN_DIR]");
    free(out);

    test_path(p, sizeof p, "no-such-run");
    assert_one_error_line(run("plot '%s'", p), "no-such-run");
    /* an empty folder */
    fresh_dir(run_dir, sizeof run_dir, "empty-run");
    assert_one_error_line(run("plot '%s'", run_dir), "neither train_log.csv nor metrics.json");
    /* a malformed line in the middle */
    test_path(run_dir, sizeof run_dir, "bad-log");
    write_run(run_dir, "epoch,loss\n1,2\n2,x\n3,4\n", NULL);
    assert_one_error_line(run("plot '%s'", run_dir), "train_log.csv: line 3: column loss");
    write_run(run_dir, "epoch,loss\n1,2\n2\n3,4\n", NULL);
    assert_one_error_line(run("plot '%s'", run_dir), "line 3: 1 fields");
    write_run(run_dir, "epoch,seconds\n1,2\n", NULL);
    assert_one_error_line(run("plot '%s'", run_dir), "none of the columns");
    write_run(run_dir, "epoch,loss\n", NULL);
    assert_one_error_line(run("plot '%s'", run_dir), "no data rows");
    /* bad metrics.json */
    test_path(run_dir, sizeof run_dir, "bad-json");
    write_run(run_dir, NULL, "{\"confusion\": [[1, 2], [3]]}");
    assert_one_error_line(run("plot '%s'", run_dir), "row 1");
    write_run(run_dir, NULL, "{\"confusion\": [[1, 2], [3, -4]]}");
    assert_one_error_line(run("plot '%s'", run_dir), "row 1, column 1 is not a count");
    write_run(run_dir, NULL, "{\"confusion\": [[1]], \"classes\": [\"a\", \"b\"]}");
    assert_one_error_line(run("plot '%s'", run_dir), "\"classes\"");
    write_run(run_dir, NULL, "{\"confusion\": ");
    assert_one_error_line(run("plot '%s'", run_dir), "not a JSON object");
    write_run(run_dir, NULL, "{\"seed\": 1}");
    assert_one_error_line(run("plot '%s'", run_dir), "no confusion matrix");
    /* --out must exist */
    write_run(run_dir, NULL, METRICS_JSON);
    assert_one_error_line(run("plot --out '%s/nope' '%s'", run_dir, run_dir), "nope");
}

/* cairo keeps font caches for the life of the process; release them so LeakSanitizer sees none. */
static int teardown(void **state) {
    (void)state;
    cairo_debug_reset_static_data();
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scatter),
        cmocka_unit_test(test_scatter_many_classes_and_nan),
        cmocka_unit_test(test_scatter_bad_arguments),
        cmocka_unit_test(test_scatter_marks),
        cmocka_unit_test(test_panels),
        cmocka_unit_test(test_panels_bad_arguments),
        cmocka_unit_test(test_confusion),
        cmocka_unit_test(test_confusion_bad_arguments),
        cmocka_unit_test(test_cli_plot),
        cmocka_unit_test(test_cli_plot_errors),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
