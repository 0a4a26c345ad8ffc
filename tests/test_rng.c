/* Tests for core/rng: Philox4x32-10 known answers, streams, distributions, state copies. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/rng.h"

#define assert_close(a, b, tol)                                                                  \
    do {                                                                                         \
        double a_ = (a), b_ = (b), t_ = (tol);                                                   \
        if (!(fabs(a_ - b_) <= t_)) {                                                            \
            print_error("%s = %.9g, expected %s = %.9g (tolerance %g)\n", #a, a_, #b, b_, t_);   \
            fail();                                                                              \
        }                                                                                        \
    } while (0)

static void check_kat(const uint32_t ctr[4], const uint32_t key[2], const uint32_t want[4]) {
    uint32_t out[4];
    gx_philox4x32_10(ctr, key, out);
    for (int i = 0; i < 4; i++) assert_int_equal(out[i], want[i]);
}

static void test_philox_kat(void **state) {
    (void)state;
    const uint32_t c0[4] = {0, 0, 0, 0}, k0[2] = {0, 0};
    const uint32_t w0[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
    check_kat(c0, k0, w0);
    const uint32_t c1[4] = {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
    const uint32_t k1[2] = {0xffffffff, 0xffffffff};
    const uint32_t w1[4] = {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd};
    check_kat(c1, k1, w1);
    const uint32_t c2[4] = {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344};
    const uint32_t k2[2] = {0xa4093822, 0x299f31d0};
    const uint32_t w2[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
    check_kat(c2, k2, w2);
}

/* The stream's words are the Philox blocks of (block number, stream id) under the seed's key. */
static void test_layout(void **state) {
    (void)state;
    const uint64_t seed = 0x0123456789abcdefULL, stream = 0xfedcba9876543210ULL;
    gx_rng r;
    gx_rng_init(&r, seed, stream);
    const uint32_t key[2] = {0x89abcdef, 0x01234567};
    for (uint32_t blk = 0; blk < 3; blk++) {
        const uint32_t ctr[4] = {blk, 0, 0x76543210, 0xfedcba98};
        uint32_t want[4];
        gx_philox4x32_10(ctr, key, want);
        for (int i = 0; i < 4; i++) assert_int_equal(gx_rng_u32(&r), want[i]);
    }
    /* u64: low word first. */
    gx_rng_init(&r, seed, stream);
    gx_rng r2 = r;
    uint64_t x = gx_rng_u64(&r);
    uint64_t lo = gx_rng_u32(&r2), hi = gx_rng_u32(&r2);
    assert_true(x == ((hi << 32) | lo));
    /* The block number carries into ctr[1]. */
    gx_rng_init(&r, 1, 2);
    r.ctr[0] = 0xffffffffu;
    (void)gx_rng_u32(&r);
    assert_int_equal(r.ctr[0], 0);
    assert_int_equal(r.ctr[1], 1);
    const uint32_t ctr[4] = {0xffffffffu, 0, 2, 0}, key1[2] = {1, 0};
    uint32_t want[4];
    gx_philox4x32_10(ctr, key1, want);
    assert_int_equal(r.block[0], want[0]);
}

static void test_streams(void **state) {
    (void)state;
    enum { N = 1000 };
    static uint32_t a[N], b[N], c[N], d[N];
    gx_rng r;
    gx_rng_init(&r, 42, GX_STREAM_DATA);
    for (int i = 0; i < N; i++) a[i] = gx_rng_u32(&r);
    gx_rng_init(&r, 42, GX_STREAM_DATA);
    for (int i = 0; i < N; i++) b[i] = gx_rng_u32(&r);
    gx_rng_init(&r, 42, GX_STREAM_INIT);
    for (int i = 0; i < N; i++) c[i] = gx_rng_u32(&r);
    gx_rng_init(&r, 43, GX_STREAM_DATA);
    for (int i = 0; i < N; i++) d[i] = gx_rng_u32(&r);
    assert_memory_equal(a, b, sizeof a);
    int same_c = 0, same_d = 0;
    for (int i = 0; i < N; i++) {
        same_c += a[i] == c[i];
        same_d += a[i] == d[i];
    }
    assert_true(same_c <= 2);
    assert_true(same_d <= 2);
}

