#include "models/ssdgm_io.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gx_model_info_free(gx_model_info *info) {
    for (int k = 0; k < info->n_classes && info->class_names; k++) free(info->class_names[k]);
    free(info->class_names);
    for (int d = 0; d < GX_MAX_DOMAINS; d++) {
        free(info->prep_mean[d]);
        free(info->prep_std[d]);
        for (int j = 0; j < info->n_features[d] && info->feature_names[d]; j++)
            free(info->feature_names[d][j]);
        free(info->feature_names[d]);
        free(info->impute[d]);
        free(info->prior_ratio[d]);
    }
    memset(info, 0, sizeof *info);
}

int gx_model_info_set_classes(gx_model_info *info, int n, const char *const *names, gx_error *err) {
    char **c = gx_calloc((size_t)n, sizeof *c, "class names", err);
    if (!c) return -1;
    for (int k = 0; k < n; k++) {
        char buf[32];
        if (!names) snprintf(buf, sizeof buf, "%d", k);
        c[k] = strdup(names ? names[k] : buf);
        if (!c[k]) {
            for (int j = 0; j < k; j++) free(c[j]);
            free(c);
            return gx_fail(err, "out of memory for class names");
        }
    }
    for (int k = 0; k < info->n_classes && info->class_names; k++) free(info->class_names[k]);
    free(info->class_names);
    info->class_names = c;
    info->n_classes = n;
    return 0;
}

static cJSON *int_array(const int *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

char *gx_ssdgm_config_to_json(const gx_ssdgm_config *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "preset", gx_preset_name(c->preset));
    cJSON_AddNumberToObject(o, "n_classes", c->n_classes);
    cJSON_AddNumberToObject(o, "z_dim", c->z_dim);
    cJSON_AddItemToObject(o, "enc", int_array(c->enc, c->n_enc));
    cJSON_AddItemToObject(o, "dec", int_array(c->dec, c->n_dec));
    cJSON_AddNumberToObject(o, "lat_hidden", c->lat_hidden);
    cJSON_AddBoolToObject(o, "lat_y", c->lat_y);
    cJSON_AddNumberToObject(o, "cls_hidden", c->cls_hidden);
    cJSON_AddStringToObject(o, "activation", gx_act_name(c->act));
    cJSON_AddBoolToObject(o, "batchnorm", c->batchnorm);
    cJSON_AddNumberToObject(o, "prior_scale", c->prior_scale);
    if (c->adversarial) cJSON_AddBoolToObject(o, "adversarial", 1);
    cJSON *doms = cJSON_AddArrayToObject(o, "domains");
    for (int d = 0; d < c->n_domains; d++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", c->dom[d].name);
        cJSON_AddNumberToObject(x, "n_in", c->dom[d].n_in);
        cJSON_AddStringToObject(x, "likelihood",
                                c->dom[d].lik == GX_LIK_BERNOULLI ? "bernoulli" : "gaussian");
        cJSON_AddNumberToObject(x, "height", c->dom[d].height);
        cJSON_AddNumberToObject(x, "width", c->dom[d].width);
        cJSON_AddNumberToObject(x, "channels", c->dom[d].channels);
        if (c->dom[d].share >= 0) cJSON_AddStringToObject(x, "shares", c->dom[c->dom[d].share].name);
        cJSON_AddItemToArray(doms, x);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int gx_model_config_int(const cJSON *v, const char *what, int lo, int hi, int *out, gx_error *err) {
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(x >= lo && x <= hi) || x != floor(x))
        return gx_fail(err, "model config: '%s' must be an integer in [%d, %d]", what, lo, hi);
    *out = (int)x;
    return 0;
}

static int get_int(const cJSON *o, const char *key, int lo, int hi, int *out, gx_error *err) {
    return gx_model_config_int(cJSON_GetObjectItemCaseSensitive(o, key), key, lo, hi, out, err);
}

static int get_int_array(const cJSON *o, const char *key, int *v, int *n, gx_error *err) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    int count = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (count < 1 || count > GX_MAX_HIDDEN)
        return gx_fail(err, "model config: '%s' must be an array of 1 to %d sizes", key,
                       GX_MAX_HIDDEN);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        if (!cJSON_IsNumber(e) || e->valueint < 1 || e->valueint > 1 << 20)
            return gx_fail(err, "model config: '%s' holds an invalid size", key);
        v[i++] = e->valueint;
    }
    *n = count;
    return 0;
}

