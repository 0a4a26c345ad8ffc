#include "data/splits.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gx_split_init(gx_split *s) { memset(s, 0, sizeof *s); }

void gx_split_free(gx_split *s) {
    free(s->take);
    free(s->rest);
    gx_split_init(s);
}

/* ---- helpers ------------------------------------------------------------------------------ */

int gx_index_range(int64_t n, int64_t **out, gx_error *err) {
    if (n < 0) return gx_fail(err, "index range of negative length %lld", (long long)n);
    int64_t *a = gx_calloc((size_t)(n ? n : 1), sizeof *a, "index array", err);
    if (!a) return -1;
    for (int64_t i = 0; i < n; i++) a[i] = i;
    *out = a;
    return 0;
}

void gx_index_shuffle(gx_rng *rng, int64_t *idx, int64_t m) {
    for (int64_t i = m - 1; i > 0; i--) {
        int64_t j = (int64_t)gx_rng_below(rng, (uint32_t)(i + 1));
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void gx_index_sort(int64_t *idx, int64_t m) {
    if (m > 1) qsort(idx, (size_t)m, sizeof *idx, cmp_i64);
}

/* Marks the rows of idx in mark[n] (allocated here), failing on out-of-range or repeated rows. */
static int mark_rows(const int64_t *idx, int64_t m, int64_t n, const char *what,
                     unsigned char **mark_out, gx_error *err) {
    unsigned char *mark = gx_calloc((size_t)(n ? n : 1), 1, "row marks", err);
    if (!mark) return -1;
    for (int64_t i = 0; i < m; i++) {
        int64_t r = idx[i];
        if (r < 0 || r >= n) {
            free(mark);
            return gx_fail(err, "%s: entry %lld is row %lld, outside [0, %lld)", what, (long long)i,
                           (long long)r, (long long)n);
        }
        if (mark[r]) {
            free(mark);
            return gx_fail(err, "%s: row %lld appears twice", what, (long long)r);
        }
        mark[r] = 1;
    }
    *mark_out = mark;
    return 0;
}

int gx_index_check(const int64_t *idx, int64_t m, int64_t n, const char *what, gx_error *err) {
    unsigned char *mark;
    if (mark_rows(idx, m, n, what, &mark, err) != 0) return -1;
    free(mark);
    return 0;
}

int gx_index_complement(const int64_t *idx, int64_t m, int64_t n, int64_t **out, int64_t *n_out,
                        gx_error *err) {
    unsigned char *mark;
    if (mark_rows(idx, m, n, "index set", &mark, err) != 0) return -1;
    int64_t *a = gx_calloc((size_t)(n - m > 0 ? n - m : 1), sizeof *a, "index array", err);
    if (!a) {
        free(mark);
        return -1;
    }
    int64_t k = 0;
    for (int64_t r = 0; r < n; r++)
        if (!mark[r]) a[k++] = r;
    free(mark);
    *out = a;
    *n_out = k;
    return 0;
}

int gx_index_of_classes(const gx_dataset *ds, const int64_t *idx, int64_t m, const int *classes,
                        int n_sel, int64_t **out, int64_t *n_out, gx_error *err) {
    if (!ds->y) return gx_fail(err, "%s: selecting rows by class needs labels", ds->source);
    if (!idx) m = ds->n;
    for (int i = 0; i < n_sel; i++)
        if (classes[i] < 0 || classes[i] >= ds->n_classes)
            return gx_fail(err, "%s: class %d out of range [0, %d)", ds->source, classes[i],
                           ds->n_classes);
    int64_t *a = gx_calloc((size_t)(m ? m : 1), sizeof *a, "index array", err);
    if (!a) return -1;
    int64_t k = 0;
    for (int64_t i = 0; i < m; i++) {
        int64_t r = idx ? idx[i] : i;
        if (r < 0 || r >= ds->n) {
            free(a);
            return gx_fail(err, "%s: row %lld out of range [0, %lld)", ds->source, (long long)r,
                           (long long)ds->n);
        }
        for (int c = 0; c < n_sel; c++)
            if (ds->y[r] == classes[c]) {
                a[k++] = r;
                break;
            }
    }
    *out = a;
    *n_out = k;
    return 0;
}

/* ---- stratified splits -------------------------------------------------------------------- */

/* The rows of the set grouped by class: rows[start[c] .. start[c+1]) hold class c's rows in set
 * order; the unlabelled rows are counted in n_unlabelled and not grouped. */
typedef struct {
    int64_t *rows;
    int64_t *start; /* [n_classes + 1] */
    int64_t n_unlabelled;
} groups;

static void groups_free(groups *g) {
    free(g->rows);
    free(g->start);
}

static int group_by_class(const gx_dataset *ds, const int64_t *idx, int64_t m, int allow_unlabelled,
                          const char *what, groups *g, gx_error *err) {
    memset(g, 0, sizeof *g);
    if (!ds->y) return gx_fail(err, "%s: %s needs labels, and the dataset has none", ds->source, what);
    if (ds->n_classes <= 0) return gx_fail(err, "%s: %s: the dataset has no classes", ds->source, what);
    if (idx) {
        char msg[sizeof ds->source + 200];
        snprintf(msg, sizeof msg, "%s: %s: index set", ds->source, what);
        if (gx_index_check(idx, m, ds->n, msg, err) != 0) return -1;
    } else {
        m = ds->n;
    }
    int K = ds->n_classes;
    g->start = gx_calloc((size_t)K + 1, sizeof *g->start, "class offsets", err);
    g->rows = g->start ? gx_calloc((size_t)(m ? m : 1), sizeof *g->rows, "class rows", err) : NULL;
    if (!g->rows) {
        groups_free(g);
        return -1;
    }
    for (int64_t i = 0; i < m; i++) {
        int64_t r = idx ? idx[i] : i;
        int32_t y = ds->y[r];
        if (y == GX_UNLABELLED && allow_unlabelled) {
            g->n_unlabelled++;
            continue;
        }
        if (y < 0 || y >= K) {
            groups_free(g);
            if (y == GX_UNLABELLED)
                return gx_fail(err, "%s: %s: row %lld is unlabelled", ds->source, what, (long long)r);
            return gx_fail(err, "%s: %s: row %lld has label %d, outside [0, %d)", ds->source, what,
                           (long long)r, (int)y, K);
        }
        g->start[y + 1]++;
    }
    for (int c = 0; c < K; c++) g->start[c + 1] += g->start[c];
    int64_t *fill = gx_calloc((size_t)K, sizeof *fill, "class offsets", err);
    if (!fill) {
        groups_free(g);
        return -1;
    }
    memcpy(fill, g->start, (size_t)K * sizeof *fill);
    for (int64_t i = 0; i < m; i++) {
        int64_t r = idx ? idx[i] : i;
        int32_t y = ds->y[r];
        if (y >= 0) g->rows[fill[y]++] = r;
    }
    free(fill);
    return 0;
}

/* Builds out from the set and a per-class count to take (after shuffling each class). */
static int cut_groups(const gx_dataset *ds, const int64_t *idx, int64_t m, groups *g,
                      const int64_t *n_take, gx_rng *rng, gx_split *out, gx_error *err) {
    if (!idx) m = ds->n;
    int K = ds->n_classes;
    int64_t total_take = 0;
    for (int c = 0; c < K; c++) total_take += n_take[c];
    int64_t *take = gx_calloc((size_t)(total_take ? total_take : 1), sizeof *take, "split", err);
    int64_t *rest = take ? gx_calloc((size_t)(m - total_take > 0 ? m - total_take : 1),
                                     sizeof *rest, "split", err)
                         : NULL;
    unsigned char *taken = rest ? gx_calloc((size_t)(ds->n ? ds->n : 1), 1, "row marks", err) : NULL;
    if (!taken) {
        free(take);
        free(rest);
        return -1;
    }
    int64_t nt = 0, nr = 0;
    for (int c = 0; c < K; c++) {
        int64_t *rows = g->rows + g->start[c];
        int64_t nc = g->start[c + 1] - g->start[c];
        gx_index_shuffle(rng, rows, nc);
        for (int64_t i = 0; i < n_take[c]; i++) {
            take[nt++] = rows[i];
            taken[rows[i]] = 1;
        }
    }
    for (int64_t i = 0; i < m; i++) {
        int64_t r = idx ? idx[i] : i;
        if (!taken[r]) rest[nr++] = r;
    }
    free(taken);
    gx_index_sort(take, nt);
    gx_index_sort(rest, nr);
    gx_split_free(out);
    out->take = take;
    out->n_take = nt;
    out->rest = rest;
    out->n_rest = nr;
    return 0;
}

int gx_split_per_class(const gx_dataset *ds, const int64_t *idx, int64_t m, int64_t k, gx_rng *rng,
                       gx_split *out, gx_error *err) {
    if (k < 0) return gx_fail(err, "%s: %lld examples per class: must be >= 0", ds->source, (long long)k);
    int K = ds->n_classes > 0 ? ds->n_classes : 1;
    int64_t *each = gx_calloc((size_t)K, sizeof *each, "class counts", err);
    if (!each) return -1;
    for (int c = 0; c < K; c++) each[c] = k;
    int rc = gx_split_counts(ds, idx, m, each, rng, out, err);
    free(each);
    return rc;
}

int gx_split_counts(const gx_dataset *ds, const int64_t *idx, int64_t m, const int64_t *k,
                    gx_rng *rng, gx_split *out, gx_error *err) {
    groups g;
    if (group_by_class(ds, idx, m, 1, "drawing examples per class", &g, err) != 0) return -1;
    int K = ds->n_classes;
    int64_t *n_take = gx_calloc((size_t)K, sizeof *n_take, "class counts", err);
    if (!n_take) {
        groups_free(&g);
        return -1;
    }
    for (int c = 0; c < K; c++) {
        int64_t nc = g.start[c + 1] - g.start[c];
        if (k[c] < 0 || nc < k[c]) {
            char buf[32];
            const char *name = gx_dataset_class_name(ds, c, buf, sizeof buf);
            free(n_take);
            groups_free(&g);
            if (k[c] < 0)
                return gx_fail(err, "%s: %lld examples of class '%s': must be >= 0", ds->source,
                               (long long)k[c], name);
            return gx_fail(err, "%s: class '%s' has %lld examples, fewer than the %lld per class asked for",
                           ds->source, name, (long long)nc, (long long)k[c]);
        }
        n_take[c] = k[c];
    }
    int rc = cut_groups(ds, idx, m, &g, n_take, rng, out, err);
    free(n_take);
    groups_free(&g);
    return rc;
}

int gx_split_fraction(const gx_dataset *ds, const int64_t *idx, int64_t m, double fraction,
                      gx_rng *rng, gx_split *out, gx_error *err) {
    if (!(fraction > 0.0 && fraction < 1.0))
        return gx_fail(err, "%s: split fraction %g: must be between 0 and 1 (exclusive)", ds->source,
                       fraction);
    groups g;
    if (group_by_class(ds, idx, m, 0, "a stratified split", &g, err) != 0) return -1;
    int K = ds->n_classes;
    int64_t *n_take = gx_calloc((size_t)K, sizeof *n_take, "class counts", err);
    if (!n_take) {
        groups_free(&g);
        return -1;
    }
    for (int c = 0; c < K; c++) {
        int64_t nc = g.start[c + 1] - g.start[c];
        int64_t t = (int64_t)floor(fraction * (double)nc + 0.5);
        if (nc >= 2) {
            if (t < 1) t = 1;
            if (t > nc - 1) t = nc - 1;
        } else {
            t = 0;
        }
        n_take[c] = t;
    }
    int rc = cut_groups(ds, idx, m, &g, n_take, rng, out, err);
    free(n_take);
    groups_free(&g);
    return rc;
}
