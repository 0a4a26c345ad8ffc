/* Tests for data/batch: epochs, last-batch policies, the infinite sampler, gathering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/batch.h"

#define D 3

/* n rows; x[r][j] = 10 r + j; y[r] = r % 5 (labelled) or no labels. */
static void make(gx_dataset *ds, int64_t n, int labelled) {
    gx_error err;
    gx_dataset_init(ds);
    snprintf(ds->source, sizeof ds->source, "test");
    assert_int_equal(gx_dataset_alloc(ds, n, D, labelled, &err), 0);
    for (int64_t r = 0; r < n; r++) {
        for (int j = 0; j < D; j++) ds->x[r * D + j] = (float)(10 * r + j);
        if (labelled) ds->y[r] = (int32_t)(r % 5);
    }
    ds->n_classes = labelled ? 5 : 0;
}

/* Each of the nb rows gathered into X/y is row rows[i] of ds. */
static void check_gather(const gx_dataset *ds, const int64_t *rows, int64_t nb, const float *X,
                         const int32_t *y) {
    for (int64_t i = 0; i < nb; i++) {
        for (int j = 0; j < D; j++) assert_true(X[i * D + j] == (float)(10 * rows[i] + j));
        assert_int_equal(y[i], ds->y ? ds->y[rows[i]] : GX_UNLABELLED);
    }
}

/* Runs one epoch; counts[r] += times row r was seen; returns the number of batches. */
static int run_epoch(gx_batcher *b, const gx_dataset *ds, float *X, int32_t *y, int *counts,
                     int64_t *sizes, int64_t *first_rows) {
    int nbatch = 0;
    int64_t nb;
    while ((nb = gx_batcher_next(b, X, y)) > 0) {
        const int64_t *rows = gx_batcher_rows(b);
        check_gather(ds, rows, nb, X, y);
        for (int64_t i = 0; i < nb; i++) counts[rows[i]]++;
        if (sizes) sizes[nbatch] = nb;
        if (first_rows && nbatch == 0) memcpy(first_rows, rows, (size_t)nb * sizeof *rows);
        nbatch++;
        assert_true(nbatch < 1000);
    }
    return nbatch;
}

static void test_partial_each_row_once(void **state) {
    (void)state;
    gx_dataset ds;
    make(&ds, 10, 1);
    gx_error err;
    gx_rng rng;
    gx_rng_init(&rng, 5, GX_STREAM_DATA);
    gx_batcher b;
    assert_int_equal(gx_batcher_init(&b, &ds, NULL, 0, 3, GX_BATCH_PARTIAL, &rng, &err), 0);
    assert_int_equal(gx_batcher_batches_per_epoch(&b), 4);
    float X[3 * D];
    int32_t y[3];
    int64_t *order_ptr = b.order, *last_ptr = b.last;
    int64_t first[3][3];
    for (int e = 0; e < 3; e++) {
        int counts[10] = {0};
        int64_t sizes[8];
        assert_int_equal(run_epoch(&b, &ds, X, y, counts, sizes, first[e]), 4);
        assert_int_equal(sizes[0], 3);
        assert_int_equal(sizes[3], 1);
        for (int r = 0; r < 10; r++) assert_int_equal(counts[r], 1);
        assert_int_equal(b.epoch, e + 1);
    }
    /* Reshuffled every epoch (three equal first batches would be a 1 in 10^4-ish accident). */
    assert_true(memcmp(first[0], first[1], sizeof first[0]) != 0 ||
                memcmp(first[1], first[2], sizeof first[0]) != 0);
    /* No allocation per batch: the buffers are the ones made at init. */
    assert_ptr_equal(b.order, order_ptr);
    assert_ptr_equal(b.last, last_ptr);
    gx_batcher_free(&b);
    gx_dataset_free(&ds);
}

