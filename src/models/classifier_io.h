/* Saving and loading classifiers (models/classifier.h) as safetensors files. Every parameter is a
 * tensor under its own name (batch-norm running statistics included); standardisation statistics
 * of the inputs, when the training data were standardised, are the tensors "prep.mean" and
 * "prep.std" [in]. __metadata__ holds:
 *   format          "genxfer.classifier"     format_version  "1"
 *   config          {"arch": SPEC, "input": [h, w, c], "image": true|false, "n_classes": K,
 *                    "bn_momentum": F}
 *   class_names     JSON array of the class names, in class-index order
 *   data            the dataset spec the model was trained on (when known)
 * plus any extra entries the caller passes. The model's information (class names, preprocessing,
 * data spec) travels in a gx_model_info, in its slot 0. */
#ifndef GX_CLASSIFIER_IO_H
#define GX_CLASSIFIER_IO_H

#include "models/classifier.h"
#include "models/ssdgm_io.h"

#define GX_CLASSIFIER_FORMAT "genxfer.classifier"
#define GX_CLASSIFIER_FORMAT_VERSION "1"

/* Writes the model atomically. info must name m->n_classes classes. */
int gx_classifier_save(const char *path, const gx_classifier *m, const gx_model_info *info,
                       int n_extra, const char *const *extra_keys, const char *const *extra_values,
                       gx_error *err);

/* Reads a file written by gx_classifier_save: checks the format, rebuilds the model from its
 * configuration and loads every tensor with its shape checked; a missing or unexpected tensor is an
 * error naming it. */
int gx_classifier_load(const char *path, gx_classifier *m, gx_model_info *info, gx_error *err);

/* 1 when path is a safetensors file whose metadata format is GX_CLASSIFIER_FORMAT, else 0 (also
 * when it cannot be read: the loader that is tried next reports that). */
int gx_classifier_is_model_file(const char *path);

#endif
