/* End-to-end tests of what the transfer experiments need from genxfer train: the mlp preset (the
 * baselines), per-domain standardisation (std=), a stratified held-out test part (test=), and the
 * errors for domains whose classes do not match. They run on small CSV files written here. */
#include "test_cli_util.h"

#include <cJSON.h>
#include <math.h>

#include "core/rng.h"
#include "io/safetensors.h"

/* Writes a CSV of n rows: features a, b (two well separated blobs per class, shifted by `offset`
 * and scaled by `scale` so that a domain's raw values are far from [0, 1]) and a label column. */
static void write_blobs(const char *path, int n, const char *const *names, int n_classes,
                        float offset, float scale, uint64_t seed) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    gx_rng r;
    gx_rng_init(&r, seed, GX_STREAM_DATA);
    fprintf(f, "a,b,label\n");
    for (int i = 0; i < n; i++) {
        int k = i % n_classes;
        float a = offset + scale * (3.0f * k + 0.5f * gx_rng_normal(&r));
        float b = offset + scale * (k % 2 ? 2.0f : -2.0f) + scale * 0.5f * gx_rng_normal(&r);
        fprintf(f, "%g,%g,%s\n", a, b, names[k]);
    }
    fclose(f);
}

static const char *const ABC[] = {"A", "B", "C"};
static const char *const XY[] = {"X", "Y"};

static cJSON *read_json(const char *dir, const char *file) {
    char path[800];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text = slurp(path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

/* mlp on blobs with test=0.3: the test part is 30% of each class, accuracy is high, the model
 * holds the standardisation of its domain and no decoder, and `sample` refuses it. */
static void test_mlp_with_test_fraction_and_standardisation(void **s) {
    (void)s;
    char csv[600], out[600];
    test_path(csv, sizeof csv, "blobs.csv");
    test_path(out, sizeof out, "mlp");
    write_blobs(csv, 300, ABC, 3, 1000.0f, 50.0f, 1);
    int rc = run("train --preset mlp --domain 'csv:%s,label=label,test=0.3' --epochs 30 --batch 20 "
                 "--enc 16,16 --seed 2 --threads 1 --quiet --out '%s'", csv, out);
    if (rc) {
        char *e = slurp(ERR);
        fail_msg("train failed (%d): %s", rc, e);
    }
    cJSON *m = read_json(out, "metrics.json");
    assert_int_equal(cJSON_GetObjectItem(m, "n")->valueint, 90); /* 30 of each 100 */
    double acc = cJSON_GetObjectItem(m, "accuracy")->valuedouble;
    assert_true(acc > 0.9); /* separable blobs; unstandardised, 1000 +- 400 would not train */
    assert_string_equal(cJSON_GetObjectItem(m, "preset")->valuestring, "mlp");
    cJSON_Delete(m);
    char model[700];
    snprintf(model, sizeof model, "%s/model.safetensors", out);
    gx_st_file *f;
    gx_error err;
    assert_int_equal(gx_st_open(model, &f, &err), 0);
    const gx_st_tensor *mean = gx_st_find(f, "prep.csv.mean");
    assert_non_null(mean);
    assert_int_equal(mean->shape[0], 2);
    float mu[2];
    int64_t shape[1] = {2};
    assert_int_equal(gx_st_read_f32(f, "prep.csv.mean", 1, shape, mu, &err), 0);
    assert_true(mu[0] > 1000.0f && mu[0] < 1300.0f); /* mean of a over the training part */
    assert_null(gx_st_find(f, "dec.trunk.0.weight"));
    gx_st_close(f);
    rc = run("sample '%s' --out '%s/s.csv'", model, out);
    assert_one_error_line(rc, "plain classifier");
}

/* std=no keeps raw values: the model has no statistics. */
static void test_std_no_stores_nothing(void **s) {
    (void)s;
    char csv[600], out[600];
    test_path(csv, sizeof csv, "blobs_raw.csv");
    test_path(out, sizeof out, "raw");
    write_blobs(csv, 60, ABC, 3, 0.0f, 0.2f, 3);
    assert_int_equal(run("train --preset mlp --domain 'csv:%s,label=label,std=no' --epochs 1 "
                         "--enc 8,8 --threads 1 --quiet --out '%s'", csv, out), 0);
    char model[700];
    snprintf(model, sizeof model, "%s/model.safetensors", out);
    gx_st_file *f;
    gx_error err;
    assert_int_equal(gx_st_open(model, &f, &err), 0);
    assert_null(gx_st_find(f, "prep.csv.mean"));
    gx_st_close(f);
}

/* Two labelled domains with disjoint class names: an error that names the domain. */
static void test_domain_sharing_no_class_is_an_error(void **s) {
    (void)s;
    char a[600], b[600], out[600];
    test_path(a, sizeof a, "abc.csv");
    test_path(b, sizeof b, "xy.csv");
    test_path(out, sizeof out, "noshare");
    write_blobs(a, 60, ABC, 3, 0.0f, 1.0f, 4);
    write_blobs(b, 60, XY, 2, 0.0f, 1.0f, 5);
    int rc = run("train --domain 'csv:%s,label=label,name=src' --domain 'csv:%s,label=label,"
                 "name=tgt,k=2' --epochs 1 --threads 1 --quiet --out '%s'", a, b, out);
    assert_one_error_line(rc, "none of its classes");
    char *err = slurp(ERR);
    assert_contains(err, "domain src");
    free(err);
}

/* Domains that share some classes train; the target lacks class C and that is fine. */
static void test_domain_lacking_a_class_trains(void **s) {
    (void)s;
    char a[600], b[600], out[600];
    test_path(a, sizeof a, "abc2.csv");
    test_path(b, sizeof b, "ab.csv");
    test_path(out, sizeof out, "partial");
    write_blobs(a, 90, ABC, 3, 0.0f, 1.0f, 6);
    write_blobs(b, 60, ABC, 2, 5.0f, 2.0f, 7);
    int rc = run("train --domain 'csv:%s,label=label,name=src' --domain 'csv:%s,label=label,"
                 "name=tgt,k=3,test=0.25' --epochs 2 --enc 8,8 --dec 8 --z 2 --threads 1 --quiet "
                 "--out '%s'", a, b, out);
    if (rc) fail_msg("train failed (%d): %s", rc, slurp(ERR));
    cJSON *m = read_json(out, "metrics.json");
    assert_int_equal(cJSON_GetObjectItem(m, "n")->valueint, 16); /* round(0.25 * 30) x 2 classes */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(m, "classes")), 3);
    cJSON_Delete(m);
}

