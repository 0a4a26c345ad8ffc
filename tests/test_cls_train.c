/* transfer/cls_train on small synthetic data: a CNN learns to tell apart two kinds of 8x8 images
 * (a bright row or a bright column), with and without mirrored views, the run is a pure function
 * of the seed, validation keeps the
 * best epoch's weights, and bad inputs are errors naming what is wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "transfer/cls_train.h"

enum { N = 160, S = 8 };

/* Class 0: a bright random row; class 1: a bright random column; noise elsewhere. Rows 0..N-1. */
static void make_data(gx_dataset *ds) {
    gx_error err;
    gx_dataset_init(ds);
    assert_int_equal(gx_dataset_alloc(ds, N, S * S, 1, &err), 0);
    assert_int_equal(gx_dataset_set_image_shape(ds, S, S, 1, &err), 0);
    assert_int_equal(gx_dataset_set_classes(ds, 2, NULL, &err), 0);
    gx_rng r;
    gx_rng_init(&r, 42, 9);
    for (int i = 0; i < N; i++) {
        float *x = ds->x + (size_t)i * S * S;
        gx_rng_uniform_fill(&r, x, S * S, 0, 0.3f);
        int k = (int)gx_rng_below(&r, S);
        ds->y[i] = i % 2;
        for (int j = 0; j < S; j++) x[ds->y[i] ? j * S + k : k * S + j] = 1.0f;
    }
}

static int64_t *range(int64_t from, int64_t n) {
    int64_t *idx = malloc((size_t)n * sizeof *idx);
    assert_non_null(idx);
    for (int64_t i = 0; i < n; i++) idx[i] = from + i;
    return idx;
}

static int epochs_seen;
static double last_val;
static void count_epochs(void *ctx, const gx_cls_epoch_log *l) {
    (void)ctx;
    epochs_seen++;
    assert_int_equal(l->epoch, epochs_seen);
    assert_true(isfinite(l->loss) && l->train_acc >= 0 && l->train_acc <= 1);
    last_val = l->val_acc;
}

static void test_learns_and_is_deterministic(void **s) {
    (void)s;
    gx_dataset ds;
    make_data(&ds);
    int64_t *lab = range(0, 120), *val = range(120, 40);
    gx_cls_train_config tc;
    gx_cls_train_config_default(&tc);
    tc.epochs = 30;
    tc.batch = 32;
    tc.lr = 3e-3f;
    tc.aug_shift = 1;
    tc.on_epoch = count_epochs;
    float *first = NULL;
    for (int run = 0; run < 3; run++) {
        tc.aug_flip = run == 2; /* the task does not change under a mirror */
        gx_classifier m;
        gx_error err;
        gx_rng init;
        gx_rng_init(&init, tc.seed, GX_STREAM_INIT);
        assert_int_equal(gx_classifier_create(&m, "conv4-bn-relu-pool,fc8-relu-drop0.2,fc", S, S, 1,
                                              1, 2, &init, &err), 0);
        gx_cls_train_result res;
        epochs_seen = 0;
        assert_int_equal(gx_cls_train(&m, &ds, lab, 120, NULL, 0, &tc, &res, &err), 0);
        assert_int_equal(epochs_seen, 30);
        assert_int_equal(res.steps, 30 * 4); /* ceil(120 / 32) steps per epoch */
        assert_int_equal(res.best_epoch, 30);
        assert_true(res.best_val_acc < 0);
        /* held-out rows: the task is easy */
        gx_classifier_ws ws;
        float X[16 * S * S], P[16 * 2];
        assert_int_equal(gx_classifier_ws_alloc(&ws, &m, 16, &err), 0);
        double acc = gx_cls_accuracy(&m, &ws, &ds, val, 40, X, P);
        gx_classifier_ws_free(&ws);
        printf("    held-out accuracy %.3f\n", acc);
        assert_true(acc >= 0.9);
        if (run == 0) {
            first = malloc(m.params.total * sizeof *first);
            assert_non_null(first);
            memcpy(first, m.params.data, m.params.total * sizeof *first);
        } else if (run == 1) {
            assert_memory_equal(first, m.params.data, m.params.total * sizeof *first); /* same seed */
        } else {
            assert_true(memcmp(first, m.params.data, m.params.total * sizeof *first) != 0);
        }
        gx_classifier_free(&m);
    }
    free(first);
    free(lab);
    free(val);
    gx_dataset_free(&ds);
}

/* With a validation set the model ends with the weights of the best epoch: its validation accuracy
 * is the best one reported, not necessarily the last. */
