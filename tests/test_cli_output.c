/* What genxfer train and predict give the user, on toy data (3 classes, 4 features, .npy):
 * train's progress on stderr (plain lines to a file, a line redrawn in place on a terminal,
 * nothing with --quiet), its figures at the end (and none with --no-figures), and predict's
 * --format npy and --latent files, equal to the CSV output. */
#include "test_cli_util.h"

#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>

#include "test_toy_util.h"

enum { N = 240, K = 3, D = 4, Z = 3 };

static char x_npy[600], y_npy[600], spec[1400];

#define TRAIN_ARGS "--epochs 2 --batch 20 --batch-unlabelled 20 --enc 16,16 --dec 16 --z 3 " \
                   "--seed 2 --threads 1"

/* Trains a dvt model on the toy data (k=10, val=5, a test part) into scratch folder `name`. */
static int train(const char *name, const char *more, char *dir, size_t n) {
    test_path(dir, n, name);
    return run("train --domain '%s,k=10,val=5,test=0.25' " TRAIN_ARGS " %s --out '%s'", spec, more,
               dir);
}

/* The model the predict tests share, trained with --quiet --no-figures: its folder, exit status
 * and stderr. */
static char quiet_dir[600], *quiet_err;
static int quiet_rc;

static int setup(void **state) {
    (void)state;
    static float x[N * D];
    static int32_t y[N];
    toy_make(x, y, N, D, K, 0.0f, 0, 5);
    toy_write_npy(test_path(x_npy, sizeof x_npy, "x.npy"), test_path(y_npy, sizeof y_npy, "y.npy"),
                  x, y, N, D);
    snprintf(spec, sizeof spec, "npy:%s,labels=%s", x_npy, y_npy);
    quiet_rc = train("quiet", "--quiet --no-figures", quiet_dir, sizeof quiet_dir);
    quiet_err = slurp(ERR);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(quiet_err);
    return 0;
}

static int file_exists(const char *dir, const char *name) {
    char path[800];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* stderr to a file: plain lines, one per epoch; the figures are drawn at the end. */
static void test_train_plain_progress_and_figures(void **s) {
    (void)s;
    char dir[600];
    assert_int_equal(train("plain", "", dir, sizeof dir), 0);
    char *err = slurp(ERR), *out = slurp(OUT);
    assert_null(strchr(err, '\r'));
    assert_null(strchr(err, '\033'));
    assert_contains(err, "\nepoch   1/2  loss");
    assert_contains(err, "\nepoch   2/2  loss");
    assert_contains(err, "val[npy]");
    char line[800];
    snprintf(line, sizeof line, "learning curves: %s/learning_curves.png (2 epochs)\n", dir);
    assert_contains(out, line);
    snprintf(line, sizeof line, "confusion matrix: %s/confusion.png (3 classes)\n", dir);
    assert_contains(out, line);
    free(err);
    free(out);
    char png[800];
    int w, h;
    snprintf(png, sizeof png, "%s/learning_curves.png", dir);
    png_size(png, &w, &h);
    assert_true(w > 100 && h > 100);
    snprintf(png, sizeof png, "%s/confusion.png", dir);
    png_size(png, &w, &h);
    assert_true(w > 100 && h > 100);
}

/* --quiet: nothing on stderr; --no-figures: no PNG; a run without a test set: no confusion.png. */
static void test_train_quiet_and_no_figures(void **s) {
    (void)s;
    assert_int_equal(quiet_rc, 0);
    assert_string_equal(quiet_err, "");
    assert_true(file_exists(quiet_dir, "model.safetensors"));
    assert_false(file_exists(quiet_dir, "learning_curves.png"));
    assert_false(file_exists(quiet_dir, "confusion.png"));

    char dir[600];
    test_path(dir, sizeof dir, "notest");
    assert_int_equal(run("train --domain '%s,k=10' " TRAIN_ARGS " --quiet --out '%s'", spec, dir), 0);
    char *err = slurp(ERR);
    assert_string_equal(err, "");
    free(err);
    assert_true(file_exists(dir, "learning_curves.png"));
    assert_false(file_exists(dir, "confusion.png"));
}

/* On a terminal (a pseudo-terminal from forkpty): the progress line is drawn with "\r" and
 * erase-line, with its fields, and the epoch lines follow. (The first step is always drawn; the
 * tiny epochs here end before a second line is due. The fields and the timing are tested with a
 * clock of the test's in test_progress.c.) */
static void test_train_terminal_progress(void **s) {
    (void)s;
    char dir[600], dom[1500];
    test_path(dir, sizeof dir, "tty");
    snprintf(dom, sizeof dom, "%s,k=10,val=5", spec);
    struct winsize ws = {.ws_row = 40, .ws_col = 200};
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, &ws);
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(bin(), "genxfer", "train", "--domain", dom, "--epochs", "2", "--batch", "20",
              "--batch-unlabelled", "20", "--enc", "16,16", "--dec", "16", "--z", "3",
              "--threads", "1", "--no-figures", "--out", dir, (char *)NULL);
        _exit(127);
    }
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) { /* until the child closes the terminal (EIO) or 60 s pass */
        struct pollfd pfd = {master, POLLIN, 0};
        int r = poll(&pfd, 1, 60000);
        if (r <= 0) break;
        ssize_t got = read(master, buf + len, cap - 1 - len);
        if (got <= 0) break;
        len += (size_t)got;
        if (len == cap - 1) break;
    }
    buf[len] = '\0';
    close(master);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail_msg("train on a terminal failed:\n%s", buf);
    assert_contains(buf, "\repoch 1/2 [");
    assert_contains(buf, "\033[K");
    assert_contains(buf, " ex/s  eta ");
    assert_contains(buf, "\r\033[Kepoch   1/2  loss");
    assert_contains(buf, "epoch   2/2  loss");
    free(buf);
}

