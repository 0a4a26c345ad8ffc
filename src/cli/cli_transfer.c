/* The classifier-training commands of transfer to a target network (scratch, pp, pssl): options,
 * the labelled target data and their splits, the network from an architecture spec, the source
 * model (pp, pssl), training through transfer/cls_train.h and the outputs (model, training log,
 * metrics) in --out. Each command is a method: scratch trains from scratch, pp pre-trains on
 * pseudo samples first (transfer/pp.h), pssl adds the FixMatch term (transfer/pssl.h). */
#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_classifier.h"
#include "cli/cli_data.h"
#include "cli/cli_transfer.h"
#include "core/gemm.h"
#include "data/spec.h"
#include "data/splits.h"
#include "io/atomic_file.h"
#include "io/report.h"
#include "io/run_lock.h"
#include "transfer/kd.h"
#include "transfer/pp.h"
#include "transfer/pssl.h"

typedef struct scratch_opts {
    cli_xfer_method method;
    const char *cmd;
    cli_domain data;
    int have_data;
    const char *arch, *test_spec, *out, *opt_name, *sched_name;
    const char *source, *source_domain; /* pp, pssl: the source model file and its domain */
    gx_cls_train_config tc;
    gx_pp_config pp;
    int do_pp;                          /* pp; pssl --pp */
    const char *pp_from;                /* a pp_pretrained.safetensors to start from, or NULL */
    gx_pssl_config ps;
    const char *unlabelled;             /* pssl: "rest", a data spec, or NULL (pseudo samples) */
    gx_kd_config kd;
    int threads, quiet;
} scratch_opts;

void cli_transfer_usage_data(FILE *f) {
    fprintf(f,
"SPEC is a dataset spec (see `genxfer data --help`), e.g. fashion-mnist:train,select=2+4+6+7+9,\n"
"with options appended:\n"
"  k=K       labelled examples per class, drawn with the seed (default: all)\n"
"  val=V     examples per class held out to select the best epoch (default: 0, the last epoch)\n"
"  test=F    hold out a stratified fraction F (drawn with the seed) as the test set\n"
"  std=S     auto | yes | no: standardise each feature with the training data's mean and std,\n"
"            stored with the model (default auto: unless every value is in [0,1]; pp, pssl\n"
"            and kd need unstandardised data, the units of the source model)\n"
"\n"
"ARCH: layers separated by '-' or ',' (the same; commas usually end a block), input shape from\n"
"the data:\n"
"  conv<N>[k<K>]  convolution to N channels, K x K kernel (K odd, default 3), stride 1, same\n"
"                 padding (image data only)\n"
"  fc<N>          fully connected layer of N units (an image map is flattened first)\n"
"  fc             the last layer: one output per class\n"
"  bn             batch normalisation (per channel of an image map)\n"
"  relu, leaky_relu, tanh, sigmoid, softplus   activations\n"
"  pool           2x2 max pooling, stride 2\n"
"  gap            global average pooling (a map becomes one value per channel)\n"
"  drop<P>        dropout with probability P in [0, 1)\n"
"e.g. " CLI_DEFAULT_ARCH " (a CNN),\n"
"     fc500-relu,fc (an MLP).\n");
}

void cli_transfer_usage_options(FILE *f, const char *default_out) {
    fprintf(f,
"  --data SPEC         the labelled training data (required)\n"
"  --arch ARCH         the network [" CLI_DEFAULT_ARCH "]\n"
"  --test SPEC         evaluate the trained model on this labelled set at the end\n"
"  --epochs N          passes over the labelled examples [100]\n"
"  --batch N           examples per step (all of them when fewer) [64]\n"
"  --lr F              learning rate [1e-3]\n"
"  --optimizer O       adam | adamw | sgd [adam]\n"
"  --schedule S        constant | cosine | linear, down to 0 at the last step [cosine]\n"
"  --weight-decay F    the optimiser's weight decay [5e-4]\n"
"  --augment-shift N   image data: translate each training image by up to N pixels [2]\n"
"  --augment-flip      image data: and mirror it left-right with probability 1/2 (for data\n"
"                      whose classes a mirror does not change, e.g. clothes, not digits) [off]\n"
"  --val-every N       with val= in --data: score the validation set every N epochs and after\n"
"                      the last, keeping the best of those (many short epochs: k is small) [1]\n"
"  --seed N            one seed for everything [1]\n"
"  --threads N         threads for OpenMP and oneDNN [all cores]\n"
"  --out DIR           output folder, created if needed [%s]\n"
"  --quiet             no progress on stderr\n"
"  --help              this text\n", default_out);
}

enum { O_DATA = 256, O_ARCH, O_TEST, O_EPOCHS, O_BATCH, O_LR, O_OPT, O_SCHED, O_WD, O_SHIFT,
       O_FLIP, O_VAL_EVERY, O_SEED, O_THREADS, O_OUT, O_QUIET,
       /* source model options (pp, pssl) */
       O_SRC_DOMAIN, O_PP_SAMPLES, O_PP_EPOCHS, O_PP, O_MU, O_TAU, O_LAMBDA_U, O_COND,
       O_PSEUDO_BN, O_UNLABELLED, O_PP_FROM, O_KD_TEMP, O_KD_ALPHA };

