#include "data/batch.h"

#include <stdlib.h>
#include <string.h>

#include "data/splits.h"

static void start_epoch(gx_batcher *b) {
    if (b->rng) gx_index_shuffle(b->rng, b->order, b->m);
    b->pos = 0;
    b->batch = 0;
}

int gx_batcher_init(gx_batcher *b, const gx_dataset *ds, const int64_t *idx, int64_t m,
                    int64_t batch_size, gx_batch_mode mode, gx_rng *rng, gx_error *err) {
    memset(b, 0, sizeof *b);
    if (!idx) m = ds->n;
    if (batch_size < 1)
        return gx_fail(err, "%s: batch size %lld: must be >= 1", ds->source, (long long)batch_size);
    if (mode != GX_BATCH_DROP_LAST && mode != GX_BATCH_WRAP && mode != GX_BATCH_PARTIAL &&
        mode != GX_BATCH_INFINITE)
        return gx_fail(err, "%s: unknown batch mode %d", ds->source, (int)mode);
    if (m < 1) return gx_fail(err, "%s: no rows to make batches from", ds->source);
    if (m > (int64_t)UINT32_MAX) return gx_fail(err, "%s: too many rows (%lld) to shuffle", ds->source, (long long)m);
    if (mode == GX_BATCH_DROP_LAST && m < batch_size)
        return gx_fail(err, "%s: %lld rows make no full batch of %lld (use another last-batch policy)",
                       ds->source, (long long)m, (long long)batch_size);
    if (idx && gx_index_check(idx, m, ds->n, ds->source, err) != 0) return -1;
    b->order = gx_calloc((size_t)m, sizeof *b->order, "batch order", err);
    b->last = b->order ? gx_calloc((size_t)batch_size, sizeof *b->last, "batch rows", err) : NULL;
    if (!b->last) {
        free(b->order);
        b->order = NULL;
        return -1;
    }
    for (int64_t i = 0; i < m; i++) b->order[i] = idx ? idx[i] : i;
    b->ds = ds;
    b->rng = rng;
    b->mode = mode;
    b->batch_size = batch_size;
    b->m = m;
    start_epoch(b);
    return 0;
}

void gx_batcher_free(gx_batcher *b) {
    free(b->order);
    free(b->last);
    memset(b, 0, sizeof *b);
}

void gx_batcher_restart(gx_batcher *b) {
    b->epoch++;
    start_epoch(b);
}

int64_t gx_batcher_batches_per_epoch(const gx_batcher *b) {
    if (b->mode == GX_BATCH_DROP_LAST) return b->m / b->batch_size;
    return (b->m + b->batch_size - 1) / b->batch_size;
}

int64_t gx_batcher_next(gx_batcher *b, float *X, int32_t *y) {
    int64_t B = b->batch_size, n = 0;
    switch (b->mode) {
    case GX_BATCH_DROP_LAST:
    case GX_BATCH_WRAP:
    case GX_BATCH_PARTIAL:
        if (b->pos >= b->m || (b->mode == GX_BATCH_DROP_LAST && b->pos + B > b->m)) {
            gx_batcher_restart(b);
            b->last_n = 0;
            return 0;
        }
        if (b->mode == GX_BATCH_PARTIAL) {
            n = b->m - b->pos < B ? b->m - b->pos : B;
            memcpy(b->last, b->order + b->pos, (size_t)n * sizeof *b->last);
        } else {
            n = B;
            for (int64_t i = 0; i < B; i++) b->last[i] = b->order[(b->pos + i) % b->m];
        }
        b->pos += B;
        b->batch++;
        break;
    case GX_BATCH_INFINITE:
        n = B;
        for (int64_t i = 0; i < B; i++) {
            if (b->pos >= b->m) {
                b->epoch++;
                start_epoch(b);
            }
            b->last[i] = b->order[b->pos++];
        }
        break;
    }
    b->last_n = n;
    const gx_dataset *ds = b->ds;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = b->last[i];
        if (X) memcpy(X + i * ds->d, ds->x + r * ds->d, (size_t)ds->d * sizeof(float));
        if (y) y[i] = ds->y ? ds->y[r] : GX_UNLABELLED;
    }
    return n;
}

void gx_batcher_cursor(const gx_batcher *b, int64_t cursor[3]) {
    cursor[0] = b->pos;
    cursor[1] = b->epoch;
    cursor[2] = b->batch;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int gx_batcher_set_state(gx_batcher *b, const int64_t *order, int64_t m, const int64_t cursor[3],
                         const char *what, gx_error *err) {
    if (m != b->m) return gx_fail(err, "%s: %lld rows, expected %lld", what, (long long)m, (long long)b->m);
    if (cursor[0] < 0 || cursor[0] > m || cursor[1] < 0 || cursor[2] < 0)
        return gx_fail(err, "%s: position %lld (epoch %lld, batch %lld) is outside the %lld rows",
                       what, (long long)cursor[0], (long long)cursor[1], (long long)cursor[2],
                       (long long)m);
    /* the same set of rows: compare sorted copies */
    int64_t *a = gx_malloc((size_t)m * 2 * sizeof *a, "batch order check", err);
    if (!a) return -1;
    memcpy(a, b->order, (size_t)m * sizeof *a);
    memcpy(a + m, order, (size_t)m * sizeof *a);
    qsort(a, (size_t)m, sizeof *a, cmp_i64);
    qsort(a + m, (size_t)m, sizeof *a, cmp_i64);
    int same = memcmp(a, a + m, (size_t)m * sizeof *a) == 0;
    free(a);
    if (!same) return gx_fail(err, "%s: the order is not a permutation of the batcher's rows", what);
    memcpy(b->order, order, (size_t)m * sizeof *order);
    b->pos = cursor[0];
    b->epoch = cursor[1];
    b->batch = cursor[2];
    return 0;
}
