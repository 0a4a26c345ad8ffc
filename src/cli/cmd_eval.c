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
#include "io/report.h"
#include "models/ssdgm_io.h"

typedef struct model_cmd_opts {
    const char *model, *spec, *domain, *out;
    int threads;
} model_cmd_opts;

/* Shared option parsing: MODEL SPEC [--domain NAME] [--out PATH] [--threads N]. */
static int parse(const char *cmd, int argc, char **argv, model_cmd_opts *o,
                 void (*usage)(FILE *)) {
    static const struct option longopts[] = {{"domain", required_argument, 0, 'd'},
                                             {"out", required_argument, 0, 'o'},
                                             {"threads", required_argument, 0, 't'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    optind = 1;
    opterr = 0;
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 3;
        case 'd': o->domain = optarg; break;
        case 'o': o->out = optarg; break;
        case 't':
            if (cli_parse_int(cmd, "--threads", optarg, 1, 1024, &v)) return 1;
            o->threads = (int)v;
            break;
        default: return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
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
"matched to the model's classes by name; a class the model does not know is an error.\n\n"
"options (default in brackets):\n"
"  --domain NAME   M2/DVT: the model's domain the data belong to [the last domain]\n"
"  --out FILE      also write the metrics as JSON to FILE [none]\n"
"  --threads N     threads [all cores]\n"
"  --help          this text\n");
}

static void predict_usage(FILE *f) {
    fprintf(f,
"usage: genxfer predict MODEL SPEC [options]\n\n"
"Writes a CSV with one row per example of SPEC: id, predicted class name and the probability of\n"
"every class, q(y|x). MODEL is a model.safetensors from genxfer train or genxfer scratch.\n\n"
"options (default in brackets):\n"
"  --domain NAME   M2/DVT: the model's domain the data belong to [the last domain]\n"
"  --out FILE      the CSV file [predictions.csv]\n"
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

/* eval or predict with a classifier file (genxfer scratch): one input, no domains. */
static int classifier_cmd(const model_cmd_opts *o, int predict) {
    gx_error err;
    gx_classifier m;
    gx_model_info info;
    if (o->domain)
        return cli_error("%s: a classifier has no domains (--domain is for M2/DVT models)", o->model);
    if (gx_classifier_load(o->model, &m, &info, &err)) return cli_error("%s", err.msg);
    gx_dataset ds;
    gx_dataset_init(&ds);
    float *P = NULL;
    const char *out = o->out ? o->out : "predictions.csv";
    int rc = cli_classifier_load_data(&m, &info, o->spec, &ds, &err);
    if (!rc && !predict) rc = cli_classifier_evaluate(&m, &info, &ds, o->spec, o->out, NULL, &err);
    if (!rc && predict)
        rc = cli_classifier_predict(&m, &ds, &P, &err) ||
             gx_predictions_csv_write(out, (const char *const *)ds.ids, ds.n, P, m.n_classes,
                                      (const char *const *)info.class_names, &err);
    if (rc) cli_error("%s", err.msg);
    else if (predict) printf("wrote %lld predictions to %s\n", (long long)ds.n, out);
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
    if (gx_classifier_is_model_file(o.model)) return classifier_cmd(&o, 1);
    gx_ssdgm m;
    gx_model_info info;
    int d;
    if (open_model(&o, &m, &info, &d)) return 1;
    gx_error err;
    gx_dataset ds;
    gx_dataset_init(&ds);
    float *P = NULL;
    const char *out = o.out ? o.out : "predictions.csv";
    rc = 1;
    if (cli_load_for_model(&m, &info, d, o.spec, &ds, &err) || cli_predict(&m, d, &ds, &P, NULL, &err) ||
        gx_predictions_csv_write(out, (const char *const *)ds.ids, ds.n, P, m.cfg.n_classes,
                                 (const char *const *)info.class_names, &err))
        cli_error("%s", err.msg);
    else {
        printf("wrote %lld predictions to %s\n", (long long)ds.n, out);
        rc = 0;
    }
    free(P);
    gx_dataset_free(&ds);
    gx_ssdgm_free(&m);
    gx_model_info_free(&info);
    return rc;
}
