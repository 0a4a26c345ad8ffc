/* P-SSL (DESIGN.md, "PP and P-SSL"): FixMatch with the labelled target data and pseudo samples of
 * the source generator. Each step takes, besides the labelled batch (x_t, y_t) of cls_train.h's
 * loop, mu times as many pseudo samples: target images x' picked from the labelled rows,
 * p = C_s(x') (soft, argmax or random conditioning), u = G_s(z, p); and adds
 *     lambda_u * mean over u of 1[max q >= tau] CE(argmax q, f(strong(u))),
 *     q = softmax(f(weak(u))), no gradient through q,
 * to the cross-entropy CE(f(weak(x_t)), y_t) of the loop. It is cls_train.h's extra_loss hook, so
 * P-SSL shares the loop (batches, optimiser, schedule, validation) with scratch and PP.
 * gx_pssl_use_unlabelled swaps the pseudo samples for real unlabelled images: plain FixMatch, the
 * baseline that tells what the generator's samples are worth. */
#ifndef GX_PSSL_H
#define GX_PSSL_H

#include "data/augment.h"
#include "models/generator.h"
#include "transfer/cls_train.h"

typedef struct gx_pssl_config {
    int mu;             /* pseudo samples per labelled example of a step [7] */
    float tau;          /* confidence threshold of the pseudo-labels [0.95] */
    float lambda_u;     /* weight of the unlabelled loss [1] */
    gx_condition cond;  /* [soft] */
    int bn_update;      /* the pseudo samples' batch statistics move bn's running averages [0] */
} gx_pssl_config;

void gx_pssl_config_default(gx_pssl_config *c);

/* The unlabelled FixMatch term of n pseudo samples, K classes: from the logits LW [n, K] of the
 * weak views and LS [n, K] of the strong views, returns
 *     mean over rows of 1[max softmax(LW) >= tau] CE(argmax LW, LS)
 * and sets dLS [n, K] to its gradient with respect to LS, times scale (LW is a constant: no
 * gradient through the pseudo-labels). PS: [n, K] scratch; *used: the rows above the threshold. */
double gx_fixmatch_unlabelled(const float *LW, const float *LS, int n, int K, float tau,
                              float scale, float *PS, float *dLS, int *used);

typedef struct gx_pssl {
    gx_pssl_config cfg;
    gx_generator *g;         /* borrowed */
    const gx_dataset *ds;    /* the target data (unstandardised) and its labelled rows, borrowed */
    const int64_t *lab;
    int64_t n_lab;
    const gx_dataset *unl;   /* NULL, or real unlabelled images used instead of G_s (borrowed) */
    const int64_t *unl_rows; /* [n_unl] the rows of unl to draw from; NULL: all of them */
    int64_t n_unl;
    int n;                   /* pseudo samples per step: mu times the labelled batch */
    gx_augment_opts aug;
    gx_classifier_ws ws;     /* activations for n rows */
    float *X;                /* [n, d] the picked target images x' */
    float *U, *UW, *US;      /* [n, d] pseudo samples, their weak and strong views */
    float *LW, *PS;          /* [n, K] weak logits (copied out of ws), softmax scratch */
    float *scratch;          /* [d] strong augmentation scratch */
    gx_rng rng, aug_rng, noise_rng;
    long steps;              /* steps so far, and how many pseudo samples passed the threshold */
    double used_sum;
    void *base;
} gx_pssl;

/* For steps of `batch` labelled rows (cls_train.h's batch: the whole set when it is smaller) of m,
 * K the target classes. aug_shift/aug_flip as the loop's weak augmentation; seed as tc's. */
int gx_pssl_init(gx_pssl *s, const gx_classifier *m, gx_generator *g, const gx_dataset *ds,
                 const int64_t *lab, int64_t n_lab, int batch, const gx_pssl_config *cfg,
                 int aug_shift, int aug_flip, uint64_t seed, gx_error *err);
void gx_pssl_free(gx_pssl *s);

/* From now on, the unlabelled images of each step are rows of u drawn uniformly (with
 * replacement) from rows [n] (NULL: all of u's rows, n = u->n) instead of pseudo samples; u must
 * have the target data's features, in the same units. u and rows are borrowed. */
int gx_pssl_use_unlabelled(gx_pssl *s, const gx_dataset *u, const int64_t *rows, int64_t n,
                           gx_error *err);

/* cls_train.h's extra_loss hook (ctx: a gx_pssl): one step's lambda_u-weighted unlabelled term. */
double gx_pssl_extra_loss(void *ctx, gx_classifier *m);

#endif