static void test_uniform_moments(void **state) {
    (void)state;
    enum { N = 100000 };
    gx_rng r;
    gx_rng_init(&r, 7, GX_STREAM_NOISE);
    double s = 0, s2 = 0, so = 0, so2 = 0;
    for (int i = 0; i < N; i++) {
        float u = gx_rng_uniform(&r);
        assert_true(u >= 0.0f && u < 1.0f);
        s += u;
        s2 += (double)u * u;
        double uo = gx_rng_uniform_open(&r);
        assert_true(uo > 0.0 && uo < 1.0);
        so += uo;
        so2 += uo * uo;
    }
    double mean = s / N, var = s2 / N - mean * mean;
    assert_close(mean, 0.5, 0.005);
    assert_close(var, 1.0 / 12.0, 0.002);
    mean = so / N;
    var = so2 / N - mean * mean;
    assert_close(mean, 0.5, 0.005);
    assert_close(var, 1.0 / 12.0, 0.002);
}

static void test_normal_moments(void **state) {
    (void)state;
    enum { N = 100000 };
    gx_rng r;
    gx_rng_init(&r, 11, GX_STREAM_NOISE);
    double s = 0, s2 = 0, s4 = 0;
    int beyond3 = 0;
    for (int i = 0; i < N; i++) {
        double z = gx_rng_normal(&r);
        assert_true(isfinite(z));
        s += z;
        s2 += z * z;
        s4 += z * z * z * z;
        beyond3 += fabs(z) > 3.0;
    }
    double mean = s / N, var = s2 / N - mean * mean;
    assert_close(mean, 0.0, 0.015);
    assert_close(var, 1.0, 0.02);
    assert_close(s4 / N, 3.0, 0.1); /* kurtosis of a normal */
    /* P(|z| > 3) = 0.0027: expect 270 of 1e5. */
    assert_in_range(beyond3, 200, 340);

    /* normal_fill applies mean and std. */
    static float x[N];
    gx_rng_normal_fill(&r, x, N, 2.0f, 0.5f);
    s = s2 = 0;
    for (int i = 0; i < N; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
    }
    mean = s / N;
    var = s2 / N - mean * mean;
    assert_close(mean, 2.0, 0.008);
    assert_close(var, 0.25, 0.006);
}

/* Box-Muller from two open uniforms; the second value of the pair is kept as the spare. */
static void test_normal_box_muller(void **state) {
    (void)state;
    gx_rng r;
    gx_rng_init(&r, 5, 9);
    gx_rng ref = r;
    double u1 = gx_rng_uniform_open(&ref), u2 = gx_rng_uniform_open(&ref);
    double rad = sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
    float z1 = gx_rng_normal(&r);
    assert_true(r.has_spare);
    float z2 = gx_rng_normal(&r);
    assert_false(r.has_spare);
    assert_close(z1, rad * cos(th), 1e-6);
    assert_close(z2, rad * sin(th), 1e-6);
    /* The spare costs no random words: the next draw continues where the pair left off. */
    assert_int_equal(gx_rng_u32(&r), gx_rng_u32(&ref));
}

static void test_uniform_fill(void **state) {
    (void)state;
    enum { N = 50000 };
    static float x[N];
    gx_rng r;
    gx_rng_init(&r, 3, 3);
    gx_rng_uniform_fill(&r, x, N, -2.0f, 6.0f);
    double s = 0;
    for (int i = 0; i < N; i++) {
        assert_true(x[i] >= -2.0f && x[i] < 6.0f);
        s += x[i];
    }
    assert_close(s / N, 2.0, 0.05);
}

