#include "core/batchnorm.h"

#include <math.h>
#include <string.h>

#include "core/vmath.h"

/* Every pass walks the [N, C] matrix row by row with the channels inner, so each loop over c is
 * independent element-wise work that the compiler vectorises (omp simd: the accumulators may not
 * alias the data). The column sums stay in double and in row order, so the results do not depend
 * on the vector width. The element-wise passes are split over the OpenMP pool in row blocks. */

#define BN_PAR_MIN ((size_t)1 << 15) /* elements below which a pass stays on one thread */
#define BN_ROWS 256                  /* rows per block of a parallel pass */

/* sum[c] += X[n, c] over the rows. */
GX_VEC_CLONES static void col_sums(double *sum, const float *X, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = X + (size_t)n * C;
#pragma omp simd
        for (int c = 0; c < C; c++) sum[c] += x[c];
    }
}

/* sq[c] += (X[n, c] - mean[c])^2 over the rows. */
GX_VEC_CLONES static void col_sq_devs(double *sq, const double *mean, const float *X, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = X + (size_t)n * C;
#pragma omp simd
        for (int c = 0; c < C; c++) {
            double dev = x[c] - mean[c];
            sq[c] += dev * dev;
        }
    }
}

/* xhat = (X - mean) * inv_std, Y = gamma * xhat + beta on rows [0, N). */
GX_VEC_CLONES static void normalise_rows(float *Y, float *xhat, const float *X, const double *mean,
                                         const float *inv_std, const float *gamma,
                                         const float *beta, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = X + (size_t)n * C;
        float *xh = xhat + (size_t)n * C, *y = Y + (size_t)n * C;
#pragma omp simd
        for (int c = 0; c < C; c++) {
            xh[c] = (float)(x[c] - mean[c]) * inv_std[c];
            y[c] = gamma[c] * xh[c] + beta[c];
        }
    }
}

/* From the batch's mean [C] and sums of squared deviations m2 [C] over N rows: inv_std (biased
 * variance) and, when run_mean is not NULL, the running averages (unbiased variance). */
static void finish_stats(float *inv_std, const double *mean, const double *m2, int N, int C,
                         float momentum, float *run_mean, float *run_var) {
    for (int c = 0; c < C; c++) {
        double var = m2[c] / N;
        inv_std[c] = (float)(1.0 / sqrt(var + GX_BN_EPS));
        if (run_mean) {
            double unbiased = N > 1 ? m2[c] / (N - 1) : var;
            run_mean[c] = (float)((1.0 - momentum) * run_mean[c] + momentum * mean[c]);
            run_var[c] = (float)((1.0 - momentum) * run_var[c] + momentum * unbiased);
        }
    }
}

void gx_batchnorm_forward_train(float *Y, float *xhat, float *inv_std, const float *X,
                                const float *gamma, const float *beta, int N, int C, float momentum,
                                float *run_mean, float *run_var, double *work) {
    double *sum = work, *sumsq = work + C;
    memset(work, 0, 2 * (size_t)C * sizeof *work);
    /* Two passes (mean, then squared deviations) for accuracy. */
    col_sums(sum, X, N, C);
    for (int c = 0; c < C; c++) sum[c] /= N;
    col_sq_devs(sumsq, sum, X, N, C);
    finish_stats(inv_std, sum, sumsq, N, C, momentum, run_mean, run_var);
#pragma omp parallel for if ((size_t)N * C > BN_PAR_MIN)
    for (int n0 = 0; n0 < N; n0 += BN_ROWS) {
        size_t o = (size_t)n0 * C;
        normalise_rows(Y + o, xhat + o, X + o, sum, inv_std, gamma, beta,
                       N - n0 < BN_ROWS ? N - n0 : BN_ROWS, C);
    }
}

void gx_batchnorm_forward_eval(float *Y, const float *X, const float *gamma, const float *beta,
                               const float *run_mean, const float *run_var, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = X + (size_t)n * C;
        float *y = Y + (size_t)n * C;
        for (int c = 0; c < C; c++)
            y[c] = gamma[c] * (x[c] - run_mean[c]) / sqrtf(run_var[c] + GX_BN_EPS) + beta[c];
    }
}

