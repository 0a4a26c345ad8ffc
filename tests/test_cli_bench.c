/* genxfer bench on a small slice of MNIST: the table and its JSON (the multiply-adds of the B1
 * and CNN steps against counts by hand), an E1 epoch as a child process, the exports for the
 * PyTorch cross-checks (tensors, shapes, a finite loss), and bad options. */
#include "test_cli_util.h"

#include <math.h>

#include "io/safetensors.h"

#define SMALL "--data mnist:test,limit=600 --steps 2 --warmup 0"

/* The B1 step by hand, N = 200 rows (100 + 100), R = 1100 branches (100 + 10 x 100): forward, dW,
 * and dX except for the input layer. The latent head's GEMM on h runs on N rows (shared by the
 * classes); its label columns and the decoder's are column additions, not multiply-adds. */
static double b1_macs(void) {
    double N = 200, R = 1100;
    return 2 * N * 784 * 500 + 3 * N * 500 * 500 + 3 * N * 500 * 10 + 3 * N * 500 * 100 +
           3 * R * 50 * 500 + 3 * R * 500 * 500 + 3 * R * 500 * 784;
}

/* The same when every [a ; onehot(y)] layer multiplies its whole input for every branch. */
static double b1_macs_unshared(void) {
    return b1_macs() - 3 * 200.0 * 500 * 100 + 3 * 1100.0 * 510 * 100 - 3 * 1100.0 * 50 * 500 +
           3 * 1100.0 * 60 * 500;
}

/* The E4 CNN step by hand, batch 64 of 28x28x1: conv 1->32 and 32->64 (3x3, on 28x28 and 14x14),
 * fc 3136->128, head 128->5; forward, dW, and dX except for the first layer. */
static double cnn_macs(void) {
    double B = 64;
    return 2 * B * 784 * 9 * 32 + 3 * B * 196 * 9 * 32 * 64 + 3 * B * 3136 * 128 + 3 * B * 128 * 5;
}

static double json_number(const char *text, const char *key) {
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(text, pat);
    if (!p) fail_msg("no %s in %s", key, text);
    return atof(p + strlen(pat));
}

static void test_table_and_json(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    char json[600];
    test_path(json, sizeof json, "bench.json");
    assert_int_equal(run("bench " SMALL " --threads 1,2 --no-epoch --json '%s'", json), 0);
    char *out = slurp(OUT), *j = slurp(json);
    assert_contains(out, "B1: M2 on MNIST");
    assert_contains(out, "SGEMM peak");
    assert_contains(out, "speed-up 1 -> 2 threads");
    assert_contains(out, "load mnist:test,limit=600: 600 x 784");
    assert_contains(out, "CNN step of E4: conv32-bn-relu-pool,conv64-bn-relu-pool,fc128-relu-drop0.3,fc");
    assert_true(fabs(json_number(j, "macs_per_step") - b1_macs()) < 1);
    assert_true(fabs(json_number(j, "macs_per_step_unshared") - b1_macs_unshared()) < 1);
    assert_true(json_number(j, "parameters") > 1.3e6);
    /* both runs: positive times, GFLOP/s and peak consistent with the step time */
    const char *r2 = strstr(j, "\"threads\":\t2");
    assert_non_null(strstr(j, "\"threads\":\t1"));
    assert_non_null(r2);
    double ms = json_number(r2, "median_ms"), gf = json_number(r2, "gflops");
    assert_true(ms > 0 && json_number(r2, "sgemm_peak_gflops") > 0);
    assert_true(fabs(gf - 2 * b1_macs() / (ms * 1e-3) * 1e-9) < 1e-3 * gf);
    assert_true(json_number(r2, "min_ms") <= ms);
    assert_null(strstr(j, "e1_epoch_s"));
    /* the CNN: its multiply-adds, and a 2-thread run with GFLOP/s consistent with its time */
    const char *c = strstr(j, "\"cnn\":");
    assert_non_null(c);
    assert_true(fabs(json_number(c, "macs_per_step") - cnn_macs()) < 1);
    assert_true(json_number(c, "parameters") > 4e5);
    const char *c2 = strstr(c, "\"threads\":\t2");
    assert_non_null(c2);
    ms = json_number(c2, "median_ms"), gf = json_number(c2, "gflops");
    assert_true(ms > 0 && fabs(gf - 2 * cnn_macs() / (ms * 1e-3) * 1e-9) < 1e-3 * gf);
    assert_true(fabs(json_number(c2, "examples_per_s") - 64 / (ms * 1e-3)) < 1e-3 * 64 / (ms * 1e-3));
    free(out);
    free(j);
    /* --only cnn: no B1 table */
    assert_int_equal(run("bench " SMALL " --threads 1 --only cnn --json '%s'", json), 0);
    out = slurp(OUT), j = slurp(json);
    assert_contains(out, "CNN step of E4");
    assert_null(strstr(out, "B1: M2"));
    assert_null(strstr(j, "macs_per_step_unshared")); /* a B1 key */
    assert_non_null(strstr(j, "\"cnn\":"));
    free(out);
    free(j);
}

/* One E1 epoch on 1500 images: a child `genxfer train` whose epoch time and peak memory
 * are read back. */
static void test_e1_epoch(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    char json[600];
    test_path(json, sizeof json, "bench-e1.json");
    assert_int_equal(run("bench --data mnist:test,limit=1500 --test mnist:test,limit=200 "
                         "--steps 2 --warmup 0 --threads 1 --json '%s'", json), 0);
    char *out = slurp(OUT), *j = slurp(json);
    assert_contains(out, "E1 epoch (genxfer train --preset m2, 1 thread(s))");
    double rss = json_number(j, "e1_max_rss_mb");
    assert_true(json_number(j, "e1_epoch_s") > 0);
    assert_true(json_number(j, "e1_run_s") >= json_number(j, "e1_epoch_s"));
    assert_true(rss > 5 && rss < 1000);
    free(out);
    free(j);
}