static void test_below(void **state) {
    (void)state;
    enum { N = 100000, K = 10 };
    gx_rng r;
    gx_rng_init(&r, 2024, GX_STREAM_DATA);
    int count[K] = {0};
    for (int i = 0; i < N; i++) {
        uint32_t v = gx_rng_below(&r, K);
        assert_true(v < K);
        count[v]++;
    }
    double chi2 = 0, e = (double)N / K;
    for (int k = 0; k < K; k++) chi2 += (count[k] - e) * (count[k] - e) / e;
    /* 9 degrees of freedom: P(chi2 > 27.9) = 0.001. */
    if (!(chi2 < 27.9)) {
        print_error("chi-square %g\n", chi2);
        fail();
    }
    assert_int_equal(gx_rng_below(&r, 1), 0);
    for (int i = 0; i < 1000; i++) {
        assert_true(gx_rng_below(&r, 3) < 3);
        assert_true(gx_rng_below(&r, 0x80000001u) < 0x80000001u);
        assert_true(gx_rng_below(&r, UINT32_MAX) < UINT32_MAX);
    }
    /* n = 2^31 + 1 rejects nearly half the draws; halves and parities stay balanced. */
    int high = 0, odd = 0;
    for (int i = 0; i < 10000; i++) {
        uint32_t v = gx_rng_below(&r, 0x80000001u);
        high += v >= 0x40000000u;
        odd += (int)(v & 1);
    }
    assert_in_range(high, 4700, 5300);
    assert_in_range(odd, 4700, 5300);
    /* n = 3 * 2^30: without the rejection step, floor(x * n / 2^32) = floor(3x / 4) would give
     * multiples of 3 half of the time instead of a third. */
    int mult3 = 0;
    for (int i = 0; i < 10000; i++) mult3 += gx_rng_below(&r, 0xC0000000u) % 3 == 0;
    assert_in_range(mult3, 3033, 3633);
}

static void test_categorical(void **state) {
    (void)state;
    enum { N = 100000, K = 5 };
    const float p[K] = {1.0f, 0.0f, 2.0f, 3.0f, 4.0f}; /* unnormalised; index 1 impossible */
    gx_rng r;
    gx_rng_init(&r, 99, GX_STREAM_NOISE);
    int count[K] = {0};
    for (int i = 0; i < N; i++) {
        int c = gx_rng_categorical(&r, p, K);
        assert_in_range(c, 0, K - 1);
        count[c]++;
    }
    assert_int_equal(count[1], 0);
    double chi2 = 0;
    for (int k = 0; k < K; k++) {
        if (p[k] == 0.0f) continue;
        double e = N * p[k] / 10.0;
        chi2 += (count[k] - e) * (count[k] - e) / e;
    }
    /* 3 degrees of freedom: P(chi2 > 16.3) = 0.001. */
    if (!(chi2 < 16.3)) {
        print_error("chi-square %g (counts %d %d %d %d)\n", chi2, count[0], count[2], count[3],
                    count[4]);
        fail();
    }
    /* A single positive weight always wins; negative weights count as zero. */
    const float one[4] = {0.0f, -1.0f, 0.0f, 0.5f};
    for (int i = 0; i < 100; i++) assert_int_equal(gx_rng_categorical(&r, one, 4), 3);
    const float first[3] = {1.0f, 0.0f, 0.0f};
    for (int i = 0; i < 100; i++) assert_int_equal(gx_rng_categorical(&r, first, 3), 0);
    /* No positive weight: uniform; k <= 0: -1. */
    const float zero[3] = {0, 0, 0};
    for (int i = 0; i < 100; i++) assert_in_range(gx_rng_categorical(&r, zero, 3), 0, 2);
    assert_int_equal(gx_rng_categorical(&r, zero, 0), -1);
}

static void test_bernoulli(void **state) {
    (void)state;
    enum { N = 100000 };
    gx_rng r;
    gx_rng_init(&r, 8, 8);
    int ones = 0;
    for (int i = 0; i < N; i++) ones += gx_rng_bernoulli(&r, 0.3f);
    assert_in_range(ones, 29500, 30500);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(gx_rng_bernoulli(&r, 0.0f), 0);
        assert_int_equal(gx_rng_bernoulli(&r, 1.0f), 1);
    }
}

static void test_shuffle(void **state) {
    (void)state;
    enum { N = 1000 };
    static int32_t a[N], b[N];
    for (int i = 0; i < N; i++) a[i] = b[i] = i;
    gx_rng r;
    gx_rng_init(&r, 1, GX_STREAM_DATA);
    gx_rng_shuffle(&r, a, N);
    gx_rng_init(&r, 1, GX_STREAM_DATA);
    gx_rng_shuffle(&r, b, N);
    assert_memory_equal(a, b, sizeof a);
    static int seen[N];
    memset(seen, 0, sizeof seen);
    int fixed = 0;
    for (int i = 0; i < N; i++) {
        assert_in_range(a[i], 0, N - 1);
        assert_int_equal(seen[a[i]], 0);
        seen[a[i]] = 1;
        fixed += a[i] == i;
    }
    assert_true(fixed < 10); /* a random permutation has about one fixed point */
    /* Another stream gives another order. */
    for (int i = 0; i < N; i++) b[i] = i;
    gx_rng_init(&r, 1, GX_STREAM_SPLIT);
    gx_rng_shuffle(&r, b, N);
    assert_true(memcmp(a, b, sizeof a) != 0);
    /* Every position of a 3-element shuffle is uniform. */
    int first[3] = {0};
    for (int t = 0; t < 30000; t++) {
        int32_t s[3] = {0, 1, 2};
        gx_rng_shuffle(&r, s, 3);
        first[s[0]]++;
    }
    for (int k = 0; k < 3; k++) assert_in_range(first[k], 9600, 10400);
    gx_rng_shuffle(&r, a, 0); /* no-op */
    gx_rng_shuffle(&r, a, 1);
}

