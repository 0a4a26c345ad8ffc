/* Error messages and checked allocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static void test_fail_and_prefix(void **s) {
    (void)s;
    gx_error e;
    assert_int_equal(gx_fail(&e, "line %d: bad value '%s'", 3, "x"), -1);
    assert_string_equal(e.msg, "line 3: bad value 'x'");
    assert_int_equal(gx_fail_prefix(&e, "data.csv"), -1);
    assert_string_equal(e.msg, "data.csv: line 3: bad value 'x'");
    assert_int_equal(gx_fail(NULL, "ignored"), -1); /* err may be NULL */
}

static void test_prefix_truncates_safely(void **s) {
    (void)s;
    gx_error e;
    char big[3000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    gx_fail(&e, "%s", big);
    assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
    gx_fail_prefix(&e, "%s", "p");
    assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
    assert_memory_equal(e.msg, "p: aaa", 6);
    gx_fail_prefix(&e, "%s", big); /* a prefix longer than the buffer */
    assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
}

static void test_checked_sizes(void **s) {
    (void)s;
    gx_error e;
    size_t out;
    assert_int_equal(gx_mul_size(SIZE_MAX / 2, 3, &out, "weights", &e), -1);
    assert_non_null(strstr(e.msg, "weights"));
    assert_int_equal(gx_mul_size(1000, 4, &out, "x", &e), 0);
    assert_int_equal(out, 4000);
    assert_null(gx_calloc(SIZE_MAX / 4, 8, "table", &e));
    assert_non_null(strstr(e.msg, "table"));
    void *p = gx_malloc_aligned(100, "buffer", &e);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 64, 0);
    free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fail_and_prefix),
        cmocka_unit_test(test_prefix_truncates_safely),
        cmocka_unit_test(test_checked_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