int gx_ssdgm_config_from_json(const char *json, gx_ssdgm_config *c, gx_error *err) {
    memset(c, 0, sizeof *c);
    for (int d = 0; d < GX_MAX_DOMAINS; d++) c->dom[d].share = -1;
    cJSON *o = cJSON_Parse(json);
    int rc = -1;
    if (!cJSON_IsObject(o)) {
        gx_fail(err, "model config: not a JSON object");
        goto done;
    }
    const cJSON *preset = cJSON_GetObjectItemCaseSensitive(o, "preset");
    if (!cJSON_IsString(preset) || gx_preset_parse(preset->valuestring, &c->preset)) {
        gx_fail(err, "model config: 'preset' must be \"m2\", \"dvt\", \"mlp\" or \"dann\"");
        goto done;
    }
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(o, "activation");
    if (!cJSON_IsString(act) || gx_act_parse(act->valuestring, &c->act)) {
        gx_fail(err, "model config: unknown 'activation'");
        goto done;
    }
    const cJSON *bn = cJSON_GetObjectItemCaseSensitive(o, "batchnorm");
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(o, "prior_scale");
    if (!cJSON_IsBool(bn) || !cJSON_IsNumber(ps)) {
        gx_fail(err, "model config: 'batchnorm' (bool) and 'prior_scale' (number) are required");
        goto done;
    }
    c->batchnorm = cJSON_IsTrue(bn);
    /* lat_y: files written before the option existed had q(z|x,y) */
    const cJSON *laty = cJSON_GetObjectItemCaseSensitive(o, "lat_y");
    if (laty && !cJSON_IsBool(laty)) {
        gx_fail(err, "model config: 'lat_y' must be true or false");
        goto done;
    }
    c->lat_y = !laty || cJSON_IsTrue(laty);
    /* adversarial: absent in files of models without a domain classifier */
    const cJSON *adv = cJSON_GetObjectItemCaseSensitive(o, "adversarial");
    if (adv && !cJSON_IsBool(adv)) {
        gx_fail(err, "model config: 'adversarial' must be true or false");
        goto done;
    }
    c->adversarial = c->preset == GX_PRESET_DANN || cJSON_IsTrue(adv);
    c->prior_scale = (float)ps->valuedouble;
    if (get_int(o, "n_classes", 2, GX_MAX_CLASSES, &c->n_classes, err) ||
        get_int(o, "z_dim", 1, 1 << 16, &c->z_dim, err) ||
        get_int(o, "lat_hidden", 0, 1 << 20, &c->lat_hidden, err) ||
        get_int(o, "cls_hidden", 0, 1 << 20, &c->cls_hidden, err) ||
        get_int_array(o, "enc", c->enc, &c->n_enc, err) ||
        get_int_array(o, "dec", c->dec, &c->n_dec, err))
        goto done;
    const cJSON *doms = cJSON_GetObjectItemCaseSensitive(o, "domains");
    int nd = cJSON_IsArray(doms) ? cJSON_GetArraySize(doms) : 0;
    if (nd < 1 || nd > GX_MAX_DOMAINS) {
        gx_fail(err, "model config: 'domains' must list 1 to %d domains", GX_MAX_DOMAINS);
        goto done;
    }
    c->n_domains = nd;
    int d = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, doms) {
        gx_domain_config *dc = &c->dom[d++];
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(x, "name");
        const cJSON *lik = cJSON_GetObjectItemCaseSensitive(x, "likelihood");
        if (!cJSON_IsString(name) || strlen(name->valuestring) >= sizeof dc->name ||
            !cJSON_IsString(lik)) {
            gx_fail(err, "model config: domain %d needs a 'name' and a 'likelihood'", d - 1);
            goto done;
        }
        strcpy(dc->name, name->valuestring);
        if (!strcmp(lik->valuestring, "bernoulli")) dc->lik = GX_LIK_BERNOULLI;
        else if (!strcmp(lik->valuestring, "gaussian")) dc->lik = GX_LIK_GAUSSIAN;
        else {
            gx_fail(err, "model config: domain %s: unknown likelihood '%s'", dc->name,
                    lik->valuestring);
            goto done;
        }
        const cJSON *shares = cJSON_GetObjectItemCaseSensitive(x, "shares");
        if (shares) {
            for (int e = 0; e < d - 1 && cJSON_IsString(shares); e++)
                if (!strcmp(c->dom[e].name, shares->valuestring)) dc->share = e;
            if (dc->share < 0) {
                gx_fail(err, "model config: domain %s shares the blocks of an unknown domain",
                        dc->name);
                goto done;
            }
        }
        if (get_int(x, "n_in", 1, 1 << 24, &dc->n_in, err) ||
            get_int(x, "height", 0, 1 << 16, &dc->height, err) ||
            get_int(x, "width", 0, 1 << 16, &dc->width, err) ||
            get_int(x, "channels", 0, 1 << 16, &dc->channels, err))
            goto done;
        /* an image domain's shape must cover its inputs exactly: sample and latent draw
         * height x width x channels values per row from rows of n_in */
        const long long pixels = (long long)dc->height * dc->width * dc->channels;
        if ((dc->height || dc->width || dc->channels) && pixels != dc->n_in) {
            gx_fail(err, "model config: domain %s: image shape %d x %d x %d (%lld values) does "
                         "not match its n_in of %d", dc->name, dc->height, dc->width,
                    dc->channels, pixels, dc->n_in);
            goto done;
        }
    }
    rc = 0;
