/* Log-likelihoods, divergences and classification losses, per example (row), numerically stable.
 * Forward functions write one value per row into out[B]; backward functions take the upstream
 * gradient of each row's value, g[B], and ADD g[b] * d(value_b)/d(input) into the input
 * gradients (any of which may be NULL). */
#ifndef GX_LOSSES_H
#define GX_LOSSES_H

#include <stdint.h>

/* log(sum_i exp(x[i])), stable for any finite x; -inf for n = 0. */
float gx_logsumexp(const float *x, int n);
/* log(1 + exp(x)), stable. */
float gx_softplus(float x);
float gx_sigmoid(float x);

/* LP[B,K] = log_softmax(L[B,K]) row-wise; P = softmax likewise (P may be NULL / LP may be NULL). */
void gx_log_softmax_forward(float *LP, float *P, const float *L, int B, int K);
/* dL[b,:] += dLP[b,:] - softmax(L[b,:]) * sum_k dLP[b,k]  (P = softmax(L) from the forward pass) */
void gx_log_softmax_backward(float *dL, const float *dLP, const float *P, int B, int K);

/* Bernoulli log-likelihood from logits: out[b] = sum_j x log s(l) + (1-x) log(1-s(l))
 *   = sum_j x l - softplus(l), for X in [0,1] (soft targets allowed). X, L [B,D]. */
void gx_bernoulli_loglik_forward(float *out, const float *X, const float *L, int B, int D);
/* dL += g[b] * (x - sigmoid(l)) */
void gx_bernoulli_loglik_backward(float *dL, const float *g, const float *X, const float *L, int B,
                                  int D);

/* Diagonal Gaussian log-likelihood: out[b] = sum_j -0.5 (log 2pi + lv + (x - mu)^2 e^-lv).
 * X, MU, LV [B,D]; ld_lv = row stride of LV (0: one [D] row shared by every example, e.g. a
 * learned per-feature variance). */
void gx_gaussian_loglik_forward(float *out, const float *X, const float *MU, const float *LV,
                                int ld_lv, int B, int D);
void gx_gaussian_loglik_backward(float *dMU, float *dLV, const float *g, const float *X,
                                 const float *MU, const float *LV, int ld_lv, int B, int D);

/* KL(N(mu1, e^lv1) || N(mu2, e^lv2)) summed over D dims, per row:
 *   0.5 sum_j (lv2 - lv1 + (e^lv1 + (mu1 - mu2)^2) e^-lv2 - 1).
 * MU1, LV1 [B,D]; MU2, LV2 rows with stride ld2 (0: one [D] row for all, e.g. N(0,I) or one
 * mixture component); MU2 = LV2 = NULL means the standard normal (either alone: mean 0 or
 * log-variance 0, and the matching dMU2/dLV2 is ignored). With ld2 = 0 the gradients of the
 * shared row are summed over the batch. Per-element terms are computed in double, so a collapsed
 * variance (lv2 down to ~ -700) with mu1 = mu2 gives 0, not 0 * inf. */
void gx_kl_diag_forward(float *out, const float *MU1, const float *LV1, const float *MU2,
                        const float *LV2, int ld2, int B, int D);
void gx_kl_diag_backward(float *dMU1, float *dLV1, float *dMU2, float *dLV2, const float *g,
                         const float *MU1, const float *LV1, const float *MU2, const float *LV2,
                         int ld2, int B, int D);

/* Reparameterised sample Z = MU + exp(0.5 LV) * EPS, all [n] (EPS drawn by the caller). */
void gx_reparam_forward(float *Z, const float *MU, const float *LV, const float *EPS, int n);
/* dMU += dZ;  dLV += dZ * 0.5 exp(0.5 lv) eps */
void gx_reparam_backward(float *dMU, float *dLV, const float *dZ, const float *LV, const float *EPS,
                         int n);

/* Cross-entropy from logits L[B,K] with hard labels y[B] in [0,K): out[b] = -log_softmax(L)[y].
 * P [B,K] receives softmax(L) (needed by the backward pass; may not be NULL). */
void gx_cross_entropy_forward(float *out, float *P, const float *L, const int32_t *y, int B, int K);
/* dL += g[b] * (P - onehot(y)) */
void gx_cross_entropy_backward(float *dL, const float *g, const float *P, const int32_t *y, int B,
                               int K);

/* Cross-entropy with soft targets T[B,K] (rows need not sum to 1):
 * out[b] = -sum_k T[b,k] log_softmax(L)[b,k]. P receives softmax(L) (may be NULL if there is no
 * backward pass). */
void gx_soft_cross_entropy_forward(float *out, float *P, const float *L, const float *T, int B,
                                   int K);
/* dL += g[b] * (P sum_k T[b,k] - T);  dT (may be NULL) += -g[b] * log_softmax(L) */
void gx_soft_cross_entropy_backward(float *dL, float *dT, const float *g, const float *P,
                                    const float *L, const float *T, int B, int K);

/* Entropy of softmax(L): out[b] = -sum_k p log p. P receives softmax(L) (may be NULL if no
 * backward). */
void gx_entropy_forward(float *out, float *P, const float *L, int B, int K);
/* dL[b,j] += g[b] * (-p_j (log p_j + H_b)) */
void gx_entropy_backward(float *dL, const float *g, const float *P, const float *L, int B, int K);

#endif
