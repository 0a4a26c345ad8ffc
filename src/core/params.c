/* Parameter store: declare tensors, then allocate one buffer each for values, gradients and the
 * optimiser's two moments, all with the same layout. */
#include "core/params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GX_PARAM_ALIGN 16 /* floats: 64 bytes */

void gx_params_init(gx_params *p) {
    memset(p, 0, sizeof *p);
}

void gx_params_free(gx_params *p) {
    if (!p) return;
    free(p->info);
    free(p->data);
    free(p->grad);
    free(p->m);
    free(p->v);
    gx_params_init(p);
}

static int check_name(const char *name, const char *what, gx_error *err) {
    if (!name || !name[0]) return gx_fail(err, "%s name is empty", what);
    if (strlen(name) >= GX_PARAM_NAME_MAX)
        return gx_fail(err, "%s name '%.40s...' is too long (at most %d characters)", what, name,
                       GX_PARAM_NAME_MAX - 1);
    return 0;
}

int gx_params_group(gx_params *p, const char *name, gx_error *err) {
    if (check_name(name, "parameter group", err) != 0) return -1;
    for (int g = 0; g < p->n_groups; g++)
        if (strcmp(p->groups[g].name, name) == 0) return g;
    if (p->n_groups >= GX_PARAM_MAX_GROUPS)
        return gx_fail(err, "parameter group '%s': too many groups (at most %d)", name,
                       GX_PARAM_MAX_GROUPS);
    gx_param_group *grp = &p->groups[p->n_groups];
    memset(grp, 0, sizeof *grp);
    snprintf(grp->name, sizeof grp->name, "%s", name);
    grp->frozen = false;
    grp->lr_scale = 1.0f;
    return p->n_groups++;
}

int gx_params_group_find(const gx_params *p, const char *name) {
    if (!name) return -1;
    for (int g = 0; g < p->n_groups; g++)
        if (strcmp(p->groups[g].name, name) == 0) return g;
    return -1;
}

/* Writes "[a, b, c]" into buf. */
static void format_shape(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t used = 0;
    int w = snprintf(buf, n, "[");
    if (w > 0) used = (size_t)w;
    for (int d = 0; d < ndim && used < n; d++) {
        w = snprintf(buf + used, n - used, "%s%lld", d ? ", " : "", (long long)shape[d]);
        if (w > 0) used += (size_t)w;
    }
    if (used < n) snprintf(buf + used, n - used, "]");
}

int gx_params_add(gx_params *p, const char *name, int ndim, const int64_t *shape, int group,
                  gx_error *err) {
    if (check_name(name, "parameter", err) != 0) return -1;
    if (p->finalized)
        return gx_fail(err, "parameter '%s': cannot add a tensor after gx_params_finalize", name);
    if (gx_params_find(p, name) >= 0)
        return gx_fail(err, "parameter '%s': declared twice", name);
    if (ndim < 1 || ndim > GX_PARAM_MAX_DIMS)
        return gx_fail(err, "parameter '%s': %d dimensions (must be 1 to %d)", name, ndim,
                       GX_PARAM_MAX_DIMS);
    if (!shape) return gx_fail(err, "parameter '%s': no shape given", name);
    size_t size = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] <= 0) {
            char s[128];
            format_shape(s, sizeof s, ndim, shape);
            return gx_fail(err, "parameter '%s': dimension %d of shape %s is not positive", name,
                           d, s);
        }
        if ((uint64_t)shape[d] > SIZE_MAX / size)
            return gx_fail(err, "parameter '%s': size overflows", name);
        size *= (size_t)shape[d];
    }
    if (group < 0 || group >= p->n_groups)
        return gx_fail(err, "parameter '%s': unknown group id %d (%d groups created)", name, group,
                       p->n_groups);

    size_t offset = (p->total + GX_PARAM_ALIGN - 1) / GX_PARAM_ALIGN * GX_PARAM_ALIGN;
    if (offset < p->total || size > SIZE_MAX / sizeof(float) - offset)
        return gx_fail(err, "parameter '%s': total parameter count overflows", name);

    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 16;
        if (cap <= p->cap) return gx_fail(err, "parameter '%s': too many tensors", name);
        size_t bytes;
        if (gx_mul_size((size_t)cap, sizeof *p->info, &bytes, "parameter table", err) != 0)
            return -1;
        gx_param_info *info = realloc(p->info, bytes);
        if (!info)
            return gx_fail(err, "out of memory allocating %zu bytes for the parameter table",
                           bytes);
        p->info = info;
        p->cap = cap;
    }
    gx_param_info *in = &p->info[p->n];
    memset(in, 0, sizeof *in);
    snprintf(in->name, sizeof in->name, "%s", name);
    in->ndim = ndim;
    for (int d = 0; d < ndim; d++) in->shape[d] = shape[d];
    in->offset = offset;
    in->size = size;
    in->group = group;
    p->total = offset + size;
    return p->n++;
}

