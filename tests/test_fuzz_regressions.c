/* Regression tests for what the fuzz targets of fuzz/ found (docs/RELIABILITY.md, "Fuzzing").
 * Each test writes its own input, runs the reader and checks that it fails cleanly with a
 * one-line message naming the problem (under AddressSanitizer in `make test`'s second pass). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "data/readers.h"
#include "io/safetensors.h"
#include "models/checkpoint.h"
#include "models/classifier_io.h"
#include "models/ssdgm_io.h"
#include "test_util.h"

#define assert_msg_contains(msg, sub)                                                  \
    do {                                                                               \
        if (!strstr((msg), (sub))) {                                                   \
            print_error("message \"%s\" does not contain \"%s\"\n", (msg), (sub));     \
            fail();                                                                    \
        }                                                                              \
    } while (0)

static void assert_one_line(const char *msg) {
    assert_true(msg[0] != '\0');
    assert_null(strchr(msg, '\n'));
    assert_null(strchr(msg, '\r'));
}

/* fuzz_csv: a quoted field holding a line break was quoted in the error message, which then
 * spanned two lines. */
static void test_csv_line_break_in_quoted_value(void **state) {
    (void)state;
    char path[600];
    test_path(path, sizeof path, "quoted.csv");
    test_write_text(path, "a,b\n1,\"2\r\nx\"\n");
    gx_dataset ds;
    gx_error err;
    gx_dataset_init(&ds);
    assert_int_equal(gx_read_csv(path, NULL, &ds, NULL, &err), -1);
    assert_one_line(err.msg);
    assert_msg_contains(err.msg, "line 2, column 'b': '2  x' is not a number");
    assert_null(ds.x);
}

/* fuzz_npy: a header key holding a line break was quoted in the error message. */
static void test_npy_line_break_in_header_key(void **state) {
    (void)state;
    const char *dict = "{'descr': '<f4', 'fortran_o\nrder': False, 'shape': (1,), }\n";
    unsigned char buf[128] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
    size_t hl = strlen(dict);
    buf[8] = (unsigned char)hl;
    memcpy(buf + 10, dict, hl);
    memset(buf + 10 + hl, 0, 4); /* one float32 */
    char path[600];
    test_path(path, sizeof path, "key.npy");
    test_write_file(path, buf, 10 + hl + 4);
    gx_npy_array a;
    gx_error err;
    assert_int_equal(gx_npy_read(path, &a, &err), -1);
    assert_one_line(err.msg);
    assert_msg_contains(err.msg, "unexpected key 'fortran_o rder'");
    assert_null(a.data);
}

/* fuzz_model: a model file of a few hundred bytes whose config claims an input block of
 * 2^24 x 2^20 weights made the loader allocate them (4 x 64 TiB, or a few GB the machine then
 * fills with zeros) before it looked at the tensors. */
static void test_model_config_larger_than_file(void **state) {
    (void)state;
    const char *config =
        "{\"preset\":\"m2\",\"n_classes\":2,\"z_dim\":2,\"enc\":[1048576,2],\"dec\":[2],"
        "\"lat_hidden\":0,\"lat_y\":true,\"cls_hidden\":0,\"activation\":\"softplus\","
        "\"batchnorm\":false,\"prior_scale\":0,\"domains\":[{\"name\":\"d\",\"n_in\":16777216,"
        "\"likelihood\":\"bernoulli\",\"height\":0,\"width\":0,\"channels\":0}]}";
    float one = 1;
    int64_t shape[1] = {1};
    gx_error err;
    gx_st_writer *w = gx_st_writer_new(&err);
    assert_non_null(w);
    gx_st_writer_add(w, "enc.in.d.weight", GX_ST_F32, 1, shape, &one, &err);
    gx_st_writer_meta(w, "format", GX_SSDGM_FORMAT, &err);
    gx_st_writer_meta(w, "format_version", GX_SSDGM_FORMAT_VERSION, &err);
    gx_st_writer_meta(w, "config", config, &err);
    gx_st_writer_meta(w, "class_names", "[\"a\",\"b\"]", &err);
    char path[600];
    test_path(path, sizeof path, "huge.safetensors");
    assert_int_equal(gx_st_write(w, path, &err), 0);
    gx_st_writer_free(w);
    gx_ssdgm m;
    gx_model_info info;
    assert_int_equal(gx_ssdgm_load(path, &m, &info, &err), -1);
    assert_one_line(err.msg);
    assert_msg_contains(err.msg, "huge.safetensors: model: the configuration describes");
    assert_msg_contains(err.msg, "but only 1 values are given");
}

