/* PNG figures drawn with cairo: a grid of small grayscale images (below), a scatter plot (latent
 * spaces), line plots in panels (learning curves) and a confusion-matrix heatmap (after it).
 * Every figure has a white background and dark sans-serif text, is written atomically (a
 * temporary file renamed over the target; on failure the target is left as it was), and has a
 * *_size function that gives its width and height without drawing it. Errors name the path.
 *
 * Image grid: one row per class (or per condition), with a text label at the left of each row and
 * an optional title.
 *
 * Layout, in pixels (all integers):
 *   S      = scale = clamp(64 / max(h, w), 1, 4); each image is drawn (w*S) x (h*S), nearest
 *            neighbour, value v in [0, 1] as gray v (0 black, 1 white; clamped; NaN/inf red)
 *   row_h  = max(h*S, GX_FIG_ROW_MIN)     (an image is centred vertically in its row)
 *   grid_w = n_cols*w*S + (n_cols-1)*GX_FIG_SPACING + (cond_col ? GX_FIG_COND_GAP : 0)
 *   grid_h = n_rows*row_h + (n_rows-1)*GX_FIG_SPACING
 *   label_w = 0 without labels, else the widest label's advance (rounded up) + GX_FIG_LABEL_GAP
 *   title_h = GX_FIG_TITLE_H with a non-empty title, else 0
 *   width  = max(2*GX_FIG_MARGIN + label_w + grid_w, 2*GX_FIG_MARGIN + title advance rounded up)
 *   height = 2*GX_FIG_MARGIN + title_h + grid_h
 * Background white; text dark gray, sans-serif, labels 13 px, title 15 px bold. With cond_col the
 * first column is the condition image, followed by a gap with a thin vertical rule in it. */
#ifndef GX_FIGURE_H
#define GX_FIGURE_H

#include <stdint.h>

#include "core/error.h"

#define GX_FIG_MARGIN 10
#define GX_FIG_SPACING 2
#define GX_FIG_COND_GAP 14
#define GX_FIG_LABEL_GAP 8
#define GX_FIG_TITLE_H 26
#define GX_FIG_ROW_MIN 18
#define GX_FIG_COL_LABEL_H 20 /* the band of column labels (gx_image_grid_labelled_png) */
#define GX_FIG_MAX_SIDE 32767 /* cairo's limit on an image surface's side */

/* Writes the grid to path (PNG, atomically). rows[r] (r < n_rows) points at n_cols images of
 * h x w floats each, contiguous: image c of row r is rows[r][c*h*w .. (c+1)*h*w - 1], row-major.
 * n_cols counts the condition column when cond_col is 1 (then n_cols >= 2). row_labels is
 * [n_rows] or NULL (no label column; a NULL entry leaves that row unlabelled); title may be NULL.
 * Nothing is kept: the caller owns every argument. Errors (bad sizes, a NULL row, an image too
 * large, I/O) name the path; on failure the target is left as it was. */
int gx_image_grid_png(const char *path, const float *const *rows, int n_rows, int n_cols, int h,
                      int w, const char *const *row_labels, const char *title, int cond_col,
                      gx_error *err);

/* The width and height in pixels of the PNG that gx_image_grid_png would write for these
 * arguments (the images themselves are not needed; labels and title are measured). */
int gx_image_grid_size(int n_rows, int n_cols, int h, int w, const char *const *row_labels,
                       const char *title, int cond_col, int *width, int *height, gx_error *err);

/* gx_image_grid_png with a label above each column: col_labels is [n_cols] (a NULL or empty entry
 * leaves that column unlabelled) or NULL (then the figure is exactly gx_image_grid_png's). With at
 * least one column label, a band of GX_FIG_COL_LABEL_H pixels between the title and the grid holds
 * the labels (13 px, each centred over its column), and every column is as wide as the widest of
 * cell_w and the column labels' advances (images centred in their columns): in the layout above,
 * grid_w uses that width for w*S and height adds GX_FIG_COL_LABEL_H. */
