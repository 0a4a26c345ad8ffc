/* NumPy .npy reader and writer (format versions 1.0, 2.0 and 3.0). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/readers.h"
#include "data/readers_internal.h"
#include "io/atomic_file.h"

#define NPY_MAX_HEADER (1u << 20) /* numpy itself refuses headers over 10 KB by default */

static const struct {
    const char *code; /* without the byte-order character */
    gx_npy_dtype dtype;
    size_t size;
} npy_types[] = {
    {"f4", GX_NPY_F32, 4}, {"f8", GX_NPY_F64, 8}, {"u1", GX_NPY_U8, 1},
    {"i4", GX_NPY_I32, 4}, {"i8", GX_NPY_I64, 8},
};
#define N_NPY_TYPES (sizeof npy_types / sizeof npy_types[0])

static size_t dtype_size(gx_npy_dtype t) {
    for (size_t i = 0; i < N_NPY_TYPES; i++)
        if (npy_types[i].dtype == t) return npy_types[i].size;
    return 0;
}

static const char *dtype_code(gx_npy_dtype t) {
    for (size_t i = 0; i < N_NPY_TYPES; i++)
        if (npy_types[i].dtype == t) return npy_types[i].code;
    return NULL;
}

static int host_is_little(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static void byteswap(void *data, size_t count, size_t size) {
    unsigned char *p = data;
    for (size_t i = 0; i < count; i++, p += size)
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

void gx_npy_free(gx_npy_array *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* ---- the header: a Python dict literal ---- */

typedef struct hdr {
    const char *s, *end, *path;
} hdr;

static void skip_ws(hdr *h) {
    while (h->s < h->end && (*h->s == ' ' || *h->s == '\t' || *h->s == '\n' || *h->s == '\r'))
        h->s++;
}

static int expect(hdr *h, char c, const char *where, gx_error *err) {
    skip_ws(h);
    if (h->s >= h->end || *h->s != c)
        return gx_fail(err, "%s: malformed .npy header: expected '%c' %s", h->path, c, where);
    h->s++;
    return 0;
}

/* A quoted Python string (no escapes needed for the keys and dtypes we accept). */
static int parse_str(hdr *h, char *buf, size_t n, const char *what, gx_error *err) {
    skip_ws(h);
    if (h->s >= h->end || (*h->s != '\'' && *h->s != '"'))
        return gx_fail(err, "%s: malformed .npy header: expected a string for %s", h->path, what);
    char q = *h->s++;
    size_t len = 0;
    while (h->s < h->end && *h->s != q) {
        if (*h->s == '\\' || len + 1 >= n)
            return gx_fail(err, "%s: malformed .npy header: unsupported string for %s", h->path,
                           what);
        buf[len++] = *h->s++;
    }
    if (h->s >= h->end)
        return gx_fail(err, "%s: malformed .npy header: unterminated string for %s", h->path, what);
    h->s++;
    buf[len] = '\0';
    return 0;
}

static int parse_bool(hdr *h, int *v, gx_error *err) {
    skip_ws(h);
    size_t left = (size_t)(h->end - h->s);
    if (left >= 4 && memcmp(h->s, "True", 4) == 0) {
        *v = 1;
        h->s += 4;
        return 0;
    }
    if (left >= 5 && memcmp(h->s, "False", 5) == 0) {
        *v = 0;
        h->s += 5;
        return 0;
    }
    return gx_fail(err, "%s: malformed .npy header: fortran_order must be True or False", h->path);
}

static int parse_shape(hdr *h, int *ndim, int64_t *shape, gx_error *err) {
    if (expect(h, '(', "to open the shape tuple", err) != 0) return -1;
    *ndim = 0;
    for (;;) {
        skip_ws(h);
        if (h->s < h->end && *h->s == ')') {
            h->s++;
            return 0;
        }
        if (h->s >= h->end || *h->s < '0' || *h->s > '9')
            return gx_fail(err, "%s: malformed .npy header: shape must be a tuple of non-negative "
                           "integers", h->path);
        if (*ndim == 8)
            return gx_fail(err, "%s: .npy shape has more than 8 dimensions", h->path);
        int64_t v = 0;
        while (h->s < h->end && *h->s >= '0' && *h->s <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return gx_fail(err, "%s: .npy shape dimension %d is absurdly large", h->path,
                               *ndim);
            v = v * 10 + (*h->s++ - '0');
        }
        if (h->s < h->end && *h->s == 'L') h->s++; /* Python 2 long */
        shape[(*ndim)++] = v;
        skip_ws(h);
        if (h->s < h->end && *h->s == ',') {
            h->s++;
            continue;
        }
        if (h->s < h->end && *h->s == ')') continue;
        return gx_fail(err, "%s: malformed .npy header: expected ',' or ')' in the shape",
                       h->path);
    }
}

static int parse_header(const char *path, const char *text, size_t len, char *descr, size_t dn,
                        int *fortran, int *ndim, int64_t *shape, gx_error *err) {
    hdr h = {text, text + len, path};
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
    if (expect(&h, '{', "at the start of the header dict", err) != 0) return -1;
    for (;;) {
        skip_ws(&h);
        if (h.s < h.end && *h.s == '}') {
            h.s++;
            break;
        }
        char key[32];
        if (parse_str(&h, key, sizeof key, "a key", err) != 0) return -1;
        if (expect(&h, ':', "after a key", err) != 0) return -1;
        if (strcmp(key, "descr") == 0) {
            if (parse_str(&h, descr, dn, "descr", err) != 0) return -1;
            seen_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (parse_bool(&h, fortran, err) != 0) return -1;
            seen_fortran = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (parse_shape(&h, ndim, shape, err) != 0) return -1;
            seen_shape = 1;
        } else {
            return gx_fail(err, "%s: .npy header has an unexpected key '%s'", path, key);
        }
        skip_ws(&h);
        if (h.s < h.end && *h.s == ',') {
            h.s++;
            continue;
        }
        if (h.s < h.end && *h.s == '}') continue;
        return gx_fail(err, "%s: malformed .npy header: expected ',' or '}' after '%s'", path, key);
    }
    skip_ws(&h);
    if (h.s != h.end)
        return gx_fail(err, "%s: malformed .npy header: text after the closing '}'", path);
    if (!seen_descr || !seen_fortran || !seen_shape)
        return gx_fail(err, "%s: .npy header lacks the '%s' key", path,
                       !seen_descr ? "descr" : !seen_fortran ? "fortran_order" : "shape");
    return 0;
}

/* ---- reading ---- */

int gx_npy_read(const char *path, gx_npy_array *out, gx_error *err) {
    memset(out, 0, sizeof *out);
    if (!path || !*path) return gx_fail(err, ".npy: no path given");
    FILE *f = fopen(path, "rb");
    if (!f) return gx_fail(err, "%s: cannot open .npy file: %s", path, strerror(errno));
    char *header = NULL, *unzipped = NULL;
    int rc = -1;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        gx_fail(err, "%s: not a regular file", path);
        goto done;
    }
    uint64_t file_size = (uint64_t)st.st_size;
    unsigned char magic[2];
    if (file_size >= 2 && fread(magic, 1, 2, f) == 2 && gx_is_gzip_magic(magic)) {
        /* a gzip'd .npy (np.save into gzip.open): read as the uncompressed bytes */
        size_t n;
        fclose(f);
        f = NULL;
        if (!(unzipped = gx_read_gzip_whole(path, file_size, &n, ".npy file", err))) goto done;
        if (!(f = fmemopen(unzipped, n ? n : 1, "rb"))) {
            gx_fail(err, "%s: cannot read the uncompressed .npy data: %s", path, strerror(errno));
            goto done;
        }
        file_size = n;
    } else {
        rewind(f);
    }
    unsigned char pre[12];
    if (file_size < 10 || fread(pre, 1, 10, f) != 10) {
        gx_fail(err, "%s: truncated: too short for a .npy header (%llu bytes)", path,
                (unsigned long long)file_size);
        goto done;
    }
    if (memcmp(pre, "\x93NUMPY", 6) != 0) {
        gx_fail(err, "%s: not a .npy file: the magic string \\x93NUMPY is missing", path);
        goto done;
    }
    int major = pre[6], minor = pre[7];
    uint64_t hlen, prefix;
    if (major == 1) {
        hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8;
        prefix = 10;
    } else if (major == 2 || major == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            gx_fail(err, "%s: truncated .npy header", path);
            goto done;
        }
        hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 |
               (uint64_t)pre[11] << 24;
        prefix = 12;
    } else {
        gx_fail(err, "%s: unsupported .npy format version %d.%d; expected 1.0, 2.0 or 3.0", path,
                major, minor);
        goto done;
    }
    if (hlen > NPY_MAX_HEADER || prefix + hlen > file_size) {
        gx_fail(err, "%s: .npy header length %llu is %s (file size %llu bytes)", path,
                (unsigned long long)hlen,
                prefix + hlen > file_size ? "beyond the end of the file" : "absurdly large",
                (unsigned long long)file_size);
        goto done;
    }
    header = gx_malloc((size_t)hlen + 1, "the .npy header", err);
    if (!header) goto done;
    if (fread(header, 1, (size_t)hlen, f) != hlen) {
        gx_fail(err, "%s: read error in the .npy header", path);
        goto done;
    }
    header[hlen] = '\0';
    if (memchr(header, '\0', (size_t)hlen)) {
        gx_fail(err, "%s: malformed .npy header: NUL byte", path);
        goto done;
    }
    char descr[32];
    int fortran = 0, ndim = 0;
    int64_t shape[8];
    if (parse_header(path, header, (size_t)hlen, descr, sizeof descr, &fortran, &ndim, shape,
                     err) != 0)
        goto done;

    char order = descr[0];
    size_t ti = N_NPY_TYPES;
    if (order == '<' || order == '>' || order == '|' || order == '=')
        for (ti = 0; ti < N_NPY_TYPES; ti++)
            if (strcmp(descr + 1, npy_types[ti].code) == 0) break;
    if (ti == N_NPY_TYPES || (order == '|' && npy_types[ti].size != 1)) {
        gx_fail(err, "%s: unsupported .npy dtype '%s'; expected one of <f4 <f8 |u1 <i4 <i8 (or '>')",
                path, descr);
        goto done;
    }
    if (fortran) {
        gx_fail(err, "%s: .npy array is in Fortran order (fortran_order: True); expected C order",
                path);
        goto done;
    }
    size_t size = npy_types[ti].size;
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] != 0 && count > (UINT64_MAX / size) / (uint64_t)shape[i]) {
            gx_fail(err, "%s: .npy shape is absurdly large (dimension %d = %lld)", path, i,
                    (long long)shape[i]);
            goto done;
        }
        count *= (uint64_t)shape[i];
    }
    uint64_t bytes = count * size, avail = file_size - prefix - hlen;
    if (bytes != avail) {
        gx_fail(err, "%s: %s: the header's shape and dtype '%s' need %llu data bytes but the file "
                "holds %llu",
                path, bytes > avail ? "truncated" : "trailing bytes", descr,
                (unsigned long long)bytes, (unsigned long long)avail);
        goto done;
    }
    out->data = gx_malloc((size_t)bytes, "the .npy data", err);
    if (!out->data) {
        gx_fail_prefix(err, "%s", path);
        goto done;
    }
    if (fread(out->data, 1, (size_t)bytes, f) != bytes) {
        gx_fail(err, "%s: read error in the .npy data", path);
        goto done;
    }
    if (size > 1 && ((order == '<' && !host_is_little()) || (order == '>' && host_is_little())))
        byteswap(out->data, (size_t)count, size);
    out->dtype = npy_types[ti].dtype;
    out->ndim = ndim;
    for (int i = 0; i < ndim; i++) out->shape[i] = shape[i];
    out->count = (int64_t)count;
    rc = 0;
