/* CSV reader: a small RFC 4180 parser (quoted fields with "" escapes, CRLF or LF, optional final
 * newline, blank lines skipped, UTF-8 byte-order mark skipped) and the mapping of columns to
 * features, label and id. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/readers.h"
#include "data/readers_internal.h"

void gx_csv_options_init(gx_csv_options *o) {
    memset(o, 0, sizeof *o);
    o->has_header = 1;
    o->delimiter = ',';
    o->missing = GX_MISSING_ERROR;
}

/* ---- the tokenizer: fields are unescaped in place in buf and NUL-terminated ---- */

typedef struct csv_parser {
    const char *path;
    char *buf;     /* len + 1 bytes */
    size_t len, pos;
    char delim;
    long long line; /* 1-based line of buf[pos] */
    char **fields;
    size_t nfields, cap;
} csv_parser;

static int push_field(csv_parser *p, char *f, gx_error *err) {
    if (p->nfields == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        char **nf = realloc(p->fields, cap * sizeof *nf);
        if (!nf) return gx_fail(err, "%s: out of memory for fields at line %lld", p->path, p->line);
        p->fields = nf;
        p->cap = cap;
    }
    p->fields[p->nfields++] = f;
    return 0;
}

/* Parses the next record into p->fields. Returns 1 (a record starting at *line), 0 (end of file)
 * or -1 (error). */
static int next_record(csv_parser *p, long long *line, gx_error *err) {
    char *b = p->buf;
    p->nfields = 0;
    while (p->pos < p->len && (b[p->pos] == '\n' || b[p->pos] == '\r')) { /* blank lines */
        if (b[p->pos] == '\r' && p->pos + 1 < p->len && b[p->pos + 1] == '\n') p->pos++;
        p->pos++;
        p->line++;
    }
    if (p->pos >= p->len) return 0;
    *line = p->line;
    for (;;) {
        char *start = b + p->pos, *w = start;
        if (p->pos < p->len && b[p->pos] == '"') {
            long long qline = p->line;
            p->pos++;
            for (;;) {
                if (p->pos >= p->len)
                    return gx_fail(err, "%s: line %lld: quoted field (field %zu) is never closed",
                                   p->path, qline, p->nfields + 1);
                char c = b[p->pos];
                if (c == '"') {
                    if (p->pos + 1 < p->len && b[p->pos + 1] == '"') {
                        *w++ = '"';
                        p->pos += 2;
                        continue;
                    }
                    p->pos++;
                    break;
                }
                if (c == '\n' || (c == '\r' && !(p->pos + 1 < p->len && b[p->pos + 1] == '\n')))
                    p->line++;
                *w++ = c;
                p->pos++;
            }
            if (p->pos < p->len) {
                char c = b[p->pos];
                if (c != p->delim && c != '\n' && c != '\r')
                    return gx_fail(err,
                                   "%s: line %lld: unexpected character '%c' after the closing "
                                   "quote of field %zu; expected '%c' or the end of the line",
                                   p->path, p->line, c, p->nfields + 1, p->delim);
            }
        } else {
            while (p->pos < p->len) {
                char c = b[p->pos];
                if (c == p->delim || c == '\n' || c == '\r') break;
                p->pos++;
            }
            w = b + p->pos;
        }
        char term = p->pos < p->len ? b[p->pos] : '\0';
        *w = '\0'; /* w <= b + pos: the terminator was saved first */
        if (push_field(p, start, err) != 0) return -1;
        if (p->pos >= p->len) return 1;
        p->pos++;
        if (term == p->delim) continue;
        if (term == '\r' && p->pos < p->len && b[p->pos] == '\n') p->pos++;
        p->line++;
        return 1;
    }
}

/* ---- values ---- */

enum { VAL_OK, VAL_MISSING, VAL_BAD, VAL_NONFINITE, VAL_RANGE };

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
    return s;
}

