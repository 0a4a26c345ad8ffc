/* Training checkpoints as safetensors files: see checkpoint.h for the layout. */
#include "models/checkpoint.h"

#include <cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const RNG_NAMES[3] = {"rng.data", "rng.noise", "rng.augment"};

/* The progress fields, in one table for writing and reading. */
typedef struct field {
    const char *name;
    size_t offset;
    int is_double;
} field;

#define I(f) {#f, offsetof(gx_ckpt_progress, f), 0}
#define D(f) {#f, offsetof(gx_ckpt_progress, f), 1}
static const field FIELDS[] = {
    I(epochs), I(steps_per_epoch), I(epoch), I(in_epoch), I(step), I(best_epoch),
    D(best_selection), D(seconds), D(sum[0]), D(sum[1]), D(sum[2]), D(sum[3]),
    I(count[0]), I(count[1]), I(count[2]), I(count[3]),
};
#undef I
#undef D
#define N_FIELDS (sizeof FIELDS / sizeof *FIELDS)

/* {"epochs": 10, ...}: integers as they are, doubles with 17 digits (exact when read back). */
static char *progress_json(const gx_ckpt_progress *p) {
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < N_FIELDS; i++) {
        const char *at = (const char *)p + FIELDS[i].offset;
        char num[40];
        if (FIELDS[i].is_double) snprintf(num, sizeof num, "%.17g", *(const double *)at);
        else snprintf(num, sizeof num, "%" PRId64, *(const int64_t *)at);
        if (!cJSON_AddRawToObject(o, FIELDS[i].name, num)) {
            cJSON_Delete(o);
            return NULL;
        }
    }
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

static int progress_parse(const char *path, const char *json, gx_ckpt_progress *p, gx_error *err) {
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return gx_fail(err, "%s: metadata 'progress' is missing or not a JSON object", path);
    }
    for (size_t i = 0; i < N_FIELDS; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, FIELDS[i].name);
        char *at = (char *)p + FIELDS[i].offset;
        /* an integer: the range is checked on the double first (converting a number beyond
         * int64 to it is undefined behaviour) */
        if (!cJSON_IsNumber(v) ||
            (!FIELDS[i].is_double && !(fabs(v->valuedouble) <= 9007199254740992.0 &&
                                       v->valuedouble == floor(v->valuedouble)))) {
            cJSON_Delete(o);
            return gx_fail(err, "%s: metadata 'progress': '%s' must be a%s number", path,
                           FIELDS[i].name, FIELDS[i].is_double ? "" : "n integer");
        }
        if (FIELDS[i].is_double) *(double *)at = v->valuedouble;
        else *(int64_t *)at = (int64_t)v->valuedouble;
    }
    cJSON_Delete(o);
    return 0;
}

