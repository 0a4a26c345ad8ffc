/* End-to-end tests of genxfer scratch (a small CNN on a few hundred MNIST images, an MLP on star
 * features), and of eval / predict with the classifier files it writes: the outputs exist and
 * agree with each other, one seed gives the same model, and bad invocations end with one error
 * line. The MNIST runs read the 10000 test images only (quick to load) and hold part of them out. */
#include "test_cli_util.h"

#include <cJSON.h>
#include <math.h>

#include "data/readers.h"
#include "io/safetensors.h"

#define CNN "conv8-bn-relu-pool,conv16-bn-relu-pool,fc32-relu-drop0.2,fc"
/* 500 images, 40% held out as the test set: 300 training images, 10 steps of 32 per epoch */
#define MNIST_ARGS                                                                                 \
    "--data mnist:test,limit=500,test=0.4 --arch " CNN " --epochs 3 --batch 32 --threads 1 "     \
    "--quiet --seed 3"

static char run_dir[600];

static int setup(void **state) {
    (void)state;
    if (!test_data_dir()) return 0;
    test_path(run_dir, sizeof run_dir, "cnn");
    int rc = run("scratch " MNIST_ARGS " --out '%s'", run_dir);
    if (rc != 0) {
        char *err = slurp(ERR);
        fprintf(stderr, "genxfer scratch failed (exit %d): %s\n", rc, err);
        free(err);
        run_dir[0] = '\0';
    }
    return 0;
}

static char *file_in(const char *dir, const char *name) {
    static char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static cJSON *read_json(const char *path) {
    char *text = slurp(path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    if (!cJSON_IsNumber(v)) fail_msg("metrics.json has no number '%s'", key);
    return v->valuedouble;
}

static void test_scratch_writes_outputs(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    assert_true(run_dir[0]);
    cJSON *m = read_json(file_in(run_dir, "metrics.json"));
    double acc = num(m, "accuracy");
    /* 300 images, 30 steps: far above chance (0.1); measured 0.5-0.6 */
    printf("    test accuracy %.3f\n", acc);
    assert_true(acc > 0.3 && acc <= 1.0);
    int n = (int)num(m, "n"); /* 40% of each class, rounded */
    assert_true(n >= 195 && n <= 205);
    assert_int_equal((int)num(m, "labelled"), 500 - n);
    assert_int_equal((int)num(m, "seed"), 3);
    assert_int_equal((int)num(m, "steps"), 3 * ((500 - n + 31) / 32));
    assert_int_equal((int)num(m, "best_epoch"), 3);
    assert_string_equal(cJSON_GetObjectItem(m, "command")->valuestring, "scratch");
    assert_string_equal(cJSON_GetObjectItem(m, "arch")->valuestring, CNN);
    assert_contains(cJSON_GetObjectItem(m, "test_data")->valuestring, "held-out test part");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(m, "augment_flip")));
    assert_int_equal((int)num(m, "augment_shift"), 2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(m, "classes")), 10);
    cJSON_Delete(m);
    char *log = slurp(file_in(run_dir, "train_log.csv"));
    assert_contains(log, "epoch,step,loss,train_accuracy,val_accuracy,lr,seconds\n");
    assert_contains(log, "\n3,30,"); /* 299 or 300 rows: 10 steps per epoch */
    size_t lines = 0;
    for (char *p = log; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 4);
    free(log);
    gx_st_file *f;
    gx_error err;
    assert_int_equal(gx_st_open(file_in(run_dir, "model.safetensors"), &f, &err), 0);
    assert_string_equal(gx_st_metadata(f, "format"), "genxfer.classifier");
    assert_contains(gx_st_metadata(f, "config"), CNN);
    assert_string_equal(gx_st_metadata(f, "seed"), "3");
    assert_non_null(gx_st_find(f, "layers.1.running_mean"));
    assert_null(gx_st_find(f, "prep.mean")); /* pixels in [0, 1]: not standardised */
    gx_st_close(f);
}

/* eval and predict on the same spec agree: the predicted class of every CSV row is the argmax of
 * its probabilities, and the predictions per class are the column sums of eval's confusion matrix. */