/* Found with fuzz_model's config mode: a config number beyond int's range (1e300) was converted
 * to int before its range was checked, which is undefined behaviour (UBSan:
 * float-cast-overflow). */
static void test_model_config_number_beyond_int(void **state) {
    (void)state;
    const char *config =
        "{\"preset\":\"m2\",\"n_classes\":1e300,\"z_dim\":2,\"enc\":[3,2],\"dec\":[3],"
        "\"lat_hidden\":0,\"lat_y\":true,\"cls_hidden\":0,\"activation\":\"softplus\","
        "\"batchnorm\":false,\"prior_scale\":0,\"domains\":[{\"name\":\"d\",\"n_in\":4,"
        "\"likelihood\":\"bernoulli\",\"height\":0,\"width\":0,\"channels\":0}]}";
    gx_ssdgm_config c;
    gx_error err;
    assert_int_equal(gx_ssdgm_config_from_json(config, &c, &err), -1);
    assert_one_line(err.msg);
    assert_msg_contains(err.msg, "'n_classes' must be an integer in [2, 64]");
}

/* Issue 20: a config whose image shape (height 1000 x 28 x 1) does not match its n_in of 784
 * loaded, and `genxfer sample` then drew 28000 values per row from rows of 784 (a heap overflow
 * in the PNG grid). The shape must cover n_in exactly; features (all 0) still load. */
static void test_model_config_image_shape_against_n_in(void **state) {
    (void)state;
    static const char *const shapes[] = {"\"height\":1000,\"width\":28,\"channels\":1",
                                         "\"height\":28,\"width\":0,\"channels\":1"};
    for (int i = 0; i < 2; i++) {
        char config[600];
        snprintf(config, sizeof config,
                 "{\"preset\":\"m2\",\"n_classes\":2,\"z_dim\":2,\"enc\":[3,2],\"dec\":[3],"
                 "\"lat_hidden\":0,\"lat_y\":true,\"cls_hidden\":0,\"activation\":\"softplus\","
                 "\"batchnorm\":false,\"prior_scale\":0,\"domains\":[{\"name\":\"d\",\"n_in\":784,"
                 "\"likelihood\":\"bernoulli\",%s}]}", shapes[i]);
        gx_ssdgm_config c;
        gx_error err;
        assert_int_equal(gx_ssdgm_config_from_json(config, &c, &err), -1);
        assert_one_line(err.msg);
        assert_msg_contains(err.msg, "does not match its n_in of 784");
    }
    gx_ssdgm_config c;
    gx_error err;
    const char *ok =
        "{\"preset\":\"m2\",\"n_classes\":2,\"z_dim\":2,\"enc\":[3,2],\"dec\":[3],"
        "\"lat_hidden\":0,\"lat_y\":true,\"cls_hidden\":0,\"activation\":\"softplus\","
        "\"batchnorm\":false,\"prior_scale\":0,\"domains\":[{\"name\":\"d\",\"n_in\":784,"
        "\"likelihood\":\"bernoulli\",\"height\":28,\"width\":28,\"channels\":1},"
        "{\"name\":\"f\",\"n_in\":5,\"likelihood\":\"gaussian\",\"height\":0,\"width\":0,"
        "\"channels\":0}]}";
    assert_int_equal(gx_ssdgm_config_from_json(ok, &c, &err), 0);
}

/* Issue 20: ten classes all named "a" loaded (predict then wrote ten p_a columns), and escape
 * sequences in class names reached the terminal raw. Names must be distinct and printable. */
static void test_model_class_names_distinct_and_printable(void **state) {
    (void)state;
    static const char *const bad[] = {"[\"a\",\"b\",\"a\"]", "[\"a\",\"\\u001b[2J\",\"c\"]",
                                      "[\"a\",\"\",\"c\"]"};
    static const char *const want[] = {"class names 0 and 2 are both 'a'",
                                       "class name 1 is empty or holds a control character",
                                       "class name 1 is empty or holds a control character"};
    for (int i = 0; i < 4; i++) {
        float one = 1;
        int64_t shape[1] = {1};
        gx_error err;
        gx_st_writer *w = gx_st_writer_new(&err);
        assert_non_null(w);
        gx_st_writer_add(w, "t", GX_ST_F32, 1, shape, &one, &err);
        gx_st_writer_meta(w, "class_names", i < 3 ? bad[i] : "[\"a\",\"\u00e9t\u00e9\",\"c d\"]",
                          &err);
        char path[600];
        test_path(path, sizeof path, "names.safetensors");
        assert_int_equal(gx_st_write(w, path, &err), 0);
        gx_st_writer_free(w);
        gx_st_file *f;
        assert_int_equal(gx_st_open(path, &f, &err), 0);
        gx_model_info info;
        memset(&info, 0, sizeof info);
        int rc = gx_model_info_read_classes(f, 3, &info, &err);
        gx_st_close(f);
        if (i < 3) {
            assert_int_equal(rc, -1);
            assert_one_line(err.msg);
            assert_msg_contains(err.msg, want[i]);
        } else { /* UTF-8 and spaces are fine */
            assert_int_equal(rc, 0);
            assert_string_equal(info.class_names[1], "\xc3\xa9t\xc3\xa9");
            gx_model_info_free(&info);
        }
    }
}

