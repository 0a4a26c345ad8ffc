/* Training checkpoints at the library level: a run stopped (by the stop flag, mid-epoch or at an
 * epoch's end) and resumed from its checkpoint ends with the same weights, bit for bit, as an
 * uninterrupted run; damaged or foreign checkpoints are refused with a message naming the field;
 * the data fingerprint and the memory estimate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <signal.h>
#include <string.h>

#include "core/gemm.h"
#include "data/splits.h"
#include "io/safetensors.h"
#include "models/checkpoint.h"
#include "models/ssdgm_train.h"
#include "test_fs_util.h"

enum { N = 300, DIM = 8, K = 3, EPOCHS = 3, BATCH_U = 32 };

static gx_dataset ds;

/* Three classes of binary-ish patterns on N rows. */
static int setup(void **state) {
    (void)state;
    gx_error err;
    gx_dataset_init(&ds);
    if (gx_dataset_alloc(&ds, N, DIM, 1, &err)) return -1;
    gx_rng r;
    gx_rng_init(&r, 4, 77);
    for (int i = 0; i < N; i++) {
        ds.y[i] = i % K;
        for (int j = 0; j < DIM; j++)
            ds.x[i * DIM + j] = gx_rng_uniform(&r) < (j % K == i % K ? 0.8f : 0.15f) ? 1.0f : 0.0f;
    }
    ds.n_classes = K;
    gx_set_threads(1);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    gx_dataset_free(&ds);
    return 0;
}

/* A DVT model with the splits of seed `seed` (10 validation and 4 labelled rows per class). */
typedef struct run {
    gx_ssdgm m;
    gx_split lab, val;
    gx_ssdgm_domain_data dd;
    gx_ssdgm_train_config tc;
    gx_ssdgm_train_result res;
    volatile sig_atomic_t stop;
    long stop_at;
} run;

static void on_step(void *ctx, long step, long spe, const gx_ssdgm_stats *st) {
    (void)spe, (void)st;
    run *r = ctx;
    if (step == r->stop_at) r->stop = 1;
}

static void make_run(run *r, uint64_t seed) {
    gx_error err;
    memset(r, 0, sizeof *r);
    gx_ssdgm_config c;
    gx_ssdgm_config_default(&c, GX_PRESET_DVT, K);
    c.z_dim = 2;
    c.enc[0] = 12, c.enc[1] = 8;
    c.dec[0] = 8, c.dec[1] = 12;
    c.n_domains = 1;
    strcpy(c.dom[0].name, "syn");
    c.dom[0].n_in = DIM;
    c.dom[0].lik = GX_LIK_BERNOULLI;
    gx_rng init, split;
    gx_rng_init(&init, seed, GX_STREAM_INIT);
    gx_rng_init(&split, seed, GX_STREAM_SPLIT);
    assert_int_equal(gx_ssdgm_create(&r->m, &c, &init, &err), 0);
    assert_int_equal(gx_split_per_class(&ds, NULL, ds.n, 10, &split, &r->val, &err), 0);
    assert_int_equal(gx_split_per_class(&ds, r->val.rest, r->val.n_rest, 4, &split, &r->lab, &err), 0);
    r->dd = (gx_ssdgm_domain_data){&ds, r->lab.take, r->lab.n_take, r->val.rest, r->val.n_rest,
                                   r->val.take, r->val.n_take};
    gx_ssdgm_train_config_default(&r->tc);
    r->tc.epochs = EPOCHS;
    r->tc.batch_l = 6;
    r->tc.batch_u = BATCH_U;
    r->tc.alpha = 20;
    r->tc.aug_shift = 0;
    r->tc.seed = seed;
    r->tc.prior = GX_PRIOR_REESTIMATE; /* re-estimated priors must come back too */
    r->tc.on_step = on_step;
    r->tc.ctx = r;
    r->stop_at = -1;
}

static void free_run(run *r) {
    gx_ssdgm_free(&r->m);
    gx_split_free(&r->lab);
    gx_split_free(&r->val);
}

static long steps_per_epoch(void) { return (N - 10 * K + BATCH_U - 1) / BATCH_U; }

/* A run of seed `seed` stopped by the flag after step stop_at: its checkpoint is in path. */
static gx_ssdgm_train_result stopped_run(const char *path, uint64_t seed, long stop_at) {
    gx_error err;
    static run a;
    make_run(&a, seed);
    a.tc.ckpt_path = path;
    a.tc.ckpt_every = 0;
    a.tc.stop = &a.stop;
    a.stop_at = stop_at;
    assert_int_equal(gx_ssdgm_train(&a.m, &a.dd, &a.tc, &a.res, &err), 0);
    free_run(&a);
    return a.res;
}

/* Stops at step stop_at (checkpoint), resumes in a fresh process-like state, compares with an
 * uninterrupted run. */
