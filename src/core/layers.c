/* Linear layers, label columns, element-wise activations and dropout: forward/backward pairs on
 * raw row-major float arrays. No allocation; every backward adds into its outputs. */
#include "core/layers.h"

#include <math.h>
#include <string.h>

#include "core/gemm.h"
#include "core/losses.h"
#include "core/vmath.h"

/* Element-wise loops over big arrays run on the OpenMP pool; each element is computed
 * independently, so the result does not depend on the thread count. */
#define GX_PAR_MIN ((size_t)1 << 15)

/* ---- linear ---- */

/* Y[B,out] = X[B,in] W^T + b;  W [out, ldw], b [out] or NULL. */
void gx_linear_forward(float *Y, const float *X, const float *W, int ldw, const float *b, int B,
                       int in, int out) {
    if (B <= 0 || out <= 0) return;
    float beta = 0.0f;
    if (b) {
        for (int i = 0; i < B; i++) memcpy(Y + (size_t)i * (size_t)out, b, (size_t)out * sizeof *b);
        beta = 1.0f;
    }
    gx_gemm(false, true, B, out, in, 1.0f, X, in, W, ldw, beta, Y, out);
}

/* db[out] += the column sums of dY [B, out]: blocks of columns in parallel, each summed over the
 * rows in order (the same bits for any thread count). */
#define COLSUM_BLOCK 128
GX_VEC_CLONES static void colsum_add(float *db, const float *dY, int B, int out) {
    int blocks = (out + COLSUM_BLOCK - 1) / COLSUM_BLOCK;
#pragma omp parallel for if ((size_t)B * out > GX_PAR_MIN && blocks > 1)
    for (int blk = 0; blk < blocks; blk++) {
        int o0 = blk * COLSUM_BLOCK, o1 = o0 + COLSUM_BLOCK < out ? o0 + COLSUM_BLOCK : out;
        for (int i = 0; i < B; i++) {
            const float *d = dY + (size_t)i * (size_t)out;
#pragma omp simd
            for (int o = o0; o < o1; o++) db[o] += d[o];
        }
    }
}

/* dX[B,in] += dY[B,out] W[out,in];  dW[out,in] (stride ldw) += dY^T X;  db[out] += colsum dY. */
void gx_linear_backward(float *dX, float *dW, float *db, const float *dY, const float *X,
                        const float *W, int ldw, int B, int in, int out) {
    if (B <= 0 || out <= 0) return;
    if (db) colsum_add(db, dY, B, out);
    const gx_gemm_call gx = {false, false, B, in, out, 1.0f, dY, out, W, ldw, 1.0f, dX, in};
    const gx_gemm_call gw = {true, false, out, in, B, 1.0f, dY, out, X, in, 1.0f, dW, ldw};
    gx_gemm_pair(dX ? &gx : NULL, dW ? &gw : NULL);
}

/* ---- label columns ---- */

/* Y[b,:] += Wy[:, y[b]];  Wy [out, K] with row stride ldw. y[b] must be in [0, K) (the data layer
 * validates labels). */
void gx_label_columns_forward(float *Y, const int32_t *y, const float *Wy, int ldw, int B,
                              int out) {
    for (int i = 0; i < B; i++) {
        float *yr = Y + (size_t)i * (size_t)out;
        const float *w = Wy + y[i];
        for (int o = 0; o < out; o++) yr[o] += w[(size_t)o * (size_t)ldw];
    }
}

/* dWy[:, y[b]] += dY[b,:]  (rows in order, so the sum is deterministic) */
void gx_label_columns_backward(float *dWy, const float *dY, const int32_t *y, int ldw, int B,
                               int out) {
    if (!dWy) return;
    for (int i = 0; i < B; i++) {
        const float *d = dY + (size_t)i * (size_t)out;
        float *w = dWy + y[i];
        for (int o = 0; o < out; o++) w[(size_t)o * (size_t)ldw] += d[o];
    }
}

/* Y[B,out] += P[B,K] Wy^T */
void gx_soft_label_columns_forward(float *Y, const float *P, const float *Wy, int ldw, int B, int K,
                                   int out) {
    gx_gemm(false, true, B, out, K, 1.0f, P, K, Wy, ldw, 1.0f, Y, out);
}

/* dWy[out,K] += dY^T P;  dP[B,K] += dY Wy */
void gx_soft_label_columns_backward(float *dWy, float *dP, const float *dY, const float *P,
                                    const float *Wy, int ldw, int B, int K, int out) {
    if (dWy) gx_gemm(true, false, out, K, B, 1.0f, dY, out, P, K, 1.0f, dWy, ldw);
    if (dP) gx_gemm(false, false, B, K, out, 1.0f, dY, out, Wy, ldw, 1.0f, dP, K);
}

