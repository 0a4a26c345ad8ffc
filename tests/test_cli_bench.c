/* genxfer bench on a small slice of MNIST: the table and its JSON (the multiply-adds of the B1
 * step against a count by hand), an E1 epoch as a child process, the export for the PyTorch
 * cross-check (tensors, shapes, a finite loss), and bad options. */
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
    assert_contains(out, "CNN step: not measured yet");
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

static void test_bad_options(void **s) {
    (void)s;
    assert_int_equal(run("bench --steps 0"), 1);
    char *err = slurp(ERR);
    assert_contains(err, "--steps");
    free(err);
    assert_int_equal(run("bench --threads 1,x"), 1);
    assert_int_equal(run("bench --frobnicate"), 2);
    assert_int_equal(run("bench extra"), 2);
    int rc = run("bench --data idx:/nonexistent/images.idx,labels=/nonexistent/labels.idx");
    assert_one_error_line(rc, "/nonexistent/images.idx");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_and_json),
        cmocka_unit_test(test_e1_epoch),
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