int gx_image_grid_labelled_png(const char *path, const float *const *rows, int n_rows,
                               int n_cols, int h, int w, const char *const *row_labels,
                               const char *const *col_labels, const char *title, int cond_col,
                               gx_error *err);
int gx_image_grid_labelled_size(int n_rows, int n_cols, int h, int w,
                                const char *const *row_labels, const char *const *col_labels,
                                const char *title, int cond_col, int *width, int *height,
                                gx_error *err);

/* ---- plots ------------------------------------------------------------------------------------
 * Common to the plots below: axes with tick marks at round steps (1, 2 or 5 times a power of
 * ten, about 5 to 10 per axis, whole numbers only when every x is a whole number in line plots),
 * numeric tick labels (12 px), light grid lines, axis labels (13 px; the y label turned a
 * quarter turn), a bold 15 px title. Each axis spans the data's range plus 4% on either side.
 * Colours come from a qualitative palette of 20 (the 10 of Tableau 10, then their lighter
 * variants), reused in turn beyond 20. Sizes are in pixels; the plot areas have fixed sizes and
 * the figure grows around them to fit the text, so the size depends on the labels and, through
 * the tick labels, on the data's range. Figures larger than GX_FIG_MAX_SIDE a side are errors. */

#define GX_SCATTER_PLOT_SIDE 520 /* the scatter plot's square plot area */
#define GX_PANEL_PLOT_W 400      /* plot area of each line-plot panel */
#define GX_PANEL_PLOT_H 260
#define GX_PALETTE_SIZE 20
#define GX_MARKER_SHAPES 6 /* circle, triangle, square, diamond, inverted triangle, cross */

/* Colour i of the palette (i modulo GX_PALETTE_SIZE) as r, g, b in [0, 1]. */
void gx_palette_rgb(int i, double rgb[3]);

/* Scatter plot of n points (x[i], y[i]): colour = cls[i] in [0, n_cls), marker shape = group[i]
 * in [0, n_groups) (circle, triangle, square, diamond, inverted triangle, cross, then again).
 * cls may be NULL (every point the first colour, no class legend); group may be NULL (circles,
 * no group legend). Names may be NULL (then the numbers are shown) and so may a NULL entry.
 * Points with a non-finite coordinate are skipped (at least one must remain); a class or group
 * out of range is an error naming the point. Markers are small and semi-transparent (smaller and
 * fainter as n grows: radius 3.5/2.8/2.2 px, opacity 0.85/0.6/0.45 for n up to 500/3000/more)
 * and drawn in a fixed pseudo-random order, so that no class hides all others. The legend, at
 * the right of the square plot area, lists the classes (colour discs), then the groups (gray
 * marker shapes), in more columns when it is taller than the plot. For a latent space: colour =
 * class, marker = domain. title, xlabel and ylabel may be NULL. */
int gx_scatter_png(const char *path, const float *x, const float *y, int64_t n, const int32_t *cls,
                   int n_cls, const char *const *cls_names, const int32_t *group, int n_groups,
                   const char *const *group_names, const char *title, const char *xlabel,
                   const char *ylabel, gx_error *err);
int gx_scatter_size(const float *x, const float *y, int64_t n, const int32_t *cls, int n_cls,
                    const char *const *cls_names, const int32_t *group, int n_groups,
                    const char *const *group_names, const char *title, const char *xlabel,
                    const char *ylabel, int *width, int *height, gx_error *err);

/* Marks drawn over a scatter plot's points, e.g. the means of a mixture's components: mark i is a
 * five-pointed star of radius GX_SCATTER_MARK_R px at (x[i], y[i]), opaque, filled with the
 * colour of class cls[i] (cls NULL: dark gray) and outlined in dark gray, with labels[i] (if
 * given) in bold beside it on a white halo. Marks with a non-finite coordinate are skipped; the
 * others count in the axes' range. `legend` (NULL: none) is one more legend entry, a gray star,
 * after the groups. */
