/* Adam, AdamW and SGD (momentum, Nesterov) over a gx_params store; gradient clipping; schedules. */
#include "core/optim.h"

#include <math.h>
#include <strings.h>

void gx_optim_init(gx_optim *o, gx_opt_kind kind) {
    o->kind = kind;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
    o->weight_decay = 0.0f;
    o->momentum = 0.9f;
    o->nesterov = 0;
    o->step = 0;
}

int gx_optim_kind_parse(const char *s, gx_opt_kind *out) {
    if (!s) return -1;
    if (strcasecmp(s, "adam") == 0) *out = GX_OPT_ADAM;
    else if (strcasecmp(s, "adamw") == 0) *out = GX_OPT_ADAMW;
    else if (strcasecmp(s, "sgd") == 0) *out = GX_OPT_SGD;
    else return -1;
    return 0;
}

/* Adam (wd_l2 = L2 coefficient added to the gradient) or AdamW (wd_decoupled = lr * wd) on n
 * floats. step_size = lr / (1 - beta1^t); inv_bc2_sqrt = 1 / sqrt(1 - beta2^t). */
static void adam_update(float *restrict w, const float *restrict g, float *restrict m,
                        float *restrict v, size_t n, float beta1, float beta2, float eps,
                        float wd_l2, float decay, float step_size, float inv_bc2_sqrt) {
    const float one_b1 = 1.0f - beta1, one_b2 = 1.0f - beta2;
#pragma omp parallel for simd if (n > ((size_t)1 << 15))
    for (size_t i = 0; i < n; i++) {
        float wi = w[i] * decay;
        float gi = g[i] + wd_l2 * w[i];
        float mi = beta1 * m[i] + one_b1 * gi;
        float vi = beta2 * v[i] + one_b2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] = wi - step_size * mi / (sqrtf(vi) * inv_bc2_sqrt + eps);
    }
}

static void sgd_update(float *restrict w, const float *restrict g, float *restrict buf, size_t n,
                       float lr, float wd, float momentum, int nesterov) {
    if (momentum == 0.0f) {
#pragma omp simd
        for (size_t i = 0; i < n; i++) w[i] -= lr * (g[i] + wd * w[i]);
        return;
    }
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * w[i];
        float b = momentum * buf[i] + gi;
        buf[i] = b;
        float d = nesterov ? gi + momentum * b : b;
        w[i] -= lr * d;
    }
}

void gx_optim_step(gx_optim *o, gx_params *p, float lr) {
    if (!p->finalized) return;
    double t = (double)(o->step + 1);
    double bc1 = 1.0 - pow((double)o->beta1, t);
    double bc2 = 1.0 - pow((double)o->beta2, t);
    for (int i = 0; i < p->n; i++) {
        const gx_param_info *in = &p->info[i];
        const gx_param_group *grp = &p->groups[in->group];
        if (grp->frozen) continue;
        float lr_g = lr * grp->lr_scale;
        float *w = p->data + in->offset, *g = p->grad + in->offset;
        float *m = p->m + in->offset, *v = p->v + in->offset;
        switch (o->kind) {
        case GX_OPT_ADAM:
        case GX_OPT_ADAMW: {
            int decoupled = o->kind == GX_OPT_ADAMW;
            float wd_l2 = decoupled ? 0.0f : o->weight_decay;
            float decay = decoupled ? 1.0f - lr_g * o->weight_decay : 1.0f;
            float step_size = (float)((double)lr_g / bc1);
            float inv_bc2_sqrt = (float)(1.0 / sqrt(bc2));
            adam_update(w, g, m, v, in->size, o->beta1, o->beta2, o->eps, wd_l2, decay,
                        step_size, inv_bc2_sqrt);
            break;
        }
        case GX_OPT_SGD:
            sgd_update(w, g, m, in->size, lr_g, o->weight_decay, o->momentum, o->nesterov);
            break;
        }
    }
    o->step++;
}

double gx_grad_norm(const gx_params *p) {
    if (!p->grad) return 0.0;
    double sum = 0.0;
    for (int i = 0; i < p->n; i++) {
        const gx_param_info *in = &p->info[i];
        if (p->groups[in->group].frozen) continue;
        const float *g = p->grad + in->offset;
        for (size_t k = 0; k < in->size; k++) sum += (double)g[k] * (double)g[k];
    }
    return sqrt(sum);
}

double gx_clip_grad_norm(gx_params *p, double max_norm) {
    double norm = gx_grad_norm(p);
    if (!(max_norm > 0.0) || !(norm > max_norm) || !isfinite(norm)) return norm;
    float scale = (float)(max_norm / norm);
    for (int i = 0; i < p->n; i++) {
        const gx_param_info *in = &p->info[i];
        if (p->groups[in->group].frozen) continue;
        float *g = p->grad + in->offset;
#pragma omp simd
        for (size_t k = 0; k < in->size; k++) g[k] *= scale;
    }
    return norm;
}

float gx_schedule_lr(const gx_schedule *s, long step) {
    if (step < 0) step = 0;
    if (s->warmup_steps > 0 && step < s->warmup_steps)
        return (float)((double)s->base_lr * (double)(step + 1) / (double)s->warmup_steps);
    long warm = s->warmup_steps > 0 ? s->warmup_steps : 0;
    long decay_steps = s->total_steps - warm;
    if (s->kind == GX_SCHED_CONSTANT || decay_steps <= 0) return s->base_lr;
    double progress = (double)(step - warm) / (double)decay_steps;
    if (progress > 1.0) progress = 1.0;
    double base = s->base_lr, lo = s->min_lr;
    double f = s->kind == GX_SCHED_COSINE ? 0.5 * (1.0 + cos(M_PI * progress)) : 1.0 - progress;
    return (float)(lo + (base - lo) * f);
}

int gx_sched_kind_parse(const char *s, gx_sched_kind *out) {
    if (!s) return -1;
    if (strcasecmp(s, "constant") == 0) *out = GX_SCHED_CONSTANT;
    else if (strcasecmp(s, "cosine") == 0) *out = GX_SCHED_COSINE;
    else if (strcasecmp(s, "linear") == 0) *out = GX_SCHED_LINEAR;
    else return -1;
    return 0;
}
