/* The public API (include/genxfer.h): datasets from specs and arrays, training, prediction,
 * labels, saving and loading; one-line errors for bad input; and the same model as
 * `genxfer train` for the same data, settings and seed. */
#include "test_cli_util.h"

#include "test_fs_util.h"
#include "test_toy_util.h"

#include "genxfer.h"

enum { N = 240, D = 4, K = 3 };

static float toy_x[N * D];
static int32_t toy_y[N];
static const char *toy_names[K] = {"red", "green", "blue"};

static gx_train_options tiny_options(const char *preset) {
    gx_train_options o;
    gx_train_options_init(&o);
    o.preset = preset;
    o.epochs = 3;
    o.batch = o.batch_unlabelled = 20;
    o.enc[0] = 16, o.enc[1] = 8;
    o.dec[0] = 8, o.dec[1] = 0;
    o.z = 3;
    o.seed = 5;
    return o;
}

static int setup(void **state) {
    (void)state;
    toy_make(toy_x, toy_y, N, D, K, 10.0f, 0, 1);
    gx_set_threads(1);
    return 0;
}

static double accuracy(const float *P, const int32_t *y, int64_t n, int k) {
    int64_t correct = 0;
    for (int64_t i = 0; i < n; i++) {
        int best = 0;
        for (int c = 1; c < k; c++)
            if (P[i * k + c] > P[i * k + best]) best = c;
        correct += best == y[i];
    }
    return (double)correct / (double)n;
}

static void test_version(void **s) {
    (void)s;
    assert_string_equal(gx_version(), GENXFER_VERSION);
}

static void test_data_from_spec(void **s) {
    (void)s;
    char xp[600], yp[600], spec[1300];
    toy_write_npy(test_path(xp, sizeof xp, "x.npy"), test_path(yp, sizeof yp, "y.npy"), toy_x,
                  toy_y, N, D);
    snprintf(spec, sizeof spec, "npy:%s,labels=%s,limit=100", xp, yp);
    gx_error err;
    gx_data *data = gx_data_load(spec, &err);
    assert_non_null(data);
    assert_int_equal(gx_data_rows(data), 100);
    assert_int_equal(gx_data_cols(data), D);
    assert_int_equal(gx_data_classes(data), K);
    assert_string_equal(gx_data_class_name(data, 2), "2"); /* npy labels are named by number */
    assert_null(gx_data_class_name(data, 3));
    assert_memory_equal(gx_data_x(data), toy_x, 100 * D * sizeof(float));
    assert_memory_equal(gx_data_y(data), toy_y, 100 * sizeof(int32_t));
    gx_data_free(data);
    gx_data_free(NULL);
}

static void test_data_errors(void **s) {
    (void)s;
    gx_error err;
    assert_null(gx_data_load("csv:/nonexistent/x.csv,label=y", &err));
    assert_msg_contains(err.msg, "/nonexistent/x.csv");
    assert_null(strchr(err.msg, '\n'));
    assert_null(gx_data_load("csv:/nonexistent/x.csv", NULL)); /* err may be NULL */
    assert_null(gx_data_load("", &err));
    assert_msg_contains(err.msg, "empty");
    int32_t y[2] = {0, 3};
    float x[2] = {1, 2};
    assert_null(gx_data_from_arrays(2, 1, x, y, 2, NULL, &err));
    assert_msg_contains(err.msg, "label 3 in row 1");
    x[1] = NAN;
    assert_null(gx_data_from_arrays(2, 1, x, NULL, 0, NULL, &err));
    assert_msg_contains(err.msg, "row 1, column 0");
    assert_null(gx_data_from_arrays(0, 1, x, NULL, 0, NULL, &err));
    gx_data *u = gx_data_from_arrays(1, 1, x, NULL, 5, NULL, &err);
    assert_non_null(u);
    assert_int_equal(gx_data_classes(u), 0);
    assert_null(gx_data_y(u));
    gx_data_free(u);
}