static void test_eval_and_predict(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    assert_true(run_dir[0]);
    char json[700], csv[700], model[700];
    snprintf(model, sizeof model, "%s", file_in(run_dir, "model.safetensors"));
    snprintf(json, sizeof json, "%s", file_in(run_dir, "eval.json"));
    snprintf(csv, sizeof csv, "%s", file_in(run_dir, "pred.csv"));
    assert_int_equal(run("eval '%s' mnist:test,limit=120 --out '%s'", model, json), 0);
    char *out = slurp(OUT);
    assert_contains(out, "evaluation on mnist:test,limit=120 (120 examples)");
    assert_contains(out, "confusion matrix");
    free(out);
    cJSON *m = read_json(json);
    assert_true(num(m, "accuracy") > 0.3);
    int per_class[10] = {0};
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(m, "confusion")) {
        for (int k = 0; k < 10; k++) per_class[k] += cJSON_GetArrayItem(row, k)->valueint;
    }
    cJSON_Delete(m);
    assert_int_equal(run("predict '%s' mnist:test,limit=120 --out '%s'", model, csv), 0);
    char *text = slurp(csv);
    assert_contains(text, "id,predicted,p_0,p_1,");
    int rows = 0;
    for (char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        double p[10], best = -1, sum = 0;
        char pred[16];
        int id, arg = 0;
        int got = sscanf(line + 1, "%d,%15[^,],%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &id, pred,
                         &p[0], &p[1], &p[2], &p[3], &p[4], &p[5], &p[6], &p[7], &p[8], &p[9]);
        assert_int_equal(got, 12);
        assert_int_equal(id, rows);
        for (int k = 0; k < 10; k++) {
            sum += p[k];
            if (p[k] > best) best = p[k], arg = k;
        }
        assert_true(fabs(sum - 1) < 1e-5);
        assert_int_equal(atoi(pred), arg);
        per_class[arg]--;
        rows++;
    }
    assert_int_equal(rows, 120);
    for (int k = 0; k < 10; k++) assert_int_equal(per_class[k], 0);
    free(text);
    /* as .npy: float32 [120, 10] and the class order beside it */
    char npy[700], names[700];
    snprintf(npy, sizeof npy, "%s", file_in(run_dir, "pred.npy"));
    snprintf(names, sizeof names, "%s", file_in(run_dir, "pred.classes.txt"));
    assert_int_equal(run("predict '%s' mnist:test,limit=120 --format npy --out '%s'", model, npy), 0);
    text = slurp(names);
    assert_string_equal(text, "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
    free(text);
    assert_int_equal(run("data 'npy:%s'", npy), 0);
    text = slurp(OUT);
    assert_contains(text, "120 x 10");
    free(text);
    /* images of raw bytes (0-255) into a model trained on [0, 1]: refused, naming the value */
    static float bytes[2 * 28 * 28];
    for (int i = 0; i < 2 * 28 * 28; i++) bytes[i] = (float)((i * 7) % 256);
    const int64_t shape[3] = {2, 28, 28};
    gx_error err;
    snprintf(npy, sizeof npy, "%s", file_in(run_dir, "bytes.npy"));
    assert_int_equal(gx_npy_write(npy, GX_NPY_F32, 3, shape, bytes, &err), 0);
    assert_one_error_line(run("predict '%s' 'npy:%s' --out '%s'", model, npy, csv),
                          "value 7 in row 0, but the model was trained on values in [0, 1]");
    for (int i = 0; i < 2 * 28 * 28; i++) bytes[i] /= 255.0f; /* scaled, they are read */
    assert_int_equal(gx_npy_write(npy, GX_NPY_F32, 3, shape, bytes, &err), 0);
    assert_int_equal(run("predict '%s' 'npy:%s' --out '%s'", model, npy, csv), 0);
}

/* The same seed gives the same model, bit for bit; another seed another one. */
static void test_seed_fixes_everything(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    assert_true(run_dir[0]);
    char again[600], other[600];
    test_path(again, sizeof again, "cnn-again");
    test_path(other, sizeof other, "cnn-other");
    assert_int_equal(run("scratch " MNIST_ARGS " --out '%s'", again), 0);
    assert_int_equal(run("scratch " MNIST_ARGS " --seed 4 --epochs 1 --out '%s'", other), 0);
    gx_st_file *a, *b, *c;
    gx_error err;
    assert_int_equal(gx_st_open(file_in(run_dir, "model.safetensors"), &a, &err), 0);
    assert_int_equal(gx_st_open(file_in(again, "model.safetensors"), &b, &err), 0);
    assert_int_equal(gx_st_open(file_in(other, "model.safetensors"), &c, &err), 0);
    assert_int_equal(gx_st_count(a), gx_st_count(b));
    int differs = 0;
    for (size_t i = 0; i < gx_st_count(a); i++) {
        const gx_st_tensor *ta = gx_st_tensor_at(a, i), *tb = gx_st_find(b, ta->name),
                           *tc = gx_st_find(c, ta->name);
        assert_non_null(tb);
        assert_memory_equal(ta->data, tb->data, ta->nbytes);
        differs |= memcmp(ta->data, tc->data, ta->nbytes) != 0;
    }
    assert_true(differs);
    gx_st_close(a);
    gx_st_close(b);
    gx_st_close(c);
}

