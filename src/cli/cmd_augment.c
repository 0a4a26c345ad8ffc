/* genxfer augment SPEC: a PNG preview of the weak and strong augmentations (data/augment.h) of the
 * first examples of a dataset: one row per example, the original, then weak views, then strong. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "data/augment.h"
#include "data/spec.h"
#include "io/figure.h"

#define MAX_VIEWS 20

static void usage(FILE *f) {
    fprintf(f,
"usage: genxfer augment SPEC [options]\n\n"
"Writes a PNG preview of the augmentations that P-SSL (FixMatch) trains with: one row per example\n"
"of SPEC (its first rows), the original, then weak views (a random translation and, with --flip,\n"
"a mirror), then strong views (weak, then random RandAugment-like operations with random\n"
"magnitudes: rotate, shear, translate, contrast, brightness, sharpness, posterize, solarize,\n"
"equalize, autocontrast; then a cutout). SPEC must hold grayscale images with values in [0,1].\n\n"
"options (default in brackets):\n"
"  --n N           examples, the first N rows of SPEC [8]\n"
"  --weak N        weak views per example [3]\n"
"  --strong N      strong views per example [4]\n"
"  --shift N       weak: translation by up to N pixels on each axis [2]\n"
"  --flip          weak: mirror left-right with probability 1/2 [off]\n"
"  --strong-ops N  strong: random operations per view [2]\n"
"  --cutout N      strong: side of the cutout square, 0 = none [half the shorter image side]\n"
"  --seed N        [1]\n"
"  --out FILE      [augment.png]\n"
"  --help          this text\n");
}

/* One option value of the command. */
static int parse(const char *opt, long lo, long hi, long *v) {
    return cli_parse_int("augment", opt, optarg, lo, hi, v);
}

