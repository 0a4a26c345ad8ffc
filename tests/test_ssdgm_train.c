/* Training end to end on a small synthetic problem: it learns, it is deterministic for a seed,
 * and a saved model loads back to exactly the same predictions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "data/splits.h"
#include "io/safetensors.h"
#include "models/ssdgm_io.h"
#include "models/ssdgm_train.h"
#include "test_util.h"

enum { N = 600, DIM = 12, K = 3 };

/* Three classes of binary-ish patterns: class k lights up features 4k..4k+3 with noise. */
static void make_data(gx_dataset *ds) {
    gx_error err;
    gx_dataset_init(ds);
    assert_int_equal(gx_dataset_alloc(ds, N, DIM, 1, &err), 0);
    const char *names[K] = {"a", "b", "c"};
    assert_int_equal(gx_dataset_set_classes(ds, K, names, &err), 0);
    gx_rng r;
    gx_rng_init(&r, 42, 77);
    for (int i = 0; i < N; i++) {
        int k = i % K;
        ds->y[i] = k;
        for (int j = 0; j < DIM; j++) {
            float on = j / 4 == k ? 0.85f : 0.1f;
            ds->x[i * DIM + j] = gx_rng_uniform(&r) < on ? 1.0f : 0.0f;
        }
    }
}

typedef struct run {
    gx_ssdgm m;
    gx_split lab, val;
    int64_t *unl;
    int64_t n_unl;
    gx_ssdgm_train_result res;
} run;

/* Options beyond the defaults for the next train() (then reset). */
static void (*configure)(gx_ssdgm_train_config *tc, void *ctx);
static void *configure_ctx;

static void train(run *r, const gx_dataset *ds, gx_preset preset, uint64_t seed) {
    gx_error err;
    gx_ssdgm_config c;
    gx_ssdgm_config_default(&c, preset, K);
    c.z_dim = 4;
    c.enc[0] = c.enc[1] = 16;
    c.dec[0] = c.dec[1] = 16;
    c.n_domains = 1;
    strcpy(c.dom[0].name, "syn");
    c.dom[0].n_in = DIM;
    c.dom[0].lik = GX_LIK_BERNOULLI;
    gx_rng init, split;
    gx_rng_init(&init, seed, GX_STREAM_INIT);
    gx_rng_init(&split, seed, GX_STREAM_SPLIT);
    assert_int_equal(gx_ssdgm_create(&r->m, &c, &init, &err), 0);
    gx_split_init(&r->lab);
    gx_split_init(&r->val);
    assert_int_equal(gx_split_per_class(ds, NULL, ds->n, 20, &split, &r->val, &err), 0);
    assert_int_equal(gx_split_per_class(ds, r->val.rest, r->val.n_rest, 3, &split, &r->lab, &err), 0);
    gx_ssdgm_domain_data dd = {ds, r->lab.take, r->lab.n_take, r->val.rest, r->val.n_rest,
                               r->val.take, r->val.n_take};
    gx_ssdgm_train_config tc;
    gx_ssdgm_train_config_default(&tc);
    tc.epochs = 10;
    tc.batch_l = 9;
    tc.batch_u = 32;
    tc.alpha = 50;
    tc.seed = seed;
    if (configure) configure(&tc, configure_ctx);
    configure = NULL;
    assert_int_equal(gx_ssdgm_train(&r->m, &dd, &tc, &r->res, &err), 0);
}

static void free_run(run *r) {
    gx_ssdgm_free(&r->m);
    gx_split_free(&r->lab);
    gx_split_free(&r->val);
}

static void test_learns_and_is_deterministic(void **s) {
    (void)s;
    gx_set_threads(2);
    gx_dataset ds;
    make_data(&ds);
    static run a, b, c;
    train(&a, &ds, GX_PRESET_DVT, 5);
    train(&b, &ds, GX_PRESET_DVT, 5);
    train(&c, &ds, GX_PRESET_DVT, 6);
    /* with 3 labels per class the classes are easy: validation accuracy well above chance */
    print_message("dvt validation accuracy %.3f (seeds 5, 6: %.3f)\n", a.res.best_selection, c.res.best_selection);
    assert_true(a.res.best_selection > 0.85);
    assert_int_equal(a.m.params.total, b.m.params.total);
    assert_memory_equal(a.m.params.data, b.m.params.data, a.m.params.total * sizeof(float));
    assert_memory_not_equal(a.m.params.data, c.m.params.data, a.m.params.total * sizeof(float));
    free_run(&a);
    free_run(&b);
    free_run(&c);
    gx_dataset_free(&ds);
}

static void test_m2_learns(void **s) {
    (void)s;
    gx_dataset ds;
    make_data(&ds);
    static run a;
    train(&a, &ds, GX_PRESET_M2, 3);
    assert_true(a.res.best_selection > 0.85);
    free_run(&a);
    gx_dataset_free(&ds);
}

typedef struct epochs_seen {
    gx_epoch_log log[16];
    int n;
    const gx_dataset *ds;
} epochs_seen;

static void keep_log(void *ctx, const gx_epoch_log *l) {
    epochs_seen *e = ctx;
    if (e->n < 16) e->log[e->n++] = *l;
}

static void standard_prior_im_monitor(gx_ssdgm_train_config *tc, void *ctx) {
    epochs_seen *e = ctx;
    tc->fixed_prior = 1;
    tc->select = GX_SELECT_IM;
    tc->select_domain = 0;
    tc->monitor = e->ds;
    tc->monitor_domain = 0;
    tc->on_epoch = keep_log;
    tc->ctx = e;
}

