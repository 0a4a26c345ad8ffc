/* genxfer translate: cross-domain translation with a trained DVT model. Rows of one domain are
 * encoded to the mean of q(z|x) in the latent space that all domains share and decoded by another
 * domain's output block (gx_ssdgm_translate): a PNG grid when the target domain holds grayscale
 * images, else a CSV in the target's original units. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_model.h"
#include "core/gemm.h"
#include "io/atomic_file.h"
#include "io/figure.h"
#include "models/ssdgm_io.h"

#define CHUNK 500       /* rows per gx_ssdgm_translate call (the workspace's size) */
#define PER_ROW 8       /* examples per row of the PNG */
#define MAX_FIGURE 1000 /* examples a PNG may hold */

static void usage(FILE *f) {
    fprintf(f,
"usage: genxfer translate MODEL --from A --to B SPEC [options]\n\n"
"Cross-domain translation with MODEL, a dvt model (genxfer train --preset dvt): each example of\n"
"SPEC, data of domain A, is encoded to the mean of q(z|x) in the latent space the domains share\n"
"and decoded by domain B's output block (the mean of its likelihood: probabilities for a\n"
"Bernoulli domain). SPEC is read as A's training data were (like genxfer predict): the model's\n"
"training options complete it, CSV columns are matched by name, the model's standardisation is\n"
"applied; labels, when SPEC has them (e.g. label=COLUMN), are matched to the model's classes by\n"
"name and only label the output. The first N rows of SPEC are translated.\n\n"
"Output, by domain B:\n"
"  grayscale images  a PNG grid, the examples grouped by class (in row order within a class), %d\n"
"                    to a row labelled with the class; when A holds images of B's size too, each\n"
"                    example is a pair: the image in A, then its translation in B\n"
"  features          a CSV: label (the class name; only when SPEC has labels), then B's columns\n"
"                    (its training data's names, else x0, x1, ...), in B's original units (the\n"
"                    standardisation undone); FILE - is standard output\n\n"
"options (default in brackets):\n"
"  --from A       the domain of SPEC (required)\n"
"  --to B         the domain to translate into (required)\n"
"  --n N          translate the first N rows of SPEC; 0 = all (a PNG holds at most %d) [64]\n"
"  --out FILE     [translation.png for images, translation.csv otherwise]\n"
"  --threads N    threads [all cores]\n"
"  -h, --help     this text\n\n"
"Example (DVT from MNIST to USPS):\n"
"  genxfer translate runs/demo/model.safetensors --from mnist --to usps mnist:test\n\n"
"exit status: 0 success, 1 error (a model that is not dvt, an unknown domain, a spec that cannot\n"
"be read or does not fit domain A), 2 usage error\n",
            PER_ROW, MAX_FIGURE);
}

typedef struct translate_opts {
    const char *model, *spec, *from, *to, *out;
    long n;
} translate_opts;

