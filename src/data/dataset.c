#include "data/dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/memory.h"
#include "data/readers_internal.h"

void gx_dataset_init(gx_dataset *ds) {
    memset(ds, 0, sizeof *ds);
}

static void free_strings(char **s, int64_t n) {
    if (!s) return;
    for (int64_t i = 0; i < n; i++) free(s[i]);
    free(s);
}

void gx_dataset_free(gx_dataset *ds) {
    if (!ds) return;
    free(ds->x);
    free(ds->y);
    free_strings(ds->class_names, ds->n_classes);
    free_strings(ds->ids, ds->n);
    free_strings(ds->feature_names, ds->d);
    gx_dataset_init(ds);
}

int gx_dataset_alloc(gx_dataset *ds, int64_t n, int64_t d, int labelled, gx_error *err) {
    char source[sizeof ds->source];
    memcpy(source, ds->source, sizeof source);
    gx_dataset_free(ds);
    memcpy(ds->source, source, sizeof source);
    if (n < 0 || d < 0)
        return gx_fail(err, "invalid dataset size %lld x %lld", (long long)n, (long long)d);
    size_t cells, bytes;
    if ((uint64_t)n > SIZE_MAX || (uint64_t)d > SIZE_MAX ||
        gx_mul_size((size_t)n, (size_t)d, &cells, "dataset", err) != 0 ||
        gx_mul_size(cells, sizeof(float), &bytes, "dataset", err) != 0)
        return gx_fail(err, "dataset of %lld x %lld float32 values is too large", (long long)n,
                       (long long)d);
    char what[96];
    snprintf(what, sizeof what, "a dataset of %lld x %lld float32 values", (long long)n,
             (long long)d);
    if (gx_check_memory((double)bytes, what, err)) return -1;
    ds->x = gx_malloc_aligned(bytes, "dataset features", err);
    if (!ds->x) return -1;
    memset(ds->x, 0, bytes);
    if (labelled) {
        ds->y = gx_calloc((size_t)n, sizeof *ds->y, "dataset labels", err);
        if (!ds->y) {
            free(ds->x);
            ds->x = NULL;
            return -1;
        }
        for (int64_t i = 0; i < n; i++) ds->y[i] = GX_UNLABELLED;
    }
    ds->n = n;
    ds->d = d;
    return 0;
}

static char *dup_string(const char *s, gx_error *err) {
    size_t len = strlen(s);
    char *p = gx_malloc(len + 1, "a name", err);
    if (p) memcpy(p, s, len + 1);
    return p;
}

int gx_dataset_set_classes(gx_dataset *ds, int n_classes, const char *const *names, gx_error *err) {
    if (n_classes < 0) return gx_fail(err, "invalid class count %d", n_classes);
    char **copy = NULL;
    if (names && n_classes > 0) {
        copy = gx_calloc((size_t)n_classes, sizeof *copy, "class names", err);
        if (!copy) return -1;
        for (int k = 0; k < n_classes; k++) {
            if (!names[k]) {
                free_strings(copy, n_classes);
                return gx_fail(err, "class %d has no name", k);
            }
            copy[k] = dup_string(names[k], err);
            if (!copy[k]) {
                free_strings(copy, n_classes);
                return -1;
            }
        }
    }
    free_strings(ds->class_names, ds->n_classes);
    ds->class_names = copy;
    ds->n_classes = n_classes;
    return 0;
}

const char *gx_dataset_class_name(const gx_dataset *ds, int k, char *buf, int buflen) {
    if (ds->class_names && k >= 0 && k < ds->n_classes && ds->class_names[k])
        return ds->class_names[k];
    if (buf && buflen > 0) {
        snprintf(buf, (size_t)buflen, "%d", k);
        return buf;
    }
    return "?";
}

static int copy_strings(char ***dst, char *const *src, const int64_t *idx, int64_t m,
                        gx_error *err) {
    *dst = NULL;
    if (!src) return 0;
    char **out = gx_calloc(m > 0 ? (size_t)m : 1, sizeof *out, "names", err);
    if (!out) return -1;
    for (int64_t i = 0; i < m; i++) {
        const char *s = src[idx ? idx[i] : i];
        out[i] = dup_string(s ? s : "", err);
        if (!out[i]) {
            free_strings(out, m);
            return -1;
        }
    }
    *dst = out;
    return 0;
}

int gx_dataset_subset(gx_dataset *dst, const gx_dataset *src, const int64_t *idx, int64_t m,
                      gx_error *err) {
    gx_dataset_free(dst);
    if (dst == src) return gx_fail(err, "subset: destination is the source dataset");
    if (m < 0 || (m > 0 && !idx)) return gx_fail(err, "subset: invalid row list");
    for (int64_t i = 0; i < m; i++)
        if (idx[i] < 0 || idx[i] >= src->n)
            return gx_fail(err, "subset of %s: row index %lld (position %lld) is outside [0, %lld)",
                           src->source[0] ? src->source : "dataset", (long long)idx[i],
                           (long long)i, (long long)src->n);
    memcpy(dst->source, src->source, sizeof dst->source);
    if (gx_dataset_alloc(dst, m, src->d, src->y != NULL, err) != 0) return gx_reader_fail(dst);
    for (int64_t i = 0; i < m; i++) {
        if (src->d > 0)
            memcpy(dst->x + i * dst->d, src->x + idx[i] * src->d, (size_t)src->d * sizeof(float));
        if (src->y) dst->y[i] = src->y[idx[i]];
    }
    dst->height = src->height;
    dst->width = src->width;
    dst->channels = src->channels;
    dst->n_classes = src->n_classes;
    if (copy_strings(&dst->class_names, src->class_names, NULL, src->n_classes, err) != 0 ||
        copy_strings(&dst->ids, src->ids, idx, m, err) != 0 ||
        copy_strings(&dst->feature_names, src->feature_names, NULL, src->d, err) != 0)
        return gx_reader_fail(dst);
    return 0;
}