/* --latent-prior standard holds p(z|y) at N(0, I); --select im keeps the epoch of the best
 * criterion, which no label enters; --monitor-test logs an accuracy that selection ignores. */
static void test_standard_prior_im_selection_monitor(void **s) {
    (void)s;
    gx_dataset ds;
    make_data(&ds);
    static run a;
    static epochs_seen e;
    e.ds = &ds;
    configure = standard_prior_im_monitor;
    configure_ctx = &e;
    train(&a, &ds, GX_PRESET_DVT, 5);
    const size_t nz = (size_t)K * a.m.cfg.z_dim;
    const float *mu = gx_params_value(&a.m.params, a.m.prior_mu);
    const float *lv = gx_params_value(&a.m.params, a.m.prior_logvar);
    for (size_t i = 0; i < nz; i++) {
        assert_true(mu[i] == 0.0f);
        assert_true(lv[i] == 0.0f);
    }
    assert_int_equal(e.n, 10);
    int argmax = 0;
    for (int i = 0; i < e.n; i++) {
        assert_true(e.log[i].im >= 0 && e.log[i].im <= log(K) + 1e-9);
        assert_true(e.log[i].monitor_acc >= 0 && e.log[i].monitor_acc <= 1);
        if (e.log[i].im > e.log[argmax].im) argmax = i;
    }
    assert_int_equal(a.res.best_epoch, argmax + 1);
    assert_true(fabs(a.res.best_selection - e.log[argmax].im) < 1e-12);
    /* the model holds the selected epoch: its accuracy is the one logged then */
    gx_ssdgm_ws ws;
    gx_error err;
    assert_int_equal(gx_ssdgm_ws_alloc(&ws, &a.m, 64, 64, &err), 0);
    float *buf = malloc((size_t)128 * (DIM + K) * sizeof(float));
    assert_non_null(buf);
    const double acc = gx_ssdgm_accuracy(&a.m, &ws, 0, &ds, NULL, ds.n, buf);
    assert_true(fabs(acc - e.log[argmax].monitor_acc) < 1e-12);
    print_message("standard prior: im %.3f at epoch %d, accuracy %.3f\n", a.res.best_selection,
                  a.res.best_epoch, acc);
    free(buf);
    gx_ssdgm_ws_free(&ws);
    free_run(&a);
    gx_dataset_free(&ds);
}

static void test_save_load_same_predictions(void **s) {
    (void)s;
    gx_dataset ds;
    make_data(&ds);
    static run a;
    train(&a, &ds, GX_PRESET_DVT, 9);
    gx_error err;
    gx_model_info info;
    memset(&info, 0, sizeof info);
    const char *names[K] = {"a", "b", "c"};
    assert_int_equal(gx_model_info_set_classes(&info, K, names, &err), 0);
    char path[600];
    test_path(path, sizeof path, "model.safetensors");
    const char *keys[] = {"note"}, *vals[] = {"test"};
    assert_int_equal(gx_ssdgm_save(path, &a.m, &info, 1, keys, vals, &err), 0);
    gx_ssdgm m2;
    gx_model_info info2;
    assert_int_equal(gx_ssdgm_load(path, &m2, &info2, &err), 0);
    assert_string_equal(info2.class_names[2], "c");
    assert_memory_equal(a.m.params.data, m2.params.data, a.m.params.total * sizeof(float));
    gx_ssdgm_ws ws1, ws2;
    assert_int_equal(gx_ssdgm_ws_alloc(&ws1, &a.m, 0, 64, &err), 0);
    assert_int_equal(gx_ssdgm_ws_alloc(&ws2, &m2, 0, 64, &err), 0);
    static float P1[N * K], P2[N * K];
    gx_ssdgm_predict(&a.m, &ws1, 0, ds.x, N, P1, NULL);
    gx_ssdgm_predict(&m2, &ws2, 0, ds.x, N, P2, NULL);
    assert_memory_equal(P1, P2, sizeof P1);
    gx_ssdgm_ws_free(&ws1);
    gx_ssdgm_ws_free(&ws2);
    gx_ssdgm_free(&m2);
    gx_model_info_free(&info2);
    gx_model_info_free(&info);
    free_run(&a);
    gx_dataset_free(&ds);
}

/* A safetensors file that is not an M2/DVT model, and one with a tensor of the wrong shape. */
static void test_load_rejects_other_files(void **s) {
    (void)s;
    gx_error err;
    char path[600];
    test_path(path, sizeof path, "other.safetensors");
    gx_st_writer *w = gx_st_writer_new(&err);
    float v[4] = {1, 2, 3, 4};
    int64_t shape[1] = {4};
    gx_st_writer_add(w, "cls.0.weight", GX_ST_F32, 1, shape, v, &err);
    gx_st_writer_meta(w, "format", "genxfer.classifier", &err);
    assert_int_equal(gx_st_write(w, path, &err), 0);
    gx_st_writer_free(w);
    gx_ssdgm m;
    gx_model_info info;
    assert_int_equal(gx_ssdgm_load(path, &m, &info, &err), -1);
    assert_non_null(strstr(err.msg, "not a genxfer M2/DVT model"));
    test_path(path, sizeof path, "missing.safetensors");
    assert_int_equal(gx_ssdgm_load(path, &m, &info, &err), -1);
    assert_non_null(strstr(err.msg, "missing.safetensors"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_and_is_deterministic),
        cmocka_unit_test(test_m2_learns),
        cmocka_unit_test(test_standard_prior_im_selection_monitor),
        cmocka_unit_test(test_save_load_same_predictions),
        cmocka_unit_test(test_load_rejects_other_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
