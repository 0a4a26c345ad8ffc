#include "data/spec.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/readers.h"
#include "data/spec_csv.h"
#include "data/splits.h"
#include "data/transforms.h"

/* ---- the grammar -------------------------------------------------------------------------- */

static const struct {
    const char *name;
    gx_spec_kind kind;
    const char *usage;
} kinds[] = {
    {"mnist", GX_SPEC_MNIST, "mnist:train|test            MNIST digits, 28x28, scaled to [0,1]"},
    {"fashion-mnist", GX_SPEC_FASHION_MNIST,
     "fashion-mnist:train|test    Fashion-MNIST, 28x28, scaled to [0,1], clothing class names"},
    {"usps", GX_SPEC_USPS, "usps:train|test             USPS digits, 16x16, already in [0,1]"},
    {"idx", GX_SPEC_IDX, "idx:IMAGES[,labels=LABELS]  IDX files, plain or gzip'd (values as stored)"},
    {"npy", GX_SPEC_NPY, "npy:X.npy[,labels=Y.npy]    NumPy arrays: n x d (or n x h x w) and n "
                         "labels (gzip'd too)"},
    {"hdf5", GX_SPEC_HDF5, "hdf5:FILE,data=/DSET[,labels=/DSET]  HDF5 datasets inside FILE"},
    {"csv", GX_SPEC_CSV, "csv:FILE[,label=COL]...     a CSV table, one row per example (gzip'd too)\n"
     "  csv:FOLDER[,files=A+B]...   CSV files with the same columns as one table (see files=)"},
};
#define N_KINDS ((int)(sizeof kinds / sizeof kinds[0]))

#define K(x) (1u << (x))
#define K_FILES (K(GX_SPEC_IDX) | K(GX_SPEC_NPY) | K(GX_SPEC_HDF5))
#define K_ALL 0x7fu

enum {
    O_LABELS, O_DATA, O_LABEL, O_ID, O_KEEP, O_DROP, O_MISSING, O_HEADER, O_SEP, O_COLUMNS,
    O_FILES, O_DIFF, O_CLASSES, O_RENAME, O_SELECT, O_LIMIT, O_IMAGE, O_LOG10, O_SCALE, O_RESIZE,
    O_PAD, O_IMPUTE, N_OPTS
};

static const struct {
    const char *key;
    unsigned kinds;
    const char *usage;
} opts[N_OPTS] = {
    [O_LABELS] = {"labels", K_FILES, "labels=PATH       idx, npy: label file; hdf5: label dataset (e.g. /train/target)"},
    [O_DATA] = {"data", K(GX_SPEC_HDF5), "data=/DSET        hdf5: the data set to read (required)"},
    [O_LABEL] = {"label", K(GX_SPEC_CSV), "label=COL         csv: label column (name, or number from 0)"},
    [O_ID] = {"id", K(GX_SPEC_CSV), "id=COL            csv: column of example ids"},
    [O_KEEP] = {"keep", K(GX_SPEC_CSV), "keep=A+B+...      csv: the feature columns, in this order (default: all others in file\n"
                "                    order, then the diff= columns); may name diff= columns"},
    [O_DROP] = {"drop", K(GX_SPEC_CSV), "drop=A+B+...      csv: columns to leave out"},
    [O_MISSING] = {"missing", K(GX_SPEC_CSV), "missing=error|drop  csv: rows with missing values are an error (default) or dropped"},
    [O_HEADER] = {"header", K(GX_SPEC_CSV), "header=yes|no     csv: first line names the columns (default yes; no: c0, c1, ...)"},
    [O_SEP] = {"sep", K(GX_SPEC_CSV), "sep=C             csv: delimiter, one character or tab|space|comma|semicolon"},
    [O_COLUMNS] = {"columns", K(GX_SPEC_CSV), "columns=A+B+...   csv: names of the file's columns, in order (as many as it has); they\n"
                   "                    replace the header's names, or c0, c1, ... with header=no"},
    [O_FILES] = {"files", K(GX_SPEC_CSV), "files=A+B+...     csv: PATH is a folder: read PATH/A.csv, PATH/B.csv, ... in this order\n"
                 "                    as one table (same columns in each); a folder without files= reads\n"
                 "                    all its *.csv files, sorted by name. Without label=, the class of a\n"
                 "                    row is its file's name without .csv (A, B, ...), in file order"},
    [O_DIFF] = {"diff", K(GX_SPEC_CSV), "diff=NEW:A-B+...  csv: add the feature NEW = column A - column B (A, B without '-';\n"
                "                    numbers from 0 also work), after the others unless keep= places it"},
    [O_CLASSES] = {"classes", K_FILES | K(GX_SPEC_CSV), "classes=A+B+...   class names in index order (csv: the label values, in class order)"},
    [O_RENAME] = {"rename", K_ALL, "rename=OLD:NEW+... rename classes (before select); classes given the same new name are\n"
                  "                    merged into one, at the place of the first of them"},
    [O_SELECT] = {"select", K_ALL, "select=A+B+...    keep these classes (names, else indices), renumbered in the order given"},
    [O_LIMIT] = {"limit", K_ALL, "limit=N           keep the first N rows (after select)"},
    [O_IMAGE] = {"image", K_ALL, "image=HxW         the rows are H x W single-channel images"},
    [O_LOG10] = {"log10", K_ALL, "log10=A+B+...     replace these columns by their log10 (values must be > 0; with\n"
                                 "                    missing=drop, rows where they are not are dropped)"},
    [O_SCALE] = {"scale", K_ALL, "scale=F           multiply every value by F (a number or A/B, e.g. 1/255)"},
    [O_RESIZE] = {"resize", K_ALL, "resize=HxW        bilinear image resize (align_corners=False)"},
    [O_PAD] = {"pad", K_ALL, "pad=P             zero-pad images by P pixels on each side"},
    [O_IMPUTE] = {"impute", K(GX_SPEC_CSV), "impute=median|mean|zero  csv: fill missing feature values with the column's median\n"
                  "                    or mean over the rows read, or 0; eval and predict fill with the\n"
                  "                    training data's values, which the model keeps"},
};

