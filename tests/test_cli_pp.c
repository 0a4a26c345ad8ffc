/* genxfer pp, pssl and kd (PP, P-SSL, PP + P-SSL, KD): end to end with a tiny source model, reading no
 * source data (GENXFER_DATA points at an empty folder and the target data are .npy files in the
 * scratch folder), and the one-line errors of a source model whose images are of another size and
 * of an architecture that does not parse. */
#include "test_cli_util.h"

#include "data/readers.h"
#include "data/spec.h"

#define SOURCE "fashion-mnist:test,select=T-shirt/top+Trouser+Dress+Sandal+Bag,limit=300"
#define TARGET_SPEC "fashion-mnist:test,select=Pullover+Coat+Shirt+Sneaker+Ankle boot,limit=100"
#define TARGET_CLASSES "classes=Pullover+Coat+Shirt+Sneaker+Ankle boot"
#define ARCH "--arch conv4-relu-pool,fc"
#define FAST "--epochs 2 --batch 10 --threads 1 --quiet"

static char model[700];
static char target[1600], small_target[1600]; /* .npy specs: 28x28 and 14x14 images */
static char empty[600];                       /* GENXFER_DATA while the commands run */

/* TARGET_SPEC's rows as npy files name_x.npy, name_y.npy, images cropped to side x side. */
static void write_target(const gx_dataset *ds, const char *name, int side, char *spec, size_t n) {
    char x[600], y[600], file[64];
    snprintf(file, sizeof file, "%s_x.npy", name);
    test_path(x, sizeof x, file);
    snprintf(file, sizeof file, "%s_y.npy", name);
    test_path(y, sizeof y, file);
    float *img = malloc((size_t)ds->n * side * side * sizeof *img);
    assert_non_null(img);
    for (int64_t i = 0; i < ds->n; i++)
        for (int r = 0; r < side; r++)
            memcpy(img + (i * side + r) * side, ds->x + i * 784 + r * 28, side * sizeof *img);
    int64_t xs[3] = {ds->n, side, side}, ys[1] = {ds->n};
    gx_error err;
    assert_int_equal(gx_npy_write(x, GX_NPY_F32, 3, xs, img, &err), 0);
    assert_int_equal(gx_npy_write(y, GX_NPY_I32, 1, ys, ds->y, &err), 0);
    snprintf(spec, n, "npy:%s,labels=%s," TARGET_CLASSES, x, y);
    free(img);
}

/* A tiny DVT source model on the five source classes (the tests need a model, not a good one),
 * trained once with the shared data; then the target data go to .npy files and GENXFER_DATA to an
 * empty folder, so that no dataset of the shared folder, the source's included, can be opened. */
static int setup(void **state) {
    (void)state;
    if (!test_data_dir()) return 0;
    if (train_tiny_source(SOURCE, model, sizeof model)) return -1;
    gx_dataset ds;
    gx_dataset_init(&ds);
    gx_error err;
    assert_int_equal(gx_spec_load(TARGET_SPEC, &ds, &err), 0);
    write_target(&ds, "target", 28, target, sizeof target);
    write_target(&ds, "small", 14, small_target, sizeof small_target);
    gx_dataset_free(&ds);
    test_path(empty, sizeof empty, "no-data");
    assert_int_equal(mkdir(empty, 0755), 0);
    setenv("GENXFER_DATA", empty, 1);
    return 0;
}

/* The source data really are out of reach while the commands run. */
static void test_no_source_data(void **s) {
    (void)s;
    if (!model[0]) skip();
    assert_int_not_equal(run("data '" SOURCE "'"), 0);
}

/* Runs the command into out (a name in the scratch folder); checks model and metrics. */
static void run_ok(const char *cmd, const char *name, const char *extra, const char *expect) {
    char out[600];
    test_path(out, sizeof out, name);
    int rc = run("%s '%s' --data '%s,k=4' --test '%s' " ARCH " " FAST " %s --out '%s'", cmd, model,
                 target, target, extra, out);
    char *err = slurp(ERR);
    if (rc) print_error("%s exited %d: %s\n", cmd, rc, err);
    free(err);
    assert_int_equal(rc, 0);
    char path[700];
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/metrics.json", out);
    char *metrics = slurp(path);
    assert_contains(metrics, "\"accuracy\"");
    assert_contains(metrics, expect);
    free(metrics);
}

