/* Tests for the IDX reader: plain and gzip'd fixtures, every kind of malformed header or data,
 * and the real MNIST files when ../shared/data is present. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "data/readers.h"
#include "test_util.h"

#define assert_msg_contains(msg, sub)                                                  \
    do {                                                                               \
        if (!strstr((msg), (sub))) {                                                   \
            print_error("message \"%s\" does not contain \"%s\"\n", (msg), (sub));     \
            fail();                                                                    \
        }                                                                              \
    } while (0)

/* Builds IDX bytes: header (type, dims) then the payload. Returns the length. */
static size_t idx_bytes(unsigned char *buf, int type, int ndim, const uint32_t *dims,
                        const unsigned char *payload, size_t npayload) {
    size_t n = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = (unsigned char)type;
    buf[n++] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++) {
        buf[n++] = (unsigned char)(dims[i] >> 24);
        buf[n++] = (unsigned char)(dims[i] >> 16);
        buf[n++] = (unsigned char)(dims[i] >> 8);
        buf[n++] = (unsigned char)dims[i];
    }
    if (npayload) memcpy(buf + n, payload, npayload);
    return n + npayload;
}

static void write_gz(const char *path, const void *data, size_t n) {
    gzFile g = gzopen(path, "wb9");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, data, (unsigned)n), (int)n);
    assert_int_equal(gzclose(g), Z_OK);
}

/* Three 2x2 images with pixel values 0..11, labels 2, 0, 1. */
static const unsigned char pixels[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255};
static const unsigned char labels3[3] = {2, 0, 1};

static void write_fixture(const char *img_name, const char *lab_name, int gz) {
    unsigned char buf[256];
    char p[600];
    uint32_t idims[3] = {3, 2, 2}, ldims[1] = {3};
    size_t n = idx_bytes(buf, 0x08, 3, idims, pixels, 12);
    test_path(p, sizeof p, img_name);
    if (gz) write_gz(p, buf, n);
    else test_write_file(p, buf, n);
    n = idx_bytes(buf, 0x08, 1, ldims, labels3, 3);
    test_path(p, sizeof p, lab_name);
    if (gz) write_gz(p, buf, n);
    else test_write_file(p, buf, n);
}

static void check_fixture(const gx_dataset *ds) {
    assert_int_equal(ds->n, 3);
    assert_int_equal(ds->d, 4);
    assert_int_equal(ds->height, 2);
    assert_int_equal(ds->width, 2);
    assert_int_equal(ds->channels, 1);
    for (int i = 0; i < 12; i++) assert_true(ds->x[i] == (float)pixels[i]);
    assert_non_null(ds->y);
    assert_int_equal(ds->y[0], 2);
    assert_int_equal(ds->y[1], 0);
    assert_int_equal(ds->y[2], 1);
    assert_int_equal(ds->n_classes, 3);
}

static void test_plain_fixture(void **state) {
    (void)state;
    char a[600], b[600];
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    write_fixture("plain-images.idx", "plain-labels.idx", 0);
    assert_int_equal(gx_read_idx(test_path(a, sizeof a, "plain-images.idx"),
                                 test_path(b, sizeof b, "plain-labels.idx"), 0, &ds, &err),
                     0);
    check_fixture(&ds);
    assert_string_equal(ds.source, a);
    gx_dataset_free(&ds);
}

static void test_gzip_fixture(void **state) {
    (void)state;
    char a[600], b[600];
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    /* Names without .gz: detection is by content. */
    write_fixture("gz-images", "gz-labels", 1);
    assert_int_equal(gx_read_idx(test_path(a, sizeof a, "gz-images"),
                                 test_path(b, sizeof b, "gz-labels"), 0, &ds, &err),
                     0);
    check_fixture(&ds);
    /* n_classes given: larger class count kept. */
    assert_int_equal(gx_read_idx(a, b, 10, &ds, &err), 0);
    assert_int_equal(ds.n_classes, 10);
    /* No labels. */
    assert_int_equal(gx_read_idx(a, NULL, 0, &ds, &err), 0);
    assert_null(ds.y);
    assert_int_equal(ds.n, 3);
    gx_dataset_free(&ds);
}

static void test_idx2_has_no_image_shape(void **state) {
    (void)state;
    unsigned char buf[64];
    char p[600];
    uint32_t dims[2] = {2, 6};
    size_t n = idx_bytes(buf, 0x08, 2, dims, pixels, 12);
    test_write_file(test_path(p, sizeof p, "idx2"), buf, n);
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    assert_int_equal(gx_read_idx(p, NULL, 0, &ds, &err), 0);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.d, 6);
    assert_int_equal(ds.height, 0);
    assert_true(ds.x[11] == 255.0f);
    /* idx4: n x h x w x c */
    uint32_t dims4[4] = {1, 2, 2, 3};
    n = idx_bytes(buf, 0x08, 4, dims4, pixels, 12);
    test_write_file(test_path(p, sizeof p, "idx4"), buf, n);
    assert_int_equal(gx_read_idx(p, NULL, 0, &ds, &err), 0);
    assert_int_equal(ds.n, 1);
    assert_int_equal(ds.d, 12);
    assert_int_equal(ds.height, 2);
    assert_int_equal(ds.width, 2);
    assert_int_equal(ds.channels, 3);
    gx_dataset_free(&ds);
}

