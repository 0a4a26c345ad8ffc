/* Philox4x32-10 counter-based generator and the distributions built on it. */
#include "core/rng.h"

#include <math.h>
#include <string.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline void mulhilo32(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
    uint64_t prod = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(prod >> 32);
    *lo = (uint32_t)prod;
}

void gx_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo32(PHILOX_M0, c0, &hi0, &lo0);
        mulhilo32(PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0;
        uint32_t n1 = lo1;
        uint32_t n2 = hi0 ^ c3 ^ k1;
        uint32_t n3 = lo0;
        c0 = n0;
        c1 = n1;
        c2 = n2;
        c3 = n3;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

void gx_rng_init(gx_rng *r, uint64_t seed, uint64_t stream) {
    r->key[0] = (uint32_t)seed;
    r->key[1] = (uint32_t)(seed >> 32);
    r->ctr[0] = 0;
    r->ctr[1] = 0;
    r->ctr[2] = (uint32_t)stream;
    r->ctr[3] = (uint32_t)(stream >> 32);
    for (int i = 0; i < 4; i++) r->block[i] = 0;
    r->used = 4;
    r->has_spare = 0;
    r->spare = 0.0f;
}

void gx_rng_get_state(const gx_rng *r, int64_t out[GX_RNG_STATE_WORDS]) {
    uint32_t spare_bits;
    memcpy(&spare_bits, &r->spare, sizeof spare_bits);
    const uint32_t w[GX_RNG_STATE_WORDS] = {r->key[0], r->key[1], r->ctr[0], r->ctr[1], r->ctr[2],
                                            r->ctr[3], r->block[0], r->block[1], r->block[2],
                                            r->block[3], (uint32_t)r->used, (uint32_t)r->has_spare,
                                            spare_bits};
    for (int i = 0; i < GX_RNG_STATE_WORDS; i++) out[i] = w[i];
}

int gx_rng_set_state(gx_rng *r, const int64_t in[GX_RNG_STATE_WORDS]) {
    for (int i = 0; i < GX_RNG_STATE_WORDS; i++)
        if (in[i] < 0 || in[i] > (int64_t)UINT32_MAX) return -1;
    if (in[10] > 4 || in[11] > 1) return -1;
    for (int i = 0; i < 2; i++) r->key[i] = (uint32_t)in[i];
    for (int i = 0; i < 4; i++) r->ctr[i] = (uint32_t)in[2 + i], r->block[i] = (uint32_t)in[6 + i];
    r->used = (int)in[10];
    r->has_spare = (int)in[11];
    uint32_t spare_bits = (uint32_t)in[12];
    memcpy(&r->spare, &spare_bits, sizeof spare_bits);
    return 0;
}

/* Computes the block for the current counter, then advances the 64-bit block number. */
static void refill(gx_rng *r) {
    gx_philox4x32_10(r->ctr, r->key, r->block);
    if (++r->ctr[0] == 0) ++r->ctr[1];
    r->used = 0;
}

uint32_t gx_rng_u32(gx_rng *r) {
    if (r->used >= 4 || r->used < 0) refill(r);
    return r->block[r->used++];
}

uint64_t gx_rng_u64(gx_rng *r) {
    uint64_t lo = gx_rng_u32(r);
    uint64_t hi = gx_rng_u32(r);
    return (hi << 32) | lo;
}

float gx_rng_uniform(gx_rng *r) {
    /* 24 bits: exactly representable in float, max (2^24 - 1) / 2^24 < 1. */
    return (float)(gx_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

double gx_rng_uniform_open(gx_rng *r) {
    uint64_t x;
    do x = gx_rng_u64(r) >> 11; /* 53 bits */
    while (x == 0);
    return (double)x * (1.0 / 9007199254740992.0); /* exact; at most 1 - 2^-53 */
}

uint32_t gx_rng_below(gx_rng *r, uint32_t n) {
    if (n <= 1) return 0;
    /* Lemire, "Fast random integer generation in an interval" (2019): multiply-shift with
     * rejection of the low products that would make some results more likely. */
    uint64_t m = (uint64_t)gx_rng_u32(r) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n; /* 2^32 mod n */
        while (low < threshold) {
            m = (uint64_t)gx_rng_u32(r) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* Unbiased integer in [0, n) for 64-bit n, by modulo rejection. */
static uint64_t below64(gx_rng *r, uint64_t n) {
    if (n <= 1) return 0;
    if (n <= UINT32_MAX) return gx_rng_below(r, (uint32_t)n);
    uint64_t rem = (uint64_t)(-n) % n; /* 2^64 mod n */
    uint64_t x;
    do x = gx_rng_u64(r);
    while (x < rem); /* rejecting the lowest `rem` values leaves a multiple of n */
    return x % n;
}

float gx_rng_normal(gx_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1 = gx_rng_uniform_open(r);
    double u2 = gx_rng_uniform_open(r);
    double rad = sqrt(-2.0 * log(u1));
    double theta = 6.283185307179586476925 * u2;
    r->spare = (float)(rad * sin(theta));
    r->has_spare = 1;
    return (float)(rad * cos(theta));
}

void gx_rng_normal_fill(gx_rng *r, float *x, size_t n, float mean, float std) {
    for (size_t i = 0; i < n; i++) x[i] = mean + std * gx_rng_normal(r);
}

void gx_rng_uniform_fill(gx_rng *r, float *x, size_t n, float lo, float hi) {
    float width = hi - lo;
    for (size_t i = 0; i < n; i++) {
        float v = lo + width * gx_rng_uniform(r);
        if (hi > lo && v >= hi) v = nextafterf(hi, lo); /* rounding must not reach hi */
        x[i] = v;
    }
}

int gx_rng_categorical(gx_rng *r, const float *p, int k) {
    if (k <= 0) return -1;
    double total = 0.0;
    int last_positive = -1;
    for (int i = 0; i < k; i++) {
        if (p[i] > 0.0f) { /* negative and NaN weights count as zero */
            total += p[i];
            last_positive = i;
        }
    }
    if (last_positive < 0 || !isfinite(total)) return (int)gx_rng_below(r, (uint32_t)k);
    double target = gx_rng_uniform_open(r) * total;
    double cum = 0.0;
    for (int i = 0; i < k; i++) {
        if (p[i] > 0.0f) {
            cum += p[i];
            if (target < cum) return i;
        }
    }
    return last_positive; /* rounding: target landed at the very top */
}

int gx_rng_bernoulli(gx_rng *r, float p) {
    return gx_rng_uniform(r) < p;
}

void gx_rng_shuffle(gx_rng *r, int32_t *idx, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)below64(r, (uint64_t)i);
        int32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
