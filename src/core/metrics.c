#include "core/metrics.h"

#include <stdlib.h>
#include <string.h>

int gx_confusion(const int32_t *y_true, const int32_t *y_pred, int64_t n, int K, int64_t *C,
                 gx_error *err) {
    if (K < 1) return gx_fail(err, "confusion matrix: %d classes; expected at least 1", K);
    if (n < 0) return gx_fail(err, "confusion matrix: negative number of rows (%lld)", (long long)n);
    if (n > 0 && (!y_true || !y_pred)) return gx_fail(err, "confusion matrix: missing labels");
    memset(C, 0, (size_t)K * (size_t)K * sizeof *C);
    for (int64_t i = 0; i < n; i++) {
        int32_t t = y_true[i], p = y_pred[i];
        if (t < 0 || t >= K)
            return gx_fail(err, "confusion matrix: true label at row %lld is %d; expected 0..%d",
                           (long long)i, (int)t, K - 1);
        if (p < 0 || p >= K)
            return gx_fail(err,
                           "confusion matrix: predicted label at row %lld is %d; expected 0..%d",
                           (long long)i, (int)p, K - 1);
        C[(int64_t)t * K + p]++;
    }
    return 0;
}

int gx_class_metrics_init(gx_class_metrics *m, int K, gx_error *err) {
    memset(m, 0, sizeof *m);
    if (K < 1) return gx_fail(err, "class metrics: %d classes; expected at least 1", K);
    m->K = K;
    m->confusion = gx_calloc((size_t)K * (size_t)K, sizeof *m->confusion, "confusion matrix", err);
    m->precision = gx_calloc((size_t)K, sizeof *m->precision, "precision", err);
    m->recall = gx_calloc((size_t)K, sizeof *m->recall, "recall", err);
    m->f1 = gx_calloc((size_t)K, sizeof *m->f1, "F1", err);
    m->support = gx_calloc((size_t)K, sizeof *m->support, "support", err);
    if (!m->confusion || !m->precision || !m->recall || !m->f1 || !m->support) {
        gx_class_metrics_free(m);
        return -1;
    }
    return 0;
}

void gx_class_metrics_free(gx_class_metrics *m) {
    if (!m) return;
    free(m->confusion);
    free(m->precision);
    free(m->recall);
    free(m->f1);
    free(m->support);
    memset(m, 0, sizeof *m);
}

int gx_class_metrics_compute(gx_class_metrics *m, const int32_t *y_true, const int32_t *y_pred,
                             int64_t n, gx_error *err) {
    if (!m || m->K < 1 || !m->confusion)
        return gx_fail(err, "class metrics: not initialised");
    if (n < 1) return gx_fail(err, "class metrics: no rows to evaluate");
    const int K = m->K;
    if (gx_confusion(y_true, y_pred, n, K, m->confusion, err) != 0) return -1;
    const int64_t *C = m->confusion;
    int64_t correct = 0;
    double f1_sum = 0.0;
    int present = 0;
    for (int k = 0; k < K; k++) {
        int64_t tp = C[(int64_t)k * K + k], support = 0, predicted = 0;
        for (int j = 0; j < K; j++) {
            support += C[(int64_t)k * K + j];
            predicted += C[(int64_t)j * K + k];
        }
        int64_t fn = support - tp, fp = predicted - tp;
        m->support[k] = support;
        m->precision[k] = predicted > 0 ? (double)tp / (double)predicted : 0.0;
        m->recall[k] = support > 0 ? (double)tp / (double)support : 0.0;
        int64_t denom = 2 * tp + fp + fn;
        m->f1[k] = denom > 0 ? 2.0 * (double)tp / (double)denom : 0.0;
        correct += tp;
        if (support > 0 || predicted > 0) {
            f1_sum += m->f1[k];
            present++;
        }
    }
    m->n = n;
    m->accuracy = (double)correct / (double)n;
    m->macro_f1 = present > 0 ? f1_sum / present : 0.0;
    return 0;
}

void gx_argmax_rows(const float *P, int64_t n, int K, int32_t *out) {
    for (int64_t i = 0; i < n; i++) {
        const float *row = P + i * (int64_t)K;
        int32_t best = -1;
        for (int k = 0; k < K; k++) {
            if (row[k] != row[k]) continue; /* NaN */
            if (best < 0 || row[k] > row[best]) best = k;
        }
        out[i] = best < 0 ? 0 : best;
    }
}
