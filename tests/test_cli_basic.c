/* End-to-end tests of the genxfer tool ($GENXFER_BIN, else build/genxfer): the top-level options,
 * `genxfer data` on the shared datasets (sizes and class counts known from the datasets' own
 * documentation) and on small tables written here, one malformed fixture per reader kind (exit 1,
 * one line "genxfer: error: ..." naming the file), and `genxfer info` on a checkpoint written here
 * and on damaged files. */
#include <cJSON.h>
#include <hdf5.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include <cmocka.h>

#include "io/safetensors.h"

#include "test_cli_util.h"

/* Parses OUT as JSON (a `genxfer data --json` array); caller deletes. */
static cJSON *out_json(void) {
    char *s = slurp(OUT);
    cJSON *j = cJSON_Parse(s);
    if (!j) print_error("not JSON:\n%s\n", s);
    free(s);
    assert_non_null(j);
    return j;
}

static double jnum(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) {
        print_error("no number '%s'\n", key);
        fail();
    }
    return v->valuedouble;
}

/* The dataset object of a one-spec --json run: checks n, d and the class counts in order. */
static void check_json_dataset(const cJSON *all, double n, double d, const int *counts, int K) {
    assert_true(cJSON_IsArray(all));
    assert_int_equal(cJSON_GetArraySize(all), 1);
    const cJSON *o = cJSON_GetArrayItem(all, 0);
    assert_true(jnum(o, "n") == n);
    assert_true(jnum(o, "d") == d);
    assert_true(jnum(o, "n_classes") == K);
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(o, "classes");
    assert_int_equal(cJSON_GetArraySize(cls), K);
    for (int k = 0; k < K; k++) {
        const cJSON *c = cJSON_GetArrayItem(cls, k);
        if (jnum(c, "count") != counts[k]) {
            print_error("class %d: count %g, expected %d\n", k, jnum(c, "count"), counts[k]);
            fail();
        }
    }
}

/* ---- the top level ------------------------------------------------------------------------- */

static void test_help_version(void **state) {
    (void)state;
    assert_int_equal(run("--help"), 0);
    char *out = slurp(OUT);
    assert_contains(out, "usage: genxfer");
    assert_contains(out, "data");
    assert_contains(out, "info");
    free(out);
    assert_int_equal(run("--version"), 0);
    out = slurp(OUT);
    assert_true(strncmp(out, "genxfer ", 8) == 0);
    free(out);
}

static void test_unknown_command(void **state) {
    (void)state;
    assert_int_equal(run("frobnicate"), 2);
    char *err = slurp(ERR);
    assert_contains(err, "frobnicate");
    free(err);
    assert_int_equal(run(""), 2);
}

