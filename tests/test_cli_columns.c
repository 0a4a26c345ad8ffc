/* The training data's column names travel with the model (models/model_features.c): eval and
 * predict match a table's columns by name, in any order, ignore (and name) extra ones, and refuse
 * a file that lacks one. Issue 20's reproduction: eval on a 3-column CSV with its columns in
 * reverse order gave 0.655 accuracy against 0.900, with no word. */
#include "test_cli_util.h"

#include <math.h>

#include "io/safetensors.h"

static char dir[600], model[800];

/* Writes `name` in dir with the columns in `order` (a permutation of a, b, c, label, plus
 * "extra" when asked); rows of two classes that a, b separate. */
static const char *table(const char *name, const char *order[], int ncols) {
    static char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int j = 0; j < ncols; j++) fprintf(f, "%s%s", j ? "," : "", order[j]);
    fprintf(f, "\n");
    for (int i = 0; i < 240; i++) {
        const int y = i % 2;
        /* a deterministic spread: the classes overlap a little */
        const double u = sin(i * 12.9898) * 0.9, v = cos(i * 78.233) * 0.9, w = sin(i * 3.7);
        for (int j = 0; j < ncols; j++) {
            const char *c = order[j];
            if (j) fputc(',', f);
            if (!strcmp(c, "a")) fprintf(f, "%.4f", 2.0 * y + u);
            else if (!strcmp(c, "b")) fprintf(f, "%.4f", -2.0 * y + v);
            else if (!strcmp(c, "c")) fprintf(f, "%.4f", w);
            else if (!strcmp(c, "label")) fprintf(f, "%s", y ? "yes" : "no");
            else fprintf(f, "7");
        }
        fprintf(f, "\n");
    }
    fclose(f);
    return path;
}

static int setup(void **state) {
    (void)state;
    test_path(dir, sizeof dir, "columns");
    char cmd[800];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    const char *train[] = {"a", "b", "c", "label"};
    const char *path = table("train.csv", train, 4);
    char out[700];
    snprintf(out, sizeof out, "%s/run", dir);
    int rc = run("train --preset mlp --domain 'csv:%s,label=label' --epochs 4 --seed 1 --threads 1 "
                 "--quiet --no-figures --out '%s'", path, out);
    if (rc) fprintf(stderr, "training failed: %s\n", slurp(ERR));
    assert_int_equal(rc, 0);
    snprintf(model, sizeof model, "%s/model.safetensors", out);
    return 0;
}

/* predict's output (the probabilities) of model file mdl for a table */
static char *predictions_of(const char *mdl, const char *path, const char *extra_opts) {
    char out[700];
    snprintf(out, sizeof out, "%s/pred.csv", dir);
    int rc = run("predict '%s' 'csv:%s%s' --threads 1 --out '%s'", mdl, path, extra_opts, out);
    if (rc) fprintf(stderr, "predict failed: %s\n", slurp(ERR));
    assert_int_equal(rc, 0);
    return slurp(out);
}

static char *predictions(const char *path, const char *extra_opts) {
    return predictions_of(model, path, extra_opts);
}

/* eval of model file mdl on same.csv and on reversed.csv (its columns reversed, one extra):
 * the same metrics, from the accuracy line on. */
static void assert_same_eval(const char *mdl) {
    assert_int_equal(run("eval '%s' 'csv:%s/same.csv,label=label' --threads 1", mdl, dir), 0);
    char *e1 = slurp(OUT);
    assert_int_equal(run("eval '%s' 'csv:%s/reversed.csv,label=label' --threads 1", mdl, dir), 0);
    char *e2 = slurp(OUT);
    assert_non_null(strstr(e1, "accuracy"));
    assert_string_equal(strstr(e1, "accuracy"), strstr(e2, "accuracy"));
    free(e1);
    free(e2);
}

static void test_names_stored(void **state) {
    (void)state;
    gx_st_file *f;
    gx_error err;
    assert_int_equal(gx_st_open(model, &f, &err), 0);
    const char *names = gx_st_metadata(f, "domain.csv.features");
    assert_non_null(names);
    assert_string_equal(names, "[\"a\",\"b\",\"c\"]");
    gx_st_close(f);
}

static void test_any_column_order(void **state) {
    (void)state;
    const char *same[] = {"a", "b", "c", "label"}, *reversed[] = {"label", "extra", "c", "b", "a"};
    char *p1 = predictions(table("same.csv", same, 4), ",label=label");
    char *p2 = predictions(table("reversed.csv", reversed, 5), ",label=label");
    assert_string_equal(p1, p2); /* the same predictions, bit for bit */
    free(p2);
    /* the raw file, no options: the same (the training columns are read by name) */
    p2 = predictions(table("reversed.csv", reversed, 5), "");
    assert_string_equal(p1, p2);
    free(p2);
    char *err = slurp(ERR); /* the columns left unread are named once */
    assert_contains(err, "columns not used by the model, ignored: label+extra\n");
    free(err);
    /* columns the user keeps beyond the model's are read, then ignored and named */
    p2 = predictions(table("reversed.csv", reversed, 5), ",keep=extra+c+b+a");
    assert_string_equal(p1, p2);
    err = slurp(ERR);
    assert_contains(err, "columns not used by the model, ignored: extra");
    free(err);
    free(p1);
    free(p2);
    /* an option that contradicts training's */
    assert_one_error_line(run("predict '%s' 'csv:%s/same.csv,scale=2' --out '%s/x.csv'", model,
                              dir, dir),
                          "scale=2, but the model's training data were read without scale");
    /* eval likewise: the same accuracy line */
    assert_same_eval(model);
}