/* Train, predict above chance, save, load: the same probabilities and the same description. */
static void test_train_predict_save_load(void **s) {
    (void)s;
    gx_error err;
    gx_data *data = gx_data_from_arrays(N, D, toy_x, toy_y, K, toy_names, &err);
    assert_non_null(data);
    gx_domain dom;
    gx_domain_init(&dom, "toy", data);
    dom.labels_per_class = 10;
    gx_train_options o = tiny_options("dvt");
    o.epochs = 10;
    gx_model *m = gx_model_train(&dom, 1, &o, &err);
    if (!m) fail_msg("%s", err.msg);
    assert_string_equal(gx_model_preset(m), "dvt");
    assert_int_equal(gx_model_classes(m), K);
    assert_string_equal(gx_model_class_name(m, 1), "green");
    assert_null(gx_model_class_name(m, K));
    assert_int_equal(gx_model_domains(m), 1);
    assert_string_equal(gx_model_domain_name(m, 0), "toy");
    assert_int_equal(gx_model_domain_cols(m, NULL, &err), D);
    assert_int_equal(gx_model_domain_cols(m, "nope", &err), -1);
    assert_msg_contains(err.msg, "no domain 'nope' (its domains: toy)");

    float *P = malloc(N * K * sizeof *P), *Q = malloc(N * K * sizeof *Q);
    int32_t *y = malloc(N * sizeof *y);
    assert_true(P && Q && y);
    assert_int_equal(gx_model_predict(m, "toy", data, P, &err), 0);
    assert_int_equal(gx_model_labels(m, data, y, &err), 0);
    assert_memory_equal(y, toy_y, N * sizeof *y);
    double acc = accuracy(P, y, N, K);
    assert_true(acc > 0.6); /* chance: 1/3 */
    for (int i = 0; i < N; i++) {
        double sum = 0;
        for (int k = 0; k < K; k++) sum += P[i * K + k];
        assert_true(fabs(sum - 1) < 1e-5);
    }
    /* raw rows: the same as the dataset */
    assert_int_equal(gx_model_predict_rows(m, NULL, toy_x, N, D, Q, &err), 0);
    assert_memory_equal(P, Q, N * K * sizeof *P);

    char path[600];
    test_path(path, sizeof path, "api_model.safetensors");
    assert_int_equal(gx_model_save(m, path, &err), 0);
    gx_model *m2 = gx_model_load(path, &err);
    assert_non_null(m2);
    memset(Q, 0, N * K * sizeof *Q);
    assert_int_equal(gx_model_predict(m2, NULL, data, Q, &err), 0);
    assert_memory_equal(P, Q, N * K * sizeof *P);
    assert_string_equal(gx_model_class_name(m2, 2), "blue");
    /* the tool reads it */
    assert_int_equal(run("info '%s'", path), 0);
    char *out = slurp(OUT);
    assert_contains(out, "prep.toy.mean");
    free(out);

    /* wrong shapes and foreign classes are one-line errors */
    assert_int_equal(gx_model_predict_rows(m, NULL, toy_x, N / 2, 2 * D, Q, &err), -1);
    assert_msg_contains(err.msg, "8 features per row, but domain toy of the model takes 4");
    assert_int_equal(gx_model_predict(m, "other", data, Q, &err), -1);
    assert_msg_contains(err.msg, "no domain 'other'");
    static const char *other_names[K] = {"red", "green", "violet"};
    gx_data *foreign = gx_data_from_arrays(N, D, toy_x, toy_y, K, other_names, &err);
    assert_int_equal(gx_model_labels(m, foreign, y, &err), -1);
    assert_msg_contains(err.msg, "class 'violet' is not one of the model's classes (red, green, blue)");
    gx_data_free(foreign);
    assert_null(gx_model_load("/nonexistent/m.safetensors", &err));
    assert_msg_contains(err.msg, "/nonexistent/m.safetensors");

    free(P);
    free(Q);
    free(y);
    gx_model_free(m);
    gx_model_free(m2);
    gx_model_free(NULL);
    gx_data_free(data);
}

static void expect_train_error(const gx_domain *doms, int n, const gx_train_options *o,
                               const char *what) {
    gx_error err;
    gx_model *m = gx_model_train(doms, n, o, &err);
    if (m) {
        gx_model_free(m);
        fail_msg("training succeeded; expected an error naming '%s'", what);
    }
    assert_msg_contains(err.msg, what);
    assert_null(strchr(err.msg, '\n'));
}

static void test_train_errors(void **s) {
    (void)s;
    gx_error err;
    gx_data *data = gx_data_from_arrays(N, D, toy_x, toy_y, K, toy_names, &err);
    gx_data *unlab = gx_data_from_arrays(N, D, toy_x, NULL, 0, NULL, &err);
    int32_t one[N] = {0};
    gx_data *single = gx_data_from_arrays(N, D, toy_x, one, 1, NULL, &err);
    assert_true(data && unlab && single);
    gx_domain dom[2];
    gx_domain_init(&dom[0], "a", data);
    gx_domain_init(&dom[1], "b", data);
    gx_train_options o = tiny_options("m3");
    expect_train_error(dom, 1, &o, "unknown preset 'm3'");
    o = tiny_options("m2");
    expect_train_error(dom, 2, &o, "preset m2 takes one domain");
    o = tiny_options("dvt");
    o.enc[1] = 0;
    expect_train_error(dom, 1, &o, "enc needs at least 2 widths");
    o = tiny_options("dvt");
    o.activation = "swish";
    expect_train_error(dom, 1, &o, "unknown activation 'swish'");
    o = tiny_options("dvt");
    o.prior = "flat";
    expect_train_error(dom, 1, &o, "unknown prior 'flat'");
    o = tiny_options("dvt");
    expect_train_error(dom, 0, &o, "0 domains");
    gx_domain_init(&dom[1], "a", data);
    expect_train_error(dom, 2, &o, "two domains named 'a'");
    gx_domain_init(&dom[1], "b", data);
    dom[1].share = "c";
    expect_train_error(dom, 2, &o, "share 'c' names no earlier domain");
    gx_domain_init(&dom[1], "b.1", data);
    expect_train_error(dom, 2, &o, "domain 'b.1'");
    gx_domain_init(&dom[1], "b", unlab);
    expect_train_error(dom, 2, &o, "domain b (arrays): the data have no labels");
    gx_domain_init(&dom[0], "a", single);
    expect_train_error(dom, 1, &o, "1 class(es)");
    gx_domain_init(&dom[0], "a", data);
    dom[0].standardise = 0;
    dom[0].likelihood = "bernoulli";
    expect_train_error(dom, 1, &o, "likelihood bernoulli needs values in [0, 1]");
    gx_domain_init(&dom[0], "a", data);
    dom[0].labels_per_class = 1000;
    expect_train_error(dom, 1, &o, "1000 labels per class");
    gx_data_free(data);
    gx_data_free(unlab);
    gx_data_free(single);
}