int gx_ckpt_write(const char *path, const gx_ckpt_state *s, gx_ckpt_meta_fn meta, void *ctx,
                  gx_error *err) {
    gx_st_writer *w = gx_st_writer_new(err);
    if (!w) return -1;
    const gx_params *p = s->params;
    char name[GX_PARAM_NAME_MAX + 32];
    /* the values, then per tensor its moments and best value (all borrowed until gx_st_write) */
    for (int i = 0; i < p->n; i++) {
        const gx_param_info *t = &p->info[i];
        gx_st_writer_add(w, t->name, GX_ST_F32, t->ndim, t->shape, p->data + t->offset, err);
    }
    const char *prefix[3] = {"optim.m.", "optim.v.", "best."};
    const float *buf[3] = {p->m, p->v, s->best};
    for (int b = 0; b < 3; b++)
        for (int i = 0; i < p->n; i++) {
            const gx_param_info *t = &p->info[i];
            snprintf(name, sizeof name, "%s%s", prefix[b], t->name);
            gx_st_writer_add(w, name, GX_ST_F32, t->ndim, t->shape, buf[b] + t->offset, err);
        }
    int64_t rng[3][GX_RNG_STATE_WORDS], rng_shape[1] = {GX_RNG_STATE_WORDS};
    for (int r = 0; r < 3; r++) {
        gx_rng_get_state(s->rng[r], rng[r]);
        gx_st_writer_add(w, RNG_NAMES[r], GX_ST_I64, 1, rng_shape, rng[r], err);
    }
    int64_t cursor[GX_CKPT_MAX_BATCHERS][3], cshape[1] = {3};
    for (int b = 0; b < s->n_batchers; b++) {
        const gx_batcher *bt = s->batcher[b];
        int64_t oshape[1] = {bt->m};
        gx_batcher_cursor(bt, cursor[b]);
        snprintf(name, sizeof name, "batch.%s.order", s->batcher_name[b]);
        gx_st_writer_add(w, name, GX_ST_I64, 1, oshape, bt->order, err);
        snprintf(name, sizeof name, "batch.%s.cursor", s->batcher_name[b]);
        gx_st_writer_add(w, name, GX_ST_I64, 1, cshape, cursor[b], err);
    }
    char *prog = progress_json(&s->prog);
    gx_st_writer_meta(w, "format", GX_CKPT_FORMAT, err);
    gx_st_writer_meta(w, "format_version", GX_CKPT_FORMAT_VERSION, err);
    gx_st_writer_meta(w, "progress", prog ? prog : "", err);
    free(prog);
    int rc = -1;
    if (!prog) gx_fail(err, "%s: out of memory", path);
    else if (!meta || meta(ctx, w, err) == 0) rc = gx_st_write(w, path, err);
    gx_st_writer_free(w);
    return rc;
}

