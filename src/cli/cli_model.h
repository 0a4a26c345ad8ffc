/* Using a trained M2/DVT model on a dataset spec: class matching, prediction, metrics. */
#ifndef GX_CLI_MODEL_H
#define GX_CLI_MODEL_H

#include <cJSON.h>

#include "data/dataset.h"
#include "models/ssdgm_io.h"

/* ds's columns put in the order of domain d's training columns, by name, when the model and ds
 * both have names (gx_model_info_match_columns); the columns not used are named once on stderr.
 * Without names, nothing changes (the callers check the count). */
int cli_match_columns(const gx_model_info *info, int d, int n_in, gx_dataset *ds,
                      const char *spec, gx_error *err);

/* Refuses ds (one line naming the value and row) when domain d of the model was trained, without
 * standardisation, on values in [0, 1] (unit: its likelihood requires it; or images so stored
 * in the model) and ds has a value outside. */
int cli_check_unit_range(const gx_model_info *info, int d, int unit, const gx_dataset *ds,
                         const char *spec, gx_error *err);

/* After the model's standardisation of ds: on stderr, the share of rows with a feature more than
 * 6 standard deviations from the training mean, as a note up to 1% and a warning above. */
void cli_report_drift(const gx_dataset *ds, const char *spec);

/* Loads spec for domain d of the model, completed with the training data's options
 * (cli_complete_spec; the label options too with with_labels): its columns by name
 * (cli_match_columns), checks the feature count (and, for a Bernoulli domain, values in [0, 1]),
 * applies the model's standardisation, reports drift, and maps the labels (if any) onto the
 * model's classes by name. */
int cli_load_for_model(const gx_ssdgm *m, const gx_model_info *info, int d, const char *spec,
                       int with_labels, gx_dataset *ds, gx_error *err);

/* spec completed with the training data's options (gx_spec_complete) into full [n]; on the
 * terminal, a note of what was added. cli_load_completed loads it (an error then says that the
 * training options were added). */
int cli_complete_spec(const gx_model_info *info, int d, const char *spec, int with_labels,
                      char *full, size_t n, gx_error *err);
int cli_load_completed(const gx_model_info *info, int d, const char *spec, int with_labels,
                       gx_dataset *ds, gx_error *err);

/* q(y|x) for every row of ds: P [n, K] (malloc'd; the caller frees). MU (may be NULL) receives a
 * malloc'd [n, z] of latent means. */
int cli_predict(gx_ssdgm *m, const gx_model_info *info, int d, const gx_dataset *ds, float **P,
                float **MU, gx_error *err);

/* Metrics of the class probabilities P [n, K] against the labels of ds (n rows, labels already in
 * the model's class list): prints the table headed "evaluation [of domain D] on WHAT" and writes
 * metrics JSON (extra merged in, may be NULL; plus "test_data" and "domain" when domain is not
 * NULL) to json_path (may be NULL). */
int cli_report_metrics(const float *P, int K, char **class_names, const gx_dataset *ds,
                       const char *what, const char *domain, const char *json_path,
                       const cJSON *extra, gx_error *err);

/* Evaluates the model on the labelled rows of ds (already in the model's preprocessing and class
 * list) in domain d: prints the metrics table, `what` naming the data, and writes metrics JSON (with
 * `extra` merged in, may be NULL) to json_path (may be NULL). */
int cli_evaluate_dataset(gx_ssdgm *m, const gx_model_info *info, int d, const gx_dataset *ds,
                         const char *what, const char *json_path, const cJSON *extra,
                         gx_error *err);

/* Evaluates the model on the labelled set `spec` in domain d: prints the metrics table to stdout
 * and writes metrics JSON (with `extra` merged in, may be NULL) to json_path (may be NULL). */
int cli_evaluate_and_report(gx_ssdgm *m, const gx_model_info *info, int d, const char *spec,
                            const char *json_path, const cJSON *extra, gx_error *err);

#endif
