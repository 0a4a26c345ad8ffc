/* examples/load_model.py reads genxfer models with numpy alone and runs q(y|x) as genxfer does:
 * for tiny models of every preset and activation, with and without batch norm, standardisation,
 * a shared input block, a hidden classifier layer and a deeper trunk, its probabilities match
 * `genxfer predict`'s to 1e-5. Skipped (with a message) where no python3 with numpy is found:
 * $GENXFER_PYTHON, else python3 on the PATH, else the system's /usr/bin/python3 (where Debian's
 * python3-numpy goes). */
#include "test_cli_util.h"

#include <math.h>

#include "test_fs_util.h"
#include "test_toy_util.h"

#include "io/safetensors.h"

#define SCRIPT "examples/load_model.py"

enum { N = 240, K = 3 };

static char python[512];
static char xa[600], xb[600], xu[600], ya[600];

static int find_python(void) {
    const char *env = getenv("GENXFER_PYTHON");
    const char *candidates[] = {env && *env ? env : "python3", "python3", "/usr/bin/python3"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "'%s' -c 'import numpy'", candidates[i]);
        if (test_run(cmd, NULL) == 0) {
            snprintf(python, sizeof python, "%s", candidates[i]);
            return 1;
        }
    }
    return 0;
}

/* Three feature sets of the same N rows and labels: a (4 features around 10: standardised),
 * b (a scaled and shifted: a second domain in a's feature space), u (6 features in (0, 1): not
 * standardised, Bernoulli). */
static int setup(void **state) {
    (void)state;
    if (!find_python()) {
        fprintf(stderr, "test_load_model_py: no python3 with numpy (set GENXFER_PYTHON, or install "
                        "python3-numpy); skipping\n");
        return 0;
    }
    static float a[N * 4], b[N * 4], u[N * 6];
    static int32_t y[N];
    toy_make(a, y, N, 4, K, 10.0f, 0, 11);
    for (int i = 0; i < N * 4; i++) b[i] = 0.5f * a[i] - 4.0f;
    toy_make(u, y, N, 6, K, 0.0f, 1, 12);
    toy_write_npy(test_path(xa, sizeof xa, "xa.npy"), test_path(ya, sizeof ya, "y.npy"), a, y, N, 4);
    toy_write_npy(test_path(xb, sizeof xb, "xb.npy"), NULL, b, NULL, N, 4);
    toy_write_npy(test_path(xu, sizeof xu, "xu.npy"), NULL, u, NULL, N, 6);
    return 0;
}

/* Trains `genxfer train ARGS` (the domains and settings) into scratch folder `name`. */
static void train(const char *name, const char *args, char *model, size_t n) {
    char dir[600];
    test_path(dir, sizeof dir, name);
    int rc = run("train %s --epochs 2 --batch 20 --batch-unlabelled 20 --z 3 --seed 2 --quiet "
                 "--out '%s'", args, dir);
    if (rc != 0) {
        char *err = slurp(ERR);
        fail_msg("training %s failed (exit %d): %s", name, rc, err);
    }
    snprintf(model, n, "%s/model.safetensors", dir);
}

/* One CSV of probabilities: the header line and the p_ columns [rows, K]. */
static int read_probs(const char *path, char *header, size_t hn, double *p, int max_rows) {
    char *text = slurp(path), *line = text;
    size_t len = strcspn(line, "\n");
    snprintf(header, hn, "%.*s", (int)len, line);
    int rows = 0;
    for (line += len; *line == '\n' && line[1]; line += strcspn(line + 1, "\n") + 1) {
        assert_true(rows < max_rows);
        char *q = strchr(strchr(line + 1, ',') + 1, ',');
        for (int k = 0; k < K; k++) p[rows * K + k] = strtod(q + 1, &q);
        rows++;
    }
    free(text);
    return rows;
}

/* genxfer predict and the script on the same rows (x_npy) of `domain`: the same classes, the
 * same rows, probabilities within 1e-5. */
static void compare(const char *model, const char *domain, const char *x_npy, const char *reader) {
    char cli[600], py[600], cmd[3000];
    test_path(cli, sizeof cli, "genxfer.csv");
    test_path(py, sizeof py, "python.csv");
    assert_int_equal(run("predict '%s' 'npy:%s' --domain %s --out '%s'", model, x_npy, domain, cli), 0);
    snprintf(cmd, sizeof cmd, "'%s' " SCRIPT " --model '%s' --domain %s --input '%s' --out '%s' "
             "--reader %s", python, model, domain, x_npy, py, reader);
    char log[600];
    if (test_run(cmd, test_path(log, sizeof log, "python.log")) != 0) {
        char *text = slurp(log);
        fail_msg("%s failed: %s", SCRIPT, text);
    }
    static double a[N * K], b[N * K];
    char ha[256], hb[256];
    assert_int_equal(read_probs(cli, ha, sizeof ha, a, N), N);
    assert_int_equal(read_probs(py, hb, sizeof hb, b, N), N);
    assert_string_equal(ha, hb);
    double worst = 0;
    for (int i = 0; i < N * K; i++) worst = fmax(worst, fabs(a[i] - b[i]));
    if (!(worst <= 1e-5))
        fail_msg("domain %s of %s: probabilities differ by up to %g", domain, model, worst);
}

