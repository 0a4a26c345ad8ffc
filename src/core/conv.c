/* 2-D convolution (stride 1, same padding) as im2col + GEMM on NHWC maps. */
#include "core/conv.h"

#include <string.h>

#include "core/gemm.h"
#include "core/layers.h"
#include "core/vmath.h"

/* Images are independent in im2col and col2im (each writes only its own rows or pixels), so they
 * run on the OpenMP pool without changing the result. */
#define GX_CONV_PAR_MIN ((size_t)1 << 15)

size_t gx_conv2d_col_floats(int chunk, int H, int W, int C, int K) {
    return (size_t)chunk * H * W * K * K * C;
}

/* The valid kernel columns for output column x: kx in [lo, hi) reads input columns x + kx - K/2. */
static void kx_range(int x, int W, int K, int *lo, int *hi) {
    int p = K / 2;
    *lo = p - x > 0 ? p - x : 0;
    *hi = W + p - x < K ? W + p - x : K;
}

/* Loops rather than memset/memcpy: the runs are short (K * C floats), and calls would dominate.
 * Inlined into the per-image functions below, which are compiled for AVX-512, AVX2 and the
 * baseline (GX_VEC_CLONES): the runs are copied, zeroed and added several floats at a time. */
GX_VINLINE void zero(float *dst, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) dst[i] = 0.0f;
}

/* The patch rows [H*W, kkc] of one image xb [H, W, C]. */
GX_VEC_CLONES static void im2col_image(float *colb, const float *xb, int H, int W, int C, int K) {
    const int p = K / 2;
    const size_t kc = (size_t)K * C, kkc = kc * K;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float *row = colb + ((size_t)y * W + x) * kkc;
            int lo, hi;
            kx_range(x, W, K, &lo, &hi);
            for (int ky = 0; ky < K; ky++) {
                float *dst = row + ky * kc;
                int sy = y + ky - p;
                if (sy < 0 || sy >= H) {
                    zero(dst, kc);
                    continue;
                }
                /* kernel columns lo..hi-1 read contiguous input pixels */
                const float *src = xb + ((size_t)sy * W + (x + lo - p)) * C;
                size_t a = (size_t)lo * C, e = (size_t)hi * C;
                zero(dst, a);
#pragma omp simd
                for (size_t i = a; i < e; i++) dst[i] = src[i - a];
                zero(dst + e, kc - e);
            }
        }
}

void gx_im2col(float *col, const float *X, int nb, int H, int W, int C, int K) {
    const size_t kkc = (size_t)K * K * C, img = (size_t)H * W * C;
#pragma omp parallel for if ((size_t)nb * H * W * kkc > GX_CONV_PAR_MIN)
    for (int b = 0; b < nb; b++) im2col_image(col + (size_t)b * H * W * kkc, X + b * img, H, W, C, K);
}

/* Adds the patch gradients [H*W, kkc] of one image onto its pixels xb [H, W, C]. */
GX_VEC_CLONES static void col2im_image(float *xb, const float *dcolb, int H, int W, int C, int K) {
    const int p = K / 2;
    const size_t kc = (size_t)K * C, kkc = kc * K;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const float *row = dcolb + ((size_t)y * W + x) * kkc;
            int lo, hi;
            kx_range(x, W, K, &lo, &hi);
            for (int ky = 0; ky < K; ky++) {
                int sy = y + ky - p;
                if (sy < 0 || sy >= H) continue;
                const float *src = row + ky * kc + (size_t)lo * C;
                float *dst = xb + ((size_t)sy * W + (x + lo - p)) * C;
                size_t n = (size_t)(hi - lo) * C;
#pragma omp simd
                for (size_t i = 0; i < n; i++) dst[i] += src[i];
            }
        }
}

void gx_col2im_add(float *dX, const float *dcol, int nb, int H, int W, int C, int K) {
    const size_t kkc = (size_t)K * K * C, img = (size_t)H * W * C;
#pragma omp parallel for if ((size_t)nb * H * W * kkc > GX_CONV_PAR_MIN)
    for (int b = 0; b < nb; b++)
        col2im_image(dX + b * img, dcol + (size_t)b * H * W * kkc, H, W, C, K);
}

void gx_conv2d_forward(float *Y, const float *X, const float *Wt, const float *b, int B, int H,
                       int W, int C, int Cout, int K, float *col, int chunk) {
    const int kkc = K * K * C, hw = H * W;
    for (int b0 = 0; b0 < B; b0 += chunk) {
        int nb = B - b0 < chunk ? B - b0 : chunk;
        const float *xc = X + (size_t)b0 * hw * C;
        if (K > 1) { /* a 1x1 kernel's patches are the pixels themselves */
            gx_im2col(col, xc, nb, H, W, C, K);
            xc = col;
        }
        gx_linear_forward(Y + (size_t)b0 * hw * Cout, xc, Wt, kkc, b, nb * hw, kkc, Cout);
    }
}

void gx_conv2d_backward(float *dX, float *dW, float *db, const float *dY, const float *X,
                        const float *Wt, int B, int H, int W, int C, int Cout, int K, float *col,
                        int chunk) {
    const int kkc = K * K * C, hw = H * W;
    for (int b0 = 0; b0 < B; b0 += chunk) {
        int nb = B - b0 < chunk ? B - b0 : chunk, rows = nb * hw;
        const float *xc = X + (size_t)b0 * hw * C, *dyc = dY + (size_t)b0 * hw * Cout;
        float *dxc = dX ? dX + (size_t)b0 * hw * C : NULL;
        if (dW || db) {
            if (K > 1) {
                gx_im2col(col, xc, nb, H, W, C, K);
                xc = col;
            }
            gx_linear_backward(NULL, dW, db, dyc, xc, Wt, kkc, rows, kkc, Cout);
        }
        if (!dxc) continue;
        if (K == 1) {
            gx_linear_backward(dxc, NULL, NULL, dyc, NULL, Wt, kkc, rows, kkc, Cout);
        } else {
            /* dcol [rows, kkc] = dY W, then each patch gradient back onto its pixels */
            gx_gemm(false, false, rows, kkc, Cout, 1.0f, dyc, Cout, Wt, kkc, 0.0f, col, kkc);
            gx_col2im_add(dxc, col, nb, H, W, C, K);
        }
    }
}