/* Copying the struct mid-stream (mid-block, with a spare normal pending) resumes exactly. */
static void test_copy_resumes(void **state) {
    (void)state;
    gx_rng r;
    gx_rng_init(&r, 77, GX_STREAM_AUGMENT);
    (void)gx_rng_u32(&r);
    (void)gx_rng_normal(&r);
    assert_true(r.has_spare);
    assert_true(r.used > 0 && r.used < 4);
    gx_rng saved = r;
    float x1[64], x2[64];
    for (int i = 0; i < 64; i++) {
        switch (i % 4) {
        case 0: x1[i] = gx_rng_normal(&r); break;
        case 1: x1[i] = gx_rng_uniform(&r); break;
        case 2: x1[i] = (float)gx_rng_below(&r, 1000); break;
        default: x1[i] = (float)gx_rng_u32(&r); break;
        }
    }
    for (int i = 0; i < 64; i++) {
        switch (i % 4) {
        case 0: x2[i] = gx_rng_normal(&saved); break;
        case 1: x2[i] = gx_rng_uniform(&saved); break;
        case 2: x2[i] = (float)gx_rng_below(&saved, 1000); break;
        default: x2[i] = (float)gx_rng_u32(&saved); break;
        }
    }
    assert_memory_equal(x1, x2, sizeof x1);
    assert_memory_equal(&r, &saved, sizeof r);
}

/* The state as integers (a checkpoint's form) restores the generator mid-block with a spare
 * normal pending; out-of-range words are refused and leave the generator alone. */
static void test_state_words(void **state) {
    (void)state;
    gx_rng r, back;
    gx_rng_init(&r, 12345678901ull, GX_STREAM_NOISE);
    (void)gx_rng_u32(&r);
    (void)gx_rng_normal(&r);
    assert_true(r.has_spare && r.used > 0 && r.used < 4);
    int64_t w[GX_RNG_STATE_WORDS];
    gx_rng_get_state(&r, w);
    for (int i = 0; i < GX_RNG_STATE_WORDS; i++) assert_true(w[i] >= 0 && w[i] <= (int64_t)UINT32_MAX);
    gx_rng_init(&back, 1, 1);
    assert_int_equal(gx_rng_set_state(&back, w), 0);
    for (int i = 0; i < 50; i++) {
        assert_true(gx_rng_normal(&r) == gx_rng_normal(&back));
        assert_int_equal(gx_rng_u32(&r), gx_rng_u32(&back));
    }
    gx_rng before = back;
    int64_t bad[GX_RNG_STATE_WORDS];
    const int field[4] = {0, 10, 11, 12};
    const int64_t value[4] = {-1, 5, 2, (int64_t)UINT32_MAX + 1};
    for (int k = 0; k < 4; k++) {
        memcpy(bad, w, sizeof bad);
        bad[field[k]] = value[k];
        assert_int_equal(gx_rng_set_state(&back, bad), -1);
        assert_memory_equal(&back, &before, sizeof back);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_kat),      cmocka_unit_test(test_layout),
        cmocka_unit_test(test_streams),         cmocka_unit_test(test_uniform_moments),
        cmocka_unit_test(test_normal_moments),  cmocka_unit_test(test_normal_box_muller),
        cmocka_unit_test(test_uniform_fill),    cmocka_unit_test(test_below),
        cmocka_unit_test(test_categorical),     cmocka_unit_test(test_bernoulli),
        cmocka_unit_test(test_shuffle),         cmocka_unit_test(test_copy_resumes),
        cmocka_unit_test(test_state_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
