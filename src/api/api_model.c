/* The gx_model handle of the public API: prediction, labels in the model's classes, saving,
 * loading and what a model holds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/prior_shift.h"

/* Rows standardised and classified per call of gx_ssdgm_predict: the chunk `genxfer predict` uses,
 * so that both give the same bits. */
#define PREDICT_CHUNK 500

static int domain_index(const gx_model *model, const char *domain, gx_error *err) {
    if (!model) return gx_fail(err, "no model (NULL)");
    return gx_ssdgm_domain_index(&model->m, domain, err);
}

int gx_model_predict_rows(const gx_model *model, const char *domain, const float *x, int64_t rows,
                          int64_t cols, float *probs, gx_error *err) {
    int d = domain_index(model, domain, err);
    if (d < 0) return -1;
    const gx_domain_config *dc = &model->m.cfg.dom[d];
    if (cols != dc->n_in)
        return gx_fail(err, "%lld features per row, but domain %s of the model takes %d",
                       (long long)cols, dc->name, dc->n_in);
    if (rows < 0 || (rows > 0 && (!x || !probs)))
        return gx_fail(err, "gx_model_predict_rows: %lld rows%s", (long long)rows,
                       rows < 0 ? "" : " without an input or output array");
    if (rows == 0) return 0;
    const float *mean = model->info.prep_mean[d], *std = model->info.prep_std[d];
    int K = model->m.cfg.n_classes;
    /* Prediction runs the encoder in evaluation mode, which reads the parameters only; the
     * workspace is this call's, so several threads may share one model. */
    gx_ssdgm *m = (gx_ssdgm *)&model->m;
    gx_ssdgm_ws ws;
    /* prediction needs one branch per row: the rows count as labelled ones (no K-fold decoder) */
    if (gx_ssdgm_ws_alloc(&ws, m, PREDICT_CHUNK, 0, err)) return -1;
    float *buf = gx_malloc_aligned((size_t)PREDICT_CHUNK * dc->n_in * sizeof(float),
                                   "rows to classify", err);
    if (!buf) {
        gx_ssdgm_ws_free(&ws);
        return -1;
    }
    int rc = 0;
    for (int64_t start = 0; start < rows && rc == 0; start += PREDICT_CHUNK) {
        int n = (int)(rows - start < PREDICT_CHUNK ? rows - start : PREDICT_CHUNK);
        const float *src = x + start * cols;
        for (int64_t i = 0; i < (int64_t)n * cols; i++) {
            float v = src[i];
            if (!isfinite(v)) {
                rc = gx_fail(err, "row %lld, column %lld is not a finite number",
                             (long long)(start + i / cols), (long long)(i % cols));
                break;
            }
            int j = (int)(i % cols);
            buf[i] = mean ? (v - mean[j]) / std[j] : v;
        }
        if (rc == 0) gx_ssdgm_predict(m, &ws, d, buf, n, probs + start * K, NULL);
        if (rc == 0 && model->info.prior_ratio[d]) /* the label shift of train --prior-shift */
            gx_prior_shift_apply(probs + start * K, n, K, model->info.prior_ratio[d]);
    }
    free(buf);
    gx_ssdgm_ws_free(&ws);
    return rc;
}

int gx_model_predict(const gx_model *model, const char *domain, const gx_data *data, float *probs,
                     gx_error *err) {
    if (!data) return gx_fail(err, "gx_model_predict: no data (NULL)");
    if (gx_model_predict_rows(model, domain, data->ds.x, data->ds.n, data->ds.d, probs, err))
        return gx_fail_prefix(err, "%s", data->ds.source);
    return 0;
}

int gx_model_labels(const gx_model *model, const gx_data *data, int32_t *y, gx_error *err) {
    if (!model || !data || !y) return gx_fail(err, "gx_model_labels: NULL argument");
    const gx_dataset *ds = &data->ds;
    if (!ds->y) return gx_fail(err, "%s: the data have no labels", ds->source);
    int32_t map[GX_MAX_CLASSES];
    int n = model->info.n_classes;
    if (ds->n_classes > GX_MAX_CLASSES)
        return gx_fail(err, "%s: %d classes (at most %d)", ds->source, ds->n_classes,
                       GX_MAX_CLASSES);
    if (gx_dataset_map_classes(ds, model->info.class_names, &n, n, 0, map, err)) return -1;
    for (int64_t i = 0; i < ds->n; i++) y[i] = ds->y[i] >= 0 ? map[ds->y[i]] : -1;
    return 0;
}

int gx_model_save(const gx_model *model, const char *path, gx_error *err) {
    if (!model || !path) return gx_fail(err, "gx_model_save: NULL argument");
    char seed[32], epoch[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)model->seed);
    snprintf(epoch, sizeof epoch, "%d", model->best_epoch);
    const char *keys[] = {"seed", "best_epoch"}, *vals[] = {seed, epoch};
    int trained = model->best_epoch >= 0;
    return gx_ssdgm_save(path, &model->m, &model->info, trained ? 2 : 0, keys, vals, err);
}

gx_model *gx_model_load(const char *path, gx_error *err) {
    if (!path) {
        gx_fail(err, "gx_model_load: no path (NULL)");
        return NULL;
    }
    gx_model *model = gx_calloc(1, sizeof *model, "a model handle", err);
    if (!model) return NULL;
    if (gx_ssdgm_load(path, &model->m, &model->info, err)) {
        free(model);
        return NULL;
    }
    model->best_epoch = -1;
    return model;
}

void gx_model_free(gx_model *model) {
    if (!model) return;
    gx_ssdgm_free(&model->m);
    gx_model_info_free(&model->info);
    free(model);
}

const char *gx_model_preset(const gx_model *model) { return gx_preset_name(model->m.cfg.preset); }
int gx_model_classes(const gx_model *model) { return model->m.cfg.n_classes; }
int gx_model_domains(const gx_model *model) { return model->m.cfg.n_domains; }

const char *gx_model_class_name(const gx_model *model, int k) {
    return k >= 0 && k < model->info.n_classes ? model->info.class_names[k] : NULL;
}

const char *gx_model_domain_name(const gx_model *model, int d) {
    return d >= 0 && d < model->m.cfg.n_domains ? model->m.cfg.dom[d].name : NULL;
}

int64_t gx_model_domain_cols(const gx_model *model, const char *domain, gx_error *err) {
    int d = domain_index(model, domain, err);
    return d < 0 ? -1 : model->m.cfg.dom[d].n_in;
}
