/* Tests for data/dataset: allocation, class names, subsets (everything copied), class counts,
 * non-finite search, image shape. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "data/dataset.h"
#include "test_util.h"

#define assert_msg_contains(msg, sub)                                                  \
    do {                                                                               \
        if (!strstr((msg), (sub))) {                                                   \
            print_error("message \"%s\" does not contain \"%s\"\n", (msg), (sub));     \
            fail();                                                                    \
        }                                                                              \
    } while (0)

static void test_alloc_zeroed_and_unlabelled(void **state) {
    (void)state;
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    snprintf(ds.source, sizeof ds.source, "mem");
    assert_int_equal(gx_dataset_alloc(&ds, 5, 3, 1, &err), 0);
    assert_int_equal(ds.n, 5);
    assert_int_equal(ds.d, 3);
    assert_non_null(ds.x);
    assert_non_null(ds.y);
    assert_int_equal((uintptr_t)ds.x % 64, 0);
    for (int i = 0; i < 15; i++) assert_true(ds.x[i] == 0.0f);
    for (int i = 0; i < 5; i++) assert_int_equal(ds.y[i], GX_UNLABELLED);
    assert_string_equal(ds.source, "mem");
    /* Allocating again frees the old contents (no leak under ASan), keeps the source. */
    assert_int_equal(gx_dataset_alloc(&ds, 2, 2, 0, &err), 0);
    assert_null(ds.y);
    assert_string_equal(ds.source, "mem");
    gx_dataset_free(&ds);
    assert_null(ds.x);
    assert_int_equal(ds.n, 0);
    gx_dataset_free(&ds); /* twice is fine */
}

static void test_alloc_refuses_absurd_sizes(void **state) {
    (void)state;
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    assert_int_equal(gx_dataset_alloc(&ds, INT64_MAX / 2, 1 << 20, 0, &err), -1);
    assert_msg_contains(err.msg, "too large");
    assert_null(ds.x);
    assert_int_equal(gx_dataset_alloc(&ds, -1, 3, 0, &err), -1);
    assert_msg_contains(err.msg, "invalid dataset size");
    gx_dataset_free(&ds);
}

static void test_class_names(void **state) {
    (void)state;
    gx_dataset ds;
    gx_error err = {{0}};
    char buf[16];
    gx_dataset_init(&ds);
    assert_string_equal(gx_dataset_class_name(&ds, 3, buf, sizeof buf), "3");
    const char *names[] = {"cat", "dog"};
    assert_int_equal(gx_dataset_set_classes(&ds, 2, names, &err), 0);
    assert_int_equal(ds.n_classes, 2);
    assert_string_equal(gx_dataset_class_name(&ds, 1, buf, sizeof buf), "dog");
    assert_true(ds.class_names[0] != names[0]); /* copied */
    /* Replacing frees the previous names. */
    assert_int_equal(gx_dataset_set_classes(&ds, 3, NULL, &err), 0);
    assert_null(ds.class_names);
    assert_string_equal(gx_dataset_class_name(&ds, 2, buf, sizeof buf), "2");
    const char *bad[] = {"a", NULL};
    assert_int_equal(gx_dataset_set_classes(&ds, 2, bad, &err), -1);
    assert_msg_contains(err.msg, "class 1 has no name");
    assert_int_equal(ds.n_classes, 3); /* unchanged */
    gx_dataset_free(&ds);
}

static char *copy_str(const char *s) {
    char *p = malloc(strlen(s) + 1);
    strcpy(p, s);
    return p;
}

static void make_full(gx_dataset *ds) {
    gx_error err = {{0}};
    gx_dataset_init(ds);
    snprintf(ds->source, sizeof ds->source, "fixture");
    assert_int_equal(gx_dataset_alloc(ds, 4, 4, 1, &err), 0);
    for (int i = 0; i < 16; i++) ds->x[i] = (float)i;
    int32_t y[4] = {0, 1, GX_UNLABELLED, 1};
    memcpy(ds->y, y, sizeof y);
    const char *names[] = {"a", "b"};
    assert_int_equal(gx_dataset_set_classes(ds, 2, names, &err), 0);
    ds->ids = calloc(4, sizeof *ds->ids);
    ds->feature_names = calloc(4, sizeof *ds->feature_names);
    for (int i = 0; i < 4; i++) {
        char b[16];
        snprintf(b, sizeof b, "id%d", i);
        ds->ids[i] = copy_str(b);
        snprintf(b, sizeof b, "f%d", i);
        ds->feature_names[i] = copy_str(b);
    }
    assert_int_equal(gx_dataset_set_image_shape(ds, 2, 2, 1, &err), 0);
}

