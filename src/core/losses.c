/* Log-likelihoods, divergences and classification losses, per row, numerically stable.
 * Row sums are accumulated in double; rows are independent, so the row-parallel loops give the
 * same bits for any thread count. Gradients of a row shared by the batch (ld = 0) are accumulated
 * serially in row order. */
#include "core/losses.h"

#include <math.h>
#include <stddef.h>

#include "core/vmath.h"

#define GX_PAR_MIN ((size_t)1 << 15)
#define PAR_ROWS(B, D) ((size_t)(B) * (size_t)(D) > GX_PAR_MIN)

static const double LOG_2PI = 1.8378770664093454835606594728112;

float gx_logsumexp(const float *x, int n) {
    if (n <= 0) return -INFINITY;
    float m = x[0];
    for (int i = 1; i < n; i++)
        if (x[i] > m) m = x[i];
    if (isinf(m)) return m; /* all -inf, or some +inf */
    double s = 0.0;
    for (int i = 0; i < n; i++) s += exp((double)x[i] - (double)m);
    return (float)((double)m + log(s));
}

/* The vectorisable versions, so that a scalar and a vector loop give the same bits. */
float gx_softplus(float x) { return gx_vsoftplus(x); }

float gx_sigmoid(float x) { return gx_vsigmoid(x); }

/* Row max m and log(sum_k exp(l_k - m)), so that log_softmax(l)_k = (l_k - m) - ls. */
static void row_lse(const float *l, int K, float *m_out, double *ls_out) {
    float m = l[0];
    for (int k = 1; k < K; k++)
        if (l[k] > m) m = l[k];
    double s = 0.0;
    for (int k = 0; k < K; k++) s += exp((double)l[k] - (double)m);
    *m_out = m;
    *ls_out = log(s);
}

/* ---- log-softmax ---- */

void gx_log_softmax_forward(float *LP, float *P, const float *L, int B, int K) {
    if (K <= 0) return;
    for (int b = 0; b < B; b++) {
        const float *l = L + (size_t)b * (size_t)K;
        float m;
        double ls;
        row_lse(l, K, &m, &ls);
        for (int k = 0; k < K; k++) {
            double lp = ((double)l[k] - (double)m) - ls;
            if (LP) LP[(size_t)b * (size_t)K + k] = (float)lp;
            if (P) P[(size_t)b * (size_t)K + k] = (float)exp(lp);
        }
    }
}

void gx_log_softmax_backward(float *dL, const float *dLP, const float *P, int B, int K) {
    if (!dL) return;
    for (int b = 0; b < B; b++) {
        const float *d = dLP + (size_t)b * (size_t)K, *p = P + (size_t)b * (size_t)K;
        float *dl = dL + (size_t)b * (size_t)K;
        double s = 0.0;
        for (int k = 0; k < K; k++) s += d[k];
        for (int k = 0; k < K; k++) dl[k] += (float)((double)d[k] - (double)p[k] * s);
    }
}

/* ---- Bernoulli ---- */

GX_VEC_CLONES void gx_bernoulli_loglik_forward(float *out, const float *X, const float *L, int B,
                                               int D) {
#pragma omp parallel for if (PAR_ROWS(B, D))
    for (int b = 0; b < B; b++) {
        const float *x = X + (size_t)b * (size_t)D, *l = L + (size_t)b * (size_t)D;
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < D; j++) s += (double)(x[j] * l[j]) - (double)gx_vsoftplus(l[j]);
        out[b] = (float)s;
    }
}

GX_VEC_CLONES void gx_bernoulli_loglik_backward(float *dL, const float *g, const float *X,
                                                const float *L, int B, int D) {
    if (!dL) return;
#pragma omp parallel for if (PAR_ROWS(B, D))
    for (int b = 0; b < B; b++) {
        const float *x = X + (size_t)b * (size_t)D, *l = L + (size_t)b * (size_t)D;
        float *dl = dL + (size_t)b * (size_t)D;
        const float gb = g[b];
#pragma omp simd
        for (int j = 0; j < D; j++) dl[j] += gb * (x[j] - gx_vsigmoid(l[j]));
    }
}

/* ---- diagonal Gaussian ----
 * (x - mu)^2 e^-lv in double: finite for lv > -709, so x = mu with a collapsed variance gives 0. */

