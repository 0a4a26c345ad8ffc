/* genxfer bench: the training-speed benchmark B1 of EXPERIMENTS.md. The M2 step on MNIST (the m2
 * preset's defaults) and the training step of E4's CNN (the default target network of scratch/pp/
 * pssl/kd) timed at each thread count, set against this machine's SGEMM peak measured in the same
 * run; the time to load MNIST; one epoch of E1 run as a child process for its time and peak
 * memory. --export and --export-cnn write one step's inputs and results for the PyTorch
 * cross-checks (bench/reference/m2_torch.py, cnn_torch.py). */
#include <cJSON.h>
#include <dirent.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_transfer.h"
#include "core/gemm.h"
#include "core/optim.h"
#include "data/batch.h"
#include "data/spec.h"
#include "data/splits.h"
#include "io/report.h"
#include "io/safetensors.h"
#include "models/classifier.h"
#include "models/ssdgm.h"
#include "transfer/cls_train.h"

#define MAX_RUNS 8
#define BATCH 100     /* labelled and unlabelled examples per step */
#define LABELS_PER_CLASS 10
#define PEAK_N 1024   /* the square SGEMM of the peak */
#define CNN_BATCH 64  /* E4: images per step */
#define CNN_CLASSES 5 /* E4's target tasks have 5 classes; the benchmark's labels are y mod 5 */

static void usage(FILE *f) {
    fprintf(f,
"usage: genxfer bench [options]\n\n"
"The training-speed benchmark B1: the M2 model of `genxfer train --preset m2` on MNIST (encoder\n"
"and decoder MLPs 784-500-500 softplus, z = 50, 10 classes, 100 labelled + 100 unlabelled\n"
"examples per step, Adam). For each thread count: the median time of a training step (batch\n"
"gathering, loss and gradient, Adam update), examples per second, the achieved GFLOP/s of the\n"
"step's multiply-adds, this machine's SGEMM peak (a square 1024 product through the same GEMM\n"
"backend, oneDNN, the best of 10 before and 10 after the steps)\n"
"and the step time over the GEMM-bound time (FLOPs / peak). The same for the training step of\n"
"E4's CNN (the default --arch of scratch/pp/pssl/kd, " CLI_DEFAULT_ARCH ",\n"
"5 classes, batch 64 of the --data images, their labels mod 5, Adam with those commands' default\n"
"learning rate and weight decay). Then the time to load MNIST, and one epoch of E1 (genxfer\n"
"train --preset m2 on MNIST with 100 labels) run as a child process, with its peak resident\n"
"memory.\n\n"
"options (default in brackets):\n"
"  --threads LIST  thread counts to measure, e.g. 1,2 [1 and all cores]\n"
"  --steps N       measured steps per thread count, after the warm-up [100]\n"
"  --warmup N      steps before the measured ones [10]\n"
"  --data SPEC     the training images [mnist:train]\n"
"  --test SPEC     the test set of the E1 epoch [mnist:test]\n"
"  --no-epoch      skip the E1 epoch\n"
"  --only MODEL    time only b1 (the M2 step and the E1 epoch) or only cnn [both]\n"
"  --seed N        [1]\n"
"  --json FILE     also write the results as JSON\n"
"  --export FILE   instead of timing: train --warmup steps, then write the model, the next batch,\n"
"                  its noise and genxfer's loss and gradients for it (safetensors), which\n"
"                  bench/reference/m2_torch.py check compares with PyTorch\n"
"  --export-cnn FILE  the same for the CNN step: the model after --warmup steps, the next batch,\n"
"                  its dropout mask, genxfer's loss and gradients, for cnn_torch.py check\n"
"  --help          this text\n");
}

typedef struct bench_opts {
    int threads[MAX_RUNS], n_threads;
    long steps, warmup, seed;
    const char *data, *test, *json, *export_path, *export_cnn;
    int epoch, b1, cnn; /* which parts to run */
} bench_opts;

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v in place and returns its median. */
static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double load_average(void) {
    double l[1];
    return getloadavg(l, 1) == 1 ? l[0] : -1;
}