static void test_subset_copies_everything(void **state) {
    (void)state;
    gx_dataset src, dst;
    gx_error err = {{0}};
    make_full(&src);
    gx_dataset_init(&dst);
    int64_t idx[3] = {3, 0, 3};
    assert_int_equal(gx_dataset_subset(&dst, &src, idx, 3, &err), 0);
    assert_int_equal(dst.n, 3);
    assert_int_equal(dst.d, 4);
    for (int j = 0; j < 4; j++) {
        assert_true(dst.x[j] == src.x[12 + j]);
        assert_true(dst.x[4 + j] == src.x[j]);
        assert_true(dst.x[8 + j] == src.x[12 + j]);
    }
    assert_int_equal(dst.y[0], 1);
    assert_int_equal(dst.y[1], 0);
    assert_int_equal(dst.n_classes, 2);
    assert_string_equal(dst.class_names[1], "b");
    assert_true(dst.class_names[1] != src.class_names[1]);
    assert_string_equal(dst.ids[0], "id3");
    assert_string_equal(dst.ids[1], "id0");
    assert_string_equal(dst.feature_names[2], "f2");
    assert_int_equal(dst.height, 2);
    assert_int_equal(dst.width, 2);
    assert_int_equal(dst.channels, 1);
    assert_string_equal(dst.source, "fixture");
    /* Freeing the source leaves the subset intact. */
    gx_dataset_free(&src);
    assert_string_equal(dst.ids[2], "id3");
    gx_dataset_free(&dst);
}

static void test_subset_bad_index(void **state) {
    (void)state;
    gx_dataset src, dst;
    gx_error err = {{0}};
    make_full(&src);
    gx_dataset_init(&dst);
    int64_t idx[2] = {1, 4};
    assert_int_equal(gx_dataset_subset(&dst, &src, idx, 2, &err), -1);
    assert_msg_contains(err.msg, "row index 4 (position 1) is outside [0, 4)");
    assert_null(dst.x);
    int64_t neg[1] = {-1};
    assert_int_equal(gx_dataset_subset(&dst, &src, neg, 1, &err), -1);
    assert_msg_contains(err.msg, "row index -1");
    /* Empty subset is fine. */
    assert_int_equal(gx_dataset_subset(&dst, &src, NULL, 0, &err), 0);
    assert_int_equal(dst.n, 0);
    gx_dataset_free(&dst);
    gx_dataset_free(&src);
}

static void test_class_counts(void **state) {
    (void)state;
    gx_dataset ds;
    make_full(&ds);
    int64_t counts[2];
    assert_int_equal(gx_dataset_class_counts(&ds, counts), 1);
    assert_int_equal(counts[0], 1);
    assert_int_equal(counts[1], 2);
    free(ds.y);
    ds.y = NULL;
    assert_int_equal(gx_dataset_class_counts(&ds, counts), 4);
    assert_int_equal(counts[0], 0);
    gx_dataset_free(&ds);
}

static void test_find_nonfinite(void **state) {
    (void)state;
    gx_dataset ds;
    make_full(&ds);
    assert_int_equal(gx_dataset_find_nonfinite(&ds), -1);
    ds.x[9] = INFINITY;
    ds.x[11] = NAN;
    assert_int_equal(gx_dataset_find_nonfinite(&ds), 9);
    ds.x[9] = 0;
    assert_int_equal(gx_dataset_find_nonfinite(&ds), 11);
    gx_dataset_free(&ds);
}

static void test_image_shape(void **state) {
    (void)state;
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    snprintf(ds.source, sizeof ds.source, "usps");
    assert_int_equal(gx_dataset_alloc(&ds, 2, 256, 0, &err), 0);
    assert_int_equal(gx_dataset_set_image_shape(&ds, 16, 16, 1, &err), 0);
    assert_int_equal(ds.height, 16);
    assert_int_equal(ds.channels, 1);
    assert_int_equal(gx_dataset_set_image_shape(&ds, 16, 15, 1, &err), -1);
    assert_msg_contains(err.msg, "usps: image shape 16x15x1 does not match the 256 features");
    assert_int_equal(ds.height, 16); /* unchanged */
    assert_int_equal(gx_dataset_set_image_shape(&ds, -16, -16, 1, &err), -1);
    assert_int_equal(gx_dataset_set_image_shape(&ds, 0, 0, 0, &err), 0);
    assert_int_equal(ds.height, 0);
    gx_dataset_free(&ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_zeroed_and_unlabelled),
        cmocka_unit_test(test_alloc_refuses_absurd_sizes),
        cmocka_unit_test(test_class_names),
        cmocka_unit_test(test_subset_copies_everything),
        cmocka_unit_test(test_subset_bad_index),
        cmocka_unit_test(test_class_counts),
        cmocka_unit_test(test_find_nonfinite),
        cmocka_unit_test(test_image_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
