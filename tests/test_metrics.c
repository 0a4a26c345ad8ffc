/* Tests for core/metrics: confusion matrix, per-class precision/recall/F1/support, accuracy and
 * macro F1 against hand-computed values (sklearn conventions, zero_division=0), argmax, errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/metrics.h"

#define assert_close(a, b)                                                             \
    do {                                                                               \
        double a_ = (a), b_ = (b);                                                     \
        if (!(fabs(a_ - b_) <= 1e-12)) {                                               \
            print_error("%s = %.17g, expected %.17g\n", #a, a_, b_);                   \
            fail();                                                                    \
        }                                                                              \
    } while (0)

#define assert_msg_contains(msg, sub)                                                  \
    do {                                                                               \
        if (!strstr((msg), (sub))) {                                                   \
            print_error("message \"%s\" does not contain \"%s\"\n", (msg), (sub));     \
            fail();                                                                    \
        }                                                                              \
    } while (0)

/* 4 classes; class 2 is never predicted, class 3 occurs in neither array.
 *   confusion  pred0 pred1 pred2 pred3
 *   true0        3     1     0     0
 *   true1        1     1     0     0
 *   true2        1     1     0     0
 *   true3        0     0     0     0
 * class 0: P = 3/5, R = 3/4, F1 = 6/9;  class 1: P = 1/3, R = 1/2, F1 = 2/5;
 * class 2: P = 0 (never predicted), R = 0, F1 = 0;  class 3: all 0, left out of the macro mean.
 * accuracy = 4/8; macro F1 = (2/3 + 2/5 + 0) / 3 = 16/45 (16/60 if class 3 were counted). */
static void test_hand_computed(void **state) {
    (void)state;
    const int32_t yt[] = {0, 0, 0, 1, 1, 2, 2, 0};
    const int32_t yp[] = {0, 0, 1, 1, 0, 1, 0, 0};
    gx_error err = {{0}};
    gx_class_metrics m;
    assert_int_equal(gx_class_metrics_init(&m, 4, &err), 0);
    assert_int_equal(gx_class_metrics_compute(&m, yt, yp, 8, &err), 0);
    const int64_t C[16] = {3, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 16; i++) assert_int_equal(m.confusion[i], C[i]);
    assert_int_equal(m.K, 4);
    assert_int_equal(m.n, 8);
    assert_int_equal(m.support[0], 4);
    assert_int_equal(m.support[1], 2);
    assert_int_equal(m.support[2], 2);
    assert_int_equal(m.support[3], 0);
    assert_close(m.precision[0], 0.6);
    assert_close(m.recall[0], 0.75);
    assert_close(m.f1[0], 2.0 / 3.0);
    assert_close(m.precision[1], 1.0 / 3.0);
    assert_close(m.recall[1], 0.5);
    assert_close(m.f1[1], 0.4);
    assert_close(m.precision[2], 0.0);
    assert_close(m.recall[2], 0.0);
    assert_close(m.f1[2], 0.0);
    assert_close(m.precision[3], 0.0);
    assert_close(m.recall[3], 0.0);
    assert_close(m.f1[3], 0.0);
    assert_close(m.accuracy, 0.5);
    assert_close(m.macro_f1, 16.0 / 45.0);
    gx_class_metrics_free(&m);
    assert_null(m.confusion);
    gx_class_metrics_free(&m); /* twice is harmless */
}

/* A class that is predicted but has no support counts in the macro mean with F1 0
 * (sklearn: f1_score([0, 0], [0, 1], average="macro") == 1/3). */
static void test_predicted_without_support(void **state) {
    (void)state;
    const int32_t yt[] = {0, 0};
    const int32_t yp[] = {0, 1};
    gx_error err = {{0}};
    gx_class_metrics m;
    assert_int_equal(gx_class_metrics_init(&m, 3, &err), 0);
    assert_int_equal(gx_class_metrics_compute(&m, yt, yp, 2, &err), 0);
    assert_close(m.precision[0], 1.0);
    assert_close(m.recall[0], 0.5);
    assert_close(m.f1[0], 2.0 / 3.0);
    assert_close(m.precision[1], 0.0);
    assert_close(m.recall[1], 0.0);
    assert_int_equal(m.support[1], 0);
    assert_close(m.macro_f1, 1.0 / 3.0);
    assert_close(m.accuracy, 0.5);
    gx_class_metrics_free(&m);
}