/* The numbers of a CSV written by predict (header skipped, the first `skip` fields of each row
 * too) into v [rows, cols]; returns the rows. */
static int64_t read_csv_numbers(const char *path, int skip, int cols, double *v, int64_t max) {
    char *text = slurp(path), *p = strchr(text, '\n');
    assert_non_null(p);
    int64_t rows = 0;
    for (p++; *p; rows++) {
        assert_true(rows < max);
        for (int f = 0; f < skip; f++) p = strchr(p, ',') + 1;
        for (int c = 0; c < cols; c++) {
            char *end;
            v[rows * cols + c] = strtod(p, &end);
            assert_true(end != p);
            p = end + 1; /* past ',' or '\n' */
        }
    }
    free(text);
    return rows;
}

/* An .npy of float32 [rows, cols] equal to v within 1e-6. */
static void assert_npy_equals(const char *path, int64_t rows, int cols, const double *v) {
    gx_npy_array a;
    gx_error err;
    if (gx_npy_read(path, &a, &err)) fail_msg("%s", err.msg);
    assert_int_equal(a.dtype, GX_NPY_F32);
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.shape[0], rows);
    assert_int_equal(a.shape[1], cols);
    const float *x = a.data;
    double worst = 0;
    for (int64_t i = 0; i < rows * cols; i++) worst = fmax(worst, fabs(x[i] - v[i]));
    gx_npy_free(&a);
    if (!(worst <= 1e-6)) fail_msg("%s differs from the CSV by up to %g", path, worst);
}

/* The system's python3 with numpy, if there is one: np.load gives the shape and dtype. */
static void numpy_check(const char *path, int64_t rows, int cols) {
    const char *py = "/usr/bin/python3";
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' -c 'import numpy' 2>/dev/null", py);
    if (test_run(cmd, NULL) != 0) return;
    snprintf(cmd, sizeof cmd,
             "'%s' -c 'import numpy as np, sys; a = np.load(sys.argv[1]); "
             "sys.exit(0 if a.shape == (%lld, %d) and a.dtype == np.float32 else 1)' '%s'",
             py, (long long)rows, cols, path);
    assert_int_equal(test_run(cmd, NULL), 0);
}

