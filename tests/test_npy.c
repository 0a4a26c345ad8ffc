/* Tests for the .npy reader and writer: bit-identical round trips for every dtype and rank,
 * numpy's exact header layout, big-endian and v2/v3 files, every kind of malformed file, the
 * atomic write, and gx_read_npy_dataset. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <zlib.h>

#include "data/readers.h"
#include "test_fs_util.h"




static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)size + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *n = (size_t)size;
    return b;
}

static void test_round_trip_bit_identical(void **state) {
    (void)state;
    char dir[600], p[700];
    fresh_dir(dir, sizeof dir, "roundtrip");
    const gx_npy_dtype types[5] = {GX_NPY_F32, GX_NPY_F64, GX_NPY_U8, GX_NPY_I32, GX_NPY_I64};
    const size_t sizes[5] = {4, 8, 1, 4, 8};
    const int64_t shapes[3][3] = {{7, 0, 0}, {3, 5, 0}, {2, 3, 4}};
    uint32_t s = 2024;
    for (int t = 0; t < 5; t++)
        for (int nd = 1; nd <= 3; nd++) {
            int64_t count = 1;
            for (int i = 0; i < nd; i++) count *= shapes[nd - 1][i];
            size_t bytes = (size_t)count * sizes[t];
            unsigned char *data = malloc(bytes);
            assert_non_null(data);
            for (size_t i = 0; i < bytes; i++) { /* any bit pattern, NaNs included */
                s = s * 1664525u + 1013904223u;
                data[i] = (unsigned char)(s >> 24);
            }
            snprintf(p, sizeof p, "%s/a%d_%d.npy", dir, t, nd);
            gx_error err = {{0}};
            assert_int_equal(gx_npy_write(p, types[t], nd, shapes[nd - 1], data, &err), 0);
            /* numpy's layout: header padded to 64 bytes, ending in '\n'. */
            size_t n;
            unsigned char *file = slurp(p, &n);
            size_t hlen = (size_t)file[8] | (size_t)file[9] << 8;
            assert_int_equal((10 + hlen) % 64, 0);
            assert_int_equal(file[10 + hlen - 1], '\n');
            assert_int_equal(n, 10 + hlen + bytes);
            free(file);
            gx_npy_array a;
            assert_int_equal(gx_npy_read(p, &a, &err), 0);
            assert_int_equal(a.dtype, types[t]);
            assert_int_equal(a.ndim, nd);
            for (int i = 0; i < nd; i++) assert_int_equal(a.shape[i], shapes[nd - 1][i]);
            assert_int_equal(a.count, count);
            assert_memory_equal(a.data, data, bytes);
            gx_npy_free(&a);
            assert_null(a.data);
            free(data);
        }
    assert_int_equal(count_entries(dir), 15); /* no temporary files left */
}

/* A gzip'd .npy (np.save into gzip.open) reads as the plain one; a truncated stream is an
 * error naming the file. */
static void test_gzip(void **state) {
    (void)state;
    char plain[600], gz[600];
    test_path(plain, sizeof plain, "z.npy");
    test_path(gz, sizeof gz, "z.npy.gz");
    float v[6] = {1.5f, -2, 0, 3.25f, 1e-3f, 7};
    int64_t shape[2] = {3, 2};
    gx_error err = {{0}};
    assert_int_equal(gx_npy_write(plain, GX_NPY_F32, 2, shape, v, &err), 0);
    FILE *f = fopen(plain, "rb");
    assert_non_null(f);
    unsigned char bytes[512];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    gzFile g = gzopen(gz, "wb");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, bytes, (unsigned)n), (int)n);
    assert_int_equal(gzclose(g), Z_OK);
    gx_npy_array a;
    assert_int_equal(gx_npy_read(gz, &a, &err), 0);
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.shape[0], 3);
    assert_int_equal(a.shape[1], 2);
    assert_memory_equal(a.data, v, sizeof v);
    gx_npy_free(&a);
    /* cut short */
    f = fopen(gz, "rb");
    assert_non_null(f);
    n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    char cut[600];
    test_path(cut, sizeof cut, "cut.npy.gz");
    test_write_file(cut, bytes, n - 10);
    assert_int_equal(gx_npy_read(cut, &a, &err), -1);
    assert_msg_contains(err.msg, "cut.npy.gz: corrupt gzip data");
}