/* k= and val=: k labelled images per class, the epoch chosen on the validation images. */
static void test_k_and_val(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    char dir[600];
    test_path(dir, sizeof dir, "kval");
    assert_int_equal(run("scratch --data mnist:test,limit=600,k=6,val=4 --test mnist:test,limit=100 "
                         "--arch fc32-relu,fc --epochs 4 --threads 1 --quiet --out '%s'", dir), 0);
    cJSON *m = read_json(file_in(dir, "metrics.json"));
    assert_int_equal((int)num(m, "labelled"), 60);
    assert_int_equal((int)num(m, "validation"), 40);
    int best = (int)num(m, "best_epoch");
    assert_true(best >= 1 && best <= 4);
    double v = num(m, "best_validation_accuracy");
    assert_true(v >= 0 && v <= 1);
    assert_int_equal((int)num(m, "steps"), 4); /* 60 < 64: one step of all 60 per epoch */
    assert_string_equal(cJSON_GetObjectItem(m, "test_data")->valuestring, "mnist:test,limit=100");
    cJSON_Delete(m);
    char *log = slurp(file_in(dir, "train_log.csv"));
    assert_contains(log, "\n4,4,");
    free(log);
}

/* --val-every 3 over 4 epochs: the validation set is scored after epochs 3 and 4 only (the log's
 * val_accuracy is -1 on the others), and the kept epoch is one of them. */
static void test_val_every(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    char dir[600];
    test_path(dir, sizeof dir, "valevery");
    assert_int_equal(run("scratch --data mnist:test,limit=600,k=6,val=4 --arch fc32-relu,fc "
                         "--epochs 4 --val-every 3 --threads 1 --quiet --out '%s'", dir), 0);
    cJSON *m = read_json(file_in(dir, "metrics.json"));
    int best = (int)num(m, "best_epoch");
    assert_true(best == 3 || best == 4);
    cJSON_Delete(m);
    char *log = slurp(file_in(dir, "train_log.csv"));
    /* epoch,step,loss,train_accuracy,val_accuracy,...: the fifth field of each epoch's line */
    for (int e = 1; e <= 4; e++) {
        char key[16];
        snprintf(key, sizeof key, "\n%d,%d,", e, e);
        const char *p = strstr(log, key);
        assert_non_null(p);
        for (int commas = 0; commas < 4; p++) commas += p[1] == ',';
        p++;
        if (e == 3 || e == 4) assert_true(strncmp(p, "-1,", 3));
        else assert_true(!strncmp(p, "-1,", 3));
    }
    free(log);
    assert_int_equal(run("scratch --data mnist:test,limit=600,k=6,val=4 --val-every 0 --quiet --out '%s'",
                         dir), 1);
}

/* An MLP on star features: standardised with the training data's statistics, which the model
 * keeps, so that eval on the test file reproduces scratch's own test metrics. */
static void test_mlp_on_features(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    char dir[600], train[900], test[900];
    test_path(dir, sizeof dir, "stars");
    const char *opts = "label=type,id=Unnamed: 0,keep=magnitude_b+magnitude_r+period+asym_b,"
                       "log10=period";
    snprintf(train, sizeof train, "csv:%s/stars/eros1/train.csv,%s", test_data_dir(), opts);
    snprintf(test, sizeof test, "csv:%s/stars/eros1/test.csv,%s", test_data_dir(), opts);
    assert_int_equal(run("scratch --data '%s' --test '%s' --arch fc16-bn-relu,fc8-tanh,fc "
                         "--epochs 3 --threads 1 --quiet --out '%s'", train, test, dir), 0);
    cJSON *m = read_json(file_in(dir, "metrics.json"));
    double acc = num(m, "accuracy");
    assert_int_equal((int)num(m, "augment_shift"), 0); /* not images */
    cJSON_Delete(m);
    assert_true(acc > 0.5); /* 4 classes, about 2900 stars */
    gx_st_file *f;
    gx_error err;
    assert_int_equal(gx_st_open(file_in(dir, "model.safetensors"), &f, &err), 0);
    assert_non_null(gx_st_find(f, "prep.mean"));
    assert_contains(gx_st_metadata(f, "config"), "\"image\":false");
    gx_st_close(f);
    char json[700];
    snprintf(json, sizeof json, "%s", file_in(dir, "eval.json"));
    assert_int_equal(run("eval '%s' '%s' --out '%s'", file_in(dir, "model.safetensors"), test, json), 0);
    m = read_json(json);
    assert_true(num(m, "accuracy") == acc);
    cJSON_Delete(m);
}

/* ---- errors: exit 1 and one line naming what is wrong, or a usage error (exit 2) ---- */

