/* genxfer plot RUN_DIR: figures from a training run's folder (the --out of genxfer train):
 * learning_curves.png from train_log.csv, and confusion.png from metrics.json when it holds a
 * confusion matrix (a run with --test). */
#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "io/figure.h"

#define MAX_FILE_BYTES (256L << 20)
#define MAX_LOG_COLS 256
#define MAX_DOMAIN_SERIES 16

static void usage(FILE *f) {
    fprintf(f,
"usage: genxfer plot [options] RUN_DIR\n\n"
"Draws figures from a training run's folder (the --out of genxfer train):\n"
"  learning_curves.png  from train_log.csv, per epoch: the loss; the ELBO of the labelled and the\n"
"                       unlabelled data; the classifier's cross-entropy; the training accuracy,\n"
"                       the confident fraction and each domain's validation accuracy\n"
"  confusion.png        from metrics.json, when it holds a confusion matrix (a run with --test):\n"
"                       counts, coloured by their share of the true class\n"
"The columns of train_log.csv are found by name and missing ones are left out; an accuracy\n"
"below 0 means none (no validation set). An incomplete last line (a run still writing) is\n"
"ignored. Each figure is made when its file is there; at least one must be. genxfer train\n"
"draws the same figures at its end (unless --no-figures).\n\n"
"options (default in brackets):\n"
"  --out DIR      where to write the figures [RUN_DIR]\n"
"  --title TEXT   the start of the figures' titles [the name of RUN_DIR]\n"
"  -h, --help     this text\n\n"
"exit status: 0 success, 1 a file cannot be read or is invalid (or neither is there), 2 usage\n"
"error\n");
}

/* ---- files --------------------------------------------------------------------------------- */

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* The whole file, NUL-terminated (caller frees); NULL after printing an error. */
static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > (size_t)MAX_FILE_BYTES + 4096 + 1) {
                cli_error("%s: larger than %ld MB", path, MAX_FILE_BYTES >> 20);
                goto fail;
            }
            char *p = realloc(buf, cap);
            if (!p) {
                cli_error("%s: out of memory", path);
                goto fail;
            }
            buf = p;
        }
        size_t got = fread(buf + len, 1, 4096, f);
        len += got;
        if (got < 4096) break;
    }
    if (ferror(f)) {
        cli_error("%s: read error", path);
        goto fail;
    }
    fclose(f);
    buf[len] = '\0';
    if (strlen(buf) != len) {
        cli_error("%s: not a text file (it holds a NUL byte)", path);
        free(buf);
        return NULL;
    }
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

/* ---- train_log.csv ----------------------------------------------------------------------------- */

typedef struct log_table {
    int n_cols, n_rows;
    char *names[MAX_LOG_COLS];
    double *v; /* column-major: column c is v[c * n_rows_cap ..] */
    int cap;
} log_table;

static double *column(const log_table *t, int c) { return t->v + (size_t)c * t->cap; }

