/* genxfer info FILE.safetensors: lists the tensors of a checkpoint (name, dtype, shape, number of
 * elements and, for F32, min/max/mean), its __metadata__ (values that are JSON objects or arrays,
 * like "config", are pretty-printed), the total number of parameters and the file size. */
#include <cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "io/safetensors.h"

static void shape_str(const gx_st_tensor *t, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i <= t->ndim; i++) {
        int w;
        if (i == t->ndim) w = snprintf(buf + len, n - len, "]");
        else w = snprintf(buf + len, n - len, "%s%lld", i ? ", " : "[", (long long)t->shape[i]);
        if (w < 0 || (size_t)w >= n - len) return;
        len += (size_t)w;
    }
    if (t->ndim == 0) snprintf(buf, n, "[]");
}

typedef struct {
    double min, max, mean;
    size_t nonfinite;
    size_t finite;
} fstats;

static void f32_stats(const gx_st_tensor *t, fstats *s) {
    const float *x = t->data;
    double sum = 0;
    s->min = INFINITY;
    s->max = -INFINITY;
    s->nonfinite = s->finite = 0;
    for (size_t i = 0; i < t->numel; i++) {
        float v = x[i];
        if (!isfinite(v)) {
            s->nonfinite++;
            continue;
        }
        if (v < s->min) s->min = v;
        if (v > s->max) s->max = v;
        sum += v;
        s->finite++;
    }
    s->mean = s->finite ? sum / (double)s->finite : NAN;
}

