#include "io/report.h"

#include <stdlib.h>
#include <string.h>

#include "io/atomic_file.h"

/* Name of class k: the caller's name, or the index in decimal written into buf. */
static const char *class_name(const char *const *names, int k, char *buf, size_t cap) {
    if (names && names[k]) return names[k];
    snprintf(buf, cap, "%d", k);
    return buf;
}

int gx_json_write_file(const char *path, const cJSON *obj, gx_error *err) {
    if (!obj) return gx_fail(err, "%s: no JSON object to write", path ? path : "(null)");
    char *text = cJSON_Print(obj);
    if (!text) return gx_fail(err, "%s: out of memory formatting JSON", path ? path : "(null)");
    gx_atomic_file *af;
    int rc = -1;
    if (gx_atomic_open(path, &af, err) == 0) {
        if (gx_atomic_write(af, text, strlen(text), err) != 0 ||
            gx_atomic_write(af, "\n", 1, err) != 0)
            gx_atomic_abort(af);
        else
            rc = gx_atomic_commit(af, err);
    }
    cJSON_free(text);
    return rc;
}

/* Adds item to obj under key; on failure (item NULL or not added) frees item and returns -1. */
static int add(cJSON *obj, const char *key, cJSON *item) {
    if (!item) return -1;
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return -1;
    }
    return 0;
}

static int append(cJSON *arr, cJSON *item) {
    if (!item) return -1;
    if (!cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        return -1;
    }
    return 0;
}

static const char *const metrics_keys[] = {"accuracy", "macro_f1", "n", "classes", "confusion"};

cJSON *gx_metrics_json(const gx_class_metrics *m, const char *const *class_names,
                       const cJSON *extra, gx_error *err) {
    if (!m || m->K < 1 || !m->confusion) {
        gx_fail(err, "metrics JSON: metrics not computed");
        return NULL;
    }
    if (extra && !cJSON_IsObject(extra)) {
        gx_fail(err, "metrics JSON: the extra fields must be a JSON object");
        return NULL;
    }
    const int K = m->K;
    cJSON *root = cJSON_CreateObject();
    if (!root) goto oom;
    if (add(root, "accuracy", cJSON_CreateNumber(m->accuracy)) != 0 ||
        add(root, "macro_f1", cJSON_CreateNumber(m->macro_f1)) != 0 ||
        add(root, "n", cJSON_CreateNumber((double)m->n)) != 0)
        goto oom;
    cJSON *classes = cJSON_CreateArray();
    if (add(root, "classes", classes) != 0) goto oom;
    for (int k = 0; k < K; k++) {
        char buf[16];
        cJSON *c = cJSON_CreateObject();
        if (append(classes, c) != 0 ||
            add(c, "name", cJSON_CreateString(class_name(class_names, k, buf, sizeof buf))) != 0 ||
            add(c, "precision", cJSON_CreateNumber(m->precision[k])) != 0 ||
            add(c, "recall", cJSON_CreateNumber(m->recall[k])) != 0 ||
            add(c, "f1", cJSON_CreateNumber(m->f1[k])) != 0 ||
            add(c, "support", cJSON_CreateNumber((double)m->support[k])) != 0)
            goto oom;
    }
    cJSON *conf = cJSON_CreateArray();
    if (add(root, "confusion", conf) != 0) goto oom;
    for (int i = 0; i < K; i++) {
        cJSON *row = cJSON_CreateArray();
        if (append(conf, row) != 0) goto oom;
        for (int j = 0; j < K; j++)
            if (append(row, cJSON_CreateNumber((double)m->confusion[(int64_t)i * K + j])) != 0)
                goto oom;
    }
    if (extra) {
        const cJSON *it;
        cJSON_ArrayForEach(it, extra) {
            if (!it->string) continue;
            for (size_t q = 0; q < sizeof metrics_keys / sizeof *metrics_keys; q++) {
                if (strcmp(it->string, metrics_keys[q]) == 0) {
                    cJSON_Delete(root);
                    gx_fail(err, "metrics JSON: extra field \"%s\" clashes with a metrics field",
                            it->string);
                    return NULL;
                }
            }
            if (add(root, it->string, cJSON_Duplicate(it, 1)) != 0) goto oom;
        }
    }
    return root;
oom:
    cJSON_Delete(root);
    gx_fail(err, "metrics JSON: out of memory");
    return NULL;
}

