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

void gx_batchnorm_forward_train(float *Y, float *xhat, float *inv_std, const float *X,
                                const float *gamma, const float *beta, int N, int C, float momentum,
                                float *run_mean, float *run_var, double *work) {
    double *sum = work, *sumsq = work + C;
    memset(work, 0, 2 * (size_t)C * sizeof *work);
    /* Two passes (mean, then squared deviations) for accuracy. */
    col_sums(sum, X, N, C);
    for (int c = 0; c < C; c++) sum[c] /= N;
    col_sq_devs(sumsq, sum, X, N, C);
    for (int c = 0; c < C; c++) {
        double var = sumsq[c] / N;
        inv_std[c] = (float)(1.0 / sqrt(var + GX_BN_EPS));
        if (run_mean) {
            double unbiased = N > 1 ? sumsq[c] / (N - 1) : var;
            run_mean[c] = (float)((1.0 - momentum) * run_mean[c] + momentum * sum[c]);
            run_var[c] = (float)((1.0 - momentum) * run_var[c] + momentum * unbiased);
        }
    }
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
