/* Counter-based random numbers: Philox4x32-10 (Salmon et al. 2011). One seed gives independent
 * streams, one per purpose, so that e.g. changing the augmentation does not change the
 * initialisation. A stream is a pure function of (seed, stream id, position): saving the
 * struct saves the position exactly. */
#ifndef GX_RNG_H
#define GX_RNG_H

#include <stddef.h>
#include <stdint.h>

/* Stream ids for the purposes the design names; other values are free for callers. */
enum {
    GX_STREAM_INIT = 1,    /* parameter initialisation */
    GX_STREAM_DATA = 2,    /* data order (shuffling) */
    GX_STREAM_NOISE = 3,   /* reparameterisation noise, dropout, sampling */
    GX_STREAM_AUGMENT = 4, /* image augmentation */
    GX_STREAM_SPLIT = 5,   /* labelled/unlabelled, train/validation/test splits */
    GX_STREAM_PSEUDO = 6,  /* PP / P-SSL pseudo samples: the target images picked, G_s's draws */
};

typedef struct gx_rng {
    uint32_t key[2];     /* from the seed */
    uint32_t ctr[4];     /* counter: ctr[2..3] hold the stream id, ctr[0..1] the block number */
    uint32_t block[4];   /* the current output block */
    int used;            /* words of block already returned (4 = take a new block) */
    int has_spare;       /* Box-Muller gives normals in pairs */
    float spare;
} gx_rng;

void gx_rng_init(gx_rng *r, uint64_t seed, uint64_t stream);

uint32_t gx_rng_u32(gx_rng *r);
uint64_t gx_rng_u64(gx_rng *r);
/* Uniform in [0, 1) with 24 random bits; never returns 1. */
float gx_rng_uniform(gx_rng *r);
/* Uniform in (0, 1) with 53 random bits; never 0, so log() is safe. */
double gx_rng_uniform_open(gx_rng *r);
/* Unbiased integer in [0, n), n > 0 (0 for n <= 1). */
uint32_t gx_rng_below(gx_rng *r, uint32_t n);
/* Standard normal. */
float gx_rng_normal(gx_rng *r);
void gx_rng_normal_fill(gx_rng *r, float *x, size_t n, float mean, float std);
/* Uniform in [lo, hi). */
void gx_rng_uniform_fill(gx_rng *r, float *x, size_t n, float lo, float hi);
/* Index drawn from the probabilities p[0..k-1] (need not sum exactly to 1; non-negative). Negative
 * and NaN weights count as zero; if no weight is positive (or the sum is infinite) the index is
 * uniform. Returns -1 when k <= 0. */
int gx_rng_categorical(gx_rng *r, const float *p, int k);
/* 1 with probability p (uniform < p: never for p <= 0, always for p >= 1). */
int gx_rng_bernoulli(gx_rng *r, float p);
/* Fisher-Yates shuffle of idx[0..n-1]. */
void gx_rng_shuffle(gx_rng *r, int32_t *idx, size_t n);

/* The whole state as GX_RNG_STATE_WORDS integers (key[2], ctr[4], block[4], used, has_spare, the
 * bits of spare; each in [0, 2^32)), for checkpoints, and back. gx_rng_set_state fails (-1,
 * r untouched) when a word is out of range, used is not in [0, 4] or has_spare not 0 or 1. */
#define GX_RNG_STATE_WORDS 13
void gx_rng_get_state(const gx_rng *r, int64_t out[GX_RNG_STATE_WORDS]);
int gx_rng_set_state(gx_rng *r, const int64_t in[GX_RNG_STATE_WORDS]);

/* The raw Philox4x32-10 block function, exposed for the known-answer test. */
void gx_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

#endif
