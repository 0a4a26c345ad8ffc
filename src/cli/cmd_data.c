/* genxfer data SPEC [SPEC...]: loads each dataset spec and describes it: where it comes from, its
 * size and image shape, the value range, non-finite values, labels and class counts, and (for
 * tables with few columns) the features with their ranges. --json prints the same as JSON. */
#include <cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "data/dataset.h"
#include "data/spec.h"

#define DEFAULT_MAX_FEATURES 40

/* Summary statistics over the finite values of a set of floats. */
typedef struct {
    double min, max, sum, sumsq;
    int64_t count;     /* finite values */
    int64_t nonfinite; /* NaN or +-Inf */
} stats;

static void stats_init(stats *s) {
    memset(s, 0, sizeof *s);
    s->min = INFINITY;
    s->max = -INFINITY;
}

static void stats_add(stats *s, float v) {
    if (!isfinite(v)) {
        s->nonfinite++;
        return;
    }
    if (v < s->min) s->min = v;
    if (v > s->max) s->max = v;
    s->sum += v;
    s->sumsq += (double)v * v;
    s->count++;
}

static double stats_mean(const stats *s) { return s->count ? s->sum / (double)s->count : NAN; }

static double stats_std(const stats *s) {
    if (!s->count) return NAN;
    double m = stats_mean(s), var = s->sumsq / (double)s->count - m * m;
    return var > 0 ? sqrt(var) : 0.0;
}

/* Whole-matrix statistics, one pass over rows (double accumulation, per-row partial sums). */
static void stats_matrix(const gx_dataset *ds, stats *s) {
    stats_init(s);
    for (int64_t i = 0; i < ds->n; i++) {
        const float *row = ds->x + i * ds->d;
        stats r;
        stats_init(&r);
        for (int64_t j = 0; j < ds->d; j++) stats_add(&r, row[j]);
        if (r.min < s->min) s->min = r.min;
        if (r.max > s->max) s->max = r.max;
        s->sum += r.sum;
        s->sumsq += r.sumsq;
        s->count += r.count;
        s->nonfinite += r.nonfinite;
    }
}

static void stats_column(const gx_dataset *ds, int64_t j, stats *s) {
    stats_init(s);
    for (int64_t i = 0; i < ds->n; i++) stats_add(s, ds->x[i * ds->d + j]);
}

static const char *kind_name(gx_spec_kind k) {
    switch (k) {
    case GX_SPEC_MNIST: return "mnist";
    case GX_SPEC_FASHION_MNIST: return "fashion-mnist";
    case GX_SPEC_USPS: return "usps";
    case GX_SPEC_IDX: return "idx";
    case GX_SPEC_NPY: return "npy";
    case GX_SPEC_HDF5: return "hdf5";
    case GX_SPEC_CSV: return "csv";
    }
    return "?";
}

static int is_short_name(gx_spec_kind k) {
    return k == GX_SPEC_MNIST || k == GX_SPEC_FASHION_MNIST || k == GX_SPEC_USPS;
}

/* One line saying where the data come from, e.g. "csv file stars/train.csv (label column 'type')"
 * or "csv folder stars/macho". */
static void describe_source(const gx_spec *s, char *buf, size_t n) {
    if (is_short_name(s->kind)) {
        char dir[2048];
        gx_error err;
        if (gx_spec_data_dir(dir, sizeof dir, &err) != 0) snprintf(dir, sizeof dir, "?");
        snprintf(buf, n, "shared dataset %s (%s split) under %s", kind_name(s->kind), s->path, dir);
        return;
    }
    struct stat st;
    int folder = s->kind == GX_SPEC_CSV && stat(s->path, &st) == 0 && S_ISDIR(st.st_mode);
    int w = snprintf(buf, n, "%s %s %s", kind_name(s->kind), folder ? "folder" : "file", s->path);
    if (w < 0 || (size_t)w >= n) return;
    size_t len = (size_t)w;
    if (s->kind == GX_SPEC_HDF5)
        snprintf(buf + len, n - len, " (data %s%s%s)", s->data, s->labels ? ", labels " : "",
                 s->labels ? s->labels : "");
    else if (s->kind == GX_SPEC_CSV && s->label)
        snprintf(buf + len, n - len, " (label column '%s')", s->label);
    else if (s->labels)
        snprintf(buf + len, n - len, " (labels %s)", s->labels);
}

