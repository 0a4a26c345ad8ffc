/* Tests for data/spec: parsing good and bad specs, loading fixtures (CSV, .npy) and, when present,
 * the shared datasets. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/readers.h"
#include "data/spec.h"
#include "test_util.h"

#define assert_contains(s, sub)                                                                  \
    do {                                                                                         \
        if (!strstr((s), (sub))) {                                                               \
            print_error("'%s' does not contain '%s'\n", (s), (sub));                             \
            fail();                                                                              \
        }                                                                                        \
    } while (0)

/* Parses spec, expecting failure with a message containing each of the NULL-terminated parts. */
static void expect_parse_error(const char *spec, ...) {
    gx_spec s;
    gx_error err = {{0}};
    if (gx_spec_parse(spec, &s, &err) == 0) {
        print_error("spec '%s' parsed, expected an error\n", spec);
        gx_spec_free(&s);
        fail();
    }
    va_list ap;
    va_start(ap, spec);
    for (const char *part; (part = va_arg(ap, const char *));) assert_contains(err.msg, part);
    va_end(ap);
}

static void test_parse_good(void **state) {
    (void)state;
    gx_spec s;
    gx_error err;
    assert_int_equal(gx_spec_parse("mnist:train", &s, &err), 0);
    assert_int_equal(s.kind, GX_SPEC_MNIST);
    assert_string_equal(s.path, "train");
    assert_int_equal(s.limit, 0);
    assert_int_equal(s.pad, -1);
    assert_int_equal(s.has_scale, 0);
    gx_spec_free(&s);

    assert_int_equal(gx_spec_parse("fashion-mnist:test,select=Pullover+Ankle boot+3,limit=50", &s, &err), 0);
    assert_int_equal(s.kind, GX_SPEC_FASHION_MNIST);
    assert_string_equal(s.path, "test");
    assert_string_equal(s.select[0], "Pullover");
    assert_string_equal(s.select[1], "Ankle boot");
    assert_string_equal(s.select[2], "3");
    assert_null(s.select[3]);
    assert_int_equal(s.limit, 50);
    gx_spec_free(&s);

    assert_int_equal(gx_spec_parse("csv:stars/eros1/train.csv, label=type ,id=Unnamed: 0,drop=patch_id+star_id_b,"
                                   "missing=drop,header=no,sep=tab,classes=1+2+3+4,log10=period,scale=1/4",
                                   &s, &err), 0);
    assert_int_equal(s.kind, GX_SPEC_CSV);
    assert_string_equal(s.path, "stars/eros1/train.csv");
    assert_string_equal(s.label, "type");
    assert_string_equal(s.id, "Unnamed: 0");
    assert_string_equal(s.drop[1], "star_id_b");
    assert_int_equal(s.missing_drop, 1);
    assert_int_equal(s.header, 0);
    assert_int_equal(s.sep, '\t');
    assert_string_equal(s.classes[3], "4");
    assert_string_equal(s.log10[0], "period");
    assert_int_equal(s.has_scale, 1);
    assert_true(s.scale == 0.25f);
    gx_spec_free(&s);

    assert_int_equal(gx_spec_parse("hdf5:/data/usps.h5,data=/train/data,labels=/train/target,image=16x16,"
                                   "resize=20x20,pad=4,scale=0.5",
                                   &s, &err), 0);
    assert_int_equal(s.kind, GX_SPEC_HDF5);
    assert_string_equal(s.data, "/train/data");
    assert_string_equal(s.labels, "/train/target");
    assert_int_equal(s.image_h, 16);
    assert_int_equal(s.image_w, 16);
    assert_int_equal(s.resize_h, 20);
    assert_int_equal(s.pad, 4);
    assert_true(s.scale == 0.5f);
    gx_spec_free(&s);

    /* A bare path: the kind from the name. */
    assert_int_equal(gx_spec_parse("dir/x.npy,labels=dir/y.npy", &s, &err), 0);
    assert_int_equal(s.kind, GX_SPEC_NPY);
    assert_string_equal(s.path, "dir/x.npy");
    gx_spec_free(&s);
    assert_int_equal(gx_spec_parse("data/a:b.csv", &s, &err), 0);
    assert_int_equal(s.kind, GX_SPEC_CSV);
    assert_string_equal(s.path, "data/a:b.csv");
    gx_spec_free(&s);
    assert_int_equal(gx_spec_parse("idx:t10k-images-idx3-ubyte.gz,labels=t10k-labels-idx1-ubyte.gz,classes=a+b", &s, &err), 0);
    assert_int_equal(s.kind, GX_SPEC_IDX);
    assert_string_equal(s.classes[1], "b");
    gx_spec_free(&s);
}

