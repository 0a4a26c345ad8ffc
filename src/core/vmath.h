/* exp, softplus, sigmoid, log, sin/cos and Box-Muller in plain float arithmetic that the compiler
 * vectorises: libm's expf, log1pf, log and sincos are calls that it cannot vectorise (without
 * -ffast-math, which we do not use), and on the B1 step they cost as much as the GEMMs. Inside a
 * `#pragma omp simd` loop these run several elements per instruction.
 *
 * Accuracy (tests/test_vmath.c, against double precision over the whole float range): exp within
 * 2 ulp, softplus and sigmoid within 3 ulp; the derivative of softplus from its output within
 * 4e-7 relative. Special values: NaN in gives NaN out, exp(+inf) = inf, exp(-inf) = 0;
 * exp(x) for x < -86.5 (below 2.6e-38, the edge of the normal range) is 0. log (positive normal
 * arguments) within 2 ulp, sin and cos of 2 pi u within 2e-7 absolute. */
#ifndef GX_VMATH_H
#define GX_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Functions whose loops use these are compiled three times, for AVX-512 (x86-64-v4), AVX2
 * (x86-64-v3) and the baseline, and the loader picks the one the CPU can run (GCC's
 * target_clones). Element-wise results are the same IEEE operations in every version (no
 * contraction into FMA under -std=c11); a vectorised sum may round differently. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define GX_VEC_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define GX_VEC_CLONES
#endif

/* Inlined into the loops even where the compiler's size heuristics would not: a call would stop
 * the loop from vectorising. */
#if defined(__GNUC__)
#define GX_VINLINE static inline __attribute__((always_inline))
#else
#define GX_VINLINE static inline
#endif

/* e^x = 2^n e^r with n = round(x / ln 2) and |r| <= ln(2) / 2; e^r by its Taylor series to r^8
 * (truncation below 1e-9 relative); 2^n built in the exponent bits. */
GX_VINLINE float gx_vexp(float x) {
    const float lo = -86.5f, hi = 88.8f; /* n in [-125, 129]: 2^(n-1) is a normal float */
    float xc = x > lo ? (x < hi ? x : hi) : lo; /* NaN -> lo: the conversion below stays defined */
    const float shifter = 12582912.0f;    /* 1.5 * 2^23: adding it rounds to an integer */
    float n = (xc * 1.44269504088896341f + shifter) - shifter;
    float r = xc - n * 0.693145751953125f; /* ln 2 in two parts, so that r is exact */
    r = r - n * 1.42860682030941723e-6f;
    float p = 1.0f / 40320;
    p = p * r + 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 126) << 23; /* 2^(n-1): times 2 below, so n = 128 is fine */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float e = p * scale * 2.0f;
    e = x < lo ? 0.0f : e;
    return x != x ? x : e;
}

/* log(1 + e) for e in [0, 1]: 2 atanh(s) with s = e / (2 + e) in [0, 1/3], by its series to s^13
 * (truncation below 2e-8 relative); no cancellation for small e. */
GX_VINLINE float gx_vlog1p_unit(float e) {
    float s = e / (2.0f + e), s2 = s * s;
    float p = 1.0f / 13;
    p = p * s2 + 1.0f / 11;
    p = p * s2 + 1.0f / 9;
    p = p * s2 + 1.0f / 7;
    p = p * s2 + 1.0f / 5;
    p = p * s2 + 1.0f / 3;
    p = p * s2 + 1.0f;
    return 2.0f * s * p;
}

/* log(1 + e^x) = max(x, 0) + log(1 + e^-|x|) */
GX_VINLINE float gx_vsoftplus(float x) {
    float ax = x < 0.0f ? -x : x;
    return (x > 0.0f ? x : 0.0f) + gx_vlog1p_unit(gx_vexp(-ax));
}

/* 1 / (1 + e^-x), from e = e^-|x| so that nothing overflows */
GX_VINLINE float gx_vsigmoid(float x) {
    float ax = x < 0.0f ? -x : x;
    float e = gx_vexp(-ax);
    return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
}

/* The derivative of softplus, sigmoid(x), from y = softplus(x) >= 0: 1 - e^-y, with a series
 * for small y where the difference would cancel. */
GX_VINLINE float gx_vsoftplus_grad_from_y(float y) {
    float big = 1.0f - gx_vexp(-y);
    /* y - y^2/2 + y^3/6 - ... to y^8 (for y < 0.25 the truncation is below 1e-9 relative) */
    float p = -1.0f / 40320;
    p = p * y + 1.0f / 5040;
    p = p * y - 1.0f / 720;
    p = p * y + 1.0f / 120;
    p = p * y - 1.0f / 24;
    p = p * y + 1.0f / 6;
    p = p * y - 0.5f;
    p = p * y + 1.0f;
    return y < 0.25f ? p * y : big;
}

/* log(x) for positive normal x (the uniforms of gx_vbox_muller): x = m 2^e with m in
 * [sqrt(1/2), sqrt(2)), log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172, by its series to
 * s^11 (truncation below 1e-9 relative). */
GX_VINLINE float gx_vlog(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    int32_t e = (int32_t)(bits >> 23) - 127;
    bits = (bits & 0x007FFFFFu) | 0x3F800000u;
    float m;
    memcpy(&m, &bits, sizeof m);
    int big = m > 1.41421356f;
    m = big ? 0.5f * m : m;
    e = big ? e + 1 : e;
    float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    float p = 1.0f / 11;
    p = p * s2 + 1.0f / 9;
    p = p * s2 + 1.0f / 7;
    p = p * s2 + 1.0f / 5;
    p = p * s2 + 1.0f / 3;
    p = p * s2 + 1.0f;
    float fe = (float)e;
    return fe * 0.693145751953125f + (2.0f * s * p + fe * 1.42860682030941723e-6f);
}

/* sin and cos of 2 pi u for u in [0, 1): u = q/4 + f with q = round(4u), r = 2 pi f in
 * [-pi/4, pi/4] by Taylor series (to r^9 and r^8: truncation below 3e-8), then the quadrant. */
GX_VINLINE void gx_vsincos_2pi(float u, float *sn, float *cs) {
    const float shifter = 12582912.0f;
    float q = (u * 4.0f + shifter) - shifter;
    float r = (u - 0.25f * q) * 6.28318530717958648f, r2 = r * r;
    float ps = 1.0f / 362880;
    ps = ps * r2 - 1.0f / 5040;
    ps = ps * r2 + 1.0f / 120;
    ps = ps * r2 - 1.0f / 6;
    ps = ps * r2 + 1.0f;
    float s = r * ps;
    float pc = 1.0f / 40320;
    pc = pc * r2 - 1.0f / 720;
    pc = pc * r2 + 1.0f / 24;
    pc = pc * r2 - 0.5f;
    float c = pc * r2 + 1.0f;
    int iq = (int)q & 3; /* sin, cos of r + q pi / 2 */
    float sq = iq == 0 ? s : iq == 1 ? c : iq == 2 ? -s : -c;
    float cq = iq == 0 ? c : iq == 1 ? -s : iq == 2 ? -c : s;
    *sn = sq;
    *cs = cq;
}

/* Box-Muller: two independent standard normals from u1 in (0, 1] and u2 in [0, 1). */
GX_VINLINE void gx_vbox_muller(float u1, float u2, float *z0, float *z1) {
    float rad = sqrtf(-2.0f * gx_vlog(u1)), sn, cs;
    gx_vsincos_2pi(u2, &sn, &cs);
    *z0 = rad * cs;
    *z1 = rad * sn;
}

#endif
