#include "data/transforms.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gx_transform_scale(gx_dataset *ds, float factor, gx_error *err) {
    if (!isfinite(factor)) return gx_fail(err, "%s: scale factor %g is not finite", ds->source, factor);
    int64_t total = ds->n * ds->d;
    for (int64_t i = 0; i < total; i++) ds->x[i] *= factor;
    return 0;
}

/* ---- standardisation ---------------------------------------------------------------------- */

void gx_standardizer_init(gx_standardizer *s) {
    s->d = 0;
    s->mean = NULL;
    s->std = NULL;
}

void gx_standardizer_free(gx_standardizer *s) {
    free(s->mean);
    free(s->std);
    gx_standardizer_init(s);
}

/* Allocates mean/std of d floats into fresh pointers; the caller swaps them in. */
static int alloc_stats(int64_t d, float **mean, float **std, gx_error *err) {
    *mean = gx_calloc((size_t)(d ? d : 1), sizeof(float), "standardisation means", err);
    *std = *mean ? gx_calloc((size_t)(d ? d : 1), sizeof(float), "standardisation stds", err) : NULL;
    if (!*std) {
        free(*mean);
        *mean = NULL;
        return -1;
    }
    return 0;
}

static void install_stats(gx_standardizer *s, int64_t d, float *mean, float *std) {
    gx_standardizer_free(s);
    s->d = d;
    s->mean = mean;
    s->std = std;
}

int gx_standardizer_fit(gx_standardizer *s, const gx_dataset *ds, const int64_t *idx, int64_t m,
                        gx_error *err) {
    int64_t n = idx ? m : ds->n, d = ds->d;
    if (n <= 0) return gx_fail(err, "%s: cannot fit standardisation on no rows", ds->source);
    if (d <= 0) return gx_fail(err, "%s: cannot fit standardisation on no columns", ds->source);
    if (idx)
        for (int64_t r = 0; r < m; r++)
            if (idx[r] < 0 || idx[r] >= ds->n)
                return gx_fail(err, "%s: row index %lld out of range [0, %lld)", ds->source,
                               (long long)idx[r], (long long)ds->n);
    double *sum = gx_calloc((size_t)d, 4 * sizeof(double), "standardisation accumulators", err);
    if (!sum) return -1;
    double *sq = sum + d, *lo = sum + 2 * d, *hi = sum + 3 * d;
    for (int64_t j = 0; j < d; j++) {
        lo[j] = INFINITY;
        hi[j] = -INFINITY;
    }
    for (int64_t r = 0; r < n; r++) {
        int64_t row = idx ? idx[r] : r;
        const float *x = ds->x + row * d;
        for (int64_t j = 0; j < d; j++) {
            if (!isfinite(x[j])) {
                free(sum);
                return gx_fail(err, "%s: cannot fit standardisation: row %lld, column %lld is %g",
                               ds->source, (long long)row, (long long)j, x[j]);
            }
            sum[j] += x[j];
            if (x[j] < lo[j]) lo[j] = x[j];
            if (x[j] > hi[j]) hi[j] = x[j];
        }
    }
    for (int64_t j = 0; j < d; j++) sum[j] /= (double)n; /* now the mean */
    for (int64_t r = 0; r < n; r++) {
        const float *x = ds->x + (idx ? idx[r] : r) * d;
        for (int64_t j = 0; j < d; j++) {
            double dev = x[j] - sum[j];
            sq[j] += dev * dev;
        }
    }
    float *mean, *std;
    if (alloc_stats(d, &mean, &std, err) != 0) {
        free(sum);
        return -1;
    }
    for (int64_t j = 0; j < d; j++) {
        mean[j] = (float)sum[j];
        double sd = sqrt(sq[j] / (double)n);
        std[j] = (lo[j] == hi[j] || !((float)sd > 0.0f)) ? 1.0f : (float)sd;
    }
    free(sum);
    install_stats(s, d, mean, std);
    return 0;
}