static void test_predict_npy_and_latent(void **s) {
    (void)s;
    char model[700], csv[700], npy[700], lat_csv[700], lat_npy[700], names[700];
    const char *dir = quiet_dir;
    assert_int_equal(quiet_rc, 0);
    snprintf(model, sizeof model, "%s/model.safetensors", dir);
    snprintf(csv, sizeof csv, "%s/p.csv", dir);
    snprintf(npy, sizeof npy, "%s/p.npy", dir);
    snprintf(lat_csv, sizeof lat_csv, "%s/z.csv", dir);
    snprintf(lat_npy, sizeof lat_npy, "%s/z.npy", dir);
    snprintf(names, sizeof names, "%s/p.classes.txt", dir);
    char data[700];
    snprintf(data, sizeof data, "npy:%s", x_npy);
    assert_int_equal(run("predict '%s' '%s' --format csv --out '%s' --latent '%s'", model, data,
                         csv, lat_csv), 0);
    assert_int_equal(run("predict '%s' '%s' --format npy --out '%s' --latent '%s'", model, data,
                         npy, lat_npy), 0);
    char *out = slurp(OUT);
    char want[2400];
    snprintf(want, sizeof want, "wrote %d predictions to %s (float32 [%d, %d]; class order in %s)\n"
             "wrote %d latent means to %s (float32 [%d, %d])\n", N, npy, N, K, names, N, lat_npy, N, Z);
    assert_string_equal(out, want);
    free(out);
    /* the class order file names the CSV's columns, in order */
    char *cls = slurp(names), *head = slurp(csv);
    assert_string_equal(cls, "0\n1\n2\n");
    assert_memory_equal(head, "id,predicted,p_0,p_1,p_2\n", 25);
    free(cls);
    free(head);
    char *zhead = slurp(lat_csv);
    assert_memory_equal(zhead, "id,z_0,z_1,z_2\n", 15);
    free(zhead);
    static double p[N * K], z[N * Z];
    assert_int_equal(read_csv_numbers(csv, 2, K, p, N), N);
    assert_int_equal(read_csv_numbers(lat_csv, 1, Z, z, N), N);
    assert_npy_equals(npy, N, K, p);
    assert_npy_equals(lat_npy, N, Z, z);
    numpy_check(npy, N, K);
    numpy_check(lat_npy, N, Z);

    /* without --out: predictions.npy in the working folder (and its class file beside it) */
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' predict '%s' '%s' --format npy >/dev/null", dir,
             bin(), model, data);
    assert_int_equal(test_run(cmd, NULL), 0);
    assert_true(file_exists(dir, "predictions.npy"));
    assert_true(file_exists(dir, "predictions.classes.txt"));
}

static void test_predict_errors(void **s) {
    (void)s;
    char model[700], data[700], out[700];
    const char *dir = quiet_dir;
    assert_int_equal(quiet_rc, 0);
    snprintf(model, sizeof model, "%s/model.safetensors", dir);
    snprintf(data, sizeof data, "npy:%s", x_npy);
    snprintf(out, sizeof out, "%s/never.npy", dir);
    assert_one_error_line(run("predict '%s' '%s' --format parquet --out '%s'", model, data, out),
                          "--format: 'parquet' (expected csv or npy)");
    assert_false(file_exists(dir, "never.npy"));
    assert_int_equal(run("eval '%s' '%s' --format npy", model, data), 2);
    assert_int_equal(run("eval '%s' '%s' --latent z.npy", model, data), 2);
    /* a plain classifier has no latent space: an error, and no predictions written either */
    char mlp[600], mlp_model[700];
    test_path(mlp, sizeof mlp, "mlp");
    assert_int_equal(run("train --preset mlp --domain '%s,k=10' " TRAIN_ARGS " --quiet --no-figures "
                         "--out '%s'", spec, mlp), 0);
    snprintf(mlp_model, sizeof mlp_model, "%s/model.safetensors", mlp);
    assert_one_error_line(run("predict '%s' '%s' --format npy --out '%s' --latent '%s/z.npy'",
                              mlp_model, data, out, dir), "no latent space");
    assert_false(file_exists(dir, "never.npy"));
    /* an unwritable --latent: the error names it */
    snprintf(out, sizeof out, "%s/p2.csv", dir);
    assert_one_error_line(run("predict '%s' '%s' --out '%s' --latent /nonexistent/z.csv", model,
                              data, out), "/nonexistent/z.csv");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_plain_progress_and_figures),
        cmocka_unit_test(test_train_quiet_and_no_figures),
        cmocka_unit_test(test_train_terminal_progress),
        cmocka_unit_test(test_predict_npy_and_latent),
        cmocka_unit_test(test_predict_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