void gx_gaussian_loglik_forward(float *out, const float *X, const float *MU, const float *LV,
                                int ld_lv, int B, int D) {
#pragma omp parallel for if (PAR_ROWS(B, D))
    for (int b = 0; b < B; b++) {
        const size_t r = (size_t)b * (size_t)D;
        const float *lv = LV + (size_t)b * (size_t)ld_lv;
        double s = 0.0;
        for (int j = 0; j < D; j++) {
            double d = (double)X[r + j] - (double)MU[r + j];
            s += LOG_2PI + (double)lv[j] + d * d * exp(-(double)lv[j]);
        }
        out[b] = (float)(-0.5 * s);
    }
}

/* d/dmu = (x - mu) e^-lv;  d/dlv = -0.5 (1 - (x - mu)^2 e^-lv) */
void gx_gaussian_loglik_backward(float *dMU, float *dLV, const float *g, const float *X,
                                 const float *MU, const float *LV, int ld_lv, int B, int D) {
    if (dMU) {
#pragma omp parallel for if (PAR_ROWS(B, D))
        for (int b = 0; b < B; b++) {
            const size_t r = (size_t)b * (size_t)D;
            const float *lv = LV + (size_t)b * (size_t)ld_lv;
            for (int j = 0; j < D; j++)
                dMU[r + j] += (float)((double)g[b] * ((double)X[r + j] - (double)MU[r + j]) *
                                      exp(-(double)lv[j]));
        }
    }
    if (dLV) {
        /* serial over rows when ld_lv = 0: every row adds into the same dLV row */
#pragma omp parallel for if (ld_lv != 0 && PAR_ROWS(B, D))
        for (int b = 0; b < B; b++) {
            const size_t r = (size_t)b * (size_t)D;
            const float *lv = LV + (size_t)b * (size_t)ld_lv;
            float *dlv = dLV + (size_t)b * (size_t)ld_lv;
            for (int j = 0; j < D; j++) {
                double d = (double)X[r + j] - (double)MU[r + j];
                dlv[j] += (float)((double)g[b] * -0.5 * (1.0 - d * d * exp(-(double)lv[j])));
            }
        }
    }
}

/* ---- KL between diagonal Gaussians ---- */

/* Element terms in double: e^lv1 e^-lv2 as exp(lv1 - lv2) (no overflow when both are large), and
 * e^-lv2 stays finite for any float lv2 > -709, so a zero (mu1 - mu2) gives 0, not 0 * inf. */
/* KL(q || N(0, I)) = 0.5 sum_j (e^lv - lv + mu^2 - 1): with lv2 = 0 there is no e^-lv2 to
 * overflow, so float e^lv (vectorised) will do; the row sum stays in double. */
GX_VEC_CLONES static void kl_std_forward(float *out, const float *MU1, const float *LV1, int B,
                                         int D) {
#pragma omp parallel for if (PAR_ROWS(B, D))
    for (int b = 0; b < B; b++) {
        const float *mu = MU1 + (size_t)b * (size_t)D, *lv = LV1 + (size_t)b * (size_t)D;
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < D; j++) s += (double)(gx_vexp(lv[j]) - lv[j] + mu[j] * mu[j] - 1.0f);
        out[b] = (float)(0.5 * s);
    }
}

GX_VEC_CLONES static void kl_std_backward(float *dMU1, float *dLV1, const float *g,
                                          const float *MU1, const float *LV1, int B, int D) {
#pragma omp parallel for if (PAR_ROWS(B, D))
    for (int b = 0; b < B; b++) {
        const size_t r = (size_t)b * (size_t)D;
        const float gb = g[b];
        if (dMU1) {
#pragma omp simd
            for (int j = 0; j < D; j++) dMU1[r + j] += gb * MU1[r + j];
        }
        if (dLV1) {
#pragma omp simd
            for (int j = 0; j < D; j++) dLV1[r + j] += gb * 0.5f * (gx_vexp(LV1[r + j]) - 1.0f);
        }
    }
}

void gx_kl_diag_forward(float *out, const float *MU1, const float *LV1, const float *MU2,
                        const float *LV2, int ld2, int B, int D) {
    if (!MU2 && !LV2) {
        kl_std_forward(out, MU1, LV1, B, D);
        return;
    }
#pragma omp parallel for if (PAR_ROWS(B, D))
    for (int b = 0; b < B; b++) {
        const size_t r = (size_t)b * (size_t)D, r2 = (size_t)b * (size_t)ld2;
        double s = 0.0;
        for (int j = 0; j < D; j++) {
            double mu2 = MU2 ? MU2[r2 + j] : 0.0, lv2 = LV2 ? LV2[r2 + j] : 0.0;
            double d = (double)MU1[r + j] - mu2, lv1 = LV1[r + j];
            s += lv2 - lv1 + exp(lv1 - lv2) + d * d * exp(-lv2) - 1.0;
        }
        out[b] = (float)(0.5 * s);
    }
}

