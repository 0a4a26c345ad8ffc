/* The csv kind of a dataset spec: one file, or a folder of files read as one table. */
#include "data/spec_csv.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The files of a folder table: paths[i] = "DIR/NAME.csv", stems[i] = "NAME"; both
 * NULL-terminated, each string its own allocation. */
typedef struct csv_folder {
    int n;
    char **paths, **stems;
} csv_folder;

static void folder_free(csv_folder *f) {
    for (int i = 0; i < f->n; i++) {
        free(f->paths[i]);
        free(f->stems[i]);
    }
    free(f->paths);
    free(f->stems);
    memset(f, 0, sizeof *f);
}

static int is_csv_name(const char *name) {
    size_t n = strlen(name);
    return n > 4 && name[0] != '.' && !strcmp(name + n - 4, ".csv");
}

/* Appends DIR/NAME (".csv" added unless NAME has it) and its stem. f has room for it. */
static int folder_add(csv_folder *f, const char *dir, const char *name, gx_error *err) {
    size_t n = strlen(name), stem = n > 4 && !strcmp(name + n - 4, ".csv") ? n - 4 : n;
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/') dl--; /* "stars/macho/" reads as "stars/macho" */
    size_t len = dl + 1 + stem + 5;
    char *path = gx_malloc(len, "a file path", err);
    char *s = path ? gx_malloc(stem + 1, "a file name", err) : NULL;
    if (!s) {
        free(path);
        return -1;
    }
    snprintf(path, len, "%.*s/%.*s.csv", (int)dl, dir, (int)stem, name);
    memcpy(s, name, stem);
    s[stem] = '\0';
    f->paths[f->n] = path;
    f->stems[f->n] = s;
    f->n++;
    return 0;
}

static int folder_alloc(csv_folder *f, int cap, gx_error *err) {
    f->paths = gx_calloc((size_t)cap + 1, sizeof *f->paths, "file list", err);
    f->stems = f->paths ? gx_calloc((size_t)cap + 1, sizeof *f->stems, "file list", err) : NULL;
    return f->stems ? 0 : -1;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the regular *.csv files of dir, sorted (strcmp); *names NULL-terminated. */
static int list_csv_names(const char *dir, char ***names, int *n, gx_error *err) {
    DIR *d = opendir(dir);
    if (!d) return gx_fail(err, "%s: cannot read the folder: %s", dir, strerror(errno));
    int count = 0, cap = 16, rc = -1;
    char **out = gx_calloc((size_t)cap + 1, sizeof *out, "file list", err);
    for (struct dirent *e; out && (e = readdir(d));) {
        if (!is_csv_name(e->d_name)) continue;
        char path[4352];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (count == cap) {
            char **grown = realloc(out, ((size_t)cap * 2 + 1) * sizeof *out);
            if (!grown) {
                gx_fail(err, "%s: out of memory listing the folder", dir);
                goto done;
            }
            out = grown;
            cap *= 2;
        }
        if (!(out[count] = strdup(e->d_name))) {
            gx_fail(err, "%s: out of memory listing the folder", dir);
            goto done;
        }
        out[++count] = NULL;
    }
    if (!out) goto done;
    qsort(out, (size_t)count, sizeof *out, cmp_names);
    rc = 0;
done:
    closedir(d);
    if (rc != 0 && out) {
        for (int i = 0; i < count; i++) free(out[i]);
        free(out);
        return -1;
    }
    *names = out;
    *n = count;
    return rc;
}

/* "'A', 'B', ..." of the stems of names, into buf. */
static void stem_list(char *const *names, int n, char *buf, size_t size) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len + 40 < size; i++) {
        size_t stem = strlen(names[i]) - 4;
        int w = snprintf(buf + len, size - len, "%s'%.*s'", i ? ", " : "", (int)stem, names[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
    if (n == 0) snprintf(buf, size, "none");
}

/* The files of the folder dir: those named by `files` (each must exist), else all *.csv ones. */
static int folder_files(const char *dir, const char *const *files, csv_folder *f, gx_error *err) {
    char **names = NULL;
    int n = 0, rc = -1;
    if (list_csv_names(dir, &names, &n, err) != 0) return -1;
    int want = 0;
    while (files && files[want]) want++;
    if (folder_alloc(f, files ? want : n, err) != 0) goto done;
    if (!files && n == 0) {
        gx_fail(err, "%s: the folder has no .csv files", dir);
        goto done;
    }
    for (int i = 0; i < (files ? want : n); i++) {
        if (folder_add(f, dir, files ? files[i] : names[i], err) != 0) goto done;
        struct stat st;
        if (files && stat(f->paths[i], &st) != 0) {
            char have[600];
            stem_list(names, n, have, sizeof have);
            gx_fail(err, "%s: no such file (files= names files of the folder %s; its .csv files "
                    "are %s)", f->paths[i], dir, have);
            goto done;
        }
    }
    rc = 0;
done:
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

int gx_spec_load_csv(const gx_spec *s, gx_dataset *ds, gx_error *err) {
    gx_csv_options o;
    gx_csv_options_init(&o);
    o.has_header = s->header;
    o.delimiter = s->sep;
    o.column_names = s->columns;
    o.label_column = s->label;
    o.id_column = s->id;
    o.keep = s->keep;
    o.drop = s->drop;
    o.diffs = s->diffs;
    o.n_diffs = s->n_diffs;
    o.missing = s->missing_drop ? GX_MISSING_DROP : s->impute ? GX_MISSING_KEEP : GX_MISSING_ERROR;
    o.label_classes = s->classes;
    struct stat st;
    if (stat(s->path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (s->files)
            return gx_fail(err, "files= reads files of a folder, and %s is not a folder", s->path);
        return gx_read_csv(s->path, &o, ds, NULL, err);
    }
    csv_folder f = {0};
    int rc = folder_files(s->path, s->files, &f, err);
    if (rc == 0)
        rc = gx_read_csv_files((const char *const *)f.paths,
                               s->label ? NULL : (const char *const *)f.stems, &o, ds, NULL, err);
    folder_free(&f);
    return rc;
}
