/* Tests for data/splits: k per class, stratified fractions, index helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/splits.h"

#define assert_contains(s, sub)                                                                  \
    do {                                                                                         \
        if (!strstr((s), (sub))) {                                                               \
            print_error("'%s' does not contain '%s'\n", (s), (sub));                             \
            fail();                                                                              \
        }                                                                                        \
    } while (0)

/* 100 rows, classes 0..3 with 40, 30, 20, 10 rows, interleaved; class names A..D. */
static const int64_t class_sizes[4] = {40, 30, 20, 10};

static void make(gx_dataset *ds) {
    gx_error err;
    gx_dataset_init(ds);
    snprintf(ds->source, sizeof ds->source, "test");
    assert_int_equal(gx_dataset_alloc(ds, 100, 1, 1, &err), 0);
    int64_t left[4] = {40, 30, 20, 10};
    int c = 0;
    for (int64_t r = 0; r < 100; r++) {
        while (left[c] == 0) c = (c + 1) % 4;
        ds->y[r] = c;
        ds->x[r] = (float)r;
        left[c]--;
        c = (c + 1) % 4;
    }
    const char *names[] = {"A", "B", "C", "D"};
    assert_int_equal(gx_dataset_set_classes(ds, 4, names, &err), 0);
}

/* take and rest are ascending, disjoint and together exactly the set (all rows when idx NULL). */
static void check_partition(const gx_dataset *ds, const gx_split *s, const int64_t *idx, int64_t m) {
    if (!idx) m = ds->n;
    assert_int_equal(s->n_take + s->n_rest, m);
    int *seen = calloc((size_t)ds->n, sizeof *seen);
    for (int64_t i = 0; i < m; i++) seen[idx ? idx[i] : i] = 1;
    for (int64_t i = 0; i < s->n_take; i++) {
        if (i) assert_true(s->take[i - 1] < s->take[i]);
        assert_int_equal(seen[s->take[i]], 1);
        seen[s->take[i]] = 2;
    }
    for (int64_t i = 0; i < s->n_rest; i++) {
        if (i) assert_true(s->rest[i - 1] < s->rest[i]);
        assert_int_equal(seen[s->rest[i]], 1);
        seen[s->rest[i]] = 3;
    }
    for (int64_t r = 0; r < ds->n; r++) assert_true(seen[r] != 1);
    free(seen);
}

static void count_classes(const gx_dataset *ds, const int64_t *rows, int64_t m, int64_t *counts) {
    memset(counts, 0, 4 * sizeof *counts);
    for (int64_t i = 0; i < m; i++)
        if (ds->y[rows[i]] >= 0) counts[ds->y[rows[i]]]++;
}

static void test_per_class(void **state) {
    (void)state;
    gx_dataset ds;
    make(&ds);
    gx_error err;
    gx_rng rng;
    gx_rng_init(&rng, 42, GX_STREAM_SPLIT);
    gx_split s;
    gx_split_init(&s);
    assert_int_equal(gx_split_per_class(&ds, NULL, 0, 5, &rng, &s, &err), 0);
    assert_int_equal(s.n_take, 20);
    assert_int_equal(s.n_rest, 80);
    check_partition(&ds, &s, NULL, 0);
    int64_t counts[4];
    count_classes(&ds, s.take, s.n_take, counts);
    for (int c = 0; c < 4; c++) assert_int_equal(counts[c], 5);
    count_classes(&ds, s.rest, s.n_rest, counts);
    for (int c = 0; c < 4; c++) assert_int_equal(counts[c], class_sizes[c] - 5);

    /* Same seed, same split; another seed, another split. */
    gx_split s2, s3;
    gx_split_init(&s2);
    gx_split_init(&s3);
    gx_rng_init(&rng, 42, GX_STREAM_SPLIT);
    assert_int_equal(gx_split_per_class(&ds, NULL, 0, 5, &rng, &s2, &err), 0);
    assert_int_equal(s2.n_take, 20);
    assert_memory_equal(s.take, s2.take, 20 * sizeof(int64_t));
    assert_memory_equal(s.rest, s2.rest, 80 * sizeof(int64_t));
    gx_rng_init(&rng, 43, GX_STREAM_SPLIT);
    assert_int_equal(gx_split_per_class(&ds, NULL, 0, 5, &rng, &s3, &err), 0);
    assert_int_equal(s3.n_take, 20);
    assert_true(memcmp(s.take, s3.take, 20 * sizeof(int64_t)) != 0);

    /* k = whole smallest class; k = 0. */
    assert_int_equal(gx_split_per_class(&ds, NULL, 0, 10, &rng, &s3, &err), 0);
    assert_int_equal(s3.n_take, 40);
    assert_int_equal(gx_split_per_class(&ds, NULL, 0, 0, &rng, &s3, &err), 0);
    assert_int_equal(s3.n_take, 0);
    assert_int_equal(s3.n_rest, 100);

    /* Too few in a class: an error naming it; the output is left as it was. */
    assert_int_equal(gx_split_per_class(&ds, NULL, 0, 11, &rng, &s3, &err), -1);
    assert_contains(err.msg, "class 'D'");
    assert_contains(err.msg, "10");
    assert_int_equal(s3.n_rest, 100);
    assert_int_equal(gx_split_per_class(&ds, NULL, 0, -1, &rng, &s3, &err), -1);

    gx_split_free(&s);
    gx_split_free(&s2);
    gx_split_free(&s3);
    gx_dataset_free(&ds);
}