static int find_col(const log_table *t, const char *name) {
    for (int c = 0; c < t->n_cols; c++)
        if (!strcmp(t->names[c], name)) return c;
    return -1;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

/* Splits line at the commas (in place) into at most max fields; returns the number of fields. */
static int split(char *line, char **fields, int max) {
    int n = 0;
    for (char *p = line;;) {
        char *comma = strchr(p, ',');
        if (n < max) fields[n] = trim(p);
        n++;
        if (!comma) break;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

/* Parses the text of train_log.csv (modified in place). 0, or 1 after printing an error. */
static int parse_log(const char *path, char *text, log_table *t) {
    memset(t, 0, sizeof *t);
    int lines = 1;
    for (const char *p = text; *p; p++) lines += *p == '\n';
    char *line = text;
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    char *fields[MAX_LOG_COLS];
    int nh = split(line, fields, MAX_LOG_COLS);
    if (nh > MAX_LOG_COLS) return cli_error("%s: line 1: more than %d columns", path, MAX_LOG_COLS);
    if (nh == 1 && !*fields[0]) return cli_error("%s: empty (no header line)", path);
    for (int c = 0; c < nh; c++) {
        if (!*fields[c]) return cli_error("%s: line 1: column %d has no name", path, c + 1);
        t->names[c] = fields[c];
    }
    t->n_cols = nh;
    t->cap = lines;
    t->v = malloc(sizeof(double) * (size_t)nh * (size_t)lines);
    if (!t->v) return cli_error("%s: out of memory", path);
    for (int ln = 2; nl; ln++) {
        line = nl + 1;
        nl = strchr(line, '\n');
        int last_unfinished = !nl;
        if (nl) *nl = '\0';
        if (!*trim(line)) continue;
        int n = split(line, fields, MAX_LOG_COLS);
        if (n != nh) {
            if (last_unfinished) break; /* a run still writing its log */
            return cli_error("%s: line %d: %d fields; the header has %d", path, ln, n, nh);
        }
        for (int c = 0; c < nh; c++) {
            const char *s = fields[c];
            double v = NAN;
            if (*s && strcmp(s, "nan") && strcmp(s, "NaN")) {
                char *end;
                v = strtod(s, &end);
                if (end == s || *end) {
                    if (last_unfinished) goto done;
                    return cli_error("%s: line %d: column %s: '%s' is not a number", path, ln,
                                     t->names[c], s);
                }
            }
            column(t, c)[t->n_rows] = v;
        }
        t->n_rows++;
    }
done:
    if (t->n_rows == 0) return cli_error("%s: no data rows (only the header)", path);
    return 0;
}

/* Adds the series for column name (if the log has it) to ser[*n]. */
static void add_series(const log_table *t, const double *x, const char *col, const char *label,
                       int skip_negative, gx_plot_series *ser, int *n) {
    int c = find_col(t, col);
    if (c < 0) return;
    ser[*n] = (gx_plot_series){label, x, column(t, c), t->n_rows, skip_negative};
    (*n)++;
}

static int learning_curves(const char *log_path, const char *out_path, const char *title_start) {
    char *text = read_text(log_path);
    if (!text) return 1;
    log_table t;
    int rc = parse_log(log_path, text, &t);
    double *rowno = NULL;
    if (rc) goto done;

    /* x: the epoch, else the step, else the row number */
    const char *xlabel = "epoch";
    int cx = find_col(&t, "epoch");
    if (cx < 0 && (cx = find_col(&t, "step")) >= 0) xlabel = "step";
    const double *x;
    if (cx >= 0) {
        x = column(&t, cx);
    } else {
        xlabel = "row";
        rowno = malloc(sizeof(double) * (size_t)t.n_rows);
        if (!rowno) {
            rc = cli_error("%s: out of memory", log_path);
            goto done;
        }
        for (int r = 0; r < t.n_rows; r++) rowno[r] = r + 1;
        x = rowno;
    }

    gx_plot_series loss[1], elbo[2], ce[1], acc[2 + MAX_DOMAIN_SERIES];
    int n_loss = 0, n_elbo = 0, n_ce = 0, n_acc = 0;
    add_series(&t, x, "loss", "loss", 0, loss, &n_loss);
    add_series(&t, x, "elbo_labelled", "labelled", 0, elbo, &n_elbo);
    add_series(&t, x, "elbo_unlabelled", "unlabelled", 0, elbo, &n_elbo);
    add_series(&t, x, "cross_entropy", "cross-entropy (labelled)", 0, ce, &n_ce);
    add_series(&t, x, "train_accuracy", "train (labelled)", 1, acc, &n_acc);
    add_series(&t, x, "confident_fraction", "confident fraction (unlabelled)", 1, acc, &n_acc);
    char val_names[MAX_DOMAIN_SERIES][96];
    for (int c = 0, nv = 0; c < t.n_cols && nv < MAX_DOMAIN_SERIES; c++) {
        if (strncmp(t.names[c], "val_accuracy_", 13) != 0) continue;
        snprintf(val_names[nv], sizeof val_names[nv], "validation %s", t.names[c] + 13);
        acc[n_acc++] = (gx_plot_series){val_names[nv++], x, column(&t, c), t.n_rows, 1};
    }

    const gx_plot_series *series[4];
    const char *titles[4], *ylabels[4];
    int n_series[4], np = 0;
#define PANEL(S, N, T, Y)                                                                          \
    if (N) {                                                                                       \
        series[np] = S;                                                                            \
        n_series[np] = N;                                                                          \
        titles[np] = T;                                                                            \
        ylabels[np] = Y;                                                                           \
        np++;                                                                                      \
    }
    PANEL(loss, n_loss, "training objective", "loss");
    PANEL(elbo, n_elbo, "evidence lower bound", "ELBO (nats)");
    PANEL(ce, n_ce, "classifier", "cross-entropy");
    PANEL(acc, n_acc, "accuracy", "fraction");
#undef PANEL
    if (np == 0) {
        rc = cli_error("%s: none of the columns loss, elbo_labelled, elbo_unlabelled, "
                       "cross_entropy, train_accuracy, confident_fraction, val_accuracy_* is there",
                       log_path);
        goto done;
    }
    char title[512];
    snprintf(title, sizeof title, "%s: learning curves", title_start);
    gx_error err;
    if (gx_panels_png(out_path, title, np, titles, ylabels, xlabel, series, n_series, &err)) {
        rc = cli_error("%s", err.msg);
        goto done;
    }
    printf("learning curves: %s (%d %s%s)\n", out_path, t.n_rows, xlabel,
           t.n_rows == 1 ? "" : "s");
done:
    free(rowno);
    free(t.v);
    free(text);
    return rc;
}

/* ---- metrics.json --------------------------------------------------------------------------- */

/* 0: figure written; 1: error printed; 2: no confusion matrix in the file (nothing written). */
static int confusion_figure(const char *json_path, const char *out_path, const char *title_start) {
    char *text = read_text(json_path);
    if (!text) return 1;
    int rc = 1, K = 0;
    int64_t *C = NULL;
    const char **names = NULL;
    cJSON *root = cJSON_Parse(text);
    if (!root || !cJSON_IsObject(root)) {
        cli_error("%s: not a JSON object", json_path);
        goto done;
    }
    const cJSON *conf = cJSON_GetObjectItemCaseSensitive(root, "confusion");
    if (!conf || cJSON_IsNull(conf)) {
        rc = 2;
        goto done;
    }
    K = cJSON_GetArraySize(conf);
    if (!cJSON_IsArray(conf) || K < 1 || K > 1000) {
        cli_error("%s: \"confusion\" is not an array of 1 to 1000 rows", json_path);
        goto done;
    }
    C = malloc(sizeof(int64_t) * (size_t)K * (size_t)K);
    names = calloc((size_t)K, sizeof *names);
    if (!C || !names) {
        cli_error("%s: out of memory", json_path);
        goto done;
    }
    int i = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, conf) {
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != K) {
            cli_error("%s: \"confusion\" row %d is not an array of %d counts", json_path, i, K);
            goto done;
        }
        int j = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, row) {
            double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
            if (!(d >= 0 && d <= 9007199254740992.0 && d == floor(d))) {
                cli_error("%s: \"confusion\" row %d, column %d is not a count", json_path, i, j);
                goto done;
            }
            C[(int64_t)i * K + j++] = (int64_t)d;
        }
        i++;
    }
    /* class names: "classes" as written by genxfer (objects with "name") or plain strings */
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(root, "classes");
    if (classes) {
        if (!cJSON_IsArray(classes) || cJSON_GetArraySize(classes) != K) {
            cli_error("%s: \"classes\" is not an array of %d classes (the size of \"confusion\")",
                      json_path, K);
            goto done;
        }
        int k = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, classes) {
            const cJSON *nm = cJSON_IsObject(c) ? cJSON_GetObjectItemCaseSensitive(c, "name") : c;
            names[k++] = cJSON_IsString(nm) ? nm->valuestring : NULL; /* NULL: the number */
        }
    }
    char title[512];
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(root, "accuracy");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "test_data");
    int len = snprintf(title, sizeof title, "%s: confusion matrix", title_start);
    if (cJSON_IsString(data) && len > 0 && (size_t)len < sizeof title)
        len += snprintf(title + len, sizeof title - (size_t)len, " on %s", data->valuestring);
    if (cJSON_IsNumber(acc) && len > 0 && (size_t)len < sizeof title)
        snprintf(title + len, sizeof title - (size_t)len, " (accuracy %.2f%%)",
                 100 * acc->valuedouble);
    gx_error err;
    if (gx_confusion_png(out_path, C, K, names, title, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    printf("confusion matrix: %s (%d classes)\n", out_path, K);
    rc = 0;
done:
    cJSON_Delete(root);
    free(C);
    free(names);
    free(text);
    return rc;
}

/* ---- a run's figures (genxfer plot, and genxfer train at its end) -------------------------- */

int cli_plot_run(const char *run, const char *out, const char *title, int *no_confusion) {
    /* the default title: the run folder's last path component */
    char name[512];
    snprintf(name, sizeof name, "%s", run);
    size_t n = strlen(name);
    while (n > 1 && name[n - 1] == '/') name[--n] = '\0';
    const char *base = strrchr(name, '/');
    base = base && base[1] ? base + 1 : name;
    if (!title) title = base;
    if (!out) out = run;

    char log_path[1200], json_path[1200], curves_png[1200], conf_png[1200];
    snprintf(log_path, sizeof log_path, "%s/train_log.csv", run);
    snprintf(json_path, sizeof json_path, "%s/metrics.json", run);
    snprintf(curves_png, sizeof curves_png, "%s/learning_curves.png", out);
    snprintf(conf_png, sizeof conf_png, "%s/confusion.png", out);
    int have_log = exists(log_path), have_json = exists(json_path);
    if (!have_log && !have_json)
        return cli_error("%s: neither train_log.csv nor metrics.json is there", run);
    *no_confusion = 0;
    if (have_log && learning_curves(log_path, curves_png, title)) return 1;
    if (have_json) {
        int r = confusion_figure(json_path, conf_png, title);
        if (r == 1) return 1;
        if (r == 2 && !have_log)
            return cli_error("%s: no confusion matrix (a run without --test) and no "
                             "train_log.csv", json_path);
        *no_confusion = r == 2;
    }
    return 0;
}

/* ---- the command ---------------------------------------------------------------------------- */

int cmd_plot(int argc, char **argv) {
    static const struct option longopts[] = {{"out", required_argument, 0, 'o'},
                                             {"title", required_argument, 0, 't'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *out = NULL, *title = NULL;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'o': out = optarg; break;
        case 't': title = optarg; break;
        case ':': return cli_usage_error("plot", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_option_error("plot", argv[optind - 1], longopts);
        }
    }
    if (optind >= argc) return cli_usage_error("plot", "no run folder given (e.g. runs/e1-dvt)");
    if (argc - optind > 1)
        return cli_usage_error("plot", "expected one run folder, got %d", argc - optind);
    const char *run = argv[optind];
    if (cli_parse_only) return 0;
    struct stat st;
    if (stat(run, &st) != 0) return cli_error("%s: %s", run, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return cli_error("%s: not a folder (expected a run's --out)", run);
    if (!out) out = run;
    else if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode))
        return cli_error("%s: no such folder (--out)", out);

    int no_confusion;
    if (cli_plot_run(run, out, title, &no_confusion)) return 1;
    if (no_confusion)
        printf("confusion matrix: none in %s/metrics.json (a run without --test)\n", run);
    if (fflush(stdout) != 0 || ferror(stdout)) return cli_error("cannot write to stdout");
    return 0;
}
