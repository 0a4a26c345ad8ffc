/* The semi-supervised deep generative model of DESIGN.md, with two presets:
 *   m2  - one domain, p(z) = N(0, I), decoder p(x | z, y)                (Kingma et al. 2014)
 *   dvt - any number of domains, learned Gaussian mixture p(z | y) shared by all domains,
 *         decoder p(x | z) with a domain-specific output head             (Belhaj et al. 2018)
 * Inference: h = E_shared(E_d(x)); q(y|x) = softmax(C(h)); q(z|x,y) = N(mu(h,y), sigma^2(h,y)).
 * Labelled bound  L_d(x,y) = E_q[log p_d(x|z,y)] - beta KL(q(z|x,y) || p(z|y)) + log pi_{d,y}
 * Unlabelled      U_d(x)   = sum_k q(k|x) L_d(x,k) + H(q(.|x))
 * With a y-free latent head (lat_y = 0, dvt only) q(z|x,y) = q(z|x): L_d(x,k) differs across k only
 * through KL(q(z|x) || p(z|k)) and log pi_{d,k}, and one decoder pass serves all K classes.
 * Loss per step   sum_d [ mean_labelled w_y (-L_d(x,y) - alpha log q(y|x)) + mean_unlabelled -U_d(x) ]
 * (beta = 1 but for an optional KL warm-up.) */
#ifndef GX_SSDGM_H
#define GX_SSDGM_H

#include <stdint.h>

#include "core/error.h"
#include "core/params.h"
#include "core/rng.h"
#include "models/dense.h"

#define GX_MAX_CLASSES 64
#define GX_MAX_HIDDEN 4
#define GX_NAME_MAX 64

/* mlp: the classifier path alone, E_shared(E_d(x)) -> q(y|x), trained on the labelled cross-entropy
 * (the baselines of the transfer experiments: source-only, target-only); no latent, no decoder.
 * dann: mlp plus a domain classifier on h behind a gradient reversal (Ganin et al. 2016): it
 * learns which domain a row comes from while the encoder learns to hide it. */
typedef enum { GX_PRESET_M2, GX_PRESET_DVT, GX_PRESET_MLP, GX_PRESET_DANN } gx_preset;

#define GX_DANN_HIDDEN 100 /* the domain classifier's hidden layer */
typedef enum { GX_LIK_BERNOULLI, GX_LIK_GAUSSIAN } gx_likelihood;

typedef struct gx_domain_config {
    char name[GX_NAME_MAX];
    int n_in;                 /* input features */
    gx_likelihood lik;        /* Bernoulli for values in [0,1]; Gaussian (learned variance) otherwise */
    int height, width, channels; /* image shape, or 0 */
    int share;                /* index of an earlier domain in the same feature space whose input
                                 and output blocks this domain uses (batch-norm statistics stay
                                 per domain), or -1 for blocks of its own */
} gx_domain_config;

typedef struct gx_ssdgm_config {
    gx_preset preset;
    int n_domains;
    gx_domain_config dom[GX_MAX_DOMAINS];
    int n_classes;
    int z_dim;                        /* 50 */
    int n_enc, enc[GX_MAX_HIDDEN];    /* encoder widths: enc[0] the domain input block, the rest
                                         the shared trunk (n_enc >= 2); default 500 500 */
    int n_dec, dec[GX_MAX_HIDDEN];    /* decoder trunk widths (shared); default 500 500 */
    int lat_hidden;                   /* hidden layer of q(z|h,y) (0: linear head) */
    int lat_y;                        /* q(z|x,y) takes y (m2 default); 0: q(z|x) (dvt default,
                                         where the mixture prior carries y; the decoder then runs
                                         once per example instead of once per class) */
    int cls_hidden;                   /* hidden layer of q(y|h) (0: linear head) */
    gx_act act;                       /* softplus */
    int batchnorm;                    /* batch norm in the encoder, statistics per domain */
    float prior_scale;                /* DVT: mixture means drawn N(0, prior_scale^2) */
    int adversarial;                  /* a domain classifier on h (disc): always for dann; dvt
                                         and mlp may have one too (two domains or more) */
} gx_ssdgm_config;

/* The B1 defaults for an image domain of n_in inputs and the given preset. */
void gx_ssdgm_config_default(gx_ssdgm_config *c, gx_preset preset, int n_classes);
int gx_preset_parse(const char *s, gx_preset *out);
const char *gx_preset_name(gx_preset p);

