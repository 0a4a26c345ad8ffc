/* 2-D convolution (stride 1, same padding) as im2col + GEMM on NHWC maps. */
#include "core/conv.h"

#include <omp.h>
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

/* Adds the patch gradients [H*W, kkc] of one image onto its pixels xb [H, W, C]. With clear, the
 * patch gradients are then zeroed (whole rows), so that the next GEMM can add into them (beta = 1)
 * instead of OpenBLAS zeroing them first in a pass of its own. */
GX_VEC_CLONES static void col2im_image(float *xb, float *dcolb, int H, int W, int C, int K,
                                       int clear) {
    const int p = K / 2;
    const size_t kc = (size_t)K * C, kkc = kc * K;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float *row = dcolb + ((size_t)y * W + x) * kkc;
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
            if (clear) zero(row, kkc);
        }
}

void gx_col2im_add(float *dX, const float *dcol, int nb, int H, int W, int C, int K) {
    const size_t kkc = (size_t)K * K * C, img = (size_t)H * W * C;
#pragma omp parallel for if ((size_t)nb * H * W * kkc > GX_CONV_PAR_MIN)
    for (int b = 0; b < nb; b++)
        /* (clear = 0: dcol is only read) */
        col2im_image(dX + b * img, (float *)dcol + (size_t)b * H * W * kkc, H, W, C, K, 0);
}

/* ---- direct convolution for small patches ----
 *
 * With K*K*C small (the first layer of an image network: C = 1, K = 3, 9 taps) a GEMM over the
 * patches is mostly packing and im2col, so the forward pass and the weight gradient loop over the
 * pixels directly, vectorised over the output channels. */
#define DIRECT_KKC 16     /* taps (K*K*C) up to which the direct path is used */
#define DIRECT_WT 4096    /* and Cout*K*K*C up to this (the transposed weights live on the stack) */
#define DIRECT_CO 16      /* output channels per block (of the accumulators, of a parallel block);
                           * the vector code below assumes 16 */

static int use_direct(int C, int Cout, int K) {
    int kkc = K * K * C;
    return K > 1 && kkc <= DIRECT_KKC && (long)kkc * Cout <= DIRECT_WT;
}

/* Output channels o0 .. o0+n-1 (n <= DIRECT_CO) of pixel (y, x): the sum over its valid taps t of
 * x(tap t) wt[t, o] + b[o], taps in (ky, kx, c) order; wt [kkc, Cout] is W transposed. For the
 * edge pixels and the general case; the inner pixels of a grey 3x3 image take direct_inner3. */
GX_VINLINE void direct_pixel(float *out, const float *xb, const float *wt, const float *b, int y,
                             int x, int H, int W, int C, int Cout, int K, int o0, int n) {
    const int p = K / 2;
    float acc[DIRECT_CO];
#pragma omp simd
    for (int j = 0; j < n; j++) acc[j] = b[o0 + j];
    int lo, hi;
    kx_range(x, W, K, &lo, &hi);
    for (int ky = 0; ky < K; ky++) {
        int sy = y + ky - p;
        if (sy < 0 || sy >= H) continue;
        const float *src = xb + ((size_t)sy * W + (x + lo - p)) * C;
        const float *w = wt + (size_t)(ky * K + lo) * C * Cout + o0;
        for (int t = 0; t < (hi - lo) * C; t++) {
            const float v = src[t], *wr = w + (size_t)t * Cout;
#pragma omp simd
            for (int j = 0; j < n; j++) acc[j] += v * wr[j];
        }
    }
#pragma omp simd
    for (int j = 0; j < n; j++) out[o0 + j] = acc[j];
}

/* DIRECT_CO floats as two GCC vectors of 8 (an AVX2 register each, two SSE registers each): the
 * accumulators of the hot loops below, which `omp simd` kept on the stack. Element-wise the same
 * IEEE operations (a multiply, then an add: no contraction under -std=c11). */
