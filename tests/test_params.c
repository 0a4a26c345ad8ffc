/* Tests for core/params: groups, declaration errors, layout, finalize, copy_matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/params.h"

#define assert_msg_contains(err, text)                                                           \
    do {                                                                                         \
        if (!strstr((err).msg, (text))) {                                                        \
            print_error("message \"%s\" lacks \"%s\"\n", (err).msg, (text));                     \
            fail();                                                                              \
        }                                                                                        \
    } while (0)

static void test_groups(void **state) {
    (void)state;
    gx_params p;
    gx_params_init(&p);
    gx_error err = {{0}};
    assert_int_equal(p.n, 0);
    assert_int_equal(p.n_groups, 0);
    assert_int_equal(gx_params_group(&p, "encoder", &err), 0);
    assert_int_equal(gx_params_group(&p, "head", &err), 1);
    assert_int_equal(gx_params_group(&p, "encoder", &err), 0); /* existing: same id */
    assert_int_equal(p.n_groups, 2);
    assert_string_equal(p.groups[1].name, "head");
    assert_false(p.groups[1].frozen);
    assert_true(p.groups[1].lr_scale == 1.0f);
    assert_int_equal(gx_params_group_find(&p, "head"), 1);
    assert_int_equal(gx_params_group_find(&p, "nope"), -1);
    assert_int_equal(p.n_groups, 2);

    assert_int_equal(gx_params_group(&p, "", &err), -1);
    assert_msg_contains(err, "empty");
    assert_int_equal(gx_params_group(&p, NULL, &err), -1);
    char longname[GX_PARAM_NAME_MAX + 10];
    memset(longname, 'g', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(gx_params_group(&p, longname, &err), -1);
    assert_msg_contains(err, "too long");

    for (int g = 2; g < GX_PARAM_MAX_GROUPS; g++) {
        char name[32];
        snprintf(name, sizeof name, "g%d", g);
        assert_int_equal(gx_params_group(&p, name, &err), g);
    }
    assert_int_equal(gx_params_group(&p, "one-too-many", &err), -1);
    assert_msg_contains(err, "one-too-many");
    assert_msg_contains(err, "too many groups");
    assert_int_equal(gx_params_group(&p, "g5", &err), 5); /* lookups still work when full */
    gx_params_free(&p);
}

static void test_add_errors(void **state) {
    (void)state;
    gx_params p;
    gx_params_init(&p);
    gx_error err = {{0}};
    const int64_t s2[2] = {3, 4};

    /* No group exists yet: group 0 is unknown. */
    assert_int_equal(gx_params_add(&p, "w", 2, s2, 0, &err), -1);
    assert_msg_contains(err, "'w'");
    assert_msg_contains(err, "unknown group");
    int g = gx_params_group(&p, "default", &err);
    assert_int_equal(g, 0);
    assert_int_equal(gx_params_add(&p, "w", 2, s2, 1, &err), -1);
    assert_int_equal(gx_params_add(&p, "w", 2, s2, -1, &err), -1);
    assert_int_equal(p.n, 0);

    assert_int_equal(gx_params_add(&p, "w", 2, s2, g, &err), 0);
    assert_int_equal(gx_params_add(&p, "w", 2, s2, g, &err), -1);
    assert_msg_contains(err, "'w'");
    assert_msg_contains(err, "twice");

    assert_int_equal(gx_params_add(&p, "scalar", 0, s2, g, &err), -1);
    assert_msg_contains(err, "dimensions");
    const int64_t s5[5] = {1, 1, 1, 1, 1};
    assert_int_equal(gx_params_add(&p, "five", 5, s5, g, &err), -1);
    assert_msg_contains(err, "'five'");
    assert_msg_contains(err, "5 dimensions");
    const int64_t bad0[3] = {2, 0, 2}, badneg[2] = {-3, 2};
    assert_int_equal(gx_params_add(&p, "zero", 3, bad0, g, &err), -1);
    assert_msg_contains(err, "'zero'");
    assert_msg_contains(err, "[2, 0, 2]");
    assert_int_equal(gx_params_add(&p, "neg", 2, badneg, g, &err), -1);
    assert_msg_contains(err, "not positive");
    assert_int_equal(gx_params_add(&p, "noshape", 2, NULL, g, &err), -1);
    assert_int_equal(gx_params_add(&p, "", 2, s2, g, &err), -1);
    assert_int_equal(gx_params_add(&p, NULL, 2, s2, g, &err), -1);
    char longname[GX_PARAM_NAME_MAX + 1];
    memset(longname, 'x', sizeof longname - 1);
    longname[GX_PARAM_NAME_MAX] = '\0'; /* one character too many */
    assert_int_equal(gx_params_add(&p, longname, 2, s2, g, &err), -1);
    assert_msg_contains(err, "too long");
    longname[GX_PARAM_NAME_MAX - 1] = '\0'; /* the longest allowed */
    assert_int_equal(gx_params_add(&p, longname, 2, s2, g, &err), 1);
    const int64_t huge[4] = {INT64_MAX, INT64_MAX, 2, 2};
    assert_int_equal(gx_params_add(&p, "huge", 4, huge, g, &err), -1);
    assert_msg_contains(err, "overflow");
    assert_int_equal(p.n, 2);

    assert_int_equal(gx_params_finalize(&p, &err), 0);
    assert_int_equal(gx_params_add(&p, "late", 2, s2, g, &err), -1);
    assert_msg_contains(err, "'late'");
    assert_msg_contains(err, "after");
    assert_int_equal(gx_params_finalize(&p, &err), -1);
    assert_msg_contains(err, "already finalized");
    assert_int_equal(p.n, 2);
    gx_params_free(&p);
}

