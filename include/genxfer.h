/* genxfer: transfer learning with deep generative models -- the public C API.
 *
 * Load datasets from the same specs the genxfer tool takes, train an M2 or DVT model (or a plain
 * classifier, preset "mlp") on one or more domains that share a latent space, predict class
 * probabilities q(y|x), and save or load models as safetensors files. This header is all a program
 * needs; build with
 *
 *     cc prog.c $(pkg-config --cflags --libs genxfer)
 *
 * (add --static to link libgenxfer.a). examples/train_predict.c is a complete program.
 *
 * Conventions
 *   - Errors: a function that can fail returns 0 (or a non-NULL handle) on success and -1 (or
 *     NULL) on failure, with a one-line message in *err (err may be NULL). The library never exits
 *     or aborts on bad input and prints nothing unless asked to (gx_train_options.verbose).
 *   - Ownership: handles (gx_data, gx_model) are opaque; the caller owns what a *_load, *_train or
 *     *_from_arrays call returns and releases it with the matching *_free (NULL is a no-op).
 *     Pointers and strings returned by accessors are borrowed: valid until the handle is freed.
 *     Functions never keep pointers to the caller's arrays or options after they return.
 *   - Shapes: matrices are row-major float32, [rows, cols]; labels are int32 class indices, -1 for
 *     an unlabelled row.
 *   - Threads: OpenMP and OpenBLAS use every core unless gx_set_threads says otherwise. Same seed
 *     and thread count, same model. A model may be used by several threads at once for prediction.
 */
#ifndef GENXFER_H
#define GENXFER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GENXFER_VERSION "0.1.0"
#define GENXFER_ERROR_SIZE 1024
#define GENXFER_MAX_LAYERS 4   /* widths in gx_train_options.enc and .dec */
#define GENXFER_MAX_DOMAINS 8

/* The version of the library linked in, e.g. "0.1.0" (compare with GENXFER_VERSION). */
const char *gx_version(void);

/* An error message: one line naming the file, field or value at fault. (The library's internal
 * headers define the same type.) */
#ifndef GX_ERROR_TYPE_DEFINED
#define GX_ERROR_TYPE_DEFINED
typedef struct gx_error {
    char msg[GENXFER_ERROR_SIZE];
} gx_error;
#endif

/* Threads for OpenMP and OpenBLAS (n <= 0: leave the default, all cores). */
void gx_set_threads(int n);

/* ---- datasets ------------------------------------------------------------------------------ */

/* A dataset in memory: x [rows, cols] float32, optional labels with class names. */
typedef struct gx_data gx_data;

/* Loads a dataset spec, as `genxfer data SPEC` would: e.g. "mnist:train,limit=500",
 * "csv:stars.csv,label=type,drop=id", "npy:x.npy,labels=y.npy" (`genxfer data --help` and
 * genxfer(1) give the grammar). Short names (mnist:, usps:, fashion-mnist:) are read from
 * $GENXFER_DATA, else ../shared/data. */
gx_data *gx_data_load(const char *spec, gx_error *err);

/* A dataset from the caller's arrays, copied: x [rows, cols]; y [rows] in [0, n_classes) or -1,
 * or NULL for unlabelled data; class_names [n_classes] or NULL ("0", "1", ...). n_classes is
 * ignored when y is NULL. Classes are matched across domains and models by name. */
gx_data *gx_data_from_arrays(int64_t rows, int64_t cols, const float *x, const int32_t *y,
                             int n_classes, const char *const *class_names, gx_error *err);

void gx_data_free(gx_data *data);

int64_t gx_data_rows(const gx_data *data);
int64_t gx_data_cols(const gx_data *data);
const float *gx_data_x(const gx_data *data);   /* [rows, cols] */
const int32_t *gx_data_y(const gx_data *data); /* [rows], or NULL when the data have no labels */
int gx_data_classes(const gx_data *data);      /* 0 when the data have no labels */
const char *gx_data_class_name(const gx_data *data, int k); /* NULL when k is out of range */

/* ---- training ------------------------------------------------------------------------------ */

/* One domain of a training run: a dataset and how its labels are used. */
typedef struct gx_domain {
    const char *name;            /* unique, 1 to 63 characters without spaces, dots, commas or
                                    quotes; NULL: "d1", "d2", ... by position */
    const gx_data *data;         /* borrowed while gx_model_train runs; not modified */
    int64_t labels_per_class;    /* -1: every label is used (default); 0: none (all rows are
                                    unlabelled); k: k drawn per class, every row is also used
                                    without its label */
    int64_t val_per_class;       /* labelled rows per class held out for model selection [0] */
    const char *share;           /* NULL, or the name of an earlier domain with the same features
                                    whose input and output blocks this one uses */
    int standardise;             /* -1 auto: yes unless every value is in [0, 1] (default);
                                    0 no; 1 yes. The statistics are stored with the model and
                                    applied again by gx_model_predict. */
    const char *likelihood;      /* NULL or "auto" (Bernoulli when every value is in [0, 1] after
                                    standardisation, else Gaussian), "bernoulli", "gaussian" */
} gx_domain;

