/* The training data's column names in a model, and columns of new data matched to them by name,
 * so that a file whose columns come in another order gives the same predictions, and a renamed
 * or missing column is an error instead of a silent wrong answer. */
#include <cJSON.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/ssdgm_io.h"

static void free_names(char **names, int n) {
    for (int j = 0; names && j < n; j++) free(names[j]);
    free(names);
}

/* names [n] copied into domain d's (replacing what was there). */
static int set_names(gx_model_info *info, int d, const char *const *names, int n, gx_error *err) {
    char **c = gx_calloc((size_t)n, sizeof *c, "feature names", err);
    if (!c) return -1;
    for (int j = 0; j < n; j++)
        if (!(c[j] = strdup(names[j]))) {
            free_names(c, j);
            return gx_fail(err, "out of memory for feature names");
        }
    free_names(info->feature_names[d], info->n_features[d]);
    info->feature_names[d] = c;
    info->n_features[d] = n;
    return 0;
}

/* impute [n] copied as domain d's (NULL: none). */
static int set_impute(gx_model_info *info, int d, const float *impute, int n, gx_error *err) {
    free(info->impute[d]);
    info->impute[d] = NULL;
    if (!impute) return 0;
    if (!(info->impute[d] = gx_malloc((size_t)n * sizeof(float), "impute values", err))) return -1;
    memcpy(info->impute[d], impute, (size_t)n * sizeof(float));
    return 0;
}

int gx_model_info_set_features(gx_model_info *info, int d, const gx_dataset *ds,
                               const float *impute, gx_error *err) {
    /* (images only: a table's values in [0, 1] may well go beyond on new data) */
    info->unit_range[d] = ds->height > 0 && ds->n > 0 && gx_dataset_find_outside_unit(ds) < 0;
    if (!ds->feature_names) return 0;
    for (int64_t j = 0; j < ds->d; j++)
        if (!ds->feature_names[j]) return 0; /* a column without a name: none are kept */
    if (set_names(info, d, (const char *const *)ds->feature_names, (int)ds->d, err)) return -1;
    return set_impute(info, d, impute, (int)ds->d, err);
}

/* The JSON value a (deleted here; NULL: out of memory) as metadata "domain.NAME.WHAT". */
static int write_meta(gx_st_writer *w, const char *domain, const char *what, cJSON *a,
                      gx_error *err) {
    char *json = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    if (!json) return gx_fail(err, "out of memory for the %s of domain %s", what, domain);
    char key[160];
    snprintf(key, sizeof key, "domain.%s.%s", domain, what);
    int rc = gx_st_writer_meta(w, key, json, err);
    free(json);
    return rc;
}

int gx_model_info_write_features(const gx_model_info *info, int d, const char *domain,
                                 gx_st_writer *w, gx_error *err) {
    if (info->unit_range[d]) {
        char key[160];
        snprintf(key, sizeof key, "domain.%s.range", domain);
        if (gx_st_writer_meta(w, key, "[0,1]", err)) return -1;
    }
    if (info->prior_ratio[d]) {
        cJSON *r = cJSON_CreateArray();
        for (int k = 0; r && k < info->n_classes; k++)
            cJSON_AddItemToArray(r, cJSON_CreateNumber((double)info->prior_ratio[d][k]));
        if (write_meta(w, domain, "prior_ratio", r, err)) return -1;
    }
    if (!info->feature_names[d]) return 0;
    const int n = info->n_features[d];
    if (write_meta(w, domain, "features",
                   cJSON_CreateStringArray((const char *const *)info->feature_names[d], n), err))
        return -1;
    if (!info->impute[d]) return 0;
    /* the fill values, as numbers that read back to the same floats (NaN, a column with nothing
     * missing in training and no value, as null) */
    cJSON *v = cJSON_CreateArray();
    for (int j = 0; v && j < n; j++) {
        const float x = info->impute[d][j];
        cJSON_AddItemToArray(v, isnan(x) ? cJSON_CreateNull() : cJSON_CreateNumber((double)x));
    }
    return write_meta(w, domain, "impute", v, err);
}

/* "domain.NAME.impute", if present: n_in numbers within float's range, or null (no value). */
static int read_impute(const gx_st_file *f, int d, const char *domain, int n_in,
                       gx_model_info *info, gx_error *err) {
    char key[160];
    snprintf(key, sizeof key, "domain.%s.impute", domain);
    const char *s = gx_st_metadata(f, key);
    if (!s) return 0;
    cJSON *a = cJSON_Parse(s);
    float *v = gx_malloc((size_t)n_in * sizeof *v, "impute values", err);
    int j = 0, rc = v ? 0 : -1;
    if (!rc && (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n_in))
        rc = gx_fail(err, "%s: metadata '%s' must be a JSON array of %d numbers", gx_st_path(f),
                     key, n_in);
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        if (rc) break;
        /* (a double beyond float's range would make the conversion undefined) */
        if (!cJSON_IsNull(e) && !(cJSON_IsNumber(e) && fabs(e->valuedouble) <= FLT_MAX))
            rc = gx_fail(err, "%s: metadata '%s': value %d is not a float32 number",
                         gx_st_path(f), key, j);
        else
            v[j++] = cJSON_IsNull(e) ? NAN : (float)e->valuedouble;
    }
    cJSON_Delete(a);
    if (rc) {
        free(v);
        return rc;
    }
    free(info->impute[d]);
    info->impute[d] = v;
    return 0;
}

