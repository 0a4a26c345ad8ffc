/* train_predict: genxfer as a library. Loads a training and a test set from dataset specs, trains
 * a small DVT model with 20 labels per class (the other rows unlabelled), predicts the test set,
 * prints the accuracy, then saves the model, loads it back and checks that it predicts the same.
 *
 *     cc train_predict.c $(pkg-config --cflags --libs genxfer) -o train_predict
 *     ./train_predict                                   # on a small CSV it writes itself
 *     ./train_predict mnist:train,limit=500 mnist:test,limit=500   # needs $GENXFER_DATA
 *
 * Uses only the public header. */
#define _POSIX_C_SOURCE 200809L

#include <genxfer.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a toy dataset: three Gaussian clusters in 4-D, written as CSV ---- */

static uint64_t rng_state = 42;

static double uniform01(void) { /* xorshift64*, in (0, 1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return ((rng_state * 2685821657736338717ULL >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void) { /* about N(0, 1): the sum of 12 uniforms, less 6 (no libm needed) */
    double s = -6;
    for (int i = 0; i < 12; i++) s += uniform01();
    return s;
}

/* rows examples of classes red, green, blue with features x0..x3 in a CSV at path. */
static int write_toy_csv(const char *path, int rows) {
    static const char *names[3] = {"red", "green", "blue"};
    static const double centre[3][4] = {{0, 0, 0, 0}, {3, 0, 2, -1}, {0, 3, -2, 1}};
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "x0,x1,x2,x3,colour\n");
    for (int i = 0; i < rows; i++) {
        int k = i % 3;
        for (int j = 0; j < 4; j++) fprintf(f, "%.5f,", 10 + centre[k][j] + normal());
        fprintf(f, "%s\n", names[k]);
    }
    return fclose(f);
}

/* ---- the program ---- */

int main(int argc, char **argv) {
    char dir[512] = "", train_spec[600], test_spec[600], model_path[600];
    if (argc != 1 && argc != 3) {
        fprintf(stderr, "usage: %s [TRAIN_SPEC TEST_SPEC]\n", argv[0]);
        return 2;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/train_predict-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(model_path, sizeof model_path, "%s/model.safetensors", dir);
    char train_csv[560], test_csv[560];
    snprintf(train_csv, sizeof train_csv, "%s/train.csv", dir);
    snprintf(test_csv, sizeof test_csv, "%s/test.csv", dir);
    if (argc == 3) {
        snprintf(train_spec, sizeof train_spec, "%s", argv[1]);
        snprintf(test_spec, sizeof test_spec, "%s", argv[2]);
    } else {
        if (write_toy_csv(train_csv, 300) || write_toy_csv(test_csv, 150)) {
            perror(dir);
            return 1;
        }
        snprintf(train_spec, sizeof train_spec, "csv:%s,label=colour", train_csv);
        snprintf(test_spec, sizeof test_spec, "csv:%s,label=colour", test_csv);
    }

    gx_error err;
    gx_model *model = NULL, *again = NULL;
    float *probs = NULL, *probs2 = NULL;
    int32_t *labels = NULL;
    int status = 1;
    gx_data *train = gx_data_load(train_spec, &err);
    gx_data *test = train ? gx_data_load(test_spec, &err) : NULL;
    if (!test) goto fail;
    printf("train: %lld x %lld, test: %lld x %lld\n", (long long)gx_data_rows(train),
           (long long)gx_data_cols(train), (long long)gx_data_rows(test),
           (long long)gx_data_cols(test));

    /* A small DVT model; 20 labels per class, every row also used without its label. */
    gx_train_options opt;
    gx_train_options_init(&opt);
    opt.preset = "dvt";
    opt.epochs = 30;
    opt.batch = opt.batch_unlabelled = 32;
    opt.enc[0] = 64, opt.enc[1] = 32;
    opt.dec[0] = 32, opt.dec[1] = 0;
    opt.z = 4;
    opt.seed = 7;
    gx_domain dom;
    gx_domain_init(&dom, "toy", train);
    dom.labels_per_class = 20;
    if (!(model = gx_model_train(&dom, 1, &opt, &err))) goto fail;

    /* q(y|x) for every test row: probs [rows, K]; labels in the model's class order */
    int64_t n = gx_data_rows(test);
    int K = gx_model_classes(model);
    probs = malloc((size_t)n * K * sizeof *probs);
    probs2 = malloc((size_t)n * K * sizeof *probs2);
    labels = malloc((size_t)n * sizeof *labels);
    if (!probs || !probs2 || !labels) {
        snprintf(err.msg, sizeof err.msg, "out of memory");
        goto fail;
    }
    if (gx_model_predict(model, "toy", test, probs, &err) ||
        gx_model_labels(model, test, labels, &err))
        goto fail;
    int64_t correct = 0, labelled = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *p = probs + i * K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (p[k] > p[best]) best = k;
        if (labels[i] < 0) continue;
        labelled++;
        correct += best == labels[i];
    }
    printf("classes:");
    for (int k = 0; k < K; k++) printf(" %s", gx_model_class_name(model, k));
    printf("\naccuracy %.4f (%lld of %lld)\n", labelled ? (double)correct / labelled : 0.0,
           (long long)correct, (long long)labelled);

    /* save, load, predict again: the same probabilities */
    if (gx_model_save(model, model_path, &err) || !(again = gx_model_load(model_path, &err)) ||
        gx_model_predict(again, NULL, test, probs2, &err))
        goto fail;
    int same = memcmp(probs, probs2, (size_t)n * K * sizeof *probs) == 0;
    printf("reloaded %s model: %s predictions\n", gx_model_preset(again),
           same ? "the same" : "DIFFERENT");
    status = same ? 0 : 1;
    goto done;
fail:
    fprintf(stderr, "train_predict: error: %s\n", err.msg);
done:
    free(probs);
    free(probs2);
    free(labels);
    gx_model_free(model);
    gx_model_free(again);
    gx_data_free(train);
    gx_data_free(test);
    remove(model_path);
    remove(train_csv);
    remove(test_csv);
    rmdir(dir);
    return status;
}
