/* genxfer train: trains an M2 or DVT model on one or more domains and writes the model, the
 * training log, metrics and (with --test) the test metrics to --out. */
#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_data.h"
#include "cli/cli_model.h"
#include "core/gemm.h"
#include "data/spec.h"
#include "data/splits.h"
#include "io/atomic_file.h"
#include "io/report.h"
#include "models/ssdgm_io.h"
#include "models/ssdgm_train.h"

typedef struct train_opts {
    gx_preset preset;
    cli_domain dom[GX_MAX_DOMAINS];
    int n_domains;
    const char *test_spec, *target, *out;
    gx_ssdgm_train_config tc;
    gx_ssdgm_config mc;
    int alpha_given, bn_given, threads, quiet;
} train_opts;

static void usage(FILE *f) {
    fprintf(f,
"usage: genxfer train --domain SPEC [--domain SPEC ...] [options]\n"
"\n"
"Trains a semi-supervised deep generative model (M2 or DVT) on one or more domains and writes\n"
"model.safetensors, metrics.json and train_log.csv to --out. Each domain is a dataset spec (see\n"
"`genxfer data --help`) with training options appended:\n"
"  name=NAME   domain name (default: the spec's kind, e.g. mnist)\n"
"  k=K         labelled examples per class; the others are used unlabelled (default: all labelled)\n"
"  val=V       labelled examples per class held out for model selection (default: 0)\n"
"  lik=L       bernoulli | gaussian | auto (default auto: bernoulli when values are in [0,1])\n"
"  share=NAME  same feature space as the earlier domain NAME: one input and output block for both\n"
"              (batch-norm statistics stay per domain)\n"
"  test=F      hold out a stratified fraction F of the target domain (drawn with the seed) as\n"
"              its test set, evaluated at the end like --test\n"
"  std=S       auto | yes | no: standardise each feature with this domain's own mean and std,\n"
"              stored in the model and applied by eval/predict (default auto: unless every\n"
"              value is in [0,1])\n"
"Example (E1, MNIST with 100 labels):\n"
"  genxfer train --preset dvt --domain mnist:train,k=10,val=100 --test mnist:test --out runs/e1\n"
"\n"
"options (default in brackets):\n"
"  --preset P            m2 | dvt | mlp (a plain classifier: the encoder and q(y|x) on the\n"
"                        labelled cross-entropy alone, for baselines) [dvt]\n"
"  --test SPEC           evaluate the selected model on this set of the target domain at the end\n"
"  --target NAME         the domain --test and model selection refer to [the last domain]\n"
"  --epochs N            [10]\n"
"  --batch N             labelled examples per domain per step [100]\n"
"  --batch-unlabelled N  unlabelled examples per domain per step [100]\n"
"  --lr F                learning rate [1e-3]\n"
"  --optimizer O         adam | adamw | sgd [adam]\n"
"  --schedule S          constant | cosine | linear [constant]\n"
"  --alpha F             weight of the mean labelled cross-entropy [0.1 x labelled examples]\n"
"  --kl-warmup E         KL weight rises from 0 to 1 over E epochs [0]\n"
"  --class-balance       weight labelled examples by inverse class frequency [off]\n"
"  --prior P             class priors: labelled | uniform | reestimate [labelled]\n"
"  --clip F              gradient-norm clipping, 0 = off [0]\n"
"  --augment-shift N     image domains: random translations of up to N pixels for the options\n"
"                        below [0]\n"
"  --augment-labelled    translate the labelled images of every step [off]\n"
"  --confidence-weight F consistency: unlabelled examples whose q(y|x) is confident become\n"
"                        targets for the classifier on a translated copy, weight F [0 = off]\n"
"  --confidence-tau F    confidence threshold for those targets [0.95]\n"
"  --cutout N            the translated copy also loses an NxN square (cutout) [0 = none]\n"
"  --z N                 latent size [50]\n"
"  --enc SIZES           encoder widths: domain input layer, then shared trunk [500,500]\n"
"  --dec SIZES           decoder trunk widths [500,500]\n"
"  --lat-hidden N        hidden layer of q(z|x,y), 0 = linear [0]\n"
"  --cls-hidden N        hidden layer of q(y|x), 0 = linear [0]\n"
"  --lat-y, --no-lat-y   q(z|x,y) takes y, or q(z|x) (dvt only) [m2: takes y, dvt: q(z|x)]\n"
"  --activation A        softplus | relu | leaky_relu | tanh | sigmoid [softplus]\n"
"  --batchnorm, --no-batchnorm  batch norm in the encoder, statistics per domain [dvt: on, m2: off]\n"
"  --prior-scale F       dvt: spread of the initial mixture means [3]\n"
"  --seed N              one seed for everything [1]\n"
"  --threads N           threads for OpenMP and OpenBLAS [all cores]\n"
"  --out DIR             output folder, created if needed [runs/train]\n"
"  --quiet               no progress on stderr\n"
"  --help                this text\n");
}

