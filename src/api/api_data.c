/* The gx_data handle of the public API: datasets from specs or from the caller's arrays. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "data/spec.h"

const char *gx_version(void) { return GENXFER_VERSION; }

/* Labelled data always carry class names, so that gx_data_class_name can hand out stable strings
 * and classes match across domains and models by name. */
static int name_classes(gx_dataset *ds, gx_error *err) {
    if (!ds->y || ds->class_names || ds->n_classes == 0) return 0;
    char **names = gx_calloc((size_t)ds->n_classes, sizeof *names, "class names", err);
    if (!names) return -1;
    int rc = 0;
    for (int k = 0; k < ds->n_classes && rc == 0; k++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%d", k);
        if (!(names[k] = strdup(buf))) rc = gx_fail(err, "out of memory naming classes");
    }
    if (rc == 0) rc = gx_dataset_set_classes(ds, ds->n_classes, (const char *const *)names, err);
    for (int k = 0; k < ds->n_classes; k++) free(names[k]);
    free(names);
    return rc;
}

gx_data *gx_data_load(const char *spec, gx_error *err) {
    if (!spec || !*spec) {
        gx_fail(err, "gx_data_load: empty dataset spec");
        return NULL;
    }
    gx_data *data = gx_calloc(1, sizeof *data, "a dataset handle", err);
    if (!data) return NULL;
    gx_dataset_init(&data->ds);
    if (gx_spec_load(spec, &data->ds, err) || name_classes(&data->ds, err)) {
        gx_data_free(data);
        return NULL;
    }
    data->from_spec = 1;
    return data;
}

gx_data *gx_data_from_arrays(int64_t rows, int64_t cols, const float *x, const int32_t *y,
                             int n_classes, const char *const *class_names, gx_error *err) {
    if (rows < 1 || cols < 1 || !x) {
        gx_fail(err, "gx_data_from_arrays: %lld x %lld values%s (expected at least 1 x 1)",
                (long long)rows, (long long)cols, x ? "" : " and no array");
        return NULL;
    }
    if (y && n_classes < 1) {
        gx_fail(err, "gx_data_from_arrays: labels given with %d classes", n_classes);
        return NULL;
    }
    if (y)
        for (int64_t i = 0; i < rows; i++)
            if (y[i] < -1 || y[i] >= n_classes) {
                gx_fail(err, "gx_data_from_arrays: label %d in row %lld is not in [0, %d) or -1",
                        (int)y[i], (long long)i, n_classes);
                return NULL;
            }
    gx_data *data = gx_calloc(1, sizeof *data, "a dataset handle", err);
    if (!data) return NULL;
    gx_dataset *ds = &data->ds;
    gx_dataset_init(ds);
    snprintf(ds->source, sizeof ds->source, "arrays");
    if (gx_dataset_alloc(ds, rows, cols, y != NULL, err)) goto fail;
    memcpy(ds->x, x, (size_t)rows * (size_t)cols * sizeof *ds->x);
    int64_t bad = gx_dataset_find_nonfinite(ds);
    if (bad >= 0) {
        gx_fail(err, "gx_data_from_arrays: row %lld, column %lld is not a finite number",
                (long long)(bad / cols), (long long)(bad % cols));
        goto fail;
    }
    if (y) {
        memcpy(ds->y, y, (size_t)rows * sizeof *ds->y);
        if (gx_dataset_set_classes(ds, n_classes, class_names, err) || name_classes(ds, err))
            goto fail;
    }
    return data;
fail:
    gx_data_free(data);
    return NULL;
}

void gx_data_free(gx_data *data) {
    if (!data) return;
    gx_dataset_free(&data->ds);
    free(data);
}

int64_t gx_data_rows(const gx_data *data) { return data->ds.n; }
int64_t gx_data_cols(const gx_data *data) { return data->ds.d; }
const float *gx_data_x(const gx_data *data) { return data->ds.x; }
const int32_t *gx_data_y(const gx_data *data) { return data->ds.y; }
int gx_data_classes(const gx_data *data) { return data->ds.y ? data->ds.n_classes : 0; }

const char *gx_data_class_name(const gx_data *data, int k) {
    const gx_dataset *ds = &data->ds;
    if (!ds->y || !ds->class_names || k < 0 || k >= ds->n_classes) return NULL;
    return ds->class_names[k];
}