static int is_missing(const char *s) {
    static const char *const tokens[] = {"", "NA", "N/A", "nan", "null", "none", NULL};
    for (int i = 0; tokens[i]; i++)
        if (strcasecmp(s, tokens[i]) == 0) return 1;
    return 0;
}

/* s already trimmed. */
static int parse_value(const char *s, double *v) {
    if (is_missing(s)) return VAL_MISSING;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (end == s || *end != '\0') return VAL_BAD;
    if (errno == ERANGE && fabs(*v) > 1.0) return VAL_RANGE;
    if (!isfinite(*v)) return VAL_NONFINITE;
    if (fabs(*v) > FLT_MAX) return VAL_RANGE;
    return VAL_OK;
}

/* ---- columns ---- */

/* Finds a column by name, else by index written as digits. Returns the index, -1 if absent, -2
 * if the name is ambiguous. */
static int find_column(char *const *names, int ncols, const char *spec) {
    int found = -1, count = 0;
    for (int j = 0; j < ncols; j++)
        if (strcmp(names[j], spec) == 0) {
            if (found < 0) found = j;
            count++;
        }
    if (count > 1) return -2;
    if (found >= 0) return found;
    if (!*spec || strspn(spec, "0123456789") != strlen(spec) || strlen(spec) > 9) return -1;
    long v = strtol(spec, NULL, 10);
    return v < ncols ? (int)v : -1;
}

static void list_columns(char *buf, size_t n, char *const *names, int ncols) {
    size_t len = 0;
    buf[0] = '\0';
    for (int j = 0; j < ncols && len + 1 < n; j++) {
        int w = snprintf(buf + len, n - len, "%s'%s'", j ? ", " : "", names[j]);
        if (w < 0) break;
        len += (size_t)w;
        if (len >= n - 1 && n > 4) {
            strcpy(buf + n - 4, "...");
            return;
        }
    }
}

static int resolve_one(const char *path, char *const *names, int ncols, const char *spec,
                       const char *role, int *idx, gx_error *err) {
    *idx = -1;
    if (!spec) return 0;
    int j = find_column(names, ncols, spec);
    if (j == -2)
        return gx_fail(err, "%s: %s column '%s' is ambiguous: the header names it more than once",
                       path, role, spec);
    if (j < 0) {
        char cols[400];
        list_columns(cols, sizeof cols, names, ncols);
        return gx_fail(err, "%s: %s column '%s' not found; the columns are %s", path, role, spec,
                       cols);
    }
    *idx = j;
    return 0;
}

/* Marks the columns of a NULL-terminated list in mark[]; names every unknown one. */
static int resolve_list(const char *path, char *const *names, int ncols, const char *const *list,
                        const char *role, unsigned char *mark, gx_error *err) {
    char unknown[600];
    size_t len = 0;
    int n_unknown = 0;
    unknown[0] = '\0';
    for (int i = 0; list[i]; i++) {
        int j = find_column(names, ncols, list[i]);
        if (j == -2)
            return gx_fail(err, "%s: %s column '%s' is ambiguous: the header names it more than once",
                           path, role, list[i]);
        if (j >= 0) {
            mark[j] = 1;
            continue;
        }
        if (len + 1 < sizeof unknown) {
            int w = snprintf(unknown + len, sizeof unknown - len, "%s'%s'", n_unknown ? ", " : "",
                             list[i]);
            if (w > 0) len += (size_t)w;
            if (len >= sizeof unknown) len = sizeof unknown - 1;
        }
        n_unknown++;
    }
    if (n_unknown)
        return gx_fail(err, "%s: unknown column%s in the %s list: %s", path,
                       n_unknown > 1 ? "s" : "", role, unknown);
    return 0;
}

/* ---- labels ---- */

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static int parse_integral(const char *s, long long *v) {
    double x;
    if (parse_value(s, &x) != VAL_OK || x != floor(x) || fabs(x) > 2147483647.0) return 0;
    *v = (long long)x;
    return 1;
}