done:
    free(header);
    if (f) fclose(f);
    free(unzipped);
    if (rc != 0) gx_npy_free(out);
    return rc;
}

/* ---- writing ---- */

int gx_npy_write(const char *path, gx_npy_dtype dtype, int ndim, const int64_t *shape,
                 const void *data, gx_error *err) {
    if (!path || !*path) return gx_fail(err, ".npy: no path given");
    size_t size = dtype_size(dtype);
    if (!size) return gx_fail(err, "%s: invalid dtype %d", path, (int)dtype);
    if (ndim < 0 || ndim > 8) return gx_fail(err, "%s: invalid ndim %d", path, ndim);
    if (ndim > 0 && !shape) return gx_fail(err, "%s: no shape given", path);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return gx_fail(err, "%s: negative dimension %d", path, i);
        if (gx_mul_size(count, (size_t)shape[i], &count, "the .npy array", err) != 0)
            return gx_fail_prefix(err, "%s", path);
    }
    size_t bytes;
    if (gx_mul_size(count, size, &bytes, "the .npy array", err) != 0)
        return gx_fail_prefix(err, "%s", path);
    if (bytes > 0 && !data) return gx_fail(err, "%s: no data given", path);

    char dict[512];
    int len = snprintf(dict, sizeof dict, "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                       size == 1 ? '|' : '<', dtype_code(dtype));
    for (int i = 0; i < ndim; i++)
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%lld,%s", (long long)shape[i],
                        i + 1 < ndim ? " " : "");
    if (ndim > 1) len--; /* (3, 4) rather than (3, 4,); a 1-D shape keeps its comma: (5,) */
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    size_t total = 10 + (size_t)len + 1; /* + '\n' */
    size_t padded = (total + 63) / 64 * 64;
    size_t hlen = padded - 10;
    char header[640];
    memcpy(header, "\x93NUMPY\x01\x00", 8);
    header[8] = (char)(hlen & 0xff);
    header[9] = (char)(hlen >> 8);
    memcpy(header + 10, dict, (size_t)len);
    memset(header + 10 + len, ' ', padded - 10 - (size_t)len - 1);
    header[padded - 1] = '\n';

    gx_atomic_file *af;
    if (gx_atomic_open(path, &af, err) != 0) return -1;
    gx_atomic_write(af, header, padded, err);
    if (bytes > 0) {
        if (size == 1 || host_is_little()) {
            gx_atomic_write(af, data, bytes, err);
        } else { /* big-endian host: swap through a small buffer */
            unsigned char chunk[1 << 14];
            const unsigned char *src = data;
            for (size_t off = 0; off < bytes; off += sizeof chunk) {
                size_t n = bytes - off < sizeof chunk ? bytes - off : sizeof chunk;
                memcpy(chunk, src + off, n);
                byteswap(chunk, n / size, size);
                gx_atomic_write(af, chunk, n, err);
            }
        }
    }
    return gx_atomic_commit(af, err); /* write errors are sticky: commit reports the first */
}