static void test_per_class_subset_and_unlabelled(void **state) {
    (void)state;
    gx_dataset ds;
    make(&ds);
    gx_error err;
    gx_rng rng;
    gx_rng_init(&rng, 7, GX_STREAM_SPLIT);
    /* The first 50 rows, in reverse order, with rows 0 and 2 unlabelled. */
    int64_t idx[50];
    for (int i = 0; i < 50; i++) idx[i] = 49 - i;
    ds.y[0] = GX_UNLABELLED;
    ds.y[2] = GX_UNLABELLED;
    gx_split s;
    gx_split_init(&s);
    assert_int_equal(gx_split_per_class(&ds, idx, 50, 2, &rng, &s, &err), 0);
    check_partition(&ds, &s, idx, 50);
    assert_int_equal(s.n_take, 8);
    for (int64_t i = 0; i < s.n_take; i++) {
        assert_true(s.take[i] < 50);
        assert_true(ds.y[s.take[i]] >= 0);
    }
    /* The unlabelled rows are in rest. */
    int found = 0;
    for (int64_t i = 0; i < s.n_rest; i++) found += s.rest[i] == 0 || s.rest[i] == 2;
    assert_int_equal(found, 2);
    /* A repeated or out-of-range row in the set is an error. */
    idx[1] = idx[0];
    assert_int_equal(gx_split_per_class(&ds, idx, 50, 2, &rng, &s, &err), -1);
    assert_contains(err.msg, "twice");
    idx[1] = 100;
    assert_int_equal(gx_split_per_class(&ds, idx, 50, 2, &rng, &s, &err), -1);
    /* No labels at all. */
    int32_t *y = ds.y;
    ds.y = NULL;
    assert_int_equal(gx_split_per_class(&ds, NULL, 0, 2, &rng, &s, &err), -1);
    ds.y = y;
    gx_split_free(&s);
    gx_dataset_free(&ds);
}

