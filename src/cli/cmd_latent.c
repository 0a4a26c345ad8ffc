/* genxfer latent: the latent space of a trained model in two dimensions. The latent means of
 * examples from one or more domains are projected onto their first two principal components and
 * drawn as a scatter plot, colour = class, marker = domain; for a DVT model the means of the
 * mixture's components are projected alongside and marked. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/cli_model.h"
#include "core/gemm.h"
#include "core/metrics.h"
#include "core/pca.h"
#include "core/rng.h"
#include "data/readers.h"
#include "io/figure.h"
#include "models/ssdgm_io.h"

#define MAX_SETS 16
#define STREAM_ROWS 64 /* rng stream of the rows drawn from --data number i: STREAM_ROWS + i */

static void usage(FILE *f) {
    fprintf(f,
"usage: genxfer latent MODEL --data DOMAIN=SPEC [--data DOMAIN=SPEC ...] [options]\n\n"
"Draws the latent space of MODEL (a model.safetensors from genxfer train): the means of q(z|x)\n"
"(m2: of q(z|x, argmax y)) for the examples of each SPEC, projected onto the first two principal\n"
"components of all the points together. Colour = class, marker = domain, so one sees whether the\n"
"classes of two domains fall into the same places. For a dvt model the means of the mixture's\n"
"components, p(z|y), are projected too and drawn as stars labelled with their class. (An m2\n"
"model keeps the class in y, not in z: expect its classes to overlap.)\n\n"
"DOMAIN is one of the model's domains (the text before the first '='); SPEC is a dataset spec\n"
"(see `genxfer data --help`) with the features of that domain. It is read like the training\n"
"data: the model's standardisation is applied and labels are matched to its classes by name.\n"
"A point's colour is its label; an example without a label (or every example, with --colour\n"
"predicted) takes the class the model predicts, and the domain's legend entry says which.\n\n"
"options (default in brackets):\n"
"  --data DOMAIN=SPEC  examples to draw; repeat for more domains (at most %d)\n"
"  --out FILE          the figure (PNG); its folder must exist [latent.png]\n"
"  --limit N           at most N examples per --data, drawn at random; 0 = all [1000]\n"
"  --seed N            seed of that draw [1]\n"
"  --colour C          true | predicted: colour by the label, or by the predicted class [true]\n"
"  --npy FILE          also write the 2-D coordinates, float32 [n, 2], rows in the order of the\n"
"                      --data options and, within one, of the dataset (the latent means\n"
"                      themselves, [n, z]: genxfer predict --latent) [none]\n"
"  --no-means          dvt: leave out the component means (they count in the axes' range, which\n"
"                      is wide when they lie far from the data, e.g. early in training)\n"
"  --title TEXT        the figure's title [latent space of MODEL (preset, z size)]\n"
"  --threads N         threads [all cores]\n"
"  -h, --help          this text\n\n"
"Example (DVT from MNIST to USPS):\n"
"  genxfer latent runs/demo/model.safetensors --data mnist=mnist:test \\\n"
"      --data usps=usps:test,resize=20x20,pad=4 --out runs/demo/latent.png\n\n"
"exit status: 0 success, 1 error (a file or spec that cannot be read, an unknown domain), 2 usage\n"
"error\n",
            MAX_SETS);
}

/* One --data option and what is drawn of it. */
typedef struct latent_set {
    char domain[GX_NAME_MAX];
    const char *spec;     /* after the '=' of the argument */
    int d;                /* the model's domain index */
    int64_t n_read, n;    /* examples in SPEC, examples drawn */
    int64_t n_labelled;   /* drawn examples coloured by their label */
    float *mu;            /* [n, z] latent means */
    int32_t *cls;         /* [n] colour: the label, else the predicted class */
    char legend[GX_NAME_MAX + 1100];
} latent_set;

typedef struct latent_opts {
    const char *model, *out, *npy, *title;
    latent_set set[MAX_SETS];
    int n_sets;
    long limit, seed;
    int by_prediction; /* --colour predicted */
    int no_means;      /* --no-means */
} latent_opts;