void gx_spec_print_help(FILE *f) {
    fprintf(f, "Dataset specs: KIND:PATH[,KEY=VALUE]...  (a list value joins items with '+')\n");
    fprintf(f, "kinds:\n");
    for (int i = 0; i < N_KINDS; i++) fprintf(f, "  %s\n", kinds[i].usage);
    fprintf(f, "options:\n");
    for (int o = 0; o < N_OPTS; o++) fprintf(f, "  %s\n", opts[o].usage);
    fprintf(f,
            "CSV column choices (columns, keep, drop, diff) act while reading; the other options\n"
            "are applied after loading in the order rename, select, limit, image, log10, scale,\n"
            "resize, pad (so log10= and scale= may name diff= columns). Short names are read from\n"
            "$GENXFER_DATA (default ../shared/data).\n"
            "A bare path ending in .csv, .npy, .h5/.hdf5 or -ubyte[.gz] needs no KIND.\n"
            "Examples (each spec is one argument, without line breaks):\n"
            "          mnist:train,limit=1000   usps:test,resize=20x20,pad=4\n"
            "          csv:train.csv,label=type,drop=id+ra+dec,log10=period\n"
            "          csv:stars/eros1/train.csv,label=type,id=Unnamed: 0,rename=1:EB+2:CEPH+3:RRL+4:LPV,\n"
            "              diff=color:magnitude_b-magnitude_r,keep=magnitude_r+color+period\n"
            "          csv:stars/macho,header=no,columns=mag+color+period+amp,\n"
            "              files=EB+CEPH+RRL+longperiod_lc,rename=longperiod_lc:LPV,keep=mag+color+period\n");
}

/* ---- parsing helpers ---------------------------------------------------------------------- */

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

int gx_edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 31 || lb > 31) return 99;
    int d[32][32];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

/* "label, id, keep, ..." for the options a kind accepts. */
static void kind_keys(gx_spec_kind kind, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = '\0';
    for (int o = 0; o < N_OPTS; o++)
        if (opts[o].kinds & K(kind)) {
            int w = snprintf(buf + len, n - len, "%s%s", len ? ", " : "", opts[o].key);
            if (w < 0 || (size_t)w >= n - len) break;
            len += (size_t)w;
        }
}

static const char *kind_name(gx_spec_kind kind) {
    for (int i = 0; i < N_KINDS; i++)
        if (kinds[i].kind == kind) return kinds[i].name;
    return "?";
}

static void kind_list(char *buf, size_t n) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < N_KINDS; i++) {
        int w = snprintf(buf + len, n - len, "%s%s", i ? ", " : "", kinds[i].name);
        if (w < 0 || (size_t)w >= n - len) break;
        len += (size_t)w;
    }
}

/* Splits a '+' list in place into a NULL-terminated array. */
static int parse_list(char *val, const char ***out, const char *spec, const char *key, gx_error *err) {
    size_t count = 1;
    for (const char *p = val; *p; p++) count += *p == '+';
    const char **items = gx_calloc(count + 1, sizeof *items, "spec list", err);
    if (!items) return -1;
    size_t k = 0;
    char *p = val;
    for (;;) {
        char *plus = strchr(p, '+');
        if (plus) *plus = '\0';
        char *item = trim(p);
        if (!*item) {
            free(items);
            return gx_fail(err, "spec '%s': option '%s': empty item in the list (items are joined with '+')",
                           spec, key);
        }
        items[k++] = item;
        if (!plus) break;
        p = plus + 1;
    }
    items[k] = NULL;
    *out = items;
    return 0;
}

static int list_len(const char *const *l) {
    int k = 0;
    while (l && l[k]) k++;
    return k;
}

/* Splits item at its first `sep` into two trimmed parts; -1 when there is no sep or a part is
 * empty (item may be cut then). */
static int split_at(char *item, char sep, char **left, char **right) {
    char *at = strchr(item, sep);
    if (!at) return -1;
    *at = '\0';
    *left = trim(item);
    *right = trim(at + 1);
    return **left && **right ? 0 : -1;
}

static int bad_item(const char *spec, const char *key, const char *item, const char *expected,
                    gx_error *err) {
    return gx_fail(err, "spec '%s': option '%s': bad item '%s' (expected %s)", spec, key, item,
                   expected);
}

/* The items of a list point into the spec's private, writable copy: they may be split in place. */
static char *writable(const char *item) {
    return (char *)item;
}