/* sdy[c] += dY[n, c], sdyx[c] += dY[n, c] xhat[n, c] over the rows. */
GX_VEC_CLONES static void grad_sums(double *sdy, double *sdyx, const float *dY, const float *xhat,
                                    int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *dy = dY + (size_t)n * C, *xh = xhat + (size_t)n * C;
#pragma omp simd
        for (int c = 0; c < C; c++) {
            sdy[c] += dy[c];
            sdyx[c] += (double)dy[c] * xh[c];
        }
    }
}

/* dX += gamma inv_std (dY - mean dY - xhat mean(dY xhat)) on rows [0, N); dX = ... when dX is
 * dY (each element reads only its own dY). */
GX_VEC_CLONES static void grad_rows(float *dX, const float *dY, const float *xhat,
                                    const double *sdy, const double *sdyx, const float *gamma,
                                    const float *inv_std, int N, int C) {
    const int write = dX == dY;
    for (int n = 0; n < N; n++) {
        const float *dy = dY + (size_t)n * C, *xh = xhat + (size_t)n * C;
        float *dx = dX + (size_t)n * C;
        if (write) {
#pragma omp simd
            for (int c = 0; c < C; c++)
                dx[c] = gamma[c] * inv_std[c] * (float)(dy[c] - sdy[c] - xh[c] * sdyx[c]);
        } else {
#pragma omp simd
            for (int c = 0; c < C; c++)
                dx[c] += gamma[c] * inv_std[c] * (float)(dy[c] - sdy[c] - xh[c] * sdyx[c]);
        }
    }
}

void gx_batchnorm_backward(float *dX, float *dgamma, float *dbeta, const float *dY,
                           const float *xhat, const float *inv_std, const float *gamma, int N, int C,
                           double *work) {
    double *sdy = work, *sdyx = work + C;
    memset(work, 0, 2 * (size_t)C * sizeof *work);
    grad_sums(sdy, sdyx, dY, xhat, N, C);
    if (dgamma)
        for (int c = 0; c < C; c++) dgamma[c] += (float)sdyx[c];
    if (dbeta)
        for (int c = 0; c < C; c++) dbeta[c] += (float)sdy[c];
    if (!dX) return;
    for (int c = 0; c < C; c++) {
        sdy[c] /= N;
        sdyx[c] /= N;
    }
#pragma omp parallel for if ((size_t)N * C > BN_PAR_MIN)
    for (int n0 = 0; n0 < N; n0 += BN_ROWS) {
        size_t o = (size_t)n0 * C;
        grad_rows(dX + o, dY + o, xhat + o, sdy, sdyx, gamma, inv_std,
                  N - n0 < BN_ROWS ? N - n0 : BN_ROWS, C);
    }
}

/* ---- batch norm + ReLU + 2x2 max pool, fused ----
 *
 * Per image: the statistics, the pooled outputs and the gradients of one image are computed
 * independently (in parallel), and the per-image results are combined in image order, so the
 * result is the same for any thread count. */

size_t gx_bn_relu_pool_work_doubles(int B, int C) { return 2 * (size_t)C * ((size_t)B + 1); }

/* xhat in float, (x - mean) inv_std with the mean rounded to float (the statistics themselves are
 * double): the backward pass recomputes exactly what the forward pass used. */
#define BRP_XHAT(x, c) (((x) - mean[c]) * inv_std[c])
#define BRP_Z(x, c) (gamma[c] * BRP_XHAT(x, c) + beta[c])

/* One image x [H, W, C] -> p [H/2, W/2, C], arg as p. */
GX_VEC_CLONES static void brp_forward_image(float *p, uint8_t *arg, const float *x,
                                            const float *mean, const float *inv_std,
                                            const float *gamma, const float *beta, int H, int W,
                                            int C) {
    const int oh = H / 2, ow = W / 2;
    for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++) {
            size_t o = ((size_t)i * ow + j) * C;
            const float *w0 = x + ((size_t)2 * i * W + 2 * j) * C, *w1 = w0 + C;
            const float *w2 = w0 + (size_t)W * C, *w3 = w2 + C;
#pragma omp simd
            for (int c = 0; c < C; c++) {
                float z0 = BRP_Z(w0[c], c), z1 = BRP_Z(w1[c], c);
                float z2 = BRP_Z(w2[c], c), z3 = BRP_Z(w3[c], c);
                float best = z0;
                uint8_t a = 0;
                if (z1 > best) best = z1, a = 1;
                if (z2 > best) best = z2, a = 2;
                if (z3 > best) best = z3, a = 3;
                p[o + c] = best < 0.0f ? 0.0f : best;
                arg[o + c] = best > 0.0f ? a : (uint8_t)(a + 4);
            }
        }
}