static void test_bad_test_fraction_options(void **s) {
    (void)s;
    char a[600], out[600];
    test_path(a, sizeof a, "abc3.csv");
    test_path(out, sizeof out, "bad");
    write_blobs(a, 60, ABC, 3, 0.0f, 1.0f, 8);
    assert_one_error_line(run("train --domain 'csv:%s,label=label,test=1.5' --out '%s'", a, out),
                          "test=1.5");
    assert_one_error_line(run("train --domain 'csv:%s,label=label,test=0.2' --test 'csv:%s,"
                              "label=label' --quiet --out '%s'", a, a, out), "give one");
    assert_one_error_line(run("train --domain 'csv:%s,label=label,name=s,test=0.2' --domain "
                              "'csv:%s,label=label,name=t' --quiet --out '%s'", a, a, out),
                          "target domain");
    assert_one_error_line(run("train --domain 'csv:%s,label=label,std=maybe' --out '%s'", a, out),
                          "std=maybe");
}

/* Star-table mistakes in a two-domain run: a column that is not in the file, a class to rename that
 * matches nothing, and a target whose selected classes the source lacks. */
static void test_star_csv_errors(void **s) {
    (void)s;
    char src[600], tgt[600], out[600];
    test_path(src, sizeof src, "survey_a.csv");
    test_path(tgt, sizeof tgt, "survey_b.csv");
    test_path(out, sizeof out, "stars");
    test_write_text(src, "period,mag,type\n1.5,17,1\n300,15,4\n0.5,19,1\n250,14,4\n");
    test_write_text(tgt, "period,mag,cls\n1.2,-5,EB\n280,-7,LPV\n0.6,-4,EB\n310,-8,LPV\n2,-3,QSO\n");
    const char *t = "--epochs 1 --enc 4,4 --dec 4 --z 2 --threads 1 --quiet";
    assert_one_error_line(run("train --domain 'csv:%s,label=type,keep=period+colour,name=a' "
                              "--domain 'csv:%s,label=cls,name=b,k=1' %s --out '%s'", src, tgt, t,
                              out), "colour");
    assert_one_error_line(run("train --domain 'csv:%s,label=type,rename=1:EB+5:LPV,name=a' "
                              "--domain 'csv:%s,label=cls,name=b,k=1' %s --out '%s'", src, tgt, t,
                              out), "'5'");
    assert_one_error_line(run("train --domain 'csv:%s,label=type,rename=1:EB+4:LPV,name=a' "
                              "--domain 'csv:%s,label=cls,select=QSO,name=b,k=1' %s --out '%s'",
                              src, tgt, t, out), "none of its classes");
    /* and with the names matched, the same files train */
    int rc = run("train --domain 'csv:%s,label=type,rename=1:EB+4:LPV,name=a' --domain "
                 "'csv:%s,label=cls,name=b,k=1' %s --out '%s'", src, tgt, t, out);
    if (rc) fail_msg("train failed (%d): %s", rc, slurp(ERR));
}