int64_t gx_dataset_class_counts(const gx_dataset *ds, int64_t *counts) {
    if (counts)
        for (int k = 0; k < ds->n_classes; k++) counts[k] = 0;
    if (!ds->y) return ds->n;
    int64_t unlabelled = 0;
    for (int64_t i = 0; i < ds->n; i++) {
        int32_t c = ds->y[i];
        if (c >= 0 && c < ds->n_classes) {
            if (counts) counts[c]++;
        } else {
            unlabelled++;
        }
    }
    return unlabelled;
}

int64_t gx_dataset_find_nonfinite(const gx_dataset *ds) {
    int64_t total = ds->n * ds->d;
    for (int64_t i = 0; i < total; i++)
        if (!isfinite(ds->x[i])) return i;
    return -1;
}

int64_t gx_dataset_find_outside_unit(const gx_dataset *ds) {
    int64_t total = ds->n * ds->d;
    for (int64_t i = 0; i < total; i++)
        if (!(ds->x[i] >= 0.0f && ds->x[i] <= 1.0f)) return i;
    return -1;
}

int gx_dataset_map_classes(const gx_dataset *ds, char **names, int *n, int max, int add_missing,
                           int32_t *map, gx_error *err) {
    for (int k = 0; k < ds->n_classes; k++) {
        char buf[32];
        const char *name = gx_dataset_class_name(ds, k, buf, sizeof buf);
        map[k] = -1;
        for (int j = 0; j < *n && map[k] < 0; j++)
            if (!strcmp(names[j], name)) map[k] = j;
        if (map[k] >= 0) continue;
        if (!add_missing) {
            char list[512] = "";
            for (int j = 0; j < *n; j++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", j ? ", " : "", names[j]);
            }
            return gx_fail(err, "%s: class '%s' is not one of the model's classes (%s)", ds->source,
                           name, list);
        }
        if (*n == max) return gx_fail(err, "%s: more than %d classes in all", ds->source, max);
        if (!(names[*n] = strdup(name))) return gx_fail(err, "out of memory");
        map[k] = (*n)++;
    }
    return 0;
}

int gx_dataset_match_classes(gx_dataset *ds, char **names, int *n, int max, int add_missing,
                             gx_error *err) {
    if (!ds->y) return 0;
    int32_t *map = gx_calloc((size_t)(ds->n_classes > 0 ? ds->n_classes : 1), sizeof *map,
                             "class map", err);
    if (!map) return -1;
    int rc = gx_dataset_map_classes(ds, names, n, max, add_missing, map, err);
    if (!rc)
        for (int64_t i = 0; i < ds->n; i++)
            if (ds->y[i] >= 0) ds->y[i] = map[ds->y[i]];
    free(map);
    /* the dataset now uses the global class list */
    return rc ? -1 : gx_dataset_set_classes(ds, *n, (const char *const *)names, err);
}

int gx_dataset_set_image_shape(gx_dataset *ds, int h, int w, int c, gx_error *err) {
    if (h == 0 && w == 0 && c == 0) {
        ds->height = ds->width = ds->channels = 0;
        return 0;
    }
    if (h <= 0 || w <= 0 || c <= 0 || (int64_t)h * w * c != ds->d)
        return gx_fail(err, "%s: image shape %dx%dx%d does not match the %lld features per row",
                       ds->source[0] ? ds->source : "dataset", h, w, c, (long long)ds->d);
    ds->height = h;
    ds->width = w;
    ds->channels = c;
    return 0;
}

/* ---- helpers for the readers (readers_internal.h) ---- */

int gx_reader_fail(gx_dataset *out) {
    gx_dataset_free(out);
    return -1;
}

int gx_reader_label(double v, int64_t row, int n_classes, int32_t *out, const char *what,
                    gx_error *err) {
    if (!isfinite(v) || v != floor(v))
        return gx_fail(err, "%s: label at row %lld is %g; expected a non-negative integer", what,
                       (long long)row, v);
    if (v < 0)
        return gx_fail(err, "%s: label at row %lld is %g; expected a non-negative integer", what,
                       (long long)row, v);
    if (n_classes > 0 && v >= n_classes)
        return gx_fail(err, "%s: label at row %lld is %.0f; expected a class index below %d", what,
                       (long long)row, v, n_classes);
    if (v >= GX_READER_MAX_CLASSES)
        return gx_fail(err, "%s: label at row %lld is %.0f; expected a class index below %d", what,
                       (long long)row, v, GX_READER_MAX_CLASSES);
    *out = (int32_t)v;
    return 0;
}

void gx_reader_set_class_count(gx_dataset *ds, int n_classes) {
    if (n_classes > 0) {
        ds->n_classes = n_classes;
        return;
    }
    int32_t mx = -1;
    if (ds->y)
        for (int64_t i = 0; i < ds->n; i++)
            if (ds->y[i] > mx) mx = ds->y[i];
    ds->n_classes = mx + 1;
}

int gx_reader_check_finite(const gx_dataset *ds, const char *what, gx_error *err) {
    int64_t i = gx_dataset_find_nonfinite(ds);
    if (i < 0) return 0;
    float v = ds->x[i];
    return gx_fail(err, "%s: non-finite value (%s) at row %lld, column %lld", what,
                   isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"), (long long)(i / ds->d),
                   (long long)(i % ds->d));
}

void gx_reader_set_source(gx_dataset *ds, const char *s) {
    snprintf(ds->source, sizeof ds->source, "%s", s ? s : "");
}