static void test_missing_or_renamed_column(void **state) {
    (void)state;
    const char *renamed[] = {"a", "bee", "c", "label"};
    const char *path = table("renamed.csv", renamed, 4);
    assert_one_error_line(run("eval '%s' 'csv:%s,label=label'", model, path),
                          "with the model's training options: ");
    char *err = slurp(ERR);
    assert_contains(err, "unknown column in the keep list: 'b'");
    free(err);
    assert_one_error_line(run("predict '%s' 'csv:%s' --out '%s/x.csv'", model, path, dir),
                          "'b'");
    /* read without the training columns' names (keep= given): the model's own check */
    assert_one_error_line(run("eval '%s' 'csv:%s,label=label,keep=a+bee+c'", model, path),
                          "no column 'b', which the model was trained on");
}

/* The same for a classifier from genxfer scratch (the models of scratch, pp, pssl, kd). */
static void test_classifier_model(void **state) {
    (void)state;
    char out[700], cls[800];
    snprintf(out, sizeof out, "%s/scratch", dir);
    assert_int_equal(run("scratch --data 'csv:%s/train.csv,label=label' --arch fc16-relu,fc "
                         "--epochs 3 --seed 1 --threads 1 --quiet --out '%s'", dir, out), 0);
    snprintf(cls, sizeof cls, "%s/model.safetensors", out);
    assert_same_eval(cls);
    assert_one_error_line(run("eval '%s' 'csv:%s/renamed.csv,label=label'", cls, dir), "'b'");
}

