/* HDF5 reader (e.g. USPS: /train/data [7291, 256] float32, /train/target [7291] int). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "data/readers.h"
#include "data/readers_internal.h"

#define H5_MAX_DIMS 4

typedef struct h5_array {
    hid_t dset, space, type;
    int ndim;
    hsize_t dims[H5_MAX_DIMS];
} h5_array;

static void h5_array_close(h5_array *a) {
    if (a->type >= 0) H5Tclose(a->type);
    if (a->space >= 0) H5Sclose(a->space);
    if (a->dset >= 0) H5Dclose(a->dset);
    a->type = a->space = a->dset = H5I_INVALID_HID;
}

static const char *type_class_name(H5T_class_t c) {
    switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_ARRAY: return "array";
    case H5T_VLEN: return "variable-length";
    case H5T_OPAQUE: return "opaque";
    case H5T_BITFIELD: return "bitfield";
    case H5T_REFERENCE: return "reference";
    case H5T_TIME: return "time";
    default: return "unknown";
    }
}

/* Opens dataset `name`, checks it is a numeric array of min_dims..max_dims non-zero dimensions. */
static int h5_array_open(h5_array *a, hid_t file, const char *path, const char *name, int min_dims,
                         int max_dims, gx_error *err) {
    a->dset = a->space = a->type = H5I_INVALID_HID;
    a->ndim = 0;
    if (!name || !*name) return gx_fail(err, "%s: no HDF5 dataset name given", path);
    /* H5Lexists fails (rather than returning 0) when an intermediate group is missing. */
    htri_t exists = H5Lexists(file, name, H5P_DEFAULT);
    if (exists <= 0) return gx_fail(err, "%s: HDF5 dataset '%s' not found", path, name);
    a->dset = H5Dopen2(file, name, H5P_DEFAULT);
    if (a->dset < 0)
        return gx_fail(err, "%s: cannot open '%s' as an HDF5 dataset (is it a group?)", path, name);
    a->type = H5Dget_type(a->dset);
    a->space = H5Dget_space(a->dset);
    if (a->type < 0 || a->space < 0)
        return gx_fail(err, "%s: dataset '%s': cannot read its type or shape", path, name);
    H5T_class_t cls = H5Tget_class(a->type);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT)
        return gx_fail(err, "%s: dataset '%s' has %s elements; expected integer or float numbers",
                       path, name, type_class_name(cls));
    if (H5Sget_simple_extent_type(a->space) != H5S_SIMPLE)
        return gx_fail(err, "%s: dataset '%s' is a scalar or empty; expected an array", path, name);
    int nd = H5Sget_simple_extent_ndims(a->space);
    if (nd < min_dims || nd > max_dims) {
        if (min_dims == max_dims)
            return gx_fail(err, "%s: dataset '%s' has %d dimensions; expected %d", path, name, nd,
                           min_dims);
        return gx_fail(err, "%s: dataset '%s' has %d dimensions; expected %d to %d", path, name,
                       nd, min_dims, max_dims);
    }
    a->ndim = nd;
    if (H5Sget_simple_extent_dims(a->space, a->dims, NULL) != nd)
        return gx_fail(err, "%s: dataset '%s': cannot read its dimensions", path, name);
    uint64_t count = 1;
    for (int i = 0; i < nd; i++) {
        if (a->dims[i] == 0)
            return gx_fail(err, "%s: dataset '%s': dimension %d is 0; expected a positive size",
                           path, name, i);
        if (a->dims[i] > GX_MAX_ARRAY_BYTES || count > GX_MAX_ARRAY_BYTES / a->dims[i])
            return gx_fail(err, "%s: dataset '%s' is too large (more than %llu elements)", path,
                           name, (unsigned long long)GX_MAX_ARRAY_BYTES);
        count *= a->dims[i];
    }
    /* the data the file really holds: a dataset whose chunks were never written reads as its fill
     * value, so a file of a few KB could declare terabytes; compressed data expand at most about
     * 1032:1 (deflate) */
    const uint64_t declared = count * (uint64_t)H5Tget_size(a->type);
    const uint64_t stored = (uint64_t)H5Dget_storage_size(a->dset);
    hid_t dcpl = H5Dget_create_plist(a->dset);
    const int filters = dcpl >= 0 ? H5Pget_nfilters(dcpl) : 0;
    if (dcpl >= 0) H5Pclose(dcpl);
    if (stored < declared && (filters <= 0 || declared / GX_DEFLATE_MAX_RATIO > stored + 1024))
        return gx_fail(err, "%s: dataset '%s' declares %llu bytes but the file holds %llu of "
                            "them%s; expected the data written in full", path, name,
                       (unsigned long long)declared, (unsigned long long)stored,
                       filters > 0 ? " (more than compression can explain)"
                                   : " (unwritten chunks)");
    return 0;
}

