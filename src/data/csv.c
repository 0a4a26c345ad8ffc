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

enum { VAL_OK, VAL_MISSING, VAL_BAD, VAL_NONFINITE, VAL_RANGE, VAL_HEX, VAL_UNDERFLOW };

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
    /* decimal only: strtod also reads C's hexadecimal floats (0x10 as 16) */
    const char *digits = s + (*s == '+' || *s == '-');
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) return VAL_HEX;
    if (errno == ERANGE && fabs(*v) > 1.0) return VAL_RANGE;
    if (!isfinite(*v)) return VAL_NONFINITE;
    if (fabs(*v) > FLT_MAX) return VAL_RANGE;
    /* a nonzero number that float32 would hold as 0 (below about 1.4e-45): not silently 0 */
    if ((float)*v == 0.0f) {
        const size_t mantissa = strcspn(s, "eE"); /* a nonzero digit before any exponent */
        for (size_t i = 0; i < mantissa; i++)
            if (s[i] >= '1' && s[i] <= '9') return VAL_UNDERFLOW;
    }
    return VAL_OK;
}

/* ---- columns ---- */

/* Finds a column by name, else by index written as digits. Returns the index, -1 if absent, -2
 * if the name is ambiguous. */
static int find_column(const char *const *names, int ncols, const char *spec) {
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

static void list_columns(char *buf, size_t n, const char *const *names, int ncols) {
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

static int resolve_one(const char *path, const char *const *names, int ncols, const char *spec,
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
static int resolve_list(const char *path, const char *const *names, int ncols, const char *const *list,
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

/* The rows read so far, from one or more files. Strings point into the files' buffers. */
typedef struct csv_rows {
    int64_t n, cap, d;
    float *x;           /* [cap, d] */
    const char **label; /* [cap]; NULL entry: unlabelled */
    char **id;          /* [cap] */
    long long *line;    /* [cap] line of the row in its file */
    int *file;          /* [cap] index of its file */
} csv_rows;

static void rows_free(csv_rows *r) {
    free(r->x);
    free(r->label);
    free(r->id);
    free(r->line);
    free(r->file);
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
    const char **l = realloc(r->label, (size_t)cap * sizeof *l);
    if (!l) return gx_fail(err, "%s: out of memory for %lld rows", path, (long long)cap);
    r->label = l;
    char **id = realloc(r->id, (size_t)cap * sizeof *id);
    if (!id) return gx_fail(err, "%s: out of memory for %lld rows", path, (long long)cap);
    r->id = id;
    long long *ln = realloc(r->line, (size_t)cap * sizeof *ln);
    if (!ln) return gx_fail(err, "%s: out of memory for %lld rows", path, (long long)cap);
    r->line = ln;
    int *file = realloc(r->file, (size_t)cap * sizeof *file);
    if (!file) return gx_fail(err, "%s: out of memory for %lld rows", path, (long long)cap);
    r->file = file;
    r->cap = cap;
    return 0;
}

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Maps the label strings to class indices into out->y and sets the class names. path names the
 * whole table in messages, paths[r->file[i]] the file of row i. */
static int map_labels(const char *path, const char *const *paths, const char *col,
                      const csv_rows *r, const char *const *classes, gx_dataset *out,
                      gx_error *err) {
    int rc = -1;
    long long *vals = NULL, *uniq = NULL;
    int32_t *slot = NULL;
    const char **names = NULL;
    char (*numbuf)[24] = NULL;
    int K = 0;

    if (classes) {
        while (classes[K]) {
            if (++K > GX_READER_MAX_CLASSES)
                return gx_fail(err, "%s: more than %d label classes given", path, GX_READER_MAX_CLASSES);
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
                               paths[r->file[i]], r->line[i], col, s, K);
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
        if (u > GX_READER_MAX_CLASSES) {
            gx_fail(err, "%s: label column '%s' has %lld distinct values; at most %d classes", path,
                    col, (long long)u, GX_READER_MAX_CLASSES);
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
                if (K == GX_READER_MAX_CLASSES) {
                    gx_fail(err, "%s: label column '%s' has more than %d distinct values", path,
                            col, GX_READER_MAX_CLASSES);
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
    unsigned char magic[2];
    if (n >= 2 && fread(magic, 1, 2, f) == 2 && gx_is_gzip_magic(magic)) {
        fclose(f);
        return gx_read_gzip_whole(path, (uint64_t)st.st_size, len, "CSV file", err);
    }
    rewind(f);
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

/* Reads path into p (freeing nothing: the caller owns p->buf, set even on failure) and parses its
 * first record, the header or the first data row, which starts at *line. */
static int open_file(csv_parser *p, const char *path, int has_header, long long *line,
                     gx_error *err) {
    p->path = path;
    p->pos = 0;
    p->line = 1;
    p->buf = read_whole_file(path, &p->len, err);
    if (!p->buf) return -1;
    const char *nul = memchr(p->buf, '\0', p->len);
    if (nul) {
        long long at = 1;
        for (const char *q = p->buf; q < nul; q++) at += *q == '\n';
        return gx_fail(err, "%s: line %lld: NUL byte; expected a text file", path, at);
    }
    if (p->len >= 3 && memcmp(p->buf, "\xEF\xBB\xBF", 3) == 0) p->pos = 3;
    int have = next_record(p, line, err);
    if (have < 0) return -1;
    if (have == 0)
        return gx_fail(err, "%s: empty file; expected %s", path,
                       has_header ? "a header line" : "data rows");
    if (p->nfields > 100000)
        return gx_fail(err, "%s: line %lld has %zu fields; at most 100000 columns", path, *line,
                       p->nfields);
    return 0;
}

/* The columns of a table, fixed by its first file. Columns 0..ncols-1 are the file's; columns
 * ncols..ncols+n_diff-1 are the differences asked for (diff k = column diff_a[k] - diff_b[k]). */
typedef struct csv_layout {
    int ncols, n_diff, d, label_col, id_col;
    const char **names;    /* [ncols + n_diff] */
    const char **header;   /* [ncols] the first file's header fields, or NULL */
    char (*gen_names)[24]; /* [ncols] "c0", "c1", ... when the columns have no names */
    int *diff_a, *diff_b;  /* [n_diff] */
    int *feat_cols;        /* [d] the column of each feature, in feature order */
    unsigned char *needed; /* [ncols] 1 for the columns whose values are parsed */
} csv_layout;

static void layout_free(csv_layout *L) {
    free(L->names);
    free(L->header);
    free(L->gen_names);
    free(L->diff_a);
    free(L->diff_b);
    free(L->feat_cols);
    free(L->needed);
    memset(L, 0, sizeof *L);
}

static int list_count(const char *const *l) {
    int k = 0;
    while (l && l[k]) k++;
    return k;
}

/* Column names: the header's, replaced by opt->column_names when given, else c0, c1, ...; then the
 * names of the differences. p holds the first record (at `line`). */
static int layout_names(csv_layout *L, const csv_parser *p, long long line,
                        const gx_csv_options *opt, gx_error *err) {
    int nc = L->ncols = (int)p->nfields;
    L->n_diff = opt->n_diffs > 0 ? opt->n_diffs : 0;
    L->names = gx_calloc((size_t)(nc + L->n_diff), sizeof *L->names, "column names", err);
    if (!L->names) return -1;
    if (opt->has_header) {
        L->header = gx_calloc((size_t)nc, sizeof *L->header, "column names", err);
        if (!L->header) return -1;
        for (int j = 0; j < nc; j++) L->header[j] = trim(p->fields[j]);
    }
    int given = list_count(opt->column_names);
    if (opt->column_names && given != nc)
        return gx_fail(err, "%s: %d column name%s given, but line %lld has %d field%s", p->path,
                       given, given == 1 ? "" : "s", line, nc, nc == 1 ? "" : "s");
    if (!opt->column_names && !L->header) {
        L->gen_names = gx_calloc((size_t)nc, sizeof *L->gen_names, "column names", err);
        if (!L->gen_names) return -1;
    }
    for (int j = 0; j < nc; j++) {
        if (opt->column_names) {
            L->names[j] = opt->column_names[j];
        } else if (L->header) {
            L->names[j] = L->header[j];
        } else {
            snprintf(L->gen_names[j], sizeof L->gen_names[j], "c%d", j);
            L->names[j] = L->gen_names[j];
        }
    }
    for (int k = 0; k < L->n_diff; k++) L->names[nc + k] = opt->diffs[k].name;
    return 0;
}

/* Resolves the columns of every difference: A and B must be columns of the file other than the
 * label and id, and the new name must be new. */
static int layout_diffs(csv_layout *L, const char *path, const gx_csv_options *opt, gx_error *err) {
    L->diff_a = gx_calloc((size_t)(L->n_diff ? L->n_diff : 1), sizeof *L->diff_a, "diffs", err);
    L->diff_b = gx_calloc((size_t)(L->n_diff ? L->n_diff : 1), sizeof *L->diff_b, "diffs", err);
    if (!L->diff_a || !L->diff_b) return -1;
    for (int k = 0; k < L->n_diff; k++) {
        const gx_csv_diff *df = &opt->diffs[k];
        if (!df->name || !*df->name || !df->a || !df->b)
            return gx_fail(err, "%s: difference %d has no name or no columns", path, k + 1);
        if (find_column(L->names, L->ncols + k, df->name) != -1 ||
            strspn(df->name, "0123456789") == strlen(df->name))
            return gx_fail(err, "%s: diff column '%s' must be a new name (there is a column called "
                           "that already, or it is a number)", path, df->name);
        int *ab[2] = {&L->diff_a[k], &L->diff_b[k]};
        const char *src[2] = {df->a, df->b};
        for (int s = 0; s < 2; s++) {
            if (resolve_one(path, L->names, L->ncols, src[s], "diff", ab[s], err) != 0) return -1;
            if (*ab[s] == L->label_col || *ab[s] == L->id_col)
                return gx_fail(err, "%s: diff '%s': column '%s' is the %s column, not a feature",
                               path, df->name, src[s], *ab[s] == L->label_col ? "label" : "id");
        }
    }
    return 0;
}

/* The features: the keep list in its order (it may name differences), else every column other
 * than the label and id followed by the differences; minus the drop list. */
static int layout_features(csv_layout *L, const char *path, const gx_csv_options *opt,
                           gx_error *err) {
    int total = L->ncols + L->n_diff;
    unsigned char *mark = gx_calloc((size_t)total, 1, "columns", err);
    L->feat_cols = gx_calloc((size_t)total, sizeof *L->feat_cols, "columns", err);
    if (!mark || !L->feat_cols) goto fail;
    if (opt->keep) {
        if (resolve_list(path, L->names, total, opt->keep, "keep", mark, err) != 0) goto fail;
        memset(mark, 0, (size_t)total);
        for (int i = 0; opt->keep[i]; i++) {
            int j = find_column(L->names, total, opt->keep[i]);
            if (j == L->label_col || j == L->id_col) {
                gx_fail(err, "%s: column '%s' is the %s column and cannot be kept as a feature",
                        path, L->names[j], j == L->label_col ? "label" : "id");
                goto fail;
            }
            if (mark[j]) {
                gx_fail(err, "%s: column '%s' is in the keep list twice", path, L->names[j]);
                goto fail;
            }
            mark[j] = 1;
            L->feat_cols[L->d++] = j;
        }
    } else {
        for (int j = 0; j < total; j++)
            if (j != L->label_col && j != L->id_col) L->feat_cols[L->d++] = j;
    }
    if (opt->drop) {
        memset(mark, 0, (size_t)total);
        if (resolve_list(path, L->names, total, opt->drop, "drop", mark, err) != 0) goto fail;
        int d = 0;
        for (int k = 0; k < L->d; k++)
            if (!mark[L->feat_cols[k]]) L->feat_cols[d++] = L->feat_cols[k];
        L->d = d;
    }
    free(mark);
    if (L->d == 0)
        return gx_fail(err, "%s: no feature columns left (after the label, id, keep and drop "
                       "choices)", path);
    return 0;
fail:
    free(mark);
    return -1;
}

/* Which columns are parsed: the file columns among the features, and the sources of the
 * differences among them. */
static int layout_needed(csv_layout *L, gx_error *err) {
    L->needed = gx_calloc((size_t)L->ncols, 1, "columns", err);
    if (!L->needed) return -1;
    for (int k = 0; k < L->d; k++) {
        int j = L->feat_cols[k];
        if (j < L->ncols) {
            L->needed[j] = 1;
        } else {
            L->needed[L->diff_a[j - L->ncols]] = 1;
            L->needed[L->diff_b[j - L->ncols]] = 1;
        }
    }
    return 0;
}

/* The layout from the first file's first record. */
static int layout_init(csv_layout *L, const csv_parser *p, long long line,
                       const gx_csv_options *opt, gx_error *err) {
    const char *path = p->path;
    L->label_col = L->id_col = -1;
    if (layout_names(L, p, line, opt, err) != 0) return -1;
    if (resolve_one(path, L->names, L->ncols, opt->label_column, "label", &L->label_col, err) != 0 ||
        resolve_one(path, L->names, L->ncols, opt->id_column, "id", &L->id_col, err) != 0)
        return -1;
    if (L->label_col >= 0 && L->label_col == L->id_col)
        return gx_fail(err, "%s: column '%s' cannot be both the label and the id", path,
                       L->names[L->label_col]);
    if (layout_diffs(L, path, opt, err) != 0 || layout_features(L, path, opt, err) != 0)
        return -1;
    return layout_needed(L, err);
}

/* A later file's header must match the first file's, field by field. */
static int check_header(const csv_layout *L, const csv_parser *p, long long line,
                        const char *first, gx_error *err) {
    if ((int)p->nfields != L->ncols)
        return gx_fail(err, "%s: line %lld has %zu field%s; expected %d (as in the header of %s)",
                       p->path, line, p->nfields, p->nfields == 1 ? "" : "s", L->ncols, first);
    for (int j = 0; j < L->ncols; j++) {
        const char *name = trim(p->fields[j]);
        if (strcmp(name, L->header[j]) != 0)
            return gx_fail(err, "%s: line %lld: column %d is '%.60s'; expected '%.60s' as in the "
                           "header of %s (the files must have the same columns; if their first "
                           "lines are data, they have no header)",
                           p->path, line, j, name, L->header[j], first);
    }
    return 0;
}

/* The message for a value that could not be used (st is one of VAL_*). */
static int value_error(const char *path, long long line, const char *col, const char *s, int st,
                       int first_row, gx_error *err) {
    switch (st) {
    case VAL_MISSING:
        return gx_fail(err, "%s: line %lld, column '%s': missing value '%s'; expected a number "
                       "(or drop rows with missing values)", path, line, col, s);
    case VAL_BAD:
        return gx_fail(err, "%s: line %lld, column '%s': '%.60s' is not a number%s", path, line,
                       col, s, first_row ? " (a text column? drop it or make it the id column)" : "");
    case VAL_NONFINITE:
        return gx_fail(err, "%s: line %lld, column '%s': non-finite value '%.60s'; expected a "
                       "finite number", path, line, col, s);
    case VAL_HEX:
        return gx_fail(err, "%s: line %lld, column '%s': '%.60s' is not a decimal number "
                       "(hexadecimal is not read)", path, line, col, s);
    case VAL_UNDERFLOW:
        return gx_fail(err, "%s: line %lld, column '%s': '%.60s' is below float32's smallest "
                       "value (1.4e-45) and would read as 0; rescale the column (e.g. log10=)",
                       path, line, col, s);
    default:
        return gx_fail(err, "%s: line %lld, column '%s': '%.60s' is out of float32 range", path,
                       line, col, s);
    }
}

/* Parses the needed values of the record in p into vals [ncols] and the features into x [d].
 * Returns 0, 1 (a value is unusable and such rows are dropped) or -1. */
static int parse_row(const csv_parser *p, long long line, const csv_layout *L,
                     const gx_csv_options *opt, int first_row, double *vals, float *x,
                     gx_error *err) {
    for (int j = 0; j < L->ncols; j++) {
        if (!L->needed[j]) continue;
        char *s = trim(p->fields[j]);
        int st = parse_value(s, &vals[j]);
        if (st == VAL_OK) continue;
        if (st == VAL_MISSING && opt->missing == GX_MISSING_KEEP) { /* filled by the caller */
            vals[j] = NAN;
            continue;
        }
        if (opt->missing == GX_MISSING_DROP) return 1;
        return value_error(p->path, line, L->names[j], s, st, first_row, err);
    }
    for (int k = 0; k < L->d; k++) {
        int j = L->feat_cols[k];
        if (j < L->ncols) {
            x[k] = (float)vals[j];
            continue;
        }
        double v = vals[L->diff_a[j - L->ncols]] - vals[L->diff_b[j - L->ncols]];
        if (fabs(v) > FLT_MAX) {
            if (opt->missing == GX_MISSING_DROP) return 1;
            return gx_fail(err, "%s: line %lld: diff column '%s' = %g is out of float32 range",
                           p->path, line, L->names[j], v);
        }
        x[k] = (float)v;
    }
    return 0;
}

/* Appends the data records of file number `file` (p at its first data record, `have` as
 * next_record returned it) to rows. Rows get the label file_label when it is not NULL. */
static int read_rows(csv_parser *p, int have, long long line, int file, const char *first,
                     const char *file_label, const csv_layout *L, const gx_csv_options *opt,
                     double *vals, csv_rows *rows, int64_t *n_dropped, gx_error *err) {
    for (; have > 0; have = next_record(p, &line, err)) {
        if ((int)p->nfields != L->ncols) {
            char as[600];
            if (file > 0) snprintf(as, sizeof as, "as in %s", first);
            else snprintf(as, sizeof as, "as %s", opt->has_header ? "in the header" : "in the first line");
            return gx_fail(err, "%s: line %lld has %zu field%s; expected %d (%s)", p->path, line,
                           p->nfields, p->nfields == 1 ? "" : "s", L->ncols, as);
        }
        if (rows_grow(rows, p->path, err) != 0) return -1;
        int st = parse_row(p, line, L, opt, rows->n == 0, vals, rows->x + rows->n * L->d, err);
        if (st < 0) return -1;
        if (st > 0) {
            (*n_dropped)++;
            continue;
        }
        char *lab = L->label_col >= 0 ? trim(p->fields[L->label_col]) : NULL;
        rows->label[rows->n] = lab && !is_missing(lab) ? lab : file_label;
        rows->id[rows->n] = L->id_col >= 0 ? p->fields[L->id_col] : NULL;
        rows->line[rows->n] = line;
        rows->file[rows->n] = file;
        rows->n++;
    }
    return have < 0 ? -1 : 0;
}

/* The distinct labels of a NULL-terminated list, in order of first appearance (NULL-terminated;
 * the strings are not copied). */
static const char **distinct(const char *const *labels, gx_error *err) {
    int n = list_count(labels), k = 0;
    const char **out = gx_calloc((size_t)n + 1, sizeof *out, "file labels", err);
    if (!out) return NULL;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < k && !seen; j++) seen = !strcmp(out[j], labels[i]);
        if (!seen) out[k++] = labels[i];
    }
    return out;
}

static int build_labels(const char *table, const char *const *paths, const char *const *file_labels,
                        const csv_layout *L, const csv_rows *rows, const gx_csv_options *opt,
                        gx_dataset *out, gx_error *err) {
    if (L->label_col >= 0)
        return map_labels(table, paths, L->names[L->label_col], rows, opt->label_classes, out, err);
    const char **classes = distinct(file_labels, err);
    if (!classes) return -1;
    int rc = map_labels(table, paths, "file", rows, classes, out, err);
    free(classes);
    return rc;
}

/* The file's columns that were not read (keep= or drop= left them out), for messages. */
static void list_unread_columns(const csv_layout *L, gx_dataset *out) {
    char *buf = out->unread_columns;
    const size_t cap = sizeof out->unread_columns;
    size_t len = 0;
    buf[0] = '\0';
    for (int j = 0; j < L->ncols; j++) {
        if (L->needed[j] || j == L->label_col || j == L->id_col) continue;
        const int w = snprintf(buf + len, cap - len, "%s%s", len ? "+" : "", L->names[j]);
        if (w < 0 || (size_t)w >= cap - len) {
            snprintf(buf + (len < cap - 4 ? len : cap - 4), 4, "...");
            return;
        }
        len += (size_t)w;
    }
}

static int build_dataset(const char *table, const char *const *paths,
                         const char *const *file_labels, const csv_layout *L, const csv_rows *rows,
                         const gx_csv_options *opt, gx_dataset *out, gx_error *err) {
    int64_t n = rows->n, d = L->d;
    gx_reader_set_source(out, table);
    if (gx_dataset_alloc(out, n, d, L->label_col >= 0 || file_labels, err) != 0)
        return gx_fail_prefix(err, "%s", table);
    memcpy(out->x, rows->x, (size_t)n * (size_t)d * sizeof(float));
    if (out->y && build_labels(table, paths, file_labels, L, rows, opt, out, err) != 0) return -1;
    out->feature_names = gx_calloc((size_t)d, sizeof *out->feature_names, "feature names", err);
    if (!out->feature_names) return -1;
    for (int64_t k = 0; k < d; k++) {
        out->feature_names[k] = strdup(L->names[L->feat_cols[k]]);
        if (!out->feature_names[k]) return gx_fail(err, "%s: out of memory for feature names", table);
    }
    list_unread_columns(L, out);
    if (L->id_col < 0) return 0;
    out->ids = gx_calloc((size_t)n, sizeof *out->ids, "ids", err);
    if (!out->ids) return -1;
    for (int64_t i = 0; i < n; i++) {
        out->ids[i] = strdup(rows->id[i]);
        if (!out->ids[i]) return gx_fail(err, "%s: out of memory for ids", table);
    }
    return 0;
}

/* Checks the arguments of gx_read_csv_files; *n_files gets the number of paths. */
static int check_args(const char *const *paths, const char *const *file_labels,
                      const gx_csv_options *opt, int *n_files, gx_error *err) {
    int n = list_count(paths);
    if (n == 0) return gx_fail(err, "CSV: no files given");
    for (int f = 0; f < n; f++)
        if (!*paths[f]) return gx_fail(err, "CSV: file %d of %d has an empty path", f + 1, n);
    if (file_labels && list_count(file_labels) != n)
        return gx_fail(err, "CSV: %d files but %d file labels", n, list_count(file_labels));
    if (file_labels && opt->label_column)
        return gx_fail(err, "%s: give a label column or file labels, not both", paths[0]);
    if (opt->n_diffs > 0 && !opt->diffs)
        return gx_fail(err, "%s: %d differences but no list of them", paths[0], opt->n_diffs);
    char delim = opt->delimiter;
    if (delim == '"' || delim == '\n' || delim == '\r')
        return gx_fail(err, "%s: invalid CSV delimiter", paths[0]);
    *n_files = n;
    return 0;
}

int gx_read_csv_files(const char *const *paths, const char *const *file_labels,
                      const gx_csv_options *opt, gx_dataset *out, int64_t *dropped,
                      gx_error *err) {
    gx_dataset_free(out);
    if (dropped) *dropped = 0;
    gx_csv_options defaults;
    if (!opt) {
        gx_csv_options_init(&defaults);
        opt = &defaults;
    }
    int n_files = 0;
    if (check_args(paths, file_labels, opt, &n_files, err) != 0) return -1;
    char table[600];
    if (n_files == 1) snprintf(table, sizeof table, "%s", paths[0]);
    else snprintf(table, sizeof table, "%s (and %d more files)", paths[0], n_files - 1);

    csv_parser p = {.delim = opt->delimiter ? opt->delimiter : ','};
    csv_layout L = {0};
    csv_rows rows = {0};
    double *vals = NULL;
    int64_t n_dropped = 0;
    int rc = -1;
    char **bufs = gx_calloc((size_t)n_files, sizeof *bufs, "CSV files", err);
    if (!bufs) return -1;
    for (int f = 0; f < n_files; f++) {
        long long line;
        int st = open_file(&p, paths[f], opt->has_header, &line, err);
        bufs[f] = p.buf;
        if (st != 0) goto fail;
        if (f == 0) {
            if (layout_init(&L, &p, line, opt, err) != 0) goto fail;
            rows.d = L.d;
            vals = gx_calloc((size_t)L.ncols, sizeof *vals, "a CSV row", err);
            if (!vals) goto fail;
        } else if (opt->has_header && check_header(&L, &p, line, paths[0], err) != 0) {
            goto fail;
        }
        int have = opt->has_header ? next_record(&p, &line, err) : 1;
        if (read_rows(&p, have, line, f, paths[0], file_labels ? file_labels[f] : NULL, &L, opt,
                      vals, &rows, &n_dropped, err) != 0)
            goto fail;
    }
    if (rows.n == 0) {
        if (n_dropped)
            gx_fail(err, "%s: all %lld data rows were dropped for missing or non-numeric values",
                    table, (long long)n_dropped);
        else
            gx_fail(err, "%s: no data rows", table);
        goto fail;
    }
    if (build_dataset(table, paths, file_labels, &L, &rows, opt, out, err) != 0) goto fail;
    if (dropped) *dropped = n_dropped;
    rc = 0;
fail:
    if (rc != 0) gx_reader_fail(out);
    rows_free(&rows);
    layout_free(&L);
    free(vals);
    for (int f = 0; f < n_files; f++) free(bufs[f]);
    free(bufs);
    free(p.fields);
    return rc;
}

int gx_read_csv(const char *path, const gx_csv_options *opt, gx_dataset *out, int64_t *dropped,
                gx_error *err) {
    if (!path || !*path) {
        gx_dataset_free(out);
        return gx_fail(err, "CSV: no path given");
    }
    const char *paths[2] = {path, NULL};
    return gx_read_csv_files(paths, NULL, opt, out, dropped, err);
}
