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
    int col_w;          /* column pitch without spacing: cell_w, or a wider column label */
    int label_w, title_h, col_label_h;
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
                          const char *const *row_labels, const char *const *col_labels,
                          const char *title, int cond_col, layout *L, gx_error *err) {
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
    int64_t col_w = cell_w, col_label_h = 0;
    if (col_labels) {
        set_label_font(cr);
        for (int c = 0; c < n_cols; c++) {
            if (!col_labels[c] || !*col_labels[c]) continue;
            int64_t a = text_advance(cr, col_labels[c]);
            if (a > col_w) col_w = a;
            col_label_h = GX_FIG_COL_LABEL_H;
        }
    }
    int64_t title_h = 0, title_w = 0;
    if (title && *title) {
        set_title_font(cr);
        title_h = GX_FIG_TITLE_H;
        title_w = text_advance(cr, title);
    }
    int64_t grid_w = (int64_t)n_cols * col_w + (int64_t)(n_cols - 1) * GX_FIG_SPACING +
                     (cond_col ? GX_FIG_COND_GAP : 0);
    int64_t grid_h = (int64_t)n_rows * row_h + (int64_t)(n_rows - 1) * GX_FIG_SPACING;
    int64_t W = 2 * GX_FIG_MARGIN + label_w + grid_w;
    if (2 * GX_FIG_MARGIN + title_w > W) W = 2 * GX_FIG_MARGIN + title_w;
    int64_t H = 2 * GX_FIG_MARGIN + title_h + col_label_h + grid_h;
    if (W > GX_FIG_MAX_SIDE || H > GX_FIG_MAX_SIDE)
        return gx_fail(err, "%s: figure of %lld x %lld pixels is too large (at most %d a side)",
                       what, (long long)W, (long long)H, GX_FIG_MAX_SIDE);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        return gx_fail(err, "%s: cairo: %s", what, cairo_status_to_string(cairo_status(cr)));
    L->scale = S;
    L->cell_w = (int)cell_w;
    L->cell_h = (int)cell_h;
    L->row_h = (int)row_h;
    L->col_w = (int)col_w;
    L->label_w = (int)label_w;
    L->title_h = (int)title_h;
    L->col_label_h = (int)col_label_h;
    L->grid_x = GX_FIG_MARGIN + (int)label_w;
    L->grid_y = GX_FIG_MARGIN + (int)title_h + (int)col_label_h;
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

int gx_image_grid_labelled_size(int n_rows, int n_cols, int h, int w,
                                const char *const *row_labels, const char *const *col_labels,
                                const char *title, int cond_col, int *width, int *height,
                                gx_error *err) {
    cairo_surface_t *s;
    cairo_t *cr;
    if (measuring_context(&s, &cr, "image grid", err) != 0) return -1;
    layout L;
    int rc = compute_layout(cr, "image grid", n_rows, n_cols, h, w, row_labels, col_labels, title,
                            cond_col, &L, err);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    if (rc == 0) {
        *width = L.width;
        *height = L.height;
    }
    return rc;
}

int gx_image_grid_size(int n_rows, int n_cols, int h, int w, const char *const *row_labels,
                       const char *title, int cond_col, int *width, int *height, gx_error *err) {
    return gx_image_grid_labelled_size(n_rows, n_cols, h, w, row_labels, NULL, title, cond_col,
                                       width, height, err);
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

/* The left edge of column c. */
static int col_x(const layout *L, int c, int cond_col) {
    return L->grid_x + c * (L->col_w + GX_FIG_SPACING) + (cond_col && c > 0 ? GX_FIG_COND_GAP : 0);
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

/* Writes the surface to path as a PNG, atomically. */
static int write_png(const char *path, cairo_surface_t *surf, gx_error *err) {
    gx_atomic_file *af;
    if (gx_atomic_open(path, &af, err) != 0) return -1;
    png_sink sink = {af, err, 0};
    cairo_status_t st = cairo_surface_write_to_png_stream(surf, png_write, &sink);
    if (st != CAIRO_STATUS_SUCCESS) {
        gx_atomic_abort(af);
        return sink.failed ? -1 : gx_fail(err, "%s: writing PNG: %s", path,
                                          cairo_status_to_string(st));
    }
    return gx_atomic_commit(af, err);
}

int gx_image_grid_labelled_png(const char *path, const float *const *rows, int n_rows,
                               int n_cols, int h, int w, const char *const *row_labels,
                               const char *const *col_labels, const char *title, int cond_col,
                               gx_error *err) {
    const char *what = path ? path : "(null)";
    if (!rows) return gx_fail(err, "%s: no images (rows is NULL)", what);
    for (int r = 0; r < n_rows; r++)
        if (!rows[r]) return gx_fail(err, "%s: no images for row %d", what, r);

    cairo_surface_t *ms;
    cairo_t *mcr;
    if (measuring_context(&ms, &mcr, what, err) != 0) return -1;
    layout L;
    int rc = compute_layout(mcr, what, n_rows, n_cols, h, w, row_labels, col_labels, title,
                            cond_col, &L, err);
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
            int x0 = col_x(&L, c, cond_col) + (L.col_w - L.cell_w) / 2;
            blit(data, stride, x0, y0, rows[r] + c * img_px, h, w, L.scale);
        }
    }
    cairo_surface_mark_dirty(surf);

    if (cond_col) { /* a thin rule in the middle of the gap after the condition column */
        int gap_x = L.grid_x + L.col_w + GX_FIG_SPACING / 2 + GX_FIG_COND_GAP / 2;
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
    if (col_labels && L.col_label_h > 0) { /* centred over their columns, above the grid */
        set_label_font(cr);
        cairo_font_extents_t fe;
        cairo_font_extents(cr, &fe);
        double mid = L.grid_y - L.col_label_h / 2.0;
        for (int c = 0; c < n_cols; c++) {
            if (!col_labels[c] || !*col_labels[c]) continue;
            double x = col_x(&L, c, cond_col) + (L.col_w - text_advance(cr, col_labels[c])) / 2;
            cairo_move_to(cr, floor(x), round(mid + (fe.ascent - fe.descent) / 2.0));
            cairo_show_text(cr, col_labels[c]);
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

    rc = write_png(path, surf, err);
done:
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
    return rc;
}

int gx_image_grid_png(const char *path, const float *const *rows, int n_rows, int n_cols, int h,
                      int w, const char *const *row_labels, const char *title, int cond_col,
                      gx_error *err) {
    return gx_image_grid_labelled_png(path, rows, n_rows, n_cols, h, w, row_labels, NULL, title,
                                      cond_col, err);
}

/* ==== plots: shared pieces ==================================================================== */

#define TICK_PX 12.0
#define AXIS_GRAY 0.25
#define GRID_GRAY 0.91
#define TICK_LEN 5
#define TICK_GAP 3
#define AXLABEL_GAP 6
#define PLOT_TITLE_H 28  /* band above the plots for the figure's title */
#define PANEL_TITLE_H 22 /* band above a panel for its title */
#define LEGEND_ROW_H 18
#define LEGEND_GAP 18    /* between a scatter plot and its legend */
#define MAX_TICKS 24
#define AXIS_PAD 0.04

static const unsigned char palette[GX_PALETTE_SIZE][3] = {
    /* Tableau 10 */
    {0x1f, 0x77, 0xb4}, {0xff, 0x7f, 0x0e}, {0x2c, 0xa0, 0x2c}, {0xd6, 0x27, 0x28},
    {0x94, 0x67, 0xbd}, {0x8c, 0x56, 0x4b}, {0xe3, 0x77, 0xc2}, {0x7f, 0x7f, 0x7f},
    {0xbc, 0xbd, 0x22}, {0x17, 0xbe, 0xcf},
    /* their lighter variants (Tableau 20) */
    {0xae, 0xc7, 0xe8}, {0xff, 0xbb, 0x78}, {0x98, 0xdf, 0x8a}, {0xff, 0x98, 0x96},
    {0xc5, 0xb0, 0xd5}, {0xc4, 0x9c, 0x94}, {0xf7, 0xb6, 0xd2}, {0xc7, 0xc7, 0xc7},
    {0xdb, 0xdb, 0x8d}, {0x9e, 0xda, 0xe5},
};

void gx_palette_rgb(int i, double rgb[3]) {
    int k = i % GX_PALETTE_SIZE;
    if (k < 0) k += GX_PALETTE_SIZE;
    for (int c = 0; c < 3; c++) rgb[c] = palette[k][c] / 255.0;
}

static void set_palette(cairo_t *cr, int i, double alpha) {
    double rgb[3];
    gx_palette_rgb(i, rgb);
    cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], alpha);
}

static void set_font(cairo_t *cr, double px, int bold) {
    cairo_select_font_face(cr, FONT_FAMILY, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, px);
}

/* Height of a line of text in the current font, rounded up. */
static double font_height(cairo_t *cr) {
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    return ceil(fe.ascent + fe.descent);
}

static double text_width(cairo_t *cr, const char *s) { return (double)text_advance(cr, s); }

/* Draws s in the current font: anchor ax (0 left end, 0.5 middle, 1 right end) at x, the text
 * centred vertically on y. */
static void put_text(cairo_t *cr, const char *s, double x, double y, double ax) {
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    cairo_move_to(cr, round(x - ax * text_width(cr, s)), round(y + (fe.ascent - fe.descent) / 2));
    cairo_show_text(cr, s);
}

/* The same turned a quarter turn counter-clockwise (reading upwards): centred horizontally on x;
 * anchor ax along the text (0: it starts at y and goes up, 1: it ends at y). */
static void put_text_up(cairo_t *cr, const char *s, double x, double y, double ax) {
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    double w = text_width(cr, s);
    cairo_save(cr);
    cairo_translate(cr, round(x), round(y));
    cairo_rotate(cr, -M_PI / 2);
    cairo_move_to(cr, round(-ax * w), round((fe.ascent - fe.descent) / 2));
    cairo_show_text(cr, s);
    cairo_restore(cr);
}

static int has_text(const char *s) { return s && *s; }

/* names[i], or the number i in buf when there is no name. */
static const char *name_or_number(const char *const *names, int i, char *buf, size_t n) {
    if (names && names[i]) return names[i];
    snprintf(buf, n, "%d", i);
    return buf;
}

/* The figure's title, centred in the band at the top. */
static void draw_title(cairo_t *cr, const char *title, int width) {
    if (!has_text(title)) return;
    set_font(cr, TITLE_PX, 1);
    cairo_set_source_rgb(cr, TEXT_GRAY, TEXT_GRAY, TEXT_GRAY);
    double x = floor((width - text_width(cr, title)) / 2.0);
    if (x < GX_FIG_MARGIN) x = GX_FIG_MARGIN;
    put_text(cr, title, x, GX_FIG_MARGIN + (PLOT_TITLE_H - 8) / 2.0, 0);
}

/* An axis: its range and its ticks with their labels. */
typedef struct axis {
    double lo, hi;
    int n;
    double v[MAX_TICKS];
    char lab[MAX_TICKS][32];
} axis;

/* 1, 2 or 5 times a power of ten, at least raw. */
static double nice_step(double raw) {
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    return (f <= 1.0 + 1e-9 ? 1 : f <= 2.0 + 1e-9 ? 2 : f <= 5.0 + 1e-9 ? 5 : 10) * mag;
}

/* The axis for data in [dmin, dmax] (finite): the range widened by AXIS_PAD on each side (a
 * single value gets +-10% of itself, or +-1), ticks at multiples of a round step (at least 1 when
 * integer is set). */
static int axis_make(axis *a, double dmin, double dmax, int integer, const char *what,
                     gx_error *err) {
    if (!(dmax > dmin)) {
        double d = integer || dmin == 0 ? 1.0 : fabs(dmin) * 0.1;
        dmin -= d;
        dmax += d;
    }
    double pad = AXIS_PAD * (dmax - dmin);
    a->lo = dmin - pad;
    a->hi = dmax + pad;
    double range = a->hi - a->lo;
    if (!isfinite(range) || !(range > 0) || range < 1e-12 * fmax(fabs(a->lo), fabs(a->hi)))
        return gx_fail(err, "%s: values from %g to %g cannot be drawn on an axis", what, dmin,
                       dmax);
    double step = nice_step(range / 7.0);
    if (integer && step < 1) step = 1;
    double k0 = ceil(a->lo / step - 1e-9), k1 = floor(a->hi / step + 1e-9);
    int n = (int)fmin(k1 - k0 + 1, MAX_TICKS);
    double big = fmax(fabs(a->lo), fabs(a->hi));
    int use_g = big >= 1e6 || big < 1e-3;
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (decimals > 9) decimals = 9;
    a->n = n < 0 ? 0 : n;
    for (int i = 0; i < a->n; i++) {
        double v = (k0 + i) * step;
        if (fabs(v) < step * 1e-6) v = 0.0; /* no "-0.0" */
        a->v[i] = v;
        if (use_g) snprintf(a->lab[i], sizeof a->lab[i], "%.3g", v);
        else snprintf(a->lab[i], sizeof a->lab[i], "%.*f", decimals, v);
    }
    return 0;
}

/* A plot area in pixels and its two axes. */
typedef struct frame {
    double x, y, w, h;
    axis ax, ay;
} frame;

static double map_x(const frame *f, double v) {
    return f->x + (v - f->ax.lo) / (f->ax.hi - f->ax.lo) * f->w;
}
static double map_y(const frame *f, double v) {
    return f->y + f->h - (v - f->ay.lo) / (f->ay.hi - f->ay.lo) * f->h;
}

/* The room that the tick labels and axis labels take around a plot area. */
typedef struct deco {
    double left, bottom, right; /* right: how far the last x tick label may reach past the area */
} deco;

static deco measure_deco(cairo_t *cr, const axis *ax, const axis *ay, const char *xlabel,
                         const char *ylabel) {
    deco d;
    set_font(cr, TICK_PX, 0);
    double fh_tick = font_height(cr), wy = 0;
    for (int i = 0; i < ay->n; i++) wy = fmax(wy, text_width(cr, ay->lab[i]));
    double wx_last = ax->n ? text_width(cr, ax->lab[ax->n - 1]) : 0;
    set_font(cr, LABEL_PX, 0);
    double fh_label = font_height(cr);
    d.left = TICK_LEN + TICK_GAP + wy + (has_text(ylabel) ? AXLABEL_GAP + fh_label : 0);
    d.bottom = TICK_LEN + TICK_GAP + fh_tick + (has_text(xlabel) ? AXLABEL_GAP + fh_label : 0);
    d.right = ceil(wx_last / 2);
    return d;
}

/* Light grid lines at the ticks. */
static void draw_grid(cairo_t *cr, const frame *f) {
    cairo_set_source_rgb(cr, GRID_GRAY, GRID_GRAY, GRID_GRAY);
    cairo_set_line_width(cr, 1.0);
    for (int i = 0; i < f->ax.n; i++) {
        double x = floor(map_x(f, f->ax.v[i])) + 0.5;
        cairo_move_to(cr, x, f->y);
        cairo_line_to(cr, x, f->y + f->h);
    }
    for (int i = 0; i < f->ay.n; i++) {
        double y = floor(map_y(f, f->ay.v[i])) + 0.5;
        cairo_move_to(cr, f->x, y);
        cairo_line_to(cr, f->x + f->w, y);
    }
    cairo_stroke(cr);
}

/* The box, ticks, tick labels and axis labels around a plot area. */
static void draw_axes(cairo_t *cr, const frame *f, const deco *d, const char *xlabel,
                      const char *ylabel) {
    cairo_set_source_rgb(cr, AXIS_GRAY, AXIS_GRAY, AXIS_GRAY);
    cairo_set_line_width(cr, 1.0);
    cairo_rectangle(cr, f->x + 0.5, f->y + 0.5, f->w - 1, f->h - 1);
    for (int i = 0; i < f->ax.n; i++) {
        double x = floor(map_x(f, f->ax.v[i])) + 0.5;
        cairo_move_to(cr, x, f->y + f->h);
        cairo_line_to(cr, x, f->y + f->h + TICK_LEN);
    }
    for (int i = 0; i < f->ay.n; i++) {
        double y = floor(map_y(f, f->ay.v[i])) + 0.5;
        cairo_move_to(cr, f->x, y);
        cairo_line_to(cr, f->x - TICK_LEN, y);
    }
    cairo_stroke(cr);

    set_font(cr, TICK_PX, 0);
    double fh_tick = font_height(cr);
    for (int i = 0; i < f->ax.n; i++)
        put_text(cr, f->ax.lab[i], floor(map_x(f, f->ax.v[i])) + 0.5,
                 f->y + f->h + TICK_LEN + TICK_GAP + fh_tick / 2, 0.5);
    for (int i = 0; i < f->ay.n; i++)
        put_text(cr, f->ay.lab[i], f->x - TICK_LEN - TICK_GAP, floor(map_y(f, f->ay.v[i])) + 0.5,
                 1.0);

    cairo_set_source_rgb(cr, TEXT_GRAY, TEXT_GRAY, TEXT_GRAY);
    set_font(cr, LABEL_PX, 0);
    double fh_label = font_height(cr);
    if (has_text(xlabel))
        put_text(cr, xlabel, f->x + f->w / 2,
                 f->y + f->h + TICK_LEN + TICK_GAP + fh_tick + AXLABEL_GAP + fh_label / 2, 0.5);
    if (has_text(ylabel))
        put_text_up(cr, ylabel, f->x - d->left + fh_label / 2, f->y + f->h / 2, 0.5);
}

/* A filled marker of the given shape (modulo GX_MARKER_SHAPES) and radius around (x, y); the
 * shapes are sized to look about as large as the circle. */
static void marker_path(cairo_t *cr, int shape, double x, double y, double r) {
    shape %= GX_MARKER_SHAPES;
    if (shape < 0) shape += GX_MARKER_SHAPES;
    switch (shape) {
    case 0:
        cairo_new_sub_path(cr);
        cairo_arc(cr, x, y, r, 0, 2 * M_PI);
        break;
    case 1:   /* triangle, point up */
    case 4: { /* triangle, point down */
        double R = 1.35 * r, s = shape == 1 ? 1.0 : -1.0;
        cairo_move_to(cr, x, y - s * R);
        cairo_line_to(cr, x + R * 0.866, y + s * R * 0.5);
        cairo_line_to(cr, x - R * 0.866, y + s * R * 0.5);
        cairo_close_path(cr);
        break;
    }
    case 2:
        cairo_rectangle(cr, x - 0.9 * r, y - 0.9 * r, 1.8 * r, 1.8 * r);
        break;
    case 3: {
        double R = 1.25 * r;
        cairo_move_to(cr, x, y - R);
        cairo_line_to(cr, x + R, y);
        cairo_line_to(cr, x, y + R);
        cairo_line_to(cr, x - R, y);
        cairo_close_path(cr);
        break;
    }
    default: { /* a diagonal cross: a plus sign of arm length R and half-width a, turned 45 deg */
        double R = 1.25 * r, a = 0.36 * r;
        const double px[12] = {a, a, R, R, a, a, -a, -a, -R, -R, -a, -a};
        const double py[12] = {-R, -a, -a, a, a, R, R, a, a, -a, -a, -R};
        for (int i = 0; i < 12; i++) {
            double u = (px[i] - py[i]) * M_SQRT1_2, v = (px[i] + py[i]) * M_SQRT1_2;
            if (i == 0) cairo_move_to(cr, x + u, y + v);
            else cairo_line_to(cr, x + u, y + v);
        }
        cairo_close_path(cr);
        break;
    }
    }
}

/* Creates a white RGB surface of the given size with a context; 0 or -1 (err set). */
static int new_canvas(int width, int height, cairo_surface_t **surf, cairo_t **cr, const char *what,
                      gx_error *err) {
    *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    *cr = cairo_create(*surf);
    if (cairo_status(*cr) != CAIRO_STATUS_SUCCESS) {
        gx_fail(err, "%s: cairo: %s", what, cairo_status_to_string(cairo_status(*cr)));
        cairo_destroy(*cr);
        cairo_surface_destroy(*surf);
        return -1;
    }
    cairo_set_source_rgb(*cr, 1, 1, 1);
    cairo_paint(*cr);
    return 0;
}

/* Checks the context, writes the PNG and releases both. */
static int finish_canvas(const char *path, cairo_surface_t *surf, cairo_t *cr, gx_error *err) {
    int rc;
    cairo_surface_flush(surf);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        rc = gx_fail(err, "%s: cairo: %s", path, cairo_status_to_string(cairo_status(cr)));
    else
        rc = write_png(path, surf, err);
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
    return rc;
}

/* Width and height rounded up, checked against cairo's limit. */
static int final_size(double W, double H, int *width, int *height, const char *what,
                      gx_error *err) {
    W = ceil(W);
    H = ceil(H);
    if (W > GX_FIG_MAX_SIDE || H > GX_FIG_MAX_SIDE)
        return gx_fail(err, "%s: figure of %.0f x %.0f pixels is too large (at most %d a side)",
                       what, W, H, GX_FIG_MAX_SIDE);
    *width = (int)W;
    *height = (int)H;
    return 0;
}

/* ==== scatter plot ============================================================================ */

#define LEGEND_SWATCH 12  /* width of a legend's colour or marker sample */
#define LEGEND_TEXT_GAP 6 /* between the sample and the name */
#define LEGEND_COL_GAP 16 /* between legend columns */
#define MAX_LEGEND_ENTRIES 1000

typedef struct scatter_layout {
    frame f;
    deco d;
    int64_t n_finite;
    int n_cls, n_groups; /* legend entries of each kind (0 when cls / group is NULL) */
    int n_marks_entry;   /* 1: a legend entry for the marks */
    int gap;             /* 1: an empty row between the classes and the rest */
    int rows_per_col, cols;
    double col_w, legend_x;
    int width, height;
} scatter_layout;

/* Checks the marks against the plot's classes. */
static int marks_check(const gx_scatter_marks *mk, const int32_t *cls, int n_cls, const char *what,
                       gx_error *err) {
    if (!mk->x || !mk->y) return gx_fail(err, "%s: scatter plot marks: x or y is NULL", what);
    if (mk->n < 1)
        return gx_fail(err, "%s: scatter plot with %lld marks; expected at least one", what,
                       (long long)mk->n);
    if (mk->cls && !cls)
        return gx_fail(err, "%s: scatter plot marks have classes but the points have none", what);
    for (int64_t i = 0; mk->cls && i < mk->n; i++)
        if (mk->cls[i] < 0 || mk->cls[i] >= n_cls)
            return gx_fail(err, "%s: scatter plot: mark %lld has class %d; expected 0 to %d", what,
                           (long long)i, (int)mk->cls[i], n_cls - 1);
    return 0;
}

/* Widens [*lo, *hi] of x and y to the finite points (x[i], y[i]), i < n; returns their number. */
static int64_t extend_range(const float *x, const float *y, int64_t n, double *xmin, double *xmax,
                            double *ymin, double *ymax) {
    int64_t nf = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        *xmin = fmin(*xmin, x[i]);
        *xmax = fmax(*xmax, x[i]);
        *ymin = fmin(*ymin, y[i]);
        *ymax = fmax(*ymax, y[i]);
        nf++;
    }
    return nf;
}

static int scatter_layout_make(cairo_t *cr, const char *what, const float *x, const float *y,
                               int64_t n, const int32_t *cls, int n_cls,
                               const char *const *cls_names, const int32_t *group, int n_groups,
                               const char *const *group_names, const gx_scatter_marks *marks,
                               const char *title, const char *xlabel, const char *ylabel,
                               scatter_layout *L, gx_error *err) {
    if (!x || !y) return gx_fail(err, "%s: scatter plot: x or y is NULL", what);
    if (n < 1)
        return gx_fail(err, "%s: scatter plot of %lld points; expected at least one", what,
                       (long long)n);
    if (cls && (n_cls < 1 || n_cls > MAX_LEGEND_ENTRIES))
        return gx_fail(err, "%s: scatter plot with %d classes; expected 1 to %d", what, n_cls,
                       MAX_LEGEND_ENTRIES);
    if (group && (n_groups < 1 || n_groups > MAX_LEGEND_ENTRIES))
        return gx_fail(err, "%s: scatter plot with %d groups; expected 1 to %d", what, n_groups,
                       MAX_LEGEND_ENTRIES);
    for (int64_t i = 0; i < n; i++) {
        if (cls && (cls[i] < 0 || cls[i] >= n_cls))
            return gx_fail(err, "%s: scatter plot: point %lld has class %d; expected 0 to %d",
                           what, (long long)i, (int)cls[i], n_cls - 1);
        if (group && (group[i] < 0 || group[i] >= n_groups))
            return gx_fail(err, "%s: scatter plot: point %lld has group %d; expected 0 to %d",
                           what, (long long)i, (int)group[i], n_groups - 1);
    }
    if (marks && marks_check(marks, cls, n_cls, what, err) != 0) return -1;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    int64_t nf = extend_range(x, y, n, &xmin, &xmax, &ymin, &ymax);
    if (nf == 0) return gx_fail(err, "%s: scatter plot: no point has finite coordinates", what);
    if (marks) extend_range(marks->x, marks->y, marks->n, &xmin, &xmax, &ymin, &ymax);
    L->n_finite = nf;
    if (axis_make(&L->f.ax, xmin, xmax, 0, what, err) != 0 ||
        axis_make(&L->f.ay, ymin, ymax, 0, what, err) != 0)
        return -1;
    L->d = measure_deco(cr, &L->f.ax, &L->f.ay, xlabel, ylabel);

    /* legend: classes, an empty row, groups, the marks; more columns when taller than the plot */
    L->n_cls = cls ? n_cls : 0;
    L->n_groups = group ? n_groups : 0;
    L->n_marks_entry = marks && has_text(marks->legend);
    set_font(cr, LABEL_PX, 0);
    double wmax = 0;
    char buf[16];
    for (int i = 0; i < L->n_cls; i++)
        wmax = fmax(wmax, text_width(cr, name_or_number(cls_names, i, buf, sizeof buf)));
    for (int i = 0; i < L->n_groups; i++)
        wmax = fmax(wmax, text_width(cr, name_or_number(group_names, i, buf, sizeof buf)));
    if (L->n_marks_entry) wmax = fmax(wmax, text_width(cr, marks->legend));
    L->rows_per_col = GX_SCATTER_PLOT_SIDE / LEGEND_ROW_H;
    int rest = L->n_groups + L->n_marks_entry, entries = L->n_cls + rest;
    L->gap = L->n_cls && rest && entries + 1 <= L->rows_per_col;
    entries += L->gap;
    L->cols = (entries + L->rows_per_col - 1) / L->rows_per_col;
    L->col_w = LEGEND_SWATCH + LEGEND_TEXT_GAP + wmax + LEGEND_COL_GAP;

    double title_h = has_text(title) ? PLOT_TITLE_H : 0;
    L->f.x = GX_FIG_MARGIN + ceil(L->d.left);
    L->f.y = GX_FIG_MARGIN + title_h;
    L->f.w = L->f.h = GX_SCATTER_PLOT_SIDE;
    L->legend_x = L->f.x + L->f.w + LEGEND_GAP;
    double right = L->cols ? LEGEND_GAP + L->cols * L->col_w - LEGEND_COL_GAP : 0;
    double W = L->f.x + L->f.w + fmax(right, L->d.right) + GX_FIG_MARGIN;
    if (has_text(title)) {
        set_font(cr, TITLE_PX, 1);
        W = fmax(W, 2 * GX_FIG_MARGIN + text_width(cr, title));
    }
    double H = L->f.y + L->f.h + L->d.bottom + GX_FIG_MARGIN;
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        return gx_fail(err, "%s: cairo: %s", what, cairo_status_to_string(cairo_status(cr)));
    return final_size(W, H, &L->width, &L->height, what, err);
}

int gx_scatter_marked_size(const float *x, const float *y, int64_t n, const int32_t *cls,
                           int n_cls, const char *const *cls_names, const int32_t *group,
                           int n_groups, const char *const *group_names,
                           const gx_scatter_marks *marks, const char *title, const char *xlabel,
                           const char *ylabel, int *width, int *height, gx_error *err) {
    cairo_surface_t *s;
    cairo_t *cr;
    if (measuring_context(&s, &cr, "scatter plot", err) != 0) return -1;
    scatter_layout L;
    int rc = scatter_layout_make(cr, "scatter plot", x, y, n, cls, n_cls, cls_names, group,
                                 n_groups, group_names, marks, title, xlabel, ylabel, &L, err);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    if (rc == 0) {
        *width = L.width;
        *height = L.height;
    }
    return rc;
}

int gx_scatter_size(const float *x, const float *y, int64_t n, const int32_t *cls, int n_cls,
                    const char *const *cls_names, const int32_t *group, int n_groups,
                    const char *const *group_names, const char *title, const char *xlabel,
                    const char *ylabel, int *width, int *height, gx_error *err) {
    return gx_scatter_marked_size(x, y, n, cls, n_cls, cls_names, group, n_groups, group_names,
                                  NULL, title, xlabel, ylabel, width, height, err);
}

static uint64_t gcd_u64(uint64_t a, uint64_t b) {
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* A five-pointed star of outer radius r around (x, y), one point up. */
static void star_path(cairo_t *cr, double x, double y, double r) {
    for (int i = 0; i < 10; i++) {
        double a = -M_PI / 2 + i * M_PI / 5, R = i % 2 ? 0.45 * r : r;
        if (i == 0) cairo_move_to(cr, x + R * cos(a), y + R * sin(a));
        else cairo_line_to(cr, x + R * cos(a), y + R * sin(a));
    }
    cairo_close_path(cr);
}

/* Text in bold at the right of (x, y) (at its left when it would leave the plot area), drawn
 * over a white halo so that it stays legible on top of the points. */
static void put_halo_text(cairo_t *cr, const frame *f, const char *s, double x, double y) {
    set_font(cr, LABEL_PX, 1);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    double w = text_width(cr, s), off = GX_SCATTER_MARK_R + 3;
    double tx = x + off + w <= f->x + f->w ? x + off : x - off - w;
    cairo_move_to(cr, round(tx), round(y + (fe.ascent - fe.descent) / 2));
    cairo_text_path(cr, s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_set_line_width(cr, 3.0);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_stroke_preserve(cr);
    cairo_set_source_rgb(cr, TEXT_GRAY, TEXT_GRAY, TEXT_GRAY);
    cairo_fill(cr);
}

/* The marks over the points (clipped to the plot area by the caller). */
static void draw_marks(cairo_t *cr, const frame *f, const gx_scatter_marks *mk) {
    for (int64_t i = 0; i < mk->n; i++) {
        if (!isfinite(mk->x[i]) || !isfinite(mk->y[i])) continue;
        double px = map_x(f, mk->x[i]), py = map_y(f, mk->y[i]);
        star_path(cr, px, py, GX_SCATTER_MARK_R);
        if (mk->cls) set_palette(cr, mk->cls[i], 1.0);
        else cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, TEXT_GRAY, TEXT_GRAY, TEXT_GRAY);
        cairo_set_line_width(cr, 1.2);
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
        cairo_stroke(cr);
    }
    for (int64_t i = 0; mk->labels && i < mk->n; i++)
        if (has_text(mk->labels[i]) && isfinite(mk->x[i]) && isfinite(mk->y[i]))
            put_halo_text(cr, f, mk->labels[i], map_x(f, mk->x[i]), map_y(f, mk->y[i]));
}

/* The legend at the right of the plot area: classes, groups, the marks' entry. */
static void draw_scatter_legend(cairo_t *cr, const scatter_layout *L,
                                const char *const *cls_names, const char *const *group_names,
                                const gx_scatter_marks *marks) {
    set_font(cr, LABEL_PX, 0);
    char buf[16];
    int first_group = L->n_cls + L->gap, entries = first_group + L->n_groups + L->n_marks_entry;
    for (int e = 0; e < entries; e++) {
        double ex = L->legend_x + (e / L->rows_per_col) * L->col_w;
        double ey = L->f.y + (e % L->rows_per_col) * LEGEND_ROW_H + LEGEND_ROW_H / 2.0;
        double cx = ex + LEGEND_SWATCH / 2.0;
        const char *name;
        if (e < L->n_cls) {
            set_palette(cr, e, 1.0);
            marker_path(cr, 0, cx, ey, 5.0);
            name = name_or_number(cls_names, e, buf, sizeof buf);
        } else if (e >= first_group && e < first_group + L->n_groups) {
            int g = e - first_group;
            cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
            marker_path(cr, g, cx, ey, 4.5);
            name = name_or_number(group_names, g, buf, sizeof buf);
        } else if (e == first_group + L->n_groups) {
            cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
            star_path(cr, cx, ey, 7.0);
            name = marks->legend;
        } else {
            continue;
        }
        cairo_fill(cr);
        cairo_set_source_rgb(cr, TEXT_GRAY, TEXT_GRAY, TEXT_GRAY);
        put_text(cr, name, ex + LEGEND_SWATCH + LEGEND_TEXT_GAP, ey, 0);
    }
}

int gx_scatter_marked_png(const char *path, const float *x, const float *y, int64_t n,
                          const int32_t *cls, int n_cls, const char *const *cls_names,
                          const int32_t *group, int n_groups, const char *const *group_names,
                          const gx_scatter_marks *marks, const char *title, const char *xlabel,
                          const char *ylabel, gx_error *err) {
    if (!path) return gx_fail(err, "scatter plot: no output path");
    cairo_surface_t *surf;
    cairo_t *cr;
    if (measuring_context(&surf, &cr, path, err) != 0) return -1;
    scatter_layout L;
    int rc = scatter_layout_make(cr, path, x, y, n, cls, n_cls, cls_names, group, n_groups,
                                 group_names, marks, title, xlabel, ylabel, &L, err);
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
    if (rc != 0) return -1;
    if (new_canvas(L.width, L.height, &surf, &cr, path, err) != 0) return -1;
    const frame *f = &L.f;
    draw_grid(cr, f);

    /* the points, in a fixed pseudo-random order: index i*s mod n with s coprime to n */
    double r = L.n_finite <= 500 ? 3.5 : L.n_finite <= 3000 ? 2.8 : 2.2;
    double alpha = L.n_finite <= 500 ? 0.85 : L.n_finite <= 3000 ? 0.6 : 0.45;
    cairo_save(cr);
    cairo_rectangle(cr, f->x, f->y, f->w, f->h);
    cairo_clip(cr);
    uint64_t N = (uint64_t)n, s = (uint64_t)((double)N * 0.6180339887498949) | 1u, idx = 0;
    while (gcd_u64(s, N) != 1) s++;
    s %= N;
    for (uint64_t t = 0; t < N; t++) {
        idx = idx + s >= N ? idx + s - N : idx + s;
        if (!isfinite(x[idx]) || !isfinite(y[idx])) continue;
        set_palette(cr, cls ? cls[idx] : 0, alpha);
        marker_path(cr, group ? group[idx] : 0, map_x(f, x[idx]), map_y(f, y[idx]), r);
        cairo_fill(cr);
    }
    if (marks) draw_marks(cr, f, marks);
    cairo_restore(cr);
    draw_axes(cr, f, &L.d, xlabel, ylabel);
    draw_scatter_legend(cr, &L, cls_names, group_names, marks);
    draw_title(cr, title, L.width);
    return finish_canvas(path, surf, cr, err);
}

int gx_scatter_png(const char *path, const float *x, const float *y, int64_t n, const int32_t *cls,
                   int n_cls, const char *const *cls_names, const int32_t *group, int n_groups,
                   const char *const *group_names, const char *title, const char *xlabel,
                   const char *ylabel, gx_error *err) {
    return gx_scatter_marked_png(path, x, y, n, cls, n_cls, cls_names, group, n_groups,
                                 group_names, NULL, title, xlabel, ylabel, err);
}

/* ==== line plots in panels ==================================================================== */

#define MAX_PANELS 16
#define MAX_SERIES 64        /* per panel */
#define PANEL_GAP_X 28
#define PANEL_GAP_Y 18
#define LINE_SWATCH 22       /* length of the line sample in a legend entry */
#define LEGEND_ENTRY_GAP 14  /* between legend entries on a row */
#define LEGEND_TOP_GAP 6     /* between the x axis label and the legend */
#define MARKER_MAX_POINTS 60 /* markers at every point of panels with at most this many */
#define LINE_WIDTH 1.8
#define POINT_R 2.6

static int point_ok(const gx_plot_series *s, int i) {
    return isfinite(s->x[i]) && isfinite(s->y[i]) && !(s->skip_negative && s->y[i] < 0);
}

typedef struct panels_layout {
    int n, cols, rows;
    frame f[MAX_PANELS];
    deco d[MAX_PANELS];
    int n_points[MAX_PANELS]; /* points drawn in each panel */
    double legend_y[MAX_PANELS];
    double left, cell_w, cell_h, ptitle_h;
    int width, height;
} panels_layout;

static int series_has_point(const gx_plot_series *s) {
    for (int i = 0; i < s->n; i++)
        if (point_ok(s, i)) return 1;
    return 0;
}

/* Flows a panel's legend entries (named series with a point to draw) into rows no wider than avail; returns the
 * number of rows and, when ex and er are given, each entry's x offset and row (-1: no entry). */
static int legend_flow(cairo_t *cr, const gx_plot_series *s, int n, double avail, double *ex,
                       int *er) {
    set_font(cr, LABEL_PX, 0);
    int row = 0, any = 0;
    double x = 0;
    for (int i = 0; i < n; i++) {
        if (er) er[i] = -1;
        if (!has_text(s[i].name) || !series_has_point(&s[i])) continue;
        double w = LINE_SWATCH + LEGEND_TEXT_GAP + text_width(cr, s[i].name);
        if (any && x + w > avail) {
            row++;
            x = 0;
        }
        if (ex) ex[i] = x;
        if (er) er[i] = row;
        x += w + LEGEND_ENTRY_GAP;
        any = 1;
    }
    return any ? row + 1 : 0;
}

static int panels_layout_make(cairo_t *cr, const char *what, const char *title, int n_panels,
                              const char *const *panel_titles, const char *const *ylabels,
                              const char *xlabel, const gx_plot_series *const *series,
                              const int *n_series, panels_layout *L, gx_error *err) {
    if (n_panels < 1 || n_panels > MAX_PANELS)
        return gx_fail(err, "%s: %d panels; expected 1 to %d", what, n_panels, MAX_PANELS);
    if (!series || !n_series) return gx_fail(err, "%s: no series (NULL)", what);
    double xmin = INFINITY, xmax = -INFINITY, ymin[MAX_PANELS], ymax[MAX_PANELS];
    int integer = 1;
    for (int p = 0; p < n_panels; p++) {
        ymin[p] = INFINITY;
        ymax[p] = -INFINITY;
        L->n_points[p] = 0;
        if (n_series[p] < 0 || n_series[p] > MAX_SERIES)
            return gx_fail(err, "%s: panel %d has %d series; expected 0 to %d", what, p,
                           n_series[p], MAX_SERIES);
        if (n_series[p] > 0 && !series[p])
            return gx_fail(err, "%s: panel %d: its series are NULL", what, p);
        for (int s = 0; s < n_series[p]; s++) {
            const gx_plot_series *S = &series[p][s];
            if (S->n < 0 || (S->n > 0 && (!S->x || !S->y)))
                return gx_fail(err, "%s: panel %d, series %d (%s): %d points, x or y NULL", what,
                               p, s, S->name ? S->name : "unnamed", S->n);
            for (int i = 0; i < S->n; i++) {
                if (!point_ok(S, i)) continue;
                xmin = fmin(xmin, S->x[i]);
                xmax = fmax(xmax, S->x[i]);
                ymin[p] = fmin(ymin[p], S->y[i]);
                ymax[p] = fmax(ymax[p], S->y[i]);
                integer &= S->x[i] == floor(S->x[i]) && fabs(S->x[i]) < 1e15;
                L->n_points[p]++;
            }
        }
    }
    axis ax;
    if (xmin > xmax) xmin = 0, xmax = 1; /* no point anywhere */
    if (axis_make(&ax, xmin, xmax, integer, what, err) != 0) return -1;
    L->n = n_panels;
    L->left = L->ptitle_h = 0;
    double right = 0, bottom = 0;
    for (int p = 0; p < n_panels; p++) {
        L->f[p].ax = ax;
        if (ymin[p] > ymax[p]) ymin[p] = 0, ymax[p] = 1;
        if (axis_make(&L->f[p].ay, ymin[p], ymax[p], 0, what, err) != 0) return -1;
        L->d[p] = measure_deco(cr, &ax, &L->f[p].ay, xlabel, ylabels ? ylabels[p] : NULL);
        L->left = fmax(L->left, ceil(L->d[p].left));
        right = fmax(right, L->d[p].right);
        bottom = fmax(bottom, ceil(L->d[p].bottom));
        if (panel_titles && has_text(panel_titles[p])) L->ptitle_h = PANEL_TITLE_H;
    }
    int leg_rows = 0;
    for (int p = 0; p < n_panels; p++) {
        int r = legend_flow(cr, series[p], n_series[p], L->left + GX_PANEL_PLOT_W, NULL, NULL);
        if (r > leg_rows) leg_rows = r;
    }
    L->cols = n_panels == 1 ? 1 : 2;
    L->rows = (n_panels + L->cols - 1) / L->cols;
    L->cell_w = L->left + GX_PANEL_PLOT_W + right;
    L->cell_h = L->ptitle_h + GX_PANEL_PLOT_H + bottom +
                (leg_rows ? LEGEND_TOP_GAP + leg_rows * LEGEND_ROW_H : 0);
    double title_h = has_text(title) ? PLOT_TITLE_H : 0;
    double W = 2 * GX_FIG_MARGIN + L->cols * L->cell_w + (L->cols - 1) * PANEL_GAP_X;
    if (has_text(title)) {
        set_font(cr, TITLE_PX, 1);
        W = fmax(W, 2 * GX_FIG_MARGIN + text_width(cr, title));
    }
    double H = 2 * GX_FIG_MARGIN + title_h + L->rows * L->cell_h + (L->rows - 1) * PANEL_GAP_Y;
    for (int p = 0; p < n_panels; p++) {
        double cx = GX_FIG_MARGIN + (p % L->cols) * (L->cell_w + PANEL_GAP_X);
        double cy = GX_FIG_MARGIN + title_h + (p / L->cols) * (L->cell_h + PANEL_GAP_Y);
        L->f[p].x = cx + L->left;
        L->f[p].y = cy + L->ptitle_h;
        L->f[p].w = GX_PANEL_PLOT_W;
        L->f[p].h = GX_PANEL_PLOT_H;
        L->legend_y[p] = L->f[p].y + GX_PANEL_PLOT_H + bottom + LEGEND_TOP_GAP;
    }
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        return gx_fail(err, "%s: cairo: %s", what, cairo_status_to_string(cairo_status(cr)));
    return final_size(W, H, &L->width, &L->height, what, err);
}

int gx_panels_size(const char *title, int n_panels, const char *const *panel_titles,
                   const char *const *ylabels, const char *xlabel,
                   const gx_plot_series *const *series, const int *n_series, int *width,
                   int *height, gx_error *err) {
    cairo_surface_t *s;
    cairo_t *cr;
    if (measuring_context(&s, &cr, "line plot", err) != 0) return -1;
    panels_layout L;
    int rc = panels_layout_make(cr, "line plot", title, n_panels, panel_titles, ylabels, xlabel,
                                series, n_series, &L, err);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    if (rc == 0) {
        *width = L.width;
        *height = L.height;
    }
    return rc;
}

/* The lines and markers of one series, clipped to the frame. */
static void draw_series(cairo_t *cr, const frame *f, const gx_plot_series *S, int all_markers) {
    cairo_set_line_width(cr, LINE_WIDTH);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    int prev = 0;
    for (int i = 0; i < S->n; i++) {
        int ok = point_ok(S, i);
        if (ok && prev) cairo_line_to(cr, map_x(f, S->x[i]), map_y(f, S->y[i]));
        else if (ok) cairo_move_to(cr, map_x(f, S->x[i]), map_y(f, S->y[i]));
        prev = ok;
    }
    cairo_stroke(cr);
    for (int i = 0; i < S->n; i++) {
        if (!point_ok(S, i)) continue;
        int alone = (i == 0 || !point_ok(S, i - 1)) && (i == S->n - 1 || !point_ok(S, i + 1));
        if (!all_markers && !alone) continue;
        marker_path(cr, 0, map_x(f, S->x[i]), map_y(f, S->y[i]), POINT_R);
        cairo_fill(cr);
    }
}

int gx_panels_png(const char *path, const char *title, int n_panels,
                  const char *const *panel_titles, const char *const *ylabels, const char *xlabel,
                  const gx_plot_series *const *series, const int *n_series, gx_error *err) {
    if (!path) return gx_fail(err, "line plot: no output path");
    cairo_surface_t *surf;
    cairo_t *cr;
    if (measuring_context(&surf, &cr, path, err) != 0) return -1;
    panels_layout L;
    int rc = panels_layout_make(cr, path, title, n_panels, panel_titles, ylabels, xlabel, series,
                                n_series, &L, err);
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
    if (rc != 0) return -1;
    if (new_canvas(L.width, L.height, &surf, &cr, path, err) != 0) return -1;

    double ex[MAX_SERIES];
    int er[MAX_SERIES];
    for (int p = 0; p < n_panels; p++) {
        const frame *f = &L.f[p];
        int all_markers = L.n_points[p] <= MARKER_MAX_POINTS;
        draw_grid(cr, f);
        cairo_save(cr);
        cairo_rectangle(cr, f->x, f->y, f->w, f->h);
        cairo_clip(cr);
        for (int s = 0; s < n_series[p]; s++) {
            set_palette(cr, s, 1.0);
            draw_series(cr, f, &series[p][s], all_markers);
        }
        cairo_restore(cr);
        draw_axes(cr, f, &L.d[p], xlabel, ylabels ? ylabels[p] : NULL);
        if (L.n_points[p] == 0) {
            set_font(cr, LABEL_PX, 0);
            cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
            put_text(cr, "no data", f->x + f->w / 2, f->y + f->h / 2, 0.5);
        }
        if (panel_titles && has_text(panel_titles[p])) {
            set_font(cr, LABEL_PX, 1);
            cairo_set_source_rgb(cr, TEXT_GRAY, TEXT_GRAY, TEXT_GRAY);
            put_text(cr, panel_titles[p], f->x + f->w / 2, f->y - L.ptitle_h / 2 - 1, 0.5);
        }
        /* legend, starting under the y axis label */
        legend_flow(cr, series[p], n_series[p], L.left + GX_PANEL_PLOT_W, ex, er);
        double x0 = f->x - L.left;
        for (int s = 0; s < n_series[p]; s++) {
            if (er[s] < 0) continue;
            double x = x0 + ex[s], y = L.legend_y[p] + er[s] * LEGEND_ROW_H + LEGEND_ROW_H / 2.0;
            set_palette(cr, s, 1.0);
            cairo_set_line_width(cr, LINE_WIDTH);
            cairo_move_to(cr, x, y);
            cairo_line_to(cr, x + LINE_SWATCH, y);
            cairo_stroke(cr);
            if (all_markers) {
                marker_path(cr, 0, x + LINE_SWATCH / 2.0, y, POINT_R);
                cairo_fill(cr);
            }
            cairo_set_source_rgb(cr, TEXT_GRAY, TEXT_GRAY, TEXT_GRAY);
            set_font(cr, LABEL_PX, 0);
            put_text(cr, series[p][s].name, x + LINE_SWATCH + LEGEND_TEXT_GAP, y, 0);
        }
    }
    draw_title(cr, title, L.width);
    return finish_canvas(path, surf, cr, err);
}

int gx_line_plot_png(const char *path, const char *title, const char *xlabel, const char *ylabel,
                     const gx_plot_series *series, int n_series, gx_error *err) {
    const char *ylabels[1] = {ylabel};
    const gx_plot_series *const all[1] = {series};
    return gx_panels_png(path, title, 1, NULL, ylabels, xlabel, all, &n_series, err);
}

/* ==== confusion matrix ======================================================================== */

#define CONF_MAX_K 1000
#define CONF_NAME_GAP 6 /* between the grid and the class names */
#define BAR_GAP 18      /* between the grid and the colour bar */
#define BAR_W 14
#define BAR_CAPTION "share of the true class"

typedef struct conf_layout {
    int cell;
    double count_px; /* font size of the counts; 0: counts left out */
    int rotate;      /* column names turned a quarter turn */
    double gx, gy;   /* the grid's top-left corner */
    double names_w, names_h, fh_tick, fh_label, bar_x, bar_h, bar_label_w;
    int width, height;
} conf_layout;

/* White to dark blue through four light-to-dark blues, t in [0, 1]. */
static void blue_ramp(double t, double rgb[3]) {
    static const double stops[5][3] = {
        {247, 251, 255}, {198, 219, 239}, {107, 174, 214}, {33, 113, 181}, {8, 48, 107}};
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double seg = t * 4;
    int i = seg >= 4 ? 3 : (int)seg;
    double u = seg - i;
    for (int c = 0; c < 3; c++) rgb[c] = ((1 - u) * stops[i][c] + u * stops[i + 1][c]) / 255.0;
}

static int conf_layout_make(cairo_t *cr, const char *what, const int64_t *C, int K,
                            const char *const *names, const char *title, conf_layout *L,
                            gx_error *err) {
    if (!C) return gx_fail(err, "%s: confusion matrix: no counts (NULL)", what);
    if (K < 1 || K > CONF_MAX_K)
        return gx_fail(err, "%s: confusion matrix of %d classes; expected 1 to %d", what, K,
                       CONF_MAX_K);
    int64_t cmax = 0;
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            int64_t v = C[(int64_t)i * K + j];
            if (v < 0)
                return gx_fail(err, "%s: confusion matrix: count %lld at row %d, column %d is "
                               "negative", what, (long long)v, i, j);
            if (v > cmax) cmax = v;
        }
    L->cell = K <= 5 ? 56 : 480 / K < 14 ? 14 : 480 / K > 48 ? 48 : 480 / K;
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)cmax);
    L->count_px = 0;
    for (double px = 12; px >= 8; px -= 2) {
        set_font(cr, px, 0);
        if (text_width(cr, buf) <= L->cell - 6 && font_height(cr) <= L->cell - 2) {
            L->count_px = px;
            break;
        }
    }
    set_font(cr, TICK_PX, 0);
    L->fh_tick = font_height(cr);
    L->names_w = 0;
    for (int k = 0; k < K; k++)
        L->names_w = fmax(L->names_w, text_width(cr, name_or_number(names, k, buf, sizeof buf)));
    L->rotate = L->names_w > L->cell - 4;
    L->names_h = L->rotate ? L->names_w : L->fh_tick;
    L->bar_label_w = text_width(cr, "100%");
    double caption_w = text_width(cr, BAR_CAPTION);
    set_font(cr, LABEL_PX, 0);
    L->fh_label = font_height(cr);

    double title_h = has_text(title) ? PLOT_TITLE_H : 0, grid = (double)K * L->cell;
    L->gx = GX_FIG_MARGIN + L->fh_label + AXLABEL_GAP + ceil(L->names_w) + CONF_NAME_GAP;
    L->gy = GX_FIG_MARGIN + title_h + 4;
    L->bar_x = L->gx + grid + BAR_GAP;
    L->bar_h = fmax(grid, caption_w + 8);
    double W = L->bar_x + BAR_W + TICK_LEN + TICK_GAP + L->bar_label_w + AXLABEL_GAP + L->fh_tick +
               GX_FIG_MARGIN;
    if (has_text(title)) {
        set_font(cr, TITLE_PX, 1);
        W = fmax(W, 2 * GX_FIG_MARGIN + text_width(cr, title));
    }
    double H = fmax(L->gy + grid + CONF_NAME_GAP + L->names_h + AXLABEL_GAP + L->fh_label,
                    L->gy + L->bar_h) + GX_FIG_MARGIN;
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        return gx_fail(err, "%s: cairo: %s", what, cairo_status_to_string(cairo_status(cr)));
    return final_size(W, H, &L->width, &L->height, what, err);
}