static void test_numpy_header_bytes(void **state) {
    (void)state;
    char p[600];
    gx_error err = {{0}};
    float v[6] = {0, 1, 2, 3, 4, 5};
    int64_t shape[2] = {2, 3};
    assert_int_equal(gx_npy_write(test_path(p, sizeof p, "h.npy"), GX_NPY_F32, 2, shape, v, &err),
                     0);
    size_t n;
    unsigned char *file = slurp(p, &n);
    /* What numpy.save writes for np.arange(6, dtype='<f4').reshape(2, 3). */
    const char dict[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    assert_int_equal(n, 128 + 24);
    assert_memory_equal(file, "\x93NUMPY\x01\x00\x76\x00", 10);
    assert_memory_equal(file + 10, dict, sizeof dict - 1);
    for (size_t i = 10 + sizeof dict - 1; i < 127; i++) assert_int_equal(file[i], ' ');
    assert_int_equal(file[127], '\n');
    free(file);
    /* 1-D: "(5,)"; 0-D: "()"; uint8: '|u1'. */
    unsigned char u[5] = {1, 2, 3, 4, 5};
    int64_t five = 5;
    assert_int_equal(gx_npy_write(p, GX_NPY_U8, 1, &five, u, &err), 0);
    file = slurp(p, &n);
    file[n - 1] = 0;
    assert_non_null(strstr((char *)file + 10, "{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }"));
    free(file);
    double scalar = 2.5;
    assert_int_equal(gx_npy_write(p, GX_NPY_F64, 0, NULL, &scalar, &err), 0);
    gx_npy_array a;
    assert_int_equal(gx_npy_read(p, &a, &err), 0);
    assert_int_equal(a.ndim, 0);
    assert_int_equal(a.count, 1);
    assert_true(((double *)a.data)[0] == 2.5);
    gx_npy_free(&a);
}

/* Writes a .npy by hand: magic, version, header (padded with spaces and '\n' to 64 for v1),
 * then the payload. */
static void write_npy_raw(const char *path, int major, const char *dict, const void *payload,
                          size_t n) {
    unsigned char buf[4096];
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64, hlen = total - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)hlen;
    buf[9] = (unsigned char)(hlen >> 8);
    if (major != 1) buf[10] = buf[11] = 0;
    memcpy(buf + pre, dict, dl);
    memset(buf + pre + dl, ' ', hlen - dl - 1);
    buf[total - 1] = '\n';
    assert_true(total + n <= sizeof buf);
    if (n) memcpy(buf + total, payload, n);
    test_write_file(path, buf, total + n);
}

static void test_big_endian_and_versions(void **state) {
    (void)state;
    char p[600];
    gx_error err = {{0}};
    gx_npy_array a;
    /* >f4 1.0, -2.5 */
    const unsigned char bef4[8] = {0x3f, 0x80, 0, 0, 0xc0, 0x20, 0, 0};
    write_npy_raw(test_path(p, sizeof p, "be.npy"), 1,
                  "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", bef4, 8);
    assert_int_equal(gx_npy_read(p, &a, &err), 0);
    assert_int_equal(a.dtype, GX_NPY_F32);
    assert_true(((float *)a.data)[0] == 1.0f && ((float *)a.data)[1] == -2.5f);
    gx_npy_free(&a);
    /* >i8 258, -1 */
    const unsigned char bei8[16] = {0, 0, 0, 0, 0, 0, 1, 2, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff};
    write_npy_raw(p, 1, "{'descr': '>i8', 'fortran_order': False, 'shape': (1, 2), }", bei8, 16);
    assert_int_equal(gx_npy_read(p, &a, &err), 0);
    assert_true(((int64_t *)a.data)[0] == 258 && ((int64_t *)a.data)[1] == -1);
    gx_npy_free(&a);
    /* v2.0 and v3.0 headers, other key order, double quotes, no trailing comma. */
    const int32_t le[3] = {7, 8, 9};
    write_npy_raw(p, 2, "{\"shape\": (3,), \"fortran_order\": False, \"descr\": \"<i4\"}", le, 12);
    assert_int_equal(gx_npy_read(p, &a, &err), 0);
    assert_int_equal(a.dtype, GX_NPY_I32);
    assert_int_equal(((int32_t *)a.data)[2], 9);
    gx_npy_free(&a);
    write_npy_raw(p, 3, "{'descr': '<i4', 'fortran_order': False, 'shape': (3L,), }", le, 12);
    assert_int_equal(gx_npy_read(p, &a, &err), 0);
    assert_int_equal(a.shape[0], 3);
    gx_npy_free(&a);
    /* An empty array is fine. */
    write_npy_raw(p, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4), }", NULL, 0);
    assert_int_equal(gx_npy_read(p, &a, &err), 0);
    assert_int_equal(a.count, 0);
    gx_npy_free(&a);
}