static const char *num(char *buf, size_t n, double v) {
    if (isnan(v) || isinf(v)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.6g", v);
    return buf;
}

/* A metadata value that is a JSON object or array, parsed; else NULL. */
static cJSON *parse_json_value(const char *v) {
    const char *p = v;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (*p != '{' && *p != '[') return NULL;
    cJSON *j = cJSON_Parse(v);
    if (j && !cJSON_IsObject(j) && !cJSON_IsArray(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static int is_container(const cJSON *j) { return cJSON_IsObject(j) || cJSON_IsArray(j); }

/* Prints a scalar (or anything, as a fallback) in compact JSON. */
static void print_compact(const cJSON *j) {
    char *s = cJSON_PrintUnformatted(j);
    fputs(s ? s : "?", stdout);
    cJSON_free(s);
}

/* Pretty-prints JSON with two-space indentation; arrays of scalars stay on one line. */
static void print_pretty(const cJSON *j, int indent) {
    if (!is_container(j)) {
        print_compact(j);
        return;
    }
    int obj = cJSON_IsObject(j), flat = !obj;
    const cJSON *c;
    cJSON_ArrayForEach(c, j) if (is_container(c)) flat = 0;
    if (!j->child) {
        fputs(obj ? "{}" : "[]", stdout);
        return;
    }
    if (flat) {
        putchar('[');
        cJSON_ArrayForEach(c, j) {
            print_compact(c);
            if (c->next) fputs(", ", stdout);
        }
        putchar(']');
        return;
    }
    puts(obj ? "{" : "[");
    cJSON_ArrayForEach(c, j) {
        printf("%*s", indent + 2, "");
        if (obj) printf("\"%s\": ", c->string ? c->string : "");
        print_pretty(c, indent + 2);
        puts(c->next ? "," : "");
    }
    printf("%*s%c", indent, "", obj ? '}' : ']');
}

static void print_text(const char *path, const gx_st_file *f, long long file_size) {
    size_t n = gx_st_count(f);
    int wname = 4, wshape = 5;
    char sh[256], a[64], b[64], c[64];
    unsigned long long total = 0, per_dtype[4] = {0};
    for (size_t i = 0; i < n; i++) {
        const gx_st_tensor *t = gx_st_tensor_at(f, i);
        int l = (int)strlen(t->name);
        if (l > wname) wname = l;
        shape_str(t, sh, sizeof sh);
        l = (int)strlen(sh);
        if (l > wshape) wshape = l;
        total += t->numel;
        if ((unsigned)t->dtype < 4) per_dtype[t->dtype] += t->numel;
    }
    if (wname > 60) wname = 60;
    printf("%s\n", path);
    printf("  file size:   %lld bytes\n", file_size);
    printf("  tensors:     %zu\n", n);
    printf("  parameters:  %llu", total);
    int kinds = 0;
    for (int d = 0; d < 4; d++) kinds += per_dtype[d] > 0;
    if (kinds > 1) {
        printf(" (");
        int first = 1;
        for (int d = 0; d < 4; d++)
            if (per_dtype[d]) {
                printf("%s%s %llu", first ? "" : ", ", gx_st_dtype_name((gx_st_dtype)d), per_dtype[d]);
                first = 0;
            }
        printf(")");
    }
    printf("\n\n");
    if (n) {
        printf("  %-*s  %-5s  %-*s %12s %12s %12s %12s\n", wname, "name", "dtype", wshape, "shape",
               "elements", "min", "max", "mean");
        for (size_t i = 0; i < n; i++) {
            const gx_st_tensor *t = gx_st_tensor_at(f, i);
            shape_str(t, sh, sizeof sh);
            printf("  %-*s  %-5s  %-*s %12zu", wname, t->name, gx_st_dtype_name(t->dtype), wshape, sh,
                   t->numel);
            if (t->dtype == GX_ST_F32 && t->numel > 0) {
                fstats s;
                f32_stats(t, &s);
                printf(" %12s %12s %12s", num(a, sizeof a, s.min), num(b, sizeof b, s.max),
                       num(c, sizeof c, s.mean));
                if (s.nonfinite) printf("  (%zu non-finite)", s.nonfinite);
            }
            printf("\n");
        }
    }
    size_t m = gx_st_metadata_count(f);
    printf("\n  metadata:    %zu key%s\n", m, m == 1 ? "" : "s");
    for (size_t i = 0; i < m; i++) {
        const char *k, *v;
        gx_st_metadata_at(f, i, &k, &v);
        cJSON *j = parse_json_value(v);
        printf("    %s: ", k);
        if (j) print_pretty(j, 4);
        else fputs(v, stdout);
        putchar('\n');
        cJSON_Delete(j);
    }
}

static cJSON *to_json(const char *path, const gx_st_file *f, long long file_size) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = cJSON_AddStringToObject(o, "path", path) != NULL;
    ok &= cJSON_AddNumberToObject(o, "file_size", (double)file_size) != NULL;
    cJSON *ts = cJSON_AddArrayToObject(o, "tensors");
    ok &= ts != NULL;
    double total = 0;
    for (size_t i = 0; ts && i < gx_st_count(f); i++) {
        const gx_st_tensor *t = gx_st_tensor_at(f, i);
        total += (double)t->numel;
        cJSON *e = cJSON_CreateObject();
        ok &= e != NULL && cJSON_AddItemToArray(ts, e);
        if (!e) break;
        ok &= cJSON_AddStringToObject(e, "name", t->name) != NULL;
        ok &= cJSON_AddStringToObject(e, "dtype", gx_st_dtype_name(t->dtype)) != NULL;
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        ok &= sh != NULL;
        for (int d = 0; sh && d < t->ndim; d++)
            ok &= cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
        ok &= cJSON_AddNumberToObject(e, "elements", (double)t->numel) != NULL;
        if (t->dtype == GX_ST_F32 && t->numel > 0) {
            fstats s;
            f32_stats(t, &s);
            if (s.finite) {
                ok &= cJSON_AddNumberToObject(e, "min", s.min) != NULL;
                ok &= cJSON_AddNumberToObject(e, "max", s.max) != NULL;
                ok &= cJSON_AddNumberToObject(e, "mean", s.mean) != NULL;
            }
            ok &= cJSON_AddNumberToObject(e, "nonfinite", (double)s.nonfinite) != NULL;
        }
    }
    ok &= cJSON_AddNumberToObject(o, "parameters", total) != NULL;
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    ok &= md != NULL;
    for (size_t i = 0; md && i < gx_st_metadata_count(f); i++) {
        const char *k, *v;
        gx_st_metadata_at(f, i, &k, &v);
        ok &= cJSON_AddStringToObject(md, k, v) != NULL;
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: genxfer info [options] FILE.safetensors\n\n"
            "Lists the tensors of a safetensors file (name, dtype, shape, number of elements, and\n"
            "min/max/mean of F32 tensors), its metadata (JSON values such as \"config\" are\n"
            "pretty-printed), the total number of parameters and the file size. The whole file is\n"
            "validated first: a damaged file is an error.\n\n"
            "options:\n"
            "  --json        print one JSON object (metadata values kept as strings) (default: text)\n"
            "  -h, --help    show this help\n\n"
            "exit status: 0 success, 1 the file cannot be read or is invalid, 2 usage error\n");
}

int cmd_info(int argc, char **argv) {
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': usage(stdout); return 0;
        case ':': return cli_usage_error("info", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_option_error("info", argv[optind - 1], longopts);
        }
    }
    if (optind >= argc) return cli_usage_error("info", "no file given (e.g. model.safetensors)");
    if (argc - optind > 1) return cli_usage_error("info", "expected one file, got %d", argc - optind);
    const char *path = argv[optind];
    if (cli_parse_only) return 0;

    gx_error err;
    gx_st_file *f = NULL;
    if (gx_st_open(path, &f, &err) != 0) return cli_error("%s", err.msg);
    struct stat st;
    long long size = stat(path, &st) == 0 ? (long long)st.st_size : -1;
    int rc = 0;
    if (json) {
        cJSON *o = to_json(path, f, size);
        char *s = o ? cJSON_Print(o) : NULL;
        if (!s) rc = cli_error("out of memory building the JSON output");
        else printf("%s\n", s);
        cJSON_free(s);
        cJSON_Delete(o);
    } else {
        print_text(path, f, size);
    }
    gx_st_close(f);
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) rc = cli_error("cannot write to stdout");
    return rc;
}
