/* genxfer eval and genxfer predict: use a trained M2/DVT model, or a classifier from genxfer
 * scratch, on a dataset spec. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_classifier.h"
#include "cli/cli_model.h"
#include "core/gemm.h"
#include "data/readers.h"
#include "io/atomic_file.h"
#include "io/report.h"
#include "models/ssdgm_io.h"

typedef struct model_cmd_opts {
    const char *model, *spec, *domain, *out;
    int threads;
    const char *latent; /* predict: --latent FILE */
    int npy;            /* predict: --format npy */
} model_cmd_opts;

/* Shared option parsing: MODEL SPEC [--domain NAME] [--out PATH] [--threads N], and for predict
 * [--format csv|npy] [--latent FILE]. */
static int parse(const char *cmd, int argc, char **argv, model_cmd_opts *o,
                 void (*usage)(FILE *)) {
    static const struct option longopts[] = {{"domain", required_argument, 0, 'd'},
                                             {"out", required_argument, 0, 'o'},
                                             {"threads", required_argument, 0, 't'},
                                             {"help", no_argument, 0, 'h'},
                                             {"format", required_argument, 0, 'f'},
                                             {"latent", required_argument, 0, 'l'},
                                             {0, 0, 0, 0}};
    int predict = !strcmp(cmd, "predict");
    memset(o, 0, sizeof *o);
    optind = 1;
    opterr = 0;
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 3;
        case 'd': o->domain = optarg; break;
        case 'f':
        case 'l': /* predict only */
            if (!predict) return cli_usage_error(cmd, "unknown option '--%s'", c == 'f' ? "format" : "latent");
            if (c == 'l') o->latent = optarg;
            else if (!strcmp(optarg, "csv") || !strcmp(optarg, "npy")) o->npy = optarg[0] == 'n';
            else return cli_error("%s --format: '%s' (expected csv or npy)", cmd, optarg);
            break;
        case 'o': o->out = optarg; break;
        case 't':
            if (cli_parse_int(cmd, "--threads", optarg, 1, 1024, &v)) return 1;
            o->threads = (int)v;
            break;
        default: return cli_option_error(cmd, argv[optind - 1], longopts);
        }
    }
    if (argc - optind != 2) return cli_usage_error(cmd, "expected MODEL and SPEC");
    o->model = argv[optind];
    o->spec = argv[optind + 1];
    if (o->threads) gx_set_threads(o->threads);
    return 0;
}

static void eval_usage(FILE *f) {
    fprintf(f,
"usage: genxfer eval MODEL SPEC [options]\n\n"
"Classifies the labelled dataset SPEC with MODEL (a model.safetensors from genxfer train or\n"
"genxfer scratch) and\n"
"prints accuracy, macro F1, per-class precision/recall/F1 and the confusion matrix. Labels are\n"
"matched to the model's classes by name; a class the model does not know is an error.\n"
"SPEC is read as the model's training data were: the options that say what a row holds\n"
"(keep, drop, columns, diff, log10, scale, image, resize, pad, ...) and, for eval, the label\n"
"options are taken from the spec stored in the model, and CSV columns are matched by name, in\n"
"any order; a missing column is an error naming it. An option SPEC gives must agree with\n"
"training's. What belongs to the file alone (id=, files=, data=, labels=, limit=) is SPEC's.\n\n"
"options (default in brackets):\n"
"  --domain NAME   M2/DVT: the model's domain the data belong to [the last domain]\n"
"  --out FILE      also write the metrics as JSON to FILE [none]\n"
"  --threads N     threads [all cores]\n"
"  --help          this text\n");
}

