/* Tests for the HDF5 reader: fixtures written with the HDF5 API (good and malformed ones), a
 * truncated file, a non-HDF5 file, and the real USPS file when ../shared/data is present. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <hdf5.h>

#include "data/readers.h"
#include "test_util.h"

#define assert_msg_contains(msg, sub)                                                  \
    do {                                                                               \
        if (!strstr((msg), (sub))) {                                                   \
            print_error("message \"%s\" does not contain \"%s\"\n", (msg), (sub));     \
            fail();                                                                    \
        }                                                                              \
    } while (0)

/* Writes a dataset `name` (intermediate groups created) of `type` (a native type) and shape. */
static void h5_put(hid_t file, const char *name, hid_t type, int ndim, const hsize_t *dims,
                   const void *data) {
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t space = H5Screate_simple(ndim, dims, NULL);
    hid_t ds = H5Dcreate2(file, name, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(ds >= 0);
    assert_true(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(ds);
    H5Sclose(space);
    H5Pclose(lcpl);
}

static const float data54[20] = {0.0f, 0.1f, 0.2f, 0.3f, 1, 1.1f, 1.2f, 1.3f, 2, 2.1f,
                                 2.2f,  2.3f, 3,    3.1f, 3.2f, 3.3f, 4, 4.1f, 4.2f, 4.3f};

/* The main fixture: /train/data float [5,4], /train/target int32 [5], /ftarget float labels,
 * /bad/... malformed variants, /img uint8 [2,2,3] (3-D images). */
static const char *fixture(void) {
    static char path[600];
    if (path[0]) return path;
    test_path(path, sizeof path, "fixture.h5");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    hsize_t d2[2] = {5, 4}, d1[1] = {5}, d3[3] = {2, 2, 3}, d4[1] = {4}, dcol[2] = {5, 1};
    h5_put(f, "/train/data", H5T_NATIVE_FLOAT, 2, d2, data54);
    int32_t y[5] = {1, 0, 3, 1, 1};
    h5_put(f, "/train/target", H5T_NATIVE_INT32, 1, d1, y);
    double fy[5] = {2.0, 0.0, 1.0, 2.0, 0.0};
    h5_put(f, "/ftarget", H5T_NATIVE_DOUBLE, 1, d1, fy);
    h5_put(f, "/coltarget", H5T_NATIVE_INT32, 2, dcol, y);
    unsigned char img[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    h5_put(f, "/img", H5T_NATIVE_UCHAR, 3, d3, img);
    double fy_frac[5] = {0, 1, 1.5, 2, 0};
    h5_put(f, "/bad/frac_target", H5T_NATIVE_DOUBLE, 1, d1, fy_frac);
    int64_t neg[5] = {0, 1, -1, 2, 0};
    h5_put(f, "/bad/neg_target", H5T_NATIVE_INT64, 1, d1, neg);
    double nan_target[5] = {0, 1, NAN, 2, 0};
    h5_put(f, "/bad/nan_target", H5T_NATIVE_DOUBLE, 1, d1, nan_target);
    int32_t short_y[4] = {0, 1, 2, 3};
    h5_put(f, "/bad/short_target", H5T_NATIVE_INT32, 1, d4, short_y);
    float nan_data[20];
    memcpy(nan_data, data54, sizeof nan_data);
    nan_data[2 * 4 + 1] = NAN;
    h5_put(f, "/bad/nan_data", H5T_NATIVE_FLOAT, 2, d2, nan_data);
    double big[20] = {0};
    big[7] = 1e300; /* beyond float32 */
    h5_put(f, "/bad/big_data", H5T_NATIVE_DOUBLE, 2, d2, big);
    h5_put(f, "/bad/vector", H5T_NATIVE_FLOAT, 1, d4, data54);
    hsize_t d0[2] = {0, 4};
    h5_put(f, "/bad/empty", H5T_NATIVE_FLOAT, 2, d0, data54);
    /* A string dataset. */
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, 4);
    char strs[5][4] = {"a", "b", "c", "d", "e"};
    h5_put(f, "/bad/strings", st, 1, d1, strs);
    H5Tclose(st);
    /* A scalar. */
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t sc = H5Dcreate2(f, "/bad/scalar", H5T_NATIVE_FLOAT, sp, H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT);
    float one = 1;
    H5Dwrite(sc, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &one);
    H5Dclose(sc);
    H5Sclose(sp);
    /* An absurdly large chunked dataset that holds no data (fill values only). */
    hsize_t huge[2] = {(hsize_t)1 << 31, (hsize_t)1 << 31}, chunk[2] = {16, 16};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    hid_t hs = H5Screate_simple(2, huge, NULL);
    hid_t hd = H5Dcreate2(f, "/bad/huge", H5T_NATIVE_FLOAT, hs, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(hd >= 0);
    H5Dclose(hd);
    H5Sclose(hs);
    /* Within the size limit but with its chunks never written (issue 20: a 1.4 KB file that
     * declared 10^9 x 4 floats), and one with only its first chunk written. */
    hsize_t unwritten[2] = {1000000, 4}, chunk4[2] = {16, 4};
    H5Pset_chunk(dcpl, 2, chunk4);
    hs = H5Screate_simple(2, unwritten, NULL);
    hd = H5Dcreate2(f, "/bad/unwritten", H5T_NATIVE_FLOAT, hs, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(hd >= 0);
    H5Dclose(hd);
    hd = H5Dcreate2(f, "/bad/partly", H5T_NATIVE_FLOAT, hs, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(hd >= 0);
    hsize_t start[2] = {0, 0}, count[2] = {16, 4};
    hid_t mem = H5Screate_simple(2, count, NULL);
    H5Sselect_hyperslab(hs, H5S_SELECT_SET, start, NULL, count, NULL);
    float block[64] = {0};
    assert_true(H5Dwrite(hd, H5T_NATIVE_FLOAT, mem, hs, H5P_DEFAULT, block) >= 0);
    H5Sclose(mem);
    H5Dclose(hd);
    H5Sclose(hs);
    /* Compressed and written in full: far smaller in the file than declared, and read. */
    hsize_t zdims[2] = {4096, 4};
    H5Pset_chunk(dcpl, 2, chunk4);
    H5Pset_deflate(dcpl, 9);
    hs = H5Screate_simple(2, zdims, NULL);
    hd = H5Dcreate2(f, "/zeros", H5T_NATIVE_FLOAT, hs, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    static float zeros[4096 * 4];
    assert_true(H5Dwrite(hd, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros) >= 0);
    H5Dclose(hd);
    H5Sclose(hs);
    H5Pclose(dcpl);
    H5Fclose(f);
    return path;
}

static void test_read_2d_with_int_labels(void **state) {
    (void)state;
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    assert_int_equal(gx_read_hdf5(fixture(), "/train/data", "/train/target", 0, &ds, &err), 0);
    assert_int_equal(ds.n, 5);
    assert_int_equal(ds.d, 4);
    for (int i = 0; i < 20; i++) assert_true(ds.x[i] == data54[i]);
    assert_int_equal(ds.height, 0); /* 2-D: no image shape */
    assert_int_equal(ds.y[2], 3);
    assert_int_equal(ds.n_classes, 4);
    assert_string_equal(ds.source, fixture());
    /* The spec layer may declare an image shape. */
    assert_int_equal(gx_dataset_set_image_shape(&ds, 2, 2, 1, &err), 0);
    assert_int_equal(ds.width, 2);
    /* Without labels, and with n_classes given. */
    assert_int_equal(gx_read_hdf5(fixture(), "train/data", NULL, 0, &ds, &err), 0);
    assert_null(ds.y);
    assert_int_equal(ds.height, 0); /* a fresh dataset */
    assert_int_equal(gx_read_hdf5(fixture(), "/train/data", "/train/target", 7, &ds, &err), 0);
    assert_int_equal(ds.n_classes, 7);
    gx_dataset_free(&ds);
}

static void test_float_and_column_labels(void **state) {
    (void)state;
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    assert_int_equal(gx_read_hdf5(fixture(), "/train/data", "/ftarget", 0, &ds, &err), 0);
    assert_int_equal(ds.y[0], 2);
    assert_int_equal(ds.n_classes, 3);
    assert_int_equal(gx_read_hdf5(fixture(), "/train/data", "/coltarget", 0, &ds, &err), 0);
    assert_int_equal(ds.y[2], 3);
    gx_dataset_free(&ds);
}

static void test_3d_images(void **state) {
    (void)state;
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    assert_int_equal(gx_read_hdf5(fixture(), "/img", NULL, 0, &ds, &err), 0);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.d, 6);
    assert_int_equal(ds.height, 2);
    assert_int_equal(ds.width, 3);
    assert_int_equal(ds.channels, 1);
    assert_true(ds.x[11] == 11.0f);
    gx_dataset_free(&ds);
}

static void expect_fail(const char *path, const char *data, const char *labels, int n_classes,
                        const char *want) {
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    assert_int_equal(gx_dataset_alloc(&ds, 3, 3, 1, &err), 0); /* must be freed by the reader */
    assert_int_equal(gx_read_hdf5(path, data, labels, n_classes, &ds, &err), -1);
    if (getenv("GX_TEST_VERBOSE")) fprintf(stderr, "  %s\n", err.msg);
    assert_msg_contains(err.msg, path);
    assert_msg_contains(err.msg, want);
    assert_null(strchr(err.msg, '\n'));
    assert_null(ds.x);
    assert_null(ds.y);
    assert_int_equal(ds.n, 0);
}

static void test_bad_labels(void **state) {
    (void)state;
    const char *p = fixture();
    expect_fail(p, "/train/data", "/bad/frac_target", 0,
                "dataset '/bad/frac_target': label at row 2 is 1.5; expected a non-negative integer");
    expect_fail(p, "/train/data", "/bad/neg_target", 0, "label at row 2 is -1");
    expect_fail(p, "/train/data", "/bad/nan_target", 0, "label at row 2 is nan");
    expect_fail(p, "/train/data", "/bad/short_target", 0,
                "label dataset '/bad/short_target' has 4 labels but the data has 5 rows");
    expect_fail(p, "/train/data", "/train/target", 3,
                "label at row 2 is 3; expected a class index below 3");
    expect_fail(p, "/train/data", "/img", 0, "dataset '/img' has 3 dimensions; expected 1 to 2");
    expect_fail(p, "/train/data", "/bad/strings", 0, "has string elements");
    expect_fail(p, "/train/data", "/no/such", 0, "HDF5 dataset '/no/such' not found");
}

static void test_bad_data(void **state) {
    (void)state;
    const char *p = fixture();
    expect_fail(p, "/bad/nan_data", NULL, 0,
                "dataset '/bad/nan_data': non-finite value (NaN) at row 2, column 1");
    expect_fail(p, "/bad/big_data", NULL, 0, "non-finite value (+Inf) at row 1, column 3");
    expect_fail(p, "/bad/vector", NULL, 0, "dataset '/bad/vector' has 1 dimensions; expected 2 to 4");
    expect_fail(p, "/bad/empty", NULL, 0, "dimension 0 is 0");
    expect_fail(p, "/bad/strings", NULL, 0, "dataset '/bad/strings' has string elements");
    expect_fail(p, "/bad/scalar", NULL, 0, "dataset '/bad/scalar' is a scalar or empty");
    expect_fail(p, "/bad/huge", NULL, 0, "dataset '/bad/huge' is too large");
    expect_fail(p, "/bad/unwritten", NULL, 0,
                "dataset '/bad/unwritten' declares 16000000 bytes but the file holds 0 of them "
                "(unwritten chunks)");
    expect_fail(p, "/bad/partly", NULL, 0, "declares 16000000 bytes but the file holds 256 of them");
    gx_dataset z;
    gx_error err = {{0}};
    gx_dataset_init(&z);
    assert_int_equal(gx_read_hdf5(p, "/zeros", NULL, 0, &z, &err), 0);
    assert_int_equal(z.n, 4096);
    gx_dataset_free(&z);
    expect_fail(p, "/nothere", NULL, 0, "HDF5 dataset '/nothere' not found");
    expect_fail(p, "/missing/group/data", NULL, 0, "'/missing/group/data' not found");
    expect_fail(p, "/train", NULL, 0, "cannot open '/train' as an HDF5 dataset (is it a group?)");
    expect_fail(p, "", NULL, 0, "no HDF5 dataset name given");
}

static void test_bad_files(void **state) {
    (void)state;
    char p[600];
    expect_fail(test_path(p, sizeof p, "missing.h5"), "/train/data", NULL, 0, "No such file");
    test_write_text(test_path(p, sizeof p, "text.h5"), "this is not HDF5\n");
    expect_fail(p, "/train/data", NULL, 0, "not an HDF5 file");
    test_write_file(test_path(p, sizeof p, "empty.h5"), "", 0);
    expect_fail(p, "/train/data", NULL, 0, "not an HDF5 file");
    expect_fail(test_tmpdir(), "/train/data", NULL, 0, "not a regular file");
    /* The fixture cut at several lengths: never a crash, always a message naming the file. */
    FILE *f = fopen(fixture(), "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc((size_t)size);
    assert_non_null(bytes);
    assert_int_equal(fread(bytes, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    const long cuts[] = {8, 100, 512, 1024, 2048, size / 2, size - 16};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        if (cuts[i] <= 0 || cuts[i] >= size) continue;
        test_write_file(test_path(p, sizeof p, "cut.h5"), bytes, (size_t)cuts[i]);
        gx_dataset ds;
        gx_error err = {{0}};
        gx_dataset_init(&ds);
        int rc = gx_read_hdf5(p, "/train/data", "/train/target", 0, &ds, &err);
        if (getenv("GX_TEST_VERBOSE")) fprintf(stderr, "  cut %ld: %s\n", cuts[i], err.msg);
        assert_int_equal(rc, -1); /* HDF5 notices the end of file is short of its end address */
        assert_msg_contains(err.msg, p);
        assert_null(ds.x);
        gx_dataset_free(&ds);
    }
    free(bytes);
}

static void test_real_usps(void **state) {
    (void)state;
    const char *dir = test_data_dir();
    if (!dir) skip();
    char p[600];
    snprintf(p, sizeof p, "%s/usps/usps.h5", dir);
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    if (gx_read_hdf5(p, "/train/data", "/train/target", 0, &ds, &err) != 0) {
        print_error("%s\n", err.msg);
        fail();
    }
    assert_int_equal(ds.n, 7291);
    assert_int_equal(ds.d, 256);
    assert_int_equal(ds.n_classes, 10);
    int64_t counts[10];
    const int64_t want[10] = {1194, 1005, 731, 658, 652, 556, 664, 645, 542, 644};
    assert_int_equal(gx_dataset_class_counts(&ds, counts), 0);
    for (int k = 0; k < 10; k++) assert_int_equal(counts[k], want[k]);
    float lo = 1, hi = 0;
    for (int64_t i = 0; i < ds.n * ds.d; i++) {
        if (ds.x[i] < lo) lo = ds.x[i];
        if (ds.x[i] > hi) hi = ds.x[i];
    }
    assert_true(lo >= 0.0f && hi <= 1.0f && hi > 0.5f);
    assert_int_equal(gx_dataset_set_image_shape(&ds, 16, 16, 1, &err), 0);
    assert_int_equal(gx_read_hdf5(p, "/test/data", "/test/target", 10, &ds, &err), 0);
    assert_int_equal(ds.n, 2007);
    /* Train data with test labels. */
    assert_int_equal(gx_read_hdf5(p, "/train/data", "/test/target", 0, &ds, &err), -1);
    assert_msg_contains(err.msg, "has 2007 labels but the data has 7291 rows");
    gx_dataset_free(&ds);
}

int main(void) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_2d_with_int_labels),
        cmocka_unit_test(test_float_and_column_labels),
        cmocka_unit_test(test_3d_images),
        cmocka_unit_test(test_bad_labels),
        cmocka_unit_test(test_bad_data),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_real_usps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