static void test_fraction(void **state) {
    (void)state;
    gx_dataset ds;
    make(&ds);
    gx_error err;
    gx_rng rng;
    gx_rng_init(&rng, 1, GX_STREAM_SPLIT);
    gx_split s, s2;
    gx_split_init(&s);
    gx_split_init(&s2);
    assert_int_equal(gx_split_fraction(&ds, NULL, 0, 0.3, &rng, &s, &err), 0);
    check_partition(&ds, &s, NULL, 0);
    int64_t counts[4];
    count_classes(&ds, s.take, s.n_take, counts);
    assert_int_equal(counts[0], 12);
    assert_int_equal(counts[1], 9);
    assert_int_equal(counts[2], 6);
    assert_int_equal(counts[3], 3);
    gx_rng_init(&rng, 1, GX_STREAM_SPLIT);
    assert_int_equal(gx_split_fraction(&ds, NULL, 0, 0.3, &rng, &s2, &err), 0);
    assert_int_equal(s2.n_take, s.n_take);
    assert_memory_equal(s.take, s2.take, (size_t)s.n_take * sizeof(int64_t));
    gx_rng_init(&rng, 2, GX_STREAM_SPLIT);
    assert_int_equal(gx_split_fraction(&ds, NULL, 0, 0.3, &rng, &s2, &err), 0);
    assert_true(memcmp(s.take, s2.take, (size_t)s.n_take * sizeof(int64_t)) != 0);

    /* Validation out of a labelled set (the 30 rows of s.take): 10% of each class, which
     * rounds to 0 or 1 but is at least 1 per class of >= 2 rows. */
    assert_int_equal(gx_split_fraction(&ds, s.take, s.n_take, 0.1, &rng, &s2, &err), 0);
    check_partition(&ds, &s2, s.take, s.n_take);
    count_classes(&ds, s2.take, s2.n_take, counts);
    for (int c = 0; c < 4; c++) assert_int_equal(counts[c], 1);
    /* A fraction near 1 still leaves one row of each class in rest. */
    assert_int_equal(gx_split_fraction(&ds, NULL, 0, 0.999, &rng, &s2, &err), 0);
    count_classes(&ds, s2.rest, s2.n_rest, counts);
    for (int c = 0; c < 4; c++) assert_int_equal(counts[c], 1);
    /* A class with a single row keeps it in rest. */
    int64_t few[] = {0, 1, 2, 3, 4, 5}; /* classes 0,1,2,3,0,1 */
    assert_int_equal(gx_split_fraction(&ds, few, 6, 0.5, &rng, &s2, &err), 0);
    count_classes(&ds, s2.take, s2.n_take, counts);
    assert_int_equal(counts[0], 1);
    assert_int_equal(counts[1], 1);
    assert_int_equal(counts[2], 0);
    assert_int_equal(counts[3], 0);

    /* Errors: a bad fraction, an unlabelled row. */
    assert_int_equal(gx_split_fraction(&ds, NULL, 0, 0.0, &rng, &s2, &err), -1);
    assert_int_equal(gx_split_fraction(&ds, NULL, 0, 1.0, &rng, &s2, &err), -1);
    ds.y[17] = GX_UNLABELLED;
    assert_int_equal(gx_split_fraction(&ds, NULL, 0, 0.3, &rng, &s2, &err), -1);
    assert_contains(err.msg, "row 17");
    gx_split_free(&s);
    gx_split_free(&s2);
    gx_dataset_free(&ds);
}

static void test_helpers(void **state) {
    (void)state;
    gx_error err;
    int64_t *a = NULL, *b = NULL, nb = 0;
    assert_int_equal(gx_index_range(10, &a, &err), 0);
    for (int i = 0; i < 10; i++) assert_int_equal(a[i], i);
    gx_rng rng;
    gx_rng_init(&rng, 3, GX_STREAM_SPLIT);
    gx_index_shuffle(&rng, a, 10);
    assert_int_equal(gx_index_check(a, 10, 10, "shuffled", &err), 0);
    int moved = 0;
    for (int i = 0; i < 10; i++) moved += a[i] != i;
    assert_true(moved > 0);
    gx_index_sort(a, 10);
    for (int i = 0; i < 10; i++) assert_int_equal(a[i], i);

    int64_t some[] = {7, 2, 5};
    assert_int_equal(gx_index_complement(some, 3, 9, &b, &nb, &err), 0);
    assert_int_equal(nb, 6);
    const int64_t want[] = {0, 1, 3, 4, 6, 8};
    assert_memory_equal(b, want, sizeof want);
    free(b);
    int64_t dup[] = {1, 1};
    assert_int_equal(gx_index_check(dup, 2, 9, "dup", &err), -1);
    assert_contains(err.msg, "row 1 appears twice");
    assert_int_equal(gx_index_complement(dup, 2, 9, &b, &nb, &err), -1);

    gx_dataset ds;
    make(&ds);
    int cls[] = {3, 1};
    assert_int_equal(gx_index_of_classes(&ds, NULL, 0, cls, 2, &b, &nb, &err), 0);
    assert_int_equal(nb, 40);
    for (int64_t i = 0; i < nb; i++) assert_true(ds.y[b[i]] == 1 || ds.y[b[i]] == 3);
    free(b);
    assert_int_equal(gx_index_of_classes(&ds, some, 3, cls, 2, &b, &nb, &err), 0);
    for (int64_t i = 0; i < nb; i++) assert_true(ds.y[b[i]] == 1 || ds.y[b[i]] == 3);
    free(b);
    int bad[] = {4};
    assert_int_equal(gx_index_of_classes(&ds, NULL, 0, bad, 1, &b, &nb, &err), -1);
    gx_dataset_free(&ds);
    free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_class),
        cmocka_unit_test(test_per_class_subset_and_unlabelled),
        cmocka_unit_test(test_fraction),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
