/* Classifier model files: safetensors with the architecture spec, input shape and class names in
 * the metadata. */
#include "models/classifier_io.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *config_json(const gx_classifier *m) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "arch", m->arch);
    int shape[3] = {m->in_h, m->in_w, m->in_c};
    cJSON_AddItemToObject(o, "input", cJSON_CreateIntArray(shape, 3));
    cJSON_AddBoolToObject(o, "image", m->image);
    cJSON_AddNumberToObject(o, "n_classes", m->n_classes);
    char mom[32]; /* the float's shortest decimal, e.g. 0.1 rather than 0.10000000149 */
    snprintf(mom, sizeof mom, "%g", (double)m->bn_momentum);
    cJSON_AddNumberToObject(o, "bn_momentum", strtod(mom, NULL));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int gx_classifier_save(const char *path, const gx_classifier *m, const gx_model_info *info,
                       int n_extra, const char *const *extra_keys, const char *const *extra_values,
                       gx_error *err) {
    if (info->n_classes != m->n_classes)
        return gx_fail(err, "%s: %d class names for a model of %d classes", path, info->n_classes,
                       m->n_classes);
    gx_st_writer *w = gx_model_file_writer(&m->params, err);
    if (!w) return -1;
    if (info->prep_mean[0]) {
        int64_t shape[1] = {gx_classifier_in_size(m)};
        gx_st_writer_add(w, "prep.mean", GX_ST_F32, 1, shape, info->prep_mean[0], err);
        gx_st_writer_add(w, "prep.std", GX_ST_F32, 1, shape, info->prep_std[0], err);
    }
    if (info->prep_spec[0][0]) gx_st_writer_meta(w, "data", info->prep_spec[0], err);
    if (gx_model_info_write_features(info, 0, "data", w, err)) {
        gx_st_writer_free(w);
        return -1;
    }
    char *cfg = config_json(m);
    int rc = gx_model_file_finish(w, path, GX_CLASSIFIER_FORMAT, GX_CLASSIFIER_FORMAT_VERSION, cfg,
                                  info, n_extra, extra_keys, extra_values, err);
    free(cfg);
    return rc;
}

/* The configuration in the metadata -> a model with its parameters allocated (not loaded), of at
 * most max_params parameters. */
static int create_from_config(const char *json, size_t max_params, gx_classifier *m,
                              gx_error *err) {
    cJSON *o = cJSON_Parse(json);
    int rc = -1, shape[3], K = 0;
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(o, "arch");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(o, "input");
    const cJSON *image = cJSON_GetObjectItemCaseSensitive(o, "image");
    const cJSON *mom = cJSON_GetObjectItemCaseSensitive(o, "bn_momentum");
    if (!cJSON_IsString(arch) || !cJSON_IsArray(in) || cJSON_GetArraySize(in) != 3 ||
        !cJSON_IsBool(image) || !cJSON_IsNumber(mom) || !(mom->valuedouble >= 0) ||
        !(mom->valuedouble <= 1)) {
        gx_fail(err, "model config: expected 'arch' (string), 'input' ([h, w, c]), 'image' (bool) "
                     "and 'bn_momentum' (number in [0, 1])");
        goto done;
    }
    for (int i = 0; i < 3; i++)
        if (gx_model_config_int(cJSON_GetArrayItem(in, i), "input", 1, 1 << 24, &shape[i], err)) goto done;
    if (gx_model_config_int(cJSON_GetObjectItemCaseSensitive(o, "n_classes"), "n_classes", 2, 1 << 20, &K, err) ||
        gx_classifier_create_at_most(m, arch->valuestring, shape[0], shape[1], shape[2],
                                     cJSON_IsTrue(image), K, max_params, NULL, err))
        goto done;
    m->bn_momentum = (float)mom->valuedouble;
    rc = 0;
done:
    cJSON_Delete(o);
    return rc;
}

int gx_classifier_load(const char *path, gx_classifier *m, gx_model_info *info, gx_error *err) {
    memset(m, 0, sizeof *m);
    memset(info, 0, sizeof *info);
    gx_st_file *f = NULL;
    if (gx_st_open(path, &f, err)) return -1;
    const char *cfg = gx_st_metadata(f, "config"), *data = gx_st_metadata(f, "data");
    if (gx_model_file_check_format(f, GX_CLASSIFIER_FORMAT, GX_CLASSIFIER_FORMAT_VERSION,
                                   "classifier", err))
        goto fail;
    if (!cfg) {
        gx_fail(err, "%s: metadata 'config' missing", path);
        goto fail;
    }
    /* a model has no more parameters than the file's float tensors hold: a config that claims
     * far more is refused before the parameters are allocated (a few bytes of config could
     * otherwise ask for gigabytes, zeroed four times over). The slack of 65536 lets a file that
     * lacks a tensor or two reach the tensor checks, whose message names the tensor. */
    size_t values = gx_st_f32_values(f) + 65536;
    if (create_from_config(cfg, values, m, err)) {
        gx_fail_prefix(err, "%s", path);
        goto fail;
    }
    size_t n_prep = 0;
    if (gx_st_find(f, "prep.mean")) {
        int64_t shape[1] = {gx_classifier_in_size(m)};
        info->prep_mean[0] = gx_malloc((size_t)shape[0] * sizeof(float), "statistics", err);
        info->prep_std[0] = gx_malloc((size_t)shape[0] * sizeof(float), "statistics", err);
        if (!info->prep_mean[0] || !info->prep_std[0] ||
            gx_st_read_f32(f, "prep.mean", 1, shape, info->prep_mean[0], err) ||
            gx_st_read_f32(f, "prep.std", 1, shape, info->prep_std[0], err))
            goto fail;
        n_prep = 2;
    }
    char what[GX_CLS_ARCH_MAX + 32];
    snprintf(what, sizeof what, "the architecture '%s'", m->arch);
    if (gx_model_file_read_params(f, &m->params, n_prep, "prep.", what, err)) goto fail;
    if (gx_model_info_read_classes(f, m->n_classes, info, err)) goto fail;
    if (data) snprintf(info->prep_spec[0], sizeof info->prep_spec[0], "%s", data);
    if (gx_model_info_read_features(f, 0, "data", gx_classifier_in_size(m), info, err)) goto fail;
    gx_st_close(f);
    return 0;
fail:
    gx_st_close(f);
    gx_classifier_free(m);
    gx_model_info_free(info);
    return -1;
}

int gx_classifier_is_model_file(const char *path) {
    gx_st_file *f = NULL;
    gx_error err;
    if (gx_st_open(path, &f, &err)) return 0;
    const char *fmt = gx_st_metadata(f, "format");
    int yes = fmt && !strcmp(fmt, GX_CLASSIFIER_FORMAT);
    gx_st_close(f);
    return yes;
}