/* One image's gradient sums over its winners: sdy[c] = sum dY, sdyx[c] = sum dY xhat (double).
 * All four pixels of a window are loaded and the winner selected (no conditional loads). Each row
 * of windows is summed in float registers (at most SUMS_C channels at a time), then added in
 * double: a loop over doubles in memory would wait on each add through a store. */
#define SUMS_C 64
GX_VEC_CLONES static void brp_sums_image(double *sdy, double *sdyx, const float *dp,
                                         const uint8_t *arg, const float *x, const float *mean,
                                         const float *inv_std, int H, int W, int C) {
    const int oh = H / 2, ow = W / 2;
    for (int c = 0; c < C; c++) sdy[c] = sdyx[c] = 0.0;
    for (int c0 = 0; c0 < C; c0 += SUMS_C) {
        const int cn = C - c0 < SUMS_C ? C - c0 : SUMS_C;
        const float *m = mean + c0, *is = inv_std + c0;
        for (int i = 0; i < oh; i++) {
            float rdy[SUMS_C], rdyx[SUMS_C];
            for (int c = 0; c < cn; c++) rdy[c] = rdyx[c] = 0.0f;
            for (int j = 0; j < ow; j++) {
                const size_t o = ((size_t)i * ow + j) * C + c0;
                const float *w0 = x + ((size_t)2 * i * W + 2 * j) * C + c0, *w1 = w0 + C;
                const float *w2 = w0 + (size_t)W * C, *w3 = w2 + C;
                const float *d = dp + o;
                const uint8_t *ar = arg + o;
#pragma omp simd
                for (int c = 0; c < cn; c++) {
                    const float v0 = w0[c], v1 = w1[c], v2 = w2[c], v3 = w3[c], g0 = d[c];
                    const uint8_t a = ar[c];
                    const float v = (a & 1) ? ((a & 2) ? v3 : v1) : ((a & 2) ? v2 : v0);
                    const float g = a < 4 ? g0 : 0.0f;
                    rdy[c] += g;
                    rdyx[c] += g * ((v - m[c]) * is[c]);
                }
            }
            for (int c = 0; c < cn; c++) sdy[c0 + c] += rdy[c], sdyx[c0 + c] += rdyx[c];
        }
    }
}

/* One image's input gradient dx [H, W, C] (written), as grad_rows with dY the routed gradient:
 * dp at a window's winner whose maximum passed the ReLU, 0 elsewhere (and on a dropped odd row or
 * column): dx = scale (dY - sdy - xhat sdyx) with scale = gamma inv_std and the means sdy, sdyx
 * over the batch's rows (in float). */
GX_VEC_CLONES static void brp_dx_image(float *dx, const float *dp, const uint8_t *arg,
                                       const float *x, const float *mean, const float *inv_std,
                                       const float *scale, const float *sdy, const float *sdyx,
                                       int H, int W, int C) {
    const int oh = H / 2, ow = W / 2;
    for (int y = 0; y < H; y++)
        for (int xi = 0; xi < W; xi++) {
            const size_t r = ((size_t)y * W + xi) * C;
            const float *xr = x + r;
            float *d = dx + r;
            if (y < 2 * oh && xi < 2 * ow) {
                const int k = (y & 1) * 2 + (xi & 1);
                const size_t o = ((size_t)(y / 2) * ow + xi / 2) * C;
#pragma omp simd
                for (int c = 0; c < C; c++) {
                    float g = arg[o + c] == k ? dp[o + c] : 0.0f;
                    d[c] = scale[c] * ((g - sdy[c]) - BRP_XHAT(xr[c], c) * sdyx[c]);
                }
            } else {
#pragma omp simd
                for (int c = 0; c < C; c++)
                    d[c] = scale[c] * ((0.0f - sdy[c]) - BRP_XHAT(xr[c], c) * sdyx[c]);
            }
        }
}

