/* Principal component analysis of an n x d float matrix, computed in double: the mean, the top k
 * eigenvectors of the sample covariance (divisor n - 1) and their variances (the eigenvalues).
 * Used to draw latent spaces in two dimensions.
 *
 *     gx_pca p;
 *     if (gx_pca_fit(&p, X, n, d, 2, err) != 0) return -1;
 *     gx_pca_project(&p, X, n, P, err);           // P [n, 2] = (X - mean) V
 *     ...
 *     gx_pca_free(&p);
 *
 * Method: the covariance is accumulated with cblas_dsyrk over blocks of centred rows, and its top
 * k eigenpairs come from LAPACK's dsyevr (the MRRR algorithm, range 'I') as shipped in OpenBLAS;
 * cost O(n d^2 + d^3), memory O(d^2) plus a block of rows. Sign convention, so that results do
 * not flip between runs or machines: in each component the entry of largest magnitude (the first
 * one on a tie) is positive. Components are orthonormal; variances are in decreasing order.
 * Deterministic for a given thread count (BLAS sums may differ in the last bits across thread
 * counts). */
#ifndef GX_PCA_H
#define GX_PCA_H

#include <stdint.h>

#include "core/error.h"

typedef struct gx_pca {
    int d, k;
    double *mean;           /* [d] */
    double *components;     /* [k, d] row-major: component j is components[j*d .. j*d + d - 1],
                             * i.e. the transpose of V [d, k] */
    double *variance;       /* [k] eigenvalues of the covariance, largest first */
    double total_variance;  /* trace of the covariance: variance[j] / total_variance is the
                             * fraction explained by component j (0 when every row is the same) */
} gx_pca;

/* Fits X [n, d] (row-major). Requires n >= 2, d >= 1, 1 <= k <= d; a non-finite entry is an
 * error naming its row and column. On failure *p is zeroed (gx_pca_free is still safe). */
int gx_pca_fit(gx_pca *p, const float *X, int64_t n, int d, int k, gx_error *err);

/* P [n, k] = (X [n, d] - mean) V, computed in double and stored as float. n >= 0. */
int gx_pca_project(const gx_pca *p, const float *X, int64_t n, float *P, gx_error *err);

/* Releases the arrays; p may be zeroed or NULL. */
void gx_pca_free(gx_pca *p);

#endif