static void stop_and_resume(long stop_at, int expect_epoch) {
    gx_error err;
    char path[600];
    test_path(path, sizeof path, "stop.safetensors");
    static run ref, b;
    make_run(&ref, 7);
    assert_int_equal(gx_ssdgm_train(&ref.m, &ref.dd, &ref.tc, &ref.res, &err), 0);
    assert_int_equal(ref.res.stopped, 0);

    gx_ssdgm_train_result res = stopped_run(path, 7, stop_at);
    assert_int_equal(res.stopped, 1);
    assert_int_equal(res.ckpt_step, stop_at);
    assert_int_equal(res.ckpt_epoch, expect_epoch);

    make_run(&b, 7);
    b.tc.ckpt_path = path;
    b.tc.resume_path = path;
    assert_int_equal(gx_ssdgm_train(&b.m, &b.dd, &b.tc, &b.res, &err), 0);
    assert_int_equal(b.res.stopped, 0);
    assert_int_equal(b.res.steps, EPOCHS * steps_per_epoch());
    assert_int_equal(b.res.best_epoch, ref.res.best_epoch);
    assert_true(b.res.best_selection == ref.res.best_selection);
    assert_memory_equal(b.m.params.data, ref.m.params.data, ref.m.params.total * sizeof(float));
    /* the end's checkpoint says the run is complete */
    gx_st_file *f;
    assert_int_equal(gx_ckpt_open(path, &f, &err), 0);
    assert_non_null(strstr(gx_st_metadata(f, "progress"), "\"epoch\":4,"));
    gx_st_close(f);
    free_run(&ref);
    free_run(&b);
}

static void test_resume_mid_epoch(void **s) {
    (void)s;
    stop_and_resume(5, 1);
}

static void test_resume_at_epoch_end(void **s) {
    (void)s;
    stop_and_resume(steps_per_epoch(), 1);
}

static void test_resume_complete_run(void **s) {
    (void)s;
    gx_error err;
    char path[600];
    test_path(path, sizeof path, "complete.safetensors");
    static run a, b;
    make_run(&a, 8);
    a.tc.ckpt_path = path;
    a.tc.ckpt_every = 3;
    assert_int_equal(gx_ssdgm_train(&a.m, &a.dd, &a.tc, &a.res, &err), 0);
    assert_int_equal(a.res.ckpt_step, EPOCHS * steps_per_epoch());
    make_run(&b, 8);
    b.tc.resume_path = path;
    assert_int_equal(gx_ssdgm_train(&b.m, &b.dd, &b.tc, &b.res, &err), 0);
    assert_memory_equal(b.m.params.data, a.m.params.data, a.m.params.total * sizeof(float));
    free_run(&a);
    free_run(&b);
}

/* The whole file as bytes (*n of them; caller frees). */
static char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    char *b = malloc(*n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

/* Copies checkpoint src to dst with metadata `key` set to `value` (NULL: kept), without the
 * tensor `drop` and with the first value of the F32 tensor `poison` made infinite (NULL: none). */
static void copy_ckpt(const char *src, const char *dst, const char *key, const char *value,
                      const char *drop, const char *poison) {
    gx_error err;
    gx_st_file *f;
    assert_int_equal(gx_st_open(src, &f, &err), 0);
    gx_st_writer *w = gx_st_writer_new(&err);
    static float poisoned[1 << 14];
    for (size_t i = 0; i < gx_st_count(f); i++) {
        const gx_st_tensor *t = gx_st_tensor_at(f, i);
        const void *data = t->data;
        if (drop && !strcmp(t->name, drop)) continue;
        if (poison && !strcmp(t->name, poison)) {
            assert_true(t->dtype == GX_ST_F32 && t->nbytes <= sizeof poisoned);
            memcpy(poisoned, t->data, t->nbytes);
            poisoned[0] = INFINITY;
            data = poisoned;
        }
        gx_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, data, &err);
    }
    for (size_t i = 0; i < gx_st_metadata_count(f); i++) {
        const char *k, *v;
        gx_st_metadata_at(f, i, &k, &v);
        gx_st_writer_meta(w, k, key && !strcmp(k, key) ? value : v, &err);
    }
    assert_int_equal(gx_st_write(w, dst, &err), 0);
    gx_st_writer_free(w);
    gx_st_close(f);
}

/* Resuming from `path` fails with a message containing `want`. */
static void resume_fails(const char *path, uint64_t seed, int batch_u, const char *want) {
    gx_error err;
    static run r;
    make_run(&r, seed);
    r.tc.batch_u = batch_u;
    r.tc.resume_path = path;
    assert_int_equal(gx_ssdgm_train(&r.m, &r.dd, &r.tc, &r.res, &err), -1);
    assert_msg_contains(err.msg, want);
    free_run(&r);
}