/* --prior-shift em: a target whose rows are 80% of class X (the source is balanced) gets an
 * estimate near that, stored in the model as the ratio that corrects its predictions. (Both
 * domains on one scale and no per-domain batch norm: normalising each domain on its own moves a
 * class whose share differs, and the posteriors EM reads would be wrong.) */
static void test_prior_shift_em(void **s) {
    (void)s;
    char src[600], tgt[600], out[600];
    test_path(src, sizeof src, "shift_src.csv");
    test_path(tgt, sizeof tgt, "shift_tgt.csv");
    test_path(out, sizeof out, "shift_run");
    write_blobs(src, 200, XY, 2, 0.0f, 1.0f, 5);
    FILE *f = fopen(tgt, "w"); /* 4 rows of X for one of Y */
    assert_non_null(f);
    gx_rng r;
    gx_rng_init(&r, 6, GX_STREAM_DATA);
    fprintf(f, "a,b,label\n");
    for (int i = 0; i < 250; i++) {
        const int k = i % 5 == 4;
        fprintf(f, "%g,%g,%s\n", 3.0f * k + 0.5f * gx_rng_normal(&r),
                (k ? 2.0f : -2.0f) + 0.5f * gx_rng_normal(&r), XY[k]);
    }
    fclose(f);
    int rc = run("train --domain 'csv:%s,label=label,name=src' --domain 'csv:%s,label=label,"
                 "name=tgt,share=src,k=0,std-from=src:a+b' --prior-shift em --no-batchnorm "
                 "--epochs 200 --enc 8,8 --dec 8,8 --z 2 --threads 1 --quiet --no-figures "
                 "--out '%s'", src, tgt, out);
    if (rc) fprintf(stderr, "%s\n", slurp(ERR));
    assert_int_equal(rc, 0);
    cJSON *m = read_json(out, "metrics.json");
    const cJSON *ps = cJSON_GetObjectItem(m, "prior_shift");
    assert_non_null(ps);
    const double x = cJSON_GetObjectItem(ps, "X")->valuedouble;
    print_message("estimated share of X: %.3f (true 0.8)\n", x);
    assert_true(x > 0.7 && x < 0.9);
    cJSON_Delete(m);
    char model[700];
    snprintf(model, sizeof model, "%s/model.safetensors", out);
    gx_st_file *st;
    gx_error err;
    assert_int_equal(gx_st_open(model, &st, &err), 0);
    cJSON *ratio = cJSON_Parse(gx_st_metadata(st, "domain.tgt.prior_ratio"));
    assert_true(cJSON_IsArray(ratio) && cJSON_GetArraySize(ratio) == 2);
    assert_true(cJSON_GetArrayItem(ratio, 0)->valuedouble > 1.2); /* X: 0.8 / 0.5 */
    cJSON_Delete(ratio);
    gx_st_close(st);
    /* eval reads it back and applies it */
    assert_int_equal(run("eval '%s' 'csv:%s,label=label' --domain tgt", model, tgt), 0);
    assert_int_equal(run("train --prior-shift mle --domain 'csv:%s,label=label'", src), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp_with_test_fraction_and_standardisation),
        cmocka_unit_test(test_std_no_stores_nothing),
        cmocka_unit_test(test_domain_sharing_no_class_is_an_error),
        cmocka_unit_test(test_domain_lacking_a_class_trains),
        cmocka_unit_test(test_bad_test_fraction_options),
        cmocka_unit_test(test_star_csv_errors),
        cmocka_unit_test(test_prior_shift_em),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