int gx_metrics_json_write(const char *path, const gx_class_metrics *m,
                          const char *const *class_names, const cJSON *extra, gx_error *err) {
    cJSON *root = gx_metrics_json(m, class_names, extra, err);
    if (!root) return gx_fail_prefix(err, "%s", path ? path : "(null)");
    int rc = gx_json_write_file(path, root, err);
    cJSON_Delete(root);
    return rc;
}

static int max_int(int a, int b) { return a > b ? a : b; }

static int digits(int64_t v) {
    int d = v < 0 ? 2 : 1;
    while (v >= 10 || v <= -10) {
        v /= 10;
        d++;
    }
    return d;
}

void gx_metrics_print(FILE *f, const gx_class_metrics *m, const char *const *class_names) {
    if (!f || !m || m->K < 1 || !m->confusion) return;
    const int K = m->K;
    char buf[16];
    int name_w = (int)strlen("class");
    int64_t max_count = m->n;
    for (int k = 0; k < K; k++)
        name_w = max_int(name_w, (int)strlen(class_name(class_names, k, buf, sizeof buf)));

    int64_t correct = 0;
    for (int k = 0; k < K; k++) correct += m->confusion[(int64_t)k * K + k];
    fprintf(f, "accuracy  %.4f  (%lld of %lld)\n", m->accuracy, (long long)correct,
            (long long)m->n);
    int present = 0;
    for (int k = 0; k < K; k++) {
        int64_t predicted = 0;
        for (int i = 0; i < K; i++) predicted += m->confusion[(int64_t)i * K + k];
        present += m->support[k] > 0 || predicted > 0;
    }
    if (present < K)
        fprintf(f, "macro F1  %.4f  (mean over the %d of %d classes that occur)\n\n", m->macro_f1,
                present, K);
    else
        fprintf(f, "macro F1  %.4f\n\n", m->macro_f1);

    int sup_w = max_int((int)strlen("support"), digits(max_count));
    fprintf(f, "%-*s  %9s  %9s  %9s  %*s\n", name_w, "class", "precision", "recall", "F1", sup_w,
            "support");
    for (int k = 0; k < K; k++)
        fprintf(f, "%-*s  %9.4f  %9.4f  %9.4f  %*lld\n", name_w,
                class_name(class_names, k, buf, sizeof buf), m->precision[k], m->recall[k],
                m->f1[k], sup_w, (long long)m->support[k]);

    /* Confusion matrix: each column as wide as its header and the largest count. */
    fprintf(f, "\nconfusion matrix (rows: true class, columns: predicted class)\n");
    const char *corner = "true \\ pred";
    int head_w = max_int(name_w, (int)strlen(corner));
    int num_w = digits(max_count);
    fprintf(f, "%-*s", head_w, corner);
    for (int j = 0; j < K; j++) {
        const char *nm = class_name(class_names, j, buf, sizeof buf);
        fprintf(f, "  %*s", max_int(num_w, (int)strlen(nm)), nm);
    }
    fputc('\n', f);
    for (int i = 0; i < K; i++) {
        fprintf(f, "%-*s", head_w, class_name(class_names, i, buf, sizeof buf));
        for (int j = 0; j < K; j++) {
            char jb[16];
            int w = max_int(num_w, (int)strlen(class_name(class_names, j, jb, sizeof jb)));
            fprintf(f, "  %*lld", w, (long long)m->confusion[(int64_t)i * K + j]);
        }
        fputc('\n', f);
    }
}

