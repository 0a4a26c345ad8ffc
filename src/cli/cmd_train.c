/* genxfer train: trains an M2 or DVT model on one or more domains and writes the model, the
 * training log, metrics and (with --test) the test metrics to --out. */
#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
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
#include "io/progress.h"
#include "io/report.h"
#include "io/run_lock.h"
#include "models/checkpoint.h"
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
    const char *resume;        /* --resume DIR */
    long ckpt_every;           /* --checkpoint-every (-1: once per epoch) */
    int ckpt_every_given;
    const char *fixed_opt;     /* the first option that --resume refuses, or NULL */
    int no_figures;
    int monitor;               /* --monitor-test */
    int prior_shift;           /* --prior-shift em */
} train_opts;

static void usage(FILE *f) {
    fprintf(f,
"usage: genxfer train --domain SPEC [--domain SPEC ...] [options]\n"
"\n"
"Trains a semi-supervised deep generative model (M2 or DVT) on one or more domains and writes\n"
"model.safetensors, metrics.json and train_log.csv to --out, then draws learning_curves.png and\n"
"(with a test set) confusion.png there as `genxfer plot` does. Each domain is a dataset spec (see\n"
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
"  std-from=DOMAIN:F+F  the features F (by name) take the mean and std of the same-named\n"
"              features of the earlier domain DOMAIN: features in the same units in both (a\n"
"              period in days) keep one scale\n"
"\nProgress goes to stderr: on a terminal one line redrawn in place (epoch, step, running loss,\n"
"last validation accuracy of the target, examples/s, time left for the run); elsewhere plain\n"
"lines, one per epoch and, in an epoch longer than 30 s, one every 30 s with the same fields.\n\n"
"Example (E1, MNIST with 100 labels):\n"
"  genxfer train --preset dvt --domain mnist:train,k=10,val=100 --test mnist:test --out runs/e1\n"
"\n"
"options (default in brackets):\n"
"  --preset P            m2 | dvt | mlp (a plain classifier: the encoder and q(y|x) on the\n"
"                        labelled cross-entropy alone, for baselines) | dann (mlp plus a domain\n"
"                        classifier behind a gradient reversal: domain-adversarial training,\n"
"                        two domains or more) [dvt]\n"
"  --dann-weight F       weight of the domain classifier's loss (dann; with dvt or mlp it adds\n"
"                        one); the reversal rises from 0 to 1 over the run (Ganin et al.\n"
"                        2016) [dann: 1, others: 0 = none]\n"
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
"  --latent-prior P      dvt: mixture (a learned Gaussian per class) | standard (p(z|y) held at\n"
"                        N(0, I) for every class: the control that shows what the mixture adds)\n"
"                        [mixture]\n"
"  --select S            which epoch the model keeps: val (best validation accuracy of the\n"
"                        target; the last epoch without val=) | last | im (no labels needed:\n"
"                        the best H(mean q(y|x)) - mean H(q(y|x)) over up to 10000 unlabelled\n"
"                        rows of the target, i.e. confident and diverse predictions) [val]\n"
"  --prior-shift M       none | em: after training, estimate the target's class proportions from\n"
"                        q(y|x) over its unlabelled rows (EM, Saerens et al. 2002) and correct\n"
"                        the target's predictions to them (stored in the model) [none]\n"
"  --monitor-test        log the accuracy on --test (or test=) after every epoch, to study model\n"
"                        selection; it never takes part in selection [off]\n"
"  --translate-weight F  dvt: each step, the labelled rows of the other domains, encoded and\n"
"                        decoded by the target's output block (cross-domain translation), are\n"
"                        labelled target rows for the classifier; their mean cross-entropy\n"
"                        weighs F x alpha (1: as much as the real labelled rows') [0 = off]\n"
"  --generate-weight F   m2, dvt: each step, --batch-unlabelled class-conditional samples of the\n"
"                        target domain (classes in turn, z ~ p(z|y)) are labelled rows for the\n"
"                        classifier, their mean cross-entropy weighing F x alpha [0 = off]\n"
"  --seed N              one seed for everything [1]\n"
"  --threads N           threads for OpenMP and oneDNN [all cores]\n"
"  --out DIR             output folder, created if needed [runs/train]\n"
"  --checkpoint-every N  write DIR/checkpoint.safetensors (the whole state of the run, atomically)\n"
"                        every N steps and at the end; 0 = only at the end [once per epoch]\n"
"  --resume DIR          continue the run whose checkpoint is in DIR, with the options and data\n"
"                        it was started with (read again; a missing or changed file is an\n"
"                        error): the final model is the same, bit for bit, as an uninterrupted\n"
"                        run's. Only --quiet and --checkpoint-every may be given with it\n"
"  --no-figures          do not draw learning_curves.png and confusion.png at the end\n"
"  --quiet               no progress: nothing on stderr but errors\n"
"  --help                this text\n"
"On SIGINT (Ctrl-C) or SIGTERM training finishes the current step, writes the checkpoint, prints\n"
"how to resume and exits with status 128 + the signal number (130, 143); a second signal kills.\n");
}

