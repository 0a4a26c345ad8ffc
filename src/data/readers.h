/* Readers for the data formats genxfer accepts. Each validates what it reads and fails with a
 * message naming the file and the field, line or column at fault; none leaves a half-filled
 * dataset behind (on failure *out is freed and re-initialised). Values are returned as float32 as
 * stored (no scaling: see transforms.h). */
#ifndef GX_READERS_H
#define GX_READERS_H

#include <stdint.h>

#include "data/dataset.h"

/* IDX (MNIST's format), plain or gzip'd (detected from the bytes, not the name). images_path holds
 * an idx3 (n x h x w), idx4 (n x h x w x c) or idx2 (n x d) array of unsigned bytes (type code
 * 0x08; others are refused); labels_path (may be NULL) an idx1 of n unsigned bytes. Images get
 * height/width/channels = h/w/1 (c for idx4). Class count = max label + 1 unless n_classes > 0 is
 * given (then a larger label is an error). */
int gx_read_idx(const char *images_path, const char *labels_path, int n_classes, gx_dataset *out,
                gx_error *err);

/* HDF5: a 2-D (n x d), 3-D (n x h x w) or 4-D (n x h x w x c) numeric dataset `data_name` and
 * optionally a 1-D integer (or integral float) label dataset `label_name` (may be NULL) of length
 * n; labels must be >= 0. NaN/Inf in the data are refused. 3-D data get an image shape, 2-D
 * none (see gx_dataset_set_image_shape). Turns off HDF5's automatic error printing
 * (H5Eset_auto2) for the default error stack. */
int gx_read_hdf5(const char *path, const char *data_name, const char *label_name, int n_classes,
                 gx_dataset *out, gx_error *err);

typedef enum { GX_MISSING_ERROR, GX_MISSING_DROP } gx_missing_policy;

typedef struct gx_csv_options {
    int has_header;            /* 1 (default): first line names the columns; 0: columns are "c0".. */
    char delimiter;            /* ',' by default */
    const char *label_column;  /* name (or index as text, e.g. "3") of the label column, or NULL */
    const char *id_column;     /* column used as example id, or NULL */
    const char *const *keep;   /* feature columns to keep (NULL-terminated), or NULL for all */
    const char *const *drop;   /* columns to drop (NULL-terminated), or NULL */
    /* Feature values that are missing ("", NA, N/A, nan, null, none; any case), non-numeric,
     * infinite or beyond float32: GX_MISSING_ERROR fails naming line and column, GX_MISSING_DROP
     * drops the row (counted in *dropped). */
    gx_missing_policy missing;
    /* Label values (surrounding spaces ignored; a missing label makes the row GX_UNLABELLED):
     * - label_classes given (NULL-terminated): class k is label_classes[k]; a value matches by
     *   text, or by integer value ("1.0" matches "1"); any other value is an error naming line
     *   and value.
     * - else, when every label is an integral number (e.g. "3" or "3.0"): one class per distinct
     *   value, sorted numerically and named by the value ("1".."4" become classes 0..3 named
     *   "1".."4"; 0..9 stay 0..9). A value absent from the file gets no class: pass
     *   label_classes to pin the mapping across files.
     * - else each distinct text is a class, in order of first appearance. */
    const char *const *label_classes;
} gx_csv_options;

void gx_csv_options_init(gx_csv_options *o);

/* Reads a CSV file (RFC 4180 quoting with "" escapes, LF or CRLF, blank lines and a UTF-8 BOM
 * skipped). Features are the columns other than the label and id columns, in file order (only
 * those in keep, when given; minus those in drop; naming an unknown column is an error). Ragged
 * rows, non-numeric or missing values are errors naming line and column (or, with
 * GX_MISSING_DROP, such rows are dropped and counted in *dropped, which may be NULL). Fills
 * feature_names from the header (or "c0".. without one) and ids from the id column. opt may be
 * NULL (defaults). */
int gx_read_csv(const char *path, const gx_csv_options *opt, gx_dataset *out, int64_t *dropped,
                gx_error *err);

/* NumPy .npy: a generic array as read from disk. */
typedef enum { GX_NPY_F32, GX_NPY_F64, GX_NPY_U8, GX_NPY_I32, GX_NPY_I64 } gx_npy_dtype;

typedef struct gx_npy_array {
    gx_npy_dtype dtype;
    int ndim;
    int64_t shape[8];
    int64_t count;   /* product of shape */
    void *data;      /* count elements of dtype, native byte order, C order */
} gx_npy_array;

void gx_npy_free(gx_npy_array *a);
/* Reads format versions 1.0, 2.0 (and 3.0); little- or big-endian ('<', '>', '|'); C order only. */
int gx_npy_read(const char *path, gx_npy_array *out, gx_error *err);
/* Writes a little-endian v1.0 file (header padded to 64 bytes) atomically through io/atomic_file.h:
 * a temporary file in the same folder, flush, fsync, rename; on failure it is removed and an
 * existing file at path is left as it was. */
int gx_npy_write(const char *path, gx_npy_dtype dtype, int ndim, const int64_t *shape,
                 const void *data, gx_error *err);

/* A dataset from an .npy of features (n x d, or n x h x w images; any supported dtype, converted to
 * float32, NaN/Inf refused) and an optional .npy of labels of length n (labels_path may be NULL):
 * integer or integral float values >= 0. Class count = max label + 1 unless n_classes > 0. */
int gx_read_npy_dataset(const char *x_path, const char *labels_path, int n_classes, gx_dataset *out,
                        gx_error *err);

#endif
