#include "io/safetensors.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/atomic_file.h"

/* The data section is copied byte for byte between files and memory. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "io/safetensors.c assumes a little-endian host"
#endif

#define N_DTYPES 4
static const char *const DTYPE_NAMES[N_DTYPES] = {"F32", "I32", "I64", "U8"};
static const size_t DTYPE_SIZES[N_DTYPES] = {4, 4, 8, 1};

const char *gx_st_dtype_name(gx_st_dtype dt) {
    return (unsigned)dt < N_DTYPES ? DTYPE_NAMES[dt] : "?";
}

size_t gx_st_dtype_size(gx_st_dtype dt) { return (unsigned)dt < N_DTYPES ? DTYPE_SIZES[dt] : 0; }

/* ---- shared helpers ------------------------------------------------------------------------ */

/* Offset of the first byte of s[0..n) that is not valid UTF-8 (overlong forms, surrogates and
 * code points above U+10FFFF are invalid; so is NUL), or n when all of it is valid. */
static size_t utf8_invalid_at(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == 0) return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07, min = 0x10000;
        else return i;
        if (n - i < len) return i;
        for (size_t k = 1; k < len; k++) {
            unsigned cc = s[i + k];
            if ((cc & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += len;
    }
    return n;
}

static int valid_utf8(const char *s) {
    size_t n = strlen(s);
    return utf8_invalid_at((const unsigned char *)s, n) == n;
}

/* numel and nbytes of a shape; -1 on a negative dimension or overflow. */
static int shape_size(int ndim, const int64_t *shape, gx_st_dtype dt, size_t *numel,
                      size_t *nbytes) {
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (uint64_t)shape[i] > SIZE_MAX) return -1;
        size_t d = (size_t)shape[i];
        if (d != 0 && n > SIZE_MAX / d) return -1;
        n *= d;
    }
    size_t es = gx_st_dtype_size(dt);
    if (n > SIZE_MAX / es) return -1;
    *numel = n;
    *nbytes = n * es;
    return 0;
}

/* "[500,784]" into buf. */
static const char *shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t len = 0;
    buf[len++] = '[';
    for (int i = 0; i < ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%" PRId64, i ? "," : "", shape[i]);
    if (len + 2 > cap) len = cap - 2;
    buf[len++] = ']';
    buf[len] = '\0';
    return buf;
}
#define SHAPE_STR_MAX (GX_ST_MAX_NDIM * 22 + 4)

/* ---- writing ------------------------------------------------------------------------------- */

typedef struct st_entry {
    char *name;
    gx_st_dtype dtype;
    int ndim;
    int64_t shape[GX_ST_MAX_NDIM];
    const void *data;
    size_t nbytes;
} st_entry;

struct gx_st_writer {
    st_entry *t;
    size_t n, cap;
    char **keys, **vals;
    size_t nm, capm;
    int failed;
    gx_error first; /* the first add/meta error */
};

gx_st_writer *gx_st_writer_new(gx_error *err) {
    return gx_calloc(1, sizeof(gx_st_writer), "safetensors writer", err);
}

void gx_st_writer_free(gx_st_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) free(w->t[i].name);
    for (size_t i = 0; i < w->nm; i++) free(w->keys[i]), free(w->vals[i]);
    free(w->t);
    free(w->keys);
    free(w->vals);
    free(w);
}