#define NEED_PYTHON() \
    do {              \
        if (!*python) skip(); \
    } while (0)

/* dvt, batch norm (per-domain statistics of a shared input block), standardisation, tanh,
 * a hidden classifier layer. */
static void test_dvt_shared_block(void **s) {
    (void)s;
    NEED_PYTHON();
    char model[700], args[2600];
    snprintf(args, sizeof args,
             "--preset dvt --domain 'npy:%s,labels=%s,name=a' --domain 'npy:%s,labels=%s,name=b,"
             "share=a,k=5' --enc 16,8 --dec 8 --cls-hidden 6 --activation tanh", xa, ya, xb, ya);
    train("dvt", args, model, sizeof model);
    compare(model, "b", xb, "numpy");
    compare(model, "a", xa, "numpy");
}

/* m2: no batch norm, data in (0, 1) without standardisation, relu. */
static void test_m2_unit_interval(void **s) {
    (void)s;
    NEED_PYTHON();
    char model[700], args[2600];
    snprintf(args, sizeof args, "--preset m2 --domain 'npy:%s,labels=%s,name=u,k=10' --enc 12,8 "
             "--dec 8 --activation relu", xu, ya);
    train("m2", args, model, sizeof model);
    compare(model, "u", xu, "numpy");
}

/* mlp with batch norm, leaky relu, a two-layer trunk, two domains with blocks of their own. */
static void test_mlp_two_domains(void **s) {
    (void)s;
    NEED_PYTHON();
    char model[700], args[2600];
    snprintf(args, sizeof args,
             "--preset mlp --domain 'npy:%s,labels=%s,name=a' --domain 'npy:%s,labels=%s,name=u' "
             "--enc 12,8,6 --batchnorm --activation leaky_relu", xa, ya, xu, ya);
    train("mlp", args, model, sizeof model);
    compare(model, "a", xa, "numpy");
    compare(model, "u", xu, "numpy");
}

/* dvt with the default softplus, and with sigmoid and no batch norm. */
static void test_dvt_activations(void **s) {
    (void)s;
    NEED_PYTHON();
    char model[700], args[2600];
    snprintf(args, sizeof args, "--preset dvt --domain 'npy:%s,labels=%s,name=a,k=8' --enc 10,6 "
             "--dec 6", xa, ya);
    train("softplus", args, model, sizeof model);
    compare(model, "a", xa, "numpy");
    snprintf(args, sizeof args, "--preset dvt --domain 'npy:%s,labels=%s,name=a' --enc 10,6 "
             "--dec 6 --activation sigmoid --no-batchnorm --cls-hidden 4", xa, ya);
    train("sigmoid", args, model, sizeof model);
    compare(model, "a", xa, "numpy");
}

/* The same through the safetensors package, where it is installed. */
static void test_safetensors_reader(void **s) {
    (void)s;
    NEED_PYTHON();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "'%s' -c 'import safetensors.numpy'", python);
    if (test_run(cmd, NULL) != 0) {
        fprintf(stderr, "test_load_model_py: the safetensors package is not installed; the "
                        "numpy reader alone was checked\n");
        skip();
    }
    char model[700], args[2600];
    snprintf(args, sizeof args, "--preset dvt --domain 'npy:%s,labels=%s,name=a' --enc 10,6 --dec 6",
             xa, ya);
    train("st", args, model, sizeof model);
    compare(model, "a", xa, "safetensors");
}

/* Bad input: one error line, exit 1. */
static void test_errors(void **s) {
    (void)s;
    NEED_PYTHON();
    char other[600], out[600], cmd[2000];
    test_path(other, sizeof other, "other.safetensors");
    gx_error err;
    gx_st_writer *w = gx_st_writer_new(&err);
    float v = 1;
    int64_t shape[1] = {1};
    gx_st_writer_add(w, "w", GX_ST_F32, 1, shape, &v, &err);
    gx_st_writer_meta(w, "format", "something.else", &err);
    assert_int_equal(gx_st_write(w, other, &err), 0);
    gx_st_writer_free(w);
    test_path(out, sizeof out, "py_err.txt");
    snprintf(cmd, sizeof cmd, "'%s' " SCRIPT " --model '%s' --input '%s'", python, other, xa);
    assert_int_equal(test_run(cmd, out), 1);
    char *text = slurp(out);
    assert_contains(text, "load_model.py: error: ");
    assert_contains(text, "not a genxfer model");
    free(text);
    snprintf(cmd, sizeof cmd, "'%s' " SCRIPT " --model '%s' --input '%s'", python, xa, xa);
    assert_int_equal(test_run(cmd, out), 1);
    text = slurp(out);
    assert_contains(text, "header length");
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dvt_shared_block),
        cmocka_unit_test(test_m2_unit_interval),
        cmocka_unit_test(test_mlp_two_domains),
        cmocka_unit_test(test_dvt_activations),
        cmocka_unit_test(test_safetensors_reader),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
