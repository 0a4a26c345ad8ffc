#include "cli/cli_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_data.h"
#include "core/metrics.h"
#include "core/prior_shift.h"
#include "data/spec.h"
#include "data/transforms.h"
#include "io/report.h"

/* 1 when the spec itself says which columns to read (keep= or drop=) */
static int user_chose_columns(const char *spec) {
    gx_spec s;
    gx_error err;
    if (gx_spec_parse(spec, &s, &err)) return 0;
    const int chose = s.keep || s.drop;
    gx_spec_free(&s);
    return chose;
}

int cli_match_columns(const gx_model_info *info, int d, int n_in, gx_dataset *ds,
                      const char *spec, gx_error *err) {
    if (!info->feature_names[d] || !ds->feature_names) return 0;
    char ignored[512];
    if (gx_model_info_match_columns(info, d, n_in, ds, spec, ignored, sizeof ignored, err))
        return -1;
    /* the columns the reader left out when the model's keep= was applied for the user */
    const char *unread = ds->unread_columns[0] && !user_chose_columns(spec) ? ds->unread_columns
                                                                            : "";
    if (ignored[0] || unread[0])
        fprintf(stderr, "genxfer: note: %s: columns not used by the model, ignored: %s%s%s\n",
                spec, unread, unread[0] && ignored[0] ? "+" : "", ignored);
    return 0;
}

int cli_complete_spec(const gx_model_info *info, int d, const char *spec, int with_labels,
                      char *full, size_t n, gx_error *err) {
    if (gx_spec_complete(spec, info->prep_spec[d], (const char *const *)info->feature_names[d],
                         info->n_features[d], with_labels, full, n, err))
        return -1;
    if (strcmp(full, spec) && isatty(STDERR_FILENO))
        fprintf(stderr, "reading %s as the training data were: %s\n", spec, full);
    return 0;
}

int cli_load_completed(const gx_model_info *info, int d, const char *spec, int with_labels,
                       gx_dataset *ds, gx_error *err) {
    char full[2048];
    if (cli_complete_spec(info, d, spec, with_labels, full, sizeof full, err)) return -1;
    /* impute= fills with the training data's values, by column name */
    if (gx_spec_load_imputed(full, (const char *const *)info->feature_names[d], info->impute[d],
                             info->impute[d] ? info->n_features[d] : 0, NULL, ds, err) == 0)
        return 0;
    if (strcmp(full, spec)) /* say which options were not the user's */
        gx_fail_prefix(err, "%s, read with the model's training options", spec);
    return -1;
}

int cli_check_unit_range(const gx_model_info *info, int d, int unit, const gx_dataset *ds,
                         const char *spec, gx_error *err) {
    if (info->prep_mean[d] || !(unit || info->unit_range[d])) return 0;
    const int64_t out = gx_dataset_find_outside_unit(ds);
    if (out < 0) return 0;
    return gx_fail(err, "%s: value %g in row %lld, but the model was trained on values in [0, 1] "
                        "(scale=1/255 reads bytes as such)",
                   spec, ds->x[out], (long long)(out / ds->d));
}

void cli_report_drift(const gx_dataset *ds, const char *spec) {
    int64_t worst;
    const int64_t rows = gx_rows_beyond(ds->x, ds->n, ds->d, 6.0f, &worst);
    if (rows == 0) return;
    const double share = 100.0 * (double)rows / (double)ds->n;
    char col[96];
    if (ds->feature_names && ds->feature_names[worst])
        snprintf(col, sizeof col, "'%.80s'", ds->feature_names[worst]);
    else
        snprintf(col, sizeof col, "%lld", (long long)worst);
    fprintf(stderr, "genxfer: %s: %s: %.2f%% of the rows (%lld of %lld) have a feature more than 6 "
                    "standard deviations from the training data's mean (most often column %s)%s\n",
            share > 1.0 ? "warning" : "note", spec, share, (long long)rows, (long long)ds->n, col,
            share > 1.0 ? "; these data may not be like the training data" : "");
}

int cli_load_for_model(const gx_ssdgm *m, const gx_model_info *info, int d, const char *spec,
                       int with_labels, gx_dataset *ds, gx_error *err) {
    if (cli_load_completed(info, d, spec, with_labels, ds, err)) return -1;
    const gx_domain_config *dc = &m->cfg.dom[d];
    if (cli_match_columns(info, d, dc->n_in, ds, spec, err)) return -1;
    if (ds->d != dc->n_in)
        return gx_fail(err, "%s: %lld features per example, but domain %s of the model takes %d "
                            "(the model was trained on '%s')",
                       spec, (long long)ds->d, dc->name, dc->n_in, info->prep_spec[d]);
    /* a Bernoulli domain was trained on values in [0, 1]: raw bytes (0-255) are not its data */
    if (cli_check_unit_range(info, d, dc->lik == GX_LIK_BERNOULLI, ds, spec, err)) return -1;
    if (info->prep_mean[d])
        for (int64_t i = 0; i < ds->n; i++)
            for (int j = 0; j < dc->n_in; j++) {
                float *x = ds->x + i * ds->d + j;
                *x = (*x - info->prep_mean[d][j]) / info->prep_std[d][j];
            }
    if (info->prep_mean[d]) cli_report_drift(ds, spec);
    int n = info->n_classes;
    if (ds->y && gx_dataset_match_classes(ds, info->class_names, &n, n, 0, err)) return -1;
    return 0;
}