static void test_usage_errors(void **state) {
    (void)state;
    assert_int_equal(run("data --help"), 0);
    char *out = slurp(OUT);
    assert_contains(out, "usage: genxfer data");
    assert_contains(out, "--json");
    assert_contains(out, "--max-features");
    assert_contains(out, "Dataset specs"); /* the spec grammar */
    free(out);
    assert_int_equal(run("info --help"), 0);
    out = slurp(OUT);
    assert_contains(out, "usage: genxfer info");
    free(out);

    assert_int_equal(run("data --bogus mnist:train"), 2);
    assert_int_equal(run("data"), 2);
    assert_int_equal(run("data --max-features"), 2);
    assert_int_equal(run("data --max-features=-3 mnist:train"), 1); /* a bad value: error, exit 1 */
    assert_int_equal(run("info --bogus x.safetensors"), 2);
    assert_int_equal(run("info"), 2);
    assert_int_equal(run("info a.safetensors b.safetensors"), 2);
    char *err = slurp(ERR);
    assert_contains(err, "genxfer info");
    free(err);
    /* a misspelled long option gets the nearest one; a known one without its value says so */
    assert_int_equal(run("data --jsno mnist:train"), 2);
    err = slurp(ERR);
    assert_contains(err, "genxfer: error: data: unknown option '--jsno'; did you mean '--json'?");
    free(err);
    assert_int_equal(run("train --epohcs 3 --domain mnist:train"), 2);
    err = slurp(ERR);
    assert_contains(err, "did you mean '--epochs'?");
    free(err);
    assert_int_equal(run("scratch --data mnist:train --arch"), 2);
    err = slurp(ERR);
    assert_contains(err, "genxfer: error: scratch: option '--arch' needs a value");
    free(err);
    assert_int_equal(run("train --latent-prior flat --domain mnist:train"), 1);
    err = slurp(ERR);
    assert_contains(err, "unknown prior 'flat' (mixture, standard)");
    free(err);
    assert_int_equal(run("train --select best --domain mnist:train"), 1);
    err = slurp(ERR);
    assert_contains(err, "unknown criterion 'best' (val, last, im)");
    free(err);
    assert_int_equal(run("data --zzzzzz mnist:train"), 2); /* nothing near: no guess */
    err = slurp(ERR);
    assert_contains(err, "unknown option '--zzzzzz' (see");
    free(err);
    /* a file that is not a model at all */
    assert_int_equal(run("info README.md"), 1);
    err = slurp(ERR);
    assert_contains(err, "README.md: not a safetensors file");
    free(err);
}

/* ---- genxfer data on the shared datasets --------------------------------------------------- */

static void test_data_mnist(void **state) {
    (void)state;
    if (!test_data_dir()) skip();
    assert_int_equal(run("data mnist:train"), 0);
    char *out = slurp(OUT);
    assert_contains(out, "60000 x 784");
    assert_contains(out, "28 x 28 x 1");
    assert_contains(out, "min 0  max 1");
    assert_contains(out, "0 non-finite values");
    static const int counts[10] = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
    /* one table row per class: "    K  NAME  COUNT  SHARE%" */
    for (int k = 0; k < 10; k++) {
        char row[64];
        snprintf(row, sizeof row, "%5d  %-4d %9d", k, k, counts[k]);
        assert_contains(out, row);
    }
    free(out);
}

static void test_data_usps(void **state) {
    (void)state;
    if (!test_data_dir()) skip();
    assert_int_equal(run("data --json usps:train"), 0);
    static const int counts[10] = {1194, 1005, 731, 658, 652, 556, 664, 645, 542, 644};
    cJSON *j = out_json();
    check_json_dataset(j, 7291, 256, counts, 10);
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(j, 0), "image");
    assert_true(jnum(img, "height") == 16 && jnum(img, "width") == 16);
    cJSON_Delete(j);
    assert_int_equal(run("data usps:train"), 0);
    char *out = slurp(OUT);
    assert_contains(out, "7291 x 256");
    free(out);
}

static void test_data_eros(void **state) {
    (void)state;
    const char *dir = test_data_dir();
    if (!dir) skip();
    /* "Unnamed: 0" is the star id (e.g. 135_9613); patch_id and the star ids are id-like too. */
    char spec[1200];
    snprintf(spec, sizeof spec,
             "'csv:%s/stars/eros1/train.csv,label=type,id=Unnamed: 0,drop=patch_id+star_id_b+star_id_r'",
             dir);
    assert_int_equal(run("data --json %s", spec), 0);
    static const int counts[4] = {339, 604, 1777, 192};
    cJSON *j = out_json();
    check_json_dataset(j, 2912, 19, counts, 4);
    const cJSON *o = cJSON_GetArrayItem(j, 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ids")));
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(o, "classes");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cls, 0), "name")->valuestring, "1");
    const cJSON *feat = cJSON_GetObjectItemCaseSensitive(o, "features");
    assert_int_equal(cJSON_GetArraySize(feat), 19);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(feat, 0), "name")->valuestring,
                        "magnitude_b");
    cJSON_Delete(j);
    assert_int_equal(run("data %s", spec), 0);
    char *out = slurp(OUT);
    assert_contains(out, "2912 x 19");
    assert_contains(out, "period");
    assert_contains(out, "sigma_flux_r");
    free(out);
}