static void test_drop_last_and_wrap(void **state) {
    (void)state;
    gx_dataset ds;
    make(&ds, 20, 1);
    gx_error err;
    gx_rng rng;
    gx_rng_init(&rng, 9, GX_STREAM_DATA);
    int64_t idx[10];
    for (int i = 0; i < 10; i++) idx[i] = 2 * i + 1; /* the odd rows */
    float X[4 * D];
    int32_t y[4];

    gx_batcher b;
    assert_int_equal(gx_batcher_init(&b, &ds, idx, 10, 4, GX_BATCH_DROP_LAST, &rng, &err), 0);
    assert_int_equal(gx_batcher_batches_per_epoch(&b), 2);
    for (int e = 0; e < 3; e++) {
        int counts[20] = {0}, total = 0;
        int64_t sizes[8];
        assert_int_equal(run_epoch(&b, &ds, X, y, counts, sizes, NULL), 2);
        for (int r = 0; r < 20; r++) {
            assert_true(counts[r] <= 1);
            if (r % 2 == 0) assert_int_equal(counts[r], 0);
            total += counts[r];
        }
        assert_int_equal(total, 8);
    }
    gx_batcher_free(&b);

    assert_int_equal(gx_batcher_init(&b, &ds, idx, 10, 4, GX_BATCH_WRAP, &rng, &err), 0);
    assert_int_equal(gx_batcher_batches_per_epoch(&b), 3);
    for (int e = 0; e < 2; e++) {
        int counts[20] = {0}, total = 0, twice = 0;
        int64_t sizes[8], first[4];
        assert_int_equal(run_epoch(&b, &ds, X, y, counts, sizes, first), 3);
        assert_int_equal(sizes[2], 4);
        for (int r = 0; r < 20; r++) {
            if (r % 2 == 1) assert_true(counts[r] >= 1);
            else assert_int_equal(counts[r], 0);
            total += counts[r];
            twice += counts[r] == 2;
        }
        assert_int_equal(total, 12);
        assert_int_equal(twice, 2);
        /* The rows seen twice are the first two of the epoch. */
        assert_int_equal(counts[first[0]], 2);
        assert_int_equal(counts[first[1]], 2);
    }
    gx_batcher_free(&b);

    /* Wrap with fewer rows than a batch cycles through them. */
    assert_int_equal(gx_batcher_init(&b, &ds, idx, 3, 4, GX_BATCH_WRAP, NULL, &err), 0);
    assert_int_equal(gx_batcher_next(&b, X, y), 4);
    const int64_t want[] = {1, 3, 5, 1};
    assert_memory_equal(gx_batcher_rows(&b), want, sizeof want);
    assert_int_equal(gx_batcher_next(&b, X, y), 0);
    gx_batcher_free(&b);

    /* Errors. */
    assert_int_equal(gx_batcher_init(&b, &ds, idx, 3, 4, GX_BATCH_DROP_LAST, &rng, &err), -1);
    assert_non_null(strstr(err.msg, "no full batch"));
    assert_int_equal(gx_batcher_init(&b, &ds, idx, 3, 0, GX_BATCH_PARTIAL, &rng, &err), -1);
    idx[1] = idx[0];
    assert_int_equal(gx_batcher_init(&b, &ds, idx, 3, 2, GX_BATCH_PARTIAL, &rng, &err), -1);
    assert_non_null(strstr(err.msg, "twice"));
    idx[1] = 20;
    assert_int_equal(gx_batcher_init(&b, &ds, idx, 3, 2, GX_BATCH_PARTIAL, &rng, &err), -1);
    gx_dataset_free(&ds);
}

static void test_infinite(void **state) {
    (void)state;
    gx_dataset ds;
    make(&ds, 7, 0); /* unlabelled: y gets GX_UNLABELLED */
    gx_error err;
    gx_rng rng;
    gx_rng_init(&rng, 11, GX_STREAM_DATA);
    gx_batcher b;
    assert_int_equal(gx_batcher_init(&b, &ds, NULL, 0, 3, GX_BATCH_INFINITE, &rng, &err), 0);
    float X[3 * D];
    int32_t y[3];
    int64_t stream[7 * 30];
    int64_t *order_ptr = b.order, *last_ptr = b.last;
    for (int k = 0; k < 70; k++) { /* 210 rows = 30 epochs */
        assert_int_equal(gx_batcher_next(&b, X, y), 3);
        check_gather(&ds, gx_batcher_rows(&b), 3, X, y);
        memcpy(stream + 3 * k, gx_batcher_rows(&b), 3 * sizeof(int64_t));
    }
    /* Each block of 7 consecutive rows of the stream is a permutation of the 7 rows. */
    int distinct_orders = 0;
    for (int e = 0; e < 30; e++) {
        int seen[7] = {0};
        for (int i = 0; i < 7; i++) seen[stream[7 * e + i]]++;
        for (int r = 0; r < 7; r++) assert_int_equal(seen[r], 1);
        if (e && memcmp(stream + 7 * e, stream + 7 * (e - 1), 7 * sizeof(int64_t))) distinct_orders++;
    }
    assert_true(distinct_orders > 20);
    assert_int_equal(b.epoch, 29);
    assert_ptr_equal(b.order, order_ptr);
    assert_ptr_equal(b.last, last_ptr);
    gx_batcher_free(&b);
    gx_dataset_free(&ds);
}