static int parse_args(int argc, char **argv, bench_opts *o) {
    enum { O_STEPS = 256, O_WARMUP, O_DATA, O_TEST, O_NOEPOCH, O_SEED, O_JSON, O_EXPORT, O_THREADS,
           O_ONLY, O_EXPORT_CNN };
    static const struct option longopts[] = {
        {"threads", required_argument, 0, O_THREADS}, {"steps", required_argument, 0, O_STEPS},
        {"warmup", required_argument, 0, O_WARMUP},   {"data", required_argument, 0, O_DATA},
        {"test", required_argument, 0, O_TEST},       {"no-epoch", no_argument, 0, O_NOEPOCH},
        {"seed", required_argument, 0, O_SEED},       {"json", required_argument, 0, O_JSON},
        {"export", required_argument, 0, O_EXPORT},   {"only", required_argument, 0, O_ONLY},
        {"export-cnn", required_argument, 0, O_EXPORT_CNN}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *cmd = "bench";
    memset(o, 0, sizeof *o);
    o->steps = 100;
    o->warmup = 10;
    o->seed = 1;
    o->data = "mnist:train";
    o->test = "mnist:test";
    o->epoch = o->b1 = o->cnn = 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads[o->n_threads++] = 1;
    if (cores > 1) o->threads[o->n_threads++] = (int)cores;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 3;
        case O_THREADS:
            if (cli_parse_sizes(cmd, "--threads", optarg, o->threads, MAX_RUNS, &o->n_threads))
                return 1;
            break;
        case O_STEPS: if (cli_parse_int(cmd, "--steps", optarg, 1, 1000000, &o->steps)) return 1; break;
        case O_WARMUP: if (cli_parse_int(cmd, "--warmup", optarg, 0, 1000000, &o->warmup)) return 1; break;
        case O_SEED: if (cli_parse_int(cmd, "--seed", optarg, 0, 2147483647L, &o->seed)) return 1; break;
        case O_DATA: o->data = optarg; break;
        case O_TEST: o->test = optarg; break;
        case O_NOEPOCH: o->epoch = 0; break;
        case O_JSON: o->json = optarg; break;
        case O_EXPORT: o->export_path = optarg; break;
        case O_EXPORT_CNN: o->export_cnn = optarg; break;
        case O_ONLY:
            if (!strcmp(optarg, "b1")) o->b1 = 1, o->cnn = 0;
            else if (!strcmp(optarg, "cnn")) o->b1 = 0, o->cnn = 1;
            else return cli_usage_error(cmd, "--only: expected b1 or cnn, got '%s'", optarg);
            break;
        default: return cli_option_error(cmd, argv[optind - 1], longopts);
        }
    }
    if (optind < argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (o->export_path && o->export_cnn)
        return cli_usage_error(cmd, "--export and --export-cnn: give one of them");
    if (!o->b1) o->epoch = 0;
    return 0;
}

/* ---- the B1 step ------------------------------------------------------------------------- */

/* Everything one timing run needs, built afresh for each thread count so that every run does the
 * same work from the same state. */
typedef struct b1 {
    gx_ssdgm m;
    gx_ssdgm_ws ws;
    gx_optim opt;
    gx_batcher lab, unl;
    gx_rng data_rng, noise_rng;
    float *xl, *xu;
    int32_t *yl;
    gx_ssdgm_hyper hyper;
} b1;

static void b1_free(b1 *b) {
    gx_ssdgm_ws_free(&b->ws);
    gx_ssdgm_free(&b->m);
    gx_batcher_free(&b->lab);
    gx_batcher_free(&b->unl);
    free(b->xl);
    free(b->xu);
    free(b->yl);
}

/* The m2 model for images like ds's rows; labelled batches from lab[0..n_lab-1], unlabelled ones
 * from every row of ds. */
static int b1_init(b1 *b, const gx_dataset *ds, const int64_t *lab, int64_t n_lab, uint64_t seed,
                   gx_error *err) {
    memset(b, 0, sizeof *b);
    gx_ssdgm_config c;
    gx_ssdgm_config_default(&c, GX_PRESET_M2, ds->n_classes);
    c.n_domains = 1;
    snprintf(c.dom[0].name, sizeof c.dom[0].name, "mnist");
    c.dom[0].n_in = (int)ds->d;
    c.dom[0].lik = GX_LIK_BERNOULLI;
    c.dom[0].height = ds->height, c.dom[0].width = ds->width, c.dom[0].channels = ds->channels;
    gx_rng init;
    gx_rng_init(&init, seed, GX_STREAM_INIT);
    gx_rng_init(&b->data_rng, seed, GX_STREAM_DATA);
    gx_rng_init(&b->noise_rng, seed, GX_STREAM_NOISE);
    if (gx_ssdgm_create(&b->m, &c, &init, err) ||
        gx_ssdgm_ws_alloc(&b->ws, &b->m, BATCH, BATCH, err) ||
        gx_batcher_init(&b->lab, ds, lab, n_lab, BATCH, GX_BATCH_INFINITE, &b->data_rng, err) ||
        gx_batcher_init(&b->unl, ds, NULL, ds->n, BATCH, GX_BATCH_INFINITE, &b->data_rng, err) ||
        !(b->xl = gx_malloc_aligned((size_t)BATCH * ds->d * sizeof(float), "batch", err)) ||
        !(b->xu = gx_malloc_aligned((size_t)BATCH * ds->d * sizeof(float), "batch", err)) ||
        !(b->yl = gx_malloc((size_t)BATCH * sizeof(int32_t), "labels", err))) {
        b1_free(b);
        return -1;
    }
    double prob[GX_MAX_CLASSES];
    for (int k = 0; k < c.n_classes; k++) prob[k] = 1.0 / c.n_classes; /* k per class: uniform */
    gx_ssdgm_set_class_prior(&b->m, 0, prob);
    gx_optim_init(&b->opt, GX_OPT_ADAM);
    /* alpha as genxfer train's default for 100 labels: 0.1 x labelled examples */
    b->hyper = (gx_ssdgm_hyper){.alpha = 0.1f * (float)n_lab, .beta = 1.0f, .bn_momentum = 0.1f};
    return 0;
}

