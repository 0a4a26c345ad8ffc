/* End-to-end tests of genxfer translate on a tiny DVT model of two CSV domains (a source with
 * three columns, a target with two others, one of them around 100), a tiny mlp model, and, when
 * the shared data are there, a tiny DVT model of MNIST and USPS (plain and framed like MNIST):
 * the CSV (header, rows, units), standard output, the PNG layouts, and bad invocations (one error
 * line, exit 1; usage errors, exit 2). */
#include "test_cli_util.h"

#include <math.h>

#include "data/readers.h"
#include "io/figure.h"

#define N_ROWS 60

static char src_csv[600], tgt_csv[600], dvt_dir[600], mlp_dir[600], img_dir[600];
static double tgt_p_min, tgt_p_max; /* the range of the target's column p */

/* Trains a model into the scratch folder `name` (dir left empty on failure, with the error on
 * stderr). */
static void train(char *dir, size_t n, const char *name, const char *args) {
    test_path(dir, n, name);
    int rc = run("train %s --threads 1 --quiet --no-figures --out '%s'", args, dir);
    if (rc != 0) {
        char *err = slurp(ERR);
        fprintf(stderr, "training %s failed (exit %d): %s\n", name, rc, err);
        free(err);
        dir[0] = '\0';
    }
}

/* Two labelled CSV domains: src (a, b, c) and tgt (p around 100, q around -2), classes no/yes. */
static void write_data(void) {
    test_path(src_csv, sizeof src_csv, "src.csv");
    test_path(tgt_csv, sizeof tgt_csv, "tgt.csv");
    FILE *s = fopen(src_csv, "w"), *t = fopen(tgt_csv, "w");
    assert_non_null(s);
    assert_non_null(t);
    fprintf(s, "a,b,c,label\n");
    fprintf(t, "p,q,label\n");
    tgt_p_min = INFINITY;
    tgt_p_max = -INFINITY;
    for (int i = 0; i < N_ROWS; i++) {
        const int k = i % 2;
        const double u = (double)((i * 37) % 17) / 17.0 - 0.5, v = (double)((i * 11) % 13) / 13.0;
        const double p = 100 + 5 * k + 6 * u;
        fprintf(s, "%.3f,%.3f,%.3f,%s\n", k + u, -k + v, 5 + 2 * u * v, k ? "yes" : "no");
        fprintf(t, "%.3f,%.3f,%s\n", p, -2 + 0.5 * v, k ? "yes" : "no");
        if (p < tgt_p_min) tgt_p_min = p;
        if (p > tgt_p_max) tgt_p_max = p;
    }
    assert_int_equal(fclose(s), 0);
    assert_int_equal(fclose(t), 0);
}

static int setup(void **state) {
    (void)state;
    write_data();
    char args[1600];
    snprintf(args, sizeof args,
             "--preset dvt --domain 'csv:%s,label=label,name=src' "
             "--domain 'csv:%s,label=label,name=tgt,k=2' --epochs 2 --enc 8,8 --dec 8,8 --z 2",
             src_csv, tgt_csv);
    train(dvt_dir, sizeof dvt_dir, "dvt", args);
    snprintf(args, sizeof args,
             "--preset mlp --domain 'csv:%s,label=label,name=src' "
             "--domain 'csv:%s,label=label,name=tgt,k=2' --epochs 1 --enc 8,8",
             src_csv, tgt_csv);
    train(mlp_dir, sizeof mlp_dir, "mlp", args);
    if (test_data_dir())
        train(img_dir, sizeof img_dir, "images",
              "--preset dvt --domain mnist:train,limit=300 --domain usps:train,limit=300,k=0 "
              "--domain usps:train,limit=300,resize=20x20,pad=4,k=0,name=framed --epochs 1 "
              "--batch 30 --batch-unlabelled 30 --enc 32,16 --dec 16,32 --z 4 --seed 2");
    return 0;
}

static const char *model(const char *dir) {
    static char p[700];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    return p;
}

/* The lines of a CSV text: the header into header [n], the count of data lines returned; each
 * data line has `fields` fields, every one after the first `skip` a finite number; the mean of
 * field `col` goes to *mean. */
static int check_rows(const char *text, char *header, size_t n, int fields, int skip, int col,
                      double *mean) {
    const char *eol = strchr(text, '\n');
    assert_non_null(eol);
    snprintf(header, n, "%.*s", (int)(eol - text), text);
    int rows = 0;
    double sum = 0;
    for (const char *line = eol + 1; *line; rows++) {
        eol = strchr(line, '\n');
        assert_non_null(eol);
        char buf[512];
        snprintf(buf, sizeof buf, "%.*s", (int)(eol - line), line);
        int f = 0;
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save), f++) {
            if (f < skip) continue;
            char *end;
            double v = strtod(tok, &end);
            assert_true(end != tok && *end == '\0' && isfinite(v));
            if (f == col) sum += v;
        }
        assert_int_equal(f, fields);
        line = eol + 1;
    }
    if (mean) *mean = rows ? sum / rows : NAN;
    return rows;
}

/* src -> tgt: the target's column names after label, --n rows, values in the target's units (p
 * around 100, not around 0: the standardisation undone); the status line. */