static int writer_fail(gx_st_writer *w, gx_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int writer_fail(gx_st_writer *w, gx_error *err, const char *fmt, ...) {
    gx_error e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    if (!w->failed) w->failed = 1, w->first = e;
    if (err) *err = e;
    return -1;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

int gx_st_writer_add(gx_st_writer *w, const char *name, gx_st_dtype dtype, int ndim,
                     const int64_t *shape, const void *data, gx_error *err) {
    if (!name || !*name) return writer_fail(w, err, "tensor name is empty");
    if (!valid_utf8(name)) return writer_fail(w, err, "tensor name '%s' is not valid UTF-8", name);
    if (strcmp(name, "__metadata__") == 0)
        return writer_fail(w, err, "'__metadata__' is reserved and cannot name a tensor");
    if ((unsigned)dtype >= N_DTYPES)
        return writer_fail(w, err, "tensor '%s': unknown dtype %d", name, (int)dtype);
    if (ndim < 0 || ndim > GX_ST_MAX_NDIM || (ndim > 0 && !shape))
        return writer_fail(w, err, "tensor '%s': %d dimensions (0 to %d supported)", name, ndim,
                           GX_ST_MAX_NDIM);
    size_t numel, nbytes;
    if (shape_size(ndim, shape, dtype, &numel, &nbytes) != 0) {
        char s[SHAPE_STR_MAX];
        return writer_fail(w, err, "tensor '%s': invalid shape %s", name,
                           shape_str(s, sizeof s, ndim, shape));
    }
    if (nbytes > 0 && !data) return writer_fail(w, err, "tensor '%s': no data", name);
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return writer_fail(w, err, "duplicate tensor name '%s'", name);
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        st_entry *t = realloc(w->t, cap * sizeof *t);
        if (!t) return writer_fail(w, err, "out of memory adding tensor '%s'", name);
        w->t = t, w->cap = cap;
    }
    st_entry *e = &w->t[w->n];
    memset(e, 0, sizeof *e);
    if (!(e->name = dup_str(name))) return writer_fail(w, err, "out of memory adding tensor '%s'", name);
    e->dtype = dtype;
    e->ndim = ndim;
    for (int i = 0; i < ndim; i++) e->shape[i] = shape[i];
    e->data = data;
    e->nbytes = nbytes;
    w->n++;
    return 0;
}

int gx_st_writer_meta(gx_st_writer *w, const char *key, const char *value, gx_error *err) {
    if (!key || !value) return writer_fail(w, err, "metadata key or value is NULL");
    if (!valid_utf8(key)) return writer_fail(w, err, "metadata key '%s' is not valid UTF-8", key);
    if (!valid_utf8(value))
        return writer_fail(w, err, "metadata value for key '%s' is not valid UTF-8", key);
    char *v = dup_str(value);
    if (!v) return writer_fail(w, err, "out of memory adding metadata '%s'", key);
    for (size_t i = 0; i < w->nm; i++) {
        if (strcmp(w->keys[i], key) == 0) {
            free(w->vals[i]);
            w->vals[i] = v;
            return 0;
        }
    }
    if (w->nm == w->capm) {
        size_t cap = w->capm ? 2 * w->capm : 8;
        char **k = realloc(w->keys, cap * sizeof *k);
        if (k) w->keys = k;
        char **vs = k ? realloc(w->vals, cap * sizeof *vs) : NULL;
        if (vs) w->vals = vs;
        if (!k || !vs) {
            free(v);
            return writer_fail(w, err, "out of memory adding metadata '%s'", key);
        }
        w->capm = cap;
    }
    char *k = dup_str(key);
    if (!k) {
        free(v);
        return writer_fail(w, err, "out of memory adding metadata '%s'", key);
    }
    w->keys[w->nm] = k;
    w->vals[w->nm] = v;
    w->nm++;
    return 0;
}

/* Adds item to parent (under key when parent is an object); frees item on failure. */
static int json_add(cJSON *parent, const char *key, cJSON *item) {
    if (!item) return -1;
    cJSON_bool ok = key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item);
    if (!ok) {
        cJSON_Delete(item);
        return -1;
    }
    return 0;
}

/* Integers are written as raw text: cJSON would print large ones through a double. */
static cJSON *json_int(int64_t v) {
    char s[32];
    snprintf(s, sizeof s, "%" PRId64, v);
    return cJSON_CreateRaw(s);
}

