/* Optimisers over a gx_params store: Adam, AdamW (decoupled weight decay), SGD with momentum or
 * Nesterov momentum; gradient-norm clipping; learning-rate schedules. Frozen groups are skipped;
 * each group's lr_scale multiplies the learning rate. */
#ifndef GX_OPTIM_H
#define GX_OPTIM_H

#include "core/params.h"

typedef enum { GX_OPT_ADAM, GX_OPT_ADAMW, GX_OPT_SGD } gx_opt_kind;

typedef struct gx_optim {
    gx_opt_kind kind;
    float beta1, beta2, eps; /* Adam: 0.9, 0.999, 1e-8 */
    float weight_decay;      /* Adam: L2 added to the gradient; AdamW: decoupled; SGD: L2 */
    float momentum;          /* SGD: 0.9 */
    int nesterov;            /* SGD: 0 or 1 */
    long step;               /* steps taken (Adam's bias correction uses step + 1) */
} gx_optim;

/* Defaults for a kind (the values in the comments above, all set whatever the kind; weight decay
 * 0, nesterov 0, step 0). */
void gx_optim_init(gx_optim *o, gx_opt_kind kind);

/* Parses "adam", "adamw", "sgd" (case-insensitive); -1 if unknown. */
int gx_optim_kind_parse(const char *s, gx_opt_kind *out);

/* One update of p->data from p->grad with learning rate lr; increments o->step. Each tensor uses
 * lr * lr_scale of its group (AdamW's decoupled decay too: p -= lr * lr_scale * wd * p); frozen
 * groups' values and moments are left alone. SGD keeps its momentum buffer in p->m (PyTorch
 * convention: buf = momentum * buf + g; Nesterov steps along g + momentum * buf). p->grad is not
 * modified. Does nothing before gx_params_finalize. */
void gx_optim_step(gx_optim *o, gx_params *p, float lr);

/* L2 norm of the gradients of the trainable (not frozen) groups, accumulated in double. */
double gx_grad_norm(const gx_params *p);

/* Scales the trainable gradients so that their norm is at most max_norm (no-op when max_norm <= 0
 * or the norm is not finite); returns the norm before clipping. */
double gx_clip_grad_norm(gx_params *p, double max_norm);

typedef enum { GX_SCHED_CONSTANT, GX_SCHED_COSINE, GX_SCHED_LINEAR } gx_sched_kind;

typedef struct gx_schedule {
    gx_sched_kind kind;
    float base_lr;
    float min_lr;       /* cosine/linear end value */
    long warmup_steps;  /* linear warm-up from 0 to base_lr over these steps (0 = none) */
    long total_steps;   /* cosine/linear decay end */
} gx_schedule;

/* Learning rate at step (0-based). Warm-up: base_lr * (step + 1) / warmup_steps for
 * step < warmup_steps. Then constant, or decay from base_lr at step warmup_steps to min_lr at step
 * total_steps (cosine: min + (base - min) * (1 + cos(pi * progress)) / 2; linear), min_lr after.
 * When total_steps <= warmup_steps there is no decay: base_lr after the warm-up. */
float gx_schedule_lr(const gx_schedule *s, long step);
/* Parses "constant", "cosine", "linear" (case-insensitive); -1 if unknown. */
int gx_sched_kind_parse(const char *s, gx_sched_kind *out);

#endif