#if defined(__GNUC__)
typedef float gx_f8 __attribute__((vector_size(8 * sizeof(float))));
typedef struct {
    gx_f8 lo, hi;
} gx_f16;
GX_VINLINE gx_f16 ld16(const float *p) {
    gx_f16 v;
    memcpy(&v.lo, p, sizeof v.lo);
    memcpy(&v.hi, p + 8, sizeof v.hi);
    return v;
}
GX_VINLINE void st16(float *p, gx_f16 v) {
    memcpy(p, &v.lo, sizeof v.lo);
    memcpy(p + 8, &v.hi, sizeof v.hi);
}
/* a += s * b */
GX_VINLINE void madd16(gx_f16 *a, float s, gx_f16 b) {
    a->lo += s * b.lo;
    a->hi += s * b.hi;
}
#endif

/* Output channels o0 .. o0+DIRECT_CO-1 of an inner pixel of a grey image with a 3x3 kernel: the
 * nine taps v, in the order of direct_pixel. */
GX_VINLINE void direct_inner3(float *out, const float *v, const float *wt, const float *b, int Cout,
                              int o0) {
#if defined(__GNUC__)
    gx_f16 acc = ld16(b + o0);
    for (int t = 0; t < 9; t++) madd16(&acc, v[t], ld16(wt + (size_t)t * Cout + o0));
    st16(out + o0, acc);
#else
    float acc[DIRECT_CO];
    for (int j = 0; j < DIRECT_CO; j++) acc[j] = b[o0 + j];
    for (int t = 0; t < 9; t++)
        for (int j = 0; j < DIRECT_CO; j++) acc[j] += v[t] * wt[(size_t)t * Cout + o0 + j];
    for (int j = 0; j < DIRECT_CO; j++) out[o0 + j] = acc[j];
#endif
}

/* One image: y [H, W, Cout] of x [H, W, C], DIRECT_CO output channels at a time; the inner pixels
 * of a grey image with a 3x3 kernel (the common first layer) without the edge logic. */
GX_VEC_CLONES static void direct_image(float *yb, const float *xb, const float *wt, const float *b,
                                       int H, int W, int C, int Cout, int K) {
    const int grey3 = K == 3 && C == 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float *out = yb + ((size_t)y * W + x) * Cout;
            int o0 = 0;
            if (grey3 && y > 0 && y < H - 1 && x > 0 && x < W - 1) {
                const float *s0 = xb + (size_t)(y - 1) * W + (x - 1), *s1 = s0 + W, *s2 = s1 + W;
                const float v[9] = {s0[0], s0[1], s0[2], s1[0], s1[1], s1[2], s2[0], s2[1], s2[2]};
                for (; o0 + DIRECT_CO <= Cout; o0 += DIRECT_CO) direct_inner3(out, v, wt, b, Cout, o0);
            } else {
                for (; o0 + DIRECT_CO <= Cout; o0 += DIRECT_CO)
                    direct_pixel(out, xb, wt, b, y, x, H, W, C, Cout, K, o0, DIRECT_CO);
            }
            if (o0 < Cout) direct_pixel(out, xb, wt, b, y, x, H, W, C, Cout, K, o0, Cout - o0);
        }
}

static void direct_forward(float *Y, const float *X, const float *Wt, const float *b, int B, int H,
                           int W, int C, int Cout, int K) {
    const int kkc = K * K * C;
    float wt[DIRECT_WT], bias[DIRECT_WT / 4]; /* kkc >= 4: Cout <= DIRECT_WT / 4 */
    for (int o = 0; o < Cout; o++) {
        bias[o] = b ? b[o] : 0.0f;
        for (int t = 0; t < kkc; t++) wt[(size_t)t * Cout + o] = Wt[(size_t)o * kkc + t];
    }
    const size_t img = (size_t)H * W * C, oimg = (size_t)H * W * Cout;
#pragma omp parallel for if ((size_t)B * oimg * kkc > GX_CONV_PAR_MIN)
    for (int bi = 0; bi < B; bi++)
        direct_image(Y + bi * oimg, X + bi * img, wt, bias, H, W, C, Cout, K);
}