static void test_parse_bad(void **state) {
    (void)state;
    expect_parse_error("csv:x.csv,lable=type", "spec 'csv:x.csv,lable=type'", "unknown option 'lable'",
                       "did you mean 'label'", "expected one of: label, id, keep", NULL);
    expect_parse_error("mnist:train,label=type", "option 'label' does not apply to mnist", NULL);
    expect_parse_error("npy:x.npy,labels", "option 'labels' needs a value", NULL);
    expect_parse_error("npy:x.npy,labels=", "option 'labels' needs a value", NULL);
    expect_parse_error("cvs:x.csv", "unknown kind 'cvs'", "did you mean 'csv'", "mnist, fashion-mnist", NULL);
    expect_parse_error("x.txt", "no kind given", NULL);
    expect_parse_error("", "empty dataset spec", NULL);
    expect_parse_error("   ", "empty dataset spec", NULL);
    expect_parse_error("csv:", "no path after 'csv:'", NULL);
    expect_parse_error("mnist:val", "unknown part 'val'", "mnist:train or mnist:test", NULL);
    expect_parse_error("mnist:train,limit=abc", "option 'limit'", "bad value 'abc'", NULL);
    expect_parse_error("mnist:train,limit=0", "option 'limit'", "bad value '0'", NULL);
    expect_parse_error("mnist:train,limit=-5", "option 'limit'", NULL);
    expect_parse_error("mnist:train,limit=10x", "option 'limit'", NULL);
    expect_parse_error("mnist:train,scale=x", "option 'scale'", "bad value 'x'", NULL);
    expect_parse_error("mnist:train,scale=1/0", "option 'scale'", NULL);
    expect_parse_error("mnist:train,scale=inf", "option 'scale'", NULL);
    expect_parse_error("mnist:train,image=28", "option 'image'", "HxW", NULL);
    expect_parse_error("mnist:train,resize=0x4", "option 'resize'", NULL);
    expect_parse_error("mnist:train,pad=-1", "option 'pad'", NULL);
    expect_parse_error("mnist:train,limit=5,limit=6", "option 'limit' given twice", NULL);
    expect_parse_error("mnist:train,,limit=5", "empty option", NULL);
    expect_parse_error("mnist:train,limit=5,", "empty option", NULL);
    expect_parse_error("mnist:train,select=1++2", "option 'select'", "empty item", NULL);
    expect_parse_error("csv:x.csv,missing=maybe", "option 'missing'", "error or drop", NULL);
    expect_parse_error("csv:x.csv,header=maybe", "option 'header'", NULL);
    expect_parse_error("csv:x.csv,sep=ab", "option 'sep'", NULL);
    expect_parse_error("csv:x.csv,keep=a,drop=b", "keep= or drop=", NULL);
    expect_parse_error("csv:x.csv,classes=a+b", "give label= too", NULL);
    expect_parse_error("hdf5:x.h5,labels=/y", "hdf5 needs", "data=", NULL);
    expect_parse_error("npy:x.npy,classes=a+b", "give labels= too", NULL);
}

static void test_print_help(void **state) {
    (void)state;
    char path[600];
    test_path(path, sizeof path, "help.txt");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    gx_spec_print_help(f);
    fclose(f);
    FILE *g = fopen(path, "r");
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, g);
    text[n] = '\0';
    fclose(g);
    const char *parts[] = {"KIND:PATH", "mnist:train|test", "usps:", "csv:FILE", "hdf5:FILE",
                           "select=", "limit=N", "log10=", "image=HxW", "resize=HxW", "pad=P",
                           "scale=F", "GENXFER_DATA", NULL};
    for (int i = 0; parts[i]; i++) assert_contains(text, parts[i]);
}

static const char csv_text[] = "name,a,b,type\n"
                               "s1,10,1.5,cat\n"
                               "s2,100,2.5,dog\n"
                               "s3,1000,3.5,cat\n"
                               "s4,0,4.5,bird\n"
                               "s5,1,5.5,dog\n";

