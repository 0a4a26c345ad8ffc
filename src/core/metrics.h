/* Classification metrics: confusion matrix, per-class precision / recall / F1 / support,
 * accuracy and macro F1, from integer labels. Pure computation, no I/O.
 *
 * Conventions (those of scikit-learn's precision_recall_fscore_support with zero_division=0):
 *   - confusion[i*K + j] counts the rows whose true class is i and predicted class is j.
 *   - precision_k = tp / (tp + fp), or 0 when class k is never predicted;
 *     recall_k    = tp / (tp + fn), or 0 when class k has no support;
 *     f1_k        = 2 tp / (2 tp + fp + fn) (the harmonic mean of the two), or 0 when undefined.
 *   - support_k is the number of rows whose true class is k.
 *   - macro_f1 is the mean of f1_k over the classes that occur in y_true or in y_pred (like
 *     sklearn's default labels = unique_labels(y_true, y_pred)); a class absent from both has
 *     precision = recall = f1 = 0 in the arrays but does not count in the mean.
 *   - accuracy is the fraction of rows with y_pred == y_true.
 *
 *     gx_class_metrics m;
 *     if (gx_class_metrics_init(&m, K, err) != 0) return -1;
 *     if (gx_class_metrics_compute(&m, y_true, y_pred, n, err) != 0) { ... }
 *     ...
 *     gx_class_metrics_free(&m);
 */
#ifndef GX_METRICS_H
#define GX_METRICS_H

#include <stdint.h>

#include "core/error.h"

/* Confusion counts into C [K, K] (row-major: rows true class, columns predicted class), from
 * y_true [n] and y_pred [n]. C is overwritten. A label outside [0, K) is an error naming the
 * array, the row and the label (C is then unspecified). K >= 1; n >= 0. */
int gx_confusion(const int32_t *y_true, const int32_t *y_pred, int64_t n, int K, int64_t *C,
                 gx_error *err);

typedef struct gx_class_metrics {
    int K;               /* number of classes */
    int64_t *confusion;  /* [K, K] row-major, rows true class, columns predicted */
    double *precision;   /* [K] */
    double *recall;      /* [K] */
    double *f1;          /* [K] */
    int64_t *support;    /* [K] rows whose true class is k */
    double accuracy;     /* in [0, 1] */
    double macro_f1;     /* mean f1 over classes present in y_true or y_pred */
    int64_t n;           /* number of rows */
} gx_class_metrics;

/* Allocates the arrays for K >= 1 classes (zeroed). The struct owns them; release with
 * gx_class_metrics_free. On failure m holds no memory (free is still safe). */
int gx_class_metrics_init(gx_class_metrics *m, int K, gx_error *err);

/* Fills m (initialised with its K) from y_true [n] and y_pred [n], n >= 1. On error (a label
 * out of range, n < 1) the contents of m are unspecified but it can still be freed. */
int gx_class_metrics_compute(gx_class_metrics *m, const int32_t *y_true, const int32_t *y_pred,
                             int64_t n, gx_error *err);

/* Releases the arrays and zeroes the struct. Safe on a zeroed or already freed struct. */
void gx_class_metrics_free(gx_class_metrics *m);

/* out[i] = index of the largest of P[i*K .. i*K + K-1] (P is [n, K] row-major), for i < n. Ties
 * go to the lowest index; NaN entries are never chosen unless the whole row is NaN (then 0). */
void gx_argmax_rows(const float *P, int64_t n, int K, int32_t *out);

#endif