/* acc [kkc, n] = sum over the pixels of image xb of x(tap t) dy[pixel, o0 + j], j < n <= DIRECT_CO:
 * one image's share of the weight gradient for output channels o0 .. o0+n-1, each tap summed in
 * float over the image's pixels in order (in registers: inlined with n = DIRECT_CO). */
GX_VINLINE void direct_dw_block(float *acc, const float *xb, const float *dyb, int H, int W, int C,
                                int Cout, int K, int o0, int n) {
    const int p = K / 2;
    for (int ky = 0; ky < K; ky++)
        for (int kx = 0; kx < K; kx++)
            for (int ci = 0; ci < C; ci++) {
                float a[DIRECT_CO];
#pragma omp simd
                for (int j = 0; j < n; j++) a[j] = 0.0f;
                /* output pixels (y, x) whose tap (ky, kx) is inside the image */
                int y0 = p - ky > 0 ? p - ky : 0, y1 = H + p - ky < H ? H + p - ky : H;
                int x0 = p - kx > 0 ? p - kx : 0, x1 = W + p - kx < W ? W + p - kx : W;
                float *ar = acc + (size_t)((ky * K + kx) * C + ci) * n;
#if defined(__GNUC__)
                if (n == DIRECT_CO) {
                    /* the accumulators in registers, four of them (pixels x mod 4) so that the
                     * adds do not wait on each other; added pairwise at the end */
                    gx_f16 a0 = ld16(a), a1 = a0, a2 = a0, a3 = a0;
                    for (int y = y0; y < y1; y++) {
                        const float *src = xb + ((size_t)(y + ky - p) * W + (kx - p)) * C + ci;
                        const float *g = dyb + (size_t)y * W * Cout + o0;
                        int x = x0;
                        for (; x + 4 <= x1; x += 4) {
                            madd16(&a0, src[(size_t)x * C], ld16(g + (size_t)x * Cout));
                            madd16(&a1, src[(size_t)(x + 1) * C], ld16(g + (size_t)(x + 1) * Cout));
                            madd16(&a2, src[(size_t)(x + 2) * C], ld16(g + (size_t)(x + 2) * Cout));
                            madd16(&a3, src[(size_t)(x + 3) * C], ld16(g + (size_t)(x + 3) * Cout));
                        }
                        for (; x < x1; x++)
                            madd16(&a0, src[(size_t)x * C], ld16(g + (size_t)x * Cout));
                    }
                    a0.lo += a1.lo, a0.hi += a1.hi, a2.lo += a3.lo, a2.hi += a3.hi;
                    a0.lo += a2.lo, a0.hi += a2.hi;
                    st16(ar, a0);
                    continue;
                }
#endif
                for (int y = y0; y < y1; y++) {
                    const float *src = xb + ((size_t)(y + ky - p) * W + (kx - p)) * C + ci;
                    const float *g = dyb + (size_t)y * W * Cout + o0;
                    for (int x = x0; x < x1; x++) {
                        const float v = src[(size_t)x * C], *gx = g + (size_t)x * Cout;
#pragma omp simd
                        for (int j = 0; j < n; j++) a[j] += v * gx[j];
                    }
                }
#pragma omp simd
                for (int j = 0; j < n; j++) ar[j] = a[j];
            }
}

GX_VEC_CLONES static void direct_dw_image(float *acc, const float *xb, const float *dyb, int H,
                                          int W, int C, int Cout, int K, int o0, int n) {
    if (n == DIRECT_CO && K == 3 && C == 1)
        direct_dw_block(acc, xb, dyb, H, W, 1, Cout, 3, o0, DIRECT_CO);
    else if (n == DIRECT_CO)
        direct_dw_block(acc, xb, dyb, H, W, C, Cout, K, o0, DIRECT_CO);
    else
        direct_dw_block(acc, xb, dyb, H, W, C, Cout, K, o0, n);
}