static void test_validation_keeps_best(void **s) {
    (void)s;
    gx_dataset ds;
    make_data(&ds);
    int64_t *lab = range(0, 20), *val = range(20, 140);
    gx_cls_train_config tc;
    gx_cls_train_config_default(&tc);
    tc.epochs = 12;
    tc.batch = 8;
    tc.lr = 1e-2f; /* large steps on 20 images: the validation accuracy moves about */
    tc.sched = GX_SCHED_CONSTANT;
    tc.on_epoch = count_epochs;
    gx_classifier m;
    gx_error err;
    gx_rng init;
    gx_rng_init(&init, 5, GX_STREAM_INIT);
    assert_int_equal(gx_classifier_create(&m, "fc16-relu,fc", S, S, 1, 1, 2, &init, &err), 0);
    gx_cls_train_result res;
    epochs_seen = 0;
    assert_int_equal(gx_cls_train(&m, &ds, lab, 20, val, 140, &tc, &res, &err), 0);
    assert_true(res.best_epoch >= 1 && res.best_epoch <= 12);
    assert_true(res.best_val_acc >= last_val);
    gx_classifier_ws ws;
    float X[8 * S * S], P[8 * 2];
    assert_int_equal(gx_classifier_ws_alloc(&ws, &m, 8, &err), 0);
    assert_float_equal(gx_cls_accuracy(&m, &ws, &ds, val, 140, X, P), res.best_val_acc, 1e-12);
    gx_classifier_ws_free(&ws);
    gx_classifier_free(&m);
    free(lab);
    free(val);
    gx_dataset_free(&ds);
}

/* val_every = 5 over 12 epochs: the validation set is scored after epochs 5, 10 and 12 only, and
 * the kept weights are those of one of them. */
static int scored_mask;
static void record_scored(void *ctx, const gx_cls_epoch_log *l) {
    (void)ctx;
    if (l->val_acc >= 0) scored_mask |= 1 << l->epoch;
}

static void test_validation_every_n_epochs(void **s) {
    (void)s;
    gx_dataset ds;
    make_data(&ds);
    int64_t *lab = range(0, 20), *val = range(20, 140);
    gx_cls_train_config tc;
    gx_cls_train_config_default(&tc);
    tc.epochs = 12;
    tc.batch = 8;
    tc.val_every = 5;
    tc.on_epoch = record_scored;
    gx_classifier m;
    gx_error err;
    gx_rng init;
    gx_rng_init(&init, 5, GX_STREAM_INIT);
    assert_int_equal(gx_classifier_create(&m, "fc16-relu,fc", S, S, 1, 1, 2, &init, &err), 0);
    gx_cls_train_result res;
    scored_mask = 0;
    assert_int_equal(gx_cls_train(&m, &ds, lab, 20, val, 140, &tc, &res, &err), 0);
    assert_int_equal(scored_mask, (1 << 5) | (1 << 10) | (1 << 12));
    assert_true(res.best_epoch == 5 || res.best_epoch == 10 || res.best_epoch == 12);
    gx_classifier_free(&m);
    free(lab);
    free(val);
    gx_dataset_free(&ds);
}

static void test_errors(void **s) {
    (void)s;
    gx_dataset ds;
    make_data(&ds);
    int64_t *lab = range(0, 10);
    gx_cls_train_config tc;
    gx_cls_train_config_default(&tc);
    tc.epochs = 2;
    gx_classifier m;
    gx_error err;
    gx_cls_train_result res;
    gx_rng init;
    gx_rng_init(&init, 1, GX_STREAM_INIT);
    /* the model takes other inputs */
    assert_int_equal(gx_classifier_create(&m, "fc4,fc", 1, 1, 10, 0, 2, &init, &err), 0);
    assert_int_equal(gx_cls_train(&m, &ds, lab, 10, NULL, 0, &tc, &res, &err), -1);
    assert_non_null(strstr(err.msg, "the data have 64 features per example, the model takes 10"));
    gx_classifier_free(&m);
    /* a label outside the model's classes */
    assert_int_equal(gx_classifier_create(&m, "fc4,fc", S, S, 1, 1, 2, &init, &err), 0);
    ds.y[3] = 2;
    assert_int_equal(gx_cls_train(&m, &ds, lab, 10, NULL, 0, &tc, &res, &err), -1);
    assert_non_null(strstr(err.msg, "row 3 has label 2 (the model has 2 classes)"));
    ds.y[3] = 1;
    /* nothing to train on, bad settings */
    assert_int_equal(gx_cls_train(&m, &ds, lab, 0, NULL, 0, &tc, &res, &err), -1);
    assert_non_null(strstr(err.msg, "no labelled examples"));
    tc.lr = 0;
    assert_int_equal(gx_cls_train(&m, &ds, lab, 10, NULL, 0, &tc, &res, &err), -1);
    assert_non_null(strstr(err.msg, "must be positive"));
    tc.lr = 1e-3f;
    /* a non-finite input makes a non-finite loss: training stops and names the step (no
     * translation, which could move the pixel out of the image) */
    tc.aug_shift = 0;
    ds.x[5 * S * S + 7] = NAN;
    int64_t five[1] = {5};
    assert_int_equal(gx_cls_train(&m, &ds, five, 1, NULL, 0, &tc, &res, &err), -1);
    assert_non_null(strstr(err.msg, "the loss is not finite at step 1 (epoch 1)"));
    gx_classifier_free(&m);
    free(lab);
    gx_dataset_free(&ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_and_is_deterministic),
        cmocka_unit_test(test_validation_keeps_best),
        cmocka_unit_test(test_validation_every_n_epochs),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