static void predict_usage(FILE *f) {
    fprintf(f,
"usage: genxfer predict MODEL SPEC [options]\n\n"
"Writes the class probabilities q(y|x) of every example of SPEC, rows in the dataset's order:\n"
"  csv  a header, then per example: id, predicted class name, the probability of every class\n"
"       (columns id,predicted,p_CLASS...)\n"
"  npy  float32 [n, K], columns in the model's class order; that order (one class name a line)\n"
"       also goes to a text file beside it: FILE.npy -> FILE.classes.txt\n"
"With --latent, the means of q(z|x) (m2: of q(z|x, argmax y)) too, in the same format and row\n"
"order: csv columns id,z_0,z_1,...; npy float32 [n, z]. MODEL is a model.safetensors from\n"
"genxfer train or genxfer scratch (a classifier: no --domain, no --latent).\n"
"SPEC is read as the model's training data were: the options that say what a row holds\n"
"(keep, drop, columns, diff, log10, scale, image, resize, pad, ...) are taken from the spec\n"
"stored in the model (not the label options: predict needs no labels), and CSV columns are\n"
"matched by name, in any order; a missing column is an error naming it. An option SPEC gives\n"
"must agree with training's. What belongs to the file alone (id=, files=, data=, labels=,\n"
"limit=) is SPEC's.\n\n"

"options (default in brackets):\n"
"  --domain NAME   M2/DVT: the model's domain the data belong to [the last domain]\n"
"  --format F      csv | npy [csv]\n"
"  --out FILE      the probabilities [predictions.csv, with npy predictions.npy]\n"
"  --latent FILE   also write the latent means to FILE (m2, dvt) [none]\n"
"  --threads N     threads [all cores]\n"
"  --help          this text\n");
}

static int open_model(const model_cmd_opts *o, gx_ssdgm *m, gx_model_info *info, int *d) {
    gx_error err;
    if (gx_ssdgm_load(o->model, m, info, &err)) return cli_error("%s", err.msg);
    if ((*d = gx_ssdgm_domain_index(m, o->domain, &err)) < 0) {
        gx_ssdgm_free(m);
        gx_model_info_free(info);
        return cli_error("%s: %s", o->model, err.msg);
    }
    return 0;
}

/* The class-order file of an .npy of probabilities: X.npy -> X.classes.txt, else X.classes.txt. */
static void classes_path(const char *npy, char *buf, size_t n) {
    size_t len = strlen(npy);
    if (len > 4 && !strcmp(npy + len - 4, ".npy")) len -= 4;
    snprintf(buf, n, "%.*s.classes.txt", (int)len, npy);
}

/* q(y|x) P [n, K] as .npy, and the class names, one a line, beside it. */
static int write_npy_predictions(const char *out, const float *P, int64_t n, int K,
                                 const gx_model_info *info, char *names_path, size_t names_n,
                                 gx_error *err) {
    int64_t shape[2] = {n, K};
    if (gx_npy_write(out, GX_NPY_F32, 2, shape, P, err)) return -1;
    classes_path(out, names_path, names_n);
    char text[GX_MAX_CLASSES * (GX_NAME_MAX + 1) + 1];
    size_t len = 0;
    for (int k = 0; k < K; k++) {
        const char *nm = info->class_names && info->class_names[k] ? info->class_names[k] : NULL;
        int w = nm ? snprintf(text + len, sizeof text - len, "%s\n", nm)
                   : snprintf(text + len, sizeof text - len, "%d\n", k);
        if (w < 0 || (size_t)w >= sizeof text - len) return gx_fail(err, "%s: class names too long", names_path);
        len += (size_t)w;
    }
    return gx_atomic_write_file(names_path, text, len, err);
}

/* eval or predict with a classifier file (genxfer scratch): one input, no domains, no latent
 * space. */
