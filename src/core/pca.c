#include "core/pca.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK's symmetric eigensolver (MRRR), exported by libopenblas; no LAPACKE header is installed
 * with the OpenMP OpenBLAS package, so the Fortran interface is declared here: every argument by
 * reference, column-major arrays, and the lengths of the three character arguments appended
 * (gfortran's convention; each is a one-character flag). */
extern void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a,
                    const int *lda, const double *vl, const double *vu, const int *il,
                    const int *iu, const double *abstol, int *m, double *w, double *z,
                    const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
                    const int *liwork, int *info, size_t jobz_len, size_t range_len,
                    size_t uplo_len);

#define PCA_BLOCK 256 /* rows centred and converted to double per dsyrk call */

void gx_pca_free(gx_pca *p) {
    if (!p) return;
    free(p->mean);
    free(p->components);
    free(p->variance);
    memset(p, 0, sizeof *p);
}

/* Top k eigenpairs of the symmetric d x d matrix C (both triangles filled; destroyed). Writes
 * vec [k, d] and val [k], largest eigenvalue first. */
static int top_eigen(double *C, int d, int k, double *vec, double *val, gx_error *err) {
    const char jobz = 'V', range = 'I', uplo = 'U';
    const int il = d - k + 1, iu = d;
    const double vl = 0, vu = 0, abstol = 0;
    int m = 0, info = 0, lwork = -1, liwork = -1, iwork_q = 0;
    double work_q = 0, dummy[1] = {0};
    int idummy[2] = {0, 0};
    double *w = NULL, *z = NULL, *work = NULL;
    int *isuppz = NULL, *iwork = NULL;
    int rc = -1;

    dsyevr_(&jobz, &range, &uplo, &d, C, &d, &vl, &vu, &il, &iu, &abstol, &m, dummy, dummy, &d,
            idummy, &work_q, &lwork, &iwork_q, &liwork, &info, 1, 1, 1);
    if (info != 0) return gx_fail(err, "PCA: LAPACK dsyevr workspace query failed (info %d)", info);
    lwork = (int)work_q;
    liwork = iwork_q;
    w = gx_malloc(sizeof(double) * (size_t)d, "PCA eigenvalues", err);
    z = gx_malloc(sizeof(double) * (size_t)d * (size_t)k, "PCA eigenvectors", err);
    work = gx_malloc(sizeof(double) * (size_t)(lwork > 1 ? lwork : 1), "PCA workspace", err);
    isuppz = gx_malloc(sizeof(int) * 2 * (size_t)k, "PCA workspace", err);
    iwork = gx_malloc(sizeof(int) * (size_t)(liwork > 1 ? liwork : 1), "PCA workspace", err);
    if (!w || !z || !work || !isuppz || !iwork) goto done;
    dsyevr_(&jobz, &range, &uplo, &d, C, &d, &vl, &vu, &il, &iu, &abstol, &m, w, z, &d, isuppz,
            work, &lwork, iwork, &liwork, &info, 1, 1, 1);
    if (info != 0 || m != k) {
        gx_fail(err, "PCA: LAPACK dsyevr failed (info %d, %d of %d eigenvalues)", info, m, k);
        goto done;
    }
    /* z is column-major d x k with ascending eigenvalues: the last column is the top one. */
    for (int j = 0; j < k; j++) {
        const double *col = z + (size_t)(k - 1 - j) * d;
        double *v = vec + (size_t)j * d;
        int big = 0;
        for (int t = 1; t < d; t++)
            if (fabs(col[t]) > fabs(col[big])) big = t;
        double sign = col[big] < 0 ? -1.0 : 1.0;
        for (int t = 0; t < d; t++) v[t] = sign * col[t] + 0.0; /* + 0.0: no negative zeros */
        val[j] = w[k - 1 - j] > 0 ? w[k - 1 - j] : 0.0; /* rounding can give -1e-17 */
    }
    rc = 0;
done:
    free(w);
    free(z);
    free(work);
    free(isuppz);
    free(iwork);
    return rc;
}