/* Data far from the training data's distribution are reported: a warning above 1% of rows. */
static void test_drift_reported(void **state) {
    (void)state;
    char path[700];
    snprintf(path, sizeof path, "%s/drift.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "a,b,c,label\n");
    for (int i = 0; i < 100; i++) /* one row in ten with a 100 sd away from training's */
        fprintf(f, "%.2f,%.2f,0.1,%s\n", i % 10 ? 0.5 : 500.0, -0.5, i % 2 ? "yes" : "no");
    fclose(f);
    assert_int_equal(run("eval '%s' 'csv:%s' --threads 1", model, path), 0);
    char *err = slurp(ERR);
    assert_contains(err, "warning: csv:");
    assert_contains(err, "10.00% of the rows (10 of 100) have a feature more than 6 standard "
                         "deviations from the training data's mean (most often column 'a')");
    free(err);
    /* the training file itself: no warning */
    assert_int_equal(run("eval '%s' 'csv:%s/train.csv' --threads 1", model, dir), 0);
    err = slurp(ERR);
    assert_null(strstr(err, "warning"));
    free(err);
}

static int cmp_float(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* impute=median at training: the model keeps the training medians, and predict fills a file's
 * missing values with them (not with the file's own): a file whose column a is all missing gives
 * the predictions of the same rows with a set to the training median. */
static void test_impute_travels(void **state) {
    (void)state;
    char train[700], run_dir[700], mdl[800], missing[700], filled[700];
    snprintf(train, sizeof train, "%s/impute-train.csv", dir);
    FILE *f = fopen(train, "w");
    assert_non_null(f);
    fprintf(f, "a,b,label\n");
    float a_vals[240];
    int n_a = 0;
    for (int i = 0; i < 240; i++) {
        const int y = i % 2;
        const float a = (float)(2.0 * y + sin(i * 12.9898)), b = (float)(-2.0 * y + cos(i * 7.1));
        char as[32];
        snprintf(as, sizeof as, "%.4f", a);
        if (i % 5 == 0) fprintf(f, "NA,%.4f,%s\n", b, y ? "yes" : "no"); /* a missing */
        else {
            fprintf(f, "%s,%.4f,%s\n", as, b, y ? "yes" : "no");
            a_vals[n_a++] = strtof(as, NULL);
        }
    }
    fclose(f);
    snprintf(run_dir, sizeof run_dir, "%s/impute-run", dir);
    assert_int_equal(run("train --preset mlp --domain 'csv:%s,label=label,impute=median' --epochs 2 "
                         "--seed 1 --threads 1 --quiet --no-figures --out '%s'", train, run_dir), 0);
    snprintf(mdl, sizeof mdl, "%s/model.safetensors", run_dir);
    qsort(a_vals, (size_t)n_a, sizeof *a_vals, cmp_float);
    const float median = n_a % 2 ? a_vals[n_a / 2]
                                  : (float)(0.5 * ((double)a_vals[n_a / 2 - 1] + a_vals[n_a / 2]));
    gx_st_file *sf;
    gx_error err;
    assert_int_equal(gx_st_open(mdl, &sf, &err), 0);
    const char *kept = gx_st_metadata(sf, "domain.csv.impute");
    assert_non_null(kept);
    assert_float_equal(strtof(kept + 1, NULL), median, 1e-6); /* "[median,...]" */
    gx_st_close(sf);
    snprintf(missing, sizeof missing, "%s/impute-missing.csv", dir);
    snprintf(filled, sizeof filled, "%s/impute-filled.csv", dir);
    FILE *m = fopen(missing, "w"), *g = fopen(filled, "w");
    assert_non_null(m);
    assert_non_null(g);
    fprintf(m, "a,b\n");
    fprintf(g, "a,b\n");
    for (int i = 0; i < 20; i++) {
        fprintf(m, ",%.4f\n", 0.3 * i - 3);
        fprintf(g, "%.9g,%.4f\n", median, 0.3 * i - 3);
    }
    fclose(m);
    fclose(g);
    char *p1 = predictions_of(mdl, missing, ""), *p2 = predictions_of(mdl, filled, "");
    assert_string_equal(p1, p2);
    free(p1);
    free(p2);
}

/* The mean and std that model file mdl stores for column j of domain dom. */
static void stored_stats(const char *mdl, const char *dom, int j, float *mean, float *sd) {
    gx_st_file *f;
    gx_error err;
    assert_int_equal(gx_st_open(mdl, &f, &err), 0);
    char key[64];
    float v[8];
    snprintf(key, sizeof key, "prep.%s.mean", dom);
    int64_t shape[1] = {gx_st_find(f, key)->shape[0]};
    assert_true(shape[0] <= 8 && j < shape[0]);
    assert_int_equal(gx_st_read_f32(f, key, 1, shape, v, &err), 0);
    *mean = v[j];
    snprintf(key, sizeof key, "prep.%s.std", dom);
    assert_int_equal(gx_st_read_f32(f, key, 1, shape, v, &err), 0);
    *sd = v[j];
    gx_st_close(f);
}

/* std-from=src:c: the target's column c takes the source's statistics (same units in both) */
static void test_std_from(void **state) {
    (void)state;
    char tgt[700], out[700], mdl[800];
    snprintf(tgt, sizeof tgt, "%s/tgt.csv", dir);
    FILE *f = fopen(tgt, "w");
    assert_non_null(f);
    fprintf(f, "c,a,label\n");
    for (int i = 0; i < 120; i++)
        fprintf(f, "%.4f,%.4f,%s\n", 10 * sin(i * 3.7) + 5, 2.0 * (i % 2) + sin(i * 12.9898),
                i % 2 ? "yes" : "no");
    fclose(f);
    snprintf(out, sizeof out, "%s/std_from", dir);
    const char *common = "train --domain 'csv:%s/train.csv,label=label,name=src' --domain "
                         "'csv:%s,label=label,name=tgt,k=0,std-from=%s' --epochs 1 --enc 8,8 "
                         "--dec 8,8 --z 2 --threads 1 --quiet --no-figures --out '%s'";
    int rc = run(common, dir, tgt, "src:c", out);
    if (rc) fprintf(stderr, "training failed: %s\n", slurp(ERR));
    assert_int_equal(rc, 0);
    snprintf(mdl, sizeof mdl, "%s/model.safetensors", out);
    float m_src, s_src, m_tgt, s_tgt, m_a, s_a, m_sa, s_sa;
    stored_stats(mdl, "src", 2, &m_src, &s_src); /* c is the source's third column */
    stored_stats(mdl, "tgt", 0, &m_tgt, &s_tgt); /* and the target's first */
    assert_true(m_src == m_tgt && s_src == s_tgt);
    assert_true(fabs(m_tgt - 5) > 2); /* not the target's own mean (about 5) */
    stored_stats(mdl, "src", 0, &m_sa, &s_sa);   /* a keeps the target's own statistics */
    stored_stats(mdl, "tgt", 1, &m_a, &s_a);
    assert_true(m_a != m_sa);
    /* a domain or column that is not there: one line naming it */
    assert_one_error_line(run(common, dir, tgt, "nope:c", out), "no earlier domain is named 'nope'");
    assert_one_error_line(run(common, dir, tgt, "src:b", out),
                          "feature 'b' is not a column of this domain");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_stored),
        cmocka_unit_test(test_any_column_order),
        cmocka_unit_test(test_missing_or_renamed_column),
        cmocka_unit_test(test_classifier_model),
        cmocka_unit_test(test_drift_reported),
        cmocka_unit_test(test_impute_travels),
        cmocka_unit_test(test_std_from),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