enum { O_TEST = 256, O_TARGET, O_EPOCHS, O_BATCH, O_BATCHU, O_LR, O_OPT, O_SCHED, O_ALPHA,
       O_WARMUP, O_BALANCE, O_PRIOR, O_CLIP, O_Z, O_ENC, O_DEC, O_LATH, O_CLSH, O_ACT, O_BN, O_NOBN,
       O_PSCALE, O_SHIFT, O_AUGL, O_CONFW, O_CONFT, O_CUTOUT, O_LATY, O_NOLATY, O_SEED, O_THREADS, O_QUIET, O_PRESET, O_DOMAIN, O_OUT,
       O_CKPT_EVERY, O_RESUME, O_NOFIG, O_LPRIOR, O_SELECT, O_MONITOR, O_TRANSW, O_GENW, O_DANNW, O_PSHIFT };

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
        {"checkpoint-every", required_argument, 0, O_CKPT_EVERY},
        {"resume", required_argument, 0, O_RESUME},
        {"no-figures", no_argument, 0, O_NOFIG},
        {"latent-prior", required_argument, 0, O_LPRIOR}, {"select", required_argument, 0, O_SELECT},
        {"monitor-test", no_argument, 0, O_MONITOR},
        {"translate-weight", required_argument, 0, O_TRANSW},
        {"generate-weight", required_argument, 0, O_GENW},
        {"dann-weight", required_argument, 0, O_DANNW},
        {"prior-shift", required_argument, 0, O_PSHIFT},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "train";
    long v;
    double f;
    int bn = 0, laty = 0;
    gx_error err;
    memset(o, 0, sizeof *o);
    o->preset = GX_PRESET_DVT;
    o->out = "runs/train";
    o->ckpt_every = -1;
    gx_ssdgm_train_config_default(&o->tc);
    gx_ssdgm_config mc_user;
    gx_ssdgm_config_default(&mc_user, GX_PRESET_DVT, 2);
    int set_z = 0, set_enc = 0, set_dec = 0, set_act = 0, set_ps = 0, dann_given = 0;
    optind = 1;
    opterr = 0;
    int c, li = -1;
    while ((c = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
        /* --resume takes the run's options from its checkpoint: note any other */
        if (c != O_RESUME && c != O_QUIET && c != O_CKPT_EVERY && c != 'h' && c != '?' &&
            c != ':' && !o->fixed_opt && li >= 0)
            o->fixed_opt = longopts[li].name;
        li = -1;
        switch (c) {
        case 'h': usage(stdout); return 3;
        case O_PRESET:
            if (gx_preset_parse(optarg, &o->preset))
                return cli_error("train --preset: unknown preset '%s' (expected m2, dvt, mlp or dann)", optarg);
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
        case O_CKPT_EVERY:
            if (cli_parse_int(cmd, "--checkpoint-every", optarg, 0, 1L << 40, &v)) return 1;
            o->ckpt_every = v;
            o->ckpt_every_given = 1;
            break;
        case O_RESUME: o->resume = optarg; break;
        case O_NOFIG: o->no_figures = 1; break;
        case O_LPRIOR:
            if (!strcmp(optarg, "mixture")) o->tc.fixed_prior = 0;
            else if (!strcmp(optarg, "standard")) o->tc.fixed_prior = 1;
            else return cli_error("train --latent-prior: unknown prior '%s' (mixture, standard)", optarg);
            break;
        case O_SELECT:
            if (!strcmp(optarg, "val")) o->tc.select = GX_SELECT_VAL;
            else if (!strcmp(optarg, "last")) o->tc.select = GX_SELECT_LAST;
            else if (!strcmp(optarg, "im")) o->tc.select = GX_SELECT_IM;
            else return cli_error("train --select: unknown criterion '%s' (val, last, im)", optarg);
            break;
        case O_MONITOR: o->monitor = 1; break;
        case O_PSHIFT:
            if (!strcmp(optarg, "none")) o->prior_shift = 0;
            else if (!strcmp(optarg, "em")) o->prior_shift = 1;
            else return cli_error("train --prior-shift: unknown method '%s' (none, em)", optarg);
            break;
        case O_TRANSW: if (cli_parse_float(cmd, "--translate-weight", optarg, 0, 1e9, &f)) return 1; o->tc.translate_weight = (float)f; break;
        case O_DANNW: if (cli_parse_float(cmd, "--dann-weight", optarg, 0, 1e9, &f)) return 1; o->tc.dann_weight = (float)f; dann_given = 1; break;
        case O_GENW: if (cli_parse_float(cmd, "--generate-weight", optarg, 0, 1e9, &f)) return 1; o->tc.generate_weight = (float)f; break;
        default:
            return cli_option_error(cmd, argv[optind - 1], longopts);
        }
    }
    if (optind < argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (o->resume && o->fixed_opt)
        return cli_usage_error(cmd, "--%s cannot be given with --resume: a resumed run keeps the "
                               "options of its checkpoint (only --quiet and --checkpoint-every "
                               "may be given)", o->fixed_opt);
    if (o->resume) return 0;
    if (o->n_domains == 0) return cli_usage_error(cmd, "at least one --domain SPEC is required");
    /* the preset's defaults, then what the user set */
    gx_ssdgm_config_default(&o->mc, o->preset, 2);
    if (set_z) o->mc.z_dim = mc_user.z_dim;
    if (set_enc) { o->mc.n_enc = mc_user.n_enc; memcpy(o->mc.enc, mc_user.enc, sizeof o->mc.enc); }
    if (set_dec) { o->mc.n_dec = mc_user.n_dec; memcpy(o->mc.dec, mc_user.dec, sizeof o->mc.dec); }
    if (set_act) o->mc.act = mc_user.act;
    if (set_ps) o->mc.prior_scale = mc_user.prior_scale;
    /* a domain classifier: dann's own, or dvt's and mlp's with --dann-weight */
    if (dann_given && o->tc.dann_weight > 0 && o->preset != GX_PRESET_DANN) {
        if (o->preset == GX_PRESET_M2)
            return cli_usage_error(cmd, "--dann-weight needs two domains: dvt, mlp or dann, not m2");
        o->mc.adversarial = 1;
    }
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
    struct run_meta *meta;     /* what every checkpoint records about the run */
    gx_progress prog;
    int target; /* whose validation accuracy the progress shows */
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
    if (!c->o->quiet) gx_progress_step(&c->prog, now(), step, spe, st->loss, st->n_l + st->n_u);
}

static void on_epoch(void *ctx, const gx_epoch_log *l) {
    train_ctx *c = ctx;
    train_opts *o = c->o;
    append_log(c, "%d,%ld,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g", l->epoch, l->step, l->loss,
               l->elbo_l, l->elbo_u, l->ce, l->train_acc, l->confident, l->lr, l->beta);
    for (int d = 0; d < o->n_domains; d++) append_log(c, ",%.6g", l->val_acc[d]);
    if (o->tc.select == GX_SELECT_IM) append_log(c, ",%.6g", l->im);
    if (o->monitor) append_log(c, ",%.6g", l->monitor_acc);
    append_log(c, ",%.3f\n", l->seconds);
    gx_error err;
    if (gx_atomic_write_file(c->log_path, c->log_text, c->log_len, &err) && !o->quiet)
        fprintf(stderr, "genxfer: warning: %s\n", err.msg);
    if (o->quiet) return;
    gx_progress_epoch_end(&c->prog, now(), l->val_acc[c->target]);
    fprintf(stderr, "epoch %3d/%d  loss %9.3f  elbo_l %9.3f  elbo_u %9.3f  ce %.4f", l->epoch,
            o->tc.epochs, l->loss, l->elbo_l, l->elbo_u, l->ce);
    if (o->tc.conf_weight > 0) fprintf(stderr, "  confident %.1f%%", 100 * l->confident);
    for (int d = 0; d < o->n_domains; d++)
        if (l->val_acc[d] >= 0) fprintf(stderr, "  val[%s] %.2f%%", o->dom[d].name, 100 * l->val_acc[d]);
    if (l->im >= 0) fprintf(stderr, "  im %.4f", l->im);
    if (l->monitor_acc >= 0) fprintf(stderr, "  test %.2f%%", 100 * l->monitor_acc);
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

/* ---- checkpoints and resuming ---- */

/* What a checkpoint records beside the trainer's state, so that --resume needs only the folder:
 * the command line, the working folder (specs may be relative), the thread count, a fingerprint of
 * each domain's data, and (for readers of the file) the model's configuration and classes. */
typedef struct run_meta {
    cJSON *args;                  /* JSON array of the arguments after "train" */
    char cwd[PATH_MAX];
    int threads;
    uint64_t hash[GX_MAX_DOMAINS];
    char *config, *classes;
} run_meta;

static int add_run_meta(void *ctx, gx_st_writer *w, gx_error *err) {
    train_ctx *c = ctx;
    run_meta *r = c->meta;
    char *args = cJSON_PrintUnformatted(r->args), threads[16];
    cJSON *data = cJSON_CreateArray();
    for (int d = 0; d < c->o->n_domains; d++) {
        cJSON *x = cJSON_CreateObject();
        char hash[20];
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)r->hash[d]);
        cJSON_AddStringToObject(x, "name", c->o->dom[d].name);
        cJSON_AddStringToObject(x, "spec", c->o->dom[d].spec);
        cJSON_AddStringToObject(x, "hash", hash);
        cJSON_AddItemToArray(data, x);
    }
    char *data_s = cJSON_PrintUnformatted(data);
    cJSON_Delete(data);
    snprintf(threads, sizeof threads, "%d", r->threads);
    int rc = 0;
    if (!args || !data_s) rc = gx_fail(err, "out of memory for the checkpoint's metadata");
    else {
        /* errors are remembered by the writer and reported by gx_st_write */
        gx_st_writer_meta(w, "train.args", args, err);
        gx_st_writer_meta(w, "train.cwd", r->cwd, err);
        gx_st_writer_meta(w, "train.threads", threads, err);
        gx_st_writer_meta(w, "train.data", data_s, err);
        gx_st_writer_meta(w, "train.log", c->log_text ? c->log_text : "", err);
        gx_st_writer_meta(w, "config", r->config ? r->config : "", err);
        gx_st_writer_meta(w, "class_names", r->classes ? r->classes : "[]", err);
    }
    free(args);
    free(data_s);
    return rc;
}

