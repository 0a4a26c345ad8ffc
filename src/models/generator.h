/* A trained M2/DVT model seen as the source pair of PP and P-SSL (DESIGN.md, "As a conditional
 * generator"), in one of its domains d:
 *   C_s(x)    = q(y | x)                                   [n, K] class probabilities
 *   G_s(z, p) : y ~ Cat(p), z ~ p(z | y) (dvt) or N(0, I) (m2), decoded in domain d; the m2 decoder
 *               takes the soft label p itself, the dvt decoder z alone. Image domains give the
 *               Bernoulli means; Gaussian domains the means in the data's units.
 * Conditioning on target images x' (P-SSL): p = C_s(x') (soft), onehot(argmax C_s(x')) (argmax),
 * or a uniformly random source class regardless of x' (random). PP draws y uniformly.
 *
 * Every sampler draws the same numbers per row whatever the conditioning: one uniform for the
 * class (gx_rng_categorical on the row's p), then z_dim normals for z. So two modes given the same
 * rng state differ only in their labels, and G_s(z, onehot(y)) equals G_s(z, y) sample for sample.
 *
 * All buffers are allocated once for batches of up to max_n rows; no call allocates. */
#ifndef GX_GENERATOR_H
#define GX_GENERATOR_H

#include <stdint.h>

#include "models/ssdgm_io.h"

typedef enum { GX_COND_SOFT, GX_COND_ARGMAX, GX_COND_RANDOM } gx_condition;

/* "soft", "argmax", "random" and back (-1 for an unknown name). */
const char *gx_condition_name(gx_condition c);
int gx_condition_parse(const char *s, gx_condition *out);

typedef struct gx_generator {
    gx_ssdgm *m;              /* borrowed */
    int d;                    /* the domain */
    int n_classes, n_in, max_n;
    const float *mean, *std;  /* [n_in] the domain's standardisation (borrowed), or NULL */
    gx_ssdgm_ws ws;           /* activations for max_n rows */
    float *x;                 /* [max_n, n_in] standardised inputs of C_s */
    float *p;                 /* [max_n, K] conditioning distributions */
    int32_t *y;               /* [max_n] drawn classes */
} gx_generator;

/* Sets up G_s and C_s in domain d of m (a generative preset; an mlp model is an error) for batches
 * of up to max_n rows; info (may be NULL) gives the domain's standardisation. m and info must
 * outlive g. `what` names the model in messages. */
int gx_generator_init(gx_generator *g, gx_ssdgm *m, const gx_model_info *info, int d, int max_n,
                      const char *what, gx_error *err);
void gx_generator_free(gx_generator *g);

/* Whether data of n_features values per row, images of h x w x c (all 0 when not images), fit
 * the domain: the feature count must match, and so must the image shape when both have one.
 * Otherwise a one-line error naming `what` (the data), both sizes and the domain. */
int gx_generator_check_input(const gx_generator *g, int64_t n_features, int h, int w, int c,
                             const char *what, gx_error *err);

/* C_s: P [n, K] = q(y | x) for X [n, n_in] in the data's units, n <= max_n. */
void gx_generator_classify(gx_generator *g, const float *X, int n, float *P);

/* The conditioning distributions P [n, K] for target images X [n, n_in] (X unused for random). */
void gx_generator_condition(gx_generator *g, const float *X, int n, gx_condition mode, float *P);

/* G_s(z, p) for the rows of P [n, K] (each a distribution; P may be g->p), n <= max_n: OUT
 * [n, n_in]; the drawn classes go to y (may be NULL) [n]. soft_decoder: the m2 decoder takes the
 * row of P itself (else the one-hot of the drawn class; the same thing for one-hot rows). */
void gx_generator_sample(gx_generator *g, const float *P, int n, int soft_decoder, gx_rng *rng,
                         int32_t *y, float *OUT);

/* G_s(z, y) with hard labels y [n] in [0, K). */
void gx_generator_sample_labels(gx_generator *g, const int32_t *y, int n, gx_rng *rng, float *OUT);

/* PP: y drawn uniformly over the source classes into y [n], OUT = G_s(z, y). */
void gx_generator_sample_uniform(gx_generator *g, int n, gx_rng *rng, int32_t *y, float *OUT);

/* P-SSL: pseudo samples OUT [n, n_in] = G_s(z, p) with p the conditioning of X [n, n_in] by mode
 * (soft: the m2 decoder takes p); the p used go to P (may be NULL) [n, K] and the drawn classes to
 * y (may be NULL) [n]. */
void gx_generator_pseudo(gx_generator *g, const float *X, int n, gx_condition mode, gx_rng *rng,
                         float *P, int32_t *y, float *OUT);

#endif