static void expect_read_fail(const char *path, const char *want) {
    gx_npy_array a;
    gx_error err = {{0}};
    assert_int_equal(gx_npy_read(path, &a, &err), -1);
    if (getenv("GX_TEST_VERBOSE")) fprintf(stderr, "  %s\n", err.msg);
    assert_msg_contains(err.msg, path);
    assert_msg_contains(err.msg, want);
    assert_null(strchr(err.msg, '\n'));
    assert_null(a.data);
}

static void expect_dict_fail(const char *dict, const void *payload, size_t n, const char *want) {
    char p[600];
    write_npy_raw(test_path(p, sizeof p, "bad.npy"), 1, dict, payload, n);
    expect_read_fail(p, want);
}

static void test_malformed(void **state) {
    (void)state;
    char p[600];
    const float f[4] = {1, 2, 3, 4};
    expect_dict_fail("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", f, 16,
                     "Fortran order");
    expect_dict_fail("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", f, 4,
                     "unsupported .npy dtype '<f2'");
    expect_dict_fail("{'descr': '|f4', 'fortran_order': False, 'shape': (4,), }", f, 16,
                     "unsupported .npy dtype '|f4'");
    expect_dict_fail("{'descr': '<U4', 'fortran_order': False, 'shape': (1,), }", f, 16,
                     "unsupported .npy dtype '<U4'");
    expect_dict_fail("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }", f, 16,
                     "expected a string for descr");
    expect_dict_fail("{'descr': '<f4', 'fortran_order': False, }", f, 16, "lacks the 'shape' key");
    expect_dict_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}", f, 16,
                     "unexpected key 'x'");
    expect_dict_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", f, 16,
                     "shape must be a tuple of non-negative integers");
    expect_dict_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", f, 16,
                     "shape must be a tuple");
    expect_dict_fail("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (4,), }", f, 16,
                     "fortran_order must be True or False");
    expect_dict_fail("['descr', '<f4']", f, 16, "expected '{'");
    expect_dict_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), } junk", f, 16,
                     "text after the closing '}'");
    /* Sizes: truncated data, trailing bytes, absurd shapes (refused before allocating). */
    expect_dict_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f, 12,
                     "truncated: the header's shape and dtype '<f4' need 16 data bytes but the file "
                     "holds 12");
    expect_dict_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f, 16,
                     "trailing bytes");
    expect_dict_fail("{'descr': '<f8', 'fortran_order': False, 'shape': (2147483648, "
                     "2147483648), }",
                     f, 16, "shape is absurdly large (dimension 1 = 2147483648)");
    expect_dict_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", f, 16,
                     "truncated: the header's shape and dtype '<f4' need 4398046511104 data bytes");
    expect_dict_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
                     f, 16, "dimension 0 is absurdly large");
    expect_dict_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", f,
                     4, "more than 8 dimensions");
    /* The prefix: magic, version, header length. */
    test_write_file(test_path(p, sizeof p, "magic.npy"), "\x93NUMPZ\x01\x00\x10\x00{}", 12);
    expect_read_fail(p, "not a .npy file");
    test_write_file(p, "PK\x03\x04 a zip, not npy", 20);
    expect_read_fail(p, "not a .npy file");
    test_write_file(p, "\x93NUMPY\x04\x00\x10\x00{}", 12);
    expect_read_fail(p, "unsupported .npy format version 4.0");
    test_write_file(p, "\x93NUMPY\x01\x00\xff\xff{'descr'", 18);
    expect_read_fail(p, "header length 65535 is beyond the end of the file");
    test_write_file(p, "\x93NUMPY\x02\x00\xff\xff\xff\x7f{'descr'", 20);
    expect_read_fail(p, "header length 2147483647 is");
    test_write_file(p, "\x93NUMPY\x02\x00\x05", 9);
    expect_read_fail(p, "truncated: too short for a .npy header");
    test_write_file(p, "\x93NUMPY\x02\x00\x05\x00", 10);
    expect_read_fail(p, "truncated .npy header");
    test_write_file(p, "", 0);
    expect_read_fail(p, "too short");
    expect_read_fail(test_path(p, sizeof p, "no-such.npy"), "No such file");
    expect_read_fail(test_tmpdir(), "not a regular file");
}