static cJSON *build_header(const gx_st_writer *w) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    if (w->nm > 0) {
        cJSON *meta = cJSON_CreateObject();
        if (json_add(root, "__metadata__", meta) != 0) goto fail;
        for (size_t i = 0; i < w->nm; i++)
            if (json_add(meta, w->keys[i], cJSON_CreateString(w->vals[i])) != 0) goto fail;
    }
    int64_t off = 0;
    for (size_t i = 0; i < w->n; i++) {
        const st_entry *t = &w->t[i];
        cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *offs = cJSON_CreateArray();
        if (json_add(root, t->name, e) != 0) {
            cJSON_Delete(shape), cJSON_Delete(offs);
            goto fail;
        }
        if (json_add(e, "dtype", cJSON_CreateString(DTYPE_NAMES[t->dtype])) != 0) {
            cJSON_Delete(shape), cJSON_Delete(offs);
            goto fail;
        }
        if (json_add(e, "shape", shape) != 0) {
            cJSON_Delete(offs);
            goto fail;
        }
        if (json_add(e, "data_offsets", offs) != 0) goto fail;
        for (int d = 0; d < t->ndim; d++)
            if (json_add(shape, NULL, json_int(t->shape[d])) != 0) goto fail;
        if (json_add(offs, NULL, json_int(off)) != 0) goto fail;
        off += (int64_t)t->nbytes;
        if (json_add(offs, NULL, json_int(off)) != 0) goto fail;
    }
    return root;
fail:
    cJSON_Delete(root);
    return NULL;
}

int gx_st_write(const gx_st_writer *w, const char *path, gx_error *err) {
    if (w->failed) return gx_fail(err, "%s: %s", path, w->first.msg);
    cJSON *root = build_header(w);
    char *text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) return gx_fail(err, "%s: out of memory building the safetensors header", path);
    size_t len = strlen(text);
    size_t hlen = (len + 7) & ~(size_t)7; /* the data section starts 8-aligned */
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    static const char spaces[8] = "        ";

    gx_atomic_file *af;
    if (gx_atomic_open(path, &af, err) != 0) {
        cJSON_free(text);
        return -1;
    }
    int rc = gx_atomic_write(af, le, 8, err);
    if (rc == 0) rc = gx_atomic_write(af, text, len, err);
    if (rc == 0) rc = gx_atomic_write(af, spaces, hlen - len, err);
    for (size_t i = 0; rc == 0 && i < w->n; i++)
        rc = gx_atomic_write(af, w->t[i].data, w->t[i].nbytes, err);
    cJSON_free(text);
    if (rc != 0) {
        gx_atomic_abort(af);
        return -1;
    }
    return gx_atomic_commit(af, err);
}

/* ---- reading ------------------------------------------------------------------------------- */

typedef struct name_idx {
    const char *name;
    size_t idx;
} name_idx;

struct gx_st_file {
    char *path;
    cJSON *root;         /* the parsed header: names and metadata strings point into it */
    gx_st_tensor *t;     /* [n] in data-offset order */
    size_t n;
    name_idx *by_name;   /* [n] sorted by name */
    const char **mkeys;  /* [nm] header order */
    const char **mvals;
    size_t nm;
    name_idx *meta_by_key;
    void *arena;         /* every tensor's data, each 64-byte aligned */
};

static int cmp_name_idx(const void *a, const void *b) {
    const name_idx *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Index of the first duplicate in a sorted array, or -1. */
static long first_duplicate(const name_idx *a, size_t n) {
    for (size_t i = 1; i < n; i++)
        if (strcmp(a[i - 1].name, a[i].name) == 0) return (long)i;
    return -1;
}

static const name_idx *lookup(const name_idx *a, size_t n, const char *name) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(a[mid].name, name);
        if (c == 0) return &a[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* A JSON number that is a non-negative integer exactly representable in a double. */
static int json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!isfinite(d) || d < 0 || d > 9007199254740992.0 || floor(d) != d) return -1;
    *out = (uint64_t)d;
    return 0;
}

typedef struct st_rec {
    uint64_t begin, end;
    size_t hdr_idx;
    gx_st_tensor t;
} st_rec;

static int cmp_rec(const void *a, const void *b) {
    const st_rec *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x->hdr_idx > y->hdr_idx) - (x->hdr_idx < y->hdr_idx);
}

