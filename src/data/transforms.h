/* Transforms of a dataset's values, in place: scaling, standardisation with stored statistics,
 * log10 of chosen columns, and image resize and padding. Each fails without changing the dataset
 * (checks first, then writes). */
#ifndef GX_TRANSFORMS_H
#define GX_TRANSFORMS_H

#include <stdint.h>

#include "data/dataset.h"

/* x *= factor for every value (e.g. 1/255 takes bytes to [0, 1]). factor must be finite. */
int gx_transform_scale(gx_dataset *ds, float factor, gx_error *err);

/* Per-column standardisation statistics: (x - mean) / std. Plain arrays of d floats, so that they
 * can be stored with a model and put back with gx_standardizer_set. */
typedef struct gx_standardizer {
    int64_t d;
    float *mean; /* [d] */
    float *std;  /* [d], all > 0 */
} gx_standardizer;

void gx_standardizer_init(gx_standardizer *s);
void gx_standardizer_free(gx_standardizer *s);

/* Fits mean and std (population std, divisor n, accumulated in double, two passes) of every column
 * of ds over the rows idx[0..m-1], or over all rows when idx is NULL. A constant column (min ==
 * max) gets std 1, so that it maps to 0. Non-finite values and an empty row set are errors. */
int gx_standardizer_fit(gx_standardizer *s, const gx_dataset *ds, const int64_t *idx, int64_t m,
                        gx_error *err);

/* Sets the statistics from stored arrays (copied); every std must be finite and > 0. */
int gx_standardizer_set(gx_standardizer *s, int64_t d, const float *mean, const float *std,
                        gx_error *err);

/* x <- (x - mean) / std on every row of ds; ds->d must equal s->d. */
/* Features in the same units in two datasets (a period in days in two surveys) keep one scale:
 * the statistics of s's features named in `features` ('+'-separated) become those of the
 * same-named features of src. names [s->d] and src_names [src->d] are the two datasets' column
 * names; a name missing from either is an error naming it. */
int gx_standardizer_borrow(gx_standardizer *s, const char *const *names, const char *features,
                           const gx_standardizer *src, const char *const *src_names,
                           gx_error *err);
int gx_standardizer_apply(const gx_standardizer *s, gx_dataset *ds, gx_error *err);
/* The same on a raw [n, s->d] matrix. */
void gx_standardizer_apply_rows(const gx_standardizer *s, float *x, int64_t n);
/* Drift: the rows of standardised data x [n, d] with some |value| above limit (standard
 * deviations from the training mean); *worst (may be NULL) receives the column most often above
 * it, or -1 when no row is. */
int64_t gx_rows_beyond(const float *x, int64_t n, int64_t d, float limit, int64_t *worst);

/* The inverse, x <- x * std + mean, on a raw [n, s->d] matrix (e.g. generated samples). */
void gx_standardizer_invert_rows(const gx_standardizer *s, float *x, int64_t n);

/* The column of ds called `name`: a feature name, else a column number written as an integer
 * ("3") or as the default name "c3". Fails with a message listing some valid names. */
int gx_find_column(const gx_dataset *ds, const char *name, int64_t *col, gx_error *err);

/* x <- log10(x) on the columns cols[0..ncols-1]. A value <= 0 (or non-finite) is an error naming
 * the column and the row; nothing is changed then. */
int gx_transform_log10(gx_dataset *ds, const int64_t *cols, int ncols, gx_error *err);
/* The same with columns given by name (see gx_find_column); names is NULL-terminated. */
int gx_transform_log10_named(gx_dataset *ds, const char *const *names, gx_error *err);

/* Images are stored row-major with interleaved channels (h x w x c, "HWC", as the IDX and HDF5
 * readers produce them); c = 1 for grey images.
 *
 * Bilinear resize of one image src [h, w, c] to dst [H, W, c], with the align_corners=False
 * convention of PyTorch's F.interpolate(mode='bilinear', align_corners=False, antialias=False):
 * pixel centres are at half-integers, so output pixel (i, j) samples the input at
 * y = (i + 0.5) * h / H - 0.5, x = (j + 0.5) * w / W - 0.5, each clamped below at 0, between
 * rows floor(y) and floor(y) + 1 (clamped at h - 1) with weights 1 - frac(y) and frac(y), and the
 * same for columns. No antialiasing when shrinking. Equal sizes give an exact copy. src and dst
 * must not overlap. */
void gx_resize_bilinear(const float *src, int h, int w, int c, float *dst, int H, int W);

/* Zero padding of one image src [h, w, c] by p pixels on each side into dst [h + 2p, w + 2p, c]. */
void gx_pad_image(const float *src, int h, int w, int c, int p, float *dst);

/* Whole-dataset versions. They need an image shape (height * width * max(channels, 1) == d; set it
 * with the reader or the spec option image=HxW); the new shape is recorded and feature names, which
 * no longer apply, are dropped. USPS into MNIST's frame (E2): resize to 20x20, then pad by 4. */
int gx_dataset_resize(gx_dataset *ds, int H, int W, gx_error *err);
int gx_dataset_pad(gx_dataset *ds, int p, gx_error *err);

#endif