static void test_layout_and_finalize(void **state) {
    (void)state;
    gx_params p;
    gx_params_init(&p);
    gx_error err = {{0}};
    int enc = gx_params_group(&p, "enc", &err), head = gx_params_group(&p, "head", &err);
    const int64_t a[1] = {3}, b[2] = {5, 2}, c[4] = {2, 2, 2, 2}, d[1] = {17};
    assert_int_equal(gx_params_add(&p, "enc.b", 1, a, enc, &err), 0);
    assert_int_equal(gx_params_add(&p, "enc.w", 2, b, enc, &err), 1);
    assert_int_equal(gx_params_add(&p, "head.w", 4, c, head, &err), 2);
    assert_int_equal(gx_params_add(&p, "head.b", 1, d, head, &err), 3);
    const size_t want_off[4] = {0, 16, 32, 48}, want_size[4] = {3, 10, 16, 17};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(p.info[i].offset, want_off[i]);
        assert_int_equal(p.info[i].size, want_size[i]);
        assert_int_equal(p.info[i].offset % 16, 0);
    }
    assert_int_equal(p.info[1].ndim, 2);
    assert_int_equal(p.info[1].shape[0], 5);
    assert_int_equal(p.info[1].shape[1], 2);
    assert_int_equal(p.info[2].group, head);
    assert_string_equal(p.info[3].name, "head.b");
    assert_null(p.data);
    assert_false(p.finalized);

    assert_int_equal(gx_params_finalize(&p, &err), 0);
    assert_true(p.finalized);
    assert_int_equal(p.total, 80); /* 48 + 17 rounded up to 16 */
    float *bufs[4] = {p.data, p.grad, p.m, p.v};
    for (int k = 0; k < 4; k++) {
        assert_non_null(bufs[k]);
        assert_int_equal((uintptr_t)bufs[k] % 64, 0);
        for (size_t i = 0; i < p.total; i++) assert_true(bufs[k][i] == 0.0f);
    }
    assert_int_equal(gx_params_find(&p, "head.w"), 2);
    assert_int_equal(gx_params_find(&p, "head"), -1);
    assert_int_equal(gx_params_find(&p, NULL), -1);
    assert_ptr_equal(gx_params_value(&p, 2), p.data + 32);
    assert_ptr_equal(gx_params_gradient(&p, 3), p.grad + 48);
    assert_int_equal(gx_params_count(&p, false), 46);
    p.groups[enc].frozen = true;
    assert_int_equal(gx_params_count(&p, true), 33);

    for (size_t i = 0; i < p.total; i++) p.grad[i] = 1.5f;
    gx_params_zero_grad(&p);
    for (size_t i = 0; i < p.total; i++) assert_true(p.grad[i] == 0.0f);

    gx_params_free(&p);
    assert_null(p.data);
    assert_null(p.info);
    assert_int_equal(p.n, 0);
    assert_int_equal(p.n_groups, 0);
    gx_params_free(&p); /* twice is harmless */
}

static void test_many_tensors(void **state) {
    (void)state;
    gx_params p;
    gx_params_init(&p);
    gx_error err = {{0}};
    int g = gx_params_group(&p, "all", &err);
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%d", i);
        const int64_t s[1] = {i + 1};
        assert_int_equal(gx_params_add(&p, name, 1, s, g, &err), i);
    }
    assert_int_equal(gx_params_finalize(&p, &err), 0);
    for (int i = 1; i < 200; i++) {
        assert_true(p.info[i].offset >= p.info[i - 1].offset + p.info[i - 1].size);
        assert_int_equal(p.info[i].offset % 16, 0);
    }
    assert_true(p.info[199].offset + p.info[199].size <= p.total);
    assert_int_equal(gx_params_find(&p, "t123"), 123);
    gx_params_free(&p);
}

static void test_empty_finalize(void **state) {
    (void)state;
    gx_params p;
    gx_params_init(&p);
    gx_error err = {{0}};
    assert_int_equal(gx_params_finalize(&p, &err), 0);
    assert_int_equal(p.total, 0);
    gx_params_zero_grad(&p);
    gx_params_free(&p);
}