done:
    cJSON_Delete(o);
    return rc;
}

gx_st_writer *gx_model_file_writer(const gx_params *p, gx_error *err) {
    gx_st_writer *w = gx_st_writer_new(err);
    for (int i = 0; w && i < p->n; i++) {
        const gx_param_info *t = &p->info[i];
        gx_st_writer_add(w, t->name, GX_ST_F32, t->ndim, t->shape, p->data + t->offset, err);
    }
    return w;
}

int gx_model_file_finish(gx_st_writer *w, const char *path, const char *format,
                         const char *version, const char *config, const gx_model_info *info,
                         int n_extra, const char *const *extra_keys,
                         const char *const *extra_values, gx_error *err) {
    char *names_json = gx_model_info_classes_json(info);
    gx_st_writer_meta(w, "format", format, err);
    gx_st_writer_meta(w, "format_version", version, err);
    gx_st_writer_meta(w, "config", config ? config : "", err);
    gx_st_writer_meta(w, "class_names", names_json ? names_json : "[]", err);
    for (int i = 0; i < n_extra; i++) gx_st_writer_meta(w, extra_keys[i], extra_values[i], err);
    int rc = gx_st_write(w, path, err);
    free(names_json);
    gx_st_writer_free(w);
    return rc;
}

int gx_ssdgm_save(const char *path, const gx_ssdgm *m, const gx_model_info *info, int n_extra,
                  const char *const *extra_keys, const char *const *extra_values, gx_error *err) {
    gx_st_writer *w = gx_model_file_writer(&m->params, err);
    if (!w) return -1;
    char name[160];
    for (int d = 0; d < m->cfg.n_domains; d++) {
        if (!info->prep_mean[d]) continue;
        int64_t shape[1] = {m->cfg.dom[d].n_in};
        snprintf(name, sizeof name, "prep.%s.mean", m->cfg.dom[d].name);
        gx_st_writer_add(w, name, GX_ST_F32, 1, shape, info->prep_mean[d], err);
        snprintf(name, sizeof name, "prep.%s.std", m->cfg.dom[d].name);
        gx_st_writer_add(w, name, GX_ST_F32, 1, shape, info->prep_std[d], err);
    }
    for (int d = 0; d < m->cfg.n_domains; d++) {
        if (gx_model_info_write_features(info, d, m->cfg.dom[d].name, w, err)) {
            gx_st_writer_free(w);
            return -1;
        }
        if (!info->prep_spec[d][0]) continue;
        snprintf(name, sizeof name, "domain.%s.data", m->cfg.dom[d].name);
        gx_st_writer_meta(w, name, info->prep_spec[d], err);
    }
    char *cfg = gx_ssdgm_config_to_json(&m->cfg);
    int rc = gx_model_file_finish(w, path, GX_SSDGM_FORMAT, GX_SSDGM_FORMAT_VERSION, cfg, info,
                                  n_extra, extra_keys, extra_values, err);
    free(cfg);
    return rc;
}