/* The metadata string `key` of checkpoint f, or an error naming it. */
static const char *ckpt_meta(const gx_st_file *f, const char *key, gx_error *err) {
    const char *v = gx_st_metadata(f, key);
    if (!v) gx_fail(err, "%s: metadata '%s' is missing", gx_st_path(f), key);
    return v;
}

/* --resume DIR: replaces *o by the options of the run whose checkpoint is in DIR (keeping --quiet
 * and --checkpoint-every of this invocation), goes to the run's working folder, and fills r
 * (the hashes to check the data against) and *log (the training log so far). */
static int load_resume(train_opts *o, run_meta *r, char **argv_store[], char **log, char *dir,
                       size_t dir_n, gx_error *err) {
    if (!realpath(o->resume, dir) || strlen(dir) >= dir_n)
        return gx_fail(err, "--resume %s: %s", o->resume, strerror(errno));
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, GX_CKPT_FILE);
    gx_st_file *f;
    if (gx_ckpt_open(path, &f, err)) return -1;
    int rc = -1;
    const char *args_s, *cwd, *threads, *data_s, *log_s;
    cJSON *data = NULL;
    if (!(args_s = ckpt_meta(f, "train.args", err)) || !(cwd = ckpt_meta(f, "train.cwd", err)) ||
        !(threads = ckpt_meta(f, "train.threads", err)) ||
        !(data_s = ckpt_meta(f, "train.data", err)) || !(log_s = ckpt_meta(f, "train.log", err)))
        goto done;
    r->args = cJSON_Parse(args_s);
    int n = cJSON_IsArray(r->args) ? cJSON_GetArraySize(r->args) : -1;
    char **argv = n >= 0 ? calloc((size_t)n + 2, sizeof *argv) : NULL;
    if (!argv) {
        gx_fail(err, "%s: metadata 'train.args' is not a JSON array of strings", path);
        goto done;
    }
    *argv_store = argv;
    argv[0] = "train";
    int i = 1;
    const cJSON *a;
    cJSON_ArrayForEach(a, r->args) {
        if (!cJSON_IsString(a)) {
            gx_fail(err, "%s: metadata 'train.args' is not a JSON array of strings", path);
            goto done;
        }
        argv[i++] = a->valuestring;
    }
    train_opts now = *o;
    if (parse_args(n + 1, argv, o) != 0 || o->resume) {
        gx_fail(err, "%s: the command line it records (train.args) is not a valid training command",
                path);
        goto done;
    }
    o->out = o->resume = dir;
    o->quiet = now.quiet;
    if (now.ckpt_every_given) o->ckpt_every = now.ckpt_every;
    char *end;
    long t = strtol(threads, &end, 10);
    if (*end || t < 1 || t > 1024) {
        gx_fail(err, "%s: metadata 'train.threads' must be a thread count", path);
        goto done;
    }
    o->threads = (int)t;
    r->threads = (int)t;
    data = cJSON_Parse(data_s);
    if (!cJSON_IsArray(data) || cJSON_GetArraySize(data) != o->n_domains) {
        gx_fail(err, "%s: metadata 'train.data' must list the run's %d domain(s)", path, o->n_domains);
        goto done;
    }
    int d = 0;
    cJSON_ArrayForEach(a, data) {
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(a, "hash");
        unsigned long long v;
        if (!cJSON_IsString(h) || sscanf(h->valuestring, "%16llx", &v) != 1) {
            gx_fail(err, "%s: metadata 'train.data': domain %d has no hash", path, d);
            goto done;
        }
        r->hash[d++] = v;
    }
    /* the specs may be relative to the folder the run was started in */
    snprintf(r->cwd, sizeof r->cwd, "%s", cwd);
    if (chdir(cwd) != 0 && !o->quiet)
        fprintf(stderr, "genxfer: warning: the run's working folder %s is gone (%s); reading its "
                        "data relative to the current folder\n", cwd, strerror(errno));
    if (!(*log = strdup(log_s))) {
        gx_fail(err, "out of memory");
        goto done;
    }
    rc = 0;