/* Writes `bytes` to name (gzip'd when gz) and expects the images reader to fail with `want`. */
static void expect_images_fail(const char *name, const void *bytes, size_t n, int gz,
                               const char *labels, const char *want) {
    char p[600];
    test_path(p, sizeof p, name);
    if (gz) write_gz(p, bytes, n);
    else test_write_file(p, bytes, n);
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    /* A dataset that holds something: the reader must free it. */
    assert_int_equal(gx_dataset_alloc(&ds, 2, 2, 1, &err), 0);
    assert_int_equal(gx_read_idx(p, labels, 0, &ds, &err), -1);
    if (getenv("GX_TEST_VERBOSE")) fprintf(stderr, "  %s\n", err.msg);
    assert_msg_contains(err.msg, p);
    assert_msg_contains(err.msg, want);
    assert_null(strchr(err.msg, '\n'));
    assert_null(ds.x);
    assert_null(ds.y);
    assert_int_equal(ds.n, 0);
}

static void test_wrong_magic(void **state) {
    (void)state;
    const char text[] = "hello, this is not an IDX file at all";
    expect_images_fail("magic", text, sizeof text - 1, 0, NULL, "not an IDX file");
    expect_images_fail("magic.gz", text, sizeof text - 1, 1, NULL, "not an IDX file");
}

static void test_wrong_type(void **state) {
    (void)state;
    unsigned char buf[128];
    uint32_t dims[3] = {1, 2, 2};
    float payload[4] = {0};
    size_t n = idx_bytes(buf, 0x0D, 3, dims, (const unsigned char *)payload, sizeof payload);
    expect_images_fail("float.idx", buf, n, 0, NULL, "type code 0x0d (float32) is not supported");
    n = idx_bytes(buf, 0x42, 3, dims, (const unsigned char *)payload, 4);
    expect_images_fail("weird.idx", buf, n, 0, NULL, "unknown IDX type code 0x42");
}

static void test_wrong_ndim(void **state) {
    (void)state;
    unsigned char buf[64];
    uint32_t dims[1] = {4};
    size_t n = idx_bytes(buf, 0x08, 1, dims, pixels, 4);
    expect_images_fail("ndim1.idx", buf, n, 0, NULL, "has 1 dimensions; expected 2 to 4");
    /* A labels file with 3 dimensions. */
    char lp[600];
    uint32_t idims[3] = {3, 2, 2};
    n = idx_bytes(buf, 0x08, 3, idims, pixels, 12);
    test_write_file(test_path(lp, sizeof lp, "labels-3d.idx"), buf, n);
    char ip[600];
    test_write_file(test_path(ip, sizeof ip, "images-ok.idx"), buf, n);
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    assert_int_equal(gx_read_idx(ip, lp, 0, &ds, &err), -1);
    assert_msg_contains(err.msg, lp);
    assert_msg_contains(err.msg, "labels file has 3 dimensions; expected 1");
    assert_null(ds.x);
}

static void test_absurd_dims_plain(void **state) {
    (void)state;
    unsigned char buf[64];
    uint32_t dims[3] = {1u << 31, 1u << 31, 28};
    size_t n = idx_bytes(buf, 0x08, 3, dims, pixels, 12);
    expect_images_fail("absurd.idx", buf, n, 0, NULL, "2147483648 x 2147483648 x 28");
    uint32_t dims2[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}; /* product overflows 64 bits */
    n = idx_bytes(buf, 0x08, 3, dims2, pixels, 12);
    expect_images_fail("overflow.idx", buf, n, 0, NULL, "larger than the file");
}

static void test_absurd_dims_gzip(void **state) {
    (void)state;
    unsigned char buf[64];
    uint32_t dims[3] = {1u << 31, 1u << 31, 1};
    size_t n = idx_bytes(buf, 0x08, 3, dims, pixels, 12);
    expect_images_fail("absurd.gz", buf, n, 1, NULL, "limit for gzip'd files");
    /* Under the cap but more than deflate could expand the file to. */
    uint32_t dims2[3] = {1000000, 28, 28};
    n = idx_bytes(buf, 0x08, 3, dims2, pixels, 12);
    expect_images_fail("big.gz", buf, n, 1, NULL, "more than a gzip file of");
    /* Plausible for the file size (incompressible bytes) but far more than the stream holds:
     * a clean truncation error after reading what is there. */
    size_t m = 200000;
    unsigned char *big = malloc(m);
    assert_non_null(big);
    uint32_t dims3[3] = {100000, 32, 32};
    idx_bytes(big, 0x08, 3, dims3, NULL, 0);
    uint32_t s = 12345;
    for (size_t i = 16; i < m; i++) {
        s = s * 1103515245u + 12345u;
        big[i] = (unsigned char)(s >> 16);
    }
    expect_images_fail("big-random.gz", big, m, 1, NULL,
                       "truncated: the uncompressed data end after 200000 bytes");
    free(big);
}

