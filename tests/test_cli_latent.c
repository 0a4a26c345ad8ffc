/* End-to-end tests of genxfer latent on a tiny two-domain DVT model (MNIST and USPS framed like
 * MNIST) and a tiny M2 model: the figure and the coordinates, the rows drawn per domain, the
 * colour rule for unlabelled data, and bad invocations (one error line, exit 1; usage errors,
 * exit 2). */
#include "test_cli_util.h"

#include <math.h>

#include "data/readers.h"
#include "io/figure.h"
#include "io/safetensors.h"

#define USPS_FRAMED "usps:train,limit=120,resize=20x20,pad=4"

static char dvt_dir[600], m2_dir[600];

/* Trains a tiny model into dir (left empty on failure, with the error on stderr). */
static void train(char *dir, size_t n, const char *name, const char *args) {
    test_path(dir, n, name);
    int rc = run("train %s --epochs 1 --batch 30 --batch-unlabelled 30 --enc 32,32 --dec 32 --z 4 "
                 "--seed 2 --threads 1 --quiet --out '%s'", args, dir);
    if (rc != 0) {
        char *err = slurp(ERR);
        fprintf(stderr, "training %s failed (exit %d): %s\n", name, rc, err);
        free(err);
        dir[0] = '\0';
    }
}

static int setup(void **state) {
    (void)state;
    if (!test_data_dir()) return 0;
    train(dvt_dir, sizeof dvt_dir, "dvt",
          "--preset dvt --domain mnist:train,limit=300 "
          "--domain usps:train,limit=300,resize=20x20,pad=4,share=mnist,k=0");
    train(m2_dir, sizeof m2_dir, "m2", "--preset m2 --domain mnist:train,limit=300,k=10");
    return 0;
}

static const char *model(const char *dir) {
    static char p[700];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    return p;
}

/* The coordinates file: [n, 2] float32, every value finite. Returns the array (caller frees). */
static gx_npy_array read_coords(const char *path, int64_t n) {
    gx_npy_array a;
    gx_error err;
    if (gx_npy_read(path, &a, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(a.dtype, GX_NPY_F32);
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.shape[0], n);
    assert_int_equal(a.shape[1], 2);
    const float *v = a.data;
    for (int64_t i = 0; i < 2 * n; i++) assert_true(isfinite(v[i]));
    return a;
}

/* Column j's mean and variance of a [n, 2] array. */
static void column_stats(const float *v, int64_t n, int j, double *mean, double *var) {
    double s = 0, ss = 0;
    for (int64_t i = 0; i < n; i++) s += v[2 * i + j];
    *mean = s / n;
    for (int64_t i = 0; i < n; i++) ss += (v[2 * i + j] - *mean) * (v[2 * i + j] - *mean);
    *var = ss / (n - 1);
}

/* Two domains, --limit drawing 250 of MNIST's 300 rows and all 120 of USPS's: the counts on
 * stdout, a PNG of plausible size, and PCA coordinates [370, 2] with zero mean and the larger
 * variance first. */
static void test_latent_dvt(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    assert_true(dvt_dir[0]);
    char png[700], npy[700];
    test_path(png, sizeof png, "dvt.png");
    test_path(npy, sizeof npy, "dvt.npy");
    assert_int_equal(run("latent '%s' --data mnist=mnist:train,limit=300 --data usps=" USPS_FRAMED
                         " --limit 250 --out '%s' --npy '%s' --threads 1",
                         model(dvt_dir), png, npy), 0);
    char *out = slurp(OUT);
    assert_contains(out, "mnist: 250 of 300 examples of mnist:train,limit=300, colour: true class");
    assert_contains(out, "usps: 120 of 120 examples of " USPS_FRAMED ", colour: true class");
    assert_contains(out, "PCA of 370 latent means (z = 4)");
    assert_contains(out, "(with the 10 component means)");
    assert_contains(out, png);
    free(out);

    int W, H;
    png_size(png, &W, &H); /* the square plot area, axes, a legend at the right, a title */
    assert_true(W > GX_SCATTER_PLOT_SIDE + 150 && W < GX_SCATTER_PLOT_SIDE + 500);
    assert_true(H > GX_SCATTER_PLOT_SIDE + 40 && H < GX_SCATTER_PLOT_SIDE + 150);

    gx_npy_array a = read_coords(npy, 370);
    double m0, v0, m1, v1;
    column_stats(a.data, 370, 0, &m0, &v0);
    column_stats(a.data, 370, 1, &m1, &v1);
    assert_true(v0 > 0 && v0 >= v1);
    assert_true(fabs(m0) < 1e-4 * sqrt(v0) + 1e-6);
    assert_true(fabs(m1) < 1e-4 * sqrt(v0) + 1e-6);
    gx_npy_free(&a);
}

/* The rows drawn follow --seed: the same seed gives the same coordinates, another seed others. */
static void test_latent_seed(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    assert_true(dvt_dir[0]);
    char png[700], npy[3][700];
    test_path(png, sizeof png, "seed.png");
    const long seeds[3] = {5, 5, 6};
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "seed%d.npy", i);
        test_path(npy[i], sizeof npy[i], name);
        assert_int_equal(run("latent '%s' --data mnist=mnist:train,limit=300 --limit 100 --seed %ld "
                             "--out '%s' --npy '%s' --threads 1",
                             model(dvt_dir), seeds[i], png, npy[i]), 0);
    }
    gx_npy_array a = read_coords(npy[0], 100), b = read_coords(npy[1], 100),
                 c = read_coords(npy[2], 100);
    assert_memory_equal(a.data, b.data, 200 * sizeof(float));
    assert_memory_not_equal(a.data, c.data, 200 * sizeof(float));
    gx_npy_free(&a);
    gx_npy_free(&b);
    gx_npy_free(&c);
}

