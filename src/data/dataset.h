/* A dataset in memory: an n x d float32 matrix, optional integer labels with class names,
 * optional per-example ids and feature names, and where it came from. */
#ifndef GX_DATASET_H
#define GX_DATASET_H

#include <stdint.h>

#include "core/error.h"

#define GX_UNLABELLED (-1)

typedef struct gx_dataset {
    int64_t n, d;
    float *x;             /* [n, d] row-major */
    int32_t *y;           /* [n] class index in [0, n_classes), or GX_UNLABELLED; NULL if no labels */
    int n_classes;
    char **class_names;   /* [n_classes] or NULL (then classes are named "0", "1", ...) */
    char **ids;           /* [n] or NULL (then an example's id is its row number) */
    char **feature_names; /* [d] or NULL */
    int height, width, channels; /* image shape (height * width * channels == d), or all 0 */
    char source[512];     /* e.g. the path or spec it was read from, for messages */
    /* columns of the file the reader left out (neither feature, label, id nor a difference's
     * source), '+'-joined, "...": more; "" when none, for messages */
    char unread_columns[512];
} gx_dataset;

void gx_dataset_init(gx_dataset *ds);
void gx_dataset_free(gx_dataset *ds);

/* Allocates x [n, d] (zeroed, 64-byte aligned, released with free()) and, when labelled, y [n]
 * (set to GX_UNLABELLED); checks that n * d * 4 bytes is addressable and names the size when it
 * is not. Whatever ds held before is freed first (source is kept). */
int gx_dataset_alloc(gx_dataset *ds, int64_t n, int64_t d, int labelled, gx_error *err);

/* Class names: sets n_classes and copies the names (names may be NULL: classes "0", "1", ...).
 * Any previous names are freed. */
int gx_dataset_set_classes(gx_dataset *ds, int n_classes, const char *const *names, gx_error *err);

/* The class name of class k ("0", "1", ... when the dataset has no names); buf used when needed. */
const char *gx_dataset_class_name(const gx_dataset *ds, int k, char *buf, int buflen);

/* A new dataset holding the rows idx[0..m-1] of src (labels, ids, names and shape copied). dst
 * must not be src; whatever it held is freed. An index outside [0, src->n) is an error. */
int gx_dataset_subset(gx_dataset *dst, const gx_dataset *src, const int64_t *idx, int64_t m,
                      gx_error *err);

/* Counts per class into counts[n_classes]; returns the number of unlabelled rows. */
int64_t gx_dataset_class_counts(const gx_dataset *ds, int64_t *counts);

/* Index of the first non-finite value in x, or -1. */
int64_t gx_dataset_find_nonfinite(const gx_dataset *ds);

/* Index of the first value of x outside [0, 1] (NaN included), or -1: whether the data suit a
 * Bernoulli likelihood and need no standardisation. */
int64_t gx_dataset_find_outside_unit(const gx_dataset *ds);

/* map[k] [ds->n_classes]: the index in names[0..*n-1] of class k of ds, matched by name.
 * add_missing: append the names that are missing (*n grows, up to max; names are strdup'd);
 * otherwise a missing name is an error listing the known ones. */
int gx_dataset_map_classes(const gx_dataset *ds, char **names, int *n, int max, int add_missing,
                           int32_t *map, gx_error *err);

/* gx_dataset_map_classes, then ds's labels and class list are rewritten onto names[0..*n-1]. */
int gx_dataset_match_classes(gx_dataset *ds, char **names, int *n, int max, int add_missing,
                             gx_error *err);

/* Declares x's rows to be h x w x c images (e.g. "usps is 16x16"): fails unless h, w, c > 0 and
 * h * w * c == d. h = w = c = 0 clears the shape. */
int gx_dataset_set_image_shape(gx_dataset *ds, int h, int w, int c, gx_error *err);

#endif