static void test_export(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    char path[600];
    test_path(path, sizeof path, "step.safetensors");
    assert_int_equal(run("bench --data mnist:test,limit=600 --warmup 2 --export '%s'", path), 0);
    gx_st_file *f;
    gx_error err;
    assert_int_equal(gx_st_open(path, &f, &err), 0);
    const gx_st_tensor *eps = gx_st_find(f, "batch.eps"), *yl = gx_st_find(f, "batch.yl");
    const gx_st_tensor *loss = gx_st_find(f, "loss"), *w = gx_st_find(f, "dec.trunk.0.weight");
    const gx_st_tensor *gw = gx_st_find(f, "grad.dec.trunk.0.weight");
    assert_non_null(eps);
    assert_non_null(yl);
    assert_non_null(loss);
    assert_non_null(w);
    assert_non_null(gw);
    assert_int_equal(eps->shape[0], 1100);
    assert_int_equal(eps->shape[1], 50);
    assert_int_equal(yl->dtype, GX_ST_I32);
    assert_int_equal(w->shape[1], 60); /* [z ; y] */
    assert_int_equal(gw->numel, w->numel);
    assert_true(isfinite(*(const float *)loss->data) && *(const float *)loss->data > 0);
    assert_null(gx_st_find(f, "grad.prior.log_pi.mnist")); /* frozen: no gradient */
    double g2 = 0;
    for (size_t i = 0; i < gw->numel; i++) g2 += (double)((const float *)gw->data)[i] * ((const float *)gw->data)[i];
    assert_true(g2 > 0);
    gx_st_close(f);
}

/* The CNN export: weights and gradients in genxfer's layout, the batch (NHWC), labels in [0, 5),
 * the dropout mask of 0s and 1s with about 70% kept, a finite loss. */
static void test_export_cnn(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    char path[600];
    test_path(path, sizeof path, "cnn-step.safetensors");
    assert_int_equal(run("bench --data mnist:test,limit=600 --warmup 2 --export-cnn '%s'", path), 0);
    gx_st_file *f;
    gx_error err;
    assert_int_equal(gx_st_open(path, &f, &err), 0);
    const gx_st_tensor *x = gx_st_find(f, "batch.x"), *y = gx_st_find(f, "batch.y");
    const gx_st_tensor *mask = gx_st_find(f, "batch.dropout.10"), *loss = gx_st_find(f, "loss");
    const gx_st_tensor *w = gx_st_find(f, "layers.4.weight"), *gw = gx_st_find(f, "grad.layers.4.weight");
    assert_non_null(x);
    assert_non_null(y);
    assert_non_null(mask);
    assert_non_null(loss);
    assert_non_null(w);
    assert_non_null(gw);
    assert_int_equal(x->ndim, 4);
    assert_int_equal(x->shape[0], 64);
    assert_int_equal(x->shape[1], 28);
    assert_int_equal(x->shape[3], 1);
    assert_int_equal(w->shape[0], 64); /* [Cout, K, K, Cin] */
    assert_int_equal(w->shape[3], 32);
    assert_int_equal(gw->numel, w->numel);
    assert_int_equal(mask->dtype, GX_ST_U8);
    assert_int_equal(mask->shape[1], 128);
    for (int i = 0; i < 64; i++) assert_in_range(((const int32_t *)y->data)[i], 0, 4);
    size_t kept = 0;
    for (size_t i = 0; i < mask->numel; i++) {
        uint8_t v = ((const uint8_t *)mask->data)[i];
        assert_true(v <= 1);
        kept += v;
    }
    assert_in_range(kept, mask->numel * 6 / 10, mask->numel * 8 / 10);
    assert_true(isfinite(*(const float *)loss->data) && *(const float *)loss->data > 0);
    assert_null(gx_st_find(f, "grad.layers.1.running_mean")); /* frozen: no gradient */
    double g2 = 0;
    for (size_t i = 0; i < gw->numel; i++) g2 += (double)((const float *)gw->data)[i] * ((const float *)gw->data)[i];
    assert_true(g2 > 0);
    gx_st_close(f);
}

static void test_bad_options(void **s) {
    (void)s;
    assert_int_equal(run("bench --steps 0"), 1);
    char *err = slurp(ERR);
    assert_contains(err, "--steps");
    free(err);
    assert_int_equal(run("bench --threads 1,x"), 1);
    assert_int_equal(run("bench --frobnicate"), 2);
    assert_int_equal(run("bench extra"), 2);
    assert_int_equal(run("bench --only gan"), 2);
    err = slurp(ERR);
    assert_contains(err, "--only");
    free(err);
    assert_int_equal(run("bench --export a --export-cnn b"), 2);
    int rc = run("bench --data idx:/nonexistent/images.idx,labels=/nonexistent/labels.idx");
    assert_one_error_line(rc, "/nonexistent/images.idx");
    /* feature rows: the CNN step is refused up front, naming the data */
    char csv[600];
    test_path(csv, sizeof csv, "features.csv");
    test_write_text(csv, "a,b,label\n0.1,0.2,x\n0.3,0.4,y\n");
    rc = run("bench --only cnn --steps 1 --data 'csv:%s,label=label'", csv);
    assert_one_error_line(rc, "not images");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_and_json),
        cmocka_unit_test(test_e1_epoch),
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_export_cnn),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