/* rename=OLD:NEW+...: two parallel NULL-terminated lists; an OLD name given twice is an error. */
static int parse_rename(char *val, gx_spec *out, const char *spec, gx_error *err) {
    const char **items;
    if (parse_list(val, &items, spec, "rename", err) != 0) return -1;
    int n = list_len(items), rc = -1;
    out->rename_from = gx_calloc((size_t)n + 1, sizeof *out->rename_from, "spec list", err);
    out->rename_to = gx_calloc((size_t)n + 1, sizeof *out->rename_to, "spec list", err);
    for (int i = 0; i < n && out->rename_to; i++) {
        char shown[160], *from, *to;
        snprintf(shown, sizeof shown, "%s", items[i]);
        if (split_at(writable(items[i]), ':', &from, &to) != 0) {
            bad_item(spec, "rename", shown, "OLD:NEW with a class name on each side, e.g. 1:EB", err);
            goto done;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(out->rename_from[j], from)) {
                gx_fail(err, "spec '%s': option 'rename': class '%s' is renamed twice", spec, from);
                goto done;
            }
        out->rename_from[i] = from;
        out->rename_to[i] = to;
    }
    rc = out->rename_to ? 0 : -1;
done:
    free(items);
    return rc;
}

/* diff=NEW:A-B+...: one '-' between the two column names. */
static int parse_diffs(char *val, gx_spec *out, const char *spec, gx_error *err) {
    const char **items;
    if (parse_list(val, &items, spec, "diff", err) != 0) return -1;
    int n = list_len(items), rc = -1;
    out->diffs = gx_calloc((size_t)n, sizeof *out->diffs, "spec list", err);
    for (int i = 0; i < n && out->diffs; i++) {
        char shown[160], *name, *expr, *a, *b;
        snprintf(shown, sizeof shown, "%s", items[i]);
        int ok = split_at(writable(items[i]), ':', &name, &expr) == 0 && strchr(expr, '-') &&
                 strchr(expr, '-') == strrchr(expr, '-') && split_at(expr, '-', &a, &b) == 0;
        if (!ok) {
            bad_item(spec, "diff", shown, "NEW:A-B with one '-', e.g. color:magnitude_b-magnitude_r", err);
            goto done;
        }
        out->diffs[i] = (gx_csv_diff){name, a, b};
    }
    out->n_diffs = n;
    rc = out->diffs ? 0 : -1;
done:
    free(items);
    return rc;
}

/* Length of a file name without its ".csv". */
static size_t stem_len(const char *name) {
    size_t n = strlen(name);
    return n > 4 && !strcmp(name + n - 4, ".csv") ? n - 4 : n;
}

/* files=A+B+...: plain file names (no '/'), each once. */
static int parse_files(char *val, gx_spec *out, const char *spec, gx_error *err) {
    if (parse_list(val, &out->files, spec, "files", err) != 0) return -1;
    for (int i = 0; out->files[i]; i++) {
        const char *f = out->files[i];
        size_t n = stem_len(f);
        if (strchr(f, '/') || !strcmp(f, ".csv"))
            return bad_item(spec, "files", f, "a file name in the folder PATH, without '/'", err);
        for (int j = 0; j < i; j++)
            if (stem_len(out->files[j]) == n && !strncmp(out->files[j], f, n))
                return gx_fail(err, "spec '%s': option 'files': '%.*s' is listed twice", spec,
                               (int)n, f);
    }
    return 0;
}