static int classifier_cmd(const model_cmd_opts *o, int predict) {
    gx_error err;
    gx_classifier m;
    gx_model_info info;
    if (o->domain)
        return cli_error("%s: a classifier has no domains (--domain is for M2/DVT models)", o->model);
    if (o->latent)
        return cli_error("%s: a classifier has no latent space (--latent is for M2/DVT models)",
                         o->model);
    if (gx_classifier_load(o->model, &m, &info, &err)) return cli_error("%s", err.msg);
    gx_dataset ds;
    gx_dataset_init(&ds);
    float *P = NULL;
    const char *out = o->out ? o->out : o->npy ? "predictions.npy" : "predictions.csv";
    char names_path[1100];
    int rc = cli_classifier_load_data(&m, &info, o->spec, !predict, &ds, &err);
    if (!rc && !predict) rc = cli_classifier_evaluate(&m, &info, &ds, o->spec, o->out, NULL, &err);
    if (!rc && predict)
        rc = cli_classifier_predict(&m, &ds, &P, &err) ||
             (o->npy ? write_npy_predictions(out, P, ds.n, m.n_classes, &info, names_path,
                                             sizeof names_path, &err)
                     : gx_predictions_csv_write(out, (const char *const *)ds.ids, ds.n, P,
                                                m.n_classes, (const char *const *)info.class_names,
                                                &err));
    if (rc) {
        cli_error("%s", err.msg);
    } else if (predict) {
        FILE *st = cli_status_stream(out);
        fprintf(st, "wrote %lld predictions to %s", (long long)ds.n, out);
        if (o->npy)
            fprintf(st, " (float32 [%lld, %d]; class order in %s)", (long long)ds.n, m.n_classes,
                    names_path);
        fprintf(st, "\n");
    }
    free(P);
    gx_dataset_free(&ds);
    gx_classifier_free(&m);
    gx_model_info_free(&info);
    return rc ? 1 : 0;
}

int cmd_eval(int argc, char **argv) {
    model_cmd_opts o;
    int rc = parse("eval", argc, argv, &o, eval_usage);
    if (rc) return rc == 3 ? 0 : rc;
    if (cli_parse_only) return 0;
    if (gx_classifier_is_model_file(o.model)) return classifier_cmd(&o, 0);
    gx_ssdgm m;
    gx_model_info info;
    int d;
    if (open_model(&o, &m, &info, &d)) return 1;
    gx_error err;
    rc = cli_evaluate_and_report(&m, &info, d, o.spec, o.out, NULL, &err) ? cli_error("%s", err.msg) : 0;
    gx_ssdgm_free(&m);
    gx_model_info_free(&info);
    return rc;
}

int cmd_predict(int argc, char **argv) {
    model_cmd_opts o;
    int rc = parse("predict", argc, argv, &o, predict_usage);
    if (rc) return rc == 3 ? 0 : rc;
    if (cli_parse_only) return 0;
    if (gx_classifier_is_model_file(o.model)) return classifier_cmd(&o, 1);
    gx_ssdgm m;
    gx_model_info info;
    int d;
    if (open_model(&o, &m, &info, &d)) return 1;
    gx_error err;
    gx_dataset ds;
    gx_dataset_init(&ds);
    float *P = NULL, *MU = NULL;
    const char *out = o.out ? o.out : o.npy ? "predictions.npy" : "predictions.csv";
    int K = m.cfg.n_classes, z = m.cfg.z_dim;
    char names_path[1100];
    rc = 1;
    if (cli_load_for_model(&m, &info, d, o.spec, 0, &ds, &err) ||
        cli_predict(&m, &info, d, &ds, &P, o.latent ? &MU : NULL, &err) ||
        (o.npy ? write_npy_predictions(out, P, ds.n, K, &info, names_path, sizeof names_path, &err)
               : gx_predictions_csv_write(out, (const char *const *)ds.ids, ds.n, P, K,
                                          (const char *const *)info.class_names, &err)))
        cli_error("%s", err.msg);
    else if (o.latent &&
             (o.npy ? gx_npy_write(o.latent, GX_NPY_F32, 2, (int64_t[]){ds.n, z}, MU, &err)
                    : gx_latent_csv_write(o.latent, (const char *const *)ds.ids, ds.n, MU, z, &err)))
        cli_error("%s", err.msg);
    else {
        FILE *st = cli_status_stream(out) == stderr ? stderr : cli_status_stream(o.latent);
        fprintf(st, "wrote %lld predictions to %s", (long long)ds.n, out);
        if (o.npy)
            fprintf(st, " (float32 [%lld, %d]; class order in %s)", (long long)ds.n, K, names_path);
        fprintf(st, "\n");
        if (o.latent) {
            fprintf(st, "wrote %lld latent means to %s", (long long)ds.n, o.latent);
            if (o.npy) fprintf(st, " (float32 [%lld, %d])", (long long)ds.n, z);
            fprintf(st, "\n");
        }
        rc = 0;
    }
    free(P);
    free(MU);
    gx_dataset_free(&ds);
    gx_ssdgm_free(&m);
    gx_model_info_free(&info);
    return rc;
}
