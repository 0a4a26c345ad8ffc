/* 2x2 max pooling and global average pooling on NHWC maps. */
#include "core/pool.h"

#include "core/vmath.h"

/* The per-image kernels are compiled for AVX-512, AVX2 and the baseline (GX_VEC_CLONES) and run
 * over the channels of a pixel several at a time; images go to the OpenMP pool. */
#define POOL_PAR_MIN ((size_t)1 << 15)

/* One image: x [H, W, C] -> y [H/2, W/2, C], arg as y. */
GX_VEC_CLONES static void maxpool2_image(float *y, uint8_t *arg, const float *x, int H, int W,
                                         int C) {
    const int oh = gx_maxpool2_out(H), ow = gx_maxpool2_out(W);
    for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++) {
            size_t o = ((size_t)i * ow + j) * C;
            const float *w0 = x + ((size_t)2 * i * W + 2 * j) * C, *w1 = w0 + C;
            const float *w2 = w0 + (size_t)W * C, *w3 = w2 + C;
#pragma omp simd
            for (int c = 0; c < C; c++) {
                float best = w0[c];
                uint8_t a = 0;
                if (w1[c] > best) best = w1[c], a = 1;
                if (w2[c] > best) best = w2[c], a = 2;
                if (w3[c] > best) best = w3[c], a = 3;
                y[o + c] = best;
                arg[o + c] = a;
            }
        }
}

void gx_maxpool2_forward(float *Y, uint8_t *arg, const float *X, int B, int H, int W, int C) {
    const size_t out = (size_t)gx_maxpool2_out(H) * gx_maxpool2_out(W) * C, img = (size_t)H * W * C;
#pragma omp parallel for if (B * out > POOL_PAR_MIN)
    for (int b = 0; b < B; b++) maxpool2_image(Y + b * out, arg + b * out, X + b * img, H, W, C);
}

/* One image: dx [H, W, C] gets dy [H/2, W/2, C] at the winners; with write, every pixel of dx is
 * written (0 where nothing is routed) instead of added into. */
GX_VEC_CLONES static void maxpool2_back_image(float *dx, const float *dy, const uint8_t *arg,
                                              int H, int W, int C, int write) {
    const int oh = gx_maxpool2_out(H), ow = gx_maxpool2_out(W);
    for (int i = 0; i < oh; i++) {
        for (int j = 0; j < ow; j++) {
            size_t o = ((size_t)i * ow + j) * C;
            float *w0 = dx + ((size_t)2 * i * W + 2 * j) * C, *w1 = w0 + C;
            float *w2 = w0 + (size_t)W * C, *w3 = w2 + C;
            if (write) {
#pragma omp simd
                for (int c = 0; c < C; c++) {
                    float g = dy[o + c];
                    uint8_t a = arg[o + c];
                    w0[c] = a == 0 ? g : 0.0f;
                    w1[c] = a == 1 ? g : 0.0f;
                    w2[c] = a == 2 ? g : 0.0f;
                    w3[c] = a == 3 ? g : 0.0f;
                }
            } else {
                for (int c = 0; c < C; c++) {
                    int a = arg[o + c];
                    w0[((size_t)(a >> 1) * W + (a & 1)) * C + c] += dy[o + c];
                }
            }
        }
        if (write && W % 2) /* the dropped last column */
            for (int r = 2 * i; r < 2 * i + 2; r++)
                for (int c = 0; c < C; c++) dx[((size_t)r * W + W - 1) * C + c] = 0.0f;
    }
    if (write && H % 2) /* the dropped last row */
        for (size_t k = 0; k < (size_t)W * C; k++) dx[(size_t)(H - 1) * W * C + k] = 0.0f;
}

static void maxpool2_backward(float *dX, const float *dY, const uint8_t *arg, int B, int H, int W,
                              int C, int write) {
    const size_t out = (size_t)gx_maxpool2_out(H) * gx_maxpool2_out(W) * C, img = (size_t)H * W * C;
#pragma omp parallel for if (B * out > POOL_PAR_MIN)
    for (int b = 0; b < B; b++)
        maxpool2_back_image(dX + b * img, dY + b * out, arg + b * out, H, W, C, write);
}

void gx_maxpool2_backward(float *dX, const float *dY, const uint8_t *arg, int B, int H, int W,
                          int C) {
    maxpool2_backward(dX, dY, arg, B, H, W, C, 0);
}

void gx_maxpool2_backward_write(float *dX, const float *dY, const uint8_t *arg, int B, int H, int W,
                                int C) {
    maxpool2_backward(dX, dY, arg, B, H, W, C, 1);
}

void gx_avgpool_global_forward(float *Y, const float *X, int B, int H, int W, int C) {
    const size_t hw = (size_t)H * W;
    for (int b = 0; b < B; b++) {
        float *y = Y + (size_t)b * C;
        const float *x = X + (size_t)b * hw * C;
        for (int c = 0; c < C; c++) y[c] = 0.0f;
        for (size_t p = 0; p < hw; p++)
            for (int c = 0; c < C; c++) y[c] += x[p * C + c];
        for (int c = 0; c < C; c++) y[c] /= (float)hw;
    }
}

void gx_avgpool_global_backward(float *dX, const float *dY, int B, int H, int W, int C) {
    const size_t hw = (size_t)H * W;
    for (int b = 0; b < B; b++) {
        const float *dy = dY + (size_t)b * C;
        float *dx = dX + (size_t)b * hw * C;
        for (size_t p = 0; p < hw; p++)
            for (int c = 0; c < C; c++) dx[p * C + c] += dy[c] / (float)hw;
    }
}