/* Validates one tensor entry of the header into r. */
static int parse_entry(const char *path, const cJSON *item, uint64_t data_size, st_rec *r,
                       gx_error *err) {
    const char *name = item->string;
    if (!cJSON_IsObject(item))
        return gx_fail(err, "%s: tensor '%s': entry is not an object", path, name);
    const cJSON *dtype = NULL, *shape = NULL, *offs = NULL;
    for (const cJSON *c = item->child; c; c = c->next) {
        const cJSON **slot = strcmp(c->string, "dtype") == 0          ? &dtype
                             : strcmp(c->string, "shape") == 0        ? &shape
                             : strcmp(c->string, "data_offsets") == 0 ? &offs
                                                                      : NULL;
        if (!slot) continue; /* unknown keys are allowed */
        if (*slot) return gx_fail(err, "%s: tensor '%s': duplicate key \"%s\"", path, name, c->string);
        *slot = c;
    }
    if (!dtype) return gx_fail(err, "%s: tensor '%s': missing \"dtype\"", path, name);
    if (!shape) return gx_fail(err, "%s: tensor '%s': missing \"shape\"", path, name);
    if (!offs) return gx_fail(err, "%s: tensor '%s': missing \"data_offsets\"", path, name);

    if (!cJSON_IsString(dtype))
        return gx_fail(err, "%s: tensor '%s': dtype is not a string", path, name);
    int dt = -1;
    for (int i = 0; i < N_DTYPES; i++)
        if (strcmp(dtype->valuestring, DTYPE_NAMES[i]) == 0) dt = i;
    if (dt < 0)
        return gx_fail(err, "%s: tensor '%s': unknown or unsupported dtype '%s' (supported: F32, "
                       "I32, I64, U8)", path, name, dtype->valuestring);
    r->t.dtype = (gx_st_dtype)dt;

    if (!cJSON_IsArray(shape))
        return gx_fail(err, "%s: tensor '%s': shape is not an array of non-negative integers",
                       path, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > GX_ST_MAX_NDIM)
        return gx_fail(err, "%s: tensor '%s': shape has %d dimensions (at most %d supported)",
                       path, name, ndim, GX_ST_MAX_NDIM);
    int d = 0;
    for (const cJSON *c = shape->child; c; c = c->next, d++) {
        uint64_t v;
        if (json_uint(c, &v) != 0)
            return gx_fail(err, "%s: tensor '%s': shape is not an array of non-negative integers",
                           path, name);
        r->t.shape[d] = (int64_t)v;
    }
    r->t.ndim = ndim;
    char s[SHAPE_STR_MAX];
    if (shape_size(ndim, r->t.shape, r->t.dtype, &r->t.numel, &r->t.nbytes) != 0)
        return gx_fail(err, "%s: tensor '%s': shape %s is too large", path, name,
                       shape_str(s, sizeof s, ndim, r->t.shape));

    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        json_uint(offs->child, &r->begin) != 0 || json_uint(offs->child->next, &r->end) != 0)
        return gx_fail(err, "%s: tensor '%s': data_offsets is not a pair of non-negative "
                       "integers [begin, end]", path, name);
    if (r->begin > r->end)
        return gx_fail(err, "%s: tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64 "] have begin "
                       "> end", path, name, r->begin, r->end);
    if (r->end > data_size)
        return gx_fail(err, "%s: tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64 "] out of range "
                       "(the data section has %" PRIu64 " bytes)", path, name, r->begin, r->end,
                       data_size);
    if (r->end - r->begin != r->t.nbytes)
        return gx_fail(err, "%s: tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64 "] hold %" PRIu64
                       " bytes but shape %s of %s needs %zu bytes", path, name, r->begin, r->end,
                       r->end - r->begin, shape_str(s, sizeof s, ndim, r->t.shape),
                       DTYPE_NAMES[dt], r->t.nbytes);
    r->t.name = name;
    return 0;
}