int gx_standardizer_set(gx_standardizer *s, int64_t d, const float *mean, const float *std,
                        gx_error *err) {
    if (d <= 0) return gx_fail(err, "standardisation statistics: %lld columns", (long long)d);
    for (int64_t j = 0; j < d; j++) {
        if (!isfinite(mean[j]))
            return gx_fail(err, "standardisation statistics: mean of column %lld is %g",
                           (long long)j, mean[j]);
        if (!isfinite(std[j]) || !(std[j] > 0.0f))
            return gx_fail(err, "standardisation statistics: std of column %lld is %g (must be > 0)",
                           (long long)j, std[j]);
    }
    float *m, *sd;
    if (alloc_stats(d, &m, &sd, err) != 0) return -1;
    memcpy(m, mean, (size_t)d * sizeof(float));
    memcpy(sd, std, (size_t)d * sizeof(float));
    install_stats(s, d, m, sd);
    return 0;
}

/* The index of name in names [n], or -1. */
static int64_t find_name(const char *const *names, int64_t n, const char *name, size_t len) {
    for (int64_t j = 0; names && j < n; j++)
        if (names[j] && strlen(names[j]) == len && !strncmp(names[j], name, len)) return j;
    return -1;
}

int gx_standardizer_borrow(gx_standardizer *s, const char *const *names, const char *features,
                           const gx_standardizer *src, const char *const *src_names,
                           gx_error *err) {
    for (const char *f = features; *f;) {
        const size_t len = strcspn(f, "+");
        if (len == 0) return gx_fail(err, "empty feature name in '%s'", features);
        const int64_t j = find_name(names, s->d, f, len);
        const int64_t k = find_name(src_names, src->d, f, len);
        if (j < 0 || k < 0)
            return gx_fail(err, "feature '%.*s' is not a column of %s", (int)len, f,
                           j < 0 ? "this domain" : "the domain whose statistics it takes");
        s->mean[j] = src->mean[k];
        s->std[j] = src->std[k];
        f += len + (f[len] == '+');
    }
    return 0;
}

void gx_standardizer_apply_rows(const gx_standardizer *s, float *x, int64_t n) {
    int64_t d = s->d;
    for (int64_t r = 0; r < n; r++) {
        float *row = x + r * d;
        for (int64_t j = 0; j < d; j++) row[j] = (row[j] - s->mean[j]) / s->std[j];
    }
}

int64_t gx_rows_beyond(const float *x, int64_t n, int64_t d, float limit, int64_t *worst) {
    int64_t rows = 0, best = 0;
    if (worst) *worst = -1;
    for (int64_t r = 0; r < n; r++) {
        const float *row = x + r * d;
        int beyond = 0;
        for (int64_t j = 0; j < d && !beyond; j++) beyond = fabsf(row[j]) > limit;
        rows += beyond;
    }
    if (!worst || rows == 0) return rows;
    for (int64_t j = 0; j < d; j++) { /* the column most often beyond */
        int64_t c = 0;
        for (int64_t r = 0; r < n; r++) c += fabsf(x[r * d + j]) > limit;
        if (c > best) best = c, *worst = j;
    }
    return rows;
}

void gx_standardizer_invert_rows(const gx_standardizer *s, float *x, int64_t n) {
    int64_t d = s->d;
    for (int64_t r = 0; r < n; r++) {
        float *row = x + r * d;
        for (int64_t j = 0; j < d; j++) row[j] = row[j] * s->std[j] + s->mean[j];
    }
}

int gx_standardizer_apply(const gx_standardizer *s, gx_dataset *ds, gx_error *err) {
    if (!s->mean || !s->std) return gx_fail(err, "%s: standardisation statistics not fitted", ds->source);
    if (ds->d != s->d)
        return gx_fail(err, "%s: has %lld columns but the standardisation statistics have %lld",
                       ds->source, (long long)ds->d, (long long)s->d);
    gx_standardizer_apply_rows(s, ds->x, ds->n);
    return 0;
}

/* ---- columns and log10 -------------------------------------------------------------------- */

static const char *column_label(const gx_dataset *ds, int64_t j, char *buf, size_t n) {
    if (ds->feature_names && ds->feature_names[j]) return ds->feature_names[j];
    snprintf(buf, n, "c%lld", (long long)j);
    return buf;
}