static void test_write_failures(void **state) {
    (void)state;
    char dir[600], p[700];
    gx_error err = {{0}};
    float v[2] = {1, 2};
    int64_t shape[1] = {2};
    fresh_dir(dir, sizeof dir, "writefail");
    snprintf(p, sizeof p, "%s/no/such/dir/a.npy", dir);
    assert_int_equal(gx_npy_write(p, GX_NPY_F32, 1, shape, v, &err), -1);
    assert_msg_contains(err.msg, p);
    assert_msg_contains(err.msg, "No such file");
    snprintf(p, sizeof p, "%s/a.npy", dir);
    assert_int_equal(gx_npy_write(p, GX_NPY_F32, 9, shape, v, &err), -1);
    assert_msg_contains(err.msg, "invalid ndim 9");
    int64_t neg[1] = {-2};
    assert_int_equal(gx_npy_write(p, GX_NPY_F32, 1, neg, v, &err), -1);
    assert_msg_contains(err.msg, "negative dimension 0");
    assert_int_equal(gx_npy_write(p, GX_NPY_F32, 1, shape, NULL, &err), -1);
    assert_msg_contains(err.msg, "no data given");
    assert_int_equal(gx_npy_write(p, (gx_npy_dtype)42, 1, shape, v, &err), -1);
    assert_msg_contains(err.msg, "invalid dtype");
    /* A directory in the way of the final name: rename fails, the temporary file is removed. */
    snprintf(p, sizeof p, "%s/taken", dir);
    mkdir(p, 0777);
    char inner[800];
    snprintf(inner, sizeof inner, "%s/x", p);
    test_write_text(inner, "x");
    assert_int_equal(gx_npy_write(p, GX_NPY_F32, 1, shape, v, &err), -1);
    assert_msg_contains(err.msg, p);
    assert_int_equal(count_entries(dir), 1); /* only "taken" */
    /* Replacing an existing file works. */
    snprintf(p, sizeof p, "%s/replace.npy", dir);
    test_write_text(p, "old contents");
    assert_int_equal(gx_npy_write(p, GX_NPY_F32, 1, shape, v, &err), 0);
    gx_npy_array a;
    assert_int_equal(gx_npy_read(p, &a, &err), 0);
    assert_true(((float *)a.data)[1] == 2.0f);
    gx_npy_free(&a);
    assert_int_equal(count_entries(dir), 2);
}

static void test_dataset_images_and_labels(void **state) {
    (void)state;
    char xp[600], yp[600];
    gx_error err = {{0}};
    double x[2 * 2 * 3];
    for (int i = 0; i < 12; i++) x[i] = i * 0.5;
    int64_t xs[3] = {2, 2, 3}, ys[1] = {2};
    int64_t y[2] = {4, 1};
    assert_int_equal(gx_npy_write(test_path(xp, sizeof xp, "x.npy"), GX_NPY_F64, 3, xs, x, &err), 0);
    assert_int_equal(gx_npy_write(test_path(yp, sizeof yp, "y.npy"), GX_NPY_I64, 1, ys, y, &err), 0);
    gx_dataset ds;
    gx_dataset_init(&ds);
    assert_int_equal(gx_read_npy_dataset(xp, yp, 0, &ds, &err), 0);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.d, 6);
    assert_int_equal(ds.height, 2);
    assert_int_equal(ds.width, 3);
    assert_int_equal(ds.channels, 1);
    assert_true(ds.x[11] == 5.5f);
    assert_int_equal(ds.y[0], 4);
    assert_int_equal(ds.n_classes, 5);
    assert_string_equal(ds.source, xp);
    /* Float labels that are integral; uint8 2-D features; n_classes given. */
    unsigned char u[6] = {0, 128, 255, 1, 2, 3};
    int64_t us[2] = {2, 3};
    float fy[2] = {0.0f, 2.0f};
    assert_int_equal(gx_npy_write(xp, GX_NPY_U8, 2, us, u, &err), 0);
    assert_int_equal(gx_npy_write(yp, GX_NPY_F32, 1, ys, fy, &err), 0);
    assert_int_equal(gx_read_npy_dataset(xp, yp, 10, &ds, &err), 0);
    assert_int_equal(ds.height, 0);
    assert_true(ds.x[2] == 255.0f);
    assert_int_equal(ds.y[1], 2);
    assert_int_equal(ds.n_classes, 10);
    /* No labels. */
    assert_int_equal(gx_read_npy_dataset(xp, NULL, 0, &ds, &err), 0);
    assert_null(ds.y);
    gx_dataset_free(&ds);
}