/* ---- activations ---- */

/* The kernels run serially on a contiguous range and are compiled for AVX-512, AVX2 and the
 * baseline (GX_VEC_CLONES); the public functions split big arrays into chunks over the pool. */
#define GX_CHUNK ((size_t)8192)

GX_VEC_CLONES static void act_forward_range(gx_act a, float *Y, const float *X, size_t n) {
    switch (a) {
    case GX_ACT_IDENTITY:
        break;
    case GX_ACT_RELU:
#pragma omp simd
        for (size_t i = 0; i < n; i++) Y[i] = X[i] < 0.0f ? 0.0f : X[i]; /* NaN stays NaN */
        break;
    case GX_ACT_LEAKY_RELU:
#pragma omp simd
        for (size_t i = 0; i < n; i++) Y[i] = X[i] < 0.0f ? GX_LEAKY_SLOPE * X[i] : X[i];
        break;
    case GX_ACT_SOFTPLUS:
#pragma omp simd
        for (size_t i = 0; i < n; i++) Y[i] = gx_vsoftplus(X[i]);
        break;
    case GX_ACT_TANH:
        for (size_t i = 0; i < n; i++) Y[i] = tanhf(X[i]);
        break;
    case GX_ACT_SIGMOID:
#pragma omp simd
        for (size_t i = 0; i < n; i++) Y[i] = gx_vsigmoid(X[i]);
        break;
    }
}

void gx_act_forward(gx_act a, float *Y, const float *X, size_t n) {
    if (a == GX_ACT_IDENTITY) {
        if (Y != X) memmove(Y, X, n * sizeof *Y);
        return;
    }
    if (n <= GX_PAR_MIN) {
        act_forward_range(a, Y, X, n);
        return;
    }
#pragma omp parallel for
    for (size_t c = 0; c < n; c += GX_CHUNK)
        act_forward_range(a, Y + c, X + c, n - c < GX_CHUNK ? n - c : GX_CHUNK);
}

/* dX += dY * f'(x). Which of X and Y is used:
 *   identity: neither;  relu, tanh, sigmoid: Y (X if Y is NULL);
 *   leaky relu: X, else Y (y has the sign of x);
 *   softplus: X (f' = sigmoid(x)), else Y via sigmoid(x) = 1 - exp(-softplus(x)) (a series for
 *   small y, so that it stays accurate), so an in-place softplus needs only Y. */
GX_VEC_CLONES static void act_backward_range(gx_act a, float *dX, const float *dY, const float *X,
                                             const float *Y, size_t n) {
    switch (a) {
    case GX_ACT_IDENTITY:
#pragma omp simd
        for (size_t i = 0; i < n; i++) dX[i] += dY[i];
        break;
    case GX_ACT_RELU: {
        const float *V = Y ? Y : X; /* y > 0 exactly when x > 0 */
#pragma omp simd
        for (size_t i = 0; i < n; i++) dX[i] += V[i] > 0.0f ? dY[i] : 0.0f;
        break;
    }
    case GX_ACT_LEAKY_RELU: {
        const float *V = X ? X : Y; /* the slope is positive: y > 0 exactly when x > 0 */
#pragma omp simd
        for (size_t i = 0; i < n; i++) dX[i] += V[i] > 0.0f ? dY[i] : GX_LEAKY_SLOPE * dY[i];
        break;
    }
    case GX_ACT_SOFTPLUS:
        if (X) {
#pragma omp simd
            for (size_t i = 0; i < n; i++) dX[i] += dY[i] * gx_vsigmoid(X[i]);
        } else {
#pragma omp simd
            for (size_t i = 0; i < n; i++) dX[i] += dY[i] * gx_vsoftplus_grad_from_y(Y[i]);
        }
        break;
    case GX_ACT_TANH:
        if (Y) {
#pragma omp simd
            for (size_t i = 0; i < n; i++) dX[i] += dY[i] * (1.0f - Y[i] * Y[i]);
        } else {
            for (size_t i = 0; i < n; i++) {
                float t = tanhf(X[i]);
                dX[i] += dY[i] * (1.0f - t * t);
            }
        }
        break;
    case GX_ACT_SIGMOID:
        if (Y) {
#pragma omp simd
            for (size_t i = 0; i < n; i++) dX[i] += dY[i] * Y[i] * (1.0f - Y[i]);
        } else {
#pragma omp simd
            for (size_t i = 0; i < n; i++) {
                float s = gx_vsigmoid(X[i]);
                dX[i] += dY[i] * s * (1.0f - s);
            }
        }
        break;
    }
}

