#include "core/batchnorm.h"

#include <math.h>
#include <string.h>

void gx_batchnorm_forward_train(float *Y, float *xhat, float *inv_std, const float *X,
                                const float *gamma, const float *beta, int N, int C, float momentum,
                                float *run_mean, float *run_var, double *work) {
    double *sum = work, *sumsq = work + C;
    memset(work, 0, 2 * (size_t)C * sizeof *work);
    /* Two passes (mean, then squared deviations) for accuracy; rows outer for cache order. */
    for (int n = 0; n < N; n++) {
        const float *x = X + (size_t)n * C;
        for (int c = 0; c < C; c++) sum[c] += x[c];
    }
    for (int c = 0; c < C; c++) sum[c] /= N;
    for (int n = 0; n < N; n++) {
        const float *x = X + (size_t)n * C;
        for (int c = 0; c < C; c++) {
            double dev = x[c] - sum[c];
            sumsq[c] += dev * dev;
        }
    }
    for (int c = 0; c < C; c++) {
        double var = sumsq[c] / N;
        inv_std[c] = (float)(1.0 / sqrt(var + GX_BN_EPS));
        if (run_mean) {
            double unbiased = N > 1 ? sumsq[c] / (N - 1) : var;
            run_mean[c] = (float)((1.0 - momentum) * run_mean[c] + momentum * sum[c]);
            run_var[c] = (float)((1.0 - momentum) * run_var[c] + momentum * unbiased);
        }
    }
    for (int n = 0; n < N; n++) {
        const float *x = X + (size_t)n * C;
        float *xh = xhat + (size_t)n * C, *y = Y + (size_t)n * C;
        for (int c = 0; c < C; c++) {
            xh[c] = (float)(x[c] - sum[c]) * inv_std[c];
            y[c] = gamma[c] * xh[c] + beta[c];
        }
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

void gx_batchnorm_backward(float *dX, float *dgamma, float *dbeta, const float *dY,
                           const float *xhat, const float *inv_std, const float *gamma, int N, int C,
                           double *work) {
    double *sdy = work, *sdyx = work + C;
    memset(work, 0, 2 * (size_t)C * sizeof *work);
    for (int n = 0; n < N; n++) {
        const float *dy = dY + (size_t)n * C, *xh = xhat + (size_t)n * C;
        for (int c = 0; c < C; c++) {
            sdy[c] += dy[c];
            sdyx[c] += (double)dy[c] * xh[c];
        }
    }
    if (dgamma)
        for (int c = 0; c < C; c++) dgamma[c] += (float)sdyx[c];
    if (dbeta)
        for (int c = 0; c < C; c++) dbeta[c] += (float)sdy[c];
    if (!dX) return;
    for (int c = 0; c < C; c++) {
        sdy[c] /= N;
        sdyx[c] /= N;
    }
    for (int n = 0; n < N; n++) {
        const float *dy = dY + (size_t)n * C, *xh = xhat + (size_t)n * C;
        float *dx = dX + (size_t)n * C;
        for (int c = 0; c < C; c++)
            dx[c] += gamma[c] * inv_std[c] * (float)(dy[c] - sdy[c] - xh[c] * sdyx[c]);
    }
}
