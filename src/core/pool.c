/* 2x2 max pooling and global average pooling on NHWC maps. */
#include "core/pool.h"

void gx_maxpool2_forward(float *Y, uint8_t *arg, const float *X, int B, int H, int W, int C) {
    const int oh = gx_maxpool2_out(H), ow = gx_maxpool2_out(W);
#pragma omp parallel for if ((size_t)B * oh * ow * C > ((size_t)1 << 15))
    for (int b = 0; b < B; b++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                size_t o = (((size_t)b * oh + i) * ow + j) * C;
                const float *x00 = X + (((size_t)b * H + 2 * i) * W + 2 * j) * C;
                const float *win[4] = {x00, x00 + C, x00 + (size_t)W * C, x00 + (size_t)W * C + C};
                for (int c = 0; c < C; c++) {
                    float best = win[0][c];
                    uint8_t a = 0;
                    for (uint8_t k = 1; k < 4; k++)
                        if (win[k][c] > best) best = win[k][c], a = k;
                    Y[o + c] = best;
                    arg[o + c] = a;
                }
            }
}

void gx_maxpool2_backward(float *dX, const float *dY, const uint8_t *arg, int B, int H, int W,
                          int C) {
    const int oh = gx_maxpool2_out(H), ow = gx_maxpool2_out(W);
#pragma omp parallel for if ((size_t)B * oh * ow * C > ((size_t)1 << 15))
    for (int b = 0; b < B; b++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                size_t o = (((size_t)b * oh + i) * ow + j) * C;
                float *x00 = dX + (((size_t)b * H + 2 * i) * W + 2 * j) * C;
                for (int c = 0; c < C; c++) {
                    int a = arg[o + c];
                    x00[((size_t)(a >> 1) * W + (a & 1)) * C + c] += dY[o + c];
                }
            }
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
