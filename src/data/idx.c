/* IDX reader (MNIST's format), plain or gzip'd, through zlib's gzread. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "core/memory.h"
#include "data/readers.h"
#include "data/readers_internal.h"

#define IDX_MAX_DIMS 4

typedef struct idx_file {
    const char *path;
    gzFile gz;
    int gzipped;
    uint64_t file_size;
    int ndim;
    uint32_t dims[IDX_MAX_DIMS];
    uint64_t count;    /* product of dims */
    uint64_t consumed; /* (uncompressed) bytes read so far */
} idx_file;

static const char *idx_type_name(int code) {
    switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return NULL;
    }
}

/* Reads exactly n bytes; fails naming the file when it ends early or is corrupt. */
static int idx_read(idx_file *f, void *buf, size_t n, const char *what, gx_error *err) {
    unsigned char *p = buf;
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done;
        if (chunk > (1u << 30)) chunk = 1u << 30;
        int got = gzread(f->gz, p + done, (unsigned)chunk);
        if (got > 0) {
            done += (size_t)got;
            f->consumed += (uint64_t)got;
            continue;
        }
        int code = Z_OK;
        const char *msg = gzerror(f->gz, &code);
        /* Z_BUF_ERROR: the gzip stream ends early. */
        if (code == Z_OK || code == Z_STREAM_END || code == Z_BUF_ERROR)
            return gx_fail(err, "%s: truncated: the %sdata end after %llu bytes, inside %s",
                           f->path, f->gzipped ? "uncompressed " : "",
                           (unsigned long long)f->consumed, what);
        return gx_fail(err, "%s: corrupt data while reading %s (%s)", f->path, what,
                       msg && *msg ? msg : "read error");
    }
    return 0;
}

static void idx_close(idx_file *f) {
    if (f->gz) gzclose(f->gz);
    f->gz = NULL;
}

/* Opens path and reads and checks its header: magic, type code 0x08, ndim in [min_dims,
 * max_dims], non-zero dimensions and a total size that the file can hold. */