/* Draws the next batch into b's buffers. */
static gx_ssdgm_batch b1_next_batch(b1 *b) {
    int nl = (int)gx_batcher_next(&b->lab, b->xl, b->yl);
    int nu = (int)gx_batcher_next(&b->unl, b->xu, NULL);
    return (gx_ssdgm_batch){b->xl, b->yl, nl, b->xu, nu};
}

/* One training step as gx_ssdgm_train takes it (batches, zero, loss and gradient, Adam). */
static int b1_step(b1 *b, gx_error *err) {
    gx_ssdgm_batch batch = b1_next_batch(b);
    gx_ssdgm_stats st;
    gx_params_zero_grad(&b->m.params);
    if (gx_ssdgm_loss_and_grad(&b->m, &b->ws, &batch, &b->hyper, &b->noise_rng, &st, err))
        return -1;
    gx_optim_step(&b->opt, &b->m.params, 1e-3f);
    return 0;
}

/* ---- the E4 CNN step --------------------------------------------------------------------- */

/* The default target network of scratch/pp/pssl/kd with its optimiser, a batcher over every row
 * of the images and the buffers of one batch: everything gx_cls_train's step uses, augmentation
 * aside (it runs on the batch before the step). */
typedef struct cnn {
    gx_classifier m;
    gx_classifier_ws ws;
    gx_optim opt;
    float lr;
    gx_batcher rows;
    gx_rng data_rng, noise_rng;
    float *x;   /* [CNN_BATCH, h*w*c] */
    int32_t *y; /* [CNN_BATCH] */
} cnn;

static void cnn_free(cnn *c) {
    gx_classifier_ws_free(&c->ws);
    gx_classifier_free(&c->m);
    gx_batcher_free(&c->rows);
    free(c->x);
    free(c->y);
}

static int cnn_init(cnn *c, const gx_dataset *ds, uint64_t seed, gx_error *err) {
    memset(c, 0, sizeof *c);
    if (ds->height < 1 || ds->width < 1 || ds->channels < 1)
        return gx_fail(err, "bench: the --data rows are not images (the CNN step needs h x w x c)");
    gx_rng init;
    gx_rng_init(&init, seed, GX_STREAM_INIT);
    gx_rng_init(&c->data_rng, seed, GX_STREAM_DATA);
    gx_rng_init(&c->noise_rng, seed, GX_STREAM_NOISE);
    if (gx_classifier_create(&c->m, CLI_DEFAULT_ARCH, ds->height, ds->width, ds->channels, 1,
                             CNN_CLASSES, &init, err) ||
        gx_classifier_ws_alloc(&c->ws, &c->m, CNN_BATCH, err) ||
        gx_batcher_init(&c->rows, ds, NULL, ds->n, CNN_BATCH, GX_BATCH_INFINITE, &c->data_rng,
                        err) ||
        !(c->x = gx_malloc_aligned((size_t)CNN_BATCH * ds->d * sizeof(float), "batch", err)) ||
        !(c->y = gx_malloc((size_t)CNN_BATCH * sizeof(int32_t), "labels", err))) {
        cnn_free(c);
        return -1;
    }
    gx_cls_train_config tc; /* the optimiser as scratch/pp/pssl/kd set it up by default */
    gx_cls_train_config_default(&tc);
    gx_optim_init(&c->opt, tc.opt);
    c->opt.weight_decay = tc.weight_decay;
    c->lr = tc.lr;
    return 0;
}

/* Draws the next batch into c's buffers; returns its size. */
static int cnn_next_batch(cnn *c) {
    int n = (int)gx_batcher_next(&c->rows, c->x, c->y);
    for (int i = 0; i < n; i++) c->y[i] = (c->y[i] % CNN_CLASSES + CNN_CLASSES) % CNN_CLASSES;
    return n;
}