static int parse_metadata(const char *path, gx_st_file *f, const cJSON *meta, gx_error *err) {
    if (!cJSON_IsObject(meta)) return gx_fail(err, "%s: __metadata__ is not an object", path);
    size_t n = 0;
    for (const cJSON *c = meta->child; c; c = c->next) {
        if (!cJSON_IsString(c))
            return gx_fail(err, "%s: __metadata__ value for key '%s' is not a string", path,
                           c->string);
        n++;
    }
    f->mkeys = gx_calloc(n, sizeof *f->mkeys, "metadata", err);
    f->mvals = gx_calloc(n, sizeof *f->mvals, "metadata", err);
    f->meta_by_key = gx_calloc(n, sizeof *f->meta_by_key, "metadata", err);
    if (!f->mkeys || !f->mvals || !f->meta_by_key) return gx_fail_prefix(err, "%s", path);
    for (const cJSON *c = meta->child; c; c = c->next, f->nm++) {
        f->mkeys[f->nm] = c->string;
        f->mvals[f->nm] = c->valuestring;
        f->meta_by_key[f->nm] = (name_idx){c->string, f->nm};
    }
    qsort(f->meta_by_key, n, sizeof *f->meta_by_key, cmp_name_idx);
    long dup = first_duplicate(f->meta_by_key, n);
    if (dup >= 0)
        return gx_fail(err, "%s: duplicate __metadata__ key '%s'", path, f->meta_by_key[dup].name);
    return 0;
}

/* Parses and validates the header text (hlen bytes, NUL-terminated) and lays out f->t. */
static int parse_header(const char *path, gx_st_file *f, const char *text, size_t hlen,
                        uint64_t data_size, gx_error *err) {
    size_t bad = utf8_invalid_at((const unsigned char *)text, hlen);
    if (bad < hlen)
        return gx_fail(err, "%s: header is not valid UTF-8 text (byte %zu of the header)", path, bad);
    const char *end = NULL;
    f->root = cJSON_ParseWithLengthOpts(text, hlen, &end, 0);
    if (!f->root)
        return gx_fail(err, "%s: header is not valid JSON (near byte %td of the header)", path,
                       end ? end - text : (ptrdiff_t)0);
    for (const char *p = end; p < text + hlen; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return gx_fail(err, "%s: unexpected text after the JSON header (byte %td of the "
                           "header)", path, p - text);
    if (!cJSON_IsObject(f->root)) return gx_fail(err, "%s: header is not a JSON object", path);

    size_t n_items = 0;
    const cJSON *meta = NULL;
    for (const cJSON *c = f->root->child; c; c = c->next) {
        if (strcmp(c->string, "__metadata__") == 0) {
            if (meta) return gx_fail(err, "%s: duplicate __metadata__", path);
            meta = c;
        } else {
            n_items++;
        }
    }
    if (meta && parse_metadata(path, f, meta, err) != 0) return -1;

    st_rec *rec = gx_calloc(n_items, sizeof *rec, "tensor table", err);
    f->t = gx_calloc(n_items, sizeof *f->t, "tensor table", err);
    f->by_name = gx_calloc(n_items, sizeof *f->by_name, "tensor table", err);
    if (!rec || !f->t || !f->by_name) {
        free(rec);
        return gx_fail_prefix(err, "%s", path);
    }
    size_t k = 0;
    for (const cJSON *c = f->root->child; c; c = c->next) {
        if (c == meta) continue;
        rec[k].hdr_idx = k;
        if (parse_entry(path, c, data_size, &rec[k], err) != 0) {
            free(rec);
            return -1;
        }
        f->by_name[k] = (name_idx){c->string, k};
        k++;
    }
    qsort(f->by_name, n_items, sizeof *f->by_name, cmp_name_idx);
    long dup = first_duplicate(f->by_name, n_items);
    if (dup >= 0) {
        free(rec);
        return gx_fail(err, "%s: duplicate tensor name '%s'", path, f->by_name[dup].name);
    }

    /* Contiguity: sorted by offset, each tensor starts where the previous one ended. */
    qsort(rec, n_items, sizeof *rec, cmp_rec);
    uint64_t pos = 0;
    int rc = 0;
    for (size_t i = 0; i < n_items && rc == 0; i++) {
        if (rec[i].begin < pos)
            rc = gx_fail(err, "%s: tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64 "] overlap "
                         "tensor '%s'", path, rec[i].t.name, rec[i].begin, rec[i].end,
                         rec[i - 1].t.name);
        else if (rec[i].begin > pos)
            rc = gx_fail(err, "%s: gap of %" PRIu64 " bytes in the data section before tensor "
                         "'%s' (data_offsets [%" PRIu64 ",%" PRIu64 "])", path, rec[i].begin - pos,
                         rec[i].t.name, rec[i].begin, rec[i].end);
        pos = rec[i].end;
    }
    if (rc == 0 && pos != data_size)
        rc = gx_fail(err, "%s: %" PRIu64 " trailing bytes after the data section (the tensors "
                     "cover %" PRIu64 " of %" PRIu64 " bytes)", path, data_size - pos, pos,
                     data_size);
    if (rc == 0) {
        for (size_t i = 0; i < n_items; i++) f->t[i] = rec[i].t;
        /* by_name indices refer to header order; map them to data-offset order. */
        size_t *pos_of = gx_calloc(n_items, sizeof *pos_of, "tensor table", err);
        if (!pos_of) {
            rc = gx_fail_prefix(err, "%s", path);
        } else {
            for (size_t i = 0; i < n_items; i++) pos_of[rec[i].hdr_idx] = i;
            for (size_t i = 0; i < n_items; i++) f->by_name[i].idx = pos_of[f->by_name[i].idx];
            free(pos_of);
            f->n = n_items;
        }
    }
    free(rec);
    return rc;
}