/* d/dmu1 = (mu1 - mu2) e^-lv2 = -d/dmu2;  d/dlv1 = 0.5 (e^(lv1-lv2) - 1);
 * d/dlv2 = 0.5 (1 - e^(lv1-lv2) - (mu1 - mu2)^2 e^-lv2), times gb, added where the pointer is not
 * NULL; d = mu1 - mu2, ei2 = e^-lv2, er = e^(lv1-lv2). */
static inline void kl_diag_grad_add(float *dmu1, float *dlv1, float *dmu2, float *dlv2, double gb,
                                    double d, double ei2, double er) {
    float gmu = (float)(gb * d * ei2);
    if (dmu1) *dmu1 += gmu;
    if (dmu2) *dmu2 -= gmu;
    if (dlv1) *dlv1 += (float)(gb * 0.5 * (er - 1.0));
    if (dlv2) *dlv2 += (float)(gb * 0.5 * (1.0 - er - d * d * ei2));
}

void gx_kl_diag_backward(float *dMU1, float *dLV1, float *dMU2, float *dLV2, const float *g,
                         const float *MU1, const float *LV1, const float *MU2, const float *LV2,
                         int ld2, int B, int D) {
    if (!MU2 && !LV2) {
        kl_std_backward(dMU1, dLV1, g, MU1, LV1, B, D);
        return;
    }
    if (!MU2) dMU2 = NULL;
    if (!LV2) dLV2 = NULL;
    if (ld2 == 0 && (dMU2 || dLV2)) {
        /* every row adds into the one dMU2/dLV2 row (a prior component shared by the rows):
         * columns in parallel, each summed over the rows in order, so the same bits as one thread */
#pragma omp parallel for if (PAR_ROWS(B, D))
        for (int j = 0; j < D; j++) {
            const double mu2 = MU2 ? MU2[j] : 0.0, lv2 = LV2 ? LV2[j] : 0.0, ei2 = exp(-lv2);
            for (int b = 0; b < B; b++) {
                const size_t r = (size_t)b * (size_t)D;
                const double d = (double)MU1[r + j] - mu2, er = exp(LV1[r + j] - lv2);
                kl_diag_grad_add(dMU1 ? dMU1 + r + j : NULL, dLV1 ? dLV1 + r + j : NULL,
                                 dMU2 ? dMU2 + j : NULL, dLV2 ? dLV2 + j : NULL, g[b], d, ei2, er);
            }
        }
        return;
    }
#pragma omp parallel for if (PAR_ROWS(B, D))
    for (int b = 0; b < B; b++) {
        const size_t r = (size_t)b * (size_t)D, r2 = (size_t)b * (size_t)ld2;
        const double gb = g[b];
        for (int j = 0; j < D; j++) {
            double mu2 = MU2 ? MU2[r2 + j] : 0.0, lv2 = LV2 ? LV2[r2 + j] : 0.0;
            double d = (double)MU1[r + j] - mu2, lv1 = LV1[r + j];
            kl_diag_grad_add(dMU1 ? dMU1 + r + j : NULL, dLV1 ? dLV1 + r + j : NULL,
                             dMU2 ? dMU2 + r2 + j : NULL, dLV2 ? dLV2 + r2 + j : NULL, gb, d,
                             exp(-lv2), exp(lv1 - lv2));
        }
    }
}

/* ---- reparameterisation ---- */

GX_VEC_CLONES void gx_reparam_forward(float *Z, const float *MU, const float *LV, const float *EPS,
                                      int n) {
#pragma omp parallel for simd if ((size_t)n > GX_PAR_MIN)
    for (int i = 0; i < n; i++) Z[i] = MU[i] + gx_vexp(0.5f * LV[i]) * EPS[i];
}