/* One training step as gx_cls_train takes it (batch, zero, cross-entropy and gradient, Adam). */
static int cnn_step(void *ctx, gx_error *err) {
    cnn *c = ctx;
    int n = cnn_next_batch(c);
    gx_params_zero_grad(&c->m.params);
    double loss = gx_classifier_ce_step(&c->m, &c->ws, c->x, c->y, n, &c->noise_rng, NULL);
    if (!isfinite(loss)) return gx_fail(err, "bench: the CNN loss is not finite");
    gx_optim_step(&c->opt, &c->m.params, c->lr);
    return 0;
}

/* ---- measurements ------------------------------------------------------------------------ */

typedef struct run_result {
    int threads;
    double median_ms, min_ms, mean_ms;
    double peak_gflops; /* square PEAK_N SGEMM, best of 2 x 10 (before and after the steps) */
} run_result;

/* Best GFLOP/s of a square n SGEMM over 10 runs after one warm-up, at the current thread count,
 * through gx_gemm (the backend the models use). */
static double sgemm_peak(const float *A, const float *B, float *C, int n) {
    double best = 1e30;
    for (int r = 0; r < 11; r++) {
        double t = now_seconds();
        gx_gemm(false, false, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);
        t = now_seconds() - t;
        if (r > 0 && t < best) best = t;
    }
    return 2.0 * n * n * n / best * 1e-9;
}

/* Times o->warmup + o->steps calls of step(ctx) into res (times: scratch of o->steps). */
static int time_loop(const bench_opts *o, int (*step)(void *, gx_error *), void *ctx,
                     double *times, run_result *res, gx_error *err) {
    for (long i = 0; i < o->warmup + o->steps; i++) {
        double t = now_seconds();
        if (step(ctx, err)) return -1;
        if (i >= o->warmup) times[i - o->warmup] = now_seconds() - t;
    }
    double sum = 0;
    for (long i = 0; i < o->steps; i++) sum += times[i];
    res->mean_ms = 1e3 * sum / o->steps;
    res->median_ms = 1e3 * median(times, (int)o->steps);
    res->min_ms = 1e3 * times[0];
    return 0;
}

static int b1_step_ctx(void *ctx, gx_error *err) { return b1_step(ctx, err); }

static int time_steps(const bench_opts *o, const gx_dataset *ds, const int64_t *lab, int64_t n_lab,
                      double *times, run_result *res, gx_error *err) {
    b1 b;
    if (b1_init(&b, ds, lab, n_lab, (uint64_t)o->seed, err)) return -1;
    int rc = time_loop(o, b1_step_ctx, &b, times, res, err);
    b1_free(&b);
    return rc;
}

static int time_cnn(const bench_opts *o, const gx_dataset *ds, double *times, run_result *res,
                    gx_error *err) {
    cnn c;
    if (cnn_init(&c, ds, (uint64_t)o->seed, err)) return -1;
    int rc = time_loop(o, cnn_step, &c, times, res, err);
    cnn_free(&c);
    return rc;
}

/* Loads `spec` three times; the median time in *ms. ds keeps the last load. */
static int time_load(const char *spec, gx_dataset *ds, double *ms, gx_error *err) {
    double t[3];
    for (int i = 0; i < 3; i++) {
        double t0 = now_seconds();
        if (gx_spec_load(spec, ds, err)) return -1;
        t[i] = now_seconds() - t0;
        if (i < 2) gx_dataset_free(ds);
    }
    *ms = 1e3 * median(t, 3);
    return 0;
}

typedef struct epoch_result {
    int ran, threads;
    double wall_s, epoch_s; /* whole run (loading, epoch, test), and the epoch as train_log says */
    double max_rss_mb;
} epoch_result;

/* The last field of the last line of path, as a number (-1 if unreadable). */
static double last_field(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096], last[4096] = "";
    while (fgets(line, sizeof line, f))
        if (line[0] && line[0] != '\n') memcpy(last, line, sizeof last);
    fclose(f);
    char *comma = strrchr(last, ',');
    return comma ? atof(comma + 1) : -1;
}

/* Removes the files of a scratch folder (the run writes no subfolders), then the folder. */
static void remove_scratch(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1100];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    if (rmdir(dir)) fprintf(stderr, "genxfer: warning: bench: could not remove %s\n", dir);
}

/* One epoch of E1's m2 run: `genxfer train` as a child process, its output in a scratch folder
 * under $TMPDIR (or /tmp). */