/* Reads every tensor, in data-offset order, into a 64-byte aligned slot of one arena. */
static int read_data(const char *path, gx_st_file *f, FILE *fp, gx_error *err) {
    size_t total = 0;
    for (size_t i = 0; i < f->n; i++) {
        size_t slot = (total + 63) & ~(size_t)63;
        if (slot < total || f->t[i].nbytes > SIZE_MAX - slot)
            return gx_fail(err, "%s: tensors too large for memory", path);
        total = slot + f->t[i].nbytes;
    }
    f->arena = gx_malloc_aligned(total, "tensor data", err);
    if (!f->arena) return gx_fail_prefix(err, "%s", path);
    size_t off = 0;
    for (size_t i = 0; i < f->n; i++) {
        off = (off + 63) & ~(size_t)63;
        char *dst = (char *)f->arena + off;
        if (f->t[i].nbytes > 0 && fread(dst, 1, f->t[i].nbytes, fp) != f->t[i].nbytes)
            return gx_fail(err, "%s: read failed in tensor '%s': %s", path, f->t[i].name,
                           ferror(fp) ? strerror(errno) : "file truncated");
        f->t[i].data = dst;
        off += f->t[i].nbytes;
    }
    return 0;
}

int gx_st_open(const char *path, gx_st_file **out, gx_error *err) {
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return gx_fail(err, "%s: cannot open: %s", path, strerror(errno));
    gx_st_file *f = NULL;
    char *text = NULL;
    struct stat st;
    if (fstat(fileno(fp), &st) != 0) {
        gx_fail(err, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        gx_fail(err, "%s: not a regular file", path);
        goto fail;
    }
    uint64_t fsize = (uint64_t)st.st_size;
    if (fsize < 8) {
        gx_fail(err, "%s: file too short (%" PRIu64 " bytes) for a safetensors file: it must "
                "start with an 8-byte header length", path, fsize);
        goto fail;
    }
    unsigned char le[8];
    if (fread(le, 1, 8, fp) != 8) {
        gx_fail(err, "%s: read failed: %s", path, ferror(fp) ? strerror(errno) : "file truncated");
        goto fail;
    }
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)le[i] << (8 * i);
    /* a length that the file cannot hold, and no '{' after it: not a safetensors file at all
     * (a README, a CSV, a PNG), whatever its first 8 bytes say as a length */
    const int first = fsize > 8 ? fgetc(fp) : '{';
    if ((hlen > GX_ST_MAX_HEADER || hlen > fsize - 8) && first != '{') {
        gx_fail(err, "%s: not a safetensors file (it must start with an 8-byte header length, "
                     "then a JSON header)", path);
        goto fail;
    }
    if (fsize > 8 && ungetc(first, fp) == EOF) {
        gx_fail(err, "%s: read failed: %s", path, strerror(errno));
        goto fail;
    }
    if (hlen > GX_ST_MAX_HEADER) {
        gx_fail(err, "%s: header length %" PRIu64 " exceeds the limit of %u bytes (100 MB)", path,
                hlen, GX_ST_MAX_HEADER);
        goto fail;
    }
    if (hlen > fsize - 8) {
        gx_fail(err, "%s: header length %" PRIu64 " exceeds the file size (%" PRIu64 " bytes)",
                path, hlen, fsize);
        goto fail;
    }
    f = gx_calloc(1, sizeof *f, "safetensors file", err);
    if (!f || !(f->path = dup_str(path))) {
        gx_fail(err, "%s: out of memory", path);
        goto fail;
    }
    text = gx_malloc((size_t)hlen + 1, "safetensors header", err);
    if (!text) {
        gx_fail_prefix(err, "%s", path);
        goto fail;
    }
    if (fread(text, 1, (size_t)hlen, fp) != (size_t)hlen) {
        gx_fail(err, "%s: read failed: %s", path, ferror(fp) ? strerror(errno) : "file truncated");
        goto fail;
    }
    text[hlen] = '\0';
    if (parse_header(path, f, text, (size_t)hlen, fsize - 8 - hlen, err) != 0) goto fail;
    free(text);
    text = NULL;
    if (read_data(path, f, fp, err) != 0) goto fail;
    fclose(fp);
    *out = f;
    return 0;
fail:
    free(text);
    gx_st_close(f);
    fclose(fp);
    return -1;
}