/* Writes s as one CSV field, quoted when it holds a comma, a quote, CR or LF (RFC 4180). */
static int csv_field(gx_atomic_file *af, const char *prefix, const char *s, gx_error *err) {
    int quote = strpbrk(s, ",\"\r\n") != NULL || (prefix && strpbrk(prefix, ",\"\r\n"));
    if (!quote) return gx_atomic_printf(af, err, "%s%s", prefix ? prefix : "", s);
    if (gx_atomic_write(af, "\"", 1, err) != 0) return -1;
    if (prefix && gx_atomic_write(af, prefix, strlen(prefix), err) != 0) return -1;
    for (const char *p = s; *p; p++) {
        if (*p == '"' && gx_atomic_write(af, "\"", 1, err) != 0) return -1;
        if (gx_atomic_write(af, p, 1, err) != 0) return -1;
    }
    return gx_atomic_write(af, "\"", 1, err);
}

/* The id field of row i: ids[i], else the row number. */
static int csv_id(gx_atomic_file *af, const char *const *ids, int64_t i, gx_error *err) {
    if (ids && ids[i]) return csv_field(af, NULL, ids[i], err);
    return gx_atomic_printf(af, err, "%lld", (long long)i);
}

/* The CSV of X [n, cols]: "id", then (with_pred) "predicted", then prefix + the name of each
 * column (names[j], else j). Each row: its id, (with_pred) the name of its argmax column, its
 * values as "%.9g". `what` names the columns and the values in messages. */
static int rows_csv_write(const char *path, const char *const *ids, int64_t n, const float *X,
                          int cols, const char *prefix, const char *const *names, int with_pred,
                          const char *what[2], gx_error *err) {
    const char *where = path ? path : "(null)";
    if (cols < 1) return gx_fail(err, "%s: %d %s; expected at least 1", where, cols, what[0]);
    if (n < 0) return gx_fail(err, "%s: negative number of rows (%lld)", where, (long long)n);
    if (n > 0 && !X) return gx_fail(err, "%s: no %s to write", where, what[1]);
    gx_atomic_file *af;
    if (gx_atomic_open(path, &af, err) != 0) return -1;
    char buf[32];
    if (gx_atomic_printf(af, err, with_pred ? "id,predicted" : "id") != 0) goto fail;
    for (int k = 0; k < cols; k++) {
        if (gx_atomic_write(af, ",", 1, err) != 0 ||
            csv_field(af, prefix, class_name(names, k, buf, sizeof buf), err) != 0)
            goto fail;
    }
    if (gx_atomic_write(af, "\n", 1, err) != 0) goto fail;
    for (int64_t i = 0; i < n; i++) {
        const float *row = X + i * (int64_t)cols;
        if (csv_id(af, ids, i, err) != 0) goto fail;
        if (with_pred) {
            int32_t pred;
            gx_argmax_rows(row, 1, cols, &pred);
            if (gx_atomic_write(af, ",", 1, err) != 0 ||
                csv_field(af, NULL, class_name(names, pred, buf, sizeof buf), err) != 0)
                goto fail;
        }
        for (int k = 0; k < cols; k++)
            if (gx_atomic_printf(af, err, ",%.9g", (double)row[k]) != 0) goto fail;
        if (gx_atomic_write(af, "\n", 1, err) != 0) goto fail;
    }
    return gx_atomic_commit(af, err);
fail:
    gx_atomic_abort(af);
    return -1;
}

int gx_predictions_csv_write(const char *path, const char *const *ids, int64_t n, const float *P,
                             int K, const char *const *class_names, gx_error *err) {
    const char *what[2] = {"classes", "probabilities"};
    return rows_csv_write(path, ids, n, P, K, "p_", class_names, 1, what, err);
}

int gx_latent_csv_write(const char *path, const char *const *ids, int64_t n, const float *Z,
                        int z, gx_error *err) {
    const char *what[2] = {"latent dimensions", "latent codes"};
    return rows_csv_write(path, ids, n, Z, z, "z_", NULL, 0, what, err);
}