/* Whether method takes option c: the source options go with pp, pssl and kd, the PP ones with pp
 * and pssl, the FixMatch ones with pssl, the distillation ones with kd. */
static int option_allowed(int c, cli_xfer_method method) {
    switch (c) {
    case O_SRC_DOMAIN: return method != CLI_XFER_SCRATCH;
    case O_PP_SAMPLES: case O_PP_EPOCHS: case O_PP_FROM:
        return method == CLI_XFER_PP || method == CLI_XFER_PSSL;
    case O_PP: case O_MU: case O_TAU: case O_LAMBDA_U: case O_COND: case O_PSEUDO_BN:
    case O_UNLABELLED:
        return method == CLI_XFER_PSSL;
    case O_KD_TEMP: case O_KD_ALPHA: return method == CLI_XFER_KD;
    default: return 1;
    }
}

static int parse_args(int argc, char **argv, cli_xfer_method method, void (*usage)(FILE *),
                      scratch_opts *o) {
    static const struct option longopts[] = {
        {"data", required_argument, 0, O_DATA}, {"arch", required_argument, 0, O_ARCH},
        {"test", required_argument, 0, O_TEST}, {"epochs", required_argument, 0, O_EPOCHS},
        {"batch", required_argument, 0, O_BATCH}, {"lr", required_argument, 0, O_LR},
        {"optimizer", required_argument, 0, O_OPT}, {"schedule", required_argument, 0, O_SCHED},
        {"weight-decay", required_argument, 0, O_WD},
        {"augment-shift", required_argument, 0, O_SHIFT}, {"augment-flip", no_argument, 0, O_FLIP},
        {"val-every", required_argument, 0, O_VAL_EVERY}, {"seed", required_argument, 0, O_SEED},
        {"threads", required_argument, 0, O_THREADS}, {"out", required_argument, 0, O_OUT},
        {"quiet", no_argument, 0, O_QUIET}, {"help", no_argument, 0, 'h'},
        {"source-domain", required_argument, 0, O_SRC_DOMAIN},
        {"pp-samples", required_argument, 0, O_PP_SAMPLES},
        {"pp-epochs", required_argument, 0, O_PP_EPOCHS}, {"pp", no_argument, 0, O_PP},
        {"pp-from", required_argument, 0, O_PP_FROM},
        {"mu", required_argument, 0, O_MU}, {"tau", required_argument, 0, O_TAU},
        {"lambda-u", required_argument, 0, O_LAMBDA_U},
        {"condition", required_argument, 0, O_COND}, {"pseudo-bn", required_argument, 0, O_PSEUDO_BN},
        {"unlabelled", required_argument, 0, O_UNLABELLED},
        {"kd-temp", required_argument, 0, O_KD_TEMP}, {"kd-alpha", required_argument, 0, O_KD_ALPHA},
        {0, 0, 0, 0}};
    static const char *const names[] = {"scratch", "pp", "pssl", "kd"};
    const char *cmd = names[method];
    long v;
    double f;
    gx_error err;
    memset(o, 0, sizeof *o);
    o->method = method;
    o->cmd = cmd;
    gx_dataset_init(&o->data.ds);
    o->arch = CLI_DEFAULT_ARCH;
    static const char *const outs[] = {"runs/scratch", "runs/pp", "runs/pssl", "runs/kd"};
    o->out = outs[method];
    o->opt_name = "adam";
    o->sched_name = "cosine";
    gx_cls_train_config_default(&o->tc);
    gx_pp_config_default(&o->pp);
    gx_pssl_config_default(&o->ps);
    gx_kd_config_default(&o->kd);
    o->do_pp = method == CLI_XFER_PP;
    int pp_opts = 0, cond_given = 0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        /* the source options belong to pp and pssl, the FixMatch ones to pssl */
        if (!option_allowed(c, method))
            return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        switch (c) {
        case 'h': usage(stdout); return 3;
        case O_DATA:
            if (o->have_data) return cli_usage_error(cmd, "--data given twice");
            if (cli_domain_parse(optarg, 0, &o->data, &err)) return cli_error("%s", err.msg);
            if (o->data.share[0] || strcmp(o->data.lik, "auto"))
                return cli_error("%s --data: share= and lik= are options of genxfer train", cmd);
            o->have_data = 1;
            break;
        case O_ARCH: o->arch = optarg; break;
        case O_TEST: o->test_spec = optarg; break;
        case O_EPOCHS: if (cli_parse_int(cmd, "--epochs", optarg, 1, 1000000, &v)) return 1; o->tc.epochs = (int)v; break;
        case O_BATCH: if (cli_parse_int(cmd, "--batch", optarg, 1, 1 << 16, &v)) return 1; o->tc.batch = (int)v; break;
        case O_LR: if (cli_parse_float(cmd, "--lr", optarg, 1e-12, 10, &f)) return 1; o->tc.lr = (float)f; break;
        case O_OPT:
            if (gx_optim_kind_parse(optarg, &o->tc.opt))
                return cli_error("%s --optimizer: unknown optimizer '%s' (adam, adamw, sgd)", cmd, optarg);
            o->opt_name = optarg;
            break;
        case O_SCHED:
            if (gx_sched_kind_parse(optarg, &o->tc.sched))
                return cli_error("%s --schedule: unknown schedule '%s' (constant, cosine, linear)", cmd, optarg);
            o->sched_name = optarg;
            break;
        case O_WD: if (cli_parse_float(cmd, "--weight-decay", optarg, 0, 10, &f)) return 1; o->tc.weight_decay = (float)f; break;
        case O_SHIFT: if (cli_parse_int(cmd, "--augment-shift", optarg, 0, 64, &v)) return 1; o->tc.aug_shift = (int)v; break;
        case O_FLIP: o->tc.aug_flip = 1; break;
        case O_VAL_EVERY: if (cli_parse_int(cmd, "--val-every", optarg, 1, 1000000, &v)) return 1; o->tc.val_every = (int)v; break;
        case O_SEED: if (cli_parse_int(cmd, "--seed", optarg, 0, 2147483647L, &v)) return 1; o->tc.seed = (uint64_t)v; break;
        case O_THREADS: if (cli_parse_int(cmd, "--threads", optarg, 1, 1024, &v)) return 1; o->threads = (int)v; break;
        case O_OUT: o->out = optarg; break;
        case O_QUIET: o->quiet = 1; break;
        case O_SRC_DOMAIN: o->source_domain = optarg; break;
        case O_PP_SAMPLES: if (cli_parse_int(cmd, "--pp-samples", optarg, 1, 10000000, &v)) return 1; o->pp.samples = v; pp_opts = 1; break;
        case O_PP_EPOCHS: if (cli_parse_int(cmd, "--pp-epochs", optarg, 1, 1000000, &v)) return 1; o->pp.epochs = (int)v; pp_opts = 1; break;
        case O_PP: o->do_pp = 1; break;
        case O_PP_FROM: o->pp_from = optarg; break;
        case O_MU: if (cli_parse_int(cmd, "--mu", optarg, 1, 1024, &v)) return 1; o->ps.mu = (int)v; break;
        case O_TAU: if (cli_parse_float(cmd, "--tau", optarg, 0, 1, &f)) return 1; o->ps.tau = (float)f; break;
        case O_LAMBDA_U: if (cli_parse_float(cmd, "--lambda-u", optarg, 0, 1000, &f)) return 1; o->ps.lambda_u = (float)f; break;
        case O_COND:
            cond_given = 1;
            if (gx_condition_parse(optarg, &o->ps.cond))
                return cli_error("%s --condition: unknown conditioning '%s' (soft, argmax, random)", cmd, optarg);
            break;
        case O_PSEUDO_BN:
            if (strcmp(optarg, "keep") && strcmp(optarg, "update"))
                return cli_error("%s --pseudo-bn: '%s' (expected keep or update)", cmd, optarg);
            o->ps.bn_update = !strcmp(optarg, "update");
            break;
        case O_UNLABELLED:
            if (!*optarg) return cli_error("%s --unlabelled: empty (expected rest or a data spec)", cmd);
            o->unlabelled = optarg;
            break;
        case O_KD_TEMP: if (cli_parse_float(cmd, "--kd-temp", optarg, 1e-3, 1000, &f)) return 1; o->kd.temp = (float)f; break;
        case O_KD_ALPHA: if (cli_parse_float(cmd, "--kd-alpha", optarg, 0, 1, &f)) return 1; o->kd.alpha = (float)f; break;
        default: return cli_option_error(cmd, argv[optind - 1], longopts);
        }
    }
    if (method != CLI_XFER_SCRATCH) {
        if (optind >= argc) return cli_usage_error(cmd, "the source model file SOURCE_MODEL is required");
        o->source = argv[optind++];
    }
    if (optind < argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o->have_data) return cli_usage_error(cmd, "--data SPEC is required");
    if (o->unlabelled && cond_given)
        return cli_usage_error(cmd, "--condition conditions the pseudo samples, which --unlabelled "
                                    "replaces");
    if (pp_opts && !o->do_pp) return cli_usage_error(cmd, "--pp-samples and --pp-epochs go with --pp");
    if (o->pp_from && !o->do_pp) return cli_usage_error(cmd, "--pp-from goes with --pp");
    if (o->pp_from && pp_opts)
        return cli_usage_error(cmd, "--pp-from takes the pre-trained network from a file; "
                                    "--pp-samples and --pp-epochs would not be used");
    return 0;
}

