/* Using a classifier model (models/classifier_io.h) on a dataset spec: loading data in the model's
 * input shape, preprocessing and class list, prediction and evaluation. Used by genxfer scratch
 * for its test set, and by genxfer eval and predict when given a classifier file. */
#ifndef GX_CLI_CLASSIFIER_H
#define GX_CLI_CLASSIFIER_H

#include <cJSON.h>

#include "data/dataset.h"
#include "models/classifier_io.h"

/* Loads spec, completed with the training data's options (cli_complete_spec; the label options
 * too with with_labels), its columns matched by name (cli_match_columns), and checks that its
 * examples fit the model's input (the feature count, and the image shape when the data have
 * one), applies the model's standardisation, and maps the labels (if any)
 * onto the model's classes by name. */
int cli_classifier_load_data(const gx_classifier *m, const gx_model_info *info, const char *spec,
                             int with_labels, gx_dataset *ds, gx_error *err);

/* Class probabilities P [n, K] (malloc'd; the caller frees) for every row of ds. */
int cli_classifier_predict(gx_classifier *m, const gx_dataset *ds, float **P, gx_error *err);

/* Evaluates m on the labelled rows of ds (already loaded with cli_classifier_load_data): prints
 * the metrics table and writes metrics JSON (extra merged in, may be NULL) to json_path (may be
 * NULL). `what` names the data. */
int cli_classifier_evaluate(gx_classifier *m, const gx_model_info *info, const gx_dataset *ds,
                            const char *what, const char *json_path, const cJSON *extra,
                            gx_error *err);

#endif