/* ---- genxfer data on small tables ---------------------------------------------------------- */

static void test_data_small_csv(void **state) {
    (void)state;
    char path[600];
    test_path(path, sizeof path, "small.csv");
    test_write_text(path, "a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,x\n");
    assert_int_equal(run("data --json 'csv:%s,label=label' 'csv:%s'", path, path), 1);
    assert_one_error_line(1, "label"); /* without label=, the text column is not a number */

    assert_int_equal(run("data --json 'csv:%s,label=label'", path), 0);
    static const int counts[2] = {3, 1};
    cJSON *j = out_json();
    check_json_dataset(j, 4, 2, counts, 2);
    const cJSON *o = cJSON_GetArrayItem(j, 0);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "values");
    assert_true(jnum(v, "min") == 1 && jnum(v, "max") == 8 && jnum(v, "mean") == 4.5);
    assert_true(jnum(v, "nonfinite") == 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "image")));
    const cJSON *b = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "features"), 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(b, "name")->valuestring, "b");
    assert_true(jnum(b, "min") == 2 && jnum(b, "max") == 8 && jnum(b, "mean") == 5);
    cJSON_Delete(j);

    /* Two specs in text: both described, in order; classes named by their values. */
    assert_int_equal(run("data 'csv:%s,label=label' 'csv:%s,label=label,select=y'", path, path), 0);
    char *out = slurp(OUT);
    assert_contains(out, "4 x 2");
    assert_contains(out, "1 x 2");
    assert_contains(out, "labels:    yes, 2 classes");
    assert_contains(out, "labels:    yes, 1 class\n");
    const char *row = strstr(out, "    0  x   ");
    assert_non_null(row);
    assert_contains(row, "3   75.00%");
    assert_contains(out, "min 1  max 8  mean 4.5");
    free(out);

    /* Unlabelled, with the feature list cut by --max-features. */
    assert_int_equal(run("data --max-features 1 'csv:%s,drop=label'", path), 0);
    out = slurp(OUT);
    assert_contains(out, "labels:    none");
    assert_contains(out, "2 named columns (more than 1");
    free(out);
}

/* ---- malformed inputs: one error line naming the file -------------------------------------- */

static void write_idx3_gz(const char *path, int n, int h, int w) {
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    unsigned char hdr[16] = {0, 0, 8, 3};
    int dims[3] = {n, h, w};
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 4; b++) hdr[4 + 4 * i + b] = (unsigned char)(dims[i] >> (24 - 8 * b));
    assert_int_equal(gzwrite(gz, hdr, sizeof hdr), (int)sizeof hdr);
    for (int i = 0; i < n * h * w; i++) {
        unsigned char v = (unsigned char)((i * 2654435761u) >> 24); /* incompressible-ish */
        assert_int_equal(gzwrite(gz, &v, 1), 1);
    }
    assert_int_equal(gzclose(gz), Z_OK);
}

static void truncate_file(const char *path, double frac) {
    char *data = NULL;
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t)n);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    test_write_file(path, data, (size_t)(n * frac));
    free(data);
}

static void test_bad_idx(void **state) {
    (void)state;
    char path[600];
    test_path(path, sizeof path, "trunc-images-idx3-ubyte.gz");
    write_idx3_gz(path, 200, 8, 8);
    assert_int_equal(run("data 'idx:%s'", path), 0); /* the intact file reads */
    char *out = slurp(OUT);
    assert_contains(out, "200 x 64");
    assert_contains(out, "8 x 8 x 1");
    free(out);
    truncate_file(path, 0.5);
    assert_one_error_line(run("data 'idx:%s'", path), path);
    assert_one_error_line(run("data --json 'idx:%s'", path), path);

    test_path(path, sizeof path, "magic-images-idx3-ubyte");
    static const unsigned char gif[32] = "GIF89a this is not an IDX file";
    test_write_file(path, gif, sizeof gif);
    assert_one_error_line(run("data 'idx:%s'", path), path);
}