static void test_translate_csv(void **s) {
    (void)s;
    assert_true(dvt_dir[0]);
    char out[700], header[256];
    test_path(out, sizeof out, "t.csv");
    assert_int_equal(run("translate '%s' --from src --to tgt 'csv:%s,label=label' --n 10 "
                         "--out '%s' --threads 1", model(dvt_dir), src_csv, out), 0);
    char *text = slurp(out), *status = slurp(OUT);
    double mean;
    assert_int_equal(check_rows(text, header, sizeof header, 3, 1, 1, &mean), 10);
    assert_string_equal(header, "label,p,q");
    assert_true(!strncmp(strchr(text, '\n') + 1, "no,", 3)); /* row 0's class */
    assert_true(mean >= tgt_p_min && mean <= tgt_p_max);
    char want[1600];
    snprintf(want, sizeof want, "wrote 10 translations of csv:%s,label=label from domain src to "
                                "tgt to %s\n", src_csv, out);
    assert_string_equal(status, want);
    free(text);
    free(status);

    /* without labels: no label column; --n 0 is every row; the default --n is 64, more than the
     * file has */
    assert_int_equal(run("translate '%s' --from src --to tgt 'csv:%s' --n 0 --out '%s' "
                         "--threads 1", model(dvt_dir), src_csv, out), 0);
    text = slurp(out);
    assert_int_equal(check_rows(text, header, sizeof header, 2, 0, 0, &mean), N_ROWS);
    assert_string_equal(header, "p,q");
    assert_true(mean >= tgt_p_min && mean <= tgt_p_max);
    free(text);
    assert_int_equal(run("translate '%s' --from src --to tgt 'csv:%s' --out '%s' --threads 1",
                         model(dvt_dir), src_csv, out), 0);
    text = slurp(out);
    assert_int_equal(check_rows(text, header, sizeof header, 2, 0, 0, NULL), N_ROWS);
    free(text);

    /* the other way: the source's three columns */
    assert_int_equal(run("translate '%s' --from tgt --to src 'csv:%s,label=label' --n 5 "
                         "--out '%s' --threads 1", model(dvt_dir), tgt_csv, out), 0);
    text = slurp(out);
    assert_int_equal(check_rows(text, header, sizeof header, 4, 1, 3, &mean), 5);
    assert_string_equal(header, "label,a,b,c");
    assert_true(mean > 3 && mean < 7); /* c: around 5 */
    free(text);
}

/* More rows than one workspace holds (500): the source's rows repeated 20 times translate, chunk
 * after chunk, to the same lines repeated. */
static void test_translate_chunks(void **s) {
    (void)s;
    assert_true(dvt_dir[0]);
    enum { REPEAT = 20 };
    char big[700], out[700], header[256];
    test_path(big, sizeof big, "big.csv");
    test_path(out, sizeof out, "big-t.csv");
    char *text = slurp(src_csv), *body = strchr(text, '\n') + 1;
    FILE *f = fopen(big, "w");
    assert_non_null(f);
    fprintf(f, "%.*s", (int)(body - text), text);
    for (int r = 0; r < REPEAT; r++) fputs(body, f);
    assert_int_equal(fclose(f), 0);
    free(text);
    assert_int_equal(run("translate '%s' --from src --to tgt 'csv:%s,label=label' --n 0 "
                         "--out '%s' --threads 1", model(dvt_dir), big, out), 0);
    text = slurp(out);
    assert_int_equal(check_rows(text, header, sizeof header, 3, 1, 1, NULL), REPEAT * N_ROWS);
    /* the first N_ROWS lines again and again */
    body = strchr(text, '\n') + 1;
    const size_t len = strlen(body) / REPEAT;
    for (int r = 1; r < REPEAT; r++) assert_memory_equal(body + r * len, body, len);
    free(text);
}

/* --out -: the CSV on standard output, the status line on standard error. */
static void test_translate_stdout(void **s) {
    (void)s;
    assert_true(dvt_dir[0]);
    assert_int_equal(run("translate '%s' --from src --to tgt 'csv:%s,label=label' --n 7 --out - "
                         "--threads 1", model(dvt_dir), src_csv), 0);
    char *out = slurp(OUT), *err = slurp(ERR), header[256];
    assert_int_equal(check_rows(out, header, sizeof header, 3, 1, 1, NULL), 7);
    assert_string_equal(header, "label,p,q");
    assert_contains(err, "wrote 7 translations of csv:");
    assert_contains(err, "from domain src to tgt to -\n");
    free(out);
    free(err);
}

/* A file named by an error was not written. */
static void assert_absent(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    assert_null(f);
}