void gx_act_backward(gx_act a, float *dX, const float *dY, const float *X, const float *Y,
                     size_t n) {
    if (!dX) return;
    if (n <= GX_PAR_MIN) {
        act_backward_range(a, dX, dY, X, Y, n);
        return;
    }
#pragma omp parallel for
    for (size_t c = 0; c < n; c += GX_CHUNK)
        act_backward_range(a, dX + c, dY + c, X ? X + c : NULL, Y ? Y + c : NULL,
                           n - c < GX_CHUNK ? n - c : GX_CHUNK);
}

/* dY *= f'(x) from y, as act_backward_range does with X = NULL. */
GX_VEC_CLONES static void act_scale_range(gx_act a, float *dY, const float *Y, size_t n) {
    switch (a) {
    case GX_ACT_IDENTITY:
        break;
    case GX_ACT_RELU:
#pragma omp simd
        for (size_t i = 0; i < n; i++) dY[i] = Y[i] > 0.0f ? dY[i] : 0.0f;
        break;
    case GX_ACT_LEAKY_RELU:
#pragma omp simd
        for (size_t i = 0; i < n; i++) dY[i] = Y[i] > 0.0f ? dY[i] : GX_LEAKY_SLOPE * dY[i];
        break;
    case GX_ACT_SOFTPLUS:
#pragma omp simd
        for (size_t i = 0; i < n; i++) dY[i] *= gx_vsoftplus_grad_from_y(Y[i]);
        break;
    case GX_ACT_TANH:
#pragma omp simd
        for (size_t i = 0; i < n; i++) dY[i] *= 1.0f - Y[i] * Y[i];
        break;
    case GX_ACT_SIGMOID:
#pragma omp simd
        for (size_t i = 0; i < n; i++) dY[i] *= Y[i] * (1.0f - Y[i]);
        break;
    }
}

void gx_act_grad_scale(gx_act a, float *dY, const float *Y, size_t n) {
    if (a == GX_ACT_IDENTITY) return;
    if (n <= GX_PAR_MIN) {
        act_scale_range(a, dY, Y, n);
        return;
    }
#pragma omp parallel for
    for (size_t c = 0; c < n; c += GX_CHUNK)
        act_scale_range(a, dY + c, Y + c, n - c < GX_CHUNK ? n - c : GX_CHUNK);
}

static const struct {
    const char *name;
    gx_act act;
} act_names[] = {
    {"identity", GX_ACT_IDENTITY}, {"relu", GX_ACT_RELU},   {"leaky_relu", GX_ACT_LEAKY_RELU},
    {"softplus", GX_ACT_SOFTPLUS}, {"tanh", GX_ACT_TANH},   {"sigmoid", GX_ACT_SIGMOID},
};

int gx_act_parse(const char *s, gx_act *out) {
    if (!s) return -1;
    for (size_t i = 0; i < sizeof act_names / sizeof act_names[0]; i++) {
        if (strcmp(s, act_names[i].name) == 0) {
            if (out) *out = act_names[i].act;
            return 0;
        }
    }
    return -1;
}

const char *gx_act_name(gx_act a) {
    for (size_t i = 0; i < sizeof act_names / sizeof act_names[0]; i++)
        if (act_names[i].act == a) return act_names[i].name;
    return "unknown";
}

/* ---- dropout ---- */

/* Each unit is dropped with probability p (uniform draw < p, one draw per unit in order, so the
 * mask is a pure function of the rng state); kept units are scaled by 1/(1-p). p <= 0 copies X and
 * draws nothing; p >= 1 drops everything. Y may equal X. mask [n] receives 1 for kept units. */
void gx_dropout_forward(float *Y, uint8_t *mask, const float *X, size_t n, float p, gx_rng *rng) {
    if (p <= 0.0f) {
        if (Y != X) memmove(Y, X, n * sizeof *Y);
        if (mask) memset(mask, 1, n);
        return;
    }
    if (p >= 1.0f) {
        memset(Y, 0, n * sizeof *Y);
        if (mask) memset(mask, 0, n);
        return;
    }
    const float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        int keep = gx_rng_uniform(rng) >= p;
        if (mask) mask[i] = (uint8_t)keep;
        Y[i] = keep ? X[i] * scale : 0.0f;
    }
}

/* dX += dY * mask / (1-p) */
void gx_dropout_backward(float *dX, const float *dY, const uint8_t *mask, size_t n, float p) {
    if (!dX) return;
    if (p <= 0.0f) {
#pragma omp parallel for if (n > GX_PAR_MIN)
        for (size_t i = 0; i < n; i++) dX[i] += dY[i];
        return;
    }
    if (p >= 1.0f) return;
    const float scale = 1.0f / (1.0f - p);
#pragma omp parallel for if (n > GX_PAR_MIN)
    for (size_t i = 0; i < n; i++)
        if (mask[i]) dX[i] += dY[i] * scale;
}
