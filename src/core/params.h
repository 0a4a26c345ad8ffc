/* A model's parameters: named tensors that are views into one buffer. Gradients and the
 * optimiser's two moment buffers share the buffer's layout, so an optimiser step is one pass over
 * flat arrays. Tensors are declared first (gx_params_add), then gx_params_finalize allocates. Each
 * tensor belongs to a group (e.g. one per domain, or "head"): a group can be frozen or given its
 * own learning-rate scale, as transfer learning needs. */
#ifndef GX_PARAMS_H
#define GX_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define GX_PARAM_NAME_MAX 96
#define GX_PARAM_MAX_DIMS 4
#define GX_PARAM_MAX_GROUPS 32

typedef struct gx_param_info {
    char name[GX_PARAM_NAME_MAX]; /* e.g. "enc.0.weight" */
    int ndim;
    int64_t shape[GX_PARAM_MAX_DIMS];
    size_t offset; /* in floats from the start of the buffer; each tensor starts 16-float aligned */
    size_t size;   /* number of floats */
    int group;
} gx_param_info;

typedef struct gx_param_group {
    char name[GX_PARAM_NAME_MAX];
    bool frozen;
    float lr_scale; /* 1 by default */
} gx_param_group;

typedef struct gx_params {
    int n, cap;
    gx_param_info *info;
    int n_groups;
    gx_param_group groups[GX_PARAM_MAX_GROUPS];
    size_t total; /* floats in each buffer, padding included */
    float *data;  /* [total] values (padding is zero) */
    float *grad;  /* [total] gradients */
    float *m, *v; /* [total] optimiser moments (zeroed at finalize) */
    bool finalized;
} gx_params;

void gx_params_init(gx_params *p);
void gx_params_free(gx_params *p);

/* Returns the group id, creating the group with lr_scale 1 if it does not exist; -1 on error. */
int gx_params_group(gx_params *p, const char *name, gx_error *err);

/* Id of the named group, or -1 (creates nothing). */
int gx_params_group_find(const gx_params *p, const char *name);

/* Declares a tensor; returns its index, or -1 (duplicate name, ndim outside 1..GX_PARAM_MAX_DIMS,
 * a dimension <= 0, a group id not returned by gx_params_group, after finalize). The offset is
 * assigned here. gx_params_init creates no group: create one before adding tensors. */
int gx_params_add(gx_params *p, const char *name, int ndim, const int64_t *shape, int group,
                  gx_error *err);

/* Allocates data, grad, m and v (64-byte aligned, zeroed). */
int gx_params_finalize(gx_params *p, gx_error *err);

/* Index of the named tensor, or -1. */
int gx_params_find(const gx_params *p, const char *name);

static inline float *gx_params_value(const gx_params *p, int idx) { return p->data + p->info[idx].offset; }
static inline float *gx_params_gradient(const gx_params *p, int idx) { return p->grad + p->info[idx].offset; }

void gx_params_zero_grad(gx_params *p);

/* Number of parameters (padding excluded); only the non-frozen groups' when trainable_only. */
size_t gx_params_count(const gx_params *p, bool trainable_only);

/* Copies the values of every tensor of src into the tensor of the same name and shape in dst
 * (e.g. to start a target network from a pre-trained one). Names starting with `skip_prefix` (NULL
 * or "" skips nothing) are left alone; names only in one store are ignored. Both stores must be
 * finalized. A name present in both with different shapes is an error naming it and both shapes,
 * and then nothing is copied. Returns the number of tensors copied, or -1. */
int gx_params_copy_matching(gx_params *dst, const gx_params *src, const char *skip_prefix,
                            gx_error *err);

#endif
