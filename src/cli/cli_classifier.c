#include "cli/cli_classifier.h"

#include <stdlib.h>

#include "cli/cli_model.h"
#include "data/spec.h"
#include "data/transforms.h"

int cli_classifier_load_data(const gx_classifier *m, const gx_model_info *info, const char *spec,
                             int with_labels, gx_dataset *ds, gx_error *err) {
    if (cli_load_completed(info, 0, spec, with_labels, ds, err)) return -1;
    const int d = gx_classifier_in_size(m);
    const char *trained = info->prep_spec[0][0] ? info->prep_spec[0] : "(unknown)";
    if (cli_match_columns(info, 0, d, ds, spec, err)) return -1;
    if (ds->d != d)
        return gx_fail(err, "%s: %lld features per example, but the model takes %d (%dx%dx%d; it "
                            "was trained on '%s')", spec, (long long)ds->d, d, m->in_h, m->in_w,
                       m->in_c, trained);
    if (m->image && ds->height &&
        (ds->height != m->in_h || ds->width != m->in_w || ds->channels != m->in_c))
        return gx_fail(err, "%s: images of %dx%dx%d, but the model takes %dx%dx%d (it was trained "
                            "on '%s')", spec, ds->height, ds->width, ds->channels, m->in_h,
                       m->in_w, m->in_c, trained);
    if (cli_check_unit_range(info, 0, 0, ds, spec, err)) return -1;
    if (info->prep_mean[0]) {
        gx_standardizer st = {d, info->prep_mean[0], info->prep_std[0]};
        gx_standardizer_apply_rows(&st, ds->x, ds->n);
        cli_report_drift(ds, spec);
    }
    int n = info->n_classes;
    if (ds->y && gx_dataset_match_classes(ds, info->class_names, &n, n, 0, err)) return -1;
    return 0;
}

int cli_classifier_predict(gx_classifier *m, const gx_dataset *ds, float **P, gx_error *err) {
    gx_classifier_ws ws;
    *P = NULL;
    if (gx_classifier_ws_alloc(&ws, m, 64, err)) return -1;
    *P = gx_malloc((size_t)ds->n * m->n_classes * sizeof(float), "class probabilities", err);
    if (*P) gx_classifier_predict(m, &ws, ds->x, ds->n, *P);
    gx_classifier_ws_free(&ws);
    return *P ? 0 : -1;
}

int cli_classifier_evaluate(gx_classifier *m, const gx_model_info *info, const gx_dataset *ds,
                            const char *what, const char *json_path, const cJSON *extra,
                            gx_error *err) {
    float *P = NULL;
    if (!ds->y) return gx_fail(err, "%s: the data have no labels to evaluate against", what);
    int rc = cli_classifier_predict(m, ds, &P, err) ||
             cli_report_metrics(P, m->n_classes, info->class_names, ds, what, NULL, json_path,
                                extra, err);
    free(P);
    return rc ? -1 : 0;
}