#define GX_SCATTER_MARK_R 9.0
typedef struct gx_scatter_marks {
    const float *x, *y;        /* [n] */
    int64_t n;                 /* >= 1 */
    const int32_t *cls;        /* [n] in [0, n_cls) of the plot (which must have classes), or NULL */
    const char *const *labels; /* [n] or NULL; NULL entries allowed */
    const char *legend;
} gx_scatter_marks;

/* gx_scatter_png and gx_scatter_size with marks (NULL: none, the same as those). A mark's class
 * out of range, or classes for marks on a plot without them, is an error naming the mark. */
int gx_scatter_marked_png(const char *path, const float *x, const float *y, int64_t n,
                          const int32_t *cls, int n_cls, const char *const *cls_names,
                          const int32_t *group, int n_groups, const char *const *group_names,
                          const gx_scatter_marks *marks, const char *title, const char *xlabel,
                          const char *ylabel, gx_error *err);
int gx_scatter_marked_size(const float *x, const float *y, int64_t n, const int32_t *cls,
                           int n_cls, const char *const *cls_names, const int32_t *group,
                           int n_groups, const char *const *group_names,
                           const gx_scatter_marks *marks, const char *title, const char *xlabel,
                           const char *ylabel, int *width, int *height, gx_error *err);

/* One line of a line plot: n points (x[i], y[i]) joined in order. A point is skipped (and the
 * line broken there) when x or y is not finite, or when skip_negative is set and y < 0 (for
 * columns where -1 means "none", like a validation accuracy without a validation set). */
typedef struct gx_plot_series {
    const char *name; /* in the panel's legend; NULL or "" leaves it out, and so does a series
                       * without a point to draw (it keeps its colour) */
    const double *x, *y;
    int n;
    int skip_negative;
} gx_plot_series;

/* Line plots in n_panels panels (1 to 16) laid out two per row, each with its own y axis and
 * legend (below its plot area); the x axis (range and label) is shared by all panels. Panel p
 * draws series[p][0 .. n_series[p] - 1] in palette colours 0, 1, ... with 1.8 px lines, and
 * markers at the points when a panel has at most 60 points (a point with no neighbour always has
 * one). A panel without any point shows "no data". panel_titles and ylabels are [n_panels] or
 * NULL (NULL entries allowed); title and xlabel may be NULL. */
int gx_panels_png(const char *path, const char *title, int n_panels,
                  const char *const *panel_titles, const char *const *ylabels, const char *xlabel,
                  const gx_plot_series *const *series, const int *n_series, gx_error *err);
int gx_panels_size(const char *title, int n_panels, const char *const *panel_titles,
                   const char *const *ylabels, const char *xlabel,
                   const gx_plot_series *const *series, const int *n_series, int *width,
                   int *height, gx_error *err);

/* One panel: gx_panels_png with n_panels = 1 and the title as the figure's title. */
int gx_line_plot_png(const char *path, const char *title, const char *xlabel, const char *ylabel,
                     const gx_plot_series *series, int n_series, gx_error *err);

/* Confusion matrix C [K, K] (row-major, rows the true class, columns the predicted class; counts
 * >= 0) as a heatmap: each cell coloured white-to-blue by its share of its row (a row without
 * examples stays white), its count written in it (white on dark cells; the font shrinks from 12
 * to 8 px to fit, and counts are left out when even that does not fit), class names on both axes
 * (the column names turned a quarter turn when wider than a cell), the axis titles "true class"
 * and "predicted class", and a colour bar for the row share. Cells are 56 px for K <= 5, else
 * clamp(480 / K, 14, 48) px. names may be NULL (the class numbers are shown); title may be
 * NULL. 1 <= K <= 1000. */
int gx_confusion_png(const char *path, const int64_t *C, int K, const char *const *names,
                     const char *title, gx_error *err);
int gx_confusion_size(const int64_t *C, int K, const char *const *names, const char *title,
                      int *width, int *height, gx_error *err);

#endif