/* Data without labels (an .npy of images) and --colour predicted are coloured by the predicted
 * class; an M2 model has no component means; --no-means leaves them out of a DVT figure. */
static void test_latent_colours_and_means(void **s) {
    (void)s;
    if (!test_data_dir()) skip();
    assert_true(dvt_dir[0] && m2_dir[0]);
    char x_npy[700], png[700];
    test_path(x_npy, sizeof x_npy, "unlabelled.npy");
    test_path(png, sizeof png, "colours.png");
    enum { N = 40, D = 784 };
    static float x[N * D];
    for (int i = 0; i < N * D; i++) x[i] = (float)((i * 7919) % 256) / 255.0f;
    int64_t shape[2] = {N, D};
    gx_error err;
    assert_int_equal(gx_npy_write(x_npy, GX_NPY_F32, 2, shape, x, &err), 0);
    assert_int_equal(run("latent '%s' --data 'mnist=npy:%s' --data mnist=mnist:test,limit=30 "
                         "--out '%s' --threads 1", model(dvt_dir), x_npy, png), 0);
    char *out = slurp(OUT);
    assert_contains(out, "40 of 40 examples of npy:");
    assert_contains(out, "colour: predicted class");
    assert_contains(out, "mnist: 30 of 30 examples of mnist:test,limit=30, colour: true class");
    free(out);

    assert_int_equal(run("latent '%s' --data mnist=mnist:test,limit=30 --colour predicted "
                         "--no-means --out '%s' --threads 1", model(dvt_dir), png), 0);
    out = slurp(OUT);
    assert_contains(out, "colour: predicted class");
    assert_null(strstr(out, "component means"));
    free(out);

    assert_int_equal(run("latent '%s' --data mnist=mnist:test,limit=30 --out '%s' --threads 1",
                         model(m2_dir), png), 0);
    out = slurp(OUT);
    assert_contains(out, "PCA of 30 latent means (z = 4)");
    assert_null(strstr(out, "component means"));
    free(out);
}

/* A file named by an error was not written. */
static void assert_absent(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    assert_null(f);
}

static void test_latent_errors(void **s) {
    (void)s;
    char png[700], other[700], missing[700];
    test_path(png, sizeof png, "error.png");
    test_path(missing, sizeof missing, "no-such-folder/x.png");
    /* usage errors: exit 2 */
    assert_int_equal(run("latent"), 2);
    assert_int_equal(run("latent x.safetensors"), 2); /* no --data */
    assert_int_equal(run("latent x.safetensors --data mnist=mnist:test --bogus"), 2);
    assert_int_equal(run("latent x.safetensors --data"), 2);
    assert_int_equal(run("latent a.safetensors b.safetensors --data mnist=mnist:test"), 2);
    /* bad values */
    assert_one_error_line(run("latent x.safetensors --data mnist:test"), "not DOMAIN=SPEC");
    assert_one_error_line(run("latent x.safetensors --data mnist=mnist:test --limit -1"), "--limit");
    assert_one_error_line(run("latent x.safetensors --data mnist=mnist:test --colour red"), "red");
    assert_one_error_line(run("latent x.safetensors --data mnist=mnist:test --out '%s'", missing),
                          "no such folder");
    assert_one_error_line(run("latent x.safetensors --data mnist=mnist:test --npy '%s'", missing),
                          "no such folder");
    /* a safetensors file of another kind */
    test_path(other, sizeof other, "other.safetensors");
    gx_error err;
    gx_st_writer *w = gx_st_writer_new(&err);
    float v = 1;
    int64_t shape[1] = {1};
    gx_st_writer_add(w, "w", GX_ST_F32, 1, shape, &v, &err);
    gx_st_writer_meta(w, "format", "genxfer.classifier", &err);
    assert_int_equal(gx_st_write(w, other, &err), 0);
    gx_st_writer_free(w);
    assert_one_error_line(run("latent '%s' --data mnist=mnist:test --out '%s'", other, png),
                          "not a genxfer M2/DVT model");
    if (!test_data_dir() || !dvt_dir[0]) {
        assert_absent(png);
        return;
    }
    /* an unknown domain lists the model's domains */
    assert_one_error_line(run("latent '%s' --data svhn=mnist:test --out '%s'", model(dvt_dir), png),
                          "no domain 'svhn' (its domains: mnist, usps)");
    /* specs that fail to load, or do not fit the domain */
    assert_one_error_line(run("latent '%s' --data mnist=csv:/nonexistent/x.csv,label=y --out '%s'",
                              model(dvt_dir), png), "/nonexistent/x.csv");
    /* a usps spec that contradicts how the usps domain was trained (resize=20x20, pad=4: the
     * plain usps:test is read that way, the training options completing it) */
    assert_one_error_line(run("latent '%s' --data mnist=mnist:test,limit=5 "
                              "--data usps=usps:test,resize=16x16 --out '%s'", model(dvt_dir), png),
                          "resize=16x16, but the model's training data were read with resize=20x20");
    /* one example in all is too few to project */
    assert_one_error_line(run("latent '%s' --data mnist=mnist:test,limit=1 --out '%s'",
                              model(dvt_dir), png), "at least 2");
    assert_absent(png);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latent_dvt),
        cmocka_unit_test(test_latent_seed),
        cmocka_unit_test(test_latent_colours_and_means),
        cmocka_unit_test(test_latent_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