typedef struct csv_rows {
    int64_t n, cap, d;
    float *x;
    char **label; /* NULL entry: unlabelled */
    char **id;
    long long *line;
} csv_rows;

static void rows_free(csv_rows *r) {
    free(r->x);
    free(r->label);
    free(r->id);
    free(r->line);
    memset(r, 0, sizeof *r);
}

static int rows_grow(csv_rows *r, const char *path, gx_error *err) {
    if (r->n < r->cap) return 0;
    int64_t cap = r->cap ? 2 * r->cap : 1024;
    size_t xb;
    if (gx_mul_size((size_t)cap, (size_t)r->d * sizeof(float), &xb, "CSV rows", err) != 0)
        return gx_fail_prefix(err, "%s", path);
    float *x = realloc(r->x, xb ? xb : 1);
    if (!x) return gx_fail(err, "%s: out of memory for %lld rows", path, (long long)cap);
    r->x = x;
    char **l = realloc(r->label, (size_t)cap * sizeof *l);
    if (!l) return gx_fail(err, "%s: out of memory for %lld rows", path, (long long)cap);
    r->label = l;
    char **id = realloc(r->id, (size_t)cap * sizeof *id);
    if (!id) return gx_fail(err, "%s: out of memory for %lld rows", path, (long long)cap);
    r->id = id;
    long long *ln = realloc(r->line, (size_t)cap * sizeof *ln);
    if (!ln) return gx_fail(err, "%s: out of memory for %lld rows", path, (long long)cap);
    r->line = ln;
    r->cap = cap;
    return 0;
}

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Maps the label strings to class indices into out->y and sets the class names. */
static int map_labels(const char *path, const char *col, const csv_rows *r,
                      const char *const *classes, gx_dataset *out, gx_error *err) {
    int rc = -1;
    long long *vals = NULL, *uniq = NULL;
    int32_t *slot = NULL;
    const char **names = NULL;
    char (*numbuf)[24] = NULL;
    int K = 0;

    if (classes) {
        while (classes[K]) {
            if (++K > GX_MAX_CLASSES)
                return gx_fail(err, "%s: more than %d label classes given", path, GX_MAX_CLASSES);
        }
        if (K == 0) return gx_fail(err, "%s: the list of label classes is empty", path);
        for (int64_t i = 0; i < r->n; i++) {
            const char *s = r->label[i];
            if (!s) continue;
            int k = -1;
            for (int c = 0; c < K && k < 0; c++)
                if (strcmp(s, classes[c]) == 0) k = c;
            long long a, b;
            if (k < 0 && parse_integral(s, &a)) /* "1.0" matches class "1" */
                for (int c = 0; c < K && k < 0; c++)
                    if (parse_integral(classes[c], &b) && a == b) k = c;
            if (k < 0)
                return gx_fail(err, "%s: line %lld, column '%s': label '%.60s' is not one of the %d "
                               "classes given",
                               path, r->line[i], col, s, K);
            out->y[i] = k;
        }
        return gx_dataset_set_classes(out, K, classes, err);
    }

    int all_int = 1, any = 0;
    vals = gx_calloc(r->n > 0 ? (size_t)r->n : 1, sizeof *vals, "labels", err);
    if (!vals) goto done;
    for (int64_t i = 0; i < r->n && all_int; i++) {
        if (!r->label[i]) continue;
        any = 1;
        all_int = parse_integral(r->label[i], &vals[i]);
    }
    if (!any) { /* every label missing */
        rc = 0;
        goto done;
    }
    if (all_int) {
        /* Integer labels: one class per distinct value, sorted numerically, named by value. */
        uniq = gx_calloc((size_t)r->n, sizeof *uniq, "labels", err);
        if (!uniq) goto done;
        int64_t m = 0;
        for (int64_t i = 0; i < r->n; i++)
            if (r->label[i]) uniq[m++] = vals[i];
        qsort(uniq, (size_t)m, sizeof *uniq, cmp_ll);
        int64_t u = 0;
        for (int64_t i = 0; i < m; i++)
            if (i == 0 || uniq[i] != uniq[u - 1]) uniq[u++] = uniq[i];
        if (u > GX_MAX_CLASSES) {
            gx_fail(err, "%s: label column '%s' has %lld distinct values; at most %d classes", path,
                    col, (long long)u, GX_MAX_CLASSES);
            goto done;
        }
        K = (int)u;
        for (int64_t i = 0; i < r->n; i++) {
            if (!r->label[i]) continue;
            long long *hit = bsearch(&vals[i], uniq, (size_t)K, sizeof *uniq, cmp_ll);
            out->y[i] = (int32_t)(hit - uniq);
        }
        numbuf = gx_calloc((size_t)K, sizeof *numbuf, "class names", err);
        names = gx_calloc((size_t)K, sizeof *names, "class names", err);
        if (!numbuf || !names) goto done;
        for (int k = 0; k < K; k++) {
            snprintf(numbuf[k], sizeof numbuf[k], "%lld", uniq[k]);
            names[k] = numbuf[k];
        }
    } else {
        /* Text labels: one class per distinct string, in order of first appearance. */
        size_t cap = 16;
        while (cap < 2 * (size_t)r->n + 2) cap *= 2;
        slot = gx_malloc(cap * sizeof *slot, "label table", err);
        names = gx_calloc((size_t)r->n, sizeof *names, "class names", err);
        if (!slot || !names) goto done;
        for (size_t i = 0; i < cap; i++) slot[i] = -1;
        for (int64_t i = 0; i < r->n; i++) {
            const char *s = r->label[i];
            if (!s) continue;
            size_t h = (size_t)hash_str(s) & (cap - 1);
            while (slot[h] >= 0 && strcmp(names[slot[h]], s) != 0) h = (h + 1) & (cap - 1);
            if (slot[h] < 0) {
                if (K == GX_MAX_CLASSES) {
                    gx_fail(err, "%s: label column '%s' has more than %d distinct values", path,
                            col, GX_MAX_CLASSES);
                    goto done;
                }
                slot[h] = K;
                names[K++] = s;
            }
            out->y[i] = slot[h];
        }
    }
    rc = gx_dataset_set_classes(out, K, names, err);
done:
    free(vals);
    free(uniq);
    free(slot);
    free(names);
    free(numbuf);
    return rc;
}