/* ---- progress and the training log ---- */

typedef struct scratch_ctx {
    const scratch_opts *o;
    gx_cls_epoch_log *logs; /* [epochs] */
    int every;              /* print every this many epochs */
} scratch_ctx;

static void on_epoch(void *p, const gx_cls_epoch_log *l) {
    scratch_ctx *c = p;
    c->logs[l->epoch - 1] = *l;
    int epochs = c->o->tc.epochs;
    if (c->o->quiet || (l->epoch % c->every && l->epoch != epochs)) return;
    fprintf(stderr, "epoch %4d/%d  loss %.4f  train acc %.2f%%", l->epoch, epochs, l->loss,
            100 * l->train_acc);
    if (l->val_acc >= 0) fprintf(stderr, "  val acc %.2f%%%s", 100 * l->val_acc, l->is_best ? " *" : "");
    fprintf(stderr, "  lr %.3g  %.2fs\n", (double)l->lr, l->seconds);
}

static int write_log(const char *path, const gx_cls_epoch_log *logs, int n, gx_error *err) {
    size_t cap = 128 + (size_t)n * 128, len = 0;
    char *text = gx_malloc(cap, "training log", err);
    if (!text) return -1;
    len += snprintf(text, cap, "epoch,step,loss,train_accuracy,val_accuracy,lr,seconds\n");
    for (int i = 0; i < n; i++)
        len += snprintf(text + len, cap - len, "%d,%ld,%.6g,%.6g,%.6g,%.6g,%.3f\n", logs[i].epoch,
                        logs[i].step, logs[i].loss, logs[i].train_acc, logs[i].val_acc,
                        (double)logs[i].lr, logs[i].seconds);
    int rc = gx_atomic_write_file(path, text, len, err);
    free(text);
    return rc;
}