static void test_load_csv(void **state) {
    (void)state;
    char path[600], spec[1400];
    test_path(path, sizeof path, "t.csv");
    test_write_text(path, "%s", csv_text);
    gx_error err;
    gx_dataset ds;
    gx_dataset_init(&ds);

    snprintf(spec, sizeof spec, "csv:%s,label=type,id=name", path);
    assert_int_equal(gx_spec_load(spec, &ds, &err), 0);
    assert_int_equal(ds.n, 5);
    assert_int_equal(ds.d, 2);
    assert_int_equal(ds.n_classes, 3);
    assert_string_equal(ds.source, spec);
    assert_true(ds.x[2] == 100.0f);

    /* classes= pins the order; select re-indexes in the order given; log10 and scale apply. */
    snprintf(spec, sizeof spec, "csv:%s,label=type,classes=bird+cat+dog,select=dog+cat,log10=a,scale=2,id=name", path);
    assert_int_equal(gx_spec_load(spec, &ds, &err), 0);
    assert_int_equal(ds.n, 4);
    assert_int_equal(ds.n_classes, 2);
    char buf[16];
    assert_string_equal(gx_dataset_class_name(&ds, 0, buf, sizeof buf), "dog");
    assert_string_equal(gx_dataset_class_name(&ds, 1, buf, sizeof buf), "cat");
    const int32_t want_y[] = {1, 0, 1, 0};  /* s1 cat, s2 dog, s3 cat, s5 dog */
    const float want_a[] = {2, 4, 6, 0};    /* 2 * log10(a) */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ds.y[i], want_y[i]);
        assert_true(fabsf(ds.x[i * 2] - want_a[i]) < 1e-5f);
    }
    assert_true(fabsf(ds.x[1] - 3.0f) < 1e-6f);

    /* select by index, limit after select, keep. */
    snprintf(spec, sizeof spec, "csv:%s,label=type,classes=bird+cat+dog,select=1,limit=1,keep=b", path);
    assert_int_equal(gx_spec_load(spec, &ds, &err), 0);
    assert_int_equal(ds.n, 1);
    assert_int_equal(ds.d, 1);
    assert_true(ds.x[0] == 1.5f);
    assert_int_equal(ds.n_classes, 1);
    assert_string_equal(gx_dataset_class_name(&ds, 0, buf, sizeof buf), "cat");

    /* Errors name the spec and what is wrong; ds is kept on failure. */
    snprintf(spec, sizeof spec, "csv:%s,label=type,log10=a+b,drop=name", path);
    assert_int_equal(gx_spec_load(spec, &ds, &err), -1);
    assert_contains(err.msg, "spec 'csv:");
    assert_contains(err.msg, "column 'a'");
    assert_contains(err.msg, "row 3");
    assert_int_equal(ds.n, 1); /* unchanged */
    snprintf(spec, sizeof spec, "csv:%s,label=type,select=cow,id=name", path);
    assert_int_equal(gx_spec_load(spec, &ds, &err), -1);
    assert_contains(err.msg, "no class 'cow'");
    assert_contains(err.msg, "'dog'");
    snprintf(spec, sizeof spec, "csv:%s,label=type,select=cat+cat,id=name", path);
    assert_int_equal(gx_spec_load(spec, &ds, &err), -1);
    assert_contains(err.msg, "twice");
    snprintf(spec, sizeof spec, "csv:%s,label=type,log10=nope,id=name", path);
    assert_int_equal(gx_spec_load(spec, &ds, &err), -1);
    assert_contains(err.msg, "no column 'nope'");
    snprintf(spec, sizeof spec, "csv:%s,select=cat,id=name,drop=type", path); /* no labels */
    assert_int_equal(gx_spec_load(spec, &ds, &err), -1);
    assert_contains(err.msg, "select= needs labels");
    snprintf(spec, sizeof spec, "csv:%s,label=type,image=3x3,id=name", path);
    assert_int_equal(gx_spec_load(spec, &ds, &err), -1);
    assert_contains(err.msg, "image=3x3");
    snprintf(spec, sizeof spec, "csv:%s,label=type,resize=4x4,id=name", path);
    assert_int_equal(gx_spec_load(spec, &ds, &err), -1);
    assert_contains(err.msg, "image");
    snprintf(spec, sizeof spec, "csv:%s/missing.csv", test_tmpdir());
    assert_int_equal(gx_spec_load(spec, &ds, &err), -1);
    assert_contains(err.msg, "spec 'csv:");
    assert_contains(err.msg, "missing.csv");
    assert_int_equal(ds.n, 1);
    gx_dataset_free(&ds);
}

/* impute=: missing feature values filled with the column's median, mean or 0 (values returned
 * for the model), or with given values by column name; a column with nothing to impute from is
 * an error; impute= with missing=drop is refused; a missing label stays unlabelled. */