static void test_deterministic_and_unshuffled(void **state) {
    (void)state;
    gx_dataset ds;
    make(&ds, 50, 1);
    gx_error err;
    gx_rng r1, r2, r3;
    gx_rng_init(&r1, 123, GX_STREAM_DATA);
    gx_rng_init(&r2, 123, GX_STREAM_DATA);
    gx_rng_init(&r3, 124, GX_STREAM_DATA);
    gx_batcher a, b, c;
    assert_int_equal(gx_batcher_init(&a, &ds, NULL, 0, 8, GX_BATCH_WRAP, &r1, &err), 0);
    assert_int_equal(gx_batcher_init(&b, &ds, NULL, 0, 8, GX_BATCH_WRAP, &r2, &err), 0);
    assert_int_equal(gx_batcher_init(&c, &ds, NULL, 0, 8, GX_BATCH_WRAP, &r3, &err), 0);
    int differ = 0;
    for (int k = 0; k < 40; k++) {
        int64_t na = gx_batcher_next(&a, NULL, NULL), nb = gx_batcher_next(&b, NULL, NULL),
                nc = gx_batcher_next(&c, NULL, NULL);
        assert_int_equal(na, nb);
        assert_int_equal(na, nc);
        if (na) {
            assert_memory_equal(gx_batcher_rows(&a), gx_batcher_rows(&b), 8 * sizeof(int64_t));
            differ += memcmp(gx_batcher_rows(&a), gx_batcher_rows(&c), 8 * sizeof(int64_t)) != 0;
        }
    }
    assert_true(differ > 0);
    gx_batcher_free(&a);
    gx_batcher_free(&b);
    gx_batcher_free(&c);

    /* Without an rng: the order given, every epoch; restart starts over. */
    int64_t idx[] = {4, 9, 2, 7, 0};
    assert_int_equal(gx_batcher_init(&a, &ds, idx, 5, 2, GX_BATCH_PARTIAL, NULL, &err), 0);
    for (int e = 0; e < 2; e++) {
        assert_int_equal(gx_batcher_next(&a, NULL, NULL), 2);
        assert_memory_equal(gx_batcher_rows(&a), idx, 2 * sizeof(int64_t));
        assert_int_equal(gx_batcher_next(&a, NULL, NULL), 2);
        assert_memory_equal(gx_batcher_rows(&a), idx + 2, 2 * sizeof(int64_t));
        if (e == 0) {
            gx_batcher_restart(&a);
            continue;
        }
        assert_int_equal(gx_batcher_next(&a, NULL, NULL), 1);
        assert_int_equal(gx_batcher_rows(&a)[0], 0);
        assert_int_equal(gx_batcher_next(&a, NULL, NULL), 0);
    }
    gx_batcher_free(&a);
    gx_dataset_free(&ds);
}

/* A batcher's order and cursor, put into a fresh batcher over the same rows, continue the stream
 * exactly (shared rng state copied too); a wrong row set or cursor is refused, b untouched. */
static void test_set_state(void **state) {
    (void)state;
    gx_dataset ds;
    make(&ds, 23, 1);
    int64_t idx[20];
    for (int i = 0; i < 20; i++) idx[i] = i + 3;
    gx_error err;
    gx_rng r1, r2;
    gx_rng_init(&r1, 5, GX_STREAM_DATA);
    gx_rng_init(&r2, 5, GX_STREAM_DATA);
    gx_batcher a, b;
    assert_int_equal(gx_batcher_init(&a, &ds, idx, 20, 7, GX_BATCH_INFINITE, &r1, &err), 0);
    assert_int_equal(gx_batcher_init(&b, &ds, idx, 20, 7, GX_BATCH_INFINITE, &r2, &err), 0);
    float X1[7 * D], X2[7 * D];
    int32_t y1[7], y2[7];
    for (int i = 0; i < 4; i++) gx_batcher_next(&a, X1, y1); /* into the second epoch */
    int64_t cur[3];
    gx_batcher_cursor(&a, cur);
    assert_int_equal(cur[0], 8);
    assert_int_equal(cur[1], 1);
    assert_int_equal(gx_batcher_set_state(&b, a.order, a.m, cur, "b", &err), 0);
    r2 = r1;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(gx_batcher_next(&a, X1, y1), gx_batcher_next(&b, X2, y2));
        assert_memory_equal(X1, X2, sizeof X1);
        assert_memory_equal(y1, y2, sizeof y1);
    }
    int64_t order[20], saved[20];
    memcpy(saved, b.order, sizeof saved);
    memcpy(order, a.order, sizeof order);
    order[3] = 0; /* row 0 is not in the set */
    assert_int_equal(gx_batcher_set_state(&b, order, 20, cur, "batch.x", &err), -1);
    assert_non_null(strstr(err.msg, "batch.x: the order is not a permutation"));
    memcpy(order, a.order, sizeof order);
    int64_t bad_cur[3] = {21, 0, 0};
    assert_int_equal(gx_batcher_set_state(&b, order, 20, bad_cur, "batch.x", &err), -1);
    assert_non_null(strstr(err.msg, "position 21"));
    assert_int_equal(gx_batcher_set_state(&b, order, 19, cur, "batch.x", &err), -1);
    assert_non_null(strstr(err.msg, "19 rows, expected 20"));
    assert_memory_equal(b.order, saved, sizeof saved);
    gx_batcher_free(&a);
    gx_batcher_free(&b);
    gx_dataset_free(&ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partial_each_row_once),
        cmocka_unit_test(test_drop_last_and_wrap),
        cmocka_unit_test(test_infinite),
        cmocka_unit_test(test_deterministic_and_unshuffled),
        cmocka_unit_test(test_set_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