/* dW [Cout, kkc] += dY^T patches(X): blocks of DIRECT_CO output channels in parallel; within a
 * block each image is summed in float and the images are added in order in double, so the result
 * is the same for any thread count. */
static void direct_dw(float *dW, const float *dY, const float *X, int B, int H, int W, int C,
                      int Cout, int K) {
    const int kkc = K * K * C, blocks = (Cout + DIRECT_CO - 1) / DIRECT_CO;
    const size_t img = (size_t)H * W * C, oimg = (size_t)H * W * Cout;
#pragma omp parallel for if (blocks > 1 && (size_t)B * oimg * kkc > GX_CONV_PAR_MIN)
    for (int blk = 0; blk < blocks; blk++) {
        const int o0 = blk * DIRECT_CO, n = Cout - o0 < DIRECT_CO ? Cout - o0 : DIRECT_CO;
        float acc[DIRECT_KKC * DIRECT_CO];
        double sum[DIRECT_KKC * DIRECT_CO] = {0};
        for (int bi = 0; bi < B; bi++) {
            direct_dw_image(acc, X + bi * img, dY + bi * oimg, H, W, C, Cout, K, o0, n);
            for (int i = 0; i < kkc * n; i++) sum[i] += acc[i];
        }
        for (int j = 0; j < n; j++)
            for (int t = 0; t < kkc; t++) dW[(size_t)(o0 + j) * kkc + t] += (float)sum[t * n + j];
    }
}