static void test_refuses_damaged_or_foreign(void **s) {
    (void)s;
    gx_error err;
    char good[600], bad[600];
    test_path(good, sizeof good, "good.safetensors");
    test_path(bad, sizeof bad, "bad.safetensors");
    stopped_run(good, 9, 4);
    /* another seed: other splits too, but the generators' keys give it away first */
    resume_fails(good, 10, BATCH_U, "not a state of this run's generator");
    /* other batch sizes: another number of steps per epoch */
    resume_fails(good, 9, 16, "expected 3 of 17");
    copy_ckpt(good, bad, "progress", "{\"epochs\": 3}", NULL, NULL);
    resume_fails(bad, 9, BATCH_U, "'steps_per_epoch' must be an integer");
    char *prog = NULL;
    gx_st_file *f;
    assert_int_equal(gx_ckpt_open(good, &f, &err), 0);
    prog = strdup(gx_st_metadata(f, "progress"));
    gx_st_close(f);
    char *at = strstr(prog, "\"step\":4");
    assert_non_null(at);
    at[7] = '5';
    copy_ckpt(good, bad, "progress", prog, NULL, NULL);
    free(prog);
    resume_fails(bad, 9, BATCH_U, "progress: 'step' is inconsistent");
    copy_ckpt(good, bad, NULL, NULL, "optim.v.cls.0.weight", NULL);
    resume_fails(bad, 9, BATCH_U, "optim.v.cls.0.weight");
    copy_ckpt(good, bad, NULL, NULL, "batch.syn.unlabelled.cursor", NULL);
    resume_fails(bad, 9, BATCH_U, "batch.syn.unlabelled.cursor");
    copy_ckpt(good, bad, "format", "genxfer.ssdgm", NULL, NULL);
    resume_fails(bad, 9, BATCH_U, "not a genxfer training checkpoint");
    /* a truncated file */
    size_t n;
    char *bytes = read_all(good, &n);
    test_write_file(bad, bytes, n - 100);
    free(bytes);
    resume_fails(bad, 9, BATCH_U, "bad.safetensors");
}

/* Non-finite weights are never written: a batch-norm running mean made infinite leaves the loss
 * finite (training normalises with the batch's statistics), so only the check before writing
 * catches it; the last good checkpoint stays byte for byte. */
static void test_no_checkpoint_of_nonfinite_weights(void **s) {
    (void)s;
    gx_error err;
    char path[600], bad[600];
    test_path(path, sizeof path, "nan.safetensors");
    test_path(bad, sizeof bad, "nan_src.safetensors");
    static run b;
    stopped_run(path, 11, 2);
    size_t n, n2;
    char *before = read_all(path, &n);
    copy_ckpt(path, bad, NULL, NULL, NULL, "enc.in.syn.0.bn.running_mean.0");
    make_run(&b, 11);
    b.tc.ckpt_path = path;
    b.tc.ckpt_every = 2;
    b.tc.resume_path = bad;
    assert_int_equal(gx_ssdgm_train(&b.m, &b.dd, &b.tc, &b.res, &err), -1);
    assert_msg_contains(err.msg, "training stopped after step 4 (epoch 1): the weights are no longer finite");
    free_run(&b);
    char *after = read_all(path, &n2);
    assert_int_equal(n, n2);
    assert_memory_equal(before, after, n);
    free(before);
    free(after);
}

static void test_data_hash(void **s) {
    (void)s;
    uint64_t h = gx_ckpt_data_hash(&ds);
    assert_true(h == gx_ckpt_data_hash(&ds));
    ds.x[17] += 1;
    assert_true(h != gx_ckpt_data_hash(&ds));
    ds.x[17] -= 1;
    assert_true(h == gx_ckpt_data_hash(&ds));
    ds.y[3] = (ds.y[3] + 1) % K;
    assert_true(h != gx_ckpt_data_hash(&ds));
    ds.y[3] = (ds.y[3] + K - 1) % K;
    ds.n--;
    assert_true(h != gx_ckpt_data_hash(&ds));
    ds.n++;
}

/* The estimate covers the five copies of the parameters; absurd widths are refused, naming the
 * size, before anything is allocated. */
static void test_memory_check(void **s) {
    (void)s;
    gx_error err;
    static run a;
    make_run(&a, 1);
    double bytes = gx_ssdgm_train_bytes(&a.m.cfg, 6, BATCH_U);
    double params = (double)gx_params_count(&a.m.params, false);
    assert_true(bytes >= 20 * params && bytes < 20 * params + 4e6);
    assert_int_equal(gx_ssdgm_train_check_memory(&a.m.cfg, 100, 100, &err), 0);
    gx_ssdgm_config c = a.m.cfg;
    c.enc[0] = c.enc[1] = 1 << 20;
    assert_int_equal(gx_ssdgm_train_check_memory(&c, 100, 100, &err), -1);
    assert_msg_contains(err.msg, "TB of memory");
    free_run(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_mid_epoch),
        cmocka_unit_test(test_resume_at_epoch_end),
        cmocka_unit_test(test_resume_complete_run),
        cmocka_unit_test(test_refuses_damaged_or_foreign),
        cmocka_unit_test(test_no_checkpoint_of_nonfinite_weights),
        cmocka_unit_test(test_data_hash),
        cmocka_unit_test(test_memory_check),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