/* src: enc.w [2,3], enc.b [3], head.w [3,4]; dst: enc.w [2,3], enc.b [3], head.w [3,5], new [7]. */
static void build_pair(gx_params *src, gx_params *dst) {
    gx_error err = {{0}};
    const int64_t w[2] = {2, 3}, b[1] = {3}, h4[2] = {3, 4}, h5[2] = {3, 5}, n7[1] = {7};
    gx_params_init(src);
    gx_params_init(dst);
    int gs = gx_params_group(src, "default", &err), gd = gx_params_group(dst, "default", &err);
    assert_int_equal(gx_params_add(src, "enc.w", 2, w, gs, &err), 0);
    assert_int_equal(gx_params_add(src, "enc.b", 1, b, gs, &err), 1);
    assert_int_equal(gx_params_add(src, "head.w", 2, h4, gs, &err), 2);
    assert_int_equal(gx_params_add(dst, "new", 1, n7, gd, &err), 0); /* different order */
    assert_int_equal(gx_params_add(dst, "head.w", 2, h5, gd, &err), 1);
    assert_int_equal(gx_params_add(dst, "enc.b", 1, b, gd, &err), 2);
    assert_int_equal(gx_params_add(dst, "enc.w", 2, w, gd, &err), 3);
    assert_int_equal(gx_params_finalize(src, &err), 0);
    assert_int_equal(gx_params_finalize(dst, &err), 0);
    for (size_t i = 0; i < src->total; i++) src->data[i] = (float)i + 1.0f;
    for (size_t i = 0; i < dst->total; i++) dst->data[i] = -1.0f;
}

static void test_copy_matching(void **state) {
    (void)state;
    gx_params src, dst;
    gx_error err = {{0}};
    build_pair(&src, &dst);

    /* head.w differs in shape: an error naming it and both shapes, and dst untouched. */
    assert_int_equal(gx_params_copy_matching(&dst, &src, NULL, &err), -1);
    assert_msg_contains(err, "'head.w'");
    assert_msg_contains(err, "[3, 4]");
    assert_msg_contains(err, "[3, 5]");
    for (size_t i = 0; i < dst.total; i++) assert_true(dst.data[i] == -1.0f);
    assert_int_equal(gx_params_copy_matching(&dst, &src, "", &err), -1);

    assert_int_equal(gx_params_copy_matching(&dst, &src, "head.", &err), 2);
    int ds = gx_params_find(&dst, "enc.w"), ss = gx_params_find(&src, "enc.w");
    assert_memory_equal(gx_params_value(&dst, ds), gx_params_value(&src, ss), 6 * sizeof(float));
    ds = gx_params_find(&dst, "enc.b");
    ss = gx_params_find(&src, "enc.b");
    assert_memory_equal(gx_params_value(&dst, ds), gx_params_value(&src, ss), 3 * sizeof(float));
    const float *h = gx_params_value(&dst, gx_params_find(&dst, "head.w"));
    for (int i = 0; i < 15; i++) assert_true(h[i] == -1.0f);
    const float *n = gx_params_value(&dst, gx_params_find(&dst, "new"));
    for (int i = 0; i < 7; i++) assert_true(n[i] == -1.0f);
    /* Gradients and moments are not copied. */
    for (size_t i = 0; i < dst.total; i++) assert_true(dst.grad[i] == 0.0f && dst.m[i] == 0.0f);

    /* Skipping everything that matches copies nothing. */
    assert_int_equal(gx_params_copy_matching(&dst, &src, "e", &err), -1); /* head.w checked */
    assert_int_equal(gx_params_copy_matching(&src, &src, NULL, &err), 3);
    gx_params_free(&src);
    gx_params_free(&dst);
}

static void test_copy_requires_finalized(void **state) {
    (void)state;
    gx_params a, b;
    gx_error err = {{0}};
    gx_params_init(&a);
    gx_params_init(&b);
    int g = gx_params_group(&a, "x", &err);
    const int64_t s[1] = {4};
    assert_int_equal(gx_params_add(&a, "w", 1, s, g, &err), 0);
    assert_int_equal(gx_params_finalize(&a, &err), 0);
    assert_int_equal(gx_params_copy_matching(&b, &a, NULL, &err), -1);
    assert_msg_contains(err, "destination");
    assert_int_equal(gx_params_copy_matching(&a, &b, NULL, &err), -1);
    assert_msg_contains(err, "source");
    gx_params_free(&a);
    gx_params_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_add_errors),
        cmocka_unit_test(test_layout_and_finalize),
        cmocka_unit_test(test_many_tensors),
        cmocka_unit_test(test_empty_finalize),
        cmocka_unit_test(test_copy_matching),
        cmocka_unit_test(test_copy_requires_finalized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