/* Whether the model.safetensors files of two runs (names in the scratch folder) are the same bytes. */
static int same_model(const char *run_a, const char *run_b) {
    char a[64], b[64]; /* the names are short */
    snprintf(a, sizeof a, "%s/model.safetensors", run_a);
    snprintf(b, sizeof b, "%s/model.safetensors", run_b);
    char pa[800], pb[800];
    test_path(pa, sizeof pa, a);
    test_path(pb, sizeof pb, b);
    struct stat sa, sb;
    assert_int_equal(stat(pa, &sa), 0);
    assert_int_equal(stat(pb, &sb), 0);
    char *x = slurp(pa), *y = slurp(pb);
    int same = sa.st_size == sb.st_size && memcmp(x, y, (size_t)sa.st_size) == 0;
    free(x);
    free(y);
    return same;
}

static void test_pp_end_to_end(void **s) {
    (void)s;
    if (!model[0]) skip();
    run_ok("pp", "pp", "--pp-samples 60 --pp-epochs 2", "\"pp_samples\":\t60");
}

static void test_pssl_end_to_end(void **s) {
    (void)s;
    if (!model[0]) skip();
    run_ok("pssl", "pssl", "--mu 2 --tau 0 --condition argmax", "\"pseudo_mask_rate\":\t1");
    run_ok("pssl", "pp-pssl", "--pp --pp-samples 40 --pp-epochs 1 --mu 2", "\"pp\":\ttrue");
}

/* --unlabelled: plain FixMatch on real images, the target rows left unlabelled (k=4 of 20 per class
 * leaves 80) or a data spec; not the pseudo samples of the same seed, so another model. */
static void test_pssl_unlabelled(void **s) {
    (void)s;
    if (!model[0]) skip();
    run_ok("pssl", "unl-pseudo", "--mu 2 --tau 0.2", "\"mu\":\t2");
    run_ok("pssl", "unl-rest", "--mu 2 --tau 0.2 --unlabelled rest", "\"unlabelled_rows\":\t80");
    char opt[1800];
    snprintf(opt, sizeof opt, "--mu 2 --tau 0.2 --unlabelled '%s'", target);
    run_ok("pssl", "unl-spec", opt, "\"unlabelled_rows\":\t100");
    assert_false(same_model("unl-pseudo", "unl-rest"));
    /* images of another shape, no unlabelled rows, a missing file: one line, exit 1 */
    char out[600];
    test_path(out, sizeof out, "bad");
    int rc = run("pssl '%s' --data '%s,k=4' " ARCH " " FAST " --unlabelled '%s' --out '%s'", model,
                 target, small_target, out);
    assert_one_error_line(rc, "196 features per row (14x14x1)");
    rc = run("pssl '%s' --data '%s,k=4' " ARCH " " FAST " --unlabelled '%s,scale=255' --out '%s'",
             model, target, target, out);
    assert_one_error_line(rc, "outside [0, 1]");
    rc = run("pssl '%s' --data '%s' " ARCH " " FAST " --unlabelled rest --out '%s'", model, target,
             out);
    assert_one_error_line(rc, "give k=");
    rc = run("pssl '%s' --data '%s,k=4' " ARCH " " FAST " --unlabelled 'npy:%s/none.npy' --out '%s'",
             model, target, empty, out);
    assert_one_error_line(rc, "none.npy");
}

static void test_kd_end_to_end(void **s) {
    (void)s;
    if (!model[0]) skip();
    run_ok("kd", "kd", "--kd-temp 3", "\"teacher_arch\":\t\"fc32-bn-softplus,fc16-bn-softplus,fc\"");
}

/* The same seed gives the same model. */
static void test_pssl_deterministic(void **s) {
    (void)s;
    if (!model[0]) skip();
    run_ok("pssl", "det1", "--pp --pp-samples 40 --pp-epochs 1 --mu 2 --tau 0.2", "\"mu\":\t2");
    run_ok("pssl", "det2", "--pp --pp-samples 40 --pp-epochs 1 --mu 2 --tau 0.2", "\"mu\":\t2");
    assert_true(same_model("det1", "det2"));
}

/* --pp-from: the PP network that det1 (test_pssl_deterministic) wrote, reused with the same seed,
 * gives det1's model byte for byte; and it refuses a network of another architecture. */
