#include "io/figure.h"

#include <cairo.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "io/atomic_file.h"

#define FONT_FAMILY "sans-serif"
#define LABEL_PX 13.0
#define TITLE_PX 15.0
#define TEXT_GRAY 0.13
#define RULE_GRAY 0.70

typedef struct layout {
    int scale, cell_w, cell_h, row_h;
    int label_w, title_h;
    int grid_x, grid_y; /* top-left of the first image cell */
    int width, height;
} layout;

static void set_label_font(cairo_t *cr) {
    cairo_select_font_face(cr, FONT_FAMILY, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, LABEL_PX);
}

static void set_title_font(cairo_t *cr) {
    cairo_select_font_face(cr, FONT_FAMILY, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, TITLE_PX);
}

static int64_t text_advance(cairo_t *cr, const char *s) {
    cairo_text_extents_t te;
    cairo_text_extents(cr, s, &te);
    double a = te.x_advance > te.x_bearing + te.width ? te.x_advance : te.x_bearing + te.width;
    return a > 0 ? (int64_t)ceil(a) : 0;
}

/* Checks the arguments that do not involve pixels and computes the layout; cr is any context
 * (used to measure text). `what` names the target in messages. */
static int compute_layout(cairo_t *cr, const char *what, int n_rows, int n_cols, int h, int w,
                          const char *const *row_labels, const char *title, int cond_col,
                          layout *L, gx_error *err) {
    if (n_rows < 1 || n_cols < 1)
        return gx_fail(err, "%s: image grid of %d x %d; expected at least one row and column",
                       what, n_rows, n_cols);
    if (h < 1 || w < 1)
        return gx_fail(err, "%s: images of %d x %d pixels; expected positive sizes", what, h, w);
    if (cond_col != 0 && cond_col != 1)
        return gx_fail(err, "%s: cond_col is %d; expected 0 or 1", what, cond_col);
    if (cond_col && n_cols < 2)
        return gx_fail(err, "%s: a condition column needs at least one more column (n_cols = %d)",
                       what, n_cols);
    int side = h > w ? h : w;
    int S = 64 / side;
    S = S < 1 ? 1 : S > 4 ? 4 : S;
    int64_t cell_w = (int64_t)w * S, cell_h = (int64_t)h * S;
    int64_t row_h = cell_h > GX_FIG_ROW_MIN ? cell_h : GX_FIG_ROW_MIN;

    int64_t label_w = 0;
    if (row_labels) {
        set_label_font(cr);
        int64_t widest = 0;
        for (int r = 0; r < n_rows; r++) {
            if (!row_labels[r] || !*row_labels[r]) continue;
            int64_t a = text_advance(cr, row_labels[r]);
            if (a > widest) widest = a;
        }
        label_w = widest + GX_FIG_LABEL_GAP;
    }
    int64_t title_h = 0, title_w = 0;
    if (title && *title) {
        set_title_font(cr);
        title_h = GX_FIG_TITLE_H;
        title_w = text_advance(cr, title);
    }
    int64_t grid_w = (int64_t)n_cols * cell_w + (int64_t)(n_cols - 1) * GX_FIG_SPACING +
                     (cond_col ? GX_FIG_COND_GAP : 0);
    int64_t grid_h = (int64_t)n_rows * row_h + (int64_t)(n_rows - 1) * GX_FIG_SPACING;
    int64_t W = 2 * GX_FIG_MARGIN + label_w + grid_w;
    if (2 * GX_FIG_MARGIN + title_w > W) W = 2 * GX_FIG_MARGIN + title_w;
    int64_t H = 2 * GX_FIG_MARGIN + title_h + grid_h;
    if (W > GX_FIG_MAX_SIDE || H > GX_FIG_MAX_SIDE)
        return gx_fail(err, "%s: figure of %lld x %lld pixels is too large (at most %d a side)",
                       what, (long long)W, (long long)H, GX_FIG_MAX_SIDE);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        return gx_fail(err, "%s: cairo: %s", what, cairo_status_to_string(cairo_status(cr)));
    L->scale = S;
    L->cell_w = (int)cell_w;
    L->cell_h = (int)cell_h;
    L->row_h = (int)row_h;
    L->label_w = (int)label_w;
    L->title_h = (int)title_h;
    L->grid_x = GX_FIG_MARGIN + (int)label_w;
    L->grid_y = GX_FIG_MARGIN + (int)title_h;
    L->width = (int)W;
    L->height = (int)H;
    return 0;
}