/* ---- the command ---- */

/* PP's progress on stderr. */
/* PP's pre-trained network, source head on, as OUT/pp_pretrained.safetensors: the pre-training
 * depends on the seed and options but not on the target data, so later runs (other k, P-SSL) can
 * start from it with --pp-from. */
static int save_pretrained(const scratch_opts *o, const gx_classifier *m,
                           const gx_model_info *src_info, gx_error *err) {
    char path[1100], seed_s[32], samples_s[32], epochs_s[32];
    snprintf(path, sizeof path, "%s/pp_pretrained.safetensors", o->out);
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)o->tc.seed);
    snprintf(samples_s, sizeof samples_s, "%lld", (long long)o->pp.samples);
    snprintf(epochs_s, sizeof epochs_s, "%d", o->pp.epochs);
    const char *keys[] = {"seed", "pp_samples", "pp_epochs"}, *vals[] = {seed_s, samples_s, epochs_s};
    gx_model_info pi;
    memset(&pi, 0, sizeof pi);
    int rc = gx_model_info_set_classes(&pi, src_info->n_classes,
                                       (const char *const *)src_info->class_names, err) ||
             gx_classifier_save(path, m, &pi, 3, keys, vals, err) ? -1 : 0;
    gx_model_info_free(&pi);
    return rc;
}

/* --pp-from: m (this run's network with the source head) takes the weights of a network that
 * save_pretrained wrote for the same architecture, input and source classes. */
static int load_pretrained(const char *path, gx_classifier *m, const gx_model_info *src_info,
                           gx_error *err) {
    gx_classifier p;
    gx_model_info pi;
    memset(&pi, 0, sizeof pi);
    if (gx_classifier_load(path, &p, &pi, err)) return -1;
    int rc = -1, same_classes = pi.n_classes == src_info->n_classes;
    for (int k = 0; same_classes && k < pi.n_classes; k++)
        same_classes = !strcmp(pi.class_names[k], src_info->class_names[k]);
    if (strcmp(p.arch, m->arch) || p.image != m->image || p.in_h != m->in_h || p.in_w != m->in_w ||
        p.in_c != m->in_c)
        gx_fail(err, "--pp-from %s: a network %s on %dx%dx%d inputs, but this run's is %s on "
                     "%dx%dx%d", path, p.arch, p.in_h, p.in_w, p.in_c, m->arch, m->in_h, m->in_w,
                m->in_c);
    else if (!same_classes)
        gx_fail(err, "--pp-from %s: pre-trained on %d classes that are not the source model's %d "
                     "(a PP network of another source model?)", path, pi.n_classes,
                src_info->n_classes);
    else {
        int copied = gx_params_copy_matching(&m->params, &p.params, NULL, err);
        if (copied == m->params.n)
            rc = 0;
        else if (copied >= 0)
            gx_fail(err, "--pp-from %s: %d of the network's %d tensors are in the file", path,
                    copied, m->params.n);
    }
    gx_classifier_free(&p);
    gx_model_info_free(&pi);
    return rc;
}

static void on_pp_epoch(void *p, const gx_cls_epoch_log *l) {
    const scratch_opts *o = p;
    if (o->quiet) return;
    fprintf(stderr, "PP epoch %3d/%d  loss %.4f  train acc %.2f%% (source classes)  %.2fs\n",
            l->epoch, o->pp.epochs, l->loss, 100 * l->train_acc, l->seconds);
}

/* KD's teacher fine-tuning progress on stderr. */
static void on_teacher_epoch(void *p, const gx_cls_epoch_log *l) {
    const scratch_opts *o = p;
    if (o->quiet || (l->epoch % 10 && l->epoch != o->tc.epochs)) return;
    fprintf(stderr, "teacher epoch %4d/%d  loss %.4f  train acc %.2f%%  %.2fs\n", l->epoch,
            o->tc.epochs, l->loss, 100 * l->train_acc, l->seconds);
}

/* pssl --unlabelled: "rest" (the rows of x that are neither labelled nor validation, split->rest;
 * nothing is loaded) or a data spec, loaded into *u, whose images must have x's shape. */