/* Defaults for a domain named `name` (may be NULL) holding `data`. */
void gx_domain_init(gx_domain *dom, const char *name, const gx_data *data);

/* The settings of `genxfer train` that the API exposes; the defaults are the tool's. */
typedef struct gx_train_options {
    const char *preset;          /* "dvt" (default), "m2" (one domain) or "mlp" (the encoder and
                                    the classifier alone, trained on the labelled rows) */
    int epochs;                  /* 10 */
    int batch;                   /* labelled rows per domain per step, 100 */
    int batch_unlabelled;        /* unlabelled rows per domain per step, 100 */
    double lr;                   /* Adam learning rate, 1e-3 */
    double alpha;                /* weight of the labelled cross-entropy; < 0: 0.1 x the number
                                    of labelled rows, at least 1 (default -1) */
    double kl_warmup;            /* epochs over which the KL weight rises from 0 to 1 [0] */
    int class_balance;           /* weight labelled rows by inverse class frequency [0] */
    const char *prior;           /* class priors: "labelled" (default), "uniform", "reestimate" */
    int z;                       /* latent size, 50 */
    int enc[GENXFER_MAX_LAYERS]; /* encoder widths, 0-terminated: the domain input layer, then
                                    the shared trunk (at least 2) [500, 500] */
    int dec[GENXFER_MAX_LAYERS]; /* decoder trunk widths, 0-terminated [500, 500] */
    int cls_hidden;              /* hidden layer of q(y|x), 0 = linear [0] */
    int lat_hidden;              /* hidden layer of q(z|x,y), 0 = linear [0] */
    const char *activation;      /* "softplus" (default), "relu", "leaky_relu", "tanh",
                                    "sigmoid" */
    int batchnorm;               /* -1: the preset's (dvt, mlp: on; m2: off); 0 off; 1 on */
    uint64_t seed;               /* one seed for everything, 1 */
    int verbose;                 /* 1: one line per epoch on stderr [0] */
} gx_train_options;

void gx_train_options_init(gx_train_options *opt);

/* A trained model. */
typedef struct gx_model gx_model;

/* Trains a model on domains[0..n_domains-1] (1 to GENXFER_MAX_DOMAINS; the last one is the
 * target: with val_per_class > 0 its validation accuracy selects the epoch kept, else the mean
 * over the domains with validation rows, else the last epoch). Classes are matched across domains
 * by name; at least 2 in all. The domains' data are copied, never modified. opt NULL: defaults. */
gx_model *gx_model_train(const gx_domain *domains, int n_domains, const gx_train_options *opt,
                         gx_error *err);

/* ---- using a model ------------------------------------------------------------------------- */

/* Class probabilities q(y|x) of every row of data in the named domain (NULL: the last domain):
 * probs [gx_data_rows(data), gx_model_classes(model)], allocated by the caller. The model's
 * standardisation of that domain is applied to a copy of the rows; data must have the domain's
 * feature count. The model is not modified. */
int gx_model_predict(const gx_model *model, const char *domain, const gx_data *data, float *probs,
                     gx_error *err);

/* The same for raw rows: x [rows, cols], cols = the domain's feature count. */
int gx_model_predict_rows(const gx_model *model, const char *domain, const float *x, int64_t rows,
                          int64_t cols, float *probs, gx_error *err);

/* The labels of data as the model's class indices, matched by name: y [gx_data_rows(data)],
 * allocated by the caller; -1 for unlabelled rows. Fails when the data have no labels or a class
 * that the model does not know. */
int gx_model_labels(const gx_model *model, const gx_data *data, int32_t *y, gx_error *err);

/* Writes the model (safetensors, atomically); genxfer eval/predict/sample/info read it. */
int gx_model_save(const gx_model *model, const char *path, gx_error *err);
/* Reads a model written by gx_model_save or `genxfer train`. */
gx_model *gx_model_load(const char *path, gx_error *err);
void gx_model_free(gx_model *model);

const char *gx_model_preset(const gx_model *model);              /* "m2", "dvt" or "mlp" */
int gx_model_classes(const gx_model *model);
const char *gx_model_class_name(const gx_model *model, int k);   /* NULL when out of range */
int gx_model_domains(const gx_model *model);
const char *gx_model_domain_name(const gx_model *model, int d);  /* NULL when out of range */
/* Feature count of the named domain (NULL: the last), or -1 with an error naming the domains. */
int64_t gx_model_domain_cols(const gx_model *model, const char *domain, gx_error *err);

#ifdef __cplusplus
}
#endif

#endif
