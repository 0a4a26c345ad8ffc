/* Seeded splits of a labelled dataset into index sets: k labelled examples per class, stratified
 * train/test or train/validation parts, and small helpers on int64_t index arrays.
 *
 * Every split works on a set of rows of a dataset, idx[0..m-1] (or all rows when idx is NULL),
 * draws with the gx_rng it is given (use a GX_STREAM_SPLIT stream) and is a pure function of the
 * rows, their labels and the rng state: the same seed gives the same split. Classes are visited in
 * order 0..n_classes-1 and each class's rows, in the order given, are shuffled (Fisher-Yates with
 * gx_rng_below) before the cut. Both parts are returned in ascending row order. */
#ifndef GX_SPLITS_H
#define GX_SPLITS_H

#include <stdint.h>

#include "core/rng.h"
#include "data/dataset.h"

/* The two parts of a split; both arrays are allocated (never NULL after success, even if empty)
 * and released with gx_split_free. */
typedef struct gx_split {
    int64_t *take; /* the part drawn: the labelled examples, the test or the validation part */
    int64_t n_take;
    int64_t *rest; /* every other row of the input set */
    int64_t n_rest;
} gx_split;

void gx_split_init(gx_split *s);
void gx_split_free(gx_split *s);

/* take = k rows drawn from each class, rest = all other rows (including unlabelled rows, y ==
 * GX_UNLABELLED). Fails, naming the class, when a class has fewer than k rows in the set (a class
 * with none included). Use it for "k labels per class" (E1-E4) and for a validation part of a
 * fixed count per class. k >= 0. */
int gx_split_per_class(const gx_dataset *ds, const int64_t *idx, int64_t m, int64_t k, gx_rng *rng,
                       gx_split *out, gx_error *err);

/* As gx_split_per_class with k[c] rows of class c (k[0..n_classes-1] >= 0; 0 for a class the data
 * lack, so that a domain without some classes can still be split). */
int gx_split_counts(const gx_dataset *ds, const int64_t *idx, int64_t m, const int64_t *k,
                    gx_rng *rng, gx_split *out, gx_error *err);

/* Stratified split by fraction: from each class of n_c rows, take = round(fraction * n_c) rows
 * (half away from zero), but at least 1 and at most n_c - 1 when n_c >= 2; a class with a single
 * row keeps it in rest. 0 < fraction < 1. Every row must be labelled. Use it for train/test
 * (take = test) and for a validation fraction out of a labelled index set (take = validation). */
int gx_split_fraction(const gx_dataset *ds, const int64_t *idx, int64_t m, double fraction,
                      gx_rng *rng, gx_split *out, gx_error *err);

/* ---- helpers; arrays returned through out are allocated and freed by the caller ----------- */

/* out = 0, 1, ..., n-1. */
int gx_index_range(int64_t n, int64_t **out, gx_error *err);
/* Fisher-Yates shuffle of idx[0..m-1] with gx_rng_below (m < 2^32). */
void gx_index_shuffle(gx_rng *rng, int64_t *idx, int64_t m);
/* Sorts idx[0..m-1] ascending. */
void gx_index_sort(int64_t *idx, int64_t m);
/* Checks that every idx[i] is in [0, n) and none repeats; the message names `what`. */
int gx_index_check(const int64_t *idx, int64_t m, int64_t n, const char *what, gx_error *err);
/* The rows of [0, n) not in idx[0..m-1], ascending. */
int gx_index_complement(const int64_t *idx, int64_t m, int64_t n, int64_t **out, int64_t *n_out,
                        gx_error *err);
/* The rows of the set idx[0..m-1] (all rows when idx is NULL) whose label is one of
 * classes[0..n_sel-1], in the order of the set. */
int gx_index_of_classes(const gx_dataset *ds, const int64_t *idx, int64_t m, const int *classes,
                        int n_sel, int64_t **out, int64_t *n_out, gx_error *err);

#endif
