/* genxfer sample --condition-on: pseudo samples of a source model conditioned on target images
 * (the P-SSL view of E4): the PNG's layout, determinism, the conditioning modes, and the errors:
 * target images of another size, a bad mode, options that need --condition-on. */
#include "test_cli_util.h"

#include "data/readers.h"
#include "data/spec.h"
#include "io/figure.h"

#define SOURCE "fashion-mnist:test,select=T-shirt/top+Trouser+Dress+Sandal+Bag,limit=500"
#define TARGET_SPEC "fashion-mnist:test,select=Pullover+Coat+Shirt+Sneaker+Ankle boot,limit=200"

static char model[700];
static char target[1600]; /* TARGET_SPEC's rows as .npy files, quicker to read in every run */

static void write_target(void) {
    gx_dataset ds;
    gx_dataset_init(&ds);
    gx_error err;
    assert_int_equal(gx_spec_load(TARGET_SPEC, &ds, &err), 0);
    char x[600], y[600];
    test_path(x, sizeof x, "target_x.npy");
    test_path(y, sizeof y, "target_y.npy");
    int64_t xs[3] = {ds.n, 28, 28}, ys[1] = {ds.n};
    assert_int_equal(gx_npy_write(x, GX_NPY_F32, 3, xs, ds.x, &err), 0);
    assert_int_equal(gx_npy_write(y, GX_NPY_I32, 1, ys, ds.y, &err), 0);
    snprintf(target, sizeof target, "npy:%s,labels=%s,classes=Pullover+Coat+Shirt+Sneaker+Ankle boot",
             x, y);
    gx_dataset_free(&ds);
}

/* A tiny DVT source model on 500 images of the five source classes (from the smaller test file:
 * the tests need a model, not a good one), trained once. */
static int setup(void **state) {
    (void)state;
    if (!test_data_dir()) return 0;
    if (train_tiny_source(SOURCE, model, sizeof model)) return -1;
    write_target();
    return 0;
}

static int file_equal(const char *a, const char *b) {
    char *x = slurp(a), *y = slurp(b);
    struct stat sa, sb;
    int eq = stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_size == sb.st_size &&
             !memcmp(x, y, (size_t)sa.st_size);
    free(x);
    free(y);
    return eq;
}

/* 5 target images (one per target class) x (1 + 3) columns, the column label band and a
 * title: height 2*10 + 26 + 20 + 5*56 + 4*2; the same seed gives the same file, another seed
 * or another mode a different one. */
static void test_conditioned_png(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    char png[4][600];
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "cond%d.png", i);
        test_path(png[i], sizeof png[i], name);
    }
    const char *args = "--n 5 --per-image 3";
    assert_int_equal(run("sample '%s' --condition-on '%s' %s --out '%s'", model, target, args, png[0]), 0);
    char *out = slurp(OUT);
    assert_contains(out, "5 target images");
    assert_contains(out, "3 pseudo samples each (soft conditioning)");
    free(out);
    int W, H;
    png_size(png[0], &W, &H);
    assert_int_equal(H, 2 * GX_FIG_MARGIN + GX_FIG_TITLE_H + GX_FIG_COL_LABEL_H + 5 * 56 + 4 * 2);
    assert_true(W > 2 * GX_FIG_MARGIN + 4 * 56 + 3 * 2 + GX_FIG_COND_GAP + 60); /* and labels */
    assert_int_equal(run("sample '%s' --condition-on '%s' %s --out '%s'", model, target, args, png[1]), 0);
    assert_true(file_equal(png[0], png[1]));
    assert_int_equal(run("sample '%s' --condition-on '%s' %s --seed 2 --out '%s'", model,
                         target, args, png[2]), 0);
    assert_false(file_equal(png[0], png[2]));
    assert_int_equal(run("sample '%s' --condition-on '%s' %s --condition random --out '%s'",
                         model, target, args, png[3]), 0);
    assert_false(file_equal(png[0], png[3]));
    assert_int_equal(run("sample '%s' --condition-on '%s' %s --condition argmax --out '%s'",
                         model, target, args, png[3]), 0);
    out = slurp(OUT);
    assert_contains(out, "argmax conditioning");
    free(out);
}

/* Unlabelled target images: the first rows, as many as there are. */
static void test_unlabelled_targets(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    char npy[600], png[600], spec[700];
    test_path(npy, sizeof npy, "targets.npy");
    test_path(png, sizeof png, "unlabelled.png");
    static float x[3 * 28 * 28];
    for (int i = 0; i < 3 * 28 * 28; i++) x[i] = (float)(i % 7) / 7.0f;
    int64_t shape[3] = {3, 28, 28};
    gx_error err;
    assert_int_equal(gx_npy_write(npy, GX_NPY_F32, 3, shape, x, &err), 0);
    snprintf(spec, sizeof spec, "npy:%s", npy);
    assert_int_equal(run("sample '%s' --condition-on '%s' --n 8 --per-image 2 --out '%s'", model,
                         spec, png), 0);
    char *out = slurp(OUT);
    assert_contains(out, "3 target images");
    free(out);
    int W, H;
    png_size(png, &W, &H);
    assert_int_equal(H, 2 * GX_FIG_MARGIN + GX_FIG_TITLE_H + GX_FIG_COL_LABEL_H + 3 * 56 + 2 * 2);
}

static void test_errors(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    char png[600];
    test_path(png, sizeof png, "never.png");
    /* USPS is 16x16: the source model takes 28x28 */
    assert_one_error_line(run("sample '%s' --condition-on usps:test,limit=10 --out '%s'", model, png),
                          "usps:test,limit=10: 16x16x1 images (256 features), but domain fashion "
                          "of the source model takes 28x28x1 images (784 features)");
    struct stat st;
    assert_int_not_equal(stat(png, &st), 0);
    assert_one_error_line(run("sample '%s' --condition-on '%s' --condition hard", model, target),
                          "'hard' is not soft, argmax or random");
    assert_one_error_line(run("sample '%s' --condition-on '%s' --per-image 51", model, target),
                          "--per-image");
    assert_one_error_line(run("sample '%s' --condition-on no-such-kind:x --out '%s'", model, png),
                          "no-such-kind");
    assert_int_equal(run("sample '%s' --n 3", model), 2);
    assert_int_equal(run("sample '%s' --condition argmax", model), 2);
    assert_int_equal(run("sample '%s' --condition-on '%s' --per-class 3", model, target), 2);
    assert_int_not_equal(stat(png, &st), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conditioned_png),
        cmocka_unit_test(test_unlabelled_targets),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