/* probs [n, k] from a CSV of genxfer predict (id, predicted, p_...). */
static void read_predictions(const char *path, float *probs, int n, int k) {
    char *text = slurp(path);
    char *line = strchr(text, '\n');
    assert_non_null(line);
    for (int i = 0; i < n; i++) {
        line++;
        char *p = strchr(strchr(line, ',') + 1, ',');
        for (int c = 0; c < k; c++) probs[i * k + c] = strtof(p + 1, &p);
        line = strchr(p, '\n');
        assert_non_null(line);
    }
    free(text);
}

/* The facade runs the tool's pipeline: two domains (one standardised, all labelled; one sharing
 * its blocks, 5 labels per class and 2 for validation), the same seed and thread count: the same
 * probabilities, bit for bit. */
static void test_same_model_as_the_tool(void **s) {
    (void)s;
    char xa[600], xb[600], y[600], dir[600], csv[700], spec_a[1300], spec_b[1300];
    float xb_data[N * D];
    for (int i = 0; i < N * D; i++) xb_data[i] = toy_x[i] * 0.5f - 4.0f;
    toy_write_npy(test_path(xa, sizeof xa, "xa.npy"), test_path(y, sizeof y, "ya.npy"), toy_x,
                  toy_y, N, D);
    toy_write_npy(test_path(xb, sizeof xb, "xb.npy"), NULL, xb_data, NULL, N, D);
    test_path(dir, sizeof dir, "cli_run");
    snprintf(csv, sizeof csv, "%s/p.csv", dir);
    snprintf(spec_a, sizeof spec_a, "npy:%s,labels=%s", xa, y);
    snprintf(spec_b, sizeof spec_b, "npy:%s,labels=%s", xb, y);
    assert_int_equal(run("train --preset dvt --domain '%s,name=a' --domain '%s,name=b,share=a,k=5,val=2' "
                         "--epochs 3 --batch 20 --batch-unlabelled 20 --enc 16,8 --dec 8 --z 3 "
                         "--cls-hidden 5 --activation tanh --prior reestimate --seed 5 --threads 1 --quiet --out '%s'",
                         spec_a, spec_b, dir), 0);
    assert_int_equal(run("predict '%s/model.safetensors' '%s' --domain b --threads 1 --out '%s'",
                         dir, spec_b, csv), 0);
    static float cli[N * K], api[N * K];
    read_predictions(csv, cli, N, K);

    gx_error err;
    gx_data *a = gx_data_load(spec_a, &err), *b = gx_data_load(spec_b, &err);
    assert_true(a && b);
    gx_domain dom[2];
    gx_domain_init(&dom[0], "a", a);
    gx_domain_init(&dom[1], "b", b);
    dom[1].share = "a";
    dom[1].labels_per_class = 5;
    dom[1].val_per_class = 2;
    gx_train_options o = tiny_options("dvt");
    o.cls_hidden = 5;
    o.activation = "tanh";
    o.prior = "reestimate";
    gx_model *m = gx_model_train(dom, 2, &o, &err);
    if (!m) fail_msg("%s", err.msg);
    assert_int_equal(gx_model_predict(m, "b", b, api, &err), 0);
    for (int i = 0; i < N * K; i++)
        if (cli[i] != api[i]) fail_msg("probability %d: tool %.9g, API %.9g", i, cli[i], api[i]);
    /* the input data are left as they were (the API standardises a copy) */
    assert_memory_equal(gx_data_x(a), toy_x, sizeof toy_x);
    gx_model_free(m);
    gx_data_free(a);
    gx_data_free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_data_from_spec),
        cmocka_unit_test(test_data_errors),
        cmocka_unit_test(test_train_predict_save_load),
        cmocka_unit_test(test_train_errors),
        cmocka_unit_test(test_same_model_as_the_tool),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