/* Parses a whole string as a non-negative integer; -1 when it is not one. */
static int64_t parse_index(const char *s) {
    if (!*s) return -1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') return -1;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    return errno ? -1 : (int64_t)v;
}

int gx_find_column(const gx_dataset *ds, const char *name, int64_t *col, gx_error *err) {
    if (ds->feature_names)
        for (int64_t j = 0; j < ds->d; j++)
            if (ds->feature_names[j] && !strcmp(ds->feature_names[j], name)) {
                *col = j;
                return 0;
            }
    int64_t j = parse_index(name[0] == 'c' ? name + 1 : name);
    if (j >= 0 && j < ds->d) {
        *col = j;
        return 0;
    }
    char list[400] = "", buf[32];
    size_t len = 0;
    for (int64_t k = 0; k < ds->d && len < sizeof list - 64; k++) {
        int w = snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "",
                         column_label(ds, k, buf, sizeof buf));
        if (w < 0) break;
        len += (size_t)w;
        if (k == 7 && ds->d > 9) {
            snprintf(list + len, sizeof list - len, ", ... (%lld columns)", (long long)ds->d);
            break;
        }
    }
    return gx_fail(err, "%s: no column '%s' (columns: %s)", ds->source, name, list);
}

int gx_transform_log10(gx_dataset *ds, const int64_t *cols, int ncols, gx_error *err) {
    char buf[32];
    for (int c = 0; c < ncols; c++) {
        int64_t j = cols[c];
        if (j < 0 || j >= ds->d)
            return gx_fail(err, "%s: log10: column %lld out of range [0, %lld)", ds->source,
                           (long long)j, (long long)ds->d);
        for (int64_t r = 0; r < ds->n; r++) {
            float v = ds->x[r * ds->d + j];
            if (!(v > 0.0f) || !isfinite(v))
                return gx_fail(err,
                               "%s: log10 of column '%s' (%lld): row %lld has value %g, not > 0",
                               ds->source, column_label(ds, j, buf, sizeof buf), (long long)j,
                               (long long)r, v);
        }
    }
    /* Checked every column first, so the transform is all or nothing; a repeated column would be
     * transformed twice, so refuse it. */
    for (int c = 0; c < ncols; c++)
        for (int c2 = 0; c2 < c; c2++)
            if (cols[c] == cols[c2])
                return gx_fail(err, "%s: log10: column '%s' given twice", ds->source,
                               column_label(ds, cols[c], buf, sizeof buf));
    for (int c = 0; c < ncols; c++)
        for (int64_t r = 0; r < ds->n; r++) {
            float *v = &ds->x[r * ds->d + cols[c]];
            *v = (float)log10((double)*v);
        }
    return 0;
}

int gx_transform_log10_named(gx_dataset *ds, const char *const *names, gx_error *err) {
    int k = 0;
    while (names[k]) k++;
    int64_t *cols = gx_calloc((size_t)(k ? k : 1), sizeof *cols, "log10 columns", err);
    if (!cols) return -1;
    for (int i = 0; i < k; i++)
        if (gx_find_column(ds, names[i], &cols[i], err) != 0) {
            free(cols);
            return -1;
        }
    int rc = gx_transform_log10(ds, cols, k, err);
    free(cols);
    return rc;
}

/* ---- images ------------------------------------------------------------------------------- */

/* Source coordinate of output index i for the align_corners=False convention. */
static void source_index(int i, int in, int out, int *i0, int *i1, float *frac) {
    double x = ((double)i + 0.5) * (double)in / (double)out - 0.5;
    if (x < 0.0) x = 0.0;
    int k = (int)x;
    if (k > in - 1) k = in - 1;
    *i0 = k;
    *i1 = k < in - 1 ? k + 1 : k;
    *frac = (float)(x - k);
}