typedef struct gx_ssdgm {
    gx_ssdgm_config cfg;
    gx_params params;
    int group_shared, group_stats, group_dom[GX_MAX_DOMAINS];
    gx_dense_block enc_in[GX_MAX_DOMAINS]; /* x_d -> enc[0] */
    gx_dense_block enc_trunk;              /* enc[0] -> ... -> enc[n-1] = h */
    gx_dense_block cls;                    /* h -> K logits */
    gx_dense_block lat;                    /* [h ; y] -> 2 z (mu, logvar) */
    gx_dense_block dec_trunk;              /* z (m2: [z ; y]) -> dec[...] */
    gx_dense_block dec_out[GX_MAX_DOMAINS];/* -> n_d (logits or Gaussian means) */
    gx_dense_block disc;                   /* adversarial: h -> GX_DANN_HIDDEN -> D domain logits */
    int out_logvar[GX_MAX_DOMAINS];        /* Gaussian domains: learned log-variance [n_d] */
    int prior_mu, prior_logvar;            /* dvt: [K, z] */
    int log_pi[GX_MAX_DOMAINS];            /* class log-priors per domain [K] (stats group) */
    int in_slot[GX_MAX_DOMAINS];           /* batch-norm statistics slot of domain d in enc_in[d] */
} gx_ssdgm;

/* Declares, allocates and initialises the parameters (init stream of rng seeded by the caller). */
int gx_ssdgm_create(gx_ssdgm *m, const gx_ssdgm_config *cfg, gx_rng *init_rng, gx_error *err);
/* The same, but fails before allocating when the configuration describes more than max_params
 * parameters: a model file whose tensors hold fewer values cannot fill them, and its few bytes of
 * configuration must not make the loader allocate gigabytes. */
int gx_ssdgm_create_at_most(gx_ssdgm *m, const gx_ssdgm_config *cfg, size_t max_params,
                            gx_rng *init_rng, gx_error *err);
void gx_ssdgm_free(gx_ssdgm *m);

/* Activations for batches of up to max_l labelled and max_u unlabelled rows per domain. */
typedef struct gx_ssdgm_ws {
    int max_l, max_u;
    gx_dense_ws enc_in[GX_MAX_DOMAINS], enc_trunk, cls, lat, dec_trunk, dec_out[GX_MAX_DOMAINS];
    gx_dense_ws disc;      /* dann */
    float *dh_disc;        /* dann: [N, h] the domain loss's gradient w.r.t. h */
    float *lpd, *pd;       /* dann: [N, D] log p(domain | h), p(domain | h) */
    float *xin;            /* [N, n_max] labelled then unlabelled inputs, N = max_l + max_u */
    float *xtr;            /* [N, n_max] translated copies of input rows (augmentation) */
    int32_t *src, *ybr;    /* [R] branch row -> input row, label */
    float *lp, *p;         /* [N, K] log q(y|x), q(y|x) */
    float *dlogits;        /* [N, K] */
    float *mu, *lv, *eps, *z, *dmu, *dlv, *dz; /* [R, z] */
    float *kl, *rec, *elbo, *g, *tmp;          /* [R] */
    float *klk, *gkl;      /* [K, N] KL to each component (y-free latent head) and its gradient */
    float *dstat;          /* [max(n_max, K, R)] scratch */
} gx_ssdgm_ws;

/* The decoder's buffers hold R = max_l + K max_u branch rows, so a workspace for prediction alone
 * (gx_ssdgm_predict works in chunks of max_l + max_u rows) passes its chunk as max_l and 0. */
int gx_ssdgm_ws_alloc(gx_ssdgm_ws *ws, const gx_ssdgm *m, int max_l, int max_u, gx_error *err);
void gx_ssdgm_ws_free(gx_ssdgm_ws *ws);

/* One domain's part of a training step. */
typedef struct gx_ssdgm_batch {
    const float *xl;       /* [nl, n_d] labelled inputs */
    const int32_t *yl;     /* [nl] labels */
    int nl;
    const float *xu;       /* [nu, n_d] unlabelled inputs */
    int nu;
} gx_ssdgm_batch;

typedef struct gx_ssdgm_hyper {
    float alpha;           /* classification weight on the mean labelled cross-entropy */
    float beta;            /* KL weight (warm-up), 1 normally */
    const float *class_weight[GX_MAX_DOMAINS]; /* [K] w_y per domain, or NULL for 1 */
    float bn_momentum;     /* 0.1 */
    /* Levers beyond the plain bound (all off at 0):
     * aug_shift: image domains are translated by up to this many pixels (zero fill) where the
     *   options below say so; augment_labelled: the labelled rows of every step are translated.
     * conf_weight, conf_tau: confident predictions as targets (FixMatch-style consistency): each
     *   unlabelled row whose q(y|x) has max >= conf_tau gives its argmax as the target of
     *   conf_weight * CE(q(y | translated x)), averaged over the unlabelled rows; no gradient flows
     *   through the target. Feature domains use the untranslated input. */
    int aug_shift;
    int augment_labelled;
    int cutout;            /* image domains: the consistency term's view also loses a square of
                              this size (0: none) */
    float conf_weight, conf_tau;
    gx_rng *aug_rng;       /* draws of the translations (needed when aug_shift > 0) */
    /* dann: the domain loss, the mean over each domain's rows (labelled and unlabelled) of
     * -log p(domain | h), weighs dann_weight for the domain classifier; the encoder gets its
     * gradient times -dann_lambda (the reversal; Ganin's schedule raises lambda from 0 to 1). */
    float dann_weight, dann_lambda;
    /* Synthetic labelled rows of domain syn_domain, which the caller made with the model itself
     * (gx_ssdgm_translate of other domains' labelled rows, or class-conditional samples): the
     * classifier learns their labels, row r's cross-entropy weighted by syn_w[r]; as data, they
     * send no gradient to the decoder that made them, and batch-norm running statistics ignore
     * them. syn_n <= the workspace's max_l + max_u; 0: none. */
    const float *syn_x;    /* [syn_n, n_d] */
    const int32_t *syn_y;  /* [syn_n] */
    const float *syn_w;    /* [syn_n] */
    int syn_n, syn_domain;
} gx_ssdgm_hyper;

