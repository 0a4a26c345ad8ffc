/* PNG figures drawn with cairo. For now one kind: a grid of small grayscale images, one row per
 * class (or per condition), with a text label at the left of each row and an optional title.
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

#include "core/error.h"

#define GX_FIG_MARGIN 10
#define GX_FIG_SPACING 2
#define GX_FIG_COND_GAP 14
#define GX_FIG_LABEL_GAP 8
#define GX_FIG_TITLE_H 26
#define GX_FIG_ROW_MIN 18
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

#endif