void gx_resize_bilinear(const float *src, int h, int w, int c, float *dst, int H, int W) {
    if (h == H && w == W) {
        memcpy(dst, src, (size_t)h * (size_t)w * (size_t)c * sizeof(float));
        return;
    }
    size_t src_row = (size_t)w * (size_t)c;
    for (int i = 0; i < H; i++) {
        int r0, r1;
        float fy;
        source_index(i, h, H, &r0, &r1, &fy);
        const float *row0 = src + (size_t)r0 * src_row, *row1 = src + (size_t)r1 * src_row;
        float *out = dst + (size_t)i * (size_t)W * (size_t)c;
        for (int j = 0; j < W; j++) {
            int c0, c1;
            float fx;
            source_index(j, w, W, &c0, &c1, &fx);
            for (int k = 0; k < c; k++) {
                size_t a = (size_t)c0 * (size_t)c + (size_t)k, b = (size_t)c1 * (size_t)c + (size_t)k;
                float top = (1.0f - fx) * row0[a] + fx * row0[b];
                float bot = (1.0f - fx) * row1[a] + fx * row1[b];
                out[(size_t)j * (size_t)c + (size_t)k] = (1.0f - fy) * top + fy * bot;
            }
        }
    }
}

void gx_pad_image(const float *src, int h, int w, int c, int p, float *dst) {
    size_t W = (size_t)(w + 2 * p) * (size_t)c, row = (size_t)w * (size_t)c;
    memset(dst, 0, (size_t)(h + 2 * p) * W * sizeof(float));
    for (int i = 0; i < h; i++)
        memcpy(dst + (size_t)(i + p) * W + (size_t)p * (size_t)c, src + (size_t)i * row,
               row * sizeof(float));
}

static int check_image(const gx_dataset *ds, const char *what, gx_error *err) {
    if (ds->height <= 0 || ds->width <= 0)
        return gx_fail(err, "%s: %s needs images, but the dataset has no image shape (give image=HxW)",
                       ds->source, what);
    int c = ds->channels > 0 ? ds->channels : 1;
    if ((int64_t)ds->height * ds->width * c != ds->d)
        return gx_fail(err, "%s: image shape %dx%dx%d does not match %lld columns", ds->source,
                       ds->height, ds->width, c, (long long)ds->d);
    return 0;
}

/* Replaces ds->x by new H x W images, each the old one padded by p (p >= 0) or resized (p < 0),
 * and records the new shape. */
static int remap_images(gx_dataset *ds, int H, int W, int p, const char *what, gx_error *err) {
    if (check_image(ds, what, err) != 0) return -1;
    int c = ds->channels > 0 ? ds->channels : 1;
    size_t dn = (size_t)H * (size_t)W * (size_t)c, bytes;
    if (gx_mul_size((size_t)ds->n, dn * sizeof(float), &bytes, "images", err) != 0) return -1;
    float *nx = gx_malloc_aligned(bytes, "images", err);
    if (!nx) return -1;
    int h = ds->height, w = ds->width;
    int64_t old_d = ds->d;
    for (int64_t r = 0; r < ds->n; r++) {
        const float *src = ds->x + r * old_d;
        float *dst = nx + (size_t)r * dn;
        if (p >= 0) gx_pad_image(src, h, w, c, p, dst);
        else gx_resize_bilinear(src, h, w, c, dst, H, W);
    }
    free(ds->x);
    ds->x = nx;
    ds->d = (int64_t)dn;
    ds->height = H;
    ds->width = W;
    ds->channels = c;
    if (ds->feature_names) {
        for (int64_t j = 0; j < old_d; j++) free(ds->feature_names[j]);
        free(ds->feature_names);
        ds->feature_names = NULL;
    }
    return 0;
}

int gx_dataset_resize(gx_dataset *ds, int H, int W, gx_error *err) {
    if (H <= 0 || W <= 0 || H > 65536 || W > 65536)
        return gx_fail(err, "%s: resize to %dx%d: bad size", ds->source, H, W);
    return remap_images(ds, H, W, -1, "resize", err);
}

int gx_dataset_pad(gx_dataset *ds, int p, gx_error *err) {
    if (p < 0 || p > 65536) return gx_fail(err, "%s: pad by %d: bad size", ds->source, p);
    return remap_images(ds, ds->height + 2 * p, ds->width + 2 * p, p, "pad", err);
}