static int idx_open(idx_file *f, const char *path, int min_dims, int max_dims, const char *role,
                    gx_error *err) {
    memset(f, 0, sizeof *f);
    f->path = path;
    if (!path || !*path) return gx_fail(err, "IDX %s file: no path given", role);
    FILE *fp = fopen(path, "rb");
    if (!fp) return gx_fail(err, "%s: cannot open IDX %s file: %s", path, role, strerror(errno));
    struct stat st;
    unsigned char head[2] = {0, 0};
    size_t nhead = fread(head, 1, 2, fp);
    int ok = fstat(fileno(fp), &st) == 0;
    fclose(fp);
    if (!ok) return gx_fail(err, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return gx_fail(err, "%s: not a regular file", path);
    f->file_size = (uint64_t)st.st_size;
    f->gzipped = nhead == 2 && head[0] == 0x1f && head[1] == 0x8b;

    f->gz = gzopen(path, "rb");
    if (!f->gz) return gx_fail(err, "%s: cannot open IDX %s file: %s", path, role, strerror(errno));
    gzbuffer(f->gz, 1 << 17);

    unsigned char magic[4];
    if (idx_read(f, magic, 4, "the IDX magic number", err) != 0) return -1;
    if (magic[0] != 0 || magic[1] != 0)
        return gx_fail(err,
                       "%s: not an IDX file: magic number bytes are %02x %02x %02x %02x; expected "
                       "00 00 <type> <ndim>",
                       path, magic[0], magic[1], magic[2], magic[3]);
    const char *tname = idx_type_name(magic[2]);
    if (!tname)
        return gx_fail(err, "%s: unknown IDX type code 0x%02x; expected 0x08 (unsigned byte)", path,
                       magic[2]);
    if (magic[2] != 0x08)
        return gx_fail(err,
                       "%s: IDX type code 0x%02x (%s) is not supported for %s; expected 0x08 "
                       "(unsigned byte)",
                       path, magic[2], tname, role);
    f->ndim = magic[3];
    if (f->ndim < min_dims || f->ndim > max_dims) {
        if (min_dims == max_dims)
            return gx_fail(err, "%s: IDX %s file has %d dimensions; expected %d", path, role,
                           f->ndim, min_dims);
        return gx_fail(err, "%s: IDX %s file has %d dimensions; expected %d to %d", path, role,
                       f->ndim, min_dims, max_dims);
    }
    unsigned char raw[4 * IDX_MAX_DIMS];
    if (idx_read(f, raw, 4 * (size_t)f->ndim, "the IDX dimensions", err) != 0) return -1;
    uint64_t count = 1;
    int overflow = 0;
    for (int i = 0; i < f->ndim; i++) {
        const unsigned char *b = raw + 4 * i;
        f->dims[i] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (f->dims[i] == 0)
            return gx_fail(err, "%s: IDX dimension %d is 0; expected a positive size", path, i);
        if (count > UINT64_MAX / f->dims[i]) overflow = 1;
        else count *= f->dims[i];
    }
    char shape[96];
    int len = 0;
    for (int i = 0; i < f->ndim; i++)
        len += snprintf(shape + len, sizeof shape - (size_t)len, "%s%u", i ? " x " : "",
                        (unsigned)f->dims[i]);
    uint64_t header = 4 + 4 * (uint64_t)f->ndim;
    if (f->gzipped) {
        if (overflow || count > GX_MAX_ARRAY_BYTES)
            return gx_fail(err,
                           "%s: IDX header claims %s bytes, more than the %llu-byte limit for "
                           "gzip'd files",
                           path, shape, (unsigned long long)GX_MAX_ARRAY_BYTES);
        /* deflate expands at most 1032:1 */
        if (count > f->file_size * GX_DEFLATE_MAX_RATIO + 1024)
            return gx_fail(err,
                           "%s: truncated: IDX header claims %s = %llu bytes, more than a gzip "
                           "file of %llu bytes can hold",
                           path, shape, (unsigned long long)count,
                           (unsigned long long)f->file_size);
    } else if (overflow || count != f->file_size - header) {
        if (!overflow && count > f->file_size - header)
            return gx_fail(err,
                           "%s: truncated: IDX header claims %s = %llu bytes of data but the file "
                           "holds %llu",
                           path, shape, (unsigned long long)count,
                           (unsigned long long)(f->file_size - header));
        if (overflow)
            return gx_fail(err, "%s: IDX header claims %s bytes, larger than the file (%llu bytes)",
                           path, shape, (unsigned long long)f->file_size);
        return gx_fail(err,
                       "%s: IDX header claims %s = %llu bytes of data but the file holds %llu "
                       "(trailing bytes)",
                       path, shape, (unsigned long long)count,
                       (unsigned long long)(f->file_size - header));
    }
    f->count = count;
    return 0;
}

/* After the data: a gzip'd file must end here too. */
static int idx_expect_end(idx_file *f, gx_error *err) {
    unsigned char extra;
    int got = gzread(f->gz, &extra, 1);
    if (got > 0) return gx_fail(err, "%s: trailing bytes after the IDX data", f->path);
    if (got < 0) {
        int code;
        const char *msg = gzerror(f->gz, &code);
        return gx_fail(err, "%s: corrupt data at the end of the file (%s)", f->path,
                       msg && *msg ? msg : "read error");
    }
    return 0;
}

static int read_images(idx_file *f, gx_dataset *out, gx_error *err) {
    uint64_t n = f->dims[0];
    uint64_t d = f->count / n;
    if (d > INT32_MAX)
        return gx_fail(err, "%s: %llu values per image is too many", f->path,
                       (unsigned long long)d);
    /* what the header declares must fit the machine before any of it is read: the bytes and
     * then the floats (a gzip'd file of zeros of a few MB can declare tens of GB) */
    char what[160];
    snprintf(what, sizeof what, "%s: its %llu x %llu images (bytes, then float32)", f->path,
             (unsigned long long)n, (unsigned long long)d);
    if (gx_check_memory((double)f->count * (1.0 + sizeof(float)), what, err)) return -1;
    /* The bytes first, in a buffer that grows as data arrive: a short gzip stream whose header
     * claims a huge array fails at its end without a huge allocation. */
    size_t cap = f->count < ((uint64_t)1 << 24) ? (size_t)f->count : (size_t)1 << 24;
    size_t done = 0;
    unsigned char *bytes = gx_malloc(cap, "the IDX image data", err);
    if (!bytes) return gx_fail_prefix(err, "%s", f->path);
    while (done < f->count) {
        if (done == cap) {
            size_t ncap = f->count - cap < cap ? (size_t)f->count : 2 * cap;
            unsigned char *nb = realloc(bytes, ncap);
            if (!nb) {
                free(bytes);
                return gx_fail(err, "%s: out of memory reading %llu bytes of image data", f->path,
                               (unsigned long long)f->count);
            }
            bytes = nb;
            cap = ncap;
        }
        if (idx_read(f, bytes + done, cap - done, "the image data", err) != 0) {
            free(bytes);
            return -1;
        }
        done = cap;
    }
    if (idx_expect_end(f, err) != 0) {
        free(bytes);
        return -1;
    }
    if (gx_dataset_alloc(out, (int64_t)n, (int64_t)d, 0, err) != 0) {
        free(bytes);
        return gx_fail_prefix(err, "%s", f->path);
    }
    for (size_t i = 0; i < done; i++) out->x[i] = (float)bytes[i];
    free(bytes);
    if (f->ndim >= 3) {
        out->height = (int)f->dims[1];
        out->width = (int)f->dims[2];
        out->channels = f->ndim == 4 ? (int)f->dims[3] : 1;
    }
    return 0;
}

static int read_labels(idx_file *f, int n_classes, gx_dataset *out, gx_error *err) {
    out->y = gx_calloc((size_t)out->n, sizeof *out->y, "labels", err);
    if (!out->y) return gx_fail_prefix(err, "%s", f->path);
    unsigned char buf[1 << 16];
    int64_t done = 0;
    while (done < out->n) {
        size_t chunk = sizeof buf;
        if ((uint64_t)(out->n - done) < chunk) chunk = (size_t)(out->n - done);
        if (idx_read(f, buf, chunk, "the labels", err) != 0) return -1;
        for (size_t i = 0; i < chunk; i++) {
            if (n_classes > 0 && buf[i] >= n_classes)
                return gx_fail(err, "%s: label at row %lld is %u; expected a class index below %d",
                               f->path, (long long)(done + (int64_t)i), buf[i], n_classes);
            out->y[done + (int64_t)i] = buf[i];
        }
        done += (int64_t)chunk;
    }
    if (idx_expect_end(f, err) != 0) return -1;
    gx_reader_set_class_count(out, n_classes);
    return 0;
}

int gx_read_idx(const char *images_path, const char *labels_path, int n_classes, gx_dataset *out,
                gx_error *err) {
    gx_dataset_free(out);
    if (n_classes < 0 || n_classes > GX_READER_MAX_CLASSES)
        return gx_fail(err, "%s: invalid class count %d", images_path ? images_path : "IDX",
                       n_classes);
    idx_file im, lb;
    memset(&lb, 0, sizeof lb);
    int rc = -1;
    /* Both headers first, so that a mismatched pair fails before the data are read. */
    if (idx_open(&im, images_path, 2, 4, "images", err) != 0) goto done;
    if (labels_path) {
        if (idx_open(&lb, labels_path, 1, 1, "labels", err) != 0) goto done;
        if (lb.dims[0] != im.dims[0]) {
            gx_fail(err, "%s: has %u labels but %s has %u images", labels_path,
                    (unsigned)lb.dims[0], images_path, (unsigned)im.dims[0]);
            goto done;
        }
    }
    if (read_images(&im, out, err) != 0) goto done;
    gx_reader_set_source(out, images_path);
    if (labels_path) {
        if (read_labels(&lb, n_classes, out, err) != 0) goto done;
    } else {
        out->n_classes = n_classes;
    }
    rc = 0;
done:
    idx_close(&im);
    idx_close(&lb);
    if (rc != 0) gx_reader_fail(out);
    return rc;
}