char *gx_model_info_classes_json(const gx_model_info *info) {
    cJSON *names = cJSON_CreateArray();
    for (int k = 0; k < info->n_classes; k++)
        cJSON_AddItemToArray(names, cJSON_CreateString(info->class_names[k]));
    char *json = cJSON_PrintUnformatted(names);
    cJSON_Delete(names);
    return json;
}

int gx_model_info_read_classes(const gx_st_file *f, int K, gx_model_info *info, gx_error *err) {
    const char *s = gx_st_metadata(f, "class_names");
    cJSON *a = s ? cJSON_Parse(s) : NULL;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != K) {
        cJSON_Delete(a);
        return gx_fail(err, "%s: metadata 'class_names' must be a JSON array of %d names",
                       gx_st_path(f), K);
    }
    const char *names[GX_MAX_CLASSES];
    int k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        if (!cJSON_IsString(e)) {
            cJSON_Delete(a);
            return gx_fail(err, "%s: class name %d is not a string", gx_st_path(f), k);
        }
        /* names reach the terminal, CSV headers (p_NAME) and figures: printable, and distinct */
        const unsigned char *c = (const unsigned char *)e->valuestring;
        int printable = *c != '\0';
        for (; *c && printable; c++) printable = *c >= 0x20 && *c != 0x7f;
        if (!printable) {
            cJSON_Delete(a);
            return gx_fail(err, "%s: class name %d is empty or holds a control character",
                           gx_st_path(f), k);
        }
        for (int j = 0; j < k; j++)
            if (!strcmp(names[j], e->valuestring)) {
                gx_fail(err, "%s: class names %d and %d are both '%s'", gx_st_path(f), j, k,
                        e->valuestring);
                cJSON_Delete(a);
                return -1;
            }
        names[k++] = e->valuestring;
    }
    int rc = gx_model_info_set_classes(info, K, names, err);
    cJSON_Delete(a);
    return rc;
}

int gx_model_file_check_format(const gx_st_file *f, const char *format, const char *version,
                               const char *what, gx_error *err) {
    const char *fmt = gx_st_metadata(f, "format"), *ver = gx_st_metadata(f, "format_version");
    if (!fmt || strcmp(fmt, format))
        return gx_fail(err, "%s: not a genxfer %s (metadata format is '%s', expected '%s')",
                       gx_st_path(f), what, fmt ? fmt : "(none)", format);
    if (!ver || strcmp(ver, version))
        return gx_fail(err, "%s: %s format version '%s' (this genxfer reads version %s)",
                       gx_st_path(f), what, ver ? ver : "(none)", version);
    return 0;
}

int gx_model_file_read_params(const gx_st_file *f, gx_params *p, size_t n_extra,
                              const char *extra_prefix, const char *what, gx_error *err) {
    for (int i = 0; i < p->n; i++) {
        const gx_param_info *t = &p->info[i];
        if (gx_st_read_f32(f, t->name, t->ndim, t->shape, p->data + t->offset, err)) return -1;
    }
    size_t expected = (size_t)p->n + n_extra;
    if (gx_st_count(f) == expected) return 0;
    size_t prefix = strlen(extra_prefix);
    for (size_t i = 0; i < gx_st_count(f); i++) {
        const char *tn = gx_st_tensor_at(f, i)->name;
        if (gx_params_find(p, tn) < 0 && strncmp(tn, extra_prefix, prefix))
            return gx_fail(err, "%s: unexpected tensor '%s' for %s", gx_st_path(f), tn, what);
    }
    return gx_fail(err, "%s: %zu tensors, expected %zu", gx_st_path(f), gx_st_count(f), expected);
}