static int parse_int(const char *val, long long lo, long long hi, long long *out) {
    if (!*val) return -1;
    for (const char *p = val; *p; p++)
        if (!isdigit((unsigned char)*p)) return -1;
    errno = 0;
    long long v = strtoll(val, NULL, 10);
    if (errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_size(char *val, int *h, int *w) {
    char *x = strpbrk(val, "xX");
    if (!x) return -1;
    *x = '\0';
    long long a, b;
    int rc = parse_int(trim(val), 1, 65536, &a) == 0 && parse_int(trim(x + 1), 1, 65536, &b) == 0;
    *x = 'x';
    if (!rc) return -1;
    *h = (int)a;
    *w = (int)b;
    return 0;
}

static int parse_double(const char *s, double *out) {
    if (!*s || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int parse_scale(char *val, float *out) {
    char *slash = strchr(val, '/');
    double a, b = 1.0;
    if (slash) {
        *slash = '\0';
        int ok = parse_double(trim(val), &a) == 0 && parse_double(trim(slash + 1), &b) == 0 && b != 0.0;
        *slash = '/';
        if (!ok) return -1;
    } else if (parse_double(val, &a) != 0) {
        return -1;
    }
    double v = a / b;
    if (!isfinite(v) || fabs(v) > 3.4e38) return -1;
    *out = (float)v;
    return 0;
}

static int parse_bool(const char *val, int *out) {
    static const char *yes[] = {"yes", "true", "1", "on"}, *no[] = {"no", "false", "0", "off"};
    for (int i = 0; i < 4; i++) {
        if (!strcmp(val, yes[i])) { *out = 1; return 0; }
        if (!strcmp(val, no[i])) { *out = 0; return 0; }
    }
    return -1;
}

static int parse_sep(const char *val, char *out) {
    static const struct { const char *name; char c; } names[] = {
        {"tab", '\t'}, {"\\t", '\t'}, {"space", ' '}, {"comma", ','}, {"semicolon", ';'}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(val, names[i].name)) { *out = names[i].c; return 0; }
    if (strlen(val) == 1 && val[0] != '"' && val[0] != '\n') { *out = val[0]; return 0; }
    return -1;
}

/* The kind of a bare path, from its name; -1 when it cannot be told. */
static int infer_kind(const char *path) {
    if (ends_with(path, ".csv") || ends_with(path, ".CSV")) return GX_SPEC_CSV;
    if (ends_with(path, ".npy")) return GX_SPEC_NPY;
    if (ends_with(path, ".h5") || ends_with(path, ".hdf5")) return GX_SPEC_HDF5;
    if (ends_with(path, "-ubyte") || ends_with(path, "-ubyte.gz")) return GX_SPEC_IDX;
    return -1;
}

void gx_spec_free(gx_spec *s) {
    free(s->keep);
    free(s->drop);
    free(s->columns);
    free(s->files);
    free(s->diffs);
    free(s->rename_from);
    free(s->rename_to);
    free(s->classes);
    free(s->select);
    free(s->log10);
    free(s->buf_);
    memset(s, 0, sizeof *s);
    s->pad = -1;
}

static int bad_value(const char *spec, const char *key, const char *val, const char *expected,
                     gx_error *err) {
    return gx_fail(err, "spec '%s': option '%s': bad value '%s' (expected %s)", spec, key, val, expected);
}

int gx_spec_parse(const char *spec, gx_spec *out, gx_error *err) {
    memset(out, 0, sizeof *out);
    out->pad = -1;
    out->header = 1;
    out->sep = ',';
    const char *q = spec;
    while (q && isspace((unsigned char)*q)) q++;
    if (!q || !*q)
        return gx_fail(err, "empty dataset spec (expected KIND:PATH[,KEY=VALUE]..., see --help)");
    size_t len = strlen(spec);
    char *buf = gx_malloc(len + 1, "spec", err);
    if (!buf) return -1;
    memcpy(buf, spec, len + 1);
    out->buf_ = buf;

    char *comma = strchr(buf, ',');
    if (comma) *comma = '\0';
    char *head = trim(buf);
    char *colon = strchr(head, ':');
    int kind = -1;
    if (colon) {
        *colon = '\0';
        char *name = trim(head);
        for (int i = 0; i < N_KINDS; i++)
            if (!strcmp(name, kinds[i].name)) kind = (int)kinds[i].kind;
        if (kind >= 0) {
            out->path = trim(colon + 1);
        } else {
            *colon = ':';
        }
    }
    /* A prefix that looks like a kind name (letters, digits, '-', '_') but is none is an error;
     * otherwise the whole head may be a bare path whose kind shows in its name. */
    int looks_like_kind = 0;
    if (kind < 0 && colon) {
        looks_like_kind = colon > head;
        for (const char *p = head; p < colon; p++)
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') looks_like_kind = 0;
    }
    if (kind < 0 && !looks_like_kind) {
        kind = infer_kind(head);
        out->path = head;
    }
    if (kind < 0) {
        char list[200], hint[80] = "";
        kind_list(list, sizeof list);
        if (looks_like_kind) {
            *colon = '\0';
            int best = 3;
            for (int i = 0; i < N_KINDS; i++) {
                int dist = gx_edit_distance(head, kinds[i].name);
                if (dist < best) {
                    best = dist;
                    snprintf(hint, sizeof hint, "did you mean '%s'? ", kinds[i].name);
                }
            }
            char name[64];
            snprintf(name, sizeof name, "%s", head);
            gx_spec_free(out);
            return gx_fail(err, "spec '%s': unknown kind '%s' (%sexpected one of: %s)", spec, name,
                           hint, list);
        }
        gx_spec_free(out);
        return gx_fail(err, "spec '%s': no kind given (write KIND:PATH, KIND one of: %s)", spec, list);
    }
    out->kind = (gx_spec_kind)kind;
    const char *kname = kind_name(out->kind);
    if (!*out->path) {
        gx_spec_free(out);
        return gx_fail(err, "spec '%s': no path after '%s:'", spec, kname);
    }
    int short_name = kind == GX_SPEC_MNIST || kind == GX_SPEC_FASHION_MNIST || kind == GX_SPEC_USPS;
    if (short_name && strcmp(out->path, "train") && strcmp(out->path, "test")) {
        char path[64];
        snprintf(path, sizeof path, "%s", out->path);
        gx_spec_free(out);
        return gx_fail(err, "spec '%s': unknown part '%s' (expected %s:train or %s:test)", spec, path,
                       kname, kname);
    }

    char *raw[N_OPTS] = {0};
    char keys[300];
    kind_keys(out->kind, keys, sizeof keys);
    while (comma) {
        char *tok = comma + 1;
        comma = strchr(tok, ',');
        if (comma) *comma = '\0';
        tok = trim(tok);
        if (!*tok) {
            gx_spec_free(out);
            return gx_fail(err, "spec '%s': empty option (two commas in a row or a trailing comma)", spec);
        }
        char *eq = strchr(tok, '=');
        if (eq) *eq = '\0';
        char *key = trim(tok);
        int o = -1;
        for (int i = 0; i < N_OPTS; i++)
            if (!strcmp(key, opts[i].key)) o = i;
        if (o < 0 || !(opts[o].kinds & K(out->kind))) {
            char msg[400], hint[80] = "";
            int best = 3;
            for (int i = 0; i < N_OPTS; i++) {
                int dist = gx_edit_distance(key, opts[i].key);
                if ((opts[i].kinds & K(out->kind)) && dist < best) {
                    best = dist;
                    snprintf(hint, sizeof hint, "did you mean '%s'? ", opts[i].key);
                }
            }
            if (o < 0)
                snprintf(msg, sizeof msg, "spec '%s': unknown option '%s' (%sexpected one of: %s)", spec,
                         key, hint, keys);
            else
                snprintf(msg, sizeof msg, "spec '%s': option '%s' does not apply to %s (%sexpected one of: %s)",
                         spec, key, kname, hint, keys);
            gx_spec_free(out);
            return gx_fail(err, "%s", msg);
        }
        if (raw[o]) {
            gx_spec_free(out);
            return gx_fail(err, "spec '%s': option '%s' given twice", spec, opts[o].key);
        }
        char *val = eq ? trim(eq + 1) : NULL;
        if (!val || !*val) {
            gx_spec_free(out);
            return gx_fail(err, "spec '%s': option '%s' needs a value (%s=...)", spec, opts[o].key,
                           opts[o].key);
        }
        raw[o] = val;
    }

    /* Values. */
    const char *key = NULL;
    char *val = NULL;
#define BAD(expected)                                                                              \
    do {                                                                                           \
        bad_value(spec, key, val, expected, err);                                                  \
        goto fail;                                                                                 \
    } while (0)
#define LIST(o, field)                                                                             \
    if (raw[o] && parse_list(raw[o], &out->field, spec, opts[o].key, err) != 0) goto fail
    out->labels = raw[O_LABELS];
    out->data = raw[O_DATA];
    out->label = raw[O_LABEL];
    out->id = raw[O_ID];
    if ((val = raw[O_MISSING])) {
        key = "missing";
        if (!strcmp(val, "drop")) out->missing_drop = 1;
        else if (strcmp(val, "error")) BAD("error or drop");
    }
    if ((val = raw[O_HEADER])) {
        key = "header";
        if (parse_bool(val, &out->header) != 0) BAD("yes or no");
    }
    if ((val = raw[O_SEP])) {
        key = "sep";
        if (parse_sep(val, &out->sep) != 0) BAD("one character, or tab, space, comma, semicolon");
    }
    if ((val = raw[O_LIMIT])) {
        key = "limit";
        long long v;
        if (parse_int(val, 1, INT64_MAX, &v) != 0) BAD("a whole number >= 1");
        out->limit = v;
    }
    if ((val = raw[O_IMAGE])) {
        key = "image";
        if (parse_size(val, &out->image_h, &out->image_w) != 0) BAD("HxW, e.g. 28x28");
    }
    if ((val = raw[O_RESIZE])) {
        key = "resize";
        if (parse_size(val, &out->resize_h, &out->resize_w) != 0) BAD("HxW, e.g. 20x20");
    }
    if ((val = raw[O_PAD])) {
        key = "pad";
        long long v;
        if (parse_int(val, 0, 65536, &v) != 0) BAD("a whole number of pixels >= 0");
        out->pad = (int)v;
    }
    if ((val = raw[O_IMPUTE])) {
        key = "impute";
        if (!strcmp(val, "median")) out->impute = GX_IMPUTE_MEDIAN;
        else if (!strcmp(val, "mean")) out->impute = GX_IMPUTE_MEAN;
        else if (!strcmp(val, "zero")) out->impute = GX_IMPUTE_ZERO;
        else BAD("median, mean or zero");
        if (out->missing_drop) BAD("not with missing=drop (rows with missing values are dropped)");
    }
    if ((val = raw[O_SCALE])) {
        key = "scale";
        if (parse_scale(val, &out->scale) != 0) BAD("a finite number or A/B, e.g. 1/255");
        out->has_scale = 1;
    }
    LIST(O_KEEP, keep);
    LIST(O_DROP, drop);
    LIST(O_CLASSES, classes);
    LIST(O_SELECT, select);
    LIST(O_LOG10, log10);
    LIST(O_COLUMNS, columns);
    if (raw[O_FILES] && parse_files(raw[O_FILES], out, spec, err) != 0) goto fail;
    if (raw[O_DIFF] && parse_diffs(raw[O_DIFF], out, spec, err) != 0) goto fail;
    if (raw[O_RENAME] && parse_rename(raw[O_RENAME], out, spec, err) != 0) goto fail;
#undef BAD
#undef LIST

    if (out->kind == GX_SPEC_HDF5 && !out->data) {
        gx_fail(err, "spec '%s': hdf5 needs the data set to read: add data=/NAME (e.g. data=/train/data)", spec);
        goto fail;
    }
    if (out->classes && out->kind != GX_SPEC_CSV && !out->labels) {
        gx_fail(err, "spec '%s': option 'classes' names the classes of labels: give labels= too", spec);
        goto fail;
    }
    if (out->classes && out->kind == GX_SPEC_CSV && !out->label) {
        gx_fail(err, "spec '%s': option 'classes' lists the values of the label column: give label= too", spec);
        goto fail;
    }
    if (out->keep && out->drop) {
        gx_fail(err, "spec '%s': give keep= or drop=, not both", spec);
        goto fail;
    }
    return 0;
fail:
    gx_spec_free(out);
    return -1;
}

/* ---- loading ------------------------------------------------------------------------------ */

int gx_spec_data_dir(char *buf, size_t n, gx_error *err) {
    struct stat st;
    const char *env = getenv("GENXFER_DATA");
    if (env && *env) {
        if (stat(env, &st) != 0 || !S_ISDIR(st.st_mode))
            return gx_fail(err, "GENXFER_DATA=%s is not a folder (it should hold mnist/, fashion-mnist/, usps/)", env);
        snprintf(buf, n, "%s", env);
        return 0;
    }
    if (stat("../shared/data", &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(buf, n, "../shared/data");
        return 0;
    }
    return gx_fail(err, "the shared datasets were not found: set GENXFER_DATA to the folder holding "
                        "mnist/, fashion-mnist/ and usps/ (../shared/data does not exist here)");
}

static const char *const digit_names[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *const fashion_names[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

static int load_short(const gx_spec *s, gx_dataset *ds, gx_error *err) {
    char dir[4096], a[4200], b[4200];
    if (gx_spec_data_dir(dir, sizeof dir, err) != 0) return -1;
    int train = !strcmp(s->path, "train");
    if (s->kind == GX_SPEC_USPS) {
        snprintf(a, sizeof a, "%s/usps/usps.h5", dir);
        if (gx_read_hdf5(a, train ? "/train/data" : "/test/data", train ? "/train/target" : "/test/target",
                         10, ds, err) != 0)
            return -1;
        if (gx_dataset_set_image_shape(ds, 16, 16, 1, err) != 0) return -1;
        return gx_dataset_set_classes(ds, 10, digit_names, err);
    }
    const char *sub = s->kind == GX_SPEC_MNIST ? "mnist" : "fashion-mnist";
    const char *pre = train ? "train" : "t10k";
    snprintf(a, sizeof a, "%s/%s/%s-images-idx3-ubyte.gz", dir, sub, pre);
    snprintf(b, sizeof b, "%s/%s/%s-labels-idx1-ubyte.gz", dir, sub, pre);
    if (gx_read_idx(a, b, 10, ds, err) != 0) return -1;
    return gx_dataset_set_classes(ds, 10, s->kind == GX_SPEC_MNIST ? digit_names : fashion_names, err);
}

static int load_format(const gx_spec *s, gx_dataset *ds, gx_error *err) {
    int nc = list_len(s->classes);
    switch (s->kind) {
    case GX_SPEC_MNIST:
    case GX_SPEC_FASHION_MNIST:
    case GX_SPEC_USPS:
        return load_short(s, ds, err);
    case GX_SPEC_IDX:
        if (gx_read_idx(s->path, s->labels, nc, ds, err) != 0) return -1;
        break;
    case GX_SPEC_NPY:
        if (gx_read_npy_dataset(s->path, s->labels, nc, ds, err) != 0) return -1;
        break;
    case GX_SPEC_HDF5:
        if (gx_read_hdf5(s->path, s->data, s->labels, nc, ds, err) != 0) return -1;
        break;
    case GX_SPEC_CSV:
        return gx_spec_load_csv(s, ds, err);
    }
    if (nc > 0) return gx_dataset_set_classes(ds, nc, s->classes, err);
    return 0;
}

/* Replaces *ds by the rows idx[0..m-1] of it. */
static int keep_rows(gx_dataset *ds, const int64_t *idx, int64_t m, gx_error *err) {
    gx_dataset t;
    gx_dataset_init(&t);
    if (gx_dataset_subset(&t, ds, idx, m, err) != 0) {
        gx_dataset_free(&t);
        return -1;
    }
    gx_dataset_free(ds);
    *ds = t;
    return 0;
}

/* missing=drop with log10=: rows where a log10 column is not > 0 have no logarithm, so they are
 * dropped like rows with missing values. */
static int drop_nonpositive(gx_dataset *ds, const char *const *names, gx_error *err) {
    int k = 0;
    while (names[k]) k++;
    int64_t *cols = gx_calloc((size_t)(k ? k : 1), sizeof *cols, "log10 columns", err);
    int64_t *rows = cols ? gx_calloc((size_t)(ds->n ? ds->n : 1), sizeof *rows, "rows", err) : NULL;
    int64_t m = 0;
    int rc = -1;
    if (!rows) goto done;
    for (int i = 0; i < k; i++)
        if (gx_find_column(ds, names[i], &cols[i], err) != 0) goto done;
    for (int64_t r = 0; r < ds->n; r++) {
        int ok = 1;
        for (int i = 0; i < k; i++) ok &= ds->x[r * ds->d + cols[i]] > 0.0f;
        if (ok) rows[m++] = r;
    }
    if (m == 0) {
        gx_fail(err, "log10 with missing=drop: no row has positive values in every log10 column");
        goto done;
    }
    rc = m < ds->n ? keep_rows(ds, rows, m, err) : 0;
done:
    free(rows);
    free(cols);
    return rc;
}

/* The class named `name`, or -1. */
static int class_named(const gx_dataset *ds, const char *name) {
    char buf[32];
    for (int k = 0; k < ds->n_classes; k++)
        if (!strcmp(gx_dataset_class_name(ds, k, buf, sizeof buf), name)) return k;
    return -1;
}

/* Fails with "OPTION: no class 'NAME' (classes: 'a', 'b', ...)". */
static int no_class(const gx_dataset *ds, const char *option, const char *name, gx_error *err) {
    char list[400], buf[32];
    size_t len = 0;
    list[0] = '\0';
    for (int k = 0; k < ds->n_classes && len < sizeof list - 40; k++) {
        int w = snprintf(list + len, sizeof list - len, "%s'%s'", k ? ", " : "",
                         gx_dataset_class_name(ds, k, buf, sizeof buf));
        if (w < 0) break;
        len += (size_t)w;
    }
    return gx_fail(err, "%s: no class '%s' (classes: %s)", option, name, list);
}

/* rename=: class rename_from[i] is called rename_to[i]; classes with equal names after that
 * become one class, at the index of the first of them (rows relabelled, order otherwise kept). */
static int apply_rename(const gx_spec *s, gx_dataset *ds, gx_error *err) {
    if (!ds->y) return gx_fail(err, "rename= needs labels, and the data have none");
    int K = ds->n_classes, n_out = 0, rc = -1;
    size_t m = K > 0 ? (size_t)K : 1;
    const char **name = gx_calloc(m, sizeof *name, "class names", err);     /* [K] new names */
    const char **merged = gx_calloc(m, sizeof *merged, "class names", err); /* [n_out] */
    int32_t *map = gx_calloc(m, sizeof *map, "class map", err);             /* old -> new index */
    char (*num)[16] = gx_calloc(m, sizeof *num, "class names", err);        /* "0".. if unnamed */
    if (!name || !merged || !map || !num) goto done;
    for (int k = 0; k < K; k++) name[k] = gx_dataset_class_name(ds, k, num[k], sizeof num[k]);
    for (int i = 0; s->rename_from[i]; i++) {
        int k = class_named(ds, s->rename_from[i]);
        if (k < 0) {
            no_class(ds, "rename", s->rename_from[i], err);
            goto done;
        }
        name[k] = s->rename_to[i];
    }
    for (int k = 0; k < K; k++) {
        int j = 0;
        while (j < n_out && strcmp(merged[j], name[k])) j++;
        if (j == n_out) merged[n_out++] = name[k];
        map[k] = j;
    }
    if (gx_dataset_set_classes(ds, n_out, merged, err) != 0) goto done; /* copies, then frees */
    for (int64_t r = 0; r < ds->n; r++)
        if (ds->y[r] >= 0 && ds->y[r] < K) ds->y[r] = map[ds->y[r]];
    rc = 0;
done:
    free(name);
    free(merged);
    free(map);
    free(num);
    return rc;
}

static int apply_select(const gx_spec *s, gx_dataset *ds, gx_error *err) {
    if (!ds->y) return gx_fail(err, "select= needs labels, and the data have none");
    int K = ds->n_classes, n_sel = list_len(s->select);
    int *sel = gx_calloc((size_t)n_sel, sizeof *sel, "selected classes", err);
    char **names = sel ? gx_calloc((size_t)n_sel, sizeof *names, "class names", err) : NULL;
    int32_t *map = names ? gx_calloc((size_t)(K ? K : 1), sizeof *map, "class map", err) : NULL;
    int64_t *rows = NULL, n_rows = 0;
    int rc = -1;
    if (!map) goto done;
    for (int k = 0; k < K; k++) map[k] = -1;
    for (int i = 0; i < n_sel; i++) {
        char buf[32];
        int found = class_named(ds, s->select[i]);
        long long v;
        if (found < 0 && parse_int(s->select[i], 0, K - 1, &v) == 0) found = (int)v;
        if (found < 0) {
            no_class(ds, "select", s->select[i], err);
            goto done;
        }
        if (map[found] >= 0) {
            gx_fail(err, "select: class '%s' given twice", gx_dataset_class_name(ds, found, buf, sizeof buf));
            goto done;
        }
        map[found] = i;
        sel[i] = found;
        const char *nm = gx_dataset_class_name(ds, found, buf, sizeof buf);
        names[i] = gx_malloc(strlen(nm) + 1, "class name", err);
        if (!names[i]) goto done;
        strcpy(names[i], nm);
    }
    if (gx_index_of_classes(ds, NULL, 0, sel, n_sel, &rows, &n_rows, err) != 0) goto done;
    if (n_rows == 0) {
        gx_fail(err, "select: no rows of the selected classes");
        goto done;
    }
    if (keep_rows(ds, rows, n_rows, err) != 0) goto done;
    for (int64_t r = 0; r < ds->n; r++) ds->y[r] = map[ds->y[r]];
    if (gx_dataset_set_classes(ds, n_sel, (const char *const *)names, err) != 0) goto done;
    rc = 0;
done:
    if (names)
        for (int i = 0; i < n_sel; i++) free(names[i]);
    free(names);
    free(sel);
    free(map);
    free(rows);
    return rc;
}

static int apply_options(const gx_spec *s, gx_dataset *ds, gx_error *err) {
    if (s->rename_from && apply_rename(s, ds, err) != 0) return -1;
    if (s->select && apply_select(s, ds, err) != 0) return -1;
    if (s->limit > 0 && s->limit < ds->n) {
        int64_t *rows;
        if (gx_index_range(s->limit, &rows, err) != 0) return -1;
        int rc = keep_rows(ds, rows, s->limit, err);
        free(rows);
        if (rc != 0) return -1;
    }
    if (s->image_h > 0 && (int64_t)s->image_h * s->image_w != ds->d)
        return gx_fail(err, "image=%dx%d needs %lld values per row, the data have %lld", s->image_h,
                       s->image_w, (long long)s->image_h * s->image_w, (long long)ds->d);
    if (s->image_h > 0 && gx_dataset_set_image_shape(ds, s->image_h, s->image_w, 1, err) != 0)
        return -1;
    if (s->log10 && s->missing_drop && drop_nonpositive(ds, s->log10, err) != 0) return -1;
    if (s->log10 && gx_transform_log10_named(ds, s->log10, err) != 0) return -1;
    float scale = 1.0f;
    int do_scale = 0;
    if (s->has_scale) {
        scale = s->scale;
        do_scale = 1;
    } else if (s->kind == GX_SPEC_MNIST || s->kind == GX_SPEC_FASHION_MNIST) {
        scale = 1.0f / 255.0f;
        do_scale = 1;
    }
    if (do_scale && scale != 1.0f && gx_transform_scale(ds, scale, err) != 0) return -1;
    if (s->resize_h > 0 && gx_dataset_resize(ds, s->resize_h, s->resize_w, err) != 0) return -1;
    if (s->pad >= 0 && gx_dataset_pad(ds, s->pad, err) != 0) return -1;
    return 0;
}

static int cmp_float(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* impute=: the NaNs the reader left for missing values filled, column by column, with the value
 * of `fill` for the column's name (the training data's), or else the column's own median, mean
 * or 0; *used [d] (malloc'd) receives the values. */
static int impute_columns(gx_dataset *ds, gx_impute how, const char *const *names,
                          const float *fill, int n_fill, float **used, gx_error *err) {
    float *v = gx_malloc((size_t)ds->d * sizeof *v, "impute values", err);
    float *col = v ? gx_malloc((size_t)(ds->n ? ds->n : 1) * sizeof *col, "a column", err) : NULL;
    if (!v || !col) {
        free(v);
        return -1;
    }
    for (int64_t k = 0; k < ds->d; k++) {
        const char *name = ds->feature_names ? ds->feature_names[k] : NULL;
        int64_t m = 0, missing = 0;
        for (int64_t i = 0; i < ds->n; i++) {
            const float x = ds->x[i * ds->d + k];
            if (isnan(x)) missing++;
            else col[m++] = x;
        }
        v[k] = 0.0f;
        if (fill) { /* the training data's value for this column */
            int found = -1;
            for (int i = 0; i < n_fill && name && found < 0; i++)
                if (names[i] && !strcmp(names[i], name)) found = i;
            /* (a model file may hold null, no value, for a column) */
            if (missing && (found < 0 || isnan(fill[found]))) {
                free(v);
                free(col);
                return gx_fail(err, "column '%s' has missing values, and the model keeps no value "
                                    "to fill them with", name ? name : "?");
            }
            v[k] = found >= 0 ? fill[found] : NAN;
        } else if (how != GX_IMPUTE_ZERO && m == 0 && missing) {
            free(v);
            free(col);
            return gx_fail(err, "column '%s': every value is missing, so there is nothing to "
                                "impute=%s from", name ? name : "?",
                           how == GX_IMPUTE_MEDIAN ? "median" : "mean");
        } else if (how == GX_IMPUTE_MEDIAN && m > 0) {
            qsort(col, (size_t)m, sizeof *col, cmp_float);
            v[k] = m % 2 ? col[m / 2] : (float)(0.5 * ((double)col[m / 2 - 1] + col[m / 2]));
        } else if (how == GX_IMPUTE_MEAN && m > 0) {
            double sum = 0;
            for (int64_t i = 0; i < m; i++) sum += col[i];
            v[k] = (float)(sum / (double)m);
        }
        for (int64_t i = 0; i < ds->n && missing; i++)
            if (isnan(ds->x[i * ds->d + k])) ds->x[i * ds->d + k] = v[k];
    }
    free(col);
    if (used) *used = v;
    else free(v);
    return 0;
}

int gx_spec_load(const char *spec, gx_dataset *out, gx_error *err) {
    return gx_spec_load_imputed(spec, NULL, NULL, 0, NULL, out, err);
}

int gx_spec_load_imputed(const char *spec, const char *const *names, const float *fill,
                         int n_fill, float **used, gx_dataset *out, gx_error *err) {
    if (used) *used = NULL;
    gx_spec s;
    if (gx_spec_parse(spec, &s, err) != 0) return -1;
    gx_dataset ds;
    gx_dataset_init(&ds);
    float *values = NULL;
    if (load_format(&s, &ds, err) != 0 ||
        (s.impute && impute_columns(&ds, s.impute, names, fill, n_fill, &values, err) != 0) ||
        apply_options(&s, &ds, err) != 0) {
        free(values);
        gx_dataset_free(&ds);
        gx_spec_free(&s);
        return gx_fail_prefix(err, "spec '%s'", spec);
    }
    if (used) *used = values;
    else free(values);
    gx_spec_free(&s);
    snprintf(ds.source, sizeof ds.source, "%s", spec);
    gx_dataset_free(out);
    *out = ds;
    return 0;
}