int gx_params_finalize(gx_params *p, gx_error *err) {
    if (p->finalized) return gx_fail(err, "parameters already finalized");
    /* Round the end up too, so that every buffer is a whole number of 64-byte lines. */
    size_t total = (p->total + GX_PARAM_ALIGN - 1) / GX_PARAM_ALIGN * GX_PARAM_ALIGN;
    if (total < p->total) return gx_fail(err, "total parameter count overflows");
    size_t bytes;
    if (gx_mul_size(total, sizeof(float), &bytes, "parameters", err) != 0) return -1;
    const char *what[4] = {"parameter values", "parameter gradients", "optimiser moment m",
                           "optimiser moment v"};
    float *buf[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < 4; i++) {
        buf[i] = gx_malloc_aligned(bytes, what[i], err);
        if (!buf[i]) {
            for (int j = 0; j < i; j++) free(buf[j]);
            return -1;
        }
        memset(buf[i], 0, bytes);
    }
    p->total = total;
    p->data = buf[0];
    p->grad = buf[1];
    p->m = buf[2];
    p->v = buf[3];
    p->finalized = true;
    return 0;
}

int gx_params_find(const gx_params *p, const char *name) {
    if (!name) return -1;
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->info[i].name, name) == 0) return i;
    return -1;
}

void gx_params_zero_grad(gx_params *p) {
    if (p->grad) memset(p->grad, 0, p->total * sizeof(float));
}

size_t gx_params_count(const gx_params *p, bool trainable_only) {
    size_t n = 0;
    for (int i = 0; i < p->n; i++) {
        if (trainable_only && p->groups[p->info[i].group].frozen) continue;
        n += p->info[i].size;
    }
    return n;
}

static bool same_shape(const gx_param_info *a, const gx_param_info *b) {
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return false;
    return true;
}

static bool skipped(const char *name, const char *skip_prefix) {
    return skip_prefix && skip_prefix[0] && strncmp(name, skip_prefix, strlen(skip_prefix)) == 0;
}

int gx_params_copy_matching(gx_params *dst, const gx_params *src, const char *skip_prefix,
                            gx_error *err) {
    if (!dst->finalized) return gx_fail(err, "copy parameters: destination is not finalized");
    if (!src->finalized) return gx_fail(err, "copy parameters: source is not finalized");
    /* Check every pair first so that a failure leaves dst untouched. */
    for (int i = 0; i < src->n; i++) {
        const gx_param_info *s = &src->info[i];
        if (skipped(s->name, skip_prefix)) continue;
        int j = gx_params_find(dst, s->name);
        if (j < 0) continue;
        const gx_param_info *d = &dst->info[j];
        if (!same_shape(s, d)) {
            char ss[128], ds[128];
            format_shape(ss, sizeof ss, s->ndim, s->shape);
            format_shape(ds, sizeof ds, d->ndim, d->shape);
            return gx_fail(err, "copy parameters: tensor '%s' has shape %s in the source but %s "
                                "in the destination",
                           s->name, ss, ds);
        }
    }
    int copied = 0;
    for (int i = 0; i < src->n; i++) {
        const gx_param_info *s = &src->info[i];
        if (skipped(s->name, skip_prefix)) continue;
        int j = gx_params_find(dst, s->name);
        if (j < 0) continue;
        float *to = dst->data + dst->info[j].offset;
        const float *from = src->data + s->offset;
        if (to != from) memcpy(to, from, s->size * sizeof(float));
        copied++;
    }
    return copied;
}