static int load_unlabelled(const char *what, const cli_domain *x, const gx_split *split,
                           gx_dataset *u, gx_error *err) {
    if (!strcmp(what, "rest")) {
        if (x->k < 0)
            return gx_fail(err, "rest: every row of --data %s is labelled; give k= to leave "
                                "some unlabelled", x->spec);
        if (split->n_rest < 1)
            return gx_fail(err, "rest: k=%ld takes every row of --data %s", x->k, x->spec);
        return 0;
    }
    if (gx_spec_load(what, u, err)) return -1;
    const gx_dataset *t = &x->ds;
    if (u->d != t->d || u->height != t->height || u->width != t->width ||
        u->channels != t->channels)
        return gx_fail(err, "%s: %lld features per row (%dx%dx%d), the target data %s have %lld "
                            "(%dx%dx%d)", what, (long long)u->d, u->height, u->width, u->channels,
                       x->spec, (long long)t->d, t->height, t->width, t->channels);
    /* the one check of units that needs no assumption: target data in [0, 1], these not */
    int64_t bad = gx_dataset_find_outside_unit(u);
    if (gx_dataset_find_outside_unit(t) < 0 && bad >= 0)
        return gx_fail(err, "%s: value %g at row %lld, column %lld is outside [0, 1], where all of "
                            "the target data %s are (the images must be in the same units)", what,
                       (double)u->x[bad], (long long)(bad / u->d), (long long)(bad % u->d), x->spec);
    return 0;
}