static void test_impute(void **state) {
    (void)state;
    char path[600], spec[800];
    test_path(path, sizeof path, "impute.csv");
    test_write_text(path, "%s", "a,b,c,y\n1,10,NA,p\n,20,,q\n3,,,p\n6,40,,q\n");
    const float want[3][3] = {{3, 20, 0}, {10.0f / 3, 70.0f / 3, 0}, {0, 0, 0}}; /* a b c */
    const char *how[3] = {"median", "mean", "zero"};
    for (int h = 0; h < 3; h++) {
        gx_dataset ds;
        gx_error err = {{0}};
        float *used = NULL;
        gx_dataset_init(&ds);
        snprintf(spec, sizeof spec, "csv:%s,label=y,drop=c,impute=%s", path, how[h]);
        assert_int_equal(gx_spec_load_imputed(spec, NULL, NULL, 0, &used, &ds, &err), 0);
        assert_non_null(used);
        assert_int_equal(ds.d, 2);
        assert_float_equal(used[0], want[h][0], 1e-6);
        assert_float_equal(used[1], want[h][1], 1e-6);
        assert_float_equal(ds.x[1 * 2 + 0], want[h][0], 1e-6); /* row 1's a */
        assert_float_equal(ds.x[2 * 2 + 1], want[h][1], 1e-6); /* row 2's b */
        assert_float_equal(ds.x[3 * 2 + 0], 6, 0);             /* a value given stays */
        free(used);
        gx_dataset_free(&ds);
    }
    /* the training data's values, by column name (here in another order than the file's) */
    const char *names[2] = {"b", "a"};
    const float fill[2] = {-5, 99};
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    snprintf(spec, sizeof spec, "csv:%s,label=y,drop=c,impute=median", path);
    assert_int_equal(gx_spec_load_imputed(spec, names, fill, 2, NULL, &ds, &err), 0);
    assert_float_equal(ds.x[1 * 2 + 0], 99, 0);
    assert_float_equal(ds.x[2 * 2 + 1], -5, 0);
    gx_dataset_free(&ds);
    /* a column with no value at all: nothing to take a median of (0 still works) */
    snprintf(spec, sizeof spec, "csv:%s,label=y,impute=median", path);
    assert_int_equal(gx_spec_load(spec, &ds, &err), -1);
    assert_contains(err.msg, "column 'c': every value is missing, so there is nothing to impute=median from");
    snprintf(spec, sizeof spec, "csv:%s,label=y,impute=zero", path);
    assert_int_equal(gx_spec_load(spec, &ds, &err), 0);
    gx_dataset_free(&ds);
    /* a fill table without the column that has missing values */
    assert_int_equal(gx_spec_load_imputed(spec, names, fill, 2, NULL, &ds, &err), -1);
    assert_contains(err.msg, "column 'c' has missing values, and the model keeps no value");
    snprintf(spec, sizeof spec, "csv:%s,label=y,impute=median,missing=drop", path);
    assert_int_equal(gx_spec_load(spec, &ds, &err), -1);
    assert_contains(err.msg, "not with missing=drop");
    snprintf(spec, sizeof spec, "csv:%s,label=y,impute=mode", path);
    assert_int_equal(gx_spec_load(spec, &ds, &err), -1);
    assert_contains(err.msg, "median, mean or zero");
}