int cli_predict(gx_ssdgm *m, const gx_model_info *info, int d, const gx_dataset *ds, float **P,
                float **MU, gx_error *err) {
    gx_ssdgm_ws ws;
    *P = NULL;
    if (MU) *MU = NULL;
    if (MU && !gx_ssdgm_is_generative(m))
        return gx_fail(err, "a %s model has no latent space (train m2 or dvt)",
                       gx_preset_name(m->cfg.preset));
    /* prediction needs one branch per row: the rows count as labelled ones (no K-fold decoder) */
    if (gx_ssdgm_ws_alloc(&ws, m, 500, 0, err)) return -1;
    *P = gx_malloc((size_t)ds->n * m->cfg.n_classes * sizeof(float), "class probabilities", err);
    if (*P && MU) *MU = gx_malloc((size_t)ds->n * m->cfg.z_dim * sizeof(float), "latent means", err);
    if (!*P || (MU && !*MU)) {
        gx_ssdgm_ws_free(&ws);
        free(*P);
        *P = NULL;
        return -1;
    }
    gx_ssdgm_predict(m, &ws, d, ds->x, ds->n, *P, MU ? *MU : NULL);
    gx_ssdgm_ws_free(&ws);
    if (info->prior_ratio[d])
        gx_prior_shift_apply(*P, ds->n, m->cfg.n_classes, info->prior_ratio[d]);
    return 0;
}

int cli_report_metrics(const float *P, int K, char **class_names, const gx_dataset *ds,
                       const char *what, const char *domain, const char *json_path,
                       const cJSON *extra, gx_error *err) {
    int32_t *pred = NULL;
    gx_class_metrics cm;
    int rc = -1;
    memset(&cm, 0, sizeof cm);
    if (!ds->y) return gx_fail(err, "%s: the data have no labels to evaluate against", what);
    if (!(pred = gx_malloc((size_t)ds->n * sizeof *pred, "predictions", err))) goto done;
    gx_argmax_rows(P, ds->n, K, pred);
    if (gx_class_metrics_init(&cm, K, err) || gx_class_metrics_compute(&cm, ds->y, pred, ds->n, err))
        goto done;
    if (domain) printf("evaluation of domain %s on %s (%lld examples)\n", domain, what, (long long)ds->n);
    else printf("evaluation on %s (%lld examples)\n", what, (long long)ds->n);
    gx_metrics_print(stdout, &cm, (const char *const *)class_names);
    if (json_path) {
        cJSON *x = extra ? cJSON_Duplicate(extra, 1) : cJSON_CreateObject();
        cJSON_AddStringToObject(x, "test_data", what);
        if (domain) cJSON_AddStringToObject(x, "domain", domain);
        int w = gx_metrics_json_write(json_path, &cm, (const char *const *)class_names, x, err);
        cJSON_Delete(x);
        if (w) goto done;
    }
    rc = 0;
done:
    gx_class_metrics_free(&cm);
    free(pred);
    return rc;
}

int cli_evaluate_dataset(gx_ssdgm *m, const gx_model_info *info, int d, const gx_dataset *ds,
                         const char *what, const char *json_path, const cJSON *extra,
                         gx_error *err) {
    float *P = NULL;
    if (!ds->y) return gx_fail(err, "%s: the data have no labels to evaluate against", what);
    int rc = cli_predict(m, info, d, ds, &P, NULL, err) ||
             cli_report_metrics(P, m->cfg.n_classes, info->class_names, ds, what,
                                m->cfg.dom[d].name, json_path, extra, err);
    free(P);
    return rc ? -1 : 0;
}

int cli_evaluate_and_report(gx_ssdgm *m, const gx_model_info *info, int d, const char *spec,
                            const char *json_path, const cJSON *extra, gx_error *err) {
    gx_dataset ds;
    gx_dataset_init(&ds);
    int rc = cli_load_for_model(m, info, d, spec, 1, &ds, err) ||
             cli_evaluate_dataset(m, info, d, &ds, spec, json_path, extra, err);
    gx_dataset_free(&ds);
    return rc ? -1 : 0;
}