static int run_e1_epoch(const bench_opts *o, int threads, epoch_result *r, gx_error *err) {
    char dir[1024], data[1100], thr[16], seed[24], log[1100];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/genxfer-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) return gx_fail(err, "bench: cannot create a scratch folder like %s", dir);
    snprintf(data, sizeof data, "%s,k=%d,val=100", o->data, LABELS_PER_CLASS);
    snprintf(thr, sizeof thr, "%d", threads);
    snprintf(seed, sizeof seed, "%ld", o->seed);
    double t0 = now_seconds();
    pid_t pid = fork();
    if (pid < 0) {
        remove_scratch(dir);
        return gx_fail(err, "bench: fork failed");
    }
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(127);
        char *args[] = {"genxfer", "train", "--preset", "m2", "--domain", data, "--test",
                        (char *)o->test, "--epochs", "1", "--lr", "3e-4", "--threads", thr,
                        "--seed", seed, "--quiet", "--out", dir, NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) {
        remove_scratch(dir);
        return gx_fail(err, "bench: wait for the E1 run failed");
    }
    r->wall_s = now_seconds() - t0;
    snprintf(log, sizeof log, "%s/train_log.csv", dir);
    r->epoch_s = last_field(log);
    r->max_rss_mb = ru.ru_maxrss / 1024.0;
    r->threads = threads;
    r->ran = 1;
    remove_scratch(dir);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return gx_fail(err, "bench: the E1 run (genxfer train --preset m2 --domain %s) failed", data);
    return 0;
}

/* ---- export for the PyTorch cross-check -------------------------------------------------- */

static int export_step(const bench_opts *o, const gx_dataset *ds, const int64_t *lab, int64_t n_lab,
                       gx_error *err) {
    b1 b;
    if (b1_init(&b, ds, lab, n_lab, (uint64_t)o->seed, err)) return -1;
    int rc = -1;
    gx_st_writer *w = NULL;
    for (long i = 0; i < o->warmup; i++)
        if (b1_step(&b, err)) goto done;
    gx_ssdgm_batch batch = b1_next_batch(&b);
    gx_ssdgm_stats st;
    gx_params_zero_grad(&b.m.params);
    if (gx_ssdgm_loss_and_grad(&b.m, &b.ws, &batch, &b.hyper, &b.noise_rng, &st, err)) goto done;
    if (!(w = gx_st_writer_new(err))) goto done;
    const gx_params *p = &b.m.params;
    char name[GX_PARAM_NAME_MAX + 8], num[32];
    for (int i = 0; i < p->n; i++) {
        const gx_param_info *t = &p->info[i];
        gx_st_writer_add(w, t->name, GX_ST_F32, t->ndim, t->shape, p->data + t->offset, err);
        if (p->groups[t->group].frozen) continue;
        snprintf(name, sizeof name, "grad.%s", t->name);
        gx_st_writer_add(w, name, GX_ST_F32, t->ndim, t->shape, p->grad + t->offset, err);
    }
    int K = b.m.cfg.n_classes, Z = b.m.cfg.z_dim;
    int64_t sl[2] = {batch.nl, ds->d}, su[2] = {batch.nu, ds->d}, sy[1] = {batch.nl};
    int64_t se[2] = {batch.nl + (int64_t)K * batch.nu, Z}, s1[1] = {1};
    float loss = (float)st.loss;
    gx_st_writer_add(w, "batch.xl", GX_ST_F32, 2, sl, batch.xl, err);
    gx_st_writer_add(w, "batch.yl", GX_ST_I32, 1, sy, batch.yl, err);
    gx_st_writer_add(w, "batch.xu", GX_ST_F32, 2, su, batch.xu, err);
    gx_st_writer_add(w, "batch.eps", GX_ST_F32, 2, se, b.ws.eps, err); /* [labelled; class blocks] */
    gx_st_writer_add(w, "loss", GX_ST_F32, 1, s1, &loss, err);
    snprintf(num, sizeof num, "%.9g", b.hyper.alpha);
    gx_st_writer_meta(w, "alpha", num, err);
    snprintf(num, sizeof num, "%.9g", b.hyper.beta);
    gx_st_writer_meta(w, "beta", num, err);
    if (gx_st_write(w, o->export_path, err)) goto done;
    printf("genxfer bench: wrote %s (model after %ld steps, one batch of %d + %d, loss %.6g)\n",
           o->export_path, o->warmup, batch.nl, batch.nu, st.loss);
    rc = 0;
done:
    gx_st_writer_free(w);
    b1_free(&b);
    return rc;
}

/* The CNN's parameters, the next batch after --warmup steps, the dropout masks drawn for it and
 * genxfer's mean cross-entropy and gradients (batch-norm in training mode, as in the step). */