/* Found while writing fuzz_classifier: a classifier file of a few hundred bytes whose config
 * claims an input of 2^24 features and 7 classes made gx_classifier_load allocate and zero the
 * head's 117 million parameters four times over (1.9 GB, 18 to 27 s under ASan) before it found
 * head.weight missing. */
static void test_classifier_config_larger_than_file(void **state) {
    (void)state;
    const char *config = "{\"arch\":\"fc\",\"input\":[1,1,16777216],\"image\":false,"
                         "\"n_classes\":7,\"bn_momentum\":0.1}";
    float bias[7] = {0};
    int64_t shape[1] = {7};
    gx_error err;
    gx_st_writer *w = gx_st_writer_new(&err);
    assert_non_null(w);
    gx_st_writer_add(w, "head.bias", GX_ST_F32, 1, shape, bias, &err);
    gx_st_writer_meta(w, "format", GX_CLASSIFIER_FORMAT, &err);
    gx_st_writer_meta(w, "format_version", GX_CLASSIFIER_FORMAT_VERSION, &err);
    gx_st_writer_meta(w, "config", config, &err);
    gx_st_writer_meta(w, "class_names", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\"]", &err);
    char path[600];
    test_path(path, sizeof path, "huge_classifier.safetensors");
    assert_int_equal(gx_st_write(w, path, &err), 0);
    gx_st_writer_free(w);
    gx_classifier m;
    gx_model_info info;
    assert_int_equal(gx_classifier_load(path, &m, &info, &err), -1);
    assert_one_line(err.msg);
    assert_msg_contains(err.msg, "huge_classifier.safetensors: the architecture describes "
                                 "117440519 parameters, more than the limit of 65543");
    assert_null(m.params.data);
}

/* fuzz_checkpoint (progress mode, after 215 000 runs): an integer of the progress JSON beyond
 * int64's range ("epochs": 3.3e111) was converted to int64 before its range was checked, which is
 * undefined behaviour (UBSan: float-cast-overflow in progress_parse). The message was the same
 * on x86 (the conversion gave INT64_MIN); the undefined conversion itself fails the sanitizer
 * pass, whose SANFLAGS add float-cast-overflow to gcc's -fsanitize=undefined (which leaves it
 * out). */
static void test_checkpoint_progress_number_beyond_int64(void **state) {
    (void)state;
    gx_error err;
    gx_st_writer *w = gx_st_writer_new(&err);
    assert_non_null(w);
    gx_st_writer_meta(w, "format", GX_CKPT_FORMAT, &err);
    gx_st_writer_meta(w, "format_version", GX_CKPT_FORMAT_VERSION, &err);
    gx_st_writer_meta(w, "progress", "{\"epochs\":3.3e111,\"steps_per_epoch\":2}", &err);
    char path[600];
    test_path(path, sizeof path, "big_epochs.safetensors");
    assert_int_equal(gx_st_write(w, path, &err), 0);
    gx_st_writer_free(w);
    gx_ckpt_state s;
    memset(&s, 0, sizeof s);
    s.prog.epochs = 3, s.prog.steps_per_epoch = 2;
    assert_int_equal(gx_ckpt_read(path, &s, &err), -1);
    assert_one_line(err.msg);
    assert_msg_contains(err.msg, "big_epochs.safetensors: metadata 'progress': 'epochs' must be an "
                                 "integer number");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_line_break_in_quoted_value),
        cmocka_unit_test(test_npy_line_break_in_header_key),
        cmocka_unit_test(test_model_config_larger_than_file),
        cmocka_unit_test(test_model_config_number_beyond_int),
        cmocka_unit_test(test_model_config_image_shape_against_n_in),
        cmocka_unit_test(test_model_class_names_distinct_and_printable),
        cmocka_unit_test(test_classifier_config_larger_than_file),
        cmocka_unit_test(test_checkpoint_progress_number_beyond_int64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