/* ---- the reader ---- */

static char *read_whole_file(const char *path, size_t *len, gx_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        gx_fail(err, "%s: cannot open CSV file: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        gx_fail(err, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    if ((uint64_t)st.st_size >= SIZE_MAX / 2) {
        gx_fail(err, "%s: file too large", path);
        fclose(f);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    char *buf = gx_malloc(n + 1, "the CSV file", err);
    if (!buf) {
        gx_fail_prefix(err, "%s", path);
        fclose(f);
        return NULL;
    }
    size_t got = fread(buf, 1, n, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != n) {
        gx_fail(err, "%s: read error (got %zu of %zu bytes)", path, got, n);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int gx_read_csv(const char *path, const gx_csv_options *opt, gx_dataset *out, int64_t *dropped,
                gx_error *err) {
    gx_dataset_free(out);
    if (dropped) *dropped = 0;
    gx_csv_options defaults;
    if (!opt) {
        gx_csv_options_init(&defaults);
        opt = &defaults;
    }
    if (!path || !*path) return gx_fail(err, "CSV: no path given");
    char delim = opt->delimiter ? opt->delimiter : ',';
    if (delim == '"' || delim == '\n' || delim == '\r')
        return gx_fail(err, "%s: invalid CSV delimiter", path);

    csv_parser p = {.path = path, .delim = delim, .line = 1};
    csv_rows rows = {0};
    char **names = NULL;
    char (*gen_names)[24] = NULL;
    unsigned char *is_feature = NULL, *mark = NULL;
    int *feat_cols = NULL;
    int ncols = 0, d = 0, label_col = -1, id_col = -1;
    long long rec_line = 0;
    int64_t n_dropped = 0;
    int have_record, rc = -1;

    p.buf = read_whole_file(path, &p.len, err);
    if (!p.buf) goto fail;
    const char *nul = memchr(p.buf, '\0', p.len);
    if (nul) {
        long long line = 1;
        for (const char *q = p.buf; q < nul; q++) line += *q == '\n';
        gx_fail(err, "%s: line %lld: NUL byte; expected a text file", path, line);
        goto fail;
    }
    if (p.len >= 3 && memcmp(p.buf, "\xEF\xBB\xBF", 3) == 0) p.pos = 3;

    have_record = next_record(&p, &rec_line, err);
    if (have_record < 0) goto fail;
    if (have_record == 0) {
        gx_fail(err, "%s: empty file; expected %s", path,
                opt->has_header ? "a header line" : "data rows");
        goto fail;
    }
    if (p.nfields > 100000) {
        gx_fail(err, "%s: line %lld has %zu fields; at most 100000 columns", path, rec_line,
                p.nfields);
        goto fail;
    }
    ncols = (int)p.nfields;
    names = gx_calloc((size_t)ncols, sizeof *names, "column names", err);
    if (!names) goto fail;
    if (opt->has_header) {
        for (int j = 0; j < ncols; j++) names[j] = trim(p.fields[j]);
        have_record = next_record(&p, &rec_line, err);
        if (have_record < 0) goto fail;
    } else {
        gen_names = gx_calloc((size_t)ncols, sizeof *gen_names, "column names", err);
        if (!gen_names) goto fail;
        for (int j = 0; j < ncols; j++) {
            snprintf(gen_names[j], sizeof gen_names[j], "c%d", j);
            names[j] = gen_names[j];
        }
    }

    /* Which columns are what. */
    if (resolve_one(path, names, ncols, opt->label_column, "label", &label_col, err) != 0 ||
        resolve_one(path, names, ncols, opt->id_column, "id", &id_col, err) != 0)
        goto fail;
    if (label_col >= 0 && label_col == id_col) {
        gx_fail(err, "%s: column '%s' cannot be both the label and the id", path, names[label_col]);
        goto fail;
    }
    is_feature = gx_calloc((size_t)ncols, 1, "columns", err);
    mark = gx_calloc((size_t)ncols, 1, "columns", err);
    feat_cols = gx_calloc((size_t)ncols, sizeof *feat_cols, "columns", err);
    if (!is_feature || !mark || !feat_cols) goto fail;
    if (opt->keep) {
        if (resolve_list(path, names, ncols, opt->keep, "keep", is_feature, err) != 0) goto fail;
        for (int j = 0; j < ncols; j++)
            if (is_feature[j] && (j == label_col || j == id_col)) {
                gx_fail(err, "%s: column '%s' is the %s column and cannot be kept as a feature",
                        path, names[j], j == label_col ? "label" : "id");
                goto fail;
            }
    } else {
        for (int j = 0; j < ncols; j++) is_feature[j] = j != label_col && j != id_col;
    }
    if (opt->drop) {
        if (resolve_list(path, names, ncols, opt->drop, "drop", mark, err) != 0) goto fail;
        for (int j = 0; j < ncols; j++)
            if (mark[j]) is_feature[j] = 0;
    }
    for (int j = 0; j < ncols; j++)
        if (is_feature[j]) feat_cols[d++] = j;
    if (d == 0) {
        gx_fail(err, "%s: no feature columns left (after the label, id, keep and drop choices)",
                path);
        goto fail;
    }
    rows.d = d;

    /* The data rows. */
    for (; have_record > 0; have_record = next_record(&p, &rec_line, err)) {
        if ((int)p.nfields != ncols) {
            gx_fail(err, "%s: line %lld has %zu field%s; expected %d (as %s)", path, rec_line,
                    p.nfields, p.nfields == 1 ? "" : "s", ncols,
                    opt->has_header ? "in the header" : "in the first line");
            goto fail;
        }
        if (rows_grow(&rows, path, err) != 0) goto fail;
        float *x = rows.x + rows.n * d;
        int bad = 0;
        for (int k = 0; k < d && !bad; k++) {
            int j = feat_cols[k];
            char *s = trim(p.fields[j]);
            double v = 0;
            int st = parse_value(s, &v);
            if (st == VAL_OK) {
                x[k] = (float)v;
                continue;
            }
            if (opt->missing == GX_MISSING_DROP) {
                bad = 1;
                break;
            }
            switch (st) {
            case VAL_MISSING:
                gx_fail(err,
                        "%s: line %lld, column '%s': missing value '%s'; expected a number "
                        "(or drop rows with missing values)",
                        path, rec_line, names[j], s);
                break;
            case VAL_BAD:
                gx_fail(err, "%s: line %lld, column '%s': '%.60s' is not a number%s", path,
                        rec_line, names[j], s,
                        rows.n == 0 ? " (a text column? drop it or make it the id column)" : "");
                break;
            case VAL_NONFINITE:
                gx_fail(err, "%s: line %lld, column '%s': non-finite value '%.60s'; expected a "
                        "finite number", path, rec_line, names[j], s);
                break;
            default:
                gx_fail(err, "%s: line %lld, column '%s': '%.60s' is out of float32 range", path,
                        rec_line, names[j], s);
                break;
            }
            goto fail;
        }
        if (bad) {
            n_dropped++;
            continue;
        }
        char *lab = label_col >= 0 ? trim(p.fields[label_col]) : NULL;
        rows.label[rows.n] = lab && !is_missing(lab) ? lab : NULL;
        rows.id[rows.n] = id_col >= 0 ? p.fields[id_col] : NULL;
        rows.line[rows.n] = rec_line;
        rows.n++;
    }
    if (have_record < 0) goto fail;
    if (rows.n == 0) {
        if (n_dropped)
            gx_fail(err, "%s: all %lld data rows were dropped for missing or non-numeric values",
                    path, (long long)n_dropped);
        else
            gx_fail(err, "%s: no data rows", path);
        goto fail;
    }

    /* The dataset. */
    gx_reader_set_source(out, path);
    if (gx_dataset_alloc(out, rows.n, d, label_col >= 0, err) != 0) {
        gx_fail_prefix(err, "%s", path);
        goto fail;
    }
    memcpy(out->x, rows.x, (size_t)rows.n * (size_t)d * sizeof(float));
    if (label_col >= 0 &&
        map_labels(path, names[label_col], &rows, opt->label_classes, out, err) != 0)
        goto fail;
    out->feature_names = gx_calloc((size_t)d, sizeof *out->feature_names, "feature names", err);
    if (!out->feature_names) goto fail;
    for (int k = 0; k < d; k++) {
        out->feature_names[k] = strdup(names[feat_cols[k]]);
        if (!out->feature_names[k]) {
            gx_fail(err, "%s: out of memory for feature names", path);
            goto fail;
        }
    }
    if (id_col >= 0) {
        out->ids = gx_calloc((size_t)rows.n, sizeof *out->ids, "ids", err);
        if (!out->ids) goto fail;
        for (int64_t i = 0; i < rows.n; i++) {
            out->ids[i] = strdup(rows.id[i]);
            if (!out->ids[i]) {
                gx_fail(err, "%s: out of memory for ids", path);
                goto fail;
            }
        }
    }
    if (dropped) *dropped = n_dropped;
    rc = 0;
fail:
    if (rc != 0) gx_reader_fail(out);
    rows_free(&rows);
    free(names);
    free(gen_names);
    free(is_feature);
    free(mark);
    free(feat_cols);
    free(p.fields);
    free(p.buf);
    return rc;
}