/* A context on a 1x1 surface, for measuring text. Both are released by the caller. */
static int measuring_context(cairo_surface_t **s, cairo_t **cr, const char *what, gx_error *err) {
    *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    *cr = cairo_create(*s);
    if (cairo_status(*cr) != CAIRO_STATUS_SUCCESS) {
        gx_fail(err, "%s: cairo: %s", what, cairo_status_to_string(cairo_status(*cr)));
        cairo_destroy(*cr);
        cairo_surface_destroy(*s);
        return -1;
    }
    return 0;
}

int gx_image_grid_size(int n_rows, int n_cols, int h, int w, const char *const *row_labels,
                       const char *title, int cond_col, int *width, int *height, gx_error *err) {
    cairo_surface_t *s;
    cairo_t *cr;
    if (measuring_context(&s, &cr, "image grid", err) != 0) return -1;
    layout L;
    int rc = compute_layout(cr, "image grid", n_rows, n_cols, h, w, row_labels, title, cond_col,
                            &L, err);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    if (rc == 0) {
        *width = L.width;
        *height = L.height;
    }
    return rc;
}

static uint32_t gray_pixel(float v) {
    if (!isfinite(v)) return 0xE02020u; /* non-finite: red, so that it shows */
    if (v < 0.0f) v = 0.0f;
    if (v > 1.0f) v = 1.0f;
    uint32_t g = (uint32_t)lrintf(v * 255.0f);
    return (g << 16) | (g << 8) | g;
}

/* Copies one h x w image, scaled S times, with its top-left corner at (x0, y0). */
static void blit(unsigned char *data, int stride, int x0, int y0, const float *img, int h, int w,
                 int S) {
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint32_t px = gray_pixel(img[(int64_t)y * w + x]);
            for (int dy = 0; dy < S; dy++) {
                uint32_t *line = (uint32_t *)(void *)(data + (int64_t)(y0 + y * S + dy) * stride);
                for (int dx = 0; dx < S; dx++) line[x0 + x * S + dx] = px;
            }
        }
    }
}

typedef struct png_sink {
    gx_atomic_file *af;
    gx_error *err;
    int failed;
} png_sink;

