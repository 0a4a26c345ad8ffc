/* Supervised training of a classifier (models/classifier.h) on labelled rows of a dataset:
 * mini-batches reshuffled every epoch, weak augmentation (random translations, optionally mirrors;
 * data/augment.h) of image inputs,
 * mean cross-entropy, Adam / AdamW / SGD through core/optim.h with a constant, cosine or linear
 * schedule, optional model selection on a validation set. Nothing is allocated per step. It is the
 * `scratch` baseline of PP/P-SSL (the target network on the labelled target data only) and the
 * fine-tuning stage after PP. */
#ifndef GX_CLS_TRAIN_H
#define GX_CLS_TRAIN_H

#include <stdint.h>

#include "core/optim.h"
#include "data/dataset.h"
#include "models/classifier.h"

typedef struct gx_cls_epoch_log {
    int epoch;           /* 1-based */
    long step;           /* steps done */
    double loss;         /* mean training loss over the epoch's steps (the cross-entropy, or
                            logit_loss, plus extra_loss) */
    double train_acc;    /* accuracy on the epoch's (augmented) training batches, train mode */
    double val_acc;      /* validation accuracy (eval mode), -1 without a validation set or on an
                            epoch that val_every skips */
    int is_best;         /* the best validation accuracy so far */
    float lr;            /* learning rate of the epoch's last step */
    double seconds;      /* wall time of the epoch, validation included */
} gx_cls_epoch_log;

typedef struct gx_cls_train_config {
    int epochs;          /* passes over the labelled rows [100] */
    int batch;           /* rows per step; the whole set when it is smaller [64] */
    float lr;            /* [1e-3] */
    gx_opt_kind opt;     /* [adam] */
    gx_sched_kind sched; /* [cosine]: from lr down to 0 at the last step */
    float weight_decay;  /* optimiser's weight decay [5e-4] */
    int aug_shift;       /* image inputs: translate each training image by up to N pixels [2] */
    int aug_flip;        /* image inputs: and mirror it left-right with probability 1/2 [0] */
    int val_every;       /* with a validation set: score it every N epochs and after the last [1] */
    uint64_t seed;       /* data order (GX_STREAM_DATA), dropout (GX_STREAM_NOISE), augmentation
                            (GX_STREAM_AUGMENT) [1] */
    void (*on_epoch)(void *ctx, const gx_cls_epoch_log *log); /* may be NULL */
    void *ctx;
    /* Hooks of the methods built on this loop (may be NULL), called with hook_ctx:
     * epoch_start before each epoch's first batch (PP draws fresh pseudo samples into the data's
     * rows; nonzero stops training with err); extra_loss each step after the gradients are zeroed:
     * ADDS the gradients of an extra loss term into m->params.grad and returns the term (P-SSL's
     * unlabelled FixMatch loss), which the logged loss includes;
     * logit_loss, when given, replaces the mean cross-entropy of the labelled batch: from the
     * batch X [B, in] (augmented) with labels y [B] and m's logits L [B, K], it returns the loss
     * and writes its gradient with respect to L into dL [B, K] (KD's distillation loss). */
    int (*epoch_start)(void *hook_ctx, int epoch, gx_error *err);
    double (*extra_loss)(void *hook_ctx, gx_classifier *m);
    double (*logit_loss)(void *hook_ctx, const float *X, const int32_t *y, const float *L, int B,
                         int K, float *dL);
    void *hook_ctx;
} gx_cls_train_config;

void gx_cls_train_config_default(gx_cls_train_config *c);

typedef struct gx_cls_train_result {
    int best_epoch;      /* epoch whose weights the model holds (the last one without validation) */
    double best_val_acc; /* -1 without validation */
    long steps;
    double seconds;      /* training wall time */
    double cpu_seconds;  /* processor time of the process over the same span (all threads): on a
                            busy machine a steadier measure than the wall time */
} gx_cls_train_result;

/* Trains m in place on the rows lab[0..n_lab-1] of ds (labels in [0, m->n_classes)); with n_val > 0,
 * keeps the weights of the epoch with the best accuracy on the rows val. ds->d must be the model's
 * input size. A non-finite loss stops training with an error naming the step. */
int gx_cls_train(gx_classifier *m, const gx_dataset *ds, const int64_t *lab, int64_t n_lab,
                 const int64_t *val, int64_t n_val, const gx_cls_train_config *tc,
                 gx_cls_train_result *res, gx_error *err);

/* Accuracy (eval mode) on the rows idx[0..n-1] of ds (all rows when idx is NULL) using ws; X is
 * scratch of ws->max_batch rows and P of ws->max_batch * K floats. */
double gx_cls_accuracy(gx_classifier *m, gx_classifier_ws *ws, const gx_dataset *ds,
                       const int64_t *idx, int64_t n, float *X, float *P);

#endif