static void free_sets(latent_opts *o) {
    for (int i = 0; i < o->n_sets; i++) {
        free(o->set[i].mu);
        free(o->set[i].cls);
    }
}

/* ---- the command line ---------------------------------------------------------------------- */

/* DOMAIN=SPEC -> s->domain, s->spec. 0, or 1 after printing an error. */
static int split_data_arg(const char *arg, latent_set *s) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return cli_error("latent --data: '%s' is not DOMAIN=SPEC (e.g. usps=usps:test)", arg);
    if ((size_t)(eq - arg) >= sizeof s->domain)
        return cli_error("latent --data: '%.*s' is too long for a domain name", (int)(eq - arg), arg);
    memset(s, 0, sizeof *s);
    memcpy(s->domain, arg, (size_t)(eq - arg));
    s->spec = eq + 1;
    return 0;
}

/* 0 on success, 1 error, 2 usage error, 3 --help shown. */
static int parse_args(int argc, char **argv, latent_opts *o) {
    static const struct option longopts[] = {
        {"data", required_argument, 0, 'D'},  {"out", required_argument, 0, 'o'},
        {"limit", required_argument, 0, 'n'}, {"seed", required_argument, 0, 's'},
        {"colour", required_argument, 0, 'c'}, {"npy", required_argument, 0, 'y'},
        {"title", required_argument, 0, 'T'}, {"threads", required_argument, 0, 't'},
        {"no-means", no_argument, 0, 'M'},    {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->out = "latent.png";
    o->limit = 1000;
    o->seed = 1;
    optind = 1;
    opterr = 0;
    int c;
    long v;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 3;
        case 'D':
            if (o->n_sets == MAX_SETS) return cli_error("latent --data: at most %d", MAX_SETS);
            if (split_data_arg(optarg, &o->set[o->n_sets])) return 1;
            o->n_sets++;
            break;
        case 'o': o->out = optarg; break;
        case 'y': o->npy = optarg; break;
        case 'T': o->title = optarg; break;
        case 'M': o->no_means = 1; break;
        case 'n': if (cli_parse_int("latent", "--limit", optarg, 0, 1000000000L, &o->limit)) return 1; break;
        case 's': if (cli_parse_int("latent", "--seed", optarg, 0, 2147483647L, &o->seed)) return 1; break;
        case 'c':
            if (strcmp(optarg, "true") && strcmp(optarg, "predicted"))
                return cli_error("latent --colour: '%s' (expected true or predicted)", optarg);
            o->by_prediction = !strcmp(optarg, "predicted");
            break;
        case 't':
            if (cli_parse_int("latent", "--threads", optarg, 1, 1024, &v)) return 1;
            gx_set_threads((int)v);
            break;
        case ':': return cli_usage_error("latent", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_option_error("latent", argv[optind - 1], longopts);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("latent", argc == optind ? "expected MODEL" : "expected one MODEL, got %d",
                               argc - optind);
    if (o->n_sets == 0) return cli_usage_error("latent", "no --data DOMAIN=SPEC given");
    o->model = argv[optind];
    return 0;
}

/* The folder of the file `path` exists. 0, or 1 after printing an error. */
static int check_folder_of(const char *path, const char *opt) {
    const char *slash = strrchr(path, '/');
    if (!slash) return 0;
    char dir[1024];
    snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cli_error("latent %s %s: no such folder '%s'", opt, path, dir);
    return 0;
}

/* ---- the points ---------------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Keeps `limit` rows of ds drawn at random (all when limit is 0 or ds is no larger), in their
 * order in ds. */
static int draw_rows(gx_dataset *ds, int64_t limit, gx_rng *rng, gx_error *err) {
    if (limit == 0 || ds->n <= limit) return 0;
    int64_t *idx = gx_malloc((size_t)ds->n * sizeof *idx, "row indices", err);
    if (!idx) return -1;
    for (int64_t i = 0; i < ds->n; i++) idx[i] = i;
    for (int64_t i = 0; i < limit; i++) { /* the first `limit` steps of a Fisher-Yates shuffle */
        int64_t j = i + (int64_t)(gx_rng_u64(rng) % (uint64_t)(ds->n - i));
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    qsort(idx, (size_t)limit, sizeof *idx, cmp_i64);
    gx_dataset sub;
    gx_dataset_init(&sub);
    int rc = gx_dataset_subset(&sub, ds, idx, limit, err);
    free(idx);
    if (rc) return -1;
    gx_dataset_free(ds);
    *ds = sub;
    return 0;
}

/* The colour of each row: its label, else (or always, with by_prediction) the argmax of P. */
static int colour_rows(latent_set *s, const gx_dataset *ds, const float *P, int K,
                       int by_prediction, gx_error *err) {
    if (!(s->cls = gx_malloc((size_t)ds->n * sizeof *s->cls, "classes", err))) return -1;
    gx_argmax_rows(P, ds->n, K, s->cls);
    s->n_labelled = 0;
    for (int64_t i = 0; ds->y && !by_prediction && i < ds->n; i++)
        if (ds->y[i] != GX_UNLABELLED) {
            s->cls[i] = ds->y[i];
            s->n_labelled++;
        }
    return 0;
}

/* Reads s->spec for domain s->d, draws its rows and computes their latent means and colours. */
static int load_set(gx_ssdgm *m, const gx_model_info *info, latent_set *s, const latent_opts *o,
                    int index, gx_error *err) {
    gx_dataset ds;
    gx_dataset_init(&ds);
    float *P = NULL;
    gx_rng rng;
    gx_rng_init(&rng, (uint64_t)o->seed, STREAM_ROWS + (uint64_t)index);
    int rc = -1;
    if (cli_load_for_model(m, info, s->d, s->spec, 1, &ds, err)) goto done;
    s->n_read = ds.n;
    if (ds.n == 0) {
        gx_fail(err, "%s: no examples", s->spec);
        goto done;
    }
    if (draw_rows(&ds, o->limit, &rng, err) || cli_predict(m, info, s->d, &ds, &P, &s->mu, err) ||
        colour_rows(s, &ds, P, m->cfg.n_classes, o->by_prediction, err))
        goto done;
    s->n = ds.n;
    rc = 0;
done:
    free(P);
    gx_dataset_free(&ds);
    return rc;
}

/* What the colours of a set's points are. */
static const char *colour_words(const latent_set *s) {
    return s->n_labelled == s->n ? "true class"
           : s->n_labelled == 0  ? "predicted class"
                                 : "true class, else predicted";
}

/* The legend entry of each set: its domain (with its spec when the domain is drawn more than
 * once) and what its colours are. */
static void name_sets(latent_opts *o) {
    for (int i = 0; i < o->n_sets; i++) {
        latent_set *s = &o->set[i];
        int repeated = 0;
        for (int j = 0; j < o->n_sets; j++) repeated += j != i && o->set[j].d == s->d;
        if (repeated)
            snprintf(s->legend, sizeof s->legend, "%s %s (%s)", s->domain, s->spec,
                     colour_words(s));
        else
            snprintf(s->legend, sizeof s->legend, "%s (%s)", s->domain, colour_words(s));
    }
}

/* All the points together: MU [N, z], class and set of each row. */
typedef struct latent_points {
    int64_t n;
    float *mu;
    int32_t *cls, *set;
} latent_points;

static int stack_sets(const latent_opts *o, int z, latent_points *pts, gx_error *err) {
    memset(pts, 0, sizeof *pts);
    for (int i = 0; i < o->n_sets; i++) pts->n += o->set[i].n;
    pts->mu = gx_malloc((size_t)pts->n * z * sizeof(float), "latent means", err);
    pts->cls = gx_malloc((size_t)pts->n * sizeof(int32_t), "classes", err);
    pts->set = gx_malloc((size_t)pts->n * sizeof(int32_t), "domains", err);
    if (!pts->mu || !pts->cls || !pts->set) return -1;
    int64_t r = 0;
    for (int i = 0; i < o->n_sets; i++) {
        const latent_set *s = &o->set[i];
        memcpy(pts->mu + r * z, s->mu, (size_t)s->n * z * sizeof(float));
        memcpy(pts->cls + r, s->cls, (size_t)s->n * sizeof(int32_t));
        for (int64_t k = 0; k < s->n; k++) pts->set[r + k] = i;
        r += s->n;
    }
    return 0;
}

static void free_points(latent_points *pts) {
    free(pts->mu);
    free(pts->cls);
    free(pts->set);
}

/* ---- the figure ---------------------------------------------------------------------------- */

/* xy [n, 2] -> x [n], y [n] (malloc'd together: x is the block, y = x + n). */
static float *split_columns(const float *xy, int64_t n, gx_error *err) {
    float *x = gx_malloc((size_t)(2 * n) * sizeof(float), "coordinates", err);
    if (!x) return NULL;
    for (int64_t i = 0; i < n; i++) {
        x[i] = xy[2 * i];
        x[n + i] = xy[2 * i + 1];
    }
    return x;
}

/* "latent space of runs/demo/model.safetensors (dvt, z = 50)", the path cut to its last two
 * components. */
static void default_title(const latent_opts *o, const gx_ssdgm *m, char *buf, size_t n) {
    const char *p = o->model, *last = strrchr(p, '/');
    if (last && last != p) {
        const char *q = last - 1;
        while (q > p && q[-1] != '/') q--;
        p = q;
    }
    snprintf(buf, n, "latent space of %s (%s, z = %d)", p, gx_preset_name(m->cfg.preset),
             m->cfg.z_dim);
}

/* The PNG: the projected points P [N, 2], and for dvt the projected component means C [K, 2]
 * (C NULL: none). */
static int draw_figure(const latent_opts *o, const gx_ssdgm *m, const gx_model_info *info,
                       const gx_pca *pca, const latent_points *pts, const float *P,
                       const float *C, gx_error *err) {
    float *xy = split_columns(P, pts->n, err), *cxy = NULL;
    if (!xy || (C && !(cxy = split_columns(C, m->cfg.n_classes, err)))) {
        free(xy);
        return -1;
    }
    int32_t cls_of_mark[GX_MAX_CLASSES];
    for (int k = 0; k < m->cfg.n_classes; k++) cls_of_mark[k] = k;
    gx_scatter_marks marks = {cxy, cxy ? cxy + m->cfg.n_classes : NULL, m->cfg.n_classes,
                              cls_of_mark, (const char *const *)info->class_names,
                              "component means"};
    const char *names[MAX_SETS];
    for (int i = 0; i < o->n_sets; i++) names[i] = o->set[i].legend;
    char title[1200], xlabel[64], ylabel[64];
    if (o->title) snprintf(title, sizeof title, "%s", o->title);
    else default_title(o, m, title, sizeof title);
    double tv = pca->total_variance > 0 ? pca->total_variance : 1;
    snprintf(xlabel, sizeof xlabel, "PC1 (%.1f%% of variance)", 100 * pca->variance[0] / tv);
    snprintf(ylabel, sizeof ylabel, "PC2 (%.1f%% of variance)", 100 * pca->variance[1] / tv);
    int rc = gx_scatter_marked_png(o->out, xy, xy + pts->n, pts->n, pts->cls, m->cfg.n_classes,
                                   (const char *const *)info->class_names, pts->set, o->n_sets,
                                   names, cxy ? &marks : NULL, title, xlabel, ylabel, err);
    free(xy);
    free(cxy);
    return rc;
}

/* Projects the points (P [N, 2]) and, with_means, the mixture means (*C [K, 2], else NULL). */
static int project(const gx_ssdgm *m, const latent_points *pts, int with_means, gx_pca *pca,
                   float **P, float **C, gx_error *err) {
    int z = m->cfg.z_dim, K = m->cfg.n_classes;
    *P = *C = NULL;
    if (gx_pca_fit(pca, pts->mu, pts->n, z, 2, err) ||
        !(*P = gx_malloc((size_t)pts->n * 2 * sizeof(float), "coordinates", err)) ||
        gx_pca_project(pca, pts->mu, pts->n, *P, err))
        return -1;
    if (!with_means) return 0;
    if (!(*C = gx_malloc((size_t)K * 2 * sizeof(float), "component coordinates", err))) return -1;
    return gx_pca_project(pca, gx_params_value(&m->params, m->prior_mu), K, *C, err);
}

/* ---- the command ---------------------------------------------------------------------------- */

/* Finds every set's domain in the model, then reads them. 0, or 1 after printing an error. */
static int load_sets(gx_ssdgm *m, const gx_model_info *info, latent_opts *o) {
    gx_error err;
    for (int i = 0; i < o->n_sets; i++)
        if ((o->set[i].d = gx_ssdgm_domain_index(m, o->set[i].domain, &err)) < 0)
            return cli_error("%s: --data %s=...: %s", o->model, o->set[i].domain, err.msg);
    for (int i = 0; i < o->n_sets; i++) {
        latent_set *s = &o->set[i];
        if (load_set(m, info, s, o, i, &err)) return cli_error("%s", err.msg);
    }
    name_sets(o);
    return 0;
}

static void print_summary(const latent_opts *o, const gx_ssdgm *m, const gx_pca *pca, int64_t n,
                          int with_means) {
    for (int i = 0; i < o->n_sets; i++) {
        const latent_set *s = &o->set[i];
        printf("%s: %lld of %lld examples of %s, colour: %s\n", s->domain, (long long)s->n,
               (long long)s->n_read, s->spec, colour_words(s));
    }
    double tv = pca->total_variance > 0 ? pca->total_variance : 1;
    printf("PCA of %lld latent means (z = %d): PC1 %.1f%%, PC2 %.1f%% of the variance\n",
           (long long)n, m->cfg.z_dim, 100 * pca->variance[0] / tv, 100 * pca->variance[1] / tv);
    if (with_means)
        printf("figure: %s (with the %d component means)\n", o->out, m->cfg.n_classes);
    else
        printf("figure: %s\n", o->out);
    if (o->npy) printf("coordinates: %s [%lld, 2]\n", o->npy, (long long)n);
}

/* Everything after the model is loaded. 0, or 1 after printing an error. */
static int run_latent(latent_opts *o, gx_ssdgm *m, const gx_model_info *info) {
    if (m->cfg.z_dim < 2)
        return cli_error("%s: the latent space has %d dimension; a 2-D projection needs 2",
                         o->model, m->cfg.z_dim);
    if (load_sets(m, info, o)) return 1;
    gx_error err;
    latent_points pts;
    gx_pca pca;
    memset(&pca, 0, sizeof pca);
    float *P = NULL, *C = NULL;
    int rc = 1;
    if (stack_sets(o, m->cfg.z_dim, &pts, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    if (pts.n < 2) {
        cli_error("latent: %lld example in all; a projection needs at least 2", (long long)pts.n);
        goto done;
    }
    int64_t shape[2] = {pts.n, 2};
    int with_means = m->cfg.preset == GX_PRESET_DVT && !o->no_means;
    if (project(m, &pts, with_means, &pca, &P, &C, &err) || draw_figure(o, m, info, &pca, &pts, P, C, &err) ||
        (o->npy && gx_npy_write(o->npy, GX_NPY_F32, 2, shape, P, &err))) {
        cli_error("%s", err.msg);
        goto done;
    }
    print_summary(o, m, &pca, pts.n, with_means);
    rc = 0;
done:
    gx_pca_free(&pca);
    free(P);
    free(C);
    free_points(&pts);
    return rc;
}

int cmd_latent(int argc, char **argv) {
    latent_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc == 3 ? 0 : rc;
    if (cli_parse_only) return 0;
    if (check_folder_of(o.out, "--out") || (o.npy && check_folder_of(o.npy, "--npy"))) return 1;
    gx_ssdgm m;
    gx_model_info info;
    gx_error err;
    if (gx_ssdgm_load(o.model, &m, &info, &err)) return cli_error("%s", err.msg);
    rc = run_latent(&o, &m, &info);
    free_sets(&o);
    gx_ssdgm_free(&m);
    gx_model_info_free(&info);
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) rc = cli_error("cannot write to stdout");
    return rc;
}