int gx_confusion_size(const int64_t *C, int K, const char *const *names, const char *title,
                      int *width, int *height, gx_error *err) {
    cairo_surface_t *s;
    cairo_t *cr;
    if (measuring_context(&s, &cr, "confusion matrix", err) != 0) return -1;
    conf_layout L;
    int rc = conf_layout_make(cr, "confusion matrix", C, K, names, title, &L, err);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    if (rc == 0) {
        *width = L.width;
        *height = L.height;
    }
    return rc;
}

int gx_confusion_png(const char *path, const int64_t *C, int K, const char *const *names,
                     const char *title, gx_error *err) {
    if (!path) return gx_fail(err, "confusion matrix: no output path");
    cairo_surface_t *surf;
    cairo_t *cr;
    if (measuring_context(&surf, &cr, path, err) != 0) return -1;
    conf_layout L;
    int rc = conf_layout_make(cr, path, C, K, names, title, &L, err);
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
    if (rc != 0) return -1;
    if (new_canvas(L.width, L.height, &surf, &cr, path, err) != 0) return -1;
    const int cell = L.cell;
    const double grid = (double)K * cell;
    char buf[32];

    /* cells, then white separators and a gray border */
    for (int i = 0; i < K; i++) {
        int64_t row = 0;
        for (int j = 0; j < K; j++) row += C[(int64_t)i * K + j];
        for (int j = 0; j < K; j++) {
            double rgb[3];
            blue_ramp(row ? (double)C[(int64_t)i * K + j] / (double)row : 0.0, rgb);
            cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
            cairo_rectangle(cr, L.gx + j * cell, L.gy + i * cell, cell, cell);
            cairo_fill(cr);
            if (L.count_px == 0) continue;
            set_font(cr, L.count_px, 0);
            double lum = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
            if (lum < 0.5) cairo_set_source_rgb(cr, 1, 1, 1);
            else cairo_set_source_rgb(cr, TEXT_GRAY, TEXT_GRAY, TEXT_GRAY);
            snprintf(buf, sizeof buf, "%lld", (long long)C[(int64_t)i * K + j]);
            put_text(cr, buf, L.gx + (j + 0.5) * cell, L.gy + (i + 0.5) * cell, 0.5);
        }
    }
    cairo_set_line_width(cr, 1.0);
    cairo_set_source_rgb(cr, 1, 1, 1);
    for (int k = 1; k < K; k++) {
        cairo_move_to(cr, L.gx + k * cell + 0.5, L.gy);
        cairo_line_to(cr, L.gx + k * cell + 0.5, L.gy + grid);
        cairo_move_to(cr, L.gx, L.gy + k * cell + 0.5);
        cairo_line_to(cr, L.gx + grid, L.gy + k * cell + 0.5);
    }
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, RULE_GRAY, RULE_GRAY, RULE_GRAY);
    cairo_rectangle(cr, L.gx + 0.5, L.gy + 0.5, grid - 1, grid - 1);
    cairo_stroke(cr);

    /* class names and axis titles */
    set_font(cr, TICK_PX, 0);
    cairo_set_source_rgb(cr, TEXT_GRAY, TEXT_GRAY, TEXT_GRAY);
    for (int k = 0; k < K; k++) {
        const char *name = name_or_number(names, k, buf, sizeof buf);
        put_text(cr, name, L.gx - CONF_NAME_GAP, L.gy + (k + 0.5) * cell, 1.0);
        double cx = L.gx + (k + 0.5) * cell, top = L.gy + grid + CONF_NAME_GAP;
        if (L.rotate) put_text_up(cr, name, cx, top, 1.0);
        else put_text(cr, name, cx, top + L.fh_tick / 2, 0.5);
    }
    set_font(cr, LABEL_PX, 0);
    put_text(cr, "predicted class", L.gx + grid / 2,
             L.gy + grid + CONF_NAME_GAP + L.names_h + AXLABEL_GAP + L.fh_label / 2, 0.5);
    put_text_up(cr, "true class", GX_FIG_MARGIN + L.fh_label / 2, L.gy + grid / 2, 0.5);

    /* colour bar: the row share from 0 (bottom) to 1 (top) */
    int bar_h = (int)L.bar_h;
    for (int y = 0; y < bar_h; y++) {
        double rgb[3];
        blue_ramp(1.0 - (y + 0.5) / bar_h, rgb);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle(cr, L.bar_x, L.gy + y, BAR_W, 1);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, RULE_GRAY, RULE_GRAY, RULE_GRAY);
    cairo_rectangle(cr, L.bar_x + 0.5, L.gy + 0.5, BAR_W - 1, bar_h - 1);
    cairo_stroke(cr);
    set_font(cr, TICK_PX, 0);
    static const char *const pct[3] = {"0%", "50%", "100%"};
    for (int q = 0; q < 3; q++) {
        double y = floor(L.gy + (1.0 - q / 2.0) * (bar_h - 1)) + 0.5;
        cairo_set_source_rgb(cr, AXIS_GRAY, AXIS_GRAY, AXIS_GRAY);
        cairo_move_to(cr, L.bar_x + BAR_W, y);
        cairo_line_to(cr, L.bar_x + BAR_W + TICK_LEN, y);
        cairo_stroke(cr);
        put_text(cr, pct[q], L.bar_x + BAR_W + TICK_LEN + TICK_GAP, y, 0);
    }
    cairo_set_source_rgb(cr, TEXT_GRAY, TEXT_GRAY, TEXT_GRAY);
    put_text_up(cr, BAR_CAPTION,
                L.bar_x + BAR_W + TICK_LEN + TICK_GAP + L.bar_label_w + AXLABEL_GAP + L.fh_tick / 2,
                L.gy + L.bar_h / 2, 0.5);
    draw_title(cr, title, L.width);
    return finish_canvas(path, surf, cr, err);
}