static void test_bad_npy(void **state) {
    (void)state;
    char path[600], hdr[128];
    /* A header that claims a 10^12 x 10^12 array over 16 bytes of data. */
    test_path(path, sizeof path, "absurd.npy");
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 1000000000000), }";
    size_t len = strlen(dict), total = 10 + len + 1;
    size_t pad = (64 - total % 64) % 64;
    unsigned char buf[256] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    size_t hl = len + pad + 1;
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    memcpy(buf + 10, dict, len);
    memset(buf + 10 + len, ' ', pad);
    buf[10 + len + pad] = '\n';
    assert_true(10 + hl + 16 <= sizeof buf);
    test_write_file(path, buf, 10 + hl + 16);
    assert_one_error_line(run("data 'npy:%s'", path), path);

    /* A header length beyond the end of the file. */
    test_path(path, sizeof path, "longheader.npy");
    memcpy(hdr, "\x93NUMPY\x01\x00\xff\xff{'descr': '<f4'", 24);
    test_write_file(path, hdr, 24);
    assert_one_error_line(run("data 'npy:%s'", path), path);
}

static void test_bad_csv(void **state) {
    (void)state;
    char path[600];
    test_path(path, sizeof path, "ragged.csv");
    test_write_text(path, "a,b,label\n1,2,0\n3,0\n5,6,1\n");
    assert_one_error_line(run("data 'csv:%s,label=label'", path), path);
    char *err = slurp(ERR);
    assert_contains(err, "line 3");
    free(err);

    test_path(path, sizeof path, "nan.csv");
    test_write_text(path, "a,b,label\n1,2,0\nnan,4,1\n");
    assert_one_error_line(run("data 'csv:%s,label=label'", path), path);
    /* ... unless such rows are dropped */
    assert_int_equal(run("data 'csv:%s,label=label,missing=drop'", path), 0);
    char *out = slurp(OUT);
    assert_contains(out, "1 x 2");
    assert_contains(out, "0 non-finite values");
    free(out);
}