typedef struct gx_ssdgm_stats {
    double loss;           /* the objective */
    double elbo_l;         /* mean labelled bound (over domains' labelled rows) */
    double elbo_u;         /* mean unlabelled bound */
    double ce;             /* mean labelled cross-entropy */
    double kl;             /* mean KL of the labelled rows */
    int64_t n_l, n_u, correct_l;
    int64_t n_conf;        /* unlabelled rows confident enough to be targets */
    double conf_ce;        /* mean consistency cross-entropy over the confident rows */
    double syn_ce;         /* mean cross-entropy of the synthetic rows */
    double domain_ce;      /* dann: mean over domains of the domain classifier's cross-entropy */
} gx_ssdgm_stats;

/* Computes the loss of one step and ADDS its gradient into m->params.grad (zero it first).
 * batches[d] for every domain (nl or nu may be 0). Draws the reparameterisation noise from rng.
 * Returns -1 with a message naming the domain if the loss is not finite. */
int gx_ssdgm_loss_and_grad(gx_ssdgm *m, gx_ssdgm_ws *ws, const gx_ssdgm_batch *batches,
                           const gx_ssdgm_hyper *h, gx_rng *rng, gx_ssdgm_stats *st, gx_error *err);

/* q(y|x) for n rows of domain d (evaluation mode), in chunks of the workspace's size: P [n, K].
 * Latent means go to MU (may be NULL; must be NULL for mlp) [n, z] as the mean of
 * q(z|x, argmax y). */
void gx_ssdgm_predict(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, const float *X, int64_t n, float *P,
                      float *MU);

/* Whether the model has a latent space and decoder (m2, dvt) or is a plain classifier (mlp). */
int gx_ssdgm_is_generative(const gx_ssdgm *m);

/* Generates n examples in domain d (generative presets only): y ~ label (hard, label >= 0) or ~ soft [n, K] (label < 0),
 * z ~ p(z | y) (dvt) or N(0, I) (m2). OUT [n, n_d] receives the likelihood mean (Bernoulli:
 * sigmoid of the logits). n <= ws rows. */
void gx_ssdgm_generate(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, int n, int label, const float *soft,
                       gx_rng *rng, float *OUT);
/* The same with a label per row, y [n] in [0, K): z ~ p(z | y[r]) (dvt) or N(0, I) (m2), drawn
 * row by row (z_dim normals each). The m2 decoder takes onehot(y[r]), or the soft label soft[r]
 * when soft [n, K] is given (dvt ignores soft: its decoder takes no label). */
void gx_ssdgm_generate_rows(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, int n, const int32_t *y,
                            const float *soft, gx_rng *rng, float *OUT);

/* Cross-domain translation: rows X [n, n_from] of domain `from` encoded (evaluation mode) to the
 * mean of q(z|x) (with a y-dependent latent head, of q(z|x, y[r]); y may be NULL: argmax q(y|x))
 * and decoded by domain `to`'s output block: OUT [n, n_to], the likelihood mean (Bernoulli: the
 * probabilities). dvt only (its decoder takes no label); n <= max_l + max_u of ws. */
void gx_ssdgm_translate(gx_ssdgm *m, gx_ssdgm_ws *ws, int from, int to, const float *X, int n,
                        const int32_t *y, float *OUT);

/* Log class priors of domain d (the stats group): from counts (+1 smoothing), or set directly. */
void gx_ssdgm_set_class_prior(gx_ssdgm *m, int d, const double *prob);

/* Multiply-adds of the GEMMs of one training step (forward and backward) of domain d with nl
 * labelled and nu unlabelled rows, as this code computes it; *unshared (may be NULL) receives the
 * count when every [a ; onehot(y)] layer multiplies its whole input for every (row, class) branch.
 * Element-wise work is not counted. */
double gx_ssdgm_step_macs(const gx_ssdgm *m, int d, int nl, int nu, double *unshared);

#endif