int cli_transfer_main(int argc, char **argv, cli_xfer_method method, void (*usage)(FILE *)) {
    scratch_opts o;
    int rc = parse_args(argc, argv, method, usage, &o);
    if (rc || cli_parse_only) {
        gx_dataset_free(&o.data.ds);
        return rc == 3 ? 0 : rc;
    }
    gx_error err;
    int status = 1, model_made = 0;
    char *class_names[GX_MAX_CLASSES] = {0};
    int n_classes = 0;
    gx_split split_val, split_lab;
    gx_split_init(&split_val);
    gx_split_init(&split_lab);
    int64_t *all = NULL;
    gx_dataset test_ds;
    gx_dataset_init(&test_ds);
    gx_model_info info;
    memset(&info, 0, sizeof info);
    gx_classifier m;
    gx_ssdgm src;
    gx_model_info src_info;
    gx_generator g;
    gx_pssl ps;
    gx_dataset unl_ds; /* pssl --unlabelled SPEC */
    gx_dataset_init(&unl_ds);
    gx_classifier teacher;
    gx_kd kd;
    int src_made = 0, src_d = -1, g_made = 0, ps_made = 0, teacher_made = 0, kd_made = 0;
    gx_cls_train_result teacher_res = {0};
    double teacher_acc = -1;
    gx_cls_train_result pp_res = {0};
    scratch_ctx ctx = {&o, NULL, 1};
    cJSON *extra = NULL;
    cli_domain *x = &o.data;
    gx_run_lock lock = {-1, 0};
    if (o.threads) gx_set_threads(o.threads);

    if (cli_make_dir(o.out)) {
        cli_error("cannot create output folder '%s': %s", o.out, strerror(errno));
        goto done;
    }
    if (gx_run_lock_take(o.out, &lock, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    /* the source model first (pp, pssl), so that a bad one fails before the data are read */
    if (o.source) {
        if (gx_ssdgm_load(o.source, &src, &src_info, &err)) { cli_error("%s", err.msg); goto done; }
        src_made = 1;
        src_d = gx_ssdgm_domain_index(&src, o.source_domain, &err);
        if (src_d < 0) { cli_error("%s: %s", o.source, err.msg); goto done; }
    }
    if (o.source && method != CLI_XFER_KD) {
        if (!gx_ssdgm_is_generative(&src)) {
            cli_error("%s: a %s model is a plain classifier and cannot generate (train m2 or dvt)",
                      o.source, gx_preset_name(src.cfg.preset));
            goto done;
        }
        int max_n = o.tc.batch * (method == CLI_XFER_PSSL ? o.ps.mu : 1);
        if (gx_generator_init(&g, &src, &src_info, src_d, max_n, o.source, &err)) { cli_error("%s", err.msg); goto done; }
        g_made = 1;
    }
    /* the data: labelled, classes in the order of the data's class list */
    if (!o.quiet) fprintf(stderr, "loading %s\n", x->spec);
    if (gx_spec_load_imputed(x->spec, NULL, NULL, 0, &x->impute, &x->ds, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    if (!x->ds.y) { cli_error("%s: the data have no labels (scratch trains on labelled data)", x->spec); goto done; }
    if (gx_dataset_match_classes(&x->ds, class_names, &n_classes, GX_MAX_CLASSES, 1, &err)) { cli_error("%s", err.msg); goto done; }
    if (n_classes < 2) { cli_error("%s: the labels name %d class(es); at least 2 are needed", x->spec, n_classes); goto done; }
    gx_rng split_rng;
    gx_rng_init(&split_rng, o.tc.seed, GX_STREAM_SPLIT);
    if (cli_hold_out_test(x, o.test_spec != NULL, &test_ds, &split_rng, &err) ||
        cli_standardise_domain(x, &test_ds, &info.prep_mean[0], &info.prep_std[0], NULL, NULL,
                               NULL, 0, &err) ||
        (g_made && gx_generator_check_input(&g, x->ds.d, x->ds.height, x->ds.width,
                                            x->ds.channels, x->spec, &err))) {
        cli_error("%s", err.msg);
        goto done;
    }
    if (o.source && info.prep_mean[0]) {
        cli_error("%s: %s needs the data unstandardised, in the units of the source model's "
                  "samples (add std=no)", x->spec, o.cmd);
        goto done;
    }
    /* validation per class, then k labels per class from the rest */
    const int64_t *rest = NULL, *lab = NULL;
    int64_t n_rest = x->ds.n, n_lab = 0;
    if (x->val > 0) {
        if (gx_split_per_class(&x->ds, NULL, x->ds.n, x->val, &split_rng, &split_val, &err)) {
            cli_error("val=%ld per class: %s", x->val, err.msg);
            goto done;
        }
        rest = split_val.rest, n_rest = split_val.n_rest;
    }
    if (x->k >= 0) {
        if (gx_split_per_class(&x->ds, rest, n_rest, x->k, &split_rng, &split_lab, &err)) {
            cli_error("k=%ld labels per class: %s", x->k, err.msg);
            goto done;
        }
        lab = split_lab.take, n_lab = split_lab.n_take;
    } else if (rest) {
        lab = rest, n_lab = n_rest;
    } else {
        if (gx_index_range(x->ds.n, &all, &err)) { cli_error("%s", err.msg); goto done; }
        lab = all, n_lab = x->ds.n;
    }
    if (n_lab < 1) { cli_error("%s: k=0 leaves no labelled examples to train on", x->spec); goto done; }
    if (o.unlabelled && load_unlabelled(o.unlabelled, x, &split_lab, &unl_ds, &err)) {
        cli_error("%s --unlabelled: %s", o.cmd, err.msg);
        goto done;
    }

    /* the model: input shape from the data */
    const gx_dataset *ds = &x->ds;
    int image = ds->height > 0;
    gx_rng init_rng;
    gx_rng_init(&init_rng, o.tc.seed, GX_STREAM_INIT);
    if (gx_classifier_create(&m, o.arch, image ? ds->height : 1, image ? ds->width : 1,
                             image ? ds->channels : (int)ds->d, image, n_classes, &init_rng, &err)) {
        cli_error("%s --%s", o.cmd, err.msg);
        goto done;
    }
    model_made = 1;
    if (gx_model_info_set_classes(&info, n_classes, (const char *const *)class_names, &err)) { cli_error("%s", err.msg); goto done; }
    snprintf(info.prep_spec[0], sizeof info.prep_spec[0], "%.*s", (int)sizeof info.prep_spec[0] - 1,
             x->spec); /* for messages only */
    if (gx_model_info_set_features(&info, 0, &x->ds, x->impute, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    /* the test set now, so that a spec that does not fit fails before training */
    if (o.test_spec && cli_classifier_load_data(&m, &info, o.test_spec, 1, &test_ds, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    if (!o.quiet)
        fprintf(stderr, "training %s on %lld examples (%d classes, %s %dx%dx%d), %lld validation, "
                        "%lld parameters, %d epochs\n", m.arch, (long long)n_lab, n_classes,
                image ? "images" : "features", m.in_h, m.in_w, m.in_c, (long long)split_val.n_take,
                (long long)gx_params_count(&m.params, true), o.tc.epochs);

    ctx.logs = gx_calloc((size_t)o.tc.epochs, sizeof *ctx.logs, "training log", &err);
    if (!ctx.logs) { cli_error("%s", err.msg); goto done; }
    ctx.every = o.tc.epochs > 20 ? (o.tc.epochs + 19) / 20 : 1;
    o.tc.on_epoch = on_epoch;
    o.tc.ctx = &ctx;
    if (o.do_pp && o.pp_from) {
        /* the source head drawn as the pre-training would (init_rng in step), then the weights */
        if (!o.quiet) fprintf(stderr, "PP: starting from the pre-trained network %s\n", o.pp_from);
        if (gx_classifier_replace_head(&m, g.n_classes, &init_rng, &err) ||
            load_pretrained(o.pp_from, &m, &src_info, &err) ||
            gx_classifier_replace_head(&m, n_classes, &init_rng, &err)) {
            cli_error("%s", err.msg);
            goto done;
        }
    } else if (o.do_pp) {
        gx_cls_train_config pc = o.tc;
        pc.on_epoch = on_pp_epoch;
        pc.ctx = &o;
        if (!o.quiet)
            fprintf(stderr, "PP: pre-training on %lld pseudo samples per epoch of %s (%d source "
                            "classes), %d epochs\n", (long long)o.pp.samples, o.source,
                    g.n_classes, o.pp.epochs);
        if (gx_pp_pretrain(&m, &g, &o.pp, &pc, &init_rng, &pp_res, &err) ||
            save_pretrained(&o, &m, &src_info, &err) ||
            gx_classifier_replace_head(&m, n_classes, &init_rng, &err)) {
            cli_error("%s", err.msg);
            goto done;
        }
    }
    if (method == CLI_XFER_PSSL) {
        if (gx_pssl_init(&ps, &m, &g, ds, lab, n_lab, o.tc.batch, &o.ps, o.tc.aug_shift,
                         o.tc.aug_flip, o.tc.seed, &err)) {
            cli_error("%s", err.msg);
            goto done;
        }
        ps_made = 1;
        if (o.unlabelled &&
            (strcmp(o.unlabelled, "rest")
                 ? gx_pssl_use_unlabelled(&ps, &unl_ds, NULL, unl_ds.n, &err)
                 : gx_pssl_use_unlabelled(&ps, ds, split_lab.rest, split_lab.n_rest, &err))) {
            cli_error("%s --unlabelled: %s", o.cmd, err.msg);
            goto done;
        }
        o.tc.extra_loss = gx_pssl_extra_loss;
        o.tc.hook_ctx = &ps;
    }
    if (method == CLI_XFER_KD) {
        /* the teacher: the source classifier with a new head, fine-tuned like the student */
        if (gx_kd_teacher_from_source(&teacher, &src, &src_info, src_d, n_classes, &init_rng, &err)) {
            cli_error("%s: %s", o.source, err.msg);
            goto done;
        }
        teacher_made = 1;
        if (teacher.image != m.image || gx_classifier_in_size(&teacher) != (int)ds->d ||
            (m.image && (teacher.in_h != m.in_h || teacher.in_w != m.in_w || teacher.in_c != m.in_c))) {
            cli_error("%s: %dx%dx%d images (%lld features), but domain %s of the source model takes "
                      "%dx%dx%d (%d features)", x->spec, m.in_h, m.in_w, m.in_c, (long long)ds->d,
                      src.cfg.dom[src_d].name, teacher.in_h, teacher.in_w, teacher.in_c,
                      gx_classifier_in_size(&teacher));
            goto done;
        }
        gx_cls_train_config tt = o.tc;
        tt.on_epoch = on_teacher_epoch;
        tt.ctx = &o;
        if (!o.quiet) fprintf(stderr, "KD: fine-tuning the source classifier %s\n", teacher.arch);
        if (gx_cls_train(&teacher, ds, lab, n_lab, split_val.take, split_val.n_take, &tt,
                         &teacher_res, &err) ||
            gx_kd_init(&kd, &teacher, o.tc.batch, &o.kd, &err)) {
            cli_error("%s", err.msg);
            goto done;
        }
        kd_made = 1;
        if (test_ds.n > 0) {
            /* the teacher's own test accuracy, for the report: kd's workspace is free until then */
            float *X = gx_malloc((size_t)kd.ws.max_batch * ds->d * sizeof *X, "test batch", &err);
            if (!X) { cli_error("%s", err.msg); goto done; }
            teacher_acc = gx_cls_accuracy(&teacher, &kd.ws, &test_ds, NULL, test_ds.n, X, kd.P);
            free(X);
            if (!o.quiet) fprintf(stderr, "KD: teacher test accuracy %.2f%%\n", 100 * teacher_acc);
        }
        o.tc.logit_loss = gx_kd_logit_loss;
        o.tc.hook_ctx = &kd;
        if (!o.quiet) fprintf(stderr, "KD: distilling it into %s\n", m.arch);
    }
    gx_cls_train_result res;
    if (gx_cls_train(&m, ds, lab, n_lab, split_val.take, split_val.n_take, &o.tc, &res, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }

    /* outputs: model, log, metrics */
    char path[1100];
    snprintf(path, sizeof path, "%s/train_log.csv", o.out);
    if (write_log(path, ctx.logs, o.tc.epochs, &err)) { cli_error("%s", err.msg); goto done; }
    snprintf(path, sizeof path, "%s/model.safetensors", o.out);
    char seed_s[32], epoch_s[32];
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)o.tc.seed);
    snprintf(epoch_s, sizeof epoch_s, "%d", res.best_epoch);
    const char *keys[] = {"seed", "best_epoch"}, *vals[] = {seed_s, epoch_s};
    if (gx_classifier_save(path, &m, &info, 2, keys, vals, &err)) { cli_error("%s", err.msg); goto done; }
    extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "command", o.cmd);
    if (o.source) {
        cJSON_AddStringToObject(extra, "source_model", o.source);
        cJSON_AddStringToObject(extra, "source_domain", src.cfg.dom[g.d].name);
        cJSON_AddNumberToObject(extra, "source_classes", g.n_classes);
    }
    cJSON_AddBoolToObject(extra, "pp", o.do_pp);
    if (o.do_pp && o.pp_from) {
        cJSON_AddStringToObject(extra, "pp_from", o.pp_from);
    } else if (o.do_pp) {
        cJSON_AddNumberToObject(extra, "pp_samples", (double)o.pp.samples);
        cJSON_AddNumberToObject(extra, "pp_epochs", o.pp.epochs);
        cJSON_AddNumberToObject(extra, "pp_seconds", pp_res.seconds);
    }
    if (kd_made) {
        cJSON_AddStringToObject(extra, "teacher_arch", teacher.arch);
        cJSON_AddNumberToObject(extra, "kd_temp", o.kd.temp);
        cJSON_AddNumberToObject(extra, "kd_alpha", o.kd.alpha);
        cJSON_AddNumberToObject(extra, "teacher_seconds", teacher_res.seconds);
        cJSON_AddNumberToObject(extra, "teacher_test_accuracy", teacher_acc);
    }
    if (ps_made) {
        cJSON_AddNumberToObject(extra, "mu", o.ps.mu);
        cJSON_AddNumberToObject(extra, "tau", o.ps.tau);
        cJSON_AddNumberToObject(extra, "lambda_u", o.ps.lambda_u);
        if (!o.unlabelled) cJSON_AddStringToObject(extra, "condition", gx_condition_name(o.ps.cond));
        cJSON_AddStringToObject(extra, "pseudo_bn", o.ps.bn_update ? "update" : "keep");
        if (o.unlabelled) {
            cJSON_AddStringToObject(extra, "unlabelled", o.unlabelled);
            cJSON_AddNumberToObject(extra, "unlabelled_rows",
                                    (double)(strcmp(o.unlabelled, "rest") ? unl_ds.n
                                                                          : split_lab.n_rest));
        }
        cJSON_AddNumberToObject(extra, "pseudo_per_step", ps.n);
        cJSON_AddNumberToObject(extra, "pseudo_mask_rate", ps.steps ? ps.used_sum / ps.steps : 0);
    }
    cJSON_AddStringToObject(extra, "arch", m.arch);
    cJSON_AddStringToObject(extra, "data", x->spec);
    cJSON_AddNumberToObject(extra, "labelled", (double)n_lab);
    cJSON_AddNumberToObject(extra, "validation", (double)split_val.n_take);
    cJSON_AddNumberToObject(extra, "parameters", (double)gx_params_count(&m.params, true));
    cJSON_AddNumberToObject(extra, "seed", (double)o.tc.seed);
    cJSON_AddNumberToObject(extra, "threads", gx_get_threads());
    cJSON_AddNumberToObject(extra, "epochs", o.tc.epochs);
    cJSON_AddNumberToObject(extra, "best_epoch", res.best_epoch);
    cJSON_AddNumberToObject(extra, "best_validation_accuracy", res.best_val_acc);
    cJSON_AddNumberToObject(extra, "steps", (double)res.steps);
    cJSON_AddNumberToObject(extra, "train_seconds", res.seconds);
    cJSON_AddNumberToObject(extra, "seconds_per_epoch", res.seconds / o.tc.epochs);
    cJSON_AddNumberToObject(extra, "train_cpu_seconds", res.cpu_seconds);
    cJSON_AddNumberToObject(extra, "batch", o.tc.batch);
    cJSON_AddNumberToObject(extra, "lr", o.tc.lr);
    cJSON_AddStringToObject(extra, "optimizer", o.opt_name);
    cJSON_AddStringToObject(extra, "schedule", o.sched_name);
    cJSON_AddNumberToObject(extra, "weight_decay", o.tc.weight_decay);
    cJSON_AddNumberToObject(extra, "augment_shift", m.image ? o.tc.aug_shift : 0);
    cJSON_AddBoolToObject(extra, "augment_flip", m.image && o.tc.aug_flip);
    snprintf(path, sizeof path, "%s/metrics.json", o.out);
    if (o.test_spec || test_ds.n > 0) {
        char what[1100];
        snprintf(what, sizeof what, o.test_spec ? "%s" : "the held-out test part of %s",
                 o.test_spec ? o.test_spec : x->spec);
        if (cli_classifier_evaluate(&m, &info, &test_ds, what, path, extra, &err)) { cli_error("%s", err.msg); goto done; }
    } else if (gx_json_write_file(path, extra, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    printf("trained %s in %.1f s (%.3f s per epoch, %.1f s of processor time; best epoch %d",
           m.arch, res.seconds, res.seconds / o.tc.epochs, res.cpu_seconds, res.best_epoch);
    if (res.best_val_acc >= 0) printf(", validation accuracy %.2f%%", 100 * res.best_val_acc);
    printf(")\nmodel:   %s/model.safetensors\nmetrics: %s/metrics.json\nlog:     %s/train_log.csv\n",
           o.out, o.out, o.out);
    status = 0;
done:
    gx_run_lock_release(&lock);
    cJSON_Delete(extra);
    if (ps_made) gx_pssl_free(&ps);
    if (kd_made) gx_kd_free(&kd);
    if (teacher_made) gx_classifier_free(&teacher);
    if (g_made) gx_generator_free(&g);
    if (src_made) {
        gx_ssdgm_free(&src);
        gx_model_info_free(&src_info);
    }
    free(ctx.logs);
    if (model_made) gx_classifier_free(&m);
    gx_model_info_free(&info);
    gx_dataset_free(&test_ds);
    gx_dataset_free(&unl_ds);
    gx_dataset_free(&x->ds);
    free(x->impute);
    gx_split_free(&split_val);
    gx_split_free(&split_lab);
    free(all);
    for (int k = 0; k < n_classes; k++) free(class_names[k]);
    return status;
}