void gx_conv2d_forward(float *Y, const float *X, const float *Wt, const float *b, int B, int H,
                       int W, int C, int Cout, int K, float *col, int chunk) {
    const int kkc = K * K * C, hw = H * W;
    if (use_direct(C, Cout, K)) {
        direct_forward(Y, X, Wt, b, B, H, W, C, Cout, K);
        return;
    }
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

/* Floats of patch gradients per step of the input gradient (half of a 1 MB L2 cache). */
#define DCOL_FLOATS ((size_t)1 << 17)

/* The backward pass; patches (if not NULL) holds im2col(X) of the whole batch, kept from the
 * forward pass, and col is then only the scratch of the patch gradients. */
static void conv2d_backward(float *dX, float *dW, float *db, const float *dY, const float *X,
                            const float *patches, const float *Wt, int B, int H, int W, int C,
                            int Cout, int K, float *col, int chunk) {
    const int kkc = K * K * C, hw = H * W;
    if (use_direct(C, Cout, K) && (dW || db)) {
        if (dW) direct_dw(dW, dY, X, B, H, W, C, Cout, K);
        if (db) gx_linear_backward(NULL, NULL, db, dY, NULL, Wt, kkc, B * hw, kkc, Cout);
        dW = db = NULL; /* the loop below does dX only */
        if (!dX) return;
    }
    if (dW || db)
        for (int b0 = 0; b0 < B; b0 += chunk) {
            int nb = B - b0 < chunk ? B - b0 : chunk, rows = nb * hw;
            const float *xc = X + (size_t)b0 * hw * C, *dyc = dY + (size_t)b0 * hw * Cout;
            if (K > 1 && patches) {
                xc = patches + (size_t)b0 * hw * kkc;
            } else if (K > 1) {
                gx_im2col(col, xc, nb, H, W, C, K);
                xc = col;
            }
            gx_linear_backward(NULL, dW, db, dyc, xc, Wt, kkc, rows, kkc, Cout);
        }
    if (!dX) return;
    if (K == 1) {
        gx_linear_backward(dX, NULL, NULL, dY, NULL, Wt, kkc, B * hw, kkc, Cout);
        return;
    }
    /* dcol [rows, kkc] = dY W, then each patch gradient back onto its pixels, a few images at a
     * time, so that the patch gradients (which the GEMM first zeroes, then writes, and col2im
     * reads) stay in cache */
    size_t per_image = (size_t)hw * kkc;
    int dchunk = per_image * chunk <= DCOL_FLOATS ? chunk : (int)(DCOL_FLOATS / per_image);
    if (dchunk < 1) dchunk = 1;
    /* With several threads, each takes whole steps with its own part of col (a GEMM inside a
     * parallel region runs on one thread, col2im too): the steps write disjoint images, so the
     * result is the same as one step after the other. */
    const int steps = (B + dchunk - 1) / dchunk, threads = omp_get_max_threads();
    const int par = threads > 1 && steps > 1 && !omp_in_parallel() && threads * dchunk <= chunk;
    /* the patch gradients start at zero once; col2im zeroes them again after reading each step,
     * and the GEMMs add into them (C = 0 + dY W: the same values as beta = 0) */
    memset(col, 0, (size_t)(par ? threads : 1) * dchunk * per_image * sizeof *col);
#pragma omp parallel for schedule(static) if (par)
    for (int st = 0; st < steps; st++) {
        int b0 = st * dchunk, nb = B - b0 < dchunk ? B - b0 : dchunk, rows = nb * hw;
        float *dc = col + (size_t)(par ? omp_get_thread_num() : 0) * dchunk * per_image;
        const float *dyc = dY + (size_t)b0 * hw * Cout;
        gx_gemm(false, false, rows, kkc, Cout, 1.0f, dyc, Cout, Wt, kkc, 1.0f, dc, kkc);
        float *dxc = dX + (size_t)b0 * hw * C;
        const size_t img = (size_t)hw * C;
        for (int b = 0; b < nb; b++)
            col2im_image(dxc + b * img, dc + (size_t)b * per_image, H, W, C, K, 1);
    }
}

void gx_conv2d_backward(float *dX, float *dW, float *db, const float *dY, const float *X,
                        const float *Wt, int B, int H, int W, int C, int Cout, int K, float *col,
                        int chunk) {
    conv2d_backward(dX, dW, db, dY, X, NULL, Wt, B, H, W, C, Cout, K, col, chunk);
}

int gx_conv2d_keeps_patches(int C, int Cout, int K) { return K > 1 && !use_direct(C, Cout, K); }

void gx_conv2d_forward_keep(float *Y, float *patches, const float *X, const float *Wt,
                            const float *b, int B, int H, int W, int C, int Cout, int K) {
    if (!gx_conv2d_keeps_patches(C, Cout, K)) {
        gx_conv2d_forward(Y, X, Wt, b, B, H, W, C, Cout, K, patches, B);
        return;
    }
    /* im2col and the GEMM a few images at a time, so that the GEMM reads the patches from cache;
     * with several threads each takes whole steps (one-thread GEMMs inside the parallel region):
     * every step writes its own rows, the same for any thread count */
    const int kkc = K * K * C, hw = H * W;
    const size_t per_image = (size_t)hw * kkc;
    int fchunk = per_image * B <= DCOL_FLOATS ? B : (int)(DCOL_FLOATS / per_image);
    if (fchunk < 1) fchunk = 1;
    const int steps = (B + fchunk - 1) / fchunk;
    const int par = omp_get_max_threads() > 1 && steps > 1 && !omp_in_parallel();
#pragma omp parallel for schedule(static) if (par)
    for (int st = 0; st < steps; st++) {
        int b0 = st * fchunk, nb = B - b0 < fchunk ? B - b0 : fchunk;
        float *pc = patches + (size_t)b0 * per_image;
        gx_im2col(pc, X + (size_t)b0 * hw * C, nb, H, W, C, K);
        gx_linear_forward(Y + (size_t)b0 * hw * Cout, pc, Wt, kkc, b, nb * hw, kkc, Cout);
    }
}

void gx_conv2d_backward_kept(float *dX, float *dW, float *db, const float *dY, const float *X,
                             const float *patches, const float *Wt, int B, int H, int W, int C,
                             int Cout, int K, float *col, int chunk) {
    conv2d_backward(dX, dW, db, dY, X, gx_conv2d_keeps_patches(C, Cout, K) ? patches : NULL, Wt,
                    B, H, W, C, Cout, K, col, chunk);
}