done:
    cJSON_Delete(data);
    gx_st_close(f);
    return rc;
}

/* A fresh run: what its checkpoints record about it. */
static int init_run_meta(run_meta *r, int argc, char **argv, gx_error *err) {
    if (!getcwd(r->cwd, sizeof r->cwd)) return gx_fail(err, "cannot get the working folder: %s", strerror(errno));
    r->args = cJSON_CreateArray();
    for (int i = 1; r->args && i < argc; i++) cJSON_AddItemToArray(r->args, cJSON_CreateString(argv[i]));
    r->threads = gx_get_threads();
    return r->args ? 0 : gx_fail(err, "out of memory");
}

/* SIGINT and SIGTERM ask the trainer to stop after the current step (and write the checkpoint);
 * SA_RESETHAND: a second signal has its default effect. */
static volatile sig_atomic_t stop_signal;
static void on_stop_signal(int sig) { stop_signal = sig; }

static void catch_stop_signals(struct sigaction old[2]) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
}

static void restore_signals(const struct sigaction old[2]) {
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
}

int cmd_train(int argc, char **argv) {
    train_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc == 3 ? 0 : rc;
    if (cli_parse_only) return 0;
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
    gx_dataset test_ds, monitor_ds;
    gx_dataset_init(&test_ds);
    gx_dataset_init(&monitor_ds);
    for (int d = 0; d < GX_MAX_DOMAINS; d++) gx_split_init(&split_val[d]), gx_split_init(&split_lab[d]);
    run_meta meta;
    memset(&meta, 0, sizeof meta);
    char **resume_argv = NULL, *resume_log = NULL, ckpt_path[PATH_MAX + 64];
    static char resume_dir[PATH_MAX];
    struct sigaction old_sig[2];
    int caught = 0;
    gx_run_lock lock = {-1, 0};
    if (o.resume ? load_resume(&o, &meta, &resume_argv, &resume_log, resume_dir, sizeof resume_dir, &err)
                 : init_run_meta(&meta, argc, argv, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    if (o.threads) gx_set_threads(o.threads);
    meta.threads = gx_get_threads();

    if (cli_make_dir(o.out)) {
        cli_error("cannot create output folder '%s': %s", o.out, strerror(errno));
        goto done;
    }
    /* find out now, not after an epoch, that the checkpoint cannot be written */
    snprintf(ckpt_path, sizeof ckpt_path, "%s/%s", o.out, GX_CKPT_FILE);
    gx_atomic_file *probe;
    if (gx_atomic_open(ckpt_path, &probe, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    gx_atomic_abort(probe);
    if (gx_run_lock_take(o.out, &lock, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    if (lock.removed_tmp && !o.quiet)
        fprintf(stderr, "removed %d temporary file(s) that an interrupted run left in %s\n",
                lock.removed_tmp, o.out);
    /* data, classes matched across domains by name */
    int target = o.n_domains - 1;
    for (int d = 0; d < o.n_domains; d++) {
        cli_domain *x = &o.dom[d];
        if (!o.quiet) fprintf(stderr, "loading %s (domain %s)\n", x->spec, x->name);
        if (gx_spec_load_imputed(x->spec, NULL, NULL, 0, &x->impute, &x->ds, &err)) {
            cli_error("%s", err.msg);
            goto done;
        }
        uint64_t hash = gx_ckpt_data_hash(&x->ds);
        if (o.resume && hash != meta.hash[d]) {
            cli_error("domain %s: the data read from %s differ from those the run started with (a "
                      "file changed since the checkpoint); --resume needs the same input",
                      x->name, x->spec);
            goto done;
        }
        meta.hash[d] = hash;
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
                                   &info.prep_std[d], o.dom, info.prep_mean, info.prep_std, d,
                                   &err)) { cli_error("%s", err.msg); goto done; }

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
    o.tc.select_domain = dd[target].n_val || o.tc.select == GX_SELECT_IM ? target : -1;
    o.tc.target_domain = target;

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
        if (gx_model_info_set_features(&info, d, &o.dom[d].ds, o.dom[d].impute, &err)) {
            cli_error("%s", err.msg);
            goto done;
        }
    }
    if (gx_ssdgm_train_check_memory(&o.mc, o.tc.batch_l, o.tc.batch_u, &err)) { cli_error("%s", err.msg); goto done; }
    gx_rng init_rng;
    gx_rng_init(&init_rng, o.tc.seed, GX_STREAM_INIT);
    if (gx_ssdgm_create(&m, &o.mc, &init_rng, &err)) { cli_error("%s", err.msg); goto done; }
    model_made = 1;
    if (gx_model_info_set_classes(&info, n_classes, (const char *const *)class_names, &err)) { cli_error("%s", err.msg); goto done; }
    if (o.monitor) { /* the test set, read now as it will be at the end */
        if (!test_ds.n && !o.test_spec) {
            status = cli_usage_error("train", "--monitor-test needs --test or test=");
            goto done;
        }
        if (!test_ds.n && cli_load_for_model(&m, &info, target, o.test_spec, 1, &monitor_ds, &err)) {
            cli_error("--test %s", err.msg);
            goto done;
        }
        o.tc.monitor = test_ds.n ? &test_ds : &monitor_ds;
        o.tc.monitor_domain = target;
    }

    snprintf(ctx.log_path, sizeof ctx.log_path, "%s/train_log.csv", o.out);
    ctx.o = &o;
    ctx.target = target;
    ctx.meta = &meta;
    if (resume_log) {
        ctx.log_text = resume_log;
        ctx.log_len = strlen(resume_log);
        ctx.log_cap = ctx.log_len + 1;
        resume_log = NULL;
    } else {
        append_log(&ctx, "epoch,step,loss,elbo_labelled,elbo_unlabelled,cross_entropy,train_accuracy,"
                         "confident_fraction,lr,kl_weight");
        for (int d = 0; d < o.n_domains; d++) append_log(&ctx, ",val_accuracy_%s", o.dom[d].name);
        if (o.tc.select == GX_SELECT_IM) append_log(&ctx, ",im_criterion");
        if (o.monitor) append_log(&ctx, ",test_accuracy_monitor");
        append_log(&ctx, ",seconds\n");
    }
    o.tc.on_epoch = on_epoch;
    o.tc.on_step = on_step;
    o.tc.ctx = &ctx;
    /* checkpoints */
    meta.config = gx_ssdgm_config_to_json(&m.cfg);
    cJSON *names = cJSON_CreateArray();
    for (int k = 0; k < n_classes; k++) cJSON_AddItemToArray(names, cJSON_CreateString(class_names[k]));
    meta.classes = cJSON_PrintUnformatted(names);
    cJSON_Delete(names);
    o.tc.ckpt_path = ckpt_path;
    o.tc.ckpt_every = o.ckpt_every;
    o.tc.ckpt_meta = add_run_meta;
    o.tc.resume_path = o.resume ? ckpt_path : NULL;
    o.tc.stop = &stop_signal;
    if (!o.quiet)
        fprintf(stderr, "training %s: %d classes, %d domain(s), %lld parameters, alpha %g, %d epochs\n",
                gx_preset_name(o.preset), n_classes, o.n_domains,
                (long long)gx_params_count(&m.params, true), o.tc.alpha, o.tc.epochs);
    gx_progress_init_stream(&ctx.prog, stderr, o.tc.epochs, now());
    gx_ssdgm_train_result res;
    catch_stop_signals(old_sig);
    caught = 1;
    if (gx_ssdgm_train(&m, dd, &o.tc, &res, &err)) {
        gx_progress_clear(&ctx.prog);
        cli_error("%s", err.msg);
        goto done;
    }
    restore_signals(old_sig);
    caught = 0;
    if (res.stopped) {
        gx_progress_clear(&ctx.prog);
        fprintf(stderr, "genxfer: interrupted by %s after step %ld (epoch %d): checkpoint written to %s; "
                        "continue with: genxfer train --resume %s\n",
                stop_signal == SIGINT ? "SIGINT" : "SIGTERM", res.ckpt_step, res.ckpt_epoch,
                ckpt_path, o.out);
        status = 128 + stop_signal;
        goto done;
    }

    /* the target's label shift, stored in the model, corrects its predictions from here on */
    double shifted[GX_MAX_CLASSES];
    if (o.prior_shift) {
        float *ratio = gx_malloc((size_t)n_classes * sizeof *ratio, "prior ratio", &err);
        const int rounds = ratio ? gx_ssdgm_label_shift(&m, dd, target, o.tc.class_balance,
                                                        shifted, ratio, &err)
                                 : -1;
        if (rounds < 0) {
            free(ratio);
            cli_error("--prior-shift: %s", err.msg);
            goto done;
        }
        info.prior_ratio[target] = ratio;
        if (!o.quiet) {
            fprintf(stderr, "label shift of domain %s (EM, %d rounds): class proportions",
                    o.dom[target].name, rounds);
            for (int k = 0; k < n_classes; k++)
                fprintf(stderr, " %s %.3f", class_names[k], shifted[k]);
            fputc('\n', stderr);
        }
    }

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
    const int by_im = o.tc.select == GX_SELECT_IM;
    cJSON_AddNumberToObject(extra, by_im ? "best_im_criterion" : "best_validation_accuracy",
                            res.best_selection);
    cJSON_AddStringToObject(extra, "selection", by_im ? "im" : o.tc.select == GX_SELECT_LAST ? "last" : "val");
    if (o.prior_shift) {
        cJSON *ps = cJSON_AddObjectToObject(extra, "prior_shift");
        for (int k = 0; ps && k < n_classes; k++) cJSON_AddNumberToObject(ps, class_names[k], shifted[k]);
    }
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
    if (o.tc.select == GX_SELECT_IM) printf(", information maximisation criterion %.4f", res.best_selection);
    else if (res.best_selection >= 0) printf(", validation accuracy %.2f%%", 100 * res.best_selection);
    printf(")\nmodel:   %s/model.safetensors\nmetrics: %s/metrics.json\nlog:     %s/train_log.csv\n",
           o.out, o.out, o.out);
    int no_confusion;
    if (!o.no_figures && cli_plot_run(o.out, NULL, NULL, &no_confusion)) goto done;
    status = 0;
done:
    gx_run_lock_release(&lock);
    gx_dataset_free(&monitor_ds);
    if (caught) restore_signals(old_sig);
    cJSON_Delete(meta.args);
    free(meta.config);
    free(meta.classes);
    free(resume_argv);
    free(resume_log);
    for (int d = 0; d < o.n_domains; d++) {
        gx_dataset_free(&o.dom[d].ds);
        free(o.dom[d].impute);
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
