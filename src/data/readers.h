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

/* GX_MISSING_KEEP: a missing feature value reads as NaN, for the caller to fill (impute=). */
typedef enum { GX_MISSING_ERROR, GX_MISSING_DROP, GX_MISSING_KEEP } gx_missing_policy;

/* A computed feature: column `name` = column a - column b (a and b: names, or numbers from 0, of
 * the file's columns other than the label and id). */
typedef struct gx_csv_diff {
    const char *name, *a, *b;
} gx_csv_diff;

typedef struct gx_csv_options {
    int has_header;            /* 1 (default): first line names the columns; 0: columns are "c0".. */
    char delimiter;            /* ',' by default */
    /* Names of the file's columns in order (NULL-terminated), or NULL. They replace the header's
     * names (or "c0".. without a header); their count must equal the number of fields. */
    const char *const *column_names;
    const char *label_column;  /* name (or index as text, e.g. "3") of the label column, or NULL */
    const char *id_column;     /* column used as example id, or NULL */
    /* Feature columns to keep, in the order wanted (NULL-terminated), or NULL for all; they may
     * name the differences below. */
    const char *const *keep;
    const char *const *drop;   /* columns to drop (NULL-terminated), or NULL */
    const gx_csv_diff *diffs;  /* n_diffs computed features, appended after the file's columns */
    int n_diffs;
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
 * skipped). Features are, when keep is given, the columns it names in its order; else the columns
 * other than the label and id columns in file order followed by the differences; minus those in
 * drop (naming an unknown column, or a column twice in keep, is an error). A difference is
 * computed in double from the parsed values of its two columns, which are parsed (and checked)
 * even when they are not features themselves. Ragged rows, non-numeric or missing values are
 * errors naming line and column (or, with GX_MISSING_DROP, such rows are dropped and counted in
 * *dropped, which may be NULL). Fills feature_names from the column names and ids from the id
 * column. opt may be NULL (defaults). */
int gx_read_csv(const char *path, const gx_csv_options *opt, gx_dataset *out, int64_t *dropped,
                gx_error *err);

/* The same for several files (paths NULL-terminated) read as one table: their rows concatenated
 * in the order given. The first file fixes the columns; every other must have as many fields (and,
 * with a header, the same header), else the error names the file and line. With file_labels
 * (NULL-terminated, one per file; opt->label_column must then be NULL), every row of file f gets
 * the label file_labels[f], and the classes are the distinct file labels in order of first
 * appearance (files with equal labels share a class). Messages name the file and line at fault. */
int gx_read_csv_files(const char *const *paths, const char *const *file_labels,
                      const gx_csv_options *opt, gx_dataset *out, int64_t *dropped,
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