enum { O_TEST = 256, O_TARGET, O_EPOCHS, O_BATCH, O_BATCHU, O_LR, O_OPT, O_SCHED, O_ALPHA,
       O_WARMUP, O_BALANCE, O_PRIOR, O_CLIP, O_Z, O_ENC, O_DEC, O_LATH, O_CLSH, O_ACT, O_BN, O_NOBN,
       O_PSCALE, O_SHIFT, O_AUGL, O_CONFW, O_CONFT, O_CUTOUT, O_LATY, O_NOLATY, O_SEED, O_THREADS, O_QUIET, O_PRESET, O_DOMAIN, O_OUT };

static int parse_args(int argc, char **argv, train_opts *o) {
    static const struct option longopts[] = {
        {"preset", required_argument, 0, O_PRESET}, {"domain", required_argument, 0, O_DOMAIN},
        {"test", required_argument, 0, O_TEST}, {"target", required_argument, 0, O_TARGET},
        {"epochs", required_argument, 0, O_EPOCHS}, {"batch", required_argument, 0, O_BATCH},
        {"batch-unlabelled", required_argument, 0, O_BATCHU}, {"lr", required_argument, 0, O_LR},
        {"optimizer", required_argument, 0, O_OPT}, {"schedule", required_argument, 0, O_SCHED},
        {"alpha", required_argument, 0, O_ALPHA}, {"kl-warmup", required_argument, 0, O_WARMUP},
        {"class-balance", no_argument, 0, O_BALANCE}, {"prior", required_argument, 0, O_PRIOR},
        {"clip", required_argument, 0, O_CLIP}, {"augment-shift", required_argument, 0, O_SHIFT},
        {"augment-labelled", no_argument, 0, O_AUGL},
        {"confidence-weight", required_argument, 0, O_CONFW},
        {"confidence-tau", required_argument, 0, O_CONFT},
        {"cutout", required_argument, 0, O_CUTOUT}, {"z", required_argument, 0, O_Z},
        {"enc", required_argument, 0, O_ENC}, {"dec", required_argument, 0, O_DEC},
        {"lat-hidden", required_argument, 0, O_LATH}, {"cls-hidden", required_argument, 0, O_CLSH},
        {"activation", required_argument, 0, O_ACT}, {"batchnorm", no_argument, 0, O_BN},
        {"no-batchnorm", no_argument, 0, O_NOBN}, {"lat-y", no_argument, 0, O_LATY},
        {"no-lat-y", no_argument, 0, O_NOLATY}, {"prior-scale", required_argument, 0, O_PSCALE},
        {"seed", required_argument, 0, O_SEED}, {"threads", required_argument, 0, O_THREADS},
        {"out", required_argument, 0, O_OUT}, {"quiet", no_argument, 0, O_QUIET},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "train";
    long v;
    double f;
    int bn = 0, laty = 0;
    gx_error err;
    memset(o, 0, sizeof *o);
    o->preset = GX_PRESET_DVT;
    o->out = "runs/train";
    gx_ssdgm_train_config_default(&o->tc);
    gx_ssdgm_config mc_user;
    gx_ssdgm_config_default(&mc_user, GX_PRESET_DVT, 2);
    int set_z = 0, set_enc = 0, set_dec = 0, set_act = 0, set_ps = 0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 3;
        case O_PRESET:
            if (gx_preset_parse(optarg, &o->preset))
                return cli_error("train --preset: unknown preset '%s' (expected m2, dvt or mlp)", optarg);
            break;
        case O_DOMAIN:
            if (o->n_domains == GX_MAX_DOMAINS)
                return cli_usage_error(cmd, "at most %d domains", GX_MAX_DOMAINS);
            if (cli_domain_parse(optarg, o->n_domains, &o->dom[o->n_domains], &err))
                return cli_error("%s", err.msg);
            o->n_domains++;
            break;
        case O_TEST: o->test_spec = optarg; break;
        case O_TARGET: o->target = optarg; break;
        case O_EPOCHS: if (cli_parse_int(cmd, "--epochs", optarg, 1, 100000, &v)) return 1; o->tc.epochs = (int)v; break;
        case O_BATCH: if (cli_parse_int(cmd, "--batch", optarg, 1, 1 << 16, &v)) return 1; o->tc.batch_l = (int)v; break;
        case O_BATCHU: if (cli_parse_int(cmd, "--batch-unlabelled", optarg, 1, 1 << 16, &v)) return 1; o->tc.batch_u = (int)v; break;
        case O_LR: if (cli_parse_float(cmd, "--lr", optarg, 1e-12, 10, &f)) return 1; o->tc.lr = (float)f; break;
        case O_OPT:
            if (gx_optim_kind_parse(optarg, &o->tc.opt))
                return cli_error("train --optimizer: unknown optimizer '%s' (adam, adamw, sgd)", optarg);
            break;
        case O_SCHED:
            if (gx_sched_kind_parse(optarg, &o->tc.sched))
                return cli_error("train --schedule: unknown schedule '%s' (constant, cosine, linear)", optarg);
            break;
        case O_ALPHA: if (cli_parse_float(cmd, "--alpha", optarg, 0, 1e9, &f)) return 1; o->tc.alpha = (float)f; o->alpha_given = 1; break;
        case O_WARMUP: if (cli_parse_float(cmd, "--kl-warmup", optarg, 0, 1e6, &f)) return 1; o->tc.kl_warmup_epochs = (float)f; break;
        case O_BALANCE: o->tc.class_balance = 1; break;
        case O_PRIOR:
            if (!strcmp(optarg, "labelled")) o->tc.prior = GX_PRIOR_LABELLED;
            else if (!strcmp(optarg, "uniform")) o->tc.prior = GX_PRIOR_UNIFORM;
            else if (!strcmp(optarg, "reestimate")) o->tc.prior = GX_PRIOR_REESTIMATE;
            else return cli_error("train: unknown --prior '%s' (labelled, uniform, reestimate)", optarg);
            break;
        case O_CLIP: if (cli_parse_float(cmd, "--clip", optarg, 0, 1e9, &f)) return 1; o->tc.clip = (float)f; break;
        case O_SHIFT: if (cli_parse_int(cmd, "--augment-shift", optarg, 0, 64, &v)) return 1; o->tc.aug_shift = (int)v; break;
        case O_AUGL: o->tc.augment_labelled = 1; break;
        case O_CONFW: if (cli_parse_float(cmd, "--confidence-weight", optarg, 0, 1e9, &f)) return 1; o->tc.conf_weight = (float)f; break;
        case O_CONFT: if (cli_parse_float(cmd, "--confidence-tau", optarg, 0, 1, &f)) return 1; o->tc.conf_tau = (float)f; break;
        case O_CUTOUT: if (cli_parse_int(cmd, "--cutout", optarg, 0, 4096, &v)) return 1; o->tc.cutout = (int)v; break;
        case O_Z: if (cli_parse_int(cmd, "--z", optarg, 1, 4096, &v)) return 1; mc_user.z_dim = (int)v; set_z = 1; break;
        case O_ENC:
            if (cli_parse_sizes(cmd, "--enc", optarg, mc_user.enc, GX_MAX_HIDDEN, &mc_user.n_enc)) return 1;
            if (mc_user.n_enc < 2) return cli_usage_error(cmd, "--enc needs at least 2 widths (input layer, shared trunk)");
            set_enc = 1;
            break;
        case O_DEC: if (cli_parse_sizes(cmd, "--dec", optarg, mc_user.dec, GX_MAX_HIDDEN, &mc_user.n_dec)) return 1; set_dec = 1; break;
        case O_LATH: if (cli_parse_int(cmd, "--lat-hidden", optarg, 0, 1 << 16, &v)) return 1; mc_user.lat_hidden = (int)v; break;
        case O_CLSH: if (cli_parse_int(cmd, "--cls-hidden", optarg, 0, 1 << 16, &v)) return 1; mc_user.cls_hidden = (int)v; break;
        case O_ACT:
            if (gx_act_parse(optarg, &mc_user.act))
                return cli_error("train --activation: unknown activation '%s'", optarg);
            set_act = 1;
            break;
        case O_BN: bn = 1; break;
        case O_NOBN: bn = -1; break;
        case O_LATY: laty = 1; break;
        case O_NOLATY: laty = -1; break;
        case O_PSCALE: if (cli_parse_float(cmd, "--prior-scale", optarg, 0, 1e3, &f)) return 1; mc_user.prior_scale = (float)f; set_ps = 1; break;
        case O_SEED: if (cli_parse_int(cmd, "--seed", optarg, 0, 2147483647L, &v)) return 1; o->tc.seed = (uint64_t)v; break;
        case O_THREADS: if (cli_parse_int(cmd, "--threads", optarg, 1, 1024, &v)) return 1; o->threads = (int)v; break;
        case O_OUT: o->out = optarg; break;
        case O_QUIET: o->quiet = 1; break;
        default:
            return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (o->n_domains == 0) return cli_usage_error(cmd, "at least one --domain SPEC is required");
    /* the preset's defaults, then what the user set */
    gx_ssdgm_config_default(&o->mc, o->preset, 2);
    if (set_z) o->mc.z_dim = mc_user.z_dim;
    if (set_enc) { o->mc.n_enc = mc_user.n_enc; memcpy(o->mc.enc, mc_user.enc, sizeof o->mc.enc); }
    if (set_dec) { o->mc.n_dec = mc_user.n_dec; memcpy(o->mc.dec, mc_user.dec, sizeof o->mc.dec); }
    if (set_act) o->mc.act = mc_user.act;
    if (set_ps) o->mc.prior_scale = mc_user.prior_scale;
    o->mc.lat_hidden = mc_user.lat_hidden;
    o->mc.cls_hidden = mc_user.cls_hidden;
    if (bn) o->mc.batchnorm = bn > 0;
    if (laty) o->mc.lat_y = laty > 0;
    if (o->preset == GX_PRESET_M2 && o->n_domains > 1)
        return cli_usage_error(cmd, "preset m2 takes one domain (got %d); use --preset dvt", o->n_domains);
    return 0;
}

/* ---- progress and the training log ---- */

typedef struct train_ctx {
    train_opts *o;
    char *log_text;
    size_t log_len, log_cap;
    char log_path[1100];
    double t_last;
    int tty;
} train_ctx;

static void append_log(train_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append_log(train_ctx *c, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = sizeof line - 1;
    if (c->log_len + n + 1 > c->log_cap) {
        size_t cap = (c->log_cap ? c->log_cap * 2 : 4096) + n;
        char *p = realloc(c->log_text, cap);
        if (!p) return;
        c->log_text = p;
        c->log_cap = cap;
    }
    memcpy(c->log_text + c->log_len, line, n + 1);
    c->log_len += n;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void on_step(void *ctx, long step, long spe, const gx_ssdgm_stats *st) {
    train_ctx *c = ctx;
    if (c->o->quiet || !c->tty) return;
    double t = now();
    if (t - c->t_last < 0.5 && step % spe) return;
    c->t_last = t;
    long in_epoch = (step - 1) % spe + 1;
    int width = 30, filled = (int)(width * in_epoch / spe);
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r  epoch %ld [%s] %ld/%ld  loss %.2f  ce %.3f ", (step - 1) / spe + 1, bar,
            in_epoch, spe, st->loss, st->ce);
    fflush(stderr);
}

static void on_epoch(void *ctx, const gx_epoch_log *l) {
    train_ctx *c = ctx;
    train_opts *o = c->o;
    append_log(c, "%d,%ld,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g", l->epoch, l->step, l->loss,
               l->elbo_l, l->elbo_u, l->ce, l->train_acc, l->confident, l->lr, l->beta);
    for (int d = 0; d < o->n_domains; d++) append_log(c, ",%.6g", l->val_acc[d]);
    append_log(c, ",%.3f\n", l->seconds);
    gx_error err;
    if (gx_atomic_write_file(c->log_path, c->log_text, c->log_len, &err) && !o->quiet)
        fprintf(stderr, "genxfer: warning: %s\n", err.msg);
    if (o->quiet) return;
    if (c->tty) fprintf(stderr, "\r\033[K");
    fprintf(stderr, "epoch %3d/%d  loss %9.3f  elbo_l %9.3f  elbo_u %9.3f  ce %.4f", l->epoch,
            o->tc.epochs, l->loss, l->elbo_l, l->elbo_u, l->ce);
    if (o->tc.conf_weight > 0) fprintf(stderr, "  confident %.1f%%", 100 * l->confident);
    for (int d = 0; d < o->n_domains; d++)
        if (l->val_acc[d] >= 0) fprintf(stderr, "  val[%s] %.2f%%", o->dom[d].name, 100 * l->val_acc[d]);
    fprintf(stderr, "  %.1fs%s\n", l->seconds, l->is_best && l->selection >= 0 ? "  *" : "");
}

/* ---- the command ---- */

/* test= belongs to the target domain only; its fraction is moved out into *test. */
static int hold_out_test(train_opts *o, int target, gx_dataset *test, gx_rng *rng, gx_error *err) {
    for (int d = 0; d < o->n_domains; d++)
        if (o->dom[d].test_frac > 0 && d != target)
            return gx_fail(err, "domain %s: test= is for the target domain (%s; see --target)",
                           o->dom[d].name, o->dom[target].name);
    return cli_hold_out_test(&o->dom[target], o->test_spec != NULL, test, rng, err);
}

int cmd_train(int argc, char **argv) {
    train_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc == 3 ? 0 : rc;
    gx_error err;
    int status = 1;
    char *class_names[GX_MAX_CLASSES] = {0};
    int n_classes = 0;
    gx_split split_val[GX_MAX_DOMAINS], split_lab[GX_MAX_DOMAINS];
    int64_t *unl[GX_MAX_DOMAINS] = {0};
    gx_ssdgm m;
    int model_made = 0;
    gx_model_info info;
    memset(&info, 0, sizeof info);
    train_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    gx_dataset test_ds;
    gx_dataset_init(&test_ds);
    for (int d = 0; d < GX_MAX_DOMAINS; d++) gx_split_init(&split_val[d]), gx_split_init(&split_lab[d]);
    if (o.threads) gx_set_threads(o.threads);

    if (cli_make_dir(o.out)) {
        cli_error("cannot create output folder '%s': %s", o.out, strerror(errno));
        goto done;
    }
    /* data, classes matched across domains by name */
    int target = o.n_domains - 1;
    for (int d = 0; d < o.n_domains; d++) {
        cli_domain *x = &o.dom[d];
        if (!o.quiet) fprintf(stderr, "loading %s (domain %s)\n", x->spec, x->name);
        if (gx_spec_load(x->spec, &x->ds, &err)) { cli_error("%s", err.msg); goto done; }
        if (x->ds.y && gx_dataset_match_classes(&x->ds, class_names, &n_classes, GX_MAX_CLASSES, 1, &err)) {
            cli_error("%s", err.msg);
            goto done;
        }
        if (!x->ds.y && (x->k != 0 || x->val > 0)) {
            cli_error("%s: the data have no labels; use k=0 (all unlabelled)", x->spec);
            goto done;
        }
        for (int e = 0; e < d; e++)
            if (!strcmp(o.dom[e].name, x->name)) {
                cli_error("two domains named '%s': give one a name=NAME option", x->name);
                goto done;
            }
        if (o.target && !strcmp(o.target, x->name)) target = d;
    }
    if (o.target && strcmp(o.dom[target].name, o.target)) {
        cli_error("--target %s: no domain of that name", o.target);
        goto done;
    }
    if (n_classes < 2) { cli_error("the domains' labels name %d class(es); at least 2 are needed", n_classes); goto done; }
    if (cli_check_shared_classes(o.dom, o.n_domains, n_classes, class_names, &err)) { cli_error("%s", err.msg); goto done; }
    gx_rng split_rng;
    gx_rng_init(&split_rng, o.tc.seed, GX_STREAM_SPLIT);
    if (hold_out_test(&o, target, &test_ds, &split_rng, &err)) { cli_error("%s", err.msg); goto done; }
    for (int d = 0; d < o.n_domains; d++)
        if (cli_standardise_domain(&o.dom[d], d == target ? &test_ds : NULL, &info.prep_mean[d],
                                   &info.prep_std[d], &err)) { cli_error("%s", err.msg); goto done; }

    /* splits: validation per class, then k labels per class; every non-validation row is unlabelled
     * data too when k is given (the labelled rows included, as in Kingma et al.) */
    gx_ssdgm_domain_data dd[GX_MAX_DOMAINS];
    memset(dd, 0, sizeof dd);
    int64_t total_labelled = 0;
    for (int d = 0; d < o.n_domains; d++) {
        cli_domain *x = &o.dom[d];
        gx_dataset *ds = &x->ds;
        dd[d].ds = ds;
        const int64_t *rest = NULL;
        int64_t n_rest = ds->n;
        /* counts per class, 0 for the classes (of other domains) this domain lacks */
        int64_t have[GX_MAX_CLASSES] = {0}, val_k[GX_MAX_CLASSES], lab_k[GX_MAX_CLASSES];
        if (ds->y) gx_dataset_class_counts(ds, have);
        for (int k = 0; k < n_classes; k++) {
            val_k[k] = have[k] ? x->val : 0;
            lab_k[k] = have[k] ? x->k : 0;
        }
        if (x->val > 0) {
            if (gx_split_counts(ds, NULL, ds->n, val_k, &split_rng, &split_val[d], &err)) {
                cli_error("domain %s: validation split: %s", x->name, err.msg);
                goto done;
            }
            dd[d].val = split_val[d].take, dd[d].n_val = split_val[d].n_take;
            rest = split_val[d].rest, n_rest = split_val[d].n_rest;
        }
        if (!ds->y || x->k == 0) {
            if (gx_index_range(n_rest, &unl[d], &err)) { cli_error("%s", err.msg); goto done; }
            if (rest) memcpy(unl[d], rest, n_rest * sizeof(int64_t));
            dd[d].unl = unl[d], dd[d].n_unl = n_rest;
        } else if (x->k < 0) {
            if (gx_index_range(n_rest, &unl[d], &err)) { cli_error("%s", err.msg); goto done; }
            if (rest) memcpy(unl[d], rest, n_rest * sizeof(int64_t));
            dd[d].lab = unl[d], dd[d].n_lab = n_rest; /* all labelled, none unlabelled */
        } else {
            if (gx_split_counts(ds, rest, n_rest, lab_k, &split_rng, &split_lab[d], &err)) {
                cli_error("domain %s: k=%ld labels per class: %s", x->name, x->k, err.msg);
                goto done;
            }
            if (gx_index_range(n_rest, &unl[d], &err)) { cli_error("%s", err.msg); goto done; }
            if (rest) memcpy(unl[d], rest, n_rest * sizeof(int64_t));
            dd[d].lab = split_lab[d].take, dd[d].n_lab = split_lab[d].n_take;
            dd[d].unl = unl[d], dd[d].n_unl = n_rest;
        }
        total_labelled += dd[d].n_lab;
        if (!o.quiet)
            fprintf(stderr, "domain %s: %lld x %lld, %lld labelled, %lld unlabelled, %lld validation\n",
                    x->name, (long long)ds->n, (long long)ds->d, (long long)dd[d].n_lab,
                    (long long)dd[d].n_unl, (long long)dd[d].n_val);
    }
    if (!o.alpha_given) o.tc.alpha = 0.1f * (float)total_labelled;
    if (o.tc.alpha < 1) o.tc.alpha = o.alpha_given ? o.tc.alpha : 1;
    o.tc.select_domain = dd[target].n_val ? target : -1;

    /* the model */
    o.mc.n_classes = n_classes;
    o.mc.n_domains = o.n_domains;
    for (int d = 0; d < o.n_domains; d++) {
        gx_domain_config *dc = &o.mc.dom[d];
        snprintf(dc->name, sizeof dc->name, "%s", o.dom[d].name);
        dc->n_in = (int)o.dom[d].ds.d;
        dc->height = o.dom[d].ds.height, dc->width = o.dom[d].ds.width, dc->channels = o.dom[d].ds.channels;
        if (cli_choose_likelihood(&o.dom[d].ds, o.dom[d].lik, &dc->lik, &err)) { cli_error("%s", err.msg); goto done; }
        dc->share = -1;
        if (o.dom[d].share[0]) {
            for (int e = 0; e < d; e++)
                if (!strcmp(o.dom[e].name, o.dom[d].share)) dc->share = e;
            if (dc->share < 0) {
                cli_error("domain %s: share=%s names no earlier domain", o.dom[d].name, o.dom[d].share);
                goto done;
            }
            /* one block, one likelihood: the owner's */
            dc->lik = o.mc.dom[dc->share].lik;
        }
        snprintf(info.prep_spec[d], sizeof info.prep_spec[d], "%s", o.dom[d].spec);
    }
    gx_rng init_rng;
    gx_rng_init(&init_rng, o.tc.seed, GX_STREAM_INIT);
    if (gx_ssdgm_create(&m, &o.mc, &init_rng, &err)) { cli_error("%s", err.msg); goto done; }
    model_made = 1;
    if (gx_model_info_set_classes(&info, n_classes, (const char *const *)class_names, &err)) { cli_error("%s", err.msg); goto done; }

    snprintf(ctx.log_path, sizeof ctx.log_path, "%s/train_log.csv", o.out);
    ctx.o = &o;
    ctx.tty = isatty(2);
    append_log(&ctx, "epoch,step,loss,elbo_labelled,elbo_unlabelled,cross_entropy,train_accuracy,"
                     "confident_fraction,lr,kl_weight");
    for (int d = 0; d < o.n_domains; d++) append_log(&ctx, ",val_accuracy_%s", o.dom[d].name);
    append_log(&ctx, ",seconds\n");
    o.tc.on_epoch = on_epoch;
    o.tc.on_step = on_step;
    o.tc.ctx = &ctx;
    if (!o.quiet)
        fprintf(stderr, "training %s: %d classes, %d domain(s), %lld parameters, alpha %g, %d epochs\n",
                gx_preset_name(o.preset), n_classes, o.n_domains,
                (long long)gx_params_count(&m.params, true), o.tc.alpha, o.tc.epochs);
    gx_ssdgm_train_result res;
    if (gx_ssdgm_train(&m, dd, &o.tc, &res, &err)) { cli_error("%s", err.msg); goto done; }

    /* outputs */
    char path[1100];
    snprintf(path, sizeof path, "%s/model.safetensors", o.out);
    char seed_s[32], epoch_s[32];
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)o.tc.seed);
    snprintf(epoch_s, sizeof epoch_s, "%d", res.best_epoch);
    const char *keys[] = {"seed", "best_epoch"}, *vals[] = {seed_s, epoch_s};
    if (gx_ssdgm_save(path, &m, &info, 2, keys, vals, &err)) { cli_error("%s", err.msg); goto done; }

    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "command", "train");
    cJSON_AddStringToObject(extra, "preset", gx_preset_name(o.preset));
    cJSON_AddNumberToObject(extra, "seed", (double)o.tc.seed);
    cJSON_AddNumberToObject(extra, "threads", gx_get_threads());
    cJSON_AddNumberToObject(extra, "epochs", o.tc.epochs);
    cJSON_AddNumberToObject(extra, "best_epoch", res.best_epoch);
    cJSON_AddNumberToObject(extra, "best_validation_accuracy", res.best_selection);
    cJSON_AddNumberToObject(extra, "steps", (double)res.steps);
    cJSON_AddNumberToObject(extra, "train_seconds", res.seconds);
    cJSON_AddNumberToObject(extra, "alpha", o.tc.alpha);
    cJSON_AddNumberToObject(extra, "lr", o.tc.lr);
    cJSON_AddNumberToObject(extra, "batch_labelled", o.tc.batch_l);
    cJSON_AddNumberToObject(extra, "batch_unlabelled", o.tc.batch_u);
    cJSON_AddNumberToObject(extra, "kl_warmup_epochs", o.tc.kl_warmup_epochs);
    cJSON_AddBoolToObject(extra, "class_balance", o.tc.class_balance);
    cJSON_AddNumberToObject(extra, "prior_mode", o.tc.prior);
    cJSON_AddNumberToObject(extra, "augment_shift", o.tc.aug_shift);
    cJSON_AddBoolToObject(extra, "augment_labelled", o.tc.augment_labelled);
    cJSON_AddNumberToObject(extra, "confidence_weight", o.tc.conf_weight);
    cJSON_AddNumberToObject(extra, "confidence_tau", o.tc.conf_tau);
    cJSON_AddNumberToObject(extra, "cutout", o.tc.cutout);
    cJSON_AddBoolToObject(extra, "latent_takes_y", m.cfg.lat_y);
    cJSON_AddBoolToObject(extra, "batchnorm", m.cfg.batchnorm);
    char *cfg = gx_ssdgm_config_to_json(&m.cfg);
    cJSON_AddItemToObject(extra, "model", cJSON_Parse(cfg));
    free(cfg);
    cJSON *doms = cJSON_AddArrayToObject(extra, "domains");
    for (int d = 0; d < o.n_domains; d++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", o.dom[d].name);
        cJSON_AddStringToObject(x, "data", o.dom[d].spec);
        cJSON_AddNumberToObject(x, "labelled", (double)dd[d].n_lab);
        cJSON_AddNumberToObject(x, "unlabelled", (double)dd[d].n_unl);
        cJSON_AddNumberToObject(x, "validation", (double)dd[d].n_val);
        cJSON_AddItemToArray(doms, x);
    }
    snprintf(path, sizeof path, "%s/metrics.json", o.out);
    if (test_ds.n > 0) {
        char what[1100];
        snprintf(what, sizeof what, "the held-out test part of %s", o.dom[target].spec);
        if (cli_evaluate_dataset(&m, &info, target, &test_ds, what, path, extra, &err)) {
            cJSON_Delete(extra);
            cli_error("%s", err.msg);
            goto done;
        }
    } else if (o.test_spec) {
        if (cli_evaluate_and_report(&m, &info, target, o.test_spec, path, extra, &err)) {
            cJSON_Delete(extra);
            cli_error("%s", err.msg);
            goto done;
        }
    } else if (gx_json_write_file(path, extra, &err)) {
        cJSON_Delete(extra);
        cli_error("%s", err.msg);
        goto done;
    }
    cJSON_Delete(extra);
    printf("trained %s in %.1f s (best epoch %d", gx_preset_name(o.preset), res.seconds, res.best_epoch);
    if (res.best_selection >= 0) printf(", validation accuracy %.2f%%", 100 * res.best_selection);
    printf(")\nmodel:   %s/model.safetensors\nmetrics: %s/metrics.json\nlog:     %s/train_log.csv\n",
           o.out, o.out, o.out);
    status = 0;
done:
    for (int d = 0; d < o.n_domains; d++) {
        gx_dataset_free(&o.dom[d].ds);
        gx_split_free(&split_val[d]);
        gx_split_free(&split_lab[d]);
        free(unl[d]);
    }
    for (int k = 0; k < n_classes; k++) free(class_names[k]);
    gx_dataset_free(&test_ds);
    if (model_made) gx_ssdgm_free(&m);
    gx_model_info_free(&info);
    free(ctx.log_text);
    return status;
}