/* "domain.NAME.prior_ratio", if present: n_classes positive finite numbers. */
static int read_prior_ratio(const gx_st_file *f, int d, const char *domain, gx_model_info *info,
                            gx_error *err) {
    char key[160];
    snprintf(key, sizeof key, "domain.%s.prior_ratio", domain);
    const char *s = gx_st_metadata(f, key);
    if (!s) return 0;
    const int K = info->n_classes;
    cJSON *a = cJSON_Parse(s);
    float *v = K > 0 ? gx_malloc((size_t)K * sizeof *v, "prior ratio", err) : NULL;
    int j = 0, rc = v ? 0 : -1;
    if (!rc && (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != K))
        rc = gx_fail(err, "%s: metadata '%s' must be a JSON array of %d numbers", gx_st_path(f),
                     key, K);
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        if (rc) break;
        if (!cJSON_IsNumber(e) || !(e->valuedouble > 0 && e->valuedouble <= 1e6))
            rc = gx_fail(err, "%s: metadata '%s': value %d is not a number in (0, 1e6]",
                         gx_st_path(f), key, j);
        else
            v[j++] = (float)e->valuedouble;
    }
    cJSON_Delete(a);
    if (rc) {
        free(v);
        return rc;
    }
    free(info->prior_ratio[d]);
    info->prior_ratio[d] = v;
    return 0;
}

int gx_model_info_read_features(const gx_st_file *f, int d, const char *domain, int n_in,
                                gx_model_info *info, gx_error *err) {
    if (read_prior_ratio(f, d, domain, info, err)) return -1;
    char key[160];
    snprintf(key, sizeof key, "domain.%s.range", domain);
    const char *range = gx_st_metadata(f, key);
    if (range && strcmp(range, "[0,1]"))
        return gx_fail(err, "%s: metadata '%s' is '%.40s', expected '[0,1]'", gx_st_path(f), key,
                       range);
    info->unit_range[d] = range != NULL;
    snprintf(key, sizeof key, "domain.%s.features", domain);
    const char *s = gx_st_metadata(f, key);
    if (!s) return 0;
    cJSON *a = cJSON_Parse(s);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n_in) {
        cJSON_Delete(a);
        return gx_fail(err, "%s: metadata '%s' must be a JSON array of the domain's %d column "
                            "names", gx_st_path(f), key, n_in);
    }
    const char **names = gx_calloc((size_t)n_in, sizeof *names, "feature names", err);
    int j = 0, rc = names ? 0 : -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        if (rc) break;
        if (!cJSON_IsString(e) || !e->valuestring[0]) {
            rc = gx_fail(err, "%s: metadata '%s': name %d is not a non-empty string",
                         gx_st_path(f), key, j);
            break;
        }
        for (int i = 0; i < j && !rc; i++)
            if (!strcmp(names[i], e->valuestring))
                rc = gx_fail(err, "%s: metadata '%s': columns %d and %d are both '%s'",
                             gx_st_path(f), key, i, j, e->valuestring);
        names[j++] = e->valuestring;
    }
    if (!rc) rc = set_names(info, d, names, n_in, err);
    free(names);
    cJSON_Delete(a);
    return rc ? rc : read_impute(f, d, domain, n_in, info, err);
}

int gx_model_info_match_columns(const gx_model_info *info, int d, int n_in, gx_dataset *ds,
                                const char *what, char *ignored, size_t n_ignored, gx_error *err) {
    if (ignored && n_ignored) ignored[0] = '\0';
    char **want = info->feature_names[d];
    if (!want || !ds->feature_names) {
        if (ds->d != n_in)
            return gx_fail(err, "%s: %lld features per example; the model takes %d", what,
                           (long long)ds->d, n_in);
        return 0;
    }
    /* where each training column is in ds */
    int64_t *from = gx_malloc((size_t)n_in * sizeof *from, "column order", err);
    if (!from) return -1;
    for (int j = 0; j < n_in; j++) {
        from[j] = -1;
        for (int64_t k = 0; k < ds->d && from[j] < 0; k++)
            if (ds->feature_names[k] && !strcmp(ds->feature_names[k], want[j])) from[j] = k;
        if (from[j] < 0) {
            free(from);
            return gx_fail(err, "%s: no column '%s', which the model was trained on (its columns: "
                                "%d, by name, in any order; the training data were '%s')",
                           what, want[j], n_in, info->prep_spec[d]);
        }
    }
    int in_order = ds->d == n_in;
    for (int j = 0; j < n_in && in_order; j++) in_order = from[j] == j;
    if (in_order) {
        free(from);
        return 0;
    }
    /* the extra columns, named once */
    size_t len = 0;
    for (int64_t k = 0; k < ds->d && ignored && n_ignored; k++) {
        int used = 0;
        for (int j = 0; j < n_in && !used; j++) used = from[j] == k;
        if (used) continue;
        int w = snprintf(ignored + len, n_ignored - len, "%s%s", len ? ", " : "",
                         ds->feature_names[k] ? ds->feature_names[k] : "?");
        if (w < 0 || (size_t)w >= n_ignored - len) break;
        len += (size_t)w;
    }
    /* rows rebuilt in the training order, in place (each row is read whole before it is written) */
    float *row = gx_malloc((size_t)ds->d * sizeof *row, "a row", err);
    char **names = gx_calloc((size_t)n_in, sizeof *names, "feature names", err);
    if (!row || !names) {
        free(row);
        free(names);
        free(from);
        return -1;
    }
    for (int64_t i = 0; i < ds->n; i++) {
        memcpy(row, ds->x + i * ds->d, (size_t)ds->d * sizeof *row);
        for (int j = 0; j < n_in; j++) ds->x[i * n_in + j] = row[from[j]];
    }
    for (int j = 0; j < n_in; j++) {
        names[j] = ds->feature_names[from[j]];
        ds->feature_names[from[j]] = NULL;
    }
    free_names(ds->feature_names, (int)ds->d);
    ds->feature_names = names;
    ds->d = n_in;
    free(row);
    free(from);
    return 0;
}
