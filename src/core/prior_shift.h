/* Label shift: the class proportions of data whose labels are unknown, from a classifier's
 * posteriors, by the EM of Saerens, Latinne and Decaestecker (2002), and the correction of the
 * posteriors to them. */
#ifndef GX_PRIOR_SHIFT_H
#define GX_PRIOR_SHIFT_H

#include <stdint.h>

/* P [n, K]: q(y|x) of n rows, from a classifier trained with class prior train_prior [K] (all
 * > 0). Iterates prior <- mean_i normalise(q(.|x_i) * prior / train_prior) from prior = train_prior
 * until no class moves by more than tol (or max_iter rounds); writes the estimate to prior [K]
 * and returns the rounds taken. K <= 256 (the models' GX_MAX_CLASSES is 64); beyond, nothing is
 * estimated: prior = train_prior and 0 rounds. */
int gx_prior_shift_em(const float *P, int64_t n, int K, const double *train_prior, double *prior,
                      int max_iter, double tol);

/* P [n, K] <- normalise(P * ratio) row by row: the posteriors under a prior ratio [K] times the
 * training one (ratio = estimated prior / train_prior). */
void gx_prior_shift_apply(float *P, int64_t n, int K, const float *ratio);

#endif