static void expect_dataset_fail(const char *xp, const char *yp, int n_classes, const char *want) {
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    assert_int_equal(gx_dataset_alloc(&ds, 2, 2, 1, &err), 0); /* freed by the reader */
    assert_int_equal(gx_read_npy_dataset(xp, yp, n_classes, &ds, &err), -1);
    if (getenv("GX_TEST_VERBOSE")) fprintf(stderr, "  %s\n", err.msg);
    assert_msg_contains(err.msg, want);
    assert_null(strchr(err.msg, '\n'));
    assert_null(ds.x);
    assert_null(ds.y);
    assert_int_equal(ds.n, 0);
}

static void test_dataset_errors(void **state) {
    (void)state;
    char xp[600], yp[600], bp[600];
    gx_error err = {{0}};
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t xs[2] = {3, 2}, ys[1] = {3};
    test_path(xp, sizeof xp, "ex.npy");
    test_path(yp, sizeof yp, "ey.npy");
    test_path(bp, sizeof bp, "eb.npy");
    assert_int_equal(gx_npy_write(xp, GX_NPY_F32, 2, xs, x, &err), 0);
    /* NaN and Inf in features, named by row and column. */
    float bad[6] = {1, 2, 3, NAN, 5, 6};
    assert_int_equal(gx_npy_write(bp, GX_NPY_F32, 2, xs, bad, &err), 0);
    expect_dataset_fail(bp, NULL, 0, "eb.npy: non-finite value (NaN) at row 1, column 1");
    bad[3] = 0;
    bad[4] = -INFINITY;
    assert_int_equal(gx_npy_write(bp, GX_NPY_F32, 2, xs, bad, &err), 0);
    expect_dataset_fail(bp, NULL, 0, "non-finite value (-Inf) at row 2, column 0");
    double big[6] = {0, 0, 0, 0, 0, 1e300};
    assert_int_equal(gx_npy_write(bp, GX_NPY_F64, 2, xs, big, &err), 0);
    expect_dataset_fail(bp, NULL, 0, "value 1e+300 at row 2, column 1 is out of float32 range");
    /* Ranks. */
    assert_int_equal(gx_npy_write(bp, GX_NPY_F32, 1, ys, x, &err), 0);
    expect_dataset_fail(bp, NULL, 0, "features array has 1 dimensions; expected 2");
    int64_t zero[2] = {0, 2};
    assert_int_equal(gx_npy_write(bp, GX_NPY_F32, 2, zero, x, &err), 0);
    expect_dataset_fail(bp, NULL, 0, "features array is empty");
    /* Labels. */
    float frac[3] = {0, 1.5f, 2};
    assert_int_equal(gx_npy_write(yp, GX_NPY_F32, 1, ys, frac, &err), 0);
    expect_dataset_fail(xp, yp, 0, "ey.npy: label at row 1 is 1.5; expected a non-negative integer");
    int32_t neg[3] = {0, 1, -3};
    assert_int_equal(gx_npy_write(yp, GX_NPY_I32, 1, ys, neg, &err), 0);
    expect_dataset_fail(xp, yp, 0, "label at row 2 is -3");
    int32_t big_label[3] = {0, 1, 5};
    assert_int_equal(gx_npy_write(yp, GX_NPY_I32, 1, ys, big_label, &err), 0);
    expect_dataset_fail(xp, yp, 3, "label at row 2 is 5; expected a class index below 3");
    int64_t huge_label[3] = {0, INT64_MAX, 1};
    assert_int_equal(gx_npy_write(yp, GX_NPY_I64, 1, ys, huge_label, &err), 0);
    expect_dataset_fail(xp, yp, 0, "label at row 1");
    int64_t two[1] = {2};
    assert_int_equal(gx_npy_write(yp, GX_NPY_I32, 1, two, neg, &err), 0);
    expect_dataset_fail(xp, yp, 0, "ey.npy: has 2 labels but");
    int64_t mat[2] = {3, 2};
    assert_int_equal(gx_npy_write(yp, GX_NPY_F32, 2, mat, x, &err), 0);
    expect_dataset_fail(xp, yp, 0, "labels array has 2 dimensions; expected a vector of 3 labels");
    char missing[600];
    expect_dataset_fail(xp, test_path(missing, sizeof missing, "gone.npy"), 0, "No such file");
    expect_dataset_fail(missing, NULL, 0, "gone.npy: cannot open");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_round_trip_bit_identical),
        cmocka_unit_test(test_numpy_header_bytes),
        cmocka_unit_test(test_big_endian_and_versions),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_write_failures),
        cmocka_unit_test(test_dataset_images_and_labels),
        cmocka_unit_test(test_dataset_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
