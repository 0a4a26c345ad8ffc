/* Dataset specs: the strings a user types on the command line to name a dataset, e.g.
 *
 *     mnist:train,limit=1000
 *     usps:test,resize=20x20,pad=4
 *     fashion-mnist:train,select=Pullover+Coat+Shirt+Sneaker+Ankle boot
 *     csv:stars/eros1/train.csv,label=type,drop=patch_id+star_id_b,log10=period
 *     hdf5:usps.h5,data=/train/data,labels=/train/target,image=16x16
 *
 * The star tables of two surveys with the same classes and features, for cross-survey transfer:
 *
 *     csv:stars/eros1/train.csv,label=type,id=Unnamed: 0,rename=1:EB+2:CEPH+3:RRL+4:LPV,
 *         diff=color:magnitude_b-magnitude_r,keep=magnitude_r+color+period,log10=period
 *     csv:stars/macho,header=no,columns=mag+color+period+amp,files=EB+CEPH+RRL+longperiod_lc,
 *         rename=longperiod_lc:LPV,keep=mag+color+period,log10=period
 *
 * (each on one line). A csv PATH may be a folder: files=A+B reads PATH/A.csv and PATH/B.csv (all
 * *.csv files in it, sorted by name, without files=) as one table, and without label= each file
 * is a class named after it. columns= names the columns (header=no files have none); diff=NEW:A-B
 * adds the feature A - B; keep= picks the features in its order (it may name NEW); rename=OLD:NEW
 * renames classes, merging those given the same name, before select=.
 *
 * Grammar: KIND:PATH[,KEY=VALUE]... ; a list value joins its items with '+'. So a path or value
 * cannot contain ',' and a list item cannot contain '+'. Spaces around keys and values are
 * ignored. gx_spec_print_help prints the full grammar (for --help texts).
 *
 * Short names for the shared datasets (PATH is train or test) are found under $GENXFER_DATA, or
 * ../shared/data from the current directory when GENXFER_DATA is unset. */
#ifndef GX_SPEC_H
#define GX_SPEC_H

#include <stdint.h>
#include <stdio.h>

#include "data/dataset.h"
#include "data/readers.h"

typedef enum {
    GX_SPEC_MNIST,
    GX_SPEC_FASHION_MNIST,
    GX_SPEC_USPS,
    GX_SPEC_IDX,
    GX_SPEC_NPY,
    GX_SPEC_HDF5,
    GX_SPEC_CSV,
} gx_spec_kind;

typedef enum { GX_IMPUTE_NONE, GX_IMPUTE_MEDIAN, GX_IMPUTE_MEAN, GX_IMPUTE_ZERO } gx_impute;

/* A parsed spec. Strings point into one private copy of the spec; lists are NULL-terminated arrays
 * (NULL when the option was not given). */
typedef struct gx_spec {
    gx_spec_kind kind;
    const char *path;    /* file path (csv: or folder); for a short name "train" or "test" */
    /* format options */
    const char *labels;  /* idx, npy: label file; hdf5: label dataset */
    const char *data;    /* hdf5: data dataset (required) */
    const char *label;   /* csv: label column */
    const char *id;      /* csv: id column */
    const char **keep;   /* csv: feature columns to keep, in this order (may name diffs) */
    const char **drop;   /* csv: columns to drop */
    const char **columns; /* csv: names of the file's columns, in order */
    const char **files;  /* csv: PATH is a folder; read PATH/files[i] (".csv" appended if absent) */
    gx_csv_diff *diffs;  /* csv: n_diffs computed features NAME = A - B (diff=NAME:A-B+...) */
    int n_diffs;
    int missing_drop;    /* csv: missing=drop (1) or missing=error (0, default) */
    int header;          /* csv: header=yes (1, default) or no */
    char sep;            /* csv: delimiter, ',' by default */
    const char **classes; /* class names in index order (csv: the label values, in class order) */
    /* options of every kind, applied in this order after loading */
    const char **rename_from, **rename_to; /* rename=OLD:NEW+...: class rename_from[i] becomes
                                            * rename_to[i]; classes of equal new names merge */
    const char **select; /* keep these classes (names or indices), re-indexed in the order given */
    int64_t limit;       /* keep the first N rows (after select); 0 = all */
    int image_h, image_w; /* image=HxW; 0 = not given */
    const char **log10;  /* columns to take log10 of */
    int has_scale;
    float scale;         /* scale=F or scale=A/B; short names of byte images default to 1/255 */
    int resize_h, resize_w; /* resize=HxW (bilinear); 0 = not given */
    int pad;             /* pad=P zero pixels on each side; -1 = not given */
    gx_impute impute;    /* csv: impute=median|mean|zero, or GX_IMPUTE_NONE */
    char *buf_;          /* private */
} gx_spec;

/* Parses without touching any file. Errors name the spec and the key at fault. */
int gx_spec_parse(const char *spec, gx_spec *out, gx_error *err);
void gx_spec_free(gx_spec *s);

/* Parses and loads a spec. *out must be initialised (gx_dataset_init) or hold a dataset, which is
 * freed and replaced on success and left alone on failure. out->source is set to the spec. */
int gx_spec_load(const char *spec, gx_dataset *out, gx_error *err);

/* The same with impute= filled from the training data: names [n_fill] and fill [n_fill] give the
 * value for each column by name (NULL: the data's own median, mean or 0). *used (may be NULL)
 * receives the values used, one per feature column before the other options (malloc'd; NULL
 * without impute=). */
int gx_spec_load_imputed(const char *spec, const char *const *names, const float *fill,
                         int n_fill, float **used, gx_dataset *out, gx_error *err);

/* The folder of the shared datasets: $GENXFER_DATA, else ../shared/data when it exists. */
int gx_spec_data_dir(char *buf, size_t n, gx_error *err);

/* Prints the accepted grammar, one option a line, for --help texts. */
void gx_spec_print_help(FILE *f);

/* The spec to read new data with for a model: `given` completed with the options the model's
 * training data were read with (`trained`, as the model stores it), when both name the same kind
 * of file. Taken from training: what a row holds (columns, header, sep, diff, log10, scale,
 * image, resize, pad, missing, impute), and with with_labels (eval) the labels (label, rename,
 * select, classes); never what belongs to one file (id, files, data, labels, limit). With the
 * training columns' names (features [n_features], may be NULL) keep= becomes those names, so that
 * only they are read, in any order. An option `given` spells out must have training's value, or
 * it is an error naming both. out [n] receives the spec (`given` itself when nothing applies). */
int gx_spec_complete(const char *given, const char *trained, const char *const *features,
                     int n_features, int with_labels, char *out, size_t n, gx_error *err);

/* Optimal string alignment distance (edits, adjacent swaps) between two names of up to 31
 * characters (99 for longer ones): the "did you mean" of spec keys and command-line options. */
int gx_edit_distance(const char *a, const char *b);

#endif