int gx_pca_fit(gx_pca *p, const float *X, int64_t n, int d, int k, gx_error *err) {
    memset(p, 0, sizeof *p);
    if (!X) return gx_fail(err, "PCA: no data (X is NULL)");
    if (n < 2) return gx_fail(err, "PCA: %lld rows; need at least 2", (long long)n);
    if (d < 1) return gx_fail(err, "PCA: %d columns; need at least 1", d);
    if (k < 1 || k > d)
        return gx_fail(err, "PCA: %d components of %d-dimensional data; expected 1 <= k <= %d", k,
                       d, d);
    size_t dd;
    if (gx_mul_size((size_t)d, (size_t)d, &dd, "PCA covariance", err) != 0 ||
        gx_mul_size(dd, sizeof(double), &dd, "PCA covariance", err) != 0)
        return -1;

    double *C = NULL, *block = NULL;
    p->d = d;
    p->k = k;
    p->mean = gx_calloc((size_t)d, sizeof(double), "PCA mean", err);
    p->components = gx_calloc((size_t)k * (size_t)d, sizeof(double), "PCA components", err);
    p->variance = gx_calloc((size_t)k, sizeof(double), "PCA variances", err);
    C = gx_calloc((size_t)d * (size_t)d, sizeof(double), "PCA covariance", err);
    block = gx_calloc((size_t)PCA_BLOCK * (size_t)d, sizeof(double), "PCA row block", err);
    if (!p->mean || !p->components || !p->variance || !C || !block) goto fail;

    /* mean, checking every entry */
    for (int64_t i = 0; i < n; i++) {
        const float *row = X + i * d;
        for (int t = 0; t < d; t++) {
            if (!isfinite(row[t])) {
                gx_fail(err, "PCA: non-finite value %g at row %lld, column %d", (double)row[t],
                        (long long)i, t);
                goto fail;
            }
            p->mean[t] += row[t];
        }
    }
    for (int t = 0; t < d; t++) p->mean[t] /= (double)n;

    /* C = sum over rows of (x - mean)(x - mean)^T, upper triangle (row-major), block by block */
    for (int64_t i0 = 0; i0 < n; i0 += PCA_BLOCK) {
        int rows = (int)(n - i0 < PCA_BLOCK ? n - i0 : PCA_BLOCK);
        for (int r = 0; r < rows; r++) {
            const float *row = X + (i0 + r) * d;
            double *b = block + (size_t)r * d;
            for (int t = 0; t < d; t++) b[t] = (double)row[t] - p->mean[t];
        }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, rows, 1.0, block, d, 1.0, C, d);
    }
    double trace = 0;
    for (int a = 0; a < d; a++) {
        for (int b = a; b < d; b++) {
            double v = C[(size_t)a * d + b] / (double)(n - 1);
            C[(size_t)a * d + b] = v;
            C[(size_t)b * d + a] = v;
        }
        trace += C[(size_t)a * d + a];
    }
    p->total_variance = trace;
    if (top_eigen(C, d, k, p->components, p->variance, err) != 0) goto fail;
    free(C);
    free(block);
    return 0;
fail:
    free(C);
    free(block);
    gx_pca_free(p);
    return -1;
}

int gx_pca_project(const gx_pca *p, const float *X, int64_t n, float *P, gx_error *err) {
    if (!p || !p->mean || !p->components) return gx_fail(err, "PCA projection: PCA not fitted");
    if (n < 0) return gx_fail(err, "PCA projection: %lld rows", (long long)n);
    if (n > 0 && (!X || !P)) return gx_fail(err, "PCA projection: X or P is NULL");
    const int d = p->d, k = p->k;
    for (int64_t i = 0; i < n; i++) {
        const float *row = X + i * d;
        for (int j = 0; j < k; j++) {
            const double *v = p->components + (size_t)j * d;
            double s = 0;
            for (int t = 0; t < d; t++) s += ((double)row[t] - p->mean[t]) * v[t];
            P[i * k + j] = (float)s;
        }
    }
    return 0;
}