static int export_cnn(const bench_opts *o, const gx_dataset *ds, gx_error *err) {
    cnn c;
    if (cnn_init(&c, ds, (uint64_t)o->seed, err)) return -1;
    int rc = -1;
    gx_st_writer *w = NULL;
    for (long i = 0; i < o->warmup; i++)
        if (cnn_step(&c, err)) goto done;
    int n = cnn_next_batch(&c);
    gx_params_zero_grad(&c.m.params);
    float loss = (float)gx_classifier_ce_step(&c.m, &c.ws, c.x, c.y, n, &c.noise_rng, NULL);
    if (!(w = gx_st_writer_new(err))) goto done;
    const gx_params *p = &c.m.params;
    char name[GX_PARAM_NAME_MAX + 16];
    for (int i = 0; i < p->n; i++) {
        const gx_param_info *t = &p->info[i];
        gx_st_writer_add(w, t->name, GX_ST_F32, t->ndim, t->shape, p->data + t->offset, err);
        if (p->groups[t->group].frozen) continue;
        snprintf(name, sizeof name, "grad.%s", t->name);
        gx_st_writer_add(w, name, GX_ST_F32, t->ndim, t->shape, p->grad + t->offset, err);
    }
    for (int i = 0; i < c.m.n_layers; i++) { /* the kept units [B, features] of each dropout */
        const gx_cls_layer *L = &c.m.layer[i];
        if (L->kind != GX_CLS_DROPOUT) continue;
        int64_t sm[2] = {n, (int64_t)L->oh * L->ow * L->oc};
        snprintf(name, sizeof name, "batch.dropout.%d", i);
        gx_st_writer_add(w, name, GX_ST_U8, 2, sm, c.ws.mask[i], err);
    }
    int64_t sx[4] = {n, ds->height, ds->width, ds->channels}, sy[1] = {n}, s1[1] = {1};
    gx_st_writer_add(w, "batch.x", GX_ST_F32, 4, sx, c.x, err); /* NHWC */
    gx_st_writer_add(w, "batch.y", GX_ST_I32, 1, sy, c.y, err);
    gx_st_writer_add(w, "loss", GX_ST_F32, 1, s1, &loss, err);
    gx_st_writer_meta(w, "arch", c.m.arch, err);
    if (gx_st_write(w, o->export_cnn, err)) goto done;
    printf("genxfer bench: wrote %s (CNN after %ld steps, one batch of %d, loss %.6g)\n",
           o->export_cnn, o->warmup, n, loss);
    rc = 0;
done:
    gx_st_writer_free(w);
    cnn_free(&c);
    return rc;
}

/* ---- report ------------------------------------------------------------------------------ */

static void cpu_name(char *buf, size_t n) {
    snprintf(buf, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) || !colon) continue;
        colon += 1 + (colon[1] == ' ');
        colon[strcspn(colon, "\n")] = '\0';
        snprintf(buf, n, "%s", colon);
        break;
    }
    fclose(f);
}

typedef struct report {
    char cpu[256];
    const char *gemm_backend;
    long cores;
    double load_before, load_after;
    double macs, macs_unshared;
    size_t n_params;
    run_result run[MAX_RUNS];
    int n_runs;
    int b1, cnn;                     /* which parts ran */
    run_result cnn_run[MAX_RUNS];    /* the CNN at the same thread counts (and peaks) */
    double cnn_macs;
    size_t cnn_params;
    int cnn_h, cnn_w, cnn_c;
    const char *data;
    double load_ms;
    int64_t rows, cols;
    epoch_result e1;
} report;

/* The table of one model's runs: macs multiply-adds and `examples` examples per step. */
static void print_runs(const run_result *run, int n, double macs, int examples) {
    printf("threads  step ms (median  min   mean)  examples/s  GFLOP/s  SGEMM peak  GEMM-bound ms  "
           "step / GEMM-bound\n");
    for (int i = 0; i < n; i++) {
        const run_result *u = &run[i];
        double gflops = 2 * macs / (u->median_ms * 1e-3) * 1e-9;
        double bound_ms = 2 * macs / (u->peak_gflops * 1e9) * 1e3;
        printf("%7d  %14.2f %6.2f %6.2f   %10.0f  %7.1f  %10.1f  %13.2f  %17.2f\n", u->threads,
               u->median_ms, u->min_ms, u->mean_ms, examples / (u->median_ms * 1e-3), gflops,
               u->peak_gflops, bound_ms, u->median_ms / bound_ms);
    }
    for (int i = 1; i < n; i++)
        if (run[0].threads == 1)
            printf("speed-up 1 -> %d threads: %.2fx\n", run[i].threads,
                   run[0].median_ms / run[i].median_ms);
}