static cairo_status_t png_write(void *closure, const unsigned char *data, unsigned int len) {
    png_sink *sink = closure;
    if (gx_atomic_write(sink->af, data, len, sink->err) != 0) {
        sink->failed = 1;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    return CAIRO_STATUS_SUCCESS;
}

int gx_image_grid_png(const char *path, const float *const *rows, int n_rows, int n_cols, int h,
                      int w, const char *const *row_labels, const char *title, int cond_col,
                      gx_error *err) {
    const char *what = path ? path : "(null)";
    if (!rows) return gx_fail(err, "%s: no images (rows is NULL)", what);
    for (int r = 0; r < n_rows; r++)
        if (!rows[r]) return gx_fail(err, "%s: no images for row %d", what, r);

    cairo_surface_t *ms;
    cairo_t *mcr;
    if (measuring_context(&ms, &mcr, what, err) != 0) return -1;
    layout L;
    int rc = compute_layout(mcr, what, n_rows, n_cols, h, w, row_labels, title, cond_col, &L, err);
    cairo_destroy(mcr);
    cairo_surface_destroy(ms);
    if (rc != 0) return -1;

    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, L.width, L.height);
    cairo_t *cr = cairo_create(surf);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        rc = gx_fail(err, "%s: cairo: %s", what, cairo_status_to_string(cairo_status(cr)));
        goto done;
    }
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);

    /* Pixels straight into the surface (nearest neighbour, no filtering). */
    cairo_surface_flush(surf);
    unsigned char *data = cairo_image_surface_get_data(surf);
    int stride = cairo_image_surface_get_stride(surf);
    const int64_t img_px = (int64_t)h * w;
    for (int r = 0; r < n_rows; r++) {
        int y0 = L.grid_y + r * (L.row_h + GX_FIG_SPACING) + (L.row_h - L.cell_h) / 2;
        for (int c = 0; c < n_cols; c++) {
            int x0 = L.grid_x + c * (L.cell_w + GX_FIG_SPACING) +
                     (cond_col && c > 0 ? GX_FIG_COND_GAP : 0);
            blit(data, stride, x0, y0, rows[r] + c * img_px, h, w, L.scale);
        }
    }
    cairo_surface_mark_dirty(surf);

    if (cond_col) { /* a thin rule in the middle of the gap after the condition column */
        int gap_x = L.grid_x + L.cell_w + GX_FIG_SPACING / 2 + GX_FIG_COND_GAP / 2;
        int grid_h = n_rows * L.row_h + (n_rows - 1) * GX_FIG_SPACING;
        cairo_set_source_rgb(cr, RULE_GRAY, RULE_GRAY, RULE_GRAY);
        cairo_set_line_width(cr, 1.0);
        cairo_move_to(cr, gap_x + 0.5, L.grid_y);
        cairo_line_to(cr, gap_x + 0.5, L.grid_y + grid_h);
        cairo_stroke(cr);
    }

    cairo_set_source_rgb(cr, TEXT_GRAY, TEXT_GRAY, TEXT_GRAY);
    if (row_labels) {
        set_label_font(cr);
        cairo_font_extents_t fe;
        cairo_font_extents(cr, &fe);
        for (int r = 0; r < n_rows; r++) {
            if (!row_labels[r] || !*row_labels[r]) continue;
            double mid = L.grid_y + r * (L.row_h + GX_FIG_SPACING) + L.row_h / 2.0;
            cairo_move_to(cr, GX_FIG_MARGIN, round(mid + (fe.ascent - fe.descent) / 2.0));
            cairo_show_text(cr, row_labels[r]);
        }
    }
    if (title && *title) {
        set_title_font(cr);
        cairo_font_extents_t fe;
        cairo_font_extents(cr, &fe);
        cairo_text_extents_t te;
        cairo_text_extents(cr, title, &te);
        double x = floor((L.width - te.x_advance) / 2.0);
        if (x < GX_FIG_MARGIN) x = GX_FIG_MARGIN;
        double mid = GX_FIG_MARGIN + (L.title_h - 6) / 2.0;
        cairo_move_to(cr, x, round(mid + (fe.ascent - fe.descent) / 2.0));
        cairo_show_text(cr, title);
    }
    cairo_surface_flush(surf);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        rc = gx_fail(err, "%s: cairo: %s", what, cairo_status_to_string(cairo_status(cr)));
        goto done;
    }

    gx_atomic_file *af;
    if (gx_atomic_open(path, &af, err) != 0) {
        rc = -1;
        goto done;
    }
    png_sink sink = {af, err, 0};
    cairo_status_t st = cairo_surface_write_to_png_stream(surf, png_write, &sink);
    if (st != CAIRO_STATUS_SUCCESS) {
        gx_atomic_abort(af);
        rc = sink.failed ? -1 : gx_fail(err, "%s: writing PNG: %s", what,
                                        cairo_status_to_string(st));
        goto done;
    }
    rc = gx_atomic_commit(af, err);
done:
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
    return rc;
}