static void test_errors(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    char dir[600];
    test_path(dir, sizeof dir, "bad");
    const char *data = "--data mnist:test,limit=200 --epochs 1 --threads 1 --quiet";
    /* a spec that does not parse or does not fit the 28x28 input */
    int rc = run("scratch %s --arch conv8-pool-pool-pool-pool-pool,fc --out '%s'", data, dir);
    assert_one_error_line(rc, "scratch --arch: 'pool' (layer 6) needs a map of at least 2x2, but "
                              "its input is 1x1x8");
    rc = run("scratch %s --arch conv8-bn-relux,fc --out '%s'", data, dir);
    assert_one_error_line(rc, "'relux' (layer 3) is not a layer; expected conv<N>");
    rc = run("scratch %s --arch conv8k2,fc --out '%s'", data, dir);
    assert_one_error_line(rc, "'conv8k2' (layer 1): expected an odd kernel size");
    rc = run("scratch %s --arch conv8,fc10 --out '%s'", data, dir);
    assert_one_error_line(rc, "the last layer must be the head 'fc'");
    /* a test set that does not fit the model fails before training */
    rc = run("scratch %s --test usps:test --out '%s'", data, dir);
    assert_one_error_line(rc, "usps:test: 256 features per example, but the model takes 784");
    rc = run("scratch %s --test fashion-mnist:test,limit=10 --out '%s'", data, dir);
    assert_one_error_line(rc, "is not one of the model's classes");
    rc = run("scratch %s --test mnist:test --out '%s'", "--data mnist:test,limit=200,test=0.5 "
             "--epochs 1 --quiet", dir);
    assert_one_error_line(rc, "test=0.5 and --test both name a test set");
    FILE *f = fopen(file_in(dir, "model.safetensors"), "rb");
    assert_null(f); /* nothing was trained or written */
    /* data */
    rc = run("scratch --data mnist:test,limit=200,k=50 --quiet --out '%s'", dir);
    assert_one_error_line(rc, "k=50 labels per class");
    rc = run("scratch --data mnist:test,limit=200,k=0 --quiet --out '%s'", dir);
    assert_one_error_line(rc, "k=0 leaves no labelled examples");
    rc = run("scratch --data mnist:test,share=x --quiet --out '%s'", dir);
    assert_one_error_line(rc, "share= and lik= are options of genxfer train");
    char csv[600];
    test_path(csv, sizeof csv, "nolabels.csv");
    test_write_text(csv, "a,b\n1,2\n3,4\n");
    rc = run("scratch --data 'csv:%s' --arch fc4,fc --quiet --out '%s'", csv, dir);
    assert_one_error_line(rc, "the data have no labels");
    rc = run("scratch --data 'csv:%s,label=b' --arch conv4,fc --quiet --out '%s'", csv, dir);
    assert_one_error_line(rc, "'conv4' (layer 1) needs an image");
    /* options */
    rc = run("scratch %s --epochs 0 --out '%s'", data, dir);
    assert_one_error_line(rc, "--epochs: '0' is not an integer");
    rc = run("scratch %s --optimizer rmsprop --out '%s'", data, dir);
    assert_one_error_line(rc, "unknown optimizer 'rmsprop'");
    assert_int_equal(run("scratch --epochs 2"), 2);
    assert_int_equal(run("scratch %s --bogus", data), 2);
    /* eval of a classifier with --domain */
    if (run_dir[0]) {
        rc = run("eval '%s' mnist:test,limit=5 --domain x", file_in(run_dir, "model.safetensors"));
        assert_one_error_line(rc, "a classifier has no domains");
        rc = run("predict '%s' mnist:test,limit=5 --latent z.csv", file_in(run_dir, "model.safetensors"));
        assert_one_error_line(rc, "a classifier has no latent space");
        rc = run("eval '%s' usps:test", file_in(run_dir, "model.safetensors"));
        assert_one_error_line(rc, "256 features per example, but the model takes 784");
    }
}

static void test_help(void **s) {
    (void)s;
    assert_int_equal(run("scratch --help"), 0);
    char *out = slurp(OUT);
    assert_contains(out, "conv<N>[k<K>]");
    assert_contains(out, "--arch ARCH");
    assert_contains(out, "[conv32-bn-relu-pool,conv64-bn-relu-pool,fc128-relu-drop0.3,fc]");
    free(out);
    assert_int_equal(run("--help"), 0);
    out = slurp(OUT);
    assert_contains(out, "scratch");
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scratch_writes_outputs),
        cmocka_unit_test(test_eval_and_predict),
        cmocka_unit_test(test_seed_fixes_everything),
        cmocka_unit_test(test_k_and_val),
        cmocka_unit_test(test_val_every),
        cmocka_unit_test(test_mlp_on_features),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