static void print_report(const report *r) {
    printf("machine: %s, %ld cores, GEMM %s; load average %.2f before, %.2f after\n\n", r->cpu,
           r->cores, r->gemm_backend, r->load_before, r->load_after);
    if (r->b1) {
        printf("B1: M2 on MNIST (784-500-500 softplus, z 50, 10 classes), %d labelled + %d "
               "unlabelled per step, Adam\n", BATCH, BATCH);
        printf("model: %zu parameters; %.3f G multiply-adds per step (%.3f G without the shared "
               "first-layer GEMMs: %.1f%% saved)\n", r->n_params, r->macs * 1e-9,
               r->macs_unshared * 1e-9, 100 * (1 - r->macs / r->macs_unshared));
        print_runs(r->run, r->n_runs, r->macs, 2 * BATCH);
    }
    if (r->cnn) {
        printf("%sCNN step of E4: %s, %dx%dx%d -> %d classes, batch %d, Adam (weight decay as "
               "scratch's default)\n", r->b1 ? "\n" : "", CLI_DEFAULT_ARCH, r->cnn_h, r->cnn_w,
               r->cnn_c, CNN_CLASSES, CNN_BATCH);
        printf("model: %zu parameters; %.3f G multiply-adds per step (forward, weight gradients, "
               "input gradients but the first layer's)\n", r->cnn_params, r->cnn_macs * 1e-9);
        print_runs(r->cnn_run, r->n_runs, r->cnn_macs, CNN_BATCH);
    }
    printf("\nload %s: %lld x %lld in %.0f ms (median of 3): %.0f images/s, %.0f MB as float32\n",
           r->data, (long long)r->rows, (long long)r->cols, r->load_ms, r->rows / (r->load_ms * 1e-3),
           r->rows * r->cols * 4.0 / (1 << 20));
    if (r->e1.ran)
        printf("E1 epoch (genxfer train --preset m2, %d thread(s)): epoch %.1f s, whole run %.1f s "
               "(loading, epoch, validation, test); peak RSS %.0f MB\n", r->e1.threads,
               r->e1.epoch_s, r->e1.wall_s, r->e1.max_rss_mb);
}

/* One model's runs as a JSON array named `name` of j. */
static void add_runs_json(cJSON *j, const char *name, const run_result *run, int n, double macs,
                          int examples) {
    cJSON *runs = cJSON_AddArrayToObject(j, name);
    for (int i = 0; i < n; i++) {
        const run_result *u = &run[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "threads", u->threads);
        cJSON_AddNumberToObject(o, "median_ms", u->median_ms);
        cJSON_AddNumberToObject(o, "min_ms", u->min_ms);
        cJSON_AddNumberToObject(o, "mean_ms", u->mean_ms);
        cJSON_AddNumberToObject(o, "examples_per_s", examples / (u->median_ms * 1e-3));
        cJSON_AddNumberToObject(o, "gflops", 2 * macs / (u->median_ms * 1e-3) * 1e-9);
        cJSON_AddNumberToObject(o, "sgemm_peak_gflops", u->peak_gflops);
        cJSON_AddNumberToObject(o, "gemm_bound_ms", 2 * macs / (u->peak_gflops * 1e9) * 1e3);
        cJSON_AddItemToArray(runs, o);
    }
}

static int write_json(const char *path, const report *r, gx_error *err) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "cpu", r->cpu);
    cJSON_AddStringToObject(j, "gemm_backend", r->gemm_backend);
    cJSON_AddNumberToObject(j, "cores", (double)r->cores);
    cJSON_AddNumberToObject(j, "load_before", r->load_before);
    cJSON_AddNumberToObject(j, "load_after", r->load_after);
    if (r->b1) {
        cJSON_AddNumberToObject(j, "macs_per_step", r->macs);
        cJSON_AddNumberToObject(j, "macs_per_step_unshared", r->macs_unshared);
        cJSON_AddNumberToObject(j, "parameters", (double)r->n_params);
        add_runs_json(j, "runs", r->run, r->n_runs, r->macs, 2 * BATCH);
    }
    if (r->cnn) {
        cJSON *c = cJSON_AddObjectToObject(j, "cnn");
        cJSON_AddStringToObject(c, "arch", CLI_DEFAULT_ARCH);
        cJSON_AddNumberToObject(c, "batch", CNN_BATCH);
        cJSON_AddNumberToObject(c, "macs_per_step", r->cnn_macs);
        cJSON_AddNumberToObject(c, "parameters", (double)r->cnn_params);
        add_runs_json(c, "runs", r->cnn_run, r->n_runs, r->cnn_macs, CNN_BATCH);
    }
    cJSON_AddNumberToObject(j, "load_ms", r->load_ms);
    if (r->e1.ran) {
        cJSON_AddNumberToObject(j, "e1_epoch_s", r->e1.epoch_s);
        cJSON_AddNumberToObject(j, "e1_run_s", r->e1.wall_s);
        cJSON_AddNumberToObject(j, "e1_max_rss_mb", r->e1.max_rss_mb);
    }
    int rc = gx_json_write_file(path, j, err);
    cJSON_Delete(j);
    return rc;
}