static void test_load_npy(void **state) {
    (void)state;
    char xp[600], yp[600], spec[1400];
    test_path(xp, sizeof xp, "x.npy");
    test_path(yp, sizeof yp, "y.npy");
    gx_error err;
    float x[6 * 4];
    for (int i = 0; i < 24; i++) x[i] = (float)(i % 4 + 1);
    const int64_t y[6] = {0, 1, 2, 0, 1, 2};
    const int64_t xs[2] = {6, 4}, ys[1] = {6};
    assert_int_equal(gx_npy_write(xp, GX_NPY_F32, 2, xs, x, &err), 0);
    assert_int_equal(gx_npy_write(yp, GX_NPY_I64, 1, ys, y, &err), 0);

    gx_dataset ds;
    gx_dataset_init(&ds);
    snprintf(spec, sizeof spec, "npy:%s,labels=%s,classes=r+g+b,image=2x2,resize=4x4,pad=1,limit=5", xp, yp);
    assert_int_equal(gx_spec_load(spec, &ds, &err), 0);
    assert_int_equal(ds.n, 5);
    assert_int_equal(ds.d, 36);
    assert_int_equal(ds.height, 6);
    assert_int_equal(ds.width, 6);
    char buf[16];
    assert_string_equal(gx_dataset_class_name(&ds, 2, buf, sizeof buf), "b");
    assert_int_equal(ds.y[4], 1);
    /* Image [[1,2],[3,4]] resized to 4x4 then padded: corner 0, (1,1) = 1, (4,4) = 4, (1,2) = 1.25. */
    assert_true(ds.x[0] == 0.0f);
    assert_true(fabsf(ds.x[1 * 6 + 1] - 1.0f) < 1e-6f);
    assert_true(fabsf(ds.x[4 * 6 + 4] - 4.0f) < 1e-6f);
    assert_true(fabsf(ds.x[1 * 6 + 2] - 1.25f) < 1e-6f);

    /* A label beyond the classes named is an error. */
    snprintf(spec, sizeof spec, "npy:%s,labels=%s,classes=r+g", xp, yp);
    assert_int_equal(gx_spec_load(spec, &ds, &err), -1);
    assert_contains(err.msg, "spec 'npy:");
    /* Bare path, no labels. */
    assert_int_equal(gx_spec_load(xp, &ds, &err), 0);
    assert_int_equal(ds.n, 6);
    assert_null(ds.y);
    gx_dataset_free(&ds);
}

static void test_data_dir_errors(void **state) {
    (void)state;
    const char *old = getenv("GENXFER_DATA");
    char saved[1024] = "";
    if (old) snprintf(saved, sizeof saved, "%s", old);
    setenv("GENXFER_DATA", "/nonexistent/genxfer-data", 1);
    gx_dataset ds;
    gx_dataset_init(&ds);
    gx_error err;
    assert_int_equal(gx_spec_load("mnist:train,limit=3", &ds, &err), -1);
    assert_contains(err.msg, "spec 'mnist:train,limit=3'");
    assert_contains(err.msg, "GENXFER_DATA");
    if (old) setenv("GENXFER_DATA", saved, 1);
    else unsetenv("GENXFER_DATA");
}

static void test_real_datasets(void **state) {
    (void)state;
    if (!test_data_dir()) skip();
    const char *dir = test_data_dir();
    /* The spec code looks at GENXFER_DATA or ../shared/data, as test_data_dir does. */
    gx_dataset ds;
    gx_dataset_init(&ds);
    gx_error err = {{0}};
    char buf[32];
    if (gx_spec_load("mnist:train,limit=100", &ds, &err) != 0) {
        print_error("%s (data in %s)\n", err.msg, dir);
        fail();
    }
    assert_int_equal(ds.n, 100);
    assert_int_equal(ds.d, 784);
    assert_int_equal(ds.height, 28);
    assert_int_equal(ds.n_classes, 10);
    assert_string_equal(ds.source, "mnist:train,limit=100");
    float lo = 1, hi = 0;
    for (int64_t i = 0; i < ds.n * ds.d; i++) {
        if (ds.x[i] < lo) lo = ds.x[i];
        if (ds.x[i] > hi) hi = ds.x[i];
    }
    assert_true(lo == 0.0f);
    assert_true(hi == 1.0f);
    assert_int_equal(ds.y[0], 5); /* MNIST's first training digit */

    assert_int_equal(gx_spec_load("fashion-mnist:test,select=Pullover+Coat+Shirt+Sneaker+Ankle boot,limit=50",
                                  &ds, &err), 0);
    assert_int_equal(ds.n, 50);
    assert_int_equal(ds.n_classes, 5);
    assert_string_equal(gx_dataset_class_name(&ds, 4, buf, sizeof buf), "Ankle boot");
    for (int64_t i = 0; i < ds.n; i++) assert_true(ds.y[i] >= 0 && ds.y[i] < 5);

    assert_int_equal(gx_spec_load("usps:test,limit=10,resize=20x20,pad=4", &ds, &err), 0);
    assert_int_equal(ds.n, 10);
    assert_int_equal(ds.d, 784);
    assert_int_equal(ds.width, 28);
    for (int i = 0; i < 28; i++) assert_true(ds.x[i] == 0.0f);   /* top border */
    assert_string_equal(gx_dataset_class_name(&ds, 7, buf, sizeof buf), "7");
    gx_dataset_free(&ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_print_help),
        cmocka_unit_test(test_load_csv),
        cmocka_unit_test(test_impute),
        cmocka_unit_test(test_load_npy),
        cmocka_unit_test(test_data_dir_errors),
        cmocka_unit_test(test_real_datasets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