/* Issue 20's bomb: a valid gzip'd file of zeros, a few hundred KB, declaring more than the
 * process may hold, is refused before anything is read (here under a 512 MB address-space limit,
 * in a child process; not under AddressSanitizer, whose shadow memory needs far more). */
static void test_bomb_refused_before_reading(void **state) {
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip();
#else
    char p[600];
    test_path(p, sizeof p, "bomb-idx3-ubyte.gz");
    gzFile g = gzopen(p, "wb9");
    assert_non_null(g);
    unsigned char head[16] = {0, 0, 8, 3, 0, 3, 0x0d, 0x40, 0, 0, 0, 28, 0, 0, 0, 28}; /* 200000 */
    assert_int_equal(gzwrite(g, head, 16), 16);
    static unsigned char zeros[28 * 28 * 1000];
    for (int i = 0; i < 200; i++) assert_int_equal(gzwrite(g, zeros, sizeof zeros), (int)sizeof zeros);
    assert_int_equal(gzclose(g), Z_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {(rlim_t)512 << 20, (rlim_t)512 << 20};
        if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(3);
        gx_dataset ds;
        gx_error err = {{0}};
        gx_dataset_init(&ds);
        if (gx_read_idx(p, NULL, 0, &ds, &err) == 0) _exit(1);
        _exit(strstr(err.msg, "200000 x 784 images (bytes, then float32) would take") &&
                      strstr(err.msg, "more than the 512.0 MB this machine has")
                  ? 0
                  : 2);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
#endif
}

static void test_zero_dimension(void **state) {
    (void)state;
    unsigned char buf[64];
    uint32_t dims[3] = {3, 0, 2};
    size_t n = idx_bytes(buf, 0x08, 3, dims, pixels, 0);
    expect_images_fail("zero.idx", buf, n, 0, NULL, "dimension 1 is 0");
}

static void test_truncated(void **state) {
    (void)state;
    unsigned char buf[64];
    uint32_t dims[3] = {3, 2, 2};
    size_t n = idx_bytes(buf, 0x08, 3, dims, pixels, 12);
    expect_images_fail("trunc.idx", buf, n - 5, 0, NULL, "truncated");
    expect_images_fail("trunc.gz", buf, n - 5, 1, NULL, "truncated");
    /* Truncated inside the header. */
    expect_images_fail("trunc-head.idx", buf, 9, 0, NULL, "truncated");
    expect_images_fail("trunc-magic.idx", buf, 2, 0, NULL, "truncated");
    expect_images_fail("empty.idx", buf, 0, 0, NULL, "truncated");
    /* Trailing bytes. */
    unsigned char more[80];
    memcpy(more, buf, n);
    memset(more + n, 7, 3);
    expect_images_fail("trailing.idx", more, n + 3, 0, NULL, "trailing bytes");
    expect_images_fail("trailing.gz", more, n + 3, 1, NULL, "trailing bytes");
}

static void test_truncated_gzip_stream(void **state) {
    (void)state;
    /* A gzip file cut in the middle of the compressed stream. */
    unsigned char raw[4096 + 16];
    uint32_t dims[3] = {4, 32, 32};
    unsigned char payload[4096];
    for (int i = 0; i < 4096; i++) payload[i] = (unsigned char)(i * 7919 % 251);
    size_t n = idx_bytes(raw, 0x08, 3, dims, payload, sizeof payload);
    char full[600];
    write_gz(test_path(full, sizeof full, "full.gz"), raw, n);
    FILE *f = fopen(full, "rb");
    assert_non_null(f);
    unsigned char gz[8192];
    size_t gn = fread(gz, 1, sizeof gz, f);
    fclose(f);
    assert_true(gn > 100);
    expect_images_fail("cut.gz", gz, gn / 2, 0, NULL, "truncated");
    /* Corrupted bytes in the middle of the stream. */
    for (size_t i = 20; i < gn - 20; i += 3) gz[i] ^= 0x5a;
    char p[600];
    test_write_file(test_path(p, sizeof p, "corrupt.gz"), gz, gn);
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    assert_int_equal(gx_read_idx(p, NULL, 0, &ds, &err), -1);
    assert_msg_contains(err.msg, p);
    assert_null(ds.x);
}

static void test_labels_mismatch_and_range(void **state) {
    (void)state;
    unsigned char buf[64];
    char ip[600], lp[600];
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    write_fixture("m-images", "m-labels", 0);
    test_path(ip, sizeof ip, "m-images");
    /* Two labels for three images. */
    uint32_t ldims[1] = {2};
    size_t n = idx_bytes(buf, 0x08, 1, ldims, labels3, 2);
    test_write_file(test_path(lp, sizeof lp, "two-labels"), buf, n);
    assert_int_equal(gx_read_idx(ip, lp, 0, &ds, &err), -1);
    assert_msg_contains(err.msg, "has 2 labels but");
    assert_msg_contains(err.msg, "has 3 images");
    assert_null(ds.x);
    /* Label 2 with n_classes = 2. */
    assert_int_equal(gx_read_idx(ip, test_path(lp, sizeof lp, "m-labels"), 2, &ds, &err), -1);
    assert_msg_contains(err.msg, "label at row 0 is 2; expected a class index below 2");
    assert_null(ds.x);
    /* Labels stored as int32. */
    int32_t wide[3] = {0, 1, 2};
    uint32_t ldims3[1] = {3};
    n = idx_bytes(buf, 0x0C, 1, ldims3, (const unsigned char *)wide, sizeof wide);
    test_write_file(test_path(lp, sizeof lp, "int-labels"), buf, n);
    assert_int_equal(gx_read_idx(ip, lp, 0, &ds, &err), -1);
    assert_msg_contains(err.msg, "type code 0x0c (int32)");
    assert_null(ds.x);
}

static void test_missing_file(void **state) {
    (void)state;
    char p[600], lp[600];
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    assert_int_equal(gx_read_idx(test_path(p, sizeof p, "no-such-file"), NULL, 0, &ds, &err), -1);
    assert_msg_contains(err.msg, p);
    assert_msg_contains(err.msg, "No such file");
    write_fixture("x-images", "x-labels", 0);
    assert_int_equal(gx_read_idx(test_path(p, sizeof p, "x-images"),
                                 test_path(lp, sizeof lp, "no-labels"), 0, &ds, &err),
                     -1);
    assert_msg_contains(err.msg, lp);
    assert_msg_contains(err.msg, "No such file");
    assert_null(ds.x);
    assert_int_equal(gx_read_idx(test_tmpdir(), NULL, 0, &ds, &err), -1);
    assert_msg_contains(err.msg, "not a regular file");
}

static void test_real_mnist(void **state) {
    (void)state;
    const char *dir = test_data_dir();
    if (!dir) skip();
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/mnist/train-images-idx3-ubyte.gz", dir);
    snprintf(b, sizeof b, "%s/mnist/train-labels-idx1-ubyte.gz", dir);
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    if (gx_read_idx(a, b, 0, &ds, &err) != 0) {
        print_error("%s\n", err.msg);
        fail();
    }
    assert_int_equal(ds.n, 60000);
    assert_int_equal(ds.d, 784);
    assert_int_equal(ds.height, 28);
    assert_int_equal(ds.width, 28);
    assert_int_equal(ds.channels, 1);
    assert_int_equal(ds.n_classes, 10);
    int64_t counts[10];
    const int64_t want[10] = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
    assert_int_equal(gx_dataset_class_counts(&ds, counts), 0);
    for (int k = 0; k < 10; k++) assert_int_equal(counts[k], want[k]);
    float mx = 0;
    for (int64_t i = 0; i < ds.n * ds.d; i++)
        if (ds.x[i] > mx) mx = ds.x[i];
    assert_true(mx == 255.0f);
    /* Test set and a mismatched pair (train images, test labels). */
    snprintf(b, sizeof b, "%s/mnist/t10k-labels-idx1-ubyte.gz", dir);
    assert_int_equal(gx_read_idx(a, b, 0, &ds, &err), -1);
    assert_msg_contains(err.msg, "has 10000 labels but");
    snprintf(a, sizeof a, "%s/mnist/t10k-images-idx3-ubyte.gz", dir);
    assert_int_equal(gx_read_idx(a, b, 10, &ds, &err), 0);
    assert_int_equal(ds.n, 10000);
    gx_dataset_free(&ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_fixture),
        cmocka_unit_test(test_gzip_fixture),
        cmocka_unit_test(test_idx2_has_no_image_shape),
        cmocka_unit_test(test_wrong_magic),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_wrong_ndim),
        cmocka_unit_test(test_absurd_dims_plain),
        cmocka_unit_test(test_absurd_dims_gzip),
        cmocka_unit_test(test_bomb_refused_before_reading),
        cmocka_unit_test(test_zero_dimension),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_truncated_gzip_stream),
        cmocka_unit_test(test_labels_mismatch_and_range),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_real_mnist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