/* %g with enough digits to tell values apart; "nan" when there were no finite values. */
static const char *num(char *buf, size_t n, double v) {
    if (isnan(v)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.6g", v);
    return buf;
}

typedef struct {
    int json;
    int max_features;
} options;

/* ---- text output --------------------------------------------------------------------------- */

static void print_text(const char *spec, const gx_spec *ps, const gx_dataset *ds, const stats *st,
                       const options *o) {
    char src[4096], a[64], b[64], c[64], d[64];
    describe_source(ps, src, sizeof src);
    printf("%s\n", spec);
    printf("  source:    %s\n", src);
    printf("  size:      %lld x %lld (examples x dimensions)\n", (long long)ds->n, (long long)ds->d);
    if (ds->height > 0)
        printf("  image:     %d x %d x %d (height x width x channels)\n", ds->height, ds->width,
               ds->channels);
    else
        printf("  image:     none\n");
    printf("  values:    min %s  max %s  mean %s  std %s\n", num(a, sizeof a, st->min),
           num(b, sizeof b, st->max), num(c, sizeof c, stats_mean(st)), num(d, sizeof d, stats_std(st)));
    printf("  missing:   %lld non-finite value%s\n", (long long)st->nonfinite,
           st->nonfinite == 1 ? "" : "s");
    if (ds->ids) printf("  ids:       yes (e.g. '%s')\n", ds->n > 0 ? ds->ids[0] : "");

    if (!ds->y) {
        printf("  labels:    none\n");
    } else {
        int K = ds->n_classes;
        int64_t *counts = calloc((size_t)(K > 0 ? K : 1), sizeof *counts);
        if (!counts) {
            printf("  labels:    yes, %d classes (out of memory counting them)\n", K);
        } else {
            int64_t unl = gx_dataset_class_counts(ds, counts);
            printf("  labels:    yes, %d class%s", K, K == 1 ? "" : "es");
            if (unl) printf(", %lld unlabelled", (long long)unl);
            printf("\n");
            int wname = 4;
            char nb[64];
            for (int k = 0; k < K; k++) {
                int l = (int)strlen(gx_dataset_class_name(ds, k, nb, sizeof nb));
                if (l > wname) wname = l;
            }
            if (wname > 40) wname = 40;
            printf("    %5s  %-*s %9s %8s\n", "class", wname, "name", "count", "share");
            for (int k = 0; k < K; k++)
                printf("    %5d  %-*s %9lld %7.2f%%\n", k, wname, gx_dataset_class_name(ds, k, nb, sizeof nb),
                       (long long)counts[k], ds->n ? 100.0 * (double)counts[k] / (double)ds->n : 0.0);
            free(counts);
        }
    }

    if (ds->feature_names) {
        if (ds->d > o->max_features) {
            printf("  features:  %lld named columns (more than %d: not listed; see --max-features)\n",
                   (long long)ds->d, o->max_features);
        } else {
            int wname = 7;
            for (int64_t j = 0; j < ds->d; j++) {
                int l = (int)strlen(ds->feature_names[j]);
                if (l > wname) wname = l;
            }
            if (wname > 40) wname = 40;
            printf("  features:  %lld\n", (long long)ds->d);
            printf("    %5s  %-*s %12s %12s %12s\n", "col", wname, "feature", "min", "max", "mean");
            for (int64_t j = 0; j < ds->d; j++) {
                stats cs;
                stats_column(ds, j, &cs);
                printf("    %5lld  %-*s %12s %12s %12s\n", (long long)j, wname, ds->feature_names[j],
                       num(a, sizeof a, cs.min), num(b, sizeof b, cs.max),
                       num(c, sizeof c, stats_mean(&cs)));
            }
        }
    }
}

/* ---- JSON output --------------------------------------------------------------------------- */

/* A number, or null when it is not finite (JSON has no NaN). */
static cJSON *jnum(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

/* Builds the object describing one dataset; NULL when out of memory. */
static cJSON *to_json(const char *spec, const gx_spec *ps, const gx_dataset *ds, const stats *st) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = 1;
    ok &= cJSON_AddStringToObject(o, "spec", spec) != NULL;
    cJSON *src = cJSON_AddObjectToObject(o, "source");
    ok &= src != NULL;
    if (src) {
        char desc[4096];
        describe_source(ps, desc, sizeof desc);
        ok &= cJSON_AddStringToObject(src, "kind", kind_name(ps->kind)) != NULL;
        ok &= cJSON_AddStringToObject(src, "path", ps->path) != NULL;
        ok &= cJSON_AddStringToObject(src, "description", desc) != NULL;
    }
    ok &= cJSON_AddNumberToObject(o, "n", (double)ds->n) != NULL;
    ok &= cJSON_AddNumberToObject(o, "d", (double)ds->d) != NULL;
    if (ds->height > 0) {
        cJSON *img = cJSON_AddObjectToObject(o, "image");
        ok &= img != NULL;
        if (img) {
            ok &= cJSON_AddNumberToObject(img, "height", ds->height) != NULL;
            ok &= cJSON_AddNumberToObject(img, "width", ds->width) != NULL;
            ok &= cJSON_AddNumberToObject(img, "channels", ds->channels) != NULL;
        }
    } else {
        ok &= cJSON_AddNullToObject(o, "image") != NULL;
    }
    cJSON *v = cJSON_AddObjectToObject(o, "values");
    ok &= v != NULL;
    if (v) {
        ok &= cJSON_AddItemToObject(v, "min", jnum(st->min));
        ok &= cJSON_AddItemToObject(v, "max", jnum(st->max));
        ok &= cJSON_AddItemToObject(v, "mean", jnum(stats_mean(st)));
        ok &= cJSON_AddItemToObject(v, "std", jnum(stats_std(st)));
        ok &= cJSON_AddNumberToObject(v, "nonfinite", (double)st->nonfinite) != NULL;
    }
    ok &= cJSON_AddBoolToObject(o, "labelled", ds->y != NULL) != NULL;
    ok &= cJSON_AddBoolToObject(o, "ids", ds->ids != NULL) != NULL;
    if (ds->y) {
        int K = ds->n_classes;
        int64_t *counts = calloc((size_t)(K > 0 ? K : 1), sizeof *counts);
        if (!counts) {
            cJSON_Delete(o);
            return NULL;
        }
        int64_t unl = gx_dataset_class_counts(ds, counts);
        ok &= cJSON_AddNumberToObject(o, "n_classes", K) != NULL;
        ok &= cJSON_AddNumberToObject(o, "unlabelled", (double)unl) != NULL;
        cJSON *cls = cJSON_AddArrayToObject(o, "classes");
        ok &= cls != NULL;
        for (int k = 0; cls && k < K; k++) {
            char nb[64];
            cJSON *c = cJSON_CreateObject();
            ok &= c != NULL && cJSON_AddItemToArray(cls, c);
            if (!c) break;
            ok &= cJSON_AddNumberToObject(c, "index", k) != NULL;
            ok &= cJSON_AddStringToObject(c, "name", gx_dataset_class_name(ds, k, nb, sizeof nb)) != NULL;
            ok &= cJSON_AddNumberToObject(c, "count", (double)counts[k]) != NULL;
        }
        free(counts);
    } else {
        ok &= cJSON_AddNumberToObject(o, "n_classes", 0) != NULL;
        ok &= cJSON_AddNullToObject(o, "classes") != NULL;
    }
    if (ds->feature_names) {
        cJSON *fs = cJSON_AddArrayToObject(o, "features");
        ok &= fs != NULL;
        for (int64_t j = 0; fs && j < ds->d; j++) {
            stats cs;
            stats_column(ds, j, &cs);
            cJSON *f = cJSON_CreateObject();
            ok &= f != NULL && cJSON_AddItemToArray(fs, f);
            if (!f) break;
            ok &= cJSON_AddStringToObject(f, "name", ds->feature_names[j]) != NULL;
            ok &= cJSON_AddItemToObject(f, "min", jnum(cs.min));
            ok &= cJSON_AddItemToObject(f, "max", jnum(cs.max));
            ok &= cJSON_AddItemToObject(f, "mean", jnum(stats_mean(&cs)));
        }
    } else {
        ok &= cJSON_AddNullToObject(o, "features") != NULL;
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---- the command --------------------------------------------------------------------------- */

static void usage(FILE *f) {
    fprintf(f,
            "usage: genxfer data [options] SPEC [SPEC...]\n\n"
            "Loads each dataset spec and describes it: source, examples x dimensions, image shape,\n"
            "value range (min/max/mean/std), non-finite values, labels and class counts, and the\n"
            "feature columns of tables with few of them. Results go to stdout.\n\n"
            "options:\n"
            "  --json              print a JSON array with one object per spec (default: text)\n"
            "  --max-features N    list the feature columns when there are at most N (default %d)\n"
            "  -h, --help          show this help\n\n",
            DEFAULT_MAX_FEATURES);
    gx_spec_print_help(f);
    fprintf(f, "\nexit status: 0 success, 1 a spec could not be loaded, 2 usage error\n");
}

int cmd_data(int argc, char **argv) {
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"max-features", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    options o = {.json = 0, .max_features = DEFAULT_MAX_FEATURES};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': o.json = 1; break;
        case 'm': {
            long v;
            if (cli_parse_int("data", "--max-features", optarg, 0, 1000000, &v)) return 1;
            o.max_features = (int)v;
            break;
        }
        case 'h': usage(stdout); return 0;
        case ':': return cli_usage_error("data", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_option_error("data", argv[optind - 1], longopts);
        }
    }
    if (optind >= argc) return cli_usage_error("data", "no dataset spec given (e.g. mnist:train)");
    if (cli_parse_only) return 0;

    cJSON *all = NULL;
    if (o.json && !(all = cJSON_CreateArray())) return cli_error("out of memory");
    int rc = 0;
    for (int i = optind; i < argc && rc == 0; i++) {
        const char *spec = argv[i];
        gx_error err;
        gx_spec ps;
        if (gx_spec_parse(spec, &ps, &err) != 0) {
            rc = cli_error("%s", err.msg);
            break;
        }
        gx_dataset ds;
        gx_dataset_init(&ds);
        if (gx_spec_load(spec, &ds, &err) != 0) {
            rc = cli_error("%s", err.msg);
        } else {
            stats st;
            stats_matrix(&ds, &st);
            if (o.json) {
                cJSON *obj = to_json(spec, &ps, &ds, &st);
                if (!obj || !cJSON_AddItemToArray(all, obj)) {
                    cJSON_Delete(obj);
                    rc = cli_error("out of memory building the JSON output");
                }
            } else {
                if (i > optind) printf("\n");
                print_text(spec, &ps, &ds, &st, &o);
                fflush(stdout);
            }
        }
        gx_dataset_free(&ds);
        gx_spec_free(&ps);
    }
    if (o.json && rc == 0) {
        char *s = cJSON_Print(all);
        if (!s) {
            rc = cli_error("out of memory printing the JSON output");
        } else {
            printf("%s\n", s);
            cJSON_free(s);
        }
    }
    cJSON_Delete(all);
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) rc = cli_error("cannot write to stdout");
    return rc;
}