int cmd_bench(int argc, char **argv) {
    bench_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc == 3 ? 0 : rc;
    if (cli_parse_only) return 0;
    gx_error err;
    gx_dataset ds;
    gx_dataset_init(&ds);
    gx_split split;
    gx_split_init(&split);
    double *times = NULL;
    float *A = NULL, *B = NULL, *C = NULL;
    static report r;
    memset(&r, 0, sizeof r);
    rc = 1;
    r.load_before = load_average();
    r.data = o.data;
    if (time_load(o.data, &ds, &r.load_ms, &err)) goto fail;
    r.rows = ds.n, r.cols = ds.d;
    if (!ds.y || ds.n_classes < 2) {
        gx_fail(&err, "bench: %s has no labels (the benchmark needs a labelled image set)", o.data);
        goto fail;
    }
    if ((o.cnn || o.export_cnn) && (ds.height < 1 || ds.width < 1 || ds.channels < 1)) {
        gx_fail(&err, "bench: %s holds feature rows, not images (the CNN step needs h x w x c "
                      "images; --only b1 skips it)", o.data);
        goto fail;
    }
    gx_rng split_rng;
    gx_rng_init(&split_rng, (uint64_t)o.seed, GX_STREAM_SPLIT);
    if (gx_split_per_class(&ds, NULL, ds.n, LABELS_PER_CLASS, &split_rng, &split, &err)) goto fail;
    if (o.export_path || o.export_cnn) {
        if (o.export_path ? export_step(&o, &ds, split.take, split.n_take, &err)
                          : export_cnn(&o, &ds, &err))
            goto fail;
        rc = 0;
        goto done;
    }
    size_t nn = (size_t)PEAK_N * PEAK_N;
    if (!(times = gx_malloc(o.steps * sizeof *times, "step times", &err)) ||
        !(A = gx_malloc_aligned(nn * sizeof *A, "SGEMM matrices", &err)) ||
        !(B = gx_malloc_aligned(nn * sizeof *B, "SGEMM matrices", &err)) ||
        !(C = gx_malloc_aligned(nn * sizeof *C, "SGEMM matrices", &err)))
        goto fail;
    for (size_t i = 0; i < nn; i++) A[i] = (float)(i % 7) / 7, B[i] = (float)(i % 5) / 5;
    for (int i = 0; i < o.n_threads; i++) {
        run_result *u = &r.run[r.n_runs++];
        u->threads = o.threads[i];
        gx_set_threads(u->threads);
        u->peak_gflops = sgemm_peak(A, B, C, PEAK_N);
        run_result *v = &r.cnn_run[r.n_runs - 1];
        *v = *u;
        if (o.b1) {
            fprintf(stderr, "genxfer bench: B1, %d thread(s): %ld + %ld steps...\n", u->threads,
                    o.warmup, o.steps);
            if (time_steps(&o, &ds, split.take, split.n_take, times, u, &err)) goto fail;
        }
        if (o.cnn) {
            fprintf(stderr, "genxfer bench: CNN, %d thread(s): %ld + %ld steps...\n", v->threads,
                    o.warmup, o.steps);
            if (time_cnn(&o, &ds, times, v, &err)) goto fail;
        }
        /* again after the steps: on a shared machine one measurement may catch a busy moment */
        const double again = sgemm_peak(A, B, C, PEAK_N);
        if (again > u->peak_gflops) u->peak_gflops = v->peak_gflops = again;
    }
    r.b1 = o.b1, r.cnn = o.cnn;
    if (o.b1) {
        b1 b; /* the model's size and multiply-adds */
        if (b1_init(&b, &ds, split.take, split.n_take, 1, &err)) goto fail;
        r.macs = gx_ssdgm_step_macs(&b.m, 0, BATCH, BATCH, &r.macs_unshared);
        r.n_params = gx_params_count(&b.m.params, true);
        b1_free(&b);
    }
    if (o.cnn) {
        cnn c;
        if (cnn_init(&c, &ds, 1, &err)) goto fail;
        r.cnn_macs = gx_classifier_step_macs(&c.m, CNN_BATCH);
        r.cnn_params = gx_params_count(&c.m.params, true);
        r.cnn_h = ds.height, r.cnn_w = ds.width, r.cnn_c = ds.channels;
        cnn_free(&c);
    }
    gx_dataset_free(&ds); /* the E1 run loads its own */
    if (o.epoch) {
        int t = o.threads[o.n_threads - 1];
        fprintf(stderr, "genxfer bench: one epoch of E1 at %d thread(s)...\n", t);
        if (run_e1_epoch(&o, t, &r.e1, &err)) goto fail;
    }
    cpu_name(r.cpu, sizeof r.cpu);
    r.gemm_backend = gx_gemm_backend();
    r.cores = sysconf(_SC_NPROCESSORS_ONLN);
    r.load_after = load_average();
    print_report(&r);
    if (o.json && write_json(o.json, &r, &err)) goto fail;
    rc = 0;
    goto done;
fail:
    rc = cli_error("%s", err.msg);
done:
    free(times);
    free(A);
    free(B);
    free(C);
    gx_split_free(&split);
    gx_dataset_free(&ds);
    return rc;
}