int gx_ssdgm_load(const char *path, gx_ssdgm *m, gx_model_info *info, gx_error *err) {
    memset(m, 0, sizeof *m);
    memset(info, 0, sizeof *info);
    gx_st_file *f = NULL;
    if (gx_st_open(path, &f, err)) return -1;
    const char *cfg_json = gx_st_metadata(f, "config");
    gx_ssdgm_config cfg;
    if (gx_model_file_check_format(f, GX_SSDGM_FORMAT, GX_SSDGM_FORMAT_VERSION, "M2/DVT model",
                                   err))
        goto fail;
    if (!cfg_json || gx_ssdgm_config_from_json(cfg_json, &cfg, err)) {
        if (!cfg_json) gx_fail(err, "model config missing");
        gx_fail_prefix(err, "%s", path);
        goto fail;
    }
    size_t values = gx_st_f32_values(f); /* what the file's floats hold: the most the model can have */
    gx_rng unused;
    gx_rng_init(&unused, 0, GX_STREAM_INIT);
    if (gx_ssdgm_create_at_most(m, &cfg, values, &unused, err)) {
        gx_fail_prefix(err, "%s", path);
        goto fail;
    }
    size_t n_prep = 0;
    char name[160];
    for (int d = 0; d < cfg.n_domains; d++) {
        int64_t shape[1] = {cfg.dom[d].n_in};
        snprintf(name, sizeof name, "prep.%s.mean", cfg.dom[d].name);
        if (!gx_st_find(f, name)) continue;
        info->prep_mean[d] = gx_malloc((size_t)shape[0] * sizeof(float), "statistics", err);
        info->prep_std[d] = gx_malloc((size_t)shape[0] * sizeof(float), "statistics", err);
        if (!info->prep_mean[d] || !info->prep_std[d]) goto fail;
        if (gx_st_read_f32(f, name, 1, shape, info->prep_mean[d], err)) goto fail;
        snprintf(name, sizeof name, "prep.%s.std", cfg.dom[d].name);
        if (gx_st_read_f32(f, name, 1, shape, info->prep_std[d], err)) goto fail;
        n_prep += 2;
    }
    char what[64];
    snprintf(what, sizeof what, "a %s model", gx_preset_name(cfg.preset));
    if (gx_model_file_read_params(f, &m->params, n_prep, "prep.", what, err)) goto fail;
    if (gx_model_info_read_classes(f, cfg.n_classes, info, err)) goto fail;
    for (int d = 0; d < cfg.n_domains; d++) {
        snprintf(name, sizeof name, "domain.%s.data", cfg.dom[d].name);
        const char *spec = gx_st_metadata(f, name);
        if (spec) snprintf(info->prep_spec[d], sizeof info->prep_spec[d], "%s", spec);
        if (gx_model_info_read_features(f, d, cfg.dom[d].name, cfg.dom[d].n_in, info, err))
            goto fail;
    }
    gx_st_close(f);
    return 0;
fail:
    gx_st_close(f);
    gx_ssdgm_free(m);
    gx_model_info_free(info);
    return -1;
}

int gx_ssdgm_domain_index(const gx_ssdgm *m, const char *name, gx_error *err) {
    if (!name) return m->cfg.n_domains - 1;
    char list[512] = "";
    for (int d = 0; d < m->cfg.n_domains; d++) {
        if (!strcmp(m->cfg.dom[d].name, name)) return d;
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", d ? ", " : "", m->cfg.dom[d].name);
    }
    return gx_fail(err, "the model has no domain '%s' (its domains: %s)", name, list);
}
