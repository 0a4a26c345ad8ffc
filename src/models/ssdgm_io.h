/* Saving and loading M2/DVT models as safetensors files. Every parameter is a tensor under its own
 * name (e.g. "enc.trunk.0.weight", PyTorch's [out, in] layout); __metadata__ holds:
 *   format          "genxfer.ssdgm"          format_version  "1"
 *   config          the model configuration as JSON (preset, sizes, domains, likelihoods, ...)
 *   class_names     JSON array of the class names, in class-index order
 * plus any extra entries the caller passes (e.g. the training settings). Per-domain preprocessing
 * (standardisation statistics) is stored as tensors "prep.<domain>.mean" / ".std" when present. */
#ifndef GX_SSDGM_IO_H
#define GX_SSDGM_IO_H

#include "data/dataset.h"
#include "io/safetensors.h"
#include "models/ssdgm.h"

#define GX_SSDGM_FORMAT "genxfer.ssdgm"
#define GX_SSDGM_FORMAT_VERSION "1"

/* What a model needs beside its parameters to be used on new data. */
typedef struct gx_model_info {
    int n_classes;
    char **class_names;               /* [n_classes] */
    float *prep_mean[GX_MAX_DOMAINS]; /* [n_in] standardisation per domain, or NULL */
    float *prep_std[GX_MAX_DOMAINS];
    char prep_spec[GX_MAX_DOMAINS][512]; /* the options the training data were read with */
    char **feature_names[GX_MAX_DOMAINS]; /* [n_features] the training data's column names, or
                                           * NULL (data without names: images, npy) */
    int n_features[GX_MAX_DOMAINS];
    float *impute[GX_MAX_DOMAINS]; /* [n_features] the values impute= filled missing training
                                    * values with (by column), or NULL */
    int unit_range[GX_MAX_DOMAINS]; /* 1: images whose every training value was in [0, 1]: new
                                     * data must be too (not raw bytes, 0-255) */
    float *prior_ratio[GX_MAX_DOMAINS]; /* [n_classes] label shift of domain d (train --prior-shift
                                         * em): its estimated class proportions over those the
                                         * classifier was trained with; predictions of the
                                         * domain are corrected by it. NULL: none */
} gx_model_info;

void gx_model_info_free(gx_model_info *info);

/* The training data's column names (models/model_features.c). Copies ds's feature names (if it
 * has them) as domain d's; in the model file they are the metadata "domain.NAME.features", a
 * JSON array, read back by the loaders (NULL when absent: files of earlier versions). With
 * impute (may be NULL; [ds->d]) the values that filled missing training values go along, as
 * "domain.NAME.impute", a JSON array of numbers in the same order. Whether ds holds images whose
 * values are all in [0, 1] goes along too (unit_range; "domain.NAME.range": "[0,1]"). A label-shift
 * correction (prior_ratio) is written as "domain.NAME.prior_ratio", a JSON array of n_classes
 * positive numbers. */
int gx_model_info_set_features(gx_model_info *info, int d, const gx_dataset *ds,
                               const float *impute, gx_error *err);
int gx_model_info_write_features(const gx_model_info *info, int d, const char *domain,
                                 gx_st_writer *w, gx_error *err);
int gx_model_info_read_features(const gx_st_file *f, int d, const char *domain, int n_in,
                                gx_model_info *info, gx_error *err);

/* Domain d's columns on new data: when the model knows the training data's column names and ds
 * has names too, ds's columns are put in the training order by name (any order in the file is
 * fine); a training column missing from ds is an error that names it; columns ds has beyond
 * them are dropped and, when `ignored` is not NULL, listed there ("a, b"; empty if none).
 * Without names on either side, ds must have n_in columns. `what` names ds in messages. */
int gx_model_info_match_columns(const gx_model_info *info, int d, int n_in, gx_dataset *ds,
                                const char *what, char *ignored, size_t n_ignored, gx_error *err);
int gx_model_info_set_classes(gx_model_info *info, int n, const char *const *names, gx_error *err);

/* The class names as a JSON array (malloc'd), the "class_names" metadata entry, and back: reads
 * that entry of f, which must list exactly K names. Shared by every kind of model file. */
char *gx_model_info_classes_json(const gx_model_info *info);
int gx_model_info_read_classes(const gx_st_file *f, int K, gx_model_info *info, gx_error *err);

/* Writing a model file: a writer holding every tensor of p (borrowed until the write), or NULL;
 * the caller adds its own tensors and metadata, then gx_model_file_finish adds the entries every
 * model file has (format, format_version, config, class_names from info, then n_extra more),
 * writes path atomically and frees the writer. */
gx_st_writer *gx_model_file_writer(const gx_params *p, gx_error *err);
int gx_model_file_finish(gx_st_writer *w, const char *path, const char *format,
                         const char *version, const char *config, const gx_model_info *info,
                         int n_extra, const char *const *extra_keys,
                         const char *const *extra_values, gx_error *err);

/* The "format" and "format_version" metadata of f must be format and version; otherwise an error
 * naming the file, what it holds and `what` it should be (e.g. "M2/DVT model"). */
int gx_model_file_check_format(const gx_st_file *f, const char *format, const char *version,
                               const char *what, gx_error *err);

/* Reads every tensor of p from f with its shape checked; f must hold nothing else but n_extra
 * tensors whose names start with extra_prefix (e.g. "prep."): an unexpected tensor is named, with
 * `what` the model should be. */
int gx_model_file_read_params(const gx_st_file *f, gx_params *p, size_t n_extra,
                              const char *extra_prefix, const char *what, gx_error *err);

/* The configuration as a JSON string (malloc'd) and back. */
/* Reads the integer JSON value v (a member of a model configuration called `what`) into *out;
 * -1 with a message naming it when v is not an integer in [lo, hi]. The range is checked on the
 * double: converting one beyond int's range (e.g. 1e300) is undefined (fuzz_model). */
struct cJSON;
int gx_model_config_int(const struct cJSON *v, const char *what, int lo, int hi, int *out,
                        gx_error *err);

char *gx_ssdgm_config_to_json(const gx_ssdgm_config *c);
int gx_ssdgm_config_from_json(const char *json, gx_ssdgm_config *c, gx_error *err);

/* Writes the model atomically. extra_keys/extra_values: n_extra further metadata entries. */
int gx_ssdgm_save(const char *path, const gx_ssdgm *m, const gx_model_info *info, int n_extra,
                  const char *const *extra_keys, const char *const *extra_values, gx_error *err);

/* Reads a model written by gx_ssdgm_save: checks the format, builds the model from its
 * configuration and loads every tensor with its shape checked; a missing or unexpected tensor is an
 * error naming it. info receives the class names and preprocessing. */
int gx_ssdgm_load(const char *path, gx_ssdgm *m, gx_model_info *info, gx_error *err);

/* The index of the domain named `name` (NULL: the last domain), or -1 with an error listing the
 * model's domains. */
int gx_ssdgm_domain_index(const gx_ssdgm *m, const char *name, gx_error *err);

#endif