static void test_translate_errors(void **s) {
    (void)s;
    char out[700], missing[700];
    test_path(out, sizeof out, "error.csv");
    test_path(missing, sizeof missing, "missing.safetensors");
    /* usage errors: exit 2 */
    assert_int_equal(run("translate"), 2);
    assert_int_equal(run("translate m.safetensors x.csv"), 2); /* no --from, --to */
    assert_int_equal(run("translate m.safetensors --from a x.csv"), 2);
    assert_int_equal(run("translate m.safetensors --from a --to b"), 2); /* no SPEC */
    assert_int_equal(run("translate m.safetensors --from a --to b x.csv --bogus"), 2);
    assert_int_equal(run("translate m.safetensors --from a --to b x.csv --tto b"), 2);
    char *err = slurp(ERR);
    assert_contains(err, "did you mean '--to'?");
    free(err);
    assert_int_equal(run("translate m.safetensors --from a --to b x.csv --n"), 2);
    /* bad values, a missing model */
    assert_one_error_line(run("translate m.safetensors --from a --to b x.csv --n -1"), "--n");
    assert_one_error_line(run("translate m.safetensors --from a --to b x.csv --threads 0"),
                          "--threads");
    assert_one_error_line(run("translate '%s' --from a --to b x.csv", missing), missing);
    assert_true(dvt_dir[0] && mlp_dir[0]);
    /* unknown domains, the same domain twice */
    assert_one_error_line(run("translate '%s' --from svhn --to tgt 'csv:%s' --out '%s'",
                              model(dvt_dir), src_csv, out),
                          "no domain 'svhn' (its domains: src, tgt)");
    assert_one_error_line(run("translate '%s' --from src --to svhn 'csv:%s' --out '%s'",
                              model(dvt_dir), src_csv, out), "--to svhn");
    assert_one_error_line(run("translate '%s' --from tgt --to tgt 'csv:%s' --out '%s'",
                              model(dvt_dir), tgt_csv, out), "both domain tgt");
    /* a model that is not dvt */
    assert_one_error_line(run("translate '%s' --from src --to tgt 'csv:%s' --out '%s'",
                              model(mlp_dir), src_csv, out), "a mlp model cannot translate");
    /* data of the wrong domain: the source's columns are not there */
    assert_one_error_line(run("translate '%s' --from src --to tgt 'csv:%s' --out '%s'",
                              model(dvt_dir), tgt_csv, out), "unknown columns");
    assert_one_error_line(run("translate '%s' --from src --to tgt 'csv:/nonexistent/x.csv' "
                              "--out '%s'", model(dvt_dir), out), "/nonexistent/x.csv");
    assert_absent(out);
}

/* The height of the image grid: rows of h x h images (scale 64 / h), a title, with_cols a band of
 * column labels. */
static int grid_height(int rows, int h, int with_cols) {
    const int side = h * (64 / h > 4 ? 4 : 64 / h);
    return 2 * GX_FIG_MARGIN + GX_FIG_TITLE_H + (with_cols ? GX_FIG_COL_LABEL_H : 0) +
           rows * side + (rows - 1) * GX_FIG_SPACING;
}

/* Images: MNIST (28x28) to USPS (16x16) shows the translations alone, MNIST to USPS framed like
 * MNIST (28x28) pairs with the column labels; one row per class present in the first 20 rows of
 * mnist:test (0, 1, 2, 3, 4, 5, 6, 7 and 9), 8 examples to a row at most; unlabelled rows (an
 * .npy) 8 to a row in order. A PNG to standard output is refused. */
static void test_translate_images(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    assert_true(img_dir[0]);
    char png[700], npy[700];
    test_path(png, sizeof png, "t.png");
    int W, H;
    assert_int_equal(run("translate '%s' --from mnist --to usps mnist:test,limit=20 --n 20 "
                         "--out '%s' --threads 1", model(img_dir), png), 0);
    png_size(png, &W, &H);
    assert_int_equal(H, grid_height(9, 16, 0));
    assert_true(W > 8 * 64 && W < 8 * 64 + 200);
    char *out = slurp(OUT);
    assert_contains(out, "wrote 20 translations of mnist:test,limit=20 from domain mnist to usps");
    free(out);

    assert_int_equal(run("translate '%s' --from mnist --to framed mnist:test --n 20 --out '%s' "
                         "--threads 1", model(img_dir), png), 0);
    png_size(png, &W, &H);
    assert_int_equal(H, grid_height(9, 28, 1));
    assert_true(W > 16 * 56 && W < 16 * 56 + 200);

    /* unlabelled: 20 rows, 8 to a row */
    test_path(npy, sizeof npy, "x.npy");
    enum { N = 20, D = 784 };
    static float x[N * D];
    for (int i = 0; i < N * D; i++) x[i] = (float)((i * 7919) % 256) / 255.0f;
    gx_error e;
    assert_int_equal(gx_npy_write(npy, GX_NPY_F32, 2, (int64_t[]){N, D}, x, &e), 0);
    assert_int_equal(run("translate '%s' --from mnist --to usps 'npy:%s' --out '%s' --threads 1",
                         model(img_dir), npy, png), 0);
    png_size(png, &W, &H);
    assert_int_equal(H, grid_height(3, 16, 0));

    assert_one_error_line(run("translate '%s' --from mnist --to usps mnist:test --out - "
                              "--threads 1", model(img_dir)), "PNG");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_translate_csv),
        cmocka_unit_test(test_translate_chunks),
        cmocka_unit_test(test_translate_stdout),
        cmocka_unit_test(test_translate_errors),
        cmocka_unit_test(test_translate_images),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