int gx_ckpt_open(const char *path, gx_st_file **out, gx_error *err) {
    if (gx_st_open(path, out, err)) return -1;
    const char *fmt = gx_st_metadata(*out, "format"), *ver = gx_st_metadata(*out, "format_version");
    if (!fmt || strcmp(fmt, GX_CKPT_FORMAT) || !ver || strcmp(ver, GX_CKPT_FORMAT_VERSION)) {
        gx_fail(err, "%s: not a genxfer training checkpoint (metadata format '%s' version '%s', "
                     "expected '%s' version %s)", path, fmt ? fmt : "(none)", ver ? ver : "(none)",
                GX_CKPT_FORMAT, GX_CKPT_FORMAT_VERSION);
        gx_st_close(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* The saved counters agree with the run being resumed and with each other. */
static int check_progress(const char *path, const gx_ckpt_progress *got,
                          const gx_ckpt_progress *want, gx_error *err) {
    if (got->epochs != want->epochs || got->steps_per_epoch != want->steps_per_epoch)
        return gx_fail(err, "%s: progress: a run of %" PRId64 " epochs of %" PRId64 " steps, "
                       "expected %" PRId64 " of %" PRId64 " (the data or options differ)", path,
                       got->epochs, got->steps_per_epoch, want->epochs, want->steps_per_epoch);
    const char *bad = NULL;
    if (got->epoch < 1 || got->epoch > got->epochs + 1) bad = "epoch";
    else if (got->in_epoch < 0 || got->in_epoch >= got->steps_per_epoch ||
             (got->epoch > got->epochs && got->in_epoch)) bad = "in_epoch";
    else if (got->step != (got->epoch - 1) * got->steps_per_epoch + got->in_epoch) bad = "step";
    else if (got->best_epoch < 0 || got->best_epoch >= got->epoch) bad = "best_epoch";
    else if (!(got->seconds >= 0)) bad = "seconds";
    for (int k = 0; k < 4 && !bad; k++)
        if (got->count[k] < 0) bad = "count";
    if (bad) return gx_fail(err, "%s: progress: '%s' is inconsistent (epoch %" PRId64 ", step %"
                            PRId64 " in epoch, %" PRId64 " in all)", path, bad, got->epoch,
                            got->in_epoch, got->step);
    return 0;
}

int gx_ckpt_read(const char *path, gx_ckpt_state *s, gx_error *err) {
    gx_st_file *f;
    if (gx_ckpt_open(path, &f, err)) return -1;
    int rc = -1;
    int64_t *order = NULL;
    gx_ckpt_progress prog;
    memset(&prog, 0, sizeof prog);
    if (progress_parse(path, gx_st_metadata(f, "progress"), &prog, err) ||
        check_progress(path, &prog, &s->prog, err))
        goto done;
    gx_params *p = s->params;
    char name[GX_PARAM_NAME_MAX + 32];
    const char *prefix[4] = {"", "optim.m.", "optim.v.", "best."};
    float *buf[4] = {p->data, p->m, p->v, s->best};
    for (int b = 0; b < 4; b++)
        for (int i = 0; i < p->n; i++) {
            const gx_param_info *t = &p->info[i];
            snprintf(name, sizeof name, "%s%s", prefix[b], t->name);
            if (gx_st_read_f32(f, name, t->ndim, t->shape, buf[b] + t->offset, err)) goto done;
        }
    int64_t words[GX_RNG_STATE_WORDS], rng_shape[1] = {GX_RNG_STATE_WORDS};
    for (int r = 0; r < 3; r++) {
        if (gx_st_read(f, RNG_NAMES[r], GX_ST_I64, 1, rng_shape, words, err)) goto done;
        /* the key is the seed's, the stream id the generator's own */
        int64_t mine[GX_RNG_STATE_WORDS];
        gx_rng_get_state(s->rng[r], mine);
        if (words[0] != mine[0] || words[1] != mine[1] || words[4] != mine[4] ||
            words[5] != mine[5] || gx_rng_set_state(s->rng[r], words)) {
            gx_fail(err, "%s: tensor '%s' is not a state of this run's generator (another seed, or "
                         "damaged)", path, RNG_NAMES[r]);
            goto done;
        }
    }
    for (int b = 0; b < s->n_batchers; b++) {
        gx_batcher *bt = s->batcher[b];
        int64_t oshape[1] = {bt->m}, cshape[1] = {3}, cursor[3];
        if (!(order = gx_malloc((size_t)bt->m * sizeof *order, "batch order", err))) goto done;
        snprintf(name, sizeof name, "batch.%s.order", s->batcher_name[b]);
        if (gx_st_read(f, name, GX_ST_I64, 1, oshape, order, err)) goto done;
        snprintf(name, sizeof name, "batch.%s.cursor", s->batcher_name[b]);
        if (gx_st_read(f, name, GX_ST_I64, 1, cshape, cursor, err)) goto done;
        char what[1200];
        snprintf(what, sizeof what, "%s: tensor 'batch.%s'", path, s->batcher_name[b]);
        if (gx_batcher_set_state(bt, order, bt->m, cursor, what, err)) goto done;
        free(order);
        order = NULL;
    }
    size_t expected = 4 * (size_t)p->n + 3 + 2 * (size_t)s->n_batchers;
    if (gx_st_count(f) != expected) {
        gx_fail(err, "%s: %zu tensors, expected %zu for this run", path, gx_st_count(f), expected);
        goto done;
    }
    s->prog = prog;
    rc = 0;
done:
    free(order);
    gx_st_close(f);
    return rc;
}

uint64_t gx_ckpt_data_hash(const gx_dataset *ds) {
    uint64_t h = 14695981039346656037ull;
#define MIX(ptr, len)                                                                              \
    do {                                                                                           \
        const unsigned char *b_ = (const unsigned char *)(ptr);                                    \
        for (size_t i_ = 0; i_ < (size_t)(len); i_++) h = (h ^ b_[i_]) * 1099511628211ull;         \
    } while (0)
    int64_t shape[3] = {ds->n, ds->d, ds->y ? ds->n_classes : -1};
    MIX(shape, sizeof shape);
    MIX(ds->x, (size_t)ds->n * (size_t)ds->d * sizeof(float));
    if (ds->y) MIX(ds->y, (size_t)ds->n * sizeof(int32_t));
    for (int k = 0; ds->class_names && k < ds->n_classes; k++)
        MIX(ds->class_names[k], strlen(ds->class_names[k]) + 1);
#undef MIX
    return h;
}
