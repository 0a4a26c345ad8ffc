/* Training of the M2/DVT model: mini-batches from every domain each step (labelled and unlabelled
 * drawn side by side, each cycling through its own reshuffled epochs), Adam by default, optional KL
 * warm-up, class-balancing weights and class-prior re-estimation, model selection on validation
 * accuracy. The caller builds the model and the index sets; nothing is allocated per step. */
#ifndef GX_SSDGM_TRAIN_H
#define GX_SSDGM_TRAIN_H

#include <stdint.h>

#include "core/optim.h"
#include "data/dataset.h"
#include "models/ssdgm.h"

typedef struct gx_ssdgm_domain_data {
    const gx_dataset *ds;          /* the domain's training rows */
    const int64_t *lab; int64_t n_lab; /* rows whose labels are used */
    const int64_t *unl; int64_t n_unl; /* rows used without their labels */
    const int64_t *val; int64_t n_val; /* labelled rows held out for model selection */
} gx_ssdgm_domain_data;

typedef enum {
    GX_PRIOR_UNIFORM,     /* pi_d = 1/K */
    GX_PRIOR_LABELLED,    /* from the labelled counts (+1 smoothing) */
    GX_PRIOR_REESTIMATE,  /* from the labelled counts, then each epoch the mean q(y|x) over the
                             domain's unlabelled rows */
} gx_prior_mode;

typedef struct gx_epoch_log {
    int epoch;                 /* 1-based */
    long step;                 /* steps done */
    double loss, elbo_l, elbo_u, ce, train_acc; /* means over the epoch's steps */
    double confident;          /* fraction of unlabelled rows used as consistency targets */
    double val_acc[GX_MAX_DOMAINS];  /* -1 where a domain has no validation rows */
    double selection;          /* the value model selection maximises (-1: none) */
    int is_best;
    double seconds;            /* wall time of the epoch */
    float lr;
    float beta;
} gx_epoch_log;

typedef struct gx_ssdgm_train_config {
    int epochs;                /* 10 */
    int batch_l, batch_u;      /* 100, 100 per domain */
    float lr;                  /* 1e-3 */
    gx_opt_kind opt;           /* adam */
    gx_sched_kind sched;       /* constant */
    float alpha;               /* weight of the mean labelled cross-entropy */
    float kl_warmup_epochs;    /* beta rises linearly from 0 to 1 over this many epochs (0: none) */
    int class_balance;         /* weight labelled rows by inverse class frequency */
    gx_prior_mode prior;
    float clip;                /* gradient-norm clipping (0: none) */
    int aug_shift;             /* levers of gx_ssdgm_hyper: translation range for image domains, */
    int augment_labelled;      /* translate the labelled rows, */
    int cutout;                /* cutout size in the consistency view, */
    float conf_weight, conf_tau; /* consistency with confident predictions (weight 0: off) */
    int select_domain;         /* domain whose validation accuracy selects the epoch (-1: mean over
                                  domains with validation rows) */
    uint64_t seed;
    void (*on_epoch)(void *ctx, const gx_epoch_log *log); /* progress and logging; may be NULL */
    void (*on_step)(void *ctx, long step, long steps_per_epoch, const gx_ssdgm_stats *st);
    void *ctx;
} gx_ssdgm_train_config;

void gx_ssdgm_train_config_default(gx_ssdgm_train_config *c);

typedef struct gx_ssdgm_train_result {
    int best_epoch;            /* epoch whose weights the model holds at the end (0: none) */
    double best_selection;
    long steps;
    double seconds;
} gx_ssdgm_train_result;

/* Trains m in place. At the end m holds the weights of the best epoch by validation (the last
 * epoch when no domain has validation rows). */
int gx_ssdgm_train(gx_ssdgm *m, const gx_ssdgm_domain_data *dd, const gx_ssdgm_train_config *tc,
                   gx_ssdgm_train_result *res, gx_error *err);

/* Accuracy of argmax q(y|x) on rows idx of ds in domain d (all rows when idx is NULL). Uses ws;
 * buf is scratch of (max_l + max_u) * (n_d + K) floats. */
double gx_ssdgm_accuracy(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, const gx_dataset *ds,
                         const int64_t *idx, int64_t n, float *buf);

#endif