void gx_bn_relu_pool_forward(float *P, uint8_t *arg, float *mean, float *inv_std, const float *X,
                             const float *gamma, const float *beta, int B, int H, int W, int C,
                             float momentum, float *run_mean, float *run_var, double *work) {
    const int hw = H * W, N = B * hw;
    const size_t img = (size_t)hw * C, out = (size_t)(H / 2) * (W / 2) * C;
    double *part = work; /* [B][2][C]: each image's mean and squared deviations about it */
#pragma omp parallel for if ((size_t)N * C > BN_PAR_MIN)
    for (int b = 0; b < B; b++) {
        double *mb = part + (size_t)b * 2 * C, *qb = mb + C;
        for (int c = 0; c < C; c++) mb[c] = qb[c] = 0.0;
        col_sums(mb, X + b * img, hw, C);
        for (int c = 0; c < C; c++) mb[c] /= hw;
        col_sq_devs(qb, mb, X + b * img, hw, C);
    }
    /* Chan et al.'s pairwise update, image by image: n_a + n_b values, delta = mean_b - mean_a,
     * mean += delta n_b / n, M2 += M2_b + delta^2 n_a n_b / n (no cancellation) */
    double *mu = work + (size_t)B * 2 * C, *m2 = mu + C;
    for (int c = 0; c < C; c++) mu[c] = m2[c] = 0.0;
    for (int b = 0; b < B; b++) {
        const double *mb = part + (size_t)b * 2 * C, *qb = mb + C;
        double na = (double)b * hw, nb = hw, n = na + nb;
        for (int c = 0; c < C; c++) {
            double delta = mb[c] - mu[c];
            mu[c] += delta * (nb / n);
            m2[c] += qb[c] + delta * delta * (na * nb / n);
        }
    }
    for (int c = 0; c < C; c++) mean[c] = (float)mu[c];
    finish_stats(inv_std, mu, m2, N, C, momentum, run_mean, run_var);
#pragma omp parallel for if ((size_t)N * C > BN_PAR_MIN)
    for (int b = 0; b < B; b++)
        brp_forward_image(P + b * out, arg + b * out, X + b * img, mean, inv_std, gamma, beta, H, W,
                          C);
}

void gx_bn_relu_pool_backward(float *dX, float *dgamma, float *dbeta, const float *dP,
                              const uint8_t *arg, const float *X, const float *mean,
                              const float *inv_std, const float *gamma, int B, int H, int W, int C,
                              double *work) {
    const int hw = H * W, N = B * hw;
    const size_t img = (size_t)hw * C, out = (size_t)(H / 2) * (W / 2) * C;
    double *part = work, *sdy = work + (size_t)B * 2 * C, *sdyx = sdy + C;
#pragma omp parallel for if ((size_t)N * C > BN_PAR_MIN)
    for (int b = 0; b < B; b++) {
        double *pb = part + (size_t)b * 2 * C;
        brp_sums_image(pb, pb + C, dP + b * out, arg + b * out, X + b * img, mean, inv_std, H, W, C);
    }
    for (int c = 0; c < C; c++) sdy[c] = sdyx[c] = 0.0;
    for (int b = 0; b < B; b++) {
        const double *pb = part + (size_t)b * 2 * C;
        for (int c = 0; c < C; c++) sdy[c] += pb[c], sdyx[c] += pb[C + c];
    }
    if (dgamma)
        for (int c = 0; c < C; c++) dgamma[c] += (float)sdyx[c];
    if (dbeta)
        for (int c = 0; c < C; c++) dbeta[c] += (float)sdy[c];
    if (!dX) return;
    /* the per-channel factors in float, in the scratch the per-image sums are done with */
    float *scale = (float *)(void *)work, *my = scale + C, *myx = my + C;
    for (int c = 0; c < C; c++) {
        scale[c] = gamma[c] * inv_std[c];
        my[c] = (float)(sdy[c] / N);
        myx[c] = (float)(sdyx[c] / N);
    }
#pragma omp parallel for if ((size_t)N * C > BN_PAR_MIN)
    for (int b = 0; b < B; b++)
        brp_dx_image(dX + b * img, dP + b * out, arg + b * out, X + b * img, mean, inv_std, scale,
                     my, myx, H, W, C);
}