static void test_bad_hdf5(void **state) {
    (void)state;
    char path[600];
    test_path(path, sizeof path, "small.h5");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    hsize_t dims[2] = {4, 3};
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = (float)i / 11.0f;
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t ds = H5Dcreate2(f, "x", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(ds >= 0);
    assert_true(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Fclose(f);

    assert_int_equal(run("data 'hdf5:%s,data=/x'", path), 0);
    char *out = slurp(OUT);
    assert_contains(out, "4 x 3");
    assert_contains(out, "min 0  max 1  mean 0.5");
    assert_contains(out, "labels:    none");
    free(out);
    assert_one_error_line(run("data 'hdf5:%s,data=/missing'", path), path);
    assert_one_error_line(run("data 'hdf5:%s,data=/x,labels=/nolabels'", path), path);

    /* Not an HDF5 file at all. */
    test_path(path, sizeof path, "text.h5");
    test_write_text(path, "just text\n");
    assert_one_error_line(run("data 'hdf5:%s,data=/x'", path), path);
}

static void test_missing_files(void **state) {
    (void)state;
    static const char *const specs[] = {"idx:%s/absent-images-idx3-ubyte.gz", "npy:%s/absent.npy",
                                        "hdf5:%s/absent.h5,data=/x", "csv:%s/absent.csv"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        char spec[800];
        snprintf(spec, sizeof spec, specs[i], test_tmpdir());
        assert_one_error_line(run("data '%s'", spec), "absent");
    }
    /* A bad spec is an error naming the spec. */
    assert_one_error_line(run("data 'nosuchkind:foo'"), "nosuchkind");
}

/* ---- genxfer info -------------------------------------------------------------------------- */

static void write_checkpoint(const char *path) {
    gx_error err;
    gx_st_writer *w = gx_st_writer_new(&err);
    assert_non_null(w);
    static const float wt[6] = {0, 1, 2, 3, 4, 5};
    static const float bias[3] = {-1.5f, 0.5f, 4.0f};
    static const int64_t step[1] = {1234};
    int64_t s_wt[2] = {2, 3}, s_b[1] = {3}, s_step[1] = {1};
    gx_st_writer_add(w, "enc.0.weight", GX_ST_F32, 2, s_wt, wt, &err);
    gx_st_writer_add(w, "enc.0.bias", GX_ST_F32, 1, s_b, bias, &err);
    gx_st_writer_add(w, "optim.step", GX_ST_I64, 1, s_step, step, &err);
    gx_st_writer_meta(w, "config", "{\"preset\":\"m2\",\"hidden\":[500,500],\"classes\":10}", &err);
    gx_st_writer_meta(w, "format_version", "1", &err);
    if (gx_st_write(w, path, &err) != 0) {
        print_error("%s\n", err.msg);
        fail();
    }
    gx_st_writer_free(w);
}

static void test_info(void **state) {
    (void)state;
    char path[600];
    test_path(path, sizeof path, "model.safetensors");
    write_checkpoint(path);
    assert_int_equal(run("info '%s'", path), 0);
    char *out = slurp(OUT);
    assert_contains(out, "enc.0.weight");
    assert_contains(out, "[2, 3]");
    assert_contains(out, "enc.0.bias");
    assert_contains(out, "optim.step");
    assert_contains(out, "I64");
    assert_contains(out, "parameters:  10 (F32 9, I64 1)");
    assert_contains(out, "file size:");
    /* enc.0.weight: 6 elements, min 0, max 5, mean 2.5 */
    const char *row = strstr(out, "enc.0.weight");
    assert_non_null(row);
    char line[256];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(row, "\n"), row);
    assert_contains(line, "F32");
    assert_contains(line, " 6 ");
    assert_contains(line, " 2.5");
    assert_contains(out, "format_version: 1");
    assert_contains(out, "config: {");
    assert_contains(out, "config: {\n      \"preset\": \"m2\",\n"); /* pretty-printed, a key a line */
    assert_contains(out, "\"hidden\": [500, 500],\n");
    free(out);

    assert_int_equal(run("info --json '%s'", path), 0);
    char *s = slurp(OUT);
    cJSON *j = cJSON_Parse(s);
    free(s);
    assert_non_null(j);
    assert_true(jnum(j, "parameters") == 10);
    const cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "tensors"), 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring, "enc.0.bias");
    assert_true(jnum(t, "min") == -1.5 && jnum(t, "max") == 4.0 && jnum(t, "mean") == 1.0);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(j, "metadata");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(md, "format_version")->valuestring, "1");
    cJSON_Delete(j);
}

static void test_info_damaged(void **state) {
    (void)state;
    char path[600];
    test_path(path, sizeof path, "truncated.safetensors");
    write_checkpoint(path);
    truncate_file(path, 0.9);
    assert_one_error_line(run("info '%s'", path), path);

    test_path(path, sizeof path, "garbage.safetensors");
    unsigned char junk[300];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)(i * 37 + 11);
    test_write_file(path, junk, sizeof junk);
    assert_one_error_line(run("info '%s'", path), path);

    test_path(path, sizeof path, "absent.safetensors");
    assert_one_error_line(run("info '%s'", path), path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_version),
        cmocka_unit_test(test_unknown_command),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_data_mnist),
        cmocka_unit_test(test_data_usps),
        cmocka_unit_test(test_data_eros),
        cmocka_unit_test(test_data_small_csv),
        cmocka_unit_test(test_bad_idx),
        cmocka_unit_test(test_bad_npy),
        cmocka_unit_test(test_bad_csv),
        cmocka_unit_test(test_bad_hdf5),
        cmocka_unit_test(test_missing_files),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_info_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