static int read_features(hid_t file, const char *path, const char *name, gx_dataset *out,
                         gx_error *err) {
    h5_array a;
    int rc = -1;
    if (h5_array_open(&a, file, path, name, 2, 4, err) != 0) goto done;
    uint64_t n = a.dims[0], d = 1;
    for (int i = 1; i < a.ndim; i++) d *= a.dims[i];
    if (n * d > GX_MAX_ARRAY_BYTES / sizeof(float) || d > INT32_MAX) {
        gx_fail(err, "%s: dataset '%s' is too large (%llu x %llu floats)", path, name,
                (unsigned long long)n, (unsigned long long)d);
        goto done;
    }
    if (gx_dataset_alloc(out, (int64_t)n, (int64_t)d, 0, err) != 0) {
        gx_fail_prefix(err, "%s: dataset '%s'", path, name);
        goto done;
    }
    if (a.ndim >= 3) {
        out->height = (int)a.dims[1];
        out->width = (int)a.dims[2];
        out->channels = a.ndim == 4 ? (int)a.dims[3] : 1;
    }
    if (H5Dread(a.dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->x) < 0) {
        gx_fail(err, "%s: cannot read dataset '%s' (corrupt or truncated file?)", path, name);
        goto done;
    }
    char what[1200];
    snprintf(what, sizeof what, "%s: dataset '%s'", path, name);
    if (gx_reader_check_finite(out, what, err) != 0) {
        if (err && H5Tget_class(a.type) == H5T_FLOAT && H5Tget_size(a.type) > sizeof(float)) {
            size_t len = strlen(err->msg);
            snprintf(err->msg + len, sizeof err->msg - len, " (or a value beyond float32 range)");
        }
        goto done;
    }
    rc = 0;
done:
    h5_array_close(&a);
    return rc;
}

static int read_labels(hid_t file, const char *path, const char *name, int n_classes,
                       gx_dataset *out, gx_error *err) {
    h5_array a;
    double *buf = NULL;
    int rc = -1;
    if (h5_array_open(&a, file, path, name, 1, 2, err) != 0) goto done;
    if (a.ndim == 2 && a.dims[1] != 1) {
        gx_fail(err, "%s: label dataset '%s' is %llu x %llu; expected a vector of %lld labels",
                path, name, (unsigned long long)a.dims[0], (unsigned long long)a.dims[1],
                (long long)out->n);
        goto done;
    }
    if ((int64_t)a.dims[0] != out->n) {
        gx_fail(err, "%s: label dataset '%s' has %llu labels but the data has %lld rows", path,
                name, (unsigned long long)a.dims[0], (long long)out->n);
        goto done;
    }
    buf = gx_calloc((size_t)out->n, sizeof *buf, "labels", err);
    out->y = gx_calloc((size_t)out->n, sizeof *out->y, "labels", err);
    if (!buf || !out->y) goto done;
    if (H5Dread(a.dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        gx_fail(err, "%s: cannot read dataset '%s' (corrupt or truncated file?)", path, name);
        goto done;
    }
    char what[1200];
    snprintf(what, sizeof what, "%s: dataset '%s'", path, name);
    for (int64_t i = 0; i < out->n; i++)
        if (gx_reader_label(buf[i], i, n_classes, &out->y[i], what, err) != 0) goto done;
    gx_reader_set_class_count(out, n_classes);
    rc = 0;
done:
    free(buf);
    h5_array_close(&a);
    return rc;
}

int gx_read_hdf5(const char *path, const char *data_name, const char *label_name, int n_classes,
                 gx_dataset *out, gx_error *err) {
    gx_dataset_free(out);
    if (!path || !*path) return gx_fail(err, "HDF5: no path given");
    if (n_classes < 0 || n_classes > GX_READER_MAX_CLASSES)
        return gx_fail(err, "%s: invalid class count %d", path, n_classes);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    struct stat st;
    if (stat(path, &st) != 0) return gx_fail(err, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return gx_fail(err, "%s: not a regular file", path);
    if (H5Fis_hdf5(path) <= 0)
        return gx_fail(err, "%s: not an HDF5 file (no HDF5 signature found)", path);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return gx_fail(err, "%s: cannot open as HDF5 (corrupt or truncated file?)", path);
    int rc = read_features(file, path, data_name, out, err);
    if (rc == 0) gx_reader_set_source(out, path);
    if (rc == 0 && label_name) rc = read_labels(file, path, label_name, n_classes, out, err);
    else if (rc == 0) out->n_classes = n_classes;
    H5Fclose(file);
    if (rc != 0) return gx_reader_fail(out);
    return 0;
}