int cmd_augment(int argc, char **argv) {
    static const struct option longopts[] = {
        {"n", required_argument, 0, 'n'},          {"weak", required_argument, 0, 'w'},
        {"strong", required_argument, 0, 'S'},     {"shift", required_argument, 0, 's'},
        {"flip", no_argument, 0, 'f'},             {"strong-ops", required_argument, 0, 'k'},
        {"cutout", required_argument, 0, 'c'},     {"seed", required_argument, 0, 'r'},
        {"out", required_argument, 0, 'o'},        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *out = "augment.png";
    long n = 8, n_weak = 3, n_strong = 4, shift = 2, flip = 0, n_ops = 2, cutout = -1, seed = 1;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'o': out = optarg; break;
        case 'f': flip = 1; break;
        case 'n': bad = parse("--n", 1, 100, &n); break;
        case 'w': bad = parse("--weak", 0, MAX_VIEWS, &n_weak); break;
        case 'S': bad = parse("--strong", 0, MAX_VIEWS, &n_strong); break;
        case 's': bad = parse("--shift", 0, 1000, &shift); break;
        case 'k': bad = parse("--strong-ops", 0, 10, &n_ops); break;
        case 'c': bad = parse("--cutout", 0, 100000, &cutout); break;
        case 'r': bad = parse("--seed", 0, 2147483647L, &seed); break;
        default: return cli_option_error("augment", argv[optind - 1], longopts);
        }
        if (bad) return 1;
    }
    if (argc - optind != 1) return cli_usage_error("augment", "expected one SPEC");
    const char *spec = argv[optind];
    if (cli_parse_only) return 0;

    gx_dataset ds;
    gx_dataset_init(&ds);
    gx_error err;
    int rc = 1;
    float *grid = NULL, *views = NULL, *scratch = NULL;
    const float **rows = NULL;
    char **labels = NULL;
    if (gx_spec_load(spec, &ds, &err)) { cli_error("%s", err.msg); goto done; }
    int h = ds.height, w = ds.width, ch = ds.channels;
    if (h <= 0 || w <= 0) {
        cli_error("%s: not images (%lld features per row; give image=HxW for a table of pixels)",
                  spec, (long long)ds.d);
        goto done;
    }
    if (ch != 1) {
        cli_error("%s: images of %d channels; the preview draws grayscale images only", spec, ch);
        goto done;
    }
    int64_t bad = gx_dataset_find_outside_unit(&ds);
    if (bad >= 0) {
        cli_error("%s: value %g (row %lld) is outside [0, 1]; augmentation expects images in [0, 1] "
                  "(e.g. scale=1/255)", spec, ds.x[bad], (long long)(bad / ds.d));
        goto done;
    }
    if (ds.n < 1) { cli_error("%s: no rows", spec); goto done; }
    if (n > ds.n) n = ds.n;
    gx_augment_opts opts;
    gx_augment_opts_default(&opts, h, w);
    opts.shift = (int)shift;
    opts.flip = (int)flip;
    opts.n_ops = (int)n_ops;
    if (cutout >= 0) opts.cutout = (int)cutout;

    /* grid [n, cols, P]: row r holds its original and views side by side */
    size_t P = (size_t)h * w;
    int cols = 1 + (int)n_weak + (int)n_strong;
    if (!(grid = gx_malloc((size_t)n * cols * P * sizeof *grid, "preview", &err)) ||
        !(views = gx_malloc((size_t)n * P * sizeof *views, "views", &err)) ||
        !(scratch = gx_malloc(P * sizeof *scratch, "scratch", &err)) ||
        !(rows = gx_malloc((size_t)n * sizeof *rows, "rows", &err)) ||
        !(labels = gx_calloc((size_t)n + (size_t)cols, sizeof *labels, "labels", &err))) {
        cli_error("%s", err.msg);
        goto done;
    }
    gx_rng rng;
    gx_rng_init(&rng, (uint64_t)seed, GX_STREAM_AUGMENT);
    for (int v = 0; v < cols; v++) {
        if (v == 0) memcpy(views, ds.x, (size_t)n * P * sizeof *views);
        else if (v <= n_weak) gx_augment_weak(views, ds.x, (int)n, h, w, 1, &opts, &rng);
        else gx_augment_strong(views, ds.x, (int)n, h, w, 1, &opts, &rng, scratch);
        for (long r = 0; r < n; r++)
            memcpy(grid + ((size_t)r * cols + v) * P, views + (size_t)r * P, P * sizeof *grid);
    }

    /* labels: class names of the rows (if labelled), then the column names */
    char **row_labels = labels, **col_labels = labels + n;
    char name[64];
    for (long r = 0; r < n && ds.y; r++)
        row_labels[r] = ds.y[r] >= 0 ? strdup(gx_dataset_class_name(&ds, ds.y[r], name, sizeof name))
                                     : strdup("unlabelled");
    for (int v = 0; v < cols; v++) {
        if (v == 0) snprintf(name, sizeof name, "original");
        else if (v <= n_weak) snprintf(name, sizeof name, "weak %d", v);
        else snprintf(name, sizeof name, "strong %ld", v - n_weak);
        col_labels[v] = strdup(name);
    }
    for (long i = 0; i < n + cols; i++)
        if ((i >= n || ds.y) && !labels[i]) { cli_error("out of memory for the labels"); goto done; }
    char title[256];
    snprintf(title, sizeof title, "%s. weak: shift %d%s; strong: weak + %d ops + cutout %d", spec, opts.shift,
             opts.flip ? ", flip" : "", opts.n_ops, opts.cutout);
    for (long r = 0; r < n; r++) rows[r] = grid + (size_t)r * cols * P;
    if (gx_image_grid_labelled_png(out, rows, (int)n, cols, h, w,
                                   ds.y ? (const char *const *)row_labels : NULL,
                                   (const char *const *)col_labels, title, 0, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    fprintf(cli_status_stream(out),
            "wrote %s: %ld examples, the original, %ld weak and %ld strong views each\n", out, n,
            n_weak, n_strong);
    rc = 0;
done:
    if (labels)
        for (long i = 0; i < n + 1 + n_weak + n_strong; i++) free(labels[i]);
    free(labels);
    free(rows);
    free(grid);
    free(views);
    free(scratch);
    gx_dataset_free(&ds);
    return rc;
}
