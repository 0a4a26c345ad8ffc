/* Training of the M2/DVT model: mini-batches from every domain each step (labelled and unlabelled
 * drawn side by side, each cycling through its own reshuffled epochs), Adam by default, optional KL
 * warm-up, class-balancing weights and class-prior re-estimation, model selection on validation
 * accuracy. The caller builds the model and the index sets; nothing is allocated per step. */
#ifndef GX_SSDGM_TRAIN_H
#define GX_SSDGM_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "core/optim.h"
#include "models/checkpoint.h"
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

/* Which epoch's weights training keeps. */
typedef enum {
    GX_SELECT_VAL,   /* the best validation accuracy; the last epoch when there are no
                        validation rows */
    GX_SELECT_LAST,  /* the last epoch */
    GX_SELECT_IM,    /* no labels needed: the best information maximisation criterion
                        H(mean q(y|x)) - mean H(q(y|x)) over the select domain's unlabelled rows
                        (confident and diverse predictions; a collapse onto few classes scores
                        low) */
} gx_select_kind;

typedef struct gx_epoch_log {
    int epoch;                 /* 1-based */
    long step;                 /* steps done */
    double loss, elbo_l, elbo_u, ce, train_acc; /* means over the epoch's steps */
    double confident;          /* fraction of unlabelled rows used as consistency targets */
    double val_acc[GX_MAX_DOMAINS];  /* -1 where a domain has no validation rows */
    double selection;          /* the value model selection maximises (-1: none) */
    double im;                 /* the information maximisation criterion (-1: not computed) */
    double monitor_acc;        /* accuracy on the monitor set (-1: none) */
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
                                  domains with validation rows); GX_SELECT_IM: the domain whose
                                  unlabelled rows it scores (required) */
    gx_select_kind select;     /* GX_SELECT_VAL */
    /* Levers only a generative model has: labelled rows of the target domain made by the model
     * each step, which the classifier learns (gx_ssdgm_hyper's synthetic rows); weight 0: off.
     * translate_weight: the step's labelled rows of every other domain, encoded and decoded by the
     *   target's output block, with their labels (dvt);
     * generate_weight: batch_u class-conditional samples of the target domain, classes in turn,
     *   z ~ p(z|y), x the decoder's mean. The mean cross-entropy of each kind of rows weighs
     *   weight x alpha: at 1, as much as the real labelled rows'. */
    float translate_weight, generate_weight;
    int target_domain;         /* the domain they are made for (-1: the last domain) */
    float dann_weight;         /* dann: weight of the domain loss (1); the reversal's lambda
                                  follows Ganin et al.'s schedule from 0 to 1 */
    int fixed_prior;           /* dvt: p(z|y) stays N(0, I) for every class (means and
                                  log-variances 0, never trained): the control that tells what
                                  the class-wise mixture adds */
    /* A labelled set of domain monitor_domain whose accuracy is logged after every epoch, for
     * studies of model selection (the oracle epoch); it never takes part in selection. NULL: none */
    const gx_dataset *monitor;
    int monitor_domain;
    uint64_t seed;
    void (*on_epoch)(void *ctx, const gx_epoch_log *log); /* progress and logging; may be NULL */
    void (*on_step)(void *ctx, long step, long steps_per_epoch, const gx_ssdgm_stats *st);
    void *ctx;
    /* Checkpoints (models/checkpoint.h), off when ckpt_path is NULL: written every ckpt_every
     * steps (-1: at the end of every epoch; 0: never during training) and at the end, never with
     * non-finite weights. ckpt_meta (may be NULL) adds the caller's metadata, with ctx. */
    const char *ckpt_path;
    long ckpt_every;
    gx_ckpt_meta_fn ckpt_meta;
    const char *resume_path;   /* continue from this checkpoint (NULL: a fresh run) */
    /* When *stop becomes non-zero (e.g. set by a signal handler), training finishes the step (and
     * the epoch's end-of-epoch work when the step ended one), writes a checkpoint and returns with
     * res->stopped set. May be NULL. */
    volatile sig_atomic_t *stop;
} gx_ssdgm_train_config;

void gx_ssdgm_train_config_default(gx_ssdgm_train_config *c);

typedef struct gx_ssdgm_train_result {
    int best_epoch;            /* epoch whose weights the model holds at the end (0: none) */
    double best_selection;
    long steps;
    double seconds;            /* training time, earlier sessions of a resumed run included */
    int stopped;               /* 1: stopped early by *stop (after writing a checkpoint) */
    long ckpt_step;            /* step of the last checkpoint written (-1: none) */
    int ckpt_epoch;            /* the epoch of that step */
} gx_ssdgm_train_result;

/* Trains m in place. At the end m holds the weights of the best epoch by validation (the last
 * epoch when no domain has validation rows). A resumed run (resume_path) must be given the same
 * model configuration, data, index sets and settings as the run that wrote the checkpoint; it
 * then ends with the same weights, bit for bit, as an uninterrupted run (same thread count).
 * Allocates nothing per step; writing a checkpoint allocates its header. */
int gx_ssdgm_train(gx_ssdgm *m, const gx_ssdgm_domain_data *dd, const gx_ssdgm_train_config *tc,
                   gx_ssdgm_train_result *res, gx_error *err);

/* Label shift of domain d after training (Saerens et al. 2002, core/prior_shift.h): its class
 * proportions estimated by EM from q(y|x) over its unlabelled rows dd[d].unl, against the prior
 * the classifier was trained with (uniform with class balancing, else the labelled rows' class
 * frequencies over every domain). prior [K] receives the estimate, ratio [K] the correction
 * (estimate / training prior, within [1e-3, 1e3]). Returns the EM rounds, or -1 with a message
 * (no unlabelled rows, out of memory). */
int gx_ssdgm_label_shift(gx_ssdgm *m, const gx_ssdgm_domain_data *dd, int d, int class_balance,
                         double *prior, float *ratio, gx_error *err);

/* Bytes that training a model of configuration c with these batch sizes needs (parameters with
 * gradients, optimiser moments and the best copy; activations), approximately. */
double gx_ssdgm_train_bytes(const gx_ssdgm_config *c, int batch_l, int batch_u);

/* Refuses, before anything is allocated, a configuration whose training would need more memory
 * than the machine has (RAM + swap), naming the size. */
int gx_ssdgm_train_check_memory(const gx_ssdgm_config *c, int batch_l, int batch_u, gx_error *err);

/* Accuracy of argmax q(y|x) on rows idx of ds in domain d (all rows when idx is NULL). Uses ws;
 * buf is scratch of (max_l + max_u) * (n_d + K) floats. */
double gx_ssdgm_accuracy(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, const gx_dataset *ds,
                         const int64_t *idx, int64_t n, float *buf);

#endif