static void test_pp_from(void **s) {
    (void)s;
    if (!model[0]) skip();
    char pre[700], out[600];
    test_path(pre, sizeof pre, "det1/pp_pretrained.safetensors");
    char opt[800];
    snprintf(opt, sizeof opt, "--pp --pp-from '%s' --mu 2 --tau 0.2", pre);
    run_ok("pssl", "det3", opt, "\"pp_from\"");
    assert_true(same_model("det1", "det3"));
    /* the same network also starts a pp run of other options */
    snprintf(opt, sizeof opt, "--pp-from '%s' --lr 3e-4", pre);
    run_ok("pp", "pp-from", opt, "\"pp_from\"");
    test_path(out, sizeof out, "bad");
    int rc = run("pp '%s' --data '%s' --arch conv8-relu-pool,fc " FAST " --pp-from '%s' --out '%s'",
                 model, target, pre, out);
    assert_one_error_line(rc, "conv4-relu-pool,fc");
    rc = run("pp '%s' --data '%s' " ARCH " " FAST " --pp-from '%s' --out '%s'", model, target, model,
             out);
    assert_int_equal(rc, 1);
}

/* Target images of another size than the source model's, an arch that does not parse, a missing
 * source model file or one that is no model: one line, exit 1, for each command. */
static void test_errors(void **s) {
    (void)s;
    if (!model[0]) skip();
    const char *cmds[] = {"pp", "pssl", "pssl --pp", "kd"};
    char out[600], junk[600];
    test_path(out, sizeof out, "bad");
    test_path(junk, sizeof junk, "junk.safetensors");
    test_write_text(junk, "not a model\n");
    for (int i = 0; i < 4; i++) {
        int rc = run("%s '%s' --data '%s' " ARCH " " FAST " --out '%s'", cmds[i], model,
                     small_target, out);
        assert_one_error_line(rc, "14x14x1 images");
        rc = run("%s '%s' --data '%s' --arch conv4-bogus,fc " FAST " --out '%s'", cmds[i], model,
                 target, out);
        assert_one_error_line(rc, "bogus");
        rc = run("%s '%s/missing.safetensors' --data '%s' " ARCH " " FAST " --out '%s'", cmds[i],
                 empty, target, out);
        assert_one_error_line(rc, "missing.safetensors");
        rc = run("%s '%s' --data '%s' " ARCH " " FAST " --out '%s'", cmds[i], junk, target, out);
        assert_one_error_line(rc, "junk.safetensors");
    }
}

static void test_usage(void **s) {
    (void)s;
    assert_int_equal(run("pp --data x"), 2);                      /* no SOURCE_MODEL */
    assert_int_equal(run("scratch --data x --mu 3"), 2);          /* P-SSL's option */
    assert_int_equal(run("pp m --data x --tau 0.5"), 2);          /* P-SSL's option */
    assert_int_equal(run("pssl m --data x --pp-samples 10"), 2);  /* needs --pp */
    assert_int_equal(run("pssl m --data x --pp-from f"), 2);      /* needs --pp */
    assert_int_equal(run("pp m --data x --pp-from f --pp-epochs 3"), 2); /* nothing to pre-train */
    assert_int_not_equal(run("pssl m --data x --pseudo-bn sometimes"), 0);
    assert_int_equal(run("kd m --data x --mu 3"), 2);             /* P-SSL's option */
    assert_int_equal(run("scratch --data x --unlabelled rest"), 2); /* P-SSL's option */
    assert_int_equal(run("pp m --data x --unlabelled rest"), 2);  /* P-SSL's option */
    assert_int_equal(run("pssl m --data x --unlabelled rest --condition argmax"), 2);
    assert_int_equal(run("pp m --data x --kd-temp 3"), 2);        /* KD's option */
    assert_int_equal(run("pssl --help"), 0);
    char *out = slurp(OUT);
    assert_contains(out, "--lambda-u F");
    assert_contains(out, "[0.95]");
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_source_data), cmocka_unit_test(test_pp_end_to_end),
        cmocka_unit_test(test_pssl_end_to_end), cmocka_unit_test(test_pssl_unlabelled),
        cmocka_unit_test(test_kd_end_to_end),
        cmocka_unit_test(test_pssl_deterministic), cmocka_unit_test(test_pp_from),
        cmocka_unit_test(test_errors),         cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