void gx_st_close(gx_st_file *f) {
    if (!f) return;
    cJSON_Delete(f->root);
    free(f->path);
    free(f->t);
    free(f->by_name);
    free(f->mkeys);
    free(f->mvals);
    free(f->meta_by_key);
    free(f->arena);
    free(f);
}

const char *gx_st_path(const gx_st_file *f) { return f->path; }

const gx_st_tensor *gx_st_find(const gx_st_file *f, const char *name) {
    const name_idx *p = lookup(f->by_name, f->n, name);
    return p ? &f->t[p->idx] : NULL;
}

size_t gx_st_count(const gx_st_file *f) { return f->n; }

size_t gx_st_f32_values(const gx_st_file *f) {
    size_t values = 0;
    for (size_t i = 0; i < f->n; i++)
        if (gx_st_tensor_at(f, i)->dtype == GX_ST_F32) values += gx_st_tensor_at(f, i)->numel;
    return values;
}

const gx_st_tensor *gx_st_tensor_at(const gx_st_file *f, size_t i) {
    return i < f->n ? &f->t[i] : NULL;
}

const char *gx_st_metadata(const gx_st_file *f, const char *key) {
    const name_idx *p = lookup(f->meta_by_key, f->nm, key);
    return p ? f->mvals[p->idx] : NULL;
}

size_t gx_st_metadata_count(const gx_st_file *f) { return f->nm; }

void gx_st_metadata_at(const gx_st_file *f, size_t i, const char **key, const char **value) {
    *key = i < f->nm ? f->mkeys[i] : NULL;
    *value = i < f->nm ? f->mvals[i] : NULL;
}

int gx_st_read(const gx_st_file *f, const char *name, gx_st_dtype dtype, int ndim,
               const int64_t *shape, void *dst, gx_error *err) {
    const gx_st_tensor *t = gx_st_find(f, name);
    if (!t) return gx_fail(err, "%s: no tensor named '%s'", f->path, name);
    if (t->dtype != dtype)
        return gx_fail(err, "%s: tensor '%s' has dtype %s, expected %s", f->path, name,
                       gx_st_dtype_name(t->dtype), gx_st_dtype_name(dtype));
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
        int nd = ndim < 0 ? 0 : ndim > GX_ST_MAX_NDIM ? GX_ST_MAX_NDIM : ndim;
        return gx_fail(err, "%s: tensor '%s' has shape %s, expected %s", f->path, name,
                       shape_str(a, sizeof a, t->ndim, t->shape), shape_str(b, sizeof b, nd, shape));
    }
    if (t->nbytes > 0) memcpy(dst, t->data, t->nbytes);
    return 0;
}

int gx_st_read_f32(const gx_st_file *f, const char *name, int ndim, const int64_t *shape,
                   float *dst, gx_error *err) {
    return gx_st_read(f, name, GX_ST_F32, ndim, shape, dst, err);
}