/* 0 on success, 1 error, 2 usage error, 3 --help shown. */
static int parse_args(int argc, char **argv, translate_opts *o) {
    static const struct option longopts[] = {
        {"from", required_argument, 0, 'f'}, {"to", required_argument, 0, 'T'},
        {"n", required_argument, 0, 'n'},    {"out", required_argument, 0, 'o'},
        {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->n = 64;
    optind = 1;
    opterr = 0;
    int c;
    long v;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 3;
        case 'f': o->from = optarg; break;
        case 'T': o->to = optarg; break;
        case 'o': o->out = optarg; break;
        case 'n': if (cli_parse_int("translate", "--n", optarg, 0, 1000000000L, &o->n)) return 1; break;
        case 't':
            if (cli_parse_int("translate", "--threads", optarg, 1, 1024, &v)) return 1;
            gx_set_threads((int)v);
            break;
        case ':': return cli_usage_error("translate", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_option_error("translate", argv[optind - 1], longopts);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("translate", "expected MODEL and SPEC, got %d argument%s",
                               argc - optind, argc - optind == 1 ? "" : "s");
    if (!o->from || !o->to)
        return cli_usage_error("translate", "%s", !o->from && !o->to ? "--from and --to are required"
                                                  : !o->from           ? "--from is required"
                                                                       : "--to is required");
    o->model = argv[optind];
    o->spec = argv[optind + 1];
    return 0;
}

/* ---- the translations ----------------------------------------------------------------------- */

/* Rows X [n, d] of domain `dom` back in the units of its training data (standardisation undone;
 * nothing to do for a domain without one). */
static void original_units(const gx_model_info *info, int dom, float *X, int64_t n, int d) {
    if (!info->prep_mean[dom]) return;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            X[i * d + j] = X[i * d + j] * info->prep_std[dom][j] + info->prep_mean[dom][j];
}

/* The first n rows of ds (domain a) translated into domain b: *OUT [n, n_b], malloc'd, in b's
 * original units. */
static int translate_rows(gx_ssdgm *m, const gx_model_info *info, int a, int b,
                          const gx_dataset *ds, int64_t n, float **OUT, gx_error *err) {
    const int na = m->cfg.dom[a].n_in, nb = m->cfg.dom[b].n_in;
    const int chunk = n < CHUNK ? (int)n : CHUNK;
    gx_ssdgm_ws ws;
    memset(&ws, 0, sizeof ws);
    if (gx_ssdgm_ws_alloc(&ws, m, chunk, 0, err)) return -1;
    if (!(*OUT = gx_malloc((size_t)n * nb * sizeof(float), "translations", err))) {
        gx_ssdgm_ws_free(&ws);
        return -1;
    }
    /* y NULL: a y-dependent latent head takes the predicted class, so that a translation depends
     * on x alone, labelled or not */
    for (int64_t i = 0; i < n; i += chunk) {
        const int rows = n - i < chunk ? (int)(n - i) : chunk;
        gx_ssdgm_translate(m, &ws, a, b, ds->x + i * na, rows, NULL, *OUT + i * nb);
    }
    gx_ssdgm_ws_free(&ws);
    original_units(info, b, *OUT, n, nb);
    return 0;
}

/* ---- the CSV -------------------------------------------------------------------------------- */

/* s as one CSV field, quoted when it holds a comma, a quote, CR or LF (RFC 4180). */
static void csv_field(gx_atomic_file *af, const char *s, gx_error *err) {
    if (!strpbrk(s, ",\"\r\n")) {
        gx_atomic_printf(af, err, "%s", s);
        return;
    }
    gx_atomic_write(af, "\"", 1, err);
    for (const char *p = s; *p; p++) {
        if (*p == '"') gx_atomic_write(af, "\"", 1, err);
        gx_atomic_write(af, p, 1, err);
    }
    gx_atomic_write(af, "\"", 1, err);
}

/* label (with labels), then B's columns; a row per translation. Write errors are sticky: the
 * commit reports the first. */
static int write_csv(const char *out, const gx_ssdgm *m, const gx_model_info *info, int b,
                     const gx_dataset *ds, const float *T, int64_t n, gx_error *err) {
    const int nb = m->cfg.dom[b].n_in;
    char **names = info->feature_names[b] && info->n_features[b] == nb ? info->feature_names[b]
                                                                        : NULL;
    gx_atomic_file *af;
    if (gx_atomic_open(out, &af, err)) return -1;
    if (ds->y) gx_atomic_printf(af, err, "label");
    for (int j = 0; j < nb; j++) {
        if (ds->y || j) gx_atomic_printf(af, err, ",");
        if (names) csv_field(af, names[j], err);
        else gx_atomic_printf(af, err, "x%d", j);
    }
    gx_atomic_printf(af, err, "\n");
    for (int64_t i = 0; i < n; i++) {
        if (ds->y && ds->y[i] >= 0) csv_field(af, info->class_names[ds->y[i]], err);
        for (int j = 0; j < nb; j++)
            gx_atomic_printf(af, err, ds->y || j ? ",%.6g" : "%.6g", (double)T[i * nb + j]);
        gx_atomic_printf(af, err, "\n");
    }
    return gx_atomic_commit(af, err);
}

/* ---- the PNG -------------------------------------------------------------------------------- */

static int is_gray_image(const gx_domain_config *dc) {
    return dc->height > 0 && dc->width > 0 && dc->channels == 1;
}

/* The order of the examples in the figure: by class (the model's order; unlabelled rows last),
 * row order within a class. */
static void figure_order(const gx_dataset *ds, int64_t n, int K, int64_t *order) {
    int64_t got = 0;
    for (int k = 0; k < K && ds->y; k++)
        for (int64_t i = 0; i < n; i++)
            if (ds->y[i] == k) order[got++] = i;
    for (int64_t i = 0; i < n; i++)
        if (!ds->y || ds->y[i] < 0 || ds->y[i] >= K) order[got++] = i;
}

/* The grid: rows of up to PER_ROW examples of one class each (the cells a row does not fill are
 * white, the background's colour); an example is its image in A and its translation (pairs), or
 * the translation alone. */
static int write_png(const char *out, const gx_ssdgm *m, const gx_model_info *info, int a, int b,
                     const gx_dataset *ds, const float *T, int64_t n, gx_error *err) {
    const gx_domain_config *da = &m->cfg.dom[a], *db = &m->cfg.dom[b];
    const int hw = db->height * db->width, K = m->cfg.n_classes;
    const int pairs = is_gray_image(da) && da->height == db->height && da->width == db->width;
    const int per = pairs ? 2 : 1, cols = PER_ROW * per;
    int rc = -1, n_rows = 0;
    int64_t *order = gx_malloc((size_t)n * sizeof *order, "figure order", err);
    /* at most one more row per class than n / PER_ROW (a class's last row may not be full) */
    const int64_t max_rows = n / PER_ROW + K + 1;
    float *grid = NULL, *src = NULL;
    const float **rows = NULL;
    const char **labels = NULL;
    const char **col_labels = NULL;
    if (!order ||
        !(grid = gx_malloc((size_t)max_rows * cols * hw * sizeof *grid, "figure", err)) ||
        !(rows = gx_malloc((size_t)max_rows * sizeof *rows, "figure rows", err)) ||
        !(labels = gx_calloc((size_t)max_rows, sizeof *labels, "row labels", err)) ||
        (pairs && !(col_labels = gx_calloc((size_t)cols, sizeof *col_labels, "column labels", err))) ||
        (pairs && !(src = gx_malloc((size_t)n * hw * sizeof *src, "source images", err))))
        goto done;
    if (pairs) { /* A's images as they were read, before the standardisation */
        memcpy(src, ds->x, (size_t)n * hw * sizeof *src);
        original_units(info, a, src, n, hw);
        for (int c = 0; c < cols; c++) col_labels[c] = c % 2 ? db->name : da->name;
    }
    for (size_t i = 0; i < (size_t)max_rows * cols * hw; i++) grid[i] = 1.0f;
    figure_order(ds, n, K, order);
    int col = PER_ROW; /* examples in the current row: the first example starts a row */
    int32_t row_class = 0;
    for (int64_t e = 0; e < n; e++) {
        const int64_t i = order[e];
        const int32_t k = ds->y && ds->y[i] >= 0 && ds->y[i] < K ? ds->y[i] : -1;
        if (col == PER_ROW || k != row_class) { /* a new row: full, or another class */
            rows[n_rows] = grid + (size_t)n_rows * cols * hw;
            labels[n_rows] = k >= 0 ? info->class_names[k] : NULL;
            n_rows++;
            col = 0;
            row_class = k;
        }
        float *cell = grid + ((size_t)(n_rows - 1) * cols + (size_t)col * per) * hw;
        if (pairs) memcpy(cell, src + i * hw, (size_t)hw * sizeof *cell);
        memcpy(cell + (per - 1) * hw, T + i * hw, (size_t)hw * sizeof *cell);
        col++;
    }
    char title[256];
    snprintf(title, sizeof title, "dvt translations, domain %s -> %s", da->name, db->name);
    if (db->lik != GX_LIK_BERNOULLI || (pairs && da->lik != GX_LIK_BERNOULLI))
        fprintf(stderr, "genxfer: note: domain %s is not in [0,1]; values are clipped\n",
                db->lik != GX_LIK_BERNOULLI ? db->name : da->name);
    rc = gx_image_grid_labelled_png(out, rows, n_rows, cols, db->height, db->width,
                                    ds->y ? labels : NULL, col_labels, title, 0, err);
done:
    free(col_labels);
    free(labels);
    free(rows);
    free(src);
    free(grid);
    free(order);
    return rc;
}

/* ---- the command ---------------------------------------------------------------------------- */

/* Everything after the model is loaded. 0, or 1 after printing an error. */
static int run_translate(const translate_opts *o, gx_ssdgm *m, const gx_model_info *info) {
    gx_error err;
    if (m->cfg.preset != GX_PRESET_DVT)
        return cli_error("%s: a %s model cannot translate (translation needs a dvt model: domains "
                         "with their own output blocks around one shared latent space)",
                         o->model, gx_preset_name(m->cfg.preset));
    int a = gx_ssdgm_domain_index(m, o->from, &err);
    if (a < 0) return cli_error("%s: --from %s: %s", o->model, o->from, err.msg);
    int b = gx_ssdgm_domain_index(m, o->to, &err);
    if (b < 0) return cli_error("%s: --to %s: %s", o->model, o->to, err.msg);
    if (a == b)
        return cli_error("%s: --from and --to are both domain %s (translation goes from one "
                         "domain to another)", o->model, m->cfg.dom[a].name);
    const gx_domain_config *db = &m->cfg.dom[b];
    const int image = is_gray_image(db);
    const char *out = o->out ? o->out : image ? "translation.png" : "translation.csv";
    if (image && !strcmp(out, "-"))
        return cli_error("translate --out -: domain %s holds images and gives a PNG; name a file",
                         db->name);
    gx_dataset ds;
    gx_dataset_init(&ds);
    float *T = NULL;
    int rc = 1;
    if (cli_load_for_model(m, info, a, o->spec, 0, &ds, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    if (ds.n == 0) {
        cli_error("%s: no examples", o->spec);
        goto done;
    }
    int64_t n = o->n == 0 || o->n > ds.n ? ds.n : o->n;
    if (image && n > MAX_FIGURE) {
        cli_error("translate: %lld examples do not fit in a figure (at most %d: --n)", (long long)n,
                  MAX_FIGURE);
        goto done;
    }
    if (translate_rows(m, info, a, b, &ds, n, &T, &err) ||
        (image ? write_png(out, m, info, a, b, &ds, T, n, &err)
               : write_csv(out, m, info, b, &ds, T, n, &err))) {
        cli_error("%s", err.msg);
        goto done;
    }
    fprintf(cli_status_stream(out), "wrote %lld translations of %s from domain %s to %s to %s\n",
            (long long)n, o->spec, m->cfg.dom[a].name, db->name, out);
    rc = 0;
done:
    free(T);
    gx_dataset_free(&ds);
    return rc;
}

int cmd_translate(int argc, char **argv) {
    translate_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc == 3 ? 0 : rc;
    if (cli_parse_only) return 0;
    gx_ssdgm m;
    gx_model_info info;
    gx_error err;
    if (gx_ssdgm_load(o.model, &m, &info, &err)) return cli_error("%s", err.msg);
    rc = run_translate(&o, &m, &info);
    gx_ssdgm_free(&m);
    gx_model_info_free(&info);
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) rc = cli_error("cannot write to stdout");
    return rc;
}
