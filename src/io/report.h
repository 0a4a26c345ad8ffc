/* Result files: metrics JSON, a human-readable metrics table, predictions CSV. Every file is
 * written atomically (io/atomic_file.h): on any failure the target is left as it was (absent or
 * the previous version) and no temporary file remains. Messages name the target path.
 *
 * Class names: `class_names` is [K] or NULL; NULL (or a NULL entry) means the class's index in
 * decimal ("0", "1", ...). The caller keeps ownership of every argument. */
#ifndef GX_REPORT_H
#define GX_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

#include "core/error.h"
#include "core/metrics.h"

/* Writes obj (printed formatted by cJSON, plus a final newline) to path atomically. obj is not
 * modified or freed. Non-finite numbers come out as null (cJSON's behaviour). */
int gx_json_write_file(const char *path, const cJSON *obj, gx_error *err);

/* Builds the metrics object (caller frees it with cJSON_Delete), NULL with err set on failure:
 *   {"accuracy": a, "macro_f1": f, "n": n,
 *    "classes": [{"name": "0", "precision": p, "recall": r, "f1": f, "support": s}, ...],
 *    "confusion": [[c00, c01, ...], ...],      rows true class, columns predicted
 *    ...extra}
 * extra, when not NULL, must be an object; its members are copied (extra itself is untouched)
 * after the metrics keys. A member of extra whose name is one of the metrics keys is an error. */
cJSON *gx_metrics_json(const gx_class_metrics *m, const char *const *class_names,
                       const cJSON *extra, gx_error *err);

/* gx_metrics_json written to path with gx_json_write_file. */
int gx_metrics_json_write(const char *path, const gx_class_metrics *m,
                          const char *const *class_names, const cJSON *extra, gx_error *err);

/* Prints to f a table: accuracy and macro F1; per class precision, recall, F1 and support; the
 * confusion matrix with the class names as row and column headers. Columns are aligned (names are
 * measured in bytes, so non-ASCII names may misalign). */
void gx_metrics_print(FILE *f, const gx_class_metrics *m, const char *const *class_names);

/* Writes the predictions CSV for P [n, K] (row-major class probabilities):
 *     id,predicted,p_<name0>,p_<name1>,...
 *     <id>,<name of the argmax class>,<P[i,0]>,<P[i,1]>,...
 * ids is [n] or NULL (then, as for a NULL entry, the id is the 0-based row number).
 * The predicted class is gx_argmax_rows of the row. Probabilities are printed with "%.9g", which
 * reads back (strtof) to the identical float. Fields containing a comma, a double quote, CR or LF
 * are quoted as in RFC 4180 (quotes doubled); lines end with "\n". n >= 0, K >= 1. */
int gx_predictions_csv_write(const char *path, const char *const *ids, int64_t n, const float *P,
                             int K, const char *const *class_names, gx_error *err);

/* Writes latent codes Z [n, z] (row-major) as CSV, ids as above, values with "%.9g":
 *     id,z_0,z_1,...
 *     <id>,<Z[i,0]>,<Z[i,1]>,... */
int gx_latent_csv_write(const char *path, const char *const *ids, int64_t n, const float *Z,
                        int z, gx_error *err);

#endif