static void test_perfect(void **state) {
    (void)state;
    const int32_t y[] = {2, 0, 1, 1, 0, 2, 2};
    gx_error err = {{0}};
    gx_class_metrics m;
    assert_int_equal(gx_class_metrics_init(&m, 3, &err), 0);
    assert_int_equal(gx_class_metrics_compute(&m, y, y, 7, &err), 0);
    for (int k = 0; k < 3; k++) {
        assert_close(m.precision[k], 1.0);
        assert_close(m.recall[k], 1.0);
        assert_close(m.f1[k], 1.0);
        for (int j = 0; j < 3; j++)
            if (j != k) assert_int_equal(m.confusion[k * 3 + j], 0);
    }
    assert_int_equal(m.confusion[0], 2);
    assert_int_equal(m.confusion[4], 2);
    assert_int_equal(m.confusion[8], 3);
    assert_close(m.accuracy, 1.0);
    assert_close(m.macro_f1, 1.0);
    gx_class_metrics_free(&m);
}

/* Recomputing into the same struct starts from zero (no counts carried over). */
static void test_recompute(void **state) {
    (void)state;
    const int32_t a[] = {0, 1, 1}, b[] = {1, 1, 0};
    gx_error err = {{0}};
    gx_class_metrics m;
    assert_int_equal(gx_class_metrics_init(&m, 2, &err), 0);
    assert_int_equal(gx_class_metrics_compute(&m, a, b, 3, &err), 0);
    assert_int_equal(gx_class_metrics_compute(&m, a, a, 3, &err), 0);
    assert_int_equal(m.confusion[0], 1);
    assert_int_equal(m.confusion[1], 0);
    assert_int_equal(m.confusion[2], 0);
    assert_int_equal(m.confusion[3], 2);
    assert_close(m.accuracy, 1.0);
    gx_class_metrics_free(&m);
}

static void test_label_out_of_range(void **state) {
    (void)state;
    const int32_t ok[] = {0, 1, 2, 0};
    const int32_t bad_true[] = {0, 1, 3, 0};
    const int32_t bad_pred[] = {0, 1, 2, -1};
    gx_error err = {{0}};
    gx_class_metrics m;
    assert_int_equal(gx_class_metrics_init(&m, 3, &err), 0);
    assert_int_equal(gx_class_metrics_compute(&m, bad_true, ok, 4, &err), -1);
    assert_msg_contains(err.msg, "true label");
    assert_msg_contains(err.msg, "row 2");
    assert_msg_contains(err.msg, "is 3");
    assert_int_equal(gx_class_metrics_compute(&m, ok, bad_pred, 4, &err), -1);
    assert_msg_contains(err.msg, "predicted label");
    assert_msg_contains(err.msg, "row 3");
    assert_msg_contains(err.msg, "is -1");
    int64_t C[9];
    assert_int_equal(gx_confusion(ok, bad_pred, 4, 3, C, &err), -1);
    assert_int_equal(gx_confusion(ok, ok, 4, 3, C, &err), 0);
    assert_int_equal(C[0], 2);
    assert_int_equal(C[4] + C[8], 2);
    /* no rows: an error rather than a 0/0 accuracy */
    assert_int_equal(gx_class_metrics_compute(&m, ok, ok, 0, &err), -1);
    assert_msg_contains(err.msg, "no rows");
    gx_class_metrics_free(&m);
    assert_int_equal(gx_class_metrics_init(&m, 0, &err), -1);
    assert_msg_contains(err.msg, "0 classes");
    gx_class_metrics_free(&m);
}

static void test_argmax(void **state) {
    (void)state;
    const float P[] = {
        0.1f, 0.7f, 0.2f,        /* 1 */
        0.5f, 0.2f, 0.5f,        /* tie: lowest index 0 */
        NAN, 0.2f, 0.3f,         /* NaN ignored: 2 */
        NAN, NAN, NAN,           /* all NaN: 0 */
        -3.0f, -1.0f, -2.0f,     /* negatives: 1 */
        -INFINITY, -INFINITY, 0, /* 2 */
    };
    int32_t out[6] = {-9, -9, -9, -9, -9, -9};
    gx_argmax_rows(P, 6, 3, out);
    const int32_t want[6] = {1, 0, 2, 0, 1, 2};
    for (int i = 0; i < 6; i++) assert_int_equal(out[i], want[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_computed),
        cmocka_unit_test(test_predicted_without_support),
        cmocka_unit_test(test_perfect),
        cmocka_unit_test(test_recompute),
        cmocka_unit_test(test_label_out_of_range),
        cmocka_unit_test(test_argmax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