/* ---- dataset ---- */

static double npy_value(const gx_npy_array *a, int64_t i) {
    switch (a->dtype) {
    case GX_NPY_F32: return ((const float *)a->data)[i];
    case GX_NPY_F64: return ((const double *)a->data)[i];
    case GX_NPY_U8: return ((const unsigned char *)a->data)[i];
    case GX_NPY_I32: return ((const int32_t *)a->data)[i];
    case GX_NPY_I64: return (double)((const int64_t *)a->data)[i];
    }
    return NAN;
}

int gx_read_npy_dataset(const char *x_path, const char *labels_path, int n_classes, gx_dataset *out,
                        gx_error *err) {
    gx_dataset_free(out);
    if (n_classes < 0 || n_classes > GX_READER_MAX_CLASSES)
        return gx_fail(err, "%s: invalid class count %d", x_path ? x_path : ".npy", n_classes);
    gx_npy_array a, l;
    memset(&l, 0, sizeof l);
    if (gx_npy_read(x_path, &a, err) != 0) return gx_reader_fail(out);
    if (a.ndim < 2 || a.ndim > 4) {
        gx_fail(err, "%s: features array has %d dimensions; expected 2 (n x d) or 3 (n x h x w)",
                x_path, a.ndim);
        goto fail;
    }
    int64_t n = a.shape[0], d = 1;
    for (int i = 1; i < a.ndim; i++) d *= a.shape[i];
    if (n == 0 || d == 0) {
        gx_fail(err, "%s: features array is empty (shape has a 0)", x_path);
        goto fail;
    }
    if (d > INT32_MAX) {
        gx_fail(err, "%s: %lld features per row is too many", x_path, (long long)d);
        goto fail;
    }
    gx_reader_set_source(out, x_path);
    if (gx_dataset_alloc(out, n, d, 0, err) != 0) {
        gx_fail_prefix(err, "%s", x_path);
        goto fail;
    }
    if (a.ndim >= 3) {
        out->height = (int)a.shape[1];
        out->width = (int)a.shape[2];
        out->channels = a.ndim == 4 ? (int)a.shape[3] : 1;
    }
    for (int64_t i = 0; i < a.count; i++) {
        double v = npy_value(&a, i);
        if (!isfinite(v)) {
            gx_fail(err, "%s: non-finite value (%s) at row %lld, column %lld", x_path,
                    isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf", (long long)(i / d),
                    (long long)(i % d));
            goto fail;
        }
        if (fabs(v) > FLT_MAX) {
            gx_fail(err, "%s: value %g at row %lld, column %lld is out of float32 range", x_path,
                    v, (long long)(i / d), (long long)(i % d));
            goto fail;
        }
        out->x[i] = (float)v;
    }
    gx_npy_free(&a);
    if (labels_path) {
        if (gx_npy_read(labels_path, &l, err) != 0) goto fail;
        if (!(l.ndim == 1 || (l.ndim == 2 && l.shape[1] == 1))) {
            gx_fail(err, "%s: labels array has %d dimensions; expected a vector of %lld labels",
                    labels_path, l.ndim, (long long)n);
            goto fail;
        }
        if (l.shape[0] != n) {
            gx_fail(err, "%s: has %lld labels but %s has %lld rows", labels_path,
                    (long long)l.shape[0], x_path, (long long)n);
            goto fail;
        }
        out->y = gx_calloc((size_t)n, sizeof *out->y, "labels", err);
        if (!out->y) goto fail;
        for (int64_t i = 0; i < n; i++)
            if (gx_reader_label(npy_value(&l, i), i, n_classes, &out->y[i], labels_path, err) != 0)
                goto fail;
        gx_reader_set_class_count(out, n_classes);
        gx_npy_free(&l);
    } else {
        out->n_classes = n_classes;
    }
    return 0;
fail:
    gx_npy_free(&a);
    gx_npy_free(&l);
    return gx_reader_fail(out);
}