GX_VEC_CLONES void gx_reparam_backward(float *dMU, float *dLV, const float *dZ, const float *LV,
                                       const float *EPS, int n) {
    if (dMU) {
#pragma omp parallel for simd if ((size_t)n > GX_PAR_MIN)
        for (int i = 0; i < n; i++) dMU[i] += dZ[i];
    }
    if (dLV) {
#pragma omp parallel for simd if ((size_t)n > GX_PAR_MIN)
        for (int i = 0; i < n; i++) dLV[i] += dZ[i] * 0.5f * gx_vexp(0.5f * LV[i]) * EPS[i];
    }
}

/* ---- classification ---- */

/* y[b] must be in [0, K) (the data layer validates labels). */
void gx_cross_entropy_forward(float *out, float *P, const float *L, const int32_t *y, int B,
                              int K) {
    for (int b = 0; b < B; b++) {
        const float *l = L + (size_t)b * (size_t)K;
        float *p = P + (size_t)b * (size_t)K;
        float m;
        double ls;
        row_lse(l, K, &m, &ls);
        for (int k = 0; k < K; k++) p[k] = (float)exp(((double)l[k] - (double)m) - ls);
        out[b] = (float)(ls - ((double)l[y[b]] - (double)m));
    }
}

void gx_cross_entropy_backward(float *dL, const float *g, const float *P, const int32_t *y, int B,
                               int K) {
    if (!dL) return;
    for (int b = 0; b < B; b++) {
        const float *p = P + (size_t)b * (size_t)K;
        float *dl = dL + (size_t)b * (size_t)K;
        for (int k = 0; k < K; k++) dl[k] += g[b] * (p[k] - (k == y[b] ? 1.0f : 0.0f));
    }
}

void gx_soft_cross_entropy_forward(float *out, float *P, const float *L, const float *T, int B,
                                   int K) {
    for (int b = 0; b < B; b++) {
        const float *l = L + (size_t)b * (size_t)K, *t = T + (size_t)b * (size_t)K;
        float *p = P ? P + (size_t)b * (size_t)K : NULL;
        float m;
        double ls;
        row_lse(l, K, &m, &ls);
        double s = 0.0;
        for (int k = 0; k < K; k++) {
            double lp = ((double)l[k] - (double)m) - ls;
            if (p) p[k] = (float)exp(lp);
            s -= (double)t[k] * lp;
        }
        out[b] = (float)s;
    }
}

/* log_softmax for dT is recomputed from L (log P would be -inf where P underflows). */
void gx_soft_cross_entropy_backward(float *dL, float *dT, const float *g, const float *P,
                                    const float *L, const float *T, int B, int K) {
    for (int b = 0; b < B; b++) {
        const size_t r = (size_t)b * (size_t)K;
        if (dL) {
            double st = 0.0;
            for (int k = 0; k < K; k++) st += T[r + k];
            for (int k = 0; k < K; k++)
                dL[r + k] += g[b] * (float)((double)P[r + k] * st - (double)T[r + k]);
        }
        if (dT) {
            float m;
            double ls;
            row_lse(L + r, K, &m, &ls);
            for (int k = 0; k < K; k++)
                dT[r + k] += -g[b] * (float)(((double)L[r + k] - (double)m) - ls);
        }
    }
}

void gx_entropy_forward(float *out, float *P, const float *L, int B, int K) {
    for (int b = 0; b < B; b++) {
        const float *l = L + (size_t)b * (size_t)K;
        float *p = P ? P + (size_t)b * (size_t)K : NULL;
        float m;
        double ls;
        row_lse(l, K, &m, &ls);
        double h = 0.0;
        for (int k = 0; k < K; k++) {
            double lp = ((double)l[k] - (double)m) - ls, pk = exp(lp);
            if (p) p[k] = (float)pk;
            h -= pk * lp;
        }
        out[b] = (float)h;
    }
}

/* dL[b,j] += g[b] * (-p_j (log p_j + H_b)), log p and H recomputed from L in double. */
void gx_entropy_backward(float *dL, const float *g, const float *P, const float *L, int B, int K) {
    if (!dL) return;
    for (int b = 0; b < B; b++) {
        const size_t r = (size_t)b * (size_t)K;
        float m;
        double ls;
        row_lse(L + r, K, &m, &ls);
        double h = 0.0;
        for (int k = 0; k < K; k++) h -= (double)P[r + k] * (((double)L[r + k] - (double)m) - ls);
        for (int k = 0; k < K; k++) {
            double lp = ((double)L[r + k] - (double)m) - ls;
            dL[r + k] += g[b] * (float)(-(double)P[r + k] * (lp + h));
        }
    }
}
